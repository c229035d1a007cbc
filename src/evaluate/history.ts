/**
 * The convergence curve of the run that made the synthetic table, read from the history tables
 * `synthor synth --db` keeps (src/history.ts): mean TVD per iteration.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";

export interface ConvergencePoint {
  iteration: number;
  rows: number;
  meanTvd: number;
  marginalTvd: number | null;
  groupTvd: number | null;
  maxTvd: number | null;
}

export interface Convergence {
  runId: number;
  status: string;
  planner: string;
  points: ConvergencePoint[];
}

/**
 * The latest run's iterations in the database attached as `catalog`, or null when it has no run history
 * (a table that did not come from `synthor synth --db`).
 *
 * @example await readConvergence(db, "run") // { runId: 1, points: [{ iteration: 1, meanTvd: 0.4, ... }] }
 */
export async function readConvergence(db: Db, catalog: string): Promise<Convergence | null> {
  const [found] = await db.all<{ n: number }>(
    `select count(*) as n from duckdb_tables()
     where database_name = $catalog and table_name in ('synthor_runs', 'synthor_iterations')`,
    { catalog },
  );
  if ((found?.n ?? 0) < 2) return null;
  const c = quoteIdent(catalog);
  const [run] = await db.all<{ run_id: number; status: string; planner: string }>(
    `select run_id, status, planner from ${c}.synthor_runs order by run_id desc limit 1`,
  );
  if (!run) return null;
  const points = await db.all<{
    iteration: number;
    rows_total: number;
    mean_tvd: number;
    marginal_tvd: number | null;
    group_tvd: number | null;
    max_tvd: number | null;
  }>(
    `select iteration, rows_total, mean_tvd, marginal_tvd, group_tvd, max_tvd
     from ${c}.synthor_iterations where run_id = $run order by iteration`,
    { run: run.run_id },
  );
  return {
    runId: run.run_id,
    status: run.status,
    planner: run.planner,
    points: points.map((p) => ({
      iteration: p.iteration,
      rows: p.rows_total,
      meanTvd: p.mean_tvd,
      marginalTvd: p.marginal_tvd,
      groupTvd: p.group_tvd,
      maxTvd: p.max_tvd,
    })),
  };
}
