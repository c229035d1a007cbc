import type { Db } from "../db/connection.ts";
import type { Discrepancy, Gap, SubBinGap } from "../discrepancy.ts";
import type { NestedProposal } from "../nested/proposals.ts";
import type { NestedSummary } from "../nested/summarize.ts";
import type { Unusable } from "../outcome.ts";
import type { Proposal } from "../proposals.ts";
import type { Summary, Unit } from "../summarize.ts";

/** What a planner sees at one iteration: aggregates only, never rows. */
export interface PlanContext {
  summary: Summary;
  iteration: number;
  seed: number;
  /** Rows the synthetic table has now. */
  synthRows: number;
  /** Rows to propose in this iteration (the planner's nums should add up to it). */
  rows: number;
  /** How many proposals to make; undefined lets the planner decide. */
  proposals: number | undefined;
  /** The dependency groups grounded in this iteration. */
  groups: Unit[];
  discrepancy: Discrepancy;
  /** Gap table of every marginal and every candidate group. */
  gaps: Gap[];
  /** Sub-bin gaps of the worst main bins, for a planner that `wantsSubBins`; empty for the others. */
  subBins: SubBinGap[];
  /** Fires on Ctrl-C: stop at once (cancel requests, leave long loops); whatever is thrown then is ignored. */
  signal?: AbortSignal;
}

/** Token use of LLM calls; zero for planners that call none. */
export interface TokenUse {
  prompt: number;
  completion: number;
  calls: number;
}

export interface PlanResult<P = Proposal> {
  /** Validated by the loop (src/proposals.ts, or src/nested/proposals.ts for households). */
  proposals: P[];
  tokens?: TokenUse;
  /** Problems met while planning (e.g. a rejected LLM reply), recorded in the run history. */
  notes?: string[];
  /** The planner cannot go on (e.g. the token budget is spent): the loop ends after this iteration. */
  stop?: boolean;
  /** Why it cannot go on, for the run's failure message ("the --max-tokens budget ... was spent"). */
  stopReason?: string;
  /** With no usable proposals: why (an unusable reply, a failed request, ...), so a failed run can say. */
  unusable?: Unusable;
}

/**
 * A planner turns discrepancy into proposals (paper Section 3.4). Planners share this shape so the loop
 * (src/loop.ts) does not care which one runs: the statistical planner (planners/stats.ts) and the LLM
 * planners propose flat rows (`Proposal`); the nested ones (src/nested/planners/) whole households
 * (`NestedProposal`), over the household level's summary.
 */
export interface Planner<P = Proposal> {
  /** Recorded in the run history: "stats", "llm:gpt-4.1-nano", ... */
  readonly name: string;
  /** Candidate dependency groups (the paper's copula step), strongest first; `signal` as in PlanContext. */
  inferGroups(signal?: AbortSignal): Promise<string[][]>;
  plan(context: PlanContext): Promise<PlanResult<P>>;
  /** Pairs of columns whose tables the loop should also keep counts of for this planner (optional). */
  trackPairs?(): [string, string][];
  /** The loop reads the sub-bin gaps of the worst main bins for it (PlanContext.subBins); else they stay empty. */
  readonly wantsSubBins?: boolean;
  /** Called once when the run ends, however it ends: cancel requests in flight, free what it holds. */
  close?(): void;
}

/** The options a planner kind reads: the planner flags of `synth` (and `prompt`). */
export interface PlannerOptions {
  /** --planner: a kind's name (src/planners/registry.ts); undefined: the one the other options imply. */
  planner?: string;
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  modelFile?: string;
  concurrency: number;
  maxTokens?: number;
  temperature: number;
  minCell: number;
  scenario?: string;
  replay?: boolean;
  cache: boolean;
  cacheDir: string;
  timeout: number;
  seed: number;
}

/** A kind of planner, as `--planner` names it (src/planners/registry.ts lists them). */
export interface PlannerKind {
  readonly name: string;
  /** What plans, in a few words: `--planner`'s help and docs/planners.md. */
  readonly summary: string;
  /** When the options choose it without --planner, in words for the docs (with `impliedBy`). */
  readonly implied?: string;
  impliedBy?(opts: PlannerOptions): boolean;
  /** Whether it plans nested data (households with their members). */
  readonly nested: boolean;
  /** Checks the options and opens what its planners need (a model client); says what plans with `say`. */
  prepare(opts: PlannerOptions, say: (line: string) => void): Promise<PreparedPlanner>;
}

/** A planner kind ready for a run: its recorded config and its planners. */
export interface PreparedPlanner {
  /** Recorded with the run (synthor_runs.config.planner) and compared on --resume. */
  readonly config: Record<string, unknown>;
  /** The flat planner, made once the real table is summarized. */
  flat(db: Db, summary: Summary, run: { iterations: number; rowsTarget: number; maxGroups: number }): Planner;
  /** The household planner for nested data (where the kind has one). */
  nested?(db: Db, summary: NestedSummary): Planner<NestedProposal>;
  /** Frees what prepare opened (a model, connections); called once the run has ended. */
  close?(): Promise<void>;
}
