import assert from "node:assert/strict";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import fc from "fast-check";
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
} from "jose";
import type { SigningAlgorithmEntry } from "../lib/algorithms.ts";
import { fromHex } from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { publicJwkFor } from "../lib/jwk.ts";
import { KmsJwtSigner } from "../lib/jwt.ts";
import type { SigningKey } from "../lib/signing_key.ts";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import { runScript } from "./_helpers.ts";

const K1_DER = fromHex(
  "3044022100b961b021dae244cee853f6facf07a78331f974eb75854c57415750594379f8a9" +
    "021f2ba06a8262d4b6875fbaa74a4179fd7cdfacd4274d657c870177db6e9fe425",
);
const K1_JOSE =
  "uWGwIdriRM7oU_b6zwengzH5dOt1hUxXQVdQWUN5-KkAK6BqgmLUtodfuqdKQXn9fN-s1CdNZXyHAXfbbp_kJQ";

const TOKENS_PER_CURVE = 200;

function base64Url(text: string): string {
  return new TextEncoder().encode(text).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

function decodePart(part: string): Uint8Array {
  return Uint8Array.fromBase64(part, { alphabet: "base64url" });
}

async function p256Spki(): Promise<Uint8Array> {
  const pair = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  return new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
}

/** A key whose Sign always returns the same bytes, for the conversion path. */
class FixedSignatureKey implements SigningKey {
  readonly keyId = "fixed-signature";
  readonly signed: Uint8Array[] = [];
  constructor(readonly publicKey: Uint8Array, readonly signature: Uint8Array) {}
  sign(data: Uint8Array, _algorithm: SigningAlgorithmEntry) {
    this.signed.push(data);
    return Promise.resolve(this.signature);
  }
}

function assertToolkitError(
  code: string,
  substrings: string[],
): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, String(error));
    assert.equal(error.code, code, error.message);
    for (const substring of substrings) {
      assert.ok(
        error.message.includes(substring),
        `'${error.message}' lacks '${substring}'`,
      );
    }
    return true;
  };
}

function operationsSince(endpoint: Endpoint, before: number): string[] {
  return endpoint.kms.calls.slice(before).map((call) => call.operation);
}

Deno.test("signer K1 vector in token", async () => {
  const spki = await p256Spki();
  const key = new FixedSignatureKey(spki, K1_DER);
  // The fixed signature is not over this token, so only the conversion is
  // under test here.
  const signer = await KmsJwtSigner.fromSigningKey(key, {
    verifySignatures: false,
  });
  const token = await signer.sign({ sub: "k1" });

  const [header, payload, signature] = token.split(".");
  const kid = await calculateJwkThumbprint(signer.jwk);
  assert.equal(signer.kid, kid);
  assert.equal(
    header,
    base64Url(`{"alg":"ES256","typ":"JWT","kid":"${kid}"}`),
  );
  assert.equal(payload, base64Url('{"sub":"k1"}'));
  assert.equal(signature, K1_JOSE);
  assert.equal(decodePart(signature!).length, 64);

  // The signing input is exactly header.payload, signed once.
  assert.equal(key.signed.length, 1);
  assert.equal(
    new TextDecoder().decode(key.signed[0]),
    `${header}.${payload}`,
  );
});

Deno.test("signer rejects malformed KMS signatures", async () => {
  const spki = await p256Spki();
  const cases = [
    { name: "not DER", signature: Uint8Array.of(1, 2, 3) },
    { name: "raw r||s", signature: decodePart(K1_JOSE) },
    // A P-384-sized r does not fit the 32 bytes of P-256.
    {
      name: "r too long",
      signature: fromHex("3036023100" + "91".repeat(48) + "020101"),
    },
  ];
  for (const testCase of cases) {
    const signer = await KmsJwtSigner.fromSigningKey(
      new FixedSignatureKey(spki, testCase.signature),
      { verifySignatures: false },
    );
    await assert.rejects(
      signer.sign({}),
      assertToolkitError("KMS_FAILED", ["ES256", "fixed-signature"]),
      testCase.name,
    );
  }
});

Deno.test("signer checks RSA and Ed25519 lengths", async () => {
  const rsa = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const ed = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  for (
    const [pair, length] of [[rsa, 256], [ed, 64]] as [CryptoKeyPair, number][]
  ) {
    const spki = new Uint8Array(
      await crypto.subtle.exportKey("spki", pair.publicKey),
    );
    const short = await KmsJwtSigner.fromSigningKey(
      new FixedSignatureKey(spki, new Uint8Array(length - 1)),
      { verifySignatures: false },
    );
    await assert.rejects(
      short.sign({}),
      assertToolkitError("KMS_FAILED", [`expected ${length}`]),
    );
  }
});

