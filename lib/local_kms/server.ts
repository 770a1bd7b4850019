/**
 * The listener and the AWS JSON 1.1 protocol of the local KMS endpoint:
 * routing by `x-amz-target`, SigV4 header checks, error bodies, request
 * ids, faults and the call log.
 *
 * @module
 */

import { KmsToolkitError } from "../errors.ts";
import { type FaultOptions, FaultState } from "./faults.ts";
import {
  encodeHead,
  HttpFramingError,
  HttpReader,
  type HttpReader as HttpReaderType,
  type HttpRequest,
  type HttpResponse,
} from "./http1.ts";
import { generateKeyMaterial, type KeyMaterial } from "./key_material.ts";
import type { KeyState, KeyStore } from "./key_store.ts";
import { type OperationContext, OPERATIONS } from "./operations.ts";
import { KmsError, type RequestBody } from "./protocol.ts";
import { checkAuthorization, type LocalCredentials } from "./sigv4.ts";

/** One request as the call log records it. */
export interface CallRecord {
  /** The operation, or `-` when the target named none. */
  operation: string;
  /** The key id the operation acted on, when it resolved one. */
  keyId?: string;
  /**
   * `OK`, the `__type` of the error sent, `TruncatedResponse` or
   * `RefusedConnection`.
   */
  outcome: string;
}

/** Options of {@linkcode KmsServer}. */
export interface KmsServerOptions {
  /** The keys and aliases. */
  store: KeyStore;
  /** The address to bind, already checked to be loopback. */
  hostname: string;
  /** The port; 0 picks a free one. */
  port: number;
  /**
   * Gets one line per request.
   * @default {undefined} no logging
   */
  log?: (line: string) => void;
  /**
   * The faults to inject from the start.
   * @default {{}}
   */
  faults?: FaultOptions;
  /**
   * Credentials whose SigV4 signatures are verified.
   * @default {undefined} any access key id and signature pass
   */
  credentials?: LocalCredentials;
}

/** A key that {@linkcode KmsServer.createKey} made or reused. */
export interface CreatedKey {
  /** The key id. */
  keyId: string;
  /** The key ARN. */
  arn: string;
  /** The key state: `Enabled` for a new key. */
  keyState: KeyState;
  /** Whether the key is new, rather than the target of an existing alias. */
  created: boolean;
}

const JSON_TYPE = "application/x-amz-json-1.1";

interface Outcome {
  response: HttpResponse;
  record: CallRecord;
  truncate: boolean;
}

/**
 * The running endpoint: accepts connections on loopback and serves KMS
 * requests until closed.
 *
 * @example
 * ```ts
 * import { KmsServer } from "./server.ts";
 * import { KeyStore } from "./key_store.ts";
 * import assert from "node:assert/strict";
 *
 * const store = await KeyStore.open({ region: "us-east-1", accountId: "111122223333" });
 * const server = new KmsServer({ store, hostname: "127.0.0.1", port: 0 });
 * const response = await fetch(`http://127.0.0.1:${server.port}/`, { method: "POST", body: "{}" });
 * assert.equal(response.status, 400);
 * assert.equal((await response.json()).__type, "MissingAuthenticationTokenException");
 * await server.close();
 * ```
 */
export class KmsServer {
  /** The bound port. */
  readonly port: number;
  /** Every request, in order. */
  readonly calls: CallRecord[] = [];
  readonly #listener: Deno.Listener;
  readonly #options: KmsServerOptions;
  readonly #faults: FaultState;
  readonly #connections = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #decoys = new Map<string, Promise<KeyMaterial>>();
  readonly #accepting: Promise<void>;
  #closed = false;

