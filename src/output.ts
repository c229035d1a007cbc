import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  linkSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Db } from "./db/connection.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { SynthorError } from "./errors.ts";
import { type ColumnProfile, floatTypes } from "./profile.ts";

const formats: Record<string, string> = {
  ".csv": "(format csv, header true)",
  ".parquet": "(format parquet)",
  ".json": "(format json, array true)",
  ".ndjson": "(format json)",
};

/**
 * Fails early (before any work) when an output file exists and may not be replaced, or has no format.
 * `flag` is the option that named the file, for the hint (`--out`, `--child-out`).
 */
export function checkOutputFile(path: string, overwrite: boolean, flag = "--out"): void {
  if (!formats[extname(path).toLowerCase()]) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `cannot tell what format to write ${path} in`,
      `end ${flag} with .csv, .parquet, .json or .ndjson`,
    );
  }
  checkOutputPath(path, overwrite, flag);
}

/**
 * The checks every command that writes a file makes before any work: a file can be created in its
 * directory, it is not a directory, and it does not exist unless `overwrite` (the --overwrite option) allows replacing it.
 * The same refusal is made again at the end, atomically, for a file that appeared in the meantime
 * ({@link writeFileAtomically}).
 */
export function checkOutputPath(path: string, overwrite: boolean, flag: string): void {
  checkOutWritable(path, flag);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `cannot write ${path}: it is a directory`,
      `name a file inside it, e.g. ${flag} ${join(path, `synthetic${extname(path) || ".csv"}`)}`,
      { file: path },
    );
  }
  if (existsSync(path) && !overwrite) throw outputExists(path, flag);
}

/** The one refusal of an existing output, for every command and option that writes a file. */
export function outputExists(path: string, flag: string): SynthorError {
  return new SynthorError(
    "OUTPUT_EXISTS",
    `${path} already exists`,
    `pass --overwrite to replace it, or choose another ${flag}`,
    { file: path },
  );
}

/**
 * Fails early (before any work) when a file cannot be written where `option` asks: its directory is
 * missing or is not a directory, or a file cannot be created in it (read-only, no permission, a special
 * file system). Probes by creating and removing a uniquely named empty file beside the target.
 *
 * @example checkOutWritable("out/synth.csv", "--out") // throws OUTPUT_UNWRITABLE if out/ is missing
 */
