/**
 * What a synthesis run takes and gives, flat or nested alike: the loop's options (and how a run records
 * them), its progress events, its result and why it stopped. `SynthOptions` (src/pipeline.ts) and
 * `NestedSynthOptions` (src/nested/pipeline.ts) extend these with what is their own.
 */

import type { UnusableTally } from "./outcome.ts";
import type { TokenUse } from "./planners/types.ts";
import type { ProfileOptions } from "./profile.ts";
import type { Schedule } from "./schedule.ts";
import { DEFAULT_MIN_CELL } from "./summary-file.ts";

/** The options of a run that flat and nested data take alike (SynthOptions, NestedSynthOptions). */
export interface LoopOptions {
  /** DuckDB file for results and history (default: in memory, nothing kept). */
  db?: string;
  /** DuckDB worker threads (default: DuckDB's, one per core). The result does not depend on it. */
  threads?: number;
  profile?: ProfileOptions;
  /** Rows (households) to synthesize (default: as many as the real table, or the reference, has). */
  rows?: number;
  /** The most iterations the run takes (default 100). */
  iterations?: number;
  /** Rows per iteration: `grow` (default) or `even` (the paper's): see src/schedule.ts. */
  schedule?: Schedule;
  /** Proposals per iteration; undefined lets the planner decide. */
  proposals?: number;
  groupsPerIteration?: number;
  seed?: number;
  withinRange?: "quantile" | "uniform";
  /**
   * Final trim: grow this share more rows than asked (e.g. 0.05), then drop the surplus from the most
   * over-represented cells so the marginals land closer. Off (0) by default.
   */
  trim?: number;
  /** Stop once the mean TVD is at or below this. */
  targetTvd?: number;
  /** Stop after this many iterations without a lower mean TVD. */
  patience?: number;
  /**
   * A run fails early after this many iterations in a row without usable proposals, rather than spend the
   * rest of its budget (default 3).
   */
  maxEmptyIterations?: number;
  bins?: number;
  subBins?: number;
  /**
   * Nothing fewer than this many real rows hold is drawn from (default 5; 1 turns it off): the quantile
   * grids' ends are pulled in and the statistical planner backs off from conditionals of fewer rows, so a
   * rare row is not nearly copied. With a summary file, the file's own min-cell.
   */
  minCell?: number;
  /** What configures the planner (kind, model, scenario, ...): recorded with the run, checked on --resume. */
  plannerConfig?: Record<string, unknown>;
  /** Table the synthetic rows end up in (default `synthetic`). */
  outTable?: string;
  out?: string;
  overwrite?: boolean;
  /** Continue the unfinished run in `db`, to the table the uninterrupted run would have written. */
  resume?: boolean;
  /**
   * Keep the real rows in `db` (the source, the reference, their model and codes: src/db/real-rows.ts),
   * for debugging or evaluating against them later. By default they are temporary and never reach the
   * file, and real rows a file kept from an earlier run are dropped when this one ends.
   */
  keepReal?: boolean;
  /** Checked between iterations: when it returns true the run stops cleanly and can be resumed. */
  shouldStop?: () => boolean;
  /**
   * Stops the run at once, in any phase (Ctrl-C): the query running is interrupted, the LLM request in
   * flight cancelled, long planning loops left, the iteration in flight rolled back; nothing is written.
   */
  signal?: AbortSignal;
}

/**
 * The loop's options as a run records them in synthor_runs.config (--resume compares them), defaults
 * filled in; `fixed` are those a summary file fixes (bins, sub-bins, min-cell).
 */
export function loopConfig(
  options: LoopOptions,
  fixed: { bins?: number; subBins?: number; minCell?: number } = {},
) {
  return {
    profile: options.profile ?? {},
    rows: options.rows ?? null,
    iterations: options.iterations ?? 100,
    schedule: options.schedule ?? "grow",
    proposals: options.proposals ?? null,
    groupsPerIteration: options.groupsPerIteration ?? 3,
    seed: options.seed ?? 0,
    withinRange: options.withinRange ?? "quantile",
    targetTvd: options.targetTvd ?? null,
    patience: options.patience ?? null,
    bins: fixed.bins ?? options.bins ?? 6,
    subBins: fixed.subBins ?? options.subBins ?? 8,
    minCell: fixed.minCell ?? options.minCell ?? DEFAULT_MIN_CELL,
    planner: options.plannerConfig ?? { kind: "stats" },
    trim: options.trim ?? 0,
  };
}

/** The events a run reports as its loop starts and after each iteration (flat and nested alike). */
export type LoopEvent =
  | {
      kind: "start";
      runId: number;
      planner: string;
      /** Rows (households) the loop grows the table to. */
      rowsTarget: number;
      iterations: number;
      /** The iteration a resumed run continues after (0: a new run). */
      resumedAt: number;
      groups: string[][];
    }
  | {
      kind: "iteration";
      iteration: number;
      iterations: number;
      /** Rows (households) the table holds now. */
      rows: number;
      rowsTarget: number;
      /** The recorded mean TVD (both levels' for nested data). */
      meanTvd: number;
      seconds: number;
      notes: string[];
    };

/** What every run returns, flat or nested. */
export interface LoopResult {
  runId: number;
  planner: string;
  iterations: number;
  seconds: number;
  stoppedBecause: StoppedBecause;
  /** Rows (households) asked for (--rows): fewer were made only after a stop the user asked for. */
  rowsAsked: number;
  /** Iterations that had no usable proposals, by reason. */
  unusableIterations: UnusableTally;
  /** Why the run stopped short of `rowsAsked`, when it did (also in synthor_runs.reason). */
  reason?: string;
  outTable: string;
  outFile?: string;
  db: string;
  tokens: TokenUse;
}

export type StoppedBecause =
  | "rows"
  | "target-tvd"
  | "patience"
  | "iterations"
  | "interrupted"
  | "token-budget"
  | "no-proposals";
