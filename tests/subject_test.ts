import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeOid,
  encodeSequence,
  encodeTlv,
  fromHex,
  readChildren,
  readDer,
  Tag,
  toHex,
} from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import {
  type AttributeTypeAndValue,
  decodeName,
  encodeName,
  formatSubject,
  parseSubject,
  type RelativeDistinguishedName,
  SUBJECT_ATTRIBUTES,
  subjectFromFields,
} from "../lib/subject.ts";

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

const workDir = await Deno.makeTempDir({ prefix: "subject_test_" });
const keyPath = `${workDir}/key.pem`;
/** Writes an OpenSSL config whose req section uses the given string_mask. */
async function writeConfig(mask: string): Promise<string> {
  const path = `${workDir}/${mask}.cnf`;
  await Deno.writeTextFile(
    path,
    `[req]\ndistinguished_name = dn\nstring_mask = ${mask}\nprompt = no\n` +
      "[dn]\nCN = unused\n",
  );
  return path;
}
// utf8only makes OpenSSL write UTF8String wherever the attribute allows a
// choice, as this toolkit does. "default" prefers PrintableString.
const CONFIGS = {
  utf8only: await writeConfig("utf8only"),
  default: await writeConfig("default"),
};

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

/** Makes a CSR with OpenSSL 3.0 and returns it as DER. */
async function opensslCsr(
  subject: string,
  mask: keyof typeof CONFIGS = "utf8only",
): Promise<Uint8Array> {
  const out = `${workDir}/req.der`;
  await run([
    "req",
    "-new",
    "-key",
    keyPath,
    "-subj",
    subject,
    "-utf8",
    "-config",
    CONFIGS[mask],
    "-outform",
    "DER",
    "-out",
    out,
  ]);
  return await Deno.readFile(out);
}

/** Returns the subject Name that OpenSSL writes for `-subj`. */
async function opensslName(
  subject: string,
  mask: keyof typeof CONFIGS = "utf8only",
): Promise<Uint8Array> {
  const csr = await opensslCsr(subject, mask);
  const info = readChildren(readDer(csr))[0]!;
  return readChildren(info)[1]!.encoded.slice();
}

/** Returns `openssl asn1parse` output lines for DER bytes. */
async function asn1parse(der: Uint8Array): Promise<string[]> {
  const path = `${workDir}/parse.der`;
  await Deno.writeFile(path, der);
  const text = new TextDecoder().decode(
    await run(["asn1parse", "-inform", "DER", "-in", path]),
  );
  return text.trim().split("\n").map((line) => line.replace(/\s+/g, " "));
}

/** Returns the subject as OpenSSL prints it with `-nameopt RFC2253`. */
async function opensslRfc2253(der: Uint8Array): Promise<string> {
  const csrPath = `${workDir}/print.der`;
  // Wrap the Name in a CSR that OpenSSL made, so `openssl req` prints it.
  const csr = await opensslCsr("/CN=placeholder");
  const [infoTlv, algorithm, signature] = readChildren(readDer(csr));
  const [version, , spki, attributes] = readChildren(infoTlv!);
  const info = encodeSequence(
    version!.encoded,
    der,
    spki!.encoded,
    attributes!.encoded,
  );
  await Deno.writeFile(
    csrPath,
    encodeSequence(info, algorithm!.encoded, signature!.encoded),
  );
  const text = new TextDecoder().decode(
    await run([
      "req",
      "-in",
      csrPath,
      "-inform",
      "DER",
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253,-esc_msb",
    ]),
  );
  return text.trim().replace(/^subject=/, "");
}

function atv(
  shortName: string | null,
  oid: string,
  value: string,
  tag: number,
): AttributeTypeAndValue {
  return { oid, shortName, value, tag };
}

// --- string types ----------------------------------------------------------

Deno.test("country encodes as PrintableString", () => {
  const subject = parseSubject("/C=US");
  assert.equal(toHex(subject.der), "300d310b3009060355040613025553");
  assert.ok(toHex(subject.der).endsWith("13025553"));
  assert.deepEqual(subject.rdns, [[atv("C", "2.5.4.6", "US", 0x13)]]);
});

Deno.test("emailAddress uses IA5String tag", () => {
  const subject = parseSubject("/emailAddress=a@b.c");
  assert.equal(subject.rdns[0]![0]!.tag, 0x16);
  assert.equal(
    toHex(subject.der),
    "30163114301206092a864886f70d01090116056140622e63",
  );
});

Deno.test("domainComponent uses IA5String tag", () => {
  const subject = parseSubject("/DC=example");
  assert.equal(subject.rdns[0]![0]!.tag, 0x16);
  assert.ok(toHex(subject.der).endsWith("16076578616d706c65"));
});

Deno.test("Zürich encodes as UTF8String", () => {
  const subject = parseSubject("/L=Zürich");
  assert.ok(toHex(subject.der).endsWith("0c075ac3bc72696368"));
  assert.equal(subject.rdns[0]![0]!.tag, 0x0c);
});

Deno.test("serialNumber and dnQualifier use PrintableString", () => {
  const subject = parseSubject("/serialNumber=ABC-123/dnQualifier=q (1)");
  assert.equal(subject.rdns[0]![0]!.tag, 0x13);
  assert.equal(subject.rdns[1]![0]!.tag, 0x13);
  assert.ok(toHex(subject.der).includes("13074142432d313233"));
});

