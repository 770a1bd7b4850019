import "reflect-metadata";
import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import { createSelfSignedCertificate } from "../lib/certificate.ts";
import { joseToDerSignature } from "../lib/ecdsa_signature.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { basicConstraintsExtension } from "../lib/extensions.ts";
import { parseSubject } from "../lib/subject.ts";
import type { SigningKey } from "../lib/signing_key.ts";

async function localP256(): Promise<SigningKey & { pair: CryptoKeyPair }> {
  const pair = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  return {
    keyId: "local-p256",
    pair,
    publicKey: new Uint8Array(
      await crypto.subtle.exportKey("spki", pair.publicKey),
    ),
    sign: async (data) =>
      joseToDerSignature(
        new Uint8Array(
          await crypto.subtle.sign(
            { name: "ECDSA", hash: "SHA-256" },
            pair.privateKey,
            data.slice(),
          ),
        ),
      ),
  };
}

Deno.test("createSelfSignedCertificate parses in @peculiar/x509", async () => {
  const key = await localP256();
  const notBefore = new Date("2026-01-02T03:04:05.678Z");
  const certificate = await createSelfSignedCertificate(key, {
    algorithm: chooseSigningAlgorithm("ECC_NIST_P256"),
    subject: parseSubject("/O=Example Corp/CN=test.example.com").der,
    extensions: [basicConstraintsExtension({ ca: false })],
    days: 10,
    notBefore,
    serialNumber: Uint8Array.of(0x01, 0x02),
  });

  const parsed = new x509.X509Certificate(certificate.der.slice());
  assert.equal(parsed.subject, "O=Example Corp, CN=test.example.com");
  assert.equal(parsed.issuer, parsed.subject);
  assert.equal(parsed.serialNumber, "0102");
  // Validity is whole seconds.
  assert.equal(parsed.notBefore.toISOString(), "2026-01-02T03:04:05.000Z");
  assert.equal(parsed.notAfter.toISOString(), "2026-01-12T03:04:05.000Z");
  assert.ok(
    await parsed.verify({ publicKey: key.pair.publicKey, signatureOnly: true }),
  );
  const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension)!;
  const aki = parsed.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  assert.equal(aki.keyId, ski.keyId);
  assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)!.ca, false);
});

Deno.test("createSelfSignedCertificate uses random serials", async () => {
  const key = await localP256();
  const options = {
    algorithm: chooseSigningAlgorithm("ECC_NIST_P256"),
    subject: parseSubject("/CN=a").der,
  };
  const first = await createSelfSignedCertificate(key, options);
  const second = await createSelfSignedCertificate(key, options);
  assert.equal(first.serialNumber.length, 16);
  assert.ok((first.serialNumber[0]! & 0x80) === 0);
  assert.notDeepEqual(first.serialNumber, second.serialNumber);
  assert.equal(
    (first.notAfter.getTime() - first.notBefore.getTime()) / 86_400_000,
    365,
  );
});

Deno.test("createSelfSignedCertificate rejects bad input", async () => {
  const key = await localP256();
  const algorithm = chooseSigningAlgorithm("ECC_NIST_P256");
  const subject = parseSubject("/CN=a").der;
  for (const days of [0, 1.5, 36_501]) {
    await assert.rejects(
      createSelfSignedCertificate(key, { algorithm, subject, days }),
      RangeError,
      String(days),
    );
  }
  const other = await localP256();
  await assert.rejects(
    createSelfSignedCertificate({ ...key, sign: other.sign }, {
      algorithm,
      subject,
    }),
    (error) =>
      error instanceof KmsToolkitError && error.code === "VERIFY_FAILED",
  );
});
