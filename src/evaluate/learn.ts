/**
 * Small, deterministic classifiers for the detection test and the utility test: logistic regression and
 * CART trees (alone or bagged into a random forest), over features that are all codes: each column of a
 * {@link Features} holds one small integer per row (a category, or a numeric column's bin). Logistic
 * regression sees them one-hot; trees split ordinal codes (bins) by threshold and nominal codes
 * (categories) one level against the rest, as a tree over one-hot columns would.
 *
 * These are TypeScript because they are model fitting, not aggregation: nothing here reads the database.
 */

/** Columns of codes, one Uint16Array per column, all of length `rows`. */
export interface Features {
  names: string[];
  /** How many codes column j uses (its codes are 0 ... levels[j] - 1). */
  levels: number[];
  /** Ordinal columns (binned numbers) split by threshold; the others one level against the rest. */
  ordinal: boolean[];
  codes: Uint16Array[];
  rows: number;
  /** Categorical columns: the value of each code (the last one "(other)" when rare values were merged). */
  dictionaries?: ((string | null)[] | undefined)[];
}

/** A fitted classifier: the probability of every class for a row of the features it was fitted on. */
export interface Classifier {
  predict(features: Features, row: number): Float64Array;
}

/** A seeded uniform generator in [0, 1) (mulberry32): the same seed gives the same forest. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------
// Logistic regression

export interface LogisticOptions {
  /** L2 penalty on the weights (not the intercept): sklearn's 1 / C. Default 1. */
  l2?: number;
  /** Newton iterations at most (default 25); it stops earlier once the step is tiny. */
  iterations?: number;
}

/**
 * Logistic regression on one-hot codes, fitted by Newton's method (iteratively reweighted least
 * squares) with an L2 penalty, the optimum sklearn's LogisticRegression(C = 1 / l2) reaches. More than
 * two classes: one model per class against the rest, probabilities normalized.
 *
 * @example const model = fitLogistic(features, labels, 2, trainRows); model.predict(features, 0)[1]
 */
export function fitLogistic(
  features: Features,
  labels: Uint8Array,
  classes: number,
  rows: Int32Array,
  options: LogisticOptions = {},
): Classifier {
  const offsets = offsetsOf(features);
  const width = (offsets.at(-1) ?? 0) + 1;
  const targets = classes === 2 ? [1] : Array.from({ length: classes }, (_, k) => k);
  const weights = targets.map((k) => newtonBinary(features, offsets, width, labels, k, rows, options));
  return {
    predict(f: Features, row: number): Float64Array {
      const out = new Float64Array(classes);
      const scores = weights.map((w) => sigmoid(linear(f, offsets, w, row)));
      if (classes === 2) {
        out[1] = scores[0] ?? 0.5;
        out[0] = 1 - (scores[0] ?? 0.5);
        return out;
      }
      const total = scores.reduce((s, x) => s + x, 0) || 1;
      scores.forEach((s, k) => {
        out[k] = s / total;
      });
      return out;
    },
  };
}

/** Start of each column's one-hot block; the last entry is the intercept's index. */
function offsetsOf(features: Features): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const l of features.levels) {
    offsets.push(at);
    at += l;
  }
  offsets.push(at);
  return offsets;
}

