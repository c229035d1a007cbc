import { createHash } from "node:crypto";
import { SynthorError } from "../errors.ts";
import { type Unusable, withoutProposalName } from "../outcome.ts";
import type { Proposal } from "../proposals.ts";
import type { Summary } from "../summarize.ts";
import { type CacheParams, ReplyCache } from "./cache.ts";
import { copulaPrompt, type PromptView, promptView, proposalPrompt } from "./prompts.ts";
import {
  copulaSchema,
  type ParsedProposals,
  parseCopulaReply,
  parseProposalReply,
  proposalSchema,
  repairPrompt,
  unusableReply,
} from "./replies.ts";
import type { PlanContext, Planner, PlanResult, TokenUse } from "./types.ts";

/**
 * The LLM planner: the paper's two LLM steps over any chat model behind a `ChatClient` (an
 * OpenAI-compatible server in openai-client.ts, a local GGUF model in local-client.ts).
 *
 * - Copula step (paper Eq. 1): `inferGroups()` sends p_copula over the variables' summaries and reads
 *   the groups. The paper asks again every iteration; synthor asks once per run and keeps the answer
 *   (the prompt depends only on the real data, so at temperature 0 the answer would not change, and the
 *   loop already re-grounds the groups with the largest TVD each iteration). Without a usable reply it
 *   falls back to the statistical groups and says so.
 * - Proposal step (paper Eq. 4): `plan()` sends p_proposal filled with joint guidance (this iteration's
 *   groups, cell by cell), marginal guidance (every column's bins or categories, and the sub-bins of the
 *   worst bin) and the variables' description, and converts the reply's proposals to the loop's shape.
 *
 * Replies are validated against what the prompt showed; an invalid one gets `repairs` rounds that quote
 * the validator, and what stays invalid is recorded in the iteration's notes and skipped.
 *
 * Concurrency by pipelining iterations: with `concurrency` N, plan() for iteration t makes sure the
 * requests of iterations t .. t+N-1 are in flight, and waits only for iteration t's. A request is built
 * when it is issued, so iteration t's prompt reflects the synthetic table as it stood N-1 iterations
 * earlier (with N = 1, the default, as in the paper). Splitting one iteration into N smaller requests
 * would not help: each iteration would still wait a full reply. The request of iteration u is always
 * built from the context of iteration max(first, u - N + 1), so runs are reproducible, and with the
 * reply cache, replayable.
 *
 * Token budget: once the tokens of the replies consumed reach `maxTokens`, no new request is issued; the
 * requests in flight are used, then plan() returns no proposals, a note and `stop: true` (the loop ends
 * the run as failed if it has fewer rows than asked).
 *
 * An iteration without usable proposals says why (`PlanResult.unusable`): the loop counts them and ends
 * the run after a few in a row.
 */
export class LlmPlanner implements Planner {
  /** The proposal prompt shows the sub-bin gaps of the worst main bins (paper Appendix C.1). */
  readonly wantsSubBins = true;
  readonly name: string;
  private readonly options: Required<
    Omit<
      LlmPlannerOptions,
      "cache" | "scenario" | "maxTokens" | "iterations" | "rowsTarget" | "fallbackGroups" | "name"
    >
  > &
    LlmPlannerOptions;
  private view: PromptView | undefined;
  private groups: string[][] | undefined;
  private readonly jobs = new Map<number, Promise<JobResult>>();
  private readonly abort = new AbortController();
  private readonly followed = new WeakSet<AbortSignal>();
  private pendingNotes: string[] = [];
  private pendingTokens: TokenUse = { prompt: 0, completion: 0, calls: 0 };
  /** Tokens of the replies consumed so far (what the budget counts). */
  private consumed = 0;
  private first = true;

  constructor(
    private readonly summary: Summary,
    options: LlmPlannerOptions,
  ) {
    this.options = {
      temperature: 0.8,
      maxReplyTokens: 2048,
      concurrency: 1,
      minCell: 5,
      proposals: 5,
      maxGroups: 3,
      repairs: 1,
      seed: 0,
      maxCells: 40,
      ...options,
    };
    this.name = options.name ?? `llm:${options.client.model}`;
  }

  /** What prompts may show of the real table (built once: it depends only on the real data). */
  promptView(): PromptView {
    this.view ??= promptView(this.summary, this.options.minCell);
    return this.view;
  }

