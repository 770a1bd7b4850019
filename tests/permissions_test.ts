/**
 * The Deno permissions of the csr, jwks and jwt tasks: which hosts they
 * reach, the message for a denied host, and, in a network namespace
 * of its own, that AWS host names reach KMS over HTTPS through the tasks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { importSPKI, jwtVerify } from "jose";
import { encodePem } from "../lib/pem.ts";
import { startEndpoint } from "./_endpoint.ts";
import {
  openssl,
  runCommand,
  runScript,
  taskPermissions,
  tempDir,
} from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;

/** Set when this file runs again inside its own network namespace. */
const IN_NAMESPACE = Deno.env.get("KMS_TOOLKIT_TEST_NETNS") === "1";

/** Each KMS script, its task and flags that need no prompt. */
const SCRIPTS = [
  {
    script: "kms_generate_csr.ts",
    task: "csr",
    args: ["--subject", "/CN=permissions", "--out", "-", "--quiet"],
  },
  { script: "kms_public_key_to_jwks.ts", task: "jwks", args: [] },
  { script: "kms_sign_jwt.ts", task: "jwt", args: ["--iss", "permissions"] },
];

/** Hosts the tasks must reach: AWS, its credential endpoints, loopback. */
const ALLOWED_HOSTS = [
  "kms.us-east-1.amazonaws.com",
  "kms-fips.us-gov-west-1.amazonaws.com",
  "sts.amazonaws.com",
  "portal.sso.eu-west-1.amazonaws.com",
  "kms.cn-north-1.amazonaws.com.cn",
  "kms.eu-west-1.api.aws",
  "169.254.169.254",
  "[fd00:ec2::254]",
  "169.254.170.2",
  "169.254.170.23",
  "127.0.0.1",
  "127.0.0.1:8081",
  "localhost",
  "[::1]",
];

/** Hosts the tasks must not reach. */
const DENIED_HOSTS = [
  "example.com",
  "kms.example.internal",
  "kms.us-east-1.amazonaws.com.example.net",
  "evilamazonaws.com",
  "api.aws.example.net",
  "127.0.0.2",
  "10.0.0.1",
  "169.254.169.253",
  "[::2]",
];

