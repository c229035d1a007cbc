/**
 * Every SQL file the package ships has a golden test: a hand-checkable input under test/golden/ and the
 * answer worked out by hand. A new file in macros/ or sql/ fails this test until it has one.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../src/db/files.ts";

/** Which test file holds the golden test of each SQL file, in a `describe("<path>", ...)` block. */
const GOLDEN_TESTS: Record<string, string> = {
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
  "sql/contingency.sql": "test/sql.golden.test.ts",
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
  "sql/pair_association.sql": "test/sql.golden.test.ts",
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

function sqlFilesOnDisk(): string[] {
  return ["macros", "sql"].flatMap((dir) =>
    readdirSync(join(packageRoot, dir))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => `${dir}/${f}`),
  );
}

describe("golden test coverage of macros/ and sql/", () => {
  it("every SQL file has a golden test", () => {
    const missing = sqlFilesOnDisk()
      .filter((f) => !(f in GOLDEN_TESTS))
      .map(
        (f) =>
          `${f} has no golden test: add a tiny input and a hand-worked expected CSV under test/golden/, ` +
          `a describe("${f}", ...) block in test/${f.startsWith("macros/") ? "macros" : "sql"}.golden.test.ts, ` +
          "and list the file in GOLDEN_TESTS in test/sql-coverage.test.ts",
      );
    expect(missing).toEqual([]);
  });

  it("every listed test file has a describe block named after its SQL file", () => {
    const problems = Object.entries(GOLDEN_TESTS).flatMap(([sql, test]) => {
      const path = join(packageRoot, test);
      if (!existsSync(path)) return [`${sql}: its golden test file ${test} does not exist`];
      return readFileSync(path, "utf8").includes(`describe("${sql}"`)
        ? []
        : [`${sql}: ${test} has no describe("${sql}", ...) block`];
    });
    expect(problems).toEqual([]);
  });

  it("lists no SQL file that is gone", () => {
    const onDisk = new Set(sqlFilesOnDisk());
    const stale = Object.keys(GOLDEN_TESTS)
      .filter((f) => !onDisk.has(f))
      .map((f) => `${f} is listed in GOLDEN_TESTS but no longer exists: remove it and its golden test`);
    expect(stale).toEqual([]);
  });
});
