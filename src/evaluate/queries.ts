/**
 * Utility queries: the analyses people will run on the synthetic table, written as SQL and run on both
 * sides. A query file holds queries under `-- name: ...` headers; each reads the table as `data` and
 * returns one row of numbers. Each runs once with `data` the real table and once with `data` the
 * synthetic one, and the two values are compared (absolute and relative error), as the paper's
 * population queries are (median income of a group, share of multigenerational households, ...).
 *
 * @example
 * -- name: share of high earners
 * select avg((income = ' >50K')::int) from data
 * -- name: median age of women
 * select median(age) from data where sex = ' Female'
 */
import { readFileSync } from "node:fs";
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { type Problem, SynthorError, throwIfProblems } from "../errors.ts";

export interface Query {
  name: string;
  sql: string;
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
}

const header = /^\s*--\s*name\s*:\s*(.*?)\s*$/i;

/**
 * Splits a query file into named queries. Text before the first header may only be comments; every
 * query needs a name and some SQL; names are unique. Problems are collected and reported together.
 */
export function parseQueries(text: string, file = "the query file"): Query[] {
  const queries: Query[] = [];
  const problems: Problem[] = [];
  let current: { name: string; lines: string[]; line: number } | undefined;
  const flush = () => {
    if (!current) return;
    const sql = current.lines.join("\n").trim().replace(/;\s*$/, "").trim();
    if (current.name === "") {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file} line ${current.line}: a query header without a name`,
        hint: "write the header as -- name: share of high earners",
      });
    } else if (stripComments(sql) === "") {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file}: query "${current.name}" (line ${current.line}) has no SQL`,
        hint: "put a select under the header, e.g. select avg(age) from data",
        subject: current.name,
      });
    } else if (queries.some((q) => q.name === current?.name)) {
      problems.push({
        code: "INPUT_INVALID",
        message: `${file}: two queries are named "${current.name}"`,
        hint: "give each query its own name",
        subject: current.name,
      });
    } else {
      queries.push({ name: current.name, sql });
    }
  };
  const preamble: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const m = header.exec(line);
    if (m) {
      flush();
      current = { name: m[1] ?? "", lines: [], line: i + 1 };
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
  if (queries.length === 0 && problems.length === 0) {
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
 * compares the values. A query that fails, returns no row or not one row of numbers is a problem; all
 * problems are reported together.
 */
export async function runQueries(
  db: Db,
  options: { real: string; synth: string; queries: Query[] },
): Promise<QueryResult[]> {
  const values: Record<"real" | "synth", Map<string, Map<string, number | null>>> = {
    real: new Map(),
    synth: new Map(),
  };
  const problems: Problem[] = [];
  for (const side of ["real", "synth"] as const) {
    await db.exec(
      `create or replace temp view data as select * from ${quoteIdent(options[side])}`,
      `create view data over ${side}`,
    );
    for (const q of options.queries) {
      if (problems.some((p) => p.subject === q.name)) continue;
      try {
        values[side].set(q.name, await runOne(db, q));
      } catch (err) {
        problems.push(queryProblem(q, err, side));
      }
    }
  }
  await db.exec("drop view if exists data", "drop view data");
  throwIfProblems(problems);
  const results: QueryResult[] = [];
  for (const q of options.queries) {
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
      });
    }
  }
  return results;
}

class QueryShapeError extends Error {}

async function runOne(db: Db, q: Query): Promise<Map<string, number | null>> {
  const reader = await db.connection.runAndReadAll(q.sql);
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

function queryProblem(q: Query, err: unknown, side: "real" | "synth"): Problem {
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
    message: `query "${q.name}" failed ${where}: ${reason}`,
    hint: /does not exist/i.test(reason)
      ? "queries read the table as data, e.g. select avg(age) from data"
      : "fix the query; try it with: synthor query \"create view data as from 'real.csv'; <query>\"",
    subject: q.name,
  };
}
