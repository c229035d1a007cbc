/**
 * The iterations of the synthesis loop (paper Algorithm 1), once for flat and nested data: choose the
 * groups to ground, read the gaps, ask the planner, validate and sample its proposals, measure again and
 * record the iteration, each iteration one transaction; with the stop rules, the batch schedule and the
 * resume replay the same at every level.
 *
 * What a level does its own way (which table it plans, how a proposal is validated, drawn and counted,
 * what discrepancy it records) is behind {@link Level}: `src/pipeline.ts` gives the flat one,
 * `src/nested/pipeline.ts` the household level of nested data. The pipelines do what comes before the
 * loop (source, summary, groups, the run's record) and after it (trim, output).
 */
import type { Db } from "./db/connection.ts";
import { type Discrepancy, gapsOf, type Measured, subBinGaps } from "./discrepancy.ts";
import { recordIteration } from "./history.ts";
import { rejectedByLoop, UnusableCounter } from "./outcome.ts";
import type { Planner, TokenUse } from "./planners/types.ts";
import { type LastIteration, nextBatch, type Schedule } from "./schedule.ts";
import type { Summary, Unit } from "./summarize.ts";

/** What the count tables say after a change: the planning level's discrepancy and gaps, and what is recorded. */
export interface LevelMeasure extends Measured {
  /**
   * The discrepancy recorded in synthor_iterations, shown in progress and read by --target-tvd and
   * --patience: the planning level's (flat), or both levels' (nested).
   */
  recorded: Discrepancy;
}

/** How one level of data is planned, drawn and counted; `P` the planner's proposals, `V` validated ones. */
export interface Level<P, V extends { num: number }> {
  /** The table the loop plans: the flat summary, or the household level of a nested one. */
  readonly summary: Summary;
  readonly planner: Planner<P>;
  /** The valid proposals, their nums trimmed to `maxRows` in all; why others were dropped goes to `notes`. */
  accept(raw: P[], maxRows: number, notes: string[]): V[];
  /** Draws the proposals into the synthetic table and adds their counts; the rows added. */
  sample(valid: V[], iteration: number): Promise<number>;
  /** Reads the count tables once. */
  measure(): Promise<LevelMeasure>;
  /** Records the iteration's accepted proposals (synthor_proposals). */
  recordProposals(runId: number, iteration: number, valid: V[]): Promise<void>;
  /**
   * The planning level's mean TVD of a recorded iteration (`mean_tvd`, and `tvd` per unit), which the
   * schedule goes on from when a run resumes.
   */
  plannedTvd(recorded: { meanTvd: number; tvd: Map<string, number> }): number;
}

export type StoppedBecause =
  | "rows"
  | "target-tvd"
  | "patience"
  | "iterations"
  | "interrupted"
  | "token-budget"
  | "no-proposals";

/** Where the loop stands: kept by the caller across calls (the flat loop's --where rounds call it again). */
export interface LoopState {
  /** The last iteration done. */
  iteration: number;
  /** Rows (households) in the synthetic table. */
  rows: number;
  measured: LevelMeasure;
  /** The lowest recorded mean TVD so far and the iterations with rows since (--patience). */
  best: number;
  sinceBest: number;
  /** The last iteration as recorded, for the schedule. */
  last?: LastIteration;
  tokens: TokenUse;
  unusable: UnusableCounter;
  stoppedBecause: StoppedBecause;
  /** The planner's reason for a token-budget stop. */
  stopReason?: string;
}

export interface LoopSettings {
  db: Db;
  runId: number;
  seed: number;
  /** Iterate until this iteration at the most. */
  limit: number;
  /** --iterations, for progress. */
  iterations: number;
  /** Rows to grow the table to. */
  rowsTarget: number;
  schedule: Schedule;
  /** The mean TVD of a real sample of n rows (src/schedule.ts). */
  noise: (rows: number) => number;
  proposals: number | undefined;
  groupsPerIteration: number;
  targetTvd?: number | undefined;
  patience?: number | undefined;
  maxEmptyIterations: number;
  shouldStop?: (() => boolean) | undefined;
  signal?: AbortSignal | undefined;
  /** A phase of an iteration begins (progress, and where an interruption says it stopped). */
  enter(phase: "planning" | "sampling", iteration: number): void;
  /** After each committed iteration. */
  committed(progress: IterationProgress): void;
}

