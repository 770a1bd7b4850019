import assert from "node:assert/strict";
import { KmsToolkitError } from "../lib/errors.ts";
import { writeFileAtomic } from "../lib/output_file.ts";
import { tempDir } from "./_helpers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("writeFileAtomic creates with mode", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/new.txt`;
  await writeFileAtomic(path, bytes("hello"), { mode: 0o600 });
  assert.equal(await Deno.readTextFile(path), "hello");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), [
    "new.txt",
  ]);
});

Deno.test("writeFileAtomic keeps existing files", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/old.txt`;
  await Deno.writeTextFile(path, "old");
  await assert.rejects(
    writeFileAtomic(path, bytes("new"), { overwriteFlag: "--overwrite" }),
    (error) =>
      error instanceof KmsToolkitError && error.code === "OUTPUT_EXISTS" &&
      /old\.txt': the file exists\. Pass --overwrite/.test(error.message),
  );
  assert.equal(await Deno.readTextFile(path), "old");
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), [
    "old.txt",
  ]);

  await writeFileAtomic(path, bytes("new"), { overwrite: true });
  assert.equal(await Deno.readTextFile(path), "new");
});

Deno.test("writeFileAtomic treats symlinks as existing", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/target`, "target");
  await Deno.symlink(`${dir.path}/target`, `${dir.path}/link`);
  await assert.rejects(
    writeFileAtomic(`${dir.path}/link`, bytes("x")),
    /exists/,
  );
  assert.equal(await Deno.readTextFile(`${dir.path}/target`), "target");
});

Deno.test("writeFileAtomic reports missing folders", async () => {
  await using dir = await tempDir();
  await assert.rejects(
    writeFileAtomic(`${dir.path}/missing/out.txt`, bytes("x")),
    (error) =>
      error instanceof KmsToolkitError && error.code === "IO_FAILED" &&
      error.message.includes("missing/out.txt"),
  );
});
