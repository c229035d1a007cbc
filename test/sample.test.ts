import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { profileColumns } from "../src/profile.ts";
import type { ProposalValue, ValidProposal } from "../src/proposals.ts";
import { cdf, createSyntheticModel, type SampleOptions, sampleProposals } from "../src/sample.ts";
import { readSource } from "../src/source.ts";
import { type Summary, summarizeTable } from "../src/summarize.ts";

// 1000 rows. skew = 100 (i/999)^3 piles up near 0: half the values are below 12.5, a uniform draw over
// [0, 100] would put half below 50. qty: whole numbers 0 ... 49, 20 rows each. tag and maybe have NULLs.
const TABLE = `
select
    ['Red', 'Green', 'Blue'][range % 3 + 1] as color,
    case when range % 4 = 0 then null else ['a', 'b'][range % 2 + 1] end as tag,
    100 * pow(range / 999, 3) as skew,
    (range % 50)::integer as qty,
    case when range % 5 = 0 then null else range * 0.37 end::double as maybe
from range(1000)`;

async function setUp(threads: number): Promise<{ db: Db; summary: Summary }> {
  const db = await Db.open(":memory:", { threads });
  const source = await readSource(db, { kind: "sql", sql: TABLE });
  const summary = await summarizeTable(db, source, await profileColumns(db, source, {}));
  await createSyntheticModel(db, summary);
  return { db, summary };
}

let db: Db;
let summary: Summary;
beforeAll(async () => {
  ({ db, summary } = await setUp(2));
});
afterAll(() => db?.close());

const base: Record<string, ProposalValue> = {
  color: "Red",
  tag: "a",
  skew: [0, 100],
  qty: [0, 49],
  maybe: [0.37, 369.63],
};

function proposal(values: Record<string, ProposalValue>, num: number): ValidProposal {
  return { reason: "test", values: { ...base, ...values }, num };
}

interface Drawn {
  color: string | null;
  tag: string | null;
  skew: number | null;
  qty: number | null;
  maybe: number | null;
  __synthor_iteration: number;
  __synthor_proposal: number;
  __synthor_row: number;
}

// Each call gets an iteration of its own unless the test pins one, so batches never share draws by accident.
let nextIteration = 1000;

