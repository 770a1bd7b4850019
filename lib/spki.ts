/**
 * A strict parser of DER `SubjectPublicKeyInfo` (RFC 5280 section 4.1),
 * the form in which KMS `GetPublicKey` returns a public key.
 *
 * ```asn1
 * SubjectPublicKeyInfo ::= SEQUENCE {
 *   algorithm         AlgorithmIdentifier,
 *   subjectPublicKey  BIT STRING }
 * AlgorithmIdentifier ::= SEQUENCE {
 *   algorithm   OBJECT IDENTIFIER,
 *   parameters  ANY DEFINED BY algorithm OPTIONAL }
 * ```
 *
 * @module
 */

import { edwards } from "@noble/curves/abstract/edwards.js";
import {
  weierstrass,
  type WeierstrassOpts,
} from "@noble/curves/abstract/weierstrass.js";
import type { KeyType } from "./algorithms.ts";
import {
  decodeOid,
  readChildren,
  readDer,
  readUnsignedInteger,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import { CurveOid, KeyAlgorithmOid } from "./oids.ts";

/** A parsed `SubjectPublicKeyInfo`. Every byte array in it is a copy. */
export interface ParsedSpki {
  /** The whole SPKI DER. */
  encoded: Uint8Array;
  /** The `AlgorithmIdentifier` OID, such as `1.2.840.10045.2.1`. */
  algorithmOid: string;
  /** The named curve OID of an EC key, or `null` for other keys. */
  parametersOid: string | null;
  /** The key family, named by its JWK `kty`. */
  keyType: KeyType;
  /** The curve or ML-DSA parameter set, or `null` for RSA. */
  curve:
    | "P-256"
    | "P-384"
    | "P-521"
    | "secp256k1"
    | "SM2"
    | "Ed25519"
    | "ML-DSA-44"
    | "ML-DSA-65"
    | "ML-DSA-87"
    | null;
  /** The `subjectPublicKey` BIT STRING contents without the unused-bits byte. */
  publicKey: Uint8Array;
  /** The RSA modulus and exponent as unsigned magnitudes without sign bytes. */
  rsa?: { modulus: Uint8Array; publicExponent: Uint8Array; bits: number };
  /** The EC point's affine coordinates, each left-padded to the field size. */
  ec?: { x: Uint8Array; y: Uint8Array };
}

type WeierstrassCurve = "P-256" | "P-384" | "P-521" | "secp256k1" | "SM2";
type RawKeyCurve = "Ed25519" | "ML-DSA-44" | "ML-DSA-65" | "ML-DSA-87";

// Points are decoded with curves built from their parameters on first use.
// The prebuilt curves of @noble/curves also set up signing and hashing when
// their modules load, and every command loads this module for one key.

// SEC 2 version 2.0, sections 2.4.1 (secp256k1), 2.4.2 (secp256r1),
// 2.5.1 (secp384r1) and 2.6.1 (secp521r1).
const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P384_P = 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n;
const P521_P = 2n ** 521n - 1n;
// SM2 curve parameters (GB/T 32918.5-2017), as OpenSSL 3.0 prints them for
// `openssl ecparam -name SM2 -param_enc explicit -text`.
const SM2_P =
  0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;

const WEIERSTRASS_PARAMETERS: Record<
  WeierstrassCurve,
  WeierstrassOpts<bigint>
> = {
  "P-256": {
    p: P256_P,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    h: 1n,
    a: P256_P - 3n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    Gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    Gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  "P-384": {
    p: P384_P,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    h: 1n,
    a: P384_P - 3n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    Gx:
      0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    Gy:
      0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
  "P-521": {
    p: P521_P,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    h: 1n,
    a: P521_P - 3n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    Gx:
      0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
    Gy:
      0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
  },
  "secp256k1": {
    p: 2n ** 256n - 2n ** 32n - 977n,
    n: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
    h: 1n,
    a: 0n,
    b: 7n,
    Gx: 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n,
    Gy: 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n,
  },
  "SM2": {
    p: SM2_P,
    n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
    h: 1n,
    a: SM2_P - 3n,
    b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
    Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
    Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
  },
};

// Edwards25519 (RFC 7748 section 4.1 and RFC 8032 section 5.1): a = -1,
// d = -121665/121666.
const ED25519_P = 2n ** 255n - 19n;
const ED25519_PARAMETERS = {
  p: ED25519_P,
  n: 2n ** 252n + 27742317777372353535851937790883648493n,
  h: 8n,
  a: ED25519_P - 1n,
  d: 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3n,
  Gx: 0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51an,
  Gy: 0x6666666666666666666666666666666666666666666666666666666666666658n,
};

type PointDecoder = {
  fromBytes(bytes: Uint8Array): { toBytes(compressed: boolean): Uint8Array };
};
const pointDecoders = new Map<string, PointDecoder>();

/** Returns the point class of a curve, building it on first use. */
function pointDecoder(curve: WeierstrassCurve | "Ed25519"): PointDecoder {
  let decoder = pointDecoders.get(curve);
  if (!decoder) {
    decoder = curve === "Ed25519"
      ? edwards(ED25519_PARAMETERS)
      : weierstrass(WEIERSTRASS_PARAMETERS[curve]);
    pointDecoders.set(curve, decoder);
  }
  return decoder;
}

/**
 * Checks an uncompressed point without building the curve: both
 * coordinates below p and y^2 = x^3 + ax + b (mod p). Every affine point
 * passes, and with cofactor 1 on all five curves each one is in the
 * prime-order group, which is what noble's point decoding also checks.
 */
function isOnCurve(
  curve: WeierstrassCurve,
  xBytes: Uint8Array,
  yBytes: Uint8Array,
): boolean {
  const { p, a, b } = WEIERSTRASS_PARAMETERS[curve];
  const x = BigInt(`0x${toHex(xBytes)}`);
  const y = BigInt(`0x${toHex(yBytes)}`);
  if (x >= p || y >= p) return false;
  return (y * y - (x * x * x + a * x + b)) % p === 0n;
}

interface CurveInfo {
  curve: WeierstrassCurve;
  size: number;
}

const CURVES: Record<string, CurveInfo> = {
  [CurveOid.secp256r1]: { curve: "P-256", size: 32 },
  [CurveOid.secp384r1]: { curve: "P-384", size: 48 },
  [CurveOid.secp521r1]: { curve: "P-521", size: 66 },
  [CurveOid.secp256k1]: { curve: "secp256k1", size: 32 },
  [KeyAlgorithmOid.sm2]: { curve: "SM2", size: 32 },
};

// Keys whose subjectPublicKey is the raw public key: Ed25519 (RFC 8410)
// and ML-DSA, with the public key lengths of FIPS 204 table 2.
const RAW_KEYS: Record<
  string,
  { keyType: "OKP" | "AKP"; curve: RawKeyCurve; length: number }
> = {
  [KeyAlgorithmOid.idEd25519]: { keyType: "OKP", curve: "Ed25519", length: 32 },
  [KeyAlgorithmOid.idMlDsa44]: {
    keyType: "AKP",
    curve: "ML-DSA-44",
    length: 1312,
  },
  [KeyAlgorithmOid.idMlDsa65]: {
    keyType: "AKP",
    curve: "ML-DSA-65",
    length: 1952,
  },
  [KeyAlgorithmOid.idMlDsa87]: {
    keyType: "AKP",
    curve: "ML-DSA-87",
    length: 2592,
  },
};

function preview(der: Uint8Array): string {
  const hex = toHex(der.subarray(0, 16));
  return der.length > 16 ? `${hex}...` : hex;
}

/** Builds the error for one SPKI, so that every message names the input. */
class SpkiErrors {
  constructor(private readonly der: Uint8Array) {}

  invalid(reason: string, cause?: unknown): KmsToolkitError {
    return new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot parse SubjectPublicKeyInfo '${preview(this.der)}' ` +
        `(${this.der.length} bytes): ${reason}. Pass the DER public key ` +
        "exactly as KMS GetPublicKey returns it.",
      cause === undefined ? undefined : { cause },
    );
  }

  unsupported(reason: string): KmsToolkitError {
    return new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot use SubjectPublicKeyInfo '${preview(this.der)}': ${reason}. ` +
        "Use an RSA, ECC (NIST or secp256k1), Ed25519 or ML-DSA key.",
    );
  }

  /** Runs a `der.ts` read, turning its error into one about this SPKI. */
  read<T>(what: string, step: () => T): T {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof KmsToolkitError)) throw error;
      const detail = error.message.replace(/^Cannot parse DER: /, "")
        .replace(/\.$/, "");
      throw this.invalid(`invalid ${what} DER (${detail})`, error);
    }
  }
}

