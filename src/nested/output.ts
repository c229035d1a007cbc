import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { outputSelect, type PublishOptions, type StagedFile, stageOutputFile } from "../output.ts";
import type { ColumnProfile } from "../profile.ts";
import { SYNTH_MEMBERS } from "./sample.ts";
import { type LinkCheck, linkCheck } from "./source.ts";
import type { NestedSummary } from "./summarize.ts";

/**
 * Writes the synthetic data in the user's types. Linked sources: the households table (`outTable`, a fresh
 * key 1..N in the key column, households in a seeded shuffled order) and the members table
 * (`childOutTable`, each member with its household's key, columns copied from the household filled from
 * it, a position column renumbered, identifiers fresh), ordered by household and position. Nested sources:
 * one table with the household columns and the member list. Returns the output's integrity counts.
 */
export async function writeNestedOutputs(
  db: Db,
  s: NestedSummary,
  o: {
    seed: number;
    outTable: string;
    childOutTable?: string;
    out?: string;
    childOut?: string;
    /** Replace existing --out and --child-out files (--overwrite). */
    overwrite?: boolean;
    write: boolean;
  },
): Promise<{ integrity: LinkCheck & { linkedShare: number }; files: StagedFile[] }> {
  const seed = Math.floor(o.seed);
  const [count] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  const rows = count?.n ?? 0;
  // The household order (and key) is outputSelect's: a seeded hash of where each household came from.
  const k = {
    name: "__synthor_k",
    index: 0,
    sqlType: "BIGINT",
    kind: "categorical",
    reason: "",
    integral: true,
    rows,
    nulls: 0,
    nullShare: 0,
    distinct: rows,
    min: null,
    max: null,
  } satisfies ColumnProfile;
  const rn = householdOrder(seed);
  await db.exec(
    `create or replace temp table synthor_nested_hh_out as ${typedHouseholds(s, seed, rows, [k])}`,
    "nested: households in the user's types",
  );
  const keyName = s.source.key.name;
  const hasKey = s.householdProfiles.some((p) => p.name === keyName);
  // Key and columns copied from the household come from the household's output row; a position column is
  // the member's position.
  const copied = [
    ...s.memberProfiles
      .filter((p) => p.role === "key" || p.role === "inherited")
      .map((p) => `h.${quoteIdent(p.role === "key" ? keyName : p.name)}::varchar as ${quoteIdent(p.name)}`),
    ...s.memberProfiles
      .filter((p) => p.role === "position")
      .map((p) => `m.__synthor_member::varchar as ${quoteIdent(p.name)}`),
  ];
  const memberFrom = `(select m.*, k.__synthor_k${copied.map((x) => `, ${x}`).join("")}
      from (select __synthor_iteration, __synthor_proposal, __synthor_row as __synthor_hh_row, __synthor_member,
                   __synthor_row * 65536 + __synthor_member as __synthor_row, * exclude (__synthor_iteration, __synthor_proposal, __synthor_row, __synthor_member)
            from ${SYNTH_MEMBERS}) as m
      join (select __synthor_iteration, __synthor_proposal, __synthor_row, ${rn} as __synthor_k from synthor_synth_model) as k
        on k.__synthor_iteration = m.__synthor_iteration and k.__synthor_proposal = m.__synthor_proposal and k.__synthor_row = m.__synthor_hh_row
      join synthor_nested_hh_out as h on h.__synthor_k = k.__synthor_k)`;
  const memberProfiles: ColumnProfile[] = s.memberProfiles
    .filter((p) => p.role !== "ignored")
    .map((p) =>
      p.role === "key" || p.role === "inherited" || p.role === "position"
        ? { ...p, kind: "categorical" as const }
        : p,
    );
  const position = { ...k, name: "__synthor_member" };
  await db.exec(
    `create or replace temp table synthor_nested_members_out as
     ${outputSelect([...memberProfiles, k, position], seed, memberFrom, rows)}`,
    "nested: members in the user's types",
  );
  if (!o.write) {
    const c = await linkCheck(db, "synthor_nested_hh_out", "synthor_nested_members_out", "__synthor_k");
    return {
      integrity: { ...c, linkedShare: c.members ? (c.members - c.orphans) / c.members : 1 },
      files: [],
    };
  }
  if (s.source.list) {
    const fields = s.memberProfiles.filter((p) => p.role !== "ignored" && p.role !== "key");
    const struct = `struct_pack(${fields.map((f) => `${quoteIdent(f.name)} := m.${quoteIdent(f.name)}`).join(", ")})`;
    await db.exec(
      `create or replace table ${quoteIdent(o.outTable)} as
       select h.* exclude (__synthor_k),
              coalesce((select list(${struct} order by m.__synthor_member) from synthor_nested_members_out as m
                        where m.__synthor_k = h.__synthor_k), []) as ${quoteIdent(s.source.list.name)}
       from synthor_nested_hh_out as h
       order by h.__synthor_k`,
      "nested: write the nested table",
    );
    const files = o.out
      ? [await stageOutputFile(db, o.outTable, o.out, publishing(db, o.outTable, "--out", o.overwrite))]
      : [];
    try {
      const c = await linkCheck(db, "synthor_nested_hh_out", "synthor_nested_members_out", "__synthor_k");
      return { integrity: { ...c, linkedShare: c.members ? (c.members - c.orphans) / c.members : 1 }, files };
    } catch (err) {
      for (const f of files) f.discard();
      throw err;
    }
  }
  const child = o.childOutTable as string;
  await db.exec(
    `create or replace table ${quoteIdent(o.outTable)} as
       select * exclude (__synthor_k) from synthor_nested_hh_out order by __synthor_k;
     create or replace table ${quoteIdent(child)} as
       select * exclude (__synthor_k, __synthor_member) from synthor_nested_members_out order by __synthor_k, __synthor_member`,
    "nested: write households and members",
  );
  // Both files or neither: the caller renames them into place once the run is recorded.
  const files: StagedFile[] = [];
  try {
    if (o.out)
      files.push(
        await stageOutputFile(db, o.outTable, o.out, publishing(db, o.outTable, "--out", o.overwrite)),
      );
    if (o.childOut)
      files.push(
        await stageOutputFile(db, child, o.childOut, publishing(db, child, "--child-out", o.overwrite)),
      );
    const c = hasKey
      ? await linkCheck(db, o.outTable, child, keyName)
      : await linkCheck(db, "synthor_nested_hh_out", "synthor_nested_members_out", "__synthor_k");
    return { integrity: { ...c, linkedShare: c.members ? (c.members - c.orphans) / c.members : 1 }, files };
  } catch (err) {
    for (const f of files) f.discard();
    throw err;
  }
}

