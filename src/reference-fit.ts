/**
 * The end of a run with a reference (src/reference.ts), after the loop: the --where guarantee (rows that
 * fail it dropped, and counted in the output), tilted rows cut to their reference shares, and every
 * target measured on the output (synthor_targets).
 */
import { type Db, varcharList } from "./db/connection.ts";
import { quoteIdent } from "./db/quote.ts";
import { checkCondition } from "./db/sql-guard.ts";
import type { Tilt } from "./raking.ts";
import { tiltUse, whereUse } from "./reference.ts";
import type { Summary, Unit } from "./summarize.ts";
import type { Target } from "./targets.ts";
import { deleteDropped, fitTargetCells, rebuildCounts, trimSurplus } from "./trim.ts";

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
  /** The synthetic rows in the user's types, with their provenance (outputSelect, provenance: true). */
  typed: string,
  tilts: Tilt[],
  finalRows: number,
  seed: number,
): Promise<number> {
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

/**
 * The units whose cells the end of the run cuts to their targets: the target groups, and the marginals
 * of one-column targets on categorical columns (a numeric column's cells are bins, not target values).
 */
export function targetUnitsOf(summary: Summary, targets: Target[], targetColumns: string[][]): Unit[] {
  const categorical = new Set(summary.columns.filter((c) => c.kind === "categorical").map((c) => c.name));
  return [
    ...summary.groups.filter((g) =>
      targetColumns.some(
        (cols) => cols.length === g.columns.length && cols.every((c) => g.columns.includes(c)),
      ),
    ),
    ...summary.marginals.filter((m) =>
      targets.some(
        (t) =>
          t.columns.length === 1 && t.columns[0] === m.columns[0] && categorical.has(m.columns[0] as string),
      ),
    ),
  ];
}

/**
 * The share of rows grown beyond those asked for: with --where, a surplus that replaces the rows that
 * fail it (dropped at the end, before the trim); with targets and tilts, 10% each, so that tilted rows
 * and target cells can end at their reference shares (fitTilts, fitTargetCells); --trim's, if larger.
 */
export function surplusShare(o: {
  trim?: number | undefined;
  where: boolean;
  targets: boolean;
  tilts: boolean;
}): number {
  const toFit = (o.targets ? 0.1 : 0) + (o.tilts ? 0.1 : 0);
  return Math.max(o.trim ?? 0, toFit > 0 ? toFit : o.where ? 0.05 : 0);
}

/**
 * The end of the loop, in the run's end transaction, when the table holds more rows than asked for:
 * tilted rows and target cells cut to their reference shares, then the surplus trimmed from the most
 * over-represented cells. Returns the rows left; the count tables are rebuilt.
 */
export async function fitToReference(
  db: Db,
  summary: Summary,
  o: { typed: string; tilts: Tilt[]; targetUnits: Unit[]; finalRows: number; seed: number },
): Promise<number> {
  let rows = 0;
  if (o.tilts.length > 0) rows = await fitTilts(db, summary, o.typed, o.tilts, o.finalRows, o.seed);
  for (const unit of o.targetUnits) rows = await fitTargetCells(db, summary, unit, o.finalRows, o.seed);
  rows = await trimSurplus(db, summary, o.finalRows, o.seed, o.targetUnits);
  return rows;
}
