import type { Db } from "./db/connection.ts";
import { varcharList } from "./db/connection.ts";
import { quoteIdent } from "./db/quote.ts";
import { measurePairs, type PairAssociation } from "./groups.ts";
import type { ColumnProfile } from "./profile.ts";
import { countUnits, type Unit } from "./summarize.ts";

type Code = string | null;

/** One cell of a real contingency table: the codes in table order, and how many real rows hold them. */
export interface CountRow {
  cell: Code[];
  n: number;
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
   * Appends the real counts of `units` to `target` (unit, cell, n); a unit's id is `prefix` and its
   * columns as JSON. `fine` counts each unit's numeric column at sub-bin level (fine units have one).
   */
  countUnits(units: Unit[], target: string, options?: { fine?: boolean; prefix?: string }): Promise<void>;
  /**
   * The real contingency table of `columns` (in table order), with `fine` (the child being completed) at
   * sub-bin level. Other numeric columns may come as "bin.sub" too (from rows) or as "bin" (from a
   * summary): readers match them on the main bin.
   */
  contingency(columns: string[], fine: string | null): Promise<CountRow[]>;
  /** Cramér's V and mutual information of every pair of the columns. */
  pairs(columns: ColumnProfile[], seed: number): Promise<PairAssociation[]>;
}

/** The real side read from the rows: the codes tables (synthor_real_codes, synthor_real_fine_codes). */
export function rowsSide(db: Db): RealSide {
  const codes = (fine: boolean) => (fine ? "synthor_real_fine_codes" : "synthor_real_codes");
  return {
    kind: "rows",
    has: () => true,
    countUnits: (units, target, options = {}) =>
      countUnits(
        db,
        codes(options.fine ?? false),
        units,
        target,
        options.prefix ? { prefix: options.prefix } : {},
      ),
    contingency: (columns, fine) =>
      db.all<{ cell: Code[]; n: number }>(
        "select cell, n from synthor_contingency($view, $columns)",
        { view: codes(fine !== null), columns: varcharList(columns) },
        "sql/contingency.sql",
      ),
    pairs: (columns, seed) => measurePairs(db, columns, { seed }),
  };
}

/**
 * The real side read from a summary file's count tables, loaded into synthor_summary_counts
 * (cols, fine, cell, n). Tables the file does not hold are not there: `has` says which are.
 */
export function summarySide(
  db: Db,
  stored: { columns: string[]; fine: string | null }[],
  numeric: Set<string>,
  associations: PairAssociation[],
): RealSide {
  const key = (columns: string[], fine: string | null) => JSON.stringify([columns, fine]);
  const keys = new Set(stored.map((t) => key(t.columns, t.fine)));
  const fineOf = (u: Unit) => u.columns.find((c) => numeric.has(c)) ?? null;
  return {
    kind: "summary",
    has: (columns, fine) => keys.has(key(columns, fine)),
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
    contingency: (columns, fine) =>
      db.all<{ cell: Code[]; n: number }>(
        `select cell, n from synthor_summary_counts
         where cols = $columns and fine is not distinct from $fine order by cell`,
        { columns: varcharList(columns), fine },
        "read a stored contingency table",
      ),
    pairs: async (columns) => {
      const names = new Set(columns.map((c) => c.name));
      return associations.filter((p) => names.has(p.a) && names.has(p.b)).map((p) => ({ ...p }));
    },
  };
}
