/**
 * The evaluation stage: fidelity, detection, utility, queries and privacy of a synthetic table against
 * the real one, run in that order over tables inside one Db. `synthor eval` and the benchmarks call
 * {@link evaluateSynthetic}; each part can also be called alone (evaluateFidelity, c2st, ...).
 */
import type { Db } from "../db/connection.ts";
import { type Problem, throwIfProblems } from "../errors.ts";
import type { ColumnProfile } from "../profile.ts";
import { c2st, type DetectionResult } from "./detection.ts";
import { type Diagnostics, diagnose } from "./diagnostics.ts";
import { evaluateFidelity, type FidelityResult, groupProblems } from "./fidelity.ts";
import { realFloor } from "./floor.ts";
import { evaluateFlows, type FlowOptions, type FlowResult } from "./flows.ts";
import type { Convergence } from "./history.ts";
import { type ChildOptions, checkKey, describeLinks, type LinksResult, linkWarnings } from "./links.ts";

export type { ChildOptions } from "./links.ts";

import { FLOW_METRICS, METRICS, type MetricInfo, TARGET_METRICS } from "./metrics.ts";
import { evaluatePrivacy, type PrivacyResult } from "./privacy.ts";
import {
  categoryErrors,
  type Query,
  type QueryCategory,
  type QueryResult,
  type QueryTable,
  runQueries,
} from "./queries.ts";
import { type SampleRows, sampleRows } from "./samples.ts";
import { type EvalColumn, evalColumns, prepareViews, schemaProblems } from "./tables.ts";
import { compareTargets, type TargetComparison, type TargetSpec, targetColumns } from "./targets.ts";
import { evaluateUtility, targetProblem, type UtilityResult } from "./utility.ts";
import { judge, type Verdicts } from "./verdicts.ts";

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
  /**
   * Child tables linked to `real` and `synth` by a key column (persons of households): the queries read
   * the parent as `names.parent` (and as `data`) and the child as `names.child`, and the links are
   * checked on both sides. The other parts compare the parent tables only.
   */
  child?: ChildOptions;
  /** The run history of the synthetic table, if it came from `synthor synth --db`. */
  convergence?: Convergence | null;
  /** Why there is no convergence curve, when `convergence` is null (e.g. no run database was given). */
  convergenceNote?: string;
  /** Put a few real rows beside the synthetic ones in the samples (default false: synthetic rows only). */
  showRealRows?: boolean;
  seed?: number;
  /** Skip the classifier two-sample test (the slowest part). */
  detection?: boolean;
  privacy?: boolean;
  /** Privacy: a category fewer than this many real rows hold is rare (default 5). */
  minCell?: number;
  /** Privacy: a row this close to a real row is a near copy (default NEAR_COPY_DISTANCE, 0.01). */
  nearCopy?: number;
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
  /** Mean relative error per query category, when the queries have categories. */
  queryCategories: QueryCategory[] | null;
  /** The child tables and how they hang on their parents, in a two-table evaluation. */
  links: LinksResult | null;
  /** Columns, pairs and scores of the child tables (persons), as `fidelity` is for the parents. */
  childFidelity: FidelityResult | null;
  privacy: PrivacyResult | null;
  convergence: Convergence | null;
  /** Why `convergence` is null. */
  convergenceNote: string | null;
  /** Headline figures and columns against their real floor: "as real", "close" or "off". */
  verdicts: Verdicts;
  /** New categories, values outside the real range, repeated keys, NULL shares. */
  diagnostics: Diagnostics;
  /** A few synthetic rows (and real rows only when asked for). */
  samples: SampleRows;
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
  // The options that name columns are checked against the profile before anything is read: a misspelt
  // --target fails here, not after fidelity and detection have run.
  const named = optionProblems(options);
  const targetSpecs = options.targets ?? [];
  const extra = await targetColumns(db, targetSpecs);
  const child = options.child;
  const childColumns = child?.profiles ? evalColumns(child.profiles) : [];
  if (child?.profiles && childColumns.length > 0) {
    const childWords = child.names?.child ?? "persons";
    const problems = [
      ...named,
      ...(await schemaProblems(db, tables, options.profiles, extra)),
      ...(await schemaProblems(db, { real: child.real, synth: child.synth }, child.profiles)).map((p) => ({
        ...p,
        message: p.message
          .replaceAll("the synthetic table", `the synthetic ${childWords} table`)
          .replaceAll("the real table", `the real ${childWords} table`),
      })),
    ];
    throwIfProblems(problems);
  } else {
    throwIfProblems([...named, ...(await schemaProblems(db, tables, options.profiles, extra))]);
  }
  const names = child?.names ?? { parent: "households", child: "persons" };
  if (child) {
    await checkKey(db, child.key, [
      { table: options.real, label: options.labels?.real ?? options.real, flag: "--real" },
      { table: child.real, label: child.labels?.real ?? child.real, flag: "--real-child" },
      { table: options.synth, label: options.labels?.synth ?? options.synth, flag: "--synth" },
      { table: child.synth, label: child.labels?.synth ?? child.synth, flag: "--synth-child" },
    ]);
  }
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
  const links = child
    ? await timed("links", async () => {
        const real = await describeLinks(db, { parent: options.real, child: child.real, key: child.key });
        const synth = await describeLinks(db, { parent: options.synth, child: child.synth, key: child.key });
        return {
          key: child.key,
          names,
          labels: {
            realChild: child.labels?.real ?? child.real,
            synthChild: child.labels?.synth ?? child.synth,
          },
          real,
          synth,
          warnings: linkWarnings(synth, names),
        };
      })
    : null;
  const queryTables: QueryTable[] | undefined = child
    ? [
        ...(names.parent === "data" ? [] : [{ name: "data", real: options.real, synth: options.synth }]),
        { name: names.parent, real: options.real, synth: options.synth },
        { name: names.child, real: child.real, synth: child.synth },
      ]
    : undefined;
  const queries =
    options.queries && options.queries.length > 0
      ? await timed("queries", () => {
          const list = options.queries as Query[];
          return queryTables
            ? runQueries(db, { queries: list, tables: queryTables })
            : runQueries(db, { real: options.real, synth: options.synth, queries: list });
        })
      : null;
  const categories = queries ? categoryErrors(queries) : [];
  const privacy =
    options.privacy === false
      ? null
      : await timed("privacy", () =>
          evaluatePrivacy(db, {
            ...base,
            holdout: options.holdout,
            seed,
            ...(options.minCell !== undefined ? { minCell: options.minCell } : {}),
            ...(options.nearCopy !== undefined ? { nearCopy: options.nearCopy } : {}),
          }),
        );
  const diagnostics = await timed("diagnostics", () =>
    diagnose(db, {
      real: options.real,
      synth: options.synth,
      columns,
      profiles: options.profiles,
      key: child?.key,
    }),
  );
  const samples = await timed("samples", () =>
    sampleRows(db, {
      real: options.real,
      synth: options.synth,
      columns: columns.map((c) => c.name),
      seed,
      showReal: options.showRealRows ?? false,
    }),
  );
  // After every part that reads the real-vs-synthetic views: the floor rebuilds them over real samples.
  const floor = await timed("real floor", () =>
    realFloor(db, {
      real: options.real,
      holdout: options.holdout,
      profiles: options.profiles,
      seed,
      rows: fidelity.rows,
    }),
  );
  const verdicts = judge({ fidelity, floor, detection, utility, privacy });
  const childFidelity =
    child?.profiles && childColumns.length > 0
      ? await timed("child fidelity", () =>
          // Last: it rebuilds the evaluation's views over the child tables.
          evaluateFidelity(db, {
            real: child.real,
            synth: child.synth,
            profiles: child.profiles as ColumnProfile[],
          }),
        )
      : null;
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
    queryCategories: categories.length > 0 ? categories : null,
    links,
    childFidelity,
    privacy,
    convergence: options.convergence ?? null,
    convergenceNote:
      options.convergence && options.convergence.points.length > 0
        ? null
        : options.convergence
          ? `run ${options.convergence.runId} of the run database has no iteration recorded`
          : (options.convergenceNote ??
            "no run database was given; pass the database of synthor synth --db with --db to draw it"),
    verdicts,
    diagnostics,
    samples,
    ...(flows ? { flows } : {}),
    ...(targets ? { targets } : {}),
    seconds,
    metrics: [...METRICS, ...(flows ? FLOW_METRICS : []), ...(targets ? TARGET_METRICS : [])],
  };
}

/**
 * What is wrong with the options that name compared columns of the real table (--target, --group), all
 * together; no table is read. {@link evaluateSynthetic} checks them before its first part runs (--flows
 * is checked on every side by its own part, which runs first).
 *
 * @example optionProblems({ ...options, target: "incme" })[0].hint // => "did you mean income? ..."
 */
export function optionProblems(
  options: Pick<EvaluationOptions, "profiles" | "target" | "groups">,
): Problem[] {
  const columns = evalColumns(options.profiles);
  const problems = groupProblems(options.groups ?? [], columns);
  if (options.target !== undefined) {
    const target = targetProblem(options.target, options.profiles);
    if (target) problems.push(target);
  }
  return problems;
}