function bitLength(magnitude: Uint8Array): number {
  const first = magnitude[0] ?? 0;
  if (first === 0) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(first));
}

function compareMagnitudes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff;
  }
  return 0;
}

function parseRsa(
  errors: SpkiErrors,
  parameters: Tlv | undefined,
  publicKey: Uint8Array,
): ParsedSpki["rsa"] {
  // RFC 3279 section 2.3.1: the parameters SHALL be NULL.
  if (
    parameters === undefined || parameters.tag !== Tag.NULL ||
    parameters.contents.length !== 0
  ) {
    throw errors.invalid("rsaEncryption parameters must be NULL");
  }

  // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
  const integers = errors.read("RSAPublicKey", () => {
    const sequence = readDer(publicKey, Tag.SEQUENCE);
    return readChildren(sequence);
  });
  if (
    integers.length !== 2 ||
    integers.some((integer) => integer.tag !== Tag.INTEGER)
  ) {
    throw errors.invalid(
      `RSAPublicKey has ${integers.length} elements, expected two INTEGERs`,
    );
  }
  const [modulus, publicExponent] = errors.read(
    "RSAPublicKey",
    () => integers.map(readUnsignedInteger),
  ) as [Uint8Array, Uint8Array];

  if (bitLength(modulus) === 0 || (modulus.at(-1)! & 1) === 0) {
    throw errors.invalid(`RSA modulus '${toHex(modulus)}' is not odd`);
  }
  const exponentHex = toHex(publicExponent);
  if ((publicExponent.at(-1)! & 1) === 0 || bitLength(publicExponent) < 2) {
    throw errors.invalid(
      `RSA public exponent '${exponentHex}' is not an odd number of at least 3`,
    );
  }
  if (compareMagnitudes(publicExponent, modulus) >= 0) {
    throw errors.invalid(
      `RSA public exponent '${exponentHex}' is not smaller than the modulus`,
    );
  }
  return {
    modulus: modulus.slice(),
    publicExponent: publicExponent.slice(),
    bits: bitLength(modulus),
  };
}

