/**
 * Builds single-file binaries of the command-line scripts with
 * `deno compile`, for hosts without Deno or internet access. Each binary
 * gets the permission flags of the script's deno.json task, read from
 * deno.json so that the two cannot drift apart.
 *
 * @module
 */

import { KmsToolkitError } from "../lib/errors.ts";
import { parseFlags, printErr, printOut, runMain, usageError } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The binaries: output name and the script its deno.json task runs. */
const PROGRAMS = [
  { name: "kms_generate_csr", script: "scripts/kms_generate_csr.ts" },
  {
    name: "kms_public_key_to_jwks",
    script: "scripts/kms_public_key_to_jwks.ts",
  },
  { name: "kms_sign_jwt", script: "scripts/kms_sign_jwt.ts" },
] as const;

/** The `deno compile --target` values built by default. */
const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

const USAGE = "Usage: compile [--target TARGET|host]... [--program NAME]... " +
  "[--out-dir DIR] [--help]";

const HELP = `Build single-file binaries of the scripts with deno compile.

${USAGE}

Each binary holds the Deno runtime, the script and its npm packages, and
runs with exactly the permissions of the script's deno.json task (they
are read from deno.json). It needs no Deno, no cache and no network
besides the KMS endpoint.

Options:
  --target TARGET   A deno compile target, or "host" for this machine.
                    Repeatable. Default: all of x86_64-unknown-linux-gnu,
                    aarch64-unknown-linux-gnu, x86_64-apple-darwin,
                    aarch64-apple-darwin and x86_64-pc-windows-msvc.
  --program NAME    kms_generate_csr, kms_public_key_to_jwks or
                    kms_sign_jwt. Repeatable. Default: all three.
  --out-dir DIR     Output folder (default: dist). Binaries go to
                    DIR/TARGET/NAME, with .exe for Windows.
  --help            Show this help.

deno compile builds on "denort", a runtime-only Deno that it downloads
once per Deno version and target from dl.deno.land into DENO_DIR/dl.
Without internet access:
  - for the host target, set DENORT_BIN to a denort binary of the same
    Deno version as the deno running this script; deno compile then
    downloads nothing. DENORT_BIN is passed for the host target only,
    because deno compile would use it for any target;
  - for any target, copy denort-TARGET.zip from the DENO_DIR/dl folder
    of a connected host with the same Deno version into this host's.

Exit codes: 0 every binary built, 1 a build failed, 2 invalid flags.
`;

