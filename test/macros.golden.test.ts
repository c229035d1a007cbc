/**
 * Golden tests for every macro in macros/: tiny inputs and hand-worked answers under test/golden/
 * (<macro>.input.csv, <macro>.expected.csv; the arithmetic is in <macro>.md). Rows are compared in
 * order, floats within 1e-9. Hostile column names (`a"; drop table x; --`, `my col`, `größe`, `select`)
 * are ordinary cases of every macro that takes a column name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db, type Row } from "../src/db/connection.ts";
import {
  decodeList,
  expectGolden,
  field,
  gapTables,
  goldenCases,
  goldenCsv,
  listParam,
  loadGapTables,
  loadTable,
} from "./golden/golden.ts";
import { EXECUTED_CHECK, recordSqlExecutions } from "./sql-executed.ts";

const executed = recordSqlExecutions("test/macros.golden.test.ts");

let db: Db;

// One database for the whole file: the macros are created once and every golden input is a table in it.
beforeAll(async () => {
  db = await Db.open(":memory:", { threads: 2 });
  // If a hostile column name ever reached SQL text unquoted, `drop table x` would remove this table.
  await db.exec("create table x (i integer); insert into x values (42)");
  await loadTable(db, "quantile_edges_input", "synthor_quantile_edges.input.csv", {}, "double");
  await loadTable(db, "main_bins_input", "synthor_main_bins.input.csv", {}, "double");
  await loadTable(db, "sub_bins_input", "synthor_sub_bins.input.csv", {}, "double");
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
  await loadTable(db, "quantile_grid_input", "synthor_quantile_grid.input.csv", {}, "double");
  await loadTable(db, "frequency_input", "synthor_frequency.input.csv", { num: "integer" });
  await loadTable(db, "contingency_input", "synthor_contingency.input.csv", { b: "integer" });
  await loadTable(db, "association_input", "synthor_association.input.csv", {
    b: "integer",
    größe: "integer",
  });
  await loadGapTables(db);
});

afterAll(() => db?.close());

describe("macros/synthor_bin.sql", () => {
  // Right-closed: edges [1,3,5] make bins (-inf,1] (1,3] (3,5] (5,inf); x = edge stays below it.
  for (const row of goldenCsv("synthor_bin.csv").rows) {
    it(`x=${row.x ?? "NULL"} edges=${row.edges}`, async () => {
      const actual = await db.all("select synthor_bin($x::double, $edges::double[]) as expected", {
        x: row.x ?? null,
        edges: listParam(field(row, "edges")),
      });
      expectGolden(actual, [row], ["expected"]);
    });
  }
});

describe("macros/synthor_sub_bin.sql", () => {
  // ceil((x - lo) / (hi - lo) * k) - 1, clamped to [0, k - 1]; a point bin (lo = hi) is sub-bin 0.
  for (const row of goldenCsv("synthor_sub_bin.csv").rows) {
    it(`x=${row.x ?? "NULL"} in (${row.lo}, ${row.hi}] k=${row.k}`, async () => {
      const actual = await db.all(
        "select synthor_sub_bin($x::double, $lo::double, $hi::double, $k::integer) as expected",
        { x: row.x ?? null, lo: field(row, "lo"), hi: field(row, "hi"), k: field(row, "k") },
      );
      expectGolden(actual, [row], ["expected"]);
    });
  }
});

describe("macros/synthor_quantile_edges.sql", () => {
  const { outputs, cases } = goldenCases("synthor_quantile_edges.expected.csv", ["column", "k"]);
  for (const { key, rows } of cases) {
    it(`${key.column} k=${key.k}`, async () => {
      const actual = await db.all("select * from synthor_quantile_edges($table, $column, $k::integer)", {
        table: "quantile_edges_input",
        column: field(key, "column"),
        k: field(key, "k"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_main_bins.sql", () => {
  const { outputs, cases } = goldenCases("synthor_main_bins.expected.csv", ["column", "k"]);
  for (const { key, rows } of cases) {
    it(`${key.column} k=${key.k}`, async () => {
      const actual = await db.all("select * from synthor_main_bins($table, $column, $k::integer)", {
        table: "main_bins_input",
        column: field(key, "column"),
        k: field(key, "k"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_sub_bins.sql", () => {
  const keys = ["column", "edges", "bin", "bin_lo", "bin_hi", "k"];
  const { outputs, cases } = goldenCases("synthor_sub_bins.expected.csv", keys);
  for (const { key, rows } of cases) {
    it(`${key.column} bin ${key.bin} (${key.bin_lo}, ${key.bin_hi}] k=${key.k}`, async () => {
      const actual = await db.all(
        `select * from synthor_sub_bins($table, $column, $edges::double[], $bin::bigint, $lo::double,
           $hi::double, $k::integer)`,
        {
          table: "sub_bins_input",
          column: field(key, "column"),
          edges: listParam(field(key, "edges")),
          bin: field(key, "bin"),
          lo: field(key, "bin_lo"),
          hi: field(key, "bin_hi"),
          k: field(key, "k"),
        },
      );
      expectGolden(actual, rows, outputs);
    });
  }

  // Not a golden: the pipeline's own use, sub-bins of each main bin that synthor_main_bins computes.
  it("sub-bin shares add up to the parent main bin's share", async () => {
    for (const column of ["x", "zeros"]) {
      const [edgeRow] = await db.all<{ edges: number[] }>(
        "select edges from synthor_quantile_edges('sub_bins_input', $column, 3)",
        { column },
      );
      const edges = (edgeRow?.edges ?? []).map(String);
      const bins = await db.all<{ bin: number; lo: number; hi: number; share: number }>(
        "select * from synthor_main_bins('sub_bins_input', $column, 3)",
        { column },
      );
      expect(bins.length).toBeGreaterThan(1);
      for (const b of bins) {
        const [sum] = await db.all<{ share: number }>(
          `select sum(share) as share
           from synthor_sub_bins('sub_bins_input', $column, $edges::double[], $bin, $lo, $hi, 8)`,
          { column, edges: listParam(`[${edges.join("|")}]`), bin: b.bin, lo: b.lo, hi: b.hi },
        );
        expect(sum?.share, `${column} bin ${b.bin}`).toBeCloseTo(b.share, 9);
      }
    }
  });
});

describe("macros/synthor_numeric_summary.sql", () => {
  const { outputs, cases } = goldenCases("synthor_numeric_summary.expected.csv", ["column"]);
  for (const { key, rows } of cases) {
    it(key.column ?? "", async () => {
      const actual = await db.all("select * from synthor_numeric_summary($table, $column)", {
        table: "numeric_summary_input",
        column: field(key, "column"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_column_stats.sql", () => {
  const { outputs, cases } = goldenCases("synthor_column_stats.expected.csv", ["column"]);
  for (const { key, rows } of cases) {
    it(key.column ?? "", async () => {
      const actual = await db.all("select * from synthor_column_stats($table, $column)", {
        table: "column_stats_input",
        column: field(key, "column"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_distinct_count.sql", () => {
  // Exact distinct non-NULL counts, worked by hand in test/golden/synthor_column_stats.md.
  const { cases } = goldenCases("synthor_column_stats.expected.csv", ["column"]);
  for (const { key, rows } of cases) {
    it(key.column ?? "", async () => {
      const actual = await db.all("select * from synthor_distinct_count($table, $column)", {
        table: "column_stats_input",
        column: field(key, "column"),
      });
      expect(actual).toEqual([{ distinct_values: Number(rows[0]?.distinct_values) }]);
    });
  }
});

describe("macros/synthor_frequency.sql", () => {
  const { outputs, cases } = goldenCases("synthor_frequency.expected.csv", ["column"]);
  for (const { key, rows } of cases) {
    it(key.column ?? "", async () => {
      const actual = await db.all("select * from synthor_frequency($table, $column)", {
        table: "frequency_input",
        column: field(key, "column"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_contingency.sql", () => {
  const { outputs, cases } = goldenCases("synthor_contingency.expected.csv", ["columns"]);
  const contingency = (columns: string) =>
    db.all<Row & { unit: string }>("select * from synthor_contingency($table, $columns::varchar[])", {
      table: "contingency_input",
      columns: listParam(columns),
    });
  for (const { key, rows } of cases) {
    it(`columns ${key.columns}`, async () => {
      const actual = await contingency(field(key, "columns"));
      // The golden writes the unit as a list of names; the macro writes that list as JSON text.
      expectGolden(
        actual.map((r) => ({ ...r, unit: JSON.parse(r.unit) })),
        rows,
        outputs,
      );
    });
  }

  it("names the unit as JSON text, columns in table order, hostile names escaped", async () => {
    const units = async (columns: string) => [...new Set((await contingency(columns)).map((r) => r.unit))];
    expect(await units("[b|a]")).toEqual(['["a","b"]']);
    expect(await units('[a"; drop table x; --|select]')).toEqual(['["a\\"; drop table x; --","select"]']);
    expect(await units("[größe|my col]")).toEqual(['["my col","größe"]']);
  });
});

describe("macros/synthor_association.sql", () => {
  const { outputs, cases } = goldenCases("synthor_association.expected.csv", ["col_a", "col_b"]);
  for (const { key, rows } of cases) {
    // Column a has 3 categories (x, y, NULL; NULL counts), so min(rows, cols) - 1 = 2 and V = sqrt(12 / (6 * 2)) = 1.
    it(`${key.col_a} x ${key.col_b}`, async () => {
      const actual = await db.all("select * from synthor_association($table, $a, $b)", {
        table: "association_input",
        a: field(key, "col_a"),
        b: field(key, "col_b"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_gaps.sql", () => {
  const { outputs, cases } = goldenCases("synthor_gaps.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.all("select * from synthor_gaps($real, $synth)", gapTables(field(key, "case")));
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_tvd.sql", () => {
  const { outputs, cases } = goldenCases("synthor_tvd.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.all("select * from synthor_tvd($real, $synth)", gapTables(field(key, "case")));
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_quantile_grid.sql", () => {
  // quantile_cont at i/k: position (n - 1) * i / k in the sorted non-NULL values, interpolated.
  const { outputs, cases } = goldenCases("synthor_quantile_grid.expected.csv", ["column", "k"]);
  for (const { key, rows } of cases) {
    it(`${key.column} k=${key.k}`, async () => {
      const actual = await db.all("select * from synthor_quantile_grid($table, $column, $k::integer)", {
        table: "quantile_grid_input",
        column: field(key, "column"),
        k: field(key, "k"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("macros/synthor_quantiles.sql", () => {
  // Both lists from one sort: each golden of synthor_quantile_grid and synthor_quantile_edges must come
  // out of synthor_quantiles unchanged, the other list alongside.
  const grids = goldenCases("synthor_quantile_grid.expected.csv", ["column", "k"]);
  for (const { key, rows } of grids.cases) {
    it(`grid of ${key.column} k=${key.k}`, async () => {
      const actual = await db.all("select grid from synthor_quantiles($table, $column, $k::integer, 6)", {
        table: "quantile_grid_input",
        column: field(key, "column"),
        k: field(key, "k"),
      });
      expectGolden(actual, rows, grids.outputs);
    });
  }
  const edges = goldenCases("synthor_quantile_edges.expected.csv", ["column", "k"]);
  for (const { key, rows } of edges.cases) {
    it(`edges of ${key.column} k=${key.k}`, async () => {
      const actual = await db.all("select edges from synthor_quantiles($table, $column, 10, $k::integer)", {
        table: "quantile_edges_input",
        column: field(key, "column"),
        k: field(key, "k"),
      });
      expectGolden(actual, rows, edges.outputs);
    });
  }
});

describe("macros/synthor_inverse_cdf.sql", () => {
  // q * (len - 1) is a position in the grid; interpolate between its neighbours; q is clamped to [0, 1].
  for (const row of goldenCsv("synthor_inverse_cdf.csv").rows) {
    it(`grid ${row.grid} q=${row.q}`, async () => {
      const actual = await db.all("select synthor_inverse_cdf($grid::double[], $q::double) as expected", {
        grid: listParam(field(row, "grid")),
        q: field(row, "q"),
      });
      expectGolden(actual, [row], ["expected"]);
    });
  }
});

describe("macros/synthor_whole_within.sql", () => {
  // ceil(x) clamped to [ceil(lo), floor(hi)]; round(x) when no whole number lies in the range.
  for (const row of goldenCsv("synthor_whole_within.csv").rows) {
    it(`x=${row.x ?? "NULL"} in (${row.lo}, ${row.hi}]`, async () => {
      const actual = await db.all(
        "select synthor_whole_within($x::double, $lo::double, $hi::double) as expected",
        { x: row.x ?? null, lo: field(row, "lo"), hi: field(row, "hi") },
      );
      expectGolden(actual, [row], ["expected"]);
    });
  }
});

describe("macros/synthor_draw.sql", () => {
  // uniform: lo + u * (hi - lo); otherwise synthor_inverse_cdf(grid, p_lo + u * (p_hi - p_lo)); then
  // clamped to [lo, hi] and, for whole-number columns, synthor_whole_within.
  for (const row of goldenCsv("synthor_draw.csv").rows) {
    it(`(${row.lo ?? "NULL"}, ${row.hi ?? "NULL"}] u=${row.u} whole=${row.whole} uniform=${row.uniform}`, async () => {
      const actual = await db.all(
        `select synthor_draw($grid::double[], $lo::double, $hi::double, $p_lo::double, $p_hi::double,
           $u::double, $whole::boolean, $uniform::boolean) as expected`,
        {
          grid: listParam(field(row, "grid")),
          lo: row.lo ?? null,
          hi: row.hi ?? null,
          p_lo: field(row, "p_lo"),
          p_hi: field(row, "p_hi"),
          u: field(row, "u"),
          whole: field(row, "whole"),
          uniform: field(row, "uniform"),
        },
      );
      expectGolden(actual, [row], ["expected"]);
    });
  }
});

describe("macros/synthor_uniform.sql", () => {
  // A hash has no value to work out by hand, so this golden is the macro's contract instead (see
  // test/golden/synthor_uniform.md): ((h >> 11) + 0.5) / 2^53 lies in [2^-54, 1 - 2^-54] for every
  // 64-bit h, equal arguments give equal numbers, and 1000 draws look uniform.
  it("is inside (0, 1), a function of its arguments only, and spread evenly", async () => {
    const rows = await db.all<{ u: number; again: number; other: number }>(
      `select synthor_uniform(42, i, 1, 2, 3) as u,
              synthor_uniform(42, i, 1, 2, 3) as again,
              synthor_uniform(43, i, 1, 2, 3) as other
       from range(1000) as t(i)`,
    );
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r.u > 0 && r.u < 1)).toBe(true);
    expect(rows.every((r) => r.u === r.again)).toBe(true);
    expect(new Set(rows.map((r) => r.u)).size).toBe(1000);
    expect(rows.filter((r) => r.u === r.other)).toEqual([]);
    // The mean of 1000 uniforms has standard deviation 0.0091; 0.05 is more than 5 of them.
    const mean = rows.reduce((s, r) => s + r.u, 0) / rows.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe("hostile column names", () => {
  it("ran as names, never as SQL: table x is still there", async () => {
    expect(await db.all("select i from x")).toEqual([{ i: 42 }]);
  });

  it("the golden inputs carry all four hostile names", () => {
    const hostile = ['a"; drop table x; --', "my col", "größe", "select"];
    for (const file of [
      "synthor_quantile_edges.input.csv",
      "synthor_main_bins.input.csv",
      "synthor_sub_bins.input.csv",
      "synthor_numeric_summary.input.csv",
      "synthor_column_stats.input.csv",
      "synthor_frequency.input.csv",
      "synthor_contingency.input.csv",
      "synthor_association.input.csv",
      "synthor_quantile_grid.input.csv",
    ]) {
      expect(goldenCsv(file).columns, file).toEqual(expect.arrayContaining(hostile));
    }
    expect(decodeList('[a"; drop table x; --|select]')).toEqual(['a"; drop table x; --', "select"]);
  });
});

it(EXECUTED_CHECK, () => executed.expectEachFileRan());
