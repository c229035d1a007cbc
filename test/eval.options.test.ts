import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { evaluateSynthetic } from "../src/evaluate/evaluate.ts";
import { profileColumns } from "../src/profile.ts";
import { readSource } from "../src/source.ts";
import { cli, tempDir, withDb } from "./helpers.ts";

const TABLE = `
select
    (20 + range % 40)::integer as age,
    ['basic', 'plus', 'pro'][range % 3 + 1] as plan,
    range * 1.5 + 0.25 as spend
from range(90)`;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** Evaluates the table against itself with `extra` options; returns the parts started and the error. */
async function evaluate(db: Db, extra: { target?: string; groups?: string[][] }) {
  const real = await readSource(db, { kind: "sql", sql: TABLE }, "eval_real");
  const synth = await readSource(db, { kind: "sql", sql: TABLE }, "eval_synth");
  const profiles = await profileColumns(db, real);
  const steps: string[] = [];
  try {
    await evaluateSynthetic(db, {
      real: real.view,
      synth: synth.view,
      profiles,
      detection: false,
      privacy: false,
      onStep: (step) => steps.push(step),
      ...extra,
    });
  } catch (err) {
    if (!(err instanceof SynthorError)) throw err;
    return { steps, error: err };
  }
  return { steps, error: undefined };
}

describe("eval checks the options that name columns before any part runs", () => {
  it("a misspelt --target fails before the first part, with the column meant", async () => {
    const { steps, error } = await withDb((db) => evaluate(db, { target: "plann" }));
    expect(steps).toEqual([]);
    expect(error?.describe()).toBe(
      [
        'error: --target names column "plann", which the real table does not have',
        "  hint: did you mean plan? the compared columns are: age, plan, spend",
      ].join("\n"),
    );
  });

  it("a numeric --target and a misspelt --group are reported together, before the first part", async () => {
    const { steps, error } = await withDb((db) =>
      evaluate(db, { target: "spend", groups: [["age", "plam"]] }),
    );
    expect(steps).toEqual([]);
    expect(error?.message).toBe(
      [
        "2 problems in the input:",
        '  1. group age,plam names column "plam", which is not compared',
        "  2. --target spend is numeric; the utility test trains classifiers, which predict categories",
      ].join("\n"),
    );
    expect(error?.hint.split("\n")[0]).toBe(
      "(1) did you mean plan? the compared columns are: age, plan, spend",
    );
  });

  it("through the CLI: the error, no progress of any part, no report", async () => {
    const real = join(tmp.dir, "real.csv");
    const lines = ["age,plan,spend"];
    for (let i = 0; i < 60; i++) lines.push(`${20 + (i % 40)},${["basic", "plus", "pro"][i % 3]},${i * 1.5}`);
    writeFileSync(real, `${lines.join("\n")}\n`);
    const report = join(tmp.dir, "report.html");
    const { code, stdout, stderr } = await cli([
      "eval",
      "--real",
      real,
      "--synth",
      real,
      "--target",
      "pln",
      "--report",
      report,
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      [
        'error: --target names column "pln", which the real table does not have',
        "  hint: did you mean plan? the compared columns are: age, plan, spend",
        "",
      ].join("\n"),
    );
    expect(existsSync(report)).toBe(false);
  }, 120_000);

  it("a --seed that is not a whole number is a usage error", async () => {
    const { code, stderr } = await cli(["eval", "--real", "x.csv", "--synth", "x.csv", "--seed", "abc"]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('--seed must be a whole number, not "abc"');
  }, 120_000);
});
