/**
 * The real floor: the fidelity metrics computed between two samples of real rows, so a synthetic
 * table's distances read against what sampling alone gives. With a holdout, the real table against the
 * holdout; without one, two halves of the real table (a seeded split). The distances of a sample scale
 * with sqrt(1/n1 + 1/n2), so the floor's are rescaled to the real and synthetic table's sizes
 * (`scale`) before the verdicts (src/evaluate/verdicts.ts) compare them.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import type { ColumnProfile } from "../profile.ts";
import { evaluateFidelity, type FidelityResult } from "./fidelity.ts";

export interface RealFloor {
  /** "holdout": the real table against --holdout; "split": two halves of the real table. */
  source: "holdout" | "split";
  /** The rows of the two real samples compared. */
  rows: { a: number; b: number };
  /**
   * sqrt((1/real + 1/synth) / (1/a + 1/b)): multiplies a floor distance to the sizes of the real and
   * synthetic tables (1 when they match the two samples).
   */
  scale: number;
  fidelity: FidelityResult;
}

/** Fewer rows than this in either sample give no floor (distances of a handful of rows say nothing). */
export const FLOOR_MIN_ROWS = 10;

/**
 * The real floor of a fidelity evaluation, or null when the real table is too small to split. Rebuilds
 * the evaluation's views (prepareViews) over the two real samples: call it after the parts that read
 * the real-vs-synthetic views.
 *
 * @example const floor = await realFloor(db, { real: "r", profiles, seed: 0, rows: { real: 1000, synth: 1000 } });
 * floor?.fidelity.columns[0].tvd // 0.012: two real samples differ this much in the first column
 */
export async function realFloor(
  db: Db,
  options: {
    real: string;
    holdout?: string | undefined;
    profiles: ColumnProfile[];
    seed: number;
    /** Rows of the real and synthetic tables the floor is scaled to. */
    rows: { real: number; synth: number };
  },
): Promise<RealFloor | null> {
  let a = options.real;
  let b: string;
  let source: RealFloor["source"];
  if (options.holdout !== undefined) {
    b = options.holdout;
    source = "holdout";
  } else {
    // Each row goes to a half by a hash of its values, its copy number among identical rows and the seed:
    // the same seed gives the same halves whatever order the rows are read in.
    const row = "synthor_floor_row";
    await db.exec(
      `create or replace temp table synthor_eval_floor_split as
         select ${row}.*, hash(${row}, row_number() over (partition by ${row}), ${Math.trunc(options.seed)}::bigint) % 2 as synthor_floor_half
         from ${quoteIdent(options.real)} as ${row};
       create or replace temp view synthor_eval_floor_a as
         select * exclude (synthor_floor_half) from synthor_eval_floor_split where synthor_floor_half = 0;
       create or replace temp view synthor_eval_floor_b as
         select * exclude (synthor_floor_half) from synthor_eval_floor_split where synthor_floor_half = 1;`,
      "split the real table in two halves",
    );
    a = "synthor_eval_floor_a";
    b = "synthor_eval_floor_b";
    source = "split";
  }
  const counts = await db.all<{ a: number; b: number }>(
    `select (select count(*) from ${quoteIdent(a)}) as a, (select count(*) from ${quoteIdent(b)}) as b`,
  );
  const n = counts[0] ?? { a: 0, b: 0 };
  if (n.a < FLOOR_MIN_ROWS || n.b < FLOOR_MIN_ROWS) return null;
  const fidelity = await evaluateFidelity(db, { real: a, synth: b, profiles: options.profiles });
  const { real, synth } = options.rows;
  const scale = real > 0 && synth > 0 ? Math.sqrt((1 / real + 1 / synth) / (1 / n.a + 1 / n.b)) : 1;
  return { source, rows: { a: n.a, b: n.b }, scale, fidelity };
}
