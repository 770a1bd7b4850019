import assert from "node:assert/strict";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { KmsToolkitError } from "../lib/errors.ts";
import { KmsJwtSigner } from "../lib/jwt.ts";
import {
  checkServiceNowAlgorithm,
  clientAssertionClaims,
  jwtBearerGrantClaims,
  NUMERIC_DATE_CLAIMS,
  parseClaimsJson,
  parseClaimValue,
  SERVICENOW_ALGORITHMS,
  signClientAssertion,
  signServiceNowAssertion,
} from "../lib/jwt_claims.ts";
import { startEndpoint } from "./_endpoint.ts";

const TOKEN_URL = "https://example.okta.com/oauth2/v1/token";
const NOW = new Date("2026-03-01T12:00:00.750Z");
const NOW_SECONDS = 1772366400;
const UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function rejects(
  action: () => unknown,
  code: string,
  substrings: string[],
): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, String(error));
    assert.equal(error.code, code, error.message);
    for (const substring of substrings) {
      assert.ok(
        error.message.includes(substring),
        `'${error.message}' lacks '${substring}'`,
      );
    }
    return true;
  });
}

Deno.test("clientAssertionClaims fields and order", () => {
  const claims = clientAssertionClaims({
    clientId: "0oa1example",
    tokenEndpoint: TOKEN_URL,
    now: NOW,
  });
  assert.deepEqual(Object.keys(claims), [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
  ]);
  assert.equal(claims.iss, "0oa1example");
  assert.equal(claims.sub, "0oa1example");
  assert.equal(claims.aud, TOKEN_URL);
  assert.equal(claims.iat, NOW_SECONDS);
  assert.equal(claims.exp, NOW_SECONDS + 300);
  assert.match(claims.jti, UUID);
  assert.equal(Object.hasOwn(claims, "nbf"), false);
});

Deno.test("clientAssertionClaims fresh jti and now", () => {
  const before = Math.floor(Date.now() / 1000);
  const first = clientAssertionClaims({
    clientId: "c",
    tokenEndpoint: TOKEN_URL,
  });
  const second = clientAssertionClaims({
    clientId: "c",
    tokenEndpoint: TOKEN_URL,
  });
  const after = Math.floor(Date.now() / 1000);
  assert.notEqual(first.jti, second.jti);
  assert.ok(first.iat >= before);
  assert.ok(first.iat <= after);
});

Deno.test("clientAssertionClaims expiresIn bounds", () => {
  const longest = clientAssertionClaims({
    clientId: "c",
    tokenEndpoint: TOKEN_URL,
    expiresIn: 3600,
    now: NOW,
  });
  assert.equal(longest.exp - longest.iat, 3600);
  const shortest = clientAssertionClaims({
    clientId: "c",
    tokenEndpoint: TOKEN_URL,
    expiresIn: 1,
    now: NOW,
  });
  assert.equal(shortest.exp - shortest.iat, 1);

  rejects(
    () =>
      clientAssertionClaims({
        clientId: "c",
        tokenEndpoint: TOKEN_URL,
        expiresIn: 3601,
      }),
    "INVALID_INPUT",
    ["'3601'", "Okta", "one hour", "3600"],
  );
  for (const expiresIn of [0, -5, 1.5, Number.NaN, Infinity]) {
    rejects(
      () =>
        clientAssertionClaims({
          clientId: "c",
          tokenEndpoint: TOKEN_URL,
          expiresIn,
        }),
      "INVALID_INPUT",
      [`'${expiresIn}'`, "whole number"],
    );
  }
});

Deno.test("clientAssertionClaims token endpoint checks", () => {
  const accepted = [
    TOKEN_URL,
    "https://login.example.com:8443/oauth2/default/v1/token?x=1",
    "http://127.0.0.1:8080/token",
    "http://127.10.0.3/token",
    "http://localhost:3000/token",
    "http://[::1]:9000/token",
  ];
  for (const url of accepted) {
    assert.equal(
      clientAssertionClaims({ clientId: "c", tokenEndpoint: url }).aud,
      url,
    );
  }

  const rejected = [
    { url: "http://example.okta.com/oauth2/v1/token", reason: "https://" },
    { url: "http://10.0.0.1/token", reason: "https://" },
    { url: "ftp://example.com/token", reason: "https://" },
    { url: "example.okta.com/oauth2/v1/token", reason: "https://" },
    { url: `${TOKEN_URL}#frag`, reason: "fragment" },
    { url: "", reason: "non-empty" },
    { url: ` ${TOKEN_URL}`, reason: "whitespace" },
  ];
  for (const { url, reason } of rejected) {
    rejects(
      () => clientAssertionClaims({ clientId: "c", tokenEndpoint: url }),
      "INVALID_INPUT",
      [`'${url}'`, reason],
    );
  }
});

