/** Train-synthetic-test-real on the fixture tables, and SQL utility queries over both sides. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { InputProblems, SynthorError } from "../src/errors.ts";
import { parseQueries, runQueries } from "../src/evaluate/queries.ts";
import { evaluateUtility } from "../src/evaluate/utility.ts";
import type { ColumnProfile } from "../src/profile.ts";
import { loadPair } from "./fixtures/eval/load.ts";

let db: Db;
let profiles: ColumnProfile[];
beforeAll(async () => {
  ({ db, profiles } = await loadPair());
});
afterAll(() => db?.close());

describe("evaluateUtility", () => {
  it("trains three models on each side and tests them on the holdout, the same way twice", async () => {
    const run = () =>
      evaluateUtility(db, {
        real: "real",
        synth: "synth",
        holdout: "holdout",
        profiles,
        target: "churn",
        seed: 3,
      });
    const u = await run();
    expect(await run()).toEqual(u);
    expect(u.testSource).toBe("holdout");
    expect(u.rows).toEqual({ trainSynth: 100, trainReal: 100, test: 50 });
    expect(u.classes.sort()).toEqual(["false", "true"]);
    expect(u.models.map((m) => m.model)).toEqual(["logistic_regression", "decision_tree", "random_forest"]);
    // The holdout's majority class is "no churn": 1 - (share of churners among the 50 holdout rows).
    expect(u.majorityAccuracy).toBeGreaterThan(0.5);
    for (const m of u.models) {
      for (const s of [m.synth, m.real]) {
        // A share of the 50 holdout rows: a whole number of them right, between none and all.
        const right = s.accuracy * 50;
        expect(right).toBeCloseTo(Math.round(right), 9);
        expect(Math.round(right)).toBeGreaterThanOrEqual(1);
        expect(Math.round(right)).toBeLessThanOrEqual(50);
        expect(s.auc).toBeGreaterThanOrEqual(0);
        expect(s.auc).toBeLessThanOrEqual(1);
      }
      // Trained on the real rows (seeded, so the same every run), each model beats always answering the
      // majority class, and ranks churners above the rest more often than not: it learned something.
      expect(m.real.accuracy).toBeGreaterThan(u.majorityAccuracy);
      expect(m.real.auc).toBeGreaterThan(0.5);
      expect(m.accuracyDiff).toBeCloseTo(m.synth.accuracy - m.real.accuracy, 12);
    }
  });

  it("splits a fifth of the real rows off when there is no holdout", async () => {
    const u = await evaluateUtility(db, {
      real: "real",
      synth: "synth",
      profiles,
      target: "plan",
      models: ["decision_tree"],
    });
    expect(u.testSource).toBe("split");
    expect(u.rows).toEqual({ trainSynth: 100, trainReal: 80, test: 20 });
  });

  it("explains a numeric or unknown target", async () => {
    await expect(
      evaluateUtility(db, { real: "real", synth: "synth", profiles, target: "age" }),
    ).rejects.toThrow(
      "--target age is numeric; the utility test trains classifiers, which predict categories",
    );
    const unknown = evaluateUtility(db, { real: "real", synth: "synth", profiles, target: "agee" });
    await expect(unknown).rejects.toThrow(SynthorError);
    await expect(unknown).rejects.toThrow('--target names column "agee", which the real table does not have');
  });
});

describe("utility queries", () => {
  it("splits a file at its -- name: headers", () => {
    const text =
      "-- shared notes\n-- name: high earners\nselect 1 from data;\n\n--name:Second one\nselect\n 2\n";
    expect(parseQueries(text)).toEqual([
      { name: "high earners", sql: "select 1 from data" },
      { name: "Second one", sql: "select\n 2" },
    ]);
  });

  it("reports every problem of a query file together", () => {
    const text =
      "select 0\n-- name:\nselect 1\n-- name: a\n-- just a comment\n-- name: b\nselect 2\n-- name: b\nselect 3";
    expect(() => parseQueries(text, "q.sql")).toThrow(InputProblems);
    try {
      parseQueries(text, "q.sql");
    } catch (err) {
      expect((err as InputProblems).problems.map((p) => p.message)).toEqual([
        "q.sql line 2: a query header without a name",
        'q.sql: query "a" (line 4) has no SQL',
        'q.sql: two queries are named "b"',
        'q.sql has SQL before its first "-- name:" header',
      ]);
    }
  });

  it("runs each query over both tables and compares the values", async () => {
    const queries = parseQueries(`-- name: mean age
select avg(age) from data
-- name: pro share
select avg((plan = 'pro')::int) as share, count(*) as n from data
-- name: churners
select count(*) filter (where churn) from data`);
    const results = await runQueries(db, { real: "real", synth: "holdout", queries });
    const [real] = await db.all<{ a: number; b: number }>(
      "select (select avg(age) from real) as a, (select avg(age) from holdout) as b",
    );
    const mean = results.find((r) => r.name === "mean age");
    expect(mean?.real).toBeCloseTo(real?.a ?? Number.NaN, 12);
    expect(mean?.synth).toBeCloseTo(real?.b ?? Number.NaN, 12);
    expect(mean?.absError).toBeCloseTo(Math.abs((real?.b ?? 0) - (real?.a ?? 0)), 12);
    expect(mean?.relError).toBeCloseTo(Math.abs((real?.b ?? 0) - (real?.a ?? 0)) / (real?.a ?? 1), 12);
    expect(results.map((r) => r.name)).toEqual(["mean age", "pro share.share", "pro share.n", "churners"]);
    expect(results.find((r) => r.name === "pro share.n")).toMatchObject({
      real: 100,
      synth: 50,
      absError: 50,
      relError: 0.5,
    });
  });

  it("names the queries that fail or do not return one row of numbers", async () => {
    const queries = parseQueries(`-- name: typo
select avg(agee) from data
-- name: many rows
select age from data
-- name: text
select 'x' as label from data limit 1
-- name: wrong table
select 1 from people`);
    const run = runQueries(db, { real: "real", synth: "synth", queries });
    await expect(run).rejects.toThrow(InputProblems);
    try {
      await run;
    } catch (err) {
      const problems = (err as InputProblems).problems;
      expect(problems.map((p) => p.subject)).toEqual(["typo", "many rows", "text", "wrong table"]);
      expect(problems[0]?.message).toMatch(/^query "typo" failed on the real table: Binder Error/);
      expect(problems[1]?.message).toBe('query "many rows" on the real table: it returned 100 rows, not one');
      expect(problems[2]?.message).toBe(
        'query "text" on the real table: its column "label" is not a number ("x")',
      );
      expect(problems[3]?.hint).toBe("queries read the table as data, e.g. select avg(age) from data");
    }
  });

  it("creates -- view: sections on each side before the queries, and leaves them out of the results", async () => {
    const queries = parseQueries(`-- view: adults
select * from data where age >= 18
-- view: adult_pros
-- a view may read an earlier one
select * from adults where plan = 'pro'
-- name: adults
select count(*) from adults
-- name: adult pros
-- category: Plans
select count(*) from adult_pros`);
    expect(queries.filter((q) => q.view).map((q) => q.name)).toEqual(["adults", "adult_pros"]);
    const results = await runQueries(db, { real: "real", synth: "holdout", queries });
    const [expected] = await db.all<{ r: number; s: number; rp: number; sp: number }>(
      `select (select count(*) from real where age >= 18) as r, (select count(*) from holdout where age >= 18) as s,
              (select count(*) from real where age >= 18 and plan = 'pro') as rp,
              (select count(*) from holdout where age >= 18 and plan = 'pro') as sp`,
    );
    expect(results.map((r) => [r.name, r.real, r.synth, r.category])).toEqual([
      ["adults", expected?.r, expected?.s, null],
      ["adult pros", expected?.rp, expected?.sp, "Plans"],
    ]);
    const [left] = await db.all<{ n: number }>(
      "select count(*) as n from duckdb_views() where view_name in ('adults', 'adult_pros')",
    );
    expect(left?.n).toBe(0);
  });

  it("says which view is broken, named like a table, or has a category", async () => {
    expect(() => parseQueries("-- view: v\n-- category: X\nselect 1\n-- name: q\nselect 1", "q.sql")).toThrow(
      'q.sql: view "v" (line 1) has a -- category: line',
    );
    expect(() => parseQueries("-- view: v\nselect 1", "q.sql")).toThrow("q.sql holds no query");
    const broken = runQueries(db, {
      real: "real",
      synth: "synth",
      queries: parseQueries("-- view: v\nselect agee from data\n-- name: q\nselect count(*) from v"),
    });
    await expect(broken).rejects.toThrow(/^view "v" failed on the real table: Binder Error/);
    const clash = runQueries(db, {
      real: "real",
      synth: "synth",
      queries: parseQueries("-- view: data\nselect 1\n-- name: q\nselect 1"),
    });
    await expect(clash).rejects.toThrow('view "data" has the name of a table the queries read');
  });
});
