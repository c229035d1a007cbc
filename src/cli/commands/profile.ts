import { Command } from "commander";
import { formatNumber } from "../../discrepancy.ts";
import { type ColumnProfile, modelledKinds } from "../../profile.ts";
import { summarizeTable } from "../../summarize.ts";
import { type Cell, formatJson, formatTable, num } from "../format.ts";
import { addInputOptions, type InputOptions, openInput, withUsageErrors } from "../input.ts";

/** `synthor profile`: how every column will be treated, with its summary statistics. */
export function profileCommand(): Command {
  const cmd = withUsageErrors(new Command("profile")).description(
    "show how every column will be treated and its summary statistics",
  );
  addInputOptions(cmd)
    .option("--json", "print the profile as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ synthor profile examples/ecommerce/ecommerce.csv
  $ synthor profile data.parquet --ignore comment --categorical zip_code
  $ synthor profile --db warehouse.duckdb --table orders --json`,
    )
    .action(async (source: string | undefined, opts: InputOptions & { json?: boolean }) => {
      // The profile is shown even when no column can be modelled: it is where the user sees why.
      const { db, info, profiles } = await openInput(source, opts, { requireModelled: false });
      try {
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

/** A column name as the user would type it on a command line. */
function cliName(name: string): string {
  return /^[\w.-]+$/.test(name) ? name : JSON.stringify(name);
}
