/**
 * The planners `--planner` chooses from. Each kind says what it is (for `--planner`'s help, the docs and
 * the run's recorded config) and prepares its planners for a run, flat and nested.
 *
 * Adding a planner: one file under src/planners/ that exports its class (implementing `Planner`) and a
 * `PlannerKind`, and one line in PLANNERS below (see docs/planners.md, "Adding a planner").
 */
import { SynthorError } from "../errors.ts";
import { llmPlanners, localPlanners } from "./llm-kinds.ts";
import { statsPlanners } from "./stats.ts";
import type { PlannerKind, PlannerOptions, PreparedPlanner } from "./types.ts";

/** Every planner, in the order the one the options imply is looked for (the last is the default). */
export const PLANNERS: readonly PlannerKind[] = [localPlanners, llmPlanners, statsPlanners];

/** The names `--planner` takes. */
export const PLANNER_NAMES = PLANNERS.map((k) => k.name);

/**
 * The kind `--planner` names, or without it the first whose options are given (`--model-file`: local,
 * `--model`: llm), else the statistical planner; prepared for the run (its client opened, what plans said).
 */
export async function preparePlanner(
  opts: PlannerOptions,
  say: (line: string) => void,
): Promise<PreparedPlanner> {
  const kind =
    opts.planner === undefined
      ? (PLANNERS.find((k) => k.impliedBy?.(opts)) ?? defaultKind())
      : PLANNERS.find((k) => k.name === opts.planner);
  if (!kind) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `there is no planner "${opts.planner}"`,
      `choose one of: ${PLANNER_NAMES.join(", ")}`,
    );
  }
  return kind.prepare(opts, say);
}

function defaultKind(): PlannerKind {
  return PLANNERS.at(-1) as PlannerKind;
}

/** The table of planners docs/planners.md shows between its markers (a test keeps the two the same). */
export function plannerTable(): string {
  return [
    "| `--planner` | what plans | chosen without `--planner` when | nested data |",
    "| --- | --- | --- | --- |",
    ...PLANNERS.map(
      (k) =>
        `| \`${k.name}\` | ${k.summary} | ${k.implied ?? "no other planner is implied (the default)"} | ${k.nested ? "yes" : "no"} |`,
    ),
  ].join("\n");
}
