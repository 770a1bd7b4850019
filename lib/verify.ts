/**
 * Local verification of signatures made by KMS, against the public key
 * from `GetPublicKey`: WebCrypto for RSA, NIST P-curves and Ed25519,
 * `@noble/curves` for secp256k1 and `@noble/post-quantum` for ML-DSA.
 *
 * @module
 */

import { DIGEST_LENGTH, type SigningAlgorithmEntry } from "./algorithms.ts";
import { derToJoseSignature } from "./ecdsa_signature.ts";
import { KmsToolkitError } from "./errors.ts";
import { parseSpki } from "./spki.ts";

// secp256k1 and ML-DSA are verified with noble, whose modules are loaded
// only for those keys: WebCrypto verifies every other key.
const ML_DSA_SCHEMES = {
  "ML-DSA-44": "ml_dsa44",
  "ML-DSA-65": "ml_dsa65",
  "ML-DSA-87": "ml_dsa87",
} as const;

const COORDINATE_SIZE: Record<string, number> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
};

/**
 * Verifies a signature over `data` as KMS makes it for `algorithm`: for
 * DIGEST algorithms the signature covers the hash of `data`, and ECDSA
 * signatures are DER.
 *
 * @param spki The DER `SubjectPublicKeyInfo` from `GetPublicKey`.
 * @param algorithm The algorithm the signature was made with.
 * @param data The signed bytes (before hashing).
 * @param signature The signature as KMS returned it.
 * @returns `true` when the signature is valid, else `false` (malformed
 * signatures included).
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` for an algorithm this module
 * cannot check.
 *
 * @example
 * ```ts
 * import { chooseSigningAlgorithm } from "./algorithms.ts";
 * import { verifySignature } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
 * const data = new TextEncoder().encode("hello");
 * const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", keys.privateKey, data));
 * const algorithm = chooseSigningAlgorithm("ECC_NIST_EDWARDS25519");
 * assert.ok(await verifySignature(spki, algorithm, data, signature));
 * ```
 */
export async function verifySignature(
  spki: Uint8Array,
  algorithm: SigningAlgorithmEntry,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const parsed = parseSpki(spki);
  const name = algorithm.signingAlgorithm;
  const hash = algorithm.hash;

  if (name.startsWith("RSASSA_PKCS1_V1_5")) {
    return await webVerify(
      spki,
      { name: "RSASSA-PKCS1-v1_5", hash: hash! },
      { name: "RSASSA-PKCS1-v1_5" },
      signature,
      data,
    );
  }
  if (name.startsWith("RSASSA_PSS")) {
    return await webVerify(
      spki,
      { name: "RSA-PSS", hash: hash! },
      { name: "RSA-PSS", saltLength: DIGEST_LENGTH[hash!] },
      signature,
      data,
    );
  }
  if (name.startsWith("ECDSA") && parsed.curve === "secp256k1") {
    const digest = new Uint8Array(
      await crypto.subtle.digest(hash!, data.slice()),
    );
    const { secp256k1 } = await import("@noble/curves/secp256k1.js");
    try {
      return secp256k1.verify(signature, digest, parsed.publicKey, {
        prehash: false,
        lowS: false,
        format: "der",
      });
    } catch {
      return false;
    }
  }
  if (name.startsWith("ECDSA")) {
    const size = COORDINATE_SIZE[parsed.curve ?? ""];
    if (!size) return false;
    let raw: Uint8Array;
    try {
      raw = derToJoseSignature(signature, size);
    } catch {
      return false;
    }
    return await webVerify(
      spki,
      { name: "ECDSA", namedCurve: parsed.curve! },
      { name: "ECDSA", hash: hash! },
      raw,
      data,
    );
  }
  if (name === "ED25519_SHA_512") {
    return await webVerify(spki, "Ed25519", "Ed25519", signature, data);
  }
  if (name === "ML_DSA_SHAKE_256") {
    const schemeName =
      ML_DSA_SCHEMES[parsed.curve as keyof typeof ML_DSA_SCHEMES];
    if (!schemeName) return false;
    const scheme = (await import("@noble/post-quantum/ml-dsa.js"))[schemeName];
    try {
      return scheme.verify(signature, data, parsed.publicKey);
    } catch {
      return false;
    }
  }

  throw new KmsToolkitError(
    "UNSUPPORTED_KEY",
    `Cannot verify ${name} signatures locally.`,
  );
}

async function webVerify(
  spki: Uint8Array,
  importAlgorithm:
    | AlgorithmIdentifier
    | RsaHashedImportParams
    | EcKeyImportParams,
  verifyAlgorithm: AlgorithmIdentifier | RsaPssParams | EcdsaParams,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    "spki",
    spki.slice(),
    importAlgorithm,
    false,
    ["verify"],
  );
  return await crypto.subtle.verify(
    verifyAlgorithm,
    key,
    signature.slice(),
    data.slice(),
  );
}

/**
 * Verifies a KMS signature and throws when it does not verify, so that
 * nothing is written from a bad signature.
 *
 * @param spki The DER `SubjectPublicKeyInfo` from `GetPublicKey`.
 * @param options The algorithm, signed data, signature and key reference.
 * @throws {KmsToolkitError} `VERIFY_FAILED` when the signature is invalid.
 *
 * @example
 * ```ts
 * import { chooseSigningAlgorithm } from "./algorithms.ts";
 * import { assertSignatureValid } from "./verify.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
 * const algorithm = chooseSigningAlgorithm("ECC_NIST_EDWARDS25519");
 * await assert.rejects(
 *   assertSignatureValid(spki, { algorithm, data: new Uint8Array(1), signature: new Uint8Array(64), keyId: "k" }),
 *   /does not verify/,
 * );
 * ```
 */
export async function assertSignatureValid(
  spki: Uint8Array,
  options: {
    /** The algorithm the signature was made with. */
    algorithm: SigningAlgorithmEntry;
    /** The signed bytes. */
    data: Uint8Array;
    /** The signature as KMS returned it. */
    signature: Uint8Array;
    /** The key reference, for the message. */
    keyId: string;
  },
): Promise<void> {
  const valid = await verifySignature(
    spki,
    options.algorithm,
    options.data,
    options.signature,
  );
  if (valid) return;

  throw new KmsToolkitError(
    "VERIFY_FAILED",
    `The ${options.algorithm.signingAlgorithm} signature from KMS key ` +
      `'${options.keyId}' does not verify against the key's public key. ` +
      "Nothing was written. The endpoint may have signed with another key " +
      "or returned a corrupt signature; check --endpoint-url.",
  );
}
