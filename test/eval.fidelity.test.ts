/**
 * Fidelity on a small mixed table (test/fixtures/eval: real.csv and synth.csv, 100 rows each, with a
 * NULL-bearing category, a float with NULLs, a date and a hostile column name), checked against
 * independent computations made once in Python and pasted here:
 *   scipy.stats.wasserstein_distance / ks_2samp on each numeric column's non-NULL values (dates as
 *   seconds), scipy.spatial.distance.jensenshannon and 0.5 * sum |p - q| on value_counts(normalize=True)
 *   of each categorical column as text (NULL a value), and SDMetrics 0.32 QualityReport with metadata
 *   age, income numerical, joined datetime, the others categorical (get_score, get_properties,
 *   get_details).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { InputProblems } from "../src/errors.ts";
import { evaluateFidelity, type FidelityResult } from "../src/evaluate/fidelity.ts";
import type { ColumnProfile } from "../src/profile.ts";
import { loadPair } from "./fixtures/eval/load.ts";

const HOSTILE = 'a"; drop table x; --';

/** scipy on the fixture files (see the header). */
const SCIPY = {
  age: { w1: 1.7499999999999998, ks: 0.08 },
  income: { w1: 357.1736983026536, ks: 0.2390628735357399 },
  joined: { w1: 5235840.0, ks: 0.15 },
  city: { tvd: 0.04, jsDistance: 0.0442464842515532 },
  plan: { tvd: 0.09, jsDistance: 0.06371156416677858 },
  [HOSTILE]: { tvd: 0.05, jsDistance: 0.035364483323360785 },
  churn: { tvd: 0.04, jsDistance: 0.03032437310814226 },
} as Record<string, { w1?: number; ks?: number; tvd?: number; jsDistance?: number }>;

/** SDMetrics 0.32 QualityReport on the fixture files (see the header). */
const SDMETRICS = {
  quality: 0.815568795076574,
  columnShapes: 0.9060954846591616,
  columnPairTrends: 0.7250421054939865,
  shapes: {
    age: 0.92,
    income: 0.760937,
    joined: 0.85,
    city: 0.991731,
    plan: 0.91,
    [HOSTILE]: 0.95,
    churn: 0.96,
  } as Record<string, number>,
  /** Pairs that meet the threshold, with their score; the others are NaN in SDMetrics. */
  pairs: {
    "age|income": 0.8754631604338514,
    "age|plan": 0.72,
    [`age|${HOSTILE}`]: 0.76,
    "age|churn": 0.76,
    "income|plan": 0.67,
    "income|churn": 0.64,
    "joined|city": 0.64,
    "joined|plan": 0.67,
    [`joined|${HOSTILE}`]: 0.68,
    "joined|churn": 0.66,
    [`city|${HOSTILE}`]: 0.9,
  } as Record<string, number>,
};

/** scipy.stats.pearsonr after dropna, real and synthetic. */
const PEARSON = {
  "age|income": [0.6671771560039537, 0.4181034768716566],
  "age|joined": [0.028779268111293117, 0.12358205460960861],
  "income|joined": [0.060075203421983164, -0.054149019833325505],
} as Record<string, [number, number]>;

let db: Db;
let profiles: ColumnProfile[];
let result: FidelityResult;

beforeAll(async () => {
  ({ db, profiles } = await loadPair());
  result = await evaluateFidelity(db, {
    real: "real",
    synth: "synth",
    profiles,
    groups: [["plan", "churn", "city"]],
  });
});

afterAll(() => db?.close());

