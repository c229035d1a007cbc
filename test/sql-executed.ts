/**
 * Proof that each file in sql/ and macros/ is executed by its golden test, not merely named there.
 *
 * A golden test file calls {@link recordSqlExecutions} at its top and ends with
 * `it(EXECUTED_CHECK, () => executed.expectEachFileRan())`. While each of its tests runs, every statement a
 * Db ran without an error is recorded (src/db/connection.ts `onStatementExecuted`) with the names of the
 * describe blocks around the test. The last test then checks that every SQL file GOLDEN_TESTS gives this
 * test file ran, successfully, inside a test of a `describe("<that file>")` block: skip the golden test of
 * one file (it.skip, describe.skip, or a test that never reaches its query) and it fails.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, expect } from "vitest";
import { type ExecutedStatement, onStatementExecuted } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";

/** Which test file holds the golden test of each SQL file, in a `describe("<path>", ...)` block. */
export const GOLDEN_TESTS: Record<string, string> = {
  "macros/synthor_association.sql": "test/macros.golden.test.ts",
  "macros/synthor_bin.sql": "test/macros.golden.test.ts",
  "macros/synthor_column_stats.sql": "test/macros.golden.test.ts",
  "macros/synthor_distinct_count.sql": "test/macros.golden.test.ts",
  "macros/synthor_contingency.sql": "test/macros.golden.test.ts",
  "macros/synthor_count_code.sql": "test/nested.golden.test.ts",
  "macros/synthor_household_sizes.sql": "test/nested.golden.test.ts",
  "macros/synthor_member_counts.sql": "test/nested.golden.test.ts",
  "macros/synthor_member_values.sql": "test/nested.golden.test.ts",
  "macros/synthor_draw.sql": "test/macros.golden.test.ts",
  "macros/synthor_frequency.sql": "test/macros.golden.test.ts",
  "macros/synthor_gaps.sql": "test/macros.golden.test.ts",
  "macros/synthor_inverse_cdf.sql": "test/macros.golden.test.ts",
  "macros/synthor_main_bins.sql": "test/macros.golden.test.ts",
  "macros/synthor_numeric_summary.sql": "test/macros.golden.test.ts",
  "macros/synthor_quantile_edges.sql": "test/macros.golden.test.ts",
  "macros/synthor_quantile_grid.sql": "test/macros.golden.test.ts",
  "macros/synthor_quantiles.sql": "test/macros.golden.test.ts",
  "macros/synthor_sub_bin.sql": "test/macros.golden.test.ts",
  "macros/synthor_sub_bins.sql": "test/macros.golden.test.ts",
  "macros/synthor_tvd.sql": "test/macros.golden.test.ts",
  "macros/synthor_uniform.sql": "test/macros.golden.test.ts",
  "macros/synthor_whole_within.sql": "test/macros.golden.test.ts",
  "sql/distinct_count.sql": "test/sql.golden.test.ts",
  "sql/winsorized_moments.sql": "test/sql.golden.test.ts",
  "sql/column_stats.sql": "test/sql.golden.test.ts",
  "sql/unit_counts.sql": "test/sql.golden.test.ts",
  "sql/eval_category_adherence.sql": "test/eval.golden.test.ts",
  "sql/eval_correlation.sql": "test/eval.golden.test.ts",
  "sql/eval_equal_width_edges.sql": "test/eval.golden.test.ts",
  "sql/eval_exact_matches.sql": "test/eval.golden.test.ts",
  "sql/eval_flow_counts.sql": "test/eval.golden.test.ts",
  "sql/eval_histogram.sql": "test/eval.golden.test.ts",
  "sql/eval_jsd.sql": "test/eval.golden.test.ts",
  "sql/eval_key_uniqueness.sql": "test/eval.golden.test.ts",
  "sql/eval_ks.sql": "test/eval.golden.test.ts",
  "sql/eval_links.sql": "test/eval.golden.test.ts",
  "sql/eval_null_shares.sql": "test/eval.golden.test.ts",
  "sql/eval_quantile_edges.sql": "test/eval.golden.test.ts",
  "sql/eval_range_adherence.sql": "test/eval.golden.test.ts",
  "sql/eval_target_shares.sql": "test/eval.golden.test.ts",
  "sql/eval_target_weights.sql": "test/eval.golden.test.ts",
  "sql/eval_wasserstein.sql": "test/eval.golden.test.ts",
  "sql/fine_counts.sql": "test/sql.golden.test.ts",
  "sql/gaps.sql": "test/sql.golden.test.ts",
  "sql/macro_definitions.sql": "test/sql.golden.test.ts",
  "sql/merge_counts.sql": "test/sql.golden.test.ts",
  "sql/nested_inherited.sql": "test/nested.golden.test.ts",
  "sql/nested_link_check.sql": "test/nested.golden.test.ts",
  "sql/pair_associations.sql": "test/sql.golden.test.ts",
  "sql/quantiles.sql": "test/sql.golden.test.ts",
  "sql/reference_atoms.sql": "test/reference.golden.test.ts",
  "sql/reference_copies.sql": "test/reference.golden.test.ts",
  "sql/same_values.sql": "test/nested.golden.test.ts",
  "sql/source_checksum.sql": "test/sql.golden.test.ts",
  "sql/sub_bins.sql": "test/sql.golden.test.ts",
  "sql/target_excess.sql": "test/reference.golden.test.ts",
  "sql/target_fit.sql": "test/reference.golden.test.ts",
  "sql/trim_surplus.sql": "test/sql.golden.test.ts",
  "sql/tvd.sql": "test/sql.golden.test.ts",
};

