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
  encodeTlv,
  fromHex,
  readChildren,
  readDer,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";

/** One attribute of an RDN, such as `CN=host`. */
export interface AttributeTypeAndValue {
  /** The attribute type as a dotted OID. */
  oid: string;
  /** The short name from {@linkcode SUBJECT_ATTRIBUTES}, or `null`. */
  shortName: string | null;
  /** The value as text. */
  value: string;
  /** The DER string tag of the value, such as `0x0c` for UTF8String. */
  tag: number;
}

/** One RDN: a single attribute, or several joined with `+`. */
export type RelativeDistinguishedName = AttributeTypeAndValue[];

/** A parsed subject with its DER encoding. */
export interface Subject {
  /** The RDNs in ASN.1 order, attributes of each RDN in DER order. */
  rdns: RelativeDistinguishedName[];
  /** The DER `Name`. */
  der: Uint8Array;
}

/**
 * Value rules of an attribute: `directory` is a DirectoryString written as
 * UTF8String, `pkcs9` a PKCS9String (RFC 2985) written as UTF8String,
 * `country` a two-letter PrintableString, `printable` a PrintableString and
 * `ia5` an IA5String.
 */
export type AttributeKind =
  | "directory"
  | "pkcs9"
  | "country"
  | "printable"
  | "ia5";

/** One attribute type that subjects can use by name. */
export interface SubjectAttribute {
  /** The short name as OpenSSL 3.0 spells it (`CN`, `emailAddress`). */
  shortName: string;
  /** The long name as OpenSSL 3.0 spells it (`commonName`). */
  longName: string;
  /** The attribute type OID. */
  oid: string;
  /** The value rules. */
  kind: AttributeKind;
  /** The maximum length in characters (code points), or `null`. */
  maxLength: number | null;
  /** The upper bound's ASN.1 name and its source, or `null`. */
  bound: string | null;
}

/** Upper bounds by ASN.1 name, with the document that defines them. */
const UPPER_BOUNDS: Record<string, { max: number; source: string }> = {
  "ub-common-name": { max: 64, source: "RFC 5280 Appendix A" },
  "ub-locality-name": { max: 128, source: "RFC 5280 Appendix A" },
  "ub-state-name": { max: 128, source: "RFC 5280 Appendix A" },
  "ub-organization-name": { max: 64, source: "RFC 5280 Appendix A" },
  "ub-organizational-unit-name": { max: 64, source: "RFC 5280 Appendix A" },
  "ub-title": { max: 64, source: "RFC 5280 Appendix A" },
  "ub-serial-number": { max: 64, source: "RFC 5280 Appendix A" },
  "ub-emailaddress-length": { max: 255, source: "RFC 5280 Appendix A" },
  "ub-name": { max: 32768, source: "RFC 5280 Appendix A" },
  "ub-pseudonym": { max: 128, source: "RFC 5280 Appendix A" },
  "ub-street-address": { max: 128, source: "ITU-T X.520" },
  "ub-postal-code": { max: 40, source: "ITU-T X.520" },
  "ub-post-office-box": { max: 40, source: "ITU-T X.520" },
  "ub-physical-office-name": { max: 128, source: "ITU-T X.520" },
  "ub-business-category": { max: 128, source: "ITU-T X.520" },
  "ub-description": { max: 1024, source: "ITU-T X.520" },
  "ub-user-identifier": { max: 256, source: "RFC 1274" },
  "pkcs-9-ub-unstructuredName": { max: 255, source: "RFC 2985" },
  "pkcs-9-ub-unstructuredAddress": { max: 255, source: "RFC 2985" },
};

