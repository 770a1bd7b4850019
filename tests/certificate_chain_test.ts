import "reflect-metadata";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import * as x509 from "@peculiar/x509";
import {
  certificateMembers,
  checkLeafKey,
  parseCertificateChain,
} from "../lib/certificate_chain.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { encodePem } from "../lib/pem.ts";
import { openssl, tempDir } from "./_helpers.ts";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ]) as Promise<CryptoKeyPair>;
}

async function spkiOf(keys: CryptoKeyPair): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
}

interface Issued {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
}

/** Makes root, intermediate and leaf certificates with @peculiar/x509. */
async function makeChain(): Promise<Issued[]> {
  const rootKeys = await generateKeys();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=Test Root,O=Example",
    keys: rootKeys,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date("2024-01-01T00:00:00Z"),
    notAfter: new Date("2051-06-01T12:30:45Z"),
    extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
  });
  const issue = async (
    subject: string,
    issuer: Issued,
    notAfter: Date,
  ): Promise<Issued> => {
    const keys = await generateKeys();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: "7f01",
      subject,
      issuer: issuer.certificate.subject,
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: ALGORITHM,
      notBefore: new Date("2025-03-04T05:06:07Z"),
      notAfter,
    });
    return { certificate, keys };
  };
  const rootIssued = { certificate: root, keys: rootKeys };
  const intermediate = await issue(
    "CN=Test Intermediate",
    rootIssued,
    new Date("2049-12-31T23:59:59Z"),
  );
  const leaf = await issue(
    "CN=signer",
    intermediate,
    new Date("2026-02-03T04:05:06Z"),
  );
  return [leaf, intermediate, rootIssued];
}

function pemOf(chain: Issued[]): Uint8Array {
  return new TextEncoder().encode(
    chain.map(({ certificate }) => certificate.toString("pem")).join("\n"),
  );
}

function derOf(issued: Issued): Uint8Array {
  return new Uint8Array(issued.certificate.rawData);
}

function assertInvalid(error: unknown, message: string | RegExp): true {
  assert.ok(error instanceof KmsToolkitError, String(error));
  assert.equal(error.code, "INVALID_INPUT");
  if (typeof message === "string") {
    assert.ok(error.message.includes(message), error.message);
  } else {
    assert.match(error.message, message);
  }
  return true;
}

Deno.test("parseCertificateChain PEM chain", async () => {
  const issued = await makeChain();
  const chain = parseCertificateChain(pemOf(issued));
  assert.equal(chain.length, 3);
  for (const [index, certificate] of chain.entries()) {
    const expected = issued[index]!;
    assert.deepEqual(certificate.der, derOf(expected));
    assert.deepEqual(certificate.spki, await spkiOf(expected.keys));
    assert.deepEqual(
      certificate.subject,
      new Uint8Array(expected.certificate.subjectName.toArrayBuffer()),
    );
    assert.deepEqual(
      certificate.issuer,
      new Uint8Array(expected.certificate.issuerName.toArrayBuffer()),
    );
  }
  // UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280).
  assert.equal(chain[0]!.notBefore.toISOString(), "2025-03-04T05:06:07.000Z");
  assert.equal(chain[0]!.notAfter.toISOString(), "2026-02-03T04:05:06.000Z");
  assert.equal(chain[1]!.notAfter.toISOString(), "2049-12-31T23:59:59.000Z");
  assert.equal(chain[2]!.notAfter.toISOString(), "2051-06-01T12:30:45.000Z");
});

Deno.test("parseCertificateChain DER and OpenSSL v1", async () => {
  const [leaf] = await makeChain();
  const [single] = parseCertificateChain(derOf(leaf!));
  assert.deepEqual(single!.spki, await spkiOf(leaf!.keys));

  // A v1 certificate has no version field; OpenSSL 3.0 makes one with
  // `x509 -req` and no extensions.
  await using dir = await tempDir();
  const key = `${dir.path}/key.pem`;
  const csr = `${dir.path}/req.csr`;
  const cert = `${dir.path}/v1.pem`;
  for (
    const args of [
      ["genpkey", "-algorithm", "ED25519", "-out", key],
      ["req", "-new", "-key", key, "-subj", "/CN=v1 cert", "-out", csr],
      ["x509", "-req", "-in", csr, "-signkey", key, "-days", "2", "-out", cert],
    ]
  ) {
    const result = await openssl(args);
    assert.equal(result.code, 0, result.stderr);
  }
  const text = await openssl(["x509", "-in", cert, "-noout", "-text"]);
  assert.match(text.stdout, /Version: 1 \(0x0\)/);
  const spki = await openssl([
    "pkey",
    "-in",
    key,
    "-pubout",
    "-outform",
    "DER",
  ]);
  const [v1] = parseCertificateChain(await Deno.readFile(cert));
  assert.deepEqual(v1!.spki, spki.stdoutBytes);
  assert.deepEqual(v1!.subject, v1!.issuer);
});

