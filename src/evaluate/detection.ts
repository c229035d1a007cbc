/**
 * Detection: the classifier two-sample test (C2ST). Real and synthetic rows are labelled 0 and 1 and
 * classifiers try to tell them apart under k-fold cross-validation. A held-out accuracy near 0.5 means
 * they cannot; the gap |accuracy - 0.5| is what the paper reports (0 best, 0.5 worst).
 */
import type { Db } from "../db/connection.ts";
import type { ColumnProfile } from "../profile.ts";
import { encodeSides } from "./features.ts";
import { argmax, type Classifier, type Features, fitForest, fitLogistic, rocAuc } from "./learn.ts";
import { evalColumns, prepareViews } from "./tables.ts";

export type DetectionModel = "logistic_regression" | "random_forest";

export interface DetectionModelResult {
  model: DetectionModel;
  /** Held-out accuracy over all folds together, in [0, 1]; 0.5 is chance. */
  accuracy: number;
  /** |accuracy - 0.5|, in [0, 0.5]: 0 means the classifier cannot tell synthetic rows from real ones. */
  gap: number;
  /** Held-out ROC AUC of the synthetic-row probability, in [0, 1]; 0.5 is chance. */
  auc: number | null;
  /** Accuracy of each fold. */
  folds: number[];
}

export interface DetectionResult {
  /** Rows used from each side (equal, so 0.5 is the chance level). */
  rows: number;
  folds: number;
  features: string[];
  seed: number;
  models: DetectionModelResult[];
}

export interface DetectionOptions {
  /** The views of these tables are already built (prepareViews); evaluateSynthetic builds them once. */
  prepared?: boolean;

  real: string;
  synth: string;
  profiles: ColumnProfile[];
  /** Seeds the row sample, the folds and the forest (default 0). */
  seed?: number;
  /** Rows per side at most (default 10000); both sides use the same number. */
  maxRows?: number;
  /** Cross-validation folds (default 5). */
  folds?: number;
  /** Models to run (default both). */
  models?: DetectionModel[];
}

/**
 * The classifier two-sample test: logistic regression and a random forest on one-hot categories and
 * real-decile bins, stratified k-fold cross-validated, on equally many real and synthetic rows.
 *
 * @example const d = await c2st(db, { real: "synthor_real", synth: "synthetic", profiles, seed: 1 });
 * d.models[0].gap // 0.02
 */
export async function c2st(db: Db, options: DetectionOptions): Promise<DetectionResult> {
  const seed = options.seed ?? 0;
  const k = options.folds ?? 5;
  const columns = evalColumns(options.profiles);
  if (!options.prepared) await prepareViews(db, { real: options.real, synth: options.synth }, columns);
  const [counts] = await db.all<{ real: number; synth: number }>(
    "select (select count(*) from synthor_eval_model_real) as real, (select count(*) from synthor_eval_model_synth) as synth",
  );
  const perSide = Math.min(counts?.real ?? 0, counts?.synth ?? 0, options.maxRows ?? 10_000);
  const { features, sides } = await encodeSides(
    db,
    [
      { side: "real", limit: perSide },
      { side: "synth", limit: perSide },
    ],
    columns,
    seed,
  );
  const labels = new Uint8Array(features.rows);
  const fold = new Uint8Array(features.rows);
  for (const [side, range] of sides) {
    for (let i = 0; i < range.count; i++) {
      labels[range.start + i] = side === "synth" ? 1 : 0;
      // Rows come in a seeded random order: dealing them out in turn gives stratified folds.
      fold[range.start + i] = i % k;
    }
  }
  const fitters: Record<DetectionModel, (rows: Int32Array, f: number) => Classifier> = {
    logistic_regression: (rows) => fitLogistic(features, labels, 2, rows),
    random_forest: (rows, f) => fitForest(features, labels, 2, rows, { trees: 30, seed: seed * 31 + f }),
  };
  const models = (options.models ?? ["logistic_regression", "random_forest"]).map((model) =>
    crossValidate(model, features, labels, fold, k, fitters[model]),
  );
  return { rows: perSide, folds: k, features: features.names, seed, models };
}

function crossValidate(
  model: DetectionModel,
  features: Features,
  labels: Uint8Array,
  fold: Uint8Array,
  k: number,
  train: (rows: Int32Array, f: number) => Classifier,
): DetectionModelResult {
  const scores = new Float64Array(features.rows);
  const folds: number[] = [];
  let correct = 0;
  for (let f = 0; f < k; f++) {
    const trainRows: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < features.rows; i++) (fold[i] === f ? test : trainRows).push(i);
    if (test.length === 0 || trainRows.length === 0) continue;
    const classifier = train(Int32Array.from(trainRows), f);
    let right = 0;
    for (const i of test) {
      const p = classifier.predict(features, i);
      scores[i] = p[1] ?? 0;
      if (argmax(p) === labels[i]) right++;
    }
    correct += right;
    folds.push(right / test.length);
  }
  const accuracy = features.rows > 0 ? correct / features.rows : 0.5;
  return { model, accuracy, gap: Math.abs(accuracy - 0.5), auc: rocAuc(scores, labels), folds };
}
