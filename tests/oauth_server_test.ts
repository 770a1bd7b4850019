import assert from "node:assert/strict";
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importX509,
  jwtVerify,
} from "jose";
import { KmsToolkitError } from "../lib/errors.ts";
import { verifyJwt } from "../lib/jwt_verify.ts";
import { startEndpoint } from "./_endpoint.ts";
import { runScript, tempDir } from "./_helpers.ts";
import {
  NODE_AVAILABLE,
  startOAuthServer,
} from "./oauth_server/npm_project.ts";

const CLIENT_ASSERTION_TYPE =
  "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const OKTA_CASES = [
  { name: "RS256", keySpec: "RSA_2048", alg: undefined },
  { name: "PS256", keySpec: "RSA_2048", alg: "PS256" },
  { name: "ES256", keySpec: "ECC_NIST_P256", alg: undefined },
  { name: "ES384", keySpec: "ECC_NIST_P384", alg: undefined },
  { name: "ES512", keySpec: "ECC_NIST_P521", alg: undefined },
];

interface Jwks {
  keys: Record<string, unknown>[];
}

async function jwksOf(
  endpointUrl: string,
  keyId: string,
  alg?: string,
): Promise<Jwks> {
  const result = await runScript("kms_public_key_to_jwks.ts", [
    "--key-id",
    keyId,
    "--endpoint-url",
    endpointUrl,
    ...(alg ? ["--alg", alg] : []),
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

async function signOkta(
  endpointUrl: string,
  keyId: string,
  clientId: string,
  tokenEndpoint: string,
  extra: string[] = [],
): Promise<string> {
  const result = await runScript("kms_sign_jwt.ts", [
    "--key-id",
    keyId,
    "--endpoint-url",
    endpointUrl,
    "--preset",
    "okta",
    "--client-id",
    clientId,
    "--aud",
    tokenEndpoint,
    ...extra,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  return result.stdout.trim();
}

async function requestToken(tokenEndpoint: string, assertion: string) {
  const response = await fetch(tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      scope: "api:read",
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
    }),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test({
  name: "oidc-provider accepts KMS client assertions",
  ignore: !NODE_AVAILABLE,
  fn: async (t) => {
    await using endpoint = await startEndpoint();
    const url = endpoint.kms.url;

    // Register one client per case with the JWKS script's output.
    const cases = [];
    for (const testCase of OKTA_CASES) {
      const key = await endpoint.createKey(testCase.keySpec);
      const jwks = await jwksOf(url, key.keyId, testCase.alg);
      cases.push({
        ...testCase,
        keyId: key.keyId,
        clientId: `kms-${testCase.name.toLowerCase()}`,
        jwks,
      });
    }
    // A client that registered two keys, and a third key it does not know.
    const first = await endpoint.createKey("ECC_NIST_P256");
    const second = await endpoint.createKey("ECC_NIST_P256");
    const stranger = await endpoint.createKey("ECC_NIST_P256");
    const twoKeys = {
      keys: [
        ...(await jwksOf(url, first.keyId)).keys,
        ...(await jwksOf(url, second.keyId)).keys,
      ],
    };

    await using server = await startOAuthServer([
      ...cases.map((c) => ({ client_id: c.clientId, jwks: c.jwks })),
      { client_id: "kms-two-keys", jwks: twoKeys },
    ]);
    assert.match(server.tokenEndpoint, /^http:\/\/127\.0\.0\.1:\d+\//);

    for (const testCase of cases) {
      await t.step(testCase.name, async () => {
        const assertion = await signOkta(
          url,
          testCase.keyId,
          testCase.clientId,
          server.tokenEndpoint,
          testCase.alg ? ["--alg", testCase.alg] : [],
        );

        // jose checks the token against the registered JWKS on its own.
        const registered = testCase.jwks.keys[0]!;
        const { protectedHeader, payload } = await jwtVerify(
          assertion,
          createLocalJWKSet(testCase.jwks as never),
          { audience: server.tokenEndpoint, issuer: testCase.clientId },
        );
        assert.deepEqual(protectedHeader, {
          alg: testCase.name,
          typ: "JWT",
          kid: registered.kid,
        });
        assert.equal(registered.alg, testCase.name);
        assert.equal(payload.sub, testCase.clientId);
        assert.equal(payload.exp! - payload.iat!, 300);
        assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);

        const { status, body } = await requestToken(
          server.tokenEndpoint,
          assertion,
        );
        assert.equal(status, 200, `${JSON.stringify(body)}\n${server.log()}`);
        assert.equal(body.token_type, "Bearer");
        assert.equal(typeof body.access_token, "string");
        assert.ok(body.access_token.length > 20);
        assert.equal(body.scope, "api:read");

        // The server remembers the jti: the same assertion is refused.
        const replay = await requestToken(server.tokenEndpoint, assertion);
        assert.equal(replay.status, 401);
        assert.equal(replay.body.error, "invalid_client");
      });
    }

    await t.step("kid matching no registered key", async () => {
      const assertion = await signOkta(
        url,
        stranger.keyId,
        "kms-two-keys",
        server.tokenEndpoint,
      );
      const kid = decodeProtectedHeader(assertion).kid;
      assert.ok(!twoKeys.keys.some((jwk) => jwk.kid === kid));

      const { status, body } = await requestToken(
        server.tokenEndpoint,
        assertion,
      );
      assert.equal(status, 401);
      assert.equal(body.error, "invalid_client");
      assert.match(
        server.log(),
        /"event":"grant.error","client_id":"kms-two-keys"/,
      );

      // verifyJwt explains the same failure in terms of kids.
      await assert.rejects(
        verifyJwt(assertion, { jwks: twoKeys as never }),
        (error: unknown) => {
          assert.ok(error instanceof KmsToolkitError);
          assert.equal(error.code, "VERIFY_FAILED");
          assert.ok(error.message.includes(`kid '${kid}'`), error.message);
          for (const jwk of twoKeys.keys) {
            assert.ok(error.message.includes(String(jwk.kid)), error.message);
          }
          return true;
        },
      );
    });

    await t.step("registered key under a wrong kid", async () => {
      const assertion = await signOkta(
        url,
        first.keyId,
        "kms-two-keys",
        server.tokenEndpoint,
        ["--kid", "not-registered"],
      );
      const { status, body } = await requestToken(
        server.tokenEndpoint,
        assertion,
      );
      assert.equal(status, 401);
      assert.equal(body.error, "invalid_client");
    });

    await t.step("registered key with its kid", async () => {
      // The control case: the same client and key, with the published kid.
      const assertion = await signOkta(
        url,
        second.keyId,
        "kms-two-keys",
        server.tokenEndpoint,
      );
      const { status, body } = await requestToken(
        server.tokenEndpoint,
        assertion,
      );
      assert.equal(status, 200, JSON.stringify(body));
    });
  },
});

const SERVICENOW_CASES = [
  { keySpec: "RSA_2048", alg: "RS256" },
  { keySpec: "RSA_3072", alg: "RS384" },
  { keySpec: "ECC_NIST_P256", alg: "ES256" },
  { keySpec: "ECC_NIST_P384", alg: "ES384" },
  { keySpec: "ECC_NIST_P521", alg: "ES512" },
];

Deno.test("servicenow assertion verifies with certificate", async (t) => {
  await using endpoint = await startEndpoint();
  await using folder = await tempDir();
  const url = endpoint.kms.url;

  for (const testCase of SERVICENOW_CASES) {
    await t.step(testCase.alg, async () => {
      const key = await endpoint.createKey(testCase.keySpec);
      const certificatePath = `${folder.path}/${testCase.alg}.pem`;
      const csr = await runScript("kms_generate_csr.ts", [
        "--key-id",
        key.keyId,
        "--endpoint-url",
        url,
        "--subject",
        "/CN=servicenow-jwt",
        "--self-signed",
        "--out",
        certificatePath,
        "--quiet",
      ]);
      assert.equal(csr.code, 0, csr.stderr);
      const certificate = await Deno.readTextFile(certificatePath);
      const jwks = await jwksOf(url, key.keyId);

      const signed = await runScript("kms_sign_jwt.ts", [
        "--key-id",
        key.keyId,
        "--endpoint-url",
        url,
        "--preset",
        "servicenow",
        "--client-id",
        "a1b2c3d4",
        "--sub",
        "integration@example.com",
        "--kid",
        "kms-verifier-map",
        ...(testCase.alg.startsWith("RS") && testCase.alg !== "RS256"
          ? ["--alg", testCase.alg]
          : []),
      ]);
      assert.equal(signed.code, 0, signed.stderr);
      const assertion = signed.stdout.trim();

      const header = decodeProtectedHeader(assertion);
      assert.deepEqual(header, {
        alg: testCase.alg,
        typ: "JWT",
        kid: "kms-verifier-map",
      });
      const claims = decodeJwt(assertion);
      assert.equal(claims.iss, "a1b2c3d4");
      assert.equal(claims.aud, "a1b2c3d4");
      assert.equal(claims.sub, "integration@example.com");

      // verifyJwt with the certificate, as a verifier map stores it.
      const byCertificate = await verifyJwt(assertion, {
        certificate,
        audience: "a1b2c3d4",
        issuer: "a1b2c3d4",
      });
      assert.equal(byCertificate.payload.sub, "integration@example.com");

      // jose on its own, with the certificate's key.
      const certificateKey = await importX509(certificate, testCase.alg);
      const direct = await jwtVerify(assertion, certificateKey, {
        audience: "a1b2c3d4",
      });
      assert.equal(direct.payload.jti, claims.jti);

      // The JWKS lists the key under its thumbprint, not the map's kid, so
      // a kid lookup fails; with the thumbprint kid the same key verifies.
      await assert.rejects(
        verifyJwt(assertion, { jwks: jwks as never }),
        (error: unknown) =>
          error instanceof KmsToolkitError &&
          error.message.includes("'kms-verifier-map'"),
      );
      const jwk: Record<string, unknown> = {
        ...jwks.keys[0]!,
        kid: "kms-verifier-map",
      };
      if (testCase.alg !== "RS256") jwk.alg = testCase.alg;
      const byJwks = await verifyJwt(assertion, {
        jwks: { keys: [jwk as never] },
      });
      assert.equal(byJwks.header.kid, "kms-verifier-map");
      await jwtVerify(assertion, createLocalJWKSet({ keys: [jwk as never] }));
    });
  }
});

Deno.test("servicenow preset with thumbprint kid", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const jwks = await jwksOf(endpoint.kms.url, key.keyId);
  const kid = String(jwks.keys[0]!.kid);

  const signed = await runScript("kms_sign_jwt.ts", [
    "--key-id",
    key.keyId,
    "--endpoint-url",
    endpoint.kms.url,
    "--preset",
    "servicenow",
    "--client-id",
    "a1b2c3d4",
    "--sub",
    "integration@example.com",
    "--kid",
    kid,
    "--aud",
    "https://example.service-now.com/oauth_token.do",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const assertion = signed.stdout.trim();

  const { payload } = await verifyJwt(assertion, {
    jwks: jwks as never,
    audience: "https://example.service-now.com/oauth_token.do",
  });
  assert.equal(payload.iss, "a1b2c3d4");
  await jwtVerify(assertion, createLocalJWKSet(jwks as never), {
    audience: "https://example.service-now.com/oauth_token.do",
  });
});
