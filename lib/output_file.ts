/**
 * Atomic, no-clobber file output: a reader sees either the old file or
 * the whole new one, never a part, and an existing file is kept unless
 * overwriting was requested.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";

/** Options of {@linkcode writeFileAtomic}. */
export interface WriteFileOptions {
  /**
   * Replace an existing file.
   * @default {false}
   */
  overwrite?: boolean;
  /**
   * File mode of a new file.
   * @default {0o644}
   */
  mode?: number;
  /**
   * The flag that allows overwriting, named in the error message.
   * @default {"--force"}
   */
  overwriteFlag?: string;
}

const pendingTemporaryFiles = new Set<string>();

/**
 * Removes temporary files of writes still in progress, for a signal
 * handler that exits before they finish.
 *
 * @example
 * ```ts
 * import { removePendingTemporaryFiles } from "./output_file.ts";
 *
 * Deno.addSignalListener("SIGINT", () => {
 *   removePendingTemporaryFiles();
 *   Deno.exit(130);
 * });
 * ```
 */
export function removePendingTemporaryFiles(): void {
  for (const path of pendingTemporaryFiles) {
    try {
      Deno.removeSync(path);
    } catch {
      // Already renamed or removed.
    }
  }
  pendingTemporaryFiles.clear();
}

function splitPath(path: string): { dir: string; base: string } {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return { dir: ".", base: path };
  return { dir: path.slice(0, slash) || "/", base: path.slice(slash + 1) };
}

function existsError(path: string, flag: string): KmsToolkitError {
  return new KmsToolkitError(
    "OUTPUT_EXISTS",
    `Cannot write '${path}': the file exists. Pass ${flag} to overwrite ` +
      "it, or choose another path with --out.",
  );
}

function ioError(path: string, cause: unknown): KmsToolkitError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new KmsToolkitError(
    "IO_FAILED",
    `Cannot write '${path}': ${reason}.`,
    { cause },
  );
}

/**
 * Writes a file atomically: the bytes go to a temporary file in the same
 * folder, are flushed to disk, then the temporary file takes the final
 * name. Without `overwrite` the final step is a hard link, which fails if
 * the path exists, so a file created meanwhile is not replaced either.
 *
 * @param path The file to write.
 * @param data The contents.
 * @param options Overwrite and mode.
 * @throws {KmsToolkitError} `OUTPUT_EXISTS` when the file exists and
 * `overwrite` is false, `IO_FAILED` when writing fails.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./output_file.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, new TextEncoder().encode("one"));
 * await assert.rejects(writeFileAtomic(`${dir}/a.txt`, new Uint8Array()), /exists/);
 * assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "one");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: WriteFileOptions = {},
): Promise<void> {
  const overwrite = options.overwrite ?? false;
  const flag = options.overwriteFlag ?? "--force";
  if (!overwrite && await exists(path)) throw existsError(path, flag);

  const { dir, base } = splitPath(path);
  const suffix = crypto.randomUUID().slice(0, 8);
  const temporary = `${dir}/.${base}.${suffix}.tmp`;
  pendingTemporaryFiles.add(temporary);
  try {
    await writeAndSync(temporary, data, options.mode ?? 0o644);
    if (overwrite) {
      await Deno.rename(temporary, path);
    } else {
      await linkNoClobber(temporary, path, flag);
    }
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    if (error instanceof KmsToolkitError) throw error;
    throw ioError(path, error);
  } finally {
    pendingTemporaryFiles.delete(temporary);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw ioError(path, error);
  }
}

async function writeAndSync(
  path: string,
  data: Uint8Array,
  mode: number,
): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true, mode });
  let written = 0;
  while (written < data.length) {
    written += await file.write(data.subarray(written));
  }
  await file.sync();
}

async function linkNoClobber(
  temporary: string,
  path: string,
  flag: string,
): Promise<void> {
  try {
    await Deno.link(temporary, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw existsError(path, flag);
    }
    // NOTE: some file systems have no hard links; there the exists check
    // above and a rename are used, which leaves a short race window.
    if (await exists(path)) throw existsError(path, flag);
    await Deno.rename(temporary, path);
    return;
  }
  await Deno.remove(temporary);
}
