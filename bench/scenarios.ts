/**
 * One benchmark scenario per child process, so each has its own peak resident set (maxRSS). Run as
 * `tsx bench/scenarios.ts NAME JSON-ARGS`; prints one JSON line with the figures.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Db } from "../src/db/connection.ts";
import { quoteLiteral } from "../src/db/quote.ts";
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

const [name, json] = process.argv.slice(2);
const run = scenarios[name ?? ""];
if (!run) {
  process.stderr.write(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(2);
}
const figures = await run(JSON.parse(json ?? "{}") as Args);
// maxRSS is in kilobytes.
process.stdout.write(`${JSON.stringify({ ...figures, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
