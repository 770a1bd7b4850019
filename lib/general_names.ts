/**
 * Parses and encodes the GeneralNames of a subjectAltName extension: DNS
 * names, IPv4 and IPv6 addresses, email addresses and URIs (RFC 5280
 * section 4.2.1.6).
 *
 * @module
 */

import { encodeContext, toHex } from "./der.ts";
import { KmsToolkitError } from "./errors.ts";

/** A subject alternative name of one of the four supported kinds. */
export type GeneralName =
  | { type: "dns"; value: string }
  | { type: "ip"; value: string; bytes: Uint8Array }
  | { type: "email"; value: string }
  | { type: "uri"; value: string };

/** Builds an `INVALID_INPUT` error with the given message. */
export function invalid(message: string): KmsToolkitError {
  return new KmsToolkitError("INVALID_INPUT", message);
}

/** A hint with an example of each name type, for error messages. */
export const SAN_FORMS: string =
  "Write each name as DNS:host.example.com, IP:10.0.0.1, " +
  "IP:2001:db8::1, email:user@example.com or URI:https://example.com/";

/** Builds the error for an invalid subject alternative name `entry`. */
export function sanError(
  entry: string,
  reason: string,
  next: string,
): KmsToolkitError {
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

/** Parses one `type:value` name, such as `DNS:host.example.com`. */
export function parseGeneralName(entry: string): GeneralName {
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

/** Returns a comparison key, with DNS names and email domains lowercased. */
export function nameKey(name: GeneralName): string {
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

/** The prefix that each name type takes in text, such as `DNS`. */
export const NAME_PREFIX: Record<GeneralName["type"], string> = {
  dns: "DNS",
  ip: "IP",
  email: "email",
  uri: "URI",
};

/** Encodes a name as the DER of its GeneralName choice. */
export function encodeGeneralName(name: GeneralName): Uint8Array {
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
