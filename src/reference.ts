import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { type Db, varcharList } from "./db/connection.ts";
import { sqlFile } from "./db/files.ts";
import { asWritten, quoteIdent, quoteLiteral } from "./db/quote.ts";
import { checkCondition, checkQuery, type SqlUse } from "./db/sql-guard.ts";
import { type Problem, SynthorError, throwIfProblems } from "./errors.ts";
import { cliName, didYouMean, missingColumn, nearest } from "./names.ts";
import { outputSelect } from "./output.ts";
import { type ColumnProfile, type ProfileOptions, profileColumns } from "./profile.ts";
import type { SourceInfo } from "./source.ts";
import type { Summary } from "./summarize.ts";
import { deleteDropped, rebuildCounts } from "./trim.ts";

/**
 * The reference table: the real rows the loop learns from, after the user's conditions, targets and
 * tilts. Built from `synthor_real` before profiling, as `synthor_reference`; the loop then treats it as
 * the real table, so its count tables, conditionals and TVD all refer to it.
 *
 * 1. `--where P` keeps the real rows that satisfy P (a view: nothing is copied).
 * 2. `--targets` names shares (or counts) of cells of one or more columns. A column only the targets have
 *    is added: each reference row is split into one copy per value of it, weighted by the target's
 *    conditional given the columns it shares with the real table (exact proportions, no draws).
 * 3. Raking (iterative proportional fitting over all target tables) finds weights under which every named
 *    cell has its target share; the cells a target does not name share what is left in their current
 *    proportions.
 * 4. `--tilt "P => k"` then multiplies the weight of the rows matching P by k, and all are renormalized.
 * 5. The weights become whole numbers of copies of each row (controlled rounding), so the reference is
 *    an ordinary table and the loop needs no notion of weight.
 */
export interface ReferenceOptions {
  where?: string;
  targets?: TargetSpec[];
  tilts?: Tilt[];
  /** Seeds the order in which rows of one cell receive the copies that rounding leaves over. */
  seed?: number;
  /**
   * Rows the weighted reference holds, if more than the matching real rows (e.g. --rows): whole rows
   * then approximate the target shares more finely.
   */
  rows?: number;
}

/** A target table: a .csv/.tsv/.json/.ndjson file, or a DuckDB query whose last column is a count. */
export type TargetSpec = { kind: "file"; path: string } | { kind: "sql"; sql: string };

/** `--tilt "time_bin = '20-24' => 3"`: the rows matching `predicate` get `factor` times their share. */
export interface Tilt {
  predicate: string;
  factor: number;
}

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

/** The reference as the loop's "real" table, and what went into it. */
export interface Reference extends SourceInfo {
  /** Real rows before --where. */
  realRows: number;
  /** Real rows that satisfy --where (all of them without it): the default --rows. */
  matchingRows: number;
  /** Columns added from the targets. */
  added: string[];
  targets: Target[];
  /** Rows are repeated by weight (targets or tilts given): kinds are then read from the rows before it. */
  weighted: boolean;
  /** The real rows that satisfy --where, before any weighting. */
  rowsView: string;
}

const countColumns = ["n", "count", "share"];
const targetReaders: Record<string, string> = {
  ".csv": "read_csv",
  ".tsv": "read_csv",
  ".json": "read_json_auto",
  ".ndjson": "read_json_auto",
  ".jsonl": "read_json_auto",
};
const tiltExample = `--tilt "time_bin = '20-24' and dest = 'Z12' => 3"`;

/**
 * Parses `--tilt "PREDICATE => FACTOR"`; the factor must be a number above 0.
 *
 * @example parseTilt("dest = 'Z12' => 3") // => { predicate: "dest = 'Z12'", factor: 3 }
 */
