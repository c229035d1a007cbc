import type { Unusable } from "../../outcome.ts";
import type { PlanContext, TokenUse } from "../../planners/types.ts";
import type { NestedProposal } from "../proposals.ts";

/** What a nested planner returns: household proposals (validated by the loop), tokens, notes. */
export interface NestedPlanResult {
  proposals: NestedProposal[];
  tokens?: TokenUse;
  notes?: string[];
  stop?: boolean;
  stopReason?: string;
  /** With no usable proposals: why (as the flat PlanResult.unusable). */
  unusable?: Unusable;
}

/**
 * A planner of whole households. The context is the flat one over the household-level table (household
 * columns, member count, member counts per category); `rows` counts households.
 */
export interface NestedPlanner {
  readonly name: string;
  inferGroups(signal?: AbortSignal): Promise<string[][]>;
  plan(context: PlanContext): Promise<NestedPlanResult>;
  trackPairs?(): [string, string][];
  close?(): void;
}
