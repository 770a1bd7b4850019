import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeBoolean,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  fromHex,
  readChildren,
  readDer,
  toHex,
} from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  checkKeyUsageForKeyType,
  decodeExtensions,
  encodeExtension,
  encodeExtensions,
  extendedKeyUsageExtension,
  type Extension,
  ExtensionOid,
  type GeneralName,
  KEY_USAGE_BITS,
  keyUsageExtension,
  type KeyUsageName,
  MAX_PATH_LENGTH,
  parseExtendedKeyUsage,
  parseKeyUsage,
  parseSubjectAltNames,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from "../lib/extensions.ts";
import { parseSubject } from "../lib/subject.ts";

// --- helpers ---------------------------------------------------------------

function assertInvalid(action: () => unknown, substring: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(
      error instanceof KmsToolkitError,
      `expected KmsToolkitError, got ${error}`,
    );
    assert.equal(error.code, "INVALID_INPUT");
    assert.ok(
      error.message.includes(substring),
      `message ${JSON.stringify(error.message)} lacks ` +
        JSON.stringify(substring),
    );
    return true;
  });
}

const workDir = await Deno.makeTempDir({ prefix: "extensions_test_" });
const keyPath = `${workDir}/key.pem`;
const configPath = `${workDir}/plain.cnf`;
await Deno.writeTextFile(
  configPath,
  "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n",
);

async function run(args: string[]): Promise<Uint8Array> {
  const output = await new Deno.Command("openssl", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `openssl ${args.join(" ")} failed: ${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return output.stdout;
}

await run([
  "genpkey",
  "-algorithm",
  "EC",
  "-pkeyopt",
  "ec_paramgen_curve:P-256",
  "-out",
  keyPath,
]);

/** Returns the extensions OpenSSL 3.0 writes into a CSR for `-addext`. */
async function opensslExtensions(addext: string[]): Promise<Extension[]> {
  const out = `${workDir}/req.der`;
  await run([
    "req",
    "-new",
    "-key",
    keyPath,
    "-subj",
    "/CN=x",
    "-config",
    configPath,
    ...addext.flatMap((value) => ["-addext", value]),
    "-outform",
    "DER",
    "-out",
    out,
  ]);
  const csr = await Deno.readFile(out);
  const info = readChildren(readDer(csr))[0]!;
  const attributes = readChildren(info)[3]!;
  const attribute = readChildren(attributes)[0]!;
  const values = readChildren(attribute)[1]!;
  return decodeExtensions(readChildren(values)[0]!.encoded);
}

/** Returns the extensions of a self-signed certificate OpenSSL 3.0 makes. */
async function opensslCertificateExtensions(
  addext: string[],
): Promise<Extension[]> {
  const out = `${workDir}/cert.der`;
  await run([
    "req",
    "-x509",
    "-new",
    "-key",
    keyPath,
    "-subj",
    "/CN=x",
    "-config",
    configPath,
    ...addext.flatMap((value) => ["-addext", value]),
    "-outform",
    "DER",
    "-out",
    out,
  ]);
  const certificate = await Deno.readFile(out);
  const tbs = readChildren(readDer(certificate))[0]!;
  const wrapper = readChildren(tbs).find((child) => child.tag === 0xa3)!;
  return decodeExtensions(readChildren(wrapper)[0]!.encoded);
}

function findExtension(extensions: Extension[], oid: string): Extension {
  const found = extensions.find((extension) => extension.oid === oid);
  assert.ok(found, `no extension ${oid}`);
  return found;
}

async function opensslSpki(): Promise<Uint8Array> {
  return await run(["pkey", "-in", keyPath, "-pubout", "-outform", "DER"]);
}

// --- subject alternative names ---------------------------------------------

Deno.test("SAN entries parse into names", () => {
  const names = parseSubjectAltNames([
    "DNS:a.example.com,IP:10.0.0.1",
    "dns:*.example.com, ip:[2001:DB8::1]",
    "email:user.name+tag@Example.com",
    "URI:https://example.com/a,b?x=1#f",
    "Uri:spiffe://example.org/ns/default/sa/api",
  ]);
  assert.deepEqual(names, [
    { type: "dns", value: "a.example.com" },
    { type: "ip", value: "10.0.0.1", bytes: Uint8Array.of(10, 0, 0, 1) },
    { type: "dns", value: "*.example.com" },
    {
      type: "ip",
      value: "2001:db8::1",
      bytes: fromHex("20010db8000000000000000000000001"),
    },
    { type: "email", value: "user.name+tag@Example.com" },
    { type: "uri", value: "https://example.com/a,b?x=1#f" },
    { type: "uri", value: "spiffe://example.org/ns/default/sa/api" },
  ]);
});

Deno.test("SAN DNS names accepted", () => {
  const valid = [
    "localhost",
    "a.b",
    "xn--bcher-kva.example",
    "a-b.c-d.example",
    "123.example",
    `${"a".repeat(63)}.example`,
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`,
    "*.a",
  ];
  for (const name of valid) {
    assert.deepEqual(
      parseSubjectAltNames([`DNS:${name}`]),
      [{ type: "dns", value: name }],
      name,
    );
  }
});

