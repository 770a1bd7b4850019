import assert from "node:assert/strict";
import {
  CreateKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { translateKmsError } from "../lib/kms_client.ts";
import { KmsKey, mlDsaExternalMu } from "../lib/kms_key.ts";
import { verifySignature } from "../lib/verify.ts";
import { startEndpoint } from "./_endpoint.ts";
import { TEST_ENV } from "./_helpers.ts";

function isToolkitError(code: string, message: RegExp) {
  return (error: unknown) =>
    error instanceof KmsToolkitError && error.code === code &&
    message.test(error.message);
}

Deno.test("KmsKey.fetch reads key metadata", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P384", {
    alias: "alias/meta",
  });
  const fetched = await KmsKey.fetch(endpoint.client, "alias/meta");
  assert.equal(fetched.keyId, "alias/meta");
  assert.equal(fetched.keyArn, key.arn);
  assert.equal(fetched.keySpec, "ECC_NIST_P384");
  assert.equal(fetched.keyUsage, "SIGN_VERIFY");
  assert.deepEqual(fetched.signingAlgorithms, ["ECDSA_SHA_384"]);
  assert.deepEqual(fetched.publicKey, key.spki);
});

Deno.test("KmsKey.sign sends each message type", async () => {
  await using endpoint = await startEndpoint();
  const data = new TextEncoder().encode("header.payload");
  const cases = [
    ["RSA_2048", "PS384", "DIGEST"],
    ["ECC_NIST_P521", undefined, "DIGEST"],
    ["ECC_SECG_P256K1", undefined, "DIGEST"],
    ["ECC_NIST_EDWARDS25519", undefined, "RAW"],
    ["ML_DSA_44", undefined, "EXTERNAL_MU"],
  ] as const;
  for (const [keySpec, requested, messageType] of cases) {
    const { keyId } = await endpoint.createKey(keySpec);
    const key = await KmsKey.fetch(endpoint.client, keyId);
    const algorithm = chooseSigningAlgorithm(key.keySpec, { requested });
    assert.equal(algorithm.messageType, messageType, keySpec);
    const signature = await key.sign(data, algorithm);
    assert.ok(
      await verifySignature(key.publicKey, algorithm, data, signature),
      keySpec,
    );
    const sign = endpoint.kms.calls.at(-1)!;
    assert.equal(sign.operation, "Sign");
    assert.equal(sign.outcome, "OK");
  }
});

Deno.test("mlDsaExternalMu matches noble's internal mu", async () => {
  const { ml_dsa65 } = await import("@noble/post-quantum/ml-dsa.js");
  const keys = ml_dsa65.keygen(new Uint8Array(32));
  // SPKI per RFC 9881: SEQUENCE { SEQUENCE { id-ml-dsa-65 }, BIT STRING }.
  const spki = new Uint8Array([
    ...[0x30, 0x82, 0x07, 0xb2, 0x30, 0x0b, 0x06, 0x09],
    ...[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12],
    ...[0x03, 0x82, 0x07, 0xa1, 0x00],
    ...keys.publicKey,
  ]);
  const message = new TextEncoder().encode("message");
  const mu = mlDsaExternalMu(spki, message);
  assert.equal(mu.length, 64);
  // A signature over mu made with externalMu verifies as a signature of
  // the message itself, which holds only if mu is computed as FIPS 204
  // defines it.
  const signature = ml_dsa65.internal.sign(mu, keys.secretKey, {
    externalMu: true,
  });
  assert.ok(ml_dsa65.verify(signature, message, keys.publicKey));
});

Deno.test("KmsKey reports key states", async () => {
  await using endpoint = await startEndpoint();
  const disabled = await endpoint.createKey("ECC_NIST_P256");
  const deleting = await endpoint.createKey("ECC_NIST_P256");
  const hmac = await endpoint.createKey("HMAC_256", {
    keyUsage: "GENERATE_VERIFY_MAC",
  });
  const encrypt = await endpoint.createKey("RSA_2048", {
    keyUsage: "ENCRYPT_DECRYPT",
  });
  await endpoint.client.send(new DisableKeyCommand({ KeyId: disabled.keyId }));
  await endpoint.client.send(
    new ScheduleKeyDeletionCommand({
      KeyId: deleting.keyId,
      PendingWindowInDays: 7,
    }),
  );

  const cases = [
    [disabled.keyId, "KMS_DISABLED", /is disabled/],
    [deleting.keyId, "KMS_INVALID_STATE", /pending deletion/],
    [hmac.keyId, "UNSUPPORTED_KEY", /not an asymmetric key/],
    [
      encrypt.keyId,
      "UNSUPPORTED_KEY",
      /KeyUsage is ENCRYPT_DECRYPT, not SIGN_VERIFY/,
    ],
    ["alias/none", "KMS_NOT_FOUND", /Cannot find KMS key 'alias\/none'/],
    ["not-a-key-id", "KMS_NOT_FOUND", /'not-a-key-id'/],
  ] as const;
  for (const [keyId, code, message] of cases) {
    await assert.rejects(
      KmsKey.fetch(endpoint.client, keyId),
      isToolkitError(code, message),
      keyId,
    );
  }
});

