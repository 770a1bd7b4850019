import assert from "node:assert/strict";
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  DryRunOperationException,
  EnableKeyCommand,
  GetPublicKeyCommand,
  InvalidKeyUsageException,
  InvalidMarkerException,
  KMSClient,
  KMSInternalException,
  KMSInvalidSignatureException,
  KMSInvalidStateException,
  KMSServiceException,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UnsupportedOperationException,
  VerifyCommand,
} from "@aws-sdk/client-kms";
import { isKmsToolkitError } from "../lib/errors.ts";
import { type LocalKms, startLocalKms } from "../lib/local_kms/mod.ts";
import { tempDir } from "./_helpers.ts";

const MESSAGE = new TextEncoder().encode("hello local KMS");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function clientFor(
  kms: LocalKms,
  options: { maxAttempts?: number; secret?: string; accessKeyId?: string } = {},
): KMSClient {
  return new KMSClient({
    endpoint: kms.url,
    region: kms.region,
    maxAttempts: options.maxAttempts,
    credentials: {
      accessKeyId: options.accessKeyId ?? "AKIDLOCAL",
      secretAccessKey: options.secret ?? "local",
    },
  });
}

async function createKey(
  client: KMSClient,
  keySpec: string,
  keyUsage = "SIGN_VERIFY",
) {
  const out = await client.send(
    new CreateKeyCommand({
      KeySpec: keySpec as never,
      KeyUsage: keyUsage as never,
    }),
  );
  return out.KeyMetadata!;
}

/** Asserts that a call fails with the SDK error class, name, status, text. */
async function assertKmsError(
  call: Promise<unknown>,
  expected: {
    // deno-lint-ignore no-explicit-any
    type?: new (...args: any[]) => Error;
    name: string;
    status?: number;
    message?: string | RegExp;
  },
): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof KMSServiceException, String(error));
    if (expected.type) {
      assert.ok(error instanceof expected.type, `${error.name} class`);
    } else {
      // Unmodeled errors are the base class, named after __type.
      assert.equal(error.constructor, KMSServiceException);
    }
    assert.equal(error.name, expected.name);
    assert.equal(error.$metadata.httpStatusCode, expected.status ?? 400);
    assert.match(error.$metadata.requestId ?? "", UUID);
    if (typeof expected.message === "string") {
      assert.ok(
        error.message.includes(expected.message),
        `message '${error.message}' lacks '${expected.message}'`,
      );
    } else if (expected.message) {
      assert.match(error.message, expected.message);
    }
    return true;
  });
}

function sign(
  client: KMSClient,
  keyId: string,
  algorithm: string,
  message: Uint8Array = MESSAGE,
  messageType = "RAW",
) {
  return client.send(
    new SignCommand({
      KeyId: keyId,
      Message: message,
      MessageType: messageType as never,
      SigningAlgorithm: algorithm as never,
    }),
  );
}

Deno.test("local KMS CreateKey and DescribeKey", async () => {
  await using kms = await startLocalKms({ accountId: "123456789012" });
  const client = clientFor(kms);
  const before = Date.now() / 1000;
  const created = await client.send(
    new CreateKeyCommand({
      KeySpec: "RSA_2048",
      KeyUsage: "SIGN_VERIFY",
      Description: "test key",
      Tags: [{ TagKey: "team", TagValue: "a" }],
    }),
  );
  const meta = created.KeyMetadata!;
  assert.match(meta.KeyId!, UUID);
  assert.equal(
    meta.Arn,
    `arn:aws:kms:us-east-1:123456789012:key/${meta.KeyId}`,
  );
  assert.equal(meta.AWSAccountId, "123456789012");
  assert.equal(meta.Description, "test key");
  assert.equal(meta.Enabled, true);
  assert.equal(meta.KeyState, "Enabled");
  assert.equal(meta.Origin, "AWS_KMS");
  assert.equal(meta.KeyManager, "CUSTOMER");
  assert.equal(meta.KeySpec, "RSA_2048");
  assert.equal(meta.CustomerMasterKeySpec, "RSA_2048");
  assert.equal(meta.MultiRegion, false);
  assert.equal(meta.DeletionDate, undefined);
  assert.ok(meta.CreationDate instanceof Date);
  assert.ok(Math.abs(meta.CreationDate.getTime() / 1000 - before) < 5);
  assert.deepEqual(meta.SigningAlgorithms, [
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
  ]);
  const described = await client.send(
    new DescribeKeyCommand({ KeyId: meta.KeyId }),
  );
  assert.deepEqual(described.KeyMetadata, meta);

  // Default spec, multi-Region ids and the algorithms of other usages.
  const symmetric = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
  assert.equal(symmetric.KeySpec, "SYMMETRIC_DEFAULT");
  assert.equal(symmetric.KeyUsage, "ENCRYPT_DECRYPT");
  assert.deepEqual(symmetric.EncryptionAlgorithms, ["SYMMETRIC_DEFAULT"]);
  assert.equal(symmetric.SigningAlgorithms, undefined);
  const mrk = (await client.send(
    new CreateKeyCommand({
      KeySpec: "ECC_NIST_P256",
      KeyUsage: "SIGN_VERIFY",
      MultiRegion: true,
    }),
  )).KeyMetadata!;
  assert.match(mrk.KeyId!, /^mrk-[0-9a-f]{32}$/);
  assert.equal(mrk.MultiRegion, true);
  assert.equal(mrk.MultiRegionConfiguration?.MultiRegionKeyType, "PRIMARY");
  const hmac = await createKey(client, "HMAC_384", "GENERATE_VERIFY_MAC");
  assert.deepEqual(hmac.MacAlgorithms, ["HMAC_SHA_384"]);
  const agreement = await createKey(client, "ECC_NIST_P384", "KEY_AGREEMENT");
  assert.deepEqual(agreement.KeyAgreementAlgorithms, ["ECDH"]);
  const rsaCrypt = await createKey(client, "RSA_2048", "ENCRYPT_DECRYPT");
  assert.deepEqual(rsaCrypt.EncryptionAlgorithms, [
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
  ]);
  client.destroy();
});

