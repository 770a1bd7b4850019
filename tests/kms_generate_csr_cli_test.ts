/**
 * The CSR script as a new user meets it: prompts on a terminal, `deno
 * task` from another folder, empty subjects, missing files, the help and
 * the messages of common mistakes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startEndpoint } from "./_endpoint.ts";
import {
  openssl,
  runCommand,
  runScript,
  taskPermissions,
  tempDir,
} from "./_helpers.ts";
import { runOnTerminal, type TerminalStep } from "./_terminal.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SCRIPT = "kms_generate_csr.ts";

/** Returns the arguments that run the script as its task does. */
function scriptCommand(args: string[]): string[] {
  return [
    "run",
    "--quiet",
    "--no-prompt",
    ...taskPermissions(SCRIPT),
    `${ROOT}scripts/${SCRIPT}`,
    ...args,
  ];
}

/** Returns steps that type the key id, then the subject fields in order. */
function promptSteps(keyId: string, fields: string[]): TerminalStep[] {
  const labels = [
    "Country Name (2 letter code) []: ",
    "State or Province Name (full name) []: ",
    "Locality Name (eg, city) []: ",
    "Organization Name (eg, company) []: ",
    "Organizational Unit Name (eg, section) []: ",
    "Common Name (eg, fully qualified host name) []: ",
    "Email Address []: ",
  ];
  return [
    { prompt: "KMS key id (key id, ARN or alias): ", answer: keyId },
    ...labels.map((prompt, i) => ({ prompt, answer: fields[i] ?? "" })),
  ];
}

/** Reads the subject of a CSR file in RFC 2253 form through OpenSSL. */
async function csrSubject(path: string): Promise<string> {
  const result = await openssl([
    "req",
    "-in",
    path,
    "-noout",
    "-subject",
    "-nameopt",
    "RFC2253",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

Deno.test("csr prompts exit on terminal", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const out = `${dir.path}/terminal.csr`;

  const result = await runOnTerminal(
    Deno.execPath(),
    scriptCommand(["--endpoint-url", endpoint.kms.url, "--out", out]),
    {
      steps: promptSteps(key.keyId, [
        "US",
        "",
        ".",
        "Example Corp",
        "",
        "svc.example.com",
        "",
      ]),
    },
  );

  assert.equal(result.missedPrompt, null, result.output);
  assert.equal(result.exited, true, result.output);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /Wrote a certificate signing request to /);
  assert.equal(
    await csrSubject(out),
    "subject=CN=svc.example.com,O=Example Corp,C=US",
  );
});

Deno.test("csr asks again on terminal", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const out = `${dir.path}/again.csr`;
  const country = "Country Name (2 letter code) []: ";
  const email = "Email Address []: ";
  const fields = promptSteps(key.keyId, ["US", "", "", "", "", "svc"]);
  // After an error, the same field is asked for again.
  const steps = [
    fields[0]!,
    { prompt: country, answer: "USA" },
    ...fields.slice(1, -1),
    { prompt: email, answer: "jörg@example.com" },
    { prompt: email, answer: "ops@example.com" },
  ];

  const result = await runOnTerminal(
    Deno.execPath(),
    scriptCommand(["--endpoint-url", endpoint.kms.url, "--out", out]),
    { steps },
  );

  assert.equal(result.missedPrompt, null, result.output);
  assert.equal(result.exited, true, result.output);
  assert.equal(result.code, 0, result.output);
  const errors = result.output.split("\n").filter((line) =>
    line.startsWith("error: ")
  );
  assert.equal(errors.length, 2, result.output);
  assert.match(errors[0]!, /'C=USA'/);
  assert.match(errors[1]!, /jörg@example\.com/);
  assert.equal(result.output.split(country).length, 3);
  assert.equal(
    await csrSubject(out),
    "subject=emailAddress=ops@example.com,CN=svc,C=US",
  );
});

