/**
 * Bad input: random bytes, truncations and bit flips of valid requests
 * and certificates, random and near-JWKS JSON, random JWT claims, and bad
 * command lines. The readers return or throw a `KmsToolkitError` that
 * names the input, and the scripts reject bad flags before any KMS call.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeJwt } from "jose";
import { parseCertificateChain } from "../lib/certificate_chain.ts";
import { parseCsr } from "../lib/csr.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import { mergeJwks, parseJwks } from "../lib/jwks.ts";
import { readPemOrDer } from "../lib/pem.ts";
import { type Endpoint, startEndpoint } from "./_endpoint.ts";
import { openssl, runScript, tempDir } from "./_helpers.ts";

/** The input path passed to the readers, which their errors must name. */
const SOURCE = "/srv/inputs/bad-input.bin";

/** Valid inputs made by OpenSSL: a CSR and a two-certificate chain. */
interface Fixtures {
  csrDer: Uint8Array;
  csrPem: Uint8Array;
  certDer: Uint8Array;
  chainPem: Uint8Array;
}

async function makeFixtures(): Promise<Fixtures> {
  await using dir = await tempDir();
  const path = (name: string) => `${dir.path}/${name}`;
  const steps = [
    [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      path("leaf.key"),
      "-subj",
      "/C=US/O=Example/CN=leaf.example.com",
      "-addext",
      "subjectAltName=DNS:leaf.example.com",
      "-out",
      path("leaf.csr"),
    ],
    ["req", "-in", path("leaf.csr"), "-outform", "DER", "-out", path("der")],
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      path("ca.key"),
      "-subj",
      "/CN=Example CA",
      "-days",
      "2",
      "-out",
      path("ca.pem"),
    ],
    [
      "x509",
      "-req",
      "-in",
      path("leaf.csr"),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-days",
      "1",
      "-out",
      path("leaf.pem"),
    ],
    ["x509", "-in", path("leaf.pem"), "-outform", "DER", "-out", path("cd")],
  ];
  for (const args of steps) {
    const result = await openssl(args);
    assert.equal(result.code, 0, result.stderr);
  }
  const leaf = await Deno.readTextFile(path("leaf.pem"));
  const ca = await Deno.readTextFile(path("ca.pem"));
  return {
    csrDer: await Deno.readFile(path("der")),
    csrPem: await Deno.readFile(path("leaf.csr")),
    certDer: await Deno.readFile(path("cd")),
    chainPem: new TextEncoder().encode(leaf + ca),
  };
}

const fixtures = await makeFixtures();

/** Bytes cut at a random length below the full one. */
function truncations(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.nat(bytes.length - 1).map((length) => bytes.slice(0, length));
}

/** Bytes with one to four random bits flipped. */
function bitFlips(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.uniqueArray(fc.nat(bytes.length * 8 - 1), {
    minLength: 1,
    maxLength: 4,
  }).map((bits) => {
    const flipped = bytes.slice();
    for (const bit of bits) flipped[bit >> 3]! ^= 1 << (bit & 7);
    return flipped;
  });
}

/** Random bytes, and random bytes that start like DER or like PEM. */
const randomBytes = (label: string) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.uint8Array({ maxLength: 512 }).map((bytes) =>
      Uint8Array.of(0x30, ...bytes)
    ),
    fc.uint8Array({ maxLength: 512 }).map((bytes) =>
      new TextEncoder().encode(
        `-----BEGIN ${label}-----\n${bytes.toBase64()}\n` +
          `-----END ${label}-----\n`,
      )
    ),
  );

/** Bad variants of valid inputs, and random bytes in PEM of that label. */
function badVariants(
  label: string,
  ...valid: Uint8Array[]
): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    randomBytes(label),
    ...valid.flatMap((bytes) => [truncations(bytes), bitFlips(bytes)]),
  );
}

/**
 * Runs a reader and checks that it returns, or throws an `INVALID_INPUT`
 * toolkit error whose message names the source.
 */
function assertReadsOrNamesSource(read: () => unknown, source: string): void {
  try {
    read();
  } catch (error) {
    assert.ok(
      error instanceof KmsToolkitError,
      `not a KmsToolkitError: ${(error as Error)?.stack ?? error}`,
    );
    assert.equal(error.code, "INVALID_INPUT", error.message);
    assert.ok(error.message.includes(source), error.message);
  }
}

