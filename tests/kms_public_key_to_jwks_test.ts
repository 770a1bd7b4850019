import "reflect-metadata";
import assert from "node:assert/strict";
import { SignCommand, type SigningAlgorithmSpec } from "@aws-sdk/client-kms";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import * as x509 from "@peculiar/x509";
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  importJWK,
  importX509,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
} from "jose";
import { coordinateSize, derToJoseSignature } from "../lib/ecdsa_signature.ts";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import {
  openssl,
  runCommand,
  type RunOptions,
  runScript,
  taskPermissions,
  tempDir,
} from "./_helpers.ts";

const SCRIPT = "kms_public_key_to_jwks.ts";
const SCRIPT_PATH = new URL(`../scripts/${SCRIPT}`, import.meta.url).pathname;
const ACCOUNT_ID = "111122223333";
const ROOT = new URL("../", import.meta.url).pathname;

/** Runs the script against the endpoint with its deno.json permissions. */
function run(endpoint: Endpoint, args: string[], options: RunOptions = {}) {
  return runScript(
    SCRIPT,
    [...args, "--endpoint-url", endpoint.kms.url],
    { stdin: "", ...options },
  );
}

function base64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function decode(member: unknown): Uint8Array {
  assert.equal(typeof member, "string");
  assert.match(member as string, /^[A-Za-z0-9_-]+$/);
  return Uint8Array.fromBase64(member as string, { alphabet: "base64url" });
}

function parseJwks(stdout: string): { keys: JWK[] } {
  const jwks = JSON.parse(stdout);
  assert.deepEqual(Object.keys(jwks), ["keys"]);
  return jwks;
}

/** One row of the key type table, with the independent conversion. */
interface KeyCase {
  keySpec: string;
  alg: string;
  kty: string;
  /** Key members of the JWK, besides kty. */
  members: string[];
  /** The WebCrypto import algorithm; none for secp256k1. */
  webCrypto?: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  /** Whether jose can import the JWK (WebCrypto has no secp256k1). */
  jose: boolean;
}

const KEY_CASES: KeyCase[] = [
  ...["RSA_2048", "RSA_3072", "RSA_4096"].map((keySpec) => ({
    keySpec,
    alg: "RS256",
    kty: "RSA",
    members: ["n", "e"],
    webCrypto: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    jose: true,
  })),
  ...([["P256", "P-256", "ES256"], ["P384", "P-384", "ES384"], [
    "P521",
    "P-521",
    "ES512",
  ]] as const).map(([suffix, curve, alg]) => ({
    keySpec: `ECC_NIST_${suffix}`,
    alg,
    kty: "EC",
    members: ["crv", "x", "y"],
    webCrypto: { name: "ECDSA", namedCurve: curve },
    jose: true,
  })),
  {
    keySpec: "ECC_SECG_P256K1",
    alg: "ES256K",
    kty: "EC",
    members: ["crv", "x", "y"],
    jose: false,
  },
  {
    keySpec: "ECC_NIST_EDWARDS25519",
    alg: "EdDSA",
    kty: "OKP",
    members: ["crv", "x"],
    webCrypto: { name: "Ed25519" },
    jose: true,
  },
  ...["44", "65", "87"].map((level) => ({
    keySpec: `ML_DSA_${level}`,
    alg: `ML-DSA-${level}`,
    kty: "AKP",
    members: ["pub"],
    webCrypto: { name: `ML-DSA-${level}` },
    jose: true,
  })),
];

const COORDINATE_BYTES: Record<string, number> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
  secp256k1: 32,
};

