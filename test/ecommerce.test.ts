import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AGE_GROUPS,
  ageGroup,
  CSV_COLUMNS,
  csvField,
  discountPropensity,
  discountScore,
  type EcommerceRow,
  GENDERS,
  generateEcommerce,
  LOCATION_TIERS,
  lifetimeValueBand,
  lifetimeValueScore,
  PARAMS,
  PRODUCT_CATEGORIES,
  toCsv,
} from "../examples/ecommerce/generate.ts";

const SIGMAS = 5;
const N = 200_000;
// One large sample shared by the statistical tests; generating it takes ~0.2 s.
const big = generateEcommerce(N, 12345);

function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

// erfc by the Chebyshev fit of Numerical Recipes (relative error < 1.2e-7), far below the test tolerances.
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(poly);
  return x >= 0 ? r : 2 - r;
}

function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

// Values are rounded to 2 decimals before the truncation check, so a raw draw x is kept iff
// round(x) in [lo, hi], i.e. x in [lo - 0.005, hi + 0.005); group boundaries shift the same way.
const HALF_CENT = 0.005;

function truncatedNormalMoments(
  mu: number,
  sd: number,
  lo: number,
  hi: number,
): { mean: number; sd: number } {
  const a = (lo - mu) / sd;
  const b = (hi - mu) / sd;
  const z = normalCdf(b) - normalCdf(a);
  const r = (normalPdf(a) - normalPdf(b)) / z;
  const variance = sd * sd * (1 + (a * normalPdf(a) - b * normalPdf(b)) / z - r * r);
  return { mean: mu + sd * r, sd: Math.sqrt(variance) };
}

function mixtureMass(lo: number, hi: number): number {
  const { weights, means, sds } = PARAMS.age;
  let mass = 0;
  for (let k = 0; k < weights.length; k++) {
    const mu = means[k] ?? 0;
    const sd = sds[k] ?? 1;
    mass += (weights[k] ?? 0) * (normalCdf((hi - mu) / sd) - normalCdf((lo - mu) / sd));
  }
  return mass;
}

/** p(age group) under the mixture truncated as a whole to [18, 90]. */
function ageGroupProbabilities(): Record<(typeof AGE_GROUPS)[number], number> {
  const lo = PARAMS.age.lower - HALF_CENT;
  const hi = PARAMS.age.upper + HALF_CENT;
  const total = mixtureMass(lo, hi);
  return {
    young: mixtureMass(lo, 35 - HALF_CENT) / total,
    middle: mixtureMass(35 - HALF_CENT, 55 - HALF_CENT) / total,
    old: mixtureMass(55 - HALF_CENT, hi) / total,
  };
}

/** Asserts an observed share of `hits` in `n` is within SIGMAS binomial standard errors of `p`. */
function expectShare(hits: number, n: number, p: number, label: string): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  const observed = hits / n;
  expect(Math.abs(observed - p), `${label}: observed ${observed.toFixed(4)}, expected ${p}`).toBeLessThan(
    SIGMAS * se,
  );
}

function count(rows: readonly EcommerceRow[], keep: (row: EcommerceRow) => boolean): number {
  let c = 0;
  for (const row of rows) if (keep(row)) c++;
  return c;
}

describe("generateEcommerce determinism", () => {
  it("returns identical rows for the same seed", () => {
    expect(generateEcommerce(500, 7)).toEqual(generateEcommerce(500, 7));
  });

  it("returns different rows for a different seed", () => {
    expect(generateEcommerce(500, 7)).not.toEqual(generateEcommerce(500, 8));
  });

  it("is prefix-stable: the first k rows do not depend on n", () => {
    expect(generateEcommerce(1000, 7).slice(0, 100)).toEqual(generateEcommerce(100, 7));
  });

  it("rejects a bad row count", () => {
    expect(() => generateEcommerce(-1, 1)).toThrow("n must be a non-negative integer, got -1");
    expect(generateEcommerce(0, 1)).toEqual([]);
  });
});