Deno.test("local KMS CreateKey rejects bad requests", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms);
  const cases: [string, CreateKeyCommand, string][] = [
    [
      "unknown key spec",
      new CreateKeyCommand({ KeySpec: "RSA_1024" as never }),
      "Value 'RSA_1024' at 'keySpec' failed to satisfy constraint: Member " +
      "must satisfy enum value set",
    ],
    [
      "asymmetric without usage",
      new CreateKeyCommand({ KeySpec: "ECC_NIST_P256" }),
      "You must specify a KeyUsage value",
    ],
    [
      "usage the spec lacks",
      new CreateKeyCommand({
        KeySpec: "ECC_NIST_P256",
        KeyUsage: "ENCRYPT_DECRYPT",
      }),
      "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256",
    ],
    [
      "secp256k1 key agreement",
      new CreateKeyCommand({
        KeySpec: "ECC_SECG_P256K1",
        KeyUsage: "KEY_AGREEMENT",
      }),
      "is not compatible",
    ],
    [
      "tag without key",
      new CreateKeyCommand({ Tags: [{ TagValue: "x" } as never] }),
      "at 'tagKey' failed to satisfy constraint: Member must not be null",
    ],
  ];
  for (const [name, command, message] of cases) {
    await assertKmsError(client.send(command), {
      name: "ValidationException",
      message,
    }).catch((error) => {
      throw new Error(`${name}: ${error.message}`);
    });
  }
  await assertKmsError(
    client.send(new CreateKeyCommand({ KeySpec: "ML_KEM_768" })),
    {
      type: UnsupportedOperationException,
      name: "UnsupportedOperationException",
    },
  );
  await assertKmsError(
    client.send(new CreateKeyCommand({ Origin: "EXTERNAL" })),
    {
      type: UnsupportedOperationException,
      name: "UnsupportedOperationException",
    },
  );
  client.destroy();
});

Deno.test("local KMS four key id forms", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms);
  const meta = await createKey(client, "ECC_NIST_P256");
  await client.send(
    new CreateAliasCommand({ AliasName: "alias/forms", TargetKeyId: meta.Arn }),
  );
  const aliasArn = "arn:aws:kms:us-east-1:111122223333:alias/forms";
  for (const form of [meta.KeyId!, meta.Arn!, "alias/forms", aliasArn]) {
    const described = await client.send(
      new DescribeKeyCommand({ KeyId: form }),
    );
    assert.equal(described.KeyMetadata!.KeyId, meta.KeyId, form);
    const got = await client.send(new GetPublicKeyCommand({ KeyId: form }));
    assert.equal(got.KeyId, meta.Arn, form);
    const signed = await sign(client, form, "ECDSA_SHA_256");
    assert.equal(signed.KeyId, meta.Arn, form);
    const verified = await client.send(
      new VerifyCommand({
        KeyId: form,
        Message: MESSAGE,
        Signature: signed.Signature,
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );
    assert.equal(verified.SignatureValid, true, form);
    assert.equal(verified.KeyId, meta.Arn, form);
  }
  const missing: [string, string][] = [
    [crypto.randomUUID(), "does not exist"],
    ["not-a-key-id", "Invalid keyId 'not-a-key-id'"],
    [meta.Arn!.replace("us-east-1", "eu-west-1"), "does not exist"],
    [meta.Arn!.replace("111122223333", "999999999999"), "does not exist"],
    ["alias/nothing", "Alias arn:aws:kms:us-east-1:111122223333:alias/nothing"],
    [aliasArn.replace("us-east-1", "us-west-2"), "does not exist"],
  ];
  for (const [keyId, message] of missing) {
    await assertKmsError(
      client.send(new DescribeKeyCommand({ KeyId: keyId })),
      { type: NotFoundException, name: "NotFoundException", message },
    );
  }
  // State changes take key ids and key ARNs only.
  await assertKmsError(
    client.send(new DisableKeyCommand({ KeyId: "alias/forms" })),
    { type: NotFoundException, name: "NotFoundException" },
  );
  client.destroy();
});

