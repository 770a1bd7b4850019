/**
 * Test fixtures that need Node.js packages: an npm project installed once
 * into a cache folder keyed by its package files, and the local OAuth 2.0
 * server of `server.mjs` started under Node.
 *
 * @module
 */

const HERE = new URL("./", import.meta.url).pathname;

/** `true` when `node` and `npm` run, as checked once at load time. */
export const NODE_AVAILABLE: boolean = (() => {
  try {
    for (const command of ["node", "npm"]) {
      const output = new Deno.Command(command, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (!output.success) return false;
    }
    return true;
  } catch {
    return false;
  }
})();

if (!NODE_AVAILABLE) {
  // deno-lint-ignore no-console
  console.warn(
    "Skipping the Node.js tests: node or npm is not on PATH. Install " +
      "Node.js 20 or later with npm to run them.",
  );
}

function cacheRoot(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") ??
    `${Deno.env.get("HOME") ?? Deno.cwd()}/.cache`;
  return `${base}/kms-toolkit`;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return new Uint8Array(digest).toHex();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Returns a folder with `files` written and `npm install` (or `npm ci`
 * when a `package-lock.json` is among them) done. The folder is cached
 * under `~/.cache/kms-toolkit/NAME-HASH`, HASH being that of the files,
 * so only the first run reaches the npm registry.
 */
export async function npmProject(
  name: string,
  files: Record<string, string>,
): Promise<string> {
  const hash = (await sha256Hex(JSON.stringify(files))).slice(0, 16);
  const folder = `${cacheRoot()}/${name}-${hash}`;
  if (await exists(`${folder}/node_modules/.installed`)) return folder;

  await Deno.mkdir(cacheRoot(), { recursive: true });
  const staging = await Deno.makeTempDir({
    dir: cacheRoot(),
    prefix: `${name}-staging-`,
  });
  for (const [file, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${staging}/${file}`, text);
  }
  const ci = "package-lock.json" in files;
  const output = await new Deno.Command("npm", {
    args: [
      ci ? "ci" : "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--loglevel=error",
    ],
    cwd: staging,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    await Deno.remove(staging, { recursive: true });
    throw new Error(
      `npm ${ci ? "ci" : "install"} failed for ${name}:\n` +
        new TextDecoder().decode(output.stderr),
    );
  }
  await Deno.writeTextFile(`${staging}/node_modules/.installed`, "");
  try {
    await Deno.rename(staging, folder);
  } catch (error) {
    // Another run installed the same files first; use its folder.
    await Deno.remove(staging, { recursive: true });
    if (!(await exists(`${folder}/node_modules/.installed`))) throw error;
  }
  return folder;
}

/** A running local OAuth 2.0 authorization server. */
export interface OAuthServer extends AsyncDisposable {
  /** The issuer identifier, `http://127.0.0.1:PORT`. */
  issuer: string;
  /** The token endpoint from the server's discovery document. */
  tokenEndpoint: string;
  /** What the server logged on stderr so far: one JSON event a line. */
  log(): string;
}

/** A client of the OAuth server: its id and the JWKS it authenticates with. */
export interface OAuthClient {
  client_id: string;
  jwks: { keys: unknown[] };
}

/**
 * Installs `oidc-provider` (from this folder's package files) and starts
 * `server.mjs` under Node with the given clients.
 */
export async function startOAuthServer(
  clients: OAuthClient[],
): Promise<OAuthServer> {
  const files: Record<string, string> = {};
  for (const file of ["package.json", "package-lock.json", "server.mjs"]) {
    files[file] = await Deno.readTextFile(`${HERE}${file}`);
  }
  const folder = await npmProject("oauth-server", files);
  const clientsFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(clientsFile, JSON.stringify(clients));

  const child = new Deno.Command("node", {
    args: [`${folder}/server.mjs`, clientsFile],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let stderr = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream())
    .pipeTo(
      new WritableStream({
        write(chunk) {
          stderr += chunk;
        },
      }),
    );
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let firstLine = "";
  while (!firstLine.includes("\n")) {
    const { value, done } = await stdout.read();
    if (done) break;
    firstLine += value;
  }
  // Nothing else is printed on stdout; stop reading it.
  const stdoutDone = stdout.cancel().catch(() => {});

  const stop = async () => {
    await child.stdin.close().catch(() => {});
    await child.status;
    await stderrDone.catch(() => {});
    await stdoutDone;
    await Deno.remove(clientsFile).catch(() => {});
  };
  if (!firstLine.includes("\n")) {
    await stop();
    throw new Error(`The OAuth server did not start:\n${stderr}`);
  }

  const { issuer } = JSON.parse(firstLine);
  const discovery = await fetch(`${issuer}/.well-known/openid-configuration`);
  const { token_endpoint: tokenEndpoint } = await discovery.json();
  return {
    issuer,
    tokenEndpoint,
    log: () => stderr,
    [Symbol.asyncDispose]: stop,
  };
}
