// A local OAuth 2.0 authorization server (oidc-provider) for tests: the
// client_credentials grant with private_key_jwt client authentication.
//
// Usage: node server.mjs CLIENTS_JSON_FILE
//
// CLIENTS_JSON_FILE contains [{ "client_id": "...", "jwks": { "keys": [...] } }].
// Each client may use the client_credentials grant with scope "api:read".
// The server listens on a free port of 127.0.0.1, prints one JSON line
// {"issuer"} on stdout when ready, logs each token
// request's outcome as a JSON line on stderr, and exits when stdin closes.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const SCOPE = "api:read";
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];

const clientsFile = process.argv[2];
if (!clientsFile) {
  process.stderr.write("Usage: node server.mjs CLIENTS_JSON_FILE\n");
  process.exit(2);
}
const clients = JSON.parse(readFileSync(clientsFile, "utf8")).map((client) => ({
  client_id: client.client_id,
  jwks: client.jwks,
  token_endpoint_auth_method: "private_key_jwt",
  grant_types: ["client_credentials"],
  response_types: [],
  redirect_uris: [],
  scope: SCOPE,
}));

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  clientAuthMethods: ["private_key_jwt"],
  enabledJWA: { clientAuthSigningAlgValues: ALGORITHMS },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
  },
  scopes: [SCOPE],
});

function log(event) {
  process.stderr.write(`${JSON.stringify(event)}\n`);
}

provider.on("grant.success", (ctx) => {
  log({ event: "grant.success", client_id: ctx.oidc.client?.clientId });
});
provider.on("grant.error", (ctx, error) => {
  log({
    event: "grant.error",
    client_id: ctx.oidc.client?.clientId,
    error: error.error,
    error_description: error.error_description,
    error_detail: error.error_detail,
  });
});
provider.on("server_error", (_ctx, error) => {
  log({ event: "server_error", message: String(error?.stack ?? error) });
});

server.on("request", provider.callback());

process.stdout.write(`${JSON.stringify({ issuer })}\n`);

// The test closes stdin to stop the server; so does the test's exit.
process.stdin.resume();
process.stdin.on("end", () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
