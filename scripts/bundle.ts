/**
 * Bundles the JWT signer (lib/node_entry.ts) into one ESM file for
 * Node.js, with esbuild from npm. `@aws-sdk/*` stays external, and jose
 * and the noble code are bundled in.
 *
 * esbuild resolves bare imports from a `node_modules` folder, which this
 * Deno project does not have. So the script lays one out in a temporary
 * folder with `deno install` and this project's import map (from Deno's
 * cache, offline once the packages are cached) and points esbuild at it.
 *
 * @module
 */

import { dirname } from "node:path";
import * as esbuild from "esbuild";
import { KmsToolkitError } from "../lib/errors.ts";
import { parseFlags, printErr, printOut, runMain, usageError } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DEFAULT_OUT = `${ROOT}dist/kms_jwt.mjs`;

const USAGE = "Usage: bundle [--out FILE] [--help]";

const HELP = `Bundle the JWT signer into one ESM file for Node.js 20 or later.

${USAGE}

The bundle exports KmsJwtSigner, clientAssertionClaims,
jwtBearerGrantClaims, signClientAssertion, signServiceNowAssertion,
checkServiceNowAlgorithm, verifyJwt, publicJwkFor, createKmsClient and
KmsToolkitError. It imports @aws-sdk/client-kms at run time (the AWS
Lambda Node.js runtime ships it; elsewhere, npm install it).

Options:
  --out FILE   Output file (default: dist/kms_jwt.mjs).
  --help       Show this help.
`;

const FLAGS = {
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Writes a deno.json with this project's imports into `folder`, and installs them there. */
async function installNodeModules(folder: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  await Deno.writeTextFile(
    `${folder}/deno.json`,
    JSON.stringify({ imports: config.imports, nodeModulesDir: "auto" }),
  );
  try {
    await Deno.copyFile(`${ROOT}deno.lock`, `${folder}/deno.lock`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet"],
    cwd: folder,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new KmsToolkitError(
      "IO_FAILED",
      "Cannot install the npm packages to bundle: `deno install` failed:\n" +
        new TextDecoder().decode(output.stderr) +
        "Check that the npm registry is reachable, or run any test once " +
        "so that Deno caches the packages.",
    );
  }
  return `${folder}/node_modules`;
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  if (flags.out === "") usageError("Invalid --out '': expected a path.", USAGE);
  const out = flags.out ?? DEFAULT_OUT;

  const folder = await Deno.makeTempDir({ prefix: "kms-toolkit-bundle-" });
  try {
    const nodeModules = await installNodeModules(folder);
    const result = await esbuild.build({
      entryPoints: [`${ROOT}lib/node_entry.ts`],
      absWorkingDir: ROOT,
      outfile: out,
      write: false,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      external: ["@aws-sdk/*"],
      nodePaths: [nodeModules],
      legalComments: "eof",
      logLevel: "silent",
    });
    for (const warning of result.warnings) {
      printErr(`warning: ${warning.text}\n`);
    }
    // esbuild names each module's source path in comments and, for lazily
    // imported modules, in string keys. Name packages as node_modules/NAME,
    // so the output does not vary with the temporary folder; the pattern
    // stops at quotes so that string keys stay quoted.
    const installed = new RegExp(
      `[^\\s"'\`]*${folder.split("/").pop()}/node_modules/\\.deno/[^/]+/`,
      "g",
    );
    const text = result.outputFiles[0]!.text.replace(installed, "");
    await Deno.mkdir(dirname(out), { recursive: true });
    await Deno.writeTextFile(out, text);
    const bytes = new TextEncoder().encode(text).length;
    printErr(`Wrote ${out} (${bytes} bytes).\n`);
  } catch (error) {
    if (error instanceof KmsToolkitError) throw error;
    const failure = error as { errors?: esbuild.Message[] };
    if (!failure.errors) throw error;
    throw new KmsToolkitError(
      "IO_FAILED",
      `Cannot bundle lib/node_entry.ts: ${
        failure.errors.map((message) =>
          `${message.location?.file ?? ""}:${
            message.location?.line ?? ""
          } ${message.text}`
        ).join("; ")
      }.`,
      { cause: error },
    );
  } finally {
    await esbuild.stop();
    await Deno.remove(folder, { recursive: true });
  }
}

if (import.meta.main) {
  await runMain(main);
}