  /**
   * Binds the listener and starts accepting connections.
   *
   * @param options The store, address, logging, faults and credentials.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   * @throws {RangeError} When a fault count is invalid.
   */
  constructor(options: KmsServerOptions) {
    this.#options = options;
    this.#faults = new FaultState(options.faults);
    this.#listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /**
   * Replaces the active faults and restarts their counters.
   *
   * @param faults The faults to inject.
   * @throws {RangeError} When a count or delay is invalid.
   */
  setFaults(faults: FaultOptions): void {
    this.#faults.set(faults);
  }

  /**
   * Creates a key, and optionally an alias for it, without a request: the
   * same checks as `CreateKey` and `CreateAlias`, not in the call log. An
   * alias that exists is checked before any key is made, so a refused
   * alias leaves no stray key behind.
   *
   * @param keySpec The `KeySpec`.
   * @param options The `KeyUsage` (by default SIGN_VERIFY where the key
   * spec allows it, else its only usage), an alias name, and whether an
   * existing alias to a key of the same spec and usage is reused.
   * @returns The key's id, ARN and state, and whether it is new.
   * @throws {KmsError} When KMS would reject the key spec, usage or alias.
   * @throws {KmsToolkitError} `INVALID_INPUT` when `reuseAlias` is set and
   * the alias points at a key of another spec or usage.
   */
  async createKey(
    keySpec: string,
    options: { keyUsage?: string; alias?: string; reuseAlias?: boolean } = {},
  ): Promise<CreatedKey> {
    const store = this.#options.store;
    const context: OperationContext = {
      store,
      faults: {},
      decoy: (spec) => this.#decoy(spec),
    };
    const keyUsage = options.keyUsage ??
      (keySpec === "SYMMETRIC_DEFAULT"
        ? "ENCRYPT_DECRYPT"
        : keySpec.startsWith("HMAC_")
        ? "GENERATE_VERIFY_MAC"
        : "SIGN_VERIFY");
    const alias = options.alias;
    const existing = alias === undefined
      ? undefined
      : store.aliases().find((record) => record.aliasName === alias);
    if (alias !== undefined && existing) {
      if (!options.reuseAlias) {
        throw new KmsError(
          "AlreadyExistsException",
          `An alias with the name ${
            store.arnOf("alias", alias.slice(6))
          } already exists`,
        );
      }
      const key = store.resolve(existing.targetKeyId, { allowAlias: false });
      if (key.keySpec !== keySpec || key.keyUsage !== keyUsage) {
        throw new KmsToolkitError(
          "INVALID_INPUT",
          `Cannot reuse alias '${alias}' for a ${keySpec} ${keyUsage} key: ` +
            `it points at key ${key.keyId}, a ${key.keySpec} ` +
            `${key.keyUsage} key. Ask for a ${key.keySpec} ${key.keyUsage} ` +
            "key, or pick another alias.",
        );
      }
      return {
        keyId: key.keyId,
        arn: key.arn,
        keyState: key.state,
        created: false,
      };
    }
    const created = await OPERATIONS.CreateKey!({
      KeySpec: keySpec,
      KeyUsage: keyUsage,
    }, context);
    const metadata = created.KeyMetadata as { KeyId: string; Arn: string };
    if (alias !== undefined) {
      await OPERATIONS.CreateAlias!({
        AliasName: alias,
        TargetKeyId: metadata.KeyId,
      }, context);
    }
    return {
      keyId: metadata.KeyId,
      arn: metadata.Arn,
      keyState: "Enabled",
      created: true,
    };
  }

  /** Stops listening, closes open connections and waits for them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const conn of this.#connections) closeQuietly(conn);
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      if (this.#closed) {
        closeQuietly(conn);
        return;
      }
      this.#connections.add(conn);
      const task = this.#serve(conn).finally(() => {
        this.#connections.delete(conn);
        this.#tasks.delete(task);
        closeQuietly(conn);
      });
      this.#tasks.add(task);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const reader: HttpReaderType = new HttpReader(conn, async () => {
      const line = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
      for (let offset = 0; offset < line.length;) {
        offset += await conn.write(line.subarray(offset));
      }
    });
    for (;;) {
      let request: HttpRequest | null;
      try {
        request = await reader.next();
      } catch (error) {
        if (error instanceof HttpFramingError) {
          await writeQuietly(conn, framingResponse(error), false);
        }
        return;
      }
      if (request === null || this.#closed) return;

      const started = performance.now();
      if (this.#faults.active.refuseConnections) {
        this.#record(
          { operation: operationOf(request), outcome: "RefusedConnection" },
          started,
        );
        return;
      }
      const outcome = await this.#handle(request);
      const keepAlive = !outcome.truncate &&
        request.headers.get("connection")?.toLowerCase() !== "close";
      this.#record(outcome.record, started);
      if (outcome.truncate) {
        const { body } = outcome.response;
        const head = encodeHead(outcome.response, false);
        await writeQuietly(
          conn,
          { head, body: body.subarray(0, Math.floor(body.length / 2)) },
          false,
        );
        return;
      }
      const ok = await writeQuietly(conn, {
        head: encodeHead(outcome.response, keepAlive),
        body: outcome.response.body,
      }, keepAlive);
      if (!ok || !keepAlive) return;
    }
  }

  #record(record: CallRecord, started: number): void {
    this.calls.push(record);
    const ms = Math.round(performance.now() - started);
    this.#options.log?.(
      `${record.operation} ${record.keyId ?? "-"} ${record.outcome} ${ms}ms`,
    );
  }

  async #handle(request: HttpRequest): Promise<Outcome> {
    const operation = operationOf(request);
    const faults = this.#faults.active;
    const truncate = faults.truncateResponse === true;
    if (faults.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, faults.delayMs));
    }
    const early = this.#faults.nextEarlyFault();
    if (early) {
      const error = early === "ThrottlingException"
        ? new KmsError("ThrottlingException", "Rate exceeded")
        : new KmsError(
          "KMSInternalException",
          "The request was rejected because an internal exception occurred. " +
            "Retry the request.",
          500,
        );
      return {
        response: errorResponse(error),
        record: { operation, outcome: early },
        truncate,
      };
    }
    const context: OperationContext = {
      store: this.#options.store,
      faults,
      decoy: (keySpec) => this.#decoy(keySpec),
    };
    try {
      const result = await this.#dispatch(request, operation, context);
      return {
        response: {
          status: 200,
          headers: responseHeaders(),
          body: new TextEncoder().encode(JSON.stringify(result)),
        },
        record: withKey({
          operation,
          outcome: truncate ? "TruncatedResponse" : "OK",
        }, context),
        truncate,
      };
    } catch (caught) {
      const error = caught instanceof KmsError ? caught : new KmsError(
        "KMSInternalException",
        `The local endpoint failed: ${
          caught instanceof Error ? caught.message : String(caught)
        }`,
        500,
      );
      return {
        response: errorResponse(error),
        record: withKey(
          { operation, outcome: truncate ? "TruncatedResponse" : error.type },
          context,
        ),
        truncate,
      };
    }
  }

  async #dispatch(
    request: HttpRequest,
    operation: string,
    context: OperationContext,
  ): Promise<Record<string, unknown>> {
    if (request.method !== "POST" || request.target.split("?")[0] !== "/") {
      throw new KmsError(
        "UnknownOperationException",
        `Cannot serve ${request.method} ${request.target}: KMS takes POST /.`,
      );
    }
    checkAuthorization(request, {
      region: this.#options.store.region,
      credentials: this.#options.credentials,
    });
    const handler = Object.hasOwn(OPERATIONS, operation)
      ? OPERATIONS[operation]
      : undefined;
    if (!handler) {
      throw new KmsError(
        "UnknownOperationException",
        `Cannot serve target '${
          request.headers.get("x-amz-target") ?? ""
        }': use TrentService.<Operation> with one of ${
          Object.keys(OPERATIONS).join(", ")
        }.`,
      );
    }
    const contentType = request.headers.get("content-type") ?? "";
    if (!/^application\/x-amz-json-1\.[01]\b/i.test(contentType)) {
      throw new KmsError(
        "SerializationException",
        `Cannot read request with content-type '${contentType}': send ` +
          `${JSON_TYPE}.`,
      );
    }
    let body: unknown;
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(
        request.body,
      );
      body = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      throw new KmsError(
        "SerializationException",
        "Cannot parse the request body: it is not JSON. Send a JSON object.",
      );
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new KmsError(
        "SerializationException",
        "Cannot read the request body: it is not a JSON object.",
      );
    }
    return await handler(body as RequestBody, context);
  }

  #decoy(keySpec: string): Promise<KeyMaterial> {
    let decoy = this.#decoys.get(keySpec);
    if (!decoy) {
      decoy = generateKeyMaterial(keySpec);
      this.#decoys.set(keySpec, decoy);
    }
    return decoy;
  }
}

function withKey(record: CallRecord, context: OperationContext): CallRecord {
  return context.keyId === undefined
    ? record
    : { ...record, keyId: context.keyId };
}

function operationOf(request: HttpRequest): string {
  const target = request.headers.get("x-amz-target") ?? "";
  const match = /^TrentService\.([A-Za-z]+)$/.exec(target);
  return match ? match[1]! : "-";
}

function responseHeaders(): Record<string, string> {
  return {
    "Content-Type": JSON_TYPE,
    "x-amzn-RequestId": crypto.randomUUID(),
  };
}

function errorResponse(error: KmsError): HttpResponse {
  return {
    status: error.status,
    headers: responseHeaders(),
    body: new TextEncoder().encode(
      JSON.stringify({ __type: error.type, message: error.message }),
    ),
  };
}

function framingResponse(error: HttpFramingError) {
  const response = errorResponse(
    new KmsError("SerializationException", error.message, error.status),
  );
  return { head: encodeHead(response, false), body: response.body };
}

async function writeQuietly(
  conn: Deno.Conn,
  parts: { head: Uint8Array; body: Uint8Array },
  keepOpen: boolean,
): Promise<boolean> {
  try {
    const bytes = new Uint8Array(parts.head.length + parts.body.length);
    bytes.set(parts.head);
    bytes.set(parts.body, parts.head.length);
    for (let offset = 0; offset < bytes.length;) {
      offset += await conn.write(bytes.subarray(offset));
    }
    return true;
  } catch {
    return false;
  } finally {
    if (!keepOpen) closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
