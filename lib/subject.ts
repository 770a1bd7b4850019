/**
 * Parses, encodes, decodes and formats the subject `Name` of a PKCS#10
 * request or X.509 certificate (RFC 5280 section 4.1.2.4).
 *
 * Two text forms are accepted. The OpenSSL `-subj` form starts with `/` and
 * lists RDNs in ASN.1 order (`/C=US/O=Example Corp/CN=host`). The RFC 4514
 * form lists them the other way round, most specific first
 * (`CN=host,O=Example Corp,C=US`), so the parser reverses it.
 *
 * @module
 */

import {
  decodeOid,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  readChildren,
  readDer,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import {
  type AttributeTypeAndValue,
  BY_OID,
  type RelativeDistinguishedName,
} from "./subject_attributes.ts";
import {
  FORMS_HINT,
  type RawAttribute,
  resolveType,
  splitOpenSsl,
  splitRfc4514,
} from "./subject_text.ts";
import {
  allowedTags,
  checkValue,
  decodeStringContents,
  encodeStringValue,
  invalid,
  isControl,
  tagName,
  textTag,
} from "./subject_values.ts";

export {
  type AttributeKind,
  type AttributeTypeAndValue,
  type RelativeDistinguishedName,
  SUBJECT_ATTRIBUTES,
  type SubjectAttribute,
} from "./subject_attributes.ts";
export { SUBJECT_HELP } from "./subject_text.ts";

/** A parsed subject with its DER encoding. */
export interface Subject {
  /** The RDNs in ASN.1 order, attributes of each RDN in DER order. */
  rdns: RelativeDistinguishedName[];
  /** The DER `Name`. */
  der: Uint8Array;
}

function derReason(error: unknown): string {
  return (error as Error).message.replace(/^Cannot parse DER: /, "")
    .replace(/\.$/, "");
}

/** Builds one attribute from a raw component, checking every rule. */
function buildAttribute(
  raw: RawAttribute,
  rfc4514: boolean,
  verb: string,
): AttributeTypeAndValue {
  const { oid, entry } = resolveType(raw.type, raw.display, rfc4514, verb);
  const label = entry?.shortName ?? oid;

  if ("text" in raw.value) {
    const tag = textTag(entry);
    checkValue(entry, label, tag, raw.value.text, raw.display, verb);
    return {
      oid,
      shortName: entry?.shortName ?? null,
      value: raw.value.text,
      tag,
    };
  }

  let tlv: Tlv;
  try {
    tlv = readDer(raw.value.der);
  } catch (error) {
    throw invalid(
      `Cannot parse subject attribute '${raw.display}': the '#' value is ` +
        `not one DER value (${derReason(error)}). Give the whole DER ` +
        "encoding, such as '#0c03616263' for UTF8String 'abc'.",
    );
  }
  const allowed = allowedTags(entry);
  if (!allowed.includes(tlv.tag)) {
    throw invalid(
      `Cannot parse subject attribute '${raw.display}': ${label} cannot be ` +
        `${tagName(tlv.tag)}. Use ${allowed.map(tagName).join(" or ")}.`,
    );
  }
  const decoded = decodeStringContents(tlv.tag, tlv.contents);
  if (typeof decoded !== "string") {
    throw invalid(
      `Cannot parse subject attribute '${raw.display}': ${decoded.problem}. ` +
        "Check the hex digits after '#'.",
    );
  }
  checkValue(entry, label, tlv.tag, decoded, raw.display, verb);
  return {
    oid,
    shortName: entry?.shortName ?? null,
    value: decoded,
    tag: tlv.tag,
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

function encodeAttribute(atv: AttributeTypeAndValue): Uint8Array {
  return encodeSequence(encodeOid(atv.oid), encodeStringValue(atv));
}

/** Sorts an RDN's attributes by their DER encodings, as SET OF requires. */
function sortRdn(rdn: RelativeDistinguishedName): RelativeDistinguishedName {
  return rdn
    .map((atv) => ({ atv, der: encodeAttribute(atv) }))
    .sort((a, b) => compareBytes(a.der, b.der))
    .map((entry) => entry.atv);
}

function checkDistinctTypes(
  rdn: RawAttribute[],
  atvs: AttributeTypeAndValue[],
) {
  const seen = new Set<string>();
  for (const atv of atvs) {
    if (seen.has(atv.oid)) {
      const display = rdn.map((raw) => raw.display).join("+");
      throw invalid(
        `Cannot parse subject RDN '${display}': attribute type ` +
          `${atv.shortName ?? atv.oid} appears twice in one RDN. Put the ` +
          "values in separate RDNs.",
      );
    }
    seen.add(atv.oid);
  }
}

function toSubject(
  raw: RawAttribute[][],
  rfc4514: boolean,
  verb: string,
): Subject {
  const rdns = raw.map((rdn) => {
    const atvs = rdn.map((item) => buildAttribute(item, rfc4514, verb));
    checkDistinctTypes(rdn, atvs);
    return sortRdn(atvs);
  });
  return { rdns, der: encodeName(rdns) };
}

/**
 * Parses a subject in the OpenSSL `-subj` form or the RFC 4514 form,
 * telling them apart by a leading `/`.
 *
 * - OpenSSL form: `/C=US/ST=California/O=Example Corp/CN=host`, RDNs in
 *   ASN.1 order, `+` joining attributes of one RDN, and a backslash making
 *   the next character literal (`\/`, `\+`, `\=`, `\\`, `\ `).
 * - RFC 4514 form: `CN=host,O=Example Corp,C=US`. RFC 4514 section 2.1
 *   writes the last RDN first, so the RDNs are reversed into ASN.1 order.
 *   Escapes follow section 3: `\,`, `\+`, `\"`, `\\`, `\<`, `\>`, `\;`,
 *   `\=`, `\#`, `\ `, and `\XX` hex pairs holding UTF-8. A value of the
 *   form `#hexstring` is the DER of the value and keeps its string type.
 *   A type may carry an `OID.` prefix.
 *
 * In both forms, spaces around the attribute type and unescaped spaces at
 * either end of a value are dropped, and inner spaces are kept. OpenSSL
 * 3.0 itself keeps those outer spaces of a value; escape them (`\ `) to
 * keep them here. Attribute names match case-insensitively in both forms
 * (RFC 4512 section 1.4), while OpenSSL 3.0's `-subj` matches them
 * case-sensitively.
 *
 * NOTE: OpenSSL 3.0 reads a lowercase `uid` as uniqueIdentifier
 * (0.9.2342.19200300.100.1.44); this parser reads any spelling of `UID` as
 * userId (0.9.2342.19200300.100.1.1), as RFC 4519 does.
 *
 * Values are checked: C and jurisdictionC are two uppercase letters
 * (PrintableString), emailAddress and DC ASCII (IA5String), serialNumber
 * and dnQualifier PrintableString characters, and everything else is
 * UTF8String. Empty values, control characters (U+0000 to U+001F and
 * U+007F to U+009F), unpaired surrogates and values over their upper
 * bound (RFC 5280 Appendix A, X.520) are rejected. A dotted OID of a
 * known attribute follows that attribute's rules; any other OID is
 * UTF8String.
 *
 * An empty or all-space string, and a lone `/`, give the empty subject
 * (`30 00`).
 *
 * @param text The subject as typed.
 * @returns The RDNs in ASN.1 order and the DER `Name`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the text has no `=`, is
 * malformed, names an unknown attribute or has an invalid value; the
 * message quotes the bad part.
 *
 * @example Both forms give the same Name
 * ```ts
 * import { parseSubject } from "./subject.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const openssl = parseSubject("/C=US/O=Example Corp/CN=host.example.com");
 * const rfc4514 = parseSubject("CN=host.example.com,O=Example Corp,C=US");
 * assert.equal(toHex(openssl.der), toHex(rfc4514.der));
 * assert.equal(openssl.rdns[0]![0]!.value, "US");
 * ```
 */
export function parseSubject(text: string): Subject {
  if (typeof text !== "string") {
    throw new TypeError("parseSubject expects a string");
  }
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "/") {
    return { rdns: [], der: encodeName([]) };
  }

  if (!text.includes("=")) {
    throw invalid(
      `Cannot parse subject '${text}': it has no 'type=value' attribute. ` +
        FORMS_HINT,
    );
  }

  if (text.trimStart().startsWith("/")) {
    return toSubject(splitOpenSsl(text), false, "parse");
  }
  try {
    return toSubject(splitRfc4514(text).reverse(), true, "parse");
  } catch (error) {
    if (error instanceof KmsToolkitError && /^[^,]*=[^,]*\/[^,]*=/.test(text)) {
      throw invalid(
        `${error.message} If '${text}' is meant as the OpenSSL form, ` +
          "start it with '/'.",
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Builds a subject from prompt answers, one RDN per field in the order
 * given. A value that is empty, all spaces or `"."` leaves its field out.
 * Other values have their outer spaces trimmed and are checked as in
 * {@linkcode parseSubject}. No fields give the empty subject (`30 00`).
 *
 * @param fields Attribute names (short, long or dotted OID) and values.
 * @returns The RDNs and the DER `Name`.
 * @throws {KmsToolkitError} `INVALID_INPUT` for an unknown attribute name
 * or an invalid value.
 *
 * @example
 * ```ts
 * import { subjectFromFields } from "./subject.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const subject = subjectFromFields([
 *   { shortName: "C", value: "US" },
 *   { shortName: "ST", value: "." },
 *   { shortName: "CN", value: "host" },
 * ]);
 * assert.equal(subject.rdns.length, 2);
 * assert.equal(toHex(subject.der), "301c310b3009060355040613025553" +
 *   "310d300b06035504030c04686f7374");
 * ```
 */
export function subjectFromFields(
  fields: { shortName: string; value: string }[],
): Subject {
  const raw: RawAttribute[][] = [];
  for (const field of fields) {
    const value = field.value.trim();
    if (value === "" || value === ".") continue;
    raw.push([{
      type: field.shortName.trim(),
      value: { text: value },
      display: `${field.shortName}=${field.value}`,
    }]);
  }
  return toSubject(raw, false, "use");
}

/**
 * Encodes RDNs as a DER `Name`, each RDN a SET OF sorted by encoding. The
 * values are written in their `tag` and checked only against that string
 * type's character set.
 *
 * ```asn1
 * Name ::= CHOICE { rdnSequence RDNSequence }
 * RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
 * RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 * AttributeTypeAndValue ::= SEQUENCE {
 *   type   AttributeType,
 *   value  AttributeValue }
 * ```
 *
 * @param rdns The RDNs in ASN.1 order.
 * @returns The DER `Name`; no RDNs give `30 00`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a value cannot be written
 * in its string type, or the tag is not a supported string type.
 * @throws {RangeError} When an RDN is empty.
 * @throws {SyntaxError} When an OID is not dotted text.
 *
 * @example
 * ```ts
 * import { encodeName } from "./subject.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeName([[
 *   { oid: "2.5.4.6", shortName: "C", value: "US", tag: 0x13 },
 * ]]);
 * assert.equal(toHex(der), "300d310b3009060355040613025553");
 * ```
 */
export function encodeName(rdns: RelativeDistinguishedName[]): Uint8Array {
  return encodeSequence(
    ...rdns.map((rdn, index) => {
      if (rdn.length === 0) {
        throw new RangeError(`Cannot encode Name: RDN ${index} is empty`);
      }
      return encodeSetOf(rdn.map(encodeAttribute));
    }),
  );
}

/**
 * Decodes a DER `Name` into RDNs, for summaries and tests. Any string type
 * is read (UTF8String, PrintableString, IA5String, TeletexString as
 * ISO 8859-1, BMPString, UniversalString, NumericString, VisibleString).
 * Values are not checked against the attribute rules of
 * {@linkcode parseSubject}.
 *
 * @param der The DER `Name`.
 * @returns The RDNs in ASN.1 order, attributes of each RDN as encoded.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not a DER
 * `Name`, an RDN is empty or a value is not a readable string.
 *
 * @example
 * ```ts
 * import { decodeName, parseSubject } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * const { der } = parseSubject("/C=US/CN=host");
 * const rdns = decodeName(der);
 * assert.equal(rdns[1]![0]!.shortName, "CN");
 * assert.equal(rdns[1]![0]!.value, "host");
 * ```
 */
export function decodeName(der: Uint8Array): RelativeDistinguishedName[] {
  const fail = (reason: string) =>
    invalid(
      `Cannot decode Name '${toHex(der)}': ${reason}. Pass the DER of an ` +
        "X.501 Name (a SEQUENCE OF SET OF AttributeTypeAndValue).",
    );

  let name: Tlv;
  let sets: Tlv[];
  try {
    name = readDer(der, Tag.SEQUENCE);
    sets = readChildren(name);
  } catch (error) {
    throw fail(derReason(error));
  }
  return sets.map((set) => {
    if (set.tag !== Tag.SET) throw fail("an RDN is not a SET");
    const atvs = readChildren(set);
    if (atvs.length === 0) throw fail("an RDN is empty");
    return atvs.map((atv) => {
      if (atv.tag !== Tag.SEQUENCE) {
        throw fail("an AttributeTypeAndValue is not a SEQUENCE");
      }
      const parts = readChildren(atv);
      const [type, value] = parts;
      if (parts.length !== 2 || type!.tag !== Tag.OBJECT_IDENTIFIER) {
        throw fail("an AttributeTypeAndValue is not an OID and a value");
      }
      const oid = decodeOid(type!.contents);
      const decoded = decodeStringContents(value!.tag, value!.contents);
      if (typeof decoded !== "string") {
        throw fail(`the value of ${oid}: ${decoded.problem}`);
      }
      return {
        oid,
        shortName: BY_OID.get(oid)?.shortName ?? null,
        value: decoded,
        tag: value!.tag,
      };
    });
  });
}

/** Options of {@linkcode formatSubject}. */
export interface FormatSubjectOptions {
  /**
   * `"openssl"` writes `/C=US/O=Example Corp/CN=host` in ASN.1 order;
   * `"rfc4514"` writes `CN=host,O=Example Corp,C=US`, most specific first.
   * @default {"openssl"}
   */
  format?: "openssl" | "rfc4514";
}

function hexEscape(char: string): string {
  return Array.from(
    new TextEncoder().encode(char),
    (byte) => `\\${byte.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
}

function escapeValue(value: string, specials: string): string {
  const chars = [...value];
  return chars.map((char, index) => {
    if (isControl(char)) return hexEscape(char);
    if (specials.includes(char)) return `\\${char}`;
    if (char === " " && (index === 0 || index === chars.length - 1)) {
      return "\\ ";
    }
    return char;
  }).join("");
}

function formatAttribute(
  atv: AttributeTypeAndValue,
  rfc4514: boolean,
): string {
  const entry = BY_OID.get(atv.oid);
  const type = entry?.shortName ?? atv.oid;
  if (!rfc4514) return `${type}=${escapeValue(atv.value, "\\/+")}`;
  if (!entry) return `${type}=#${toHex(encodeStringValue(atv))}`;

  const escaped = escapeValue(atv.value, '\\"+,;<>');
  return `${type}=${escaped.startsWith("#") ? `\\${escaped}` : escaped}`;
}

/**
 * Formats RDNs as text that {@linkcode parseSubject} reads back.
 *
 * The OpenSSL form escapes `\`, `/` and `+` and a space at either end with
 * a backslash. The RFC 4514 form reverses the RDNs, escapes as section 2.4
 * requires, and writes a dotted-OID attribute as `#` and its DER, which
 * keeps its string type. Known attributes are written as text, so their
 * string type is not kept, and neither is any string type in the OpenSSL
 * form. Control characters are written as `\XX` UTF-8 hex pairs in both
 * forms, so such text is safe to print but does not parse back.
 *
 * @param rdns The RDNs in ASN.1 order.
 * @param options The output form.
 * @returns The subject text; no RDNs give `"/"` or `""`.
 *
 * @example
 * ```ts
 * import { formatSubject, parseSubject } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * const { rdns } = parseSubject("/C=US/O=A\\/B/CN=host");
 * assert.equal(formatSubject(rdns), "/C=US/O=A\\/B/CN=host");
 * const text = formatSubject(rdns, { format: "rfc4514" });
 * assert.equal(text, "CN=host,O=A/B,C=US");
 * ```
 */
export function formatSubject(
  rdns: RelativeDistinguishedName[],
  options: FormatSubjectOptions = {},
): string {
  const rfc4514 = options.format === "rfc4514";
  const parts = rdns.map((rdn) =>
    rdn.map((atv) => formatAttribute(atv, rfc4514)).join("+")
  );
  if (rfc4514) return parts.reverse().join(",");
  return parts.length === 0 ? "/" : `/${parts.join("/")}`;
}
