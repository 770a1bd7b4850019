import assert from "node:assert/strict";
import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import { createCsr } from "../lib/csr.ts";
import {
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  Tag,
} from "../lib/der.ts";
import { joseToDerSignature } from "../lib/ecdsa_signature.ts";
import { encodePem } from "../lib/pem.ts";
import { startEndpoint } from "./_endpoint.ts";
import { runCommand, runScript, tempDir } from "./_helpers.ts";

const GO = (() => {
  try {
    return new Deno.Command("go", { args: ["version"] }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!GO) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      "go_x509_test: skipped because `go` is not installed " +
        "(apt-get install golang-go).\n",
    ),
  );
}

const VERIFIER = new URL("./go_x509/", import.meta.url).pathname;

interface GoResult {
  file: string;
  kind: string;
  error?: string;
  subject?: string;
  dnsNames?: string[];
  emails?: string[];
  ips?: string[];
  uris?: string[];
  algorithm?: string;
}

async function goCheck(files: string[]): Promise<GoResult[]> {
  // Go needs a build cache; without HOME it has no default one.
  const env: Record<string, string> = {};
  if (!Deno.env.get("HOME") && !Deno.env.get("GOCACHE")) {
    const cache = `${Deno.env.get("TMPDIR") ?? "/tmp"}/kms-toolkit-go`;
    env.GOCACHE = `${cache}/build`;
    env.GOPATH = `${cache}/path`;
  }
  const result = await runCommand("go", ["run", ".", ...files], {
    cwd: VERIFIER,
    env,
  });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim().split("\n").map((line) => JSON.parse(line));
}

const SUBJECT =
  "/C=CH/ST=Zürich/L=Zürich/O=Müller & Söhne/OU=my_service/CN=svc.example.com/emailAddress=ops@example.com";
// Go lists the attributes it has names for, most specific first, then the
// others (here emailAddress) as the DER of its own re-encoding of the value.
const GO_SUBJECT = "CN=svc.example.com,OU=my_service,O=Müller & Söhne," +
  "L=Zürich,ST=Zürich,C=CH,1.2.840.113549.1.9.1=#0c0f6f7073406578616d706c652e636f6d";

Deno.test({
  name: "Go crypto/x509 accepts the CSRs",
  ignore: !GO,
  async fn() {
    await using endpoint = await startEndpoint();
    await using dir = await tempDir();
    const rows = [
      ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "SHA256-RSA"],
      ["RSA_2048", "RSASSA_PSS_SHA_256", "SHA256-RSAPSS"],
      ["ECC_NIST_P256", "ECDSA_SHA_256", "ECDSA-SHA256"],
      ["ECC_NIST_P384", "ECDSA_SHA_384", "ECDSA-SHA384"],
      ["ECC_NIST_P521", "ECDSA_SHA_512", "ECDSA-SHA512"],
      ["ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "Ed25519"],
    ];
    const files: string[] = [];
    for (const [keySpec, algorithm] of rows) {
      const key = await endpoint.createKey(keySpec!);
      for (const selfSigned of [false, true]) {
        const file = `${dir.path}/${keySpec}_${algorithm}_${
          selfSigned ? "cert" : "csr"
        }.pem`;
        const result = await runScript("kms_generate_csr.ts", [
          "--key-id",
          key.keyId,
          "--signing-algorithm",
          algorithm!,
          "--subject",
          SUBJECT,
          "--san",
          "DNS:svc.example.com,IP:192.0.2.7,email:ops@example.com,URI:spiffe://example.com/svc",
          ...(selfSigned ? ["--self-signed"] : []),
          "--out",
          file,
          "--quiet",
          "--endpoint-url",
          endpoint.kms.url,
        ]);
        assert.equal(result.code, 0, result.stderr);
        files.push(file);
      }
    }

    const results = await goCheck(files);
    assert.equal(results.length, files.length);
    results.forEach((result, index) => {
      const expected = rows[Math.floor(index / 2)]!;
      assert.equal(result.error, undefined, `${result.file}: ${result.error}`);
      assert.equal(result.algorithm, expected[2], result.file);
      assert.deepEqual(result.dnsNames, ["svc.example.com"], result.file);
      assert.equal(result.subject, GO_SUBJECT, result.file);
      if (result.kind === "CERTIFICATE REQUEST") {
        assert.deepEqual(result.ips, ["192.0.2.7"]);
        assert.deepEqual(result.emails, ["ops@example.com"]);
        assert.deepEqual(result.uris, ["spiffe://example.com/svc"]);
      }
    });
  },
});

Deno.test({
  name: "Go crypto/x509 rejects PrintableString email",
  ignore: !GO,
  async fn() {
    // The fault of the earlier scripts: every value a PrintableString.
    await using dir = await tempDir();
    const pair = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign", "verify"],
    ) as CryptoKeyPair;
    const key = {
      keyId: "local",
      publicKey: new Uint8Array(
        await crypto.subtle.exportKey("spki", pair.publicKey),
      ),
      sign: async (data: Uint8Array) =>
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
    const subject = encodeSequence(
      encodeSetOf([
        encodeSequence(
          encodeOid("1.2.840.113549.1.9.1"),
          encodeString(Tag.PrintableString, "ops@example.com"),
        ),
      ]),
    );
    const csr = await createCsr(key, {
      algorithm: chooseSigningAlgorithm("ECC_NIST_P256"),
      subject,
    });
    const file = `${dir.path}/printable.csr`;
    await Deno.writeTextFile(file, encodePem("CERTIFICATE REQUEST", csr.der));
    const [result] = await goCheck([file]);
    assert.match(
      result!.error ?? "",
      /PrintableString contains invalid character/,
    );
  },
});
