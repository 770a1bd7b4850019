/**
 * Exports the public keys of AWS KMS signing keys as a JSON Web Key Set, a
 * single JWK, or SPKI PEM or DER. Identity providers (Okta, ServiceNow)
 * verify `private_key_jwt` client assertions with such a set. For a key
 * rotation, the script adds keys to an existing set.
 *
 * @module
 */

import { chooseSigningAlgorithm } from "../lib/algorithms.ts";
import {
  certificateMembers,
  type ChainCertificate,
  checkLeafKey,
  parseCertificateChain,
} from "../lib/certificate_chain.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { readInputFile } from "../lib/input_file.ts";
import { type PublicJwk, publicJwkFor } from "../lib/jwk.ts";
import { formatJwks, type Jwks, mergeJwks, parseJwks } from "../lib/jwks.ts";
import { kidFor, type KidMode, parseKidMode } from "../lib/kid.ts";
import type { KmsKey } from "../lib/kms_key.ts";
import { writeFileAtomic } from "../lib/output_file.ts";
import { encodePem } from "../lib/pem.ts";
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

const USAGE = "Usage: kms_public_key_to_jwks [--key-id ID]... " +
  "[--format jwks|jwk|pem|der] [--alg ALG]... [--kid MODE] " +
  "[--use sig|none] [--key-ops verify] [--cert FILE]... [--merge FILE] " +
  "[--target okta|servicenow|generic] [--out FILE] [--force] [--compact] " +
  "[--quiet] [--region REGION] [--profile NAME] [--endpoint-url URL] " +
  "[--timeout SECONDS] [--help]";

const HELP =
  `Export the public keys of KMS signing keys as a JSON Web Key Set (JWKS),
a single JWK, or SPKI PEM or DER.

${USAGE}

Identity providers such as Okta and ServiceNow verify private_key_jwt
client assertions with a registered JWKS. Each key is fetched with one
GetPublicKey call; nothing is signed. To rotate a key, publish the old
and the new key together (--merge or two --key-id), switch the signer to
the new key, then remove the old one.

Keys:
  --key-id ID          KMS key: key id, key ARN, alias/NAME or alias ARN.
                       Repeat it for several keys, which the set lists in
                       that order. Naming one key twice is an error (an
                       alias and its key id are the same key). Without
                       --key-id, one key id is read from a prompt (one
                       line of standard input when it is not a terminal).

JWK members (--format jwks and jwk only):
  --alg ALG            JWS algorithm, in any case (a KMS SigningAlgorithm
                       name works too). Default: RS256 for RSA keys; ES256, ES384 and
                       ES512 for P-256, P-384 and P-521; ES256K for
                       secp256k1; EdDSA for Ed25519; ML-DSA-44, ML-DSA-65
                       and ML-DSA-87 for ML-DSA. RSA keys also take RS384,
                       RS512, PS256, PS384 and PS512; other keys only their
                       default. The key's SigningAlgorithms must include
                       it. Give it once for all keys, or once per key in
                       key order.
  --kid MODE           thumbprint (default): the RFC 7638 SHA-256
                       thumbprint, the same for the same key on every run.
                       key-id: the KMS key id, taken from the key ARN that
                       KMS returns, so an alias gives its key's id and no
                       account number is published. literal:VALUE: VALUE
                       itself, for a single key only.
  --use sig|none       The "use" member: sig (default), or none to leave
                       it out.
  --key-ops verify     Add "key_ops": ["verify"] (default: no key_ops).
                       RFC 7517 advises against "use" and "key_ops" in one
                       key; add --use none to drop "use".
  --cert FILE          Certificate for the key: PEM CERTIFICATE blocks,
                       leaf first then each issuer, or one DER
                       certificate. Adds "x5c" (standard base64 DER, in
                       file order) and "x5t#S256" (base64url SHA-256 of the
                       leaf). The leaf must certify the KMS key's public
                       key. Give it once per key, in key order (default:
                       no certificate members).
  --merge FILE         Add the keys to the JWKS in FILE (--format jwks
                       only). The keys of FILE come first and stay as they
                       are, unknown members included, then the new keys
                       follow. A new key that FILE has with the same kid
                       and members is skipped with a note. A kid that FILE
                       has for other key material, or for the same key
                       with other members, is an error (default: a new set
                       of the given keys only).
  --target NAME        generic (default): no warnings, because what other
                       verifiers accept varies. okta, servicenow:
                       warn on standard error for keys other than RSA and
                       EC P-256, P-384 and P-521, the key types that Okta
                       and ServiceNow accept; servicenow also warns for
                       PS256, PS384 and PS512, which its JWT documentation
                       does not list.

Output:
  --format FORMAT      jwks (default): {"keys": [...]}. jwk: the JWK
                       object of one key. pem: SPKI PEM as \`openssl pkey
                       -pubin -pubout\` writes it, one block per key. der:
                       the SPKI DER of one key, to --out or to a standard
                       output that is not a terminal.
  --out FILE           Write to FILE (default: standard output). The file
                       appears whole or not at all; an existing file is
                       kept unless --force is given.
  --force              Overwrite --out (default: an existing --out is an
                       error). Needed when --out is the --merge file.
  --compact            JSON on one line (default: indented by two spaces).
                       JSON output always ends with a newline.
  --quiet              Print no summary or notes on standard error
                       (default: a summary after writing --out, and notes
                       on skipped keys). Warnings and errors are still
                       printed.

Connection:
  --region REGION      AWS region (default: AWS_REGION or the profile's).
  --profile NAME       Shared config profile (default: AWS_PROFILE).
  --endpoint-url URL   KMS endpoint (default: AWS_ENDPOINT_URL_KMS,
                       AWS_ENDPOINT_URL, the config file, then AWS's).
  --timeout SECONDS    Timeout of each KMS call, retries included
                       (default: 10).
  --help               Show this help.

Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input,
3 key not usable (not a signing key, SM2, or an --alg it cannot use),
4 signature did not verify, 5 output exists or a file cannot be read or
written, 130 interrupted.
`;

