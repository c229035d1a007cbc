import seedrandom from "seedrandom";
import type { Db } from "../db/connection.ts";
import { cellLabel } from "../discrepancy.ts";
import { groupsFromPairs, type PairAssociation } from "../groups.ts";
import { pacer } from "../interrupt.ts";
import type { Proposal, ProposalValue } from "../proposals.ts";
import type { ModelColumn, Summary, Unit } from "../summarize.ts";
import {
  type CodesView,
  type Conditional,
  ConditionalTables,
  codeKey,
  type TableRequest,
} from "./conditionals.ts";
import type { PlanContext, Planner, PlannerKind, PlanResult } from "./types.ts";

export type { Conditional } from "./conditionals.ts";

type Code = string | null;

/** Deficits of the fine units, read when a numeric column's sub-bin is chosen. */
interface FineContext {
  units: Unit[];
  deficits: Map<string, Map<string, number>>;
  realShares: Map<string, Map<string, number>>;
  rows: number;
}

/** Parents chosen for a column, and the (corrected) information they give about it, in nats. */
interface ParentChoice {
  parents: string[];
  information: number;
}

/**
 * Nats of (corrected) information a parent set must give, and a larger set must add over the best
 * smaller one, to be used: the old pairwise threshold, now on the joint information.
 */
export const MIN_GAIN = 0.005;

/**
 * Pairs of parents are searched among at most this many candidates, those most informative alone among
 * all the other columns: every pair of 16 columns is 120 tables per column; every pair of 60 would be
 * 1,770. Tables of up to 17 columns (Adult has 15) are searched exhaustively. The candidates are fixed
 * per column, not re-ranked within each pool the completion order offers: re-ranked, a wide table's
 * pools brought new pairs at every step (66,000 tables read for 100 columns); fixed, the tables a
 * column's parents are chosen from are its 120 pairs and its singles, read in one batch.
 */
export const PAIR_POOL = 16;

export interface StatsPlannerOptions {
  /** Real rows per proposal the planner aims for when it chooses the proposal count (default 2). */
  rowsPerProposal?: number;
  /** At most this many proposals per iteration (default 1000). */
  maxProposals?: number;
  /** At most this many parents a column is completed from (default 2). */
  maxParents?: number;
  seed?: number;
}

/**
 * The statistical planner: no LLM, only the aggregates an LLM would see (count tables and bins).
 *
 * Each proposal starts from an anchor: a cell of one of this iteration's groups, drawn in proportion to
 * its deficit (how many rows the cell lacks for the synthetic table to match the real share once this
 * iteration's rows are in). The other columns are completed one at a time, most dependent first, from the
 * real conditional frequencies given up to two already fixed columns (the real contingency table of
 * parents and child), weighted by how much each value is in deficit in its marginal. Numeric columns get
 * their main bin's range, or a sub-bin's range inside the worst bin. Deficits are drawn down as proposals
 * are made, so one iteration's proposals fill different cells.
 */
export class StatsPlanner implements Planner {
  readonly name = "stats";
  private pairs: PairAssociation[] = [];
  private readonly tables: ConditionalTables;
  private readonly parentChoices = new Map<string, ParentChoice>();
  private readonly informations = new Map<string, number | undefined>();
  /** Per column, the PAIR_POOL others most informative alone among all columns: where pairs are searched. */
  private readonly pairPools = new Map<string, Set<string>>();
  private readonly completions = new Map<string, { column: string; parents: string[] }[]>();
  private readonly rare = new Map<string, Set<Code>>();
  private readonly options: Required<StatsPlannerOptions>;

  constructor(
    // Real tables are read through summary.real (rows or a summary file), not from the database directly.
    _db: Db,
    private readonly summary: Summary,
    options: StatsPlannerOptions = {},
  ) {
    this.tables = new ConditionalTables(summary.real, summary.columns);
    this.options = {
      rowsPerProposal: options.rowsPerProposal ?? 2,
      maxProposals: options.maxProposals ?? 1000,
      maxParents: options.maxParents ?? 2,
      seed: options.seed ?? 0,
    };
  }

