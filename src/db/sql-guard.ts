/**
 * The one gate user SQL passes before synthor puts it in a statement of its own: the conditions of
 * `--where`, `--tilt` and `eval --flows-filter`, and the queries of `--sql`, `--targets-sql` and
 * `eval --queries`. An LLM's reply would be held to the same rules.
 *
 * DuckDB's own parser decides, never string matching: the text is bound as a parameter of
 * `json_serialize_sql`, which parses without running anything and returns the syntax tree (or the
 * parser's error). A condition must parse as exactly one expression of `select * from t where ...`,
 * with nothing after it (no `;`, no second statement, no group by, order by, union ...); a query as
 * exactly one SELECT statement. In the tree, every function call is checked: a condition or a query
 * reads tables and files and computes, nothing else (see {@link READERS} and {@link REFUSED_CALLS}).
 *
 * What runs is what was checked: the parser's own rendering of the tree (json_deserialize_sql),
 * parenthesized, is parsed again in the place it is used and must give the same tree. Where DuckDB
 * renders a tree differently (it writes `1e10` as a decimal), the user's own text is used, under the
 * same check, so its meaning never changes.
 *
 * @example
 * await checkCondition(db, "age between 30 and 40", use) // => "((age BETWEEN 30 AND 40)\n)"
 * await checkCondition(db, "1=1); copy (select 1) to 'x'; select (1", use) // throws, quoting ");..."
 */
import { type ErrorCode, SynthorError } from "../errors.ts";
import type { Db } from "./connection.ts";

/** How one option's SQL is named in messages, and the fix its errors suggest. */
export interface SqlUse {
  /** The option as messages name it, e.g. `--where`, `--tilt "dest = 'Z12' => 3"`, `query "x"`. */
  option: string;
  /** The head of the message when the parser rejects the text, e.g. "cannot read the --sql query". */
  invalid: string;
  /** The code of that message (a refusal of valid SQL is always SQL_REFUSED). */
  code: ErrorCode;
  /** What the option takes, with an example: the hint of every error. */
  hint: string;
}

/**
 * Table functions a condition or query may read from: files (the readers of the formats synthor reads,
 * text and blobs, file lists), generated rows, a table named by a string. Anything else (`query()`, which
 * runs SQL given as text; `checkpoint()`; `enable_logging()`; `read_duckdb()`; metadata functions ...) is
 * refused. synthor's own table macros (`synthor_*`) read tables too.
 */
export const READERS: ReadonlySet<string> = new Set([
  "read_csv",
  "read_csv_auto",
  "read_parquet",
  "parquet_scan",
  "read_json",
  "read_json_auto",
  "read_json_objects",
  "read_json_objects_auto",
  "read_ndjson",
  "read_ndjson_auto",
  "read_ndjson_objects",
  "read_text",
  "read_blob",
  "glob",
  "range",
  "generate_series",
  "unnest",
  "json_each",
  "json_tree",
  "query_table",
]);

/** Scalar functions with an effect beyond their value: refused wherever they appear. */
export const REFUSED_CALLS: ReadonlyMap<string, string> = new Map([
  ["nextval", "it advances a sequence of the database"],
  ["setval", "it sets a sequence of the database"],
  ["setseed", "it changes the session's random seed"],
  ["write_log", "it writes to DuckDB's log"],
  ["pg_sleep", "it only waits"],
  ["sleep_ms", "it only waits"],
]);

/** Named parameters of the CSV reader that write a table of rejected rows. */
const WRITING_PARAMETERS = new Set(["store_rejects", "rejects_table", "rejects_scan"]);

/** The statement a condition is parsed in: the table name is a placeholder, never read. */
const CONDITION_HEAD = "SELECT * FROM __synthor_condition WHERE ";

type Json = { [key: string]: unknown };
type Parsed = { error: false; statements: { node: Json }[] } | ParseFailure;
type ParseFailure = { error: true; error_type: string; error_message: string; position?: string };

/**
 * A condition over a table's columns (`--where`, the left side of `--tilt`, `--flows-filter`), checked;
 * returns it as a parenthesized expression to put in a where clause or a select list as is.
 * Throws a SynthorError that quotes the offending part otherwise.
 */
