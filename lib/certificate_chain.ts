/**
 * X.509 certificate chains for the `x5c` and `x5t#S256` members of a JWK
 * (RFC 7517 sections 4.7 and 4.9): reading a PEM or DER file, checking
 * that the leaf certifies a given key, and computing the members.
 *
 * Certificates are read with the strict DER reader of `der.ts`, only as
 * far as these checks need (RFC 5280 section 4.1):
 *
 * ```asn1
 * Certificate ::= SEQUENCE {
 *   tbsCertificate       TBSCertificate,
 *   signatureAlgorithm   AlgorithmIdentifier,
 *   signatureValue       BIT STRING }
 * TBSCertificate ::= SEQUENCE {
 *   version         [0]  EXPLICIT Version DEFAULT v1,
 *   serialNumber         CertificateSerialNumber,
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   validity             Validity,
 *   subject              Name,
 *   subjectPublicKeyInfo SubjectPublicKeyInfo,
 *   ... }
 * Validity ::= SEQUENCE {
 *   notBefore  Time,
 *   notAfter   Time }
 * Time ::= CHOICE {
 *   utcTime      UTCTime,
 *   generalTime  GeneralizedTime }
 * ```
 *
 * Signatures are not verified: the identity provider that receives the
 * chain decides whether it trusts it.
 *
 * @module
 */

