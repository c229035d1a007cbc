/**
 * Utility queries: the analyses people will run on the synthetic table, written as SQL and run on both
 * sides. A query file holds queries under `-- name: ...` headers; each reads the table as `data` and
 * returns one row of numbers. Each runs once with `data` the real table and once with `data` the
 * synthetic one, and the two values are compared (absolute and relative error), as the paper's
 * population queries are (median income of a group, share of multigenerational households, ...).
 *
 * A `-- category: ...` line under a header files the query under a category (the paper's Equity,
 * Vulnerability, ...); results are then also averaged per category. With a child table (households and
 * their persons), the queries read both tables by the names the caller gives (see {@link QueryTable}).
 *
 * A `-- view: name` header defines a view instead of a query: its select is created as a temporary view
 * on each side, after the tables are bound and before the queries run, so what several queries derive
 * (members per household, say) is written once. Views are made in file order and may read earlier ones.
 *
 * @example
 * -- name: share of high earners
 * -- category: Equity
 * select avg((income = ' >50K')::int) from data
 * -- name: median age of women
 * select median(age) from data where sex = ' Female'
 */
import { readFileSync } from "node:fs";
import type { Db } from "../db/connection.ts";
import { quoteIdent, quoteQualified } from "../db/quote.ts";
import { checkQuery } from "../db/sql-guard.ts";
import { type Problem, SynthorError, throwIfProblems } from "../errors.ts";

export interface Query {
  name: string;
  sql: string;
  /** From a `-- category: ...` line under the header; absent when the query has none. */
  category?: string;
  /** A `-- view:` section: a shared view the queries read, not a query that is compared. */
  view?: true;
}

/** A name the queries read, bound to a table (or view) of each side. */
export interface QueryTable {
  /** The name in the queries' SQL, e.g. `data`, `households`, `persons`. */
  name: string;
  real: string;
  synth: string;
}

/** The mean relative error of a category's results (the paper's Table 4). */
export interface QueryCategory {
  category: string;
  /** Results filed under it (one per returned column). */
  results: number;
  /** Results with a relative error (real value not 0 or NULL), which the mean is over. */
  scored: number;
  meanRelError: number | null;
}

export interface QueryResult {
  /** The query's name; `name.column` when it returns several columns. */
  name: string;
  real: number | null;
  synth: number | null;
  /** |synth - real|. */
  absError: number | null;
  /** |synth - real| / |real|; null when real is 0 or missing. */
  relError: number | null;
  /** The query's category, or null. */
  category: string | null;
}

const header = /^\s*--\s*(name|view)\s*:\s*(.*?)\s*$/i;
const categoryLine = /^\s*--\s*category\s*:\s*(.*?)\s*$/i;

/**
 * Splits a query file into named queries. Text before the first header may only be comments; every
 * query needs a name and some SQL; names are unique; a query has at most one `-- category:` line, which
 * is not empty. Problems are collected and reported together.
 */