const FLAGS = {
  "key-id": { type: "string", multiple: true },
  alg: { type: "string", multiple: true },
  kid: { type: "string" },
  use: { type: "string" },
  "key-ops": { type: "string" },
  cert: { type: "string", multiple: true },
  merge: { type: "string" },
  target: { type: "string" },
  format: { type: "string" },
  out: { type: "string" },
  force: { type: "boolean" },
  compact: { type: "boolean" },
  quiet: { type: "boolean" },
  ...CONNECTION_FLAGS,
  help: { type: "boolean", short: "h" },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

const FORMATS = ["jwks", "jwk", "pem", "der"] as const;
const TARGETS = ["generic", "okta", "servicenow"] as const;
const USES = ["sig", "none"] as const;

/** Flags that only change JWK members, so only JSON formats take them. */
const JWK_FLAGS = ["alg", "kid", "use", "key-ops", "cert", "compact"] as const;

/** The checked command line. */
interface Options {
  keyIds: string[];
  format: typeof FORMATS[number];
  algs: string[];
  kid: KidMode;
  use: "sig" | null;
  keyOps: string[] | undefined;
  certPaths: string[];
  mergePath: string | undefined;
  target: typeof TARGETS[number];
  outPath: string | undefined;
  force: boolean;
  compact: boolean;
  quiet: boolean;
  timeoutMs: number | undefined;
}

function choice<T extends string>(
  flag: string,
  value: string | undefined,
  choices: readonly T[],
): T {
  const chosen = value ?? choices[0]!;
  if ((choices as readonly string[]).includes(chosen)) return chosen as T;
  usageError(
    `Invalid ${flag} '${value}': expected ${choices.join(", ")}.`,
    USAGE,
  );
}

function parseKid(text: string | undefined): KidMode {
  try {
    return parseKidMode(text, { label: "--kid" });
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    usageError(error.message, USAGE);
  }
}

/** Checks the flags that need no file, prompt or KMS call. */
function parseOptions(flags: Flags): Options {
  const format = choice("--format", flags.format, FORMATS);
  const json = format === "jwks" || format === "jwk";
  for (const name of JWK_FLAGS) {
    if (flags[name] !== undefined && !json) {
      usageError(
        `Invalid --${name} with --format ${format}: it sets JWK members, ` +
          "so it applies only to --format jwks or jwk.",
        USAGE,
      );
    }
  }
  if (flags.merge !== undefined && format !== "jwks") {
    usageError(
      `Invalid --merge with --format ${format}: a merge writes a whole ` +
        "JWKS. Use --format jwks.",
      USAGE,
    );
  }
  if (flags.out === "") usageError("Invalid --out '': expected a path.", USAGE);
  if (flags.force && flags.out === undefined) {
    usageError("Invalid --force without --out: it overwrites --out.", USAGE);
  }
  if (
    format === "der" && flags.out === undefined && Deno.stdout.isTerminal()
  ) {
    usageError(
      "Cannot write DER to a terminal: pass --out FILE or redirect " +
        "standard output to a file.",
      USAGE,
    );
  }
  const keyOps = flags["key-ops"];
  if (keyOps !== undefined && keyOps !== "verify") {
    usageError(
      `Invalid --key-ops '${keyOps}': a public signing key can only ` +
        "verify. Pass --key-ops verify.",
      USAGE,
    );
  }

  const keyIds = flags["key-id"] ?? [];
  for (const keyId of keyIds) {
    if (keyId.trim() === "") {
      usageError(
        "Invalid --key-id '': expected a key id, ARN or alias.",
        USAGE,
      );
    }
  }
  const options: Options = {
    keyIds: keyIds.map((keyId) => keyId.trim()),
    format,
    algs: flags.alg ?? [],
    kid: parseKid(flags.kid),
    use: choice("--use", flags.use, USES) === "sig" ? "sig" : null,
    keyOps: keyOps === undefined ? undefined : [keyOps],
    certPaths: flags.cert ?? [],
    mergePath: flags.merge,
    target: choice("--target", flags.target, TARGETS),
    outPath: flags.out,
    force: flags.force ?? false,
    compact: flags.compact ?? false,
    quiet: flags.quiet ?? false,
    timeoutMs: parseTimeout(flags.timeout, USAGE),
  };
  // Without --key-id the prompt reads one key.
  checkKeyCount(options, Math.max(keyIds.length, 1));
  return options;
}

function times(count: number): string {
  return count === 1 ? "once" : `${count} times`;
}

function keysText(count: number): string {
  return count === 1 ? "1 key" : `${count} keys`;
}

/** Checks the flags whose meaning depends on the number of keys. */
function checkKeyCount(options: Options, count: number): void {
  const single = options.format === "jwk" || options.format === "der";
  if (count > 1 && single) {
    usageError(
      `Invalid --format ${options.format} with ${count} keys: it contains ` +
        "one key. Use --format jwks or pem, or pass one --key-id.",
      USAGE,
    );
  }
  if (count > 1 && options.kid.kind === "literal") {
    usageError(
      `Invalid --kid literal:${options.kid.value} with ${count} keys: ` +
        "each key needs its own kid. Use --kid thumbprint or key-id, or " +
        "pass one --key-id.",
      USAGE,
    );
  }
  const algs = options.algs.length;
  if (algs > 1 && algs !== count) {
    usageError(
      `Invalid --alg given ${times(algs)} for ${keysText(count)}: give it ` +
        "once for all keys, or once per key in key order.",
      USAGE,
    );
  }
  const certs = options.certPaths.length;
  if (certs > 0 && certs !== count) {
    usageError(
      `Invalid --cert given ${times(certs)} for ${keysText(count)}: give ` +
        "it once per key, in key order.",
      USAGE,
    );
  }
}

/** Tells whether two paths name the same file; false if one is missing. */
async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [first, second] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
    return first.ino !== null && first.dev === second.dev &&
      first.ino === second.ino;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Files read before any KMS call, so that bad input costs no call. */
interface LocalInputs {
  chains: { path: string; chain: ChainCertificate[] }[];
  merge: { path: string; jwks: Jwks } | undefined;
}

async function readLocalInputs(options: Options): Promise<LocalInputs> {
  const { outPath, mergePath } = options;
  if (outPath !== undefined) {
    const state = await Deno.permissions.query({
      name: "write",
      path: outPath,
    });
    if (state.state !== "granted") {
      throw new KmsToolkitError(
        "PERMISSION_DENIED",
        `Cannot write --out '${outPath}': this run has no write permission ` +
          "for it. Add --allow-write to the deno run flags.",
      );
    }
  }

  let merge: LocalInputs["merge"];
  if (mergePath !== undefined) {
    if (
      outPath !== undefined && !options.force &&
      await sameFile(outPath, mergePath)
    ) {
      throw new KmsToolkitError(
        "OUTPUT_EXISTS",
        `Cannot write '${outPath}': it is the --merge file. Pass --force to ` +
          "replace it with the merged set, or choose another --out.",
      );
    }
    const bytes = await readInputFile("--merge", mergePath);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (cause) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot read JWKS '${mergePath}': it is not UTF-8 text. Pass a ` +
          'JSON file of the form {"keys": [...]}.',
        { cause },
      );
    }
    merge = { path: mergePath, jwks: parseJwks(text, { source: mergePath }) };
  }

  const chains = [];
  for (const path of options.certPaths) {
    const bytes = await readInputFile("--cert", path);
    chains.push({
      path,
      chain: parseCertificateChain(bytes, { source: path }),
    });
  }
  return { chains, merge };
}

async function readKeyIds(options: Options): Promise<string[]> {
  if (options.keyIds.length > 0) return options.keyIds;
  const lines = new LineReader();
  const answer = (await lines.readLine("KMS key id (key id, ARN or alias): "))
    ?.trim();
  lines.close();
  if (!answer) {
    usageError(
      "Missing KMS key id: pass --key-id or answer the prompt.",
      USAGE,
    );
  }
  return [answer];
}

async function fetchKeys(
  flags: Flags,
  options: Options,
  keyIds: string[],
): Promise<KmsKey[]> {
  const { client, KmsKey } = await connectToKms(flags);
  const keys: KmsKey[] = [];
  try {
    // Fetch in parallel, then report in key order.
    const fetched = await Promise.allSettled(
      keyIds.map((keyId) =>
        KmsKey.fetch(client, keyId, {
          timeoutMs: options.timeoutMs,
          profile: flags.profile,
        })
      ),
    );
    for (const [index, result] of fetched.entries()) {
      if (result.status === "rejected") throw result.reason;
      const keyId = keyIds[index]!;
      const key = result.value;
      const earlier = keys.find((other) => other.keyArn === key.keyArn);
      if (earlier) {
        throw new KmsToolkitError(
          "USAGE",
          `Invalid --key-id '${keyId}': it names the same KMS key as ` +
            `--key-id '${earlier.keyId}' (${key.keyArn}). Pass each key once.`,
        );
      }
      keys.push(key);
    }
  } finally {
    client.destroy();
  }
  return keys;
}

function dateOnly(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Warns about a leaf outside its validity period, which IdPs may reject. */
function validityWarning(path: string, leaf: ChainCertificate): string | null {
  const now = new Date();
  if (leaf.notAfter < now) {
    return `warning: the leaf certificate in '${path}' expired on ` +
      `${dateOnly(leaf.notAfter)}.`;
  }
  if (leaf.notBefore > now) {
    return `warning: the leaf certificate in '${path}' is not valid before ` +
      `${dateOnly(leaf.notBefore)}.`;
  }
  return null;
}

async function buildJwks(
  options: Options,
  keys: KmsKey[],
  inputs: LocalInputs,
  warnings: string[],
): Promise<PublicJwk[]> {
  const jwks: PublicJwk[] = [];
  for (const [index, key] of keys.entries()) {
    const entry = chooseSigningAlgorithm(key.keySpec, {
      requested: options.algs.length === 1
        ? options.algs[0]
        : options.algs[index],
      allowed: key.signingAlgorithms,
      purpose: "jwk",
      keyId: key.keyId,
    });
    const jwk = await publicJwkFor(key.publicKey, {
      alg: entry.jwsAlgorithm!,
      use: options.use,
      keyOps: options.keyOps,
      kid: kidFor(options.kid, key),
      allowedSigningAlgorithms: key.signingAlgorithms,
    });

    const certificate = inputs.chains[index];
    if (certificate) {
      await checkLeafKey(certificate.chain, key.publicKey, {
        source: certificate.path,
        keyName: `KMS key '${key.keyId}'`,
      });
      Object.assign(jwk, await certificateMembers(certificate.chain));
      const warning = validityWarning(certificate.path, certificate.chain[0]!);
      if (warning) warnings.push(warning);
    }

    const clash = jwks.findIndex((other) => other.kid === jwk.kid);
    if (clash >= 0) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot list KMS keys '${keys[clash]!.keyId}' and '${key.keyId}' ` +
          `in one JWKS: both have kid '${jwk.kid}', so they have the same ` +
          "public key. Pass one of them.",
      );
    }
    jwks.push(jwk);
  }
  return jwks;
}

