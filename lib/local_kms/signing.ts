/**
 * Per key spec signing and verification of the local KMS endpoint, with
 * the checks KMS makes before it signs: key usage, algorithm, message type
 * and digest length.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { HashName } from "../algorithms.ts";
import { concatBytes } from "../der.ts";
import { type EcCurve, type KeyMaterial, ML_DSA } from "./key_material.ts";
import { KmsError } from "./protocol.ts";
import { rsaSign, rsaVerify } from "./rsa.ts";
import { SM2_DEFAULT_ID, sm2Sign, sm2UserHash, sm2Verify, sm3 } from "./sm2.ts";

type MessageType = "RAW" | "DIGEST" | "EXTERNAL_MU";

interface AlgorithmRule {
  /** The hash applied to RAW messages; its length is the DIGEST length. */
  hash: HashName | "SM3" | null;
  /** The message types the algorithm takes. */
  messageTypes: readonly MessageType[];
}

const DIGEST_TYPES: readonly MessageType[] = ["RAW", "DIGEST"];

const ALGORITHMS: Record<string, AlgorithmRule> = {
  RSASSA_PKCS1_V1_5_SHA_256: { hash: "SHA-256", messageTypes: DIGEST_TYPES },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: "SHA-384", messageTypes: DIGEST_TYPES },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: "SHA-512", messageTypes: DIGEST_TYPES },
  RSASSA_PSS_SHA_256: { hash: "SHA-256", messageTypes: DIGEST_TYPES },
  RSASSA_PSS_SHA_384: { hash: "SHA-384", messageTypes: DIGEST_TYPES },
  RSASSA_PSS_SHA_512: { hash: "SHA-512", messageTypes: DIGEST_TYPES },
  ECDSA_SHA_256: { hash: "SHA-256", messageTypes: DIGEST_TYPES },
  ECDSA_SHA_384: { hash: "SHA-384", messageTypes: DIGEST_TYPES },
  ECDSA_SHA_512: { hash: "SHA-512", messageTypes: DIGEST_TYPES },
  ED25519_SHA_512: { hash: null, messageTypes: ["RAW"] },
  ED25519_PH_SHA_512: { hash: "SHA-512", messageTypes: ["DIGEST"] },
  ML_DSA_SHAKE_256: { hash: null, messageTypes: ["RAW", "EXTERNAL_MU"] },
  SM2DSA: { hash: "SM3", messageTypes: DIGEST_TYPES },
};

/** Every `SigningAlgorithmSpec` value, in the SDK's order. */
export const SIGNING_ALGORITHM_VALUES: readonly string[] = [
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
  "ECDSA_SHA_256",
  "ECDSA_SHA_384",
  "ECDSA_SHA_512",
  "SM2DSA",
  "ML_DSA_SHAKE_256",
  "ED25519_SHA_512",
  "ED25519_PH_SHA_512",
];

/** Every `MessageType` value. */
export const MESSAGE_TYPE_VALUES: readonly string[] = [
  "RAW",
  "DIGEST",
  "EXTERNAL_MU",
];

const RSA_ALGORITHMS = [
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
];

const SPEC_ALGORITHMS: Record<string, readonly string[]> = {
  RSA_2048: RSA_ALGORITHMS,
  RSA_3072: RSA_ALGORITHMS,
  RSA_4096: RSA_ALGORITHMS,
  ECC_NIST_P256: ["ECDSA_SHA_256"],
  ECC_NIST_P384: ["ECDSA_SHA_384"],
  ECC_NIST_P521: ["ECDSA_SHA_512"],
  ECC_SECG_P256K1: ["ECDSA_SHA_256"],
  ECC_NIST_EDWARDS25519: ["ED25519_SHA_512", "ED25519_PH_SHA_512"],
  ML_DSA_44: ["ML_DSA_SHAKE_256"],
  ML_DSA_65: ["ML_DSA_SHAKE_256"],
  ML_DSA_87: ["ML_DSA_SHAKE_256"],
  SM2: ["SM2DSA"],
};

