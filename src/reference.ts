import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { sqlFile } from "./db/files.ts";
import { asWritten, quoteIdent } from "./db/quote.ts";
import { checkCondition, checkQuery, type SqlUse } from "./db/sql-guard.ts";
import { duckMessage, SynthorError } from "./errors.ts";
import { didYouMean, missingColumn } from "./names.ts";
import { type ColumnProfile, type ProfileOptions, profileColumns } from "./profile.ts";
import { controlledRounding, rake, type Tilt, unreachableCells } from "./raking.ts";
import { describeView, type SourceInfo } from "./source.ts";
import { impute, orderColumns, readTarget, type Target, type TargetSpec, targetsUse } from "./targets.ts";

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
  /** Called with each target's cell columns before its cells are checked (see readTarget). */
  checkTargetColumns?: (columns: string[]) => void,
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
    const described = await describeView(db, "synthor_reference");
    return {
      ...base,
      ...described,
      label: `${real.label} where ${options.where}`,
      matchingRows: matching,
      rowsView,
    };
  }

  const targets: Target[] = [];
  for (const [i, spec] of targetSpecs.entries()) {
    targets.push(await readTarget(db, spec, i, real, checkTargetColumns));
  }
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
  const described = await describeView(db, "synthor_reference");
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
  const rows = await describeView(db, reference.rowsView);
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
export function whereUse(columns?: string[]): SqlUse {
  return {
    option: "--where",
    invalid: "--where is not a valid condition over the real columns",
    code: "CONFIG_INVALID",
    hint: `write it as the body of an SQL where clause, e.g. ${whereExample}${columnList(columns)}`,
  };
}

/** How a --tilt is named in messages. */
export function tiltUse(t: Tilt, columns?: string[]): SqlUse {
  return {
    option: `--tilt "${t.predicate} => ${t.factor}"`,
    invalid: `--tilt ${t.predicate} => ${t.factor}: the condition is not valid over the columns`,
    code: "CONFIG_INVALID",
    hint: `write it as the body of an SQL where clause, e.g. ${tiltExample}${columnList(columns)}`,
  };
}

function columnList(columns: string[] | undefined): string {
  // synthor's own columns (a nested run's household key) are not the user's to name.
  const theirs = columns?.filter((c) => !c.startsWith("__synthor_"));
  return theirs ? `; the columns are (as written in SQL): ${theirs.map(asWritten).join(", ")}` : "";
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

async function replaceRelation(db: Db, name: string, kind: "view" | "table", select: string): Promise<void> {
  const next = `${name}_next`;
  await db.dropReal(next);
  await db.execRaw(`create ${db.realKind(kind)} ${quoteIdent(next)} as ${select}`);
  await db.dropReal(name);
  await db.execRaw(`alter ${kind} ${quoteIdent(next)} rename to ${quoteIdent(name)}`);
}