export function parseTilt(text: string): Tilt {
  const at = text.lastIndexOf("=>");
  if (at < 0) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--tilt "${text}" has no "=> factor"`,
      `write a predicate over the columns, then => and the factor its rows' share is multiplied by, e.g. ${tiltExample}`,
    );
  }
  const predicate = text.slice(0, at).trim();
  const raw = text.slice(at + 2).trim();
  const factor = Number(raw);
  if (predicate === "") {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--tilt "${text}" has no predicate before =>`,
      `name the rows to tilt, e.g. ${tiltExample}`,
    );
  }
  if (raw === "" || !Number.isFinite(factor) || factor <= 0) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--tilt "${text}": the factor must be a number above 0, not "${raw}"`,
      `e.g. => 3 to triple the matching rows' share, => 0.5 to halve it; to remove rows, use --where "not (${predicate})"`,
    );
  }
  return { predicate, factor };
}

/** What configures the reference, as recorded with the run and compared on --resume (files by content). */
export function referenceConfig(options: ReferenceOptions): Record<string, unknown> | null {
  const targets = options.targets ?? [];
  const tilts = options.tilts ?? [];
  if (options.where === undefined && targets.length === 0 && tilts.length === 0) return null;
  return {
    where: options.where ?? null,
    targets: targets.map((t) =>
      t.kind === "sql"
        ? { sql: t.sql }
        : {
            path: resolve(t.path),
            sha256: existsSync(t.path)
              ? createHash("sha256").update(readFileSync(t.path)).digest("hex")
              : null,
          },
    ),
    tilts: tilts.map((t) => ({ predicate: t.predicate, factor: t.factor })),
  };
}

/**
 * Builds the reference table `synthor_reference` from the real table (see {@link ReferenceOptions}) and
 * returns it described as a source. Without --where, --targets or --tilt the real table is the reference.
 *
 * @example const ref = await buildReference(db, real, { where: "age between 30 and 40" });
 */
export async function buildReference(
  db: Db,
  real: SourceInfo,
  options: ReferenceOptions,
): Promise<Reference> {
  const targetSpecs = options.targets ?? [];
  const tilts = options.tilts ?? [];
  const base: Reference = {
    ...real,
    realRows: real.rows,
    matchingRows: real.rows,
    added: [],
    targets: [],
    weighted: false,
    rowsView: real.view,
  };
  if (options.where === undefined && targetSpecs.length === 0 && tilts.length === 0) return base;
  // Every condition and query is checked before anything is made from any of them.
  await checkReferenceSql(
    db,
    options,
    real.columns.map((c) => c.name),
  );

  let rowsView = real.view;
  let matching = real.rows;
  if (options.where !== undefined) {
    matching = await applyWhere(db, real, options.where);
    rowsView = "synthor_reference_rows";
  }
  if (targetSpecs.length === 0 && tilts.length === 0) {
    await replaceRelation(db, "synthor_reference", "view", `select * from ${quoteIdent(rowsView)}`);
    const described = await describe(db, "synthor_reference");
    return {
      ...base,
      ...described,
      label: `${real.label} where ${options.where}`,
      matchingRows: matching,
      rowsView,
    };
  }

  const targets: Target[] = [];
  for (const [i, spec] of targetSpecs.entries()) targets.push(await readTarget(db, spec, i, real));
  const added = orderColumns(real, targets);
  await db.exec(
    `create or replace temp table synthor_reference_base as
     select *, 1.0::double as __synthor_w from ${quoteIdent(rowsView)}`,
    "reference rows",
  );
  const have = new Set(real.columns.map((c) => c.name));
  for (const [i, t] of targets.entries()) {
    if (t.added.length > 0) await impute(db, t, i, have);
    for (const c of t.added) have.add(c);
  }
  const keyColumns = [...real.columns.map((c) => c.name), ...added].filter((c) =>
    targets.some((t) => t.columns.includes(c)),
  );
  await keyRows(db, keyColumns, tilts, options.seed ?? 0, [...real.columns.map((c) => c.name), ...added]);
  const atoms = await db.query<{ key: (string | null)[]; n: number; w: number; weights: number }>(
    "reference_atoms",
  );
  // Every row of a key has the same base weight (the imputed shares depend only on key columns).
  const mixed = atoms.find((a) => a.weights > 1);
  if (mixed) throw new Error(`reference key ${JSON.stringify(mixed.key)} holds rows of different weights`);
  unreachableCells(targets, keyColumns, atoms);
  const shares = rake(atoms, targets, keyColumns, tilts);
  const totals = controlledRounding(
    atoms,
    shares,
    targets,
    keyColumns,
    Math.max(matching, options.rows ?? 0),
  );
  await db.exec(
    `create or replace temp table synthor_reference_totals as
     select t.key, t.total
     from (select unnest(from_json($json, '[{"key":["VARCHAR"],"total":"BIGINT"}]'), recursive := true)) as t`,
    "reference totals",
    { json: JSON.stringify(atoms.map((a, i) => ({ key: a.key, total: totals[i] }))) },
  );
  const copies = sqlFile("reference_copies").replace(/;\s*$/, "");
  await db.dropReal("synthor_reference");
  await db.exec(
    `create ${db.realKind("table")} synthor_reference as
     select c.* exclude (__synthor_key, __synthor_w, __synthor_hash, __synthor_rank, copies)
     from (${copies}) as c, range(c.copies) as r(__synthor_copy)
     order by c.__synthor_hash, c.__synthor_key, r.__synthor_copy`,
    "sql/reference_copies.sql",
  );
  const described = await describe(db, "synthor_reference");
  if (described.rows === 0) {
    throw new SynthorError(
      "INPUT_INVALID",
      "the targets and tilts leave no rows to learn from",
      "a target with share 0 for every cell that has rows removes them all; give some of them a share above 0",
    );
  }
  const label = `${real.label} (reference: ${[
    options.where !== undefined ? `where ${options.where}` : "",
    targets.length ? `${targets.length} target table${targets.length === 1 ? "" : "s"}` : "",
    tilts.length ? `${tilts.length} tilt${tilts.length === 1 ? "" : "s"}` : "",
  ]
    .filter(Boolean)
    .join(", ")})`;
  return {
    ...base,
    ...described,
    label,
    matchingRows: matching,
    added,
    targets,
    weighted: true,
    rowsView,
  };
}

