/**
 * `--targets`: the target tables a reference is weighted to (src/reference.ts), read from files or
 * queries, checked against the real columns, and the columns only the targets have imputed into the
 * reference rows from the targets' conditionals.
 */
import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { checkQuery, type SqlUse } from "./db/sql-guard.ts";
import { duckMessage, type Problem, SynthorError, throwIfProblems } from "./errors.ts";
import { cliName, nearest } from "./names.ts";
import { describeView, type SourceInfo } from "./source.ts";

/** A target table: a .csv/.tsv/.json/.ndjson file, or a DuckDB query whose last column is a count. */
export type TargetSpec = { kind: "file"; path: string } | { kind: "sql"; sql: string };

/** A target table as read and checked: its columns in the reference's order and its named cells. */
export interface Target {
  /** The file path as given, or `--targets-sql N`. */
  label: string;
  columns: string[];
  /** The columns this target adds to the synthetic table (it is the first to name them). */
  added: string[];
  /** Named cells: values as text (NULL kept), in `columns` order, and their target shares. */
  cells: { cell: (string | null)[]; share: number }[];
  /** Sum of the named shares: 1 for counts; the rest goes to the unnamed cells. */
  named: number;
}

const countColumns = ["n", "count", "share"];

const targetReaders: Record<string, string> = {
  ".csv": "read_csv",
  ".tsv": "read_csv",
  ".json": "read_json_auto",
  ".ndjson": "read_json_auto",
  ".jsonl": "read_json_auto",
};

/** How the `index`th --targets-sql is named in messages. */
export function targetsUse(index: number): SqlUse {
  const label = `--targets-sql ${index + 1}`;
  return {
    option: label,
    invalid: `cannot read the targets ${label}`,
    code: "SOURCE_UNREADABLE",
    hint: "run the query with synthor query to fix it; it returns the target columns, then a count",
  };
}

