import { Command, Option } from "commander";
import { DEFAULT_MODEL } from "../../planners/llm-kinds.ts";
import { previewPrompts } from "../../planners/preview.ts";
import type { PlannerOptions } from "../../planners/types.ts";
import { summarizeTable } from "../../summarize.ts";
import { formatJson } from "../format.ts";
import {
  addInputOptions,
  type InputOptions,
  openInput,
  parseGroups,
  positiveInt,
  withUsageErrors,
} from "../input.ts";
import { addLlmOptions } from "./synth.ts";

interface PromptCliOptions extends InputOptions, PlannerOptions {
  rows?: number;
  iterations: number;
  proposals?: number;
  groups: number;
  group?: string[];
  which: "both" | "copula" | "proposal";
  json?: boolean;
}

/**
 * `synthor prompt`: the exact prompts an LLM run would send, without calling anyone: p_copula, and
 * p_proposal of the first iteration (an empty synthetic table). The first iteration's groups are the
 * copula step's reply when the reply cache holds it for these options, else --group, else the
 * statistical groups (said in the header).
 */
export function promptCommand(): Command {
  const cmd = withUsageErrors(new Command("prompt")).description(
    "print the prompts an LLM run would send (the paper's p_copula and p_proposal), without calling anyone",
  );
  addInputOptions(cmd)
    .addOption(
      new Option(
        "--rows <n>",
        "rows the run would synthesize (default: as many as the real table)",
      ).argParser(positiveInt("--rows")),
    )
    .addOption(
      new Option("--iterations <n>", "iterations the run would make")
        .argParser(positiveInt("--iterations"))
        .default(100),
    )
    .addOption(
      new Option("--proposals <n>", "proposals per request (default 5)").argParser(
        positiveInt("--proposals"),
      ),
    )
    .addOption(
      new Option("--groups <n>", "groups the copula step may return and each iteration grounds")
        .argParser(positiveInt("--groups"))
        .default(3),
    )
    .option(
      "--group <cols>",
      "ground this group in the proposal prompt (repeatable)",
      (v, p: string[] = []) => [...p, v],
    )
    .addOption(
      new Option("--seed <n>", "the run's seed (finds its cached copula reply)").argParser(Number).default(0),
    )
    .addOption(
      new Option("--which <prompt>", "print only one prompt, as sent")
        .choices(["both", "copula", "proposal"])
        .default("both"),
    )
    .option("--json", "print the prompts as JSON");
  addLlmOptions(cmd).addHelpText(
    "after",
    `
The prompts hold aggregates only: shares of categories, bins and group cells with at least --min-cell
real rows, quantile ranges. Nothing is sent anywhere.

Examples:
  $ synthor prompt examples/ecommerce/ecommerce.csv
  $ synthor prompt real.csv --which proposal --scenario "There will be a concert from 20-24 at Tokyo Dome"
  $ synthor prompt real.csv --describe age="age in years" --min-cell 10 --json`,
  );
  cmd.action(async (source: string | undefined, opts: PromptCliOptions) => {
    const { db, info, profiles } = await openInput(source, opts);
    try {
      // As a run summarizes (its grids' ends pulled in at --min-cell), so the prompt is the one it sends.
      const summary = await summarizeTable(db, info, profiles, { minCell: opts.minCell });
      const p = await previewPrompts(db, summary, {
        model: opts.model ?? (opts.modelFile ? basename(opts.modelFile) : DEFAULT_MODEL),
        cacheDir: opts.cacheDir,
        cache: opts.cache,
        temperature: opts.temperature,
        minCell: opts.minCell,
        groups: opts.groups,
        seed: opts.seed,
        proposals: opts.proposals,
        scenario: opts.scenario,
        given: parseGroups(
          opts.group,
          info.columns.map((c) => c.name),
        ),
        rows: opts.rows ?? summary.rows,
        iterations: opts.iterations,
      });
      const { copula, proposal, rows } = p;
      const groupText = p.groups.map((g) => `[${g.join(", ")}]`).join(" ") || "none";
      if (opts.json) {
        process.stdout.write(
          `${formatJson({ copula, proposal, iteration: 1, rows, groups: p.groups, groupsFrom: p.groupsFrom })}\n`,
        );
        return;
      }
      if (opts.which === "copula") {
        process.stdout.write(`${copula}\n`);
        return;
      }
      if (opts.which === "proposal") {
        process.stdout.write(`${proposal}\n`);
        return;
      }
      process.stdout.write(`===== p_copula: the copula step (once per run) =====\n${copula}\n\n`);
      process.stdout.write(
        `===== p_proposal: iteration 1 (${rows} rows; groups ${groupText}, from ${p.groupsFrom}) =====\n${proposal}\n`,
      );
    } finally {
      db.close();
    }
  });
  return cmd;
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