Deno.test("KmsKey translates connection failures", async (t) => {
  await t.step("unreachable", async () => {
    const client = new KMSClient({
      endpoint: "http://127.0.0.1:9",
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    await assert.rejects(
      KmsKey.fetch(client, "alias/x"),
      isToolkitError(
        "KMS_UNREACHABLE",
        /Cannot reach the KMS endpoint[\s\S]*ECONNREFUSED/,
      ),
    );
  });

  await t.step("timeout", async () => {
    // A listener that accepts connections and never responds.
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) held.push(conn);
    })();
    const client = new KMSClient({
      endpoint: `http://127.0.0.1:${listener.addr.port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    });
    await assert.rejects(
      KmsKey.fetch(client, "alias/slow", { timeoutMs: 300 }),
      isToolkitError("KMS_TIMEOUT", /timed out after 0\.3 s[\s\S]*--timeout/),
    );
    client.destroy();
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  });

  await t.step("no region", () => {
    const client = new KMSClient({
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      region: undefined,
    });
    const error = translateKmsError(new Error("Region is missing"), {
      operation: "GetPublicKey",
      keyId: "k",
    });
    assert.equal(error.code, "KMS_NO_REGION");
    assert.match(error.message, /--region/);
    client.destroy();
  });
});

Deno.test("translateKmsError names the fix", () => {
  const cases = [
    [
      "AccessDeniedException",
      { operation: "Sign" },
      "KMS_ACCESS_DENIED",
      /Grant kms:Sign on this key/,
    ],
    [
      "AccessDeniedException",
      { operation: "GetPublicKey" },
      "KMS_ACCESS_DENIED",
      /Grant kms:GetPublicKey/,
    ],
    [
      "ThrottlingException",
      { operation: "Sign" },
      "KMS_THROTTLED",
      /after 3 attempts/,
    ],
    [
      "CredentialsProviderError",
      { operation: "Sign", profile: "ops" },
      "KMS_NO_CREDENTIALS",
      /for profile 'ops'/,
    ],
    [
      "InvalidKeyUsageException",
      {
        operation: "Sign",
        signingAlgorithm: "ECDSA_SHA_256",
        allowedAlgorithms: ["ECDSA_SHA_512"],
      },
      "KMS_INVALID_KEY_USAGE",
      /cannot sign with ECDSA_SHA_256[\s\S]*allows ECDSA_SHA_512/,
    ],
    [
      "UnrecognizedClientException",
      { operation: "Sign" },
      "KMS_ACCESS_DENIED",
      /rejected the AWS credentials/,
    ],
    [
      "KMSInternalException",
      { operation: "Sign" },
      "KMS_FAILED",
      /HTTP 500, request req-1/,
    ],
  ] as const;
  for (const [name, context, code, message] of cases) {
    const sdkError = Object.assign(new Error("detail"), {
      name,
      $metadata: { attempts: 3, httpStatusCode: 500, requestId: "req-1" },
    });
    const error = translateKmsError(sdkError, {
      keyId: "alias/app",
      ...context,
    });
    assert.equal(error.code, code, name);
    assert.match(error.message, message, name);
    assert.equal(error.cause, sdkError);
  }
});

Deno.test("KmsKey works with SigV4 checked", async () => {
  // The endpoint verifies signatures: the SDK must sign every request.
  const { startLocalKms } = await import("../lib/local_kms/mod.ts");
  await using kms = await startLocalKms({
    credentials: {
      accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID!,
      secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY!,
    },
  });
  const client = new KMSClient({
    endpoint: kms.url,
    region: "us-east-1",
    credentials: {
      accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID!,
      secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY!,
    },
  });
  const created = await client.send(
    new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }),
  );
  const key = await KmsKey.fetch(client, created.KeyMetadata!.KeyId!);
  const algorithm = chooseSigningAlgorithm(key.keySpec);
  const signature = await key.sign(new Uint8Array(10), algorithm);
  assert.ok(
    await verifySignature(
      key.publicKey,
      algorithm,
      new Uint8Array(10),
      signature,
    ),
  );

  const wrong = new KMSClient({
    endpoint: kms.url,
    region: "us-east-1",
    credentials: {
      accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID!,
      secretAccessKey: "wrong",
    },
  });
  await assert.rejects(
    KmsKey.fetch(wrong, created.KeyMetadata!.KeyId!),
    isToolkitError("KMS_ACCESS_DENIED", /rejected the AWS credentials/),
  );
  client.destroy();
  wrong.destroy();
});
