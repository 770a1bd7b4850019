import assert from "node:assert/strict";
import { parseCsr } from "../lib/csr.ts";
import { readChildren, readDer, toHex } from "../lib/der.ts";
import { decodeExtensions } from "../lib/extensions.ts";
import { decodePemBlocks } from "../lib/pem.ts";
import { startEndpoint } from "./_endpoint.ts";
import { openssl, runScript, tempDir } from "./_helpers.ts";

async function readCsr(path: string) {
  const text = await Deno.readTextFile(path);
  return parseCsr(decodePemBlocks(text)[0]!.der);
}

function extensionMap(extensions: Uint8Array) {
  return new Map(
    decodeExtensions(extensions).map((extension) => [extension.oid, extension]),
  );
}

Deno.test("kms_generate_csr requests extensions", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("RSA_2048");
  const out = `${dir.path}/ext.csr`;

  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=svc.example.com",
    "--san",
    "DNS:svc.example.com,DNS:*.svc.example.com",
    "--san",
    "IP:192.0.2.10",
    "--san",
    "IP:2001:db8::1",
    "--san",
    "email:ops@example.com",
    "--san",
    "URI:spiffe://example.com/svc",
    "--key-usage",
    "digitalSignature,keyEncipherment",
    "--ext-key-usage",
    "serverAuth,clientAuth",
    "--out",
    out,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /SANs DNS:svc\.example\.com, DNS:\*\.svc\.example\.com/,
  );

  const text = await openssl(["req", "-in", out, "-noout", "-text", "-verify"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /DNS:svc\.example\.com, DNS:\*\.svc\.example\.com, IP Address:192\.0\.2\.10, IP Address:2001:DB8:0:0:0:0:0:1, email:ops@example\.com, URI:spiffe:\/\/example\.com\/svc/,
  );
  assert.match(text.stdout, /Digital Signature, Key Encipherment/);
  assert.match(
    text.stdout,
    /TLS Web Server Authentication, TLS Web Client Authentication/,
  );

  // One extensionRequest attribute; keyUsage bits and criticality exact.
  const csr = await readCsr(out);
  assert.equal(csr.attributes.length, 1);
  const extensions = extensionMap(csr.extensions!);
  assert.equal(toHex(extensions.get("2.5.29.15")!.value), "030205a0");
  assert.equal(extensions.get("2.5.29.15")!.critical, true);
  assert.equal(extensions.get("2.5.29.17")!.critical, false);
  assert.equal(extensions.has("2.5.29.19"), false);
});

Deno.test("kms_generate_csr requests a CA", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P384");
  const out = `${dir.path}/ca.csr`;
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--subject",
    "/O=Example Corp/CN=Example Issuing CA",
    "--ca",
    "--path-len",
    "0",
    "--key-usage",
    "keyCertSign,cRLSign",
    "--out",
    out,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const extensions = extensionMap((await readCsr(out)).extensions!);
  const basic = extensions.get("2.5.29.19")!;
  assert.equal(basic.critical, true);
  assert.equal(toHex(basic.value), "30060101ff020100");
  const text = await openssl(["req", "-in", out, "-noout", "-text"]);
  assert.match(text.stdout, /CA:TRUE, pathlen:0/);
});

Deno.test("kms_generate_csr makes a self-signed CA", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const out = `${dir.path}/ca.pem`;
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=Test Root",
    "--self-signed",
    "--ca",
    "--days",
    "30",
    "--san",
    "DNS:root.example.com",
    "--out",
    out,
    "--json",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);

  // The JSON summary replaces the PEM on stdout.
  const summary = JSON.parse(result.stdout);
  assert.equal(summary.type, "certificate");
  assert.equal(summary.path, out);
  assert.equal(summary.subject, "/CN=Test Root");
  assert.deepEqual(summary.subjectAltNames, ["DNS:root.example.com"]);
  assert.equal(summary.keySpec, "ECC_NIST_P256");
  assert.equal(summary.signingAlgorithm, "ECDSA_SHA_256");
  const spkiHash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", key.spki.slice()),
  );
  assert.equal(summary.publicKeySha256, toHex(spkiHash));
  const days = (Date.parse(summary.notAfter) - Date.parse(summary.notBefore)) /
    86_400_000;
  assert.equal(days, 30);
  // A positive serial of 16 bytes (at least 64 random bits).
  assert.match(summary.serialNumber, /^[0-7][0-9a-f]{31}$/);

  const verified = await openssl(["verify", "-CAfile", out, out]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  const text = await openssl(["x509", "-in", out, "-noout", "-text"]);
  assert.match(text.stdout, /Issuer: CN ?= ?Test Root/);
  assert.match(text.stdout, /Subject: CN ?= ?Test Root/);
  assert.match(text.stdout, /CA:TRUE/);
  assert.match(text.stdout, /Certificate Sign, CRL Sign/);
  assert.match(text.stdout, /X509v3 Subject Key Identifier/);
  assert.match(text.stdout, /X509v3 Authority Key Identifier/);
  assert.match(text.stdout, /Version: 3/);

  // subjectKeyIdentifier is the SHA-1 of the public key bits, as OpenSSL
  // computes it, and authorityKeyIdentifier repeats it.
  const ski = await openssl([
    "x509",
    "-in",
    out,
    "-noout",
    "-ext",
    "subjectKeyIdentifier",
  ]);
  const pubkey = key.spki.subarray(key.spki.length - 65);
  const sha1 = toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-1", pubkey.slice())),
  );
  assert.equal(
    ski.stdout.split("\n")[1]!.trim().replaceAll(":", "").toLowerCase(),
    sha1,
  );
});

