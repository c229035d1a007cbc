import { Command } from "commander";
import { vi } from "vitest";
import { evalCommand } from "../src/cli/commands/eval.ts";
import { SynthorError } from "../src/errors.ts";

/**
 * Runs `synthor eval --quiet ...args` in process and returns what it printed, or the SynthorError it threw
 * (any other error is rethrown). With `fast`, the slow parts (detection, privacy) are left out.
 */
export async function runEval(
  args: string[],
  options: { fast?: boolean } = {},
): Promise<{ stdout: string; error?: SynthorError }> {
  const program = new Command("synthor").exitOverride();
  program.addCommand(evalCommand());
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const fast = options.fast ? ["--no-detection", "--no-privacy"] : [];
  try {
    await program.parseAsync(["node", "synthor", "eval", "--quiet", ...fast, ...args]);
    return { stdout: chunks.join("") };
  } catch (err) {
    if (err instanceof SynthorError) return { stdout: chunks.join(""), error: err };
    throw err;
  } finally {
    write.mockRestore();
  }
}
