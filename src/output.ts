import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { SynthorError } from "./errors.ts";
import type { ColumnProfile } from "./profile.ts";

const formats: Record<string, string> = {
  ".csv": "(format csv, header true)",
  ".parquet": "(format parquet)",
  ".json": "(format json, array true)",
  ".ndjson": "(format json)",
};

/** Fails early (before any work) when an output file exists and may not be replaced, or has no format. */
export function checkOutputFile(path: string, overwrite: boolean): void {
  if (!formats[extname(path).toLowerCase()]) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `cannot tell what format to write ${path} in`,
      "end --out with .csv, .parquet, .json or .ndjson",
    );
  }
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `cannot write ${path}: the directory ${dirname(path)} does not exist`,
      "create it first, or choose another --out",
      { file: path },
    );
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `cannot write ${path}: it is a directory`,
      `name a file inside it, e.g. --out ${join(path, `synthetic${extname(path) || ".csv"}`)}`,
      { file: path },
    );
  }
  if (existsSync(path) && !overwrite) {
    throw new SynthorError(
      "OUTPUT_EXISTS",
      `${path} already exists`,
      "pass --overwrite to replace it, or choose another --out",
      { file: path },
    );
  }
}

/**
 * The synthetic table in the user's types, from the model-space table: categories cast back, whole
 * numbers as integers, datetimes from seconds, identifiers regenerated as fresh unique values, constants
 * filled in; columns in the real table's order. Rows are shuffled by a seeded hash so rows from one
 * proposal do not sit together.
 */
export function outputSelect(
  profiles: ColumnProfile[],
  seed: number,
  from = "synthor_synth_model",
  rows = 0,
  options: {
    provenance?: boolean;
    /** Datetime columns whose real values are all whole seconds; without it, read from synthor_real_model. */
    wholeSeconds?: Map<string, boolean> | undefined;
  } = {},
): string {
  const rn = `row_number() over (order by hash(${Math.floor(seed)}, __synthor_iteration, __synthor_proposal, __synthor_row), __synthor_iteration, __synthor_proposal, __synthor_row)`;
  const exprs: string[] = [];
  for (const p of profiles) {
    const q = quoteIdent(p.name);
    const type = p.sqlType;
    switch (p.kind) {
      case "categorical":
        exprs.push(`cast(${q} as ${type}) as ${q}`);
        break;
      case "numeric":
        if (p.integral) exprs.push(`cast(round(${q}) as ${type}) as ${q}`);
        else if (p.decimals !== undefined)
          exprs.push(`cast(${decimalsExpr(q, p.decimals)} as ${type}) as ${q}`);
        else exprs.push(`cast(${q} as ${type}) as ${q}`);
        break;
      case "datetime":
        exprs.push(`${datetimeExpr(p, options.wholeSeconds?.get(p.name))} as ${q}`);
        break;
      case "identifier":
        exprs.push(`${identifierExpr(p, rn, seed, rows)} as ${q}`);
        break;
      case "constant":
        exprs.push(`cast(${p.min === null ? "null" : quoteLiteral(p.min)} as ${type}) as ${q}`);
        break;
      case "ignored":
        break;
    }
  }
  // With provenance, each typed row can be traced back to its model row (the --where check deletes by it).
  if (options.provenance) exprs.push("__synthor_iteration", "__synthor_proposal", "__synthor_row");
  return `select ${exprs.join(", ")} from ${from} order by ${rn}`;
}

/**
 * A float rounded up to the real column's decimal places. Up, not to the nearest, like whole numbers
 * (synthor_whole_within): bins are right-closed, (lo, hi], with edges that are real values, so a draw
 * just above lo stays in its bin; and the share at or below each real value is the real one. The slack
 * keeps a real value (a point mass, drawn exactly) from being pushed up by the error of the product.
 */
function decimalsExpr(q: string, decimals: number): string {
  const scale = 10 ** decimals;
  const scaled = `(${q} * ${scale})`;
  return `ceil(${scaled} - 1e-9 * greatest(1, abs(${scaled}))) / ${scale}`;
}