  /** The copula step: p_copula once per run (see the class comment). */
  async inferGroups(signal?: AbortSignal): Promise<string[][]> {
    this.follow(signal);
    if (this.groups) return this.groups;
    const view = this.promptView();
    const max = this.options.maxGroups;
    let messages: ChatMessage[] = [{ role: "user", content: copulaPrompt(view, max) }];
    const schema = { name: "groups", schema: copulaSchema(view, max) };
    let groups: string[][] = [];
    let problems: string[] = [];
    let answered = false;
    for (let attempt = 0; attempt <= this.options.repairs; attempt++) {
      const label = attempt === 0 ? "copula step" : `repair ${attempt} of the copula step`;
      const r = await this.call(label, messages, schema, this.seedFor("copula", 0, attempt));
      this.addTokens(this.pendingTokens, r.tokens);
      this.consumed += r.tokens.prompt + r.tokens.completion;
      this.pendingNotes.push(...r.notes);
      if (!r.ok) break;
      answered = true;
      const parsed = parseCopulaReply(r.text, view, max);
      if (parsed.groups.length > groups.length || attempt === 0) groups = parsed.groups;
      problems = parsed.problems;
      if (problems.length === 0) break;
      this.pendingNotes.push(`${label}: ${problems.join("; ")}`);
      messages = [
        ...messages,
        { role: "assistant", content: r.text },
        { role: "user", content: repairPrompt(problems, "groups") },
      ];
    }
    if (!answered) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `the model never answered the copula step: ${this.pendingNotes.at(-1) ?? "no reply"}`,
        "check that the server is up and reachable (--base-url), the model name (--model) and the API key; or plan without an LLM: --planner stats",
        { notes: this.pendingNotes },
      );
    }
    if (groups.length === 0 && this.options.fallbackGroups) {
      groups = (await this.options.fallbackGroups()).slice(0, max);
      this.pendingNotes.push(
        `the copula step gave no usable groups; using the statistical groups ${groups.map((g) => `[${g.join(", ")}]`).join(" ")}`,
      );
    }
    this.groups = groups;
    return groups;
  }

  async plan(ctx: PlanContext): Promise<PlanResult> {
    this.follow(ctx.signal);
    const notes = this.pendingNotes;
    const tokens = this.pendingTokens;
    this.pendingNotes = [];
    this.pendingTokens = { prompt: 0, completion: 0, calls: 0 };
    if (this.first && this.options.scenario?.trim()) notes.push(`scenario: ${this.options.scenario.trim()}`);
    this.first = false;
    const budget = this.options.maxTokens;
    const spent = budget !== undefined && this.consumed >= budget;

    if (!this.jobs.has(ctx.iteration)) {
      if (spent) return budgetSpent(budget, this.consumed, tokens, notes);
      this.issue(ctx.iteration, ctx, ctx.rows);
    }
    // Pipelining: keep the next iterations' requests in flight (see the class comment).
    let planned = ctx.synthRows + ctx.rows;
    for (let u = ctx.iteration + 1; u < ctx.iteration + this.options.concurrency; u++) {
      if (this.options.iterations !== undefined && u > this.options.iterations) break;
      const rows = this.estimateRows(u, planned, ctx.rows);
      if (rows <= 0) break;
      planned += rows;
      if (this.jobs.has(u)) continue;
      if (spent) break;
      this.issue(u, ctx, rows);
    }

    const job = this.jobs.get(ctx.iteration) as Promise<JobResult>;
    this.jobs.delete(ctx.iteration);
    const result = await job;
    if (result.fatal) throw result.fatal;
    this.addTokens(tokens, result.tokens);
    this.consumed += result.tokens.prompt + result.tokens.completion;
    notes.push(...result.notes);
    return {
      proposals: scaleNums(result.proposals, ctx.rows, ctx.iteration, notes),
      tokens,
      notes,
      ...(result.unusable ? { unusable: result.unusable } : {}),
    };
  }

  /** Cancels the requests still in flight (the loop ended before using them). */
  close(): void {
    this.abort.abort();
    this.jobs.clear();
  }

  /** The run's signal (Ctrl-C) cancels every request in flight, as close() does. */
  private follow(signal: AbortSignal | undefined): void {
    if (!signal || this.followed.has(signal)) return;
    this.followed.add(signal);
    if (signal.aborted) this.abort.abort(signal.reason);
    else signal.addEventListener("abort", () => this.abort.abort(signal.reason), { once: true });
  }

  /** The proposal prompt for a context: what iteration `ctx.iteration` sends (for `synthor prompt`). */
  proposalPromptFor(ctx: PlanContext, rows = ctx.rows): string {
    return proposalPrompt(this.promptView(), {
      groups: ctx.groups,
      gaps: ctx.gaps,
      subBins: ctx.subBins,
      discrepancy: ctx.discrepancy,
      proposals: Math.max(1, Math.min(ctx.proposals ?? this.options.proposals, rows)),
      samples: rows,
      scenario: this.options.scenario,
      maxCells: this.options.maxCells,
    });
  }

  /** The copula prompt (for `synthor prompt`). */
  copulaPromptText(): string {
    return copulaPrompt(this.promptView(), this.options.maxGroups);
  }

  /**
   * Rows iteration u will ask for if the iterations before it deliver theirs, with even batches (the
   * loop's rule under --schedule even). Under --schedule grow the loop may ask for more, whose fit it
   * learns only then; the reply's counts are scaled to what it asks (scaleNums).
   */
  private estimateRows(u: number, planned: number, fallback: number): number {
    const { rowsTarget, iterations } = this.options;
    if (rowsTarget === undefined || iterations === undefined) return fallback;
    return Math.ceil((rowsTarget - planned) / (iterations - u + 1));
  }

  private issue(iteration: number, ctx: PlanContext, rows: number): void {
    const n = Math.max(1, Math.min(ctx.proposals ?? this.options.proposals, rows));
    const prompt = this.proposalPromptFor(ctx, rows);
    const job = this.proposalJob(iteration, prompt, n, rows).catch(
      (err: unknown): JobResult => ({
        proposals: [],
        tokens: { prompt: 0, completion: 0, calls: 0 },
        notes: [],
        fatal: err,
      }),
    );
    this.jobs.set(iteration, job);
  }

  /** One iteration's request: the call, then repair rounds while the reply has problems. */
  private async proposalJob(iteration: number, prompt: string, n: number, rows: number): Promise<JobResult> {
    const view = this.promptView();
    // The server gets a schema in the subset OpenAI-compatible servers share; the local grammar a tighter one.
    const schema = {
      name: "proposals",
      schema: proposalSchema(view, n),
      grammar: proposalSchema(view, n, rows),
    };
    let messages: ChatMessage[] = [{ role: "user", content: prompt }];
    const tokens: TokenUse = { prompt: 0, completion: 0, calls: 0 };
    const notes: string[] = [];
    let best: ParsedProposals | undefined;
    // Why the last attempt gave nothing usable: what the iteration is counted as if none does.
    let unusable: Unusable = { reason: "request-failed" };
    for (let attempt = 0; attempt <= this.options.repairs; attempt++) {
      const label =
        attempt === 0
          ? `proposals for iteration ${iteration}`
          : `repair ${attempt} of the proposals for iteration ${iteration}`;
      const r = await this.call(label, messages, schema, this.seedFor("proposals", iteration, attempt));
      this.addTokens(tokens, r.tokens);
      notes.push(...r.notes);
      if (!r.ok) {
        unusable = { reason: r.kind };
        break;
      }
      const parsed = parseProposalReply(r.text, view);
      if (!best || rowsOf(parsed) > rowsOf(best)) best = parsed;
      if (parsed.problems.length === 0) break;
      const reason = unusableReply(r.text, parsed);
      unusable =
        reason === "rejected" ? { reason, problems: parsed.problems.map(withoutProposalName) } : { reason };
      const shown = parsed.problems.slice(0, 5).join("; ");
      const more = parsed.problems.length > 5 ? ` (and ${parsed.problems.length - 5} more)` : "";
      notes.push(
        `${label}: ${parsed.proposals.length} of ${parsed.found} proposals valid; ${shown}${more}${attempt < this.options.repairs ? "; asking for a repair" : ""}`,
      );
      messages = [
        ...messages,
        { role: "assistant", content: r.text },
        { role: "user", content: repairPrompt(parsed.problems, "proposals") },
      ];
    }
    const proposals = best?.proposals ?? [];
    if (proposals.length === 0) {
      notes.push(`iteration ${iteration}: no usable proposals; skipped`);
      return { proposals, tokens, notes, unusable };
    }
    return { proposals, tokens, notes };
  }

  /** One request through the cache: a hit costs no call; a replay never calls. */
  private call(
    label: string,
    messages: ChatMessage[],
    schema: { name: string; schema: Record<string, unknown>; grammar?: Record<string, unknown> },
    seed: number,
  ): Promise<CallResult> {
    return cachedCall(
      this.options.client,
      this.options.cache,
      {
        label,
        messages,
        temperature: this.options.temperature,
        maxTokens: this.options.maxReplyTokens,
        seed,
        schema,
      },
      this.abort.signal,
    );
  }

  /** A per-request seed, so reruns send the same requests and parallel ones differ. */
  private seedFor(kind: string, iteration: number, attempt: number): number {
    const h = createHash("sha256").update(`${this.options.seed}:${kind}:${iteration}:${attempt}`).digest();
    return h.readUInt32BE(0) & 0x7fffffff;
  }

  private addTokens(into: TokenUse, add: TokenUse): void {
    into.prompt += add.prompt;
    into.completion += add.completion;
    into.calls += add.calls;
  }
}

