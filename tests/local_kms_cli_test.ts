import assert from "node:assert/strict";
import {
  KMSClient,
  KMSServiceException,
  ListAliasesCommand,
  ListKeysCommand,
  SignCommand,
} from "@aws-sdk/client-kms";
import { runScript, taskPermissions, tempDir } from "./_helpers.ts";

const SCRIPT = new URL("../scripts/local_kms.ts", import.meta.url).pathname;

interface Running {
  url: string;
  stdout: string;
  child: Deno.ChildProcess;
  /** Sends the signal and returns the exit code and all of stderr. */
  stop(signal: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Starts the CLI with its task's permissions and waits for the URL line. */
async function startCli(args: string[]): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...taskPermissions("local_kms.ts"),
      SCRIPT,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let match: RegExpExecArray | null = null;
  while (!(match = /^Local KMS listening on (\S+)$/m.exec(stdout))) {
    const { value, done } = await reader.read();
    if (done) {
      const status = await child.status;
      throw new Error(
        `CLI exited ${status.code} before listening: ${stdout}${await stderr}`,
      );
    }
    stdout += value;
  }
  return {
    url: match[1]!,
    stdout,
    child,
    async stop(signal) {
      child.kill(signal);
      const status = await child.status;
      // Drain standard output so the process resources close.
      while (!(await reader.read()).done);
      return { code: status.code, stderr: await stderr };
    },
  };
}

function clientFor(url: string, maxAttempts?: number): KMSClient {
  return new KMSClient({
    endpoint: url,
    region: "us-east-1",
    maxAttempts,
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
  });
}

Deno.test("local_kms CLI creates keys and logs", async () => {
  await using dir = await tempDir();
  const state = `${dir.path}/state.json`;
  const cli = await startCli([
    "--port",
    "0",
    "--state",
    state,
    "--create",
    "ECC_NIST_P256:alias/cli",
    "--create",
    "SYMMETRIC_DEFAULT",
  ]);
  assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const created = [
    ...cli.stdout.matchAll(
      /^Created (\S+) key (\S+) (arn:aws:kms:us-east-1:111122223333:key\/\2)( alias\/\S+)?$/gm,
    ),
  ];
  assert.deepEqual(created.map((m) => [m[1], m[4]]), [
    ["ECC_NIST_P256", " alias/cli"],
    ["SYMMETRIC_DEFAULT", undefined],
  ]);
  const keyId = created[0]![2]!;
  const client = clientFor(cli.url);
  const signed = await client.send(
    new SignCommand({
      KeyId: "alias/cli",
      Message: new Uint8Array([1, 2, 3]),
      SigningAlgorithm: "ECDSA_SHA_256",
    }),
  );
  assert.equal(signed.KeyId, created[0]![3]);
  client.destroy();
  const { code, stderr } = await cli.stop("SIGTERM");
  assert.equal(code, 0, stderr);
  assert.match(stderr, new RegExp(`^Sign ${keyId} OK \\d+ms$`, "m"));
  assert.match(stderr, /Local KMS stopped\./);
  assert.equal((await Deno.stat(state)).mode! & 0o777, 0o600);

  // Restarted on the same state, quiet: the keys are back, no log lines.
  const again = await startCli(["--port", "0", "--state", state, "--quiet"]);
  const client2 = clientFor(again.url);
  const keys = await client2.send(new ListKeysCommand({}));
  assert.equal(keys.Keys!.length, 2);
  const aliases = await client2.send(new ListAliasesCommand({}));
  assert.deepEqual(aliases.Aliases!.map((a) => [a.AliasName, a.TargetKeyId]), [
    ["alias/cli", keyId],
  ]);
  client2.destroy();
  const stopped = await again.stop("SIGINT");
  assert.equal(stopped.code, 0);
  assert.doesNotMatch(stopped.stderr, /ListKeys/);
});

Deno.test("local_kms CLI fault flags", async () => {
  const cli = await startCli(["--port", "0", "--throttle-first", "1"]);
  const client = clientFor(cli.url, 1);
  await assert.rejects(client.send(new ListKeysCommand({})), (error) => {
    assert.ok(error instanceof KMSServiceException);
    assert.equal(error.name, "ThrottlingException");
    return true;
  });
  await client.send(new ListKeysCommand({}));
  client.destroy();
  const { code, stderr } = await cli.stop("SIGTERM");
  assert.equal(code, 0);
  assert.match(stderr, /^ListKeys - ThrottlingException \d+ms$/m);
  assert.match(stderr, /^ListKeys - OK \d+ms$/m);
});

Deno.test("local_kms CLI rejects bad flags", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["--port", "http"], /Invalid --port 'http'/],
    [["--port", "70000"], /Invalid --port '70000'/],
    [["--delay-ms", "-1"], /--delay-ms/],
    [["--create", "ecc"], /Invalid --create 'ecc'/],
    [["--create", "ECC_NIST_P256:x"], /must start with 'alias\/'/],
    [["--hostname", "0.0.0.0", "--port", "0"], /not a loopback address/],
    [["--create", "RSA_1024", "--port", "0"], /Cannot create a RSA_1024 key/],
    [["extra"], /Unexpected argument 'extra'/],
  ];
  for (const [args, message] of cases) {
    const result = await runScript("local_kms.ts", args);
    assert.equal(result.code, 2, `${args}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    if (!/loopback|Cannot create/.test(message.source)) {
      assert.match(result.stderr, /^Usage: local_kms /m);
    }
  }
});

Deno.test("local_kms CLI help warns of keys", async () => {
  const result = await runScript("local_kms.ts", ["--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: local_kms /m);
  assert.match(result.stdout, /FOR TESTING ONLY/);
  assert.match(result.stdout, /PRIVATE key material/);
  for (
    const flag of [
      "--port",
      "--hostname",
      "--region",
      "--account-id",
      "--state",
      "--create",
      "--quiet",
      "--delay-ms",
      "--throttle-first",
      "--fail-first",
      "--wrong-public-key",
      "--garbage-signature",
      "--truncate-response",
      "--refuse-connections",
    ]
  ) {
    assert.ok(result.stdout.includes(flag), flag);
  }
});

Deno.test("local_kms CLI narrowed permissions", async () => {
  await using dir = await tempDir();
  const state = `${dir.path}/state.json`;
  // Exactly what the script needs: the bind address and the state folder.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      `--allow-read=${dir.path}`,
      `--allow-write=${dir.path}`,
      SCRIPT,
      "--port",
      "0",
      "--state",
      state,
      "--create",
      "ECC_NIST_P256",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!/listening on http:\/\/127\.0\.0\.1:\d+\n/.test(stdout)) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  assert.match(stdout, /^Created ECC_NIST_P256 key /m);
  child.kill("SIGTERM");
  const status = await child.status;
  while (!(await reader.read()).done);
  assert.equal(status.code, 0, await stderr);
  const saved = JSON.parse(await Deno.readTextFile(state));
  assert.equal(saved.keys.length, 1);
});
