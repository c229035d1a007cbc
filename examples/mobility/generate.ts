/**
 * A small city of our own making for the mobility example (LLMSynthor paper, Section 4.3 and Appendix
 * A.3, with every number invented and written down here and in README.md):
 *
 * - trips.csv: one day of trips (time_bin, origin, dest, mode) on a 4 x 4 grid of 2 km zones. Origin and
 *   destination follow a gravity model whose attraction depends on the time of day (mornings towards the
 *   commercial centre, evenings back home); the mode follows a multinomial logit on the distance. Like
 *   the paper's OpenPFLOW trips, the table has NO activity column, and no trip stays in its zone.
 * - time_activity.csv: a separate check-in "survey" (time_bin, activity, n), the paper's LLMob
 *   time-activity table: its own time profile and the activity shares of each time bin.
 *
 * Run directly to write both files:
 *
 *   npx tsx examples/mobility/generate.ts --trips 24000 --checkins 10000 --seed 2025
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import seedrandom from "seedrandom";

export const TIME_BINS = ["00-06", "06-09", "09-12", "12-15", "15-18", "18-20", "20-24"] as const;
export const MODES = ["walk", "bike", "transit", "car"] as const;
export const ACTIVITIES = [
  "Home",
  "Work",
  "Food",
  "Shop & Service",
  "Leisure",
  "Travel & Transport",
] as const;

export type TimeBin = (typeof TIME_BINS)[number];
export type Mode = (typeof MODES)[number];
export type Activity = (typeof ACTIVITIES)[number];
export type ZoneKind = "residential" | "commercial";

export interface Zone {
  id: string;
  /** Centroid in km from the grid's south-west corner. */
  x: number;
  y: number;
  kind: ZoneKind;
}

/** One trip; the column order of trips.csv. */
export interface Trip {
  time_bin: TimeBin;
  origin: string;
  dest: string;
  mode: Mode;
}

export const TRIP_COLUMNS = ["time_bin", "origin", "dest", "mode"] as const satisfies readonly (keyof Trip)[];

/** Every parameter of the city. Arrays follow the order of the constants above. */
export const PARAMS = {
  grid: { side: 4, cellKm: 2 },
  /** The 2 x 2 centre of the grid; every other zone is residential. */
  commercial: ["Z06", "Z07", "Z10", "Z11"],
  /** Homes and jobs per zone kind, in arbitrary units (only ratios matter). */
  homes: { residential: 100, commercial: 25 } satisfies Record<ZoneKind, number>,
  jobs: { residential: 15, commercial: 120 } satisfies Record<ZoneKind, number>,
  /** p(time bin) of a trip. */
  tripTime: [0.03, 0.22, 0.12, 0.13, 0.18, 0.19, 0.13],
  /**
   * Gravity model, per time bin t: p(o, d | t) ∝ O_o(t) · D_d(t) · exp(-beta · dist(o, d)) for o ≠ d,
   * O_z(t) = originHome[t] · homes_z + (1 - originHome[t]) · jobs_z (where trips start),
   * D_z(t) = destJobs[t] · jobs_z + (1 - destJobs[t]) · homes_z (what attracts them).
   */
  originHome: [0.5, 0.9, 0.4, 0.3, 0.3, 0.15, 0.3],
  destJobs: [0.3, 0.9, 0.6, 0.6, 0.35, 0.15, 0.25],
  beta: 0.3,
  /** Mode choice, a multinomial logit on the distance d in km: V_m = a_m + b_m · d, p_m ∝ exp(V_m). */
  modeLogit: {
    walk: { a: 2.5, b: -1.4 },
    bike: { a: 1.2, b: -0.45 },
    transit: { a: -1.0, b: 0.2 },
    car: { a: 0, b: 0.1 },
  } satisfies Record<Mode, { a: number; b: number }>,
  /** The check-in survey: p(time bin) of a check-in, then p(activity | time bin). */
  surveyTime: [0.04, 0.14, 0.16, 0.18, 0.17, 0.17, 0.14],
  activity: {
    "00-06": [0.55, 0.05, 0.08, 0.04, 0.13, 0.15],
    "06-09": [0.1, 0.3, 0.12, 0.05, 0.03, 0.4],
    "09-12": [0.05, 0.45, 0.12, 0.15, 0.08, 0.15],
    "12-15": [0.05, 0.3, 0.3, 0.17, 0.1, 0.08],
    "15-18": [0.07, 0.3, 0.1, 0.2, 0.13, 0.2],
    "18-20": [0.2, 0.08, 0.25, 0.12, 0.1, 0.25],
    "20-24": [0.38, 0.04, 0.2, 0.06, 0.22, 0.1],
  } satisfies Record<TimeBin, readonly number[]>,
} as const;

/** The 16 zones Z01..Z16, row by row from the south-west corner, centroids 2 km apart. */
export const ZONES: readonly Zone[] = Array.from({ length: PARAMS.grid.side ** 2 }, (_, i) => {
  const id = `Z${String(i + 1).padStart(2, "0")}`;
  const { side, cellKm } = PARAMS.grid;
  return {
    id,
    x: ((i % side) + 0.5) * cellKm,
    y: (Math.floor(i / side) + 0.5) * cellKm,
    kind: (PARAMS.commercial as readonly string[]).includes(id) ? "commercial" : "residential",
  };
});

function zone(id: string): Zone {
  const z = ZONES.find((c) => c.id === id);
  if (!z) throw new RangeError(`no zone ${id}`);
  return z;
}

