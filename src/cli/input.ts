import { type Command, Option } from "commander";
import { Db } from "../db/connection.ts";
import { SynthorError } from "../errors.ts";
import { type ColumnProfile, type ProfileOptions, profileColumns } from "../profile.ts";
import { readSource, type SourceInfo, sourceSpec } from "../source.ts";

/** Options every command that reads a real table takes. */
export interface InputOptions {
  db?: string;
  table?: string;
  sql?: string;
  categorical?: string[];
  numeric?: string[];
  ignore?: string[];
  schema?: string;
  maxCategories?: number;
  describe?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the source and profiling options: `[source]`, --db, --table, --sql, overrides. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .argument("[source]", "the real table: a .csv, .tsv, .parquet, .json or .ndjson file")
    .option("--db <file>", "DuckDB database file to read --table from and to keep results in")
    .option("--table <name>", "read the real table from this table of --db")
    .option(
      "--sql <query>",
      "read the real table from this DuckDB query (may use read_csv, read_parquet, ...)",
    )
    .option(
      "--categorical <cols>",
      "treat these columns as categorical (comma-separated; repeatable)",
      collect,
    )
    .option("--numeric <cols>", "treat these columns as numeric (comma-separated; repeatable)", collect)
    .option("--ignore <cols>", "leave these columns out (comma-separated; repeatable)", collect)
    .option("--schema <file>", "JSON schema file with each column's kind and description")
    .option('--describe <col="meaning">', "what a column means, shown to LLM planners (repeatable)", collect)
    .addOption(
      new Option("--max-categories <n>", "numbers with at most this many distinct values are categorical")
        .argParser(positiveInt("--max-categories"))
        .default(20),
    );
}

/** Opens the database, reads the source and profiles its columns. The caller closes `db`. */
export async function openInput(
  source: string | undefined,
  opts: InputOptions,
): Promise<{ db: Db; info: SourceInfo; profiles: ColumnProfile[] }> {
  const spec = sourceSpec(source, opts);
  if (spec.kind === "table" && !opts.db) {
    throw new SynthorError(
      "SOURCE_OPTIONS",
      "--table needs --db",
      "pass the DuckDB file that holds the table: --db FILE.duckdb",
    );
  }
  const db = await Db.open(opts.db ?? ":memory:");
  try {
    const info = await readSource(db, spec);
    const profileOptions: ProfileOptions = { maxCategories: opts.maxCategories ?? 20 };
    const names = info.columns.map((c) => c.name);
    if (opts.categorical) profileOptions.categorical = splitColumns(opts.categorical, names);
    if (opts.numeric) profileOptions.numeric = splitColumns(opts.numeric, names);
    if (opts.ignore) profileOptions.ignore = splitColumns(opts.ignore, names);
    if (opts.schema) profileOptions.schemaFile = opts.schema;
    if (opts.describe) profileOptions.describe = parseDescribe(opts.describe);
    const profiles = await profileColumns(db, info, profileOptions);
    return { db, info, profiles };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Column lists from flags: each flag value is split on commas, unless the whole value is a column name
 * (so a column named "a,b" can still be given).
 */
export function splitColumns(values: string[], known: string[]): string[] {
  return values.flatMap((v) =>
    known.includes(v)
      ? [v]
      : v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
  );
}

function parseDescribe(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `--describe ${v} has no column`,
        'write it as --describe age="age in years"',
      );
    }
    out[v.slice(0, eq)] = v.slice(eq + 1).replace(/^"(.*)"$/, "$1");
  }
  return out;
}

/** A commander parser for positive integers with an error that names the flag. */
export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `${flag} must be a positive whole number, not "${value}"`,
        `e.g. ${flag} 6`,
      );
    }
    return n;
  };
}

/** A commander parser for numbers in [0, 1]. */
export function fraction(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `${flag} must be a number between 0 and 1, not "${value}"`,
        `e.g. ${flag} 0.05`,
      );
    }
    return n;
  };
}

/** Parses repeated --group a,b,c flags into column groups. */
export function parseGroups(values: string[] | undefined, known: string[]): string[][] {
  return (values ?? []).map((v) => splitColumns([v], known));
}
