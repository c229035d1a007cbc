import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { quoteIdent, quoteLiteral, quoteQualified } from "./db/quote.ts";
import { checkQuery, type SqlUse } from "./db/sql-guard.ts";
import { SynthorError } from "./errors.ts";
import { Interrupted } from "./interrupt.ts";
import { cliName } from "./names.ts";

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
  /**
   * Columns DuckDB's CSV reader named otherwise than the file's header: a name repeated in another case
   * or exactly (`Amount`, `amount` -> `amount_1`), an empty header (-> `column2`). Said to the user.
   */
  renamed?: { header: string; name: string }[];
  /**
   * Text columns read as numbers: every value is a number or an NA marker ({@link NA_MARKERS}), and at
   * least one is a number. The markers are NULL in the view; `found` lists them as written (trimmed).
   */
  markers?: { name: string; type: "BIGINT" | "DOUBLE"; count: number; found: string[] }[];
}

/**
 * Text that stands for a missing number in a column that is otherwise numbers (compared trimmed and
 * case-insensitively): the empty string, `N`, `NA`, `N/A` and `NULL`.
 */
export const NA_MARKERS: readonly string[] = ["", "N", "NA", "N/A", "NULL"];

/** Readers by file extension; a compression suffix (.gz, .zst) is looked through. */
const readers: Record<string, string> = {
  ".csv": "read_csv",
  ".tsv": "read_csv",
  ".parquet": "read_parquet",
  ".json": "read_json_auto",
  ".ndjson": "read_json_auto",
  ".jsonl": "read_json_auto",
};
const compressions = [".gz", ".zst"];

/** Builds a SourceSpec from CLI-style options: a positional file, `--table`, or `--sql`. */
export function sourceSpec(file: string | undefined, opts: { table?: string; sql?: string }): SourceSpec {
  const given = [
    file !== undefined ? `the file ${file}` : undefined,
    opts.table !== undefined ? "--table" : undefined,
    opts.sql !== undefined ? "--sql" : undefined,
  ].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new SynthorError(
      "SOURCE_OPTIONS",
      given.length === 0
        ? "no real table given"
        : `the real table is given ${given.length} ways (${given.join(", ")}); give it one way only`,
      "pass a file (data.csv, data.parquet, data.json), or --table NAME with --db FILE.duckdb, or --sql 'select ...'",
    );
  }
  if (file !== undefined) return { kind: "file", path: file };
  if (opts.table !== undefined) return { kind: "table", table: opts.table };
  return { kind: "sql", sql: opts.sql as string };
}

/**
 * Makes the real table readable as the view `view` (default `synthor_real`) and checks it is usable:
 * the file exists, can be read, and holds at least one row. The view (or table, for text formats) is
 * temporary unless the database keeps real rows (`Db.keepReal`).
 *
 * @example await readSource(db, { kind: "file", path: "adult.csv" }) // view synthor_real
 */
export async function readSource(db: Db, spec: SourceSpec, view = "synthor_real"): Promise<SourceInfo> {
  const { select, label, materialize } =
    spec.kind === "table"
      ? await selectTable(db, spec.table)
      : spec.kind === "sql"
        ? await selectSql(db, spec.sql)
        : selectFor(spec);
  // A --table that already has the view's name is read as it is: replacing it would drop the user's table.
  if (select !== `select * from ${quoteIdent(view)}`) {
    try {
      // Text formats are parsed once into a table; Parquet and tables are read in place through a view.
      // Built under a new name first: a --sql query may read the previous run's view. Temporary unless
      // --keep-real: the real rows never reach the database file.
      const what = materialize ? "table" : "view";
      const next = `${view}_next`;
      await db.dropReal(next);
      await db.execRaw(`create ${db.realKind(what)} ${quoteIdent(next)} as ${select}`);
      await db.dropReal(view);
      await db.execRaw(`alter ${what} ${quoteIdent(next)} rename to ${quoteIdent(view)}`);
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      if (spec.kind === "sql") throw await sqlError(db, spec.sql, err);
      throw unreadable(spec, label, err);
    }
  }
  let rows: number;
  let columns: { name: string; type: string }[];
  try {
    const described = await db.allRaw(`describe ${quoteIdent(view)}`);
    columns = described.map((c) => ({ name: String(c.column_name), type: String(c.column_type) }));
    const count = await db.allRaw(`select count(*) as n from ${quoteIdent(view)}`);
    rows = Number(count[0]?.n ?? 0);
  } catch (err) {
    if (err instanceof Interrupted) throw err;
    throw unreadable(spec, label, err);
  }
  if (rows === 0) {
    throw new SynthorError("SOURCE_EMPTY", `${label} has no rows`, emptyHint(spec), { source: label });
  }
  const renamed = spec.kind === "file" ? await renamedColumns(db, spec.path, columns) : [];
  // A --table read as it is (named like the view) cannot be replaced by a view with its markers as NULL.
  const markers =
    select !== `select * from ${quoteIdent(view)}`
      ? await readMarkersAsNull(db, view, select, materialize, columns)
      : [];
  return {
    view,
    label,
    rows,
    columns,
    ...(renamed.length > 0 ? { renamed } : {}),
    ...(markers.length > 0 ? { markers } : {}),
  };
}