export function checkOutWritable(path: string, option: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SynthorError(
      "OUTPUT_UNWRITABLE",
      `cannot write ${path}: the directory ${dirname(path)} does not exist`,
      `create it first, or choose another ${option}`,
      { file: path },
    );
  }
  const probe = join(dir, `.synthor-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    writeFileSync(probe, "", { flag: "wx" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SynthorError(
      "OUTPUT_UNWRITABLE",
      `cannot write ${path}: no file can be created in ${dirname(path)} (${code ?? (err as Error).message})`,
      `choose another ${option} in a directory you can write`,
      { file: path },
    );
  }
  rmSync(probe, { force: true });
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
        exprs.push(
          `${floatTypes.test(type) ? positiveZero(`cast(${q} as ${type})`) : `cast(${q} as ${type})`} as ${q}`,
        );
        break;
      case "numeric":
        exprs.push(`${numericExpr(p)} as ${q}`);
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
 * A numeric column in its type from model space: whole numbers rounded, floats to the real decimal
 * places (NaN and the infinities as they are), large integers from their offset (exact, and kept inside
 * the real range so the type cannot overflow), TIME and INTERVAL from seconds.
 */
function numericExpr(p: ColumnProfile): string {
  const q = quoteIdent(p.name);
  const type = p.sqlType;
  let x = q;
  if (p.integral) x = `round(${q})`;
  else if (p.decimals !== undefined) {
    x = p.special?.length
      ? `case when isfinite(${q}) then ${decimalsExpr(q, p.decimals)} else ${q} end`
      : decimalsExpr(q, p.decimals);
  }
  if (/^TIME$/i.test(type)) {
    // Seconds since midnight; the last microsecond of the day at most, so a draw at 24:00 stays a TIME.
    return `cast(time '00:00:00' + to_microseconds(least(86399999999, greatest(0, round(${x} * 1000000)))::bigint) as TIME)`;
  }
  if (/^INTERVAL$/i.test(type)) {
    // Days and the time within a day: 3 days stays 3 days; a month comes back as 30 days (equal in DuckDB).
    const days = `floor(${x} / 86400)`;
    return `(to_days(${days}::integer) + to_microseconds(round((${x} - ${days} * 86400) * 1000000)::bigint))`;
  }
  if (p.offset !== undefined) {
    const wide = /^U/i.test(type) ? "UHUGEINT" : "HUGEINT";
    const off = quoteLiteral(p.offset);
    const lo = p.min === null ? null : `${quoteLiteral(p.min)}::${wide}`;
    const hi = p.max === null ? null : `${quoteLiteral(p.max)}::${wide}`;
    let v = `${off}::${wide} + greatest(0, ${x})::${wide}`;
    if (/^HUGEINT$/i.test(type) && p.max !== null && BigInt(p.max) - BigInt(p.offset) > 2n ** 127n - 1n) {
      // A range beyond 2^127 is modelled as DOUBLE (see encode.ts); its sum may overflow, the clamp may not.
      v = `coalesce(try_cast(${off}::double + ${x} as HUGEINT), ${hi ?? "NULL"})`;
    }
    if (lo !== null) v = `greatest(${lo}, ${v})`;
    if (hi !== null) v = `least(${hi}, ${v})`;
    return `cast(${v} as ${type})`;
  }
  return floatTypes.test(type) ? positiveZero(`cast(${x} as ${type})`) : `cast(${x} as ${type})`;
}

/**
 * A float with -0.0 written as 0: rounding a small negative draw up (ceil(-0.3) is -0.0) gives a negative
 * zero, which files spell "-0.0" and no real value of the column was.
 */
function positiveZero(x: string): string {
  return `(case when ${x} = 0 then abs(${x}) else ${x} end)`;
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
  if (/^(BLOB|BYTEA)$/i.test(p.sqlType)) return `cast(printf('syn-%08d', ${rn}) as BLOB)`;
  return `printf('syn-%08d', ${rn})`;
}

/**
 * Writes the output table to a file atomically and without replacing a file that appeared since the
 * run started, unless `overwrite` (see {@link writeFileAtomically}).
 */
export async function writeOutputFile(
  db: Db,
  table: string,
  path: string,
  options: PublishOptions = { flag: "--out", overwrite: false },
): Promise<void> {
  (await stageOutputFile(db, table, path, options)).publish();
}

/** An output file written to its temporary name, not yet in place. */
export interface StagedFile {
  /** Publishes it (synchronous: nothing can interrupt it halfway), as {@link writeFileAtomically} does. */
  publish(): void;
  /** Removes it. */
  discard(): void;
}

/**
 * Writes the output table to a per-run temporary file beside `path`, to be published later: a run that
 * writes two files (households and members), or must record itself finished first, publishes them only
 * when everything else is done, so an interruption leaves no file half of a pair or ahead of its run.
 * The temporary file is removed if the write fails or is interrupted, and by `discard`.
 */
export async function stageOutputFile(
  db: Db,
  table: string,
  path: string,
  options: PublishOptions = { flag: "--out", overwrite: false },
): Promise<StagedFile> {
  const format = formats[extname(path).toLowerCase()] as string;
  const tmp = startTemp(resolve(path));
  try {
    await db.exec(
      `copy (${await fileSelect(db, table, format)}) to ${quoteLiteral(tmp)} ${format}`,
      "write output file",
    );
  } catch (err) {
    endTemp(tmp);
    throw err;
  }
  return {
    publish() {
      try {
        publish(tmp, path, options);
      } finally {
        endTemp(tmp);
      }
    },
    discard() {
      endTemp(tmp);
    },
  };
}

/**
 * The output table as a file holds it. Parquet has no 128-bit integers and DuckDB writes HUGEINT and
 * UHUGEINT as DOUBLE (rounded past 2^53); as DECIMAL(38,0) they stay exact, which every value below
 * 10^38 fits. A column with a value beyond is left to DuckDB (see {@link parquetLossWarnings}).
 */
async function fileSelect(db: Db, table: string, format: string): Promise<string> {
  const all = `select * from ${quoteIdent(table)}`;
  if (format !== formats[".parquet"]) return all;
  const cols = await db.all<{ column_name: string; column_type: string }>(`describe ${quoteIdent(table)}`);
  const wide = cols.filter((c) => /^U?HUGEINT$/i.test(c.column_type)).map((c) => c.column_name);
  if (wide.length === 0) return all;
  const fits = await db.all<Record<string, boolean>>(
    // Through DOUBLE: a value within rounding of 10^38 counts as too large, which only costs exactness there.
    `select ${wide.map((c, i) => `coalesce(bool_and(abs(${quoteIdent(c)}::double) < 1e38), true) as f${i}`).join(", ")} from ${quoteIdent(table)}`,
  );
  const casts = wide
    .filter((_, i) => fits[0]?.[`f${i}`] === true)
    .map((c) => `${quoteIdent(c)}::DECIMAL(38,0) as ${quoteIdent(c)}`);
  return casts.length === 0 ? all : `select * replace (${casts.join(", ")}) from ${quoteIdent(table)}`;
}

/**
 * Warnings for a Parquet --out: HUGEINT and UHUGEINT columns whose real values reach 10^38 cannot be
 * written exactly (see {@link fileSelect}); said before the run so the user can pick .csv or .json.
 */
export function parquetLossWarnings(profiles: ColumnProfile[], out: string | undefined): string[] {
  if (!out || extname(out).toLowerCase() !== ".parquet") return [];
  const big = (x: string | null) => x !== null && /^-?\d+$/.test(x) && x.replace("-", "").length > 38;
  return profiles
    .filter((p) => p.kind !== "ignored" && /^U?HUGEINT$/i.test(p.sqlType) && (big(p.min) || big(p.max)))
    .map(
      (p) =>
        `column "${p.name}" (${p.sqlType}) has values of 39 digits, more than Parquet's DECIMAL holds: ${out} gets them as DOUBLE, rounded (the table in --db keeps them exact; --out .csv or .json does too)`,
    );
}