/** Reads secp256k1 coordinates from `openssl pkey -text`, apart from lib/. */
async function opensslSecp256k1(spki: Uint8Array): Promise<JWK> {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/k1.der`, spki);
  const result = await openssl([
    "pkey",
    "-pubin",
    "-inform",
    "DER",
    "-in",
    `${dir.path}/k1.der`,
    "-noout",
    "-text",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const match = /pub:\n([\s\S]*?)\nASN1 OID: secp256k1/.exec(result.stdout);
  assert.ok(match, result.stdout);
  const hex = match[1]!.replace(/[^0-9a-f]/g, "");
  const point = Uint8Array.fromHex(hex);
  assert.equal(point.length, 65);
  assert.equal(point[0], 4);
  return {
    kty: "EC",
    crv: "secp256k1",
    x: base64Url(point.subarray(1, 33)),
    y: base64Url(point.subarray(33)),
  };
}

/** Converts an SPKI to a JWK without lib/: WebCrypto, or OpenSSL. */
async function independentJwk(
  testCase: KeyCase,
  spki: Uint8Array,
): Promise<JWK> {
  if (!testCase.webCrypto) return await opensslSecp256k1(spki);
  const key = await crypto.subtle.importKey(
    "spki",
    spki.slice(),
    testCase.webCrypto,
    true,
    ["verify"],
  );
  return await crypto.subtle.exportKey("jwk", key) as JWK;
}

/** KMS signing algorithms of each JWS alg, written out apart from lib/. */
const KMS_ALGORITHMS: Record<string, string> = {
  RS256: "RSASSA_PKCS1_V1_5_SHA_256",
  RS384: "RSASSA_PKCS1_V1_5_SHA_384",
  RS512: "RSASSA_PKCS1_V1_5_SHA_512",
  PS256: "RSASSA_PSS_SHA_256",
  PS384: "RSASSA_PSS_SHA_384",
  PS512: "RSASSA_PSS_SHA_512",
  ES256: "ECDSA_SHA_256",
  ES384: "ECDSA_SHA_384",
  ES512: "ECDSA_SHA_512",
  ES256K: "ECDSA_SHA_256",
  EdDSA: "ED25519_SHA_512",
  "ML-DSA-44": "ML_DSA_SHAKE_256",
  "ML-DSA-65": "ML_DSA_SHAKE_256",
  "ML-DSA-87": "ML_DSA_SHAKE_256",
};

function encodeSegment(value: unknown): string {
  return base64Url(new TextEncoder().encode(JSON.stringify(value)));
}

/** Makes a private_key_jwt client assertion signed by the KMS key. */
async function signAssertion(
  endpoint: Endpoint,
  keyId: string,
  jwk: JWK,
): Promise<string> {
  const alg = jwk.alg!;
  const now = Math.floor(Date.now() / 1000);
  const input = `${encodeSegment({ alg, kid: jwk.kid, typ: "JWT" })}.${
    encodeSegment({
      iss: "client-1",
      sub: "client-1",
      aud: "urn:test:token-endpoint",
      iat: now,
      exp: now + 300,
      jti: crypto.randomUUID(),
    })
  }`;
  const output = await endpoint.client.send(
    new SignCommand({
      KeyId: keyId,
      Message: new TextEncoder().encode(input),
      MessageType: "RAW",
      SigningAlgorithm: KMS_ALGORITHMS[alg] as SigningAlgorithmSpec,
    }),
  );
  let signature = output.Signature!;
  if (alg.startsWith("ES")) {
    signature = derToJoseSignature(signature, coordinateSize(alg));
  }
  return `${input}.${base64Url(signature)}`;
}

/** Verifies a client assertion against a JWKS, as an identity provider. */
async function verifyAssertion(
  jwks: { keys: JWK[] },
  token: string,
  joseCanImport = true,
): Promise<void> {
  if (joseCanImport) {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createLocalJWKSet(jwks as JSONWebKeySet),
      { audience: "urn:test:token-endpoint", issuer: "client-1" },
    );
    assert.equal(payload.sub, "client-1");
    assert.ok(jwks.keys.some((key) => key.kid === protectedHeader.kid));
    return;
  }
  // secp256k1: find the key by kid, verify with noble.
  const [header, body, signature] = token.split(".");
  const kid = JSON.parse(new TextDecoder().decode(decode(header))).kid;
  const jwk = jwks.keys.find((key) => key.kid === kid);
  assert.ok(jwk, `no key with kid ${kid}`);
  const point = new Uint8Array([4, ...decode(jwk.x), ...decode(jwk.y)]);
  const digest = sha256(new TextEncoder().encode(`${header}.${body}`));
  assert.ok(
    secp256k1.verify(decode(signature), digest, point, {
      prehash: false,
      lowS: false,
    }),
  );
}

Deno.test("jwks script round-trips every key type", async (t) => {
  await using endpoint = await startEndpoint();

  for (const testCase of KEY_CASES) {
    await t.step(testCase.keySpec, async () => {
      const key = await endpoint.createKey(testCase.keySpec);
      const before = endpoint.kms.calls.length;
      const result = await run(endpoint, ["--key-id", key.keyId]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.deepEqual(
        endpoint.kms.calls.slice(before).map((call) => call.operation),
        ["GetPublicKey"],
      );

      // Indented JSON with a final newline and one key.
      assert.match(result.stdout, /^\{\n {2}"keys": \[\n {4}\{\n/);
      assert.ok(result.stdout.endsWith("}\n"));
      const jwks = parseJwks(result.stdout);
      assert.equal(jwks.keys.length, 1);
      const jwk = jwks.keys[0]!;
      assert.equal(jwk.kty, testCase.kty);
      assert.equal(jwk.alg, testCase.alg);
      assert.equal(jwk.use, "sig");
      assert.equal(Object.hasOwn(jwk, "key_ops"), false);

      // The key members equal an independent conversion of the same SPKI.
      const expected = await independentJwk(testCase, key.spki);
      for (const member of [...testCase.members, "kty"]) {
        assert.equal(
          jwk[member as keyof JWK],
          expected[member as keyof JWK],
          member,
        );
      }

      // EC coordinates are left-padded to the field size.
      if (jwk.kty === "EC") {
        const size = COORDINATE_BYTES[jwk.crv!];
        assert.equal(decode(jwk.x).length, size);
        assert.equal(decode(jwk.y).length, size);
      }

      // kid is the RFC 7638 thumbprint as jose computes it.
      assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"));
      if (testCase.jose) await importJWK(jwk, jwk.alg);

      // A client assertion signed by the KMS key verifies with the JWKS.
      const token = await signAssertion(endpoint, key.keyId, jwk);
      await verifyAssertion(jwks, token, testCase.jose);
      const [header, body] = token.split(".");
      const forged = `${header}.${body}.${
        base64Url(new Uint8Array(decode(token.split(".")[2]).length))
      }`;
      await assert.rejects(verifyAssertion(jwks, forged, testCase.jose));

      // The same key gives the same kid on the next run, by ARN too.
      const again = await run(endpoint, ["--key-id", key.arn]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(parseJwks(again.stdout).keys[0]!.kid, jwk.kid);
    });
  }
});

Deno.test("jwks script alg overrides", async () => {
  await using endpoint = await startEndpoint();
  const rsa = await endpoint.createKey("RSA_2048");
  for (const alg of ["RS384", "RS512", "PS256", "PS384", "PS512"]) {
    const result = await run(endpoint, ["--key-id", rsa.keyId, "--alg", alg]);
    assert.equal(result.code, 0, result.stderr);
    const jwks = parseJwks(result.stdout);
    const jwk = jwks.keys[0]!;
    assert.equal(jwk.alg, alg);
    // The kid does not depend on alg.
    assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"));
    await verifyAssertion(jwks, await signAssertion(endpoint, rsa.keyId, jwk));
  }

  // A KMS SigningAlgorithm name selects the same JWS alg.
  const byKmsName = await run(endpoint, [
    "--key-id",
    rsa.keyId,
    "--alg",
    "RSASSA_PSS_SHA_384",
  ]);
  assert.equal(byKmsName.code, 0, byKmsName.stderr);
  assert.equal(parseJwks(byKmsName.stdout).keys[0]!.alg, "PS384");

  // One --alg per key, in key order.
  const p384 = await endpoint.createKey("ECC_NIST_P384");
  const perKey = await run(endpoint, [
    "--key-id",
    rsa.keyId,
    "--key-id",
    p384.keyId,
    "--alg",
    "PS256",
    "--alg",
    "ES384",
  ]);
  assert.equal(perKey.code, 0, perKey.stderr);
  assert.deepEqual(
    parseJwks(perKey.stdout).keys.map((key) => key.alg),
    ["PS256", "ES384"],
  );
});

Deno.test("jwks script rejects unusable algs", async () => {
  await using endpoint = await startEndpoint();
  const p256 = await endpoint.createKey("ECC_NIST_P256");
  const ed25519 = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const rsa = await endpoint.createKey("RSA_2048");
  const cases = [
    { keyId: p256.keyId, alg: "ES384", allowed: "ES256 (ECDSA_SHA_256)" },
    { keyId: p256.keyId, alg: "RS256", allowed: "ES256 (ECDSA_SHA_256)" },
    { keyId: ed25519.keyId, alg: "ES256", allowed: "EdDSA (ED25519_SHA_512)" },
    { keyId: rsa.keyId, alg: "HS256", allowed: "RS256 (RSASSA_PKCS1_V1_5" },
    { keyId: rsa.keyId, alg: "ES256", allowed: "PS512 (RSASSA_PSS_SHA_512)" },
  ];
  for (const testCase of cases) {
    const result = await run(endpoint, [
      "--key-id",
      testCase.keyId,
      "--alg",
      testCase.alg,
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `Cannot use key '[^']+' \\(\\w+\\) with alg '${testCase.alg}'`,
      ),
    );
    assert.ok(result.stderr.includes(testCase.allowed), result.stderr);
    assert.ok(result.stderr.includes(testCase.keyId), result.stderr);
    assert.equal(result.stdout, "");
  }
});

