import assert from "node:assert/strict";
import type { FaultOptions } from "../lib/local_kms/mod.ts";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import { runScript, taskPermissions, tempDir, TEST_ENV } from "./_helpers.ts";

const SCRIPT = "kms_public_key_to_jwks.ts";
const ROOT = new URL("../", import.meta.url).pathname;
const OLD_CONTENT = '{"keys": []}\n';

/** One endpoint fault and how the script must end under it. */
interface FaultCase {
  name: string;
  faults: FaultOptions;
  /** Flags besides --key-id, --out, --force and --endpoint-url. */
  args?: string[];
  /** Pass a certificate of the real key with --cert. */
  cert?: boolean;
  code: number;
  message: RegExp;
  /** The number of faulted requests, when the SDK retries. */
  faulted?: number;
}

const FAULTS: FaultCase[] = [
  {
    name: "refused connections",
    faults: { refuseConnections: true },
    code: 1,
    message:
      /Cannot reach the KMS endpoint for GetPublicKey on key '[^']+': socket hang up \(3 attempts\)\. Check --endpoint-url/,
  },
  {
    name: "slow endpoint",
    faults: { delayMs: 3000 },
    args: ["--timeout", "0.5"],
    code: 1,
    message:
      /GetPublicKey on key '[^']+' timed out after 0\.5 s[\s\S]*raise --timeout/,
  },
  {
    name: "throttled past retries",
    faults: { throttleFirst: 10 },
    code: 1,
    message:
      /KMS throttled GetPublicKey on key '[^']+' after 3 attempts\. Retry later/,
    faulted: 3,
  },
  {
    name: "internal errors past retries",
    faults: { failFirst: 10 },
    code: 1,
    message:
      /GetPublicKey on key '[^']+' failed: KMSInternalException[\s\S]*HTTP 500/,
    faulted: 3,
  },
  {
    name: "truncated response",
    faults: { truncateResponse: true },
    code: 1,
    message:
      /GetPublicKey on key '[^']+': the connection closed after HTTP 200, before the whole response arrived \(3 attempts\)\. Check --endpoint-url/,
  },
  {
    // Without --cert the script cannot tell another key's SPKI from the
    // right one; the certificate of the real key can.
    name: "wrong public key with cert",
    faults: { wrongPublicKey: true },
    cert: true,
    code: 2,
    message: /cert\.pem[\s\S]*KMS key '[^']+'/,
  },
];

/** Makes a self-signed certificate of the key with the CSR script. */
async function certificateFor(
  endpoint: Endpoint,
  keyId: string,
  path: string,
): Promise<void> {
  const result = await runScript("kms_generate_csr.ts", [
    "--key-id",
    keyId,
    "--subject",
    "/CN=jwks-faults",
    "--self-signed",
    "--out",
    path,
    "--quiet",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 0, result.stderr);
}

Deno.test("jwks script fails cleanly on faults", async (t) => {
  for (const fault of FAULTS) {
    await t.step(fault.name, async () => {
      // A fresh endpoint per fault: a delayed request of an earlier step
      // would otherwise count against this step's faults.
      await using endpoint = await startEndpoint();
      await using dir = await tempDir();
      const key = await endpoint.createKey("ECC_NIST_P256");
      const out = `${dir.path}/jwks.json`;
      await Deno.writeTextFile(out, OLD_CONTENT);
      const certArgs: string[] = [];
      if (fault.cert) {
        const cert = `${dir.path}/cert.pem`;
        await certificateFor(endpoint, key.keyId, cert);
        certArgs.push("--cert", cert);
      }

      endpoint.kms.setFaults(fault.faults);
      const before = endpoint.kms.calls.length;
      const result = await runScript(SCRIPT, [
        "--key-id",
        key.keyId,
        "--out",
        out,
        "--force",
        "--endpoint-url",
        endpoint.kms.url,
        ...certArgs,
        ...(fault.args ?? []),
      ]);
      endpoint.kms.setFaults({});

      assert.equal(result.code, fault.code, result.stderr);
      assert.match(result.stderr, /^error: /);
      assert.match(result.stderr, fault.message);
      assert.ok(result.stderr.includes(key.keyId), result.stderr);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.doesNotMatch(result.stderr, /bug in kms-toolkit/);
      assert.equal(result.stdout, "");
      // The old file is untouched and nothing else was left beside it.
      assert.equal(await Deno.readTextFile(out), OLD_CONTENT);
      const names = [...Deno.readDirSync(dir.path)].map((entry) => entry.name)
        .sort();
      assert.deepEqual(
        names,
        fault.cert ? ["cert.pem", "jwks.json"] : [
          "jwks.json",
        ],
      );
      if (fault.faulted !== undefined) {
        const faulted = endpoint.kms.calls.slice(before).filter((call) =>
          call.outcome !== "OK"
        );
        assert.equal(faulted.length, fault.faulted);
      }
    });
  }
});

Deno.test("jwks script second key fails", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const out = `${dir.path}/jwks.json`;
  await Deno.writeTextFile(out, OLD_CONTENT);

  const result = await runScript(SCRIPT, [
    "--key-id",
    key.keyId,
    "--key-id",
    "alias/missing",
    "--out",
    out,
    "--force",
    "--endpoint-url",
    endpoint.kms.url,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: Cannot find KMS key 'alias\/missing'/);
  assert.equal(await Deno.readTextFile(out), OLD_CONTENT);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), [
    "jwks.json",
  ]);
});

