import { Command, Option } from "commander";
import { cellLabel } from "../../discrepancy.ts";
import { SynthorError } from "../../errors.ts";
import { checkOutputPath } from "../../output.ts";
import type { ColumnProfile } from "../../profile.ts";
import type { ModelColumn } from "../../summarize.ts";
import { buildSummaryFile } from "../../summary-build.ts";
import { DEFAULT_MIN_CELL, type SummaryFile, summaryFileText, writeSummaryFile } from "../../summary-file.ts";
import { formatTable, num } from "../format.ts";
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
  minCell: number;
  out?: string;
  overwrite?: boolean;
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
      new Option(
        "--groups <n>",
        "without --group: how many inferred groups to show (the summary file keeps them all)",
      )
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
    .addOption(
      new Option(
        "--min-cell <k>",
        "leave out every cell (value, bin, combination) with fewer than k real rows; 0 keeps all",
      )
        .argParser(minCell)
        .default(DEFAULT_MIN_CELL),
    )
    .option("--out <file>", "write the summary file (JSON): what synth --from-summary synthesizes from")
    .option("--overwrite", "replace an existing --out file")
    .option("--json", "print the summary file on stdout")
    .addHelpText(
      "after",
      `
The summary file holds aggregates only: column profiles, quantile grids, pairwise associations and count
tables (every column, every pair, the groups, 3-way tables for the planner), with every cell under
--min-cell real rows left out. See docs/summary-format.md. With --db, the summaries also stay in the
database as tables: synthor_bins, synthor_edges, synthor_real_counts (unit, cell, n), synthor_real_fine.

Examples:
  $ synthor summarize examples/ecommerce/ecommerce.csv --group user_age,gender,product_category
  $ synthor summarize data.parquet --out summary.json && synthor synth --from-summary summary.json --out s.csv
  $ synthor summarize data.csv --min-cell 10 --out summary.json    # stricter: no cell under 10 rows
  $ synthor summarize data.csv --db summaries.duckdb && synthor query --db summaries.duckdb "from synthor_bins"`,
    )
    .action(async (source: string | undefined, opts: SummarizeOptions) => {
      if (opts.out) checkOutputPath(opts.out, opts.overwrite ?? false, "--out");
      const { db, info, profiles } = await openInput(source, opts);
      try {
        const given = parseGroups(
          opts.group,
          info.columns.map((c) => c.name),
        );
        const file = await buildSummaryFile(db, info, profiles, {
          bins: opts.bins,
          subBins: opts.subBins,
          minCell: opts.minCell,
          groups: given,
        });
        if (opts.out) writeSummaryFile(opts.out, file, opts.overwrite ?? false);
        if (opts.json) {
          process.stdout.write(summaryFileText(file));
          return;
        }
        const shown = given.length > 0 ? given : file.groups.slice(0, opts.groups);
        const modelled = file.columns.filter((c) => ["categorical", "numeric", "datetime"].includes(c.kind));
        const suppressed = file.tables.reduce((a, t) => a + t.suppressed.cells, 0);
        process.stdout.write(
          `${info.label}: ${info.rows} rows; ${modelled.length} modelled columns, ` +
            `${file.columns.filter((c) => c.kind === "identifier" || c.kind === "constant").length} regenerated (identifiers, constants)\n`,
        );
        process.stdout.write(
          `${file.tables.length} count tables; ${suppressed} cells with fewer than ${file.minCell} real rows left out\n`,
        );
        process.stdout.write(
          `groups${given.length > 0 ? "" : " (inferred from pairwise association)"}: ${shown.map((g) => `[${g.join(", ")}]`).join(" ") || "none"}\n\n`,
        );
        const byName = new Map(modelled.map((c) => [c.name, c]));
        for (const g of shown) {
          const table = file.tables.find(
            (t) => t.fine === null && t.columns.join("\u0000") === g.join("\u0000"),
          );
          if (!table) continue;
          const total = table.cells.reduce((a, [, n]) => a + n, 0);
          const top = [...table.cells].sort((a, b) => b[1] - a[1]).slice(0, 8);
          process.stdout.write(`contingency [${g.join(", ")}], top cells:\n`);
          process.stdout.write(
            `${formatTable(
              top.map(([cell, n]) => ({
                cell: g.map((c, i) => cellLabel(columnFor(byName.get(c), c), c, cell[i] ?? null)).join(", "),
                n,
                share: num(n / total),
              })),
            )}\n\n`,
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

/** A numeric column's main bins from the file's grid and edges, for labelling cells. */
function columnFor(entry: SummaryFile["columns"][number] | undefined, name: string): ModelColumn | undefined {
  if (!entry || entry.kind === "categorical") return undefined;
  const grid = entry.grid ?? [];
  const edges = entry.edges ?? [];
  return {
    ...(entry as ColumnProfile),
    name,
    kind: entry.kind as ModelColumn["kind"],
    bins: Array.from({ length: edges.length + 1 }, (_, b) => ({
      bin: b,
      lo: b === 0 ? (grid[0] ?? 0) : (edges[b - 1] as number),
      hi: b === edges.length ? (grid[grid.length - 1] ?? 0) : (edges[b] as number),
      n: 0,
      share: 0,
    })),
  };
}

function minCell(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--min-cell must be a whole number of at least 0, not "${value}"`,
      "e.g. --min-cell 5 (0 leaves no cell out)",
    );
  }
  return n;
}
