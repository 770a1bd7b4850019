/**
 * The shared command-line layer of the scripts: flag parsing, the line
 * reader on a terminal, the profile and the caller's folder. Each case
 * runs a small program that imports `scripts/_cli.ts` in a child process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCommand, tempDir } from "./_helpers.ts";
import { runOnTerminal } from "./_terminal.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const CLI = `${ROOT}/scripts/_cli.ts`;

/** Writes a program that imports the CLI module and returns its path. */
async function writeProgram(dir: string, body: string): Promise<string> {
  const path = `${dir}/program.ts`;
  await Deno.writeTextFile(path, `import * as cli from "${CLI}";\n${body}`);
  return path;
}

/** Runs a program with the given permissions and no prompts. */
function runProgram(
  program: string,
  permissions: string[],
  options: { env?: Record<string, string | null>; cwd?: string } = {},
) {
  return runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    ...permissions,
    program,
  ], options);
}

Deno.test("LineReader close exits on terminal", async () => {
  await using dir = await tempDir();
  const program = await writeProgram(
    dir.path,
    "const lines = new cli.LineReader();\n" +
      "const first = await lines.readLine('first: ');\n" +
      "const second = await lines.readLine('second: ');\n" +
      "lines.close();\n" +
      "cli.printOut(`got ${first} and ${second} on ${lines.interactive}\\n`);\n",
  );
  const result = await runOnTerminal(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-read",
    program,
  ], {
    steps: [
      { prompt: "first: ", answer: "one" },
      { prompt: "second: ", answer: "two" },
    ],
  });
  assert.equal(result.missedPrompt, null, result.output);
  assert.match(result.output, /got one and two on true/);
  assert.equal(result.exited, true, result.output);
  assert.equal(result.code, 0, result.output);
});

Deno.test("LineReader reads piped lines", async () => {
  await using dir = await tempDir();
  const program = await writeProgram(
    dir.path,
    "const lines = new cli.LineReader();\nconst got = [];\n" +
      "for (let i = 0; i < 4; i++) got.push(await lines.readLine('x: '));\n" +
      "lines.close();\ncli.printOut(JSON.stringify(got));\n",
  );
  const result = await runCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-read",
    program,
  ], { stdin: "a\r\n\nlast" });
  assert.equal(result.code, 0, result.stderr);
  // No labels on a pipe; CRLF and a missing final newline are fine.
  assert.deepEqual(JSON.parse(result.stdout), ["a", "", "last", null]);
  assert.equal(result.stderr, "");
});

Deno.test("parseFlags suggests close flags", async (t) => {
  await using dir = await tempDir();
  const program = await writeProgram(
    dir.path,
    "const options = { 'key-id': { type: 'string' }, subject: " +
      "{ type: 'string' }, 'self-signed': { type: 'boolean' }, out: " +
      "{ type: 'string' }, help: { type: 'boolean', short: 'h' } } as " +
      "const;\ntry {\n  cli.parseFlags(Deno.args, options, 'Usage: x');\n" +
      "  cli.printOut('parsed');\n} catch (error) {\n" +
      "  cli.printOut(`${error.code}\\n${error.message}`);\n}\n",
  );
  const cases = [
    { args: ["--keyid", "k"], unknown: "--keyid", hint: "--key-id" },
    { args: ["--subjct=/CN=a"], unknown: "--subjct", hint: "--subject" },
    { args: ["--self-sign"], unknown: "--self-sign", hint: "--self-signed" },
    { args: ["--Out", "x"], unknown: "--Out", hint: "--out" },
    { args: ["--key-id", "k", "--hlep"], unknown: "--hlep", hint: "--help" },
    { args: ["--bogus"], unknown: "--bogus", hint: null },
    { args: ["--outfile", "x"], unknown: "--outfile", hint: null },
  ];
  for (const testCase of cases) {
    await t.step(testCase.unknown, async () => {
      const result = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-read",
        program,
        ...testCase.args,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const [code, ...message] = result.stdout.split("\n");
      assert.equal(code, "USAGE");
      assert.ok(
        message[0]!.startsWith(`Unknown option '${testCase.unknown}'`),
        message[0],
      );
      if (testCase.hint) {
        assert.ok(
          message[0]!.endsWith(`. Did you mean ${testCase.hint}?`),
          message[0],
        );
      } else {
        assert.doesNotMatch(result.stdout, /Did you mean/);
      }
      assert.equal(message.at(-1), "Usage: x");
    });
  }
});

Deno.test("applyProfile sets AWS_PROFILE", async () => {
  await using dir = await tempDir();
  const program = await writeProgram(
    dir.path,
    "try {\n  cli.applyProfile(Deno.args[0]);\n" +
      "  cli.printOut(Deno.env.get('AWS_PROFILE') ?? '(unset)');\n" +
      "} catch (error) {\n  cli.printOut(`${error.code}: ${error.message}`);\n}\n",
  );
  const run = (args: string[], env: string) =>
    runCommand(Deno.execPath(), [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-read",
      env,
      program,
      ...args,
    ], { env: { AWS_PROFILE: "from-env" } });

  const given = await run(["local"], "--allow-env=AWS_*");
  assert.equal(given.stdout, "local");
  // Without --profile, AWS_PROFILE stays as the user set it.
  const absent = await run([], "--allow-env=AWS_*");
  assert.equal(absent.stdout, "from-env");
  const denied = await run(["local"], "--allow-env=HOME");
  assert.match(
    denied.stdout,
    /^PERMISSION_DENIED: Cannot use --profile 'local': .*--allow-env=AWS_\*/,
  );
});

Deno.test("useCallerWorkingDirectory follows INIT_CWD", async (t) => {
  await using dir = await tempDir();
  const program = await writeProgram(
    dir.path,
    "const moved = cli.useCallerWorkingDirectory();\n" +
      "cli.printOut(JSON.stringify({ moved: moved ?? null, cwd: Deno.cwd() }));\n",
  );
  const caller = await Deno.realPath(await Deno.makeTempDir({ dir: dir.path }));
  await Deno.writeTextFile(`${dir.path}/file`, "");
  const permissions = ["--allow-read", "--allow-env=INIT_CWD"];
  const cases = [
    {
      name: "from the checkout",
      cwd: ROOT,
      initCwd: caller,
      permissions,
      expected: { moved: caller, cwd: caller },
    },
    {
      name: "started elsewhere",
      cwd: dir.path,
      initCwd: caller,
      permissions,
      expected: { moved: null, cwd: await Deno.realPath(dir.path) },
    },
    {
      name: "INIT_CWD not a folder",
      cwd: ROOT,
      initCwd: `${dir.path}/file`,
      permissions,
      expected: { moved: null, cwd: ROOT },
    },
    {
      name: "INIT_CWD missing",
      cwd: ROOT,
      initCwd: `${dir.path}/missing`,
      permissions,
      expected: { moved: null, cwd: ROOT },
    },
    {
      name: "INIT_CWD not allowed",
      cwd: ROOT,
      initCwd: caller,
      permissions: ["--allow-read"],
      expected: { moved: null, cwd: ROOT },
    },
  ];
  for (const testCase of cases) {
    await t.step(testCase.name, async () => {
      const result = await runProgram(program, testCase.permissions, {
        cwd: testCase.cwd,
        env: { INIT_CWD: testCase.initCwd },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), testCase.expected);
    });
  }
});
