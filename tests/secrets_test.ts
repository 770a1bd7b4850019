/**
 * No secret in any output: the scripts' standard output and error, the
 * files they write, and the local endpoint's request log never contain
 * the secret access key, the session token or private key material.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startLocalKms } from "../lib/local_kms/mod.ts";
import {
  type RunResult,
  runScript,
  taskPermissions,
  tempDir,
} from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const SECRETS = {
  AWS_SECRET_ACCESS_KEY: "SECRETsecretSECRETsecret0123456789abcdef",
  AWS_SESSION_TOKEN: "TOKENtokenTOKENtoken0123456789abcdefTOKEN",
};

/** The members of the endpoint's state file that hold private keys. */
const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "seed"]);

/** Collects every private key value of a parsed state file. */
function privateValues(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) privateValues(item, found);
  } else if (typeof value === "object" && value !== null) {
    for (const [name, member] of Object.entries(value)) {
      if (PRIVATE_MEMBERS.has(name) && typeof member === "string") {
        found.push(member);
      } else {
        privateValues(member, found);
      }
    }
  }
  return found;
}

/** The local endpoint CLI, run as its deno task runs it. */
interface RunningEndpoint {
  url: string;
  /** The lines printed at start: one per created key. */
  created: string;
  /** Stops the endpoint and returns its request log. */
  stop(): Promise<string>;
}

async function startEndpointCli(
  state: string,
  creates: string[],
): Promise<RunningEndpoint> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...taskPermissions("local_kms.ts"),
      `${ROOT}scripts/local_kms.ts`,
      "--port",
      "0",
      "--state",
      state,
      ...creates.flatMap((create) => ["--create", create]),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let match: RegExpExecArray | null = null;
  while (!(match = /^Local KMS listening on (\S+)$/m.exec(stdout))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`local_kms exited: ${stdout}${await log}`);
    stdout += value;
  }
  return {
    url: match[1]!,
    created: stdout,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      while (!(await reader.read()).done);
      return await log;
    },
  };
}

/** Asserts that no secret occurs in a text; `where` names the text. */
function assertNoSecret(
  text: string,
  secrets: string[],
  where: string,
): void {
  for (const secret of secrets) {
    assert.equal(text.includes(secret), false, `${where} contains a secret`);
  }
  assert.doesNotMatch(text, /PRIVATE KEY/, where);
}

Deno.test("scripts and endpoint print no secrets", async () => {
  await using dir = await tempDir();
  const state = `${dir.path}/state.json`;
  const endpoint = await startEndpointCli(state, [
    "ECC_NIST_P256:alias/secrets-ec",
    "RSA_2048:alias/secrets-rsa",
    "ECC_NIST_EDWARDS25519:alias/secrets-ed",
    "ML_DSA_44:alias/secrets-ml",
  ]);
  const url = ["--endpoint-url", endpoint.url];
  const out = (name: string) => `${dir.path}/${name}`;

  const runs: [string, string[], string?][] = [
    ["kms_generate_csr.ts", ["--help"]],
    ["kms_generate_csr.ts", [
      "--key-id",
      "alias/secrets-ec",
      "--subject",
      "/CN=secrets",
      "--out",
      out("ec.csr"),
    ]],
    ["kms_generate_csr.ts", [
      "--key-id",
      "alias/secrets-rsa",
      "--subject",
      "/CN=secrets",
      "--self-signed",
      "--out",
      "-",
    ]],
    ["kms_generate_csr.ts", [
      "--key-id",
      "alias/secrets-ed",
      "--subject",
      "/CN=secrets",
      "--out",
      out("ed.csr"),
      "--json",
    ]],
    ["kms_generate_csr.ts", [
      "--key-id",
      "alias/missing",
      "--subject",
      "/CN=x",
      "--out",
      "-",
    ]],
    ["kms_generate_csr.ts", ["--key-id", "x", "--subject", "/C=bad"]],
    ["kms_public_key_to_jwks.ts", ["--help"]],
    ["kms_public_key_to_jwks.ts", [
      "--key-id",
      "alias/secrets-ec",
      "--key-id",
      "alias/secrets-rsa",
      "--key-id",
      "alias/secrets-ed",
      "--key-id",
      "alias/secrets-ml",
      "--out",
      out("jwks.json"),
    ]],
    ["kms_public_key_to_jwks.ts", [
      "--key-id",
      "alias/secrets-rsa",
      "--format",
      "pem",
    ]],
    ["kms_public_key_to_jwks.ts", ["--key-id", "alias/missing"]],
    ["kms_public_key_to_jwks.ts", ["--key-id", "x", "--format", "xml"]],
    ["kms_sign_jwt.ts", ["--help"]],
    ["kms_sign_jwt.ts", ["--key-id", "alias/secrets-ec", "--iss", "s"]],
    ["kms_sign_jwt.ts", [
      "--key-id",
      "alias/secrets-rsa",
      "--sub",
      "s",
      "--decode",
    ]],
    ["kms_sign_jwt.ts", ["--key-id", "alias/secrets-ml", "--decode"]],
    ["kms_sign_jwt.ts", ["--key-id", "alias/missing", "--decode"]],
    ["kms_sign_jwt.ts", ["--key-id", "x", "--claim", "=v"]],
  ];

  const results: [string, RunResult][] = [];
  try {
    for (const [script, args] of runs) {
      const result = await runScript(script, [...args, ...url], {
        env: SECRETS,
      });
      results.push([`${script} ${args.join(" ")}`, result]);
    }
  } finally {
    // Read the log even when a run throws, so the endpoint always stops.
    results.push(["endpoint log", {
      code: 0,
      stdout: endpoint.created,
      stderr: await endpoint.stop(),
      stdoutBytes: new Uint8Array(),
    }]);
  }

  // The runs covered success and failure of every script.
  const codes = new Set(results.map(([, result]) => result.code));
  assert.deepEqual([...codes].sort(), [0, 1, 2]);
  const keys = privateValues(JSON.parse(await Deno.readTextFile(state)));
  assert.ok(keys.length >= 4, "the state file has private keys");
  const secrets = [...Object.values(SECRETS), ...keys];

  for (const [where, result] of results) {
    assertNoSecret(result.stdout, secrets, `${where}: stdout`);
    assertNoSecret(result.stderr, secrets, `${where}: stderr`);
  }
  for (const name of ["ec.csr", "ed.csr", "jwks.json"]) {
    assertNoSecret(await Deno.readTextFile(out(name)), secrets, name);
  }
  // The log has one line per request, so it saw the runs' requests.
  assert.match(results.at(-1)![1].stderr, /^Sign \S+ OK \d+ms$/m);
});

Deno.test("rejected credentials print no secrets", async () => {
  // An endpoint that checks SigV4 against another secret rejects every
  // request, as KMS does for a wrong secret access key.
  await using kms = await startLocalKms({
    credentials: { accessKeyId: "AKIDLOCALTEST", secretAccessKey: "other" },
  });
  for (
    const [script, args] of [
      ["kms_generate_csr.ts", ["--subject", "/CN=x", "--out", "-"]],
      ["kms_public_key_to_jwks.ts", []],
      ["kms_sign_jwt.ts", ["--decode"]],
    ] as const
  ) {
    const result = await runScript(script, [
      "--key-id",
      "alias/any",
      ...args,
      "--endpoint-url",
      kms.url,
    ], { env: SECRETS });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /KMS rejected the AWS credentials/);
    assertNoSecret(result.stdout, Object.values(SECRETS), `${script} stdout`);
    assertNoSecret(result.stderr, Object.values(SECRETS), `${script} stderr`);
  }
});