function linear(f: Features, offsets: number[], w: Float64Array, row: number): number {
  let z = w[offsets.at(-1) ?? 0] ?? 0;
  for (let j = 0; j < f.codes.length; j++) z += w[(offsets[j] ?? 0) + (f.codes[j]?.[row] ?? 0)] ?? 0;
  return z;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function newtonBinary(
  f: Features,
  offsets: number[],
  width: number,
  labels: Uint8Array,
  positive: number,
  rows: Int32Array,
  options: LogisticOptions,
): Float64Array {
  const l2 = options.l2 ?? 1;
  const intercept = width - 1;
  const m = f.codes.length;
  const w = new Float64Array(width);
  const active = new Int32Array(m + 1);
  const objective = (v: Float64Array): number => {
    let loss = 0;
    for (const i of rows) {
      const z = linear(f, offsets, v, i);
      const y = labels[i] === positive ? 1 : 0;
      // log(1 + e^z) - y z, computed without overflow
      loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y * z;
    }
    let penalty = 0;
    for (let a = 0; a < intercept; a++) penalty += (v[a] ?? 0) ** 2;
    return loss + 0.5 * l2 * penalty;
  };
  let current = objective(w);
  for (let iter = 0; iter < (options.iterations ?? 25); iter++) {
    const grad = new Float64Array(width);
    const hess = new Float64Array(width * width);
    for (const i of rows) {
      for (let j = 0; j < m; j++) active[j] = (offsets[j] ?? 0) + (f.codes[j]?.[i] ?? 0);
      active[m] = intercept;
      const p = sigmoid(linear(f, offsets, w, i));
      const r = p - (labels[i] === positive ? 1 : 0);
      const s = Math.max(p * (1 - p), 1e-12);
      for (let a = 0; a <= m; a++) {
        const ia = active[a] ?? 0;
        grad[ia] = (grad[ia] ?? 0) + r;
        const base = ia * width;
        for (let b = 0; b <= m; b++) {
          const ib = active[b] ?? 0;
          hess[base + ib] = (hess[base + ib] ?? 0) + s;
        }
      }
    }
    for (let a = 0; a < intercept; a++) {
      grad[a] = (grad[a] ?? 0) + l2 * (w[a] ?? 0);
      hess[a * width + a] = (hess[a * width + a] ?? 0) + l2;
    }
    // Levels no training row uses have a zero row in the Hessian but for the penalty; keep it invertible.
    hess[intercept * width + intercept] = (hess[intercept * width + intercept] ?? 0) + 1e-9;
    const step = choleskySolve(hess, grad, width);
    // Newton steps can overshoot on nearly separable data: halve until the objective goes down.
    let scale = 1;
    let next = w;
    let value = current;
    for (let tries = 0; tries < 30; tries++) {
      next = new Float64Array(width);
      for (let a = 0; a < width; a++) next[a] = (w[a] ?? 0) - scale * (step[a] ?? 0);
      value = objective(next);
      if (value <= current) break;
      scale /= 2;
    }
    let change = 0;
    for (let a = 0; a < width; a++) change = Math.max(change, Math.abs((next[a] ?? 0) - (w[a] ?? 0)));
    w.set(next);
    const improved = current - value;
    current = value;
    if (change < 1e-8 || improved < 1e-10 * Math.max(1, Math.abs(current))) break;
  }
  return w;
}

/** Solves A x = b for a symmetric positive definite A (row-major, n x n). */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j] ?? 0;
      for (let k = 0; k < j; k++) sum -= (l[i * n + k] ?? 0) * (l[j * n + k] ?? 0);
      if (i === j) l[i * n + i] = Math.sqrt(Math.max(sum, 1e-12));
      else l[i * n + j] = sum / (l[j * n + j] ?? 1);
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i] ?? 0;
    for (let k = 0; k < i; k++) sum -= (l[i * n + k] ?? 0) * (y[k] ?? 0);
    y[i] = sum / (l[i * n + i] ?? 1);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i] ?? 0;
    for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] ?? 0) * (x[k] ?? 0);
    x[i] = sum / (l[i * n + i] ?? 1);
  }
  return x;
}

// ---------------------------------------------------------------------------------------------------
// Trees

export interface TreeOptions {
  /** Depth limit (default 12). */
  maxDepth?: number;
  /** Fewest (weighted) rows in a leaf (default 5). */
  minLeaf?: number;
  /** Columns tried at each split (default all); a forest tries sqrt(columns). */
  maxFeatures?: number;
  seed?: number;
}

interface Node {
  /** Leaf: class probabilities. */
  probs?: Float64Array;
  column?: number;
  /** Ordinal: codes <= at go left. Nominal: code === at goes left. */
  at?: number;
  ordinal?: boolean;
  left?: Node;
  right?: Node;
}

/**
 * A CART classification tree with Gini impurity. `weights` (bootstrap counts) default to 1 per row.
 *
 * @example const tree = fitTree(features, labels, 2, trainRows, { maxDepth: 8 });
 */
export function fitTree(
  features: Features,
  labels: Uint8Array,
  classes: number,
  rows: Int32Array,
  options: TreeOptions = {},
  weights?: Float64Array,
): Classifier {
  const rng = random(options.seed ?? 0);
  const settings = {
    maxDepth: options.maxDepth ?? 12,
    minLeaf: options.minLeaf ?? 5,
    maxFeatures: Math.min(options.maxFeatures ?? features.codes.length, features.codes.length),
  };
  const root = grow(features, labels, classes, rows, weights, settings, rng, 0);
  return {
    predict(f: Features, row: number): Float64Array {
      let node = root;
      while (!node.probs) {
        const code = f.codes[node.column ?? 0]?.[row] ?? 0;
        const goLeft = node.ordinal ? code <= (node.at ?? 0) : code === node.at;
        node = (goLeft ? node.left : node.right) as Node;
      }
      return node.probs;
    },
  };
}

