import type { Db } from "./db/connection.ts";
import { varcharList } from "./db/connection.ts";
import { sqlFile } from "./db/files.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { codesSelect } from "./encode.ts";
import { addBatchCounts } from "./sample.ts";
import type { Summary, Unit } from "./summarize.ts";

/**
 * The optional final trim (`--trim`): the loop grows a few more rows than asked for, then this removes
 * the surplus, in rounds, from the rows whose cells are all over-represented in the columns' marginals
 * (sql/trim_surplus.sql; a row's score is its least over-represented cell), so marginals land closer than
 * the last iterations alone can bring them. Ties are broken by a seeded hash. The synthetic count tables
 * are rebuilt after every round. `extraUnits` (groups of columns) are scored beside the marginals.
 */
export async function trimSurplus(
  db: Db,
  summary: Summary,
  finalRows: number,
  seed: number,
  extraUnits: Unit[] = [],
): Promise<number> {
  const [row] = await db.all<{ n: number }>(
    "select count(*) as n from synthor_synth_model",
    {},
    "count rows",
  );
  let rows = row?.n ?? 0;
  // Target tables' groups join the marginals: the surplus then comes off the cells furthest above target.
  const units = [...summary.marginals, ...extraUnits];
  const rounds = 20;
  for (let round = 0; round < rounds && rows > finalRows; round++) {
    const remove = Math.ceil((rows - finalRows) / (rounds - round));
    await db.exec(
      `create or replace temp table synthor_trim_surplus as ${sqlFile("trim_surplus").replace(/;\s*$/, "")}`,
      "sql/trim_surplus.sql",
      { units: varcharList(units.map((u) => u.id)), final_rows: finalRows },
    );
    const codes = codesSelect(summary.columns, "synthor_synth_model").replace(
      /^select /,
      "select __synthor_iteration, __synthor_proposal, __synthor_row, ",
    );
    const joins = units.map(
      (u, i) =>
        `left join synthor_trim_surplus as s${i} on s${i}.unit = ${quoteLiteral(u.id)} and s${i}.cell is not distinct from [${u.columns.map((c) => `t.${quoteIdent(c)}`).join(", ")}]`,
    );
    // A row is worth removing when every one of its cells is in surplus: score by the smallest surplus.
    const least = (from: number, to: number) =>
      `least(${units
        .slice(from, to)
        .map((_, i) => `coalesce(s${from + i}.surplus, 0)`)
        .join(", ")})`;
    const marginals = summary.marginals.length;
    // Target groups first: their cells in surplus lose rows, those whose columns are in surplus first.
    const score =
      extraUnits.length > 0
        ? `${least(marginals, units.length)} desc, ${least(0, marginals)}`
        : least(0, marginals);
    await db.exec(
      `create or replace temp table synthor_trim_drop as
       with t as (${codes})
       select t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row
       from t ${joins.join(" ")}
       order by ${score} desc, hash(${Math.floor(seed)}, t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row)
       limit ${remove}`,
      "trim surplus rows",
    );
    await deleteDropped(db);
    rows -= remove;
    await rebuildCounts(db, summary);
  }
  return rows;
}

/** Recounts the synthetic side from the rows kept, after rows were deleted. */
export async function rebuildCounts(db: Db, summary: Summary): Promise<void> {
  await db.exec("delete from synthor_synth_counts; delete from synthor_synth_fine", "reset synthetic counts");
  await addBatchCounts(db, summary, "synthor_synth_model");
}

/**
 * The final fit to a target table's group (`--targets`): removes the synthetic rows each cell holds beyond
 * its reference share of `finalRows` (sql/target_excess.sql), at most `rows - finalRows` in all, taken
 * evenly across cells when that cap binds; rows within a cell in seeded hash order. Returns the rows left.
 */
export async function fitTargetCells(
  db: Db,
  summary: Summary,
  unit: Unit,
  finalRows: number,
  seed: number,
): Promise<number> {
  const [row] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  const rows = row?.n ?? 0;
  if (rows <= finalRows) return rows;
  await db.exec(
    `create or replace temp table synthor_target_excess as ${sqlFile("target_excess").replace(/;\s*$/, "")}`,
    "sql/target_excess.sql",
    { unit: unit.id, final_rows: finalRows },
  );
  const codes = codesSelect(summary.columns, "synthor_synth_model").replace(
    /^select /,
    "select __synthor_iteration, __synthor_proposal, __synthor_row, ",
  );
  const cell = `[${unit.columns.map((c) => `t.${quoteIdent(c)}`).join(", ")}]`;
  const hash = `hash(${Math.floor(seed)}, t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row)`;
  await db.exec(
    `create or replace temp table synthor_trim_drop as
     with t as (${codes}),
     ranked as (
       select t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row, e.excess,
              row_number() over (partition by e.cell order by ${hash}, t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row) as k
       from t join synthor_target_excess as e on e.cell is not distinct from ${cell}
     )
     select __synthor_iteration, __synthor_proposal, __synthor_row from ranked
     where k <= excess
     order by k / excess, __synthor_iteration, __synthor_proposal, __synthor_row
     limit ${rows - finalRows}`,
    "fit target cells",
  );
  await deleteDropped(db);
  await rebuildCounts(db, summary);
  const [left] = await db.all<{ n: number }>("select count(*) as n from synthor_synth_model");
  return left?.n ?? 0;
}

/**
 * Deletes from the synthetic model the rows listed (by provenance) in the temp table synthor_trim_drop,
 * which the trims and fits fill with the rows they choose to drop.
 */
export async function deleteDropped(db: Db): Promise<void> {
  await db.exec(
    `delete from synthor_synth_model as m using synthor_trim_drop as d
     where m.__synthor_iteration = d.__synthor_iteration and m.__synthor_proposal = d.__synthor_proposal
       and m.__synthor_row = d.__synthor_row`,
    "drop the chosen rows",
  );
}
