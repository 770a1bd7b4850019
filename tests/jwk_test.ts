import assert from "node:assert/strict";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { ml_dsa44 } from "@noble/post-quantum/ml-dsa.js";
import {
  calculateJwkThumbprint,
  exportJWK,
  importJWK,
  importSPKI,
  jwtVerify,
  SignJWT,
} from "jose";
import {
  encodeBitString,
  encodeOid,
  encodeSequence,
  fromHex,
} from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";
import {
  jwkThumbprint,
  type PublicJwk,
  publicJwkFor,
  spkiToJwk,
} from "../lib/jwk.ts";
import { KeyAlgorithmOid } from "../lib/oids.ts";

function decode(text: unknown): Uint8Array {
  assert.equal(typeof text, "string");
  assert.match(text as string, /^[A-Za-z0-9_-]+$/);
  return Uint8Array.fromBase64(text as string, { alphabet: "base64url" });
}

function toPem(spki: Uint8Array): string {
  return `-----BEGIN PUBLIC KEY-----\n${spki.toBase64()}\n-----END PUBLIC KEY-----`;
}

interface WebCryptoCase {
  /** The case name. */
  name: string;
  /** The WebCrypto key generation algorithm. */
  algorithm: AlgorithmIdentifier | RsaHashedKeyGenParams | EcKeyGenParams;
  /** The JWS alg that publicJwkFor picks by default. */
  alg: string;
  /** The JWK members that carry the key. */
  members: string[];
}

const RSA_PARAMS = {
  name: "RSASSA-PKCS1-v1_5",
  publicExponent: Uint8Array.of(1, 0, 1),
  hash: "SHA-256",
};

const WEBCRYPTO_CASES: WebCryptoCase[] = [
  ...[2048, 3072, 4096].map((bits) => ({
    name: `RSA_${bits}`,
    algorithm: { ...RSA_PARAMS, modulusLength: bits },
    alg: "RS256",
    members: ["kty", "n", "e"],
  })),
  ...[["P-256", "ES256"], ["P-384", "ES384"], ["P-521", "ES512"]].map((
    [curve, alg],
  ) => ({
    name: curve!,
    algorithm: { name: "ECDSA", namedCurve: curve! },
    alg: alg!,
    members: ["kty", "crv", "x", "y"],
  })),
  {
    name: "Ed25519",
    algorithm: { name: "Ed25519" },
    alg: "EdDSA",
    members: ["kty", "crv", "x"],
  },
  ...["ML-DSA-44", "ML-DSA-65", "ML-DSA-87"].map((name) => ({
    name,
    algorithm: { name },
    alg: name,
    members: ["kty", "pub", "alg"],
  })),
];

interface KeyFixture {
  pair: CryptoKeyPair;
  spki: Uint8Array;
  webCryptoJwk: JsonWebKey;
}

const fixtures = new Map<string, Promise<KeyFixture>>();

/** Generates one key pair per case and reuses it across tests. */
function fixture(testCase: WebCryptoCase): Promise<KeyFixture> {
  let promise = fixtures.get(testCase.name);
  if (promise === undefined) {
    promise = (async () => {
      const pair = await crypto.subtle.generateKey(
        testCase.algorithm,
        true,
        ["sign", "verify"],
      ) as CryptoKeyPair;
      return {
        pair,
        spki: new Uint8Array(
          await crypto.subtle.exportKey("spki", pair.publicKey),
        ),
        webCryptoJwk: await crypto.subtle.exportKey("jwk", pair.publicKey),
      };
    })();
    fixtures.set(testCase.name, promise);
  }
  return promise;
}

function pick(jwk: object, members: string[]): Record<string, unknown> {
  const record = jwk as Record<string, unknown>;
  return Object.fromEntries(members.map((member) => [member, record[member]]));
}

async function assertRejectsWith(
  action: () => Promise<unknown>,
  code: string,
  substrings: string[],
  label = "",
): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError, `${label}: ${error}`);
    assert.equal(error.code, code, label);
    for (const substring of substrings) {
      assert.ok(
        error.message.includes(substring),
        `${label}: '${error.message}' lacks '${substring}'`,
      );
    }
    return true;
  });
}

