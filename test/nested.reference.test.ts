/**
 * The reference on nested data (--where, --targets, --tilt) and --trim. --where: the households that
 * satisfy the condition (and their members) are the real data; every synthetic household satisfies it,
 * the ones that did not dropped with their members and regrown by the loop's --where rounds (src/loop.ts
 * grow). --targets and --tilt: the households weighted as flat rows are, each repeated with its members;
 * the output ends at the target shares and the tilted share. A surplus is trimmed to the households
 * asked for. Resumed runs end with the uninterrupted one's tables.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { type NestedSynthOptions, synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { cli, fixture, linkedSource, tempDir } from "./helpers.ts";

const households = fixture("nested/households.csv");
const persons = fixture("nested/persons.csv");
const tmp = tempDir();
const path = (name: string) => join(tmp.dir, name);
afterAll(() => tmp.cleanup());

// A range inside the weights' range: draws within a bin that spans it land in it, and are dropped.
const WHERE = "weight not between 30 and 35";

function options(db: string, extra: Partial<NestedSynthOptions> = {}): NestedSynthOptions {
  return {
    source: linkedSource(households, persons),
    db,
    threads: 1,
    rows: 60,
    iterations: 8,
    seed: 2,
    reference: { where: WHERE },
    planner: (d, s) => new NestedStatsPlanner(d, s, { seed: 2 }),
    ...extra,
  };
}

async function query<T>(file: string, sql: string): Promise<T[]> {
  const db = await Db.open(file, { readOnly: true, threads: 1 });
  try {
    return await db.all<T & Record<string, unknown>>(sql);
  } finally {
    db.close();
  }
}

describe("nested synthesis with --where", () => {
  it("learns from the households that satisfy it, and every synthetic one does, with its members", async () => {
    const db = path("where.duckdb");
    const r = await synthesizeNested(options(db));
    const [real] = await query<{ all: number; matching: number }>(
      db,
      `select count(*)::integer as "all", count(*) filter (where ${WHERE})::integer as matching
       from read_csv('${households}')`,
    );
    expect(r.where).toEqual({
      where: WHERE,
      realHouseholds: real?.all,
      matchingHouseholds: real?.matching,
      whereDropped: r.where?.whereDropped,
      whereViolations: 0,
    });
    expect(real?.matching).toBeLessThan(real?.all ?? 0);
    // Some draws landed in the excluded range and were regrown: the rounds ran.
    expect(r.where?.whereDropped).toBeGreaterThan(0);
    expect(r.households).toBe(60);
    const [out] = await query<{ n: number; failing: number; orphans: number; childless: number }>(
      db,
      `select count(*)::integer as n, count(*) filter (where not (${WHERE}))::integer as failing,
              (select count(*) from synthetic_members where "hhID" not in (select "hhID" from synthetic))::integer as orphans,
              count(*) filter (where "hhID" not in (select "hhID" from synthetic_members))::integer as childless
       from synthetic`,
    );
    expect(out).toEqual({ n: 60, failing: 0, orphans: 0, childless: 0 });
    // The counts the fidelity reads were rebuilt after the drops and the trim: the member tables add up.
    const [members] = await query<{ n: number }>(db, "select count(*)::integer as n from synthetic_members");
    expect(r.members).toBe(members?.n);
    const [counted] = await query<{ n: number }>(
      db,
      `select sum(n)::integer as n from synthor_synth_counts
       where unit = (select min(unit) from synthor_synth_counts where unit like 'member:%' and unit not like '%,%')`,
    );
    expect(counted?.n).toBe(members?.n);
  }, 120_000);

  it("resumes a run with --where to the uninterrupted one's tables", async () => {
    const ref = path("where-ref.duckdb");
    await synthesizeNested(options(ref));
    const db = path("where-stopped.duckdb");
    let committed = 0;
    const stopped = await synthesizeNested(
      options(db, {
        onProgress: (e) => {
          if (e.kind === "iteration") committed = e.iteration;
        },
        shouldStop: () => committed >= 2,
      }),
    );
    expect(stopped.stoppedBecause).toBe("interrupted");
    await expect(
      synthesizeNested(options(db, { resume: true, reference: { where: "weight > 30" } })),
    ).rejects.toThrow(
      `the options differ from those of the interrupted run: reference: was {"where":"${WHERE}","targets":[],"tilts":[]}, now {"where":"weight > 30","targets":[],"tilts":[]}`,
    );
    await synthesizeNested(options(db, { resume: true }));
    const rows = async (file: string) =>
      JSON.stringify([
        await query(file, "select * from synthetic"),
        await query(file, "select * from synthetic_members"),
      ]);
    expect(await rows(db)).toBe(await rows(ref));
  }, 120_000);

  it("with --trim, grows a surplus and trims it to the households asked for, members with them", async () => {
    const db = path("trim.duckdb");
    const r = await synthesizeNested(options(db, { reference: {}, trim: 0.2, rows: 50 }));
    expect(r.households).toBe(50);
    const [iterations] = await query<{ grown: number }>(
      db,
      "select max(rows_total)::integer as grown from synthor_iterations",
    );
    expect(iterations?.grown).toBe(60);
    const [out] = await query<{ n: number; orphans: number }>(
      db,
      `select (select count(*) from synthetic)::integer as n,
              (select count(*) from synthetic_members where "hhID" not in (select "hhID" from synthetic))::integer as orphans`,
    );
    expect(out).toEqual({ n: 50, orphans: 0 });
  }, 120_000);

  it("says on the command line what it learned from, and that a member column is not a household one", async () => {
    const run = ["synth", households, "--child", persons, "--key", "hhID", "--rows", "30", "--seed", "1"];
    const ok = await cli([...run, "--where", WHERE]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(
      /\n--where: learned from \d+ of 60 real households; every output household satisfies it/,
    );
    const member = await cli([...run, "--where", "age > 3"]);
    expect(member.code).toBe(1);
    expect(member.stderr).toContain(
      "error: --where reads age, a member column: on nested data it is a condition over the households\n" +
        "  hint: write it over the household columns: hhID, region, HHSize, income, children, weight\n",
    );
  }, 120_000);
});

describe("nested synthesis with --targets and --tilt", () => {
  const targets = path("region.csv");
  writeFileSync(targets, "region,share\nsouth,0.5\nnorth,0.3\n");
  const TILT = { predicate: "HHSize >= 3", factor: 2 };
  const weighted = (db: string, extra: Partial<NestedSynthOptions> = {}) =>
    options(db, {
      rows: 100,
      iterations: 30,
      reference: { targets: [{ kind: "file", path: targets }], tilts: [TILT] },
      ...extra,
    });
  const tables = async (file: string) =>
    JSON.stringify([
      await query(file, "select * from synthetic"),
      await query(file, "select * from synthetic_members"),
    ]);

  it("ends at the target shares and the tilted share, every member with its household", async () => {
    const db = path("weighted.duckdb");
    const r = await synthesizeNested(weighted(db));
    expect(r.households).toBe(100);
    expect(r.targets?.map((t) => [t.target, t.columns])).toEqual([[targets, ["region"]]]);
    expect(r.targets?.[0]?.tvd).toBeLessThan(0.05);
    const shares = await query<{ region: string; share: number }>(
      db,
      "select region, count(*) / 100 as share from synthetic group by region order by region",
    );
    expect(shares.map((x) => x.region)).toEqual(["east", "north", "south"]);
    for (const [region, want] of [
      ["south", 0.5],
      ["north", 0.3],
      ["east", 0.2],
    ] as const) {
      expect(Math.abs((shares.find((x) => x.region === region)?.share ?? 0) - want)).toBeLessThanOrEqual(
        0.03,
      );
    }
    // The tilt doubles the odds of a household of 3 or more, after the targets: the output lands on the
    // weighted reference's share, which fitTilts cuts to.
    const [big] = await query<{ synth: number; reference: number }>(
      db,
      `select avg((HHSize >= 3)::integer) as synth,
              (select avg((HHSize >= 3)::integer) from read_csv('${households}')) as reference
       from synthetic`,
    );
    const p = big?.reference ?? 0;
    expect(Math.abs((big?.synth ?? 0) - (2 * p) / (2 * p + 1 - p))).toBeLessThanOrEqual(0.06);
    const [links] = await query<{ orphans: number; childless: number }>(
      db,
      `select (select count(*) from synthetic_members where "hhID" not in (select "hhID" from synthetic))::integer as orphans,
              (select count(*) from synthetic where "hhID" not in (select "hhID" from synthetic_members))::integer as childless`,
    );
    expect(links).toEqual({ orphans: 0, childless: 0 });
    const recorded = await query<{ n: number }>(db, "select count(*)::integer as n from synthor_targets");
    expect(recorded[0]?.n).toBe(3);
  }, 180_000);

  it("gives the same tables for the same seed, and a resumed run the uninterrupted one's", async () => {
    const again = path("weighted-again.duckdb");
    await synthesizeNested(weighted(again));
    expect(await tables(again)).toBe(await tables(path("weighted.duckdb")));
    const db = path("weighted-stopped.duckdb");
    let committed = 0;
    await synthesizeNested(
      weighted(db, {
        onProgress: (e) => {
          if (e.kind === "iteration") committed = e.iteration;
        },
        shouldStop: () => committed >= 3,
      }),
    );
    await synthesizeNested(weighted(db, { resume: true }));
    expect(await tables(db)).toBe(await tables(again));
  }, 300_000);

  it("refuses a target on a member column: targets are shares of households", async () => {
    const members = path("age.csv");
    writeFileSync(members, "age,share\n4,0.5\n");
    await expect(
      synthesizeNested(
        options(path("age.duckdb"), { reference: { targets: [{ kind: "file", path: members }] } }),
      ),
    ).rejects.toThrow("--targets names age, member column: on nested data targets are shares of households");
  }, 60_000);
});
