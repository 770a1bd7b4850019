import assert from "node:assert/strict";
import { DisableKeyCommand } from "@aws-sdk/client-kms";
import { parseCsr } from "../lib/csr.ts";
import { readChildren, readDer, toHex } from "../lib/der.ts";
import { decodePemBlocks } from "../lib/pem.ts";
import { startEndpoint } from "./_endpoint.ts";
import { openssl, runScript, tempDir } from "./_helpers.ts";

const SUBJECT =
  "/C=US/ST=California/L=Zürich/O=Müller & Söhne/OU=my_service/CN=svc.example.com/emailAddress=ops@example.com";

const CASES = [
  {
    keySpec: "RSA_2048",
    algorithm: "300d06092a864886f70d01010b0500",
    opensslKey: "rsaEncryption",
  },
  {
    keySpec: "ECC_NIST_P256",
    algorithm: "300a06082a8648ce3d040302",
    opensslKey: "prime256v1",
  },
  {
    keySpec: "ECC_NIST_P384",
    algorithm: "300a06082a8648ce3d040303",
    opensslKey: "secp384r1",
  },
  {
    keySpec: "ECC_NIST_P521",
    algorithm: "300a06082a8648ce3d040304",
    opensslKey: "secp521r1",
  },
];

/** Returns the DER string tag and text of each subject attribute, in order. */
function subjectAttributes(name: Uint8Array) {
  return readChildren(readDer(name)).map((rdn) => {
    const [attribute] = readChildren(rdn);
    const [, value] = readChildren(attribute!);
    return {
      tag: value!.tag,
      text: new TextDecoder().decode(value!.contents),
    };
  });
}

Deno.test("kms_generate_csr signs each key spec", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();

  for (const testCase of CASES) {
    await t.step(testCase.keySpec, async () => {
      const key = await endpoint.createKey(testCase.keySpec);
      const out = `${dir.path}/${testCase.keySpec}.csr`;
      const callsBefore = endpoint.kms.calls.length;

      const result = await runScript("kms_generate_csr.ts", [
        "--key-id",
        key.keyId,
        "--subject",
        SUBJECT,
        "--out",
        out,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      assert.equal(result.code, 0, result.stderr);

      // The file and stdout hold the same PEM with 64-column lines.
      const pem = await Deno.readTextFile(out);
      assert.equal(result.stdout, pem);
      const lines = pem.trim().split("\n");
      assert.equal(lines[0], "-----BEGIN CERTIFICATE REQUEST-----");
      assert.ok(lines.slice(1, -2).every((line) => line.length === 64));

      // Exactly GetPublicKey then Sign.
      const calls = endpoint.kms.calls.slice(callsBefore);
      assert.deepEqual(calls.map((call) => call.operation), [
        "GetPublicKey",
        "Sign",
      ]);

      // OpenSSL verifies the self-signature and shows the KMS key.
      const verified = await openssl(["req", "-in", out, "-verify", "-noout"]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stderr + verified.stdout, /verify OK/i);
      const text = await openssl(["req", "-in", out, "-noout", "-text"]);
      assert.match(text.stdout, new RegExp(testCase.opensslKey));

      // Bytes: SPKI copied, AlgorithmIdentifier exact, string types exact.
      const der = decodePemBlocks(pem)[0]!.der;
      const parsed = parseCsr(der);
      assert.deepEqual(parsed.spki, key.spki);
      assert.equal(toHex(parsed.signatureAlgorithm), testCase.algorithm);
      assert.deepEqual(parsed.attributes, []);
      assert.equal(toHex(parsed.info.subarray(-2)), "a000");
      assert.deepEqual(subjectAttributes(parsed.subject), [
        { tag: 0x13, text: "US" },
        { tag: 0x0c, text: "California" },
        { tag: 0x0c, text: "Zürich" },
        { tag: 0x0c, text: "Müller & Söhne" },
        { tag: 0x0c, text: "my_service" },
        { tag: 0x0c, text: "svc.example.com" },
        { tag: 0x16, text: "ops@example.com" },
      ]);
    });
  }
});

Deno.test("kms_generate_csr reads piped answers", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  await endpoint.createKey("ECC_NIST_P256", { alias: "alias/piped" });

  // Key id, C, ST, L, O, OU, CN, emailAddress; "." and "" leave a field out.
  const answers =
    "alias/piped\nUS\nCalifornia\n.\nExample Corp\n\nsvc.example.com\n.\n";
  const result = await runScript("kms_generate_csr.ts", [
    "--endpoint-url",
    endpoint.kms.url,
  ], { stdin: answers, cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);

  // The default output file is in the current folder.
  const pem = await Deno.readTextFile(`${dir.path}/cert_sign_request.csr`);
  assert.equal(result.stdout, pem);
  const subject = await openssl([
    "req",
    "-in",
    `${dir.path}/cert_sign_request.csr`,
    "-noout",
    "-subject",
    "-nameopt",
    "RFC2253",
  ]);
  assert.equal(
    subject.stdout.trim(),
    "subject=CN=svc.example.com,O=Example Corp,ST=California,C=US",
  );
});

Deno.test("kms_generate_csr uses AWS_ENDPOINT_URL_KMS", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P384", { alias: "alias/env" });

  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.arn,
    "--subject",
    "CN=svc.example.com,O=Example Corp,C=US",
    "--out",
    `${dir.path}/env.csr`,
  ], { env: { AWS_ENDPOINT_URL_KMS: endpoint.kms.url } });
  assert.equal(result.code, 0, result.stderr);

  // RFC 4514 lists the last RDN first, so C comes first in the request.
  const subject = await openssl([
    "req",
    "-in",
    `${dir.path}/env.csr`,
    "-noout",
    "-subject",
    "-nameopt",
    "oneline",
  ]);
  assert.equal(
    subject.stdout.trim(),
    "subject=C = US, O = Example Corp, CN = svc.example.com",
  );
});