/** How a file is published, and what the messages say when it cannot be. */
export interface PublishOptions {
  /** The option that named the file (`--out`, `--report`, ...), for the hints. */
  flag: string;
  /** Replace a file at the path (the --overwrite option); without it an existing file is never replaced. */
  overwrite: boolean;
  /**
   * Where the output is kept besides the file, e.g. "table synthetic of run.duckdb". Without it, output
   * refused at the end because the file appeared meanwhile is kept beside it under a name of its own.
   */
  keptIn?: string;
}

/**
 * For tests: `beforePublish` runs between writing the temporary file and publishing it (a test creates
 * the target there, as a concurrent run would); `link` stands in for fs.linkSync (a filesystem without
 * hard links throws EPERM).
 */
export const publishHooks: {
  beforePublish?: (tmp: string, target: string) => void;
  link?: (existing: string, newPath: string) => void;
} = {};

/**
 * Writes a file atomically: `write` fills a temporary file beside the target (`.NAME.PID.RANDOM.tmp`,
 * unique per run, so two runs never share one), which is then published in one step. Without
 * `overwrite` the step is a hard link, which fails if the target exists, so a file that appeared after
 * the run started (another run writing the same path) is never replaced: it is kept and this run's
 * output is refused with OUTPUT_EXISTS, saying where the output still is. The temporary file is removed
 * on every exit path, including an error in `write` and process.exit (Ctrl-C twice); one left by a process
 * that was killed (kill -9, power loss) is removed by the next write to the same target once that
 * process is gone.
 *
 * @example await writeFileAtomically("out.html", (tmp) => writeFileSync(tmp, html), { flag: "--report", overwrite: false })
 */
export async function writeFileAtomically(
  path: string,
  write: (tmp: string) => unknown,
  options: PublishOptions,
): Promise<void> {
  const target = resolve(path);
  const tmp = startTemp(target);
  try {
    await write(tmp);
    publish(tmp, path, options);
  } finally {
    endTemp(tmp);
  }
}

