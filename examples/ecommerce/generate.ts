/**
 * The e-commerce Bayesian network of the LLMSynthor paper, Appendix A.1:
 *
 *   p(A, G, L, C, X, M) = p(A) p(G) p(L) p(C | A, G) p(X | C) p(M | L)
 *
 * Run directly to write the reference CSV:
 *
 *   npx tsx examples/ecommerce/generate.ts --rows 2000 --seed 2025 --out examples/ecommerce/ecommerce.csv
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import seedrandom from "seedrandom";

export const GENDERS = ["Male", "Female"] as const;
export const LOCATION_TIERS = ["Developed", "Developing"] as const;
export const PRODUCT_CATEGORIES = [
  "Electronics",
  "Apparel",
  "Food & Beverages",
  "Furniture & Appliances",
] as const;
export const PAYMENT_METHODS = ["Online Payment", "Cash on Delivery"] as const;
export const AGE_GROUPS = ["young", "middle", "old"] as const;

export type Gender = (typeof GENDERS)[number];
export type LocationTier = (typeof LOCATION_TIERS)[number];
export type ProductCategory = (typeof PRODUCT_CATEGORIES)[number];
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export type AgeGroup = (typeof AGE_GROUPS)[number];
export type Band = "Low" | "Mid" | "High";

/** One transaction; the column order of the CSV. */
export interface EcommerceRow {
  user_age: number;
  gender: Gender;
  location_tier: LocationTier;
  product_category: ProductCategory;
  price: number;
  payment_method: PaymentMethod;
}

export const CSV_COLUMNS = [
  "user_age",
  "gender",
  "location_tier",
  "product_category",
  "price",
  "payment_method",
] as const satisfies readonly (keyof EcommerceRow)[];

/** Every parameter of Appendix A.1, as printed. Probabilities follow the order of the constants above. */
export const PARAMS = {
  age: {
    weights: [0.5, 0.35, 0.15],
    means: [24, 38, 55],
    sds: [6, 15, 10],
    lower: 18,
    upper: 90,
  },
  gender: [0.45, 0.55],
  location: [0.4, 0.6],
  /** p(category | age group, gender) over [Electronics, Apparel, Food & Beverages, Furniture & Appliances]. */
  category: {
    young: { Male: [0.5, 0.25, 0.05, 0.2], Female: [0.2, 0.5, 0.05, 0.25] },
    middle: { Male: [0.2, 0.1, 0.5, 0.2], Female: [0.1, 0.2, 0.55, 0.15] },
    old: { Male: [0.1, 0.1, 0.65, 0.15], Female: [0.1, 0.1, 0.6, 0.2] },
  } satisfies Record<AgeGroup, Record<Gender, readonly number[]>>,
  /** Untruncated N(mu, sd) per category; the same (mu, sd) normalise the discount z-score. */
  price: {
    Electronics: { mu: 800, sd: 1000 },
    Apparel: { mu: 100, sd: 500 },
    "Food & Beverages": { mu: 100, sd: 400 },
    "Furniture & Appliances": { mu: 200, sd: 500 },
  } satisfies Record<ProductCategory, { mu: number; sd: number }>,
  priceLower: 0,
  priceUpper: 2000,
  /** p(payment | location) over [Online Payment, Cash on Delivery]. */
  payment: {
    Developed: [0.7, 0.3],
    Developing: [0.4, 0.6],
  } satisfies Record<LocationTier, readonly number[]>,
} as const;

/** Age group used by the category CPT: young < 35 <= middle < 55 <= old. */
export function ageGroup(age: number): AgeGroup {
  if (age < 35) return "young";
  if (age < 55) return "middle";
  return "old";
}

type Rng = () => number;

// Draws are stored already rounded to what the CSV shows, so a row and its parsed CSV line agree exactly
// (age group, derived variables) and the truncation bounds still hold after rounding.
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function pick<T>(rng: Rng, values: readonly T[], probs: readonly number[]): T {
  const u = rng();
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += probs[i] ?? 0;
    if (u < acc) return values[i] as T;
  }
  // Only reachable when the probabilities sum to slightly under 1 in floating point.
  return values[values.length - 1] as T;
}

function normalSampler(rng: Rng): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    // 1 - rng() lies in (0, 1], keeping log() finite.
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const theta = 2 * Math.PI * rng();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/**
 * Draws `n` transactions from the Appendix A.1 network, deterministically for a given `seed`.
 *
 * @example generateEcommerce(2000, 2025) // the rows of examples/ecommerce/ecommerce.csv
 */
