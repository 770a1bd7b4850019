/**
 * Defines the attribute and RDN types of a subject, and lists the attribute
 * types that subjects can name: their OIDs, OpenSSL names, value rules and
 * upper bounds, with lookups by name and by OID.
 *
 * @module
 */

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

/** Attribute types by lowercase short or long name. */
export const BY_NAME = new Map<string, SubjectAttribute>();
/** Attribute types by dotted OID. */
export const BY_OID = new Map<string, SubjectAttribute>();
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

/**
 * Attribute names that other tools accept and OpenSSL 3.0 rejects, with the
 * name to use instead.
 */
export const NAME_HINTS: Record<string, string> = {
  e: "emailAddress",
  email: "emailAddress",
  s: "ST",
  sp: "ST",
  state: "ST",
  g: "GN",
  t: "title",
};

/** The short names of all attribute types, comma-separated, for messages. */
export const SUPPORTED_NAMES: string = SUBJECT_ATTRIBUTES
  .map((entry) => entry.shortName).join(", ");
