/**
 * Target tables: aggregate tables from another source (a survey's time x activity counts) that the
 * synthetic table was made to match with `synthor synth --targets`. The real table may lack their
 * columns (the trips have no activity), so the reference for these columns is the target table itself:
 * its cells' shares against the synthetic table's shares of the same cells (sql/eval_target_shares.sql).
 *
 * A target table is its columns plus one weight column, `n` (counts) or `share`; every other column must
 * be in the synthetic table.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { type Problem, throwIfProblems } from "../errors.ts";
import { didYouMean } from "../names.ts";

/** The weight column's accepted names, in order of preference. */
export const TARGET_WEIGHT_COLUMNS = ["n", "share"] as const;

export interface TargetSpec {
  /** Table or view name in the Db. */
  table: string;
  /** How to name it to people (the file name). */
  label: string;
}

export interface TargetCell {
  cell: (string | null)[];
  target: { n: number; share: number; within: number };
  synth: { n: number; share: number; within: number };
}

/** One condition (every column but the last, e.g. a time bin) and its TVD of the last column. */
export interface TargetCondition {
  condition: (string | null)[];
  /** The condition's share of the target, the weight of its TVD in withinTvd. */
  targetShare: number;
  synthShare: number;
  tvd: number;
}

export interface TargetComparison {
  label: string;
  /** The target's columns, in its order; the weight column is not among them. */
  columns: string[];
  weight: string;
  /** The target's total weight and the synthetic table's rows. */
  total: { target: number; synth: number };
  cells: TargetCell[];
  /** TVD between the target's and the synthetic table's shares of the joint cells. */
  tvd: number;
  /**
   * With two or more columns: the TVD of the last column within each condition (the other columns),
   * averaged with the target's condition shares as weights: how well the mix (activity) follows the
   * target whatever the conditions' own shares (time profile). Null with one column.
   */
  withinTvd: number | null;
  conditions: TargetCondition[];
}

/** Columns of the synthetic table that target tables name: allowed there though the real table lacks them. */
export async function targetColumns(db: Db, targets: TargetSpec[]): Promise<string[]> {
  const out = new Set<string>();
  for (const t of targets) for (const c of (await describe(db, t.table)).columns) out.add(c);
  return [...out];
}

async function describe(db: Db, table: string): Promise<{ columns: string[]; weight: string | null }> {
  const described = await db.all<{ column_name: string; column_type: string }>(
    `select column_name, column_type from (describe ${quoteIdent(table)})`,
    {},
    "describe target table",
  );
  const names = described.map((d) => d.column_name);
  const weight = TARGET_WEIGHT_COLUMNS.find((w) => names.includes(w)) ?? null;
  return { columns: names.filter((n) => n !== weight), weight };
}

/**
 * Compares the synthetic table with each target table. All problems (no weight column, a column the
 * synthetic table lacks, negative weights) are reported together.
 *
 * @example const [t] = await compareTargets(db, "synth", [{ table: "ta", label: "time_activity.csv" }]);
 * t.tvd // 0.02
 */
export async function compareTargets(
  db: Db,
  synth: string,
  targets: TargetSpec[],
): Promise<TargetComparison[]> {
  const synthColumns = new Set(
    (
      await db.all<{ column_name: string }>(
        `select column_name from (describe ${quoteIdent(synth)})`,
        {},
        "describe synth",
      )
    ).map((d) => d.column_name),
  );
  const problems: Problem[] = [];
  const described: { spec: TargetSpec; columns: string[]; weight: string }[] = [];
  for (const spec of targets) {
    const { columns, weight } = await describe(db, spec.table);
    if (weight === null) {
      problems.push({
        code: "INPUT_INVALID",
        message: `the target table ${spec.label} has no weight column (n or share)`,
        hint: "give it a column n with each cell's count (or share with its share), e.g. time_bin,activity,n",
        subject: spec.label,
      });
      continue;
    }
    if (columns.length === 0) {
      problems.push({
        code: "INPUT_INVALID",
        message: `the target table ${spec.label} has only its weight column ${weight}`,
        hint: "give it the columns its cells are made of, e.g. time_bin,activity,n",
        subject: spec.label,
      });
      continue;
    }
    for (const c of columns) {
      if (!synthColumns.has(c)) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `the synthetic table has no column "${c}", which the target table ${spec.label} has`,
          hint: `${didYouMean(c, [...synthColumns])}make the synthetic table with synthor synth --targets TARGET (it adds the column), or compare a target table whose columns it has`,
          subject: c,
        });
      }
    }
    const [bad] = await db.query<{ negative: number; invalid: number; total: number }>(
      "eval_target_weights",
      {
        table: spec.table,
        column: weight,
      },
    );
    if ((bad?.negative ?? 0) > 0 || (bad?.invalid ?? 0) > 0 || !((bad?.total ?? 0) > 0)) {
      problems.push({
        code: "INPUT_INVALID",
        message: `the weight column ${weight} of the target table ${spec.label} must hold non-negative numbers with a positive sum`,
        hint: `fix the ${weight} column of ${spec.label}: one count (or share) per cell, no empty or negative value`,
        subject: spec.label,
      });
      continue;
    }
    described.push({ spec, columns, weight });
  }
  throwIfProblems(problems);
  const out: TargetComparison[] = [];
  for (const [i, { spec, columns, weight }] of described.entries()) {
    const target = `synthor_eval_target_${i}`;
    const synthView = `synthor_eval_target_synth_${i}`;
    const select = columns.map((c) => `${quoteIdent(c)}::varchar as ${quoteIdent(c)}`).join(", ");
    await db.exec(
      `create or replace temp view ${quoteIdent(target)} as select ${select}, ${quoteIdent(weight)}::double as __synthor_weight from ${quoteIdent(spec.table)}`,
      "create target view",
    );
    await db.exec(
      `create or replace temp view ${quoteIdent(synthView)} as select ${select} from ${quoteIdent(synth)}`,
      "create synthetic view of the target's columns",
    );
    const rows = await db.query<{
      cell: (string | null)[];
      condition: (string | null)[];
      target_n: number;
      synth_n: number;
      target_share: number;
      synth_share: number;
      target_within: number;
      synth_within: number;
    }>("eval_target_shares", { target, synth: synthView });
    const cells: TargetCell[] = rows.map((r) => ({
      cell: r.cell,
      target: { n: r.target_n, share: r.target_share, within: r.target_within },
      synth: { n: r.synth_n, share: r.synth_share, within: r.synth_within },
    }));
    const conditions = new Map<string, TargetCondition>();
    for (const r of rows) {
      const key = JSON.stringify(r.condition);
      const c = conditions.get(key) ?? { condition: r.condition, targetShare: 0, synthShare: 0, tvd: 0 };
      c.targetShare += r.target_share;
      c.synthShare += r.synth_share;
      c.tvd += Math.abs(r.target_within - r.synth_within) / 2;
      conditions.set(key, c);
    }
    const list = [...conditions.values()];
    out.push({
      label: spec.label,
      columns,
      weight,
      total: {
        target: rows.reduce((s, r) => s + r.target_n, 0),
        synth: rows.reduce((s, r) => s + r.synth_n, 0),
      },
      cells,
      tvd: rows.reduce((s, r) => s + Math.abs(r.target_share - r.synth_share), 0) / 2,
      withinTvd: columns.length < 2 ? null : list.reduce((s, c) => s + c.targetShare * c.tvd, 0),
      conditions: columns.length < 2 ? [] : list,
    });
  }
  return out;
}