export function generateEcommerce(n: number, seed: number): EcommerceRow[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const rng = seedrandom(String(seed));
  const normal = normalSampler(rng);
  const { age: a } = PARAMS;
  const componentIndex = [0, 1, 2];

  const drawAge = (): number => {
    // The paper truncates the mixture as a whole, so a rejected draw also redraws its component;
    // redrawing only the value would leave the component weights unadjusted for truncation.
    for (;;) {
      const k = pick(rng, componentIndex, a.weights);
      const x = round2((a.means[k] ?? 0) + (a.sds[k] ?? 0) * normal());
      if (x >= a.lower && x <= a.upper) return x;
    }
  };

  const drawPrice = (category: ProductCategory): number => {
    const { mu, sd } = PARAMS.price[category];
    for (;;) {
      const x = round2(mu + sd * normal());
      if (x >= PARAMS.priceLower && x <= PARAMS.priceUpper) return x;
    }
  };

  const rows: EcommerceRow[] = [];
  for (let i = 0; i < n; i++) {
    // Topological order of the network; changing it changes every sample for a seed.
    const user_age = drawAge();
    const gender = pick(rng, GENDERS, PARAMS.gender);
    const location_tier = pick(rng, LOCATION_TIERS, PARAMS.location);
    const product_category = pick(rng, PRODUCT_CATEGORIES, PARAMS.category[ageGroup(user_age)][gender]);
    const price = drawPrice(product_category);
    const payment_method = pick(rng, PAYMENT_METHODS, PARAMS.payment[location_tier]);
    rows.push({ user_age, gender, location_tier, product_category, price, payment_method });
  }
  return rows;
}

/**
 * Discount propensity d (Appendix A.1): S = -tanh(z) + 0.01 (age-35)^2/100 + 0.5 [COD] + 0.3 [Developing],
 * z = (price - mu_c) / sd_c; High if S > 1, Low if S < -1, else Mid.
 *
 * @example discountPropensity({ user_age: 35, location_tier: "Developing", product_category: "Apparel",
 *   price: 100, payment_method: "Cash on Delivery" }) // "Mid" (S = 0.8)
 */
export function discountPropensity(
  row: Pick<EcommerceRow, "user_age" | "location_tier" | "product_category" | "price" | "payment_method">,
): Band {
  const s = discountScore(row);
  if (s > 1) return "High";
  if (s < -1) return "Low";
  return "Mid";
}

/** The score S behind {@link discountPropensity}. */
export function discountScore(
  row: Pick<EcommerceRow, "user_age" | "location_tier" | "product_category" | "price" | "payment_method">,
): number {
  const { mu, sd } = PARAMS.price[row.product_category];
  const z = (row.price - mu) / sd;
  return (
    -Math.tanh(z) +
    (0.01 * (row.user_age - 35) ** 2) / 100 +
    (row.payment_method === "Cash on Delivery" ? 0.5 : 0) +
    (row.location_tier === "Developing" ? 0.3 : 0)
  );
}

const PAYMENT_WEIGHT: Record<PaymentMethod, number> = { "Online Payment": 1.2, "Cash on Delivery": 0.85 };
const CATEGORY_WEIGHT: Record<ProductCategory, number> = {
  Electronics: 1.3,
  Apparel: 1.1,
  "Food & Beverages": 0.9,
  "Furniture & Appliances": 1.4,
};

/** The proxy score l0 behind {@link lifetimeValueBand}; log is the natural logarithm. */
export function lifetimeValueScore(
  row: Pick<EcommerceRow, "user_age" | "product_category" | "price" | "payment_method">,
): number {
  const wm = PAYMENT_WEIGHT[row.payment_method];
  const wc = CATEGORY_WEIGHT[row.product_category];
  return ((Math.sqrt(row.price) * wm) / (Math.log(1 + Math.abs(row.user_age - 35)) + 1)) * wc;
}

/**
 * Lifetime value band l (Appendix A.1): l0 = sqrt(price) w_m / (log(1 + |age-35|) + 1) * w_c;
 * High if l0 > 20, Low if l0 < 10, else Mid.
 *
 * @example lifetimeValueBand({ user_age: 35, product_category: "Electronics", price: 400,
 *   payment_method: "Online Payment" }) // "High" (l0 = 31.2)
 */
export function lifetimeValueBand(
  row: Pick<EcommerceRow, "user_age" | "product_category" | "price" | "payment_method">,
): Band {
  const l0 = lifetimeValueScore(row);
  if (l0 > 20) return "High";
  if (l0 < 10) return "Low";
  return "Mid";
}

/** Quotes a CSV field only when it holds a comma, quote or line break (RFC 4180), doubling inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Renders rows as CSV: header line, "\n" line ends (also after the last row), numbers with 2 decimals,
 * fields holding a comma, quote or line break quoted.
 */
export function toCsv(rows: readonly EcommerceRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) {
    lines.push(
      CSV_COLUMNS.map((col) => {
        const v = row[col];
        return csvField(typeof v === "number" ? v.toFixed(2) : v);
      }).join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: "string", default: "2000" },
      seed: { type: "string", default: "2025" },
      out: { type: "string", default: "examples/ecommerce/ecommerce.csv" },
    },
  });
  const rows = Number(values.rows);
  const seed = Number(values.seed);
  if (!Number.isInteger(rows) || rows < 0)
    throw new Error(`--rows must be a non-negative integer, got ${values.rows}`);
  if (!Number.isFinite(seed)) throw new Error(`--seed must be a number, got ${values.seed}`);
  const out = resolve(values.out);
  writeFileSync(out, toCsv(generateEcommerce(rows, seed)));
  console.log(`wrote ${rows} rows (seed ${seed}) to ${out}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
