/**
 * Builds the AWS SDK's `KMSClient` and turns its failures into
 * {@linkcode KmsToolkitError}s whose messages name the next step.
 *
 * @module
 */

import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import { KmsToolkitError } from "./errors.ts";

/** Connection settings for KMS. Unset fields use the SDK's resolution. */
export interface KmsConnectionOptions {
  /**
   * The AWS region, such as `eu-west-1`.
   * @default {undefined} `AWS_REGION`, then the shared config file
   */
  region?: string;
  /**
   * The shared config profile for credentials and region.
   * @default {undefined} `AWS_PROFILE`, then `default`
   */
  profile?: string;
  /**
   * The KMS endpoint, such as a VPC endpoint or a local endpoint.
   * @default {undefined} `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`, the
   * shared config file, then the regional endpoint
   */
  endpointUrl?: string;
  /**
   * Maximum attempts per call, including retries of throttling and 5xx.
   * @default {3}
   */
  maxAttempts?: number;
}

/**
 * The part of the SDK client this toolkit calls: `send` with an abort
 * signal. `KMSClient` satisfies it; the commands are the SDK's
 * `GetPublicKeyCommand` and `SignCommand`.
 */
export interface KmsSender {
  /**
   * Sends one SDK command.
   *
   * @param command The command.
   * @param options The abort signal of the call.
   * @returns The command's output.
   */
  send(
    command: never,
    options?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
}

/** A KMS client as {@linkcode createKmsClient} returns it: the SDK's `KMSClient`. */
export interface KmsClient extends KmsSender {
  /** Closes the client's connections. */
  destroy(): void;
}

/** The default timeout of one KMS call, retries included, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Creates the SDK's `KMSClient` from explicit options, leaving everything unset to
 * the SDK's own environment and config file resolution and its default
 * credential chain.
 *
 * @param options Region, profile, endpoint and retry settings.
 * @returns The client.
 * @throws {KmsToolkitError} `USAGE` when `endpointUrl` is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { createKmsClient } from "./kms_client.ts";
 * import assert from "node:assert/strict";
 *
 * const client = createKmsClient({ region: "eu-west-1" });
 * assert.equal(typeof client.send, "function");
 * client.destroy();
 * ```
 */
export function createKmsClient(options: KmsConnectionOptions = {}): KmsClient {
  const config: KMSClientConfig = { maxAttempts: options.maxAttempts ?? 3 };
  if (options.region !== undefined) config.region = options.region;
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.endpointUrl !== undefined) {
    config.endpoint = checkEndpointUrl(options.endpointUrl);
  }
  return new KMSClient(config);
}

function checkEndpointUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new KmsToolkitError(
      "USAGE",
      `Invalid --endpoint-url '${text}': expected an http:// or https:// ` +
        "URL, such as https://kms.eu-west-1.amazonaws.com.",
    );
  }
  return text;
}

/** The failed KMS call, described for the error message. */
export interface KmsCallContext {
  /** The KMS operation, such as `Sign`. */
  operation: string;
  /** The key reference as the user gave it. */
  keyId: string;
  /** The signing algorithm sent, for `Sign`. */
  signingAlgorithm?: string;
  /** The algorithms the key allows, when known. */
  allowedAlgorithms?: readonly string[];
  /** The timeout that applied, in milliseconds. */
  timeoutMs?: number;
  /** The profile, when one was chosen. */
  profile?: string;
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  syscall?: string;
  hostname?: string;
  $metadata?: {
    httpStatusCode?: number;
    requestId?: string;
    attempts?: number;
  };
}

const ACTION: Record<string, string> = {
  GetPublicKey: "kms:GetPublicKey",
  Sign: "kms:Sign",
  Verify: "kms:Verify",
  DescribeKey: "kms:DescribeKey",
};

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ETIMEDOUT",
]);

/** Node's codes for a server certificate that the client does not trust. */
const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/**
 * Returns the host that Deno's net permission denied, or `undefined` for
 * any other error. A denied connect is a `NotCapable` error that names
 * "host:port"; `node:dns` reports a denied lookup as `getaddrinfo EPERM`.
 */
function deniedNetHost(sdk: SdkError): string | undefined {
  if (sdk.name === "NotCapable" || sdk.name === "PermissionDenied") {
    const target = /^Requires net access to "([^"]+)"/.exec(sdk.message ?? "");
    if (!target) return undefined;
    // Drop the port, so that the suggested flag allows every port.
    return /^(\[[^\]]*\]|[^:]*)/.exec(target[1]!)![1];
  }
  if (sdk.code === "EPERM" && sdk.syscall === "getaddrinfo") {
    return sdk.hostname;
  }
  return undefined;
}