export interface LlmPlannerOptions {
  client: ChatClient;
  /** Recorded in the run history (default `llm:<model>`). */
  name?: string;
  cache?: ReplyCache;
  /** Sampling temperature (paper: 0.8 with GPT-4.1-nano). */
  temperature?: number;
  /** Most tokens one reply may take (default 2048, the paper's max_new_tokens). */
  maxReplyTokens?: number;
  /** Proposal requests in flight (default 1). */
  concurrency?: number;
  /** Token budget of the run: prompt plus completion tokens of every reply used. */
  maxTokens?: number;
  /** Fewest real rows a value, bin or cell needs to be named in a prompt (default 5). */
  minCell?: number;
  /** Added to the proposal prompt (paper Section 4.3). */
  scenario?: string;
  /** Proposals per request when the loop leaves it to the planner (paper: 5). */
  proposals?: number;
  /** Groups the copula step may return (paper: 3). */
  maxGroups?: number;
  /** Repair rounds for an invalid reply (default 1). */
  repairs?: number;
  seed?: number;
  /** The run's iteration count and row target: bound the requests issued ahead. */
  iterations?: number;
  rowsTarget?: number;
  /** Most cells of one group listed in the joint guidance; the rest are summed (default 40). */
  maxCells?: number;
  /** Groups to use when the copula step gives none (the statistical ones). */
  fallbackGroups?: () => Promise<string[][]>;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  /** What the request is for, e.g. "proposals for iteration 3": notes and errors name it. */
  label: string;
  messages: ChatMessage[];
  temperature: number;
  /** Most tokens the reply may take. */
  maxTokens: number;
  seed?: number;
  /**
   * JSON schema the reply must follow, where the server can constrain generation to one; `grammar` is a
   * tighter variant (bounded integers) for clients that compile the schema themselves (the local model).
   */
  schema?: { name: string; schema: Record<string, unknown>; grammar?: Record<string, unknown> };
}

