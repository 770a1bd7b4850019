import assert from "node:assert/strict";
import {
  CreateKeyCommand,
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  KMSClient,
  KMSInvalidSignatureException,
  SignCommand,
  type SigningAlgorithmSpec,
  VerifyCommand,
} from "@aws-sdk/client-kms";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { shake256 } from "@noble/hashes/sha3.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import {
  bytesEqual,
  concatBytes,
  readChildren,
  readDer,
  readUnsignedInteger,
  Tag,
} from "../lib/der.ts";
import { startLocalKms } from "../lib/local_kms/mod.ts";
import { openssl, tempDir } from "./_helpers.ts";

const MESSAGE = new TextEncoder().encode("local KMS signs this message");
type HashName = "SHA-256" | "SHA-384" | "SHA-512";

async function digest(hash: HashName, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, data.slice()));
}

/** Converts DER `SEQUENCE { r, s }` to fixed-size `r || s` for WebCrypto. */
function derToRaw(der: Uint8Array, size: number): Uint8Array {
  const [r, s] = readChildren(readDer(der, Tag.SEQUENCE)).map((tlv) =>
    readUnsignedInteger(tlv)
  );
  const out = new Uint8Array(2 * size);
  out.set(r!, size - r!.length);
  out.set(s!, 2 * size - s!.length);
  return out;
}

function bigIntOf(bytes: Uint8Array): bigint {
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

/** Returns the BIT STRING contents of an SPKI without the unused-bits octet. */
function spkiKeyBytes(spki: Uint8Array): Uint8Array {
  const [, bits] = readChildren(readDer(spki, Tag.SEQUENCE));
  assert.equal(bits!.tag, Tag.BIT_STRING);
  assert.equal(bits!.contents[0], 0);
  return bits!.contents.slice(1);
}

async function webCryptoExport(
  spki: Uint8Array,
  algorithm: RsaHashedImportParams | EcKeyImportParams | Algorithm,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "spki",
    spki.slice(),
    algorithm,
    true,
    ["verify"],
  );
  return new Uint8Array(await crypto.subtle.exportKey("spki", key));
}

interface Fixture {
  client: KMSClient;
  create(keySpec: string, keyUsage?: string): Promise<string>;
  publicKey(keyId: string): Promise<GetPublicKeyCommandOutput>;
  sign(
    keyId: string,
    algorithm: string,
    message: Uint8Array,
    messageType?: "RAW" | "DIGEST" | "EXTERNAL_MU",
  ): Promise<Uint8Array>;
  kmsVerify(
    keyId: string,
    algorithm: string,
    message: Uint8Array,
    signature: Uint8Array,
    messageType?: "RAW" | "DIGEST" | "EXTERNAL_MU",
  ): Promise<boolean>;
}

function fixture(url: string): Fixture {
  const client = new KMSClient({
    endpoint: url,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
  });
  return {
    client,
    async create(keySpec, keyUsage = "SIGN_VERIFY") {
      const out = await client.send(
        new CreateKeyCommand({
          KeySpec: keySpec as never,
          KeyUsage: keyUsage as never,
        }),
      );
      return out.KeyMetadata!.KeyId!;
    },
    publicKey: (keyId) =>
      client.send(new GetPublicKeyCommand({ KeyId: keyId })),
    async sign(keyId, algorithm, message, messageType = "RAW") {
      const out = await client.send(
        new SignCommand({
          KeyId: keyId,
          Message: message,
          MessageType: messageType,
          SigningAlgorithm: algorithm as SigningAlgorithmSpec,
        }),
      );
      assert.equal(out.SigningAlgorithm, algorithm);
      return out.Signature!;
    },
    async kmsVerify(keyId, algorithm, message, signature, messageType = "RAW") {
      const out = await client.send(
        new VerifyCommand({
          KeyId: keyId,
          Message: message,
          MessageType: messageType,
          Signature: signature,
          SigningAlgorithm: algorithm as SigningAlgorithmSpec,
        }),
      );
      return out.SignatureValid === true;
    },
  };
}

const RSA_ALGORITHMS: [string, HashName, "PKCS1" | "PSS"][] = [
  ["RSASSA_PKCS1_V1_5_SHA_256", "SHA-256", "PKCS1"],
  ["RSASSA_PKCS1_V1_5_SHA_384", "SHA-384", "PKCS1"],
  ["RSASSA_PKCS1_V1_5_SHA_512", "SHA-512", "PKCS1"],
  ["RSASSA_PSS_SHA_256", "SHA-256", "PSS"],
  ["RSASSA_PSS_SHA_384", "SHA-384", "PSS"],
  ["RSASSA_PSS_SHA_512", "SHA-512", "PSS"],
];

