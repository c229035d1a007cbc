import type {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBResultReader,
  DuckDBType,
  DuckDBValue,
} from "@duckdb/node-api";
import { SqlError, SynthorError } from "../errors.ts";
import { Interrupted } from "../interrupt.ts";
import { macroScript, sqlFile } from "./files.ts";
import { withParameterSuffix } from "./parameters.ts";
import { quoteIdent } from "./quote.ts";

export type Row = Record<string, unknown>;
type Params = Record<string, DuckDBValue>;
type Types = Record<string, DuckDBType | undefined>;

// DuckDB's client (a native module) is loaded by the first Db.open, not on import: `synthor --help` and
// a library import that never opens a database do not pay for it.
let duckdb: typeof import("@duckdb/node-api") | undefined;

/**
 * A bound parameter with an explicit DuckDB type, for values the client cannot infer (lists): one of the
 * shapes below, made into DuckDB values when bound (once the client is loaded), or a DuckDB value and
 * type made by a caller that loaded the client itself.
 */
export type TypedParam =
  | { type: "varchar[]"; value: string[] }
  | { type: "double"; value: number }
  | { type: "double[]"; value: number[] }
  | { type: DuckDBType; value: DuckDBValue };

/** Bind a list of strings, e.g. the columns of a group. */
export function varcharList(values: string[]): TypedParam {
  return { type: "varchar[]", value: values };
}

/**
 * Bind a number as DOUBLE. A whole number is otherwise bound as an integer, and one beyond 2^63 (a bin
 * edge of a column of large values) fails with "bigint out of int64 range".
 */
export function double(value: number): TypedParam {
  return { type: "double", value };
}

/** Bind a list of doubles, e.g. bin edges. */
export function doubleList(values: number[]): TypedParam {
  return { type: "double[]", value: values };
}

export type ParamValue = string | number | boolean | null | TypedParam;

/**
 * One DuckDB database with the synthor macros loaded. Every query the pipeline runs goes through
 * {@link Db.query} (a file under sql/, parameters bound) or {@link Db.exec} (SQL built in TypeScript,
 * identifiers quoted by db/quote.ts).
 */
export class Db {
  /**
   * Whether the relations that hold real rows (src/db/real-rows.ts: the source, the reference, their
   * model and codes) are created in the database file, as `synth --keep-real` asks. By default they are
   * temporary: they live in memory (DuckDB spills them to its temporary directory when memory runs
   * short, and deletes that directory on close), never reach the file, and are gone when it closes.
   */
  readonly keepReal: boolean;
  private signal: AbortSignal | undefined;
  /** Queries started and not yet settled. */
  private running = 0;

  private constructor(
    readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    readonly path: string,
    keepReal: boolean,
  ) {
    this.keepReal = keepReal;
  }

  /**
   * Opens (or creates) a database file, or an in-memory one for `:memory:`, and loads the macros as
   * temporary macros, so opening a user's database does not change it. `persistMacros` creates them in
   * the file instead (`synthor macros --install`); `readOnly` lets several processes read one file;
   * `keepReal` creates the relations that hold real rows in the file (see {@link Db.keepReal}).
   */
  static async open(
    path = ":memory:",
    options: { threads?: number; persistMacros?: boolean; readOnly?: boolean; keepReal?: boolean } = {},
  ): Promise<Db> {
    // A query never installs a DuckDB extension (a download, and a file written under ~/.duckdb): reading
    // https:// or calling an extension's function works once the user has installed it.
    const config: Record<string, string> = { autoinstall_known_extensions: "false" };
    if (options.threads) config.threads = String(options.threads);
    if (options.readOnly && path !== ":memory:") config.access_mode = "READ_ONLY";
    duckdb ??= await import("@duckdb/node-api");
    const instance = await openInstance(duckdb, path, config);
    const connection = await instance.connect();
    const db = new Db(instance, connection, path, options.keepReal ?? false);
    const script = options.persistMacros
      ? macroScript()
      : macroScript().replaceAll(/create or replace macro/gi, "create or replace temp macro");
    await db.exec(script, "macros/*.sql");
    return db;
  }

  /**
   * Stops this database's queries when `signal` fires: the query running is interrupted (DuckDB's
   * `interrupt()`, asked again every 50 ms until it settles, in case it had not started yet) and no new
   * one starts; both throw {@link Interrupted}. Returns a function that stops watching, for the queries
   * that clean up after an interruption (rollback, marking the run interrupted).
   */
  watch(signal: AbortSignal): () => void {
    this.signal = signal;
    let again: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (this.running === 0) return;
      this.connection.interrupt();
      again = setInterval(() => {
        if (this.running === 0) clearInterval(again);
        else this.connection.interrupt();
      }, 50);
      again.unref();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    // Unwatching also stops interrupting: the clean-up after an interruption (rollback, recording the run,
    // dropping real rows) runs queries of its own that must not be cut short.
    return () => {
      signal.removeEventListener("abort", onAbort);
      clearInterval(again);
      if (this.signal === signal) this.signal = undefined;
    };
  }

