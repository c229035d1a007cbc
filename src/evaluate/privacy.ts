/**
 * Privacy: does the synthetic table copy real rows? Two checks:
 * - exact matches: the share of synthetic rows identical to a real row in every compared column
 *   (sql/eval_exact_matches.sql), beside the same share for real holdout rows when there is a holdout;
 * - distance to closest record (DCR): for a sample of synthetic rows, the distance to the nearest real
 *   row, as SDMetrics measures it (mean over columns of |x - y| / range for numbers, capped at 1, and
 *   0/1 mismatch for categories; NULL equals NULL and is 1 from a value). The same for a baseline: real
 *   holdout rows, or without a holdout, real rows against the other real rows. Synthetic rows much closer
 *   to the real ones than real rows are to each other were likely copied, and raise a warning;
 * - near copies: the share of rows within a small distance of a real row, synthetic beside baseline, and
 *   the same measures for the rows that carry a rare category (a value fewer than min-cell real rows
 *   hold): such a row is where a near copy gives a real row away, and a real holdout rarely has one close.
 *
 * The nearest-neighbour search is TypeScript: it is a search with early exit, not an aggregation, and a
 * cross join in DuckDB took 3 to 8 s for what this does in well under one.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { SqlError } from "../errors.ts";
import type { ColumnProfile } from "../profile.ts";
import { type EvalColumn, evalColumns, prepareViews, type Side, views } from "./tables.ts";

export interface Percentiles {
  /** Rows measured. */
  n: number;
  min: number;
  p05: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
  mean: number;
}

export interface ExactMatches {
  rows: number;
  matches: number;
  share: number | null;
}

export interface PrivacyResult {
  /** Synthetic rows identical to a real row. */
  exactMatches: ExactMatches;
  /** Holdout rows identical to a real row: what a fresh real sample shows (only with a holdout). */
  holdoutExactMatches: ExactMatches | null;
  dcr: {
    /** DCR of sampled synthetic rows to the real table, in [0, 1]. */
    synth: Percentiles;
    /** DCR of the baseline rows to the real table. */
    baseline: Percentiles;
    baselineKind: "holdout" | "real";
    /** Share of synthetic rows closer to the real table than the baseline's 5th percentile (about 0.05 when nothing is copied). */
    closerThanBaselineP05: number;
    /** Share of sampled synthetic rows at distance 0 (identical in every compared column). */
    zeroShare: number;
    /** Rows within `distance` of a real row: near copies, synthetic beside baseline. */
    nearCopies: { distance: number; synth: number; baseline: number };
  } | null;
  /** The rows carrying a rare category (fewer than `minCell` real rows hold it), and how close they come. */
  rare: RareRows | null;
  warnings: string[];
}

/** DCR of the rows that carry at least one rare category, synthetic beside baseline. */
export interface RareRows {
  minCell: number;
  /** Distinct rare categories (over all categorical columns) in the real table. */
  values: number;
  /** Synthetic rows carrying one, all of them measured (at most `sample`). */
  synthRows: number;
  synth: Percentiles | null;
  /** Of those, within the near-copy distance of a real row. */
  synthNearCopies: number;
  /** Baseline rows carrying one (a category fewer than minCell real rows hold, or none). */
  baselineRows: number;
  baseline: Percentiles | null;
  baselineNearCopies: number;
}

/** A row this close to a real row (mean per-column distance, see nearest) counts as a near copy. */
export const NEAR_COPY_DISTANCE = 0.01;

export interface PrivacyOptions {
  /** The views of these tables are already built (prepareViews); evaluateSynthetic builds them once. */
  prepared?: boolean;

  real: string;
  synth: string;
  holdout?: string | undefined;
  profiles: ColumnProfile[];
  /** Rows sampled from each side for DCR (default 2000). */
  sample?: number;
  seed?: number;
  /** A category fewer than this many real rows hold is rare (default 5, as synth --min-cell). */
  minCell?: number;
  /** Distance under which a row is a near copy of a real row (default NEAR_COPY_DISTANCE). */
  nearCopy?: number;
}

/**
 * Exact matches and distance to closest record of the synthetic table, beside a real baseline.
 *
 * @example const p = await evaluatePrivacy(db, { real: "r", synth: "s", holdout: "h", profiles });
 * p.exactMatches.share // 0.001
 */
