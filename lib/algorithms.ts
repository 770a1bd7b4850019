/**
 * The one table that ties a KMS key spec to its signing algorithms, hash,
 * message type, X.509 signature AlgorithmIdentifier and JWS `alg`.
 *
 * @module
 */

import {
  encodeContext,
  encodeInteger,
  encodeNull,
  encodeOid,
  encodeSequence,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import { HashOid, SignatureOid } from "./oids.ts";

/** Hash functions that KMS signing algorithms use. */
export type HashName = "SHA-256" | "SHA-384" | "SHA-512";

/** The form in which `Sign` receives the message (the KMS `MessageType`). */
export type MessageType = "DIGEST" | "RAW" | "EXTERNAL_MU";

/** Key families, named by their JWK `kty`. */
export type KeyType = "RSA" | "EC" | "OKP" | "AKP";

/** One signing algorithm as a given key spec uses it. */
export interface SigningAlgorithmEntry {
  /** The KMS `SigningAlgorithm` name. */
  signingAlgorithm: string;
  /** The JWS `alg` (RFC 7518, RFC 8037, RFC 8812, JOSE ML-DSA), if any. */
  jwsAlgorithm: string | null;
  /** The hash applied before signing, or `null` when KMS signs the message. */
  hash: HashName | null;
  /** The `MessageType` this toolkit sends to `Sign`. */
  messageType: MessageType;
  /** The X.509 signature OID, or `null` when no certificate can use it. */
  signatureOid: string | null;
}

/** One KMS key spec that can sign. */
export interface KeySpecEntry {
  /** The KMS `KeySpec`. */
  keySpec: string;
  /** The JWK `kty`. */
  keyType: KeyType;
  /** The curve (`crv`) or ML-DSA parameter set, if the key has one. */
  curve: string | null;
  /** The allowed algorithms; the first is the default. */
  algorithms: SigningAlgorithmEntry[];
}

/** Lengths in bytes of each hash's output. */
export const DIGEST_LENGTH: Record<HashName, number> = {
  "SHA-256": 32,
  "SHA-384": 48,
  "SHA-512": 64,
};

const HASH_OID: Record<HashName, string> = {
  "SHA-256": HashOid.idSha256,
  "SHA-384": HashOid.idSha384,
  "SHA-512": HashOid.idSha512,
};

const BITS = ["256", "384", "512"] as const;
const HASH_BY_BITS = {
  "256": "SHA-256",
  "384": "SHA-384",
  "512": "SHA-512",
} as const;

function rsaAlgorithms(): SigningAlgorithmEntry[] {
  const pkcs1 = BITS.map((bits): SigningAlgorithmEntry => ({
    signingAlgorithm: `RSASSA_PKCS1_V1_5_SHA_${bits}`,
    jwsAlgorithm: `RS${bits}`,
    hash: HASH_BY_BITS[bits],
    messageType: "DIGEST",
    signatureOid: SignatureOid[`sha${bits}WithRSAEncryption`],
  }));
  const pss = BITS.map((bits): SigningAlgorithmEntry => ({
    signingAlgorithm: `RSASSA_PSS_SHA_${bits}`,
    jwsAlgorithm: `PS${bits}`,
    hash: HASH_BY_BITS[bits],
    messageType: "DIGEST",
    signatureOid: SignatureOid.idRsassaPss,
  }));
  return [...pkcs1, ...pss];
}

function ecdsa(
  bits: "256" | "384" | "512",
  jws: string,
): SigningAlgorithmEntry {
  return {
    signingAlgorithm: `ECDSA_SHA_${bits}`,
    jwsAlgorithm: jws,
    hash: HASH_BY_BITS[bits],
    messageType: "DIGEST",
    signatureOid: SignatureOid[`ecdsaWithSha${bits}`],
  };
}

function mlDsa(level: "44" | "65" | "87"): KeySpecEntry {
  return {
    keySpec: `ML_DSA_${level}`,
    keyType: "AKP",
    curve: `ML-DSA-${level}`,
    algorithms: [{
      signingAlgorithm: "ML_DSA_SHAKE_256",
      jwsAlgorithm: `ML-DSA-${level}`,
      hash: null,
      messageType: "EXTERNAL_MU",
      signatureOid: `2.16.840.1.101.3.4.3.${
        { "44": 17, "65": 18, "87": 19 }[level]
      }`,
    }],
  };
}

/** Every KMS key spec that this toolkit can sign with. */
export const KEY_SPECS: readonly KeySpecEntry[] = [
  ...(["2048", "3072", "4096"] as const).map((bits): KeySpecEntry => ({
    keySpec: `RSA_${bits}`,
    keyType: "RSA",
    curve: null,
    algorithms: rsaAlgorithms(),
  })),
  {
    keySpec: "ECC_NIST_P256",
    keyType: "EC",
    curve: "P-256",
    algorithms: [ecdsa("256", "ES256")],
  },
  {
    keySpec: "ECC_NIST_P384",
    keyType: "EC",
    curve: "P-384",
    algorithms: [ecdsa("384", "ES384")],
  },
  {
    keySpec: "ECC_NIST_P521",
    keyType: "EC",
    curve: "P-521",
    algorithms: [ecdsa("512", "ES512")],
  },
  {
    keySpec: "ECC_SECG_P256K1",
    keyType: "EC",
    curve: "secp256k1",
    algorithms: [ecdsa("256", "ES256K")],
  },
  {
    keySpec: "ECC_NIST_EDWARDS25519",
    keyType: "OKP",
    curve: "Ed25519",
    algorithms: [
      {
        signingAlgorithm: "ED25519_SHA_512",
        jwsAlgorithm: "EdDSA",
        hash: null,
        messageType: "RAW",
        signatureOid: "1.3.101.112",
      },
      {
        // Ed25519ph (RFC 8032 section 5.1) has no X.509 OID or JWS alg.
        signingAlgorithm: "ED25519_PH_SHA_512",
        jwsAlgorithm: null,
        hash: "SHA-512",
        messageType: "DIGEST",
        signatureOid: null,
      },
    ],
  },
  mlDsa("44"),
  mlDsa("65"),
  mlDsa("87"),
];

const NOT_SIGNING = /^(SYMMETRIC_DEFAULT|HMAC_\d+|ML_KEM_\d+)$/;

/**
 * Looks up a key spec, rejecting the ones that cannot sign here.
 *
 * @param keySpec The KMS `KeySpec` from `GetPublicKey` or `DescribeKey`.
 * @param keyId The key reference, for the error message.
 * @returns The table entry.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` for SM2, non-signing and
 * unknown key specs.
 *
 * @example
 * ```ts
 * import { keySpecEntry } from "./algorithms.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(keySpecEntry("ECC_NIST_P384").curve, "P-384");
 * ```
 */
export function keySpecEntry(keySpec: string, keyId = "the key"): KeySpecEntry {
  const entry = KEY_SPECS.find((candidate) => candidate.keySpec === keySpec);
  if (entry) return entry;

  if (keySpec === "SM2") {
    throw new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot use key '${keyId}': key spec SM2 exists only in the AWS China ` +
        "Regions and is not supported. Use an RSA, ECC or ML-DSA key.",
    );
  }
  if (NOT_SIGNING.test(keySpec)) {
    throw new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot use key '${keyId}': key spec ${keySpec} is not an asymmetric ` +
        "signing key. Create one with KeyUsage SIGN_VERIFY.",
    );
  }
  throw new KmsToolkitError(
    "UNSUPPORTED_KEY",
    `Cannot use key '${keyId}': unknown key spec '${keySpec}'. Supported: ` +
      `${KEY_SPECS.map((entry) => entry.keySpec).join(", ")}.`,
  );
}

