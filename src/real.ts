import { countUnits, readUnits, type Unit } from "./counts.ts";
import type { Db } from "./db/connection.ts";
import { quoteIdent } from "./db/quote.ts";
import { measurePairs, type PairAssociation } from "./groups.ts";
import { type CountHistogram, correctedInformation, informationOf } from "./information.ts";
import type { ColumnProfile } from "./profile.ts";

type Code = string | null;

/** One cell of a real contingency table: the codes in table order, and how many real rows hold them. */
export interface CountRow {
  cell: Code[];
  n: number;
}

/** One real contingency table a planner reads: see RealSide.contingencies. */
export interface ContingencyRequest {
  columns: string[];
  fine: string | null;
  child: string;
}

/**
 * Where the loop reads the real side from once it is summarized: the real rows in the database (the codes
 * tables summarizeTable builds), or the count tables of a summary file (`synth --from-summary`). Counting
 * groups and pairs added later, the planner's conditional tables and the pairwise associations all go
 * through it, so nothing after the summary step needs to know whether there are rows.
 */
export interface RealSide {
  readonly kind: "rows" | "summary";
  /**
   * Whether the real counts of these columns (in table order) can be read; `fine` names the one numeric
   * column counted at sub-bin level ("bin.sub"). Always true with rows.
   */
  has(columns: string[], fine: string | null): boolean;
  /**
   * Whether the planner should complete a column from the others in `columns` (table order) jointly: the
   * table is there and, from a summary file, a 3-way table lost at most MAX_CONDITIONAL_LOSS of its rows
   * to suppression (refilled rows are guesses; one parent read exactly does better than two guessed).
   */
  hasConditional(columns: string[]): boolean;
  /**
   * Appends the real counts of `units` to `target` (unit, cell, n); a unit's id is `prefix` and its
   * columns as JSON. `fine` counts each unit's numeric column at sub-bin level (fine units have one).
   */
  countUnits(units: Unit[], target: string, options?: { fine?: boolean; prefix?: string }): Promise<void>;
  /**
   * The real contingency tables asked for, in one read: each of `columns` (in table order) for completing
   * `child` from the others, with `fine` (the child, when its sub-bin is chosen) at sub-bin level. Other
   * numeric columns may come as "bin.sub" too (from rows) or as "bin" (from a summary): readers match them
   * on the main bin. Cells in the table's order (synthor_contingency's).
   */
  contingencies(requests: ContingencyRequest[]): Promise<CountRow[][]>;
  /** Cramér's V and mutual information of every pair of the columns. */
  pairs(columns: ColumnProfile[], seed: number): Promise<PairAssociation[]>;
  /**
   * I(child; parents) in nats for each parent set, Miller-Madow corrected (src/information.ts), from the
   * real contingency table of parents and child (numeric columns in main bins); undefined for a set whose
   * table hasConditional refuses.
   */
  information(child: string, parentSets: string[][]): Promise<(number | undefined)[]>;
}

/** The real side read from the rows: the codes tables (synthor_real_codes, synthor_real_fine_codes). */
export function rowsSide(db: Db): RealSide {
  const codes = (fine: boolean) => (fine ? "synthor_real_fine_codes" : "synthor_real_codes");
  // Count histograms per column set, for information: a 3-way set serves each of its columns as child.
  const histograms = new Map<string, CountHistogram>();
  return {
    kind: "rows",
    has: () => true,
    hasConditional: () => true,
    countUnits: (units, target, options = {}) =>
      countUnits(
        db,
        codes(options.fine ?? false),
        units,
        target,
        options.prefix ? { prefix: options.prefix } : {},
      ),
    contingencies: (requests) =>
      readUnits(
        db,
        requests.map((r) => ({ codes: codes(r.fine !== null), columns: r.columns })),
      ),
    pairs: (columns, seed) => measurePairs(db, columns, { seed }),
    information: async (child, parentSets) => {
      const sets = parentSets.map((parents) => ({ parents, joint: [...parents, child] }));
      const wanted = sets.filter((s) => s.parents.length > 0).flatMap((s) => [s.parents, s.joint]);
      await countHistograms(db, [[child], ...wanted], histograms);
      const of = (columns: string[]) => histograms.get(setKey(columns)) ?? new Map<number, number>();
      return sets.map((s) =>
        s.parents.length === 0 ? 0 : correctedInformation(of(s.joint), of(s.parents), of([child])),
      );
    },
  };
}