Deno.test("other attributes use UTF8String", () => {
  for (const entry of SUBJECT_ATTRIBUTES) {
    if (entry.kind !== "directory" && entry.kind !== "pkcs9") continue;
    const subject = parseSubject(`/${entry.shortName}=Müller & Söhne`);
    assert.equal(subject.rdns[0]![0]!.tag, 0x0c, entry.shortName);
  }
  assert.equal(parseSubject("/CN=my_service").rdns[0]![0]!.value, "my_service");
});

// --- order -----------------------------------------------------------------

Deno.test("OpenSSL form keeps RDN order", () => {
  const { rdns } = parseSubject(
    "/C=US/ST=California/O=Example Corp/CN=svc.example.com/emailAddress=a@b.c",
  );
  assert.deepEqual(
    rdns.map((rdn) => rdn[0]!.shortName),
    ["C", "ST", "O", "CN", "emailAddress"],
  );
  assert.equal(rdns[2]![0]!.value, "Example Corp");
});

Deno.test("RFC 4514 form reverses RDN order", () => {
  const { rdns } = parseSubject("CN=svc.example.com,O=Example Corp,C=US");
  assert.deepEqual(rdns.map((rdn) => rdn[0]!.shortName), ["C", "O", "CN"]);
});

Deno.test("both forms give the same DER", () => {
  const openssl = parseSubject("/DC=com/DC=example/CN=a+UID=b");
  const rfc4514 = parseSubject("UID=b+CN=a,DC=example,DC=com");
  assert.equal(toHex(openssl.der), toHex(rfc4514.der));
});

Deno.test("multi-valued RDN sorted by encoding", () => {
  const first = parseSubject("/CN=a+UID=b");
  const second = parseSubject("/UID=b+CN=a");
  // CN's AttributeTypeAndValue (30 08 ...) sorts before UID's (30 0f ...).
  const expected = "301d311b" + "300806035504030c0161" +
    "300f060a0992268993f22c6401010c0162";
  assert.equal(toHex(first.der), expected);
  assert.equal(toHex(second.der), expected);
  assert.deepEqual(second.rdns[0]!.map((item) => item.shortName), [
    "CN",
    "UID",
  ]);
});

Deno.test("rdns match decodeName of der", () => {
  const subject = parseSubject("/O=b+OU=aa+CN=c/C=US");
  assert.deepEqual(decodeName(subject.der), subject.rdns);
});

// --- OpenSSL as the reference encoder ------------------------------------

Deno.test("Name bytes match OpenSSL", async () => {
  const subjects = [
    "/C=US/ST=California/O=Example Corp/CN=svc.example.com/emailAddress=a@b.c",
    "/DC=com/DC=example/CN=a+UID=b",
    "/L=Zürich/O=Müller & Söhne/OU=my_service/CN=日本語",
    "/CN=a\\/b\\+c\\=d\\\\e/O=x=y",
    "/serialNumber=ABC-123 (x)/dnQualifier=q:1/title=Dr./GN=Ann/SN=Lee",
    "/initials=AL/generationQualifier=III/pseudonym=al/name=Ann Lee",
    "/street=1 Main St/postalCode=94103/postOfficeBox=PO 1",
    "/physicalDeliveryOfficeName=HQ/businessCategory=Private Organization",
    "/jurisdictionC=DE/jurisdictionST=Bayern/jurisdictionL=München",
    "/organizationIdentifier=VATDE-123456789/description=Team ☃",
    "/unstructuredName=host/unstructuredAddress=1 Main St",
    "/O=b+OU=aa+CN=c/C=US",
    "/2.5.4.3=dotted/2.5.4.6=DE",
    "/commonName=long/countryName=JP/emailAddress=x@y.z",
    "/CN=😀 emoji",
  ];
  for (const subject of subjects) {
    const expected = await opensslName(subject);
    assert.equal(toHex(parseSubject(subject).der), toHex(expected), subject);
  }
});

Deno.test("every attribute matches OpenSSL", async () => {
  for (const entry of SUBJECT_ATTRIBUTES) {
    const value = entry.kind === "country"
      ? "NZ"
      : entry.kind === "ia5"
      ? "x1.example"
      : "Value 1";
    for (const name of [entry.shortName, entry.longName]) {
      const subject = `/${name}=${value}`;
      const expected = await opensslName(subject);
      assert.equal(toHex(parseSubject(subject).der), toHex(expected), subject);
    }
  }
});

Deno.test("RFC 4514 input matches OpenSSL", async () => {
  const pairs: [string, string][] = [
    [
      "CN=svc.example.com,O=Example Corp,C=US",
      "/C=US/O=Example Corp/CN=svc.example.com",
    ],
    [
      'CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net',
      '/DC=net/DC=example/CN=James "Jim" Smith, III',
    ],
    ["CN=Lu\\C4\\8Di\\C4\\87", "/CN=Lučić"],
    [
      "OU=Sales+CN=J. Smith,DC=example,DC=net",
      "/DC=net/DC=example/OU=Sales+CN=J. Smith",
    ],
    ["CN=\\ lead and trail\\ ", "/CN= lead and trail "],
    ["CN=\\#hash\\<\\>\\;\\=\\+", "/CN=#hash<>;=\\+"],
  ];
  for (const [rfc4514, openssl] of pairs) {
    const expected = await opensslName(openssl);
    assert.equal(toHex(parseSubject(rfc4514).der), toHex(expected), rfc4514);
  }
});

