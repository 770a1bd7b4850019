/**
 * Parses subject alternative names, key usages and extended key usages,
 * and encodes the X.509 v3 extensions that CSRs and self-signed
 * certificates carry (RFC 5280 section 4.2).
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import type { KeyType } from "./algorithms.ts";
import {
  decodeOid,
  encodeBitString,
  encodeBoolean,
  encodeContext,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  readChildren,
  readDer,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import {
  encodeGeneralName,
  type GeneralName,
  invalid,
  NAME_PREFIX,
  nameKey,
  parseGeneralName,
  SAN_FORMS,
  sanError,
} from "./general_names.ts";

export { type GeneralName, parseSubjectAltNames } from "./general_names.ts";

/** Extension OIDs (RFC 5280 section 4.2.1). */
export const ExtensionOid = {
  /** `id-ce-subjectKeyIdentifier ::= { id-ce 14 }` */
  subjectKeyIdentifier: "2.5.29.14",
  /** `id-ce-keyUsage ::= { id-ce 15 }` */
  keyUsage: "2.5.29.15",
  /** `id-ce-subjectAltName ::= { id-ce 17 }` */
  subjectAltName: "2.5.29.17",
  /** `id-ce-basicConstraints ::= { id-ce 19 }` */
  basicConstraints: "2.5.29.19",
  /** `id-ce-authorityKeyIdentifier ::= { id-ce 35 }` */
  authorityKeyIdentifier: "2.5.29.35",
  /** `id-ce-extKeyUsage ::= { id-ce 37 }` */
  extKeyUsage: "2.5.29.37",
} as const;

/** Key purposes of extKeyUsage (RFC 5280 section 4.2.1.12). */
export const KeyPurposeOid = {
  /** `id-kp-serverAuth ::= { id-kp 1 }` */
  serverAuth: "1.3.6.1.5.5.7.3.1",
  /** `id-kp-clientAuth ::= { id-kp 2 }` */
  clientAuth: "1.3.6.1.5.5.7.3.2",
  /** `id-kp-codeSigning ::= { id-kp 3 }` */
  codeSigning: "1.3.6.1.5.5.7.3.3",
  /** `id-kp-emailProtection ::= { id-kp 4 }` */
  emailProtection: "1.3.6.1.5.5.7.3.4",
  /** `id-kp-timeStamping ::= { id-kp 8 }` */
  timeStamping: "1.3.6.1.5.5.7.3.8",
  /** `id-kp-OCSPSigning ::= { id-kp 9 }` */
  OCSPSigning: "1.3.6.1.5.5.7.3.9",
} as const;

/** One X.509 v3 extension. */
export interface Extension {
  /** The extension OID (`extnID`). */
  oid: string;
  /**
   * Whether a relying party that does not recognize the extension must
   * reject the certificate or request.
   */
  critical: boolean;
  /** The contents of `extnValue`: the DER of the extension's own type. */
  value: Uint8Array;
}

/** Named bits of keyUsage (RFC 5280 section 4.2.1.3). */
export type KeyUsageName =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

/**
 * Bit numbers of the keyUsage named bits.
 *
 * @example
 * ```ts
 * import { KEY_USAGE_BITS } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(KEY_USAGE_BITS.keyCertSign, 5);
 * ```
 */
export const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

const KEY_USAGE_NAMES = Object.keys(KEY_USAGE_BITS) as KeyUsageName[];

/**
 * Maximum pathLenConstraint accepted.
 *
 * NOTE: RFC 5280 allows any non-negative INTEGER. This bound is a sanity
 * check chosen here to catch typos, not a limit from a standard.
 */
export const MAX_PATH_LENGTH = 255;

