/**
 * A KMS asymmetric key as this toolkit uses it: the public key fetched
 * once with `GetPublicKey`, then any number of `Sign` calls.
 *
 * @module
 */

import { GetPublicKeyCommand, SignCommand } from "@aws-sdk/client-kms";
import { shake256 } from "@noble/hashes/sha3.js";
import {
  DIGEST_LENGTH,
  keySpecEntry,
  type SigningAlgorithmEntry,
} from "./algorithms.ts";
import { concatBytes } from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import {
  DEFAULT_TIMEOUT_MS,
  type KmsSender,
  translateKmsError,
} from "./kms_client.ts";
import { parseSpki } from "./spki.ts";

/** The largest message KMS signs with `MessageType=RAW`, in bytes. */
export const MAX_RAW_MESSAGE_BYTES = 4096;

/** The members of a `GetPublicKey` response that this module reads. */
export interface PublicKeyResponse {
  /** The key ARN. */
  KeyId?: string;
  /** The DER `SubjectPublicKeyInfo`. */
  PublicKey?: Uint8Array;
  /** The KMS `KeySpec`. */
  KeySpec?: string;
  /** The KMS `KeyUsage`. */
  KeyUsage?: string;
  /** The signing algorithms KMS allows for the key. */
  SigningAlgorithms?: string[];
}

/** The members of a `Sign` response that this module reads. */
export interface SignResponse {
  /** The signature. */
  Signature?: Uint8Array;
}

export type { KmsSender } from "./kms_client.ts";

/** Options of {@linkcode KmsKey.fetch}. */
export interface KmsKeyOptions {
  /**
   * Timeout of each KMS call, retries included, in milliseconds.
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * The profile in use, named in credential errors.
   * @default {undefined}
   */
  profile?: string;
}

