import type { Discrepancy, Gap, SubBinGap } from "../discrepancy.ts";
import { formatNumber } from "../discrepancy.ts";
import type { Category, ModelColumn, Summary, Unit } from "../summarize.ts";

/**
 * The paper's two prompts (Appendix E), filled from aggregates that pass the privacy rule.
 *
 * The templates below are Appendix E word for word, with two changes of markup only: the copula
 * prompt's doubled braces (`{{`, a Python format escape) are written as the single braces the model
 * receives, and the inline code marks around the proposal prompt's placeholders are dropped (the filled
 * guidance spans many lines), as is the extra backtick before the copula prompt's `{data_desc}`. What
 * synthor adds (the scenario of Section 4.3, the note on pooled cells, the shape of a proposal) goes in
 * its own section, "Additional Information (added by synthor)", between the paper's Information and
 * Rules, so the paper's text stays intact and the additions are easy to spot.
 *
 * Privacy: prompts carry aggregates only. A category, NULL, main bin, sub-bin or group cell with fewer
 * than `minCell` real rows is never named: it is pooled into an "other" line or left out. Numeric ranges
 * never show the real minimum or maximum unless at least `minCell` rows hold it; the ends shown are
 * then quantiles (p01 and p99, or further in for small tables), and a proposal that reaches an end shown
 * is widened to the real end when it is converted (see `widenToRealEnds`), so the tails are still drawn.
 */

/** p_proposal, Appendix E. */
export const PROPOSAL_TEMPLATE_HEAD = `## Output Format:
\`\`\`json
{
 "n_proposals": n,
 "proposal1": {
 "reason": "...",
 "proposal": "...",
 "num": n1
 },
 "proposal2": {
 "reason": "...",
 "proposal": "...",
 "num": n2
 },
 "...
}
\`\`\`

## Information:

**Joint Guidance:**
{joint_guide}
**Marginal Guidance:**
{marginal_guide}
**Variables:**
{data_desc}
`;

export const PROPOSAL_TEMPLATE_TAIL = `
---

## Rules:
Create no more than {n_proposals} proposals totaling {n_samples} samples:
1. Each proposal must follow Joint and Marginal Guidance, do not improvise beyond the provided Guidance.
2. The reason for each proposal should explain the realistic meaning of this proposal and how it follows the provided Guidance by referencing frequencies one by one.
3. 'min', 'max', 'category' must use the actual values mentioned in **Variables**: Categorical variables must be a single valid candidate string (case-sensitive), and numerical variables must be a list of two integer or float numbers (e.g., [3.0, 5.1]).
4. Do not include multiple ranges or categories per variable within a single proposal.
5. Structure of generated data must match the **Output Format**, and all variables must be included.
6. If a variable value has a high frequency, that value should be selected in multiple proposals.
7. Most generated samples should, as much as possible, prioritize satisfying components that are common across the Guidances, and the "num" for each proposal should be determined based on the frequencies specified in the Guidance.
8. Only list generation proposals; do not generate data or add extra text.
9. Do not return an empty JSON. Do not use escaped characters such as \\r\\n, \\t, or \\". Do not include any comments, markdown formatting, or explanatory text.

---

Now return a pure, valid, and non-empty JSON in English that can be directly parsed by json.loads() in Python`;

/** p_copula, Appendix E. */
export const COPULA_TEMPLATE = `## Information
**Variables:** \`\`\`
{data_desc}
\`\`\`

## Output Format:
{
  "1": ["var1", "var2", ...],
  "2": ["var1", "var2", ...],
  ...
}

### Example Output JSON:
{
  "1": ["Temperature", "Humidity"],
  "2": ["Humidity", "WeatherCondition"],
}

---
Your task is to extract at most {n_joints} correlated variable groups based on the
Variables summaries and present them in JSON format.
1. Ensure each group contains two or more variables.
2. Format the correlated variable groups according to the Output Format.
3. Output must be valid JSON.`;