const HASH_LENGTH: Record<HashName, number> = {
  "SHA-256": 32,
  "SHA-384": 48,
  "SHA-512": 64,
};

Deno.test("local KMS RSA signs for WebCrypto", async (t) => {
  await using kms = await startLocalKms();
  const f = fixture(kms.url);
  for (const keySpec of ["RSA_2048", "RSA_3072", "RSA_4096"]) {
    await t.step(keySpec, async () => {
      const keyId = await f.create(keySpec);
      const got = await f.publicKey(keyId);
      assert.equal(got.KeySpec, keySpec);
      assert.equal(got.KeyUsage, "SIGN_VERIFY");
      assert.deepEqual(got.SigningAlgorithms, RSA_ALGORITHMS.map((a) => a[0]));
      const spki = got.PublicKey!;
      // The SPKI is exactly what WebCrypto re-encodes from it.
      assert.ok(bytesEqual(
        await webCryptoExport(spki, {
          name: "RSASSA-PKCS1-v1_5",
          hash: "SHA-256",
        }),
        spki,
      ));
      const modulusBytes = Number(keySpec.slice(4)) / 8;
      for (const [algorithm, hash, scheme] of RSA_ALGORITHMS) {
        const params = scheme === "PKCS1"
          ? { name: "RSASSA-PKCS1-v1_5", hash }
          : { name: "RSA-PSS", hash };
        const key = await crypto.subtle.importKey(
          "spki",
          spki.slice(),
          params,
          false,
          ["verify"],
        );
        const verifyParams = scheme === "PKCS1"
          ? { name: "RSASSA-PKCS1-v1_5" }
          : { name: "RSA-PSS", saltLength: HASH_LENGTH[hash] };
        const raw = await f.sign(keyId, algorithm, MESSAGE);
        assert.equal(raw.length, modulusBytes, algorithm);
        assert.ok(
          await crypto.subtle.verify(verifyParams, key, raw.slice(), MESSAGE),
          `${algorithm} RAW`,
        );
        // A DIGEST signature verifies as a signature of the message.
        const signed = await f.sign(
          keyId,
          algorithm,
          await digest(hash, MESSAGE),
          "DIGEST",
        );
        assert.ok(
          await crypto.subtle.verify(
            verifyParams,
            key,
            signed.slice(),
            MESSAGE,
          ),
          `${algorithm} DIGEST`,
        );
        assert.ok(await f.kmsVerify(keyId, algorithm, MESSAGE, signed));
      }
      // PKCS#1 v1.5 is deterministic; PSS is salted at random.
      assert.deepEqual(
        await f.sign(keyId, "RSASSA_PKCS1_V1_5_SHA_256", MESSAGE),
        await f.sign(keyId, "RSASSA_PKCS1_V1_5_SHA_256", MESSAGE),
      );
      assert.notDeepEqual(
        await f.sign(keyId, "RSASSA_PSS_SHA_256", MESSAGE),
        await f.sign(keyId, "RSASSA_PSS_SHA_256", MESSAGE),
      );
    });
  }
  f.client.destroy();
});