export async function checkCondition(db: Db, text: string, use: SqlUse): Promise<string> {
  const cached = checkedCache(db).get(`condition\0${text}`);
  if (cached !== undefined) return cached;
  if (text.trim() === "") throw refused(use, `${use.option} is empty`, use.hint);
  const wrapped = `${CONDITION_HEAD}${text}\n`;
  const parsed = await parse(db, wrapped);
  if (parsed.error) {
    if (parsed.error_type === "parser") throw parseError(use, parsed, text, CONDITION_HEAD.length);
    throw await moreThanOne(db, use, text, CONDITION_HEAD, "condition");
  }
  if (parsed.statements.length !== 1) throw await moreThanOne(db, use, text, CONDITION_HEAD, "condition");
  const node = (parsed.statements[0] as { node: Json }).node;
  const reference = await conditionShape(db);
  const where = node.where_clause as Json | undefined;
  if (!where || !sameTree(withoutWhere(node), reference)) {
    throw refused(
      use,
      `${use.option} must be a condition alone, but ${quote(text)} goes on with ${extraClause(node, reference)}`,
      `leave out what follows the condition; ${use.hint}`,
    );
  }
  checkCalls(where, use);
  const rendered = await render(db, parsed);
  const body = rendered?.startsWith(CONDITION_HEAD) ? rendered.slice(CONDITION_HEAD.length) : null;
  for (const candidate of candidates(text, body)) {
    const again = await parse(db, `${CONDITION_HEAD}${candidate}`);
    if (again.error || again.statements.length !== 1) continue;
    const n = (again.statements[0] as { node: Json }).node;
    if (sameTree(withoutWhere(n), reference) && sameTree(n.where_clause, where)) {
      checkedCache(db).set(`condition\0${text}`, candidate);
      return candidate;
    }
  }
  throw uncheckable(use, text);
}

/**
 * A query (`--sql`, `--targets-sql`, a query or view of `eval --queries`), checked; returns it as a
 * parenthesized subquery to read from: `select * from ${checked}`. Throws a SynthorError that quotes
 * the offending part otherwise.
 */
export async function checkQuery(db: Db, text: string, use: SqlUse): Promise<string> {
  const cached = checkedCache(db).get(`query\0${text}`);
  if (cached !== undefined) return cached;
  const parsed = await parse(db, text);
  if (parsed.error && parsed.error_type === "parser") throw await queryParseError(db, use, parsed, text);
  const count = parsed.error ? await statementCount(db, text) : parsed.statements.length;
  if (count === 0) throw refused(use, `${use.option} is empty`, use.hint);
  if (count > 1) throw await moreThanOne(db, use, text, "", "query");
  if (parsed.error) {
    throw refused(
      use,
      `${use.option} must be one SELECT query, not ${quote(text)}`,
      `it is only read from (select, with, from, values, pivot with an in list); run statements that change a database with synthor query --write; ${use.hint}`,
    );
  }
  const node = (parsed.statements[0] as { node: Json }).node;
  checkCalls(node, use);
  const rendered = await render(db, parsed);
  const reference = await subqueryShape(db);
  for (const candidate of candidates(text, rendered)) {
    const again = await parse(db, `SELECT * FROM ${candidate}`);
    if (again.error || again.statements.length !== 1) continue;
    const n = (again.statements[0] as { node: Json }).node;
    const from = n.from_table as Json | undefined;
    const sub = (from?.subquery as { node?: Json } | undefined)?.node;
    if (sub && sameTree(withoutSubquery(n), reference) && sameTree(sub, node)) {
      checkedCache(db).set(`query\0${text}`, candidate);
      return candidate;
    }
  }
  throw uncheckable(use, text);
}

/**
 * The texts to try, parenthesized, in order: DuckDB's rendering; the user's text; the user's text up to
 * each ";" from the last (a trailing ";" or comment of a single statement would break the parentheses).
 * The caller keeps the first whose tree, parsed in place, is the checked one.
 */
function candidates(text: string, rendered: string | null): string[] {
  const ends: number[] = [];
  for (let i = text.lastIndexOf(";"); i >= 0; i = i > 0 ? text.lastIndexOf(";", i - 1) : -1) ends.push(i);
  return [...(rendered !== null ? [rendered] : []), text, ...ends.map((i) => text.slice(0, i))].map(
    (t) => `(${t}\n)`,
  );
}

/** Checks of a database's session: successes only, keyed by kind and text (errors name the option). */
const checked = new WeakMap<Db, Map<string, string>>();
function checkedCache(db: Db): Map<string, string> {
  let map = checked.get(db);
  if (!map) {
    map = new Map();
    checked.set(db, map);
  }
  return map;
}

/**
 * The parser's tree of `sql`, or its error; nothing is run. `raw` is the tree as DuckDB wrote it: its
 * numbers (positions up to 2^64) do not all survive JSON.parse, so it is what goes back to DuckDB.
 */
