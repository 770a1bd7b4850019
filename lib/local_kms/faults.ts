/**
 * Fault injection of the local KMS endpoint, for tests of how clients
 * behave when KMS is slow, throttles, fails or lies.
 *
 * @module
 */

/** Faults that the endpoint injects; all are off by default. */
export interface FaultOptions {
  /**
   * Milliseconds to wait before responding to each request.
   * @default {0}
   */
  delayMs?: number;
  /**
   * Respond to the first N requests with 400 `ThrottlingException`.
   * @default {0}
   */
  throttleFirst?: number;
  /**
   * Respond to the N requests after the throttled ones with 500
   * `KMSInternalException`.
   * @default {0}
   */
  failFirst?: number;
  /**
   * Make `GetPublicKey` return the SPKI of another key of the same key spec
   * (one fixed decoy key per key spec).
   * @default {false}
   */
  wrongPublicKey?: boolean;
  /**
   * Make `Sign` return random bytes as long as a real signature.
   * @default {false}
   */
  garbageSignature?: boolean;
  /**
   * Send the headers and part of the body, then abort the connection.
   * @default {false}
   */
  truncateResponse?: boolean;
  /**
   * Close every connection after reading the request, without a response.
   * @default {false}
   */
  refuseConnections?: boolean;
}

/** The fault, if any, that responds to a request instead of the operation. */
export type EarlyFault = "ThrottlingException" | "KMSInternalException" | null;

/**
 * Stores the active faults and the request counter that `throttleFirst` and
 * `failFirst` count with; the counter restarts whenever faults are set.
 *
 * @example
 * ```ts
 * import { FaultState } from "./faults.ts";
 * import assert from "node:assert/strict";
 *
 * const faults = new FaultState({ throttleFirst: 1, failFirst: 1 });
 * assert.equal(faults.nextEarlyFault(), "ThrottlingException");
 * assert.equal(faults.nextEarlyFault(), "KMSInternalException");
 * assert.equal(faults.nextEarlyFault(), null);
 * ```
 */
export class FaultState {
  #faults: Readonly<FaultOptions> = {};
  #count = 0;

  /**
   * Creates the state with the given faults active.
   *
   * @param faults The faults to inject.
   * @throws {RangeError} When a count or delay is negative or not an integer.
   */
  constructor(faults: FaultOptions = {}) {
    this.set(faults);
  }

  /**
   * Replaces the active faults and restarts the request counter.
   *
   * @param faults The faults to inject.
   * @throws {RangeError} When a count or delay is negative or not an integer.
   */
  set(faults: FaultOptions): void {
    for (const name of ["delayMs", "throttleFirst", "failFirst"] as const) {
      const value = faults[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new RangeError(
          `Cannot set fault ${name} to '${value}': it must be a whole number ` +
            "of zero or more.",
        );
      }
    }
    this.#faults = { ...faults };
    this.#count = 0;
  }

  /** The active faults. */
  get active(): Readonly<FaultOptions> {
    return this.#faults;
  }

  /**
   * Counts one request and returns the early fault, if any, for it:
   * first `throttleFirst` throttles, then `failFirst` internal errors.
   *
   * @returns The `__type` to respond with, or `null` to run the operation.
   */
  nextEarlyFault(): EarlyFault {
    const index = this.#count++;
    const throttle = this.#faults.throttleFirst ?? 0;
    if (index < throttle) return "ThrottlingException";
    if (index < throttle + (this.#faults.failFirst ?? 0)) {
      return "KMSInternalException";
    }
    return null;
  }
}
