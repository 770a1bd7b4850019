import assert from "node:assert/strict";
import { KmsToolkitError } from "../lib/errors.ts";
import { kidFor, parseKidMode } from "../lib/kid.ts";

function rejects(run: () => unknown, code: string, message: string) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, String(error));
    assert.equal(error.code, code);
    assert.ok(error.message.includes(message), error.message);
    return true;
  });
}

Deno.test("parseKidMode modes and literals", () => {
  const cases: [string | undefined, boolean, unknown][] = [
    [undefined, false, { kind: "thumbprint" }],
    ["thumbprint", false, { kind: "thumbprint" }],
    ["key-id", false, { kind: "key-id" }],
    ["literal:a", false, { kind: "literal", value: "a" }],
    ["literal:key-id", false, { kind: "literal", value: "key-id" }],
    ["literal:literal:", false, { kind: "literal", value: "literal:" }],
    [undefined, true, { kind: "thumbprint" }],
    ["thumbprint", true, { kind: "thumbprint" }],
    ["key-id", true, { kind: "key-id" }],
    ["literal:x y", true, { kind: "literal", value: "x y" }],
    ["map 1", true, { kind: "literal", value: "map 1" }],
    ["Key-Id", true, { kind: "literal", value: "Key-Id" }],
  ];
  for (const [text, bareLiteral, expected] of cases) {
    assert.deepEqual(
      parseKidMode(text, { bareLiteral }),
      expected,
      `${text} ${bareLiteral}`,
    );
  }
});

Deno.test("parseKidMode rejects bad text", () => {
  const strict = "expected thumbprint, key-id or literal:VALUE";
  for (const text of ["", "sha1", "literal:", "Key-Id", " key-id"]) {
    rejects(() => parseKidMode(text), "USAGE", `kid '${text}': ${strict}`);
  }
  for (const text of ["", "  ", "literal:"]) {
    rejects(
      () => parseKidMode(text, { bareLiteral: true, label: "--kid" }),
      "USAGE",
      `Cannot use --kid '${text}': expected thumbprint, key-id, ` +
        "literal:VALUE or a kid",
    );
  }
});

Deno.test("kidFor each mode", () => {
  const key = {
    keyId: "alias/signer",
    keyArn: "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-0123abcd",
  };
  assert.equal(kidFor({ kind: "key-id" }, key), "mrk-0123abcd");
  assert.equal(kidFor({ kind: "literal", value: "v" }, key), "v");
  assert.equal(kidFor({ kind: "thumbprint" }, key), undefined);
  for (
    const keyArn of [
      "alias/signer",
      "arn:aws:kms:us-east-1:111122223333:alias/signer",
      "arn:aws:kms:us-east-1:111122223333:key/",
      "arn:aws:iam::111122223333:key/abc",
    ]
  ) {
    rejects(
      () => kidFor({ kind: "key-id" }, { keyId: "alias/signer", keyArn }),
      "KMS_FAILED",
      `Cannot take the key id of KMS key 'alias/signer' from '${keyArn}'`,
    );
  }
});
