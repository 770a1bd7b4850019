/**
 * JSON Web Key Sets (RFC 7517 section 5): reading an existing set, adding
 * keys to it for a key rotation, and writing it out.
 *
 * An existing set is kept as it is: its keys stay in order with every
 * member, unknown ones included, and numbers keep their source text, so a
 * big integer is not rounded. Members whose names are integers, such as
 * `"1"`, come first when written, because JavaScript objects order them
 * so; their values do not change.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";
import { jwkThumbprint, type PublicJwk } from "./jwk.ts";

/** A JWK Set: `keys` and any other member of the set. */
export interface Jwks {
  /** The keys, in order. */
  keys: PublicJwk[];
  /** Any other member of the set, kept as read. */
  [member: string]: unknown;
}

/** Options of {@linkcode parseJwks}. */
export interface ParseJwksOptions {
  /**
   * A name for the text, such as its file path, used in error messages.
   * @default {"the JWKS"}
   */
  source?: string;
}

/**
 * Members that only private or symmetric keys have (RFC 7518 sections
 * 6.2.2, 6.3.2 and 6.4.1, RFC 8037 section 2). A published set must not
 * contain them. AKP's `priv` is from draft-ietf-cose-dilithium.
 */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"];

/** JSON values as `JSON.parse` returns them. */
type JsonObject = Record<string, unknown>;

/**
 * `JSON` with `rawJSON` and `isRawJSON` (the JSON.parse source text access
 * proposal), which V8 in Deno 2 implements and TypeScript 6.0's lib does
 * not declare.
 */
const RawJson = JSON as JSON & {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
};

function describeJson(value: unknown): string {
  if (value === null) return "null";
  // parseKeepingNumbers turns every number into a raw JSON object.
  if (RawJson.isRawJSON(value)) return "a number";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null &&
    !Array.isArray(value) && !RawJson.isRawJSON(value);
}

/** Names a key of a set in messages: its position and its kid, if any. */
function describeKey(jwk: JsonObject, index: number): string {
  const kid = typeof jwk.kid === "string" ? ` (kid '${jwk.kid}')` : "";
  return `key ${index + 1}${kid}`;
}

/**
 * Parses JSON, keeping the source text of every number, so that writing
 * the value again gives the same digits (`1.0` stays `1.0`, and integers
 * beyond 2^53 are not rounded).
 */
function parseKeepingNumbers(text: string): unknown {
  return JSON.parse(
    text,
    (_key, value, context?: { source?: string }) =>
      typeof value === "number" && context?.source !== undefined
        ? RawJson.rawJSON(context.source)
        : value,
  );
}

/**
 * Parses and checks a JWK Set, such as one to add keys to.
 *
 * The text must be one JSON object with a `keys` array whose elements are
 * objects with a string `kty`, and with a string `kid` where there is one.
 * A set that contains private or symmetric key material (`d`, `p`, `q`,
 * `dp`, `dq`, `qi`, `oth`, `k` or `priv`) is rejected, because a set that
 * is published must contain public keys only.
 *
 * @param text The JSON text.
 * @param options The source name for error messages.
 * @returns The set, with every member as read.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the text is not JSON, not
 * a JWK Set, or contains private key members; the message names the source
 * and what is wrong.
 *
 * @example
 * ```ts
 * import { parseJwks } from "./jwks.ts";
 * import assert from "node:assert/strict";
 *
 * const jwks = parseJwks('{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}],"note":1}');
 * assert.equal(jwks.keys[0]?.kty, "OKP");
 * assert.throws(() => parseJwks("[]", { source: "old.json" }), /old\.json.*array/);
 * ```
 */
