import { resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { installRunMacros } from "./db/macros.ts";
import { quoteIdent } from "./db/quote.ts";
import { computeDiscrepancy, type Discrepancy, measure } from "./discrepancy.ts";
import { SynthorError } from "./errors.ts";
import { createHistoryTables, finishRun, openRun, recordProposals, startRun } from "./history.ts";
import { checkOptionSql, summarizeRows } from "./intake.ts";
import { Interrupted, throwIfAborted } from "./interrupt.ts";
import { grow, type Level } from "./loop.ts";
import { settle, startLoop } from "./loop-ends.ts";
import { UnusableCounter } from "./outcome.ts";
import {
  checkOutputFile,
  outputSelect,
  parquetLossWarnings,
  type StagedFile,
  stageOutputFile,
} from "./output.ts";
import type { Planner, TokenUse } from "./planners/types.ts";
import type { ColumnProfile } from "./profile.ts";
import { acceptProposals, type Proposal, type ValidProposal } from "./proposals.ts";
import { type ReferenceOptions, referenceConfig, targetGroups } from "./reference.ts";
import {
  countViolations,
  dropViolations,
  fitToReference,
  measureTargets,
  surplusShare,
  type TargetFit,
  targetUnitsOf,
} from "./reference-fit.ts";
import { checkResume, checkSeed, withRunDatabase } from "./run-database.ts";
import { type LoopEvent, type LoopOptions, type LoopResult, loopConfig } from "./run-options.ts";
import { addBatchCounts, createSyntheticModel, sampleProposals } from "./sample.ts";
import { recordedSpec, type SourceData, type SourceSpec } from "./source.ts";
import { addGroups, addPairs, type Summary } from "./summarize.ts";
import { readSummaryFile } from "./summary-file.ts";
import { loadSummary } from "./summary-load.ts";
import { rebuildCounts } from "./trim.ts";

/** A summary file (`synthor summarize --out`) to synthesize from instead of the real rows. */
export interface SummarySource {
  kind: "summary";
  path: string;
}

export interface SynthOptions extends LoopOptions {
  source: SourceSpec | SummarySource;
  /**
   * Conditions (--where), targets and tilts: the reference table the loop treats as real
   * (src/reference.ts). Every output row satisfies `where`.
   */
  reference?: ReferenceOptions;
  /** Makes the planner once the real table is summarized. */
  planner: (db: Db, summary: Summary) => Planner;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * As LoopOptions.signal; a run stopped in its loop returns with `stoppedBecause: "interrupted"` and can
   * be resumed; before its loop, or a run without a --db, throws {@link Interrupted}.
   */
  signal?: AbortSignal;
}

/** What the run is doing, as `phase` progress events report it (and the interruption message names it). */
export type Phase =
  | "reading the source"
  | "profiling columns"
  | "summarizing"
  | "finding dependency groups"
  | "measuring"
  | "planning"
  | "sampling"
  | "finishing";

export type ProgressEvent =
  | LoopEvent
  | { kind: "warning"; message: string }
  /** A phase begins; `iteration` for those of an iteration. */
  | { kind: "phase"; phase: Phase; iteration?: number }
  | { kind: "done"; result: SynthResult };

export interface SynthResult extends LoopResult {
  rows: number;
  discrepancy: Discrepancy;
  /** With --where, --targets or --tilt: what the reference was built from. */
  reference?: {
    where: string | null;
    realRows: number;
    matchingRows: number;
    referenceRows: number;
    added: string[];
    /** Synthetic rows deleted because they failed --where (the loop grew more to replace them). */
    whereDropped: number;
    /** Output rows that fail --where: 0 (the guarantee). */
    whereViolations: number;
    /** Rows asked for: `rows` is less only when rows failing --where could not all be regrown. */
    rowsAsked: number;
  };
  /** How close each target table ended, per named cell. */
  targets?: TargetFit[];
  /** What the user should know about the input or the output (renamed columns, types a file cannot hold). */
  warnings: string[];
  /** With `signal`: what the run was doing when it stopped, e.g. "planning iteration 3". */
  interruptedWhile?: string;
}

/**
 * The synthesis loop (paper Algorithm 1): summarize the real table, then per iteration measure the
 * discrepancy from the running count tables, ground the worst groups, ask the planner for proposals,
 * sample them in DuckDB, and record the iteration, until the target row count is reached.
 * Each iteration is one transaction, so an interrupted run resumes from the last completed iteration.
 */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const started = Date.now();
  if (options.out) checkOutputFile(options.out, options.overwrite ?? false);
  const dbPath = options.db ?? ":memory:";
  checkSeed(options.seed);
  checkResume(options.resume ?? false, dbPath);
  // The SQL of --sql, --where, --tilt and --targets-sql is checked before the database is opened: a
  // refused option leaves no new file, and every table (and the previous run's state) as it was.
  await checkOptionSql(options);
  // On every way out (finished, interrupted, failed) the file is left without real rows; a user's own
  // table that is the source stays.
  const keep = options.source.kind === "table" ? sourceTableNames(options.source.table) : [];
  const state: RunState = { phase: "reading the source" };
  try {
    return await withRunDatabase(
      options,
      { keep, started, state },
      (db) => run(db, options, started, state),
      (db) => stopped(db, options, started, state),
    );
  } finally {
    state.planner?.close?.();
  }
}

