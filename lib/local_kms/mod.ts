/**
 * A local HTTP endpoint that speaks the AWS KMS JSON protocol on loopback,
 * for tests, demos and trying the toolkit without AWS. Point
 * `@aws-sdk/client-kms` at it with `endpoint: kms.url`.
 *
 * It creates real keys (RSA, NIST and secp256k1 ECC, Ed25519, ML-DSA, SM2,
 * symmetric and HMAC), really signs and verifies with them, and mimics the
 * errors, key states and message checks of KMS.
 *
 * TESTING ONLY: keys live in memory and, with `statePath`, in a plain JSON
 * file that contains their PRIVATE key material. Never keep keys there that
 * protect anything.
 *
 * @module
 */

import { KmsToolkitError } from "../errors.ts";
import type { FaultOptions } from "./faults.ts";
import { KeyStore } from "./key_store.ts";
import { KmsError } from "./protocol.ts";
import { type CallRecord, type CreatedKey, KmsServer } from "./server.ts";
import type { LocalCredentials } from "./sigv4.ts";

export type { FaultOptions } from "./faults.ts";
export type { KeyState } from "./key_store.ts";
export type { CallRecord, CreatedKey } from "./server.ts";
export type { LocalCredentials } from "./sigv4.ts";

/** Options of {@linkcode startLocalKms}. */
export interface LocalKmsOptions {
  /**
   * The address to bind: only loopback (127.0.0.0/8, `::1`, `localhost`).
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one.
   * @default {0}
   */
  port?: number;
  /**
   * The region of ARNs, which SigV4 credential scopes must name.
   * @default {"us-east-1"}
   */
  region?: string;
  /**
   * The account id of ARNs.
   * @default {"111122223333"}
   */
  accountId?: string;
  /**
   * A JSON state file, loaded at start and written after every change. It
   * contains PRIVATE key material, so use it for testing only.
   * @default {undefined} keys live in memory only
   */
  statePath?: string;
  /**
   * Gets one line per request: operation, key id, outcome, duration.
   * @default {undefined} no logging
   */
  log?: (line: string) => void;
  /**
   * The faults to inject from the start.
   * @default {{}} none
   */
  faults?: FaultOptions;
  /**
   * Credentials whose SigV4 signatures are verified; requests with another
   * access key id or a wrong signature are rejected.
   * @default {undefined} any access key id and signature pass
   */
  credentials?: LocalCredentials;
}

/** Counts of the keys and aliases in the state file at start. */
export interface LoadedState {
  /** Whether the file existed; a missing one is written at the first change. */
  readonly found: boolean;
  /** The number of keys, not counting keys past their deletion date. */
  readonly keys: number;
  /** The number of aliases, not counting aliases of deleted keys. */
  readonly aliases: number;
}

/** Options of {@linkcode LocalKms.createKey}. */
export interface CreateKeyOptions {
  /**
   * The `KeyUsage`.
   * @default {"SIGN_VERIFY"} or the only usage of symmetric and HMAC key
   * specs
   */
  keyUsage?: string;
  /**
   * An alias name `alias/...` to point at the key.
   * @default {undefined} no alias
   */
  alias?: string;
  /**
   * Whether an existing `alias` that points at a key of the same spec and
   * usage gives that key instead of failing with `AlreadyExistsException`.
   * @default {false}
   */
  reuseAlias?: boolean;
}

/** A running local KMS endpoint. */
export interface LocalKms extends AsyncDisposable {
  /** The base URL, such as `http://127.0.0.1:8081`. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** The region of ARNs and credential scopes. */
  readonly region: string;
  /** Every request, in order, faulted ones included. */
  calls: CallRecord[];
  /** The counts of the state file at start; `undefined` without `statePath`. */
  readonly loaded?: LoadedState;
  /**
   * Replaces the active faults; their counters restart.
   *
   * @param faults The faults to inject.
   * @throws {RangeError} When a count or delay is negative or fractional.
   */
  setFaults(faults: FaultOptions): void;
  /**
   * Creates a key (and an alias) directly, as `CreateKey` and
   * `CreateAlias` would. With `reuseAlias`, it returns the key that an
   * existing alias points at instead. The CLI's `--create` uses it. An
   * alias that exists is rejected before any key is made.
   *
   * @param keySpec The `KeySpec`.
   * @param options The key usage, an alias, and whether to reuse it.
   * @returns The key's id, ARN and state, and whether it is new.
   * @throws {KmsToolkitError} `INVALID_INPUT` when KMS would reject the
   * key spec, usage or alias, or when `reuseAlias` is set and the alias
   * points at a key of another spec or usage.
   */
  createKey(keySpec: string, options?: CreateKeyOptions): Promise<CreatedKey>;
  /** Stops the endpoint and closes its connections. */
  close(): Promise<void>;
}

