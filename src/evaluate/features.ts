/**
 * Rows of the code tables as {@link Features} for the classifiers: a seeded sample of each side, every
 * column coded as a small integer with one dictionary shared by all sides. Numeric columns are their
 * real-decile bin (ordinal, NULL after the last bin); categorical columns keep their most frequent 50
 * values, the rest share one "other" code, and NULL is a value of its own.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { SqlError } from "../errors.ts";
import type { Features } from "./learn.ts";
import { decileEdges, type EvalColumn, type Side, views } from "./tables.ts";

/** Categories kept per column; rarer ones share one code. */
const MAX_LEVELS = 50;

/** Where each side's rows sit in the encoded features: rows start ... start + count - 1. */
export type SideRows = Map<Side, { start: number; count: number }>;

/**
 * Samples up to `limit` rows of each requested side (the same rows for the same seed: rows are ordered
 * by a hash of their values and the seed) and encodes them with shared dictionaries.
 *
 * @example const { features, sides } = await encodeSides(db, [{ side: "real", limit: 5000 }, { side: "synth", limit: 5000 }], columns, 0);
 */
export async function encodeSides(
  db: Db,
  requests: { side: Side; limit: number }[],
  columns: EvalColumn[],
  seed: number,
): Promise<{ features: Features; sides: SideRows }> {
  const edges = await decileEdges(db);
  const samples: (string | null)[][][] = [];
  const sides: SideRows = new Map();
  let start = 0;
  for (const { side, limit } of requests) {
    const values = await sampleColumns(db, views(side).codes, columns, limit, seed);
    const count = values[0]?.length ?? 0;
    sides.set(side, { start, count });
    start += count;
    samples.push(values);
  }
  const rows = start;
  const codes: Uint16Array[] = [];
  const levels: number[] = [];
  const ordinal: boolean[] = [];
  const dictionaries: ((string | null)[] | undefined)[] = [];
  columns.forEach((c, j) => {
    const out = new Uint16Array(rows);
    if (c.kind === "numeric") {
      const bins = (edges.get(c.name)?.length ?? 0) + 1;
      let at = 0;
      for (const sample of samples) {
        for (const v of sample[j] ?? []) out[at++] = v === null ? bins : Number(v);
      }
      levels.push(bins + 1);
      ordinal.push(true);
      dictionaries.push(undefined);
    } else {
      const counts = new Map<string | null, number>();
      for (const sample of samples) for (const v of sample[j] ?? []) counts.set(v, (counts.get(v) ?? 0) + 1);
      const kept = [...counts.entries()]
        .sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
        .slice(0, MAX_LEVELS)
        .map(([v]) => v);
      const dictionary = new Map(kept.map((v, i) => [v, i]));
      const other = kept.length;
      let at = 0;
      for (const sample of samples) {
        for (const v of sample[j] ?? []) out[at++] = dictionary.get(v) ?? other;
      }
      levels.push(kept.length + (counts.size > kept.length ? 1 : 0));
      ordinal.push(false);
      dictionaries.push(counts.size > kept.length ? [...kept, "(other)"] : kept);
    }
    codes.push(out);
  });
  return {
    features: { names: columns.map((c) => c.name), levels, ordinal, codes, rows, dictionaries },
    sides,
  };
}

/** Up to `limit` rows of a code table, in a seeded order that depends only on the rows' values. */
async function sampleColumns(
  db: Db,
  table: string,
  columns: EvalColumn[],
  limit: number,
  seed: number,
): Promise<(string | null)[][]> {
  const list = columns.map((c) => quoteIdent(c.name)).join(", ");
  const sql = `select ${list} from ${quoteIdent(table)} as t order by hash(t, $seed), t limit $limit`;
  try {
    const reader = await db.connection.runAndReadAll(sql, { seed, limit });
    return reader.getColumnsJS().map((col) => col.map((v) => (v === null ? null : String(v))));
  } catch (err) {
    throw new SqlError(`sample ${table}`, err);
  }
}
