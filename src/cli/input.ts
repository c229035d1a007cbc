import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { type Command, Option } from "commander";
import { Db } from "../db/connection.ts";
import { installRunMacros } from "../db/macros.ts";
import { SynthorError } from "../errors.ts";
import { type ColumnProfile, type ProfileOptions, profileColumns, splitColumnList } from "../profile.ts";
import { parseTilt, type ReferenceOptions } from "../reference.ts";
import { readSource, renamedWarning, type SourceInfo, sourceSpec } from "../source.ts";
import type { TargetSpec } from "../targets.ts";

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

/**
 * Usage errors of a subcommand (unknown option, missing argument) end in exit code 2 like the program's:
 * commander does not pass exitOverride and showHelpAfterError on to commands added with addCommand.
 */
export function withUsageErrors(cmd: Command): Command {
  return cmd.exitOverride().showHelpAfterError(`(run synthor ${cmd.name()} --help for usage)`);
}

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
      new Option(
        "--max-categories <n>",
        "numbers with at most this many distinct values are categorical (default: 20, or the schema file's)",
      ).argParser(positiveInt("--max-categories")),
    );
}

/** Opens the database, reads the source and profiles its columns. The caller closes `db`. */
export async function openInput(
  source: string | undefined,
  opts: InputOptions,
  options: { requireModelled?: boolean } = {},
): Promise<{ db: Db; info: SourceInfo; profiles: ColumnProfile[] }> {
  const spec = sourceSpec(source, opts);
  if (spec.kind === "table" && !opts.db) {
    throw new SynthorError(
      "SOURCE_OPTIONS",
      "--table needs --db",
      "pass the DuckDB file that holds the table: --db FILE.duckdb",
    );
  }
  // --db names a file to keep results in, created if need be; a --table can only come from an existing one.
  const db = await openDb(opts.db, { mustExist: spec.kind === "table" });
  try {
    const info = await readSource(db, spec);
    const renamed = renamedWarning(info);
    if (renamed) process.stderr.write(`synthor: warning: ${renamed}\n`);
    const profileOptions = profileOptionsFrom(opts);
    if (options.requireModelled === false) profileOptions.requireModelled = false;
    const profiles = await profileColumns(db, info, profileOptions);
    // A database the command keeps its summaries in also gets the macros, for a plain DuckDB session on
    // it; once the source is read, so that a command refused for its input leaves the file as it was.
    const macros = await installRunMacros(db);
    if (macros) process.stderr.write(`synthor: warning: ${macros}\n`);
    return { db, info, profiles };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens the DuckDB file given with --db (or an in-memory database), with errors that name the file.
 * `mustExist`: a missing file is an error instead of a new empty database.
 */
export async function openDb(
  path: string | undefined,
  options: { mustExist?: boolean; persistMacros?: boolean; readOnly?: boolean } = {},
): Promise<Db> {
  if (path === undefined) return Db.open(":memory:");
  if (options.mustExist && !existsSync(path)) {
    throw new SynthorError(
      "SOURCE_NOT_FOUND",
      `database file not found: ${path}`,
      `check the --db path (it is relative to the current directory, ${process.cwd()})`,
      { source: path },
    );
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `--db ${path} is a directory`,
      "--db takes a DuckDB database file, e.g. --db work.duckdb",
      { source: path },
    );
  }
  // DuckDB opens some other files (a CSV, say) as a database held in memory: nothing would be kept.
  if (existsSync(path) && statSync(path).size > 0 && !isDuckDbFile(path)) {
    const literal = `'${path.replaceAll("'", "''")}'`;
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `--db ${path} is not a DuckDB database file`,
      `--db names a DuckDB file to read from and keep results in (a new name creates one); read data files as the source instead, e.g. synthor profile ${path}, or in SQL with read_csv(${literal})`,
      { source: path },
    );
  }
  try {
    return await Db.open(path, {
      persistMacros: options.persistMacros ?? false,
      readOnly: options.readOnly ?? false,
    });
  } catch (err) {
    if (err instanceof SynthorError) throw err;
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `cannot open database ${path}: ${reason}`,
      /lock/i.test(reason ?? "")
        ? "another process has it open; close it (or the duckdb shell) and try again"
        : "--db takes a DuckDB database file; give a new file name to create one",
      { source: path },
    );
  }
}

/** A DuckDB database file starts with an 8-byte checksum and the magic bytes "DUCK". */
function isDuckDbFile(path: string): boolean {
  const header = Buffer.alloc(12);
  const fd = openSync(path, "r");
  try {
    readSync(fd, header, 0, 12, 0);
  } finally {
    closeSync(fd);
  }
  return header.subarray(8, 12).toString("latin1") === "DUCK";
}

/** Profile options from the flags (profileColumns splits comma-separated column lists). */
export function profileOptionsFrom(opts: InputOptions): ProfileOptions {
  // No default here: without the flag, the schema file's maxCategories (or 20) applies.
  const profileOptions: ProfileOptions = {};
  if (opts.maxCategories !== undefined) profileOptions.maxCategories = opts.maxCategories;
  if (opts.categorical) profileOptions.categorical = opts.categorical;
  if (opts.numeric) profileOptions.numeric = opts.numeric;
  if (opts.ignore) profileOptions.ignore = opts.ignore;
  if (opts.schema) profileOptions.schemaFile = opts.schema;
  if (opts.describe) profileOptions.describe = parseDescribe(opts.describe);
  return profileOptions;
}

/**
 * Column lists from flags: each flag value is split on commas, joining pieces back where they make a
 * column name (so a column named "a,b" can still be given).
 */
export function splitColumns(values: string[], known: string[]): string[] {
  const names = new Set(known);
  return values.flatMap((v) => splitColumnList(v, names));
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

/** A commander parser for whole numbers (negative allowed), with an error that names the flag. */
export function wholeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isSafeInteger(n)) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `${flag} must be a whole number, not "${value}"`,
        `e.g. ${flag} 7`,
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

/** The reference options of `synth` (--where, --targets, --targets-sql, --tilt), flat or nested. */
export function referenceFrom(opts: {
  where?: string;
  targets?: string[];
  targetsSql?: string[];
  tilt?: string[];
}): ReferenceOptions {
  const targets: TargetSpec[] = [
    ...(opts.targets ?? []).map((path) => ({ kind: "file" as const, path })),
    ...(opts.targetsSql ?? []).map((sql) => ({ kind: "sql" as const, sql })),
  ];
  return {
    ...(opts.where !== undefined ? { where: opts.where } : {}),
    targets,
    tilts: (opts.tilt ?? []).map(parseTilt),
  };
}
