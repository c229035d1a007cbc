/**
 * Outputs: nothing lost, nothing replaced without consent (issue 12, part 4). Every command that writes
 * a file refuses an existing one unless --overwrite, with one wording; a file that appears while a run
 * works (another run writing the same path) is never replaced at the end, and the run says where its
 * output still is; no temporary file outlives an error or an exit, and one left by a killed process is
 * removed by the next write to the same target. The race is made deterministic with a hook between
 * writing the temporary file and publishing it, where the test creates the target.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";
import { SynthorError } from "../src/errors.ts";
import { type NestedSynthOptions, synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { publishHooks, removeStaleTemps, writeFileAtomically, writeTextAtomically } from "../src/output.ts";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { cli, fixture, linkedSource, tempDir } from "./helpers.ts";

const SMALL = "select ['a', 'b', 'c'][range % 3 + 1] as c, range * 1.5 as x from range(60)";
const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const OTHER = "another run's rows\n";

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());
afterEach(() => {
  publishHooks.beforePublish = undefined;
  publishHooks.link = undefined;
});

function flat(extra: Partial<SynthOptions> = {}): SynthOptions {
  return {
    source: { kind: "sql", sql: SMALL },
    iterations: 2,
    seed: 1,
    threads: 1,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed: 1 }),
    ...extra,
  };
}

/** Hidden files in the test directory (of one target, if named): temporary files a write left behind. */
function hidden(target?: string): string[] {
  return readdirSync(tmp.dir).filter((f) => f.startsWith(".") && (!target || f.startsWith(`.${target}.`)));
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<SynthorError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SynthorError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

/** A pid no process has: a child that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (child.pid === undefined) throw new Error("could not start a child process");
  return child.pid;
}

async function rowsOf(file: string, table: string): Promise<number> {
  const db = await Db.open(file, { readOnly: true, threads: 1 });
  try {
    const [row] = await db.all<{ n: number }>(`select count(*)::integer as n from ${table}`);
    return row?.n ?? -1;
  } finally {
    db.close();
  }
}

describe("a file that appears at --out while the run works", () => {
  it("is kept; the run fails with OUTPUT_EXISTS naming --overwrite and its --db table", async () => {
    const out = path("race-db.csv");
    const db = path("race.duckdb");
    publishHooks.beforePublish = (_tmp, target) => writeFileSync(target, OTHER);
    const err = await rejection(synthesize(flat({ out, db })));
    expect(err.code).toBe("OUTPUT_EXISTS");
    expect(err.describe()).toBe(
      `error: ${out} appeared after this run started (another run writing the same file?); it was left as it is\n` +
        `  hint: pass --overwrite to replace it, or choose another --out; this run's output is in table synthetic of ${db}`,
    );
    expect(readFileSync(out, "utf8")).toBe(OTHER);
    expect(hidden()).toEqual([]);
    expect(await rowsOf(db, "synthetic")).toBe(60);
  });

  it("without --db, keeps the run's output beside it under a name of its own, and says which", async () => {
    const out = path("race-mem.csv");
    publishHooks.beforePublish = (_tmp, target) => writeFileSync(target, OTHER);
    const err = await rejection(synthesize(flat({ out })));
    const kept = readdirSync(tmp.dir).filter((f) => /^race-mem\.\d+-[0-9a-f]{6}\.csv$/.test(f));
    expect(kept).toHaveLength(1);
    const keptPath = path(kept[0] as string);
    expect(err.hint).toBe(
      `pass --overwrite to replace it, or choose another --out; this run's output is in ${keptPath}`,
    );
    expect(readFileSync(out, "utf8")).toBe(OTHER);
    expect(readFileSync(keptPath, "utf8").trimEnd().split("\n")).toHaveLength(61);
    expect(hidden()).toEqual([]);
  });

  it("is replaced with --overwrite: consent given", async () => {
    const out = path("race-overwrite.csv");
    publishHooks.beforePublish = (_tmp, target) => writeFileSync(target, OTHER);
    const r = await synthesize(flat({ out, overwrite: true }));
    expect(r.outFile).toBe(out);
    // The run's 60 rows under their header, not the other run's line.
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect([lines[0], lines.length]).toEqual(["c,x", 61]);
    expect(hidden()).toEqual([]);
  });

  it("two runs started together into one --out: one publishes, the other is refused, nothing is mixed", async () => {
    const out = path("together.csv");
    const dbs = [path("together-1.duckdb"), path("together-2.duckdb")];
    // Both pass the check at the start (the file is not there yet); both sample and write.
    const results = await Promise.allSettled(
      dbs.map((db, i) => synthesize(flat({ out, db, seed: i + 1, source: { kind: "sql", sql: SMALL } }))),
    );
    const won = results.findIndex((r) => r.status === "fulfilled");
    const lost = results.findIndex((r) => r.status === "rejected");
    expect([won, lost].sort()).toEqual([0, 1]);
    const reason = (results[lost] as PromiseRejectedResult).reason as SynthorError;
    expect(reason.code).toBe("OUTPUT_EXISTS");
    expect(reason.hint).toBe(
      `pass --overwrite to replace it, or choose another --out; this run's output is in table synthetic of ${dbs[lost]}`,
    );
    // The file is the winner's table, whole.
    const winner = await Db.open(dbs[won] as string, { readOnly: true, threads: 1 });
    try {
      const copy = path("together-winner.csv");
      await winner.exec(`copy synthetic to '${copy}' (format csv, header true)`);
      expect(readFileSync(out, "utf8")).toBe(readFileSync(copy, "utf8"));
    } finally {
      winner.close();
    }
    expect(hidden()).toEqual([]);
  });

  it("--child-out: the members' file, refused by its own flag, members kept in their table", async () => {
    const db = path("nested-race.duckdb");
    const out = path("nested-hh.csv");
    const childOut = path("nested-persons.csv");
    publishHooks.beforePublish = (_tmp, target) => {
      if (target === childOut) writeFileSync(target, OTHER);
    };
    const options: NestedSynthOptions = {
      source: linkedSource(),
      db,
      out,
      childOut,
      threads: 1,
      iterations: 2,
      rows: 20,
      seed: 3,
      planner: (d, s) => new NestedStatsPlanner(d, s, { seed: 3 }),
    };
    const err = await rejection(synthesizeNested(options));
    expect(err.describe()).toBe(
      `error: ${childOut} appeared after this run started (another run writing the same file?); it was left as it is\n` +
        `  hint: pass --overwrite to replace it, or choose another --child-out; this run's output is in table synthetic_members of ${db}`,
    );
    expect(readFileSync(childOut, "utf8")).toBe(OTHER);
    expect(existsSync(out)).toBe(true);
    expect(await rowsOf(db, "synthetic_members")).toBeGreaterThan(0);
    expect(hidden()).toEqual([]);
  });
});

describe("publishing where hard links are not supported", () => {
  const noLinks = () => {
    throw Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" });
  };

  it("reserves the name exclusively and renames over it", async () => {
    publishHooks.link = noLinks;
    const target = path("nolink.txt");
    await writeFileAtomically(target, (t) => writeFileSync(t, "whole\n"), {
      flag: "--out",
      overwrite: false,
    });
    expect(readFileSync(target, "utf8")).toBe("whole\n");
    expect(hidden()).toEqual([]);
  });

  it("still refuses a file that appeared, and keeps it", async () => {
    publishHooks.link = noLinks;
    publishHooks.beforePublish = (_tmp, target) => writeFileSync(target, OTHER);
    const target = path("nolink-race.txt");
    const err = await rejection(
      writeFileAtomically(target, (t) => writeFileSync(t, "mine\n"), {
        flag: "--out",
        overwrite: false,
        keptIn: "table t of x.duckdb",
      }),
    );
    expect(err.code).toBe("OUTPUT_EXISTS");
    expect(readFileSync(target, "utf8")).toBe(OTHER);
    expect(hidden()).toEqual([]);
  });
});

describe("temporary files", () => {
  it("are unique per run: hidden, beside the target, with the process id and a random part", async () => {
    const seen: string[] = [];
    const target = path("names.csv");
    for (const _ of [1, 2]) {
      await writeFileAtomically(
        target,
        (t) => {
          seen.push(t);
          writeFileSync(t, "x\n");
        },
        { flag: "--out", overwrite: true },
      );
    }
    for (const t of seen) {
      expect(t.startsWith(join(tmp.dir, `.names.csv.${process.pid}.`))).toBe(true);
      expect(t).toMatch(/\.[0-9a-f]{8}\.tmp$/);
    }
    expect(seen[0]).not.toBe(seen[1]);
  });

  it("are removed when the write throws, and the existing file is untouched", async () => {
    const target = path("throws.csv");
    writeFileSync(target, "keep me\n");
    const boom = new Error("disk full halfway");
    await expect(
      writeFileAtomically(
        target,
        (t) => {
          writeFileSync(t, "half a fi");
          throw boom;
        },
        { flag: "--out", overwrite: true },
      ),
    ).rejects.toBe(boom);
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
    expect(hidden()).toEqual([]);
  });

  it("are removed when the process exits in the middle of the write (Ctrl-C twice: process.exit)", () => {
    const target = path("exits.csv");
    const script = `
      import { writeFileSync } from "node:fs";
      const { writeFileAtomically } = await import(${JSON.stringify(join(packageRoot, "dist", "output.js"))});
      await writeFileAtomically(${JSON.stringify(target)}, (t) => {
        writeFileSync(t, "half");
        process.exit(130);
      }, { flag: "--out", overwrite: false });`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: packageRoot,
      encoding: "utf8",
    });
    expect([child.status, child.stderr]).toEqual([130, ""]);
    expect(existsSync(target)).toBe(false);
    expect(hidden()).toEqual([]);
  });

  it("left by a process that is gone are removed by the next write to the same target; others stay", () => {
    const target = path("stale.csv");
    const dead = deadPid();
    const stale = `.stale.csv.${dead}.0badf00d.tmp`;
    const live = `.stale.csv.${process.pid}.cafef00d.tmp`; // a write of a running process
    const otherTarget = `.other.csv.${dead}.0badf00d.tmp`;
    const notOurs = ".stale.csv.tmp";
    for (const f of [stale, live, otherTarget, notOurs]) writeFileSync(path(f), "partial");
    writeTextAtomically(target, "fresh\n", { flag: "--out", overwrite: false });
    expect(readFileSync(target, "utf8")).toBe("fresh\n");
    expect([...hidden("stale.csv"), ...hidden("other.csv")].sort()).toEqual(
      [live, notOurs, otherTarget].sort(),
    );
    expect(removeStaleTemps(path("other.csv"))).toEqual([otherTarget]);
    expect(removeStaleTemps(target)).toEqual([]);
    expect([...hidden("stale.csv"), ...hidden("other.csv")].sort()).toEqual([live, notOurs].sort());
    for (const f of [live, notOurs]) rmSync(path(f));
  });
});

// Each command that writes a file, through the CLI: the same refusal, the same code, the file untouched.
// One CLI call at a time, each allowed minutes: a call takes about 1 s alone, far more on a busy machine.
describe("one overwrite policy for every command that writes", { timeout: 600_000 }, () => {
  const refusal = (file: string, flag: string) =>
    `error: ${file} already exists\n  hint: pass --overwrite to replace it, or choose another ${flag}\n`;

  it("synth --out: a temporary file left by a killed run is removed by the next run", async () => {
    const out = path("cli-stale.csv");
    const stale = `.cli-stale.csv.${deadPid()}.0badf00d.tmp`;
    writeFileSync(path(stale), "partial");
    const r = await cli(["synth", "--sql", SMALL, "--iterations", "2", "--out", out, "--quiet"]);
    expect(r.code).toBe(0);
    expect(existsSync(path(stale))).toBe(false);
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect([lines[0], lines.length]).toEqual(["c,x", 61]);
  });

  it("synth --child-out: refused by its own flag; --out and --child-out may not be one file", async () => {
    const childOut = path("cli-persons.csv");
    writeFileSync(childOut, "keep me\n");
    const args = [
      "synth",
      fixture("nested/households.csv"),
      "--child",
      fixture("nested/persons.csv"),
      "--quiet",
    ];
    const refused = await cli([
      ...args,
      "--key",
      "hhID",
      "--out",
      path("cli-hh.csv"),
      "--child-out",
      childOut,
    ]);
    expect([refused.code, refused.stderr]).toEqual([1, refusal(childOut, "--child-out")]);
    expect(readFileSync(childOut, "utf8")).toBe("keep me\n");
    const both = path("cli-both.csv");
    const same = await cli([...args, "--key", "hhID", "--out", both, "--child-out", both, "--overwrite"]);
    expect([same.code, same.stderr]).toEqual([
      1,
      `error: --out and --child-out are both ${both}\n  hint: give the members a file of their own, e.g. --child-out members.csv\n`,
    ]);
    expect(existsSync(both)).toBe(false);
  });

  it("summarize --out", async () => {
    const out = path("cli-summary.json");
    writeFileSync(out, "keep me\n");
    const refused = await cli(["summarize", ECOMMERCE, "--out", out]);
    expect([refused.code, refused.stderr]).toEqual([1, refusal(out, "--out")]);
    expect(readFileSync(out, "utf8")).toBe("keep me\n");
    const replaced = await cli(["summarize", ECOMMERCE, "--out", out, "--overwrite"]);
    expect(replaced.code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8"))).toMatchObject({ format: "synthor-summary" });
    expect(hidden("cli-summary.json")).toEqual([]);
  });

  it("eval --report", async () => {
    const report = path("cli-report.html");
    writeFileSync(report, "keep me\n");
    const args = ["eval", "--real", fixture("eval/real.csv"), "--synth", fixture("eval/synth.csv")];
    const flags = ["--no-detection", "--no-privacy", "--quiet", "--report", report];
    const refused = await cli([...args, ...flags]);
    expect([refused.code, refused.stderr]).toEqual([1, refusal(report, "--report")]);
    expect(readFileSync(report, "utf8")).toBe("keep me\n");
    const replaced = await cli([...args, ...flags, "--overwrite"]);
    expect(replaced.code).toBe(0);
    expect(readFileSync(report, "utf8")).toMatch(/^<!DOCTYPE html>/);
    expect(hidden("cli-report.html")).toEqual([]);
  });

  it("macros --install: another definition of one of its macros is refused; the same version is not", async () => {
    const file = path("cli-macros.duckdb");
    const mine = "create macro synthor_tvd(a, b) as table select 42 as mine";
    const instance = await DuckDBInstance.create(file);
    const connection = await instance.connect();
    await connection.run(mine);
    connection.closeSync();
    instance.closeSync();
    const definition = async () => {
      const db = await Db.open(file, { readOnly: true, threads: 1 });
      try {
        const [row] = await db.all<{ d: string }>(
          "select macro_definition as d from duckdb_functions() where function_name = 'synthor_tvd' and database_name = current_database()",
        );
        return row?.d;
      } finally {
        db.close();
      }
    };

    const refused = await cli(["macros", "--install", file]);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      `error: ${file} already holds a macro of the same name with another definition (another synthor version's, or your own): synthor_tvd\n` +
        "  hint: pass --overwrite to replace it, or choose another --install file\n",
    ]);
    expect(await definition()).toBe("SELECT 42 AS mine");

    const replaced = await cli(["macros", "--install", file, "--overwrite"]);
    expect(replaced.code).toBe(0);
    expect(replaced.stderr).toMatch(
      new RegExp(`^installed \\d+ macros into ${file}, replacing synthor_tvd\\n$`),
    );
    expect(await definition()).not.toBe("SELECT 42 AS mine");

    // The same version again: nothing to replace, nothing refused.
    const again = await cli(["macros", "--install", file]);
    expect([again.code, again.stderr]).toEqual([
      0,
      expect.stringMatching(/^installed \d+ macros into .*\n$/),
    ]);
  });
});