Deno.test("asn1parse reads the Name", async () => {
  const { der } = parseSubject(
    "/C=US/O=Example Corp/CN=Zürich+emailAddress=a@b.c",
  );
  const lines = await asn1parse(der);
  const sets = lines.filter((line) => line.includes("cons: SET"));
  assert.equal(sets.length, 3);
  assert.ok(lines.some((line) => line.endsWith("PRINTABLESTRING :US")));
  assert.ok(lines.some((line) => line.endsWith("UTF8STRING :Example Corp")));
  assert.ok(lines.some((line) => line.endsWith("UTF8STRING :Zürich")));
  assert.ok(lines.some((line) => line.endsWith("IA5STRING :a@b.c")));
  assert.ok(lines.some((line) => line.endsWith("OBJECT :emailAddress")));
  assert.ok(lines[0]!.includes(`l= ${der.length - 2} cons: SEQUENCE`));
});

// --- escapes and whitespace ----------------------------------------------

Deno.test("OpenSSL escapes give literal characters", () => {
  const { rdns } = parseSubject("/CN=a\\/b\\+c\\=d\\\\e\\ ");
  assert.equal(rdns[0]![0]!.value, "a/b+c=d\\e ");
  assert.equal(parseSubject("/CN=x=y").rdns[0]![0]!.value, "x=y");
});

Deno.test("RFC 4514 escapes give literal characters", () => {
  const cases: [string, string][] = [
    ["CN=a\\,b", "a,b"],
    ["CN=a\\+b", "a+b"],
    ['CN=a\\"b', 'a"b'],
    ["CN=a\\\\b", "a\\b"],
    ["CN=a\\<b\\>", "a<b>"],
    ["CN=a\\;b", "a;b"],
    ["CN=a\\=b", "a=b"],
    ["CN=a=b", "a=b"],
    ["CN=\\#a", "#a"],
    ["CN=a#b", "a#b"],
    ["CN=\\ a", " a"],
    ["CN=a\\ ", "a "],
    ["CN=\\  a", "  a"],
    ["CN=Z\\C3\\BCrich", "Zürich"],
    ["CN=Z\\c3\\bcrich", "Zürich"],
    ["CN=\\F0\\9F\\98\\80", "😀"],
    ["CN=\\41\\2C", "A,"],
  ];
  for (const [text, value] of cases) {
    assert.equal(parseSubject(text).rdns[0]![0]!.value, value, text);
  }
});

Deno.test("whitespace around separators trimmed", () => {
  const openssl = parseSubject("  / CN = a b / O = c  ");
  assert.deepEqual(openssl.rdns.map((rdn) => rdn[0]!.value), ["a b", "c"]);
  const rfc4514 = parseSubject(" CN = a b , O = c + OU = d ");
  assert.deepEqual(
    rfc4514.rdns.map((rdn) => rdn.map((item) => item.value)),
    [["c", "d"], ["a b"]],
  );
});

Deno.test("hexstring keeps its string type", () => {
  const printable = parseSubject("CN=#1303616263");
  assert.deepEqual(printable.rdns, [[atv("CN", "2.5.4.3", "abc", 0x13)]]);
  assert.equal(toHex(printable.der), "300e310c300a06035504031303616263");

  const unknown = parseSubject("1.2.3.4=#160161");
  assert.deepEqual(unknown.rdns, [[atv(null, "1.2.3.4", "a", 0x16)]]);

  const bmp = parseSubject("CN=#1e0400fc0041");
  assert.equal(bmp.rdns[0]![0]!.value, "üA");
  assert.ok(toHex(bmp.der).endsWith("1e0400fc0041"));

  const universal = parseSubject("CN=#1c040001f600");
  assert.equal(universal.rdns[0]![0]!.value, "😀");

  const teletex = parseSubject("CN=#1401fc");
  assert.equal(teletex.rdns[0]![0]!.value, "ü");
  assert.ok(toHex(teletex.der).endsWith("1401fc"));

  assert.equal(parseSubject("C=#13024445").rdns[0]![0]!.value, "DE");
  assert.equal(parseSubject("CN= #0c0161 ").rdns[0]![0]!.value, "a");
});

Deno.test("OID prefix accepted in RFC 4514", () => {
  for (const text of ["OID.2.5.4.3=x", "oid.2.5.4.3=x", "2.5.4.3=x"]) {
    assert.deepEqual(
      parseSubject(text).rdns,
      [[atv("CN", "2.5.4.3", "x", 0x0c)]],
      text,
    );
  }
});

// --- names -----------------------------------------------------------------

Deno.test("names match case-insensitively", () => {
  const subject = parseSubject(
    "/countryname=US/COMMONNAME=a/emailaddress=a@b.c/cn=b/Uid=u/dc=x",
  );
  assert.deepEqual(
    subject.rdns.map((rdn) => rdn[0]!.shortName),
    ["C", "CN", "emailAddress", "CN", "UID", "DC"],
  );
});