Deno.test("local KMS aliases and listing", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms);
  const keys = [];
  for (let i = 0; i < 5; i++) {
    keys.push(await createKey(client, "ECC_NIST_P256"));
  }
  await client.send(
    new CreateAliasCommand({
      AliasName: "alias/b",
      TargetKeyId: keys[0]!.KeyId,
    }),
  );
  await client.send(
    new CreateAliasCommand({ AliasName: "alias/a", TargetKeyId: keys[1]!.Arn }),
  );
  await client.send(
    new CreateAliasCommand({
      AliasName: "alias/c_d-e/f",
      TargetKeyId: keys[0]!.KeyId,
    }),
  );

  // ListKeys pages with Limit and Marker.
  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(
      new ListKeysCommand({ Limit: 2, Marker: marker }),
    );
    pages++;
    assert.ok(page.Keys!.length <= 2);
    for (const key of page.Keys!) {
      assert.equal(
        key.KeyArn,
        `arn:aws:kms:us-east-1:111122223333:key/${key.KeyId}`,
      );
      seen.push(key.KeyId!);
    }
    assert.equal(page.Truncated, page.NextMarker !== undefined);
    marker = page.NextMarker;
  } while (marker);
  assert.equal(pages, 3);
  assert.deepEqual(seen, keys.map((key) => key.KeyId));
  const all = await client.send(new ListKeysCommand({}));
  assert.equal(all.Keys!.length, 5);
  assert.equal(all.Truncated, false);

  const aliases = await client.send(new ListAliasesCommand({}));
  assert.deepEqual(
    aliases.Aliases!.map((a) => [a.AliasName, a.TargetKeyId, a.AliasArn]),
    [
      ["alias/a", keys[1]!.KeyId, "arn:aws:kms:us-east-1:111122223333:alias/a"],
      ["alias/b", keys[0]!.KeyId, "arn:aws:kms:us-east-1:111122223333:alias/b"],
      [
        "alias/c_d-e/f",
        keys[0]!.KeyId,
        "arn:aws:kms:us-east-1:111122223333:alias/c_d-e/f",
      ],
    ],
  );
  assert.ok(aliases.Aliases![0]!.CreationDate instanceof Date);
  const ofKey = await client.send(
    new ListAliasesCommand({ KeyId: keys[0]!.Arn }),
  );
  assert.deepEqual(ofKey.Aliases!.map((a) => a.AliasName), [
    "alias/b",
    "alias/c_d-e/f",
  ]);
  const paged = await client.send(new ListAliasesCommand({ Limit: 1 }));
  assert.equal(paged.Truncated, true);
  const rest = await client.send(
    new ListAliasesCommand({ Limit: 5, Marker: paged.NextMarker }),
  );
  assert.deepEqual(rest.Aliases!.map((a) => a.AliasName), [
    "alias/b",
    "alias/c_d-e/f",
  ]);

  await assertKmsError(
    client.send(
      new CreateAliasCommand({
        AliasName: "alias/a",
        TargetKeyId: keys[2]!.KeyId,
      }),
    ),
    {
      type: AlreadyExistsException,
      name: "AlreadyExistsException",
      message: "alias/a already exists",
    },
  );
  const badNames: [string, string][] = [
    ["noprefix", 'Alias must start with the prefix "alias/"'],
    ["alias/", 'Alias must start with the prefix "alias/"'],
    ["alias/has space", "regular expression pattern"],
    ["alias/has:colon", "contains invalid characters for an alias"],
    ["alias/aws/reserved", "reserved for AWS managed keys"],
  ];
  for (const [name, message] of badNames) {
    await assertKmsError(
      client.send(
        new CreateAliasCommand({
          AliasName: name,
          TargetKeyId: keys[2]!.KeyId,
        }),
      ),
      { name: "ValidationException", message },
    );
  }
  await assertKmsError(
    client.send(
      new CreateAliasCommand({ AliasName: "alias/x", TargetKeyId: "alias/a" }),
    ),
    { type: NotFoundException, name: "NotFoundException" },
  );
  await assertKmsError(
    client.send(new ListKeysCommand({ Marker: "bogus" })),
    { type: InvalidMarkerException, name: "InvalidMarkerException" },
  );
  await assertKmsError(
    client.send(new ListKeysCommand({ Limit: 1001 })),
    { name: "ValidationException", message: "less than or equal to 1000" },
  );

  await client.send(new DeleteAliasCommand({ AliasName: "alias/a" }));
  await assertKmsError(
    client.send(new DescribeKeyCommand({ KeyId: "alias/a" })),
    { type: NotFoundException, name: "NotFoundException" },
  );
  await assertKmsError(
    client.send(new DeleteAliasCommand({ AliasName: "alias/a" })),
    { type: NotFoundException, name: "NotFoundException" },
  );
  client.destroy();
});

Deno.test("local KMS key states and deletion", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms);
  const meta = await createKey(client, "ECC_NIST_P256");
  const keyId = meta.KeyId!;
  const signature = (await sign(client, keyId, "ECDSA_SHA_256")).Signature!;
  const verify = () =>
    client.send(
      new VerifyCommand({
        KeyId: keyId,
        Message: MESSAGE,
        Signature: signature,
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    );
  const getPublicKey = () =>
    client.send(new GetPublicKeyCommand({ KeyId: keyId }));

  await client.send(new DisableKeyCommand({ KeyId: keyId }));
  let described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.equal(described.KeyMetadata!.KeyState, "Disabled");
  assert.equal(described.KeyMetadata!.Enabled, false);
  const disabled = {
    type: DisabledException,
    name: "DisabledException",
    message: `${meta.Arn} is disabled.`,
  };
  await assertKmsError(sign(client, keyId, "ECDSA_SHA_256"), disabled);
  await assertKmsError(verify(), disabled);
  await assertKmsError(getPublicKey(), disabled);

  await client.send(new EnableKeyCommand({ KeyId: meta.Arn }));
  described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.equal(described.KeyMetadata!.KeyState, "Enabled");
  assert.equal((await verify()).SignatureValid, true);

  await assertKmsError(
    client.send(new CancelKeyDeletionCommand({ KeyId: keyId })),
    {
      type: KMSInvalidStateException,
      name: "KMSInvalidStateException",
      message: "is not pending deletion",
    },
  );
  await assertKmsError(
    client.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 6 }),
    ),
    { name: "ValidationException", message: "7 to 30" },
  );
  const start = Date.now();
  const scheduled = await client.send(
    new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
  );
  assert.equal(scheduled.KeyId, meta.Arn);
  assert.equal(scheduled.KeyState, "PendingDeletion");
  assert.equal(scheduled.PendingWindowInDays, 7);
  const expected = start + 7 * 24 * 3600 * 1000;
  assert.ok(Math.abs(scheduled.DeletionDate!.getTime() - expected) < 5000);
  described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.equal(described.KeyMetadata!.KeyState, "PendingDeletion");
  assert.equal(described.KeyMetadata!.PendingDeletionWindowInDays, 7);
  assert.deepEqual(described.KeyMetadata!.DeletionDate, scheduled.DeletionDate);
  const pending = {
    type: KMSInvalidStateException,
    name: "KMSInvalidStateException",
    message: `${meta.Arn} is pending deletion.`,
  };
  await assertKmsError(sign(client, keyId, "ECDSA_SHA_256"), pending);
  await assertKmsError(verify(), pending);
  await assertKmsError(getPublicKey(), pending);
  await assertKmsError(
    client.send(new DisableKeyCommand({ KeyId: keyId })),
    pending,
  );
  await assertKmsError(
    client.send(new EnableKeyCommand({ KeyId: keyId })),
    pending,
  );
  await assertKmsError(
    client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId })),
    pending,
  );
  await assertKmsError(
    client.send(
      new CreateAliasCommand({ AliasName: "alias/late", TargetKeyId: keyId }),
    ),
    pending,
  );

  // Canceling leaves the key Disabled, as in KMS.
  const canceled = await client.send(
    new CancelKeyDeletionCommand({ KeyId: keyId }),
  );
  assert.equal(canceled.KeyId, meta.Arn);
  described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.equal(described.KeyMetadata!.KeyState, "Disabled");
  assert.equal(described.KeyMetadata!.DeletionDate, undefined);

  // The default waiting period is 30 days.
  const thirty = await client.send(
    new ScheduleKeyDeletionCommand({ KeyId: keyId }),
  );
  assert.equal(thirty.PendingWindowInDays, 30);
  client.destroy();
});

