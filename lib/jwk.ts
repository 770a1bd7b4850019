/**
 * Public JSON Web Keys (RFC 7517) built from a DER `SubjectPublicKeyInfo`,
 * and their RFC 7638 thumbprints.
 *
 * Members follow RFC 7518 section 6 (RSA and EC), RFC 8037 (Ed25519 as
 * OKP), RFC 8812 (secp256k1) and the JOSE ML-DSA specification
 * draft-ietf-cose-dilithium, published as RFC 9964 (ML-DSA as AKP with
 * `pub` and `alg`).
 *
 * @module
 */

import { chooseSigningAlgorithm } from "./algorithms.ts";
import { KmsToolkitError } from "./errors.ts";
import { type ParsedSpki, parseSpki, spkiKeySpec } from "./spki.ts";

/** A public JWK: `kty` and the members of that key type. */
export interface PublicJwk {
  /** The key type: `RSA`, `EC`, `OKP` or `AKP`. */
  kty: string;
  /** Any other member, such as `n`, `crv`, `alg` or `kid`. */
  [member: string]: unknown;
}

/**
 * The members that RFC 7638 section 3.2 hashes for each key type, in
 * lexicographic order. AKP's come from draft-ietf-cose-dilithium.
 */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  RSA: ["e", "kty", "n"],
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  AKP: ["alg", "kty", "pub"],
};

function base64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function jwkFromParsed(parsed: ParsedSpki): PublicJwk {
  switch (parsed.keyType) {
    case "RSA":
      return {
        kty: "RSA",
        n: base64Url(parsed.rsa!.modulus),
        e: base64Url(parsed.rsa!.publicExponent),
      };
    case "EC":
      if (parsed.curve === "SM2") {
        throw new KmsToolkitError(
          "UNSUPPORTED_KEY",
          "Cannot convert SM2 key to a JWK: no JWK curve name is registered " +
            "for SM2. Use an ECC_NIST_* or ECC_SECG_P256K1 key.",
        );
      }
      return {
        kty: "EC",
        crv: parsed.curve,
        x: base64Url(parsed.ec!.x),
        y: base64Url(parsed.ec!.y),
      };
    case "OKP":
      return { kty: "OKP", crv: parsed.curve, x: base64Url(parsed.publicKey) };
    case "AKP":
      return {
        kty: "AKP",
        pub: base64Url(parsed.publicKey),
        alg: parsed.curve,
      };
  }
}

/**
 * Converts a DER `SubjectPublicKeyInfo` to the public JWK members of its
 * key, without `alg`, `use` or `kid` except where the key type requires
 * them.
 *
 * - RSA: `{ kty, n, e }`, big-endian without sign bytes.
 * - EC: `{ kty, crv, x, y }` with `crv` `P-256`, `P-384`, `P-521` or
 *   `secp256k1`, and each coordinate left-padded to 32, 48 or 66 bytes.
 * - Ed25519: `{ kty: "OKP", crv: "Ed25519", x }`.
 * - ML-DSA: `{ kty: "AKP", pub, alg }` with `alg` `ML-DSA-44`, `ML-DSA-65`
 *   or `ML-DSA-87`, which AKP requires.
 *
 * Values are base64url without padding.
 *
 * @param spki The DER SPKI, as KMS `GetPublicKey` returns it.
 * @returns The JWK.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the SPKI is malformed.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` for SM2 keys, which have no
 * JWK form, and for algorithms that `parseSpki` does not support.
 *
 * @example
 * ```ts
 * import { spkiToJwk } from "./jwk.ts";
 * import assert from "node:assert/strict";
 *
 * const { publicKey } = await crypto.subtle.generateKey(
 *   { name: "ECDSA", namedCurve: "P-256" },
 *   true,
 *   ["sign", "verify"],
 * );
 * const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
 * const jwk = spkiToJwk(spki);
 * const expected = await crypto.subtle.exportKey("jwk", publicKey);
 * assert.deepEqual(jwk, { kty: "EC", crv: "P-256", x: expected.x, y: expected.y });
 * ```
 */
export function spkiToJwk(spki: Uint8Array): PublicJwk {
  return jwkFromParsed(parseSpki(spki));
}

/**
 * Shows a member value in a message. `String` throws on the null-prototype
 * objects of `JSON.rawJSON`, which parsed JWK Sets use for numbers.
 */
function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    return JSON.stringify(value) ?? typeof value;
  }
}

/**
 * Computes the RFC 7638 JWK thumbprint: the SHA-256 of the JSON object of
 * the key type's required members, in lexicographic order and without
 * whitespace, as base64url.
 *
 * The required members are `e, kty, n` for RSA, `crv, kty, x, y` for EC,
 * `crv, kty, x` for OKP and `alg, kty, pub` for AKP. Other members, such
 * as `kid` or `use`, do not change the thumbprint.
 *
 * @param jwk A public JWK.
 * @returns The 43-character base64url thumbprint.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when `kty` is not `RSA`,
 * `EC`, `OKP` or `AKP`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a required member is
 * missing or not a non-empty string.
 *
 * @example
 * ```ts
 * import { jwkThumbprint } from "./jwk.ts";
 * import assert from "node:assert/strict";
 *
 * const jwk = {
 *   kty: "OKP",
 *   crv: "Ed25519",
 *   x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
 *   kid: "not hashed",
 * };
 * // RFC 8037 appendix A.3.
 * assert.equal(await jwkThumbprint(jwk), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
 * ```
 */