Deno.test("SAN IPv6 forms parse", () => {
  const cases: [string, string, string][] = [
    ["::", "00000000000000000000000000000000", "::"],
    ["::1", "00000000000000000000000000000001", "::1"],
    ["[::1]", "00000000000000000000000000000001", "::1"],
    ["1::", "00010000000000000000000000000000", "1::"],
    [
      "2001:0db8:0000:0000:0000:ff00:0042:8329",
      "20010db8000000000000ff0000428329",
      "2001:db8::ff00:42:8329",
    ],
    [
      "2001:DB8::FF00:42:8329",
      "20010db8000000000000ff0000428329",
      "2001:db8::ff00:42:8329",
    ],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008", "1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "00000002000300040005000600070008", "0:2:3:4:5:6:7:8"],
    ["1:0:0:2::3", "00010000000000020000000000000003", "1:0:0:2::3"],
    [
      "::ffff:192.0.2.1",
      "00000000000000000000ffffc0000201",
      "::ffff:192.0.2.1",
    ],
    ["::192.0.2.1", "000000000000000000000000c0000201", "::c000:201"],
    [
      "1:2:3:4:5:6:1.2.3.4",
      "00010002000300040005000601020304",
      "1:2:3:4:5:6:102:304",
    ],
    ["fe80::1:2", "fe800000000000000000000000010002", "fe80::1:2"],
  ];
  for (const [text, hex, canonical] of cases) {
    const [name] = parseSubjectAltNames([`IP:${text}`]);
    assert.equal(name!.type, "ip", text);
    if (name?.type !== "ip") continue;
    assert.equal(toHex(name.bytes), hex, text);
    assert.equal(name.value, canonical, text);
  }
});

Deno.test("SAN bytes match OpenSSL", async () => {
  const entries = [
    "DNS:a.example.com",
    "DNS:*.example.com",
    "IP:10.0.0.1",
    "IP:255.255.255.255",
    "IP:2001:db8::1",
    "IP:::ffff:1.2.3.4",
    "IP:1:2:3:4:5:6:1.2.3.4",
    "IP:::",
    "IP:fe80::1:2",
    "email:u@example.com",
    "URI:https://example.com/a?b=c",
    "URI:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
  ];
  const expected = findExtension(
    await opensslExtensions([`subjectAltName=${entries.join(",")}`]),
    ExtensionOid.subjectAltName,
  );
  const ours = subjectAltNameExtension(parseSubjectAltNames(entries));
  assert.equal(toHex(ours.value), toHex(expected.value));
  assert.equal(ours.critical, expected.critical);
  assert.equal(ours.oid, "2.5.29.17");
});

Deno.test("GeneralName tags are context primitive", () => {
  const cases: [string, string][] = [
    ["email:a@b.c", "81056140622e63"],
    ["DNS:b.c", "8203622e63"],
    ["URI:a:b", "8603613a62"],
    ["IP:1.2.3.4", "870401020304"],
  ];
  for (const [entry, hex] of cases) {
    const extension = subjectAltNameExtension(parseSubjectAltNames([entry]));
    const length = (hex.length / 2).toString(16).padStart(2, "0");
    assert.equal(toHex(extension.value), `30${length}${hex}`, entry);
  }
});

Deno.test("SAN critical option", () => {
  const names = parseSubjectAltNames(["DNS:a.example"]);
  assert.equal(subjectAltNameExtension(names).critical, false);
  assert.equal(
    subjectAltNameExtension(names, { critical: true }).critical,
    true,
  );
});

