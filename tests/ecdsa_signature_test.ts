import assert from "node:assert/strict";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { encodeInteger, encodeSequence, fromHex, toHex } from "../lib/der.ts";
import {
  coordinateSize,
  derToJoseSignature,
  joseToDerSignature,
} from "../lib/ecdsa_signature.ts";
import { KmsToolkitError } from "../lib/errors.ts";

const SIGNATURES_PER_CURVE = 500;

function assertInvalidInput(action: () => unknown, substring: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, String(error));
    assert.equal(error.code, "INVALID_INPUT");
    assert.ok(
      error.message.includes(substring),
      `'${error.message}' lacks '${substring}'`,
    );
    return true;
  });
}

Deno.test("derToJoseSignature sign byte and short s", () => {
  const der = fromHex(
    "3044022100b961b021dae244cee853f6facf07a78331f974eb75854c57415750594379f8a9" +
      "021f2ba06a8262d4b6875fbaa74a4179fd7cdfacd4274d657c870177db6e9fe425",
  );
  const raw = derToJoseSignature(der, 32);

  assert.equal(raw.length, 64);
  assert.equal(
    raw.toBase64({ alphabet: "base64url", omitPadding: true }),
    "uWGwIdriRM7oU_b6zwengzH5dOt1hUxXQVdQWUN5-KkAK6BqgmLUtodfuqdKQXn9fN-s1CdNZXyHAXfbbp_kJQ",
  );
  assert.equal(toHex(joseToDerSignature(raw)), toHex(der));
});

const CURVES = [
  {
    name: "P-256",
    noble: p256,
    hash: sha256,
    webCryptoHash: "SHA-256",
    size: 32,
  },
  {
    name: "P-384",
    noble: p384,
    hash: sha384,
    webCryptoHash: "SHA-384",
    size: 48,
  },
  {
    name: "P-521",
    noble: p521,
    hash: sha512,
    webCryptoHash: "SHA-512",
    size: 66,
  },
  {
    name: "secp256k1",
    noble: secp256k1,
    hash: sha256,
    webCryptoHash: null,
    size: 32,
  },
] as const;

Deno.test("ECDSA signatures round-trip and verify", async () => {
  for (const { name, noble, hash, webCryptoHash, size } of CURVES) {
    const secretKey = noble.utils.randomSecretKey();
    const publicKey = noble.getPublicKey(secretKey, false);
    const verifyKey = webCryptoHash === null ? null : await crypto.subtle
      .importKey(
        "raw",
        new Uint8Array(publicKey),
        { name: "ECDSA", namedCurve: name },
        false,
        ["verify"],
      );
    let signByteCount = 0;

    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        async (message) => {
          const digest = hash(message);
          const der = noble.sign(digest, secretKey, {
            prehash: false,
            lowS: false,
            format: "der",
          });
          const raw = derToJoseSignature(der, size);

          assert.equal(raw.length, 2 * size);
          assert.equal(toHex(joseToDerSignature(raw)), toHex(der));
          assert.equal(
            toHex(raw),
            toHex(noble.Signature.fromBytes(der, "der").toBytes("compact")),
          );
          if (verifyKey === null) {
            assert.ok(
              noble.verify(raw, digest, publicKey, {
                prehash: false,
                lowS: false,
                format: "compact",
              }),
            );
          } else {
            const valid = await crypto.subtle.verify(
              { name: "ECDSA", hash: webCryptoHash! },
              verifyKey,
              new Uint8Array(raw),
              new Uint8Array(message),
            );
            assert.ok(valid, `${name} signature ${toHex(der)} does not verify`);
          }
          // DER INTEGER r starts at offset 2, or 3 when the length is long.
          const rOffset = der[1]! & 0x80 ? 3 : 2;
          if (der[rOffset + 2] === 0) signByteCount++;
        },
      ),
      { numRuns: SIGNATURES_PER_CURVE },
    );

    // About half of all r values have the top bit set, except on P-521,
    // whose top byte has only one significant bit.
    if (name !== "P-521") assert.ok(signByteCount > 0, name);
  }
});

/** Generates values of `size` bytes with a random count of leading zeros. */
function valueWithLeadingZeros(size: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(
    fc.integer({ min: 0, max: size - 1 }),
    fc.uint8Array({ minLength: size, maxLength: size }),
  ).map(([zeros, bytes]) => {
    const value = bytes.slice();
    value.fill(0, 0, zeros);
    if (value.every((byte) => byte === 0)) value[size - 1] = 1;
    return value;
  });
}

Deno.test("raw signatures with leading zeros", () => {
  for (const size of [32, 48, 66]) {
    fc.assert(
      fc.property(
        valueWithLeadingZeros(size),
        valueWithLeadingZeros(size),
        (r, s) => {
          const raw = Uint8Array.of(...r, ...s);
          const der = joseToDerSignature(raw);

          assert.equal(toHex(derToJoseSignature(der, size)), toHex(raw));
        },
      ),
      { numRuns: 1000 },
    );
  }
});