Deno.test("jwks script kid modes", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256", {
    alias: "alias/jwks-kid",
  });
  assert.ok(key.arn.includes(ACCOUNT_ID));

  const byKeyId = await run(endpoint, [
    "--key-id",
    "alias/jwks-kid",
    "--kid",
    "key-id",
  ]);
  assert.equal(byKeyId.code, 0, byKeyId.stderr);
  assert.equal(parseJwks(byKeyId.stdout).keys[0]!.kid, key.keyId);
  assert.equal(byKeyId.stdout.includes(ACCOUNT_ID), false);
  assert.equal(byKeyId.stdout.includes("arn:"), false);

  const byArn = await run(endpoint, ["--key-id", key.arn, "--kid", "key-id"]);
  assert.equal(byArn.code, 0, byArn.stderr);
  assert.equal(parseJwks(byArn.stdout).keys[0]!.kid, key.keyId);

  const literal = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--kid",
    "literal:signer-2025:a",
  ]);
  assert.equal(literal.code, 0, literal.stderr);
  assert.equal(parseJwks(literal.stdout).keys[0]!.kid, "signer-2025:a");

  const thumbprint = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--kid",
    "thumbprint",
  ]);
  assert.equal(thumbprint.code, 0, thumbprint.stderr);
  const jwk = parseJwks(thumbprint.stdout).keys[0]!;
  assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"));
});

Deno.test("jwks script use and key_ops", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P384");

  const keyOps = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--key-ops",
    "verify",
    "--use",
    "none",
  ]);
  assert.equal(keyOps.code, 0, keyOps.stderr);
  const jwk = parseJwks(keyOps.stdout).keys[0]!;
  assert.deepEqual(jwk.key_ops, ["verify"]);
  assert.equal(Object.hasOwn(jwk, "use"), false);
  assert.deepEqual(Object.keys(jwk), [
    "kty",
    "crv",
    "x",
    "y",
    "alg",
    "key_ops",
    "kid",
  ]);
  await importJWK(jwk, "ES384");

  const both = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--key-ops",
    "verify",
  ]);
  assert.equal(both.code, 0, both.stderr);
  const withUse = parseJwks(both.stdout).keys[0]!;
  assert.equal(withUse.use, "sig");
  assert.deepEqual(withUse.key_ops, ["verify"]);
});

Deno.test("jwks script key sets", async () => {
  await using endpoint = await startEndpoint();
  const rsa = await endpoint.createKey("RSA_2048", { alias: "alias/old" });
  const p256 = await endpoint.createKey("ECC_NIST_P256", {
    alias: "alias/new",
  });
  const ed25519 = await endpoint.createKey("ECC_NIST_EDWARDS25519");

  const result = await run(endpoint, [
    "--key-id",
    "alias/new",
    "--key-id",
    rsa.arn,
    "--key-id",
    ed25519.keyId,
    "--kid",
    "key-id",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const jwks = parseJwks(result.stdout);
  assert.deepEqual(jwks.keys.map((key) => key.kid), [
    p256.keyId,
    rsa.keyId,
    ed25519.keyId,
  ]);
  assert.deepEqual(jwks.keys.map((key) => key.alg), [
    "ES256",
    "RS256",
    "EdDSA",
  ]);

  // Assertions from each key verify against the one set.
  for (
    const [index, keyId] of [p256.keyId, rsa.keyId, ed25519.keyId].entries()
  ) {
    const token = await signAssertion(endpoint, keyId, jwks.keys[index]!);
    await verifyAssertion(jwks, token);
  }
});

Deno.test("jwks script rejects duplicate keys", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256", {
    alias: "alias/twice",
  });
  const other = await endpoint.createKey("ECC_NIST_P256");
  const pairs = [
    [key.keyId, key.keyId],
    ["alias/twice", key.keyId],
    [key.arn, "alias/twice"],
  ];
  for (const [first, second] of pairs) {
    const result = await run(endpoint, [
      "--key-id",
      first!,
      "--key-id",
      other.keyId,
      "--key-id",
      second!,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.ok(
      result.stderr.includes(
        `Invalid --key-id '${second}': it names the same KMS key as ` +
          `--key-id '${first}' (${key.arn})`,
      ),
      result.stderr,
    );
    assert.equal(result.stdout, "");
  }
});

Deno.test("jwks script rejects non-signing keys", async () => {
  await using endpoint = await startEndpoint();
  const cases = [
    {
      keySpec: "SYMMETRIC_DEFAULT",
      keyUsage: "ENCRYPT_DECRYPT",
      message:
        /Cannot call GetPublicKey on KMS key .*It is not an asymmetric key/s,
    },
    {
      keySpec: "HMAC_256",
      keyUsage: "GENERATE_VERIFY_MAC",
      message:
        /Cannot call GetPublicKey on KMS key .*It is not an asymmetric key/s,
    },
    {
      keySpec: "RSA_2048",
      keyUsage: "ENCRYPT_DECRYPT",
      message: /its KeyUsage is ENCRYPT_DECRYPT, not SIGN_VERIFY/,
    },
    {
      keySpec: "ECC_NIST_P256",
      keyUsage: "KEY_AGREEMENT",
      message: /its KeyUsage is KEY_AGREEMENT, not SIGN_VERIFY/,
    },
    {
      keySpec: "SM2",
      keyUsage: "SIGN_VERIFY",
      message: /key spec SM2 exists only in the AWS China Regions/,
    },
  ];
  for (const testCase of cases) {
    const key = await endpoint.createKey(testCase.keySpec, {
      keyUsage: testCase.keyUsage,
    });
    for (const format of ["jwks", "pem"]) {
      const result = await run(endpoint, [
        "--key-id",
        key.keyId,
        "--format",
        format,
      ]);
      assert.equal(result.code, 3, `${testCase.keySpec}: ${result.stderr}`);
      assert.match(result.stderr, testCase.message);
      assert.ok(result.stderr.includes(key.keyId), result.stderr);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(result.stdout, "");
    }
  }
});

Deno.test("jwks script PEM matches OpenSSL", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const keys = [];
  for (
    const keySpec of [
      "RSA_2048",
      "ECC_NIST_P384",
      "ECC_SECG_P256K1",
      "ECC_NIST_EDWARDS25519",
    ]
  ) {
    keys.push(await endpoint.createKey(keySpec));
  }

  const expected = [];
  for (const [index, key] of keys.entries()) {
    const path = `${dir.path}/key${index}.der`;
    await Deno.writeFile(path, key.spki);
    const pem = await openssl([
      "pkey",
      "-pubin",
      "-inform",
      "DER",
      "-in",
      path,
      "-pubout",
    ]);
    assert.equal(pem.code, 0, pem.stderr);
    expected.push(pem.stdout);

    const single = await run(endpoint, [
      "--key-id",
      key.keyId,
      "--format",
      "pem",
    ]);
    assert.equal(single.code, 0, single.stderr);
    assert.equal(single.stdout, pem.stdout);
  }

  const all = await run(endpoint, [
    ...keys.flatMap((key) => ["--key-id", key.keyId]),
    "--format",
    "pem",
  ]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, expected.join(""));
});

