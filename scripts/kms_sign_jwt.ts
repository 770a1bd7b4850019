/**
 * Signs a JWT with an AWS KMS key: a `private_key_jwt` client assertion
 * for Okta, a JWT bearer grant assertion for ServiceNow, or any claims.
 *
 * @module
 */

import { KEY_SPECS } from "../lib/algorithms.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { readInputFile } from "../lib/input_file.ts";
import { type JwtPayload, KmsJwtSigner } from "../lib/jwt.ts";
import {
  checkServiceNowAlgorithm,
  clientAssertionClaims,
  DEFAULT_EXPIRES_IN,
  jwtBearerGrantClaims,
  MAX_EXPIRES_IN,
  parseClaimsJson,
  parseClaimValue,
} from "../lib/jwt_claims.ts";
import { kidFor, type KidMode, parseKidMode } from "../lib/kid.ts";
import {
  CONNECTION_FLAGS,
  connectToKms,
  parseFlags,
  parseTimeout,
  printErr,
  printOut,
  runMain,
  usageError,
  useCallerWorkingDirectory,
} from "./_cli.ts";

const USAGE = "Usage: kms_sign_jwt --key-id ID [--preset okta|servicenow] " +
  "[--client-id ID] [--iss ISS] [--sub SUB] [--aud AUD] " +
  "[--expires-in SECONDS] [--claim NAME=VALUE]... [--claims-json FILE] " +
  "[--kid MODE] [--alg ALG] [--region REGION] [--profile NAME] " +
  "[--endpoint-url URL] [--timeout SECONDS] [--decode] [--help]";

const HELP = `Sign a JWT with a KMS key and print it.

${USAGE}

The token is a compact JWS with the header {"alg", "typ": "JWT", "kid"}.
The key is fetched with one GetPublicKey call and the token signed with
one Sign call. --kid takes the modes of kms_public_key_to_jwks, so the
same --kid gives the kid that it publishes for the same key. Every token
gets iat (now), exp (iat + --expires-in) and a random UUID jti.

Presets:
  --preset okta --client-id ID --aud TOKEN_ENDPOINT_URL
      A private_key_jwt client assertion: iss and sub are the client id,
      aud is the token endpoint (https://, or http:// on loopback), and
      exp is at most 3600 s after iat, as Okta requires. Send it as
      client_assertion with client_assertion_type
      urn:ietf:params:oauth:client-assertion-type:jwt-bearer. An --iss
      or --sub other than the client id is sent with a warning, because
      Okta rejects it.
  --preset servicenow --client-id ID --sub USER --kid KID [--aud AUD]
      A JWT bearer grant assertion: iss is the client id, sub the value
      of the provider's User field, aud the client id unless --aud is
      given, and kid the Key Id of the JWT Verifier Map. ServiceNow
      accepts RS256, RS384, RS512, ES256, ES384 and ES512 only.

Claims, each source overriding the ones before it:
  1. iat, exp, jti and what the preset fills in;
  2. the members of --claims-json FILE, a JSON object ("-" reads it from
     standard input);
  3. each --claim NAME=VALUE, where VALUE is parsed as JSON when it
     parses (--claim n=5 is the number 5, --claim 'r=["a","b"]' an
     array) and is a string otherwise (--claim r=admin); quote it as
     JSON to force a string (--claim 'n="5"');
  4. --iss, --sub and --aud.
Numbers that are not finite in JavaScript (1e400) and whole numbers
beyond 9007199254740991 are rejected, because the token would carry
another value. Quote them to send them as strings. exp, nbf and iat must
be numbers of seconds since 1970 (an RFC 7519 NumericDate).

Options:
  --key-id ID           KMS key: key id, key ARN, alias/NAME or alias ARN.
  --preset NAME         okta or servicenow (see above).
  --client-id ID        The OAuth client id, for a preset.
  --iss ISS             The iss claim.
  --sub SUB             The sub claim.
  --aud AUD             The aud claim (for okta, the token endpoint URL).
  --expires-in SECONDS  Seconds from iat to exp (default: ${DEFAULT_EXPIRES_IN};
                        at most ${MAX_EXPIRES_IN} with a preset).
  --claim NAME=VALUE    Add a claim; repeatable.
  --claims-json FILE    Add the claims of a JSON object file.
  --kid MODE            The kid header. thumbprint (default): the RFC
                        7638 SHA-256 thumbprint of the public key.
                        key-id: the KMS key id, taken from the key ARN
                        that KMS returns, so an alias gives its key's id.
                        literal:VALUE, or any other VALUE: VALUE itself,
                        such as a ServiceNow verifier map's Key Id.
  --alg ALG             JWS algorithm, in any case, such as PS256 for an
                        RSA key (default: RS256 for RSA, the curve's for
                        EC keys).
  --region REGION       AWS region (default: AWS_REGION or the profile's).
  --profile NAME        Shared config profile (default: AWS_PROFILE).
  --endpoint-url URL    KMS endpoint (default: AWS_ENDPOINT_URL_KMS,
                        AWS_ENDPOINT_URL, the config file, then AWS's).
  --timeout SECONDS     Timeout of each KMS call, retries included
                        (default: 10).
  --decode              Also print the header and payload as JSON on
                        standard error.
  --help                Show this help.

Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input,
3 key not usable, 4 signature did not verify, 5 output exists or a file
cannot be read or written, 130 interrupted.
`;

