/**
 * Loads the AWS SDK's KMS client and does nothing else: the start-up
 * floor of any script that talks to KMS through the SDK.
 *
 * @module
 */

import "@aws-sdk/client-kms";