export interface ChatReply {
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** The reply was generated under the JSON schema. */
  structured: boolean;
  /** What happened on the way (retries, a fallback to plain JSON), for the run's notes. */
  notes: string[];
  /** Attempts the answer took (default 1). */
  calls?: number;
}

/** A chat model: an OpenAI-compatible server or a local model file. */
export interface ChatClient {
  readonly model: string;
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply>;
  close?(): Promise<void>;
}

/** Every attempt at a request failed (after retries): recorded in the notes, the request is skipped. */
export class ChatCallFailed extends Error {
  constructor(
    message: string,
    readonly notes: string[],
    /** Requests the server received (answered with an error) or that timed out. */
    readonly calls: number,
    /** What came back: nothing usable (an error, a timeout), or a web page instead of the API's JSON. */
    readonly kind: "request-failed" | "html" = "request-failed",
  ) {
    super(message);
    this.name = "ChatCallFailed";
  }
}

interface JobResult {
  proposals: Proposal[];
  tokens: TokenUse;
  notes: string[];
  /** Why there are no proposals, when there are none. */
  unusable?: Unusable;
  fatal?: unknown;
}

/**
 * One chat request through the reply cache (`cache`, when given): a cached reply costs no call; a replay
 * never calls (a reply it lacks is an error); a request that fails is cached as failed, so a replay
 * fails it again. `abort` cancels the request (the planner's close() or Ctrl-C).
 */