// Short name, long name, OID, value rules and upper bound of each type.
const ATTRIBUTE_ROWS: [string, string, string, AttributeKind, string?][] = [
  ["C", "countryName", "2.5.4.6", "country"],
  ["ST", "stateOrProvinceName", "2.5.4.8", "directory", "ub-state-name"],
  ["L", "localityName", "2.5.4.7", "directory", "ub-locality-name"],
  ["O", "organizationName", "2.5.4.10", "directory", "ub-organization-name"],
  [
    "OU",
    "organizationalUnitName",
    "2.5.4.11",
    "directory",
    "ub-organizational-unit-name",
  ],
  ["CN", "commonName", "2.5.4.3", "directory", "ub-common-name"],
  [
    "emailAddress",
    "emailAddress",
    "1.2.840.113549.1.9.1",
    "ia5",
    "ub-emailaddress-length",
  ],
  ["serialNumber", "serialNumber", "2.5.4.5", "printable", "ub-serial-number"],
  ["DC", "domainComponent", "0.9.2342.19200300.100.1.25", "ia5"],
  ["street", "streetAddress", "2.5.4.9", "directory", "ub-street-address"],
  ["postalCode", "postalCode", "2.5.4.17", "directory", "ub-postal-code"],
  [
    "postOfficeBox",
    "postOfficeBox",
    "2.5.4.18",
    "directory",
    "ub-post-office-box",
  ],
  [
    "physicalDeliveryOfficeName",
    "physicalDeliveryOfficeName",
    "2.5.4.19",
    "directory",
    "ub-physical-office-name",
  ],
  ["title", "title", "2.5.4.12", "directory", "ub-title"],
  ["GN", "givenName", "2.5.4.42", "directory", "ub-name"],
  ["SN", "surname", "2.5.4.4", "directory", "ub-name"],
  ["initials", "initials", "2.5.4.43", "directory", "ub-name"],
  [
    "generationQualifier",
    "generationQualifier",
    "2.5.4.44",
    "directory",
    "ub-name",
  ],
  [
    "UID",
    "userId",
    "0.9.2342.19200300.100.1.1",
    "directory",
    "ub-user-identifier",
  ],
  ["dnQualifier", "dnQualifier", "2.5.4.46", "printable"],
  ["pseudonym", "pseudonym", "2.5.4.65", "directory", "ub-pseudonym"],
  [
    "businessCategory",
    "businessCategory",
    "2.5.4.15",
    "directory",
    "ub-business-category",
  ],
  [
    "jurisdictionC",
    "jurisdictionCountryName",
    "1.3.6.1.4.1.311.60.2.1.3",
    "country",
  ],
  [
    "jurisdictionST",
    "jurisdictionStateOrProvinceName",
    "1.3.6.1.4.1.311.60.2.1.2",
    "directory",
    "ub-state-name",
  ],
  [
    "jurisdictionL",
    "jurisdictionLocalityName",
    "1.3.6.1.4.1.311.60.2.1.1",
    "directory",
    "ub-locality-name",
  ],
  ["organizationIdentifier", "organizationIdentifier", "2.5.4.97", "directory"],
  ["description", "description", "2.5.4.13", "directory", "ub-description"],
  ["name", "name", "2.5.4.41", "directory", "ub-name"],
  [
    "unstructuredName",
    "unstructuredName",
    "1.2.840.113549.1.9.2",
    "pkcs9",
    "pkcs-9-ub-unstructuredName",
  ],
  [
    "unstructuredAddress",
    "unstructuredAddress",
    "1.2.840.113549.1.9.8",
    "directory",
    "pkcs-9-ub-unstructuredAddress",
  ],
];

/**
 * Attribute types that subjects can name, with OpenSSL 3.0's short and long
 * names. Other types are given as dotted OIDs.
 *
 * @example
 * ```ts
 * import { SUBJECT_ATTRIBUTES } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * const cn = SUBJECT_ATTRIBUTES.find((entry) => entry.shortName === "CN");
 * assert.equal(cn?.maxLength, 64);
 * ```
 */
export const SUBJECT_ATTRIBUTES: readonly SubjectAttribute[] = ATTRIBUTE_ROWS
  .map(([shortName, longName, oid, kind, boundName]) => {
    const bound = boundName === undefined ? undefined : UPPER_BOUNDS[boundName];
    return {
      shortName,
      longName,
      oid,
      kind,
      maxLength: kind === "country" ? 2 : bound?.max ?? null,
      bound: bound ? `${boundName}, ${bound.source}` : null,
    };
  });

const BY_NAME = new Map<string, SubjectAttribute>();
const BY_OID = new Map<string, SubjectAttribute>();
for (const entry of SUBJECT_ATTRIBUTES) {
  for (const name of [entry.shortName, entry.longName]) {
    const key = name.toLowerCase();
    const other = BY_NAME.get(key);
    if (other && other !== entry) {
      throw new Error(`Attribute name '${name}' is ambiguous`);
    }
    BY_NAME.set(key, entry);
  }
  BY_OID.set(entry.oid, entry);
}

