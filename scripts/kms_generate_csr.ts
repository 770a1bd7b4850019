/**
 * Creates a PKCS#10 certificate signing request, or a self-signed
 * certificate, for an AWS KMS key: the public key is the KMS key's and KMS
 * makes the signature.
 *
 * @module
 */

import {
  chooseSigningAlgorithm,
  keySpecEntry,
  type SigningAlgorithmEntry,
} from "../lib/algorithms.ts";
import { createSelfSignedCertificate } from "../lib/certificate.ts";
import { createCsr, parseCsr } from "../lib/csr.ts";
import { toHex } from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { encodeExtensions, type GeneralName } from "../lib/extensions.ts";
import type { KmsKey } from "../lib/kms_key.ts";
import { writeFileAtomic } from "../lib/output_file.ts";
import { encodePem, readPemOrDer } from "../lib/pem.ts";
import {
  buildRequestedExtensions,
  type ParsedExtensionRequest,
  parseExtensionRequest,
} from "../lib/request_extensions.ts";
import {
  decodeName,
  formatSubject,
  parseSubject,
  subjectFromFields,
} from "../lib/subject.ts";
import {
  CONNECTION_FLAGS,
  connectToKms,
  LineReader,
  parseFlags,
  parseTimeout,
  printErr,
  printOut,
  runMain,
  usageError,
  useCallerWorkingDirectory,
  writeOut,
} from "./_cli.ts";

const USAGE = "Usage: kms_generate_csr [--key-id ID] [--subject DN] " +
  "[--san NAME]... [--key-usage U] [--ext-key-usage U] [--ca [--path-len N]] " +
  "[--signing-algorithm ALG] [--from-csr FILE] [--self-signed [--days N]] " +
  "[--out FILE|-] [--der] [--force] [--json] [--quiet] [--region REGION] " +
  "[--profile NAME] [--endpoint-url URL] [--timeout SECONDS] [--help]";

const HELP = `Create a certificate signing request (PKCS#10), or a self-signed
certificate, for a KMS key.

${USAGE}

The public key is the KMS key's, and KMS signs (GetPublicKey, then one
Sign). The signature is verified locally before anything is written.

Key and signing:
  --key-id ID            KMS key: key id, key ARN, alias/NAME or alias ARN.
  --signing-algorithm A  KMS name or JWS name (RSASSA_PSS_SHA_256 or PS256).
                         Defaults: RSASSA_PKCS1_V1_5_SHA_256 for RSA,
                         ECDSA_SHA_256/384/512 for P-256/P-384/P-521 and
                         secp256k1, ED25519_SHA_512 for Ed25519,
                         ML_DSA_SHAKE_256 for ML-DSA.

Request contents:
  --subject DN           OpenSSL form "/C=US/O=Example Corp/CN=svc" (RDNs in
                         order, "+" joins a multi-valued RDN, "\\" escapes)
                         or RFC 4514 form "CN=svc,O=Example Corp,C=US"
                         (last RDN first). C is two letters; emailAddress
                         and DC are ASCII; other values may be any UTF-8.
  --san NAME             Subject alternative name: DNS:host (wildcards
                         allowed as *.example.com), IP:192.0.2.1, IP:2001:db8::1,
                         email:ops@example.com, URI:https://example.com/id.
                         Repeatable, or comma-separated.
  --key-usage U          keyUsage bits, comma-separated: digitalSignature,
                         nonRepudiation, keyEncipherment, dataEncipherment,
                         keyAgreement, keyCertSign, cRLSign.
  --ext-key-usage U      extKeyUsage, comma-separated: serverAuth,
                         clientAuth, codeSigning, emailProtection,
                         timeStamping, OCSPSigning, or a dotted OID.
  --ca                   Request a CA (critical basicConstraints cA TRUE).
  --path-len N           The CA's pathLenConstraint (with --ca).
  --from-csr FILE        Re-sign an existing CSR (PEM or DER) made by any
                         tool: its subject and attributes are kept byte for
                         byte, its public key is replaced by the KMS key's.
                         Takes no subject or extension flags.

Self-signed certificate:
  --self-signed          Write an X.509 v3 certificate instead of a CSR:
                         issuer = subject, random 128-bit serial, key
                         identifiers, basicConstraints, the requested SANs
                         and usages (keyUsage digitalSignature by default).
  --days N               Validity in days (default: 365).

Output:
  --out FILE             Output file (default: cert_sign_request.csr, or
                         certificate.pem with --self-signed). "-" writes to
                         standard output only.
  --der                  Write DER instead of PEM.
  --force                Overwrite --out if it exists.
  --json                 Print a JSON summary on standard output instead of
                         the PEM.
  --quiet                Print no summary on standard error.

Connection:
  --region REGION        AWS region (default: AWS_REGION or the profile's).
  --profile NAME         Shared config profile (default: AWS_PROFILE).
  --endpoint-url URL     KMS endpoint (default: AWS_ENDPOINT_URL_KMS,
                         AWS_ENDPOINT_URL, the config file, then AWS's).
  --timeout SECONDS      Timeout of each KMS call, retries included
                         (default: 10).
  --help                 Show this help.

Without --key-id or --subject the script asks for them: the key id, then
the subject fields in OpenSSL's order. "." or an empty answer leaves a
field out. When standard input is not a terminal, the answers are read
one per line, so 'printf "KEY\\nUS\\n..." | kms_generate_csr' works.

Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input,
3 key not usable, 4 signature did not verify, 5 output file exists or a
file cannot be read or written, 130 interrupted.
`;

