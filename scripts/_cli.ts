/**
 * Shared command-line plumbing of the scripts: argument parsing, prompts,
 * output, exit codes and error reporting. Only scripts print.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { type ErrorCode, KmsToolkitError } from "../lib/errors.ts";
import { removePendingTemporaryFiles } from "../lib/output_file.ts";

/** Exit codes shared by every script. */
export const ExitCode = {
  OK: 0,
  /** A KMS call failed (not found, denied, throttled, unreachable, ...). */
  KMS_FAILED: 1,
  /** Bad flags, bad input, or a Deno permission the run lacks. */
  USAGE: 2,
  /** The key cannot do what was requested. */
  UNSUPPORTED_KEY: 3,
  /** A signature from KMS did not verify. */
  VERIFY_FAILED: 4,
  /** The output file exists, or a file could not be read or written. */
  OUTPUT: 5,
  /** A bug in this toolkit. */
  INTERNAL: 70,
  /** Interrupted by SIGINT. */
  INTERRUPTED: 130,
} as const;

function exitCodeFor(code: ErrorCode): number {
  if (code === "USAGE" || code === "INVALID_INPUT") return ExitCode.USAGE;
  if (code === "PERMISSION_DENIED") return ExitCode.USAGE;
  if (code === "UNSUPPORTED_KEY") return ExitCode.UNSUPPORTED_KEY;
  if (code === "VERIFY_FAILED") return ExitCode.VERIFY_FAILED;
  if (code === "OUTPUT_EXISTS" || code === "IO_FAILED") return ExitCode.OUTPUT;
  return ExitCode.KMS_FAILED;
}

const encoder = new TextEncoder();

function writeAll(stream: typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  try {
    while (written < bytes.length) {
      written += stream.writeSync(bytes.subarray(written));
    }
  } catch (error) {
    // A closed pipe (`| head`) ends the program quietly.
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(ExitCode.OK);
    throw error;
  }
}

/** Writes text to standard output. */
export function printOut(text: string): void {
  writeAll(Deno.stdout, text);
}

/** Writes text to standard error. */
export function printErr(text: string): void {
  writeAll(Deno.stderr, text);
}

/** Writes bytes to standard output. */
export function writeOut(bytes: Uint8Array): void {
  let written = 0;
  try {
    while (written < bytes.length) {
      written += Deno.stdout.writeSync(bytes.subarray(written));
    }
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(ExitCode.OK);
    throw error;
  }
}

/**
 * Parses flags strictly: unknown flags, missing values and stray
 * positional arguments are usage errors that show the usage line. An
 * unknown flag close to a known one names it ("Did you mean --out?").
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    let reason = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '--([^']+)'/.exec(reason)?.[1];
    const suggestion = unknown && closestFlag(unknown, Object.keys(options));
    if (suggestion) reason += `. Did you mean --${suggestion}?`;
    throw new KmsToolkitError("USAGE", `${reason}\n${usage}`);
  }
}

/** Returns the known flag closest to `name`, at most 2 edits away. */
function closestFlag(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const flag of known) {
    const distance = editDistance(name.toLowerCase(), flag);
    if (distance < bestDistance) [best, bestDistance] = [flag, distance];
  }
  return best;
}

/** Counts the insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Throws a usage error that ends with the usage line. */
export function usageError(message: string, usage: string): never {
  throw new KmsToolkitError("USAGE", `${message}\n${usage}`);
}

/** Reads lines from standard input, one at a time, on a terminal or not. */
export class LineReader {
  #reader: ReadableStreamDefaultReader<string> | undefined;
  #buffer = "";
  #done = false;

  /** Whether standard input is a terminal. */
  readonly interactive = Deno.stdin.isTerminal();

  #open(): ReadableStreamDefaultReader<string> {
    this.#reader ??= Deno.stdin.readable
      .pipeThrough(new TextDecoderStream())
      .getReader();
    return this.#reader;
  }

  /**
   * Reads the next line without its line ending; `null` at end of input.
   * On a terminal the label is shown on standard error first.
   */
  async readLine(label?: string): Promise<string | null> {
    if (label && this.interactive) printErr(label);
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(newline + 1);
        return line;
      }
      if (this.#done) {
        const rest = this.#buffer;
        this.#buffer = "";
        return rest.length > 0 ? rest : null;
      }
      const { value, done } = await this.#open().read();
      if (done) this.#done = true;
      else this.#buffer += value;
    }
  }

  /**
   * Stops reading standard input. Cancelling, not only releasing, ends the
   * read that is still pending, which would otherwise keep the process
   * waiting for one more line on a terminal.
   */
  close(): void {
    this.#reader?.cancel().catch(() => {});
    this.#reader = undefined;
    this.#done = true;
  }
}

