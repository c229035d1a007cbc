import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { quoteLiteral } from "../src/db/quote.ts";
import { SynthorError } from "../src/errors.ts";
import { readSource, type SourceSpec, sourceSpec } from "../src/source.ts";
import { fixture, tempDir, withDb } from "./helpers.ts";

// people.csv: 6 rows of id, name, age (one empty), city, joined (dates). The other formats are written
// from it by DuckDB into a temporary directory, so every reader sees the same table.
const people = fixture("people.csv");
const expectedColumns = [
  { name: "id", type: "BIGINT" },
  { name: "name", type: "VARCHAR" },
  { name: "age", type: "BIGINT" },
  { name: "city", type: "VARCHAR" },
  { name: "joined", type: "DATE" },
];

let tmp: ReturnType<typeof tempDir>;
const file = (name: string) => join(tmp.dir, name);

beforeAll(async () => {
  tmp = tempDir();
  await withDb(async (db) => {
    const from = `(select * from read_csv(${quoteLiteral(people)}))`;
    await db.exec(`copy ${from} to ${quoteLiteral(file("people.parquet"))} (format parquet)`);
    await db.exec(`copy ${from} to ${quoteLiteral(file("people.ndjson"))} (format json)`);
    await db.exec(`copy ${from} to ${quoteLiteral(file("people.json"))} (format json, array true)`);
    await db.exec(`copy ${from} to ${quoteLiteral(file("people.tsv"))} (format csv, delimiter '\t')`);
    await db.exec(`copy ${from} to ${quoteLiteral(file("people.csv.gz"))} (format csv, compression gzip)`);
  });
  writeFileSync(file("empty.csv"), "");
  writeFileSync(file("header-only.csv"), "id,name,age\n");
  writeFileSync(file("none.json"), "[]");
  writeFileSync(file("text.parquet"), "this is plain text, not parquet\n");
  writeFileSync(file("broken.json"), '{"a": 1, "b": \n');
  writeFileSync(file("latin1.csv"), Buffer.from([0x61, 0x0a, 0x66, 0xfc, 0x72, 0x0a])); // "a\nfür" in Latin-1
  writeFileSync(file("data.txt"), "a,b\n1,2\n");
  writeFileSync(file("one-column.tsv"), "note\na,b\nc,d\ne,f\n");
});
afterAll(() => tmp.cleanup());

/** Reads a source into a fresh in-memory database and returns what readSource saw, or its error. */
async function read(spec: SourceSpec) {
  return withDb(async (db) => {
    const info = await readSource(db, spec);
    const rows = await db.all(`select * from ${info.view} order by 1`);
    return { info, rows };
  });
}

async function failure(promise: Promise<unknown>): Promise<SynthorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SynthorError)) throw new Error(`expected a SynthorError, got ${String(err)}`);
  return err;
}

