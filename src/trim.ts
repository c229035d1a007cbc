import type { Db } from "./db/connection.ts";
import { varcharList } from "./db/connection.ts";
import { sqlFile } from "./db/files.ts";
import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { codesSelect } from "./encode.ts";
import { addBatchCounts } from "./sample.ts";
import type { Summary } from "./summarize.ts";

/**
 * The optional final trim (`--trim`): the loop grows a few more rows than asked for, then this removes
 * the surplus, in rounds, from the rows whose cells are all over-represented in the columns' marginals
 * (sql/trim_surplus.sql; a row's score is its least over-represented cell), so marginals land closer than
 * the last iterations alone can bring them. Ties are broken by a seeded hash. The synthetic count tables
 * are rebuilt after every round.
 */
export async function trimSurplus(
  db: Db,
  summary: Summary,
  finalRows: number,
  seed: number,
): Promise<number> {
  const [row] = await db.all<{ n: number }>(
    "select count(*) as n from synthor_synth_model",
    {},
    "count rows",
  );
  let rows = row?.n ?? 0;
  const units = summary.marginals;
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
        `left join synthor_trim_surplus as s${i} on s${i}.unit = ${quoteLiteral(u.id)} and s${i}.cell is not distinct from [t.${quoteIdent(u.columns[0] as string)}]`,
    );
    // A row is worth removing when every one of its cells is in surplus: score by the smallest surplus.
    const score = `least(${units.map((_, i) => `coalesce(s${i}.surplus, 0)`).join(", ")})`;
    await db.exec(
      `create or replace temp table synthor_trim_drop as
       with t as (${codes})
       select t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row
       from t ${joins.join(" ")}
       order by ${score} desc, hash(${Math.floor(seed)}, t.__synthor_iteration, t.__synthor_proposal, t.__synthor_row)
       limit ${remove};
       delete from synthor_synth_model as m using synthor_trim_drop as d
       where m.__synthor_iteration = d.__synthor_iteration and m.__synthor_proposal = d.__synthor_proposal
         and m.__synthor_row = d.__synthor_row;`,
      "trim surplus rows",
    );
    rows -= remove;
    await rebuildCounts(db, summary);
  }
  return rows;
}

async function rebuildCounts(db: Db, summary: Summary): Promise<void> {
  await db.exec("delete from synthor_synth_counts; delete from synthor_synth_fine", "reset synthetic counts");
  await addBatchCounts(db, summary, "synthor_synth_model");
}
