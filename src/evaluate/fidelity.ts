/**
 * Fidelity: how closely the synthetic table's distributions follow the real one's, column by column,
 * pair by pair and group by group, plus the SDMetrics-style quality score. Every aggregation runs in
 * DuckDB (sql/eval_*.sql, sql/unit_counts.sql, sql/tvd.sql, sql/pair_associations.sql); this file only
 * picks the units, runs the queries and averages the scores.
 */

import { countUnitSets, unitIdsOf } from "../counts.ts";
import { type Db, doubleList } from "../db/connection.ts";
import { quoteIdent, quoteLiteral } from "../db/quote.ts";
import { type Problem, throwIfProblems } from "../errors.ts";
import { measureAssociations } from "../groups.ts";
import { unknownColumnHint } from "../names.ts";
import type { ColumnProfile } from "../profile.ts";
import { groupSizeProblem } from "../summarize.ts";
import { type EvalColumn, evalColumns, prepareViews, rowCounts, views } from "./tables.ts";

/** Metrics of one column. */
export interface ColumnFidelity {
  column: string;
  kind: "categorical" | "numeric";
  datetime: boolean;
  /** Share of NULLs on each side. */
  realNullShare: number;
  synthNullShare: number;
  /** Total variation distance, NULL a category of its own; numeric columns over the real deciles. */
  tvd: number;
  /** Jensen-Shannon divergence (nats, [0, ln 2]) and distance (its square root), on the same cells as tvd. */
  jsDivergence: number;
  jsDistance: number;
  /** Numeric: Wasserstein-1 distance in the column's units (seconds for datetimes); NULL without values. */
  w1: number | null;
  /** Numeric: Kolmogorov-Smirnov statistic, max |F_real - F_synth|. */
  ks: number | null;
  /** The SDMetrics column-shape metric: KSComplement (numeric) or TVComplement (categorical). */
  metric: "KSComplement" | "TVComplement";
  /** Its value in [0, 1] (higher is better); null when SDMetrics could not compute it either. */
  score: number | null;
  /** For charts: categorical shares (most frequent real values first, at most 30) ... */
  categories?: { value: string | null; real: number; synth: number }[];
  /** ... or a 30-bin histogram over both sides' range (shares of non-NULL values). */
  histogram?: { lo: number; hi: number; real: number; synth: number }[];
}

/** Metrics of one pair of columns. */
export interface PairFidelity {
  columns: [string, string];
  /** Pearson's r for two numeric columns, Cramér's V (real deciles for numeric) otherwise. */
  association: {
    measure: "pearson" | "cramers_v";
    real: number | null;
    synth: number | null;
    diff: number | null;
  };
  /** TVD and Jensen-Shannon of the pair's contingency table (numeric columns over the real deciles). */
  tvd: number;
  jsDivergence: number;
  jsDistance: number;
  /** The SDMetrics column-pair metric: CorrelationSimilarity (two numeric) or ContingencySimilarity. */
  metric: "CorrelationSimilarity" | "ContingencySimilarity";
  score: number | null;
  /**
   * Whether the pair counts in SDMetrics' Column Pair Trends average: the real table shows a trend,
   * |Pearson r| > 0.5, or Cramér's V > 0.3 on SDMetrics' binned contingency table (SDMetrics >= 0.2x).
   */
  meetsThreshold: boolean;
}

/** Metrics of a dependency group (2 to 4 columns). */
export interface GroupFidelity {
  columns: string[];
  tvd: number;
  jsDivergence: number;
  jsDistance: number;
}

export interface FidelityResult {
  rows: { real: number; synth: number };
  columns: ColumnFidelity[];
  pairs: PairFidelity[];
  groups: GroupFidelity[];
  /**
   * SDMetrics QualityReport: Column Shapes, Column Pair Trends (pairs that meet the real-trend threshold),
   * and their mean; `columnPairTrendsAllPairs` averages every pair, as SDMetrics did before thresholds.
   */
  scores: {
    columnShapes: number | null;
    columnPairTrends: number | null;
    columnPairTrendsAllPairs: number | null;
    quality: number | null;
  };
}