Deno.test("SAN rejections name the problem", () => {
  const cases: [string, string][] = [
    ["a.example.com", "it has no type prefix"],
    ["RID:1.2.3", "'RID' is not a supported name type"],
    ["DNS:", "the name is empty"],
    ["DNS:bücher.example", "punycode ('xn--bcher-kva.example')"],
    ["DNS:ü%", "punycode ('xn--...')"],
    ["DNS:example.com.", "it ends in a dot"],
    [`DNS:${"a.".repeat(126)}ab`, "254 characters long, over the DNS maximum"],
    ["DNS:a..b", "empty label"],
    ["DNS:.a", "empty label"],
    [`DNS:${"a".repeat(64)}.b`, "64 characters, over 63"],
    ["DNS:-a.b", "label '-a' must be letters, digits and inner hyphens"],
    ["DNS:a-.b", "label 'a-'"],
    ["DNS:my_service.local", "label 'my_service'"],
    ["DNS:a b.c", "label 'a b'"],
    ["DNS:a*.example.com", "wildcard is allowed only as the whole leftmost"],
    ["DNS:*.*.example.com", "wildcard is allowed only as the whole leftmost"],
    ["DNS:a.*.example.com", "wildcard is allowed only as the whole leftmost"],
    ["DNS:*", "a bare '*' matches no name"],
    ["DNS:10.0.0.1", "Write an IP address as IP:10.0.0.1"],
    ["DNS:::1", "Write an IP address as IP:::1"],
    ["DNS:a.com,b.com", "Give each name its own prefix"],
    ["IP:", "four dot-separated decimal octets"],
    ["IP:1.2.3", "four dot-separated decimal octets"],
    ["IP:1.2.3.4.5", "four dot-separated decimal octets"],
    ["IP:1.2.3.x", "octet 'x' is not a decimal number"],
    ["IP:1.2.3.-1", "octet '-1' is not a decimal number"],
    ["IP:010.0.0.1", "octet '010' has a leading zero"],
    ["IP:256.0.0.1", "octet '256' is over 255"],
    ["IP:fe80::1%eth0", "zone id"],
    ["IP:[fe80::1%25eth0]", "zone id"],
    ["IP:1::2::3", "'::' may appear only once"],
    ["IP:1:2:3:4:5:6:7:8:9", "9 groups instead of 8"],
    ["IP:1:2:3:4:5:6:7", "7 groups instead of 8"],
    ["IP:1:2:3:4::5:6:7:8", "'::' must stand for at least one zero group"],
    ["IP:12345::", "group '12345' is not 1 to 4 hex digits"],
    ["IP:g::1", "group 'g' is not 1 to 4 hex digits"],
    ["IP::1", "group '' is not 1 to 4 hex digits"],
    ["IP:::1.2.3.256", "embedded IPv4 part: octet '256' is over 255"],
    ["IP:1.2.3.4::", "group '1.2.3.4' is not 1 to 4 hex digits"],
    ["IP:[::1", "its brackets are unbalanced"],
    ["IP:::1]", "its brackets are unbalanced"],
    ["IP:10.0.0.0/8", "not a network"],
    ["email:üser@example.com", "rfc822Name is an IA5String and must be ASCII"],
    ["email:user", "it has no '@'"],
    ["email:@example.com", "the part before '@' is empty"],
    [`email:${"a".repeat(65)}@example.com`, "65 characters, over 64"],
    ["email:a..b@example.com", "the local part 'a..b' is not a dot-atom"],
    ["email:.a@example.com", "is not a dot-atom"],
    ["email:a b@example.com", "is not a dot-atom"],
    ["email:user@@example.com", "the local part 'user@' is not a dot-atom"],
    ["email:user@", "domain '': the name is empty"],
    ["email:user@exa_mple.com", "domain 'exa_mple.com'"],
    ["email:user@*.example.com", "a wildcard is not allowed here"],
    ["URI:https://exämple.com/", "it is not ASCII"],
    ["URI:example.com/path", "it has no scheme"],
    ["URI:1http://a", "it has no scheme"],
    ["URI:https:", "it has nothing after the scheme"],
    ["URI:https://a b/", "' ' is not allowed in a URI"],
    ["URI:https://a/<x>", "'<' is not allowed in a URI"],
    ["URI:https://a/%zz", "a '%' is not followed by two hex digits"],
    ["URI:https://a/%4", "a '%' is not followed by two hex digits"],
    ["URI:file:///etc/hosts", "its authority has no host"],
    ["URI:https://:443/", "its authority has no host"],
    ["URI:https://a:x/", "port 'x' is not a number"],
    ["URI:https://a_b.example/", "host 'a_b.example'"],
    ["URI:https://[1::2::3]/", "its host: '::' may appear only once"],
  ];
  for (const [entry, message] of cases) {
    assertInvalid(() => parseSubjectAltNames([entry]), message);
    assertInvalid(
      () => parseSubjectAltNames([entry]),
      `Cannot parse subject alternative name '${entry}'`,
    );
  }
});

Deno.test("SAN URIs with hosts accepted", () => {
  const valid = [
    "https://user:pw@example.com:8443/p?q#f",
    "https://[::1]:8443/",
    "https://10.0.0.1/",
    "ldap://ldap.example.com/cn=x,dc=example",
    "mailto:a@example.com",
    "https://example.com/%41",
  ];
  for (const uri of valid) {
    assert.deepEqual(
      parseSubjectAltNames([`URI:${uri}`]),
      [{ type: "uri", value: uri }],
      uri,
    );
  }
});

Deno.test("SAN duplicates rejected", () => {
  assertInvalid(
    () => parseSubjectAltNames(["DNS:a.example.com", "DNS:A.Example.com"]),
    "'DNS:A.Example.com': it repeats 'DNS:a.example.com'",
  );
  assertInvalid(
    () => parseSubjectAltNames(["IP:::1,IP:0:0:0:0:0:0:0:1"]),
    "it repeats 'IP:::1'",
  );
  assertInvalid(
    () => parseSubjectAltNames(["email:a@b.example", "email:a@B.EXAMPLE"]),
    "it repeats",
  );
  assertInvalid(
    () => parseSubjectAltNames(["URI:https://a/", "URI:https://a/"]),
    "it repeats",
  );
  // Local parts are case-sensitive (RFC 5321 section 2.4).
  assert.equal(
    parseSubjectAltNames(["email:A@b.example,email:a@b.example"]).length,
    2,
  );
});

