/**
 * Conversion between the DER ECDSA signature that KMS `Sign` returns and
 * the fixed-length `r || s` form that JWS uses (RFC 7518 section 3.4).
 *
 * ```asn1
 * Ecdsa-Sig-Value ::= SEQUENCE {
 *   r  INTEGER,
 *   s  INTEGER }
 * ```
 *
 * @module
 */

import {
  encodeInteger,
  encodeSequence,
  readChildren,
  readDer,
  readUnsignedInteger,
  Tag,
  toHex,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";

const COORDINATE_SIZES = [32, 48, 66] as const;

const COORDINATE_SIZE_BY_ALGORITHM: Record<string, number> = {
  ES256: 32,
  ES256K: 32,
  ES384: 48,
  ES512: 66,
};

function preview(bytes: Uint8Array): string {
  const hex = toHex(bytes.subarray(0, 32));
  return bytes.length > 32 ? `${hex}...` : hex;
}

function invalidDer(
  der: Uint8Array,
  reason: string,
  cause?: unknown,
): KmsToolkitError {
  return new KmsToolkitError(
    "INVALID_INPUT",
    `Cannot convert ECDSA signature '${preview(der)}' (${der.length} ` +
      `bytes): ${reason}. Pass the DER Ecdsa-Sig-Value exactly as KMS Sign ` +
      "returns it.",
    cause === undefined ? undefined : { cause },
  );
}

/** Runs a `der.ts` read, turning its error into one about this signature. */
function readDerStep<T>(der: Uint8Array, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    const detail = error.message.replace(/^Cannot parse DER: /, "")
      .replace(/\.$/, "");
    throw invalidDer(der, `invalid DER (${detail})`, error);
  }
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/**
 * Converts a DER `Ecdsa-Sig-Value` to the JWS form: `r` and `s`, each
 * left-padded to `size` bytes.
 *
 * The DER must be exactly `SEQUENCE { INTEGER r, INTEGER s }` with minimal
 * positive INTEGERs, no trailing bytes, and `r` and `s` between 1 and
 * 2^(8 * size) - 1. Whether they are also below the curve order is left to
 * the verifier.
 *
 * @param der The signature as KMS `Sign` returns it for `ECDSA_SHA_*`.
 * @param size The coordinate size in bytes: 32 (P-256, secp256k1), 48
 * (P-384) or 66 (P-521); see {@linkcode coordinateSize}.
 * @returns The `r || s` signature of 64, 96 or 132 bytes.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not such a
 * DER signature or a value does not fit in `size` bytes.
 * @throws {RangeError} When `size` is not 32, 48 or 66.
 *
 * @example
 * ```ts
 * import { derToJoseSignature } from "./ecdsa_signature.ts";
 * import { fromHex, toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * // r = 0x80 needs a sign byte in DER, s = 1 is one byte.
 * const der = fromHex("3007020200800201" + "01");
 * const raw = derToJoseSignature(der, 32);
 * assert.equal(raw.length, 64);
 * assert.equal(toHex(raw.subarray(30, 32)), "0080");
 * assert.equal(raw[63], 1);
 * ```
 */
export function derToJoseSignature(der: Uint8Array, size: number): Uint8Array {
  if (!(COORDINATE_SIZES as readonly number[]).includes(size)) {
    throw new RangeError(
      `Cannot convert ECDSA signature with coordinate size ${size}: ` +
        "expected 32, 48 or 66.",
    );
  }

  const elements = readDerStep(
    der,
    () => readChildren(readDer(der, Tag.SEQUENCE)),
  );
  if (
    elements.length !== 2 ||
    elements.some((element) => element.tag !== Tag.INTEGER)
  ) {
    throw invalidDer(
      der,
      "expected SEQUENCE { INTEGER r, INTEGER s }, found elements with " +
        `tags [${
          elements.map((element) => toHex(Uint8Array.of(element.tag)))
        }]`,
    );
  }
  const values = readDerStep(der, () => elements.map(readUnsignedInteger));

  const out = new Uint8Array(2 * size);
  values.forEach((value, index) => {
    const name = index === 0 ? "r" : "s";
    if (isZero(value)) throw invalidDer(der, `${name} is zero`);
    if (value.length > size) {
      throw invalidDer(
        der,
        `${name} is ${value.length} bytes, more than the ${size} bytes of ` +
          "the curve",
      );
    }
    out.set(value, (index + 1) * size - value.length);
  });
  return out;
}

/**
 * Converts a JWS `r || s` ECDSA signature to a DER `Ecdsa-Sig-Value` with
 * minimal INTEGERs.
 *
 * @param raw The signature: 64 (P-256, secp256k1), 96 (P-384) or 132
 * (P-521) bytes.
 * @returns The DER signature.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the length is not 64, 96
 * or 132 bytes, or `r` or `s` is zero.
 *
 * @example
 * ```ts
 * import { derToJoseSignature, joseToDerSignature } from "./ecdsa_signature.ts";
 * import { fromHex, toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const der = fromHex("3007020200800201" + "01");
 * assert.equal(toHex(joseToDerSignature(derToJoseSignature(der, 48))), toHex(der));
 * ```
 */
export function joseToDerSignature(raw: Uint8Array): Uint8Array {
  const size = raw.length / 2;
  if (!(COORDINATE_SIZES as readonly number[]).includes(size)) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot convert ECDSA signature '${preview(raw)}' of ${raw.length} ` +
        "bytes: a JWS ECDSA signature is 64 (ES256, ES256K), 96 (ES384) or " +
        "132 (ES512) bytes. Pass the whole base64url-decoded signature.",
    );
  }

  const r = raw.subarray(0, size);
  const s = raw.subarray(size);
  for (const [name, value] of [["r", r], ["s", s]] as const) {
    if (isZero(value)) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot convert ECDSA signature '${preview(raw)}': ${name} is zero. ` +
          "Pass a signature made by an ECDSA signer.",
      );
    }
  }
  return encodeSequence(encodeInteger(r), encodeInteger(s));
}

/**
 * Returns the ECDSA coordinate size in bytes of a JWS `alg`.
 *
 * @param alg The JWS algorithm: `ES256`, `ES256K`, `ES384` or `ES512`.
 * @returns 32, 32, 48 or 66.
 * @throws {RangeError} For any other `alg`, because callers choose it from
 * the key spec and only ECDSA algorithms have a coordinate size.
 *
 * @example
 * ```ts
 * import { coordinateSize } from "./ecdsa_signature.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(coordinateSize("ES512"), 66);
 * ```
 */
export function coordinateSize(alg: string): number {
  const size = COORDINATE_SIZE_BY_ALGORITHM[alg];
  if (!Object.hasOwn(COORDINATE_SIZE_BY_ALGORITHM, alg) || size === undefined) {
    throw new RangeError(
      `Cannot find the ECDSA coordinate size of alg '${alg}': expected ` +
        "ES256, ES256K, ES384 or ES512.",
    );
  }
  return size;
}