Deno.test("jwks script ML-DSA PEM and DER", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ML_DSA_65");

  // OpenSSL 3.0 has no ML-DSA, so the PEM body is decoded with atob.
  const pem = await run(endpoint, ["--key-id", key.keyId, "--format", "pem"]);
  assert.equal(pem.code, 0, pem.stderr);
  const lines = pem.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN PUBLIC KEY-----");
  assert.equal(lines.at(-1), "-----END PUBLIC KEY-----");
  assert.ok(lines.slice(1, -2).every((line) => line.length === 64));
  const body = atob(lines.slice(1, -1).join(""));
  assert.deepEqual(
    Uint8Array.from(body, (char) => char.charCodeAt(0)),
    key.spki,
  );

  const der = await run(endpoint, ["--key-id", key.keyId, "--format", "der"]);
  assert.equal(der.code, 0, der.stderr);
  assert.deepEqual(der.stdoutBytes, key.spki);

  const out = `${dir.path}/key.der`;
  const toFile = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--format",
    "der",
    "--out",
    out,
  ]);
  assert.equal(toFile.code, 0, toFile.stderr);
  assert.equal(toFile.stdout, "");
  assert.deepEqual(await Deno.readFile(out), key.spki);
  assert.match(toFile.stderr, /^Wrote .*key\.der \(--format der\): KMS key/);
});

Deno.test("jwks script jwk and compact", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const jwks = await run(endpoint, ["--key-id", key.keyId]);
  assert.equal(jwks.code, 0, jwks.stderr);
  const expected = parseJwks(jwks.stdout).keys[0];

  const jwk = await run(endpoint, ["--key-id", key.keyId, "--format", "jwk"]);
  assert.equal(jwk.code, 0, jwk.stderr);
  assert.match(jwk.stdout, /^\{\n {2}"kty": "EC",\n/);
  assert.deepEqual(JSON.parse(jwk.stdout), expected);

  const compact = await run(endpoint, ["--key-id", key.keyId, "--compact"]);
  assert.equal(compact.code, 0, compact.stderr);
  assert.equal(compact.stdout, `${JSON.stringify({ keys: [expected] })}\n`);

  const compactJwk = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--format",
    "jwk",
    "--compact",
  ]);
  assert.equal(compactJwk.code, 0, compactJwk.stderr);
  assert.equal(compactJwk.stdout, `${JSON.stringify(expected)}\n`);
});

Deno.test("jwks script out and force", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("RSA_2048");
  const out = `${dir.path}/jwks.json`;

  const first = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--out",
    out,
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "");
  const written = await Deno.readTextFile(out);
  const jwk = parseJwks(written).keys[0]!;
  assert.ok(
    first.stderr.includes(
      `Wrote ${out} (--format jwks): kid '${jwk.kid}', alg RS256, KMS key ` +
        `'${key.keyId}' (RSA_2048).`,
    ),
    first.stderr,
  );

  // An existing file is kept, and nothing is printed.
  await Deno.writeTextFile(out, "keep me\n");
  const exists = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--out",
    out,
  ]);
  assert.equal(exists.code, 5, exists.stderr);
  assert.match(exists.stderr, /the file exists\. Pass --force to overwrite/);
  assert.equal(exists.stdout, "");
  assert.equal(await Deno.readTextFile(out), "keep me\n");

  const forced = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--out",
    out,
    "--force",
    "--quiet",
  ]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stderr, "");
  assert.equal(await Deno.readTextFile(out), written);
  assert.deepEqual(
    [...Deno.readDirSync(dir.path)].map((entry) => entry.name),
    ["jwks.json"],
  );
});

Deno.test("jwks script out without write permission", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const permissions = taskPermissions(SCRIPT).filter((flag) =>
    !flag.startsWith("--allow-write")
  );
  const before = endpoint.kms.calls.length;
  const result = await runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    ...permissions,
    SCRIPT_PATH,
    "--key-id",
    key.keyId,
    "--out",
    `${dir.path}/jwks.json`,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /no write permission for it\. Add --allow-write/);
  assert.equal(endpoint.kms.calls.length, before);
});

/** Makes a throwaway CA and certificates for public keys, with x509. */
async function makeCa(name = "CN=Throwaway Test CA") {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, false, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: algorithm,
    serialNumber: "01",
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return {
    certificate,
    issue(spki: Uint8Array, subject: string, notAfter?: Date) {
      return x509.X509CertificateGenerator.create({
        serialNumber: "0a1b",
        subject,
        issuer: certificate.subject,
        publicKey: new x509.PublicKey(spki.slice()),
        signingKey: keys.privateKey,
        signingAlgorithm: algorithm,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: notAfter ?? new Date(Date.now() + 86_400_000),
      });
    },
  };
}

async function spkiFingerprint(path: string, dir: string): Promise<string> {
  const der = `${dir}/fingerprint.der`;
  const converted = await openssl([
    "pkey",
    "-pubin",
    "-in",
    path,
    "-outform",
    "DER",
    "-out",
    der,
  ]);
  assert.equal(converted.code, 0, converted.stderr);
  const digest = await openssl(["dgst", "-sha256", "-r", der]);
  assert.equal(digest.code, 0, digest.stderr);
  return digest.stdout.split(" ")[0]!;
}

