/**
 * The reference table (src/reference.ts): --where, --targets, --tilt. Runs are small (400 real trips,
 * 400 synthetic rows, 20 iterations) so the file stays fast; the shares asserted on the reference itself
 * are exact, those on the synthetic table have the loop's error.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { type SynthOptions, type SynthResult, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { buildReference, parseTilt } from "../src/reference.ts";
import { readSource } from "../src/source.ts";
import { cli, fixture, tempDir, withDb } from "./helpers.ts";

const TRIPS = fixture("reference/trips.csv");
const TIME_ACTIVITY = fixture("reference/time_activity.csv");
const MODE_SHARE = fixture("reference/mode_share.csv");

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

function options(extra: Partial<SynthOptions>): SynthOptions {
  const seed = extra.seed ?? 1;
  return {
    source: { kind: "file", path: TRIPS },
    seed,
    iterations: 20,
    threads: 1,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed }),
    ...extra,
  };
}

/** The reference built from the trips fixture, with a query run on it. */
async function onReference<T>(
  reference: Parameters<typeof buildReference>[2],
  sql: string,
): Promise<{ rows: T[]; info: Awaited<ReturnType<typeof buildReference>> }> {
  return withDb(async (db) => {
    const real = await readSource(db, { kind: "file", path: TRIPS });
    const info = await buildReference(db, real, reference);
    return { rows: await db.all<T & Record<string, unknown>>(sql), info };
  });
}

