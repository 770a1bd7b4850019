import assert from "node:assert/strict";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importPKCS8,
  type JWK,
  SignJWT,
} from "jose";
import { KmsToolkitError } from "../lib/errors.ts";
import { KmsJwtSigner } from "../lib/jwt.ts";
import { verifyJwt } from "../lib/jwt_verify.ts";
import { startEndpoint } from "./_endpoint.ts";
import { openssl, tempDir } from "./_helpers.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

interface TestKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: string, kid?: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
  });
  const jwk = await exportJWK(publicKey);
  jwk.alg = alg;
  jwk.use = "sig";
  jwk.kid = kid ?? await calculateJwkThumbprint(jwk);
  return { privateKey, jwk };
}

function sign(
  key: TestKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({
      alg: key.jwk.alg!,
      typ: "JWT",
      kid: key.jwk.kid,
      ...header,
    })
    .sign(key.privateKey);
}

function claims(extra: Record<string, unknown> = {}) {
  return {
    iss: "client-1",
    sub: "client-1",
    aud: "https://as.example.com/token",
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 300,
    ...extra,
  };
}

function expectError(code: string, substrings: string[]) {
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

Deno.test("verifyJwt accepts a valid token", async () => {
  const key = await makeKey("ES256");
  const other = await makeKey("RS256");
  const token = await sign(key, claims());
  const result = await verifyJwt(token, {
    jwks: { keys: [other.jwk, key.jwk] as never },
    audience: "https://as.example.com/token",
    issuer: ["other", "client-1"],
    currentDate: NOW,
  });
  assert.deepEqual(result.header, {
    alg: "ES256",
    typ: "JWT",
    kid: key.jwk.kid,
  });
  assert.equal(result.payload.sub, "client-1");
  assert.equal(result.payload.exp, NOW_SECONDS + 300);
});

Deno.test("verifyJwt unknown kid lists kids", async () => {
  const first = await makeKey("ES256", "kid-one");
  const second = await makeKey("RS256", "kid-two");
  const stranger = await makeKey("ES256", "kid-three");
  const token = await sign(stranger, claims());
  await assert.rejects(
    verifyJwt(token, {
      jwks: { keys: [first.jwk, second.jwk] as never },
      currentDate: NOW,
    }),
    expectError("VERIFY_FAILED", [
      "kid 'kid-three'",
      "alg 'ES256'",
      "'kid-one' (ES256)",
      "'kid-two' (RS256)",
    ]),
  );
  await assert.rejects(
    verifyJwt(token, { jwks: { keys: [] }, currentDate: NOW }),
    expectError("VERIFY_FAILED", ["no keys"]),
  );
});

Deno.test("verifyJwt alg differs from JWK alg", async () => {
  const key = await makeKey("PS256", "rsa");
  const published = { ...key.jwk, alg: "RS256" };
  const token = await sign(key, claims());
  await assert.rejects(
    verifyJwt(token, {
      jwks: { keys: [published] as never },
      currentDate: NOW,
    }),
    expectError("VERIFY_FAILED", ["alg 'PS256'", "'rsa' (RS256)"]),
  );
});

Deno.test("verifyJwt invalid signature", async () => {
  const key = await makeKey("ES384", "shared-kid");
  const impostor = await makeKey("ES384", "shared-kid");
  const forged = await sign(impostor, claims());
  await assert.rejects(
    verifyJwt(forged, { jwks: { keys: [key.jwk] as never }, currentDate: NOW }),
    expectError("VERIFY_FAILED", ["signature is invalid", "the JWKS"]),
  );

  const [header, , signature] = (await sign(key, claims())).split(".");
  const altered = new TextEncoder().encode(
    JSON.stringify(claims({ sub: "admin" })),
  ).toBase64({ alphabet: "base64url", omitPadding: true });
  await assert.rejects(
    verifyJwt(`${header}.${altered}.${signature}`, {
      jwks: { keys: [key.jwk] as never },
      currentDate: NOW,
    }),
    expectError("VERIFY_FAILED", ["signature is invalid"]),
  );
});

Deno.test("verifyJwt time claims", async () => {
  const key = await makeKey("EdDSA");
  const jwks = { keys: [key.jwk] as never };
  const expired = await sign(key, claims({ exp: NOW_SECONDS - 10 }));
  await assert.rejects(
    verifyJwt(expired, { jwks, currentDate: NOW }),
    expectError("VERIFY_FAILED", [
      "expired at 2026-03-01T11:59:50.000Z",
      `(${NOW_SECONDS - 10})`,
      "Sign a new token",
    ]),
  );
  // Within the clock tolerance it still passes.
  await verifyJwt(expired, {
    jwks,
    currentDate: NOW,
    clockToleranceSeconds: 30,
  });

  const early = await sign(key, claims({ nbf: NOW_SECONDS + 60 }));
  await assert.rejects(
    verifyJwt(early, { jwks, currentDate: NOW }),
    expectError("VERIFY_FAILED", ["not valid before 2026-03-01T12:01:00.000Z"]),
  );
});

Deno.test("verifyJwt audience and issuer", async () => {
  const key = await makeKey("RS256");
  const jwks = { keys: [key.jwk] as never };
  const token = await sign(key, claims());
  await assert.rejects(
    verifyJwt(token, {
      jwks,
      audience: "https://other.example.com/token",
      currentDate: NOW,
    }),
    expectError("VERIFY_FAILED", [
      'audience "https://as.example.com/token"',
      "'https://other.example.com/token'",
    ]),
  );
  await assert.rejects(
    verifyJwt(token, { jwks, issuer: "client-2", currentDate: NOW }),
    expectError("VERIFY_FAILED", ['issuer "client-1"', "'client-2'"]),
  );
  const noAudience = await sign(key, claims({ aud: undefined }));
  await assert.rejects(
    verifyJwt(noAudience, { jwks, audience: "x", currentDate: NOW }),
    expectError("VERIFY_FAILED", ["no 'aud' claim"]),
  );
});

Deno.test("verifyJwt malformed token and options", async () => {
  const key = await makeKey("ES256");
  const jwks = { keys: [key.jwk] as never };
  await assert.rejects(
    verifyJwt("not-a-token", { jwks }),
    expectError("VERIFY_FAILED", ["'not-a-token'", "compact JWS"]),
  );
  const token = await sign(key, claims());
  await assert.rejects(
    verifyJwt(token, { jwks, algorithms: ["RS256"], currentDate: NOW }),
    expectError("VERIFY_FAILED", ["alg 'ES256'", "'RS256'"]),
  );
  await assert.rejects(
    verifyJwt(token, { jwks: { kys: [] } as never }),
    expectError("INVALID_INPUT", ["keys"]),
  );
  await assert.rejects(verifyJwt(token, {}), TypeError);
  await assert.rejects(
    verifyJwt(token, { jwks, certificate: "x" }),
    TypeError,
  );
});

Deno.test("verifyJwt ES256K is unsupported", async () => {
  const secretKey = secp256k1.utils.randomSecretKey();
  const encode = (value: unknown) =>
    new TextEncoder().encode(JSON.stringify(value)).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
  const input = `${encode({ alg: "ES256K", typ: "JWT", kid: "k1" })}.${
    encode(claims())
  }`;
  const signature = secp256k1.sign(
    sha256(new TextEncoder().encode(input)),
    secretKey,
    { prehash: false },
  );
  const token = `${input}.${
    signature.toBase64({ alphabet: "base64url", omitPadding: true })
  }`;
  const point = secp256k1.getPublicKey(secretKey, false);
  const jwk = {
    kty: "EC",
    crv: "secp256k1",
    x: point.subarray(1, 33).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    }),
    y: point.subarray(33).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    }),
    alg: "ES256K",
    kid: "k1",
  };
  await assert.rejects(
    verifyJwt(token, { jwks: { keys: [jwk] }, currentDate: NOW }),
    expectError("UNSUPPORTED_KEY", ["alg 'ES256K'", "verifySignature"]),
  );
});