Deno.test("local KMS sign and verify errors", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms);
  const p256 = (await createKey(client, "ECC_NIST_P256")).KeyId!;
  const ed = (await createKey(client, "ECC_NIST_EDWARDS25519")).KeyId!;
  const mlDsa = (await createKey(client, "ML_DSA_44")).KeyId!;
  const symmetric = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
  const hmac = await createKey(client, "HMAC_256", "GENERATE_VERIFY_MAC");
  const rsaCrypt = await createKey(client, "RSA_2048", "ENCRYPT_DECRYPT");
  const agreement = await createKey(client, "ECC_NIST_P256", "KEY_AGREEMENT");

  for (const key of [symmetric, hmac, rsaCrypt, agreement]) {
    await assertKmsError(sign(client, key.KeyId!, "ECDSA_SHA_256"), {
      type: InvalidKeyUsageException,
      name: "InvalidKeyUsageException",
      message:
        `${key.Arn} key usage is ${key.KeyUsage} which is not valid for Sign.`,
    });
  }
  await assertKmsError(sign(client, p256, "RSASSA_PSS_SHA_256"), {
    type: InvalidKeyUsageException,
    name: "InvalidKeyUsageException",
    message:
      "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.",
  });
  await assertKmsError(sign(client, p256, "ECDSA_SHA_384"), {
    type: InvalidKeyUsageException,
    name: "InvalidKeyUsageException",
  });

  const validation: [string, () => Promise<unknown>, string][] = [
    [
      "short digest",
      () => sign(client, p256, "ECDSA_SHA_256", new Uint8Array(31), "DIGEST"),
      "Digest is invalid length for algorithm ECDSA_SHA_256.",
    ],
    [
      "long digest",
      () => sign(client, p256, "ECDSA_SHA_256", new Uint8Array(48), "DIGEST"),
      "Digest is invalid length for algorithm ECDSA_SHA_256.",
    ],
    [
      "Ed25519ph digest",
      () =>
        sign(client, ed, "ED25519_PH_SHA_512", new Uint8Array(32), "DIGEST"),
      "Digest is invalid length for algorithm ED25519_PH_SHA_512.",
    ],
    [
      "RAW over 4096",
      () => sign(client, p256, "ECDSA_SHA_256", new Uint8Array(4097)),
      "Member must have length less than or equal to 4096",
    ],
    [
      "empty message",
      () => sign(client, p256, "ECDSA_SHA_256", new Uint8Array(0)),
      "Member must have length greater than or equal to 1",
    ],
    [
      "no algorithm",
      () =>
        client.send(
          new SignCommand({ KeyId: p256, Message: MESSAGE } as never),
        ),
      "Value null at 'signingAlgorithm' failed to satisfy constraint: " +
      "Member must not be null",
    ],
    [
      "unknown algorithm",
      () => sign(client, p256, "ECDSA_SHA_1"),
      "Value 'ECDSA_SHA_1' at 'signingAlgorithm' failed to satisfy " +
      "constraint: Member must satisfy enum value set",
    ],
    [
      "unknown message type",
      () => sign(client, p256, "ECDSA_SHA_256", MESSAGE, "HASHED"),
      "at 'messageType' failed to satisfy constraint",
    ],
    [
      "no key id",
      () =>
        client.send(
          new SignCommand({
            Message: MESSAGE,
            SigningAlgorithm: "ECDSA_SHA_256",
          } as never),
        ),
      "Value null at 'keyId'",
    ],
    [
      "Ed25519 DIGEST",
      () => sign(client, ed, "ED25519_SHA_512", new Uint8Array(64), "DIGEST"),
      "Message type DIGEST is incompatible with signing algorithm " +
      "ED25519_SHA_512.",
    ],
    [
      "Ed25519ph RAW",
      () => sign(client, ed, "ED25519_PH_SHA_512", MESSAGE),
      "Message type RAW is incompatible with signing algorithm " +
      "ED25519_PH_SHA_512.",
    ],
    [
      "EXTERNAL_MU on ECDSA",
      () =>
        sign(client, p256, "ECDSA_SHA_256", new Uint8Array(64), "EXTERNAL_MU"),
      "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256.",
    ],
    [
      "ML-DSA DIGEST",
      () =>
        sign(client, mlDsa, "ML_DSA_SHAKE_256", new Uint8Array(64), "DIGEST"),
      "Message type DIGEST is incompatible with key spec ML_DSA_44.",
    ],
    [
      "short external mu",
      () =>
        sign(
          client,
          mlDsa,
          "ML_DSA_SHAKE_256",
          new Uint8Array(32),
          "EXTERNAL_MU",
        ),
      "External mu is invalid length",
    ],
  ];
  for (const [name, call, message] of validation) {
    await assertKmsError(call(), { name: "ValidationException", message })
      .catch(
        (error) => {
          throw new Error(`${name}: ${error.message}`);
        },
      );
  }

  // DryRun checks the request, then stops short of signing.
  await assertKmsError(
    client.send(
      new SignCommand({
        KeyId: p256,
        Message: MESSAGE,
        SigningAlgorithm: "ECDSA_SHA_256",
        DryRun: true,
      }),
    ),
    {
      type: DryRunOperationException,
      name: "DryRunOperationException",
      status: 412,
    },
  );

  // A bad signature is an error, never SignatureValid false.
  const good = (await sign(client, p256, "ECDSA_SHA_256")).Signature!;
  const bad = good.slice();
  bad[bad.length - 1]! ^= 1;
  for (const signature of [bad, new Uint8Array(8), new Uint8Array(64)]) {
    await assertKmsError(
      client.send(
        new VerifyCommand({
          KeyId: p256,
          Message: MESSAGE,
          Signature: signature,
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      ),
      {
        type: KMSInvalidSignatureException,
        name: "KMSInvalidSignatureException",
      },
    );
  }
  // The right signature with another message fails too.
  await assertKmsError(
    client.send(
      new VerifyCommand({
        KeyId: p256,
        Message: new Uint8Array([1]),
        Signature: good,
        SigningAlgorithm: "ECDSA_SHA_256",
      }),
    ),
    {
      type: KMSInvalidSignatureException,
      name: "KMSInvalidSignatureException",
    },
  );

  for (const key of [symmetric, hmac]) {
    await assertKmsError(
      client.send(new GetPublicKeyCommand({ KeyId: key.KeyId })),
      {
        type: UnsupportedOperationException,
        name: "UnsupportedOperationException",
        message: "not an asymmetric key spec",
      },
    );
  }
  // GetPublicKey reports the usage's algorithms.
  const agreed = await client.send(
    new GetPublicKeyCommand({ KeyId: agreement.KeyId }),
  );
  assert.deepEqual(agreed.KeyAgreementAlgorithms, ["ECDH"]);
  assert.equal(agreed.SigningAlgorithms, undefined);
  const encrypting = await client.send(
    new GetPublicKeyCommand({ KeyId: rsaCrypt.KeyId }),
  );
  assert.equal(encrypting.KeySpec, "RSA_2048");
  assert.deepEqual(encrypting.EncryptionAlgorithms, [
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
  ]);
  client.destroy();
});

