/**
 * Reading of files that the user named. Errors name the input and the
 * path and give the next step, in place of the operating system's text.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";

/**
 * Reads a whole input file. Errors name the input by its label, such as
 * the flag that gave the path.
 *
 * @param label What the file is, such as `--merge`, for messages.
 * @param path The path as the user gave it.
 * @returns The file's bytes.
 * @throws {KmsToolkitError} `PERMISSION_DENIED` when the Deno permissions
 * of the run do not allow reading the path; `IO_FAILED` when the file
 * does not exist or cannot be read.
 *
 * @example
 * ```ts
 * import { readInputFile } from "./input_file.ts";
 * import { KmsToolkitError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2]));
 * assert.deepEqual(await readInputFile("--cert", path), new Uint8Array([1, 2]));
 * await Deno.remove(path);
 * await assert.rejects(readInputFile("--cert", path), (error) =>
 *   error instanceof KmsToolkitError && error.code === "IO_FAILED" &&
 *   error.message.includes("the file does not exist"));
 * ```
 */
export async function readInputFile(
  label: string,
  path: string,
): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof Deno.errors.NotCapable) {
      throw new KmsToolkitError(
        "PERMISSION_DENIED",
        `Cannot read ${label} '${path}': this run has no read permission ` +
          "for it. Run the script through its deno task, or add " +
          "--allow-read to the deno run flags.",
        { cause: error },
      );
    }
    const detail = error instanceof Deno.errors.NotFound
      ? "the file does not exist"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a folder, not a file"
      : reason.replace(/\.$/, "");
    throw new KmsToolkitError(
      "IO_FAILED",
      `Cannot read ${label} '${path}': ${detail}. Check the path.`,
      { cause: error },
    );
  }
}
