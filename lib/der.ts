/**
 * A small DER (ITU-T X.690) encoder and a strict reader, enough for
 * PKCS#10 requests, X.509 certificates, SPKI and ECDSA signatures.
 *
 * Encoders take and return `Uint8Array`; the reader returns views into the
 * input, so callers that keep a value past the input's life should copy it.
 *
 * @module
 */

import { KmsToolkitError } from "./errors.ts";

/** Universal tags (and the constructed SEQUENCE and SET) used here. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  UTF8String: 0x0c,
  NumericString: 0x12,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Joins byte arrays into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Tells whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Formats bytes as lowercase hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses hexadecimal text (even length, no separators) into bytes. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
    throw new SyntaxError(`Cannot parse hex '${hex}': not an even-length hex`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);

  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) {
    bytes.unshift(rest & 0xff);
  }
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/**
 * Encodes one TLV: identifier octet, definite length, contents.
 *
 * @param tag The identifier octet (low-tag-number form only).
 * @param contents The contents octets.
 * @returns The whole encoding.
 */
export function encodeTlv(tag: number, contents: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 31) {
    throw new RangeError(`Cannot encode tag ${tag}: only one-octet tags`);
  }
  return concatBytes(
    Uint8Array.of(tag),
    encodeLength(contents.length),
    contents,
  );
}

/** Encodes `SEQUENCE { items }`. */
export function encodeSequence(...items: Uint8Array[]): Uint8Array {
  return encodeTlv(Tag.SEQUENCE, concatBytes(...items));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

/**
 * Encodes `SET OF items` with the elements sorted by their encodings, as
 * DER requires (X.690 section 11.6).
 */
export function encodeSetOf(items: Uint8Array[]): Uint8Array {
  const sorted = [...items].sort(compareBytes);
  return encodeTlv(Tag.SET, concatBytes(...sorted));
}

/**
 * Encodes an INTEGER. A `Uint8Array` is read as an unsigned big-endian
 * magnitude; leading zeros are dropped and a sign byte added when needed.
 */
export function encodeInteger(value: bigint | number | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const magnitude = value.subarray(start);
    const body = magnitude.length === 0
      ? Uint8Array.of(0)
      : magnitude[0]! & 0x80
      ? concatBytes(Uint8Array.of(0), magnitude)
      : magnitude;
    return encodeTlv(Tag.INTEGER, body);
  }

  let n = BigInt(value);
  if (n < 0n) throw new RangeError(`Cannot encode INTEGER ${n}: negative`);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return encodeTlv(Tag.INTEGER, Uint8Array.from(bytes));
}

/** Encodes `NULL`. */
export function encodeNull(): Uint8Array {
  return Uint8Array.of(Tag.NULL, 0);
}

/** Encodes a BOOLEAN (DER: `ff` for true). */
export function encodeBoolean(value: boolean): Uint8Array {
  return Uint8Array.of(Tag.BOOLEAN, 1, value ? 0xff : 0);
}

/** Encodes a BIT STRING whose contents are whole bytes, or with `unusedBits`. */
export function encodeBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits)) {
    throw new RangeError(`Cannot encode BIT STRING: ${unusedBits} unused bits`);
  }
  return encodeTlv(
    Tag.BIT_STRING,
    concatBytes(Uint8Array.of(unusedBits), bytes),
  );
}

/** Encodes an OCTET STRING. */
export function encodeOctetString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(Tag.OCTET_STRING, bytes);
}

/**
 * Encodes an OBJECT IDENTIFIER from dotted text such as `2.5.4.3`.
 *
 * @throws {SyntaxError} When the text is not a valid dotted OID.
 */
export function encodeOid(dotted: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) {
    throw new SyntaxError(`Cannot encode OID '${dotted}': not a dotted OID`);
  }
  const arcs = dotted.split(".").map(BigInt);
  const [first, second] = [arcs[0]!, arcs[1]!];
  if (first < 2n && second > 39n) {
    throw new SyntaxError(`Cannot encode OID '${dotted}': second arc over 39`);
  }

  const out: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) {
      group.unshift(Number(rest & 0x7fn) | 0x80);
    }
    out.push(...group);
  }
  return encodeTlv(Tag.OBJECT_IDENTIFIER, Uint8Array.from(out));
}

/**
 * Decodes the contents of an OBJECT IDENTIFIER into dotted text.
 *
 * @throws {KmsToolkitError} `INVALID_INPUT` when the contents are malformed.
 */
