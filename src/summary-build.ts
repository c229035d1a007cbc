import { countUnits } from "./counts.ts";
import type { Db } from "./db/connection.ts";
import { codesSelect } from "./encode.ts";
import { throwIfProblems } from "./errors.ts";
import { groupsFromPairs, measurePairs, type PairAssociation } from "./groups.ts";
import type { ColumnProfile } from "./profile.ts";
import type { SourceInfo } from "./source.ts";
import { type ModelColumn, summarizeTable, type Unit, unitsFor } from "./summarize.ts";

import {
  DEFAULT_MIN_CELL,
  DEFAULT_PARTNERS,
  SUMMARY_FORMAT,
  SUMMARY_VERSION,
  type SummaryFile,
  type SummaryTable,
} from "./summary-file.ts";

export interface BuildSummaryOptions {
  bins?: number;
  subBins?: number;
  /** Cells with fewer real rows are left out (0 or 1: none). Default 5. */
  minCell?: number;
  /** Groups to keep tables of beside the inferred ones (up to 4 columns each). */
  groups?: string[][];
  /** See DEFAULT_PARTNERS. */
  partners?: number;
}

/**
 * Summarizes the real table into a summary file: column profiles, quantile grids and bin edges, pairwise
 * associations, and the count tables the loop and the statistical planner read (every column, every pair,
 * the inferred groups, each column with pairs of its strongest partners; numeric columns also at sub-bin
 * level), every cell under `minCell` real rows left out and counted in `suppressed`.
 *
 * @example const file = await buildSummaryFile(db, info, profiles, { minCell: 5 });
 */
export async function buildSummaryFile(
  db: Db,
  source: SourceInfo,
  profiles: ColumnProfile[],
  options: BuildSummaryOptions = {},
): Promise<SummaryFile> {
  const minCell = options.minCell ?? DEFAULT_MIN_CELL;
  const summary = await summarizeTable(db, source, profiles, {
    bins: options.bins ?? 6,
    subBins: options.subBins ?? 8,
    minCell,
    materialize: true,
    // Counted in synthor_real_counts too, for `summarize --db`.
    groups: options.groups ?? [],
  });
  const columns = summary.columns;
  // The seed synth uses by default: a table of at most 200,000 rows is measured whole whatever it is.
  const associations = columns.length > 1 ? await measurePairs(db, columns, { seed: 0 }) : [];
  const { candidates } = groupsFromPairs(associations, columns);
  const groups = (
    await unitsFor(db, [...(options.groups ?? []), ...candidates.map((c) => c.columns)], columns)
  ).map((u) => u.columns);
  const specs = tableSpecs(columns, associations, groups, options.partners ?? DEFAULT_PARTNERS);

  const tables: SummaryTable[] = [];
  const fineColumns = [null, ...columns.filter((c) => c.kind !== "categorical").map((c) => c.name)];
  for (const fine of fineColumns) {
    const wanted = specs.filter((s) => s.fine === fine);
    if (wanted.length === 0) continue;
    let codes = "synthor_real_codes";
    if (fine !== null) {
      codes = "synthor_summary_mixed_codes";
      await db.exec(
        `create or replace temp table synthor_summary_mixed_codes as
         ${codesSelect(columns, "synthor_real_model", { subBins: summary.subBins, only: fine })}`,
        "codes with one column at sub-bin level",
      );
    }
    const units = await unitsFor(
      db,
      wanted.map((s) => s.columns),
      columns,
    );
    await db.exec(
      "create or replace temp table synthor_summary_build (unit varchar, cell varchar[], n bigint)",
      "prepare summary counts",
    );
    await countUnits(db, codes, units, "synthor_summary_build");
    const rows = await db.all<{ unit: string; cell: (string | null)[]; n: number }>(
      "select unit, cell, n from synthor_summary_build order by unit, cell",
      {},
      "read summary counts",
    );
    const byUnit = new Map<string, [(string | null)[], number][]>();
    for (const r of rows) {
      const cells = byUnit.get(r.unit) ?? [];
      cells.push([r.cell, Number(r.n)]);
      byUnit.set(r.unit, cells);
    }
    for (const u of units) tables.push(suppress(u, fine, byUnit.get(u.id) ?? [], minCell));
  }
  // A column none of whose values min-cell rows hold would leave nothing to synthesize it from.
  throwIfProblems(
    tables
      .filter((t) => t.fine === null && t.columns.length === 1 && t.cells.length === 0)
      .map((t) => {
        const name = t.columns[0] as string;
        return {
          code: "INPUT_INVALID" as const,
          message: `column "${name}" has no value that ${minCell} or more rows hold, so --min-cell ${minCell} leaves all of it out`,
          hint: `leave it out with --ignore ${name}, or give a lower --min-cell`,
          subject: name,
        };
      }),
  );

  // Moments over the values clipped to the grid's ends: the raw ones give back an outlier the grid hides.
  const moments = new Map<string, Moments>();
  if (minCell > 1) {
    for (const c of columns) {
      const grid = c.grid ?? [];
      if (c.kind !== "numeric" || c.mean === undefined || c.mean === null || grid.length < 2) continue;
      const [row] = await db.query<{ mean: number | null; sd: number | null }>("winsorized_moments", {
        table: "synthor_real_model",
        column: c.name,
        lo: grid[0] as number,
        hi: grid[grid.length - 1] as number,
      });
      moments.set(c.name, { mean: row?.mean ?? null, sd: row?.sd ?? null });
    }
  }

  return {
    format: SUMMARY_FORMAT,
    version: SUMMARY_VERSION,
    source: source.label,
    rows: source.rows,
    minCell,
    bins: summary.bins,
    subBins: summary.subBins,
    columns: profiles.map((p) => columnEntry(p, columns, minCell, moments.get(p.name))),
    associations: associations.map((p) => ({ ...p })),
    groups,
    tables,
  };
}