function toFixedBytes(value: bigint, size: number): Uint8Array {
  return fromHex(value.toString(16).padStart(2 * size, "0"));
}

Deno.test("joseToDerSignature matches noble DER", () => {
  for (const { name, noble, size } of CURVES) {
    const order = noble.Point.Fn.ORDER;
    const scalar = fc.tuple(
      fc.bigInt({ min: 1n, max: order - 1n }),
      fc.integer({ min: 0, max: 8 * size - 1 }),
    ).map(([value, shift]) => (value >> BigInt(shift)) || 1n);

    fc.assert(
      fc.property(scalar, scalar, (r, s) => {
        const raw = Uint8Array.of(
          ...toFixedBytes(r, size),
          ...toFixedBytes(s, size),
        );
        const nobleDer = new noble.Signature(r, s).toBytes("der");

        assert.equal(toHex(joseToDerSignature(raw)), toHex(nobleDer), name);
        assert.equal(toHex(derToJoseSignature(nobleDer, size)), toHex(raw));
      }),
      { numRuns: 500 },
    );
  }
});

Deno.test("derToJoseSignature rejects malformed DER", () => {
  const cases: [string, string, string][] = [
    ["empty", "", "unexpected end of data"],
    ["trailing byte", "3006020101020101" + "00", "trailing bytes"],
    ["wrong outer tag", "3106020101020101", "expected tag 0x30"],
    ["one INTEGER", "3003020101", "found elements with tags [02]"],
    ["three INTEGERs", "3009020101020101020101", "tags [02,02,02]"],
    ["OCTET STRING s", "3006020101040101", "tags [02,04]"],
    ["negative r", "3006020181020101", "negative INTEGER"],
    ["non-minimal r", "300702020001020101", "not in minimal form"],
    ["non-minimal sign byte", "30080203000080020101", "not in minimal form"],
    ["empty r", "3005020002 0101", "expected an INTEGER"],
    ["zero r", "3006020100020101", "r is zero"],
    ["zero s", "3006020101020100", "s is zero"],
    [
      "r of 33 bytes",
      "3026" + "0221" + "01".repeat(33) + "020101",
      "r is 33 bytes, more than the 32 bytes",
    ],
    [
      "non-minimal length",
      "308106020101020101",
      "length not in minimal form",
    ],
    ["indefinite length", "3080020101020101" + "0000", "indefinite length"],
    ["truncated", "300602010102", "past the end"],
  ];
  for (const [name, hex, substring] of cases) {
    const der = fromHex(hex.replaceAll(" ", ""));
    assert.throws(() => derToJoseSignature(der, 32), KmsToolkitError, name);
    assertInvalidInput(() => derToJoseSignature(der, 32), substring);
    assertInvalidInput(() => derToJoseSignature(der, 32), "Cannot convert");
  }
});

Deno.test("derToJoseSignature size limits", () => {
  const der49 = encodeSequence(
    encodeInteger(new Uint8Array(49).fill(1)),
    encodeInteger(1),
  );
  const der67 = encodeSequence(
    encodeInteger(new Uint8Array(67).fill(1)),
    encodeInteger(1),
  );

  assert.equal(derToJoseSignature(fromHex("3006020101020101"), 66).length, 132);
  assertInvalidInput(() => derToJoseSignature(der49, 48), "r is 49 bytes");
  assertInvalidInput(() => derToJoseSignature(der67, 66), "r is 67 bytes");
  for (const size of [0, 31, 64, 65.5, NaN]) {
    assert.throws(
      () => derToJoseSignature(fromHex("3006020101020101"), size),
      RangeError,
    );
  }
});

Deno.test("joseToDerSignature rejects bad lengths", () => {
  for (const length of [0, 2, 63, 65, 95, 128, 130, 133, 264]) {
    const raw = new Uint8Array(length).fill(1);
    assertInvalidInput(
      () => joseToDerSignature(raw),
      `of ${length} bytes: a JWS ECDSA signature is 64 (ES256, ES256K), ` +
        "96 (ES384) or 132 (ES512) bytes",
    );
  }
});

Deno.test("joseToDerSignature rejects zero values", () => {
  const zeroR = new Uint8Array(64).fill(1, 32);
  const zeroS = new Uint8Array(96).fill(1, 0, 48);

  assertInvalidInput(() => joseToDerSignature(zeroR), "r is zero");
  assertInvalidInput(() => joseToDerSignature(zeroS), "s is zero");
});

Deno.test("coordinateSize known and unknown", () => {
  const sizes: [string, number][] = [
    ["ES256", 32],
    ["ES256K", 32],
    ["ES384", 48],
    ["ES512", 66],
  ];
  for (const [alg, size] of sizes) {
    assert.equal(coordinateSize(alg), size, alg);
  }
  for (const alg of ["RS256", "EdDSA", "es256", "constructor", "toString"]) {
    assert.throws(() => coordinateSize(alg), RangeError, alg);
  }
});