describe("evaluateFidelity", () => {
  it("matches scipy's Wasserstein-1 and KS on numeric columns (dates in seconds)", () => {
    for (const name of ["age", "income", "joined"]) {
      const c = result.columns.find((x) => x.column === name);
      expect(c?.kind).toBe("numeric");
      expect(c?.w1).toBeCloseTo(SCIPY[name]?.w1 ?? Number.NaN, 8);
      expect(c?.ks).toBeCloseTo(SCIPY[name]?.ks ?? Number.NaN, 12);
    }
    expect(result.columns.find((x) => x.column === "joined")?.datetime).toBe(true);
  });

  it("matches TVD and scipy's Jensen-Shannon distance on categorical columns, NULL a category", () => {
    for (const name of ["city", "plan", HOSTILE, "churn"]) {
      const c = result.columns.find((x) => x.column === name);
      expect(c?.tvd).toBeCloseTo(SCIPY[name]?.tvd ?? Number.NaN, 12);
      expect(c?.jsDistance).toBeCloseTo(SCIPY[name]?.jsDistance ?? Number.NaN, 10);
      expect(c?.jsDivergence).toBeCloseTo((SCIPY[name]?.jsDistance ?? Number.NaN) ** 2, 10);
    }
    const city = result.columns.find((x) => x.column === "city");
    expect(city?.realNullShare).toBeCloseTo(0.14, 12);
    expect(city?.categories?.map((x) => x.value)).toContain(null);
  });

  it("gives SDMetrics' QualityReport scores", () => {
    expect(result.scores.quality).toBeCloseTo(SDMETRICS.quality, 12);
    expect(result.scores.columnShapes).toBeCloseTo(SDMETRICS.columnShapes, 12);
    expect(result.scores.columnPairTrends).toBeCloseTo(SDMETRICS.columnPairTrends, 12);
    for (const c of result.columns) {
      expect(c.score, c.column).toBeCloseTo(SDMETRICS.shapes[c.column] ?? Number.NaN, 6);
      expect(c.metric).toBe(c.kind === "numeric" ? "KSComplement" : "TVComplement");
    }
  });

  it("scores every pair and marks the pairs SDMetrics counts", () => {
    expect(result.pairs).toHaveLength(21);
    for (const p of result.pairs) {
      // SDMetrics lists pairs in its metadata's order, which put joined before city.
      const key = p.columns.join("|");
      const expected = SDMETRICS.pairs[key] ?? SDMETRICS.pairs[[...p.columns].reverse().join("|")];
      expect(p.meetsThreshold, key).toBe(expected !== undefined);
      if (expected !== undefined) expect(p.score, key).toBeCloseTo(expected, 12);
    }
  });

  it("measures association with Pearson's r for numeric pairs and Cramér's V otherwise", () => {
    for (const [key, [real, synth]] of Object.entries(PEARSON)) {
      const p = result.pairs.find((x) => x.columns.join("|") === key);
      expect(p?.association.measure).toBe("pearson");
      expect(p?.association.real).toBeCloseTo(real, 12);
      expect(p?.association.synth).toBeCloseTo(synth, 12);
      expect(p?.association.diff).toBeCloseTo(synth - real, 12);
      expect(p?.metric).toBe("CorrelationSimilarity");
    }
    const mixed = result.pairs.find((x) => x.columns.join("|") === "age|city");
    expect(mixed?.association.measure).toBe("cramers_v");
    expect(mixed?.metric).toBe("ContingencySimilarity");
  });

  it("compares dependency groups jointly", () => {
    expect(result.groups).toHaveLength(1);
    const g = result.groups[0];
    // Columns come back in table order.
    expect(g?.columns).toEqual(["city", "plan", "churn"]);
    expect(g?.tvd).toBeGreaterThan(0);
    expect(g?.tvd).toBeLessThanOrEqual(1);
    expect(g?.jsDistance).toBeCloseTo(Math.sqrt(g?.jsDivergence ?? 0), 12);
  });

  it("is 0 everywhere and 1 as a score against itself", async () => {
    const same = await evaluateFidelity(db, { real: "real", synth: "real", profiles, pairs: false });
    for (const c of same.columns) {
      expect(c.tvd).toBe(0);
      expect(c.jsDivergence).toBe(0);
      if (c.kind === "numeric") expect([c.w1, c.ks]).toEqual([0, 0]);
      expect(c.score).toBe(1);
    }
  });

  it("names unknown group columns and wrong group sizes together", async () => {
    const run = evaluateFidelity(db, {
      real: "real",
      synth: "synth",
      profiles,
      groups: [["plan"], ["plan", "nope"]],
    });
    await expect(run).rejects.toThrow(InputProblems);
    await expect(run).rejects.toThrow(
      /group plan has 1 column; a group takes 2 to 4\n {2}2\. group plan,nope names column "nope", which is not compared/,
    );
  });
});