/**
 * Lists the signing algorithms of a key spec, as `DescribeKey` and
 * `GetPublicKey` report them for SIGN_VERIFY keys.
 *
 * @param keySpec The KMS `KeySpec`.
 * @returns The algorithms; empty for specs that cannot sign.
 *
 * @example
 * ```ts
 * import { signingAlgorithmsOf } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(signingAlgorithmsOf("ECC_NIST_P384"), ["ECDSA_SHA_384"]);
 * ```
 */
export function signingAlgorithmsOf(keySpec: string): string[] {
  return [...(SPEC_ALGORITHMS[keySpec] ?? [])];
}

const HASHES: Record<HashName, (data: Uint8Array) => Uint8Array> = {
  "SHA-256": sha256,
  "SHA-384": sha384,
  "SHA-512": sha512,
};

const DIGEST_BYTES: Record<HashName | "SM3", number> = {
  "SHA-256": 32,
  "SHA-384": 48,
  "SHA-512": 64,
  SM3: 32,
};

/** The key and members of a `Sign` or `Verify` request. */
export interface SignatureRequest {
  /** The key's ARN, for error messages. */
  arn: string;
  /** The key's `KeySpec`. */
  keySpec: string;
  /** The key's `KeyUsage`. */
  keyUsage: string;
  /** The `SigningAlgorithm`. */
  algorithm: string;
  /** The `MessageType`. */
  messageType: string;
  /** The `Message`. */
  message: Uint8Array;
  /** The operation name, for error messages. */
  operation: "Sign" | "Verify";
}

/**
 * Checks a `Sign` or `Verify` request against the key, in the order KMS
 * does: key usage, algorithm, message type, then message length.
 *
 * @param request The key and the request members.
 * @throws {KmsError} `InvalidKeyUsageException` when the key is not a
 * SIGN_VERIFY key or the algorithm does not fit its key spec;
 * `ValidationException` when the message type does not fit the algorithm
 * or key spec, or a digest or μ has the wrong length.
 *
 * @example
 * ```ts
 * import { checkSignatureRequest } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkSignatureRequest({
 *   arn: "k", keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY",
 *   algorithm: "ECDSA_SHA_256", messageType: "DIGEST",
 *   message: new Uint8Array(31), operation: "Sign",
 * }), /Digest is invalid length for algorithm ECDSA_SHA_256/);
 * ```
 */
export function checkSignatureRequest(request: SignatureRequest): void {
  const { keySpec, algorithm, messageType, message } = request;
  if (request.keyUsage !== "SIGN_VERIFY") {
    throw new KmsError(
      "InvalidKeyUsageException",
      `${request.arn} key usage is ${request.keyUsage} which is not valid ` +
        `for ${request.operation}.`,
    );
  }
  const rule = ALGORITHMS[algorithm];
  if (!rule || !SPEC_ALGORITHMS[keySpec]?.includes(algorithm)) {
    throw new KmsError(
      "InvalidKeyUsageException",
      `Algorithm ${algorithm} is incompatible with key spec ${keySpec}.`,
    );
  }
  if (!rule.messageTypes.includes(messageType as MessageType)) {
    const subject = messageType === "EXTERNAL_MU" || keySpec.startsWith("ML_")
      ? `key spec ${keySpec}`
      : `signing algorithm ${algorithm}`;
    throw new KmsError(
      "ValidationException",
      `Message type ${messageType} is incompatible with ${subject}.`,
    );
  }
  if (messageType === "DIGEST" && rule.hash) {
    if (message.length !== DIGEST_BYTES[rule.hash]) {
      throw new KmsError(
        "ValidationException",
        `Digest is invalid length for algorithm ${algorithm}.`,
      );
    }
  }
  if (messageType === "EXTERNAL_MU" && message.length !== 64) {
    throw new KmsError(
      "ValidationException",
      `External mu is invalid length for algorithm ${algorithm}: it must ` +
        "be 64 bytes.",
    );
  }
}

function ecdsaCurve(curve: EcCurve) {
  switch (curve) {
    case "P-256":
      return p256;
    case "P-384":
      return p384;
    case "P-521":
      return p521;
    case "secp256k1":
      return secp256k1;
    case "SM2":
      return null;
  }
}

