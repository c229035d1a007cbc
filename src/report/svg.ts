/**
 * SVG charts as strings, drawn on the server so the report needs no script and no network. Every chart
 * is an `<svg class="chart">` whose data marks carry the class `mark` (the browser test counts them) and
 * a `<title>` with the exact numbers (shown on hover).
 */

/** Escapes text for HTML and SVG content and attribute values. */
export function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

export const REAL_COLOR = "#3366aa";
export const SYNTH_COLOR = "#e07b39";

/** A number for labels: 3 significant digits, thousands as k/M. */
export function short(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${Number((x / 1e9).toPrecision(3))}G`;
  if (a >= 1e6) return `${Number((x / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((x / 1e3).toPrecision(3))}k`;
  if (a === 0) return "0";
  return String(Number(x.toPrecision(3)));
}

function f(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : "0";
}

function svg(width: number, height: number, label: string, body: string): string {
  return `<svg class="chart" role="img" aria-label="${esc(label)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function legend(x: number, y: number, names: readonly [string, string] = ["real", "synthetic"]): string {
  return `<g class="legend" font-size="11"><rect x="${x}" y="${y - 9}" width="10" height="10" fill="${REAL_COLOR}"/><text x="${x + 14}" y="${y}">${esc(names[0])}</text><rect x="${x + 60}" y="${y - 9}" width="10" height="10" fill="${SYNTH_COLOR}"/><text x="${x + 74}" y="${y}">${esc(names[1])}</text></g>`;
}

/**
 * Horizontal grouped bars: for each category, the real share above the synthetic share. `names` renames
 * the two sides (e.g. target and synthetic).
 *
 * @example barChart("sex", [{ label: "Male", real: 0.67, synth: 0.66 }])
 */
export function barChart(
  title: string,
  rows: { label: string; real: number; synth: number }[],
  names: readonly [string, string] = ["real", "synthetic"],
): string {
  const labelWidth = 130;
  const width = 420;
  const barArea = width - labelWidth - 50;
  const rowHeight = 18;
  const top = 22;
  const height = top + rows.length * rowHeight + 8;
  const max = Math.max(1e-12, ...rows.flatMap((r) => [r.real, r.synth]));
  const parts: string[] = [legend(labelWidth, 12, names)];
  rows.forEach((r, i) => {
    const y = top + i * rowHeight;
    const label = r.label.length > 20 ? `${r.label.slice(0, 19)}…` : r.label;
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + 12}" font-size="11" text-anchor="end">${esc(label)}<title>${esc(r.label)}</title></text>`,
      `<rect class="mark" x="${labelWidth}" y="${y + 1}" width="${f(Math.max(0.5, (r.real / max) * barArea))}" height="7" fill="${REAL_COLOR}"><title>${esc(r.label)}: ${esc(names[0])} ${(r.real * 100).toFixed(2)}%</title></rect>`,
      `<rect class="mark" x="${labelWidth}" y="${y + 8}" width="${f(Math.max(0.5, (r.synth / max) * barArea))}" height="7" fill="${SYNTH_COLOR}"><title>${esc(r.label)}: ${esc(names[1])} ${(r.synth * 100).toFixed(2)}%</title></rect>`,
      `<text x="${labelWidth + barArea + 4}" y="${y + 12}" font-size="10" fill="#555">${(r.real * 100).toFixed(1)}%</text>`,
    );
  });
  return svg(width, height, title, parts.join(""));
}

/**
 * A histogram of real and synthetic shares over the same bins, bars side by side.
 *
 * @example histogram("age", [{ lo: 17, hi: 20, real: 0.05, synth: 0.04 }, ...])
 */
