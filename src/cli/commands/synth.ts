import { Command, Option } from "commander";
import { SynthorError } from "../../errors.ts";
import { RunFailed, stopText, unusableLines } from "../../outcome.ts";
import { type SummarySource, type SynthResult, synthesize } from "../../pipeline.ts";
import { defaultCacheDir } from "../../planners/cache.ts";
import { DEFAULT_MODEL } from "../../planners/llm-kinds.ts";
import { PLANNER_NAMES, PLANNERS, preparePlanner } from "../../planners/registry.ts";
import type { PlannerOptions } from "../../planners/types.ts";
import { SCHEDULES, type Schedule } from "../../schedule.ts";
import { sourceSpec } from "../../source.ts";
import { formatJson, formatTable, num, targetLines, whereLine } from "../format.ts";
import { addInputOptions, fraction, positiveInt, referenceFrom, wholeNumber } from "../input.ts";
import { progressReporter } from "../progress.ts";
import { pausedForTests } from "../test-pause.ts";
import {
  type LoopCliOptions,
  loopOptionsFrom,
  type NestedCliOptions,
  synthNested,
  wantsNested,
} from "./synth-nested.ts";

interface SynthCliOptions extends LoopCliOptions, PlannerOptions, NestedCliOptions {
  fromSummary?: string;
  /** `--trim` alone is true: the default share. */
  trim?: number | true;
  out?: string;
  outTable: string;
  overwrite?: boolean;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
  where?: string;
  targets?: string[];
  targetsSql?: string[];
  tilt?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `synthor synth`: the main job, paper Algorithm 1. */
export function synthCommand(): Command {
  const cmd = new Command("synth").description("grow a synthetic table whose statistics match the real one");
  addInputOptions(cmd)
    .option(
      "--from-summary <file>",
      "synthesize from a summary file (synthor summarize --out) instead of the real rows, which are never read",
    )
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
        "--schedule <how>",
        "rows per iteration: grow (double the batch while the fit is within a real sample's noise, so a good fit ends early) or even (--iterations equal batches, the paper's)",
      )
        .choices(SCHEDULES)
        .default("grow"),
    )
    .addOption(
      new Option(
        "--proposals <n>",
        "proposals per iteration (default: 5 for LLM planners, as in the paper; the statistical planner decides)",
      ).argParser(positiveInt("--proposals")),
    )
    .addOption(
      new Option("--groups <n>", "dependency groups grounded per iteration")
        .argParser(positiveInt("--groups"))
        .default(3),
    )
    .addOption(
      new Option("--seed <n>", "random seed: the same seed and input give the same table")
        .argParser(wholeNumber("--seed"))
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
    .addOption(
      new Option(
        "--max-empty-iterations <n>",
        "fail the run after this many iterations in a row without usable proposals",
      )
        .argParser(positiveInt("--max-empty-iterations"))
        .default(3),
    )
    .option(
      "--where <predicate>",
      "learn from the real rows that satisfy this SQL condition only; every output row satisfies it (--rows defaults to the matching rows)",
    )
    .option(
      "--targets <file>",
      "shares or counts for cells of some columns (.csv/.json: the columns, then n, count or share); a column only the targets have is added (repeatable)",
      collect,
    )
    .option(
      "--targets-sql <query>",
      "targets from a DuckDB query: the columns, then a count as the last column (repeatable)",
      collect,
    )
    .option(
      "--tilt <rule>",
      "multiply the share of the rows matching the predicate by the factor, after the targets (repeatable)",
      collect,
    );
  addLlmOptions(cmd)
    .addOption(
      new Option(
        "--trim [share]",
        "grow this share more rows (default 0.05), then drop the surplus from the most over-represented cells so the marginals land closer",
      ).argParser(fraction("--trim")),
    )
    .addOption(
      new Option("--bins <n>", "main bins per numeric column (the paper: 6)")
        .argParser(positiveInt("--bins"))
        .default(6),
    )
    .addOption(
      new Option("--sub-bins <n>", "sub-bins inside a main bin (the paper: 8)")
        .argParser(positiveInt("--sub-bins"))
        .default(8),
    )
    .option("--out <file>", "also write the synthetic table to a .csv, .parquet, .json or .ndjson file")
    .option("--out-table <name>", "name of the synthetic table in --db", "synthetic")
    .option("--overwrite", "replace an existing --out (or --child-out) file")
    .option("--resume", "continue the interrupted (or failed) run kept in --db")
    .option(
      "--keep-real",
      "keep the real rows in --db too (synthor_real, synthor_reference, their model and codes), to debug or evaluate against; by default --db holds no real rows",
    )
    .addOption(
      new Option("--threads <n>", "DuckDB worker threads (the result does not depend on it)").argParser(
        positiveInt("--threads"),
      ),
    )
    .option(
      "--child <file>",
      "nested data: the members file (persons), linked to the source's households by --key",
    )
    .option(
      "--key <column>",
      "nested data: the column that links each member to its household (in both files)",
    )
    .option(
      "--nested",
      "nested data: the source has one list-of-struct column holding each household's members",
    )
    .option(
      "--child-column <name>",
      "nested data: which list-of-struct column holds the members (implies --nested)",
    )
    .option(
      "--child-out <file>",
      "nested data: also write the members table to a .csv, .parquet, .json or .ndjson file",
    )
    .option(
      "--child-out-table <name>",
      "nested data: name of the members table in --db (default: <out-table>_members)",
    )
    .option("--json", "print a machine-readable summary on stdout")
    .option("--quiet", "no progress on stderr")
    .addHelpText(
      "after",
      `
The run's history stays in --db: synthor_runs, synthor_iterations (the convergence curve),
synthor_proposals. Without --db nothing is kept but --out. The real rows never reach --db (unless
--keep-real): it holds aggregates, the synthetic table and the history; --resume reads the source again
and refuses it if its rows changed.

Examples:
  $ synthor synth examples/ecommerce/ecommerce.csv --rows 2000 --out synth.parquet --seed 7
  $ synthor synth real.csv --db run.duckdb && synthor query --db run.duckdb "from synthetic limit 5"
  $ synthor synth real.csv --db run.duckdb --resume      # after Ctrl-C
  $ synthor summarize real.csv --out summary.json        # aggregates only, cells under 5 rows left out
  $ synthor synth --from-summary summary.json --out synth.csv --seed 7   # no real rows needed
  $ OPENAI_API_KEY=... synthor synth real.csv --planner llm --model gpt-4.1-nano --db run.duckdb
  $ synthor synth real.csv --model Qwen/Qwen2.5-7B-Instruct --base-url http://localhost:8000/v1 --concurrency 4
  $ synthor synth real.csv --model gpt-4.1-nano --db run.duckdb --replay   # the same run again, no calls
  $ synthor synth real.csv --planner local --model-file SmolLM2-135M-Instruct.Q4_1.gguf --iterations 5
  $ synthor synth adult.csv --where "age between 30 and 40 and sex = 'Male'" --out men-30s.csv
  $ synthor synth trips.csv --targets time_activity.csv --rows 5000 --db m.duckdb --out x.csv
  $ synthor synth trips.csv --targets-sql "select time_bin, activity, count(*) from read_csv('survey.csv') group by all"
  $ synthor synth trips.csv --targets time_activity.csv --tilt "time_bin = '20-24' and dest = 'Z12' => 3"

--targets: the last column is n or count (proportions: they fix every cell) or share (the cells named
keep these shares, the others share what is left in their real proportions). Targets win over the real
data; --tilt multiplies matching rows' share after them. How far each target ended is in the summary,
in --json and in the table synthor_targets.

LLM planners send aggregates only, never rows (see docs/llm.md); \`synthor prompt\` shows what they send.

Nested data (households and their members):
  $ synthor synth households.csv --child persons.csv --key hhID --rows 20000 --db pop.duckdb \\
      --out synth_households.csv --child-out synth_persons.csv
    tables in pop.duckdb: synthetic (households, fresh keys 1..N in hhID) and synthetic_members
    (persons, each with its household's hhID); per-table TVD at both levels in synthor_nested_fidelity
  $ synthor synth --db pop.duckdb --table households_nested --nested --out synth.parquet
    (a table with one LIST of STRUCT column: writes the same shape to table synthetic)`,
    )
    .action(async (source: string | undefined, opts: SynthCliOptions, command: Command) => {
      const planners = await preparePlanner(opts, (line) => {
        if (!opts.quiet) process.stderr.write(`${line}\n`);
      });
      const stop = onInterrupt();
      if (wantsNested(opts)) {
        try {
          await synthNested(source, opts, planners, stop.signal);
        } catch (err) {
          reportFailure(err, opts);
          throw err;
        } finally {
          stop.dispose();
          await planners.close?.();
        }
        return;
      }
      let result: SynthResult;
      const progress = progressReporter({ quiet: opts.quiet ?? false });
      try {
        const spec = opts.fromSummary
          ? summarySource(source, opts.fromSummary, (key) => command.getOptionValueSource(key) === "cli")
          : sourceSpec(source, opts);
        if (spec.kind === "table" && !opts.db) {
          throw new SynthorError(
            "SOURCE_OPTIONS",
            "--table needs --db",
            "pass the DuckDB file that holds the table: --db FILE.duckdb",
          );
        }
        result = await synthesize({
          source: spec,
          reference: referenceFrom(opts),
          ...loopOptionsFrom(opts),
          ...(opts.trim !== undefined ? { trim: opts.trim === true ? 0.05 : opts.trim } : {}),
          plannerConfig: planners.config,
          planner: (db, summary) =>
            pausedForTests(
              planners.flat(db, summary, {
                iterations: opts.iterations,
                rowsTarget: opts.rows ?? summary.rows,
                maxGroups: opts.groups,
              }),
              stop.signal,
            ),
          outTable: opts.outTable,
          ...(opts.out ? { out: opts.out } : {}),
          overwrite: opts.overwrite ?? false,
          resume: opts.resume ?? false,
          onProgress: progress,
          signal: stop.signal,
        });
      } catch (err) {
        reportFailure(err, opts);
        throw err;
      } finally {
        progress.stop();
        stop.dispose();
        await planners.close?.();
      }
      if (opts.json) {
        process.stdout.write(`${formatJson(result)}\n`);
      } else if (!opts.quiet) {
        process.stderr.write(fidelitySummary(result, opts));
      }
      if (result.stoppedBecause === "interrupted") {
        process.stderr.write(
          `synthor: interrupted ${result.interruptedWhile ? `while ${result.interruptedWhile}, ` : ""}after iteration ${result.iterations}; nothing was written. ` +
            `${opts.db ? `Continue with the same command and --resume.` : "Pass --db FILE to be able to resume."}\n`,
        );
        process.exitCode = 130;
      }
    });
  return cmd;
}