Deno.test("SAN without names rejected", () => {
  assertInvalid(() => parseSubjectAltNames([]), "no names given");
  assertInvalid(() => parseSubjectAltNames([""]), "names '': no names given");
  assertInvalid(() => parseSubjectAltNames([" , ", ""]), "no names given");
  assertInvalid(() => parseSubjectAltNames([""]), "DNS:host.example.com");
});

Deno.test("subjectAltNameExtension rechecks names", () => {
  assertInvalid(() => subjectAltNameExtension([]), "at least one name");
  assertInvalid(
    () => subjectAltNameExtension([{ type: "dns", value: "bad name" }]),
    "'DNS:bad name'",
  );
  assertInvalid(
    () =>
      subjectAltNameExtension([{
        type: "ip",
        value: "1.2.3",
        bytes: Uint8Array.of(1, 2, 3),
      }]),
    "its address is 3 bytes, not 4 (IPv4) or 16 (IPv6)",
  );
  const name: GeneralName = { type: "dns", value: "a.example" };
  assertInvalid(() => subjectAltNameExtension([name, name]), "appears twice");
});

Deno.test("IPv4 addresses match the URL parser", () => {
  fc.assert(
    fc.property(fc.ipV4(), (address) => {
      const [name] = parseSubjectAltNames([`IP:${address}`]);
      assert.ok(name?.type === "ip");
      assert.deepEqual(
        Array.from(name.bytes),
        address.split(".").map(Number),
      );
    }),
    { numRuns: 300 },
  );
});

Deno.test("IPv6 addresses match the URL parser", () => {
  fc.assert(
    fc.property(fc.ipV6(), (address) => {
      const [name] = parseSubjectAltNames([`IP:${address}`]);
      assert.ok(name?.type === "ip");
      // The WHATWG URL parser canonicalizes to plain hex groups, which
      // gives a second reading of the same 16 bytes.
      const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
      const [again] = parseSubjectAltNames([`IP:${host}`]);
      assert.ok(again?.type === "ip");
      assert.equal(toHex(name.bytes), toHex(again.bytes), address);
      assert.equal(name.bytes.length, 16);
      const [canonical] = parseSubjectAltNames([`IP:${name.value}`]);
      assert.ok(canonical?.type === "ip");
      assert.equal(toHex(canonical.bytes), toHex(name.bytes));
    }),
    { numRuns: 500 },
  );
});

const SAN_NOISE = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      ..."DNSIPemailURI:,.*-[]%@/_ 0123456789abcdefü",
      "DNS:",
      "IP:",
      "email:",
      "URI:",
      "::",
      "https://",
      "\u0000",
      "\ud800",
    ),
    fc.string({ unit: "binary", maxLength: 1 }),
  ),
  maxLength: 30,
});

/** Checks that a message quotes, after its "Cannot" clause, input text. */
function quotesInput(message: string, inputs: string[]): boolean {
  const open = message.indexOf("'");
  if (open < 0 || !message.startsWith("Cannot ")) return false;
  for (let close = open + 1; close < message.length; close++) {
    if (!message.startsWith("': ", close)) continue;
    const quoted = message.slice(open + 1, close);
    if (inputs.some((input) => input.includes(quoted))) return true;
  }
  return false;
}

Deno.test("random SANs throw only KmsToolkitError", () => {
  fc.assert(
    fc.property(fc.array(SAN_NOISE, { maxLength: 3 }), (entries) => {
      try {
        parseSubjectAltNames(entries);
      } catch (error) {
        assert.ok(error instanceof KmsToolkitError, `${error}`);
        assert.equal(error.code, "INVALID_INPUT");
        const joined = entries.join(",");
        assert.ok(
          quotesInput(error.message, [...entries, joined]),
          `${JSON.stringify(error.message)} for ${JSON.stringify(entries)}`,
        );
      }
    }),
    { numRuns: 3000 },
  );
});

// --- key usage -------------------------------------------------------------

Deno.test("keyUsage bytes are exact", () => {
  const cases: [KeyUsageName[], string][] = [
    [["digitalSignature"], "03020780"],
    [["digitalSignature", "keyEncipherment"], "030205a0"],
    [["keyEncipherment", "digitalSignature"], "030205a0"],
    [["nonRepudiation"], "03020640"],
    [["dataEncipherment"], "03020410"],
    [["keyAgreement"], "03020308"],
    [["keyCertSign", "cRLSign"], "03020106"],
    [["cRLSign"], "03020102"],
    [["keyAgreement", "encipherOnly"], "03020009"],
    [["keyAgreement", "decipherOnly"], "0303070880"],
    [
      ["digitalSignature", "keyAgreement", "encipherOnly", "decipherOnly"],
      "0303078980",
    ],
  ];
  for (const [usages, hex] of cases) {
    const extension = keyUsageExtension(usages);
    assert.equal(toHex(extension.value), hex, usages.join(","));
    assert.equal(extension.critical, true);
    assert.equal(extension.oid, "2.5.29.15");
  }
});

