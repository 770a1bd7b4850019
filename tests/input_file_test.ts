import assert from "node:assert/strict";
import { KmsToolkitError } from "../lib/errors.ts";
import { readInputFile } from "../lib/input_file.ts";
import { runCommand, tempDir } from "./_helpers.ts";

const MODULE = new URL("../lib/input_file.ts", import.meta.url).href;

async function rejects(
  run: () => Promise<unknown>,
  code: string,
  message: string,
) {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("readInputFile reads bytes", async () => {
  await using dir = await tempDir();
  const bytes = crypto.getRandomValues(new Uint8Array(60_000));
  await Deno.writeFile(`${dir.path}/in.bin`, bytes);
  assert.deepEqual(await readInputFile("--cert", `${dir.path}/in.bin`), bytes);
});

Deno.test("readInputFile names missing files", async () => {
  await using dir = await tempDir();
  const missing = `${dir.path}/none.json`;
  await rejects(
    () => readInputFile("--merge", missing),
    "IO_FAILED",
    `Cannot read --merge '${missing}': the file does not exist. Check the ` +
      "path.",
  );
  await rejects(
    () => readInputFile("--cert", dir.path),
    "IO_FAILED",
    `Cannot read --cert '${dir.path}': it is a folder, not a file. Check ` +
      "the path.",
  );
});

Deno.test("readInputFile without read permission", async () => {
  await using dir = await tempDir();
  const program = `${dir.path}/read.ts`;
  await Deno.writeTextFile(
    program,
    `import { readInputFile } from ${JSON.stringify(MODULE)};\n` +
      "try { await readInputFile('--claims-json', '/etc/hostname'); }\n" +
      "catch (error) { console.log(JSON.stringify([error.code, " +
      "error.message])); }\n",
  );
  const result = await runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    `--allow-read=${program}`,
    program,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [
    "PERMISSION_DENIED",
    "Cannot read --claims-json '/etc/hostname': this run has no read " +
    "permission for it. Run the script through its deno task, or add " +
    "--allow-read to the deno run flags.",
  ]);
});
