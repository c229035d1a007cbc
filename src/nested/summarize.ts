import { countUnits } from "../counts.ts";
import type { Db } from "../db/connection.ts";
import { quoteIdent, quoteLiteral } from "../db/quote.ts";
import { codesSelect, modelSelect } from "../encode.ts";
import { type Problem, SynthorError, throwIfProblems } from "../errors.ts";
import { cliName, didYouMean } from "../names.ts";
import { type ColumnProfile, modelledKinds, type ProfileOptions, profileColumns } from "../profile.ts";
import { readSchemaFile, type SchemaFile } from "../schema.ts";
import type { SourceInfo } from "../source.ts";
import { type ModelColumn, type Summary, summarizeTable, type Unit, unitsFor } from "../summarize.ts";
import { HOUSEHOLDS, MEMBERS, type NestedSource } from "./source.ts";

/** The household-level column that holds each household's member count. */
export const SIZE = "#members";
/** The member-level column that holds a member's position in its household (1, 2, ...). */
export const POSITION = "#position";
/** Prefix of the member-level columns that repeat the first member's codes. */
export const FIRST = "first:";

/**
 * A derived household-level column: the household's composition in a member column, the sorted JSON list
 * of its members' values (`#PAge` = `["8","9"]`). One per categorical member column with few values.
 */
export interface Composition {
  /** Column name in the household-level table, e.g. `#PAge`. */
  name: string;
  column: string;
  /**
   * The column's member values, most frequent first (ties by value): the order in which a rare list's
   * values are given up when it is pooled into a class (`has:["0","9"]`, see poolCompositions).
   */
  order: (string | null)[];
}

/** A derived household-level count: how many members have one value of a member column (for evaluation). */
export interface Aggregate {
  /** Column name in the household-level table, e.g. `#PEmp=1`. */
  name: string;
  column: string;
  value: string | null;
}

/** How each column of the members table is treated. */
export type MemberRole = "modelled" | "key" | "inherited" | "position" | "passthrough" | "ignored";

export interface NestedSummary {
  source: NestedSource;
  /**
   * The household-level table as the flat machinery sees it: the household columns, the member count
   * `#members` and the compositions (`#PAge` = `["8","9"]`). Its count tables are synthor_real_counts /
   * synthor_synth_counts, as for a flat table.
   */
  households: Summary;
  /** The real household columns (the proposal's `household` part), in table order. */
  householdColumns: ModelColumn[];
  /** Household-level profiles for the output: real columns only, the key as an identifier. */
  householdProfiles: ColumnProfile[];
  /** The member summary (its columns are the proposal's member part). */
  members: Summary;
  memberColumns: ModelColumn[];
  /** Every column of the members table with its role, in table order (for the output). */
  memberProfiles: (ColumnProfile & { role: MemberRole })[];
  /** Household columns that repeat an earlier one (`of`) in every row: written from it. */
  copies: { name: string; of: string }[];
  compositions: Composition[];
  /** Members per value (`#PAge=8`), reported at the end beside the compositions. */
  aggregates: Aggregate[];
  /** Counts of this many members or more are pooled in the aggregates ("3+"). */
  cap: number;
  /** Member-level units (ids start with "member:"), counted on the member codes joined with their household's. */
  memberUnits: Unit[];
  /** Column order of the member codes tables (what unit ids list columns in). */
  memberCodeColumns: string[];
}

export interface NestedSummarizeOptions {
  profile?: ProfileOptions;
  bins?: number;
  subBins?: number;
  /** As summarizeTable's minCell, at both levels (the grids; the planners back off below it). */
  minCell?: number;
  /** Member columns with at most this many values get a household-level composition (default 12). */
  maxCompositionValues?: number;
  /** Members-per-value counts (reported at the end) at or above this are pooled (default 3). */
  cap?: number;
}

/** Real member model table (key, position, model columns) and codes table (joined with household codes). */
export const REAL_MEMBER_MODEL = "synthor_nested_real_member_model";
export const REAL_MEMBER_CODES = "synthor_nested_real_member_codes";