/**
 * A datetime from its seconds since 1970. Draws are continuous; they are rounded up to the real data's
 * resolution (whole days for a DATE, whole seconds for timestamps whose real values all are), so that
 * like whole numbers they stay in their right-closed bin (lo, hi]. A timestamp with time zone is built
 * from the instant, so the session's time zone does not shift it.
 */
function datetimeExpr(p: ColumnProfile, wholeSeconds: boolean | undefined): string {
  const q = quoteIdent(p.name);
  if (/^DATE$/i.test(p.sqlType)) return `cast(date '1970-01-01' + ceil(${q} / 86400)::integer as DATE)`;
  const whole =
    wholeSeconds === undefined
      ? `(select coalesce(bool_and(${q} = floor(${q})), false) from synthor_real_model)`
      : String(wholeSeconds);
  const seconds = `case when ${whole} then ceil(${q}) else ${q} end`;
  if (/WITH TIME ZONE|TIMESTAMPTZ/i.test(p.sqlType)) return `cast(to_timestamp(${seconds}) as ${p.sqlType})`;
  return `cast(make_timestamp((${seconds} * 1000000)::bigint) as ${p.sqlType})`;
}

/** The largest key each small integer type can hold; a key column gets BIGINT when the rows need more. */
const integerMax: Record<string, number> = { TINYINT: 127, UTINYINT: 255, SMALLINT: 32767, USMALLINT: 65535 };

function identifierExpr(p: ColumnProfile, rn: string, seed: number, rows: number): string {
  if (/INT/i.test(p.sqlType)) {
    const max = integerMax[p.sqlType.toUpperCase()];
    return `cast(${rn} as ${max !== undefined && rows > max ? "BIGINT" : p.sqlType})`;
  }
  if (/UUID/i.test(p.sqlType)) {
    const h = `md5(${Math.floor(seed)}::varchar || ':' || (${rn})::varchar)`;
    return `cast(substr(${h}, 1, 8) || '-' || substr(${h}, 9, 4) || '-4' || substr(${h}, 14, 3) || '-a' || substr(${h}, 18, 3) || '-' || substr(${h}, 21, 12) as uuid)`;
  }
  // printf, not lpad: lpad cuts a longer number to 8 digits, so row 100,000,001 would repeat row 10,000,000.
  return `printf('syn-%08d', ${rn})`;
}

/** Writes the output table to a file atomically: a temporary file beside it, renamed at the end. */
export async function writeOutputFile(db: Db, table: string, path: string): Promise<void> {
  (await stageOutputFile(db, table, path)).publish();
}

/** An output file written to its temporary name, not yet in place. */
export interface StagedFile {
  /** Renames it into place (synchronous: nothing can interrupt it halfway). */
  publish(): void;
  /** Removes it. */
  discard(): void;
}

/**
 * Writes the output table to a temporary file beside `path`, to be renamed into place later: a run that
 * writes two files (households and members), or must record itself finished first, renames them only
 * when everything else is done, so an interruption leaves no file half of a pair or ahead of its run.
 * The temporary file is removed if the write fails or is interrupted.
 */
export async function stageOutputFile(db: Db, table: string, path: string): Promise<StagedFile> {
  const target = resolve(path);
  const format = formats[extname(target).toLowerCase()] as string;
  // No process id in the name: a file left by a run killed while writing is replaced by the next write.
  const tmp = join(dirname(target), `.synthor-tmp-${basename(target)}`);
  const discard = () => rmSync(tmp, { force: true });
  try {
    await db.exec(
      `copy (select * from ${quoteIdent(table)}) to ${quoteLiteral(tmp)} ${format}`,
      "write output file",
    );
  } catch (err) {
    discard();
    throw err;
  }
  return {
    publish() {
      try {
        renameSync(tmp, target);
      } finally {
        discard();
      }
    },
    discard,
  };
}
