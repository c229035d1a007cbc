/**
 * Before the loop's first iteration and after its last (src/loop.ts): the start (the table measured, a
 * resumed run's history replayed) and how the run ended (recorded, and a failure thrown).
 */
import type { Db } from "./db/connection.ts";
import { finishRun } from "./history.ts";
import type { Level, LevelMeasure, LoopSettings, LoopState } from "./loop.ts";
import { failureOf, qualityStopLine, RunFailed, UnusableCounter } from "./outcome.ts";
import type { LoopEvent } from "./run-options.ts";
import { type LastIteration, noiseOf } from "./schedule.ts";

/**
 * Before the first iteration: says the loop starts (`emit`), measures the synthetic table (empty, or what
 * a resumed run kept: its history is replayed, see replayHistory), and works out the schedule's noise
 * over the units of the level's mean TVD; returns the loop's state and the settings it knows.
 * `measuring` is called as the measuring begins.
 */
export async function startLoop<P, V extends { num: number }>(
  db: Db,
  level: Level<P, V>,
  run: {
    runId: number;
    seed: number;
    rowsTarget: number;
    iterations: number;
    resumedAt: number;
    emit?: ((event: LoopEvent) => void) | undefined;
    measuring?: () => void;
  },
): Promise<{ state: LoopState; settings: LoopStart }> {
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
  const settings = {
    db,
    runId: run.runId,
    seed: run.seed,
    limit: run.iterations,
    iterations: run.iterations,
    rowsTarget: run.rowsTarget,
    noise,
  };
  if (run.resumedAt === 0) return { state: startState(measured), settings };
  const [kept] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  return { state: startState(measured, await replayHistory(db, run.runId, level, kept?.n ?? 0)), settings };
}

/** The loop's settings startLoop fills in; the caller adds the schedule, options and callbacks. */
export type LoopStart = Pick<
  LoopSettings,
  "db" | "runId" | "seed" | "limit" | "iterations" | "rowsTarget" | "noise"
>;

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
