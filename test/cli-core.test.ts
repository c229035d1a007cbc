import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatCsv, formatTable } from "../src/cli/format.ts";
import { openDb } from "../src/cli/input.ts";
import { SynthorError } from "../src/errors.ts";
import { cli, tempDir } from "./helpers.ts";

// Each CLI call starts Node and DuckDB, so the calls are few and independent ones run
// concurrently.
const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const COLUMNS = ["user_age", "gender", "location_tier", "product_category", "price", "payment_method"];

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** Runs SQL in a DuckDB file without synthor: only @duckdb/node-api. */
async function plainDuckDb<T>(path: string, fn: (run: (sql: string) => Promise<unknown[]>) => Promise<T>) {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await fn(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJson());
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe.concurrent("synthor CLI", () => {
  it("--help lists the commands", async () => {
    const { code, stdout } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const command of ["profile", "summarize", "macros", "query"]) {
      expect(stdout).toMatch(new RegExp(`^  ${command} \\[options\\]`, "m"));
    }
  });

  it("profile prints every column with its kind", async () => {
    const { code, stdout, stderr } = await cli(["profile", ECOMMERCE]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(`${ECOMMERCE}: 2000 rows, 6 columns`);
    const kinds = Object.fromEntries(
      lines
        .filter((l) => COLUMNS.some((c) => l.startsWith(`${c} `)))
        .map((l) => l.split(/\s+/).slice(0, 2) as [string, string]),
    );
    expect(kinds).toEqual({
      user_age: "numeric",
      gender: "categorical",
      location_tier: "categorical",
      product_category: "categorical",
      price: "numeric",
      payment_method: "categorical",
    });
    expect(stdout).toContain("(6 rows)");
  });

  it("profile --json is JSON with every column's kind and statistics", async () => {
    const { code, stdout } = await cli(["profile", ECOMMERCE, "--json", "--categorical", "payment_method"]);
    expect(code).toBe(0);
    const profile = JSON.parse(stdout);
    expect(profile).toMatchObject({ source: ECOMMERCE, rows: 2000 });
    expect(profile.columns.map((c: { name: string }) => c.name)).toEqual(COLUMNS);
    const byName = Object.fromEntries(profile.columns.map((c: { name: string }) => [c.name, c]));
    expect(byName.price).toMatchObject({ kind: "numeric", nullShare: 0, integral: false });
    expect(byName.price.bins).toHaveLength(6);
    expect(byName.gender.categories.map((c: { value: string }) => c.value).sort()).toEqual([
      "Female",
      "Male",
    ]);
    expect(byName.payment_method).toMatchObject({ kind: "categorical", reason: "set by --categorical" });
  });

  it("a user error exits 1 with the error and its hint on stderr", async () => {
    const { code, stdout, stderr } = await cli(["profile", "no/such.csv"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      "error: file not found: no/such.csv\n" +
        `  hint: check the path; it is read relative to the current directory, as ${join(process.cwd(), "no/such.csv")}\n`,
    );
  });

  it("several input problems are reported together", async () => {
    const { code, stderr } = await cli([
      "profile",
      ECOMMERCE,
      "--ignore",
      "gendre,prize",
      "--numeric",
      "gender",
    ]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      [
        "error: 3 problems in the input:",
        `  1. --ignore names column "gendre", which ${ECOMMERCE} does not have`,
        `  2. --ignore names column "prize", which ${ECOMMERCE} does not have`,
        '  3. column "gender" is VARCHAR and cannot be treated as numeric (--numeric)',
        `  hint: (1) did you mean gender? the columns are: ${COLUMNS.join(", ")}`,
        `        (2) did you mean price? the columns are: ${COLUMNS.join(", ")}`,
        '        (3) cast it with --sql "select *, try_cast(... as double) ..." or drop it from --numeric',
        "",
      ].join("\n"),
    );
  });

  it("a usage error exits 2", async () => {
    const unknown = await cli(["profile", ECOMMERCE, "--bogus"]);
    expect(unknown).toEqual({
      code: 2,
      stdout: "",
      stderr: "error: unknown option '--bogus'\n(run synthor profile --help for usage)\n",
    });
    const format = await cli(["query", "select 1", "--format", "xml"]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("argument 'xml' is invalid. Allowed choices are table, csv, json.");
  });

  it("summarize writes JSON with --out and keeps its tables in --db for synthor query", async () => {
    const out = join(tmp.dir, "summary.json");
    const db = join(tmp.dir, "summary.duckdb");
    const run = await cli([
      "summarize",
      ECOMMERCE,
      "--group",
      "gender,product_category",
      "--out",
      out,
      "--db",
      db,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote ${out}`);
    // The summary file (docs/summary-format.md): the given group first, its count table among the others.
    const summary = JSON.parse(readFileSync(out, "utf8"));
    expect(summary.format).toBe("synthor-summary");
    expect(summary.columns.map((c: { name: string }) => c.name)).toEqual(COLUMNS);
    expect(summary.groups[0]).toEqual(["gender", "product_category"]);
    const table = summary.tables.find(
      (t: { columns: string[]; fine: string | null }) =>
        t.fine === null && t.columns.join() === "gender,product_category",
    );
    expect(table.cells).toHaveLength(8);
    expect(table.cells.reduce((s: number, c: [string[], number]) => s + c[1], 0)).toBe(2000);
    expect(table.cells[0]).toEqual([["Female", "Apparel"], 396]);

    // The tables stay in the file; query them in all three formats. One at a time: synthor query opens
    // the file for writing (it loads the macros), and DuckDB lets only one process do that.
    const asTable = await cli([
      "query",
      "--db",
      db,
      `select "column", count(*) as bins, sum(n) as n from synthor_bins group by all order by 1`,
    ]);
    const asCsv = await cli([
      "query",
      "--db",
      db,
      "--format",
      "csv",
      `select unit, cell, n from synthor_real_counts where unit = '["gender"]' order by n desc`,
    ]);
    const asJson = await cli([
      "query",
      "--db",
      db,
      "--format",
      "json",
      "select unit, count(*) as cells, sum(n) as n, 1.5::decimal(4,1) as d from synthor_real_counts where unit not like 'fine:%' group by unit order by unit",
    ]);
    expect(asTable).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "column    bins     n",
        "--------  ----  ----",
        "price        6  2000",
        "user_age     6  2000",
        "(2 rows)",
        "",
      ].join("\n"),
    });
    expect(asCsv).toEqual({
      code: 0,
      stderr: "",
      stdout: 'unit,cell,n\n"[""gender""]","[""Female""]",1084\n"[""gender""]","[""Male""]",916\n',
    });
    const units = JSON.parse(asJson.stdout);
    expect(units).toHaveLength(7);
    expect(units).toContainEqual({ unit: '["gender","product_category"]', cells: 8, n: 2000, d: 1.5 });
    expect(units).toContainEqual({ unit: '["gender"]', cells: 2, n: 2000, d: 1.5 });
  });

  it("macros prints SQL that a fresh DuckDB can run", async () => {
    const { code, stdout } = await cli(["macros"]);
    expect(code).toBe(0);
    const rows = await plainDuckDb(":memory:", async (run) => {
      await run(stdout);
      await run("create table t as select unnest(['a', 'b', 'b', null]) as v");
      return run("from synthor_frequency('t', 'v')");
    });
    expect(rows).toEqual([
      { value: "b", n: "2", share: 0.5 },
      { value: "a", n: "1", share: 0.25 },
      { value: null, n: "1", share: 0.25 },
    ]);
  });

  it("macros --install persists the macros in a DuckDB file", async () => {
    const file = join(tmp.dir, "macros.duckdb");
    const { code, stderr } = await cli(["macros", "--install", file]);
    expect(code).toBe(0);
    expect(stderr).toMatch(new RegExp(`^installed \\d+ macros into ${file}\\n$`));
    expect(existsSync(file)).toBe(true);
    const rows = await plainDuckDb(file, async (run) => {
      await run("create table t as select unnest(['x', 'y', 'y']) as \"my col\"");
      return run("from synthor_frequency('t', 'my col')");
    });
    expect(rows).toEqual([
      { value: "y", n: "2", share: 2 / 3 },
      { value: "x", n: "1", share: 1 / 3 },
    ]);
  });

  it("query --db on a missing file is an error, not a new empty database", async () => {
    const missing = join(tmp.dir, "typo.duckdb");
    const { code, stderr } = await cli(["query", "--db", missing, "show tables"]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error: database file not found: ${missing}\n  hint: check the --db path (it is relative to the current directory, ${process.cwd()})\n`,
    );
    expect(existsSync(missing)).toBe(false);
  });
});

// The helpers behind the commands, in-process: no subprocess needed.
describe("--db checks", () => {
  const refusal = async (path: string, options: { mustExist?: boolean } = {}) => {
    const err = await openDb(path, options).then(
      (db) => {
        db.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    if (!(err instanceof SynthorError)) throw new Error(`openDb(${path}) did not refuse`);
    return err.describe();
  };

  it("refuses a CSV file given as the database, which DuckDB would open as a throwaway one", async () => {
    const csv = join(tmp.dir, "data.csv");
    writeFileSync(csv, "a,b\n1,2\n");
    expect(await refusal(csv)).toBe(
      `error: --db ${csv} is not a DuckDB database file\n` +
        `  hint: --db names a DuckDB file to read from and keep results in (a new name creates one); read data files as the source instead, e.g. synthor profile ${csv}, or in SQL with read_csv('${csv}')`,
    );
  });

  it("refuses a directory, and a missing file where one must exist", async () => {
    const dir = join(tmp.dir, "a-directory");
    mkdirSync(dir);
    expect(await refusal(dir)).toBe(
      `error: --db ${dir} is a directory\n  hint: --db takes a DuckDB database file, e.g. --db work.duckdb`,
    );
    expect(await refusal(join(tmp.dir, "none.duckdb"), { mustExist: true })).toMatch(
      /^error: database file not found: /,
    );
  });
});

describe("output formats", () => {
  const rows = [
    { name: "a,b", x: 1234.56789, n: 3, none: null },
    { name: 'say "hi"', x: 0.000123456789, n: 10, none: null },
  ];

  it("CSV keeps full precision and quotes what needs it", () => {
    expect(formatCsv(rows)).toBe('name,x,n,none\n"a,b",1234.56789,3,\n"say ""hi""",0.000123456789,10,');
  });

  it("a table rounds for people and right-aligns numbers", () => {
    expect(formatTable(rows)).toBe(
      [
        "name                x   n  none",
        "--------  -----------  --  ----",
        "a,b           1234.57   3  NULL",
        'say "hi"  0.000123457  10  NULL',
        "(2 rows)",
      ].join("\n"),
    );
  });

  it("an empty result still shows its columns", () => {
    expect(formatCsv([], ["a", "b"])).toBe("a,b");
    expect(formatTable([], ["a", "b"])).toBe("a  b\n-  -\n(0 rows)");
  });
});