function digestOf(request: SignatureRequest): Uint8Array {
  const hash = ALGORITHMS[request.algorithm]!.hash as HashName;
  return request.messageType === "DIGEST"
    ? request.message
    : HASHES[hash](request.message);
}

function sm2Digest(material: KeyMaterial, request: SignatureRequest) {
  if (request.messageType === "DIGEST") return request.message;
  // NOTE: RAW messages are hashed as SM3(Z_A || M) with the default
  // distinguishing ID 1234567812345678, which AWS KMS documents for
  // offline verification; not checked against KMS itself.
  const point = (material as { point: Uint8Array }).point;
  return sm3(concatBytes(sm2UserHash(point, SM2_DEFAULT_ID), request.message));
}

// RFC 8032 section 5.1: dom2(phflag = 1, context = empty) of Ed25519ph.
const ED25519PH_DOM = concatBytes(
  new TextEncoder().encode("SigEd25519 no Ed25519 collisions"),
  Uint8Array.of(1, 0),
);

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) {
    value = (value << 8n) | BigInt(bytes[i]!);
  }
  return value;
}

function toLittleEndian(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function ed25519phSign(seed: Uint8Array, digest: Uint8Array): Uint8Array {
  const { Point } = ed25519;
  const order = Point.Fn.ORDER;
  const h = sha512(seed);
  const scalarBytes = h.slice(0, 32);
  scalarBytes[0]! &= 248;
  scalarBytes[31]! &= 127;
  scalarBytes[31]! |= 64;
  const s = littleEndian(scalarBytes) % order;
  const publicKey = Point.BASE.multiply(s).toBytes();
  const r =
    littleEndian(sha512(concatBytes(ED25519PH_DOM, h.subarray(32), digest))) %
    order;
  const bigR = Point.BASE.multiply(r).toBytes();
  const k =
    littleEndian(sha512(concatBytes(ED25519PH_DOM, bigR, publicKey, digest))) %
    order;
  return concatBytes(bigR, toLittleEndian((r + k * s) % order, 32));
}

function ed25519phVerify(
  publicKey: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64) return false;
  const { Point } = ed25519;
  const order = Point.Fn.ORDER;
  try {
    const a = Point.fromBytes(publicKey);
    const bigR = Point.fromBytes(signature.subarray(0, 32));
    const s = littleEndian(signature.subarray(32));
    if (s >= order) return false;
    const k = littleEndian(
      sha512(
        concatBytes(
          ED25519PH_DOM,
          signature.subarray(0, 32),
          publicKey,
          digest,
        ),
      ),
    ) % order;
    return Point.BASE.multiplyUnsafe(s).equals(bigR.add(a.multiplyUnsafe(k)));
  } catch {
    return false;
  }
}

/**
 * Signs a checked request with the key's material.
 *
 * ECDSA signs the digest as given for DIGEST (never hashing it again),
 * randomized and without forcing low S, and returns DER
 * `SEQUENCE { r, s }`. RSA PSS uses a salt as long as the hash.
 *
 * @param material The key material.
 * @param request A request that {@linkcode checkSignatureRequest} accepted.
 * @returns The signature bytes.
 * @throws {TypeError} For symmetric and HMAC material.
 *
 * @example
 * ```ts
 * import { generateKeyMaterial } from "./key_material.ts";
 * import { signMessage, verifyMessage } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * const material = await generateKeyMaterial("ECC_NIST_P256");
 * const request = {
 *   arn: "k", keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY",
 *   algorithm: "ECDSA_SHA_256", messageType: "RAW",
 *   message: new Uint8Array([1, 2, 3]), operation: "Sign" as const,
 * };
 * const signature = signMessage(material, request);
 * assert.ok(verifyMessage(material, request, signature));
 * ```
 */
