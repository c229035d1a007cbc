/**
 * Options that take SQL run exactly one thing (src/db/sql-guard.ts): a condition (--where, the left side
 * of --tilt, eval --flows-filter) is one expression, a query (--sql, --targets-sql, eval --queries) one
 * SELECT that only reads. First the parser module's decisions and messages, then escapes tried on every
 * option through the library's entry points, each checked to have written no file and changed no table
 * of the --db, then a few end-to-end runs of the CLI.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { checkCondition, checkQuery, type SqlUse } from "../src/db/sql-guard.ts";
import { SynthorError } from "../src/errors.ts";
import { evaluateFlows } from "../src/evaluate/flows.ts";
import { runQueries } from "../src/evaluate/queries.ts";
import { createHistoryTables, startRun } from "../src/history.ts";
import { synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { outputSelect } from "../src/output.ts";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { buildReference } from "../src/reference.ts";
import { countViolations, dropViolations } from "../src/reference-fit.ts";
import { readSource } from "../src/source.ts";
import { runEval } from "./eval-run.ts";
import { cli, fixture, tempDir, withDb } from "./helpers.ts";

const TRIPS = fixture("reference/trips.csv");

const WHERE: SqlUse = {
  option: "--where",
  invalid: "--where is not a valid condition over the real columns",
  code: "CONFIG_INVALID",
  hint: "HINT",
};
const SQL: SqlUse = {
  option: "--sql",
  invalid: "cannot read the --sql query",
  code: "SOURCE_UNREADABLE",
  hint: "HINT",
};

/** What a check throws, as the CLI prints it, with its code. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SynthorError) return `[${err.code}] ${err.describe()}`;
    throw err;
  }
  throw new Error("expected an error");
}

describe("sql-guard: conditions", () => {
  it("accepts one condition and returns DuckDB's own rendering of it, in parentheses", () =>
    withDb(async (db) => {
      expect(await checkCondition(db, "age between 30 and 40 and sex = ' Male'", WHERE)).toBe(
        "(((age BETWEEN 30 AND 40) AND (sex = ' Male'))\n)",
      );
      // A comment at the end cannot swallow what synthor writes after the condition.
      expect(await checkCondition(db, "mode <> 'walk' -- not walking", WHERE)).toBe(
        "((\"mode\" != 'walk')\n)",
      );
      // A subquery over another file is a read, and allowed.
      expect(await checkCondition(db, "dest in (select zone from read_csv('zones.csv'))", WHERE)).toBe(
        "((dest = ANY(SELECT \"zone\" FROM read_csv('zones.csv')))\n)",
      );
      expect(await checkCondition(db, "age > (with m as (select 30 as a) select a from m)", WHERE)).toBe(
        "((age > (WITH m AS (SELECT 30 AS a)SELECT a FROM m))\n)",
      );
    }));

  it("keeps the user's own text where DuckDB would render it differently (1e10 as a decimal)", () =>
    withDb(async (db) => {
      expect(await checkCondition(db, "price < 1e10", WHERE)).toBe("(price < 1e10\n)");
    }));

  const refused: [string, string, string][] = [
    [
      "an early parenthesis (the issue's repro)",
      "1=1); copy (select 1) to 'pwned.txt'; select (1",
      `[CONFIG_INVALID] error: --where is not a valid condition over the real columns: Parser Error: syntax error at or near ")" in "); copy (select 1) to 'pwned.txt'; select (1"\n  hint: HINT`,
    ],
    [
      "a second statement after ;",
      "1=1; copy (select 1) to 'pwned.txt'",
      `[SQL_REFUSED] error: --where must be one condition, but it goes on after ";" with "copy (select 1) to 'pwned.txt'"\n  hint: remove the ";" and what follows it; HINT`,
    ],
    [
      "a ; inside a string is not a statement's end",
      "mode = 'a;b'; drop table keep",
      `[SQL_REFUSED] error: --where must be one condition, but it goes on after ";" with "drop table keep"\n  hint: remove the ";" and what follows it; HINT`,
    ],
    [
      "an unterminated block comment",
      "1=1 /* ",
      `[CONFIG_INVALID] error: --where is not a valid condition over the real columns: Parser Error: unterminated /* comment at or near "/* " in "/*"\n  hint: HINT`,
    ],
    [
      "a clause after the condition",
      "1=1 group by all",
      `[SQL_REFUSED] error: --where must be a condition alone, but "1=1 group by all" goes on with GROUP BY\n  hint: leave out what follows the condition; HINT`,
    ],
    [
      "a union",
      "1=1 union all select 1",
      `[SQL_REFUSED] error: --where must be a condition alone, but "1=1 union all select 1" goes on with UNION\n  hint: leave out what follows the condition; HINT`,
    ],
    [
      "order by",
      "1=1 order by 1",
      `[SQL_REFUSED] error: --where must be a condition alone, but "1=1 order by 1" goes on with ORDER BY\n  hint: leave out what follows the condition; HINT`,
    ],
    [
      "a sequence advanced in a subquery",
      "1 in (select NEXTVAL('seq'))",
      "[SQL_REFUSED] error: --where may not call nextval(): it advances a sequence of the database\n  hint: remove nextval(...); --where only reads",
    ],
    [
      "query(), which runs SQL given as text",
      "exists (from query('select 1'))",
      "[SQL_REFUSED] error: --where may not read from query(): it runs SQL given as text\n  hint: read files with read_csv, read_parquet, read_json or 'file.csv', tables by their name, rows from range or unnest",
    ],
    [
      "a table function that is not a reader",
      "exists (from checkpoint())",
      "[SQL_REFUSED] error: --where may not read from checkpoint(): it is not a function that reads files or tables\n  hint: read files with read_csv, read_parquet, read_json or 'file.csv', tables by their name, rows from range or unnest",
    ],
    [
      "read_csv writing its rejects table",
      "exists (from read_csv('a.csv', rejects_table := 'r'))",
      "[SQL_REFUSED] error: --where may not pass rejects_table to read_csv(): it writes the rejected rows to a table\n  hint: leave out store_rejects, rejects_table and rejects_scan (ignore_errors = true skips bad rows)",
    ],
    [
      "a parameter",
      "age > $1",
      "[SQL_REFUSED] error: --where holds a parameter ($1 or ?), which has no value here\n  hint: write the value itself; HINT",
    ],
    [
      "a CTE that deletes",
      "exists (with d as (delete from keep returning *) select 1)",
      `[CONFIG_INVALID] error: --where is not a valid condition over the real columns: Parser Error: A CTE needs a SELECT in "exists (with d as (delete from keep returning *) select 1)"\n  hint: HINT`,
    ],
    ["nothing", "  ", "[SQL_REFUSED] error: --where is empty\n  hint: HINT"],
  ];
  it.each(refused)("refuses %s, quoting it", (_what, text, expected) =>
    withDb(async (db) => {
      expect(await refusal(checkCondition(db, text, WHERE))).toBe(expected);
    }),
  );
});

describe("sql-guard: queries", () => {
  it("accepts one SELECT: a CTE, a trailing ; and comment, values, a pivot with its values", () =>
    withDb(async (db) => {
      expect(await checkQuery(db, "with x as (select 1 as a) select * from x", SQL)).toBe(
        "(WITH x AS (SELECT 1 AS a)SELECT * FROM x\n)",
      );
      expect(await checkQuery(db, "select * from read_csv('a.csv'); -- the real rows", SQL)).toBe(
        "(SELECT * FROM read_csv('a.csv')\n)",
      );
      expect(await checkQuery(db, "values (1, 'a'), (2, 'b')", SQL)).toBe("(values (1, 'a'), (2, 'b')\n)");
      expect(await checkQuery(db, "pivot t on x in ('a', 'b') using sum(y)", SQL)).toBe(
        "(SELECT * FROM t PIVOT (sum(y) FOR (x) IN ('a', 'b'))\n)",
      );
    }));

  const refused: [string, string, string][] = [
    [
      "a statement that writes",
      "copy (select 1) to 'pwned.txt'",
      `[SQL_REFUSED] error: --sql must be one SELECT query, not "copy (select 1) to 'pwned.txt'"\n  hint: it is only read from (select, with, from, values, pivot with an in list); run statements that change a database with synthor query --write; HINT`,
    ],
    [
      "a second statement",
      "select 1; attach 'x.duckdb' as x",
      `[SQL_REFUSED] error: --sql must be one query, but it goes on after ";" with "attach 'x.duckdb' as x"\n  hint: remove the ";" and what follows it; HINT`,
    ],
    [
      "an early parenthesis",
      "select 1); drop table keep; select (1",
      `[SOURCE_UNREADABLE] error: cannot read the --sql query: Parser Error: syntax error at or near ")"\n\nLINE 1: select 1); drop table keep; select (1\n                ^\n  hint: HINT`,
    ],
    [
      "a pivot that DuckDB runs as several statements",
      "pivot t on x using sum(y)",
      `[SQL_REFUSED] error: --sql must be one query, but DuckDB runs "pivot t on x using sum(y)" as more than one statement\n  hint: give a PIVOT the values it makes columns of (pivot t on x in ('a', 'b') using sum(y)); HINT`,
    ],
    ["only a comment", "-- nothing", "[SQL_REFUSED] error: --sql is empty\n  hint: HINT"],
    [
      "setseed",
      "select setseed(0.5)",
      "[SQL_REFUSED] error: --sql may not call setseed(): it changes the session's random seed\n  hint: remove setseed(...); --sql only reads",
    ],
  ];
  it.each(refused)("refuses %s, quoting it", (_what, text, expected) =>
    withDb(async (db) => {
      expect(await refusal(checkQuery(db, text, SQL))).toBe(expected);
    }),
  );

  it("never installs an extension: auto-install is off in every database synthor opens", () =>
    withDb(async (db) => {
      const [row] = await db.all<{ v: boolean }>(
        "select current_setting('autoinstall_known_extensions') as v",
      );
      expect(row?.v).toBe(false);
    }));
});

// ---------------------------------------------------------------------------------------------------
// Escapes on every option: nothing written, nothing changed.

let tmp: ReturnType<typeof tempDir>;
/** Where the escapes try to write; it must stay as it is. */
let target: string;
/** The run database: a user table `keep`, a sequence `seq`, a previous run left interrupted. */
let runDb: string;
let synthCsv: string;

