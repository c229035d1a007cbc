/**
 * Two-table evaluation (households and their persons) and query categories: the query file format,
 * runQueries over several named tables, and `synthor eval --real-child --synth-child --key` end to end
 * on tiny hand-made tables (test/fixtures/nested) whose query values are worked out below.
 *
 * Real: households 1 (income 3), 2 (1), 3 (2); persons (age, employed) 1: 40 y, 38 y, 10 n; 2: 70 n;
 * 3: 30 y, 5 n. Synthetic: households 10 (3), 11 (1), 12 (1), 13 (2); persons 10: 45 y, 12 n;
 * 11: 80 n, 75 n; 12: 33 y; 13: 29 n, 2 n; and 99: 50 y, whose household does not exist (an orphan).
 *
 * - persons per household (Household): real 6 / 3 = 2, synth 8 / 4 = 2: error 0.
 * - share with an elderly member (Household): real household 2 of 3 = 1/3, synth 11 of 4 = 1/4:
 *   abs 1/12, rel (1/12) / (1/3) = 0.25.
 * - mean age of the employed (Employment, joined so the orphan drops out): real (40 + 38 + 30) / 3 = 36,
 *   synth (45 + 33) / 2 = 39: abs 3, rel 3 / 36 = 1/12.
 * - households with no one employed (Employment): real 1 (household 2), synth 2 (11, 13): abs 1, rel 1.
 * - centenarians (no category): 0 and 0: abs 0, no relative error.
 * - households read as data (no category): 3 and 4: abs 1, rel 1/3.
 * Category means: Household (0 + 0.25) / 2 = 0.125; Employment (1/12 + 1) / 2 = 13/24.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { quoteLiteral } from "../src/db/quote.ts";
import { InputProblems } from "../src/errors.ts";
import { categoryErrors, parseQueries, runQueries } from "../src/evaluate/queries.ts";
import { runEval } from "./eval-run.ts";
import { fixture, tempDir } from "./helpers.ts";

const files = {
  realHouseholds: fixture("nested/real_households.csv"),
  realPersons: fixture("nested/real_persons.csv"),
  synthHouseholds: fixture("nested/synth_households.csv"),
  synthPersons: fixture("nested/synth_persons.csv"),
  queries: fixture("nested/queries.sql"),
};

const expected = [
  { name: "persons per household", category: "Household", real: 2, synth: 2, absError: 0, relError: 0 },
  {
    name: "share with an elderly member",
    category: "Household",
    real: 1 / 3,
    synth: 1 / 4,
    absError: 1 / 12,
    relError: 0.25,
  },
  {
    name: "mean age of the employed",
    category: "Employment",
    real: 36,
    synth: 39,
    absError: 3,
    relError: 1 / 12,
  },
  {
    name: "households with no one employed",
    category: "Employment",
    real: 1,
    synth: 2,
    absError: 1,
    relError: 1,
  },
  { name: "centenarians", category: null, real: 0, synth: 0, absError: 0, relError: null },
  { name: "households read as data", category: null, real: 3, synth: 4, absError: 1, relError: 1 / 3 },
];

function expectClose(actual: Record<string, unknown>[], want: Record<string, unknown>[]): void {
  expect(actual.map((r) => r.name)).toEqual(want.map((r) => r.name));
  actual.forEach((r, i) => {
    for (const [k, v] of Object.entries(want[i] ?? {})) {
      if (typeof v === "number") expect(r[k], `${String(r.name)} ${k}`).toBeCloseTo(v, 12);
      else expect(r[k], `${String(r.name)} ${k}`).toBe(v);
    }
  });
}

describe("query categories", () => {
  it("reads a -- category: line under a header, and leaves queries without one as they were", () => {
    const text =
      "-- name: a\n-- category: Equity\nselect 1\n-- name: b\nselect 2\n-- name: c\n--Category:  Mobility \n-- why\nselect 3";
    expect(parseQueries(text)).toEqual([
      { name: "a", sql: "select 1", category: "Equity" },
      { name: "b", sql: "select 2" },
      { name: "c", sql: "-- why\nselect 3", category: "Mobility" },
    ]);
    expect("category" in (parseQueries(text)[1] ?? {})).toBe(false);
  });

  it("reports empty and repeated category lines with the others", () => {
    const text = "-- name: a\n-- category:\nselect 1\n-- name: b\n-- category: X\n-- category: Y\nselect 2";
    try {
      parseQueries(text, "q.sql");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputProblems);
      expect((err as InputProblems).problems.map((p) => p.message)).toEqual([
        'q.sql: query "a" (line 1) has an empty -- category: line',
        'q.sql: query "b" (line 4) has 2 -- category: lines',
      ]);
      expect((err as InputProblems).problems[0]?.hint).toBe(
        "give each query at most one category line, e.g. -- category: Equity",
      );
    }
  });

  it("averages the relative errors of a category over the results that have one", () => {
    const r = (category: string | null, relError: number | null) => ({
      name: "q",
      real: 1,
      synth: 1,
      absError: 0,
      relError,
      category,
    });
    expect(categoryErrors([r("A", 0.5), r(null, 9), r("B", null), r("A", 0.25), r("B", 2)])).toEqual([
      { category: "A", results: 2, scored: 2, meanRelError: 0.375 },
      { category: "B", results: 2, scored: 1, meanRelError: 2 },
    ]);
    expect(categoryErrors([r(null, 1)])).toEqual([]);
  });
});

describe("runQueries over two tables", () => {
  let db: Db;
  beforeAll(async () => {
    db = await Db.open(":memory:", { threads: 1 });
    for (const [table, path] of Object.entries(files)) {
      if (table === "queries") continue;
      await db.exec(`create table ${table} as from read_csv(${quoteLiteral(path)})`);
    }
  });
  afterAll(() => db?.close());

  const tables = [
    { name: "data", real: "realHouseholds", synth: "synthHouseholds" },
    { name: "households", real: "realHouseholds", synth: "synthHouseholds" },
    { name: "persons", real: "realPersons", synth: "synthPersons" },
  ];

  it("binds each name to the real tables, then to the synthetic ones", async () => {
    const queries = parseQueries(readFileSync(files.queries, "utf8"));
    const results = await runQueries(db, { queries, tables });
    expectClose(results as unknown as Record<string, unknown>[], expected);
    expect(categoryErrors(results)).toEqual([
      { category: "Household", results: 2, scored: 2, meanRelError: expect.closeTo(0.125, 12) },
      { category: "Employment", results: 2, scored: 2, meanRelError: expect.closeTo(13 / 24, 12) },
    ]);
    // The views are gone afterwards.
    const left = await db.all("select view_name from duckdb_views() where not internal");
    expect(left).toEqual([]);
  });

  it("names the query that fails, with DuckDB's message and where the tables are", async () => {
    const queries = parseQueries(
      "-- name: typo\n-- category: Employment\nselect avg(agee) from persons\n-- name: wrong table\nselect 1 from people\n-- name: fine\nselect 1",
    );
    const run = runQueries(db, { queries, tables });
    await expect(run).rejects.toThrow(InputProblems);
    const problems = await run.catch((err: InputProblems) => err.problems);
    expect(problems).toEqual([
      {
        code: "INPUT_INVALID",
        message:
          'query "typo" failed on the real table: Binder Error: Referenced column "agee" not found in FROM clause!',
        hint: "fix the query; try it with: synthor query \"create view households as from 'households.csv'; create view persons as from 'persons.csv'; <query>\"",
        subject: "typo",
      },
      {
        code: "INPUT_INVALID",
        message:
          'query "wrong table" failed on the real table: Catalog Error: Table with name people does not exist!',
        hint: "queries read the tables as households and persons (the first also as data)",
        subject: "wrong table",
      },
    ]);
  });

  it("refuses two tables of one name and names synthor keeps", async () => {
    const queries = parseQueries("-- name: q\nselect 1");
    await expect(
      runQueries(db, {
        queries,
        tables: [
          { name: "persons", real: "realPersons", synth: "synthPersons" },
          { name: "Persons", real: "realPersons", synth: "synthPersons" },
          { name: "synthor_x", real: "realPersons", synth: "synthPersons" },
        ],
      }),
    ).rejects.toThrow(
      "2 problems in the input:\n  1. two tables the queries read are named Persons\n  2. the table name synthor_x for the queries starts with synthor_, which synthor keeps for itself",
    );
  });
});

const run = (args: string[]) => runEval(args, { fast: true });

const twoTables = [
  "--real",
  files.realHouseholds,
  "--real-child",
  files.realPersons,
  "--synth",
  files.synthHouseholds,
  "--synth-child",
  files.synthPersons,
  "--key",
  "hhID",
];

describe("synthor eval with child tables", () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp?.cleanup());

  it("prints the links, every query with its category, and the mean per category", async () => {
    const { stdout, error } = await run([...twoTables, "--queries", files.queries]);
    expect(error).toBeUndefined();
    expect(stdout).toContain(
      `persons linked by hhID: real ${files.realPersons}: 3 households, 6 persons (2 per household), orphans 0, without persons 0; synthetic ${files.synthPersons}: 4 households, 8 persons (2 per household), orphans 1, without persons 0`,
    );
    expect(stdout).toContain(
      "warning: 1 synthetic persons rows point to no households row: joins leave them out",
    );
    expect(stdout).toContain(
      [
        "mean relative error by category:",
        "category    queries  scored  mean_rel_error",
        "----------  -------  ------  --------------",
        "Household         2       2           0.125",
        "Employment        2       2          0.5417",
      ].join("\n"),
    );
    expect(stdout).toMatch(
      /share with an elderly member\s+Household\s+0\.333333\s+0\.25\s+0\.0833333\s+0\.25\n/,
    );
    // The key is a link, not a column to compare: only income is.
    expect(stdout).toMatch(/columns:\ncolumn\s.*\n-.*\nincome\s+categorical/);
    expect(stdout).not.toMatch(/^hhID\s/m);
  });

  it("puts the results, categories and links in the JSON and the report", async () => {
    const report = join(tmp.dir, "r.html");
    const { stdout, error } = await run([
      ...twoTables,
      "--queries",
      files.queries,
      "--json",
      "--report",
      report,
    ]);
    expect(error).toBeUndefined();
    const e = JSON.parse(stdout);
    expectClose(e.queries, expected);
    expect(e.queryCategories[0]).toEqual({
      category: "Household",
      results: 2,
      scored: 2,
      meanRelError: expect.closeTo(0.125, 12),
    });
    expect(e.links).toMatchObject({
      key: "hhID",
      names: { parent: "households", child: "persons" },
      real: { parents: 3, distinctKeys: 3, children: 6, orphans: 0, childless: 0, childrenPerParent: 2 },
      synth: { parents: 4, distinctKeys: 4, children: 8, orphans: 1, childless: 0, childrenPerParent: 2 },
    });
    const html = readFileSync(report, "utf8");
    expect(html).toContain('<h3 id="queries-household" style="margin-top:14px">Household</h3>');
    expect(html).toContain('<h3 id="queries-none" style="margin-top:14px">Without a category</h3>');
    expect(html).toContain('<h2 id="links">Linked tables</h2>');
    expect(html).toContain('<h2 id="child">Child table: persons</h2>');
    expect(html).toContain(
      '<tr><td><a href="#queries-employment">Employment</a></td><td class="n">2</td><td class="n">2</td><td class="n">0.542</td></tr>',
    );
  });

  it("compares the persons tables column by column, key left out", async () => {
    const { stdout, error } = await run([...twoTables, "--json"]);
    expect(error).toBeUndefined();
    const child = JSON.parse(stdout).childFidelity;
    // employed: real 3 of 6 true; synthetic 3 of 8 (the orphan counts: it is a row of persons).
    // TVD = |0.5 - 0.375| = 0.125. age: no value in common, TVD 1.
    expect(child.rows).toEqual({ real: 6, synth: 8 });
    expect(child.columns.map((c: { column: string }) => c.column)).toEqual(["age", "employed"]);
    expect(child.columns[0].tvd).toBeCloseTo(1, 12);
    expect(child.columns[1].tvd).toBeCloseTo(0.125, 12);
  });

  it("names the persons columns the synthetic persons lack; --ignore leaves them out", async () => {
    const persons = join(tmp.dir, "persons_without_employed.csv");
    await import("node:fs").then((fs) => fs.writeFileSync(persons, "hhID,age\n10,45\n"));
    const args = [...twoTables];
    args[args.indexOf(files.synthPersons)] = persons;
    const { error } = await run(args);
    expect(error?.message).toBe(
      'the synthetic persons table has no column "employed", which the real persons table has',
    );
    const ignored = await run([...args, "--ignore", "employed", "--json"]);
    expect(ignored.error).toBeUndefined();
    expect(JSON.parse(ignored.stdout).childFidelity.columns.map((c: { column: string }) => c.column)).toEqual(
      ["age"],
    );
  });

  it("reads the tables by the names --table-names gives", async () => {
    const queries = join(tmp.dir, "named.sql");
    await import("node:fs").then((fs) =>
      fs.writeFileSync(
        queries,
        "-- name: people per home\nselect count(*) / (select count(*) from homes) from people\n",
      ),
    );
    const { stdout, error } = await run([
      ...twoTables,
      "--table-names",
      "homes,people",
      "--queries",
      queries,
      "--json",
    ]);
    expect(error).toBeUndefined();
    expect(JSON.parse(stdout).queries[0]).toMatchObject({ name: "people per home", real: 2, synth: 2 });
  });

  it("says which child flags are missing, all at once", async () => {
    const { error } = await run([
      "--real",
      files.realHouseholds,
      "--synth",
      files.synthHouseholds,
      "--real-child",
      files.realPersons,
    ]);
    expect(error?.message).toBe(
      "2 problems in the input:\n  1. --real-child needs --synth-child\n  2. --real-child needs --key",
    );
    expect(error?.hint).toBe(
      "(1) give --synth-child FILE: a two-table evaluation reads the real and the synthetic child tables\n        (2) name the column that links each child row to its parent row, e.g. --key hhID",
    );
  });

  it("names the tables that lack the key column", async () => {
    const { error } = await run([...twoTables.slice(0, -1), "hhid"]);
    expect(error?.message).toBe(
      `4 problems in the input:\n  1. the key column hhid is not in ${files.realHouseholds} (--real)\n  2. the key column hhid is not in ${files.realPersons} (--real-child)\n  3. the key column hhid is not in ${files.synthHouseholds} (--synth)\n  4. the key column hhid is not in ${files.synthPersons} (--synth-child)`,
    );
    expect(error?.hint.split("\n")[0]).toMatch(
      /^\(1\) did you mean hhID\? --key names the column that links each child row to its parent row; .* has hhID, /,
    );
  });

  it("refuses --table-names without child tables, and names that are not two", async () => {
    const one = await run([
      "--real",
      files.realHouseholds,
      "--synth",
      files.synthHouseholds,
      "--table-names",
      "a,b",
    ]);
    expect(one.error?.message).toBe(
      "--table-names names the tables of a two-table evaluation, but no child table is given",
    );
    const two = await run([...twoTables, "--table-names", "homes"]);
    expect(two.error?.message).toBe("--table-names homes is not two different names");
    expect(two.error?.hint).toBe(
      "write the parent's name, a comma, the child's name: --table-names households,persons",
    );
  });
});
