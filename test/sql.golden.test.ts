/**
 * Golden tests for every query file in sql/, run through Db.query / Db.run with bound parameters as
 * the pipeline runs them. Files that wrap one macro reuse that macro's golden input and expected CSVs;
 * files that read the pipeline's state tables (fine_counts, sub_bins, merge_counts) get those tables
 * built by hand from test/golden/<file>.*.csv. The arithmetic is in test/golden/<name>.md.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countUnitSets } from "../src/counts.ts";
import { Db, type Row, varcharList } from "../src/db/connection.ts";
import { quoteIdent } from "../src/db/quote.ts";
import {
  COUNT_TYPES,
  type CsvRow,
  decodeList,
  expectGolden,
  field,
  gapTables,
  goldenCases,
  goldenCsv,
  loadGapTables,
  loadTable,
} from "./golden/golden.ts";
import { withDb } from "./helpers.ts";
import { EXECUTED_CHECK, recordSqlExecutions } from "./sql-executed.ts";

const executed = recordSqlExecutions("test/sql.golden.test.ts");

/** Column types of the state tables, as src/summarize.ts creates them. */
const FINE_TYPES = { column: "varchar", bin: "bigint", sub: "integer", n: "bigint" };
const EDGE_TYPES = { column: "varchar", edges: "double[]" };
const BIN_TYPES = {
  column: "varchar",
  bin: "bigint",
  lo: "double",
  hi: "double",
  n: "bigint",
  share: "double",
};

/** Creates an empty state table with the given column types. */
async function emptyTable(db: Db, table: string, types: Record<string, string>): Promise<void> {
  const defs = Object.entries(types)
    .map(([c, t]) => `${quoteIdent(c)} ${t}`)
    .join(", ");
  await db.exec(`create or replace table ${quoteIdent(table)} (${defs})`, `create ${table}`);
}