/** The error a promise rejects with, as the CLI prints it. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SynthorError) return err.describe();
    throw err;
  }
  throw new Error("expected an error");
}

async function inDb<T>(file: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await Db.open(file, { threads: 1 });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

describe("parseTilt", () => {
  it("splits at the last =>", () => {
    expect(parseTilt("time_bin = '20-24' and dest = 'Z12' => 3")).toEqual({
      predicate: "time_bin = '20-24' and dest = 'Z12'",
      factor: 3,
    });
    expect(parseTilt("a => b => 0.5")).toEqual({ predicate: "a => b", factor: 0.5 });
  });

  it("says what is wrong with a tilt and how to write one", () => {
    const message = (text: string) => {
      try {
        parseTilt(text);
      } catch (err) {
        return (err as SynthorError).describe();
      }
      return "";
    };
    expect(message("dest = 'Z12' * 3")).toBe(
      `error: --tilt "dest = 'Z12' * 3" has no "=> factor"\n  hint: write a predicate over the columns, then => and the factor its rows' share is multiplied by, e.g. --tilt "time_bin = '20-24' and dest = 'Z12' => 3"`,
    );
    expect(message("dest = 'Z12' => 0")).toBe(
      `error: --tilt "dest = 'Z12' => 0": the factor must be a number above 0, not "0"\n  hint: e.g. => 3 to triple the matching rows' share, => 0.5 to halve it; to remove rows, use --where "not (dest = 'Z12')"`,
    );
    expect(message("dest = 'Z12' => -2")).toMatch(/the factor must be a number above 0, not "-2"/);
    expect(message("dest = 'Z12' => lots")).toMatch(/not "lots"/);
    expect(message(" => 2")).toMatch(/has no predicate before =>/);
  });
});

describe("the reference table", () => {
  it("keeps the rows --where matches", async () => {
    const { rows, info } = await onReference<{ n: number; bad: number }>(
      { where: "time_bin = '20-24' and age >= 40" },
      "select count(*) as n, count(*) filter (where not (time_bin = '20-24' and age >= 40)) as bad from synthor_reference",
    );
    expect(rows[0]?.bad).toBe(0);
    expect(info.rows).toBe(rows[0]?.n);
    expect(info.matchingRows).toBe(rows[0]?.n);
    expect(info.realRows).toBe(400);
    expect(info.weighted).toBe(false);
  });

  it("adds a column only the targets have, in the targets' exact shares", async () => {
    const { rows, info } = await onReference<{ time_bin: string; activity: string; n: number }>(
      { targets: [{ kind: "file", path: TIME_ACTIVITY }] },
      "select time_bin, activity, count(*) as n from synthor_reference group by all order by all",
    );
    expect(info.added).toEqual(["activity"]);
    expect(info.rows).toBe(400);
    // Counts 8,2 | 30,15,5 | 20,15,5 | 20,10,10 | 12,8 of 160: times 400/160 = 2.5, to within a row.
    const target = readFileSync(TIME_ACTIVITY, "utf8").trim().split("\n").slice(1);
    const want = new Map(
      target.map((l) => l.split(",")).map(([t, a, n]) => [`${t} ${a}`, (Number(n) * 400) / 160]),
    );
    expect(rows).toHaveLength(want.size);
    for (const r of rows)
      expect(Math.abs(r.n - (want.get(`${r.time_bin} ${r.activity}`) ?? -99))).toBeLessThanOrEqual(1);
    expect(info.columns.map((c) => c.name)).toEqual([
      "trip_id",
      "time_bin",
      "origin",
      "dest",
      "mode",
      "age",
      "minutes",
      "activity",
    ]);
  });

  it("fixes the shares a share table names and gives the rest to the other cells in their real proportions", async () => {
    // mode_share.csv: car 0.5, walk 0.1; bus (unnamed) takes the other 0.4.
    const { rows } = await onReference<{ mode: string; n: number }>(
      { targets: [{ kind: "file", path: MODE_SHARE }] },
      "select mode, count(*) as n from synthor_reference group by all order by all",
    );
    expect(rows).toEqual([
      { mode: "bus", n: 160 },
      { mode: "car", n: 200 },
      { mode: "walk", n: 40 },
    ]);
  });

  it("tilts the share of the matching rows by exactly the factor relative to the others", async () => {
    // After the targets: 20-24 holds 20/160 of the rows (50 of 400); times 3 against the others' 350,
    // 150 / (150 + 350) of 400 = 120 rows.
    const { rows } = await onReference<{ n: number }>(
      {
        targets: [{ kind: "file", path: TIME_ACTIVITY }],
        tilts: [parseTilt("time_bin = '20-24' => 3")],
      },
      "select count(*) as n from synthor_reference where time_bin = '20-24'",
    );
    expect(rows[0]?.n).toBe(120);
    // Without targets: dest Z12 holds 74 of the 400 real rows; halved against the other 326, 37 / 363
    // of 400 = 40.8 rows, 41 whole ones.
    const real = await onReference<{ n: number }>(
      {},
      "select count(*) as n from synthor_real where dest = 'Z12'",
    );
    expect(real.rows[0]?.n).toBe(74);
    const halved = await onReference<{ n: number }>(
      { tilts: [parseTilt("dest = 'Z12' => 0.5")] },
      "select count(*) as n from synthor_reference where dest = 'Z12'",
    );
    expect(halved.rows[0]?.n).toBe(41);
  });

  it("takes targets from SQL, the last column a count", async () => {
    const { rows } = await onReference<{ mode: string; n: number }>(
      { targets: [{ kind: "sql", sql: "select 'car' as mode, 3 as c union all select 'bus', 1;" }] },
      "select mode, count(*) as n from synthor_reference group by all order by all",
    );
    // A full count table: car 3/4, bus 1/4, walk (unnamed) nothing.
    expect(rows).toEqual([
      { mode: "bus", n: 100 },
      { mode: "car", n: 300 },
    ]);
  });
});

describe("errors", () => {
  const build = (reference: Parameters<typeof buildReference>[2]) =>
    failure(onReference(reference, "select 1"));
  const targetFile = (name: string, text: string) => {
    writeFileSync(path(name), text);
    return { kind: "file" as const, path: path(name) };
  };

  it("a --where that matches no row, or is not SQL", async () => {
    expect(await build({ where: "mode = 'Car'" })).toBe(
      `error: --where mode = 'Car' matches none of the 400 real rows\n  hint: check the values' spelling and case (see them with: synthor profile), e.g. synthor query "select distinct COLUMN from ..."`,
    );
    expect(await build({ where: "mode = = 'car'" })).toMatch(
      /^error: --where is not a valid condition over the real columns: Parser Error: syntax error at or near "=" in "= 'car'"\n {2}hint: write it as the body of an SQL where clause, e\.g\. .*; the columns are \(as written in SQL\): /,
    );
    expect(await build({ where: "colour = 'red'" })).toMatch(/Referenced column "colour" not found/);
  });

  it("a target column that looks like a misspelt real column", async () => {
    expect(await build({ targets: [targetFile("typo.csv", "time_bn,n\n06-10,3\n")] })).toBe(
      `error: the targets ${path("typo.csv")} name column "time_bn", which the real table does not have\n  hint: did you mean time_bin? (a column the real table lacks is added to the synthetic one; name it unlike any real column)`,
    );
  });

  it("shares over 1, a missing count column, a cell no real row has", async () => {
    expect(await build({ targets: [targetFile("over.csv", "mode,share\ncar,0.7\nbus,0.5\n")] })).toBe(
      `error: the shares in the targets ${path("over.csv")} sum to 1.2, over 1\n  hint: named shares are fixed and the unnamed cells take what is left, so they sum to at most 1; for proportions that need not sum to 1, name the column n or count`,
    );
    expect(await build({ targets: [targetFile("nocount.csv", "mode,weight\ncar,1\n")] })).toBe(
      `error: the targets ${path("nocount.csv")} end with column "weight", not a count column\n  hint: its last column is n or count (counts, turned into shares by their sum) or share (fixed shares of the named cells)`,
    );
    expect(await build({ targets: [targetFile("never.csv", "mode,n\ncar,5\nplane,1\n")] })).toBe(
      `error: the targets ${path("never.csv")} give a share to 1 cell no real row has (mode): (plane)\n  hint: weighting can only repeat real rows, so a value (or combination) the real rows lack cannot be reached: check its spelling, give it share 0, or drop it (with --where, it may be filtered out)`,
    );
    // With --where, a target cell can lose its rows.
    expect(
      await build({ where: "mode <> 'walk'", targets: [targetFile("walk.csv", "mode,n\nwalk,1\ncar,1\n")] }),
    ).toMatch(/give a share to 1 cell no real row has \(mode\): \(walk\)/);
  });

  it("targets that contradict each other", async () => {
    // car 0.5 in one table, 1 of 4 in the other: no weighting meets both.
    expect(
      await build({
        targets: [
          targetFile("half.csv", "mode,share\ncar,0.5\n"),
          targetFile("quarter.csv", "mode,n\ncar,1\nbus,3\n"),
        ],
      }),
    ).toMatch(
      /^error: the targets contradict each other: no weighting of the real rows meets them all \(off by [0-9.]+ at .*\)\n {2}hint: two target tables that share columns must agree on those columns' shares; drop or fix one of them$/,
    );
  });

  it("named shares that leave mass with nowhere to go, and a bad tilt condition", async () => {
    expect(
      await build({ targets: [targetFile("all.csv", "mode,share\ncar,0.5\nbus,0.3\nwalk,0.1\n")] }),
    ).toBe(
      `error: the shares in the targets ${path("all.csv")} sum to 0.9, but the cells they name hold every row: the other 0.1 has nowhere to go\n  hint: make the shares sum to 1, or name the column n or count to have them read as proportions`,
    );
    expect(await build({ tilts: [{ predicate: "dset = 'Z12'", factor: 2 }] })).toMatch(
      /^error: --tilt dset = 'Z12' => 2: the condition is not valid over the columns: .*"dset" not found/,
    );
  });
});

describe("synthesis from the reference", () => {
  let targeted: SynthResult;
  const targetedDb = () => path("targets.duckdb");
  beforeAll(async () => {
    targeted = await synthesize(
      options({
        db: targetedDb(),
        rows: 800,
        out: path("targets.csv"),
        reference: { targets: [{ kind: "file", path: TIME_ACTIVITY }] },
      }),
    );
  });

  it("matches the targets, reports how far each ended, and keeps that in synthor_targets", async () => {
    expect(targeted.rows).toBe(800);
    const [fit] = targeted.targets ?? [];
    expect(fit?.columns).toEqual(["time_bin", "activity"]);
    expect(fit?.cells).toHaveLength(14);
    expect(fit?.tvd).toBeLessThan(0.02);
    expect(targeted.reference).toMatchObject({ added: ["activity"], referenceRows: 800, whereViolations: 0 });
    await inDb(targetedDb(), async (db) => {
      const rows = await db.all<{ cells: number; tvd: number; columns: string }>(
        "select count(*) as cells, any_value(target_tvd) as tvd, any_value(columns)::varchar as columns from synthor_targets where run_id = 1",
      );
      expect(rows[0]).toEqual({ cells: 14, tvd: fit?.tvd, columns: '["time_bin","activity"]' });
      // The target table is a dependency group the loop grounds and reports.
      const [group] = await db.all<{ n: number }>(
        `select count(*) as n from synthor_iterations
         where iteration = 1 and list_contains(json_keys(tvd), '["time_bin","activity"]')`,
      );
      expect(group?.n).toBe(1);
      const [config] = await db.all<{ c: string }>("select config::varchar as c from synthor_runs");
      const reference = JSON.parse(config?.c ?? "{}").reference;
      expect(reference.targets[0].path).toBe(TIME_ACTIVITY);
      expect(reference.targets[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    });
    expect(readFileSync(path("targets.csv"), "utf8").split("\n")[0]).toBe(
      "trip_id,time_bin,origin,dest,mode,age,minutes,activity",
    );
  });

  it("with --where, every output row satisfies it, even where draws between real values would not", async () => {
    // age <> 35: quantile draws between 34 and 36 land on 35; they are dropped and regrown.
    const where = "time_bin in ('06-10', '16-20') and age <> 35 and minutes < 30";
    const r = await synthesize(options({ db: path("where.duckdb"), reference: { where } }));
    const [real] = await withDb((db) =>
      db.all<{ n: number }>(`select count(*) as n from read_csv($f) where ${where}`, { f: TRIPS }),
    );
    expect(r.rows).toBe(real?.n);
    expect(r.reference?.whereViolations).toBe(0);
    const [out] = await inDb(path("where.duckdb"), (db) =>
      db.all<{ n: number; bad: number }>(
        `select count(*) as n, count(*) filter (where not (${where})) as bad from synthetic`,
      ),
    );
    expect(out).toEqual({ n: r.rows, bad: 0 });
  });

  it("regrows the rows it drops for --where in more iterations, up to --rows", async () => {
    // Even tenths of a minute: draws between two real values land on odd tenths about half the time.
    const where = "round(minutes * 10)::integer % 2 = 0";
    const r = await synthesize(options({ reference: { where }, out: path("regrow-whole.csv") }));
    expect(r.reference?.whereDropped).toBeGreaterThan(50);
    expect(r.rows).toBe(r.reference?.matchingRows);
    expect(r.iterations).toBeGreaterThan(20);
    expect(r.reference?.whereViolations).toBe(0);
    // Interrupted in a round that regrows dropped rows, then resumed: the uninterrupted table.
    let calls = 0;
    const cut = await synthesize(
      options({ reference: { where }, db: path("regrow.duckdb"), shouldStop: () => ++calls > 21 }),
    );
    expect([cut.stoppedBecause, cut.iterations]).toEqual(["interrupted", 21]);
    const resumed = await synthesize(
      options({ reference: { where }, db: path("regrow.duckdb"), resume: true, out: path("regrow.csv") }),
    );
    expect([resumed.rows, resumed.iterations, resumed.reference?.whereDropped]).toEqual([
      r.rows,
      r.iterations,
      r.reference?.whereDropped,
    ]);
    expect(readFileSync(path("regrow.csv"), "utf8")).toBe(readFileSync(path("regrow-whole.csv"), "utf8"));
  });

  it("refuses --resume when the targets file changed", async () => {
    const file = path("resume_targets.csv");
    writeFileSync(file, readFileSync(TIME_ACTIVITY, "utf8"));
    const db = path("resume.duckdb");
    let calls = 0;
    const first = await synthesize(
      options({
        db,
        rows: 200,
        iterations: 5,
        reference: { targets: [{ kind: "file", path: file }], where: "mode <> 'walk'" },
        shouldStop: () => ++calls > 1,
      }),
    );
    expect(first.stoppedBecause).toBe("interrupted");
    writeFileSync(file, readFileSync(TIME_ACTIVITY, "utf8").replace("20-24,leisure,12", "20-24,leisure,13"));
    const message = await failure(
      synthesize(
        options({
          db,
          rows: 200,
          iterations: 5,
          resume: true,
          reference: { targets: [{ kind: "file", path: file }], where: "mode <> 'walk'" },
        }),
      ),
    );
    expect(message).toMatch(
      /^error: the options differ from those of the interrupted run: reference: was \{"where":"mode <> 'walk'","targets":\[\{"path":".*resume_targets.csv","sha256":"[0-9a-f]{64}"\}\],"tilts":\[\]\}, now .*"sha256":"[0-9a-f]{64}"/,
    );
  });

  it("resumes an interrupted run with --where, targets and a tilt to the uninterrupted table", async () => {
    const reference = {
      where: "age <> 35 and mode <> 'walk'",
      targets: [{ kind: "file" as const, path: TIME_ACTIVITY }],
      tilts: [parseTilt("dest = 'Z12' => 2")],
    };
    const run = (name: string, extra: Partial<SynthOptions>) =>
      synthesize(
        options({
          db: path(`${name}.duckdb`),
          out: path(`${name}.csv`),
          rows: 200,
          iterations: 6,
          reference,
          ...extra,
        }),
      );
    await run("whole", {});
    let calls = 0;
    expect((await run("cut", { shouldStop: () => ++calls > 3 })).stoppedBecause).toBe("interrupted");
    await run("cut", { resume: true });
    expect(readFileSync(path("cut.csv"), "utf8")).toBe(readFileSync(path("whole.csv"), "utf8"));
  });

  it("is deterministic: the same seed gives the same table with targets and tilts", async () => {
    const run = (out: string) =>
      synthesize(
        options({
          rows: 300,
          iterations: 10,
          out: path(out),
          reference: {
            targets: [{ kind: "file", path: TIME_ACTIVITY }],
            tilts: [parseTilt("time_bin = '20-24' and dest = 'Z12' => 3")],
          },
        }),
      );
    await run("a.csv");
    await run("b.csv");
    expect(readFileSync(path("a.csv"), "utf8")).toBe(readFileSync(path("b.csv"), "utf8"));
    // The end of the run brings the tilted rows to their reference share (fitTilts; the target fit after
    // it moves a few), to within 4 of 300 rows.
    const match = "time_bin = '20-24' and dest = 'Z12'";
    const reference = await onReference<{ s: number }>(
      {
        targets: [{ kind: "file", path: TIME_ACTIVITY }],
        tilts: [parseTilt(`${match} => 3`)],
      },
      `select avg((${match})::integer) as s from synthor_reference`,
    );
    const [output] = await withDb((db) =>
      db.all<{ s: number }>(`select avg((${match})::integer) as s from read_csv($f)`, { f: path("a.csv") }),
    );
    expect(Math.abs((output?.s ?? 0) - (reference.rows[0]?.s ?? 0))).toBeLessThanOrEqual(4 / 300);
  });
});

describe("synthor synth --where --targets --tilt", () => {
  it("takes the flags the mobility example uses and prints how the targets and --where ended", async () => {
    const db = path("cli.duckdb");
    const args = [
      "synth",
      TRIPS,
      "--targets",
      TIME_ACTIVITY,
      "--rows",
      "200",
      "--iterations",
      "5",
      "--db",
      db,
    ];
    const r = await cli([...args, "--tilt", "time_bin = '20-24' and dest = 'Z12' => 3", "--json", "--quiet"]);
    expect(r.stderr).toBe("");
    const result = JSON.parse(r.stdout) as SynthResult;
    expect(result.rows).toBe(200);
    expect(result.targets?.[0]?.target).toBe(TIME_ACTIVITY);
    const summary = await cli([...args, "--where", "mode <> 'walk'"]);
    expect(summary.code).toBe(0);
    expect(summary.stderr).toMatch(
      /\n--where: learned from \d+ of 400 real rows; every output row satisfies it/,
    );
    expect(summary.stderr).toContain("\ncolumns added from the targets: activity\n");
    expect(summary.stderr).toContain(`\ntarget ${TIME_ACTIVITY} (time_bin x activity): TVD `);
    const bad = await cli([...args, "--tilt", "dest = 'Z12' => x", "--quiet"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: --tilt "dest = 'Z12' => x": the factor must be a number above 0, not "x"/,
    );
  });
});
