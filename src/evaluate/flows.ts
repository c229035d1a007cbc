/**
 * Flows: the origin x destination table of the real and the synthetic trips (and of a second synthetic
 * table, e.g. the untilted run, to see what a tilt changed), optionally restricted to the rows a SQL
 * condition keeps (`--flows-filter "time_bin = '20-24'"`). Counts come from sql/eval_flow_counts.sql;
 * the shares are of the rows each side keeps after the filter.
 */
import type { Db } from "../db/connection.ts";
import { asWritten, quoteIdent } from "../db/quote.ts";
import { checkCondition, type SqlUse } from "../db/sql-guard.ts";
import { type Problem, SynthorError, throwIfProblems } from "../errors.ts";
import { cliName, didYouMean, missingColumn } from "../names.ts";

export interface FlowOptions {
  real: string;
  synth: string;
  /** Another synthetic table to compare the synthetic one with (e.g. the run before a tilt). */
  baseline?: string | undefined;
  /** How to name the baseline to people (its file name). */
  baselineLabel?: string | undefined;
  /** The origin and destination columns, e.g. ["origin", "dest"]. */
  columns: [string, string];
  /** A SQL condition on the tables' columns; only rows it keeps are counted (on every side). */
  filter?: string | undefined;
}

/** One origin-destination cell: counts and shares of the rows each side keeps. */
export interface FlowCell {
  from: string | null;
  to: string | null;
  real: { n: number; share: number };
  synth: { n: number; share: number };
  baseline: { n: number; share: number } | null;
}

export interface FlowResult {
  columns: [string, string];
  filter: string | null;
  baselineLabel: string | null;
  /** Rows each side keeps after the filter. */
  rows: { real: number; synth: number; baseline: number | null };
  /** Origins and destinations seen on any side, sorted, NULL last: the heatmaps' axes. */
  fromValues: (string | null)[];
  toValues: (string | null)[];
  /** Every cell seen on any side, in the order of the axes. */
  cells: FlowCell[];
  /** TVD between the sides' OD shares: synthetic vs real, and with a baseline, synthetic vs baseline. */
  tvd: { synthReal: number; synthBaseline: number | null; baselineReal: number | null };
}

type Side = "real" | "synth" | "baseline";

/**
 * Compares the OD tables of the real and synthetic trips (and a baseline).
 *
 * @example const f = await evaluateFlows(db, { real: "r", synth: "s", columns: ["origin", "dest"],
 *   filter: "time_bin = '20-24'" }); f.tvd.synthReal // 0.03
 */