Deno.test("csr piped bad answer fails", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const before = endpoint.kms.calls.length;

  const result = await runScript(SCRIPT, [
    "--endpoint-url",
    endpoint.kms.url,
    "--out",
    `${dir.path}/piped.csr`,
  ], { stdin: `${key.keyId}\nUSA\nUS\n\n\n\n\nsvc\n\n` });

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /^error: .*'C=USA'/);
  assert.equal(endpoint.kms.calls.length, before);
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("csr rejects DER on terminal", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const args = [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=der.example.com",
    "--der",
    "--out",
    "-",
    "--endpoint-url",
    endpoint.kms.url,
  ];

  const before = endpoint.kms.calls.length;
  const terminal = await runOnTerminal(Deno.execPath(), scriptCommand(args), {
    steps: [],
  });
  assert.equal(terminal.exited, true, terminal.output);
  assert.equal(terminal.code, 2, terminal.output);
  assert.match(
    terminal.output,
    /^error: Cannot write DER to a terminal: pass --out FILE or redirect/,
  );
  assert.equal(endpoint.kms.calls.length, before);

  // To a pipe, the same flags write the DER.
  const piped = await runScript(SCRIPT, args);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdoutBytes[0], 0x30);
  await Deno.writeFile(`${dir.path}/der.csr`, piped.stdoutBytes);
  const verified = await openssl([
    "req",
    "-inform",
    "DER",
    "-in",
    `${dir.path}/der.csr`,
    "-noout",
    "-verify",
  ]);
  assert.equal(verified.code, 0, verified.stderr);
});

Deno.test("csr rejects empty subject", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const flagMessage =
    /^error: Invalid --subject '\/?': the subject is empty, and RFC 5280 allows an empty subject only with a subjectAltName\. Pass at least one attribute, such as --subject "\/CN=svc\.example\.com", or add --san\.\n$/;
  const promptMessage =
    /^error: Invalid subject: every field was left out, and RFC 5280 allows an empty subject only with a subjectAltName\. Answer at least one field, such as the Common Name, or pass --subject or --san\.\n$/;
  const cases = [
    { name: "empty flag", args: ["--subject", ""], message: flagMessage },
    { name: "slash flag", args: ["--subject", "/"], message: flagMessage },
    {
      name: "self-signed",
      args: ["--subject", "/", "--self-signed"],
      message: flagMessage,
    },
    {
      name: "answers end early",
      args: [],
      stdin: `${key.keyId}\n`,
      message: promptMessage,
    },
    {
      name: "answers all empty",
      args: ["--self-signed"],
      stdin: `${key.keyId}\n.\n\n.\n\n\n.\n\n`,
      message: promptMessage,
    },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const before = endpoint.kms.calls.length;
      const keyArgs = testCase.stdin ? [] : ["--key-id", key.keyId];
      const result = await runScript(SCRIPT, [
        ...keyArgs,
        ...testCase.args,
        "--out",
        `${dir.path}/empty.pem`,
        "--endpoint-url",
        endpoint.kms.url,
      ], { stdin: testCase.stdin });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, testCase.message);
      assert.equal(result.stdout, "");
      assert.equal(endpoint.kms.calls.length, before);
      assert.deepEqual([...Deno.readDirSync(dir.path)], []);
    });
  }
});

Deno.test("csr allows empty subject with SAN", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  for (const kind of ["csr", "certificate"]) {
    await t.step(kind, async () => {
      const out = `${dir.path}/${kind}.pem`;
      const result = await runScript(SCRIPT, [
        "--key-id",
        key.keyId,
        "--subject",
        "",
        "--san",
        "DNS:only-san.example.com",
        ...(kind === "certificate" ? ["--self-signed"] : []),
        "--out",
        out,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const text = await openssl([
        kind === "csr" ? "req" : "x509",
        "-in",
        out,
        "-noout",
        "-text",
      ]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /X509v3 Subject Alternative Name: critical\s+DNS:only-san\.example\.com/,
      );
    });
  }
});

Deno.test("csr task uses caller folder", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const caller = await Deno.realPath(dir.path);
  const name = `caller_${crypto.randomUUID()}.csr`;
  const task = (args: string[]) =>
    runCommand(Deno.execPath(), [
      "task",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      "csr",
      "--key-id",
      key.keyId,
      "--endpoint-url",
      endpoint.kms.url,
      ...args,
    ], { cwd: caller, env: { INIT_CWD: null } });

  const defaultOut = `${ROOT}cert_sign_request.csr`;
  const hadDefault = await Deno.stat(defaultOut).then(() => true, () => false);
  try {
    const written = await task(["--subject", "/CN=caller", "--out", name]);
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stderr, new RegExp(`request to ${name}: subject`));
    assert.equal(await csrSubject(`${caller}/${name}`), "subject=CN=caller");
    await assert.rejects(Deno.stat(`${ROOT}${name}`), Deno.errors.NotFound);

    // --from-csr and the default output file are the caller's too.
    const resigned = await task(["--from-csr", name]);
    assert.equal(resigned.code, 0, resigned.stderr);
    assert.equal(
      await csrSubject(`${caller}/cert_sign_request.csr`),
      "subject=CN=caller",
    );
    if (!hadDefault) {
      await assert.rejects(Deno.stat(defaultOut), Deno.errors.NotFound);
    }
  } finally {
    // A run that ignores INIT_CWD writes into the checkout, so clean up.
    await Deno.remove(`${ROOT}${name}`).catch(() => {});
    if (!hadDefault) await Deno.remove(defaultOut).catch(() => {});
  }
});