export function parseQueries(text: string, file = "the query file"): Query[] {
  const queries: Query[] = [];
  const problems: Problem[] = [];
  let current:
    | { name: string; view: boolean; lines: string[]; line: number; categories: string[] }
    | undefined;
  const flush = () => {
    if (!current) return;
    const sql = current.lines.join("\n").trim().replace(/;\s*$/, "").trim();
    const [category, ...more] = current.categories;
    const what = current.view ? "view" : "query";
    if (current.view && current.categories.length > 0) {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file}: view "${current.name}" (line ${current.line}) has a -- category: line`,
        hint: "categories file queries; a view is shared by them: move the line under a -- name: header",
        subject: current.name,
      });
    } else if (category === "" || more.length > 0) {
      problems.push({
        code: "INPUT_INVALID",
        message:
          category === ""
            ? `${file}: query "${current.name}" (line ${current.line}) has an empty -- category: line`
            : `${file}: query "${current.name}" (line ${current.line}) has ${current.categories.length} -- category: lines`,
        hint: "give each query at most one category line, e.g. -- category: Equity",
        subject: current.name,
      });
    }
    if (current.name === "") {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file} line ${current.line}: a ${what} header without a name`,
        hint: current.view
          ? "write the header as -- view: members"
          : "write the header as -- name: share of high earners",
      });
    } else if (stripComments(sql) === "") {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file}: ${what} "${current.name}" (line ${current.line}) has no SQL`,
        hint: "put a select under the header, e.g. select avg(age) from data",
        subject: current.name,
      });
    } else if (queries.some((q) => q.name === current?.name && (q.view ?? false) === current.view)) {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file}: two ${what === "view" ? "views" : "queries"} are named "${current.name}"`,
        hint: `give each ${what} its own name`,
        subject: current.name,
      });
    } else if (current.view) {
      queries.push({ name: current.name, sql, view: true });
    } else {
      queries.push(category ? { name: current.name, sql, category } : { name: current.name, sql });
    }
  };
  const preamble: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const m = header.exec(line);
    const c = categoryLine.exec(line);
    if (m) {
      flush();
      current = {
        name: m[2] ?? "",
        view: (m[1] ?? "").toLowerCase() === "view",
        lines: [],
        line: i + 1,
        categories: [],
      };
    } else if (current && c) {
      current.categories.push(c[1] ?? "");
    } else if (current) {
      current.lines.push(line);
    } else {
      preamble.push(line);
    }
  });
  flush();
  if (stripComments(preamble.join("\n")) !== "") {
    problems.push({
      code: "INPUT_INVALID",
      message: `${file} has SQL before its first "-- name:" header`,
      hint: "start every query with a header line: -- name: share of high earners",
    });
  }
  if (!queries.some((q) => !q.view) && problems.length === 0) {
    problems.push({
      code: "INPUT_INVALID",
      message: `${file} holds no query`,
      hint: "write each query under a header: -- name: share of high earners",
    });
  }
  throwIfProblems(problems);
  return queries;
}

function stripComments(sql: string): string {
  return sql.replace(/--.*$/gm, "").trim();
}

/** Reads and parses a query file (see {@link parseQueries}). */
export function readQueries(path: string): Query[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new SynthorError(
      "SOURCE_NOT_FOUND",
      missing ? `query file not found: ${path}` : `cannot read query file ${path}: ${(err as Error).message}`,
      "check the --queries path (it is relative to the current directory)",
      { file: path },
    );
  }
  return parseQueries(text, path);
}

/**
 * Runs every query over the real table and over the synthetic one (each time as the view `data`) and
 * compares the values. With `tables`, each query reads every name given there instead (for instance
 * `households` and `persons`, bound to the real tables and then to the synthetic ones). A query that
 * fails, returns no row or not one row of numbers is a problem; all problems are reported together.
 *
 * @example
 * await runQueries(db, { real: "r", synth: "s", queries }); // queries read `data`
 * await runQueries(db, {
 *   queries,
 *   tables: [
 *     { name: "households", real: "real_hh", synth: "synth_hh" },
 *     { name: "persons", real: "real_p", synth: "synth_p" },
 *   ],
 * });
 */