  async inferGroups(_signal?: AbortSignal): Promise<string[][]> {
    // Only queries: the database interrupts them.
    const pairs = await this.summary.real.pairs(this.summary.columns, this.options.seed);
    const { candidates } = groupsFromPairs(pairs, this.summary.columns);
    this.pairs = pairs;
    return candidates.map((c) => c.columns);
  }

  /**
   * The pairs of columns worth keeping in step beyond the grounded groups, most dependent first: those
   * with any dependence (Cramér's V of at least 0.05); independent pairs come out right without help.
   */
  trackPairs(): [string, string][] {
    return this.pairs.filter((p) => p.cramersV >= 0.05).map((p) => [p.a, p.b]);
  }

  async plan(ctx: PlanContext): Promise<PlanResult> {
    if (this.pairs.length === 0 && this.summary.columns.length > 1) await this.inferGroups();
    const rng = seedrandom(`${ctx.seed}:${ctx.iteration}:stats`);
    const target = ctx.synthRows + ctx.rows;
    const count =
      ctx.proposals ??
      Math.max(1, Math.min(this.options.maxProposals, Math.ceil(ctx.rows / this.options.rowsPerProposal)));
    const nums = split(ctx.rows, Math.min(count, ctx.rows));
    await this.readTables(ctx.groups.slice(0, nums.length).map((g) => g.columns));
    // With many cells (a column of thousands of values) this loop runs for minutes: Ctrl-C must get in.
    const checkpoint = pacer(ctx.signal, `planning iteration ${ctx.iteration}`);

    // Deficits: rows each cell lacks once this iteration's rows are in.
    const deficits = new Map<string, Map<string, number>>();
    const realShares = new Map<string, Map<string, number>>();
    const realCounts = new Map<string, Map<string, number>>();
    for (const g of ctx.gaps) {
      await checkpoint();
      const key = codeKey(g.cell);
      const c = realCounts.get(g.unit) ?? new Map<string, number>();
      c.set(key, g.realN);
      realCounts.set(g.unit, c);
      const d = deficits.get(g.unit) ?? new Map<string, number>();
      d.set(key, g.realShare * target - g.synthN);
      deficits.set(g.unit, d);
      const r = realShares.get(g.unit) ?? new Map<string, number>();
      r.set(key, g.realShare);
      realShares.set(g.unit, r);
    }
    const tracked = [...this.summary.marginals, ...this.summary.groups, ...this.summary.pairUnits].filter(
      (u) => deficits.has(u.id),
    );
    const fineTracked = [...this.summary.fineUnits, ...this.summary.finePairUnits].filter((u) =>
      deficits.has(u.id),
    );
    const fine: FineContext = { units: fineTracked, deficits, realShares, rows: ctx.rows };

    const proposals: Proposal[] = [];
    for (const [i, num] of nums.entries()) {
      const fixed = new Map<string, Code>();
      const parentsOf = new Map<string, string[]>();
      let reason = "";
      const group = ctx.groups.length ? ctx.groups[i % ctx.groups.length] : undefined;
      if (group) {
        const d = deficits.get(group.id);
        const cells = d ? [...d.entries()] : [];
        // A cell in deficit in the group may be full in a table inside it (a column's marginal, a pair):
        // weigh it by those tables' deficits too, as completion does.
        const inside = tracked.filter(
          (u) => u.id !== group.id && u.columns.every((c) => group.columns.includes(c)),
        );
        // A cell fewer than min-cell real rows hold is never an anchor: drawn whole, it would hand on the
        // combination of those few rows' values; its rows come from completion, which backs off.
        const open = cells.map(([key]) => (realCounts.get(group.id)?.get(key) ?? 0) >= this.minCell);
        const weights: number[] = [];
        for (const [at, [key, v]] of cells.entries()) {
          await checkpoint();
          let w = open[at] ? Math.max(0, v) : 0;
          if (w > 0 && inside.length > 0) {
            const cell = JSON.parse(key) as Code[];
            for (const u of inside) {
              const sub = codeKey(u.columns.map((c) => cell[group.columns.indexOf(c)] ?? null));
              const expected = (realShares.get(u.id)?.get(sub) ?? 0) * ctx.rows;
              const need = Math.max(0, deficits.get(u.id)?.get(sub) ?? 0);
              w *= expected > 0 ? Math.min(3, need / expected) : 0;
            }
          }
          weights.push(w);
        }
        let pick = weightedPick(rng, weights);
        if (pick < 0) {
          pick = weightedPick(
            rng,
            cells.map(([, v], at) => (open[at] ? Math.max(0, v) : 0)),
          );
        }
        const chosen = pick >= 0 ? cells[pick] : undefined;
        if (chosen && d) {
          const cell = JSON.parse(chosen[0]) as Code[];
          group.columns.forEach((c, k) => {
            fixed.set(c, cell[k] ?? null);
          });
          d.set(chosen[0], chosen[1] - num);
          const share = realShares.get(group.id)?.get(chosen[0]) ?? 0;
          reason = `fills the deficit of ${this.label(group.columns, cell)} in group [${group.columns.join(", ")}] (real share ${pct(share)})`;
        }
      }
      // Complete the rest, in the order and from the parents completionFor gives for what is fixed.
      for (const { column, parents } of await this.completionFor([...fixed.keys()])) {
        await checkpoint();
        parentsOf.set(column, parents);
        const conditional = await this.conditionalFor(column, parents, fixed, "synthor_real_codes");
        // Favour values whose cells are in deficit in every tracked unit this choice completes: the
        // column's marginal, and each group whose other columns are already fixed.
        const completes = tracked.filter(
          (u) => u.columns.includes(column) && u.columns.every((c) => c === column || fixed.has(c)),
        );
        const rare = await this.rareCodes(column);
        const weights = conditional.codes.map((code, k) => {
          let w = conditional.counts[k] ?? 0;
          // A rare value is drawn apart from the other columns (see detachRare): only its own marginal's
          // deficit weighs it, or the tables with the other columns (where it has real share only beside its
          // own row's values) would bring those values back.
          const units = rare.has(code) ? completes.filter((u) => u.columns.length === 1) : completes;
          for (const u of units) {
            const key = codeKey(u.columns.map((c) => (c === column ? code : (fixed.get(c) ?? null))));
            const expected = (realShares.get(u.id)?.get(key) ?? 0) * ctx.rows;
            const need = Math.max(0, deficits.get(u.id)?.get(key) ?? 0);
            w *= expected > 0 ? Math.min(3, need / expected) : 0;
          }
          return w;
        });
        let pick = weightedPick(rng, weights);
        if (pick < 0) pick = weightedPick(rng, conditional.counts);
        fixed.set(column, conditional.codes[Math.max(0, pick)] ?? null);
      }
      // Draw down the deficits of every tracked unit (the anchor's was drawn down above) and turn codes
      // into values.
      for (const u of tracked) {
        if (u.id === group?.id) continue;
        const key = codeKey(u.columns.map((c) => fixed.get(c) ?? null));
        const d = deficits.get(u.id);
        if (d) d.set(key, (d.get(key) ?? 0) - num);
      }
      const values: Record<string, ProposalValue> = {};
      for (const c of this.summary.columns) {
        await checkpoint();
        const parents = parentsOf.get(c.name) ?? (await this.parentsAmong(c.name, [...fixed.keys()])).parents;
        values[c.name] = await this.valueFor(c, fixed, parents, num, fine, rng);
      }
      if (!reason) reason = "completes the marginals where they are in deficit";
      proposals.push({ reason, proposal: values, num });
    }
    return { proposals };
  }

