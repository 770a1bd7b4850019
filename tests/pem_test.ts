import assert from "node:assert/strict";
import { KmsToolkitError } from "../lib/errors.ts";
import { decodePemBlocks, encodePem, readPemOrDer } from "../lib/pem.ts";
import { openssl, tempDir } from "./_helpers.ts";

Deno.test("encodePem wraps at 64 columns", async () => {
  const der = crypto.getRandomValues(new Uint8Array(200));
  const pem = encodePem("TEST DATA", der);
  const lines = pem.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN TEST DATA-----");
  assert.equal(lines.at(-1), "-----END TEST DATA-----");
  // 200 bytes are 268 base64 characters.
  assert.deepEqual(lines.slice(1, -1).map((line) => line.length), [
    64,
    64,
    64,
    64,
    12,
  ]);
  assert.ok(pem.endsWith("\n"));
  assert.deepEqual(decodePemBlocks(pem)[0]!.der, der);

  // OpenSSL reads the same bytes back.
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/x.pem`,
    encodePem("PUBLIC KEY", await spki()),
  );
  const result = await openssl([
    "pkey",
    "-pubin",
    "-in",
    `${dir.path}/x.pem`,
    "-noout",
  ]);
  assert.equal(result.code, 0, result.stderr);
});

async function spki(): Promise<Uint8Array> {
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
}

Deno.test("decodePemBlocks reads chains in order", () => {
  const text = `leading text\n${encodePem("CERTIFICATE", Uint8Array.of(1))}` +
    `between\r\n${
      encodePem("CERTIFICATE", Uint8Array.of(2)).replaceAll("\n", "\r\n")
    }`;
  const blocks = decodePemBlocks(text);
  assert.deepEqual(blocks.map((block) => block.der[0]), [1, 2]);
  assert.deepEqual(decodePemBlocks("no pem here"), []);
});

Deno.test("decodePemBlocks rejects malformed blocks", () => {
  assert.throws(
    () => decodePemBlocks("-----BEGIN A-----\nAQ==\n-----END B-----", "x.pem"),
    (error) =>
      error instanceof KmsToolkitError &&
      /BEGIN A ends with END B/.test(error.message),
  );
  assert.throws(
    () => decodePemBlocks("-----BEGIN A-----\n@@@\n-----END A-----", "x.pem"),
    (error) =>
      error instanceof KmsToolkitError && /invalid base64/.test(error.message),
  );
});

Deno.test("readPemOrDer accepts both forms", () => {
  const der = Uint8Array.of(0x30, 0x00);
  assert.deepEqual(readPemOrDer(der, "X"), der);
  const pem = new TextEncoder().encode(encodePem("CERTIFICATE REQUEST", der));
  assert.deepEqual(readPemOrDer(pem, "CERTIFICATE REQUEST"), der);
  assert.throws(
    () => readPemOrDer(pem, "CERTIFICATE", "req.pem"),
    /req\.pem: expected DER or a PEM 'CERTIFICATE' block, found PEM blocks CERTIFICATE REQUEST/,
  );
  assert.throws(
    () => readPemOrDer(new TextEncoder().encode("hello"), "CERTIFICATE", "x"),
    /found neither/,
  );
});
