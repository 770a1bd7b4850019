/**
 * Claims of the two JWTs that OAuth 2.0 clients sign (RFC 7523):
 *
 * - a `private_key_jwt` client assertion (RFC 7523 sections 2.2 and 3,
 *   OpenID Connect Core 1.0 section 9), as Okta and other authorization
 *   servers accept at their token endpoint;
 * - a JWT bearer grant assertion (RFC 7523 section 2.1), as ServiceNow
 *   exchanges for an access token.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";
import type { KmsJwtSigner } from "./jwt.ts";

/** The default lifetime of an assertion, in seconds. */
export const DEFAULT_EXPIRES_IN = 300;

/**
 * The maximum assertion lifetime, in seconds. Okta rejects a
 * client assertion whose `exp` is more than one hour in the future.
 */
export const MAX_EXPIRES_IN = 3600;

/**
 * The JWS algorithms that ServiceNow documents for JWT bearer grants,
 * leaving out the HMAC ones that a KMS signing key cannot make.
 */
export const SERVICENOW_ALGORITHMS: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "ES256",
  "ES384",
  "ES512",
];

/** The claims of a client assertion or a JWT bearer grant assertion. */
export interface AssertionClaims {
  /** The issuer: the client id. */
  iss: string;
  /** The subject: the client id, or the user for a bearer grant. */
  sub: string;
  /** The audience. */
  aud: string;
  /** Issued at, in seconds since the epoch. */
  iat: number;
  /** Expiration time, in seconds since the epoch. */
  exp: number;
  /** A fresh random UUID, so the server can reject replays. */
  jti: string;
  /** Index signature, so the claims pass as a JWT payload. */
  [claim: string]: unknown;
}

/** Options of {@linkcode clientAssertionClaims}. */
export interface ClientAssertionOptions {
  /** The OAuth `client_id`, which becomes `iss` and `sub`. */
  clientId: string;
  /**
   * The token endpoint URL the assertion is sent to, which becomes `aud`:
   * `https`, or `http` on a loopback host.
   */
  tokenEndpoint: string;
  /**
   * Seconds from `iat` to `exp`, 1 to 3600.
   * @default {300}
   */
  expiresIn?: number;
  /**
   * The time that becomes `iat`.
   * @default {new Date()}
   */
  now?: Date;
}

/** Options of {@linkcode jwtBearerGrantClaims}. */
export interface JwtBearerGrantOptions {
  /** The OAuth `client_id`, which becomes `iss`. */
  clientId: string;
  /**
   * The user the token is for, which becomes `sub`. ServiceNow matches it
   * against the provider's User field, such as the email address.
   */
  subject: string;
  /**
   * The `aud` claim.
   * @default {undefined} the client id, as ServiceNow expects
   */
  audience?: string;
  /**
   * Seconds from `iat` to `exp`, 1 to 3600.
   * @default {300}
   */
  expiresIn?: number;
  /**
   * The time that becomes `iat`.
   * @default {new Date()}
   */
  now?: Date;
}

function checkText(value: unknown, name: string, hint: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot build JWT claims with ${name} '${String(value)}': it must be ` +
        `a non-empty string. ${hint}`,
    );
  }
  if (value.trim() !== value) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot build JWT claims with ${name} '${value}': it has leading or ` +
        "trailing whitespace, which the server compares byte for byte. " +
        "Remove it.",
    );
  }
  return value;
}

function checkExpiresIn(value: number | undefined): number {
  const expiresIn = value ?? DEFAULT_EXPIRES_IN;
  if (!Number.isInteger(expiresIn) || expiresIn < 1) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot build JWT claims with expiresIn '${String(value)}': expected ` +
        `a whole number of seconds from 1 to ${MAX_EXPIRES_IN}.`,
    );
  }
  if (expiresIn > MAX_EXPIRES_IN) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot build JWT claims with expiresIn '${expiresIn}': Okta rejects ` +
        "assertions whose exp is more than one hour (3600 s) after iat, and " +
        "an assertion is a credential best kept short-lived. Pass at most " +
        `${MAX_EXPIRES_IN} (default ${DEFAULT_EXPIRES_IN}).`,
    );
  }
  return expiresIn;
}