Deno.test("kms_generate_csr re-signs an existing CSR", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");

  // A request made by OpenSSL with its own key, SANs and a challenge password.
  const config = `${dir.path}/req.cnf`;
  await Deno.writeTextFile(
    config,
    "[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\nutf8=yes\n" +
      "string_mask=utf8only\n[dn]\nC=DE\nO=Müller & Söhne\nCN=legacy.example.com\n" +
      "[attrs]\nchallengePassword=not-a-secret\n",
  );
  const original = `${dir.path}/original.csr`;
  const made = await openssl([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${dir.path}/original.key`,
    "-config",
    config,
    "-addext",
    "subjectAltName=DNS:legacy.example.com,IP:10.1.2.3",
    "-out",
    original,
  ]);
  assert.equal(made.code, 0, made.stderr);

  const out = `${dir.path}/resigned.csr`;
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--from-csr",
    original,
    "--out",
    out,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);

  const before = await readCsr(original);
  const after = await readCsr(out);
  assert.deepEqual(after.subject, before.subject);
  assert.deepEqual(after.attributes, before.attributes);
  assert.equal(after.attributes.length, 2);
  assert.deepEqual(after.spki, key.spki);
  assert.equal(after.signatureAlgorithmOid, "1.2.840.10045.4.3.2");
  const verified = await openssl([
    "req",
    "-in",
    out,
    "-verify",
    "-noout",
    "-text",
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(
    verified.stdout,
    /DNS:legacy\.example\.com, IP Address:10\.1\.2\.3/,
  );
  assert.match(verified.stdout, /challengePassword\s*:\s*not-a-secret/);

  // DER input works too.
  const derPath = `${dir.path}/original.der`;
  await openssl(["req", "-in", original, "-outform", "DER", "-out", derPath]);
  const fromDer = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--from-csr",
    derPath,
    "--out",
    "-",
    "--der",
    "--quiet",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(fromDer.code, 0, fromDer.stderr);
  assert.deepEqual(parseCsr(fromDer.stdoutBytes).subject, before.subject);
});

Deno.test("kms_generate_csr writes DER and stdout only", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const common = [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=a",
    "--endpoint-url",
    endpoint.kms.url,
  ];

  const der = await runScript("kms_generate_csr.ts", [
    ...common,
    "--der",
    "--out",
    `${dir.path}/a.der`,
  ], { cwd: dir.path });
  assert.equal(der.code, 0, der.stderr);
  assert.equal(der.stdout, "");
  const bytes = await Deno.readFile(`${dir.path}/a.der`);
  assert.equal(bytes[0], 0x30);
  const verified = await openssl([
    "req",
    "-inform",
    "DER",
    "-in",
    `${dir.path}/a.der`,
    "-verify",
    "-noout",
  ]);
  assert.equal(verified.code, 0, verified.stderr);

  const stdoutOnly = await runScript("kms_generate_csr.ts", [
    ...common,
    "--out",
    "-",
  ], {
    cwd: dir.path,
  });
  assert.equal(stdoutOnly.code, 0, stdoutOnly.stderr);
  assert.match(stdoutOnly.stdout, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  assert.match(stdoutOnly.stderr, /to standard output/);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), [
    "a.der",
  ]);

  const quiet = await runScript("kms_generate_csr.ts", [
    ...common,
    "--out",
    "-",
    "--quiet",
  ]);
  assert.equal(quiet.stderr, "");
});

Deno.test("kms_generate_csr limits Ed25519 requests", async () => {
  await using endpoint = await startEndpoint();
  const ed25519 = await endpoint.createKey("ECC_NIST_EDWARDS25519");
  const mlDsa = await endpoint.createKey("ML_DSA_65");
  // About 6 KB of names: over the 4096 bytes KMS signs in RAW mode.
  const names = Array.from(
    { length: 120 },
    (_, i) => `DNS:host-${i}.a-long-subdomain.example.com`,
  );
  const args = [
    "--subject",
    "/CN=big",
    "--san",
    names.join(","),
    "--out",
    "-",
    "--endpoint-url",
    endpoint.kms.url,
  ];

  const before = endpoint.kms.calls.length;
  const rejected = await runScript("kms_generate_csr.ts", [
    "--key-id",
    ed25519.keyId,
    ...args,
  ]);
  assert.equal(rejected.code, 2, rejected.stderr);
  assert.match(
    rejected.stderr,
    /Cannot sign \d{4} bytes with ED25519_SHA_512: KMS signs at most 4096 bytes/,
  );
  assert.deepEqual(
    endpoint.kms.calls.slice(before).map((call) => call.operation),
    ["GetPublicKey"],
  );

  // ML-DSA sends the 64-byte external mu, so size does not matter.
  const accepted = await runScript("kms_generate_csr.ts", [
    "--key-id",
    mlDsa.keyId,
    ...args,
  ]);
  assert.equal(accepted.code, 0, accepted.stderr);
  const csr = parseCsr(decodePemBlocks(accepted.stdout)[0]!.der);
  assert.ok(csr.info.length > 4096);
});

Deno.test("kms_generate_csr rejects bad contents", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const ec = await endpoint.createKey("ECC_NIST_P256");
  const rsa = await endpoint.createKey("RSA_2048");
  await Deno.writeTextFile(`${dir.path}/not.csr`, "hello\n");
  const cases = [
    {
      name: "bad DNS SAN",
      args: ["--san", "DNS:bad_host..example.com"],
      code: 2,
      message: /bad_host\.\.example\.com/,
      calls: 0,
    },
    {
      name: "bad IP SAN",
      args: ["--san", "IP:300.1.1.1"],
      code: 2,
      message: /300\.1\.1\.1/,
      calls: 0,
    },
    {
      name: "unknown SAN type",
      args: ["--san", "RID:1.2.3"],
      code: 2,
      message: /RID:1\.2\.3/,
      calls: 0,
    },
    {
      name: "bad key usage",
      args: ["--key-usage", "signEverything"],
      code: 2,
      message: /signEverything/,
      calls: 0,
    },
    {
      name: "path-len without ca",
      args: ["--path-len", "1"],
      code: 2,
      message: /--path-len 1 without --ca/,
      calls: 0,
    },
    {
      name: "bad path-len",
      args: ["--ca", "--path-len", "-1"],
      code: 2,
      message: /--path-len/,
      calls: 0,
    },
    {
      name: "days without self-signed",
      args: ["--days", "10"],
      code: 2,
      message: /--days applies only with --self-signed/,
      calls: 0,
    },
    {
      name: "bad days",
      args: ["--self-signed", "--days", "0"],
      code: 2,
      message: /Invalid --days '0'/,
      calls: 0,
    },
    {
      name: "json to stdout",
      args: ["--json", "--out", "-"],
      code: 2,
      message: /--json with --out -/,
      calls: 0,
    },
    {
      name: "from-csr with subject",
      args: ["--from-csr", `${dir.path}/not.csr`, "--subject", "/CN=b"],
      code: 2,
      message: /Cannot combine --from-csr with --subject/,
      calls: 0,
      noSubject: true,
    },
    {
      name: "from-csr not a CSR",
      args: ["--from-csr", `${dir.path}/not.csr`],
      code: 2,
      message: /not\.csr: expected DER or a PEM 'CERTIFICATE REQUEST' block/,
      calls: 0,
      noSubject: true,
    },
    {
      name: "from-csr missing file",
      args: ["--from-csr", `${dir.path}/missing.csr`],
      code: 5,
      message: /Cannot read --from-csr/,
      calls: 0,
      noSubject: true,
    },
    {
      name: "keyEncipherment on EC",
      args: ["--key-usage", "keyEncipherment"],
      code: 2,
      message: /keyEncipherment/,
      calls: 1,
    },
    {
      name: "keyAgreement on RSA",
      args: ["--key-usage", "keyAgreement"],
      code: 2,
      message: /keyAgreement/,
      calls: 1,
      key: rsa.keyId,
    },
    {
      name: "CA without keyCertSign",
      args: ["--ca", "--key-usage", "digitalSignature"],
      code: 2,
      message: /needs keyCertSign/,
      calls: 1,
    },
  ];

  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const before = endpoint.kms.calls.length;
      const result = await runScript("kms_generate_csr.ts", [
        "--key-id",
        testCase.key ?? ec.keyId,
        ...(testCase.noSubject ? [] : ["--subject", "/CN=a"]),
        "--out",
        `${dir.path}/out.csr`,
        ...testCase.args,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      assert.equal(result.code, testCase.code, result.stderr);
      assert.match(result.stderr, /^error: /);
      assert.match(result.stderr, testCase.message);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      // Local checks fail before KMS; key-type checks right after GetPublicKey.
      assert.equal(endpoint.kms.calls.length - before, testCase.calls);
      await assert.rejects(
        Deno.stat(`${dir.path}/out.csr`),
        Deno.errors.NotFound,
      );
    });
  }
});

Deno.test("kms_generate_csr makes SANs critical without subject", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    key.keyId,
    "--subject",
    "/",
    "--san",
    "DNS:only-san.example.com",
    "--out",
    "-",
    "--quiet",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const csr = parseCsr(decodePemBlocks(result.stdout)[0]!.der);
  assert.equal(toHex(csr.subject), "3000");
  assert.equal(extensionMap(csr.extensions!).get("2.5.29.17")!.critical, true);
  assert.equal(readChildren(readDer(csr.subject)).length, 0);
});