/**
 * Translates an error thrown by the SDK into a {@linkcode KmsToolkitError}
 * whose message names the key, the cause and the next step. The original
 * error is kept as `cause`.
 *
 * @param error The caught value.
 * @param context The call that failed.
 * @returns The translated error (a toolkit error passes through unchanged).
 *
 * @example
 * ```ts
 * import { translateKmsError } from "./kms_client.ts";
 * import assert from "node:assert/strict";
 *
 * const sdkError = Object.assign(new Error("Key not found"), { name: "NotFoundException" });
 * const error = translateKmsError(sdkError, { operation: "GetPublicKey", keyId: "alias/app" });
 * assert.equal(error.code, "KMS_NOT_FOUND");
 * assert.match(error.message, /alias\/app/);
 * ```
 */
export function translateKmsError(
  error: unknown,
  context: KmsCallContext,
): KmsToolkitError {
  if (error instanceof KmsToolkitError) return error;

  const sdk = (error ?? {}) as SdkError;
  const name = sdk.name ?? "Error";
  // SDK messages can add lines about its internals and end with a period.
  const sdkMessage = firstLine(sdk.message);
  const detail = sdkMessage ? ` (KMS: ${sdkMessage})` : "";
  const key = `'${context.keyId}'`;
  const make = (code: KmsToolkitError["code"], message: string) =>
    new KmsToolkitError(code, message, { cause: error });

  const deniedHost = deniedNetHost(sdk);
  if (deniedHost !== undefined) {
    return make(
      "PERMISSION_DENIED",
      `Cannot connect to '${deniedHost}' for KMS ${context.operation} on ` +
        `key ${key}: the Deno permissions of this run do not allow network ` +
        "access to that host. The deno tasks allow only AWS endpoints, the " +
        "EC2 and ECS credential endpoints and loopback. To use it, run the " +
        `script with \`deno run --allow-net=${deniedHost}\` followed by ` +
        "the other flags of its task in deno.json.",
    );
  }

  if (sdk.code && TLS_CODES.has(sdk.code)) {
    return make(
      "KMS_UNREACHABLE",
      `Cannot trust the TLS certificate of the KMS endpoint for ` +
        `${context.operation} on key ${key}: ${sdkMessage} (${sdk.code}). ` +
        "If a proxy or a private CA signs it, set NODE_EXTRA_CA_CERTS to " +
        "that CA's PEM file; otherwise check --endpoint-url and " +
        "AWS_ENDPOINT_URL_KMS.",
    );
  }

  if (sdk.code && NETWORK_CODES.has(sdk.code)) {
    // A status means the response began; the SDK then appends a line on
    // its hidden $response field, which users cannot inspect.
    const status = sdk.$metadata?.httpStatusCode;
    const reason = status
      ? `the connection closed after HTTP ${status}, before the whole ` +
        "response arrived"
      : sdkMessage ?? sdk.code;
    const attempts = sdk.$metadata?.attempts;
    return make(
      "KMS_UNREACHABLE",
      `Cannot reach the KMS endpoint for ${context.operation} on key ${key}: ` +
        `${reason}${attempts ? ` (${attempts} attempts)` : ""}. Check ` +
        "--endpoint-url, AWS_ENDPOINT_URL_KMS, the region and the network " +
        "route to KMS.",
    );
  }

  switch (name) {
    case "NotFoundException":
      return make(
        "KMS_NOT_FOUND",
        `Cannot find KMS key ${key}${detail}. ` +
          (looksLikeAliasName(context.keyId)
            ? `If it is an alias name, pass --key-id alias/${context.keyId}. ` +
              "Otherwise check"
            : "Check") +
          " the key id, ARN or alias, and that the region and account are " +
          "the key's.",
      );
    case "DisabledException":
      return make(
        "KMS_DISABLED",
        `Cannot use KMS key ${key}: the key is disabled. Enable it with ` +
          `\`aws kms enable-key --key-id ${context.keyId}\` or pass another ` +
          "--key-id.",
      );
    case "KMSInvalidStateException":
      return make(
        "KMS_INVALID_STATE",
        `Cannot use KMS key ${key}: the key is pending deletion or pending ` +
          `import${detail}. Cancel a scheduled deletion with ` +
          "`aws kms cancel-key-deletion` and enable the key, or pass another " +
          "--key-id.",
      );
    case "InvalidKeyUsageException":
      return make(
        "KMS_INVALID_KEY_USAGE",
        invalidUsageMessage(context, detail),
      );
    case "UnsupportedOperationException":
      return make(
        "UNSUPPORTED_KEY",
        `Cannot call ${context.operation} on KMS key ${key}${detail}. ` +
          "It is not an asymmetric key; use a key with KeyUsage SIGN_VERIFY.",
      );
    case "AccessDeniedException":
      return make(
        "KMS_ACCESS_DENIED",
        `Access denied calling ${context.operation} on KMS key ${key}` +
          `${detail}. Grant ${ACTION[context.operation] ?? "the action"} on ` +
          "this key in the IAM policy or the key policy.",
      );
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "InvalidClientTokenId":
      return make(
        "KMS_ACCESS_DENIED",
        `KMS rejected the AWS credentials${detail}. Check the access key, ` +
          "the session token and its expiry, and the region.",
      );
    case "ThrottlingException":
      return make(
        "KMS_THROTTLED",
        `KMS throttled ${context.operation} on key ${key} after ` +
          `${sdk.$metadata?.attempts ?? "several"} attempts. Retry later, ` +
          "or ask for a higher KMS request quota.",
      );
    case "ValidationException":
      return make(
        "KMS_VALIDATION",
        `KMS rejected ${context.operation} on key ${key}${detail}.`,
      );
    case "CredentialsProviderError":
      return make(
        "KMS_NO_CREDENTIALS",
        noCredentialsMessage(context.profile) +
          // The SDK reports a credential_process that Deno did not allow to
          // run as missing credentials, without the permission error.
          (context.profile ?? environmentProfile()
            ? " A profile with credential_process also needs --allow-run " +
              "and all of --allow-env, which the deno tasks do not grant: " +
              "run the script with deno run and its task's flags, adding " +
              "--allow-run and putting --allow-env in place of its " +
              "--allow-env=... list."
            : ""),
      );
    case "AbortError":
    case "TimeoutError":
      return make(
        "KMS_TIMEOUT",
        `KMS ${context.operation} on key ${key} timed out after ` +
          `${(context.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s. Check the ` +
          "endpoint and network, or raise --timeout.",
      );
  }

  if (name === "NotCapable" || name === "PermissionDenied") {
    return make(
      "PERMISSION_DENIED",
      `Cannot call KMS ${context.operation} on key ${key}: ` +
        `${sdkMessage ?? "permission denied"}. Run the script through its ` +
        "deno task, or add that permission to the deno run flags.",
    );
  }
  if (sdkMessage === "Region is missing") {
    return make(
      "KMS_NO_REGION",
      "No AWS region is set. Pass --region, set AWS_REGION, or set " +
        "`region` in the profile of ~/.aws/config.",
    );
  }
  const status = sdk.$metadata?.httpStatusCode;
  const request = sdk.$metadata?.requestId;
  return make(
    "KMS_FAILED",
    `KMS ${context.operation} on key ${key} failed: ${name}` +
      `${sdkMessage ? `: ${sdkMessage}` : ""}` +
      `${status ? ` (HTTP ${status}` : ""}` +
      `${
        request
          ? `${status ? ", " : " ("}request ${request})`
          : status
          ? ")"
          : ""
      }.`,
  );
}