Deno.test("CSR reader on bad bytes", () => {
  // The reading of --from-csr: PEM or DER, then the PKCS#10 fields.
  fc.assert(
    fc.property(
      badVariants("CERTIFICATE REQUEST", fixtures.csrDer, fixtures.csrPem),
      (bytes) => {
        assertReadsOrNamesSource(
          () =>
            parseCsr(
              readPemOrDer(bytes, "CERTIFICATE REQUEST", SOURCE),
              SOURCE,
            ),
          SOURCE,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("CSR reader rejects every truncation", () => {
  const pemEnd = new TextDecoder().decode(fixtures.csrPem).indexOf(
    "-----END CERTIFICATE REQUEST-----",
  ) + "-----END CERTIFICATE REQUEST-----".length;
  for (const valid of [fixtures.csrDer, fixtures.csrPem]) {
    // PEM cut after its END line is still whole.
    const end = valid === fixtures.csrPem ? pemEnd : valid.length;
    for (let length = 0; length < end; length++) {
      const bytes = valid.slice(0, length);
      assert.throws(
        () =>
          parseCsr(readPemOrDer(bytes, "CERTIFICATE REQUEST", SOURCE), SOURCE),
        (error: unknown) =>
          error instanceof KmsToolkitError && error.message.includes(SOURCE),
        `length ${length}`,
      );
    }
  }
});

Deno.test("certificate reader on bad bytes", () => {
  // The reading of --cert: PEM CERTIFICATE blocks or one DER certificate.
  fc.assert(
    fc.property(
      badVariants("CERTIFICATE", fixtures.certDer, fixtures.chainPem),
      (bytes) => {
        assertReadsOrNamesSource(
          () => parseCertificateChain(bytes, { source: SOURCE }),
          SOURCE,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("certificate reader rejects every truncation", () => {
  for (const valid of [fixtures.certDer, fixtures.chainPem]) {
    // A chain cut after its first certificate is still a valid chain.
    const firstEnd = new TextDecoder().decode(valid).indexOf(
      "-----END CERTIFICATE-----",
    ) + "-----END CERTIFICATE-----".length;
    for (let length = 0; length < valid.length; length++) {
      if (valid !== fixtures.certDer && length >= firstEnd) break;
      assert.throws(
        () => parseCertificateChain(valid.slice(0, length), { source: SOURCE }),
        (error: unknown) =>
          error instanceof KmsToolkitError && error.message.includes(SOURCE),
        `length ${length}`,
      );
    }
  }
});

/** A valid public JWK to merge into sets. */
const ADDITION = {
  kty: "EC",
  crv: "P-256",
  x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  y: "x_FEzRu9m36HLN_tOfk1f8b6yCwNeeJxBjvgPxhNEK8",
  kid: "added",
  alg: "ES256",
  use: "sig",
};

/** JSON values near a JWK Set: sets whose keys are JWK-like or not. */
const nearJwks = (() => {
  const member = fc.oneof(
    fc.constantFrom(
      "kty",
      "kid",
      "crv",
      "x",
      "y",
      "n",
      "e",
      "alg",
      "use",
      "x5c",
      "d",
      "k",
      "keys",
    ),
    fc.string({ maxLength: 4 }),
  );
  const jwkLike = fc.oneof(
    fc.dictionary(member, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
    fc.constant(ADDITION).chain((jwk) =>
      fc.record({
        name: fc.constantFrom(...Object.keys(jwk)),
        value: fc.jsonValue({ maxDepth: 1 }),
      }).map(({ name, value }) => ({ ...jwk, [name]: value }))
    ),
    fc.jsonValue({ maxDepth: 1 }),
  );
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({ keys: fc.array(jwkLike, { maxLength: 4 }) }),
    fc.record({ keys: fc.jsonValue({ maxDepth: 2 }) }),
    fc.dictionary(member, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  );
})();

/** Text that is JSON, cut JSON or arbitrary. */
const jwksText = fc.oneof(
  nearJwks.map((value) => JSON.stringify(value)),
  nearJwks.chain((value) => {
    const text = JSON.stringify(value);
    return fc.nat(text.length).map((length) => text.slice(0, length));
  }),
  fc.string({ maxLength: 64 }),
);

Deno.test("parseJwks and mergeJwks on bad JSON", async () => {
  // The reading of --merge: parse, then merge a new key into the set.
  await fc.assert(
    fc.asyncProperty(jwksText, async (text) => {
      let parsed;
      try {
        parsed = parseJwks(text, { source: SOURCE });
      } catch (error) {
        assert.ok(error instanceof KmsToolkitError, String(error));
        assert.equal(error.code, "INVALID_INPUT");
        assert.ok(error.message.includes(`'${SOURCE}'`), error.message);
        return;
      }
      try {
        const merged = await mergeJwks(parsed, [ADDITION], { source: SOURCE });
        assert.ok(Array.isArray(merged.jwks.keys));
      } catch (error) {
        assert.ok(error instanceof KmsToolkitError, String(error));
        assert.ok(error.message.includes(SOURCE), error.message);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("parseJwks rejects private members", () => {
  // A near-JWKS that carries private key material must never be read.
  fc.assert(
    fc.property(
      fc.constantFrom("d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"),
      fc.jsonValue({ maxDepth: 1 }),
      (name, value) => {
        const text = JSON.stringify({ keys: [{ ...ADDITION, [name]: value }] });
        assert.throws(
          () => parseJwks(text, { source: SOURCE }),
          (error: unknown) =>
            error instanceof KmsToolkitError &&
            error.message.includes(`'${SOURCE}'`) &&
            error.message.includes(name),
        );
      },
    ),
  );
});

/** Parses VALUE of `--claim NAME=VALUE` as the script's help documents. */
function claimValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Tells whether a value contains a number that JSON cannot carry exactly. */
function hasInexactNumber(value: unknown): boolean {
  if (typeof value === "number") {
    return !Number.isFinite(value) ||
      (Number.isInteger(value) && !Number.isSafeInteger(value));
  }
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(hasInexactNumber);
}

/** The error the JWT script must give for a claim value, or null. */
function claimProblem(name: string, value: unknown): RegExp | null {
  if (hasInexactNumber(value)) {
    return /^error: Cannot use claim '.*' number '.*'/s;
  }
  if (["exp", "nbf", "iat"].includes(name) && typeof value !== "number") {
    return /^error: Cannot use claim '.*' value '.*'.*NumericDate/s;
  }
  return null;
}

/** Runs the JWT script against the endpoint. */
function signJwt(endpoint: Endpoint, args: string[]) {
  return runScript("kms_sign_jwt.ts", [
    ...args,
    "--endpoint-url",
    endpoint.kms.url,
  ]);
}

/** Text that a command-line argument can carry: no NUL, valid Unicode. */
const argumentText = (options: { minLength?: number; maxLength?: number }) =>
  fc.string({ unit: "grapheme", ...options }).filter((text) =>
    !text.includes("\0")
  );

/** JSON text of a value that survives a round trip through JSON. */
const jsonText = fc.jsonValue({ maxDepth: 2 }).map((value) =>
  JSON.stringify(value)
);

Deno.test("kms_sign_jwt random claim flags", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const claim = fc.record({
    name: argumentText({ minLength: 1, maxLength: 8 }).filter((name) =>
      !name.includes("=") && name.trim() !== ""
    ),
    value: fc.oneof(argumentText({ maxLength: 12 }), jsonText),
  });

  await fc.assert(
    fc.asyncProperty(
      fc.array(claim, { minLength: 1, maxLength: 3 }),
      async (claims) => {
        const before = endpoint.kms.calls.length;
        const result = await signJwt(endpoint, [
          "--key-id",
          key.keyId,
          // The = form, so that a NAME starting with "-" is no flag.
          ...claims.map(({ name, value }) => `--claim=${name}=${value}`),
        ]);
        // The first duplicate or bad value, in flag order, is the error.
        const seen = new Set<string>();
        let error: RegExp | null = null;
        for (const { name, value } of claims) {
          error = seen.has(name)
            ? /is already set by an earlier --claim/
            : claimProblem(name, claimValue(value));
          if (error) break;
          seen.add(name);
        }
        if (error) {
          assert.equal(result.code, 2, result.stderr);
          assert.match(result.stderr, error);
          assert.match(result.stderr, /\nUsage: kms_sign_jwt /);
          assert.equal(endpoint.kms.calls.length, before);
          return;
        }
        assert.equal(result.code, 0, result.stderr);
        const payload = decodeJwt(result.stdout.trim());
        for (const { name, value } of claims) {
          // The claim is the payload's own member, not a prototype.
          assert.ok(Object.hasOwn(payload, name), `${name} is missing`);
          assert.deepEqual(
            payload[name],
            JSON.parse(JSON.stringify(claimValue(value))),
            `${name}=${value}`,
          );
        }
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("kms_sign_jwt keeps __proto__ claims", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const file = `${dir.path}/claims.json`;
  await Deno.writeTextFile(file, '{"__proto__": {"admin": true}, "a": 1}');
  const runs: [string[], string[]][] = [
    [["--claim", '__proto__={"admin":true}'], ["__proto__"]],
    [["--claim", "__proto__=x"], ["__proto__"]],
    [["--claims-json", file], ["__proto__", "a"]],
  ];
  for (const [args, names] of runs) {
    const result = await signJwt(endpoint, ["--key-id", key.keyId, ...args]);
    assert.equal(result.code, 0, result.stderr);
    // Parse the payload with JSON.parse, which keeps "__proto__" as an
    // own member instead of a prototype.
    const part = result.stdout.split(".")[1]!;
    const payload = JSON.parse(
      new TextDecoder().decode(
        Uint8Array.fromBase64(part, { alphabet: "base64url" }),
      ),
    );
    for (const name of names) {
      assert.ok(Object.hasOwn(payload, name), `${args.join(" ")}: ${name}`);
    }
    assert.equal(Object.getPrototypeOf(payload), Object.prototype);
  }
});

Deno.test("kms_sign_jwt random claims JSON", async () => {
  await using endpoint = await startEndpoint();
  await using dir = await tempDir();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const file = `${dir.path}/claims.json`;
  const text = fc.oneof(
    jsonText,
    fc.dictionary(
      argumentText({ minLength: 1, maxLength: 6 }),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 4 },
    ).map((claims) => JSON.stringify(claims)),
    jsonText.chain((json) =>
      fc.nat(json.length - 1).map((length) => json.slice(0, length))
    ),
  );

  await fc.assert(
    fc.asyncProperty(text, async (json) => {
      await Deno.writeTextFile(file, json);
      const before = endpoint.kms.calls.length;
      const result = await signJwt(endpoint, [
        "--key-id",
        key.keyId,
        "--claims-json",
        file,
      ]);
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        assert.equal(result.code, 2, result.stderr);
        assert.ok(
          result.stderr.startsWith(
            `error: Cannot parse --claims-json '${file}'`,
          ),
          result.stderr,
        );
        assert.equal(endpoint.kms.calls.length, before);
        return;
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /not a JSON object/);
        assert.equal(endpoint.kms.calls.length, before);
        return;
      }
      const error = Object.entries(value).map(([name, member]) =>
        claimProblem(name, member)
      ).find((problem) => problem !== null);
      if (error) {
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, error);
        assert.equal(endpoint.kms.calls.length, before);
        return;
      }
      assert.equal(result.code, 0, result.stderr);
      const payload = decodeJwt(result.stdout.trim());
      for (const [name, member] of Object.entries(value)) {
        assert.ok(Object.hasOwn(payload, name), `${name} is missing`);
        assert.deepEqual(payload[name], JSON.parse(JSON.stringify(member)));
      }
    }),
    { numRuns: 25 },
  );
});

/** Each script, flags that make a valid run, and its string flags. */
const SCRIPTS = [
  {
    script: "kms_generate_csr.ts",
    usage: "Usage: kms_generate_csr ",
    valid: ["--subject", "/CN=flags", "--out", "-"],
    stringFlags: [
      "--key-id",
      "--subject",
      "--san",
      "--out",
      "--from-csr",
      "--timeout",
      "--region",
    ],
    conflicts: [
      [
        ["--from-csr", "x.csr", "--subject", "/CN=a"],
        "Cannot combine --from-csr with --subject",
      ],
      [
        ["--subject", "/CN=a", "--days", "3"],
        "--days applies only with --self-signed",
      ],
      [
        ["--subject", "/CN=a", "--json", "--out", "-"],
        "Cannot combine --json with --out -",
      ],
    ],
  },
  {
    script: "kms_public_key_to_jwks.ts",
    usage: "Usage: kms_public_key_to_jwks ",
    valid: [],
    stringFlags: [
      "--key-id",
      "--format",
      "--cert",
      "--merge",
      "--out",
      "--kid",
    ],
    conflicts: [
      [
        ["--format", "pem", "--alg", "ES256"],
        "Invalid --alg with --format pem",
      ],
      [["--force"], "Invalid --force without --out"],
      [
        ["--format", "der", "--merge", "x.json"],
        "Invalid --merge with --format der",
      ],
    ],
  },
  {
    script: "kms_sign_jwt.ts",
    usage: "Usage: kms_sign_jwt ",
    valid: ["--iss", "flags"],
    stringFlags: ["--key-id", "--claim", "--claims-json", "--aud", "--alg"],
    conflicts: [
      [["--client-id", "app"], "Invalid --client-id without --preset"],
      [
        ["--preset", "okta", "--client-id", "app"],
        "Missing --aud for --preset okta",
      ],
      [
        ["--preset", "servicenow", "--client-id", "app", "--sub", "u"],
        "Missing --kid for --preset servicenow",
      ],
    ],
  },
] as const;

/** The long flags of the scripts, read from their parseArgs tables. */
const KNOWN_FLAGS = new Set(
  SCRIPTS.flatMap(({ script }) =>
    [
      ...Deno.readTextFileSync(new URL(`../scripts/${script}`, import.meta.url))
        .matchAll(/^ {2}"?([a-z][a-z-]*)"?: \{ type: /gm),
    ].map((match) => `--${match[1]}`)
  ),
);

/** Long flags that none of the scripts know. */
const unknownFlag = fc.stringMatching(/^--[a-z][a-z-]{0,11}$/).filter((flag) =>
  !KNOWN_FLAGS.has(flag)
);

/** Runs a script and checks it stopped on a usage error before KMS. */
async function assertUsageError(
  endpoint: Endpoint,
  script: string,
  usage: string,
  args: string[],
  message: string,
): Promise<void> {
  const before = endpoint.kms.calls.length;
  const result = await runScript(script, [
    "--endpoint-url",
    endpoint.kms.url,
    ...args,
  ]);
  const where = `${script} ${args.join(" ")}`;
  assert.equal(result.code, 2, `${where}: ${result.stderr}`);
  assert.ok(result.stderr.startsWith("error: "), where);
  assert.ok(result.stderr.includes(message), `${where}: ${result.stderr}`);
  assert.ok(result.stderr.includes(`\n${usage}`), `${where}: no usage line`);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
  assert.equal(result.stdout, "");
  assert.equal(endpoint.kms.calls.length, before, `${where}: KMS was called`);
}

Deno.test("scripts reject unknown flags first", async () => {
  for (const flag of ["--key-id", "--out", "--claim", "--merge", "--help"]) {
    assert.ok(KNOWN_FLAGS.has(flag), flag);
  }
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...SCRIPTS),
      unknownFlag,
      fc.nat(),
      async ({ script, usage, valid }, flag, position) => {
        const args: string[] = ["--key-id", key.keyId, ...valid];
        // Insert before any flag or at the end, not between a flag and
        // its value, where parseArgs would take it as the value.
        args.splice(2 * (position % (args.length / 2 + 1)), 0, flag);
        await assertUsageError(
          endpoint,
          script,
          usage,
          args,
          `Unknown option '${flag}'`,
        );
      },
    ),
    { numRuns: 12 },
  );
});

Deno.test("scripts reject missing flag values", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  const cases = SCRIPTS.flatMap(({ script, usage, valid, stringFlags }) =>
    stringFlags.map((flag) => ({ script, usage, valid, flag }))
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...cases),
      fc.boolean(),
      async ({ script, usage, valid, flag }, atEnd) => {
        // At the end the value is missing; before another flag it is
        // ambiguous, and parseArgs rejects both.
        const args = atEnd
          ? ["--key-id", key.keyId, ...valid, flag]
          : [flag, "--key-id", key.keyId, ...valid];
        await assertUsageError(
          endpoint,
          script,
          usage,
          args,
          atEnd
            ? `Option '${flag} <value>' argument missing`
            : `Option '${flag}' argument is ambiguous`,
        );
      },
    ),
    { numRuns: 12 },
  );
});

Deno.test("scripts reject conflicting flags", async () => {
  await using endpoint = await startEndpoint();
  const key = await endpoint.createKey("ECC_NIST_P256");
  for (const { script, usage, conflicts } of SCRIPTS) {
    for (const [args, message] of conflicts) {
      await assertUsageError(
        endpoint,
        script,
        usage,
        ["--key-id", key.keyId, ...args],
        message,
      );
    }
  }
});
