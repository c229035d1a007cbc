/**
 * Every metric `synthor eval` reports, described as SDMetrics describes its metrics: a name, a goal
 * (minimize or maximize), a range, and the SDMetrics metric it matches, if any. The CLI's --json output,
 * the HTML report and docs/eval.md all list these.
 */
export interface MetricInfo {
  /** The key in the JSON output. */
  key: string;
  name: string;
  goal: "minimize" | "maximize" | "closer to the baseline" | "none: shows a change";
  range: string;
  /** The SDMetrics metric with the same definition, or how it differs. */
  sdmetrics: string | null;
  description: string;
}

export const METRICS: MetricInfo[] = [
  {
    key: "fidelity.columns[].tvd",
    name: "Total variation distance",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: "1 - TVComplement when the column has no NULLs (here NULL is a category of its own)",
    description:
      "Half the L1 distance between the real and synthetic shares of a column's values; numeric columns over the real deciles.",
  },
  {
    key: "fidelity.columns[].jsDivergence",
    name: "Jensen-Shannon divergence",
    goal: "minimize",
    range: "[0, ln 2]",
    sdmetrics: null,
    description:
      "JS(P, Q) = KL(P || M) / 2 + KL(Q || M) / 2 with M = (P + Q) / 2, natural log, on the same cells as the TVD.",
  },
  {
    key: "fidelity.columns[].jsDistance",
    name: "Jensen-Shannon distance",
    goal: "minimize",
    range: "[0, sqrt(ln 2)] (about 0.833)",
    sdmetrics: null,
    description: "sqrt(JS divergence): scipy.spatial.distance.jensenshannon(p, q).",
  },
  {
    key: "fidelity.columns[].w1",
    name: "Wasserstein-1 distance",
    goal: "minimize",
    range: "[0, inf), in the column's units (seconds for dates)",
    sdmetrics: null,
    description:
      "The area between the two empirical CDFs of a numeric column's non-NULL values: scipy.stats.wasserstein_distance.",
  },
  {
    key: "fidelity.columns[].ks",
    name: "Kolmogorov-Smirnov statistic",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: "1 - KSComplement",
    description:
      "max |F_real - F_synth| over a numeric column's non-NULL values: scipy.stats.ks_2samp's statistic.",
  },
  {
    key: "fidelity.columns[].score",
    name: "Column shape score",
    goal: "maximize",
    range: "[0, 1]",
    sdmetrics: "KSComplement (numeric, datetime) or TVComplement (categorical, NULLs left out)",
    description: "SDMetrics' per-column score in its QualityReport's Column Shapes property.",
  },
  {
    key: "fidelity.pairs[].association",
    name: "Pairwise association",
    goal: "closer to the baseline",
    range: "Pearson r in [-1, 1]; Cramér's V in [0, 1]",
    sdmetrics: null,
    description:
      "Pearson's r for two numeric columns, Cramér's V (numeric columns over the real deciles, NULL a category) otherwise; real, synthetic and their difference.",
  },
  {
    key: "fidelity.pairs[].tvd",
    name: "Pair / group TVD",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: null,
    description:
      "TVD of the joint table of two (or, for groups, up to four) columns, numeric columns over the real deciles; jsDivergence and jsDistance beside it.",
  },
  {
    key: "fidelity.pairs[].score",
    name: "Column pair trend score",
    goal: "maximize",
    range: "[0, 1]",
    sdmetrics:
      "CorrelationSimilarity (two numeric: 1 - |r_real - r_synth| / 2) or ContingencySimilarity (1 - TVD of the pair, numeric columns in 10 equal-width bins of each table's own range, as SDMetrics' QualityReport bins them)",
    description: "SDMetrics' per-pair score in its QualityReport's Column Pair Trends property.",
  },
  {
    key: "fidelity.scores.quality",
    name: "Quality score",
    goal: "maximize",
    range: "[0, 1]",
    sdmetrics: "QualityReport.get_score() (SDMetrics 0.32): mean of Column Shapes and Column Pair Trends",
    description:
      "columnShapes = mean column score; columnPairTrends = mean score of the pairs whose real trend meets SDMetrics' threshold (|r| > 0.5, Cramér's V > 0.3 on its binned table; columnPairTrendsAllPairs averages every pair, as SDMetrics did before thresholds); quality = their mean.",
  },
  {
    key: "detection.models[].accuracy",
    name: "C2ST accuracy",
    goal: "closer to the baseline",
    range: "[0, 1], 0.5 is chance",
    sdmetrics: null,
    description:
      "Held-out accuracy of a classifier telling real rows from synthetic ones (5-fold cross-validated, equal rows per side).",
  },
  {
    key: "detection.models[].gap",
    name: "C2ST gap",
    goal: "minimize",
    range: "[0, 0.5]",
    sdmetrics: null,
    description: "|accuracy - 0.5|, the paper's detection score.",
  },
  {
    key: "detection.models[].auc",
    name: "C2ST ROC AUC",
    goal: "closer to the baseline",
    range: "[0, 1], 0.5 is chance",
    sdmetrics:
      "LogisticDetection = 1 - (2 max(AUC, 0.5) - 1) uses the same AUC, with other features and folds",
    description: "Held-out area under the ROC curve of the synthetic-row probability.",
  },
  {
    key: "utility.models[].synth.accuracy",
    name: "Train-synthetic-test-real accuracy",
    goal: "maximize",
    range: "[0, 1]",
    sdmetrics: null,
    description:
      "Accuracy on real test rows of a classifier trained on synthetic rows, beside the same trained on real rows (f1Macro and auc likewise).",
  },
  {
    key: "queries[].relError",
    name: "Query relative error",
    goal: "minimize",
    range: "[0, inf)",
    sdmetrics: null,
    description: "|synth - real| / |real| of a SQL query's value; absError = |synth - real|.",
  },
  {
    key: "queryCategories[].meanRelError",
    name: "Mean relative error of a query category",
    goal: "minimize",
    range: "[0, inf)",
    sdmetrics: null,
    description:
      "Mean of the relative errors of the queries filed under a `-- category:` line (those whose real value is not 0): the paper's Table 4.",
  },
  {
    key: "links.synth.orphans",
    name: "Orphan child rows",
    goal: "minimize",
    range: "[0, child rows]",
    sdmetrics: null,
    description:
      "Rows of the synthetic child table (persons) whose key matches no row of the synthetic parent table (households); links also counts parents, distinct keys, parents without children and children per parent on both sides.",
  },
  {
    key: "privacy.exactMatches.share",
    name: "Exact match share",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: null,
    description:
      "Share of synthetic rows identical to some real row in every compared column; compare with the holdout's share.",
  },
  {
    key: "privacy.dcr",
    name: "Distance to closest record",
    goal: "closer to the baseline",
    range: "[0, 1]",
    sdmetrics: "the distance of DCRBaselineProtection and DCROverfittingProtection (sdmetrics dcr_utils)",
    description:
      "For sampled synthetic rows, the distance to the nearest real row: mean over columns of min(|x - y| / range, 1) for numbers and 0/1 mismatch for categories; percentiles beside the same for holdout rows (or real rows against each other).",
  },
  {
    key: "diagnostics.categories[].novelShare",
    name: "New categories",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics:
      "1 - CategoryAdherence when the real column has NULLs (without any, SDMetrics also counts a synthetic NULL as new; here NULLs are compared under nulls)",
    description:
      "Share of synthetic rows whose (non-NULL) value of a categorical column no real row has; novelValues counts the distinct new values, examples lists up to 5.",
  },
  {
    key: "diagnostics.ranges[].outsideShare",
    name: "Values outside the real range",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: "1 - BoundaryAdherence (NULLs left out likewise)",
    description:
      "Share of a numeric or date column's non-NULL synthetic values below the real minimum or above the real maximum (below and above count them).",
  },
  {
    key: "diagnostics.keys[].synth.surplusRows",
    name: "Repeated keys",
    goal: "minimize",
    range: "[0, rows]",
    sdmetrics: "KeyUniqueness = 1 - (surplusRows + nullKeys) / rows",
    description:
      "Rows of a key column (--key, or a column the profile detects as an identifier) beyond the first of each key; repeatedKeys counts the keys held by more than one row, nullKeys the NULL keys.",
  },
  {
    key: "diagnostics.nulls[].synth.share",
    name: "NULL share",
    goal: "closer to the baseline",
    range: "[0, 1]",
    sdmetrics: "MissingValueSimilarity = 1 - |real share - synthetic share|",
    description: "Share of NULLs of each compared column, synthetic beside real (real.share).",
  },
];