async function post(
  kms: LocalKms,
  headers: Record<string, string>,
  body = "{}",
): Promise<
  { status: number; requestId: string | null; json: Record<string, string> }
> {
  const response = await fetch(`${kms.url}/`, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", ...headers },
    body,
  });
  return {
    status: response.status,
    requestId: response.headers.get("x-amzn-requestid"),
    json: await response.json(),
  };
}

const GOOD_AUTH = "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kms/" +
  "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64);

Deno.test("local KMS protocol and SigV4 checks", async () => {
  await using kms = await startLocalKms();
  const target = { "x-amz-target": "TrentService.ListKeys" };
  const dated = { "x-amz-date": "20250101T000000Z" };
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ["no header", target, "MissingAuthenticationTokenException", /Missing/],
    [
      "not SigV4",
      { ...target, ...dated, authorization: "Bearer abc" },
      "IncompleteSignatureException",
      /Credential/,
    ],
    [
      "no signature",
      {
        ...target,
        ...dated,
        authorization: GOOD_AUTH.replace(/, Signature=0+/, ""),
      },
      "IncompleteSignatureException",
      /Signature/,
    ],
    [
      "short scope",
      {
        ...target,
        ...dated,
        authorization: GOOD_AUTH.replace("us-east-1/kms/", ""),
      },
      "IncompleteSignatureException",
      /Credential/,
    ],
    [
      "other region",
      {
        ...target,
        ...dated,
        authorization: GOOD_AUTH.replace("us-east-1", "eu-west-1"),
      },
      "InvalidSignatureException",
      /not 'eu-west-1'.*serves 'us-east-1'/,
    ],
    [
      "other service",
      {
        ...target,
        ...dated,
        authorization: GOOD_AUTH.replace("/kms/", "/s3/"),
      },
      "InvalidSignatureException",
      /'kms', not 's3'/,
    ],
    [
      "no date",
      { ...target, authorization: GOOD_AUTH },
      "IncompleteSignatureException",
      /X-Amz-Date/,
    ],
    [
      "unknown operation",
      {
        ...dated,
        authorization: GOOD_AUTH,
        "x-amz-target": "TrentService.Encrypt",
      },
      "UnknownOperationException",
      /TrentService.Encrypt/,
    ],
    [
      "no target",
      { ...dated, authorization: GOOD_AUTH },
      "UnknownOperationException",
      /TrentService/,
    ],
  ];
  for (const [name, headers, type, message] of cases) {
    const result = await post(kms, headers);
    assert.equal(result.status, 400, name);
    assert.equal(result.json.__type, type, name);
    assert.match(result.json.message!, message, name);
    assert.match(result.requestId ?? "", UUID, name);
  }
  const signed = { ...target, ...dated, authorization: GOOD_AUTH };
  const garbage = await post(kms, signed, "{not json");
  assert.equal(garbage.status, 400);
  assert.equal(garbage.json.__type, "SerializationException");
  const listed = await post(kms, signed);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json, { Keys: [], Truncated: false });
  assert.match(listed.requestId ?? "", UUID);
  const get = await fetch(`${kms.url}/`);
  assert.equal(get.status, 400);
  assert.equal((await get.json()).__type, "UnknownOperationException");
  assert.deepEqual(
    kms.calls.slice(-3).map((call) => [call.operation, call.outcome]),
    [["ListKeys", "SerializationException"], ["ListKeys", "OK"], [
      "-",
      "UnknownOperationException",
    ]],
  );
});

Deno.test("local KMS verifies SigV4 signatures", async () => {
  await using kms = await startLocalKms({
    credentials: { accessKeyId: "AKIDGOOD", secretAccessKey: "right" },
  });
  const good = clientFor(kms, { accessKeyId: "AKIDGOOD", secret: "right" });
  const meta = await createKey(good, "ECC_NIST_P256");
  const signed = await sign(good, meta.KeyId!, "ECDSA_SHA_256");
  assert.ok(signed.Signature!.length > 0);
  const wrongSecret = clientFor(kms, {
    accessKeyId: "AKIDGOOD",
    secret: "wrong",
    maxAttempts: 1,
  });
  await assertKmsError(wrongSecret.send(new ListKeysCommand({})), {
    name: "InvalidSignatureException",
    message: "signature we calculated does not match",
  });
  const wrongKey = clientFor(kms, { accessKeyId: "AKIDOTHER", maxAttempts: 1 });
  await assertKmsError(wrongKey.send(new ListKeysCommand({})), {
    name: "UnrecognizedClientException",
  });
  for (const client of [good, wrongSecret, wrongKey]) client.destroy();
});