export async function evaluateFlows(db: Db, options: FlowOptions): Promise<FlowResult> {
  const [from, to] = options.columns;
  if (from === to) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--flows names ${cliName(from)} twice`,
      "give the origin and the destination column, e.g. --flows origin,dest",
    );
  }
  const tables: Partial<Record<Side, string>> = { real: options.real, synth: options.synth };
  if (options.baseline !== undefined) tables.baseline = options.baseline;
  await checkColumns(db, tables, options.columns);
  const counts = new Map<Side, Map<string, { from: string | null; to: string | null; n: number }>>();
  const rows: Record<Side, number> = { real: 0, synth: 0, baseline: 0 };
  for (const [side, table] of Object.entries(tables) as [Side, string][]) {
    const view = `synthor_eval_flows_${side}`;
    await filteredView(db, view, table, side, options.filter);
    const cells = await db.query<{ flow_from: string | null; flow_to: string | null; n: number }>(
      "eval_flow_counts",
      { table: view, from, to },
    );
    const map = new Map<string, { from: string | null; to: string | null; n: number }>();
    for (const c of cells)
      map.set(JSON.stringify([c.flow_from, c.flow_to]), { from: c.flow_from, to: c.flow_to, n: c.n });
    counts.set(side, map);
    rows[side] = cells.reduce((s, c) => s + c.n, 0);
  }
  for (const side of ["real", "synth"] as const) {
    if (rows[side] === 0) {
      throw new SynthorError(
        "INPUT_INVALID",
        `--flows-filter keeps no row of the ${side === "real" ? "real" : "synthetic"} table`,
        "loosen the condition, or check its values against the table (synthor profile shows them)",
        { filter: options.filter },
      );
    }
  }
  const keys = new Map<string, { from: string | null; to: string | null }>();
  for (const map of counts.values()) for (const [k, c] of map) keys.set(k, { from: c.from, to: c.to });
  const order = (a: string | null, b: string | null) =>
    a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;
  const fromValues = [...new Set([...keys.values()].map((k) => k.from))].sort(order);
  const toValues = [...new Set([...keys.values()].map((k) => k.to))].sort(order);
  const side = (s: Side, key: string) => {
    const n = counts.get(s)?.get(key)?.n ?? 0;
    return { n, share: rows[s] > 0 ? n / rows[s] : 0 };
  };
  const hasBaseline = tables.baseline !== undefined;
  const cells: FlowCell[] = [...keys.entries()]
    .sort(([, a], [, b]) => order(a.from, b.from) || order(a.to, b.to))
    .map(([key, k]) => ({
      from: k.from,
      to: k.to,
      real: side("real", key),
      synth: side("synth", key),
      baseline: hasBaseline ? side("baseline", key) : null,
    }));
  const tvd = (a: (c: FlowCell) => number, b: (c: FlowCell) => number) =>
    cells.reduce((s, c) => s + Math.abs(a(c) - b(c)), 0) / 2;
  const baseShare = (c: FlowCell) => c.baseline?.share ?? 0;
  return {
    columns: options.columns,
    filter: options.filter ?? null,
    baselineLabel: hasBaseline ? (options.baselineLabel ?? options.baseline ?? null) : null,
    rows: { real: rows.real, synth: rows.synth, baseline: hasBaseline ? rows.baseline : null },
    fromValues,
    toValues,
    cells,
    tvd: {
      synthReal: tvd(
        (c) => c.synth.share,
        (c) => c.real.share,
      ),
      synthBaseline: hasBaseline ? tvd((c) => c.synth.share, baseShare) : null,
      baselineReal: hasBaseline ? tvd(baseShare, (c) => c.real.share) : null,
    },
  };
}

const sideWords: Record<Side, string> = {
  real: "the real table",
  synth: "the synthetic table",
  baseline: "the --flows-baseline table",
};

/** Both flow columns must be on every side; all missing ones are reported together. */
async function checkColumns(db: Db, tables: Partial<Record<Side, string>>, columns: string[]): Promise<void> {
  const problems: Problem[] = [];
  for (const [side, table] of Object.entries(tables) as [Side, string][]) {
    const described = await db.all<{ column_name: string }>(
      `select column_name from (describe ${quoteIdent(table)})`,
      {},
      `describe ${side}`,
    );
    const names = new Set(described.map((d) => d.column_name));
    for (const c of columns) {
      if (!names.has(c)) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `${sideWords[side]} has no column "${c}" for --flows`,
          hint: `${didYouMean(c, [...names])}--flows takes the origin and destination columns, e.g. --flows origin,dest; the table has ${[...names].map(cliName).join(", ")}`,
          subject: c,
        });
      }
    }
  }
  throwIfProblems(problems);
}

const filterHint =
  "give a SQL condition on the tables' columns, e.g. --flows-filter \"time_bin = '20-24'\" (text in single quotes)";

/**
 * Checks --flows-filter with DuckDB's parser (src/db/sql-guard.ts): one condition that only reads.
 * Returns it ready to put in a where clause.
 */
export async function checkFlowsFilter(db: Db, filter: string): Promise<string> {
  const use: SqlUse = {
    option: "--flows-filter",
    invalid: "--flows-filter is not a valid condition",
    code: "CONFIG_INVALID",
    hint: filterHint,
  };
  return checkCondition(db, filter, use);
}

/**
 * The rows of `table` the filter keeps, as a view. The filter is the user's SQL condition, checked
 * (checkFlowsFilter); a condition DuckDB rejects on a table is reported with its reason and the side
 * it failed on.
 */
async function filteredView(
  db: Db,
  view: string,
  table: string,
  side: Side,
  filter: string | undefined,
): Promise<void> {
  const where = filter === undefined ? "" : ` where ${await checkFlowsFilter(db, filter)}`;
  try {
    await db.connection.run(
      `create or replace temp view ${quoteIdent(view)} as select * from ${quoteIdent(table)}${where}`,
    );
    await db.connection.run(`select count(*) from ${quoteIdent(view)}`);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
    const missing = missingColumn(reason);
    const columns = (
      await db.all<{ column_name: string }>(`describe ${quoteIdent(table)}`, {}, `describe ${side}`)
    ).map((c) => c.column_name);
    throw new SynthorError(
      "CONFIG_INVALID",
      `--flows-filter ${JSON.stringify(filter)} does not work on ${sideWords[side]}: ${reason}`,
      `${missing === undefined ? "" : didYouMean(missing, columns, asWritten)}${filterHint}`,
      { filter },
    );
  }
}
