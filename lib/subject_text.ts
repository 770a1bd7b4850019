/**
 * Splits subject text in the OpenSSL `-subj` form and the RFC 4514 form
 * into raw components, and resolves attribute type names and OIDs.
 *
 * @module
 */

import { encodeOid, fromHex, toHex } from "./der.ts";
import {
  BY_NAME,
  BY_OID,
  NAME_HINTS,
  type SubjectAttribute,
  SUPPORTED_NAMES,
} from "./subject_attributes.ts";
import { invalid } from "./subject_values.ts";

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

/** A hint on writing a subject in either form, ending error messages. */
export const FORMS_HINT: string = "Write it in the OpenSSL form " +
  "'/C=US/O=Example Corp/CN=host.example.com' (ASN.1 order) or the " +
  "RFC 4514 form 'CN=host.example.com,O=Example Corp,C=US' (most specific " +
  "RDN first, reversed into ASN.1 order).";

/** One component as the text parsers read it, before type resolution. */
export interface RawAttribute {
  /** The attribute type as written, such as `CN` or `OID.2.5.4.3`. */
  type: string;
  /** The unescaped text of the value, or the DER of a `#hexstring`. */
  value: { text: string } | { der: Uint8Array };
  /** The component as written, quoted in messages. */
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
export function splitOpenSsl(text: string): RawAttribute[][] {
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
export function splitRfc4514(text: string): RawAttribute[][] {
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
export function resolveType(
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