const FLAGS = {
  "key-id": { type: "string" },
  preset: { type: "string" },
  "client-id": { type: "string" },
  iss: { type: "string" },
  sub: { type: "string" },
  aud: { type: "string" },
  "expires-in": { type: "string" },
  claim: { type: "string", multiple: true },
  "claims-json": { type: "string" },
  kid: { type: "string" },
  alg: { type: "string" },
  ...CONNECTION_FLAGS,
  decode: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

/** The canonical JWS and KMS algorithm names, by their upper case. */
const ALGORITHM_NAMES = new Map(
  KEY_SPECS.flatMap((spec) => spec.algorithms)
    .flatMap((entry) =>
      entry.jwsAlgorithm ? [entry.jwsAlgorithm, entry.signingAlgorithm] : []
    )
    .map((name) => [name.toUpperCase(), name]),
);

/** Gives the canonical name of --alg, which takes any case. */
function parseAlg(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const name = ALGORITHM_NAMES.get(text.toUpperCase());
  if (name !== undefined) return name;
  usageError(
    `Invalid --alg '${text}': expected one of ${
      [...new Set(ALGORITHM_NAMES.values())]
        .filter((candidate) => !candidate.includes("_")).join(", ")
    }.`,
    USAGE,
  );
}

/** Parses --kid: the modes of the JWKS script, or a bare literal kid. */
function parseKid(text: string | undefined): KidMode {
  try {
    return parseKidMode(text, { bareLiteral: true, label: "--kid" });
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    usageError(error.message, USAGE);
  }
}

function parseExpiresIn(text: string | undefined): number {
  if (text === undefined) return DEFAULT_EXPIRES_IN;
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seconds) || seconds < 1) {
    usageError(
      `Invalid --expires-in '${text}': expected a whole number of seconds, ` +
        "at least 1.",
      USAGE,
    );
  }
  return seconds;
}

function parseClaims(entries: string[] | undefined): JwtPayload {
  const claims: JwtPayload = {};
  for (const entry of entries ?? []) {
    const equals = entry.indexOf("=");
    const name = equals < 0 ? "" : entry.slice(0, equals);
    if (name.trim() === "") {
      usageError(
        `Invalid --claim '${entry}': expected NAME=VALUE with a non-empty ` +
          "NAME, such as --claim scope=admin.",
        USAGE,
      );
    }
    if (Object.hasOwn(claims, name)) {
      usageError(
        `Invalid --claim '${entry}': claim '${name}' is already set by an ` +
          "earlier --claim. Pass each claim once.",
        USAGE,
      );
    }
    try {
      claims[name] = parseClaimValue(name, entry.slice(equals + 1), {
        source: "--claim",
      });
    } catch (error) {
      if (!(error instanceof KmsToolkitError)) throw error;
      usageError(error.message, USAGE);
    }
  }
  return claims;
}

async function readClaimsFile(path: string | undefined): Promise<JwtPayload> {
  if (path === undefined) return {};
  let text: string;
  if (path === "-") {
    text = await new Response(Deno.stdin.readable).text();
  } else {
    const bytes = await readInputFile("--claims-json", path);
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (cause) {
      throw new KmsToolkitError(
        "INVALID_INPUT",
        `Cannot read --claims-json '${path}': it is not UTF-8 text. Save ` +
          "the claims as a UTF-8 JSON file.",
        { cause },
      );
    }
  }
  return parseClaimsJson(text, { source: `--claims-json '${path}'` });
}

