/**
 * The evaluation report: one self-contained HTML file (inline CSS, SVG charts, no script, no font, no
 * request to any server), readable offline and small enough to mail. Sections: headline figures with
 * their verdicts against the real floor and each column's TVD (summary.ts), diagnostics (diagnostics.ts),
 * every column's real-vs-synthetic chart, association heatmaps side by side, groups, flows and target tables
 * (when asked for), detection, utility, queries, privacy, sample rows, the convergence curve of the run, and what
 * every metric means.
 */
import type { Evaluation } from "../evaluate/evaluate.ts";
import type { ColumnFidelity, PairFidelity } from "../evaluate/fidelity.ts";
import type { FlowCell, FlowResult } from "../evaluate/flows.ts";
import type { TargetComparison } from "../evaluate/targets.ts";
import { diagnosticsSection, samplesSection } from "./diagnostics.ts";
import { fmt, pct, td } from "./parts.ts";
import { summarySection } from "./summary.ts";
import {
  barChart,
  esc,
  heatmap,
  histogram,
  lineChart,
  matrixHeatmap,
  percentileRows,
  REAL_COLOR,
  SYNTH_COLOR,
} from "./svg.ts";

/**
 * Renders an evaluation as a complete HTML document.
 *
 * @example writeFileSync("report.html", renderReport(await evaluateSynthetic(db, options)));
 */