Deno.test("local KMS binds loopback only", async () => {
  for (
    const hostname of [
      "0.0.0.0",
      "192.168.1.10",
      "10.0.0.1",
      "::",
      "example.com",
      "127.0.0.256",
    ]
  ) {
    await assert.rejects(
      startLocalKms({ hostname }),
      (error: unknown) => {
        assert.ok(isKmsToolkitError(error, "USAGE"), String(error));
        assert.match(error.message, /not a loopback address/);
        return true;
      },
    );
  }
  for (const hostname of ["127.0.0.1", "127.0.0.2", "localhost", "::1"]) {
    await using kms = await startLocalKms({ hostname });
    assert.ok(kms.port > 0);
    const expectedHost = hostname === "::1" ? "[::1]" : hostname;
    assert.equal(kms.url, `http://${expectedHost}:${kms.port}`);
    const response = await fetch(`${kms.url}/`, { method: "POST", body: "{}" });
    assert.equal(response.status, 400);
    await response.body?.cancel();
  }
});

Deno.test("local KMS state file survives restart", async () => {
  await using dir = await tempDir();
  const statePath = `${dir.path}/state.json`;
  let keyId: string;
  let disabledId: string;
  let spki: Uint8Array;
  {
    await using kms = await startLocalKms({ statePath });
    const client = clientFor(kms);
    keyId = (await createKey(client, "ECC_NIST_P256")).KeyId!;
    disabledId = (await createKey(client, "RSA_2048")).KeyId!;
    await client.send(
      new CreateAliasCommand({ AliasName: "alias/kept", TargetKeyId: keyId }),
    );
    await client.send(new DisableKeyCommand({ KeyId: disabledId }));
    spki = (await client.send(new GetPublicKeyCommand({ KeyId: keyId })))
      .PublicKey!;
    client.destroy();
  }
  const info = await Deno.stat(statePath);
  assert.equal(info.mode! & 0o777, 0o600);
  // Only the state file: the temporary files were renamed over it.
  const names = [];
  for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
  assert.deepEqual(names, ["state.json"]);
  const state = JSON.parse(await Deno.readTextFile(statePath));
  assert.match(state.warning, /PRIVATE key material/);

  await using kms = await startLocalKms({ statePath });
  const client = clientFor(kms);
  const again = await client.send(
    new GetPublicKeyCommand({ KeyId: "alias/kept" }),
  );
  assert.equal(again.KeyId, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
  assert.deepEqual(again.PublicKey, spki);
  const described = await client.send(
    new DescribeKeyCommand({ KeyId: disabledId }),
  );
  assert.equal(described.KeyMetadata!.KeyState, "Disabled");
  // The reloaded private key still signs for the old public key.
  const signature = (await sign(client, "alias/kept", "ECDSA_SHA_256"))
    .Signature!;
  const publicKey = await crypto.subtle.importKey(
    "spki",
    spki.slice(),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const [r, s] = derInts(signature);
  const raw = new Uint8Array(64);
  raw.set(r, 32 - r.length);
  raw.set(s, 64 - s.length);
  assert.ok(
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      publicKey,
      raw,
      MESSAGE,
    ),
  );
  await client.send(new EnableKeyCommand({ KeyId: disabledId }));
  await sign(client, disabledId, "RSASSA_PSS_SHA_256");
  assert.equal((await Deno.stat(statePath)).mode! & 0o777, 0o600);
  client.destroy();

  // A file that is not a state file is refused.
  await Deno.writeTextFile(`${dir.path}/other.json`, '{"keys": []}');
  await assert.rejects(
    startLocalKms({ statePath: `${dir.path}/other.json` }),
    (error: unknown) => {
      assert.ok(isKmsToolkitError(error, "IO_FAILED"));
      assert.match(error.message, /not a local KMS state file/);
      return true;
    },
  );
});

/** Reads the two INTEGERs of a short DER `SEQUENCE { r, s }` without sign bytes. */
function derInts(der: Uint8Array): [Uint8Array, Uint8Array] {
  assert.equal(der[0], 0x30);
  let offset = der[1]! & 0x80 ? 3 : 2;
  const ints: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    assert.equal(der[offset], 0x02);
    const length = der[offset + 1]!;
    let value = der.subarray(offset + 2, offset + 2 + length);
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    ints.push(value);
    offset += 2 + length;
  }
  return [ints[0]!, ints[1]!];
}

Deno.test("local KMS delay and throttle faults", async () => {
  await using kms = await startLocalKms({ faults: { delayMs: 300 } });
  const once = clientFor(kms, { maxAttempts: 1 });
  let started = performance.now();
  await once.send(new ListKeysCommand({}));
  assert.ok(performance.now() - started >= 290);

  kms.setFaults({ throttleFirst: 1 });
  await assertKmsError(once.send(new ListKeysCommand({})), {
    name: "ThrottlingException",
    message: "Rate exceeded",
  });
  await once.send(new ListKeysCommand({}));

  // The SDK retries throttling; the log shows each attempt.
  kms.setFaults({ throttleFirst: 2 });
  const retrying = clientFor(kms);
  const before = kms.calls.length;
  started = performance.now();
  await retrying.send(new ListKeysCommand({}));
  assert.deepEqual(kms.calls.slice(before).map((call) => call.outcome), [
    "ThrottlingException",
    "ThrottlingException",
    "OK",
  ]);

  kms.setFaults({ failFirst: 1 });
  await assertKmsError(once.send(new ListKeysCommand({})), {
    type: KMSInternalException,
    name: "KMSInternalException",
    status: 500,
  });
  await once.send(new ListKeysCommand({}));
  assert.equal(kms.calls.at(-2)!.outcome, "KMSInternalException");
  assert.equal(kms.calls.at(-1)!.outcome, "OK");
  assert.throws(() => kms.setFaults({ throttleFirst: -1 }), RangeError);
  once.destroy();
  retrying.destroy();
});

