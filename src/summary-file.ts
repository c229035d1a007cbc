import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { countUnits } from "./counts.ts";
import type { Db } from "./db/connection.ts";
import { doubleList } from "./db/connection.ts";
import { codesSelect } from "./encode.ts";
import { SynthorError, throwIfProblems } from "./errors.ts";
import { groupsFromPairs, measurePairs, type PairAssociation } from "./groups.ts";
import { writeTextAtomically } from "./output.ts";
import { type ColumnProfile, modelledKinds } from "./profile.ts";
import { refillConditional, spreadCapped, summarySide } from "./real.ts";
import { cdf } from "./sample.ts";
import type { SourceInfo } from "./source.ts";
import {
  fineUnitsFor,
  type ModelColumn,
  numericSummary,
  type Summary,
  summarizeTable,
  type Unit,
  unitsFor,
} from "./summarize.ts";

/** The format name and version every summary file carries; a reader refuses other names and newer versions. */
export const SUMMARY_FORMAT = "synthor-summary";
export const SUMMARY_VERSION = 1;
/** Cells with fewer real rows are left out of a summary file unless --min-cell says otherwise. */
export const DEFAULT_MIN_CELL = 5;
/** Each column's 3-way tables are kept with this many of its most dependent partners (all pairs of them). */
export const DEFAULT_PARTNERS = 4;

const count = z.number().int().nonnegative();
const SummaryColumn = z
  .object({
    name: z.string(),
    index: count,
    sqlType: z.string(),
    kind: z.enum(["categorical", "numeric", "datetime", "identifier", "constant", "ignored"]),
    reason: z.string(),
    integral: z.boolean(),
    mean: z.number().nullable().optional(),
    sd: z.number().nullable().optional(),
    decimals: z.number().int().optional(),
    rows: count,
    nulls: count,
    nullShare: z.number(),
    distinct: count,
    min: z.string().nullable(),
    max: z.string().nullable(),
    description: z.string().optional(),
    edges: z.array(z.number()).optional(),
    grid: z.array(z.number()).optional(),
    wholeSeconds: z.boolean().optional(),
    special: z.array(z.enum(["-Infinity", "Infinity", "NaN"])).optional(),
    offset: z
      .string()
      .regex(/^-?\d+$/)
      .optional(),
  })
  .strict();

const SummaryTable = z
  .object({
    columns: z.array(z.string()).min(1).max(4),
    fine: z.string().nullable(),
    suppressed: z.object({ cells: count, rows: count }).strict(),
    cells: z.array(z.tuple([z.array(z.string().nullable()), z.number().int().positive()])),
  })
  .strict();

/** A summary file: everything `synth --from-summary` needs, and nothing at the level of a row. */
export const SummaryFile = z
  .object({
    format: z.literal(SUMMARY_FORMAT),
    version: z.literal(SUMMARY_VERSION),
    source: z.string(),
    rows: z.number().int().positive(),
    minCell: count,
    bins: z.number().int().positive(),
    subBins: z.number().int().positive(),
    columns: z.array(SummaryColumn).min(1),
    associations: z.array(
      z
        .object({ a: z.string(), b: z.string(), cramersV: z.number(), mutualInformation: z.number() })
        .strict(),
    ),
    groups: z.array(z.array(z.string()).min(2).max(4)),
    tables: z.array(SummaryTable),
  })
  .strict();
export type SummaryFile = z.infer<typeof SummaryFile>;
export type SummaryTable = z.infer<typeof SummaryTable>;

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

/**
 * A summary file's text: readable metadata, one line per table cell. `summarize --out` writes it and
 * `summarize --json` prints it.
 */
export function summaryFileText(file: SummaryFile): string {
  const { tables, ...head } = file;
  // Lists of numbers (grids, edges) and of column names on one line each, not one line per item.
  const headText = JSON.stringify({ ...head, tables: "__TABLES__" }, null, 2).replace(
    // Only whitespace with a line break is touched: JSON strings hold none, so no value changes.
    /\[\n\s*((?:-?[\d.e+-]+|"(?:[^"\\\n]|\\.)*")(?:,\n\s*(?:-?[\d.e+-]+|"(?:[^"\\\n]|\\.)*"))*)\n\s*\]/g,
    (_, items: string) => `[${items.replace(/,\n\s*/g, ", ")}]`,
  );
  const tableText = tables
    .map((t) => {
      const { cells, ...meta } = t;
      const lines = cells.map((c) => `        ${JSON.stringify(c)}`).join(",\n");
      const metaText = JSON.stringify(meta).slice(0, -1);
      return `    ${metaText}, "cells": [${cells.length ? `\n${lines}\n    ` : ""}]}`;
    })
    .join(",\n");
  return `${headText.replace('"__TABLES__"', tables.length ? `[\n${tableText}\n  ]` : "[]")}\n`;
}

/**
 * Writes a summary file atomically; an existing file is replaced only with `overwrite` (--overwrite),
 * checked again at the end for a file that appeared meanwhile (see writeTextAtomically).
 */
export function writeSummaryFile(path: string, file: SummaryFile, overwrite = false): void {
  writeTextAtomically(path, summaryFileText(file), { flag: "--out", overwrite });
}

/** Reads and validates a summary file; returns it with the SHA-256 of its bytes (recorded with a run). */
export function readSummaryFile(path: string): { file: SummaryFile; sha256: string } {
  if (!existsSync(path) || statSync(path).isDirectory()) {
    throw new SynthorError(
      "SOURCE_NOT_FOUND",
      `summary file not found: ${path}`,
      "write one with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  const bytes = readFileSync(path);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is not a summary file: ${(err as Error).message}`,
      "write one with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  const head = json as { format?: unknown; version?: unknown } | null;
  if (typeof head !== "object" || head === null || head.format !== SUMMARY_FORMAT) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is not a summary file (its "format" is not "${SUMMARY_FORMAT}")`,
      "write one with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  if (head.version !== SUMMARY_VERSION) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is a summary file of version ${JSON.stringify(head.version)}; this synthor reads version ${SUMMARY_VERSION}`,
      "summarize the real table again with this synthor, or use the synthor that wrote it",
      { source: path },
    );
  }
  const parsed = SummaryFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((x) => `${x.path.join(".") || "(top)"}: ${x.message}`)
      .join("; ");
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is not a valid summary file: ${issues}`,
      "write it again with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  return { file: parsed.data, sha256 };
}

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