export function decodeOid(contents: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  let fresh = true;
  for (const byte of contents) {
    if (fresh && byte === 0x80) throw invalid("OID arc with a leading 0x80");
    value = (value << 7n) | BigInt(byte & 0x7f);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (arcs.length === 0 || !fresh) throw invalid("truncated OID");

  const head = arcs[0]!;
  // The first subidentifier packs the first two arcs as 40 * X + Y.
  let first = 2n;
  if (head < 40n) first = 0n;
  else if (head < 80n) first = 1n;
  return [first, head - first * 40n, ...arcs.slice(1)].join(".");
}

/**
 * Encodes text in the given string type. The caller checks that the text
 * fits the type's character set.
 */
export function encodeString(tag: number, text: string): Uint8Array {
  const codePoints = Array.from(text, (char) => char.codePointAt(0)!);
  if (tag === Tag.BMPString || tag === Tag.UniversalString) {
    // BMPString is UCS-2 and UniversalString UCS-4, both big-endian.
    const width = tag === Tag.BMPString ? 2 : 4;
    const out = new Uint8Array(codePoints.length * width);
    codePoints.forEach((codePoint, i) => {
      if (width === 2 && codePoint > 0xffff) {
        throw new RangeError(
          `Cannot encode U+${codePoint.toString(16)} as BMPString`,
        );
      }
      for (let byte = 0; byte < width; byte++) {
        out[i * width + byte] = (codePoint >> (8 * (width - 1 - byte))) & 0xff;
      }
    });
    return encodeTlv(tag, out);
  }
  return encodeTlv(tag, new TextEncoder().encode(text));
}

/**
 * Encodes a context-specific tag `[number]`: constructed (EXPLICIT, or an
 * IMPLICIT constructed type) by default, primitive when `constructed` is
 * false.
 */
export function encodeContext(
  number: number,
  contents: Uint8Array,
  constructed = true,
): Uint8Array {
  if (number < 0 || number > 30) {
    throw new RangeError(`Cannot encode context tag [${number}]`);
  }
  return encodeTlv((constructed ? 0xa0 : 0x80) | number, contents);
}

/**
 * Encodes a `Time` (RFC 5280 section 4.1.2.5): UTCTime for years 1950 to
 * 2049, GeneralizedTime otherwise, whole seconds in UTC.
 */
export function encodeTime(date: Date): Uint8Array {
  const iso = date.toISOString();
  const year = date.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  if (year >= 1950 && year < 2050) {
    return encodeString(Tag.UTCTime, `${digits.slice(2)}Z`);
  }
  return encodeString(Tag.GeneralizedTime, `${digits}Z`);
}

/** One parsed TLV; `contents` and `encoded` are views into the input. */
export interface Tlv {
  /** The identifier octet. */
  tag: number;
  /** The contents octets. */
  contents: Uint8Array;
  /** The whole encoding: identifier, length and contents. */
  encoded: Uint8Array;
  /** Offset just past this TLV in the buffer it was read from. */
  end: number;
}

function invalid(reason: string): KmsToolkitError {
  return new KmsToolkitError("INVALID_INPUT", `Cannot parse DER: ${reason}.`);
}

/**
 * Reads one TLV at `offset`, enforcing DER's definite, minimal lengths.
 *
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not DER.
 */
export function readTlv(bytes: Uint8Array, offset = 0): Tlv {
  if (offset >= bytes.length) throw invalid("unexpected end of data");
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) {
    throw invalid("multi-octet tags are not supported");
  }
  if (offset + 1 >= bytes.length) throw invalid("missing length");

  let length = bytes[offset + 1]!;
  let headerLength = 2;
  if (length === 0x80) throw invalid("indefinite length is not DER");
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 4) throw invalid("length too large");
    if (offset + 2 + count > bytes.length) throw invalid("truncated length");
    length = 0;
    for (let i = 0; i < count; i++) {
      length = length * 256 + bytes[offset + 2 + i]!;
    }
    if (length < 0x80 || bytes[offset + 2] === 0) {
      throw invalid("length not in minimal form");
    }
    headerLength += count;
  }

  const start = offset + headerLength;
  const end = start + length;
  if (end > bytes.length) throw invalid("contents run past the end of data");
  return {
    tag,
    contents: bytes.subarray(start, end),
    encoded: bytes.subarray(offset, end),
    end,
  };
}

/**
 * Reads a whole buffer as exactly one TLV, optionally of an expected tag.
 *
 * @throws {KmsToolkitError} `INVALID_INPUT` on trailing bytes or a wrong tag.
 */
export function readDer(bytes: Uint8Array, expectedTag?: number): Tlv {
  const tlv = readTlv(bytes, 0);
  if (tlv.end !== bytes.length) throw invalid("trailing bytes after the value");
  if (expectedTag !== undefined && tlv.tag !== expectedTag) {
    throw invalid(
      `expected tag 0x${expectedTag.toString(16)}, found 0x${
        tlv.tag.toString(16)
      }`,
    );
  }
  return tlv;
}

/**
 * Reads the elements of a constructed value (SEQUENCE, SET, `[n]`).
 *
 * @throws {KmsToolkitError} `INVALID_INPUT` when an element is malformed.
 */
export function readChildren(parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw invalid("expected a constructed value");
  const children: Tlv[] = [];
  for (let offset = 0; offset < parent.contents.length;) {
    const child = readTlv(parent.contents, offset);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/**
 * Reads an INTEGER's contents as an unsigned magnitude without sign or
 * padding bytes.
 *
 * @throws {KmsToolkitError} `INVALID_INPUT` when it is negative or not minimal.
 */
export function readUnsignedInteger(tlv: Tlv): Uint8Array {
  const bytes = tlv.contents;
  if (tlv.tag !== Tag.INTEGER || bytes.length === 0) {
    throw invalid("expected an INTEGER");
  }
  if (bytes[0]! & 0x80) throw invalid("negative INTEGER");
  if (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) {
    throw invalid("INTEGER not in minimal form");
  }
  return bytes[0] === 0 && bytes.length > 1 ? bytes.subarray(1) : bytes;
}