import {
  bytesEqual,
  readChildren,
  readDer,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import { decodePemBlocks } from "./pem.ts";

/** One certificate of a chain. Every byte array in it is a copy. */
export interface ChainCertificate {
  /** The whole certificate DER. */
  der: Uint8Array;
  /** The DER `SubjectPublicKeyInfo` of the certified key. */
  spki: Uint8Array;
  /** The DER `Name` of the subject. */
  subject: Uint8Array;
  /** The DER `Name` of the issuer. */
  issuer: Uint8Array;
  /** The start of the validity period. */
  notBefore: Date;
  /** The end of the validity period. */
  notAfter: Date;
}

/** Options of {@linkcode parseCertificateChain}. */
export interface ParseChainOptions {
  /**
   * A name for the input, such as its file path, used in error messages.
   * @default {"the certificate file"}
   */
  source?: string;
}

const TIME_PATTERNS = {
  [Tag.UTCTime]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  [Tag.GeneralizedTime]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
} as Record<number, RegExp>;

/**
 * Reads a `Time` in the forms RFC 5280 section 4.1.2.5 allows: UTCTime
 * `YYMMDDHHMMSSZ`, where YY below 50 is 20YY, or GeneralizedTime
 * `YYYYMMDDHHMMSSZ`.
 */
function readTime(tlv: Tlv): Date | null {
  const pattern = TIME_PATTERNS[tlv.tag];
  const match = pattern?.exec(new TextDecoder().decode(tlv.contents));
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const fullYear = tlv.tag === Tag.UTCTime
    ? year! + (year! < 50 ? 2000 : 1900)
    : year!;
  const date = new Date(
    Date.UTC(fullYear, month! - 1, day!, hour!, minute!, second!),
  );
  // Date.UTC rolls over out-of-range fields (day 32 is the next month's
  // first); such a time is invalid.
  const fieldsRead = [
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];
  const fieldsGiven = [month, day, hour, minute, second];
  if (fieldsRead.some((field, index) => field !== fieldsGiven[index])) {
    return null;
  }
  return date;
}

/** Parses one certificate, throwing errors that name its position. */
function parseCertificate(
  der: Uint8Array,
  where: string,
  invalid: (reason: string, cause?: unknown) => KmsToolkitError,
): ChainCertificate {
  const fail = (reason: string, cause?: unknown) =>
    invalid(`${where} is not an X.509 certificate (${reason})`, cause);

  let certificate: Tlv[];
  try {
    certificate = readChildren(readDer(der, Tag.SEQUENCE));
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    throw fail(error.message.replace(/^Cannot parse DER: |\.$/g, ""), error);
  }
  const [tbs, signatureAlgorithm, signature] = certificate;
  if (
    certificate.length !== 3 || tbs?.tag !== Tag.SEQUENCE ||
    signatureAlgorithm?.tag !== Tag.SEQUENCE ||
    signature?.tag !== Tag.BIT_STRING
  ) {
    throw fail(
      "expected SEQUENCE { TBSCertificate, AlgorithmIdentifier, BIT STRING }",
    );
  }

  let fields: Tlv[];
  try {
    fields = readChildren(tbs);
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    throw fail("invalid TBSCertificate DER", error);
  }
  // The version is [0] EXPLICIT and absent for v1 certificates.
  if (fields[0]?.tag === 0xa0) fields = fields.slice(1);
  const [serial, algorithm, issuer, validity, subject, spki] = fields;
  if (
    serial?.tag !== Tag.INTEGER || algorithm?.tag !== Tag.SEQUENCE ||
    issuer?.tag !== Tag.SEQUENCE || validity?.tag !== Tag.SEQUENCE ||
    subject?.tag !== Tag.SEQUENCE || spki?.tag !== Tag.SEQUENCE
  ) {
    throw fail(
      "TBSCertificate lacks serialNumber, signature, issuer, validity, " +
        "subject or subjectPublicKeyInfo",
    );
  }

  let times: Tlv[];
  try {
    times = readChildren(validity);
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    throw fail("invalid Validity DER", error);
  }
  const [notBefore, notAfter] = times.map(readTime);
  if (times.length !== 2 || !notBefore || !notAfter) {
    throw fail("Validity is not two UTCTime or GeneralizedTime values");
  }

  return {
    der: der.slice(),
    spki: spki.encoded.slice(),
    subject: subject.encoded.slice(),
    issuer: issuer.encoded.slice(),
    notBefore,
    notAfter,
  };
}

/**
 * Reads a certificate chain: PEM `CERTIFICATE` blocks in file order, or
 * one DER certificate. The first certificate is the leaf, and each
 * following one must be the issuer of the one before it (RFC 7517 section
 * 4.7), which is checked by comparing the issuer and subject names byte
 * for byte.
 *
 * @param bytes The file contents.
 * @param options The source name for error messages.
 * @returns The certificates, leaf first.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the input contains no
 * certificate, a PEM block that is not a certificate (such as a private
 * key or a CSR), a malformed certificate, or certificates out of order.
 *
 * @example
 * ```ts
 * import "reflect-metadata";
 * import * as x509 from "@peculiar/x509";
 * import { parseCertificateChain } from "./certificate_chain.ts";
 * import assert from "node:assert/strict";
 *
 * const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
 * const keys = await crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
 * const certificate = await x509.X509CertificateGenerator.createSelfSigned({
 *   name: "CN=example",
 *   keys,
 *   signingAlgorithm: algorithm,
 *   notBefore: new Date("2025-01-01T00:00:00Z"),
 *   notAfter: new Date("2026-01-01T00:00:00Z"),
 * });
 * const pem = new TextEncoder().encode(certificate.toString("pem"));
 * const [leaf] = parseCertificateChain(pem, { source: "cert.pem" });
 * const spki = await crypto.subtle.exportKey("spki", keys.publicKey);
 * assert.deepEqual(leaf?.spki, new Uint8Array(spki));
 * assert.equal(leaf?.notAfter.toISOString(), "2026-01-01T00:00:00.000Z");
 *
 * const key = "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n";
 * assert.throws(
 *   () => parseCertificateChain(new TextEncoder().encode(key), { source: "key.pem" }),
 *   /key\.pem.*PUBLIC KEY/,
 * );
 * ```
 */
export function parseCertificateChain(
  bytes: Uint8Array,
  options: ParseChainOptions = {},
): ChainCertificate[] {
  const source = options.source ?? "the certificate file";
  const invalid = (reason: string, cause?: unknown) =>
    new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot read certificates from '${source}': ${reason}. Pass a PEM ` +
        "file of CERTIFICATE blocks, leaf first, or one DER certificate.",
      cause === undefined ? undefined : { cause },
    );

  let ders: Uint8Array[];
  if (bytes[0] === Tag.SEQUENCE) {
    ders = [bytes];
  } else {
    const blocks = decodePemBlocks(new TextDecoder().decode(bytes), source);
    if (blocks.length === 0) throw invalid("it contains no PEM block");
    blocks.forEach((block, index) => {
      if (block.label !== "CERTIFICATE") {
        throw invalid(`PEM block ${index + 1} is '${block.label}'`);
      }
    });
    ders = blocks.map((block) => block.der);
  }

  const chain = ders.map((der, index) =>
    parseCertificate(der, `certificate ${index + 1}`, invalid)
  );
  for (let index = 1; index < chain.length; index++) {
    if (!bytesEqual(chain[index - 1]!.issuer, chain[index]!.subject)) {
      throw invalid(
        `certificate ${index + 1} is not the issuer of certificate ${index}`,
      );
    }
  }
  return chain;
}

/** Formats the SHA-256 fingerprint of a DER SPKI as lowercase hex. */
async function spkiFingerprint(spki: Uint8Array): Promise<string> {
  return toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", spki.slice())),
  );
}

/** Options of {@linkcode checkLeafKey}. */
export interface CheckLeafKeyOptions {
  /**
   * A name for the chain, such as its file path, used in error messages.
   * @default {"the certificate file"}
   */
  source?: string;
  /**
   * A name for the key, such as its KMS key id, used in error messages.
   * @default {"the key"}
   */
  keyName?: string;
}

/**
 * Checks that the leaf of a chain certifies a key: its
 * `SubjectPublicKeyInfo` must equal the key's byte for byte.
 *
 * @param chain The chain from {@linkcode parseCertificateChain}.
 * @param spki The key's DER SPKI, as KMS `GetPublicKey` returns it.
 * @param options Names of the chain and the key for the message.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the keys differ; the
 * message gives the SHA-256 fingerprints of both SPKIs.
 * @throws {RangeError} When the chain is empty.
 *
 * @example
 * ```ts
 * import "reflect-metadata";
 * import * as x509 from "@peculiar/x509";
 * import { checkLeafKey, parseCertificateChain } from "./certificate_chain.ts";
 * import assert from "node:assert/strict";
 *
 * const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
 * const keys = await crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
 * const other = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
 * const certificate = await x509.X509CertificateGenerator.createSelfSigned({
 *   name: "CN=example",
 *   keys,
 *   signingAlgorithm: algorithm,
 * });
 * const chain = parseCertificateChain(new Uint8Array(certificate.rawData));
 * const otherSpki = new Uint8Array(await crypto.subtle.exportKey("spki", other.publicKey));
 * await assert.rejects(
 *   checkLeafKey(chain, otherSpki, { keyName: "alias/next" }),
 *   /alias\/next: the leaf certifies another public key/,
 * );
 * ```
 */
export async function checkLeafKey(
  chain: readonly ChainCertificate[],
  spki: Uint8Array,
  options: CheckLeafKeyOptions = {},
): Promise<void> {
  const leaf = chain[0];
  if (leaf === undefined) throw new RangeError("The chain is empty.");
  if (bytesEqual(leaf.spki, spki)) return;

  const source = options.source ?? "the certificate file";
  throw new KmsToolkitError(
    "INVALID_INPUT",
    `Cannot use certificate '${source}' for ${options.keyName ?? "the key"}: ` +
      "the leaf certifies another public key (leaf SPKI SHA-256 " +
      `${await spkiFingerprint(leaf.spki)}, key SPKI SHA-256 ` +
      `${await spkiFingerprint(spki)}). Pass the certificate issued for ` +
      "this key, leaf first; `openssl x509 -in FILE -noout -pubkey | " +
      "openssl pkey -pubin -outform DER | openssl dgst -sha256` prints a " +
      "leaf's fingerprint.",
  );
}

