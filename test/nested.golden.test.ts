/**
 * Golden tests of the nested (households and members) SQL: the macros that derive household-level
 * columns from members, and the query files the nested pipeline runs. Inputs in test/golden/nested.*.csv,
 * the arithmetic in test/golden/nested.md.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { Db, type Row } from "../src/db/connection.ts";
import { expectGolden, field, goldenCases, goldenCsv, loadTable } from "./golden/golden.ts";
import { EXECUTED_CHECK, recordSqlExecutions } from "./sql-executed.ts";

const executed = recordSqlExecutions("test/nested.golden.test.ts");

let db: Db;

beforeAll(async () => {
  db = await Db.open(":memory:", { threads: 1 });
  await loadTable(db, "nested_households", "nested.households.csv", { "my col": "integer" });
  await loadTable(db, "nested_members", "nested.members.csv", { "my col": "integer" });
  await loadTable(db, "nested_members_moved", "nested.members_moved.csv", { "my col": "integer" });
});

afterAll(() => db?.close());

describe("macros/synthor_household_sizes.sql", () => {
  it("counts each household's members, 0 for none", async () => {
    const { outputs, cases } = goldenCases("synthor_household_sizes.expected.csv", []);
    const actual = await db.all(
      "from synthor_household_sizes('nested_households', 'nested_members', 'my col')",
    );
    expectGolden(actual, cases[0]?.rows ?? [], outputs);
  });
});

describe("macros/synthor_member_counts.sql", () => {
  it("counts members per household and value", async () => {
    const { outputs, cases } = goldenCases("synthor_member_counts.expected.csv", []);
    const actual = await db.all("from synthor_member_counts('nested_members', 'my col', 'größe')");
    expectGolden(actual, cases[0]?.rows ?? [], outputs);
  });
});

describe("macros/synthor_member_values.sql", () => {
  it("lists each household's values, sorted", async () => {
    const { outputs, cases } = goldenCases("synthor_member_values.expected.csv", []);
    const actual = await db.all<Row & { values: string }>(
      "from synthor_member_values('nested_members', 'my col', 'größe')",
    );
    expectGolden(
      actual.map((r) => ({ ...r, values: JSON.parse(r.values) })),
      cases[0]?.rows ?? [],
      outputs,
    );
  });
});

describe("macros/synthor_count_code.sql", () => {
  for (const row of goldenCsv("synthor_count_code.csv").rows) {
    it(`${row.n} with cap ${row.cap}`, async () => {
      const actual = await db.all("select synthor_count_code($n::bigint, $cap::bigint) as expected", {
        n: field(row, "n"),
        cap: field(row, "cap"),
      });
      expectGolden(actual, [row], ["expected"]);
    });
  }
});

describe("sql/nested_link_check.sql", () => {
  it("counts households, keys, members and orphans", async () => {
    const { outputs, cases } = goldenCases("nested_link_check.expected.csv", []);
    const actual = await db.query("nested_link_check", {
      households: "nested_households",
      members: "nested_members",
      key: "my col",
    });
    expectGolden(actual, cases[0]?.rows ?? [], outputs);
  });
});

describe("sql/nested_inherited.sql", () => {
  const { outputs, cases } = goldenCases("nested_inherited.expected.csv", ["case", "members"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      const actual = await db.query("nested_inherited", {
        households: "nested_households",
        members: field(key, "members"),
        key: "my col",
        column: "r",
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

describe("sql/same_values.sql", () => {
  const { outputs, cases } = goldenCases("same_values.expected.csv", ["case", "column_a", "column_b"]);
  for (const { key, rows } of cases) {
    it(field(key, "case"), async () => {
      await loadTable(db, "same_values_input", "same_values.input.csv", {}, "integer");
      const actual = await db.query("same_values", {
        table: "same_values_input",
        column_a: field(key, "column_a"),
        column_b: field(key, "column_b"),
      });
      expectGolden(actual, rows, outputs);
    });
  }
});

it(EXECUTED_CHECK, () => executed.expectEachFileRan());
