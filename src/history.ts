import type { Db } from "./db/connection.ts";
import type { Discrepancy } from "./discrepancy.ts";
import { SynthorError } from "./errors.ts";
import type { TokenUse } from "./planners/types.ts";

/**
 * The run's history, kept as tables in the output database so analysts can query it:
 * - synthor_runs: one row per run (config, seed, planner, status, timings); `reason` says why a run
 *   failed, or why it stopped short of --rows when the user asked for that (--target-tvd, --patience);
 * - synthor_iterations: one row per iteration (rows added, TVD per unit as JSON, mean TVD, tokens, seconds);
 * - synthor_proposals: every proposal (iteration, reason, num, the proposal as JSON);
 * - synthor_targets: per --targets table and named cell, the target and synthetic shares at the end
 *   (cell NULL: the cells the target does not name, together), and the table's TVD.
 * `select iteration, rows_total, mean_tvd from synthor_iterations` is the convergence curve.
 */
export async function createHistoryTables(db: Db): Promise<void> {
  await db.exec(
    `create table if not exists synthor_runs (
        run_id integer, started_at timestamp, finished_at timestamp, status varchar, source varchar,
        planner varchar, seed bigint, rows_target bigint, rows_written bigint, iterations integer,
        seconds double, config json, reason varchar);
     -- Databases made before runs had a reason gain the column.
     alter table synthor_runs add column if not exists reason varchar;
     create table if not exists synthor_iterations (
        run_id integer, iteration integer, rows_added bigint, rows_total bigint, mean_tvd double,
        marginal_tvd double, group_tvd double, max_tvd double, groups json, tvd json, seconds double,
        plan_seconds double, sample_seconds double, prompt_tokens bigint, completion_tokens bigint,
        llm_calls integer, notes json);
     create table if not exists synthor_proposals (
        run_id integer, iteration integer, proposal_no integer, num bigint, reason varchar, proposal json);
     create table if not exists synthor_targets (
        run_id integer, target varchar, columns json, cell varchar[], target_share double,
        synth_share double, target_tvd double);`,
    "create history tables",
  );
}

export async function startRun(
  db: Db,
  run: { source: string; planner: string; seed: number; rowsTarget: number; config: unknown },
): Promise<number> {
  const [row] = await db.all<{ id: number }>("select coalesce(max(run_id), 0) + 1 as id from synthor_runs");
  const id = row?.id ?? 1;
  await db.exec(
    `insert into synthor_runs (run_id, started_at, finished_at, status, source, planner, seed, rows_target,
       rows_written, iterations, seconds, config)
     values ($id, now()::timestamp, null, 'running', $source, $planner, $seed, $rows, 0, 0, 0, $config)`,
    "record run",
    {
      id,
      source: run.source,
      planner: run.planner,
      seed: run.seed,
      rows: run.rowsTarget,
      config: JSON.stringify(run.config),
    },
  );
  return id;
}

/**
 * The run --resume continues: the latest run, if it did not finish. An older unfinished run was
 * abandoned when a later one started (and its synthetic rows replaced), so it cannot be resumed.
 */
export async function unfinishedRun(
  db: Db,
): Promise<{ runId: number; config: string; iteration: number; rows: number } | undefined> {
  const [row] = await db.all<{
    run_id: number;
    config: string;
    iteration: number | null;
    rows: number | null;
  }>(
    `select r.run_id, r.config::varchar as config,
            (select max(iteration) from synthor_iterations i where i.run_id = r.run_id) as iteration,
            (select max(rows_total) from synthor_iterations i where i.run_id = r.run_id) as rows
     from synthor_runs r
     where r.run_id = (select max(run_id) from synthor_runs) and r.status not in ('finished', 'abandoned')`,
  );
  if (!row) return undefined;
  return { runId: row.run_id, config: row.config, iteration: row.iteration ?? 0, rows: row.rows ?? 0 };
}

/** The run --resume continues: its id, its last committed iteration, and what it recorded of its source. */
export interface ResumedRun {
  runId: number;
  iteration: number;
  /** The source's row count and checksum as the run recorded them (`config.sourceData`; older runs: none). */
  sourceData: unknown;
}

/**
 * Where a run starts, flat or nested. With `resume`: the latest run, if it did not finish and was started
 * with the same options (`config`, less its `sourceData`), marked running again; otherwise an error that
 * says what differs. Without: an unfinished run is marked abandoned and the synthetic tables it grew are
 * dropped (the previous output table stays until this run writes its own: an interrupted re-run loses
 * nothing).
 */
