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

  it("refuses more than one statement", async () => {
    await expect(withDb((db) => withParameterSuffix(db, "select $a; select $b", "0"))).rejects.toThrow(
      /not one statement/,
    );
  });
});
