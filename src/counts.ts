/**
 * Count tables: how many rows of a codes table (model space, numeric columns in bins) hold each cell of
 * each unit, appended to a table (unit, cell, n). Both sides of the loop keep them (ARCHITECTURE.md,
 * "Units and count tables").
 *
 * Units are counted many at a time: each chunk of units is stacked into one relation (one row per row of
 * its codes table and unit, the unit's codes as text) and counted by one GROUP BY
 * (sql/unit_counts.sql). One aggregate for many units costs far less than an aggregate per unit, whose
 * fixed cost dominates on the small tables of a batch.
 */
import type { Db } from "./db/connection.ts";
import { varcharList } from "./db/connection.ts";
import { sqlFile } from "./db/files.ts";
import { quoteIdent } from "./db/quote.ts";

/** A structure unit: one column (a marginal) or a group of 2 to 4 columns (a joint). */
export interface Unit {
  /** The unit's key in the count tables: its columns as a JSON list, in table order. */
  id: string;
  columns: string[];
}

/** Units counted over one codes table, their ids behind `prefix` ('' for none; 'fine:', 'pair:', ...). */
export interface UnitSet {
  codes: string;
  units: Unit[];
  prefix: string;
}

/** Units stacked into one relation and counted by one statement: bounds the statement and the relation. */
const UNITS_PER_STATEMENT = 200;

/** Counts every unit's cells over a codes table and appends them to `target` (unit, cell, n). */
export async function countUnits(
  db: Db,
  codes: string,
  units: Unit[],
  target: string,
  options: { prefix?: string } = {},
): Promise<void> {
  await countUnitSets(db, target, [{ codes, units, prefix: options.prefix ?? "" }]);
}

/**
 * Counts the units of every set and appends them to `target` (unit, cell, n): the unit's columns in
 * the codes table's order, each code as text (NULL a code of its own), the id written as DuckDB's to_json
 * writes the list of those columns behind the set's prefix: what synthor_contingency gives, unit by unit.
 */
export async function countUnitSets(db: Db, target: string, sets: UnitSet[]): Promise<void> {
  const parts = await partsOf(db, sets);
  const ids = await unitIdsOf(
    db,
    parts.map((p) => p.columns),
  );
  await stacked(db, parts, async (start, chunk) => {
    await db.exec(`insert into ${quoteIdent(target)} ${sqlFile("unit_counts")}`, "sql/unit_counts.sql", {
      units: varcharList(chunk.map((p, k) => `${p.prefix}${ids[start + k]}`)),
    });
  });
}

/**
 * The cells of each unit (columns in any order) of the codes table `codes`, in the order
 * synthor_contingency gives them (by cell), read in as few statements as countUnitSets writes them.
 */
export async function readUnits(
  db: Db,
  requests: { codes: string; columns: string[] }[],
): Promise<{ cell: (string | null)[]; n: number }[][]> {
  const out: { cell: (string | null)[]; n: number }[][] = requests.map(() => []);
  const parts = await partsOf(
    db,
    requests.map((r) => ({ codes: r.codes, units: [{ id: "", columns: r.columns }], prefix: "" })),
  );
  await stacked(db, parts, async (start, chunk) => {
    const rows = await db.all<{ unit: string; cell: (string | null)[]; n: number }>(
      sqlFile("unit_counts"),
      { units: varcharList(chunk.map((_, k) => String(start + k))) },
      "sql/unit_counts.sql",
    );
    for (const r of rows) out[Number(r.unit)]?.push({ cell: r.cell, n: r.n });
  });
  return out;
}

interface Part {
  codes: string;
  columns: string[];
  prefix: string;
}

/** Each unit of the sets, its columns in its codes table's order (checked to be there). */
async function partsOf(db: Db, sets: UnitSet[]): Promise<Part[]> {
  const parts: Part[] = [];
  const orders = new Map<string, Map<string, number>>();
  for (const set of sets) {
    if (set.units.length === 0) continue;
    let order = orders.get(set.codes);
    if (!order) {
      order = await columnOrder(db, set.codes);
      orders.set(set.codes, order);
    }
    const at = order;
    for (const unit of set.units) {
      const missing = unit.columns.filter((c) => !at.has(c));
      if (missing.length > 0) throw new Error(`${set.codes} has no column ${missing.join(", ")}`);
      const columns = [...new Set(unit.columns)].sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0));
      parts.push({ codes: set.codes, columns, prefix: set.prefix });
    }
  }
  return parts;
}

/**
 * Makes synthor_stacked_codes hold each chunk of UNITS_PER_STATEMENT parts in turn (part k of the chunk
 * as `part` k, its codes in c1..cN) and runs `count` on it; the view is dropped at the end.
 */
async function stacked(
  db: Db,
  parts: Part[],
  count: (start: number, chunk: Part[]) => Promise<void>,
): Promise<void> {
  if (parts.length === 0) return;
  for (let start = 0; start < parts.length; start += UNITS_PER_STATEMENT) {
    const chunk = parts.slice(start, start + UNITS_PER_STATEMENT);
    const width = Math.max(...chunk.map((p) => p.columns.length));
    const selects = chunk.map((p, k) => {
      const codes = Array.from({ length: width }, (_, i) => {
        const column = p.columns[i];
        return `${column === undefined ? "null" : quoteIdent(column)}::varchar as c${i + 1}`;
      });
      return `select ${k} as part, ${p.columns.length} as arity, ${codes.join(", ")} from ${quoteIdent(p.codes)}`;
    });
    await db.exec(
      `create or replace temp view synthor_stacked_codes as ${selects.join("\nunion all\n")}`,
      "stack unit codes",
    );
    await count(start, chunk);
  }
  await db.exec("drop view if exists synthor_stacked_codes", "drop stacked codes");
}

/**
 * The id of each list of columns as the `unit` column of synthor_contingency writes it (DuckDB's to_json
 * of the list), all in one query.
 *
 * @example await unitIdsOf(db, [["age", "sex"]]) // ['["age","sex"]']
 */
export async function unitIdsOf(db: Db, lists: string[][]): Promise<string[]> {
  const keys = lists.map((l) => JSON.stringify(l));
  const missing = [...new Set(keys.filter((k) => !ids.has(k)))];
  if (missing.length > 0) {
    const [row] = await db.all<{ ids: string[] }>(
      `select list_transform(from_json($lists, '[["VARCHAR"]]'), l -> to_json(l)::varchar) as ids`,
      { lists: `[${missing.join(",")}]` },
      "unit ids",
    );
    if (row?.ids.length !== missing.length) {
      throw new Error(`expected ${missing.length} unit ids, got ${row?.ids.length}`);
    }
    for (const [k, key] of missing.entries()) ids.set(key, row.ids[k] as string);
  }
  return keys.map((k) => ids.get(k) as string);
}

/** Unit ids by JSON.stringify(columns): to_json of a list gives the same text every time, so once a process. */
const ids = new Map<string, string>();

/** Each column of a table or view and its place. */
async function columnOrder(db: Db, relation: string): Promise<Map<string, number>> {
  const rows = await db.allRaw<{ column_name: string }>(`describe ${quoteIdent(relation)}`);
  return new Map(rows.map((r, i) => [r.column_name, i]));
}
