/**
 * Measures the command-line scripts as users run them: wall time and peak
 * memory of whole processes with a warm Deno cache, against a local KMS
 * endpoint on loopback. Floors to compare with are `openssl req -new` with
 * a local key, `deno run` of an empty script and of a bare SDK import. The
 * runner also counts the KMS calls of every run.
 *
 * Run it with `deno task bench`, which grants all permissions: Deno lets
 * only such a run read `/proc`, and the runs spawn processes anyway.
 * Options:
 *
 * - `--runs N`: timed runs per case (default 20; fewer prints a warning).
 * - `--warmup N`: untimed runs before them (default 3).
 * - `--memory-runs N`: runs under `/usr/bin/time -v` per case (default 5).
 * - `--phase-runs N`: runs of `bench/csr_phases.ts`, whose timestamps
 *   show where a CSR's time goes (default 10).
 * - `--only NAME,...`: measure only these cases.
 * - `--json FILE`: where to write the results (default
 *   `bench/results/<time>.json`).
 *
 * Wall time comes from `hyperfine` when it is installed, otherwise from a
 * loop timed in Deno. Peak memory is the maximum resident set size from
 * `/usr/bin/time -v`, otherwise the `VmHWM` line of `/proc/PID/status`
 * polled until the process ends. The output names the tool that was used.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startLocalKms } from "../lib/local_kms/mod.ts";
import { printErr, printOut } from "../scripts/_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Targets of the toolkit's scripts, from the project's goals. */
const TARGETS = { csrMs: 150, jwksMs: 100, rssMiB: 60 };

/** The environment of every measured process, besides PATH and DENO_DIR. */
const BENCH_ENV = {
  AWS_ACCESS_KEY_ID: "AKIDLOCAL",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_REGION: "us-east-1",
  // The SDK must never reach for the instance metadata address.
  AWS_EC2_METADATA_DISABLED: "true",
  NO_COLOR: "1",
};

interface Case {
  /** Short name, used by --only and in the JSON. */
  name: string;
  /** Description of the case, for the table. */
  label: string;
  /** The command and its arguments. */
  argv: string[];
  /** Working directory. */
  cwd: string;
  /** KMS operations one run makes, in order; undefined for floors. */
  calls?: string[];
  /** The wall time target of the mean, in milliseconds. */
  targetMs?: number;
  /** Whether the peak memory target applies. */
  memoryTarget?: boolean;
  /** Checks one run's standard output; returns a problem or null. */
  check?: (stdout: string) => Promise<string | null> | string | null;
}

interface TimeStats {
  mean: number;
  stddev: number;
  median: number;
  min: number;
  max: number;
  runs: number;
}

interface CaseResult {
  name: string;
  label: string;
  command: string;
  time: TimeStats;
  /** Mean user plus system CPU time, in ms, when hyperfine measured it. */
  cpuMs: number | null;
  peakRssMiB: { max: number; median: number; runs: number };
  kmsCallsPerRun: number | null;
  kmsOperations: string[] | null;
  targetMs: number | null;
  memoryTarget: boolean;
}

/** Reads the permission flags of the deno.json task that runs a script. */
function taskPermissions(script: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const tasks = Object.values(config.tasks as Record<string, string>);
  const command = tasks.find((task) => task.endsWith(`scripts/${script}`));
  if (!command) throw new Error(`No deno.json task runs scripts/${script}`);
  const words = command.match(/'[^']*'|\S+/g)!.map((word) =>
    word.replace(/^'(.*)'$/, "$1")
  );
  return words.filter((word) => word.startsWith("--allow-"));
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

function commandLine(argv: string[]): string {
  return argv.map(quote).join(" ");
}

async function run(
  argv: string[],
  options: { env: Record<string, string>; cwd: string },
): Promise<Deno.CommandOutput> {
  return await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

async function which(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = await Deno.stat(`${dir}/${name}`);
      if (info.isFile) return `${dir}/${name}`;
    } catch {
      // Not in this folder.
    }
  }
  return null;
}

