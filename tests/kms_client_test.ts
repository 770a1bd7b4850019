import assert from "node:assert/strict";
import { translateKmsError } from "../lib/kms_client.ts";

/** What the SDK appends when it cannot parse a response. */
const SDK_LINE = "  Deserialization error: to see the raw response, inspect " +
  "the hidden field {error}.$response on this object.";

/** Builds an error shaped like the SDK's, with the given fields. */
function sdkError(name: string, message: string, fields: object = {}) {
  return Object.assign(new Error(message), { name, ...fields });
}

Deno.test("translateKmsError keeps first SDK line", async (t) => {
  const message = `Unexpected end of JSON input.\n${SDK_LINE}`;
  const cases = [
    sdkError("Error", "aborted\n" + SDK_LINE, { code: "ECONNRESET" }),
    sdkError("SyntaxError", message),
    sdkError("SyntaxError", message, {
      $metadata: { httpStatusCode: 200, requestId: "req-1" },
    }),
    sdkError("NotFoundException", message),
    sdkError("KMSInvalidStateException", message),
    sdkError("InvalidKeyUsageException", message),
    sdkError("UnsupportedOperationException", message),
    sdkError("AccessDeniedException", message),
    sdkError("UnrecognizedClientException", message),
    sdkError("ValidationException", message),
    sdkError("NotCapable", message),
    sdkError("Error", message, { code: "CERT_HAS_EXPIRED" }),
  ];
  for (const error of cases) {
    await t.step(`${error.name} ${error.message.slice(0, 7)}`, () => {
      const translated = translateKmsError(error, {
        operation: "GetPublicKey",
        keyId: "alias/app",
      });
      assert.doesNotMatch(translated.message, /\n/);
      assert.doesNotMatch(translated.message, /\.\./);
      assert.doesNotMatch(translated.message, /Deserialization|\$response/);
      assert.match(translated.message, /aborted|Unexpected end of JSON input/);
      assert.equal(translated.cause, error);
    });
  }
});

Deno.test("translateKmsError words a truncated response", () => {
  const error = sdkError("Error", "aborted\n" + SDK_LINE, {
    code: "ECONNRESET",
    $metadata: { attempts: 3 },
  });
  const translated = translateKmsError(error, {
    operation: "Sign",
    keyId: "alias/app",
  });
  assert.equal(translated.code, "KMS_UNREACHABLE");
  assert.equal(
    translated.message,
    "Cannot reach the KMS endpoint for Sign on key 'alias/app': aborted " +
      "(3 attempts). Check --endpoint-url, AWS_ENDPOINT_URL_KMS, the region " +
      "and the network route to KMS.",
  );
});

Deno.test("translateKmsError suggests alias prefix", async (t) => {
  const cases = [
    { keyId: "app-signing", suggested: true },
    { keyId: "AppSigning_2", suggested: true },
    { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab", suggested: false },
    { keyId: "1234ABCD-12AB-34CD-56EF-1234567890AB", suggested: false },
    { keyId: "mrk-1234abcd12ab34cd56ef1234567890ab", suggested: false },
    { keyId: "alias/app-signing", suggested: false },
    {
      keyId: "arn:aws:kms:us-east-1:111122223333:alias/app-signing",
      suggested: false,
    },
  ];
  for (const testCase of cases) {
    await t.step(testCase.keyId, () => {
      const error = translateKmsError(
        sdkError("NotFoundException", `Invalid keyId '${testCase.keyId}'`),
        { operation: "GetPublicKey", keyId: testCase.keyId },
      );
      assert.equal(error.code, "KMS_NOT_FOUND");
      assert.ok(
        error.message.startsWith(`Cannot find KMS key '${testCase.keyId}'`),
        error.message,
      );
      const hint = `pass --key-id alias/${testCase.keyId}. Otherwise check`;
      assert.equal(error.message.includes(hint), testCase.suggested);
      assert.match(error.message, /the region and account are the key's\.$/);
    });
  }
});

Deno.test("translateKmsError names the profile", async (t) => {
  const previous = Deno.env.get("AWS_PROFILE");
  const error = sdkError(
    "CredentialsProviderError",
    "Could not resolve credentials using profile: [nosuch] in " +
      "configuration/credentials file(s).",
  );
  const context = { operation: "GetPublicKey", keyId: "alias/app" };
  try {
    await t.step("from AWS_PROFILE", () => {
      Deno.env.set("AWS_PROFILE", "nosuch");
      const translated = translateKmsError(error, context);
      assert.equal(translated.code, "KMS_NO_CREDENTIALS");
      assert.ok(
        translated.message.startsWith(
          "Cannot find AWS credentials for profile 'nosuch' (from " +
            "AWS_PROFILE). The profile was not found in the shared config " +
            "and credentials files, or it has no credentials.",
        ),
        translated.message,
      );
      assert.match(translated.message, /pass another --profile/);
    });
    await t.step("from --profile", () => {
      Deno.env.set("AWS_PROFILE", "other");
      const translated = translateKmsError(error, {
        ...context,
        profile: "ops",
      });
      assert.ok(
        translated.message.startsWith(
          "Cannot find AWS credentials for profile 'ops'. The profile was " +
            "not found",
        ),
        translated.message,
      );
      assert.doesNotMatch(translated.message, /'other'/);
    });
    await t.step("no profile", () => {
      Deno.env.delete("AWS_PROFILE");
      const translated = translateKmsError(error, context);
      assert.ok(
        translated.message.startsWith(
          "Cannot find AWS credentials. Set AWS_ACCESS_KEY_ID",
        ),
        translated.message,
      );
      assert.doesNotMatch(translated.message, /profile '/);
    });
  } finally {
    if (previous === undefined) Deno.env.delete("AWS_PROFILE");
    else Deno.env.set("AWS_PROFILE", previous);
  }
});