export async function evaluatePrivacy(db: Db, options: PrivacyOptions): Promise<PrivacyResult> {
  const columns = evalColumns(options.profiles);
  const tables = { real: options.real, synth: options.synth, holdout: options.holdout };
  if (!options.prepared) await prepareViews(db, tables, columns);
  const exact = async (side: Side): Promise<ExactMatches> => {
    const [row] = await db.query<{ rows: number; matches: number; share: number | null }>(
      "eval_exact_matches",
      {
        real: views("real").model,
        synth: views(side).model,
      },
    );
    return { rows: row?.rows ?? 0, matches: row?.matches ?? 0, share: row?.share ?? null };
  };
  const exactMatches = await exact("synth");
  const holdoutExactMatches = options.holdout !== undefined ? await exact("holdout") : null;

  const sample = options.sample ?? 2000;
  const seed = options.seed ?? 0;
  const minCell = options.minCell ?? 5;
  const near = options.nearCopy ?? NEAR_COPY_DISTANCE;
  const realValues = await readColumns(db, "real", columns, null, seed);
  const scales = scalesOf(realValues, columns);
  // Each side twice: numbers scaled by the real range (DCR, as SDMetrics), and by their rank in the real
  // column (near copies: one outlier stretches the range and makes every other row look close).
  const encode = (values: unknown[][]): Both => ({
    range: encodeRows(values, scales, false),
    rank: encodeRows(values, scales, true),
  });
  const reference = encode(realValues);
  const load = async (side: Side, limit: number | null = sample) =>
    encode(await readColumns(db, side, columns, limit, seed));
  const k = columns.length;
  const both = (query: Both, self: Int32Array | null) => ({
    dcr: nearest(query.range, reference.range, k, self),
    near: nearest(query.rank, reference.rank, k, self),
  });
  const synthD = both(await load("synth"), null);
  let baselineD: { dcr: Float64Array; near: Float64Array };
  let baselineKind: "holdout" | "real";
  // Rows carrying a rare category: every synthetic one (up to `sample`), and the baseline's.
  const realCounts = categoryCounts(reference.range);
  const rareRows = (rows: Both) => {
    const which = rareRowsOf(rows.range, realCounts, minCell, sample);
    const range = pick(rows.range, which);
    return {
      rows: { range: range.rows, rank: pick(rows.rank, which).rows },
      at: range.at,
      total: which.total,
    };
  };
  const synthRare = rareRows(await load("synth", null));
  const synthRareD = both(synthRare.rows, null);
  let baselineRareD: { dcr: Float64Array; near: Float64Array };
  if (options.holdout !== undefined) {
    baselineD = both(await load("holdout"), null);
    baselineKind = "holdout";
    baselineRareD = both(rareRows(await load("holdout", null)).rows, null);
  } else {
    // The first rows of the seeded order are the sample; each is measured against the others.
    const first = { range: slice(reference.range, sample), rank: slice(reference.rank, sample) };
    baselineD = both(
      first,
      Int32Array.from({ length: first.range.n }, (_, i) => i),
    );
    baselineKind = "real";
    const rare = rareRows(reference);
    baselineRareD = both(rare.rows, rare.at);
  }
  const synthDcr = synthD.dcr;
  const baselineDcr = baselineD.dcr;
  const warnings: string[] = [];
  const nearShare = (d: Float64Array) => (d.length > 0 ? d.filter((x) => x < near).length / d.length : 0);
  let dcr: PrivacyResult["dcr"] = null;
  if (synthDcr.length > 0 && baselineDcr.length > 0) {
    const synth = percentiles(synthDcr);
    const baseline = percentiles(baselineDcr);
    const closer = synthDcr.filter((d) => d < baseline.p05).length / synthDcr.length;
    const zeroShare = synthDcr.filter((d) => d === 0).length / synthDcr.length;
    const nearCopies = { distance: near, synth: nearShare(synthD.near), baseline: nearShare(baselineD.near) };
    dcr = { synth, baseline, baselineKind, closerThanBaselineP05: closer, zeroShare, nearCopies };
    const what = baselineKind === "holdout" ? "holdout rows are" : "real rows are to each other";
    if (synth.p05 < baseline.p05 || synth.p50 < baseline.p50) {
      warnings.push(
        `synthetic rows are closer to real rows than ${what}: DCR 5th percentile ${fmt(synth.p05)} vs ${fmt(baseline.p05)}, median ${fmt(synth.p50)} vs ${fmt(baseline.p50)}; some rows may be copies`,
      );
    }
  }
  if (holdoutExactMatches && (holdoutExactMatches.share ?? 0) > 0.5) {
    warnings.push(
      `${holdoutExactMatches.matches} of ${holdoutExactMatches.rows} holdout rows are identical to real rows: the holdout overlaps the real table, so it is no baseline; hold rows out before running synthor synth and pass them with --holdout`,
    );
  }
  const rare: RareRows = {
    minCell,
    values: realCounts.reduce((a, c) => a + [...c.values()].filter((n) => n < minCell).length, 0),
    synthRows: synthRare.total,
    synth: synthRareD.dcr.length > 0 ? percentiles(synthRareD.dcr) : null,
    synthNearCopies: synthRareD.near.filter((d) => d < near).length,
    baselineRows: baselineRareD.dcr.length,
    baseline: baselineRareD.dcr.length > 0 ? percentiles(baselineRareD.dcr) : null,
    baselineNearCopies: baselineRareD.near.filter((d) => d < near).length,
  };
  const baseShare = holdoutExactMatches?.share ?? null;
  if ((exactMatches.share ?? 0) > 0 && (baseShare === null || (exactMatches.share ?? 0) > baseShare)) {
    warnings.push(
      `${exactMatches.matches} synthetic rows (${fmt(100 * (exactMatches.share ?? 0))}%) are identical to a real row${baseShare === null ? "" : ` (holdout rows: ${fmt(100 * baseShare)}%)`}`,
    );
  }
  // More near copies than the baseline by over two standard errors of the difference (sampling noise).
  const nearExcess = (n: { synth: number; baseline: number }) =>
    n.synth - n.baseline >
    2 *
      Math.sqrt(
        (n.synth * (1 - n.synth)) / Math.max(1, synthDcr.length) +
          (n.baseline * (1 - n.baseline)) / Math.max(1, baselineDcr.length),
      );
  if (dcr && nearExcess(dcr.nearCopies)) {
    warnings.push(
      `${fmt(100 * dcr.nearCopies.synth)}% of sampled synthetic rows are within ${fmt(near)} of a real row (${baselineKind === "holdout" ? "holdout" : "real"} rows: ${fmt(100 * dcr.nearCopies.baseline)}%): near copies`,
    );
  }
  if (rare.synthNearCopies > 0) {
    warnings.push(
      `${rare.synthNearCopies} synthetic row${rare.synthNearCopies === 1 ? "" : "s"} with a category fewer than ${minCell} real rows hold ${rare.synthNearCopies === 1 ? "is" : "are"} within ${fmt(near)} of a real row (${baselineKind === "holdout" ? "holdout" : "real"} rows: ${rare.baselineNearCopies} of ${rare.baselineRows}): likely copies of rare real rows`,
    );
  }
  return { exactMatches, holdoutExactMatches, dcr, rare, warnings };
}

