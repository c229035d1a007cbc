/**
 * Utility: is the synthetic table useful for learning? Train on synthetic, test on real (TSTR): the
 * classifiers learn the target column from the others on synthetic rows and are scored on real holdout
 * rows, beside the same classifiers trained on real rows (TRTR). Close scores mean the synthetic table
 * can stand in for the real one in this task.
 */
import type { Db } from "../db/connection.ts";
import { type Problem, SynthorError } from "../errors.ts";
import { cliName, unknownColumnHint } from "../names.ts";
import type { ColumnProfile } from "../profile.ts";
import { encodeSides } from "./features.ts";
import { argmax, type Classifier, type Features, fitForest, fitLogistic, fitTree, rocAuc } from "./learn.ts";
import { type EvalColumn, evalColumns, prepareViews, type Side } from "./tables.ts";

export type UtilityModel = "logistic_regression" | "decision_tree" | "random_forest";

export interface UtilityScores {
  /** Share of test rows classified right, in [0, 1] (higher is better). */
  accuracy: number;
  /** Mean over the classes of the test rows of the F1 score, in [0, 1] (higher is better). */
  f1Macro: number;
  /** Two classes: ROC AUC of the second class's probability, in [0, 1]; null otherwise. */
  auc: number | null;
}

export interface UtilityModelResult {
  model: UtilityModel;
  /** Trained on synthetic rows, tested on real test rows (TSTR). */
  synth: UtilityScores;
  /** Trained on real rows, tested on the same test rows (TRTR). */
  real: UtilityScores;
  /** synth.accuracy - real.accuracy: near 0 is good. */
  accuracyDiff: number;
}

export interface UtilityResult {
  target: string;
  classes: (string | null)[];
  /** Where the test rows come from: the holdout table, or 20% of the real table split off. */
  testSource: "holdout" | "split";
  rows: { trainSynth: number; trainReal: number; test: number };
  /** Accuracy of always answering the most frequent class of the real training rows. */
  majorityAccuracy: number;
  models: UtilityModelResult[];
}

export interface UtilityOptions {
  /** The views of these tables are already built (prepareViews); evaluateSynthetic builds them once. */
  prepared?: boolean;

  real: string;
  synth: string;
  holdout?: string | undefined;
  profiles: ColumnProfile[];
  /** The column to predict: a categorical column. */
  target: string;
  seed?: number;
  /** Rows at most per training side and for the test (default 20000). */
  maxRows?: number;
  models?: UtilityModel[];
}

/**
 * Why `target` cannot be the utility test's target, if it cannot: a column the real table lacks (with
 * the suggestion for a misspelt one), one that is not compared (an identifier, ignored), or a numeric one.
 * Cheap: `synthor eval` checks it before any part of the evaluation runs.
 *
 * @example targetProblem("incme", profiles)?.hint // => "did you mean income? the compared columns are: ..."
 */
export function targetProblem(target: string, profiles: ColumnProfile[]): Problem | undefined {
  const columns = evalColumns(profiles);
  const column = columns.find((c) => c.name === target);
  if (!column) {
    const profile = profiles.find((p) => p.name === target);
    return {
      code: "COLUMN_UNKNOWN",
      message: profile
        ? `--target ${cliName(target)} is ${profile.kind} and not compared, so it cannot be predicted`
        : `--target names column "${target}", which the real table does not have`,
      hint: profile
        ? `treat it as categories with --categorical ${cliName(target)}, or pick another target`
        : unknownColumnHint(
            target,
            columns.map((c) => c.name),
            "the compared columns are",
          ),
      subject: target,
    };
  }
  if (column.kind !== "categorical") {
    return {
      code: "INPUT_INVALID",
      message: `--target ${cliName(target)} is numeric; the utility test trains classifiers, which predict categories`,
      hint: `pick a categorical target, or treat this one as categories with --categorical ${cliName(target)} if it has few values`,
      subject: target,
    };
  }
  return undefined;
}

/**
 * Trains logistic regression, a decision tree and a random forest on synthetic rows and on real rows,
 * and scores both on real test rows (the holdout, or 20% of the real table when there is none).
 *
 * @example const u = await evaluateUtility(db, { real: "r", synth: "s", holdout: "h", profiles, target: "income" });
 * u.models[0].synth.accuracy // 0.82
 */