Deno.test("dotted OIDs of known types", () => {
  const { rdns } = parseSubject("/2.5.4.6=US/2.5.4.3=x");
  assert.deepEqual(rdns, [
    [atv("C", "2.5.4.6", "US", 0x13)],
    [atv("CN", "2.5.4.3", "x", 0x0c)],
  ]);
});

Deno.test("dotted OIDs of unknown types", () => {
  const { rdns } = parseSubject("/1.2.3.4=Zürich/2.999.7=v");
  assert.deepEqual(rdns, [
    [atv(null, "1.2.3.4", "Zürich", 0x0c)],
    [atv(null, "2.999.7", "v", 0x0c)],
  ]);
});

Deno.test("attribute table has unique names", () => {
  const names = SUBJECT_ATTRIBUTES.flatMap((entry) => [
    entry.shortName.toLowerCase(),
    entry.longName.toLowerCase(),
  ]);
  const distinct = new Set(
    SUBJECT_ATTRIBUTES.flatMap((entry) =>
      [...new Set([entry.shortName, entry.longName])].map((name) =>
        name.toLowerCase()
      )
    ),
  );
  assert.equal(distinct.size, new Set(names).size);
  const oids = SUBJECT_ATTRIBUTES.map((entry) => entry.oid);
  assert.equal(new Set(oids).size, oids.length);
  for (const required of ["C", "ST", "L", "O", "OU", "CN", "emailAddress"]) {
    assert.ok(SUBJECT_ATTRIBUTES.some((entry) => entry.shortName === required));
  }
});

// --- empty subjects and fields ---------------------------------------------

Deno.test("empty subject encodes as 30 00", () => {
  for (const text of ["", "   ", "/", " / "]) {
    const subject = parseSubject(text);
    assert.deepEqual(subject.rdns, [], JSON.stringify(text));
    assert.equal(toHex(subject.der), "3000", JSON.stringify(text));
  }
  assert.equal(toHex(subjectFromFields([]).der), "3000");
  assert.equal(toHex(encodeName([])), "3000");
});

Deno.test("trailing slash accepted", () => {
  assert.equal(
    toHex(parseSubject("/CN=a/").der),
    toHex(parseSubject("/CN=a").der),
  );
});

Deno.test("subjectFromFields skips empty answers", () => {
  const subject = subjectFromFields([
    { shortName: "C", value: "US" },
    { shortName: "ST", value: "" },
    { shortName: "L", value: "." },
    { shortName: "O", value: "  " },
    { shortName: "OU", value: " Platform " },
    { shortName: "CN", value: "svc" },
    { shortName: "emailAddress", value: "a@b.c" },
  ]);
  assert.deepEqual(subject.rdns, [
    [atv("C", "2.5.4.6", "US", 0x13)],
    [atv("OU", "2.5.4.11", "Platform", 0x0c)],
    [atv("CN", "2.5.4.3", "svc", 0x0c)],
    [atv("emailAddress", "1.2.840.113549.1.9.1", "a@b.c", 0x16)],
  ]);
  assert.equal(
    toHex(subject.der),
    toHex(parseSubject("/C=US/OU=Platform/CN=svc/emailAddress=a@b.c").der),
  );
});

Deno.test("subjectFromFields keeps one RDN each", () => {
  const subject = subjectFromFields([
    { shortName: "CN", value: "a+b" },
    { shortName: "O", value: "x/y" },
  ]);
  assert.equal(subject.rdns.length, 2);
  assert.equal(subject.rdns[0]![0]!.value, "a+b");
  assert.equal(subject.rdns[1]![0]!.value, "x/y");
});

Deno.test("subjectFromFields rejects invalid answers", () => {
  assertInvalid(
    () => subjectFromFields([{ shortName: "C", value: "us" }]),
    "Use 'US'",
  );
  assertInvalid(
    () => subjectFromFields([{ shortName: "C", value: "us" }]),
    "Cannot use subject attribute 'C=us'",
  );
  assertInvalid(
    () => subjectFromFields([{ shortName: "XX", value: "v" }]),
    "unknown attribute type 'XX'",
  );
  assertInvalid(
    () => subjectFromFields([{ shortName: "CN", value: "a".repeat(65) }]),
    "65 characters long",
  );
});

// --- upper bounds ----------------------------------------------------------

Deno.test("upper bounds counted in code points", () => {
  const bounded = SUBJECT_ATTRIBUTES.filter((entry) =>
    entry.maxLength !== null && entry.kind !== "country"
  );
  assert.ok(bounded.length >= 20);
  for (const entry of bounded) {
    const max = entry.maxLength!;
    const char = entry.kind === "directory" || entry.kind === "pkcs9"
      ? "😀"
      : "a";
    const fits = `/${entry.shortName}=${char.repeat(max)}`;
    assert.equal(
      [...parseSubject(fits).rdns[0]![0]!.value].length,
      max,
      entry.shortName,
    );
    const over = `/${entry.shortName}=${char.repeat(max + 1)}`;
    assertInvalid(() => parseSubject(over), `${max + 1} characters long`);
    assertInvalid(() => parseSubject(over), `over its maximum of ${max}`);
    assertInvalid(() => parseSubject(over), entry.bound!);
  }
});