export interface FidelityOptions {
  /** The views of these tables are already built (prepareViews); evaluateSynthetic builds them once. */
  prepared?: boolean;

  /** Table or view names in `db`, in the user's types. */
  real: string;
  synth: string;
  /** The real table's profile (profileColumns): which columns to compare and how. */
  profiles: ColumnProfile[];
  /** Dependency groups (2 to 4 columns each) to compare as joint tables; every pair is compared anyway. */
  groups?: string[][];
  /** Compare every pair of columns (default true); wide tables may turn it off. */
  pairs?: boolean;
}

/** Bins of the report's histograms; SDMetrics bins numeric columns into 10 for ContingencySimilarity. */
const HISTOGRAM_BINS = 30;
const SDMETRICS_BINS = 10;
const CHART_CATEGORIES = 30;
/** SDMetrics' QualityReport counts a pair only when the real table shows a trend this strong. */
const CORRELATION_THRESHOLD = 0.5;
const ASSOCIATION_THRESHOLD = 0.3;

/**
 * Compares the synthetic table with the real one: per column TVD, Jensen-Shannon, Wasserstein-1 and
 * Kolmogorov-Smirnov; per pair association (real, synthetic, difference) and contingency TVD; per group
 * TVD and Jensen-Shannon; and the SDMetrics quality score.
 *
 * @example
 * const profiles = await profileColumns(db, await readSource(db, spec));
 * const f = await evaluateFidelity(db, { real: "synthor_real", synth: "synthetic", profiles });
 * f.scores.quality // 0.93
 */
