import assert from "node:assert/strict";
import { runCommand } from "./_helpers.ts";

Deno.test("deno task demo runs the main job", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const result = await runCommand(
    Deno.execPath(),
    ["task", "--quiet", "demo"],
    {
      cwd: root,
    },
  );
  assert.equal(result.code, 0, result.stderr);
  const verified = result.stdout.match(/self-signature verify OK/g) ?? [];
  assert.equal(verified.length, 2, result.stdout);
  assert.match(result.stdout, /"kty": "RSA"/);
  assert.match(result.stdout, /"crv": "P-256"/);
  const folder = result.stdout.match(/The CSRs are in (\S+)\.\n/)?.[1];
  assert.ok(folder, result.stdout);
  const files = [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
  assert.deepEqual(files, ["ecc_nist_p256.csr", "rsa_2048.csr"]);
  await Deno.remove(folder, { recursive: true });
});