// Attribute names that other tools accept and OpenSSL 3.0 rejects, with the
// name to use instead.
const NAME_HINTS: Record<string, string> = {
  e: "emailAddress",
  email: "emailAddress",
  s: "ST",
  sp: "ST",
  state: "ST",
  g: "GN",
  t: "title",
};

const SUPPORTED_NAMES = SUBJECT_ATTRIBUTES.map((entry) => entry.shortName)
  .join(", ");

/**
 * Describes the two subject forms, for the help text of a subject option.
 *
 * @example
 * ```ts
 * import { SUBJECT_HELP } from "./subject.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(SUBJECT_HELP.includes("most specific RDN first"));
 * ```
 */
export const SUBJECT_HELP: string = "The subject in the OpenSSL form " +
  "/C=US/O=Example Corp/CN=host.example.com (RDNs in ASN.1 order, '+' " +
  "joins attributes of one RDN, a backslash escapes the next character) " +
  "or the RFC 4514 form CN=host.example.com,O=Example Corp,C=US (most " +
  "specific RDN first, reversed into ASN.1 order).";

const FORMS_HINT = "Write it in the OpenSSL form " +
  "'/C=US/O=Example Corp/CN=host.example.com' (ASN.1 order) or the " +
  "RFC 4514 form 'CN=host.example.com,O=Example Corp,C=US' (most specific " +
  "RDN first, reversed into ASN.1 order).";

const DIRECTORY_TAGS: readonly number[] = [
  Tag.UTF8String,
  Tag.PrintableString,
  Tag.TeletexString,
  Tag.UniversalString,
  Tag.BMPString,
];

const STRING_TAGS: readonly number[] = [
  ...DIRECTORY_TAGS,
  Tag.IA5String,
  Tag.NumericString,
  Tag.VisibleString,
];

const TAG_NAMES: Record<number, string> = {
  [Tag.UTF8String]: "UTF8String",
  [Tag.NumericString]: "NumericString",
  [Tag.PrintableString]: "PrintableString",
  [Tag.TeletexString]: "TeletexString",
  [Tag.IA5String]: "IA5String",
  [Tag.VisibleString]: "VisibleString",
  [Tag.UniversalString]: "UniversalString",
  [Tag.BMPString]: "BMPString",
};

function tagName(tag: number): string {
  const hex = `0x${tag.toString(16).padStart(2, "0")}`;
  const name = TAG_NAMES[tag];
  return name ? `${name} (${hex})` : `tag ${hex}`;
}

function textTag(entry: SubjectAttribute | undefined): number {
  switch (entry?.kind) {
    case "country":
    case "printable":
      return Tag.PrintableString;
    case "ia5":
      return Tag.IA5String;
    default:
      return Tag.UTF8String;
  }
}

function allowedTags(entry: SubjectAttribute | undefined): readonly number[] {
  switch (entry?.kind) {
    case undefined:
      return STRING_TAGS;
    case "directory":
      return DIRECTORY_TAGS;
    case "pkcs9":
      return [...DIRECTORY_TAGS, Tag.IA5String];
    default:
      return [textTag(entry)];
  }
}

function invalid(message: string, options?: ErrorOptions): KmsToolkitError {
  return new KmsToolkitError("INVALID_INPUT", message, options);
}

function codePoint(char: string): string {
  return `U+${
    char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
  }`;
}

