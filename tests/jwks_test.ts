import assert from "node:assert/strict";
import fc from "fast-check";
import { calculateJwkThumbprint } from "jose";
import { KmsToolkitError } from "../lib/errors.ts";
import type { PublicJwk } from "../lib/jwk.ts";
import { formatJwks, type Jwks, mergeJwks, parseJwks } from "../lib/jwks.ts";

/** Makes a public Ed25519 JWK with WebCrypto, with the given kid. */
async function ed25519Jwk(kid: string): Promise<PublicJwk> {
  const { publicKey } = await crypto.subtle.generateKey(
    { name: "Ed25519" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const { kty, crv, x } = await crypto.subtle.exportKey("jwk", publicKey);
  return { kty: kty!, crv, x, alg: "EdDSA", use: "sig", kid };
}

async function thumbprintJwk(): Promise<PublicJwk> {
  const jwk = await ed25519Jwk("");
  jwk.kid = await calculateJwkThumbprint(jwk as never, "sha256");
  return jwk;
}

function assertInvalid(error: unknown, message: string): true {
  assert.ok(error instanceof KmsToolkitError, String(error));
  assert.equal(error.code, "INVALID_INPUT");
  assert.ok(error.message.includes(message), error.message);
  return true;
}

Deno.test("parseJwks valid sets", () => {
  const text = JSON.stringify({
    keys: [
      { kty: "RSA", kid: "a", n: "AQ", e: "AQAB", "x-extra": [1, { b: null }] },
      { kty: "future-type", whatever: true },
    ],
    issuer: "someone",
  });
  const jwks = parseJwks(text);
  assert.deepEqual(Object.keys(jwks), ["keys", "issuer"]);
  assert.equal(jwks.issuer, "someone");
  assert.equal(jwks.keys.length, 2);
  assert.deepEqual(jwks.keys[1], { kty: "future-type", whatever: true });
  assert.deepEqual(JSON.parse(formatJwks(jwks)), JSON.parse(text));
  assert.deepEqual(parseJwks('{"keys": []}'), { keys: [] });
});

Deno.test("parseJwks rejects non-JWKS input", () => {
  const cases: [string, string][] = [
    ["", "invalid JSON ("],
    ['{"keys": [', "invalid JSON ("],
    ['{"keys": []} x', "invalid JSON ("],
    ["null", "the JSON text is null, not an object"],
    ["7", "the JSON text is a number, not an object"],
    ['"keys"', "the JSON text is a string, not an object"],
    ["[]", "the JSON text is an array, not an object"],
    ["{}", "the object has no 'keys' member."],
    [
      '{"kty": "RSA"}',
      "the object has no 'keys' member (it looks like a single JWK; wrap",
    ],
    ['{"keys": null}', "'keys' is null, not an array"],
    ['{"keys": "a"}', "'keys' is a string, not an array"],
    ['{"keys": [[]]}', "key 1 is an array, not an object"],
    ['{"keys": [{"kty": "EC"}, 1.5]}', "key 2 is a number, not an object"],
    ['{"keys": [{"kty": ""}]}', "key 1 has no string 'kty'"],
    [
      '{"keys": [{"kty": 1, "kid": "x"}]}',
      "key 1 (kid 'x') has no string 'kty'",
    ],
    ['{"keys": [{"kty": "EC", "kid": null}]}', "key 1 has a 'kid' that is not"],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseJwks(text, { source: "set.json" }),
      (error) =>
        assertInvalid(error, `Cannot read JWKS 'set.json': ${message}`),
      text,
    );
  }
  // Without a source, the message still names the input.
  assert.throws(
    () => parseJwks("[]"),
    (error) => assertInvalid(error, "Cannot read JWKS 'the JWKS': "),
  );
});

Deno.test("parseJwks rejects private members", () => {
  const members = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"];
  for (const member of members) {
    const text = JSON.stringify({
      keys: [{ kty: "EC", kid: "public" }, { kty: "EC", [member]: "AA" }],
    });
    assert.throws(
      () => parseJwks(text, { source: "leak.json" }),
      (error) =>
        assertInvalid(
          error,
          `key 2 has the private key member '${member}'`,
        ),
      member,
    );
  }
});

Deno.test("formatJwks layout", () => {
  const jwks = { keys: [{ kty: "OKP", crv: "Ed25519", x: "AA" }] };
  assert.equal(
    formatJwks(jwks),
    '{\n  "keys": [\n    {\n      "kty": "OKP",\n      "crv": "Ed25519",\n' +
      '      "x": "AA"\n    }\n  ]\n}\n',
  );
  assert.equal(
    formatJwks(jwks, { compact: true }),
    '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}\n',
  );
  assert.equal(
    formatJwks(jwks.keys[0]!, { compact: true }),
    '{"kty":"OKP","crv":"Ed25519","x":"AA"}\n',
  );
});

Deno.test("formatJwks keeps number text", () => {
  const numbers = [
    "12345678901234567890",
    "2.50",
    "1e400",
    "-0",
    "1E-7",
    "0.1",
    "-12",
  ];
  const text = `{"keys":[{"kty":"x","values":[${numbers.join(",")}]}],` +
    `"n":${numbers[0]}}`;
  assert.equal(formatJwks(parseJwks(text), { compact: true }), `${text}\n`);
});

Deno.test("formatJwks integer member names first", () => {
  // JavaScript objects list integer-like names first; values stay.
  const text = '{"keys":[{"kty":"x","b":1,"10":"ten","2":"two"}]}';
  assert.equal(
    formatJwks(parseJwks(text), { compact: true }),
    '{"keys":[{"2":"two","10":"ten","kty":"x","b":1}]}\n',
  );
});

Deno.test("mergeJwks appends new keys", async () => {
  const existing = parseJwks(JSON.stringify({
    "x-first": 1,
    keys: [await ed25519Jwk("old-1"), { kty: "unknown", kid: "old-2", v: 3 }],
    "x-last": { nested: [true] },
  }));
  const snapshot = formatJwks(existing);
  const additions = [await thumbprintJwk(), await ed25519Jwk("new-2")];

  const result = await mergeJwks(existing, additions, { source: "s.json" });
  assert.deepEqual(Object.keys(result.jwks), ["x-first", "keys", "x-last"]);
  assert.deepEqual(result.jwks["x-last"], { nested: [true] });
  assert.deepEqual(
    result.jwks.keys.map((key) => key.kid),
    ["old-1", "old-2", additions[0]!.kid, "new-2"],
  );
  assert.equal(result.jwks.keys[0], existing.keys[0]);
  assert.deepEqual(result.added, additions);
  assert.deepEqual(result.skipped, []);
  assert.deepEqual(result.alsoPublishedAs, []);
  // The input set is not modified.
  assert.equal(formatJwks(existing), snapshot);
});

Deno.test("mergeJwks skips keys already there", async () => {
  const jwk = await thumbprintJwk();
  // Members in another order are the same members.
  const reordered = Object.fromEntries(
    Object.entries(jwk).reverse(),
  ) as PublicJwk;
  const existing: Jwks = { keys: [reordered] };
  const other = await ed25519Jwk("other");
  const result = await mergeJwks(existing, [jwk, other, other]);
  assert.deepEqual(result.jwks.keys, [reordered, other]);
  assert.deepEqual(result.skipped, [jwk, other]);
  assert.deepEqual(result.added, [other]);
});

Deno.test("mergeJwks rejects kid clashes", async () => {
  const published = await ed25519Jwk("shared");
  const another = await ed25519Jwk("shared");
  await assert.rejects(
    mergeJwks({ keys: [{ kty: "EC", kid: "x" }, published] }, [another], {
      source: "pub.json",
    }),
    (error) =>
      assertInvalid(
        error,
        "Cannot add the key with kid 'shared': key 2 (kid 'shared') of " +
          "'pub.json' has that kid with other key material, and a kid must " +
          "name one key.",
      ),
  );

  // A key of the set without a thumbprint cannot be shown to match.
  await assert.rejects(
    mergeJwks({ keys: [{ kty: "future", kid: "shared" }] }, [another]),
    (error) => assertInvalid(error, "has that kid with other key material"),
  );
});

Deno.test("mergeJwks rejects changed members", async () => {
  const jwk = await thumbprintJwk();
  const changed = {
    ...jwk,
    alg: "Ed25519",
    x5c: ["MIIB".repeat(40)],
    use: undefined,
  } as PublicJwk;
  delete changed.use;
  await assert.rejects(
    mergeJwks({ keys: [jwk] }, [changed], { source: "s.json" }),
    (error) =>
      assertInvalid(
        error,
        `Cannot add the key with kid '${jwk.kid}': key 1 (kid '${jwk.kid}') ` +
          `of 's.json' is the same key with other members (alg "EdDSA" ` +
          'there, "Ed25519" here; use "sig" there, absent here; x5c absent ' +
          `there, ["${"MIIB".repeat(8)}MII... here). Remove that key`,
      ),
  );
});

Deno.test("mergeJwks same key under another kid", async () => {
  const jwk = await thumbprintJwk();
  const renamed = { ...jwk, kid: "by-key-id" };
  const result = await mergeJwks({ keys: [jwk] }, [renamed]);
  assert.deepEqual(result.jwks.keys, [jwk, renamed]);
  assert.deepEqual(result.added, [renamed]);
  assert.deepEqual(result.alsoPublishedAs, [{ jwk: renamed, kid: jwk.kid }]);
});

Deno.test("mergeJwks requires kids", async () => {
  const jwk = await ed25519Jwk("");
  await assert.rejects(mergeJwks({ keys: [] }, [jwk]), TypeError);
  delete jwk.kid;
  await assert.rejects(mergeJwks({ keys: [] }, [jwk]), TypeError);
});

Deno.test("mergeJwks keeps arbitrary members", async () => {
  const addition = await ed25519Jwk("added");
  const member = fc.string({ minLength: 1, maxLength: 8 }).filter((name) =>
    !["kty", "kid", "d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"]
      .includes(name)
  );
  const key = fc.record({
    kty: fc.string({ minLength: 1, maxLength: 6 }),
    kid: fc.string({ maxLength: 6 }).filter((kid) => kid !== "added"),
    extra: fc.dictionary(member, fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 4,
    }),
  }).map(({ kty, kid, extra }) => ({ ...extra, kty, kid }));
  const sets = fc.record({
    keys: fc.array(key, { maxLength: 4 }),
    extra: fc.dictionary(
      member.filter((name) => name !== "keys"),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    ),
  });

  await fc.assert(
    fc.asyncProperty(sets, async ({ keys, extra }) => {
      const text = JSON.stringify({ keys, ...extra });
      const result = await mergeJwks(parseJwks(text), [addition]);
      const written = JSON.parse(formatJwks(result.jwks));
      const expected = JSON.parse(text);
      assert.deepEqual(written.keys.slice(0, -1), expected.keys);
      assert.deepEqual(written.keys.at(-1), addition);
      assert.deepEqual({ ...written, keys: [] }, { ...expected, keys: [] });
    }),
    { numRuns: 200 },
  );
});
