import type { Db } from "./db/connection.ts";
import { doubleList } from "./db/connection.ts";
import { SynthorError } from "./errors.ts";
import { type ColumnProfile, modelledKinds } from "./profile.ts";
import { refillConditional, spreadCapped, summarySide } from "./real.ts";
import { cdf } from "./sample.ts";
import { fineUnitsFor, type ModelColumn, numericSummary, type Summary, unitsFor } from "./summarize.ts";

import type { SummaryFile, SummaryTable } from "./summary-file.ts";

/**
 * Loads a summary file into the tables the loop reads (synthor_edges, synthor_bins, synthor_grid, the
 * real count tables, synthor_summary_counts) and returns its profiles and a Summary whose real side reads
 * the stored tables: what summarizeTable gives, without a row.
 */
export async function loadSummary(
  db: Db,
  file: SummaryFile,
): Promise<{ profiles: ColumnProfile[]; summary: Summary }> {
  const profiles: ColumnProfile[] = file.columns.map((c) => {
    const { edges: _e, grid: _g, wholeSeconds: _w, ...profile } = c;
    return profile as ColumnProfile;
  });
  const modelled = file.columns.filter((c) => modelledKinds.includes(c.kind));
  const names = new Set(file.columns.map((c) => c.name));
  const reserved = file.columns.filter((c) => c.name.startsWith("__synthor_")).map((c) => c.name);
  if (reserved.length > 0 || names.size !== file.columns.length) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      reserved.length > 0
        ? `the summary file names a column "${reserved[0]}", a name synthor reserves`
        : "the summary file names a column twice",
      "write it again with: synthor summarize real.csv --out summary.json (rename the column in --sql)",
    );
  }
  const problems = file.tables
    .flatMap((t) => [...t.columns, ...(t.fine ? [t.fine] : [])])
    .filter((c) => !names.has(c));
  if (problems.length > 0) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `the summary file's tables name columns it does not describe: ${[...new Set(problems)].join(", ")}`,
      "write it again with: synthor summarize real.csv --out summary.json",
    );
  }
  await db.exec(
    `create or replace table synthor_edges ("column" varchar, edges double[]);
     create or replace table synthor_bins ("column" varchar, bin bigint, lo double, hi double, n bigint, share double);
     create or replace table synthor_grid ("column" varchar, grid double[]);
     create or replace table synthor_real_counts (unit varchar, cell varchar[], n bigint);
     create or replace table synthor_synth_counts (unit varchar, cell varchar[], n bigint);
     create or replace table synthor_real_fine ("column" varchar, bin bigint, sub integer, n bigint);
     create or replace table synthor_synth_fine ("column" varchar, bin bigint, sub integer, n bigint);
     create or replace table synthor_summary_counts (cols varchar[], fine varchar, cell varchar[], n bigint);`,
    "create tables for the summary file",
  );
  const tables = refillFine({ ...file, tables: refillJoint(file.tables, file.minCell) });
  const rows = tables.flatMap((t) =>
    t.cells.map(([cell, n]) => ({ cols: t.columns, fine: t.fine, cell, n })),
  );
  for (let start = 0; start < rows.length; start += 5_000) {
    await db.exec(
      `insert into synthor_summary_counts
       select unnest(from_json($json, '[{"cols": ["VARCHAR"], "fine": "VARCHAR", "cell": ["VARCHAR"], "n": "BIGINT"}]'), recursive := true)`,
      "load the summary file's count tables",
      { json: JSON.stringify(rows.slice(start, start + 5_000)) },
    );
  }
  const numeric = new Set(modelled.filter((c) => c.kind !== "categorical").map((c) => c.name));
  const real = summarySide(db, tables, numeric, file.associations, file.minCell);
  const table = (cols: string[], fine: string | null) =>
    tables.find((t) => t.fine === fine && JSON.stringify(t.columns) === JSON.stringify(cols))?.cells ?? [];

  const columns: ModelColumn[] = [];
  for (const entry of modelled) {
    const { edges = [], grid = [], wholeSeconds, ...profile } = entry;
    const column: ModelColumn = { ...(profile as ColumnProfile), kind: entry.kind as ModelColumn["kind"] };
    const cells = table([entry.name], null);
    const total = cells.reduce((a, [, n]) => a + n, 0);
    if (column.kind === "categorical") {
      column.categories = cells
        .map(([cell, n]) => ({ value: cell[0] ?? null, n, share: n / total }))
        .sort((a, b) => b.n - a.n || compare(a.value, b.value));
      columns.push(column);
      continue;
    }
    column.grid = grid;
    column.edges = edges;
    if (wholeSeconds !== undefined) column.wholeSeconds = wholeSeconds;
    const byBin = new Map(cells.map(([cell, n]) => [cell[0] ?? null, n]));
    column.bins = Array.from({ length: edges.length + 1 }, (_, b) => {
      const n = byBin.get(String(b)) ?? 0;
      return {
        bin: b,
        lo: b === 0 ? (grid[0] ?? 0) : (edges[b - 1] as number),
        hi: b === edges.length ? (grid[grid.length - 1] ?? 0) : (edges[b] as number),
        n,
        share: total > 0 ? n / total : 0,
      };
    });
    column.summary = numericSummary(column, grid);
    await db.exec("insert into synthor_edges values ($column, $edges)", "store edges", {
      column: column.name,
      edges: doubleList(edges),
    });
    await db.exec("insert into synthor_grid values ($column, $grid)", "store grid", {
      column: column.name,
      grid: doubleList(grid),
    });
    for (const b of column.bins) {
      await db.exec("insert into synthor_bins values ($column, $bin, $lo, $hi, $n, $share)", "store bins", {
        column: column.name,
        ...b,
      });
    }
    // The sub-bin counts (column, bin, sub, n) are the fine marginal's cells "bin.sub".
    for (const [cell, n] of table([entry.name], entry.name)) {
      const [bin, sub] = (cell[0] ?? "").split(".");
      if (cell[0] === null || bin === undefined || sub === undefined) continue;
      await db.exec(
        "insert into synthor_real_fine values ($column, $bin, $sub, $n)",
        "store sub-bin counts",
        {
          column: column.name,
          bin: Number(bin),
          sub: Number(sub),
          n,
        },
      );
    }
    columns.push(column);
  }

  const marginals = await unitsFor(
    db,
    columns.map((c) => [c.name]),
    columns,
  );
  const fineUnits = fineUnitsFor(columns, marginals);
  await real.countUnits(marginals, "synthor_real_counts");
  await real.countUnits(fineUnits, "synthor_real_counts", { fine: true, prefix: "fine:" });
  return {
    profiles,
    summary: {
      source: file.source,
      rows: file.rows,
      bins: file.bins,
      subBins: file.subBins,
      columns,
      passthrough: profiles.filter((p) => p.kind === "identifier" || p.kind === "constant"),
      marginals,
      groups: [],
      fineUnits,
      pairUnits: [],
      finePairUnits: [],
      real,
      minCell: file.minCell,
    },
  };
}