beforeAll(async () => {
  tmp = tempDir();
  target = join(tmp.dir, "target");
  mkdirSync(target);
  runDb = join(target, "run.duckdb");
  const db = await Db.open(runDb);
  try {
    await db.exec("create table keep as select 1 as a; create sequence seq");
    await createHistoryTables(db);
    await startRun(db, { source: "trips.csv", planner: "stats", seed: 0, rowsTarget: 10, config: {} });
    await db.exec("update synthor_runs set status = 'interrupted'");
  } finally {
    db.close();
  }
  synthCsv = join(tmp.dir, "synth.csv");
  writeFileSync(synthCsv, readFileSync(TRIPS));
});
afterAll(() => tmp?.cleanup());

const f = (name: string) => join(target, name);

/** Escapes from a condition: each would write a file of `target` or change the run database. */
function conditionEscapes(): [string, string][] {
  return [
    ["early )", `1=1); copy (select 1) to '${f("early.txt")}'; select (1`],
    [";", `1=1; copy (select 1) to '${f("semicolon.txt")}'`],
    ["-- comment", `1=1); copy (select 1) to '${f("comment.txt")}' --`],
    ["/* */ comment", `1=1 /* ) */); copy (select 1) to '${f("block.txt")}'; select (1 /* */`],
    ["copy a table out", `1=1); copy keep to '${f("keep.csv")}'; select (1`],
    ["attach", `1=1); attach '${f("attached.duckdb")}' as evil; create table evil.t as select 1; select (1`],
    ["install", `1=1); install '${f("x.duckdb_extension")}'; select (1`],
    ["load", `1=1); load '${f("x.duckdb_extension")}'; select (1`],
    [
      "pragma",
      `1=1); pragma enable_profiling = 'json'; pragma profiling_output = '${f("p.json")}'; select (1`,
    ],
    ["set", `1=1); set enable_profiling = 'json'; set profiling_output = '${f("s.json")}'; select (1`],
    ["create", "1=1); create table pwned as select 1 as a; select (1"],
    ["drop", "1=1); drop table keep; select (1"],
    ["insert", "1=1); insert into keep values (666); select (1"],
    ["export", `1=1); export database '${f("export")}'; select (1`],
    ["nested subquery advancing a sequence", "1 in (select nextval('seq'))"],
    ["query() running a string", "exists (from query('select nextval(''seq'')'))"],
    [
      "read_csv writing rejects",
      `exists (from read_csv('${TRIPS}', store_rejects = true, rejects_table = 'r'))`,
    ],
    ["checkpoint()", "exists (from checkpoint())"],
    ["CTE that deletes", "exists (with d as (delete from keep returning *) select 1)"],
  ];
}