/**
 * The tables a summary file keeps, each as its columns in table order and the one column (if any) at
 * sub-bin level: every column (numeric ones also fine); every pair and every group, with each numeric
 * member also at sub-bin level; and for each column, the 3-way tables with every two of its `partners`
 * most dependent columns (pairwise mutual information above 0.005), so the planner can complete it from
 * two parents. The planner scores parent pairs by joint information, but only among these tables: a pure
 * interaction between pairwise-independent columns has none.
 */
export function tableSpecs(
  columns: Pick<ColumnProfile, "name" | "kind">[],
  associations: PairAssociation[],
  groups: string[][],
  partners: number,
): { columns: string[]; fine: string | null }[] {
  const order = new Map(columns.map((c, i) => [c.name, i]));
  const numeric = new Set(columns.filter((c) => c.kind !== "categorical").map((c) => c.name));
  const specs = new Map<string, { columns: string[]; fine: string | null }>();
  const add = (cols: string[]) => {
    const sorted = [...new Set(cols)].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    for (const fine of [null, ...sorted.filter((c) => numeric.has(c))]) {
      specs.set(JSON.stringify([sorted, fine]), { columns: sorted, fine });
    }
  };
  for (const c of columns) add([c.name]);
  for (const [i, a] of columns.entries()) for (const b of columns.slice(i + 1)) add([a.name, b.name]);
  for (const g of groups) add(g);
  const mi = (a: string, b: string) =>
    associations.find((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a))?.mutualInformation ?? 0;
  for (const c of columns) {
    const top = columns
      .filter((x) => x.name !== c.name && mi(c.name, x.name) > 0.005)
      .sort(
        (x, y) =>
          mi(c.name, y.name) - mi(c.name, x.name) || (order.get(x.name) ?? 0) - (order.get(y.name) ?? 0),
      )
      .slice(0, partners);
    for (const [i, a] of top.entries()) for (const b of top.slice(i + 1)) add([c.name, a.name, b.name]);
  }
  return [...specs.values()];
}

function suppress(
  unit: Unit,
  fine: string | null,
  cells: [(string | null)[], number][],
  minCell: number,
): SummaryTable {
  const kept = cells.filter(([, n]) => n >= minCell);
  const dropped = cells.filter(([, n]) => n < minCell);
  return {
    columns: unit.columns,
    fine,
    suppressed: { cells: dropped.length, rows: dropped.reduce((a, [, n]) => a + n, 0) },
    cells: kept,
  };
}

/** A column's mean and sample standard deviation as the file gives them. */
interface Moments {
  mean?: number | null | undefined;
  sd?: number | null | undefined;
}

/**
 * A column's entry: its profile, and for numeric columns the grid and edges. Above a min-cell of 1, values
 * that may name a single row are left out: the minimum and maximum (kept for a constant, which every row
 * holds), and a NULL count below min-cell (its cell is suppressed in the tables too).
 */
function columnEntry(
  p: ColumnProfile,
  modelled: ModelColumn[],
  minCell: number,
  winsorized: Moments | undefined,
): SummaryFile["columns"][number] {
  const model = modelled.find((c) => c.name === p.name);
  const hide = minCell > 1;
  // Above a min-cell of 1: a numeric column's moments over its values clipped to the grid's ends; no
  // moments for other columns (nothing reads them, and a rare extreme category would show in them).
  const moments = hide ? (winsorized ?? {}) : { mean: p.mean, sd: p.sd };
  const smallNulls = hide && p.nulls > 0 && p.nulls < minCell;
  const keepEnds = !hide || (p.kind === "constant" && p.rows >= minCell);
  return {
    name: p.name,
    index: p.index,
    sqlType: p.sqlType,
    kind: p.kind,
    reason: p.reason,
    integral: p.integral,
    ...(moments.mean !== undefined ? { mean: moments.mean } : {}),
    ...(moments.sd !== undefined ? { sd: moments.sd } : {}),
    ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
    rows: p.rows,
    nulls: smallNulls ? 0 : p.nulls,
    nullShare: smallNulls ? 0 : p.nullShare,
    distinct: p.distinct,
    min: keepEnds ? p.min : null,
    max: keepEnds ? p.max : null,
    ...(p.description !== undefined ? { description: p.description } : {}),
    ...(model && model.kind !== "categorical" ? { edges: model.edges ?? [], grid: model.grid ?? [] } : {}),
    ...(model?.wholeSeconds !== undefined ? { wholeSeconds: model.wholeSeconds } : {}),
    ...(p.special !== undefined ? { special: p.special } : {}),
    ...(p.offset !== undefined ? { offset: p.offset } : {}),
  };
}
