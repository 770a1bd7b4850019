/**
 * Key material of the local KMS endpoint: generation per key spec, the
 * DER `SubjectPublicKeyInfo` that `GetPublicKey` returns, and the JSON form
 * kept in the state file.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import {
  bytesEqual,
  concatBytes,
  encodeBitString,
  encodeInteger,
  encodeNull,
  encodeOid,
  encodeSequence,
} from "../der.ts";
import { CurveOid, KeyAlgorithmOid } from "../oids.ts";
import { rsaKeyFromJwk, type RsaPrivateKey } from "./rsa.ts";
import { randomSm2Scalar, sm2PublicPoint } from "./sm2.ts";

/** Elliptic curves of the ECC key specs. */
export type EcCurve = "P-256" | "P-384" | "P-521" | "secp256k1" | "SM2";

/** ML-DSA parameter sets. */
export type MlDsaLevel = "44" | "65" | "87";

/** The private (and public) material of one key. */
export type KeyMaterial =
  | { kind: "RSA"; jwk: JsonWebKey; key: RsaPrivateKey }
  | { kind: "EC"; curve: EcCurve; d: Uint8Array; point: Uint8Array }
  | { kind: "Ed25519"; seed: Uint8Array; publicKey: Uint8Array }
  | {
    kind: "ML-DSA";
    level: MlDsaLevel;
    seed: Uint8Array;
    publicKey: Uint8Array;
    secretKey: Uint8Array;
  }
  | { kind: "SECRET"; bytes: Uint8Array };

/** The noble ML-DSA instance of each parameter set. */
export const ML_DSA = { "44": ml_dsa44, "65": ml_dsa65, "87": ml_dsa87 };

const HMAC_BYTES: Record<string, number> = {
  HMAC_224: 28,
  HMAC_256: 32,
  HMAC_384: 48,
  HMAC_512: 64,
};

const WEB_CURVES: Record<string, "P-256" | "P-384" | "P-521"> = {
  ECC_NIST_P256: "P-256",
  ECC_NIST_P384: "P-384",
  ECC_NIST_P521: "P-521",
};

const CURVE_OIDS: Record<EcCurve, string> = {
  "P-256": CurveOid.secp256r1,
  "P-384": CurveOid.secp384r1,
  "P-521": CurveOid.secp521r1,
  secp256k1: CurveOid.secp256k1,
  SM2: KeyAlgorithmOid.sm2,
};

const ML_DSA_OIDS: Record<MlDsaLevel, string> = {
  "44": KeyAlgorithmOid.idMlDsa44,
  "65": KeyAlgorithmOid.idMlDsa65,
  "87": KeyAlgorithmOid.idMlDsa87,
};