/** The same escapes from a query. */
function queryEscapes(): [string, string][] {
  return [
    ["early )", `select 1 as a); copy (select 1) to '${f("early.txt")}'; select * from (select 1 as a`],
    [";", `select 1 as a; copy (select 1) to '${f("semicolon.txt")}'`],
    ["-- comment", `select 1 as a); copy (select 1) to '${f("comment.txt")}' --`],
    ["/* */ comment", `select 1 as a /* ) */); copy (select 1) to '${f("block.txt")}'; select (1 /* */`],
    ["copy", `copy keep to '${f("keep.csv")}'`],
    ["attach", `attach '${f("attached.duckdb")}' as evil`],
    ["install", `install '${f("x.duckdb_extension")}'`],
    ["load", `load '${f("x.duckdb_extension")}'`],
    ["pragma", `select 1 as a; pragma enable_profiling = 'json'; pragma profiling_output = '${f("p.json")}'`],
    ["set", `set profiling_output = '${f("s.json")}'`],
    ["create", "create table pwned as select 1 as a"],
    ["drop", "drop table keep"],
    ["insert", "insert into keep values (666) returning *"],
    ["export", `export database '${f("export")}'`],
    ["nested subquery advancing a sequence", "select * from (select nextval('seq') as a)"],
    ["query() running a string", "from query('select nextval(''seq'')')"],
    ["read_csv writing rejects", `from read_csv('${TRIPS}', store_rejects = true, rejects_table = 'r')`],
    ["checkpoint()", "from checkpoint()"],
    ["CTE that deletes", "with d as (delete from keep returning *) select * from d"],
  ];
}

