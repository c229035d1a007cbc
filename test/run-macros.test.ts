/**
 * A database synthor writes results into carries the macros: a plain DuckDB session on it (no synthor,
 * nothing loaded) can call them, as README.md ("The macros") says. Every check opens the file with
 * @duckdb/node-api alone, which is the engine of the DuckDB CLI.
 */

import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { macroNames } from "../src/db/files.ts";
import { synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { cli, linkedSource, tempDir } from "./helpers.ts";

const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const path = (name: string) => join(tmp.dir, name);

/** Runs SQL in a plain DuckDB session on `file` and returns the rows as JSON values. */
async function plain(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The synthor_ macros the file holds, with their definitions. */
async function macrosIn(file: string): Promise<Record<string, unknown>[]> {
  return plain(
    file,
    `select function_name, macro_definition from duckdb_functions()
     where database_name = current_database() and starts_with(function_name, 'synthor_')
     order by all`,
  );
}

/** `synthor_frequency` in the plain session against the same counts written out in SQL. */
async function expectFrequencyWorks(file: string, table: string, column: string): Promise<void> {
  const viaMacro = await plain(
    file,
    `select value, n from synthor_frequency('${table}', '${column}') order by all`,
  );
  const direct = await plain(
    file,
    `select "${column}"::varchar as value, count(*) as n from "${table}" group by all order by all`,
  );
  expect(viaMacro.length).toBeGreaterThan(1);
  expect(viaMacro).toEqual(direct);
}

function flat(db: string, extra: Partial<SynthOptions> = {}): SynthOptions {
  return {
    source: { kind: "file", path: ECOMMERCE },
    db,
    threads: 1,
    rows: 60,
    iterations: 3,
    seed: 2,
    planner: (d, s) => new StatsPlanner(d, s, { seed: 2 }),
    ...extra,
  };
}

describe("the run database carries the macros", () => {
  it("synth --db: every macro, callable in a plain session; a second run changes none of them", async () => {
    const db = path("flat.duckdb");
    const warnings: string[] = [];
    const onProgress: SynthOptions["onProgress"] = (e) => {
      if (e.kind === "warning") warnings.push(e.message);
    };
    await synthesize(flat(db, { onProgress }));
    const first = await macrosIn(db);
    expect([...new Set(first.map((m) => m.function_name))]).toEqual([...macroNames()].sort());
    await expectFrequencyWorks(db, "synthetic", "gender");

    await synthesize(flat(db, { seed: 3, onProgress }));
    expect(await macrosIn(db)).toEqual(first);
    expect(warnings).toEqual([]);
  }, 120_000);

  it("synth --resume installs them in a database that lacks them", async () => {
    const db = path("resume.duckdb");
    const controller = new AbortController();
    const interrupted = await synthesize(
      flat(db, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind === "phase" && e.phase === "planning" && e.iteration === 2) controller.abort();
        },
      }),
    );
    expect(interrupted.stoppedBecause).toBe("interrupted");
    // As a database from before run databases carried the macros.
    const drops = (await macrosIn(db)).map(
      (m) => `drop macro table if exists ${m.function_name}; drop macro if exists ${m.function_name};`,
    );
    await plain(db, drops.join("\n"));
    expect(await macrosIn(db)).toEqual([]);

    const resumed = await synthesize(flat(db, { resume: true }));
    expect(resumed.stoppedBecause).toBe("rows");
    await expectFrequencyWorks(db, "synthetic", "gender");
  }, 120_000);

  it("survive the rewrite of the file that clears real rows a --keep-real run kept", async () => {
    const db = path("kept.duckdb");
    await synthesize(flat(db, { keepReal: true }));
    expect(
      await plain(db, "select count(*) as n from duckdb_tables() where table_name = 'synthor_real'"),
    ).toEqual([{ n: "1" }]);
    const macros = await macrosIn(db);
    await synthesize(flat(db, { seed: 3 }));
    expect(
      await plain(db, "select count(*) as n from duckdb_tables() where table_name = 'synthor_real'"),
    ).toEqual([{ n: "0" }]);
    expect(await macrosIn(db)).toEqual(macros);
    await expectFrequencyWorks(db, "synthetic", "gender");
  }, 120_000);

  it("leaves a macro of the same name with another definition, and says how to replace it", async () => {
    const db = path("mine.duckdb");
    await plain(db, "create macro synthor_tvd(a, b) as table select 42 as mine");
    const warnings: string[] = [];
    await synthesize(
      flat(db, {
        onProgress: (e) => {
          if (e.kind === "warning") warnings.push(e.message);
        },
      }),
    );
    expect(warnings).toEqual([
      `${db} holds a macro of synthor's with another definition (another synthor version's, or your own), left as it is: synthor_tvd; to replace it with this version's: synthor macros --install ${db} --overwrite`,
    ]);
    expect(await plain(db, "from synthor_tvd('x', 'y')")).toEqual([{ mine: 42 }]);
    await expectFrequencyWorks(db, "synthetic", "gender");
  }, 120_000);

  it("a nested run's database", async () => {
    const db = path("nested.duckdb");
    await synthesizeNested({
      source: linkedSource(),
      db,
      threads: 1,
      iterations: 2,
      rows: 20,
      seed: 1,
      planner: (d, s) => new NestedStatsPlanner(d, s, { seed: 1 }),
    });
    await expectFrequencyWorks(db, "synthetic_members", "sex");
  }, 120_000);

  it("summarize --db and profile --db", async () => {
    for (const command of ["summarize", "profile"]) {
      const db = path(`${command}.duckdb`);
      const { code, stderr } = await cli([command, ECOMMERCE, "--db", db]);
      expect([code, stderr]).toEqual([0, ""]);
      await plain(db, `create table t as from read_csv('${ECOMMERCE}')`);
      await expectFrequencyWorks(db, "t", "gender");
    }
  }, 120_000);
});
