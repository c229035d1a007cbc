import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { SqlError, SynthorError } from "./errors.ts";

/** Where the real table comes from: a file, a table in the DuckDB database, or any SQL query. */
export type SourceSpec =
  | { kind: "file"; path: string }
  | { kind: "table"; table: string }
  | { kind: "sql"; sql: string };

/** What reading a source produced: the view name to read the real table from, and its description. */
export interface SourceInfo {
  view: string;
  label: string;
  rows: number;
  columns: { name: string; type: string }[];
}

const readers: Record<string, string> = {
  ".csv": "read_csv",
  ".tsv": "read_csv",
  ".parquet": "read_parquet",
  ".json": "read_json_auto",
  ".ndjson": "read_json_auto",
  ".jsonl": "read_json_auto",
};

/** Builds a SourceSpec from CLI-style options: a positional file, `--table`, or `--sql`. */
export function sourceSpec(file: string | undefined, opts: { table?: string; sql?: string }): SourceSpec {
  const given = [file, opts.table, opts.sql].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new SynthorError(
      "SOURCE_OPTIONS",
      given.length === 0 ? "no real table given" : "give the real table one way only",
      "pass a file (data.csv, data.parquet, data.json), or --table NAME with --db FILE.duckdb, or --sql 'select ...'",
    );
  }
  if (file !== undefined) return { kind: "file", path: file };
  if (opts.table !== undefined) return { kind: "table", table: opts.table };
  return { kind: "sql", sql: opts.sql as string };
}

/**
 * Makes the real table readable as the view `view` (default `synthor_real`) and checks it is usable:
 * the file exists, can be read, and holds at least one row.
 *
 * @example await readSource(db, { kind: "file", path: "adult.csv" }) // view synthor_real
 */
export async function readSource(db: Db, spec: SourceSpec, view = "synthor_real"): Promise<SourceInfo> {
  const { select, label, materialize } = selectFor(spec);
  try {
    // Text formats are parsed once into a table; Parquet and tables are read in place through a view.
    const what = materialize ? "table" : "view";
    await db.connection.run(
      `drop view if exists ${quoteIdent(view)}; drop table if exists ${quoteIdent(view)}`,
    );
    await db.connection.run(`create ${what} ${quoteIdent(view)} as ${select}`);
  } catch (err) {
    throw unreadable(spec, label, err);
  }
  let rows: number;
  let columns: { name: string; type: string }[];
  try {
    const described = await db.all<{ column_name: string; column_type: string }>(
      `describe ${quoteIdent(view)}`,
    );
    columns = described.map((c) => ({ name: c.column_name, type: c.column_type }));
    const [count] = await db.all<{ n: number }>(`select count(*) as n from ${quoteIdent(view)}`);
    rows = count?.n ?? 0;
  } catch (err) {
    throw unreadable(spec, label, err instanceof SqlError ? err.message : err);
  }
  if (rows === 0) {
    throw new SynthorError(
      "SOURCE_EMPTY",
      `${label} has no rows`,
      "synthesis needs real rows to learn from; check the file or the query's where clause",
      { source: label },
    );
  }
  return { view, label, rows, columns };
}

function selectFor(spec: SourceSpec): { select: string; label: string; materialize: boolean } {
  switch (spec.kind) {
    case "file": {
      const path = resolve(spec.path);
      const reader = readers[extname(path).toLowerCase()];
      if (!reader) {
        throw new SynthorError(
          "SOURCE_UNSUPPORTED",
          `cannot tell how to read ${spec.path}: unknown extension "${extname(path)}"`,
          `use a .csv, .tsv, .parquet, .json or .ndjson file, or --sql "select * from read_csv('${spec.path}')"`,
          { source: spec.path },
        );
      }
      if (!existsSync(path)) {
        throw new SynthorError(
          "SOURCE_NOT_FOUND",
          `file not found: ${spec.path}`,
          "check the path (it is relative to the current directory)",
          { source: spec.path },
        );
      }
      if (statSync(path).size === 0) {
        throw new SynthorError(
          "SOURCE_EMPTY",
          `${spec.path} is empty (0 bytes)`,
          "synthesis needs real rows to learn from; point to a file with a header and data",
          { source: spec.path },
        );
      }
      return {
        select: `select * from ${reader}(${quoteLiteral(path)})`,
        label: spec.path,
        materialize: reader !== "read_parquet",
      };
    }
    case "table":
      return {
        select: `select * from ${quoteIdent(spec.table)}`,
        label: `table ${spec.table}`,
        materialize: false,
      };
    case "sql":
      return { select: `select * from (${spec.sql})`, label: "the --sql query", materialize: true };
  }
}

function unreadable(spec: SourceSpec, label: string, err: unknown): SynthorError {
  const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  if (spec.kind === "table" && /does not exist/i.test(reason ?? "")) {
    return new SynthorError(
      "SOURCE_NOT_FOUND",
      `table not found: ${spec.table}`,
      "list the tables with: synthor query --db FILE.duckdb 'show tables'",
      { source: label },
    );
  }
  return new SynthorError(
    "SOURCE_UNREADABLE",
    `cannot read ${label}: ${reason}`,
    spec.kind === "sql"
      ? "run the query in DuckDB to fix it, then try again"
      : "check that the file is complete and in the format its extension says",
    { source: label },
  );
}