/**
 * Summaries at both levels. Members: profiled (the key, columns copied from the household, and a column
 * that is just the member's position are left out of modelling) and summarized like a flat table. Households:
 * the household columns plus derived member columns (the size, and each member column's composition:
 * the sorted list of the members' values) are summarized as one flat table, so its count tables, groups, TVD and the statistical planner are the flat ones. Member-level
 * count tables (ids `member:[...]`) cover every member column, alone and with each household column and
 * with the member's position.
 */
export async function summarizeNested(
  db: Db,
  source: NestedSource,
  options: NestedSummarizeOptions = {},
): Promise<NestedSummary> {
  const cap = options.cap ?? 3;
  const maxValues = options.maxCompositionValues ?? 12;
  const key = source.key.name;
  const householdNames = source.households.columns.map((c) => c.name);
  const memberNames = source.members.columns.map((c) => c.name).filter((n) => !n.startsWith("__synthor_"));
  const split = splitProfileOptions(options.profile ?? {}, householdNames, memberNames);

  // Which member columns are the key, copies of the household's, or the position.
  const roles = new Map<string, MemberRole>();
  for (const name of memberNames) {
    if (name === key) roles.set(name, "key");
    else if (householdNames.includes(name)) {
      const [row] = await db.query<{ inherited: boolean }>("nested_inherited", {
        households: HOUSEHOLDS,
        members: MEMBERS,
        key: "__synthor_key",
        column: name,
      });
      if (!row?.inherited) {
        throw new SynthorError(
          "INPUT_INVALID",
          `column "${name}" is in both tables but the members' values differ from their household's`,
          `rename it in one of the tables (e.g. with --sql "select * rename (${name} as member_${name}) from ..."), or leave it out with --ignore ${name}`,
          { column: name },
        );
      }
      roles.set(name, "inherited");
    } else {
      const [row] = await db.all<{ same: boolean }>(
        `select coalesce(bool_and(${quoteIdent(name)}::varchar = __synthor_member::varchar), false) as same from ${MEMBERS}`,
        {},
        "nested: position column",
      );
      roles.set(name, row?.same ? "position" : "modelled");
    }
  }

  // Members: profile and summarize like a flat table; keep what summarizeTable leaves in shared tables.
  const memberInfo: SourceInfo = {
    ...source.members,
    columns: source.members.columns.filter((c) => roles.get(c.name) === "modelled"),
  };
  // Overrides that name a member column copied from the household (or the key, the position) are the
  // household's business.
  const modelledOnly = (names: string[] | undefined) => names?.filter((n) => roles.get(n) === "modelled");
  const memberOptions: ProfileOptions = { ...split.members };
  for (const list of ["categorical", "numeric", "ignore"] as const) {
    const kept = modelledOnly(split.members[list]);
    if (kept) memberOptions[list] = kept;
  }
  const memberProfiles = (await profileColumns(db, memberInfo, memberOptions)).map((p) =>
    // A whole-number column with a different value for every member is an id (personID), even when its
    // values are too sparse for the flat profile to call it one: fresh unique values, not a modelled column.
    modelledKinds.includes(p.kind) && p.integral && p.nulls === 0 && p.rows > 1 && p.distinct === p.rows
      ? { ...p, kind: "identifier" as const, reason: "a different whole number for every member" }
      : p,
  );
  const members = await summarizeTable(db, memberInfo, memberProfiles, {
    ...(options.minCell ? { minCell: options.minCell } : {}),
    ...(options.bins ? { bins: options.bins } : {}),
    ...(options.subBins ? { subBins: options.subBins } : {}),
  });
  if (members.columns.length === 0) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the members table ${source.members.label} has no column to model`,
      "check --key and the --ignore options",
    );
  }
  const memberModelled = members.columns;
  await db.exec(
    `create or replace ${db.realKind("table")} ${REAL_MEMBER_MODEL} as
       select __synthor_key, __synthor_member, ${modelSelect(memberModelled, MEMBERS).slice("select ".length)};
     create or replace temp table synthor_nested_stash_edges as from synthor_edges;
     create or replace temp table synthor_nested_stash_bins as from synthor_bins;
     create or replace temp table synthor_nested_stash_grid as from synthor_grid;`,
    "nested: keep member model and bins",
  );

  // Household level: household columns + size + compositions, summarized as a flat table.
  const aggregates: Aggregate[] = [];
  const compositions: Composition[] = [];
  for (const c of memberModelled) {
    if (c.kind !== "categorical") continue;
    const values = c.categories ?? [];
    if (values.length > maxValues) continue;
    compositions.push({ name: `#${c.name}`, column: c.name, order: await valueOrder(db, c.name) });
    for (const v of values) {
      aggregates.push({ name: `#${c.name}=${v.value ?? "NULL"}`, column: c.name, value: v.value });
    }
  }
  const derived = [SIZE, ...compositions.map((a) => a.name)];
  const clash = [...derived, ...aggregates.map((a) => a.name)].find((d) => householdNames.includes(d));
  if (clash) {
    throw new SynthorError(
      "INPUT_INVALID",
      `the households table has a column named "${clash}", a name synthor uses for a member count`,
      "rename that column",
    );
  }
  await db.exec(
    `create or replace ${db.realKind("table")} synthor_nested_real_aug as
     ${augmentedSelect({
       households: HOUSEHOLDS,
       householdExprs: householdNames.map((n) => `h.${quoteIdent(n)}`),
       memberModel: REAL_MEMBER_MODEL,
       compositions,
       aggregates: [],
       cap,
       keepKey: true,
     })}`,
    "nested: household-level table",
  );
  await keepFrequentCompositions(db, compositions, source.households.rows);
  await poolCompositions(db, "synthor_nested_real_aug", compositions);
  const augInfo: SourceInfo = {
    view: "synthor_nested_real_aug",
    label: source.households.label,
    rows: source.households.rows,
    columns: [
      ...source.households.columns,
      { name: "__synthor_key", type: "VARCHAR" },
      ...derived.map((name) => ({ name, type: "VARCHAR" })),
    ],
  };
  // A household column that repeats an earlier one in every row is copied from it, not modelled twice
  // (two models of one code would disagree in the synthetic rows).
  const copies = await findCopies(
    db,
    HOUSEHOLDS,
    householdNames.filter((n) => n !== key && !(split.households.ignore ?? []).includes(n)),
  );
  const copied = copies.map((c) => c.name);
  const householdProfileOptions: ProfileOptions = {
    ...split.households,
    categorical: [...(split.households.categorical ?? []).filter((n) => !copied.includes(n)), ...derived],
    ...(split.households.numeric
      ? { numeric: split.households.numeric.filter((n) => !copied.includes(n)) }
      : {}),
    // The key links the levels and is written fresh: never modelled, even where its values (gaps, text)
    // would not make the profiler call it an identifier.
    ignore: [...(split.households.ignore ?? []), key, "__synthor_key", ...copied],
  };
  const augProfiles = await profileColumns(db, augInfo, householdProfileOptions);
  const households = await summarizeTable(db, augInfo, augProfiles, {
    materialize: true,
    ...(options.minCell ? { minCell: options.minCell } : {}),
    ...(options.bins ? { bins: options.bins } : {}),
    ...(options.subBins ? { subBins: options.subBins } : {}),
  });
  households.passthrough = households.passthrough.filter((p) => p.name !== "__synthor_key");
  await db.exec(
    `insert into synthor_edges from synthor_nested_stash_edges;
     insert into synthor_bins from synthor_nested_stash_bins;
     insert into synthor_grid from synthor_nested_stash_grid;`,
    "nested: member bins beside the household ones",
  );

  const householdColumns = households.columns.filter((c) => !derived.includes(c.name));
  const householdProfiles = augProfiles
    .filter((p) => householdNames.includes(p.name))
    .map((p) => {
      if (p.name === key) return { ...p, kind: "identifier" as const, reason: "the key (--key)" };
      const copy = copies.find((c) => c.name === p.name);
      const of = copy && augProfiles.find((x) => x.name === copy.of);
      // Written from the copied column's model values, the way that column is written, in its own type.
      return of && of.kind !== "ignored"
        ? { ...of, name: p.name, index: p.index, sqlType: p.sqlType, reason: `a copy of ${copy.of}` }
        : p;
    });

  // Member level: member codes with their household's codes, position and the first member's codes.
  const householdCodeColumns = [
    ...householdColumns,
    households.columns.find((c) => c.name === SIZE) as ModelColumn,
  ];
  const memberCodeColumns = [
    ...householdCodeColumns.map((c) => c.name),
    POSITION,
    ...memberModelled.map((c) => c.name),
    ...memberModelled.map((c) => `${FIRST}${c.name}`),
  ];
  await db.exec(
    `create or replace ${db.realKind("table")} ${REAL_MEMBER_CODES} as
     ${memberCodesSelect(householdCodeColumns, memberModelled, "synthor_nested_real_aug", REAL_MEMBER_MODEL)}`,
    "nested: real member codes",
  );
  const memberUnitGroups: string[][] = [
    ...memberModelled.map((c) => [c.name]),
    ...memberModelled.flatMap((m) => [
      ...householdCodeColumns.map((h) => [h.name, m.name]),
      [POSITION, m.name],
    ]),
  ];
  const order = memberCodeColumns.map((name) => ({ name }) as ColumnProfile);
  const memberUnits = (await unitsFor(db, memberUnitGroups, order)).map((u) => ({
    ...u,
    id: `member:${u.id}`,
  }));
  await countUnits(db, REAL_MEMBER_CODES, memberUnits.map(unprefixed), "synthor_real_counts", {
    prefix: "member:",
  });

  return {
    source,
    households,
    householdColumns,
    householdProfiles,
    members,
    memberColumns: memberModelled,
    memberProfiles: source.members.columns
      .filter((c) => !c.name.startsWith("__synthor_"))
      .map((c) => {
        const role = roles.get(c.name) ?? "modelled";
        const p = memberProfiles.find((x) => x.name === c.name);
        const base: ColumnProfile = p ?? {
          name: c.name,
          index: 0,
          sqlType: c.type,
          kind: "ignored",
          reason: role,
          integral: false,
          rows: source.members.rows,
          nulls: 0,
          nullShare: 0,
          distinct: 0,
          min: null,
          max: null,
        };
        const kindRole: MemberRole =
          role !== "modelled"
            ? role
            : modelledKinds.includes(base.kind)
              ? "modelled"
              : base.kind === "ignored"
                ? "ignored"
                : "passthrough";
        return { ...base, role: kindRole };
      }),
    copies,
    compositions,
    aggregates,
    cap,
    memberUnits,
    memberCodeColumns,
  };
}