export function histogram(
  title: string,
  bins: { lo: number; hi: number; real: number; synth: number }[],
): string {
  const width = 420;
  const height = 210;
  const left = 44;
  const bottom = 30;
  const top = 22;
  const plotW = width - left - 10;
  const plotH = height - top - bottom;
  const max = Math.max(1e-12, ...bins.flatMap((b) => [b.real, b.synth]));
  const bw = plotW / Math.max(1, bins.length);
  const parts: string[] = [legend(left, 12)];
  parts.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>`,
    `<text x="${left - 4}" y="${top + 8}" font-size="10" text-anchor="end">${(max * 100).toFixed(1)}%</text>`,
    `<text x="${left - 4}" y="${top + plotH}" font-size="10" text-anchor="end">0</text>`,
  );
  bins.forEach((b, i) => {
    const x = left + i * bw;
    const hr = (b.real / max) * plotH;
    const hs = (b.synth / max) * plotH;
    const range = `[${short(b.lo)}, ${short(b.hi)}${i === bins.length - 1 ? "]" : ")"}`;
    parts.push(
      `<rect class="mark" x="${f(x + 0.5)}" y="${f(top + plotH - hr)}" width="${f(Math.max(0.5, bw / 2 - 0.5))}" height="${f(Math.max(hr, 0.5))}" fill="${REAL_COLOR}"><title>${esc(range)}: real ${(b.real * 100).toFixed(2)}%</title></rect>`,
      `<rect class="mark" x="${f(x + bw / 2)}" y="${f(top + plotH - hs)}" width="${f(Math.max(0.5, bw / 2 - 0.5))}" height="${f(Math.max(hs, 0.5))}" fill="${SYNTH_COLOR}"><title>${esc(range)}: synthetic ${(b.synth * 100).toFixed(2)}%</title></rect>`,
    );
  });
  const first = bins[0];
  const last = bins.at(-1);
  if (first && last) {
    parts.push(
      `<text x="${left}" y="${height - 12}" font-size="10">${esc(short(first.lo))}</text>`,
      `<text x="${left + plotW}" y="${height - 12}" font-size="10" text-anchor="end">${esc(short(last.hi))}</text>`,
    );
  }
  return svg(width, height, title, parts.join(""));
}

/** Blue for negative, white for 0, red for positive (values in [-1, 1]). */
function diverging(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  const mix = (a: number, b: number, w: number) => Math.round(a + (b - a) * w);
  if (t >= 0) return `rgb(${mix(255, 178, t)},${mix(255, 24, t)},${mix(255, 43, t)})`;
  return `rgb(${mix(255, 33, -t)},${mix(255, 102, -t)},${mix(255, 172, -t)})`;
}

/** White to dark for values in [0, 1]. */
function sequential(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 84)},${mix(255, 39)},${mix(255, 143)})`;
}

/**
 * A square heatmap of pairwise values (null cells grey). `scale` "diverging" for associations in
 * [-1, 1], "sequential" for differences in [0, 1].
 */
export function heatmap(
  title: string,
  names: string[],
  value: (i: number, j: number) => { v: number | null; tip: string },
  scale: "diverging" | "sequential",
): string {
  const n = names.length;
  const cell = Math.max(8, Math.min(22, Math.floor(300 / Math.max(1, n))));
  const labelW = 110;
  const top = 24;
  const width = labelW + n * cell + 10;
  const height = top + n * cell + labelW;
  const parts: string[] = [
    `<text x="${labelW}" y="14" font-size="12" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i < n; i++) {
    const name = names[i] ?? "";
    const short = name.length > 16 ? `${name.slice(0, 15)}…` : name;
    parts.push(
      `<text x="${labelW - 4}" y="${top + i * cell + cell * 0.7}" font-size="10" text-anchor="end">${esc(short)}<title>${esc(name)}</title></text>`,
      `<text transform="translate(${labelW + i * cell + cell * 0.7},${top + n * cell + 4}) rotate(90)" font-size="10">${esc(short)}<title>${esc(name)}</title></text>`,
    );
    for (let j = 0; j < n; j++) {
      const { v, tip } = value(i, j);
      const fill = v === null ? "#dddddd" : scale === "diverging" ? diverging(v) : sequential(v);
      parts.push(
        `<rect class="mark" x="${labelW + j * cell}" y="${top + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>${esc(tip)}</title></rect>`,
      );
    }
  }
  return svg(width, height, title, parts.join(""));
}

/**
 * A rows x columns heatmap, e.g. origin x destination flows or time bin x activity shares. `value`
 * returns the cell's colour value, already scaled ([0, 1] for "sequential", [-1, 1] for "diverging"),
 * or null (grey), and its tooltip; `note` is a line under the title (the scale).
 *
 * @example matrixHeatmap("real", ["Z01", "Z02"], ["Z01", "Z02"], (i, j) => ({ v: shares[i][j] / max,
 *   tip: "..." }), "sequential", { rows: "origin", columns: "dest" }, "darkest 2.1%")
 */