export async function jwkThumbprint(jwk: PublicJwk): Promise<string> {
  const kty = jwk?.kty;
  if (typeof kty !== "string" || !Object.hasOwn(REQUIRED_MEMBERS, kty)) {
    throw new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot compute the thumbprint of a JWK with kty '${printable(kty)}': ` +
        "only RSA, EC, OKP and AKP public keys are supported. Pass a public " +
        "JWK of one of those types.",
    );
  }

  const members = REQUIRED_MEMBERS[kty]!;
  const canonical: Record<string, string> = {};
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== "string" || value === "") {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot compute the thumbprint of a ${kty} JWK with ${member} ` +
          `'${printable(value)}': RFC 7638 requires ${member} as a non-empty ` +
          `string. Pass a JWK with all of ${members.join(", ")}.`,
      );
    }
    canonical[member] = value;
  }

  // JSON.stringify emits no whitespace and keeps insertion order, and the
  // members above are already sorted.
  const input = new TextEncoder().encode(JSON.stringify(canonical));
  const digest = await crypto.subtle.digest("SHA-256", input);
  return base64Url(new Uint8Array(digest));
}

/** Options of {@linkcode publicJwkFor}. */
export interface JwkOptions {
  /**
   * The JWS `alg`, such as `PS256`, or a KMS `SigningAlgorithm` name such
   * as `RSASSA_PSS_SHA_256`.
   * @default {undefined} the key spec's default: RS256, ES256, ES384,
   * ES512, ES256K, EdDSA or ML-DSA-44/65/87
   */
  alg?: string;
  /**
   * The `use` member, or `null` to omit it.
   * @default {"sig"}
   */
  use?: "sig" | null;
  /**
   * The `key_ops` member. A public signing key can only `verify`.
   * @default {undefined} omitted
   */
  keyOps?: string[];
  /**
   * The `kid` member.
   * @default {undefined} the RFC 7638 thumbprint
   */
  kid?: string;
  /**
   * The KMS `SigningAlgorithms` of the key, from `GetPublicKey`. An `alg`
   * outside them is rejected.
   * @default {undefined} every algorithm of the key spec
   */
  allowedSigningAlgorithms?: readonly string[];
}

function checkUse(use: unknown): "sig" | null {
  if (use === undefined || use === "sig") return "sig";
  if (use === null) return null;
  throw new KmsToolkitError(
    "INVALID_INPUT",
    `Cannot set JWK use '${String(use)}': the key of a KMS signing key ` +
      "has use 'sig'. Pass 'sig', or null to omit use.",
  );
}

function checkKeyOps(keyOps: unknown): string[] | undefined {
  if (keyOps === undefined) return undefined;
  if (
    Array.isArray(keyOps) && keyOps.length === 1 && keyOps[0] === "verify"
  ) {
    return ["verify"];
  }
  throw new KmsToolkitError(
    "INVALID_INPUT",
    `Cannot set JWK key_ops '${JSON.stringify(keyOps)}': the only ` +
      "operation of a public signing key is 'verify'. Pass ['verify'], or " +
      "omit keyOps.",
  );
}

/**
 * Builds the public JWK of a KMS signing key, as a JWKS endpoint
 * publishes it: the key's members, then `alg`, `use`, `key_ops` and
 * `kid`, in the order `kty, crv, x, y, n, e, pub, alg, use, key_ops, kid`
 * (members a key type lacks are left out).
 *
 * The `alg` is chosen by `chooseSigningAlgorithm` in `algorithms.ts`, for
 * the key spec that `spkiKeySpec` names: RSA keys allow RS256, RS384,
 * RS512, PS256, PS384 and PS512, and every other key spec only its one
 * JWS algorithm.
 *
 * @param spki The DER SPKI, as KMS `GetPublicKey` returns it.
 * @param options The `alg`, `use`, `key_ops` and `kid` choices.
 * @returns The JWK.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when the key cannot use the
 * requested `alg` (the message lists the ones it allows), for SM2 keys,
 * for RSA sizes other than 2048, 3072 and 4096 bits, and for algorithms
 * that `parseSpki` does not support.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the SPKI is malformed, or
 * `use`, `keyOps` or `kid` is invalid.
 *
 * @example
 * ```ts
 * import { jwkThumbprint, publicJwkFor } from "./jwk.ts";
 * import assert from "node:assert/strict";
 *
 * const { publicKey } = await crypto.subtle.generateKey(
 *   { name: "ECDSA", namedCurve: "P-384" },
 *   true,
 *   ["sign", "verify"],
 * );
 * const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
 * const jwk = await publicJwkFor(spki);
 * assert.deepEqual(Object.keys(jwk), ["kty", "crv", "x", "y", "alg", "use", "kid"]);
 * assert.equal(jwk.alg, "ES384");
 * assert.equal(jwk.kid, await jwkThumbprint(jwk));
 * ```
 */
export async function publicJwkFor(
  spki: Uint8Array,
  options: JwkOptions = {},
): Promise<PublicJwk> {
  const parsed = parseSpki(spki);
  const entry = chooseSigningAlgorithm(spkiKeySpec(parsed), {
    requested: options.alg,
    allowed: options.allowedSigningAlgorithms,
    purpose: "jwk",
  });
  const use = checkUse(options.use);
  const keyOps = checkKeyOps(options.keyOps);
  if (
    options.kid !== undefined &&
    (typeof options.kid !== "string" || options.kid === "")
  ) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot set JWK kid '${String(options.kid)}': kid must be a ` +
        "non-empty string. Pass another kid, or omit it to use the RFC 7638 " +
        "thumbprint.",
    );
  }

  // For AKP, jwkFromParsed already placed alg after pub, where it stays.
  const jwk = jwkFromParsed(parsed);
  jwk.alg = entry.jwsAlgorithm;
  if (use !== null) jwk.use = use;
  if (keyOps !== undefined) jwk.key_ops = keyOps;
  jwk.kid = options.kid ?? await jwkThumbprint(jwk);
  return jwk;
}