  /**
   * Reads at once every real table that proposals anchored on these groups, or on none, may draw from:
   * for each column completed, its conditionals given its parents and given each shorter run of them (the
   * back-off), at sub-bin level for numeric columns, and the marginals the min-cell rules look at. One
   * batch per iteration, and none once the tables are all read; what a proposal needs beyond them (a
   * special value, an empty bin) is read when it is needed.
   */
  private async readTables(groups: string[][]): Promise<void> {
    const wanted: TableRequest[] = [];
    const numeric = new Set(this.summary.columns.filter((c) => c.kind !== "categorical").map((c) => c.name));
    const backOff = (child: string, parents: string[], view: CodesView) => {
      for (let n = parents.length; n >= 0; n--) wanted.push({ child, parents: parents.slice(0, n), view });
    };
    // No anchor too: a group without a cell to anchor on (all full, or all under min-cell) leaves none.
    for (const anchor of [...groups, []]) {
      const parentsOf = new Map<string, string[]>();
      for (const { column, parents } of await this.completionFor(anchor)) {
        parentsOf.set(column, parents);
        backOff(column, parents, "synthor_real_codes");
      }
      const all = [...anchor, ...parentsOf.keys()];
      for (const column of numeric) {
        const parents = parentsOf.get(column) ?? (await this.parentsAmong(column, all)).parents;
        backOff(column, parents, "synthor_real_fine_codes");
      }
    }
    await this.tables.fetch(wanted);
  }

