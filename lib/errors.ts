/**
 * The one error class that callers of this toolkit catch.
 *
 * Programming mistakes (a wrong argument type, a call out of order) raise
 * the built-in `TypeError` and `RangeError` instead.
 *
 * @module
 */

/**
 * Stable codes of {@linkcode KmsToolkitError}, grouped by what the caller
 * can do about them.
 */
export type ErrorCode =
  /** A command-line flag is unknown, missing its value or in conflict. */
  | "USAGE"
  /** Text or bytes given by the user cannot be parsed or are out of range. */
  | "INVALID_INPUT"
  /** The KMS key cannot do what was requested (key spec, usage, algorithm). */
  | "UNSUPPORTED_KEY"
  /** KMS has no key or alias by that name. */
  | "KMS_NOT_FOUND"
  /** The KMS key is disabled. */
  | "KMS_DISABLED"
  /** The KMS key is pending deletion or pending import. */
  | "KMS_INVALID_STATE"
  /** KMS rejected the key usage or the signing algorithm. */
  | "KMS_INVALID_KEY_USAGE"
  /** The caller lacks the IAM permission for the KMS action. */
  | "KMS_ACCESS_DENIED"
  /** KMS throttled the request and the SDK's retries ran out. */
  | "KMS_THROTTLED"
  /** No AWS credentials could be resolved. */
  | "KMS_NO_CREDENTIALS"
  /** No AWS region could be resolved. */
  | "KMS_NO_REGION"
  /** The KMS endpoint could not be reached. */
  | "KMS_UNREACHABLE"
  /** A KMS call did not finish within the timeout. */
  | "KMS_TIMEOUT"
  /** KMS rejected the request parameters. */
  | "KMS_VALIDATION"
  /** Any other KMS failure. */
  | "KMS_FAILED"
  /** A signature made by KMS does not verify against the KMS public key. */
  | "VERIFY_FAILED"
  /** The output file exists and overwriting was not requested. */
  | "OUTPUT_EXISTS"
  /** Writing or reading a file failed. */
  | "IO_FAILED"
  /** The Deno permissions the program runs with do not allow a step. */
  | "PERMISSION_DENIED";

/**
 * An error that a user or caller can act on. Its message names what failed,
 * on which value, and what to do next.
 *
 * @example Catch by code
 * ```ts
 * import { KmsToolkitError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new KmsToolkitError("USAGE", "Missing value for --key-id.");
 * assert.equal(error.code, "USAGE");
 * assert.ok(error instanceof Error);
 * ```
 */
export class KmsToolkitError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;

  /**
   * Creates an error with a stable code.
   *
   * @param code Stable code that callers can branch on.
   * @param message What failed, on which value, and what to do next.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KmsToolkitError";
    this.code = code;
  }
}

/**
 * Tells whether a value is a {@linkcode KmsToolkitError}, optionally with
 * the given code.
 *
 * @param value Any caught value.
 * @param code The code to match, if any.
 * @returns `true` when `value` is a toolkit error (with that code).
 *
 * @example
 * ```ts
 * import { isKmsToolkitError, KmsToolkitError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new KmsToolkitError("KMS_NOT_FOUND", "Key not found.");
 * assert.ok(isKmsToolkitError(error, "KMS_NOT_FOUND"));
 * assert.ok(!isKmsToolkitError(new Error("x")));
 * ```
 */
export function isKmsToolkitError(
  value: unknown,
  code?: ErrorCode,
): value is KmsToolkitError {
  if (!(value instanceof KmsToolkitError)) return false;
  return code === undefined || value.code === code;
}