/**
 * Finds the text columns that hold only numbers (none written with a leading zero) and NA markers
 * ({@link NA_MARKERS}), with at least one number, and rebuilds the view with them as numbers (BIGINT when every number is whole and fits, else
 * DOUBLE) and the markers as NULL, as DuckDB's CSV reader would have typed them without the markers.
 * `columns` is updated in place. Views of other tables are left exactly as they were.
 */
async function readMarkersAsNull(
  db: Db,
  view: string,
  select: string,
  materialize: boolean,
  columns: { name: string; type: string }[],
): Promise<NonNullable<SourceInfo["markers"]>> {
  const text = columns.filter((c) => c.type === "VARCHAR");
  if (text.length === 0) return [];
  const markerList = NA_MARKERS.map(quoteLiteral).join(", ");
  const aggregates = text.flatMap((c, k) => {
    const t = `trim(${quoteIdent(c.name)})`;
    const marker = `upper(${t}) in (${markerList})`;
    // No leading zeros: "02134" beside "NA" is a code (a zip code) whose zeros a number would lose.
    const number = `regexp_full_match(${t}, '[+-]?((0|[1-9][0-9]*)([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?')`;
    return [
      `count(*) filter (where not (${marker}) and not (${number})) as other${k}`,
      `count(*) filter (where ${number}) as numbers${k}`,
      `count(*) filter (where ${number} and not (regexp_full_match(${t}, '[+-]?[0-9]+') and try_cast(${t} as bigint) is not null)) as fractional${k}`,
      `list(distinct ${t} order by ${t}) filter (where ${marker}) as found${k}`,
      `count(*) filter (where ${marker}) as markers${k}`,
    ];
  });
  const [stats] = await db.all<Record<string, number | string[] | null>>(
    `select ${aggregates.join(", ")} from ${quoteIdent(view)}`,
    {},
    "find NA markers",
  );
  const found: NonNullable<SourceInfo["markers"]> = [];
  for (const [k, c] of text.entries()) {
    const n = (key: string) => Number(stats?.[`${key}${k}`] ?? 0);
    if (n("other") > 0 || n("numbers") === 0 || n("markers") === 0) continue;
    found.push({
      name: c.name,
      type: n("fractional") === 0 ? "BIGINT" : "DOUBLE",
      count: n("markers"),
      found: (stats?.[`found${k}`] as string[] | null) ?? [],
    });
  }
  if (found.length === 0) return [];
  const replace = found.map((m) => {
    const q = quoteIdent(m.name);
    return `cast(case when upper(trim(${q})) in (${markerList}) then null else trim(${q}) end as ${m.type}) as ${q}`;
  });
  const what = materialize ? "table" : "view";
  const next = `${view}_next`;
  await db.dropReal(next);
  await db.execRaw(
    `create ${db.realKind(what)} ${quoteIdent(next)} as select * replace (${replace.join(", ")}) from (${select})`,
  );
  await db.dropReal(view);
  await db.execRaw(`alter ${what} ${quoteIdent(next)} rename to ${quoteIdent(view)}`);
  for (const m of found) {
    const column = columns.find((c) => c.name === m.name);
    if (column) column.type = m.type;
  }
  return found;
}