/** How a column may be shown: only values and ranges that at least `minCell` real rows hold. */
export interface ColumnView {
  column: ModelColumn;
  name: string;
  kind: ModelColumn["kind"];
  /** Categories with at least minCell rows (NULL excluded), most frequent first. */
  categories: Category[];
  /** Categories below minCell, pooled: how many, their rows and share. */
  pooled: { values: number; n: number; share: number };
  /** NULL has at least minCell rows: it may be named and proposed. */
  nullVisible: boolean;
  nullShare: number;
  /** The ends shown for numeric columns, and whether each is the real extreme (held by >= minCell rows). */
  lo: number;
  hi: number;
  loIsReal: boolean;
  hiIsReal: boolean;
  /** Quantile (fraction) the ends shown stand at when they are not the real extremes, e.g. 0.01. */
  endQuantile: number;
  /**
   * Mean and sd as shown: the column's own when its extremes may be shown, else those of the values
   * clipped to the ends shown (from the quantile grid), since moments would betray a lone outlier.
   */
  mean: number | null;
  sd: number | null;
  /** Main bins as shown: the first and last clipped to the ends shown; `hidden` below minCell rows. */
  bins: Map<string, { lo: number; hi: number; first: boolean; hidden: boolean }>;
}

/** Everything the prompts may show of the real table, and a Summary to validate replies against. */
export interface PromptView {
  minCell: number;
  rows: number;
  columns: ColumnView[];
  byName: Map<string, ColumnView>;
  /** The summary as the model sees it: rare categories removed, numeric ends as shown. */
  visible: Summary;
  /** Something was pooled or left out: the prompt says so. */
  pooledAny: boolean;
}

/** Builds the view of a summary that prompts may show, under the `minCell` rule. */
export function promptView(summary: Summary, minCell: number): PromptView {
  const k = Math.max(1, Math.floor(minCell));
  let pooledAny = false;
  const columns: ColumnView[] = summary.columns.map((column) => {
    const all = column.categories ?? [];
    const categories = all.filter((c) => c.value !== null && c.n >= k);
    const rare = all.filter((c) => c.value !== null && c.n < k);
    const pooled = {
      values: rare.length,
      n: rare.reduce((s, c) => s + c.n, 0),
      share: rare.reduce((s, c) => s + c.share, 0),
    };
    const nulls = column.nulls ?? 0;
    const nullVisible = nulls >= k;
    if (rare.length > 0 || (nulls > 0 && !nullVisible)) pooledAny = true;
    const view: ColumnView = {
      column,
      name: column.name,
      kind: column.kind,
      categories,
      pooled,
      nullVisible,
      nullShare: column.rows > 0 ? nulls / column.rows : 0,
      lo: 0,
      hi: 0,
      loIsReal: true,
      hiIsReal: true,
      endQuantile: 0,
      mean: null,
      sd: null,
      bins: new Map(),
    };
    if (column.kind !== "categorical") {
      const ends = shownEnds(column, k);
      // The ends shown are rounded as printed, so a reply that copies one back is recognised as that end.
      if (!ends.loIsReal) ends.lo = roundShown(column, ends.lo);
      if (!ends.hiIsReal) ends.hi = roundShown(column, ends.hi);
      Object.assign(view, ends);
      Object.assign(view, shownMoments(column, ends));
      if (!ends.loIsReal || !ends.hiIsReal) pooledAny = true;
      const bins = column.bins ?? [];
      for (const [i, b] of bins.entries()) {
        const hidden = b.n < k;
        if (hidden) pooledAny = true;
        const lo = i === 0 ? Math.min(Math.max(b.lo, ends.lo), b.hi) : b.lo;
        const hi = i === bins.length - 1 ? Math.max(Math.min(b.hi, ends.hi), lo) : b.hi;
        view.bins.set(String(b.bin), { lo, hi, first: i === 0, hidden });
      }
    }
    return view;
  });
  const byName = new Map(columns.map((c) => [c.name, c]));
  const visible: Summary = {
    ...summary,
    columns: columns.map((v) => {
      const c: ModelColumn = { ...v.column, nulls: v.nullVisible ? v.column.nulls : 0 };
      if (v.kind === "categorical") {
        c.categories = [
          ...v.categories,
          ...(v.nullVisible ? (v.column.categories ?? []).filter((x) => x.value === null) : []),
        ];
      } else if (v.column.summary) {
        c.summary = { ...v.column.summary, min: v.lo, max: v.hi };
      }
      return c;
    }),
  };
  return { minCell: k, rows: summary.rows, columns, byName, visible, pooledAny };
}

