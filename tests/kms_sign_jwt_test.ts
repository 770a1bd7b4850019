import assert from "node:assert/strict";
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
} from "jose";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import { runCommand, runScript, taskPermissions, tempDir } from "./_helpers.ts";

const USAGE_LINE = "Usage: kms_sign_jwt --key-id ID";
const ROOT = new URL("../", import.meta.url).pathname;

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

Deno.test("kms_sign_jwt kid modes match JWKS", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("RSA_2048", { alias: "alias/jwt-kid" });
  const exported = await runScript("kms_public_key_to_jwks.ts", [
    "--key-id",
    "alias/jwt-kid",
    "--kid",
    "key-id",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(exported.code, 0, exported.stderr);
  const jwks = JSON.parse(exported.stdout);
  assert.equal(jwks.keys[0].kid, key.keyId);

  const signed = await signJwt(endpoint, [
    "--key-id",
    "alias/jwt-kid",
    "--kid",
    "key-id",
    "--sub",
    "kid-test",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const token = signed.stdout.trim();
  assert.equal(decodeProtectedHeader(token).kid, key.keyId);
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks));
  assert.equal(payload.sub, "kid-test");

  const thumbprintJwks = await publishedJwks(endpoint, key.keyId);
  const cases: [string, string][] = [
    ["thumbprint", thumbprintJwks.keys[0].kid],
    ["literal:key-id", "key-id"],
    ["literal:thumbprint", "thumbprint"],
    ["verifier-map-1", "verifier-map-1"],
    ["literal:a:b", "a:b"],
  ];
  for (const [mode, kid] of cases) {
    const result = await signJwt(endpoint, [
      "--key-id",
      key.arn,
      "--kid",
      mode,
    ]);
    assert.equal(result.code, 0, `${mode}: ${result.stderr}`);
    assert.equal(decodeProtectedHeader(result.stdout.trim()).kid, kid, mode);
  }
});

Deno.test("kms_sign_jwt rejects inexact claim values", async (t) => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const file = `${folder.path}/claims.json`;
  const cases: {
    name: string;
    args?: string[];
    json?: string;
    message: string[];
  }[] = [
    {
      name: "infinite number",
      args: ["--claim", "n=1e400"],
      message: ["claim 'n' number '1e400'", "null", `"1e400"`],
    },
    {
      name: "unsafe integer",
      args: ["--claim", "big=12345678901234567890"],
      message: [
        "claim 'big' number '12345678901234567890'",
        "MAX_SAFE_INTEGER",
        `"12345678901234567890"`,
      ],
    },
    {
      // As a number, 1.5e300 is an integer, and far beyond the safe ones.
      name: "large exponent",
      args: ["--claim", "f=1.5e300"],
      message: ["claim 'f' number '1.5e300'", "MAX_SAFE_INTEGER"],
    },
    {
      name: "nested unsafe integer",
      args: ["--claim", 'o={"a":[1,-9007199254740993]}'],
      message: ["claim 'o' number '-9007199254740993'"],
    },
    {
      name: "string exp",
      args: ["--claim", 'exp="soon"'],
      message: [`claim 'exp' value '"soon"'`, "NumericDate"],
    },
    {
      name: "bare string nbf",
      args: ["--claim", "nbf=tomorrow"],
      message: [`claim 'nbf' value '"tomorrow"'`, "NumericDate"],
    },
    {
      name: "null iat",
      args: ["--claim", "iat=null"],
      message: ["claim 'iat' value 'null'", "NumericDate"],
    },
    {
      name: "file infinite number",
      json: '{"ok": 1, "n": -1e400}',
      message: ["claim 'n' number '-1e400' from --claims-json", file],
    },
    {
      name: "file unsafe integer",
      json: '{"o": {"id": 12345678901234567890}}',
      message: ["claim 'o' number '12345678901234567890'", "MAX_SAFE_INTEGER"],
    },
    {
      name: "file string exp",
      json: '{"exp": "4102444800"}',
      message: [`claim 'exp' value '"4102444800"' from --claims-json`],
    },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const args = testCase.args ?? ["--claims-json", file];
      if (testCase.json !== undefined) {
        await Deno.writeTextFile(file, testCase.json);
      }
      const before = endpoint.kms.calls.length;
      const result = await signJwt(endpoint, ["--key-id", key.keyId, ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      for (const part of testCase.message) {
        assert.ok(result.stderr.includes(part), `${part}\n${result.stderr}`);
      }
      assert.equal(endpoint.kms.calls.length, before, "a KMS call was made");
    });
  }

  await t.step("quoted values pass", async () => {
    const result = await signJwt(endpoint, [
      "--key-id",
      key.keyId,
      "--claim",
      'big="12345678901234567890"',
      "--claim",
      "n=9007199254740991",
      "--claim",
      "f=-2.5e-7",
      "--claim",
      "nbf=1767225600.5",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const payload = decodeJwt(result.stdout.trim());
    assert.equal(payload.big, "12345678901234567890");
    assert.equal(payload.n, 9007199254740991);
    assert.equal(payload.nbf, 1767225600.5);
    assert.equal(payload.f, -2.5e-7);
  });
});

Deno.test("kms_sign_jwt warns on okta overrides", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const okta = [
    "--key-id",
    key.keyId,
    "--preset",
    "okta",
    "--client-id",
    "0oa1example",
    "--aud",
    "https://example.okta.com/oauth2/v1/token",
  ];
  const cases: [string[], string, string][] = [
    [["--iss", "other-iss"], "other-iss", "0oa1example"],
    [["--sub", "other-sub"], "0oa1example", "other-sub"],
    [["--iss", "a", "--sub", "b"], "a", "b"],
    [["--claim", "sub=from-claim"], "0oa1example", "from-claim"],
  ];
  for (const [args, iss, sub] of cases) {
    const result = await signJwt(endpoint, [...okta, ...args]);
    assert.equal(result.code, 0, result.stderr);
    const payload = decodeJwt(result.stdout.trim());
    assert.equal(payload.iss, iss);
    assert.equal(payload.sub, sub);
    assert.ok(
      result.stderr.startsWith(
        `warning: --preset okta with iss '${iss}' and sub '${sub}': Okta ` +
          "will reject the assertion",
      ),
      result.stderr,
    );
  }
  const plain = await signJwt(endpoint, [...okta, "--iss", "0oa1example"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stderr, "");
});

Deno.test("kms_sign_jwt missing claims file", async () => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const path = `${folder.path}/none.json`;
  const before = endpoint.kms.calls.length;
  const result = await signJwt(endpoint, [
    "--key-id",
    key.keyId,
    "--claims-json",
    path,
  ]);
  assert.equal(result.code, 5, result.stderr);
  assert.equal(
    result.stderr,
    `error: Cannot read --claims-json '${path}': the file does not exist. ` +
      "Check the path.\n",
  );
  assert.equal(result.stdout, "");
  assert.equal(endpoint.kms.calls.length, before);

  const folderResult = await signJwt(endpoint, [
    "--key-id",
    key.keyId,
    "--claims-json",
    folder.path,
  ]);
  assert.equal(folderResult.code, 5, folderResult.stderr);
  assert.match(folderResult.stderr, /it is a folder, not a file/);
});

Deno.test("kms_sign_jwt help lists exit codes", async () => {
  const help = await runScript("kms_sign_jwt.ts", ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  const text = help.stdout.replace(/\s+/g, " ");
  assert.ok(
    text.includes(
      "Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input, " +
        "3 key not usable, 4 signature did not verify, 5 output exists or " +
        "a file cannot be read or written, 130 interrupted.",
    ),
    help.stdout,
  );
  assert.ok(text.includes("--kid MODE The kid header. thumbprint (default)"));
});

Deno.test("kms_sign_jwt alg in any case", async () => {
  await using endpoint = await startEndpoint();
  const rsa = await endpoint.createKey("RSA_3072");
  const p384 = await endpoint.createKey("ECC_NIST_P384");
  const cases: [string, string, string[]][] = [
    [rsa.keyId, "PS256", ["--alg", "ps256"]],
    [rsa.keyId, "RS512", ["--alg", "Rs512"]],
    [rsa.keyId, "PS384", ["--alg", "rsassa_pss_sha_384"]],
    [p384.keyId, "ES384", ["--alg", "es384"]],
    [rsa.keyId, "RS384", [
      "--alg",
      "rs384",
      "--preset",
      "servicenow",
      "--client-id",
      "c",
      "--sub",
      "u",
      "--kid",
      "map",
    ]],
  ];
  for (const [keyId, alg, args] of cases) {
    const result = await signJwt(endpoint, ["--key-id", keyId, ...args]);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    const token = result.stdout.trim();
    assert.equal(decodeProtectedHeader(token).alg, alg);
    const jwks = await publishedJwks(endpoint, keyId);
    const jwk = {
      ...jwks.keys[0],
      alg,
      kid: decodeProtectedHeader(token).kid,
    };
    await jwtVerify(token, createLocalJWKSet({ keys: [jwk] }));
  }
});

Deno.test("kms_sign_jwt --profile uses its endpoint", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  await Deno.writeTextFile(
    `${dir.path}/credentials`,
    "[local]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n",
  );
  // The task's permissions, but network access to 127.0.0.1 only: a
  // request meant for AWS fails on the permission and stays here.
  const permissions = taskPermissions("kms_sign_jwt.ts").map((flag) =>
    flag.startsWith("--allow-net=") ? "--allow-net=127.0.0.1" : flag
  );
  const configs = {
    "endpoint_url in profile": "[profile local]\nregion = us-east-1\n" +
      `endpoint_url = ${endpoint.kms.url}\n`,
    "services section": "[profile local]\nregion = us-east-1\n" +
      "services = localkms\n\n[services localkms]\nkms =\n" +
      `  endpoint_url = ${endpoint.kms.url}\n`,
  };
  for (const [name, config] of Object.entries(configs)) {
    await t.step(name, async () => {
      await Deno.writeTextFile(`${dir.path}/config`, config);
      const before = endpoint.kms.calls.length;
      const result = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-prompt",
        ...permissions,
        `${ROOT}scripts/kms_sign_jwt.ts`,
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
      });
      assert.equal(result.code, 0, result.stderr);
      await jwtVerify(
        result.stdout.trim(),
        createLocalJWKSet(await publishedJwks(endpoint, key.keyId)),
      );
      assert.deepEqual(
        endpoint.kms.calls.slice(before, before + 2).map((call) =>
          call.operation
        ),
        ["GetPublicKey", "Sign"],
      );
    });
  }
});

Deno.test("kms_sign_jwt task reads caller's files", async () => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  await Deno.writeTextFile(`${folder.path}/claims.json`, '{"from": "here"}');
  const result = await runCommand(Deno.execPath(), [
    "task",
    "--quiet",
    "--config",
    `${ROOT}deno.json`,
    "jwt",
    "--key-id",
    key.keyId,
    "--claims-json",
    "claims.json",
    "--endpoint-url",
    endpoint.kms.url,
  ], { cwd: folder.path, env: { INIT_CWD: null } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(decodeJwt(result.stdout.trim()).from, "here");
});
