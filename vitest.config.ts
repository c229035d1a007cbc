import { readdirSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// A test file that starts a process (the CLI through test/helpers.ts' cli(), or node:child_process itself)
// is end to end: it runs the built CLI, so its project builds dist/ first (test/build.global.ts). The
// rest run in-process against the sources. The limits guard against hangs, not speed: a loaded machine
// must not trip them.
const e2e = readdirSync("test")
  .filter((f) => f.endsWith(".test.ts"))
  .filter((f) =>
    /\bcli\(|\bstartPaused\(|node:child_process|SYNTHOR_BIN/.test(readFileSync(`test/${f}`, "utf8")),
  )
  .map((f) => `test/${f}`);

export default defineConfig({
  test: {
    // DuckDB and the CLI subprocess tests are I/O heavy; two workers match the machine.
    maxWorkers: 2,
    env: { TZ: "UTC" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: e2e,
          testTimeout: 5 * 60_000,
          hookTimeout: 5 * 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: e2e,
          globalSetup: ["test/build.global.ts"],
          testTimeout: 10 * 60_000,
          hookTimeout: 10 * 60_000,
        },
      },
    ],
  },
});
