/**
 * The signing capability that the CSR, certificate and JWT builders need.
 * {@linkcode KmsKey} implements it; tests may pass a local key.
 *
 * @module
 */

import type { SigningAlgorithmEntry } from "./algorithms.ts";

/** A key that signs with a chosen algorithm and exposes its public key. */
export interface SigningKey {
  /** The key reference, for messages. */
  readonly keyId: string;
  /** The DER `SubjectPublicKeyInfo`. */
  readonly publicKey: Uint8Array;
  /**
   * Signs `data` with `algorithm`; ECDSA signatures are DER.
   *
   * @param data The bytes to sign, before any hashing.
   * @param algorithm The algorithm, from `chooseSigningAlgorithm`.
   * @returns The signature.
   */
  sign(data: Uint8Array, algorithm: SigningAlgorithmEntry): Promise<Uint8Array>;
}