function issuedAt(now: Date | undefined): number {
  const time = (now ?? new Date()).getTime();
  if (!Number.isFinite(time)) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      "Cannot build JWT claims with now 'Invalid Date'. Pass a valid Date, " +
        "or omit now for the current time.",
    );
  }
  return Math.floor(time / 1000);
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function checkTokenEndpoint(value: unknown): string {
  const text = checkText(
    value,
    "tokenEndpoint",
    "Pass the token endpoint URL, such as " +
      "https://example.okta.com/oauth2/v1/token.",
  );
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const secure = url?.protocol === "https:" ||
    (url?.protocol === "http:" && isLoopbackHost(url.hostname));
  if (!url || !secure) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot use token endpoint '${text}' as the assertion audience: ` +
        "expected an https:// URL (http:// only on 127.0.0.1, [::1] or " +
        "localhost). Pass the full token endpoint URL, such as " +
        "https://example.okta.com/oauth2/v1/token.",
    );
  }
  if (url.hash !== "" || text.includes("#")) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot use token endpoint '${text}': an endpoint URL has no ` +
        "fragment (RFC 6749 section 3.2). Remove the part from '#'.",
    );
  }
  return text;
}

/**
 * Builds the claims of a `private_key_jwt` client assertion: `iss` and
 * `sub` are the client id, `aud` the token endpoint URL, `iat` now, `exp`
 * `iat` + `expiresIn`, and `jti` a fresh random UUID. No `nbf`: neither
 * RFC 7523 nor OpenID Connect requires it.
 *
 * @param options The client id, token endpoint, lifetime and time.
 * @returns The claims, in the order `iss, sub, aud, iat, exp, jti`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the client id is empty,
 * the token endpoint is not an https URL (or http on loopback), or
 * `expiresIn` is not 1 to 3600 seconds.
 *
 * @example
 * ```ts
 * import { clientAssertionClaims } from "./jwt_claims.ts";
 * import assert from "node:assert/strict";
 *
 * const claims = clientAssertionClaims({
 *   clientId: "0oa1example",
 *   tokenEndpoint: "https://example.okta.com/oauth2/v1/token",
 *   now: new Date("2026-01-01T00:00:00Z"),
 * });
 * assert.equal(claims.sub, "0oa1example");
 * assert.equal(claims.aud, "https://example.okta.com/oauth2/v1/token");
 * assert.equal(claims.exp - claims.iat, 300);
 * assert.equal(claims.iat, 1767225600);
 * ```
 */
export function clientAssertionClaims(
  options: ClientAssertionOptions,
): AssertionClaims {
  const clientId = checkText(
    options.clientId,
    "clientId",
    "Pass the application's client id.",
  );
  const aud = checkTokenEndpoint(options.tokenEndpoint);
  const expiresIn = checkExpiresIn(options.expiresIn);
  const iat = issuedAt(options.now);
  return {
    iss: clientId,
    sub: clientId,
    aud,
    iat,
    exp: iat + expiresIn,
    jti: crypto.randomUUID(),
  };
}

/**
 * Builds the claims of a JWT bearer grant assertion (RFC 7523 section
 * 2.1) for ServiceNow. `iss` is the client id, `sub` the user, and `aud`
 * the client id unless another audience is given. `iat` is now, `exp`
 * `iat` + `expiresIn`, and `jti` a fresh random UUID.
 *
 * @param options The client id, subject, audience, lifetime and time.
 * @returns The claims, in the order `iss, sub, aud, iat, exp, jti`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the client id, subject or
 * audience is empty, or `expiresIn` is not 1 to 3600 seconds.
 *
 * @example
 * ```ts
 * import { jwtBearerGrantClaims } from "./jwt_claims.ts";
 * import assert from "node:assert/strict";
 *
 * const claims = jwtBearerGrantClaims({ clientId: "a1b2c3", subject: "integration@example.com" });
 * assert.equal(claims.iss, "a1b2c3");
 * assert.equal(claims.aud, "a1b2c3");
 * assert.equal(claims.sub, "integration@example.com");
 * ```
 */