export interface IterationProgress {
  iteration: number;
  rows: number;
  meanTvd: number;
  seconds: number;
  notes: string[];
}

/** The state before the first iteration of a run, or of a resumed one (`replayed`). */
export function startState(measured: LevelMeasure, replayed?: Replayed): LoopState {
  return {
    iteration: replayed?.iteration ?? 0,
    rows: replayed?.rows ?? 0,
    measured,
    best: replayed?.best ?? measured.recorded.meanTvd,
    sinceBest: replayed?.sinceBest ?? 0,
    ...(replayed?.last ? { last: replayed.last } : {}),
    tokens: { prompt: 0, completion: 0, calls: 0 },
    unusable: new UnusableCounter(),
    stoppedBecause: "iterations",
  };
}

/** What a resumed run takes over from the iterations its database holds. */
export interface Replayed {
  iteration: number;
  rows: number;
  best: number;
  sinceBest: number;
  last?: LastIteration;
}

/**
 * Replays the stop rule over the iterations already done, from the empty table's mean TVD of 1, so a
 * resumed run stops where the uninterrupted one would; the schedule goes on from the last one.
 */
export async function replayHistory<P, V extends { num: number }>(
  db: Db,
  runId: number,
  level: Level<P, V>,
  rows: number,
): Promise<Replayed> {
  const done = await db.all<{
    iteration: number;
    mean_tvd: number;
    rows_added: number;
    rows_total: number;
    tvd: string;
  }>(
    "select iteration, mean_tvd, rows_added, rows_total, tvd::varchar as tvd from synthor_iterations where run_id = $run order by iteration",
    { run: runId },
    "read convergence so far",
  );
  let best = 1;
  let sinceBest = 0;
  for (const d of done) {
    if (d.rows_added === 0) continue;
    if (d.mean_tvd < best - 1e-12) {
      best = d.mean_tvd;
      sinceBest = 0;
    } else {
      sinceBest++;
    }
  }
  const end = done.at(-1);
  const last = end && {
    rowsAdded: end.rows_added,
    rowsTotal: end.rows_total,
    meanTvd: level.plannedTvd({
      meanTvd: end.mean_tvd,
      tvd: new Map(Object.entries(JSON.parse(end.tvd) as Record<string, number>)),
    }),
  };
  return { iteration: end?.iteration ?? 0, rows, best, sinceBest, ...(last ? { last } : {}) };
}

/**
 * Runs iterations until `settings.limit`, the rows asked for, or a stop rule; `state` holds where it
 * ended (`stoppedBecause`).
 */