/** Subject fields asked for, in OpenSSL's order, with its labels. */
const SUBJECT_PROMPTS = [
  ["C", "Country Name (2 letter code)"],
  ["ST", "State or Province Name (full name)"],
  ["L", "Locality Name (eg, city)"],
  ["O", "Organization Name (eg, company)"],
  ["OU", "Organizational Unit Name (eg, section)"],
  ["CN", "Common Name (eg, fully qualified host name)"],
  ["emailAddress", "Email Address"],
] as const;

const FLAGS = {
  "key-id": { type: "string" },
  subject: { type: "string" },
  san: { type: "string", multiple: true },
  "key-usage": { type: "string", multiple: true },
  "ext-key-usage": { type: "string", multiple: true },
  ca: { type: "boolean" },
  "path-len": { type: "string" },
  "signing-algorithm": { type: "string" },
  "from-csr": { type: "string" },
  "self-signed": { type: "boolean" },
  days: { type: "string" },
  out: { type: "string" },
  der: { type: "boolean" },
  force: { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  ...CONNECTION_FLAGS,
  help: { type: "boolean", short: "h" },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

/** Flags that describe request contents, which --from-csr supplies. */
const CONTENT_FLAGS = [
  "subject",
  "san",
  "key-usage",
  "ext-key-usage",
  "ca",
  "path-len",
  "self-signed",
  "days",
] as const;

function parseInteger(flag: string, text: string, min: number, max: number) {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    usageError(
      `Invalid --${flag} '${text}': expected a whole number from ${min} to ${max}.`,
      USAGE,
    );
  }
  return value;
}

function checkCombinations(flags: Flags): void {
  if (flags["from-csr"] !== undefined) {
    const given = CONTENT_FLAGS.filter((flag) => flags[flag] !== undefined);
    if (given.length) {
      usageError(
        `Cannot combine --from-csr with ${
          given.map((f) => `--${f}`).join(", ")
        }: ` +
          "the subject and attributes come from the existing CSR.",
        USAGE,
      );
    }
  }
  if (flags.days !== undefined && !flags["self-signed"]) {
    usageError("--days applies only with --self-signed.", USAGE);
  }
  if (flags.json && flags.out === "-") {
    usageError(
      "Cannot combine --json with --out -: both write to standard output.",
      USAGE,
    );
  }
  if (flags.out === "") usageError("Invalid --out '': expected a path.", USAGE);
  if (flags.der && flags.out === "-" && Deno.stdout.isTerminal()) {
    usageError(
      "Cannot write DER to a terminal: pass --out FILE or redirect " +
        "standard output to a file.",
      USAGE,
    );
  }
}

/** The request contents: the subject and, for a re-signed CSR, its attributes. */
interface RequestInput {
  subject: Uint8Array;
  attributes?: Uint8Array[];
  extensions: ParsedExtensionRequest | null;
}

async function readFromCsr(path: string): Promise<RequestInput> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (cause) {
    const detail = cause instanceof Deno.errors.NotFound
      ? "the file does not exist"
      : String((cause as Error).message).replace(/\.$/, "");
    throw new KmsToolkitError(
      "IO_FAILED",
      `Cannot read --from-csr '${path}': ${detail}. Check the path.`,
      { cause },
    );
  }
  const parsed = parseCsr(
    readPemOrDer(bytes, "CERTIFICATE REQUEST", path),
    path,
  );
  return {
    subject: parsed.subject,
    attributes: parsed.attributes,
    extensions: null,
  };
}