export function parseJwks(text: string, options: ParseJwksOptions = {}): Jwks {
  const source = options.source ?? "the JWKS";
  const invalid = (reason: string, cause?: unknown) =>
    new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot read JWKS '${source}': ${reason}. Pass a JSON file of the ` +
        'form {"keys": [...]} that contains public keys only.',
      cause === undefined ? undefined : { cause },
    );

  let value: unknown;
  try {
    value = parseKeepingNumbers(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalid(`invalid JSON (${reason})`, error);
  }
  if (!isObject(value)) {
    throw invalid(`the JSON text is ${describeJson(value)}, not an object`);
  }
  if (!Object.hasOwn(value, "keys")) {
    const hint = typeof value.kty === "string"
      ? ' (it looks like a single JWK; wrap it as {"keys": [KEY]})'
      : "";
    throw invalid(`the object has no 'keys' member${hint}`);
  }
  const keys = value.keys;
  if (!Array.isArray(keys)) {
    throw invalid(`'keys' is ${describeJson(keys)}, not an array`);
  }

  keys.forEach((jwk: unknown, index) => {
    if (!isObject(jwk)) {
      throw invalid(`key ${index + 1} is ${describeJson(jwk)}, not an object`);
    }
    if (typeof jwk.kty !== "string" || jwk.kty === "") {
      throw invalid(`${describeKey(jwk, index)} has no string 'kty'`);
    }
    if (Object.hasOwn(jwk, "kid") && typeof jwk.kid !== "string") {
      throw invalid(`key ${index + 1} has a 'kid' that is not a string`);
    }
    const secret = PRIVATE_MEMBERS.find((member) => Object.hasOwn(jwk, member));
    if (secret !== undefined) {
      throw invalid(
        `${describeKey(jwk, index)} has the private key member '${secret}'`,
      );
    }
  });
  return value as Jwks;
}

/** The outcome of {@linkcode mergeJwks}. */
export interface MergeResult {
  /** The merged set: the existing keys, then the added ones. */
  jwks: Jwks;
  /** The keys that were added, in order. */
  added: PublicJwk[];
  /** The keys that the set already had with the same kid and members. */
  skipped: PublicJwk[];
  /**
   * Added keys whose key material the set already had under another kid,
   * with that kid.
   */
  alsoPublishedAs: { jwk: PublicJwk; kid: string }[];
}

/** Options of {@linkcode mergeJwks}. */
export interface MergeJwksOptions {
  /**
   * A name for the existing set, such as its file path, used in error
   * messages.
   * @default {"the JWKS"}
   */
  source?: string;
}

/** Serializes JSON with object members sorted, to compare values. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member) => {
    if (!isObject(member)) return member;
    const sorted: JsonObject = {};
    for (const name of Object.keys(member).sort()) sorted[name] = member[name];
    return sorted;
  });
}

/** Computes the RFC 7638 thumbprint, or `null` for a JWK without one. */
async function thumbprintOrNull(jwk: PublicJwk): Promise<string | null> {
  try {
    return await jwkThumbprint(jwk);
  } catch (error) {
    if (error instanceof KmsToolkitError) return null;
    throw error;
  }
}

/** Shows a JSON value in a message, cut to 40 characters. */
function shortJson(value: unknown): string {
  const text = canonicalJson(value);
  if (text === undefined) return "absent";
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function differingMembers(a: JsonObject, b: JsonObject): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((name) =>
    canonicalJson(a[name]) !== canonicalJson(b[name])
  );
}

/**
 * Adds keys to a JWK Set, as a key rotation publishes the old and the new
 * key together. The existing keys are kept unchanged and in order, the
 * other members of the set too, and the new keys follow in the order
 * given.
 *
 * For each new key, by its `kid`:
 *
 * - no key of the set has that kid: the key is added. If the set has the
 *   same key material (the same RFC 7638 thumbprint) under another kid,
 *   it is still added and listed in `alsoPublishedAs`.
 * - a key with that kid and the same key material and members: the new
 *   key is skipped and listed in `skipped`.
 * - a key with that kid and other key material: rejected, because a kid
 *   must name one key.
 * - a key with that kid and the same key material but other members (such
 *   as another `alg`, or an `x5c`): rejected, because skipping would drop
 *   the change and adding would publish one kid twice.
 *
 * @param existing The set to add to, such as {@linkcode parseJwks} returns.
 * It is not modified.
 * @param additions The new public keys, each with a `kid`.
 * @param options The source name for error messages.
 * @returns The merged set and what happened to each new key.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a kid of the set names
 * another key, or the same key with other members.
 * @throws {TypeError} When a new key has no string `kid`.
 *
 * @example
 * ```ts
 * import { mergeJwks } from "./jwks.ts";
 * import assert from "node:assert/strict";
 *
 * const old = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: "old" };
 * const next = { kty: "OKP", crv: "Ed25519", x: "l0d7hVHc_xdYbLjnGlpC3lZkSxbbn8AP2qIWykHfaQs", kid: "new" };
 * const { jwks, added, skipped } = await mergeJwks({ keys: [old] }, [old, next]);
 * assert.deepEqual(jwks.keys.map((key) => key.kid), ["old", "new"]);
 * assert.equal(added.length, 1);
 * assert.equal(skipped[0]?.kid, "old");
 * ```
 */
export async function mergeJwks(
  existing: Jwks,
  additions: readonly PublicJwk[],
  options: MergeJwksOptions = {},
): Promise<MergeResult> {
  const source = options.source ?? "the JWKS";
  const keys = [...existing.keys];
  const thumbprints = await Promise.all(keys.map(thumbprintOrNull));
  const result: MergeResult = {
    jwks: { ...existing, keys },
    added: [],
    skipped: [],
    alsoPublishedAs: [],
  };

  for (const jwk of additions) {
    const kid = jwk.kid;
    if (typeof kid !== "string" || kid === "") {
      throw new TypeError("Cannot merge a JWK without a string kid.");
    }
    const thumbprint = await thumbprintOrNull(jwk);
    const sameKid = keys.findIndex((key) => key.kid === kid);

    if (sameKid < 0) {
      const sameKey = thumbprint === null
        ? -1
        : thumbprints.findIndex((other) => other === thumbprint);
      const otherKid = keys[sameKey]?.kid;
      if (typeof otherKid === "string") {
        result.alsoPublishedAs.push({ jwk, kid: otherKid });
      }
      keys.push(jwk);
      thumbprints.push(thumbprint);
      result.added.push(jwk);
      continue;
    }

    const present = keys[sameKid]!;
    const where = `${describeKey(present, sameKid)} of '${source}'`;
    if (thumbprint === null || thumbprints[sameKid] !== thumbprint) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot add the key with kid '${kid}': ${where} has that kid with ` +
          "other key material, and a kid must name one key. Choose another " +
          "kid (--kid), or remove that key from the file.",
      );
    }
    const changed = differingMembers(present, jwk);
    if (changed.length > 0) {
      const details = changed.map((name) =>
        `${name} ${shortJson(present[name])} there, ${shortJson(jwk[name])} ` +
        "here"
      );
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot add the key with kid '${kid}': ${where} is the same key ` +
          `with other members (${details.join("; ")}). Remove that key ` +
          "from the file to replace it, or pass the options it was made " +
          "with.",
      );
    }
    result.skipped.push(jwk);
  }
  return result;
}

/** Options of {@linkcode formatJwks}. */
export interface FormatJwksOptions {
  /**
   * Write one line instead of indenting with two spaces.
   * @default {false}
   */
  compact?: boolean;
}

/**
 * Serializes a JWK Set or a single JWK as JSON text with a final newline:
 * indented with two spaces, or on one line with `compact`.
 *
 * Numbers read by {@linkcode parseJwks} are written with their source
 * text.
 *
 * @param value The set or key.
 * @param options Indented or compact.
 * @returns The JSON text.
 *
 * @example
 * ```ts
 * import { formatJwks, parseJwks } from "./jwks.ts";
 * import assert from "node:assert/strict";
 *
 * const jwks = parseJwks('{"keys":[{"kty":"EC","n":12345678901234567890}]}');
 * assert.equal(
 *   formatJwks(jwks, { compact: true }),
 *   '{"keys":[{"kty":"EC","n":12345678901234567890}]}\n',
 * );
 * assert.equal(formatJwks({ keys: [] }), '{\n  "keys": []\n}\n');
 * ```
 */
export function formatJwks(
  value: Jwks | PublicJwk,
  options: FormatJwksOptions = {},
): string {
  return `${JSON.stringify(value, null, options.compact ? undefined : 2)}\n`;
}
