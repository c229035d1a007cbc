import seedrandom from "seedrandom";
import { readUnits } from "../../counts.ts";
import type { Db } from "../../db/connection.ts";
import { measureAssociations } from "../../groups.ts";
import { pacer } from "../../interrupt.ts";
import { backOff, detachRare, StatsPlanner, weightedPick } from "../../planners/stats.ts";
import type { PlanContext } from "../../planners/types.ts";
import type { ProposalValue } from "../../proposals.ts";
import type { ModelColumn } from "../../summarize.ts";
import type { NestedProposal } from "../proposals.ts";
import {
  type Composition,
  FIRST,
  HAS,
  type NestedSummary,
  OTHER,
  POSITION,
  REAL_MEMBER_CODES,
  SIZE,
} from "../summarize.ts";
import type { NestedPlanner, NestedPlanResult } from "./types.ts";

type Code = string | null;

interface Conditional {
  codes: Code[];
  counts: number[];
}

/**
 * The statistical planner for nested data, in two steps:
 *
 * 1. *Households.* The flat statistical planner over the household-level table (household columns, the
 *    member count and the compositions, e.g. `#PAge` = `["8","9"]`): each proposal anchors a household
 *    cell in deficit (groups may mix household columns and compositions) and completes the rest from the
 *    real conditionals, so sizes and compositions come out in the real proportions, jointly with the
 *    household columns.
 * 2. *Members.* Each of the household's members, in position order, gets a code for every member column
 *    from the real conditional distribution given its (up to three) most dependent known codes: the
 *    household's codes and size, its position, the first member's codes, and its own codes fixed so far.
 *    The household's composition (members per value) is kept: a value whose count is reached is not drawn
 *    again, and once the members left are just enough for the counts still missing, only those are.
 *
 * Aggregates only, like the flat planner: count tables of at most four columns, never a real household.
 */
export class NestedStatsPlanner implements NestedPlanner {
  readonly name = "stats";
  private readonly flat: StatsPlanner;
  private readonly mi = new Map<string, number>();
  private readonly conditionals = new Map<string, Map<string, Conditional>>();
  private readonly order: Map<string, number>;
  private kept?: Map<string, Set<string>>;
  /** Member values this iteration drawn without the real conditional's support (see pickWithCounts). */
  private relaxed = 0;

  constructor(
    private readonly db: Db,
    private readonly s: NestedSummary,
    private readonly options: { seed?: number; maxParents?: number } = {},
  ) {
    this.flat = new StatsPlanner(db, s.households, { seed: options.seed ?? 0 });
    this.order = new Map(s.memberCodeColumns.map((c, i) => [c, i]));
  }

  async inferGroups(signal?: AbortSignal): Promise<string[][]> {
    const groups = await this.flat.inferGroups(signal);
    await this.memberAssociation();
    return groups;
  }

  trackPairs(): [string, string][] {
    return this.flat.trackPairs();
  }

