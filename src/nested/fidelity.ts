import { countUnits } from "../counts.ts";
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";
import { codesSelect } from "../encode.ts";
import type { ColumnProfile } from "../profile.ts";
import { type Unit, unitsFor } from "../summarize.ts";
import { SYNTH_MEMBERS } from "./sample.ts";
import { augmentedSelect, type NestedSummary, REAL_MEMBER_MODEL, SIZE } from "./summarize.ts";

/** One table's TVD between real and synthetic, and which level it describes. */
export interface LevelTvd {
  /** household: a household column, the size or a member count; cross: a household column with the size or a member count; member: a member column alone, with a household column, or with the position. */
  level: "household" | "cross" | "member";
  unit: string;
  columns: string[];
  tvd: number;
}

export interface NestedFidelity {
  /** TVD of the household-size distribution (members per household). */
  sizeTvd: number;
  /** Mean TVD of the household columns, the size and the member counts per category. */
  householdMean: number;
  /** Mean TVD of every household column crossed with the size and with each member count. */
  crossMean: number;
  /** Mean TVD of the member columns alone and crossed with a household column or the position. */
  memberMean: number;
  units: LevelTvd[];
}

/**
 * TVD at both levels once the run is done, kept in `synthor_nested_fidelity` (run_id, level, unit, tvd):
 * household level (every household column, the size, the compositions and the members per value, e.g.
 * `#PEmp=1` = how many members have PEmp 1, counted now on both sides), every household column crossed
 * with each of those member aggregates, and the member-level tables from the running count tables
 * (sql/tvd.sql over count tables, as everywhere).
 */
export async function nestedFidelity(db: Db, s: NestedSummary, runId: number): Promise<NestedFidelity> {
  const h = s.households;
  const counts = s.aggregates.map((a) => a.name);
  const derived = [SIZE, ...s.compositions.map((c) => c.name), ...counts];
  // Both sides as one household-level table each: household codes, size, compositions, members per value.
  const key =
    "__synthor_iteration::varchar || ':' || __synthor_proposal::varchar || ':' || __synthor_row::varchar";
  await db.exec(
    `create or replace temp table synthor_nested_eval_sh as select *, ${key} as __synthor_key from synthor_synth_model;
     create or replace temp table synthor_nested_eval_sm as select *, ${key} as __synthor_key from ${SYNTH_MEMBERS};`,
    "nested: synthetic with keys",
  );
  for (const [side, households, members] of [
    ["real", "synthor_nested_real_aug", REAL_MEMBER_MODEL],
    ["synth", "synthor_nested_eval_sh", "synthor_nested_eval_sm"],
  ] as const) {
    const codes = codesSelect(h.columns, quoteIdent(households)).replace(
      /^select /,
      "select __synthor_key, ",
    );
    const perValue = augmentedSelect({
      households,
      householdExprs: [],
      memberModel: members,
      compositions: [],
      aggregates: s.aggregates,
      cap: s.cap,
      keepKey: true,
    });
    await db.exec(
      `create or replace temp table ${quoteIdent(`synthor_nested_eval_${side}`)} as
       select c.* exclude (__synthor_key), a.* exclude (__synthor_key, ${quoteIdent(SIZE)})
       from (${codes}) as c join (${perValue}) as a using (__synthor_key)`,
      "nested: household level with members per value",
    );
  }
  const order = [
    ...h.columns.map((c) => ({ name: c.name }) as ColumnProfile),
    ...counts.map((name) => ({ name }) as ColumnProfile),
  ];
  const household = await unitsFor(db, [...h.columns.map((c) => [c.name]), ...counts.map((c) => [c])], order);
  const cross = await unitsFor(
    db,
    s.householdColumns.flatMap((c) => derived.map((d) => [c.name, d])),
    order,
  );
  await db.exec(
    `create or replace temp table synthor_nested_cross_real (unit varchar, cell varchar[], n bigint);
     create or replace temp table synthor_nested_cross_synth (unit varchar, cell varchar[], n bigint);`,
    "nested: cross tables",
  );
  await countUnits(db, "synthor_nested_eval_real", [...household, ...cross], "synthor_nested_cross_real");
  await countUnits(db, "synthor_nested_eval_synth", [...household, ...cross], "synthor_nested_cross_synth");
  const crossTvd = new Map(
    (
      await db.query<{ unit: string; tvd: number }>("tvd", {
        real: "synthor_nested_cross_real",
        synth: "synthor_nested_cross_synth",
      })
    ).map((r) => [r.unit, r.tvd]),
  );
  const counted = new Map(
    (
      await db.query<{ unit: string; tvd: number }>("tvd", {
        real: "synthor_real_counts",
        synth: "synthor_synth_counts",
      })
    ).map((r) => [r.unit, r.tvd]),
  );
  const pick = (units: Unit[], level: LevelTvd["level"], from: Map<string, number>): LevelTvd[] =>
    units.map((u) => ({ level, unit: u.id, columns: u.columns, tvd: from.get(u.id) ?? 1 }));
  const units = [
    ...pick(household, "household", crossTvd),
    ...pick(cross, "cross", crossTvd),
    ...pick(s.memberUnits, "member", counted),
  ];
  await db.exec(
    "create table if not exists synthor_nested_fidelity (run_id integer, level varchar, unit varchar, tvd double)",
    "nested: fidelity table",
  );
  await db.exec("delete from synthor_nested_fidelity where run_id = $run", "nested: fidelity table", {
    run: runId,
  });
  await db.exec(
    `insert into synthor_nested_fidelity
     select $run, f.level, f.unit, f.tvd
     from (select unnest(from_json($json, '[{"level":"VARCHAR","unit":"VARCHAR","tvd":"DOUBLE"}]'), recursive := true)) as f`,
    "nested: record fidelity",
    { run: runId, json: JSON.stringify(units.map((u) => ({ level: u.level, unit: u.unit, tvd: u.tvd }))) },
  );
  const mean = (level: LevelTvd["level"]) => {
    const xs = units.filter((u) => u.level === level);
    return xs.reduce((a, u) => a + u.tvd, 0) / Math.max(1, xs.length);
  };
  const size = units.find((u) => u.level === "household" && u.columns.length === 1 && u.columns[0] === SIZE);
  return {
    sizeTvd: size?.tvd ?? 1,
    householdMean: mean("household"),
    crossMean: mean("cross"),
    memberMean: mean("member"),
    units,
  };
}