/** With --json, a failed run says so on stdout too (the error itself goes to stderr). */
function reportFailure(err: unknown, opts: { json?: boolean }): void {
  if (!(err instanceof RunFailed) || !opts.json) return;
  const error = { code: err.code, message: err.message, hint: err.hint };
  process.stdout.write(`${formatJson({ ...err.failure, error })}\n`);
}

/**
 * Ctrl-C (SIGINT) while a run works: the first one fires the signal, which stops the run within moments
 * in any phase (see SynthOptions.signal); a second one exits at once (130).
 */
export function onInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\nsynthor: stopping (Ctrl-C again to exit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", handler);
    },
  };
}

/**
 * Options that read or reshape the real rows, which --from-summary never reads (the summary file fixes the
 * columns, kinds and bins): [option key, flag]. A new row-reading flag joins this list.
 */
const NEEDS_ROWS: [string, string][] = [
  ["table", "--table"],
  ["sql", "--sql"],
  ["categorical", "--categorical"],
  ["numeric", "--numeric"],
  ["ignore", "--ignore"],
  ["schema", "--schema"],
  ["maxCategories", "--max-categories"],
  ["describe", "--describe"],
  ["bins", "--bins"],
  ["subBins", "--sub-bins"],
  // The reference table is built from the rows: conditions, targets and tilts reweight real rows.
  ["where", "--where"],
  ["targets", "--targets"],
  ["targetsSql", "--targets-sql"],
  ["tilt", "--tilt"],
  // There are no real rows to keep.
  ["keepReal", "--keep-real"],
];