export async function iterate<P, V extends { num: number }>(
  level: Level<P, V>,
  settings: LoopSettings,
  state: LoopState,
): Promise<void> {
  const { db, planner, summary } = { db: settings.db, ...level };
  state.stoppedBecause = "iterations";
  while (state.iteration < settings.limit) {
    const recorded = state.measured.recorded.meanTvd;
    if (state.rows >= settings.rowsTarget) {
      state.stoppedBecause = "rows";
      break;
    }
    if (settings.targetTvd !== undefined && state.rows > 0 && recorded <= settings.targetTvd) {
      state.stoppedBecause = "target-tvd";
      break;
    }
    if (settings.patience !== undefined && state.sinceBest >= settings.patience) {
      state.stoppedBecause = "patience";
      break;
    }
    if (settings.shouldStop?.()) {
      state.stoppedBecause = "interrupted";
      break;
    }
    const iteration = state.iteration + 1;
    const t0 = Date.now();
    const batch = nextBatch(
      settings.schedule,
      {
        rowsAsked: settings.rowsTarget,
        rowsLeft: settings.rowsTarget - state.rows,
        iterationsLeft: settings.limit - iteration + 1,
      },
      state.last,
      settings.noise,
    );
    const planned = state.measured.discrepancy;
    const groups = chooseGroups(summary.groups, planned, settings.groupsPerIteration);
    settings.enter("planning", iteration);
    const gaps = gapsOf(summary, state.measured.gaps, [
      ...summary.marginals,
      ...summary.groups,
      ...summary.fineUnits,
      ...summary.pairUnits,
      ...summary.finePairUnits,
    ]);
    // Sub-bin gaps are prompt material (Appendix C.1): read only for a planner that shows them.
    const subBins = planner.wantsSubBins ? await subBinGaps(db, summary) : [];
    const plan = await planner.plan({
      summary,
      iteration,
      seed: settings.seed,
      synthRows: state.rows,
      rows: batch,
      proposals: settings.proposals,
      groups,
      discrepancy: planned,
      gaps,
      subBins,
      ...(settings.signal ? { signal: settings.signal } : {}),
    });
    const t1 = Date.now();
    const notes = [...(plan.notes ?? [])];
    const valid = level.accept(plan.proposals, batch, notes);
    settings.enter("sampling", iteration);
    await db.exec("begin transaction", "begin iteration");
    let added: number;
    try {
      added = await level.sample(valid, iteration);
      state.measured = await level.measure();
      const t2 = Date.now();
      const used = plan.tokens ?? { prompt: 0, completion: 0, calls: 0 };
      await recordIteration(db, {
        runId: settings.runId,
        iteration,
        rowsAdded: added,
        rowsTotal: state.rows + added,
        discrepancy: state.measured.recorded,
        groups: groups.map((g) => g.columns),
        seconds: (t2 - t0) / 1000,
        planSeconds: (t1 - t0) / 1000,
        sampleSeconds: (t2 - t1) / 1000,
        tokens: used,
        notes,
      });
      await level.recordProposals(settings.runId, iteration, valid);
      await db.exec("commit", "commit iteration");
      state.iteration = iteration;
      state.rows += added;
      state.tokens = {
        prompt: state.tokens.prompt + used.prompt,
        completion: state.tokens.completion + used.completion,
        calls: state.tokens.calls + used.calls,
      };
      state.last = { rowsAdded: added, rowsTotal: state.rows, meanTvd: state.measured.discrepancy.meanTvd };
    } catch (err) {
      await db.exec("rollback", "roll back iteration");
      throw err;
    }
    // An iteration without rows is a failure of the planner, not a sign of convergence: it does not
    // count towards --patience, and a few in a row end the run.
    const meanTvd = state.measured.recorded.meanTvd;
    if (added > 0) {
      if (meanTvd < state.best - 1e-12) {
        state.best = meanTvd;
        state.sinceBest = 0;
      } else {
        state.sinceBest++;
      }
    }
    settings.committed({ iteration, rows: state.rows, meanTvd, seconds: (Date.now() - t0) / 1000, notes });
    if (plan.stop) {
      state.stoppedBecause = "token-budget";
      if (plan.stopReason !== undefined) state.stopReason = plan.stopReason;
      break;
    }
    state.unusable.record(
      added,
      plan.unusable ?? (plan.proposals.length > 0 ? rejectedByLoop(notes) : undefined),
    );
    if (added === 0 && state.unusable.inARow >= settings.maxEmptyIterations) {
      state.stoppedBecause = "no-proposals";
      break;
    }
  }
  if (state.stoppedBecause === "iterations" && state.rows >= settings.rowsTarget)
    state.stoppedBecause = "rows";
}

/** The groups to ground this iteration: the candidates with the largest TVD now (paper: 3). */
export function chooseGroups(candidates: Unit[], d: Discrepancy, count: number): Unit[] {
  const tvd = new Map(d.groups.map((g) => [g.unit, g.tvd]));
  return [...candidates]
    .map((u, i) => ({ u, i, tvd: tvd.get(u.id) ?? 0 }))
    .sort((a, b) => b.tvd - a.tvd || a.i - b.i)
    .slice(0, count)
    .map((x) => x.u);
}
