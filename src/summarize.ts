import { countUnitSets, countUnits, type Unit, unitIdsOf } from "./counts.ts";
import type { Db } from "./db/connection.ts";
import { double, doubleList } from "./db/connection.ts";
import { quoteIdent } from "./db/quote.ts";
import { codesSelect, modelSelect } from "./encode.ts";
import { type Problem, throwIfProblems } from "./errors.ts";
import { unknownColumnHint } from "./names.ts";
import { type ColumnProfile, modelledKinds } from "./profile.ts";
import { type RealSide, rowsSide } from "./real.ts";
import type { SourceInfo } from "./source.ts";

export type { Unit } from "./counts.ts";

export interface Category {
  value: string | null;
  n: number;
  share: number;
}

export interface Bin {
  bin: number;
  lo: number;
  hi: number;
  n: number;
  share: number;
}

export interface NumericSummary {
  n: number;
  nulls: number;
  mean: number | null;
  sd: number | null;
  min: number | null;
  p05: number | null;
  p25: number | null;
  p50: number | null;
  p75: number | null;
  p95: number | null;
  max: number | null;
}

/** A modelled column with its real-data summary: a frequency table, or main bins and moments. */
export interface ModelColumn extends ColumnProfile {
  kind: "categorical" | "numeric" | "datetime";
  categories?: Category[];
  edges?: number[];
  bins?: Bin[];
  /** Quantiles at 0, 1/k, ..., 1 of the real values: what the sampler draws from inside a range. */
  grid?: number[];
  summary?: NumericSummary;
  /** Datetimes: every real value is a whole second, so synthetic ones are rounded to seconds. */
  wholeSeconds?: boolean;
  /** Which ends of the grid privateGrid pulled in (fewer than min-cell rows held them): prompts say so. */
  pulledIn?: { lo: boolean; hi: boolean };
}

export interface Summary {
  source: string;
  rows: number;
  bins: number;
  subBins: number;
  columns: ModelColumn[];
  /** Identifier and constant columns: not modelled, regenerated in the output. */
  passthrough: ColumnProfile[];
  marginals: Unit[];
  groups: Unit[];
  /**
   * The planner's finer targets, counted like the others but over fine codes (numeric columns as
   * "bin.sub"): every numeric column alone, and every group with exactly one numeric column. Ids start
   * with "fine:". They are not part of the reported discrepancy.
   */
  fineUnits: Unit[];
  /**
   * Every other pair of modelled columns, counted on the codes, ids starting with "pair:": the
   * statistical planner keeps all pairwise tables close, not only the grounded groups'. Not reported.
   */
  pairUnits: Unit[];
  /** The pairs of one numeric and one categorical column, at the fine level; ids start with "fine:pair:". */
  finePairUnits: Unit[];
  /** Where units added later are counted and the planners read real tables from: the rows, or a summary file. */
  real: RealSide;
  /**
   * What fewer than this many real rows hold is not drawn from (0 or 1: no such rule): the grids' ends are
   * pulled in (privateGrid) and the statistical planner backs off from conditionals with fewer real rows
   * (ARCHITECTURE.md, the statistical planner). `--min-cell`, 5 by default for synthesis.
   */
  minCell: number;
}

export interface SummarizeOptions {
  /** Main bins per numeric column (paper: 6). */
  bins?: number;
  /** Sub-bins inside the worst main bin (paper: 8). */
  subBins?: number;
  /**
   * For synthesis: keep the real codes as tables instead of views (the loop reads them many times), and
   * count the planner's fine units.
   */
  materialize?: boolean;
  /** Intervals of the sampler's quantile grid (default: see gridSizeFor). */
  gridSize?: number;
  /** Dependency groups whose contingency tables to count. */
  groups?: string[][];
  /**
   * Above 1, each quantile grid spans at least this many rows per interval and its ends are pulled in
   * unless this many rows hold the minimum (maximum); see privateGrid. Kept as `Summary.minCell` for the
   * planners. For synthesis and summary files (default there 5); 0 when only looking (profile, prompt).
   */
  minCell?: number;
}

/**
 * Computes the real side's summaries in the database and returns them: main bins and moments of every
 * numeric column, frequency tables, and count tables for every marginal and group (synthor_real_counts),
 * plus the fine (bin, sub-bin) counts. Creates empty synthetic count tables beside them.
 *
 * @example const summary = await summarizeTable(db, source, profiles, { groups: [["age", "sex"]] });
 */
