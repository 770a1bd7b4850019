import assert from "node:assert/strict";
import { importSPKI, jwtVerify } from "jose";
import type { FaultOptions } from "../lib/local_kms/mod.ts";
import { encodePem } from "../lib/pem.ts";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import { runScript, taskPermissions, tempDir, TEST_ENV } from "./_helpers.ts";

const SCRIPT = "kms_sign_jwt.ts";
const ROOT = new URL("../", import.meta.url).pathname;

/** One endpoint fault and how the script must end under it. */
interface FaultCase {
  name: string;
  faults: FaultOptions;
  /** Flags besides --key-id, --iss and --endpoint-url. */
  args?: string[];
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
    name: "wrong public key",
    faults: { wrongPublicKey: true },
    code: 4,
    message:
      /signature from KMS key '[^']+' does not verify against the key's public key[\s\S]*check --endpoint-url/,
  },
  {
    name: "garbage signature",
    faults: { garbageSignature: true },
    code: 4,
    message:
      /signature from KMS key '[^']+' does not verify against the key's public key/,
  },
];

/** Verifies a token with jose against the key's SPKI. */
async function verifyToken(token: string, spki: Uint8Array, alg: string) {
  const key = await importSPKI(encodePem("PUBLIC KEY", spki), alg);
  return (await jwtVerify(token, key, { algorithms: [alg] })).payload;
}

Deno.test("kms_sign_jwt fails cleanly on faults", async (t) => {
  for (const keySpec of ["ECC_NIST_P256", "RSA_2048"]) {
    for (const fault of FAULTS) {
      await t.step(`${keySpec} ${fault.name}`, async () => {
        // A fresh endpoint per fault: a delayed request of an earlier step
        // would otherwise count against this step's faults.
        await using endpoint = await startEndpoint();
        const key = await endpoint.createKey(keySpec);
        endpoint.kms.setFaults(fault.faults);
        const before = endpoint.kms.calls.length;
        const result = await runScript(SCRIPT, [
          "--key-id",
          key.keyId,
          "--iss",
          "faults",
          "--endpoint-url",
          endpoint.kms.url,
          ...(fault.args ?? []),
        ]);
        endpoint.kms.setFaults({});

        assert.equal(result.code, fault.code, result.stderr);
        assert.match(result.stderr, /^error: /);
        assert.match(result.stderr, fault.message);
        assert.ok(result.stderr.includes(key.keyId), result.stderr);
        assert.doesNotMatch(result.stderr, /^\s+at /m);
        assert.doesNotMatch(result.stderr, /bug in kms-toolkit/);
        // No token, not even one that fails to verify, reaches stdout.
        assert.equal(result.stdout, "");
        if (fault.faulted !== undefined) {
          const faulted = endpoint.kms.calls.slice(before).filter((call) =>
            call.outcome !== "OK"
          );
          assert.equal(faulted.length, fault.faulted);
        }
      });
    }
  }
});

Deno.test("kms_sign_jwt retries throttling and 5xx", async (t) => {
  const cases = [
    {
      name: "throttled twice",
      faults: { throttleFirst: 2 },
      outcomes: ["ThrottlingException", "ThrottlingException"],
    },
    {
      name: "internal error twice",
      faults: { failFirst: 2 },
      outcomes: ["KMSInternalException", "KMSInternalException"],
    },
    {
      name: "throttled then 5xx",
      faults: { throttleFirst: 1, failFirst: 1 },
      outcomes: ["ThrottlingException", "KMSInternalException"],
    },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      await using endpoint = await startEndpoint();
      const key = await endpoint.createKey("ECC_NIST_P256");
      endpoint.kms.setFaults(testCase.faults);
      const before = endpoint.kms.calls.length;
      const result = await runScript(SCRIPT, [
        "--key-id",
        key.keyId,
        "--iss",
        "retry",
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      endpoint.kms.setFaults({});

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      // The SDK retried GetPublicKey, then Sign went through at once.
      const outcomes = endpoint.kms.calls.slice(before).map((call) =>
        `${call.operation}:${call.outcome}`
      );
      assert.deepEqual(outcomes, [
        ...testCase.outcomes.map((outcome) => `GetPublicKey:${outcome}`),
        "GetPublicKey:OK",
        "Sign:OK",
      ]);
      const payload = await verifyToken(
        result.stdout.trim(),
        key.spki,
        "ES256",
      );
      assert.equal(payload.iss, "retry");
    });
  }
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

Deno.test("kms_sign_jwt prints nothing on SIGINT", async () => {
  await using endpoint = await startEndpoint();
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
      "--iss",
      "interrupted",
      "--endpoint-url",
      endpoint.kms.url,
    ],
    env: TEST_ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  // The delayed request is logged only when its response goes out, so wait
  // for the script's connection, then a little longer for its request.
  const deadline = Date.now() + 10_000;
  while (await connectionCount(endpoint) <= connections) {
    if (Date.now() > deadline) throw new Error("The script never connected");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill("SIGINT");
  const output = await child.output();
  endpoint.kms.setFaults({});

  assert.equal(output.code, 130);
  assert.match(new TextDecoder().decode(output.stderr), /^\s*Interrupted/);
  assert.equal(output.stdout.length, 0);
});

Deno.test("kms_sign_jwt ends quietly on a closed stdout", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  // A token far larger than a pipe buffer (64 KiB on Linux), so the script
  // is still writing when `head` closes the pipe.
  const claims = `${dir.path}/claims.json`;
  await Deno.writeTextFile(
    claims,
    JSON.stringify({ big: "x".repeat(300_000) }),
  );

  const script = `deno task --quiet jwt --key-id ${key.keyId} ` +
    `--claims-json ${claims} --endpoint-url ${endpoint.kms.url} ` +
    '| head -c 10; echo " status=${PIPESTATUS[0]}"';
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
  // Every token starts with the base64url of '{"alg":"'.
  assert.equal(stdout, "eyJhbGciOi status=0\n");
  assert.equal(stderr, "");
});

Deno.test("kms_sign_jwt works without HOME", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const result = await runScript(SCRIPT, [
    "--key-id",
    key.keyId,
    "--sub",
    "no-home",
    "--endpoint-url",
    endpoint.kms.url,
  ], { env: { HOME: null, AWS_PROFILE: null, AWS_CONFIG_FILE: null } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const payload = await verifyToken(result.stdout.trim(), key.spki, "ES256");
  assert.equal(payload.sub, "no-home");
});