Deno.test("csr names missing --from-csr", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const result = await runScript(SCRIPT, [
    "--key-id",
    "alias/any",
    "--from-csr",
    "missing.csr",
    "--endpoint-url",
    endpoint.kms.url,
  ], { cwd: dir.path, env: { INIT_CWD: null } });
  assert.equal(result.code, 5, result.stderr);
  assert.equal(
    result.stderr,
    "error: Cannot read --from-csr 'missing.csr': the file does not exist. " +
      "Check the path.\n",
  );
  assert.equal(endpoint.kms.calls.length, 0);
});

Deno.test("csr help lists exit codes", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = /### Exit codes\n\n([\s\S]*?)\n\n/.exec(readme)?.[1];
  assert.ok(section, "README has no exit code section");
  const codesIn = (text: string) =>
    [...text.matchAll(/(?:^|[\s,:])(\d+) (?=[A-Za-z])/g)].map((m) => m[1]);
  const expected = codesIn(section);
  assert.deepEqual(expected, ["0", "1", "2", "3", "4", "5", "130"]);

  const help = await runScript(SCRIPT, ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  const paragraph = /Exit codes: ([\s\S]*?)\n(?:\n|$)/.exec(help.stdout)?.[1];
  assert.ok(paragraph, help.stdout);
  assert.deepEqual(codesIn(` ${paragraph}`), expected);
  assert.match(paragraph, /130 interrupted\.$/);
});

Deno.test("csr suggests a close flag", async () => {
  const result = await runScript(SCRIPT, ["--keyid", "k", "--subject", "/"]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /^error: Unknown option '--keyid'\. Did you mean --key-id\?\nUsage: /,
  );
});

Deno.test("csr suggests alias for name", async () => {
  await using endpoint = await startEndpoint();
  await endpoint.createKey("ECC_NIST_P256", { alias: "alias/app-signing" });
  const args = ["--subject", "/CN=a", "--out", "-", "--quiet"];
  const bare = await runScript(SCRIPT, [
    "--key-id",
    "app-signing",
    ...args,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(bare.code, 1, bare.stderr);
  assert.match(
    bare.stderr,
    /^error: Cannot find KMS key 'app-signing'.*\. If it is an alias name, pass --key-id alias\/app-signing\. Otherwise check/,
  );

  // Following the hint works.
  const alias = await runScript(SCRIPT, [
    "--key-id",
    "alias/app-signing",
    ...args,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(alias.code, 0, alias.stderr);
  assert.match(alias.stdout, /BEGIN CERTIFICATE REQUEST/);
});

Deno.test("csr names a missing profile", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/config`, "[profile other]\n");
  await Deno.writeTextFile(`${dir.path}/credentials`, "");
  const env = {
    AWS_CONFIG_FILE: `${dir.path}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${dir.path}/credentials`,
    AWS_ACCESS_KEY_ID: null,
    AWS_SECRET_ACCESS_KEY: null,
    AWS_SESSION_TOKEN: null,
    AWS_PROFILE: null,
  };
  const cases = [
    { name: "AWS_PROFILE", args: [], env: { AWS_PROFILE: "nosuch" } },
    { name: "--profile", args: ["--profile", "nosuch"], env: {} },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const result = await runScript(SCRIPT, [
        "--key-id",
        "alias/any",
        "--subject",
        "/CN=a",
        "--out",
        "-",
        "--endpoint-url",
        endpoint.kms.url,
        ...testCase.args,
      ], { env: { ...env, ...testCase.env } });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^error: Cannot find AWS credentials for profile 'nosuch'.*\. The profile was not found in the shared config and credentials files, or it has no credentials\./,
      );
      assert.equal(endpoint.kms.calls.length, 0);
    });
  }
});

Deno.test("csr reports truncation in one line", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  endpoint.kms.setFaults({ truncateResponse: true });
  const result = await runScript(SCRIPT, [
    "--key-id",
    key.keyId,
    "--subject",
    "/CN=a",
    "--out",
    "-",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  endpoint.kms.setFaults({});
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: Cannot reach the KMS endpoint/);
  assert.equal(result.stderr.split("\n").length, 2, result.stderr);
  assert.doesNotMatch(result.stderr, /\.\./);
  assert.doesNotMatch(result.stderr, /Deserialization|\$response/);
});
