/**
 * Every SQL file the package ships has a golden test: a hand-checkable input under test/golden/ and the
 * answer worked out by hand. A new file in macros/ or sql/ fails this test until it has one.
 *
 * That the golden test executes the file is proved in the golden test file itself (test/sql-executed.ts):
 * its last test reads which statements its tests ran. This file checks the map and that every golden test
 * file ends with that check.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../src/db/files.ts";
import { GOLDEN_TESTS } from "./sql-executed.ts";

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
          "and list the file in GOLDEN_TESTS in test/sql-executed.ts",
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

  it("every golden test file records what its tests execute and ends by checking each of its files ran", () => {
    const problems = [...new Set(Object.values(GOLDEN_TESTS))].flatMap((test) => {
      const text = readFileSync(join(packageRoot, test), "utf8");
      const problems: string[] = [];
      if (!text.includes(`recordSqlExecutions("${test}")`)) {
        problems.push(`${test} does not call recordSqlExecutions("${test}") at its top`);
      }
      if (!text.trimEnd().endsWith("it(EXECUTED_CHECK, () => executed.expectEachFileRan());")) {
        problems.push(`${test} does not end with it(EXECUTED_CHECK, () => executed.expectEachFileRan())`);
      }
      return problems;
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
