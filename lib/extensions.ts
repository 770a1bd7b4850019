/**
 * Parses subject alternative names, key usages and extended key usages,
 * and encodes the X.509 v3 extensions that CSRs and self-signed
 * certificates carry (RFC 5280 section 4.2).
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import type { KeyType } from "./algorithms.ts";
import {
  decodeOid,
  encodeBitString,
  encodeBoolean,
  encodeContext,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  readChildren,
  readDer,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { KmsToolkitError } from "./errors.ts";

/** Extension OIDs (RFC 5280 section 4.2.1). */
export const ExtensionOid = {
  /** `id-ce-subjectKeyIdentifier ::= { id-ce 14 }` */
  subjectKeyIdentifier: "2.5.29.14",
  /** `id-ce-keyUsage ::= { id-ce 15 }` */
  keyUsage: "2.5.29.15",
  /** `id-ce-subjectAltName ::= { id-ce 17 }` */
  subjectAltName: "2.5.29.17",
  /** `id-ce-basicConstraints ::= { id-ce 19 }` */
  basicConstraints: "2.5.29.19",
  /** `id-ce-authorityKeyIdentifier ::= { id-ce 35 }` */
  authorityKeyIdentifier: "2.5.29.35",
  /** `id-ce-extKeyUsage ::= { id-ce 37 }` */
  extKeyUsage: "2.5.29.37",
} as const;

/** Key purposes of extKeyUsage (RFC 5280 section 4.2.1.12). */
export const KeyPurposeOid = {
  /** `id-kp-serverAuth ::= { id-kp 1 }` */
  serverAuth: "1.3.6.1.5.5.7.3.1",
  /** `id-kp-clientAuth ::= { id-kp 2 }` */
  clientAuth: "1.3.6.1.5.5.7.3.2",
  /** `id-kp-codeSigning ::= { id-kp 3 }` */
  codeSigning: "1.3.6.1.5.5.7.3.3",
  /** `id-kp-emailProtection ::= { id-kp 4 }` */
  emailProtection: "1.3.6.1.5.5.7.3.4",
  /** `id-kp-timeStamping ::= { id-kp 8 }` */
  timeStamping: "1.3.6.1.5.5.7.3.8",
  /** `id-kp-OCSPSigning ::= { id-kp 9 }` */
  OCSPSigning: "1.3.6.1.5.5.7.3.9",
} as const;

/** A subject alternative name of one of the four supported kinds. */
export type GeneralName =
  | { type: "dns"; value: string }
  | { type: "ip"; value: string; bytes: Uint8Array }
  | { type: "email"; value: string }
  | { type: "uri"; value: string };

/** One X.509 v3 extension. */
export interface Extension {
  /** The extension OID (`extnID`). */
  oid: string;
  /**
   * Whether a relying party that does not recognize the extension must
   * reject the certificate or request.
   */
  critical: boolean;
  /** The contents of `extnValue`: the DER of the extension's own type. */
  value: Uint8Array;
}

/** Named bits of keyUsage (RFC 5280 section 4.2.1.3). */
export type KeyUsageName =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

/**
 * Bit numbers of the keyUsage named bits.
 *
 * @example
 * ```ts
 * import { KEY_USAGE_BITS } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(KEY_USAGE_BITS.keyCertSign, 5);
 * ```
 */
export const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

const KEY_USAGE_NAMES = Object.keys(KEY_USAGE_BITS) as KeyUsageName[];

/**
 * Maximum pathLenConstraint accepted.
 *
 * NOTE: RFC 5280 allows any non-negative INTEGER. This bound is a sanity
 * check chosen here to catch typos, not a limit from a standard.
 */
export const MAX_PATH_LENGTH = 255;

function invalid(message: string): KmsToolkitError {
  return new KmsToolkitError("INVALID_INPUT", message);
}

const SAN_FORMS = "Write each name as DNS:host.example.com, IP:10.0.0.1, " +
  "IP:2001:db8::1, email:user@example.com or URI:https://example.com/";

function sanError(entry: string, reason: string, next: string) {
  return invalid(
    `Cannot parse subject alternative name '${entry}': ${reason}. ${next}`,
  );
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

/** Converts a non-ASCII host name to punycode, or returns `null`. */
function punycodeOf(host: string): string | null {
  try {
    const converted = new URL(`http://${host}/`).hostname;
    return /^[\x21-\x7e]+$/.test(converted) ? converted : null;
  } catch {
    return null;
  }
}

function parseIpv4(text: string): Uint8Array | string {
  const parts = text.split(".");
  if (parts.length !== 4) {
    return "an IPv4 address has four dot-separated decimal octets";
  }
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!/^[0-9]{1,3}$/.test(part)) {
      return `octet '${part}' is not a decimal number from 0 to 255`;
    }
    if (part.length > 1 && part.startsWith("0")) {
      return `octet '${part}' has a leading zero, which tools read as octal`;
    }
    const value = Number(part);
    if (value > 255) return `octet '${part}' is over 255`;
    bytes[index] = value;
  }
  return bytes;
}

function parseGroups(text: string): number[] | string {
  if (text === "") return [];
  const groups: number[] = [];
  for (const group of text.split(":")) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) {
      return `group '${group}' is not 1 to 4 hex digits`;
    }
    groups.push(parseInt(group, 16));
  }
  return groups;
}

