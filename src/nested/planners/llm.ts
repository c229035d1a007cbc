import { createHash } from "node:crypto";
import type { Db } from "../../db/connection.ts";
import { type Gap, gapTable } from "../../discrepancy.ts";
import { type Unusable, withoutProposalName } from "../../outcome.ts";
import type { ReplyCache } from "../../planners/cache.ts";
import {
  budgetSpent,
  type ChatClient,
  type ChatMessage,
  cachedCall,
  scaleToRows,
} from "../../planners/llm.ts";
import {
  describeVariables,
  jointGuide,
  marginalGuide,
  PROPOSAL_TEMPLATE_TAIL,
  type PromptView,
  promptView,
} from "../../planners/prompts.ts";
import {
  convertProposal,
  extractJson,
  repairPrompt,
  unusableReply,
  widenToRealEnds,
} from "../../planners/replies.ts";
import type { PlanContext, TokenUse } from "../../planners/types.ts";
import type { ProposalValue } from "../../proposals.ts";
import { NestedProposal, type NestedProposalScope, validateNestedProposal } from "../proposals.ts";
import { type NestedSummary, SIZE } from "../summarize.ts";
import type { NestedPlanner, NestedPlanResult } from "./types.ts";

/**
 * p_proposal (paper Appendix E) for whole households: the paper's Output Format with each proposal
 * holding "household" and "members" instead of "proposal", and its Information sections over both levels.
 */
export const NESTED_PROPOSAL_TEMPLATE_HEAD = `## Output Format:
\`\`\`json
{
 "n_proposals": n,
 "proposal1": {
 "reason": "...",
 "household": {...},
 "members": [{...}, {...}],
 "num": n1
 },
 "proposal2": {
 "reason": "...",
 "household": {...},
 "members": [{...}],
 "num": n2
 },
 "...
}
\`\`\`

## Information:

**Joint Guidance:**
{joint_guide}
**Marginal Guidance:**
Households:
{marginal_guide}
Members:
{member_guide}
**Variables:**
Household variables ("household"):
{data_desc}
Member variables (each object of "members"):
{member_desc}
`;

export interface NestedLlmPlannerOptions {
  client: ChatClient;
  temperature?: number;
  minCell?: number;
  /** Proposals per request (paper: 5). */
  proposals?: number;
  repairs?: number;
  seed?: number;
  scenario?: string;
  maxReplyTokens?: number;
  maxCells?: number;
  /** Groups for the household-level table (the statistical ones): the copula step is not asked for nested data. */
  fallbackGroups?: () => Promise<string[][]>;
  /** The run's database: the member-level gaps (each member column's real and synthetic shares) are read from it. */
  db?: Db;
  /** Replies kept on disk (--replay reruns a run from them), as the flat planner's. */
  cache?: ReplyCache;
  /** Token budget of the run (--max-tokens): prompt plus completion tokens of every reply used. */
  maxTokens?: number;
}

/**
 * The LLM planner for nested data: one p_proposal request per iteration asking for whole households,
 * replies read with the paper's reply format (`proposal1`, ...), each proposal checked with the nested
 * zod schema and validator against what the prompt showed, one repair round quoting the problems.
 * Aggregates only: the household-level tables (incl. member counts) and member marginals, pooled below
 * `minCell` real rows.
 */
export class NestedLlmPlanner implements NestedPlanner {
  readonly name: string;
  private readonly householdView: PromptView;
  private readonly memberView: PromptView;
  private readonly o: Required<
    Omit<NestedLlmPlannerOptions, "scenario" | "fallbackGroups" | "db" | "cache" | "maxTokens">
  > &
    NestedLlmPlannerOptions;
  /** Tokens of the replies used so far (what the budget counts). */
  private consumed = 0;
  /** Cancels a request in flight when the run ends without a signal of its own. */
  private readonly abort = new AbortController();

  constructor(
    private readonly s: NestedSummary,
    options: NestedLlmPlannerOptions,
  ) {
    this.o = {
      temperature: 0.8,
      minCell: 5,
      proposals: 5,
      repairs: 1,
      seed: 0,
      maxReplyTokens: 4096,
      maxCells: 40,
      ...options,
    };
    this.name = `llm:${options.client.model}`;
    this.householdView = promptView(s.households, this.o.minCell);
    this.memberView = promptView(s.members, this.o.minCell);
  }

