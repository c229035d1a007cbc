/**
 * Tables too wide for one scalar subquery per column.
 */
import { describe, expect, it } from "vitest";
import { quoteIdent } from "../src/db/quote.ts";
import { codesSelect } from "../src/encode.ts";
import { gridsSelect } from "../src/sample.ts";
import type { ModelColumn } from "../src/summarize.ts";
import { withDb } from "./helpers.ts";

describe("a table of more than 1,000 numeric columns", () => {
  // DuckDB counted every scalar subquery of a select list towards its expression depth limit (1000):
  // main codes and grids had one per numeric column, sub-bin codes about five (250 columns are enough
  // there, and quicker to plan than 1,100).
  it("is coded in bins and sub-bins, and its grids read, in one query each", async () => {
    const k = 1100;
    const columns = Array.from(
      { length: k },
      (_, j): ModelColumn => ({
        name: `c${j}`,
        index: j,
        sqlType: "DOUBLE",
        kind: "numeric",
        reason: "",
        integral: false,
        rows: 3,
        nulls: 0,
        nullShare: 0,
        distinct: 3,
        min: "0",
        max: "2",
      }),
    );
    const rows = await withDb(async (db) => {
      await db.exec(
        `create table synthor_edges as select 'c' || range as "column", [0.5, 1.5] as edges from range(${k});
         create table synthor_bins as
           select 'c' || range as "column", b.bin, b.lo, b.hi from range(${k}), (values (0, 0.0, 0.5), (1, 0.5, 1.5), (2, 1.5, 2.0)) as b(bin, lo, hi);
         create table synthor_grid as select 'c' || range as "column", [0.0, 1.0, 2.0] as grid from range(${k});
         create table model as select ${columns.map((c, j) => `(range + ${j}) % 3 as ${quoteIdent(c.name)}`).join(", ")} from range(3);`,
      );
      const codes = await db.all<Record<string, string>>(
        `select c0, c1, c249 from (${codesSelect(columns.slice(0, 250), "model", { subBins: 4 })}) order by c0`,
      );
      const main = await db.all<Record<string, string>>(
        `select c0, c1099 from (${codesSelect(columns, "model")}) order by c0`,
      );
      const [grids] = await db.all<Record<string, number[]>>(
        `select g0, g1099 from (${gridsSelect(columns)})`,
      );
      return { codes, main, grids };
    });
    // Values 0, 1, 2 in bins (-inf, 0.5], (0.5, 1.5], (1.5, inf): sub-bins of 4 inside lo..hi.
    expect(rows.codes).toEqual([
      { c0: "0.0", c1: "1.1", c249: "0.0" },
      { c0: "1.1", c1: "2.3", c249: "1.1" },
      { c0: "2.3", c1: "0.0", c249: "2.3" },
    ]);
    expect(rows.main).toEqual([
      { c0: "0", c1099: "1" },
      { c0: "1", c1099: "2" },
      { c0: "2", c1099: "0" },
    ]);
    expect(rows.grids).toEqual({ g0: [0, 1, 2], g1099: [0, 1, 2] });
  });
});