/**
 * Parses an IPv6 address in any RFC 4291 section 2.2 text form: full,
 * `::`-compressed, or with an embedded IPv4 address at the end.
 */
function parseIpv6(text: string): Uint8Array | string {
  if (text.includes("%")) {
    return "a zone id ('%...') names a local interface and has no " +
      "meaning in a certificate";
  }
  let body = text;
  let ipv4: Uint8Array | null = null;
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    const parsed = parseIpv4(body.slice(lastColon + 1));
    if (typeof parsed === "string") return `its embedded IPv4 part: ${parsed}`;
    ipv4 = parsed;
    body = body.slice(0, lastColon + 1) + "0:0";
  }

  const halves = body.split("::");
  if (halves.length > 2) return "'::' may appear only once";
  const head = parseGroups(halves[0]!);
  if (typeof head === "string") return head;
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (typeof tail === "string") return tail;

  const count = head.length + tail.length;
  if (halves.length === 1 && count !== 8) {
    return `it has ${count} groups instead of 8; use '::' for a run of zeros`;
  }
  if (halves.length === 2 && count > 7) {
    return "'::' must stand for at least one zero group";
  }
  const groups = [...head, ...Array(8 - count).fill(0), ...tail];
  const bytes = Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
  if (ipv4) bytes.set(ipv4, 12);
  return bytes;
}

/** Formats 16 bytes as RFC 5952 text (lowercase, longest zero run as `::`). */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from(
    { length: 8 },
    (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!,
  );
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join(".")}`;
  }

  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${
    hex.slice(bestStart + bestLength).join(":")
  }`;
}

function parseIpAddress(entry: string, text: string): GeneralName {
  let address = text;
  if (address.startsWith("[") || address.endsWith("]")) {
    if (!(address.startsWith("[") && address.endsWith("]"))) {
      throw sanError(entry, "its brackets are unbalanced", SAN_FORMS + ".");
    }
    address = address.slice(1, -1);
  }
  if (address.includes("/")) {
    throw sanError(
      entry,
      "a subject alternative name holds one address, not a network",
      "Remove the '/prefix' length.",
    );
  }

  const isV6 = address.includes(":");
  const parsed = isV6 ? parseIpv6(address) : parseIpv4(address);
  if (typeof parsed === "string") {
    throw sanError(
      entry,
      `'${address}' is not an IP${isV6 ? "v6" : "v4"} address: ${parsed}`,
      "Write an IPv4 dotted quad such as 10.0.0.1 or an IPv6 address " +
        "such as 2001:db8::1 (RFC 4291).",
    );
  }
  const value = isV6 ? formatIpv6(parsed) : address;
  return { type: "ip", value, bytes: parsed };
}

const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Checks a host name against the preferred name syntax (RFC 1034 section
 * 3.5 as relaxed by RFC 1123 section 2.1), returning why it fails.
 */
function hostProblem(host: string, wildcard: boolean): string | null {
  if (host === "") return "the name is empty";
  if (!isAscii(host)) {
    const ascii = punycodeOf(host);
    return "it is not ASCII; write internationalized names in punycode" +
      (ascii ? ` ('${ascii}')` : " ('xn--...')");
  }
  if (host.endsWith(".")) {
    return "it ends in a dot; certificates hold names without the root dot";
  }
  if (host.length > 253) {
    return `it is ${host.length} characters long, over the DNS maximum of 253`;
  }

  const labels = host.split(".");
  for (const [index, label] of labels.entries()) {
    if (label === "*" && index === 0 && wildcard) {
      if (labels.length < 2) return "a bare '*' matches no name";
      continue;
    }
    if (label.includes("*")) {
      return wildcard
        ? "a wildcard is allowed only as the whole leftmost label, as in " +
          "'*.example.com'"
        : "a wildcard is not allowed here";
    }
    if (label === "") return "it has an empty label ('..' or a leading dot)";
    if (label.length > 63) {
      return `label '${label}' is ${label.length} characters, over 63`;
    }
    if (!LDH_LABEL.test(label)) {
      return `label '${label}' must be letters, digits and inner hyphens ` +
        "(no leading or trailing hyphen, no '_')";
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    return "its last label is all digits, so it is not a host name";
  }
  return null;
}

function parseDnsName(entry: string, value: string): GeneralName {
  const problem = hostProblem(value, true);
  if (problem) {
    const looksLikeIp = value.includes(":") ||
      typeof parseIpv4(value) !== "string";
    const next = looksLikeIp
      ? `Write an IP address as IP:${value}.`
      : value.includes(",")
      ? "Give each name its own prefix, as in " +
        "'DNS:a.example.com,DNS:b.example.com'."
      : "Write a host name such as host.example.com or *.example.com.";
    throw sanError(
      entry,
      `'${value}' is not a valid DNS name: ${problem}`,
      next,
    );
  }
  return { type: "dns", value };
}

// RFC 5322 section 3.2.3 atext, for the dot-atom local part.
const DOT_ATOM =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

function parseEmail(entry: string, value: string): GeneralName {
  const fail = (reason: string, next: string) =>
    sanError(entry, `'${value}' is not a valid email address: ${reason}`, next);
  const expected = "Write it as local@domain, such as user@example.com.";

  if (!isAscii(value)) {
    throw fail(
      "rfc822Name is an IA5String and must be ASCII",
      "Use an ASCII address; internationalized addresses need the " +
        "SmtpUTF8Mailbox form (RFC 9598), which this toolkit does not write.",
    );
  }
  const at = value.lastIndexOf("@");
  if (at < 0) throw fail("it has no '@'", expected);
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local === "") throw fail("the part before '@' is empty", expected);
  if (local.length > 64) {
    throw fail(
      `the local part is ${local.length} characters, over 64 (RFC 5321)`,
      "Shorten the local part.",
    );
  }
  if (!DOT_ATOM.test(local)) {
    throw fail(
      `the local part '${local}' is not a dot-atom (RFC 5322 section 3.2.3)`,
      expected,
    );
  }
  const problem = hostProblem(domain, false);
  if (problem) throw fail(`domain '${domain}': ${problem}`, expected);
  return { type: "email", value };
}

