import type { Discrepancy, Gap, SubBinGap } from "../discrepancy.ts";
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