Deno.test("keyUsage bytes match OpenSSL", async () => {
  const combos: KeyUsageName[][] = [
    ["digitalSignature"],
    ["digitalSignature", "keyEncipherment"],
    ["digitalSignature", "nonRepudiation", "dataEncipherment"],
    ["keyCertSign", "cRLSign"],
    ["keyAgreement", "decipherOnly"],
    ["keyAgreement", "encipherOnly"],
  ];
  for (const usages of combos) {
    const expected = findExtension(
      await opensslExtensions([`keyUsage=critical,${usages.join(",")}`]),
      ExtensionOid.keyUsage,
    );
    const ours = keyUsageExtension(usages);
    assert.equal(toHex(ours.value), toHex(expected.value), usages.join(","));
    assert.equal(
      toHex(encodeExtension(ours)),
      toHex(encodeExtension(expected)),
    );
  }
});

Deno.test("parseKeyUsage reads names", () => {
  assert.deepEqual(
    parseKeyUsage(["DIGITALSIGNATURE, keyencipherment", "contentCommitment"]),
    ["digitalSignature", "keyEncipherment", "nonRepudiation"],
  );
  assert.deepEqual(
    parseKeyUsage([Object.keys(KEY_USAGE_BITS).join(",")]),
    Object.keys(KEY_USAGE_BITS),
  );
  assert.deepEqual(parseKeyUsage(["cRLSign,,"]), ["cRLSign"]);
});

Deno.test("parseKeyUsage rejects bad names", () => {
  assertInvalid(
    () => parseKeyUsage(["digitalSignature,signing"]),
    "Cannot parse key usage 'signing': it is not a keyUsage bit name",
  );
  assertInvalid(
    () => parseKeyUsage(["signing"]),
    "digitalSignature, nonRepudiation",
  );
  assertInvalid(
    () => parseKeyUsage(["digitalSignature", "DigitalSignature"]),
    "'DigitalSignature': digitalSignature is already listed",
  );
  assertInvalid(
    () => parseKeyUsage(["nonRepudiation,contentCommitment"]),
    "nonRepudiation is already listed",
  );
  assertInvalid(() => parseKeyUsage([""]), "no usage given");
  assertInvalid(() => parseKeyUsage([]), "no usage given");
});

Deno.test("keyUsageExtension rejects bad sets", () => {
  assertInvalid(() => keyUsageExtension([]), "at least one bit");
  assertInvalid(
    () => keyUsageExtension(["digitalSignature", "encipherOnly"]),
    "encipherOnly has a meaning only together with keyAgreement",
  );
  assertInvalid(
    () => keyUsageExtension(["decipherOnly"]),
    "decipherOnly has a meaning only together with keyAgreement",
  );
  assert.throws(
    () => keyUsageExtension(["signing" as KeyUsageName]),
    TypeError,
  );
});

Deno.test("keyUsage matches @peculiar/x509 flags", () => {
  fc.assert(
    fc.property(
      fc.subarray(Object.keys(KEY_USAGE_BITS) as KeyUsageName[], {
        minLength: 1,
      }),
      (usages) => {
        const needsAgreement = usages.includes("encipherOnly") ||
          usages.includes("decipherOnly");
        if (needsAgreement && !usages.includes("keyAgreement")) return;
        const extension = new x509.KeyUsagesExtension(
          encodeExtension(keyUsageExtension(usages)).slice(),
        );
        const expected = usages.reduce(
          (flags, usage) => flags | x509.KeyUsageFlags[usage],
          0,
        );
        assert.equal(extension.usages, expected);
        assert.equal(extension.critical, true);
      },
    ),
    { numRuns: 300 },
  );
});

// --- key usage and key type ------------------------------------------------

Deno.test("key usage checked against key type", () => {
  const forbidden: Record<string, KeyUsageName[]> = {
    RSA: ["keyAgreement", "encipherOnly", "decipherOnly"],
    EC: ["keyEncipherment", "dataEncipherment"],
    OKP: [
      "keyEncipherment",
      "dataEncipherment",
      "keyAgreement",
      "encipherOnly",
      "decipherOnly",
    ],
    AKP: [
      "keyEncipherment",
      "dataEncipherment",
      "keyAgreement",
      "encipherOnly",
      "decipherOnly",
    ],
  };
  const all = Object.keys(KEY_USAGE_BITS) as KeyUsageName[];
  for (const [keyType, bad] of Object.entries(forbidden)) {
    const type = keyType as "RSA" | "EC" | "OKP" | "AKP";
    for (const usage of all) {
      if (bad.includes(usage)) {
        assertInvalid(
          () => checkKeyUsageForKeyType(["digitalSignature", usage], type),
          `Cannot use key usage '${usage}' with`,
        );
      } else {
        checkKeyUsageForKeyType([usage], type);
      }
    }
  }
});