/** Queries the net permission of hosts under a script's task flags. */
async function netStates(
  script: string,
  hosts: string[],
): Promise<Record<string, string>> {
  await using dir = await tempDir();
  const probe = `${dir.path}/probe.ts`;
  await Deno.writeTextFile(
    probe,
    "const states: Record<string, string> = {};\n" +
      "for (const host of JSON.parse(Deno.args[0]!)) {\n" +
      '  states[host] = (await Deno.permissions.query({ name: "net", host }))' +
      ".state;\n}\nconsole.log(JSON.stringify(states));\n",
  );
  const result = await runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    ...taskPermissions(script),
    probe,
    JSON.stringify(hosts),
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

Deno.test({
  name: "task net permissions list hosts",
  ignore: IN_NAMESPACE,
  async fn() {
    for (const { script } of SCRIPTS) {
      const states = await netStates(script, [
        ...ALLOWED_HOSTS,
        ...DENIED_HOSTS,
      ]);
      for (const host of ALLOWED_HOSTS) {
        assert.equal(states[host], "granted", `${script}: ${host}`);
      }
      for (const host of DENIED_HOSTS) {
        assert.notEqual(states[host], "granted", `${script}: ${host}`);
      }
    }
  },
});

Deno.test({
  name: "task flags grant nothing more",
  ignore: IN_NAMESPACE,
  fn() {
    for (const { script } of SCRIPTS) {
      const flags = taskPermissions(script);
      for (const flag of flags) {
        assert.doesNotMatch(
          flag,
          /^--allow-(all|run|ffi|import)\b|^--allow-(net|env)$/,
          `${script}: ${flag}`,
        );
      }
      assert.ok(flags.some((flag) => flag.startsWith("--allow-net=")));
      assert.ok(flags.some((flag) => flag.startsWith("--allow-env=")));
    }
    // The JWT signer prints its token and writes no file.
    assert.ok(
      !taskPermissions("kms_sign_jwt.ts").some((flag) =>
        flag.startsWith("--allow-write")
      ),
    );
  },
});

Deno.test({
  name: "other endpoint hosts rejected",
  ignore: IN_NAMESPACE,
  async fn(t) {
    const targets = [
      { host: "kms.example.internal", url: "http://kms.example.internal:8443" },
      { host: "127.0.0.2", url: "http://127.0.0.2:9" },
      { host: "[::2]", url: "http://[::2]:9" },
    ];
    for (const { script, args } of SCRIPTS) {
      // Deno denies these before any lookup or connection; check that the
      // task still denies them, so that no request can leave this machine.
      const states = await netStates(script, targets.map((t) => t.host));
      for (const { host, url } of targets) {
        assert.notEqual(states[host], "granted", `${script}: ${host}`);
        for (const via of ["--endpoint-url", "AWS_ENDPOINT_URL_KMS"]) {
          await t.step(`${script} ${host} by ${via}`, async () => {
            const result = await runScript(
              script,
              [
                "--key-id",
                "alias/elsewhere",
                ...args,
                ...(via === "--endpoint-url" ? [via, url] : []),
              ],
              via === "--endpoint-url" ? {} : { env: { [via]: url } },
            );
            assert.equal(result.code, 2, result.stderr);
            assert.ok(
              result.stderr.startsWith(
                `error: Cannot connect to '${host}' for KMS GetPublicKey on ` +
                  "key 'alias/elsewhere': the Deno permissions of this run " +
                  "do not allow network access to that host.",
              ),
              result.stderr,
            );
            assert.ok(
              result.stderr.includes(`\`deno run --allow-net=${host}\``),
              result.stderr,
            );
            assert.doesNotMatch(result.stderr, /^\s+at /m);
            assert.equal(result.stdout, "");
          });
        }
      }
    }
  },
});

Deno.test({
  name: "local_kms rejects other binds",
  ignore: IN_NAMESPACE,
  async fn() {
    // With net permission for 127.0.0.1 only, an attempt to bind another
    // address would fail on the permission. The error names loopback
    // instead, so the address is checked before any bind.
    for (
      const hostname of ["0.0.0.0", "192.0.2.1", "::", "localhost.example"]
    ) {
      const result = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        `${ROOT}scripts/local_kms.ts`,
        "--hostname",
        hostname,
        "--port",
        "0",
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.ok(
        result.stderr.startsWith(
          `error: Cannot bind the local KMS endpoint to '${hostname}': it ` +
            "is not a loopback address.",
        ),
        result.stderr,
      );
      assert.doesNotMatch(result.stderr, /Requires net access/);
      assert.equal(result.stdout, "");
    }
  },
});

/** Tells whether this machine can make a network namespace with loopback up. */
function canUnshare(): boolean {
  try {
    const probe = new Deno.Command("unshare", {
      args: ["--net", "--mount", "ip", "link", "set", "lo", "up"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return probe.success;
  } catch {
    return false;
  }
}

const NAMESPACE_TESTS = 2;

Deno.test({
  name: "AWS host names reach KMS",
  // NOTE: needs root for unshare; elsewhere the namespace tests are skipped.
  ignore: IN_NAMESPACE || !canUnshare(),
  async fn() {
    await using dir = await tempDir();
    // Only this namespace's /etc/hosts names these hosts; nothing else
    // can leave it, because it has no interface but loopback.
    const hosts = `${dir.path}/hosts`;
    await Deno.writeTextFile(
      hosts,
      "127.0.0.1 localhost\n127.0.0.1 kms.us-east-1.amazonaws.com\n" +
        "127.0.0.1 kms.example.internal\n",
    );
    const result = await runCommand("unshare", [
      "--net",
      "--mount",
      "bash",
      "-c",
      'ip link set lo up && mount --bind "$1" /etc/hosts && ' +
      'exec "$2" test --allow-all --no-check "$3"',
      "netns",
      hosts,
      Deno.execPath(),
      SELF,
    ], { env: { KMS_TOOLKIT_TEST_NETNS: "1" } });
    // TEST_ENV sets NO_COLOR, so the summary line has no escapes.
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 0, output);
    assert.match(
      output,
      new RegExp(`^ok \\| ${NAMESPACE_TESTS} passed .*\\| 0 failed`, "m"),
      output,
    );
  },
});

/** Throws unless every network interface of this process is loopback. */
function assertLoopbackOnly(): void {
  for (const { address } of Deno.networkInterfaces()) {
    assert.ok(
      address === "::1" || address.startsWith("127."),
      `Refusing to run outside a loopback-only namespace: ${address}`,
    );
  }
}

/** Starts a TLS endpoint on 127.0.0.1:443 that forwards to the local KMS. */
async function startTlsProxy(
  target: string,
  dir: string,
): Promise<AsyncDisposable & { ca: string }> {
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  const generated = await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=kms.us-east-1.amazonaws.com",
    "-addext",
    "subjectAltName=DNS:kms.us-east-1.amazonaws.com",
  ]);
  assert.equal(generated.code, 0, generated.stderr);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 443,
    cert: await Deno.readTextFile(cert),
    key: await Deno.readTextFile(key),
    onListen() {},
  }, async (request) => {
    const url = new URL(request.url);
    const response = await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: await request.arrayBuffer(),
    });
    return new Response(await response.arrayBuffer(), response);
  });
  return {
    ca: cert,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Runs a task as `deno task` expands it, with the given environment. */
function runTask(
  task: string,
  args: string[],
  env: Record<string, string | null>,
) {
  return runCommand(Deno.execPath(), ["task", "--quiet", task, ...args], {
    env,
    cwd: ROOT,
  });
}

Deno.test({
  name: "tasks reach KMS over HTTPS",
  ignore: !IN_NAMESPACE,
  async fn(t) {
    assertLoopbackOnly();
    await using endpoint = await startEndpoint();
    await using dir = await tempDir();
    const key = await endpoint.createKey("ECC_NIST_P256", {
      alias: "alias/netns",
    });
    await using proxy = await startTlsProxy(endpoint.kms.url, dir.path);
    // No --endpoint-url: the SDK's regional endpoint for us-east-1.
    const env = {
      NODE_EXTRA_CA_CERTS: proxy.ca,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL: null,
      AWS_ENDPOINT_URL_KMS: null,
    };

    await t.step("jwks", async () => {
      const result = await runTask("jwks", ["--key-id", "alias/netns"], env);
      assert.equal(result.code, 0, result.stderr);
      const [jwk] = JSON.parse(result.stdout).keys;
      const imported = await crypto.subtle.importKey(
        "jwk",
        jwk,
        { name: "ECDSA", namedCurve: "P-256" },
        true,
        ["verify"],
      );
      assert.deepEqual(
        new Uint8Array(await crypto.subtle.exportKey("spki", imported)),
        key.spki,
      );
    });

    await t.step("csr", async () => {
      const result = await runTask("csr", [
        "--key-id",
        "alias/netns",
        "--subject",
        "/CN=netns",
        "--out",
        `${dir.path}/netns.csr`,
        "--quiet",
      ], env);
      assert.equal(result.code, 0, result.stderr);
      const verified = await openssl([
        "req",
        "-in",
        `${dir.path}/netns.csr`,
        "-verify",
        "-noout",
      ]);
      assert.equal(verified.code, 0, verified.stderr);
    });

    await t.step("jwt", async () => {
      const result = await runTask("jwt", [
        "--key-id",
        "alias/netns",
        "--sub",
        "netns",
      ], env);
      assert.equal(result.code, 0, result.stderr);
      const publicKey = await importSPKI(
        encodePem("PUBLIC KEY", key.spki),
        "ES256",
      );
      const { payload } = await jwtVerify(result.stdout.trim(), publicKey);
      assert.equal(payload.sub, "netns");
    });

    await t.step("untrusted certificate", async () => {
      const result = await runTask("jwks", ["--key-id", "alias/netns"], {
        ...env,
        NODE_EXTRA_CA_CERTS: null,
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^error: Cannot trust the TLS certificate of the KMS endpoint for GetPublicKey on key 'alias\/netns': .*\(DEPTH_ZERO_SELF_SIGNED_CERT\)\. If a proxy or a private CA signs it, set NODE_EXTRA_CA_CERTS/,
      );
    });
  },
});

Deno.test({
  name: "denied host message works",
  ignore: !IN_NAMESPACE,
  async fn() {
    assertLoopbackOnly();
    await using endpoint = await startEndpoint();
    const key = await endpoint.createKey("ECC_NIST_P256");
    const url = endpoint.kms.url.replace("127.0.0.1", "kms.example.internal");
    for (const { script, args } of SCRIPTS) {
      const denied = await runScript(script, [
        "--key-id",
        key.keyId,
        ...args,
        "--endpoint-url",
        url,
      ]);
      assert.equal(denied.code, 2, denied.stderr);
      // Follow the message: its deno run flag, then the task's flags.
      const flag =
        /`deno run (--allow-net=[^`\s]+)`/.exec(denied.stderr)?.[1] ?? "";
      assert.equal(flag, "--allow-net=kms.example.internal");
      const allowed = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-prompt",
        flag,
        ...taskPermissions(script),
        `${ROOT}scripts/${script}`,
        "--key-id",
        key.keyId,
        ...args,
        "--endpoint-url",
        url,
      ]);
      assert.equal(allowed.code, 0, `${script}: ${allowed.stderr}`);
      assert.notEqual(allowed.stdout, "");
    }
  },
});

Deno.test({
  name: "credential_process needs run permission",
  ignore: IN_NAMESPACE,
  async fn() {
    await using endpoint = await startEndpoint();
    await using dir = await tempDir();
    const key = await endpoint.createKey("ECC_NIST_P256");
    const helper = `${dir.path}/credentials.sh`;
    await Deno.writeTextFile(
      helper,
      "#!/bin/sh\necho '" +
        JSON.stringify({
          Version: 1,
          AccessKeyId: "AKIDPROCESS",
          SecretAccessKey: "process-secret",
        }) + "'\n",
    );
    await Deno.chmod(helper, 0o755);
    await Deno.writeTextFile(
      `${dir.path}/config`,
      `[profile process]\ncredential_process = ${helper}\n` +
        "region = us-east-1\n",
    );
    // Only the profile provides credentials: no AWS_ACCESS_KEY_ID here.
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? dir.path,
      AWS_CONFIG_FILE: `${dir.path}/config`,
      AWS_SHARED_CREDENTIALS_FILE: `${dir.path}/credentials`,
      AWS_EC2_METADATA_DISABLED: "true",
      NO_COLOR: "1",
    };
    const denoDir = Deno.env.get("DENO_DIR");
    if (denoDir) env.DENO_DIR = denoDir;
    const run = async (flags: string[]) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--no-prompt",
          ...flags,
          `${ROOT}scripts/kms_public_key_to_jwks.ts`,
          "--key-id",
          key.keyId,
          "--profile",
          "process",
          "--endpoint-url",
          endpoint.kms.url,
        ],
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: output.code,
        stdout: new TextDecoder().decode(output.stdout),
        stderr: new TextDecoder().decode(output.stderr),
      };
    };

    const taskFlags = taskPermissions("kms_public_key_to_jwks.ts");
    const denied = await run(taskFlags);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      denied.stderr,
      /^error: Cannot find AWS credentials for profile 'process'\./,
    );
    assert.match(
      denied.stderr,
      /credential_process also needs --allow-run and all of --allow-env/,
    );
    // Following the message makes the same run work. A scoped
    // --allow-env would override an unscoped one, so it is replaced.
    const allowed = await run([
      ...taskFlags.filter((flag) => !flag.startsWith("--allow-env=")),
      "--allow-env",
      "--allow-run",
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(JSON.parse(allowed.stdout).keys[0].crv, "P-256");
  },
});
