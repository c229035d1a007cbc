import type { Db } from "./db/connection.ts";
import { quoteIdent } from "./db/quote.ts";
import type { ColumnProfile } from "./profile.ts";

/** A dependency group with the strength that put it on the list. */
export interface GroupCandidate {
  columns: string[];
  /** Cramér's V of the pair, or the mean V of the two pairs that chain into a triple. */
  strength: number;
}

export interface PairAssociation {
  a: string;
  b: string;
  cramersV: number;
  mutualInformation: number;
}

export interface InferGroupsOptions {
  /** Pairs weaker than this (Cramér's V) are not dependencies worth grounding (default 0.1). */
  minStrength?: number;
  maxPairs?: number;
  maxTriples?: number;
  /** Association is measured on a sample of at most this many real rows (default 200,000). */
  sampleRows?: number;
  seed?: number;
}

/**
 * The statistical way to find dependency groups (the paper asks an LLM, its "copula" step): measure the
 * association of every pair of modelled columns on the real codes (numeric columns in their main bins)
 * with sql/pair_associations.sql, keep the strong pairs, and chain strong pairs that share a column into
 * triples (age-category and sex-category give age, sex, category). Strongest first.
 */
export async function inferGroups(
  db: Db,
  columns: ColumnProfile[],
  options: InferGroupsOptions = {},
): Promise<{ candidates: GroupCandidate[]; pairs: PairAssociation[] }> {
  return groupsFromPairs(await measurePairs(db, columns, options), columns, options);
}

/** Cramér's V and mutual information of every pair of columns, on a sample of the real codes. */
export async function measurePairs(
  db: Db,
  columns: Pick<ColumnProfile, "name">[],
  options: Pick<InferGroupsOptions, "sampleRows" | "seed"> = {},
): Promise<PairAssociation[]> {
  const sampleRows = options.sampleRows ?? 200_000;
  await db.exec(
    `create or replace temp table synthor_assoc_sample as
     select * from synthor_real_codes using sample reservoir(${Math.floor(sampleRows)} rows) repeatable (${Math.abs(Math.floor(options.seed ?? 0)) % 2147483647})`,
    "sample real codes for association",
  );
  const pairs: [string, string][] = [];
  for (let i = 0; i < columns.length; i++) {
    for (let j = i + 1; j < columns.length; j++)
      pairs.push([columns[i]?.name as string, columns[j]?.name as string]);
  }
  return measureAssociations(db, "synthor_assoc_sample", pairs);
}

/** Pairs counted and measured per statement: bounds the statement's size and its table of cells. */
const PAIRS_PER_STATEMENT = 200;

/**
 * Cramér's V and mutual information of each pair of columns of `table` (codes: numeric columns binned),
 * in the order given, with sql/pair_associations.sql: the same measures as macros/synthor_association.sql
 * (NULL a category of its own), a few statements for all pairs instead of one per pair. Each chunk of pairs
 * is counted by one GROUP BY over the pairs' columns stacked as (pair, a, b): on Adult and on 60 columns,
 * one aggregate for many pairs was faster than a union of per-pair GROUP BYs, and 5 to 10 times faster
 * than a query per pair.
 *
 * @example await measureAssociations(db, "synthor_assoc_sample", [["age", "sex"], ["age", "income"]])
 * // => [{ a: "age", b: "sex", cramersV, mutualInformation }, { a: "age", b: "income", ... }]
 */
export async function measureAssociations(
  db: Db,
  table: string,
  pairs: [string, string][],
): Promise<PairAssociation[]> {
  const measured: PairAssociation[] = [];
  for (let start = 0; start < pairs.length; start += PAIRS_PER_STATEMENT) {
    const chunk = pairs.slice(start, start + PAIRS_PER_STATEMENT);
    // Cast to VARCHAR as synthor_contingency does: the stacked columns need one type, and the categories
    // are those of the macro.
    const stacked = chunk.map(
      ([a, b], k) =>
        `select ${k} as pair, ${quoteIdent(a)}::varchar as a, ${quoteIdent(b)}::varchar as b from ${quoteIdent(table)}`,
    );
    await db.exec(
      `create or replace temp table synthor_pair_cells as
       select pair, a, b, count(*) as n
       from (${stacked.join("\n       union all\n       ")})
       group by pair, a, b`,
      "count pair cells",
    );
    const rows = await db.query<{ pair: number; cramers_v: number; mutual_information: number }>(
      "pair_associations",
      { table: "synthor_pair_cells" },
    );
    const byPair = new Map(rows.map((r) => [r.pair, r]));
    for (const [k, [a, b]] of chunk.entries()) {
      const row = byPair.get(k);
      // DuckDB adds the cells' terms in whatever order its threads finish, so the last bits vary from run
      // to run; rounded, the measures (and every choice made from them) are the same each time.
      measured.push({
        a,
        b,
        cramersV: stable(row?.cramers_v ?? 0),
        mutualInformation: stable(row?.mutual_information ?? 0),
      });
    }
  }
  await db.exec("drop table if exists synthor_pair_cells", "drop pair cells");
  return measured;
}

/**
 * The candidate groups from measured pairs (sorted in place, strongest first): pairs with V at or above
 * minStrength, and triples chained from two strong pairs that share a column. Needs no rows, so a summary
 * file's stored associations give the same groups as the real table.
 */
export function groupsFromPairs(
  pairs: PairAssociation[],
  columns: Pick<ColumnProfile, "name">[],
  options: Pick<InferGroupsOptions, "minStrength" | "maxPairs" | "maxTriples"> = {},
): { candidates: GroupCandidate[]; pairs: PairAssociation[] } {
  const minStrength = options.minStrength ?? 0.1;
  pairs.sort((x, y) => y.cramersV - x.cramersV || x.a.localeCompare(y.a) || x.b.localeCompare(y.b));
  const strong = pairs.filter((p) => p.cramersV >= minStrength).slice(0, options.maxPairs ?? 12);

  const triples = new Map<string, GroupCandidate>();
  for (const [i, p] of strong.entries()) {
    for (const q of strong.slice(i + 1)) {
      const cols = [...new Set([p.a, p.b, q.a, q.b])];
      if (cols.length !== 3) continue;
      const order = new Map(columns.map((c, k) => [c.name, k]));
      cols.sort((x, y) => (order.get(x) ?? 0) - (order.get(y) ?? 0));
      const key = cols.join("\u0000");
      const strength = (p.cramersV + q.cramersV) / 2;
      if ((triples.get(key)?.strength ?? -1) < strength) triples.set(key, { columns: cols, strength });
    }
  }
  const tripleList = [...triples.values()]
    .sort((x, y) => y.strength - x.strength)
    .slice(0, options.maxTriples ?? 6);
  const candidates = [
    ...tripleList,
    ...strong.map((p) => ({ columns: [p.a, p.b], strength: p.cramersV })),
  ].sort((x, y) => y.strength - x.strength);
  return { candidates, pairs };
}

/** A floating-point sum rounded to 10 significant digits, so summation order does not show. */
function stable(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(10));
}
