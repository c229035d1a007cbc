import { countUnitSets } from "./counts.ts";
import type { Db } from "./db/connection.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { codesSelect } from "./encode.ts";
import type { ProposalValue, ValidProposal } from "./proposals.ts";
import { countFine, type ModelColumn, type Summary } from "./summarize.ts";

/** Columns the synthetic model table carries beside the user's: where each row came from. */
export const provenanceColumns = ["__synthor_iteration", "__synthor_proposal", "__synthor_row"] as const;

export interface SampleOptions {
  seed: number;
  iteration: number;
  /** Inside a numeric range: follow the real distribution ("quantile", default) or the paper's "uniform". */
  withinRange?: "quantile" | "uniform";
}

/**
 * Creates the (empty) synthetic table in model space, with the provenance columns: categorical columns as
 * text, the others as DOUBLE (see encode.ts). From the summary's columns, so no real rows are needed.
 */
export async function createSyntheticModel(db: Db, summary: Pick<Summary, "columns">): Promise<void> {
  const columns = summary.columns.map(
    (c) => `${quoteIdent(c.name)} ${c.kind === "categorical" ? "varchar" : "double"}`,
  );
  await db.exec(
    `create table if not exists synthor_synth_model (${[...columns, "__synthor_iteration integer", "__synthor_proposal integer", "__synthor_row bigint"].join(", ")})`,
    "create synthetic model table",
  );
}

/**
 * Draws every proposal's rows in DuckDB and adds them to the synthetic table (synthor_synth_model) and to
 * the running count tables. Rows come from `range(num)` per proposal, never from a JavaScript loop; each
 * value's randomness is synthor_uniform(seed, iteration, proposal, row, column), so the result does not
 * depend on thread count or evaluation order. Returns the number of rows added.
 *
 * @example await sampleProposals(db, summary, [{ reason: "", values: { age: [30, 40], sex: "F" }, num: 10 }], { seed: 7, iteration: 1 })
 */
export async function sampleProposals(
  db: Db,
  summary: Summary,
  proposals: ValidProposal[],
  options: SampleOptions,
): Promise<number> {
  if (proposals.length === 0) return 0;
  const uniform = options.withinRange === "uniform";
  const cols = summary.columns;

  // The proposals become one wide table (a row per proposal, fields per column), passed as one JSON
  // parameter: parsing JSON in DuckDB is much faster than binding thousands of rows of SQL text.
  const structure = proposalStructure(cols, { pid: "INTEGER", num: "BIGINT" });
  const rows = proposals.map((p, i) => ({ pid: i, num: p.num, ...proposalFields(cols, p.values) }));
  await proposalTable(db, "synthor_batch_proposals", rows, structure, "insert proposals");

  const draws = cols.some((c) => c.kind !== "categorical");
  await db.exec(
    `create or replace temp table synthor_batch as
     with g as (${gridsSelect(cols)})
     select ${drawExprs(cols, uniform).join(", ")},
            $iteration::integer as __synthor_iteration,
            p.pid as __synthor_proposal,
            r.range as __synthor_row
     from synthor_batch_proposals as p, range(p.num) as r, g
     order by p.pid, r.range`,
    "sample proposals",
    // DuckDB rejects a bound parameter the query does not use: without numeric columns, nothing draws.
    draws ? { seed: options.seed, iteration: options.iteration } : { iteration: options.iteration },
  );
  await db.exec("insert into synthor_synth_model select * from synthor_batch", "append batch");
  await addBatchCounts(db, summary, "synthor_batch");
  const [row] = await db.all<{ n: number }>("select count(*) as n from synthor_batch");
  return row?.n ?? 0;
}

/**
 * Makes the temp table `table` hold `rows`, passed as one JSON parameter and read with `structure`
 * (field → DuckDB type, scalars only): a column per field, in the structure's order. The list is
 * unnested and each struct then expanded (`s.*`), not unnested with `recursive := true`, which costs
 * per field and row: for 300 proposals of a 300-column table (900 fields) 5.7 s against 0.5 s.
 */
export async function proposalTable(
  db: Db,
  table: string,
  rows: Record<string, string | number | null>[],
  structure: Record<string, string>,
  label: string,
): Promise<void> {
  await db.exec(
    `create or replace temp table ${quoteIdent(table)} as
     select s.* from (select unnest(from_json($json, $structure)) as s)`,
    label,
    { json: JSON.stringify(rows), structure: JSON.stringify([structure]) },
  );
}

/**
 * The JSON structure of proposal rows: `base` fields, then v{k} per category, lo/hi/plo/phi{k} per range,
 * and s{k} for a numeric column with NaN or infinities (JSON has no number for them: they go as text).
 */
export function proposalStructure(cols: ModelColumn[], base: Record<string, string>): Record<string, string> {
  const structure = { ...base };
  for (const [k, c] of cols.entries()) {
    if (c.kind === "categorical") structure[`v${k}`] = "VARCHAR";
    else
      Object.assign(structure, {
        [`lo${k}`]: "DOUBLE",
        [`hi${k}`]: "DOUBLE",
        [`plo${k}`]: "DOUBLE",
        [`phi${k}`]: "DOUBLE",
        ...(c.special?.length ? { [`s${k}`]: "VARCHAR" } : {}),
      });
  }
  return structure;
}

