/**
 * Verdicts: what a headline figure means against its real floor, in three words. Every figure is turned
 * into an *excess*: how far it is beyond what real data itself gives (two real samples, chance, a model
 * trained on real rows, fresh real rows), as a share of rows. The thresholds below are the only place the
 * words are decided; docs/eval.md ("Verdicts") says why each is where it is.
 */
import type { DetectionResult } from "./detection.ts";
import type { FidelityResult } from "./fidelity.ts";
import { FLOOR_MIN_ROWS, type RealFloor } from "./floor.ts";
import type { PrivacyResult } from "./privacy.ts";
import type { UtilityResult } from "./utility.ts";

export type VerdictWord = "as real" | "close" | "off";

/**
 * The excess over the real floor, as a share of rows, up to which a figure reads "as real" or "close";
 * beyond `close` it is "off". Every excess is a share of rows: a TVD is the share of rows that would have
 * to change value, an accuracy the share of rows classified right, a privacy figure a share of synthetic
 * rows. `rows` serves fidelity, detection and utility: 2% of rows is below what a reader notices in a bar
 * chart or a cross-table, 5% is a visible shift (a 50% share read as 45%). `privacy` is stricter: a
 * synthetic row that copies a real one more than fresh real rows do is a disclosure whatever the size, so
 * only a figure at or below its floor reads "as real", and 2% of rows beyond it is already "off".
 */
export const VERDICT_THRESHOLDS = {
  rows: { asReal: 0.02, close: 0.05 },
  privacy: { asReal: 0, close: 0.02 },
} as const;

export type ThresholdFamily = keyof typeof VERDICT_THRESHOLDS;

/** Sampling noise allowance: a figure within this many standard errors of its floor is at the floor. */
export const NOISE_SE = 2;

/** A figure whose real floor is known, with its verdict. */
export interface Verdict {
  /** The JSON key of the figure (as in `metrics`). */
  key: string;
  label: string;
  value: number;
  /** The same figure on real data, on the value's scale. */
  floor: number;
  /** Where the floor comes from, in words. */
  floorSource: string;
  /** How far the value is beyond the floor, as a share of rows (0 when at or better than the floor). */
  excess: number;
  word: VerdictWord;
  /** What the word means for this figure. */
  meaning: string;
}

/** A column's TVD beside its real floor. */
export interface ColumnVerdict {
  column: string;
  tvd: number;
  /** The TVD two real samples of the real and synthetic tables' sizes show (scaled, see RealFloor). */
  floor: number;
  excess: number;
  word: VerdictWord;
}

export interface Verdicts {
  thresholds: typeof VERDICT_THRESHOLDS;
  /** The fidelity floor used, or null (then fidelity figures carry no verdict, and `why` says so). */
  floor: { source: RealFloor["source"]; rows: RealFloor["rows"]; scale: number } | null;
  why: string | null;
  headline: Verdict[];
  /** Every compared column, the largest excess first. */
  columns: ColumnVerdict[];
}

/** The word for an excess (share of rows beyond the floor). */
export function verdictWord(excess: number, family: ThresholdFamily = "rows"): VerdictWord {
  const t = VERDICT_THRESHOLDS[family];
  if (excess <= t.asReal) return "as real";
  if (excess <= t.close) return "close";
  return "off";
}

const MEANINGS: Record<string, Record<VerdictWord, string>> = {
  fidelity: {
    "as real": "differs from the real table no more than two real samples do",
    close: "differs a little more than two real samples do",
    off: "differs from the real table beyond what sampling explains",
  },
  detection: {
    "as real": "indistinguishable: the classifier does no better than chance",
    close: "nearly indistinguishable",
    off: "distinguishable: a classifier tells synthetic rows from real ones",
  },
  utility: {
    "as real": "a model trained on synthetic rows predicts as well as one trained on real rows",
    close: "a model trained on synthetic rows loses a little accuracy",
    off: "a model trained on synthetic rows loses accuracy",
  },
  copies: {
    "as real": "copies real rows no more often than fresh real rows match them",
    close: "copies real rows a little more often than fresh real rows match them",
    off: "copies real rows",
  },
  closeness: {
    "as real": "synthetic rows are no closer to real rows than fresh real rows are",
    close: "synthetic rows are a little closer to real rows than fresh real rows are",
    off: "synthetic rows sit closer to real rows than fresh real rows do",
  },
};

function verdict(
  family: keyof typeof MEANINGS,
  base: Omit<Verdict, "word" | "meaning" | "excess">,
  excess: number,
): Verdict {
  const clipped = Math.max(0, excess);
  const word = verdictWord(clipped, family === "copies" || family === "closeness" ? "privacy" : "rows");
  return { ...base, excess: clipped, word, meaning: MEANINGS[family]?.[word] ?? "" };
}