async function askKeyId(lines: LineReader): Promise<string> {
  const answer = (await lines.readLine("KMS key id (key id, ARN or alias): "))
    ?.trim();
  if (!answer) {
    usageError(
      "Missing KMS key id: pass --key-id or answer the prompt.",
      USAGE,
    );
  }
  return answer;
}

async function askSubject(lines: LineReader): Promise<Uint8Array> {
  if (lines.interactive) {
    printErr(
      "Enter the subject fields. Enter '.' or nothing to leave a field out.\n",
    );
  }
  const fields = [];
  for (const [shortName, label] of SUBJECT_PROMPTS) {
    fields.push({ shortName, value: await askField(lines, shortName, label) });
  }
  return subjectFromFields(fields).der;
}

/**
 * Asks for one subject field. On a terminal an invalid answer shows the
 * error and the prompt again, as OpenSSL does. Piped input is checked
 * once every field is read, so a bad value ends the run.
 */
async function askField(
  lines: LineReader,
  shortName: string,
  label: string,
): Promise<string> {
  for (;;) {
    const value = ((await lines.readLine(`${label} []: `)) ?? "").trim();
    if (!lines.interactive) return value;
    try {
      subjectFromFields([{ shortName, value }]);
      return value;
    } catch (error) {
      if (!(error instanceof KmsToolkitError)) throw error;
      printErr(`error: ${error.message}\n`);
    }
  }
}

/**
 * Rejects an empty subject without subject alternative names: RFC 5280
 * allows an empty subject only with a subjectAltName, which is then
 * critical.
 */
function requireSubjectOrSan(
  subject: Uint8Array,
  extensions: ParsedExtensionRequest,
  given: string | undefined,
): void {
  if (decodeName(subject).length > 0) return;
  if (extensions.subjectAltNames.length > 0) return;
  const rule = "RFC 5280 allows an empty subject only with a " +
    "subjectAltName";
  throw new KmsToolkitError(
    "INVALID_INPUT",
    given === undefined
      ? `Invalid subject: every field was left out, and ${rule}. Answer at ` +
        "least one field, such as the Common Name, or pass --subject or " +
        "--san."
      : `Invalid --subject '${given}': the subject is empty, and ${rule}. ` +
        "Pass at least one attribute, such as --subject " +
        '"/CN=svc.example.com", or add --san.',
  );
}

function describeName(name: GeneralName): string {
  const prefix =
    { dns: "DNS", ip: "IP", email: "email", uri: "URI" }[name.type];
  return `${prefix}:${name.value}`;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())),
  );
}

/** Signs the request or certificate and returns its DER. */
async function sign(
  key: KmsKey,
  algorithm: SigningAlgorithmEntry,
  input: RequestInput,
  flags: Flags,
) {
  const emptySubject = decodeName(input.subject).length === 0;
  const keyType = keySpecEntry(key.keySpec, key.keyId).keyType;
  const extensions = input.extensions
    ? buildRequestedExtensions(input.extensions, {
      keyType,
      emptySubject,
      certificate: flags["self-signed"],
    })
    : [];

  if (flags["self-signed"]) {
    const days = flags.days === undefined
      ? 365
      : parseInteger("days", flags.days, 1, 36_500);
    const certificate = await createSelfSignedCertificate(key, {
      algorithm,
      subject: input.subject,
      extensions,
      days,
    });
    return {
      der: certificate.der,
      label: "CERTIFICATE",
      details: {
        serialNumber: toHex(certificate.serialNumber),
        notBefore: certificate.notBefore.toISOString(),
        notAfter: certificate.notAfter.toISOString(),
      },
    };
  }

  const csr = await createCsr(key, {
    algorithm,
    subject: input.subject,
    attributes: input.attributes,
    extensions: extensions.length ? encodeExtensions(extensions) : undefined,
  });
  return { der: csr.der, label: "CERTIFICATE REQUEST", details: {} };
}