export function renderReport(e: Evaluation): string {
  const sections = [
    summarySection(e),
    diagnosticsSection(e),
    columnsSection(e),
    pairsSection(e),
    groupsSection(e),
    flowsSection(e.flows),
    targetsSection(e.targets),
    detectionSection(e),
    utilitySection(e),
    queriesSection(e),
    linksSection(e),
    childSection(e),
    privacySection(e),
    samplesSection(e),
    convergenceSection(e),
    metricsSection(e),
  ].filter((s) => s !== "");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>synthor eval: ${esc(e.labels.synth)} vs ${esc(e.labels.real)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Synthetic data report</h1>
<p class="sub"><b>${esc(e.labels.synth)}</b> (${e.fidelity.rows.synth} rows) against the real table <b>${esc(e.labels.real)}</b> (${e.fidelity.rows.real} rows)${e.labels.holdout ? `, holdout <b>${esc(e.labels.holdout)}</b>` : ""}. ${e.columns.length} columns compared${e.skipped.length ? `; not compared: ${e.skipped.map((s) => `${esc(s.column)} (${esc(s.kind)})`).join(", ")}` : ""}. Seed ${e.seed}.</p>
<nav>${sections
    .map((s) => /<h2 id="([^"]+)">([^<]+)<\/h2>/.exec(s))
    .map((m) => (m ? `<a href="#${m[1]}">${m[2]}</a>` : ""))
    .join(" ")}</nav>
</header>
<main>
${sections.join("\n")}
</main>
<footer>Made by synthor eval. Scores named after SDMetrics metrics are computed as SDMetrics computes them (see "Metrics").</footer>
</body>
</html>
`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#fff;border-bottom:1px solid #ddd;padding:16px 28px}
h1{margin:0 0 4px;font-size:22px}
h2{margin:28px 0 10px;font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{margin:0 0 6px;font-size:14px}
.sub{margin:0;color:#555}
nav a{margin-right:12px;font-size:13px}
main{padding:0 28px 28px}
footer{padding:12px 28px;color:#777;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}
.card .v{font-size:24px;font-weight:600}
.card .l{color:#555;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
.panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 12px;overflow-x:auto}
.row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
table{border-collapse:collapse;font-size:12.5px;background:#fff}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f0f0f0}
.warn{background:#fff4e5;border:1px solid #f0b36a;border-radius:6px;padding:8px 12px;margin:8px 0}
.ok{color:#2e7d32}
.muted{color:#777}
.metrics small{color:#555}
.card .verdict{font-size:13px;margin-top:2px}
.card.verdict-as-real{border-left:6px solid #2e8b57}
.card.verdict-as-real .word{color:#2e7d32}
.card.verdict-close{border-left:6px solid #d4a017;background:#fffbea}
.card.verdict-close .word{color:#8a6d00}
.card.verdict-off{border-left:6px solid #c0392b;background:#fdecea}
.card.verdict-off .word{color:#b02a1c}
.card.verdict-none{border-left:6px solid #bbb}
.card{max-width:260px}
td.flag{background:#fdecea;font-weight:600}
`;

function columnsSection(e: Evaluation): string {
  const panels = e.fidelity.columns.map((c) => columnPanel(c)).join("\n");
  return `<section><h2 id="columns">Columns</h2><p class="muted">Shares of each value (categorical) or of equal-width bins over both tables' range (numeric), real in blue, synthetic in orange. Hover a bar for its numbers.</p><div class="grid">${panels}</div></section>`;
}

function columnPanel(c: ColumnFidelity): string {
  const chart = c.histogram
    ? histogram(c.column, c.histogram)
    : barChart(
        c.column,
        (c.categories ?? []).map((x) => ({
          label: x.value === null ? "NULL" : x.value,
          real: x.real,
          synth: x.synth,
        })),
      );
  const metrics =
    c.kind === "numeric"
      ? `W1 ${fmt(c.w1)}${c.datetime ? " s" : ""} · KS ${fmt(c.ks)} · TVD (deciles) ${fmt(c.tvd)} · JS distance ${fmt(c.jsDistance)}`
      : `TVD ${fmt(c.tvd)} · JS divergence ${fmt(c.jsDivergence)} · JS distance ${fmt(c.jsDistance)}`;
  const nulls =
    c.realNullShare > 0 || c.synthNullShare > 0
      ? ` · NULL ${fmt(100 * c.realNullShare, 3)}% / ${fmt(100 * c.synthNullShare, 3)}%`
      : "";
  return `<div class="panel"><h3>${esc(c.column)} <span class="muted">(${c.datetime ? "datetime" : c.kind})</span></h3>${chart}<div><small>${c.metric} <b>${fmt(c.score, 4)}</b> · ${metrics}${nulls}</small></div></div>`;
}

function pairsSection(e: Evaluation): string {
  const pairs = e.fidelity.pairs;
  if (pairs.length === 0) return "";
  const names = e.fidelity.columns.map((c) => c.column);
  const index = new Map<string, PairFidelity>();
  for (const p of pairs) {
    index.set(JSON.stringify(p.columns), p);
    index.set(JSON.stringify([p.columns[1], p.columns[0]]), p);
  }
  const pick = (side: "real" | "synth" | "diff") => (i: number, j: number) => {
    const a = names[i] ?? "";
    const b = names[j] ?? "";
    if (i === j) return { v: side === "diff" ? 0 : 1, tip: a };
    const p = index.get(JSON.stringify([a, b]));
    const v = p ? p.association[side] : null;
    const measure = p?.association.measure === "pearson" ? "Pearson r" : "Cramér's V";
    return {
      v: v === null ? null : side === "diff" ? Math.abs(v) : v,
      tip: `${a} × ${b}: ${measure} ${side === "diff" ? "synthetic - real" : side} ${fmt(v)}`,
    };
  };
  const maps = [
    heatmap("real", names, pick("real"), "diverging"),
    heatmap("synthetic", names, pick("synth"), "diverging"),
    heatmap("|synthetic - real|", names, pick("diff"), "sequential"),
  ];
  const worst = [...pairs].sort((a, b) => b.tvd - a.tvd).slice(0, 15);
  const rows = worst
    .map(
      (p) =>
        `<tr><td>${esc(p.columns[0])} × ${esc(p.columns[1])}</td><td>${p.association.measure === "pearson" ? "Pearson r" : "Cramér's V"}</td>${td(p.association.real)}${td(p.association.synth)}${td(p.association.diff)}${td(p.tvd)}${td(p.jsDistance)}<td>${p.metric}</td>${td(p.score)}<td>${p.meetsThreshold ? "yes" : "no"}</td></tr>`,
    )
    .join("");
  return `<section><h2 id="pairs">Pairs</h2><p class="muted">Association of every pair: Pearson's r for two numeric columns, Cramér's V otherwise (numeric columns over the real deciles). Red is positive, blue negative.</p>
<div class="row">${maps.map((m) => `<div class="panel">${m}</div>`).join("")}</div>
<h3 style="margin-top:14px">Pairs whose joint table differs most</h3>
<table><tr><th>pair</th><th>measure</th><th>real</th><th>synthetic</th><th>difference</th><th>TVD</th><th>JS distance</th><th>SDMetrics metric</th><th>score</th><th>counts in pair trends</th></tr>${rows}</table></section>`;
}

function groupsSection(e: Evaluation): string {
  if (e.fidelity.groups.length === 0) return "";
  const rows = e.fidelity.groups
    .map(
      (g) =>
        `<tr><td>${g.columns.map(esc).join(" × ")}</td>${td(g.tvd)}${td(g.jsDivergence)}${td(g.jsDistance)}</tr>`,
    )
    .join("");
  return `<section><h2 id="groups">Groups</h2><table><tr><th>group</th><th>TVD</th><th>JS divergence</th><th>JS distance</th></tr>${rows}</table></section>`;
}

/** Heatmap axes keep at most this many values: a city of 500 zones would otherwise draw 250,000 cells. */
export const FLOW_AXIS_LIMIT = 40;

/**
 * The flows with each axis cut to {@link FLOW_AXIS_LIMIT} values: the values with the most real and
 * synthetic trips, the rest pooled into one last value "(k others)" whose cells sum theirs.
 */
function poolFlowAxes(f: FlowResult): {
  fromValues: (string | null)[];
  toValues: (string | null)[];
  cells: FlowCell[];
  pooled: number;
} {
  const axis = (values: (string | null)[], pick: (c: FlowCell) => string | null) => {
    if (values.length <= FLOW_AXIS_LIMIT) return { values, map: (v: string | null) => v, pooled: 0 };
    const weight = new Map<string | null, number>();
    for (const c of f.cells) weight.set(pick(c), (weight.get(pick(c)) ?? 0) + c.real.share + c.synth.share);
    // Ties keep the axis order (sort is stable), so the same flows give the same page.
    const top = new Set(
      [...values].sort((a, b) => (weight.get(b) ?? 0) - (weight.get(a) ?? 0)).slice(0, FLOW_AXIS_LIMIT - 1),
    );
    const other = `(${values.length - top.size} others)`;
    return {
      values: [...values.filter((v) => top.has(v)), other],
      map: (v: string | null) => (top.has(v) ? v : other),
      pooled: values.length - top.size,
    };
  };
  const from = axis(f.fromValues, (c) => c.from);
  const to = axis(f.toValues, (c) => c.to);
  if (from.pooled === 0 && to.pooled === 0) {
    return { fromValues: f.fromValues, toValues: f.toValues, cells: f.cells, pooled: 0 };
  }
  const add = (a: { n: number; share: number }, b: { n: number; share: number }) => {
    a.n += b.n;
    a.share += b.share;
  };
  const merged = new Map<string, FlowCell>();
  for (const c of f.cells) {
    const key = JSON.stringify([from.map(c.from), to.map(c.to)]);
    let m = merged.get(key);
    if (!m) {
      m = {
        from: from.map(c.from),
        to: to.map(c.to),
        real: { n: 0, share: 0 },
        synth: { n: 0, share: 0 },
        baseline: c.baseline ? { n: 0, share: 0 } : null,
      };
      merged.set(key, m);
    }
    add(m.real, c.real);
    add(m.synth, c.synth);
    if (m.baseline && c.baseline) add(m.baseline, c.baseline);
  }
  return {
    fromValues: from.values,
    toValues: to.values,
    cells: [...merged.values()],
    pooled: from.pooled + to.pooled,
  };
}

function flowsSection(f: FlowResult | undefined): string {
  if (!f) return "";
  const [fromName, toName] = f.columns;
  const show = (v: string | null) => (v === null ? "NULL" : v);
  const g = poolFlowAxes(f);
  const index = new Map(g.cells.map((c) => [JSON.stringify([c.from, c.to]), c]));
  const at = (i: number, j: number): FlowCell | undefined =>
    index.get(JSON.stringify([g.fromValues[i] ?? null, g.toValues[j] ?? null]));
  const rows = g.fromValues.map(show);
  const columns = g.toValues.map(show);
  const axes = { rows: fromName, columns: toName };
  const where = (c: FlowCell) => `${show(c.from)} → ${show(c.to)}`;
  const base = (c: FlowCell) => c.baseline?.share ?? 0;
  const maxShare = Math.max(
    1e-12,
    ...g.cells.flatMap((c) => [c.real.share, c.synth.share, ...(c.baseline ? [c.baseline.share] : [])]),
  );
  const shares = (name: string, pick: (c: FlowCell) => { n: number; share: number } | null) =>
    matrixHeatmap(
      `flows: ${name}`,
      rows,
      columns,
      (i, j) => {
        const c = at(i, j);
        const x = c ? pick(c) : null;
        return {
          v: (x?.share ?? 0) / maxShare,
          tip: c && x ? `${where(c)}: ${name} ${pct(x.share)} (${x.n} rows)` : `${name}: no rows`,
        };
      },
      "sequential",
      axes,
      `darkest ${pct(maxShare)} of the rows`,
    );
  const difference = (name: string, minus: (c: FlowCell) => number, minusName: string) => {
    const maxDiff = Math.max(1e-12, ...g.cells.map((c) => Math.abs(c.synth.share - minus(c))));
    return matrixHeatmap(
      `flows: ${name}`,
      rows,
      columns,
      (i, j) => {
        const c = at(i, j);
        if (!c) return { v: 0, tip: "no rows on either side" };
        const d = c.synth.share - minus(c);
        return {
          v: d / maxDiff,
          tip: `${where(c)}: synthetic ${pct(c.synth.share)} − ${minusName} ${pct(minus(c))} = ${d >= 0 ? "+" : ""}${fmt(100 * d, 3)} points`,
        };
      },
      "diverging",
      axes,
      `red: more synthetic, blue: fewer; darkest ±${fmt(100 * maxDiff, 3)} points`,
    );
  };
  const filter = f.filter === null ? "all rows" : `rows where <code>${esc(f.filter)}</code>`;
  const tvd = `TVD synthetic vs real <b>${fmt(f.tvd.synthReal)}</b>${f.tvd.synthBaseline === null ? "" : ` · synthetic vs baseline <b>${fmt(f.tvd.synthBaseline)}</b> · baseline vs real <b>${fmt(f.tvd.baselineReal)}</b>`}`;
  const maps = [
    shares("real", (c) => c.real),
    shares("synthetic", (c) => c.synth),
    difference("synthetic − real", (c) => c.real.share, "real"),
  ];
  let changed = "";
  if (f.rows.baseline !== null) {
    changed = `<h3 style="margin-top:14px">What changed against the baseline ${esc(f.baselineLabel ?? "")}</h3><p class="muted">The baseline is another synthetic table, e.g. the run before a tilt: red cells gained trips, blue ones gave them up (share points of ${filter}).</p>
<div class="row">${[shares("baseline", (c) => c.baseline), difference("synthetic − baseline", base, "baseline")].map((m) => `<div class="panel">${m}</div>`).join("")}</div>`;
  }
  const against = f.rows.baseline === null ? (c: FlowCell) => c.real.share : base;
  const moved = [...f.cells]
    .sort((a, b) => Math.abs(b.synth.share - against(b)) - Math.abs(a.synth.share - against(a)))
    .slice(0, 12)
    .map(
      (c) =>
        `<tr><td>${esc(show(c.from))}</td><td>${esc(show(c.to))}</td>${td(100 * c.real.share, 3)}${f.rows.baseline === null ? "" : td(100 * base(c), 3)}${td(100 * c.synth.share, 3)}${td(100 * (c.synth.share - against(c)), 3)}</tr>`,
    )
    .join("");
  const head = `<tr><th>${esc(fromName)}</th><th>${esc(toName)}</th><th>real (%)</th>${f.rows.baseline === null ? "" : "<th>baseline (%)</th>"}<th>synthetic (%)</th><th>synthetic − ${f.rows.baseline === null ? "real" : "baseline"} (points)</th></tr>`;
  return `<section><h2 id="flows">Flows</h2><p class="muted">Share of ${filter} in each cell of ${esc(fromName)} (rows) × ${esc(toName)} (columns): ${f.rows.real} real and ${f.rows.synth} synthetic rows${f.rows.baseline === null ? "" : `, ${f.rows.baseline} in the baseline`}. Share heatmaps use one scale.${g.pooled > 0 ? ` The heatmaps keep the ${FLOW_AXIS_LIMIT - 1} values of each axis with the most trips and pool the rest as "others"; the TVDs and the table use every cell.` : ""} ${tvd}.</p>
<div class="row">${maps.map((m) => `<div class="panel">${m}</div>`).join("")}</div>${changed}
<h3 style="margin-top:14px">Cells that moved most</h3><table>${head}${moved}</table></section>`;
}

function targetsSection(targets: TargetComparison[] | undefined): string {
  if (!targets || targets.length === 0) return "";
  const parts = targets.map((t) => targetPanel(t));
  return `<section><h2 id="targets">Target tables</h2><p class="muted">Aggregate tables the synthetic table was made to match (<code>synthor synth --targets</code>). Their columns need not be in the real table, so the reference here is the target table's shares.</p>${parts.join("\n")}</section>`;
}

function targetPanel(t: TargetComparison): string {
  const show = (v: string | null) => (v === null ? "NULL" : v);
  const label = (cell: (string | null)[]) => cell.map(show).join(" · ");
  const last = t.columns.at(-1) ?? "";
  const condition = t.columns.slice(0, -1);
  const withinText =
    t.withinTvd === null
      ? ""
      : `; of ${esc(last)} within each ${condition.map(esc).join(" × ")} <b>${fmt(t.withinTvd)}</b> (weighted by the target's shares: the mix, whatever the ${condition.map(esc).join(" × ")} profile)`;
  const intro = `<h3>${esc(t.label)}: ${t.columns.map(esc).join(" × ")}</h3><p>${fmt(t.total.target, 6)} by <code>${esc(t.weight)}</code> in the target, ${t.total.synth} synthetic rows. TVD of the joint shares <b>${fmt(t.tvd)}</b>${withinText}.</p>`;
  let charts: string;
  if (condition.length === 0) {
    const cells = [...t.cells].sort((a, b) => b.target.share - a.target.share).slice(0, 30);
    charts = `<div class="panel">${barChart(
      `${t.label}: ${last}`,
      cells.map((c) => ({ label: label(c.cell), real: c.target.share, synth: c.synth.share })),
      ["target", "synthetic"],
    )}</div>`;
  } else {
    const rows = t.conditions.map((c) => label(c.condition));
    const columns = [...new Set(t.cells.map((c) => show(c.cell.at(-1) ?? null)))];
    const index = new Map(
      t.cells.map((c) => [`${label(c.cell.slice(0, -1))}\u0000${show(c.cell.at(-1) ?? null)}`, c]),
    );
    const at = (i: number, j: number) => index.get(`${rows[i]}\u0000${columns[j]}`);
    const maxWithin = Math.max(1e-12, ...t.cells.flatMap((c) => [c.target.within, c.synth.within]));
    const share = (name: "target" | "synthetic") =>
      matrixHeatmap(
        name,
        rows,
        columns,
        (i, j) => {
          const c = at(i, j);
          const x = c ? (name === "target" ? c.target : c.synth) : null;
          return {
            v: (x?.within ?? 0) / maxWithin,
            tip:
              c && x
                ? `${label(c.cell)}: ${name} ${pct(x.within)} of ${rows[i]} (${pct(x.share)} of all)`
                : "no rows",
          };
        },
        "sequential",
        { rows: condition.join(" × "), columns: last },
        `share of each row; darkest ${pct(maxWithin)}`,
      );
    const maxDiff = Math.max(1e-12, ...t.cells.map((c) => Math.abs(c.synth.within - c.target.within)));
    const diff = matrixHeatmap(
      "synthetic − target",
      rows,
      columns,
      (i, j) => {
        const c = at(i, j);
        if (!c) return { v: 0, tip: "no rows" };
        const d = c.synth.within - c.target.within;
        return {
          v: d / maxDiff,
          tip: `${label(c.cell)}: synthetic ${pct(c.synth.within)} − target ${pct(c.target.within)} of ${rows[i]} = ${d >= 0 ? "+" : ""}${fmt(100 * d, 3)} points`,
        };
      },
      "diverging",
      { rows: condition.join(" × "), columns: last },
      `red: more synthetic, blue: fewer; darkest ±${fmt(100 * maxDiff, 3)} points`,
    );
    const profile = barChart(
      `${condition.join(" × ")} profile`,
      t.conditions.map((c) => ({ label: label(c.condition), real: c.targetShare, synth: c.synthShare })),
      ["target", "synthetic"],
    );
    const panels = [share("target"), share("synthetic"), diff].map((m) => `<div class="panel">${m}</div>`);
    panels.push(
      `<div class="panel"><h3>${condition.map(esc).join(" × ")}: shares of the target and synthetic rows</h3>${profile}</div>`,
    );
    charts = `<div class="row">${panels.join("")}</div>`;
  }
  const worst = [...t.cells]
    .sort((a, b) => Math.abs(b.target.share - b.synth.share) - Math.abs(a.target.share - a.synth.share))
    .slice(0, 10)
    .map(
      (c) =>
        `<tr><td>${esc(label(c.cell))}</td>${td(100 * c.target.share, 3)}${td(100 * c.synth.share, 3)}${condition.length === 0 ? "" : `${td(100 * c.target.within, 3)}${td(100 * c.synth.within, 3)}`}</tr>`,
    )
    .join("");
  const within = condition.length === 0 ? "" : `<th>target, within (%)</th><th>synthetic, within (%)</th>`;
  return `<div style="margin-bottom:18px">${intro}${charts}<h3 style="margin-top:10px">Cells that differ most</h3><table><tr><th>cell</th><th>target (%)</th><th>synthetic (%)</th>${within}</tr>${worst}</table></div>`;
}

function detectionSection(e: Evaluation): string {
  const d = e.detection;
  if (!d) return "";
  const rows = d.models
    .map(
      (m) =>
        `<tr><td>${m.model.replaceAll("_", " ")}</td>${td(m.accuracy)}${td(m.gap)}${td(m.auc)}<td>${m.folds.map((x) => fmt(x, 3)).join(", ")}</td></tr>`,
    )
    .join("");
  return `<section><h2 id="detection">Detection (C2ST)</h2><p class="muted">Classifiers try to tell ${d.rows} real rows from ${d.rows} synthetic rows, ${d.folds}-fold cross-validated, on one-hot categories and real-decile bins. Accuracy 0.5 means they cannot; the gap is |accuracy − 0.5|.</p>
<table><tr><th>model</th><th>accuracy</th><th>gap</th><th>ROC AUC</th><th>per fold</th></tr>${rows}</table></section>`;
}

function utilitySection(e: Evaluation): string {
  const u = e.utility;
  if (!u) return "";
  const rows = u.models
    .map(
      (m) =>
        `<tr><td>${m.model.replaceAll("_", " ")}</td>${td(m.synth.accuracy)}${td(m.real.accuracy)}${td(m.accuracyDiff)}${td(m.synth.f1Macro)}${td(m.real.f1Macro)}${td(m.synth.auc)}${td(m.real.auc)}</tr>`,
    )
    .join("");
  const source =
    u.testSource === "holdout"
      ? "the holdout table"
      : "20% of the real table split off (no holdout was given, so the synthetic table may have seen these rows)";
  return `<section><h2 id="utility">Utility: train on synthetic, test on real</h2><p class="muted">Predicting <b>${esc(u.target)}</b> (${u.classes.length} classes) from the other columns, trained on ${u.rows.trainSynth} synthetic or ${u.rows.trainReal} real rows, tested on ${u.rows.test} rows of ${source}. Always answering the most frequent class scores ${fmt(u.majorityAccuracy, 3)}.</p>
<table><tr><th>model</th><th>accuracy (synthetic)</th><th>accuracy (real)</th><th>difference</th><th>macro F1 (synthetic)</th><th>macro F1 (real)</th><th>AUC (synthetic)</th><th>AUC (real)</th></tr>${rows}</table></section>`;
}

function queriesSection(e: Evaluation): string {
  if (!e.queries) return "";
  const row = (q: NonNullable<Evaluation["queries"]>[number]) =>
    `<tr><td>${esc(q.name)}</td>${td(q.real, 6)}${td(q.synth, 6)}${td(q.absError)}${td(q.relError === null ? null : 100 * q.relError, 3)}</tr>`;
  const head =
    "<tr><th>query</th><th>real</th><th>synthetic</th><th>absolute error</th><th>relative error (%)</th></tr>";
  const l = e.links;
  const read = l
    ? `The queries read the parent tables as <code>${esc(l.names.parent)}</code> and the child tables as <code>${esc(l.names.child)}</code>, linked by <code>${esc(l.key)}</code>.`
    : "";
  const cats = e.queryCategories;
  if (!cats) {
    return `<section><h2 id="queries">Queries</h2><p class="muted">Each query ran on the real table and on the synthetic one. ${read}</p><table>${head}${e.queries.map(row).join("")}</table></section>`;
  }
  const summary = cats
    .map(
      (c) =>
        `<tr><td><a href="#queries-${esc(slug(c.category))}">${esc(c.category)}</a></td>${td(c.results)}${td(c.scored)}${td(c.meanRelError, 3)}</tr>`,
    )
    .join("");
  const groups = [...cats.map((c) => c.category), null]
    .map((category) => {
      const rows = (e.queries ?? []).filter((q) => q.category === category);
      if (rows.length === 0) return "";
      const title = category === null ? "Without a category" : category;
      const id = category === null ? "queries-none" : `queries-${slug(category)}`;
      return `<h3 id="${esc(id)}" style="margin-top:14px">${esc(title)}</h3><table>${head}${rows.map(row).join("")}</table>`;
    })
    .join("");
  return `<section><h2 id="queries">Queries</h2><p class="muted">Each query ran on the real tables and on the synthetic ones. ${read} The mean relative error of a category is over its queries whose real value is not 0 (the paper's Table 4).</p>
<table><tr><th>category</th><th>queries</th><th>with a relative error</th><th>mean relative error</th></tr>${summary}</table>${groups}</section>`;
}

function linksSection(e: Evaluation): string {
  const l = e.links;
  if (!l) return "";
  const row = (name: string, x: typeof l.real) =>
    `<tr><td>${esc(name)}</td>${td(x.parents)}${td(x.distinctKeys)}${td(x.children)}${td(x.childrenPerParent, 4)}${td(x.orphans)}${td(x.childless)}</tr>`;
  const warnings = l.warnings.map((w) => `<div class="warn">⚠ ${esc(w)}</div>`).join("");
  return `<section><h2 id="links">Linked tables</h2><p class="muted">How the rows of ${esc(l.names.child)} point to rows of ${esc(l.names.parent)} by ${esc(l.key)}, on each side. The other sections compare the ${esc(l.names.parent)} tables.</p><table><tr><th>side</th><th>${esc(l.names.parent)}</th><th>distinct keys</th><th>${esc(l.names.child)}</th><th>${esc(l.names.child)} per row</th><th>orphans</th><th>without ${esc(l.names.child)}</th></tr>${row(`real (${l.labels.realChild})`, l.real)}${row(`synthetic (${l.labels.synthChild})`, l.synth)}</table>${warnings}</section>`;
}

function childSection(e: Evaluation): string {
  const f = e.childFidelity;
  if (!f || !e.links) return "";
  const name = e.links.names.child;
  const panels = f.columns.map((c) => columnPanel(c)).join("\n");
  const worst = [...f.pairs].sort((a, b) => b.tvd - a.tvd).slice(0, 10);
  const rows = worst
    .map(
      (p) =>
        `<tr><td>${esc(p.columns[0])} × ${esc(p.columns[1])}</td>${td(p.association.real)}${td(p.association.synth)}${td(p.tvd)}${td(p.score)}</tr>`,
    )
    .join("");
  const pairs =
    worst.length > 0
      ? `<h3 style="margin-top:14px">Pairs whose joint table differs most</h3><table><tr><th>pair</th><th>association (real)</th><th>association (synthetic)</th><th>TVD</th><th>score</th></tr>${rows}</table>`
      : "";
  return `<section><h2 id="child">Child table: ${esc(name)}</h2><p class="muted">The ${esc(name)} tables compared column by column as the sections above compare the ${esc(e.links.names.parent)} (${f.rows.real} real rows, ${f.rows.synth} synthetic; the key ${esc(e.links.key)} left out). Quality score ${fmt(f.scores.quality, 3)}: column shapes ${fmt(f.scores.columnShapes, 3)}, column pair trends ${fmt(f.scores.columnPairTrends, 3)}.</p><div class="grid">${panels}</div>${pairs}</section>`;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

function privacySection(e: Evaluation): string {
  const p = e.privacy;
  if (!p) return "";
  const exact = `<p>${p.exactMatches.matches} of ${p.exactMatches.rows} synthetic rows (${fmt(100 * (p.exactMatches.share ?? 0), 3)}%) are identical to a real row in every compared column${p.holdoutExactMatches ? `; for real holdout rows it is ${p.holdoutExactMatches.matches} of ${p.holdoutExactMatches.rows} (${fmt(100 * (p.holdoutExactMatches.share ?? 0), 3)}%)` : ""}.</p>`;
  let dcr = "";
  if (p.dcr) {
    const d = p.dcr;
    const base = d.baselineKind === "holdout" ? "holdout → real" : "real → other real";
    const chart = percentileRows("distance to closest record", [
      { name: "synthetic → real", color: SYNTH_COLOR, ...d.synth },
      { name: base, color: REAL_COLOR, ...d.baseline },
    ]);
    const row = (name: string, x: typeof d.synth) =>
      `<tr><td>${name}</td>${td(x.n)}${td(x.min)}${td(x.p05)}${td(x.p25)}${td(x.p50)}${td(x.p75)}${td(x.p95)}${td(x.mean)}</tr>`;
    const rare = p.rare;
    const rareRows = rare
      ? `${rare.synth ? row(`synthetic with a rare category (${rare.synthRows})`, rare.synth) : ""}${rare.baseline ? row(`${base} with a rare category`, rare.baseline) : ""}`
      : "";
    const rareText = rare
      ? ` Rows with a rare category (one of the ${rare.values} fewer than ${rare.minCell} real rows hold): ${rare.synthRows} synthetic, ${rare.synthNearCopies} of them near copies; ${rare.baselineRows} ${d.baselineKind === "holdout" ? "holdout" : "real"}, ${rare.baselineNearCopies} near copies.`
      : "";
    dcr = `<div class="row"><div class="panel">${chart}</div><div><table><tr><th>rows</th><th>n</th><th>min</th><th>5%</th><th>25%</th><th>median</th><th>75%</th><th>95%</th><th>mean</th></tr>${row("synthetic → real", d.synth)}${row(base, d.baseline)}${rareRows}</table>
<p>${fmt(100 * d.closerThanBaselineP05, 3)}% of synthetic rows are closer to a real row than the baseline's 5th percentile (about 5% is expected); ${fmt(100 * d.zeroShare, 3)}% are at distance 0; ${fmt(100 * d.nearCopies.synth, 3)}% are near copies, within ${fmt(d.nearCopies.distance, 3)} of a real row (${base}: ${fmt(100 * d.nearCopies.baseline, 3)}%).${esc(rareText)}</p></div></div>`;
  }
  const warnings = p.warnings.length
    ? p.warnings.map((w) => `<div class="warn">⚠ ${esc(w)}</div>`).join("")
    : `<p class="ok">No sign of copied rows.</p>`;
  return `<section><h2 id="privacy">Privacy</h2>${exact}<p class="muted">Distance to closest record (DCR): the mean over columns of min(|x − y| / range, 1) for numbers and 0/1 mismatch for categories, to the nearest real row.</p>${dcr}${warnings}</section>`;
}

function convergenceSection(e: Evaluation): string {
  const c = e.convergence;
  if (!c || c.points.length === 0) {
    return `<section><h2 id="convergence">Convergence</h2><p class="muted">No run history, so no convergence curve: ${esc(e.convergenceNote ?? "the evaluation was given none")}.</p></section>`;
  }
  const series = [
    {
      name: "mean TVD",
      color: "#333333",
      points: c.points.map((p): [number, number] => [p.iteration, p.meanTvd]),
    },
  ];
  const marginal = c.points.filter((p) => p.marginalTvd !== null);
  if (marginal.length > 0) {
    series.push({
      name: "marginal TVD",
      color: REAL_COLOR,
      points: marginal.map((p): [number, number] => [p.iteration, p.marginalTvd as number]),
    });
  }
  const group = c.points.filter((p) => p.groupTvd !== null && p.groupTvd > 0);
  if (group.length > 0) {
    series.push({
      name: "group TVD",
      color: SYNTH_COLOR,
      points: group.map((p): [number, number] => [p.iteration, p.groupTvd as number]),
    });
  }
  const last = c.points.at(-1);
  return `<section><h2 id="convergence">Convergence</h2><p class="muted">Run ${c.runId} (${esc(c.planner)} planner, ${esc(c.status)}): ${c.points.length} iterations, ${last?.rows ?? 0} rows, final mean TVD ${fmt(last?.meanTvd)}.</p><div class="panel">${lineChart("convergence", "iteration", series)}</div></section>`;
}

function metricsSection(e: Evaluation): string {
  const rows = e.metrics
    .map(
      (m) =>
        `<tr><td><b>${esc(m.name)}</b><br><small><code>${esc(m.key)}</code></small></td><td>${esc(m.goal)}</td><td>${esc(m.range)}</td><td>${esc(m.sdmetrics ?? "—")}</td><td>${esc(m.description)}</td></tr>`,
    )
    .join("");
  return `<section class="metrics"><h2 id="metrics">Metrics</h2><table><tr><th>metric</th><th>goal</th><th>range</th><th>SDMetrics</th><th>definition</th></tr>${rows}</table></section>`;
}