export function jwtBearerGrantClaims(
  options: JwtBearerGrantOptions,
): AssertionClaims {
  const clientId = checkText(
    options.clientId,
    "clientId",
    "Pass the client id of the ServiceNow application registry entry.",
  );
  const subject = checkText(
    options.subject,
    "subject",
    "Pass the value of the user's User field, such as the email address.",
  );
  const audience = options.audience === undefined ? clientId : checkText(
    options.audience,
    "audience",
    "Pass the audience the server expects, or omit it for the client id.",
  );
  const expiresIn = checkExpiresIn(options.expiresIn);
  const iat = issuedAt(options.now);
  return {
    iss: clientId,
    sub: subject,
    aud: audience,
    iat,
    exp: iat + expiresIn,
    jti: crypto.randomUUID(),
  };
}

/**
 * Checks that ServiceNow accepts a JWS algorithm for JWT bearer grants:
 * RS256, RS384, RS512, ES256, ES384 or ES512.
 *
 * @param alg The JWS `alg`, such as {@linkcode KmsJwtSigner.alg}.
 * @param keyId The key reference, for the message.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` for any other algorithm,
 * such as PS256, EdDSA, ES256K or ML-DSA-65.
 *
 * @example
 * ```ts
 * import { checkServiceNowAlgorithm } from "./jwt_claims.ts";
 * import assert from "node:assert/strict";
 *
 * checkServiceNowAlgorithm("ES384");
 * assert.throws(() => checkServiceNowAlgorithm("PS256"), /ServiceNow/);
 * ```
 */
export function checkServiceNowAlgorithm(alg: string, keyId = "the key"): void {
  if (SERVICENOW_ALGORITHMS.includes(alg)) return;
  const rsaHint = alg.startsWith("PS")
    ? ` For an RSA key, pass alg RS${alg.slice(2)}.`
    : " Use an RSA or NIST P-256, P-384 or P-521 key.";
  throw new KmsToolkitError(
    "UNSUPPORTED_KEY",
    `Cannot sign a ServiceNow JWT bearer assertion with key '${keyId}' ` +
      `using '${alg}': ServiceNow documents only ` +
      `${SERVICENOW_ALGORITHMS.join(", ")}.${rsaHint}`,
  );
}

/**
 * The registered claims whose value is a NumericDate, a JSON number of
 * seconds since 1970-01-01T00:00:00Z (RFC 7519 sections 2 and 4.1).
 */
export const NUMERIC_DATE_CLAIMS: readonly string[] = ["exp", "nbf", "iat"];

/** Options of {@linkcode parseClaimValue} and {@linkcode parseClaimsJson}. */
export interface ClaimSourceOptions {
  /**
   * The source of the claims, named in errors, such as `--claim` or
   * `--claims-json 'claims.json'`.
   * @default {undefined} no source is named
   */
  source?: string;
}

/** A number in JSON text that JavaScript cannot hold exactly. */
class InexactNumber {
  constructor(readonly text: string, readonly value: number) {}
}

/** Tells whether a parsed number is finite and, if whole, a safe integer. */
function isExact(value: number): boolean {
  return Number.isFinite(value) &&
    (!Number.isInteger(value) || Number.isSafeInteger(value));
}

/**
 * Parses JSON, marking each number that is not finite in JavaScript (such
 * as 1e400) or an integer beyond `Number.MAX_SAFE_INTEGER`. The reviver
 * returns its value for every key, so `__proto__` stays an own member.
 */