Deno.test("key type messages say what works", () => {
  assertInvalid(
    () => checkKeyUsageForKeyType(["keyEncipherment"], "EC"),
    "with an EC key: EC keys cannot encrypt",
  );
  assertInvalid(
    () => checkKeyUsageForKeyType(["keyEncipherment"], "EC"),
    "An EC key can have digitalSignature, nonRepudiation, keyAgreement",
  );
  assertInvalid(
    () => checkKeyUsageForKeyType(["keyAgreement"], "RSA"),
    "with an RSA key: RSA has no key agreement",
  );
  assertInvalid(
    () => checkKeyUsageForKeyType(["dataEncipherment"], "OKP"),
    "Ed25519 (OKP) key",
  );
  assertInvalid(
    () => checkKeyUsageForKeyType(["keyAgreement"], "AKP"),
    "An ML-DSA (AKP) key can have digitalSignature, nonRepudiation, " +
      "keyCertSign, cRLSign.",
  );
  assert.throws(
    () => checkKeyUsageForKeyType(["digitalSignature"], "DSA" as "RSA"),
    TypeError,
  );
});

// --- extended key usage ----------------------------------------------------

Deno.test("parseExtendedKeyUsage reads names and OIDs", () => {
  assert.deepEqual(
    parseExtendedKeyUsage([
      "serverAuth,CLIENTAUTH",
      "codeSigning, emailProtection",
      "timeStamping,ocspsigning",
      "1.3.6.1.4.1.311.20.2.2",
    ]),
    [
      "1.3.6.1.5.5.7.3.1",
      "1.3.6.1.5.5.7.3.2",
      "1.3.6.1.5.5.7.3.3",
      "1.3.6.1.5.5.7.3.4",
      "1.3.6.1.5.5.7.3.8",
      "1.3.6.1.5.5.7.3.9",
      "1.3.6.1.4.1.311.20.2.2",
    ],
  );
});

Deno.test("parseExtendedKeyUsage rejects bad input", () => {
  assertInvalid(
    () => parseExtendedKeyUsage(["webServer"]),
    "Cannot parse extended key usage 'webServer': it is neither a known name",
  );
  assertInvalid(
    () => parseExtendedKeyUsage(["webServer"]),
    "serverAuth, clientAuth",
  );
  for (const oid of ["1.2.x", "1.02.3", "3.1", "1"]) {
    assertInvalid(() => parseExtendedKeyUsage([oid]), `'${oid}'`);
  }
  assertInvalid(
    () => parseExtendedKeyUsage(["serverAuth", "1.3.6.1.5.5.7.3.1"]),
    "1.3.6.1.5.5.7.3.1 is already listed",
  );
  assertInvalid(() => parseExtendedKeyUsage([" "]), "no usage given");
});

Deno.test("extKeyUsage bytes match OpenSSL", async () => {
  const names = [
    "serverAuth",
    "clientAuth",
    "codeSigning",
    "emailProtection",
    "timeStamping",
    "OCSPSigning",
  ];
  const expected = findExtension(
    await opensslExtensions([`extendedKeyUsage=${names.join(",")}`]),
    ExtensionOid.extKeyUsage,
  );
  const ours = extendedKeyUsageExtension(parseExtendedKeyUsage(names));
  assert.equal(toHex(encodeExtension(ours)), toHex(encodeExtension(expected)));
  assert.equal(ours.critical, false);
});

Deno.test("extendedKeyUsageExtension rejects bad lists", () => {
  assertInvalid(
    () => extendedKeyUsageExtension([]),
    "at least one key purpose",
  );
  assertInvalid(
    () => extendedKeyUsageExtension(["serverAuth"]),
    "Cannot build extKeyUsage 'serverAuth': it is not a dotted OID",
  );
});

// --- basic constraints -----------------------------------------------------

Deno.test("basicConstraints bytes are exact", () => {
  const cases: [{ ca: boolean; pathLength?: number }, string][] = [
    [{ ca: false }, "3000"],
    [{ ca: true }, "30030101ff"],
    [{ ca: true, pathLength: 0 }, "30060101ff020100"],
    [{ ca: true, pathLength: 200 }, "30070101ff020200c8"],
    [{ ca: true, pathLength: MAX_PATH_LENGTH }, "30070101ff020200ff"],
  ];
  for (const [options, hex] of cases) {
    const extension = basicConstraintsExtension(options);
    assert.equal(toHex(extension.value), hex, JSON.stringify(options));
    assert.equal(extension.critical, true);
  }
});

Deno.test("basicConstraints bytes match OpenSSL", async () => {
  const cases: [string, { ca: boolean; pathLength?: number }][] = [
    ["critical,CA:FALSE", { ca: false }],
    ["critical,CA:TRUE", { ca: true }],
    ["critical,CA:TRUE,pathlen:3", { ca: true, pathLength: 3 }],
  ];
  for (const [text, options] of cases) {
    const expected = findExtension(
      await opensslExtensions([`basicConstraints=${text}`]),
      ExtensionOid.basicConstraints,
    );
    assert.equal(
      toHex(encodeExtension(basicConstraintsExtension(options))),
      toHex(encodeExtension(expected)),
      text,
    );
  }
});