/**
 * The coarse tables of 2 to 4 columns with the rows of their left-out cells put back (refillConditional,
 * completing the last column from the others), smaller tables first so a 3-way table's contexts are
 * whole. The loop's deficits then see a rare combination as rare, not as absent: without this the planner
 * would never complete one (a cell with no real share is full), and the marginals would drift.
 */
export function refillJoint(tables: SummaryTable[], minCell: number): SummaryTable[] {
  if (minCell <= 1) return tables;
  const key = (columns: string[]) => JSON.stringify(columns);
  const done = new Map<string, SummaryTable>();
  for (const t of tables) if (t.fine === null && t.columns.length === 1) done.set(key(t.columns), t);
  const order = [...tables.entries()].sort(
    (a, b) => a[1].columns.length - b[1].columns.length || a[0] - b[0],
  );
  const out = [...tables];
  for (const [i, t] of order) {
    if (t.fine !== null || t.columns.length < 2) continue;
    const child = t.columns[t.columns.length - 1] as string;
    const context = done.get(key(t.columns.slice(0, -1)));
    const values = done.get(key([child]));
    let filled = t;
    if (t.suppressed.cells > 0 && context && values) {
      const rows = refillConditional(
        t.cells.map(([cell, n]) => ({ cell, n })),
        t.columns.length - 1,
        context.cells,
        values.cells,
        minCell,
      );
      filled = { ...t, cells: rows.map((r) => [r.cell, r.n] as [(string | null)[], number]) };
    }
    done.set(key(t.columns), filled);
    out[i] = filled;
  }
  return out;
}