function statistics(secondsList: number[]): TimeStats {
  const ms = secondsList.map((s) => s * 1000).sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const variance = ms.length > 1
    ? ms.reduce((a, b) => a + (b - mean) ** 2, 0) / (ms.length - 1)
    : 0;
  const middle = Math.floor(ms.length / 2);
  const median = ms.length % 2
    ? ms[middle]!
    : (ms[middle - 1]! + ms[middle]!) / 2;
  return {
    mean,
    stddev: Math.sqrt(variance),
    median,
    min: ms[0]!,
    max: ms.at(-1)!,
    runs: ms.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Times a case with hyperfine, or with a Deno loop without it. */
async function timeCase(
  entry: Case,
  options: {
    hyperfine: string | null;
    runs: number;
    warmup: number;
    env: Record<string, string>;
    scratch: string;
  },
): Promise<{ times: number[]; cpuMs: number | null }> {
  if (options.hyperfine) {
    const json = `${options.scratch}/hyperfine-${entry.name}.json`;
    const output = await run([
      options.hyperfine,
      "--shell=none",
      "--style=none",
      `--warmup=${options.warmup}`,
      `--runs=${options.runs}`,
      `--export-json=${json}`,
      commandLine(entry.argv),
    ], { env: options.env, cwd: entry.cwd });
    if (!output.success) {
      throw new Error(
        `hyperfine failed for ${entry.name}:\n` +
          new TextDecoder().decode(output.stderr),
      );
    }
    const result = JSON.parse(await Deno.readTextFile(json)).results[0];
    return {
      times: result.times as number[],
      cpuMs: (result.user + result.system) * 1000,
    };
  }
  const times: number[] = [];
  for (let i = 0; i < options.warmup + options.runs; i++) {
    const start = performance.now();
    const output = await run(entry.argv, {
      env: options.env,
      cwd: entry.cwd,
    });
    const elapsed = (performance.now() - start) / 1000;
    if (!output.success) throw new Error(`${entry.name} exited ${output.code}`);
    if (i >= options.warmup) times.push(elapsed);
  }
  return { times, cpuMs: null };
}

/** Polls VmHWM of a running process until it exits; returns KiB. */
async function pollPeakRss(
  entry: Case,
  env: Record<string, string>,
): Promise<number> {
  const child = new Deno.Command(entry.argv[0]!, {
    args: entry.argv.slice(1),
    env,
    clearEnv: true,
    cwd: entry.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let peak = 0;
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  while (!done) {
    try {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(text)?.[1] ?? 0);
      peak = Math.max(peak, kib);
    } catch {
      // The process is gone.
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (!(await status).success) throw new Error(`${entry.name} failed`);
  return peak;
}

/** Measures the maximum resident set size of one run, in KiB. */
async function peakRss(
  entry: Case,
  options: { timeBin: string | null; env: Record<string, string> },
): Promise<number> {
  if (!options.timeBin) return await pollPeakRss(entry, options.env);
  const output = await run([options.timeBin, "-v", ...entry.argv], {
    env: options.env,
    cwd: entry.cwd,
  });
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(`${entry.name} failed under time -v:\n${stderr}`);
  }
  const kib = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  if (!kib) throw new Error(`No maximum resident set size in:\n${stderr}`);
  return Number(kib);
}

async function versionOf(argv: string[]): Promise<string> {
  try {
    const output = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(output.stdout).split("\n")[0]!.trim();
  } catch {
    return "not installed";
  }
}

async function machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const memory = Deno.systemMemoryInfo();
  return {
    nproc: navigator.hardwareConcurrency,
    memoryGiB: +(memory.total / 2 ** 30).toFixed(1),
    availableGiB: +(memory.available / 2 ** 30).toFixed(1),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    openssl: await versionOf(["openssl", "version"]),
    hyperfine: await versionOf(["hyperfine", "--version"]),
    loadAverage: Deno.loadavg().map((value) => +value.toFixed(2)),
  };
}

async function denoDir(): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

/** Verifies a PEM CSR with `openssl req -verify`; returns a problem. */
async function opensslVerifiesCsr(
  stdout: string,
  scratch: string,
): Promise<string | null> {
  if (!stdout.startsWith("-----BEGIN CERTIFICATE REQUEST-----")) {
    return "the output is not a PEM certificate request";
  }
  const path = `${scratch}/check.csr`;
  await Deno.writeTextFile(path, stdout);
  const output = await new Deno.Command("openssl", {
    args: ["req", "-in", path, "-verify", "-noout"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) +
    new TextDecoder().decode(output.stdout);
  return output.success && /verify OK/i.test(text)
    ? null
    : `openssl req -verify failed: ${text.trim()}`;
}

function jwksHasKeys(count: number) {
  return (stdout: string) => {
    try {
      const keys = JSON.parse(stdout).keys;
      return Array.isArray(keys) && keys.length === count
        ? null
        : `expected ${count} keys in the JWKS`;
    } catch {
      return "the output is not JSON";
    }
  };
}

function formatMs(value: number): string {
  return value.toFixed(1);
}

function calls(result: CaseResult): string {
  if (result.kmsCallsPerRun === null) return "–";
  if (result.kmsCallsPerRun === 0) return "0";
  return `${result.kmsCallsPerRun} (${result.kmsOperations!.join(", ")})`;
}

function table(results: CaseResult[]): string {
  const lines = [
    "| case | mean ± σ (ms) | median | min | max | CPU (ms) | peak RSS MiB (max / median) | KMS calls per run | target |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of results) {
    const goals: string[] = [];
    if (r.targetMs !== null) {
      goals.push(
        `${r.time.mean <= r.targetMs ? "met" : "MISSED"} ≤ ${r.targetMs} ms`,
      );
    }
    if (r.memoryTarget) {
      goals.push(
        `${
          r.peakRssMiB.max <= TARGETS.rssMiB ? "met" : "MISSED"
        } ≤ ${TARGETS.rssMiB} MiB`,
      );
    }
    lines.push(
      `| ${r.label} | ${formatMs(r.time.mean)} ± ${
        formatMs(r.time.stddev)
      } | ` +
        `${formatMs(r.time.median)} | ${formatMs(r.time.min)} | ` +
        `${formatMs(r.time.max)} | ` +
        `${r.cpuMs === null ? "–" : formatMs(r.cpuMs)} | ` +
        `${r.peakRssMiB.max.toFixed(1)} / ` +
        `${r.peakRssMiB.median.toFixed(1)} | ` +
        `${calls(r)} | ${goals.join("; ") || "–"} |`,
    );
  }
  return lines.join("\n");
}

function phaseTable(phases: Record<string, number>): string {
  const lines = [
    "| step of one CSR (P-256) | ends at (ms, median) | takes (ms) |",
    "| --- | ---: | ---: |",
  ];
  let previous = 0;
  for (const [name, at] of Object.entries(phases)) {
    lines.push(`| ${name} | ${formatMs(at)} | ${formatMs(at - previous)} |`);
    previous = at;
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "20" },
      warmup: { type: "string", default: "3" },
      "memory-runs": { type: "string", default: "5" },
      "phase-runs": { type: "string", default: "10" },
      only: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    printOut(
      "Usage: deno task bench [--runs N] [--warmup N] [--memory-runs N] " +
        "[--phase-runs N] [--only NAME,...] [--json FILE]\n",
    );
    return;
  }
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  const memoryRuns = Number(values["memory-runs"]);
  const phaseRuns = Number(values["phase-runs"]);
  for (
    const [flag, value] of [
      ["runs", runs],
      ["memory-runs", memoryRuns],
      ["phase-runs", phaseRuns],
    ]
  ) {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new Error(`--${flag} must be a whole number of at least 1`);
    }
  }
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error("--warmup must be a whole number");
  }
  if (runs < 20) {
    printErr(
      `warning: ${runs} runs per case; the documented results use 20.\n`,
    );
  }

  const hyperfine = await which("hyperfine");
  const timeBin = await Deno.stat("/usr/bin/time").then(() => "/usr/bin/time")
    .catch(() => null);
  const scratch = await Deno.makeTempDir({ prefix: "kms-toolkit-bench-" });
  const home = `${scratch}/home`;
  await Deno.mkdir(home);
  const env: Record<string, string> = {
    ...BENCH_ENV,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    // An empty HOME keeps the operator's ~/.aws files out of the runs;
    // DENO_DIR keeps the warm cache that HOME would otherwise move.
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? await denoDir(),
  };

  const kms = await startLocalKms();
  try {
    await kms.createKey("RSA_2048", { alias: "alias/bench-rsa" });
    await kms.createKey("ECC_NIST_P256", { alias: "alias/bench-p256" });

    await Deno.writeTextFile(`${scratch}/empty.ts`, "");
    for (const [name, algorithm] of [["p256", "EC"], ["rsa", "RSA"]]) {
      const args = algorithm === "EC"
        ? ["-pkeyopt", "ec_paramgen_curve:P-256"]
        : ["-pkeyopt", "rsa_keygen_bits:2048"];
      const output = await run([
        "openssl",
        "genpkey",
        "-algorithm",
        algorithm!,
        ...args,
        "-out",
        `${scratch}/${name}.key`,
      ], { env, cwd: scratch });
      if (!output.success) throw new Error("openssl genpkey failed");
    }

    const deno = Deno.execPath();
    const script = (name: string, args: string[]) => [
      deno,
      "run",
      "--quiet",
      "--no-prompt",
      ...taskPermissions(name),
      `${ROOT}scripts/${name}`,
      ...args,
    ];
    const connection = ["--endpoint-url", kms.url];
    const csrCheck = (stdout: string) => opensslVerifiesCsr(stdout, scratch);
    const cases: Case[] = [
      {
        name: "csr-p256",
        label: "kms_generate_csr, ECC_NIST_P256",
        argv: script("kms_generate_csr.ts", [
          "--key-id",
          "alias/bench-p256",
          "--subject",
          "/C=US/O=Example Corp/CN=bench.example.com",
          "--san",
          "DNS:bench.example.com",
          "--out",
          "-",
          "--quiet",
          ...connection,
        ]),
        cwd: scratch,
        calls: ["GetPublicKey", "Sign"],
        targetMs: TARGETS.csrMs,
        memoryTarget: true,
        check: csrCheck,
      },
      {
        name: "csr-rsa",
        label: "kms_generate_csr, RSA_2048",
        argv: script("kms_generate_csr.ts", [
          "--key-id",
          "alias/bench-rsa",
          "--subject",
          "/C=US/O=Example Corp/CN=bench.example.com",
          "--san",
          "DNS:bench.example.com",
          "--out",
          "-",
          "--quiet",
          ...connection,
        ]),
        cwd: scratch,
        calls: ["GetPublicKey", "Sign"],
        targetMs: TARGETS.csrMs,
        memoryTarget: true,
        check: csrCheck,
      },
      {
        name: "jwks",
        label: "kms_public_key_to_jwks, 1 key (P-256)",
        argv: script("kms_public_key_to_jwks.ts", [
          "--key-id",
          "alias/bench-p256",
          "--quiet",
          ...connection,
        ]),
        cwd: scratch,
        calls: ["GetPublicKey"],
        targetMs: TARGETS.jwksMs,
        memoryTarget: true,
        check: jwksHasKeys(1),
      },
      {
        name: "jwks-2",
        label: "kms_public_key_to_jwks, 2 keys (P-256, RSA)",
        argv: script("kms_public_key_to_jwks.ts", [
          "--key-id",
          "alias/bench-p256",
          "--key-id",
          "alias/bench-rsa",
          "--quiet",
          ...connection,
        ]),
        cwd: scratch,
        calls: ["GetPublicKey", "GetPublicKey"],
        memoryTarget: true,
        check: jwksHasKeys(2),
      },
      {
        name: "jwt",
        label: "kms_sign_jwt, P-256 (ES256)",
        argv: script("kms_sign_jwt.ts", [
          "--key-id",
          "alias/bench-p256",
          "--iss",
          "bench",
          "--sub",
          "bench",
          "--aud",
          "https://idp.example.com/token",
          ...connection,
        ]),
        cwd: scratch,
        calls: ["GetPublicKey", "Sign"],
        check: (stdout) =>
          /^[\w-]+\.[\w-]+\.[\w-]+\n?$/.test(stdout)
            ? null
            : "the output is not a compact JWS",
      },
      {
        name: "csr-help",
        label: "kms_generate_csr --help (start-up only)",
        argv: script("kms_generate_csr.ts", ["--help"]),
        cwd: scratch,
        calls: [],
      },
      {
        name: "sdk-import",
        label: 'floor: deno run of `import "@aws-sdk/client-kms"`',
        argv: [
          deno,
          "run",
          "--quiet",
          "--allow-read",
          "--allow-env",
          "--allow-sys",
          `${ROOT}bench/sdk_import_floor.ts`,
        ],
        cwd: scratch,
      },
      {
        name: "openssl-p256",
        label: "floor: openssl req -new, local P-256 key",
        argv: [
          "openssl",
          "req",
          "-new",
          "-key",
          `${scratch}/p256.key`,
          "-subj",
          "/C=US/O=Example Corp/CN=bench.example.com",
          "-addext",
          "subjectAltName=DNS:bench.example.com",
        ],
        cwd: scratch,
      },
      {
        name: "openssl-rsa",
        label: "floor: openssl req -new, local RSA 2048 key",
        argv: [
          "openssl",
          "req",
          "-new",
          "-key",
          `${scratch}/rsa.key`,
          "-subj",
          "/C=US/O=Example Corp/CN=bench.example.com",
          "-addext",
          "subjectAltName=DNS:bench.example.com",
        ],
        cwd: scratch,
      },
      {
        name: "deno-empty",
        label: "floor: deno run of an empty script",
        argv: [deno, "run", "--quiet", `${scratch}/empty.ts`],
        cwd: scratch,
      },
    ];
    const only = values.only?.split(",");
    const selected = only
      ? cases.filter((entry) => only.includes(entry.name))
      : cases;
    const names = [...cases.map((c) => c.name), "csr-phases"];
    const unknown = only?.filter((name) => !names.includes(name)) ?? [];
    if (unknown.length) {
      throw new Error(
        `Unknown case '${unknown.join(", ")}' in --only; cases: ` +
          names.join(", "),
      );
    }

    const info = await machine();
    printErr(
      `Machine: ${info.nproc} CPUs (${info.cpu}), ${info.memoryGiB} GiB, ` +
        `load ${info.loadAverage.join(" ")}; Deno ${info.deno}; ` +
        `${info.openssl}; ${hyperfine ? info.hyperfine : "no hyperfine"}\n` +
        `Wall time: ${
          hyperfine ? "hyperfine" : "Deno-timed loop (hyperfine not found)"
        }, ${warmup} warm-up + ${runs} runs. Peak memory: ${
          timeBin ? "/usr/bin/time -v" : "/proc/PID/status VmHWM polling"
        }, ${memoryRuns} runs.\n`,
    );

    const results: CaseResult[] = [];
    const problems: string[] = [];
    for (const entry of selected) {
      printErr(`Measuring ${entry.name}...\n`);
      // One checked run first: exit code, output and the exact KMS calls.
      const before = kms.calls.length;
      const output = await run(entry.argv, { env, cwd: entry.cwd });
      const operations = kms.calls.slice(before).map((call) => call.operation);
      if (!output.success) {
        problems.push(
          `${entry.name} exited ${output.code}: ` +
            new TextDecoder().decode(output.stderr).trim(),
        );
        continue;
      }
      const problem = await entry.check?.(
        new TextDecoder().decode(output.stdout),
      );
      if (problem) problems.push(`${entry.name}: ${problem}`);
      if (
        entry.calls && operations.join(",") !== entry.calls.join(",")
      ) {
        problems.push(
          `${entry.name}: expected KMS calls [${entry.calls.join(", ")}], ` +
            `got [${operations.join(", ")}]`,
        );
      }

      const timedFrom = kms.calls.length;
      const { times, cpuMs } = await timeCase(entry, {
        hyperfine,
        runs,
        warmup,
        env,
        scratch,
      });
      const rss: number[] = [];
      for (let i = 0; i < memoryRuns; i++) {
        rss.push(await peakRss(entry, { timeBin, env }) / 1024);
      }
      // Every timed, warm-up and memory run must make the same calls.
      const total = kms.calls.length - timedFrom;
      const processes = warmup + runs + memoryRuns;
      const perRun = total / processes;
      if (entry.calls && perRun !== entry.calls.length) {
        problems.push(
          `${entry.name}: ${total} KMS calls in ${processes} runs, expected ` +
            `${entry.calls.length} per run`,
        );
      }
      results.push({
        name: entry.name,
        label: entry.label,
        command: commandLine(entry.argv).replaceAll(scratch, "$TMP"),
        time: statistics(times),
        cpuMs,
        peakRssMiB: {
          max: Math.max(...rss),
          median: median(rss),
          runs: rss.length,
        },
        kmsCallsPerRun: entry.calls ? perRun : null,
        kmsOperations: entry.calls ? operations : null,
        targetMs: entry.targetMs ?? null,
        memoryTarget: entry.memoryTarget ?? false,
      });
    }

    // Where the time of one CSR goes, from timestamps inside the process.
    const phases: Record<string, number[]> = {};
    if (!only || only.includes("csr-phases")) {
      printErr(`Measuring csr-phases (${phaseRuns} runs)...\n`);
      for (let i = 0; i < phaseRuns; i++) {
        const output = await run([
          deno,
          "run",
          "--quiet",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--allow-sys",
          `${ROOT}bench/csr_phases.ts`,
          "--endpoint-url",
          kms.url,
          "--key-id",
          "alias/bench-p256",
        ], { env, cwd: scratch });
        if (!output.success) {
          problems.push(
            `csr-phases exited ${output.code}: ` +
              new TextDecoder().decode(output.stderr).trim(),
          );
          break;
        }
        const marks = JSON.parse(new TextDecoder().decode(output.stdout));
        for (
          const [name, at] of Object.entries(marks as Record<string, number>)
        ) {
          (phases[name] ??= []).push(at);
        }
      }
    }

    const report = {
      date: new Date().toISOString(),
      machine: info,
      method: {
        wallTime: hyperfine ? "hyperfine --shell=none" : "Deno-timed loop",
        peakMemory: timeBin ? "/usr/bin/time -v" : "/proc VmHWM polling",
        warmup,
        runs,
        memoryRuns,
        phaseRuns,
      },
      targets: TARGETS,
      results,
      phases: Object.fromEntries(
        Object.entries(phases).map(([name, ats]) => [name, median(ats)]),
      ),
      problems,
    };
    const jsonPath = values.json ??
      `${ROOT}bench/results/${report.date.replaceAll(":", "-")}.json`;
    await Deno.mkdir(jsonPath.replace(/\/[^/]*$/, "") || ".", {
      recursive: true,
    });
    await Deno.writeTextFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);

    printOut(`${table(results)}\n`);
    if (Object.keys(report.phases).length) {
      printOut(`\n${phaseTable(report.phases)}\n`);
    }
    printErr(`Results written to ${jsonPath}\n`);
    if (problems.length) {
      printErr(`Problems:\n${problems.map((p) => `- ${p}`).join("\n")}\n`);
      Deno.exitCode = 1;
    }
  } finally {
    await kms.close();
    await Deno.remove(scratch, { recursive: true });
  }
}

if (import.meta.main) {
  await main();
}