function grow(
  f: Features,
  labels: Uint8Array,
  classes: number,
  rows: Int32Array,
  weights: Float64Array | undefined,
  settings: { maxDepth: number; minLeaf: number; maxFeatures: number },
  rng: () => number,
  depth: number,
): Node {
  const totals = new Float64Array(classes);
  for (const i of rows)
    totals[labels[i] ?? 0] = (totals[labels[i] ?? 0] ?? 0) + (weights ? (weights[i] ?? 0) : 1);
  const n = totals.reduce((s, x) => s + x, 0);
  const leaf = (): Node => ({ probs: totals.map((x) => (n > 0 ? x / n : 1 / classes)) });
  const pure = totals.filter((x) => x > 0).length <= 1;
  if (pure || depth >= settings.maxDepth || n < 2 * settings.minLeaf) return leaf();

  const parentScore = totals.reduce((s, x) => s + x * x, 0) / n;
  let best = { gain: 1e-12, column: -1, at: 0, ordinal: false };
  for (const j of pickColumns(f.codes.length, settings.maxFeatures, rng)) {
    const levels = f.levels[j] ?? 1;
    if (levels < 2) continue;
    const hist = new Float64Array(levels * classes);
    const codes = f.codes[j] as Uint16Array;
    for (const i of rows) {
      const at = (codes[i] ?? 0) * classes + (labels[i] ?? 0);
      hist[at] = (hist[at] ?? 0) + (weights ? (weights[i] ?? 0) : 1);
    }
    const left = new Float64Array(classes);
    const ordinal = f.ordinal[j] ?? false;
    for (let c = 0; c < levels - (ordinal ? 1 : 0); c++) {
      if (ordinal) {
        for (let k = 0; k < classes; k++) left[k] = (left[k] ?? 0) + (hist[c * classes + k] ?? 0);
      } else {
        for (let k = 0; k < classes; k++) left[k] = hist[c * classes + k] ?? 0;
      }
      let nl = 0;
      let sl = 0;
      let sr = 0;
      for (let k = 0; k < classes; k++) nl += left[k] ?? 0;
      const nr = n - nl;
      if (nl < settings.minLeaf || nr < settings.minLeaf) continue;
      for (let k = 0; k < classes; k++) {
        const l = left[k] ?? 0;
        const r = (totals[k] ?? 0) - l;
        sl += l * l;
        sr += r * r;
      }
      const gain = sl / nl + sr / nr - parentScore;
      if (gain > best.gain) best = { gain, column: j, at: c, ordinal };
    }
  }
  if (best.column < 0) return leaf();
  const codes = f.codes[best.column] as Uint16Array;
  const goesLeft = (i: number) => (best.ordinal ? (codes[i] ?? 0) <= best.at : codes[i] === best.at);
  let nLeft = 0;
  for (const i of rows) if (goesLeft(i)) nLeft++;
  const leftRows = new Int32Array(nLeft);
  const rightRows = new Int32Array(rows.length - nLeft);
  let a = 0;
  let b = 0;
  for (const i of rows) {
    if (goesLeft(i)) leftRows[a++] = i;
    else rightRows[b++] = i;
  }
  return {
    column: best.column,
    at: best.at,
    ordinal: best.ordinal,
    left: grow(f, labels, classes, leftRows, weights, settings, rng, depth + 1),
    right: grow(f, labels, classes, rightRows, weights, settings, rng, depth + 1),
  };
}

/** `k` of the columns 0 ... n - 1 (all of them when k >= n), drawn without replacement. */
function pickColumns(n: number, k: number, rng: () => number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return all;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, k);
}

export interface ForestOptions extends TreeOptions {
  /** Trees (default 50). */
  trees?: number;
}

/**
 * A random forest: trees on bootstrap samples, each split trying sqrt(columns) columns, class
 * probabilities averaged.
 */
export function fitForest(
  features: Features,
  labels: Uint8Array,
  classes: number,
  rows: Int32Array,
  options: ForestOptions = {},
): Classifier {
  const rng = random(options.seed ?? 0);
  const trees: Classifier[] = [];
  const count = options.trees ?? 50;
  const maxFeatures = options.maxFeatures ?? Math.max(1, Math.round(Math.sqrt(features.codes.length)));
  const weights = new Float64Array(features.rows);
  for (let t = 0; t < count; t++) {
    weights.fill(0);
    for (let i = 0; i < rows.length; i++) {
      const pick = rows[Math.floor(rng() * rows.length)] ?? 0;
      weights[pick] = (weights[pick] ?? 0) + 1;
    }
    const used = rows.filter((i) => (weights[i] ?? 0) > 0);
    trees.push(
      fitTree(
        features,
        labels,
        classes,
        used,
        {
          maxDepth: options.maxDepth ?? 16,
          minLeaf: options.minLeaf ?? 2,
          maxFeatures,
          seed: Math.floor(rng() * 2 ** 31),
        },
        Float64Array.from(weights),
      ),
    );
  }
  return {
    predict(f: Features, row: number): Float64Array {
      const out = new Float64Array(classes);
      for (const tree of trees) {
        const p = tree.predict(f, row);
        for (let k = 0; k < classes; k++) out[k] = (out[k] ?? 0) + (p[k] ?? 0) / trees.length;
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Scores

/** Area under the ROC curve of scores for the positive class (ties count one half). */
export function rocAuc(scores: Float64Array, positive: Uint8Array): number | null {
  const order = Array.from(scores.keys()).sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0));
  let pos = 0;
  let rankSum = 0;
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1] ?? 0] === scores[order[i] ?? 0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k] ?? 0]) {
        pos++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const neg = order.length - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Index of the largest probability (the first on ties). */
export function argmax(p: Float64Array): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if ((p[k] ?? 0) > (p[best] ?? 0)) best = k;
  return best;
}