/** Options of {@linkcode chooseSigningAlgorithm}. */
export interface ChooseAlgorithmOptions {
  /**
   * The requested algorithm, as a KMS name (`ECDSA_SHA_256`) or a JWS `alg`
   * (`ES256`), in any case.
   * @default {undefined} the key spec's default
   */
  requested?: string;
  /**
   * The algorithms KMS allows for this key (`SigningAlgorithms` from
   * `GetPublicKey`), when known.
   * @default {undefined} every algorithm of the key spec
   */
  allowed?: readonly string[];
  /**
   * The use of the algorithm. `"x509"` signs certificates, so it needs an
   * X.509 OID. `"jws"` signs JWS, so it needs a JWS `alg`. `"jwk"` names
   * the `alg` of a published JWK, which needs a JWS `alg` too, and its
   * errors read "Cannot use key" because nothing is signed.
   * @default {undefined} no such requirement
   */
  purpose?: "x509" | "jws" | "jwk";
  /**
   * The key reference, for error messages.
   * @default {"the key"}
   */
  keyId?: string;
}

function usable(
  entry: SigningAlgorithmEntry,
  options: ChooseAlgorithmOptions,
): boolean {
  if (options.allowed && !options.allowed.includes(entry.signingAlgorithm)) {
    return false;
  }
  if (options.purpose === "x509") return entry.signatureOid !== null;
  if (options.purpose === "jws" || options.purpose === "jwk") {
    return entry.jwsAlgorithm !== null;
  }
  return true;
}

function describe(
  entry: SigningAlgorithmEntry,
  purpose: ChooseAlgorithmOptions["purpose"],
) {
  return (purpose === "jws" || purpose === "jwk") && entry.jwsAlgorithm
    ? `${entry.jwsAlgorithm} (${entry.signingAlgorithm})`
    : entry.signingAlgorithm;
}

