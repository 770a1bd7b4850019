/**
 * RSA signing and verification over a given digest with BigInt arithmetic:
 * EMSA-PKCS1-v1_5 and EMSA-PSS of RFC 8017, as KMS signs.
 *
 * WebCrypto cannot sign a digest that the caller hashed, and Deno's
 * `node:crypto` has no raw RSA, so the endpoint does the modular
 * arithmetic itself, with the CRT parameters of the private key.
 *
 * NOTE: this serves a local test endpoint. It has no blinding and is not
 * constant time; never use it for keys that protect anything.
 *
 * @module
 */

import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { HashName } from "../algorithms.ts";

export type { HashName } from "../algorithms.ts";
import { bytesEqual, concatBytes, fromHex } from "../der.ts";

/** An RSA private key with its CRT parameters (RFC 8017 section 3.2). */
export interface RsaPrivateKey {
  /** The modulus. */
  n: bigint;
  /** The public exponent. */
  e: bigint;
  /** The private exponent. */
  d: bigint;
  /** The first prime factor. */
  p: bigint;
  /** The second prime factor. */
  q: bigint;
  /** `d mod (p - 1)`. */
  dp: bigint;
  /** `d mod (q - 1)`. */
  dq: bigint;
  /** `q^-1 mod p`. */
  qi: bigint;
}

/** An RSA public key. */
export interface RsaPublicKey {
  /** The modulus. */
  n: bigint;
  /** The public exponent. */
  e: bigint;
}

/** The padding scheme of a signature. */
export type RsaScheme = "PKCS1_V1_5" | "PSS";

const HASHES: Record<HashName, (data: Uint8Array) => Uint8Array> = {
  "SHA-256": sha256,
  "SHA-384": sha384,
  "SHA-512": sha512,
};

// DER of DigestInfo up to the digest (RFC 8017 section 9.2, note 1).
const DIGEST_INFO_PREFIX: Record<HashName, Uint8Array> = {
  "SHA-256": fromHex("3031300d060960864801650304020105000420"),
  "SHA-384": fromHex("3041300d060960864801650304020205000430"),
  "SHA-512": fromHex("3051300d060960864801650304020305000440"),
};

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function toBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

function bitLength(value: bigint): number {
  return value.toString(2).length;
}

function mgf1(hash: HashName, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let filled = 0;
  for (let counter = 0; filled < length; counter++) {
    const block = HASHES[hash](
      concatBytes(seed, toBytes(BigInt(counter), 4)),
    );
    out.set(block.subarray(0, length - filled), filled);
    filled += block.length;
  }
  return out;
}

function pkcs1Encode(
  hash: HashName,
  digest: Uint8Array,
  length: number,
): Uint8Array {
  const t = concatBytes(DIGEST_INFO_PREFIX[hash], digest);
  const em = new Uint8Array(length).fill(0xff);
  em[0] = 0;
  em[1] = 1;
  em[length - t.length - 1] = 0;
  em.set(t, length - t.length);
  return em;
}

function pssEncode(
  hash: HashName,
  digest: Uint8Array,
  emBits: number,
  salt: Uint8Array,
): Uint8Array {
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  const h = HASHES[hash](concatBytes(new Uint8Array(8), digest, salt));
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - salt.length - 1] = 1;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return concatBytes(db, h, Uint8Array.of(0xbc));
}

function pssCheck(
  hash: HashName,
  digest: Uint8Array,
  em: Uint8Array,
  emBits: number,
): boolean {
  const hLen = digest.length;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < 2 * hLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const masked = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((masked[0]! & ~topMask) !== 0) return false;
  const mask = mgf1(hash, h, masked.length);
  const db = masked.map((byte, i) => byte ^ mask[i]!);
  db[0]! &= topMask;
  // KMS uses a salt as long as the hash, so the check requires exactly that.
  const padLength = db.length - hLen - 1;
  for (let i = 0; i < padLength; i++) if (db[i] !== 0) return false;
  if (db[padLength] !== 1) return false;
  const salt = db.subarray(padLength + 1);
  const expected = HASHES[hash](concatBytes(new Uint8Array(8), digest, salt));
  return bytesEqual(expected, h);
}

/**
 * Signs a digest with an RSA private key.
 *
 * PSS uses MGF1 with the same hash and a random salt as long as the hash,
 * as KMS does.
 *
 * @param key The private key.
 * @param digest The message digest, as long as the hash's output.
 * @param options The padding scheme and hash.
 * @returns The signature, as long as the modulus.
 * @throws {RangeError} When the digest length does not match the hash.
 *
 * @example
 * ```ts
 * import { rsaKeyFromJwk, rsaSign, rsaVerify } from "./rsa.ts";
 * import assert from "node:assert/strict";
 *
 * const pair = await crypto.subtle.generateKey(
 *   { name: "RSA-PSS", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
 *   true, ["sign", "verify"]);
 * const key = rsaKeyFromJwk(await crypto.subtle.exportKey("jwk", pair.privateKey));
 * const digest = new Uint8Array(32).fill(7);
 * const signature = rsaSign(key, digest, { scheme: "PSS", hash: "SHA-256" });
 * assert.ok(rsaVerify(key, digest, signature, { scheme: "PSS", hash: "SHA-256" }));
 * ```
 */