Deno.test("jwks script retries throttling and 5xx", async (t) => {
  const cases = [
    { name: "throttled twice", faults: { throttleFirst: 2 } },
    { name: "internal error twice", faults: { failFirst: 2 } },
    { name: "throttled then 5xx", faults: { throttleFirst: 1, failFirst: 1 } },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      await using endpoint = await startEndpoint();
      const key = await endpoint.createKey("ECC_NIST_P256");
      endpoint.kms.setFaults(testCase.faults);
      const result = await runScript(SCRIPT, [
        "--key-id",
        key.keyId,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      endpoint.kms.setFaults({});

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      const outcomes = endpoint.kms.calls.slice(-3).map((call) =>
        `${call.operation}:${call.outcome}`
      );
      const first = testCase.faults.throttleFirst === 2
        ? ["ThrottlingException", "ThrottlingException"]
        : testCase.faults.failFirst === 2
        ? ["KMSInternalException", "KMSInternalException"]
        : ["ThrottlingException", "KMSInternalException"];
      assert.deepEqual(outcomes, [
        ...first.map((outcome) => `GetPublicKey:${outcome}`),
        "GetPublicKey:OK",
      ]);
      // The key in the set is the endpoint's key, byte for byte.
      const [jwk] = JSON.parse(result.stdout).keys;
      const imported = await crypto.subtle.importKey(
        "jwk",
        jwk,
        { name: "ECDSA", namedCurve: "P-256" },
        true,
        ["verify"],
      );
      assert.deepEqual(
        new Uint8Array(await crypto.subtle.exportKey("spki", imported)),
        key.spki,
      );
    });
  }
});

Deno.test("jwks script leaves no file on SIGINT", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  endpoint.kms.setFaults({ delayMs: 5000 });
  const connections = await connectionCount(endpoint);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...taskPermissions(SCRIPT),
      `${ROOT}scripts/${SCRIPT}`,
      "--key-id",
      key.keyId,
      "--out",
      `${dir.path}/interrupted.json`,
      "--endpoint-url",
      endpoint.kms.url,
    ],
    env: TEST_ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  await waitForConnection(endpoint, connections);
  child.kill("SIGINT");
  const output = await child.output();
  endpoint.kms.setFaults({});

  assert.equal(output.code, 130);
  assert.match(
    new TextDecoder().decode(output.stderr),
    /Interrupted; no file was written/,
  );
  assert.equal(output.stdout.length, 0);
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

/** Counts the established connections that the endpoint has accepted. */
async function connectionCount(endpoint: Endpoint): Promise<number> {
  const port = Number(new URL(endpoint.kms.url).port).toString(16)
    .toUpperCase().padStart(4, "0");
  const table = await Deno.readTextFile("/proc/net/tcp");
  // Columns: slot, local address, remote address, state (01 established).
  return table.split("\n").filter((line) => {
    const columns = line.trim().split(/\s+/);
    return columns[1]?.endsWith(`:${port}`) && columns[3] === "01";
  }).length;
}

/**
 * Waits until the script has connected to the endpoint, where a request
 * that waits out `delayMs` is not logged until its response, then a little
 * longer so that the request is sent.
 */
async function waitForConnection(
  endpoint: Endpoint,
  before: number,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (await connectionCount(endpoint) <= before) {
    if (Date.now() > deadline) throw new Error("The script never connected");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

Deno.test("jwks script ends quietly on a closed stdout", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  // A merged set far larger than a pipe buffer (64 KiB on Linux), so the
  // script is still writing when `head` closes the pipe.
  const keys = Array.from({ length: 3000 }, (_, index) => ({
    kty: "oct",
    kid: `old-${index}`,
    note: "x".repeat(100),
  }));
  const merge = `${dir.path}/old.json`;
  await Deno.writeTextFile(merge, JSON.stringify({ keys }));

  const script = `deno task --quiet jwks --key-id ${key.keyId} ` +
    `--merge ${merge} --endpoint-url ${endpoint.kms.url} | head -c 10; ` +
    'echo " status=${PIPESTATUS[0]}"';
  const output = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd: ROOT,
    env: {
      ...TEST_ENV,
      PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${
        Deno.env.get("PATH")
      }`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(stdout, '{\n  "keys" status=0\n');
  assert.equal(stderr, "");
});

Deno.test("jwks script works without HOME", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const result = await runScript(SCRIPT, [
    "--key-id",
    key.keyId,
    "--endpoint-url",
    endpoint.kms.url,
  ], { env: { HOME: null, AWS_PROFILE: null, AWS_CONFIG_FILE: null } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.equal(JSON.parse(result.stdout).keys[0].crv, "P-256");
});
