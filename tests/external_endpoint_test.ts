/**
 * Runs the main job against a KMS-compatible endpoint in another process,
 * named only by AWS_ENDPOINT_URL_KMS, as a user would point the scripts at
 * LocalStack, a VPC endpoint or a test double.
 *
 * Set KMS_TOOLKIT_TEST_ENDPOINT=http://127.0.0.1:PORT to use an endpoint
 * you run (it must support CreateKey). Otherwise the test starts the
 * project's own endpoint with `deno task kms-local` in a subprocess.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { openssl, runScript, tempDir, TEST_ENV } from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function startSeparateEndpoint(): Promise<
  AsyncDisposable & { url: string }
> {
  const given = Deno.env.get("KMS_TOOLKIT_TEST_ENDPOINT");
  if (given) return { url: given, [Symbol.asyncDispose]: async () => {} };

  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "kms-local", "--port", "0", "--quiet"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    url = text.match(/listening on (http:\/\/\S+)/)?.[1];
  }
  reader.releaseLock();
  if (!url) throw new Error(`The local endpoint did not start:\n${text}`);
  return {
    url,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("scripts work via AWS_ENDPOINT_URL_KMS alone", async (t) => {
  await using endpoint = await startSeparateEndpoint();
  await using dir = await tempDir();
  const client = new KMSClient({
    endpoint: endpoint.url,
    region: TEST_ENV.AWS_REGION,
    credentials: {
      accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID!,
      secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY!,
    },
  });
  const env = { AWS_ENDPOINT_URL_KMS: endpoint.url };

  for (
    const keySpec of [
      "RSA_2048",
      "ECC_NIST_P256",
      "ECC_NIST_P384",
      "ECC_NIST_P521",
    ]
  ) {
    await t.step(keySpec, async () => {
      const created = await client.send(
        new CreateKeyCommand({
          KeySpec: keySpec as never,
          KeyUsage: "SIGN_VERIFY",
        }),
      );
      const keyId = created.KeyMetadata!.KeyId!;
      const out = `${dir.path}/${keySpec}.csr`;

      const csr = await runScript("kms_generate_csr.ts", [
        "--key-id",
        keyId,
        "--subject",
        "/C=US/O=Example Corp/CN=external.example.com",
        "--out",
        out,
        "--quiet",
      ], { env });
      assert.equal(csr.code, 0, csr.stderr);
      const verified = await openssl(["req", "-in", out, "-verify", "-noout"]);
      assert.equal(verified.code, 0, verified.stderr);

      const jwks = await runScript("kms_public_key_to_jwks.ts", [
        "--key-id",
        keyId,
      ], {
        env,
      });
      assert.equal(jwks.code, 0, jwks.stderr);
      const [jwk] = JSON.parse(jwks.stdout).keys;
      // The JWK imports into WebCrypto as the key the CSR carries.
      const fromJwk = await crypto.subtle.importKey(
        "jwk",
        jwk,
        jwk.kty === "RSA"
          ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
          : { name: "ECDSA", namedCurve: jwk.crv },
        true,
        ["verify"],
      );
      const spkiFromJwk = new Uint8Array(
        await crypto.subtle.exportKey("spki", fromJwk),
      );
      const pubkey = await openssl(["req", "-in", out, "-noout", "-pubkey"]);
      const spkiFromCsr = Uint8Array.fromBase64(
        pubkey.stdout.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""),
      );
      assert.deepEqual(spkiFromJwk, spkiFromCsr);
    });
  }
  client.destroy();
});
