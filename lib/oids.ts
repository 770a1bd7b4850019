/**
 * Object identifiers used by the CSR, certificate and key code, named after
 * their ASN.1 identifiers.
 *
 * @module
 */

/** Public key algorithms (RFC 3279, RFC 5480, RFC 8410, RFC 9881). */
export const KeyAlgorithmOid = {
  /** `rsaEncryption ::= { pkcs-1 1 }` */
  rsaEncryption: "1.2.840.113549.1.1.1",
  /** `id-ecPublicKey ::= { ansi-X9-62 keyType(2) 1 }` */
  idEcPublicKey: "1.2.840.10045.2.1",
  /** `id-Ed25519 ::= { 1 3 101 112 }` */
  idEd25519: "1.3.101.112",
  /** `id-ml-dsa-44 ::= { sigAlgs 17 }` */
  idMlDsa44: "2.16.840.1.101.3.4.3.17",
  /** `id-ml-dsa-65 ::= { sigAlgs 18 }` */
  idMlDsa65: "2.16.840.1.101.3.4.3.18",
  /** `id-ml-dsa-87 ::= { sigAlgs 19 }` */
  idMlDsa87: "2.16.840.1.101.3.4.3.19",
  /** `id-sm2 ::= { 1 2 156 10197 1 301 }` */
  sm2: "1.2.156.10197.1.301",
} as const;

/** Named curves of `ECParameters` (RFC 5480 section 2.1.1.1, SEC 2). */
export const CurveOid = {
  /** `secp256r1 ::= { ansi-X9-62 curves(3) prime(1) 7 }` */
  secp256r1: "1.2.840.10045.3.1.7",
  /** `secp384r1 ::= { certicom-arc curve(0) 34 }` */
  secp384r1: "1.3.132.0.34",
  /** `secp521r1 ::= { certicom-arc curve(0) 35 }` */
  secp521r1: "1.3.132.0.35",
  /** `secp256k1 ::= { certicom-arc curve(0) 10 }` */
  secp256k1: "1.3.132.0.10",
} as const;

/** Signature algorithms (RFC 4055, RFC 5758, RFC 8410, RFC 9881). */
export const SignatureOid = {
  /** `sha256WithRSAEncryption ::= { pkcs-1 11 }` */
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  /** `sha384WithRSAEncryption ::= { pkcs-1 12 }` */
  sha384WithRSAEncryption: "1.2.840.113549.1.1.12",
  /** `sha512WithRSAEncryption ::= { pkcs-1 13 }` */
  sha512WithRSAEncryption: "1.2.840.113549.1.1.13",
  /** `id-RSASSA-PSS ::= { pkcs-1 10 }` */
  idRsassaPss: "1.2.840.113549.1.1.10",
  /** `id-mgf1 ::= { pkcs-1 8 }` */
  idMgf1: "1.2.840.113549.1.1.8",
  /** `ecdsa-with-SHA256 ::= { ecdsa-with-SHA2(3) 2 }` */
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  /** `ecdsa-with-SHA384 ::= { ecdsa-with-SHA2(3) 3 }` */
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  /** `ecdsa-with-SHA512 ::= { ecdsa-with-SHA2(3) 4 }` */
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
} as const;

/** Hash algorithms (RFC 4055 section 2.1). */
export const HashOid = {
  /** `id-sha256 ::= { hashAlgs 1 }` */
  idSha256: "2.16.840.1.101.3.4.2.1",
  /** `id-sha384 ::= { hashAlgs 2 }` */
  idSha384: "2.16.840.1.101.3.4.2.2",
  /** `id-sha512 ::= { hashAlgs 3 }` */
  idSha512: "2.16.840.1.101.3.4.2.3",
} as const;

/** PKCS#9 attributes used in requests (RFC 2985). */
export const Pkcs9Oid = {
  /** `pkcs-9-at-emailAddress ::= { pkcs-9 1 }` */
  emailAddress: "1.2.840.113549.1.9.1",
  /** `pkcs-9-at-challengePassword ::= { pkcs-9 7 }` */
  challengePassword: "1.2.840.113549.1.9.7",
  /** `pkcs-9-at-extensionRequest ::= { pkcs-9 14 }` */
  extensionRequest: "1.2.840.113549.1.9.14",
} as const;