/** Straight-line distance between two zones' centroids, in km. */
export function distanceKm(origin: string, dest: string): number {
  const a = zone(origin);
  const b = zone(dest);
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/**
 * p(origin, dest | time bin) of the gravity model, every ordered pair of distinct zones.
 *
 * @example odProbabilities("06-09").find((p) => p.origin === "Z01" && p.dest === "Z06")?.p
 */
export function odProbabilities(t: TimeBin): { origin: string; dest: string; p: number }[] {
  const k = TIME_BINS.indexOf(t);
  const h = PARAMS.originHome[k] ?? 0;
  const w = PARAMS.destJobs[k] ?? 0;
  const out: { origin: string; dest: string; p: number }[] = [];
  let total = 0;
  for (const o of ZONES) {
    for (const d of ZONES) {
      if (o.id === d.id) continue;
      const push = h * PARAMS.homes[o.kind] + (1 - h) * PARAMS.jobs[o.kind];
      const pull = w * PARAMS.jobs[d.kind] + (1 - w) * PARAMS.homes[d.kind];
      const p = push * pull * Math.exp(-PARAMS.beta * distanceKm(o.id, d.id));
      out.push({ origin: o.id, dest: d.id, p });
      total += p;
    }
  }
  for (const x of out) x.p /= total;
  return out;
}

/**
 * p(mode | distance) of the logit, in the order of MODES.
 *
 * @example modeProbabilities(2) // [0.19.., 0.35.., 0.14.., 0.31..]
 */
export function modeProbabilities(d: number): number[] {
  const e = MODES.map((m) => Math.exp(PARAMS.modeLogit[m].a + PARAMS.modeLogit[m].b * d));
  const total = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / total);
}

type Rng = () => number;

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

/**
 * Draws `n` trips, deterministically for a given `seed`: time bin, then (origin, dest) from the gravity
 * model of that bin, then the mode from the logit on their distance.
 *
 * @example generateTrips(24000, 2025) // the rows of examples/mobility/trips.csv
 */
export function generateTrips(n: number, seed: number): Trip[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const rng = seedrandom(`trips:${seed}`);
  const od = new Map(
    TIME_BINS.map((t) => {
      const pairs = odProbabilities(t);
      return [t, { pairs, probs: pairs.map((p) => p.p) }] as const;
    }),
  );
  const trips: Trip[] = [];
  for (let i = 0; i < n; i++) {
    const time_bin = pick(rng, TIME_BINS, PARAMS.tripTime);
    const table = od.get(time_bin);
    if (!table) throw new Error(`no OD table for ${time_bin}`);
    const pair = pick(rng, table.pairs, table.probs);
    const mode = pick(rng, MODES, modeProbabilities(distanceKm(pair.origin, pair.dest)));
    trips.push({ time_bin, origin: pair.origin, dest: pair.dest, mode });
  }
  return trips;
}

/** One cell of the survey table; the column order of time_activity.csv. */
export interface ActivityCount {
  time_bin: TimeBin;
  activity: Activity;
  n: number;
}

/**
 * Draws `n` check-ins (time bin, then activity given the time bin) and counts them per cell; every one
 * of the 42 cells is listed, in the order of TIME_BINS and ACTIVITIES, zero counts included.
 *
 * @example generateTimeActivity(10000, 2025) // the rows of examples/mobility/time_activity.csv
 */
export function generateTimeActivity(n: number, seed: number): ActivityCount[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  // A different stream from the trips: the survey is a second, independent source.
  const rng = seedrandom(`survey:${seed}`);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = pick(rng, TIME_BINS, PARAMS.surveyTime);
    const a = pick(rng, ACTIVITIES, PARAMS.activity[t]);
    const key = `${t}|${a}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return TIME_BINS.flatMap((time_bin) =>
    ACTIVITIES.map((activity) => ({ time_bin, activity, n: counts.get(`${time_bin}|${activity}`) ?? 0 })),
  );
}

/** Quotes a CSV field only when it holds a comma, quote or line break (RFC 4180), doubling inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** trips.csv: header line, "\n" line ends (also after the last row). */
export function tripsCsv(trips: readonly Trip[]): string {
  const lines = [TRIP_COLUMNS.join(",")];
  for (const t of trips) lines.push(TRIP_COLUMNS.map((c) => csvField(t[c])).join(","));
  return `${lines.join("\n")}\n`;
}

/** time_activity.csv: time_bin,activity,n with "\n" line ends. */
export function timeActivityCsv(rows: readonly ActivityCount[]): string {
  const lines = ["time_bin,activity,n"];
  for (const r of rows) lines.push(`${csvField(r.time_bin)},${csvField(r.activity)},${r.n}`);
  return `${lines.join("\n")}\n`;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      trips: { type: "string", default: "24000" },
      checkins: { type: "string", default: "10000" },
      seed: { type: "string", default: "2025" },
      dir: { type: "string", default: "examples/mobility" },
    },
  });
  const trips = Number(values.trips);
  const checkins = Number(values.checkins);
  const seed = Number(values.seed);
  for (const [flag, v] of [
    ["--trips", trips],
    ["--checkins", checkins],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} must be a non-negative integer, got ${v}`);
  }
  if (!Number.isFinite(seed)) throw new Error(`--seed must be a number, got ${values.seed}`);
  const dir = resolve(values.dir);
  writeFileSync(join(dir, "trips.csv"), tripsCsv(generateTrips(trips, seed)));
  writeFileSync(join(dir, "time_activity.csv"), timeActivityCsv(generateTimeActivity(checkins, seed)));
  console.log(`wrote ${trips} trips and a ${checkins}-check-in survey (seed ${seed}) to ${dir}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
