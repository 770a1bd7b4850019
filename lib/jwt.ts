/**
 * JSON Web Tokens (RFC 7519) signed by a key that stays in AWS KMS, as
 * compact JWS (RFC 7515) with the header `{ alg, typ: "JWT", kid }`.
 *
 * One `GetPublicKey` call when the signer is created, then one `Sign` call
 * per token. ECDSA signatures come back from KMS as DER and are converted
 * to the fixed-length `r || s` that JWS requires (RFC 7518 section 3.4).
 * The `kid` is the RFC 7638 thumbprint that `publicJwkFor` in `jwk.ts`
 * puts into the JWKS, so a published JWKS and the tokens always agree.
 *
 * @example A Lambda function (Node.js) that gets an access token with a
 * `private_key_jwt` client assertion, using the bundle `dist/kms_jwt.mjs`
 * that `deno task bundle` builds. The role needs `kms:GetPublicKey` and
 * `kms:Sign` on the key.
 * ```ts ignore
 * import { KMSClient } from "@aws-sdk/client-kms";
 * import { clientAssertionClaims, KmsJwtSigner } from "./kms_jwt.mjs";
 *
 * const TOKEN_URL = process.env.TOKEN_URL; // https://example.okta.com/oauth2/v1/token
 * const CLIENT_ID = process.env.CLIENT_ID;
 * const client = new KMSClient({});
 * // Created once per execution environment: GetPublicKey runs on cold start only.
 * const signer = KmsJwtSigner.create(client, process.env.KMS_KEY_ID);
 *
 * export const handler = async () => {
 *   const assertion = await (await signer).sign(
 *     clientAssertionClaims({ clientId: CLIENT_ID, tokenEndpoint: TOKEN_URL }),
 *   );
 *   const response = await fetch(TOKEN_URL, {
 *     method: "POST",
 *     headers: {
 *       "content-type": "application/x-www-form-urlencoded",
 *       accept: "application/json",
 *     },
 *     body: new URLSearchParams({
 *       grant_type: "client_credentials",
 *       scope: "okta.users.read",
 *       client_assertion_type:
 *         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
 *       client_assertion: assertion,
 *     }),
 *   });
 *   const body = await response.json();
 *   if (!response.ok) {
 *     throw new Error(`Token request failed: ${response.status} ${body.error}: ${body.error_description}`);
 *   }
 *   return { tokenType: body.token_type, expiresIn: body.expires_in, accessToken: body.access_token };
 * };
 * ```
 *
 * @module
 */

import {
  chooseSigningAlgorithm,
  type SigningAlgorithmEntry,
} from "./algorithms.ts";
import { coordinateSize, derToJoseSignature } from "./ecdsa_signature.ts";
import { KmsToolkitError } from "./errors.ts";
import { type PublicJwk, publicJwkFor } from "./jwk.ts";
import type { KmsSender } from "./kms_key.ts";
import type { SigningKey } from "./signing_key.ts";
import { parseSpki, spkiKeySpec } from "./spki.ts";
import { assertSignatureValid } from "./verify.ts";

/** The claims of a JWT: any JSON object. */
export type JwtPayload = Record<string, unknown>;

/** A JOSE header as the signer writes it. */
export interface JwtHeader {
  /** The JWS algorithm, such as `ES256`. */
  alg: string;
  /** The media type, `JWT` unless the caller sets another. */
  typ?: string;
  /** The key id. */
  kid?: string;
  /** Any other header parameter. */
  [member: string]: unknown;
}