export async function readTarget(
  db: Db,
  spec: TargetSpec,
  index: number,
  real: SourceInfo,
  /** Called with the target's cell columns before its cells are checked (nested data refuses member columns). */
  checkColumns?: (columns: string[]) => void,
): Promise<Target> {
  const label = spec.kind === "file" ? spec.path : `--targets-sql ${index + 1}`;
  const table = `synthor_target_${index}`;
  let select: string;
  if (spec.kind === "file") {
    const path = resolve(spec.path);
    if (!existsSync(path) || statSync(path).isDirectory()) {
      throw new SynthorError(
        "SOURCE_NOT_FOUND",
        `targets file not found: ${spec.path}`,
        "check the --targets path (it is relative to the current directory)",
        { source: spec.path },
      );
    }
    const reader = targetReaders[extname(path).toLowerCase()];
    if (!reader) {
      throw new SynthorError(
        "SOURCE_UNSUPPORTED",
        `cannot tell how to read the targets file ${spec.path}`,
        "give it as .csv, .tsv, .json or .ndjson, or as a query with --targets-sql",
        { source: spec.path },
      );
    }
    const options = extname(path).toLowerCase() === ".tsv" ? ", delim = '\\t'" : "";
    select = `select * from ${reader}(${quoteLiteral(path)}${options})`;
  } else {
    select = `select * from ${await checkQuery(db, spec.sql, targetsUse(index))}`;
  }
  try {
    await db.exec(`create or replace temp table ${quoteIdent(table)} as ${select}`, `read ${label}`);
  } catch (err) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `cannot read the targets ${label}: ${duckMessage(err)}`,
      spec.kind === "sql"
        ? "run the query with synthor query to fix it; it returns the target columns, then a count"
        : "a targets file holds the target columns and a last column n, count or share",
      { source: label },
    );
  }
  const columns = (await describeView(db, table)).columns;
  const last = columns.at(-1);
  const cellColumns = columns.slice(0, -1);
  const kind = spec.kind === "sql" ? "count" : (last?.name.toLowerCase() ?? "");
  if (!last || !countColumns.includes(kind)) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the targets ${label} end with column "${last?.name ?? ""}", not a count column`,
      "its last column is n or count (counts, turned into shares by their sum) or share (fixed shares of the named cells)",
      { source: label },
    );
  }
  if (cellColumns.length === 0) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the targets ${label} name no column, only ${last.name}`,
      "give the columns whose cells have targets before the count, e.g. time_bin,activity,n",
      { source: label },
    );
  }
  checkColumns?.(cellColumns.map((c) => c.name));
  const realTypes = new Map(real.columns.map((c) => [c.name, c.type]));
  const problems: Problem[] = [];
  const exprs: string[] = [];
  for (const c of cellColumns) {
    const type = realTypes.get(c.name);
    if (c.name.startsWith("__synthor_")) {
      problems.push({
        code: "INPUT_INVALID",
        message: `the targets ${label} name column "${c.name}", a name synthor reserves`,
        hint: "rename it",
        subject: c.name,
      });
      continue;
    }
    if (type === undefined) {
      const near = nearest(c.name, [...realTypes.keys()]);
      if (near) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `the targets ${label} name column "${c.name}", which the real table does not have`,
          hint: `did you mean ${cliName(near)}? (a column the real table lacks is added to the synthetic one; name it unlike any real column)`,
          subject: c.name,
        });
      }
      exprs.push(quoteIdent(c.name));
      continue;
    }
    const cast = `try_cast(${quoteIdent(c.name)} as ${type})`;
    const [bad] = await db.all<{ v: string | null }>(
      `select ${quoteIdent(c.name)}::varchar as v from ${quoteIdent(table)}
       where ${quoteIdent(c.name)} is not null and ${cast} is null limit 1`,
    );
    if (bad) {
      problems.push({
        code: "INPUT_INVALID",
        message: `the targets ${label} give "${bad.v}" for column "${c.name}", which is ${type} in the real table`,
        hint: `write its values as the real table does (${type})`,
        subject: c.name,
      });
    }
    exprs.push(cast);
  }
  throwIfProblems(problems);
  let rows: { cell: (string | null)[]; v: number | null }[];
  try {
    rows = await db.all(
      `select [${exprs.map((e) => `${e}::varchar`).join(", ")}] as cell, ${quoteIdent(last.name)}::double as v
       from ${quoteIdent(table)}`,
    );
  } catch (err) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the targets ${label}: column ${last.name} is not a number: ${duckMessage(err)}`,
      `write a number (a count, or a share from 0 to 1) in every row of ${last.name}`,
      { source: label },
    );
  }
  const seen = new Set<string>();
  for (const r of rows) {
    if (r.v === null || !Number.isFinite(r.v) || r.v < 0 || (kind === "share" && r.v > 1)) {
      throw new SynthorError(
        "INPUT_INVALID",
        `the targets ${label} give ${last.name} = ${r.v ?? "NULL"} for cell ${cellText(r.cell)}`,
        kind === "share" ? "a share is a number from 0 to 1" : "a count is a number of at least 0",
        { source: label },
      );
    }
    const id = JSON.stringify(r.cell);
    if (seen.has(id)) {
      throw new SynthorError(
        "INPUT_INVALID",
        `the targets ${label} name cell ${cellText(r.cell)} twice`,
        "give each cell once",
        { source: label },
      );
    }
    seen.add(id);
  }
  const sum = rows.reduce((a, r) => a + (r.v ?? 0), 0);
  if (kind === "share" && sum > 1 + 1e-9) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the shares in the targets ${label} sum to ${round(sum)}, over 1`,
      "named shares are fixed and the unnamed cells take what is left, so they sum to at most 1; for proportions that need not sum to 1, name the column n or count",
      { source: label },
    );
  }
  if (sum <= 0) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the targets ${label} give every cell 0`,
      "give at least one cell a count or share above 0",
      { source: label },
    );
  }
  const scale = kind === "share" ? 1 : sum;
  return {
    label,
    columns: cellColumns.map((c) => c.name),
    added: [],
    cells: rows.map((r) => ({ cell: r.cell, share: (r.v ?? 0) / scale })),
    named: kind === "share" ? sum : 1,
  };
}

/**
 * The columns the targets add, in the order they first appear; each target's columns and cells are put
 * in the reference's column order (the real columns, then the added ones), as count tables key cells.
 */
export function orderColumns(real: SourceInfo, targets: Target[]): string[] {
  const realNames = real.columns.map((c) => c.name);
  const added: string[] = [];
  for (const t of targets) {
    for (const c of t.columns) {
      if (!realNames.includes(c) && !added.includes(c)) {
        added.push(c);
        t.added.push(c);
      }
    }
  }
  const order = new Map([...realNames, ...added].map((c, i) => [c, i]));
  for (const t of targets) {
    const perm = t.columns
      .map((c, i) => ({ c, i }))
      .sort((a, b) => (order.get(a.c) ?? 0) - (order.get(b.c) ?? 0));
    t.columns = perm.map((p) => p.c);
    t.cells = t.cells.map((x) => ({ cell: perm.map((p) => x.cell[p.i] ?? null), share: x.share }));
  }
  return added;
}

/**
 * Adds a target's new columns to the reference rows: every row is repeated once per value of the new
 * columns, weighted by the target's share of that value given the row's values of the columns the
 * target shares with the table (its marginal where the target does not name the row's values).
 */
export async function impute(db: Db, t: Target, index: number, have: Set<string>): Promise<void> {
  const table = quoteIdent(`synthor_target_${index}`);
  const shared = t.columns.filter((c) => have.has(c));
  const fresh = t.added;
  const described = await describeView(db, `synthor_target_${index}`);
  const count = quoteIdent(described.columns.at(-1)?.name as string);
  const sKey = (alias: string, cast: boolean) =>
    `[${shared.map((c) => (cast ? `${alias}.${quoteIdent(c)}::varchar` : `${alias}.${quoteIdent(c)}`)).join(", ")}]`;
  const typed = (c: string) => {
    const type = described.columns.find((x) => x.name === c)?.type;
    return have.has(c) ? `try_cast(${quoteIdent(c)} as ${type})::varchar` : quoteIdent(c);
  };
  const freshCols = fresh.map(quoteIdent).join(", ");
  // Shares are rounded to 12 places: parallel sums may differ in the last bits, and rows whose weights
  // differ by a bit would fall into different raking cells.
  await db.exec(
    `create or replace temp table synthor_impute_cond as
     select [${shared.map((c) => typed(c)).join(", ")}] as __s, ${freshCols},
            round(${count}::double / sum(${count}::double) over (partition by ${shared.length ? shared.map((c) => typed(c)).join(", ") : "1"}), 12) as __p
     from ${table} where ${count} > 0;
     create or replace temp table synthor_impute_marginal as
     select ${freshCols}, round(sum(${count}::double) / (select sum(${count}::double) from ${table}), 12) as __p
     from ${table} where ${count} > 0 group by all;`,
    `impute from ${t.label}`,
  );
  const fresher = fresh.map((c) => `i.${quoteIdent(c)}`).join(", ");
  await db.exec(
    `create or replace temp table synthor_reference_next as
     select b.* replace (b.__synthor_w * i.__p as __synthor_w), ${fresher}
     from synthor_reference_base as b
     join synthor_impute_cond as i on i.__s is not distinct from ${sKey("b", true)}
     union all
     select b.* replace (b.__synthor_w * i.__p as __synthor_w), ${fresher}
     from synthor_reference_base as b
     anti join (select distinct __s from synthor_impute_cond) as h on h.__s is not distinct from ${sKey("b", true)}
     cross join synthor_impute_marginal as i;
     drop table synthor_reference_base;
     alter table synthor_reference_next rename to synthor_reference_base;`,
    `impute from ${t.label}`,
  );
}

export function cellText(cell: (string | null)[]): string {
  return `(${cell.map((v) => (v === null ? "NULL" : v)).join(", ")})`;
}

export function round(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}
