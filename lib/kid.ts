/**
 * Kid modes, the ways the scripts choose the `kid` of a KMS key: its RFC
 * 7638 thumbprint, its KMS key id, or a given value. The JWKS export and
 * the JWT signer parse the same modes here, so one `--kid` gives one kid
 * in both.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";

/** A way to choose the `kid` of a key. */
export type KidMode =
  | { kind: "thumbprint" }
  | { kind: "key-id" }
  | { kind: "literal"; value: string };

/** Options of {@linkcode parseKidMode}. */
export interface ParseKidModeOptions {
  /**
   * Whether a value that is no mode is taken as a literal kid. The JWT
   * signer takes a ServiceNow verifier map's key id, which is any text.
   * @default {false} such a value is an error
   */
  bareLiteral?: boolean;
  /**
   * The name of the input in error messages, such as a flag.
   * @default {"kid"}
   */
  label?: string;
}

const LITERAL = "literal:";

/**
 * Parses a kid mode: `thumbprint` (the default), `key-id`, or
 * `literal:VALUE`. With `bareLiteral`, any other non-empty text is a
 * literal kid too, but `thumbprint` and `key-id` are still the modes.
 *
 * @param text The mode, or `undefined` for the default.
 * @param options Whether bare values are literal kids, and the label.
 * @returns The mode.
 * @throws {KmsToolkitError} `USAGE` for an empty text, an empty
 * `literal:` value, or (without `bareLiteral`) text that is no mode.
 *
 * @example
 * ```ts
 * import { parseKidMode } from "./kid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseKidMode(undefined), { kind: "thumbprint" });
 * assert.deepEqual(parseKidMode("key-id", { bareLiteral: true }), { kind: "key-id" });
 * assert.deepEqual(parseKidMode("map-1", { bareLiteral: true }), { kind: "literal", value: "map-1" });
 * assert.throws(() => parseKidMode("map-1"), /expected thumbprint, key-id or literal:VALUE/);
 * ```
 */
export function parseKidMode(
  text: string | undefined,
  options: ParseKidModeOptions = {},
): KidMode {
  if (text === undefined || text === "thumbprint") {
    return { kind: "thumbprint" };
  }
  if (text === "key-id") return { kind: "key-id" };
  if (text.startsWith(LITERAL) && text.length > LITERAL.length) {
    return { kind: "literal", value: text.slice(LITERAL.length) };
  }
  const label = options.label ?? "kid";
  if (options.bareLiteral && text.trim() !== "" && text !== LITERAL) {
    return { kind: "literal", value: text };
  }
  const expected = options.bareLiteral
    ? "thumbprint, key-id, literal:VALUE or a kid, none of them empty"
    : "thumbprint, key-id or literal:VALUE with a non-empty VALUE";
  throw new KmsToolkitError(
    "USAGE",
    `Cannot use ${label} '${text}': expected ${expected}.`,
  );
}

/** The members of a fetched KMS key that {@linkcode kidFor} reads. */
export interface KeyReference {
  /** The key reference as given: key id, ARN, alias name or alias ARN. */
  keyId: string;
  /** The key ARN that `GetPublicKey` returned. */
  keyArn: string;
}

const KEY_ARN = /^arn:[^:]+:kms:[^:]*:[^:]*:key\/([^/:]+)$/;

/**
 * Gives the kid that a mode chooses for a key. For `key-id` that is the
 * KMS key id from the key ARN, so an alias gives its key's id and no
 * account number is published.
 *
 * @param mode The mode from {@linkcode parseKidMode}.
 * @param key The key reference and the key ARN from `GetPublicKey`.
 * @returns The kid, or `undefined` for `thumbprint`, whose kid
 * `publicJwkFor` in `jwk.ts` computes from the public key.
 * @throws {KmsToolkitError} `KMS_FAILED` for `key-id` when the key ARN is
 * not of the form `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID`.
 *
 * @example
 * ```ts
 * import { kidFor } from "./kid.ts";
 * import assert from "node:assert/strict";
 *
 * const key = {
 *   keyId: "alias/signer",
 *   keyArn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
 * };
 * assert.equal(kidFor({ kind: "key-id" }, key), "1234abcd-12ab-34cd-56ef-1234567890ab");
 * assert.equal(kidFor({ kind: "literal", value: "k1" }, key), "k1");
 * assert.equal(kidFor({ kind: "thumbprint" }, key), undefined);
 * ```
 */
export function kidFor(mode: KidMode, key: KeyReference): string | undefined {
  if (mode.kind === "literal") return mode.value;
  if (mode.kind === "thumbprint") return undefined;
  const match = KEY_ARN.exec(key.keyArn);
  if (!match) {
    throw new KmsToolkitError(
      "KMS_FAILED",
      `Cannot take the key id of KMS key '${key.keyId}' from ` +
        `'${key.keyArn}': GetPublicKey returned no key ARN of the form ` +
        "arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID. Check that the " +
        "endpoint is a KMS endpoint, or use a literal kid.",
    );
  }
  return match[1]!;
}