const KEY_CASES = [
  { keySpec: "RSA_2048", alg: undefined, expected: "RS256" },
  { keySpec: "RSA_2048", alg: "RS384", expected: "RS384" },
  { keySpec: "RSA_3072", alg: "RS512", expected: "RS512" },
  { keySpec: "RSA_2048", alg: "PS256", expected: "PS256" },
  { keySpec: "RSA_4096", alg: "RSASSA_PSS_SHA_384", expected: "PS384" },
  { keySpec: "RSA_2048", alg: "PS512", expected: "PS512" },
  { keySpec: "ECC_NIST_P256", alg: undefined, expected: "ES256" },
  { keySpec: "ECC_NIST_P384", alg: undefined, expected: "ES384" },
  { keySpec: "ECC_NIST_P521", alg: undefined, expected: "ES512" },
  { keySpec: "ECC_SECG_P256K1", alg: undefined, expected: "ES256K" },
  { keySpec: "ECC_NIST_EDWARDS25519", alg: undefined, expected: "EdDSA" },
  { keySpec: "ML_DSA_44", alg: undefined, expected: "ML-DSA-44" },
  { keySpec: "ML_DSA_65", alg: undefined, expected: "ML-DSA-65" },
  { keySpec: "ML_DSA_87", alg: undefined, expected: "ML-DSA-87" },
];

const ML_DSA = {
  "ML-DSA-44": { verifier: ml_dsa44, publicKeyBytes: 1312 },
  "ML-DSA-65": { verifier: ml_dsa65, publicKeyBytes: 1952 },
  "ML-DSA-87": { verifier: ml_dsa87, publicKeyBytes: 2592 },
} as const;

/** Verifies a token independently: jose, or noble where jose cannot. */
async function verifyIndependently(
  token: string,
  jwk: Record<string, unknown>,
  spki: Uint8Array,
): Promise<void> {
  const alg = String(jwk.alg);
  const [header, payload, signature] = token.split(".");
  const input = new TextEncoder().encode(`${header}.${payload}`);
  const raw = decodePart(signature!);
  if (alg === "ES256K") {
    assert.equal(raw.length, 64);
    // The SPKI of a secp256k1 key ends with the 65-byte uncompressed point.
    const point = spki.subarray(spki.length - 65);
    assert.ok(
      secp256k1.verify(raw, sha256(input), point, {
        prehash: false,
        lowS: false,
        format: "compact",
      }),
      "noble rejects the ES256K signature",
    );
    return;
  }
  if (alg in ML_DSA) {
    const { verifier, publicKeyBytes } = ML_DSA[alg as keyof typeof ML_DSA];
    const publicKey = spki.subarray(spki.length - publicKeyBytes);
    assert.ok(
      verifier.verify(raw, input, publicKey),
      `noble rejects the ${alg} signature`,
    );
    return;
  }
  const { protectedHeader } = await jwtVerify(
    token,
    createLocalJWKSet({ keys: [jwk as never] }),
  );
  assert.equal(protectedHeader.alg, alg);
}

Deno.test("signer each key spec on endpoint", async (t) => {
  await using endpoint = await startEndpoint();
  for (const testCase of KEY_CASES) {
    await t.step(`${testCase.keySpec} ${testCase.expected}`, async () => {
      const key = await endpoint.createKey(testCase.keySpec);
      const before = endpoint.kms.calls.length;
      const signer = await KmsJwtSigner.create(endpoint.client, key.keyId, {
        alg: testCase.alg,
      });
      assert.deepEqual(operationsSince(endpoint, before), ["GetPublicKey"]);
      assert.equal(signer.alg, testCase.expected);
      assert.equal(signer.keyId, key.keyId);

      const expectedJwk = await publicJwkFor(key.spki, {
        alg: testCase.expected,
      });
      assert.deepEqual(signer.jwk, expectedJwk);
      assert.equal(signer.kid, expectedJwk.kid);

      const token = await signer.sign({ sub: "svc", n: 1 });
      const token2 = await signer.sign({ sub: "svc", n: 2 });
      assert.deepEqual(operationsSince(endpoint, before), [
        "GetPublicKey",
        "Sign",
        "Sign",
      ]);
      assert.deepEqual(decodeProtectedHeader(token), {
        alg: testCase.expected,
        typ: "JWT",
        kid: signer.kid,
      });
      await verifyIndependently(token, signer.jwk, key.spki);
      await verifyIndependently(token2, signer.jwk, key.spki);
    });
  }
});