  async inferGroups(_signal?: AbortSignal): Promise<string[][]> {
    return this.o.fallbackGroups ? (await this.o.fallbackGroups()).slice(0, 3) : [];
  }

  /** What a proposal may hold, as the prompt showed it (rare values pooled away). */
  scope(sizes: { min: number; max: number }): NestedProposalScope {
    const visible = this.householdView.visible;
    return {
      households: {
        ...visible,
        columns: visible.columns.filter((c) => this.s.householdColumns.some((h) => h.name === c.name)),
      },
      members: this.memberView.visible,
      minMembers: sizes.min,
      maxMembers: sizes.max,
    };
  }

  /** The nested p_proposal for an iteration. */
  async promptFor(ctx: PlanContext): Promise<string> {
    const n = Math.max(1, Math.min(ctx.proposals ?? this.o.proposals, ctx.rows));
    const marginals = this.s.memberUnits.filter((u) => u.columns.length === 1);
    const memberGaps = this.o.db ? await gapTable(this.o.db, this.s.members, marginals) : [];
    const memberMarginals = marginals.map((u) => ({
      unit: u.id,
      columns: u.columns,
      tvd: tvdOf(memberGaps, u.id),
    }));
    const householdOnly: PromptView = {
      ...this.householdView,
      columns: this.householdView.columns.filter((c) =>
        this.s.householdColumns.some((h) => h.name === c.name),
      ),
    };
    const head = NESTED_PROPOSAL_TEMPLATE_HEAD.replace("{joint_guide}", () =>
      jointGuide(this.householdView, ctx, this.o.maxCells),
    )
      .replace("{marginal_guide}", () => marginalGuide(this.householdView, ctx))
      .replace("{member_guide}", () =>
        marginalGuide(this.memberView, {
          groups: [],
          gaps: memberGaps,
          subBins: [],
          discrepancy: { marginals: memberMarginals, groups: [], meanTvd: 0 },
        }),
      )
      .replace("{data_desc}", () => describeVariables(householdOnly))
      .replace("{member_desc}", () => describeVariables(this.memberView));
    // A sample is a household here; the additions say so.
    const tail = PROPOSAL_TEMPLATE_TAIL.replace("{n_proposals}", String(n)).replace(
      "{n_samples}",
      String(ctx.rows),
    );
    const example = {
      household: exampleValues(householdOnly),
      members: [exampleValues(this.memberView)],
    };
    const additions = [
      "",
      "## Additional Information (added by synthor):",
      "",
      `**Proposal shape:** each proposal is a whole household: "household" has one entry per household variable, "members" is the list of its members, one object per member with one entry per member variable, and "num" is how many such households to create (a sample is a household). e.g. ${JSON.stringify(example)}`,
      `**Member lists:** in the guidance, ${SIZE} is the number of members of a household (the length of "members"), and #X is the sorted list of the values of X its members have (["4","5"]: one member with X = "4", one with "5"; rare lists are pooled by the values present, has:["0","9"] = at least one member with each of those values, and "other"). They are not variables to give: they follow from "members".`,
      ...(this.householdView.pooledAny || this.memberView.pooledAny
        ? [
            `**Pooled values:** values, cells and extremes held by fewer than ${this.o.minCell} real rows are pooled as "other" or not shown; propose only values and ranges named above.`,
          ]
        : []),
      ...(this.o.scenario?.trim() ? [`**Scenario:** ${this.o.scenario.trim()}`] : []),
      "",
    ].join("\n");
    return `${head}${additions}${tail}`;
  }

