/**
 * The weighting of a reference (src/reference.ts): raking (iterative proportional fitting) of the
 * reference rows' keys to every target table, tilts applied on top, and controlled rounding of the
 * weights to whole copies of each row.
 */
import { type Problem, SynthorError, throwIfProblems } from "./errors.ts";
import { cellText, round, type Target } from "./targets.ts";

/** `--tilt "time_bin = '20-24' => 3"`: the rows matching `predicate` get `factor` times their share. */
export interface Tilt {
  predicate: string;
  factor: number;
}

export type Atom = { key: (string | null)[]; n: number; w: number; weights: number };

/** Named cells with a share above 0 that no reference row falls into cannot be reached by weighting. */
export function unreachableCells(targets: Target[], keyColumns: string[], atoms: Atom[]): void {
  const problems: Problem[] = [];
  for (const t of targets) {
    const idx = t.columns.map((c) => keyColumns.indexOf(c));
    const present = new Set(
      atoms.filter((a) => a.w > 0).map((a) => JSON.stringify(idx.map((i) => a.key[i] ?? null))),
    );
    const missing = t.cells.filter((c) => c.share > 0 && !present.has(JSON.stringify(c.cell)));
    if (missing.length === 0) continue;
    problems.push({
      code: "INPUT_INVALID",
      message: `the targets ${t.label} give a share to ${missing.length} cell${missing.length === 1 ? "" : "s"} no real row has (${t.columns.join(", ")}): ${missing
        .slice(0, 5)
        .map((c) => cellText(c.cell))
        .join(", ")}${missing.length > 5 ? ", ..." : ""}`,
      hint: "weighting can only repeat real rows, so a value (or combination) the real rows lack cannot be reached: check its spelling, give it share 0, or drop it (with --where, it may be filtered out)",
      subject: t.label,
    });
  }
  throwIfProblems(problems);
}

/**
 * Raking (iterative proportional fitting): per target in turn, scale each named cell's weight to its
 * share and the unnamed cells together to what is left, until every target holds (1e-12); then the
 * tilts. Returns each atom's share of the reference. Targets that contradict each other (different
 * shares for the same cells) do not converge: that is an error naming the worst cell.
 */
export function rake(
  atoms: { key: (string | null)[]; n: number; w: number }[],
  targets: Target[],
  keyColumns: string[],
  tilts: Tilt[],
): number[] {
  const mass = atoms.map((a) => a.n * a.w);
  const total = mass.reduce((a, b) => a + b, 0);
  for (let i = 0; i < mass.length; i++) mass[i] = (mass[i] as number) / total;
  const plans = targets.map((t) => {
    const idx = t.columns.map((c) => keyColumns.indexOf(c));
    const cellIndex = new Map(t.cells.map((c, i) => [JSON.stringify(c.cell), i]));
    const of = atoms.map((a) => cellIndex.get(JSON.stringify(idx.map((i) => a.key[i] ?? null))) ?? -1);
    return { t, of };
  });
  let worst = { error: 0, what: "" };
  for (let sweep = 0; sweep < 5000; sweep++) {
    worst = { error: 0, what: "" };
    for (const { t, of } of plans) {
      const m = new Array<number>(t.cells.length).fill(0);
      let rest = 0;
      for (let a = 0; a < mass.length; a++) {
        const c = of[a] as number;
        if (c >= 0) m[c] = (m[c] as number) + (mass[a] as number);
        else rest += mass[a] as number;
      }
      const left = Math.max(0, 1 - t.named);
      if (rest === 0 && left > 1e-9) {
        throw new SynthorError(
          "INPUT_INVALID",
          `the shares in the targets ${t.label} sum to ${round(t.named)}, but the cells they name hold every row: the other ${round(left)} has nowhere to go`,
          "make the shares sum to 1, or name the column n or count to have them read as proportions",
          { source: t.label },
        );
      }
      const factor = t.cells.map((c, i) => ((m[i] as number) > 0 ? c.share / (m[i] as number) : 0));
      const restFactor = rest > 0 ? left / rest : 0;
      for (const [i, c] of t.cells.entries()) {
        const e = Math.abs((m[i] as number) - c.share);
        if (e > worst.error) worst = { error: e, what: `${t.label} cell ${cellText(c.cell)}` };
      }
      if (Math.abs(rest - left) > worst.error)
        worst = { error: Math.abs(rest - left), what: `${t.label} unnamed cells` };
      for (let a = 0; a < mass.length; a++) {
        const c = of[a] as number;
        mass[a] = (mass[a] as number) * (c >= 0 ? (factor[c] as number) : restFactor);
      }
    }
    if (worst.error < 1e-12) break;
  }
  if (worst.error > 1e-6) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the targets contradict each other: no weighting of the real rows meets them all (off by ${round(worst.error)} at ${worst.what})`,
      "two target tables that share columns must agree on those columns' shares; drop or fix one of them",
    );
  }
  if (tilts.length > 0) {
    const base = keyColumns.length;
    for (let a = 0; a < mass.length; a++) {
      const key = atoms[a]?.key ?? [];
      for (const [j, t] of tilts.entries())
        if (key[base + j] === "true") mass[a] = (mass[a] as number) * t.factor;
    }
    const sum = mass.reduce((x, y) => x + y, 0);
    if (sum <= 0) {
      throw new SynthorError(
        "INPUT_INVALID",
        "the tilts leave no rows with weight",
        "check the tilts' conditions",
      );
    }
    for (let a = 0; a < mass.length; a++) mass[a] = (mass[a] as number) / sum;
  }
  return mass;
}

/**
 * Whole-number row totals per atom that add up to `rows`, by cumulative rounding in the order of the
 * first target's cells: each of its cells gets its exact share of `rows` to within one row; the other
 * targets' cells to within one row per atom they span.
 */
export function controlledRounding(
  atoms: { key: (string | null)[] }[],
  shares: number[],
  targets: Target[],
  keyColumns: string[],
  rows: number,
): number[] {
  const first = targets[0]?.columns.map((c) => keyColumns.indexOf(c)) ?? [];
  const sortKey = atoms.map((a) => JSON.stringify([first.map((i) => a.key[i] ?? null), a.key]));
  const order = atoms
    .map((_, i) => i)
    .sort((x, y) => ((sortKey[x] as string) < (sortKey[y] as string) ? -1 : 1));
  const totals = new Array<number>(atoms.length).fill(0);
  let cumulative = 0;
  let before = 0;
  for (const i of order) {
    cumulative += (shares[i] as number) * rows;
    const now = Math.round(cumulative);
    totals[i] = Math.max(0, now - before);
    before = Math.max(before, now);
  }
  return totals;
}