/** Runs the OpenSSL CLI and returns its standard output. */
async function openssl(
  args: string[],
  input?: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input) {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  }
  const output = await child.output();
  if (!output.success) {
    throw new Error(new TextDecoder().decode(output.stderr));
  }
  return output.stdout;
}

/** Generates a key with OpenSSL and returns its DER SPKI. */
async function opensslSpki(pkeyopts: string[]): Promise<Uint8Array> {
  const pem = await openssl(["genpkey", ...pkeyopts]);
  return await openssl(["pkey", "-pubout", "-outform", "DER"], pem);
}

Deno.test("jwkThumbprint RFC 7638 vector", async () => {
  // RFC 7638 section 3.1, the RSA key of RFC 7517 appendix A.1.
  const jwk = {
    kty: "RSA",
    n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    e: "AQAB",
    alg: "RS256",
    kid: "2011-04-29",
  };

  assert.equal(
    await jwkThumbprint(jwk),
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
  );
  assert.equal(await jwkThumbprint(jwk), await calculateJwkThumbprint(jwk));
});

Deno.test("jwkThumbprint RFC 8037 vector", async () => {
  // RFC 8037 appendix A.3.
  const jwk = {
    kty: "OKP",
    crv: "Ed25519",
    x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
  };

  assert.equal(
    await jwkThumbprint(jwk),
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
  );
});

Deno.test("jwkThumbprint ML-DSA draft vector", async () => {
  // draft-ietf-cose-dilithium-11 appendix A.1: the ML-DSA-44 key of the
  // all-zero seed, whose kid is its thumbprint.
  const { publicKey } = ml_dsa44.keygen(new Uint8Array(32));
  const spki = encodeSequence(
    encodeSequence(encodeOid(KeyAlgorithmOid.idMlDsa44)),
    encodeBitString(publicKey),
  );
  const jwk = spkiToJwk(spki);

  assert.deepEqual(Object.keys(jwk), ["kty", "pub", "alg"]);
  assert.equal(jwk.kty, "AKP");
  assert.equal(jwk.alg, "ML-DSA-44");
  assert.ok((jwk.pub as string).startsWith("unH59k4RuutY-pxvu24U5h8YZD2rSVtH"));
  assert.ok((jwk.pub as string).endsWith("DZgbTP07e7gEWzw4MFRrndjbDQ"));
  assert.equal(
    await jwkThumbprint(jwk),
    "T4xl70S7MT6Zeq6r9V9fPJGVn76wfnXJ21-gyo0Gu6o",
  );
  assert.equal(await jwkThumbprint(jwk), await calculateJwkThumbprint(jwk));
});

Deno.test("spkiToJwk matches WebCrypto and jose", async () => {
  for (const testCase of WEBCRYPTO_CASES) {
    const { spki, webCryptoJwk } = await fixture(testCase);
    const jwk = spkiToJwk(spki);
    const joseKey = await importSPKI(toPem(spki), testCase.alg, {
      extractable: true,
    });
    const joseJwk = await exportJWK(joseKey);

    assert.deepEqual(Object.keys(jwk), testCase.members, testCase.name);
    assert.deepEqual(jwk, pick(webCryptoJwk, testCase.members), testCase.name);
    assert.deepEqual(jwk, pick(joseJwk, testCase.members), testCase.name);
    assert.equal(
      await jwkThumbprint(jwk),
      await calculateJwkThumbprint(joseJwk),
      testCase.name,
    );
  }
});

Deno.test("spkiToJwk RSA modulus lengths", async () => {
  const rsaCases = WEBCRYPTO_CASES.filter((testCase) =>
    testCase.name.startsWith("RSA_")
  );
  for (const testCase of rsaCases) {
    const { spki } = await fixture(testCase);
    const jwk = spkiToJwk(spki);
    const bits = Number(testCase.name.slice(4));
    const modulus = decode(jwk.n);

    assert.equal(modulus.length, bits / 8, testCase.name);
    assert.ok(modulus[0]! >= 0x80, testCase.name);
    assert.equal(jwk.e, "AQAB");
  }
});