function fmt(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

/** Rows in a form the search reads fast: numbers scaled by the real range, categories as codes. */
interface Rows {
  n: number;
  /** Per numeric column: value scaled by the real range (NaN for NULL). */
  numbers: Float64Array[];
  /** Per categorical column: a code per value (-1 for NULL), shared by every side. */
  categories: Int32Array[];
}

/**
 * How the reference side (real) fixes the distance: per numeric column its minimum and range (SDMetrics
 * scales by the reference's range; a column constant there compares by equality, as a category), and
 * one dictionary of category codes per categorical column, shared by all sides.
 */
interface Scales {
  /** Numeric columns: range scaling, and the sorted real values for ranks. */
  numeric: { column: number; min: number; range: number; sorted: Float64Array }[];
  categorical: { column: number; codes: Map<string, number> }[];
}

/** A side encoded both ways: numbers by the real range (DCR) and by their real rank (near copies). */
interface Both {
  range: Rows;
  rank: Rows;
}

async function readColumns(db: Db, side: Side, columns: EvalColumn[], limit: number | null, seed: number) {
  const list = columns.map((c) => quoteIdent(c.name)).join(", ");
  const sql = `select ${list} from ${quoteIdent(views(side).model)} as t order by hash(t, $seed), t${limit === null ? "" : " limit $limit"}`;
  try {
    const reader = await db.connection.runAndReadAll(sql, limit === null ? { seed } : { seed, limit });
    return reader.getColumnsJS() as unknown[][];
  } catch (err) {
    throw new SqlError(`sample ${side} rows`, err);
  }
}

function scalesOf(values: unknown[][], columns: EvalColumn[]): Scales {
  const scales: Scales = { numeric: [], categorical: [] };
  columns.forEach((c, j) => {
    if (c.kind === "numeric") {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const v of values[j] ?? []) {
        if (typeof v !== "number") continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (hi > lo) {
        const sorted = Float64Array.from(
          (values[j] ?? []).filter((v): v is number => typeof v === "number"),
        ).sort();
        scales.numeric.push({ column: j, min: lo, range: hi - lo, sorted });
        return;
      }
    }
    scales.categorical.push({ column: j, codes: new Map() });
  });
  return scales;
}

/** The mid-rank of x among the sorted real values, in [0, 1]: (values below + half the values equal) / n. */
export function rankOf(sorted: Float64Array, x: number): number {
  const bound = (strict: boolean) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const v = sorted[mid] as number;
      if (strict ? v < x : v <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const below = bound(true);
  return sorted.length > 0 ? (below + (bound(false) - below) / 2) / sorted.length : 0;
}

function encodeRows(values: unknown[][], scales: Scales, byRank: boolean): Rows {
  const n = values[0]?.length ?? 0;
  const numbers = scales.numeric.map(({ column, min, range, sorted }) =>
    Float64Array.from(values[column] ?? [], (v) => {
      if (typeof v !== "number") return Number.NaN;
      return byRank ? rankOf(sorted, v) : (v - min) / range;
    }),
  );
  const categories = scales.categorical.map(({ column, codes }) =>
    Int32Array.from(values[column] ?? [], (v) => {
      if (v === null || v === undefined) return -1;
      const key = String(v);
      let code = codes.get(key);
      if (code === undefined) {
        code = codes.size;
        codes.set(key, code);
      }
      return code;
    }),
  );
  return { n, numbers, categories };
}

function slice(rows: Rows, count: number): Rows {
  const n = Math.min(count, rows.n);
  return {
    n,
    numbers: rows.numbers.map((a) => a.subarray(0, n)),
    categories: rows.categories.map((a) => a.subarray(0, n)),
  };
}

/** Per categorical column (in Scales order), how many rows of `rows` (the real table) hold each code. */
function categoryCounts(rows: Rows): Map<number, number>[] {
  return rows.categories.map((codes) => {
    const counts = new Map<number, number>();
    for (const c of codes) if (c >= 0) counts.set(c, (counts.get(c) ?? 0) + 1);
    return counts;
  });
}

/**
 * The rows carrying a rare category: one fewer than `minCell` real rows hold (none, for a category the
 * real table does not have). The first `limit` of them, and how many there are.
 */
function rareRowsOf(
  rows: Rows,
  real: Map<number, number>[],
  minCell: number,
  limit: number,
): { at: number[]; total: number } {
  const at: number[] = [];
  let total = 0;
  for (let r = 0; r < rows.n; r++) {
    const carries = rows.categories.some((codes, j) => {
      const c = codes[r] ?? -1;
      return c >= 0 && (real[j]?.get(c) ?? 0) < minCell;
    });
    if (!carries) continue;
    total++;
    if (at.length < limit) at.push(r);
  }
  return { at, total };
}

/** The rows at the given positions, and the positions (for nearest's self). */
function pick(
  rows: Rows,
  which: { at: number[]; total: number },
): { rows: Rows; at: Int32Array; total: number } {
  const at = Int32Array.from(which.at);
  return {
    rows: {
      n: at.length,
      numbers: rows.numbers.map((a) => Float64Array.from(at, (i) => a[i] ?? Number.NaN)),
      categories: rows.categories.map((a) => Int32Array.from(at, (i) => a[i] ?? -1)),
    },
    at,
    total: which.total,
  };
}

/**
 * For each query row, the distance to the closest reference row: mean over the k columns of the
 * per-column distance. `self`: query row q is reference row self[q], which is not its own neighbour.
 */
function nearest(query: Rows, reference: Rows, k: number, self: Int32Array | null): Float64Array {
  const out = new Float64Array(query.n);
  const nums = reference.numbers;
  const cats = reference.categories;
  for (let q = 0; q < query.n; q++) {
    const qNum = query.numbers.map((a) => a[q] ?? Number.NaN);
    const qCat = query.categories.map((a) => a[q] ?? -1);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < reference.n && best > 0; r++) {
      if (self !== null && self[q] === r) continue;
      let d = 0;
      for (let j = 0; j < qCat.length && d < best; j++) {
        if ((cats[j] as Int32Array)[r] !== qCat[j]) d += 1;
      }
      for (let j = 0; j < qNum.length && d < best; j++) {
        const x = qNum[j] as number;
        const y = (nums[j] as Float64Array)[r] as number;
        if (Number.isNaN(x) || Number.isNaN(y)) {
          if (Number.isNaN(x) !== Number.isNaN(y)) d += 1;
        } else {
          d += Math.min(Math.abs(x - y), 1);
        }
      }
      if (d < best) best = d;
    }
    out[q] = k > 0 && Number.isFinite(best) ? best / k : 0;
  }
  return out;
}

/** Percentiles as numpy's default (linear interpolation between order statistics). */
export function percentiles(values: Float64Array): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => {
    const x = p * (sorted.length - 1);
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return (sorted[lo] ?? 0) + (x - lo) * ((sorted[hi] ?? 0) - (sorted[lo] ?? 0));
  };
  return {
    n: sorted.length,
    min: sorted[0] ?? 0,
    p05: at(0.05),
    p25: at(0.25),
    p50: at(0.5),
    p75: at(0.75),
    p95: at(0.95),
    mean: sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length),
  };
}
