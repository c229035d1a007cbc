import { Command } from "commander";
import { macroNames, macroScript } from "../../db/files.ts";
import { openDb, withUsageErrors } from "../input.ts";

/** `synthor macros`: the building blocks as SQL, or installed into a DuckDB file. */
export function macrosCommand(): Command {
  return withUsageErrors(new Command("macros"))
    .description("print the synthor DuckDB macros, or install them into a database")
    .option("--install <file>", "create the macros in this DuckDB database file (persistent)")
    .option("--list", "list the macro names only")
    .addHelpText(
      "after",
      `
Examples:
  $ synthor macros > synthor.sql            # then in duckdb: .read synthor.sql
  $ synthor macros --install my.duckdb
  $ duckdb my.duckdb "from synthor_frequency('my_table', 'my_column')"`,
    )
    .action(async (opts: { install?: string; list?: boolean }) => {
      if (opts.list) {
        process.stdout.write(`${macroNames().join("\n")}\n`);
        return;
      }
      if (!opts.install) {
        process.stdout.write(`${macroScript()}\n`);
        return;
      }
      const db = await openDb(opts.install, { persistMacros: true });
      db.close();
      process.stderr.write(`installed ${macroNames().length} macros into ${opts.install}\n`);
    });
}
