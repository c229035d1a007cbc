import { z } from "zod";
import { keepValid, normalizeProposal, ProposalValue, validateProposal } from "../proposals.ts";
import type { Summary } from "../summarize.ts";
import type { NestedSummary } from "./summarize.ts";

/**
 * A nested proposal: a whole household. `household` has a value for every household column, `members`
 * one object per member with a value for every member column (a category, a range [lo, hi], or null),
 * and `num` is how many such households to draw. The household's size is its member list's length.
 */
export const NestedProposal = z.strictObject(
  {
    reason: z.string().default(""),
    household: z.record(z.string(), ProposalValue, {
      error: (issue) =>
        `"household" must be an object with a value for every household column, not ${shown(issue.input)}`,
    }),
    members: z.array(
      z.record(z.string(), ProposalValue, {
        error: (issue) =>
          `each member must be an object with a value for every member column, not ${shown(issue.input)}`,
      }),
      { error: (issue) => `"members" must be a list of member objects, not ${shown(issue.input)}` },
    ),
    num: z.number({
      error: (issue) =>
        issue.input === undefined
          ? "num is missing: give the number of households to draw, a positive whole number"
          : `num must be a positive whole number of households, not ${shown(issue.input)}`,
    }),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown key${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; a household proposal has "reason", "household", "members" and "num"`
        : `a household proposal is an object {"reason": ..., "household": {...}, "members": [{...}, ...], "num": ...}, not ${shown(issue.input)}`,
  },
);
export type NestedProposal = z.infer<typeof NestedProposal>;

/** A nested proposal that passed validation; ranges clipped to the real ranges. */
export interface ValidNestedProposal {
  reason: string;
  household: Record<string, ProposalValue>;
  members: Record<string, ProposalValue>[];
  num: number;
}

function shown(x: unknown): string {
  return typeof x === "number" ? String(x) : (JSON.stringify(x) ?? String(x));
}

/** The summaries proposals are checked against: the household columns alone, and the member columns. */
export interface NestedProposalScope {
  households: Summary;
  members: Summary;
  /** Fewest and most members a real household has. */
  minMembers: number;
  maxMembers: number;
}

/** The scope of a nested summary: household columns (no derived counts) and member columns. */
export function proposalScope(s: NestedSummary, sizes: { min: number; max: number }): NestedProposalScope {
  return {
    households: { ...s.households, columns: s.householdColumns },
    members: s.members,
    minMembers: sizes.min,
    maxMembers: sizes.max,
  };
}

/**
 * Checks a household proposal against the real data: every household column and every member's columns
 * (with the flat validator's messages, prefixed by where they are), and a member count within the real
 * household sizes. Returns sentences a planner can act on.
 */
export function validateNestedProposal(p: NestedProposal, scope: NestedProposalScope): string[] {
  const problems: string[] = [];
  // num is checked here with the household part only; members get a num of 1 so it is not repeated.
  for (const x of validateProposal(
    { reason: p.reason, proposal: p.household, num: p.num },
    scope.households,
  )) {
    problems.push(x.startsWith("num ") ? x.replace("rows", "households") : `household: ${x}`);
  }
  const n = p.members.length;
  if (n < scope.minMembers || n > scope.maxMembers) {
    problems.push(
      `the household has ${n} member${n === 1 ? "" : "s"}; real households have ${scope.minMembers} to ${scope.maxMembers}: give "members" a list of that many member objects`,
    );
  }
  for (const [i, m] of p.members.entries()) {
    for (const x of validateProposal({ reason: "", proposal: m, num: 1 }, scope.members)) {
      problems.push(`member ${i + 1}: ${x}`);
    }
  }
  return problems;
}

/** The valid household proposals of a batch (see keepValid), their values normalized at both levels. */
export function acceptNestedProposals(
  raw: unknown[],
  scope: NestedProposalScope,
  maxHouseholds: number,
  notes: string[],
): ValidNestedProposal[] {
  return keepValid(raw, maxHouseholds, notes, {
    schema: NestedProposal,
    problems: (p) => validateNestedProposal(p, scope),
    valid: (p, num) => ({
      reason: p.reason,
      household: normalizeProposal({ reason: "", proposal: p.household, num }, scope.households).values,
      members: p.members.map(
        (m) => normalizeProposal({ reason: "", proposal: m, num: 1 }, scope.members).values,
      ),
      num,
    }),
  });
}