  /**
   * Runs one statement, refusing to start (and reporting an interruption) once the watched signal fired.
   * DuckDB's own error is wrapped in an SqlError naming `label`, or passed on as it is (label null).
   */
  private async guarded<T>(label: string | null, sql: string, fn: () => Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal?.aborted) throw new Interrupted("running queries");
    this.running++;
    try {
      const result = await fn();
      executedHook?.({ label, sql });
      return result;
    } catch (err) {
      if (signal?.aborted) throw new Interrupted("running queries");
      throw label === null ? err : new SqlError(label, err);
    } finally {
      this.running--;
    }
  }

  /**
   * Runs SQL for its effect and lets DuckDB's error through unwrapped, for callers that turn it into an
   * error about the user's input (an unreadable file, a bad --sql). Interruptible like the others.
   */
  async execRaw(sql: string): Promise<void> {
    await this.guarded(null, sql, () => this.connection.run(sql));
  }

  /** A query's rows with DuckDB's error unwrapped (see {@link Db.execRaw}). */
  async allRaw<T extends Row = Row>(sql: string): Promise<T[]> {
    const reader = await this.guarded(null, sql, () => this.connection.runAndReadAll(sql));
    return rowObjects<T>(reader);
  }

  /** Runs a file from sql/ with named parameters and returns its rows as plain objects. */
  async query<T extends Row = Row>(file: string, params: Record<string, ParamValue> = {}): Promise<T[]> {
    return this.all<T>(sqlFile(file), params, `sql/${file}.sql`);
  }

  /** Runs SQL text and returns its rows; `label` names it in errors. */
  async all<T extends Row = Row>(
    sql: string,
    params: Record<string, ParamValue> = {},
    label = "inline query",
  ): Promise<T[]> {
    const [values, types] = bind(params);
    const t0 = performance.now();
    try {
      const reader = await this.guarded(label, sql, () => this.connection.runAndReadAll(sql, values, types));
      return rowObjects<T>(reader);
    } finally {
      trace(label === "inline query" ? `inline: ${sql.replaceAll(/\s+/g, " ").slice(0, 60)}` : label, t0);
    }
  }

  /** Runs statements for their effect. */
  async exec(
    sql: string,
    label = "inline statement",
    params: Record<string, ParamValue> = {},
  ): Promise<void> {
    const [values, types] = bind(params);
    const t0 = performance.now();
    try {
      await this.guarded(label, sql, () =>
        this.connection.run(sql, Object.keys(values).length ? values : undefined, types),
      );
    } finally {
      trace(label, t0);
    }
  }

  /**
   * Inserts into `target` the rows of one file from sql/ run once per parameter set, as a single
   * `union all` statement: one round trip instead of one per set, which matters when each run is small.
   */
  async insertUnion(target: string, file: string, paramSets: Record<string, ParamValue>[]): Promise<void> {
    for (let start = 0; start < paramSets.length; start += UNION_PARTS) {
      const { parts, params } = await this.unionParts(file, paramSets.slice(start, start + UNION_PARTS));
      await this.exec(
        `insert into ${quoteIdent(target)} ${parts.join("\nunion all\n")}`,
        `sql/${file}.sql`,
        params,
      );
    }
  }

  /** One file's query once per parameter set, each in parentheses with its parameters renamed `$<name>_<i>`. */
  private async unionParts(
    file: string,
    paramSets: Record<string, ParamValue>[],
  ): Promise<{ parts: string[]; params: Record<string, ParamValue> }> {
    const query = sqlFile(file);
    const params: Record<string, ParamValue> = {};
    const parts: string[] = [];
    for (const [i, set] of paramSets.entries()) {
      for (const [k, v] of Object.entries(set)) params[`${k}_${i}`] = v;
      parts.push(`(${await withParameterSuffix(this, query, String(i))})`);
    }
    return { parts, params };
  }

  /**
   * `table` or `view` as a relation that holds real rows is created: `temp table` unless
   * {@link Db.keepReal}.
   *
   * @example await db.exec(`create or replace ${db.realKind("view")} synthor_real_model as ...`)
   */
  realKind(kind: "table" | "view"): string {
    return this.keepReal ? kind : `temp ${kind}`;
  }

  /**
   * Drops the view or table `name` in the current schema, whichever it is, so it can be created anew;
   * with `temp`, the temporary one of that name.
   */
  async dropRelation(name: string, options: { temp?: boolean } = {}): Promise<void> {
    const temp = options.temp ?? false;
    const [found] = await this.all<{ table_type: string }>(
      `select table_type from information_schema.tables
       where table_catalog = (case when $temp then 'temp' else current_database() end)
         and table_schema = current_schema() and table_name = $name`,
      { name, temp },
      "find relation",
    );
    if (!found) return;
    await this.exec(
      `drop ${found.table_type === "VIEW" ? "view" : "table"} ${temp ? "temp." : ""}${quoteIdent(name)}`,
      "drop relation",
    );
  }

  /**
   * Drops the relation `name` that holds real rows, so it can be created anew: in the catalog
   * {@link Db.realKind} creates it in (the temporary one unless {@link Db.keepReal}).
   */
  async dropReal(name: string): Promise<void> {
    await this.dropRelation(name, { temp: !this.keepReal });
  }

  /** Runs a file from sql/ for its effect. */
  async run(file: string, params: Record<string, ParamValue> = {}): Promise<void> {
    return this.exec(sqlFile(file), `sql/${file}.sql`, params);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Opens the DuckDB file, turning DuckDB's errors into ones that say what to do: a file another process
 * holds (a second synthor run, or a DuckDB session with it open) names that process when DuckDB does.
 */
async function openInstance(
  client: typeof import("@duckdb/node-api"),
  path: string,
  config: Record<string, string>,
): Promise<DuckDBInstance> {
  try {
    return await client.DuckDBInstance.create(path, config);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const lock =
      /Could not set lock on file .*?Conflicting lock is held in (.*?)(?: \(PID (\d+)\))?(?: by user \S+)?\./s.exec(
        message,
      );
    if (lock || /Could not set lock on file/.test(message)) {
      const holder = lock?.[1] ? ` (${lock[1]}${lock[2] ? `, PID ${lock[2]}` : ""})` : "";
      throw new SynthorError(
        "DB_LOCKED",
        `the database ${path} is in use by another process${holder}`,
        "DuckDB lets one process write a database file at a time: wait for that process to finish or close it (another synthor run, or a DuckDB session with the file open), or pass another --db",
        { file: path, ...(lock?.[2] ? { pid: Number(lock[2]) } : {}) },
      );
    }
    throw new SynthorError(
      "DB_UNREADABLE",
      `cannot open the database ${path}: ${message.split("\n")[0]}`,
      "check that --db names a DuckDB database file (or a new file to create) in a directory you can write",
      { file: path },
    );
  }
}

/** Parameter sets one `union all` statement of Db.insertUnion runs at most. */
const UNION_PARTS = 32;

/** A statement DuckDB ran to the end without an error: its label (null for the raw calls) and its text. */
export interface ExecutedStatement {
  label: string | null;
  sql: string;
}

let executedHook: ((statement: ExecutedStatement) => void) | undefined;

/**
 * For tests only: `hook` is called after every statement any Db ran without an error, so the golden tests
 * can prove that each file in sql/ and macros/ was executed (test/sql-executed.ts), not merely named.
 * Nothing sets it outside the tests, and it is not part of the package's API (src/index.ts); undefined
 * removes it.
 */
export function onStatementExecuted(hook: ((statement: ExecutedStatement) => void) | undefined): void {
  executedHook = hook;
}

/** With SYNTHOR_TRACE=1, time spent per query label is printed to stderr at exit: where a run's time goes. */
const traced = new Map<string, { calls: number; ms: number }>();
function trace(label: string, t0: number): void {
  if (!process.env.SYNTHOR_TRACE) return;
  if (traced.size === 0) {
    process.on("exit", () => {
      const rows = [...traced.entries()].sort((a, b) => b[1].ms - a[1].ms);
      for (const [l, t] of rows)
        process.stderr.write(
          `trace ${t.ms.toFixed(0).padStart(8)} ms ${String(t.calls).padStart(6)}x  ${l}\n`,
        );
    });
  }
  const t = traced.get(label) ?? { calls: 0, ms: 0 };
  t.calls++;
  t.ms += performance.now() - t0;
  traced.set(label, t);
}

function bind(params: Record<string, ParamValue>): [Params, Types] {
  const values: Params = {};
  const types: Types = {};
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && typeof v === "object") {
      [values[k], types[k]] = typedValue(v);
    } else {
      values[k] = v;
    }
  }
  return [values, types];
}

