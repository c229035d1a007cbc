/**
 * Reading and checking the golden CSVs of test/golden (format in test/golden/README.md).
 *
 * Fields are plain text split on commas (test/helpers.ts `readCsv`); an empty field is NULL. A list is
 * written `[a|b|NULL]`: items separated by `|`, `NULL` for a NULL item, `[]` for the empty list.
 */
import { readFileSync } from "node:fs";
import { LIST, listValue, VARCHAR } from "@duckdb/node-api";
import { expect } from "vitest";
import type { Db, ParamValue, Row } from "../../src/db/connection.ts";
import { quoteIdent } from "../../src/db/quote.ts";
import { golden, readCsv } from "../helpers.ts";

export type CsvRow = Record<string, string | null>;

/** Floats are compared with this absolute tolerance. */
export const TOLERANCE = 1e-9;

/** The header and rows of test/golden/<file>. */
export function goldenCsv(file: string): { columns: string[]; rows: CsvRow[] } {
  const header = readFileSync(golden(file), "utf8").split("\n")[0] ?? "";
  return { columns: header.trimEnd().split(","), rows: readCsv(golden(file)) };
}

/** `[a|b|NULL]` as ["a", "b", null]; `[]` as []. */
export function decodeList(text: string): (string | null)[] {
  if (!text.startsWith("[") || !text.endsWith("]")) throw new Error(`not a golden list: ${text}`);
  const inner = text.slice(1, -1);
  return inner === "" ? [] : inner.split("|").map((v) => (v === "NULL" ? null : v));
}

/** A golden list bound as a VARCHAR list; cast it in SQL (`$edges::double[]`). */
export function listParam(text: string): ParamValue {
  return { value: listValue(decodeList(text)), type: LIST(VARCHAR) };
}

/** A golden field as a parameter of SQL type `type`: lists bound as lists, scalars as text to cast. */
export function fieldParam(text: string | null, type: string): ParamValue {
  if (text === null) return null;
  return type.endsWith("[]") ? listParam(text) : text;
}

/**
 * Creates `table` from test/golden/<file>: one column per CSV column, typed by `types` (SQL type names)
 * or `fallback`. Values are bound as parameters and cast, so hostile column names and values are safe.
 */
export async function loadTable(
  db: Db,
  table: string,
  file: string,
  types: Record<string, string> = {},
  fallback = "varchar",
): Promise<void> {
  const { columns, rows } = goldenCsv(file);
  const typeOf = (c: string) => types[c] ?? fallback;
  const defs = columns.map((c) => `${quoteIdent(c)} ${typeOf(c)}`).join(", ");
  await db.exec(`create or replace table ${quoteIdent(table)} (${defs})`, `create ${table} from ${file}`);
  const values = columns.map((c, i) => `$p${i}::${typeOf(c)}`).join(", ");
  for (const row of rows) {
    const params = Object.fromEntries(
      columns.map((c, i) => [`p${i}`, fieldParam(row[c] ?? null, typeOf(c))]),
    );
    await db.exec(`insert into ${quoteIdent(table)} values (${values})`, `load ${file}`, params);
  }
}

/** Consecutive rows with the same values in `keys` form one case, in file order. */
export function groupCases(rows: CsvRow[], keys: string[]): { key: CsvRow; rows: CsvRow[] }[] {
  const cases: { key: CsvRow; rows: CsvRow[]; id: string }[] = [];
  for (const row of rows) {
    const key = Object.fromEntries(keys.map((k) => [k, row[k] ?? null]));
    const id = JSON.stringify(key);
    const last = cases.at(-1);
    if (last?.id === id) last.rows.push(row);
    else cases.push({ key, rows: [row], id });
  }
  return cases.map(({ key, rows }) => ({ key, rows }));
}

/** Whether an actual value matches a golden field (numbers within {@link TOLERANCE}). */
export function matches(actual: unknown, expected: string | null): boolean {
  if (expected === null) return actual === null;
  if (Array.isArray(actual)) {
    const items = decodeList(expected);
    return items.length === actual.length && items.every((e, i) => matches(actual[i], e));
  }
  if (typeof actual === "number") {
    const e = Number(expected);
    return Number.isFinite(e) && Math.abs(actual - e) <= TOLERANCE;
  }
  if (typeof actual === "boolean" || typeof actual === "string") return String(actual) === expected;
  return false;
}

/** Every difference between actual rows and golden rows: row count, column names and order, values. */
export function differences(actual: Row[], expected: CsvRow[], outputs: string[]): string[] {
  const out: string[] = [];
  if (actual.length !== expected.length) {
    out.push(`expected ${expected.length} rows, got ${actual.length}: ${JSON.stringify(actual)}`);
  }
  const first = actual[0];
  if (first && JSON.stringify(Object.keys(first)) !== JSON.stringify(outputs)) {
    out.push(`expected columns ${JSON.stringify(outputs)}, got ${JSON.stringify(Object.keys(first))}`);
  }
  expected.forEach((row, i) => {
    const got = actual[i];
    if (!got) return;
    for (const col of outputs) {
      const want = row[col] ?? null;
      if (!matches(got[col], want)) {
        out.push(`row ${i} ${col}: expected ${want ?? "NULL"}, got ${JSON.stringify(got[col])}`);
      }
    }
  });
  return out;
}

/** Asserts actual = expected row by row, in order, listing every difference on failure. */
export function expectGolden(actual: Row[], expected: CsvRow[], outputs: string[]): void {
  expect(differences(actual, expected, outputs)).toEqual([]);
}

/** The cases of a golden file: rows grouped by the `keys` columns, and the output columns to compare. */
export function goldenCases(
  file: string,
  keys: string[],
  outputs?: string[],
): { outputs: string[]; cases: { key: CsvRow; rows: CsvRow[] }[] } {
  const { columns, rows } = goldenCsv(file);
  return { outputs: outputs ?? columns.filter((c) => !keys.includes(c)), cases: groupCases(rows, keys) };
}

/** A golden key field that must be present. */
export function field(row: CsvRow, name: string): string {
  const v = row[name];
  if (v === null || v === undefined) throw new Error(`golden field ${name} is empty`);
  return v;
}

/** Count tables (unit, cell, n) as synthor_contingency returns them and src/summarize.ts stores them. */
export const COUNT_TYPES = { unit: "varchar", cell: "varchar[]", n: "bigint" };

/** Loads the count tables of the gaps and tvd goldens: gaps_real, gaps_synth and gaps_empty. */
export async function loadGapTables(db: Db): Promise<void> {
  for (const side of ["real", "synth", "empty"]) {
    await loadTable(db, `gaps_${side}`, `synthor_gaps.${side}.csv`, COUNT_TYPES);
  }
}

/** The real and synthetic count tables that a case of the gaps and tvd goldens compares. */
export function gapTables(name: string): { real: string; synth: string } {
  const tables: Record<string, { real: string; synth: string }> = {
    real_vs_synth: { real: "gaps_real", synth: "gaps_synth" },
    real_vs_empty: { real: "gaps_real", synth: "gaps_empty" },
    real_vs_real: { real: "gaps_real", synth: "gaps_real" },
  };
  const t = tables[name];
  if (!t) throw new Error(`unknown gaps case ${name}`);
  return t;
}
