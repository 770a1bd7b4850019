/**
 * Benchmarks of the JWT signer, run with
 * `deno bench -A bench/jwt_bench.ts`.
 *
 * - Group "local work": the signer's work per token without any KMS call.
 *   A local WebCrypto P-256 key replaces KMS, and its bare
 *   `crypto.subtle.sign` is measured next to it. A key that returns a fixed
 *   signature measures the signer's own work alone (JSON, base64url, DER
 *   to `r || s`).
 * - Group "16 in flight": tokens signed through the SDK against the local
 *   KMS endpoint on 127.0.0.1, which runs in this same process and so
 *   shares its cores. One iteration is 16 concurrent `sign` calls; tokens
 *   per second = 16 / the iteration time.
 *
 * @module
 */

import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import type { SigningAlgorithmEntry } from "../lib/algorithms.ts";
import { joseToDerSignature } from "../lib/ecdsa_signature.ts";
import { KmsJwtSigner } from "../lib/jwt.ts";
import { clientAssertionClaims } from "../lib/jwt_claims.ts";
import { startLocalKms } from "../lib/local_kms/mod.ts";
import type { SigningKey } from "../lib/signing_key.ts";

const IN_FLIGHT = 16;
const TOKEN_URL = "https://example.okta.com/oauth2/v1/token";

function claims() {
  return clientAssertionClaims({
    clientId: "0oa1example",
    tokenEndpoint: TOKEN_URL,
  });
}

const pair = await crypto.subtle.generateKey(
  { name: "ECDSA", namedCurve: "P-256" },
  true,
  ["sign", "verify"],
);
const spki = new Uint8Array(
  await crypto.subtle.exportKey("spki", pair.publicKey),
);
const ECDSA_P256 = { name: "ECDSA", hash: "SHA-256" };

/** A local P-256 key that returns DER signatures, as KMS does. */
const webCryptoKey: SigningKey = {
  keyId: "local-webcrypto-p256",
  publicKey: spki,
  async sign(data: Uint8Array, _algorithm: SigningAlgorithmEntry) {
    const raw = await crypto.subtle.sign(
      ECDSA_P256,
      pair.privateKey,
      data.slice(),
    );
    return joseToDerSignature(new Uint8Array(raw));
  },
};

const fixedSignature = await webCryptoKey.sign(
  new Uint8Array(1),
  undefined as never,
);
/** A key that returns one precomputed DER signature: signer overhead only. */
const fixedKey: SigningKey = {
  keyId: "fixed-signature",
  publicKey: spki,
  sign: () => Promise.resolve(fixedSignature),
};

const localSigner = await KmsJwtSigner.fromSigningKey(webCryptoKey);
// The fixed signature does not cover the tokens, so verification is off.
const overheadSigner = await KmsJwtSigner.fromSigningKey(fixedKey, {
  verifySignatures: false,
});
const sampleInput = new TextEncoder().encode(
  `${"a".repeat(100)}.${"b".repeat(300)}`,
);

Deno.bench({
  name: "WebCrypto P-256 sign alone (baseline, no JWT)",
  group: "local work",
  baseline: true,
  fn: async () => {
    await crypto.subtle.sign(ECDSA_P256, pair.privateKey, sampleInput);
  },
});

Deno.bench({
  name: "KmsJwtSigner.sign, local WebCrypto P-256 key (no KMS call)",
  group: "local work",
  fn: async () => {
    await localSigner.sign(claims());
  },
});

Deno.bench({
  name: "KmsJwtSigner.sign, fixed signature (signer overhead only)",
  group: "local work",
  fn: async () => {
    await overheadSigner.sign(claims());
  },
});

// The local KMS endpoint and SDK client live for the whole bench run.
const kms = await startLocalKms();
const client = new KMSClient({
  endpoint: kms.url,
  region: kms.region,
  credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
});

async function endpointSigner(keySpec: string): Promise<KmsJwtSigner> {
  const { KeyMetadata } = await client.send(
    new CreateKeyCommand({
      KeySpec: keySpec as never,
      KeyUsage: "SIGN_VERIFY",
    }),
  );
  return await KmsJwtSigner.create(client, KeyMetadata!.KeyId!);
}

const endpointSigners = {
  ES256: await endpointSigner("ECC_NIST_P256"),
  RS256: await endpointSigner("RSA_2048"),
};

for (const [alg, signer] of Object.entries(endpointSigners)) {
  Deno.bench({
    name: `${IN_FLIGHT} ${alg} tokens in flight, local KMS endpoint`,
    group: "16 in flight",
    fn: async () => {
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, () => signer.sign(claims())),
      );
    },
  });
}

Deno.bench({
  name: "1 ES256 token, local KMS endpoint (latency)",
  group: "16 in flight",
  fn: async () => {
    await endpointSigners.ES256.sign(claims());
  },
});

globalThis.addEventListener("unload", () => {
  client.destroy();
});
