import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAUSE_MARKER } from "../src/cli/test-pause.ts";
import { Db } from "../src/db/connection.ts";
import { cli, startPaused, tempDir } from "./helpers.ts";

// Each CLI call starts Node and DuckDB on the build in dist/, so the calls are few and the independent ones
// run concurrently. The runs that get interrupted are stopped by the program, not by a clock: each pauses
// at a known iteration (SYNTHOR_TEST_PAUSE_AFTER_ITERATION, src/cli/test-pause.ts) and is signalled there.
const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const RUN = ["synth", ECOMMERCE, "--rows", "400", "--iterations", "10", "--seed", "5"];

/** stderr without the first line, which says which planner plans (its wording is the planners' business). */
function afterPlannerLine(stderr: string): string {
  expect(stderr).toMatch(/^synthor: .*planning with the statistical planner/);
  return stderr.slice(stderr.indexOf("\n") + 1);
}

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
  // Started now, beside the runs that get interrupted; the tests that compare with it await it.
  referenceCsv().catch(() => undefined);
});
afterAll(() => tmp?.cleanup());

/** The uninterrupted run every interrupted one must end up identical to; started once. */
let reference: Promise<string> | undefined;
function referenceCsv(): Promise<string> {
  reference ??= cli([...RUN, "--db", path("ref.duckdb"), "--out", path("ref.csv"), "--quiet"]).then((r) => {
    if (r.code !== 0 || r.stderr !== "") throw new Error(`the reference run failed (${r.code}): ${r.stderr}`);
    return readFileSync(path("ref.csv"), "utf8");
  });
  return reference;
}

/** What an interrupted run left in its database. */
async function leftIn(file: string) {
  const db = await Db.open(file, { threads: 1 });
  try {
    const [state] = await db.all<{ iterations: number; output: number; status: string }>(
      `select (select count(*) from synthor_iterations)::integer as iterations,
              (select count(*) from information_schema.tables where table_name = 'synthetic')::integer as output,
              (select string_agg(status, ',') from synthor_runs) as status`,
    );
    return state as { iterations: number; output: number; status: string };
  } finally {
    db.close();
  }
}

/** Temporary files the atomic write of `out` would leave if it were cut short. */
function leftovers(out: string): string[] {
  return readdirSync(tmp.dir).filter((f) => f.startsWith(`.${out}.`) && f.endsWith(".tmp"));
}