function parseEcPoint(
  errors: SpkiErrors,
  info: CurveInfo,
  publicKey: Uint8Array,
): NonNullable<ParsedSpki["ec"]> {
  const { curve, size } = info;
  const prefix = publicKey[0];
  const uncompressed = prefix === 0x04 && publicKey.length === 1 + 2 * size;
  // RFC 5480 makes only the uncompressed form mandatory, so some SPKI
  // sources send compressed points (SEC 1 section 2.3.3). Those are
  // decompressed here.
  const compressed = (prefix === 0x02 || prefix === 0x03) &&
    publicKey.length === 1 + size;
  if (!uncompressed && !compressed) {
    throw errors.invalid(
      `${curve} point of ${publicKey.length} bytes starting with ` +
        `'${toHex(publicKey.subarray(0, 1))}' is neither uncompressed ` +
        `(04, ${1 + 2 * size} bytes) nor compressed (02 or 03, ${1 + size} ` +
        "bytes)",
    );
  }

  if (uncompressed) {
    const x = publicKey.subarray(1, 1 + size);
    const y = publicKey.subarray(1 + size);
    if (!isOnCurve(curve, x, y)) {
      throw errors.invalid(`${curve} point is not on the curve`);
    }
    return { x: x.slice(), y: y.slice() };
  }

  let point: Uint8Array;
  try {
    point = pointDecoder(curve).fromBytes(publicKey).toBytes(false);
  } catch (error) {
    throw errors.invalid(`${curve} point is not on the curve`, error);
  }
  return {
    x: point.slice(1, 1 + size),
    y: point.slice(1 + size, 1 + 2 * size),
  };
}