/** The files of `target` (names and sizes) and the run database's bytes. */
function files(): string {
  const list = readdirSync(target, { recursive: true })
    .map(String)
    .sort()
    .map((n) => `${n} ${statSync(join(target, n)).size}`);
  return `${list.join("\n")}\n${createHash("sha256").update(readFileSync(runDb)).digest("hex")}`;
}

/** Every table of the run database with its rows, the sequences and the runs' status. */
async function tables(run: (sql: string) => Promise<Record<string, unknown>[]>): Promise<string> {
  const names = await run(
    "select database_name as d, schema_name as s, table_name as t from duckdb_tables() where not temporary order by all",
  );
  const out: unknown[] = [];
  for (const n of names) {
    const q = [n.d, n.s, n.t].map((x) => `"${String(x).replaceAll('"', '""')}"`).join(".");
    out.push([n.t, await run(`select * from ${q} order by all`)]);
  }
  out.push(await run("select sequence_name, last_value from duckdb_sequences() order by all"));
  return JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? String(v) : v));
}

/** The run database as a reader sees it (the file is closed between runs). */
async function stored(): Promise<string> {
  const instance = await DuckDBInstance.create(runDb, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    return await tables(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJS());
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The SynthorError a call throws: it must throw one. */
async function thrown(p: Promise<unknown>): Promise<SynthorError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SynthorError) return err;
    throw err;
  }
  throw new Error("expected the escape to be refused");
}

