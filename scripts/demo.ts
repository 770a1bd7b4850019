/**
 * Runs the toolkit's main job end to end without AWS. It starts the local
 * KMS endpoint and creates an RSA and an EC key. Then it makes a CSR and a
 * JWKS for each with the real scripts and shows that OpenSSL accepts the
 * CSRs.
 *
 * @module
 */

import {
  CreateAliasCommand,
  CreateKeyCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { startLocalKms } from "../lib/local_kms/mod.ts";
import { printErr, printOut, runMain } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SUBJECT =
  "/C=US/ST=California/L=Zürich/O=Example Corp/CN=svc.example.com/emailAddress=ops@example.com";
const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIDLOCALDEMO",
  AWS_SECRET_ACCESS_KEY: "local-demo-secret",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};
const KEYS = [
  { keySpec: "RSA_2048", alias: "alias/demo-rsa" },
  { keySpec: "ECC_NIST_P256", alias: "alias/demo-ec" },
] as const;

async function run(command: string, args: string[], env = {}) {
  const output = await new Deno.Command(command, {
    args,
    env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${stderr}`);
  }
  return { stdout, stderr };
}

/** Runs a deno.json task, so the demo uses the tasks' own permissions. */
function denoTask(name: string, args: string[]) {
  return ["task", "--quiet", name, ...args];
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg)
    ? arg
    : `'${arg.replaceAll("'", "'\\''")}'`;
}

async function main(): Promise<void> {
  await using kms = await startLocalKms();
  printOut(
    `Local KMS endpoint: ${kms.url} (keys live in memory only)\n` +
      `The commands below run with AWS_ENDPOINT_URL_KMS=${kms.url} and ` +
      "dummy credentials.\n",
  );

  const client = new KMSClient({
    endpoint: kms.url,
    region: CREDENTIALS.AWS_REGION,
    credentials: {
      accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY,
    },
  });
  const folder = await Deno.makeTempDir({ prefix: "kms-toolkit-demo-" });
  const env = { ...CREDENTIALS, AWS_ENDPOINT_URL_KMS: kms.url };

  for (const { keySpec, alias } of KEYS) {
    const created = await client.send(
      new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: "SIGN_VERIFY" }),
    );
    const keyId = created.KeyMetadata!.KeyId!;
    await client.send(
      new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }),
    );
    printOut(`\n== ${keySpec} key ${keyId} (${alias})\n`);

    const csrPath = `${folder}/${keySpec.toLowerCase()}.csr`;
    const csrArgs = ["--key-id", alias, "--subject", SUBJECT, "--out", csrPath];
    printOut(`$ deno task csr ${csrArgs.map(quote).join(" ")}\n`);
    const csr = await run(Deno.execPath(), denoTask("csr", csrArgs), env);
    printErr(csr.stderr);

    printOut(`$ openssl req -in ${csrPath} -verify -noout -subject\n`);
    const openssl = await run("openssl", [
      "req",
      "-in",
      csrPath,
      "-verify",
      "-noout",
      "-subject",
      "-nameopt",
      "utf8",
    ]);
    printOut(openssl.stdout + openssl.stderr);

    printOut(`$ deno task jwks --key-id ${alias}\n`);
    const jwks = await run(
      Deno.execPath(),
      denoTask("jwks", ["--key-id", alias]),
      env,
    );
    printOut(jwks.stdout);
  }

  client.destroy();
  printOut(`\nThe CSRs are in ${folder}.\n`);
}

if (import.meta.main) {
  await runMain(main);
}
