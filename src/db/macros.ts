import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Db } from "./connection.ts";
import { macroFile, macroNames } from "./files.ts";

/**
 * Creates the synthor macros in a database file for good (not as the temporary macros every opened
 * database gets), so that a plain DuckDB session on the file can call them:
 * `duckdb run.duckdb "from synthor_frequency('synthetic', 'gender')"`. Only the macros the file lacks
 * are created, and those named in `replace`; a macro the file already holds with this version's
 * definition is left as it is, so installing twice changes nothing.
 *
 * @example await createMacros(db, { replace: await differingMacros(db) }) // synthor macros --install --overwrite
 */
export async function createMacros(db: Db, options: { replace?: string[] } = {}): Promise<void> {
  const held = await definitions(db);
  const replace = new Set(options.replace ?? []);
  const names = macroNames().filter((n) => !held.has(n) || replace.has(n));
  if (names.length === 0) return;
  const script = names.map((n) => macroFile(n).trim()).join("\n\n");
  await db.exec(script, "macros/*.sql");
}

/**
 * What every database file synthor writes results into (`synth --db`, `summarize --db`, `profile --db`,
 * `prompt --db`) gets: this version's macros, created where missing. A macro of the same name with
 * another definition (another synthor version's, or the user's own) is not replaced; the returned
 * warning names those and the command that replaces them. Nothing for an in-memory database.
 */
export async function installRunMacros(db: Db): Promise<string | undefined> {
  if (db.path === ":memory:") return undefined;
  const kept = await differingMacros(db);
  await createMacros(db);
  if (kept.length === 0) return undefined;
  return `${db.path} holds ${kept.length === 1 ? "a macro" : `${kept.length} macros`} of synthor's with another definition (another synthor version's, or your own), left as ${kept.length === 1 ? "it is" : "they are"}: ${kept.join(", ")}; to replace ${kept.length === 1 ? "it" : "them"} with this version's: synthor macros --install ${db.path} --overwrite`;
}

/**
 * Names of the file's synthor_ macros whose definitions (all overloads) differ from this version's.
 * DuckDB renders a macro read back from a file differently from one just created (type names, CTE
 * hints), so this version's are installed into a scratch file and read back from it first: what the
 * file holds if it has this version. A file without synthor_ macros needs no comparison.
 */
export async function differingMacros(db: Db): Promise<string[]> {
  const installed = await definitions(db);
  if (installed.size === 0) return [];
  const ours = await ourDefinitions();
  return [...installed].filter(([name, text]) => ours.has(name) && ours.get(name) !== text).map(([n]) => n);
}

let oursOnce: Promise<Map<string, string>> | undefined;

/** This version's macros as a database file holds them; computed once per process. */
function ourDefinitions(): Promise<Map<string, string>> {
  oursOnce ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "synthor-macros-"));
    try {
      const scratch = join(dir, "scratch.duckdb");
      (await Db.open(scratch, { persistMacros: true, threads: 1 })).close();
      const reopened = await Db.open(scratch, { threads: 1 });
      try {
        return await definitions(reopened);
      } finally {
        reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return oursOnce;
}

/** The synthor_ macros of a database's own catalog: name, and all its overloads as one text. */
async function definitions(db: Db): Promise<Map<string, string>> {
  const [current] = await db.all<{ name: string }>("select current_database() as name");
  const rows = await db.query<{ name: string }>("macro_definitions", { database: current?.name ?? "" });
  const out = new Map<string, string>();
  for (const r of rows) out.set(r.name, `${out.get(r.name) ?? ""}${JSON.stringify(r)}\n`);
  return out;
}