/** Columns that repeat an earlier column of the list in every row (sql/same_values.sql), with the one they repeat. */
async function findCopies(db: Db, table: string, names: string[]): Promise<{ name: string; of: string }[]> {
  const copies: { name: string; of: string }[] = [];
  for (const [j, name] of names.entries()) {
    for (const of of names.slice(0, j)) {
      if (copies.some((c) => c.name === of)) continue;
      const [row] = await db.query<{ same: boolean }>("same_values", { table, column_a: of, column_b: name });
      if (row?.same) {
        copies.push({ name, of });
        break;
      }
    }
  }
  return copies;
}

/** The composition value rare compositions no class takes are pooled into. */
export const OTHER = "other";
/** Prefix of a pooled class: `has:["0","9"]`, at least one member with each value listed (see poolCompositions). */
export const HAS = "has:";

/** A member column's values, most frequent among the real members first (ties by value, NULL last). */
async function valueOrder(db: Db, column: string): Promise<(string | null)[]> {
  const rows = await db.all<{ value: string | null }>(
    `select value from (select ${quoteIdent(column)}::varchar as value, count(*) as n from ${REAL_MEMBER_MODEL} group by all)
     order by n desc, value nulls last`,
    {},
    "nested: member value order",
  );
  return rows.map((r) => r.value);
}

