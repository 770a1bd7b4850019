import assert from "node:assert/strict";
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  importJWK,
  jwtVerify,
} from "jose";
import { publicJwkFor } from "../lib/jwk.ts";
import { startEndpoint } from "./_endpoint.ts";
import { runCommand, tempDir, TEST_ENV } from "./_helpers.ts";
import { NODE_AVAILABLE, npmProject } from "./oauth_server/npm_project.ts";

const ROOT = new URL("../", import.meta.url).pathname;

// The SDK version the Deno side resolves; the Lambda runtime ships its own.
const NODE_PACKAGE = {
  name: "kms-toolkit-bundle-test",
  private: true,
  type: "module",
  dependencies: { "@aws-sdk/client-kms": "3.1178.0" },
};

// Runs under Node: signs with the bundle against the local endpoint and
// prints the results as JSON.
const NODE_SCRIPT = `
import { KMSClient } from "@aws-sdk/client-kms";
import * as bundle from "./kms_jwt.mjs";

const { ENDPOINT, CASES, TOKEN_ENDPOINT } = process.env;
const client = new KMSClient({
  endpoint: ENDPOINT,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDLOCALTEST", secretAccessKey: "local" },
});
const results = [];
for (const { keyId, alg } of JSON.parse(CASES)) {
  const signer = await bundle.KmsJwtSigner.create(client, keyId, { alg });
  const assertion = await bundle.signClientAssertion(signer, {
    clientId: "lambda-client",
    tokenEndpoint: TOKEN_ENDPOINT,
  });
  const verified = await bundle.verifyJwt(assertion, {
    jwks: { keys: [signer.jwk] },
    audience: TOKEN_ENDPOINT,
  });
  const published = await bundle.publicJwkFor(
    Uint8Array.fromBase64(process.env["SPKI_" + keyId], {}),
    { alg: signer.alg },
  );
  results.push({
    keyId,
    alg: signer.alg,
    kid: signer.kid,
    jwk: signer.jwk,
    publishedKid: published.kid,
    assertion,
    verifiedHeader: verified.header,
  });
}
let rejection;
try {
  await bundle.signServiceNowAssertion(
    await bundle.KmsJwtSigner.create(client, JSON.parse(CASES)[0].keyId, { alg: "PS256" }),
    { clientId: "c", subject: "u", kid: "k" },
  );
} catch (error) {
  rejection = { name: error.name, code: error.code, isToolkitError: error instanceof bundle.KmsToolkitError };
}
// WebCrypto of Node.js 20 has no ML-DSA, so verifyJwt may reject the alg.
const mlDsa = await bundle.KmsJwtSigner.create(client, process.env.ML_DSA_KEY);
const mlDsaToken = await mlDsa.sign({ sub: "pq" });
let mlDsaVerify;
try {
  const verified = await bundle.verifyJwt(mlDsaToken, { jwks: { keys: [mlDsa.jwk] } });
  mlDsaVerify = { verified: true, alg: verified.header.alg };
} catch (error) {
  mlDsaVerify = { verified: false, code: error.code, message: error.message };
}
client.destroy();
process.stdout.write(JSON.stringify({
  node: process.version,
  nativeBase64: typeof Uint8Array.fromBase64 === "function",
  results,
  rejection,
  mlDsa: { token: mlDsaToken, jwk: mlDsa.jwk, verify: mlDsaVerify },
}));
`;

const CASES = [
  { keySpec: "RSA_2048", alg: "RS256" },
  { keySpec: "RSA_2048", alg: "PS384" },
  { keySpec: "ECC_NIST_P256", alg: "ES256" },
  { keySpec: "ECC_NIST_P384", alg: "ES384" },
  { keySpec: "ECC_NIST_P521", alg: "ES512" },
  { keySpec: "ECC_NIST_EDWARDS25519", alg: "EdDSA" },
];

