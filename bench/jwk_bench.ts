/**
 * Benchmarks of the JWKS path without KMS: SPKI parsing and conversion to
 * a JWK, the RFC 7638 thumbprint, and the whole `publicJwkFor` for the key
 * types KMS returns most.
 *
 * Run: `deno bench bench/jwk_bench.ts`.
 *
 * @module
 */

import { jwkThumbprint, publicJwkFor, spkiToJwk } from "../lib/jwk.ts";
import { parseSpki } from "../lib/spki.ts";

async function spkiOf(
  params: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm,
): Promise<Uint8Array> {
  const keys = await crypto.subtle.generateKey(params, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
}

const KEYS: [string, Uint8Array][] = [
  ["P-256", await spkiOf({ name: "ECDSA", namedCurve: "P-256" })],
  ["P-384", await spkiOf({ name: "ECDSA", namedCurve: "P-384" })],
  [
    "RSA 2048",
    await spkiOf({
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-256",
    }),
  ],
  ["Ed25519", await spkiOf({ name: "Ed25519" })],
];

for (const [name, spki] of KEYS) {
  Deno.bench(`parseSpki, ${name}`, { group: "parseSpki" }, () => {
    parseSpki(spki);
  });
}

for (const [name, spki] of KEYS) {
  Deno.bench(`spkiToJwk, ${name}`, { group: "spkiToJwk" }, () => {
    spkiToJwk(spki);
  });
}

const p256Jwk = spkiToJwk(KEYS[0]![1]);
const rsaJwk = spkiToJwk(KEYS[2]![1]);

Deno.bench("jwkThumbprint, P-256", { group: "thumbprint" }, async () => {
  await jwkThumbprint(p256Jwk);
});

Deno.bench("jwkThumbprint, RSA 2048", { group: "thumbprint" }, async () => {
  await jwkThumbprint(rsaJwk);
});

for (const [name, spki] of KEYS) {
  Deno.bench(`publicJwkFor, ${name}`, { group: "publicJwkFor" }, async () => {
    await publicJwkFor(spki);
  });
}