function isLoopback(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "::1" || hostname === "[::1]") {
    return true;
  }
  const parts = hostname.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((part) =>
      /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) < 256
    );
}

/**
 * Starts a local KMS endpoint on loopback.
 *
 * @param options Address, region, account, state file, logging, faults.
 * @returns The running endpoint; `await using` closes it.
 * @throws {KmsToolkitError} `USAGE` when the hostname is not loopback or
 * the port is out of range; `IO_FAILED` when the state file's folder is
 * missing or not writable, the state file cannot be read, or the port
 * cannot be bound.
 *
 * @example
 * ```ts
 * import { startLocalKms } from "./mod.ts";
 * import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
 * import assert from "node:assert/strict";
 *
 * await using kms = await startLocalKms();
 * const client = new KMSClient({ endpoint: kms.url, region: kms.region,
 *   credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" } });
 * const { KeyMetadata } = await client.send(new CreateKeyCommand({
 *   KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }));
 * assert.equal(KeyMetadata?.KeyState, "Enabled");
 * client.destroy();
 * ```
 */
export async function startLocalKms(
  options: LocalKmsOptions = {},
): Promise<LocalKms> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopback(hostname)) {
    throw new KmsToolkitError(
      "USAGE",
      `Cannot bind the local KMS endpoint to '${hostname}': it is not a ` +
        "loopback address. Use 127.0.0.1, ::1 or localhost.",
    );
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KmsToolkitError(
      "USAGE",
      `Cannot bind the local KMS endpoint to port '${port}': it is not a ` +
        "port number. Use 0 to 65535.",
    );
  }

  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "111122223333";

  let store: KeyStore;
  try {
    store = await KeyStore.open({
      region,
      accountId,
      statePath: options.statePath,
    });
  } catch (error) {
    if (error instanceof KmsToolkitError) throw error;
    throw new KmsToolkitError(
      "IO_FAILED",
      `Cannot load state file '${options.statePath}': ${
        (error instanceof Error ? error.message : String(error))
          .replace(/\.$/, "")
      }. Pass another state file path, or delete this one.`,
      { cause: error },
    );
  }

  const loaded: LoadedState | undefined = options.statePath
    ? {
      found: store.stateFound,
      keys: store.keys().length,
      aliases: store.aliases().length,
    }
    : undefined;

  let server: KmsServer;
  try {
    server = new KmsServer({
      store,
      hostname: hostname === "[::1]" ? "::1" : hostname,
      port,
      log: options.log,
      faults: options.faults,
      credentials: options.credentials,
    });
  } catch (error) {
    await store.settled();
    if (error instanceof RangeError) throw error;
    throw new KmsToolkitError(
      "IO_FAILED",
      `Cannot listen on ${hostname}:${port}: ${
        error instanceof Error ? error.message : String(error)
      }. Pick another port, or 0 for any free one.`,
      { cause: error },
    );
  }

  // A background save may still be writing next to the state file.
  const close = async () => {
    await server.close();
    await store.settled();
  };

  const host = hostname.includes(":") && !hostname.startsWith("[")
    ? `[${hostname}]`
    : hostname;

  return {
    url: `http://${host}:${server.port}`,
    port: server.port,
    region,
    calls: server.calls,
    loaded,
    setFaults: (faults) => server.setFaults(faults),
    createKey: async (keySpec, createOptions) => {
      try {
        return await server.createKey(keySpec, createOptions);
      } catch (error) {
        if (!(error instanceof KmsError)) throw error;
        throw new KmsToolkitError(
          "INVALID_INPUT",
          `Cannot create a ${keySpec} key${
            createOptions?.alias ? ` with alias '${createOptions.alias}'` : ""
          }: ${error.type}: ${error.message}`,
          { cause: error },
        );
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