Deno.test("RFC 5280 bounds have their values", () => {
  const expected: Record<string, number> = {
    CN: 64,
    L: 128,
    ST: 128,
    O: 64,
    OU: 64,
    title: 64,
    serialNumber: 64,
    emailAddress: 255,
    GN: 32768,
    SN: 32768,
    initials: 32768,
    generationQualifier: 32768,
    pseudonym: 128,
    postalCode: 40,
    C: 2,
  };
  for (const [name, max] of Object.entries(expected)) {
    const entry = SUBJECT_ATTRIBUTES.find((item) => item.shortName === name);
    assert.equal(entry?.maxLength, max, name);
  }
  assert.equal(
    SUBJECT_ATTRIBUTES.find((item) => item.shortName === "CN")!.bound,
    "ub-common-name, RFC 5280 Appendix A",
  );
});

// --- rejections ------------------------------------------------------------

Deno.test("text without equals rejected", () => {
  assertInvalid(() => parseSubject("svc.example.com"), "'svc.example.com'");
  assertInvalid(() => parseSubject("svc.example.com"), "/C=US/O=Example Corp");
  assertInvalid(() => parseSubject("svc.example.com"), "RFC 4514 form");
  assertInvalid(
    () => parseSubject("svc.example.com"),
    "most specific RDN first",
  );
});

Deno.test("OpenSSL structure errors rejected", () => {
  const cases: [string, string][] = [
    ["/CN=a/O", "component 'O': it has no '='"],
    ["/CN=a/O+CN=b", "component 'O': it has no '='"],
    ["/CN=a//O=b", "empty component"],
    ["/+CN=a", "empty component"],
    ["/CN=a\\", "lone backslash"],
    ["/CN=a+", "ends in '+'"],
  ];
  for (const [text, message] of cases) {
    assertInvalid(() => parseSubject(text), message);
    assertInvalid(() => parseSubject(text), "'");
  }
});

Deno.test("RFC 4514 structure errors rejected", () => {
  const cases: [string, string][] = [
    ["CN=a,,O=b", "empty RDN"],
    ["CN=a,", "ends in ','"],
    ["CN=a+", "ends in '+'"],
    ["CN=a,O", "component 'O': it has no '='"],
    ["CN=a\\q", "must be followed by"],
    ["CN=a\\", "must be followed by"],
    ['CN=a"b', `'"' must be escaped as '\\"'`],
    ["CN=a;b", "';' must be escaped"],
    ["CN=a<b", "'<' must be escaped"],
    ["CN=a>b", "'>' must be escaped"],
    ["CN=\\C3", "are not valid UTF-8"],
    ["CN=\\C3\\28", "(c328) are not valid UTF-8"],
    ["CN=\\ED\\A0\\80", "are not valid UTF-8"],
  ];
  for (const [text, message] of cases) {
    assertInvalid(() => parseSubject(text), message);
  }
});

Deno.test("hexstring errors rejected", () => {
  const cases: [string, string][] = [
    ["CN=#", "even number of hex digits"],
    ["CN=#abc", "even number of hex digits"],
    ["CN=#zz", "even number of hex digits"],
    ["CN=#0c0161 x", "even number of hex digits"],
    ["CN=#0c03ab", "not one DER value (contents run past the end of data)"],
    ["CN=#0c01610c", "not one DER value (trailing bytes"],
    ["C=#0c025553", "C cannot be UTF8String (0x0c). Use PrintableString"],
    ["CN=#160161", "CN cannot be IA5String (0x16)"],
    ["1.3.6.1.4.1.1466.0=#04024869", "cannot be tag 0x04"],
    ["CN=#0c01ff", "not valid UTF-8"],
    ["CN=#1e0100", "BMPString length is odd"],
    ["CN=#1e02d800", "surrogate code unit"],
    ["CN=#1c03000041", "not a multiple of 4"],
    ["CN=#1c0400110000", "invalid code point"],
    ["CN=#1301ff", "PrintableString contents are not ASCII"],
    ["CN=#130140", "cannot be written as PrintableString (0x13)"],
    ["CN=#0c00", "has an empty value"],
  ];
  for (const [text, message] of cases) {
    assertInvalid(() => parseSubject(text), message);
  }
});

Deno.test("unknown attribute types rejected", () => {
  assertInvalid(() => parseSubject("/XX=v"), "unknown attribute type 'XX'");
  assertInvalid(() => parseSubject("/XX=v"), "CN, emailAddress, serialNumber");
  assertInvalid(() => parseSubject("XX=v"), "'XX=v'");
  assertInvalid(() => parseSubject("/E=a@b.c"), "so use emailAddress");
  assertInvalid(() => parseSubject("/E=a@b.c"), "Supported short names: C,");
  assertInvalid(() => parseSubject("/Email=a@b.c"), "so use emailAddress");
  assertInvalid(() => parseSubject("/S=CA"), "so use ST");
  assertInvalid(() => parseSubject("OID.CN=x"), "unknown attribute type");
  assertInvalid(() => parseSubject("/OID.2.5.4.3=x"), "without 'OID.'");
  assertInvalid(() => parseSubject("C N=x"), "unknown attribute type 'C N'");
});