const setKey = (columns: string[]) => JSON.stringify([...columns].sort());

/**
 * Adds to `cache` the count histograms (count → cells holding it) of the codes table grouped by each
 * column set it lacks, 64 sets to a query: each set is a GROUP BY of its own, and only the histogram
 * comes back, not the table; whole numbers, so the result is exact whatever the thread count.
 */
async function countHistograms(db: Db, sets: string[][], cache: Map<string, CountHistogram>): Promise<void> {
  const todo = [...new Map(sets.map((s) => [setKey(s), [...s].sort()])).entries()].filter(
    ([k]) => !cache.has(k),
  );
  for (let i = 0; i < todo.length; i += 64) {
    const chunk = todo.slice(i, i + 64);
    const parts = chunk.map(
      ([, columns], k) =>
        `select ${k} as s, count(*) as n from synthor_real_codes group by ${columns.map(quoteIdent).join(", ")}`,
    );
    const rows = await db.all<{ s: number; n: number; k: number }>(
      `select s, n, count(*)::integer as k from (${parts.join("\n union all ")}) group by s, n order by s, n`,
      {},
      "count histograms of real column sets",
    );
    for (const [key] of chunk) cache.set(key, new Map());
    for (const r of rows) cache.get(chunk[Number(r.s)]?.[0] as string)?.set(Number(r.n), Number(r.k));
  }
}

/**
 * A 3-way table that lost more than this share of its rows to suppression is not used for two-parent
 * conditionals. Measured on Adult and the e-commerce example with min-cell 5 (docs/summary-format.md).
 */
export const MAX_CONDITIONAL_LOSS = 0.01;

/** A stored count table: its columns in table order, the one at sub-bin level, its cells. */
export interface StoredTable {
  columns: string[];
  fine: string | null;
  suppressed: { cells: number; rows: number };
  cells: [Code[], number][];
}

/**
 * The real side read from a summary file's count tables, also loaded into synthor_summary_counts
 * (cols, fine, cell, n) for counting units in bulk. Tables the file does not hold are not there: `has`
 * says which are. Cells under `minCell` rows were left out; a conditional table gets their rows back as
 * aggregates allow (see refillConditional).
 */
export function summarySide(
  db: Db,
  stored: StoredTable[],
  numeric: Set<string>,
  associations: PairAssociation[],
  minCell: number,
): RealSide {
  const key = (columns: string[], fine: string | null) => JSON.stringify([columns, fine]);
  const tables = new Map(stored.map((t) => [key(t.columns, t.fine), t]));
  const keys = new Set(tables.keys());
  const fineOf = (u: Unit) => u.columns.find((c) => numeric.has(c)) ?? null;
  // A column set in table order, as the stored tables list it.
  const inOrder = new Map(stored.map((t) => [setKey(t.columns), t.columns]));
  const storedContingency = ({ columns, fine, child }: ContingencyRequest): CountRow[] => {
    const table = tables.get(key(columns, fine));
    if (!table) return [];
    const rows = table.cells.map(([cell, n]) => ({ cell, n }));
    // Fine tables got their left-out rows back when loaded (refillFine), per main bin.
    if (fine !== null || table.suppressed.cells === 0 || columns.length < 2) return rows;
    const parents = columns.filter((c) => c !== child);
    const context = tables.get(key(parents, null));
    const values = tables.get(key([child], null));
    if (!context || !values) return rows;
    return refillConditional(rows, columns.indexOf(child), context.cells, values.cells, minCell);
  };

  return {
    kind: "summary",
    has: (columns, fine) => keys.has(key(columns, fine)),
    hasConditional: (columns) => {
      const t = tables.get(key(columns, null));
      if (!t) return false;
      const total = t.cells.reduce((a, [, n]) => a + n, 0);
      return columns.length < 3 || t.suppressed.rows <= MAX_CONDITIONAL_LOSS * total;
    },
    async countUnits(units, target, options = {}) {
      if (units.length === 0) return;
      const wanted = units.map((u) => ({ id: u.id, cols: u.columns, fine: options.fine ? fineOf(u) : null }));
      await db.exec(
        `insert into ${quoteIdent(target)}
         select u.w.id, c.cell, c.n
         from (select unnest(from_json($wanted, '[{"id": "VARCHAR", "cols": ["VARCHAR"], "fine": "VARCHAR"}]')) as w) as u
         join synthor_summary_counts as c on c.cols = u.w.cols and c.fine is not distinct from u.w.fine
         order by u.w.id, c.cell`,
        "real counts from the summary file",
        { wanted: JSON.stringify(wanted) },
      );
    },
    contingencies: async (requests) => requests.map((r) => storedContingency(r)),
    pairs: async (columns) => {
      const names = new Set(columns.map((c) => c.name));
      return associations.filter((p) => names.has(p.a) && names.has(p.b)).map((p) => ({ ...p }));
    },
    async information(child, parentSets) {
      const out: (number | undefined)[] = [];
      for (const parents of parentSets) {
        if (parents.length === 0) {
          out.push(0);
          continue;
        }
        const columns = inOrder.get(setKey([...parents, child]));
        if (!columns || !this.hasConditional(columns)) {
          out.push(undefined);
          continue;
        }
        // The table as the planner reads it, left-out cells refilled for this child.
        const rows = storedContingency({ columns, fine: null, child });
        out.push(informationOf(rows, columns.indexOf(child)));
      }
      return out;
    },
  };
}

