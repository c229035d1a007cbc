import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Db } from "../db/connection.ts";
import { installRunMacros } from "../db/macros.ts";
import { checkQuery } from "../db/sql-guard.ts";
import { SynthorError } from "../errors.ts";
import { inferGroups } from "../groups.ts";
import { createHistoryTables, finishRun, openRun, startRun } from "../history.ts";
import { Interrupted, throwIfAborted } from "../interrupt.ts";
import { grow } from "../loop.ts";
import { settle, startLoop } from "../loop-ends.ts";
import { checkOutputFile } from "../output.ts";
import { sourceTableNames } from "../pipeline.ts";
import { checkReferenceSql, type ReferenceOptions, referenceConfig, targetGroups } from "../reference.ts";
import {
  countViolations,
  dropViolations,
  fitToReference,
  measureTargets,
  surplusShare,
  type TargetFit,
  targetUnitsOf,
} from "../reference-fit.ts";
import { checkResume, checkSeed, withRunDatabase } from "../run-database.ts";
import { type LoopEvent, type LoopOptions, type LoopResult, loopConfig } from "../run-options.ts";
import { recordedSpec, type SourceData, SQL_SOURCE, sourceDataOf } from "../source.ts";
import { addGroups, addPairs } from "../summarize.ts";
import { type NestedFidelity, nestedFidelity } from "./fidelity.ts";
import { householdLevel, trackedPairs } from "./level.ts";
import { typedHouseholds, writeNestedOutputs } from "./output.ts";
import type { NestedPlanner } from "./planners/types.ts";
import { proposalScope } from "./proposals.ts";
import {
  createNestedSynthetic,
  dropOrphanMembers,
  rebuildNestedCounts,
  recountNested,
  SYNTH_MEMBERS,
} from "./sample.ts";
import { keepWhere, type LinkCheck, type NestedSpec, readNested, weightHouseholds } from "./source.ts";
import { type NestedSummary, summarizeNested } from "./summarize.ts";

/** A nested run's options: the loop's (`rows` counts households; the schedule's batches too), and these. */
export interface NestedSynthOptions extends LoopOptions {
  source: NestedSpec;
  planner: (db: Db, summary: NestedSummary) => NestedPlanner;
  /**
   * Conditions, targets and tilts over the household columns, as a flat run's (SynthOptions.reference):
   * the households that satisfy `where`, with their members, are the real data (every synthetic
   * household satisfies it), weighted to the targets and tilts by whole copies of each household.
   */
  reference?: ReferenceOptions;
  /** Table of the synthetic households (or of the nested table), default `synthetic`. */
  outTable?: string;
  /** Table of the synthetic members (linked sources), default `<outTable>_members`. */
  childOutTable?: string;
  /** The members' file (linked sources). */
  childOut?: string;
  onProgress?: (event: NestedProgressEvent) => void;
  /**
   * As LoopOptions.signal; it throws {@link Interrupted}, whose hint says whether --resume can continue
   * it (a run with a --db that got to its loop).
   */
  signal?: AbortSignal;
}

export type NestedProgressEvent =
  /** A phase begins: "reading the source", "summarizing", ..., "planning iteration 3", "finishing". */
  | { kind: "phase"; phase: string }
  /** As the flat loop's; rows are households. */
  | LoopEvent
  /** Something the user should know, such as macros of the database left as they were. */
  | { kind: "warning"; message: string };

/** A nested run's result: the loop's (`rowsAsked` counts households), and both levels' tables. */
export interface NestedSynthResult extends LoopResult {
  households: number;
  members: number;
  fidelity: NestedFidelity;
  integrity: LinkCheck & { linkedShare: number };
  childOutTable?: string;
  childOutFile?: string;
  /** How close each target table ended, per named cell (--targets). */
  targets?: TargetFit[];
  /** With --where: the real households it kept, and its guarantee on the synthetic ones. */
  where?: {
    where: string;
    realHouseholds: number;
    matchingHouseholds: number;
    /** Synthetic households dropped because they failed --where (the loop grew more to replace them). */
    whereDropped: number;
    /** Output households that fail --where: 0 (the guarantee). */
    whereViolations: number;
  };
}

/**
 * The synthesis loop for nested data (households and their members): the flat loop's steps, with a
 * household-level table (household columns, member count, member counts per category) as the flat
 * table and members drawn with each household. Each iteration is one transaction; history goes to the
 * same synthor_runs / synthor_iterations / synthor_proposals tables (a proposal's JSON holds
 * `household` and `members`).
 */
