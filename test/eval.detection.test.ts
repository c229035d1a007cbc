/**
 * The classifiers of src/evaluate/learn.ts and the classifier two-sample test built on them.
 * Logistic regression is checked against sklearn: LogisticRegression(C=1.0, tol=1e-12, max_iter=10000)
 * fitted once in Python on the one-hot encoding of the 40 rows made by `toy()` below; its
 * predict_proba(...)[:, 1] for each (a, b) is pasted in SKLEARN.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { c2st } from "../src/evaluate/detection.ts";
import { type Features, fitForest, fitLogistic, fitTree, rocAuc } from "../src/evaluate/learn.ts";
import type { ColumnProfile } from "../src/profile.ts";
import { loadPair } from "./fixtures/eval/load.ts";

/** 40 rows: a = i % 3, b = floor(i / 3) % 2; label 1 when a = 2, or when i % 5 = 0 and b = 1. */
function toy(): { features: Features; labels: Uint8Array; rows: Int32Array } {
  const n = 40;
  const a = new Uint16Array(n);
  const b = new Uint16Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = i % 3;
    b[i] = Math.floor(i / 3) % 2;
    labels[i] = a[i] === 2 || (i % 5 === 0 && b[i] === 1) ? 1 : 0;
  }
  const features = { names: ["a", "b"], levels: [3, 2], ordinal: [false, false], codes: [a, b], rows: n };
  return { features, labels, rows: Int32Array.from({ length: n }, (_, i) => i) };
}

/** sklearn's probabilities of label 1 for a = 0, 1, 2 (outer) and b = 0, 1 (inner). */
const SKLEARN = [
  [0.11833394041893357, 0.1879587434371838],
  [0.1258322732950587, 0.1988737528550319],
  [0.7947605043281536, 0.8697598772337146],
];

describe("fitLogistic", () => {
  it("reaches the optimum sklearn's LogisticRegression(C=1) reaches", () => {
    const { features, labels, rows } = toy();
    const model = fitLogistic(features, labels, 2, rows);
    for (let i = 0; i < 6; i++) {
      const p = model.predict(features, i)[1] ?? Number.NaN;
      const a = features.codes[0]?.[i] ?? 0;
      const b = features.codes[1]?.[i] ?? 0;
      expect(p, `a=${a} b=${b}`).toBeCloseTo(SKLEARN[a]?.[b] ?? Number.NaN, 6);
    }
  });
});

describe("trees", () => {
  it("a tree learns a rule that needs two splits", () => {
    const { features, labels, rows } = toy();
    const tree = fitTree(features, labels, 2, rows, { minLeaf: 1, maxDepth: 4 });
    let right = 0;
    for (const i of rows) if ((tree.predict(features, i)[1] ?? 0) > 0.5 === (labels[i] === 1)) right++;
    expect(right / rows.length).toBeGreaterThanOrEqual(0.9);
  });

  it("a forest is the same for the same seed and differs for another", () => {
    const { features, labels, rows } = toy();
    const p = (seed: number) => {
      const forest = fitForest(features, labels, 2, rows, { trees: 7, seed, minLeaf: 1 });
      return Array.from(rows, (i) => forest.predict(features, i)[1]);
    };
    expect(p(3)).toEqual(p(3));
    expect(p(3)).not.toEqual(p(4));
  });
});

describe("rocAuc", () => {
  it("counts ties as one half", () => {
    // Positives score 0.8 and 0.5, negatives 0.5 and 0.1: pairs (0.8 > 0.5), (0.8 > 0.1), (0.5 = 0.5), (0.5 > 0.1).
    expect(rocAuc(Float64Array.from([0.8, 0.5, 0.5, 0.1]), Uint8Array.from([1, 1, 0, 0]))).toBe(3.5 / 4);
    expect(rocAuc(Float64Array.from([0.1, 0.2]), Uint8Array.from([1, 1]))).toBeNull();
  });
});

describe("c2st", () => {
  let db: Db;
  let profiles: ColumnProfile[];
  beforeAll(async () => {
    ({ db, profiles } = await loadPair());
  });
  afterAll(() => db?.close());

  it("cannot tell a table from itself", async () => {
    const d = await c2st(db, { real: "real", synth: "real", profiles, seed: 1 });
    expect(d.rows).toBe(100);
    for (const m of d.models) {
      // Identical rows in both classes: no classifier beats a coin.
      expect(m.accuracy, m.model).toBeLessThanOrEqual(0.55);
      expect(m.gap).toBeCloseTo(Math.abs(m.accuracy - 0.5), 12);
      expect(m.folds).toHaveLength(5);
    }
  });

  it("tells a different table apart, the same way for the same seed", async () => {
    // The synthetic fixture with everyone 20 years older: its ages fall in the real table's upper deciles.
    await db.exec("create or replace view older as select * replace (age + 20 as age) from synth");
    const run = () =>
      c2st(db, { real: "real", synth: "older", profiles, seed: 7, models: ["random_forest"] });
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first.features).toEqual(profiles.map((p) => p.name));
    const rf = first.models[0];
    expect(rf?.model).toBe("random_forest");
    expect(rf?.accuracy).toBeGreaterThan(0.7);
    expect(rf?.auc).toBeGreaterThan(0.7);
  });

  it("uses equally many rows of each side", async () => {
    const d = await c2st(db, { real: "real", synth: "holdout", profiles, models: ["logistic_regression"] });
    expect(d.rows).toBe(50);
  });
});