Deno.test("malformed OIDs rejected", () => {
  for (const oid of ["1.02.3", "3.1", "1.40", "1", "1..2", "1.2."]) {
    assertInvalid(() => parseSubject(`/${oid}=x`), "is not a valid dotted OID");
  }
});

Deno.test("empty values rejected", () => {
  assertInvalid(() => parseSubject("/CN="), "'CN=': CN has an empty value");
  assertInvalid(() => parseSubject("/CN=  "), "CN has an empty value");
  assertInvalid(() => parseSubject("CN=,O=x"), "CN has an empty value");
  assertInvalid(() => parseSubject("CN=a+O="), "O has an empty value");
});

Deno.test("control characters rejected", () => {
  for (
    const [char, code] of [
      ["\u0000", "U+0000"],
      ["\u0007", "U+0007"],
      [
        "\u001f",
        "U+001F",
      ],
      ["\u007f", "U+007F"],
      ["\u0085", "U+0085"],
    ]
  ) {
    assertInvalid(
      () => parseSubject(`/O=a${char}b`),
      `O contains the control character ${code}`,
    );
  }
  assertInvalid(() => parseSubject("CN=a\\0Db"), "control character U+000D");
  assertInvalid(() => parseSubject("CN=a\\00"), "control character U+0000");
});

Deno.test("unpaired surrogates rejected", () => {
  assertInvalid(
    () => parseSubject("/CN=a\ud800b"),
    "CN contains an unpaired UTF-16 surrogate U+D800",
  );
  assertInvalid(() => parseSubject("/CN=\udc00"), "surrogate U+DC00");
  assertInvalid(() => parseSubject("CN=a\ud83d"), "surrogate U+D83D");
});

Deno.test("country codes checked", () => {
  assertInvalid(() => parseSubject("/C=us"), "Use 'US'");
  assertInvalid(() => parseSubject("/C=Us"), "uppercase two-letter");
  assertInvalid(() => parseSubject("/jurisdictionC=de"), "Use 'DE'");
  for (const bad of ["USA", "U", "12", "U1", "ÜS"]) {
    assertInvalid(() => parseSubject(`/C=${bad}`), "exactly two letters");
    assertInvalid(() => parseSubject(`/C=${bad}`), `'C=${bad}'`);
  }
});

Deno.test("IA5String attributes need ASCII", () => {
  assertInvalid(
    () => parseSubject("/emailAddress=ü@example.com"),
    "emailAddress must be ASCII (IA5String) but contains 'ü' (U+00FC)",
  );
  assertInvalid(() => parseSubject("/DC=bücher"), "punycode ('xn--...')");
});

Deno.test("PrintableString attributes checked", () => {
  assertInvalid(
    () => parseSubject("/serialNumber=a_b"),
    "serialNumber must be a PrintableString (RFC 5280) but contains '_'",
  );
  assertInvalid(() => parseSubject("/dnQualifier=a@b"), "contains '@'");
  assertInvalid(() => parseSubject("/serialNumber=ü"), "contains 'ü'");
});

Deno.test("repeated type in RDN rejected", () => {
  assertInvalid(
    () => parseSubject("/CN=a+CN=b"),
    "RDN 'CN=a+CN=b': attribute type CN appears twice",
  );
  assertInvalid(() => parseSubject("CN=a+2.5.4.3=b"), "appears twice");
});

Deno.test("slash form without slash hinted", () => {
  assertInvalid(
    () => parseSubject("C=US/O=Example"),
    "If 'C=US/O=Example' is meant as the OpenSSL form, start it with '/'.",
  );
});

Deno.test("parseSubject rejects non-strings", () => {
  assert.throws(
    () => parseSubject(undefined as unknown as string),
    TypeError,
  );
});

// --- encodeName and decodeName ---------------------------------------------

Deno.test("encodeName writes each string type", () => {
  const cases: [number, string, string][] = [
    [Tag.UTF8String, "ü", "0c02c3bc"],
    [Tag.PrintableString, "A b", "1303412062"],
    [Tag.IA5String, "a@b", "1603614062"],
    [Tag.BMPString, "ü", "1e0200fc"],
    [Tag.UniversalString, "😀", "1c040001f600"],
    [Tag.TeletexString, "ü", "1401fc"],
    [Tag.NumericString, "1 2", "1203312032"],
    [Tag.VisibleString, "a~", "1a02617e"],
  ];
  for (const [tag, value, hex] of cases) {
    const der = encodeName([[atv("CN", "2.5.4.3", value, tag)]]);
    assert.ok(toHex(der).endsWith(`0603550403${hex}`), hex);
    assert.deepEqual(decodeName(der), [[atv("CN", "2.5.4.3", value, tag)]]);
  }
});