  async plan(ctx: PlanContext): Promise<NestedPlanResult> {
    const notes: string[] = [];
    const tokens: TokenUse = { prompt: 0, completion: 0, calls: 0 };
    const budget = this.o.maxTokens;
    if (budget !== undefined && this.consumed >= budget)
      return budgetSpent(budget, this.consumed, tokens, notes);
    const scope = this.scope(await this.sizes(ctx));
    let messages: ChatMessage[] = [{ role: "user", content: await this.promptFor(ctx) }];
    let best: NestedProposal[] = [];
    // Why the last attempt gave nothing usable, as the flat planner says it.
    let unusable: Unusable = { reason: "request-failed" };
    for (let attempt = 0; attempt <= this.o.repairs; attempt++) {
      const label =
        attempt === 0
          ? `proposals for iteration ${ctx.iteration}`
          : `repair ${attempt} of the proposals for iteration ${ctx.iteration}`;
      const reply = await cachedCall(
        this.o.client,
        this.o.cache,
        {
          label,
          messages,
          temperature: this.o.temperature,
          maxTokens: this.o.maxReplyTokens,
          seed: seedFor(this.o.seed, ctx.iteration, attempt),
        },
        ctx.signal ?? this.abort.signal,
      );
      tokens.prompt += reply.tokens.prompt;
      tokens.completion += reply.tokens.completion;
      tokens.calls += reply.tokens.calls;
      this.consumed += reply.tokens.prompt + reply.tokens.completion;
      notes.push(...reply.notes);
      if (!reply.ok) {
        notes.push(`iteration ${ctx.iteration}: no reply; skipped`);
        unusable = { reason: reply.kind };
        break;
      }
      const text = reply.text;
      const parsed = parseNestedReply(text, scope, this.householdView, this.memberView);
      if (parsed.proposals.length > best.length) best = parsed.proposals;
      if (parsed.problems.length === 0) break;
      const reason = unusableReply(text, parsed);
      unusable =
        reason === "rejected" ? { reason, problems: parsed.problems.map(withoutProposalName) } : { reason };
      notes.push(
        `${label}: ${parsed.proposals.length} of ${parsed.found} proposals valid; ${parsed.problems.slice(0, 5).join("; ")}${attempt < this.o.repairs ? "; asking for a repair" : ""}`,
      );
      messages = [
        ...messages,
        { role: "assistant", content: text },
        { role: "user", content: repairPrompt(parsed.problems, "proposals") },
      ];
    }
    if (best.length === 0) {
      notes.push(`iteration ${ctx.iteration}: no usable proposals; skipped`);
      return { proposals: [], tokens, notes, unusable };
    }
    return { proposals: scaleToRows(best, ctx.rows), tokens, notes };
  }

  /** Cancels the request in flight (the run ended). */
  close(): void {
    this.abort.abort();
  }

  private sizeRange: { min: number; max: number } | undefined;
  private async sizes(_ctx: PlanContext): Promise<{ min: number; max: number }> {
    if (this.sizeRange) return this.sizeRange;
    const sizes = (this.s.households.columns.find((c) => c.name === SIZE)?.categories ?? [])
      .filter((c) => c.value !== null && c.n >= this.o.minCell)
      .map((c) => Number(c.value));
    this.sizeRange = { min: Math.min(...sizes), max: Math.max(...sizes) };
    return this.sizeRange;
  }
}

/**
 * Reads a nested proposal reply: the JSON, the paper's `proposalN` entries (or a list), each checked with
 * the nested zod schema, its values converted as the flat reader converts them (numbers written for
 * categories that are numbers, ...), then validated against what the prompt showed.
 */