  /**
   * The proposal's value for a column: the category, or a range. A numeric column's main bin is fixed by
   * then; the range is one of the bin's sub-bins, drawn from the real distribution of sub-bins given the
   * same parents (the fine codes), so the joint structure holds inside bins too, and weighted by how much
   * each sub-bin is in deficit in the fine units this choice completes (the column alone, and each group
   * of it with categorical columns): the paper's sub-bin guidance, for every bin.
   */
  private async valueFor(
    c: ModelColumn,
    fixed: Map<string, Code>,
    parents: string[],
    num: number,
    fine: FineContext,
    rng: () => number,
  ): Promise<ProposalValue> {
    const code = fixed.get(c.name) ?? null;
    if (code === null) return null;
    if (c.kind === "categorical") return code;
    if (c.special?.includes(code as never)) return code;
    const bin = c.bins?.find((b) => String(b.bin) === code);
    if (!bin) return [c.summary?.min ?? 0, c.summary?.max ?? 0];
    if (bin.hi <= bin.lo) return [bin.lo, bin.hi];
    const conditional = await this.conditionalFor(
      c.name,
      parents,
      fixed,
      "synthor_real_fine_codes",
      `${code}.`,
    );
    const units = fine.units.filter((u) => u.columns.includes(c.name));
    const keyOf = (u: Unit, fineCode: Code) =>
      codeKey(u.columns.map((col) => (col === c.name ? fineCode : (fixed.get(col) ?? null))));
    const weights = conditional.codes.map((fineCode, k) => {
      let w = conditional.counts[k] ?? 0;
      for (const u of units) {
        const key = keyOf(u, fineCode);
        const expected = (fine.realShares.get(u.id)?.get(key) ?? 0) * fine.rows;
        const need = Math.max(0, fine.deficits.get(u.id)?.get(key) ?? 0);
        w *= expected > 0 ? Math.min(3, need / expected) : 0;
      }
      return w;
    });
    let pick = weightedPick(rng, weights);
    if (pick < 0) pick = weightedPick(rng, conditional.counts);
    const chosen = conditional.codes[Math.max(0, pick)] ?? `${code}.0`;
    for (const u of units) {
      const d = fine.deficits.get(u.id);
      const key = keyOf(u, chosen);
      if (d) d.set(key, (d.get(key) ?? 0) - num);
    }
    // The range is the sub-bin's, widened to its neighbours until min-cell real rows hold it: a sub-bin
    // of one or two rows (an outlier alone in its bin's top eighth) would put them back where they were.
    const [first, last] = await this.subBinRun(c.name, code, Number(chosen.split(".")[1]));
    const width = (bin.hi - bin.lo) / this.summary.subBins;
    return [bin.lo + width * first, last === this.summary.subBins - 1 ? bin.hi : bin.lo + width * (last + 1)];
  }