describe.concurrent("synthor synth", () => {
  it("refuses to replace an existing --out file, and replaces it with --overwrite", async () => {
    const out = path("exists.json");
    writeFileSync(out, "keep me\n");
    const refused = await cli([...RUN, "--out", out]);
    expect(afterPlannerLine(refused.stderr)).toBe(
      `error: ${out} already exists\n  hint: pass --overwrite to replace it, or choose another --out\n`,
    );
    expect(refused.code).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("keep me\n");

    const replaced = await cli([...RUN, "--out", out, "--overwrite", "--json"]);
    expect(replaced.code).toBe(0);
    const rows = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>[];
    expect(rows).toHaveLength(400);
    expect(Object.keys(rows[0] ?? {})).toEqual([
      "user_age",
      "gender",
      "location_tier",
      "product_category",
      "price",
      "payment_method",
    ]);
    // --json: a machine summary on stdout, and nothing else there.
    const summary = JSON.parse(replaced.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      rows: 400,
      iterations: 10,
      stoppedBecause: "rows",
      planner: "stats",
      outTable: "synthetic",
      outFile: out,
      db: ":memory:",
    });
    expect(typeof (summary.discrepancy as { meanTvd: unknown }).meanTvd).toBe("number");
    // Progress on stderr: plain lines, as stderr is not a terminal here (no carriage returns, no escapes).
    // The stages before iteration 1, then the run.
    const lines = afterPlannerLine(replaced.stderr).split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "synthor: reading the source ...",
      "synthor: profiling columns ...",
      "synthor: summarizing ...",
      "synthor: finding dependency groups ...",
    ]);
    expect(lines[4]).toBe("synthor: run 1, planner stats, 400 rows in up to 10 iterations");
    expect(lines[5]).toMatch(/^synthor: dependency groups: \[/);
    expect(lines[6]).toBe("synthor: measuring ...");
    const progress = lines.filter((l) => l.startsWith("iteration "));
    expect(progress[0]).toMatch(/^iteration 1\/10 {2}rows \d+\/400 {2}mean TVD \d\.\d{4} {2}\d+s left$/);
    expect(progress.at(-1)).toMatch(/^iteration 10\/10 {2}rows 400\/400 {2}mean TVD \d\.\d{4} {2}0s left$/);
    expect(replaced.stderr.includes("\r") || replaced.stderr.includes("\u001b")).toBe(false);
  });

  it("rejects an --out it cannot write before doing any work", async () => {
    const db = path("never.duckdb");
    const r = await cli([...RUN, "--db", db, "--out", path("synthetic.xlsx")]);
    expect(afterPlannerLine(r.stderr)).toBe(
      `error: cannot tell what format to write ${path("synthetic.xlsx")} in\n  hint: end --out with .csv, .parquet, .json or .ndjson\n`,
    );
    expect(r.code).toBe(1);
    expect(existsSync(db)).toBe(false);
    const missing = await cli([...RUN, "--db", db, "--out", path("no/such/dir/s.csv")]);
    expect(afterPlannerLine(missing.stderr)).toBe(
      `error: cannot write ${path("no/such/dir/s.csv")}: the directory ${path("no/such/dir")} does not exist\n  hint: create it first, or choose another --out\n`,
    );
    expect(missing.code).toBe(1);
    expect(existsSync(db)).toBe(false);
  });

  it("prints nothing on stderr with --quiet", async () => {
    const out = path("quiet.ndjson");
    const r = await cli(["synth", ECOMMERCE, "--rows", "50", "--iterations", "3", "--out", out, "--quiet"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(50);
    expect(Object.keys(JSON.parse(lines[0] ?? "{}"))).toHaveLength(6);
  });

  it("leaves no output when killed with SIGKILL, and --resume ends with the uninterrupted table", async () => {
    const db = path("killed.duckdb");
    const out = path("killed.csv");
    // Killed while it waits to plan iteration 4: iterations 1-3 are committed, nothing else.
    const run = startPaused([...RUN, "--db", db, "--out", out], 3);
    try {
      await run.paused;
      run.child.kill("SIGKILL");
      expect(await run.exited).toEqual({ code: null, signal: "SIGKILL" });
    } finally {
      run.child.kill("SIGKILL");
    }
    expect(run.stderr()).toMatch(/^iteration 1\/10 /m);
    expect(existsSync(out)).toBe(false);
    expect(leftovers("killed.csv")).toEqual([]);
    expect(await leftIn(db)).toEqual({ iterations: 3, output: 0, status: "running" });

    const resumed = await cli([...RUN, "--db", db, "--out", out, "--resume"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(
      "synthor: run 1, planner stats, 400 rows in up to 10 iterations, resuming after iteration 3\n",
    );
    expect(readFileSync(out, "utf8")).toBe(await referenceCsv());
  });

  describe.sequential("Ctrl-C", () => {
    const db = () => path("interrupted.duckdb");
    const out = () => path("interrupted.csv");
    let interrupted: Promise<{ code: number | null; stderr: string }> | undefined;
    /** One run interrupted with SIGINT after its first iteration, shared by the tests below. */
    function interruptedRun() {
      interrupted ??= (async () => {
        // SIGINT while it waits to plan iteration 2, iteration 1 committed.
        const run = startPaused([...RUN, "--db", db(), "--out", out()], 1);
        try {
          await run.paused;
          run.child.kill("SIGINT");
          const { code } = await run.exited;
          return { code, stderr: run.stderr() };
        } finally {
          run.child.kill("SIGKILL");
        }
      })();
      return interrupted;
    }

    // An interrupted run exits 130 (main returns the exit code the command set).
    it("exits with code 130", async () => {
      expect((await interruptedRun()).code).toBe(130);
    });

    it("stops at once (the iteration in flight rolled back), writes nothing, and says how to continue", async () => {
      const { stderr } = await interruptedRun();
      expect(stderr).toContain(`${PAUSE_MARKER}1\n\nsynthor: stopping (Ctrl-C again to exit at once)\n`);
      // The last line, after the summary of what the committed iteration holds.
      expect(stderr).toMatch(
        /\nsynthesized \d+ rows in 1 iterations, .*\(stopped: interrupted\)\n[\s\S]*\nsynthor: interrupted while planning iteration 2, after iteration 1; nothing was written\. Continue with the same command and --resume\.\n$/,
      );
      expect(existsSync(out())).toBe(false);
      expect(leftovers("interrupted.csv")).toEqual([]);
      expect(await leftIn(db())).toEqual({ iterations: 1, output: 0, status: "interrupted" });
    });

    it("refuses --resume with other options, then resumes to the uninterrupted table", async () => {
      await interruptedRun();
      const other = await cli([...RUN.slice(0, -1), "6", "--db", db(), "--out", out(), "--resume"]);
      expect(other.code).toBe(1);
      const [message, hint] = afterPlannerLine(other.stderr).split("\n");
      expect(message).toBe("error: the options differ from those of the interrupted run: seed: was 5, now 6");
      expect(hint).toBe("  hint: resume with the same source and options, or start over without --resume");
      expect(existsSync(out())).toBe(false);

      const resumed = await cli([...RUN, "--db", db(), "--out", out(), "--resume"]);
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toContain(", resuming after iteration 1\n");
      expect(readFileSync(out(), "utf8")).toBe(await referenceCsv());
      expect((await leftIn(db())).status).toBe("finished");
    });
  });

  it("writes a timestamp with time zone as the same instant whatever the local time zone", async () => {
    // The real instants lie within 100 seconds of noon UTC; a run in New York must not shift them by 4 hours.
    const out = path("instants.parquet");
    const sql =
      "select timestamptz '2024-06-01 12:00:00+00' + to_seconds(range) as t, ['a', 'b'][range % 2 + 1] as c from range(100)";
    const r = await cli(
      ["synth", "--sql", sql, "--rows", "50", "--iterations", "3", "--out", out, "--quiet"],
      {
        env: { TZ: "America/New_York" },
      },
    );
    expect(r.stderr).toBe("");
    const db = await Db.open(":memory:", { threads: 1 });
    try {
      const [row] = await db.all<{ type: string; lo: number; hi: number }>(
        "select any_value(typeof(t)) as type, min(epoch(t)) - $noon as lo, max(epoch(t)) - $noon as hi from read_parquet($out)",
        { out, noon: Date.UTC(2024, 5, 1, 12) / 1000 },
      );
      expect(row?.type).toBe("TIMESTAMP WITH TIME ZONE");
      expect(row?.lo).toBeGreaterThanOrEqual(0);
      expect(row?.hi).toBeLessThanOrEqual(99);
    } finally {
      db.close();
    }
  });

  // --seed is checked when parsed: "--seed abc" is a usage error naming the option.
  it("rejects a --seed that is not a whole number, naming the option", async () => {
    const r = await cli([...RUN.slice(0, -1), "abc", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: --seed /);
  });

  it("says when there is nothing to resume", async () => {
    const fresh = await cli([...RUN, "--db", path("fresh.duckdb"), "--resume"]);
    expect(afterPlannerLine(fresh.stderr)).toBe(
      `error: there is no database ${path("fresh.duckdb")} to resume from\n  hint: check the --db path, or start a new run without --resume\n`,
    );
    expect(fresh.code).toBe(1);
    expect(existsSync(path("fresh.duckdb"))).toBe(false);
    const expected =
      "error: there is no unfinished run to resume in this database\n  hint: start a new run without --resume\n";
    // A finished run is nothing to resume either.
    await referenceCsv();
    const finished = await cli([...RUN, "--db", path("ref.duckdb"), "--resume"]);
    expect(afterPlannerLine(finished.stderr)).toBe(expected);
    expect(finished.code).toBe(1);
    const noDb = await cli([...RUN, "--resume"]);
    expect(afterPlannerLine(noDb.stderr)).toBe(
      `error: --resume needs --db\n  hint: resume reads the interrupted run from its database: pass the same --db\n`,
    );
    expect(noDb.code).toBe(1);
  });
});