/** How an output file is published: the table it is kept in names where the rows are if it is refused. */
function publishing(db: Db, table: string, flag: string, overwrite = false): PublishOptions {
  return { flag, overwrite, ...(db.path !== ":memory:" ? { keptIn: `table ${table} of ${db.path}` } : {}) };
}

/** The order (and fresh key) of the synthetic households: a seeded hash of where each came from. */
function householdOrder(seed: number): string {
  return `row_number() over (order by hash(${Math.floor(seed)}, __synthor_iteration, __synthor_proposal, __synthor_row), __synthor_iteration, __synthor_proposal, __synthor_row)`;
}

/**
 * The synthetic households in the user's types: outputSelect over the household level, with the columns
 * a household copies to another name, and `extra` profiles (the output's own key); with `provenance`,
 * each household's (iteration, proposal, row) too, as --where's drop needs.
 */
export function typedHouseholds(
  s: NestedSummary,
  seed: number,
  rows: number,
  extra: ColumnProfile[] = [],
  options: { provenance?: boolean } = {},
): string {
  const copies = s.copies.map((c) => `, ${quoteIdent(c.of)} as ${quoteIdent(c.name)}`).join("");
  return outputSelect(
    [...s.householdProfiles, ...extra],
    seed,
    `(select *, ${householdOrder(seed)} as __synthor_k${copies} from synthor_synth_model)`,
    rows,
    options,
  );
}
