/**
 * Every SQL example of macros/README.md runs in plain DuckDB with the result the doc shows. Each ```sql
 * block is followed by a ```text block holding its result; the script runs in a fresh in-memory
 * database (@duckdb/node-api alone, the engine of the DuckDB CLI) where nothing but the output of
 * `synthor macros` was run, and the last statement's rows, as DuckDB renders them as text, are compared
 * cell by cell (a number to the decimals the doc shows).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { macroNames, packageRoot } from "../src/db/files.ts";
import { cli } from "./helpers.ts";
import { fences, parseTable, runExample, sameCell, type TextTable } from "./markdown.ts";

const README = join(packageRoot, "macros", "README.md");

/** The doc's examples: each ```sql block, the ```text block after it, and the section they are in. */
function examples(markdown: string): { section: string; line: number; sql: string; shown: string }[] {
  const blocks = fences(markdown);
  const lines = markdown.split("\n");
  const out: { section: string; line: number; sql: string; shown: string }[] = [];
  for (const [i, b] of blocks.entries()) {
    if (b.lang !== "sql") continue;
    const next = blocks[i + 1];
    if (next?.lang !== "text")
      throw new Error(`macros/README.md:${b.line}: an sql block without a text block after it`);
    const heading = lines
      .slice(0, b.line)
      .reverse()
      .find((l) => l.startsWith("### "));
    out.push({ section: heading?.slice(4) ?? "top", line: b.line, sql: b.body, shown: next.body });
  }
  return out;
}

/** Where `actual` differs from `shown`: nothing when they agree. */
function differences(actual: TextTable, shown: TextTable): string[] {
  const out: string[] = [];
  if (actual.columns.join("|") !== shown.columns.join("|")) {
    out.push(`columns: ${actual.columns.join(", ")} (the doc shows ${shown.columns.join(", ")})`);
  }
  if (actual.rows.length !== shown.rows.length) {
    out.push(`${actual.rows.length} rows (the doc shows ${shown.rows.length})`);
  }
  for (const [r, row] of actual.rows.entries()) {
    for (const [c, cell] of row.entries()) {
      const want = shown.rows[r]?.[c];
      if (want === undefined || !sameCell(cell, want)) {
        out.push(`row ${r + 1}, ${actual.columns[c]}: ${cell} (the doc shows ${want})`);
      }
    }
  }
  return out;
}

const cases = examples(readFileSync(README, "utf8"));
let script: string;
beforeAll(async () => {
  const printed = await cli(["macros"]);
  expect(printed.code).toBe(0);
  script = printed.stdout;
}, 120_000);

describe("macros/README.md", () => {
  it("documents every macro, each with an example and its result", () => {
    const sections = readFileSync(README, "utf8")
      .split("\n")
      .filter((l) => /^### synthor_/.test(l))
      .map((l) => l.slice(4));
    expect([...sections].sort()).toEqual([...macroNames()].sort());
    expect([...new Set(cases.map((c) => c.section))].sort()).toEqual([...sections].sort());
  });

  it.each(cases.map((c) => [`${c.section} (line ${c.line})`, c] as const))("%s", async (_, c) => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      await connection.run(script);
      const actual = await runExample(connection, c.sql);
      expect(differences(actual, parseTable(c.shown))).toEqual([]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe("the comparison", () => {
  it("tells a wrong value, a missing column and a missing row apart", () => {
    const shown = parseTable("| a | b |\n| - | - |\n| 1 | 0.3333 |\n| 2 | x |");
    expect(
      differences(
        {
          columns: ["a", "b"],
          rows: [
            ["1", "0.3333333333333333"],
            ["2", "x"],
          ],
        },
        shown,
      ),
    ).toEqual([]);
    expect(
      differences(
        {
          columns: ["a", "b"],
          rows: [
            ["1", "0.334"],
            ["2", "x"],
          ],
        },
        shown,
      ),
    ).toEqual(["row 1, b: 0.334 (the doc shows 0.3333)"]);
    expect(differences({ columns: ["a"], rows: [["1"]] }, shown)).toEqual([
      "columns: a (the doc shows a, b)",
      "1 rows (the doc shows 2)",
    ]);
  });
});