/** The names a `--table` source may have in the current schema: as given, and its last part. */
export function sourceTableNames(table: string): string[] {
  return [...new Set([table, table.split(".").pop() ?? table])];
}

/** How far a run got, kept up to date so an interruption can record it. */
interface RunState {
  phase: string;
  runId?: number;
  /** Closed when the run ends, however it ends. */
  planner?: Planner;
  plannerName?: string;
  outTable?: string;
  rowsAsked?: number;
  unusable?: UnusableCounter;
  warnings?: string[];
  /** From the loop's start: the last committed iteration and what the table held then. */
  committed?: { iteration: number; rows: number; discrepancy: Discrepancy; tokens: TokenUse };
}

/**
 * After an interruption: rolls back the iteration (or the end of the run) in flight, marks the run
 * interrupted, and returns what the committed iterations hold; before the loop, throws Interrupted.
 */
async function stopped(
  db: Db,
  options: SynthOptions,
  started: number,
  state: RunState,
): Promise<SynthResult> {
  try {
    await db.exec("rollback", "roll back after an interruption");
  } catch {
    // No transaction was open.
  }
  const seconds = (Date.now() - started) / 1000;
  const c = state.committed;
  if (state.runId !== undefined) {
    await finishRun(db, state.runId, {
      status: "interrupted",
      rows: c?.rows ?? 0,
      iterations: c?.iteration ?? 0,
      seconds,
    });
  }
  // Closing would fold the write-ahead log into the file first (seconds on a large run): the next open
  // replays it instead.
  await db.exec("pragma disable_checkpoint_on_shutdown", "skip the checkpoint");
  const resumable = state.runId !== undefined && db.path !== ":memory:";
  if (!c || state.runId === undefined) {
    throw new Interrupted(
      state.phase,
      resumable
        ? "nothing was written; continue with the same command and --resume"
        : "nothing was written; run the same command again",
    );
  }
  const result: SynthResult = {
    runId: state.runId,
    planner: state.plannerName ?? "",
    rows: c.rows,
    iterations: c.iteration,
    seconds,
    stoppedBecause: "interrupted",
    discrepancy: c.discrepancy,
    outTable: state.outTable ?? "synthetic",
    db: db.path,
    tokens: c.tokens,
    interruptedWhile: state.phase,
    rowsAsked: state.rowsAsked ?? c.rows,
    unusableIterations: (state.unusable ?? new UnusableCounter()).tally(),
    warnings: state.warnings ?? [],
  };
  options.onProgress?.({ kind: "done", result });
  return result;
}