/** A proposal's values as the fields of one JSON row (see {@link proposalStructure}). */
export function proposalFields(
  cols: ModelColumn[],
  values: Record<string, ProposalValue>,
): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = {};
  for (const [k, c] of cols.entries()) {
    const v = values[c.name] ?? null;
    if (c.kind === "categorical") {
      row[`v${k}`] = typeof v === "string" ? v : null;
    } else if (Array.isArray(v)) {
      const grid = c.grid ?? [];
      // When the first main bin is a point ([0, 0] in a zero-inflated column) the minimum is that bin's,
      // and a range starting there, like the next bin (0, 99999], does not hold it.
      const first = c.bins?.[0];
      const pointFirst = first !== undefined && first.lo === first.hi;
      const atMin = v[0] <= (grid[0] ?? Number.NEGATIVE_INFINITY) && !pointFirst;
      // Ranges are right-closed, (lo, hi], except one that starts at the minimum: it holds the minimum,
      // like the first main bin. Whole numbers round up, so such a range is drawn as (lo - 1, hi] or the
      // uniform draw would never give the minimum.
      row[`lo${k}`] = atMin && c.integral && v[0] < v[1] ? v[0] - 1 : v[0];
      row[`hi${k}`] = v[1];
      row[`plo${k}`] = atMin ? 0 : cdf(grid, v[0]);
      row[`phi${k}`] = cdf(grid, v[1]);
    } else if (c.special?.length) {
      row[`s${k}`] = typeof v === "string" ? v : null;
    }
  }
  return row;
}

/** One row holding each numeric column's quantile grid as g{k} (synthor_grid), for the draws. */
export function gridsSelect(cols: ModelColumn[]): string {
  // One aggregate per column, not a scalar subquery each: DuckDB counts every subquery of a select list
  // towards its expression depth limit (1000).
  const grids = cols
    .map((c, k) =>
      c.kind === "categorical"
        ? null
        : `first(grid) filter (where "column" = ${quoteLiteral(c.name)}) as g${k}`,
    )
    .filter((x) => x !== null);
  return grids.length ? `select ${grids.join(", ")} from synthor_grid` : "select 1 as none";
}

/**
 * Each column's value for row r.range of proposal p (fields from {@link proposalFields}, grids g from
 * {@link gridsSelect}); `offset` (SQL) shifts the column number in the uniform draws, so members of one
 * household draw apart.
 */
export function drawExprs(cols: ModelColumn[], uniform: boolean, offset?: string): string[] {
  return cols.map((c, k) => {
    const name = quoteIdent(c.name);
    if (c.kind === "categorical") return `p.v${k} as ${name}`;
    const column = offset === undefined ? `${k}` : `${offset} + ${k}`;
    const u = `synthor_uniform($seed, $iteration, p.pid, r.range, ${column})`;
    const draw = `synthor_draw(g.g${k}, p.lo${k}, p.hi${k}, p.plo${k}, p.phi${k}, ${u}, ${c.integral}, ${uniform})`;
    // NaN and the infinities are proposed as text ("NaN", "Infinity", "-Infinity"), which DuckDB casts.
    return `${c.special?.length ? `coalesce(p.s${k}::double, ${draw})` : draw} as ${name}`;
  });
}

/** Counts a batch (model space) for every unit and adds the counts to the synthetic side's tables. */
export async function addBatchCounts(db: Db, summary: Summary, batch: string): Promise<void> {
  await db.exec(
    `create or replace temp table synthor_batch_codes as ${codesSelect(summary.columns, quoteIdent(batch))};
     create or replace temp table synthor_batch_fine_codes as ${codesSelect(summary.columns, quoteIdent(batch), { subBins: summary.subBins })};
     create or replace temp table synthor_batch_counts (unit varchar, cell varchar[], n bigint);
     create or replace temp table synthor_batch_fine ("column" varchar, bin bigint, sub integer, n bigint);`,
    "prepare batch counts",
  );
  await countUnitSets(db, "synthor_batch_counts", [
    { codes: "synthor_batch_codes", units: [...summary.marginals, ...summary.groups], prefix: "" },
    { codes: "synthor_batch_fine_codes", units: summary.fineUnits, prefix: "fine:" },
    { codes: "synthor_batch_codes", units: summary.pairUnits, prefix: "pair:" },
    { codes: "synthor_batch_fine_codes", units: summary.finePairUnits, prefix: "fine:pair:" },
  ]);
  await countFine(db, batch, summary.columns, summary.subBins, "synthor_batch_fine");
  await db.run("merge_counts");
}

/**
 * The real CDF at x from the quantile grid (k + 1 quantiles at 0, 1/k, ..., 1), piecewise-linear like
 * synthor_inverse_cdf; at a tied value it is the share at or below it, so ranges are right-closed like bins.
 */
export function cdf(grid: number[], x: number): number {
  const k = grid.length - 1;
  if (k < 1) return 1;
  // j = number of grid points <= x
  let lo = 0;
  let hi = grid.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((grid[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  const j = lo;
  if (j === 0) return 0;
  if (j > k) return 1;
  const a = grid[j - 1] as number;
  const b = grid[j] as number;
  return (j - 1 + (b > a ? (x - a) / (b - a) : 0)) / k;
}
