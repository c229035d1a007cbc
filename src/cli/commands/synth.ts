import { Command, Option } from "commander";
import { SynthorError } from "../../errors.ts";
import { type SynthResult, synthesize } from "../../pipeline.ts";
import { StatsPlanner } from "../../planners/stats.ts";
import { sourceSpec } from "../../source.ts";
import { formatJson, formatTable, num } from "../format.ts";
import { addInputOptions, fraction, type InputOptions, positiveInt, profileOptionsFrom } from "../input.ts";
import { progressReporter } from "../progress.ts";

interface SynthCliOptions extends InputOptions {
  rows?: number;
  iterations: number;
  proposals?: number;
  groups: number;
  seed: number;
  withinRange: "quantile" | "uniform";
  targetTvd?: number;
  patience?: number;
  planner: string;
  out?: string;
  outTable: string;
  overwrite?: boolean;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
  threads?: number;
}

/** `synthor synth`: the main job, paper Algorithm 1. */
export function synthCommand(): Command {
  const cmd = new Command("synth").description("grow a synthetic table whose statistics match the real one");
  addInputOptions(cmd)
    .addOption(
      new Option("--rows <n>", "rows to synthesize (default: as many as the real table)").argParser(
        positiveInt("--rows"),
      ),
    )
    .addOption(
      new Option("--iterations <n>", "at most this many iterations")
        .argParser(positiveInt("--iterations"))
        .default(100),
    )
    .addOption(
      new Option(
        "--proposals <n>",
        "proposals per iteration (default: the statistical planner decides)",
      ).argParser(positiveInt("--proposals")),
    )
    .addOption(
      new Option("--groups <n>", "dependency groups grounded per iteration")
        .argParser(positiveInt("--groups"))
        .default(3),
    )
    .addOption(
      new Option("--seed <n>", "random seed: the same seed and input give the same table")
        .argParser(Number)
        .default(0),
    )
    .addOption(
      new Option(
        "--within-range <how>",
        "inside a numeric range: follow the real distribution, or draw uniformly (the paper)",
      )
        .choices(["quantile", "uniform"])
        .default("quantile"),
    )
    .addOption(
      new Option("--target-tvd <x>", "stop once the mean TVD is at or below this").argParser(
        fraction("--target-tvd"),
      ),
    )
    .addOption(
      new Option("--patience <n>", "stop after this many iterations without a better mean TVD").argParser(
        positiveInt("--patience"),
      ),
    )
    .addOption(new Option("--planner <name>", "who plans proposals").choices(["stats"]).default("stats"))
    .option("--out <file>", "also write the synthetic table to a .csv, .parquet, .json or .ndjson file")
    .option("--out-table <name>", "name of the synthetic table in --db", "synthetic")
    .option("--overwrite", "replace an existing --out file")
    .option("--resume", "continue the interrupted run kept in --db")
    .addOption(
      new Option("--threads <n>", "DuckDB worker threads (the result does not depend on it)").argParser(
        positiveInt("--threads"),
      ),
    )
    .option("--json", "print a machine-readable summary on stdout")
    .option("--quiet", "no progress on stderr")
    .addHelpText(
      "after",
      `
The run's history stays in --db: synthor_runs, synthor_iterations (the convergence curve),
synthor_proposals. Without --db nothing is kept but --out.

Examples:
  $ synthor synth examples/ecommerce/ecommerce.csv --rows 2000 --out synth.parquet --seed 7
  $ synthor synth real.csv --db run.duckdb && synthor query --db run.duckdb "from synthetic limit 5"
  $ synthor synth real.csv --db run.duckdb --resume      # after Ctrl-C`,
    )
    .action(async (source: string | undefined, opts: SynthCliOptions) => {
      if (opts.planner === "stats") {
        process.stderr.write(
          opts.quiet
            ? ""
            : "synthor: no LLM configured; planning with the statistical planner (--planner stats)\n",
        );
      }
      let interrupted = false;
      const onSignal = () => {
        if (interrupted) process.exit(130);
        interrupted = true;
        process.stderr.write("\nsynthor: stopping after this iteration (Ctrl-C again to abort at once)\n");
      };
      process.on("SIGINT", onSignal);
      let result: SynthResult;
      try {
        const spec = sourceSpec(source, opts);
        if (spec.kind === "table" && !opts.db) {
          throw new SynthorError(
            "SOURCE_OPTIONS",
            "--table needs --db",
            "pass the DuckDB file that holds the table: --db FILE.duckdb",
          );
        }
        result = await synthesize({
          source: spec,
          ...(opts.db ? { db: opts.db } : {}),
          ...(opts.threads ? { threads: opts.threads } : {}),
          profile: profileOptionsFrom(opts),
          ...(opts.rows ? { rows: opts.rows } : {}),
          iterations: opts.iterations,
          ...(opts.proposals ? { proposals: opts.proposals } : {}),
          groupsPerIteration: opts.groups,
          seed: opts.seed,
          withinRange: opts.withinRange,
          ...(opts.targetTvd !== undefined ? { targetTvd: opts.targetTvd } : {}),
          ...(opts.patience !== undefined ? { patience: opts.patience } : {}),
          planner: (db, summary) => new StatsPlanner(db, summary, { seed: opts.seed }),
          outTable: opts.outTable,
          ...(opts.out ? { out: opts.out } : {}),
          overwrite: opts.overwrite ?? false,
          resume: opts.resume ?? false,
          onProgress: progressReporter({ quiet: opts.quiet ?? false }),
          shouldStop: () => interrupted,
        });
      } finally {
        process.off("SIGINT", onSignal);
      }
      if (opts.json) {
        process.stdout.write(`${formatJson(result)}\n`);
      } else if (!opts.quiet) {
        process.stderr.write(fidelitySummary(result));
      }
      if (result.stoppedBecause === "interrupted") {
        process.stderr.write(
          `synthor: interrupted after iteration ${result.iterations}; nothing was written. ` +
            `${opts.db ? `Continue with the same command and --resume.` : "Pass --db FILE to be able to resume."}\n`,
        );
        process.exitCode = 130;
      }
    });
  return cmd;
}

function fidelitySummary(r: SynthResult): string {
  const d = r.discrepancy;
  const mean = (xs: { tvd: number }[]) => (xs.length ? xs.reduce((s, x) => s + x.tvd, 0) / xs.length : 0);
  const worst = [...d.marginals, ...d.groups].sort((a, b) => b.tvd - a.tvd).slice(0, 5);
  const lines = [
    "",
    `synthesized ${r.rows} rows in ${r.iterations} iterations, ${r.seconds.toFixed(1)} s (stopped: ${r.stoppedBecause})`,
    `mean TVD: columns ${num(mean(d.marginals))}, groups ${num(mean(d.groups))}, all ${num(d.meanTvd)}`,
    "worst units:",
    formatTable(worst.map((u) => ({ unit: u.columns.join(" x "), tvd: num(u.tvd) }))),
    r.stoppedBecause === "interrupted"
      ? ""
      : `table: ${r.outTable}${r.db !== ":memory:" ? ` in ${r.db}` : " (in memory)"}${r.outFile ? `; file: ${r.outFile}` : ""}`,
    "",
  ];
  return lines.join("\n");
}