Deno.test("jwks script adds certificate chains", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const ca = await makeCa();

  for (
    const keySpec of ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_EDWARDS25519"]
  ) {
    const key = await endpoint.createKey(keySpec);
    const leaf = await ca.issue(key.spki, `CN=${keySpec} signer`);
    const chainPath = `${dir.path}/${keySpec}.pem`;
    await Deno.writeTextFile(
      chainPath,
      `${leaf.toString("pem")}\n${ca.certificate.toString("pem")}\n`,
    );

    const result = await run(endpoint, [
      "--key-id",
      key.keyId,
      "--cert",
      chainPath,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const jwks = parseJwks(result.stdout);
    const jwk = jwks.keys[0]!;
    assert.deepEqual(Object.keys(jwk).slice(-3), ["kid", "x5c", "x5t#S256"]);

    // x5c is standard base64 DER, leaf first, in file order.
    assert.equal(jwk.x5c!.length, 2);
    const ders = [
      new Uint8Array(leaf.rawData),
      new Uint8Array(ca.certificate.rawData),
    ];
    for (const [index, der] of ders.entries()) {
      assert.equal(jwk.x5c![index], btoa(String.fromCharCode(...der)));
    }
    const parsed = jwk.x5c!.map((entry) =>
      new x509.X509Certificate(
        Uint8Array.from(atob(entry), (c) => c.charCodeAt(0)),
      )
    );
    assert.deepEqual(new Uint8Array(parsed[0]!.publicKey.rawData), key.spki);
    assert.equal(parsed[0]!.subject, `CN=${keySpec} signer`);
    assert.equal(parsed[1]!.subject, ca.certificate.subject);
    assert.ok(await parsed[0]!.verify({ publicKey: ca.certificate }));

    // x5t#S256 is base64url SHA-256 of the leaf DER, as OpenSSL computes it.
    const leafPem = `${dir.path}/${keySpec}-leaf.pem`;
    await Deno.writeTextFile(leafPem, leaf.toString("pem"));
    const der = await openssl([
      "x509",
      "-in",
      leafPem,
      "-outform",
      "DER",
      "-out",
      `${leafPem}.der`,
    ]);
    assert.equal(der.code, 0, der.stderr);
    const digest = await openssl([
      "dgst",
      "-sha256",
      "-binary",
      "-out",
      `${leafPem}.sha256`,
      `${leafPem}.der`,
    ]);
    assert.equal(digest.code, 0, digest.stderr);
    assert.equal(
      jwk["x5t#S256"],
      base64Url(await Deno.readFile(`${leafPem}.sha256`)),
    );

    // The kid stays the thumbprint of the key members only.
    assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"));

    // jose takes the key from the leaf, and an assertion verifies with it.
    const token = await signAssertion(endpoint, key.keyId, jwk);
    const fromCertificate = await importX509(leaf.toString("pem"), jwk.alg!);
    await jwtVerify(token, fromCertificate);
    await verifyAssertion(jwks, token);
  }
});

Deno.test("jwks script certificate per key", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const ca = await makeCa();
  const first = await endpoint.createKey("ECC_NIST_P256");
  const second = await endpoint.createKey("ECC_NIST_P384");
  const paths = [];
  for (const [index, key] of [first, second].entries()) {
    const path = `${dir.path}/${index}.der`;
    await Deno.writeFile(
      path,
      new Uint8Array((await ca.issue(key.spki, `CN=key ${index}`)).rawData),
    );
    paths.push(path);
  }
  const result = await run(endpoint, [
    "--key-id",
    first.keyId,
    "--key-id",
    second.keyId,
    "--cert",
    paths[0]!,
    "--cert",
    paths[1]!,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const keys = parseJwks(result.stdout).keys;
  for (const [index, path] of paths.entries()) {
    assert.deepEqual(keys[index]!.x5c, [
      (await Deno.readFile(path)).toBase64(),
    ]);
  }
});

Deno.test("jwks script rejects bad certificates", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const ca = await makeCa();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const leaf = await ca.issue(key.spki, "CN=signer");

  // A certificate for another key.
  const other = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const otherSpki = new Uint8Array(
    await crypto.subtle.exportKey("spki", other.publicKey),
  );
  const otherPath = `${dir.path}/other.pem`;
  await Deno.writeTextFile(
    otherPath,
    (await ca.issue(otherSpki, "CN=other")).toString("pem"),
  );
  const otherPubkey = await openssl([
    "x509",
    "-in",
    otherPath,
    "-noout",
    "-pubkey",
  ]);
  assert.equal(otherPubkey.code, 0, otherPubkey.stderr);
  await Deno.writeTextFile(`${dir.path}/other.pub`, otherPubkey.stdout);
  const kmsPem = `${dir.path}/kms.pub`;
  await Deno.writeTextFile(
    kmsPem,
    (await run(endpoint, ["--key-id", key.keyId, "--format", "pem"])).stdout,
  );
  const mismatch = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--cert",
    otherPath,
  ]);
  assert.equal(mismatch.code, 2, mismatch.stderr);
  assert.ok(
    mismatch.stderr.includes(
      `Cannot use certificate '${otherPath}' for KMS key '${key.keyId}': ` +
        "the leaf certifies another public key (leaf SPKI SHA-256 " +
        `${await spkiFingerprint(`${dir.path}/other.pub`, dir.path)}, key ` +
        `SPKI SHA-256 ${await spkiFingerprint(kmsPem, dir.path)})`,
    ),
    mismatch.stderr,
  );
  assert.equal(mismatch.stdout, "");

  const files: [string, string | Uint8Array, RegExp][] = [
    [
      "key.pem",
      (await run(endpoint, ["--key-id", key.keyId, "--format", "pem"])).stdout,
      /PEM block 1 is 'PUBLIC KEY'/,
    ],
    [
      "with-key.pem",
      `${
        leaf.toString("pem")
      }\n-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n`,
      /PEM block 2 is 'PRIVATE KEY'/,
    ],
    [
      "reversed.pem",
      `${ca.certificate.toString("pem")}\n${leaf.toString("pem")}\n`,
      /certificate 2 is not the issuer of certificate 1/,
    ],
    ["empty.pem", "", /it contains no PEM block/],
    [
      "junk.der",
      Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x05),
      /certificate 1 is not an X\.509 certificate/,
    ],
  ];
  for (const [name, contents, message] of files) {
    const path = `${dir.path}/${name}`;
    if (typeof contents === "string") await Deno.writeTextFile(path, contents);
    else await Deno.writeFile(path, contents);
    const before = endpoint.kms.calls.length;
    const result = await run(endpoint, ["--key-id", key.keyId, "--cert", path]);
    assert.equal(result.code, 2, `${name}: ${result.stderr}`);
    assert.ok(
      result.stderr.includes(`Cannot read certificates from '${path}'`),
      result.stderr,
    );
    assert.match(result.stderr, message);
    assert.equal(result.stdout, "");
    // Local input is checked before any KMS call.
    assert.equal(endpoint.kms.calls.length, before);
  }

  const missing = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--cert",
    `${dir.path}/none.pem`,
  ]);
  assert.equal(missing.code, 5, missing.stderr);
  assert.match(
    missing.stderr,
    /Cannot read --cert '.*none\.pem': the file does not exist\. Check the path\./,
  );
});

Deno.test("jwks script warns on expired certificate", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const ca = await makeCa();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const path = `${dir.path}/expired.pem`;
  const expired = await ca.issue(
    key.spki,
    "CN=old",
    new Date("2020-06-30T00:00:00Z"),
  );
  await Deno.writeTextFile(path, expired.toString("pem"));
  const result = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--cert",
    path,
    "--quiet",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stderr,
    `warning: the leaf certificate in '${path}' expired on 2020-06-30.\n`,
  );
  assert.equal(parseJwks(result.stdout).keys[0]!.x5c!.length, 1);
});