const PRINTABLE_CHAR = /[A-Za-z0-9 '()+,\-./:=?]/;

function firstOutside(value: string, allowed: RegExp): string | undefined {
  return [...value].find((char) => !allowed.test(char));
}

/** Returns why text cannot be written in a string type, or `null`. */
function tagProblem(tag: number, value: string): string | null {
  const chars = [...value];
  switch (tag) {
    case Tag.PrintableString: {
      const bad = firstOutside(value, PRINTABLE_CHAR);
      return bad === undefined ? null : `'${bad}' (${codePoint(bad)}) is not ` +
        "a PrintableString character (A-Z a-z 0-9 space ' ( ) + , - . / : = ?)";
    }
    case Tag.IA5String: {
      const bad = chars.find((char) => char.codePointAt(0)! > 0x7f);
      return bad === undefined
        ? null
        : `'${bad}' (${codePoint(bad)}) is not ASCII`;
    }
    case Tag.VisibleString: {
      const bad = chars.find((char) => {
        const point = char.codePointAt(0)!;
        return point < 0x20 || point > 0x7e;
      });
      return bad === undefined
        ? null
        : `${codePoint(bad)} is not a printable ASCII character`;
    }
    case Tag.NumericString: {
      const bad = firstOutside(value, /[0-9 ]/);
      return bad === undefined
        ? null
        : `'${bad}' is not a NumericString character (0-9 and space)`;
    }
    case Tag.TeletexString: {
      const bad = chars.find((char) => char.codePointAt(0)! > 0xff);
      return bad === undefined ? null : `${codePoint(bad)} is outside ` +
        "ISO 8859-1, which this toolkit uses for TeletexString";
    }
    case Tag.BMPString: {
      const bad = chars.find((char) => char.codePointAt(0)! > 0xffff);
      return bad === undefined
        ? null
        : `${codePoint(bad)} is outside the Basic Multilingual Plane`;
    }
    case Tag.UTF8String:
    case Tag.UniversalString:
      return null;
    default:
      return `${tagName(tag)} is not a supported string type`;
  }
}

/** Tells whether a character is a C0 or C1 control character or DEL. */
function isControl(char: string): boolean {
  const point = char.codePointAt(0)!;
  return point <= 0x1f || (point >= 0x7f && point <= 0x9f);
}
const LONE_SURROGATE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Checks a value against its attribute's rules and the string type it is
 * written in.
 *
 * @param label The attribute as written, for messages (`CN`, `2.5.4.3`).
 * @param display The component as written, quoted in messages.
 */
function checkValue(
  entry: SubjectAttribute | undefined,
  label: string,
  tag: number,
  value: string,
  display: string,
  verb: string,
): void {
  const fail = (reason: string, next: string) =>
    invalid(
      `Cannot ${verb} subject attribute '${display}': ${reason}. ${next}`,
    );

  if (value === "") {
    throw fail(
      `${label} has an empty value`,
      "Give a value or leave the attribute out.",
    );
  }
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) {
    throw fail(
      `${label} contains an unpaired UTF-16 surrogate ${
        codePoint(surrogate[0])
      }`,
      "Pass well-formed Unicode text.",
    );
  }
  const control = [...value].find(isControl);
  if (control !== undefined) {
    throw fail(
      `${label} contains the control character ${codePoint(control)}`,
      "Remove it; subject values cannot contain control characters.",
    );
  }

  if (entry?.kind === "country") {
    if (/^[A-Za-z]{2}$/.test(value) && value !== value.toUpperCase()) {
      throw fail(
        `${label} must be an uppercase two-letter ISO 3166 country code`,
        `Use '${value.toUpperCase()}'.`,
      );
    }
    if (!/^[A-Z]{2}$/.test(value)) {
      throw fail(
        `${label} must be exactly two letters, an ISO 3166 country code`,
        "Use a code such as 'US', 'DE' or 'JP'.",
      );
    }
  }
  if (entry?.kind === "ia5" && tag === Tag.IA5String) {
    const bad = [...value].find((char) => char.codePointAt(0)! > 0x7f);
    if (bad !== undefined) {
      throw fail(
        `${label} must be ASCII (IA5String) but contains '${bad}' (${
          codePoint(bad)
        })`,
        entry.shortName === "DC"
          ? "Write an internationalized domain label in punycode ('xn--...')."
          : "Use an ASCII address; IA5String cannot carry other characters.",
      );
    }
  }
  if (entry?.kind === "printable" && tag === Tag.PrintableString) {
    const bad = firstOutside(value, PRINTABLE_CHAR);
    if (bad !== undefined) {
      throw fail(
        `${label} must be a PrintableString (RFC 5280) but contains '${bad}'`,
        "Use only A-Z a-z 0-9 space ' ( ) + , - . / : = ?.",
      );
    }
  }

  const problem = tagProblem(tag, value);
  if (problem) {
    throw fail(
      `${label} cannot be written as ${tagName(tag)}: ${problem}`,
      "Change the value or its string type.",
    );
  }

  const length = [...value].length;
  if (entry?.maxLength != null && length > entry.maxLength) {
    const source = entry.bound ? ` (${entry.bound})` : "";
    throw fail(
      `${label} is ${length} characters long, over its maximum of ` +
        `${entry.maxLength}${source}`,
      "Shorten the value.",
    );
  }
}

/** One component as the text parsers read it, before type resolution. */
interface RawAttribute {
  type: string;
  value: { text: string } | { der: Uint8Array };
  display: string;
}

