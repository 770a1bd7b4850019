/**
 * Verification of a JWT against a JWKS or an X.509 certificate with jose,
 * with error messages that state in user terms why a token was rejected.
 *
 * @module
 */

import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  importX509,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { KmsToolkitError } from "./errors.ts";
import type { JwtHeader, JwtPayload } from "./jwt.ts";
import type { PublicJwk } from "./jwk.ts";
import { decodePemBlocks, encodePem } from "./pem.ts";

/** A JSON Web Key Set: `{ keys: [...] }`. */
export interface Jwks {
  /** The public keys. */
  keys: PublicJwk[];
}

/** Options of {@linkcode verifyJwt}. Give exactly one of `jwks` and `certificate`. */
export interface VerifyJwtOptions {
  /**
   * The JWKS to select the key from by the token's `kid` and `alg`.
   * @default {undefined}
   */
  jwks?: Jwks;
  /**
   * A PEM certificate whose public key verifies the token, whatever its
   * `kid` (as ServiceNow's JWT verifier maps use certificates).
   * @default {undefined}
   */
  certificate?: string;
  /**
   * The expected `aud`: the token must name it (or one of them).
   * @default {undefined} not checked
   */
  audience?: string | string[];
  /**
   * The expected `iss` (or one of them).
   * @default {undefined} not checked
   */
  issuer?: string | string[];
  /**
   * The accepted `alg` values.
   * @default {undefined} any asymmetric algorithm jose supports
   */
  algorithms?: string[];
  /**
   * Clock skew allowed for `exp`, `nbf` and `iat`, in seconds.
   * @default {0}
   */
  clockToleranceSeconds?: number;
  /**
   * The time to check `exp` and `nbf` against.
   * @default {new Date()}
   */
  currentDate?: Date;
}

/** A verified token's decoded parts. */
export interface VerifiedJwt {
  /** The protected header. */
  header: JwtHeader;
  /** The claims. */
  payload: JwtPayload;
}

function failed(message: string, cause?: unknown): KmsToolkitError {
  return new KmsToolkitError(
    "VERIFY_FAILED",
    message,
    cause === undefined ? undefined : { cause },
  );
}

function describeToken(header: Record<string, unknown>): string {
  const parts = [`alg '${String(header.alg)}'`];
  if (header.kid !== undefined) parts.push(`kid '${String(header.kid)}'`);
  return `JWT with ${parts.join(" and ")}`;
}

function listKids(jwks: Jwks): string {
  if (jwks.keys.length === 0) return "no keys";
  return jwks.keys.map((jwk) => {
    const kid = typeof jwk.kid === "string" ? `'${jwk.kid}'` : "(no kid)";
    return jwk.alg === undefined ? kid : `${kid} (${String(jwk.alg)})`;
  }).join(", ");
}

function isoTime(seconds: unknown): string {
  return typeof seconds === "number" && Number.isFinite(seconds)
    ? `${new Date(seconds * 1000).toISOString()} (${seconds})`
    : `'${String(seconds)}'`;
}

function quoteList(value: string | string[] | undefined): string {
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => `'${String(item)}'`).join(" or ");
}

function checkJwks(jwks: unknown): Jwks {
  if (
    typeof jwks !== "object" || jwks === null ||
    !Array.isArray((jwks as Jwks).keys)
  ) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot verify a JWT against JWKS '${
        JSON.stringify(jwks)
      }': a JWKS is an object with a "keys" array. Pass the JWKS as the ` +
        "JWKS script prints it.",
    );
  }
  return jwks as Jwks;
}

