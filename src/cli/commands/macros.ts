import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { Db } from "../../db/connection.ts";
import { macroNames, macroScript } from "../../db/files.ts";
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

Examples:
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
        await db.exec(macroScript(), "macros/*.sql");
      } finally {
        db.close();
      }
      process.stderr.write(
        `installed ${macroNames().length} macros into ${opts.install}${replaced.length > 0 ? `, replacing ${replaced.join(", ")}` : ""}\n`,
      );
    });
}

/**
 * Names of the file's synthor_ macros whose definitions (all overloads) differ from this version's.
 * DuckDB renders a macro read back from a file differently from one just created (type names, CTE
 * hints), so this version's are installed into a scratch file and read back from it first: what the
 * file holds if it has this version.
 */
async function differingMacros(db: Db): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "synthor-macros-"));
  try {
    const scratch = join(dir, "scratch.duckdb");
    (await Db.open(scratch, { persistMacros: true, threads: 1 })).close();
    const reopened = await Db.open(scratch, { threads: 1 });
    let ours: Map<string, string>;
    try {
      ours = await definitions(reopened);
    } finally {
      reopened.close();
    }
    const installed = await definitions(db);
    return [...installed].filter(([name, text]) => ours.has(name) && ours.get(name) !== text).map(([n]) => n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The synthor_ macros of a database's own catalog: name, and all its overloads as one text. */
async function definitions(db: Db): Promise<Map<string, string>> {
  const [current] = await db.all<{ name: string }>("select current_database() as name");
  const rows = await db.query<{ name: string }>("macro_definitions", { database: current?.name ?? "" });
  const out = new Map<string, string>();
  for (const r of rows) out.set(r.name, `${out.get(r.name) ?? ""}${JSON.stringify(r)}\n`);
  return out;
}