export async function summarizeTable(
  db: Db,
  source: SourceInfo,
  profiles: ColumnProfile[],
  options: SummarizeOptions = {},
): Promise<Summary> {
  const bins = options.bins ?? 6;
  const subBins = options.subBins ?? 8;
  // Views cost nothing to create; tables are worth it when the codes are read many times (synthesis).
  // Both hold real rows: temporary unless the database keeps them (Db.keepReal).
  const kind = db.realKind(options.materialize ? "table" : "view");
  const modelled = profiles.filter((p) => modelledKinds.includes(p.kind));
  throwIfProblems(groupProblems(options.groups ?? [], profiles));
  await db.exec(
    `create or replace ${db.realKind("view")} synthor_real_model as ${modelSelect(modelled, quoteIdent(source.view))};
     create or replace table synthor_edges ("column" varchar, edges double[]);
     create or replace table synthor_bins ("column" varchar, bin bigint, lo double, hi double, n bigint, share double);
     create or replace table synthor_grid ("column" varchar, grid double[]);`,
    "create real model view",
  );

  // Numeric columns: one sort gives the sampler's quantile grid and the main bins' edges.
  const columns: ModelColumn[] = modelled.map((p) => ({ ...p, kind: p.kind as ModelColumn["kind"] }));
  for (const column of columns) {
    if (column.kind === "categorical") continue;
    const [row] = await db.query<{ grid: number[] | null; edges: number[] }>("quantiles", {
      table: "synthor_real_model",
      column: column.name,
      k: options.gridSize ?? gridSizeFor(column),
      bins,
    });
    const raw = row?.grid ?? [];
    // Never pulled in past the first (last) main-bin edge, an observed value at least n/6 ranks in: a
    // coarse grid over few rows would otherwise make the outer bin a reversed range.
    const edges = row?.edges ?? [];
    column.grid = privateGrid(raw, column.rows - column.nulls, options.minCell ?? 0, [
      edges[0],
      edges.at(-1),
    ]);
    column.pulledIn = { lo: column.grid[0] !== raw[0], hi: column.grid.at(-1) !== raw.at(-1) };
    column.edges = row?.edges ?? [];
    if (column.kind === "datetime") {
      const q = quoteIdent(column.name);
      const [whole] = await db.all<{ whole: boolean }>(
        `select coalesce(bool_and(${q} = floor(${q})), false) as whole from synthor_real_model`,
        {},
        "whole seconds",
      );
      column.wholeSeconds = whole?.whole ?? false;
    }
    await db.exec("insert into synthor_edges values ($column, $edges)", "store edges", {
      column: column.name,
      edges: doubleList(column.edges),
    });
    await db.exec("insert into synthor_grid values ($column, $grid)", "store grid", {
      column: column.name,
      grid: doubleList(column.grid),
    });
  }

  await db.dropReal("synthor_real_codes");
  await db.exec(
    `create or replace ${kind} synthor_real_codes as ${codesSelect(modelled, "synthor_real_model")}`,
    "create real codes view",
  );
  const marginals = await unitsFor(
    db,
    modelled.map((c) => [c.name]),
    modelled,
  );
  const groups = await unitsFor(db, options.groups ?? [], modelled);
  await db.exec(
    `create or replace table synthor_real_counts (unit varchar, cell varchar[], n bigint);
     create or replace table synthor_synth_counts (unit varchar, cell varchar[], n bigint);
     create or replace table synthor_real_fine ("column" varchar, bin bigint, sub integer, n bigint);
     create or replace table synthor_synth_fine ("column" varchar, bin bigint, sub integer, n bigint);`,
    "create count tables",
  );
  // Numeric columns: the main bins' ranges first, which the fine (bin, sub-bin) counts need; their
  // marginal counts are then the fine counts added up per bin, with no pass of their own over the data.
  for (const column of columns) {
    if (column.kind === "categorical") continue;
    const grid = column.grid ?? [];
    const edges = column.edges ?? [];
    column.bins = Array.from({ length: edges.length + 1 }, (_, b) => ({
      bin: b,
      lo: b === 0 ? (grid[0] ?? 0) : (edges[b - 1] as number),
      hi: b === edges.length ? (grid[grid.length - 1] ?? 0) : (edges[b] as number),
      n: 0,
      share: 0,
    }));
    for (const b of column.bins) {
      await db.exec("insert into synthor_bins values ($column, $bin, $lo, $hi, $n, $share)", "store bins", {
        column: column.name,
        ...b,
        lo: double(b.lo),
        hi: double(b.hi),
      });
    }
  }
  await countFine(db, "synthor_real_model", columns, subBins, "synthor_real_fine");
  const numericMarginals = marginals.filter((_, k) => columns[k]?.kind !== "categorical");
  await countUnits(
    db,
    "synthor_real_codes",
    [...marginals.filter((u) => !numericMarginals.includes(u)), ...groups],
    "synthor_real_counts",
  );
  for (const [k, column] of columns.entries()) {
    if (column.kind === "categorical") continue;
    await db.exec(
      `insert into synthor_real_counts
       select $unit, [bin::varchar], sum(n)::bigint from synthor_real_fine where "column" = $column group by bin
       union all
       select $unit, [null::varchar], $nulls::bigint where $nulls > 0`,
      "marginal counts from fine counts",
      { unit: (marginals[k] as Unit).id, column: column.name, nulls: column.nulls },
    );
    // NaN and the infinities: cells of their own beside the bins, like NULL.
    if (column.special?.length) {
      const q = quoteIdent(column.name);
      await db.exec(
        `insert into synthor_real_counts
         select $unit, [${q}], count(*) from synthor_real_codes where ${q} in ('NaN', 'Infinity', '-Infinity') group by all`,
        "special value counts",
        { unit: (marginals[k] as Unit).id },
      );
    }
  }

  // Frequency tables and main-bin counts are the marginal units' counts: no further pass over the data.
  for (const [k, column] of columns.entries()) {
    const unit = marginals[k] as Unit;
    const cells = await db.all<{ cell: (string | null)[]; n: number }>(
      "select cell, n from synthor_real_counts where unit = $unit",
      { unit: unit.id },
      "read marginal counts",
    );
    const total = cells.reduce((a, c) => a + c.n, 0);
    if (column.kind === "categorical") {
      column.categories = cells
        .map((c) => ({ value: c.cell[0] ?? null, n: c.n, share: c.n / total }))
        .sort((a, b) => b.n - a.n || compareValues(a.value, b.value));
      continue;
    }
    const count = new Map(cells.map((c) => [c.cell[0] ?? null, c.n]));
    for (const b of column.bins ?? []) {
      b.n = count.get(String(b.bin)) ?? 0;
      b.share = b.n / total;
      await db.exec(
        `update synthor_bins set n = $n, share = $share where "column" = $column and bin = $bin`,
        "store bin counts",
        { column: column.name, bin: b.bin, n: b.n, share: b.share },
      );
    }
    column.summary = numericSummary(column, column.grid ?? []);
  }
  await db.dropReal("synthor_real_fine_codes");
  await db.exec(
    `create or replace ${kind} synthor_real_fine_codes as ${codesSelect(modelled, "synthor_real_model", { subBins })}`,
    "create real fine codes view",
  );
  // The fine units are the statistical planner's targets: counted for synthesis, not for summaries alone.
  const fineUnits = options.materialize ? fineUnitsFor(modelled, [...marginals, ...groups]) : [];
  await countUnits(db, "synthor_real_fine_codes", fineUnits, "synthor_real_counts", { prefix: "fine:" });

  return {
    source: source.label,
    rows: source.rows,
    bins,
    subBins,
    columns,
    passthrough: profiles.filter((p) => p.kind === "identifier" || p.kind === "constant"),
    marginals,
    groups,
    fineUnits,
    pairUnits: [],
    finePairUnits: [],
    real: rowsSide(db),
    minCell: options.minCell ?? 0,
  };
}

