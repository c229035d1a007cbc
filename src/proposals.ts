import { z } from "zod";
import { formatNumber } from "./discrepancy.ts";
import type { ModelColumn, Summary } from "./summarize.ts";

/**
 * A proposal (paper Section 3.4, Appendix E): a region of the joint space and how many rows to draw from
 * it. Every modelled column gets one category, or one numeric range [lo, hi], or null (a NULL value,
 * allowed only where the real column has NULLs).
 */
export const ProposalValue = z.union([z.string(), z.tuple([z.number(), z.number()]), z.null()], {
  error: (issue) => valueShapeProblem(issue.input),
});
export type ProposalValue = z.infer<typeof ProposalValue>;

// The messages below replace zod's ("Invalid input"), which do not tell a planner what to write instead.
export const Proposal = z.strictObject(
  {
    reason: z.string().default(""),
    proposal: z.record(z.string(), ProposalValue, {
      error: (issue) =>
        `"proposal" must be an object with a value for every column, not ${shown(issue.input)}`,
    }),
    num: z.number({
      error: (issue) =>
        issue.input === undefined
          ? "num is missing: give the number of rows to draw, a positive whole number"
          : `num must be a positive whole number of rows, not ${shown(issue.input)}`,
    }),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown key${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; a proposal has "reason", "proposal" and "num"`
        : `a proposal is an object {"reason": ..., "proposal": {...}, "num": ...}, not ${shown(issue.input)}`,
  },
);
export type Proposal = z.infer<typeof Proposal>;

/** Why a column's value has the wrong shape, with the shapes it may take. */
function valueShapeProblem(input: unknown): string {
  if (typeof input === "number") {
    const x = String(input);
    return `${x} is not a value: give a category as text (${JSON.stringify(x)}), a range [${x}, ${x}], or null`;
  }
  if (typeof input === "boolean")
    return `${input} is not a value: give a category as text ("${input}"), or null`;
  if (Array.isArray(input)) return `a range is two numbers [lo, hi], not ${shown(input)}`;
  return `give a category as text, a range [lo, hi] or null, not ${shown(input)}`;
}

function shown(x: unknown): string {
  if (typeof x === "number") return String(x);
  return JSON.stringify(x) ?? String(x);
}

/** A proposal that passed validation against the profile; numbers are checked and `num` is whole. */
export interface ValidProposal {
  reason: string;
  values: Record<string, ProposalValue>;
  num: number;
}

/**
 * Checks a proposal against the real data's summary. Returns the problems as sentences a planner (or an
 * LLM, in a repair round) can act on: which column, what was wrong, what is allowed.
 */
export function validateProposal(p: Proposal, summary: Summary): string[] {
  const problems: string[] = [];
  const byName = new Map(summary.columns.map((c) => [c.name, c]));
  for (const name of Object.keys(p.proposal)) {
    if (!byName.has(name)) {
      problems.push(
        `unknown column "${name}"; the columns are: ${summary.columns.map((c) => c.name).join(", ")}`,
      );
    }
  }
  for (const c of summary.columns) {
    if (!(c.name in p.proposal)) {
      problems.push(`column "${c.name}" is missing; give it ${allowed(c)}${c.nulls > 0 ? " or null" : ""}`);
      continue;
    }
    const v = p.proposal[c.name] ?? null;
    const problem = valueProblem(c, v);
    if (problem) problems.push(problem);
  }
  if (!Number.isInteger(p.num) || p.num <= 0) {
    problems.push(`num must be a positive whole number of rows, not ${JSON.stringify(p.num)}`);
  }
  return problems;
}

function valueProblem(c: ModelColumn, v: ProposalValue): string | null {
  if (v === null) {
    return c.nulls > 0 ? null : `column "${c.name}" is never NULL in the real data; give it ${allowed(c)}`;
  }
  if (c.kind === "categorical") {
    if (typeof v !== "string") return `column "${c.name}" is categorical; give one category: ${allowed(c)}`;
    if (!c.categories?.some((x) => x.value === v)) {
      const near = c.categories?.find((x) => x.value?.toLowerCase() === v.toLowerCase());
      return `column "${c.name}" has no category ${JSON.stringify(v)}${near ? ` (categories are case-sensitive: did you mean ${JSON.stringify(near.value)}?)` : ""}; give one of ${allowed(c)}`;
    }
    return null;
  }
  if (typeof v === "string" && c.special?.includes(v as never)) return null;
  if (!Array.isArray(v)) {
    const what = c.kind === "datetime" ? (/^DATE$/i.test(c.sqlType) ? "a date" : "a datetime") : "numeric";
    return `column "${c.name}" is ${what}; give a range [lo, hi] within ${allowed(c)}`;
  }
  const [lo, hi] = v;
  if (!Number.isFinite(lo) || !Number.isFinite(hi))
    return `column "${c.name}": range bounds must be finite numbers`;
  if (lo > hi) return `column "${c.name}": range [${lo}, ${hi}] is reversed; write it as [${hi}, ${lo}]`;
  const min = c.summary?.min ?? Number.NEGATIVE_INFINITY;
  const max = c.summary?.max ?? Number.POSITIVE_INFINITY;
  if (hi < min || lo > max) {
    return `column "${c.name}": range [${lo}, ${hi}] lies outside the real values; give a range within ${allowed(c)}`;
  }
  return null;
}

/** What a column takes, in words: its categories, or its real range. */
export function allowed(c: ModelColumn): string {
  if (c.kind === "categorical") {
    const cats = (c.categories ?? []).filter((x) => x.value !== null).map((x) => JSON.stringify(x.value));
    return cats.length > 12
      ? `${cats.slice(0, 12).join(", ")}, ... (${cats.length} categories)`
      : cats.join(", ");
  }
  const range = `[${formatNumber(c, c.summary?.min ?? 0)}, ${formatNumber(c, c.summary?.max ?? 0)}]`;
  return c.special?.length
    ? `${range}, or one of ${c.special.map((s) => JSON.stringify(s)).join(", ")}`
    : range;
}

/**
 * Clips a valid proposal's ranges to the real range (a planner may reach past the ends; the sampler draws
 * from the real distribution, which has no mass there).
 */
export function normalizeProposal(p: Proposal, summary: Summary): ValidProposal {
  const values: Record<string, ProposalValue> = {};
  for (const c of summary.columns) {
    const v = p.proposal[c.name] ?? null;
    if (Array.isArray(v) && c.summary?.min != null && c.summary?.max != null) {
      values[c.name] = [Math.max(v[0], c.summary.min), Math.min(v[1], c.summary.max)];
    } else {
      values[c.name] = v;
    }
  }
  return { reason: p.reason, values, num: p.num };
}

/**
 * The proposals of a batch that parse (`schema`) and pass `problems`, in order, as `valid` makes them,
 * with their nums trimmed so the batch never exceeds `maxRows`; why each other one was dropped goes to
 * `notes` ("proposal 2 dropped: ..."). Flat and nested proposals alike.
 */
export function keepValid<T extends { num: number }, V extends { num: number }>(
  raw: unknown[],
  maxRows: number,
  notes: string[],
  check: { schema: z.ZodType<T>; problems(p: T): string[]; valid(p: T, num: number): V },
): V[] {
  const kept: V[] = [];
  let total = 0;
  for (const [i, candidate] of raw.entries()) {
    const parsed = check.schema.safeParse(candidate);
    if (!parsed.success) {
      notes.push(
        `proposal ${i + 1} dropped: ${parsed.error.issues.map((x) => (x.path.length ? `${x.path.join(".")}: ${x.message}` : x.message)).join("; ")}`,
      );
      continue;
    }
    const problems = check.problems(parsed.data);
    if (problems.length > 0) {
      notes.push(`proposal ${i + 1} dropped: ${problems.join("; ")}`);
      continue;
    }
    const num = Math.min(parsed.data.num, maxRows - total);
    if (num <= 0) break;
    total += num;
    kept.push(check.valid(parsed.data, num));
  }
  return kept;
}

/** The valid flat proposals of a batch (see keepValid), their ranges clipped to the real ones. */
export function acceptProposals(
  raw: unknown[],
  summary: Summary,
  maxRows: number,
  notes: string[],
): ValidProposal[] {
  return keepValid(raw, maxRows, notes, {
    schema: Proposal,
    problems: (p) => validateProposal(p, summary),
    valid: (p, num) => ({ ...normalizeProposal(p, summary), num }),
  });
}