/** Each escape is refused by a SynthorError, and the files and run database are as they were. */
async function expectAllRefused(
  escapes: [string, string][],
  attempt: (text: string) => Promise<unknown>,
  state: () => Promise<string>,
): Promise<void> {
  const before = await state();
  const outcomes: string[] = [];
  for (const [what, text] of escapes) {
    const err = await thrown(attempt(text));
    outcomes.push(`${what}: ${err.code}`);
    expect(["SQL_REFUSED", "CONFIG_INVALID", "SOURCE_UNREADABLE", "INPUT_INVALID"]).toContain(err.code);
    // The message quotes the user's text (or names the refused call).
    expect(err.message).toMatch(/"[^"]+"|\w+\(\)/);
    expect(await state(), `after the escape "${what}"`).toBe(before);
  }
  expect(outcomes).toHaveLength(escapes.length);
}

function synthOptions(extra: Partial<SynthOptions>): SynthOptions {
  return {
    source: { kind: "file", path: TRIPS },
    db: runDb,
    rows: 50,
    iterations: 2,
    threads: 1,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed: 1 }),
    ...extra,
  };
}

const both = async () => `${files()}\n${await stored()}`;

describe("escapes through synth options: no file written, no table changed", () => {
  it("has at least 12 escapes of each kind", () => {
    expect(conditionEscapes().length).toBeGreaterThanOrEqual(12);
    expect(queryEscapes().length).toBeGreaterThanOrEqual(12);
  });

  it("--where", () =>
    expectAllRefused(
      conditionEscapes(),
      (where) => synthesize(synthOptions({ reference: { where } })),
      both,
    ));

  it("--tilt (its condition)", () =>
    expectAllRefused(
      conditionEscapes(),
      (predicate) => synthesize(synthOptions({ reference: { tilts: [{ predicate, factor: 2 }] } })),
      both,
    ));

  it("--targets-sql", () =>
    expectAllRefused(
      queryEscapes(),
      (sql) => synthesize(synthOptions({ reference: { targets: [{ kind: "sql", sql }] } })),
      both,
    ));

  it("--sql", () =>
    expectAllRefused(
      queryEscapes(),
      (sql) => synthesize(synthOptions({ source: { kind: "sql", sql } })),
      both,
    ));

  it("--sql of nested data", () =>
    expectAllRefused(
      queryEscapes().slice(0, 4),
      (sql) =>
        synthesizeNested({
          source: { kind: "nested", source: { kind: "sql", sql } },
          db: runDb,
          iterations: 1,
          planner: (db, summary) => new NestedStatsPlanner(db, summary, { seed: 1 }),
        }),
      both,
    ));

  it("--where and --tilt of nested data", async () => {
    const nested = (reference: NonNullable<Parameters<typeof synthesizeNested>[0]["reference"]>) =>
      synthesizeNested({
        source: {
          kind: "linked",
          households: { kind: "file", path: fixture("nested/households.csv") },
          members: { kind: "file", path: fixture("nested/persons.csv") },
          key: "hhID",
        },
        db: runDb,
        iterations: 1,
        reference,
        planner: (db, summary) => new NestedStatsPlanner(db, summary, { seed: 1 }),
      });
    await expectAllRefused(conditionEscapes(), (where) => nested({ where }), both);
    await expectAllRefused(
      conditionEscapes(),
      (predicate) => nested({ tilts: [{ predicate, factor: 2 }] }),
      both,
    );
  });
});