export function parseNestedReply(
  text: string,
  scope: NestedProposalScope,
  householdView: PromptView,
  memberView: PromptView,
): { proposals: NestedProposal[]; problems: string[]; found: number } {
  const json = extractJson(text);
  if (!json.ok) return { proposals: [], problems: [json.problem], found: 0 };
  const value = json.value;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`proposal${i + 1}`, v])
    : typeof value === "object" && value !== null
      ? Object.entries(value).filter(([k]) => /^proposal\d+$/i.test(k))
      : [];
  if (entries.length === 0) {
    return {
      proposals: [],
      problems: [
        'the reply does not follow the Output Format: give an object with "n_proposals" and "proposal1", "proposal2", ... each holding "reason", "household", "members" and "num"',
      ],
      found: 0,
    };
  }
  const proposals: NestedProposal[] = [];
  const problems: string[] = [];
  for (const [key, raw] of entries) {
    const loose = looseShape(raw);
    if (typeof loose === "string") {
      problems.push(`${key}: ${loose}`);
      continue;
    }
    const conv: string[] = [];
    const household = convertProposal(
      { reason: "", proposal: loose.household, num: loose.num },
      householdView,
    );
    const members = loose.members.map((m) =>
      convertProposal({ reason: "", proposal: m, num: 1 }, memberView),
    );
    conv.push(
      ...household.problems.map((p) =>
        p.startsWith("num") ? p.replace("rows", "households") : `household: ${p}`,
      ),
    );
    members.forEach((m, i) => {
      conv.push(...m.problems.map((p) => `member ${i + 1}: ${p}`));
    });
    const candidate = {
      reason: loose.reason,
      household: widenToRealEnds(household.proposal, householdView).proposal,
      members: members.map(
        (m) => widenToRealEnds(m.proposal, memberView).proposal as Record<string, ProposalValue>,
      ),
      num: household.proposal.num,
    };
    const shape = NestedProposal.safeParse(candidate);
    if (!shape.success) {
      problems.push(
        ...shape.error.issues.map(
          (x) => `${key}: ${x.path.length ? `${x.path.join(".")}: ` : ""}${x.message}`,
        ),
      );
      continue;
    }
    const issues = [...conv, ...validateNestedProposal(shape.data, scope)];
    if (issues.length > 0) {
      problems.push(...[...new Set(issues)].map((p) => `${key}: ${p}`));
      continue;
    }
    proposals.push(shape.data);
  }
  return { proposals, problems, found: entries.length };
}

/** The reply's proposal before conversion, or what is wrong with its shape. */
function looseShape(
  raw: unknown,
):
  | { reason: string; household: Record<string, unknown>; members: Record<string, unknown>[]; num: unknown }
  | string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return 'must be an object with "reason", "household", "members" and "num"';
  }
  const o = raw as Record<string, unknown>;
  const missing = ["household", "members", "num"].filter((k) => !(k in o));
  if (missing.length > 0) return `is missing ${missing.map((k) => `"${k}"`).join(" and ")}`;
  const extra = Object.keys(o).filter((k) => !["reason", "household", "members", "num"].includes(k));
  if (extra.length > 0)
    return `has unknown key${extra.length === 1 ? "" : "s"} ${extra.map((k) => JSON.stringify(k)).join(", ")}; a household proposal has "reason", "household", "members" and "num"`;
  if (typeof o.household !== "object" || o.household === null || Array.isArray(o.household)) {
    return '"household" must be an object with one entry per household variable';
  }
  if (
    !Array.isArray(o.members) ||
    o.members.some((m) => typeof m !== "object" || m === null || Array.isArray(m))
  ) {
    return '"members" must be a list of objects, one per member, each with one entry per member variable';
  }
  return {
    reason: typeof o.reason === "string" ? o.reason : "",
    household: o.household as Record<string, unknown>,
    members: o.members as Record<string, unknown>[],
    num: o.num,
  };
}

function exampleValues(view: PromptView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of view.columns) {
    if (v.kind === "categorical") out[v.name] = v.categories[0]?.value ?? null;
    else {
      // A shown bin, within the ends shown (a first bin may lie below a hidden minimum's quantile).
      const bin = [...v.bins.values()].find((b) => !b.hidden && b.hi >= v.lo && b.lo <= v.hi);
      const lo = Math.max(bin?.lo ?? v.lo, v.lo);
      const hi = Math.min(bin?.hi ?? v.hi, v.hi);
      out[v.name] = lo <= hi ? [lo, hi] : [v.lo, v.hi];
    }
  }
  return out;
}

function tvdOf(gaps: Gap[], unit: string): number {
  return gaps.filter((g) => g.unit === unit).reduce((s, g) => s + Math.max(0, g.gap), 0);
}

function seedFor(seed: number, iteration: number, attempt: number): number {
  const h = createHash("sha256").update(`${seed}:nested-proposals:${iteration}:${attempt}`).digest();
  return h.readUInt32BE(0) & 0x7fffffff;
}