export async function cachedCall(
  client: ChatClient,
  cache: ReplyCache | undefined,
  request: ChatRequest,
  abort: AbortSignal,
): Promise<CallResult> {
  const params: CacheParams = {
    temperature: request.temperature,
    maxTokens: request.maxTokens,
    seed: request.seed,
    schema: request.schema?.schema,
  };
  const key = ReplyCache.key(client.model, request.messages, params);
  const entry = cache?.get(key);
  if (entry?.reply) {
    return {
      ok: true,
      text: entry.reply.text,
      tokens: { prompt: entry.reply.promptTokens, completion: entry.reply.completionTokens, calls: 0 },
      notes: [],
    };
  }
  if (cache?.mode === "replay") {
    if (entry?.failure) return { ok: false, kind: "request-failed", tokens: zero(), notes: entry.failure };
    throw cache.missing(request.label, client.model, key);
  }
  const base = {
    key,
    model: client.model,
    label: request.label,
    params,
    messages: request.messages,
    savedAt: new Date().toISOString(),
  };
  // One signal per request, linked to the caller's: no listener outlives the request.
  const controller = new AbortController();
  const cancel = () => controller.abort(abort.reason);
  abort.addEventListener("abort", cancel, { once: true });
  try {
    const reply = await client.complete(request, controller.signal);
    cache?.put({
      ...base,
      reply: {
        text: reply.text,
        promptTokens: reply.promptTokens,
        completionTokens: reply.completionTokens,
        structured: reply.structured,
      },
    });
    return {
      ok: true,
      text: reply.text,
      tokens: { prompt: reply.promptTokens, completion: reply.completionTokens, calls: reply.calls ?? 1 },
      notes: reply.notes,
    };
  } catch (err) {
    if (!(err instanceof ChatCallFailed)) throw err;
    cache?.put({ ...base, failure: err.notes });
    return { ok: false, kind: err.kind, tokens: { ...zero(), calls: err.calls }, notes: err.notes };
  } finally {
    abort.removeEventListener("abort", cancel);
  }
}

/** The token budget's stop (--max-tokens): what plan() returns once it is spent. */
export function budgetSpent(budget: number, consumed: number, tokens: TokenUse, notes: string[]) {
  notes.push(`token budget reached (${consumed} of ${budget} tokens); no more requests`);
  return {
    proposals: [],
    tokens,
    notes,
    stop: true,
    stopReason: `the --max-tokens budget of ${budget} tokens was spent (${consumed} used)`,
  };
}

export type CallResult =
  | { ok: true; text: string; tokens: TokenUse; notes: string[] }
  | { ok: false; kind: ChatCallFailed["kind"]; tokens: TokenUse; notes: string[] };

function zero(): TokenUse {
  return { prompt: 0, completion: 0, calls: 0 };
}

function rowsOf(p: ParsedProposals): number {
  return p.proposals.reduce((s, x) => s + x.num, 0);
}

/**
 * Scales the proposals' nums to the rows the iteration asks for, by largest remainder (models often
 * miscount; the paper lets `num` weigh the proposals). Proposals scaled to 0 rows are dropped.
 */
export function scaleNums(
  proposals: Proposal[],
  rows: number,
  iteration: number,
  notes: string[],
): Proposal[] {
  const total = proposals.reduce((s, p) => s + p.num, 0);
  if (total === rows || total <= 0 || rows <= 0) return proposals;
  notes.push(
    `iteration ${iteration}: the proposals' nums added up to ${total} rows; scaled to the ${rows} asked for`,
  );
  return scaleToRows(proposals, rows);
}

/**
 * Any proposals' nums scaled to add up to `rows` by largest remainder (ties to the earlier proposal);
 * proposals scaled to 0 are dropped. Unchanged when they already add up, or when there is nothing to scale.
 *
 * @example scaleToRows([{ num: 10 }, { num: 10 }, { num: 10 }], 20) // nums 7, 7, 6
 */
export function scaleToRows<T extends { num: number }>(proposals: T[], rows: number): T[] {
  const total = proposals.reduce((s, p) => s + p.num, 0);
  if (total === rows || total <= 0 || rows <= 0) return proposals;
  const exact = proposals.map((p) => (p.num * rows) / total);
  const nums = exact.map(Math.floor);
  let left = rows - nums.reduce((s, x) => s + x, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    nums[i] = (nums[i] ?? 0) + 1;
    left--;
  }
  return proposals.map((p, i) => ({ ...p, num: nums[i] ?? 0 })).filter((p) => p.num > 0);
}