/**
 * Profiles the reference. When rows were repeated by weight, a key column would no longer look unique:
 * columns that are identifiers in the (unrepeated) matching rows stay identifiers.
 *
 * @example const profiles = await profileReference(db, reference, { ignore: ["comment"] });
 */
export async function profileReference(
  db: Db,
  reference: Reference,
  options: ProfileOptions,
): Promise<ColumnProfile[]> {
  const profiles = await profileColumns(db, reference, options);
  if (!reference.weighted) return profiles;
  const rows = await describe(db, reference.rowsView);
  const real = await profileColumns(
    db,
    { ...rows, view: reference.rowsView, label: reference.label },
    { ...options, requireModelled: false },
  );
  const kinds = new Map(real.map((p) => [p.name, p]));
  return profiles.map((p) => {
    const before = kinds.get(p.name);
    return before?.kind === "identifier" && p.kind !== "identifier"
      ? { ...p, kind: "identifier", reason: `${before.reason}, before weighting` }
      : p;
  });
}

/** Target tables of 2 to 4 modelled columns: dependency groups for the loop to ground and report. */
export function targetGroups(reference: Reference, profiles: ColumnProfile[]): string[][] {
  const modelled = new Set(
    profiles.filter((p) => ["categorical", "numeric", "datetime"].includes(p.kind)).map((p) => p.name),
  );
  return reference.targets
    .map((t) => t.columns)
    .filter((cols) => cols.length >= 2 && cols.length <= 4 && cols.every((c) => modelled.has(c)));
}

const whereExample = `--where "age between 30 and 40 and sex = 'Male'"`;

/** How --where is named in messages, with the columns it may read when they are known. */
function whereUse(columns?: string[]): SqlUse {
  return {
    option: "--where",
    invalid: "--where is not a valid condition over the real columns",
    code: "CONFIG_INVALID",
    hint: `write it as the body of an SQL where clause, e.g. ${whereExample}${columnList(columns)}`,
  };
}