describe("readSource: every kind of source gives the same table", () => {
  it.each([
    ["CSV", "people.csv"],
    ["Parquet", "people.parquet"],
    ["NDJSON", "people.ndjson"],
    ["JSON array", "people.json"],
    ["TSV", "people.tsv"],
    ["gzipped CSV", "people.csv.gz"],
  ])("%s", async (_kind, name) => {
    const path = name === "people.csv" ? people : file(name);
    const { info, rows } = await read({ kind: "file", path });
    expect(info.label).toBe(path);
    expect(info.rows).toBe(6);
    expect(info.view).toBe("synthor_real");
    expect(info.columns).toEqual(expectedColumns);
    expect(rows[2]).toMatchObject({ id: 3, name: "Cleo", age: null, city: "Paris" });
  });

  it("a TSV file is split on tabs only, even when its values hold commas", async () => {
    // DuckDB's sniffer alone reads this as two comma-separated columns "a" and "b" and loses the header.
    const { info, rows } = await read({ kind: "file", path: file("one-column.tsv") });
    expect(info.columns).toEqual([{ name: "note", type: "VARCHAR" }]);
    expect(rows.map((r) => r.note)).toEqual(["a,b", "c,d", "e,f"]);
  });

  it("--table reads a table of the DuckDB file, named as is or as schema.table", async () => {
    await withDb(async (db) => {
      await db.exec(`create table "my people" as select * from read_csv(${quoteLiteral(people)})`);
      await db.exec("create schema crm; create table crm.customers as select 1 as id, 'x' as tier");
      const info = await readSource(db, { kind: "table", table: "my people" });
      expect(info).toMatchObject({ label: 'table "my people"', rows: 6, columns: expectedColumns });
      const qualified = await readSource(db, { kind: "table", table: "crm.customers" });
      expect(qualified).toMatchObject({ label: "table crm.customers", rows: 1 });
    });
  });

  it("--table synthor_real is read in place, never dropped and replaced by the view", async () => {
    await withDb(async (db) => {
      await db.exec("create table synthor_real as select range as x from range(4)");
      const info = await readSource(db, { kind: "table", table: "synthor_real" });
      expect(info.rows).toBe(4);
      expect(await db.all("select count(*) as n from synthor_real")).toEqual([{ n: 4 }]);
    });
  });

  it("--sql reads any query, even with a trailing semicolon or comment", async () => {
    for (const sql of [
      `select * from read_csv(${quoteLiteral(people)}) where city = 'Paris'`,
      `select * from read_csv(${quoteLiteral(people)}) where city = 'Paris';`,
      `select * from read_csv(${quoteLiteral(people)}) where city = 'Paris' -- only Paris`,
    ]) {
      const { info } = await read({ kind: "sql", sql });
      expect(info).toMatchObject({ label: "the --sql query", rows: 3, columns: expectedColumns });
    }
  });

  it("a second source replaces the first in the same database, whatever each one was", async () => {
    const dir = tempDir();
    const db = await Db.open(join(dir.dir, "work.duckdb"));
    try {
      // CSV is kept as a table, Parquet and --table are views, --sql a table again: each replaces the last.
      expect((await readSource(db, { kind: "file", path: people })).rows).toBe(6);
      expect((await readSource(db, { kind: "file", path: file("people.parquet") })).rows).toBe(6);
      await db.exec("create table t as select 1 as a");
      expect((await readSource(db, { kind: "table", table: "t" })).rows).toBe(1);
      expect((await readSource(db, { kind: "sql", sql: "select * from synthor_real, range(3)" })).rows).toBe(
        3,
      );
    } finally {
      db.close();
      dir.cleanup();
    }
  });
});