  /**
   * The run of neighbouring sub-bins of main bin `bin` that `sub` belongs to, when the bin's sub-bins are
   * cut into runs of at least min-cell real rows each (the column's own fine counts), left to right, a
   * short last run joining the one before; a bin with fewer rows is one run. [sub, sub] without the rule.
   */
  private async subBinRun(column: string, bin: string, sub: number): Promise<[number, number]> {
    if (this.minCell <= 1) return [sub, sub];
    const marginal = (await this.tables.table(column, [], "synthor_real_fine_codes")).get(codeKey([]));
    const counts = Array.from({ length: this.summary.subBins }, () => 0);
    for (const [k, code] of (marginal?.codes ?? []).entries()) {
      if (!code?.startsWith(`${bin}.`)) continue;
      const at = Number(code.slice(bin.length + 1));
      if (at >= 0 && at < counts.length) counts[at] = (counts[at] ?? 0) + (marginal?.counts[k] ?? 0);
    }
    return subBinRuns(counts, this.minCell).find(([a, b]) => sub >= a && sub <= b) ?? [sub, sub];
  }

  /**
   * The order the open columns are completed in, given the fixed ones, and each one's parents: next is
   * the column its best parents among those fixed by then tell most about (joint information), so a
   * column that depends on two others together waits for both rather than being drawn from its marginal
   * before the second is fixed. Which columns are fixed decides it, not their values: one order per
   * anchor group, cached.
   */
  private async completionFor(fixed: string[]): Promise<{ column: string; parents: string[] }[]> {
    const key = JSON.stringify(fixed);
    const cached = this.completions.get(key);
    if (cached) return cached;
    const done = [...fixed];
    const open = this.summary.columns.map((c) => c.name).filter((c) => !done.includes(c));
    const steps: { column: string; parents: string[] }[] = [];
    while (open.length > 0) {
      let best = 0;
      let bestChoice: ParentChoice | undefined;
      for (const [k, c] of open.entries()) {
        const choice = await this.parentsAmong(c, done);
        if (!bestChoice || choice.information > bestChoice.information) {
          bestChoice = choice;
          best = k;
        }
      }
      const column = open.splice(best, 1)[0] as string;
      steps.push({ column, parents: bestChoice?.parents ?? [] });
      done.push(column);
    }
    this.completions.set(key, steps);
    return steps;
  }