async function run(db: Db, options: SynthOptions, started: number, state: RunState): Promise<SynthResult> {
  const signal = options.signal;
  const enter = (phase: Phase, iteration?: number) => {
    state.phase = iteration === undefined ? phase : `${phase} iteration ${iteration}`;
    options.onProgress?.({ kind: "phase", phase, ...(iteration === undefined ? {} : { iteration }) });
    throwIfAborted(signal, state.phase);
  };
  const seed = options.seed ?? 0;
  const iterations = options.iterations ?? 100;
  const outTable = options.outTable ?? "synthetic";
  if (options.source.kind === "table" && options.source.table === outTable) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `the output table "${outTable}" is the real table`,
      "pick another name with --out-table",
    );
  }
  await createHistoryTables(db);
  // File paths as absolute paths, so `--resume` from another directory or with ./x.csv finds the same run.
  // A summary file is also recorded by its content: resuming with a changed file is an error.
  const stored = options.source.kind === "summary" ? readSummaryFile(options.source.path) : undefined;
  const source =
    options.source.kind === "summary"
      ? {
          ...options.source,
          path: resolve(options.source.path),
          ...(stored ? { sha256: stored.sha256 } : {}),
        }
      : recordedSpec(options.source);
  const config = {
    source,
    ...loopConfig(options, stored?.file ?? {}),
    reference: referenceConfig(options.reference ?? {}),
  };

  const resumed = await openRun(db, config, {
    resume: options.resume ?? false,
    synthTables: ["synthor_synth_model"],
  });
  const resumeFrom = resumed?.iteration ?? 0;
  let runId = resumed?.runId ?? 0;
  if (resumed) state.runId = resumed.runId;
  // The source's row count and checksum as the interrupted run recorded them.
  const resumedData = resumed?.sourceData as SourceData | undefined;

  // The reference (the real rows under --where, --targets, --tilt) is what the loop treats as real; a
  // summary file has no rows, so it has none.
  const warnings: string[] = [];
  state.warnings = warnings;
  const warn = (message: string) => {
    warnings.push(message);
    options.onProgress?.({ kind: "warning", message });
  };
  // The run database carries the macros, so a plain DuckDB session on it can call them.
  const macros = await installRunMacros(db);
  if (macros) warn(macros);
  enter("reading the source");
  const real = stored
    ? { ...(await loadSummary(db, stored.file)), reference: undefined }
    : await summarizeRows(
        db,
        options.source as SourceSpec,
        options.profile ?? {},
        config,
        warn,
        {
          ...options.reference,
          seed,
          ...(options.rows !== undefined ? { rows: options.rows } : {}),
        },
        resumedData,
        enter,
      );
  const { profiles, summary, reference } = real;
  for (const w of parquetLossWarnings(profiles, options.out)) warn(w);
  const where = options.reference?.where;
  await createSyntheticModel(db, summary);
  // On resume the synthetic side's counts are rebuilt from the rows kept: once, before groups are added
  // (addGroups counts the groups' synthetic cells itself).
  if (resumeFrom > 0) await addBatchCounts(db, summary, "synthor_synth_model");
  const planner = options.planner(db, summary);
  state.planner = planner;
  const finalRows = options.rows ?? summary.rows;
  state.rowsAsked = finalRows;
  // Recorded before the planner's first call (the copula step), so a run that fails there says so too.
  if (!options.resume) {
    runId = await startRun(db, {
      source: summary.source,
      planner: planner.name,
      seed,
      rowsTarget: finalRows,
      config: "sourceData" in real ? { ...config, sourceData: real.sourceData } : config,
    });
    state.runId = runId;
  }
  state.plannerName = planner.name;
  state.outTable = outTable;
  enter("finding dependency groups");
  const candidates = summary.columns.length > 1 ? await planner.inferGroups(signal) : [];
  const targetColumns = reference ? targetGroups(reference, profiles) : [];
  await addGroups(db, summary, [...candidates, ...targetColumns]);
  const targetUnits = targetUnitsOf(summary, reference?.targets ?? [], targetColumns);
  if (planner.trackPairs) await addPairs(db, summary, planner.trackPairs());
  const tilts = options.reference?.tilts ?? [];
  const surplus = surplusShare({
    trim: options.trim,
    where: where !== undefined,
    targets: (reference?.targets.length ?? 0) > 0,
    tilts: tilts.length > 0,
  });
  const rowsTarget = finalRows + Math.ceil(finalRows * surplus);

  const level = flatLevel(db, summary, planner, { seed, withinRange: config.withinRange });
  const { state: loop, settings } = await startLoop(db, level, {
    runId,
    seed,
    rowsTarget,
    iterations,
    resumedAt: resumeFrom,
    emit: options.onProgress,
    measuring: () => enter("measuring"),
  });
  state.unusable = loop.unusable;
  const commit = () => {
    state.committed = {
      iteration: loop.iteration,
      rows: loop.rows,
      discrepancy: loop.measured.recorded,
      tokens: { ...loop.tokens },
    };
  };
  commit();
  const whereDropped = await grow(
    level,
    {
      ...settings,
      schedule: config.schedule,
      options,
      enter,
      committed: (p) => {
        commit();
        options.onProgress?.({ kind: "iteration", ...p });
      },
    },
    loop,
    where === undefined
      ? undefined
      : {
          finalRows,
          drop: async (upTo) => {
            const typed = outputSelect(profiles, seed, "synthor_synth_model", 0, { provenance: true });
            const dropped = await dropViolations(db, typed, where, upTo);
            if (dropped > 0) await rebuildCounts(db, summary);
            return dropped;
          },
          enter: () => enter("finishing"),
          committed: commit,
        },
  );
  const { stoppedBecause, iteration, tokens, unusable } = loop;
  let rows = loop.rows;
  let discrepancy = loop.measured.recorded;

  let seconds = (Date.now() - started) / 1000;
  let targets: TargetFit[] | undefined;
  let whereViolations = 0;
  const stoppedShort = await settle(db, runId, loop, {
    rowsAsked: finalRows,
    seconds,
    whereDropped,
    targetTvd: options.targetTvd,
    patience: options.patience,
  });
  if (stoppedBecause !== "interrupted") {
    enter("finishing");
    // The end of the run is one transaction: interrupted, it leaves the rows as the last iteration did
    // (a resumed run trims and writes them as this one would have) and the run unfinished. The file is
    // renamed into place after the commit, so it exists only if the run is recorded finished.
    let staged: StagedFile | undefined;
    await db.exec("begin transaction", "begin the end of the run");
    try {
      if (rows > finalRows) {
        const typed = outputSelect(profiles, seed, "synthor_synth_model", 0, { provenance: true });
        rows = await fitToReference(db, summary, { typed, tilts, targetUnits, finalRows, seed });
        discrepancy = await computeDiscrepancy(db, summary);
      }
      seconds = (Date.now() - started) / 1000;
      await writeOutputTable(db, profiles, summary, seed, rows, outTable);
      if (reference && reference.targets.length > 0) {
        targets = await measureTargets(db, runId, outTable, reference.targets);
      }
      if (where !== undefined) whereViolations = await countViolations(db, outTable, where);
      await finishRun(db, runId, {
        status: "finished",
        rows,
        iterations: iteration,
        seconds,
        reason: stoppedShort,
      });
      if (options.out) {
        staged = await stageOutputFile(db, outTable, options.out, {
          flag: "--out",
          overwrite: options.overwrite ?? false,
          ...(db.path !== ":memory:" ? { keptIn: `table ${outTable} of ${db.path}` } : {}),
        });
      }
      await db.exec("commit", "commit the end of the run");
    } catch (err) {
      staged?.discard();
      await db.exec("rollback", "roll back the end of the run");
      throw err;
    }
    staged?.publish();
  }
  const result: SynthResult = {
    runId,
    planner: planner.name,
    rows,
    iterations: iteration,
    seconds,
    stoppedBecause,
    rowsAsked: finalRows,
    unusableIterations: unusable.tally(),
    ...(stoppedShort ? { reason: stoppedShort } : {}),
    discrepancy,
    outTable,
    db: db.path,
    tokens,
    warnings,
  };
  if (options.out && stoppedBecause !== "interrupted") result.outFile = options.out;
  if (config.reference && reference) {
    result.reference = {
      where: where ?? null,
      realRows: reference.realRows,
      matchingRows: reference.matchingRows,
      referenceRows: reference.rows,
      added: reference.added,
      whereDropped,
      whereViolations,
      rowsAsked: finalRows,
    };
  }
  if (targets) result.targets = targets;
  options.onProgress?.({ kind: "done", result });
  return result;
}