/**
 * The ends of a numeric column a prompt may show. The real minimum is shown only when at least k rows
 * hold it (a column with many zeros, say); otherwise the quantile at max(1%, k / n), read from the
 * sampler's quantile grid. Likewise the maximum.
 */
function shownEnds(
  column: ModelColumn,
  k: number,
): Pick<ColumnView, "lo" | "hi" | "loIsReal" | "hiIsReal" | "endQuantile"> {
  const grid = column.grid ?? [];
  const n = Math.max(0, column.rows - (column.nulls ?? 0));
  const min = grid[0] ?? column.summary?.min ?? 0;
  const max = grid[grid.length - 1] ?? column.summary?.max ?? 0;
  if (grid.length < 2 || n <= 1) return { lo: min, hi: max, loIsReal: true, hiIsReal: true, endQuantile: 0 };
  const last = grid.length - 1;
  // grid[i] is the quantile at i / last, interpolated between the sorted values at ranks around
  // i * (n - 1) / last (0-based). The grid may be coarse (one interval per 10 rows).
  const indexAtRank = (rank: number) => (rank * last) / (n - 1);
  // The minimum is held by at least k rows when the value at rank k - 1 is the minimum too.
  // A grid whose end the summary already pulled in (synthesis at --min-cell) no longer shows the real end.
  const loIsReal = !column.pulledIn?.lo && grid[Math.min(last, Math.ceil(indexAtRank(k - 1)))] === min;
  const hiIsReal = !column.pulledIn?.hi && grid[Math.max(0, Math.floor(last - indexAtRank(k - 1)))] === max;
  // Otherwise the ends shown are grid points at the 1st percentile or further in, and never closer to the
  // end than rank k, so neither they nor their interpolation involve the k most extreme rows.
  const i = Math.min(Math.floor(last / 2), Math.ceil(Math.max(0.01 * last, indexAtRank(k)) - 1e-9));
  return {
    lo: loIsReal ? min : (grid[i] ?? min),
    hi: hiIsReal ? max : (grid[last - i] ?? max),
    loIsReal,
    hiIsReal,
    endQuantile: loIsReal && hiIsReal ? 0 : i / last,
  };
}

function shownMoments(
  column: ModelColumn,
  ends: Pick<ColumnView, "lo" | "hi" | "loIsReal" | "hiIsReal">,
): Pick<ColumnView, "mean" | "sd"> {
  const grid = column.grid ?? [];
  if ((ends.loIsReal && ends.hiIsReal) || grid.length < 2) {
    return { mean: column.summary?.mean ?? null, sd: column.summary?.sd ?? null };
  }
  // The grid's points are equally spaced quantiles: their clipped mean and sd are the winsorized ones.
  const clipped = grid.map((x) => Math.min(ends.hi, Math.max(ends.lo, x)));
  const mean = clipped.reduce((a, x) => a + x, 0) / clipped.length;
  const sd = Math.sqrt(clipped.reduce((a, x) => a + (x - mean) ** 2, 0) / (clipped.length - 1));
  return { mean, sd };
}

/** A number as printed in a prompt, read back: what a model copying it would propose. */
export function roundShown(column: Pick<ModelColumn, "kind" | "sqlType">, x: number): number {
  const text = formatNumber(column, x);
  const back = column.kind === "datetime" ? Date.parse(text) / 1000 : Number(text);
  return Number.isFinite(back) ? back : x;
}

/** Shares as people read them: 55.0%, 0.25%, 0%. */
export function pct(x: number): string {
  if (x === 0) return "0%";
  const v = x * 100;
  return `${Math.abs(v) < 1 ? v.toFixed(2) : v.toFixed(1)}%`;
}

function signedPct(x: number): string {
  if (Math.abs(x) < 5e-5) return "0%";
  return `${x > 0 ? "+" : "-"}${pct(Math.abs(x))}`;
}

function num(v: ColumnView, x: number): string {
  return formatNumber(v.column, x);
}

/** A main bin or range as shown: `[18.9, 22.6]`, `(22.6, 26.3]`, `= 0`. */
function rangeLabel(v: ColumnView, lo: number, hi: number, closedLow: boolean): string {
  if (lo === hi) return `= ${num(v, lo)}`;
  return `${closedLow ? "[" : "("}${num(v, lo)}, ${num(v, hi)}]`;
}

