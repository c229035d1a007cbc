/**
 * One benchmark scenario per child process, so each has its own peak resident set (maxRSS). Run as
 * `tsx bench/scenarios.ts NAME JSON-ARGS`; prints one JSON line with the figures.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Db } from "../src/db/connection.ts";
import { quoteLiteral } from "../src/db/quote.ts";
import { c2st } from "../src/evaluate/detection.ts";
import { evaluateFidelity } from "../src/evaluate/fidelity.ts";
import { evaluatePrivacy } from "../src/evaluate/privacy.ts";
import { synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { profileColumns } from "../src/profile.ts";
import { readSource } from "../src/source.ts";
import { summarizeTable } from "../src/summarize.ts";
import { outDir } from "./data.ts";

type Args = Record<string, unknown>;

const scenarios: Record<string, (args: Args) => Promise<Record<string, unknown>>> = {
  /** DuckDB's SUMMARIZE and synthor's summaries of the same Parquet file, side by side. */
  async summarize(args) {
    const path = String(args.path);
    const groups = args.groups as string[][];
    const duck = await Db.open();
    let t = performance.now();
    await duck.all(`summarize select * from read_parquet(${quoteLiteral(path)})`);
    const summarizeSeconds = (performance.now() - t) / 1000;
    duck.close();
    const db = await Db.open();
    t = performance.now();
    const source = await readSource(db, { kind: "file", path });
    const profiles = await profileColumns(db, source);
    await summarizeTable(db, source, profiles, { groups });
    const synthorSeconds = (performance.now() - t) / 1000;
    db.close();
    return { summarizeSeconds, synthorSeconds };
  },

  /** A whole synthesis run with the statistical planner; per-iteration seconds from the run history. */
  async synth(args) {
    const path = String(args.path);
    const dbPath = join(outDir, `synth-${process.pid}.duckdb`);
    rmSync(dbPath, { force: true });
    const t = performance.now();
    const result = await synthesize({
      source: { kind: "file", path },
      db: dbPath,
      rows: Number(args.rows),
      iterations: Number(args.iterations ?? 100),
      // Equal batches: the figures are per-iteration costs over the paper's 100 iterations.
      schedule: "even",
      seed: Number(args.seed ?? 0),
      planner: (db, summary) => new StatsPlanner(db, summary, { seed: Number(args.seed ?? 0) }),
    });
    const seconds = (performance.now() - t) / 1000;
    const db = await Db.open(dbPath, { readOnly: true });
    const its = await db.all<{ iteration: number; rows_total: number; seconds: number }>(
      "select iteration, rows_total, seconds from synthor_iterations order by iteration",
    );
    db.close();
    rmSync(dbPath, { force: true });
    rmSync(`${dbPath}.wal`, { force: true });
    return {
      seconds,
      rows: result.rows,
      iterations: result.iterations,
      meanTvd: result.discrepancy.meanTvd,
      iterationSeconds: its.map((i) => i.seconds),
      iterationRows: its.map((i) => i.rows_total),
    };
  },
};

/** Loads a CSV or Parquet file into a table of `db`; the evaluators read tables by name. */
async function load(db: Db, table: string, path: string): Promise<void> {
  const reader = path.endsWith(".parquet") ? "read_parquet" : "read_csv";
  await db.exec(
    `create or replace table ${table} as select * from ${reader}(${quoteLiteral(path)})`,
    `load ${table}`,
  );
}

async function synthesizeTo(path: string, out: string, seed: number, rows?: number): Promise<number> {
  const t = performance.now();
  await synthesize({
    source: { kind: "file", path },
    out,
    overwrite: true,
    seed,
    ...(rows ? { rows } : {}),
    planner: (db, summary) => new StatsPlanner(db, summary, { seed }),
  });
  return (performance.now() - t) / 1000;
}