/** Makes a key and self-signed certificate with OpenSSL, and loads both. */
async function opensslCertificate(
  folder: string,
  name: string,
  keyArgs: string[],
  alg: string,
) {
  const result = await openssl([
    "req",
    "-x509",
    "-newkey",
    ...keyArgs,
    "-nodes",
    "-keyout",
    `${folder}/${name}.key`,
    "-out",
    `${folder}/${name}.pem`,
    "-subj",
    `/CN=${name}`,
    "-days",
    "2",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const privateKey = await importPKCS8(
    await Deno.readTextFile(`${folder}/${name}.key`),
    alg,
  );
  return {
    certificate: await Deno.readTextFile(`${folder}/${name}.pem`),
    key: { privateKey, jwk: { alg, kid: "verifier-map" } } as TestKey,
  };
}

Deno.test("verifyJwt against certificates", async () => {
  await using folder = await tempDir();
  const rsa = await opensslCertificate(
    folder.path,
    "rsa",
    ["rsa:2048"],
    "RS384",
  );
  const ec = await opensslCertificate(
    folder.path,
    "p256",
    ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "ES256",
  );
  const p384 = await opensslCertificate(
    folder.path,
    "p384",
    ["ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ES384",
  );

  for (const { certificate, key } of [rsa, ec, p384]) {
    const token = await sign(key, claims());
    const result = await verifyJwt(token, {
      certificate,
      audience: "https://as.example.com/token",
      currentDate: NOW,
    });
    assert.equal(result.header.kid, "verifier-map");
    assert.equal(result.header.alg, key.jwk.alg);
  }

  // A certificate of another key of the same type.
  const other = await opensslCertificate(
    folder.path,
    "other",
    ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "ES256",
  );
  await assert.rejects(
    verifyJwt(await sign(ec.key, claims()), {
      certificate: other.certificate,
      currentDate: NOW,
    }),
    expectError("VERIFY_FAILED", ["signature is invalid", "the certificate"]),
  );

  // An ES256 token against a P-384 certificate.
  await assert.rejects(
    verifyJwt(await sign(ec.key, claims()), {
      certificate: p384.certificate,
      currentDate: NOW,
    }),
    expectError("VERIFY_FAILED", ["cannot verify ES256"]),
  );

  // Text without a CERTIFICATE block.
  const key = await Deno.readTextFile(`${folder.path}/p256.key`);
  await assert.rejects(
    verifyJwt(await sign(ec.key, claims()), { certificate: key }),
    expectError("INVALID_INPUT", ["'CERTIFICATE'"]),
  );
});

Deno.test("verifyJwt KMS tokens of each type", async () => {
  await using endpoint = await startEndpoint();
  const keySpecs = [
    "RSA_2048",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_NIST_EDWARDS25519",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
  ];
  for (const keySpec of keySpecs) {
    const key = await endpoint.createKey(keySpec);
    const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);
    const token = await signer.sign(claims());
    const result = await verifyJwt(token, {
      jwks: { keys: [signer.jwk] },
      audience: "https://as.example.com/token",
      currentDate: NOW,
    });
    assert.equal(result.header.alg, signer.alg, keySpec);
    assert.equal(result.payload.iss, "client-1", keySpec);
  }
});
