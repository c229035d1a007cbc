/**
 * A unique real row must not come back nearly whole (issue 12, section 5): conditionals drawn from fewer
 * than min-cell real rows back off, a rare category does not carry its row's values, the grids do not
 * re-draw a lone extreme, and eval reports near copies of rows with a rare category.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesize } from "../src/pipeline.ts";
import { backOff, type Conditional, detachRare, StatsPlanner, subBinRuns } from "../src/planners/stats.ts";
import { cli, fixture, readCsv, tempDir } from "./helpers.ts";

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

describe("backOff", () => {
  // A hand-built conditional table of `plan` given (city, sex), (city) and nothing: in Oslo only 3 real
  // rows are women, 40 are from Oslo, 300 in all.
  const table: Record<string, Conditional> = {
    '["Oslo","F"]': { codes: ["plus"], counts: [3] },
    '["Oslo","M"]': { codes: ["basic", "plus"], counts: [30, 7] },
    '["Oslo"]': { codes: ["basic", "plus"], counts: [30, 10] },
    "[]": { codes: ["basic", "plus", "pro"], counts: [200, 60, 40] },
  };
  const read = (fixed: string[]) => async (n: number) => table[JSON.stringify(fixed.slice(0, n))];

  it("passes over a context fewer than min-cell real rows hold, to fewer parents", async () => {
    expect(await backOff(2, 5, read(["Oslo", "F"]))).toEqual(table['["Oslo"]']);
    expect(await backOff(2, 5, read(["Oslo", "M"]))).toEqual(table['["Oslo","M"]']);
  });

  it("ends at the marginal, whatever it holds, and skips contexts never seen", async () => {
    expect(await backOff(1, 50, read(["Oslo"]))).toEqual(table["[]"]);
    expect(await backOff(2, 5, read(["Lima", "F"]))).toEqual(table["[]"]);
  });

  it("keeps every seen context with min-cell 1 (the rule off)", async () => {
    expect(await backOff(2, 1, read(["Oslo", "F"]))).toEqual(table['["Oslo","F"]']);
  });
});

describe("detachRare", () => {
  it("gives a rare value its share of the whole column in every context, not its share where its rows were", () => {
    const marginal = { codes: ["a", "b", "z"], counts: [60, 39, 1] };
    // z's only real row is in this context; here it gets 1/100 of the context's 10 rows, as anywhere.
    expect(detachRare({ codes: ["a", "z"], counts: [9, 1] }, marginal, 5)).toEqual({
      codes: ["a", "z"],
      counts: [9, 0.1],
    });
    // A context its row was not in gets it too, so it is not tied to its row's other values.
    expect(detachRare({ codes: ["b"], counts: [20] }, marginal, 5)).toEqual({
      codes: ["b", "z"],
      counts: [20, 0.2],
    });
    expect(detachRare({ codes: ["a", "z"], counts: [9, 1] }, marginal, 1)).toEqual({
      codes: ["a", "z"],
      counts: [9, 1],
    });
  });
});

describe("subBinRuns", () => {
  it("joins sparse sub-bins with their neighbours until min-cell rows hold each run", () => {
    // An outlier alone in the top sub-bin of its main bin joins the run below it.
    expect(subBinRuns([0, 6, 0, 1, 4, 0, 0, 1], 5)).toEqual([
      [0, 1],
      [2, 7],
    ]);
    expect(subBinRuns([9, 0, 0, 0, 0, 0, 0, 1], 5)).toEqual([[0, 7]]);
    expect(subBinRuns([2, 2], 5)).toEqual([[0, 1]]);
    expect(subBinRuns([5, 5, 5], 5)).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });
});

describe("a planted unique row", () => {
  // summary-people.csv: 300 rows, one planted: id 137, age 44, the only "Zanzibar-Planted" city, plan
  // plus, income 987654.32 (the others are below 100,000), signup 2023-06-15. Before the min-cell rule
  // this run wrote 8 rows with that city, an age within 2 of 44 and an income within half of the planted one.
  it("does not come back: no row near its income, none with its city near its numbers", async () => {
    const out = path("people.csv");
    await synthesize({
      source: { kind: "file", path: fixture("summary-people.csv") },
      rows: 3000,
      iterations: 10,
      seed: 3,
      threads: 1,
      out,
      planner: (db, summary) => new StatsPlanner(db, summary, { seed: 3 }),
    });
    const rows = readCsv(out);
    expect(rows).toHaveLength(3000);
    const near = rows.filter(
      (r) =>
        r.city === "Zanzibar-Planted" &&
        Math.abs(Number(r.income) - 987654.32) < 0.5 * 987654.32 &&
        Math.abs(Number(r.age) - 44) <= 2,
    );
    expect(near).toEqual([]);
    // No income anywhere near the planted one: the grid's top is the 5th largest real income.
    expect(Math.max(...rows.map((r) => Number(r.income)))).toBeLessThan(200_000);
    // The rare city is drawn apart from its row: at about its real share (1 in 300), with any plan.
    const zanzibar = rows.filter((r) => r.city === "Zanzibar-Planted");
    expect(zanzibar.length).toBeLessThan(30);
  }, 120_000);
});

describe("synthor eval: near copies of rows with a rare category", () => {
  it("reports their DCR beside the holdout's and warns when one is a near copy", async () => {
    // 40 real rows: x 1.5..40.5 (decimals, so the synthetic x is not rounded to the real type), group
    // a/b, kind "common" but for one "ZZ" row (x = 40.5); the holdout has none; the synthetic table holds
    // a copy of the ZZ row but for x 40.4: DCR (0.1 / 39) / 3, rank distance (0.5 / 40) / 3 < 0.01.
    const real = [
      "x,group,kind",
      ...Array.from(
        { length: 40 },
        (_, i) => `${i + 1.5},${i % 2 ? "a" : "b"},${i === 39 ? "ZZ" : "common"}`,
      ),
    ];
    const holdout = [
      "x,group,kind",
      ...Array.from({ length: 20 }, (_, i) => `${i * 2 + 1.5},${i % 2 ? "a" : "b"},common`),
    ];
    const synth = [
      "x,group,kind",
      ...Array.from({ length: 19 }, (_, i) => `${i * 2 + 1.25},${i % 2 ? "b" : "a"},common`),
      "40.4,a,ZZ",
    ];
    writeFileSync(path("real.csv"), `${real.join("\n")}\n`);
    writeFileSync(path("holdout.csv"), `${holdout.join("\n")}\n`);
    writeFileSync(path("synth.csv"), `${synth.join("\n")}\n`);
    const r = await cli([
      "eval",
      "--real",
      path("real.csv"),
      "--synth",
      path("synth.csv"),
      "--holdout",
      path("holdout.csv"),
      "--no-detection",
      "--json",
      "--quiet",
    ]);
    expect(r.code).toBe(0);
    const privacy = JSON.parse(r.stdout).privacy;
    expect(privacy.rare).toMatchObject({
      minCell: 5,
      values: 1,
      synthRows: 1,
      synthNearCopies: 1,
      baselineRows: 0,
      baseline: null,
      baselineNearCopies: 0,
    });
    expect(privacy.rare.synth.min).toBeCloseTo(0.1 / 39 / 3, 6);
    expect(privacy.warnings).toContain(
      "1 synthetic row with a category fewer than 5 real rows hold is within 0.01 of a real row (holdout rows: 0 of 0): likely copies of rare real rows",
    );
    const text = await cli([
      "eval",
      "--real",
      path("real.csv"),
      "--synth",
      path("synth.csv"),
      "--holdout",
      path("holdout.csv"),
      "--no-detection",
      "--quiet",
    ]);
    expect(text.stdout).toContain(
      "rows with a rare category (1 category fewer than 5 real rows hold): synthetic 1, closest 0.000855, median 0.000855, 1 near copies; holdout 0, closest -, median -, 0 near copies",
    );
    expect(readFileSync(path("real.csv"), "utf8")).toContain("ZZ");
  }, 60_000);
});
