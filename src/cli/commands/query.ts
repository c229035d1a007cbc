import type { DuckDBDecimalType, DuckDBValueConverter, Json } from "@duckdb/node-api";
import { Command, Option } from "commander";
import { SynthorError } from "../../errors.ts";
import { formatCsv, formatJson, formatTable } from "../format.ts";
import { openDb, withUsageErrors } from "../input.ts";

/** `synthor query`: SELECT over real and synthetic tables with the macros loaded. */
export function queryCommand(): Command {
  return withUsageErrors(new Command("query"))
    .description("run SQL against a synthor database, with the synthor macros loaded")
    .argument("<sql>", 'the query, e.g. "select * from synthor_iterations"')
    .option("--db <file>", "an existing DuckDB database file (default: an empty in-memory database)")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "csv", "json"]).default("table"),
    )
    .option("--write", "open --db for writing (create tables, ...); by default it is opened read-only")
    .addHelpText(
      "after",
      `
Examples:
  $ synthor query --db run.duckdb "select iteration, rows_total, mean_tvd from synthor_iterations"
  $ synthor query --db run.duckdb "from synthor_frequency('synthetic', 'gender')" --format csv
  $ synthor query "from synthor_main_bins('data.parquet', 'price', 6)"`,
    )
    .action(async (sql: string, opts: { db?: string; format: "table" | "csv" | "json"; write?: boolean }) => {
      const db = await openDb(opts.db, { mustExist: true, readOnly: !opts.write });
      try {
        let rows: Record<string, unknown>[];
        let columns: string[];
        try {
          const reader = await db.connection.runAndReadAll(sql);
          columns = reader.columnNames();
          rows = reader.convertRowObjects(exactJson(await import("@duckdb/node-api")));
        } catch (err) {
          throw queryError(err, opts.db);
        }
        const out =
          opts.format === "json"
            ? formatJson(rows)
            : opts.format === "csv"
              ? formatCsv(rows as never, columns)
              : formatTable(rows as never, columns);
        process.stdout.write(`${out}\n`);
      } finally {
        db.close();
      }
    });
}

/**
 * DuckDB's JSON conversion, except that counts and decimals stay numbers when a double holds them
 * exactly (it turns every BIGINT into a string); larger ones stay strings so no digit is lost. The client
 * is passed in: it is loaded when a database opens, not when the CLI starts.
 */
const exactJson =
  ({
    DuckDBTypeId,
    JsonDuckDBValueConverter,
  }: typeof import("@duckdb/node-api")): DuckDBValueConverter<Json> =>
  (value, type, converter) => {
    const json = JsonDuckDBValueConverter(value, type, converter);
    if (typeof json !== "string") return json;
    switch (type.typeId) {
      case DuckDBTypeId.BIGINT:
      case DuckDBTypeId.UBIGINT:
      case DuckDBTypeId.HUGEINT:
      case DuckDBTypeId.UHUGEINT: {
        const n = Number(json);
        return Number.isSafeInteger(n) ? n : json;
      }
      case DuckDBTypeId.DECIMAL:
        return (type as DuckDBDecimalType).width <= 15 ? Number(json) : json;
      default:
        return json;
    }
  };

function queryError(err: unknown, dbPath: string | undefined): SynthorError {
  const message = (err instanceof Error ? err.message : String(err)).trim();
  let hint: string;
  if (/^Parser Error/.test(message)) {
    hint = "fix the SQL syntax at the place marked above";
  } else if (/^Catalog Error: Table/.test(message)) {
    hint = dbPath
      ? `list the tables with: synthor query --db ${dbPath} "show tables"`
      : "without --db the database is empty: pass --db FILE.duckdb, or read a file with read_csv('...') or read_parquet('...')";
  } else {
    hint = 'run it in the duckdb shell for details, or check the column names with "describe TABLE"';
  }
  return new SynthorError("SQL_FAILED", `query failed: ${message}`, hint, dbPath ? { db: dbPath } : {});
}