describe("query files that wrap one macro", () => {
  let db: Db;

  beforeAll(async () => {
    db = await Db.open(":memory:", { threads: 2 });
    await loadTable(db, "quantile_edges_input", "synthor_quantile_edges.input.csv", {}, "double");
    await loadTable(db, "quantile_grid_input", "synthor_quantile_grid.input.csv", {}, "double");
    await loadTable(db, "main_bins_input", "synthor_main_bins.input.csv", {}, "double");
    await loadTable(
      db,
      "numeric_summary_input",
      "synthor_numeric_summary.input.csv",
      { x: "integer" },
      "double",
    );
    await loadTable(db, "column_stats_input", "synthor_column_stats.input.csv", {
      num: "double",
      int: "integer",
      empty: "double",
      'a"; drop table x; --': "integer",
      größe: "double",
      select: "boolean",
      special: "double",
    });
    await loadTable(db, "frequency_input", "synthor_frequency.input.csv", { num: "integer" });
    await loadTable(db, "contingency_input", "synthor_contingency.input.csv", { b: "integer" });
    await loadGapTables(db);
  });

  afterAll(() => db?.close());

  describe("sql/column_stats.sql", () => {
    const { outputs, cases } = goldenCases("synthor_column_stats.expected.csv", ["column"]);
    for (const { key, rows } of cases) {
      it(field(key, "column"), async () => {
        const actual = await db.query("column_stats", {
          table: "column_stats_input",
          column: field(key, "column"),
        });
        expectGolden(actual, rows, outputs);
      });
    }
  });

  describe("sql/quantiles.sql", () => {
    // The driver's one-sort query: the golden grids of synthor_quantile_grid and the golden edges of
    // synthor_quantile_edges come out of it unchanged.
    const grids = goldenCases("synthor_quantile_grid.expected.csv", ["column", "k"]);
    for (const { key, rows } of grids.cases) {
      it(`grid of ${key.column} k=${key.k}`, async () => {
        const [actual] = await db.query("quantiles", {
          table: "quantile_grid_input",
          column: field(key, "column"),
          k: Number(field(key, "k")),
          bins: 6,
        });
        expectGolden([{ grid: actual?.grid }], rows, grids.outputs);
      });
    }
    const edges = goldenCases("synthor_quantile_edges.expected.csv", ["column", "k"]);
    for (const { key, rows } of edges.cases) {
      it(`edges of ${key.column} k=${key.k}`, async () => {
        const [actual] = await db.query("quantiles", {
          table: "quantile_edges_input",
          column: field(key, "column"),
          k: 10,
          bins: Number(field(key, "k")),
        });
        expectGolden([{ edges: actual?.edges }], rows, edges.outputs);
      });
    }
  });

  describe("sql/distinct_count.sql", () => {
    // The exact distinct counts, worked by hand in test/golden/synthor_column_stats.md.
    const { cases } = goldenCases("synthor_column_stats.expected.csv", ["column"]);
    for (const { key, rows } of cases) {
      it(field(key, "column"), async () => {
        const actual = await db.query("distinct_count", {
          table: "column_stats_input",
          column: field(key, "column"),
        });
        expect(actual).toEqual([{ distinct_values: Number(rows[0]?.distinct_values) }]);
      });
    }
  });

  describe("sql/unit_counts.sql", () => {
    // Through countUnitSets (src/counts.ts), which stacks the units' codes for the file: every case of the
    // contingency golden at once, each unit behind each label (text, not SQL), gives the golden's unit,
    // cell and n.
    const { cases } = goldenCases("synthor_contingency.expected.csv", ["columns"]);
    const prefixes = ["", "fine:pair:", "x'; drop table t; --"];
    it("counts every unit of the contingency golden in one statement", async () => {
      // Columns as the cases give them (some out of table order); one unit per table the golden holds.
      const byUnit = new Map(
        cases.map(({ key, rows }) => [String(rows[0]?.unit), decodeList(field(key, "columns")).map(String)]),
      );
      const units = [...byUnit.values()].map((columns) => ({ id: "", columns }));
      await db.exec("create or replace temp table unit_counts_out (unit varchar, cell varchar[], n bigint)");
      await countUnitSets(
        db,
        "unit_counts_out",
        prefixes.map((prefix) => ({ codes: "contingency_input", units, prefix })),
      );
      const out = await db.all<Row & { unit: string }>("select * from unit_counts_out");
      for (const prefix of prefixes) {
        for (const { rows } of cases) {
          const unit = JSON.stringify(decodeList(String(rows[0]?.unit)));
          const actual = out
            .filter((r) => r.unit.startsWith(prefix) && r.unit.slice(prefix.length).startsWith("["))
            .map((r) => ({ ...r, unit: JSON.parse(r.unit.slice(prefix.length)) }))
            .filter((r) => JSON.stringify(r.unit) === unit);
          expect(actual.length, `${prefix}${unit}`).toBe(rows.length);
          expectGolden(actual, rows, ["unit", "cell", "n"]);
        }
      }
    });
  });

  describe("sql/gaps.sql", () => {
    const { outputs, cases } = goldenCases("synthor_gaps.expected.csv", ["case"]);
    for (const { key, rows } of cases) {
      it(field(key, "case"), async () => {
        expectGolden(await db.query("gaps", gapTables(field(key, "case"))), rows, outputs);
      });
    }
  });

  describe("sql/tvd.sql", () => {
    const { outputs, cases } = goldenCases("synthor_tvd.expected.csv", ["case"]);
    for (const { key, rows } of cases) {
      it(field(key, "case"), async () => {
        expectGolden(await db.query("tvd", gapTables(field(key, "case"))), rows, outputs);
      });
    }
  });
});

