/**
 * Creates a PKCS#10 certificate signing request for an AWS KMS key: the
 * public key is the KMS key's and KMS makes the signature.
 *
 * @module
 */

import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import { createCsr } from "../lib/csr.ts";
import { createKmsClient } from "../lib/kms_client.ts";
import { KmsKey } from "../lib/kms_key.ts";
import { writeFileAtomic } from "../lib/output_file.ts";
import { encodePem } from "../lib/pem.ts";
import {
  formatSubject,
  parseSubject,
  type Subject,
  subjectFromFields,
} from "../lib/subject.ts";
import {
  LineReader,
  parseFlags,
  parseTimeout,
  printErr,
  printOut,
  runMain,
  usageError,
} from "./_cli.ts";

const USAGE =
  "Usage: kms_generate_csr [--key-id ID] [--subject DN] [--out FILE] " +
  "[--force] [--region REGION] [--profile NAME] [--endpoint-url URL] " +
  "[--timeout SECONDS] [--quiet] [--help]";

const HELP = `Create a certificate signing request (PKCS#10) for a KMS key.

${USAGE}

The request's public key is the KMS key's, and KMS signs it (GetPublicKey,
then Sign with MessageType DIGEST). The signature is verified locally
before anything is written. The PEM is written to --out and printed.

Options:
  --key-id ID          KMS key: key id, key ARN, alias/NAME or alias ARN.
  --subject DN         Subject, OpenSSL form "/C=US/O=Example Corp/CN=svc"
                       or RFC 4514 form "CN=svc,O=Example Corp,C=US"
                       (RFC 4514 lists the last RDN first).
  --out FILE           Output file (default: cert_sign_request.csr).
  --force              Overwrite --out if it exists.
  --region REGION      AWS region (default: AWS_REGION or the profile's).
  --profile NAME       Shared config profile (default: AWS_PROFILE).
  --endpoint-url URL   KMS endpoint (default: AWS_ENDPOINT_URL_KMS,
                       AWS_ENDPOINT_URL, the config file, then AWS's).
  --timeout SECONDS    Timeout of each KMS call, retries included
                       (default: 10).
  --quiet              Print no summary on standard error.
  --help               Show this help.

Without --key-id or --subject the script asks for them: the key id, then
the subject fields in OpenSSL's order. "." or an empty answer leaves a
field out. When standard input is not a terminal, the answers are read
one per line, so 'printf "KEY\\nUS\\n..." | kms_generate_csr' works.

Signing algorithm: RSASSA_PKCS1_V1_5_SHA_256 for RSA keys, ECDSA_SHA_256,
ECDSA_SHA_384 and ECDSA_SHA_512 for P-256, P-384 and P-521 keys.

Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input,
3 key not usable, 4 signature did not verify, 5 output file exists or
cannot be written.
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
  out: { type: "string" },
  force: { type: "boolean" },
  region: { type: "string" },
  profile: { type: "string" },
  "endpoint-url": { type: "string" },
  timeout: { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

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

async function askSubject(lines: LineReader): Promise<Subject> {
  if (lines.interactive) {
    printErr(
      "Enter the subject fields. Enter '.' or nothing to leave a field out.\n",
    );
  }
  const fields = [];
  for (const [shortName, label] of SUBJECT_PROMPTS) {
    const answer = await lines.readLine(`${label} []: `);
    fields.push({ shortName, value: (answer ?? "").trim() });
  }
  return subjectFromFields(fields);
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  const timeoutMs = parseTimeout(flags.timeout, USAGE);
  const outPath = flags.out ?? "cert_sign_request.csr";
  if (outPath === "") usageError("Invalid --out '': expected a path.", USAGE);

  // Parse everything local first, so bad input fails before any KMS call.
  let subject = flags.subject === undefined
    ? undefined
    : parseSubject(flags.subject);
  const client = createKmsClient({
    region: flags.region,
    profile: flags.profile,
    endpointUrl: flags["endpoint-url"],
  });

  const lines = new LineReader();
  const keyId = flags["key-id"] ?? await askKeyId(lines);
  subject ??= await askSubject(lines);
  lines.close();

  // Fetch the public key, choose the algorithm, then build and sign.
  const key = await KmsKey.fetch(client, keyId, {
    timeoutMs,
    profile: flags.profile,
  });
  const algorithm = chooseSigningAlgorithm(key.keySpec, {
    allowed: key.signingAlgorithms,
    purpose: "x509",
    keyId,
  });
  const csr = await createCsr(key, { algorithm, subject: subject.der });
  client.destroy();

  const pem = encodePem("CERTIFICATE REQUEST", csr.der);
  await writeFileAtomic(outPath, new TextEncoder().encode(pem), {
    overwrite: flags.force ?? false,
  });

  printOut(pem);
  if (!flags.quiet) {
    const shown = formatSubject(subject.rdns) || "(empty)";
    printErr(
      `Wrote ${outPath}: subject ${shown}, key ${key.keyArn} ` +
        `(${key.keySpec}), signed with ${algorithm.signingAlgorithm}; the ` +
        "signature was verified against the KMS public key.\n",
    );
  }
}

if (import.meta.main) {
  await runMain(main);
}
