/**
 * Golden tests for the evaluation's query files (sql/eval_*.sql), run through Db.query with bound
 * parameters as src/evaluate runs them. Inputs are test/golden/eval_*.csv; the arithmetic behind every
 * expected value is in test/golden/eval_*.md. sql/eval_quantile_edges.sql wraps synthor_quantile_edges
 * and reuses that macro's golden input and answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { quoteIdent } from "../src/db/quote.ts";
import {
  expectGolden,
  field,
  gapTables,
  goldenCases,
  goldenCsv,
  loadGapTables,
  loadTable,
} from "./golden/golden.ts";
import { EXECUTED_CHECK, recordSqlExecutions } from "./sql-executed.ts";

const executed = recordSqlExecutions("test/eval.golden.test.ts");

let db: Db;

beforeAll(async () => {
  db = await Db.open(":memory:", { threads: 2 });
  await loadTable(db, "cdf_real", "eval_cdf.real.csv", {}, "double");
  await loadTable(db, "cdf_synth", "eval_cdf.synth.csv", {}, "double");
  await loadGapTables(db);
  await loadTable(db, "correlation_input", "eval_correlation.input.csv", {}, "double");
  await loadTable(db, "edges_input", "eval_equal_width_edges.input.csv", {}, "double");
  await loadTable(db, "histogram_real", "eval_histogram.real.csv", {}, "double");
  await loadTable(db, "histogram_synth", "eval_histogram.synth.csv", {}, "double");
  const matchTypes = { "my col": "double" };
  await loadTable(db, "matches_real", "eval_exact_matches.real.csv", matchTypes);
  await loadTable(db, "matches_synth", "eval_exact_matches.synth.csv", matchTypes);
  await loadTable(db, "matches_empty", "eval_exact_matches.empty.csv", matchTypes);
  await loadTable(db, "quantile_edges_input", "synthor_quantile_edges.input.csv", {}, "double");
  const key = 'a"; drop table x; --';
  await loadTable(db, "links_parent", "eval_links.parent.csv", { [key]: "bigint", size: "bigint" });
  await loadTable(db, "links_child", "eval_links.child.csv", { age: "bigint" });
  await loadTable(db, "links_clean_child", "eval_links.clean_child.csv");
  const adherenceTypes = { [key]: "double", day: "date" };
  await loadTable(db, "adherence_real", "eval_adherence.real.csv", adherenceTypes);
  await loadTable(db, "adherence_synth", "eval_adherence.synth.csv", adherenceTypes);
  await loadTable(db, "flow_input", "eval_flow_counts.input.csv");
  await loadTable(db, "weights_input", "eval_target_weights.input.csv");
  const weight = { __synthor_weight: "double" };
  await loadTable(db, "target_two", "eval_target_shares.target.csv", weight);
  await loadTable(db, "target_one", "eval_target_shares.target1.csv", weight);
  await loadTable(db, "target_synth", "eval_target_shares.synth.csv");
  await db.exec(
    `create view target_synth_one as select ${quoteIdent('a"; drop table x; --')} from target_synth`,
  );
});

afterAll(() => db?.close());

describe("sql/eval_wasserstein.sql", () => {
  const { cases } = goldenCases("eval_cdf.expected.csv", ["column"], ["w1"]);
  for (const { key, rows } of cases) {
    it(`W1 of ${key.column}`, async () => {
      const actual = await db.query("eval_wasserstein", {
        real: "cdf_real",
        synth: "cdf_synth",
        column: field(key, "column"),
      });
      expectGolden(actual, rows, ["w1"]);
    });
  }

  it("is 0 between a table and itself", async () => {
    const [row] = await db.query("eval_wasserstein", { real: "cdf_real", synth: "cdf_real", column: "x" });
    expect(row?.w1).toBe(0);
  });
});

describe("sql/eval_ks.sql", () => {
  const { cases } = goldenCases("eval_cdf.expected.csv", ["column"], ["ks"]);
  for (const { key, rows } of cases) {
    it(`KS of ${key.column}`, async () => {
      const actual = await db.query("eval_ks", {
        real: "cdf_real",
        synth: "cdf_synth",
        column: field(key, "column"),
      });
      expectGolden(actual, rows, ["ks"]);
    });
  }

  it("is symmetric", async () => {
    const [a] = await db.query("eval_ks", { real: "cdf_real", synth: "cdf_synth", column: "x" });
    const [b] = await db.query("eval_ks", { real: "cdf_synth", synth: "cdf_real", column: "x" });
    expect(a?.ks).toBe(b?.ks);
  });
});

describe("sql/eval_jsd.sql", () => {
  const { outputs, cases } = goldenCases("eval_jsd.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.query("eval_jsd", gapTables(field(key, "case")));
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_correlation.sql", () => {
  const { outputs, cases } = goldenCases("eval_correlation.expected.csv", ["column_a", "column_b"]);
  for (const { key, rows } of cases) {
    it(`${key.column_a} x ${key.column_b}`, async () => {
      const actual = await db.query("eval_correlation", {
        table: "correlation_input",
        column_a: field(key, "column_a"),
        column_b: field(key, "column_b"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_equal_width_edges.sql", () => {
  const { outputs, cases } = goldenCases("eval_equal_width_edges.expected.csv", ["column", "bins"]);
  for (const { key, rows } of cases) {
    it(`${key.column} in ${key.bins} bins`, async () => {
      const actual = await db.query("eval_equal_width_edges", {
        table: "edges_input",
        column: field(key, "column"),
        bins: Number(field(key, "bins")),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_histogram.sql", () => {
  const { outputs, cases } = goldenCases("eval_histogram.expected.csv", ["column", "bins"]);
  for (const { key, rows } of cases) {
    it(`${key.column} in ${key.bins} bins`, async () => {
      const actual = await db.query("eval_histogram", {
        real: "histogram_real",
        synth: "histogram_synth",
        column: field(key, "column"),
        bins: Number(field(key, "bins")),
      });
      expectGolden(actual, rows, outputs);
    });
  }

  it("has no bins for a column without values", async () => {
    const actual = await db.query("eval_histogram", {
      real: "histogram_real",
      synth: "histogram_synth",
      column: "empty",
      bins: 3,
    });
    expect(actual).toEqual([]);
  });
});

describe("sql/eval_exact_matches.sql", () => {
  const tables: Record<string, { real: string; synth: string }> = {
    synth_vs_real: { synth: "matches_synth", real: "matches_real" },
    real_vs_real: { synth: "matches_real", real: "matches_real" },
    empty_vs_real: { synth: "matches_empty", real: "matches_real" },
    real_vs_synth: { synth: "matches_real", real: "matches_synth" },
  };
  const { outputs, cases } = goldenCases("eval_exact_matches.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.query("eval_exact_matches", tables[field(key, "case")] ?? {});
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_links.sql", () => {
  const tables: Record<string, { parent: string; child: string }> = {
    messy: { parent: "links_parent", child: "links_child" },
    clean: { parent: "links_parent", child: "links_clean_child" },
    self: { parent: "links_parent", child: "links_parent" },
  };
  const { outputs, cases } = goldenCases("eval_links.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.query("eval_links", {
        ...(tables[field(key, "case")] ?? {}),
        key: 'a"; drop table x; --',
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

/** The diagnostic goldens' cases: which table is real and which synthetic. */
const adherenceTables: Record<string, { real: string; synth: string }> = {
  real_vs_synth: { real: "adherence_real", synth: "adherence_synth" },
  synth_vs_real: { real: "adherence_synth", synth: "adherence_real" },
  real_vs_real: { real: "adherence_real", synth: "adherence_real" },
};

