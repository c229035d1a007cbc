/**
 * The mobility example's generator (examples/mobility/generate.ts): deterministic, the shipped files are
 * exactly its output, and a large sample recovers every parameter within 5 binomial standard errors.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ACTIVITIES,
  distanceKm,
  generateTimeActivity,
  generateTrips,
  MODES,
  modeProbabilities,
  odProbabilities,
  PARAMS,
  TIME_BINS,
  type Trip,
  timeActivityCsv,
  tripsCsv,
  ZONES,
} from "../examples/mobility/generate.ts";

const SIGMAS = 5;
const N = 200_000;
// One large sample shared by the statistical tests; generating it takes well under a second.
const big = generateTrips(N, 12345);
const survey = generateTimeActivity(N, 12345);

/** Asserts an observed share of `hits` in `n` is within SIGMAS binomial standard errors of `p`. */
function expectShare(hits: number, n: number, p: number, label: string): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  const observed = hits / n;
  expect(Math.abs(observed - p), `${label}: observed ${observed.toFixed(4)}, expected ${p}`).toBeLessThan(
    SIGMAS * se,
  );
}

function count(rows: readonly Trip[], keep: (t: Trip) => boolean): number {
  let c = 0;
  for (const t of rows) if (keep(t)) c++;
  return c;
}

const commercial = new Set<string>(PARAMS.commercial);

describe("the city", () => {
  it("has 16 zones 2 km apart, the 2 x 2 centre commercial", () => {
    expect(ZONES.map((z) => z.id)).toEqual(
      Array.from({ length: 16 }, (_, i) => `Z${`${i + 1}`.padStart(2, "0")}`),
    );
    expect(ZONES.filter((z) => z.kind === "commercial").map((z) => z.id)).toEqual([
      "Z06",
      "Z07",
      "Z10",
      "Z11",
    ]);
    expect(distanceKm("Z01", "Z02")).toBe(2);
    expect(distanceKm("Z01", "Z05")).toBe(2);
    expect(distanceKm("Z01", "Z16")).toBeCloseTo(6 * Math.SQRT2, 12);
  });

  it("every probability table sums to 1", () => {
    const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
    expect(sum(PARAMS.tripTime)).toBeCloseTo(1, 12);
    expect(sum(PARAMS.surveyTime)).toBeCloseTo(1, 12);
    for (const t of TIME_BINS) {
      expect(sum(PARAMS.activity[t]), t).toBeCloseTo(1, 12);
      expect(sum(odProbabilities(t).map((p) => p.p)), t).toBeCloseTo(1, 12);
    }
  });

  it("works out the logit by hand at 2 km", () => {
    // V = 2.5 - 2.8, 1.2 - 0.9, -1.0 + 0.4, 0.2 = -0.3, 0.3, -0.6, 0.2.
    const e = [-0.3, 0.3, -0.6, 0.2].map(Math.exp);
    const total = e.reduce((s, x) => s + x, 0);
    modeProbabilities(2).forEach((p, i) => {
      expect(p).toBeCloseTo((e[i] ?? 0) / total, 12);
    });
  });
});

