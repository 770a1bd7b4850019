/**
 * Checks of the SigV4 `Authorization` header on requests to the local KMS
 * endpoint: its shape, the credential scope, and optionally the signature.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../der.ts";
import { KmsError } from "./protocol.ts";

/** The credentials whose signatures the endpoint verifies. */
export interface LocalCredentials {
  /** The access key id that requests must use. */
  accessKeyId: string;
  /** The secret access key that signs them. */
  secretAccessKey: string;
}

/** The parts of an HTTP request that SigV4 covers. */
export interface SignedRequest {
  /** The method, such as `POST`. */
  method: string;
  /** The path and query, such as `/`. */
  target: string;
  /** The headers, names in lowercase. */
  headers: Map<string, string>;
  /** The body bytes. */
  body: Uint8Array;
}

/** Options of {@linkcode checkAuthorization}. */
export interface CheckAuthorizationOptions {
  /** The endpoint's region, which the credential scope must name. */
  region: string;
  /**
   * The credentials to verify signatures with.
   * @default {undefined} accept any access key id and signature
   */
  credentials?: LocalCredentials;
}

const HEADER =
  /^AWS4-HMAC-SHA256 +Credential=([^,\s]+), *SignedHeaders=([^,\s]+), *Signature=([0-9a-f]{64})$/;

/**
 * Checks the `Authorization` header of a request, as KMS does before it
 * looks at the operation.
 *
 * @param request The request.
 * @param options The endpoint's region and, optionally, credentials.
 * @returns The access key id of the request.
 * @throws {KmsError} `MissingAuthenticationTokenException` without a
 * header; `IncompleteSignatureException` for a malformed one;
 * `InvalidSignatureException` for a scope of another service or region or
 * a wrong signature; `UnrecognizedClientException` for an unknown access
 * key id when credentials are given.
 *
 * @example
 * ```ts
 * import { checkAuthorization } from "./sigv4.ts";
 * import assert from "node:assert/strict";
 *
 * const request = { method: "POST", target: "/", headers: new Map(), body: new Uint8Array() };
 * assert.throws(() => checkAuthorization(request, { region: "us-east-1" }),
 *   { name: "MissingAuthenticationTokenException" });
 * ```
 */
export function checkAuthorization(
  request: SignedRequest,
  options: CheckAuthorizationOptions,
): string {
  const header = request.headers.get("authorization");
  if (header === undefined || header === "") {
    throw new KmsError(
      "MissingAuthenticationTokenException",
      "Missing Authentication Token",
    );
  }
  const match = HEADER.exec(header.trim());
  if (!match) {
    throw new KmsError(
      "IncompleteSignatureException",
      `Authorization header requires 'Credential', 'SignedHeaders' and ` +
        `'Signature' parameters of AWS4-HMAC-SHA256. Authorization=${header}`,
    );
  }
  const [, credential, signedHeaders, signature] = match as unknown as [
    string,
    string,
    string,
    string,
  ];
  const scope = credential.split("/");
  if (
    scope.length !== 5 || scope[4] !== "aws4_request" ||
    !/^\d{8}$/.test(scope[1]!)
  ) {
    throw new KmsError(
      "IncompleteSignatureException",
      `Credential should be scoped to a valid region, not '${credential}'. ` +
        "Use ACCESS_KEY_ID/YYYYMMDD/REGION/kms/aws4_request.",
    );
  }
  const [accessKeyId, date, region, service] = scope as [
    string,
    string,
    string,
    string,
  ];
  if (service !== "kms") {
    throw new KmsError(
      "InvalidSignatureException",
      `Credential should be scoped to correct service: 'kms', not '${service}'.`,
    );
  }
  if (region !== options.region) {
    throw new KmsError(
      "InvalidSignatureException",
      `Credential should be scoped to a valid region, not '${region}'. ` +
        `This endpoint serves '${options.region}'.`,
    );
  }
  const amzDate = request.headers.get("x-amz-date");
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new KmsError(
      "IncompleteSignatureException",
      "Authorization header requires existence of either a 'X-Amz-Date' or " +
        "a 'Date' header.",
    );
  }
  if (!amzDate.startsWith(date)) {
    throw new KmsError(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 ` +
        `version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}'.`,
    );
  }
  const names = signedHeaders.split(";");
  if (!names.includes("host")) {
    throw new KmsError(
      "InvalidSignatureException",
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  if (!options.credentials) return accessKeyId;

  if (accessKeyId !== options.credentials.accessKeyId) {
    throw new KmsError(
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
    );
  }
  const expected = computeSignature(request, {
    signedHeaders: names,
    amzDate,
    scope: scope.slice(1).join("/"),
    secretAccessKey: options.credentials.secretAccessKey,
  });
  if (expected !== signature) {
    throw new KmsError(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature " +
        "you provided. Check your AWS Secret Access Key and signing method.",
    );
  }
  return accessKeyId;
}

const encoder = new TextEncoder();

function hex(data: Uint8Array | string): string {
  return toHex(sha256(typeof data === "string" ? encoder.encode(data) : data));
}

function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  return query.split("&").map((pair) => {
    const [name = "", value = ""] = pair.split("=");
    return [
      uriEncode(decodeURIComponent(name)),
      uriEncode(decodeURIComponent(value)),
    ];
  }).sort(compareQueryPairs).map(([name, value]) => `${name}=${value}`).join(
    "&",
  );
}

function computeSignature(
  request: SignedRequest,
  parts: {
    signedHeaders: string[];
    amzDate: string;
    scope: string;
    secretAccessKey: string;
  },
): string {
  const [path = "/", query = ""] = request.target.split("?", 2);
  const headerLines = parts.signedHeaders.map((name) =>
    `${name}:${(request.headers.get(name) ?? "").trim().replace(/\s+/g, " ")}\n`
  ).join("");
  const canonical = [
    request.method,
    path.split("/").map((s) => uriEncode(decodeURIComponent(s))).join("/"),
    canonicalQuery(query),
    headerLines,
    parts.signedHeaders.join(";"),
    hex(request.body),
  ].join("\n");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    parts.amzDate,
    parts.scope,
    hex(canonical),
  ].join("\n");
  const [date, region, service] = parts.scope.split("/") as [
    string,
    string,
    string,
  ];
  let key = encoder.encode(`AWS4${parts.secretAccessKey}`);
  for (const part of [date, region, service, "aws4_request"]) {
    key = hmac(sha256, key, encoder.encode(part));
  }
  return toHex(hmac(sha256, key, encoder.encode(stringToSign)));
}

/** Orders query parameters by encoded name, then by encoded value. */
function compareQueryPairs(a: string[], b: string[]): number {
  if (a[0]! !== b[0]!) return a[0]! < b[0]! ? -1 : 1;
  if (a[1]! === b[1]!) return 0;
  return a[1]! < b[1]! ? -1 : 1;
}
