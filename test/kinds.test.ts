/**
 * Column kinds as a user expects them on real extracts: NA markers in an otherwise numeric text column,
 * a column that is NULL in every row, no negative zero in the output, and tables too wide for one
 * scalar subquery per column.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent, quoteLiteral } from "../src/db/quote.ts";
import { codesSelect } from "../src/encode.ts";
import { decileCodesSelect, type EvalColumn } from "../src/evaluate/tables.ts";
import { outputSelect } from "../src/output.ts";
import { synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { type ColumnProfile, profileColumns } from "../src/profile.ts";
import { gridsSelect } from "../src/sample.ts";
import { readSource } from "../src/source.ts";
import type { ModelColumn } from "../src/summarize.ts";
import { readCsv, tempDir, withDb } from "./helpers.ts";

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
  // score: numbers and NA markers of every spelling; visits: whole numbers and "N" / "null"; flag: Y/N
  // text ("N" alone does not make a column numeric); code: numbers and a word, so text; note: every
  // value a marker, no number, so text; zip: numbers written with leading zeros and "NA", so text.
  const lines = ["id,score,visits,flag,code,note,zip"];
  const markers = ["NA", "n/a", "N", "null", "NULL", " na "];
  for (let i = 0; i < 60; i++) {
    const score = i % 10 === 0 ? markers[(i / 10) % markers.length] : String(((i * 37) % 100) / 10 - 2);
    const visits = i % 7 === 0 ? (i % 2 ? "N" : "null") : String(i % 13);
    const code = i === 5 ? "x1" : String(i % 4);
    const zip = i % 10 === 0 ? "NA" : String(i * 1000 + 123).padStart(5, "0");
    lines.push(`${i},${score},${visits},${i % 3 ? "Y" : "N"},${code},NA,${zip}`);
  }
  writeFileSync(path("markers.csv"), `${lines.join("\n")}\n`);
});
afterAll(() => tmp?.cleanup());

function run(source: string, out: string, rows = 60) {
  return synthesize({
    source: { kind: "file", path: source },
    seed: 1,
    rows,
    iterations: 1,
    out,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed: 1 }),
  });
}

describe("NA markers in a text column of numbers", () => {
  it("reads the column as numbers with the markers as NULL, and leaves other text alone", async () => {
    const result = await withDb(async (db) => {
      const info = await readSource(db, { kind: "file", path: path("markers.csv") });
      const profiles = await profileColumns(db, info);
      const nulls = await db.all<{ score: number; visits: number }>(
        "select count(*) filter (where score is null)::integer as score, count(*) filter (where visits is null)::integer as visits from synthor_real",
      );
      return { info, profiles, nulls };
    });
    expect(result.info.columns).toEqual([
      { name: "id", type: "BIGINT" },
      { name: "score", type: "DOUBLE" },
      { name: "visits", type: "BIGINT" },
      { name: "flag", type: "VARCHAR" },
      { name: "code", type: "VARCHAR" },
      { name: "note", type: "VARCHAR" },
      { name: "zip", type: "VARCHAR" },
    ]);
    expect(result.info.markers).toEqual([
      { name: "score", type: "DOUBLE", count: 6, found: ["N", "NA", "NULL", "n/a", "na", "null"] },
      { name: "visits", type: "BIGINT", count: 9, found: ["N", "null"] },
    ]);
    expect(result.nulls).toEqual([{ score: 6, visits: 9 }]);
    const kinds = Object.fromEntries(result.profiles.map((p) => [p.name, [p.kind, p.reason]]));
    expect(kinds.score).toEqual([
      "numeric",
      'number; text with 6 NA markers ("N", "NA", "NULL", "n/a", "na", "null") read as NULL',
    ]);
    expect(kinds.visits).toEqual([
      "categorical",
      '13 distinct values (at most 20); text with 9 NA markers ("N", "null") read as NULL',
    ]);
    expect(kinds.flag?.[0]).toBe("categorical");
    expect(kinds.note).toEqual(["constant", "one value in every row"]);
  });

  it("finds them in Parquet text columns too (an empty string is a marker there)", async () => {
    const file = path("markers.parquet");
    const info = await withDb(async (db) => {
      await db.exec(
        `copy (select case when range % 5 = 0 then '' else (range * 1.5)::varchar end as v,
                      case when range % 5 = 0 then '' else 'x' || range end as w from range(20))
         to ${quoteLiteral(file)} (format parquet)`,
      );
      return readSource(db, { kind: "file", path: file });
    });
    expect(info.columns).toEqual([
      { name: "v", type: "DOUBLE" },
      { name: "w", type: "VARCHAR" },
    ]);
    expect(info.markers).toEqual([{ name: "v", type: "DOUBLE", count: 4, found: [""] }]);
  });

  it("writes NULL (an empty field), never the marker, in the output", async () => {
    await run(path("markers.csv"), path("markers-out.csv"), 200);
    const rows = readCsv(path("markers-out.csv"));
    const scores = rows.map((r) => r.score);
    expect(scores.some((s) => s === null)).toBe(true);
    expect(scores.every((s) => s === null || Number.isFinite(Number(s)))).toBe(true);
    expect(rows.every((r) => r.visits === null || /^\d+$/.test(r.visits as string))).toBe(true);
    expect(new Set(rows.map((r) => r.note))).toEqual(new Set(["NA"]));
  });
});

describe("a column NULL in every row", () => {
  it("is kept as a constant NULL column, from CSV and from Parquet, in its type", async () => {
    writeFileSync(
      path("empty.csv"),
      `a,empty,b\n${Array.from({ length: 30 }, (_, i) => `${i % 3},,${i}`).join("\n")}\n`,
    );
    await withDb((db) =>
      db.exec(
        `copy (select range % 3 as a, null::integer as empty, range::double / 7 as b from range(30))
         to ${quoteLiteral(path("empty.parquet"))} (format parquet)`,
      ),
    );
    await run(path("empty.csv"), path("empty-out.csv"));
    await run(path("empty.parquet"), path("empty-out.parquet"));
    expect(readFileSync(path("empty-out.csv"), "utf8").split("\n")[0]).toBe("a,empty,b");
    expect(readCsv(path("empty-out.csv")).every((r) => r.empty === null)).toBe(true);
    const parquet = await withDb((db) =>
      db.all<{ t: string; n: number; nulls: number }>(
        `select typeof(empty) as t, count(*)::integer as n, count(*) filter (where empty is null)::integer as nulls
         from read_parquet(${quoteLiteral(path("empty-out.parquet"))}) group by all`,
      ),
    );
    expect(parquet).toEqual([{ t: "INTEGER", n: 60, nulls: 60 }]);
  });
});

describe("negative zero", () => {
  it("is written as 0 in float columns: rounded draws, whole-number doubles, categories", async () => {
    const profile = (name: string, extra: Partial<ColumnProfile>): ColumnProfile => ({
      name,
      index: 0,
      sqlType: "DOUBLE",
      kind: "numeric",
      reason: "",
      integral: false,
      rows: 4,
      nulls: 0,
      nullShare: 0,
      distinct: 4,
      min: null,
      max: null,
      ...extra,
    });
    const profiles = [
      profile("x", { decimals: 1 }),
      profile("y", { integral: true }),
      profile("z", { kind: "categorical" }),
      profile("f", { sqlType: "FLOAT", decimals: 2 }),
    ];
    const text = await withDb(async (db) => {
      await db.exec(
        `create table synthor_synth_model as
         select * from (values (-0.04::double, -0.3::double, '-0.0', -0.001::double, 1, 1, 1),
                               (0.25, 2.0, '1.5', 0.5, 1, 1, 2),
                               (-0.25, -1.2, '0.0', -0.25, 1, 1, 3))
           as t(x, y, z, f, __synthor_iteration, __synthor_proposal, __synthor_row)`,
      );
      return db.all<{ x: string; y: string; z: string; f: string }>(
        `select x::varchar as x, y::varchar as y, z::varchar as z, f::varchar as f
         from (${outputSelect(profiles, 1)}) order by x`,
      );
    });
    expect(text).toEqual([
      { x: "-0.2", y: "-1.0", z: "0.0", f: "-0.25" },
      { x: "0.0", y: "0.0", z: "0.0", f: "0.0" },
      { x: "0.3", y: "2.0", z: "1.5", f: "0.5" },
    ]);
  });
});

describe("a table of more than 1,000 numeric columns", () => {
  // DuckDB counted every scalar subquery of a select list towards its expression depth limit (1000):
  // main codes and grids had one per numeric column, sub-bin codes about five (250 columns are enough
  // there, and quicker to plan than 1,100).
  it("is coded in bins and sub-bins, and its grids read, in one query each", async () => {
    const k = 1100;
    const columns = Array.from(
      { length: k },
      (_, j): ModelColumn => ({
        name: `c${j}`,
        index: j,
        sqlType: "DOUBLE",
        kind: "numeric",
        reason: "",
        integral: false,
        rows: 3,
        nulls: 0,
        nullShare: 0,
        distinct: 3,
        min: "0",
        max: "2",
      }),
    );
    const rows = await withDb(async (db) => {
      await db.exec(
        `create table synthor_edges as select 'c' || range as "column", [0.5, 1.5] as edges from range(${k});
         create table synthor_bins as
           select 'c' || range as "column", b.bin, b.lo, b.hi from range(${k}), (values (0, 0.0, 0.5), (1, 0.5, 1.5), (2, 1.5, 2.0)) as b(bin, lo, hi);
         create table synthor_grid as select 'c' || range as "column", [0.0, 1.0, 2.0] as grid from range(${k});
         create table model as select ${columns.map((c, j) => `(range + ${j}) % 3 as ${quoteIdent(c.name)}`).join(", ")} from range(3);`,
      );
      const codes = await db.all<Record<string, string>>(
        `select c0, c1, c249 from (${codesSelect(columns.slice(0, 250), "model", { subBins: 4 })}) order by c0`,
      );
      const main = await db.all<Record<string, string>>(
        `select c0, c1099 from (${codesSelect(columns, "model")}) order by c0`,
      );
      const [grids] = await db.all<Record<string, number[]>>(
        `select g0, g1099 from (${gridsSelect(columns)})`,
      );
      return { codes, main, grids };
    });
    // Values 0, 1, 2 in bins (-inf, 0.5], (0.5, 1.5], (1.5, inf): sub-bins of 4 inside lo..hi.
    expect(rows.codes).toEqual([
      { c0: "0.0", c1: "1.1", c249: "0.0" },
      { c0: "1.1", c1: "2.3", c249: "1.1" },
      { c0: "2.3", c1: "0.0", c249: "2.3" },
    ]);
    expect(rows.main).toEqual([
      { c0: "0", c1099: "1" },
      { c0: "1", c1099: "2" },
      { c0: "2", c1099: "0" },
    ]);
    expect(rows.grids).toEqual({ g0: [0, 1, 2], g1099: [0, 1, 2] });
  });

  it("is coded in deciles for evaluation in one query", async () => {
    const k = 1100;
    const columns = Array.from(
      { length: k },
      (_, j): EvalColumn => ({ name: `c${j}`, kind: "numeric", datetime: false, sqlType: "DOUBLE" }),
    );
    const codes = await withDb(async (db) => {
      await db.exec(
        `create table synthor_eval_edges as select 'c' || range as "column", [0.5, 1.5] as edges from range(${k});
         create table t as select ${columns.map((c, j) => `((range + ${j}) % 3)::double as ${quoteIdent(c.name)}`).join(", ")} from range(3)`,
      );
      return db.all<Record<string, string>>(
        `select c0, c1099 from (${decileCodesSelect(columns, "t")}) order by c0`,
      );
    });
    expect(codes).toEqual([
      { c0: "0", c1099: "1" },
      { c0: "1", c1099: "2" },
      { c0: "2", c1099: "0" },
    ]);
  });
});