/**
 * The header fields of a CSV or TSV file that DuckDB's reader renamed, by position: it makes names unique
 * case-insensitively (`amount` after `Amount` becomes `amount_1`) and names an empty field `column<i>`.
 */
async function renamedColumns(
  db: Db,
  path: string,
  columns: { name: string }[],
): Promise<{ header: string; name: string }[]> {
  const format = formatOf(path);
  if (format !== ".csv" && format !== ".tsv") return [];
  const options = format === ".tsv" ? ", delim = '\\t'" : "";
  const reader = await db.connection.runAndReadAll(
    `select * from read_csv(${quoteLiteral(resolve(path))}, header = false, all_varchar = true${options}) limit 1`,
  );
  const header = reader.getRowsJS()[0] ?? [];
  if (header.length !== columns.length) return [];
  return columns.flatMap((c, i) => {
    const field = header[i] === null || header[i] === undefined ? "" : String(header[i]);
    return field === c.name ? [] : [{ header: field, name: c.name }];
  });
}

/** The warning that says which columns were renamed, or none. */
export function renamedWarning(info: SourceInfo): string | undefined {
  if (!info.renamed?.length) return undefined;
  const each = info.renamed.map(
    (r) =>
      `${r.header === "" ? "(empty header)" : JSON.stringify(r.header)} is column ${JSON.stringify(r.name)}`,
  );
  return `${info.label}: ${info.renamed.length === 1 ? "a column was" : `${info.renamed.length} columns were`} renamed by the CSV reader (names must be unique, case aside, and not empty): ${each.join(", ")}; the output uses the new names`;
}

function emptyHint(spec: SourceSpec): string {
  switch (spec.kind) {
    case "file":
      return /^\.[ct]sv$/.test(formatOf(spec.path))
        ? "synthesis needs real rows to learn from; the file has column names but no data rows, so point to one that has data"
        : "synthesis needs real rows to learn from; the file holds no records, so point to one that has data";
    case "table":
      return "synthesis needs real rows to learn from; fill the table first, or pick another with --table";
    case "sql":
      return "synthesis needs real rows to learn from; run the query in DuckDB and check its where clause and joins";
  }
}

/** A table of the database, named as is or as `schema.table` (or `database.schema.table`). */
async function selectTable(
  db: Db,
  table: string,
): Promise<{ select: string; label: string; materialize: boolean }> {
  const label = `table ${cliName(table)}`;
  const rows = (
    await db.connection.runAndReadAll(
      `select database_name as d, schema_name as s, table_name as t from duckdb_tables()
       union all
       select database_name, schema_name, view_name from duckdb_views() where not internal
       order by all`,
    )
  )
    .getRowObjectsJS()
    .map((r) => ({ d: String(r.d), s: String(r.s), t: String(r.t) }));
  const [current] = (
    await db.connection.runAndReadAll("select current_database() as d, current_schema() as s")
  )
    .getRowObjectsJS()
    .map((r) => ({ d: String(r.d), s: String(r.s) }));
  // The exact name first (a table may be called "a.b"), then the name read as schema.table. A temporary
  // relation (readSource's own, earlier in the same session) is found by its name too, as DuckDB does.
  const exact = rows.find(
    (r) => r.t === table && (r.d === "temp" || (r.d === current?.d && r.s === current?.s)),
  );
  if (exact) return { select: `select * from ${quoteIdent(table)}`, label, materialize: false };
  const parts = table.split(".");
  const qualified = rows.find(
    (r) =>
      (parts.length === 2 && r.s === parts[0] && r.t === parts[1] && r.d === current?.d) ||
      (parts.length === 3 && r.d === parts[0] && r.s === parts[1] && r.t === parts[2]),
  );
  if (qualified) {
    return {
      select: `select * from ${quoteQualified(qualified.d, qualified.s, qualified.t)}`,
      label,
      materialize: false,
    };
  }
  const names = rows
    .filter((r) => !r.t.startsWith("synthor_") && !(r.d === "system" || r.d === "temp"))
    .map((r) => (r.d === current?.d && r.s === current?.s ? r.t : `${r.s}.${r.t}`));
  const where = db.path === ":memory:" ? "the database" : db.path;
  throw new SynthorError(
    "SOURCE_NOT_FOUND",
    `table not found: ${table} is not in ${where}`,
    names.length > 0
      ? `the tables are: ${names.map(cliName).join(", ")}`
      : `${where} has no tables; create one, or give --db the file that holds ${cliName(table)}`,
    { source: label },
  );
}