export async function synthesizeNested(options: NestedSynthOptions): Promise<NestedSynthResult> {
  const started = Date.now();
  if (options.out) checkOutputFile(options.out, options.overwrite ?? false);
  if (options.childOut) {
    if (options.source.kind === "nested") {
      throw new SynthorError(
        "CONFIG_INVALID",
        "--child-out is for two linked tables; a nested source gives one nested table",
        "write it with --out (a .parquet or .json file keeps the member lists)",
      );
    }
    checkOutputFile(options.childOut, options.overwrite ?? false, "--child-out");
    // One file for both tables would hold only the members: the households' file replaced by this run.
    if (options.out && resolve(options.out) === resolve(options.childOut)) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `--out and --child-out are both ${options.out}`,
        "give the members a file of their own, e.g. --child-out members.csv",
      );
    }
  }
  checkSeed(options.seed);
  const dbPath = options.db ?? ":memory:";
  checkResume(options.resume ?? false, dbPath);
  if (dbPath !== ":memory:" && options.source.kind === "nested" && !existsSync(dbPath)) {
    throw new SynthorError("SOURCE_NOT_FOUND", `there is no database ${dbPath}`, "check the --db path");
  }
  // A --sql source and the SQL of --where, --tilt and --targets-sql are checked before the database is
  // opened (src/db/sql-guard.ts): a refused one leaves no new file and every table as it was.
  const queries = (
    options.source.kind === "nested"
      ? [options.source.source]
      : [options.source.households, options.source.members]
  ).flatMap((s) => (s.kind === "sql" ? [s.sql] : []));
  const reference = options.reference ?? {};
  const referenced =
    reference.where !== undefined ||
    (reference.targets ?? []).length > 0 ||
    (reference.tilts ?? []).length > 0;
  if (queries.length > 0 || referenced) {
    const check = await Db.open(":memory:");
    try {
      for (const sql of queries) await checkQuery(check, sql, SQL_SOURCE);
      await checkReferenceSql(check, reference);
    } finally {
      check.close();
    }
  }
  // As the flat loop: no real rows left in the file on any way out, the user's own source tables aside.
  const keep = (
    options.source.kind === "nested"
      ? [options.source.source]
      : [options.source.households, options.source.members]
  ).flatMap((s) => (s.kind === "table" ? sourceTableNames(s.table) : []));
  const state: { phase: string; runId?: number; households: number; iteration: number } = {
    phase: "reading the source",
    households: 0,
    iteration: 0,
  };
  return withRunDatabase(
    options,
    { keep, started, state },
    (db) => run(db, options, started, state),
    async (db) => {
      await db.exec("rollback", "roll back after an interruption").catch(() => undefined);
      if (state.runId !== undefined) {
        await finishRun(db, state.runId, {
          status: "interrupted",
          rows: state.households,
          iterations: state.iteration,
          seconds: (Date.now() - started) / 1000,
        });
      }
      // As in the flat loop: the next open replays the write-ahead log rather than this close folding it in.
      await db.exec("pragma disable_checkpoint_on_shutdown", "skip the checkpoint");
      throw new Interrupted(
        state.phase,
        state.runId !== undefined && db.path !== ":memory:"
          ? "nothing was written; continue with the same command and --resume"
          : "nothing was written; run the same command again",
      );
    },
  );
}