Deno.test("encodeName rejects unfit values", () => {
  const cases: [number, string, string][] = [
    [Tag.PrintableString, "a@b", "is not a PrintableString character"],
    [Tag.IA5String, "ü", "is not ASCII"],
    [Tag.BMPString, "😀", "outside the Basic Multilingual Plane"],
    [Tag.TeletexString, "€", "outside ISO 8859-1"],
    [Tag.NumericString, "1a", "is not a NumericString character"],
    [Tag.VisibleString, "a\u0001", "not a printable ASCII character"],
    [Tag.OCTET_STRING, "a", "is not a supported string type"],
    [Tag.UTF8String, "a\ud800", "unpaired surrogate"],
  ];
  for (const [tag, value, message] of cases) {
    assertInvalid(
      () => encodeName([[atv("CN", "2.5.4.3", value, tag)]]),
      message,
    );
    assertInvalid(
      () => encodeName([[atv("CN", "2.5.4.3", value, tag)]]),
      "Cannot encode subject attribute 'CN=",
    );
  }
  assert.throws(() => encodeName([[]]), RangeError);
});

Deno.test("decodeName reads OpenSSL defaults", async () => {
  // With string_mask "default", OpenSSL 3.0 writes PrintableString where the
  // value fits and TeletexString (here ISO 8859-1) for Latin-1 text.
  const der = await opensslName("/C=US/O=Example/CN=Zürich", "default");
  const rdns = decodeName(der);
  assert.deepEqual(rdns, [
    [atv("C", "2.5.4.6", "US", Tag.PrintableString)],
    [atv("O", "2.5.4.10", "Example", Tag.PrintableString)],
    [atv("CN", "2.5.4.3", "Zürich", Tag.TeletexString)],
  ]);
  assert.equal(toHex(encodeName(rdns)), toHex(der));
});

Deno.test("decodeName rejects malformed Names", () => {
  const oid = encodeOid("2.5.4.3");
  const value = encodeTlv(Tag.UTF8String, Uint8Array.of(0x61));
  const cases: [Uint8Array, string][] = [
    [fromHex("3100"), "expected tag 0x30"],
    [fromHex("3001"), "contents run past the end"],
    [fromHex("30000000"), "trailing bytes"],
    [encodeSequence(encodeSequence()), "an RDN is not a SET"],
    [encodeSequence(encodeTlv(Tag.SET, new Uint8Array())), "an RDN is empty"],
    [
      encodeSequence(encodeTlv(Tag.SET, encodeTlv(Tag.SET, new Uint8Array()))),
      "is not a SEQUENCE",
    ],
    [
      encodeSequence(encodeTlv(Tag.SET, encodeSequence(oid))),
      "is not an OID and a value",
    ],
    [
      encodeSequence(encodeTlv(Tag.SET, encodeSequence(value, value))),
      "is not an OID and a value",
    ],
    [
      encodeSequence(
        encodeTlv(
          Tag.SET,
          encodeSequence(oid, encodeTlv(Tag.OCTET_STRING, Uint8Array.of(1))),
        ),
      ),
      "the value of 2.5.4.3: tag 0x04 is not a supported string type",
    ],
  ];
  for (const [der, message] of cases) {
    assertInvalid(() => decodeName(der), message);
    assertInvalid(() => decodeName(der), `Cannot decode Name '${toHex(der)}'`);
  }
});

// --- formatSubject ---------------------------------------------------------

Deno.test("formatSubject writes OpenSSL form", () => {
  const cases: [string, string][] = [
    ["/C=US/O=Example Corp/CN=x", "/C=US/O=Example Corp/CN=x"],
    ["/CN=a\\/b\\+c\\\\d=e", "/CN=a\\/b\\+c\\\\d=e"],
    ["/CN=\\ x\\ ", "/CN=\\ x\\ "],
    ["/DC=com/CN=a+UID=b", "/DC=com/CN=a+UID=b"],
    ["CN=x,O=y", "/O=y/CN=x"],
    ["/1.2.3.4=v", "/1.2.3.4=v"],
    ["/commonName=v", "/CN=v"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(formatSubject(parseSubject(input).rdns), expected, input);
  }
  assert.equal(formatSubject([]), "/");
});

Deno.test("formatSubject writes RFC 4514 form", () => {
  const cases: [string, string][] = [
    ["/C=US/O=Example Corp/CN=x", "CN=x,O=Example Corp,C=US"],
    ['/CN=James "Jim" Smith, III', 'CN=James \\"Jim\\" Smith\\, III'],
    ["/CN=a\\+b;c<d>e\\\\f", "CN=a\\+b\\;c\\<d\\>e\\\\f"],
    ["/CN=#x", "CN=\\#x"],
    ["/CN=x#", "CN=x#"],
    ["/CN=\\ x\\ ", "CN=\\ x\\ "],
    ["/CN=a=b", "CN=a=b"],
    ["/CN=Zürich", "CN=Zürich"],
    ["/1.2.3.4=ab", "1.2.3.4=#0c026162"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(
      formatSubject(parseSubject(input).rdns, { format: "rfc4514" }),
      expected,
      input,
    );
  }
  assert.equal(formatSubject([], { format: "rfc4514" }), "");
});

Deno.test("RFC 4514 output matches OpenSSL", async () => {
  const subjects = [
    "/C=US/ST=California/O=Example Corp/CN=svc.example.com/emailAddress=a@b.c",
    '/O=Sue\\, Grabbit/CN=James "Jim" <x>;y\\\\z\\+=',
    "/CN= #lead/L=Zürich/jurisdictionC=DE/DC=com/UID=u1/street=1 Main",
    "/serialNumber=1/title=Dr./GN=Ann/SN=Lee/organizationIdentifier=NTRDE-1",
  ];
  for (const subject of subjects) {
    const { rdns, der } = parseSubject(subject);
    assert.equal(
      formatSubject(rdns, { format: "rfc4514" }),
      await opensslRfc2253(der),
      subject,
    );
  }
});

Deno.test("formatSubject escapes control characters", () => {
  const rdns = [[atv("CN", "2.5.4.3", "a\u0007b\u0085", Tag.UTF8String)]];
  assert.equal(formatSubject(rdns), "/CN=a\\07b\\C2\\85");
  assert.equal(formatSubject(rdns, { format: "rfc4514" }), "CN=a\\07b\\C2\\85");
});

Deno.test("formatSubject uses table short names", () => {
  const rdns = [[atv("commonName", "2.5.4.3", "x", Tag.UTF8String)]];
  assert.equal(formatSubject(rdns), "/CN=x");
  const decoded = decodeName(
    encodeSequence(
      encodeTlv(
        Tag.SET,
        encodeSequence(
          encodeOid("2.5.4.3"),
          encodeTlv(Tag.PrintableString, Uint8Array.of(0x61)),
        ),
      ),
    ),
  );
  assert.equal(formatSubject(decoded, { format: "rfc4514" }), "CN=a");
});

// --- property tests --------------------------------------------------------

const PRINTABLE_CHARS = [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
  ..."0123456789 '()+,-./:=?",
];

function isControlPoint(point: number): boolean {
  return point <= 0x1f || (point >= 0x7f && point <= 0x9f);
}

const directoryValue = fc.string({
  unit: "binary",
  minLength: 1,
  maxLength: 12,
})
  .filter((text) =>
    [...text].every((char) => !isControlPoint(char.codePointAt(0)!))
  );

const asciiValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)),
  minLength: 1,
  maxLength: 12,
});

