import { existsSync } from "node:fs";
import type { Db } from "../db/connection.ts";
import { quoteIdent, quoteLiteral } from "../db/quote.ts";
import { SynthorError } from "../errors.ts";
import { cliName, didYouMean, unknownColumnHint } from "../names.ts";
import type { Tilt } from "../raking.ts";
import { applyWhere, buildReference, type Reference } from "../reference.ts";
import { readSource, type SourceInfo, type SourceSpec } from "../source.ts";
import type { TargetSpec } from "../targets.ts";

/**
 * Where nested data comes from: a households table and a members table linked by a key column, or one
 * table with a LIST of STRUCT column (each row a household, the list its members).
 */
export type NestedSpec =
  | { kind: "linked"; households: SourceSpec; members: SourceSpec; key: string }
  | { kind: "nested"; source: SourceSpec; list?: string };

/** The two levels as read: tables with a text key `__synthor_key`, members with their position. */
export interface NestedSource {
  households: SourceInfo;
  members: SourceInfo;
  /** The key column's name and SQL type (a nested source gets a made-up key `__synthor_key`). */
  key: { name: string; type: string };
  /** For a nested source: the list column, and the member struct's fields in order. */
  list?: { name: string; fields: { name: string; type: string }[] };
  label: string;
}

/** Internal table names of the two levels (the key as text, members with their 1-based position). */
export const HOUSEHOLDS = "synthor_nested_households";
export const MEMBERS = "synthor_nested_members";

/**
 * Reads both levels into tables `synthor_nested_households` and `synthor_nested_members` (temporary
 * unless the database keeps real rows, `Db.keepReal`), each with the
 * key as text in `__synthor_key`, members with their position in the household (`__synthor_member`, in
 * the order the members file lists them). Checks that the key exists in both, is unique among households,
 * and that every member names a household.
 *
 * @example await readNested(db, { kind: "linked", households: { kind: "file", path: "hh.csv" }, members: { kind: "file", path: "p.csv" }, key: "hhID" })
 */
export async function readNested(db: Db, spec: NestedSpec): Promise<NestedSource> {
  if (spec.kind === "nested") return readNestedTable(db, spec);
  const households = await readWhole(db, spec.households, "synthor_real_households");
  const members = await readWhole(db, spec.members, "synthor_real_members");
  for (const [info, what] of [
    [households, "households"],
    [members, "members (--child)"],
  ] as const) {
    if (!info.columns.some((c) => c.name === spec.key)) {
      throw new SynthorError(
        "COLUMN_UNKNOWN",
        `the ${what} table ${info.label} has no key column "${spec.key}"`,
        `${didYouMean(
          spec.key,
          info.columns.map((c) => c.name),
        )}name the column that links the two tables with --key; the columns are: ${info.columns.map((c) => cliName(c.name)).join(", ")}`,
        { source: info.label },
      );
    }
  }
  const type = households.columns.find((c) => c.name === spec.key)?.type ?? "VARCHAR";
  const k = quoteIdent(spec.key);
  await db.exec(
    `create or replace ${db.realKind("table")} ${HOUSEHOLDS} as
       select *, ${k}::varchar as __synthor_key from ${quoteIdent(households.view)};
     create or replace ${db.realKind("table")} ${MEMBERS} as
       select * exclude (__synthor_seq),
              row_number() over (partition by __synthor_key order by __synthor_seq) as __synthor_member
       from (select *, ${k}::varchar as __synthor_key, row_number() over () as __synthor_seq
             from ${quoteIdent(members.view)})`,
    "nested: key both levels",
  );
  await checkLinks(db, spec.key, households.label, members.label);
  return {
    households: { ...households, view: HOUSEHOLDS },
    members: { ...members, view: MEMBERS },
    key: { name: spec.key, type },
    label: `${households.label} + ${members.label}`,
  };
}

