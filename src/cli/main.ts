import { Command, CommanderError } from "commander";
import { SynthorError } from "../errors.ts";
import { Interrupted } from "../interrupt.ts";
import { evalCommand } from "./commands/eval.ts";
import { macrosCommand } from "./commands/macros.ts";
import { profileCommand } from "./commands/profile.ts";
import { promptCommand } from "./commands/prompt.ts";
import { queryCommand } from "./commands/query.ts";
import { summarizeCommand } from "./commands/summarize.ts";
import { synthCommand } from "./commands/synth.ts";
import { withUsageErrors } from "./input.ts";

/** Builds the program; tests call it with exitOverride() and their own output streams. */
export function createCli(): Command {
  const program = new Command("synthor")
    .description(
      "Grow synthetic tables whose marginal and joint statistics match a real one (LLMSynthor over DuckDB)",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)");
  program.addCommand(synthCommand());
  program.addCommand(evalCommand());
  program.addCommand(profileCommand());
  program.addCommand(promptCommand());
  program.addCommand(summarizeCommand());
  program.addCommand(macrosCommand());
  program.addCommand(queryCommand());
  // Commander does not pass exitOverride to added commands: usage errors in any of them exit 2.
  for (const cmd of program.commands) withUsageErrors(cmd);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 on success, 1 on a user error, 2 on a usage error, 130 when
 * interrupted (Ctrl-C).
 */
export async function main(argv: string[]): Promise<number> {
  const program = createCli();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    // A command may set its own exit code (synth: 130 when interrupted).
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof Interrupted) {
      process.stderr.write(`synthor: ${err.message}; ${err.hint}\n`);
      return 130;
    }
    if (err instanceof SynthorError) {
      process.stderr.write(`${err.describe()}\n`);
      return 1;
    }
    process.stderr.write(
      `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 70;
  }
}
