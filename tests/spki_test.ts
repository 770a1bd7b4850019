import assert from "node:assert/strict";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import {
  encodeBitString,
  encodeInteger,
  encodeNull,
  encodeOid,
  encodeSequence,
  encodeTlv,
  fromHex,
  toHex,
} from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { CurveOid, KeyAlgorithmOid } from "../lib/oids.ts";
import { parseSpki, spkiKeySpec } from "../lib/spki.ts";

function fromBase64Url(text: string): Uint8Array {
  return Uint8Array.fromBase64(text, { alphabet: "base64url" });
}

async function exportSpki(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", key));
}

async function generatePublicKey(
  algorithm: AlgorithmIdentifier | RsaHashedKeyGenParams | EcKeyGenParams,
): Promise<{ spki: Uint8Array; jwk: JsonWebKey }> {
  const pair = await crypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return {
    spki: await exportSpki(pair.publicKey),
    jwk: await crypto.subtle.exportKey("jwk", pair.publicKey),
  };
}

/** Runs the OpenSSL CLI and returns its standard output. */
async function openssl(
  args: string[],
  input?: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input) {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  }
  const output = await child.output();
  if (!output.success) {
    throw new Error(
      `openssl ${args.join(" ")} failed: ${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return output.stdout;
}

/** Generates an EC key with OpenSSL and returns its SPKI and point. */
async function opensslEcKey(
  curve: string,
): Promise<{ spki: Uint8Array; point: Uint8Array }> {
  const pem = await openssl([
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    `ec_paramgen_curve:${curve}`,
  ]);
  const spki = await openssl(["pkey", "-pubout", "-outform", "DER"], pem);
  const text = new TextDecoder().decode(
    await openssl(["pkey", "-pubout", "-text", "-noout"], pem),
  );
  const hex = text.split("pub:")[1]!.split(/ASN1 OID|NIST CURVE/)[0]!
    .replace(/[^0-9a-f]/g, "");
  return { spki, point: fromHex(hex) };
}

async function compressWithOpenssl(spki: Uint8Array): Promise<Uint8Array> {
  return await openssl([
    "ec",
    "-pubin",
    "-inform",
    "DER",
    "-conv_form",
    "compressed",
    "-outform",
    "DER",
  ], spki);
}

function spkiOf(
  algorithm: Uint8Array[],
  publicKey: Uint8Array,
  unusedBits = 0,
): Uint8Array {
  return encodeSequence(
    encodeSequence(...algorithm),
    encodeBitString(publicKey, unusedBits),
  );
}

function assertRejects(
  der: Uint8Array,
  code: string,
  substring: string,
): void {
  assert.throws(() => parseSpki(der), (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, String(error));
    assert.equal(error.code, code);
    assert.ok(
      error.message.includes(substring),
      `'${error.message}' lacks '${substring}'`,
    );
    return true;
  });
}

Deno.test("parseSpki WebCrypto RSA keys", async () => {
  for (const bits of [2048, 3072, 4096]) {
    const { spki, jwk } = await generatePublicKey({
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-256",
    });
    const parsed = parseSpki(spki);

    assert.equal(parsed.keyType, "RSA");
    assert.equal(parsed.algorithmOid, "1.2.840.113549.1.1.1");
    assert.equal(parsed.parametersOid, null);
    assert.equal(parsed.curve, null);
    assert.equal(parsed.ec, undefined);
    assert.equal(parsed.rsa?.bits, bits);
    assert.equal(parsed.rsa?.modulus.length, bits / 8);
    assert.deepEqual(parsed.rsa?.modulus, fromBase64Url(jwk.n!));
    assert.deepEqual(parsed.rsa?.publicExponent, fromBase64Url(jwk.e!));
    assert.deepEqual(parsed.encoded, spki);
    assert.equal(spkiKeySpec(parsed), `RSA_${bits}`);
  }
});

Deno.test("parseSpki WebCrypto EC keys", async () => {
  const cases = [
    {
      curve: "P-256",
      oid: CurveOid.secp256r1,
      size: 32,
      spec: "ECC_NIST_P256",
    },
    {
      curve: "P-384",
      oid: CurveOid.secp384r1,
      size: 48,
      spec: "ECC_NIST_P384",
    },
    {
      curve: "P-521",
      oid: CurveOid.secp521r1,
      size: 66,
      spec: "ECC_NIST_P521",
    },
  ];
  for (const { curve, oid, size, spec } of cases) {
    const { spki, jwk } = await generatePublicKey({
      name: "ECDSA",
      namedCurve: curve,
    });
    const parsed = parseSpki(spki);

    assert.equal(parsed.keyType, "EC");
    assert.equal(parsed.algorithmOid, "1.2.840.10045.2.1");
    assert.equal(parsed.parametersOid, oid);
    assert.equal(parsed.curve, curve);
    assert.equal(parsed.ec?.x.length, size);
    assert.equal(parsed.ec?.y.length, size);
    assert.deepEqual(parsed.ec?.x, fromBase64Url(jwk.x!));
    assert.deepEqual(parsed.ec?.y, fromBase64Url(jwk.y!));
    assert.equal(parsed.publicKey.length, 1 + 2 * size);
    assert.equal(spkiKeySpec(parsed), spec);
  }
});

Deno.test("parseSpki WebCrypto Ed25519 key", async () => {
  const { spki, jwk } = await generatePublicKey({ name: "Ed25519" });
  const parsed = parseSpki(spki);

  assert.equal(parsed.keyType, "OKP");
  assert.equal(parsed.algorithmOid, "1.3.101.112");
  assert.equal(parsed.curve, "Ed25519");
  assert.deepEqual(parsed.publicKey, fromBase64Url(jwk.x!));
  assert.equal(spkiKeySpec(parsed), "ECC_NIST_EDWARDS25519");
});

Deno.test("parseSpki WebCrypto ML-DSA keys", async () => {
  const cases = [
    { name: "ML-DSA-44", oid: "2.16.840.1.101.3.4.3.17", length: 1312 },
    { name: "ML-DSA-65", oid: "2.16.840.1.101.3.4.3.18", length: 1952 },
    { name: "ML-DSA-87", oid: "2.16.840.1.101.3.4.3.19", length: 2592 },
  ];
  for (const { name, oid, length } of cases) {
    const { spki, jwk } = await generatePublicKey({ name });
    const parsed = parseSpki(spki);

    assert.equal(parsed.keyType, "AKP");
    assert.equal(parsed.algorithmOid, oid);
    assert.equal(parsed.curve, name);
    assert.equal(parsed.publicKey.length, length);
    assert.deepEqual(
      parsed.publicKey,
      fromBase64Url((jwk as { pub: string }).pub),
    );
    assert.equal(spkiKeySpec(parsed), name.replaceAll("-", "_"));
  }
});

Deno.test("parseSpki OpenSSL secp256k1 and SM2", async () => {
  const cases = [
    { curve: "secp256k1", oid: "1.3.132.0.10", spec: "ECC_SECG_P256K1" },
    { curve: "SM2", oid: "1.2.156.10197.1.301", spec: "SM2" },
  ];
  for (const { curve, oid, spec } of cases) {
    const { spki, point } = await opensslEcKey(curve);
    const parsed = parseSpki(spki);

    assert.equal(parsed.keyType, "EC");
    assert.equal(parsed.curve, curve);
    assert.equal(parsed.parametersOid, oid);
    assert.deepEqual(parsed.publicKey, point);
    assert.deepEqual(parsed.ec?.x, point.subarray(1, 33));
    assert.deepEqual(parsed.ec?.y, point.subarray(33, 65));
    assert.equal(spkiKeySpec(parsed), spec);
  }
});

Deno.test("parseSpki OpenSSL compressed points", async () => {
  const curves = ["P-256", "P-384", "P-521", "secp256k1", "SM2"];
  for (const curve of curves) {
    const { spki, point } = await opensslEcKey(curve);
    const compressed = await compressWithOpenssl(spki);
    const size = (point.length - 1) / 2;
    const parsed = parseSpki(compressed);

    assert.equal(parsed.curve, curve);
    assert.equal(parsed.publicKey.length, 1 + size);
    assert.deepEqual(parsed.ec?.x, point.subarray(1, 1 + size));
    assert.deepEqual(parsed.ec?.y, point.subarray(1 + size));
  }
});

Deno.test("parseSpki leading-zero coordinates", async () => {
  const curves = [
    { curve: "P-256", noble: p256, size: 32, zeros: 1 },
    { curve: "P-384", noble: p384, size: 48, zeros: 1 },
    // A P-521 coordinate always has 7 zero bits on top, so ask for two
    // whole zero bytes.
    { curve: "P-521", noble: p521, size: 66, zeros: 2 },
  ];
  for (const { curve, noble, size, zeros } of curves) {
    for (const coordinate of ["x", "y"] as const) {
      const offset = coordinate === "x" ? 1 : 1 + size;
      let point: Uint8Array;
      do {
        point = noble.getPublicKey(noble.utils.randomSecretKey(), false);
      } while (point.subarray(offset, offset + zeros).some((b) => b !== 0));

      const key = await crypto.subtle.importKey(
        "raw",
        new Uint8Array(point),
        { name: "ECDSA", namedCurve: curve },
        true,
        ["verify"],
      );
      const parsed = parseSpki(await exportSpki(key));
      const jwk = await crypto.subtle.exportKey("jwk", key);
      const value = parsed.ec![coordinate];

      assert.equal(value.length, size);
      assert.deepEqual(value, point.subarray(offset, offset + size));
      assert.deepEqual(value, fromBase64Url(jwk[coordinate]!));
    }
  }
});

Deno.test("parseSpki result is a copy", async () => {
  const { spki } = await generatePublicKey({
    name: "ECDSA",
    namedCurve: "P-256",
  });
  const original = spki.slice();
  const parsed = parseSpki(spki);
  spki.fill(0);

  assert.deepEqual(parsed.encoded, original);
  assert.deepEqual(parsed.publicKey, original.subarray(-65));
  assert.deepEqual(parsed.ec?.x, original.subarray(-64, -32));
});

const RSA_ALGORITHM = [encodeOid(KeyAlgorithmOid.rsaEncryption), encodeNull()];
const P256_ALGORITHM = [
  encodeOid(KeyAlgorithmOid.idEcPublicKey),
  encodeOid(CurveOid.secp256r1),
];

function rsaKey(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  return encodeSequence(encodeInteger(modulus), encodeInteger(exponent));
}

Deno.test("parseSpki malformed structure", async () => {
  const { spki } = await generatePublicKey({
    name: "ECDSA",
    namedCurve: "P-256",
  });
  const point = spki.subarray(-65);
  const cases: [string, Uint8Array, string][] = [
    ["empty input", new Uint8Array(0), "unexpected end of data"],
    ["trailing byte", Uint8Array.of(...spki, 0), "trailing bytes"],
    ["truncated", spki.subarray(0, -1), "past the end"],
    ["wrong outer tag", Uint8Array.of(0x31, ...spki.subarray(1)), "tag 0x30"],
    [
      "missing BIT STRING",
      encodeSequence(encodeSequence(...P256_ALGORITHM)),
      "expected SEQUENCE { AlgorithmIdentifier, BIT STRING }",
    ],
    [
      "extra element",
      encodeSequence(
        encodeSequence(...P256_ALGORITHM),
        encodeBitString(point),
        encodeNull(),
      ),
      "expected SEQUENCE { AlgorithmIdentifier, BIT STRING }",
    ],
    [
      "three-element AlgorithmIdentifier",
      spkiOf([...P256_ALGORITHM, encodeNull()], point),
      "expected AlgorithmIdentifier",
    ],
    [
      "algorithm not an OID",
      spkiOf([encodeNull()], point),
      "expected AlgorithmIdentifier",
    ],
    [
      "empty BIT STRING",
      encodeSequence(
        encodeSequence(...P256_ALGORITHM),
        encodeTlv(0x03, new Uint8Array(0)),
      ),
      "empty BIT STRING",
    ],
    ["unused bits", spkiOf(P256_ALGORITHM, point, 1), "1 unused bits"],
  ];
  for (const [name, der, substring] of cases) {
    assert.throws(() => parseSpki(der), KmsToolkitError, name);
    assertRejects(der, "INVALID_INPUT", substring);
    assertRejects(der, "INVALID_INPUT", "Cannot parse SubjectPublicKeyInfo '");
  }
});

Deno.test("parseSpki invalid RSA keys", async () => {
  const { spki } = await generatePublicKey({
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: Uint8Array.of(1, 0, 1),
    hash: "SHA-256",
  });
  const modulus = parseSpki(spki).rsa!.modulus;
  const even = modulus.slice();
  even[even.length - 1]! &= 0xfe;
  const e = Uint8Array.of(1, 0, 1);
  const cases: [string, Uint8Array, string][] = [
    [
      "no parameters",
      spkiOf([encodeOid(KeyAlgorithmOid.rsaEncryption)], rsaKey(modulus, e)),
      "parameters must be NULL",
    ],
    [
      "OID parameters",
      spkiOf([
        encodeOid(KeyAlgorithmOid.rsaEncryption),
        encodeOid(CurveOid.secp256r1),
      ], rsaKey(modulus, e)),
      "parameters must be NULL",
    ],
    [
      "trailing byte in RSAPublicKey",
      spkiOf(RSA_ALGORITHM, Uint8Array.of(...rsaKey(modulus, e), 0)),
      "invalid RSAPublicKey DER (trailing bytes",
    ],
    [
      "three INTEGERs",
      spkiOf(
        RSA_ALGORITHM,
        encodeSequence(
          encodeInteger(modulus),
          encodeInteger(e),
          encodeInteger(e),
        ),
      ),
      "3 elements",
    ],
    [
      "negative modulus",
      spkiOf(
        RSA_ALGORITHM,
        encodeSequence(encodeTlv(0x02, modulus), encodeInteger(e)),
      ),
      "negative INTEGER",
    ],
    [
      "non-minimal exponent",
      spkiOf(
        RSA_ALGORITHM,
        encodeSequence(
          encodeInteger(modulus),
          encodeTlv(0x02, Uint8Array.of(0, 1, 0, 1)),
        ),
      ),
      "not in minimal form",
    ],
    ["even modulus", spkiOf(RSA_ALGORITHM, rsaKey(even, e)), "is not odd"],
    [
      "exponent 1",
      spkiOf(RSA_ALGORITHM, rsaKey(modulus, Uint8Array.of(1))),
      "exponent '01' is not an odd number of at least 3",
    ],
    [
      "even exponent",
      spkiOf(RSA_ALGORITHM, rsaKey(modulus, Uint8Array.of(1, 0, 0))),
      "exponent '010000'",
    ],
    [
      "exponent above modulus",
      spkiOf(RSA_ALGORITHM, rsaKey(Uint8Array.of(0xc5), Uint8Array.of(0xc7))),
      "not smaller than the modulus",
    ],
  ];
  for (const [name, der, substring] of cases) {
    assert.throws(() => parseSpki(der), KmsToolkitError, name);
    assertRejects(der, "INVALID_INPUT", substring);
  }
});

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (let b = base % modulus, e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** Finds an x for which x^3 - 3x + b is not a square mod p (Euler). */
function p256XWithoutPoint(): Uint8Array {
  const { p, b } = p256.Point.CURVE();
  for (let x = 1n;; x++) {
    const rhs = ((x * x * x - 3n * x + b) % p + p) % p;
    if (modPow(rhs, (p - 1n) / 2n, p) === p - 1n) {
      return fromHex(x.toString(16).padStart(64, "0"));
    }
  }
}

Deno.test("parseSpki invalid EC keys", async () => {
  const { spki } = await generatePublicKey({
    name: "ECDSA",
    namedCurve: "P-256",
  });
  const point = spki.slice(-65);
  const offCurve = point.slice();
  offCurve[64]! ^= 1;
  const x = point.subarray(1, 33);
  const cases: [string, Uint8Array, string][] = [
    [
      "no curve",
      spkiOf([encodeOid(KeyAlgorithmOid.idEcPublicKey)], point),
      "must be a named curve OID",
    ],
    [
      "implicitCurve",
      spkiOf([encodeOid(KeyAlgorithmOid.idEcPublicKey), encodeNull()], point),
      "must be a named curve OID",
    ],
    [
      "specifiedCurve",
      spkiOf([
        encodeOid(KeyAlgorithmOid.idEcPublicKey),
        encodeSequence(encodeInteger(1)),
      ], point),
      "must be a named curve OID",
    ],
    ["off the curve", spkiOf(P256_ALGORITHM, offCurve), "not on the curve"],
    [
      "short point",
      spkiOf(P256_ALGORITHM, point.subarray(0, 64)),
      "point of 64 bytes starting with '04'",
    ],
    [
      "hybrid point",
      spkiOf(P256_ALGORITHM, Uint8Array.of(0x06, ...point.subarray(1))),
      "starting with '06'",
    ],
    [
      "compressed x without y",
      spkiOf(P256_ALGORITHM, Uint8Array.of(0x02, ...p256XWithoutPoint())),
      "not on the curve",
    ],
    [
      "compressed x above p",
      spkiOf(
        P256_ALGORITHM,
        Uint8Array.of(0x03, ...new Uint8Array(32).fill(0xff)),
      ),
      "not on the curve",
    ],
    [
      "P-384 OID with P-256 point",
      spkiOf([
        encodeOid(KeyAlgorithmOid.idEcPublicKey),
        encodeOid(CurveOid.secp384r1),
      ], point),
      "P-384 point of 65 bytes",
    ],
    [
      "point at infinity",
      spkiOf(P256_ALGORITHM, Uint8Array.of(0)),
      "point of 1 bytes starting with '00'",
    ],
    [
      "x only",
      spkiOf(P256_ALGORITHM, x),
      "point of 32 bytes",
    ],
  ];
  for (const [name, der, substring] of cases) {
    assert.throws(() => parseSpki(der), KmsToolkitError, name);
    assertRejects(der, "INVALID_INPUT", substring);
  }
});

Deno.test("parseSpki invalid raw keys", async () => {
  const { spki } = await generatePublicKey({ name: "Ed25519" });
  const key = spki.slice(-32);
  const ed25519 = [encodeOid(KeyAlgorithmOid.idEd25519)];
  const mlDsa65 = [encodeOid(KeyAlgorithmOid.idMlDsa65)];
  // y = 2^255 - 1 is above the field prime, so no encoding can hold it.
  const nonCanonical = Uint8Array.of(...new Uint8Array(31).fill(0xff), 0x7f);
  const cases: [string, Uint8Array, string][] = [
    [
      "Ed25519 with NULL",
      spkiOf([...ed25519, encodeNull()], key),
      "Ed25519 AlgorithmIdentifier must have no parameters",
    ],
    [
      "Ed25519 of 31 bytes",
      spkiOf(ed25519, key.subarray(1)),
      "Ed25519 public key is 31 bytes, expected 32",
    ],
    [
      "Ed25519 non-canonical",
      spkiOf(ed25519, nonCanonical),
      "not a valid point",
    ],
    [
      "ML-DSA-65 with NULL",
      spkiOf([...mlDsa65, encodeNull()], new Uint8Array(1952)),
      "ML-DSA-65 AlgorithmIdentifier must have no parameters",
    ],
    [
      "ML-DSA-65 of ML-DSA-44 length",
      spkiOf(mlDsa65, new Uint8Array(1312)),
      "ML-DSA-65 public key is 1312 bytes, expected 1952",
    ],
    [
      "ML-DSA-87 of one byte more",
      spkiOf([encodeOid(KeyAlgorithmOid.idMlDsa87)], new Uint8Array(2593)),
      "ML-DSA-87 public key is 2593 bytes, expected 2592",
    ],
  ];
  for (const [name, der, substring] of cases) {
    assert.throws(() => parseSpki(der), KmsToolkitError, name);
    assertRejects(der, "INVALID_INPUT", substring);
  }
});

Deno.test("parseSpki unsupported algorithms", () => {
  const cases: [string, Uint8Array, string][] = [
    [
      "Ed448",
      spkiOf([encodeOid("1.3.101.113")], new Uint8Array(57)),
      "algorithm OID '1.3.101.113' is not supported",
    ],
    [
      "RSASSA-PSS key",
      spkiOf([encodeOid("1.2.840.113549.1.1.10")], new Uint8Array(8)),
      "algorithm OID '1.2.840.113549.1.1.10' is not supported",
    ],
    [
      "P-224",
      spkiOf([
        encodeOid(KeyAlgorithmOid.idEcPublicKey),
        encodeOid("1.3.132.0.33"),
      ], new Uint8Array(57)),
      "EC curve OID '1.3.132.0.33' is not supported",
    ],
  ];
  for (const [name, der, substring] of cases) {
    assert.throws(() => parseSpki(der), KmsToolkitError, name);
    assertRejects(der, "UNSUPPORTED_KEY", substring);
  }
});

Deno.test("spkiKeySpec RSA sizes KMS lacks", async () => {
  for (const bits of [1024, 2047]) {
    const pem = await openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      `rsa_keygen_bits:${bits}`,
    ]);
    const spki = await openssl(["pkey", "-pubout", "-outform", "DER"], pem);
    const parsed = parseSpki(spki);

    assert.equal(parsed.rsa?.bits, bits);
    assert.throws(() => spkiKeySpec(parsed), (error: unknown) => {
      assert.ok(error instanceof KmsToolkitError);
      assert.equal(error.code, "UNSUPPORTED_KEY");
      assert.ok(error.message.includes(`RSA key of '${bits}' bits`));
      return true;
    });
  }
});

Deno.test("spkiKeySpec hand-built input", () => {
  const parsed = parseSpki(
    spkiOf(
      P256_ALGORITHM,
      p256.getPublicKey(p256.utils.randomSecretKey(), false),
    ),
  );
  assert.equal(toHex(parsed.publicKey.subarray(0, 1)), "04");
  assert.throws(
    () => spkiKeySpec({ ...parsed, curve: null }),
    TypeError,
  );
});
