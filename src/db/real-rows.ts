import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SynthorError } from "../errors.ts";
import { type Db, varcharList } from "./connection.ts";
import { quoteIdent, quoteLiteral, quoteQualified } from "./quote.ts";

/**
 * The relations that hold real rows: one row per real row (or per real household or member), or a view
 * that reads them. Everything else a run leaves in `--db` is aggregates (count tables, bins, grids), the
 * synthetic table and the run's history. They are temporary unless `synth --keep-real` (Db.keepReal), so
 * by default they never reach the database file; a file that holds them (from a run with --keep-real, or
 * from an earlier synthor) loses them when the next `synth` run on it without --keep-real ends.
 */
export const REAL_RELATIONS = [
  // The source as read (src/source.ts), and the reference built from it (src/reference.ts).
  "synthor_real",
  "synthor_real_next",
  "synthor_reference",
  "synthor_reference_next",
  "synthor_reference_rows",
  "synthor_reference_rows_next",
  // Model space and codes of the reference (src/summarize.ts).
  "synthor_real_model",
  "synthor_real_codes",
  "synthor_real_fine_codes",
  // Nested sources (src/nested/source.ts, src/nested/summarize.ts).
  "synthor_real_households",
  "synthor_real_households_next",
  "synthor_real_members",
  "synthor_real_members_next",
  "synthor_real_nested",
  "synthor_real_nested_next",
  "synthor_nested_households",
  "synthor_nested_members",
  "synthor_nested_lists",
  "synthor_nested_real_aug",
  "synthor_nested_real_member_model",
  "synthor_nested_real_member_codes",
] as const;

/**
 * Closes `db`, first removing real rows from its file unless it keeps them (Db.keepReal): drops every
 * relation of {@link REAL_RELATIONS} in the file except those named in `keep` (the user's own table
 * when it is the source, `--table synthor_real`), and, when it dropped any, rewrites the file so their
 * bytes do not stay behind in the blocks DuckDB freed (it reuses them but does not clear them). Returns
 * the names it dropped. A run's own real relations are temporary and go with the connection.
 *
 * @example await closeWithoutRealRows(db, { keep: [] }) // ["synthor_real", "synthor_real_codes"]
 */
export async function closeWithoutRealRows(db: Db, options: { keep?: string[] } = {}): Promise<string[]> {
  if (db.keepReal || db.path === ":memory:") {
    db.close();
    return [];
  }
  let dropped: string[];
  try {
    // A failed statement (the error that ends a run) may have left a transaction open.
    await db.exec("rollback", "roll back").catch(() => undefined);
    dropped = await dropRealRelations(db, options.keep ?? []);
    if (dropped.length > 0) await compact(db);
  } finally {
    db.close();
  }
  if (dropped.length > 0) replaceWithCompacted(db.path);
  return dropped;
}

/**
 * Removes what a killed process (`kill -9`, a crash) may have left of real rows beside the database:
 * the files DuckDB spills temporary tables to when memory runs short (in its temporary directory,
 * `FILE.duckdb.tmp/duckdb_temp_*`; it deletes them when it closes, not when it is killed, nor when it
 * next opens the file), and a half-written compacted copy. Call it right after opening, before this
 * process spills anything: DuckDB's lock on the file means no other process is using them.
 */
export async function removeLeftovers(db: Db): Promise<void> {
  if (db.path === ":memory:") return;
  const [row] = await db.all<{ dir: string }>(
    "select current_setting('temp_directory') as dir",
    {},
    "temporary directory",
  );
  const dir = row?.dir ?? "";
  if (dir !== "" && existsSync(dir)) {
    for (const f of readdirSync(dir)) {
      if (f.startsWith("duckdb_temp_")) rmSync(join(dir, f), { force: true });
    }
    // DuckDB makes the directory when it first spills and removes it on close: left empty, it goes too.
    if (dir === `${db.path}.tmp` && readdirSync(dir).length === 0) rmdirSync(dir);
  }
  const copy = compactedPath(db.path);
  for (const f of [copy, `${copy}.wal`]) rmSync(f, { force: true });
}

/** Drops the real relations kept in the file (not the temporary ones); returns their names. */
async function dropRealRelations(db: Db, keep: string[]): Promise<string[]> {
  const found = await db.all<{ catalog: string; schema: string; name: string; view: boolean }>(
    `select table_catalog as catalog, table_schema as schema, table_name as name, table_type = 'VIEW' as view
     from information_schema.tables
     where table_catalog = current_database() and table_schema = current_schema()
       and list_contains($names, table_name) and not list_contains($keep, table_name)
     order by table_type = 'VIEW' desc, table_name`,
    { names: varcharList([...REAL_RELATIONS]), keep: varcharList(keep) },
    "find kept real rows",
  );
  // Views first: a view may read a table of the list. Qualified: the run's temporary relations of the
  // same names come first in name resolution.
  for (const r of found) {
    await db.exec(
      `drop ${r.view ? "view" : "table"} if exists ${quoteQualified(r.catalog, r.schema, r.name)}`,
      "drop real rows",
    );
  }
  return found.map((r) => r.name);
}

/** The file beside `path` that compaction writes, then renames over it. */
function compactedPath(path: string): string {
  return `${path}.synthor-compact`;
}

/**
 * Writes a copy of the database without its free blocks: DuckDB marks the blocks of dropped tables
 * free and reuses them later, but leaves their bytes in the file until then. `copy from database`
 * copies schemas, tables, views, macros, sequences, types, constraints, indexes and comments.
 */
async function compact(db: Db): Promise<void> {
  const target = compactedPath(db.path);
  for (const f of [target, `${target}.wal`]) rmSync(f, { force: true });
  const [row] = await db.all<{ name: string }>("select current_database() as name");
  try {
    await db.exec("checkpoint", "checkpoint");
    await db.exec(`attach ${quoteLiteral(target)} as synthor_compact`, "attach compacted copy");
    try {
      await db.exec(
        `copy from database ${quoteIdent(row?.name ?? "main")} to synthor_compact`,
        "copy to compacted copy",
      );
    } finally {
      await db.exec("detach synthor_compact", "detach compacted copy");
    }
  } catch (err) {
    for (const f of [target, `${target}.wal`]) rmSync(f, { force: true });
    const reason = err instanceof Error ? err.message : String(err);
    throw new SynthorError(
      "RUN_STATE",
      `the real rows kept in ${db.path} were dropped, but rewriting the file to clear their bytes failed: ${reason}`,
      `their bytes may remain in the file's free blocks until DuckDB reuses them; rewrite it with DuckDB: attach 'copy.duckdb' as c; copy from database ${row?.name ?? "main"} to c; then replace ${db.path} with copy.duckdb`,
      { source: db.path },
    );
  }
}

/**
 * Puts the compacted copy in place of the database file, closed by then. The file was checkpointed
 * before the copy and not written since, so a write-ahead log beside it holds nothing the copy lacks;
 * left there, DuckDB would replay it onto the copy.
 */
function replaceWithCompacted(path: string): void {
  const target = compactedPath(path);
  if (!existsSync(target)) return;
  rmSync(`${target}.wal`, { force: true });
  rmSync(`${path}.wal`, { force: true });
  renameSync(target, path);
}