  async plan(ctx: PlanContext): Promise<NestedPlanResult> {
    if (this.mi.size === 0) await this.memberAssociation();
    const flat = await this.flat.plan(ctx);
    const rng = seedrandom(`${ctx.seed}:${ctx.iteration}:nested`);
    const proposals: NestedProposal[] = [];
    const checkpoint = pacer(ctx.signal, `planning iteration ${ctx.iteration}`);
    for (const p of flat.proposals) {
      await checkpoint();
      const household: Record<string, ProposalValue> = {};
      const fixed = new Map<string, Code>();
      for (const c of this.s.householdColumns) {
        const v = p.proposal[c.name] ?? null;
        household[c.name] = v;
        fixed.set(c.name, codeOf(c, v));
      }
      const sizeCode = p.proposal[SIZE];
      const size = typeof sizeCode === "string" ? Number(sizeCode) : 1;
      fixed.set(SIZE, String(size));
      // The compositions chosen fix how many members have each value (a value a composition leaves out
      // has none); a pooled class fixes some (classTargets); "other" fixes nothing.
      const targets = new Map<string, { min: number; max: number }>();
      for (const c of this.s.compositions) {
        const code = p.proposal[c.name];
        if (typeof code === "string" && code.startsWith(HAS)) {
          for (const [v, t] of classTargets(c, code)) targets.set(`${c.column}\u0000${v}`, t);
        }
        if (typeof code !== "string" || !code.startsWith("[")) continue;
        for (const a of this.s.aggregates.filter((x) => x.column === c.column)) {
          targets.set(`${c.column}\u0000${a.value}`, { min: 0, max: 0 });
        }
        for (const v of JSON.parse(code) as Code[]) {
          const key = `${c.column}\u0000${v}`;
          const t = targets.get(key) ?? { min: 0, max: 0 };
          targets.set(key, { min: t.min + 1, max: t.max + 1 });
        }
      }
      // A pooled class ("has:[...]", "other") does not fix every value: members are drawn again (up to
      // MAX_DRAWS times) until their lists pool into the classes chosen, as the real households' do.
      const pooled = this.s.compositions.filter((c) => {
        const code = p.proposal[c.name];
        return typeof code === "string" && !code.startsWith("[");
      });
      const kept = pooled.length > 0 ? await this.keptCompositions() : new Map<string, Set<string>>();
      let drawn = await this.completeMembers(fixed, size, targets, rng);
      for (let tries = 1; tries < MAX_DRAWS; tries++) {
        const off = pooled.some(
          (c) =>
            classOf(
              c,
              drawn.codes.map((m) => m.get(c.column) ?? null),
              kept.get(c.column) ?? new Set(),
            ) !== p.proposal[c.name],
        );
        if (!off) break;
        await checkpoint();
        drawn = await this.completeMembers(fixed, size, targets, rng);
      }
      proposals.push({ reason: p.reason, household, members: drawn.members, num: p.num });
    }
    const notes = [...(flat.notes ?? [])];
    if (this.relaxed > 0) {
      notes.push(
        `${this.relaxed} member value${this.relaxed === 1 ? "" : "s"} drawn from the column's overall frequencies: no real member with the same known codes has a value the household's composition still needed`,
      );
    }
    this.relaxed = 0;
    return { proposals, notes };
  }

