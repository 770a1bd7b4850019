import assert from "node:assert/strict";
import {
  decodeOid,
  encodeBitString,
  encodeInteger,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  encodeTime,
  encodeTlv,
  fromHex,
  readChildren,
  readDer,
  readUnsignedInteger,
  Tag,
  toHex,
} from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { openssl, tempDir } from "./_helpers.ts";

Deno.test("encodeInteger adds sign bytes", () => {
  const cases: [bigint | number | Uint8Array, string][] = [
    [0, "020100"],
    [127, "02017f"],
    [128, "02020080"],
    [256, "02020100"],
    [65537n, "0203010001"],
    [Uint8Array.of(0, 0, 0x80), "02020080"],
    [Uint8Array.of(0, 0), "020100"],
    [Uint8Array.of(0xff), "020200ff"],
  ];
  for (const [value, hex] of cases) {
    assert.equal(toHex(encodeInteger(value)), hex, `value ${value}`);
  }
  assert.throws(() => encodeInteger(-1), RangeError);
});

Deno.test("encodeTlv uses long lengths", () => {
  assert.equal(toHex(encodeTlv(0x04, new Uint8Array(127))).slice(0, 4), "047f");
  assert.equal(
    toHex(encodeTlv(0x04, new Uint8Array(128))).slice(0, 6),
    "048180",
  );
  assert.equal(
    toHex(encodeTlv(0x04, new Uint8Array(256))).slice(0, 8),
    "04820100",
  );
  assert.equal(
    toHex(encodeTlv(0x04, new Uint8Array(70000))).slice(0, 10),
    "0483011170",
  );
});

Deno.test("encodeOid round trips", () => {
  const cases: [string, string][] = [
    ["1.2.840.113549.1.1.11", "06092a864886f70d01010b"],
    ["2.5.4.3", "0603550403"],
    ["1.3.101.112", "06032b6570"],
    ["2.999.3", "0603883703"],
    ["0.9.2342.19200300.100.1.25", "060a0992268993f22c640119"],
  ];
  for (const [dotted, hex] of cases) {
    assert.equal(toHex(encodeOid(dotted)), hex, dotted);
    assert.equal(decodeOid(readDer(fromHex(hex)).contents), dotted);
  }
  for (const bad of ["", "1", "3.1", "1.40", "1.2.", "1.02", "a.b"]) {
    assert.throws(() => encodeOid(bad), SyntaxError, bad);
  }
});

Deno.test("encodeSetOf sorts by encoding", () => {
  const b = encodeString(Tag.UTF8String, "b");
  const a = encodeString(Tag.UTF8String, "a");
  const longer = encodeString(Tag.UTF8String, "aa");
  assert.equal(toHex(encodeSetOf([b, longer, a])), "310a0c01610c01620c026161");
});

Deno.test("encodeTime picks the type by year", () => {
  assert.equal(
    new TextDecoder().decode(encodeTime(new Date("2026-12-03T21:50:43.5Z"))),
    "\x17\x0d261203215043Z",
  );
  assert.equal(
    new TextDecoder().decode(encodeTime(new Date("2050-01-01T00:00:00Z"))),
    "\x18\x0f20500101000000Z",
  );
});

Deno.test("encodeBitString rejects bad unused bits", () => {
  assert.equal(toHex(encodeBitString(Uint8Array.of(0x80), 7)), "03020780");
  assert.throws(() => encodeBitString(new Uint8Array(), 1), RangeError);
  assert.throws(() => encodeBitString(Uint8Array.of(1), 8), RangeError);
});

Deno.test("readDer rejects non-DER", () => {
  const cases: [string, RegExp][] = [
    ["", /end of data/],
    ["30", /missing length/],
    ["3080", /indefinite/],
    ["308100", /minimal/],
    ["3004020100", /past the end/],
    ["30000000", /trailing/],
    ["1f0100", /multi-octet/],
    ["3085010000000000", /too large/],
  ];
  for (const [hex, message] of cases) {
    assert.throws(
      () => readDer(fromHex(hex)),
      (error) =>
        error instanceof KmsToolkitError && message.test(error.message),
      hex,
    );
  }
});

Deno.test("readUnsignedInteger checks form", () => {
  assert.deepEqual(
    readUnsignedInteger(readDer(fromHex("02020080"))),
    Uint8Array.of(0x80),
  );
  assert.throws(
    () => readUnsignedInteger(readDer(fromHex("020180"))),
    /negative/,
  );
  assert.throws(
    () => readUnsignedInteger(readDer(fromHex("02020001"))),
    /minimal/,
  );
});

Deno.test("encoder output parses in OpenSSL", async () => {
  await using dir = await tempDir();
  const der = encodeSequence(
    encodeInteger(2n ** 100n),
    encodeOid("1.2.840.10045.4.3.2"),
    encodeString(Tag.UTF8String, "Zürich"),
    encodeSetOf([encodeInteger(2), encodeInteger(1)]),
  );
  await Deno.writeFile(`${dir.path}/x.der`, der);
  const result = await openssl([
    "asn1parse",
    "-inform",
    "DER",
    "-in",
    `${dir.path}/x.der`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /INTEGER\s+:1(0{25})\n/);
  assert.match(result.stdout, /ecdsa-with-SHA256/);
  assert.match(result.stdout, /UTF8STRING\s+:Z/);
  const children = readChildren(readDer(der));
  assert.equal(children.length, 4);
});

Deno.test("encodeString uses UCS-2 and UCS-4", () => {
  assert.equal(toHex(encodeString(Tag.BMPString, "Aé")), "1e04004100e9");
  assert.equal(
    toHex(encodeString(Tag.UniversalString, "A😀")),
    "1c08000000410001f600",
  );
  assert.throws(() => encodeString(Tag.BMPString, "😀"), RangeError);
  assert.equal(toHex(encodeString(Tag.UTF8String, "é")), "0c02c3a9");
});