scenarios.ecommerce = async (args) => {
  // The paper's Tables 2 and 3 metrics: W (numeric), TVD (categorical), JS distance of the three joint
  // subsets (numeric columns in real deciles), and the C2ST gap of a logistic regression, per column and
  // per subset, on the 2,000-row reference sample.
  const path = String(args.path);
  const seed = Number(args.seed);
  const out = join(outDir, `ecommerce-synth-${seed}.csv`);
  const seconds = await synthesizeTo(path, out, seed);
  const db = await Db.open();
  await load(db, "real", path);
  await load(db, "synth", out);
  const source = await readSource(db, { kind: "table", table: "real" });
  const profiles = await profileColumns(db, source);
  const groups = [
    ["user_age", "gender", "product_category"],
    ["product_category", "price"],
    ["location_tier", "payment_method"],
  ];
  const fidelity = await evaluateFidelity(db, {
    real: "real",
    synth: "synth",
    profiles,
    groups,
    pairs: false,
  });
  const figures: Record<string, number> = { seconds };
  for (const c of fidelity.columns) {
    figures[`${c.kind === "numeric" ? "W" : "TVD"} ${c.column}`] =
      (c.kind === "numeric" ? c.w1 : c.tvd) ?? Number.NaN;
  }
  for (const g of fidelity.groups) figures[`JSD [${g.columns.join(", ")}]`] = g.jsDistance;
  for (const unit of [...profiles.map((p) => [p.name]), ...groups]) {
    const subset = profiles.filter((p) => unit.includes(p.name));
    const d = await c2st(db, {
      real: "real",
      synth: "synth",
      profiles: subset,
      seed,
      models: ["logistic_regression"],
    });
    figures[`C2ST gap [${unit.join(", ")}]`] = d.models[0]?.gap ?? Number.NaN;
  }
  db.close();
  return figures;
};

scenarios.adult = async (args) => {
  // Train on a random half of Adult, synthesize as many rows, score against the other half; the baseline
  // is the training half itself scored against the other half (the noise of a real same-size sample).
  const path = String(args.path);
  const seed = Number(args.seed);
  const db = await Db.open();
  await load(db, "adult", path);
  const half = (side: number) =>
    `copy (select * exclude (synthor_rn) from (select *, row_number() over () as synthor_rn from adult)
      where hash(synthor_rn, 42) % 2 = ${side}) to ${quoteLiteral(join(outDir, `adult-${side === 0 ? "train" : "holdout"}.csv`))}`;
  await db.exec(`${half(0)}; ${half(1)}`, "split adult");
  const train = join(outDir, "adult-train.csv");
  const holdout = join(outDir, "adult-holdout.csv");
  const [rows] = await db.all<{ n: number }>(`select count(*) as n from read_csv(${quoteLiteral(train)})`);
  const out = join(outDir, `adult-synth-${seed}.csv`);
  const seconds = await synthesizeTo(train, out, seed, rows?.n);
  await load(db, "train", train);
  await load(db, "holdout", holdout);
  await load(db, "synth", out);
  const source = await readSource(db, { kind: "table", table: "holdout" });
  const profiles = await profileColumns(db, source);
  const meanPairTvd = async (synth: string) => {
    const f = await evaluateFidelity(db, { real: "holdout", synth, profiles });
    return f.pairs.reduce((a, p) => a + p.tvd, 0) / f.pairs.length;
  };
  const synthPairTvd = await meanPairTvd("synth");
  const baselinePairTvd = await meanPairTvd("train");
  const synthPrivacy = await evaluatePrivacy(db, {
    real: "train",
    synth: "synth",
    holdout: "holdout",
    profiles,
    seed,
  });
  db.close();
  return {
    seconds,
    synthPairTvd,
    baselinePairTvd,
    ratio: synthPairTvd / baselinePairTvd,
    synthExactShare: synthPrivacy.exactMatches.share ?? Number.NaN,
    holdoutExactShare: synthPrivacy.holdoutExactMatches?.share ?? Number.NaN,
    synthDcrMedian: synthPrivacy.dcr?.synth.p50 ?? Number.NaN,
    holdoutDcrMedian: synthPrivacy.dcr?.baseline.p50 ?? Number.NaN,
  };
};

const [name, json] = process.argv.slice(2);
const run = scenarios[name ?? ""];
if (!run) {
  process.stderr.write(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(2);
}
const figures = await run(JSON.parse(json ?? "{}") as Args);
// maxRSS is in kilobytes.
process.stdout.write(`${JSON.stringify({ ...figures, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
