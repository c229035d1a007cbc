import { readFileSync } from "node:fs";
import { z } from "zod";
import type { Db } from "./db/connection.ts";
import { type Problem, SynthorError, throwIfProblems } from "./errors.ts";
import type { SourceInfo } from "./source.ts";

/**
 * How a column is treated:
 * - categorical: modelled by its frequency table (text, booleans, numbers with few distinct values);
 * - numeric: modelled by quantile bins; `integral` ones are rounded when sampled;
 * - datetime: modelled as a number (seconds since 1970), written back as a date or timestamp;
 * - identifier: unique or nearly unique; left out of modelling, regenerated as fresh unique values;
 * - constant: one value in every row; written back as that value;
 * - ignored: left out of modelling and of the output (by request, or a type synthor does not model).
 */
export type ColumnKind = "categorical" | "numeric" | "datetime" | "identifier" | "constant" | "ignored";
export const modelledKinds: readonly ColumnKind[] = ["categorical", "numeric", "datetime"];

export interface ColumnProfile {
  name: string;
  /** Position in the real table. */
  index: number;
  sqlType: string;
  kind: ColumnKind;
  /** Why this kind: detected from the data, or an override. */
  reason: string;
  /** Numeric or datetime with only whole values: samples are rounded. */
  integral: boolean;
  rows: number;
  nulls: number;
  nullShare: number;
  distinct: number;
  min: string | null;
  max: string | null;
  /** A meaning given by the user (schema file or --describe), shown to LLM planners. */
  description?: string;
}

export interface ProfileOptions {
  /** Numbers with at most this many distinct values are categorical (default 20). */
  maxCategories?: number;
  categorical?: string[];
  numeric?: string[];
  ignore?: string[];
  /** Path of a JSON schema file (see {@link SchemaFile}). */
  schemaFile?: string;
  describe?: Record<string, string>;
}