/**
 * The fine tables with the rows of their left-out cells put back, as well as aggregates allow: a fine
 * table's cells of one main bin (with the other columns' codes) add up to the same table's coarse cell, so
 * the rows missing from them are known; they are spread over the sub-bins not listed, in proportion to the
 * real distribution inside the bin that the quantile grid gives (evenly if it gives none), in whole
 * numbers (largest remainder, ties to the lower sub-bin), at most minCell - 1 each (as left out). Without this the planner would never propose a
 * sparse sub-bin, and the synthetic table would lose the real table's tails.
 */
export function refillFine(
  file: Pick<SummaryFile, "tables" | "columns" | "subBins" | "minCell">,
): SummaryTable[] {
  const byKey = new Map(file.tables.map((t) => [JSON.stringify([t.columns, t.fine]), t]));
  return file.tables.map((t) => {
    if (t.fine === null || t.suppressed.cells === 0) return t;
    const coarse = byKey.get(JSON.stringify([t.columns, null]));
    const column = file.columns.find((c) => c.name === t.fine);
    if (!coarse || !column) return t;
    const at = t.columns.indexOf(t.fine);
    const keyOf = (cell: (string | null)[], code: string | null) =>
      JSON.stringify(cell.map((c, i) => (i === at ? code : c)));
    const listed = new Map<string, { sum: number; subs: Set<number> }>();
    for (const [cell, n] of t.cells) {
      const code = cell[at] ?? null;
      if (code === null) continue;
      const [bin, sub] = code.split(".");
      const key = keyOf(cell, bin ?? null);
      const entry = listed.get(key) ?? { sum: 0, subs: new Set<number>() };
      entry.sum += n;
      entry.subs.add(Number(sub));
      listed.set(key, entry);
    }
    const cells = [...t.cells];
    for (const [cell, n] of coarse.cells) {
      const bin = cell[at] ?? null;
      if (bin === null) continue;
      const entry = listed.get(keyOf(cell, bin)) ?? { sum: 0, subs: new Set<number>() };
      const missing = n - entry.sum;
      if (missing <= 0) continue;
      const open = Array.from({ length: file.subBins }, (_, s) => s).filter((s) => !entry.subs.has(s));
      if (open.length === 0) continue;
      const weights = subBinMass(column, Number(bin), file.subBins, open);
      for (const [k, add] of spreadCapped(missing, weights, Math.max(1, file.minCell - 1)).entries()) {
        if (add > 0) cells.push([cell.map((c, i) => (i === at ? `${bin}.${open[k]}` : c)), add]);
      }
    }
    return { ...t, cells };
  });
}

/** The real mass of the given sub-bins of a main bin, from the quantile grid; 1 each when it gives none. */
function subBinMass(
  column: SummaryFile["columns"][number],
  bin: number,
  subBins: number,
  subs: number[],
): number[] {
  const grid = column.grid ?? [];
  const edges = column.edges ?? [];
  const lo = bin === 0 ? (grid[0] ?? 0) : (edges[bin - 1] ?? 0);
  const hi = bin === edges.length ? (grid[grid.length - 1] ?? 0) : (edges[bin] ?? 0);
  const width = (hi - lo) / subBins;
  const mass = subs.map((s) =>
    hi > lo ? Math.max(0, cdf(grid, lo + width * (s + 1)) - cdf(grid, lo + width * s)) : 0,
  );
  return mass.some((m) => m > 0) ? mass : subs.map(() => 1);
}

function compare(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}
