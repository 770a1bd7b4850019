/**
 * The error type and request readers of the local KMS endpoint: what the
 * AWS JSON 1.1 protocol calls `__type`, and the member checks that KMS
 * reports as `ValidationException`.
 *
 * @module
 */

/**
 * An error that the endpoint sends as `{"__type": type, "message": ...}`.
 *
 * @example
 * ```ts
 * import { KmsError } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new KmsError("NotFoundException", "Key 'x' does not exist");
 * assert.equal(error.status, 400);
 * ```
 */
export class KmsError extends Error {
  /** The `__type` sent to the client, such as `NotFoundException`. */
  readonly type: string;
  /** The HTTP status: 400 for client errors, 500 for internal ones. */
  readonly status: number;

  /**
   * Creates an error to send to the client.
   *
   * @param type The `__type`, such as `NotFoundException`.
   * @param message The `message` member.
   * @param status The HTTP status.
   */
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = status;
  }
}

/** A parsed JSON request body. */
export type RequestBody = Record<string, unknown>;

function memberPath(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

function shown(value: unknown): string {
  return value === undefined || value === null ? "null" : `'${value}'`;
}

/**
 * Builds the `ValidationException` that KMS sends when a member breaks a
 * constraint of the API model.
 *
 * @param member The member name, such as `SigningAlgorithm`.
 * @param value The value sent, or `undefined` when missing.
 * @param constraint What the member must satisfy.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { validationError } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const error = validationError("KeyId", undefined, "Member must not be null");
 * assert.match(error.message, /Value null at 'keyId'/);
 * ```
 */
export function validationError(
  member: string,
  value: unknown,
  constraint: string,
): KmsError {
  return new KmsError(
    "ValidationException",
    `1 validation error detected: Value ${shown(value)} at ` +
      `'${memberPath(member)}' failed to satisfy constraint: ${constraint}`,
  );
}

/** Options of {@linkcode readString}. */
export interface ReadStringOptions {
  /**
   * Whether the member must be present.
   * @default {false}
   */
  required?: boolean;
  /**
   * The shortest allowed length.
   * @default {1}
   */
  min?: number;
  /**
   * The longest allowed length.
   * @default {Infinity}
   */
  max?: number;
  /**
   * The allowed values, for enum members.
   * @default {undefined} any value
   */
  values?: readonly string[];
}

/**
 * Reads a string member and checks it against the API model.
 *
 * @param body The request body.
 * @param member The member name.
 * @param options Whether it is required, its lengths or enum values.
 * @returns The value, or `undefined` when absent and optional.
 * @throws {KmsError} `ValidationException` when it is missing, of another
 * type, too short or long, or not one of the enum values.
 *
 * @example
 * ```ts
 * import { readString } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readString({ KeyId: "k" }, "KeyId", { required: true }), "k");
 * assert.throws(() => readString({}, "KeyId", { required: true }));
 * ```
 */
export function readString(
  body: RequestBody,
  member: string,
  options: ReadStringOptions = {},
): string | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    if (options.required) {
      throw validationError(member, value, "Member must not be null");
    }
    return undefined;
  }
  if (typeof value !== "string") {
    throw new KmsError(
      "SerializationException",
      `Cannot read member '${member}': expected a string, got ${typeof value}.`,
    );
  }
  if (options.values && !options.values.includes(value)) {
    throw validationError(
      member,
      value,
      `Member must satisfy enum value set: [${options.values.join(", ")}]`,
    );
  }
  const min = options.min ?? 1;
  if (value.length < min) {
    throw validationError(
      member,
      value,
      `Member must have length greater than or equal to ${min}`,
    );
  }
  if (options.max !== undefined && value.length > options.max) {
    throw validationError(
      member,
      value,
      `Member must have length less than or equal to ${options.max}`,
    );
  }
  return value;
}

/** Options of {@linkcode readBlob}. */
export interface ReadBlobOptions {
  /**
   * Whether the member must be present.
   * @default {false}
   */
  required?: boolean;
  /**
   * The largest allowed size in bytes.
   * @default {Infinity}
   */
  max?: number;
}

/**
 * Reads a blob member (padded base64 on the wire) and checks its size.
 *
 * @param body The request body.
 * @param member The member name.
 * @param options Whether it is required and its largest size.
 * @returns The bytes, or `undefined` when absent and optional.
 * @throws {KmsError} `SerializationException` when it is not base64 text;
 * `ValidationException` when it is missing, empty or too large.
 *
 * @example
 * ```ts
 * import { readBlob } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(readBlob({ Message: "AQI=" }, "Message"), Uint8Array.of(1, 2));
 * ```
 */
export function readBlob(
  body: RequestBody,
  member: string,
  options: ReadBlobOptions = {},
): Uint8Array | undefined {
  const value = body[member];
  if (value === undefined || value === null) {
    if (options.required) {
      throw validationError(member, value, "Member must not be null");
    }
    return undefined;
  }
  let bytes: Uint8Array;
  try {
    if (typeof value !== "string") throw new TypeError("not a string");
    bytes = Uint8Array.fromBase64(value);
  } catch {
    throw new KmsError(
      "SerializationException",
      `Cannot read member '${member}': it is not base64 text.`,
    );
  }
  if (bytes.length === 0) {
    throw validationError(
      member,
      "java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]",
      "Member must have length greater than or equal to 1",
    );
  }
  if (options.max !== undefined && bytes.length > options.max) {
    throw validationError(
      member,
      `java.nio.HeapByteBuffer[pos=0 lim=${bytes.length} cap=${bytes.length}]`,
      `Member must have length less than or equal to ${options.max}`,
    );
  }
  return bytes;
}

/**
 * Reads an integer member and checks its range.
 *
 * @param body The request body.
 * @param member The member name.
 * @param range The smallest and largest allowed values.
 * @returns The value, or `undefined` when absent.
 * @throws {KmsError} `SerializationException` when it is not an integer;
 * `ValidationException` when it is out of range.
 *
 * @example
 * ```ts
 * import { readInteger } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readInteger({ Limit: 5 }, "Limit", [1, 1000]), 5);
 * assert.throws(() => readInteger({ Limit: 0 }, "Limit", [1, 1000]));
 * ```
 */
export function readInteger(
  body: RequestBody,
  member: string,
  range: [number, number],
): number | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new KmsError(
      "SerializationException",
      `Cannot read member '${member}': expected an integer, got '${value}'.`,
    );
  }
  if (value < range[0]) {
    throw validationError(
      member,
      value,
      `Member must have value greater than or equal to ${range[0]}`,
    );
  }
  if (value > range[1]) {
    throw validationError(
      member,
      value,
      `Member must have value less than or equal to ${range[1]}`,
    );
  }
  return value;
}

/**
 * Reads a boolean member.
 *
 * @param body The request body.
 * @param member The member name.
 * @returns The value, or `undefined` when absent.
 * @throws {KmsError} `SerializationException` when it is not a boolean.
 *
 * @example
 * ```ts
 * import { readBoolean } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readBoolean({ MultiRegion: true }, "MultiRegion"), true);
 * ```
 */
export function readBoolean(
  body: RequestBody,
  member: string,
): boolean | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw new KmsError(
      "SerializationException",
      `Cannot read member '${member}': expected a boolean, got '${value}'.`,
    );
  }
  return value;
}
