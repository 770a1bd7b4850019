/**
 * Runs the local KMS endpoint: an HTTP server on loopback that speaks the
 * AWS KMS JSON protocol, for tests and demos without AWS.
 *
 * @module
 */

import { KmsToolkitError } from "../lib/errors.ts";
import { type FaultOptions, startLocalKms } from "../lib/local_kms/mod.ts";
import {
  ExitCode,
  parseFlags,
  printErr,
  printOut,
  usageError,
} from "./_cli.ts";

const DEFAULT_PORT = 8081;

const USAGE =
  "Usage: local_kms [--port N] [--hostname HOST] [--region REGION] " +
  "[--account-id ID] [--state FILE] [--create SPEC[:alias/NAME]]... " +
  "[--quiet] [fault flags] [--help]";

const HELP = `Run a local endpoint that speaks the AWS KMS JSON protocol.

${USAGE}

Point an SDK or a script at it with --endpoint-url http://HOST:PORT and
any credentials. It creates real keys and really signs with them: RSA,
ECC (NIST, secp256k1, Ed25519), SM2 and ML-DSA; it also makes symmetric
and HMAC keys, which cannot sign. Serves CreateKey, DescribeKey,
GetPublicKey, Sign, Verify, ListKeys, ListAliases, CreateAlias,
DeleteAlias, DisableKey, EnableKey, ScheduleKeyDeletion and
CancelKeyDeletion.

FOR TESTING ONLY. The --state file contains the PRIVATE key material of
every key in plain JSON (mode 0600). Never keep keys there that protect
anything.

Options:
  --port N                Port to listen on; 0 picks a free one
                          (default: ${DEFAULT_PORT}).
  --hostname HOST         Loopback address to bind: 127.0.0.1, another
                          127.x.y.z, ::1 or localhost (default: 127.0.0.1).
  --region REGION         Region of ARNs; SigV4 scopes must name it
                          (default: us-east-1).
  --account-id ID         Account id of ARNs (default: 111122223333).
  --state FILE            Load keys from FILE if it exists and save them
                          there after every change. Its folder must exist
                          and be writable.
  --create SPEC[:alias/NAME]
                          Create a key of that key spec at start-up (with
                          an alias) and print its id and ARN. SIGN_VERIFY,
                          or ENCRYPT_DECRYPT for SYMMETRIC_DEFAULT and
                          GENERATE_VERIFY_MAC for HMAC. Repeatable. An
                          alias that exists already (from --state) is
                          reused if its key has that spec and usage, and
                          printed as "Using existing"; else it exits 2.
  --quiet                 Do not log requests to standard error.
  --help                  Show this help.

Faults, for testing how clients cope:
  --delay-ms N            Wait N milliseconds before every answer.
  --throttle-first N      Answer the first N requests with
                          ThrottlingException (400).
  --fail-first N          Answer the next N requests with
                          KMSInternalException (500).
  --wrong-public-key      GetPublicKey returns another key's public key.
  --garbage-signature     Sign returns random bytes.
  --truncate-response     Send half of each response, then hang up.
  --refuse-connections    Read each request, then hang up without an answer.

With --state it first prints how many keys and aliases it loaded, on
standard error. Once listening it prints "Local KMS listening on URL" on
standard output (after the keys of --create), then one line per request
on standard error: operation, key id, outcome (OK or the error type) and
duration. SIGINT or SIGTERM stops it.

Exit codes: 0 stopped by a signal, 2 invalid flags, 5 state file or port
unusable.
`;