/**
 * Encodes one `Extension`, leaving out `critical` when false because DER
 * omits a value equal to its DEFAULT.
 *
 * ```asn1
 * Extension ::= SEQUENCE {
 *   extnID     OBJECT IDENTIFIER,
 *   critical   BOOLEAN DEFAULT FALSE,
 *   extnValue  OCTET STRING }
 * ```
 *
 * @param extension The OID, criticality and inner DER.
 * @returns The DER `Extension`.
 * @throws {SyntaxError} When the OID is not dotted text.
 *
 * @example
 * ```ts
 * import { encodeExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeExtension({
 *   oid: "2.5.29.19",
 *   critical: true,
 *   value: Uint8Array.of(0x30, 0x00),
 * });
 * assert.equal(toHex(der), "300c0603551d130101ff04023000");
 * ```
 */
export function encodeExtension(extension: Extension): Uint8Array {
  const parts = [encodeOid(extension.oid)];
  if (extension.critical) parts.push(encodeBoolean(true));
  parts.push(encodeOctetString(extension.value));
  return encodeSequence(...parts);
}

/**
 * Encodes `Extensions`, the list that a certificate's `[3]` field or a
 * CSR's extensionRequest attribute carries.
 *
 * ```asn1
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * ```
 *
 * @param extensions At least one extension, each OID at most once.
 * @returns The DER `Extensions`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when an OID repeats, which
 * RFC 5280 section 4.2 forbids.
 * @throws {RangeError} When the list is empty.
 *
 * @example
 * ```ts
 * import {
 *   basicConstraintsExtension,
 *   encodeExtensions,
 * } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeExtensions([basicConstraintsExtension({ ca: false })]);
 * assert.equal(toHex(der), "300e300c0603551d130101ff04023000");
 * ```
 */
export function encodeExtensions(extensions: Extension[]): Uint8Array {
  if (extensions.length === 0) {
    throw new RangeError("Cannot encode Extensions: the list is empty");
  }
  const seen = new Set<string>();
  for (const extension of extensions) {
    if (seen.has(extension.oid)) {
      throw invalid(
        `Cannot encode extensions: extension '${extension.oid}' appears ` +
          "twice, and RFC 5280 section 4.2 allows each only once. Merge " +
          "the values into one extension.",
      );
    }
    seen.add(extension.oid);
  }
  return encodeSequence(...extensions.map(encodeExtension));
}

/** Options of {@linkcode subjectAltNameExtension}. */
export interface SubjectAltNameOptions {
  /**
   * Whether to mark the extension critical, which RFC 5280 section 4.2.1.6
   * requires when the subject is empty.
   * @default {false}
   */
  critical?: boolean;
}

/**
 * Builds the subjectAltName extension. Each name is checked again as
 * {@linkcode parseSubjectAltNames} checks it.
 *
 * ```asn1
 * SubjectAltName ::= GeneralNames
 * GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
 * GeneralName ::= CHOICE {
 *   otherName                  [0] AnotherName,
 *   rfc822Name                 [1] IA5String,
 *   dNSName                    [2] IA5String,
 *   x400Address                [3] ORAddress,
 *   directoryName              [4] Name,
 *   ediPartyName               [5] EDIPartyName,
 *   uniformResourceIdentifier  [6] IA5String,
 *   iPAddress                  [7] OCTET STRING,
 *   registeredID               [8] OBJECT IDENTIFIER }
 * ```
 *
 * @param names At least one name, none repeated.
 * @param options The criticality.
 * @returns The extension, non-critical unless requested.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the list is empty, a name
 * is invalid or repeated, or an IP address is not 4 or 16 bytes.
 *
 * @example
 * ```ts
 * import {
 *   parseSubjectAltNames,
 *   subjectAltNameExtension,
 * } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const names = parseSubjectAltNames(["IP:10.0.0.1"]);
 * const extension = subjectAltNameExtension(names);
 * assert.equal(toHex(extension.value), "300687040a000001");
 * ```
 */