/** A numeric column's moments (from its profile) and quantiles read off its sampler grid. */
export function numericSummary(column: ColumnProfile, grid: number[]): NumericSummary {
  const at = (q: number) => grid[Math.round(q * (grid.length - 1))] ?? null;
  return {
    n: column.rows,
    nulls: column.nulls,
    mean: column.mean ?? null,
    sd: column.sd ?? null,
    min: at(0),
    p05: at(0.05),
    p25: at(0.25),
    p50: at(0.5),
    p75: at(0.75),
    p95: at(0.95),
    max: at(1),
  };
}

/**
 * The sampler's grid: one interval per 10 real values (at most 1,000), so no grid point spells out a
 * single row's value; but a whole-number column with at most 1,000 distinct values keeps the fine grid,
 * because between tied plateaus a coarse grid would move mass to the next value, and its values are no
 * secret (they are its categories, in effect).
 */
function gridSizeFor(column: ModelColumn): number {
  if (column.integral && column.distinct <= 1000) return 1000;
  return Math.max(1, Math.min(1000, Math.floor((column.rows - column.nulls) / 10)));
}

/**
 * A quantile grid that shows no value fewer than `k` real rows vouch for (k <= 1: the grid as it is).
 * Thinned first so every interval spans at least k rows (a fine grid over few rows would list them all),
 * re-read from the piecewise-linear quantile function; then the ends are pulled in to the quantile at rank
 * k unless at least k rows hold the minimum (maximum), as prompts show them, but not past `within` (the
 * first and last main-bin edges, observed values n/6 ranks in). Inner points are quantiles interpolated
 * between neighbouring sorted values, at least k ranks from either end.
 *
 * @example privateGrid([1, 2, 3, 4, 100], 41, 5) // [2, 2, 3, 4, 4]
 */
