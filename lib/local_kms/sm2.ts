/**
 * SM2 of GB/T 32918 for the local KMS endpoint: the curve, the SM3 hash
 * (GB/T 32905), the `Z_A` user hash, and SM2DSA over a given digest.
 *
 * NOTE: this serves a local test endpoint; it is not constant time.
 *
 * @module
 */

import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import {
  concatBytes,
  encodeInteger,
  encodeSequence,
  readChildren,
  readDer,
  readUnsignedInteger,
  Tag,
} from "../der.ts";

// The SM2 curve of GB/T 32918.5 (the sm2p256v1 parameters).
const CURVE = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
};
const Point = weierstrass(CURVE);

/**
 * The distinguishing ID that SM2DSA uses in `Z_A` for RAW messages: the
 * default of GB/T 35276, which AWS KMS documents for offline verification.
 */
export const SM2_DEFAULT_ID: Uint8Array = new TextEncoder().encode(
  "1234567812345678",
);

function rotl(x: number, n: number): number {
  n %= 32;
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

const IV = [
  0x7380166f,
  0x4914b2b9,
  0x172442d7,
  0xda8a0600,
  0xa96f30bc,
  0x163138aa,
  0xe38dee4d,
  0xb0fb0e4e,
];

/**
 * Hashes data with SM3 (GB/T 32905-2016).
 *
 * @param data The bytes to hash.
 * @returns The 32-byte digest.
 *
 * @example
 * ```ts
 * import { sm3 } from "./sm2.ts";
 * import { toHex } from "../der.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toHex(sm3(new TextEncoder().encode("abc"))),
 *   "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
 * ```
 */
export function sm3(data: Uint8Array): Uint8Array {
  const blocks = Math.ceil((data.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = data.length * 8;
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(padded.length - 4, bits >>> 0);

  const v = [...IV];
  const w = new Array<number>(68);
  const w1 = new Array<number>(64);
  for (let block = 0; block < blocks; block++) {
    for (let j = 0; j < 16; j++) w[j] = view.getUint32(block * 64 + 4 * j);
    for (let j = 16; j < 68; j++) {
      const x = w[j - 16]! ^ w[j - 9]! ^ rotl(w[j - 3]!, 15);
      w[j] =
        (x ^ rotl(x, 15) ^ rotl(x, 23) ^ rotl(w[j - 13]!, 7) ^ w[j - 6]!) >>>
        0;
    }
    for (let j = 0; j < 64; j++) w1[j] = (w[j]! ^ w[j + 4]!) >>> 0;

    let [a, b, c, d, e, f, g, h] = v as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    for (let j = 0; j < 64; j++) {
      const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
      const ss1 = rotl((rotl(a, 12) + e + rotl(t, j)) >>> 0, 7);
      const ss2 = ss1 ^ rotl(a, 12);
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = (ff + d + ss2 + w1[j]!) >>> 0;
      const tt2 = (gg + h + ss1 + w[j]!) >>> 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = (tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17)) >>> 0;
    }
    [a, b, c, d, e, f, g, h].forEach((word, i) => {
      v[i] = (v[i]! ^ word) >>> 0;
    });
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  v.forEach((word, i) => outView.setUint32(4 * i, word));
  return out;
}

function bytes32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function mod(value: bigint): bigint {
  const r = value % CURVE.n;
  return r < 0n ? r + CURVE.n : r;
}

/**
 * Computes the uncompressed public point of an SM2 private scalar.
 *
 * @param d The private scalar, 32 bytes big-endian, in [1, n-2].
 * @returns `04 || x || y`.
 *
 * @example
 * ```ts
 * import { sm2PublicPoint } from "./sm2.ts";
 * import assert from "node:assert/strict";
 *
 * const d = new Uint8Array(32);
 * d[31] = 1;
 * assert.equal(sm2PublicPoint(d).length, 65);
 * ```
 */
export function sm2PublicPoint(d: Uint8Array): Uint8Array {
  return Point.BASE.multiply(toBigInt(d)).toBytes(false);
}

/**
 * Generates an SM2 private scalar in [1, n-2], as SM2DSA requires.
 *
 * @returns The scalar, 32 bytes big-endian.
 *
 * @example
 * ```ts
 * import { randomSm2Scalar } from "./sm2.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(randomSm2Scalar().length, 32);
 * ```
 */
export function randomSm2Scalar(): Uint8Array {
  // 48 random bytes keep the bias of the reduction negligible.
  const value = toBigInt(crypto.getRandomValues(new Uint8Array(48)));
  return bytes32(value % (CURVE.n - 2n) + 1n);
}

/**
 * Computes the user hash `Z_A = SM3(ENTL || ID || a || b || xG || yG ||
 * xA || yA)` of GB/T 32918.2 section 5.5.
 *
 * @param point The signer's uncompressed public point.
 * @param id The distinguishing ID.
 * @returns The 32-byte `Z_A`.
 *
 * @example
 * ```ts
 * import { randomSm2Scalar, SM2_DEFAULT_ID, sm2PublicPoint, sm2UserHash } from "./sm2.ts";
 * import assert from "node:assert/strict";
 *
 * const point = sm2PublicPoint(randomSm2Scalar());
 * assert.equal(sm2UserHash(point, SM2_DEFAULT_ID).length, 32);
 * ```
 */
export function sm2UserHash(point: Uint8Array, id: Uint8Array): Uint8Array {
  const bits = id.length * 8;
  return sm3(concatBytes(
    Uint8Array.of(bits >> 8, bits & 0xff),
    id,
    bytes32(CURVE.a),
    bytes32(CURVE.b),
    bytes32(CURVE.Gx),
    bytes32(CURVE.Gy),
    point.subarray(1, 33),
    point.subarray(33, 65),
  ));
}

/**
 * Signs a digest `e = SM3(Z_A || M)` with SM2DSA (GB/T 32918.2 section 6).
 *
 * ```asn1
 * SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER }
 * ```
 *
 * @param d The private scalar.
 * @param digest The 32-byte digest `e`.
 * @returns The DER signature.
 *
 * @example
 * ```ts
 * import { randomSm2Scalar, sm2PublicPoint, sm2Sign, sm2Verify } from "./sm2.ts";
 * import assert from "node:assert/strict";
 *
 * const d = randomSm2Scalar();
 * const e = new Uint8Array(32).fill(9);
 * assert.ok(sm2Verify(sm2PublicPoint(d), e, sm2Sign(d, e)));
 * ```
 */
export function sm2Sign(d: Uint8Array, digest: Uint8Array): Uint8Array {
  const e = toBigInt(digest);
  const key = toBigInt(d);
  const inverse = Point.Fn.inv(mod(1n + key));
  for (;;) {
    const k = toBigInt(crypto.getRandomValues(new Uint8Array(48))) %
        (CURVE.n - 1n) + 1n;
    const x1 = Point.BASE.multiply(k).toAffine().x;
    const r = mod(e + x1);
    if (r === 0n || r + k === CURVE.n) continue;
    const s = mod(inverse * (k - r * key));
    if (s === 0n) continue;
    return encodeSequence(encodeInteger(r), encodeInteger(s));
  }
}

/**
 * Verifies an SM2DSA signature over a digest `e`.
 *
 * @param point The signer's uncompressed public point.
 * @param digest The 32-byte digest `e`.
 * @param signature The DER signature.
 * @returns Whether the signature is valid; malformed ones are not.
 *
 * @example
 * ```ts
 * import { randomSm2Scalar, sm2PublicPoint, sm2Verify } from "./sm2.ts";
 * import assert from "node:assert/strict";
 *
 * const point = sm2PublicPoint(randomSm2Scalar());
 * assert.equal(sm2Verify(point, new Uint8Array(32), Uint8Array.of(0x30, 0)), false);
 * ```
 */
export function sm2Verify(
  point: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const parts = readChildren(readDer(signature, Tag.SEQUENCE));
    if (parts.length !== 2) return false;
    const [r, s] = parts.map((tlv) => toBigInt(readUnsignedInteger(tlv))) as [
      bigint,
      bigint,
    ];
    if (r < 1n || r >= CURVE.n || s < 1n || s >= CURVE.n) return false;
    const t = mod(r + s);
    if (t === 0n) return false;
    const sum = Point.BASE.multiply(s).add(Point.fromBytes(point).multiply(t));
    return mod(toBigInt(digest) + sum.toAffine().x) === r;
  } catch {
    return false;
  }
}
