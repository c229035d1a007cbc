import { Command } from "commander";
import { macroNames, macroScript } from "../../db/files.ts";
import { createMacros, differingMacros } from "../../db/macros.ts";
import { SynthorError } from "../../errors.ts";
import { openDb, withUsageErrors } from "../input.ts";

/** `synthor macros`: the building blocks as SQL, or installed into a DuckDB file. */
export function macrosCommand(): Command {
  return withUsageErrors(new Command("macros"))
    .description("print the synthor DuckDB macros, or install them into a database")
    .option("--install <file>", "create the macros in this DuckDB database file (persistent)")
    .option(
      "--overwrite",
      "with --install: replace macros of the same names that the file holds with other definitions",
    )
    .option("--list", "list the macro names only")
    .addHelpText(
      "after",
      `
--install never replaces a macro the file holds under a synthor_ name with another definition (another
synthor version's, or your own) unless --overwrite is given; installing the same version again changes
nothing.

A database written by synth, summarize, profile or prompt with --db already holds them.

Examples:
  $ synthor macros | duckdb my.duckdb       # create them in a database file with the DuckDB CLI
  $ synthor macros > synthor.sql            # then in duckdb: .read synthor.sql
  $ synthor macros --install my.duckdb
  $ duckdb my.duckdb "from synthor_frequency('my_table', 'my_column')"`,
    )
    .action(async (opts: { install?: string; list?: boolean; overwrite?: boolean }) => {
      if (opts.list) {
        process.stdout.write(`${macroNames().join("\n")}\n`);
        return;
      }
      if (!opts.install) {
        process.stdout.write(`${macroScript()}\n`);
        return;
      }
      // Opened as every command opens a database (the macros as temporary ones); the file's own macros
      // are compared with this version's, then created in the file.
      const db = await openDb(opts.install);
      let replaced: string[];
      try {
        replaced = await differingMacros(db);
        if (replaced.length > 0 && !opts.overwrite) {
          throw new SynthorError(
            "OUTPUT_EXISTS",
            `${opts.install} already holds ${replaced.length === 1 ? "a macro" : `${replaced.length} macros`} of the same name${replaced.length === 1 ? "" : "s"} with another definition (another synthor version's, or your own): ${replaced.join(", ")}`,
            `pass --overwrite to replace ${replaced.length === 1 ? "it" : "them"}, or choose another --install file`,
            { file: opts.install, macros: replaced },
          );
        }
        await createMacros(db, { replace: replaced });
      } finally {
        db.close();
      }
      process.stderr.write(
        `installed ${macroNames().length} macros into ${opts.install}${replaced.length > 0 ? `, replacing ${replaced.join(", ")}` : ""}\n`,
      );
    });
}