function parseMarked(text: string): unknown {
  return JSON.parse(
    text,
    (_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === "number" && !isExact(value)
        ? new InexactNumber(context?.source ?? String(value), value)
        : value,
  );
}

function findInexact(value: unknown): InexactNumber | undefined {
  if (value instanceof InexactNumber) return value;
  if (typeof value !== "object" || value === null) return undefined;
  for (const member of Object.values(value)) {
    const found = findInexact(member);
    if (found) return found;
  }
  return undefined;
}

function fromSource(options: ClaimSourceOptions): string {
  return options.source === undefined ? "" : ` from ${options.source}`;
}

/** Rejects inexact numbers, and an exp, nbf or iat that is not a number. */
function checkClaim(
  name: string,
  value: unknown,
  options: ClaimSourceOptions,
): void {
  const inexact = findInexact(value);
  if (inexact) {
    const reason = Number.isFinite(inexact.value)
      ? "it is an integer beyond Number.MAX_SAFE_INTEGER " +
        `(${Number.MAX_SAFE_INTEGER}), so JavaScript and many JSON parsers ` +
        `cannot hold it exactly and read it as ${String(inexact.value)}`
      : "it is beyond the range of a JavaScript number, so the token " +
        "would carry null instead";
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot use claim '${name}' number '${inexact.text}'` +
        `${fromSource(options)}: ${reason}. Quote it to send it as a ` +
        `string: "${inexact.text}".`,
    );
  }
  if (NUMERIC_DATE_CLAIMS.includes(name) && typeof value !== "number") {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot use claim '${name}' value '${JSON.stringify(value)}'` +
        `${fromSource(options)}: ${name} is a NumericDate, a JSON number ` +
        "of seconds since 1970-01-01T00:00:00Z (RFC 7519 section 2), and " +
        `verifiers reject other values. Pass a number, such as ${
          Math.floor(Date.now() / 1000) + DEFAULT_EXPIRES_IN
        }.`,
    );
  }
}

/**
 * Parses the VALUE of a `NAME=VALUE` claim: JSON when the text parses
 * (`5` is a number, `["a"]` an array, `"5"` a string), and the text
 * itself otherwise. Numbers must come through JSON unchanged, and `exp`,
 * `nbf` and `iat` must be numbers.
 *
 * @param name The claim name.
 * @param text The value text.
 * @param options Where the claim comes from, for errors.
 * @returns The claim value.
 * @throws {KmsToolkitError} `INVALID_INPUT` for a number that is not
 * finite in JavaScript (such as `1e400`) or an integer beyond
 * `Number.MAX_SAFE_INTEGER`, anywhere in the value, and for an `exp`,
 * `nbf` or `iat` that is not a number.
 *
 * @example
 * ```ts
 * import { parseClaimValue } from "./jwt_claims.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseClaimValue("n", "5"), 5);
 * assert.equal(parseClaimValue("role", "admin"), "admin");
 * assert.equal(parseClaimValue("big", '"12345678901234567890"'), "12345678901234567890");
 * assert.throws(() => parseClaimValue("big", "12345678901234567890"), /MAX_SAFE_INTEGER/);
 * assert.throws(() => parseClaimValue("exp", '"soon"'), /NumericDate/);
 * ```
 */
