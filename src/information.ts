/**
 * Mutual information of a column with a set of others (its parents, as one joint variable) from real
 * count tables, with the Miller-Madow correction. The planner picks a column's parents by it
 * (src/planners/stats.ts); the real side computes it (src/real.ts).
 *
 * Why Miller-Madow: the plug-in estimate is biased upwards by about (cells - parent cells - child values
 * + 1) / 2N, the chi-square degrees of freedom over 2N, so a sparse 3-way table of many values looks
 * informative when it is mostly noise. The correction subtracts that bias, counting observed cells, and
 * needs nothing beyond the counts. A minimum expected count per parent cell would instead drop tables
 * that are informative despite a few rare contexts (Adult's native-country) and need a threshold of its
 * own. The noise left (about sqrt(2 df) / 2N) is what the planner's MIN_GAIN guards against.
 */

/** A count table reduced to what its entropy needs: how many cells hold each count (count → cells). */
export type CountHistogram = Map<number, number>;

/** The histogram of a table's counts. */
export function histogramOf(counts: Iterable<number>): CountHistogram {
  const h: CountHistogram = new Map();
  for (const n of counts) if (n > 0) h.set(n, (h.get(n) ?? 0) + 1);
  return h;
}

/**
 * I(child; parents) in nats from the histograms of three tables of the same rows: parents and child,
 * parents alone, child alone. Plug-in minus (cells(P, C) - cells(P) - cells(C) + 1) / 2N. Sums run in
 * ascending count order and the result is rounded to 10 significant digits, so it does not depend on
 * the order the counts came in.
 */
export function correctedInformation(
  joint: CountHistogram,
  parents: CountHistogram,
  child: CountHistogram,
): number {
  const stats = (h: CountHistogram) => {
    let total = 0;
    let nlogn = 0;
    let cells = 0;
    for (const n of [...h.keys()].sort((a, b) => a - b)) {
      const k = h.get(n) ?? 0;
      total += n * k;
      nlogn += k * n * Math.log(n);
      cells += k;
    }
    return { total, nlogn, cells };
  };
  const j = stats(joint);
  const p = stats(parents);
  const c = stats(child);
  if (j.total === 0) return 0;
  // I = H(P) + H(C) - H(P, C), each H = ln N - (sum of n ln n) / N.
  const plugIn = (j.nlogn - p.nlogn - c.nlogn) / j.total + Math.log(j.total);
  const bias = (j.cells - p.cells - c.cells + 1) / (2 * j.total);
  const corrected = plugIn - bias;
  return corrected === 0 ? 0 : Number(corrected.toPrecision(10));
}

type Code = string | null;

/** correctedInformation of the code at `childAt` with the rest of the cell, from one contingency table. */
export function informationOf(rows: { cell: Code[]; n: number }[], childAt: number): number {
  const joint = new Map<string, number>();
  const parents = new Map<string, number>();
  const child = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  for (const r of rows) {
    if (!(r.n > 0)) continue;
    const pk = JSON.stringify(r.cell.filter((_, i) => i !== childAt));
    const ck = JSON.stringify(r.cell[childAt] ?? null);
    add(joint, `${pk}|${ck}`, r.n);
    add(parents, pk, r.n);
    add(child, ck, r.n);
  }
  return correctedInformation(
    histogramOf(joint.values()),
    histogramOf(parents.values()),
    histogramOf(child.values()),
  );
}
