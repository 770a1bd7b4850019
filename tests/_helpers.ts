/**
 * Shared test fixtures: runners for the scripts and OpenSSL, and
 * temporary folders.
 *
 * @module
 */

/** Dummy credentials; the local endpoint accepts any well-formed SigV4. */
export const TEST_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: "AKIDLOCALTEST",
  AWS_SECRET_ACCESS_KEY: "local-test-secret",
  AWS_REGION: "us-east-1",
  // Never let the credential chain reach for instance metadata.
  AWS_EC2_METADATA_DISABLED: "true",
  NO_COLOR: "1",
};

// Tests that build clients from the environment must never reach for the
// instance metadata address either.
Deno.env.set("AWS_EC2_METADATA_DISABLED", "true");

const ROOT = new URL("../", import.meta.url).pathname;

/** The outcome of running a command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Options of {@linkcode runScript}. */
export interface RunOptions {
  /** Extra environment variables; `null` removes one. */
  env?: Record<string, string | null>;
  /** Text for standard input; without it stdin is closed. */
  stdin?: string;
  /** Working directory. */
  cwd?: string;
}

/** Runs a command with the test environment. */
export async function runCommand(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const env: Record<string, string> = { ...TEST_ENV };
  const removed: string[] = [];
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === null) {
      removed.push(name);
      delete env[name];
    } else {
      env[name] = value;
    }
  }
  if (removed.length > 0) {
    // clearEnv drops the inherited environment; keep PATH and what the
    // caller did not remove.
    for (const [name, value] of Object.entries(Deno.env.toObject())) {
      if (!(name in env) && !removed.includes(name)) env[name] = value;
    }
  }
  const process = new Deno.Command(command, {
    args,
    env,
    cwd: options.cwd,
    clearEnv: removed.length > 0,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = process.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await process.output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
    stdoutBytes: output.stdout,
  };
}

/**
 * Returns the permission flags of the deno.json task that runs a script,
 * so that tests run each script exactly as its task does.
 */
export function taskPermissions(script: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const tasks = Object.values(config.tasks as Record<string, string>);
  const command = tasks.find((task) => task.endsWith(`scripts/${script}`));
  if (!command) throw new Error(`No deno.json task runs scripts/${script}`);
  const words = command.match(/'[^']*'|\S+/g)!.map((word) =>
    word.replace(/^'(.*)'$/, "$1")
  );
  return words.filter((word) => word.startsWith("--allow-"));
}

/** Runs one of the scripts with the permissions of its deno.json task. */
export function runScript(
  name: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    ...taskPermissions(name),
    `${ROOT}scripts/${name}`,
    ...args,
  ], options);
}

/** Runs OpenSSL with the given arguments. */
export function openssl(
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return runCommand("openssl", args, options);
}

/** Creates a temporary folder that is removed on dispose. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "kms-toolkit-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