Deno.test("parseCertificateChain rejects other PEM", async () => {
  const [leaf, intermediate] = await makeChain();
  const leafPem = leaf!.certificate.toString("pem");
  const block = (label: string) =>
    `-----BEGIN ${label}-----\nMAA=\n-----END ${label}-----\n`;
  const cases: [string, string][] = [
    ["", "it contains no PEM block"],
    ["not a certificate\n", "it contains no PEM block"],
    [block("PUBLIC KEY"), "PEM block 1 is 'PUBLIC KEY'"],
    [`${leafPem}\n${block("PRIVATE KEY")}`, "PEM block 2 is 'PRIVATE KEY'"],
    [block("CERTIFICATE REQUEST"), "PEM block 1 is 'CERTIFICATE REQUEST'"],
    [block("TRUSTED CERTIFICATE"), "PEM block 1 is 'TRUSTED CERTIFICATE'"],
    [
      `${intermediate!.certificate.toString("pem")}\n${leafPem}`,
      "certificate 2 is not the issuer of certificate 1",
    ],
    [
      `${leafPem}\n${leafPem}`,
      "certificate 2 is not the issuer of certificate 1",
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () =>
        parseCertificateChain(new TextEncoder().encode(text), {
          source: "chain.pem",
        }),
      (error) =>
        assertInvalid(
          error,
          `Cannot read certificates from 'chain.pem': ${message}. Pass a PEM`,
        ),
      message,
    );
  }
});

/** Replaces the first occurrence of the ASCII text `from` with `to`. */
function patch(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const search = new TextEncoder().encode(from);
  const index = bytes.findIndex((_, start) =>
    search.every((byte, offset) => bytes[start + offset] === byte)
  );
  assert.ok(index >= 0, `no ${from} in the certificate`);
  const patched = bytes.slice();
  patched.set(new TextEncoder().encode(to), index);
  return patched;
}

Deno.test("parseCertificateChain rejects malformed DER", async () => {
  const [leaf] = await makeChain();
  const der = derOf(leaf!);
  const notCertificate = encodePem(
    "CERTIFICATE",
    Uint8Array.of(0x02, 0x01, 0x05),
  );
  const cases: [Uint8Array, string | RegExp][] = [
    [der.subarray(0, der.length - 1), /not an X\.509 certificate \(.*end/],
    [
      new Uint8Array([...der, 0]),
      "not an X.509 certificate (trailing bytes after the value)",
    ],
    [
      new Uint8Array([...der, ...der]),
      "not an X.509 certificate (trailing bytes after the value)",
    ],
    [
      Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x05),
      "expected SEQUENCE { TBSCertificate, AlgorithmIdentifier, BIT STRING }",
    ],
    [
      new TextEncoder().encode(notCertificate),
      "certificate 1 is not an X.509 certificate (expected tag 0x30, found 0x2)",
    ],
    // Month 13 and hour 24 are not times.
    [patch(der, "250304", "251304"), "Validity is not two UTCTime"],
    [patch(der, "260203040506Z", "260203240506Z"), "Validity is not two"],
    [patch(der, "260203040506Z", "2602030405Z56"), "Validity is not two"],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => parseCertificateChain(bytes, { source: "leaf.der" }),
      (error) => assertInvalid(error, message),
      String(message),
    );
  }
});

Deno.test("checkLeafKey compares SPKI bytes", async () => {
  const issued = await makeChain();
  const chain = parseCertificateChain(pemOf(issued));
  const leafSpki = await spkiOf(issued[0]!.keys);
  await checkLeafKey(chain, leafSpki);

  // The intermediate's key is not the leaf's.
  const otherSpki = await spkiOf(issued[1]!.keys);
  await assert.rejects(
    checkLeafKey(chain, otherSpki, {
      source: "chain.pem",
      keyName: "KMS key 'alias/next'",
    }),
    (error) =>
      assertInvalid(
        error,
        "Cannot use certificate 'chain.pem' for KMS key 'alias/next': the " +
          "leaf certifies another public key (leaf SPKI SHA-256 " +
          `${sha256(leafSpki).toHex()}, key SPKI SHA-256 ` +
          `${sha256(otherSpki).toHex()}). Pass the certificate issued for`,
      ),
  );
  await assert.rejects(checkLeafKey([], leafSpki), RangeError);
});

Deno.test("certificateMembers encodings", async () => {
  const issued = await makeChain();
  const chain = parseCertificateChain(pemOf(issued));
  const members = await certificateMembers(chain);
  assert.deepEqual(Object.keys(members), ["x5c", "x5t#S256"]);
  assert.deepEqual(
    members.x5c,
    issued.map((entry) => btoa(String.fromCharCode(...derOf(entry)))),
  );
  const digest = sha256(derOf(issued[0]!));
  assert.equal(
    members["x5t#S256"],
    btoa(String.fromCharCode(...digest)).replace(/\+/g, "-")
      .replace(/\//g, "_").replace(/=+$/, ""),
  );
  // x5c keeps padding and the standard alphabet.
  const padded = await certificateMembers([{ der: Uint8Array.of(0xfb, 0xef) }]);
  assert.deepEqual(padded.x5c, ["++8="]);
  await assert.rejects(certificateMembers([]), RangeError);
});
