import type { Db } from "./db/connection.ts";
import type { ModelColumn, Summary, Unit } from "./summarize.ts";

/** TVD of one unit between the real and the synthetic count tables. */
export interface UnitTvd {
  unit: string;
  columns: string[];
  tvd: number;
}

/** One cell of a unit's gap table: the attributable signal planners read. */
export interface Gap {
  unit: string;
  columns: string[];
  /** The cell's codes: category values, or main-bin numbers for numeric columns; null is NULL. */
  cell: (string | null)[];
  /** The cell as a person reads it, e.g. `age in (24, 31], sex = Male`. */
  label: string;
  realN: number;
  synthN: number;
  realShare: number;
  synthShare: number;
  /** real share - synthetic share: positive where the synthetic table lacks rows. */
  gap: number;
}

export interface Discrepancy {
  marginals: UnitTvd[];
  groups: UnitTvd[];
  /** Mean TVD over all marginals and groups. */
  meanTvd: number;
}

/**
 * TVD per column and per group, from the running count tables (sql/tvd.sql over synthor_real_counts and
 * synthor_synth_counts). Cheap: it reads only count tables, never the synthetic rows.
 */
export async function computeDiscrepancy(db: Db, summary: Summary): Promise<Discrepancy> {
  const rows = await db.query<{ unit: string; tvd: number }>("tvd", {
    real: "synthor_real_counts",
    synth: "synthor_synth_counts",
  });
  return discrepancyOf(summary, new Map(rows.map((r) => [r.unit, r.tvd])));
}

/** The summary's marginals and groups with their TVDs (0 for a unit neither side has a cell of). */
export function discrepancyOf(
  summary: Pick<Summary, "marginals" | "groups">,
  tvd: Map<string, number>,
): Discrepancy {
  const pick = (units: Unit[]) =>
    units.map((u) => ({ unit: u.id, columns: u.columns, tvd: tvd.get(u.id) ?? 0 }));
  const marginals = pick(summary.marginals);
  const groups = pick(summary.groups);
  const all = [...marginals, ...groups];
  return { marginals, groups, meanTvd: all.reduce((s, u) => s + u.tvd, 0) / Math.max(1, all.length) };
}

/** The count tables as one read gives them: every unit's gap table, and the discrepancy. */
export interface Measured {
  discrepancy: Discrepancy;
  /** Every cell of every unit's gap table (sql/gaps.sql), largest gap first within each unit. */
  gaps: GapRow[];
}

/** A row of sql/gaps.sql. */
export type GapRow = {
  unit: string;
  cell: (string | null)[];
  real_n: number;
  synth_n: number;
  real_share: number;
  synth_share: number;
  gap: number;
};

/** One read of the count tables: every cell's gap row, and every unit's TVD. */
export interface CountsRead {
  /** Every cell of every unit (sql/gaps.sql), largest gap first within each unit. */
  gaps: GapRow[];
  /** Each unit's TVD, with synthor_tvd's bits; a unit neither side has a cell of is absent. */
  tvd: Map<string, number>;
}

/**
 * The gap table and the TVDs from one read of the count tables, for the loops: each iteration reads the
 * counts once, after sampling, and plans the next one from the same read. The TVD of a unit is worked
 * out from its cells as synthor_tvd does it (whole numbers, one division), so it has the same bits as
 * computeDiscrepancy's; test/discrepancy.test.ts holds them to that.
 */
export async function readCounts(db: Db): Promise<CountsRead> {
  const gaps = await db.query<GapRow>("gaps", { real: "synthor_real_counts", synth: "synthor_synth_counts" });
  const tvd = new Map<string, number>();
  // Rows come grouped by unit (sql/gaps.sql orders by unit first).
  for (let start = 0; start < gaps.length; ) {
    const unit = gaps[start]?.unit as string;
    let end = start;
    let realTotal = 0n;
    let synthTotal = 0n;
    for (; end < gaps.length && gaps[end]?.unit === unit; end++) {
      realTotal += BigInt((gaps[end] as GapRow).real_n);
      synthTotal += BigInt((gaps[end] as GapRow).synth_n);
    }
    let excess = 0n;
    for (let i = start; i < end; i++) {
      const g = gaps[i] as GapRow;
      const d = BigInt(g.real_n) * synthTotal - BigInt(g.synth_n) * realTotal;
      if (d > 0n) excess += d;
    }
    tvd.set(
      unit,
      realTotal === 0n || synthTotal === 0n ? 1 : Number(excess) / Number(realTotal * synthTotal),
    );
    start = end;
  }
  return { gaps, tvd };
}