/** Builds a JWKS with members that this toolkit never writes. */
async function existingJwks(): Promise<{ text: string; keys: JWK[] }> {
  const { publicKey } = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const { n, e } = await crypto.subtle.exportKey("jwk", publicKey);
  const text = `{
  "keys": [
    {
      "kid": "legacy-2019",
      "kty": "RSA",
      "e": "${e}",
      "n": "${n}",
      "status": "ACTIVE",
      "x-rotation": { "serial": 12345678901234567890, "weight": 2.50 }
    },
    { "kty": "oct-unknown", "kid": "opaque", "note": null }
  ],
  "x-generated-by": "another tool"
}
`;
  return { text, keys: JSON.parse(text).keys };
}

Deno.test("jwks script merges into a set", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const { text, keys: existingKeys } = await existingJwks();
  const mergePath = `${dir.path}/published.json`;
  await Deno.writeTextFile(mergePath, text);
  const key = await endpoint.createKey("ECC_NIST_P256");

  const result = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--merge",
    mergePath,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const merged = JSON.parse(result.stdout);
  assert.deepEqual(Object.keys(merged), ["keys", "x-generated-by"]);
  assert.equal(merged["x-generated-by"], "another tool");
  assert.equal(merged.keys.length, 3);

  // The existing keys come first, with every member unchanged and in order.
  for (const [index, existing] of existingKeys.entries()) {
    assert.deepEqual(Object.keys(merged.keys[index]), Object.keys(existing));
    assert.deepEqual(merged.keys[index], existing);
  }
  // Numbers keep their digits: no rounding of big integers, 2.50 stays.
  assert.ok(
    result.stdout.includes('"serial": 12345678901234567890'),
    result.stdout,
  );
  assert.ok(result.stdout.includes('"weight": 2.50'), result.stdout);

  const alone = await run(endpoint, ["--key-id", key.keyId]);
  assert.deepEqual(merged.keys[2], parseJwks(alone.stdout).keys[0]);
  // The merge file itself is not changed.
  assert.equal(await Deno.readTextFile(mergePath), text);
});

Deno.test("jwks script rotation with merge", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const oldKey = await endpoint.createKey("RSA_2048", {
    alias: "alias/signer-old",
  });
  const newKey = await endpoint.createKey("RSA_2048", {
    alias: "alias/signer-new",
  });
  const path = `${dir.path}/jwks.json`;

  const exported = await run(endpoint, [
    "--key-id",
    "alias/signer-old",
    "--out",
    path,
  ]);
  assert.equal(exported.code, 0, exported.stderr);
  const oldText = await Deno.readTextFile(path);

  // Writing the merge file in place needs --force.
  const notForced = await run(endpoint, [
    "--key-id",
    "alias/signer-new",
    "--merge",
    path,
    "--out",
    path,
  ]);
  assert.equal(notForced.code, 5, notForced.stderr);
  assert.match(notForced.stderr, /it is the --merge file\. Pass --force/);
  assert.equal(await Deno.readTextFile(path), oldText);

  const rotated = await run(endpoint, [
    "--key-id",
    "alias/signer-new",
    "--merge",
    path,
    "--out",
    path,
    "--force",
  ]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(
    rotated.stderr,
    /^Wrote .*jwks\.json \(--format jwks, 2 keys in all\): kid '[^']+', alg RS256, KMS key 'alias\/signer-new' \(RSA_2048\)\.\n$/,
  );
  const both = parseJwks(await Deno.readTextFile(path));
  assert.equal(both.keys.length, 2);
  assert.deepEqual(both.keys[0], parseJwks(oldText).keys[0]);

  // During the rotation, assertions of the old and the new key verify.
  for (const [index, key] of [oldKey, newKey].entries()) {
    await verifyAssertion(
      both,
      await signAssertion(endpoint, key.keyId, both.keys[index]!),
    );
  }

  // Merging a key that is already there changes nothing and prints a note.
  const bothText = await Deno.readTextFile(path);
  const again = await run(endpoint, [
    "--key-id",
    "alias/signer-old",
    "--key-id",
    "alias/signer-new",
    "--merge",
    path,
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, bothText);
  for (const jwk of both.keys) {
    assert.ok(
      again.stderr.includes(`note: '${path}' already has kid '${jwk.kid}'`),
      again.stderr,
    );
  }
  const quiet = await run(endpoint, [
    "--key-id",
    "alias/signer-old",
    "--merge",
    path,
    "--quiet",
  ]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, "");

  // After the switch, the old key is published no more.
  const retired = await run(endpoint, ["--key-id", "alias/signer-new"]);
  const onlyNew = parseJwks(retired.stdout);
  await assert.rejects(
    verifyAssertion(
      onlyNew,
      await signAssertion(endpoint, oldKey.keyId, both.keys[0]!),
    ),
  );
});

Deno.test("jwks script rejects kid clashes", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("RSA_2048");
  const other = await endpoint.createKey("RSA_2048");
  const jwk = parseJwks((await run(endpoint, ["--key-id", key.keyId])).stdout)
    .keys[0]!;
  const otherJwk = parseJwks(
    (await run(endpoint, ["--key-id", other.keyId])).stdout,
  ).keys[0]!;

  // The same kid for other key material.
  const clashPath = `${dir.path}/clash.json`;
  await Deno.writeTextFile(
    clashPath,
    JSON.stringify({ keys: [{ ...otherJwk, kid: jwk.kid }] }),
  );
  const clash = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--merge",
    clashPath,
  ]);
  assert.equal(clash.code, 2, clash.stderr);
  assert.ok(
    clash.stderr.includes(
      `Cannot add the key with kid '${jwk.kid}': key 1 (kid '${jwk.kid}') of ` +
        `'${clashPath}' has that kid with other key material`,
    ),
    clash.stderr,
  );
  assert.equal(clash.stdout, "");

  // The same key and kid with another alg.
  const algPath = `${dir.path}/alg.json`;
  await Deno.writeTextFile(algPath, JSON.stringify({ keys: [jwk] }));
  const algChange = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--merge",
    algPath,
    "--alg",
    "PS256",
  ]);
  assert.equal(algChange.code, 2, algChange.stderr);
  assert.ok(
    algChange.stderr.includes(
      'is the same key with other members (alg "RS256" there, "PS256" here)',
    ),
    algChange.stderr,
  );

  // The same key under another kid is added, with a note.
  const keyIdKid = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--merge",
    algPath,
    "--kid",
    "key-id",
  ]);
  assert.equal(keyIdKid.code, 0, keyIdKid.stderr);
  assert.deepEqual(
    parseJwks(keyIdKid.stdout).keys.map((entry) => entry.kid),
    [jwk.kid, key.keyId],
  );
  assert.ok(
    keyIdKid.stderr.includes(
      `under kid '${jwk.kid}'; it is added with kid '${key.keyId}'`,
    ),
    keyIdKid.stderr,
  );
});