/** The schema file users may pass with --schema: kinds and meanings per column. */
export const SchemaFile = z
  .object({
    maxCategories: z.number().int().positive().optional(),
    columns: z
      .record(
        z.string(),
        z
          .object({
            kind: z.enum(["categorical", "numeric", "datetime", "identifier", "ignored"]).optional(),
            description: z.string().optional(),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();
export type SchemaFile = z.infer<typeof SchemaFile>;

const textTypes = /^(VARCHAR|ENUM|CHAR|TEXT|STRING)/i;
const integerTypes =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/i;
const floatTypes = /^(FLOAT|DOUBLE|REAL|DECIMAL)/i;
const dateTypes = /^(DATE|TIMESTAMP)/i;

/** Reads and validates a schema file, naming every problem in it. */
export function readSchemaFile(path: string): SchemaFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new SynthorError(
      "SCHEMA_INVALID",
      `cannot read schema file ${path}: ${(err as Error).message}`,
      'write it as JSON, e.g. {"columns": {"age": {"kind": "numeric"}}}',
      { file: path },
    );
  }
  const parsed = SchemaFile.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
    throw new SynthorError(
      "SCHEMA_INVALID",
      `schema file ${path} is not valid: ${problems.join("; ")}`,
      'each column takes {"kind": "categorical" | "numeric" | "datetime" | "identifier" | "ignored", "description": "..."}',
      { file: path, problems },
    );
  }
  return parsed.data;
}

/**
 * Decides how every column of the real table is treated, from its type and statistics (all computed by
 * the synthor_column_stats macro) and the user's overrides. Problems (unknown columns in overrides,
 * all-NULL columns) are collected and reported together.
 *
 * @example const profiles = await profileColumns(db, source, { ignore: ["comment"] });
 */
export async function profileColumns(
  db: Db,
  source: SourceInfo,
  options: ProfileOptions = {},
): Promise<ColumnProfile[]> {
  const schema = options.schemaFile ? readSchemaFile(options.schemaFile) : undefined;
  const maxCategories = options.maxCategories ?? schema?.maxCategories ?? 20;
  const overrides = collectOverrides(source, options, schema);
  const problems: Problem[] = [...overrides.problems];

  const profiles: ColumnProfile[] = [];
  for (const [index, column] of source.columns.entries()) {
    const [stats] = await db.query<{
      n: number;
      non_null: number;
      distinct_values: number;
      integral: boolean;
      min: string | null;
      max: string | null;
    }>("column_stats", { table: source.view, column: column.name });
    if (!stats) throw new Error(`no statistics for column ${column.name}`);
    const base = {
      name: column.name,
      index,
      sqlType: column.type,
      rows: stats.n,
      nulls: stats.n - stats.non_null,
      nullShare: (stats.n - stats.non_null) / stats.n,
      distinct: stats.distinct_values,
      min: stats.min,
      max: stats.max,
      integral: stats.integral && !textTypes.test(column.type),
    };
    const override = overrides.kinds.get(column.name);
    const detected = detectKind(base, maxCategories);
    const kind = override ?? detected.kind;
    const profile: ColumnProfile = {
      ...base,
      kind,
      reason: override ? `set by ${overrides.origin.get(column.name)}` : detected.reason,
    };
    const description = options.describe?.[column.name] ?? schema?.columns[column.name]?.description;
    if (description) profile.description = description;
    if (stats.non_null === 0 && kind !== "ignored") {
      problems.push({
        code: "COLUMN_ALL_NULL",
        message: `column "${column.name}" is NULL in every row`,
        hint: `leave it out with --ignore ${cliName(column.name)}`,
        subject: column.name,
      });
    }
    if (override === "numeric" && !(integerTypes.test(column.type) || floatTypes.test(column.type))) {
      problems.push({
        code: "INPUT_INVALID",
        message: `column "${column.name}" is ${column.type} and cannot be treated as numeric`,
        hint: `cast it in --sql (e.g. select *, try_cast(... as double)) or drop --numeric ${cliName(column.name)}`,
        subject: column.name,
      });
    }
    profiles.push(profile);
  }
  throwIfProblems(problems);
  if (!profiles.some((p) => modelledKinds.includes(p.kind))) {
    throw new SynthorError(
      "INPUT_INVALID",
      `no column of ${source.label} can be modelled: all are identifiers, constants or ignored`,
      "check the profile with `synthor profile`, and use --categorical or --numeric to override",
    );
  }
  return profiles;
}

function detectKind(
  c: {
    sqlType: string;
    rows: number;
    nulls: number;
    distinct: number;
    min: string | null;
    max: string | null;
  },
  maxCategories: number,
): { kind: ColumnKind; reason: string } {
  const nonNull = c.rows - c.nulls;
  const type = c.sqlType;
  if (nonNull === 0) return { kind: "ignored", reason: "NULL in every row" };
  if (c.distinct === 1 && c.nulls === 0) return { kind: "constant", reason: "one value in every row" };
  if (/^UUID$/i.test(type)) return { kind: "identifier", reason: "UUID type" };
  if (/^BOOLEAN$/i.test(type)) return { kind: "categorical", reason: "boolean" };
  if (textTypes.test(type)) {
    if (c.distinct > maxCategories && c.distinct >= 0.9 * nonNull) {
      return {
        kind: "identifier",
        reason: `text, ${c.distinct} distinct in ${nonNull} values (nearly unique)`,
      };
    }
    return { kind: "categorical", reason: `text, ${c.distinct} distinct values` };
  }
  const isInteger = integerTypes.test(type);
  if (isInteger || floatTypes.test(type) || dateTypes.test(type)) {
    if (c.distinct <= maxCategories) {
      return { kind: "categorical", reason: `${c.distinct} distinct values (at most ${maxCategories})` };
    }
    if (dateTypes.test(type)) return { kind: "datetime", reason: type.toLowerCase() };
    if (isInteger && c.distinct === c.rows && c.min !== null && c.max !== null) {
      // A unique integer column that counts through a range is a key, not a quantity.
      const span = Number(c.max) - Number(c.min) + 1;
      if (span <= 1.2 * c.rows)
        return { kind: "identifier", reason: "unique integers in a dense range (a key)" };
    }
    return { kind: "numeric", reason: isInteger ? "integer" : "number" };
  }
  return { kind: "ignored", reason: `type ${type} is not modelled` };
}

function collectOverrides(source: SourceInfo, options: ProfileOptions, schema: SchemaFile | undefined) {
  const known = new Set(source.columns.map((c) => c.name));
  const kinds = new Map<string, ColumnKind>();
  const origin = new Map<string, string>();
  const problems: Problem[] = [];
  const isKnown = (name: string, from: string): boolean => {
    if (known.has(name)) return true;
    problems.push({
      code: "COLUMN_UNKNOWN",
      message: `${from} names column "${name}", which ${source.label} does not have`,
      hint: `the columns are: ${[...known].map(cliName).join(", ")}`,
      subject: name,
    });
    return false;
  };
  const add = (names: string[] | undefined, kind: ColumnKind, from: string) => {
    for (const name of names ?? []) {
      if (!isKnown(name, from)) continue;
      kinds.set(name, kind);
      origin.set(name, from);
    }
  };
  for (const [name, col] of Object.entries(schema?.columns ?? {})) {
    if (col.kind) add([name], col.kind, "the schema file");
    else isKnown(name, "the schema file");
  }
  add(options.categorical, "categorical", "--categorical");
  add(options.numeric, "numeric", "--numeric");
  add(options.ignore, "ignored", "--ignore");
  for (const name of Object.keys(options.describe ?? {})) isKnown(name, "--describe");
  return { kinds, origin, problems };
}

/** A column name as the user would type it on a command line. */
function cliName(name: string): string {
  return /^[\w.-]+$/.test(name) ? name : JSON.stringify(name);
}