async function parse(db: Db, sql: string): Promise<Parsed & { raw: string }> {
  const [row] = await db.all<{ ast: string }>(
    "select json_serialize_sql($sql::varchar) as ast",
    { sql },
    "parse SQL",
  );
  const raw = row?.ast ?? '{"error":true,"error_type":"parser","error_message":"no result"}';
  return { ...(JSON.parse(raw) as Parsed), raw };
}

/** DuckDB's rendering of a parsed tree as SQL text, or null where it cannot render it. */
async function render(db: Db, parsed: { raw: string }): Promise<string | null> {
  try {
    const [row] = await db.all<{ sql: string }>(
      "select json_deserialize_sql($ast::json) as sql",
      { ast: parsed.raw },
      "render SQL",
    );
    return row?.sql ?? null;
  } catch {
    return null;
  }
}

/** The shape every condition's statement has, with the where clause left out. */
async function conditionShape(db: Db): Promise<unknown> {
  return shape(db, `${CONDITION_HEAD}true`, withoutWhere);
}

/** The shape of `select * from (subquery)`, with the subquery left out. */
async function subqueryShape(db: Db): Promise<unknown> {
  return shape(db, "SELECT * FROM (SELECT 1\n)", withoutSubquery);
}

const shapes = new Map<string, unknown>();
async function shape(db: Db, sql: string, strip: (node: Json) => unknown): Promise<unknown> {
  let s = shapes.get(sql);
  if (s === undefined) {
    const parsed = await parse(db, sql);
    if (parsed.error) throw new Error(`cannot parse ${sql}: ${parsed.error_message}`);
    s = strip((parsed.statements[0] as { node: Json }).node);
    shapes.set(sql, s);
  }
  return s;
}

function withoutWhere(node: Json): unknown {
  return { ...node, where_clause: null };
}

function withoutSubquery(node: Json): unknown {
  return { ...node, from_table: { ...(node.from_table as Json), subquery: null } };
}

/** Two trees are the same apart from where their parts stand in the text. */
function sameTree(a: unknown, b: unknown): boolean {
  return JSON.stringify(located(a)) === JSON.stringify(located(b));
}

function located(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(located);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== "query_location")
        .map(([k, v]) => [k, located(v)]),
    );
  }
  return value;
}

/** Which clause follows a condition that is not alone, for the message. */
function extraClause(node: Json, reference: unknown): string {
  if (node.type === "SET_OPERATION_NODE")
    return String(node.setop_type ?? "a set operation").replace("_", " ");
  const modifiers = (node.modifiers as Json[] | undefined) ?? [];
  for (const m of modifiers) {
    if (m.type === "ORDER_MODIFIER") return "ORDER BY";
    if (m.type === "DISTINCT_MODIFIER") return "DISTINCT";
    return "LIMIT";
  }
  const ref = reference as Json;
  if (
    (node.group_expressions as unknown[] | undefined)?.length ||
    node.aggregate_handling !== ref.aggregate_handling
  )
    return "GROUP BY";
  if (node.having) return "HAVING";
  if (node.qualify) return "QUALIFY";
  if (node.sample) return "USING SAMPLE";
  if (!node.where_clause) return "no condition";
  return "more than a condition";
}

/**
 * Every call in the tree: table functions must be readers, scalar functions must not be of the refused
 * kind, the CSV reader may not write its rejects table, and no parameter may be left unbound.
 */
