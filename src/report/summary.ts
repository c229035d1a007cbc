/**
 * The report's first section: every headline figure with its verdict against the real floor ("as real",
 * "close", "off"; src/evaluate/verdicts.ts), and each column's TVD on an axis scaled to the data with its
 * real floor marked, worst first.
 */
import type { Evaluation } from "../evaluate/evaluate.ts";
import { VERDICT_THRESHOLDS, type Verdict } from "../evaluate/verdicts.ts";
import { fmt, pct } from "./parts.ts";
import { distanceBars, esc } from "./svg.ts";

/** Figures that are shares of rows read better as percentages. */
const PERCENT_KEYS = new Set(["privacy.exactMatches.share", "privacy.dcr.closerThanBaselineP05"]);

function shown(v: Verdict, x: number): string {
  return PERCENT_KEYS.has(v.key) ? pct(x) : fmt(x, 3);
}

/** A headline card: the figure, its verdict word, what it means and the real floor it is read against. */
function verdictCard(v: Verdict): string {
  const tip = `${v.label}: ${shown(v, v.value)}; real floor ${shown(v, v.floor)} (${v.floorSource}); ${fmt(100 * v.excess, 3)} points of rows beyond it`;
  return `<div class="card verdict-${v.word.replace(" ", "-")}" title="${esc(tip)}"><div class="v">${shown(v, v.value)}</div><div class="l">${esc(v.label)}</div><div class="verdict"><b class="word">${esc(v.word)}</b> · real floor ${shown(v, v.floor)}</div><div class="l">${esc(v.meaning)}</div></div>`;
}

/** A card without a verdict (a figure with no real floor here), styled apart from judged ones. */
function plainCard(value: string, label: string, tip: string): string {
  return `<div class="card verdict-none" title="${esc(tip)}"><div class="v">${value}</div><div class="l">${esc(label)}</div><div class="verdict muted">no real floor</div></div>`;
}

export function summarySection(e: Evaluation): string {
  const v = e.verdicts;
  const cards = v.headline.map(verdictCard);
  const s = e.fidelity.scores;
  if (!v.floor) {
    cards.unshift(
      plainCard(fmt(s.quality, 3), "quality score", "SDMetrics QualityReport score (1 is best)"),
      plainCard(fmt(s.columnShapes, 3), "column shapes", "mean of KSComplement and TVComplement"),
      plainCard(fmt(s.columnPairTrends, 3), "column pair trends", "mean of the pair scores"),
    );
  }
  if (e.privacy && !e.privacy.holdoutExactMatches) {
    cards.push(
      plainCard(
        pct(e.privacy.exactMatches.share ?? 0),
        "synthetic rows identical to a real row",
        "exact matches in every compared column; give --holdout for the real floor",
      ),
    );
  }
  const warnings = (e.privacy?.warnings ?? []).map((w) => `<div class="warn">⚠ ${esc(w)}</div>`).join("");
  const floorText = v.floor
    ? `Real floor: the same figures between ${v.floor.source === "holdout" ? `the real table and the holdout (${v.floor.rows.a} and ${v.floor.rows.b} rows)` : `two halves of the real table (${v.floor.rows.a} and ${v.floor.rows.b} rows, split by the seed)`}, scaled to these tables' sizes (×${fmt(v.floor.scale, 3)}); chance for detection; the model trained on real rows for utility.`
    : `No real floor for the fidelity figures: ${esc(v.why ?? "")}.`;
  const legend = `<p class="muted">${floorText} A figure reads <b>as real</b> up to ${pct(VERDICT_THRESHOLDS.rows.asReal)} of rows beyond its floor, <b>close</b> up to ${pct(VERDICT_THRESHOLDS.rows.close)}, <b>off</b> beyond; privacy figures are <b>as real</b> only at or below their floor and <b>off</b> beyond ${pct(VERDICT_THRESHOLDS.privacy.close)} (see "Verdicts" in docs/eval.md).</p>`;
  return `<section><h2 id="summary">Summary</h2><div class="cards">${cards.join("")}</div>${legend}${warnings}
<div class="panel" style="margin-top:12px"><h3>TVD per column, worst first${v.floor ? " (black tick: real floor)" : ""}</h3>${columnBars(e)}</div></section>`;
}

function columnBars(e: Evaluation): string {
  const judged = e.verdicts.columns;
  const rows =
    judged.length > 0
      ? judged.map((c) => ({
          label: c.column,
          value: c.tvd,
          floor: c.floor,
          word: c.word,
          tip: `${c.column}: TVD ${fmt(c.tvd)}, real floor ${fmt(c.floor)}: ${c.word}`,
        }))
      : [...e.fidelity.columns]
          .sort((a, b) => b.tvd - a.tvd)
          .map((c) => ({
            label: c.column,
            value: c.tvd,
            floor: null,
            word: "none",
            tip: `${c.column}: TVD ${fmt(c.tvd)}`,
          }));
  return distanceBars("column TVD", rows, "TVD");
}