describe("readSource: errors name the source and say what to do", () => {
  const cases: [string, () => SourceSpec, () => string][] = [
    [
      "a missing file",
      () => ({ kind: "file", path: "test/fixtures/nope.csv" }),
      () =>
        "error: file not found: test/fixtures/nope.csv\n" +
        `  hint: check the path; it is read relative to the current directory, as ${resolve("test/fixtures/nope.csv")}`,
    ],
    [
      "an unknown extension",
      () => ({ kind: "file", path: file("data.txt") }),
      () =>
        `error: cannot tell how to read ${file("data.txt")}: unknown extension ".txt"\n` +
        `  hint: rename it to .csv, .tsv, .parquet, .json or .ndjson, or read it with --sql "select * from read_csv('${file("data.txt")}')"`,
    ],
    [
      "a directory",
      () => ({ kind: "file", path: tmp.dir }),
      () =>
        `error: ${tmp.dir} is a directory, not a file\n` +
        `  hint: name one file in it, or read them all with --sql "select * from read_parquet('${tmp.dir}/*.parquet')"`,
    ],
    [
      "a 0-byte file",
      () => ({ kind: "file", path: file("empty.csv") }),
      () =>
        `error: ${file("empty.csv")} is empty (0 bytes)\n` +
        "  hint: synthesis needs real rows to learn from; point to a file with column names and data",
    ],
    [
      "a file with a header and no rows",
      () => ({ kind: "file", path: file("header-only.csv") }),
      () =>
        `error: ${file("header-only.csv")} has no rows\n` +
        "  hint: synthesis needs real rows to learn from; the file has column names but no data rows, so point to one that has data",
    ],
    [
      "a JSON file with no records",
      () => ({ kind: "file", path: file("none.json") }),
      () =>
        `error: ${file("none.json")} has no rows\n` +
        "  hint: synthesis needs real rows to learn from; the file holds no records, so point to one that has data",
    ],
    [
      "a .parquet file holding text",
      () => ({ kind: "file", path: file("text.parquet") }),
      () =>
        `error: cannot read ${file("text.parquet")}: Invalid Input Error: No magic bytes found at end of file '${file("text.parquet")}'\n` +
        `  hint: check that the file is complete and is Parquet as its extension says; to pass reader options, use --sql "select * from read_parquet('${file("text.parquet")}', ...)"`,
    ],
    [
      "a CSV that is not UTF-8",
      () => ({ kind: "file", path: file("latin1.csv") }),
      () =>
        `error: cannot read ${file("latin1.csv")}: Invalid Input Error: CSV Error on Line: 2: Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.\n` +
        `  hint: check that the file is complete and is CSV as its extension says; to pass reader options, use --sql "select * from read_csv('${file("latin1.csv")}', ...)"`,
    ],
    [
      "a --sql naming a column that is not there",
      () => ({ kind: "sql", sql: "select nope from range(3);" }),
      () =>
        'error: cannot read the --sql query: Binder Error: Referenced column "nope" not found in FROM clause!\n' +
        'Candidate bindings: "range"\n\n' +
        "LINE 1: select nope from range(3)\n" +
        "               ^\n" +
        '  hint: fix the query (try it with: synthor query "..."), then run this again',
    ],
    [
      "a query with zero rows",
      () => ({ kind: "sql", sql: "select 1 as a where false" }),
      () =>
        "error: the --sql query has no rows\n" +
        "  hint: synthesis needs real rows to learn from; run the query in DuckDB and check its where clause and joins",
    ],
    [
      "a broken --sql",
      () => ({ kind: "sql", sql: "selec 1" }),
      () =>
        'error: cannot read the --sql query: Parser Error: syntax error at or near "selec"\n\n' +
        "LINE 1: selec 1\n" +
        "        ^\n" +
        '  hint: fix the query (try it with: synthor query "..."), then run this again',
    ],
  ];

  it.each(cases)("%s", async (_what, spec, expected) => {
    const err = await withDb((db) => failure(readSource(db, spec())));
    expect(err.describe()).toBe(expected());
  });

  it("malformed JSON names the file and DuckDB's reason", async () => {
    const err = await withDb((db) => failure(readSource(db, { kind: "file", path: file("broken.json") })));
    expect(err.code).toBe("SOURCE_UNREADABLE");
    expect(err.message).toMatch(
      new RegExp(`^cannot read ${file("broken.json")}: Invalid Input Error: Malformed JSON`),
    );
    expect(err.hint).toContain("is JSON as its extension says");
  });

  it("a missing table lists the tables there are", async () => {
    await withDb(async (db) => {
      await db.exec(`create table "my people" as select 1 as a; create table orders as select 1 as a`);
      const err = await failure(readSource(db, { kind: "table", table: "people" }));
      expect(err.code).toBe("SOURCE_NOT_FOUND");
      expect(err.describe()).toBe(
        'error: table not found: people is not in the database\n  hint: the tables are: "my people", orders',
      );
    });
  });

  it("an empty table with zero rows", async () => {
    await withDb(async (db) => {
      await db.exec("create table orders (id integer, total double)");
      const err = await failure(readSource(db, { kind: "table", table: "orders" }));
      expect(err.describe()).toBe(
        "error: table orders has no rows\n" +
          "  hint: synthesis needs real rows to learn from; fill the table first, or pick another with --table",
      );
    });
  });

  it("a file error leaves no half-made view behind", async () => {
    await withDb(async (db) => {
      await failure(readSource(db, { kind: "file", path: file("text.parquet") }));
      expect(await db.all("select table_name from information_schema.tables")).toEqual([]);
    });
  });
});

describe("sourceSpec", () => {
  it("takes exactly one of a file, --table and --sql", () => {
    expect(sourceSpec("a.csv", {})).toEqual({ kind: "file", path: "a.csv" });
    expect(sourceSpec(undefined, { table: "t" })).toEqual({ kind: "table", table: "t" });
    expect(sourceSpec(undefined, { sql: "select 1" })).toEqual({ kind: "sql", sql: "select 1" });
    const hint =
      "  hint: pass a file (data.csv, data.parquet, data.json), or --table NAME with --db FILE.duckdb, or --sql 'select ...'";
    expect(() => sourceSpec(undefined, {})).toThrow(SynthorError);
    const none = (() => {
      try {
        sourceSpec(undefined, {});
      } catch (e) {
        return (e as SynthorError).describe();
      }
    })();
    expect(none).toBe(`error: no real table given\n${hint}`);
    const two = (() => {
      try {
        sourceSpec("a.csv", { sql: "select 1" });
      } catch (e) {
        return (e as SynthorError).describe();
      }
    })();
    expect(two).toBe(
      `error: the real table is given 2 ways (the file a.csv, --sql); give it one way only\n${hint}`,
    );
  });
});
