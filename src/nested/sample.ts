import { countUnits } from "../counts.ts";
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import {
  addBatchCounts,
  drawExprs,
  gridsSelect,
  proposalFields,
  proposalStructure,
  proposalTable,
} from "../sample.ts";
import type { ModelColumn } from "../summarize.ts";
import type { ValidNestedProposal } from "./proposals.ts";
import {
  augmentedSelect,
  memberCodesSelect,
  type NestedSummary,
  poolCompositions,
  SIZE,
} from "./summarize.ts";

/** The synthetic members in model space, beside synthor_synth_model (the household level). */
export const SYNTH_MEMBERS = "synthor_nested_synth_members";

/**
 * Creates the synthetic tables where a run has none yet (a new run has dropped its predecessor's; a
 * resumed one keeps its rows): synthor_synth_model at the household level, and the members with
 * provenance, position and member model columns.
 */
export async function createNestedSynthetic(db: Db, s: NestedSummary): Promise<void> {
  await db.exec(
    `create table if not exists synthor_synth_model as
       select *, 0::integer as __synthor_iteration, 0::integer as __synthor_proposal, 0::bigint as __synthor_row
       from synthor_real_model limit 0;
     create table if not exists ${SYNTH_MEMBERS} as
       select 0::integer as __synthor_iteration, 0::integer as __synthor_proposal, 0::bigint as __synthor_row,
              0::bigint as __synthor_member, ${s.memberColumns.map((c) => quoteIdent(c.name)).join(", ")}
       from synthor_nested_real_member_model limit 0`,
    "nested: create synthetic tables",
  );
}

/**
 * Draws every household proposal `num` times in DuckDB: household rows into synthor_synth_model (with the
 * derived member counts, so the household-level count tables are the flat ones) and their members into
 * synthor_nested_synth_members, linked by (iteration, proposal, row). Values are drawn as the flat sampler
 * draws them (synthor_draw over the real quantile grid, synthor_uniform for randomness). Adds the batch's
 * counts at both levels. Returns the households added.
 */
export async function sampleNested(
  db: Db,
  s: NestedSummary,
  proposals: ValidNestedProposal[],
  options: { seed: number; iteration: number; withinRange?: "quantile" | "uniform" },
): Promise<number> {
  if (proposals.length === 0) return 0;
  const uniform = options.withinRange === "uniform";
  const hCols = s.householdColumns;
  const mCols = s.memberColumns;
  const hRows = proposals.map((p, i) => ({ pid: i, num: p.num, ...proposalFields(hCols, p.household) }));
  const mRows = proposals.flatMap((p, i) =>
    p.members.map((m, j) => ({ pid: i, member: j + 1, ...proposalFields(mCols, m) })),
  );
  await proposalTable(
    db,
    "synthor_nested_batch_hp",
    hRows,
    proposalStructure(hCols, { pid: "INTEGER", num: "BIGINT" }),
    "nested: insert household proposals",
  );
  await proposalTable(
    db,
    "synthor_nested_batch_mp",
    mRows,
    proposalStructure(mCols, { pid: "INTEGER", member: "BIGINT" }),
    "nested: insert member proposals",
  );
  const params = { seed: options.seed, iteration: options.iteration };
  // Household draws use column numbers 0..; a member's use 10000 * position + column number.
  await db.exec(
    `create or replace temp table synthor_nested_batch_households as
     with g as (${gridsSelect(hCols)})
     select ${drawExprs(hCols, uniform, "0").join(", ")},
            $iteration::integer as __synthor_iteration, p.pid as __synthor_proposal, r.range as __synthor_row,
            $iteration::varchar || ':' || p.pid::varchar || ':' || r.range::varchar as __synthor_key
     from synthor_nested_batch_hp as p, range(p.num) as r, g
     order by p.pid, r.range`,
    "nested: sample households",
    hCols.some((c) => c.kind !== "categorical") ? params : { iteration: options.iteration },
  );
  await db.exec(
    `create or replace temp table synthor_nested_batch_members as
     with g as (${gridsSelect(mCols)})
     select ${drawExprs(mCols, uniform, "10000 * p.member").join(", ")},
            $iteration::integer as __synthor_iteration, p.pid as __synthor_proposal, r.range as __synthor_row,
            p.member as __synthor_member,
            $iteration::varchar || ':' || p.pid::varchar || ':' || r.range::varchar as __synthor_key
     from synthor_nested_batch_mp as p
     join synthor_nested_batch_hp as h on h.pid = p.pid, range(h.num) as r, g
     order by p.pid, r.range, p.member`,
    "nested: sample members",
    mCols.some((c) => c.kind !== "categorical") ? params : { iteration: options.iteration },
  );
  const modelColumns = s.households.columns.map((c) => quoteIdent(c.name)).join(", ");
  await db.exec(
    `create or replace temp table synthor_nested_batch_aug as
     ${augmentedSelect({
       households: "synthor_nested_batch_households",
       householdExprs: hCols.map((c) => `h.${quoteIdent(c.name)}`),
       memberModel: "synthor_nested_batch_members",
       compositions: s.compositions,
       aggregates: [],
       cap: s.cap,
       keepKey: true,
       extra: ["h.__synthor_iteration", "h.__synthor_proposal", "h.__synthor_row"],
     })}`,
    "nested: batch household level",
  );
  await poolCompositions(db, "synthor_nested_batch_aug", s.compositions);
  await db.exec(
    `insert into synthor_synth_model
       select ${modelColumns}, __synthor_iteration, __synthor_proposal, __synthor_row
       from synthor_nested_batch_aug order by __synthor_proposal, __synthor_row;
     insert into ${SYNTH_MEMBERS}
       select __synthor_iteration, __synthor_proposal, __synthor_row, __synthor_member,
              ${mCols.map((c) => quoteIdent(c.name)).join(", ")}
       from synthor_nested_batch_members order by __synthor_proposal, __synthor_row, __synthor_member`,
    "nested: append batch",
  );
  await addBatchCounts(db, s.households, "synthor_nested_batch_aug");
  await addMemberCounts(db, s, "synthor_nested_batch_aug", "synthor_nested_batch_members");
  const [row] = await db.all<{ n: number }>("select count(*) as n from synthor_nested_batch_households");
  return row?.n ?? 0;
}