export async function evaluateFidelity(db: Db, options: FidelityOptions): Promise<FidelityResult> {
  const columns = evalColumns(options.profiles);
  const tables = { real: options.real, synth: options.synth };
  throwIfProblems(groupProblems(options.groups ?? [], columns));
  if (!options.prepared) await prepareViews(db, tables, columns);
  const rows = await rowCounts(db, tables);

  const marginals = columns.map((c) => [c.name]);
  const pairList = options.pairs === false ? [] : pairsOf(columns);
  const order = columns.map((c) => c.name);
  const groups = (options.groups ?? []).map((g) => inOrder(g, order));
  const units = await unitIds(db, [...marginals, ...pairList.map((p) => [p[0].name, p[1].name]), ...groups]);

  // Count tables of every unit over the decile codes; TVD and Jensen-Shannon for all of them at once.
  await countInto(db, "synthor_eval_counts", units, (side) => views(side).codes);
  const tvd = await byUnit(db, "tvd", "synthor_eval_counts", (r) => r.tvd as number);
  const jsd = await byUnit(db, "eval_jsd", "synthor_eval_counts", (r): [number, number] => [
    r.js_divergence as number,
    r.js_distance as number,
  ]);
  const idOf = (cols: string[]) => units.get(JSON.stringify(cols)) as string;

  // SDMetrics' TVComplement leaves NULLs out; its ContingencySimilarity bins numeric columns its own way.
  await db.exec(
    `create or replace temp view synthor_eval_counts_nonnull_real as
       select * from synthor_eval_counts_real where list_count(cell) = len(cell);
     create or replace temp view synthor_eval_counts_nonnull_synth as
       select * from synthor_eval_counts_synth where list_count(cell) = len(cell);`,
    "create non-NULL count views",
  );
  const tvdNonNull = await byUnit(db, "tvd", "synthor_eval_counts_nonnull", (r) => r.tvd as number);
  const sdmPairs = pairList.filter(([a, b]) => !(a.kind === "numeric" && b.kind === "numeric"));
  if (sdmPairs.length > 0) await sdmetricsCodeViews(db, columns);
  const sdmKeys = new Set(sdmPairs.map(([a, b]) => JSON.stringify([a.name, b.name])));
  const sdmUnits = new Map([...units].filter(([key]) => sdmKeys.has(key)));
  await countInto(db, "synthor_eval_sdm_counts", sdmUnits, (side) => `synthor_eval_sdm_${side}`);
  const sdmTvd = await byUnit(db, "tvd", "synthor_eval_sdm_counts", (r) => r.tvd as number);
  // Cramér's V of every pair that is not two numeric columns, on both sides and on SDMetrics' view of the
  // real table, a few statements per table (measureAssociations): a query per pair and table took 127 s
  // of a 193 s eval of 100 columns.
  const nominal = sdmPairs.map(([a, b]) => [a.name, b.name] as [string, string]);
  const cramersV = async (table: string) =>
    new Map((await measureAssociations(db, table, nominal)).map((p) => [idOf([p.a, p.b]), p.cramersV]));
  const vReal = await cramersV(views("real").codes);
  const vSynth = await cramersV(views("synth").codes);
  const vTrend = await cramersV("synthor_eval_sdm_real");

  const shares = await categoryShares(db);
  const columnResults: ColumnFidelity[] = [];
  for (const c of columns) {
    const id = idOf([c.name]);
    const [jsDivergence, jsDistance] = jsd.get(id) ?? [Math.LN2, Math.sqrt(Math.LN2)];
    const nulls = await nullShares(db, c.name);
    const result: ColumnFidelity = {
      column: c.name,
      kind: c.kind,
      datetime: c.datetime,
      realNullShare: nulls.real,
      synthNullShare: nulls.synth,
      tvd: tvd.get(id) ?? 1,
      jsDivergence,
      jsDistance,
      w1: null,
      ks: null,
      metric: c.kind === "numeric" ? "KSComplement" : "TVComplement",
      score: null,
    };
    if (c.kind === "numeric") {
      const params = { real: views("real").model, synth: views("synth").model, column: c.name };
      const [w] = await db.query<{ w1: number | null }>("eval_wasserstein", params);
      const [k] = await db.query<{ ks: number | null }>("eval_ks", params);
      result.w1 = w?.w1 ?? null;
      result.ks = k?.ks ?? null;
      result.score = result.ks === null ? null : 1 - result.ks;
      const bins = await db.query<{ lo: number; hi: number; real_share: number; synth_share: number }>(
        "eval_histogram",
        { ...params, bins: HISTOGRAM_BINS },
      );
      result.histogram = bins.map((b) => ({ lo: b.lo, hi: b.hi, real: b.real_share, synth: b.synth_share }));
    } else {
      const nonNull = tvdNonNull.get(id);
      result.score = nonNull === undefined || nulls.real === 1 || nulls.synth === 1 ? null : 1 - nonNull;
      result.categories = shares.get(id) ?? [];
    }
    columnResults.push(result);
  }

  const pairResults: PairFidelity[] = [];
  for (const [a, b] of pairList) {
    const id = idOf([a.name, b.name]);
    const [jsDivergence, jsDistance] = jsd.get(id) ?? [Math.LN2, Math.sqrt(Math.LN2)];
    const bothNumeric = a.kind === "numeric" && b.kind === "numeric";
    const association = bothNumeric
      ? await pearson(db, a.name, b.name)
      : sides("cramers_v", finite(vReal.get(id)), finite(vSynth.get(id)));
    const contingency = sdmTvd.get(id);
    const realTrend = bothNumeric ? association.real : finite(vTrend.get(id));
    pairResults.push({
      columns: [a.name, b.name],
      association,
      tvd: tvd.get(id) ?? 1,
      jsDivergence,
      jsDistance,
      metric: bothNumeric ? "CorrelationSimilarity" : "ContingencySimilarity",
      score: bothNumeric
        ? association.real === null || association.synth === null
          ? null
          : 1 - Math.abs(association.real - association.synth) / 2
        : contingency === undefined
          ? null
          : 1 - contingency,
      meetsThreshold:
        realTrend !== null &&
        (bothNumeric ? Math.abs(realTrend) > CORRELATION_THRESHOLD : realTrend > ASSOCIATION_THRESHOLD),
    });
  }

  const groupResults: GroupFidelity[] = groups.map((g) => {
    const id = idOf(g);
    const [jsDivergence, jsDistance] = jsd.get(id) ?? [Math.LN2, Math.sqrt(Math.LN2)];
    return { columns: g, tvd: tvd.get(id) ?? 1, jsDivergence, jsDistance };
  });

  const columnShapes = mean(columnResults.map((c) => c.score));
  const columnPairTrends = mean(pairResults.filter((p) => p.meetsThreshold).map((p) => p.score));
  return {
    rows: { real: rows.real, synth: rows.synth },
    columns: columnResults,
    pairs: pairResults,
    groups: groupResults,
    scores: {
      columnShapes,
      columnPairTrends,
      columnPairTrendsAllPairs: mean(pairResults.map((p) => p.score)),
      quality: mean([columnShapes, columnPairTrends]),
    },
  };
}

