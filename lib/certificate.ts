/**
 * Self-signed X.509 v3 certificates for keys held in KMS (RFC 5280), for
 * set-ups without a PKI such as a ServiceNow JWT verifier.
 *
 * ```asn1
 * Certificate ::= SEQUENCE {
 *   tbsCertificate      TBSCertificate,
 *   signatureAlgorithm  AlgorithmIdentifier,
 *   signatureValue      BIT STRING }
 *
 * TBSCertificate ::= SEQUENCE {
 *   version          [0] EXPLICIT Version DEFAULT v1,
 *   serialNumber         CertificateSerialNumber,
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   validity             Validity,
 *   subject              Name,
 *   subjectPublicKeyInfo SubjectPublicKeyInfo,
 *   extensions       [3] EXPLICIT Extensions OPTIONAL }
 *
 * Validity ::= SEQUENCE { notBefore Time, notAfter Time }
 * ```
 *
 * @module
 */

import {
  signatureAlgorithmIdentifier,
  type SigningAlgorithmEntry,
} from "./algorithms.ts";
import {
  encodeBitString,
  encodeContext,
  encodeInteger,
  encodeSequence,
  encodeTime,
} from "./der.ts";
import {
  authorityKeyIdentifierExtension,
  encodeExtensions,
  type Extension,
  subjectKeyIdentifierExtension,
} from "./extensions.ts";
import type { SigningKey } from "./signing_key.ts";
import { assertSignatureValid } from "./verify.ts";

/** Maximum validity in days (100 years). */
export const MAX_VALIDITY_DAYS = 36_500;

/** Options of {@linkcode createSelfSignedCertificate}. */
export interface SelfSignedOptions {
  /** The signing algorithm, from `chooseSigningAlgorithm`. */
  algorithm: SigningAlgorithmEntry;
  /** The DER `Name`, used as both subject and issuer. */
  subject: Uint8Array;
  /**
   * Extensions besides the key identifiers, such as subjectAltName,
   * keyUsage, extKeyUsage and basicConstraints.
   * @default {[]}
   */
  extensions?: Extension[];
  /**
   * Validity in days from `notBefore`.
   * @default {365}
   */
  days?: number;
  /**
   * Start of validity.
   * @default {new Date()} now, to the second
   */
  notBefore?: Date;
  /**
   * The serial number as an unsigned big-endian magnitude.
   * @default {undefined} 16 random bytes, positive and nonzero
   */
  serialNumber?: Uint8Array;
}

/** A signed certificate and its parts. */
export interface SignedCertificate {
  /** The DER `Certificate`. */
  der: Uint8Array;
  /** The DER `TBSCertificate` that was signed. */
  tbs: Uint8Array;
  /** The serial number magnitude. */
  serialNumber: Uint8Array;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
}

/**
 * Returns a random serial number of 16 bytes whose top bit is clear and
 * whose first byte is nonzero, so it encodes as a positive 16-byte INTEGER
 * with at least 120 random bits (RFC 5280 section 4.1.2.2 allows 20 bytes).
 */
export function randomSerialNumber(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

/**
 * Builds and signs a self-signed certificate with a key that stays in KMS:
 * issuer equals subject, the subjectKeyIdentifier and
 * authorityKeyIdentifier are both the RFC 5280 method (1) key identifier,
 * and the signature is verified locally before the certificate is
 * returned.
 *
 * @param key The signing key; its public key is certified.
 * @param options Algorithm, subject, extensions and validity.
 * @returns The certificate.
 * @throws {RangeError} When `days` is not an integer from 1 to
 * {@linkcode MAX_VALIDITY_DAYS}.
 * @throws {KmsToolkitError} `VERIFY_FAILED` when the signature does not
 * verify, and what `key.sign` throws.
 *
 * @example Certify a local Ed25519 key
 * ```ts
 * import { chooseSigningAlgorithm } from "./algorithms.ts";
 * import { createSelfSignedCertificate } from "./certificate.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const key = {
 *   keyId: "local",
 *   publicKey: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
 *   sign: async (data: Uint8Array) =>
 *     new Uint8Array(await crypto.subtle.sign("Ed25519", keys.privateKey, data.slice())),
 * };
 * const certificate = await createSelfSignedCertificate(key, {
 *   algorithm: chooseSigningAlgorithm("ECC_NIST_EDWARDS25519"),
 *   subject: Uint8Array.of(0x30, 0x00),
 *   days: 30,
 * });
 * assert.equal(certificate.notAfter.getTime() - certificate.notBefore.getTime(), 30 * 86_400_000);
 * ```
 */
export async function createSelfSignedCertificate(
  key: SigningKey,
  options: SelfSignedOptions,
): Promise<SignedCertificate> {
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new RangeError(
      `Cannot use ${days} days of validity: expected 1 to ${MAX_VALIDITY_DAYS}`,
    );
  }
  const notBefore = new Date(
    Math.floor((options.notBefore ?? new Date()).getTime() / 1000) * 1000,
  );
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const serialNumber = options.serialNumber ?? randomSerialNumber();
  const algorithmIdentifier = signatureAlgorithmIdentifier(options.algorithm);

  // Build the TBSCertificate; the signature covers exactly these bytes.
  const subjectKeyIdentifier = subjectKeyIdentifierExtension(key.publicKey);
  const keyIdentifier = subjectKeyIdentifier.value.subarray(2);
  const extensions = [
    ...(options.extensions ?? []),
    subjectKeyIdentifier,
    authorityKeyIdentifierExtension(keyIdentifier),
  ];
  const tbs = encodeSequence(
    encodeContext(0, encodeInteger(2)),
    encodeInteger(serialNumber),
    algorithmIdentifier,
    options.subject,
    encodeSequence(encodeTime(notBefore), encodeTime(notAfter)),
    options.subject,
    key.publicKey,
    encodeContext(3, encodeExtensions(extensions)),
  );

  // Sign with KMS and check the signature before anything uses it.
  const signature = await key.sign(tbs, options.algorithm);
  await assertSignatureValid(key.publicKey, {
    algorithm: options.algorithm,
    data: tbs,
    signature,
    keyId: key.keyId,
  });

  // Wrap the signed TBSCertificate.
  const der = encodeSequence(
    tbs,
    algorithmIdentifier,
    encodeBitString(signature),
  );
  return { der, tbs, serialNumber, notBefore, notAfter };
}
