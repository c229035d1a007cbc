import type { Planner, PlanResult } from "../../planners/types.ts";
import type { NestedProposal } from "../proposals.ts";

/**
 * A planner of whole households: the one Planner interface, proposing households with their members. The
 * context is the flat one over the household-level table (household columns, member count, member
 * counts per category); `rows` counts households.
 */
export type NestedPlanner = Planner<NestedProposal>;
export type NestedPlanResult = PlanResult<NestedProposal>;
