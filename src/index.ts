/**
 * Synthor's public API: the pipeline's stages, one verb each, in the order the data flows.
 *
 * @example
 * import { synthesize, StatsPlanner } from "synthor";
 * const result = await synthesize({
 *   source: { kind: "file", path: "real.csv" },
 *   db: "run.duckdb",
 *   planner: (db, summary) => new StatsPlanner(db, summary),
 * });
 * // From aggregates only: source: { kind: "summary", path: "summary.json" } (see buildSummaryFile).
 */
export { Db } from "./db/connection.ts";
export { quoteIdent, quoteLiteral } from "./db/quote.ts";
export type { Discrepancy, Gap, SubBinGap, UnitTvd } from "./discrepancy.ts";
export { computeDiscrepancy, gapTable, subBinGaps } from "./discrepancy.ts";
export type { ErrorCode, Problem } from "./errors.ts";
export { InputProblems, SynthorError } from "./errors.ts";
export type { Diagnostics } from "./evaluate/diagnostics.ts";
export type { Evaluation, EvaluationOptions } from "./evaluate/evaluate.ts";
export { evaluateSynthetic } from "./evaluate/evaluate.ts";
export type { ColumnVerdict, Verdict, Verdicts, VerdictWord } from "./evaluate/verdicts.ts";
export { VERDICT_THRESHOLDS } from "./evaluate/verdicts.ts";
export type { GroupCandidate, PairAssociation } from "./groups.ts";
export { inferGroups } from "./groups.ts";
export { Interrupted } from "./interrupt.ts";
export type { NestedFidelity } from "./nested/fidelity.ts";
export type { NestedSynthOptions, NestedSynthResult } from "./nested/pipeline.ts";
export { synthesizeNested } from "./nested/pipeline.ts";
export { NestedLlmPlanner } from "./nested/planners/llm.ts";
export { NestedStatsPlanner } from "./nested/planners/stats.ts";
export type { NestedPlanner } from "./nested/planners/types.ts";
export type { ValidNestedProposal } from "./nested/proposals.ts";
export { NestedProposal, validateNestedProposal } from "./nested/proposals.ts";
export type { NestedSpec } from "./nested/source.ts";
export type { RunFailure, Unusable, UnusableReason, UnusableTally } from "./outcome.ts";
export { RunFailed } from "./outcome.ts";
export type { Phase, ProgressEvent, SummarySource, SynthOptions, SynthResult } from "./pipeline.ts";
export { synthesize } from "./pipeline.ts";
export { StatsPlanner } from "./planners/stats.ts";
export type { PlanContext, Planner, PlanResult, TokenUse } from "./planners/types.ts";
export type { ColumnKind, ColumnProfile, ProfileOptions } from "./profile.ts";
export { profileColumns } from "./profile.ts";
export type { ValidProposal } from "./proposals.ts";
export { Proposal, validateProposal } from "./proposals.ts";
export type { RealSide } from "./real.ts";
export { sampleProposals } from "./sample.ts";
export type { SourceInfo, SourceSpec } from "./source.ts";
export { readSource } from "./source.ts";
export type { ModelColumn, Summary, Unit } from "./summarize.ts";
export { summarizeTable } from "./summarize.ts";
export type { BuildSummaryOptions } from "./summary-build.ts";
export { buildSummaryFile } from "./summary-build.ts";
export { readSummaryFile, SummaryFile, writeSummaryFile } from "./summary-file.ts";
export { loadSummary } from "./summary-load.ts";