Deno.test("clientAssertionClaims client id checks", () => {
  for (const clientId of ["", "   ", undefined, 5]) {
    rejects(
      () =>
        clientAssertionClaims({
          clientId: clientId as never,
          tokenEndpoint: TOKEN_URL,
        }),
      "INVALID_INPUT",
      ["clientId", "non-empty"],
    );
  }
  rejects(
    () => clientAssertionClaims({ clientId: "c\n", tokenEndpoint: TOKEN_URL }),
    "INVALID_INPUT",
    ["whitespace"],
  );
  rejects(
    () =>
      clientAssertionClaims({
        clientId: "c",
        tokenEndpoint: TOKEN_URL,
        now: new Date("not a date"),
      }),
    "INVALID_INPUT",
    ["Invalid Date"],
  );
});

Deno.test("jwtBearerGrantClaims defaults and audience", () => {
  const claims = jwtBearerGrantClaims({
    clientId: "a1b2c3",
    subject: "integration@example.com",
    now: NOW,
  });
  assert.deepEqual(Object.keys(claims), [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
  ]);
  assert.equal(claims.iss, "a1b2c3");
  assert.equal(claims.sub, "integration@example.com");
  assert.equal(claims.aud, "a1b2c3");
  assert.equal(claims.iat, NOW_SECONDS);
  assert.equal(claims.exp, NOW_SECONDS + 300);
  assert.match(claims.jti, UUID);

  const custom = jwtBearerGrantClaims({
    clientId: "a1b2c3",
    subject: "u",
    audience: "https://example.service-now.com/oauth_token.do",
    expiresIn: 60,
  });
  assert.equal(custom.aud, "https://example.service-now.com/oauth_token.do");
  assert.equal(custom.exp - custom.iat, 60);
});

Deno.test("jwtBearerGrantClaims rejects bad options", () => {
  const cases = [
    { options: { clientId: "", subject: "u" }, substrings: ["clientId"] },
    { options: { clientId: "c", subject: "" }, substrings: ["subject"] },
    {
      options: { clientId: "c", subject: "u", audience: "" },
      substrings: ["audience"],
    },
    {
      options: { clientId: "c", subject: "u", expiresIn: 7200 },
      substrings: ["'7200'", "3600"],
    },
  ];
  for (const { options, substrings } of cases) {
    rejects(() => jwtBearerGrantClaims(options), "INVALID_INPUT", substrings);
  }
});

Deno.test("checkServiceNowAlgorithm accepted and rejected", () => {
  assert.deepEqual(SERVICENOW_ALGORITHMS, [
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
  ]);
  for (const alg of SERVICENOW_ALGORITHMS) checkServiceNowAlgorithm(alg);

  for (const alg of ["PS256", "PS384", "PS512"]) {
    rejects(
      () => checkServiceNowAlgorithm(alg, "alias/sn"),
      "UNSUPPORTED_KEY",
      [`'${alg}'`, "'alias/sn'", "ServiceNow", `RS${alg.slice(2)}`],
    );
  }
  for (
    const alg of ["EdDSA", "ES256K", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87"]
  ) {
    rejects(
      () => checkServiceNowAlgorithm(alg),
      "UNSUPPORTED_KEY",
      [`'${alg}'`, "RS256, RS384, RS512, ES256, ES384, ES512", "RSA or NIST"],
    );
  }
});

Deno.test("signServiceNowAssertion on endpoint", async () => {
  await using endpoint = await startEndpoint();
  const rsa = await endpoint.createKey("RSA_2048");
  const signer = await KmsJwtSigner.create(endpoint.client, rsa.keyId);
  const assertion = await signServiceNowAssertion(signer, {
    clientId: "a1b2c3",
    subject: "integration@example.com",
    kid: "sn-map",
  });
  assert.deepEqual(decodeProtectedHeader(assertion), {
    alg: "RS256",
    typ: "JWT",
    kid: "sn-map",
  });
  const { payload } = await jwtVerify(
    assertion,
    createLocalJWKSet({ keys: [{ ...signer.jwk, kid: "sn-map" } as never] }),
    {
      audience: "a1b2c3",
      issuer: "a1b2c3",
      subject: "integration@example.com",
    },
  );
  assert.equal(payload.exp! - payload.iat!, 300);

  // Rejected algorithms fail before any Sign call.
  const ed = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const cases = [
    await KmsJwtSigner.create(endpoint.client, rsa.keyId, { alg: "PS256" }),
    await KmsJwtSigner.create(endpoint.client, ed.keyId),
  ];
  for (const rejected of cases) {
    const before = endpoint.kms.calls.length;
    await assert.rejects(
      signServiceNowAssertion(rejected, {
        clientId: "a1b2c3",
        subject: "u",
        kid: "sn-map",
      }),
      (error: unknown) =>
        error instanceof KmsToolkitError &&
        error.code === "UNSUPPORTED_KEY" &&
        error.message.includes(`'${rejected.alg}'`),
    );
    assert.equal(endpoint.kms.calls.length, before);
  }

  const before = endpoint.kms.calls.length;
  await assert.rejects(
    signServiceNowAssertion(signer, {
      clientId: "a1b2c3",
      subject: "u",
      kid: "",
    }),
    (error: unknown) =>
      error instanceof KmsToolkitError && error.message.includes("kid"),
  );
  assert.equal(endpoint.kms.calls.length, before);
});

Deno.test("signClientAssertion verifies with jose", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P384");
  const signer = await KmsJwtSigner.create(endpoint.client, key.keyId);
  const assertion = await signClientAssertion(signer, {
    clientId: "0oa1example",
    tokenEndpoint: TOKEN_URL,
    expiresIn: 120,
  });
  const { payload, protectedHeader } = await jwtVerify(
    assertion,
    createLocalJWKSet({ keys: [signer.jwk as never] }),
    { audience: TOKEN_URL, issuer: "0oa1example", subject: "0oa1example" },
  );
  assert.equal(protectedHeader.kid, signer.kid);
  assert.equal(payload.exp! - payload.iat!, 120);
  assert.match(String(payload.jti), UUID);
});

