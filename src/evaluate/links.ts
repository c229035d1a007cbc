/**
 * Two linked tables: a parent (households) and a child (persons) that points to it by a key column. The
 * evaluation of nested synthesis reads both sides' pairs of tables; this module checks that the key is
 * there and says how the child rows hang on the parent rows (orphans, parents without a child, children
 * per parent), on the real side and on the synthetic one.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { type Problem, throwIfProblems } from "../errors.ts";
import { cliName, didYouMean } from "../names.ts";
import { type ColumnProfile, profileColumns, splitColumnList } from "../profile.ts";
import type { SourceInfo } from "../source.ts";

/** The child tables of a two-table evaluation (see {@link EvaluationOptions.child}). */
export interface ChildOptions {
  /** Table or view names in `db`. */
  real: string;
  synth: string;
  /** The column of both child tables (and both parents) that links a child row to its parent row. */
  key: string;
  /** The names the queries read the tables by; default households and persons. */
  names?: { parent: string; child: string };
  labels?: { real: string; synth: string };
  /** The real child table's profile (key left out): with it, the child tables' columns are compared too. */
  profiles?: ColumnProfile[];
}

/** How a child table hangs on its parent table (sql/eval_links.sql). */
export interface LinkSummary {
  parents: number;
  /** Distinct non-NULL keys of the parent table; less than `parents` when keys repeat. */
  distinctKeys: number;
  children: number;
  /** Child rows whose key matches no parent row (a NULL key matches none). */
  orphans: number;
  /** Parent keys no child row points to. */
  childless: number;
  childrenPerParent: number | null;
}

export interface LinksResult {
  key: string;
  /** The names the queries read the two tables by. */
  names: { parent: string; child: string };
  labels: { realChild: string; synthChild: string };
  real: LinkSummary;
  synth: LinkSummary;
  /** What is wrong with the synthetic links (orphans, repeated keys), in words. */
  warnings: string[];
}

/** One table that must hold the key column, and how to name it to people. */
export interface KeyedTable {
  table: string;
  label: string;
  /** The flag the table came from, for the hint (--real, --real-child, ...). */
  flag: string;
}

/**
 * Checks that every table has the key column; all missing ones are reported together.
 *
 * @example await checkKey(db, "hhID", [{ table: "r", label: "households.csv", flag: "--real" }]);
 */
export async function checkKey(db: Db, key: string, tables: KeyedTable[]): Promise<void> {
  const problems: Problem[] = [];
  for (const t of tables) {
    const columns = (
      await db.all<{ column_name: string }>(`describe ${quoteIdent(t.table)}`, {}, "describe a table")
    ).map((c) => c.column_name);
    if (!columns.includes(key)) {
      problems.push({
        code: "COLUMN_UNKNOWN",
        message: `the key column ${key} is not in ${t.label} (${t.flag})`,
        hint: `${didYouMean(key, columns)}--key names the column that links each child row to its parent row; ${t.label} has ${columns.map(cliName).join(", ")}`,
        subject: t.label,
      });
    }
  }
  throwIfProblems(problems);
}

/**
 * How `child` hangs on `parent` by `key`.
 *
 * @example await describeLinks(db, { parent: "households", child: "persons", key: "hhID" })
 * // { parents: 3, distinctKeys: 3, children: 7, orphans: 0, childless: 0, childrenPerParent: 2.33 }
 */
export async function describeLinks(
  db: Db,
  options: { parent: string; child: string; key: string },
): Promise<LinkSummary> {
  const [row] = await db.query<{
    parents: number;
    distinct_keys: number;
    children: number;
    orphans: number;
    childless: number;
    children_per_parent: number | null;
  }>("eval_links", options);
  return {
    parents: row?.parents ?? 0,
    distinctKeys: row?.distinct_keys ?? 0,
    children: row?.children ?? 0,
    orphans: row?.orphans ?? 0,
    childless: row?.childless ?? 0,
    childrenPerParent: row?.children_per_parent ?? null,
  };
}

/** What a synthetic pair of tables gets wrong about its links, in words; nothing when they are sound. */
export function linkWarnings(synth: LinkSummary, names: { parent: string; child: string }): string[] {
  const warnings: string[] = [];
  if (synth.distinctKeys < synth.parents) {
    warnings.push(
      `${synth.parents - synth.distinctKeys} synthetic ${names.parent} rows repeat a key (or have none): queries that join on it count their ${names.child} twice`,
    );
  }
  if (synth.orphans > 0) {
    warnings.push(
      `${synth.orphans} synthetic ${names.child} rows point to no ${names.parent} row: joins leave them out`,
    );
  }
  return warnings;
}

/**
 * The child tables of a two-table evaluation, checked and profiled: the key checked in all four tables,
 * --ignore split between parent and child (each leaves out the named columns it has; a name neither has
 * stays with the parent, whose profile reports it), the key left out of both (it links, it is not
 * compared). Returns the child options and what the parent ignores.
 */
export async function childTables(
  db: Db,
  o: {
    real: SourceInfo;
    synth: SourceInfo;
    realChild: SourceInfo;
    synthChild: SourceInfo;
    key: string;
    names?: { parent: string; child: string };
    ignore: string[];
  },
): Promise<{ child: ChildOptions; parentIgnore: string[] }> {
  await checkKey(db, o.key, [
    { table: o.real.view, label: o.real.label, flag: "--real" },
    { table: o.realChild.view, label: o.realChild.label, flag: "--real-child" },
    { table: o.synth.view, label: o.synth.label, flag: "--synth" },
    { table: o.synthChild.view, label: o.synthChild.label, flag: "--synth-child" },
  ]);
  const parentColumns = new Set(o.real.columns.map((c) => c.name));
  const childColumns = new Set(o.realChild.columns.map((c) => c.name));
  const known = new Set([...parentColumns, ...childColumns]);
  const ignored = o.ignore.flatMap((v) => splitColumnList(v, known));
  const parentIgnore = [...ignored.filter((c) => parentColumns.has(c) || !childColumns.has(c)), o.key];
  // The other flags that set column kinds are about the parent.
  const profiles = await profileColumns(db, o.realChild, {
    ignore: [...ignored.filter((c) => childColumns.has(c)), o.key],
    requireModelled: false,
  });
  return {
    child: {
      profiles,
      real: o.realChild.view,
      synth: o.synthChild.view,
      key: o.key,
      ...(o.names ? { names: o.names } : {}),
      labels: { real: o.realChild.label, synth: o.synthChild.label },
    },
    parentIgnore,
  };
}
