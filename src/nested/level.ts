/**
 * The household level of the loop (src/loop.ts) for nested data: households planned as the flat table,
 * drawn with their members, counted at both levels, and the discrepancy of both levels recorded.
 */
import type { Db } from "../db/connection.ts";
import {
  type CountsRead,
  type Discrepancy,
  discrepancyOf,
  readCounts,
  type UnitTvd,
} from "../discrepancy.ts";
import { recordProposals } from "../history.ts";
import type { Level } from "../loop.ts";
import type { Unit } from "../summarize.ts";
import type { NestedPlanner } from "./planners/types.ts";
import {
  acceptNestedProposals,
  type NestedProposal,
  type NestedProposalScope,
  type ValidNestedProposal,
} from "./proposals.ts";
import { sampleNested } from "./sample.ts";
import type { NestedSummary } from "./summarize.ts";

/** The household level of the loop (src/loop.ts): households drawn with their members, counted at both levels. */
export function householdLevel(
  db: Db,
  summary: NestedSummary,
  planner: NestedPlanner,
  scope: NestedProposalScope,
  options: { seed: number; withinRange: "quantile" | "uniform" },
): Level<NestedProposal, ValidNestedProposal> {
  return {
    summary: summary.households,
    planner,
    accept: (raw, maxRows, notes) => acceptNestedProposals(raw, scope, maxRows, notes),
    sample: (valid, iteration) => sampleNested(db, summary, valid, { ...options, iteration }),
    measure: async () => {
      const counts = await readCounts(db);
      const { households, both } = bothLevels(counts, summary);
      return { discrepancy: households, gaps: counts.gaps, recorded: both };
    },
    recordProposals: (runId, iteration, valid) =>
      recordProposals(
        db,
        runId,
        iteration,
        valid.map((p) => ({
          num: p.num,
          reason: p.reason,
          values: { household: p.household, members: p.members },
        })),
      ),
    plannedTvd: ({ tvd }) => discrepancyOf(summary.households, tvd).meanTvd,
  };
}

/**
 * The planner's pairs, less those of a composition with a numeric column or another composition: kept
 * at sub-bin level, or crossing two lists of values, they are tens of thousands of cells read every
 * iteration, for a dependence the groups and the completion's conditionals already carry.
 */
export function trackedPairs(s: NestedSummary, pairs: [string, string][]): [string, string][] {
  const numeric = new Set(s.households.columns.filter((c) => c.kind !== "categorical").map((c) => c.name));
  const composed = new Set(s.compositions.map((c) => c.name));
  const heavy = (a: string, b: string) => (numeric.has(a) || composed.has(a)) && composed.has(b);
  return pairs.filter(([a, b]) => !heavy(a, b) && !heavy(b, a));
}

/**
 * The discrepancy recorded per iteration: the household level's (columns, member count and counts per
 * category, groups) and the member level's (member columns; each with a household column or the position).
 */
function bothLevels({ tvd }: CountsRead, s: NestedSummary): { households: Discrepancy; both: Discrepancy } {
  const pick = (units: Unit[], missing: number): UnitTvd[] =>
    units.map((u) => ({ unit: u.id, columns: u.columns, tvd: tvd.get(u.id) ?? missing }));
  const mean = (xs: UnitTvd[]) => xs.reduce((a, u) => a + u.tvd, 0) / Math.max(1, xs.length);
  const households = discrepancyOf(s.households, tvd);
  const hm = households.marginals;
  const hg = households.groups;
  const marginals = [
    ...hm,
    ...pick(
      s.memberUnits.filter((u) => u.columns.length === 1),
      1,
    ),
  ];
  const groups = [
    ...hg,
    ...pick(
      s.memberUnits.filter((u) => u.columns.length > 1),
      1,
    ),
  ];
  return { households, both: { marginals, groups, meanTvd: mean([...marginals, ...groups]) } };
}