  /**
   * Up to maxParents of the given columns that together tell most about `column`: the set with the
   * largest joint information I(column; parents) (Miller-Madow corrected, src/information.ts), from the
   * real contingency table of parents and child, so a pure interaction (mode given origin and
   * destination together, c = a XOR b) is found even where each parent alone tells nothing. A set must
   * add MIN_GAIN over the best smaller set to be used: a larger set only splits the conditionals into
   * smaller cells. Only sets whose table the real side can give well are scored (a summary file keeps the
   * 3-way tables of each column's strongest partners only, some with many small cells left out). Cached
   * per (column, candidate set); the scores per (column, parent set).
   */
  private async parentsAmong(column: string, candidates: string[]): Promise<ParentChoice> {
    const order = new Map(this.summary.columns.map((c, i) => [c.name, i]));
    const pool = [...new Set(candidates)]
      .filter((f) => f !== column)
      .sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    const key = [column, ...pool].join("\u0000");
    const cached = this.parentChoices.get(key);
    if (cached) return cached;
    const max = this.options.maxParents;
    const singles = await this.singles(column, pool);
    const rank = new Map(singles.map((c, i) => [c.parents[0] as string, i]));
    let chosen: ParentChoice = { parents: [], information: 0 };
    const first = singles[0];
    if (max >= 1 && first && first.information > MIN_GAIN) chosen = first;
    // Every pair of candidates (up to PAIR_POOL of them), not only pairs of strong singles: an
    // interaction can hide behind two weak ones.
    let pair: ParentChoice | undefined;
    if (max >= 2) {
      const sets = pairsOf(this.pairPool(column, pool));
      const scores = await this.information(column, sets);
      for (const [k, parents] of sets.entries()) {
        const information = scores[k];
        if (information !== undefined && (!pair || information > pair.information)) {
          pair = { parents, information };
        }
      }
    }
    if (pair && pair.information > chosen.information + MIN_GAIN) {
      const parents = [...pair.parents].sort((x, y) => (rank.get(x) ?? 0) - (rank.get(y) ?? 0));
      chosen = { parents, information: pair.information };
    }
    // Beyond two (maxParents > 2): add one parent at a time while each adds MIN_GAIN.
    while (chosen.parents.length >= 2 && chosen.parents.length < max) {
      const base = chosen.parents;
      const more = pool.filter((p) => !base.includes(p)).map((p) => [...base, p]);
      const next = await this.information(column, more);
      let at = -1;
      for (const [k, x] of next.entries()) {
        if (x !== undefined && (at < 0 || x > (next[at] ?? 0))) at = k;
      }
      const information = next[at];
      if (at < 0 || information === undefined || information <= chosen.information + MIN_GAIN) break;
      chosen = { parents: more[at] as string[], information };
    }
    this.parentChoices.set(key, chosen);
    return chosen;
  }

  /**
   * The candidates the real side can pair with `column`, each with its information alone, strongest
   * first (table order on ties): a pair lists its stronger single first, the one conditionalFor keeps
   * when it falls back to fewer parents. The first time a column is asked about, the singles of every
   * other column and the pairs among the strongest PAIR_POOL are read at once: the completion asks about
   * nearly all of them sooner or later, and in one batch they cost a few queries.
   */
  private async singles(column: string, pool: string[]): Promise<ParentChoice[]> {
    if (!this.pairPools.has(column)) {
      const others = this.summary.columns.map((c) => c.name).filter((c) => c !== column);
      const all = await this.ranked(column, others);
      const strongest = others.length > PAIR_POOL ? all.slice(0, PAIR_POOL).map((c) => c.parents[0]) : others;
      this.pairPools.set(column, new Set(strongest as string[]));
      if (this.options.maxParents >= 2)
        await this.information(column, pairsOf(this.pairPool(column, others)));
    }
    return this.ranked(column, pool);
  }

  /** The columns of `pool` the real side can score, each with its information alone, strongest first. */
  private async ranked(column: string, pool: string[]): Promise<ParentChoice[]> {
    const scores = await this.information(
      column,
      pool.map((p) => [p]),
    );
    return pool
      .flatMap((p, k) => {
        const information = scores[k];
        return information === undefined ? [] : [{ parents: [p], information }];
      })
      .sort((a, b) => b.information - a.information);
  }

  /**
   * The candidates of `pool` pairs are searched among (in pool order): those among the column's
   * PAIR_POOL most informative alone of all columns (all of them in a table of up to 17 columns).
   */
  private pairPool(column: string, pool: string[]): string[] {
    const keep = this.pairPools.get(column);
    return keep ? pool.filter((p) => keep.has(p)) : pool;
  }

