/**
 * Turns the extension choices of a certificate request (names, usages,
 * CA flag) into checked X.509 extensions, in one place for both CSRs and
 * self-signed certificates.
 *
 * @module
 */

import type { KeyType } from "./algorithms.ts";
import { KmsToolkitError } from "./errors.ts";
import {
  basicConstraintsExtension,
  checkKeyUsageForKeyType,
  extendedKeyUsageExtension,
  type Extension,
  type GeneralName,
  keyUsageExtension,
  type KeyUsageName,
  parseExtendedKeyUsage,
  parseKeyUsage,
  parseSubjectAltNames,
  subjectAltNameExtension,
} from "./extensions.ts";

/** Extension choices as a user gives them, before any check. */
export interface ExtensionRequest {
  /** `DNS:`, `IP:`, `email:` and `URI:` entries, each maybe comma-separated. */
  subjectAltNames?: string[];
  /** keyUsage bit names, each maybe comma-separated. */
  keyUsage?: string[];
  /** extKeyUsage names or dotted OIDs, each maybe comma-separated. */
  extendedKeyUsage?: string[];
  /** Whether to request a CA certificate. */
  ca?: boolean;
  /** The CA's path length constraint; only with `ca`. */
  pathLength?: number;
}

/** Extension choices after parsing, ready to encode. */
export interface ParsedExtensionRequest {
  /** The parsed subject alternative names. */
  subjectAltNames: GeneralName[];
  /** The keyUsage bits, or `null` when none were requested. */
  keyUsage: KeyUsageName[] | null;
  /** The extKeyUsage OIDs, or `null` when none were requested. */
  extendedKeyUsage: string[] | null;
  /** Whether a CA was requested. */
  ca: boolean;
  /** The path length constraint, if any. */
  pathLength: number | undefined;
}

/**
 * Parses and checks extension choices without knowing the key, so bad
 * input fails before any KMS call.
 *
 * @param request The choices as given.
 * @returns The parsed choices.
 * @throws {KmsToolkitError} `INVALID_INPUT` when an entry is malformed or
 * a path length comes without a CA.
 *
 * @example
 * ```ts
 * import { parseExtensionRequest } from "./request_extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseExtensionRequest({ subjectAltNames: ["DNS:a.example.com,IP:10.0.0.1"] });
 * assert.equal(parsed.subjectAltNames.length, 2);
 * ```
 */
export function parseExtensionRequest(
  request: ExtensionRequest,
): ParsedExtensionRequest {
  const ca = request.ca ?? false;
  if (request.pathLength !== undefined && !ca) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot use --path-len ${request.pathLength} without --ca: a path ` +
        "length constrains CA certificates only. Add --ca or drop --path-len.",
    );
  }
  const names = request.subjectAltNames ?? [];
  return {
    subjectAltNames: names.length ? parseSubjectAltNames(names) : [],
    keyUsage: request.keyUsage?.length ? parseKeyUsage(request.keyUsage) : null,
    extendedKeyUsage: request.extendedKeyUsage?.length
      ? parseExtendedKeyUsage(request.extendedKeyUsage)
      : null,
    ca,
    pathLength: request.pathLength,
  };
}

/** Options of {@linkcode buildRequestedExtensions}. */
export interface BuildExtensionsOptions {
  /** The key's JWK key type, to reject usages it cannot do. */
  keyType: KeyType;
  /** Whether the subject has no attributes; SANs are then critical. */
  emptySubject: boolean;
  /**
   * Whether the extensions go into a self-signed certificate, which
   * always carries basicConstraints and a keyUsage.
   * @default {false}
   */
  certificate?: boolean;
}

/**
 * Builds the extensions in a fixed order: basicConstraints, keyUsage,
 * extKeyUsage, subjectAltName. A request gets only what was requested. A
 * certificate also gets basicConstraints and a default keyUsage:
 * `keyCertSign`, `cRLSign` and `digitalSignature` for a CA, and
 * `digitalSignature` otherwise.
 *
 * @param parsed The parsed choices.
 * @param options The key type and where the extensions go.
 * @returns The extensions, empty when nothing applies.
 * @throws {KmsToolkitError} `INVALID_INPUT` when a usage does not fit the
 * key type.
 *
 * @example
 * ```ts
 * import { buildRequestedExtensions, parseExtensionRequest } from "./request_extensions.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseExtensionRequest({ keyUsage: ["keyEncipherment"] });
 * assert.throws(() => buildRequestedExtensions(parsed, { keyType: "EC", emptySubject: false }));
 * ```
 */
export function buildRequestedExtensions(
  parsed: ParsedExtensionRequest,
  options: BuildExtensionsOptions,
): Extension[] {
  const certificate = options.certificate ?? false;
  const keyUsage = parsed.keyUsage ??
    (!certificate
      ? null
      : parsed.ca
      ? ["digitalSignature", "keyCertSign", "cRLSign"] as KeyUsageName[]
      : ["digitalSignature"] as KeyUsageName[]);
  if (keyUsage) checkKeyUsageForKeyType(keyUsage, options.keyType);
  if (parsed.ca && keyUsage && !keyUsage.includes("keyCertSign")) {
    throw new KmsToolkitError(
      "INVALID_INPUT",
      `Cannot request a CA with key usage '${keyUsage.join(",")}': a CA ` +
        "needs keyCertSign. Add keyCertSign to --key-usage.",
    );
  }

  const extensions: Extension[] = [];
  if (parsed.ca || certificate) {
    extensions.push(
      basicConstraintsExtension({
        ca: parsed.ca,
        pathLength: parsed.pathLength,
      }),
    );
  }
  if (keyUsage) extensions.push(keyUsageExtension(keyUsage));
  if (parsed.extendedKeyUsage) {
    extensions.push(extendedKeyUsageExtension(parsed.extendedKeyUsage));
  }
  if (parsed.subjectAltNames.length) {
    extensions.push(
      subjectAltNameExtension(parsed.subjectAltNames, {
        critical: options.emptySubject,
      }),
    );
  }
  return extensions;
}
