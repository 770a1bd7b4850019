import assert from "node:assert/strict";
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from "jose";
import { startEndpoint } from "./_endpoint.ts";
import { runScript } from "./_helpers.ts";

const CASES = [
  { keySpec: "RSA_2048", alg: "RS256", modulusBytes: 256 },
  { keySpec: "ECC_NIST_P256", alg: "ES256", curve: "P-256", size: 32 },
  { keySpec: "ECC_NIST_P384", alg: "ES384", curve: "P-384", size: 48 },
  { keySpec: "ECC_NIST_P521", alg: "ES512", curve: "P-521", size: 66 },
];

function decode(member: unknown): Uint8Array {
  assert.equal(typeof member, "string");
  assert.match(member as string, /^[A-Za-z0-9_-]+$/);
  return Uint8Array.fromBase64(member as string, { alphabet: "base64url" });
}

/** Converts the SPKI to a JWK with WebCrypto, independently of lib/. */
async function webCryptoJwk(spki: Uint8Array, curve?: string) {
  const algorithm = curve
    ? { name: "ECDSA", namedCurve: curve }
    : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("spki", spki.slice(), algorithm, true, [
    "verify",
  ]);
  return await crypto.subtle.exportKey("jwk", key);
}

Deno.test("kms_public_key_to_jwks exports each key spec", async (t) => {
  await using endpoint = await startEndpoint();

  for (const testCase of CASES) {
    await t.step(testCase.keySpec, async () => {
      const key = await endpoint.createKey(testCase.keySpec);
      const before = endpoint.kms.calls.length;
      const result = await runScript("kms_public_key_to_jwks.ts", [
        "--key-id",
        key.keyId,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        endpoint.kms.calls.slice(before).map((call) => call.operation),
        ["GetPublicKey"],
      );

      // Indented JSON with one key.
      assert.match(result.stdout, /^\{\n  "keys": \[\n/);
      const jwks = JSON.parse(result.stdout);
      assert.deepEqual(Object.keys(jwks), ["keys"]);
      assert.equal(jwks.keys.length, 1);
      const jwk = jwks.keys[0];
      assert.equal(jwk.alg, testCase.alg);
      assert.equal(jwk.use, "sig");

      // The key material equals WebCrypto's conversion of the same SPKI.
      const expected = await webCryptoJwk(key.spki, testCase.curve);
      if (testCase.curve) {
        assert.equal(jwk.kty, "EC");
        assert.equal(jwk.crv, testCase.curve);
        assert.equal(jwk.x, expected.x);
        assert.equal(jwk.y, expected.y);
        assert.equal(decode(jwk.x).length, testCase.size);
        assert.equal(decode(jwk.y).length, testCase.size);
      } else {
        assert.equal(jwk.kty, "RSA");
        assert.equal(jwk.n, expected.n);
        assert.equal(jwk.e, "AQAB");
        assert.equal(decode(jwk.n).length, testCase.modulusBytes);
      }

      // kid is the RFC 7638 thumbprint as jose computes it.
      assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"));
      assert.equal(Object.hasOwn(jwk, "ext"), false);
      assert.equal(Object.hasOwn(jwk, "key_ops"), false);

      // jose imports it and it verifies nothing it did not sign.
      const publicKey = await importJWK(jwk, jwk.alg);
      const other = await crypto.subtle.generateKey(
        testCase.curve
          ? { name: "ECDSA", namedCurve: testCase.curve }
          : {
            name: "RSASSA-PKCS1-v1_5",
            modulusLength: 2048,
            publicExponent: new Uint8Array([1, 0, 1]),
            hash: "SHA-256",
          },
        false,
        ["sign", "verify"],
      ) as CryptoKeyPair;
      const foreign = await new SignJWT({}).setProtectedHeader({ alg: jwk.alg })
        .sign(other.privateKey);
      await assert.rejects(jwtVerify(foreign, publicKey), /signature/);

      // A second run gives the same kid.
      const again = await runScript("kms_public_key_to_jwks.ts", [
        "--key-id",
        key.arn,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).keys[0].kid, jwk.kid);
    });
  }
});

Deno.test("kms_public_key_to_jwks reads the key id from stdin", async () => {
  await using endpoint = await startEndpoint();
  await endpoint.createKey("ECC_NIST_P256", { alias: "alias/jwks-stdin" });

  const result = await runScript("kms_public_key_to_jwks.ts", [
    "--endpoint-url",
    endpoint.kms.url,
  ], { stdin: "alias/jwks-stdin\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).keys[0].alg, "ES256");
});

Deno.test("kms_public_key_to_jwks reports errors", async (t) => {
  await using endpoint = await startEndpoint();
  const cases = [
    {
      name: "unknown key",
      args: ["--key-id", "alias/missing", "--endpoint-url", endpoint.kms.url],
      code: 1,
      message: /Cannot find KMS key 'alias\/missing'/,
    },
    {
      name: "no key id",
      args: ["--endpoint-url", endpoint.kms.url],
      code: 2,
      message: /Missing KMS key id/,
    },
    {
      name: "unreachable endpoint",
      args: ["--key-id", "alias/x", "--endpoint-url", "http://127.0.0.1:9"],
      code: 1,
      message: /Cannot reach the KMS endpoint/,
    },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const result = await runScript(
        "kms_public_key_to_jwks.ts",
        testCase.args,
        { stdin: "" },
      );
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr, testCase.message);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(result.stdout, "");
    });
  }
});
