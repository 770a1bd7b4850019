import assert from "node:assert/strict";
import { startEndpoint } from "./_endpoint.ts";
import { runCommand, runScript, tempDir, TEST_ENV } from "./_helpers.ts";
import {
  NODE_AVAILABLE,
  npmProject,
  startOAuthServer,
} from "./oauth_server/npm_project.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const EXAMPLE = `${ROOT}examples/lambda_okta/index.mjs`;

// Calls the handler as the Lambda runtime would and prints its result.
const INVOKE = `
import { handler } from "./index.mjs";
process.stdout.write(JSON.stringify(await handler()));
`;

Deno.test({
  name: "Lambda example gets an access token",
  ignore: !NODE_AVAILABLE,
  fn: async () => {
    await using folder = await tempDir();
    const built = await runCommand(Deno.execPath(), [
      "task",
      "--quiet",
      "bundle",
      "--out",
      `${folder.path}/kms_jwt.mjs`,
    ], { cwd: ROOT });
    assert.equal(built.code, 0, built.stderr);
    const project = await npmProject("node-bundle", {
      "package.json": JSON.stringify(
        {
          name: "kms-toolkit-bundle-test",
          private: true,
          type: "module",
          dependencies: { "@aws-sdk/client-kms": "3.1178.0" },
        },
        null,
        2,
      ),
    });
    await Deno.symlink(
      `${project}/node_modules`,
      `${folder.path}/node_modules`,
    );
    await Deno.copyFile(EXAMPLE, `${folder.path}/index.mjs`);
    await Deno.writeTextFile(`${folder.path}/invoke.mjs`, INVOKE);

    // A KMS key, its JWKS from the script, and a client registered with it.
    await using endpoint = await startEndpoint();
    await endpoint.createKey("ECC_NIST_P256", {
      alias: "alias/lambda",
    });
    const jwks = await runScript("kms_public_key_to_jwks.ts", [
      "--key-id",
      "alias/lambda",
      "--endpoint-url",
      endpoint.kms.url,
    ]);
    assert.equal(jwks.code, 0, jwks.stderr);
    await using server = await startOAuthServer([
      { client_id: "lambda-client", jwks: JSON.parse(jwks.stdout) },
    ]);

    const before = endpoint.kms.calls.length;
    const run = await runCommand("node", ["invoke.mjs"], {
      cwd: folder.path,
      env: {
        KMS_KEY_ID: "alias/lambda",
        CLIENT_ID: "lambda-client",
        TOKEN_URL: server.tokenEndpoint,
        SCOPE: "api:read",
        AWS_ENDPOINT_URL_KMS: endpoint.kms.url,
        AWS_ACCESS_KEY_ID: TEST_ENV.AWS_ACCESS_KEY_ID!,
        AWS_SECRET_ACCESS_KEY: TEST_ENV.AWS_SECRET_ACCESS_KEY!,
        AWS_REGION: TEST_ENV.AWS_REGION!,
        AWS_EC2_METADATA_DISABLED: "true",
      },
    });
    assert.equal(run.code, 0, run.stderr + server.log());

    const result = JSON.parse(run.stdout);
    assert.equal(result.tokenType, "Bearer");
    assert.equal(typeof result.accessToken, "string");
    assert.ok(result.accessToken.length > 20);
    assert.ok(result.expiresIn > 0);
    assert.deepEqual(
      endpoint.kms.calls.slice(before).map((call) => call.operation),
      ["GetPublicKey", "Sign"],
    );
  },
});