/** One test per case of a diagnostic golden whose cases name the tables and a column. */
function adherenceCases(file: string): void {
  const { outputs, cases } = goldenCases(`${file}.expected.csv`, ["case", "column"]);
  for (const { key, rows } of cases) {
    it(`${field(key, "case")}: ${field(key, "column")}`, async () => {
      const actual = await db.query(file, {
        ...(adherenceTables[field(key, "case")] ?? {}),
        column: field(key, "column"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
}

describe("sql/eval_null_shares.sql", () => adherenceCases("eval_null_shares"));
describe("sql/eval_category_adherence.sql", () => adherenceCases("eval_category_adherence"));
describe("sql/eval_range_adherence.sql", () => adherenceCases("eval_range_adherence"));

describe("sql/eval_key_uniqueness.sql", () => {
  const { outputs, cases } = goldenCases("eval_key_uniqueness.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.query("eval_key_uniqueness", {
        table: `adherence_${field(key, "case")}`,
        key: "id",
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_quantile_edges.sql", () => {
  const { outputs, cases } = goldenCases("synthor_quantile_edges.expected.csv", ["column", "k"]);
  for (const { key, rows } of cases) {
    it(`deciles-style edges of ${key.column} k=${key.k}`, async () => {
      const actual = await db.query("eval_quantile_edges", {
        table: "quantile_edges_input",
        column: field(key, "column"),
        bins: Number(field(key, "k")),
      });
      expectGolden(actual, rows, outputs);
    });
  }

  it("reads the same golden file as the macro", () => {
    expect(goldenCsv("synthor_quantile_edges.expected.csv").columns).toEqual(["column", "k", "edges"]);
  });
});

describe("sql/eval_flow_counts.sql", () => {
  const { outputs, cases } = goldenCases("eval_flow_counts.expected.csv", ["from", "to"]);
  for (const { key, rows } of cases) {
    it(`${key.from} -> ${key.to}`, async () => {
      const actual = await db.query("eval_flow_counts", {
        table: "flow_input",
        from: field(key, "from"),
        to: field(key, "to"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_target_shares.sql", () => {
  const tables: Record<string, { target: string; synth: string }> = {
    two_columns: { target: "target_two", synth: "target_synth" },
    one_column: { target: "target_one", synth: "target_synth_one" },
  };
  const { outputs, cases } = goldenCases("eval_target_shares.expected.csv", ["case"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.query("eval_target_shares", tables[field(key, "case")] ?? {});
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/eval_target_weights.sql", () => {
  const { outputs, cases } = goldenCases("eval_target_weights.expected.csv", ["column"]);
  for (const { key, rows } of cases) {
    it(`weights in ${key.column}`, async () => {
      const actual = await db.query("eval_target_weights", {
        table: "weights_input",
        column: field(key, "column"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

it(EXECUTED_CHECK, () => executed.expectEachFileRan());