/** How a --tilt is named in messages. */
function tiltUse(t: Tilt, columns?: string[]): SqlUse {
  return {
    option: `--tilt "${t.predicate} => ${t.factor}"`,
    invalid: `--tilt ${t.predicate} => ${t.factor}: the condition is not valid over the columns`,
    code: "CONFIG_INVALID",
    hint: `write it as the body of an SQL where clause, e.g. ${tiltExample}${columnList(columns)}`,
  };
}

/** How the `index`th --targets-sql is named in messages. */
function targetsUse(index: number): SqlUse {
  const label = `--targets-sql ${index + 1}`;
  return {
    option: label,
    invalid: `cannot read the targets ${label}`,
    code: "SOURCE_UNREADABLE",
    hint: "run the query with synthor query to fix it; it returns the target columns, then a count",
  };
}

function columnList(columns: string[] | undefined): string {
  return columns ? `; the columns are (as written in SQL): ${columns.map(asWritten).join(", ")}` : "";
}

/**
 * Checks the SQL of --where, --tilt and --targets-sql with DuckDB's parser (src/db/sql-guard.ts): each
 * condition one expression, each query one SELECT, nothing that writes. Runs nothing; throws the first
 * problem. `columns` (the real table's, when known) go into the hints.
 */
export async function checkReferenceSql(
  db: Db,
  options: Pick<ReferenceOptions, "where" | "targets" | "tilts">,
  columns?: string[],
): Promise<void> {
  // An empty --where is refused by applyWhere with its own message; it runs nothing.
  if (options.where !== undefined && options.where.trim() !== "") {
    await checkCondition(db, options.where, whereUse(columns));
  }
  for (const t of options.tilts ?? []) await checkCondition(db, t.predicate, tiltUse(t, columns));
  for (const [i, spec] of (options.targets ?? []).entries()) {
    if (spec.kind === "sql") await checkQuery(db, spec.sql, targetsUse(i));
  }
}

/**
 * The real rows that satisfy --where, as the view synthor_reference_rows over `real.view`; their count.
 * An empty condition, one DuckDB cannot evaluate, or one no row satisfies is an error that says why.
 */
export async function applyWhere(db: Db, real: SourceInfo, where: string): Promise<number> {
  if (where.trim() === "") {
    throw new SynthorError(
      "CONFIG_INVALID",
      "--where is empty",
      `give a condition over the real columns, e.g. --where "age between 30 and 40 and state = 'TX'"`,
    );
  }
  const use = whereUse(real.columns.map((c) => c.name));
  const select = `select * from ${quoteIdent(real.view)} where ${await checkCondition(db, where, use)}`;
  try {
    await replaceRelation(db, "synthor_reference_rows", "view", select);
  } catch (err) {
    throw conditionFailed(
      use,
      err,
      real.columns.map((c) => c.name),
    );
  }
  let n: number;
  try {
    const [row] = await db.all<{ n: number }>("select count(*) as n from synthor_reference_rows");
    n = row?.n ?? 0;
  } catch (err) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--where cannot be evaluated on the real rows: ${duckMessage(err)}`,
      "check the types of the values it compares (quote text, cast dates), then run it again",
    );
  }
  if (n === 0) {
    throw new SynthorError(
      "SOURCE_EMPTY",
      `--where ${where} matches none of the ${real.rows} real rows`,
      `check the values' spelling and case (see them with: synthor profile), e.g. synthor query "select distinct COLUMN from ..."`,
      { source: real.label },
    );
  }
  return n;
}