export function privateGrid(
  grid: number[],
  nonNull: number,
  k: number,
  within: [number | undefined, number | undefined] = [undefined, undefined],
): number[] {
  if (k <= 1 || grid.length < 2 || nonNull <= 1) return grid;
  let g = grid;
  const intervals = Math.max(1, Math.floor((nonNull - 1) / k));
  if (g.length - 1 > intervals) {
    const last = g.length - 1;
    g = Array.from({ length: intervals + 1 }, (_, i) => {
      const x = (i * last) / intervals;
      const lo = g[Math.floor(x)] as number;
      const hi = g[Math.ceil(x)] as number;
      return lo + (x - Math.floor(x)) * (hi - lo);
    });
  }
  const last = g.length - 1;
  const at = (rank: number) => (rank * last) / (nonNull - 1);
  const min = g[0] as number;
  const max = g[last] as number;
  const loIsReal = g[Math.min(last, Math.ceil(at(k - 1)))] === min;
  const hiIsReal = g[Math.max(0, Math.floor(last - at(k - 1)))] === max;
  const i = Math.min(Math.floor(last / 2), Math.ceil(at(k) - 1e-9));
  const lo = loIsReal ? min : Math.min(g[i] as number, within[0] ?? Number.POSITIVE_INFINITY);
  const hi = hiIsReal ? max : Math.max(g[last - i] as number, within[1] ?? Number.NEGATIVE_INFINITY);
  return g.map((x) => Math.min(hi, Math.max(lo, x)));
}

/** NULLs last, then by text: the order synthor_frequency gives ties. */
function compareValues(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** Unit ids for groups of columns: the columns in table order, named as DuckDB's to_json writes them. */
export async function unitsFor(db: Db, groups: string[][], modelled: ColumnProfile[]): Promise<Unit[]> {
  const order = new Map(modelled.map((c, i) => [c.name, i]));
  const sorted = groups.map((g) => [...new Set(g)].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
  const ids = await unitIdsOf(db, sorted);
  const units: Unit[] = [];
  for (const [k, columns] of sorted.entries()) {
    const id = ids[k] as string;
    if (!units.some((u) => u.id === id)) units.push({ id, columns });
  }
  return units;
}

/** The fine units of a summary's columns and groups: numeric columns alone, groups with one numeric column. */
export function fineUnitsFor(columns: ColumnProfile[], units: Unit[]): Unit[] {
  const numeric = new Set(columns.filter((c) => c.kind !== "categorical").map((c) => c.name));
  return units
    .filter((u) => u.columns.filter((c) => numeric.has(c)).length === 1)
    .map((u) => ({ id: `fine:${u.id}`, columns: u.columns }));
}

/** Counts the (main bin, sub-bin) cells of every numeric column and appends them to `target`. */
export async function countFine(
  db: Db,
  modelTable: string,
  columns: ColumnProfile[],
  subBins: number,
  target: string,
): Promise<void> {
  const numeric = columns.filter((c) => c.kind !== "categorical");
  await db.insertUnion(
    target,
    "fine_counts",
    numeric.map((c) => ({ table: modelTable, column: c.name, sub_bins: subBins })),
  );
}

/** A group must name 2 to 4 distinct columns; the problem when it does not (shared with `synthor eval`). */
export function groupSizeProblem(group: string[]): Problem | null {
  const label = group.join(",");
  const size = new Set(group).size;
  if (size >= 2 && size <= 4) return null;
  return {
    code: "INPUT_INVALID",
    message: `group ${label} has ${size} column${size === 1 ? "" : "s"}; a group takes 2 to 4`,
    hint: "give each group as --group a,b or --group a,b,c",
    subject: label,
  };
}

/** Problems with dependency groups: each must name 2 to 4 distinct modelled columns. */
export function groupProblems(groups: string[][], profiles: ColumnProfile[]): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(profiles.map((p) => [p.name, p]));
  for (const group of groups) {
    const label = group.join(",");
    const distinct = new Set(group);
    const size = groupSizeProblem(group);
    if (size) problems.push(size);
    for (const name of distinct) {
      const p = byName.get(name);
      if (!p) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `group ${label} names column "${name}", which the table does not have`,
          hint: unknownColumnHint(
            name,
            profiles.map((x) => x.name),
          ),
          subject: name,
        });
      } else if (!modelledKinds.includes(p.kind)) {
        problems.push({
          code: "INPUT_INVALID",
          message: `group ${label} names column "${name}", which is ${p.kind} and not modelled`,
          hint: `drop it from the group, or override its kind with --categorical ${name} or --numeric ${name}`,
          subject: name,
        });
      }
    }
  }
  return problems;
}

