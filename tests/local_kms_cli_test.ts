import assert from "node:assert/strict";
import {
  DisableKeyCommand,
  GetPublicKeyCommand,
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

/**
 * Starts the CLI with its task's permissions and waits for the URL line.
 * With `merged`, standard error goes into `stdout` too, in write order.
 */
async function startCli(
  args: string[],
  options: { merged?: boolean } = {},
): Promise<Running> {
  const deno = [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    ...taskPermissions("local_kms.ts"),
    SCRIPT,
    ...args,
  ];
  const [command, ...commandArgs] = options.merged
    ? ["sh", "-c", 'exec "$@" 2>&1', "sh", ...deno]
    : deno;
  const child = new Deno.Command(command!, {
    args: commandArgs,
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
    [["--state", ""], /Invalid --state ''/],
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

Deno.test("local_kms CLI restart reuses aliases", async () => {
  await using dir = await tempDir();
  const state = `${dir.path}/state.json`;
  const args = [
    "--port",
    "0",
    "--state",
    state,
    "--create",
    "ECC_NIST_P256:alias/app-signing",
  ];
  const first = await startCli([...args, "--quiet"], { merged: true });
  const created =
    /^Created ECC_NIST_P256 key (\S+) (arn:aws:kms:\S+:key\/\1) alias\/app-signing$/m
      .exec(first.stdout);
  assert.ok(created, first.stdout);
  const [, keyId, arn] = created;
  // The count line comes first, before the keys and the URL.
  assert.match(
    first.stdout,
    new RegExp(
      `^Loaded 0 keys and 0 aliases: state file '${state}' does not ` +
        "exist yet; it is written at the first change\\.\n" +
        "Created ECC_NIST_P256 key .*\nLocal KMS listening on ",
    ),
  );
  let client = clientFor(first.url);
  const spki = (await client.send(
    new GetPublicKeyCommand({ KeyId: "alias/app-signing" }),
  )).PublicKey!;
  client.destroy();
  assert.equal((await first.stop("SIGTERM")).code, 0);

  // Same command again, plus a key without an alias: reused, then created.
  const second = await startCli([...args, "--create", "ECC_NIST_P256"], {
    merged: true,
  });
  assert.match(
    second.stdout,
    new RegExp(
      `^Loaded 1 key and 1 alias from state file '${state}'\\.\n` +
        `Using existing ECC_NIST_P256 key ${keyId} ${arn} ` +
        "alias/app-signing\nCreated ECC_NIST_P256 key (?!" + keyId +
        ")\\S+ arn:\\S+\nLocal KMS listening on ",
    ),
  );
  client = clientFor(second.url);
  const again = await client.send(
    new GetPublicKeyCommand({ KeyId: "alias/app-signing" }),
  );
  assert.equal(again.KeyId, arn);
  assert.deepEqual(again.PublicKey, spki);
  assert.equal((await client.send(new ListKeysCommand({}))).Keys!.length, 2);
  await client.send(new DisableKeyCommand({ KeyId: keyId }));
  client.destroy();
  assert.equal((await second.stop("SIGTERM")).code, 0);

  // A reused key that is not Enabled is flagged on standard error.
  const third = await startCli(args);
  assert.match(third.stdout, /^Using existing ECC_NIST_P256 key /m);
  const { stderr } = await third.stop("SIGTERM");
  assert.match(stderr, /^Loaded 2 keys and 1 alias from state file /m);
  assert.match(
    stderr,
    new RegExp(`^warning: key ${keyId} of alias/app-signing is Disabled;`, "m"),
  );

  // Another spec for the alias: refused, naming both, and nothing added.
  const other = await runScript("local_kms.ts", [
    ...args.slice(0, 4),
    "--create",
    "RSA_2048:alias/app-signing",
  ]);
  assert.equal(other.code, 2, other.stderr);
  assert.match(
    other.stderr,
    new RegExp(
      "^error: Cannot reuse alias 'alias/app-signing' for a RSA_2048 " +
        `SIGN_VERIFY key: it points at key ${keyId}, a ECC_NIST_P256 ` +
        "SIGN_VERIFY key\\.",
      "m",
    ),
  );
  assert.doesNotMatch(other.stdout, /listening/);
  const saved = JSON.parse(await Deno.readTextFile(state));
  assert.equal(saved.keys.length, 2);
});

Deno.test("local_kms CLI refuses unusable state", async () => {
  await using dir = await tempDir();
  await using elsewhere = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "");
  const missing = `${dir.path}/missing/state.json`;
  const underFile = `${dir.path}/file/state.json`;
  const state = `${dir.path}/state.json`;
  const cases: [string[], string, RegExp][] = [
    [
      taskPermissions("local_kms.ts"),
      missing,
      /its folder '.*' does not exist/,
    ],
    [taskPermissions("local_kms.ts"), underFile, /'.*\/file' is not a folder/],
    // Readable but not writable for this run.
    [
      [
        "--allow-net=127.0.0.1",
        "--allow-read",
        `--allow-write=${elsewhere.path}`,
      ],
      state,
      /cannot write in its folder '.*': Requires write access/,
    ],
  ];
  for (const [permissions, path, reason] of cases) {
    // A run that starts anyway would listen forever: stop it after 30 s.
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...permissions,
        SCRIPT,
        "--port",
        "0",
        "--state",
        path,
      ],
      stdin: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const result = {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
    assert.equal(result.code, 5, `${path}: ${result.stderr}`);
    assert.ok(
      result.stderr.startsWith(`error: Cannot use state file '${path}': `),
      result.stderr,
    );
    assert.match(result.stderr, reason);
    assert.equal(result.stdout, "", "no listening line");
  }
  const names = [];
  for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
  assert.deepEqual(names, ["file"]);
});
