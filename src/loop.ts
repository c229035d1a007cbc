/**
 * The iterations of the synthesis loop (paper Algorithm 1), once for flat and nested data: choose the
 * groups to ground, read the gaps, ask the planner, validate and sample its proposals, measure again and
 * record the iteration, each iteration one transaction; with the stop rules, the batch schedule and the
 * --where rounds the same at every level. What comes just before the first iteration and after the last
 * is in src/loop-ends.ts; what a run takes and gives in src/run-options.ts.
 *
 * What a level does its own way (which table it plans, how a proposal is validated, drawn and counted,
 * what discrepancy it records) is behind {@link Level}: `src/pipeline.ts` gives the flat one,
 * `src/nested/level.ts` the household level of nested data. The pipelines do what comes before the
 * loop (source, summary, groups, the run's record) and after it (trim, output).
 */
import type { Db } from "./db/connection.ts";
import { type Discrepancy, gapsOf, type Measured, subBinGaps } from "./discrepancy.ts";
import { recordIteration } from "./history.ts";
import { rejectedByLoop, type UnusableCounter } from "./outcome.ts";
import type { Planner, TokenUse } from "./planners/types.ts";
import type { LoopEvent, LoopOptions, StoppedBecause } from "./run-options.ts";
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
  /** The run's options: proposals, groups per iteration, the stop rules, shouldStop and the signal. */
  options: LoopOptions;
  /** A phase of an iteration begins (progress, and where an interruption says it stopped). */
  enter(phase: "planning" | "sampling", iteration: number): void;
  /** After each committed iteration. */
  committed(progress: IterationProgress): void;
}

/** What the loop reports after each committed iteration: the `iteration` event's fields. */
export type IterationProgress = Omit<Extract<LoopEvent, { kind: "iteration" }>, "kind">;

/**
 * Runs iterations until `settings.limit`, the rows asked for, or a stop rule; `state` holds where it
 * ended (`stoppedBecause`).
 */
export async function iterate<P, V extends { num: number }>(
  level: Level<P, V>,
  settings: LoopSettings,
  state: LoopState,
): Promise<void> {
  const db = settings.db;
  const { planner, summary } = level;
  state.stoppedBecause = "iterations";
  while (state.iteration < settings.limit) {
    const recorded = state.measured.recorded.meanTvd;
    if (state.rows >= settings.rowsTarget) {
      state.stoppedBecause = "rows";
      break;
    }
    if (
      settings.options.targetTvd !== undefined &&
      state.rows > 0 &&
      recorded <= settings.options.targetTvd
    ) {
      state.stoppedBecause = "target-tvd";
      break;
    }
    if (settings.options.patience !== undefined && state.sinceBest >= settings.options.patience) {
      state.stoppedBecause = "patience";
      break;
    }
    if (settings.options.shouldStop?.()) {
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
    const groups = chooseGroups(summary.groups, planned, settings.options.groupsPerIteration ?? 3);
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
      proposals: settings.options.proposals,
      groups,
      discrepancy: planned,
      gaps,
      subBins,
      ...(settings.options.signal ? { signal: settings.options.signal } : {}),
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
    settings.committed({
      iteration,
      iterations: settings.iterations,
      rows: state.rows,
      rowsTarget: settings.rowsTarget,
      meanTvd,
      seconds: (Date.now() - t0) / 1000,
      notes,
    });
    if (plan.stop) {
      state.stoppedBecause = "token-budget";
      if (plan.stopReason !== undefined) state.stopReason = plan.stopReason;
      break;
    }
    state.unusable.record(
      added,
      plan.unusable ?? (plan.proposals.length > 0 ? rejectedByLoop(notes) : undefined),
    );
    if (added === 0 && state.unusable.inARow >= (settings.options.maxEmptyIterations ?? 3)) {
      state.stoppedBecause = "no-proposals";
      break;
    }
  }
  if (state.stoppedBecause === "iterations" && state.rows >= settings.rowsTarget)
    state.stoppedBecause = "rows";
}

/** --where's guarantee, for `grow`: after the loop, the rows that fail it are dropped and regrown. */
export interface WhereRounds {
  /** The rows asked for (without the surplus grown for the drop). */
  finalRows: number;
  /** Deletes the rows of iterations up to `upTo` that fail --where and rebuilds the counts; how many. */
  drop(upTo: number): Promise<number>;
  /** The drop begins (the "finishing" phase). */
  enter(): void;
  /** After the drop is committed. */
  committed(): void;
}

/**
 * The loop until the rows are grown or a stop rule ends it; then, with `where`, rounds: the rows that
 * fail --where are dropped, and if fewer than the rows asked for are left, a few more iterations grow
 * the rest, more by the share that failed (at most 5 more rounds; the batches are even then). Returns
 * the rows dropped in all.
 */
export async function grow<P, V extends { num: number }>(
  level: Level<P, V>,
  settings: LoopSettings,
  state: LoopState,
  where?: WhereRounds,
): Promise<number> {
  const db = settings.db;
  let { limit, rowsTarget } = settings;
  // With --where the rounds end at iteration counts (`limit`), which a resumed run replays; a round that
  // ended early by growing would not replay, so their batches are even.
  const schedule = where === undefined ? settings.schedule : "even";
  let whereDropped = 0;
  for (let round = 0; ; round++) {
    await iterate(level, { ...settings, limit, rowsTarget, schedule }, state);
    if (where === undefined || !["rows", "iterations"].includes(state.stoppedBecause)) break;
    // Only rows of this round's iterations: a run resumed in a later round must not drop that round's
    // rows early, or it would diverge from the uninterrupted run.
    where.enter();
    // One transaction, like an iteration: an interruption leaves the rows and their counts as they were.
    await db.exec("begin transaction", "begin --where round");
    try {
      const dropped = await where.drop(limit);
      if (dropped > 0) {
        state.rows -= dropped;
        state.measured = await level.measure();
      }
      await db.exec("commit", "commit --where round");
      where.committed();
    } catch (err) {
      await db.exec("rollback", "roll back --where round");
      throw err;
    }
    // Rows sampled so far minus rows kept: the share that failed --where, read from the history so a
    // resumed run plans its next round as the uninterrupted one did.
    const [grown] = await db.all<{ n: number; kept: number }>(
      `select coalesce(sum(rows_added), 0)::bigint as n,
              (select count(*) from synthor_synth_model where __synthor_iteration <= $limit) as kept
       from synthor_iterations where run_id = $run and iteration <= $limit`,
      { run: settings.runId, limit },
    );
    const kept = grown?.kept ?? state.rows;
    whereDropped = Math.max(0, (grown?.n ?? 0) - kept);
    if (kept >= where.finalRows || round >= 5) break;
    const failing = whereDropped / Math.max(1, grown?.n ?? 0);
    rowsTarget = kept + Math.ceil(((where.finalRows - kept) / Math.max(0.1, 1 - failing)) * 1.1);
    limit += Math.max(2, Math.ceil(settings.iterations / 10));
  }
  return whereDropped;
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
