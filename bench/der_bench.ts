/**
 * Benchmarks of the DER reader and writer on a real request: the strict
 * `parseCsr`, name decoding and formatting, and the small encoders every
 * request is built from.
 *
 * Run: `deno bench bench/der_bench.ts`.
 *
 * @module
 */

import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import { createCsr, parseCsr } from "../lib/csr.ts";
import {
  encodeInteger,
  encodeOid,
  encodeSequence,
  encodeString,
  readChildren,
  readDer,
  Tag,
} from "../lib/der.ts";
import { decodeName, formatSubject, parseSubject } from "../lib/subject.ts";

const keys = await crypto.subtle.generateKey(
  { name: "Ed25519" },
  true,
  ["sign", "verify"],
) as CryptoKeyPair;
const csr = await createCsr({
  keyId: "local",
  publicKey: new Uint8Array(
    await crypto.subtle.exportKey("spki", keys.publicKey),
  ),
  sign: async (data) =>
    new Uint8Array(
      await crypto.subtle.sign("Ed25519", keys.privateKey, data.slice()),
    ),
}, {
  algorithm: chooseSigningAlgorithm("ECC_NIST_EDWARDS25519"),
  subject: parseSubject(
    "/C=US/ST=Washington/O=Example Corp/OU=Platform/CN=svc.example.com",
  ).der,
});
const parsed = parseCsr(csr.der);

Deno.bench("parseCsr", { group: "read" }, () => {
  parseCsr(csr.der);
});

Deno.bench("readDer and readChildren, whole request", {
  group: "read",
}, () => {
  const walk = (bytes: Uint8Array) => {
    const tlv = readDer(bytes);
    if (tlv.tag === Tag.SEQUENCE || tlv.tag === Tag.SET) {
      for (const child of readChildren(tlv)) walk(child.encoded);
    }
  };
  walk(csr.der);
});

Deno.bench("decodeName and formatSubject", { group: "read" }, () => {
  formatSubject(decodeName(parsed.subject));
});

Deno.bench("encodeOid", { group: "write" }, () => {
  encodeOid("1.2.840.113549.1.9.14");
});

Deno.bench("encodeInteger, 128-bit serial", { group: "write" }, () => {
  encodeInteger(0x7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1en);
});

Deno.bench("encodeSequence of ten strings", { group: "write" }, () => {
  encodeSequence(
    ...Array.from(
      { length: 10 },
      (_, i) => encodeString(Tag.UTF8String, `value ${i}`),
    ),
  );
});
