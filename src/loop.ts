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
import { finishRun, recordIteration } from "./history.ts";
import {
  failureOf,
  qualityStopLine,
  RunFailed,
  rejectedByLoop,
  UnusableCounter,
  type UnusableTally,
} from "./outcome.ts";
import type { Planner, TokenUse } from "./planners/types.ts";
import type { ProfileOptions } from "./profile.ts";
import { type LastIteration, nextBatch, noiseOf, type Schedule } from "./schedule.ts";
import type { Summary, Unit } from "./summarize.ts";
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
 * Before the first iteration: says the loop starts (`emit`), measures the synthetic table (empty, or what
 * a resumed run kept: its history is replayed, see replayHistory), and works out the schedule's noise
 * over the units of the level's mean TVD. `measuring` is called as the measuring begins.
 */
export async function startLoop<P, V extends { num: number }>(
  db: Db,
  level: Level<P, V>,
  run: {
    runId: number;
    rowsTarget: number;
    iterations: number;
    resumedAt: number;
    emit?: ((event: LoopEvent) => void) | undefined;
    measuring?: () => void;
  },
): Promise<{ state: LoopState; noise: (rows: number) => number }> {
  const { summary } = level;
  run.emit?.({
    kind: "start",
    runId: run.runId,
    planner: level.planner.name,
    rowsTarget: run.rowsTarget,
    iterations: run.iterations,
    resumedAt: run.resumedAt,
    groups: summary.groups.map((g) => g.columns),
  });
  run.measuring?.();
  // The count tables read once per change: the discrepancy, and the gaps the next iteration plans from.
  const measured = await level.measure();
  // The batch schedule (src/schedule.ts): a real sample's noise over the units of the mean TVD.
  const noise = noiseOf(
    measured.gaps,
    [...summary.marginals, ...summary.groups].map((u) => u.id),
  );
  if (run.resumedAt === 0) return { state: startState(measured), noise };
  const [kept] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  return { state: startState(measured, await replayHistory(db, run.runId, level, kept?.n ?? 0)), noise };
}

/** The state before the first iteration of a run, or of a resumed one (`replayed`). */
function startState(measured: LevelMeasure, replayed?: Replayed): LoopState {
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
async function replayHistory<P, V extends { num: number }>(
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
 * the rest, more by the share that failed (at most 5 more rounds). Returns the rows dropped in all.
 */
export async function grow<P, V extends { num: number }>(
  level: Level<P, V>,
  settings: LoopSettings,
  state: LoopState,
  where?: WhereRounds,
): Promise<number> {
  const db = settings.db;
  let { limit, rowsTarget } = settings;
  let whereDropped = 0;
  for (let round = 0; ; round++) {
    await iterate(level, { ...settings, limit, rowsTarget }, state);
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

/**
 * Records how the loop ended. An interrupted run is marked interrupted. A run that did not do its job
 * (src/outcome.ts) is marked failed and RunFailed thrown: nothing is written, and the rows made so far
 * stay in the database for --resume. Otherwise returns the line that says the run stopped short of
 * --rows on the user's own rule (--target-tvd, --patience), if it did.
 */
export async function settle(
  db: Db,
  runId: number,
  state: LoopState,
  end: {
    rowsAsked: number;
    seconds: number;
    /** What the rows are called: "households" for nested data. */
    what?: string;
    /** Rows dropped for failing --where (the flat loop's rounds). */
    whereDropped?: number;
    targetTvd?: number | undefined;
    patience?: number | undefined;
  },
): Promise<string | undefined> {
  const ending = {
    stoppedBecause: state.stoppedBecause,
    rows: state.rows,
    rowsAsked: end.rowsAsked,
    iterations: state.iteration,
    unusable: state.unusable.tally(),
    ...(state.stopReason ? { stopReason: state.stopReason } : {}),
    ...(end.whereDropped !== undefined ? { whereDropped: end.whereDropped } : {}),
    ...(end.what ? { what: end.what } : {}),
  };
  const common = { rows: state.rows, iterations: state.iteration, seconds: end.seconds };
  if (state.stoppedBecause === "interrupted") {
    await finishRun(db, runId, { status: "interrupted", ...common });
    return undefined;
  }
  const failure = failureOf(ending);
  if (failure) {
    await finishRun(db, runId, { status: "failed", ...common, rows: 0, reason: failure.reason });
    throw new RunFailed(
      {
        runId,
        status: "failed",
        reason: failure.reason,
        rows: state.rows,
        rowsAsked: end.rowsAsked,
        iterations: state.iteration,
        stoppedBecause: state.stoppedBecause,
        unusableIterations: ending.unusable,
      },
      failure.hint,
    );
  }
  return qualityStopLine(ending, end, end.what);
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
