/**
 * measurePairs counts the cells of many pairs in one statement (src/groups.ts, sql/pair_associations.sql);
 * each pair's measures must be those of macros/synthor_association.sql run on that pair alone.
 */
import { describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { quoteIdent, quoteLiteral } from "../src/db/quote.ts";
import { measurePairs } from "../src/groups.ts";
import { withDb } from "./helpers.ts";

// Hostile names (a quote that closes the identifier, a semicolon, non-ASCII, a reserved word, a single
// quote), numeric columns binned as the codes view bins them (VARCHAR bin numbers, NULL outside any bin),
// NULLs as categories, an integer column, a constant and an all-NULL column; with the 18 plain columns,
// 276 pairs: more than one statement's worth.
const CODES = `
select
    ['p''q', 'x"y', null, 'z;z'][range % 4 + 1] as ${quoteIdent('a"; drop table x; --')},
    synthor_bin((range * 37 % 101)::double, [20.0, 50.0, 80.0])::varchar as ${quoteIdent("größe")},
    case when range % 7 = 0 then null
        else synthor_bin(range % 13 * 1.5, [3.0, 9.0])::varchar end as ${quoteIdent("x;y")},
    (range % 3)::integer as ${quoteIdent("it's")},
    'k' as ${quoteIdent("select")},
    null::varchar as ${quoteIdent("two words")},
    ${Array.from(
      { length: 18 },
      (_, i) =>
        `case when (range + ${i}) % 11 = 0 then null
            else ((range // ${(i % 4) + 1} + ${i}) % ${(i % 5) + 2})::varchar end as ${quoteIdent(`c${i}`)}`,
    ).join(",\n    ")}
from range(120)`;

/** Each pair (i < j in the table's column order) measured alone by the macro, rounded as measurePairs rounds. */
async function oneByOne(db: Db, table: string) {
  const names = (
    await db.all<{ name: string }>(`select name from pragma_table_info(${quoteLiteral(table)}) order by cid`)
  ).map((r) => r.name);
  const expected = [];
  for (const [i, a] of names.entries()) {
    for (const b of names.slice(i + 1)) {
      const [row] = await db.all<{ cramers_v: number; mutual_information: number | null }>(
        "select * from synthor_association($table, $a, $b)",
        { table, a, b },
      );
      const round = (x: number) => (x === 0 ? 0 : Number(x.toPrecision(10)));
      expected.push({
        a,
        b,
        cramersV: round(row?.cramers_v ?? 0),
        mutualInformation: round(row?.mutual_information ?? 0),
      });
    }
  }
  return { names, expected };
}

describe("measurePairs", () => {
  it("gives every pair, in column order, the measures the per-pair macro gives", async () => {
    await withDb(async (db) => {
      await db.exec(`create table synthor_real_codes as ${CODES}`);
      const { names, expected } = await oneByOne(db, "synthor_real_codes");
      expect(expected).toHaveLength(276);
      // Dependent and independent pairs both: the comparison is not one of zeros.
      expect(expected.filter((p) => p.cramersV > 0.5).length).toBeGreaterThan(5);
      expect(expected.filter((p) => p.cramersV === 0).length).toBeGreaterThan(5);
      const measured = await measurePairs(
        db,
        names.map((name) => ({ name })),
        { sampleRows: 1000 },
      );
      expect(measured).toEqual(expected);
    });
  });

  it("gives 0 for every pair of an empty table, as the macro does", async () => {
    await withDb(async (db) => {
      await db.exec(`create table synthor_real_codes as ${CODES} limit 0`);
      const { names, expected } = await oneByOne(db, "synthor_real_codes");
      expect(expected.every((p) => p.cramersV === 0 && p.mutualInformation === 0)).toBe(true);
      expect(
        await measurePairs(
          db,
          names.map((name) => ({ name })),
        ),
      ).toEqual(expected);
    });
  });
});