const TARGET_NAMES = { okta: "Okta", servicenow: "ServiceNow" } as const;

/** Key specs that Okta and ServiceNow accept for JWT signatures. */
const IDP_KEY_SPECS = /^(RSA_\d+|ECC_NIST_P(256|384|521))$/;

function targetWarnings(
  options: Options,
  keys: KmsKey[],
  jwks: PublicJwk[],
): string[] {
  if (options.target === "generic") return [];
  const name = TARGET_NAMES[options.target];
  const warnings = [];
  for (const [index, key] of keys.entries()) {
    if (!IDP_KEY_SPECS.test(key.keySpec)) {
      warnings.push(
        `warning: ${name} accepts only RSA and EC P-256, P-384 and P-521 ` +
          `keys, and KMS key '${key.keyId}' is ${key.keySpec}. Use an ` +
          "RSA_* or ECC_NIST_P* key for it.",
      );
    }
    const alg = jwks[index]?.alg;
    if (options.target === "servicenow" && /^PS/.test(String(alg))) {
      warnings.push(
        `warning: ServiceNow lists RS256, RS384, RS512, ES256, ES384 and ` +
          `ES512 for JWTs, not ${alg} (KMS key '${key.keyId}'). Pass ` +
          "--alg RS256 unless the instance is known to accept it.",
      );
    }
  }
  return warnings;
}