const printableValue = fc.string({
  unit: fc.constantFrom(...PRINTABLE_CHARS),
  minLength: 1,
  maxLength: 12,
});

const countryValue = fc.string({
  unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
  minLength: 2,
  maxLength: 2,
});

const attributeArbitrary: fc.Arbitrary<AttributeTypeAndValue> = fc.oneof(
  fc.constantFrom(...SUBJECT_ATTRIBUTES).chain((entry) => {
    const value = entry.kind === "country"
      ? countryValue
      : entry.kind === "printable"
      ? printableValue
      : entry.kind === "ia5"
      ? asciiValue
      : directoryValue;
    const tag = entry.kind === "country" || entry.kind === "printable"
      ? Tag.PrintableString
      : entry.kind === "ia5"
      ? Tag.IA5String
      : Tag.UTF8String;
    return value.map((text) => atv(entry.shortName, entry.oid, text, tag));
  }),
  fc.tuple(
    fc.constantFrom("1.2.3.4", "2.999.1", "1.3.6.1.4.1.99999.1"),
    directoryValue,
  )
    .map(([oid, text]) => atv(null, oid, text, Tag.UTF8String)),
);

const rdnsArbitrary: fc.Arbitrary<RelativeDistinguishedName[]> = fc.array(
  fc.uniqueArray(attributeArbitrary, {
    minLength: 1,
    maxLength: 3,
    selector: (item) => item.oid,
  }),
  { maxLength: 5 },
);

Deno.test("random subjects round-trip", () => {
  fc.assert(
    fc.property(rdnsArbitrary, (rdns) => {
      const der = encodeName(rdns);
      const expected = decodeName(der);
      for (const format of ["openssl", "rfc4514"] as const) {
        const text = formatSubject(rdns, { format });
        const parsed = parseSubject(text);
        assert.deepEqual(parsed.rdns, expected, text);
        assert.equal(toHex(parsed.der), toHex(der), text);
      }
    }),
    { numRuns: 500 },
  );
});

const SUBJECT_NOISE = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      ...'/=+,\\#";<> CNOUSTDCLe1.0x',
      "CN",
      "C=",
      "OID.",
      "2.5.4.3",
      "ü",
      "\u0007",
      "\ud800",
      "\\C3",
      "#0c",
    ),
    fc.string({ unit: "binary", maxLength: 1 }),
  ),
  maxLength: 24,
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

Deno.test("random text throws only KmsToolkitError", () => {
  fc.assert(
    fc.property(
      fc.oneof(SUBJECT_NOISE, fc.string({ unit: "binary" })),
      (text) => {
        try {
          parseSubject(text);
        } catch (error) {
          assert.ok(error instanceof KmsToolkitError, `${error} for ${text}`);
          assert.equal(error.code, "INVALID_INPUT");
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("rejections quote the bad value", () => {
  fc.assert(
    fc.property(SUBJECT_NOISE, (text) => {
      try {
        parseSubject(text);
      } catch (error) {
        assert.ok(error instanceof KmsToolkitError);
        assert.ok(
          quotesInput(error.message, [text]),
          `${JSON.stringify(error.message)} for ${JSON.stringify(text)}`,
        );
      }
    }),
    { numRuns: 2000 },
  );
});