/** One column's code as shown, or null when it must not be shown. */
function codeLabel(v: ColumnView, code: string | null, withName: boolean): string | null {
  const prefix = withName ? `${v.name} ` : "";
  if (code === null) return v.nullVisible ? `${prefix}is NULL` : null;
  if (v.kind === "categorical") {
    if (!v.categories.some((c) => c.value === code)) return null;
    return `${withName ? `${v.name} = ` : ""}${JSON.stringify(code)}`;
  }
  if (v.column.special?.includes(code as never))
    return `${withName ? `${v.name} = ` : ""}${JSON.stringify(code)}`;
  const bin = v.bins.get(code);
  if (!bin || bin.hidden) return null;
  const r = rangeLabel(v, bin.lo, bin.hi, bin.first);
  return withName ? `${v.name} ${r.startsWith("=") ? r : `in ${r}`}` : r;
}

function shares(realShare: number, synthShare: number): string {
  return `${pct(realShare)} / ${pct(synthShare)} (${signedPct(realShare - synthShare)})`;
}

/** The variables' description ({data_desc}): kind, categories or range, a meaning when the user gave one. */
export function describeVariables(view: PromptView): string {
  return view.columns.map((v) => `- ${describeColumn(v, view.minCell)}`).join("\n");
}

function describeColumn(v: ColumnView, k: number): string {
  const parts: string[] = [];
  if (v.kind === "categorical") {
    const cats = v.categories.map((c) => `${JSON.stringify(c.value)} ${pct(c.share)}`);
    if (v.pooled.values > 0) {
      cats.push(
        `other (${v.pooled.values} value${v.pooled.values === 1 ? "" : "s"} with fewer than ${k} rows each, not to be proposed) ${pct(v.pooled.share)}`,
      );
    }
    parts.push(`${v.name} (categorical): ${cats.join(", ")}`);
  } else {
    const s = v.column.summary;
    const kind =
      v.kind === "datetime"
        ? "datetime; give a range as two ISO dates"
        : v.column.integral
          ? "numeric, whole numbers"
          : "numeric";
    let range = `range [${num(v, v.lo)}, ${num(v, v.hi)}]`;
    if (!v.loIsReal || !v.hiIsReal) {
      const p = Math.round(v.endQuantile * 100);
      const ends = [
        !v.loIsReal ? `p${String(p).padStart(2, "0")}` : "min",
        !v.hiIsReal ? `p${100 - p}` : "max",
      ];
      range += ` (${ends.join(" to ")}; rarer extremes are not shown)`;
    }
    const stats: string[] = [range];
    const clipped = !v.loIsReal || !v.hiIsReal ? " (of the values clipped to the range)" : "";
    if (v.kind === "numeric" && v.mean !== null && v.sd !== null) {
      stats.push(`mean ${num(v, v.mean)}, sd ${num(v, v.sd)}${clipped}`);
    }
    if (s?.p25 != null && s.p50 != null && s.p75 != null) {
      stats.push(`quartiles ${num(v, s.p25)}, ${num(v, s.p50)}, ${num(v, s.p75)}`);
    }
    parts.push(`${v.name} (${kind}): ${stats.join(", ")}`);
  }
  if (v.nullVisible) parts.push(`NULL (JSON null) ${pct(v.nullShare)}`);
  if (v.column.special?.length) {
    parts.push(
      `also the values ${v.column.special.map((s) => JSON.stringify(s)).join(", ")} (give them as that text)`,
    );
  }
  if (v.column.offset !== undefined) parts.push(`values are given minus ${v.column.offset}`);
  if (v.column.description) parts.push(`meaning: ${v.column.description}`);
  return parts.join("; ");
}

export interface GuidanceInput {
  groups: Unit[];
  gaps: Gap[];
  subBins: SubBinGap[];
  discrepancy: Discrepancy;
}

/**
 * Joint guidance: for each group grounded this iteration, its cells with real and synthetic shares and
 * the gap, largest deficit first. Cells with fewer than minCell real rows (or naming a value that may not
 * be shown) are pooled into one line; past `maxCells` the rest are summed into another.
 */