function typedValue(p: TypedParam): [DuckDBValue, DuckDBType] {
  // bind() runs inside a Db's query, so Db.open has loaded the client.
  const { DOUBLE, LIST, listValue, VARCHAR } = duckdb as typeof import("@duckdb/node-api");
  switch (p.type) {
    case "varchar[]":
      return [listValue(p.value), LIST(VARCHAR)];
    case "double":
      return [p.value, DOUBLE];
    case "double[]":
      return [listValue(p.value), LIST(DOUBLE)];
    default:
      return [p.value, p.type];
  }
}

/**
 * A result's rows as plain objects, keyed by column name (a later column of the same name wins). Read
 * column by column: node-api's getRowObjectsJS and a copying conversion took three times as long, which
 * showed on every iteration's gap table (thousands of cells).
 */
function rowObjects<T extends Row>(reader: DuckDBResultReader): T[] {
  const names = reader.columnNames();
  const columns = reader.getColumnsJS();
  const rows: T[] = [];
  for (let r = 0; r < reader.currentRowCount; r++) {
    const row: Row = {};
    for (let c = 0; c < names.length; c++) row[names[c] as string] = plain(columns[c]?.[r]);
    rows.push(row as T);
  }
  return rows;
}

/** bigints become numbers (counts fit), nested values are converted in place (they are fresh copies). */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = plain(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) record[k] = plain(record[k]);
  return record;
}
