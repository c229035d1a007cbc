import { SynthorError } from "../../errors.ts";
import { type NestedSynthResult, synthesizeNested } from "../../nested/pipeline.ts";
import type { NestedSpec } from "../../nested/source.ts";
import { stopText } from "../../outcome.ts";
import type { PreparedPlanner } from "../../planners/types.ts";
import type { Schedule } from "../../schedule.ts";
import { sourceSpec } from "../../source.ts";
import { formatJson, formatTable, num, targetLines, whereLine } from "../format.ts";
import { type InputOptions, profileOptionsFrom, referenceFrom } from "../input.ts";
import { stageProgress } from "../progress.ts";
import { pausedForTests } from "../test-pause.ts";

/** The options `synth` takes for nested data, beside its own. */
export interface NestedCliOptions {
  child?: string;
  key?: string;
  nested?: boolean;
  childColumn?: string;
  childOut?: string;
  childOutTable?: string;
}

/** The synth options the flat and the nested loop take alike. */
export interface LoopCliOptions extends InputOptions {
  threads?: number;
  rows?: number;
  iterations: number;
  schedule: Schedule;
  proposals?: number;
  groups: number;
  seed: number;
  withinRange: "quantile" | "uniform";
  targetTvd?: number;
  patience?: number;
  maxEmptyIterations: number;
  bins: number;
  subBins: number;
  minCell: number;
  keepReal?: boolean;
}

/** Those options as the loop's (flat `synthesize` and `synthesizeNested` name them the same). */
export function loopOptionsFrom(opts: LoopCliOptions) {
  return {
    ...(opts.db ? { db: opts.db } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}),
    profile: profileOptionsFrom(opts),
    ...(opts.rows ? { rows: opts.rows } : {}),
    iterations: opts.iterations,
    schedule: opts.schedule,
    ...(opts.proposals ? { proposals: opts.proposals } : {}),
    groupsPerIteration: opts.groups,
    seed: opts.seed,
    withinRange: opts.withinRange,
    ...(opts.targetTvd !== undefined ? { targetTvd: opts.targetTvd } : {}),
    ...(opts.patience !== undefined ? { patience: opts.patience } : {}),
    maxEmptyIterations: opts.maxEmptyIterations,
    bins: opts.bins,
    subBins: opts.subBins,
    minCell: opts.minCell,
    keepReal: opts.keepReal ?? false,
  };
}

/** Whether the options ask for nested synthesis (a --child file, or a nested source). */
export function wantsNested(opts: NestedCliOptions): boolean {
  return (
    opts.child !== undefined ||
    opts.nested === true ||
    opts.childColumn !== undefined ||
    opts.key !== undefined ||
    opts.childOut !== undefined ||
    opts.childOutTable !== undefined
  );
}

/** Options of flat runs nested runs do not support yet: an error, not a silent no-op. */
const unsupported: [string, string][] = [["fromSummary", "--from-summary"]];

