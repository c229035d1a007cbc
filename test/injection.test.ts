import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { varcharList } from "../src/db/connection.ts";
import { asWritten, quoteIdent, quoteLiteral } from "../src/db/quote.ts";
import { computeDiscrepancy, gapTable } from "../src/discrepancy.ts";
import { profileColumns } from "../src/profile.ts";
import { readSource } from "../src/source.ts";
import { summarizeTable } from "../src/summarize.ts";
import { tempDir, withDb } from "./helpers.ts";

// Column names from users' files reach SQL text. Each of these breaks naive quoting in its own way:
// a double quote that closes the identifier and runs a statement, a space, non-ASCII letters, a reserved
// word, a single quote that closes a string literal, and a comma that splits a column list.
const DROP = 'a"; drop table x; --';
const SPACE = "two words";
const UNICODE = "größe";
const RESERVED = "select";
const QUOTE = "it's";
const COMMA = "a,b";
const NAMES = [DROP, SPACE, UNICODE, RESERVED, QUOTE, COMMA];
// The table's own name is hostile too. query_table() (which the macros use) reads its argument as a
// possibly qualified name and cannot reach a table whose name holds a double quote, so the macros are
// called on a copy whose name holds everything else.
const TABLE = "t'; drop table x; --\"";
const MACRO_TABLE = "t'; drop table x; --";

// 60 rows; the values are hostile as well: quotes, commas, a semicolon.
const CREATE = `
create table x as select 42 as keep;
create table ${quoteIdent(TABLE)} as
select
    ['p''; drop table x; --', 'q"q', 'r,r'][range % 3 + 1] as ${quoteIdent(DROP)},
    (range * 1.7) % 50 as ${quoteIdent(SPACE)},
    (range % 4)::integer as ${quoteIdent(UNICODE)},
    ['yes', 'no'][range % 2 + 1] as ${quoteIdent(RESERVED)},
    date '2024-01-01' + range::integer as ${quoteIdent(QUOTE)},
    (range * 7) % 45 as ${quoteIdent(COMMA)}
from range(60);
create table ${quoteIdent(MACRO_TABLE)} as from ${quoteIdent(TABLE)}`;