Deno.test("local KMS lying faults", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms, { maxAttempts: 1 });
  const meta = await createKey(client, "ECC_NIST_P256");
  const real =
    (await client.send(new GetPublicKeyCommand({ KeyId: meta.KeyId })))
      .PublicKey!;

  kms.setFaults({ wrongPublicKey: true });
  const decoy = await client.send(
    new GetPublicKeyCommand({ KeyId: meta.KeyId }),
  );
  assert.equal(decoy.KeySpec, "ECC_NIST_P256");
  assert.notDeepEqual(decoy.PublicKey, real);
  assert.equal(decoy.PublicKey!.length, real.length);
  const again = await client.send(
    new GetPublicKeyCommand({ KeyId: meta.KeyId }),
  );
  assert.deepEqual(again.PublicKey, decoy.PublicKey, "the decoy is fixed");
  const decoyKey = await crypto.subtle.importKey(
    "spki",
    decoy.PublicKey!.slice(),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const signature = (await sign(client, meta.KeyId!, "ECDSA_SHA_256"))
    .Signature!;
  const [r, s] = derInts(signature);
  const raw = new Uint8Array(64);
  raw.set(r, 32 - r.length);
  raw.set(s, 64 - s.length);
  assert.equal(
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      decoyKey,
      raw,
      MESSAGE,
    ),
    false,
  );

  kms.setFaults({ garbageSignature: true });
  const rsa = await createKey(client, "RSA_2048");
  for (
    const [keyId, algorithm, length] of [
      [meta.KeyId!, "ECDSA_SHA_256", 70],
      [rsa.KeyId!, "RSASSA_PKCS1_V1_5_SHA_256", 256],
    ] as const
  ) {
    const garbage = (await sign(client, keyId, algorithm)).Signature!;
    assert.equal(garbage.length, length);
    kms.setFaults({});
    await assertKmsError(
      client.send(
        new VerifyCommand({
          KeyId: keyId,
          Message: MESSAGE,
          Signature: garbage,
          SigningAlgorithm: algorithm,
        }),
      ),
      {
        type: KMSInvalidSignatureException,
        name: "KMSInvalidSignatureException",
      },
    );
    kms.setFaults({ garbageSignature: true });
  }
  client.destroy();
});

Deno.test("local KMS connection faults", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms, { maxAttempts: 1 });
  await createKey(client, "ECC_NIST_P256");

  kms.setFaults({ truncateResponse: true });
  await assert.rejects(client.send(new ListKeysCommand({})));
  assert.deepEqual(kms.calls.at(-1), {
    operation: "ListKeys",
    outcome: "TruncatedResponse",
  });
  // Raw: the status line and headers arrive, the body breaks off.
  const response = await fetch(`${kms.url}/`, {
    method: "POST",
    headers: {
      "x-amz-target": "TrentService.ListKeys",
      "content-type": "application/x-amz-json-1.1",
      "x-amz-date": "20250101T000000Z",
      authorization: GOOD_AUTH,
    },
    body: "{}",
  });
  assert.equal(response.status, 200);
  await assert.rejects(response.text());

  kms.setFaults({ refuseConnections: true });
  await assert.rejects(client.send(new ListKeysCommand({})));
  assert.deepEqual(kms.calls.at(-1), {
    operation: "ListKeys",
    outcome: "RefusedConnection",
  });

  kms.setFaults({});
  const fine = await client.send(new ListKeysCommand({}));
  assert.equal(fine.Keys!.length, 1);
  client.destroy();
});

