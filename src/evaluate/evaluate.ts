/**
 * The evaluation stage: fidelity, detection, utility, queries and privacy of a synthetic table against
 * the real one, run in that order over tables inside one Db. `synthor eval` and the benchmarks call
 * {@link evaluateSynthetic}; each part can also be called alone (evaluateFidelity, c2st, ...).
 */
import type { Db } from "../db/connection.ts";
import type { ColumnProfile } from "../profile.ts";
import { c2st, type DetectionResult } from "./detection.ts";
import { evaluateFidelity, type FidelityResult } from "./fidelity.ts";
import { evaluateFlows, type FlowOptions, type FlowResult } from "./flows.ts";
import type { Convergence } from "./history.ts";
import { FLOW_METRICS, METRICS, type MetricInfo, TARGET_METRICS } from "./metrics.ts";
import { evaluatePrivacy, type PrivacyResult } from "./privacy.ts";
import { type Query, type QueryResult, runQueries } from "./queries.ts";
import { checkSchemas, type EvalColumn, evalColumns, prepareViews } from "./tables.ts";
import { compareTargets, type TargetComparison, type TargetSpec, targetColumns } from "./targets.ts";
import { evaluateUtility, type UtilityResult } from "./utility.ts";

export interface EvaluationOptions {
  /** Table or view names in `db`, in the user's types. */
  real: string;
  synth: string;
  holdout?: string | undefined;
  /** The real table's profile (profileColumns). */
  profiles: ColumnProfile[];
  /** How to name the tables to people (file names). */
  labels?: { real: string; synth: string; holdout?: string | undefined };
  groups?: string[][];
  /** Column for the train-synthetic-test-real test; none skips it. */
  target?: string | undefined;
  queries?: Query[];
  /** The run history of the synthetic table, if it came from `synthor synth --db`. */
  convergence?: Convergence | null;
  seed?: number;
  /** Skip the classifier two-sample test (the slowest part). */
  detection?: boolean;
  privacy?: boolean;
  /** Called when a part starts, for progress messages. */
  onStep?: (step: string) => void;
  /**
   * The origin x destination view: its two columns, an optional SQL filter, an optional second synthetic
   * table (e.g. the run before a tilt) to compare with.
   */
  flows?: Omit<FlowOptions, "real" | "synth"> | undefined;
  /**
   * Aggregate tables the synthetic table was made to match (synthor synth --targets): their columns may be
   * in the synthetic table only, and are compared with the target's shares instead of the real table.
   */
  targets?: TargetSpec[] | undefined;
}

export interface Evaluation {
  labels: { real: string; synth: string; holdout: string | null };
  columns: EvalColumn[];
  /** Columns of the real table that are not compared (identifiers, ignored), and why. */
  skipped: { column: string; kind: string }[];
  seed: number;
  fidelity: FidelityResult;
  detection: DetectionResult | null;
  utility: UtilityResult | null;
  queries: QueryResult[] | null;
  privacy: PrivacyResult | null;
  convergence: Convergence | null;
  /** The origin x destination comparison, when asked for. */
  flows?: FlowResult;
  /** The comparison with each target table, when any is given. */
  targets?: TargetComparison[];
  /** How long each part took, in seconds. */
  seconds: Record<string, number>;
  metrics: MetricInfo[];
}

/**
 * Runs every part of the evaluation. The schemas are checked first (every compared column present with a
 * type of the same family on every side), with all problems reported together.
 *
 * @example const e = await evaluateSynthetic(db, { real: "r", synth: "s", profiles, target: "income" });
 * e.fidelity.scores.quality // 0.95
 */
export async function evaluateSynthetic(db: Db, options: EvaluationOptions): Promise<Evaluation> {
  const tables = { real: options.real, synth: options.synth, holdout: options.holdout };
  const targetSpecs = options.targets ?? [];
  await checkSchemas(db, tables, options.profiles, await targetColumns(db, targetSpecs));
  const seed = options.seed ?? 0;
  const seconds: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    options.onStep?.(step);
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      seconds[step] = (performance.now() - t0) / 1000;
    }
  };
  // Flows and targets first: they are quick, and a mistyped filter or target table then fails before the
  // slow parts run.
  const flowOptions = options.flows;
  const flows = flowOptions
    ? await timed("flows", () =>
        evaluateFlows(db, { ...flowOptions, real: options.real, synth: options.synth }),
      )
    : undefined;
  const targets =
    targetSpecs.length > 0
      ? await timed("targets", () => compareTargets(db, options.synth, targetSpecs))
      : undefined;
  const columns = evalColumns(options.profiles);
  await timed("prepare", () => prepareViews(db, tables, columns));
  const base = { real: options.real, synth: options.synth, profiles: options.profiles, prepared: true };
  const fidelity = await timed("fidelity", () =>
    evaluateFidelity(db, { ...base, ...(options.groups ? { groups: options.groups } : {}) }),
  );
  const detection =
    options.detection === false ? null : await timed("detection", () => c2st(db, { ...base, seed }));
  const utility =
    options.target === undefined
      ? null
      : await timed("utility", () =>
          evaluateUtility(db, { ...base, holdout: options.holdout, target: options.target as string, seed }),
        );
  const queries =
    options.queries && options.queries.length > 0
      ? await timed("queries", () =>
          runQueries(db, { real: options.real, synth: options.synth, queries: options.queries as Query[] }),
        )
      : null;
  const privacy =
    options.privacy === false
      ? null
      : await timed("privacy", () => evaluatePrivacy(db, { ...base, holdout: options.holdout, seed }));
  const compared = new Set(columns.map((c) => c.name));
  return {
    labels: {
      real: options.labels?.real ?? options.real,
      synth: options.labels?.synth ?? options.synth,
      holdout: options.holdout === undefined ? null : (options.labels?.holdout ?? options.holdout),
    },
    columns,
    skipped: options.profiles
      .filter((p) => !compared.has(p.name))
      .map((p) => ({ column: p.name, kind: p.kind })),
    seed,
    fidelity,
    detection,
    utility,
    queries,
    privacy,
    convergence: options.convergence ?? null,
    ...(flows ? { flows } : {}),
    ...(targets ? { targets } : {}),
    seconds,
    metrics: [...METRICS, ...(flows ? FLOW_METRICS : []), ...(targets ? TARGET_METRICS : [])],
  };
}