/** Every pair of columns, in table order. */
function pairsOf(columns: EvalColumn[]): [EvalColumn, EvalColumn][] {
  const out: [EvalColumn, EvalColumn][] = [];
  for (let i = 0; i < columns.length; i++) {
    for (let j = i + 1; j < columns.length; j++)
      out.push([columns[i] as EvalColumn, columns[j] as EvalColumn]);
  }
  return out;
}

function inOrder(group: string[], order: string[]): string[] {
  return [...new Set(group)].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** Problems with --group: 2 to 4 distinct columns that are compared. */
export function groupProblems(groups: string[][], columns: EvalColumn[]): Problem[] {
  const known = new Set(columns.map((c) => c.name));
  const problems: Problem[] = [];
  for (const group of groups) {
    const label = group.join(",");
    const distinct = new Set(group);
    const size = groupSizeProblem(group);
    if (size) problems.push(size);
    for (const name of distinct) {
      if (!known.has(name)) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `group ${label} names column "${name}", which is not compared`,
          hint: unknownColumnHint(name, [...known], "the compared columns are"),
          subject: name,
        });
      }
    }
  }
  return problems;
}

/**
 * The key each unit has in the count tables: its columns as DuckDB's to_json writes them (the `unit`
 * column of synthor_contingency), keyed by JSON.stringify(columns).
 */
async function unitIds(db: Db, units: string[][]): Promise<Map<string, string>> {
  const distinct = [...new Map(units.map((columns) => [JSON.stringify(columns), columns])).values()];
  const ids = await unitIdsOf(db, distinct);
  return new Map(distinct.map((columns, k) => [JSON.stringify(columns), ids[k] as string]));
}

/** Fills `<prefix>_real` and `<prefix>_synth` with the count table (unit, cell, n) of every unit. */
async function countInto(
  db: Db,
  prefix: string,
  units: Map<string, string>,
  source: (side: "real" | "synth") => string,
): Promise<void> {
  for (const side of ["real", "synth"] as const) {
    const target = quoteIdent(`${prefix}_${side}`);
    await db.exec(
      `create or replace temp table ${target} (unit varchar, cell varchar[], n bigint)`,
      "create counts",
    );
    const columns = [...units.keys()].map((key) => JSON.parse(key) as string[]);
    await countUnitSets(db, `${prefix}_${side}`, [
      { codes: source(side), units: columns.map((c) => ({ id: "", columns: c })), prefix: "" },
    ]);
  }
}

/** Runs a per-unit query file over `<prefix>_real` and `<prefix>_synth` and maps unit -> value. */
async function byUnit<T>(
  db: Db,
  file: string,
  prefix: string,
  pick: (row: Record<string, unknown>) => T,
): Promise<Map<string, T>> {
  const rows = await db.query(file, { real: `${prefix}_real`, synth: `${prefix}_synth` });
  return new Map(rows.map((r) => [r.unit as string, pick(r)]));
}

async function nullShares(db: Db, column: string): Promise<{ real: number; synth: number }> {
  const out = { real: 0, synth: 0 };
  for (const side of ["real", "synth"] as const) {
    const [row] = await db.all<{ share: number | null }>(
      `select avg((${quoteIdent(column)} is null)::int) as share from ${quoteIdent(views(side).model)}`,
      {},
      "null share",
    );
    out[side] = row?.share ?? 0;
  }
  return out;
}

type Shares = { value: string | null; real: number; synth: number }[];

