// A Lambda function (Node.js) that obtains an OAuth access token with a
// private_key_jwt client assertion signed by a KMS key. Deploy it with the
// bundle that `deno task bundle` writes, saved as kms_jwt.mjs beside this
// file. The function's role needs kms:GetPublicKey and kms:Sign on the key.
//
// Environment: KMS_KEY_ID (key id, ARN or alias), CLIENT_ID (the OAuth
// client id), TOKEN_URL (the token endpoint), SCOPE (the scopes to ask for).
import { KMSClient } from "@aws-sdk/client-kms";
import { clientAssertionClaims, KmsJwtSigner } from "./kms_jwt.mjs";

// Created once per execution environment: GetPublicKey runs on cold start.
const signer = KmsJwtSigner.create(new KMSClient({}), process.env.KMS_KEY_ID);

export const handler = async () => {
  const assertion = await (await signer).sign(
    clientAssertionClaims({
      clientId: process.env.CLIENT_ID,
      tokenEndpoint: process.env.TOKEN_URL,
    }),
  );
  const response = await fetch(process.env.TOKEN_URL, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      scope: process.env.SCOPE,
      client_assertion_type:
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    }),
  });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(
      `Token request failed: ${response.status} ${body.error}: ${body.error_description}`,
    );
  }
  return {
    tokenType: body.token_type,
    expiresIn: body.expires_in,
    accessToken: body.access_token,
  };
};