export function parseClaimValue(
  name: string,
  text: string,
  options: ClaimSourceOptions = {},
): unknown {
  let value: unknown;
  try {
    value = parseMarked(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    value = text;
  }
  checkClaim(name, value, options);
  return value;
}

/**
 * Parses a JSON object of claims. Numbers must come through JSON
 * unchanged, and `exp`, `nbf` and `iat` must be numbers.
 *
 * @param text The JSON text.
 * @param options Where the claims come from, for errors.
 * @returns The claims, in the order of the text; `__proto__` stays an
 * own member.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the text is not JSON or
 * not an object, for a number that is not finite in JavaScript or an
 * integer beyond `Number.MAX_SAFE_INTEGER`, and for an `exp`, `nbf` or
 * `iat` that is not a number.
 *
 * @example
 * ```ts
 * import { parseClaimsJson } from "./jwt_claims.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseClaimsJson('{"scope": "read", "exp": 4102444800}'),
 *   { scope: "read", exp: 4102444800 });
 * assert.throws(() => parseClaimsJson('{"n": 1e400}', { source: "claims.json" }),
 *   /claim 'n' number '1e400' from claims.json/);
 * ```
 */
export function parseClaimsJson(
  text: string,
  options: ClaimSourceOptions = {},
): Record<string, unknown> {
  const source = options.source ?? "the claims JSON";
  let value: unknown;
  try {
    value = parseMarked(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot parse ${source}: ${error.message}. It must hold one JSON ` +
        "object of claims.",
      { cause: error },
    );
  }
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    value instanceof InexactNumber
  ) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot use ${source}: it holds ${
        Array.isArray(value)
          ? "an array"
          : value instanceof InexactNumber
          ? value.text
          : JSON.stringify(value)
      }, not a JSON object. Write the claims as {"name": value, ...}.`,
    );
  }
  for (const [name, member] of Object.entries(value)) {
    checkClaim(name, member, options);
  }
  return value as Record<string, unknown>;
}

/** Options of {@linkcode signServiceNowAssertion}. */
export interface ServiceNowAssertionOptions extends JwtBearerGrantOptions {
  /**
   * The `kid` header: the Key Id of the ServiceNow JWT Verifier Map that
   * contains this key's certificate or JWKS.
   */
  kid: string;
}

/**
 * Signs a ServiceNow JWT bearer grant assertion: the claims of
 * {@linkcode jwtBearerGrantClaims} with the verifier map's key id as
 * `kid`. The algorithm is checked before the `Sign` call.
 *
 * @param signer The signer, whose `alg` must be one ServiceNow accepts.
 * @param options The claims' options and the verifier map's key id.
 * @returns The compact JWT, for the `assertion` parameter of a
 * `urn:ietf:params:oauth:grant-type:jwt-bearer` token request.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when ServiceNow does not
 * accept the signer's algorithm; `INVALID_INPUT` for an empty `kid` or an
 * invalid claim option; `KMS_*` when `Sign` fails.
 *
 * @example
 * ```ts
 * import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
 * import { decodeProtectedHeader } from "jose";
 * import { KmsJwtSigner } from "./jwt.ts";
 * import { signServiceNowAssertion } from "./jwt_claims.ts";
 * import { startLocalKms } from "./local_kms/mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using kms = await startLocalKms();
 * const client = new KMSClient({ endpoint: kms.url, region: kms.region,
 *   credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" } });
 * const { KeyMetadata } = await client.send(new CreateKeyCommand({
 *   KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" }));
 * const signer = await KmsJwtSigner.create(client, KeyMetadata!.KeyId!);
 *
 * const assertion = await signServiceNowAssertion(signer, {
 *   clientId: "a1b2c3", subject: "integration@example.com", kid: "kms-jwt" });
 * assert.deepEqual(decodeProtectedHeader(assertion), { alg: "RS256", typ: "JWT", kid: "kms-jwt" });
 * client.destroy();
 * ```
 */
export async function signServiceNowAssertion(
  signer: KmsJwtSigner,
  options: ServiceNowAssertionOptions,
): Promise<string> {
  checkServiceNowAlgorithm(signer.alg, signer.keyId);
  const kid = checkText(
    options.kid,
    "kid",
    "Pass the Key Id of the ServiceNow JWT Verifier Map.",
  );
  const claims = jwtBearerGrantClaims(options);
  return await signer.sign(claims, { header: { kid } });
}

/**
 * Signs a `private_key_jwt` client assertion: the claims of
 * {@linkcode clientAssertionClaims} under the signer's `kid`, which must
 * be the `kid` of the key in the JWKS registered for the client.
 *
 * @param signer The signer.
 * @param options The client id, token endpoint, lifetime and time.
 * @returns The compact JWT, for the `client_assertion` parameter with
 * `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
 * @throws {KmsToolkitError} `INVALID_INPUT` for an invalid option; `KMS_*`
 * when `Sign` fails.
 *
 * @example
 * ```ts
 * import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
 * import { decodeJwt } from "jose";
 * import { KmsJwtSigner } from "./jwt.ts";
 * import { signClientAssertion } from "./jwt_claims.ts";
 * import { startLocalKms } from "./local_kms/mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using kms = await startLocalKms();
 * const client = new KMSClient({ endpoint: kms.url, region: kms.region,
 *   credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" } });
 * const { KeyMetadata } = await client.send(new CreateKeyCommand({
 *   KeySpec: "ECC_NIST_P384", KeyUsage: "SIGN_VERIFY" }));
 * const signer = await KmsJwtSigner.create(client, KeyMetadata!.KeyId!);
 *
 * const assertion = await signClientAssertion(signer, {
 *   clientId: "0oa1example", tokenEndpoint: "https://example.okta.com/oauth2/v1/token" });
 * assert.equal(decodeJwt(assertion).iss, "0oa1example");
 * client.destroy();
 * ```
 */
export async function signClientAssertion(
  signer: KmsJwtSigner,
  options: ClientAssertionOptions,
): Promise<string> {
  return await signer.sign(clientAssertionClaims(options));
}
