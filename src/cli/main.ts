import { Command, CommanderError, Help } from "commander";
import { SynthorError } from "../errors.ts";
import { Interrupted } from "../interrupt.ts";

/**
 * The commands in the order `synthor --help` lists them. Each is loaded only when it runs: the
 * pipeline, zod and DuckDB's client take several times longer to load than Node takes to start, and
 * `synthor --help` needs none of them. `term` and `description` are what the list shows for a command
 * not loaded; test/cli-main.test.ts checks that they match the commands themselves.
 */
const COMMANDS: { name: string; term: string; description: string; load: () => Promise<Command> }[] = [
  {
    name: "synth",
    term: "synth [options] [source]",
    description: "grow a synthetic table whose statistics match the real one",
    load: async () => (await import("./commands/synth.ts")).synthCommand(),
  },
  {
    name: "eval",
    term: "eval [options]",
    description: "compare a synthetic table with the real one: fidelity, detection, utility, privacy",
    load: async () => (await import("./commands/eval.ts")).evalCommand(),
  },
  {
    name: "profile",
    term: "profile [options] [source]",
    description: "show how every column will be treated and its summary statistics",
    load: async () => (await import("./commands/profile.ts")).profileCommand(),
  },
  {
    name: "prompt",
    term: "prompt [options] [source]",
    description:
      "print the prompts an LLM run would send (the paper's p_copula and p_proposal), without calling anyone",
    load: async () => (await import("./commands/prompt.ts")).promptCommand(),
  },
  {
    name: "summarize",
    term: "summarize [options] [source]",
    description: "compute the summaries the synthesizer works from: bins, frequency and contingency tables",
    load: async () => (await import("./commands/summarize.ts")).summarizeCommand(),
  },
  {
    name: "macros",
    term: "macros [options]",
    description: "print the synthor DuckDB macros, or install them into a database",
    load: async () => (await import("./commands/macros.ts")).macrosCommand(),
  },
  {
    name: "query",
    term: "query [options] <sql>",
    description: "run SQL against a synthor database, with the synthor macros loaded",
    load: async () => (await import("./commands/query.ts")).queryCommand(),
  },
];

/**
 * Builds the program with the commands in `load` (default: all) loaded; the others stand in by name
 * and description, enough for the list in `synthor --help` and for "unknown command" suggestions.
 */
export async function createCli(load: readonly string[] | "all" = "all"): Promise<Command> {
  const stubTerms = new Map<Command, string>();
  const program = new Command("synthor")
    .description(
      "Grow synthetic tables whose marginal and joint statistics match a real one (LLMSynthor over DuckDB)",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({
      subcommandTerm(this: Help, cmd: Command) {
        return stubTerms.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    });
  const loaded = COMMANDS.filter((c) => load === "all" || load.includes(c.name));
  // Commander does not pass exitOverride to added commands: usage errors in any of them exit 2.
  const { withUsageErrors } = loaded.length > 0 ? await import("./input.ts") : { withUsageErrors: null };
  for (const c of COMMANDS) {
    if (withUsageErrors && loaded.includes(c)) {
      program.addCommand(withUsageErrors(await c.load()));
    } else {
      const stub = new Command(c.name).description(c.description);
      stubTerms.set(stub, c.term);
      program.addCommand(stub);
    }
  }
  return program;
}

/** The command that `argv` runs (`synthor help NAME` shows NAME's help), if it names one. */
export function commandIn(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith("-"));
  return words[0] === "help" ? words[1] : words[0];
}

/**
 * Runs the CLI and returns the exit code: 0 on success, 1 on a user error, 2 on a usage error, 130 when
 * interrupted (Ctrl-C).
 */
export async function main(argv: string[]): Promise<number> {
  const wanted = commandIn(argv);
  const program = await createCli(wanted ? [wanted] : []);
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