/**
 * Judges the headline figures and every column against their floors.
 *
 * @example judge({ fidelity, floor, detection, utility, privacy }).headline[0]
 * // { key: "fidelity.scores.quality", value: 0.91, floor: 0.97, word: "off", ... }
 */
export function judge(parts: {
  fidelity: FidelityResult;
  floor: RealFloor | null;
  detection: DetectionResult | null;
  utility: UtilityResult | null;
  privacy: PrivacyResult | null;
}): Verdicts {
  const { fidelity, floor, detection, utility, privacy } = parts;
  const headline: Verdict[] = [];
  const floorSource =
    floor?.source === "holdout" ? "real vs holdout" : "one half of the real table vs the other";
  if (floor) {
    const scores = [
      ["fidelity.scores.quality", "quality score", "quality"],
      ["fidelity.scores.columnShapes", "column shapes", "columnShapes"],
      ["fidelity.scores.columnPairTrends", "column pair trends", "columnPairTrends"],
    ] as const;
    for (const [key, label, field] of scores) {
      const value = fidelity.scores[field];
      const real = floor.fidelity.scores[field];
      if (value === null || real === null) continue;
      // Scores are 1 - a distance: the floor's distance is scaled to these tables' sizes.
      const floorDistance = Math.min(1, (1 - real) * floor.scale);
      headline.push(
        verdict(
          "fidelity",
          { key, label, value, floor: 1 - floorDistance, floorSource },
          1 - value - floorDistance,
        ),
      );
    }
  }
  for (const m of detection?.models ?? []) {
    // Accuracy over 2 x rows held-out predictions; at chance its standard error is sqrt(0.25 / (2 rows)).
    const noise = NOISE_SE * Math.sqrt(0.25 / (2 * Math.max(1, detection?.rows ?? 1)));
    headline.push(
      verdict(
        "detection",
        {
          key: "detection.models[].accuracy",
          label: `C2ST accuracy, ${m.model.replaceAll("_", " ")}`,
          value: m.accuracy,
          floor: 0.5,
          floorSource: `chance (two real samples), ± ${round(noise)} sampling noise`,
        },
        m.gap - noise,
      ),
    );
  }
  const rf = utility?.models.find((m) => m.model === "random_forest") ?? utility?.models[0];
  if (utility && rf) {
    headline.push(
      verdict(
        "utility",
        {
          key: "utility.models[].synth.accuracy",
          label: `accuracy on ${utility.target}, ${rf.model.replaceAll("_", " ")} trained on synthetic rows`,
          value: rf.synth.accuracy,
          floor: rf.real.accuracy,
          floorSource: "the same model trained on real rows",
        },
        rf.real.accuracy - rf.synth.accuracy,
      ),
    );
  }
  const exact = privacy?.exactMatches.share;
  const fresh = privacy?.holdoutExactMatches?.share;
  if (exact !== null && exact !== undefined && fresh !== null && fresh !== undefined) {
    headline.push(
      verdict(
        "copies",
        {
          key: "privacy.exactMatches.share",
          label: "synthetic rows identical to a real row",
          value: exact,
          floor: fresh,
          floorSource: "holdout rows identical to a real row",
        },
        exact - fresh,
      ),
    );
  }
  const dcr = privacy?.dcr;
  if (dcr) {
    // Without copying, about 5% of synthetic rows fall below the baseline's 5th percentile. No noise
    // allowance: privacy verdicts are strict (see VERDICT_THRESHOLDS).
    headline.push(
      verdict(
        "closeness",
        {
          key: "privacy.dcr.closerThanBaselineP05",
          label: "synthetic rows closer to a real row than the baseline's 5th percentile",
          value: dcr.closerThanBaselineP05,
          floor: 0.05,
          floorSource: `${dcr.baselineKind === "holdout" ? "holdout rows" : "real rows against the others"}: 5% by definition`,
        },
        dcr.closerThanBaselineP05 - 0.05,
      ),
    );
  }
  const floorColumns = new Map((floor?.fidelity.columns ?? []).map((c) => [c.column, c.tvd]));
  const columns: ColumnVerdict[] = floor
    ? fidelity.columns
        .map((c) => {
          const f = Math.min(1, (floorColumns.get(c.column) ?? 0) * floor.scale);
          const excess = Math.max(0, c.tvd - f);
          return { column: c.column, tvd: c.tvd, floor: f, excess, word: verdictWord(excess) };
        })
        .sort((x, y) => y.excess - x.excess || y.tvd - x.tvd || (x.column < y.column ? -1 : 1))
    : [];
  return {
    thresholds: VERDICT_THRESHOLDS,
    floor: floor ? { source: floor.source, rows: floor.rows, scale: floor.scale } : null,
    why: floor
      ? null
      : `fewer than ${FLOOR_MIN_ROWS} rows in a real sample (the holdout, or each half of the real table without one): too few to measure what sampling alone gives`,
    headline,
    columns,
  };
}

function round(x: number): number {
  return Number(x.toPrecision(2));
}