Deno.test("basicConstraints rejects bad paths", () => {
  assertInvalid(
    () => basicConstraintsExtension({ ca: false, pathLength: 0 }),
    "path length '0': only a CA certificate has a path length",
  );
  for (const bad of [-1, 1.5, MAX_PATH_LENGTH + 1, Number.NaN]) {
    assertInvalid(
      () => basicConstraintsExtension({ ca: true, pathLength: bad }),
      `path length '${bad}': it must be an integer from 0 to ` +
        `${MAX_PATH_LENGTH}`,
    );
  }
});

// --- key identifiers -------------------------------------------------------

Deno.test("subjectKeyIdentifier matches OpenSSL", async () => {
  const extensions = await opensslCertificateExtensions([
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid:always",
  ]);
  const expected = findExtension(extensions, ExtensionOid.subjectKeyIdentifier);
  const ours = subjectKeyIdentifierExtension(await opensslSpki());
  assert.equal(toHex(encodeExtension(ours)), toHex(encodeExtension(expected)));
  assert.equal(ours.critical, false);
});

Deno.test("authorityKeyIdentifier matches OpenSSL", async () => {
  const extensions = await opensslCertificateExtensions([
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid:always",
  ]);
  const expected = findExtension(
    extensions,
    ExtensionOid.authorityKeyIdentifier,
  );
  const keyId = readDer(
    subjectKeyIdentifierExtension(await opensslSpki()).value,
  ).contents;
  const ours = authorityKeyIdentifierExtension(keyId);
  assert.equal(toHex(encodeExtension(ours)), toHex(encodeExtension(expected)));
  assert.equal(ours.critical, false);
});

Deno.test("subjectKeyIdentifier matches WebCrypto SHA-1", async () => {
  const keys = [
    await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-384" },
      true,
      ["sign"],
    ),
    await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: Uint8Array.of(1, 0, 1),
        hash: "SHA-256",
      },
      true,
      ["sign"],
    ),
    await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign"]),
  ] as CryptoKeyPair[];
  for (const pair of keys) {
    const spki = new Uint8Array(
      await crypto.subtle.exportKey("spki", pair.publicKey),
    );
    const bitString = readChildren(readDer(spki))[1]!;
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-1", bitString.contents.slice(1)),
    );
    const extension = subjectKeyIdentifierExtension(spki);
    assert.equal(toHex(extension.value), `0414${toHex(digest)}`);

    const peculiar = await x509.SubjectKeyIdentifierExtension.create(
      pair.publicKey,
    );
    assert.equal(toHex(extension.value).slice(4), peculiar.keyId);
  }
});

Deno.test("subjectKeyIdentifier rejects bad SPKI", () => {
  const algorithm = encodeSequence(encodeOid("1.2.840.10045.2.1"));
  const cases: [Uint8Array, string][] = [
    [fromHex("3000"), "not a SEQUENCE of an AlgorithmIdentifier"],
    [fromHex("04020000"), "expected tag 0x30"],
    [fromHex("3005"), "contents run past"],
    [encodeSequence(algorithm, fromHex("0403000102")), "not a SEQUENCE of"],
    [
      encodeSequence(fromHex("0500"), fromHex("0303000102")),
      "not a SEQUENCE of",
    ],
    [encodeSequence(algorithm, fromHex("030100")), "empty or not whole octets"],
    [
      encodeSequence(algorithm, fromHex("03020401")),
      "empty or not whole octets",
    ],
  ];
  for (const [spki, message] of cases) {
    assertInvalid(() => subjectKeyIdentifierExtension(spki), message);
    assertInvalid(
      () => subjectKeyIdentifierExtension(spki),
      `SPKI '${toHex(spki)}'`,
    );
  }
});

Deno.test("authorityKeyIdentifier rejects empty id", () => {
  assert.throws(
    () => authorityKeyIdentifierExtension(new Uint8Array()),
    RangeError,
  );
});

// --- Extension and Extensions ----------------------------------------------

Deno.test("encodeExtension omits false critical", () => {
  const value = Uint8Array.of(0x30, 0x00);
  assert.equal(
    toHex(encodeExtension({ oid: "2.5.29.19", critical: false, value })),
    "30090603551d1304023000",
  );
  assert.equal(
    toHex(encodeExtension({ oid: "2.5.29.19", critical: true, value })),
    "300c0603551d130101ff04023000",
  );
});

Deno.test("encodeExtensions rejects bad lists", () => {
  assert.throws(() => encodeExtensions([]), RangeError);
  const extension = basicConstraintsExtension({ ca: false });
  assertInvalid(
    () => encodeExtensions([extension, extension]),
    "extension '2.5.29.19' appears twice",
  );
});

Deno.test("decodeExtensions round-trips", () => {
  const extensions = [
    subjectAltNameExtension(parseSubjectAltNames(["DNS:a.example"])),
    keyUsageExtension(["digitalSignature"]),
    extendedKeyUsageExtension(["1.3.6.1.5.5.7.3.1"]),
    basicConstraintsExtension({ ca: true, pathLength: 1 }),
    authorityKeyIdentifierExtension(Uint8Array.of(1, 2)),
  ];
  const der = encodeExtensions(extensions);
  const decoded = decodeExtensions(der);
  assert.deepEqual(decoded, extensions);
  assert.equal(toHex(encodeExtensions(decoded)), toHex(der));
  // The values are copies: changing the input leaves them alone.
  der.fill(0);
  assert.equal(toHex(decoded[1]!.value), "03020780");
});