export function subjectAltNameExtension(
  names: GeneralName[],
  options: SubjectAltNameOptions = {},
): Extension {
  if (names.length === 0) {
    throw invalid(
      "Cannot build subjectAltName '': it needs at least one name. " +
        `${SAN_FORMS}.`,
    );
  }
  const checked = names.map((name) => {
    const entry = `${NAME_PREFIX[name.type]}:${name.value}`;
    if (name.type !== "ip") return parseGeneralName(entry);
    if (name.bytes.length !== 4 && name.bytes.length !== 16) {
      throw sanError(
        entry,
        `its address is ${name.bytes.length} bytes, not 4 (IPv4) or 16 (IPv6)`,
        "Build IP names with parseSubjectAltNames.",
      );
    }
    return name;
  });
  const seen = new Set<string>();
  for (const name of checked) {
    const key = nameKey(name);
    if (seen.has(key)) {
      throw sanError(
        `${NAME_PREFIX[name.type]}:${name.value}`,
        "it appears twice",
        "Remove the duplicate.",
      );
    }
    seen.add(key);
  }
  return {
    oid: ExtensionOid.subjectAltName,
    critical: options.critical ?? false,
    value: encodeSequence(...checked.map(encodeGeneralName)),
  };
}

const KEY_USAGE_ALIASES: Record<string, KeyUsageName> = {
  contentcommitment: "nonRepudiation",
};

/**
 * Parses key usage names, case-insensitively, with `contentCommitment`
 * accepted for nonRepudiation (its newer name in X.509). Entries
 * may be comma-separated lists.
 *
 * @param names The values of each `--key-usage` option.
 * @returns The usages in the order given.
 * @throws {KmsToolkitError} `INVALID_INPUT` for an unknown or repeated
 * name, or when there are none.
 *
 * @example
 * ```ts
 * import { parseKeyUsage } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   parseKeyUsage(["DigitalSignature,contentCommitment"]),
 *   ["digitalSignature", "nonRepudiation"],
 * );
 * ```
 */
export function parseKeyUsage(names: string[]): KeyUsageName[] {
  const byLowerCase = new Map<string, KeyUsageName>(
    KEY_USAGE_NAMES.map((name) => [name.toLowerCase(), name]),
  );
  const usages: KeyUsageName[] = [];
  for (const item of names.flatMap((entry) => entry.split(","))) {
    const text = item.trim();
    if (text === "") continue;
    const key = text.toLowerCase();
    const usage = byLowerCase.get(key) ?? KEY_USAGE_ALIASES[key];
    if (usage === undefined) {
      throw invalid(
        `Cannot parse key usage '${text}': it is not a keyUsage bit name. ` +
          `Use one of ${KEY_USAGE_NAMES.join(", ")} (or contentCommitment).`,
      );
    }
    if (usages.includes(usage)) {
      throw invalid(
        `Cannot parse key usage '${text}': ${usage} is already listed. ` +
          "Remove the duplicate.",
      );
    }
    usages.push(usage);
  }
  if (usages.length === 0) {
    throw invalid(
      `Cannot parse key usages '${names.join(",")}': no usage given. ` +
        "Pass names such as digitalSignature,keyEncipherment.",
    );
  }
  return usages;
}

/**
 * Builds the keyUsage extension, critical as RFC 5280 section 4.2.1.3
 * recommends. The BIT STRING drops trailing zero bits and counts them as
 * unused (X.690 section 11.2.2): digitalSignature alone is `03 02 07 80`.
 *
 * ```asn1
 * KeyUsage ::= BIT STRING {
 *   digitalSignature (0), nonRepudiation (1), keyEncipherment (2),
 *   dataEncipherment (3), keyAgreement (4), keyCertSign (5),
 *   cRLSign (6), encipherOnly (7), decipherOnly (8) }
 * ```
 *
 * @param usages At least one usage.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the list is empty, or
 * encipherOnly or decipherOnly is set without keyAgreement, whose meaning
 * RFC 5280 leaves undefined.
 * @throws {TypeError} When a name is not a keyUsage bit.
 *
 * @example
 * ```ts
 * import { keyUsageExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = keyUsageExtension(["digitalSignature", "keyEncipherment"]);
 * assert.equal(toHex(extension.value), "030205a0");
 * assert.equal(extension.critical, true);
 * ```
 */