  /** I(column; parents) for each parent set (summary.real.information), cached per (column, set). */
  private async information(column: string, sets: string[][]): Promise<(number | undefined)[]> {
    const keyOf = (parents: string[]) => [column, ...[...parents].sort()].join("\u0000");
    const wanted = [...sets];
    const missing = [...new Map(wanted.map((p) => [keyOf(p), p])).entries()]
      .filter(([k]) => !this.informations.has(k))
      .map(([, p]) => p);
    if (missing.length > 0) {
      const scores = await this.summary.real.information(column, missing);
      for (const [k, p] of missing.entries()) this.informations.set(keyOf(p), scores[k]);
    }
    return sets.map((p) => this.informations.get(keyOf(p)));
  }

  /**
   * The real distribution of `child` given the parents' fixed codes, falling back to fewer parents where
   * the combination was never seen. From the codes view, or from the fine codes (numeric columns as
   * "bin.sub"; parents are matched on their main bin) keeping only child codes that start with `prefix`.
   */
  private async conditionalFor(
    child: string,
    parents: string[],
    fixed: Map<string, Code>,
    view: CodesView,
    prefix = "",
  ): Promise<Conditional> {
    const found = await backOff(parents.length, this.minCell, async (n) => {
      const use = parents.slice(0, n);
      const table = await this.tables.table(child, use, view);
      const entry = table.get(codeKey(use.map((p) => fixed.get(p) ?? null)));
      if (!entry) return undefined;
      const keep = entry.codes.flatMap((c, i) => (!prefix || c?.startsWith(prefix) ? [i] : []));
      return {
        codes: keep.map((i) => entry.codes[i] ?? null),
        counts: keep.map((i) => entry.counts[i] ?? 0),
      };
    });
    if (found) {
      if (prefix || this.minCell <= 1) return found;
      const marginal = (await this.tables.table(child, [], "synthor_real_codes")).get(codeKey([]));
      return marginal ? detachRare(found, marginal, this.minCell) : found;
    }
    throw new Error(`no real values for column ${child}${prefix ? ` in bin ${prefix}` : ""}`);
  }

  /** The codes of a column (categories, NULL, main bins) that fewer than min-cell real rows hold. */
  private async rareCodes(column: string): Promise<Set<Code>> {
    const cached = this.rare.get(column);
    if (cached) return cached;
    const rare = new Set<Code>();
    if (this.minCell > 1) {
      const marginal = (await this.tables.table(column, [], "synthor_real_codes")).get(codeKey([]));
      for (const [k, code] of (marginal?.codes ?? []).entries()) {
        if ((marginal?.counts[k] ?? 0) < this.minCell) rare.add(code);
      }
    }
    this.rare.set(column, rare);
    return rare;
  }

  /** What fewer real rows hold is not drawn from as it is (Summary.minCell; at most 1: no rule). */
  private get minCell(): number {
    return this.summary.minCell;
  }

  private label(columns: string[], cell: Code[]): string {
    const byName = new Map(this.summary.columns.map((c) => [c.name, c]));
    return columns.map((c, k) => cellLabel(byName.get(c), c, cell[k] ?? null)).join(", ");
  }
}

/** Splits `total` rows into `parts` near-equal whole numbers. */
export function split(total: number, parts: number): number[] {
  if (parts <= 0 || total <= 0) return [];
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/** Index drawn with probability proportional to weight; -1 when no weight is positive. */
export function weightedPick(rng: () => number, weights: number[]): number {
  let total = 0;
  for (const w of weights) if (w > 0) total += w;
  if (!(total > 0)) return -1;
  let x = rng() * total;
  for (const [i, w] of weights.entries()) {
    if (w <= 0) continue;
    x -= w;
    if (x < 0) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] ?? 0) > 0) return i;
  return -1;
}

/**
 * Sub-bins cut into runs of neighbours that at least `minCell` real rows hold each: left to right, a run
 * closes once it holds minCell rows; a short last run joins the one before (all one run if the bin holds
 * fewer). Each run as [first, last].
 *
 * @example subBinRuns([0, 6, 0, 1, 4, 0, 0, 1], 5) // [[0, 1], [2, 7]]
 */