/**
 * For each composition list of table `lists` (column l), its chain of pooled classes: step k gives up
 * the k most frequent of the values present (Composition.order) and keeps the rest, `has:[...]` with the
 * values sorted as synthor_member_values sorts them. Rows: l, k, cls. Needs synthor_nested_composition_order.
 */
function chainSelect(lists: string): string {
  return `with vals as (select l, unnest(from_json(l, '["VARCHAR"]')) as v from ${lists}),
     present as (select distinct l, v from vals),
     ranked as (
       select p.l, p.v, coalesce(o.rank, 1000000) as rank
       from present as p
       left join synthor_nested_composition_order as o on o."column" = $column and o.value is not distinct from p.v
     ),
     ordered as (select l, v, row_number() over (partition by l order by rank, v nulls last) - 1 as pos from ranked),
     steps as (select distinct l, pos as k from ordered)
     select s.l, s.k, ${quoteLiteral(HAS)} || to_json(list(o.v order by o.v nulls last))::varchar as cls
     from steps as s
     join ordered as o on o.l = s.l and o.pos >= s.k
     group by s.l, s.k`;
}

/**
 * Keeps the compositions at least max(2, min(20, 0.1% of households)) real households have, in table
 * synthor_nested_compositions ("column", value): a household's list of 10 members' ages is nearly unique,
 * and planning with a thousand such categories would cost much and teach little. The rest (about 9% of
 * households in a travel survey, mostly the large ones, and every household there with both a child and
 * an elder) are pooled into classes by the values present, so the rare, informative values survive: a
 * rare list's class is the first of its chain (chainSelect: the values present, then without the most
 * frequent one, and so on) that as many households take; what no class takes is "other". Classes are
 * found by dropping, one at a time, the one fewest households would take, until every class kept has
 * enough.
 */