function selectFor(spec: SourceSpec): { select: string; label: string; materialize: boolean } {
  switch (spec.kind) {
    case "file": {
      const path = resolve(spec.path);
      if (!existsSync(path)) {
        throw new SynthorError(
          "SOURCE_NOT_FOUND",
          `file not found: ${spec.path}`,
          spec.path === path
            ? "check the path"
            : `check the path; it is read relative to the current directory, as ${path}`,
          { source: spec.path },
        );
      }
      const stat = statSync(path);
      if (stat.isDirectory()) {
        throw new SynthorError(
          "SOURCE_UNREADABLE",
          `${spec.path} is a directory, not a file`,
          `name one file in it, or read them all with --sql "select * from read_parquet('${spec.path.replaceAll("'", "''")}/*.parquet')"`,
          { source: spec.path },
        );
      }
      const format = formatOf(path);
      const reader = readers[format];
      if (!reader) {
        const literal = quoteLiteral(spec.path).replaceAll('"', '\\"');
        throw new SynthorError(
          "SOURCE_UNSUPPORTED",
          format === ""
            ? `cannot tell how to read ${spec.path}: it has no extension`
            : `cannot tell how to read ${spec.path}: unknown extension "${format}"`,
          `rename it to .csv, .tsv, .parquet, .json or .ndjson, or read it with --sql "select * from read_csv(${literal})"`,
          { source: spec.path },
        );
      }
      if (stat.size === 0) {
        throw new SynthorError(
          "SOURCE_EMPTY",
          `${spec.path} is empty (0 bytes)`,
          "synthesis needs real rows to learn from; point to a file with column names and data",
          { source: spec.path },
        );
      }
      const options = format === ".tsv" ? ", delim = '\\t'" : "";
      return {
        select: `select * from ${reader}(${quoteLiteral(path)}${options})`,
        label: spec.path,
        materialize: reader !== "read_parquet",
      };
    }
    case "table":
      throw new Error("tables are resolved by selectTable");
    case "sql":
      throw new Error("queries are checked by selectSql");
  }
}

/** How --sql is named in messages: it is one query, read from (src/db/sql-guard.ts). */
export const SQL_SOURCE: SqlUse = {
  option: "--sql",
  invalid: "cannot read the --sql query",
  code: "SOURCE_UNREADABLE",
  hint: 'fix the query (try it with: synthor query "..."), then run this again',
};

/** A --sql query, once DuckDB's parser has found it to be one SELECT that only reads. */
async function selectSql(
  db: Db,
  sql: string,
): Promise<{ select: string; label: string; materialize: boolean }> {
  return {
    select: `select * from ${await checkQuery(db, sql, SQL_SOURCE)}`,
    label: "the --sql query",
    materialize: true,
  };
}

/**
 * The column names of a source, without reading it into the database (nothing is created): for hints
 * given before the source is read. Undefined when it cannot be described.
 */
export async function sourceColumns(db: Db, spec: SourceSpec): Promise<string[] | undefined> {
  try {
    const { select } =
      spec.kind === "table"
        ? await selectTable(db, spec.table)
        : spec.kind === "sql"
          ? await selectSql(db, spec.sql)
          : selectFor(spec);
    const rows = await db.all<{ column_name: string }>(`describe ${select}`, {}, "describe the source");
    return rows.map((r) => r.column_name);
  } catch {
    return undefined;
  }
}

/** The format extension of a path, looking through a compression suffix: `a.csv.gz` is `.csv`. */
function formatOf(path: string): string {
  const ext = extname(path).toLowerCase();
  if (compressions.includes(ext)) return extname(path.slice(0, -ext.length)).toLowerCase();
  return ext;
}

/**
 * A failed --sql, with DuckDB's message about the user's own query (not the subquery it was wrapped in),
 * including the line and caret that point at the mistake.
 */