/** Samples proposals and returns the batch's rows in model space, in the order they were drawn. */
async function draw(
  proposals: ValidProposal[],
  options: Partial<SampleOptions> = {},
  on: { db: Db; summary: Summary } = { db, summary },
): Promise<Drawn[]> {
  const added = await sampleProposals(on.db, on.summary, proposals, {
    seed: 7,
    iteration: nextIteration++,
    ...options,
  });
  const rows = await on.db.all<Drawn & Record<string, unknown>>(
    "from synthor_batch order by __synthor_proposal, __synthor_row",
  );
  expect(added).toBe(rows.length);
  return rows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function values(rows: Drawn[], column: "skew" | "qty" | "maybe"): number[] {
  return rows.map((r) => r[column] as number);
}

/** The real values of skew in the right-closed range (lo, hi] (the minimum included), sorted. */
async function realSkew(lo: number, hi: number): Promise<number[]> {
  const rows = await db.all<{ v: number }>(
    "select skew as v from synthor_real_model where (skew > $lo or skew = (select min(skew) from synthor_real_model)) and skew <= $hi order by v",
    { lo, hi },
  );
  return rows.map((r) => r.v);
}

describe("sampleProposals", () => {
  it("draws num rows per proposal, numbered from 0, and returns how many it added", async () => {
    const rows = await draw([proposal({}, 3), proposal({ color: "Blue" }, 7), proposal({}, 1)]);
    const perProposal = new Map<number, number[]>();
    for (const r of rows)
      perProposal.set(r.__synthor_proposal, [
        ...(perProposal.get(r.__synthor_proposal) ?? []),
        r.__synthor_row,
      ]);
    expect([...perProposal.entries()]).toEqual([
      [0, [0, 1, 2]],
      [1, [0, 1, 2, 3, 4, 5, 6]],
      [2, [0]],
    ]);
  });

  it("adds nothing for no proposals", async () => {
    expect(await sampleProposals(db, summary, [], { seed: 7, iteration: 1 })).toBe(0);
  });

  it("gives every row the proposal's categories and a value inside each numeric range", async () => {
    const p = [
      proposal({ color: "Green", tag: "b", skew: [5, 20], qty: [10, 20], maybe: [50, 60] }, 200),
      proposal({ color: "Blue", tag: "a", skew: [60, 100], qty: [40, 49], maybe: [300, 369.63] }, 200),
    ];
    const rows = await draw(p);
    for (const r of rows) {
      const q = p[r.__synthor_proposal]?.values as Record<string, [number, number] | string>;
      expect([r.color, r.tag]).toEqual([q.color, q.tag]);
      for (const c of ["skew", "qty", "maybe"] as const) {
        const [lo, hi] = q[c] as [number, number];
        expect(r[c]).toBeGreaterThanOrEqual(lo);
        expect(r[c]).toBeLessThanOrEqual(hi);
      }
    }
  });

  it("appends the rows to the synthetic table and their counts to the count tables", async () => {
    const before = await db.all<{ n: number }>("select count(*)::integer as n from synthor_synth_model");
    const counted = async () =>
      db.all<{ unit: string; n: number }>(
        "select unit, sum(n)::integer as n from synthor_synth_counts group by unit order by unit",
      );
    const countsBefore = await counted();
    await draw([proposal({}, 25), proposal({ tag: null }, 5)]);
    const after = await db.all<{ n: number }>("select count(*)::integer as n from synthor_synth_model");
    expect((after[0]?.n ?? 0) - (before[0]?.n ?? 0)).toBe(30);
    const countsAfter = await counted();
    const units = [...summary.marginals, ...summary.groups, ...summary.fineUnits].map((u) => u.id);
    expect(countsAfter.map((c) => c.unit)).toEqual(units.sort());
    for (const c of countsAfter) {
      const was = countsBefore.find((b) => b.unit === c.unit)?.n ?? 0;
      expect(c.n - was, c.unit).toBe(30);
    }
  });

  it("gives NULL for a NULL proposal, categorical or numeric", async () => {
    const rows = await draw([proposal({ tag: null, maybe: null }, 50)]);
    expect(rows.every((r) => r.tag === null && r.maybe === null)).toBe(true);
    expect(rows.every((r) => r.color === "Red" && r.skew !== null && r.qty !== null)).toBe(true);
  });

  it.each(["quantile", "uniform"] as const)("gives the point of a point range (%s)", async (withinRange) => {
    const rows = await draw([proposal({ skew: [42.5, 42.5], qty: [7, 7], maybe: [0.37, 0.37] }, 20)], {
      withinRange,
    });
    expect(new Set(rows.map((r) => `${r.skew} ${r.qty} ${r.maybe}`))).toEqual(new Set(["42.5 7 0.37"]));
  });

  it.each(["quantile", "uniform"] as const)(
    "keeps whole-number columns whole and inside the right-closed range (%s)",
    async (withinRange) => {
      // qty's main bins are right-closed, (8, 16]: 8 belongs to the bin below, so a draw never gives it.
      const rows = await draw([proposal({ qty: [8, 16] }, 800)], { withinRange });
      const qty = values(rows, "qty");
      expect(qty.every(Number.isInteger)).toBe(true);
      expect([...new Set(qty)].sort((a, b) => a - b)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
      // Each of the 8 values holds 20 real rows, so each should get 1/8 of the draws: 100 of 800, binomial
      // sd 9.4; 40 is over 4 sd.
      for (const v of [9, 10, 11, 12, 13, 14, 15, 16]) {
        expect(Math.abs(qty.filter((x) => x === v).length - 100), `qty ${v}`).toBeLessThan(40);
      }
    },
  );

  it.each(["quantile", "uniform"] as const)(
    "includes the minimum of a whole-number column in a range that starts at it (%s)",
    async (withinRange) => {
      // Like the first main bin, [0, 3] is closed: 0, 1, 2 and 3 each hold 20 real rows, 1/4 of the range.
      const qty = values(await draw([proposal({ qty: [0, 3] }, 800)], { withinRange }), "qty");
      expect(qty.every((x) => Number.isInteger(x) && x >= 0 && x <= 3)).toBe(true);
      // 200 of 800 each, binomial sd 12.2; 50 is 4 sd.
      for (const v of [0, 1, 2, 3]) {
        expect(Math.abs(qty.filter((x) => x === v).length - 200), `qty ${v}`).toBeLessThan(50);
      }
    },
  );

  describe("within a range", () => {
    const N = 2000;
    /**
     * Four standard deviations of the median of N draws, sd = 1 / (2 f(m) sqrt(N)), with the density f at
     * the median estimated from the real values around it (the 45th to 55th percentile hold 10% of them).
     */
    function medianTolerance(real: number[]): number {
      const at = (q: number) => real[Math.floor(q * (real.length - 1))] as number;
      const density = 0.1 / (at(0.55) - at(0.45));
      return 4 / (2 * density * Math.sqrt(N));
    }

    it.each<[number, number]>([
      [0, 100],
      [10, 60],
    ])("follows the real distribution by default: [%s, %s]", async (lo, hi) => {
      const real = await realSkew(lo, hi);
      const realMedian = median(real);
      const tolerance = medianTolerance(real);
      // The test tells the modes apart: the uniform draw's median (the range's midpoint) is far outside it.
      expect(Math.abs((lo + hi) / 2 - realMedian)).toBeGreaterThan(3 * tolerance);
      const drawn = values(await draw([proposal({ skew: [lo, hi] }, N)]), "skew");
      expect(Math.abs(median(drawn) - realMedian)).toBeLessThan(tolerance);
      // And beyond the median: the share below the real quartiles, within 4 binomial sd (0.039).
      for (const q of [0.25, 0.75]) {
        const x = real[Math.floor(q * (real.length - 1))] as number;
        const share = drawn.filter((v) => v <= x).length / N;
        expect(Math.abs(share - q), `share below the real ${q} quantile`).toBeLessThan(0.04);
      }
    });

    it.each<[number, number]>([
      [0, 100],
      [10, 60],
    ])("is flat with withinRange uniform: [%s, %s]", async (lo, hi) => {
      const drawn = values(await draw([proposal({ skew: [lo, hi] }, N)], { withinRange: "uniform" }), "skew");
      // Five equal slices of the range get 1/5 of the draws each: binomial sd 0.009, tolerance 4 sd.
      const width = (hi - lo) / 5;
      for (let k = 0; k < 5; k++) {
        const share = drawn.filter((v) => v >= lo + k * width && v < lo + (k + 1) * width).length / N;
        expect(Math.abs(share - 0.2), `slice ${k}`).toBeLessThan(0.036);
      }
      // sd of a uniform median: (hi - lo) / (2 sqrt(N)); 4 sd.
      expect(Math.abs(median(drawn) - (lo + hi) / 2)).toBeLessThan((4 * (hi - lo)) / (2 * Math.sqrt(N)));
    });
  });

  describe("randomness", () => {
    const batch = [proposal({}, 30), proposal({ qty: [10, 40], tag: null }, 30)];

    it("is the same for the same seed and iteration", async () => {
      const a = await draw(batch, { seed: 3, iteration: 5 });
      const b = await draw(batch, { seed: 3, iteration: 5 });
      expect(b).toEqual(a);
    });

    it("differs between iterations and between seeds", async () => {
      const a = values(await draw(batch, { seed: 3, iteration: 5 }), "skew");
      const otherIteration = values(await draw(batch, { seed: 3, iteration: 6 }), "skew");
      const otherSeed = values(await draw(batch, { seed: 4, iteration: 5 }), "skew");
      // Continuous draws: any coincidence would mean the stream did not change.
      expect(otherIteration.filter((x, i) => x === a[i])).toEqual([]);
      expect(otherSeed.filter((x, i) => x === a[i])).toEqual([]);
    });

    it("does not depend on DuckDB's thread count", async () => {
      const single = await setUp(1);
      const many = await setUp(4);
      try {
        const big = [proposal({}, 3000), proposal({ skew: [1, 50], qty: [5, 45] }, 3000)];
        const a = await draw(big, { seed: 11, iteration: 2 }, single);
        const b = await draw(big, { seed: 11, iteration: 2 }, many);
        expect(b).toEqual(a);
      } finally {
        single.db.close();
        many.db.close();
      }
    });
  });
});

describe("cdf", () => {
  const grid = [0, 1, 2, 3, 4];

  it("is 0 below the grid and 1 at its top and above", () => {
    expect([cdf(grid, -1), cdf(grid, 0), cdf(grid, 4), cdf(grid, 100)]).toEqual([0, 0, 1, 1]);
  });

  it("interpolates linearly between quantiles", () => {
    expect([cdf(grid, 0.5), cdf(grid, 1), cdf(grid, 2.5), cdf(grid, 3.75)]).toEqual([
      0.125, 0.25, 0.625, 0.9375,
    ]);
    expect(cdf([10, 20, 40], 30)).toBe(0.75);
  });

  it("at a tied value gives the share at or below it, like a right-closed bin", () => {
    // Half of the distribution sits on 5 (the grid holds 5 at 1/4, 2/4 and 3/4).
    const tied = [0, 5, 5, 5, 10];
    expect(cdf(tied, 5)).toBe(0.75);
    expect(cdf(tied, 2.5)).toBe(0.125);
    expect(cdf(tied, 5 - 1e-9)).toBeCloseTo(0.25, 8);
    expect(cdf(tied, 7.5)).toBe(0.875);
    // So the range (5, 10] holds the quarter above 5, and (0, 5] the three quarters at or below.
    expect(cdf(tied, 10) - cdf(tied, 5)).toBe(0.25);
  });

  it("handles a constant grid and grids too short to interpolate", () => {
    expect([cdf([3, 3, 3], 2), cdf([3, 3, 3], 3), cdf([3, 3, 3], 4)]).toEqual([0, 1, 1]);
    expect([cdf([7], 0), cdf([], 0)]).toEqual([1, 1]);
  });

  it("is the inverse of synthor_inverse_cdf, which the sampler draws through", async () => {
    const skewGrid = summary.columns.find((c) => c.name === "skew")?.grid ?? [];
    const xs = [0.001, 0.5, 3, 12.5, 27.9, 50, 77.7, 99.99];
    const rows = await db.all<{ x: number }>(
      "select synthor_inverse_cdf((select grid from synthor_grid where \"column\" = 'skew'), unnest($qs::double[])) as x",
      { qs: `[${xs.map((x) => cdf(skewGrid, x)).join(",")}]` },
    );
    rows.forEach((r, i) => {
      expect(r.x).toBeCloseTo(xs[i] as number, 9);
    });
  });
});