/** Options of {@linkcode KmsJwtSigner.create}. */
export interface KmsJwtSignerOptions {
  /**
   * The JWS `alg`, such as `PS256`, or a KMS `SigningAlgorithm` name such
   * as `RSASSA_PSS_SHA_256`.
   * @default {undefined} the key spec's default: RS256 for RSA, ES256,
   * ES384, ES512, ES256K, EdDSA or ML-DSA-44/65/87 for the others
   */
  alg?: string;
  /**
   * The `kid` header parameter (and the `kid` of {@linkcode KmsJwtSigner.jwk}).
   * @default {undefined} the key's RFC 7638 thumbprint, as the JWKS script
   * publishes it
   */
  kid?: string;
  /**
   * Timeout of each KMS call, retries included, in milliseconds.
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * The AWS profile in use, named in credential errors.
   * @default {undefined}
   */
  profile?: string;
  /**
   * Verify each signature from KMS against the public key before the token
   * is returned, so a corrupt signature or another key's never leaves.
   * @default {true}
   */
  verifySignatures?: boolean;
}

/** Options of {@linkcode KmsJwtSigner.fromSigningKey}. */
export interface SigningKeySignerOptions {
  /**
   * The JWS `alg` or KMS `SigningAlgorithm` name.
   * @default {undefined} the key spec's default
   */
  alg?: string;
  /**
   * The `kid` header parameter.
   * @default {undefined} the key's RFC 7638 thumbprint
   */
  kid?: string;
  /**
   * The signing algorithms the key allows (KMS `SigningAlgorithms`).
   * @default {undefined} every algorithm of the key spec
   */
  allowedSigningAlgorithms?: readonly string[];
  /**
   * Verify each signature from KMS against the public key before the token
   * is returned, so a corrupt signature or another key's never leaves.
   * @default {true}
   */
  verifySignatures?: boolean;
}

/** Options of {@linkcode KmsJwtSigner.sign}. */
export interface SignJwtOptions {
  /**
   * Extra JOSE header parameters, placed after `alg`, `typ` and `kid`.
   * They may replace `typ` or `kid`, but an `alg` other than the signer's
   * is rejected. A member set to `undefined` is left out, as in JSON, so
   * `{ kid: undefined }` drops `kid`.
   * @default {{}}
   */
  header?: Record<string, unknown>;
}

const ML_DSA_SIGNATURE_BYTES: Record<string, number> = {
  "ML-DSA-44": 2420,
  "ML-DSA-65": 3309,
  "ML-DSA-87": 4627,
};