Deno.test("local KMS RSA and P-256 for OpenSSL", async () => {
  await using kms = await startLocalKms();
  await using dir = await tempDir();
  const f = fixture(kms.url);
  const files = (name: string) => `${dir.path}/${name}`;
  const rsa = await f.create("RSA_2048");
  const p256 = await f.create("ECC_NIST_P256");
  const k1 = await f.create("ECC_SECG_P256K1");
  for (const [name, keyId] of [["rsa", rsa], ["p256", p256], ["k1", k1]]) {
    await Deno.writeFile(
      files(`${name}.der`),
      (await f.publicKey(keyId!)).PublicKey!,
    );
  }
  await Deno.writeFile(files("data"), MESSAGE);
  const sha256 = await digest("SHA-256", MESSAGE);
  await Deno.writeFile(files("digest"), sha256);

  const cases: {
    name: string;
    keyId: string;
    key: string;
    algorithm: string;
    type: "RAW" | "DIGEST";
    args: string[];
  }[] = [
    {
      name: "PKCS1 dgst",
      keyId: rsa,
      key: "rsa",
      algorithm: "RSASSA_PKCS1_V1_5_SHA_256",
      type: "RAW",
      args: ["dgst", "-sha256", "-keyform", "DER", "-verify"],
    },
    {
      name: "PSS dgst salt 32",
      keyId: rsa,
      key: "rsa",
      algorithm: "RSASSA_PSS_SHA_256",
      type: "RAW",
      args: [
        "dgst",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-keyform",
        "DER",
        "-verify",
      ],
    },
    {
      name: "PKCS1 pkeyutl digest",
      keyId: rsa,
      key: "rsa",
      algorithm: "RSASSA_PKCS1_V1_5_SHA_256",
      type: "DIGEST",
      args: [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-keyform",
        "DER",
        "-pkeyopt",
        "digest:sha256",
        "-inkey",
      ],
    },
    {
      name: "P-256 pkeyutl digest",
      keyId: p256,
      key: "p256",
      algorithm: "ECDSA_SHA_256",
      type: "DIGEST",
      args: ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey"],
    },
    {
      name: "secp256k1 pkeyutl digest",
      keyId: k1,
      key: "k1",
      algorithm: "ECDSA_SHA_256",
      type: "DIGEST",
      args: ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey"],
    },
  ];
  for (const c of cases) {
    const signature = await f.sign(
      c.keyId,
      c.algorithm,
      c.type === "RAW" ? MESSAGE : sha256,
      c.type,
    );
    await Deno.writeFile(files("sig"), signature);
    const tail = c.args[0] === "dgst"
      ? [files(`${c.key}.der`), "-signature", files("sig"), files("data")]
      : [
        files(`${c.key}.der`),
        "-in",
        files("digest"),
        "-sigfile",
        files("sig"),
      ];
    const ok = await openssl([...c.args, ...tail]);
    assert.equal(ok.code, 0, `${c.name}: ${ok.stderr}`);
    assert.match(ok.stdout, /Verified OK|Signature Verified Successfully/);

    // One flipped bit makes OpenSSL reject it.
    signature[10]! ^= 1;
    await Deno.writeFile(files("sig"), signature);
    const bad = await openssl([...c.args, ...tail]);
    assert.notEqual(bad.code, 0, `${c.name} accepted a bad signature`);
  }

  // The PSS salt is as long as the hash: OpenSSL refuses salt length 20.
  await Deno.writeFile(
    files("sig"),
    await f.sign(rsa, "RSASSA_PSS_SHA_256", MESSAGE),
  );
  const wrongSalt = await openssl([
    "dgst",
    "-sha256",
    "-sigopt",
    "rsa_padding_mode:pss",
    "-sigopt",
    "rsa_pss_saltlen:20",
    "-keyform",
    "DER",
    "-verify",
    files("rsa.der"),
    "-signature",
    files("sig"),
    files("data"),
  ]);
  assert.notEqual(wrongSalt.code, 0);
  f.client.destroy();
});

const NIST: [string, string, HashName, number][] = [
  ["ECC_NIST_P256", "P-256", "SHA-256", 32],
  ["ECC_NIST_P384", "P-384", "SHA-384", 48],
  ["ECC_NIST_P521", "P-521", "SHA-512", 66],
];

Deno.test("local KMS ECDSA NIST for WebCrypto", async (t) => {
  await using kms = await startLocalKms();
  const f = fixture(kms.url);
  for (const [keySpec, curve, hash, size] of NIST) {
    await t.step(keySpec, async () => {
      const keyId = await f.create(keySpec);
      const got = await f.publicKey(keyId);
      const algorithm = `ECDSA_SHA_${hash.slice(4)}`;
      assert.deepEqual(got.SigningAlgorithms, [algorithm]);
      assert.equal(got.KeySpec, keySpec);
      const spki = got.PublicKey!;
      const params = { name: "ECDSA", namedCurve: curve };
      assert.ok(bytesEqual(await webCryptoExport(spki, params), spki));
      // Uncompressed point.
      assert.equal(spkiKeyBytes(spki)[0], 4);
      assert.equal(spkiKeyBytes(spki).length, 1 + 2 * size);
      const key = await crypto.subtle.importKey(
        "spki",
        spki.slice(),
        params,
        false,
        ["verify"],
      );
      const raw = await f.sign(keyId, algorithm, MESSAGE);
      assert.ok(
        await crypto.subtle.verify(
          { name: "ECDSA", hash },
          key,
          derToRaw(raw, size).slice(),
          MESSAGE,
        ),
      );
      // DIGEST is signed as is: it verifies as a signature of the message.
      const d = await f.sign(
        keyId,
        algorithm,
        await digest(hash, MESSAGE),
        "DIGEST",
      );
      assert.ok(
        await crypto.subtle.verify(
          { name: "ECDSA", hash },
          key,
          derToRaw(d, size).slice(),
          MESSAGE,
        ),
      );
      // And KMS Verify takes a RAW signature back as DIGEST.
      assert.ok(
        await f.kmsVerify(
          keyId,
          algorithm,
          await digest(hash, MESSAGE),
          raw,
          "DIGEST",
        ),
      );
    });
  }
  f.client.destroy();
});