/** {@link writeFileAtomically} for text that is ready: the same temporary file, checks and messages. */
export function writeTextAtomically(path: string, text: string, options: PublishOptions): void {
  const target = resolve(path);
  const tmp = startTemp(target);
  try {
    try {
      writeFileSync(tmp, text);
    } catch (err) {
      throw cannotWrite(path, err, options.flag);
    }
    publish(tmp, path, options);
  } finally {
    endTemp(tmp);
  }
}

/** Temporary files being written by this process, removed if it exits before they are published. */
const inFlight = new Set<string>();
let exitHandler = false;

function startTemp(target: string): string {
  removeStaleTemps(target);
  if (!exitHandler) {
    // process.exit (the second Ctrl-C) skips `finally` blocks, not 'exit' listeners.
    process.on("exit", () => {
      for (const tmp of inFlight) {
        try {
          rmSync(tmp, { force: true });
        } catch {
          // exiting anyway; the next write to the same target removes it
        }
      }
    });
    exitHandler = true;
  }
  const tmp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  inFlight.add(tmp);
  return tmp;
}

function endTemp(tmp: string): void {
  rmSync(tmp, { force: true });
  inFlight.delete(tmp);
}

/**
 * Removes temporary files of `target` (this module's naming) whose process is gone: what a run killed
 * while writing left. A process that still runs, or that we may not signal (another user's), keeps its
 * file. Returns the names removed.
 */
export function removeStaleTemps(target: string): string[] {
  const dir = dirname(target);
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // an unreadable directory: the write itself will say so
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // not ours to remove (permissions): leave it
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Errors of fs.linkSync on filesystems without hard links (FAT, some network and FUSE filesystems). */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"]);

/** Publishes the temporary file at `path`: replacing what is there only with `overwrite`. */
function publish(tmp: string, path: string, options: PublishOptions): void {
  const target = resolve(path);
  publishHooks.beforePublish?.(tmp, target);
  try {
    if (options.overwrite) {
      renameSync(tmp, target);
      return;
    }
    if (placeNew(tmp, target)) return;
  } catch (err) {
    throw cannotWrite(path, err, options.flag);
  }
  // The target appeared after the run started: keep it, and keep this run's output somewhere it can be found.
  let where = options.keptIn;
  if (where === undefined) {
    const ext = extname(target);
    const kept = join(
      dirname(target),
      `${basename(target, ext)}.${process.pid}-${randomBytes(3).toString("hex")}${ext}`,
    );
    try {
      if (placeNew(tmp, kept)) where = kept;
    } catch {
      // nowhere to keep it: the message says so by not naming a place
    }
  }
  throw new SynthorError(
    "OUTPUT_EXISTS",
    `${path} appeared after this run started (another run writing the same file?); it was left as it is`,
    `pass --overwrite to replace it, or choose another ${options.flag}; ${where === undefined ? "this run's output was not kept" : `this run's output is in ${where}`}`,
    { file: path, ...(where !== undefined ? { keptIn: where } : {}) },
  );
}

/**
 * Gives the temporary file the name `dest` if nothing has it, atomically: false if `dest` exists. A hard
 * link fails with EEXIST; where hard links are not supported, the name is reserved by creating an empty
 * file exclusively (O_EXCL, which also fails if it exists) and the temporary file renamed over it.
 */
function placeNew(tmp: string, dest: string): boolean {
  try {
    (publishHooks.link ?? linkSync)(tmp, dest);
    return true; // the temporary name is removed by endTemp
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") return false;
    if (!NO_HARD_LINKS.has(code)) throw err;
  }
  let fd: number;
  try {
    fd = openSync(dest, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(dest, { force: true }); // our own empty placeholder
    throw err;
  }
  return true;
}

function cannotWrite(path: string, err: unknown, flag: string): SynthorError {
  const reason = err instanceof Error ? err.message : String(err);
  return new SynthorError(
    "CONFIG_INVALID",
    `cannot write ${path}: ${reason}`,
    `check that its directory exists and is writable, or choose another ${flag}`,
    { file: path, reason },
  );
}
