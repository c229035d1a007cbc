/**
 * The report's diagnostics (new categories, values outside the real range, repeated keys, NULL shares)
 * and sample rows. Real values appear here only as counts, a column's range (as the histograms' axes show
 * it) and, when the user asked for them (--show-real-rows), real rows.
 */
import type { Evaluation } from "../evaluate/evaluate.ts";
import { VERDICT_THRESHOLDS } from "../evaluate/verdicts.ts";
import { fmt, pct, td } from "./parts.ts";
import { esc, short } from "./svg.ts";

/**
 * A real minimum or maximum as the report shows it: a number to 3 significant digits, a date or time to
 * its month. The extremes are single real rows' values; the report shows them no finer than the
 * histograms' axes do (the JSON output has them exact).
 */
export function coarse(value: string | null): string {
  if (value === null) return "—";
  if (/^-?\d{4,}-\d{2}-\d{2}/.test(value)) return value.slice(0, value.indexOf("-", 1) + 3);
  const x = Number(value);
  return value.trim() !== "" && Number.isFinite(x) ? short(x) : value;
}

/** A count and its share, flagged when any row is concerned. */
function flagged(n: number, share: number | null): string {
  const text = `${n} (${pct(share ?? 0)})`;
  return n > 0 ? `<td class="n flag">${text}</td>` : `<td class="n">${text}</td>`;
}

export function diagnosticsSection(e: Evaluation): string {
  const d = e.diagnostics;
  const categories = d.categories
    .map(
      (c) =>
        `<tr><td>${esc(c.column)}</td>${flagged(c.novelRows, c.novelShare)}${td(c.novelValues)}<td>${c.examples.map(esc).join(", ") || '<span class="muted">none</span>'}</td></tr>`,
    )
    .join("");
  const ranges = d.ranges
    .map(
      (r) =>
        `<tr><td>${esc(r.column)}</td><td>${esc(coarse(r.real.min))} … ${esc(coarse(r.real.max))}</td><td>${esc(r.synth.min ?? "—")} … ${esc(r.synth.max ?? "—")}</td>${flagged(r.below, r.synthValues > 0 ? r.below / r.synthValues : 0)}${flagged(r.above, r.synthValues > 0 ? r.above / r.synthValues : 0)}</tr>`,
    )
    .join("");
  const keyRow = (side: string, k: NonNullable<(typeof d.keys)[number]["synth"]>) =>
    `${td(k.rows)}${td(k.distinctKeys)}${k.repeatedKeys > 0 ? `<td class="n flag">${k.repeatedKeys}</td>` : td(k.repeatedKeys)}${k.surplusRows > 0 ? `<td class="n flag">${k.surplusRows}</td>` : td(k.surplusRows)}${k.nullKeys > 0 ? `<td class="n flag">${k.nullKeys}</td>` : td(k.nullKeys)}<td>${side}</td>`;
  const keys =
    d.keys.length === 0
      ? `<p class="muted">No key: no column was detected as an identifier and no --key was given.</p>`
      : `<table><tr><th>key</th><th>why a key</th><th>rows</th><th>distinct keys</th><th>repeated keys</th><th>rows beyond the first of a key</th><th>NULL keys</th><th>side</th></tr>${d.keys
          .flatMap((k) => [
            `<tr><td>${esc(k.column)}</td><td>${k.source === "--key" ? "--key" : "detected identifier"}</td>${keyRow("real", k.real)}</tr>`,
            k.synth
              ? `<tr><td>${esc(k.column)}</td><td></td>${keyRow("synthetic", k.synth)}</tr>`
              : `<tr><td>${esc(k.column)}</td><td></td><td colspan="6" class="muted">not in the synthetic table</td></tr>`,
          ])
          .join("")}</table>`;
  const nulls = d.nulls
    .map((n) => {
      const differ = Math.abs((n.real.share ?? 0) - (n.synth.share ?? 0)) > VERDICT_THRESHOLDS.rows.asReal;
      return `<tr><td>${esc(n.column)}</td>${td(n.real.nulls)}${td(100 * (n.real.share ?? 0), 3)}${td(n.synth.nulls)}${differ ? `<td class="n flag">${fmt(100 * (n.synth.share ?? 0), 3)}</td>` : td(100 * (n.synth.share ?? 0), 3)}</tr>`;
    })
    .join("");
  const catTable =
    d.categories.length === 0
      ? ""
      : `<div><h3>Category adherence</h3><p class="muted">Synthetic rows whose value no real row has.</p><table><tr><th>column</th><th>synthetic rows with a new value</th><th>new values</th><th>examples (synthetic)</th></tr>${categories}</table></div>`;
  const rangeTable =
    d.ranges.length === 0
      ? ""
      : `<div><h3>Range adherence</h3><p class="muted">Synthetic values below the real minimum or above the real maximum (share of non-NULL values).</p><table><tr><th>column</th><th>real range</th><th>synthetic range</th><th>below</th><th>above</th></tr>${ranges}</table></div>`;
  return `<section><h2 id="diagnostics">Diagnostics</h2><p class="muted">Plain checks before any distance; a highlighted cell is a finding.</p>
<div class="row">${catTable}${rangeTable}<div><h3>NULL shares</h3><p class="muted">Highlighted: the shares differ by more than ${fmt(100 * VERDICT_THRESHOLDS.rows.asReal)} points.</p><table><tr><th>column</th><th>real NULLs</th><th>real (%)</th><th>synthetic NULLs</th><th>synthetic (%)</th></tr>${nulls}</table></div></div>
<h3 style="margin-top:14px">Key uniqueness</h3>${keys}</section>`;
}

export function samplesSection(e: Evaluation): string {
  const s = e.samples;
  const head = `<tr>${s.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const body = (rows: (string | null)[][]) =>
    rows
      .map(
        (r) =>
          `<tr>${r.map((v) => (v === null ? '<td class="muted">NULL</td>' : `<td>${esc(v)}</td>`)).join("")}</tr>`,
      )
      .join("");
  const synth = `<div class="panel"><h3>synthetic (${esc(e.labels.synth)})</h3><table>${head}${body(s.synth)}</table></div>`;
  const real = s.real
    ? `<div class="panel"><h3>real (${esc(e.labels.real)})</h3><table>${head}${body(s.real)}</table></div>`
    : `<p class="muted">Real rows are not shown: this report may leave the data owner. <code>--show-real-rows</code> puts ${s.synth.length} real rows beside these.</p>`;
  return `<section><h2 id="samples">Sample rows</h2><p class="muted">${s.synth.length} rows picked by the seed, compared columns only.</p><div class="row">${synth}${s.real ? real : ""}</div>${s.real ? "" : real}</section>`;
}