async function run(
  db: Db,
  options: NestedSynthOptions,
  started: number,
  state: { phase: string; runId?: number; households: number; iteration: number },
): Promise<NestedSynthResult> {
  const signal = options.signal;
  const enter = (phase: string) => {
    state.phase = phase;
    options.onProgress?.({ kind: "phase", phase });
    throwIfAborted(signal, phase);
  };
  const seed = options.seed ?? 0;
  const iterations = options.iterations ?? 100;
  const outTable = options.outTable ?? "synthetic";
  const childOutTable =
    options.source.kind === "linked" ? (options.childOutTable ?? `${outTable}_members`) : undefined;
  if (childOutTable === outTable) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--out-table and --child-out-table are both "${outTable}"`,
      "give them different names",
    );
  }
  // The run database carries the macros, as the flat loop's does.
  const macros = await installRunMacros(db);
  if (macros) options.onProgress?.({ kind: "warning", message: macros });
  const sources =
    options.source.kind === "nested"
      ? [options.source.source]
      : [options.source.households, options.source.members];
  for (const src of sources) {
    if (src.kind === "table" && (src.table === outTable || src.table === childOutTable)) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `the output table "${src.table}" is the real table`,
        "pick another name with --out-table (or --child-out-table)",
      );
    }
  }
  await createHistoryTables(db);
  // File paths as absolute paths, so `--resume` from another directory finds the same run.
  const config = {
    source:
      options.source.kind === "nested"
        ? { ...options.source, source: recordedSpec(options.source.source) }
        : {
            ...options.source,
            households: recordedSpec(options.source.households),
            members: recordedSpec(options.source.members),
          },
    ...loopConfig(options),
    reference: referenceConfig(options.reference ?? {}),
    nested: true,
  };
  const resumed = await openRun(db, config, {
    resume: options.resume ?? false,
    synthTables: ["synthor_synth_model", SYNTH_MEMBERS],
  });
  if (resumed) state.runId = resumed.runId;
  enter("reading the source");
  const source = await readNested(db, options.source);
  // Both levels' rows as the run read them: --resume reads them again and refuses them if they changed.
  const recorded = resumed?.sourceData as { households: SourceData; members: SourceData } | undefined;
  const sourceData = {
    households: await sourceDataOf(db, source.households, recorded?.households),
    members: await sourceDataOf(db, source.members, recorded?.members),
  };
  const realHouseholds = source.households.rows;
  const where = options.reference?.where;
  const tilts = options.reference?.tilts ?? [];
  // With --where the households that satisfy it, and their members, are the real data; with targets and
  // tilts, weighted by copies.
  if (where !== undefined) await keepWhere(db, source, where);
  const matchingHouseholds = source.households.rows;
  const weighted =
    (options.reference?.targets ?? []).length > 0 || tilts.length > 0
      ? await weightHouseholds(db, source, {
          targets: options.reference?.targets ?? [],
          tilts,
          seed,
          rows: options.rows,
        })
      : undefined;
  enter("summarizing");
  const summary = await summarizeNested(db, source, {
    ...(options.profile ? { profile: options.profile } : {}),
    bins: config.bins,
    subBins: config.subBins,
    minCell: config.minCell,
  });
  await createNestedSynthetic(db, summary);
  // On resume both levels' synthetic counts are rebuilt from the households and members kept, before
  // groups are added (addGroups counts the groups' synthetic cells itself).
  if (resumed) await recountNested(db, summary);
  const planner = options.planner(db, summary);
  enter("finding dependency groups");
  const candidates = summary.households.columns.length > 1 ? await planner.inferGroups(signal) : [];
  // The household columns' own dependencies as groups too: among the compositions, which depend on each
  // other strongly, they would not make the planner's short list (region x dwelling fell to TVD 0.14).
  const own =
    summary.householdColumns.length > 1
      ? (await inferGroups(db, summary.householdColumns, { seed })).candidates.map((c) => c.columns)
      : [];
  const targetColumns = weighted ? targetGroups(weighted, summary.householdProfiles) : [];
  await addGroups(db, summary.households, [...candidates, ...own, ...targetColumns]);
  const targetUnits = targetUnitsOf(summary.households, weighted?.targets ?? [], targetColumns);
  if (planner.trackPairs) await addPairs(db, summary.households, trackedPairs(summary, planner.trackPairs()));
  const [sizes] = await db.all<{ lo: number; hi: number }>(
    "select min(size) as lo, max(size) as hi from synthor_household_sizes('synthor_nested_households', 'synthor_nested_members', '__synthor_key')",
  );
  const scope = proposalScope(summary, { min: sizes?.lo ?? 1, max: sizes?.hi ?? 1 });
  const target = options.rows ?? source.households.rows;
  const surplus = surplusShare({
    trim: options.trim,
    where: where !== undefined,
    targets: (weighted?.targets.length ?? 0) > 0,
    tilts: tilts.length > 0,
  });
  const rowsTarget = target + Math.ceil(target * surplus);
  const runId =
    resumed?.runId ??
    (await startRun(db, {
      source: source.label,
      planner: planner.name,
      seed,
      rowsTarget: target,
      config: { ...config, sourceData },
    }));
  state.runId = runId;
  const resumedAt = resumed?.iteration ?? 0;
  const level = householdLevel(db, summary, planner, scope, { seed, withinRange: config.withinRange });
  const { state: loop, settings } = await startLoop(db, level, {
    runId,
    seed,
    rowsTarget,
    iterations,
    resumedAt,
    emit: options.onProgress,
  });
  state.households = loop.rows;
  state.iteration = loop.iteration;
  let whereDropped = 0;
  try {
    whereDropped = await grow(
      level,
      {
        ...settings,
        schedule: config.schedule,
        options,
        enter: (phase, iteration) => enter(`${phase} iteration ${iteration}`),
        committed: (p) => {
          state.households = p.rows;
          state.iteration = p.iteration;
          options.onProgress?.({ kind: "iteration", ...p });
        },
      },
      loop,
      where === undefined
        ? undefined
        : {
            finalRows: target,
            drop: async (upTo) => {
              const typed = typedHouseholds(summary, seed, 0, [], { provenance: true });
              const dropped = await dropViolations(db, typed, where, upTo);
              if (dropped > 0) {
                await dropOrphanMembers(db);
                await rebuildNestedCounts(db, summary);
              }
              return dropped;
            },
            enter: () => enter("finishing"),
            committed: () => {
              state.households = loop.rows;
            },
          },
    );
  } finally {
    planner.close?.();
  }
  const { stoppedBecause, iteration, tokens, unusable } = loop;
  let households = loop.rows;
  const seconds = () => (Date.now() - started) / 1000;
  const stoppedShort = await settle(db, runId, loop, {
    rowsAsked: target,
    seconds: seconds(),
    what: "households",
    whereDropped,
    targetTvd: options.targetTvd,
    patience: options.patience,
  });
  enter("finishing");
  // One transaction, the files renamed into place after it: an interruption leaves neither the tables
  // nor the files half replaced (households without their members).
  await db.exec("begin transaction", "nested: begin the end of the run");
  let written: Awaited<ReturnType<typeof writeNestedOutputs>> | undefined;
  let fidelity: NestedFidelity;
  let whereViolations = 0;
  let targets: TargetFit[] | undefined;
  try {
    if (stoppedBecause !== "interrupted" && households > target) {
      // Tilted households and target cells cut to their shares, the rest of the surplus (--trim, --where)
      // from the most over-represented cells; members go with their household.
      households = await fitToReference(db, summary.households, {
        typed: typedHouseholds(summary, seed, 0, [], { provenance: true }),
        tilts,
        targetUnits,
        finalRows: target,
        seed,
      });
      await dropOrphanMembers(db);
      await rebuildNestedCounts(db, summary);
    }
    written = await writeNestedOutputs(db, summary, {
      seed,
      outTable,
      ...(childOutTable ? { childOutTable } : {}),
      ...(options.out ? { out: options.out } : {}),
      ...(options.childOut ? { childOut: options.childOut } : {}),
      overwrite: options.overwrite ?? false,
      write: stoppedBecause !== "interrupted",
    });
    fidelity = await nestedFidelity(db, summary, runId);
    if (weighted && weighted.targets.length > 0 && stoppedBecause !== "interrupted") {
      targets = await measureTargets(db, runId, outTable, weighted.targets);
    }
    if (where !== undefined && stoppedBecause !== "interrupted") {
      whereViolations = await countViolations(db, outTable, where);
    }
    if (stoppedBecause !== "interrupted") {
      await finishRun(db, runId, {
        status: "finished",
        rows: households,
        iterations: iteration,
        seconds: seconds(),
        reason: stoppedShort,
      });
    }
    await db.exec("commit", "nested: commit the end of the run");
  } catch (err) {
    for (const f of written?.files ?? []) f.discard();
    await db.exec("rollback", "nested: roll back the end of the run");
    throw err;
  }
  for (const f of written.files) f.publish();
  const result: NestedSynthResult = {
    runId,
    planner: planner.name,
    households,
    members: written.integrity.members,
    iterations: iteration,
    seconds: seconds(),
    stoppedBecause,
    rowsAsked: target,
    unusableIterations: unusable.tally(),
    ...(stoppedShort ? { reason: stoppedShort } : {}),
    fidelity,
    integrity: written.integrity,
    outTable,
    ...(childOutTable ? { childOutTable } : {}),
    ...(options.out && stoppedBecause !== "interrupted" ? { outFile: options.out } : {}),
    ...(options.childOut && stoppedBecause !== "interrupted" ? { childOutFile: options.childOut } : {}),
    db: db.path,
    tokens,
    ...(targets ? { targets } : {}),
    ...(where !== undefined
      ? {
          where: {
            where,
            realHouseholds,
            matchingHouseholds,
            whereDropped,
            whereViolations,
          },
        }
      : {}),
  };
  return result;
}