export async function openRun(
  db: Db,
  config: Record<string, unknown>,
  options: { resume: boolean; synthTables: string[] },
): Promise<ResumedRun | undefined> {
  if (!options.resume) {
    await db.exec(
      `${options.synthTables.map((t) => `drop table if exists ${t};`).join("\n")}
       update synthor_runs set status = 'abandoned' where status in ('running', 'interrupted')`,
      "reset run state",
    );
    return undefined;
  }
  const unfinished = await unfinishedRun(db);
  if (!unfinished) {
    throw new SynthorError(
      "RUN_STATE",
      "there is no unfinished run to resume in this database",
      "start a new run without --resume",
    );
  }
  const { sourceData, ...recorded } = JSON.parse(unfinished.config) as Record<string, unknown>;
  // A run recorded before --schedule split its rows evenly.
  if (!("schedule" in recorded)) recorded.schedule = "even";
  const differ = configDifferences(recorded, config);
  if (differ.length > 0) {
    throw new SynthorError(
      "RUN_STATE",
      `the options differ from those of the interrupted run: ${differ.join("; ")}`,
      "resume with the same source and options, or start over without --resume",
    );
  }
  // Running again (an interrupted or failed run): a new failure or end replaces the old status.
  await db.exec(
    "update synthor_runs set status = 'running', reason = null where run_id = $run",
    "resume run",
    {
      run: unfinished.runId,
    },
  );
  return { runId: unfinished.runId, iteration: unfinished.iteration, sourceData };
}

/** The options that differ between a stored run config and this one, as "name: was X, now Y". */
function configDifferences(stored: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(now)])];
  return keys
    .filter((k) => JSON.stringify(stored[k] ?? null) !== JSON.stringify(now[k] ?? null))
    .map((k) => `${k}: was ${JSON.stringify(stored[k] ?? null)}, now ${JSON.stringify(now[k] ?? null)}`);
}

export interface IterationRecord {
  runId: number;
  iteration: number;
  rowsAdded: number;
  rowsTotal: number;
  discrepancy: Discrepancy;
  groups: string[][];
  seconds: number;
  planSeconds: number;
  sampleSeconds: number;
  tokens: TokenUse;
  notes: string[];
}

export async function recordIteration(db: Db, r: IterationRecord): Promise<void> {
  const d = r.discrepancy;
  const all = [...d.marginals, ...d.groups];
  const mean = (xs: { tvd: number }[]) => (xs.length ? xs.reduce((s, x) => s + x.tvd, 0) / xs.length : 0);
  await db.exec(
    `insert into synthor_iterations values ($run, $it, $added, $total, $mean, $marginal, $group, $max, $groups,
       $tvd, $seconds, $plan, $sample, $pt, $ct, $calls, $notes)`,
    "record iteration",
    {
      run: r.runId,
      it: r.iteration,
      added: r.rowsAdded,
      total: r.rowsTotal,
      mean: d.meanTvd,
      marginal: mean(d.marginals),
      group: mean(d.groups),
      max: Math.max(0, ...all.map((x) => x.tvd)),
      groups: JSON.stringify(r.groups),
      tvd: JSON.stringify(Object.fromEntries(all.map((x) => [x.unit, x.tvd]))),
      seconds: r.seconds,
      plan: r.planSeconds,
      sample: r.sampleSeconds,
      pt: r.tokens.prompt,
      ct: r.tokens.completion,
      calls: r.tokens.calls,
      notes: JSON.stringify(r.notes),
    },
  );
}

/**
 * Records an iteration's accepted proposals in synthor_proposals, numbered from 0 in the order given;
 * `values` is the proposal as JSON (a flat proposal's values, a nested one's household and members).
 */
export async function recordProposals(
  db: Db,
  runId: number,
  iteration: number,
  proposals: { num: number; reason: string; values: unknown }[],
): Promise<void> {
  for (let start = 0; start < proposals.length; start += 1000) {
    const chunk = proposals.slice(start, start + 1000);
    const json = JSON.stringify(
      chunk.map((p, i) => ({ proposal: start + i, num: p.num, reason: p.reason, values: p.values })),
    );
    await db.exec(
      `insert into synthor_proposals
       select $run, $it, p.proposal, p.num, p.reason, p."values"
       from (select unnest(from_json($json, '[{"proposal":"INTEGER","num":"BIGINT","reason":"VARCHAR","values":"JSON"}]'), recursive := true)) as p`,
      "record proposals",
      { run: runId, it: iteration, json },
    );
  }
}

export async function finishRun(
  db: Db,
  runId: number,
  r: {
    status: "finished" | "interrupted" | "failed";
    rows: number;
    iterations: number;
    seconds: number;
    reason?: string | undefined;
  },
): Promise<void> {
  await db.exec(
    `update synthor_runs set finished_at = now()::timestamp, status = $status, rows_written = $rows,
       iterations = $its, seconds = seconds + $seconds, reason = $reason where run_id = $run`,
    "finish run",
    {
      run: runId,
      status: r.status,
      rows: r.rows,
      its: r.iterations,
      seconds: r.seconds,
      reason: r.reason ?? null,
    },
  );
}

/**
 * Marks a run that an error stopped as failed, with the error's message as the reason; rows and
 * iterations are those the history holds. Best effort: the error being reported matters more than this.
 */
export async function recordFailure(db: Db, runId: number, err: unknown, seconds: number): Promise<void> {
  const reason = err instanceof Error ? err.message : String(err);
  try {
    await db.exec(
      `update synthor_runs set finished_at = now()::timestamp, status = 'failed', reason = $reason,
         seconds = seconds + $seconds,
         iterations = coalesce((select max(iteration) from synthor_iterations where run_id = $run), 0),
         rows_written = 0
       where run_id = $run and status = 'running'`,
      "record failed run",
      { run: runId, reason, seconds },
    );
  } catch {
    // The database itself may be what failed; the original error is what the user must see.
  }
}