export function matrixHeatmap(
  title: string,
  rows: string[],
  columns: string[],
  value: (i: number, j: number) => { v: number | null; tip: string },
  scale: "diverging" | "sequential",
  axes: { rows: string; columns: string },
  note = "",
): string {
  const longest = (xs: string[]) => Math.max(1, ...xs.map((x) => Math.min(18, x.length)));
  const cell = Math.max(10, Math.min(24, Math.floor(320 / Math.max(1, rows.length, columns.length))));
  const labelW = 14 + longest(rows) * 6.2;
  const labelH = 14 + longest(columns) * 6.2;
  const top = note ? 42 : 30;
  const width = Math.max(
    labelW + columns.length * cell + 10,
    12 + 7 * Math.max(title.length, note.length * 0.85),
  );
  const height = top + rows.length * cell + labelH;
  const cut = (x: string) => (x.length > 18 ? `${x.slice(0, 17)}…` : x);
  const parts: string[] = [
    `<text x="4" y="14" font-size="12" font-weight="bold">${esc(title)}</text>`,
    note ? `<text x="4" y="28" font-size="10" fill="#555">${esc(note)}</text>` : "",
    `<text x="4" y="${top - 4}" font-size="10" fill="#555">${esc(axes.rows)} ↓ ${esc(axes.columns)} →</text>`,
  ];
  rows.forEach((r, i) => {
    parts.push(
      `<text x="${f(labelW - 4)}" y="${f(top + i * cell + cell * 0.7)}" font-size="10" text-anchor="end">${esc(cut(r))}<title>${esc(r)}</title></text>`,
    );
    columns.forEach((_, j) => {
      const { v, tip } = value(i, j);
      const fill = v === null ? "#dddddd" : scale === "diverging" ? diverging(v) : sequential(v);
      parts.push(
        `<rect class="mark" x="${f(labelW + j * cell)}" y="${top + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>${esc(tip)}</title></rect>`,
      );
    });
  });
  columns.forEach((c, j) => {
    parts.push(
      `<text transform="translate(${f(labelW + j * cell + cell * 0.7)},${top + rows.length * cell + 4}) rotate(90)" font-size="10">${esc(cut(c))}<title>${esc(c)}</title></text>`,
    );
  });
  return svg(Math.ceil(width), Math.ceil(height), title, parts.join(""));
}

/**
 * Lines over a shared x axis, e.g. mean TVD per iteration.
 *
 * @example lineChart("convergence", "iteration", [{ name: "mean TVD", color: "#333", points: [[1, 0.4], [2, 0.2]] }])
 */
export function lineChart(
  title: string,
  xLabel: string,
  series: { name: string; color: string; points: [number, number][] }[],
): string {
  const width = 640;
  const height = 260;
  const left = 50;
  const bottom = 36;
  const top = 24;
  const plotW = width - left - 20;
  const plotH = height - top - bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y1 = Math.max(1e-12, ...ys);
  const px = (x: number) => left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * plotW : plotW / 2);
  const py = (y: number) => top + plotH - (y / y1) * plotH;
  const parts: string[] = [
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>`,
    `<text x="${left - 4}" y="${top + 8}" font-size="10" text-anchor="end">${esc(short(y1))}</text>`,
    `<text x="${left - 4}" y="${top + plotH}" font-size="10" text-anchor="end">0</text>`,
    `<text x="${left}" y="${height - 8}" font-size="10">${esc(short(x0))}</text>`,
    `<text x="${left + plotW}" y="${height - 8}" font-size="10" text-anchor="end">${esc(short(x1))}</text>`,
    `<text x="${left + plotW / 2}" y="${height - 8}" font-size="11" text-anchor="middle">${esc(xLabel)}</text>`,
  ];
  series.forEach((s, k) => {
    const d = s.points.map((p, i) => `${i === 0 ? "M" : "L"}${f(px(p[0]))},${f(py(p[1]))}`).join(" ");
    parts.push(
      `<path class="mark" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"><title>${esc(s.name)}</title></path>`,
      `<rect x="${left + 10 + k * 130}" y="${top - 16}" width="10" height="10" fill="${s.color}"/><text x="${left + 24 + k * 130}" y="${top - 7}" font-size="11">${esc(s.name)}</text>`,
    );
    if (s.points.length <= 200) {
      for (const p of s.points) {
        parts.push(
          `<circle class="mark" cx="${f(px(p[0]))}" cy="${f(py(p[1]))}" r="2" fill="${s.color}"><title>${esc(`${s.name} at ${xLabel} ${p[0]}: ${Number(p[1].toPrecision(4))}`)}</title></circle>`,
        );
      }
    }
  });
  return svg(width, height, title, parts.join(""));
}

/**
 * Box-like rows of percentiles (5th to 95th as whiskers, 25th to 75th as a box, the median as a line)
 * on one axis, for comparing distance distributions.
 */