export function signMessage(
  material: KeyMaterial,
  request: SignatureRequest,
): Uint8Array {
  switch (material.kind) {
    case "RSA": {
      const hash = ALGORITHMS[request.algorithm]!.hash as HashName;
      const scheme = request.algorithm.startsWith("RSASSA_PSS")
        ? "PSS"
        : "PKCS1_V1_5";
      return rsaSign(material.key, digestOf(request), { scheme, hash });
    }
    case "EC": {
      const curve = ecdsaCurve(material.curve);
      if (!curve) return sm2Sign(material.d, sm2Digest(material, request));
      return curve.sign(digestOf(request), material.d, {
        prehash: false,
        lowS: false,
        format: "der",
        extraEntropy: true,
      });
    }
    case "Ed25519":
      return request.algorithm === "ED25519_PH_SHA_512"
        ? ed25519phSign(material.seed, request.message)
        : ed25519.sign(request.message, material.seed);
    case "ML-DSA": {
      const dsa = ML_DSA[material.level];
      return request.messageType === "EXTERNAL_MU"
        ? dsa.internal.sign(request.message, material.secretKey, {
          externalMu: true,
        })
        : dsa.sign(request.message, material.secretKey);
    }
    case "SECRET":
      throw new TypeError("Cannot sign with a symmetric key.");
  }
}

/**
 * Verifies a signature for a checked request with the key's material.
 *
 * @param material The key material.
 * @param request A request that {@linkcode checkSignatureRequest} accepted.
 * @param signature The signature to check.
 * @returns Whether the signature is valid; malformed ones are not.
 *
 * @example
 * ```ts
 * import { generateKeyMaterial } from "./key_material.ts";
 * import { verifyMessage } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * const material = await generateKeyMaterial("ECC_NIST_EDWARDS25519");
 * const request = {
 *   arn: "k", keySpec: "ECC_NIST_EDWARDS25519", keyUsage: "SIGN_VERIFY",
 *   algorithm: "ED25519_SHA_512", messageType: "RAW",
 *   message: new Uint8Array([1]), operation: "Verify" as const,
 * };
 * assert.equal(verifyMessage(material, request, new Uint8Array(64)), false);
 * ```
 */
export function verifyMessage(
  material: KeyMaterial,
  request: SignatureRequest,
  signature: Uint8Array,
): boolean {
  try {
    switch (material.kind) {
      case "RSA": {
        const hash = ALGORITHMS[request.algorithm]!.hash as HashName;
        const scheme = request.algorithm.startsWith("RSASSA_PSS")
          ? "PSS"
          : "PKCS1_V1_5";
        return rsaVerify(material.key, digestOf(request), signature, {
          scheme,
          hash,
        });
      }
      case "EC": {
        const curve = ecdsaCurve(material.curve);
        if (!curve) {
          return sm2Verify(
            material.point,
            sm2Digest(material, request),
            signature,
          );
        }
        return curve.verify(signature, digestOf(request), material.point, {
          prehash: false,
          lowS: false,
          format: "der",
        });
      }
      case "Ed25519":
        return request.algorithm === "ED25519_PH_SHA_512"
          ? ed25519phVerify(material.publicKey, request.message, signature)
          : ed25519.verify(signature, request.message, material.publicKey, {
            zip215: false,
          });
      case "ML-DSA": {
        const dsa = ML_DSA[material.level];
        return request.messageType === "EXTERNAL_MU"
          ? dsa.internal.verify(
            signature,
            request.message,
            material.publicKey,
            {
              externalMu: true,
            },
          )
          : dsa.verify(signature, request.message, material.publicKey);
      }
      case "SECRET":
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * Gives random bytes as long as a real signature of the key would be,
 * for the `garbageSignature` fault.
 *
 * @param material The key material.
 * @returns Random bytes.
 *
 * @example
 * ```ts
 * import { generateKeyMaterial } from "./key_material.ts";
 * import { garbageSignature } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * const material = await generateKeyMaterial("ECC_NIST_EDWARDS25519");
 * assert.equal(garbageSignature(material).length, 64);
 * ```
 */
export function garbageSignature(material: KeyMaterial): Uint8Array {
  let length = 64;
  switch (material.kind) {
    case "RSA":
      length = Math.ceil(material.key.n.toString(16).length / 2);
      break;
    case "EC":
      // A DER SEQUENCE of two full-size INTEGERs: 2 * size + 6 bytes.
      length = material.point.length - 1 + 6;
      break;
    case "ML-DSA":
      length = { "44": 2420, "65": 3309, "87": 4627 }[material.level];
      break;
  }
  return crypto.getRandomValues(new Uint8Array(length));
}
