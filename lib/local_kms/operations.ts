/**
 * The KMS operations that the local endpoint serves, with the request
 * checks, key state rules and response shapes of AWS KMS.
 *
 * @module
 */

import {
  generateKeyMaterial,
  type KeyMaterial,
  spkiOf,
} from "./key_material.ts";
import type { KeyRecord, KeyStore } from "./key_store.ts";
import {
  KmsError,
  readBlob,
  readBoolean,
  readInteger,
  readString,
  type RequestBody,
  validationError,
} from "./protocol.ts";
import {
  checkSignatureRequest,
  garbageSignature,
  MESSAGE_TYPE_VALUES,
  type SignatureRequest,
  SIGNING_ALGORITHM_VALUES,
  signingAlgorithmsOf,
  signMessage,
  verifyMessage,
} from "./signing.ts";
import type { FaultOptions } from "./faults.ts";

/** The state and hooks that an operation uses besides its request. */
export interface OperationContext {
  /** The keys and aliases. */
  store: KeyStore;
  /** The active faults. */
  faults: Readonly<FaultOptions>;
  /** Gives the fixed decoy key of a key spec, for `wrongPublicKey`. */
  decoy(keySpec: string): Promise<KeyMaterial>;
  /** Set by the operation: the key id it acted on, for the call log. */
  keyId?: string;
}

/** One operation: checks its request and returns the response body. */
export type Operation = (
  body: RequestBody,
  context: OperationContext,
) => Promise<Record<string, unknown>>;

const KEY_SPEC_VALUES = [
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "ECC_NIST_P256",
  "ECC_NIST_P384",
  "ECC_NIST_P521",
  "ECC_SECG_P256K1",
  "SYMMETRIC_DEFAULT",
  "HMAC_224",
  "HMAC_256",
  "HMAC_384",
  "HMAC_512",
  "SM2",
  "ML_KEM_512",
  "ML_KEM_768",
  "ML_KEM_1024",
  "ML_DSA_44",
  "ML_DSA_65",
  "ML_DSA_87",
  "ECC_NIST_EDWARDS25519",
];

// The key specs of the deprecated CustomerMasterKeySpec enum.
const CUSTOMER_MASTER_KEY_SPECS = KEY_SPEC_VALUES.filter((spec) =>
  !/^(ML_|ECC_NIST_EDWARDS)/.test(spec)
);

const KEY_USAGE_VALUES = [
  "SIGN_VERIFY",
  "ENCRYPT_DECRYPT",
  "GENERATE_VERIFY_MAC",
  "KEY_AGREEMENT",
  "ENCAPSULATE_DECAPSULATE",
];

function usagesOf(keySpec: string): string[] {
  if (keySpec === "SYMMETRIC_DEFAULT") return ["ENCRYPT_DECRYPT"];
  if (keySpec.startsWith("HMAC_")) return ["GENERATE_VERIFY_MAC"];
  if (keySpec.startsWith("RSA_")) return ["ENCRYPT_DECRYPT", "SIGN_VERIFY"];
  if (/^ECC_NIST_P\d+$/.test(keySpec)) return ["SIGN_VERIFY", "KEY_AGREEMENT"];
  if (keySpec === "SM2") {
    return ["SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"];
  }
  if (keySpec.startsWith("ML_KEM_")) return ["ENCAPSULATE_DECAPSULATE"];
  return ["SIGN_VERIFY"];
}

function algorithmMembers(key: KeyRecord): Record<string, string[]> {
  switch (key.keyUsage) {
    case "SIGN_VERIFY":
      return { SigningAlgorithms: signingAlgorithmsOf(key.keySpec) };
    case "KEY_AGREEMENT":
      return { KeyAgreementAlgorithms: ["ECDH"] };
    case "GENERATE_VERIFY_MAC":
      return { MacAlgorithms: [`HMAC_SHA_${key.keySpec.slice(5)}`] };
    case "ENCRYPT_DECRYPT":
      return {
        EncryptionAlgorithms: key.keySpec === "SYMMETRIC_DEFAULT"
          ? ["SYMMETRIC_DEFAULT"]
          : key.keySpec === "SM2"
          ? ["SM2PKE"]
          : ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
      };
  }
  return {};
}

function seconds(ms: number): number {
  return ms / 1000;
}

