import assert from "node:assert/strict";
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
} from "jose";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import { runScript, tempDir } from "./_helpers.ts";

const USAGE_LINE = "Usage: kms_sign_jwt --key-id ID";

async function publishedJwks(endpoint: Endpoint, keyId: string) {
  const result = await runScript("kms_public_key_to_jwks.ts", [
    "--key-id",
    keyId,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

function signJwt(endpoint: Endpoint, args: string[], stdin?: string) {
  return runScript(
    "kms_sign_jwt.ts",
    ["--endpoint-url", endpoint.kms.url, ...args],
    { stdin },
  );
}

Deno.test("kms_sign_jwt claims from every source", async () => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256", {
    alias: "alias/jwt-test",
  });
  const claimsFile = `${folder.path}/claims.json`;
  await Deno.writeTextFile(
    claimsFile,
    JSON.stringify({ role: "file", tenant: "t1", iss: "from-file" }),
  );

  const before = endpoint.kms.calls.length;
  const result = await signJwt(endpoint, [
    "--key-id",
    "alias/jwt-test",
    "--iss",
    "svc",
    "--sub",
    "job-7",
    "--aud",
    "https://api.example.com",
    "--expires-in",
    "60",
    "--claims-json",
    claimsFile,
    "--claim",
    "role=admin",
    "--claim",
    "n=5",
    "--claim",
    'q="5"',
    "--claim",
    'o={"a":[1,true]}',
    "--claim",
    "empty=",
    "--claim",
    "url=https://x.example/?a=b",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.match(result.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  assert.deepEqual(
    endpoint.kms.calls.slice(before).map((call) => call.operation),
    ["GetPublicKey", "Sign"],
  );

  const token = result.stdout.trim();
  const jwks = await publishedJwks(endpoint, key.keyId);
  const { payload, protectedHeader } = await jwtVerify(
    token,
    createLocalJWKSet(jwks),
    { audience: "https://api.example.com", issuer: "svc" },
  );
  assert.deepEqual(protectedHeader, {
    alg: "ES256",
    typ: "JWT",
    kid: jwks.keys[0].kid,
  });
  assert.deepEqual(Object.keys(payload), [
    "iat",
    "exp",
    "jti",
    "role",
    "tenant",
    "iss",
    "n",
    "q",
    "o",
    "empty",
    "url",
    "sub",
    "aud",
  ]);
  assert.equal(payload.exp! - payload.iat!, 60);
  assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 30);
  assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
  assert.equal(payload.role, "admin");
  assert.equal(payload.tenant, "t1");
  assert.equal(payload.iss, "svc");
  assert.equal(payload.n, 5);
  assert.equal(payload.q, "5");
  assert.deepEqual(payload.o, { a: [1, true] });
  assert.equal(payload.empty, "");
  assert.equal(payload.url, "https://x.example/?a=b");
});

Deno.test("kms_sign_jwt claims JSON from stdin", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P384");
  const result = await signJwt(
    endpoint,
    ["--key-id", key.keyId, "--claims-json", "-"],
    '{"scope": ["read", "write"], "exp": 4102444800}',
  );
  assert.equal(result.code, 0, result.stderr);
  const payload = decodeJwt(result.stdout.trim());
  assert.deepEqual(payload.scope, ["read", "write"]);
  assert.equal(payload.exp, 4102444800);
});

Deno.test("kms_sign_jwt decode, kid and alg", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("RSA_2048");
  const result = await signJwt(endpoint, [
    "--key-id",
    key.keyId,
    "--alg",
    "PS256",
    "--kid",
    "rotation-2",
    "--sub",
    "x",
    "--decode",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const token = result.stdout.trim();
  const decoded = JSON.parse(result.stderr);
  assert.deepEqual(decoded.header, decodeProtectedHeader(token));
  assert.deepEqual(decoded.header, {
    alg: "PS256",
    typ: "JWT",
    kid: "rotation-2",
  });
  assert.deepEqual(decoded.payload, decodeJwt(token));

  const jwks = await publishedJwks(endpoint, key.keyId);
  const jwk = { ...jwks.keys[0], alg: "PS256", kid: "rotation-2" };
  await jwtVerify(token, createLocalJWKSet({ keys: [jwk] }));
});

Deno.test("kms_sign_jwt okta preset", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P521");
  const tokenUrl = "https://example.okta.com/oauth2/v1/token";
  const result = await signJwt(endpoint, [
    "--key-id",
    key.keyId,
    "--preset",
    "okta",
    "--client-id",
    "0oa1example",
    "--aud",
    tokenUrl,
    "--expires-in",
    "3600",
    "--sub",
    "override",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const token = result.stdout.trim();
  const jwks = await publishedJwks(endpoint, key.keyId);
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    audience: tokenUrl,
    issuer: "0oa1example",
  });
  assert.deepEqual(Object.keys(payload), [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
  ]);
  assert.equal(payload.sub, "override");
  assert.equal(payload.exp! - payload.iat!, 3600);
});

Deno.test("kms_sign_jwt bad flags before KMS", async (t) => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const arrayFile = `${folder.path}/array.json`;
  await Deno.writeTextFile(arrayFile, "[1, 2]");
  const brokenFile = `${folder.path}/broken.json`;
  await Deno.writeTextFile(brokenFile, "{nope");
  const okta = ["--preset", "okta", "--client-id", "c"];
  const servicenow = ["--preset", "servicenow", "--client-id", "c"];
  const https = ["--aud", "https://example.okta.com/oauth2/v1/token"];

  const cases: { name: string; args: string[]; message: string }[] = [
    { name: "unknown flag", args: ["--bogus"], message: "'--bogus'" },
    { name: "missing key id", args: [], message: "Missing --key-id" },
    { name: "stray argument", args: ["extra"], message: "extra" },
    { name: "unknown preset", args: ["--preset", "auth0"], message: "'auth0'" },
    {
      name: "client id alone",
      args: ["--client-id", "c"],
      message: "--client-id without --preset",
    },
    {
      name: "okta without client id",
      args: ["--preset", "okta", ...https],
      message: "Missing --client-id",
    },
    { name: "okta without aud", args: okta, message: "Missing --aud" },
    {
      name: "okta http aud",
      args: [...okta, "--aud", "http://example.okta.com/token"],
      message: "https://",
    },
    {
      name: "okta exp over an hour",
      args: [...okta, ...https, "--expires-in", "3601"],
      message: "one hour",
    },
    {
      name: "okta exp claim override",
      args: [...okta, ...https, "--claim", "exp=99999999999"],
      message: "Okta rejects",
    },
    {
      name: "servicenow without sub",
      args: [...servicenow, "--kid", "k"],
      message: "Missing --sub",
    },
    {
      name: "servicenow without kid",
      args: [...servicenow, "--sub", "u"],
      message: "Missing --kid",
    },
    {
      name: "servicenow PS256",
      args: [...servicenow, "--sub", "u", "--kid", "k", "--alg", "PS256"],
      message: "ServiceNow documents only",
    },
    {
      name: "servicenow EdDSA",
      args: [...servicenow, "--sub", "u", "--kid", "k", "--alg", "EdDSA"],
      message: "ServiceNow documents only",
    },
    { name: "unknown alg", args: ["--alg", "HS256"], message: "'HS256'" },
    { name: "empty kid", args: ["--kid", ""], message: "--kid ''" },
    { name: "zero expiry", args: ["--expires-in", "0"], message: "'0'" },
    {
      name: "fractional expiry",
      args: ["--expires-in", "1.5"],
      message: "'1.5'",
    },
    { name: "text expiry", args: ["--expires-in", "5m"], message: "'5m'" },
    { name: "claim without =", args: ["--claim", "role"], message: "'role'" },
    { name: "claim without name", args: ["--claim", "=x"], message: "'=x'" },
    {
      name: "claim given twice",
      args: ["--claim", "a=1", "--claim", "a=2"],
      message: "already set",
    },
    {
      name: "claims file missing",
      args: ["--claims-json", `${folder.path}/none.json`],
      message: "none.json",
    },
    {
      name: "claims file array",
      args: ["--claims-json", arrayFile],
      message: "not a JSON object",
    },
    {
      name: "claims file broken",
      args: ["--claims-json", brokenFile],
      message: "Cannot parse --claims-json",
    },
    { name: "zero timeout", args: ["--timeout", "0"], message: "--timeout" },
  ];

  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const before = endpoint.kms.calls.length;
      const keyArgs = testCase.name === "missing key id"
        ? []
        : ["--key-id", key.keyId];
      const result = await signJwt(endpoint, [...keyArgs, ...testCase.args]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.ok(
        result.stderr.includes(testCase.message),
        `'${result.stderr}' lacks '${testCase.message}'`,
      );
      if (!testCase.name.startsWith("claims file")) {
        assert.ok(result.stderr.includes(USAGE_LINE), result.stderr);
      }
      assert.equal(endpoint.kms.calls.length, before, "a KMS call was made");
    });
  }
});