Deno.test("spkiToJwk leading-zero coordinates", async () => {
  const curves = [
    { curve: "P-256", noble: p256, size: 32, zeros: 1 },
    { curve: "P-384", noble: p384, size: 48, zeros: 1 },
    // A P-521 coordinate always starts with 7 zero bits, so ask for two
    // whole zero bytes.
    { curve: "P-521", noble: p521, size: 66, zeros: 2 },
  ];
  for (const { curve, noble, size, zeros } of curves) {
    for (const coordinate of ["x", "y"] as const) {
      const offset = coordinate === "x" ? 1 : 1 + size;
      let point: Uint8Array;
      do {
        point = noble.getPublicKey(noble.utils.randomSecretKey(), false);
      } while (point.subarray(offset, offset + zeros).some((b) => b !== 0));

      const key = await crypto.subtle.importKey(
        "raw",
        new Uint8Array(point),
        { name: "ECDSA", namedCurve: curve },
        true,
        ["verify"],
      );
      const spki = new Uint8Array(await crypto.subtle.exportKey("spki", key));
      const jwk = spkiToJwk(spki);
      const joseJwk = await exportJWK(key);
      const value = decode(jwk[coordinate]);

      assert.equal(value.length, size, `${curve} ${coordinate}`);
      assert.deepEqual(value, point.subarray(offset, offset + size));
      assert.equal(jwk[coordinate], joseJwk[coordinate]);
      assert.equal(await jwkThumbprint(jwk), await calculateJwkThumbprint(key));
    }
  }
});

Deno.test("spkiToJwk secp256k1 per RFC 8812", async () => {
  const spki = await opensslSpki([
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:secp256k1",
  ]);
  const text = new TextDecoder().decode(
    await openssl(
      ["pkey", "-pubin", "-inform", "DER", "-text", "-noout"],
      spki,
    ),
  );
  const point = fromHex(
    text.split("pub:")[1]!.split("ASN1 OID")[0]!.replace(/[^0-9a-f]/g, ""),
  );
  const compressed = await openssl([
    "ec",
    "-pubin",
    "-inform",
    "DER",
    "-conv_form",
    "compressed",
    "-outform",
    "DER",
  ], spki);
  const jwk = spkiToJwk(spki);

  assert.deepEqual(Object.keys(jwk), ["kty", "crv", "x", "y"]);
  assert.equal(jwk.crv, "secp256k1");
  assert.deepEqual(decode(jwk.x), point.subarray(1, 33));
  assert.deepEqual(decode(jwk.y), point.subarray(33));
  assert.deepEqual(spkiToJwk(compressed), jwk);
  assert.equal(await jwkThumbprint(jwk), await calculateJwkThumbprint(jwk));
});

Deno.test("spkiToJwk rejects SM2", async () => {
  const spki = await opensslSpki([
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:SM2",
  ]);

  assert.throws(() => spkiToJwk(spki), (error: unknown) => {
    assert.ok(error instanceof KmsToolkitError);
    assert.equal(error.code, "UNSUPPORTED_KEY");
    assert.ok(error.message.includes("no JWK curve name is registered"));
    return true;
  });
});

Deno.test("publicJwkFor defaults per key", async () => {
  for (const testCase of WEBCRYPTO_CASES) {
    const { pair, spki } = await fixture(testCase);
    const jwk = await publicJwkFor(spki);
    const keyMembers = testCase.members.filter((member) => member !== "alg");

    assert.deepEqual(
      Object.keys(jwk),
      [...keyMembers, "alg", "use", "kid"],
      testCase.name,
    );
    assert.equal(jwk.alg, testCase.alg, testCase.name);
    assert.equal(jwk.use, "sig");
    assert.equal(jwk.kid, await calculateJwkThumbprint(jwk));

    // jose accepts the JWK and verifies a token signed by the private key.
    const token = await new SignJWT({ sub: testCase.name })
      .setProtectedHeader({ alg: testCase.alg, kid: jwk.kid as string })
      .sign(pair.privateKey);
    const verifyKey = await importJWK(jwk, testCase.alg);
    const { payload } = await jwtVerify(token, verifyKey);
    assert.equal(payload.sub, testCase.name);
  }
});