Deno.test("jwks script rejects bad merge files", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const cases: [string, string | Uint8Array, string][] = [
    ["truncated.json", '{"keys": [', "invalid JSON ("],
    ["array.json", "[]", "the JSON text is an array, not an object"],
    [
      "jwk.json",
      '{"kty": "EC"}',
      "the object has no 'keys' member (it looks like a single JWK",
    ],
    ["keys.json", '{"keys": {}}', "'keys' is an object, not an array"],
    ["element.json", '{"keys": [7]}', "key 1 is a number, not an object"],
    [
      "kty.json",
      '{"keys": [{"kid": "a"}]}',
      "key 1 (kid 'a') has no string 'kty'",
    ],
    [
      "kid.json",
      '{"keys": [{"kty": "EC", "kid": 3}]}',
      "key 1 has a 'kid' that is not a string",
    ],
    [
      "private.json",
      '{"keys": [{"kty": "EC"}, {"kty": "EC", "kid": "p", "d": "AA"}]}',
      "key 2 (kid 'p') has the private key member 'd'",
    ],
    [
      "secret.json",
      '{"keys": [{"kty": "oct", "k": "AA"}]}',
      "has the private key member 'k'",
    ],
    ["latin1.json", Uint8Array.of(0x7b, 0xe9, 0x7d), "it is not UTF-8 text"],
  ];
  for (const [name, contents, message] of cases) {
    const path = `${dir.path}/${name}`;
    if (typeof contents === "string") await Deno.writeTextFile(path, contents);
    else await Deno.writeFile(path, contents);
    const before = endpoint.kms.calls.length;
    const result = await run(endpoint, [
      "--key-id",
      key.keyId,
      "--merge",
      path,
    ]);
    assert.equal(result.code, 2, `${name}: ${result.stderr}`);
    assert.ok(
      result.stderr.includes(`Cannot read JWKS '${path}': `),
      result.stderr,
    );
    assert.ok(result.stderr.includes(message), `${name}: ${result.stderr}`);
    assert.equal(result.stdout, "");
    assert.equal(endpoint.kms.calls.length, before);
  }

  const missing = await run(endpoint, [
    "--key-id",
    key.keyId,
    "--merge",
    `${dir.path}/none.json`,
  ]);
  assert.equal(missing.code, 5, missing.stderr);
  assert.match(
    missing.stderr,
    /Cannot read --merge '.*none\.json': the file does not exist\. Check the path\./,
  );
});

Deno.test("jwks script target warnings", async () => {
  await using endpoint = await startEndpoint();
  const k1 = await endpoint.createKey("ECC_SECG_P256K1");
  const ed25519 = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const mlDsa = await endpoint.createKey("ML_DSA_44");
  const p521 = await endpoint.createKey("ECC_NIST_P521");
  const rsa = await endpoint.createKey("RSA_3072");
  const cases: [string[], RegExp | null][] = [
    [
      ["--key-id", k1.keyId, "--target", "okta"],
      /warning: Okta accepts only RSA and EC P-256, P-384 and P-521 keys, and KMS key '[^']+' is ECC_SECG_P256K1/,
    ],
    [
      ["--key-id", ed25519.keyId, "--target", "servicenow"],
      /warning: ServiceNow accepts only RSA .* is ECC_NIST_EDWARDS25519/,
    ],
    [
      ["--key-id", mlDsa.keyId, "--target", "okta", "--format", "pem"],
      /is ML_DSA_44/,
    ],
    [
      ["--key-id", rsa.keyId, "--target", "servicenow", "--alg", "PS256"],
      /warning: ServiceNow lists RS256, .* not PS256/,
    ],
    [["--key-id", p521.keyId, "--key-id", rsa.keyId, "--target", "okta"], null],
    [["--key-id", rsa.keyId, "--target", "okta", "--alg", "PS512"], null],
    [["--key-id", k1.keyId, "--key-id", mlDsa.keyId], null],
    [["--key-id", ed25519.keyId, "--target", "generic"], null],
  ];
  for (const [args, warning] of cases) {
    const result = await run(endpoint, args);
    assert.equal(result.code, 0, result.stderr);
    assert.notEqual(result.stdout, "");
    if (warning) assert.match(result.stderr, warning);
    else assert.equal(result.stderr, "", args.join(" "));
  }
});

