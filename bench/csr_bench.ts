/**
 * Benchmarks of the local work behind a CSR: parsing the subject and the
 * requested extensions, encoding the request info, PEM, and a whole CSR
 * signed with a local WebCrypto key. The KMS round trips of the real
 * command are NOT included; `bench/run_benchmarks.ts` measures those.
 *
 * Run: `deno bench --allow-read bench/csr_bench.ts`.
 *
 * @module
 */

import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import { createCsr, encodeCertificationRequestInfo } from "../lib/csr.ts";
import { encodeExtensions } from "../lib/extensions.ts";
import { encodePem } from "../lib/pem.ts";
import {
  buildRequestedExtensions,
  parseExtensionRequest,
} from "../lib/request_extensions.ts";
import type { SigningKey } from "../lib/signing_key.ts";
import { parseSubject } from "../lib/subject.ts";

const OPENSSL_SUBJECT =
  "/C=US/ST=Washington/L=Seattle/O=Example Corp/OU=Platform/CN=svc.example.com";
const RFC4514_SUBJECT =
  "CN=svc.example.com,OU=Platform,O=Example Corp,L=Seattle,ST=Washington,C=US";
const REQUEST = {
  subjectAltNames: ["DNS:svc.example.com,DNS:*.svc.example.com,IP:192.0.2.1"],
  keyUsage: ["digitalSignature"],
  extendedKeyUsage: ["serverAuth,clientAuth"],
};

async function localKey(
  params: RsaHashedKeyGenParams | EcKeyGenParams,
  sign: AlgorithmIdentifier | EcdsaParams,
): Promise<SigningKey> {
  const keys = await crypto.subtle.generateKey(params, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(
    await crypto.subtle.exportKey("spki", keys.publicKey),
  );
  const der = params.name === "ECDSA";
  return {
    keyId: "local",
    publicKey: spki,
    async sign(data) {
      const signature = new Uint8Array(
        await crypto.subtle.sign(sign, keys.privateKey, data.slice()),
      );
      return der ? rawToDer(signature) : signature;
    },
  };
}

/** Turns WebCrypto's r || s into the DER that KMS returns. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    return trimmed[0]! & 0x80
      ? Uint8Array.of(0x02, trimmed.length + 1, 0, ...trimmed)
      : Uint8Array.of(0x02, trimmed.length, ...trimmed);
  };
  const r = integer(raw.subarray(0, half));
  const s = integer(raw.subarray(half));
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

const p256 = await localKey(
  { name: "ECDSA", namedCurve: "P-256" },
  { name: "ECDSA", hash: "SHA-256" },
);
const rsa = await localKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: Uint8Array.of(1, 0, 1),
    hash: "SHA-256",
  },
  { name: "RSASSA-PKCS1-v1_5" },
);
const subject = parseSubject(OPENSSL_SUBJECT).der;
const extensions = encodeExtensions(
  buildRequestedExtensions(parseExtensionRequest(REQUEST), {
    keyType: "EC",
    emptySubject: false,
  }),
);
const info = encodeCertificationRequestInfo(p256.publicKey, {
  subject,
  extensions,
});

Deno.bench("parseSubject, OpenSSL form", { group: "parse" }, () => {
  parseSubject(OPENSSL_SUBJECT);
});

Deno.bench("parseSubject, RFC 4514 form", { group: "parse" }, () => {
  parseSubject(RFC4514_SUBJECT);
});

Deno.bench("extensions: parse, build, encode", { group: "parse" }, () => {
  encodeExtensions(
    buildRequestedExtensions(parseExtensionRequest(REQUEST), {
      keyType: "EC",
      emptySubject: false,
    }),
  );
});

Deno.bench("encodeCertificationRequestInfo, P-256", {
  group: "encode",
}, () => {
  encodeCertificationRequestInfo(p256.publicKey, { subject, extensions });
});

Deno.bench("encodePem, request info", { group: "encode" }, () => {
  encodePem("CERTIFICATE REQUEST", info);
});

Deno.bench("createCsr, local P-256 key (excludes KMS)", {
  group: "createCsr",
  baseline: true,
}, async () => {
  await createCsr(p256, {
    algorithm: chooseSigningAlgorithm("ECC_NIST_P256"),
    subject,
    extensions,
  });
});

Deno.bench("createCsr, local RSA 2048 key (excludes KMS)", {
  group: "createCsr",
}, async () => {
  await createCsr(rsa, {
    algorithm: chooseSigningAlgorithm("RSA_2048"),
    subject,
    extensions,
  });
});
