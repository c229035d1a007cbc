/**
 * `synthor eval` end to end, in process (the command is built by evalCommand()): the text summary, the
 * JSON output, the report and the run history of a `synthor synth --db` database, and the errors users
 * see for tables that do not fit together.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { quoteLiteral } from "../src/db/quote.ts";
import { createHistoryTables } from "../src/history.ts";
import { runEval } from "./eval-run.ts";
import { fixture, tempDir } from "./helpers.ts";

const run = (args: string[]) => runEval(args);

const real = fixture("eval/real.csv");
const synth = fixture("eval/synth.csv");
const holdout = fixture("eval/holdout.csv");
let tmp: { dir: string; cleanup: () => void };

beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

describe("synthor eval", () => {
  it("prints every part of the evaluation", async () => {
    const queries = join(tmp.dir, "q.sql");
    await import("node:fs").then((fs) =>
      fs.writeFileSync(queries, "-- name: mean age\nselect avg(age) from data\n"),
    );
    const { stdout, error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--holdout",
      holdout,
      "--target",
      "churn",
      "--queries",
      queries,
      "--group",
      "plan,churn",
    ]);
    expect(error).toBeUndefined();
    expect(stdout).toContain(`${synth} (100 rows) against ${real} (100 rows), holdout ${holdout}`);
    expect(stdout).toContain(
      "quality score 0.816 (SDMetrics QualityReport: column shapes 0.906, column pair trends 0.725; over all pairs 0.78)",
    );
    expect(stdout).toMatch(/detection \(C2ST, 100 rows per side, 5-fold\): logistic regression accuracy/);
    expect(stdout).toContain('a"; drop table x; --');
    expect(stdout).toContain("utility: predict churn (2 classes)");
    expect(stdout).toContain("mean age");
    expect(stdout).toContain("privacy: 3 of 100 synthetic rows identical to a real row (holdout: 0 of 50)");
    expect(stdout).toContain("warning: 3 synthetic rows (3%) are identical to a real row (holdout rows: 0%)");
  });

  it("prints JSON with every metric described", async () => {
    const { stdout } = await run(["--real", real, "--synth", synth, "--no-detection", "--json"]);
    const e = JSON.parse(stdout);
    expect(e.fidelity.scores.quality).toBeCloseTo(0.815568795076574, 12);
    expect(e.detection).toBeNull();
    expect(e.privacy.dcr.baselineKind).toBe("real");
    expect(e.metrics.map((m: { key: string }) => m.key)).toContain("fidelity.columns[].w1");
    for (const m of e.metrics) expect(["minimize", "maximize", "closer to the baseline"]).toContain(m.goal);
  });

  it("reads the synthetic table and the convergence curve from a synth database", async () => {
    const path = join(tmp.dir, "run.duckdb");
    const db = await Db.open(path);
    try {
      await createHistoryTables(db);
      await db.exec(`create table synthetic as select * from read_csv(${quoteLiteral(synth)})`);
      await db.exec(
        `insert into synthor_runs (run_id, status, planner) values (1, 'finished', 'stats');
         insert into synthor_iterations (run_id, iteration, rows_total, mean_tvd, marginal_tvd, group_tvd, max_tvd)
         values (1, 1, 40, 0.5, 0.4, 0.6, 0.9), (1, 2, 80, 0.2, 0.1, 0.3, 0.5), (1, 3, 100, 0.1, 0.05, 0.15, 0.3)`,
      );
    } finally {
      db.close();
    }
    const report = join(tmp.dir, "run.html");
    const { stdout, error } = await run(["--db", path, "--real", real, "--no-detection", "--report", report]);
    expect(error).toBeUndefined();
    expect(stdout).toContain(`table synthetic of ${path} (100 rows)`);
    expect(stdout).toContain("run history: 3 iterations of run 1");
    const html = readFileSync(report, "utf8");
    expect(html).toContain("Run 1 (stats planner, finished): 3 iterations, 100 rows, final mean TVD 0.1.");
    expect(html).toContain('aria-label="convergence"');
    // Named as --synth, the run database is found: its table synthetic and its history.
    const found = await run(["--synth", path, "--real", real, "--no-detection"]);
    expect(found.error).toBeUndefined();
    expect(found.stdout).toContain(`table synthetic of ${path} (100 rows)`);
    expect(found.stdout).toContain("run history: 3 iterations of run 1");
  });

  it("writes a self-contained report", async () => {
    const report = join(tmp.dir, "report.html");
    await run([
      "--real",
      real,
      "--synth",
      synth,
      "--holdout",
      holdout,
      "--target",
      "churn",
      "--report",
      report,
    ]);
    expect(existsSync(report)).toBe(true);
    expect(statSync(report).size).toBeLessThan(5 * 1024 * 1024);
    const html = readFileSync(report, "utf8");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain("No run history");
  });
});

describe("synthor eval on tables that do not fit together", () => {
  it("names a column the synthetic table lacks", async () => {
    const { error } = await run(["--real", real, "--synth", fixture("eval/synth_missing.csv")]);
    expect(error?.describe()).toBe(
      'error: the synthetic table has no column "income", which the real table has\n' +
        "  hint: give it the real table's columns (synthor synth keeps them), or leave the column out with --ignore income",
    );
  });

  it("names every column of another type, together", async () => {
    const { error } = await run(["--real", real, "--synth", fixture("eval/synth_types.csv")]);
    expect(error?.message).toBe(
      "2 problems in the input:\n" +
        '  1. column "age" is BIGINT in the real table but VARCHAR in the synthetic table\n' +
        '  2. column "churn" is BOOLEAN in the real table but VARCHAR in the synthetic table',
    );
  });

  it("names a column only the synthetic table has", async () => {
    const { error } = await run(["--real", real, "--synth", fixture("eval/synth_extra.csv")]);
    expect(error?.describe()).toBe(
      'error: the synthetic table has a column "note" that the real table does not have\n' +
        '  hint: compare tables with the same columns: drop "note" from the synthetic table, or check that the files belong together',
    );
  });

  it("checks the holdout too, and --ignore leaves a column out", async () => {
    const { error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--holdout",
      fixture("eval/synth_missing.csv"),
    ]);
    expect(error?.message).toBe('the holdout table has no column "income", which the real table has');
    const ignored = await run([
      "--real",
      real,
      "--synth",
      fixture("eval/synth_missing.csv"),
      "--ignore",
      "income",
      "--no-detection",
      "--no-privacy",
    ]);
    expect(ignored.error).toBeUndefined();
    expect(ignored.stdout).not.toMatch(/^income /m);
  });

  it("says an empty synthetic table has no rows", async () => {
    const { error } = await run(["--real", real, "--synth", fixture("eval/synth_empty.csv")]);
    expect(error?.describe()).toBe(
      `error: the synthetic table ${fixture("eval/synth_empty.csv")} has no rows\n` +
        "  hint: evaluation compares rows: make a synthetic table with synthor synth, then run synthor eval again",
    );
  });

  it("asks for a synthetic table", async () => {
    const { error } = await run(["--real", real]);
    expect(error?.message).toBe("no synthetic table given");
  });
});