Deno.test("decodeExtensions rejects non-DER", () => {
  const oid = encodeOid("2.5.29.19");
  const value = encodeOctetString(Uint8Array.of(0x30, 0x00));
  const cases: [Uint8Array, string][] = [
    [fromHex("3000"), "it is empty"],
    [fromHex("3100"), "expected tag 0x30"],
    [fromHex("300130"), "missing length"],
    [encodeSequence(fromHex("0400")), "an Extension is not a SEQUENCE"],
    [encodeSequence(fromHex("3001ff")), "multi-octet tags are not supported"],
    [encodeSequence(encodeSequence(value)), "does not start with an OID"],
    [
      encodeSequence(encodeSequence(oid, encodeBoolean(false), value)),
      "critical FALSE written out",
    ],
    [
      encodeSequence(encodeSequence(oid, fromHex("010101"), value)),
      "not 0xff",
    ],
    [
      encodeSequence(encodeSequence(oid, fromHex("0500"), value)),
      "malformed critical flag",
    ],
    [encodeSequence(encodeSequence(oid)), "does not end with an OCTET STRING"],
    [
      encodeSequence(encodeSequence(oid, fromHex("0500"))),
      "does not end with an OCTET STRING",
    ],
    [
      encodeSequence(encodeSequence(oid, encodeBoolean(true), value, value)),
      "does not end with an OCTET STRING",
    ],
  ];
  for (const [der, message] of cases) {
    assertInvalid(() => decodeExtensions(der), message);
    assertInvalid(() => decodeExtensions(der), "Cannot decode extensions '");
  }
});

// --- a whole PKCS#10 request -----------------------------------------------

Deno.test("CSR with name and extensions verifies", async () => {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(
    await crypto.subtle.exportKey("spki", keys.publicKey),
  );
  const subject = parseSubject(
    "/C=US/ST=California/O=Example Corp/CN=svc.example.com" +
      "/emailAddress=ops@example.com",
  );
  const extensions = [
    subjectAltNameExtension(
      parseSubjectAltNames([
        "DNS:svc.example.com,DNS:*.svc.example.com",
        "IP:10.0.0.1,IP:::1",
      ]),
    ),
    keyUsageExtension(parseKeyUsage(["digitalSignature,keyAgreement"])),
    extendedKeyUsageExtension(parseExtendedKeyUsage(["serverAuth,clientAuth"])),
    basicConstraintsExtension({ ca: false }),
    subjectKeyIdentifierExtension(spki),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name(subject.der.slice()),
    keys,
    signingAlgorithm: algorithm,
    extensions: extensions.map((extension) =>
      new x509.Extension(encodeExtension(extension).slice())
    ),
  });
  assert.ok(await csr.verify());

  const der = new Uint8Array(csr.rawData);
  const info = readChildren(readDer(der))[0]!;
  assert.equal(toHex(readChildren(info)[1]!.encoded), toHex(subject.der));

  const san = new x509.SubjectAlternativeNameExtension(
    csr.getExtension(ExtensionOid.subjectAltName)!.rawData,
  );
  assert.deepEqual(
    san.names.items.map((name) => [name.type, name.value]),
    [
      ["dns", "svc.example.com"],
      ["dns", "*.svc.example.com"],
      ["ip", "10.0.0.1"],
      ["ip", "::1"],
    ],
  );
  const basic = new x509.BasicConstraintsExtension(
    csr.getExtension(ExtensionOid.basicConstraints)!.rawData,
  );
  assert.equal(basic.ca, false);
  assert.equal(basic.critical, true);

  const path = `${workDir}/request.der`;
  await Deno.writeFile(path, der);
  const output = await new Deno.Command("openssl", {
    args: [
      "req",
      "-in",
      path,
      "-inform",
      "DER",
      "-verify",
      "-noout",
      "-text",
      "-nameopt",
      "RFC2253",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);
  assert.ok(output.success, text);
  assert.ok(text.includes("verify OK"), text);
  assert.ok(
    text.includes(
      "Subject: emailAddress=ops@example.com,CN=svc.example.com," +
        "O=Example Corp,ST=California,C=US",
    ),
    text,
  );
  assert.ok(
    text.includes(
      "DNS:svc.example.com, DNS:*.svc.example.com, IP Address:10.0.0.1, " +
        "IP Address:0:0:0:0:0:0:0:1",
    ),
    text,
  );
  assert.ok(text.includes("X509v3 Key Usage: critical"), text);
  assert.ok(text.includes("Digital Signature, Key Agreement"), text);
  assert.ok(
    text.includes(
      "TLS Web Server Authentication, TLS Web Client Authentication",
    ),
    text,
  );
  assert.ok(text.includes("X509v3 Basic Constraints: critical"), text);
  assert.ok(text.includes("CA:FALSE"), text);
});