interface Output {
  bytes: Uint8Array;
  notes: string[];
  /** The number of keys of a merged set. */
  setSize?: number;
}

async function render(
  options: Options,
  keys: KmsKey[],
  jwks: PublicJwk[],
  inputs: LocalInputs,
): Promise<Output> {
  const encoder = new TextEncoder();
  const compact = { compact: options.compact };
  switch (options.format) {
    case "pem":
      return {
        bytes: encoder.encode(
          keys.map((key) => encodePem("PUBLIC KEY", key.publicKey)).join(""),
        ),
        notes: [],
      };
    case "der":
      return { bytes: keys[0]!.publicKey, notes: [] };
    case "jwk":
      return {
        bytes: encoder.encode(formatJwks(jwks[0]!, compact)),
        notes: [],
      };
    case "jwks":
      break;
  }
  if (inputs.merge === undefined) {
    return {
      bytes: encoder.encode(formatJwks({ keys: jwks }, compact)),
      notes: [],
    };
  }

  const { path, jwks: existing } = inputs.merge;
  const merged = await mergeJwks(existing, jwks, { source: path });
  const keyOf = (jwk: PublicJwk) => keys[jwks.indexOf(jwk)]!.keyId;
  const notes = [
    ...merged.skipped.map((jwk) =>
      `note: '${path}' already has kid '${jwk.kid}' for KMS key ` +
      `'${keyOf(jwk)}' with the same members; it is not added again.`
    ),
    ...merged.alsoPublishedAs.map(({ jwk, kid }) =>
      `note: '${path}' already has the key of KMS key '${keyOf(jwk)}' ` +
      `under kid '${kid}'; it is added with kid '${jwk.kid}' as well.`
    ),
  ];
  return {
    bytes: encoder.encode(formatJwks(merged.jwks, compact)),
    notes,
    setSize: merged.jwks.keys.length,
  };
}