export function jointGuide(view: PromptView, input: GuidanceInput, maxCells = 40): string {
  if (input.groups.length === 0) return "(no groups)";
  const tvd = new Map(input.discrepancy.groups.map((g) => [g.unit, g.tvd]));
  const byUnit = gapsByUnit(input.gaps);
  const lines = [
    "(shares of rows as real / synthetic, and the gap real - synthetic: a positive gap is rows the synthetic data lacks)",
  ];
  for (const [i, g] of input.groups.entries()) {
    const t = tvd.get(g.id);
    lines.push(`Group ${i + 1}: ${g.columns.join(", ")}${t === undefined ? "" : ` (TVD ${t.toFixed(3)})`}`);
    const cols = g.columns.map((c) => view.byName.get(c));
    const shown: { label: string; gap: Gap }[] = [];
    const pooled = { cells: 0, real: 0, synth: 0 };
    for (const gap of byUnit.get(g.id) ?? []) {
      const labels = gap.cell.map((code, k) => {
        const v = cols[k];
        return v ? codeLabel(v, code, true) : null;
      });
      if (gap.realN < view.minCell || labels.some((l) => l === null)) {
        pooled.cells++;
        pooled.real += gap.realShare;
        pooled.synth += gap.synthShare;
      } else {
        shown.push({ label: labels.join(", "), gap });
      }
    }
    const more = { cells: 0, real: 0, synth: 0 };
    for (const [j, s] of shown.entries()) {
      if (j < maxCells) {
        lines.push(`- ${s.label}: ${shares(s.gap.realShare, s.gap.synthShare)}`);
      } else {
        more.cells++;
        more.real += s.gap.realShare;
        more.synth += s.gap.synthShare;
      }
    }
    if (more.cells > 0) lines.push(`- ${more.cells} more cells: ${shares(more.real, more.synth)}`);
    if (pooled.cells > 0) {
      lines.push(
        `- ${pooled.cells} other cell${pooled.cells === 1 ? "" : "s"} (fewer than ${view.minCell} real rows each, pooled): ${shares(pooled.real, pooled.synth)}`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * Marginal guidance: for each column, its categories or main bins with real and synthetic shares and the
 * gap; for numeric columns also the sub-bins of the main bin with the largest deficit (Appendix C.1).
 */
export function marginalGuide(view: PromptView, input: GuidanceInput): string {
  const tvd = new Map(input.discrepancy.marginals.map((m) => [m.unit, m.tvd]));
  const byUnit = gapsByUnit(input.gaps);
  const unitOf = new Map(input.discrepancy.marginals.map((m) => [m.columns[0] as string, m.unit] as const));
  const lines: string[] = [];
  for (const v of view.columns) {
    const unit = unitOf.get(v.name);
    const t = unit === undefined ? undefined : tvd.get(unit);
    const items: string[] = [];
    const pooled = { cells: 0, real: 0, synth: 0 };
    const gaps = [...(unit === undefined ? [] : (byUnit.get(unit) ?? []))].sort((a, b) =>
      order(v, a.cell[0] ?? null, b.cell[0] ?? null),
    );
    for (const gap of gaps) {
      const label = codeLabel(v, gap.cell[0] ?? null, false);
      if (label === null || gap.realN < view.minCell) {
        pooled.cells++;
        pooled.real += gap.realShare;
        pooled.synth += gap.synthShare;
      } else {
        items.push(`${label === "is NULL" ? "NULL" : label} ${shares(gap.realShare, gap.synthShare)}`);
      }
    }
    if (pooled.cells > 0) {
      items.push(
        `other (${pooled.cells} ${v.kind === "categorical" ? "values" : "bins"} with fewer than ${view.minCell} real rows each) ${shares(pooled.real, pooled.synth)}`,
      );
    }
    lines.push(`- ${v.name}${t === undefined ? "" : ` (TVD ${t.toFixed(3)})`}: ${items.join("; ")}`);
    const subs = subBinLine(v, view, input.subBins);
    if (subs) lines.push(`  ${subs}`);
  }
  return lines.join("\n");
}

function subBinLine(v: ColumnView, view: PromptView, subBins: SubBinGap[]): string | null {
  if (v.kind === "categorical") return null;
  const mine = subBins.filter((s) => s.column === v.name);
  const first = mine[0];
  if (!first) return null;
  const bin = v.bins.get(String(first.bin));
  if (!bin || bin.hidden) return null;
  const items: string[] = [];
  const pooled = { cells: 0, real: 0, synth: 0 };
  for (const s of mine) {
    const lo = Math.max(s.lo, v.lo);
    const hi = Math.min(s.hi, v.hi);
    const realN = Math.round(s.realShare * view.rows);
    if (realN < view.minCell || hi < lo) {
      pooled.cells++;
      pooled.real += s.realShare;
      pooled.synth += s.synthShare;
      continue;
    }
    items.push(`${rangeLabel(v, lo, hi, s.sub === 0 && bin.first)} ${shares(s.realShare, s.synthShare)}`);
  }
  if (items.length === 0) return null;
  if (pooled.cells > 0) {
    items.push(
      `other (${pooled.cells} sub-bins with fewer than ${view.minCell} real rows) ${shares(pooled.real, pooled.synth)}`,
    );
  }
  return `sub-bins of ${rangeLabel(v, bin.lo, bin.hi, bin.first)}, the bin with the largest gap: ${items.join("; ")}`;
}

function order(v: ColumnView, a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (v.kind === "categorical") {
    const rank = (x: string) => {
      const i = v.categories.findIndex((c) => c.value === x);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    return rank(a) - rank(b) || (a < b ? -1 : 1);
  }
  return Number(a) - Number(b);
}

function gapsByUnit(gaps: Gap[]): Map<string, Gap[]> {
  const out = new Map<string, Gap[]>();
  for (const g of gaps) {
    const list = out.get(g.unit);
    if (list) list.push(g);
    else out.set(g.unit, [g]);
  }
  return out;
}

export interface ProposalPromptInput extends GuidanceInput {
  proposals: number;
  samples: number;
  scenario?: string | undefined;
  maxCells?: number;
}

/** p_proposal with its placeholders filled, and synthor's additions in their own section. */
export function proposalPrompt(view: PromptView, input: ProposalPromptInput): string {
  const head = PROPOSAL_TEMPLATE_HEAD.replace("{joint_guide}", () => jointGuide(view, input, input.maxCells))
    .replace("{marginal_guide}", () => marginalGuide(view, input))
    .replace("{data_desc}", () => describeVariables(view));
  const tail = PROPOSAL_TEMPLATE_TAIL.replace("{n_proposals}", String(input.proposals)).replace(
    "{n_samples}",
    String(input.samples),
  );
  return `${head}${additions(view, input.scenario)}${tail}`;
}

/** p_copula with the variables' summaries and the number of groups filled in. */
export function copulaPrompt(view: PromptView, maxGroups: number): string {
  return COPULA_TEMPLATE.replace("{data_desc}", () => describeVariables(view)).replace(
    "{n_joints}",
    String(maxGroups),
  );
}

/** synthor's additions to p_proposal: the shape of one proposal, the pooled cells, the scenario. */
function additions(view: PromptView, scenario: string | undefined): string {
  const lines = ["", "## Additional Information (added by synthor):", ""];
  lines.push(
    `**Proposal shape:** each "proposal" is an object with one entry per variable, e.g. ${JSON.stringify(exampleProposal(view))}`,
  );
  if (view.pooledAny) {
    lines.push(
      `**Pooled values:** values, cells and extremes held by fewer than ${view.minCell} real rows are pooled as "other" or not shown; propose only values and ranges named above.`,
    );
  }
  if (scenario?.trim()) lines.push(`**Scenario:** ${scenario.trim()}`);
  return `${lines.join("\n")}\n`;
}

function exampleProposal(view: PromptView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of view.columns) {
    if (v.kind === "categorical") {
      out[v.name] = v.categories[0]?.value ?? null;
    } else {
      const bin = [...v.bins.values()].find((b) => !b.hidden);
      const lo = bin?.lo ?? v.lo;
      const hi = bin?.hi ?? v.hi;
      out[v.name] =
        v.kind === "datetime"
          ? [num(v, lo), num(v, hi)]
          : [roundShown(v.column, lo), roundShown(v.column, hi)];
    }
  }
  return out;
}