/**
 * A conditional table (child given parents) with the rows of its left-out cells put back: the parents'
 * own table gives each context's rows, those the listed cells lack belong to child values not listed,
 * each fewer than `minCell`; they are spread over those values in proportion to the child's real
 * frequencies, at most minCell - 1 each, in whole numbers. Without them a rare value could never be
 * completed in a context where it is rare, and the marginals would drift.
 */
export function refillConditional(
  rows: CountRow[],
  childAt: number,
  contexts: [Code[], number][],
  childValues: [Code[], number][],
  minCell: number,
): CountRow[] {
  const parentKey = (cell: Code[]) => JSON.stringify(cell.filter((_, i) => i !== childAt));
  const listed = new Map<string, { sum: number; values: Set<Code> }>();
  for (const r of rows) {
    const k = parentKey(r.cell);
    const entry = listed.get(k) ?? { sum: 0, values: new Set<Code>() };
    entry.sum += r.n;
    entry.values.add(r.cell[childAt] ?? null);
    listed.set(k, entry);
  }
  const out = [...rows];
  for (const [parentCell, n] of contexts) {
    const entry = listed.get(JSON.stringify(parentCell)) ?? { sum: 0, values: new Set<Code>() };
    const missing = n - entry.sum;
    if (missing <= 0) continue;
    const open = childValues.filter(([cell]) => !entry.values.has(cell[0] ?? null));
    const adds = spreadCapped(
      missing,
      open.map(([, m]) => m),
      Math.max(1, minCell - 1),
    );
    for (const [k, add] of adds.entries()) {
      if (add <= 0) continue;
      const cell = [...parentCell];
      cell.splice(childAt, 0, (open[k] as [Code[], number])[0][0] ?? null);
      out.push({ cell, n: add });
    }
  }
  return out;
}

/** `total` split in whole numbers by weight (largest remainder), no share above `cap`; what cannot fit is dropped. */
export function spreadCapped(total: number, weights: number[], cap: number): number[] {
  const out = weights.map(() => 0);
  let left = total;
  let open = weights.map((_, i) => i);
  while (left > 0 && open.length > 0) {
    const share = spread(
      left,
      open.map((i) => weights[i] ?? 0),
    );
    const next: number[] = [];
    left = 0;
    for (const [k, i] of open.entries()) {
      const room = cap - (out[i] ?? 0);
      const add = Math.min(room, share[k] ?? 0);
      out[i] = (out[i] ?? 0) + add;
      left += (share[k] ?? 0) - add;
      if ((out[i] ?? 0) < cap) next.push(i);
    }
    open = next;
  }
  return out;
}

/** `total` split in whole numbers in proportion to `weights` (largest remainder, ties to the first). */
export function spread(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, w) => a + w, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const out = exact.map((x) => Math.floor(x));
  let left = total - out.reduce((a, x) => a + x, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}