function keyMetadata(key: KeyRecord, store: KeyStore): Record<string, unknown> {
  return {
    AWSAccountId: store.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: seconds(key.creationDate),
    Enabled: key.state === "Enabled",
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate !== undefined
      ? {
        DeletionDate: seconds(key.deletionDate),
        PendingDeletionWindowInDays: key.pendingWindowInDays,
      }
      : {}),
    Origin: "AWS_KMS",
    KeyManager: "CUSTOMER",
    ...(CUSTOMER_MASTER_KEY_SPECS.includes(key.keySpec)
      ? { CustomerMasterKeySpec: key.keySpec }
      : {}),
    KeySpec: key.keySpec,
    ...algorithmMembers(key),
    MultiRegion: key.multiRegion,
    ...(key.multiRegion
      ? {
        MultiRegionConfiguration: {
          MultiRegionKeyType: "PRIMARY",
          PrimaryKey: { Arn: key.arn, Region: store.region },
          ReplicaKeys: [],
        },
      }
      : {}),
  };
}

function requireKeyId(body: RequestBody): string {
  return readString(body, "KeyId", { required: true, max: 2048 })!;
}

function requireUsable(key: KeyRecord): void {
  if (key.state === "Disabled") {
    throw new KmsError("DisabledException", `${key.arn} is disabled.`);
  }
  if (key.state === "PendingDeletion") {
    throw new KmsError(
      "KMSInvalidStateException",
      `${key.arn} is pending deletion.`,
    );
  }
}

function refuseDryRun(body: RequestBody): void {
  if (readBoolean(body, "DryRun")) {
    throw new KmsError(
      "DryRunOperationException",
      "The request would have succeeded, but the DryRun option is set.",
      412,
    );
  }
}

const createKey: Operation = async (body, context) => {
  const keySpecMember = readString(body, "KeySpec", {
    values: KEY_SPEC_VALUES,
  });
  const legacySpec = readString(body, "CustomerMasterKeySpec", {
    values: CUSTOMER_MASTER_KEY_SPECS,
  });
  if (keySpecMember && legacySpec) {
    throw new KmsError(
      "ValidationException",
      "You cannot specify KeySpec and CustomerMasterKeySpec in the same " +
        "request. CustomerMasterKeySpec is deprecated.",
    );
  }
  const keySpec = keySpecMember ?? legacySpec ?? "SYMMETRIC_DEFAULT";
  const usageMember = readString(body, "KeyUsage", {
    values: KEY_USAGE_VALUES,
  });
  const description = readString(body, "Description", { min: 0, max: 8192 }) ??
    "";
  const origin = readString(body, "Origin", {
    values: ["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"],
  }) ?? "AWS_KMS";
  readString(body, "Policy", { max: 131072 });
  const multiRegion = readBoolean(body, "MultiRegion") ?? false;
  const tags = readTags(body);

  if (origin !== "AWS_KMS" || body.CustomKeyStoreId || body.XksKeyId) {
    throw new KmsError(
      "UnsupportedOperationException",
      `Cannot create a key with origin ${origin} or in a custom key store on ` +
        "this local endpoint. Leave Origin unset.",
    );
  }
  if (keySpec.startsWith("ML_KEM_")) {
    throw new KmsError(
      "UnsupportedOperationException",
      `Cannot create a ${keySpec} key on this local endpoint: ML-KEM is not ` +
        "implemented. Use a signing key spec.",
    );
  }
  const allowed = usagesOf(keySpec);
  if (usageMember === undefined && keySpec !== "SYMMETRIC_DEFAULT") {
    throw new KmsError(
      "ValidationException",
      "You must specify a KeyUsage value for all KMS keys except for " +
        "symmetric encryption keys.",
    );
  }
  const keyUsage = usageMember ?? "ENCRYPT_DECRYPT";
  if (!allowed.includes(keyUsage)) {
    throw new KmsError(
      "ValidationException",
      `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}. ` +
        `Use ${allowed.join(" or ")}.`,
    );
  }
  const material = await generateKeyMaterial(keySpec);
  const key = await context.store.addKey({
    keySpec,
    keyUsage,
    description,
    multiRegion,
    tags,
    material,
  });
  context.keyId = key.keyId;
  return { KeyMetadata: keyMetadata(key, context.store) };
};

function readTags(body: RequestBody): KeyRecord["tags"] {
  const value = body.Tags;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new KmsError(
      "SerializationException",
      "Cannot read member 'Tags': expected a list.",
    );
  }
  return value.map((tag) => {
    const entry = (tag ?? {}) as RequestBody;
    const TagKey = readString(entry, "TagKey", { required: true, max: 128 })!;
    const TagValue = readString(entry, "TagValue", {
      required: true,
      min: 0,
      max: 256,
    })!;
    return { TagKey, TagValue };
  });
}