describe("escapes where the options' SQL is used, the database open: no file written, no table changed", () => {
  /** The library's stages on the run database, open: each checks the SQL it is given. */
  async function onRunDb(fn: (db: Db, state: () => Promise<string>) => Promise<void>): Promise<void> {
    const db = await Db.open(runDb);
    try {
      await db.exec(`create temp table real as from read_csv('${TRIPS}')`);
      // The open database's write-ahead log comes and goes with DuckDB's checkpoints: not an escape's doing.
      const state = async () =>
        `${readdirSync(target)
          .filter((n) => !n.endsWith(".wal"))
          .sort()
          .join(",")}\n${await tables((sql) => db.all(sql))}`;
      await fn(db, state);
    } finally {
      db.close();
    }
  }

  it("buildReference: --where, --tilt, --targets-sql", () =>
    onRunDb(async (db, state) => {
      const real = await readSource(db, { kind: "file", path: TRIPS }, "trips");
      await expectAllRefused(conditionEscapes(), (where) => buildReference(db, real, { where }), state);
      await expectAllRefused(
        conditionEscapes(),
        (predicate) => buildReference(db, real, { tilts: [{ predicate, factor: 2 }] }),
        state,
      );
      await expectAllRefused(
        queryEscapes(),
        (sql) => buildReference(db, real, { targets: [{ kind: "sql", sql }] }),
        state,
      );
    }));

  it("the --where guarantee at the end of a run (dropViolations, countViolations)", () =>
    onRunDb(async (db, state) => {
      await expectAllRefused(conditionEscapes(), (where) => countViolations(db, "keep", where), state);
      await expectAllRefused(
        conditionEscapes(),
        (where) =>
          dropViolations(db, outputSelect([], 0, "synthor_synth_model", 0, { provenance: true }), where),
        state,
      );
    }));

  it("readSource: --sql of synth, summarize, profile and prompt (src/cli/input.ts)", () =>
    onRunDb(async (db, state) => {
      await expectAllRefused(queryEscapes(), (sql) => readSource(db, { kind: "sql", sql }), state);
    }));

  it("eval --flows-filter", () =>
    onRunDb(async (db, state) => {
      await expectAllRefused(
        conditionEscapes(),
        (filter) => evaluateFlows(db, { real: "real", synth: "real", columns: ["origin", "dest"], filter }),
        state,
      );
    }));

  it("eval --queries: each query, and each view", () =>
    onRunDb(async (db, state) => {
      await expectAllRefused(
        queryEscapes(),
        (sql) => runQueries(db, { real: "real", synth: "real", queries: [{ name: "q", sql }] }),
        state,
      );
      await expectAllRefused(
        queryEscapes(),
        (sql) =>
          runQueries(db, {
            real: "real",
            synth: "real",
            queries: [
              { name: "v", sql, view: true },
              { name: "q", sql: "select count(*) from v" },
            ],
          }),
        state,
      );
    }));
});

describe("what the options may still read", () => {
  it("--where, --tilt and --targets-sql read other files and use CTEs", () =>
    withDb(async (db) => {
      const zones = join(tmp.dir, "zones.csv");
      writeFileSync(zones, "zone\nZ1\nZ2\n");
      const real = await readSource(db, { kind: "file", path: TRIPS });
      const [expected] = await db.all<{ n: number }>(
        `select count(*) as n from read_csv('${TRIPS}') where dest in ('Z1', 'Z2')`,
      );
      const ref = await buildReference(db, real, {
        where: `dest in (select zone from read_csv('${zones}'))`,
      });
      expect(ref.matchingRows).toBe(expected?.n);
      expect(ref.matchingRows).toBeGreaterThan(0);
      const tilted = await buildReference(db, real, {
        tilts: [
          { predicate: `dest in (with z as (from read_csv('${zones}')) select zone from z)`, factor: 2 },
        ],
        targets: [
          {
            kind: "sql",
            sql: "with m(mode, n) as (values ('car', 3), ('bus', 1)) select mode, n from m;",
          },
        ],
      });
      expect(tilted.targets).toHaveLength(1);
    }));

  it("--sql with a CTE, eval queries and views, --flows-filter with a subquery over a file", () =>
    withDb(async (db) => {
      const info = await readSource(db, {
        kind: "sql",
        sql: `with t as (from read_csv('${TRIPS}')) select * from t where age >= 18 -- adults`,
      });
      expect(info.rows).toBeGreaterThan(0);
      await db.exec(`create table s as from read_csv('${synthCsv}')`);
      const results = await runQueries(db, {
        real: info.view,
        synth: "s",
        queries: [
          { name: "adults", sql: "select count(*) filter (where age >= 18) as n from data", view: true },
          { name: "adults", sql: "with a as (from adults) select n from a" },
        ],
      });
      expect(results.map((r) => r.name)).toEqual(["adults"]);
      const zones = join(tmp.dir, "zones.csv");
      writeFileSync(zones, "zone\nZ1\nZ2\n");
      const flows = await evaluateFlows(db, {
        real: info.view,
        synth: "s",
        columns: ["origin", "dest"],
        filter: `dest in (select zone from read_csv('${zones}'))`,
      });
      expect(flows.cells.every((c) => c.to === "Z1" || c.to === "Z2")).toBe(true);
    }));
});