export function percentileRows(
  title: string,
  rows: { name: string; color: string; p05: number; p25: number; p50: number; p75: number; p95: number }[],
): string {
  const width = 560;
  const left = 140;
  const top = 16;
  const rowH = 34;
  const height = top + rows.length * rowH + 30;
  const plotW = width - left - 20;
  const max = Math.max(1e-12, ...rows.map((r) => r.p95));
  const px = (x: number) => left + (x / max) * plotW;
  const parts: string[] = [
    `<line x1="${left}" y1="${height - 24}" x2="${left + plotW}" y2="${height - 24}" stroke="#999"/>`,
    `<text x="${left}" y="${height - 10}" font-size="10">0</text>`,
    `<text x="${left + plotW}" y="${height - 10}" font-size="10" text-anchor="end">${esc(short(max))}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const tip = `${r.name}: 5% ${short(r.p05)}, 25% ${short(r.p25)}, median ${short(r.p50)}, 75% ${short(r.p75)}, 95% ${short(r.p95)}`;
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${esc(r.name)}</text>`,
      `<line class="mark" x1="${f(px(r.p05))}" y1="${y}" x2="${f(px(r.p95))}" y2="${y}" stroke="${r.color}" stroke-width="2"><title>${esc(tip)}</title></line>`,
      `<rect class="mark" x="${f(px(r.p25))}" y="${y - 9}" width="${f(Math.max(1, px(r.p75) - px(r.p25)))}" height="18" fill="${r.color}" fill-opacity="0.35" stroke="${r.color}"><title>${esc(tip)}</title></rect>`,
      `<line class="mark" x1="${f(px(r.p50))}" y1="${y - 9}" x2="${f(px(r.p50))}" y2="${y + 9}" stroke="${r.color}" stroke-width="3"><title>${esc(tip)}</title></line>`,
    );
  });
  return svg(width, height, title, parts.join(""));
}

/** Colours of the verdict words (src/evaluate/verdicts.ts); grey for a figure without a floor. */
export const VERDICT_COLORS: Record<string, string> = {
  "as real": "#2e8b57",
  close: "#d4a017",
  off: "#c0392b",
  none: "#8a8a8a",
};

/** A round axis end at or above `x`: 1, 2 or 5 times a power of ten. */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/**
 * Horizontal bars of a distance per label (e.g. each column's TVD) on an axis scaled to the data, the
 * real floor of each row marked as a black tick, bars coloured by verdict. Rows are drawn in the order
 * given (the caller sorts them worst first).
 *
 * @example distanceBars("column TVD", [{ label: "age", value: 0.08, floor: 0.02, word: "off", tip: "..." }], "TVD")
 */
export function distanceBars(
  title: string,
  rows: { label: string; value: number; floor: number | null; word: string; tip: string }[],
  axisLabel: string,
): string {
  const labelWidth = 150;
  const width = 600;
  const barArea = width - labelWidth - 90;
  const rowHeight = 16;
  const top = 6;
  const height = top + rows.length * rowHeight + 30;
  const max = niceCeil(Math.max(1e-6, ...rows.flatMap((r) => [r.value, r.floor ?? 0])) * 1.05);
  const px = (x: number) => labelWidth + (Math.min(x, max) / max) * barArea;
  const axisY = top + rows.length * rowHeight + 4;
  const parts: string[] = [
    `<line x1="${labelWidth}" y1="${axisY}" x2="${labelWidth + barArea}" y2="${axisY}" stroke="#999"/>`,
  ];
  for (const t of [0, max / 2, max]) {
    parts.push(
      `<line x1="${f(px(t))}" y1="${top}" x2="${f(px(t))}" y2="${axisY}" stroke="#e4e4e4"/>`,
      `<text x="${f(px(t))}" y="${axisY + 12}" font-size="10" text-anchor="middle">${esc(short(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${labelWidth + barArea + 6}" y="${axisY + 12}" font-size="10" fill="#555">${esc(axisLabel)}</text>`,
  );
  rows.forEach((r, i) => {
    const y = top + i * rowHeight;
    const label = r.label.length > 24 ? `${r.label.slice(0, 23)}…` : r.label;
    const color = VERDICT_COLORS[r.word] ?? VERDICT_COLORS.none;
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + 11}" font-size="11" text-anchor="end">${esc(label)}<title>${esc(r.label)}</title></text>`,
      `<rect class="mark" x="${labelWidth}" y="${y + 2}" width="${f(Math.max(0.5, px(r.value) - labelWidth))}" height="11" fill="${color}"><title>${esc(r.tip)}</title></rect>`,
      `<text x="${labelWidth + barArea + 6}" y="${y + 11}" font-size="10">${esc(short(r.value))}${r.floor === null ? "" : ` / ${esc(short(r.floor))}`}</text>`,
    );
    if (r.floor !== null) {
      parts.push(
        `<line class="floor" x1="${f(px(r.floor))}" y1="${y}" x2="${f(px(r.floor))}" y2="${y + 15}" stroke="#111" stroke-width="2"><title>${esc(`${r.label}: real floor ${short(r.floor)}`)}</title></line>`,
      );
    }
  });
  return svg(width, height, title, parts.join(""));
}