/**
 * Parses a DER `SubjectPublicKeyInfo` and validates the key in it.
 *
 * Accepted keys: `rsaEncryption` with NULL parameters (RFC 3279);
 * `id-ecPublicKey` with a named curve P-256, P-384, P-521, secp256k1 or
 * SM2 and a point on that curve (RFC 5480); Ed25519 (RFC 8410); ML-DSA-44,
 * ML-DSA-65 and ML-DSA-87 (RFC 9881). A compressed EC point is accepted and
 * decompressed, so `ec` always has both coordinates.
 *
 * ML-DSA keys are checked by length only, because every bit pattern of
 * that length decodes (FIPS 204 pkDecode).
 *
 * @param der The DER SPKI, as KMS `GetPublicKey` returns it.
 * @returns The parsed key with copies of its parts.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not a
 * well-formed SPKI or the key in it is invalid, such as a wrong length, a
 * point off the curve, unused bits or trailing bytes.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` for a well-formed SPKI of an
 * algorithm or curve that this toolkit does not support.
 * @throws {TypeError} When `der` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { parseSpki } from "./spki.ts";
 * import assert from "node:assert/strict";
 *
 * const { publicKey } = await crypto.subtle.generateKey(
 *   { name: "ECDSA", namedCurve: "P-384" },
 *   true,
 *   ["sign", "verify"],
 * );
 * const der = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
 * const parsed = parseSpki(der);
 * assert.equal(parsed.keyType, "EC");
 * assert.equal(parsed.curve, "P-384");
 * assert.equal(parsed.ec?.x.length, 48);
 * ```
 */
