/**
 * Checks, encodes and decodes subject attribute values in the DER string
 * types (UTF8String, PrintableString, IA5String and others) they are
 * written in.
 *
 * @module
 */

import { encodeTlv, Tag } from "./der.ts";
import { KmsToolkitError } from "./errors.ts";
import type {
  AttributeTypeAndValue,
  SubjectAttribute,
} from "./subject_attributes.ts";

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

/** Names a string tag for messages, such as `UTF8String (0x0c)`. */
export function tagName(tag: number): string {
  const hex = `0x${tag.toString(16).padStart(2, "0")}`;
  const name = TAG_NAMES[tag];
  return name ? `${name} (${hex})` : `tag ${hex}`;
}

/** Returns the string tag that a text value of the attribute is written in. */
export function textTag(entry: SubjectAttribute | undefined): number {
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

/** Returns the string tags that a DER value of the attribute may have. */
export function allowedTags(
  entry: SubjectAttribute | undefined,
): readonly number[] {
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

/** Builds an `INVALID_INPUT` error with the given message. */
export function invalid(
  message: string,
  options?: ErrorOptions,
): KmsToolkitError {
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
export function isControl(char: string): boolean {
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
export function checkValue(
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

/** Decodes string contents of any supported type, or returns why not. */
export function decodeStringContents(
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

/** Encodes a value in its string tag, checking the tag's character set. */
export function encodeStringValue(atv: AttributeTypeAndValue): Uint8Array {
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