Deno.test("local KMS ECDSA does not force low S", async () => {
  await using kms = await startLocalKms();
  const f = fixture(kms.url);
  const keyId = await f.create("ECC_NIST_P256");
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  let high = 0;
  for (let i = 0; i < 40; i++) {
    const der = await f.sign(keyId, "ECDSA_SHA_256", MESSAGE);
    const [, s] = readChildren(readDer(der, Tag.SEQUENCE));
    if (bigIntOf(readUnsignedInteger(s!)) > n / 2n) high++;
  }
  // With random k, about half are high-S; none in 40 has odds 2^-40.
  assert.ok(high > 0, `high-S count ${high}`);
  assert.ok(high < 40, `high-S count ${high}`);
  f.client.destroy();
});

Deno.test("local KMS secp256k1 for noble", async () => {
  await using kms = await startLocalKms();
  const f = fixture(kms.url);
  const keyId = await f.create("ECC_SECG_P256K1");
  const got = await f.publicKey(keyId);
  assert.equal(got.KeySpec, "ECC_SECG_P256K1");
  assert.deepEqual(got.SigningAlgorithms, ["ECDSA_SHA_256"]);
  const [algorithm, curve] = readChildren(
    readChildren(readDer(got.PublicKey!, Tag.SEQUENCE))[0]!,
  );
  assert.deepEqual(
    [algorithm!.contents, curve!.contents],
    // id-ecPublicKey, secp256k1
    [
      Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01),
      Uint8Array.of(0x2b, 0x81, 0x04, 0x00, 0x0a),
    ],
  );
  const point = spkiKeyBytes(got.PublicKey!);
  const sha = await digest("SHA-256", MESSAGE);
  for (const type of ["RAW", "DIGEST"] as const) {
    const signature = await f.sign(
      keyId,
      "ECDSA_SHA_256",
      type === "RAW" ? MESSAGE : sha,
      type,
    );
    assert.ok(
      secp256k1.verify(signature, sha, point, {
        prehash: false,
        lowS: false,
        format: "der",
      }),
      type,
    );
  }
  f.client.destroy();
});

Deno.test("local KMS Ed25519 and Ed25519ph", async () => {
  await using kms = await startLocalKms();
  const f = fixture(kms.url);
  const keyId = await f.create("ECC_NIST_EDWARDS25519");
  const got = await f.publicKey(keyId);
  assert.equal(got.KeySpec, "ECC_NIST_EDWARDS25519");
  assert.deepEqual(got.SigningAlgorithms, [
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
  ]);
  assert.equal(got.CustomerMasterKeySpec, undefined);
  const spki = got.PublicKey!;
  assert.equal(spki.length, 44);
  assert.ok(bytesEqual(await webCryptoExport(spki, { name: "Ed25519" }), spki));
  const key = await crypto.subtle.importKey(
    "spki",
    spki.slice(),
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  const pure = await f.sign(keyId, "ED25519_SHA_512", MESSAGE);
  assert.equal(pure.length, 64);
  assert.ok(
    await crypto.subtle.verify({ name: "Ed25519" }, key, pure.slice(), MESSAGE),
  );
  // Ed25519ph (RFC 8032) over the SHA-512 digest; noble hashes the
  // message itself, so a match shows the digest was not hashed again.
  const ph = await f.sign(
    keyId,
    "ED25519_PH_SHA_512",
    await digest("SHA-512", MESSAGE),
    "DIGEST",
  );
  assert.ok(ed25519ph.verify(ph, MESSAGE, spkiKeyBytes(spki)));
  assert.ok(!ed25519ph.verify(pure, MESSAGE, spkiKeyBytes(spki)));
  assert.ok(
    await f.kmsVerify(
      keyId,
      "ED25519_PH_SHA_512",
      await digest("SHA-512", MESSAGE),
      ph,
      "DIGEST",
    ),
  );
  f.client.destroy();
});

const ML_DSA = [
  ["ML_DSA_44", ml_dsa44, "2.16.840.1.101.3.4.3.17", 1312, 2420],
  ["ML_DSA_65", ml_dsa65, "2.16.840.1.101.3.4.3.18", 1952, 3309],
  ["ML_DSA_87", ml_dsa87, "2.16.840.1.101.3.4.3.19", 2592, 4627],
] as const;

Deno.test("local KMS ML-DSA pure and external mu", async (t) => {
  await using kms = await startLocalKms();
  const f = fixture(kms.url);
  for (const [keySpec, dsa, oid, publicBytes, signatureBytes] of ML_DSA) {
    await t.step(keySpec, async () => {
      const keyId = await f.create(keySpec);
      const got = await f.publicKey(keyId);
      assert.equal(got.KeySpec, keySpec);
      assert.deepEqual(got.SigningAlgorithms, ["ML_DSA_SHAKE_256"]);
      const [algorithm] = readChildren(readDer(got.PublicKey!, Tag.SEQUENCE));
      const [oidTlv, ...params] = readChildren(algorithm!);
      const last = Number(oid.split(".").at(-1));
      assert.deepEqual(
        oidTlv!.contents,
        Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, last),
      );
      assert.equal(params.length, 0, "RFC 9881: parameters absent");
      const publicKey = spkiKeyBytes(got.PublicKey!);
      assert.equal(publicKey.length, publicBytes);

      const pure = await f.sign(keyId, "ML_DSA_SHAKE_256", MESSAGE);
      assert.equal(pure.length, signatureBytes);
      assert.ok(dsa.verify(pure, MESSAGE, publicKey));

      // FIPS 204: mu = SHAKE256(SHAKE256(pk, 64) || 0 || 0 || M, 64) with
      // an empty context; signing mu gives a pure signature of M.
      const tr = shake256(publicKey, { dkLen: 64 });
      const mu = shake256(concatBytes(tr, Uint8Array.of(0, 0), MESSAGE), {
        dkLen: 64,
      });
      const external = await f.sign(
        keyId,
        "ML_DSA_SHAKE_256",
        mu,
        "EXTERNAL_MU",
      );
      assert.ok(dsa.verify(external, MESSAGE, publicKey));
      assert.ok(
        await f.kmsVerify(keyId, "ML_DSA_SHAKE_256", MESSAGE, external),
      );
    });
  }
  f.client.destroy();
});