describe("sql/fine_counts.sql", () => {
  let db: Db;

  beforeAll(async () => {
    db = await Db.open(":memory:", { threads: 2 });
    await loadTable(db, "fine_real", "fine_counts.input.csv", {}, "double");
    await loadTable(db, "fine_synth", "fine_counts.synth.csv", {}, "double");
    await loadTable(db, "synthor_edges", "fine_counts.edges.csv", EDGE_TYPES);
    await loadTable(db, "synthor_bins", "fine_counts.bins.csv", BIN_TYPES);
  });

  afterAll(() => db?.close());

  // `column` is both a parameter and an output column of the query.
  const { cases } = goldenCases(
    "fine_counts.expected.csv",
    ["table", "sub_bins", "column"],
    ["column", "bin", "sub", "n"],
  );
  for (const { key, rows } of cases) {
    it(`${key.table} ${key.column} sub_bins=${key.sub_bins}`, async () => {
      const actual = await db.query("fine_counts", {
        table: `fine_${key.table}`,
        column: field(key, "column"),
        sub_bins: Number(key.sub_bins),
      });
      expectGolden(actual, rows, ["column", "bin", "sub", "n"]);
    });
  }
});

describe("sql/pair_associations.sql", () => {
  // Six pairs' cells in one table, rows of different pairs interleaved; worked out in
  // test/golden/pair_associations.md.
  it("measures each pair from its own cells, NULL a category on either side", () =>
    withDb(async (db) => {
      await loadTable(db, "pair_cells", "pair_associations.cells.csv", { pair: "integer", n: "bigint" });
      const { columns, rows } = goldenCsv("pair_associations.expected.csv");
      expectGolden(await db.query("pair_associations", { table: "pair_cells" }), rows, columns);
    }));
});

describe("sql/sub_bins.sql", () => {
  const { outputs, cases } = goldenCases("sub_bins.expected.csv", ["case"]);
  const byCase = new Map(cases.map((c) => [c.key.case, c.rows]));

  /** The real side's state tables; the synthetic side from the golden files or empty. */
  async function state(db: Db, synth: "golden" | "empty"): Promise<void> {
    await loadTable(db, "synthor_real_counts", "sub_bins.real_counts.csv", COUNT_TYPES);
    await loadTable(db, "synthor_real_fine", "sub_bins.real_fine.csv", FINE_TYPES);
    await loadTable(db, "synthor_bins", "sub_bins.bins.csv", BIN_TYPES);
    if (synth === "golden") {
      await loadTable(db, "synthor_synth_counts", "sub_bins.synth_counts.csv", COUNT_TYPES);
      await loadTable(db, "synthor_synth_fine", "sub_bins.synth_fine.csv", FINE_TYPES);
    } else {
      await emptyTable(db, "synthor_synth_counts", COUNT_TYPES);
      await emptyTable(db, "synthor_synth_fine", FINE_TYPES);
    }
  }

  it("midway: worst main bin per column, synthetic-only sub-cells, a column without synthetic rows", () =>
    withDb(async (db) => {
      await state(db, "golden");
      expectGolden(await db.query("sub_bins", { sub_bins: 2 }), byCase.get("midway") ?? [], outputs);
    }));

  it("first iteration: empty synthetic side, the largest real main bin of each column", () =>
    withDb(async (db) => {
      await state(db, "empty");
      expectGolden(await db.query("sub_bins", { sub_bins: 2 }), byCase.get("first_iteration") ?? [], outputs);
    }));
});

