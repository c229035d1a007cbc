import { Command, Option } from "commander";
import { Db } from "../../db/connection.ts";
import { SynthorError } from "../../errors.ts";
import { formatCsv, formatJson, formatTable } from "../format.ts";

/** `synthor query`: SELECT over real and synthetic tables with the macros loaded. */
export function queryCommand(): Command {
  return new Command("query")
    .description("run SQL against a synthor database, with the synthor macros loaded")
    .argument("<sql>", 'the query, e.g. "select * from synthor_iterations"')
    .option("--db <file>", "the DuckDB database file (default: an empty in-memory database)")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "csv", "json"]).default("table"),
    )
    .addHelpText(
      "after",
      `
Examples:
  $ synthor query --db run.duckdb "select iteration, rows, mean_tvd from synthor_iterations"
  $ synthor query --db run.duckdb "from synthor_frequency('synthor_synthetic', 'gender')" --format csv
  $ synthor query "from synthor_main_bins('data.parquet', 'price', 6)"`,
    )
    .action(async (sql: string, opts: { db?: string; format: "table" | "csv" | "json" }) => {
      const db = await Db.open(opts.db ?? ":memory:");
      try {
        let rows: Record<string, unknown>[];
        try {
          const reader = await db.connection.runAndReadAll(sql);
          rows = reader.getRowObjectsJson() as Record<string, unknown>[];
        } catch (err) {
          throw new SynthorError(
            "SQL_FAILED",
            `query failed: ${(err as Error).message}`,
            opts.db
              ? 'list the tables with: synthor query --db FILE "show tables"'
              : "pass --db FILE to query a synthor database",
          );
        }
        const out =
          opts.format === "json"
            ? formatJson(rows)
            : opts.format === "csv"
              ? formatCsv(rows as never)
              : formatTable(rows as never);
        process.stdout.write(`${out}\n`);
      } finally {
        db.close();
      }
    });
}
