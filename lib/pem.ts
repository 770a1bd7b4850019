/**
 * PEM (RFC 7468) encoding and decoding.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";

/**
 * Encodes DER bytes as PEM with 64-character lines and a final newline.
 *
 * @param label The label, such as `CERTIFICATE REQUEST`.
 * @param der The DER bytes.
 * @returns The PEM text.
 *
 * @example
 * ```ts
 * import { encodePem } from "./pem.ts";
 * import assert from "node:assert/strict";
 *
 * const pem = encodePem("PUBLIC KEY", new Uint8Array([1, 2, 3]));
 * assert.equal(pem, "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n");
 * ```
 */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = der.toBase64();
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

/** One block of a PEM file. */
export interface PemBlock {
  /** The label between `BEGIN` and the dashes. */
  label: string;
  /** The decoded bytes. */
  der: Uint8Array;
}

const BLOCK =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Decodes every PEM block in a text, in order. Text between blocks is
 * ignored, as RFC 7468 allows.
 *
 * @param text The PEM text.
 * @param source A name for the text (a file path) used in error messages.
 * @returns The blocks found; empty when there are none.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a block is malformed.
 *
 * @example
 * ```ts
 * import { decodePemBlocks, encodePem } from "./pem.ts";
 * import assert from "node:assert/strict";
 *
 * const [block] = decodePemBlocks(encodePem("CERTIFICATE", new Uint8Array([7])));
 * assert.equal(block?.label, "CERTIFICATE");
 * assert.deepEqual(block?.der, new Uint8Array([7]));
 * ```
 */
export function decodePemBlocks(text: string, source = "input"): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label, body, endLabel] = match as unknown as string[];
    if (label !== endLabel) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot read PEM in ${source}: BEGIN ${label} ends with END ${endLabel}.`,
      );
    }
    const base64 = body!.replace(/\s+/g, "");
    let der: Uint8Array;
    try {
      der = Uint8Array.fromBase64(base64);
    } catch (cause) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot read PEM block '${label}' in ${source}: invalid base64.`,
        { cause },
      );
    }
    blocks.push({ label: label!, der });
  }
  return blocks;
}

/**
 * Reads DER from bytes that hold either DER or PEM with the given label.
 *
 * @param bytes The file contents.
 * @param label The PEM label to accept.
 * @param source A name for the input (a file path) used in error messages.
 * @returns The DER bytes of the first block with that label, or the input.
 * @throws {KmsToolkitError} `INVALID_INPUT` when PEM holds no such block.
 *
 * @example
 * ```ts
 * import { encodePem, readPemOrDer } from "./pem.ts";
 * import assert from "node:assert/strict";
 *
 * const pem = new TextEncoder().encode(encodePem("X", new Uint8Array([0x30, 0])));
 * assert.deepEqual(readPemOrDer(pem, "X"), new Uint8Array([0x30, 0]));
 * ```
 */
export function readPemOrDer(
  bytes: Uint8Array,
  label: string,
  source = "input",
): Uint8Array {
  if (bytes[0] === 0x30) return bytes;

  const text = new TextDecoder().decode(bytes);
  const blocks = decodePemBlocks(text, source);
  const block = blocks.find((candidate) => candidate.label === label);
  if (block) return block.der;

  const found = blocks.map((candidate) => candidate.label).join(", ");
  throw new KmsToolkitError(
    "INVALID_INPUT",
    `Cannot read ${source}: expected DER or a PEM '${label}' block, found ` +
      `${found ? `PEM blocks ${found}` : "neither"}.`,
  );
}
