import assert from "node:assert/strict";
import {
  chooseSigningAlgorithm,
  DIGEST_LENGTH,
  type SigningAlgorithmEntry,
} from "../lib/algorithms.ts";
import {
  createCsr,
  encodeCertificationRequestInfo,
  parseCsr,
} from "../lib/csr.ts";
import {
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  readChildren,
  readDer,
  Tag,
  toHex,
} from "../lib/der.ts";
import { joseToDerSignature } from "../lib/ecdsa_signature.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { encodePem } from "../lib/pem.ts";
import type { SigningKey } from "../lib/signing_key.ts";
import { openssl, tempDir } from "./_helpers.ts";

/** Creates a WebCrypto key pair behind the SigningKey interface. */
async function localKey(
  keyType: "RSA" | "P-256" | "P-384" | "Ed25519",
): Promise<SigningKey & { pair: CryptoKeyPair }> {
  const generate = keyType === "RSA"
    ? {
      name: "RSA-PSS",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    }
    : keyType === "Ed25519"
    ? { name: "Ed25519" }
    : { name: "ECDSA", namedCurve: keyType };
  const pair = await crypto.subtle.generateKey(generate, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const publicKey = new Uint8Array(
    await crypto.subtle.exportKey("spki", pair.publicKey),
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);

  async function sign(data: Uint8Array, algorithm: SigningAlgorithmEntry) {
    const name = algorithm.signingAlgorithm;
    if (name.startsWith("RSASSA_PKCS1")) {
      const key = await crypto.subtle.importKey(
        "pkcs8",
        pkcs8,
        {
          name: "RSASSA-PKCS1-v1_5",
          hash: algorithm.hash!,
        },
        false,
        ["sign"],
      );
      return new Uint8Array(
        await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data.slice()),
      );
    }
    if (name.startsWith("RSASSA_PSS")) {
      const key = await crypto.subtle.importKey(
        "pkcs8",
        pkcs8,
        {
          name: "RSA-PSS",
          hash: algorithm.hash!,
        },
        false,
        ["sign"],
      );
      return new Uint8Array(
        await crypto.subtle.sign(
          { name: "RSA-PSS", saltLength: DIGEST_LENGTH[algorithm.hash!] },
          key,
          data.slice(),
        ),
      );
    }
    if (name.startsWith("ECDSA")) {
      const raw = await crypto.subtle.sign(
        { name: "ECDSA", hash: algorithm.hash! },
        pair.privateKey,
        data.slice(),
      );
      return joseToDerSignature(new Uint8Array(raw));
    }
    return new Uint8Array(
      await crypto.subtle.sign("Ed25519", pair.privateKey, data.slice()),
    );
  }

  return { keyId: `local-${keyType}`, publicKey, sign, pair };
}

function commonName(value: string): Uint8Array {
  return encodeSequence(
    encodeSetOf([
      encodeSequence(encodeOid("2.5.4.3"), encodeString(Tag.UTF8String, value)),
    ]),
  );
}

Deno.test("encodeCertificationRequestInfo places each field", () => {
  const spki = Uint8Array.of(0x30, 0x00);
  const subject = commonName("a");
  const extensions = encodeSequence(
    encodeSequence(
      encodeOid("2.5.29.19"),
      Uint8Array.of(0x04, 0x02, 0x30, 0x00),
    ),
  );
  const info = encodeCertificationRequestInfo(spki, { subject, extensions });
  const [version, name, key, attributes] = readChildren(readDer(info));
  assert.equal(toHex(version!.encoded), "020100");
  assert.deepEqual(name!.encoded, subject);
  assert.deepEqual(key!.encoded, spki);
  assert.equal(attributes!.tag, 0xa0);
  // One extensionRequest attribute whose single value is the Extensions.
  const [attribute] = readChildren(attributes!);
  const [type, values] = readChildren(attribute!);
  assert.equal(toHex(type!.encoded), "06092a864886f70d01090e");
  assert.deepEqual(readChildren(values!)[0]!.encoded, extensions);
});

