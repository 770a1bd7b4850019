/**
 * A small HTTP/1.1 server side over a TCP connection. It reads the requests
 * that AWS SDKs send and responds to them, with keep-alive. When a fault
 * requests it, it cuts a response short or closes without a response.
 *
 * The endpoint frames HTTP itself instead of using `Deno.serve` so that
 * faults can abort a connection in the middle of a body.
 *
 * @module
 */

import { concatBytes } from "../der.ts";

/** One HTTP request. */
export interface HttpRequest {
  /** The method, such as `POST`. */
  method: string;
  /** The request target, such as `/`. */
  target: string;
  /** The headers, names in lowercase; repeated ones joined with `,`. */
  headers: Map<string, string>;
  /** The body. */
  body: Uint8Array;
}

/** One HTTP response. */
export interface HttpResponse {
  /** The status code. */
  status: number;
  /** The headers besides `Content-Length`, `Date` and `Connection`. */
  headers: Record<string, string>;
  /** The body. */
  body: Uint8Array;
}

/** An HTTP framing error, sent as `status` before the connection closes. */
export class HttpFramingError extends Error {
  /** The status to respond with. */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @param status The status to respond with, such as 400 or 413.
   * @param message What is wrong with the request.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpFramingError";
    this.status = status;
  }
}

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 1024 * 1024;
const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  413: "Payload Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
};

/**
 * Reads HTTP/1.1 requests from a connection, one after another.
 *
 * @example
 * ```ts
 * import { HttpReader } from "./http1.ts";
 * import assert from "node:assert/strict";
 *
 * const text = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
 * const bytes = new TextEncoder().encode(text);
 * let done = false;
 * const source = { read: async (buffer: Uint8Array) => {
 *   if (done) return null;
 *   done = true;
 *   buffer.set(bytes);
 *   return bytes.length;
 * } };
 * const request = await new HttpReader(source).next();
 * assert.equal(request?.headers.get("host"), "x");
 * ```
 */
export class HttpReader {
  #source: { read(buffer: Uint8Array): Promise<number | null> };
  #onContinue?: () => Promise<void>;
  #buffer: Uint8Array = new Uint8Array(0);
  #eof = false;

  /**
   * Wraps a readable connection.
   *
   * @param source Anything with a `read` like `Deno.Conn`.
   * @param onContinue Sends `100 Continue` for requests that carry
   * `Expect: 100-continue`, before their body is read.
   */
  constructor(
    source: { read(buffer: Uint8Array): Promise<number | null> },
    onContinue?: () => Promise<void>,
  ) {
    this.#source = source;
    this.#onContinue = onContinue;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#source.read(chunk);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#buffer = concatBytes(this.#buffer, chunk.subarray(0, n));
    return true;
  }

  async #take(length: number): Promise<Uint8Array> {
    while (this.#buffer.length < length) {
      if (!await this.#fill()) {
        throw new HttpFramingError(400, "Connection closed inside the body.");
      }
    }
    const out = this.#buffer.slice(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return out;
  }

  async #line(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = new TextDecoder().decode(this.#buffer.subarray(0, end));
        this.#buffer = this.#buffer.subarray(end + 1);
        return line.replace(/\r$/, "");
      }
      if (this.#buffer.length > MAX_HEAD) {
        throw new HttpFramingError(400, "Header line too long.");
      }
      if (!await this.#fill()) {
        throw new HttpFramingError(400, "Connection closed inside the head.");
      }
    }
  }

  /**
   * Reads the next request.
   *
   * @returns The request, or `null` when the client closed the connection
   * between requests.
   * @throws {HttpFramingError} When the request is malformed or too large.
   */
  async next(): Promise<HttpRequest | null> {
    while (this.#buffer.length === 0) {
      if (!await this.#fill()) return null;
    }
    let requestLine = await this.#line();
    while (requestLine === "") requestLine = await this.#line();
    const parts = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
    if (!parts) {
      throw new HttpFramingError(
        400,
        `Malformed request line '${requestLine}'.`,
      );
    }
    const headers = new Map<string, string>();
    let headSize = requestLine.length;
    for (;;) {
      const line = await this.#line();
      if (line === "") break;
      headSize += line.length;
      if (headSize > MAX_HEAD) {
        throw new HttpFramingError(400, "Request head too large.");
      }
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new HttpFramingError(400, `Malformed header line '${line}'.`);
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const old = headers.get(name);
      headers.set(name, old === undefined ? value : `${old},${value}`);
    }
    if (headers.get("expect")?.toLowerCase() === "100-continue") {
      await this.#onContinue?.();
    }
    const body = await this.#body(headers);
    return { method: parts[1]!, target: parts[2]!, headers, body };
  }

  async #body(headers: Map<string, string>): Promise<Uint8Array> {
    const encoding = headers.get("transfer-encoding");
    if (encoding !== undefined) {
      if (encoding.toLowerCase() !== "chunked") {
        throw new HttpFramingError(501, `Transfer-Encoding '${encoding}'.`);
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const size = parseInt((await this.#line()).split(";")[0]!, 16);
        if (!Number.isInteger(size) || size < 0) {
          throw new HttpFramingError(400, "Malformed chunk size.");
        }
        if (size === 0) break;
        total += size;
        if (total > MAX_BODY) {
          throw new HttpFramingError(413, "Body too large.");
        }
        chunks.push(await this.#take(size));
        await this.#line();
      }
      while ((await this.#line()) !== "");
      return concatBytes(...chunks);
    }
    const lengthText = headers.get("content-length") ?? "0";
    if (!/^\d+$/.test(lengthText)) {
      throw new HttpFramingError(
        400,
        `Malformed Content-Length '${lengthText}'.`,
      );
    }
    const length = Number(lengthText);
    if (length > MAX_BODY) throw new HttpFramingError(413, "Body too large.");
    return await this.#take(length);
  }
}

/**
 * Encodes a response's status line and headers, with `Content-Length` of
 * the whole body.
 *
 * @param response The response.
 * @param keepAlive Whether the connection stays open.
 * @returns The head bytes.
 *
 * @example
 * ```ts
 * import { encodeHead } from "./http1.ts";
 * import assert from "node:assert/strict";
 *
 * const head = new TextDecoder().decode(encodeHead({ status: 200, headers: {}, body: new Uint8Array(2) }, true));
 * assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
 * assert.match(head, /Content-Length: 2\r\n/);
 * ```
 */
export function encodeHead(
  response: HttpResponse,
  keepAlive: boolean,
): Uint8Array {
  const lines = [
    `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Unknown"}`,
    ...Object.entries(response.headers).map(([name, value]) =>
      `${name}: ${value}`
    ),
    `Content-Length: ${response.body.length}`,
    `Date: ${new Date().toUTCString()}`,
    `Connection: ${keepAlive ? "keep-alive" : "close"}`,
  ];
  return new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
}