describe("hostile column names and values", () => {
  it("profile, summarize with groups, gaps and discrepancy all work, and table x survives", async () => {
    await withDb(async (db) => {
      await db.exec(CREATE);
      const source = await readSource(db, { kind: "table", table: TABLE });
      expect(source.columns.map((c) => c.name)).toEqual(NAMES);
      expect(source.rows).toBe(60);

      const profiles = await profileColumns(db, source, { describe: { [QUOTE]: "the day it's about" } });
      expect(profiles.map((p) => [p.name, p.kind])).toEqual([
        [DROP, "categorical"],
        [SPACE, "numeric"],
        [UNICODE, "categorical"],
        [RESERVED, "categorical"],
        [QUOTE, "datetime"],
        [COMMA, "numeric"],
      ]);

      const groups = [
        [DROP, COMMA, UNICODE],
        [RESERVED, QUOTE, SPACE],
      ];
      const summary = await summarizeTable(db, source, profiles, { bins: 4, subBins: 3, groups });
      expect(summary.columns.map((c) => c.name)).toEqual(NAMES);
      expect(summary.groups.map((g) => g.columns)).toEqual([
        [DROP, UNICODE, COMMA],
        [SPACE, RESERVED, QUOTE],
      ]);
      const dropColumn = summary.columns.find((c) => c.name === DROP);
      expect(dropColumn?.categories?.map((c) => [c.value, c.n])).toEqual([
        ["p'; drop table x; --", 20],
        ['q"q', 20],
        ["r,r", 20],
      ]);
      // Every unit's counts add up to all rows, and the unit ids are JSON lists of the hostile names.
      const totals = await db.all<{ unit: string; n: number }>(
        "select unit, sum(n)::bigint as n from synthor_real_counts where unit not like 'fine:%' group by unit order by unit",
      );
      expect(totals).toHaveLength(NAMES.length + groups.length);
      expect(totals.every((t) => t.n === 60)).toBe(true);
      expect(totals.map((t) => JSON.parse(t.unit))).toContainEqual([DROP, UNICODE, COMMA]);
      const numeric = summary.columns.find((c) => c.name === COMMA);
      expect(numeric?.bins?.reduce((s, b) => s + b.n, 0)).toBe(60);
      const fine = await db.all<{ n: number }>(
        'select sum(n)::bigint as n from synthor_real_fine where "column" = $c',
        { c: COMMA },
      );
      expect(fine).toEqual([{ n: 60 }]);

      // Nothing synthesized yet: every gap is the real share and every TVD is 1.
      const empty = await computeDiscrepancy(db, summary);
      expect(empty.marginals.map((m) => m.columns[0])).toEqual(NAMES);
      expect(empty.meanTvd).toBeCloseTo(1, 12);
      const gaps = await gapTable(db, summary, summary.groups);
      expect(
        gaps.filter((g) => g.unit === summary.groups[0]?.id).reduce((s, g) => s + g.realShare, 0),
      ).toBeCloseTo(1, 12);
      const labelled = gaps.find((g) => g.cell[0] === "p'; drop table x; --");
      expect(labelled?.label).toMatch(
        /^a"; drop table x; -- = p'; drop table x; --, größe = \d, a,b (in|=) /,
      );

      // A synthetic table equal to the real one: every TVD is 0.
      await db.exec("insert into synthor_synth_counts select * from synthor_real_counts");
      const same = await computeDiscrepancy(db, summary);
      expect([...same.marginals, ...same.groups].every((u) => u.tvd === 0)).toBe(true);

      expect(await db.all("select keep from x")).toEqual([{ keep: 42 }]);
      expect(await db.all(`select count(*) as n from ${quoteIdent(TABLE)}`)).toEqual([{ n: 60 }]);
    });
  });

  it("the macros take hostile table and column names as plain strings", async () => {
    await withDb(async (db) => {
      await db.exec(CREATE);
      const t = MACRO_TABLE;
      const freq = await db.all("select * from synthor_frequency($t, $c)", { t, c: DROP });
      expect(freq.map((r) => r.value)).toEqual(["p'; drop table x; --", 'q"q', "r,r"]);
      const stats = await db.all("select * from synthor_column_stats($t, $c)", { t, c: UNICODE });
      expect(stats).toMatchObject([
        {
          n: 60,
          non_null: 60,
          distinct_values: 4,
          integral: true,
          decimals: 0,
          mean: 1.5,
          min: "0",
          max: "3",
        },
      ]);
      const bins = await db.all<{ n: number }>("select * from synthor_main_bins($t, $c, 3)", { t, c: COMMA });
      expect(bins.reduce((s, b) => s + b.n, 0)).toBe(60);
      const [summary] = await db.all("select * from synthor_numeric_summary($t, $c)", { t, c: SPACE });
      expect(summary).toMatchObject({ n: 60, nulls: 0 });
      const cells = await db.all<{ unit: string; n: number }>(
        "select * from synthor_contingency($t, $cols)",
        {
          t,
          cols: varcharList([RESERVED, DROP]),
        },
      );
      expect(cells).toHaveLength(6);
      expect(JSON.parse(cells[0]?.unit ?? "")).toEqual([DROP, RESERVED]);
      const [assoc] = await db.all<{ n: number }>("select * from synthor_association($t, $a, $b)", {
        t,
        a: QUOTE,
        b: RESERVED,
      });
      expect(assoc?.n).toBe(60);
      // The same names inlined as literals, as a user would type them in the duckdb shell.
      const typed = await db.all(
        `from synthor_frequency(${quoteLiteral(t)}, ${quoteLiteral(QUOTE)}) order by value limit 1`,
      );
      expect(typed).toHaveLength(1);
      expect(await db.all("select keep from x")).toEqual([{ keep: 42 }]);
    });
  });

  it("a CSV file with hostile column names and a hostile file name is read and profiled", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.dir, `it's "data"; drop table x.csv`);
      const header = NAMES.map((n) => `"${n.replaceAll('"', '""')}"`).join(",");
      const lines = Array.from(
        { length: 30 },
        (_, i) =>
          `v${i % 3},${i * 1.5},${i % 4},yes,2024-01-${String((i % 28) + 1).padStart(2, "0")},${i * 7}`,
      );
      writeFileSync(path, `${header}\n${lines.join("\n")}\n`);
      await withDb(async (db) => {
        await db.exec("create table x as select 42 as keep");
        const source = await readSource(db, { kind: "file", path });
        expect(source.columns.map((c) => c.name)).toEqual(NAMES);
        const profiles = await profileColumns(db, source, { ignore: [`${RESERVED},${COMMA}`] });
        expect(profiles.map((p) => p.kind)).toEqual([
          "categorical",
          "numeric",
          "categorical",
          "ignored",
          "datetime",
          "ignored",
        ]);
        expect(await db.all("select keep from x")).toEqual([{ keep: 42 }]);
      });
    } finally {
      dir.cleanup();
    }
  });
});

describe("asWritten", () => {
  it("shows a plain name bare and any other name quoted, as a user must write it in --where", () => {
    expect(["age", "Age_2", "_x"].map(asWritten)).toEqual(["age", "Age_2", "_x"]);
    expect(["hours-per-week", "2nd", "a b", 'a"b'].map(asWritten)).toEqual([
      '"hours-per-week"',
      '"2nd"',
      '"a b"',
      '"a""b"',
    ]);
  });
});