describe("generateEcommerce recovers the Appendix A.1 parameters", () => {
  it("keeps age in [18, 90] and price in [0, 2000], both at 2 decimals", () => {
    // Counting instead of one expect per row keeps 200,000 rows fast.
    const isCents = (x: number): boolean => Math.round(x * 100) / 100 === x;
    expect(count(big, (r) => r.user_age < 18 || r.user_age > 90)).toBe(0);
    expect(count(big, (r) => r.price < 0 || r.price > 2000)).toBe(0);
    expect(count(big, (r) => !isCents(r.user_age) || !isCents(r.price))).toBe(0);
    // Truncation must bite without piling up mass at the bounds.
    expect(count(big, (r) => r.user_age < 18.1)).toBeGreaterThan(0);
    expect(count(big, (r) => r.user_age > 85)).toBeGreaterThan(0);
    expect(count(big, (r) => r.price > 1990)).toBeGreaterThan(0);
  });

  it("matches the gender and location-tier marginals", () => {
    expectShare(
      count(big, (r) => r.gender === "Male"),
      N,
      0.45,
      "Male",
    );
    expectShare(
      count(big, (r) => r.location_tier === "Developed"),
      N,
      0.4,
      "Developed",
    );
  });

  it("matches the age-group shares of the truncated mixture", () => {
    const expected = ageGroupProbabilities();
    for (const g of AGE_GROUPS) {
      expectShare(
        count(big, (r) => ageGroup(r.user_age) === g),
        N,
        expected[g],
        `age group ${g}`,
      );
    }
  });

  it("matches the payment CPT within each location tier", () => {
    for (const tier of LOCATION_TIERS) {
      const inTier = big.filter((r) => r.location_tier === tier);
      expectShare(
        count(inTier, (r) => r.payment_method === "Online Payment"),
        inTier.length,
        PARAMS.payment[tier][0] ?? Number.NaN,
        `Online | ${tier}`,
      );
    }
  });

  it("matches the category CPT in every (age group, gender) cell", () => {
    // The brief asks for at least young/Male and old/Female; all six cells are as cheap.
    for (const g of AGE_GROUPS) {
      for (const sex of GENDERS) {
        const cell = big.filter((r) => ageGroup(r.user_age) === g && r.gender === sex);
        expect(cell.length).toBeGreaterThan(1000);
        PRODUCT_CATEGORIES.forEach((c, i) => {
          expectShare(
            count(cell, (r) => r.product_category === c),
            cell.length,
            PARAMS.category[g][sex][i] ?? Number.NaN,
            `${c} | ${g}, ${sex}`,
          );
        });
      }
    }
  });

  it("matches the category marginal implied by the age mixture and the CPT", () => {
    const pg = ageGroupProbabilities();
    PRODUCT_CATEGORIES.forEach((c, i) => {
      let p = 0;
      for (const g of AGE_GROUPS) {
        GENDERS.forEach((sex, j) => {
          p += pg[g] * (PARAMS.gender[j] ?? 0) * (PARAMS.category[g][sex][i] ?? 0);
        });
      }
      expectShare(
        count(big, (r) => r.product_category === c),
        N,
        p,
        c,
      );
    });
  });

  it("has the truncated-normal mean price in each category", () => {
    for (const c of PRODUCT_CATEGORIES) {
      const prices = big.filter((r) => r.product_category === c).map((r) => r.price);
      const { mu, sd } = PARAMS.price[c];
      const m = truncatedNormalMoments(mu, sd, PARAMS.priceLower - HALF_CENT, PARAMS.priceUpper + HALF_CENT);
      const observed = prices.reduce((s, x) => s + x, 0) / prices.length;
      const se = m.sd / Math.sqrt(prices.length);
      expect(Math.abs(observed - m.mean), `${c}: observed ${observed}, expected ${m.mean}`).toBeLessThan(
        SIGMAS * se,
      );
    }
  });
});

