/**
 * Runs a command on a pseudo-terminal through util-linux `script`, types
 * a reply to each prompt, and reports whether it exited by itself.
 *
 * @module
 */

import { TEST_ENV } from "./_helpers.ts";

/** A prompt to wait for and the line to type after it. */
export interface TerminalStep {
  /** Text that the terminal shows before the reply is typed. */
  prompt: string;
  /** The reply, without its line ending. */
  answer: string;
}

/** The outcome of {@linkcode runOnTerminal}. */
export interface TerminalResult {
  /** Whether the command exited in time after the last reply. */
  exited: boolean;
  /** The exit code, or `null` when it had to be stopped. */
  code: number | null;
  /** What the terminal showed: output, prompts and echoed replies. */
  output: string;
  /** The step whose prompt never came, or `null`. */
  missedPrompt: string | null;
}

/** Quotes one word for `sh -c`. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `command args` on a pseudo-terminal. Each step waits for its prompt
 * after the previous one, then types its reply. Standard input stays open
 * after the last reply, as a user's terminal does, so a program that
 * waits for more input does not exit.
 */
export async function runOnTerminal(
  command: string,
  args: string[],
  options: {
    steps: TerminalStep[];
    env?: Record<string, string>;
    /** Time allowed for each prompt and for the exit. */
    waitMs?: number;
  },
): Promise<TerminalResult> {
  const waitMs = options.waitMs ?? 10_000;
  const child = new Deno.Command("script", {
    args: [
      "-q",
      "-e",
      "-c",
      [command, ...args].map(quote).join(" "),
      "/dev/null",
    ],
    env: { ...TEST_ENV, SHELL: "/bin/sh", ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let output = "";
  let changed: () => void = () => {};
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      output += decoder.decode(chunk, { stream: true });
      changed();
    }
  })();
  const stderr = new Response(child.stderr).text();

  let exitCode: number | null = null;
  const status = child.status.then((result) => {
    exitCode = result.code;
    changed();
    return result;
  });

  /** Waits until `test` is true or the time is up, and returns `test`. */
  const waitFor = async (test: () => boolean) => {
    const deadline = Date.now() + waitMs;
    while (!test()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return true;
  };

  let missedPrompt: string | null = null;
  let seen = 0;
  for (const step of options.steps) {
    const found = await waitFor(() =>
      output.indexOf(step.prompt, seen) >= 0 || exitCode !== null
    );
    const at = output.indexOf(step.prompt, seen);
    if (!found || at < 0) {
      missedPrompt = step.prompt;
      break;
    }
    seen = at + step.prompt.length;
    await writer.write(encoder.encode(`${step.answer}\r`));
  }

  const exited = missedPrompt === null &&
    await waitFor(() => exitCode !== null);
  if (exitCode === null) {
    // Send end of input, as Ctrl-D does, before stopping it.
    await writer.close().catch(() => {});
    await waitFor(() => exitCode !== null);
  }
  if (exitCode === null) {
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited in the meantime.
    }
  }
  await writer.close().catch(() => {});
  await status;
  await reading;
  output += await stderr;
  return { exited, code: exited ? exitCode : null, output, missedPrompt };
}