describe("the CLI: representative escapes end to end", () => {
  it("synth --where from the issue: refused before anything runs, no pwned.txt, no new --db file", async () => {
    const dir = join(tmp.dir, "cli-where");
    mkdirSync(dir);
    const { code, stderr } = await cli(
      [
        "synth",
        TRIPS,
        "--where",
        "1=1); copy (select 1) to 'pwned.txt'; select (1",
        "--rows",
        "20",
        "--iterations",
        "2",
        "--db",
        "new.duckdb",
        "--quiet",
      ],
      { cwd: dir },
    );
    expect(code).toBe(1);
    expect(stderr).toContain(
      `error: --where is not a valid condition over the real columns: Parser Error: syntax error at or near ")" in "); copy (select 1) to 'pwned.txt'; select (1"\n  hint: write it as the body of an SQL where clause, e.g. --where "age between 30 and 40 and sex = 'Male'"; the columns are (as written in SQL): trip_id, time_bin, origin, dest, mode, age, minutes`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("summarize --sql with a second statement: refused, nothing written", async () => {
    const dir = join(tmp.dir, "cli-sql");
    mkdirSync(dir);
    const { code, stderr } = await cli(
      [
        "summarize",
        "--sql",
        `select * from read_csv('${TRIPS}'); copy (select 1) to 'pwned.txt'`,
        "--out",
        "summary.json",
      ],
      { cwd: dir },
    );
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error: --sql must be one query, but it goes on after ";" with "copy (select 1) to 'pwned.txt'"\n  hint: remove the ";" and what follows it; fix the query (try it with: synthor query "..."), then run this again\n`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("eval --flows-filter and --queries: refused in the command, the run database untouched", async () => {
    const before = both();
    const { error } = await runEval([
      "--real",
      TRIPS,
      "--synth",
      synthCsv,
      "--db",
      runDb,
      "--flows",
      "origin,dest",
      "--flows-filter",
      `1=1) union all select * from real; copy keep to '${f("flows.csv")}'; select * from real where (1`,
    ]);
    expect(error?.code).toBe("CONFIG_INVALID");
    expect(error?.message).toMatch(
      /^--flows-filter is not a valid condition: Parser Error: syntax error at or near "\)" in "\) union all select \* from real; copy keep to/,
    );
    const queries = join(tmp.dir, "escape.sql");
    writeFileSync(
      queries,
      [
        "-- name: fine",
        "select count(*) from data",
        "-- name: writes",
        `select 1; copy keep to '${f("q.csv")}'`,
        "-- view: drops",
        "drop table keep",
      ].join("\n"),
    );
    const second = await runEval(["--real", TRIPS, "--synth", synthCsv, "--db", runDb, "--queries", queries]);
    expect(second.error?.describe()).toBe(
      `error: 2 problems in the input:\n  1. query "writes" must be one query, but it goes on after ";" with "copy keep to '${f("q.csv")}'"\n  2. view "drops" must be one SELECT query, not "drop table keep"\n` +
        `  hint: (1) remove the ";" and what follows it; a query is one select that returns one row of numbers, e.g. select avg(age) as mean_age from data\n` +
        `        (2) it is only read from (select, with, from, values, pivot with an in list); run statements that change a database with synthor query --write; a view is one select, e.g. select hhID, count(*) as persons from persons group by hhID`,
    );
    expect(await both()).toBe(await before);
    expect(existsSync(f("q.csv"))).toBe(false);
  });
});
