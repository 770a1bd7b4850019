import assert from "node:assert/strict";
import { toHex } from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import {
  buildRequestedExtensions,
  parseExtensionRequest,
} from "../lib/request_extensions.ts";

function oids(extensions: { oid: string }[]) {
  return extensions.map((extension) => extension.oid);
}

Deno.test("buildRequestedExtensions keeps a fixed order", () => {
  const parsed = parseExtensionRequest({
    subjectAltNames: ["DNS:a.example.com"],
    keyUsage: ["keyCertSign,digitalSignature"],
    extendedKeyUsage: ["serverAuth"],
    ca: true,
    pathLength: 1,
  });
  const extensions = buildRequestedExtensions(parsed, {
    keyType: "EC",
    emptySubject: false,
  });
  assert.deepEqual(oids(extensions), [
    "2.5.29.19",
    "2.5.29.15",
    "2.5.29.37",
    "2.5.29.17",
  ]);
  assert.equal(toHex(extensions[0]!.value), "30060101ff020101");
});

Deno.test("buildRequestedExtensions adds certificate defaults", () => {
  const leaf = buildRequestedExtensions(parseExtensionRequest({}), {
    keyType: "RSA",
    emptySubject: false,
    certificate: true,
  });
  assert.deepEqual(oids(leaf), ["2.5.29.19", "2.5.29.15"]);
  assert.equal(toHex(leaf[0]!.value), "3000");
  // digitalSignature alone.
  assert.equal(toHex(leaf[1]!.value), "03020780");

  const ca = buildRequestedExtensions(parseExtensionRequest({ ca: true }), {
    keyType: "EC",
    emptySubject: false,
    certificate: true,
  });
  // digitalSignature, keyCertSign, cRLSign: bits 0, 5 and 6.
  assert.equal(toHex(ca[1]!.value), "03020186");

  // A request carries only what was asked for.
  const request = buildRequestedExtensions(parseExtensionRequest({}), {
    keyType: "EC",
    emptySubject: false,
  });
  assert.deepEqual(request, []);
});

Deno.test("buildRequestedExtensions marks SANs critical", () => {
  const parsed = parseExtensionRequest({
    subjectAltNames: ["DNS:a.example.com"],
  });
  const [san] = buildRequestedExtensions(parsed, {
    keyType: "OKP",
    emptySubject: true,
  });
  assert.equal(san!.critical, true);
});

Deno.test("parseExtensionRequest rejects bad choices", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => parseExtensionRequest({ pathLength: 2 }),
      /--path-len 2 without --ca/,
    ],
    [() => parseExtensionRequest({ subjectAltNames: ["dns:"] }), /dns:/],
    [
      () =>
        buildRequestedExtensions(
          parseExtensionRequest({ ca: true, keyUsage: ["digitalSignature"] }),
          { keyType: "RSA", emptySubject: false },
        ),
      /needs keyCertSign/,
    ],
    [
      () =>
        buildRequestedExtensions(
          parseExtensionRequest({ keyUsage: ["dataEncipherment"] }),
          { keyType: "AKP", emptySubject: false },
        ),
      /dataEncipherment/,
    ],
  ];
  for (const [run, message] of cases) {
    assert.throws(
      run,
      (error) =>
        error instanceof KmsToolkitError && error.code === "INVALID_INPUT" &&
        message.test(error.message),
      String(message),
    );
  }
});
