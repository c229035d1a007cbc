/**
 * Reading the examples out of the docs, for the tests that keep them true (docs.macros.test.ts,
 * docs.commands.test.ts).
 */
import type { DuckDBConnection } from "@duckdb/node-api";

/** One fenced block of a markdown file: its language, text, and the line its fence opens on. */
export interface Fence {
  lang: string;
  body: string;
  line: number;
}

/** Every fenced block (```lang ... ```) of a markdown text, in order. Indented fences count too. */
export function fences(markdown: string): Fence[] {
  const out: Fence[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i] ?? "");
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ""); j++)
      body.push((lines[j] ?? "").slice(indent));
    out.push({ lang: open[2] ?? "", body: body.join("\n"), line: i + 1 });
    i = j;
  }
  return out;
}

/** A table as text: a header row and data rows of cells. */
export interface TextTable {
  columns: string[];
  rows: string[][];
}

/**
 * Parses a result shown in the docs as a markdown-style table:
 *
 *     | bin | lo  | n |
 *     | --- | --- | - |
 *     | 0   | 0   | 4 |
 */
export function parseTable(text: string): TextTable {
  const lines = text
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  const cells = (l: string) =>
    l
      .trim()
      .replace(/^\|/, "")
      .replace(/\|$/, "")
      .split("|")
      .map((c) => c.trim());
  const [header, rule, ...rows] = lines;
  if (header === undefined || rule === undefined || !/^\|?[\s|:-]+\|?$/.test(rule)) {
    throw new Error(`not a table (a header row, a --- row, then rows):\n${text}`);
  }
  return { columns: cells(header), rows: rows.map(cells) };
}

/**
 * The statements of an SQL example, split where a line ends in `;` (the docs write one statement per
 * such line; the caller checks the count against DuckDB's own parse).
 */
export function statements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:--[^\n]*)?\n/)
    .map((s) => s.replace(/;\s*(--[^\n]*)?\s*$/, "").trim())
    .filter((s) => s.replace(/--[^\n]*/g, "").trim() !== "");
}

/**
 * Runs an SQL example on `connection`: every statement in order, and returns the last one's result as
 * DuckDB renders each value as text (`columns(*)::varchar`), NULL as `NULL`.
 */
export async function runExample(connection: DuckDBConnection, sql: string): Promise<TextTable> {
  const parts = statements(sql);
  const parsed = await connection.extractStatements(sql);
  if (parsed.count !== parts.length) {
    throw new Error(
      `DuckDB reads ${parsed.count} statements, the split ${parts.length}: end each with ;\n${sql}`,
    );
  }
  const last = parts.pop() ?? "";
  for (const s of parts) await connection.run(s);
  const reader = await connection.runAndReadAll(`select columns(*)::varchar from (${last})`);
  return {
    columns: reader.columnNames(),
    rows: reader.getRows().map((r) => r.map((v) => (v === null ? "NULL" : String(v)))),
  };
}

/**
 * Whether a value DuckDB printed matches the one the doc shows: the same text, or, for a number, the
 * same number rounded to the decimals the doc shows (`0.3333` for 0.3333333333333333; `3` for 3.0).
 */
export function sameCell(actual: string, shown: string): boolean {
  if (actual === shown) return true;
  const numeric = /^-?\d+(\.\d+)?$/;
  if (!numeric.test(shown) || !/^-?\d+(\.\d+)?(e-?\d+)?$/.test(actual)) return false;
  const decimals = shown.split(".")[1]?.length ?? 0;
  return Number(actual).toFixed(decimals) === Number(shown).toFixed(decimals);
}

/** Renders a result as a doc table, columns padded: what a doc shows for it. */
export function formatTable(t: TextTable): string {
  const widths = t.columns.map((c, i) => Math.max(3, c.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 3)).join(" | ")} |`;
  return [line(t.columns), line(widths.map((w) => "-".repeat(w))), ...t.rows.map(line)].join("\n");
}