async function certificateKey(
  pem: string,
  header: Record<string, unknown>,
): Promise<CryptoKey> {
  const block = decodePemBlocks(pem, "certificate").find((candidate) =>
    candidate.label === "CERTIFICATE"
  );
  if (!block) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      "Cannot verify a JWT against the certificate: the text has no PEM " +
        "'CERTIFICATE' block. Pass the certificate as PEM.",
    );
  }
  const alg = String(header.alg);
  try {
    return await importX509(encodePem("CERTIFICATE", block.der), alg);
  } catch (error) {
    throw failed(
      `Cannot verify ${describeToken(header)} against the certificate: ` +
        `its public key cannot verify ${alg} (${
          error instanceof Error ? error.message : String(error)
        }). Check that the token was signed by the certificate's key.`,
      error,
    );
  }
}

function translate(
  error: unknown,
  header: Record<string, unknown>,
  options: VerifyJwtOptions,
): KmsToolkitError {
  if (error instanceof KmsToolkitError) return error;
  const token = describeToken(header);
  const source = options.jwks ? "the JWKS" : "the certificate";

  if (error instanceof errors.JWKSNoMatchingKey) {
    return failed(
      `Cannot verify ${token}: no key in the JWKS has that kid and alg; the ` +
        `JWKS has ${listKids(options.jwks!)}. Sign with the kid of a ` +
        "published key, or publish this key's JWK.",
      error,
    );
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return failed(
      `Cannot verify ${token}: several keys in the JWKS match and none ` +
        `verifies the signature; the JWKS has ${
          listKids(options.jwks!)
        }. Give the token the kid of its key.`,
      error,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return failed(
      `Cannot verify ${token}: the signature is invalid for the key in ` +
        `${source}. The token was changed or signed by another key.`,
      error,
    );
  }
  if (error instanceof errors.JWTExpired) {
    return failed(
      `Cannot verify ${token}: it expired at ${
        isoTime(error.payload.exp)
      }. Sign a new token.`,
      error,
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    const actual = JSON.stringify(error.payload[claim]);
    if (error.reason === "missing") {
      return failed(
        `Cannot verify ${token}: it has no '${claim}' claim, which the ` +
          "verifier requires. Add the claim when signing.",
        error,
      );
    }
    if (claim === "aud") {
      return failed(
        `Cannot verify ${token}: its audience ${actual} does not match the ` +
          `expected audience ${quoteList(options.audience)}. Sign with aud ` +
          "set to the recipient, such as the token endpoint URL.",
        error,
      );
    }
    if (claim === "iss") {
      return failed(
        `Cannot verify ${token}: its issuer ${actual} does not match the ` +
          `expected issuer ${quoteList(options.issuer)}.`,
        error,
      );
    }
    if (claim === "nbf") {
      return failed(
        `Cannot verify ${token}: it is not valid before ${
          isoTime(error.payload.nbf)
        }. Check the signer's clock, or wait.`,
        error,
      );
    }
    return failed(
      `Cannot verify ${token}: claim '${claim}' ${actual} is invalid ` +
        `(${error.message}).`,
      error,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return failed(
      `Cannot verify ${token}: alg '${String(header.alg)}' is not among ` +
        `the accepted algorithms ${quoteList(options.algorithms)}.`,
      error,
    );
  }
  if (error instanceof errors.JOSENotSupported) {
    return new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot verify ${token}: jose in this runtime does not support alg ` +
        `'${String(header.alg)}' (${error.message}). Verify the signature ` +
        "with verifySignature in verify.ts instead.",
      { cause: error },
    );
  }
  if (
    error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid
  ) {
    return failed(
      `Cannot verify ${token}: it is not a well-formed signed JWT ` +
        `(${error.message}).`,
      error,
    );
  }
  if (error instanceof DOMException && error.name === "NotSupportedError") {
    // WebCrypto of this runtime lacks the algorithm (ML-DSA on Node.js 20).
    return new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot verify ${token}: WebCrypto in this runtime does not support ` +
        `alg '${String(header.alg)}' (${error.message}). Verify the ` +
        "signature with verifySignature in verify.ts instead.",
      { cause: error },
    );
  }
  if (error instanceof errors.JOSEError) {
    return failed(`Cannot verify ${token}: ${error.message}.`, error);
  }
  throw error;
}

/**
 * Verifies a compact JWT's signature, `exp`, `nbf` and the expected
 * audience and issuer, against a JWKS (key chosen by `kid` and `alg`) or a
 * certificate's public key.
 *
 * @param token The compact JWT.
 * @param options Exactly one of `jwks` and `certificate`, and the checks.
 * @returns The header and payload.
 * @throws {KmsToolkitError} `VERIFY_FAILED` when the token is malformed,
 * no JWKS key has its `kid` (the message lists the kids present), the
 * signature is invalid, the token expired or is not yet valid, or the
 * audience or issuer does not match; `UNSUPPORTED_KEY` when jose or the
 * runtime's WebCrypto cannot verify the `alg` (ES256K always, ML-DSA on
 * Node.js 20); `INVALID_INPUT` when the JWKS or certificate cannot be
 * read.
 * @throws {TypeError} When neither or both of `jwks` and `certificate`
 * are given.
 *
 * @example
 * ```ts
 * import { KmsJwtSigner } from "./jwt.ts";
 * import { verifyJwt } from "./jwt_verify.ts";
 * import { KmsToolkitError } from "./errors.ts";
 * import { joseToDerSignature } from "./ecdsa_signature.ts";
 * import assert from "node:assert/strict";
 *
 * const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const signer = await KmsJwtSigner.fromSigningKey({
 *   keyId: "local-p256",
 *   publicKey: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
 *   // A local stand-in for KMS, which returns ECDSA signatures as DER.
 *   sign: async (data: Uint8Array) => {
 *     const raw = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data.slice());
 *     return joseToDerSignature(new Uint8Array(raw));
 *   },
 * });
 * const token = await signer.sign({ aud: "https://api.example.com" });
 *
 * const { header } = await verifyJwt(token, { jwks: { keys: [signer.jwk] }, audience: "https://api.example.com" });
 * assert.equal(header.kid, signer.kid);
 * await assert.rejects(
 *   verifyJwt(token, { jwks: { keys: [signer.jwk] }, audience: "https://other.example.com" }),
 *   (error: unknown) => error instanceof KmsToolkitError && /audience/.test(error.message),
 * );
 * ```
 */
export async function verifyJwt(
  token: string,
  options: VerifyJwtOptions,
): Promise<VerifiedJwt> {
  if ((options.jwks === undefined) === (options.certificate === undefined)) {
    throw new TypeError(
      "Cannot verify a JWT: pass exactly one of options.jwks and " +
        "options.certificate.",
    );
  }

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch (error) {
    const preview = String(token).slice(0, 24);
    throw failed(
      `Cannot verify JWT '${preview}${
        String(token).length > 24 ? "..." : ""
      }': it is not a compact JWS of three base64url parts separated by ` +
        "dots. Pass the token exactly as signed.",
      error,
    );
  }

  let key: JWTVerifyGetKey | CryptoKey;
  if (options.jwks !== undefined) {
    try {
      key = createLocalJWKSet(checkJwks(options.jwks) as JSONWebKeySet);
    } catch (error) {
      if (error instanceof KmsToolkitError) throw error;
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot verify a JWT against the JWKS: ${
          error instanceof Error ? error.message : String(error)
        }. Pass the JWKS as the JWKS script prints it.`,
        { cause: error },
      );
    }
  } else {
    key = await certificateKey(options.certificate!, header);
  }

  try {
    const result = await jwtVerify(token, key as JWTVerifyGetKey, {
      audience: options.audience,
      issuer: options.issuer,
      algorithms: options.algorithms,
      clockTolerance: options.clockToleranceSeconds,
      currentDate: options.currentDate,
    });
    return {
      header: result.protectedHeader as JwtHeader,
      payload: result.payload as JwtPayload,
    };
  } catch (error) {
    throw translate(error, header, options);
  }
}