/** Checks the flags that need no file or KMS call. */
function checkFlagCombination(
  flags: Flags,
): { alg: string | undefined; kid: KidMode } {
  const preset = flags.preset;
  if (preset !== undefined && preset !== "okta" && preset !== "servicenow") {
    usageError(
      `Invalid --preset '${preset}': expected okta or servicenow.`,
      USAGE,
    );
  }
  if (flags["client-id"] !== undefined && preset === undefined) {
    usageError(
      "Invalid --client-id without --preset: pass --preset okta or " +
        "--preset servicenow, or set --iss and --sub directly.",
      USAGE,
    );
  }
  if (preset !== undefined && !flags["client-id"]) {
    usageError(`Missing --client-id for --preset ${preset}.`, USAGE);
  }
  if (preset === "okta" && !flags.aud) {
    usageError(
      "Missing --aud for --preset okta: pass the token endpoint URL, such " +
        "as https://example.okta.com/oauth2/v1/token.",
      USAGE,
    );
  }
  if (preset === "servicenow" && !flags.sub) {
    usageError(
      "Missing --sub for --preset servicenow: pass the value of the " +
        "provider's User field for the user, such as an email address.",
      USAGE,
    );
  }
  if (preset === "servicenow" && flags.kid === undefined) {
    usageError(
      "Missing --kid for --preset servicenow: ServiceNow finds the JWT " +
        "Verifier Map by the token's kid. Pass that map's Key Id.",
      USAGE,
    );
  }
  const alg = parseAlg(flags.alg);
  if (preset === "servicenow" && alg !== undefined) {
    try {
      checkServiceNowAlgorithm(alg, flags["key-id"]);
    } catch (error) {
      if (!(error instanceof KmsToolkitError)) throw error;
      usageError(`Invalid --alg '${flags.alg}': ${error.message}`, USAGE);
    }
  }
  return { alg, kid: parseKid(flags.kid) };
}

/** Runs a claims builder, turning its error into a usage error. */
function presetClaims(preset: string, build: () => JwtPayload): JwtPayload {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof KmsToolkitError)) throw error;
    usageError(`Invalid flags for --preset ${preset}: ${error.message}`, USAGE);
  }
}

async function buildClaims(flags: Flags): Promise<JwtPayload> {
  const expiresIn = parseExpiresIn(flags["expires-in"]);
  let claims: JwtPayload;
  if (flags.preset === "okta") {
    claims = presetClaims("okta", () =>
      clientAssertionClaims({
        clientId: flags["client-id"]!,
        tokenEndpoint: flags.aud!,
        expiresIn,
      }));
  } else if (flags.preset === "servicenow") {
    claims = presetClaims("servicenow", () =>
      jwtBearerGrantClaims({
        clientId: flags["client-id"]!,
        subject: flags.sub!,
        audience: flags.aud,
        expiresIn,
      }));
  } else {
    const iat = Math.floor(Date.now() / 1000);
    claims = { iat, exp: iat + expiresIn, jti: crypto.randomUUID() };
  }

  const command = parseClaims(flags.claim);
  Object.assign(claims, await readClaimsFile(flags["claims-json"]), command);
  for (const name of ["iss", "sub", "aud"] as const) {
    if (flags[name] !== undefined) claims[name] = flags[name];
  }

  if (flags.preset === "okta") {
    const lifetime = Number(claims.exp) - Number(claims.iat);
    if (!(lifetime <= MAX_EXPIRES_IN)) {
      usageError(
        `Invalid exp '${String(claims.exp)}' for --preset okta: it is ` +
          `${lifetime} s after iat '${
            String(claims.iat)
          }', and Okta rejects client assertions whose exp is more than ` +
          `${MAX_EXPIRES_IN} s in the future. Remove the exp or iat claim ` +
          "override.",
        USAGE,
      );
    }
    const clientId = flags["client-id"]!;
    if (claims.iss !== clientId || claims.sub !== clientId) {
      printErr(
        `warning: --preset okta with iss '${String(claims.iss)}' and sub ` +
          `'${String(claims.sub)}': Okta will reject the assertion, which ` +
          `must have the client id '${clientId}' as both iss and sub ` +
          "(RFC 7523 section 3). Remove the iss or sub override.\n",
      );
    }
  }
  return claims;
}

function decodePart(part: string | undefined): unknown {
  return JSON.parse(
    new TextDecoder().decode(
      Uint8Array.fromBase64(part ?? "", { alphabet: "base64url" }),
    ),
  );
}

async function main(): Promise<void> {
  useCallerWorkingDirectory();
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  const keyId = flags["key-id"];
  if (!keyId) usageError("Missing --key-id.", USAGE);
  const { alg, kid } = checkFlagCombination(flags);
  const timeoutMs = parseTimeout(flags.timeout, USAGE);
  const claims = await buildClaims(flags);

  const { client, KmsKey } = await connectToKms(flags);
  try {
    const key = await KmsKey.fetch(client, keyId, {
      timeoutMs,
      profile: flags.profile,
    });
    const signer = await KmsJwtSigner.fromSigningKey(key, {
      alg,
      kid: kidFor(kid, key),
      allowedSigningAlgorithms: key.signingAlgorithms,
    });
    if (flags.preset === "servicenow") {
      checkServiceNowAlgorithm(signer.alg, keyId);
    }
    const token = await signer.sign(claims);
    printOut(`${token}\n`);
    if (flags.decode) {
      const [header, payload] = token.split(".");
      const decoded = {
        header: decodePart(header),
        payload: decodePart(payload),
      };
      printErr(`${JSON.stringify(decoded, null, 2)}\n`);
    }
  } finally {
    client.destroy();
  }
}

if (import.meta.main) {
  await runMain(main);
}