Deno.test("publicJwkFor secp256k1 default", async () => {
  const spki = await opensslSpki([
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:secp256k1",
  ]);
  const jwk = await publicJwkFor(spki);

  assert.deepEqual(Object.keys(jwk), [
    "kty",
    "crv",
    "x",
    "y",
    "alg",
    "use",
    "kid",
  ]);
  assert.equal(jwk.alg, "ES256K");
  assert.equal(jwk.kid, await calculateJwkThumbprint(jwk));
});

Deno.test("publicJwkFor member order with options", async () => {
  const expected: Record<string, string[]> = {
    RSA_2048: ["kty", "n", "e", "alg", "use", "key_ops", "kid"],
    "P-256": ["kty", "crv", "x", "y", "alg", "use", "key_ops", "kid"],
    Ed25519: ["kty", "crv", "x", "alg", "use", "key_ops", "kid"],
    "ML-DSA-65": ["kty", "pub", "alg", "use", "key_ops", "kid"],
  };
  for (const [name, members] of Object.entries(expected)) {
    const testCase = WEBCRYPTO_CASES.find((entry) => entry.name === name)!;
    const { spki } = await fixture(testCase);
    const jwk = await publicJwkFor(spki, { keyOps: ["verify"], kid: "k1" });

    assert.deepEqual(Object.keys(jwk), members, name);
    assert.deepEqual(jwk.key_ops, ["verify"]);
    assert.equal(jwk.kid, "k1");
  }
});

Deno.test("publicJwkFor RSA algorithm choices", async () => {
  const { spki } = await fixture(WEBCRYPTO_CASES[0]!);
  const requests: [string, string][] = [
    ["RS256", "RS256"],
    ["RS384", "RS384"],
    ["RS512", "RS512"],
    ["PS256", "PS256"],
    ["PS384", "PS384"],
    ["PS512", "PS512"],
    ["RSASSA_PSS_SHA_256", "PS256"],
  ];
  for (const [requested, alg] of requests) {
    const jwk = await publicJwkFor(spki, { alg: requested });
    assert.equal(jwk.alg, alg, requested);
  }
});

Deno.test("publicJwkFor mismatched algorithms", async () => {
  const byName = (name: string) =>
    WEBCRYPTO_CASES.find((entry) => entry.name === name)!;
  const cases: [string, string, string[]][] = [
    ["P-384", "ES256", ["'ES256'", "ES384 (ECDSA_SHA_384)"]],
    ["RSA_2048", "ES256", ["'ES256'", "RS256", "PS512"]],
    ["P-256", "EdDSA", ["'EdDSA'", "ES256"]],
    ["Ed25519", "RS256", ["'RS256'", "EdDSA"]],
    ["ML-DSA-44", "ML-DSA-65", ["'ML-DSA-65'", "ML-DSA-44"]],
    ["P-256", "none", ["'none'", "ES256"]],
    ["RSA_2048", "HS256", ["'HS256'", "RS256"]],
  ];
  for (const [name, alg, substrings] of cases) {
    const { spki } = await fixture(byName(name));
    await assertRejectsWith(
      () => publicJwkFor(spki, { alg }),
      "UNSUPPORTED_KEY",
      substrings,
      `${name} ${alg}`,
    );
  }
});