/**
 * Adds dependency groups after summarizing: counts their real cells, and their synthetic cells from the
 * synthetic table so far (so groups can change between iterations, as the LLM copula step may).
 * Returns the units that were new.
 */
export async function addGroups(db: Db, summary: Summary, groups: string[][]): Promise<Unit[]> {
  throwIfProblems(groupProblems(groups, summary.columns));
  // From a summary file, only the groups it holds count tables for (fine ones too) can be measured.
  const units = (await unitsFor(db, groups, summary.columns)).filter(
    (u) => !summary.groups.some((g) => g.id === u.id) && realHas(summary, u),
  );
  if (units.length === 0) return [];
  const fine = fineUnitsFor(summary.columns, units);
  await countBothSides(db, summary, units, fine, { units: "", fine: "fine:" });
  summary.groups.push(...units);
  summary.fineUnits.push(...fine);
  return units;
}

/**
 * Tracks every pair of modelled columns that is not already a group (at most `limit`, the most dependent
 * first as the caller orders them), as "pair:" units counted on both sides.
 */
export async function addPairs(
  db: Db,
  summary: Summary,
  pairs: [string, string][],
  limit = 300,
): Promise<void> {
  const known = new Set([...summary.groups.map((u) => u.id), ...summary.pairUnits.map((u) => u.id.slice(5))]);
  const units = (await unitsFor(db, pairs.slice(0, limit), summary.columns))
    .filter((u) => !known.has(u.id) && realHas(summary, u))
    .map((u) => ({ id: `pair:${u.id}`, columns: u.columns }));
  if (units.length === 0) return;
  // A pair of a numeric and a categorical column is also kept at the fine level (bin.sub).
  const fine = fineUnitsFor(summary.columns, units);
  await countBothSides(db, summary, units, fine, { units: "pair:", fine: "fine:pair:" });
  summary.pairUnits.push(...units);
  summary.finePairUnits.push(...fine);
}

/**
 * Counts units added after summarizing on the real codes (coarse, and fine for `fine`) and, when the
 * synthetic table already has rows, on its codes too. The count tables key them by their columns (as
 * synthor_contingency writes them) behind the given prefixes, matching the units' ids.
 */
async function countBothSides(
  db: Db,
  summary: Summary,
  units: Unit[],
  fine: Unit[],
  prefix: { units: string; fine: string },
): Promise<void> {
  const label = (p: string) => (p ? { prefix: p } : {});
  await summary.real.countUnits(units, "synthor_real_counts", label(prefix.units));
  await summary.real.countUnits(fine, "synthor_real_counts", { fine: true, ...label(prefix.fine) });
  const [row] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  if ((row?.n ?? 0) === 0) return;
  await db.exec(
    `create or replace temp view synthor_synth_codes as ${codesSelect(summary.columns, "synthor_synth_model")};
     create or replace temp view synthor_synth_fine_codes as ${codesSelect(summary.columns, "synthor_synth_model", { subBins: summary.subBins })}`,
    "create synthetic codes views",
  );
  await countUnitSets(db, "synthor_synth_counts", [
    { codes: "synthor_synth_codes", units, prefix: prefix.units },
    { codes: "synthor_synth_fine_codes", units: fine, prefix: prefix.fine },
  ]);
}

/** Whether the real side holds a unit's counts, and its fine counts when it is a fine unit. */
function realHas(summary: Summary, unit: Unit): boolean {
  if (!summary.real.has(unit.columns, null)) return false;
  const [fine] = fineUnitsFor(summary.columns, [unit]);
  const numeric = unit.columns.find((c) => summary.columns.find((x) => x.name === c)?.kind !== "categorical");
  return !fine || summary.real.has(unit.columns, numeric ?? null);
}