  /** The members of one household: codes drawn member by member, then turned into values. */
  private async completeMembers(
    household: Map<string, Code>,
    size: number,
    targets: Map<string, { min: number; max: number }>,
    rng: () => number,
  ): Promise<{ members: Record<string, ProposalValue>[]; codes: Map<string, Code>[] }> {
    const members: Record<string, ProposalValue>[] = [];
    const codes: Map<string, Code>[] = [];
    const counts = new Map<string, number>();
    let first: Map<string, Code> | undefined;
    for (let j = 1; j <= size; j++) {
      const fixed = new Map(household);
      fixed.set(POSITION, String(j));
      if (first) for (const [c, v] of first) fixed.set(`${FIRST}${c}`, v);
      const own = new Map<string, Code>();
      const open = this.s.memberColumns.map((c) => c.name);
      while (open.length > 0) {
        // Most dependent on what is known first.
        let best = 0;
        let bestScore = -1;
        for (const [k, c] of open.entries()) {
          const score = Math.max(0, ...[...fixed.keys()].map((f) => this.association(c, f)));
          if (score > bestScore) {
            bestScore = score;
            best = k;
          }
        }
        const column = open.splice(best, 1)[0] as string;
        const parents = [...fixed.keys()]
          .filter((f) => this.association(column, f) > 0.005)
          .sort((a, b) => this.association(column, b) - this.association(column, a))
          .slice(0, this.options.maxParents ?? 3);
        const conditional = await this.conditionalFor(column, parents, fixed);
        const pick = this.pickWithCounts(column, conditional, counts, targets, size - j, rng);
        const code = conditional.codes[pick] ?? null;
        own.set(column, code);
        fixed.set(column, code);
        const key = `${column}\u0000${code}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (!first) first = own;
      codes.push(own);
      const values: Record<string, ProposalValue> = {};
      for (const c of this.s.memberColumns) values[c.name] = valueFromCode(c, own.get(c.name) ?? null);
      members.push(values);
    }
    return { members, codes };
  }

  /** The compositions and classes the household level keeps, per member column (synthor_nested_compositions). */
  private async keptCompositions(): Promise<Map<string, Set<string>>> {
    if (this.kept) return this.kept;
    const rows = await this.db.all<{ column: string; value: string }>(
      `select "column", value from synthor_nested_compositions`,
      {},
      "nested: kept compositions",
    );
    const kept = new Map<string, Set<string>>();
    for (const r of rows) kept.set(r.column, (kept.get(r.column) ?? new Set()).add(r.value));
    this.kept = kept;
    return kept;
  }

  /**
   * A value of `column` for one member, from the real conditional, keeping the household's member counts:
   * values whose count is reached are out; when the members left after this one cannot otherwise reach
   * the counts still missing, only missing values are in. Falls back to the plain conditional.
   */
  private pickWithCounts(
    column: string,
    conditional: Conditional,
    counts: Map<string, number>,
    targets: Map<string, { min: number; max: number }>,
    left: number,
    rng: () => number,
  ): number {
    const aggregated = this.s.aggregates.filter((a) => a.column === column);
    if (aggregated.length === 0) return Math.max(0, weightedPick(rng, conditional.counts));
    let missing = 0;
    for (const a of aggregated) {
      const t = targets.get(`${column}\u0000${a.value}`);
      if (t) missing += Math.max(0, t.min - (counts.get(`${column}\u0000${a.value}`) ?? 0));
    }
    const weights = conditional.codes.map((code, k) => {
      const t = targets.get(`${column}\u0000${code}`);
      const have = counts.get(`${column}\u0000${code}`) ?? 0;
      if (!t) return conditional.counts[k] ?? 0;
      if (have >= t.max) return 0;
      if (missing > left && have >= t.min) return 0;
      return conditional.counts[k] ?? 0;
    });
    const pick = weightedPick(rng, weights);
    if (pick >= 0) return pick;
    this.relaxed++;
    // The counts cannot be kept with what the real data shows for these parents: keep them with the
    // column's overall frequencies, else give them up.
    const marginal = this.s.memberColumns.find((c) => c.name === column)?.categories ?? [];
    const codes = conditional.codes;
    const allowed = marginal.filter((m) => {
      const t = targets.get(`${column}\u0000${m.value}`);
      const have = counts.get(`${column}\u0000${m.value}`) ?? 0;
      return t && have < t.max && (missing <= left || have < t.min);
    });
    if (allowed.length > 0) {
      const i = weightedPick(
        rng,
        allowed.map((m) => m.n),
      );
      const code = allowed[Math.max(0, i)]?.value ?? null;
      const at = codes.indexOf(code);
      if (at >= 0) return at;
      conditional.codes.push(code);
      conditional.counts.push(0);
      return conditional.codes.length - 1;
    }
    return Math.max(0, weightedPick(rng, conditional.counts));
  }

  /** Mutual information of every member column with every column it may be drawn given (sampled rows). */
  private async memberAssociation(): Promise<void> {
    if (this.mi.size > 0) return;
    await this.db.exec(
      `create or replace temp table synthor_nested_assoc_sample as
       select * from ${REAL_MEMBER_CODES} using sample reservoir(100000 rows) repeatable (${Math.abs(Math.floor(this.options.seed ?? 0)) % 2147483647})`,
      "nested: sample member codes",
    );
    const members = this.s.memberColumns.map((c) => c.name);
    const pairs = new Map<string, [string, string]>();
    for (const m of members) {
      for (const other of this.s.memberCodeColumns) {
        if (other === m || other === `${FIRST}${m}` || pairs.has(pairKey(m, other))) continue;
        pairs.set(pairKey(m, other), [m, other]);
      }
    }
    // All pairs in a few statements; the measures come rounded to 10 digits (stable from run to run).
    const measured = await measureAssociations(this.db, "synthor_nested_assoc_sample", [...pairs.values()]);
    for (const p of measured) this.mi.set(pairKey(p.a, p.b), p.mutualInformation);
  }

  private association(a: string, b: string): number {
    return this.mi.get(pairKey(a, b)) ?? 0;
  }

  /** The real distribution of a member column given parents' codes, with fewer parents where unseen. */
  private async conditionalFor(
    child: string,
    parents: string[],
    fixed: Map<string, Code>,
  ): Promise<Conditional> {
    // As the flat planner: a context fewer than min-cell real members hold is backed off from, and a value
    // fewer than min-cell members hold in all is drawn with its overall share, apart from the context.
    const minCell = this.s.members.minCell;
    const found = await backOff(parents.length, minCell, async (n) => {
      const use = parents.slice(0, n);
      return (await this.conditionalTable(child, use)).get(
        JSON.stringify(use.map((p) => fixed.get(p) ?? null)),
      );
    });
    if (found) {
      const marginal = minCell > 1 ? (await this.conditionalTable(child, [])).get("[]") : undefined;
      const out = marginal ? detachRare(found, marginal, minCell) : found;
      return { codes: [...out.codes], counts: [...out.counts] };
    }
    throw new Error(`no real values for member column ${child}`);
  }

  private async conditionalTable(child: string, parents: string[]): Promise<Map<string, Conditional>> {
    const key = [...parents, child].join("\u0000");
    const cached = this.conditionals.get(key);
    if (cached) return cached;
    const columns = [...parents, child].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
    const [rows = []] = await readUnits(this.db, [{ codes: REAL_MEMBER_CODES, columns }]);
    const childAt = columns.indexOf(child);
    const parentAt = parents.map((p) => columns.indexOf(p));
    const table = new Map<string, Conditional>();
    for (const r of rows) {
      const pk = JSON.stringify(parentAt.map((k) => r.cell[k] ?? null));
      const entry = table.get(pk) ?? { codes: [], counts: [] };
      entry.codes.push(r.cell[childAt] ?? null);
      entry.counts.push(r.n);
      table.set(pk, entry);
    }
    this.conditionals.set(key, table);
    return table;
  }
}

/**
 * What a pooled class (`has:["0","9"]`) says of a household's members: at least one with each value
 * listed; none with a value the chain would have given up after the most frequent one listed (it gives
 * up the most frequent values first, so only values more frequent than every listed one may be there).
 */
export function classTargets(c: Composition, code: string): Map<Code, { min: number; max: number }> {
  const listed = JSON.parse(code.slice(HAS.length)) as Code[];
  const rank = (v: Code) => {
    const i = c.order.indexOf(v);
    return i < 0 ? c.order.length : i;
  };
  const first = Math.min(...listed.map(rank));
  const targets = new Map<Code, { min: number; max: number }>();
  for (const v of c.order) {
    if (listed.includes(v)) targets.set(v, { min: 1, max: Number.POSITIVE_INFINITY });
    else if (rank(v) > first) targets.set(v, { min: 0, max: 0 });
  }
  return targets;
}

/**
 * How many times at most a household's members are drawn to land in the pooled classes chosen: on the
 * travel survey 40 draws did better than 10 in every category (ARCHITECTURE.md, "Nested data").
 */
const MAX_DRAWS = 40;

/** Sorted as synthor_member_values sorts a list: by text, NULL last. */
function byValue(a: Code, b: Code): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/**
 * The household-level value of a composition for members with these codes, as poolCompositions gives it:
 * the list if kept, else the first kept class of its chain, else "other".
 */
export function classOf(c: Composition, codes: Code[], kept: Set<string>): string {
  const list = JSON.stringify([...codes].sort(byValue));
  if (kept.has(list)) return list;
  const rank = (v: Code) => {
    const i = c.order.indexOf(v);
    return i < 0 ? c.order.length : i;
  };
  const present = [...new Set(codes)].sort((a, b) => rank(a) - rank(b) || byValue(a, b));
  for (let k = 0; k < present.length; k++) {
    const cls = `${HAS}${JSON.stringify(present.slice(k).sort(byValue))}`;
    if (kept.has(cls)) return cls;
  }
  return OTHER;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/** A proposal value as a code: the category, or the main bin the range's middle falls in. */
export function codeOf(c: ModelColumn, v: ProposalValue): Code {
  if (v === null) return null;
  if (c.kind === "categorical") return typeof v === "string" ? v : null;
  if (!Array.isArray(v)) return null;
  const mid = (v[0] + v[1]) / 2;
  const bins = c.bins ?? [];
  for (const [i, b] of bins.entries()) {
    if ((i === 0 && mid >= b.lo && mid <= b.hi) || (mid > b.lo && mid <= b.hi)) return String(b.bin);
  }
  return String(mid <= (bins[0]?.lo ?? 0) ? (bins[0]?.bin ?? 0) : (bins.at(-1)?.bin ?? 0));
}

/** A code as a proposal value: the category, or the main bin's range. */
function valueFromCode(c: ModelColumn, code: Code): ProposalValue {
  if (code === null) return null;
  if (c.kind === "categorical") return code;
  const b = c.bins?.find((x) => String(x.bin) === code);
  return b ? [b.lo, b.hi] : [c.summary?.min ?? 0, c.summary?.max ?? 0];
}