const describeKey: Operation = (body, context) => {
  const key = context.store.resolve(requireKeyId(body));
  context.keyId = key.keyId;
  return Promise.resolve({ KeyMetadata: keyMetadata(key, context.store) });
};

const getPublicKey: Operation = async (body, context) => {
  const key = context.store.resolve(requireKeyId(body));
  context.keyId = key.keyId;
  requireUsable(key);
  if (key.material.kind === "SECRET") {
    throw new KmsError(
      "UnsupportedOperationException",
      `${key.arn} key spec ${key.keySpec} is not an asymmetric key spec; ` +
        "GetPublicKey works only on asymmetric KMS keys.",
    );
  }
  const material = context.faults.wrongPublicKey
    ? await context.decoy(key.keySpec)
    : key.material;
  return {
    KeyId: key.arn,
    PublicKey: spkiOf(material).toBase64(),
    ...(CUSTOMER_MASTER_KEY_SPECS.includes(key.keySpec)
      ? { CustomerMasterKeySpec: key.keySpec }
      : {}),
    KeySpec: key.keySpec,
    KeyUsage: key.keyUsage,
    ...algorithmMembers(key),
  };
};

function signatureRequest(
  body: RequestBody,
  context: OperationContext,
  operation: "Sign" | "Verify",
): { key: KeyRecord; request: SignatureRequest } {
  const keyId = requireKeyId(body);
  const message = readBlob(body, "Message", { required: true, max: 4096 })!;
  const messageType = readString(body, "MessageType", {
    values: MESSAGE_TYPE_VALUES,
  }) ?? "RAW";
  const algorithm = readString(body, "SigningAlgorithm", {
    required: true,
    values: SIGNING_ALGORITHM_VALUES,
  })!;
  const key = context.store.resolve(keyId);
  context.keyId = key.keyId;
  requireUsable(key);
  const request: SignatureRequest = {
    arn: key.arn,
    keySpec: key.keySpec,
    keyUsage: key.keyUsage,
    algorithm,
    messageType,
    message,
    operation,
  };
  checkSignatureRequest(request);
  return { key, request };
}

const sign: Operation = (body, context) => {
  const { key, request } = signatureRequest(body, context, "Sign");
  refuseDryRun(body);
  const signature = context.faults.garbageSignature
    ? garbageSignature(key.material)
    : signMessage(key.material, request);
  return Promise.resolve({
    KeyId: key.arn,
    Signature: signature.toBase64(),
    SigningAlgorithm: request.algorithm,
  });
};

const verify: Operation = (body, context) => {
  const signature = readBlob(body, "Signature", { required: true, max: 6144 })!;
  const { key, request } = signatureRequest(body, context, "Verify");
  refuseDryRun(body);
  if (!verifyMessage(key.material, request, signature)) {
    throw new KmsError(
      "KMSInvalidSignatureException",
      `The signature is not valid for ${key.arn} with ${request.algorithm} ` +
        `and message type ${request.messageType}.`,
    );
  }
  return Promise.resolve({
    KeyId: key.arn,
    SignatureValid: true,
    SigningAlgorithm: request.algorithm,
  });
};

function page<T>(
  items: T[],
  body: RequestBody,
): { items: T[]; more: Record<string, unknown> } {
  const limit = readInteger(body, "Limit", [1, 1000]) ?? 100;
  const marker = readString(body, "Marker", { max: 1024 });
  let start = 0;
  if (marker !== undefined) {
    const match = /^local-kms-marker-(\d+)$/.exec(marker);
    if (!match || Number(match[1]) > items.length) {
      throw new KmsError(
        "InvalidMarkerException",
        `Cannot use marker '${marker}': it is not a NextMarker of this ` +
          "endpoint. Repeat the request without it.",
      );
    }
    start = Number(match[1]);
  }
  const end = Math.min(items.length, start + limit);
  return {
    items: items.slice(start, end),
    more: end < items.length
      ? { NextMarker: `local-kms-marker-${end}`, Truncated: true }
      : { Truncated: false },
  };
}

const listKeys: Operation = (body, context) => {
  const { items, more } = page(context.store.keys(), body);
  return Promise.resolve({
    Keys: items.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })),
    ...more,
  });
};