export async function evaluateUtility(db: Db, options: UtilityOptions): Promise<UtilityResult> {
  const problem = targetProblem(options.target, options.profiles);
  if (problem)
    throw new SynthorError(problem.code, problem.message, problem.hint, { column: options.target });
  const columns = evalColumns(options.profiles);
  const target = columns.find((c) => c.name === options.target) as EvalColumn;
  const seed = options.seed ?? 0;
  const maxRows = options.maxRows ?? 20_000;
  const tables = { real: options.real, synth: options.synth, holdout: options.holdout };
  if (!options.prepared) await prepareViews(db, tables, columns);
  const hasHoldout = options.holdout !== undefined;
  const requests: { side: Side; limit: number }[] = [
    { side: "synth", limit: maxRows },
    { side: "real", limit: hasHoldout ? maxRows : Math.ceil(maxRows * 1.25) },
  ];
  if (hasHoldout) requests.push({ side: "holdout", limit: maxRows });
  const { features: all, sides } = await encodeSides(db, requests, columns, seed);

  const t = columns.indexOf(target);
  const labels = Uint8Array.from(all.codes[t] ?? []);
  const classes = all.levels[t] ?? 0;
  const features: Features = {
    names: all.names.filter((_, j) => j !== t),
    levels: all.levels.filter((_, j) => j !== t),
    ordinal: all.ordinal.filter((_, j) => j !== t),
    codes: all.codes.filter((_, j) => j !== t),
    rows: all.rows,
  };
  const range = (side: Side) => {
    const r = sides.get(side) ?? { start: 0, count: 0 };
    return Int32Array.from({ length: r.count }, (_, i) => r.start + i);
  };
  const trainSynth = range("synth");
  let trainReal = range("real");
  let test: Int32Array;
  if (hasHoldout) {
    test = range("holdout");
  } else {
    // The real rows come in a seeded random order: the last fifth is the test set.
    const cut = Math.floor(trainReal.length * 0.8);
    test = trainReal.slice(cut);
    trainReal = trainReal.slice(0, cut);
  }
  if (trainSynth.length === 0 || trainReal.length === 0 || test.length === 0) {
    throw new SynthorError(
      "SOURCE_EMPTY",
      "the utility test has no rows to train or test on",
      "give tables with rows; with a small real table, pass a --holdout",
    );
  }

  const fitters: Record<UtilityModel, (rows: Int32Array) => Classifier> = {
    logistic_regression: (rows) => fitLogistic(features, labels, Math.max(classes, 2), rows),
    decision_tree: (rows) =>
      fitTree(features, labels, Math.max(classes, 2), rows, { maxDepth: 10, minLeaf: 5 }),
    random_forest: (rows) => fitForest(features, labels, Math.max(classes, 2), rows, { trees: 50, seed }),
  };
  const models = (options.models ?? ["logistic_regression", "decision_tree", "random_forest"]).map(
    (model) => {
      const synth = score(fitters[model](trainSynth), features, labels, test, classes);
      const real = score(fitters[model](trainReal), features, labels, test, classes);
      return { model, synth, real, accuracyDiff: synth.accuracy - real.accuracy };
    },
  );
  const counts = new Map<number, number>();
  for (const i of trainReal) counts.set(labels[i] ?? 0, (counts.get(labels[i] ?? 0) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
  const majorityAccuracy = test.filter((i) => labels[i] === majority).length / test.length;
  return {
    target: target.name,
    classes: all.dictionaries?.[t] ?? [],
    testSource: hasHoldout ? "holdout" : "split",
    rows: { trainSynth: trainSynth.length, trainReal: trainReal.length, test: test.length },
    majorityAccuracy,
    models,
  };
}

function score(
  model: Classifier,
  features: Features,
  labels: Uint8Array,
  test: Int32Array,
  classes: number,
): UtilityScores {
  const k = Math.max(classes, 2);
  const confusion = new Float64Array(k * k);
  const positive = new Float64Array(test.length);
  const truth = new Uint8Array(test.length);
  let right = 0;
  test.forEach((i, n) => {
    const p = model.predict(features, i);
    const predicted = argmax(p);
    const actual = labels[i] ?? 0;
    confusion[actual * k + predicted] = (confusion[actual * k + predicted] ?? 0) + 1;
    if (predicted === actual) right++;
    positive[n] = p[1] ?? 0;
    truth[n] = actual === 1 ? 1 : 0;
  });
  const f1s: number[] = [];
  for (let c = 0; c < k; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let j = 0; j < k; j++) {
      if (j === c) tp = confusion[c * k + c] ?? 0;
      else {
        fp += confusion[j * k + c] ?? 0;
        fn += confusion[c * k + j] ?? 0;
      }
    }
    if (tp + fn === 0) continue; // a class absent from the test rows does not count (as sklearn's labels=present)
    f1s.push(tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));
  }
  return {
    accuracy: right / test.length,
    f1Macro: f1s.length ? f1s.reduce((s, x) => s + x, 0) / f1s.length : 0,
    auc: classes === 2 ? rocAuc(positive, truth) : null,
  };
}