function b64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function fromB64url(text: unknown, what: string): Uint8Array {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot read key material: '${what}' is missing.`);
  }
  return Uint8Array.fromBase64(text, { alphabet: "base64url" });
}

/**
 * Computes the uncompressed public point of an EC private scalar.
 *
 * @param curve The curve.
 * @param d The private scalar, big-endian, as long as the group order.
 * @returns `04 || x || y`.
 */
function ecPoint(curve: EcCurve, d: Uint8Array): Uint8Array {
  switch (curve) {
    case "P-256":
      return p256.getPublicKey(d, false);
    case "P-384":
      return p384.getPublicKey(d, false);
    case "P-521":
      return p521.getPublicKey(d, false);
    case "secp256k1":
      return secp256k1.getPublicKey(d, false);
    case "SM2":
      return sm2PublicPoint(d);
  }
}

/**
 * Generates new key material for a KMS key spec: WebCrypto for RSA, the
 * NIST curves and Ed25519, noble for secp256k1, SM2 and ML-DSA, random
 * bytes for symmetric and HMAC keys.
 *
 * @param keySpec The KMS `KeySpec`.
 * @returns The new material.
 * @throws {RangeError} When the key spec is not one this endpoint makes.
 *
 * @example
 * ```ts
 * import { generateKeyMaterial } from "./key_material.ts";
 * import assert from "node:assert/strict";
 *
 * const material = await generateKeyMaterial("ECC_NIST_P256");
 * assert.equal(material.kind, "EC");
 * ```
 */
export async function generateKeyMaterial(
  keySpec: string,
): Promise<KeyMaterial> {
  const rsaBits = /^RSA_(2048|3072|4096)$/.exec(keySpec)?.[1];
  if (rsaBits) {
    const pair = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: Number(rsaBits),
        publicExponent: Uint8Array.of(1, 0, 1),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    return { kind: "RSA", jwk, key: rsaKeyFromJwk(jwk) };
  }
  const webCurve = WEB_CURVES[keySpec];
  if (webCurve) {
    const pair = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: webCurve },
      true,
      ["sign", "verify"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const d = fromB64url(jwk.d, "d");
    const point = concatBytes(
      Uint8Array.of(4),
      fromB64url(jwk.x, "x"),
      fromB64url(jwk.y, "y"),
    );
    return { kind: "EC", curve: webCurve, d, point };
  }
  switch (keySpec) {
    case "ECC_SECG_P256K1": {
      const d = secp256k1.utils.randomSecretKey();
      return {
        kind: "EC",
        curve: "secp256k1",
        d,
        point: ecPoint("secp256k1", d),
      };
    }
    case "SM2": {
      const d = randomSm2Scalar();
      return { kind: "EC", curve: "SM2", d, point: ecPoint("SM2", d) };
    }
    case "ECC_NIST_EDWARDS25519": {
      const pair = await crypto.subtle.generateKey(
        { name: "Ed25519" },
        true,
        ["sign", "verify"],
      ) as CryptoKeyPair;
      const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
      return {
        kind: "Ed25519",
        seed: fromB64url(jwk.d, "d"),
        publicKey: fromB64url(jwk.x, "x"),
      };
    }
    case "SYMMETRIC_DEFAULT":
      return {
        kind: "SECRET",
        bytes: crypto.getRandomValues(new Uint8Array(32)),
      };
  }
  const level = /^ML_DSA_(44|65|87)$/.exec(keySpec)?.[1] as MlDsaLevel;
  if (level) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const { publicKey, secretKey } = ML_DSA[level].keygen(seed);
    return { kind: "ML-DSA", level, seed, publicKey, secretKey };
  }
  const hmacBytes = HMAC_BYTES[keySpec];
  if (hmacBytes) {
    return {
      kind: "SECRET",
      bytes: crypto.getRandomValues(new Uint8Array(hmacBytes)),
    };
  }
  throw new RangeError(`Cannot generate key material for '${keySpec}'.`);
}

/**
 * Encodes the DER `SubjectPublicKeyInfo` of a key, as KMS returns it.
 *
 * ```asn1
 * SubjectPublicKeyInfo ::= SEQUENCE {
 *   algorithm         AlgorithmIdentifier,
 *   subjectPublicKey  BIT STRING }
 * RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
 * ECParameters ::= CHOICE { namedCurve OBJECT IDENTIFIER }
 * ```
 *
 * RSA uses `rsaEncryption` with NULL parameters (RFC 3279). EC keys use
 * `id-ecPublicKey` with the named curve and an uncompressed point
 * (RFC 5480), and SM2 keys the same with the SM2 curve OID. Ed25519 uses
 * `id-Ed25519` (RFC 8410), and ML-DSA `id-ml-dsa-*` with the raw public
 * key (RFC 9881).
 *
 * @param material The key material.
 * @returns The DER SPKI.
 * @throws {TypeError} For symmetric and HMAC material, which has none.
 *
 * @example
 * ```ts
 * import { generateKeyMaterial, spkiOf } from "./key_material.ts";
 * import assert from "node:assert/strict";
 *
 * const spki = spkiOf(await generateKeyMaterial("ECC_NIST_EDWARDS25519"));
 * assert.equal(spki.length, 44);
 * ```
 */
export function spkiOf(material: KeyMaterial): Uint8Array {
  switch (material.kind) {
    case "RSA":
      return encodeSequence(
        encodeSequence(encodeOid(KeyAlgorithmOid.rsaEncryption), encodeNull()),
        encodeBitString(
          encodeSequence(
            encodeInteger(material.key.n),
            encodeInteger(material.key.e),
          ),
        ),
      );
    case "EC":
      return encodeSequence(
        encodeSequence(
          encodeOid(KeyAlgorithmOid.idEcPublicKey),
          encodeOid(CURVE_OIDS[material.curve]),
        ),
        encodeBitString(material.point),
      );
    case "Ed25519":
      return encodeSequence(
        encodeSequence(encodeOid(KeyAlgorithmOid.idEd25519)),
        encodeBitString(material.publicKey),
      );
    case "ML-DSA":
      return encodeSequence(
        encodeSequence(encodeOid(ML_DSA_OIDS[material.level])),
        encodeBitString(material.publicKey),
      );
    case "SECRET":
      throw new TypeError("Cannot encode SPKI: the key is not asymmetric.");
  }
}

/**
 * Converts key material to the JSON form of the state file. The result
 * contains PRIVATE key material.
 *
 * @param material The key material.
 * @returns A JSON-safe object.
 *
 * @example
 * ```ts
 * import { generateKeyMaterial, materialFromJson, materialToJson, spkiOf } from "./key_material.ts";
 * import { bytesEqual } from "../der.ts";
 * import assert from "node:assert/strict";
 *
 * const material = await generateKeyMaterial("ECC_SECG_P256K1");
 * const copy = materialFromJson(JSON.parse(JSON.stringify(materialToJson(material))));
 * assert.ok(bytesEqual(spkiOf(copy), spkiOf(material)));
 * ```
 */
export function materialToJson(material: KeyMaterial): Record<string, unknown> {
  switch (material.kind) {
    case "RSA": {
      const { kty, n, e, d, p, q, dp, dq, qi } = material.jwk;
      return { kind: "RSA", jwk: { kty, n, e, d, p, q, dp, dq, qi } };
    }
    case "EC":
      return {
        kind: "EC",
        curve: material.curve,
        d: b64url(material.d),
        point: b64url(material.point),
      };
    case "Ed25519":
      return { kind: "Ed25519", seed: b64url(material.seed) };
    case "ML-DSA":
      return {
        kind: "ML-DSA",
        level: material.level,
        seed: b64url(material.seed),
      };
    case "SECRET":
      return { kind: "SECRET", bytes: b64url(material.bytes) };
  }
}

/**
 * Reads key material from the JSON form of the state file, deriving and
 * checking the public key.
 *
 * @param json The object that {@linkcode materialToJson} made.
 * @returns The key material.
 * @throws {TypeError} When a member is missing or the public key does not
 * match the private key.
 *
 * @example
 * ```ts
 * import { materialFromJson } from "./key_material.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => materialFromJson({ kind: "EC", curve: "P-256" }), TypeError);
 * ```
 */
export function materialFromJson(json: Record<string, unknown>): KeyMaterial {
  switch (json.kind) {
    case "RSA": {
      const jwk = json.jwk as JsonWebKey;
      const key = rsaKeyFromJwk(jwk);
      if (key.p * key.q !== key.n) {
        throw new TypeError("Cannot read RSA key material: p * q is not n.");
      }
      return { kind: "RSA", jwk, key };
    }
    case "EC": {
      const curve = json.curve as EcCurve;
      if (!(curve in CURVE_OIDS)) {
        throw new TypeError(`Cannot read EC key material: curve '${curve}'.`);
      }
      const d = fromB64url(json.d, "d");
      const point = ecPoint(curve, d);
      if (
        json.point !== undefined &&
        !bytesEqual(point, fromB64url(json.point, "point"))
      ) {
        throw new TypeError(
          "Cannot read EC key material: the point does not match d.",
        );
      }
      return { kind: "EC", curve, d, point };
    }
    case "Ed25519": {
      const seed = fromB64url(json.seed, "seed");
      return { kind: "Ed25519", seed, publicKey: ed25519.getPublicKey(seed) };
    }
    case "ML-DSA": {
      const level = json.level as MlDsaLevel;
      if (!(level in ML_DSA)) {
        throw new TypeError(
          `Cannot read ML-DSA key material: level '${level}'.`,
        );
      }
      const seed = fromB64url(json.seed, "seed");
      const { publicKey, secretKey } = ML_DSA[level].keygen(seed);
      return { kind: "ML-DSA", level, seed, publicKey, secretKey };
    }
    case "SECRET":
      return { kind: "SECRET", bytes: fromB64url(json.bytes, "bytes") };
  }
  throw new TypeError(`Cannot read key material of kind '${json.kind}'.`);
}