const FLAGS = {
  target: { type: "string", multiple: true },
  program: { type: "string", multiple: true },
  "out-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Returns the permission flags of the deno.json task whose command runs
 * `script`, in the order the task lists them, without shell quotes.
 */
export function taskPermissions(
  tasks: Record<string, string>,
  script: string,
): string[] {
  const command = Object.values(tasks).find((task) =>
    task.split(/\s+/).at(-1) === script
  );
  if (command === undefined) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot find a deno.json task that runs '${script}'. Add the task, ` +
        "or remove the program from scripts/compile.ts.",
    );
  }
  const words = command.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  return words
    .map((word) => word.replace(/^(['"])(.*)\1$/, "$2"))
    .filter((word) =>
      word.startsWith("--allow-") || word.startsWith("--deny-")
    );
}

/** Cause of a failed `deno compile` run. */
export type CompileFailure = "runtime-download" | "npm-download" | "other";

/**
 * Classifies the error output of a failed `deno compile`: fetching its
 * denort runtime (which Deno reports as setting up the "base binary"),
 * fetching the npm packages of another platform, or anything else.
 */
export function classifyCompileFailure(stderr: string): CompileFailure {
  if (/base binary|dl\.deno\.land\/release/i.test(stderr)) {
    return "runtime-download";
  }
  if (/Failed caching npm package/i.test(stderr)) return "npm-download";
  return "other";
}

/** Picks the lines that name the cause out of deno's error output. */
function failureDetail(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim())
    .filter((line) => line && !/^(Stack backtrace|\d+: <unknown>)/.test(line));
  const cause = lines.find((line) =>
    /error sending request|Could not find denort|TS\d+ \[ERROR\]/.test(line)
  );
  const causes = lines.filter((line) => /^\d+: /.test(line));
  return (cause ?? (causes.length ? causes.join("; ") : lines[0]) ??
    "no error output").replace(/^(\d+: |error: )/, "");
}

function outputPath(outDir: string, target: string, name: string): string {
  const exe = target.includes("windows") ? ".exe" : "";
  return `${outDir}/${target}/${name}${exe}`;
}

function stripAnsi(text: string): string {
  // deno colours its errors even when piped.
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function runtimeHelp(target: string, detail: string): string {
  const version = Deno.version.deno;
  const zip = `denort-${target}.zip`;
  const host = target === Deno.build.target
    ? ` Or set DENORT_BIN to a denort ${version} binary for ${target} ` +
      "that is on this host."
    : "";
  return `Cannot build for ${target}: deno compile could not download its ` +
    `runtime ${zip} from dl.deno.land (${detail}). This host has no ` +
    "internet access, or dl.deno.land is blocked. Build on a connected " +
    `host, or copy ${zip} of Deno ${version} into ` +
    `DENO_DIR/dl/release/v${version}/ on this host.${host}`;
}

function npmHelp(target: string, detail: string): string {
  return `Cannot build for ${target}: deno compile could not fetch the npm ` +
    `packages of that platform (${detail}). Build once for ${target} on a ` +
    "host that reaches the npm registry, so that they are in DENO_DIR.";
}

async function compileOne(
  program: (typeof PROGRAMS)[number],
  target: string,
  options: { permissions: string[]; output: string; denortBin?: string },
): Promise<{ ok: true } | { ok: false; kind: CompileFailure; detail: string }> {
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  if (options.denortBin !== undefined) env.DENORT_BIN = options.denortBin;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--quiet",
      // NOTE: no binary was built with this flag where it was written, for
      // want of a denort runtime; it leaves out npm packages not imported.
      "--exclude-unused-npm",
      ...options.permissions,
      "--target",
      target,
      "--output",
      options.output,
      `${ROOT}${program.script}`,
    ],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.success) return { ok: true };
  const stderr = stripAnsi(new TextDecoder().decode(output.stderr));
  return {
    ok: false,
    kind: classifyCompileFailure(stderr),
    detail: failureDetail(stderr),
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  const targets = [
    ...new Set(
      (flags.target ?? TARGETS).map((t) =>
        t === "host" ? Deno.build.target : t
      ),
    ),
  ];
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) {
      usageError(
        `Invalid --target '${target}': expected host or one of ` +
          `${TARGETS.join(", ")}.`,
        USAGE,
      );
    }
  }
  const names = flags.program ?? PROGRAMS.map((p) => p.name);
  const programs = names.map((name) => {
    const program = PROGRAMS.find((p) => p.name === name);
    if (!program) {
      usageError(
        `Invalid --program '${name}': expected one of ` +
          `${PROGRAMS.map((p) => p.name).join(", ")}.`,
        USAGE,
      );
    }
    return program;
  });
  const outDir = (flags["out-dir"] ?? `${ROOT}dist`).replace(/\/+$/, "");
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`))
    .tasks as Record<string, string>;
  const denortBin = Deno.env.get("DENORT_BIN") || undefined;

  const failures: string[] = [];
  for (const target of targets) {
    const runtime = target === Deno.build.target ? denortBin : undefined;
    await Deno.mkdir(`${outDir}/${target}`, { recursive: true });
    for (const program of programs) {
      const permissions = taskPermissions(tasks, program.script);
      const output = outputPath(outDir, target, program.name);
      printErr(
        `Building ${output}${runtime ? ` with DENORT_BIN=${runtime}` : ""}\n`,
      );
      const result = await compileOne(program, target, {
        permissions,
        output,
        denortBin: runtime,
      });
      if (result.ok) {
        printOut(`${output}  ${permissions.join(" ")}\n`);
        continue;
      }
      // Every program of a target needs the same runtime and packages.
      if (result.kind === "runtime-download") {
        failures.push(runtimeHelp(target, result.detail));
        break;
      }
      if (result.kind === "npm-download") {
        failures.push(npmHelp(target, result.detail));
        break;
      }
      failures.push(
        `Cannot build ${program.name} for ${target}: ${result.detail}`,
      );
    }
  }
  if (failures.length) {
    printErr(
      `error: ${failures.length} build${failures.length > 1 ? "s" : ""} ` +
        `failed:\n${failures.map((failure) => `- ${failure}`).join("\n")}\n`,
    );
    Deno.exitCode = 1;
  }
}

if (import.meta.main) {
  await runMain(main);
}