/**
 * Runs a script's main function. A toolkit error prints `error: message`
 * on standard error and exits with its code. Any other error is a bug, so
 * it prints its stack trace. SIGINT removes unfinished output files.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  const onInterrupt = () => {
    removePendingTemporaryFiles();
    printErr("\nInterrupted; no file was written.\n");
    Deno.exit(ExitCode.INTERRUPTED);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    await main();
  } catch (error) {
    if (error instanceof KmsToolkitError) {
      printErr(`error: ${error.message}\n`);
      Deno.exit(exitCodeFor(error.code));
    }
    printErr(
      "error: unexpected failure; this is a bug in kms-toolkit.\n" +
        `${error instanceof Error ? error.stack : String(error)}\n`,
    );
    Deno.exit(ExitCode.INTERNAL);
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** Tells whether this run may read and set an environment variable. */
function envGranted(variable: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable }).state ===
    "granted";
}

/**
 * Makes `--profile NAME` apply everywhere `AWS_PROFILE` does. The SDK's
 * client option covers credentials and region, but its config file lookup
 * of the endpoint (`endpoint_url`, `services`) reads only `AWS_PROFILE`.
 * Call it before the KMS client is built.
 */
export function applyProfile(profile: string | undefined): void {
  if (profile === undefined) return;
  if (!envGranted("AWS_PROFILE")) {
    throw new KmsToolkitError(
      "PERMISSION_DENIED",
      `Cannot use --profile '${profile}': the Deno permissions of this ` +
        "run do not allow setting AWS_PROFILE. Run the script through its " +
        "deno task, or add --allow-env=AWS_* to the deno run flags.",
    );
  }
  Deno.env.set("AWS_PROFILE", profile);
}

/** The connection flags of every script that calls KMS. */
export const CONNECTION_FLAGS = {
  region: { type: "string" },
  profile: { type: "string" },
  "endpoint-url": { type: "string" },
  timeout: { type: "string" },
} as const;

/** Values of {@linkcode CONNECTION_FLAGS} after parsing. */
export interface ConnectionFlags {
  /** `--region`. */
  region?: string;
  /** `--profile`. */
  profile?: string;
  /** `--endpoint-url`. */
  "endpoint-url"?: string;
}

/**
 * Builds the KMS client from the connection flags. It loads the AWS SDK,
 * the slowest import, so call it only after all local input has been
 * checked: `--help` and invalid input then exit without loading the SDK.
 */
export async function connectToKms(flags: ConnectionFlags) {
  applyProfile(flags.profile);
  const [{ createKmsClient }, { KmsKey }] = await Promise.all([
    import("../lib/kms_client.ts"),
    import("../lib/kms_key.ts"),
  ]);
  const client = createKmsClient({
    region: flags.region,
    profile: flags.profile,
    endpointUrl: flags["endpoint-url"],
  });
  return { client, KmsKey };
}

/** Returns the real path of the folder that contains `deno.json`. */
function projectRoot(): string | undefined {
  const url = new URL("../", import.meta.url);
  if (url.protocol !== "file:") return undefined;
  try {
    return Deno.realPathSync(url);
  } catch {
    return undefined;
  }
}

/**
 * Moves to the folder the user ran `deno task` from, so that relative
 * paths in flags and the default output file are the user's. `deno task`
 * runs a task in the folder of `deno.json` and names the user's folder in
 * `INIT_CWD`. A run started elsewhere, such as a plain `deno run` that
 * inherited `INIT_CWD`, keeps its folder.
 *
 * @returns The new working directory, or `undefined` if it did not change.
 */
export function useCallerWorkingDirectory(): string | undefined {
  if (!envGranted("INIT_CWD")) return undefined;
  const folder = Deno.env.get("INIT_CWD");
  if (!folder) return undefined;
  try {
    if (Deno.realPathSync(Deno.cwd()) !== projectRoot()) return undefined;
    if (!Deno.statSync(folder).isDirectory) return undefined;
    Deno.chdir(folder);
    return folder;
  } catch {
    // Unreadable or removed folders leave the run where deno task put it.
    return undefined;
  }
}

/** Parses a positive number of seconds into milliseconds. */
export function parseTimeout(text: string | undefined, usage: string) {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    usageError(
      `Invalid --timeout '${text}': expected seconds between 0 and 3600.`,
      usage,
    );
  }
  return Math.round(seconds * 1000);
}
