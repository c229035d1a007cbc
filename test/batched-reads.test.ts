import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readUnits, unitIdsOf } from "../src/counts.ts";
import { varcharList } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";
import { quoteIdent } from "../src/db/quote.ts";
import { synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import type { PlanContext, PlanResult } from "../src/planners/types.ts";
import type { ContingencyRequest, RealSide } from "../src/real.ts";
import type { Summary } from "../src/summarize.ts";
import { tempDir, withDb } from "./helpers.ts";

// Two numeric columns (their conditionals are read at sub-bin level too) and four categorical ones.
const ECOMMERCE = join(packageRoot, "examples/ecommerce/ecommerce.csv");

/** The contingency macro, unit by unit: what the stacked count must give. */
const CONTINGENCY = "select unit, cell, n from synthor_contingency($table, $columns)";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

describe("readUnits", () => {
  it("gives each request the cells synthor_contingency gives, in its order, over more units than one statement counts", async () => {
    const columns = ["c0", "c1", "c2", "x'; drop table t; -- 1"];
    // 230 requests: two statements; columns in and out of table order, one to four of them.
    const requests = Array.from({ length: 230 }, (_, i) => ({
      codes: "t",
      columns: columns.slice(0, 1 + (i % 4)).reverse(),
    }));
    const { read, single } = await withDb(async (db) => {
      await db.execRaw(
        `create table t as select 'v' || (i % 4) as c0, (i % 3)::varchar as c1, case when i % 5 = 0 then null else 'w' end as c2,
         i % 2 as "x'; drop table t; -- 1" from range(40) r(i)`,
      );
      const single = [];
      for (const r of requests.slice(0, 4)) {
        const rows = await db.all<{ cell: (string | null)[]; n: number }>(CONTINGENCY, {
          table: "t",
          columns: varcharList(r.columns),
        });
        single.push(rows.map(({ cell, n }) => ({ cell, n })));
      }
      return { read: await readUnits(db, requests), single };
    });
    expect(read).toHaveLength(230);
    for (const [i, rows] of read.entries()) expect(rows, `request ${i}`).toEqual(single[i % 4]);
    // c0 = v0 and c1 = 0 for i = 0, 12, 24, 36; c2 is NULL for i = 0 only; NULL sorts last.
    expect(read[2]?.slice(0, 2)).toEqual([
      { cell: ["v0", "0", "w"], n: 3 },
      { cell: ["v0", "0", null], n: 1 },
    ]);
  });
});

describe("unitIdsOf", () => {
  it("names each list of columns as synthor_contingency's unit column does, in one query", async () => {
    const lists = [["a"], ['x"; drop table t; --', "größe"], ["a\\b", "tab\there", "é/ü"]];
    const { ids, units } = await withDb(async (db) => {
      const names = [...new Set(lists.flat())];
      await db.execRaw(
        `create table t as select ${names.map((n, k) => `${k} as ${quoteIdent(n)}`).join(", ")}`,
      );
      const units: string[] = [];
      for (const columns of lists) {
        const [row] = await db.all<{ unit: string }>(CONTINGENCY, {
          table: "t",
          columns: varcharList(columns),
        });
        units.push(row?.unit as string);
      }
      return { ids: await unitIdsOf(db, lists), units };
    });
    expect(ids).toEqual(units);
    expect(ids[0]).toBe('["a"]');
  });
});

describe("the statistical planner's real tables", () => {
  it("are read in one batch at the start of an iteration, and not again once read", async () => {
    // Per iteration: how many times the planner read real tables, and how many tables.
    const reads: { iteration: number; tables: number; fine: number }[] = [];
    let iteration = 0;
    const counted = (real: RealSide): RealSide => ({
      ...real,
      contingencies: (requests: ContingencyRequest[]) => {
        reads.push({ iteration, tables: requests.length, fine: requests.filter((r) => r.fine).length });
        return real.contingencies(requests);
      },
    });
    class Counting extends StatsPlanner {
      override plan(ctx: PlanContext): Promise<PlanResult> {
        iteration = ctx.iteration;
        return super.plan(ctx);
      }
    }
    await synthesize({
      source: { kind: "file", path: ECOMMERCE },
      seed: 2,
      rows: 300,
      iterations: 4,
      threads: 1,
      db: join(tmp.dir, "run.duckdb"),
      out: join(tmp.dir, "out.csv"),
      planner: (db, summary: Summary) =>
        new Counting(db, { ...summary, real: counted(summary.real) }, { seed: 2 }),
    });
    expect(iteration).toBe(4);
    const perIteration = new Map<number, number>();
    for (const r of reads) perIteration.set(r.iteration, (perIteration.get(r.iteration) ?? 0) + 1);
    expect([...perIteration.values()].every((n) => n === 1)).toBe(true);
    expect(reads[0]?.iteration).toBe(1);
    expect(reads[0]?.tables).toBeGreaterThan(10);
    expect(reads[0]?.fine).toBeGreaterThan(2);
  });
});