/** A character of a value and whether an escape produced it. */
interface ValueChar {
  char: string;
  escaped: boolean;
}

function trimUnescaped(chars: ValueChar[]): string {
  let start = 0;
  let end = chars.length;
  while (start < end && !chars[start]!.escaped && chars[start]!.char === " ") {
    start++;
  }
  while (
    end > start && !chars[end - 1]!.escaped && chars[end - 1]!.char === " "
  ) {
    end--;
  }
  return chars.slice(start, end).map((entry) => entry.char).join("");
}

function charAt(text: string, index: number): string {
  return String.fromCodePoint(text.codePointAt(index)!);
}

/**
 * Splits the OpenSSL `-subj` form. A backslash makes the next character
 * literal, `/` separates RDNs and `+` joins attributes of one RDN.
 */
function splitOpenSsl(text: string): RawAttribute[][] {
  const rdns: RawAttribute[][] = [];
  let current: RawAttribute[] = [];
  let index = text.indexOf("/") + 1;

  while (index < text.length) {
    const start = index;
    let typeEnd = index;
    while (typeEnd < text.length && !"=/+".includes(text[typeEnd]!)) typeEnd++;
    const typeText = text.slice(index, typeEnd);
    if (text[typeEnd] !== "=") {
      if (typeText.trim() === "") {
        throw invalid(
          `Cannot parse subject '${text}': it has an empty component at ` +
            `offset ${start}. Separate attributes with exactly one '/' or ` +
            "'+', and escape a literal '/' or '+' as '\\/' or '\\+'.",
        );
      }
      throw invalid(
        `Cannot parse subject component '${typeText.trim()}': it has no ` +
          `'=' between the attribute type and its value. ${FORMS_HINT}`,
      );
    }

    const chars: ValueChar[] = [];
    index = typeEnd + 1;
    while (index < text.length) {
      const char = charAt(text, index);
      if (char === "/" || char === "+") break;
      if (char === "\\") {
        if (index + 1 >= text.length) {
          throw invalid(
            `Cannot parse subject '${text}': it ends in a lone backslash. ` +
              "Escape a literal backslash as '\\\\'.",
          );
        }
        const next = charAt(text, index + 1);
        chars.push({ char: next, escaped: true });
        index += 1 + next.length;
        continue;
      }
      chars.push({ char, escaped: false });
      index += char.length;
    }

    current.push({
      type: typeText.trim(),
      value: { text: trimUnescaped(chars) },
      display: text.slice(start, index).trim(),
    });
    const separator = text[index];
    index++;
    if (separator === "+") {
      if (index >= text.length) {
        throw invalid(
          `Cannot parse subject '${text}': it ends in '+' with no ` +
            "attribute after it. Remove the '+' or escape it as '\\+'.",
        );
      }
      continue;
    }
    rdns.push(current);
    current = [];
  }
  if (current.length > 0) rdns.push(current);
  return rdns;
}

const RFC4514_SPECIAL = ' "#+,;<=>\\';
const HEX_DIGIT = /^[0-9A-Fa-f]$/;

function decodeUtf8Run(bytes: number[], display: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bytes),
    );
  } catch {
    throw invalid(
      `Cannot parse subject attribute '${display}': its '\\XX' escapes ` +
        `(${toHex(Uint8Array.from(bytes))}) are not valid UTF-8. Escape ` +
        "each byte of the character's UTF-8 encoding, such as '\\C3\\BC' " +
        "for 'ü'.",
    );
  }
}

/** Reads a `#hexstring` value starting at the `#`. */
function readHexValue(text: string, index: number, start: number) {
  let end = index + 1;
  while (end < text.length && HEX_DIGIT.test(text[end]!)) end++;
  let after = end;
  while (after < text.length && text[after] === " ") after++;
  const hex = text.slice(index + 1, end);
  if (
    hex.length === 0 || hex.length % 2 !== 0 ||
    (after < text.length && !",+".includes(text[after]!))
  ) {
    let stop = after;
    while (stop < text.length && !",+".includes(text[stop]!)) stop++;
    throw invalid(
      `Cannot parse subject attribute '${text.slice(start, stop).trim()}': ` +
        "a value starting with '#' must be an even number of hex digits " +
        "(the DER encoding of the value). Escape a literal leading '#' " +
        "as '\\#'.",
    );
  }
  return { der: fromHex(hex), end: after };
}

