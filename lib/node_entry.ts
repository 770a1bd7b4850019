/**
 * The entry point of `dist/kms_jwt.mjs`, the single-file ESM bundle for
 * Node.js 20 and later (AWS Lambda's `nodejs20.x` runtime and newer) that
 * `deno task bundle` builds. `@aws-sdk/client-kms` stays an external
 * import, because the Lambda runtime ships it. jose and the noble code
 * are bundled in.
 *
 * Node.js versions whose V8 predates `Uint8Array.prototype.toBase64` and
 * `Uint8Array.fromBase64`, 20.20 among them, lack these methods, which
 * this toolkit uses. Where they are missing, this module defines them
 * (the `alphabet` and `omitPadding` options of the TC39 proposal, strict
 * decoding) as non-enumerable members like the native ones. Where they
 * exist, nothing is changed.
 *
 * @example Sign a client assertion in a Lambda handler
 * ```ts ignore
 * import { KMSClient } from "@aws-sdk/client-kms";
 * import { KmsJwtSigner, signClientAssertion } from "./kms_jwt.mjs";
 *
 * const signer = KmsJwtSigner.create(new KMSClient({}), process.env.KMS_KEY_ID);
 * export const handler = async () =>
 *   signClientAssertion(await signer, {
 *     clientId: process.env.CLIENT_ID,
 *     tokenEndpoint: process.env.TOKEN_URL,
 *   });
 * ```
 *
 * @module
 */

export { KmsToolkitError } from "./errors.ts";
export { createKmsClient } from "./kms_client.ts";
export { publicJwkFor } from "./jwk.ts";
export { KmsJwtSigner } from "./jwt.ts";
export {
  checkServiceNowAlgorithm,
  clientAssertionClaims,
  jwtBearerGrantClaims,
  signClientAssertion,
  signServiceNowAssertion,
} from "./jwt_claims.ts";
export { verifyJwt } from "./jwt_verify.ts";

interface Base64Options {
  alphabet?: "base64" | "base64url";
  omitPadding?: boolean;
}

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

function encodeBase64(this: Uint8Array, options: Base64Options = {}): string {
  let binary = "";
  for (let i = 0; i < this.length; i += 0x8000) {
    binary += String.fromCharCode(...this.subarray(i, i + 0x8000));
  }
  let text = btoa(binary);
  if (options.alphabet === "base64url") {
    text = text.replaceAll("+", "-").replaceAll("/", "_");
  }
  return options.omitPadding ? text.replace(/=+$/, "") : text;
}

function decodeBase64(text: string, options: Base64Options = {}): Uint8Array {
  const compact = String(text).replace(/[\t\n\f\r ]/g, "");
  const urlSafe = options.alphabet === "base64url";
  if (
    !(urlSafe ? URL_SAFE : STANDARD).test(compact) || compact.length % 4 === 1
  ) {
    throw new SyntaxError(`Invalid ${urlSafe ? "base64url" : "base64"} string`);
  }
  const standard = urlSafe
    ? compact.replaceAll("-", "+").replaceAll("_", "/")
    : compact;
  const unpadded = standard.replace(/=+$/, "");
  const padded = unpadded + "=".repeat((4 - (unpadded.length % 4)) % 4);
  if (standard.includes("=") && standard !== padded) {
    throw new SyntaxError("Invalid base64 padding");
  }
  const binary = atob(padded);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

const prototype = Uint8Array.prototype as unknown as Record<string, unknown>;
if (typeof prototype.toBase64 !== "function") {
  Object.defineProperty(prototype, "toBase64", {
    value: encodeBase64,
    writable: true,
    configurable: true,
  });
}
const constructor = Uint8Array as unknown as Record<string, unknown>;
if (typeof constructor.fromBase64 !== "function") {
  Object.defineProperty(constructor, "fromBase64", {
    value: decodeBase64,
    writable: true,
    configurable: true,
  });
}