Deno.test("parseClaimValue JSON or text", () => {
  const cases: [string, unknown][] = [
    ["5", 5],
    ["-0.25", -0.25],
    ["9007199254740991", 9007199254740991],
    ["-9007199254740991", -9007199254740991],
    ['"5"', "5"],
    ['["a",{"b":null}]', ["a", { b: null }]],
    ["admin", "admin"],
    ["", ""],
    ["1e400x", "1e400x"],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(parseClaimValue("c", text), expected, text);
  }
  const proto = parseClaimValue("p", '{"__proto__": {"admin": true}}');
  assert.ok(Object.hasOwn(proto as object, "__proto__"));
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
});

Deno.test("parseClaimValue rejects inexact numbers", () => {
  const cases: [string, string[]][] = [
    ["1e400", ["claim 'c' number '1e400'", "null", 'string: "1e400"']],
    ["-1E999", ["number '-1E999'", "null"]],
    ["9007199254740992", ["'9007199254740992'", "MAX_SAFE_INTEGER"]],
    [
      "12345678901234567890",
      ["'12345678901234567890'", "read it as 12345678901234567000"],
    ],
    ['{"a":[0,{"b":1e309}]}', ["claim 'c' number '1e309'"]],
    ["1.5e300", ["'1.5e300'", "MAX_SAFE_INTEGER"]],
  ];
  for (const [text, substrings] of cases) {
    rejects(() => parseClaimValue("c", text), "INVALID_INPUT", substrings);
  }
  rejects(
    () => parseClaimValue("n", "1e400", { source: "--claim" }),
    "INVALID_INPUT",
    ["Cannot use claim 'n' number '1e400' from --claim: "],
  );
});

Deno.test("parseClaimValue NumericDate claims", () => {
  assert.deepEqual(NUMERIC_DATE_CLAIMS, ["exp", "nbf", "iat"]);
  for (const name of NUMERIC_DATE_CLAIMS) {
    assert.equal(parseClaimValue(name, "1767225600"), 1767225600);
    assert.equal(parseClaimValue(name, "1767225600.5"), 1767225600.5);
    for (const text of ['"1767225600"', "soon", "null", "[1]", "true"]) {
      const shown = JSON.stringify(parseClaimValue("other", text));
      rejects(() => parseClaimValue(name, text), "INVALID_INPUT", [
        `claim '${name}' value '${shown}'`,
        "NumericDate",
        "RFC 7519",
      ]);
    }
  }
});

Deno.test("parseClaimsJson objects and errors", () => {
  assert.deepEqual(
    Object.entries(parseClaimsJson('{"b": 1, "a": [2.5], "exp": 4102444800}')),
    [["b", 1], ["a", [2.5]], ["exp", 4102444800]],
  );
  const source = "--claims-json 'c.json'";
  const cases: [string, string[]][] = [
    ["{nope", ["Cannot parse --claims-json 'c.json': ", "JSON object"]],
    ["[1]", ["Cannot use --claims-json 'c.json': it holds an array"]],
    ["1e400", ["it holds 1e400, not a JSON object"]],
    ['"x"', ['it holds "x", not a JSON object']],
    [
      '{"a": 1, "id": 12345678901234567890}',
      [`claim 'id' number '12345678901234567890' from ${source}`],
    ],
    ['{"o": {"n": [-1e400]}}', ["claim 'o' number '-1e400'"]],
    ['{"iat": "now"}', [`claim 'iat' value '"now"' from ${source}`]],
    ['{"nbf": null}', ["claim 'nbf' value 'null'"]],
  ];
  for (const [text, substrings] of cases) {
    rejects(() => parseClaimsJson(text, { source }), "INVALID_INPUT", [
      ...substrings,
    ]);
  }
  rejects(() => parseClaimsJson("{"), "INVALID_INPUT", [
    "Cannot parse the claims JSON: ",
  ]);
});
