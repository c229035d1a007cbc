import type { Db } from "./db/connection.ts";
import { asWritten, quoteIdent } from "./db/quote.ts";
import { type Problem, SynthorError, throwIfProblems } from "./errors.ts";
import { cliName, unknownColumnHint } from "./names.ts";
import { readSchemaFile, type SchemaFile } from "./schema.ts";
import type { SourceInfo } from "./source.ts";

/**
 * How a column is treated:
 * - categorical: modelled by its frequency table (text, booleans, numbers with few distinct values);
 * - numeric: modelled by quantile bins; `integral` ones are rounded when sampled;
 * - datetime: modelled as a number (seconds since 1970), written back as a date or timestamp;
 * - identifier: unique or nearly unique; left out of modelling, regenerated as fresh unique values;
 * - constant: one value in every row (NULL too); written back as that value;
 * - ignored: left out of modelling and of the output (only by request).
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
  /** Mean and sample standard deviation of the values read as numbers (null for text). */
  mean?: number | null;
  sd?: number | null;
  /** Float columns: the decimal places the real values are written with (0-6); synthetic ones are rounded to it. */
  decimals?: number;
  rows: number;
  nulls: number;
  nullShare: number;
  distinct: number;
  min: string | null;
  max: string | null;
  /** A meaning given by the user (schema file or --describe), shown to LLM planners. */
  description?: string;
  /**
   * DOUBLE and FLOAT columns: the non-finite values the real column holds ("NaN", "Infinity",
   * "-Infinity"). A numeric column keeps them as cells of their own beside its bins, like NULL.
   */
  special?: SpecialValue[];
  /**
   * Integer columns with values beyond 2^53 (BIGINT near 2^63, UBIGINT, HUGEINT): model space holds
   * value - offset (the real minimum, exactly, as text), so every value within 2^53 of the minimum is
   * exact as a DOUBLE and is written back exactly.
   */
  offset?: string;
}

/** The non-finite values of a DOUBLE or FLOAT column, as proposals and count tables name them. */
export type SpecialValue = "NaN" | "Infinity" | "-Infinity";
export const specialValues: readonly SpecialValue[] = ["-Infinity", "Infinity", "NaN"];

/** Numbers with at most this many distinct values are categorical, unless --max-categories or the schema file says otherwise. */
export const DEFAULT_MAX_CATEGORIES = 20;

export interface ProfileOptions {
  /** Numbers with at most this many distinct values are categorical (default {@link DEFAULT_MAX_CATEGORIES}). */
  maxCategories?: number;
  categorical?: string[];
  numeric?: string[];
  ignore?: string[];
  /** Path of a JSON schema file (see {@link SchemaFile}). */
  schemaFile?: string;
  /** A schema file already read (nested data splits one between its two tables); wins over `schemaFile`. */
  schema?: SchemaFile;
  describe?: Record<string, string>;
  /**
   * Throw when no column can be modelled (default true). `synthor profile` passes false: it shows the
   * profile so the user can see why.
   */
  requireModelled?: boolean;
}

const textTypes = /^(VARCHAR|ENUM|CHAR|TEXT|STRING)/i;
/** TIME (seconds since midnight) and INTERVAL (seconds, a month as 30 days): numbers, written back in the type. */
export const secondsTypes = /^(TIME|INTERVAL)$/i;
const integerTypes =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/i;
export const floatTypes = /^(FLOAT|DOUBLE|REAL|DECIMAL)/i;
const dateTypes = /^(DATE|TIMESTAMP)/i;

/**
 * Every other type (UUID, BLOB, BIT, LIST, ARRAY, STRUCT, MAP, UNION, TIME WITH TIME ZONE, JSON, ...) is
 * carried through its text: categorical (or an identifier), cast back from the text on output. Only where
 * the text casts back to the same value; a column whose values do not is refused by name, never dropped.
 */