/** Per one-column unit: real and synthetic shares of its values, most frequent real values first. */
async function categoryShares(db: Db): Promise<Map<string, Shares>> {
  const rows = await db.query<{
    unit: string;
    cell: (string | null)[];
    real_share: number;
    synth_share: number;
  }>("gaps", { real: "synthor_eval_counts_real", synth: "synthor_eval_counts_synth" });
  const out = new Map<string, Shares>();
  for (const r of rows) {
    if (r.cell.length !== 1) continue;
    const list = out.get(r.unit) ?? [];
    list.push({ value: r.cell[0] ?? null, real: r.real_share, synth: r.synth_share });
    out.set(r.unit, list);
  }
  for (const [unit, list] of out) {
    list.sort(
      (a, b) => b.real - a.real || b.synth - a.synth || String(a.value).localeCompare(String(b.value)),
    );
    out.set(unit, list.slice(0, CHART_CATEGORIES));
  }
  return out;
}

async function pearson(db: Db, a: string, b: string): Promise<PairFidelity["association"]> {
  const of = async (side: "real" | "synth") =>
    finite(
      (await db.query("eval_correlation", { table: views(side).model, column_a: a, column_b: b }))[0]
        ?.pearson,
    );
  return sides("pearson", await of("real"), await of("synth"));
}

/** An association measured on both sides, and the synthetic side's difference from the real one. */
function sides(
  measure: PairFidelity["association"]["measure"],
  real: number | null,
  synth: number | null,
): PairFidelity["association"] {
  return { measure, real, synth, diff: real === null || synth === null ? null : synth - real };
}

function finite(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

/**
 * SDMetrics' discrete view of each side for ContingencySimilarity: numeric columns cut into 10
 * equal-width bins over that side's own range and numbered as numpy.digitize numbers them (values below
 * the first edge 0, the maximum and NULL 11), categorical columns as they are. SDMetrics' QualityReport
 * bins each table on its own range; doing the same keeps the scores comparable.
 */
async function sdmetricsCodeViews(db: Db, columns: EvalColumn[]): Promise<void> {
  await db.exec(
    `create or replace temp table synthor_eval_sdm_edges (side varchar, "column" varchar, edges double[])`,
    "create SDMetrics edges",
  );
  for (const side of ["real", "synth"] as const) {
    for (const c of columns) {
      if (c.kind !== "numeric") continue;
      const [row] = await db.query<{ edges: number[] }>("eval_equal_width_edges", {
        table: views(side).model,
        column: c.name,
        bins: SDMETRICS_BINS,
      });
      await db.exec("insert into synthor_eval_sdm_edges values ($side, $column, $edges)", "store edges", {
        side,
        column: c.name,
        edges: doubleList(row?.edges ?? []),
      });
    }
    // The edges from one joined row, not a scalar subquery per column: DuckDB counts every subquery of
    // a select list towards its expression depth limit (1000).
    const edges: string[] = [];
    const select = columns
      .map((c) => {
        const q = quoteIdent(c.name);
        if (c.kind === "categorical") return `synthor_rows.${q} as ${q}`;
        const k = edges.push(
          `first(edges) filter (where side = ${quoteLiteral(side)} and "column" = ${quoteLiteral(c.name)}) as e${edges.length}`,
        );
        const x = `synthor_rows.${q}`;
        return `(case when ${x} is null then ${SDMETRICS_BINS + 1} else len(list_filter(synthor_edges_row.e${k - 1}, e -> e <= ${x})) end)::varchar as ${q}`;
      })
      .join(", ");
    const from = [`${quoteIdent(views(side).model)} as synthor_rows`];
    if (edges.length)
      from.push(`(select ${edges.join(", ")} from synthor_eval_sdm_edges) as synthor_edges_row`);
    await db.exec(
      `create or replace temp table ${quoteIdent(`synthor_eval_sdm_${side}`)} as select ${select} from ${from.join(", ")}`,
      "create SDMetrics code view",
    );
  }
}

/** The mean of the values that are numbers (NaN-skipping, as pandas and np.nanmean average). */
export function mean(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length;
}
