/**
 * Nested runs resume as flat ones do: stopped between iterations (the API's shouldStop), killed with
 * SIGKILL or interrupted with Ctrl-C at an iteration the program drives (src/cli/test-pause.ts), a run
 * continued with --resume ends with the tables and files of the uninterrupted run, byte for byte; a
 * source or an option that changed since is refused, with the fix.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PAUSE_MARKER } from "../src/cli/test-pause.ts";
import { Db } from "../src/db/connection.ts";
import { type NestedSynthOptions, synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { cli, fixture, linkedSource, startPaused, tempDir } from "./helpers.ts";

const households = fixture("nested/households.csv");
const persons = fixture("nested/persons.csv");
const tmp = tempDir();
const path = (name: string) => join(tmp.dir, name);
afterAll(() => tmp.cleanup());

function options(db: string, extra: Partial<NestedSynthOptions> = {}): NestedSynthOptions {
  return {
    source: linkedSource(households, persons),
    db,
    threads: 1,
    rows: 60,
    iterations: 6,
    seed: 3,
    planner: (d, s) => new NestedStatsPlanner(d, s, { seed: 3 }),
    ...extra,
  };
}

/** Both output tables of a run database, row by row as stored, and what its runs recorded. */
async function tablesOf(file: string) {
  const db = await Db.open(file, { readOnly: true, threads: 1 });
  try {
    const has = await db.all<{ n: number }>(
      "select count(*)::integer as n from information_schema.tables where table_name = 'synthetic'",
    );
    const runs = await db.all<{ status: string; iterations: number }>(
      "select status, iterations from synthor_runs order by run_id",
    );
    const [done] = await db.all<{ n: number }>("select count(*)::integer as n from synthor_iterations");
    if (has[0]?.n === 0) return { runs, iterations: done?.n ?? 0 };
    return {
      runs,
      iterations: done?.n ?? 0,
      households: JSON.stringify(await db.all("select * from synthetic")),
      members: JSON.stringify(await db.all("select * from synthetic_members")),
      tvd: JSON.stringify(
        await db.all("select iteration, rows_total, tvd from synthor_iterations order by 1"),
      ),
    };
  } finally {
    db.close();
  }
}

/** Options that stop the run cleanly once iteration `after` is committed (as a test pause would). */
function stoppedAfter(after: number): Partial<NestedSynthOptions> {
  let committed = 0;
  return {
    onProgress: (e) => {
      if (e.kind === "iteration") committed = e.iteration;
    },
    shouldStop: () => committed >= after,
  };
}

describe("synthesizeNested with resume", () => {
  let reference: Promise<Awaited<ReturnType<typeof tablesOf>>> | undefined;
  const uninterrupted = () => {
    reference ??= synthesizeNested(options(path("ref.duckdb"))).then(() => tablesOf(path("ref.duckdb")));
    return reference;
  };

  it("continues a stopped run to the uninterrupted one's tables and history", async () => {
    const db = path("stopped.duckdb");
    const stopped = await synthesizeNested(options(db, stoppedAfter(2)));
    expect(stopped.stoppedBecause).toBe("interrupted");
    expect(stopped.iterations).toBe(2);
    expect(await tablesOf(db)).toEqual({ runs: [{ status: "interrupted", iterations: 2 }], iterations: 2 });

    const resumed = await synthesizeNested(options(db, { resume: true }));
    const ref = await uninterrupted();
    expect(resumed.stoppedBecause).toBe("rows");
    expect(resumed.households).toBe(60);
    const now = await tablesOf(db);
    expect(now.runs).toEqual([{ status: "finished", iterations: ref.runs[0]?.iterations }]);
    expect(now.households).toBe(ref.households);
    expect(now.members).toBe(ref.members);
    // The per-unit TVDs at both levels of every iteration: the rebuilt counts are the ones the
    // uninterrupted run kept.
    expect(now.tvd).toBe(ref.tvd);
  }, 120_000);

  it("refuses other options, and a members file that changed, saying what to do", async () => {
    const hh = path("hh.csv");
    const pp = path("pp.csv");
    copyFileSync(households, hh);
    copyFileSync(persons, pp);
    const db = path("changed.duckdb");
    const copied = (extra: Partial<NestedSynthOptions>) =>
      options(db, { source: linkedSource(hh, pp), ...extra });
    await synthesizeNested(copied(stoppedAfter(1)));

    await expect(synthesizeNested(copied({ resume: true, seed: 4 }))).rejects.toMatchObject({
      code: "RUN_STATE",
      message: "the options differ from those of the interrupted run: seed: was 3, now 4",
      hint: "resume with the same source and options, or start over without --resume",
    });
    const original = readFileSync(pp, "utf8");
    const lines = original.split("\n");
    // The same number of members, one value changed.
    lines[1] = (lines[1] ?? "").replace(/,(\d+),/, (_, x: string) => `,${Number(x) + 1},`);
    writeFileSync(pp, lines.join("\n"));
    await expect(synthesizeNested(copied({ resume: true }))).rejects.toMatchObject({
      code: "RUN_STATE",
      message: `${pp} changed since the interrupted run: the same 127 rows, but other values`,
    });
    // Refused without a trace: the run is still there to resume with the data it started from.
    writeFileSync(pp, original);
    const resumed = await synthesizeNested(copied({ resume: true }));
    expect(resumed.households).toBe(60);
    const ref = await uninterrupted();
    expect((await tablesOf(db)).members).toBe(ref.members);
  }, 120_000);

  it("says there is nothing to resume without --db or a run", async () => {
    await expect(synthesizeNested(options(":memory:", { db: undefined, resume: true }))).rejects.toThrow(
      "--resume needs --db",
    );
    const fresh = path("fresh.duckdb");
    await synthesizeNested(options(fresh, { iterations: 1, rows: 5 }));
    await expect(synthesizeNested(options(fresh, { resume: true }))).rejects.toThrow(
      "there is no unfinished run to resume in this database",
    );
  }, 120_000);
});

