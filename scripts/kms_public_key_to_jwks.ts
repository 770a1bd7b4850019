/**
 * Prints the public key of an AWS KMS key as a JSON Web Key Set, for
 * identity providers that accept `private_key_jwt` client authentication.
 *
 * @module
 */

import { publicJwkFor } from "../lib/jwk.ts";
import { createKmsClient } from "../lib/kms_client.ts";
import { KmsKey } from "../lib/kms_key.ts";
import {
  LineReader,
  parseFlags,
  parseTimeout,
  printOut,
  runMain,
  usageError,
} from "./_cli.ts";

const USAGE = "Usage: kms_public_key_to_jwks [--key-id ID] [--region REGION] " +
  "[--profile NAME] [--endpoint-url URL] [--timeout SECONDS] [--help]";

const HELP = `Print the public key of a KMS key as a JSON Web Key Set.

${USAGE}

The key is fetched with one GetPublicKey call. The JWK has "use": "sig",
an "alg" that follows the key (RS256 for RSA, ES256, ES384 and ES512 for
P-256, P-384 and P-521), and a "kid" that is the key's RFC 7638 SHA-256
thumbprint, so the same key always gets the same kid.

Options:
  --key-id ID          KMS key: key id, key ARN, alias/NAME or alias ARN.
                       Without it, the key id is read from a prompt (one
                       line of standard input when it is not a terminal).
  --region REGION      AWS region (default: AWS_REGION or the profile's).
  --profile NAME       Shared config profile (default: AWS_PROFILE).
  --endpoint-url URL   KMS endpoint (default: AWS_ENDPOINT_URL_KMS,
                       AWS_ENDPOINT_URL, the config file, then AWS's).
  --timeout SECONDS    Timeout of the KMS call, retries included
                       (default: 10).
  --help               Show this help.

Exit codes: 0 success, 1 KMS call failed, 2 invalid flags or input,
3 key not usable.
`;

const FLAGS = {
  "key-id": { type: "string" },
  region: { type: "string" },
  profile: { type: "string" },
  "endpoint-url": { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  const timeoutMs = parseTimeout(flags.timeout, USAGE);
  const client = createKmsClient({
    region: flags.region,
    profile: flags.profile,
    endpointUrl: flags["endpoint-url"],
  });

  let keyId = flags["key-id"];
  if (keyId === undefined) {
    const lines = new LineReader();
    keyId = (await lines.readLine("KMS key id (key id, ARN or alias): "))
      ?.trim();
    lines.close();
  }
  if (!keyId) {
    usageError(
      "Missing KMS key id: pass --key-id or answer the prompt.",
      USAGE,
    );
  }

  const key = await KmsKey.fetch(client, keyId, {
    timeoutMs,
    profile: flags.profile,
  });
  client.destroy();
  const jwk = await publicJwkFor(key.publicKey, {
    allowedSigningAlgorithms: key.signingAlgorithms,
  });

  printOut(`${JSON.stringify({ keys: [jwk] }, null, 2)}\n`);
}

if (import.meta.main) {
  await runMain(main);
}
