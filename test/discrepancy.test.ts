/**
 * measure (src/discrepancy.ts): the loop reads the count tables once per iteration and works the TVDs
 * out from the gap rows. They must be the bits synthor_tvd gives (computeDiscrepancy), which the history,
 * --target-tvd and --patience compare, and its gaps the ones gapTable reads.
 */
import { describe, expect, it } from "vitest";
import { computeDiscrepancy, gapsOf, gapTable, measure } from "../src/discrepancy.ts";
import type { Summary } from "../src/summarize.ts";
import { withDb } from "./helpers.ts";

const unit = (...columns: string[]) => ({ id: JSON.stringify(columns), columns });

// The units a summary reports; "z" has a cell on neither side.
const summary = {
  columns: ["a", "b", "big", "only_synth", "z", "c"].map((name) => ({ name, kind: "categorical" })),
  marginals: [unit("a"), unit("b"), unit("big"), unit("only_synth"), unit("z"), unit("c")],
  groups: [unit("a", "b")],
} as unknown as Summary;

// (unit, cell, real n, synth n): a partial table with a NULL cell and a cell only the synthetic side has;
// a unit whose synthetic side is empty; counts whose products pass 2^53; a unit only the synthetic side has.
const CELLS: [string[], (string | null)[], number, number][] = [
  [["a"], ["x"], 7, 2],
  [["a"], ["y"], 2, 5],
  [["a"], [null], 1, 0],
  [["a"], ["w"], 0, 3],
  [["b"], ["p"], 4, 0],
  [["b"], ["q"], 6, 0],
  [["a", "b"], ["x", "p"], 3, 1],
  [["a", "b"], ["y", null], 5, 9],
  [["a", "b"], [null, "q"], 2, 0],
  [["big"], ["1"], 123_456_789, 98_765_431],
  [["big"], ["2"], 987_654_321, 12_345_677],
  [["big"], ["3"], 3, 555_555_557],
  [["only_synth"], ["s"], 0, 4],
  // Shares added as floating-point numbers give 0.1401401401401402; the whole-number sum 0.14014014014014015.
  [["c"], ["1"], 11, 7],
  [["c"], ["2"], 12, 6],
  [["c"], ["3"], 9, 8],
  [["c"], ["4"], 5, 6],
];

async function load(db: Parameters<Parameters<typeof withDb>[0]>[0]): Promise<void> {
  for (const side of ["real", "synth"] as const) {
    await db.exec(`create table synthor_${side}_counts (unit varchar, cell varchar[], n bigint)`);
    const rows = CELLS.filter(([, , r, s]) => (side === "real" ? r : s) > 0).map(([cols, cell, r, s]) => ({
      unit: JSON.stringify(cols),
      cell,
      n: side === "real" ? r : s,
    }));
    await db.exec(
      `insert into synthor_${side}_counts
       select unnest(from_json($rows, '[{"unit": "VARCHAR", "cell": ["VARCHAR"], "n": "BIGINT"}]'), recursive := true)`,
      "load counts",
      { rows: JSON.stringify(rows) },
    );
  }
}

describe("measure", () => {
  it("gives computeDiscrepancy's TVDs to the last bit, and gapTable's gaps", async () => {
    await withDb(async (db) => {
      await load(db);
      const measured = await measure(db, summary);
      const expected = await computeDiscrepancy(db, summary);
      expect(measured.discrepancy).toEqual(expected);
      // The edge cases are there: an empty synthetic side and a unit with no real rows are 1, no cells 0.
      const tvd = Object.fromEntries(expected.marginals.map((u) => [u.unit, u.tvd]));
      expect([tvd['["b"]'], tvd['["only_synth"]'], tvd['["z"]']]).toEqual([1, 1, 0]);
      expect(tvd['["big"]']).toBeGreaterThan(0);
      // Worked by hand for a: real 7/10, 2/10, 1/10, 0; synthetic 2/10, 5/10, 0, 3/10: 0.5 + 0.1 = 0.6.
      expect(tvd['["a"]']).toBe(0.6);
      expect(tvd['["c"]']).toBe(0.14014014014014015);
      const units = [...summary.marginals, ...summary.groups];
      expect(gapsOf(summary, measured.gaps, units)).toEqual(await gapTable(db, summary, units));
      expect(gapsOf(summary, measured.gaps, units)).toHaveLength(CELLS.length);
    });
  });
});
