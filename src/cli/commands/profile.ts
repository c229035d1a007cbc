import { Command } from "commander";
import { formatNumber } from "../../discrepancy.ts";
import { cliName } from "../../names.ts";
import { checkOutputPath, writeTextAtomically } from "../../output.ts";
import { type ColumnProfile, DEFAULT_MAX_CATEGORIES, modelledKinds } from "../../profile.ts";
import { readSchemaFile, schemaOf, schemaText } from "../../schema.ts";
import { summarizeTable } from "../../summarize.ts";
import { type Cell, formatJson, formatTable, num } from "../format.ts";
import { addInputOptions, type InputOptions, openInput, withUsageErrors } from "../input.ts";

interface ProfileCliOptions extends InputOptions {
  json?: boolean;
  schemaOut?: string;
  overwrite?: boolean;
}

/** `synthor profile`: how every column will be treated, with its summary statistics. */
export function profileCommand(): Command {
  const cmd = withUsageErrors(new Command("profile")).description(
    "show how every column will be treated and its summary statistics",
  );
  addInputOptions(cmd)
    .option("--json", "print the profile as JSON")
    .option(
      "--schema-out <file>",
      "write each column's kind as a schema file, to edit and pass back with --schema",
    )
    .option("--overwrite", "replace an existing --schema-out file")
    .addHelpText(
      "after",
      `
Examples:
  $ synthor profile examples/ecommerce/ecommerce.csv
  $ synthor profile data.parquet --ignore comment --categorical zip_code
  $ synthor profile --db warehouse.duckdb --table orders --json
  $ synthor profile data.csv --schema-out schema.json     # edit the kinds, then:
  $ synthor synth data.csv --schema schema.json --out synth.csv`,
    )
    .action(async (source: string | undefined, opts: ProfileCliOptions) => {
      if (opts.schemaOut) checkOutputPath(opts.schemaOut, opts.overwrite ?? false, "--schema-out");
      // The profile is shown even when no column can be modelled: it is where the user sees why.
      const { db, info, profiles } = await openInput(source, opts, { requireModelled: false });
      try {
        if (opts.schemaOut) writeSchemaOut(opts.schemaOut, profiles, opts);
        // summarizeTable needs at least one modelled column; without one there are no statistics to show.
        const summary = profiles.some((p) => modelledKinds.includes(p.kind))
          ? await summarizeTable(db, info, profiles)
          : undefined;
        const byName = new Map((summary?.columns ?? []).map((c) => [c.name, c]));
        if (opts.json) {
          const columns = profiles.map((p) => ({ ...p, ...(byName.get(p.name) ?? {}) }));
          process.stdout.write(`${formatJson({ source: info.label, rows: info.rows, columns })}\n`);
          return;
        }
        const rows: Record<string, Cell>[] = profiles.map((p) => {
          const c = byName.get(p.name);
          let stats = "";
          if (c?.categories) {
            stats = c.categories
              .slice(0, 4)
              .map((x) => `${x.value ?? "NULL"} ${num(x.share, 2)}`)
              .join(", ");
            if (c.categories.length > 4) stats += `, ... (${c.categories.length})`;
          } else if (c?.summary) {
            const s = c.summary;
            if (c.kind === "datetime") {
              // Datetimes are modelled as seconds since 1970; people read them as dates.
              const at = (x: number | null) => (x === null ? "" : formatNumber(c, x));
              stats = `min ${at(s.min)} p50 ${at(s.p50)} max ${at(s.max)}; ${c.bins?.length ?? 0} bins`;
            } else {
              stats = `min ${num(s.min)} p50 ${num(s.p50)} max ${num(s.max)} mean ${num(s.mean)} sd ${num(s.sd)}; ${c.bins?.length ?? 0} bins`;
            }
          } else if (p.kind === "constant") {
            stats = `always ${p.min}`;
          }
          return row(p, stats);
        });
        process.stdout.write(
          `${info.label}: ${plural(info.rows, "row")}, ${plural(profiles.length, "column")}\n\n`,
        );
        process.stdout.write(`${formatTable(rows)}\n`);
        if (!summary) {
          process.stdout.write(
            `\nnote: no column can be modelled, so nothing can be synthesized; override a kind, e.g. --categorical ${cliName(profiles[0]?.name ?? "COLUMN")}\n`,
          );
        }
      } finally {
        db.close();
      }
    });
  return cmd;
}

/**
 * Writes the kinds of the profile as a schema file (atomically; an existing file only with --overwrite),
 * with the maxCategories they were detected with, and says so on stderr (stdout may be --json).
 */
function writeSchemaOut(path: string, profiles: ColumnProfile[], opts: ProfileCliOptions): void {
  const maxCategories =
    opts.maxCategories ??
    (opts.schema ? readSchemaFile(opts.schema).maxCategories : undefined) ??
    DEFAULT_MAX_CATEGORIES;
  writeTextAtomically(path, schemaText(schemaOf(profiles, maxCategories)), {
    flag: "--schema-out",
    overwrite: opts.overwrite ?? false,
  });
  process.stderr.write(
    `synthor: wrote the kinds of ${plural(profiles.length, "column")} to ${path}; edit them and pass the file back with --schema ${path}\n`,
  );
}

function row(p: ColumnProfile, stats: string): Record<string, Cell> {
  return {
    column: p.name,
    kind: p.kind + (p.integral && p.kind === "numeric" ? " (integer)" : ""),
    type: p.sqlType,
    nulls: `${num(p.nullShare * 100, 3)}%`,
    distinct: p.distinct,
    summary: stats,
    why: p.reason,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
