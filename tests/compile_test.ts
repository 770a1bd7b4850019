import assert from "node:assert/strict";
import {
  classifyCompileFailure,
  taskPermissions as compilePermissions,
} from "../scripts/compile.ts";
import { startEndpoint } from "./_endpoint.ts";
import {
  openssl,
  runCommand,
  taskPermissions,
  tempDir,
  TEST_ENV,
} from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const COMPILE = `${ROOT}scripts/compile.ts`;
const HOST = Deno.build.target;
const DENORT_BIN = Deno.env.get("DENORT_BIN") || undefined;

const SKIP_REASON = "DENORT_BIN is not set. deno compile needs a denort " +
  "runtime and would download it from dl.deno.land, which these tests " +
  `never do. Set DENORT_BIN to a denort ${Deno.version.deno} binary for ` +
  `${HOST} to build and run the binaries.`;
if (!DENORT_BIN) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `compile_test: SKIPPED "compiled binaries run offline": ${SKIP_REASON}\n`,
    ),
  );
}

const TASKS = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`))
  .tasks as Record<string, string>;

Deno.test("compile reads task permissions", () => {
  const cases: [string, string, string[]][] = [
    ["csr", "scripts/kms_generate_csr.ts", ["--allow-write"]],
    ["jwks", "scripts/kms_public_key_to_jwks.ts", []],
    ["jwt", "scripts/kms_sign_jwt.ts", []],
  ];
  for (const [task, script] of cases) {
    const flags = compilePermissions(TASKS, script);
    // Read independently: the task's words that start with --allow-,
    // without their shell quotes.
    const expected = TASKS[task]!.split(" ")
      .map((word) => word.replace(/^'(.*)'$/, "$1"))
      .filter((word) => word.startsWith("--allow-"));
    assert.deepEqual(flags, expected, task);
    assert.ok(
      flags.some((flag) => flag.startsWith("--allow-env=AWS_*")),
      `${task}: the environment stays narrowed to AWS_* and friends`,
    );
  }
});

Deno.test("compile rejects a missing task", () => {
  assert.throws(
    () => compilePermissions(TASKS, "scripts/no_such_script.ts"),
    /Cannot find a deno.json task that runs 'scripts\/no_such_script.ts'/,
  );
});

Deno.test("compile classifies build failures", () => {
  const cases: [string, string][] = [
    [
      "Caused by:\n 0: Setting up base binary.\n 1: error sending request " +
      "for url (https://dl.deno.land/release/v2.9.6/denort-x.zip)",
      "runtime-download",
    ],
    [
      "error: Failed caching npm package '@esbuild/darwin-arm64@0.28.2'",
      "npm-download",
    ],
    ["TS2322 [ERROR]: Type 'string' is not assignable", "other"],
  ];
  for (const [stderr, kind] of cases) {
    assert.equal(classifyCompileFailure(stderr), kind, stderr);
  }
});

async function canIsolateNetwork(): Promise<boolean> {
  try {
    const output = await new Deno.Command("unshare", {
      args: ["-n", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false;
  }
}

const isolated = await canIsolateNetwork();
if (!isolated) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      'compile_test: SKIPPED "compile explains a failed download": ' +
        "`unshare -n` is not available, and without an empty network " +
        "namespace the test could reach dl.deno.land.\n",
    ),
  );
}

Deno.test({
  name: "compile explains a failed download",
  ignore: !isolated,
  async fn() {
    await using out = await tempDir();
    // An empty network namespace: the download fails at once and no
    // packet leaves the machine.
    const result = await runCommand("unshare", [
      "-n",
      Deno.execPath(),
      "run",
      "--quiet",
      ...taskPermissions("compile.ts"),
      COMPILE,
      "--target",
      "host",
      "--program",
      "kms_generate_csr",
      "--out-dir",
      out.path,
    ], { env: { DENORT_BIN: null } });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `Cannot build for ${HOST}: deno compile could not download its ` +
          `runtime denort-${HOST}\\.zip from dl\\.deno\\.land`,
      ),
    );
    assert.match(result.stderr, /Or set DENORT_BIN to a denort/);
  },
});

// NOTE: this test has not run yet: no denort runtime was available where
// it was written.
Deno.test({
  name: "compiled binaries run offline",
  ignore: !DENORT_BIN,
  async fn() {
    await using out = await tempDir();
    const build = await runCommand(Deno.execPath(), [
      "run",
      "--quiet",
      ...taskPermissions("compile.ts"),
      COMPILE,
      "--target",
      "host",
      "--out-dir",
      out.path,
    ]);
    assert.equal(build.code, 0, build.stderr);
    const binary = (name: string) => `${out.path}/${HOST}/${name}`;

    await using endpoint = await startEndpoint();
    const key = await endpoint.createKey("ECC_NIST_P256", {
      alias: "alias/compiled",
    });
    await using work = await tempDir();
    await using denoDir = await tempDir();
    // A bare environment: no HOME, an empty DENO_DIR, dummy credentials.
    const env: Record<string, string> = {
      ...TEST_ENV,
      DENO_DIR: denoDir.path,
    };
    const run = (name: string, args: string[]) =>
      new Deno.Command(binary(name), {
        args,
        env,
        clearEnv: true,
        cwd: work.path,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

    for (
      const name of [
        "kms_generate_csr",
        "kms_public_key_to_jwks",
        "kms_sign_jwt",
      ]
    ) {
      const help = await run(name, ["--help"]);
      assert.equal(help.code, 0, `${name} --help: ${text(help.stderr)}`);
      assert.match(text(help.stdout), new RegExp(`Usage: ${name}`));
    }

    const before = endpoint.kms.calls.length;
    const csr = await run("kms_generate_csr", [
      "--key-id",
      "alias/compiled",
      "--subject",
      "/CN=compiled.example.com",
      "--out",
      "request.csr",
      "--quiet",
      "--endpoint-url",
      endpoint.kms.url,
    ]);
    assert.equal(csr.code, 0, text(csr.stderr));
    assert.deepEqual(
      endpoint.kms.calls.slice(before).map((call) => call.operation),
      ["GetPublicKey", "Sign"],
    );
    const verified = await openssl([
      "req",
      "-in",
      `${work.path}/request.csr`,
      "-verify",
      "-noout",
    ]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stderr + verified.stdout, /verify OK/i);
    const publicKey = await openssl([
      "req",
      "-in",
      `${work.path}/request.csr`,
      "-pubkey",
      "-noout",
    ]);
    const der = await openssl(["pkey", "-pubin", "-outform", "DER"], {
      stdin: publicKey.stdout,
    });
    assert.deepEqual(der.stdoutBytes, key.spki);

    const jwksCalls = endpoint.kms.calls.length;
    const jwks = await run("kms_public_key_to_jwks", [
      "--key-id",
      "alias/compiled",
      "--quiet",
      "--endpoint-url",
      endpoint.kms.url,
    ]);
    assert.equal(jwks.code, 0, text(jwks.stderr));
    assert.equal(endpoint.kms.calls.length - jwksCalls, 1);
    const [jwk] = JSON.parse(text(jwks.stdout)).keys;
    const imported = await crypto.subtle.importKey(
      "jwk",
      { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["verify"],
    );
    assert.deepEqual(
      new Uint8Array(await crypto.subtle.exportKey("spki", imported)),
      key.spki,
    );
  },
});
