/**
 * Compares the wall time of the scripts in two copies of this repository,
 * such as the current tree and an older commit, by alternating their runs.
 * On a shared machine both copies then see the same background load, which
 * two separate `deno task bench` runs do not.
 *
 * ```sh
 * git archive COMMIT | tar -x -C /tmp/before
 * deno run -A bench/compare_trees.ts --before /tmp/before [--runs 30]
 * ```
 *
 * Both trees run with this tree's deno.json task permissions and import
 * map, against one local KMS endpoint. It prints a Markdown table of the
 * median, minimum and mean in milliseconds.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startLocalKms } from "../lib/local_kms/mod.ts";
import { printOut } from "../scripts/_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function permissions(script: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
  const command = Object.values(tasks as Record<string, string>)
    .find((task) => task.endsWith(`scripts/${script}`));
  if (!command) throw new Error(`No deno.json task runs scripts/${script}`);
  return command.match(/'[^']*'|\S+/g)!
    .map((word) => word.replace(/^'(.*)'$/, "$1"))
    .filter((word) => word.startsWith("--allow-"));
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return {
    median: sorted.length % 2
      ? sorted[middle]!
      : (sorted[middle - 1]! + sorted[middle]!) / 2,
    min: sorted[0]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    before: { type: "string" },
    runs: { type: "string", default: "30" },
  },
  strict: true,
});
if (!values.before) {
  throw new Error("Missing --before DIR: pass the folder of the older tree.");
}
const trees = { before: `${values.before.replace(/\/+$/, "")}/`, after: ROOT };
const runs = Number(values.runs);

const kms = await startLocalKms();
await kms.createKey("ECC_NIST_P256", { alias: "alias/bench-p256" });
await kms.createKey("RSA_2048", { alias: "alias/bench-rsa" });
const home = await Deno.makeTempDir({ prefix: "kms-toolkit-compare-" });
const denoDir = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
    }).output()).stdout,
  ),
).denoDir;
const env = {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: home,
  DENO_DIR: Deno.env.get("DENO_DIR") ?? denoDir,
  AWS_ACCESS_KEY_ID: "AKIDLOCAL",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
  NO_COLOR: "1",
};
const request = [
  "--subject",
  "/C=US/O=Example Corp/CN=bench.example.com",
  "--san",
  "DNS:bench.example.com",
  "--out",
  "-",
  "--quiet",
  "--endpoint-url",
  kms.url,
];
const cases: [string, string, string[]][] = [
  ["kms_generate_csr, P-256", "kms_generate_csr.ts", [
    "--key-id",
    "alias/bench-p256",
    ...request,
  ]],
  ["kms_generate_csr, RSA 2048", "kms_generate_csr.ts", [
    "--key-id",
    "alias/bench-rsa",
    ...request,
  ]],
  ["kms_public_key_to_jwks, P-256", "kms_public_key_to_jwks.ts", [
    "--key-id",
    "alias/bench-p256",
    "--quiet",
    "--endpoint-url",
    kms.url,
  ]],
  ["kms_generate_csr --help", "kms_generate_csr.ts", ["--help"]],
];

const times = new Map<string, number[]>();
try {
  // Two untimed rounds warm the caches of both trees.
  for (let round = 0; round < runs + 2; round++) {
    for (const [label, script, args] of cases) {
      // Alternate which tree goes first, so neither always runs second.
      const order = round % 2
        ? Object.entries(trees)
        : Object.entries(trees).reverse();
      for (const [tree, root] of order) {
        const start = performance.now();
        const output = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--quiet",
            "--no-prompt",
            "--config",
            `${ROOT}deno.json`,
            ...permissions(script),
            `${root}scripts/${script}`,
            ...args,
          ],
          env,
          clearEnv: true,
          cwd: home,
          stdout: "null",
          stderr: "piped",
        }).output();
        const elapsed = performance.now() - start;
        if (!output.success) {
          throw new Error(
            `${tree} ${label} failed: ` +
              new TextDecoder().decode(output.stderr),
          );
        }
        if (round >= 2) {
          const key = `${label}|${tree}`;
          times.set(key, [...(times.get(key) ?? []), elapsed]);
        }
      }
    }
  }
} finally {
  await kms.close();
  await Deno.remove(home, { recursive: true });
}

const lines = [
  `Load average at the end: ${
    Deno.loadavg().map((v) => v.toFixed(2)).join(" ")
  }; ${runs} alternating runs per tree.`,
  "",
  "| case | before: median / min / mean (ms) | after: median / min / mean (ms) | median change |",
  "| --- | ---: | ---: | ---: |",
];
for (const [label] of cases) {
  const before = stats(times.get(`${label}|before`)!);
  const after = stats(times.get(`${label}|after`)!);
  const format = (s: ReturnType<typeof stats>) =>
    `${s.median.toFixed(1)} / ${s.min.toFixed(1)} / ${s.mean.toFixed(1)}`;
  lines.push(
    `| ${label} | ${format(before)} | ${format(after)} | ` +
      `${(after.median - before.median).toFixed(1)} |`,
  );
}
printOut(`${lines.join("\n")}\n`);