/**
 * Chooses the signing algorithm for a key spec: the requested one if the
 * key allows it, else the key spec's default. Names match in any case, and
 * the returned entry has the canonical ones (`es256` gives `ES256`).
 *
 * @param keySpec The KMS `KeySpec`.
 * @param options The requested algorithm and the allowed list.
 * @returns The table entry of the chosen algorithm.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when the key cannot use the
 * requested algorithm; the message lists the ones it allows.
 *
 * @example
 * ```ts
 * import { chooseSigningAlgorithm } from "./algorithms.ts";
 * import assert from "node:assert/strict";
 *
 * const entry = chooseSigningAlgorithm("RSA_2048", { requested: "PS256" });
 * assert.equal(entry.signingAlgorithm, "RSASSA_PSS_SHA_256");
 * assert.equal(chooseSigningAlgorithm("ECC_NIST_P256", { requested: "es256" }).jwsAlgorithm, "ES256");
 * ```
 */
export function chooseSigningAlgorithm(
  keySpec: string,
  options: ChooseAlgorithmOptions = {},
): SigningAlgorithmEntry {
  const keyId = options.keyId ?? "the key";
  const spec = keySpecEntry(keySpec, keyId);
  const candidates = spec.algorithms.filter((entry) => usable(entry, options));
  const allowedText = candidates.map((entry) =>
    describe(entry, options.purpose)
  )
    .join(", ");

  // A JWK only names the algorithm that verifiers are to use.
  const verb = options.purpose === "jwk" ? "use" : "sign with";
  if (options.requested === undefined) {
    const first = candidates[0];
    if (first) return first;
    throw new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot ${verb} key '${keyId}' (${keySpec}): KMS allows none of the ` +
        "algorithms this toolkit can use for it.",
    );
  }

  const requested = options.requested;
  const upper = requested.toUpperCase();
  const match = spec.algorithms.find((entry) =>
    entry.signingAlgorithm === upper ||
    entry.jwsAlgorithm?.toUpperCase() === upper
  );
  if (match && candidates.includes(match)) return match;

  const using = options.purpose === "jwk" ? "with alg" : "using";
  throw new KmsToolkitError(
    "UNSUPPORTED_KEY",
    `Cannot ${verb} key '${keyId}' (${keySpec}) ${using} '${requested}': ` +
      `the key allows ${allowedText || "no usable algorithm"}. ` +
      "Pass one of those, or use another key.",
  );
}

function hashIdentifier(hash: HashName): Uint8Array {
  // RFC 4055 section 2.1 defines sha256Identifier and its siblings with
  // NULL parameters, which is what RSASSA-PSS-params carry in practice.
  return encodeSequence(encodeOid(HASH_OID[hash]), encodeNull());
}

/**
 * Encodes the X.509 signature `AlgorithmIdentifier` for an algorithm.
 *
 * ```asn1
 * AlgorithmIdentifier ::= SEQUENCE {
 *   algorithm   OBJECT IDENTIFIER,
 *   parameters  ANY DEFINED BY algorithm OPTIONAL }
 * RSASSA-PSS-params ::= SEQUENCE {
 *   hashAlgorithm      [0] HashAlgorithm DEFAULT sha1,
 *   maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
 *   saltLength         [2] INTEGER DEFAULT 20,
 *   trailerField       [3] TrailerField DEFAULT trailerFieldBC }
 * ```
 *
 * RSA PKCS#1 v1.5 carries NULL parameters (RFC 4055 section 5), ECDSA,
 * Ed25519 and ML-DSA none, and RSASSA-PSS its hash, MGF1 with the same
 * hash and a salt as long as the hash, as KMS signs.
 *
 * @param entry The chosen algorithm.
 * @returns The DER `AlgorithmIdentifier`.
 * @throws {KmsToolkitError} `UNSUPPORTED_KEY` when the algorithm has no OID.
 *
 * @example
 * ```ts
 * import { chooseSigningAlgorithm, signatureAlgorithmIdentifier } from "./algorithms.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const entry = chooseSigningAlgorithm("RSA_2048");
 * assert.equal(toHex(signatureAlgorithmIdentifier(entry)), "300d06092a864886f70d01010b0500");
 * ```
 */
export function signatureAlgorithmIdentifier(
  entry: SigningAlgorithmEntry,
): Uint8Array {
  const oid = entry.signatureOid;
  if (oid === null) {
    throw new KmsToolkitError(
      "UNSUPPORTED_KEY",
      `Cannot use ${entry.signingAlgorithm} in a certificate or CSR: it has ` +
        "no X.509 algorithm identifier.",
    );
  }

  if (oid === SignatureOid.idRsassaPss) {
    const hash = entry.hash!;
    const params = encodeSequence(
      encodeContext(0, hashIdentifier(hash)),
      encodeContext(
        1,
        encodeSequence(encodeOid(SignatureOid.idMgf1), hashIdentifier(hash)),
      ),
      encodeContext(2, encodeInteger(DIGEST_LENGTH[hash])),
    );
    return encodeSequence(encodeOid(oid), params);
  }
  if (entry.signingAlgorithm.startsWith("RSASSA_PKCS1")) {
    return encodeSequence(encodeOid(oid), encodeNull());
  }
  return encodeSequence(encodeOid(oid));
}