/** The name of the last test of every golden test file (test/sql-coverage.test.ts checks it is there). */
export const EXECUTED_CHECK =
  "executed every SQL file it is the golden test of, inside that file's describe block";

/** SQL without `--` comments and single-quoted strings, whitespace collapsed: what DuckDB runs. */
function code(sql: string): string {
  // One pass from left to right, so a quote inside a comment or "--" inside a string is read as DuckDB does.
  return sql
    .replace(/'(?:[^']|'')*'|--[^\n]*/g, (m) => (m.startsWith("'") ? "''" : ""))
    .replace(/\s+/g, " ")
    .trim();
}

/** Whether `statement` ran `file`: the file by its label or its text inside, a macro by a call to it. */
function runs(statement: ExecutedStatement, file: string): boolean {
  if (file.startsWith("sql/")) {
    if (statement.label === file) return true;
    const body = code(readFileSync(join(packageRoot, file), "utf8")).replace(/;$/, "");
    return code(statement.sql).includes(body);
  }
  // Loading the macros (Db.open, `synthor macros --install`) defines every one of them; that is no call.
  if (statement.label === "macros/*.sql") return false;
  const name = file.slice("macros/".length, -".sql".length);
  return new RegExp(`\\b${name}\\s*\\(`, "i").test(code(statement.sql));
}

/**
 * Starts recording, for the tests of the calling file, which statements ran inside which describe blocks.
 * Call it at the top level of a golden test file; `testFile` is its path from the package root.
 */
export function recordSqlExecutions(testFile: string): { expectEachFileRan(): void } {
  const ran: { blocks: string[]; statement: ExecutedStatement }[] = [];
  let blocks: string[] | undefined;
  beforeEach((ctx) => {
    const names: string[] = [];
    for (let s = ctx.task.suite; s; s = s.suite) names.push(s.name);
    blocks = names;
  });
  afterEach(() => {
    blocks = undefined;
  });
  onStatementExecuted((statement) => {
    // Statements of a beforeAll or afterAll hook belong to no test.
    if (blocks) ran.push({ blocks, statement });
  });
  return {
    expectEachFileRan() {
      const files = Object.entries(GOLDEN_TESTS)
        .filter(([, test]) => test === testFile)
        .map(([file]) => file);
      expect(files.length, `GOLDEN_TESTS gives no SQL file to ${testFile}`).toBeGreaterThan(0);
      const notRun = files.filter(
        (file) => !ran.some((r) => r.blocks.includes(file) && runs(r.statement, file)),
      );
      expect(notRun.map((f) => `${f}: no test of describe("${f}") in ${testFile} executed it`)).toEqual([]);
    },
  };
}