describe("sql/merge_counts.sql", () => {
  const counts = goldenCases("merge_counts.expected_counts.csv", ["case"]);
  const fine = goldenCases("merge_counts.expected_fine.csv", ["case"]);
  const expected = (g: typeof counts, name: string): CsvRow[] =>
    g.cases.find((c) => c.key.case === name)?.rows ?? [];

  async function merged(db: Db): Promise<{ counts: Row[]; fine: Row[] }> {
    await loadTable(db, "synthor_batch_counts", "merge_counts.batch_counts.csv", COUNT_TYPES);
    await loadTable(db, "synthor_batch_fine", "merge_counts.batch_fine.csv", FINE_TYPES);
    await db.run("merge_counts");
    return {
      counts: await db.all("select unit, cell, n from synthor_synth_counts order by unit, cell"),
      fine: await db.all('select "column", bin, sub, n from synthor_synth_fine order by "column", bin, sub'),
    };
  }

  it("merged: adds a batch to the running counts, new cells and units included, NULL cells merged", () =>
    withDb(async (db) => {
      await loadTable(db, "synthor_synth_counts", "merge_counts.synth_counts.csv", COUNT_TYPES);
      await loadTable(db, "synthor_synth_fine", "merge_counts.synth_fine.csv", FINE_TYPES);
      const result = await merged(db);
      expectGolden(result.counts, expected(counts, "merged"), counts.outputs);
      expectGolden(result.fine, expected(fine, "merged"), fine.outputs);
    }));

  it("first_batch: into empty running counts, the batch itself", () =>
    withDb(async (db) => {
      await emptyTable(db, "synthor_synth_counts", COUNT_TYPES);
      await emptyTable(db, "synthor_synth_fine", FINE_TYPES);
      const result = await merged(db);
      expectGolden(result.counts, expected(counts, "first_batch"), counts.outputs);
      expectGolden(result.fine, expected(fine, "first_batch"), fine.outputs);
    }));

  it("keeps the column types the next merge and sub_bins.sql expect", () =>
    withDb(async (db) => {
      await emptyTable(db, "synthor_synth_counts", COUNT_TYPES);
      await emptyTable(db, "synthor_synth_fine", FINE_TYPES);
      await merged(db);
      const types = await db.all(
        `select table_name, column_name, data_type from information_schema.columns
         where table_name in ('synthor_synth_counts', 'synthor_synth_fine')
         order by table_name, ordinal_position`,
      );
      expect(types).toEqual([
        { table_name: "synthor_synth_counts", column_name: "unit", data_type: "VARCHAR" },
        { table_name: "synthor_synth_counts", column_name: "cell", data_type: "VARCHAR[]" },
        { table_name: "synthor_synth_counts", column_name: "n", data_type: "BIGINT" },
        { table_name: "synthor_synth_fine", column_name: "column", data_type: "VARCHAR" },
        { table_name: "synthor_synth_fine", column_name: "bin", data_type: "BIGINT" },
        { table_name: "synthor_synth_fine", column_name: "sub", data_type: "INTEGER" },
        { table_name: "synthor_synth_fine", column_name: "n", data_type: "BIGINT" },
      ]);
    }));
});