export async function runQueries(
  db: Db,
  options: { queries: Query[] } & (
    | { real: string; synth: string; tables?: undefined }
    | { tables: QueryTable[]; real?: undefined; synth?: undefined }
  ),
): Promise<QueryResult[]> {
  const tables: QueryTable[] = options.tables ?? [
    { name: "data", real: options.real as string, synth: options.synth as string },
  ];
  checkTableNames(tables);
  const values: Record<"real" | "synth", Map<string, Map<string, number | null>>> = {
    real: new Map(),
    synth: new Map(),
  };
  const problems: Problem[] = [];
  // A temporary view named like its own source would read itself: read the source by its full name.
  const source = async (name: string) => {
    const [found] = await db.all<{ d: string; s: string }>(
      `select database_name as d, schema_name as s from duckdb_tables() where table_name = $name and not temporary
       union all
       select database_name, schema_name from duckdb_views() where view_name = $name and not temporary and not internal
       order by all limit 1`,
      { name },
      "find a query table",
    );
    return found ? quoteQualified(found.d, found.s, name) : quoteIdent(name);
  };
  const checked = await checkQueries(db, options.queries);
  const views = options.queries.filter((q) => q.view);
  const measured = options.queries.filter((q) => !q.view);
  throwIfProblems(
    views
      .filter((v) => tables.some((t) => t.name.toLowerCase() === v.name.toLowerCase()))
      .map((v) => ({
        code: "INPUT_INVALID",
        message: `view "${v.name}" has the name of a table the queries read`,
        hint: `rename the view (e.g. -- view: ${v.name}_view); the tables are ${tables.map((t) => t.name).join(", ")}`,
        subject: v.name,
      })),
  );
  for (const side of ["real", "synth"] as const) {
    for (const t of tables) {
      await db.exec(
        `create or replace temp view ${quoteIdent(t.name)} as select * from ${await source(t[side])}`,
        `create view ${t.name} over ${side}`,
      );
    }
    for (const v of views) {
      if (problems.some((p) => p.subject === v.name)) continue;
      try {
        // Not the checked exec: a broken view is the file's problem, reported with the queries'.
        await db.connection.run(
          `create or replace temp view ${quoteIdent(v.name)} as select * from ${checked.get(v) as string}`,
        );
      } catch (err) {
        problems.push(queryProblem(v, err, side, tables));
      }
    }
    if (problems.some((p) => views.some((v) => v.name === p.subject))) continue;
    for (const q of measured) {
      if (problems.some((p) => p.subject === q.name)) continue;
      try {
        values[side].set(q.name, await runOne(db, checked.get(q) as string));
      } catch (err) {
        problems.push(queryProblem(q, err, side, tables));
      }
    }
  }
  for (const v of [...views].reverse()) {
    await db.exec(`drop view if exists ${quoteIdent(v.name)}`, `drop view ${v.name}`);
  }
  for (const t of tables) await db.exec(`drop view if exists ${quoteIdent(t.name)}`, `drop view ${t.name}`);
  throwIfProblems(problems);
  const results: QueryResult[] = [];
  for (const q of measured) {
    const real = values.real.get(q.name) ?? new Map();
    const synth = values.synth.get(q.name) ?? new Map();
    for (const [column, r] of real) {
      const s = synth.get(column) ?? null;
      const abs = r === null || s === null ? null : Math.abs(s - r);
      results.push({
        name: real.size === 1 ? q.name : `${q.name}.${column}`,
        real: r,
        synth: s,
        absError: abs,
        relError: abs === null || r === null || r === 0 ? null : abs / Math.abs(r),
        category: q.category ?? null,
      });
    }
  }
  return results;
}

/**
 * The mean relative error per category, in the order categories first appear; results without a
 * category are left out, and so are results without a relative error (real value 0 or NULL), which
 * `scored` counts. None when no query has a category.
 *
 * @example categoryErrors(results) // [{ category: "Equity", results: 2, scored: 2, meanRelError: 0.25 }]
 */
export function categoryErrors(results: QueryResult[]): QueryCategory[] {
  const by = new Map<string, QueryResult[]>();
  for (const r of results) {
    if (r.category === null) continue;
    by.set(r.category, [...(by.get(r.category) ?? []), r]);
  }
  return [...by].map(([category, rs]) => {
    const errors = rs.map((r) => r.relError).filter((e): e is number => e !== null);
    return {
      category,
      results: rs.length,
      scored: errors.length,
      meanRelError: errors.length === 0 ? null : errors.reduce((a, b) => a + b, 0) / errors.length,
    };
  });
}