Deno.test("local KMS SM2DSA for OpenSSL", async () => {
  await using kms = await startLocalKms();
  await using dir = await tempDir();
  const f = fixture(kms.url);
  const keyId = await f.create("SM2");
  const got = await f.publicKey(keyId);
  assert.equal(got.KeySpec, "SM2");
  assert.deepEqual(got.SigningAlgorithms, ["SM2DSA"]);
  const pub = `${dir.path}/sm2.der`;
  await Deno.writeFile(pub, got.PublicKey!);
  // OpenSSL decodes the point on its own SM2 curve, which checks it.
  const text = await openssl([
    "pkey",
    "-pubin",
    "-inform",
    "DER",
    "-in",
    pub,
    "-text",
    "-noout",
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /ASN1 OID: SM2/);

  // RAW: KMS hashes SM3(Z_A || M) with the default distinguishing ID.
  await Deno.writeFile(`${dir.path}/data`, MESSAGE);
  const raw = await f.sign(keyId, "SM2DSA", MESSAGE);
  await Deno.writeFile(`${dir.path}/raw.sig`, raw);
  const dgst = (id: string) =>
    openssl([
      "dgst",
      "-sm3",
      "-keyform",
      "DER",
      "-verify",
      pub,
      "-sigopt",
      `distid:${id}`,
      "-signature",
      `${dir.path}/raw.sig`,
      `${dir.path}/data`,
    ]);
  const ok = await dgst("1234567812345678");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Verified OK/);
  assert.notEqual((await dgst("another-id")).code, 0);

  // DIGEST: the 32 bytes are the e that SM2DSA signs as is.
  const e = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeFile(`${dir.path}/e`, e);
  const signed = await f.sign(keyId, "SM2DSA", e, "DIGEST");
  await Deno.writeFile(`${dir.path}/e.sig`, signed);
  const checked = await openssl([
    "pkeyutl",
    "-verify",
    "-pubin",
    "-keyform",
    "DER",
    "-inkey",
    pub,
    "-in",
    `${dir.path}/e`,
    "-sigfile",
    `${dir.path}/e.sig`,
  ]);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /Signature Verified Successfully/);
  assert.ok(await f.kmsVerify(keyId, "SM2DSA", MESSAGE, raw));
  assert.ok(await f.kmsVerify(keyId, "SM2DSA", e, signed, "DIGEST"));
  await assert.rejects(
    f.kmsVerify(keyId, "SM2DSA", e, raw, "DIGEST"),
    KMSInvalidSignatureException,
  );
  f.client.destroy();
});