describe("synthor synth --child ... --resume", () => {
  const RUN = ["synth", households, "--child", persons, "--key", "hhID", "--rows", "60", "--iterations", "6"];
  const run = (name: string) => [...RUN, "--seed", "3", "--db", path(`${name}.duckdb`)];
  const files = (name: string) => ["--out", path(`${name}_h.csv`), "--child-out", path(`${name}_p.csv`)];
  let reference: Promise<{ h: string; p: string }> | undefined;
  const uninterrupted = () => {
    reference ??= cli([...run("cliref"), ...files("cliref"), "--quiet"]).then((r) => {
      if (r.code !== 0) throw new Error(`the reference run failed (${r.code}): ${r.stderr}`);
      return { h: readFileSync(path("cliref_h.csv"), "utf8"), p: readFileSync(path("cliref_p.csv"), "utf8") };
    });
    return reference;
  };

  it("killed with SIGKILL after iteration 2, writes nothing; --resume ends with the uninterrupted files", async () => {
    const paused = startPaused([...run("killed"), ...files("killed")], 2);
    try {
      await paused.paused;
      paused.child.kill("SIGKILL");
      expect(await paused.exited).toEqual({ code: null, signal: "SIGKILL" });
    } finally {
      paused.child.kill("SIGKILL");
    }
    expect(existsSync(path("killed_h.csv"))).toBe(false);
    expect(existsSync(path("killed_p.csv"))).toBe(false);
    expect(await tablesOf(path("killed.duckdb"))).toEqual({
      runs: [{ status: "running", iterations: 0 }],
      iterations: 2,
    });

    const resumed = await cli([...run("killed"), ...files("killed"), "--resume"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(
      "synthor: run 1, planner stats, 60 households in up to 6 iterations, resuming after iteration 2\n",
    );
    const ref = await uninterrupted();
    expect(readFileSync(path("killed_h.csv"), "utf8")).toBe(ref.h);
    expect(readFileSync(path("killed_p.csv"), "utf8")).toBe(ref.p);
  }, 300_000);

  it("interrupted with Ctrl-C exits 130 and says to continue with --resume, which it then does", async () => {
    const paused = startPaused([...run("sigint"), ...files("sigint")], 1);
    let code: number | null;
    try {
      await paused.paused;
      paused.child.kill("SIGINT");
      ({ code } = await paused.exited);
    } finally {
      paused.child.kill("SIGKILL");
    }
    expect(code).toBe(130);
    expect(paused.stderr()).toContain(`${PAUSE_MARKER}1\n`);
    expect(paused.stderr()).toMatch(
      /\nsynthor: interrupted while planning iteration 2; nothing was written; continue with the same command and --resume\n$/,
    );
    expect(existsSync(path("sigint_h.csv"))).toBe(false);
    expect((await tablesOf(path("sigint.duckdb"))).runs).toEqual([{ status: "interrupted", iterations: 1 }]);

    const resumed = await cli([...run("sigint"), ...files("sigint"), "--resume", "--quiet"]);
    expect(resumed.code).toBe(0);
    const ref = await uninterrupted();
    expect(readFileSync(path("sigint_h.csv"), "utf8")).toBe(ref.h);
    expect(readFileSync(path("sigint_p.csv"), "utf8")).toBe(ref.p);
  }, 300_000);
});