function base64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function encodeJson(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot encode the JWT ${what} as JSON: ${
        error instanceof Error ? error.message : String(error)
      }. Use only JSON values (no BigInt, no cycles).`,
      { cause: error },
    );
  }
  return base64Url(new TextEncoder().encode(json));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Signs JWTs with a KMS key: compact JWS with the header
 * `{ alg, typ: "JWT", kid }` and one `Sign` call per token.
 *
 * @example Sign a token on a local KMS endpoint and verify it with jose
 * ```ts
 * import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
 * import { createLocalJWKSet, jwtVerify } from "jose";
 * import { KmsJwtSigner } from "./jwt.ts";
 * import { startLocalKms } from "./local_kms/mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using kms = await startLocalKms();
 * const client = new KMSClient({ endpoint: kms.url, region: kms.region,
 *   credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" } });
 * const { KeyMetadata } = await client.send(new CreateKeyCommand({
 *   KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }));
 *
 * const signer = await KmsJwtSigner.create(client, KeyMetadata!.KeyId!);
 * const token = await signer.sign({ sub: "report-job", aud: "https://api.example.com" });
 *
 * const jwks = createLocalJWKSet({ keys: [signer.jwk] });
 * const { protectedHeader, payload } = await jwtVerify(token, jwks);
 * assert.deepEqual(protectedHeader, { alg: "ES256", typ: "JWT", kid: signer.kid });
 * assert.equal(payload.sub, "report-job");
 * client.destroy();
 * ```
 */
export class KmsJwtSigner {
  /** The JWS `alg` of every token, such as `ES256`. */
  readonly alg: string;
  /** The `kid` header parameter of every token, unless a call replaces it. */
  readonly kid: string;
  /** The key reference as given. */
  readonly keyId: string;
  /** The public JWK with `alg`, `use: "sig"` and `kid`, as a JWKS lists it. */
  readonly jwk: PublicJwk;

  readonly #key: SigningKey;
  readonly #algorithm: SigningAlgorithmEntry;
  readonly #signatureLength: number | null;
  readonly #verifySignatures: boolean;

  private constructor(
    key: SigningKey,
    algorithm: SigningAlgorithmEntry,
    jwk: PublicJwk,
    signatureLength: number | null,
    verifySignatures: boolean,
  ) {
    this.#key = key;
    this.#verifySignatures = verifySignatures;
    this.#algorithm = algorithm;
    this.#signatureLength = signatureLength;
    this.alg = algorithm.jwsAlgorithm!;
    this.kid = jwk.kid as string;
    this.keyId = key.keyId;
    this.jwk = jwk;
  }

  /**
   * Creates a signer for a KMS key with one `GetPublicKey` call. The `alg`
   * is checked against the key's `SigningAlgorithms` here, so a key that
   * cannot sign with it fails before any `Sign` call.
   *
   * @param client The SDK client (or anything with the same `send`).
   * @param keyId Key id, key ARN, alias name or alias ARN.
   * @param options The `alg`, `kid`, timeout and profile.
   * @returns The signer.
   * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when the key cannot sign
   * with the requested `alg` (the message lists the ones it allows) or has
   * no JWS algorithm; `KMS_*` when `GetPublicKey` fails; `INVALID_INPUT`
   * for an empty `kid`.
   */
  static async create(
    client: KmsSender,
    keyId: string,
    options: KmsJwtSignerOptions = {},
  ): Promise<KmsJwtSigner> {
    // Loaded here so that importing the signer does not load the AWS SDK.
    const { KmsKey } = await import("./kms_key.ts");
    const key = await KmsKey.fetch(client, keyId, {
      timeoutMs: options.timeoutMs,
      profile: options.profile,
    });
    return await KmsJwtSigner.fromSigningKey(key, {
      alg: options.alg,
      kid: options.kid,
      allowedSigningAlgorithms: key.signingAlgorithms,
      verifySignatures: options.verifySignatures,
    });
  }

  /**
   * Creates a signer for any {@linkcode SigningKey}, such as a
   * {@linkcode KmsKey} already fetched, or a local key in tests and
   * benchmarks. The key spec comes from the key's SPKI.
   *
   * @param key The key; its `sign` returns DER for ECDSA, as KMS does.
   * @param options The `alg`, `kid` and the algorithms the key allows.
   * @returns The signer.
   * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when the key cannot sign
   * with the requested `alg` or has no JWS algorithm; `INVALID_INPUT` when
   * the SPKI is malformed or `kid` is empty.
   *
   * @example
   * ```ts
   * import { KmsJwtSigner } from "./jwt.ts";
   * import { KmsToolkitError } from "./errors.ts";
   * import assert from "node:assert/strict";
   *
   * const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
   * const key = {
   *   keyId: "local-ed25519",
   *   publicKey: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
   *   sign: async (data: Uint8Array) =>
   *     new Uint8Array(await crypto.subtle.sign("Ed25519", pair.privateKey, data.slice())),
   * };
   * const signer = await KmsJwtSigner.fromSigningKey(key);
   * assert.equal(signer.alg, "EdDSA");
   * await assert.rejects(KmsJwtSigner.fromSigningKey(key, { alg: "ES256" }), KmsToolkitError);
   * ```
   */
  static async fromSigningKey(
    key: SigningKey,
    options: SigningKeySignerOptions = {},
  ): Promise<KmsJwtSigner> {
    const parsed = parseSpki(key.publicKey);
    const keySpec = spkiKeySpec(parsed);
    const algorithm = chooseSigningAlgorithm(keySpec, {
      requested: options.alg,
      allowed: options.allowedSigningAlgorithms,
      purpose: "jws",
      keyId: key.keyId,
    });
    const jwk = await publicJwkFor(key.publicKey, {
      alg: algorithm.jwsAlgorithm!,
      kid: options.kid,
      allowedSigningAlgorithms: options.allowedSigningAlgorithms,
    });

    let signatureLength: number | null = null;
    if (parsed.rsa) signatureLength = parsed.rsa.modulus.length;
    else if (parsed.curve === "Ed25519") signatureLength = 64;
    else if (parsed.curve && parsed.curve in ML_DSA_SIGNATURE_BYTES) {
      signatureLength = ML_DSA_SIGNATURE_BYTES[parsed.curve]!;
    }
    return new KmsJwtSigner(
      key,
      algorithm,
      jwk,
      signatureLength,
      options.verifySignatures ?? true,
    );
  }

  /**
   * Signs a claims set as a compact JWS with one `Sign` call. The header is
   * `{ alg, typ: "JWT", kid }` in that order, followed by the extra header
   * parameters.
   *
   * @param payload The claims: a JSON object, serialized as is.
   * @param options Extra header parameters.
   * @returns The token `header.payload.signature`, each part base64url.
   * @throws {KmsToolkitError} `INVALID_INPUT` when the payload is not a
   * JSON object, the header sets another `alg` or `b64`, or an EdDSA
   * signing input is over 4096 bytes; `KMS_*` when `Sign` fails or returns
   * a signature of the wrong form; `VERIFY_FAILED` when the signature does
   * not verify against the public key.
   */
  async sign(
    payload: JwtPayload,
    options: SignJwtOptions = {},
  ): Promise<string> {
    if (!isPlainObject(payload)) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot sign JWT payload '${String(payload)}': a JWT claims set is ` +
          "a JSON object (RFC 7519 section 7.2). Pass an object of claims.",
      );
    }
    const header = this.#header(options.header ?? {});
    const signingInput = `${encodeJson(header, "header")}.${
      encodeJson(payload, "payload")
    }`;
    const data = new TextEncoder().encode(signingInput);
    const signature = await this.#key.sign(data, this.#algorithm);
    if (this.#verifySignatures) {
      await assertSignatureValid(this.#key.publicKey, {
        algorithm: this.#algorithm,
        data,
        signature,
        keyId: this.keyId,
      });
    }
    return `${signingInput}.${base64Url(this.#joseSignature(signature))}`;
  }

  #header(extra: Record<string, unknown>): JwtHeader {
    if (!isPlainObject(extra)) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot use JWT header '${String(extra)}': expected an object of ` +
          "header parameters.",
      );
    }
    const header: JwtHeader = { alg: this.alg, typ: "JWT", kid: this.kid };
    for (const [name, value] of Object.entries(extra)) {
      if (name === "alg") {
        if (value !== this.alg) {
          throw new KmsToolkitError(
            "INVALID_INPUT",
            `Cannot set JWT header alg '${String(value)}': this signer signs ` +
              `with ${this.alg}. Create a signer with alg '${
                String(value)
              }' instead.`,
          );
        }
        continue;
      }
      if (name === "b64") {
        throw new KmsToolkitError(
          "INVALID_INPUT",
          `Cannot set JWT header b64 '${String(value)}': this signer always ` +
            "base64url-encodes the payload (RFC 7797 is not supported). " +
            "Remove b64 from the header.",
        );
      }
      header[name] = value;
    }
    return header;
  }

  #joseSignature(signature: Uint8Array): Uint8Array {
    if (this.alg.startsWith("ES")) {
      try {
        return derToJoseSignature(signature, coordinateSize(this.alg));
      } catch (error) {
        if (!(error instanceof KmsToolkitError)) throw error;
        throw new KmsToolkitError(
          "KMS_FAILED",
          `Cannot use the ${this.alg} signature that KMS returned for key ` +
            `'${this.keyId}': ${error.message}`,
          { cause: error },
        );
      }
    }
    if (
      this.#signatureLength !== null &&
      signature.length !== this.#signatureLength
    ) {
      throw new KmsToolkitError(
        "KMS_FAILED",
        `Cannot use the ${this.alg} signature that KMS returned for key ` +
          `'${this.keyId}': it is ${signature.length} bytes, expected ` +
          `${this.#signatureLength}. Check that --endpoint-url is a KMS ` +
          "endpoint.",
      );
    }
    return signature;
  }
}