describe("generateTrips", () => {
  it("is deterministic, seed-dependent and prefix-stable", () => {
    expect(generateTrips(300, 7)).toEqual(generateTrips(300, 7));
    expect(generateTrips(300, 7)).not.toEqual(generateTrips(300, 8));
    expect(generateTrips(1000, 7).slice(0, 100)).toEqual(generateTrips(100, 7));
    expect(() => generateTrips(-1, 1)).toThrow("n must be a non-negative integer, got -1");
  });

  it("never keeps a trip inside its zone", () => {
    expect(count(big, (t) => t.origin === t.dest)).toBe(0);
  });

  it("matches the time-bin shares", () => {
    TIME_BINS.forEach((t, i) => {
      expectShare(
        count(big, (r) => r.time_bin === t),
        N,
        PARAMS.tripTime[i] ?? Number.NaN,
        t,
      );
    });
  });

  it("sends mornings to the commercial centre and evenings home, as the gravity model says", () => {
    for (const t of TIME_BINS) {
      const inBin = big.filter((r) => r.time_bin === t);
      const p = odProbabilities(t)
        .filter((x) => commercial.has(x.dest))
        .reduce((s, x) => s + x.p, 0);
      expectShare(
        count(inBin, (r) => commercial.has(r.dest)),
        inBin.length,
        p,
        `commercial destination | ${t}`,
      );
    }
    const share = (t: string) => {
      const inBin = big.filter((r) => r.time_bin === t);
      return count(inBin, (r) => commercial.has(r.dest)) / inBin.length;
    };
    expect(share("06-09")).toBeGreaterThan(0.6);
    expect(share("18-20")).toBeLessThan(0.2);
  });

  it("matches single OD cells, including the event cell of the tilted run", () => {
    for (const [t, o, d] of [
      ["06-09", "Z01", "Z06"],
      ["18-20", "Z11", "Z16"],
      ["12-15", "Z07", "Z10"],
    ] as const) {
      const inBin = big.filter((r) => r.time_bin === t);
      const p = odProbabilities(t).find((x) => x.origin === o && x.dest === d)?.p ?? Number.NaN;
      expectShare(
        count(inBin, (r) => r.origin === o && r.dest === d),
        inBin.length,
        p,
        `${o} -> ${d} | ${t}`,
      );
    }
    const late = odProbabilities("20-24")
      .filter((x) => x.dest === "Z12")
      .reduce((s, x) => s + x.p, 0);
    expectShare(
      count(big, (r) => r.time_bin === "20-24" && r.dest === "Z12"),
      N,
      late * (PARAMS.tripTime[6] ?? 0),
      "20-24 and dest Z12",
    );
  });

  it("chooses the mode by distance as the logit says, for every distance on the grid", () => {
    const byDistance = new Map<number, Trip[]>();
    for (const r of big) {
      const d = Math.round(distanceKm(r.origin, r.dest) * 1e6) / 1e6;
      const rows = byDistance.get(d);
      if (rows) rows.push(r);
      else byDistance.set(d, [r]);
    }
    expect(byDistance.size).toBe(9);
    for (const [d, rows] of byDistance) {
      const probs = modeProbabilities(d);
      MODES.forEach((m, i) => {
        expectShare(
          count(rows, (r) => r.mode === m),
          rows.length,
          probs[i] ?? Number.NaN,
          `${m} | ${d} km`,
        );
      });
    }
    // The point of the logit: walking falls and driving rises with distance.
    expect(modeProbabilities(2)[0]).toBeGreaterThan(modeProbabilities(4)[0] ?? 1);
    expect(modeProbabilities(8)[3]).toBeGreaterThan(modeProbabilities(2)[3] ?? 1);
  });
});

describe("generateTimeActivity", () => {
  it("lists all 42 cells in order and counts every check-in once", () => {
    expect(survey).toHaveLength(42);
    expect(survey.slice(0, 2).map((r) => [r.time_bin, r.activity])).toEqual([
      ["00-06", "Home"],
      ["00-06", "Work"],
    ]);
    expect(survey.reduce((s, r) => s + r.n, 0)).toBe(N);
    expect(generateTimeActivity(500, 3)).toEqual(generateTimeActivity(500, 3));
  });

  it("matches the survey's time profile and the activity shares of every time bin", () => {
    TIME_BINS.forEach((t, i) => {
      const cells = survey.filter((r) => r.time_bin === t);
      const inBin = cells.reduce((s, r) => s + r.n, 0);
      expectShare(inBin, N, PARAMS.surveyTime[i] ?? Number.NaN, `survey ${t}`);
      ACTIVITIES.forEach((a, j) => {
        expectShare(
          cells.find((r) => r.activity === a)?.n ?? 0,
          inBin,
          PARAMS.activity[t][j] ?? Number.NaN,
          `${a} | ${t}`,
        );
      });
    });
  });
});

describe("the shipped files", () => {
  it("trips.csv is exactly generateTrips(24000, 2025)", () => {
    const shipped = readFileSync(new URL("../examples/mobility/trips.csv", import.meta.url), "utf8");
    // On failure, regenerate: npx tsx examples/mobility/generate.ts
    expect(shipped === tripsCsv(generateTrips(24000, 2025))).toBe(true);
    expect(shipped.split("\n")[0]).toBe("time_bin,origin,dest,mode");
  });

  it("time_activity.csv is exactly generateTimeActivity(10000, 2025)", () => {
    const shipped = readFileSync(new URL("../examples/mobility/time_activity.csv", import.meta.url), "utf8");
    expect(shipped).toBe(timeActivityCsv(generateTimeActivity(10000, 2025)));
    expect(shipped.split("\n")[0]).toBe("time_bin,activity,n");
  });
});
