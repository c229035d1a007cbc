/**
 * A flat run's intake, before its loop: the SQL of its options checked before the database is opened,
 * then the source read (and on --resume checked to be the same rows), the reference built (--where,
 * --targets, --tilt), profiled and summarized: the real side the loop measures against.
 */
import { existsSync } from "node:fs";
import { Db } from "./db/connection.ts";
import { checkQuery } from "./db/sql-guard.ts";
import { SynthorError } from "./errors.ts";
import type { ColumnProfile, ProfileOptions } from "./profile.ts";
import {
  buildReference,
  checkReferenceSql,
  profileReference,
  type Reference,
  type ReferenceOptions,
} from "./reference.ts";
import {
  readSource,
  renamedWarning,
  type SourceData,
  type SourceSpec,
  SQL_SOURCE,
  sourceColumns,
  sourceDataOf,
} from "./source.ts";
import { type Summary, summarizeTable } from "./summarize.ts";

/**
 * Checks every option that holds SQL (src/db/sql-guard.ts), in a database of its own (the parser needs
 * one; the run's is not opened yet). A condition DuckDB cannot parse is reported with the source's
 * columns, as the reference would.
 */
export async function checkOptionSql(options: {
  source: SourceSpec | { kind: "summary"; path: string };
  reference?: ReferenceOptions | undefined;
  db?: string | undefined;
}): Promise<void> {
  const source = options.source;
  const reference = options.reference ?? {};
  const given =
    source.kind === "sql" ||
    reference.where !== undefined ||
    (reference.tilts ?? []).length > 0 ||
    (reference.targets ?? []).some((t) => t.kind === "sql");
  if (!given) return;
  const db = await Db.open(":memory:");
  try {
    if (source.kind === "sql") await checkQuery(db, source.sql, SQL_SOURCE);
    try {
      await checkReferenceSql(db, reference);
    } catch (err) {
      if (err instanceof SynthorError && err.code !== "SQL_REFUSED" && source.kind !== "summary") {
        const columns = await columnsOf(db, source, options.db);
        if (columns) await checkReferenceSql(db, reference, columns);
      }
      throw err;
    }
  } finally {
    db.close();
  }
}

/** The source's columns for a hint; a --table is looked up in --db, opened read-only. */
async function columnsOf(
  db: Db,
  source: SourceSpec,
  dbPath: string | undefined,
): Promise<string[] | undefined> {
  if (source.kind !== "table") return sourceColumns(db, source);
  if (dbPath === undefined || !existsSync(dbPath)) return undefined;
  try {
    const stored = await Db.open(dbPath, { readOnly: true });
    try {
      return await sourceColumns(stored, source);
    } finally {
      stored.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Reads the real table, builds the reference from it (--where, --targets, --tilt; the rows themselves
 * without them), profiles its columns and summarizes it: the real side from the rows. The rows are not
 * kept in the database after the run (unless --keep-real), so --resume reads the source again: `resumed`
 * is what the interrupted run read, and a source that no longer gives the same rows is refused.
 */
export async function summarizeRows(
  db: Db,
  spec: SourceSpec,
  profileOptions: ProfileOptions,
  config: { bins: number; subBins: number; minCell: number },
  warn: (message: string) => void,
  referenceOptions: Parameters<typeof buildReference>[2],
  resumed: SourceData | undefined,
  enter: (phase: "profiling columns" | "summarizing") => void = () => {},
): Promise<{ profiles: ColumnProfile[]; summary: Summary; reference: Reference; sourceData: SourceData }> {
  const sourceInfo = await readSource(db, spec);
  const renamed = renamedWarning(sourceInfo);
  if (renamed) warn(renamed);
  const sourceData = await sourceDataOf(db, sourceInfo, resumed);
  for (const c of sourceInfo.columns) {
    if (c.name.startsWith("__synthor_")) {
      throw new SynthorError(
        "INPUT_INVALID",
        `column "${c.name}" uses a name synthor reserves`,
        "rename it in --sql",
      );
    }
  }
  const reference = await buildReference(db, sourceInfo, referenceOptions);
  enter("profiling columns");
  const profiles = await profileReference(db, reference, profileOptions);
  enter("summarizing");
  const summary = await summarizeTable(db, reference, profiles, {
    bins: config.bins,
    subBins: config.subBins,
    minCell: config.minCell,
    materialize: true,
  });
  return { profiles, summary, reference, sourceData };
}