/** The source of `synth --from-summary FILE`, refusing what would need the rows too. */
export function summarySource(
  file: string | undefined,
  path: string,
  given: (key: string) => boolean,
): SummarySource {
  const clash = [
    ...(file !== undefined ? [`a real table (${file})`] : []),
    ...NEEDS_ROWS.filter(([key]) => given(key)).map(([, flag]) => flag),
  ];
  if (clash.length > 0) {
    throw new SynthorError(
      "SOURCE_OPTIONS",
      `--from-summary synthesizes without the real rows, so it does not go with ${clash.join(", ")}`,
      "drop them: the summary file fixes the columns, their kinds and bins (to change those, run synthor summarize again)",
    );
  }
  return { kind: "summary", path };
}

function fidelitySummary(r: SynthResult, opts: { schedule: Schedule; iterations: number }): string {
  const d = r.discrepancy;
  const mean = (xs: { tvd: number }[]) => (xs.length ? xs.reduce((s, x) => s + x.tvd, 0) / xs.length : 0);
  const worst = [...d.marginals, ...d.groups].sort((a, b) => b.tvd - a.tvd).slice(0, 5);
  const lines = [
    "",
    `synthesized ${r.rows} rows in ${r.iterations} iterations, ${r.seconds.toFixed(1)} s (stopped: ${stopText(r, opts)})`,
    `mean TVD: columns ${num(mean(d.marginals))}, groups ${num(mean(d.groups))}, all ${num(d.meanTvd)}`,
    "worst units:",
    formatTable(worst.map((u) => ({ unit: u.columns.join(" x "), tvd: num(u.tvd) }))),
    ...(r.reason ? [r.reason] : []),
    ...unusableLines(r.unusableIterations, r.iterations),
    ...referenceLines(r),
    r.stoppedBecause === "interrupted"
      ? ""
      : `table: ${r.outTable}${r.db !== ":memory:" ? ` in ${r.db}` : " (in memory)"}${r.outFile ? `; file: ${r.outFile}` : ""}`,
    "",
  ];
  return lines.join("\n");
}