Deno.test("signer kid equals JWKS script kid", async () => {
  await using endpoint = await startEndpoint();
  for (const keySpec of ["RSA_2048", "ECC_NIST_P384"]) {
    const key = await endpoint.createKey(keySpec);
    const result = await runScript("kms_public_key_to_jwks.ts", [
      "--key-id",
      key.keyId,
      "--endpoint-url",
      endpoint.kms.url,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const published = JSON.parse(result.stdout).keys[0];
    const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);
    assert.equal(signer.kid, published.kid);
    assert.deepEqual(signer.jwk, published);
  }
});

Deno.test("signer rejects alg before Sign", async () => {
  await using endpoint = await startEndpoint();
  const cases = [
    { keySpec: "ECC_NIST_P256", alg: "RS256", allowed: ["ES256"] },
    { keySpec: "ECC_NIST_P256", alg: "ES384", allowed: ["ES256"] },
    { keySpec: "RSA_2048", alg: "ES256", allowed: ["RS256", "PS512"] },
    { keySpec: "ECC_NIST_EDWARDS25519", alg: "ES256", allowed: ["EdDSA"] },
  ];
  for (const testCase of cases) {
    const key = await endpoint.createKey(testCase.keySpec);
    const before = endpoint.kms.calls.length;
    await assert.rejects(
      KmsJwtSigner.create(endpoint.client, key.keyId, { alg: testCase.alg }),
      assertToolkitError("UNSUPPORTED_KEY", [
        `'${testCase.alg}'`,
        key.keyId,
        ...testCase.allowed,
      ]),
    );
    assert.deepEqual(operationsSince(endpoint, before), ["GetPublicKey"]);
  }
});

Deno.test("signer header members and order", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);

  const extra = await signer.sign({}, {
    header: { x5t: "abc", typ: "client-authentication+jwt", alg: "ES256" },
  });
  const headerJson = new TextDecoder().decode(
    decodePart(extra.split(".")[0]!),
  );
  assert.equal(
    headerJson,
    `{"alg":"ES256","typ":"client-authentication+jwt","kid":"${signer.kid}",` +
      `"x5t":"abc"}`,
  );
  await verifyIndependently(extra, signer.jwk, key.spki);

  const renamed = await signer.sign({}, { header: { kid: "map-key" } });
  assert.deepEqual(decodeProtectedHeader(renamed), {
    alg: "ES256",
    typ: "JWT",
    kid: "map-key",
  });

  const custom = await KmsJwtSigner.create(endpoint.client, key.keyId, {
    kid: "custom",
  });
  assert.equal(custom.kid, "custom");
  assert.equal(custom.jwk.kid, "custom");
  assert.equal(decodeProtectedHeader(await custom.sign({})).kid, "custom");
});

Deno.test("signer rejects bad header and payload", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);
  const before = endpoint.kms.calls.length;

  const cases: {
    name: string;
    payload: unknown;
    header?: unknown;
    substrings: string[];
  }[] = [
    {
      name: "alg override",
      payload: {},
      header: { alg: "none" },
      substrings: ["'none'", "ES256"],
    },
    {
      name: "b64 false",
      payload: {},
      header: { b64: false },
      substrings: ["b64", "RFC 7797"],
    },
    { name: "array payload", payload: [1], substrings: ["JSON object"] },
    { name: "null payload", payload: null, substrings: ["'null'"] },
    { name: "string payload", payload: "x", substrings: ["'x'"] },
    { name: "BigInt claim", payload: { n: 1n }, substrings: ["BigInt"] },
    { name: "header array", payload: {}, header: [], substrings: ["header"] },
  ];
  for (const testCase of cases) {
    await assert.rejects(
      signer.sign(
        testCase.payload as never,
        { header: testCase.header as never },
      ),
      assertToolkitError("INVALID_INPUT", testCase.substrings),
      testCase.name,
    );
  }
  assert.deepEqual(operationsSince(endpoint, before), []);
});

Deno.test("signer EdDSA input over 4096 bytes", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);
  const before = endpoint.kms.calls.length;
  await assert.rejects(
    signer.sign({ data: "x".repeat(4000) }),
    assertToolkitError("INVALID_INPUT", ["4096"]),
  );
  assert.deepEqual(operationsSince(endpoint, before), []);
});

const CURVES = [
  { keySpec: "ECC_NIST_P256", alg: "ES256", bytes: 64 },
  { keySpec: "ECC_NIST_P384", alg: "ES384", bytes: 96 },
  { keySpec: "ECC_NIST_P521", alg: "ES512", bytes: 132 },
  { keySpec: "ECC_SECG_P256K1", alg: "ES256K", bytes: 64 },
];

const claimValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
);

Deno.test("signer round trip many tokens", async (t) => {
  await using endpoint = await startEndpoint();
  for (const curve of CURVES) {
    await t.step(curve.alg, async () => {
      const key = await endpoint.createKey(curve.keySpec);
      const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);
      let count = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.string({ minLength: 1, maxLength: 12 }),
            claimValue,
            {
              maxKeys: 6,
            },
          ),
          async (claims) => {
            const token = await signer.sign(claims);
            count += 1;
            const [, payload, signature] = token.split(".");
            assert.equal(decodePart(signature!).length, curve.bytes);
            assert.deepEqual(
              JSON.parse(new TextDecoder().decode(decodePart(payload!))),
              JSON.parse(JSON.stringify(claims)),
            );
            await verifyIndependently(token, signer.jwk, key.spki);
          },
        ),
        { numRuns: TOKENS_PER_CURVE },
      );
      assert.equal(count, TOKENS_PER_CURVE);
    });
  }
});

Deno.test("signer rejects signatures that do not verify", async () => {
  const spki = await p256Spki();
  // A well-formed ECDSA signature over other data.
  const signer = await KmsJwtSigner.fromSigningKey(
    new FixedSignatureKey(spki, K1_DER),
  );
  await assert.rejects(
    signer.sign({ sub: "x" }),
    assertToolkitError("VERIFY_FAILED", ["fixed-signature", "does not verify"]),
  );
});
