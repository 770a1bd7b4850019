/**
 * The toolkit's library for code that signs with keys held in AWS KMS:
 * the KMS key wrapper, the JWT signer and its claim builders, the JWK
 * conversion, and the CSR and certificate builders. Each module of `lib/`
 * can also be imported on its own.
 *
 * @example Sign a client assertion with a key on a local KMS endpoint
 * ```ts
 * import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
 * import { clientAssertionClaims, KmsJwtSigner, verifyJwt } from "./mod.ts";
 * import { startLocalKms } from "./local_kms/mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using kms = await startLocalKms();
 * const client = new KMSClient({
 *   endpoint: kms.url,
 *   region: "us-east-1",
 *   credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
 * });
 * const { KeyMetadata } = await client.send(
 *   new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }),
 * );
 * const signer = await KmsJwtSigner.create(client, KeyMetadata!.KeyId!);
 * const token = await signer.sign(clientAssertionClaims({
 *   clientId: "client-1",
 *   tokenEndpoint: "https://example.okta.com/oauth2/v1/token",
 * }));
 * const { header } = await verifyJwt(token, { jwks: { keys: [signer.jwk] } });
 * assert.equal(header.kid, signer.kid);
 * client.destroy();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./kms_client.ts";
export * from "./kms_key.ts";
export * from "./signing_key.ts";
export * from "./algorithms.ts";
export * from "./jwt.ts";
export * from "./jwt_claims.ts";
export * from "./jwt_verify.ts";
export * from "./jwk.ts";
export * from "./csr.ts";
export * from "./certificate.ts";
export type { Extension } from "./extensions.ts";
export * from "./subject.ts";
export * from "./ecdsa_signature.ts";
export * from "./verify.ts";
