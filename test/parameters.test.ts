import { describe, expect, it } from "vitest";
import { withParameterSuffix } from "../src/db/parameters.ts";
import { withDb } from "./helpers.ts";

// Db.insertUnion runs copies of one query in one statement, each with its own parameters. The renaming
// goes through DuckDB's parser: a string literal or a comment that looks like a parameter is left alone
// (a text substitution renamed `$a` inside the literal and cut the line at `--`).
describe("withParameterSuffix", () => {
  const QUERY = "select $a as a, '$a -- not a comment' as text, $b + 1 as b -- the end\n;";

  it("renames parameter nodes only", async () => {
    const sql = await withDb((db) => withParameterSuffix(db, QUERY, "3"));
    expect(sql).toBe(`SELECT $a_3 AS a, '$a -- not a comment' AS "text", ($b_3 + 1) AS b`);
  });

  it("lets copies of a query run in one statement with their own values", async () => {
    const rows = await withDb(async (db) => {
      const parts = await Promise.all(["0", "1"].map((i) => withParameterSuffix(db, QUERY, i)));
      return db.all(`${parts.map((p) => `(${p})`).join(" union all ")} order by a`, {
        a_0: "x'; drop table t; --",
        b_0: 1,
        a_1: "y",
        b_1: 2,
      });
    });
    expect(rows).toEqual([
      { a: "x'; drop table t; --", text: "$a -- not a comment", b: 2 },
      { a: "y", text: "$a -- not a comment", b: 3 },
    ]);
  });

  it("parses a query once, whatever the number of suffixes, and refuses one that holds its marker", async () => {
    const { sqls, parsed } = await withDb(async (db) => {
      let parsed = 0;
      const counting = Object.create(db) as typeof db;
      counting.all = (sql, params, label) => {
        if (label === "parse SQL") parsed++;
        return db.all(sql, params, label);
      };
      const query = "select $x as x, 'synthor' as t";
      const sqls = [];
      for (const i of ["0", "1", "31"]) sqls.push(await withParameterSuffix(counting, query, i));
      return { sqls, parsed };
    });
    expect(sqls).toEqual([
      `SELECT $x_0 AS x, 'synthor' AS t`,
      `SELECT $x_1 AS x, 'synthor' AS t`,
      `SELECT $x_31 AS x, 'synthor' AS t`,
    ]);
    expect(parsed).toBe(1);
    await expect(
      withDb((db) => withParameterSuffix(db, "select $a, 'synthor_suffix_marker' as m", "0")),
    ).rejects.toThrow(/holds synthor_suffix_marker/);
  });

  it("refuses more than one statement", async () => {
    await expect(withDb((db) => withParameterSuffix(db, "select $a; select $b", "0"))).rejects.toThrow(
      /not one statement/,
    );
  });
});