/** Runs `synth` for nested data: households and members (--child --key), or a nested table (--nested). */
export async function synthNested(
  source: string | undefined,
  // biome-ignore lint/suspicious/noExplicitAny: the synth command's parsed options, read field by field
  opts: any,
  planners: PreparedPlanner,
  signal: AbortSignal,
): Promise<void> {
  const main = sourceSpec(source, opts);
  if (main.kind === "table" && !opts.db) {
    throw new SynthorError(
      "SOURCE_OPTIONS",
      "--table needs --db",
      "pass the DuckDB file that holds the table: --db FILE.duckdb",
    );
  }
  if (opts.child === undefined && !opts.nested && opts.childColumn === undefined) {
    throw new SynthorError(
      "CONFIG_INVALID",
      "--key, --child-out and --child-out-table are for nested data",
      "give the members file with --child FILE (and --key), or --nested for a table with a list-of-struct column",
    );
  }
  for (const [key, flag] of unsupported) {
    if (opts[key] !== undefined && opts[key] !== false) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `${flag} is not supported for nested data yet`,
        `run again without ${flag}`,
      );
    }
  }
  const households = nestedPlanner(planners, opts.planner);
  let spec: NestedSpec;
  if (opts.child !== undefined) {
    if (!opts.key) {
      throw new SynthorError(
        "CONFIG_INVALID",
        "--child needs --key: the column that links each member to its household",
        `e.g. synthor synth households.csv --child ${opts.child} --key hhID`,
      );
    }
    spec = { kind: "linked", households: main, members: { kind: "file", path: opts.child }, key: opts.key };
  } else {
    spec = { kind: "nested", source: main, ...(opts.childColumn ? { list: opts.childColumn } : {}) };
  }
  const say = (line: string) => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
  };
  // The stages before the run starts (reading, summarizing, groups); then the iterations.
  const stages = stageProgress(process.stderr);
  let looping = false;
  let result: NestedSynthResult;
  try {
    result = await synthesizeNested({
      source: spec,
      ...loopOptionsFrom(opts),
      plannerConfig: planners.config,
      planner: (db, summary) => pausedForTests(households(db, summary), signal),
      outTable: opts.outTable,
      ...(opts.childOutTable ? { childOutTable: opts.childOutTable } : {}),
      ...(opts.out ? { out: opts.out } : {}),
      ...(opts.childOut ? { childOut: opts.childOut } : {}),
      overwrite: opts.overwrite ?? false,
      resume: opts.resume ?? false,
      reference: referenceFrom(opts),
      ...(opts.trim !== undefined ? { trim: opts.trim === true ? 0.05 : opts.trim } : {}),
      onProgress: (e) => {
        // Warnings are not progress: --quiet does not hide them.
        if (e.kind === "warning") {
          process.stderr.write(`synthor: warning: ${e.message}\n`);
          return;
        }
        if (opts.quiet) return;
        if (e.kind === "phase") {
          if (!looping) stages.show(e.phase);
        } else if (e.kind === "start") {
          looping = true;
          stages.stop();
          say(
            `synthor: run ${e.runId}, planner ${e.planner}, ${e.rowsTarget} households in up to ${e.iterations} iterations${e.resumedAt > 0 ? `, resuming after iteration ${e.resumedAt}` : ""}`,
          );
          say(`synthor: dependency groups: ${e.groups.map((g) => `[${g.join(", ")}]`).join(" ") || "none"}`);
        } else if (e.iteration === 1 || e.iteration % 10 === 0 || e.rows >= e.rowsTarget) {
          // Notes of the iterations shown; every iteration's are in synthor_iterations.notes.
          say(
            `iteration ${e.iteration}/${e.iterations}  households ${e.rows}/${e.rowsTarget}  mean TVD ${e.meanTvd.toFixed(4)}`,
          );
          for (const n of e.notes.slice(0, 3)) say(`  note: ${n}`);
        }
      },
      signal,
    });
  } finally {
    stages.stop();
  }
  if (opts.json) process.stdout.write(`${formatJson(result)}\n`);
  else if (!opts.quiet) process.stderr.write(nestedSummary(result, opts));
  if (result.stoppedBecause === "interrupted") {
    process.stderr.write(
      `synthor: interrupted after iteration ${result.iterations}; nothing was written. ` +
        `${opts.db ? "Continue with the same command and --resume." : "Pass --db FILE to be able to resume."}\n`,
    );
    process.exitCode = 130;
  }
}

function nestedSummary(r: NestedSynthResult, opts: { schedule: Schedule; iterations: number }): string {
  const f = r.fidelity;
  const worst = [...f.units].sort((a, b) => b.tvd - a.tvd).slice(0, 5);
  const i = r.integrity;
  return [
    "",
    `synthesized ${r.households} households with ${r.members} members in ${r.iterations} iterations, ${r.seconds.toFixed(1)} s (stopped: ${stopText(r, opts)})`,
    `TVD: household size ${num(f.sizeTvd)}; mean of household tables ${num(f.householdMean)}, household x member counts ${num(f.crossMean)}, member tables ${num(f.memberMean)}`,
    `links: ${i.households} households, ${i.distinct_keys} distinct keys, ${i.members} members, ${i.orphans} without a household (${(i.linkedShare * 100).toFixed(1)}% linked)`,
    "worst tables:",
    formatTable(worst.map((u) => ({ level: u.level, table: u.columns.join(" x "), tvd: num(u.tvd) }))),
    ...targetLines(r.targets ?? []),
    ...(r.where
      ? [
          whereLine("households", {
            real: r.where.realHouseholds,
            matching: r.where.matchingHouseholds,
            violations: r.where.whereViolations,
            dropped: r.where.whereDropped,
            made: r.households,
          }),
        ]
      : []),
    `tables: ${r.outTable}${r.childOutTable ? ` (households) and ${r.childOutTable} (members)` : ""}${r.db !== ":memory:" ? ` in ${r.db}` : " (in memory)"}; per-table TVD in synthor_nested_fidelity` +
      `${r.outFile ? `; files: ${r.outFile}${r.childOutFile ? `, ${r.childOutFile}` : ""}` : ""}`,
    "",
  ].join("\n");
}

/** The prepared kind's household planner, or an error for a kind that has none. */
function nestedPlanner(planners: PreparedPlanner, name: string | undefined) {
  if (!planners.nested) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--planner ${name ?? String(planners.config.kind)} does not plan nested data`,
      "choose a planner that does (docs/planners.md lists them), e.g. --planner stats",
    );
  }
  return planners.nested;
}
