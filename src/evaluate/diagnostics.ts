/**
 * Diagnostics: plain checks a reader expects before any distance. Does the synthetic table invent
 * categories, leave the real range, repeat keys, drop or add NULLs? Each check is one query in sql/
 * (eval_category_adherence, eval_range_adherence, eval_key_uniqueness, eval_null_shares) over the
 * user's tables as read, so values compare in the user's types.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import type { ColumnProfile } from "../profile.ts";
import type { EvalColumn } from "./tables.ts";

/** NULLs of one column on both sides. */
export interface NullShares {
  column: string;
  real: { rows: number; nulls: number; share: number | null };
  synth: { rows: number; nulls: number; share: number | null };
}

/** Synthetic rows of a categorical column whose value the real table does not have. */
export interface CategoryAdherence {
  column: string;
  synthRows: number;
  novelRows: number;
  novelShare: number | null;
  novelValues: number;
  /** Up to 5 of the new (synthetic) values, the most frequent first. */
  examples: string[];
}

/** Synthetic values of a numeric or date column outside the real minimum and maximum. */
export interface RangeAdherence {
  column: string;
  /** As text, in the column's type (a date as yyyy-mm-dd). */
  real: { min: string | null; max: string | null };
  synth: { min: string | null; max: string | null };
  synthValues: number;
  below: number;
  above: number;
  outsideShare: number | null;
}

/** Whether a key column names one row per key, on one side. */
export interface KeyCounts {
  rows: number;
  nullKeys: number;
  distinctKeys: number;
  repeatedKeys: number;
  surplusRows: number;
}

export interface KeyUniqueness {
  column: string;
  /** Why it is a key: "--key" (it links a child table) or "identifier" (the profile detected it). */
  source: "--key" | "identifier";
  real: KeyCounts;
  /** Null when the synthetic table has no such column. */
  synth: KeyCounts | null;
}

export interface Diagnostics {
  nulls: NullShares[];
  categories: CategoryAdherence[];
  ranges: RangeAdherence[];
  keys: KeyUniqueness[];
}

export interface DiagnosticOptions {
  /** The user's tables (as readSource leaves them). */
  real: string;
  synth: string;
  /** The compared columns (evalColumns). */
  columns: EvalColumn[];
  /** The real profile: its identifier columns are checked as keys. */
  profiles: ColumnProfile[];
  /** A key given by the user (--key of a two-table evaluation). */
  key?: string | undefined;
}

/**
 * Runs every diagnostic over the real and synthetic tables.
 *
 * @example const d = await diagnose(db, { real: "real", synth: "synth", columns, profiles });
 * d.categories[0] // { column: "city", novelRows: 3, novelShare: 0.006, examples: ["Atlantis"], ... }
 */
export async function diagnose(db: Db, options: DiagnosticOptions): Promise<Diagnostics> {
  const { real, synth } = options;
  const described = await db.all<{ column_name: string }>(
    `select column_name from (describe ${quoteIdent(synth)})`,
    {},
    "describe synth",
  );
  const synthColumns = new Set(described.map((r) => r.column_name));
  const nulls: NullShares[] = [];
  const categories: CategoryAdherence[] = [];
  const ranges: RangeAdherence[] = [];
  for (const c of options.columns) {
    const params = { real, synth, column: c.name };
    const [n] = await db.query<{
      real_rows: number;
      real_nulls: number;
      real_share: number | null;
      synth_rows: number;
      synth_nulls: number;
      synth_share: number | null;
    }>("eval_null_shares", params);
    if (n) {
      nulls.push({
        column: c.name,
        real: { rows: n.real_rows, nulls: n.real_nulls, share: n.real_share },
        synth: { rows: n.synth_rows, nulls: n.synth_nulls, share: n.synth_share },
      });
    }
    if (c.kind === "categorical") {
      const [a] = await db.query<{
        synth_rows: number;
        novel_rows: number;
        novel_share: number | null;
        novel_values: number;
        examples: string[];
      }>("eval_category_adherence", params);
      if (a) {
        categories.push({
          column: c.name,
          synthRows: a.synth_rows,
          novelRows: a.novel_rows,
          novelShare: a.novel_share,
          novelValues: a.novel_values,
          examples: a.examples,
        });
      }
    } else {
      const [r] = await db.query<{
        real_min: string | null;
        real_max: string | null;
        synth_min: string | null;
        synth_max: string | null;
        synth_values: number;
        below: number;
        above: number;
        outside_share: number | null;
      }>("eval_range_adherence", params);
      if (r) {
        ranges.push({
          column: c.name,
          real: { min: r.real_min, max: r.real_max },
          synth: { min: r.synth_min, max: r.synth_max },
          synthValues: r.synth_values,
          below: r.below,
          above: r.above,
          outsideShare: r.outside_share,
        });
      }
    }
  }
  const keyColumns: { column: string; source: KeyUniqueness["source"] }[] = [
    ...(options.key === undefined ? [] : [{ column: options.key, source: "--key" as const }]),
    ...options.profiles
      .filter((p) => p.kind === "identifier" && p.name !== options.key)
      .map((p) => ({ column: p.name, source: "identifier" as const })),
  ];
  const keys: KeyUniqueness[] = [];
  for (const k of keyColumns) {
    const count = async (table: string): Promise<KeyCounts> => {
      const [row] = await db.query<{
        rows: number;
        null_keys: number;
        distinct_keys: number;
        repeated_keys: number;
        surplus_rows: number;
      }>("eval_key_uniqueness", { table, key: k.column });
      return {
        rows: row?.rows ?? 0,
        nullKeys: row?.null_keys ?? 0,
        distinctKeys: row?.distinct_keys ?? 0,
        repeatedKeys: row?.repeated_keys ?? 0,
        surplusRows: row?.surplus_rows ?? 0,
      };
    };
    keys.push({
      ...k,
      real: await count(real),
      synth: synthColumns.has(k.column) ? await count(synth) : null,
    });
  }
  return { nulls, categories, ranges, keys };
}