Deno.test("createCsr output verifies in OpenSSL", async (t) => {
  await using dir = await tempDir();
  const cases = [
    { keyType: "RSA", requested: "RS256" },
    { keyType: "RSA", requested: "RS512" },
    { keyType: "RSA", requested: "PS256" },
    { keyType: "RSA", requested: "PS384" },
    { keyType: "P-256", requested: "ES256" },
    { keyType: "P-384", requested: "ES384" },
    { keyType: "Ed25519", requested: "EdDSA" },
  ] as const;
  const keySpec = {
    RSA: "RSA_2048",
    "P-256": "ECC_NIST_P256",
    "P-384": "ECC_NIST_P384",
    Ed25519: "ECC_NIST_EDWARDS25519",
  } as const;

  for (const testCase of cases) {
    await t.step(`${testCase.keyType} ${testCase.requested}`, async () => {
      const key = await localKey(testCase.keyType);
      const algorithm = chooseSigningAlgorithm(keySpec[testCase.keyType], {
        requested: testCase.requested,
      });
      const csr = await createCsr(key, {
        algorithm,
        subject: commonName("svc.example.com"),
      });

      const path = `${dir.path}/${testCase.requested}.csr`;
      await Deno.writeTextFile(path, encodePem("CERTIFICATE REQUEST", csr.der));
      const result = await openssl([
        "req",
        "-in",
        path,
        "-verify",
        "-noout",
        "-subject",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr + result.stdout, /verify OK/i);
      assert.match(result.stdout, /CN ?= ?svc\.example\.com/);

      const parsed = parseCsr(csr.der);
      assert.deepEqual(parsed.info, csr.info);
      assert.deepEqual(parsed.signature, csr.signature);
      assert.deepEqual(parsed.spki, key.publicKey);
    });
  }
});

Deno.test("createCsr rejects a signature from another key", async () => {
  const key = await localKey("P-256");
  const other = await localKey("P-256");
  const algorithm = chooseSigningAlgorithm("ECC_NIST_P256");
  const mismatched: SigningKey = { ...key, sign: other.sign };
  await assert.rejects(
    createCsr(mismatched, { algorithm, subject: commonName("a") }),
    (error) =>
      error instanceof KmsToolkitError && error.code === "VERIFY_FAILED" &&
      /ECDSA_SHA_256 signature from KMS key 'local-P-256' does not verify/
        .test(error.message),
  );
});

Deno.test("parseCsr reads an OpenSSL request", async () => {
  await using dir = await tempDir();
  const made = await openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${dir.path}/key.pem`,
    "-subj",
    "/CN=openssl.example.com",
    "-addext",
    "subjectAltName=DNS:a.example.com",
    "-outform",
    "DER",
    "-out",
    `${dir.path}/req.der`,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const parsed = parseCsr(
    await Deno.readFile(`${dir.path}/req.der`),
    "req.der",
  );
  assert.equal(parsed.signatureAlgorithmOid, "1.2.840.10045.4.3.2");
  assert.equal(parsed.attributes.length, 1);
  assert.ok(parsed.extensions);
  assert.match(
    new TextDecoder().decode(parsed.subject),
    /openssl\.example\.com/,
  );
});

Deno.test("parseCsr rejects malformed input", () => {
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(0x30, 0x00), /missing CertificationRequestInfo/],
    [Uint8Array.of(0x02, 0x01, 0x00), /expected tag 0x30/],
    [
      encodeSequence(
        encodeSequence(
          Uint8Array.of(0x02, 0x01, 0x01),
          commonName("a"),
          Uint8Array.of(0x30, 0),
          Uint8Array.of(0xa0, 0),
        ),
        encodeSequence(encodeOid("1.2.840.10045.4.3.2")),
        Uint8Array.of(0x03, 0x01, 0x00),
      ),
      /version is not v1/,
    ],
  ];
  for (const [der, message] of cases) {
    assert.throws(
      () => parseCsr(der, "bad.csr"),
      (error) =>
        error instanceof KmsToolkitError && message.test(error.message),
      String(message),
    );
  }
});