function isTextStandIn(type: string): boolean {
  return ![textTypes, integerTypes, floatTypes, dateTypes, secondsTypes, /^BOOLEAN$/i].some((t) =>
    t.test(type),
  );
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
  const schema = options.schema ?? (options.schemaFile ? readSchemaFile(options.schemaFile) : undefined);
  const maxCategories = options.maxCategories ?? schema?.maxCategories ?? DEFAULT_MAX_CATEGORIES;
  const overrides = collectOverrides(source, options, schema);
  const problems: Problem[] = [...overrides.problems];

  const profiles: ColumnProfile[] = [];
  for (const [index, column] of source.columns.entries()) {
    const [stats] = await db.query<{
      n: number;
      non_null: number;
      distinct_values: number;
      integral: boolean;
      decimals: number | null;
      mean: number | null;
      sd: number | null;
      min: string | null;
      max: string | null;
      nan: number;
      pos_inf: number;
      neg_inf: number;
    }>("column_stats", { table: source.view, column: column.name });
    if (!stats) throw new Error(`no statistics for column ${column.name}`);
    if (secondsTypes.test(column.type))
      Object.assign(stats, await secondsStats(db, source.view, column.name));
    // The estimate decides unless the exact count could change the kind: few values (categorical) or
    // (nearly) one per row (identifier).
    const estimate = stats.distinct_values;
    if (estimate <= 2 * maxCategories + 10 || estimate >= 0.8 * stats.non_null) {
      const [exact] = await db.query<{ distinct_values: number }>("distinct_count", {
        table: source.view,
        column: column.name,
      });
      stats.distinct_values = exact?.distinct_values ?? estimate;
    }
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
      mean: stats.mean,
      sd: stats.sd,
      // Only numbers round: booleans and text that looks like whole numbers are not integral.
      integral:
        stats.integral &&
        (integerTypes.test(column.type) || floatTypes.test(column.type) || secondsTypes.test(column.type)),
    };
    const override = overrides.kinds.get(column.name);
    const detected = detectKind(base, maxCategories);
    const kind = override ?? detected.kind;
    const markers = source.markers?.find((m) => m.name === column.name);
    const profile: ColumnProfile = {
      ...base,
      kind,
      reason: `${override ? `set by ${overrides.origin.get(column.name)}` : detected.reason}${markers ? `; text with ${markers.count} NA marker${markers.count === 1 ? "" : "s"} (${markers.found.map((f) => JSON.stringify(f)).join(", ")}) read as NULL` : ""}`,
    };
    if (kind === "numeric" && floatTypes.test(column.type) && !base.integral && stats.decimals !== null) {
      profile.decimals = stats.decimals;
    }
    const special = specialValues.filter(
      (s) => ({ NaN: stats.nan, Infinity: stats.pos_inf, "-Infinity": stats.neg_inf })[s] > 0,
    );
    if (kind === "numeric" && special.length > 0) profile.special = special;
    const offset = kind === "numeric" ? integerOffset(column.type, stats.min, stats.max) : undefined;
    if (offset !== undefined) profile.offset = offset;
    if (isTextStandIn(column.type) && (kind === "categorical" || kind === "identifier")) {
      const problem = await standInProblem(db, source.view, profile);
      if (problem) problems.push(problem);
    }
    const description = options.describe?.[column.name] ?? schema?.columns[column.name]?.description;
    if (description) profile.description = description;
    const from = overrides.origin.get(column.name) ?? "";
    if (
      override === "numeric" &&
      !(integerTypes.test(column.type) || floatTypes.test(column.type) || secondsTypes.test(column.type))
    ) {
      problems.push({
        code: "INPUT_INVALID",
        message: `column "${column.name}" is ${column.type} and cannot be treated as numeric (${from})`,
        hint: `cast it with --sql "select *, try_cast(... as double) ..." or drop it from ${from}`,
        subject: column.name,
      });
    }
    if (override === "datetime" && !dateTypes.test(column.type)) {
      problems.push({
        code: "INPUT_INVALID",
        message: `column "${column.name}" is ${column.type} and cannot be treated as datetime (${from})`,
        hint: `cast it with --sql "select *, try_cast(... as timestamp) ..." or drop it from ${from}`,
        subject: column.name,
      });
    }
    profiles.push(profile);
  }
  throwIfProblems(problems);
  if (options.requireModelled !== false && !profiles.some((p) => modelledKinds.includes(p.kind))) {
    const first = profiles.find((p) => p.kind === "identifier" || p.kind === "constant") ?? profiles[0];
    throw new SynthorError(
      "INPUT_INVALID",
      `no column of ${source.label} can be modelled: ${profiles.map((p) => `${p.name} is ${p.kind}`).join(", ")}`,
      `see why with \`synthor profile\`; to model a column anyway, override its kind, e.g. --categorical ${cliName(first?.name ?? "COLUMN")}`,
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
  // NULL is a value like any other: a column of NULLs only is a constant, kept in the output.
  if (nonNull === 0) return { kind: "constant", reason: "NULL in every row" };
  if (c.distinct === 1 && c.nulls === 0) return { kind: "constant", reason: "one value in every row" };
  if (/^BOOLEAN$/i.test(type)) return { kind: "categorical", reason: "boolean" };
  const standIn = isTextStandIn(type);
  if (textTypes.test(type) || standIn) {
    const what = standIn ? `${type} as its text` : "text";
    if (c.distinct > maxCategories && c.distinct >= 0.9 * nonNull) {
      return {
        kind: "identifier",
        reason: `${what}, ${c.distinct} distinct in ${nonNull} values (nearly unique)`,
      };
    }
    return { kind: "categorical", reason: `${what}, ${distinctValues(c.distinct)}` };
  }
  const isInteger = integerTypes.test(type);
  if (isInteger || floatTypes.test(type) || dateTypes.test(type) || secondsTypes.test(type)) {
    if (c.distinct <= maxCategories) {
      return { kind: "categorical", reason: `${distinctValues(c.distinct)} (at most ${maxCategories})` };
    }
    if (dateTypes.test(type)) return { kind: "datetime", reason: type.toLowerCase() };
    if (isInteger && c.distinct === c.rows && c.min !== null && c.max !== null) {
      // A unique integer column that counts through a range is a key, not a quantity. BigInt: near 2^63
      // or beyond, the difference of two doubles is 0 and every such column would look like a key.
      const span = Number(BigInt(c.max) - BigInt(c.min)) + 1;
      if (span <= 1.2 * c.rows)
        return { kind: "identifier", reason: "unique integers in a dense range (a key)" };
    }
    if (secondsTypes.test(type)) {
      return {
        kind: "numeric",
        reason: /^TIME$/i.test(type) ? "time of day, in seconds" : "interval, in seconds",
      };
    }
    return { kind: "numeric", reason: isInteger ? "integer" : "number" };
  }
  throw new Error(`no kind for type ${type}`);
}

/** Integral statistics of a TIME or INTERVAL column read as seconds (epoch), which is how it is modelled. */
async function secondsStats(db: Db, view: string, column: string) {
  const q = quoteIdent(column);
  await db.exec(
    `create or replace temp view synthor_profile_seconds as select epoch(${q})::double as ${q} from ${quoteIdent(view)}`,
    "seconds of a time or interval column",
  );
  const [s] = await db.query<{
    integral: boolean;
    decimals: number | null;
    mean: number | null;
    sd: number | null;
  }>("column_stats", { table: "synthor_profile_seconds", column });
  return {
    integral: s?.integral ?? false,
    decimals: s?.decimals ?? null,
    mean: s?.mean ?? null,
    sd: s?.sd ?? null,
  };
}

/**
 * The offset an integer column is modelled from, when a value lies beyond 2^53 (where a DOUBLE no longer
 * holds every whole number): its minimum rounded down to a multiple of 2^32, so value - offset is exact
 * for every value less than 2^53 - 2^32 above the minimum, and a summary file that carries the offset
 * does not give the minimum away.
 */
function integerOffset(type: string, min: string | null, max: string | null): string | undefined {
  if (!integerTypes.test(type) || min === null || max === null) return undefined;
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  const big = (x: string) => BigInt(x) > limit || BigInt(x) < -limit;
  if (!big(min) && !big(max)) return undefined;
  const step = 2n ** 32n;
  const m = BigInt(min);
  const rem = ((m % step) + step) % step;
  return String(m - rem);
}

/**
 * Why a column carried as its text (LIST, STRUCT, MAP, ARRAY, UNION, BIT, BLOB, TIME WITH TIME ZONE, UUID)
 * cannot be: nearly unique values of a type synthor cannot make fresh ones of, or values whose text does
 * not cast back to them. Each names the column and the option that leaves it out.
 */
async function standInProblem(db: Db, view: string, p: ColumnProfile): Promise<Problem | undefined> {
  const leaveOut = `leave it out with --ignore ${cliName(p.name)}`;
  if (p.kind === "identifier") {
    if (/^(UUID|BLOB|BYTEA)$/i.test(p.sqlType)) return undefined;
    return {
      code: "INPUT_INVALID",
      message: `column "${p.name}" (${p.sqlType}) has a different value in nearly every row (${p.distinct} distinct in ${p.rows - p.nulls}); synthor cannot make fresh values of this type`,
      hint: `${leaveOut}, or copy real values as categories with --categorical ${cliName(p.name)}`,
      subject: p.name,
    };
  }
  if (p.kind !== "categorical") return undefined;
  const q = quoteIdent(p.name);
  let bad: number;
  try {
    const [row] = await db.all<{ bad: number }>(
      `select count(*) filter (where try_cast(${q}::varchar as ${p.sqlType}) is distinct from ${q}) as bad from ${quoteIdent(view)}`,
      {},
      "text round trip",
    );
    bad = row?.bad ?? 0;
  } catch {
    bad = p.rows;
  }
  if (bad === 0) return undefined;
  return {
    code: "INPUT_INVALID",
    message: `column "${p.name}" (${p.sqlType}) cannot be carried as its text: ${bad === p.rows ? "DuckDB cannot cast text back to this type" : `${bad} value${bad === 1 ? "" : "s"} do not come back from their text`}`,
    hint: `${leaveOut}, or turn it into a type synthor models with --sql "select * replace (${asWritten(p.name)}::varchar as ${asWritten(p.name)}) from ..."`,
    subject: p.name,
  };
}

function distinctValues(n: number): string {
  return `${n} distinct value${n === 1 ? "" : "s"}`;
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
      hint: unknownColumnHint(name, [...known]),
      subject: name,
    });
    return false;
  };
  // The schema file sets defaults that flags override; two flags that disagree are a mistake.
  const flagged = new Map<string, string>();
  const add = (names: string[] | undefined, kind: ColumnKind, from: string) => {
    // A flag value is a comma-separated list, unless it is itself a column name (a column named "a,b").
    const expanded = (names ?? []).flatMap((n) => splitColumnList(n, known));
    for (const name of expanded) {
      if (!isKnown(name, from)) continue;
      const earlier = flagged.get(name);
      if (from.startsWith("--") && earlier !== undefined && earlier !== from) {
        problems.push({
          code: "INPUT_INVALID",
          message: `column "${name}" is given to both ${earlier} and ${from}`,
          hint: `keep it in one of them: ${earlier} ${cliName(name)} or ${from} ${cliName(name)}`,
          subject: name,
        });
        continue;
      }
      if (from.startsWith("--")) flagged.set(name, from);
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

/**
 * Splits a comma-separated list of column names, joining neighbouring pieces back where they make a
 * known column name: with a column "a,b", `a,b,c` is ["a,b", "c"]. The longest known name wins; pieces
 * that are not names are trimmed (and reported as unknown later).
 *
 * @example splitColumnList("a,b, c", new Set(["a,b", "c"])) // => ["a,b", "c"]
 */
export function splitColumnList(value: string, known: ReadonlySet<string>): string[] {
  if (known.has(value)) return [value];
  const pieces = value.split(",");
  const out: string[] = [];
  let i = 0;
  while (i < pieces.length) {
    let taken = 1;
    let name = (pieces[i] ?? "").trim();
    for (let j = pieces.length; j > i; j--) {
      const joined = pieces.slice(i, j).join(",");
      const match = known.has(joined) ? joined : known.has(joined.trim()) ? joined.trim() : undefined;
      if (match !== undefined) {
        name = match;
        taken = j - i;
        break;
      }
    }
    if (name) out.push(name);
    i += taken;
  }
  return out;
}