Deno.test("kms_sign_jwt key cannot sign alg", async () => {
  await using endpoint = await startEndpoint();
  const p256 = await endpoint.createKey("ECC_NIST_P256");
  const ed = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const cases = [
    {
      args: ["--key-id", p256.keyId, "--alg", "RS256"],
      message: ["'RS256'", "ES256"],
    },
    {
      args: [
        "--key-id",
        ed.keyId,
        "--preset",
        "servicenow",
        "--client-id",
        "c",
        "--sub",
        "u",
        "--kid",
        "k",
      ],
      message: ["'EdDSA'", "ServiceNow"],
    },
  ];
  for (const testCase of cases) {
    const before = endpoint.kms.calls.length;
    const result = await signJwt(endpoint, testCase.args);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, "");
    for (const part of testCase.message) {
      assert.ok(result.stderr.includes(part), result.stderr);
    }
    assert.deepEqual(
      endpoint.kms.calls.slice(before).map((call) => call.operation),
      ["GetPublicKey"],
    );
  }
});

Deno.test("kms_sign_jwt missing key and help", async () => {
  await using endpoint = await startEndpoint();
  const missing = await signJwt(endpoint, ["--key-id", "alias/missing"]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /alias\/missing/);

  const help = await runScript("kms_sign_jwt.ts", ["--help"]);
  assert.equal(help.code, 0);
  assert.ok(help.stdout.includes(USAGE_LINE));
  assert.ok(help.stdout.includes("--preset okta"));
  assert.ok(help.stdout.includes("parsed as JSON"));
});
