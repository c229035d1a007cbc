import type { Db } from "../db/connection.ts";
import { quoteIdent, quoteLiteral } from "../db/quote.ts";
import type { ProposalValue } from "../proposals.ts";
import { addBatchCounts, cdf } from "../sample.ts";
import { countUnits, type ModelColumn } from "../summarize.ts";
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

/** Creates the (empty) synthetic member table: provenance, position, member model columns. */
export async function createNestedSynthetic(db: Db, s: NestedSummary): Promise<void> {
  await db.exec(
    `create table if not exists synthor_synth_model as
       select *, 0::integer as __synthor_iteration, 0::integer as __synthor_proposal, 0::bigint as __synthor_row
       from synthor_real_model limit 0;
     create or replace table ${SYNTH_MEMBERS} as
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
  const hRows = proposals.map((p, i) => ({ pid: i, num: p.num, ...valueFields(hCols, p.household) }));
  const mRows = proposals.flatMap((p, i) =>
    p.members.map((m, j) => ({ pid: i, member: j + 1, ...valueFields(mCols, m) })),
  );
  // One statement per exec: DuckDB binds parameters to a single statement.
  await db.exec(
    `create or replace temp table synthor_nested_batch_hp as
       select unnest(from_json($json, $structure), recursive := true)`,
    "nested: insert household proposals",
    {
      json: JSON.stringify(hRows),
      structure: JSON.stringify([structureOf(hCols, { pid: "INTEGER", num: "BIGINT" })]),
    },
  );
  await db.exec(
    `create or replace temp table synthor_nested_batch_mp as
       select unnest(from_json($json, $structure), recursive := true)`,
    "nested: insert member proposals",
    {
      json: JSON.stringify(mRows),
      structure: JSON.stringify([structureOf(mCols, { pid: "INTEGER", member: "BIGINT" })]),
    },
  );
  const params = { seed: options.seed, iteration: options.iteration };
  // Household draws use column numbers 0..; a member's use 10000 * position + column number.
  await db.exec(
    `create or replace temp table synthor_nested_batch_households as
     with g as (${gridSelect(hCols)})
     select ${drawExprs(hCols, "0", uniform).join(", ")},
            $iteration::integer as __synthor_iteration, p.pid as __synthor_proposal, r.range as __synthor_row,
            $iteration::varchar || ':' || p.pid::varchar || ':' || r.range::varchar as __synthor_key
     from synthor_nested_batch_hp as p, range(p.num) as r, g
     order by p.pid, r.range`,
    "nested: sample households",
    hCols.some((c) => c.kind !== "categorical") ? params : { iteration: options.iteration },
  );
  await db.exec(
    `create or replace temp table synthor_nested_batch_members as
     with g as (${gridSelect(mCols)})
     select ${drawExprs(mCols, "10000 * p.member", uniform).join(", ")},
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

/** A proposal's values as the fields of one JSON row: v{k} for a category, lo/hi/plo/phi{k} for a range. */
function valueFields(
  cols: ModelColumn[],
  values: Record<string, ProposalValue>,
): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = {};
  for (const [k, c] of cols.entries()) {
    const v = values[c.name] ?? null;
    if (c.kind === "categorical") {
      row[`v${k}`] = typeof v === "string" ? v : null;
    } else if (Array.isArray(v)) {
      // As in sample.ts: a range that starts at the minimum holds it (whole numbers from lo - 1).
      const grid = c.grid ?? [];
      const first = c.bins?.[0];
      const pointFirst = first !== undefined && first.lo === first.hi;
      const atMin = v[0] <= (grid[0] ?? Number.NEGATIVE_INFINITY) && !pointFirst;
      row[`lo${k}`] = atMin && c.integral && v[0] < v[1] ? v[0] - 1 : v[0];
      row[`hi${k}`] = v[1];
      row[`plo${k}`] = atMin ? 0 : cdf(grid, v[0]);
      row[`phi${k}`] = cdf(grid, v[1]);
    }
  }
  return row;
}

function structureOf(cols: ModelColumn[], base: Record<string, string>): Record<string, string> {
  const structure = { ...base };
  for (const [k, c] of cols.entries()) {
    if (c.kind === "categorical") structure[`v${k}`] = "VARCHAR";
    else
      Object.assign(structure, {
        [`lo${k}`]: "DOUBLE",
        [`hi${k}`]: "DOUBLE",
        [`plo${k}`]: "DOUBLE",
        [`phi${k}`]: "DOUBLE",
      });
  }
  return structure;
}

function gridSelect(cols: ModelColumn[]): string {
  const grids = cols
    .map((c, k) =>
      c.kind === "categorical"
        ? null
        : `(select grid from synthor_grid where "column" = ${quoteLiteral(c.name)}) as g${k}`,
    )
    .filter((x) => x !== null);
  return `select ${grids.length ? grids.join(", ") : "1 as none"}`;
}

function drawExprs(cols: ModelColumn[], offset: string, uniform: boolean): string[] {
  return cols.map((c, k) => {
    const name = quoteIdent(c.name);
    if (c.kind === "categorical") return `p.v${k} as ${name}`;
    const u = `synthor_uniform($seed, $iteration, p.pid, r.range, ${offset} + ${k})`;
    return `synthor_draw(g.g${k}, p.lo${k}, p.hi${k}, p.plo${k}, p.phi${k}, ${u}, ${c.integral}, ${uniform}) as ${name}`;
  });
}
