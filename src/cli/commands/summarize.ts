import { writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { gapTable } from "../../discrepancy.ts";
import { SynthorError } from "../../errors.ts";
import { inferGroups } from "../../groups.ts";
import { modelledKinds } from "../../profile.ts";
import { summarizeTable } from "../../summarize.ts";
import { formatJson, formatTable, num } from "../format.ts";
import {
  addInputOptions,
  type InputOptions,
  openInput,
  parseGroups,
  positiveInt,
  withUsageErrors,
} from "../input.ts";

interface SummarizeOptions extends InputOptions {
  group?: string[];
  groups: number;
  bins: number;
  subBins: number;
  out?: string;
  json?: boolean;
}

/** `synthor summarize`: the real side's summaries, as JSON or as tables in a DuckDB file. */
export function summarizeCommand(): Command {
  const cmd = withUsageErrors(new Command("summarize")).description(
    "compute the summaries the synthesizer works from: bins, frequency and contingency tables",
  );
  addInputOptions(cmd)
    .option(
      "--group <cols>",
      "a dependency group of 2 to 4 columns, comma-separated (repeatable)",
      (v, p: string[] = []) => [...p, v],
    )
    .addOption(
      new Option("--groups <n>", "without --group: how many groups to infer from pairwise association")
        .argParser(positiveInt("--groups"))
        .default(3),
    )
    .addOption(
      new Option("--bins <n>", "main bins per numeric column").argParser(positiveInt("--bins")).default(6),
    )
    .addOption(
      new Option("--sub-bins <n>", "sub-bins inside the worst main bin")
        .argParser(positiveInt("--sub-bins"))
        .default(8),
    )
    .option("--out <file>", "write the summaries as JSON to this file")
    .option("--json", "print the summaries as JSON on stdout")
    .addHelpText(
      "after",
      `
With --db, the summaries also stay in the database as tables: synthor_bins, synthor_edges,
synthor_real_counts (unit, cell, n) for every column and group, synthor_real_fine (sub-bin counts).

Examples:
  $ synthor summarize examples/ecommerce/ecommerce.csv --group user_age,gender,product_category
  $ synthor summarize data.parquet --out summary.json
  $ synthor summarize data.csv --db summaries.duckdb && synthor query --db summaries.duckdb "from synthor_bins"`,
    )
    .action(async (source: string | undefined, opts: SummarizeOptions) => {
      const { db, info, profiles } = await openInput(source, opts);
      try {
        let groups = parseGroups(
          opts.group,
          info.columns.map((c) => c.name),
        );
        let inferred = false;
        if (groups.length === 0) {
          // Groups need the real codes, which summarizeTable builds: summarize once without groups first.
          await summarizeTable(db, info, profiles, { bins: opts.bins, subBins: opts.subBins });
          const modelled = profiles.filter((p) => modelledKinds.includes(p.kind));
          const { candidates } = await inferGroups(db, modelled);
          groups = candidates.slice(0, opts.groups).map((c) => c.columns);
          inferred = true;
        }
        const summary = await summarizeTable(db, info, profiles, {
          bins: opts.bins,
          subBins: opts.subBins,
          groups,
        });
        const gaps = await gapTable(db, summary, summary.groups);
        const contingency = summary.groups.map((g) => ({
          columns: g.columns,
          cells: gaps
            .filter((x) => x.unit === g.id)
            .map((x) => ({ cell: x.cell, label: x.label, n: x.realN, share: x.realShare })),
        }));
        const result = { ...summary, groupsInferred: inferred, contingency };
        if (opts.out) writeOut(opts.out, `${formatJson(result)}\n`);
        if (opts.json) {
          process.stdout.write(`${formatJson(result)}\n`);
          return;
        }
        process.stdout.write(
          `${info.label}: ${info.rows} rows; ${summary.columns.length} modelled columns, ` +
            `${summary.passthrough.length} regenerated (identifiers, constants)\n`,
        );
        process.stdout.write(
          `groups${inferred ? " (inferred from pairwise association)" : ""}: ${summary.groups.map((g) => `[${g.columns.join(", ")}]`).join(" ") || "none"}\n\n`,
        );
        for (const c of contingency) {
          process.stdout.write(`contingency [${c.columns.join(", ")}], top cells:\n`);
          process.stdout.write(
            `${formatTable(c.cells.slice(0, 8).map((x) => ({ cell: x.label, n: x.n, share: num(x.share) })))}\n\n`,
          );
        }
        if (opts.out) process.stdout.write(`wrote ${opts.out}\n`);
        if (opts.db)
          process.stdout.write(`tables kept in ${opts.db}: synthor_bins, synthor_real_counts, ...\n`);
      } finally {
        db.close();
      }
    });
  return cmd;
}

function writeOut(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new SynthorError(
      "OUTPUT_EXISTS",
      `cannot write ${path}: ${(err as Error).message}`,
      "check that its directory exists and is writable, or give --out another path",
      { file: path },
    );
  }
}