/** {@link readCounts} with the summary's discrepancy: what the flat loop keeps between iterations. */
export async function measure(db: Db, summary: Summary): Promise<Measured> {
  const { gaps, tvd } = await readCounts(db);
  return { discrepancy: discrepancyOf(summary, tvd), gaps };
}

/** The gap table of every unit (or of the given ones), largest gap first within each unit. */
export async function gapTable(db: Db, summary: Summary, units?: Unit[]): Promise<Gap[]> {
  const rows = await db.query<GapRow>("gaps", { real: "synthor_real_counts", synth: "synthor_synth_counts" });
  return gapsOf(summary, rows, units);
}

/** The gaps of `units` (default: every marginal and group) among the rows of sql/gaps.sql, labelled. */
export function gapsOf(summary: Summary, rows: GapRow[], units?: Unit[]): Gap[] {
  const wanted = new Map((units ?? [...summary.marginals, ...summary.groups]).map((u) => [u.id, u]));
  const byName = new Map(summary.columns.map((c) => [c.name, c]));
  const gaps: Gap[] = [];
  for (const r of rows) {
    const unit = wanted.get(r.unit);
    if (!unit) continue;
    gaps.push({
      unit: r.unit,
      columns: unit.columns,
      cell: r.cell,
      label: unit.columns.map((c, i) => cellLabel(byName.get(c), c, r.cell[i] ?? null)).join(", "),
      realN: r.real_n,
      synthN: r.synth_n,
      realShare: r.real_share,
      synthShare: r.synth_share,
      gap: r.gap,
    });
  }
  return gaps;
}

/** A sub-bin of the worst main bin of a numeric column (Appendix C.1). */
export interface SubBinGap {
  column: string;
  bin: number;
  sub: number;
  lo: number;
  hi: number;
  realShare: number;
  synthShare: number;
  gap: number;
}

/** For every numeric column, the sub-bins of its main bin with the largest positive gap. */
export async function subBinGaps(db: Db, summary: Summary): Promise<SubBinGap[]> {
  const rows = await db.query<{
    column: string;
    bin: number;
    sub: number;
    lo: number;
    hi: number;
    real_share: number;
    synth_share: number;
    gap: number;
  }>("sub_bins", { sub_bins: summary.subBins });
  return rows.map((r) => ({
    column: r.column,
    bin: r.bin,
    sub: r.sub,
    lo: r.lo,
    hi: r.hi,
    realShare: r.real_share,
    synthShare: r.synth_share,
    gap: r.gap,
  }));
}

/** How a cell value reads: `sex = Male`, `age in (24, 31]`, `income is NULL`. */
export function cellLabel(column: ModelColumn | undefined, name: string, code: string | null): string {
  if (code === null) return `${name} is NULL`;
  if (!column || column.kind === "categorical" || column.special?.includes(code as never))
    return `${name} = ${code}`;
  const bin = column.bins?.find((b) => String(b.bin) === code);
  if (!bin) return `${name} bin ${code}`;
  if (bin.lo === bin.hi) return `${name} = ${formatNumber(column, bin.lo)}`;
  const open = bin.bin === 0 ? "[" : "(";
  return `${name} in ${open}${formatNumber(column, bin.lo)}, ${formatNumber(column, bin.hi)}]`;
}

/** Numbers as people read them: datetimes as ISO dates, others with up to 4 significant decimals. */
export function formatNumber(column: Pick<ModelColumn, "kind" | "sqlType">, x: number): string {
  if (column.kind === "datetime") {
    const iso = new Date(x * 1000).toISOString();
    return /^DATE$/i.test(column.sqlType) ? iso.slice(0, 10) : iso.replace(".000Z", "Z");
  }
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}