/** Counts the member-level units of a batch (household-level table + member model) into the synthetic side. */
export async function addMemberCounts(db: Db, s: NestedSummary, aug: string, members: string): Promise<void> {
  const householdCodeColumns = [
    ...s.householdColumns,
    s.households.columns.find((c) => c.name === SIZE) as ModelColumn,
  ];
  await db.exec(
    `create or replace temp table synthor_nested_batch_member_codes as
       ${memberCodesSelect(householdCodeColumns, s.memberColumns, aug, members)};
     create or replace temp table synthor_batch_counts (unit varchar, cell varchar[], n bigint);
     create or replace temp table synthor_batch_fine ("column" varchar, bin bigint, sub integer, n bigint);`,
    "nested: batch member codes",
  );
  await countUnits(
    db,
    "synthor_nested_batch_member_codes",
    s.memberUnits.map((u) => ({ id: u.id.slice("member:".length), columns: u.columns })),
    "synthor_batch_counts",
    { prefix: "member:" },
  );
  await db.run("merge_counts");
}

/**
 * For --resume: both levels' synthetic counts from the households and members an interrupted run kept,
 * as sampleNested added them batch by batch (each household's key is its provenance, as in a batch).
 */
export async function recountNested(db: Db, s: NestedSummary): Promise<void> {
  const key =
    "__synthor_iteration::varchar || ':' || __synthor_proposal::varchar || ':' || __synthor_row::varchar as __synthor_key";
  await db.exec(
    `create or replace temp view synthor_nested_kept_households as select *, ${key} from synthor_synth_model;
     create or replace temp view synthor_nested_kept_members as select *, ${key} from ${SYNTH_MEMBERS}`,
    "nested: the rows kept, keyed",
  );
  await addBatchCounts(db, s.households, "synthor_synth_model");
  await addMemberCounts(db, s, "synthor_nested_kept_households", "synthor_nested_kept_members");
}

/** Recounts both levels' synthetic counts from the households and members kept, after some were deleted. */
export async function rebuildNestedCounts(db: Db, s: NestedSummary): Promise<void> {
  await db.exec("delete from synthor_synth_counts; delete from synthor_synth_fine", "reset synthetic counts");
  await recountNested(db, s);
}

/** Deletes the members whose household is no longer in synthor_synth_model (dropped or trimmed). */
export async function dropOrphanMembers(db: Db): Promise<void> {
  await db.exec(
    `delete from ${SYNTH_MEMBERS} as m
     where not exists (
       select 1 from synthor_synth_model as h
       where h.__synthor_iteration = m.__synthor_iteration and h.__synthor_proposal = m.__synthor_proposal
         and h.__synthor_row = m.__synthor_row)`,
    "nested: drop the members of dropped households",
  );
}
