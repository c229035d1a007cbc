/**
 * Privacy checks on the fixture tables (test/fixtures/eval), against independent computations made once
 * in Python: sdmetrics.single_table.privacy.dcr_utils.calculate_dcr(synth, real, metadata) (and the same
 * for holdout) with metadata age, income numerical, joined datetime, the others categorical, then
 * numpy.percentile(dcr, [0, 5, 25, 50, 75, 95]) and dcr.mean(); exact matches by comparing rows as text.
 * Three synthetic rows (11, 21, 31) were copied from real rows when the fixture was made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { evaluatePrivacy } from "../src/evaluate/privacy.ts";
import type { ColumnProfile } from "../src/profile.ts";
import { loadPair } from "./fixtures/eval/load.ts";

const SDMETRICS_DCR = {
  synth: [
    0.0, 0.008899386402566194, 0.04331831630700239, 0.06821497061266629, 0.09584255135598292,
    0.21589658138197362,
  ],
  synthMean: 0.08162845741863131,
  holdout: [
    0.008618879518895542, 0.024065057058718663, 0.041924742950154574, 0.054730816144632655,
    0.07813425553320555, 0.17118851711167846,
  ],
  holdoutMean: 0.06953495555445971,
};

let db: Db;
let profiles: ColumnProfile[];
beforeAll(async () => {
  ({ db, profiles } = await loadPair());
});
afterAll(() => db?.close());

describe("evaluatePrivacy", () => {
  it("finds the copied rows and measures DCR as SDMetrics does", async () => {
    const p = await evaluatePrivacy(db, { real: "real", synth: "synth", holdout: "holdout", profiles });
    expect(p.exactMatches).toEqual({ rows: 100, matches: 3, share: 0.03 });
    expect(p.holdoutExactMatches).toEqual({ rows: 50, matches: 0, share: 0 });
    const d = p.dcr;
    expect(d?.baselineKind).toBe("holdout");
    const percentiles = (x: {
      min: number;
      p05: number;
      p25: number;
      p50: number;
      p75: number;
      p95: number;
    }) => [x.min, x.p05, x.p25, x.p50, x.p75, x.p95];
    const synthDcr = percentiles(d?.synth ?? { min: 0, p05: 0, p25: 0, p50: 0, p75: 0, p95: 0 });
    const holdoutDcr = percentiles(d?.baseline ?? { min: 0, p05: 0, p25: 0, p50: 0, p75: 0, p95: 0 });
    for (let i = 0; i < 6; i++) {
      expect(synthDcr[i]).toBeCloseTo(SDMETRICS_DCR.synth[i] ?? Number.NaN, 12);
      expect(holdoutDcr[i]).toBeCloseTo(SDMETRICS_DCR.holdout[i] ?? Number.NaN, 12);
    }
    expect(d?.synth.mean).toBeCloseTo(SDMETRICS_DCR.synthMean, 12);
    expect(d?.baseline.mean).toBeCloseTo(SDMETRICS_DCR.holdoutMean, 12);
    expect(d?.zeroShare).toBe(0.03);
    expect(p.warnings).toEqual([
      "synthetic rows are closer to real rows than holdout rows are: DCR 5th percentile 0.0089 vs 0.0241, median 0.0682 vs 0.0547; some rows may be copies",
      "3 synthetic rows (3%) are identical to a real row (holdout rows: 0%)",
    ]);
  });

  it("without a holdout, compares with real rows against the other real rows", async () => {
    const p = await evaluatePrivacy(db, { real: "real", synth: "holdout", profiles, sample: 30 });
    expect(p.dcr?.baselineKind).toBe("real");
    expect(p.dcr?.synth.n).toBe(30);
    expect(p.dcr?.baseline.n).toBe(30);
    // A real row is never its own neighbour: the real table has no duplicate rows.
    expect(p.dcr?.baseline.min).toBeGreaterThan(0);
    expect(p.holdoutExactMatches).toBeNull();
  });

  it("warns when the synthetic table is the real one", async () => {
    const p = await evaluatePrivacy(db, { real: "real", synth: "real", profiles });
    expect(p.exactMatches.share).toBe(1);
    expect(p.dcr?.synth.p95).toBe(0);
    expect(p.warnings[0]).toMatch(/^synthetic rows are closer to real rows than real rows are to each other/);
    expect(p.warnings[1]).toBe("100 synthetic rows (100%) are identical to a real row");
  });
});