export async function keepFrequentCompositions(
  db: Db,
  compositions: Composition[],
  households: number,
): Promise<void> {
  const min = Math.max(2, Math.min(20, Math.ceil(households * 0.001)));
  await db.exec(
    `create or replace table synthor_nested_compositions ("column" varchar, value varchar);
     create or replace table synthor_nested_composition_order ("column" varchar, value varchar, rank integer)`,
    "nested: frequent compositions",
  );
  for (const c of compositions) {
    if (c.order.length > 0) {
      await db.exec(
        `insert into synthor_nested_composition_order values ${c.order
          .map((v, i) => `(${quoteLiteral(c.column)}, ${v === null ? "null" : quoteLiteral(v)}, ${i + 1})`)
          .join(", ")}`,
        "nested: member value order",
      );
    }
    await db.exec(
      `insert into synthor_nested_compositions
       select $column, value from (select ${quoteIdent(c.name)} as value, count(*) as n from synthor_nested_real_aug group by all)
       where n >= $min`,
      "nested: frequent compositions",
      { column: c.column, min },
    );
    await db.exec(
      `create or replace temp table synthor_nested_pool_lists as
       select ${quoteIdent(c.name)} as l, count(*) as n from synthor_nested_real_aug
       where ${quoteIdent(c.name)} not in (select value from synthor_nested_compositions where "column" = $column)
       group by all`,
      "nested: compositions to pool",
      { column: c.column },
    );
    await db.exec(
      `create or replace temp table synthor_nested_pool_chain as ${chainSelect("synthor_nested_pool_lists")}`,
      "nested: pooled classes",
      { column: c.column },
    );
    await db.exec(
      `create or replace temp table synthor_nested_pool_kept as
       select cls from synthor_nested_pool_chain join synthor_nested_pool_lists using (l)
       group by cls having sum(n) >= $min`,
      "nested: pooled classes",
      { min },
    );
    for (;;) {
      const [short] = await db.all<{ cls: string }>(
        `select k.cls from synthor_nested_pool_kept as k
         left join (
           select cls, sum(n) as n from (
             select arg_min(cls, k) as cls, l from synthor_nested_pool_chain
             where cls in (select cls from synthor_nested_pool_kept) group by l
           ) join synthor_nested_pool_lists using (l)
           group by cls
         ) as taken on taken.cls = k.cls
         where coalesce(taken.n, 0) < $min
         order by coalesce(taken.n, 0), k.cls limit 1`,
        { min },
        "nested: pooled classes too small",
      );
      if (!short) break;
      await db.exec("delete from synthor_nested_pool_kept where cls = $cls", "nested: drop a pooled class", {
        cls: short.cls,
      });
    }
    await db.exec(
      `insert into synthor_nested_compositions select $column, cls from synthor_nested_pool_kept order by cls`,
      "nested: pooled classes",
      { column: c.column },
    );
  }
}