/** The certificate members of a JWK. */
export interface CertificateMembers {
  /** The chain's DER certificates in standard base64, leaf first. */
  x5c: string[];
  /** The base64url SHA-256 of the leaf DER. */
  "x5t#S256": string;
}

/**
 * Computes the `x5c` and `x5t#S256` members of a JWK for a chain.
 *
 * `x5c` lists each certificate's DER in standard base64 with padding, not
 * base64url (RFC 7517 section 4.7). `x5t#S256` is the base64url SHA-256
 * of the leaf DER without padding (section 4.9).
 *
 * @param chain The chain, leaf first.
 * @returns The two members.
 * @throws {RangeError} When the chain is empty.
 *
 * @example
 * ```ts
 * import { certificateMembers } from "./certificate_chain.ts";
 * import assert from "node:assert/strict";
 *
 * const leaf = { der: new Uint8Array([0xfb, 0xff]) };
 * const members = await certificateMembers([leaf]);
 * assert.deepEqual(members.x5c, ["+/8="]);
 * assert.equal(members["x5t#S256"].length, 43);
 * ```
 */
export async function certificateMembers(
  chain: readonly Pick<ChainCertificate, "der">[],
): Promise<CertificateMembers> {
  const leaf = chain[0];
  if (leaf === undefined) throw new RangeError("The chain is empty.");
  const digest = await crypto.subtle.digest("SHA-256", leaf.der.slice());
  return {
    x5c: chain.map((certificate) => certificate.der.toBase64()),
    "x5t#S256": new Uint8Array(digest).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    }),
  };
}
