import assert from "node:assert/strict";
import {
  openssl,
  runScript,
  taskPermissions,
  tempDir,
  TEST_ENV,
} from "./_helpers.ts";
import { startEndpoint } from "./_endpoint.ts";

const OLD_CONTENT = "previous request, must survive a failed run\n";

/** Each endpoint fault, the expected exit code, message and KMS calls. */
const FAULTS = [
  {
    name: "refused connections",
    faults: { refuseConnections: true },
    code: 1,
    message: /Cannot reach the KMS endpoint[\s\S]*socket hang up/,
  },
  {
    name: "slow endpoint",
    faults: { delayMs: 3000 },
    args: ["--timeout", "0.5"],
    code: 1,
    message: /timed out after 0\.5 s[\s\S]*--timeout/,
  },
  {
    name: "throttled past retries",
    faults: { throttleFirst: 10 },
    code: 1,
    message: /KMS throttled GetPublicKey on key '[^']+' after 3 attempts/,
    calls: 3,
  },
  {
    name: "internal errors past retries",
    faults: { failFirst: 10 },
    code: 1,
    message: /KMSInternalException[\s\S]*HTTP 500/,
    calls: 3,
  },
  {
    name: "wrong public key",
    faults: { wrongPublicKey: true },
    code: 4,
    message:
      /does not verify against the key's public key\. Nothing was written/,
  },
  {
    name: "garbage signature",
    faults: { garbageSignature: true },
    code: 4,
    message: /does not verify against the key's public key/,
  },
  {
    name: "truncated response",
    faults: { truncateResponse: true },
    code: 1,
    message: /^error: (?!.*\n\s+at )/,
  },
];

Deno.test("kms_generate_csr fails cleanly on faults", async (t) => {
  await using dir = await tempDir();

  for (const fault of FAULTS) {
    await t.step(fault.name, async () => {
      // A fresh endpoint per fault, so a request delayed by one step cannot
      // use up the faults of the next.
      await using endpoint = await startEndpoint();
      const key = await endpoint.createKey("ECC_NIST_P256");
      const out = `${dir.path}/${fault.name.replaceAll(" ", "_")}.csr`;
      await Deno.writeTextFile(out, OLD_CONTENT);
      endpoint.kms.setFaults(fault.faults);
      const before = endpoint.kms.calls.length;
      const result = await runScript("kms_generate_csr.ts", [
        "--key-id",
        key.keyId,
        "--subject",
        "/CN=faults.example.com",
        "--out",
        out,
        "--force",
        "--endpoint-url",
        endpoint.kms.url,
        ...(fault.args ?? []),
      ]);
      endpoint.kms.setFaults({});

      assert.equal(result.code, fault.code, result.stderr);
      assert.match(result.stderr, /^error: /);
      assert.match(result.stderr, fault.message);
      assert.match(result.stderr, new RegExp(key.keyId));
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(result.stdout, "");
      // The existing file is untouched and no temporary file is left.
      assert.equal(await Deno.readTextFile(out), OLD_CONTENT);
      const leftovers = [...Deno.readDirSync(dir.path)].filter((entry) =>
        entry.name.endsWith(".tmp")
      );
      assert.deepEqual(leftovers, []);
      if (fault.calls !== undefined) {
        const faulted = endpoint.kms.calls.slice(before).filter((call) =>
          call.outcome !== "OK"
        );
        assert.equal(faulted.length, fault.calls);
      }
    });
  }
});

Deno.test("kms_generate_csr retries throttling and 5xx", async (t) => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const cases = [
    { name: "throttled twice", faults: { throttleFirst: 2 } },
    { name: "internal error twice", faults: { failFirst: 2 } },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const out = `${dir.path}/${testCase.name.replaceAll(" ", "_")}.csr`;
      endpoint.kms.setFaults(testCase.faults);
      const before = endpoint.kms.calls.length;
      const result = await runScript("kms_generate_csr.ts", [
        "--key-id",
        key.keyId,
        "--subject",
        "/CN=retry.example.com",
        "--out",
        out,
        "--endpoint-url",
        endpoint.kms.url,
      ]);
      endpoint.kms.setFaults({});
      assert.equal(result.code, 0, result.stderr);
      // The SDK retried GetPublicKey twice, then Sign went through at once.
      const operations = endpoint.kms.calls.slice(before).map((call) =>
        `${call.operation}:${call.outcome === "OK" ? "OK" : "fault"}`
      );
      assert.deepEqual(operations, [
        "GetPublicKey:fault",
        "GetPublicKey:fault",
        "GetPublicKey:OK",
        "Sign:OK",
      ]);
      const verified = await openssl(["req", "-in", out, "-verify", "-noout"]);
      assert.equal(verified.code, 0, verified.stderr);
    });
  }
});

Deno.test("kms_generate_csr ends quietly on a closed stdout", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("RSA_2048");
  const root = new URL("../", import.meta.url).pathname;
  // `head -c 10` closes the pipe after ten bytes of the PEM.
  const script =
    `deno task --quiet csr --key-id ${key.keyId} --subject /CN=pipe ` +
    `--out - --quiet --endpoint-url ${endpoint.kms.url} | head -c 10; ` +
    'echo " status=${PIPESTATUS[0]}"';
  const output = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd: root,
    env: {
      AWS_ACCESS_KEY_ID: "AKIDLOCALTEST",
      AWS_SECRET_ACCESS_KEY: "local-test-secret",
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
      PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${
        Deno.env.get("PATH")
      }`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.match(stdout, /^-----BEGIN status=0\n$/);
  assert.equal(stderr, "");
});

Deno.test("kms_generate_csr leaves no file on SIGINT", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  endpoint.kms.setFaults({ delayMs: 5000 });
  const root = new URL("../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...taskPermissions("kms_generate_csr.ts"),
      `${root}scripts/kms_generate_csr.ts`,
      "--key-id",
      key.keyId,
      "--subject",
      "/CN=interrupted",
      "--out",
      `${dir.path}/interrupted.csr`,
      "--endpoint-url",
      endpoint.kms.url,
    ],
    env: TEST_ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  // Interrupt once the request is at the endpoint.
  const deadline = Date.now() + 10_000;
  while (!endpoint.kms.calls.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  child.kill("SIGINT");
  const output = await child.output();
  endpoint.kms.setFaults({});

  assert.equal(output.code, 130);
  assert.match(
    new TextDecoder().decode(output.stderr),
    /Interrupted; no file was written/,
  );
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("kms_generate_csr never prints secrets", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const secrets = {
    AWS_SECRET_ACCESS_KEY: "SECRETsecretSECRETsecret0123456789abcdef",
    AWS_SESSION_TOKEN: "TOKENtokenTOKENtoken0123456789abcdef",
  };
  const runs = [
    [
      "--key-id",
      key.keyId,
      "--subject",
      "/CN=ok",
      "--out",
      `${dir.path}/ok.csr`,
    ],
    ["--key-id", "alias/missing", "--subject", "/CN=x", "--out", "-"],
    ["--key-id", key.keyId, "--subject", "/C=bad", "--out", "-"],
    ["--key-id", key.keyId, "--subject", "/CN=x", "--out", "-", "--json"],
  ];
  for (const args of runs) {
    const result = await runScript("kms_generate_csr.ts", [
      ...args,
      "--endpoint-url",
      endpoint.kms.url,
    ], { env: secrets });
    for (const secret of Object.values(secrets)) {
      assert.equal(result.stdout.includes(secret), false, args.join(" "));
      assert.equal(result.stderr.includes(secret), false, args.join(" "));
    }
    assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE KEY/);
  }
});
