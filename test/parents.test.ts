import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { correctedInformation, histogramOf, informationOf } from "../src/information.ts";
import { synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { fixture, readCsv, tempDir } from "./helpers.ts";

// 400 rows, every (a, b) pair 25 times, c = (a + b) mod 4 and d independent of all three: every pair of
// columns is exactly independent, so pairwise mutual information sees nothing, yet c is a function of a
// and b together (and a of b and c, b of a and c). Parents chosen pair by pair left c to its marginal:
// about a quarter of the synthetic rows kept c = a + b. (From a summary file the planner cannot do
// better: the file keeps 3-way tables only with partners of pairwise mutual information above 0.005.)
const INTERACTION = fixture("interaction.csv");
const index = (v: string | null | undefined) => ["p", "q", "r", "s"].indexOf(v ?? "");
const consistent = (rows: Record<string, string | null>[]) =>
  rows.filter((r) => r.c === `x${(index(r.a) + index(r.b)) % 4}`).length / rows.length;

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

describe("joint information (Miller-Madow)", () => {
  it("is ln 4 less the bias for c given (a, b), and below zero for exactly independent columns", () => {
    const real = readCsv(INTERACTION).map((r) => ({ cell: [r.a ?? null, r.b ?? null, r.c ?? null], n: 1 }));
    // 16 parent cells, 4 child values, 16 joint cells: bias (16 - 16 - 4 + 1) / 800 < 0.
    expect(informationOf(real, 2)).toBeCloseTo(Math.log(4) + 3 / 800, 8);
    const independent = readCsv(INTERACTION).map((r) => ({ cell: [r.a ?? null, r.c ?? null], n: 1 }));
    // Plug-in exactly 0; the correction subtracts (16 - 4 - 4 + 1) / 800.
    expect(informationOf(independent, 1)).toBeCloseTo(-9 / 800, 8);
  });

  it("does not depend on the order the counts come in", () => {
    const h = (xs: number[]) => histogramOf(xs);
    const a = correctedInformation(h([5, 1, 7, 3]), h([6, 10]), h([8, 8]));
    const b = correctedInformation(h([3, 7, 1, 5]), h([10, 6]), h([8, 8]));
    expect(a).toBe(b);
  });
});

describe("stats planner parents", () => {
  it("keeps a 3-way dependency whose pairs are all independent", async () => {
    const out = path("rows.csv");
    await synthesize({
      source: { kind: "file", path: INTERACTION },
      seed: 1,
      rows: 400,
      iterations: 6,
      threads: 1,
      db: path("rows.duckdb"),
      out,
      planner: (db, summary) => new StatsPlanner(db, summary, { seed: 1 }),
    });
    const rows = readCsv(out);
    expect(rows.length).toBe(400);
    expect(consistent(readCsv(INTERACTION))).toBe(1);
    expect(consistent(rows)).toBeGreaterThan(0.9);
  });
});

describe("stats planner parents in a wide table", () => {
  // 24 columns, each one of three hidden factors plus noise: more columns than PAIR_POOL + 1, so pairs
  // of parents are searched among each column's 16 strongest partners. Re-ranked within each pool the
  // completion order offers, a wide table's pools brought new pairs at every step (1,800 3-way tables a
  // column on 100 columns); fixed per column, a column's pairs are at most the 120 of its 16.
  it("scores at most the pairs of a column's 16 strongest partners, whatever the pool", async () => {
    const columns = Array.from({ length: 24 }, (_, j) => `x${j}`);
    const lines = [columns.join(",")];
    for (let i = 0; i < 300; i++) {
      const factor = (f: number) => Math.floor(((i * (7 + f * 5)) % 97) / 25);
      lines.push(
        columns.map((_, j) => `v${(factor(j % 3) + ((i * (j + 3)) % 11 === 0 ? 1 : 0)) % 4}`).join(","),
      );
    }
    const input = path("wide.csv");
    writeFileSync(input, `${lines.join("\n")}\n`);
    const pairsAsked = new Map<string, Set<string>>();
    await synthesize({
      source: { kind: "file", path: input },
      seed: 1,
      rows: 100,
      iterations: 2,
      threads: 1,
      db: path("wide.duckdb"),
      planner: (db, summary) => {
        const information = summary.real.information.bind(summary.real);
        summary.real.information = (child, sets) => {
          const asked = pairsAsked.get(child) ?? new Set<string>();
          for (const s of sets) if (s.length === 2) asked.add([...s].sort().join(","));
          pairsAsked.set(child, asked);
          return information(child, sets);
        };
        return new StatsPlanner(db, summary, { seed: 1 });
      },
    });
    expect([...pairsAsked.keys()].sort()).toEqual([...columns].sort());
    for (const [child, asked] of pairsAsked) {
      const partners = new Set([...asked].flatMap((s) => s.split(",")));
      expect(partners.size, child).toBeLessThanOrEqual(16);
      expect(asked.size, child).toBeLessThanOrEqual(120);
    }
  });
});
