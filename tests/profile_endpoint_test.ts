/**
 * `--profile NAME` uses the endpoint of the profile in the shared config
 * file, as `AWS_PROFILE=NAME` does. The scripts run with network access
 * to 127.0.0.1 only, so a request meant for AWS fails on the permission
 * instead of leaving the machine.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startEndpoint } from "./_endpoint.ts";
import { runCommand, taskPermissions, tempDir } from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SCRIPT = "kms_generate_csr.ts";

/** Returns the task's permissions with the network narrowed to 127.0.0.1. */
function loopbackOnlyPermissions(script: string): string[] {
  const flags = taskPermissions(script);
  const net = flags.findIndex((flag) => flag.startsWith("--allow-net="));
  assert.ok(net >= 0, `${script} has no --allow-net= flag`);
  return flags.with(net, "--allow-net=127.0.0.1");
}

/** Two ways a profile names its KMS endpoint in the config file. */
function configFiles(url: string) {
  return [
    {
      name: "services section",
      config: "[profile local]\nregion = us-east-1\nservices = localkms\n\n" +
        `[services localkms]\nkms =\n  endpoint_url = ${url}\n`,
    },
    {
      name: "endpoint_url in profile",
      config: `[profile local]\nregion = us-east-1\nendpoint_url = ${url}\n`,
    },
  ];
}

const CREDENTIALS = "[local]\naws_access_key_id = AKIDPROFILETEST\n" +
  "aws_secret_access_key = profile-test-secret\n";

/** Returns an environment that leaves all settings to the config files. */
function profileEnv(dir: string): Record<string, string | null> {
  return {
    AWS_CONFIG_FILE: `${dir}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
    AWS_ACCESS_KEY_ID: null,
    AWS_SECRET_ACCESS_KEY: null,
    AWS_SESSION_TOKEN: null,
    AWS_REGION: null,
    AWS_DEFAULT_REGION: null,
    AWS_PROFILE: null,
    AWS_ENDPOINT_URL: null,
    AWS_ENDPOINT_URL_KMS: null,
    // The INIT_CWD of a `deno task test` run must not move the script.
    INIT_CWD: null,
  };
}

Deno.test("loopback permissions deny AWS", async () => {
  // The tests below rely on the narrowed flags denying AWS hosts.
  await using dir = await tempDir();
  const probe = `${dir.path}/probe.ts`;
  await Deno.writeTextFile(
    probe,
    "const aws = await Deno.permissions.query({ name: 'net', host: " +
      "'kms.us-east-1.amazonaws.com' });\n" +
      "const local = await Deno.permissions.query({ name: 'net', host: " +
      "'127.0.0.1' });\nconsole.log(aws.state, local.state);\n",
  );
  const result = await runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    ...loopbackOnlyPermissions(SCRIPT),
    probe,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), "prompt granted");
});

Deno.test("csr --profile uses profile endpoint", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  await Deno.writeTextFile(`${dir.path}/credentials`, CREDENTIALS);

  for (const files of configFiles(endpoint.kms.url)) {
    for (const how of ["--profile", "AWS_PROFILE"]) {
      await t.step(`${files.name}, ${how}`, async () => {
        await Deno.writeTextFile(`${dir.path}/config`, files.config);
        const env = profileEnv(dir.path);
        const args = ["--key-id", key.keyId, "--subject", "/CN=profile"];
        if (how === "--profile") args.push("--profile", "local");
        else env.AWS_PROFILE = "local";
        const before = endpoint.kms.calls.length;

        const result = await runCommand(Deno.execPath(), [
          "run",
          "--quiet",
          "--no-prompt",
          ...loopbackOnlyPermissions(SCRIPT),
          `${ROOT}scripts/${SCRIPT}`,
          ...args,
          "--out",
          "-",
          "--quiet",
        ], { env });

        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /BEGIN CERTIFICATE REQUEST/);
        const calls = endpoint.kms.calls.slice(before);
        assert.deepEqual(calls.map((call) => call.operation), [
          "GetPublicKey",
          "Sign",
        ]);
      });
    }
  }
});