const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

function parseUri(entry: string, value: string): GeneralName {
  const fail = (reason: string, next: string) =>
    sanError(entry, `'${value}' is not a valid absolute URI: ${reason}`, next);
  const expected = "Write an absolute URI such as https://example.com/path " +
    "or spiffe://example.org/service (RFC 3986).";

  if (!isAscii(value)) {
    throw fail(
      "it is not ASCII",
      "Percent-encode other characters (RFC 3986 section 2.1) and write an " +
        "internationalized host in punycode.",
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  if (!scheme) throw fail("it has no scheme such as 'https:'", expected);
  const rest = value.slice(scheme[0].length);
  if (rest === "") throw fail("it has nothing after the scheme", expected);
  const bad = [...value].find((char) => !URI_CHARS.test(char));
  if (bad !== undefined) {
    throw fail(
      `'${bad}' is not allowed in a URI`,
      "Percent-encode it (RFC 3986 section 2.1).",
    );
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) {
    throw fail("a '%' is not followed by two hex digits", expected);
  }

  if (rest.startsWith("//")) {
    const authority = rest.slice(2).split(/[/?#]/, 1)[0]!;
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    const ipv6 = /^\[([^\]]*)\](?::[0-9]*)?$/.exec(hostPort);
    if (ipv6) {
      const parsed = parseIpv6(ipv6[1]!);
      if (typeof parsed === "string") {
        throw fail(`its host: ${parsed}`, expected);
      }
      return { type: "uri", value };
    }
    const colon = hostPort.lastIndexOf(":");
    const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    const port = colon < 0 ? "" : hostPort.slice(colon + 1);
    if (!/^[0-9]*$/.test(port)) {
      throw fail(`port '${port}' is not a number`, expected);
    }
    if (host === "") {
      throw fail(
        "its authority has no host, and RFC 5280 section 4.2.1.6 requires " +
          "a host name or IP address there",
        expected,
      );
    }
    const isIpv4 = typeof parseIpv4(host) !== "string";
    const problem = isIpv4 ? null : hostProblem(host, false);
    if (problem) throw fail(`host '${host}': ${problem}`, expected);
  }
  return { type: "uri", value };
}

function parseGeneralName(entry: string): GeneralName {
  const match = /^([A-Za-z0-9]+):(.*)$/s.exec(entry);
  if (!match) {
    throw sanError(entry, "it has no type prefix", `${SAN_FORMS}.`);
  }
  const value = match[2]!.trim();
  switch (match[1]!.toLowerCase()) {
    case "dns":
      return parseDnsName(entry, value);
    case "ip":
      return parseIpAddress(entry, value);
    case "email":
      return parseEmail(entry, value);
    case "uri":
      return parseUri(entry, value);
    default:
      throw sanError(
        entry,
        `'${match[1]}' is not a supported name type (DNS, IP, email, URI)`,
        `${SAN_FORMS}.`,
      );
  }
}

function nameKey(name: GeneralName): string {
  switch (name.type) {
    case "dns":
      return `dns:${name.value.toLowerCase()}`;
    case "ip":
      return `ip:${toHex(name.bytes)}`;
    case "email": {
      const at = name.value.lastIndexOf("@");
      return `email:${name.value.slice(0, at)}@${
        name.value.slice(at + 1).toLowerCase()
      }`;
    }
    case "uri":
      return `uri:${name.value}`;
  }
}

const SAN_SPLIT = /,(?=\s*(?:dns|ip|email|uri):)/i;

/**
 * Parses subject alternative names such as `DNS:host.example.com`,
 * `IP:10.0.0.1`, `IP:[2001:db8::1]`, `email:user@example.com` and
 * `URI:spiffe://example.org/service`. An entry may hold several names
 * separated by commas. It is split only at a comma followed by a type
 * prefix, so a URI may contain commas.
 *
 * DNS names follow the preferred name syntax: letter-digit-hyphen labels
 * of 1 to 63 characters, at most 253 in all, ASCII only (punycode for
 * internationalized names), and a wildcard only as the whole leftmost
 * label (`*.example.com`). A trailing dot is rejected. IPv4 addresses are
 * dotted quads without leading zeros; IPv6 addresses take every RFC 4291
 * text form, with or without brackets, but no zone id. The IP `value` is
 * returned in RFC 5952 form. Email addresses are ASCII `local@domain`
 * with a dot-atom local part; URIs are absolute and ASCII.
 *
 * @param entries The values of each `--san` option.
 * @returns The names in the order given.
 * @throws {KmsToolkitError} `INVALID_INPUT` for a malformed or repeated
 * name, or when there are no names at all; the message quotes the entry.
 *
 * @example
 * ```ts
 * import { parseSubjectAltNames } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const names = parseSubjectAltNames(["DNS:a.example.com,IP:10.0.0.1"]);
 * assert.equal(names.length, 2);
 * assert.equal(names[1]!.type, "ip");
 * ```
 */
export function parseSubjectAltNames(entries: string[]): GeneralName[] {
  const names: GeneralName[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    for (const piece of entry.split(SAN_SPLIT)) {
      const item = piece.trim();
      if (/^[\s,]*$/.test(item)) continue;
      const name = parseGeneralName(item);
      const key = nameKey(name);
      const first = seen.get(key);
      if (first !== undefined) {
        throw sanError(
          item,
          `it repeats '${first}'`,
          "Remove the duplicate.",
        );
      }
      seen.set(key, item);
      names.push(name);
    }
  }
  if (names.length === 0) {
    throw invalid(
      `Cannot parse subject alternative names '${entries.join(",")}': no ` +
        `names given. ${SAN_FORMS}.`,
    );
  }
  return names;
}

/**
 * Encodes one `Extension`, leaving out `critical` when false because DER
 * omits a value equal to its DEFAULT.
 *
 * ```asn1
 * Extension ::= SEQUENCE {
 *   extnID     OBJECT IDENTIFIER,
 *   critical   BOOLEAN DEFAULT FALSE,
 *   extnValue  OCTET STRING }
 * ```
 *
 * @param extension The OID, criticality and inner DER.
 * @returns The DER `Extension`.
 * @throws {SyntaxError} When the OID is not dotted text.
 *
 * @example
 * ```ts
 * import { encodeExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeExtension({
 *   oid: "2.5.29.19",
 *   critical: true,
 *   value: Uint8Array.of(0x30, 0x00),
 * });
 * assert.equal(toHex(der), "300c0603551d130101ff04023000");
 * ```
 */
export function encodeExtension(extension: Extension): Uint8Array {
  const parts = [encodeOid(extension.oid)];
  if (extension.critical) parts.push(encodeBoolean(true));
  parts.push(encodeOctetString(extension.value));
  return encodeSequence(...parts);
}

/**
 * Encodes `Extensions`, the list that a certificate's `[3]` field or a
 * CSR's extensionRequest attribute carries.
 *
 * ```asn1
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * ```
 *
 * @param extensions At least one extension, each OID at most once.
 * @returns The DER `Extensions`.
 * @throws {KmsToolkitError} `INVALID_INPUT` when an OID repeats, which
 * RFC 5280 section 4.2 forbids.
 * @throws {RangeError} When the list is empty.
 *
 * @example
 * ```ts
 * import {
 *   basicConstraintsExtension,
 *   encodeExtensions,
 * } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeExtensions([basicConstraintsExtension({ ca: false })]);
 * assert.equal(toHex(der), "300e300c0603551d130101ff04023000");
 * ```
 */
export function encodeExtensions(extensions: Extension[]): Uint8Array {
  if (extensions.length === 0) {
    throw new RangeError("Cannot encode Extensions: the list is empty");
  }
  const seen = new Set<string>();
  for (const extension of extensions) {
    if (seen.has(extension.oid)) {
      throw invalid(
        `Cannot encode extensions: extension '${extension.oid}' appears ` +
          "twice, and RFC 5280 section 4.2 allows each only once. Merge " +
          "the values into one extension.",
      );
    }
    seen.add(extension.oid);
  }
  return encodeSequence(...extensions.map(encodeExtension));
}

const NAME_PREFIX: Record<GeneralName["type"], string> = {
  dns: "DNS",
  ip: "IP",
  email: "email",
  uri: "URI",
};

function encodeGeneralName(name: GeneralName): Uint8Array {
  const ascii = (text: string) => new TextEncoder().encode(text);
  switch (name.type) {
    case "email":
      return encodeContext(1, ascii(name.value), false);
    case "dns":
      return encodeContext(2, ascii(name.value), false);
    case "uri":
      return encodeContext(6, ascii(name.value), false);
    case "ip":
      return encodeContext(7, name.bytes, false);
  }
}

/** Options of {@linkcode subjectAltNameExtension}. */
export interface SubjectAltNameOptions {
  /**
   * Whether to mark the extension critical, which RFC 5280 section 4.2.1.6
   * requires when the subject is empty.
   * @default {false}
   */
  critical?: boolean;
}

/**
 * Builds the subjectAltName extension. Each name is checked again as
 * {@linkcode parseSubjectAltNames} checks it.
 *
 * ```asn1
 * SubjectAltName ::= GeneralNames
 * GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
 * GeneralName ::= CHOICE {
 *   otherName                  [0] AnotherName,
 *   rfc822Name                 [1] IA5String,
 *   dNSName                    [2] IA5String,
 *   x400Address                [3] ORAddress,
 *   directoryName              [4] Name,
 *   ediPartyName               [5] EDIPartyName,
 *   uniformResourceIdentifier  [6] IA5String,
 *   iPAddress                  [7] OCTET STRING,
 *   registeredID               [8] OBJECT IDENTIFIER }
 * ```
 *
 * @param names At least one name, none repeated.
 * @param options The criticality.
 * @returns The extension, non-critical unless requested.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the list is empty, a name
 * is invalid or repeated, or an IP address is not 4 or 16 bytes.
 *
 * @example
 * ```ts
 * import {
 *   parseSubjectAltNames,
 *   subjectAltNameExtension,
 * } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const names = parseSubjectAltNames(["IP:10.0.0.1"]);
 * const extension = subjectAltNameExtension(names);
 * assert.equal(toHex(extension.value), "300687040a000001");
 * ```
 */
export function subjectAltNameExtension(
  names: GeneralName[],
  options: SubjectAltNameOptions = {},
): Extension {
  if (names.length === 0) {
    throw invalid(
      "Cannot build subjectAltName '': it needs at least one name. " +
        `${SAN_FORMS}.`,
    );
  }
  const checked = names.map((name) => {
    const entry = `${NAME_PREFIX[name.type]}:${name.value}`;
    if (name.type !== "ip") return parseGeneralName(entry);
    if (name.bytes.length !== 4 && name.bytes.length !== 16) {
      throw sanError(
        entry,
        `its address is ${name.bytes.length} bytes, not 4 (IPv4) or 16 (IPv6)`,
        "Build IP names with parseSubjectAltNames.",
      );
    }
    return name;
  });
  const seen = new Set<string>();
  for (const name of checked) {
    const key = nameKey(name);
    if (seen.has(key)) {
      throw sanError(
        `${NAME_PREFIX[name.type]}:${name.value}`,
        "it appears twice",
        "Remove the duplicate.",
      );
    }
    seen.add(key);
  }
  return {
    oid: ExtensionOid.subjectAltName,
    critical: options.critical ?? false,
    value: encodeSequence(...checked.map(encodeGeneralName)),
  };
}

const KEY_USAGE_ALIASES: Record<string, KeyUsageName> = {
  contentcommitment: "nonRepudiation",
};

/**
 * Parses key usage names, case-insensitively, with `contentCommitment`
 * accepted for nonRepudiation (its newer name in X.509). Entries
 * may be comma-separated lists.
 *
 * @param names The values of each `--key-usage` option.
 * @returns The usages in the order given.
 * @throws {KmsToolkitError} `INVALID_INPUT` for an unknown or repeated
 * name, or when there are none.
 *
 * @example
 * ```ts
 * import { parseKeyUsage } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   parseKeyUsage(["DigitalSignature,contentCommitment"]),
 *   ["digitalSignature", "nonRepudiation"],
 * );
 * ```
 */
export function parseKeyUsage(names: string[]): KeyUsageName[] {
  const byLowerCase = new Map<string, KeyUsageName>(
    KEY_USAGE_NAMES.map((name) => [name.toLowerCase(), name]),
  );
  const usages: KeyUsageName[] = [];
  for (const item of names.flatMap((entry) => entry.split(","))) {
    const text = item.trim();
    if (text === "") continue;
    const key = text.toLowerCase();
    const usage = byLowerCase.get(key) ?? KEY_USAGE_ALIASES[key];
    if (usage === undefined) {
      throw invalid(
        `Cannot parse key usage '${text}': it is not a keyUsage bit name. ` +
          `Use one of ${KEY_USAGE_NAMES.join(", ")} (or contentCommitment).`,
      );
    }
    if (usages.includes(usage)) {
      throw invalid(
        `Cannot parse key usage '${text}': ${usage} is already listed. ` +
          "Remove the duplicate.",
      );
    }
    usages.push(usage);
  }
  if (usages.length === 0) {
    throw invalid(
      `Cannot parse key usages '${names.join(",")}': no usage given. ` +
        "Pass names such as digitalSignature,keyEncipherment.",
    );
  }
  return usages;
}

/**
 * Builds the keyUsage extension, critical as RFC 5280 section 4.2.1.3
 * recommends. The BIT STRING drops trailing zero bits and counts them as
 * unused (X.690 section 11.2.2): digitalSignature alone is `03 02 07 80`.
 *
 * ```asn1
 * KeyUsage ::= BIT STRING {
 *   digitalSignature (0), nonRepudiation (1), keyEncipherment (2),
 *   dataEncipherment (3), keyAgreement (4), keyCertSign (5),
 *   cRLSign (6), encipherOnly (7), decipherOnly (8) }
 * ```
 *
 * @param usages At least one usage.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the list is empty, or
 * encipherOnly or decipherOnly is set without keyAgreement, whose meaning
 * RFC 5280 leaves undefined.
 * @throws {TypeError} When a name is not a keyUsage bit.
 *
 * @example
 * ```ts
 * import { keyUsageExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = keyUsageExtension(["digitalSignature", "keyEncipherment"]);
 * assert.equal(toHex(extension.value), "030205a0");
 * assert.equal(extension.critical, true);
 * ```
 */
export function keyUsageExtension(usages: KeyUsageName[]): Extension {
  if (usages.length === 0) {
    throw invalid(
      "Cannot build keyUsage '': RFC 5280 requires at least one bit set. " +
        "Pass usages such as digitalSignature.",
    );
  }
  for (const usage of usages) {
    if (!(usage in KEY_USAGE_BITS)) {
      throw new TypeError(`Unknown key usage '${usage}'`);
    }
  }
  for (const only of ["encipherOnly", "decipherOnly"] as const) {
    if (usages.includes(only) && !usages.includes("keyAgreement")) {
      throw invalid(
        `Cannot build keyUsage '${usages.join(",")}': ${only} has a ` +
          "meaning only together with keyAgreement. Add keyAgreement or " +
          `remove ${only}.`,
      );
    }
  }

  const bits = usages.map((usage) => KEY_USAGE_BITS[usage]);
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return {
    oid: ExtensionOid.keyUsage,
    critical: true,
    value: encodeBitString(bytes, 7 - (highest & 7)),
  };
}

const NUMERIC_OID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

function isValidOid(text: string): boolean {
  if (!NUMERIC_OID.test(text)) return false;
  try {
    encodeOid(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses extended key usage names (serverAuth, clientAuth, codeSigning,
 * emailProtection, timeStamping, OCSPSigning; case-insensitive) or dotted
 * OIDs. Entries may be comma-separated lists.
 *
 * @param names The values of each `--extended-key-usage` option.
 * @returns The key purpose OIDs in the order given.
 * @throws {KmsToolkitError} `INVALID_INPUT` for an unknown name, a
 * malformed OID, a repeat, or no entries.
 *
 * @example
 * ```ts
 * import { parseExtendedKeyUsage } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseExtendedKeyUsage(["serverauth", "1.3.6.1.4.1.99"]), [
 *   "1.3.6.1.5.5.7.3.1",
 *   "1.3.6.1.4.1.99",
 * ]);
 * ```
 */
export function parseExtendedKeyUsage(names: string[]): string[] {
  const byLowerCase = new Map<string, string>(
    Object.entries(KeyPurposeOid).map(([name, oid]) => [
      name.toLowerCase(),
      oid,
    ]),
  );
  const oids: string[] = [];
  for (const item of names.flatMap((entry) => entry.split(","))) {
    const text = item.trim();
    if (text === "") continue;
    const oid = byLowerCase.get(text.toLowerCase()) ??
      (isValidOid(text) ? text : undefined);
    if (oid === undefined) {
      throw invalid(
        `Cannot parse extended key usage '${text}': it is neither a known ` +
          "name nor a dotted OID. Use one of " +
          `${Object.keys(KeyPurposeOid).join(", ")}, or an OID such as ` +
          "1.3.6.1.5.5.7.3.1.",
      );
    }
    if (oids.includes(oid)) {
      throw invalid(
        `Cannot parse extended key usage '${text}': ${oid} is already ` +
          "listed. Remove the duplicate.",
      );
    }
    oids.push(oid);
  }
  if (oids.length === 0) {
    throw invalid(
      `Cannot parse extended key usages '${names.join(",")}': no usage ` +
        "given. Pass names such as serverAuth,clientAuth.",
    );
  }
  return oids;
}

/**
 * Builds the extKeyUsage extension, non-critical.
 *
 * ```asn1
 * ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
 * KeyPurposeId ::= OBJECT IDENTIFIER
 * ```
 *
 * @param oids At least one key purpose OID.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the list is empty or an
 * OID is malformed.
 *
 * @example
 * ```ts
 * import { extendedKeyUsageExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = extendedKeyUsageExtension(["1.3.6.1.5.5.7.3.1"]);
 * assert.equal(toHex(extension.value), "300a06082b06010505070301");
 * ```
 */
export function extendedKeyUsageExtension(oids: string[]): Extension {
  if (oids.length === 0) {
    throw invalid(
      "Cannot build extKeyUsage '': it needs at least one key purpose. " +
        "Pass usages such as serverAuth.",
    );
  }
  for (const oid of oids) {
    if (!isValidOid(oid)) {
      throw invalid(
        `Cannot build extKeyUsage '${oid}': it is not a dotted OID. Pass ` +
          "OIDs such as 1.3.6.1.5.5.7.3.1.",
      );
    }
  }
  return {
    oid: ExtensionOid.extKeyUsage,
    critical: false,
    value: encodeSequence(...oids.map(encodeOid)),
  };
}

/** Options of {@linkcode basicConstraintsExtension}. */
export interface BasicConstraintsOptions {
  /** Whether the subject is a CA. */
  ca: boolean;
  /**
   * The maximum number of intermediate CAs below this one, only for a CA.
   * @default {undefined} no limit
   */
  pathLength?: number;
}

/**
 * Builds the basicConstraints extension, critical. DER leaves out `cA`
 * when false, so a non-CA encodes as `30 00`.
 *
 * ```asn1
 * BasicConstraints ::= SEQUENCE {
 *   cA                 BOOLEAN DEFAULT FALSE,
 *   pathLenConstraint  INTEGER (0..MAX) OPTIONAL }
 * ```
 *
 * @param options Whether it is a CA and its path length.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a path length is given
 * for a non-CA, or is not an integer from 0 to {@linkcode MAX_PATH_LENGTH}.
 *
 * @example
 * ```ts
 * import { basicConstraintsExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = basicConstraintsExtension({ ca: true, pathLength: 0 });
 * assert.equal(toHex(extension.value), "30060101ff020100");
 * ```
 */
export function basicConstraintsExtension(
  options: BasicConstraintsOptions,
): Extension {
  const { ca, pathLength } = options;
  const parts: Uint8Array[] = [];
  if (ca) parts.push(encodeBoolean(true));
  if (pathLength !== undefined) {
    if (!ca) {
      throw invalid(
        `Cannot build basicConstraints with path length '${pathLength}': ` +
          "only a CA certificate has a path length. Drop the path length " +
          "or make the certificate a CA.",
      );
    }
    if (
      !Number.isInteger(pathLength) || pathLength < 0 ||
      pathLength > MAX_PATH_LENGTH
    ) {
      throw invalid(
        `Cannot build basicConstraints with path length '${pathLength}': ` +
          `it must be an integer from 0 to ${MAX_PATH_LENGTH}. Pass the ` +
          "number of intermediate CAs allowed below this one.",
      );
    }
    parts.push(encodeInteger(pathLength));
  }
  return {
    oid: ExtensionOid.basicConstraints,
    critical: true,
    value: encodeSequence(...parts),
  };
}

/**
 * Builds the subjectKeyIdentifier extension with RFC 5280 section 4.2.1.2
 * method (1): the SHA-1 of the subjectPublicKey BIT STRING's contents,
 * without the unused-bits octet. Non-critical, as RFC 5280 requires.
 *
 * ```asn1
 * SubjectKeyIdentifier ::= KeyIdentifier
 * KeyIdentifier ::= OCTET STRING
 * ```
 *
 * @param spki The DER `SubjectPublicKeyInfo`.
 * @returns The extension.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not a
 * `SubjectPublicKeyInfo` with a whole-octet key.
 *
 * @example
 * ```ts
 * import { subjectKeyIdentifierExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = await crypto.subtle.generateKey(
 *   { name: "ECDSA", namedCurve: "P-256" },
 *   true,
 *   ["sign"],
 * );
 * const exported = await crypto.subtle.exportKey("spki", keys.publicKey);
 * const spki = new Uint8Array(exported);
 * // A P-256 SPKI ends in the 65-byte public point.
 * const hash = await crypto.subtle.digest("SHA-1", spki.slice(-65));
 * const extension = subjectKeyIdentifierExtension(spki);
 * assert.equal(toHex(extension.value), "0414" + toHex(new Uint8Array(hash)));
 * ```
 */
export function subjectKeyIdentifierExtension(spki: Uint8Array): Extension {
  const fail = (reason: string) =>
    invalid(
      `Cannot compute the subject key identifier of SPKI '${
        toHex(spki.subarray(0, 32))
      }${spki.length > 32 ? "..." : ""}': ${reason}. Pass the DER ` +
        "SubjectPublicKeyInfo, such as KMS GetPublicKey returns.",
    );

  let key: Tlv | undefined;
  try {
    const parts = readChildren(readDer(spki, Tag.SEQUENCE));
    if (parts.length === 2 && parts[0]!.tag === Tag.SEQUENCE) key = parts[1];
  } catch (error) {
    throw fail((error as Error).message.replace(/\.$/, ""));
  }
  if (key?.tag !== Tag.BIT_STRING) {
    throw fail(
      "it is not a SEQUENCE of an AlgorithmIdentifier and a BIT STRING",
    );
  }
  if (key.contents.length < 2 || key.contents[0] !== 0) {
    throw fail("its subjectPublicKey is empty or not whole octets");
  }
  return {
    oid: ExtensionOid.subjectKeyIdentifier,
    critical: false,
    value: encodeOctetString(sha1(key.contents.subarray(1))),
  };
}

/**
 * Builds the authorityKeyIdentifier extension with the keyIdentifier
 * field only, non-critical as RFC 5280 section 4.2.1.1 requires. For a
 * self-signed certificate, pass the subject key identifier.
 *
 * ```asn1
 * AuthorityKeyIdentifier ::= SEQUENCE {
 *   keyIdentifier              [0] KeyIdentifier OPTIONAL,
 *   authorityCertIssuer        [1] GeneralNames OPTIONAL,
 *   authorityCertSerialNumber  [2] CertificateSerialNumber OPTIONAL }
 * KeyIdentifier ::= OCTET STRING
 * ```
 *
 * @param keyIdentifier The issuer's key identifier.
 * @returns The extension.
 * @throws {RangeError} When the key identifier is empty.
 *
 * @example
 * ```ts
 * import { authorityKeyIdentifierExtension } from "./extensions.ts";
 * import { toHex } from "./der.ts";
 * import assert from "node:assert/strict";
 *
 * const extension = authorityKeyIdentifierExtension(Uint8Array.of(1, 2, 3));
 * assert.equal(toHex(extension.value), "30058003010203");
 * ```
 */
export function authorityKeyIdentifierExtension(
  keyIdentifier: Uint8Array,
): Extension {
  if (keyIdentifier.length === 0) {
    throw new RangeError("Cannot encode authorityKeyIdentifier: empty key id");
  }
  return {
    oid: ExtensionOid.authorityKeyIdentifier,
    critical: false,
    value: encodeSequence(encodeContext(0, keyIdentifier, false)),
  };
}

// Usages that each key type cannot have, with the reason.
const KEY_TYPE_LIMITS: Record<
  KeyType,
  { name: string; forbidden: KeyUsageName[]; reason: string }
> = {
  RSA: {
    name: "an RSA key",
    forbidden: ["keyAgreement", "encipherOnly", "decipherOnly"],
    reason: "RSA has no key agreement, and encipherOnly and decipherOnly " +
      "apply only to key agreement",
  },
  EC: {
    name: "an EC key",
    forbidden: ["keyEncipherment", "dataEncipherment"],
    reason: "EC keys cannot encrypt; they agree on keys (keyAgreement) " +
      "instead",
  },
  OKP: {
    name: "an Ed25519 (OKP) key",
    forbidden: [
      "keyEncipherment",
      "dataEncipherment",
      "keyAgreement",
      "encipherOnly",
      "decipherOnly",
    ],
    reason: "Ed25519 keys only sign",
  },
  AKP: {
    name: "an ML-DSA (AKP) key",
    forbidden: [
      "keyEncipherment",
      "dataEncipherment",
      "keyAgreement",
      "encipherOnly",
      "decipherOnly",
    ],
    reason: "ML-DSA keys only sign",
  },
};

/**
 * Checks that a key of the given type can do every requested key usage.
 * EC, Ed25519 (OKP) and ML-DSA (AKP) keys cannot encrypt
 * (keyEncipherment, dataEncipherment). RSA, Ed25519 and ML-DSA keys cannot
 * agree on keys (keyAgreement, and so encipherOnly and decipherOnly).
 *
 * @param usages The requested usages.
 * @param keyType The key's JWK `kty`.
 * @throws {KmsToolkitError} `INVALID_INPUT` naming the first usage the key
 * cannot do, the key type and the usages it can do.
 * @throws {TypeError} When the key type is unknown.
 *
 * @example
 * ```ts
 * import { checkKeyUsageForKeyType } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * checkKeyUsageForKeyType(["digitalSignature", "keyEncipherment"], "RSA");
 * assert.throws(() => checkKeyUsageForKeyType(["keyEncipherment"], "EC"));
 * ```
 */
export function checkKeyUsageForKeyType(
  usages: KeyUsageName[],
  keyType: "RSA" | "EC" | "OKP" | "AKP",
): void {
  const limits = KEY_TYPE_LIMITS[keyType];
  if (!limits) throw new TypeError(`Unknown key type '${keyType}'`);
  const bad = usages.find((usage) => limits.forbidden.includes(usage));
  if (bad === undefined) return;

  const allowed = KEY_USAGE_NAMES.filter((usage) =>
    !limits.forbidden.includes(usage)
  );
  throw invalid(
    `Cannot use key usage '${bad}' with ${limits.name}: ${limits.reason}. ` +
      `${limits.name[0]!.toUpperCase()}${limits.name.slice(1)} can have ` +
      `${allowed.join(", ")}.`,
  );
}

/**
 * Decodes DER `Extensions` into their OIDs, criticality and inner DER, for
 * tests and summaries. The values are copies, not views into `der`.
 *
 * @param der The DER `Extensions` (a SEQUENCE OF Extension).
 * @returns The extensions in encoded order.
 * @throws {KmsToolkitError} `INVALID_INPUT` when the bytes are not DER
 * `Extensions`, including an explicit `critical` FALSE, which DER omits.
 *
 * @example
 * ```ts
 * import {
 *   decodeExtensions,
 *   encodeExtensions,
 *   keyUsageExtension,
 * } from "./extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const der = encodeExtensions([keyUsageExtension(["digitalSignature"])]);
 * const [extension] = decodeExtensions(der);
 * assert.equal(extension!.oid, "2.5.29.15");
 * assert.equal(extension!.critical, true);
 * ```
 */
export function decodeExtensions(der: Uint8Array): Extension[] {
  const fail = (reason: string) =>
    invalid(
      `Cannot decode extensions '${toHex(der.subarray(0, 32))}${
        der.length > 32 ? "..." : ""
      }': ${reason}. Pass the DER of an X.509 Extensions SEQUENCE.`,
    );

  let items: Tlv[];
  try {
    items = readChildren(readDer(der, Tag.SEQUENCE));
  } catch (error) {
    throw fail((error as Error).message.replace(/\.$/, ""));
  }
  if (items.length === 0) {
    throw fail("it is empty, but SIZE (1..MAX) needs one extension");
  }

  return items.map((item) => {
    if (item.tag !== Tag.SEQUENCE) throw fail("an Extension is not a SEQUENCE");
    let parts: Tlv[];
    try {
      parts = readChildren(item);
    } catch (error) {
      throw fail((error as Error).message.replace(/\.$/, ""));
    }
    const [id, ...rest] = parts;
    if (id?.tag !== Tag.OBJECT_IDENTIFIER) {
      throw fail("an Extension does not start with an OID");
    }
    const oid = decodeOid(id.contents);
    let critical = false;
    if (rest.length === 2) {
      const flag = rest.shift()!;
      if (flag.tag !== Tag.BOOLEAN || flag.contents.length !== 1) {
        throw fail(`extension ${oid} has a malformed critical flag`);
      }
      if (flag.contents[0] !== 0xff) {
        throw fail(
          `extension ${oid} has critical ${
            flag.contents[0] === 0 ? "FALSE written out" : "not 0xff"
          }, which DER forbids`,
        );
      }
      critical = true;
    }
    const [value] = rest;
    if (rest.length !== 1 || value!.tag !== Tag.OCTET_STRING) {
      throw fail(`extension ${oid} does not end with an OCTET STRING value`);
    }
    return { oid, critical, value: value!.contents.slice() };
  });
}
