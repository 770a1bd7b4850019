/**
 * The PKCS#10 certificate signing request assembler (RFC 2986).
 *
 * ```asn1
 * CertificationRequest ::= SEQUENCE {
 *   certificationRequestInfo  CertificationRequestInfo,
 *   signatureAlgorithm        AlgorithmIdentifier,
 *   signature                 BIT STRING }
 *
 * CertificationRequestInfo ::= SEQUENCE {
 *   version        INTEGER { v1(0) },
 *   subject        Name,
 *   subjectPKInfo  SubjectPublicKeyInfo,
 *   attributes     [0] IMPLICIT Attributes }
 *
 * Attributes ::= SET OF Attribute
 * Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }
 * ```
 *
 * @module
 */

import {
  signatureAlgorithmIdentifier,
  type SigningAlgorithmEntry,
} from "./algorithms.ts";
import {
  decodeOid,
  encodeBitString,
  encodeContext,
  encodeInteger,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  readChildren,
  readDer,
  Tag,
  type Tlv,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import { Pkcs9Oid } from "./oids.ts";
import type { SigningKey } from "./signing_key.ts";
import { assertSignatureValid } from "./verify.ts";

/** Contents of a request besides the public key. */
export interface CsrContents {
  /** The DER `Name` of the subject. */
  subject: Uint8Array;
  /**
   * The DER `Extensions` to request, placed in one `extensionRequest`
   * attribute.
   * @default {undefined} no extensionRequest attribute
   */
  extensions?: Uint8Array;
  /**
   * Other DER `Attribute`s, kept byte for byte.
   * @default {[]}
   */
  attributes?: Uint8Array[];
}

/**
 * Encodes a `CertificationRequestInfo`. With no attributes it ends in an
 * empty `[0]` (`a0 00`), which RFC 2986 requires.
 *
 * @param spki The DER `SubjectPublicKeyInfo`, copied byte for byte.
 * @param contents Subject, requested extensions and other attributes.
 * @returns The DER bytes that the signature covers.
 *
 * @example
 * ```ts
 * import { encodeCertificationRequestInfo } from "./csr.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const spki = Uint8Array.of(0x30, 0x00);
 * const info = encodeCertificationRequestInfo(spki, { subject: Uint8Array.of(0x30, 0x00) });
 * assert.equal(toHex(info), "300902010030003000a000");
 * ```
 */
export function encodeCertificationRequestInfo(
  spki: Uint8Array,
  contents: CsrContents,
): Uint8Array {
  const attributes = [...(contents.attributes ?? [])];
  if (contents.extensions) {
    attributes.push(
      encodeSequence(
        encodeOid(Pkcs9Oid.extensionRequest),
        encodeSetOf([contents.extensions]),
      ),
    );
  }

  return encodeSequence(
    encodeInteger(0),
    contents.subject,
    spki,
    encodeAttributes(attributes),
  );
}

/** A signed request and its parts. */
export interface SignedCsr {
  /** The DER `CertificationRequest`. */
  der: Uint8Array;
  /** The DER `CertificationRequestInfo` that was signed. */
  info: Uint8Array;
  /** The signature as placed in the BIT STRING. */
  signature: Uint8Array;
}

/**
 * Builds and signs a certificate signing request with a key that stays in
 * KMS, then verifies the signature locally before returning it.
 *
 * @param key The signing key; its public key becomes `subjectPKInfo`.
 * @param options The algorithm and the request contents.
 * @returns The request, in DER.
 * @throws {KmsToolkitError} `VERIFY_FAILED` when the signature does not
 * verify against `key.publicKey`, and what `key.sign` throws.
 *
 * @example Sign a request with a local Ed25519 key
 * ```ts
 * import { chooseSigningAlgorithm } from "./algorithms.ts";
 * import { createCsr } from "./csr.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const key = {
 *   keyId: "local",
 *   publicKey: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
 *   sign: async (data: Uint8Array) =>
 *     new Uint8Array(await crypto.subtle.sign("Ed25519", keys.privateKey, data.slice())),
 * };
 * const algorithm = chooseSigningAlgorithm("ECC_NIST_EDWARDS25519");
 * const csr = await createCsr(key, { algorithm, subject: Uint8Array.of(0x30, 0x00) });
 * assert.equal(csr.der[0], 0x30);
 * ```
 */
export async function createCsr(
  key: SigningKey,
  options: CsrContents & {
    /** The signing algorithm, from `chooseSigningAlgorithm`. */
    algorithm: SigningAlgorithmEntry;
  },
): Promise<SignedCsr> {
  // Build and encode the request info; the signature covers these bytes.
  const info = encodeCertificationRequestInfo(key.publicKey, options);
  const algorithmIdentifier = signatureAlgorithmIdentifier(options.algorithm);

  // Sign with KMS, then check the signature before anything uses it.
  const signature = await key.sign(info, options.algorithm);
  await assertSignatureValid(key.publicKey, {
    algorithm: options.algorithm,
    data: info,
    signature,
    keyId: key.keyId,
  });

  // Wrap the signed info into the CertificationRequest.
  const der = encodeSequence(
    info,
    algorithmIdentifier,
    encodeBitString(signature),
  );
  return { der, info, signature };
}

/** The fields of a parsed request, as views into the input. */
export interface ParsedCsr {
  /** The whole DER `CertificationRequestInfo`. */
  info: Uint8Array;
  /** The version number (0 for v1). */
  version: number;
  /** The DER `Name`. */
  subject: Uint8Array;
  /** The DER `SubjectPublicKeyInfo`. */
  spki: Uint8Array;
  /** Each DER `Attribute`, in the order encoded. */
  attributes: Uint8Array[];
  /** The DER `Extensions` of the extensionRequest attribute, if any. */
  extensions: Uint8Array | null;
  /** The DER signature `AlgorithmIdentifier`. */
  signatureAlgorithm: Uint8Array;
  /** The signature algorithm OID. */
  signatureAlgorithmOid: string;
  /** The signature bits. */
  signature: Uint8Array;
}

function invalidCsr(source: string, reason: string): KmsToolkitError {
  return new KmsToolkitError(
    "INVALID_INPUT",
    `Cannot read the certificate signing request in ${source}: ${reason}.`,
  );
}

function expect(
  tlv: Tlv | undefined,
  tag: number,
  what: string,
  source: string,
) {
  if (!tlv || tlv.tag !== tag) throw invalidCsr(source, `missing ${what}`);
  return tlv;
}

/**
 * Parses a DER PKCS#10 request into its fields.
 *
 * @param der The DER `CertificationRequest`.
 * @param source A name for the input (a file path), for messages.
 * @returns The fields.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not a
 * PKCS#10 request.
 *
 * @example
 * ```ts ignore
 * const parsed = parseCsr(der, "request.csr");
 * console.log(parsed.signatureAlgorithmOid);
 * ```
 */
export function parseCsr(der: Uint8Array, source = "input"): ParsedCsr {
  try {
    return parseCsrFields(der, source);
  } catch (error) {
    // The DER reader's errors do not name the input, so add its name.
    if (
      !(error instanceof KmsToolkitError) ||
      !error.message.startsWith("Cannot parse DER: ")
    ) {
      throw error;
    }
    const reason = error.message.replace(/^Cannot parse DER: |\.$/g, "");
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot read the certificate signing request in ${source}: ${reason}.`,
      { cause: error },
    );
  }
}

function parseCsrFields(der: Uint8Array, source: string): ParsedCsr {
  const request = readDer(der, Tag.SEQUENCE);
  const [infoTlv, algorithmTlv, signatureTlv, extra] = readChildren(request);
  if (extra) throw invalidCsr(source, "unexpected fields after the signature");
  const info = expect(
    infoTlv,
    Tag.SEQUENCE,
    "CertificationRequestInfo",
    source,
  );
  const algorithm = expect(
    algorithmTlv,
    Tag.SEQUENCE,
    "signatureAlgorithm",
    source,
  );
  const signature = expect(signatureTlv, Tag.BIT_STRING, "signature", source);

  const [versionTlv, subjectTlv, spkiTlv, attributesTlv, more] = readChildren(
    info,
  );
  if (more) throw invalidCsr(source, "unexpected fields in the request info");
  const version = expect(versionTlv, Tag.INTEGER, "version", source);
  const subject = expect(subjectTlv, Tag.SEQUENCE, "subject", source);
  const spki = expect(spkiTlv, Tag.SEQUENCE, "subjectPKInfo", source);
  const attributesField = expect(attributesTlv, 0xa0, "attributes [0]", source);
  if (version.contents.length !== 1 || version.contents[0] !== 0) {
    throw invalidCsr(source, "version is not v1 (0)");
  }

  const attributes: Uint8Array[] = [];
  let extensions: Uint8Array | null = null;
  for (const attribute of readChildren(attributesField)) {
    const [typeTlv, valuesTlv] = readChildren(
      expect(attribute, Tag.SEQUENCE, "Attribute", source),
    );
    const type = expect(
      typeTlv,
      Tag.OBJECT_IDENTIFIER,
      "attribute type",
      source,
    );
    const values = expect(valuesTlv, Tag.SET, "attribute values", source);
    if (decodeOid(type.contents) === Pkcs9Oid.extensionRequest) {
      extensions = readChildren(values)[0]?.encoded ?? null;
    }
    attributes.push(attribute.encoded);
  }

  const [oidTlv] = readChildren(algorithm);
  const oid = expect(oidTlv, Tag.OBJECT_IDENTIFIER, "algorithm OID", source);
  if (signature.contents[0] !== 0) {
    throw invalidCsr(source, "signature BIT STRING has unused bits");
  }

  return {
    info: info.encoded,
    version: 0,
    subject: subject.encoded,
    spki: spki.encoded,
    attributes,
    extensions,
    signatureAlgorithm: algorithm.encoded,
    signatureAlgorithmOid: decodeOid(oid.contents),
    signature: signature.contents.subarray(1),
  };
}

/**
 * Encodes the `[0] IMPLICIT SET OF Attribute` field, sorted as DER's SET OF
 * requires; no attributes give `a0 00`.
 *
 * @param attributes DER `Attribute`s.
 * @returns The `[0]` field.
 *
 * @example
 * ```ts
 * import { encodeAttributes } from "./csr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(encodeAttributes([]), Uint8Array.of(0xa0, 0x00));
 * ```
 */
export function encodeAttributes(attributes: Uint8Array[]): Uint8Array {
  const contents = attributes.length === 0
    ? new Uint8Array()
    : readDer(encodeSetOf(attributes), Tag.SET).contents;
  return encodeContext(0, contents);
}