Deno.test("publicJwkFor allowed signing algorithms", async () => {
  const { spki } = await fixture(WEBCRYPTO_CASES[0]!);
  const allowed = ["RSASSA_PSS_SHA_384"];

  const jwk = await publicJwkFor(spki, { allowedSigningAlgorithms: allowed });
  assert.equal(jwk.alg, "PS384");
  await assertRejectsWith(
    () =>
      publicJwkFor(spki, { alg: "RS256", allowedSigningAlgorithms: allowed }),
    "UNSUPPORTED_KEY",
    ["'RS256'", "PS384 (RSASSA_PSS_SHA_384)"],
  );
  await assertRejectsWith(
    () => publicJwkFor(spki, { allowedSigningAlgorithms: [] }),
    "UNSUPPORTED_KEY",
    ["allows none"],
  );
});

Deno.test("publicJwkFor use keyOps and kid", async () => {
  const { spki } = await fixture(WEBCRYPTO_CASES[3]!);

  const noUse = await publicJwkFor(spki, { use: null });
  assert.equal(Object.hasOwn(noUse, "use"), false);
  assert.deepEqual(Object.keys(noUse), ["kty", "crv", "x", "y", "alg", "kid"]);

  const invalid: [string, object, string][] = [
    ["use enc", { use: "enc" }, "use 'enc'"],
    ["key_ops sign", { keyOps: ["sign"] }, `key_ops '["sign"]'`],
    ["key_ops empty", { keyOps: [] }, "key_ops '[]'"],
    [
      "key_ops twice",
      { keyOps: ["verify", "verify"] },
      `key_ops '["verify","verify"]'`,
    ],
    ["kid empty", { kid: "" }, "kid ''"],
    ["kid number", { kid: 7 }, "kid '7'"],
  ];
  for (const [name, options, substring] of invalid) {
    await assertRejectsWith(
      () => publicJwkFor(spki, options as never),
      "INVALID_INPUT",
      [substring],
      name,
    );
  }
});

Deno.test("publicJwkFor unsupported keys", async () => {
  const sm2 = await opensslSpki([
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:SM2",
  ]);
  const rsa1024 = await opensslSpki([
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:1024",
  ]);

  await assertRejectsWith(() => publicJwkFor(sm2), "UNSUPPORTED_KEY", [
    "SM2",
  ]);
  await assertRejectsWith(() => publicJwkFor(rsa1024), "UNSUPPORTED_KEY", [
    "'1024' bits",
  ]);
  await assertRejectsWith(
    () => publicJwkFor(Uint8Array.of(0x30, 0)),
    "INVALID_INPUT",
    ["Cannot parse SubjectPublicKeyInfo"],
  );
});

Deno.test("jwkThumbprint invalid JWKs", async () => {
  const ec = {
    kty: "EC",
    crv: "P-256",
    x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
  };
  const unsupported: [string, unknown][] = [
    ["oct", { kty: "oct", k: "AAAA" }],
    ["missing kty", { crv: "P-256" }],
    ["prototype key", { kty: "constructor" }],
    ["numeric kty", { kty: 1 }],
  ];
  for (const [name, jwk] of unsupported) {
    await assertRejectsWith(
      () => jwkThumbprint(jwk as PublicJwk),
      "UNSUPPORTED_KEY",
      ["Cannot compute the thumbprint of a JWK with kty"],
      name,
    );
  }

  const invalid: [PublicJwk, string][] = [
    [{ ...ec, y: undefined }, "EC JWK with y 'undefined'"],
    [{ ...ec, crv: "" }, "EC JWK with crv ''"],
    [{ kty: "RSA", n: 5, e: "AQAB" }, "RSA JWK with n '5'"],
    [{ kty: "AKP", pub: "AAAA" }, "AKP JWK with alg 'undefined'"],
    [{ kty: "OKP", x: "AAAA" }, "OKP JWK with crv 'undefined'"],
  ];
  for (const [jwk, substring] of invalid) {
    await assertRejectsWith(() => jwkThumbprint(jwk), "INVALID_INPUT", [
      substring,
    ]);
  }

  // Members outside the required ones do not change the thumbprint.
  assert.equal(
    await jwkThumbprint({ ...ec, kid: "a", use: "sig", alg: "ES256" }),
    await jwkThumbprint(ec),
  );
});
