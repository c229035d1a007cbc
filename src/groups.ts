import type { Db } from "./db/connection.ts";
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
 * with sql/pair_association.sql, keep the strong pairs, and chain strong pairs that share a column into
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
  columns: ColumnProfile[],
  options: Pick<InferGroupsOptions, "sampleRows" | "seed"> = {},
): Promise<PairAssociation[]> {
  const sampleRows = options.sampleRows ?? 200_000;
  await db.exec(
    `create or replace temp table synthor_assoc_sample as
     select * from synthor_real_codes using sample reservoir(${Math.floor(sampleRows)} rows) repeatable (${Math.abs(Math.floor(options.seed ?? 0)) % 2147483647})`,
    "sample real codes for association",
  );
  const pairs: PairAssociation[] = [];
  for (let i = 0; i < columns.length; i++) {
    for (let j = i + 1; j < columns.length; j++) {
      const a = columns[i]?.name as string;
      const b = columns[j]?.name as string;
      const [row] = await db.query<{ cramers_v: number; mutual_information: number }>("pair_association", {
        table: "synthor_assoc_sample",
        column_a: a,
        column_b: b,
      });
      // DuckDB adds the cells' terms in whatever order its threads finish, so the last bits vary from run
      // to run; rounded, the measures (and every choice made from them) are the same each time.
      pairs.push({
        a,
        b,
        cramersV: stable(row?.cramers_v ?? 0),
        mutualInformation: stable(row?.mutual_information ?? 0),
      });
    }
  }
  return pairs;
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