export function subBinRuns(counts: number[], minCell: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  let held = 0;
  for (const [i, n] of counts.entries()) {
    held += n;
    if (held >= minCell) {
      runs.push([start, i]);
      start = i + 1;
      held = 0;
    }
  }
  if (start < counts.length) {
    const last = runs.pop();
    runs.push([last ? last[0] : start, counts.length - 1]);
  }
  return runs;
}

/**
 * The conditional to draw from, given a way to read it with the first n parents: all of them first, then
 * one fewer at a time down to none (the marginal). A context fewer than `minCell` real rows hold is
 * passed over (its rows' values would be handed on), as is one never seen; the marginal is taken as it is.
 *
 * @example await backOff(2, 5, async (n) => [{ codes: ["x"], counts: [1] }, { codes: ["x", "y"], counts: [3, 4] }, undefined][2 - n]) // the one-parent conditional
 */
export async function backOff(
  parents: number,
  minCell: number,
  read: (n: number) => Promise<Conditional | undefined>,
): Promise<Conditional | undefined> {
  for (let n = parents; n >= 0; n--) {
    const found = await read(n);
    const rows = found?.counts.reduce((a, x) => a + x, 0) ?? 0;
    if (!found || rows <= 0 || (n > 0 && rows < minCell)) continue;
    return found;
  }
  return undefined;
}

/**
 * A conditional with the column's rare values (fewer than `minCell` real rows in all, per `marginal`) given
 * their share of the whole column in place of their share in this context: a rare value is drawn apart
 * from the other columns, so it does not bring the values of its few rows with it
 * (docs/decisions/rare-values.md).
 *
 * @example detachRare({ codes: ["a", "z"], counts: [9, 1] }, { codes: ["a", "b", "z"], counts: [60, 39, 1] }, 5)
 * // { codes: ["a", "z"], counts: [9, 0.1] }
 */
export function detachRare(conditional: Conditional, marginal: Conditional, minCell: number): Conditional {
  const rare = new Set(marginal.codes.filter((_, k) => (marginal.counts[k] ?? 0) < minCell));
  if (rare.size === 0) return conditional;
  const total = marginal.counts.reduce((a, x) => a + x, 0);
  const rows = conditional.counts.reduce((a, x) => a + x, 0);
  const codes: Code[] = [];
  const counts: number[] = [];
  for (const [k, code] of conditional.codes.entries()) {
    if (rare.has(code)) continue;
    codes.push(code);
    counts.push(conditional.counts[k] ?? 0);
  }
  for (const [k, code] of marginal.codes.entries()) {
    if (!rare.has(code) || total <= 0) continue;
    codes.push(code);
    counts.push(((marginal.counts[k] ?? 0) * rows) / total);
  }
  return { codes, counts };
}

/** Every pair of the columns, in their order. */
function pairsOf(columns: string[]): string[][] {
  return columns.flatMap((a, i) => columns.slice(i + 1).map((b) => [a, b]));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** `--planner stats`, the default: StatsPlanner, and NestedStatsPlanner for households. */
export const statsPlanners: PlannerKind = {
  name: "stats",
  summary: "the statistical planner: cells in deficit, completed from the real conditionals; no LLM",
  nested: true,
  async prepare(opts, say) {
    say(
      opts.planner === "stats"
        ? "synthor: planning with the statistical planner (--planner stats)"
        : "synthor: no LLM configured; planning with the statistical planner (--planner stats). For an LLM: --model NAME (OpenAI, or any OpenAI-compatible server with --base-url), or --model-file FILE.gguf",
    );
    // Loaded here, not on import: the nested planner builds on this module.
    const { NestedStatsPlanner } = await import("../nested/planners/stats.ts");
    return {
      config: { kind: "stats" },
      flat: (db, summary) => new StatsPlanner(db, summary, { seed: opts.seed }),
      nested: (db, summary) => new NestedStatsPlanner(db, summary, { seed: opts.seed }),
    };
  },
};