function checkTableNames(tables: QueryTable[]): void {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const t of tables) {
    const key = t.name.toLowerCase();
    if (t.name.trim() === "" || t.name.startsWith("synthor_")) {
      problems.push({
        code: "CONFIG_INVALID",
        message:
          t.name.trim() === ""
            ? "a table name for the queries is empty"
            : `the table name ${t.name} for the queries starts with synthor_, which synthor keeps for itself`,
        hint: "name the tables the queries read like households,persons",
      });
    } else if (seen.has(key)) {
      problems.push({
        code: "CONFIG_INVALID",
        message: `two tables the queries read are named ${t.name}`,
        hint: "give each table its own name, e.g. households,persons",
      });
    }
    seen.add(key);
  }
  throwIfProblems(problems);
}

class QueryShapeError extends Error {}

/**
 * Checks every query and view with DuckDB's parser (src/db/sql-guard.ts): each one SELECT that only
 * reads. Returns each as a subquery to read from; all problems are reported together.
 */
export async function checkQueries(db: Db, queries: Query[]): Promise<Map<Query, string>> {
  const checked = new Map<Query, string>();
  const problems: Problem[] = [];
  for (const q of queries) {
    const what = `${q.view ? "view" : "query"} "${q.name}"`;
    try {
      checked.set(
        q,
        await checkQuery(db, q.sql, {
          option: what,
          invalid: `${what} is not valid SQL`,
          code: "INPUT_INVALID",
          hint: q.view
            ? "a view is one select, e.g. select hhID, count(*) as persons from persons group by hhID"
            : "a query is one select that returns one row of numbers, e.g. select avg(age) as mean_age from data",
        }),
      );
    } catch (err) {
      if (!(err instanceof SynthorError)) throw err;
      problems.push({ code: err.code, message: err.message, hint: err.hint, subject: q.name });
    }
  }
  throwIfProblems(problems);
  return checked;
}

async function runOne(db: Db, checked: string): Promise<Map<string, number | null>> {
  const reader = await db.connection.runAndReadAll(`select * from ${checked}`);
  const rows = reader.getRowObjectsJS();
  if (rows.length !== 1) throw new QueryShapeError(`it returned ${rows.length} rows, not one`);
  const out = new Map<string, number | null>();
  for (const [column, v] of Object.entries(rows[0] ?? {})) {
    if (v === null) out.set(column, null);
    else if (typeof v === "number" || typeof v === "bigint") out.set(column, Number(v));
    else if (typeof v === "boolean") out.set(column, v ? 1 : 0);
    else if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)))
      out.set(column, Number(v));
    else throw new QueryShapeError(`its column "${column}" is not a number (${JSON.stringify(String(v))})`);
  }
  if (out.size === 0) throw new QueryShapeError("it returned no column");
  return out;
}

function queryProblem(q: Query, err: unknown, side: "real" | "synth", tables: QueryTable[]): Problem {
  const single = tables.length === 1 && tables[0]?.name === "data";
  const aliased = !single && tables.some((t) => t.name === "data");
  const named = single ? tables : tables.filter((t) => t.name !== "data");
  const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  const where = side === "real" ? "on the real table" : "on the synthetic table";
  if (err instanceof QueryShapeError) {
    return {
      code: "INPUT_INVALID",
      message: `query "${q.name}" ${where}: ${reason}`,
      hint: "a query returns one row of numbers, e.g. select avg(age) as mean_age, median(age) from data",
      subject: q.name,
    };
  }
  return {
    code: "INPUT_INVALID",
    message: `${q.view ? "view" : "query"} "${q.name}" failed ${where}: ${reason}`,
    hint: /does not exist/i.test(reason)
      ? single
        ? "queries read the table as data, e.g. select avg(age) from data"
        : `queries read the tables as ${named.map((t) => t.name).join(" and ")}${aliased ? " (the first also as data)" : ""}`
      : `fix the query; try it with: synthor query "${named.map((t) => `create view ${t.name} as from '${t.name === "data" ? "real" : t.name}.csv'; `).join("")}<query>"`,
    subject: q.name,
  };
}