const listAliases: Operation = (body, context) => {
  const keyId = readString(body, "KeyId", { max: 2048 });
  let aliases = context.store.aliases();
  if (keyId !== undefined) {
    const key = context.store.resolve(keyId, { allowAlias: false });
    context.keyId = key.keyId;
    aliases = aliases.filter((alias) => alias.targetKeyId === key.keyId);
  }
  const { items, more } = page(aliases, body);
  return Promise.resolve({
    Aliases: items.map((alias) => ({
      AliasName: alias.aliasName,
      AliasArn: context.store.arnOf("alias", alias.aliasName.slice(6)),
      TargetKeyId: alias.targetKeyId,
      CreationDate: seconds(alias.creationDate),
      LastUpdatedDate: seconds(alias.lastUpdatedDate),
    })),
    ...more,
  });
};

function readAliasName(body: RequestBody): string {
  const name = readString(body, "AliasName", { required: true, max: 256 })!;
  if (!/^[a-zA-Z0-9:/_-]+$/.test(name)) {
    throw validationError(
      "AliasName",
      name,
      "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    );
  }
  if (!name.startsWith("alias/") || name.length === 6) {
    throw new KmsError(
      "ValidationException",
      `Alias must start with the prefix "alias/" and name something: '${name}'.`,
    );
  }
  if (name.includes(":")) {
    throw new KmsError(
      "ValidationException",
      `${name} contains invalid characters for an alias`,
    );
  }
  return name;
}

const createAlias: Operation = async (body, context) => {
  const aliasName = readAliasName(body);
  const target = readString(body, "TargetKeyId", {
    required: true,
    max: 2048,
  })!;
  if (aliasName.startsWith("alias/aws/")) {
    throw new KmsError(
      "ValidationException",
      `Cannot create alias '${aliasName}': the prefix alias/aws/ is reserved ` +
        "for AWS managed keys. Choose another name.",
    );
  }
  const key = context.store.resolve(target, { allowAlias: false });
  context.keyId = key.keyId;
  if (key.state === "PendingDeletion") {
    throw new KmsError(
      "KMSInvalidStateException",
      `${key.arn} is pending deletion.`,
    );
  }
  await context.store.createAlias(aliasName, key.keyId);
  return {};
};

const deleteAlias: Operation = async (body, context) => {
  await context.store.deleteAlias(readAliasName(body));
  return {};
};

function keyForStateChange(
  body: RequestBody,
  context: OperationContext,
): KeyRecord {
  const key = context.store.resolve(requireKeyId(body), { allowAlias: false });
  context.keyId = key.keyId;
  return key;
}

const disableKey: Operation = async (body, context) => {
  const key = keyForStateChange(body, context);
  if (key.state === "PendingDeletion") {
    throw new KmsError(
      "KMSInvalidStateException",
      `${key.arn} is pending deletion.`,
    );
  }
  await context.store.setState(key, "Disabled");
  return {};
};

const enableKey: Operation = async (body, context) => {
  const key = keyForStateChange(body, context);
  if (key.state === "PendingDeletion") {
    throw new KmsError(
      "KMSInvalidStateException",
      `${key.arn} is pending deletion.`,
    );
  }
  await context.store.setState(key, "Enabled");
  return {};
};

const scheduleKeyDeletion: Operation = async (body, context) => {
  const key = keyForStateChange(body, context);
  const days = readInteger(body, "PendingWindowInDays", [1, 365]) ?? 30;
  if (days < 7 || days > 30) {
    throw new KmsError(
      "ValidationException",
      `PendingWindowInDays ${days} is out of range: use 7 to 30 days.`,
    );
  }
  if (key.state === "PendingDeletion") {
    throw new KmsError(
      "KMSInvalidStateException",
      `${key.arn} is pending deletion.`,
    );
  }
  await context.store.setState(key, "PendingDeletion", days);
  return {
    KeyId: key.arn,
    DeletionDate: seconds(key.deletionDate!),
    KeyState: "PendingDeletion",
    PendingWindowInDays: days,
  };
};

const cancelKeyDeletion: Operation = async (body, context) => {
  const key = keyForStateChange(body, context);
  if (key.state !== "PendingDeletion") {
    throw new KmsError(
      "KMSInvalidStateException",
      `${key.arn} is not pending deletion.`,
    );
  }
  // As in KMS, a key whose deletion is canceled is Disabled.
  await context.store.setState(key, "Disabled");
  return { KeyId: key.arn };
};

/** The operations by name, as in `x-amz-target: TrentService.<name>`. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateKey: createKey,
  DescribeKey: describeKey,
  GetPublicKey: getPublicKey,
  Sign: sign,
  Verify: verify,
  ListKeys: listKeys,
  ListAliases: listAliases,
  CreateAlias: createAlias,
  DeleteAlias: deleteAlias,
  DisableKey: disableKey,
  EnableKey: enableKey,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
};
