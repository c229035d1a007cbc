import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { tempDir } from "./helpers.ts";

const ECOMMERCE = join(packageRoot, "examples/ecommerce/ecommerce.csv");

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

const options = (extra: Partial<SynthOptions>): SynthOptions => ({
  source: { kind: "file", path: ECOMMERCE },
  seed: 1,
  rows: 400,
  threads: 1,
  planner: (db, summary) => new StatsPlanner(db, summary, { seed: 1 }),
  ...extra,
});

async function rowsAdded(file: string): Promise<number[]> {
  const db = await Db.open(file, { readOnly: true });
  try {
    const rows = await db.all<{ n: number }>(
      "select rows_added as n from synthor_iterations order by iteration",
    );
    return rows.map((r) => Number(r.n));
  } finally {
    db.close();
  }
}

describe("--schedule", () => {
  // 400 rows in up to 100 iterations: the even batch is 4 rows, the cap 400 / 16 = 25.
  it("grows the batches while the fit holds and ends before --iterations; even takes all of them", async () => {
    const grown = await synthesize(options({ db: path("grow.duckdb") }));
    expect([grown.rows, grown.stoppedBecause]).toEqual([400, "rows"]);
    const batches = await rowsAdded(path("grow.duckdb"));
    expect(batches.slice(0, 4)).toEqual([4, 8, 16, 25]);
    expect(Math.max(...batches)).toBe(25);
    expect(batches.reduce((s, n) => s + n, 0)).toBe(400);
    expect(grown.iterations).toBe(batches.length);
    expect(grown.iterations).toBeLessThan(25);

    const even = await synthesize(options({ db: path("even.duckdb"), schedule: "even" }));
    expect([even.rows, even.iterations]).toEqual([400, 100]);
    expect(new Set(await rowsAdded(path("even.duckdb")))).toEqual(new Set([4]));
  });

  it("resumes a grown run where it stopped: the uninterrupted table, byte for byte", async () => {
    const whole = await synthesize(options({ out: path("whole.csv") }));
    let calls = 0;
    const cut = await synthesize(options({ db: path("cut.duckdb"), shouldStop: () => ++calls > 3 }));
    expect([cut.stoppedBecause, cut.iterations]).toEqual(["interrupted", 3]);
    const resumed = await synthesize(
      options({ db: path("cut.duckdb"), resume: true, out: path("resumed.csv") }),
    );
    expect([resumed.rows, resumed.iterations]).toEqual([whole.rows, whole.iterations]);
    expect(readFileSync(path("resumed.csv"), "utf8")).toBe(readFileSync(path("whole.csv"), "utf8"));
  });
});