async function sqlError(db: Db, sql: string, err: unknown): Promise<SynthorError> {
  let message = err instanceof Error ? err.message : String(err);
  try {
    // Prepared, not run, and only after sql-guard found it to be one query: its own text (without a
    // trailing ";"), so the line and caret of DuckDB's message point into what the user wrote.
    const prepared = await db.connection.prepare(sql.trim().replace(/[;\s]+$/, ""));
    prepared.destroySync();
  } catch (own) {
    message = own instanceof Error ? own.message : String(own);
  }
  return new SynthorError(
    "SOURCE_UNREADABLE",
    `cannot read the --sql query: ${message.trim().replace(/\n{3,}/g, "\n\n")}`,
    'fix the query (try it with: synthor query "..."), then run this again',
    { source: "the --sql query" },
  );
}

function unreadable(spec: SourceSpec, label: string, err: unknown): SynthorError {
  const reason = firstLines(err instanceof Error ? err.message : String(err));
  if (spec.kind === "file") {
    const literal = quoteLiteral(spec.path).replaceAll('"', '\\"');
    const reader = readers[formatOf(spec.path)] ?? "read_csv";
    return new SynthorError(
      "SOURCE_UNREADABLE",
      `cannot read ${label}: ${reason}`,
      `check that the file is complete and is ${formatName(spec.path)} as its extension says; to pass reader options, use --sql "select * from ${reader}(${literal}, ...)"`,
      { source: label },
    );
  }
  return new SynthorError(
    "SOURCE_UNREADABLE",
    `cannot read ${label}: ${reason}`,
    spec.kind === "sql"
      ? "run the query in DuckDB (or synthor query) to fix it, then try again"
      : "check the table with: synthor query --db FILE.duckdb 'describe TABLE'",
    { source: label },
  );
}

function formatName(path: string): string {
  const format = formatOf(path);
  if (format === ".parquet") return "Parquet";
  if (format === ".tsv") return "tab-separated text";
  if (format === ".csv") return "CSV";
  return "JSON";
}

/**
 * The useful part of a DuckDB error: its first line, and for CSV errors the line after it, which says
 * what is wrong ("CSV Error on Line: 1" alone does not).
 */
function firstLines(message: string): string {
  const lines = message
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const first = lines[0] ?? "unknown error";
  if (!/CSV Error on Line/i.test(first)) return first;
  const why = lines.slice(1).find((l) => !/^(Original Line|Possible Solution|\w+ = )/i.test(l));
  return why ? `${first}: ${why}` : first;
}

/** What a run records of its source, so --resume can tell it re-read the same rows. */
export interface SourceData {
  rows: number;
  /** The sum of the rows' hashes (sql/source_checksum.sql), as text. */
  checksum: string;
}

/**
 * The row count and checksum of a source read into `info.view`. With `resumed` (what the interrupted
 * run recorded; runs before it was recorded have none), a source that no longer gives the same rows is
 * refused: the run database does not keep the real rows, so --resume reads the source again.
 */
export async function sourceDataOf(db: Db, info: SourceInfo, resumed?: SourceData): Promise<SourceData> {
  const [data] = await db.query<{ n: number; checksum: string }>("source_checksum", { table: info.view });
  const now = { rows: data?.n ?? 0, checksum: data?.checksum ?? "0" };
  if (resumed && (resumed.rows !== now.rows || resumed.checksum !== now.checksum)) {
    throw new SynthorError(
      "RUN_STATE",
      resumed.rows !== now.rows
        ? `${info.label} changed since the interrupted run: it had ${resumed.rows} rows, now ${now.rows}`
        : `${info.label} changed since the interrupted run: the same ${now.rows} rows, but other values`,
      "resume with the data the run started from (the database does not keep the real rows), or start over without --resume",
      { source: info.label },
    );
  }
  return now;
}

/** A source as a run records it: a file by its absolute path, so --resume from elsewhere finds the same run. */
export function recordedSpec(spec: SourceSpec): SourceSpec {
  return spec.kind === "file" ? { ...spec, path: resolve(spec.path) } : spec;
}

/** A relation as a source: its columns and types, and its row count. */
export async function describeView(db: Db, view: string): Promise<SourceInfo> {
  const columns = (
    await db.all<{ column_name: string; column_type: string }>(`describe ${quoteIdent(view)}`)
  ).map((c) => ({ name: c.column_name, type: c.column_type }));
  const [row] = await db.all<{ n: number }>(`select count(*) as n from ${quoteIdent(view)}`);
  return { view, label: view, rows: row?.n ?? 0, columns };
}