async function withTimeout<T>(
  timeoutMs: number,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await call(controller.signal);
  } catch (error) {
    // Only an abort by this timer is a timeout; the SDK also names closed
    // connections TimeoutError, with a network error code.
    if (!controller.signal.aborted) throw error;
    throw Object.assign(new Error(`No response within ${timeoutMs} ms`), {
      name: "TimeoutError",
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

function copyBytes(view: Uint8Array | undefined): Uint8Array {
  // SDK blobs can be views into a larger response buffer.
  return view ? view.slice() : new Uint8Array();
}

/**
 * A KMS signing key with its public key already fetched.
 *
 * @example Make a signature with a key on a KMS endpoint
 * ```ts ignore
 * import { createKmsClient } from "./kms_client.ts";
 * import { chooseSigningAlgorithm } from "./algorithms.ts";
 * import { KmsKey } from "./kms_key.ts";
 *
 * const key = await KmsKey.fetch(createKmsClient(), "alias/app-signing");
 * const algorithm = chooseSigningAlgorithm(key.keySpec, { allowed: key.signingAlgorithms });
 * const signature = await key.sign(new TextEncoder().encode("hello"), algorithm);
 * ```
 */
export class KmsKey {
  /** The key reference as given: key id, key ARN, alias name or alias ARN. */
  readonly keyId: string;
  /** The key ARN that KMS returned. */
  readonly keyArn: string;
  /** The KMS `KeySpec`, such as `ECC_NIST_P256`. */
  readonly keySpec: string;
  /** The KMS `KeyUsage`, such as `SIGN_VERIFY`. */
  readonly keyUsage: string;
  /** The signing algorithms KMS allows for this key. */
  readonly signingAlgorithms: readonly string[];
  /** The DER `SubjectPublicKeyInfo`, byte for byte as KMS returned it. */
  readonly publicKey: Uint8Array;

  readonly #client: KmsSender;
  readonly #timeoutMs: number;
  readonly #profile: string | undefined;

  private constructor(
    client: KmsSender,
    keyId: string,
    output: PublicKeyResponse,
    options: KmsKeyOptions,
  ) {
    this.#client = client;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#profile = options.profile;
    this.keyId = keyId;
    this.keyArn = output.KeyId ?? keyId;
    this.keySpec = output.KeySpec ?? "";
    this.keyUsage = output.KeyUsage ?? "";
    this.signingAlgorithms = output.SigningAlgorithms ?? [];
    this.publicKey = copyBytes(output.PublicKey);
  }

  /**
   * Fetches a key's public key and metadata with one `GetPublicKey` call,
   * and checks that it is a signing key this toolkit supports.
   *
   * @param client The SDK client (or anything with the same `send`).
   * @param keyId Key id, key ARN, alias name or alias ARN.
   * @param options Timeout and profile.
   * @returns The key.
   * @throws {KmsToolkitError} `KMS_*` when the call fails, and
   * `UNSUPPORTED_KEY` when the key cannot sign or its key spec is unknown.
   */
  static async fetch(
    client: KmsSender,
    keyId: string,
    options: KmsKeyOptions = {},
  ): Promise<KmsKey> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let output: PublicKeyResponse;
    try {
      const command = new GetPublicKeyCommand({ KeyId: keyId });
      output = await withTimeout(
        timeoutMs,
        (abortSignal) => client.send(command as never, { abortSignal }),
      ) as PublicKeyResponse;
    } catch (error) {
      throw translateKmsError(error, {
        operation: "GetPublicKey",
        keyId,
        timeoutMs,
        profile: options.profile,
      });
    }

    const key = new KmsKey(client, keyId, output, options);
    key.#checkSigningKey();
    return key;
  }

  #checkSigningKey(): void {
    if (!this.keySpec) {
      throw new KmsToolkitError(
        "KMS_FAILED",
        `KMS returned no KeySpec for key '${this.keyId}'. The endpoint does ` +
          "not behave like KMS; check --endpoint-url.",
      );
    }
    keySpecEntry(this.keySpec, this.keyId);
    if (this.keyUsage !== "SIGN_VERIFY") {
      throw new KmsToolkitError(
        "UNSUPPORTED_KEY",
        `Cannot sign with KMS key '${this.keyId}': its KeyUsage is ` +
          `${this.keyUsage || "unknown"}, not SIGN_VERIFY. Create a signing ` +
          "key with `aws kms create-key --key-usage SIGN_VERIFY`.",
      );
    }
    if (this.publicKey.length === 0) {
      throw new KmsToolkitError(
        "KMS_FAILED",
        `KMS returned no public key for key '${this.keyId}'.`,
      );
    }
  }

  /**
   * Signs data with one `Sign` call. The message sent follows the
   * algorithm's message type: the hash of `data` for `DIGEST`, `data`
   * itself for `RAW`, and the ML-DSA μ of FIPS 204 for `EXTERNAL_MU`.
   *
   * @param data The bytes to sign (for a CSR, the encoded request info).
   * @param algorithm The algorithm, from `chooseSigningAlgorithm`.
   * @returns The signature exactly as KMS returned it (DER for ECDSA).
   * @throws {KmsToolkitError} `INVALID_INPUT` when RAW data is over 4096
   * bytes, `KMS_*` when the call fails.
   */
  async sign(
    data: Uint8Array,
    algorithm: SigningAlgorithmEntry,
  ): Promise<Uint8Array> {
    const message = await this.#message(data, algorithm);
    const context = {
      operation: "Sign",
      keyId: this.keyId,
      signingAlgorithm: algorithm.signingAlgorithm,
      allowedAlgorithms: this.signingAlgorithms,
      timeoutMs: this.#timeoutMs,
      profile: this.#profile,
    };

    let output: SignResponse;
    try {
      const command = new SignCommand({
        KeyId: this.keyId,
        Message: message,
        MessageType: algorithm.messageType,
        SigningAlgorithm: algorithm.signingAlgorithm as never,
      });
      output = await withTimeout(
        this.#timeoutMs,
        (abortSignal) => this.#client.send(command as never, { abortSignal }),
      ) as SignResponse;
    } catch (error) {
      throw translateKmsError(error, context);
    }

    const signature = copyBytes(output.Signature);
    if (signature.length === 0) {
      throw new KmsToolkitError(
        "KMS_FAILED",
        `KMS returned no signature for key '${this.keyId}'.`,
      );
    }
    return signature;
  }

  async #message(
    data: Uint8Array,
    algorithm: SigningAlgorithmEntry,
  ): Promise<Uint8Array> {
    switch (algorithm.messageType) {
      case "DIGEST": {
        const hash = algorithm.hash!;
        const digest = new Uint8Array(
          await crypto.subtle.digest(hash, data.slice()),
        );
        if (digest.length !== DIGEST_LENGTH[hash]) {
          throw new RangeError(`Unexpected ${hash} length ${digest.length}`);
        }
        return digest;
      }
      case "RAW":
        if (data.length > MAX_RAW_MESSAGE_BYTES) {
          throw new KmsToolkitError(
            "INVALID_INPUT",
            `Cannot sign ${data.length} bytes with ` +
              `${algorithm.signingAlgorithm}: KMS signs at most ` +
              `${MAX_RAW_MESSAGE_BYTES} bytes of raw message. Shorten the ` +
              "input (fewer or shorter names and extensions).",
          );
        }
        return data;
      case "EXTERNAL_MU":
        return mlDsaExternalMu(this.publicKey, data);
    }
  }
}

/**
 * Computes the ML-DSA message representative μ for pure ML-DSA with an
 * empty context (FIPS 204 Algorithm 2 and 7):
 * `μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64)`.
 *
 * @param spki The key's DER `SubjectPublicKeyInfo`; `pk` is its key bytes.
 * @param message The message `M`.
 * @returns The 64-byte μ.
 *
 * @example
 * ```ts ignore
 * const mu = mlDsaExternalMu(spki, message); // 64 bytes, sent with MessageType EXTERNAL_MU
 * ```
 */
export function mlDsaExternalMu(
  spki: Uint8Array,
  message: Uint8Array,
): Uint8Array {
  const publicKey = parseSpki(spki).publicKey;
  const tr = shake256(publicKey, { dkLen: 64 });
  return shake256(concatBytes(tr, Uint8Array.of(0, 0), message), {
    dkLen: 64,
  });
}
