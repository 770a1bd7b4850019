import assert from "node:assert/strict";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { parseCsr } from "../lib/csr.ts";
import { readChildren, readDer, toHex } from "../lib/der.ts";
import { decodePemBlocks } from "../lib/pem.ts";
import { parseSpki } from "../lib/spki.ts";
import { startEndpoint } from "./_endpoint.ts";
import { openssl, runScript, tempDir } from "./_helpers.ts";

/** RSASSA-PSS-params with SHA-2 hash `n` (1, 2, 3) and salt length `salt`. */
const pss = (n: string, salt: string) =>
  "304106092a864886f70d01010a3034a00f300d06096086480165030402" +
  `0${n}0500a11c301a06092a864886f70d010108300d06096086480165030402` +
  `0${n}0500a2030201${salt}`;

/** Every signing key spec and algorithm, with its exact AlgorithmIdentifier. */
const ROWS = [
  ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "300d06092a864886f70d01010b0500"],
  ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_384", "300d06092a864886f70d01010c0500"],
  ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", "300d06092a864886f70d01010d0500"],
  ["RSA_2048", "RSASSA_PSS_SHA_256", pss("1", "20")],
  ["RSA_2048", "RSASSA_PSS_SHA_384", pss("2", "30")],
  ["RSA_2048", "RSASSA_PSS_SHA_512", pss("3", "40")],
  ["RSA_3072", "RSASSA_PKCS1_V1_5_SHA_256", "300d06092a864886f70d01010b0500"],
  ["RSA_4096", "RSASSA_PSS_SHA_512", pss("3", "40")],
  ["ECC_NIST_P256", "ECDSA_SHA_256", "300a06082a8648ce3d040302"],
  ["ECC_NIST_P384", "ECDSA_SHA_384", "300a06082a8648ce3d040303"],
  ["ECC_NIST_P521", "ECDSA_SHA_512", "300a06082a8648ce3d040304"],
  ["ECC_SECG_P256K1", "ECDSA_SHA_256", "300a06082a8648ce3d040302"],
  ["ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "300506032b6570"],
  ["ML_DSA_44", "ML_DSA_SHAKE_256", "300b0609608648016503040311"],
  ["ML_DSA_65", "ML_DSA_SHAKE_256", "300b0609608648016503040312"],
  ["ML_DSA_87", "ML_DSA_SHAKE_256", "300b0609608648016503040313"],
] as const;

const ML_DSA = {
  "ML-DSA-44": ml_dsa44,
  "ML-DSA-65": ml_dsa65,
  "ML-DSA-87": ml_dsa87,
};

/** Splits a DER certificate into TBS, inner and outer algorithm, signature. */
function certificateParts(der: Uint8Array) {
  const [tbs, outerAlgorithm, signature] = readChildren(readDer(der));
  const tbsFields = readChildren(tbs!);
  return {
    tbs: tbs!.encoded,
    innerAlgorithm: tbsFields[2]!.encoded,
    outerAlgorithm: outerAlgorithm!.encoded,
    signature: signature!.contents.subarray(1),
    spki: tbsFields[6]!.encoded,
  };
}

Deno.test("kms_generate_csr covers every signing key spec", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const keys = new Map<string, { keyId: string; spki: Uint8Array }>();

  for (const [keySpec, signingAlgorithm, algorithmHex] of ROWS) {
    await t.step(`${keySpec} ${signingAlgorithm}`, async () => {
      if (!keys.has(keySpec)) {
        keys.set(keySpec, await endpoint.createKey(keySpec));
      }
      const key = keys.get(keySpec)!;
      const name = `${keySpec}_${signingAlgorithm}`;
      const common = [
        "--key-id",
        key.keyId,
        "--signing-algorithm",
        signingAlgorithm,
        "--subject",
        "/O=Example Corp/CN=svc.example.com",
        "--san",
        "DNS:svc.example.com",
        "--endpoint-url",
        endpoint.kms.url,
        "--quiet",
      ];

      // The request.
      const csrPath = `${dir.path}/${name}.csr`;
      const csrRun = await runScript("kms_generate_csr.ts", [
        ...common,
        "--out",
        csrPath,
      ]);
      assert.equal(csrRun.code, 0, csrRun.stderr);
      const csr = parseCsr(
        decodePemBlocks(await Deno.readTextFile(csrPath))[0]!.der,
      );
      assert.equal(toHex(csr.signatureAlgorithm), algorithmHex);
      assert.deepEqual(csr.spki, key.spki);

      // The self-signed certificate.
      const certPath = `${dir.path}/${name}.pem`;
      const certRun = await runScript("kms_generate_csr.ts", [
        ...common,
        "--self-signed",
        "--out",
        certPath,
      ]);
      assert.equal(certRun.code, 0, certRun.stderr);
      const cert = certificateParts(
        decodePemBlocks(await Deno.readTextFile(certPath))[0]!.der,
      );
      assert.equal(toHex(cert.innerAlgorithm), algorithmHex);
      assert.equal(toHex(cert.outerAlgorithm), algorithmHex);
      assert.deepEqual(cert.spki, key.spki);

      if (keySpec.startsWith("ML_DSA")) {
        // OpenSSL 3.0 has no ML-DSA: verify with noble's implementation.
        const parsed = parseSpki(key.spki);
        const scheme = ML_DSA[parsed.curve as keyof typeof ML_DSA];
        assert.ok(scheme.verify(csr.signature, csr.info, parsed.publicKey));
        assert.ok(scheme.verify(cert.signature, cert.tbs, parsed.publicKey));
        const tampered = csr.info.slice();
        tampered[tampered.length - 3]! ^= 1;
        assert.equal(
          scheme.verify(csr.signature, tampered, parsed.publicKey),
          false,
        );
        return;
      }

      const verified = await openssl([
        "req",
        "-in",
        csrPath,
        "-verify",
        "-noout",
      ]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stdout + verified.stderr, /verify OK/i);
      const chain = await openssl([
        "verify",
        "-check_ss_sig",
        "-partial_chain",
        "-CAfile",
        certPath,
        certPath,
      ]);
      assert.equal(chain.code, 0, chain.stdout + chain.stderr);
      assert.match(chain.stdout, /: OK/);
    });
  }
});

Deno.test("kms_generate_csr rejects SM2 keys", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("SM2");
  const before = endpoint.kms.calls.length;
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=a",
    "--out",
    "-",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /SM2 exists only in the AWS China Regions/);
  assert.deepEqual(
    endpoint.kms.calls.slice(before).map((call) => call.operation),
    ["GetPublicKey"],
  );
});

Deno.test("kms_generate_csr rejects a disallowed algorithm", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P521");
  const before = endpoint.kms.calls.length;
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--signing-algorithm",
    "ES256",
    "--subject",
    "/CN=a",
    "--out",
    "-",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /using 'ES256': the key allows ECDSA_SHA_512/);
  // No Sign call was made.
  assert.deepEqual(
    endpoint.kms.calls.slice(before).map((call) => call.operation),
    ["GetPublicKey"],
  );
});