async function readTarget(db: Db, spec: TargetSpec, index: number, real: SourceInfo): Promise<Target> {
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
  const columns = (await describe(db, table)).columns;
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
function orderColumns(real: SourceInfo, targets: Target[]): string[] {
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
async function impute(db: Db, t: Target, index: number, have: Set<string>): Promise<void> {
  const table = quoteIdent(`synthor_target_${index}`);
  const shared = t.columns.filter((c) => have.has(c));
  const fresh = t.added;
  const described = await describe(db, `synthor_target_${index}`);
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

/**
 * Gives every reference row its key (the target columns' values as text, then whether it matches each
 * tilt), a seeded hash of its values, and its rank within the key by its values (ties by the hash),
 * the order in which copies are handed out.
 */
async function keyRows(
  db: Db,
  keyColumns: string[],
  tilts: Tilt[],
  seed: number,
  all: string[],
): Promise<void> {
  const conditions: string[] = [];
  for (const t of tilts) {
    const use = tiltUse(t, all);
    const condition = await checkCondition(db, t.predicate, use);
    try {
      await db.all(`select count(*) from synthor_reference_base where ${condition}`);
    } catch (err) {
      throw conditionFailed(use, err, all);
    }
    conditions.push(condition);
  }
  const key = [
    ...keyColumns.map((c) => `${quoteIdent(c)}::varchar`),
    ...conditions.map((c) => `coalesce(${c}, false)::varchar`),
  ];
  await db.exec(
    `create or replace temp table synthor_reference_keyed as
     with k as (
       select *, [${key.join(", ")}]::varchar[] as __synthor_key,
              hash(${Math.floor(seed)}, ${all.map(quoteIdent).join(", ")}) as __synthor_hash
       from synthor_reference_base
     )
     select *, row_number() over (
       partition by __synthor_key order by ${all.map((c) => `${quoteIdent(c)} nulls last`).join(", ")}, __synthor_hash
     ) as __synthor_rank
     from k`,
    "key reference rows",
  );
}

type Atom = { key: (string | null)[]; n: number; w: number; weights: number };

/** Named cells with a share above 0 that no reference row falls into cannot be reached by weighting. */
function unreachableCells(targets: Target[], keyColumns: string[], atoms: Atom[]): void {
  const problems: Problem[] = [];
  for (const t of targets) {
    const idx = t.columns.map((c) => keyColumns.indexOf(c));
    const present = new Set(
      atoms.filter((a) => a.w > 0).map((a) => JSON.stringify(idx.map((i) => a.key[i] ?? null))),
    );
    const missing = t.cells.filter((c) => c.share > 0 && !present.has(JSON.stringify(c.cell)));
    if (missing.length === 0) continue;
    problems.push({
      code: "INPUT_INVALID",
      message: `the targets ${t.label} give a share to ${missing.length} cell${missing.length === 1 ? "" : "s"} no real row has (${t.columns.join(", ")}): ${missing
        .slice(0, 5)
        .map((c) => cellText(c.cell))
        .join(", ")}${missing.length > 5 ? ", ..." : ""}`,
      hint: "weighting can only repeat real rows, so a value (or combination) the real rows lack cannot be reached: check its spelling, give it share 0, or drop it (with --where, it may be filtered out)",
      subject: t.label,
    });
  }
  throwIfProblems(problems);
}

/**
 * Raking (iterative proportional fitting): per target in turn, scale each named cell's weight to its
 * share and the unnamed cells together to what is left, until every target holds (1e-12); then the
 * tilts. Returns each atom's share of the reference. Targets that contradict each other (different
 * shares for the same cells) do not converge: that is an error naming the worst cell.
 */
export function rake(
  atoms: { key: (string | null)[]; n: number; w: number }[],
  targets: Target[],
  keyColumns: string[],
  tilts: Tilt[],
): number[] {
  const mass = atoms.map((a) => a.n * a.w);
  const total = mass.reduce((a, b) => a + b, 0);
  for (let i = 0; i < mass.length; i++) mass[i] = (mass[i] as number) / total;
  const plans = targets.map((t) => {
    const idx = t.columns.map((c) => keyColumns.indexOf(c));
    const cellIndex = new Map(t.cells.map((c, i) => [JSON.stringify(c.cell), i]));
    const of = atoms.map((a) => cellIndex.get(JSON.stringify(idx.map((i) => a.key[i] ?? null))) ?? -1);
    return { t, of };
  });
  let worst = { error: 0, what: "" };
  for (let sweep = 0; sweep < 5000; sweep++) {
    worst = { error: 0, what: "" };
    for (const { t, of } of plans) {
      const m = new Array<number>(t.cells.length).fill(0);
      let rest = 0;
      for (let a = 0; a < mass.length; a++) {
        const c = of[a] as number;
        if (c >= 0) m[c] = (m[c] as number) + (mass[a] as number);
        else rest += mass[a] as number;
      }
      const left = Math.max(0, 1 - t.named);
      if (rest === 0 && left > 1e-9) {
        throw new SynthorError(
          "INPUT_INVALID",
          `the shares in the targets ${t.label} sum to ${round(t.named)}, but the cells they name hold every row: the other ${round(left)} has nowhere to go`,
          "make the shares sum to 1, or name the column n or count to have them read as proportions",
          { source: t.label },
        );
      }
      const factor = t.cells.map((c, i) => ((m[i] as number) > 0 ? c.share / (m[i] as number) : 0));
      const restFactor = rest > 0 ? left / rest : 0;
      for (const [i, c] of t.cells.entries()) {
        const e = Math.abs((m[i] as number) - c.share);
        if (e > worst.error) worst = { error: e, what: `${t.label} cell ${cellText(c.cell)}` };
      }
      if (Math.abs(rest - left) > worst.error)
        worst = { error: Math.abs(rest - left), what: `${t.label} unnamed cells` };
      for (let a = 0; a < mass.length; a++) {
        const c = of[a] as number;
        mass[a] = (mass[a] as number) * (c >= 0 ? (factor[c] as number) : restFactor);
      }
    }
    if (worst.error < 1e-12) break;
  }
  if (worst.error > 1e-6) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the targets contradict each other: no weighting of the real rows meets them all (off by ${round(worst.error)} at ${worst.what})`,
      "two target tables that share columns must agree on those columns' shares; drop or fix one of them",
    );
  }
  if (tilts.length > 0) {
    const base = keyColumns.length;
    for (let a = 0; a < mass.length; a++) {
      const key = atoms[a]?.key ?? [];
      for (const [j, t] of tilts.entries())
        if (key[base + j] === "true") mass[a] = (mass[a] as number) * t.factor;
    }
    const sum = mass.reduce((x, y) => x + y, 0);
    if (sum <= 0) {
      throw new SynthorError(
        "INPUT_INVALID",
        "the tilts leave no rows with weight",
        "check the tilts' conditions",
      );
    }
    for (let a = 0; a < mass.length; a++) mass[a] = (mass[a] as number) / sum;
  }
  return mass;
}

/**
 * Whole-number row totals per atom that add up to `rows`, by cumulative rounding in the order of the
 * first target's cells: each of its cells gets its exact share of `rows` to within one row; the other
 * targets' cells to within one row per atom they span.
 */
export function controlledRounding(
  atoms: { key: (string | null)[] }[],
  shares: number[],
  targets: Target[],
  keyColumns: string[],
  rows: number,
): number[] {
  const first = targets[0]?.columns.map((c) => keyColumns.indexOf(c)) ?? [];
  const sortKey = atoms.map((a) => JSON.stringify([first.map((i) => a.key[i] ?? null), a.key]));
  const order = atoms
    .map((_, i) => i)
    .sort((x, y) => ((sortKey[x] as string) < (sortKey[y] as string) ? -1 : 1));
  const totals = new Array<number>(atoms.length).fill(0);
  let cumulative = 0;
  let before = 0;
  for (const i of order) {
    cumulative += (shares[i] as number) * rows;
    const now = Math.round(cumulative);
    totals[i] = Math.max(0, now - before);
    before = Math.max(before, now);
  }
  return totals;
}

/**
 * The `--where` guarantee: deletes the synthetic rows that, in the user's types, do not satisfy the
 * predicate (numeric draws between two real values can land on a value the predicate excludes).
 * Only rows of iterations up to `upToIteration` are checked. Returns how many were deleted; their
 * provenance stays in synthor_where_drop (a nested run deletes their members too). The caller rebuilds
 * the count tables.
 */
export async function dropViolations(
  db: Db,
  /** The synthetic rows in the user's types, with their provenance (outputSelect, provenance: true). */
  typed: string,
  where: string,
  upToIteration = Number.MAX_SAFE_INTEGER,
): Promise<number> {
  const condition = await checkCondition(db, where, whereUse());
  await db.exec(
    `create or replace temp table synthor_where_drop as
     select __synthor_iteration, __synthor_proposal, __synthor_row
     from (${typed})
     where __synthor_iteration <= ${Math.floor(upToIteration)} and not coalesce(${condition}, false);
     delete from synthor_synth_model as m using synthor_where_drop as d
     where m.__synthor_iteration = d.__synthor_iteration and m.__synthor_proposal = d.__synthor_proposal
       and m.__synthor_row = d.__synthor_row;`,
    "drop rows that fail --where",
  );
  const [row] = await db.all<{ n: number }>("select count(*) as n from synthor_where_drop");
  return row?.n ?? 0;
}

/**
 * The end of a tilted run: per tilt, removes rows (from the surplus, at most down to `finalRows`) on the
 * side of its predicate that holds more than its reference share, matching rows or the others, in seeded
 * hash order (a random removal, which keeps each side's distribution). The loop alone under-fills rare
 * tilted cells. Returns the rows left; the count tables are rebuilt.
 */
export async function fitTilts(
  db: Db,
  summary: Summary,
  profiles: ColumnProfile[],
  tilts: Tilt[],
  finalRows: number,
  seed: number,
): Promise<number> {
  const typed = outputSelect(profiles, seed, "synthor_synth_model", 0, { provenance: true });
  const [count] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  let rows = count?.n ?? 0;
  for (const t of tilts) {
    const match = `coalesce(${await checkCondition(db, t.predicate, tiltUse(t))}, false)`;
    let state: { share: number; rows: number; matching: number } | undefined;
    try {
      [state] = await db.all<{ share: number; rows: number; matching: number }>(
        `select (select avg(${match}::integer) from synthor_reference) as share,
                count(*) as rows, count(*) filter (where ${match}) as matching
         from (${typed})`,
        {},
        "tilt shares",
      );
    } catch {
      // The predicate reads a column the output leaves out (--ignore): the reference is tilted, the
      // output cannot be checked against it.
      continue;
    }
    rows = state?.rows ?? 0;
    const spare = rows - finalRows;
    if (!state || spare <= 0) break;
    const want = Math.round(state.share * finalRows);
    const side = state.matching > want ? match : `not ${match}`;
    const excess = state.matching > want ? state.matching - want : rows - state.matching - (finalRows - want);
    const drop = Math.min(excess, spare);
    if (drop <= 0) continue;
    await db.exec(
      `create or replace temp table synthor_trim_drop as
       select __synthor_iteration, __synthor_proposal, __synthor_row from (${typed})
       where ${side}
       order by hash(${Math.floor(seed)}, __synthor_iteration, __synthor_proposal, __synthor_row),
                __synthor_iteration, __synthor_proposal, __synthor_row
       limit ${drop}`,
      "fit tilted rows",
    );
    await deleteDropped(db);
    rows -= drop;
    await rebuildCounts(db, summary);
  }
  return rows;
}

/** Rows of the output table that fail --where: 0 unless the predicate reads regenerated identifiers. */
export async function countViolations(db: Db, table: string, where: string): Promise<number> {
  const condition = await checkCondition(db, where, whereUse());
  const [row] = await db.all<{ n: number }>(
    `select count(*) as n from ${quoteIdent(table)} where not coalesce(${condition}, false)`,
  );
  return row?.n ?? 0;
}

/** How close the synthetic table came to a target: per named cell, then the unnamed cells together. */
export interface TargetFit {
  target: string;
  columns: string[];
  /** TVD between the target and synthetic shares over the named cells and the unnamed rest. */
  tvd: number;
  cells: { cell: (string | null)[] | null; targetShare: number; synthShare: number }[];
}

/**
 * Measures every target on the output table (sql/target_fit.sql) and records it in synthor_targets.
 *
 * @example await measureTargets(db, 1, "synthetic", reference.targets) // [{ target, tvd, cells }]
 */
export async function measureTargets(
  db: Db,
  runId: number,
  table: string,
  targets: Target[],
): Promise<TargetFit[]> {
  if (targets.length === 0) return [];
  await db.exec(
    `create or replace temp table synthor_target_cells as
     select t.target, t.cell, t.share as target_share
     from (select unnest(from_json($json, '[{"target":"VARCHAR","cell":["VARCHAR"],"share":"DOUBLE"}]'), recursive := true)) as t`,
    "target cells",
    {
      json: JSON.stringify(
        targets.flatMap((t) => t.cells.map((c) => ({ target: t.label, cell: c.cell, share: c.share }))),
      ),
    },
  );
  await db.exec("delete from synthor_targets where run_id = $run", "clear targets", { run: runId });
  const fits: TargetFit[] = [];
  const present = new Set(
    (await db.all<{ column_name: string }>(`describe ${quoteIdent(table)}`)).map((c) => c.column_name),
  );
  // A target on a column left out of the output (--ignore) cannot be measured on it.
  for (const t of targets.filter((x) => x.columns.every((c) => present.has(c)))) {
    const rows = await db.query<{
      cell: (string | null)[] | null;
      target_share: number;
      synth_share: number;
    }>("target_fit", {
      table,
      columns: varcharList(t.columns),
      target: t.label,
    });
    const tvd = rows.reduce((a, r) => a + Math.abs(r.target_share - r.synth_share), 0) / 2;
    fits.push({
      target: t.label,
      columns: t.columns,
      tvd,
      cells: rows.map((r) => ({ cell: r.cell, targetShare: r.target_share, synthShare: r.synth_share })),
    });
    await db.exec(
      `insert into synthor_targets
       select $run, $target, $columns::json, t.cell, t.target_share, t.synth_share, $tvd
       from (select unnest(from_json($json, '[{"cell":["VARCHAR"],"target_share":"DOUBLE","synth_share":"DOUBLE"}]'), recursive := true)) as t`,
      "record targets",
      {
        run: runId,
        target: t.label,
        columns: JSON.stringify(t.columns),
        tvd,
        json: JSON.stringify(rows),
      },
    );
  }
  return fits;
}

function cellText(cell: (string | null)[]): string {
  return `(${cell.map((v) => (v === null ? "NULL" : v)).join(", ")})`;
}

function round(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}

/**
 * A condition (--where, --tilt) DuckDB could not bind to the real columns; a misspelt column name gets
 * its suggestion, written as in SQL.
 */
function conditionFailed(use: SqlUse, err: unknown, columns: string[]): SynthorError {
  const message = duckMessage(err);
  const missing = missingColumn(message);
  const suggestion = missing === undefined ? "" : didYouMean(missing, columns, asWritten);
  return new SynthorError(use.code, `${use.invalid}: ${message}`, `${suggestion}${use.hint}`);
}

function duckMessage(err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err)).replace(/^query .* failed: /, "");
  return (m.split("\n")[0] ?? "").trim();
}

async function describe(db: Db, view: string): Promise<SourceInfo> {
  const columns = (
    await db.all<{ column_name: string; column_type: string }>(`describe ${quoteIdent(view)}`)
  ).map((c) => ({ name: c.column_name, type: c.column_type }));
  const [row] = await db.all<{ n: number }>(`select count(*) as n from ${quoteIdent(view)}`);
  return { view, label: view, rows: row?.n ?? 0, columns };
}

async function replaceRelation(db: Db, name: string, kind: "view" | "table", select: string): Promise<void> {
  const next = `${name}_next`;
  await db.dropReal(next);
  await db.execRaw(`create ${db.realKind(kind)} ${quoteIdent(next)} as ${select}`);
  await db.dropReal(name);
  await db.execRaw(`alter ${kind} ${quoteIdent(next)} rename to ${quoteIdent(name)}`);
}