/** Reads a string value up to an unescaped `,` or `+`. */
function readStringValue(text: string, index: number, start: number) {
  const chars: ValueChar[] = [];
  const display = () => {
    let stop = index;
    while (stop < text.length && !",+".includes(text[stop]!)) {
      stop += text[stop] === "\\" ? 2 : 1;
    }
    return text.slice(start, Math.min(stop, text.length)).trim();
  };

  while (index < text.length) {
    const char = charAt(text, index);
    if (char === "," || char === "+") break;
    if (char === "\\") {
      const first = text[index + 1];
      const second = text[index + 2];
      if (
        first !== undefined && second !== undefined &&
        HEX_DIGIT.test(first) && HEX_DIGIT.test(second)
      ) {
        const bytes: number[] = [];
        while (
          text[index] === "\\" && HEX_DIGIT.test(text[index + 1] ?? "") &&
          HEX_DIGIT.test(text[index + 2] ?? "")
        ) {
          bytes.push(parseInt(text.slice(index + 1, index + 3), 16));
          index += 3;
        }
        for (const decoded of decodeUtf8Run(bytes, display())) {
          chars.push({ char: decoded, escaped: true });
        }
        continue;
      }
      if (first !== undefined && RFC4514_SPECIAL.includes(first)) {
        chars.push({ char: first, escaped: true });
        index += 2;
        continue;
      }
      throw invalid(
        `Cannot parse subject attribute '${display()}': '\\' must be ` +
          "followed by one of ' \"#+,;<=>\\' or two hex digits (RFC 4514 " +
          "section 3). Escape a literal backslash as '\\\\'.",
      );
    }
    if ('";<>'.includes(char)) {
      throw invalid(
        `Cannot parse subject attribute '${display()}': '${char}' must be ` +
          `escaped as '\\${char}' in the RFC 4514 form.`,
      );
    }
    chars.push({ char, escaped: false });
    index += char.length;
  }
  return { text: trimUnescaped(chars), end: index };
}

/**
 * Splits the RFC 4514 form (section 3): `,` separates RDNs and `+` joins
 * attributes. Spaces around `=`, `,` and `+` are ignored, as RFC 2253
 * section 4 allowed. The RDNs come back in the order written.
 */
function splitRfc4514(text: string): RawAttribute[][] {
  const rdns: RawAttribute[][] = [];
  let current: RawAttribute[] = [];
  let index = 0;

  while (true) {
    const start = index;
    let typeEnd = index;
    while (typeEnd < text.length && !"=,+".includes(text[typeEnd]!)) typeEnd++;
    const typeText = text.slice(index, typeEnd).trim();
    if (text[typeEnd] !== "=") {
      if (typeText === "") {
        throw invalid(
          `Cannot parse subject '${text}': it has an empty RDN at offset ` +
            `${start}. Separate RDNs with exactly one ','.`,
        );
      }
      throw invalid(
        `Cannot parse subject component '${typeText}': it has no '=' ` +
          `between the attribute type and its value. ${FORMS_HINT}`,
      );
    }

    index = typeEnd + 1;
    while (text[index] === " ") index++;
    let value: RawAttribute["value"];
    if (text[index] === "#") {
      const hex = readHexValue(text, index, start);
      value = { der: hex.der };
      index = hex.end;
    } else {
      const string = readStringValue(text, index, start);
      value = { text: string.text };
      index = string.end;
    }
    current.push({
      type: typeText,
      value,
      display: text.slice(start, index).trim(),
    });

    if (index >= text.length) break;
    const separator = text[index];
    index++;
    if (separator === ",") {
      rdns.push(current);
      current = [];
    }
    if (text.slice(index).trim() === "") {
      throw invalid(
        `Cannot parse subject '${text}': it ends in '${separator}' with no ` +
          `attribute after it. Remove the '${separator}' or escape it as ` +
          `'\\${separator}'.`,
      );
    }
  }
  rdns.push(current);
  return rdns;
}

const NUMERIC_OID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