Deno.test("local KMS logs each request", async () => {
  const lines: string[] = [];
  await using kms = await startLocalKms({ log: (line) => lines.push(line) });
  const client = clientFor(kms);
  const meta = await createKey(client, "ECC_NIST_P256");
  await assertKmsError(
    client.send(new DescribeKeyCommand({ KeyId: "alias/none" })),
    { type: NotFoundException, name: "NotFoundException" },
  );
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^CreateKey ${meta.KeyId} OK \\d+ms$`));
  assert.match(lines[1]!, /^DescribeKey - NotFoundException \d+ms$/);
  assert.deepEqual(kms.calls, [
    { operation: "CreateKey", keyId: meta.KeyId, outcome: "OK" },
    { operation: "DescribeKey", outcome: "NotFoundException" },
  ]);
  client.destroy();
});

/** Reads from a connection until `done` accepts the text so far. */
async function readUntil(
  conn: Deno.Conn,
  done: (text: string) => boolean,
): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  while (!done(text)) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

Deno.test("local KMS keep-alive and 100-continue", async () => {
  await using kms = await startLocalKms();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: kms.port });
  const head = (extra: string, length: number) =>
    new TextEncoder().encode(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Content-Type: application/x-amz-json-1.1\r\n" +
        "X-Amz-Target: TrentService.ListKeys\r\n" +
        "X-Amz-Date: 20250101T000000Z\r\n" +
        `Authorization: ${GOOD_AUTH}\r\n${extra}` +
        `Content-Length: ${length}\r\n\r\n`,
    );
  const complete = (text: string) => text.endsWith('"Truncated":false}');

  // The server waits for the body only after sending 100 Continue.
  await conn.write(head("Expect: 100-continue\r\n", 2));
  const interim = await readUntil(conn, (text) => text.includes("\r\n\r\n"));
  assert.match(interim, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  await conn.write(new TextEncoder().encode("{}"));
  const first = await readUntil(conn, complete);
  assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(first, /\r\nConnection: keep-alive\r\n/i);
  assert.match(first, /\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n/);

  // A second request on the same connection.
  await conn.write(head("", 2));
  await conn.write(new TextEncoder().encode("{}"));
  const second = await readUntil(conn, complete);
  assert.match(second, /^HTTP\/1\.1 200 OK\r\n/);
  conn.close();
  assert.deepEqual(kms.calls.map((call) => call.outcome), ["OK", "OK"]);
});

Deno.test("local KMS state write failure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kms-toolkit-test-" });
  await using kms = await startLocalKms({ statePath: `${dir}/state.json` });
  await Deno.remove(dir, { recursive: true });
  const client = clientFor(kms, { maxAttempts: 1 });
  await assertKmsError(
    client.send(new CreateKeyCommand({})),
    {
      type: KMSInternalException,
      name: "KMSInternalException",
      status: 500,
      message: "Cannot write state file",
    },
  );
  assert.deepEqual(kms.calls.at(-1)!.outcome, "KMSInternalException");
  client.destroy();
});

Deno.test("local KMS createKey reuses aliases", async () => {
  await using kms = await startLocalKms();
  const client = clientFor(kms);
  const first = await kms.createKey("ECC_NIST_P256", { alias: "alias/app" });
  assert.equal(first.created, true);
  assert.equal(first.keyState, "Enabled");
  const spki =
    (await client.send(new GetPublicKeyCommand({ KeyId: "alias/app" })))
      .PublicKey!;

  const again = await kms.createKey("ECC_NIST_P256", {
    alias: "alias/app",
    reuseAlias: true,
  });
  assert.deepEqual(again, { ...first, created: false });
  const reused = await client.send(
    new GetPublicKeyCommand({ KeyId: again.keyId }),
  );
  assert.deepEqual(reused.PublicKey, spki);

  // Refusals come before any key is made: still one key afterwards.
  const refusals: [
    string,
    { keyUsage?: string; reuseAlias?: boolean },
    RegExp,
  ][] = [
    [
      "ECC_NIST_P256",
      {},
      /AlreadyExistsException: .*alias\/app already exists/,
    ],
    [
      "RSA_2048",
      { reuseAlias: true },
      new RegExp(
        `^Cannot reuse alias 'alias/app' for a RSA_2048 SIGN_VERIFY key: it ` +
          `points at key ${first.keyId}, a ECC_NIST_P256 SIGN_VERIFY key\\.`,
      ),
    ],
    [
      "ECC_NIST_P256",
      { keyUsage: "KEY_AGREEMENT", reuseAlias: true },
      /for a ECC_NIST_P256 KEY_AGREEMENT key: .* a ECC_NIST_P256 SIGN_VERIFY key/,
    ],
  ];
  for (const [keySpec, options, message] of refusals) {
    await assert.rejects(
      kms.createKey(keySpec, { alias: "alias/app", ...options }),
      (error: unknown) => {
        assert.ok(isKmsToolkitError(error, "INVALID_INPUT"), String(error));
        assert.match(error.message, message);
        return true;
      },
    );
  }
  const keys = await client.send(new ListKeysCommand({}));
  assert.deepEqual(keys.Keys!.map((key) => key.KeyId), [first.keyId]);

  // Without an alias every call makes a new key.
  const plain = await kms.createKey("ECC_NIST_P256", { reuseAlias: true });
  assert.equal(plain.created, true);
  assert.notEqual(plain.keyId, first.keyId);

  // A reused key keeps its state, so callers can warn about it.
  await client.send(new DisableKeyCommand({ KeyId: first.keyId }));
  const disabled = await kms.createKey("ECC_NIST_P256", {
    alias: "alias/app",
    reuseAlias: true,
  });
  assert.equal(disabled.keyState, "Disabled");
  assert.equal(disabled.created, false);
  client.destroy();
});

Deno.test("local KMS counts loaded state", async () => {
  await using dir = await tempDir();
  const statePath = `${dir.path}/state.json`;
  {
    await using memory = await startLocalKms();
    assert.equal(memory.loaded, undefined);
  }
  {
    await using kms = await startLocalKms({ statePath });
    assert.deepEqual(kms.loaded, { found: false, keys: 0, aliases: 0 });
    await kms.createKey("ECC_NIST_P256", { alias: "alias/one" });
    await kms.createKey("ECC_NIST_P256", { alias: "alias/two" });
    await kms.createKey("RSA_2048");
    // A key past its deletion date is not counted, nor is its alias.
    const client = clientFor(kms);
    const doomed = await kms.createKey("ECC_NIST_P256", { alias: "alias/x" });
    await client.send(
      new ScheduleKeyDeletionCommand({
        KeyId: doomed.keyId,
        PendingWindowInDays: 7,
      }),
    );
    client.destroy();
  }
  const state = JSON.parse(await Deno.readTextFile(statePath));
  const doomed = state.keys.find((key: { state: string }) =>
    key.state === "PendingDeletion"
  );
  doomed.deletionDate = Date.now() - 1000;
  await Deno.writeTextFile(statePath, JSON.stringify(state));
  await using kms = await startLocalKms({ statePath });
  assert.deepEqual(kms.loaded, { found: true, keys: 3, aliases: 2 });
});

Deno.test("local KMS checks state folder", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "");
  const cases: [string, RegExp][] = [
    [
      `${dir.path}/missing/state.json`,
      /: its folder '.*\/missing' does not exist\. Create the folder/,
    ],
    [`${dir.path}/file/state.json`, /: '.*\/file' is not a folder\./],
  ];
  for (const [statePath, reason] of cases) {
    await assert.rejects(startLocalKms({ statePath }), (error: unknown) => {
      assert.ok(isKmsToolkitError(error, "IO_FAILED"), String(error));
      assert.ok(
        error.message.startsWith(`Cannot use state file '${statePath}'`),
        error.message,
      );
      assert.match(error.message, reason);
      return true;
    });
  }
  // The probe file is gone once the endpoint runs.
  {
    await using _kms = await startLocalKms({
      statePath: `${dir.path}/state.json`,
    });
    const names = [];
    for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
    assert.deepEqual(names, ["file"]);
  }
});
