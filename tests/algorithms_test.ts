import assert from "node:assert/strict";
import {
  chooseSigningAlgorithm,
  KEY_SPECS,
  keySpecEntry,
  signatureAlgorithmIdentifier,
} from "../lib/algorithms.ts";
import { toHex } from "../lib/der.ts";
import { KmsToolkitError } from "../lib/errors.ts";

function rejects(run: () => unknown, code: string, message: RegExp) {
  assert.throws(
    run,
    (error) =>
      error instanceof KmsToolkitError && error.code === code &&
      message.test(error.message),
  );
}

Deno.test("chooseSigningAlgorithm defaults by key spec", () => {
  const cases: [string, string, string | null, string][] = [
    ["RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "RS256", "SHA-256"],
    ["RSA_4096", "RSASSA_PKCS1_V1_5_SHA_256", "RS256", "SHA-256"],
    ["ECC_NIST_P256", "ECDSA_SHA_256", "ES256", "SHA-256"],
    ["ECC_NIST_P384", "ECDSA_SHA_384", "ES384", "SHA-384"],
    ["ECC_NIST_P521", "ECDSA_SHA_512", "ES512", "SHA-512"],
    ["ECC_SECG_P256K1", "ECDSA_SHA_256", "ES256K", "SHA-256"],
  ];
  for (const [keySpec, signingAlgorithm, jws, hash] of cases) {
    const entry = chooseSigningAlgorithm(keySpec);
    assert.equal(entry.signingAlgorithm, signingAlgorithm, keySpec);
    assert.equal(entry.jwsAlgorithm, jws, keySpec);
    assert.equal(entry.hash, hash, keySpec);
    assert.equal(entry.messageType, "DIGEST", keySpec);
  }
  assert.equal(
    chooseSigningAlgorithm("ECC_NIST_EDWARDS25519").messageType,
    "RAW",
  );
  assert.equal(chooseSigningAlgorithm("ML_DSA_65").messageType, "EXTERNAL_MU");
  assert.equal(chooseSigningAlgorithm("ML_DSA_87").jwsAlgorithm, "ML-DSA-87");
});

Deno.test("signatureAlgorithmIdentifier matches exact bytes", () => {
  const cases: [string, string, string][] = [
    ["RSA_2048", "RS256", "300d06092a864886f70d01010b0500"],
    ["RSA_2048", "RS384", "300d06092a864886f70d01010c0500"],
    ["RSA_2048", "RS512", "300d06092a864886f70d01010d0500"],
    ["ECC_NIST_P256", "ES256", "300a06082a8648ce3d040302"],
    ["ECC_NIST_P384", "ES384", "300a06082a8648ce3d040303"],
    ["ECC_NIST_P521", "ES512", "300a06082a8648ce3d040304"],
    ["ECC_SECG_P256K1", "ES256K", "300a06082a8648ce3d040302"],
    ["ECC_NIST_EDWARDS25519", "EdDSA", "300506032b6570"],
    ["ML_DSA_44", "ML-DSA-44", "300b0609608648016503040311"],
    ["ML_DSA_65", "ML-DSA-65", "300b0609608648016503040312"],
    ["ML_DSA_87", "ML-DSA-87", "300b0609608648016503040313"],
    // RSASSA-PSS-params: hash, MGF1 with the same hash, salt = hash length.
    [
      "RSA_3072",
      "PS256",
      "304106092a864886f70d01010a3034a00f300d06096086480165030402010500" +
      "a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120",
    ],
    [
      "RSA_3072",
      "PS384",
      "304106092a864886f70d01010a3034a00f300d06096086480165030402020500" +
      "a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
    ],
    [
      "RSA_3072",
      "PS512",
      "304106092a864886f70d01010a3034a00f300d06096086480165030402030500" +
      "a11c301a06092a864886f70d010108300d06096086480165030402030500a203020140",
    ],
  ];
  for (const [keySpec, jws, hex] of cases) {
    const entry = chooseSigningAlgorithm(keySpec, { requested: jws });
    assert.equal(
      toHex(signatureAlgorithmIdentifier(entry)),
      hex,
      `${keySpec} ${jws}`,
    );
  }
});

Deno.test("chooseSigningAlgorithm rejects mismatches", () => {
  rejects(
    () =>
      chooseSigningAlgorithm("ECC_NIST_P521", {
        requested: "ES256",
        keyId: "alias/p521",
      }),
    "UNSUPPORTED_KEY",
    /'alias\/p521' \(ECC_NIST_P521\) using 'ES256': the key allows ECDSA_SHA_512/,
  );
  rejects(
    () =>
      chooseSigningAlgorithm("RSA_2048", {
        requested: "ES256",
        purpose: "jws",
      }),
    "UNSUPPORTED_KEY",
    /allows RS256 \(RSASSA_PKCS1_V1_5_SHA_256\), RS384/,
  );
  // ECDSA_SHA_224 does not exist in KMS.
  rejects(
    () =>
      chooseSigningAlgorithm("ECC_NIST_P256", { requested: "ECDSA_SHA_224" }),
    "UNSUPPORTED_KEY",
    /ECDSA_SHA_224/,
  );
  // A KMS allow-list narrower than the key spec is honoured.
  rejects(
    () =>
      chooseSigningAlgorithm("RSA_2048", {
        requested: "PS256",
        allowed: ["RSASSA_PKCS1_V1_5_SHA_256"],
      }),
    "UNSUPPORTED_KEY",
    /allows RSASSA_PKCS1_V1_5_SHA_256\./,
  );
  // Ed25519ph has no certificate OID.
  rejects(
    () =>
      chooseSigningAlgorithm("ECC_NIST_EDWARDS25519", {
        requested: "ED25519_PH_SHA_512",
        purpose: "x509",
      }),
    "UNSUPPORTED_KEY",
    /allows ED25519_SHA_512\./,
  );
});

Deno.test("keySpecEntry rejects non-signing specs", () => {
  rejects(() => keySpecEntry("SM2", "k"), "UNSUPPORTED_KEY", /China Regions/);
  rejects(
    () => keySpecEntry("SYMMETRIC_DEFAULT"),
    "UNSUPPORTED_KEY",
    /SIGN_VERIFY/,
  );
  rejects(
    () => keySpecEntry("HMAC_256"),
    "UNSUPPORTED_KEY",
    /not an asymmetric signing key/,
  );
  rejects(
    () => keySpecEntry("ML_KEM_768"),
    "UNSUPPORTED_KEY",
    /not an asymmetric signing key/,
  );
  rejects(
    () => keySpecEntry("RSA_1024"),
    "UNSUPPORTED_KEY",
    /unknown key spec 'RSA_1024'/,
  );
  assert.equal(KEY_SPECS.length, 11);
});

Deno.test("chooseSigningAlgorithm names in any case", () => {
  const cases: [string, string, string][] = [
    ["ECC_NIST_P256", "es256", "ES256"],
    ["ECC_SECG_P256K1", "es256k", "ES256K"],
    ["ECC_NIST_EDWARDS25519", "EDDSA", "EdDSA"],
    ["ML_DSA_65", "ml-dsa-65", "ML-DSA-65"],
    ["RSA_4096", "pS512", "PS512"],
    ["RSA_2048", "rsassa_pkcs1_v1_5_sha_384", "RS384"],
  ];
  for (const [keySpec, requested, jws] of cases) {
    for (const purpose of ["jws", "jwk", undefined] as const) {
      const entry = chooseSigningAlgorithm(keySpec, { requested, purpose });
      assert.equal(entry.jwsAlgorithm, jws, `${keySpec} ${requested}`);
    }
  }
  rejects(
    () => chooseSigningAlgorithm("ECC_NIST_P384", { requested: "es256" }),
    "UNSUPPORTED_KEY",
    /using 'es256': the key allows ECDSA_SHA_384\./,
  );
});

Deno.test("chooseSigningAlgorithm wording by purpose", () => {
  const cases = [
    ["jws", /^Cannot sign with key 'k' \(ECC_NIST_P256\) using 'PS256': /],
    ["x509", /^Cannot sign with key 'k' \(ECC_NIST_P256\) using 'PS256': /],
    ["jwk", /^Cannot use key 'k' \(ECC_NIST_P256\) with alg 'PS256': /],
  ] as const;
  for (const [purpose, message] of cases) {
    rejects(
      () =>
        chooseSigningAlgorithm("ECC_NIST_P256", {
          requested: "PS256",
          purpose,
          keyId: "k",
        }),
      "UNSUPPORTED_KEY",
      message,
    );
  }
  rejects(
    () =>
      chooseSigningAlgorithm("ECC_NIST_P256", {
        allowed: [],
        purpose: "jwk",
        keyId: "k",
      }),
    "UNSUPPORTED_KEY",
    /^Cannot use key 'k' \(ECC_NIST_P256\): KMS allows none/,
  );
  rejects(
    () =>
      chooseSigningAlgorithm("ECC_NIST_EDWARDS25519", {
        requested: "ED25519_PH_SHA_512",
        purpose: "jwk",
      }),
    "UNSUPPORTED_KEY",
    /the key allows EdDSA \(ED25519_SHA_512\)\./,
  );
});