/** Resolves an attribute type name or dotted OID. */
function resolveType(
  typeText: string,
  display: string,
  rfc4514: boolean,
  verb: string,
): { oid: string; entry: SubjectAttribute | undefined } {
  let name = typeText;
  if (rfc4514 && /^oid\.[0-9]/i.test(name)) name = name.slice(4);

  if (/^[0-9.]+$/.test(name)) {
    let valid = NUMERIC_OID.test(name);
    if (valid) {
      try {
        encodeOid(name);
      } catch {
        valid = false;
      }
    }
    if (!valid) {
      throw invalid(
        `Cannot ${verb} subject attribute '${display}': '${typeText}' is not ` +
          "a valid dotted OID. Write it as arcs without leading zeros, " +
          "such as '2.5.4.3', starting with 0, 1 or 2.",
      );
    }
    return { oid: name, entry: BY_OID.get(name) };
  }

  const entry = BY_NAME.get(name.toLowerCase());
  if (entry) return { oid: entry.oid, entry };

  const hint = NAME_HINTS[name.toLowerCase()];
  const suggestion = hint
    ? `OpenSSL has no '${typeText}', so use ${hint}. `
    : /^oid\.[0-9.]+$/i.test(name)
    ? "Write the dotted OID without 'OID.' in the OpenSSL form. "
    : "";
  throw invalid(
    `Cannot ${verb} subject attribute '${display}': unknown attribute type ` +
      `'${typeText}'. ${suggestion}Supported short names: ` +
      `${SUPPORTED_NAMES}. Long names such as commonName work too, and ` +
      "other types can be given as a dotted OID such as '1.2.3.4=value'.",
  );
}

/** Decodes string contents of any supported type, or returns why not. */
function decodeStringContents(
  tag: number,
  contents: Uint8Array,
): string | { problem: string } {
  switch (tag) {
    case Tag.UTF8String:
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(contents);
      } catch {
        return { problem: "its UTF8String contents are not valid UTF-8" };
      }
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.NumericString:
    case Tag.VisibleString:
      if (contents.some((byte) => byte > 0x7f)) {
        return { problem: `its ${TAG_NAMES[tag]} contents are not ASCII` };
      }
      return String.fromCharCode(...contents);
    case Tag.TeletexString:
      // NOTE: T.61 is not ISO 8859-1. The two agree on ASCII, but a T.61
      // accent sequence decodes here as two ISO 8859-1 characters.
      return String.fromCharCode(...contents);
    case Tag.BMPString: {
      if (contents.length % 2 !== 0) {
        return { problem: "its BMPString length is odd" };
      }
      const units: number[] = [];
      for (let i = 0; i < contents.length; i += 2) {
        const unit = (contents[i]! << 8) | contents[i + 1]!;
        if (unit >= 0xd800 && unit <= 0xdfff) {
          return { problem: "its BMPString contains a surrogate code unit" };
        }
        units.push(unit);
      }
      return String.fromCharCode(...units);
    }
    case Tag.UniversalString: {
      if (contents.length % 4 !== 0) {
        return { problem: "its UniversalString length is not a multiple of 4" };
      }
      const view = new DataView(
        contents.buffer,
        contents.byteOffset,
        contents.length,
      );
      let out = "";
      for (let i = 0; i < contents.length; i += 4) {
        const point = view.getUint32(i);
        if (point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) {
          return { problem: "its UniversalString has an invalid code point" };
        }
        out += String.fromCodePoint(point);
      }
      return out;
    }
    default:
      return { problem: `${tagName(tag)} is not a supported string type` };
  }
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

function encodeStringValue(atv: AttributeTypeAndValue): Uint8Array {
  const { tag, value } = atv;
  const name = atv.shortName ?? atv.oid;
  const problem = tagProblem(tag, value) ??
    (LONE_SURROGATE.test(value) ? "it has an unpaired surrogate" : null);
  if (problem) {
    throw invalid(
      `Cannot encode subject attribute '${name}=${value}': ${problem}. ` +
        "Pick a string type that can carry the value, such as UTF8String.",
    );
  }

  const points = [...value].map((char) => char.codePointAt(0)!);
  switch (tag) {
    case Tag.BMPString:
      return encodeTlv(
        tag,
        Uint8Array.from(points.flatMap((point) => [point >> 8, point & 0xff])),
      );
    case Tag.UniversalString:
      return encodeTlv(
        tag,
        Uint8Array.from(
          points.flatMap((point) => [
            point >>> 24,
            (point >> 16) & 0xff,
            (point >> 8) & 0xff,
            point & 0xff,
          ]),
        ),
      );
    case Tag.TeletexString:
      return encodeTlv(tag, Uint8Array.from(points));
    default:
      return encodeTlv(tag, new TextEncoder().encode(value));
  }
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