/** The flat level of the loop: rows planned, validated, drawn and counted as they are (src/loop.ts). */
function flatLevel(
  db: Db,
  summary: Summary,
  planner: Planner,
  options: { seed: number; withinRange: "quantile" | "uniform" },
): Level<Proposal, ValidProposal> {
  return {
    summary,
    planner,
    accept: (raw, maxRows, notes) => acceptProposals(raw, summary, maxRows, notes),
    sample: (valid, iteration) => sampleProposals(db, summary, valid, { ...options, iteration }),
    measure: async () => {
      const measured = await measure(db, summary);
      return { ...measured, recorded: measured.discrepancy };
    },
    recordProposals: (runId, iteration, valid) => recordProposals(db, runId, iteration, valid),
    plannedTvd: (recorded) => recorded.meanTvd,
  };
}

async function writeOutputTable(
  db: Db,
  profiles: ColumnProfile[],
  summary: Summary,
  seed: number,
  rows: number,
  outTable: string,
): Promise<void> {
  const wholeSeconds = new Map(
    summary.columns.flatMap((c) => (c.wholeSeconds === undefined ? [] : [[c.name, c.wholeSeconds] as const])),
  );
  await db.exec(
    `create or replace table ${quoteIdent(outTable)} as ${outputSelect(profiles, seed, "synthor_synth_model", rows, { wholeSeconds })}`,
    "write output table",
  );
}