function summary(
  options: Options,
  keys: KmsKey[],
  jwks: PublicJwk[],
  setSize: number | undefined,
): string {
  const described = keys.map((key, index) => {
    const jwk = jwks[index];
    const members = jwk ? `kid '${jwk.kid}', alg ${jwk.alg}, ` : "";
    return `${members}KMS key '${key.keyId}' (${key.keySpec})`;
  });
  const size = setSize === undefined ? "" : `, ${keysText(setSize)} in all`;
  return `Wrote ${options.outPath} (--format ${options.format}${size}): ` +
    `${described.join("; ")}.\n`;
}

async function main(): Promise<void> {
  useCallerWorkingDirectory();
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  const options = parseOptions(flags);
  const inputs = await readLocalInputs(options);
  const keyIds = await readKeyIds(options);
  checkKeyCount(options, keyIds.length);

  const keys = await fetchKeys(flags, options, keyIds);
  const warnings: string[] = [];
  const json = options.format === "jwks" || options.format === "jwk";
  const jwks = json ? await buildJwks(options, keys, inputs, warnings) : [];
  warnings.push(...targetWarnings(options, keys, jwks));
  const output = await render(options, keys, jwks, inputs);

  if (options.outPath !== undefined) {
    await writeFileAtomic(options.outPath, output.bytes, {
      overwrite: options.force,
    });
  } else {
    writeOut(output.bytes);
  }
  for (const warning of warnings) printErr(`${warning}\n`);
  if (!options.quiet) {
    for (const note of output.notes) printErr(`${note}\n`);
    if (options.outPath !== undefined) {
      printErr(summary(options, keys, jwks, output.setSize));
    }
  }
}

if (import.meta.main) {
  await runMain(main);
}