const FLAGS = {
  port: { type: "string" },
  hostname: { type: "string" },
  region: { type: "string" },
  "account-id": { type: "string" },
  state: { type: "string" },
  create: { type: "string", multiple: true },
  quiet: { type: "boolean" },
  "delay-ms": { type: "string" },
  "throttle-first": { type: "string" },
  "fail-first": { type: "string" },
  "wrong-public-key": { type: "boolean" },
  "garbage-signature": { type: "boolean" },
  "truncate-response": { type: "boolean" },
  "refuse-connections": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function wholeNumber(
  flag: string,
  text: string | undefined,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > max) {
    usageError(
      `Invalid --${flag} '${text}': expected a whole number from 0 to ${max}.`,
      USAGE,
    );
  }
  return Number(text);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${
    count === 1 ? "" : noun.endsWith("s") ? "es" : "s"
  }`;
}

function parseCreate(text: string): { keySpec: string; alias?: string } {
  const colon = text.indexOf(":");
  const keySpec = colon < 0 ? text : text.slice(0, colon);
  const alias = colon < 0 ? undefined : text.slice(colon + 1);
  if (!/^[A-Z0-9_]+$/.test(keySpec)) {
    usageError(
      `Invalid --create '${text}': expected a key spec such as ECC_NIST_P256, ` +
        "optionally followed by :alias/NAME.",
      USAGE,
    );
  }
  if (alias !== undefined && !alias.startsWith("alias/")) {
    usageError(
      `Invalid --create '${text}': the alias must start with 'alias/'.`,
      USAGE,
    );
  }
  return alias === undefined ? { keySpec } : { keySpec, alias };
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args, FLAGS, USAGE);
  if (flags.help) {
    printOut(HELP);
    return;
  }
  const port = wholeNumber("port", flags.port, 65535) ?? DEFAULT_PORT;
  const faults: FaultOptions = {
    delayMs: wholeNumber("delay-ms", flags["delay-ms"], 600_000),
    throttleFirst: wholeNumber("throttle-first", flags["throttle-first"], 1e9),
    failFirst: wholeNumber("fail-first", flags["fail-first"], 1e9),
    wrongPublicKey: flags["wrong-public-key"],
    garbageSignature: flags["garbage-signature"],
    truncateResponse: flags["truncate-response"],
    refuseConnections: flags["refuse-connections"],
  };
  const creates = (flags.create ?? []).map(parseCreate);
  if (flags.state === "") {
    usageError("Invalid --state '': expected a file path.", USAGE);
  }

  const kms = await startLocalKms({
    hostname: flags.hostname,
    port,
    region: flags.region,
    accountId: flags["account-id"],
    statePath: flags.state,
    faults,
    log: flags.quiet ? undefined : (line) => printErr(`${line}\n`),
  });

  let stopping: Promise<void> | undefined;
  const stopped = Promise.withResolvers<void>();
  const stop = () => {
    stopping ??= kms.close().then(() => {
      printErr("Local KMS stopped.\n");
      stopped.resolve();
    });
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  if (flags.state && kms.loaded) {
    const { found, keys, aliases } = kms.loaded;
    const counts = `${plural(keys, "key")} and ${plural(aliases, "alias")}`;
    printErr(
      found
        ? `Loaded ${counts} from state file '${flags.state}'.\n`
        : `Loaded ${counts}: state file '${flags.state}' does not exist ` +
          "yet; it is written at the first change.\n",
    );
  }

  try {
    for (const { keySpec, alias } of creates) {
      // With an alias, a restart on the same state reuses the key.
      const key = await kms.createKey(keySpec, { alias, reuseAlias: true });
      printOut(
        `${key.created ? "Created" : "Using existing"} ${keySpec} key ` +
          `${key.keyId} ${key.arn}${alias ? ` ${alias}` : ""}\n`,
      );
      if (key.keyState !== "Enabled") {
        printErr(
          `warning: key ${key.keyId} of ${alias} is ${key.keyState}; ` +
            "requests that use it fail until EnableKey or " +
            "CancelKeyDeletion.\n",
        );
      }
    }
  } catch (error) {
    await kms.close();
    throw error;
  }
  printOut(`Local KMS listening on ${kms.url}\n`);
  await stopped.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

try {
  await main();
} catch (error) {
  if (error instanceof KmsToolkitError) {
    printErr(`error: ${error.message}\n`);
    Deno.exit(
      error.code === "USAGE" || error.code === "INVALID_INPUT"
        ? ExitCode.USAGE
        : ExitCode.OUTPUT,
    );
  }
  printErr(
    "error: unexpected failure; this is a bug in kms-toolkit.\n" +
      `${error instanceof Error ? error.stack : String(error)}\n`,
  );
  Deno.exit(ExitCode.INTERNAL);
}