function checkCalls(tree: unknown, use: SqlUse): void {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (value === null || typeof value !== "object") return;
    const node = value as Json;
    if (node.class === "PARAMETER") {
      throw refused(
        use,
        `${use.option} holds a parameter (${parameterText(node)}), which has no value here`,
        `write the value itself; ${use.hint}`,
      );
    }
    if (node.type === "TABLE_FUNCTION" && node.function && typeof node.function === "object") {
      const fn = node.function as Json;
      const name = String(fn.function_name ?? "").toLowerCase();
      if (!READERS.has(name) && !name.startsWith("synthor_")) {
        throw refused(
          use,
          `${use.option} may not read from ${name}(): ${name === "query" ? "it runs SQL given as text" : "it is not a function that reads files or tables"}`,
          "read files with read_csv, read_parquet, read_json or 'file.csv', tables by their name, rows from range or unnest",
        );
      }
      for (const child of (fn.children as Json[] | undefined) ?? []) {
        const param = parameterName(child);
        if (param !== undefined && WRITING_PARAMETERS.has(param)) {
          throw refused(
            use,
            `${use.option} may not pass ${param} to ${name}(): it writes the rejected rows to a table`,
            "leave out store_rejects, rejects_table and rejects_scan (ignore_errors = true skips bad rows)",
          );
        }
      }
    }
    if (node.class === "FUNCTION" && typeof node.function_name === "string") {
      const name = node.function_name.toLowerCase();
      const why = REFUSED_CALLS.get(name);
      if (why !== undefined) {
        throw refused(
          use,
          `${use.option} may not call ${name}(): ${why}`,
          `remove ${name}(...); ${use.option} only reads`,
        );
      }
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(tree);
}

/** A parameter as it may have been written: `$name`, or `$1` / `?` (the parser numbers `?`). */
function parameterText(node: Json): string {
  const id = String(node.identifier ?? "");
  return /^\d+$/.test(id) ? `$${id} or ?` : `$${id}`;
}

/** The name of a named parameter of a table function: `name = value` or `name := value`. */
function parameterName(child: Json): string | undefined {
  if (typeof child.alias === "string" && child.alias !== "") return child.alias.toLowerCase();
  if (child.class === "COMPARISON" && child.type === "COMPARE_EQUAL") {
    const left = child.left as Json | undefined;
    const names = left?.column_names as string[] | undefined;
    if (left?.class === "COLUMN_REF" && names?.length === 1) return names[0]?.toLowerCase();
  }
  return undefined;
}

/** A syntax error in a condition: the parser's message, and the text from where it stopped. */
function parseError(use: SqlUse, parsed: ParseFailure, text: string, offset: number): SynthorError {
  // From where the parser stopped; all of it when the parser gives no position (or stopped at the end).
  const position = Number(parsed.position) - offset;
  const rest = Number.isSafeInteger(position) && position >= 0 ? text.slice(position).trim() : "";
  return new SynthorError(
    use.code,
    `${use.invalid}: Parser Error: ${oneLine(parsed.error_message)} in ${quote(rest !== "" ? rest : text)}`,
    use.hint,
    { sql: text },
  );
}

/** A syntax error in a query: DuckDB's message, with the line and a caret under the user's own text. */
async function queryParseError(
  db: Db,
  use: SqlUse,
  parsed: ParseFailure,
  text: string,
): Promise<SynthorError> {
  let message = `Parser Error: ${parsed.error_message}`;
  try {
    await db.connection.extractStatements(text);
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    if (/Parser Error/.test(m)) message = m.replace(/^Failed to extract statements: /, "");
  }
  message = message.trim().replace(/\n{3,}/g, "\n\n");
  // Without a line and caret (the parser gives no position), the query itself is quoted.
  if (!/\nLINE \d+:/.test(message)) message = `${oneLine(message)} in ${quote(text)}`;
  return new SynthorError(use.code, `${use.invalid}: ${message}`, use.hint, { sql: text });
}

/** The number of statements in `text` (any kind; nothing is run). */
async function statementCount(db: Db, text: string): Promise<number> {
  try {
    return (await db.connection.extractStatements(text)).count;
  } catch {
    // The client fails on text without any statement (only comments, only ";").
    return 0;
  }
}

/**
 * Text that holds more than one statement: quotes what follows the first one. The first ";" that ends a
 * whole statement is found by the parser too: the text up to it must parse as exactly one statement.
 */
async function moreThanOne(
  db: Db,
  use: SqlUse,
  text: string,
  head: string,
  noun: "condition" | "query",
): Promise<SynthorError> {
  for (let i = text.indexOf(";"); i >= 0; i = text.indexOf(";", i + 1)) {
    if ((await statementCount(db, `${head}${text.slice(0, i)}`)) === 1) {
      return refused(
        use,
        `${use.option} must be one ${noun}, but it goes on after ";" with ${quote(text.slice(i + 1))}`,
        `remove the ";" and what follows it; ${use.hint}`,
      );
    }
  }
  // No ";" ends a statement: DuckDB itself makes more than one of it (a PIVOT without its values first
  // creates a type).
  return refused(
    use,
    `${use.option} must be one ${noun}, but DuckDB runs ${quote(text)} as more than one statement`,
    `give a PIVOT the values it makes columns of (pivot t on x in ('a', 'b') using sum(y)); ${use.hint}`,
  );
}

function uncheckable(use: SqlUse, text: string): SynthorError {
  return refused(
    use,
    `${use.option} ${quote(text)} could not be checked: DuckDB does not read it back the same way`,
    `write it more simply (plain comparisons, and, or, in, between); ${use.hint}`,
  );
}

function refused(use: SqlUse, message: string, hint: string): SynthorError {
  return new SynthorError("SQL_REFUSED", message, hint, { option: use.option });
}

function oneLine(text: string): string {
  return text.trim().replace(/\s+/g, " ");
}

/** A piece of the user's SQL in a message: in double quotes, on one line, at most 60 characters. */
function quote(text: string): string {
  const line = oneLine(text);
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 59)}…` : line);
}