/**
 * Pools, in place, the compositions synthor_nested_compositions does not keep: each into the first class
 * of its chain that it keeps (`has:[...]`), else "other". The same on the real and the synthetic side.
 */
export async function poolCompositions(db: Db, table: string, compositions: Composition[]): Promise<void> {
  for (const c of compositions) {
    const col = quoteIdent(c.name);
    const kept = `select value from synthor_nested_compositions where "column" = $column`;
    await db.exec(
      `create or replace temp table synthor_nested_pool_lists as
       select distinct ${col} as l from ${quoteIdent(table)} where ${col} not in (${kept})`,
      "nested: pool rare compositions",
      { column: c.column },
    );
    await db.exec(
      `create or replace temp table synthor_nested_pool_map as
       select l.l, coalesce(m.cls, $other) as cls
       from synthor_nested_pool_lists as l
       left join (
         select l, arg_min(cls, k) as cls from (${chainSelect("synthor_nested_pool_lists")})
         where cls in (${kept})
         group by l
       ) as m on m.l = l.l`,
      "nested: pool rare compositions",
      { column: c.column, other: OTHER },
    );
    await db.exec(
      `update ${quoteIdent(table)} as t set ${col} = m.cls
       from synthor_nested_pool_map as m where t.${col} = m.l`,
      "nested: pool rare compositions",
    );
  }
}

function unprefixed(u: Unit): Unit {
  return { id: u.id.replace(/^member:/, ""), columns: u.columns };
}

/**
 * The household-level table: household columns (as given), the member count, the compositions
 * (synthor_member_values) and member counts per category (synthor_member_counts, synthor_count_code),
 * from a households table and a member model table that share `__synthor_key`.
 */
export function augmentedSelect(o: {
  households: string;
  householdExprs: string[];
  memberModel: string;
  compositions: Composition[];
  aggregates: Aggregate[];
  cap: number;
  keepKey?: boolean;
  extra?: string[];
}): string {
  const byColumn = new Map<string, Aggregate[]>();
  for (const a of o.aggregates) byColumn.set(a.column, [...(byColumn.get(a.column) ?? []), a]);
  const joins: string[] = [];
  const exprs: string[] = [...o.householdExprs];
  if (o.keepKey) exprs.push("h.__synthor_key");
  exprs.push(`coalesce(s.size, 0)::varchar as ${quoteIdent(SIZE)}`);
  o.compositions.forEach((c, i) => {
    const alias = `c${i}`;
    joins.push(
      `left join synthor_member_values(${quoteLiteral(o.memberModel)}, '__synthor_key', ${quoteLiteral(c.column)}) as ${alias} on ${alias}.key = h.__synthor_key`,
    );
    exprs.push(`coalesce(${alias}."values", '[]') as ${quoteIdent(c.name)}`);
  });
  [...byColumn.entries()].forEach(([column, aggs], i) => {
    const alias = `a${i}`;
    const sums = aggs.map(
      (a, j) =>
        `sum(n) filter (where value ${a.value === null ? "is null" : `= ${quoteLiteral(a.value)}`}) as n${j}`,
    );
    joins.push(
      `left join (select key, ${sums.join(", ")} from synthor_member_counts(${quoteLiteral(o.memberModel)}, '__synthor_key', ${quoteLiteral(column)}) group by key) as ${alias} on ${alias}.key = h.__synthor_key`,
    );
    aggs.forEach((a, j) => {
      exprs.push(
        `synthor_count_code(coalesce(${alias}.n${j}, 0), ${Math.floor(o.cap)}) as ${quoteIdent(a.name)}`,
      );
    });
  });
  exprs.push(...(o.extra ?? []));
  return `select ${exprs.join(", ")}
     from ${quoteIdent(o.households)} as h
     left join synthor_household_sizes(${quoteLiteral(o.households)}, ${quoteLiteral(o.memberModel)}, '__synthor_key') as s
       on s.key = h.__synthor_key
     ${joins.join("\n     ")}`;
}