/**
 * readSource, but a CSV file's column types are detected from every row: a members file often has a
 * column that is numeric in its first thousands of rows and "NA" further down (persons too young to work).
 */
async function readWhole(db: Db, spec: SourceSpec, view: string): Promise<SourceInfo> {
  if (spec.kind !== "file" || !/\.(csv|tsv)(\.gz|\.zst)?$/i.test(spec.path) || !existsSync(spec.path)) {
    return readSource(db, spec, view);
  }
  const info = await readSource(
    db,
    { kind: "sql", sql: `select * from read_csv(${quoteLiteral(spec.path)}, sample_size = -1)` },
    view,
  );
  return { ...info, label: spec.path };
}

async function readNestedTable(db: Db, spec: Extract<NestedSpec, { kind: "nested" }>): Promise<NestedSource> {
  const info = await readSource(db, spec.source, "synthor_real_nested");
  const lists = info.columns.filter((c) => /^STRUCT\(.*\)\[\]$/is.test(c.type));
  const chosen = spec.list ? info.columns.find((c) => c.name === spec.list) : lists[0];
  if (spec.list !== undefined && chosen === undefined && lists.length > 0) {
    throw new SynthorError(
      "COLUMN_UNKNOWN",
      `--child-column names column "${spec.list}", which ${info.label} does not have`,
      unknownColumnHint(
        spec.list,
        lists.map((c) => c.name),
        "its list-of-struct columns are",
      ),
      { source: info.label },
    );
  }
  if (!chosen || !/^STRUCT\(.*\)\[\]$/is.test(chosen.type) || (!spec.list && lists.length > 1)) {
    throw new SynthorError(
      "INPUT_INVALID",
      spec.list
        ? `column "${spec.list}" of ${info.label} is not a list of structs`
        : lists.length === 0
          ? `${info.label} has no list-of-struct column to read members from`
          : `${info.label} has ${lists.length} list-of-struct columns (${lists.map((c) => c.name).join(", ")})`,
      lists.length > 1
        ? `say which holds the members with --child-column, e.g. --child-column ${lists[0]?.name}`
        : "a nested source has one column of type STRUCT(...)[] (the members); or give two files with --child and --key",
      { source: info.label },
    );
  }
  const l = quoteIdent(chosen.name);
  await db.exec(
    `create or replace ${db.realKind("table")} ${HOUSEHOLDS} as
       select * exclude (${l}), row_number() over ()::varchar as __synthor_key from ${quoteIdent(info.view)};
     create or replace ${db.realKind("table")} synthor_nested_lists as
       select ${l} as lst, row_number() over ()::varchar as __synthor_key from ${quoteIdent(info.view)};
     create or replace ${db.realKind("table")} ${MEMBERS} as
       select s.*, __synthor_key, __synthor_member
       from (select __synthor_key, unnest(lst) as s, generate_subscripts(lst, 1) as __synthor_member
             from synthor_nested_lists)`,
    "nested: unnest members",
  );
  const fields = await db.all<{ column_name: string; column_type: string }>(
    `select column_name, column_type from (describe ${MEMBERS}) where column_name not in ('__synthor_key', '__synthor_member')`,
    {},
    "nested: member fields",
  );
  const columnsOf = async (table: string) =>
    (
      await db.all<{ column_name: string; column_type: string }>(
        `select column_name, column_type from (describe ${table}) where column_name not like '\\_\\_synthor\\_%' escape '\\'`,
      )
    ).map((c) => ({ name: c.column_name, type: c.column_type }));
  const [counts] = await db.all<{ h: number; m: number }>(
    `select (select count(*) from ${HOUSEHOLDS}) as h, (select count(*) from ${MEMBERS}) as m`,
  );
  if ((counts?.m ?? 0) === 0) {
    throw new SynthorError(
      "SOURCE_EMPTY",
      `every list in column "${chosen.name}" of ${info.label} is empty: there are no members`,
      "check the column, or synthesize the table without nesting",
    );
  }
  return {
    households: {
      view: HOUSEHOLDS,
      label: info.label,
      rows: counts?.h ?? 0,
      columns: await columnsOf(HOUSEHOLDS),
    },
    members: {
      view: MEMBERS,
      label: `${info.label}.${chosen.name}`,
      rows: counts?.m ?? 0,
      columns: await columnsOf(MEMBERS),
    },
    key: { name: "__synthor_key", type: "VARCHAR" },
    list: { name: chosen.name, fields: fields.map((f) => ({ name: f.column_name, type: f.column_type })) },
    label: info.label,
  };
}