export function rsaSign(
  key: RsaPrivateKey,
  digest: Uint8Array,
  options: { scheme: RsaScheme; hash: HashName },
): Uint8Array {
  const hLen = HASHES[options.hash](new Uint8Array()).length;
  if (digest.length !== hLen) {
    throw new RangeError(
      `Cannot sign digest of ${digest.length} bytes: ${options.hash} gives ` +
        `${hLen}.`,
    );
  }
  const k = Math.ceil(bitLength(key.n) / 8);
  const em = options.scheme === "PKCS1_V1_5"
    ? pkcs1Encode(options.hash, digest, k)
    : pssEncode(
      options.hash,
      digest,
      bitLength(key.n) - 1,
      crypto.getRandomValues(new Uint8Array(hLen)),
    );
  const m = toBigInt(em);
  // CRT (RFC 8017 section 5.1.2, case 2.b).
  const m1 = modPow(m, key.dp, key.p);
  const m2 = modPow(m, key.dq, key.q);
  const h = (((m1 - m2) % key.p + key.p) * key.qi) % key.p;
  const s = m2 + key.q * h;
  if (modPow(s, key.e, key.n) !== m) {
    throw new Error("Cannot sign with RSA key: the CRT result is wrong.");
  }
  return toBytes(s, k);
}

/**
 * Verifies an RSA signature over a digest.
 *
 * @param key The public key.
 * @param digest The message digest.
 * @param signature The signature to check.
 * @param options The padding scheme and hash.
 * @returns Whether the signature is valid.
 *
 * @example
 * ```ts
 * import { rsaVerify } from "./rsa.ts";
 * import assert from "node:assert/strict";
 *
 * const key = { n: 3233n, e: 17n };
 * assert.equal(rsaVerify(key, new Uint8Array(32), new Uint8Array(2), { scheme: "PKCS1_V1_5", hash: "SHA-256" }), false);
 * ```
 */
export function rsaVerify(
  key: RsaPublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
  options: { scheme: RsaScheme; hash: HashName },
): boolean {
  const modBits = bitLength(key.n);
  const k = Math.ceil(modBits / 8);
  if (signature.length !== k) return false;
  const s = toBigInt(signature);
  if (s >= key.n) return false;
  const m = modPow(s, key.e, key.n);
  if (options.scheme === "PKCS1_V1_5") {
    const hLen = HASHES[options.hash](new Uint8Array()).length;
    if (digest.length !== hLen || k < hLen + 30) return false;
    return bytesEqual(toBytes(m, k), pkcs1Encode(options.hash, digest, k));
  }
  const emLen = Math.ceil((modBits - 1) / 8);
  if (m >= 1n << BigInt(emLen * 8)) return false;
  return pssCheck(options.hash, digest, toBytes(m, emLen), modBits - 1);
}

function jwkInteger(jwk: JsonWebKey, name: keyof JsonWebKey): bigint {
  const value = jwk[name];
  if (typeof value !== "string") {
    throw new TypeError(`Cannot read RSA JWK: member '${name}' is missing.`);
  }
  return toBigInt(
    Uint8Array.fromBase64(value, { alphabet: "base64url" }),
  );
}

/**
 * Reads an RSA private key with CRT parameters from a private JWK.
 *
 * @param jwk A private RSA JWK as WebCrypto exports it.
 * @returns The key as BigInts.
 * @throws {TypeError} When a member is missing.
 *
 * @example
 * ```ts
 * import { rsaKeyFromJwk } from "./rsa.ts";
 * import assert from "node:assert/strict";
 *
 * const pair = await crypto.subtle.generateKey(
 *   { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
 *   true, ["sign", "verify"]);
 * const key = rsaKeyFromJwk(await crypto.subtle.exportKey("jwk", pair.privateKey));
 * assert.equal(key.p * key.q, key.n);
 * ```
 */
export function rsaKeyFromJwk(jwk: JsonWebKey): RsaPrivateKey {
  return {
    n: jwkInteger(jwk, "n"),
    e: jwkInteger(jwk, "e"),
    d: jwkInteger(jwk, "d"),
    p: jwkInteger(jwk, "p"),
    q: jwkInteger(jwk, "q"),
    dp: jwkInteger(jwk, "dp"),
    dq: jwkInteger(jwk, "dq"),
    qi: jwkInteger(jwk, "qi"),
  };
}