Deno.test({
  name: "node bundle signs under Node",
  ignore: !NODE_AVAILABLE,
  fn: async () => {
    await using folder = await tempDir();
    const bundlePath = `${folder.path}/kms_jwt.mjs`;
    const built = await runCommand(Deno.execPath(), [
      "task",
      "--quiet",
      "bundle",
      "--out",
      bundlePath,
    ], { cwd: ROOT });
    assert.equal(built.code, 0, built.stderr);

    // One ESM file: only @aws-sdk is imported, jose and noble are inside.
    const source = await Deno.readTextFile(bundlePath);
    const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)]
      .map((match) => match[1]);
    assert.ok(imports.length > 0);
    for (const specifier of imports) {
      assert.match(specifier!, /^(@aws-sdk\/|node:)/);
    }
    assert.ok(!/from "(jose|@noble\/[^"]*)"/.test(source));
    // Module comments name packages, not the build's temporary folder.
    assert.ok(source.includes("// node_modules/jose/"));
    assert.ok(!source.includes("kms-toolkit-bundle-"));

    const project = await npmProject("node-bundle", {
      "package.json": JSON.stringify(NODE_PACKAGE, null, 2),
    });
    await Deno.symlink(
      `${project}/node_modules`,
      `${folder.path}/node_modules`,
    );
    await Deno.writeTextFile(`${folder.path}/sign.mjs`, NODE_SCRIPT);

    await using endpoint = await startEndpoint();
    const keys = [];
    const env: Record<string, string> = {};
    for (const testCase of CASES) {
      const key = await endpoint.createKey(testCase.keySpec);
      keys.push({ ...testCase, ...key });
      env[`SPKI_${key.keyId}`] = key.spki.toBase64();
    }
    const mlDsaKey = await endpoint.createKey("ML_DSA_44");
    const tokenEndpoint = "https://example.okta.com/oauth2/v1/token";
    const before = endpoint.kms.calls.length;
    const run = await runCommand("node", ["sign.mjs"], {
      cwd: folder.path,
      env: {
        ...env,
        ENDPOINT: endpoint.kms.url,
        ML_DSA_KEY: mlDsaKey.keyId,
        TOKEN_ENDPOINT: tokenEndpoint,
        CASES: JSON.stringify(keys.map(({ keyId, alg }) => ({ keyId, alg }))),
        AWS_EC2_METADATA_DISABLED: TEST_ENV.AWS_EC2_METADATA_DISABLED!,
      },
    });
    assert.equal(run.code, 0, run.stderr);
    const output = JSON.parse(run.stdout);
    assert.match(output.node, /^v\d+\./);

    // One GetPublicKey per signer and one Sign per token; the ServiceNow
    // rejection made a GetPublicKey but no Sign.
    const operations = endpoint.kms.calls.slice(before).map((call) =>
      call.operation
    );
    assert.equal(
      operations.filter((name) => name === "Sign").length,
      CASES.length + 1,
    );
    assert.equal(
      operations.filter((name) => name === "GetPublicKey").length,
      CASES.length + 2,
    );
    assert.deepEqual(output.rejection, {
      name: "KmsToolkitError",
      code: "UNSUPPORTED_KEY",
      isToolkitError: true,
    });

    for (const [index, key] of keys.entries()) {
      const result = output.results[index];
      assert.equal(result.keyId, key.keyId);
      assert.equal(result.alg, key.alg);

      // The kid is the thumbprint, as jose and the Deno library compute it.
      const expected = await publicJwkFor(key.spki, { alg: key.alg });
      assert.equal(result.kid, expected.kid);
      assert.equal(result.publishedKid, expected.kid);
      assert.equal(result.kid, await calculateJwkThumbprint(result.jwk));
      assert.deepEqual(result.jwk, expected);
      assert.deepEqual(result.verifiedHeader, {
        alg: key.alg,
        typ: "JWT",
        kid: expected.kid,
      });

      // jose in Deno verifies the Node-made token with the Deno-made JWK.
      const { payload, protectedHeader } = await jwtVerify(
        result.assertion,
        createLocalJWKSet({ keys: [expected as never] }),
        { audience: tokenEndpoint, issuer: "lambda-client" },
      );
      assert.equal(protectedHeader.alg, key.alg);
      assert.equal(payload.sub, "lambda-client");
      assert.equal(decodeJwt(result.assertion).jti, payload.jti);
      const publicKey = await importJWK(expected as never, key.alg);
      await jwtVerify(result.assertion, publicKey);
    }

    // The ML-DSA token verifies with jose here (Deno's WebCrypto has
    // ML-DSA). Under Node, verifyJwt verifies it or names the alg as
    // unsupported.
    const mlDsa = output.mlDsa;
    assert.deepEqual(mlDsa.jwk, await publicJwkFor(mlDsaKey.spki));
    const verified = await jwtVerify(
      mlDsa.token,
      createLocalJWKSet({ keys: [mlDsa.jwk] }),
    );
    assert.equal(verified.protectedHeader.alg, "ML-DSA-44");
    if (mlDsa.verify.verified) {
      assert.equal(mlDsa.verify.alg, "ML-DSA-44");
    } else {
      assert.equal(mlDsa.verify.code, "UNSUPPORTED_KEY", mlDsa.verify.message);
      assert.ok(mlDsa.verify.message.includes("'ML-DSA-44'"));
    }
  },
});