describe("derived variables", () => {
  it("discountPropensity on hand-worked rows", () => {
    // Apparel at its mean price: z = 0, tanh 0 = 0; age 85: 0.01 * 50^2 / 100 = 0.25;
    // COD +0.5, Developing +0.3 => S = 1.05 > 1 => High.
    const high = {
      user_age: 85,
      location_tier: "Developing",
      product_category: "Apparel",
      price: 100,
      payment_method: "Cash on Delivery",
    } as const;
    expect(discountScore(high)).toBeCloseTo(1.05, 12);
    expect(discountPropensity(high)).toBe("High");

    // Food & Beverages at 100: z = 0; age 45: 0.01 * 10^2 / 100 = 0.01; +0.5 +0.3 => S = 0.81 => Mid.
    const mid = { ...high, user_age: 45, product_category: "Food & Beverages" } as const;
    expect(discountScore(mid)).toBeCloseTo(0.81, 12);
    expect(discountPropensity(mid)).toBe("Mid");

    // Electronics at 1800: z = (1800 - 800) / 1000 = 1, tanh 1 = 0.7615942; age 35: 0;
    // Online, Developed: 0 => S = -0.7615942 => Mid (not below -1).
    const expensive = {
      user_age: 35,
      location_tier: "Developed",
      product_category: "Electronics",
      price: 1800,
      payment_method: "Online Payment",
    } as const;
    expect(discountScore(expensive)).toBeCloseTo(-0.7615942, 6);
    expect(discountPropensity(expensive)).toBe("Mid");
  });

  it("never yields Low discount propensity: S > -tanh(z) > -1 because the other terms are >= 0", () => {
    expect(count(big, (r) => discountPropensity(r) === "Low")).toBe(0);
    expect(count(big, (r) => discountPropensity(r) === "High")).toBeGreaterThan(0);
  });

  it("lifetimeValueBand on hand-worked rows", () => {
    // Electronics 400, age 35, Online: sqrt(400) = 20; 20 * 1.2 / (log 1 + 1) = 24; * 1.3 = 31.2 > 20 => High.
    const high = {
      user_age: 35,
      product_category: "Electronics",
      price: 400,
      payment_method: "Online Payment",
    } as const;
    expect(lifetimeValueScore(high)).toBeCloseTo(31.2, 12);
    expect(lifetimeValueBand(high)).toBe("High");

    // Apparel 144, age 35, Online: 12 * 1.2 / 1 * 1.1 = 15.84 => Mid.
    const mid = { ...high, product_category: "Apparel", price: 144 } as const;
    expect(lifetimeValueScore(mid)).toBeCloseTo(15.84, 12);
    expect(lifetimeValueBand(mid)).toBe("Mid");

    // Food & Beverages 100, age 35, COD: 10 * 0.85 / 1 * 0.9 = 7.65 < 10 => Low.
    const low = {
      ...high,
      product_category: "Food & Beverages",
      price: 100,
      payment_method: "Cash on Delivery",
    } as const;
    expect(lifetimeValueScore(low)).toBeCloseTo(7.65, 12);
    expect(lifetimeValueBand(low)).toBe("Low");

    // Furniture 900 at |age - 35| = e - 1 (natural log): log(e) + 1 = 2; 30 * 1.2 / 2 * 1.4 = 25.2 => High.
    // The same row at age 35 would score 50.4: the denominator is what this case checks.
    const aged = {
      user_age: 35 - (Math.E - 1),
      product_category: "Furniture & Appliances",
      price: 900,
      payment_method: "Online Payment",
    } as const;
    expect(lifetimeValueScore(aged)).toBeCloseTo(25.2, 12);
    expect(lifetimeValueBand(aged)).toBe("High");
  });
});

describe("CSV", () => {
  it("quotes only fields holding a comma, quote or line break", () => {
    expect(csvField("Food & Beverages")).toBe("Food & Beverages");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
  });

  it("renders a header and 2-decimal numbers with \\n line ends", () => {
    const csv = toCsv([
      {
        user_age: 24.5,
        gender: "Female",
        location_tier: "Developing",
        product_category: "Furniture & Appliances",
        price: 3,
        payment_method: "Cash on Delivery",
      },
    ]);
    expect(csv).toBe(
      "user_age,gender,location_tier,product_category,price,payment_method\n" +
        "24.50,Female,Developing,Furniture & Appliances,3.00,Cash on Delivery\n",
    );
  });

  it("the shipped ecommerce.csv is exactly generateEcommerce(2000, 2025)", () => {
    const shipped = readFileSync(new URL("../examples/ecommerce/ecommerce.csv", import.meta.url), "utf8");
    const rows = generateEcommerce(2000, 2025);
    // On failure, regenerate: npx tsx examples/ecommerce/generate.ts --rows 2000 --seed 2025
    expect(shipped === toCsv(rows)).toBe(true);

    // Rows hold the rounded values, so derived variables agree whether computed from rows or from the file.
    const lines = shipped.trimEnd().split("\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    expect(lines).toHaveLength(2001);
    lines.slice(1).forEach((line, i) => {
      const [age, , , , price] = line.split(",");
      expect(Number(age)).toBe(rows[i]?.user_age);
      expect(Number(price)).toBe(rows[i]?.price);
    });
  });
});
