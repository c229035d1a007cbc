/**
 * Golden tests for the query files of the reference table and the target report: tiny state tables
 * built by hand, the answers worked out in the comments.
 */
import { describe, expect, it } from "vitest";
import { varcharList } from "../src/db/connection.ts";
import { sqlFile } from "../src/db/files.ts";
import { withDb } from "./helpers.ts";
import { EXECUTED_CHECK, recordSqlExecutions } from "./sql-executed.ts";

const executed = recordSqlExecutions("test/reference.golden.test.ts");

describe("sql/reference_atoms.sql", () => {
  // Rows by key: [a, true] twice with weight 0.5, [b, false] once with weight 1, [NULL, false] once.
  it("is each key's row count and its one base weight", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create temp table synthor_reference_keyed as
         select * from (values
           (1, ['a', 'true'], 0.5::double, 11::ubigint),
           (2, ['a', 'true'], 0.5, 12),
           (3, ['b', 'false'], 1.0, 13),
           (4, [null, 'false'], 1.0, 14)
         ) as t(x, __synthor_key, __synthor_w, __synthor_hash)`,
      );
      const rows = await db.query("reference_atoms");
      expect(rows).toEqual([
        { key: ["a", "true"], n: 2, w: 0.5, weights: 1 },
        { key: ["b", "false"], n: 1, w: 1, weights: 1 },
        { key: [null, "false"], n: 1, w: 1, weights: 1 },
      ]);
    });
  });
});

describe("sql/reference_copies.sql", () => {
  // Key [a]: 3 rows, total 7, by rank: floor(7/3) - 0 = 2, floor(14/3) - 2 = 2, floor(21/3) - 4 = 3.
  // Key [b]: 2 rows, total 1: floor(1/2) - 0 = 0, floor(2/2) - 0 = 1. Key [c]: total 0, gone.
  it("spreads each key's total over its rows by systematic rounding in rank order", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create temp table synthor_reference_keyed as
         select * from (values
           (1, ['a'], 1.0::double, 9::ubigint, 1::bigint),
           (2, ['a'], 1.0, 5, 2),
           (3, ['a'], 1.0, 7, 3),
           (4, ['b'], 1.0, 8, 1),
           (5, ['b'], 1.0, 1, 2),
           (6, ['c'], 1.0, 2, 1)
         ) as t(x, __synthor_key, __synthor_w, __synthor_hash, __synthor_rank);
         create temp table synthor_reference_totals as
         select * from (values (['a'], 7::bigint), (['b'], 1), (['c'], 0)) as t(key, total);`,
      );
      const rows = await db.all(
        `select x, copies from (${sqlFile("reference_copies").replace(/;\s*$/, "")}) order by x`,
      );
      expect(rows).toEqual([
        { x: 1, copies: 2 },
        { x: 2, copies: 2 },
        { x: 3, copies: 3 },
        { x: 4, copies: 0 },
        { x: 5, copies: 1 },
      ]);
    });
  });
});

describe("sql/target_excess.sql", () => {
  // Reference u: a 1, b 1, c 1 (thirds); final rows 10: cumulative 3.33, 6.67, 10 round to 3, 7, 10, so
  // quotas 3, 4, 3. Synthetic u: a 5 (excess 2), b 4 (none), c 2 (none), d 1 (no quota: excess 1).
  it("is each cell's rows beyond its whole-row quota of the final rows", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create table synthor_real_counts (unit varchar, cell varchar[], n bigint);
         create table synthor_synth_counts (unit varchar, cell varchar[], n bigint);
         insert into synthor_real_counts values ('u', ['a'], 1), ('u', ['b'], 1), ('u', ['c'], 1), ('v', ['a'], 9);
         insert into synthor_synth_counts values ('u', ['a'], 5), ('u', ['b'], 4), ('u', ['c'], 2), ('u', ['d'], 1), ('v', ['a'], 1);`,
      );
      const rows = await db.query("target_excess", { unit: "u", final_rows: 10 });
      expect(rows).toEqual([
        { cell: ["a"], excess: 2 },
        { cell: ["d"], excess: 1 },
      ]);
    });
  });
});

describe("sql/target_fit.sql", () => {
  // Table: (x, p) 2 rows, (x, q) 1, (y, p) 1: shares 0.5, 0.25, 0.25. Target t names (x, p) 0.4 and
  // (y, q) 0.1: synthetic 0.5 and 0 (no row). The rest: target 1 - 0.5 = 0.5, synthetic 1 - 0.5 = 0.5.
  it("is each named cell's target and table share, then the unnamed cells together", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create table out as select * from (values ('x', 'p', 1), ('x', 'p', 2), ('x', 'q', 3), ('y', 'p', 4)) as t(a, b, c);
         create temp table synthor_target_cells as
         select * from (values ('t', ['x', 'p'], 0.4::double), ('t', ['y', 'q'], 0.1), ('other', ['x', 'p'], 1.0))
           as t(target, cell, target_share);`,
      );
      const rows = await db.query("target_fit", {
        table: "out",
        columns: varcharList(["a", "b"]),
        target: "t",
      });
      expect(rows).toEqual([
        { cell: ["x", "p"], target_share: 0.4, synth_share: 0.5 },
        { cell: ["y", "q"], target_share: 0.1, synth_share: 0 },
        { cell: null, target_share: 0.5, synth_share: 0.5 },
      ]);
    });
  });

  // Target u names every cell of the table with shares 0.7, 0.2, 0.1, whose float sum is 0.9999999999999999:
  // the unnamed remainder is 0 on both sides, not 1e-16.
  it("leaves exactly 0 for the unnamed cells when the named shares add up to 1", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create table out as select * from (values ('x', 1), ('y', 2), ('z', 3)) as t(a, c);
         create temp table synthor_target_cells as
         select * from (values ('u', ['x'], 0.7::double), ('u', ['y'], 0.2), ('u', ['z'], 0.1))
           as t(target, cell, target_share);`,
      );
      const rows = await db.query<{ cell: string[] | null; target_share: number; synth_share: number }>(
        "target_fit",
        { table: "out", columns: varcharList(["a"]), target: "u" },
      );
      expect(rows.at(-1)).toEqual({ cell: null, target_share: 0, synth_share: 0 });
    });
  });
});

it(EXECUTED_CHECK, () => executed.expectEachFileRan());