async function main(): Promise<void> {
  useCallerWorkingDirectory();
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  checkCombinations(flags);
  const timeoutMs = parseTimeout(flags.timeout, USAGE);
  const outPath = flags.out ??
    (flags["self-signed"] ? "certificate.pem" : "cert_sign_request.csr");

  // Parse everything local first, so bad input fails before any KMS call.
  const pathLength = flags["path-len"] === undefined
    ? undefined
    : parseInteger("path-len", flags["path-len"], 0, 255);
  const extensions = parseExtensionRequest({
    subjectAltNames: flags.san,
    keyUsage: flags["key-usage"],
    extendedKeyUsage: flags["ext-key-usage"],
    ca: flags.ca,
    pathLength,
  });
  if (flags.days !== undefined) parseInteger("days", flags.days, 1, 36_500);
  let input: RequestInput | undefined;
  if (flags["from-csr"] !== undefined) {
    input = await readFromCsr(flags["from-csr"]);
  } else if (flags.subject !== undefined) {
    input = { subject: parseSubject(flags.subject).der, extensions };
    requireSubjectOrSan(input.subject, extensions, flags.subject);
  }
  const { client, KmsKey } = await connectToKms(flags);

  const lines = new LineReader();
  const keyId = flags["key-id"] ?? await askKeyId(lines);
  if (input === undefined) {
    input = { subject: await askSubject(lines), extensions };
    requireSubjectOrSan(input.subject, extensions, undefined);
  }
  lines.close();

  // Fetch the public key and choose the algorithm before any Sign call.
  const key = await KmsKey.fetch(client, keyId, {
    timeoutMs,
    profile: flags.profile,
  });
  const algorithm = chooseSigningAlgorithm(key.keySpec, {
    requested: flags["signing-algorithm"],
    allowed: key.signingAlgorithms,
    purpose: "x509",
    keyId,
  });
  const signed = await sign(key, algorithm, input, flags);
  client.destroy();

  // Write the file atomically, then print.
  const pem = encodePem(signed.label, signed.der);
  const bytes = flags.der ? signed.der : new TextEncoder().encode(pem);
  if (outPath === "-") {
    if (flags.der) writeOut(bytes);
    else printOut(pem);
  } else {
    await writeFileAtomic(outPath, bytes, { overwrite: flags.force ?? false });
  }

  const subject = formatSubject(decodeName(input.subject));
  const names = input.extensions?.subjectAltNames.map(describeName) ?? [];
  const kind = flags["self-signed"]
    ? "certificate"
    : "certificate signing request";
  if (flags.json) {
    const summary = {
      path: outPath === "-" ? null : outPath,
      type: flags["self-signed"] ? "certificate" : "csr",
      encoding: flags.der ? "der" : "pem",
      subject,
      subjectAltNames: names,
      keyId,
      keyArn: key.keyArn,
      keySpec: key.keySpec,
      signingAlgorithm: algorithm.signingAlgorithm,
      publicKeySha256: await sha256Hex(key.publicKey),
      ...signed.details,
    };
    printOut(`${JSON.stringify(summary, null, 2)}\n`);
  } else if (outPath !== "-" && !flags.der) {
    printOut(pem);
  }

  if (!flags.quiet) {
    const where = outPath === "-" ? "standard output" : outPath;
    printErr(
      `Wrote a ${kind} to ${where}: subject ${subject}` +
        `${names.length ? `, SANs ${names.join(", ")}` : ""}; key ` +
        `${key.keyArn} (${key.keySpec}), signed with ` +
        `${algorithm.signingAlgorithm} and verified against the KMS public ` +
        "key.\n",
    );
  }
}

if (import.meta.main) {
  await runMain(main);
}