describe("sql/trim_surplus.sql", () => {
  // Worked by hand, final_rows = 10. Real u: a 6, b 4 (shares 0.6, 0.4; targets 6 and 4 rows).
  // Synthetic u: a 8, b 2, c 1. Surplus = max(synth - target, 0) / max(target, 1):
  // a (8 - 6) / 6 = 1/3; b: none, 0; c: target 0, (1 - 0) / 1 = 1. Unit v is not asked for.
  it("is each cell's surplus over its real share of the final rows, relative to that share", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create table synthor_real_counts (unit varchar, cell varchar[], n bigint);
         create table synthor_synth_counts (unit varchar, cell varchar[], n bigint);
         insert into synthor_real_counts values ('u', ['a'], 6), ('u', ['b'], 4), ('v', ['x'], 1);
         insert into synthor_synth_counts values ('u', ['a'], 8), ('u', ['b'], 2), ('u', ['c'], 1), ('v', ['x'], 5);`,
      );
      const rows = await db.query("trim_surplus", { units: varcharList(["u"]), final_rows: 10 });
      expect(rows.map((r) => [r.unit, r.cell, Number(r.surplus)])).toEqual([
        ["u", ["a"], 1 / 3],
        ["u", ["b"], 0],
        ["u", ["c"], 1],
      ]);
    });
  });
});

describe("sql/macro_definitions.sql", () => {
  const golden = goldenCases("macro_definitions.expected.csv", ["case"]);
  const expected = (name: string): CsvRow[] => golden.cases.find((c) => c.key.case === name)?.rows ?? [];

  it("lists the synthor_ macros of one database and schema main, with parameters and definition", () =>
    withDb(async (db) => {
      await db.exec(
        `create macro synthor_plus(x) as x + 1, (x, y) as x + y;
         create macro synthor_one(t) as table select 1 as one;
         create macro mine(x) as x;
         create temp macro synthor_plus(x) as x + 2`,
        "golden macros",
      );
      expectGolden(
        await db.query("macro_definitions", { database: "memory" }),
        expected("file"),
        golden.outputs,
      );
      const temp = await db.query("macro_definitions", { database: "temp" });
      expectGolden(
        temp.filter((r) => r.name === "synthor_plus"),
        expected("temp"),
        golden.outputs,
      );
    }));
});

describe("sql/winsorized_moments.sql", () => {
  // Worked by hand: x = 1, 2, 3, 4, 100 and a NULL, clipped to [1.5, 4]: 1.5, 2, 3, 4, 4.
  // Mean 14.5 / 5 = 2.9; squared deviations 1.96 + 0.81 + 0.01 + 1.21 + 1.21 = 5.2, sd = sqrt(5.2 / 4).
  // Without clipping the mean would be 22 and mean + sd * sqrt(4) would give back the 100.
  it("is the mean and sample sd of the values clipped to [lo, hi], NULLs left out", async () => {
    await withDb(async (db) => {
      await db.exec(`create table t ("x y" double); insert into t values (1), (2), (3), (4), (100), (null);`);
      const [row] = await db.query("winsorized_moments", { table: "t", column: "x y", lo: 1.5, hi: 4 });
      expect(Number(row?.mean)).toBeCloseTo(2.9, 12);
      expect(Number(row?.sd)).toBeCloseTo(Math.sqrt(1.3), 12);
    });
  });
});

describe("sql/source_checksum.sql", () => {
  // The row count is counted by hand; the checksum is, by definition, the sum of DuckDB's hash() of each
  // row (as a struct of its columns), so it is pinned by its properties: the same rows in another order
  // give the same sum, a repeated row adds its hash again (an xor would cancel it), one changed value
  // changes it, and an empty table has 0 rows and checksum 0.
  const checksum = (db: Db, table: string) =>
    db.query<{ n: number; checksum: string }>("source_checksum", { table }).then((r) => r[0]);
  it("counts the rows and sums their hashes, whatever their order", async () => {
    await withDb(async (db) => {
      await db.exec(
        `create table a (id integer, s varchar, v double);
         insert into a values (1, 'x', 2.5), (2, null, 0), (2, null, 0);
         create table b as from a order by id desc;
         create table once as select distinct * from a;
         create table changed as from a;
         update changed set v = 0.01 where id = 2 and rowid = (select max(rowid) from changed);
         create table empty (id integer);`,
      );
      const [rowA] = await db.all<{ sum: string }>(
        `select (hash({'id': 1::integer, 's': 'x', 'v': 2.5::double})::hugeint
                 + 2 * hash({'id': 2::integer, 's': null::varchar, 'v': 0::double})::hugeint)::varchar as sum`,
      );
      expect(await checksum(db, "a")).toEqual({ n: 3, checksum: rowA?.sum });
      expect(await checksum(db, "b")).toEqual({ n: 3, checksum: rowA?.sum });
      expect((await checksum(db, "once"))?.checksum).not.toBe(rowA?.sum);
      expect((await checksum(db, "changed"))?.checksum).not.toBe(rowA?.sum);
      expect(await checksum(db, "empty")).toEqual({ n: 0, checksum: "0" });
    });
  });
});

it(EXECUTED_CHECK, () => executed.expectEachFileRan());