Deno.test("jwks script rejects bad flags", async () => {
  await using endpoint = await startEndpoint();
  const a = await endpoint.createKey("ECC_NIST_P256");
  const b = await endpoint.createKey("ECC_NIST_P256");
  const two = ["--key-id", a.keyId, "--key-id", b.keyId];
  const cases: [string[], string][] = [
    [
      ["--key-id", a.keyId, "--format", "xml"],
      "Invalid --format 'xml': expected jwks, jwk, pem, der.",
    ],
    [
      ["--key-id", a.keyId, "--kid", "sha1"],
      "Cannot use --kid 'sha1': expected thumbprint, key-id or literal:VALUE",
    ],
    [["--key-id", a.keyId, "--kid", "literal:"], "Cannot use --kid 'literal:'"],
    [
      ["--key-id", a.keyId, "--use", "enc"],
      "Invalid --use 'enc': expected sig, none.",
    ],
    [["--key-id", a.keyId, "--key-ops", "sign"], "Invalid --key-ops 'sign'"],
    [
      ["--key-id", a.keyId, "--target", "auth0"],
      "Invalid --target 'auth0': expected generic, okta, servicenow.",
    ],
    [
      ["--key-id", a.keyId, "--format", "pem", "--alg", "ES256"],
      "Invalid --alg with --format pem",
    ],
    [
      ["--key-id", a.keyId, "--format", "der", "--kid", "key-id"],
      "Invalid --kid with --format der",
    ],
    [
      ["--key-id", a.keyId, "--format", "pem", "--compact"],
      "Invalid --compact with --format pem",
    ],
    [
      ["--key-id", a.keyId, "--format", "jwk", "--merge", "x.json"],
      "Invalid --merge with --format jwk",
    ],
    [["--key-id", a.keyId, "--force"], "Invalid --force without --out"],
    [["--key-id", a.keyId, "--out", ""], "Invalid --out ''"],
    [["--key-id", ""], "Invalid --key-id ''"],
    [[...two, "--format", "jwk"], "Invalid --format jwk with 2 keys"],
    [[...two, "--format", "der"], "Invalid --format der with 2 keys"],
    [
      [...two, "--kid", "literal:one"],
      "Invalid --kid literal:one with 2 keys: each key needs its own kid",
    ],
    [
      [...two, "--alg", "ES256", "--alg", "ES256", "--alg", "ES256"],
      "Invalid --alg given 3 times for 2 keys",
    ],
    [
      ["--key-id", a.keyId, "--alg", "ES256", "--alg", "ES256"],
      "Invalid --alg given 2 times for 1 key: give it once for all keys",
    ],
    [
      ["--key-id", a.keyId, "--cert", "a.pem", "--cert", "b.pem"],
      "Invalid --cert given 2 times for 1 key: give it once per key",
    ],
    [
      ["--key-id", a.keyId, "--format", "pem", "--merge", "x.json"],
      "Invalid --merge with --format pem: a merge writes a whole JWKS.",
    ],
    [[...two, "--cert", "a.pem"], "Invalid --cert given once for 2 keys"],
    [["--key-id", a.keyId, "--timeout", "0"], "Invalid --timeout '0'"],
    [["--key-id", a.keyId, "--bogus"], "Unknown option '--bogus'"],
  ];
  const before = endpoint.kms.calls.length;
  for (const [args, message] of cases) {
    const result = await run(endpoint, args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.ok(result.stderr.includes(message), `${message}\n${result.stderr}`);
    assert.match(result.stderr, /\nUsage: kms_public_key_to_jwks /);
    assert.equal(result.stdout, "");
  }
  assert.equal(endpoint.kms.calls.length, before);
});

Deno.test("jwks script help lists flags", async () => {
  const result = await runScript(SCRIPT, ["--help"]);
  assert.equal(result.code, 0, result.stderr);
  const flags = [
    "--key-id ID",
    "--alg ALG",
    "--kid MODE",
    "--use sig|none",
    "--key-ops verify",
    "--cert FILE",
    "--merge FILE",
    "--target NAME",
    "--format FORMAT",
    "--out FILE",
    "--force",
    "--compact",
    "--quiet",
    "--region REGION",
    "--profile NAME",
    "--endpoint-url URL",
    "--timeout SECONDS",
    "--help",
  ];
  for (const flag of flags) {
    assert.match(
      result.stdout,
      new RegExp(`^ {2}${flag.replace("|", "\\|")} `, "m"),
      flag,
    );
  }
  for (
    const fact of [
      "thumbprint (default)",
      "sig (default)",
      "jwks (default)",
      "generic (default)",
      "(default: 10)",
      "Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input",
    ]
  ) {
    assert.ok(result.stdout.includes(fact), fact);
  }
});

Deno.test("jwks script reads key id from stdin", async () => {
  await using endpoint = await startEndpoint();
  await endpoint.createKey("ECC_NIST_P256", { alias: "alias/jwks-stdin" });

  const result = await run(endpoint, [], { stdin: "alias/jwks-stdin\n" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(parseJwks(result.stdout).keys[0]!.alg, "ES256");
});

Deno.test("jwks script reports KMS errors", async (t) => {
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
      const result = await runScript(SCRIPT, testCase.args, { stdin: "" });
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr, testCase.message);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(result.stdout, "");
    });
  }
});

Deno.test("jwks script alg in any case", async () => {
  await using endpoint = await startEndpoint();
  const p256 = await endpoint.createKey("ECC_NIST_P256");
  const rsa = await endpoint.createKey("RSA_2048");
  const ed25519 = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const result = await run(endpoint, [
    "--key-id",
    p256.keyId,
    "--key-id",
    rsa.keyId,
    "--key-id",
    ed25519.keyId,
    "--alg",
    "es256",
    "--alg",
    "pS384",
    "--alg",
    "eddsa",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const keys = parseJwks(result.stdout).keys;
  assert.deepEqual(keys.map((key) => key.alg), ["ES256", "PS384", "EdDSA"]);
  for (const key of keys) {
    // jose takes the algorithm from the member, in its canonical case.
    await importJWK(key);
  }
});

Deno.test("jwks script help lists exit codes", async () => {
  const result = await runScript(SCRIPT, ["--help"]);
  assert.equal(result.code, 0, result.stderr);
  const text = result.stdout.replace(/\s+/g, " ");
  for (
    const code of [
      "0 success",
      "1 KMS call failed",
      "2 invalid flags or input",
      "3 key not usable",
      "4 signature did not verify",
      "5 output exists or a file cannot be read or written",
      "130 interrupted.",
    ]
  ) {
    assert.ok(text.includes(code), code);
  }
});

Deno.test("jwks script --profile uses its endpoint", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  await Deno.writeTextFile(
    `${dir.path}/credentials`,
    "[local]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n",
  );
  await Deno.writeTextFile(
    `${dir.path}/config`,
    "[profile local]\nregion = us-east-1\nservices = localkms\n\n" +
      `[services localkms]\nkms =\n  endpoint_url = ${endpoint.kms.url}\n`,
  );
  // Network access to 127.0.0.1 only, so a request meant for AWS fails on
  // the permission and stays here.
  const permissions = taskPermissions(SCRIPT).map((flag) =>
    flag.startsWith("--allow-net=") ? "--allow-net=127.0.0.1" : flag
  );
  const before = endpoint.kms.calls.length;
  const result = await runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    ...permissions,
    SCRIPT_PATH,
    "--key-id",
    key.keyId,
    "--profile",
    "local",
  ], {
    env: {
      AWS_CONFIG_FILE: `${dir.path}/config`,
      AWS_SHARED_CREDENTIALS_FILE: `${dir.path}/credentials`,
      AWS_ACCESS_KEY_ID: null,
      AWS_SECRET_ACCESS_KEY: null,
      AWS_SESSION_TOKEN: null,
      AWS_REGION: null,
      AWS_DEFAULT_REGION: null,
      AWS_PROFILE: null,
      AWS_ENDPOINT_URL: null,
      AWS_ENDPOINT_URL_KMS: null,
      INIT_CWD: null,
    },
    stdin: "",
  });
  assert.equal(result.code, 0, result.stderr);
  const jwk = parseJwks(result.stdout).keys[0]!;
  assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"));
  assert.deepEqual(
    endpoint.kms.calls.slice(before).map((call) => call.operation),
    ["GetPublicKey"],
  );
});

Deno.test("jwks script task writes caller's folder", async () => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const a = await endpoint.createKey("ECC_NIST_P256");
  const b = await endpoint.createKey("RSA_2048");
  const task = (args: string[]) =>
    runCommand(Deno.execPath(), [
      "task",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      "jwks",
      ...args,
      "--endpoint-url",
      endpoint.kms.url,
    ], { cwd: folder.path, env: { INIT_CWD: null }, stdin: "" });

  const first = await task(["--key-id", a.keyId, "--out", "set.json"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /^Wrote set\.json /);
  const merged = await task([
    "--key-id",
    b.keyId,
    "--merge",
    "set.json",
    "--out",
    "set.json",
    "--force",
  ]);
  assert.equal(merged.code, 0, merged.stderr);
  const jwks = parseJwks(await Deno.readTextFile(`${folder.path}/set.json`));
  assert.deepEqual(jwks.keys.map((key) => key.kty), ["EC", "RSA"]);
  await assert.rejects(Deno.stat(`${ROOT}set.json`), Deno.errors.NotFound);
});