Deno.test("kms_generate_csr works without HOME", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");

  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=no-home",
    "--out",
    `${dir.path}/no_home.csr`,
    "--endpoint-url",
    endpoint.kms.url,
  ], { env: { HOME: null } });
  assert.equal(result.code, 0, result.stderr);
  const verified = await openssl([
    "req",
    "-in",
    `${dir.path}/no_home.csr`,
    "-verify",
    "-noout",
  ]);
  assert.equal(verified.code, 0, verified.stderr);
});

Deno.test("kms_generate_csr rejects bad input early", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const base = [
    "--endpoint-url",
    endpoint.kms.url,
    "--out",
    `${dir.path}/x.csr`,
  ];

  const cases = [
    {
      name: "unknown flag",
      args: ["--key-id", key.keyId, "--subject", "/CN=a", "--bogus"],
      message: /Unknown option '--bogus'[\s\S]*Usage: kms_generate_csr/,
    },
    {
      name: "missing value",
      args: ["--subject", "/CN=a", "--key-id"],
      message: /--key-id[\s\S]*Usage/,
    },
    {
      name: "three-letter country",
      args: ["--key-id", key.keyId, "--subject", "/C=USA/CN=a"],
      message: /USA/,
    },
    {
      name: "non-ASCII email",
      args: [
        "--key-id",
        key.keyId,
        "--subject",
        "/emailAddress=jörg@example.com",
      ],
      message: /jörg@example\.com/,
    },
    {
      name: "bad endpoint URL",
      args: [
        "--key-id",
        key.keyId,
        "--subject",
        "/CN=a",
        "--endpoint-url",
        "ftp://x",
      ],
      message: /Invalid --endpoint-url 'ftp:\/\/x'/,
    },
  ];

  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const before = endpoint.kms.calls.length;
      const result = await runScript("kms_generate_csr.ts", [
        ...base,
        ...testCase.args,
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^error: /);
      assert.match(result.stderr, testCase.message);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(endpoint.kms.calls.length, before);
      await assert.rejects(
        Deno.stat(`${dir.path}/x.csr`),
        Deno.errors.NotFound,
      );
    });
  }
});

Deno.test("kms_generate_csr reports KMS key errors", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const disabled = await endpoint.createKey("ECC_NIST_P256");
  await endpoint.client.send(new DisableKeyCommand({ KeyId: disabled.keyId }));
  const symmetric = await endpoint.createKey("SYMMETRIC_DEFAULT", {
    keyUsage: "ENCRYPT_DECRYPT",
  });

  const cases = [
    {
      name: "alias not found",
      keyId: "alias/does-not-exist",
      code: 1,
      message: /Cannot find KMS key 'alias\/does-not-exist'/,
    },
    {
      name: "disabled key",
      keyId: disabled.keyId,
      code: 1,
      message: /is disabled[\s\S]*enable-key/,
    },
    {
      name: "symmetric key",
      keyId: symmetric.keyId,
      code: 3,
      message: /SIGN_VERIFY/,
    },
  ];

  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const out = `${dir.path}/${testCase.name.replaceAll(" ", "_")}.csr`;
      const result = await runScript("kms_generate_csr.ts", [
        "--key-id",
        testCase.keyId,
        "--subject",
        "/CN=a",
        "--out",
        out,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr, testCase.message);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(result.stdout, "");
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
    });
  }
});

Deno.test("kms_generate_csr keeps an existing file", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const out = `${dir.path}/existing.csr`;
  await Deno.writeTextFile(out, "keep me\n");
  const args = [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=a",
    "--out",
    out,
    "--endpoint-url",
    endpoint.kms.url,
  ];

  const refused = await runScript("kms_generate_csr.ts", args);
  assert.equal(refused.code, 5, refused.stderr);
  assert.match(refused.stderr, /exists[\s\S]*--force/);
  assert.equal(await Deno.readTextFile(out), "keep me\n");

  const forced = await runScript("kms_generate_csr.ts", [...args, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(await Deno.readTextFile(out), /BEGIN CERTIFICATE REQUEST/);
  const entries = [...Deno.readDirSync(dir.path)].map((entry) => entry.name);
  assert.deepEqual(entries, ["existing.csr"]);
});