export function parseSpki(der: Uint8Array): ParsedSpki {
  if (!(der instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot parse SubjectPublicKeyInfo of type '${typeof der}': expected ` +
        "a Uint8Array.",
    );
  }
  const encoded = der.slice();
  const errors = new SpkiErrors(encoded);

  const [algorithm, subjectPublicKey, ...extra] = errors.read(
    "SubjectPublicKeyInfo",
    () => readChildren(readDer(encoded, Tag.SEQUENCE)),
  );
  if (
    algorithm?.tag !== Tag.SEQUENCE ||
    subjectPublicKey?.tag !== Tag.BIT_STRING || extra.length > 0
  ) {
    throw errors.invalid(
      "expected SEQUENCE { AlgorithmIdentifier, BIT STRING }",
    );
  }

  const [oidTlv, parameters, ...extraParameters] = errors.read(
    "AlgorithmIdentifier",
    () => readChildren(algorithm),
  );
  if (oidTlv?.tag !== Tag.OBJECT_IDENTIFIER || extraParameters.length > 0) {
    throw errors.invalid(
      "expected AlgorithmIdentifier SEQUENCE { OBJECT IDENTIFIER, parameters }",
    );
  }
  const algorithmOid = errors.read(
    "algorithm OID",
    () => decodeOid(oidTlv.contents),
  );

  const bits = subjectPublicKey.contents;
  if (bits.length === 0) throw errors.invalid("empty BIT STRING");
  if (bits[0] !== 0) {
    throw errors.invalid(
      `BIT STRING has ${bits[0]} unused bits, expected 0`,
    );
  }
  const publicKey = bits.slice(1);
  const base = { encoded, algorithmOid, publicKey };

  if (algorithmOid === KeyAlgorithmOid.rsaEncryption) {
    const rsa = parseRsa(errors, parameters, publicKey);
    return {
      ...base,
      parametersOid: null,
      keyType: "RSA",
      curve: null,
      rsa,
    };
  }

  if (algorithmOid === KeyAlgorithmOid.idEcPublicKey) {
    // RFC 5480 section 2.1.1: only namedCurve; implicitCurve and
    // specifiedCurve MUST NOT be used.
    if (parameters?.tag !== Tag.OBJECT_IDENTIFIER) {
      throw errors.invalid(
        "id-ecPublicKey parameters must be a named curve OID",
      );
    }
    const curveOid = errors.read(
      "curve OID",
      () => decodeOid(parameters.contents),
    );
    const info = CURVES[curveOid];
    if (info === undefined) {
      throw errors.unsupported(`EC curve OID '${curveOid}' is not supported`);
    }
    const ec = parseEcPoint(errors, info, publicKey);
    return {
      ...base,
      parametersOid: curveOid,
      keyType: "EC",
      curve: info.curve,
      ec,
    };
  }

  const raw = RAW_KEYS[algorithmOid];
  if (raw === undefined) {
    throw errors.unsupported(
      `algorithm OID '${algorithmOid}' is not supported`,
    );
  }
  // RFC 8410 and RFC 9881 require the parameters to be absent.
  if (parameters !== undefined) {
    throw errors.invalid(
      `${raw.curve} AlgorithmIdentifier must have no parameters`,
    );
  }
  if (publicKey.length !== raw.length) {
    throw errors.invalid(
      `${raw.curve} public key is ${publicKey.length} bytes, expected ` +
        `${raw.length}`,
    );
  }
  if (raw.curve === "Ed25519") {
    try {
      pointDecoder("Ed25519").fromBytes(publicKey);
    } catch (error) {
      throw errors.invalid("Ed25519 public key is not a valid point", error);
    }
  }
  return {
    ...base,
    parametersOid: null,
    keyType: raw.keyType,
    curve: raw.curve,
  };
}

const EC_KEY_SPECS: Record<WeierstrassCurve, string> = {
  "P-256": "ECC_NIST_P256",
  "P-384": "ECC_NIST_P384",
  "P-521": "ECC_NIST_P521",
  "secp256k1": "ECC_SECG_P256K1",
  "SM2": "SM2",
};

/**
 * Names the KMS `KeySpec` that a parsed SPKI corresponds to.
 *
 * SM2 keys map to `SM2`, which is a KMS key spec (AWS China Regions only),
 * so `keySpecEntry` and `chooseSigningAlgorithm` in `algorithms.ts` are
 * where an SM2 key is rejected.
 *
 * @param parsed A key from {@linkcode parseSpki}.
 * @returns The key spec, such as `RSA_2048`, `ECC_NIST_P256`,
 * `ECC_SECG_P256K1`, `ECC_NIST_EDWARDS25519` or `ML_DSA_65`.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` for an RSA modulus that is not
 * 2048, 3072 or 4096 bits, the only RSA sizes KMS creates.
 * @throws {TypeError} When `parsed` did not come from `parseSpki`.
 *
 * @example
 * ```ts
 * import { parseSpki, spkiKeySpec } from "./spki.ts";
 * import assert from "node:assert/strict";
 *
 * const { publicKey } = await crypto.subtle.generateKey(
 *   { name: "Ed25519" },
 *   true,
 *   ["sign", "verify"],
 * ) as CryptoKeyPair;
 * const der = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
 * assert.equal(spkiKeySpec(parseSpki(der)), "ECC_NIST_EDWARDS25519");
 * ```
 */
export function spkiKeySpec(parsed: ParsedSpki): string {
  switch (parsed.keyType) {
    case "RSA": {
      const bits = parsed.rsa?.bits;
      if (bits === 2048 || bits === 3072 || bits === 4096) return `RSA_${bits}`;
      throw new KmsToolkitError(
        "UNSUPPORTED_KEY",
        `Cannot use RSA key of '${bits}' bits: KMS keys have 2048, 3072 or ` +
          "4096 bits. Use an RSA_2048, RSA_3072 or RSA_4096 key.",
      );
    }
    case "EC": {
      const keySpec = EC_KEY_SPECS[parsed.curve as WeierstrassCurve];
      if (keySpec !== undefined) return keySpec;
      break;
    }
    case "OKP":
      if (parsed.curve === "Ed25519") return "ECC_NIST_EDWARDS25519";
      break;
    case "AKP":
      if (parsed.curve?.startsWith("ML-DSA-")) {
        return parsed.curve.replaceAll("-", "_");
      }
      break;
  }
  throw new TypeError(
    `Cannot name the key spec of a ${parsed.keyType} key with curve ` +
      `'${parsed.curve}': not a result of parseSpki`,
  );
}