/** The metrics of the flows view (`--flows`), listed only when it is asked for. */
export const FLOW_METRICS: MetricInfo[] = [
  {
    key: "flows.tvd.synthReal",
    name: "Flow TVD",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: "1 - ContingencySimilarity of the two flow columns, within the filter",
    description:
      "Half the L1 distance between the real and synthetic shares of the origin x destination cells, among the rows --flows-filter keeps.",
  },
  {
    key: "flows.tvd.synthBaseline",
    name: "Flow TVD against the baseline",
    goal: "none: shows a change",
    range: "[0, 1]",
    sdmetrics: null,
    description:
      "The same between the synthetic table and --flows-baseline (e.g. the run before a tilt): how much the flows moved.",
  },
];

/** The metrics of target tables (`--target-table`), listed only when one is given. */
export const TARGET_METRICS: MetricInfo[] = [
  {
    key: "targets[].tvd",
    name: "Target TVD",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: null,
    description:
      "Half the L1 distance between a target table's cell shares (its n or share column) and the synthetic table's shares of the same cells.",
  },
  {
    key: "targets[].withinTvd",
    name: "Target TVD within conditions",
    goal: "minimize",
    range: "[0, 1]",
    sdmetrics: null,
    description:
      "The TVD of the target's last column within each value of the others (e.g. the activity mix of each time bin), averaged with the target's shares of those values as weights.",
  },
];