/** The integrity counts of a households table and a members table (sql/nested_link_check.sql). */
export interface LinkCheck {
  households: number;
  distinct_keys: number;
  null_keys: number;
  members: number;
  orphans: number;
}

export async function linkCheck(
  db: Db,
  households: string,
  members: string,
  key: string,
): Promise<LinkCheck> {
  const [row] = await db.query<LinkCheck & Record<string, unknown>>("nested_link_check", {
    households,
    members,
    key,
  });
  if (!row) throw new Error("nested_link_check returned no row");
  return row;
}

async function checkLinks(db: Db, key: string, householdsLabel: string, membersLabel: string): Promise<void> {
  const c = await linkCheck(db, HOUSEHOLDS, MEMBERS, "__synthor_key");
  if (c.null_keys > 0 || c.distinct_keys < c.households) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the key "${key}" does not identify households in ${householdsLabel}: ${c.households - c.distinct_keys} repeated${c.null_keys ? `, ${c.null_keys} NULL` : ""}`,
      "give the column that is unique per household with --key, or remove the duplicate rows",
      { source: householdsLabel },
    );
  }
  if (c.orphans > 0) {
    const [example] = await db.all<{ key: string | null }>(
      `select __synthor_key as key from ${MEMBERS}
       where __synthor_key is null or __synthor_key not in (select __synthor_key from ${HOUSEHOLDS}) limit 1`,
    );
    throw new SynthorError(
      "INPUT_INVALID",
      `${c.orphans} of ${c.members} rows of ${membersLabel} name a household that ${householdsLabel} does not have (e.g. ${key} = ${example?.key === null ? "NULL" : quoteLiteral(example?.key ?? "")})`,
      "every member must belong to a household: remove those rows, or pass the households file they belong to",
      { source: membersLabel },
    );
  }
}

/**
 * --where on nested data: keeps the households that satisfy it (a condition over the household columns,
 * as the households table has them) and their members; returns the households kept. The errors are the
 * flat --where's (src/reference.ts applyWhere).
 */
export async function keepWhere(db: Db, source: NestedSource, where: string): Promise<number> {
  let kept: number;
  try {
    kept = await applyWhere(db, source.households, where);
  } catch (err) {
    // A member column: say that the condition is over the households.
    const missing =
      err instanceof SynthorError ? /Referenced column "([^"]+)" not found/.exec(err.message) : null;
    const member = source.members.columns.find((c) => c.name === missing?.[1]);
    if (!(err instanceof SynthorError) || !member) throw err;
    throw new SynthorError(
      err.code,
      `--where reads ${cliName(member.name)}, a member column: on nested data it is a condition over the households`,
      `write it over the household columns: ${source.households.columns.map((c) => cliName(c.name)).join(", ")}`,
      { source: source.households.label },
    );
  }
  await db.exec(
    `create or replace temp table synthor_nested_where_keys as select __synthor_key from synthor_reference_rows;
     delete from ${HOUSEHOLDS} where __synthor_key not in (select __synthor_key from synthor_nested_where_keys);
     delete from ${MEMBERS} where __synthor_key not in (select __synthor_key from synthor_nested_where_keys);`,
    "nested: keep the households --where keeps",
  );
  await db.dropReal("synthor_reference_rows");
  const [members] = await db.all<{ n: number }>(`select count(*) as n from ${MEMBERS}`);
  source.households.rows = kept;
  source.members.rows = members?.n ?? 0;
  return kept;
}

/**
 * --targets and --tilt on nested data: the households (after --where) weighted to the targets and tilts
 * as flat rows are (src/reference.ts: raking, tilts, controlled rounding), and each household repeated
 * with its members as many times as its weight says, every copy under a key of its own. The targets'
 * columns are household columns (one only the targets have is added to the households, as in a flat
 * run); a target that names a member column is refused. Returns the reference, whose table
 * synthor_reference (the weighted households) the end of the run fits tilts to.
 */
export async function weightHouseholds(
  db: Db,
  source: NestedSource,
  options: { targets: TargetSpec[]; tilts: Tilt[]; seed: number; rows?: number | undefined },
): Promise<Reference> {
  // The household key under a name of synthor's own (the reference keeps its own __synthor_key); as a
  // column it also orders copies of households alike in every household column, so runs repeat.
  await db.exec(
    `create or replace temp view synthor_nested_hh_base as
       select * exclude (__synthor_key), __synthor_key as __synthor_hh from ${HOUSEHOLDS}`,
    "nested: households to weight",
  );
  const hh = source.households;
  // A target column the households lack would be added to them: a member column is refused first.
  const members = new Set(source.members.columns.map((c) => c.name));
  const households = new Set(hh.columns.map((c) => c.name));
  const refuseMemberColumns = (columns: string[]) => {
    const onMembers = columns.filter((c) => members.has(c) && !households.has(c));
    if (onMembers.length === 0) return;
    throw new SynthorError(
      "CONFIG_INVALID",
      `--targets names ${onMembers.map(cliName).join(", ")}, member column${onMembers.length === 1 ? "" : "s"}: on nested data targets are shares of households`,
      `give targets over the household columns: ${hh.columns.map((c) => cliName(c.name)).join(", ")}`,
    );
  };
  const reference = await buildReference(
    db,
    {
      ...hh,
      view: "synthor_nested_hh_base",
      columns: [...hh.columns, { name: "__synthor_hh", type: "VARCHAR" }],
    },
    {
      targets: options.targets,
      tilts: options.tilts,
      seed: options.seed,
      ...(options.rows ? { rows: options.rows } : {}),
    },
    refuseMemberColumns,
  );
  await db.exec(
    `create or replace temp table synthor_nested_copies as
       select * exclude (__synthor_hh), __synthor_hh,
              __synthor_hh || '#' || row_number() over (partition by __synthor_hh)::varchar as __synthor_key
       from synthor_reference;
     create or replace temp table synthor_nested_members_base as select * from ${MEMBERS};`,
    "nested: households copied by weight",
  );
  await db.dropReal(HOUSEHOLDS);
  await db.dropReal(MEMBERS);
  await db.exec(
    `create ${db.realKind("table")} ${HOUSEHOLDS} as
       select * exclude (__synthor_hh) from synthor_nested_copies order by __synthor_key;
     create ${db.realKind("table")} ${MEMBERS} as
       select m.* exclude (__synthor_key), c.__synthor_key
       from synthor_nested_members_base as m
       join synthor_nested_copies as c on c.__synthor_hh = m.__synthor_key
       order by c.__synthor_key, m.__synthor_member;
     drop table synthor_nested_copies;
     drop table synthor_nested_members_base;`,
    "nested: the weighted households and their members",
  );
  const [counts] = await db.all<{ h: number; m: number }>(
    `select (select count(*) from ${HOUSEHOLDS}) as h, (select count(*) from ${MEMBERS}) as m`,
  );
  const added = reference.columns.filter((c) => reference.added.includes(c.name));
  source.households.columns = [...hh.columns, ...added];
  source.households.rows = counts?.h ?? 0;
  source.members.rows = counts?.m ?? 0;
  return reference;
}