function invalidUsageMessage(context: KmsCallContext, detail: string): string {
  const key = `'${context.keyId}'`;
  if (context.signingAlgorithm) {
    const allowed = context.allowedAlgorithms?.length
      ? ` The key allows ${context.allowedAlgorithms.join(", ")}.`
      : "";
    return `KMS key ${key} cannot sign with ${context.signingAlgorithm}` +
      `${detail}.${allowed} Check that the key's KeyUsage is SIGN_VERIFY.`;
  }
  return `KMS key ${key} cannot be used for ${context.operation}${detail}. ` +
    "Use an asymmetric key with KeyUsage SIGN_VERIFY.";
}

/** Returns the first line of an SDK message without its final periods. */
function firstLine(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const line = message.split("\n")[0]!.trim().replace(/\.+$/, "");
  return line || undefined;
}

const KEY_UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Tells whether a key reference is a bare name, such as `app-signing`: no
 * ARN, no `alias/` prefix, and neither a key id nor a multi-Region key id.
 */
function looksLikeAliasName(keyId: string): boolean {
  return !/[/:]/.test(keyId) && !KEY_UUID.test(keyId) &&
    !/^mrk-/i.test(keyId);
}

/**
 * Returns `AWS_PROFILE` when the runtime lets this code read it without a
 * permission prompt: in Deno only with env permission, in Node.js always.
 */
function environmentProfile(): string | undefined {
  const runtime = globalThis as {
    Deno?: typeof Deno;
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    if (runtime.Deno) {
      const query = { name: "env", variable: "AWS_PROFILE" } as const;
      if (runtime.Deno.permissions.querySync(query).state !== "granted") {
        return undefined;
      }
      return runtime.Deno.env.get("AWS_PROFILE") || undefined;
    }
    return runtime.process?.env?.AWS_PROFILE || undefined;
  } catch {
    return undefined;
  }
}

/** Describes missing credentials, naming the profile when one is chosen. */
function noCredentialsMessage(profile: string | undefined): string {
  const fromEnvironment = profile === undefined
    ? environmentProfile()
    : undefined;
  const name = profile ?? fromEnvironment;
  if (name === undefined) {
    return "Cannot find AWS credentials. Set AWS_ACCESS_KEY_ID and " +
      "AWS_SECRET_ACCESS_KEY, pass --profile, or run where an IAM role is " +
      "available.";
  }
  return `Cannot find AWS credentials for profile '${name}'` +
    (fromEnvironment ? " (from AWS_PROFILE)" : "") +
    ". The profile was not found in the shared config and credentials " +
    "files, or it has no credentials. Check its name and the files " +
    "(AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, by default " +
    "~/.aws/config and ~/.aws/credentials), pass another --profile, or " +
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.";
}
