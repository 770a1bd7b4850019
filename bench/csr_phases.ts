/**
 * Does what `kms_generate_csr` does for one request, step by step, and
 * prints on standard output, as JSON, when each step ended in
 * milliseconds since the process started: where the start-up time of the
 * command goes. `bench/run_benchmarks.ts` runs it and averages the runs.
 *
 * Run: `deno run --allow-net --allow-env --allow-read --allow-sys
 * bench/csr_phases.ts --endpoint-url URL --key-id ID`.
 *
 * @module
 */

// Only the timer comes first: every module is imported dynamically, in the
// order the command needs them.
const marks: Record<string, number> = { "runtime ready": performance.now() };
const mark = (name: string) => marks[name] = performance.now();

const { parseArgs } = await import("node:util");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    "endpoint-url": { type: "string" },
    "key-id": { type: "string" },
  },
  strict: true,
});
mark("node:util (parseArgs)");

const [{ chooseSigningAlgorithm }, { createCsr }, { parseSubject }] =
  await Promise.all([
    import("../lib/algorithms.ts"),
    import("../lib/csr.ts"),
    import("../lib/subject.ts"),
    import("../lib/extensions.ts"),
    import("../lib/request_extensions.ts"),
    import("../lib/certificate.ts"),
    import("../lib/pem.ts"),
    import("../lib/output_file.ts"),
  ]);
mark("toolkit modules");

const subject = parseSubject("/CN=phases.example.com").der;
mark("local input parsed");

await import("@aws-sdk/client-kms");
mark("AWS SDK imported");

const [{ createKmsClient }, { KmsKey }] = await Promise.all([
  import("../lib/kms_client.ts"),
  import("../lib/kms_key.ts"),
]);
const client = createKmsClient({ endpointUrl: values["endpoint-url"] });
mark("client created");

const key = await KmsKey.fetch(client, values["key-id"] ?? "");
mark("GetPublicKey (first call)");

const algorithm = chooseSigningAlgorithm(key.keySpec, {
  allowed: key.signingAlgorithms,
  purpose: "x509",
});
await createCsr(key, { algorithm, subject });
client.destroy();
mark("Sign and local verify");

Deno.stdout.writeSync(new TextEncoder().encode(`${JSON.stringify(marks)}\n`));