export function keyUsageExtension(usages: KeyUsageName[]): Extension {
  if (usages.length === 0) {
    throw invalid(
      "Cannot build keyUsage '': RFC 5280 requires at least one bit set. " +
        "Pass usages such as digitalSignature.",
    );
  }
  for (const usage of usages) {
    if (!(usage in KEY_USAGE_BITS)) {
      throw new TypeError(`Unknown key usage '${usage}'`);
    }
  }
  for (const only of ["encipherOnly", "decipherOnly"] as const) {
    if (usages.includes(only) && !usages.includes("keyAgreement")) {
      throw invalid(
        `Cannot build keyUsage '${usages.join(",")}': ${only} has a ` +
          "meaning only together with keyAgreement. Add keyAgreement or " +
          `remove ${only}.`,
      );
    }
  }

  const bits = usages.map((usage) => KEY_USAGE_BITS[usage]);
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return {
    oid: ExtensionOid.keyUsage,
    critical: true,
    value: encodeBitString(bytes, 7 - (highest & 7)),
  };
}

const NUMERIC_OID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

function isValidOid(text: string): boolean {
  if (!NUMERIC_OID.test(text)) return false;
  try {
    encodeOid(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses extended key usage names (serverAuth, clientAuth, codeSigning,
 * emailProtection, timeStamping, OCSPSigning; case-insensitive) or dotted
 * OIDs. Entries may be comma-separated lists.
 *
 * @param names The values of each `--extended-key-usage` option.
 * @returns The key purpose OIDs in the order given.
 * @throws {KmsToolkitError} `INVALID_INPUT` for an unknown name, a
 * malformed OID, a repeat, or no entries.
 *
 * @example
 * ```ts
 * import { parseExtendedKeyUsage } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseExtendedKeyUsage(["serverauth", "1.3.6.1.4.1.99"]), [
 *   "1.3.6.1.5.5.7.3.1",
 *   "1.3.6.1.4.1.99",
 * ]);
 * ```
 */
export function parseExtendedKeyUsage(names: string[]): string[] {
  const byLowerCase = new Map<string, string>(
    Object.entries(KeyPurposeOid).map(([name, oid]) => [
      name.toLowerCase(),
      oid,
    ]),
  );
  const oids: string[] = [];
  for (const item of names.flatMap((entry) => entry.split(","))) {
    const text = item.trim();
    if (text === "") continue;
    const oid = byLowerCase.get(text.toLowerCase()) ??
      (isValidOid(text) ? text : undefined);
    if (oid === undefined) {
      throw invalid(
        `Cannot parse extended key usage '${text}': it is neither a known ` +
          "name nor a dotted OID. Use one of " +
          `${Object.keys(KeyPurposeOid).join(", ")}, or an OID such as ` +
          "1.3.6.1.5.5.7.3.1.",
      );
    }
    if (oids.includes(oid)) {
      throw invalid(
        `Cannot parse extended key usage '${text}': ${oid} is already ` +
          "listed. Remove the duplicate.",
      );
    }
    oids.push(oid);
  }
  if (oids.length === 0) {
    throw invalid(
      `Cannot parse extended key usages '${names.join(",")}': no usage ` +
        "given. Pass names such as serverAuth,clientAuth.",
    );
  }
  return oids;
}

/**
 * Builds the extKeyUsage extension, non-critical.
 *
 * ```asn1
 * ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
 * KeyPurposeId ::= OBJECT IDENTIFIER
 * ```
 *
 * @param oids At least one key purpose OID.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the list is empty or an
 * OID is malformed.
 *
 * @example
 * ```ts
 * import { extendedKeyUsageExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = extendedKeyUsageExtension(["1.3.6.1.5.5.7.3.1"]);
 * assert.equal(toHex(extension.value), "300a06082b06010505070301");
 * ```
 */
export function extendedKeyUsageExtension(oids: string[]): Extension {
  if (oids.length === 0) {
    throw invalid(
      "Cannot build extKeyUsage '': it needs at least one key purpose. " +
        "Pass usages such as serverAuth.",
    );
  }
  for (const oid of oids) {
    if (!isValidOid(oid)) {
      throw invalid(
        `Cannot build extKeyUsage '${oid}': it is not a dotted OID. Pass ` +
          "OIDs such as 1.3.6.1.5.5.7.3.1.",
      );
    }
  }
  return {
    oid: ExtensionOid.extKeyUsage,
    critical: false,
    value: encodeSequence(...oids.map(encodeOid)),
  };
}

/** Options of {@linkcode basicConstraintsExtension}. */
export interface BasicConstraintsOptions {
  /** Whether the subject is a CA. */
  ca: boolean;
  /**
   * The maximum number of intermediate CAs below this one, only for a CA.
   * @default {undefined} no limit
   */
  pathLength?: number;
}

/**
 * Builds the basicConstraints extension, critical. DER leaves out `cA`
 * when false, so a non-CA encodes as `30 00`.
 *
 * ```asn1
 * BasicConstraints ::= SEQUENCE {
 *   cA                 BOOLEAN DEFAULT FALSE,
 *   pathLenConstraint  INTEGER (0..MAX) OPTIONAL }
 * ```
 *
 * @param options Whether it is a CA and its path length.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a path length is given
 * for a non-CA, or is not an integer from 0 to {@linkcode MAX_PATH_LENGTH}.
 *
 * @example
 * ```ts
 * import { basicConstraintsExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = basicConstraintsExtension({ ca: true, pathLength: 0 });
 * assert.equal(toHex(extension.value), "30060101ff020100");
 * ```
 */
export function basicConstraintsExtension(
  options: BasicConstraintsOptions,
): Extension {
  const { ca, pathLength } = options;
  const parts: Uint8Array[] = [];
  if (ca) parts.push(encodeBoolean(true));
  if (pathLength !== undefined) {
    if (!ca) {
      throw invalid(
        `Cannot build basicConstraints with path length '${pathLength}': ` +
          "only a CA certificate has a path length. Drop the path length " +
          "or make the certificate a CA.",
      );
    }
    if (
      !Number.isInteger(pathLength) || pathLength < 0 ||
      pathLength > MAX_PATH_LENGTH
    ) {
      throw invalid(
        `Cannot build basicConstraints with path length '${pathLength}': ` +
          `it must be an integer from 0 to ${MAX_PATH_LENGTH}. Pass the ` +
          "number of intermediate CAs allowed below this one.",
      );
    }
    parts.push(encodeInteger(pathLength));
  }
  return {
    oid: ExtensionOid.basicConstraints,
    critical: true,
    value: encodeSequence(...parts),
  };
}

/**
 * Builds the subjectKeyIdentifier extension with RFC 5280 section 4.2.1.2
 * method (1): the SHA-1 of the subjectPublicKey BIT STRING's contents,
 * without the unused-bits octet. Non-critical, as RFC 5280 requires.
 *
 * ```asn1
 * SubjectKeyIdentifier ::= KeyIdentifier
 * KeyIdentifier ::= OCTET STRING
 * ```
 *
 * @param spki The DER `SubjectPublicKeyInfo`.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not a
 * `SubjectPublicKeyInfo` with a whole-octet key.
 *
 * @example
 * ```ts
 * import { subjectKeyIdentifierExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = await crypto.subtle.generateKey(
 *   { name: "ECDSA", namedCurve: "P-256" },
 *   true,
 *   ["sign"],
 * );
 * const exported = await crypto.subtle.exportKey("spki", keys.publicKey);
 * const spki = new Uint8Array(exported);
 * // A P-256 SPKI ends in the 65-byte public point.
 * const hash = await crypto.subtle.digest("SHA-1", spki.slice(-65));
 * const extension = subjectKeyIdentifierExtension(spki);
 * assert.equal(toHex(extension.value), "0414" + toHex(new Uint8Array(hash)));
 * ```
 */
export function subjectKeyIdentifierExtension(spki: Uint8Array): Extension {
  const fail = (reason: string) =>
    invalid(
      `Cannot compute the subject key identifier of SPKI '${
        toHex(spki.subarray(0, 32))
      }${spki.length > 32 ? "..." : ""}': ${reason}. Pass the DER ` +
        "SubjectPublicKeyInfo, such as KMS GetPublicKey returns.",
    );

  let key: Tlv | undefined;
  try {
    const parts = readChildren(readDer(spki, Tag.SEQUENCE));
    if (parts.length === 2 && parts[0]!.tag === Tag.SEQUENCE) key = parts[1];
  } catch (error) {
    throw fail((error as Error).message.replace(/\.$/, ""));
  }
  if (key?.tag !== Tag.BIT_STRING) {
    throw fail(
      "it is not a SEQUENCE of an AlgorithmIdentifier and a BIT STRING",
    );
  }
  if (key.contents.length < 2 || key.contents[0] !== 0) {
    throw fail("its subjectPublicKey is empty or not whole octets");
  }
  return {
    oid: ExtensionOid.subjectKeyIdentifier,
    critical: false,
    value: encodeOctetString(sha1(key.contents.subarray(1))),
  };
}

/**
 * Builds the authorityKeyIdentifier extension with the keyIdentifier
 * field only, non-critical as RFC 5280 section 4.2.1.1 requires. For a
 * self-signed certificate, pass the subject key identifier.
 *
 * ```asn1
 * AuthorityKeyIdentifier ::= SEQUENCE {
 *   keyIdentifier              [0] KeyIdentifier OPTIONAL,
 *   authorityCertIssuer        [1] GeneralNames OPTIONAL,
 *   authorityCertSerialNumber  [2] CertificateSerialNumber OPTIONAL }
 * KeyIdentifier ::= OCTET STRING
 * ```
 *
 * @param keyIdentifier The issuer's key identifier.
 * @returns The extension.
 * @throws {RangeError} When the key identifier is empty.
 *
 * @example
 * ```ts
 * import { authorityKeyIdentifierExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = authorityKeyIdentifierExtension(Uint8Array.of(1, 2, 3));
 * assert.equal(toHex(extension.value), "30058003010203");
 * ```
 */
export function authorityKeyIdentifierExtension(
  keyIdentifier: Uint8Array,
): Extension {
  if (keyIdentifier.length === 0) {
    throw new RangeError("Cannot encode authorityKeyIdentifier: empty key id");
  }
  return {
    oid: ExtensionOid.authorityKeyIdentifier,
    critical: false,
    value: encodeSequence(encodeContext(0, keyIdentifier, false)),
  };
}

// Usages that each key type cannot have, with the reason.
const KEY_TYPE_LIMITS: Record<
  KeyType,
  { name: string; forbidden: KeyUsageName[]; reason: string }
> = {
  RSA: {
    name: "an RSA key",
    forbidden: ["keyAgreement", "encipherOnly", "decipherOnly"],
    reason: "RSA has no key agreement, and encipherOnly and decipherOnly " +
      "apply only to key agreement",
  },
  EC: {
    name: "an EC key",
    forbidden: ["keyEncipherment", "dataEncipherment"],
    reason: "EC keys cannot encrypt; they agree on keys (keyAgreement) " +
      "instead",
  },
  OKP: {
    name: "an Ed25519 (OKP) key",
    forbidden: [
      "keyEncipherment",
      "dataEncipherment",
      "keyAgreement",
      "encipherOnly",
      "decipherOnly",
    ],
    reason: "Ed25519 keys only sign",
  },
  AKP: {
    name: "an ML-DSA (AKP) key",
    forbidden: [
      "keyEncipherment",
      "dataEncipherment",
      "keyAgreement",
      "encipherOnly",
      "decipherOnly",
    ],
    reason: "ML-DSA keys only sign",
  },
};

/**
 * Checks that a key of the given type can do every requested key usage.
 * EC, Ed25519 (OKP) and ML-DSA (AKP) keys cannot encrypt
 * (keyEncipherment, dataEncipherment). RSA, Ed25519 and ML-DSA keys cannot
 * agree on keys (keyAgreement, and so encipherOnly and decipherOnly).
 *
 * @param usages The requested usages.
 * @param keyType The key's JWK `kty`.
 * @throws {KmsToolkitError} `INVALID_INPUT` naming the first usage the key
 * cannot do, the key type and the usages it can do.
 * @throws {TypeError} When the key type is unknown.
 *
 * @example
 * ```ts
 * import { checkKeyUsageForKeyType } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * checkKeyUsageForKeyType(["digitalSignature", "keyEncipherment"], "RSA");
 * assert.throws(() => checkKeyUsageForKeyType(["keyEncipherment"], "EC"));
 * ```
 */
export function checkKeyUsageForKeyType(
  usages: KeyUsageName[],
  keyType: "RSA" | "EC" | "OKP" | "AKP",
): void {
  const limits = KEY_TYPE_LIMITS[keyType];
  if (!limits) throw new TypeError(`Unknown key type '${keyType}'`);
  const bad = usages.find((usage) => limits.forbidden.includes(usage));
  if (bad === undefined) return;

  const allowed = KEY_USAGE_NAMES.filter((usage) =>
    !limits.forbidden.includes(usage)
  );
  throw invalid(
    `Cannot use key usage '${bad}' with ${limits.name}: ${limits.reason}. ` +
      `${limits.name[0]!.toUpperCase()}${limits.name.slice(1)} can have ` +
      `${allowed.join(", ")}.`,
  );
}

/**
 * Decodes DER `Extensions` into their OIDs, criticality and inner DER, for
 * tests and summaries. The values are copies, not views into `der`.
 *
 * @param der The DER `Extensions` (a SEQUENCE OF Extension).
 * @returns The extensions in encoded order.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not DER
 * `Extensions`, including an explicit `critical` FALSE, which DER omits.
 *
 * @example
 * ```ts
 * import {
 *   decodeExtensions,
 *   encodeExtensions,
 *   keyUsageExtension,
 * } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeExtensions([keyUsageExtension(["digitalSignature"])]);
 * const [extension] = decodeExtensions(der);
 * assert.equal(extension!.oid, "2.5.29.15");
 * assert.equal(extension!.critical, true);
 * ```
 */
export function decodeExtensions(der: Uint8Array): Extension[] {
  const fail = (reason: string) =>
    invalid(
      `Cannot decode extensions '${toHex(der.subarray(0, 32))}${
        der.length > 32 ? "..." : ""
      }': ${reason}. Pass the DER of an X.509 Extensions SEQUENCE.`,
    );

  let items: Tlv[];
  try {
    items = readChildren(readDer(der, Tag.SEQUENCE));
  } catch (error) {
    throw fail((error as Error).message.replace(/\.$/, ""));
  }
  if (items.length === 0) {
    throw fail("it is empty, but SIZE (1..MAX) needs one extension");
  }

  return items.map((item) => {
    if (item.tag !== Tag.SEQUENCE) throw fail("an Extension is not a SEQUENCE");
    let parts: Tlv[];
    try {
      parts = readChildren(item);
    } catch (error) {
      throw fail((error as Error).message.replace(/\.$/, ""));
    }
    const [id, ...rest] = parts;
    if (id?.tag !== Tag.OBJECT_IDENTIFIER) {
      throw fail("an Extension does not start with an OID");
    }
    const oid = decodeOid(id.contents);
    let critical = false;
    if (rest.length === 2) {
      const flag = rest.shift()!;
      if (flag.tag !== Tag.BOOLEAN || flag.contents.length !== 1) {
        throw fail(`extension ${oid} has a malformed critical flag`);
      }
      if (flag.contents[0] !== 0xff) {
        throw fail(
          `extension ${oid} has critical ${
            flag.contents[0] === 0 ? "FALSE written out" : "not 0xff"
          }, which DER forbids`,
        );
      }
      critical = true;
    }
    const [value] = rest;
    if (rest.length !== 1 || value!.tag !== Tag.OCTET_STRING) {
      throw fail(`extension ${oid} does not end with an OCTET STRING value`);
    }
    return { oid, critical, value: value!.contents.slice() };
  });
}