/** The --where guarantee and each target's fit, for the summary on stderr. */
function referenceLines(r: SynthResult): string[] {
  const lines: string[] = [];
  const ref = r.reference;
  if (ref?.where) {
    lines.push(
      whereLine("rows", {
        real: ref.realRows,
        matching: ref.matchingRows,
        violations: ref.whereViolations,
        dropped: ref.whereDropped,
        made: r.rows,
      }),
    );
  }
  if (ref && ref.added.length > 0) lines.push(`columns added from the targets: ${ref.added.join(", ")}`);
  lines.push(...targetLines(r.targets ?? []));
  return lines;
}

/** Adds the planner options: --planner, the model and server, throughput, privacy, replay. */
export function addLlmOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--planner <name>",
        `who plans proposals (docs/planners.md): ${PLANNER_NAMES.join(", ")}; default: ${PLANNERS.filter(
          (k) => k.implied,
        )
          .map((k) => `${k.name} when ${k.implied?.replaceAll("`", "")}`)
          .join(", ")}, else ${PLANNER_NAMES.at(-1)}`,
      ).choices(PLANNER_NAMES),
    )
    .option(
      "--model <name>",
      `LLM to plan with (default with --planner llm: ${DEFAULT_MODEL}, or the only model --base-url serves)`,
    )
    .addOption(
      new Option(
        "--base-url <url>",
        "OpenAI-compatible server, e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama), http://localhost:8080/v1 (llama.cpp)",
      ).env("OPENAI_BASE_URL"),
    )
    .addOption(
      new Option("--api-key <key>", "API key (default: none for --base-url servers)").env("OPENAI_API_KEY"),
    )
    .option("--model-file <file>", "GGUF model for --planner local (needs the optional node-llama-cpp)")
    .addOption(
      new Option("--concurrency <n>", "LLM requests in flight: iterations planned ahead (see docs/llm.md)")
        .argParser(positiveInt("--concurrency"))
        .default(1),
    )
    .addOption(
      new Option(
        "--max-tokens <n>",
        "token budget of the run (prompt + completion); stops cleanly when spent",
      ).argParser(positiveInt("--max-tokens")),
    )
    .addOption(
      new Option("--temperature <x>", "LLM sampling temperature (paper: 0.8)")
        .argParser(nonNegative("--temperature"))
        .default(0.8),
    )
    .addOption(
      new Option(
        "--min-cell <k>",
        "draw nothing from fewer than k real rows, and never show the LLM a value, bin or cell they hold (1: off)",
      )
        .argParser(positiveInt("--min-cell"))
        .default(5),
    )
    .option(
      "--scenario <text>",
      'a what-if added to the proposal prompt, e.g. "There will be a concert from 20-24 at Tokyo Dome"',
    )
    .option("--replay", "answer every LLM request from the cache: rerun a past run exactly, with no calls")
    .option("--cache-dir <dir>", "where LLM requests and replies are kept", defaultCacheDir())
    .option("--no-cache", "neither read nor write the LLM reply cache")
    .addOption(
      new Option("--timeout <seconds>", "per LLM request attempt")
        .argParser(positiveInt("--timeout"))
        .default(120),
    );
}

function nonNegative(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `${flag} must be a number of at least 0, not "${value}"`,
        `e.g. ${flag} 0.8`,
      );
    }
    return n;
  };
}