/**
 * Member codes joined with their household's codes: household columns and size, the member's position,
 * its own codes, and the first member of its household's codes (`first:NAME`).
 */
export function memberCodesSelect(
  householdColumns: ColumnProfile[],
  memberColumns: ColumnProfile[],
  householdTable: string,
  memberModel: string,
): string {
  const hCodes = codesSelect(householdColumns, quoteIdent(householdTable)).replace(
    /^select /,
    "select __synthor_key, ",
  );
  const mCodes = codesSelect(memberColumns, quoteIdent(memberModel)).replace(
    /^select /,
    "select __synthor_key, __synthor_member, ",
  );
  const firsts = memberColumns.map((c) => `f.${quoteIdent(c.name)} as ${quoteIdent(`${FIRST}${c.name}`)}`);
  return `with hc as (${hCodes}), mc as (${mCodes})
     select ${householdColumns.map((c) => `hc.${quoteIdent(c.name)}`).join(", ")},
            mc.__synthor_member::varchar as ${quoteIdent(POSITION)},
            ${memberColumns.map((c) => `mc.${quoteIdent(c.name)}`).join(", ")},
            ${firsts.join(", ")}
     from mc
     join hc using (__synthor_key)
     join mc as f on f.__synthor_key = mc.__synthor_key and f.__synthor_member = 1`;
}

/**
 * The user's --categorical/--numeric/--ignore lists and --schema file split by the table that has each
 * column (both when both do). A name neither table has is an error that lists both tables' columns.
 */
function splitProfileOptions(
  options: ProfileOptions,
  householdNames: string[],
  memberNames: string[],
): { households: ProfileOptions; members: ProfileOptions } {
  const problems: Problem[] = [];
  const households: ProfileOptions = {};
  const members: ProfileOptions = {};
  if (options.schemaFile) {
    // One schema file for both tables: each column's entry goes to the table that has it (both when both do).
    const schema = readSchemaFile(options.schemaFile);
    const part = () => ({
      ...(schema.maxCategories !== undefined ? { maxCategories: schema.maxCategories } : {}),
      columns: {},
    });
    const h: SchemaFile = part();
    const m: SchemaFile = part();
    for (const [name, entry] of Object.entries(schema.columns)) {
      if (householdNames.includes(name)) h.columns[name] = entry;
      if (memberNames.includes(name)) m.columns[name] = entry;
      if (!householdNames.includes(name) && !memberNames.includes(name)) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `the schema file names column "${name}", which neither table has`,
          hint: `${didYouMean(name, [...householdNames, ...memberNames])}household columns: ${householdNames.map(cliName).join(", ")}; member columns: ${memberNames.map(cliName).join(", ")}`,
          subject: name,
        });
      }
    }
    households.schema = h;
    members.schema = m;
  }
  if (options.maxCategories !== undefined) {
    households.maxCategories = options.maxCategories;
    members.maxCategories = options.maxCategories;
  }
  for (const list of ["categorical", "numeric", "ignore"] as const) {
    for (const name of (options[list] ?? []).flatMap((v) => v.split(",")).map((s) => s.trim())) {
      if (name === "") continue;
      const inH = householdNames.includes(name);
      const inM = memberNames.includes(name);
      if (inH) households[list] = [...(households[list] ?? []), name];
      if (inM) members[list] = [...(members[list] ?? []), name];
      if (!inH && !inM) {
        problems.push({
          code: "COLUMN_UNKNOWN",
          message: `--${list} names column "${name}", which neither table has`,
          hint: `${didYouMean(name, [...householdNames, ...memberNames])}household columns: ${householdNames.map(cliName).join(", ")}; member columns: ${memberNames.map(cliName).join(", ")}`,
          subject: name,
        });
      }
    }
  }
  if (options.describe) {
    for (const [name, text] of Object.entries(options.describe)) {
      if (householdNames.includes(name)) households.describe = { ...households.describe, [name]: text };
      if (memberNames.includes(name)) members.describe = { ...members.describe, [name]: text };
    }
  }
  throwIfProblems(problems);
  return { households, members };
}
