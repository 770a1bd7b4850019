/**
 * A local KMS endpoint for tests, with keys made through the real SDK.
 *
 * @module
 */

import {
  CreateAliasCommand,
  CreateKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { type LocalKms, startLocalKms } from "../lib/local_kms/mod.ts";
import { TEST_ENV } from "./_helpers.ts";

/** A local endpoint with an SDK client bound to it. */
export interface Endpoint extends AsyncDisposable {
  kms: LocalKms;
  client: KMSClient;
  /** Creates a key (and optional alias) and returns its id and SPKI. */
  createKey(
    keySpec: string,
    options?: { alias?: string; keyUsage?: string },
  ): Promise<{ keyId: string; arn: string; spki: Uint8Array }>;
}

/** Starts the local KMS endpoint on a free loopback port. */
export async function startEndpoint(): Promise<Endpoint> {
  const kms = await startLocalKms();
  const client = new KMSClient({
    endpoint: kms.url,
    region: TEST_ENV.AWS_REGION,
    credentials: {
      accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID!,
      secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY!,
    },
  });
  return {
    kms,
    client,
    async createKey(keySpec, options = {}) {
      const created = await client.send(
        new CreateKeyCommand({
          KeySpec: keySpec as never,
          KeyUsage: (options.keyUsage ?? "SIGN_VERIFY") as never,
        }),
      );
      const keyId = created.KeyMetadata!.KeyId!;
      if (options.alias) {
        await client.send(
          new CreateAliasCommand({
            AliasName: options.alias,
            TargetKeyId: keyId,
          }),
        );
      }
      let spki = new Uint8Array();
      if ((options.keyUsage ?? "SIGN_VERIFY") === "SIGN_VERIFY") {
        const got = await client.send(
          new GetPublicKeyCommand({ KeyId: keyId }),
        );
        spki = got.PublicKey!.slice();
      }
      return { keyId, arn: created.KeyMetadata!.Arn!, spki };
    },
    async [Symbol.asyncDispose]() {
      client.destroy();
      await kms.close();
    },
  };
}
