/**
 * The run database holds no real rows (issue 12, section 5): after a run, whatever way it ended, no
 * relation of --db holds a real row, and neither do the bytes of the file; --keep-real keeps them;
 * --resume reads the source again and refuses one whose rows changed.
 *
 * The planted values sit where only row-level tables can hold them: a text in a column of unique values
 * (an identifier, regenerated in the output) and a number in the middle of a numeric column (the
 * quantile grids hold interpolated quantiles and the real minimum and maximum, not inner values). What
 * the aggregates themselves reveal is documented in the README; this file is about rows.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";
import type { SynthorError } from "../src/errors.ts";
import { synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { cli, fixture, linkedSource, tempDir } from "./helpers.ts";

const TEXT = "ZZPLANTEDNOTE4821";
const NUMBER = 123.456789012;
/** The same row in the nested fixtures: a household's note and weight, a person's pweight. */
const HOME = "ZZPLANTEDHOME5512";
const HOME_WEIGHT = 31.234567891;
const PERSON_WEIGHT = 27.987654321;

/** What a finished flat run leaves in --db: the README's table, and nothing with a row per real row. */
const FLAT_TABLES = [
  "synthetic",
  "synthor_bins",
  "synthor_edges",
  "synthor_grid",
  "synthor_iterations",
  "synthor_proposals",
  "synthor_real_counts",
  "synthor_real_fine",
  "synthor_runs",
  "synthor_synth_counts",
  "synthor_synth_fine",
  "synthor_synth_model",
  "synthor_targets",
];
const KEPT_FLAT = ["synthor_real", "synthor_real_codes", "synthor_real_fine_codes", "synthor_real_model"];

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);

/** 400 rows: a unique text per row (an identifier), an age, a city, an amount; row 200 is the planted one. */
function plantedCsv(): string {
  const cities = ["Paris", "Rome", "Oslo", "Lima"];
  const lines = ["note,age,city,amount"];
  for (let i = 0; i < 400; i++) {
    const note = i === 200 ? TEXT : `note-${String((i * 7919) % 100003).padStart(6, "0")}`;
    const amount = i === 200 ? NUMBER : (10 + ((i * 389) % 49000) / 100).toFixed(2);
    lines.push(`${note},${18 + ((i * 37) % 63)},${cities[(i * 13) % 4]},${amount}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The nested fixtures with a planted household (note, weight) and a planted person's weight. */
function plantNested(): { households: string; persons: string } {
  const hh = readFileSync(fixture("nested/households.csv"), "utf8").trimEnd().split("\n");
  const households = [
    `${hh[0]},note`,
    ...hh.slice(1).map((line, i) => {
      const cells = line.split(",");
      if (i === 30) cells[5] = String(HOME_WEIGHT);
      return `${cells.join(",")},${i === 30 ? HOME : `home-${String((i * 7919) % 100003).padStart(6, "0")}`}`;
    }),
  ];
  const pp = readFileSync(fixture("nested/persons.csv"), "utf8").trimEnd().split("\n");
  const persons = [
    pp[0],
    ...pp.slice(1).map((line, i) => {
      const cells = line.split(",");
      if (i === 60) cells[7] = String(PERSON_WEIGHT);
      return cells.join(",");
    }),
  ];
  writeFileSync(path("hh.csv"), `${households.join("\n")}\n`);
  writeFileSync(path("pp.csv"), `${persons.join("\n")}\n`);
  return { households: path("hh.csv"), persons: path("pp.csv") };
}

function options(extra: Partial<SynthOptions>): SynthOptions {
  return {
    source: { kind: "file", path: path("planted.csv") },
    rows: 200,
    iterations: 8,
    seed: 3,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed: 3 }),
    ...extra,
  };
}

/** The tables and views of a database file, by name. */
async function relations(file: string): Promise<string[]> {
  const db = await Db.open(file, { readOnly: true });
  try {
    const rows = await db.all<{ name: string }>(
      `select table_name as name from information_schema.tables
       where table_catalog = current_database() order by table_name`,
    );
    return rows.map((r) => r.name);
  } finally {
    db.close();
  }
}

/** The relations of a database file with a row whose text holds one of `needles`. */
async function holding(file: string, needles: string[]): Promise<string[]> {
  const db = await Db.open(file, { readOnly: true });
  try {
    const names = await db.all<{ name: string }>(
      `select table_name as name from information_schema.tables
       where table_catalog = current_database() order by table_name`,
    );
    const found: string[] = [];
    for (const { name } of names) {
      const [row] = await db.all<{ n: number }>(
        `select count(*) as n from "${name.replaceAll('"', '""')}" as t
         where ${needles.map((_, i) => `contains(t::varchar, $n${i})`).join(" or ")}`,
        Object.fromEntries(needles.map((n, i) => [`n${i}`, n])),
      );
      if ((row?.n ?? 0) > 0) found.push(name);
    }
    return found;
  } finally {
    db.close();
  }
}

/** Which of the planted texts and numbers (as their 8 bytes) the file and its write-ahead log hold. */
function inBytes(file: string, texts: string[], numbers: number[]): string[] {
  const data = Buffer.concat([file, `${file}.wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
  const double = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    return b;
  };
  return [
    ...texts.filter((t) => data.includes(Buffer.from(t))),
    ...numbers.filter((x) => data.includes(double(x))).map(String),
  ];
}

const run = promisify(execFile);

beforeAll(() => {
  tmp = tempDir();
  writeFileSync(path("planted.csv"), plantedCsv());
});
afterAll(() => tmp?.cleanup());

describe("the run database holds no real rows", () => {
  it("after a finished run: no relation holds a real row, and no byte of the file does", async () => {
    const db = path("finished.duckdb");
    const r = await synthesize(options({ db }));
    expect(r.stoppedBecause).toBe("rows");
    expect(await relations(db)).toEqual(FLAT_TABLES);
    expect(await holding(db, [TEXT, String(NUMBER)])).toEqual([]);
    expect(inBytes(db, [TEXT], [NUMBER])).toEqual([]);
  }, 180_000);

  it("--keep-real keeps them; the next run without it drops them and rewrites the file without their bytes", async () => {
    const db = path("kept.duckdb");
    const kept = await cli([
      "synth",
      path("planted.csv"),
      "--db",
      db,
      "--rows",
      "200",
      "--iterations",
      "8",
      "--keep-real",
      "--quiet",
    ]);
    expect(kept).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await relations(db)).toEqual([...FLAT_TABLES, ...KEPT_FLAT].sort());
    expect(await holding(db, [TEXT, String(NUMBER)])).toEqual(["synthor_real", "synthor_real_model"]);
    expect(inBytes(db, [TEXT], [NUMBER])).toEqual([TEXT, String(NUMBER)]);

    // The user's own objects in the file survive the rewrite.
    const own = await Db.open(db);
    try {
      await own.exec(`create table orders as select range as id, 'order ' || range as label from range(3);
         create view big_orders as select * from orders where id > 0;
         create macro twice(x) as 2 * x;
         comment on table orders is 'mine'`);
    } finally {
      own.close();
    }
    await synthesize(options({ db }));
    expect(await relations(db)).toEqual([...FLAT_TABLES, "big_orders", "orders"].sort());
    expect(await holding(db, [TEXT, String(NUMBER)])).toEqual([]);
    expect(inBytes(db, [TEXT], [NUMBER])).toEqual([]);
    const again = await Db.open(db, { readOnly: true });
    try {
      expect(
        await again.all(
          "select (select count(*) from big_orders)::integer as n, twice(21) as t, (select comment from duckdb_tables() where table_name = 'orders') as c",
        ),
      ).toEqual([{ n: 2, t: 42, c: "mine" }]);
    } finally {
      again.close();
    }
  }, 180_000);

  it("after Ctrl-C and after an error too; --resume reads the source again to the uninterrupted table", async () => {
    await synthesize(options({ out: path("whole.csv") }));
    const db = path("stopped.duckdb");
    let checks = 0;
    const stopped = await synthesize(options({ db, shouldStop: () => ++checks > 3 }));
    expect([stopped.stoppedBecause, stopped.iterations]).toEqual(["interrupted", 3]);
    expect(await holding(db, [TEXT, String(NUMBER)])).toEqual([]);
    expect(inBytes(db, [TEXT], [NUMBER])).toEqual([]);
    const resumed = await synthesize(options({ db, resume: true, out: path("resumed.csv") }));
    expect(resumed.stoppedBecause).toBe("rows");
    expect(readFileSync(path("resumed.csv"), "utf8")).toBe(readFileSync(path("whole.csv"), "utf8"));

    const failed = path("failed.duckdb");
    const failing = synthesize(
      options({
        db: failed,
        planner: (d, summary) => {
          const planner = new StatsPlanner(d, summary, { seed: 3 });
          const plan = planner.plan.bind(planner);
          planner.plan = async (context) => {
            if (context.iteration === 3) throw new Error("the planner broke");
            return plan(context);
          };
          return planner;
        },
      }),
    );
    await expect(failing).rejects.toThrow("the planner broke");
    expect(await holding(failed, [TEXT, String(NUMBER)])).toEqual([]);
    expect(inBytes(failed, [TEXT], [NUMBER])).toEqual([]);
  }, 240_000);

  it("killed with SIGKILL mid-run, the file never held them; the next run removes rows DuckDB spilled", async () => {
    const db = path("killed.duckdb");
    // The run kills itself once its second iteration is committed: a kill -9 at a point the program picks.
    const script = path("kill.mjs");
    writeFileSync(
      script,
      `import { synthesize } from ${JSON.stringify(join(packageRoot, "dist/pipeline.js"))};
       import { StatsPlanner } from ${JSON.stringify(join(packageRoot, "dist/planners/stats.js"))};
       await synthesize({
         source: { kind: "file", path: ${JSON.stringify(path("planted.csv"))} },
         db: ${JSON.stringify(db)}, rows: 200, iterations: 8, seed: 3,
         planner: (db, summary) => new StatsPlanner(db, summary, { seed: 3 }),
         onProgress: (e) => { if (e.kind === "iteration" && e.iteration === 2) process.kill(process.pid, "SIGKILL"); },
       });`,
    );
    const killed = await run(process.execPath, [script], { cwd: packageRoot }).catch(
      (err: { signal?: string }) => err,
    );
    expect((killed as { signal?: string }).signal, (killed as { stderr?: string }).stderr).toBe("SIGKILL");
    expect(inBytes(db, [TEXT], [NUMBER])).toEqual([]);
    expect(await holding(db, [TEXT, String(NUMBER)])).toEqual([]);

    // What DuckDB spills of temporary tables when memory runs short stays on disk after a kill -9; the
    // next run on the file deletes it before it starts.
    mkdirSync(`${db}.tmp`);
    writeFileSync(`${db}.tmp/duckdb_temp_storage_DEFAULT-0.tmp`, `${TEXT}\n`);
    const resumed = await synthesize(options({ db, resume: true, out: path("killed.csv") }));
    expect(resumed.stoppedBecause).toBe("rows");
    expect(existsSync(`${db}.tmp`)).toBe(false);
    await synthesize(options({ out: path("whole-again.csv") }));
    expect(readFileSync(path("killed.csv"), "utf8")).toBe(readFileSync(path("whole-again.csv"), "utf8"));
  }, 240_000);

  it("--resume refuses a source whose rows changed since the interrupted run", async () => {
    const csv = path("changing.csv");
    writeFileSync(csv, plantedCsv());
    const db = path("changing.duckdb");
    const source = { kind: "file" as const, path: csv };
    let checks = 0;
    await synthesize(options({ source, db, shouldStop: () => ++checks > 1 }));
    const message = async () => {
      try {
        await synthesize(options({ source, db, resume: true }));
        return "resumed";
      } catch (err) {
        return (err as SynthorError).describe();
      }
    };
    writeFileSync(csv, plantedCsv().replace("Paris", "Pariss"));
    expect(await message()).toBe(
      `error: ${csv} changed since the interrupted run: the same 400 rows, but other values\n` +
        "  hint: resume with the data the run started from (the database does not keep the real rows), or start over without --resume",
    );
    writeFileSync(csv, `${plantedCsv()}note-x,40,Rome,55.5\n`);
    expect(await message()).toBe(
      `error: ${csv} changed since the interrupted run: it had 400 rows, now 401\n` +
        "  hint: resume with the data the run started from (the database does not keep the real rows), or start over without --resume",
    );
    writeFileSync(csv, plantedCsv());
    expect(await message()).toBe("resumed");
  }, 180_000);

  it("a --table source that is the user's own table stays", async () => {
    const db = path("own.duckdb");
    const setup = await Db.open(db);
    try {
      await setup.exec(
        `create table synthor_real as from read_csv(${`'${path("planted.csv").replaceAll("'", "''")}'`})`,
      );
    } finally {
      setup.close();
    }
    await synthesize(options({ db, source: { kind: "table", table: "synthor_real" } }));
    expect(await relations(db)).toEqual([...FLAT_TABLES, "synthor_real"].sort());
    expect(await holding(db, [TEXT])).toEqual(["synthor_real"]);
  }, 180_000);
});

describe("nested runs", () => {
  it("leave no real households or members in --db; --keep-real keeps them", async () => {
    const { households, persons } = plantNested();
    const nested = (db: string, keepReal: boolean) =>
      synthesizeNested({
        source: linkedSource(households, persons),
        db,
        iterations: 3,
        seed: 1,
        keepReal,
        planner: (d, summary) => new NestedStatsPlanner(d, summary, { seed: 1 }),
      });
    const needles = [HOME, String(HOME_WEIGHT), String(PERSON_WEIGHT)];
    await nested(path("nested.duckdb"), false);
    expect(await relations(path("nested.duckdb"))).toEqual(
      [
        ...FLAT_TABLES,
        "synthetic_members",
        "synthor_nested_composition_order",
        "synthor_nested_compositions",
        "synthor_nested_fidelity",
        "synthor_nested_synth_members",
      ].sort(),
    );
    expect(await holding(path("nested.duckdb"), needles)).toEqual([]);
    expect(inBytes(path("nested.duckdb"), [HOME], [HOME_WEIGHT, PERSON_WEIGHT])).toEqual([]);

    await nested(path("nested-kept.duckdb"), true);
    expect(await holding(path("nested-kept.duckdb"), needles)).toEqual([
      "synthor_nested_households",
      "synthor_nested_members",
      "synthor_nested_real_aug",
      "synthor_nested_real_member_model",
      "synthor_real_households",
      "synthor_real_members",
      "synthor_real_model",
    ]);
    expect(inBytes(path("nested-kept.duckdb"), [HOME], [HOME_WEIGHT, PERSON_WEIGHT])).toEqual([
      HOME,
      String(HOME_WEIGHT),
      String(PERSON_WEIGHT),
    ]);
  }, 180_000);
});

describe("summarize and profile with --db", () => {
  it("keep their summaries there, but no real row", async () => {
    const db = path("summaries.duckdb");
    const summarized = await cli(["summarize", path("planted.csv"), "--db", db]);
    expect(summarized.code, summarized.stderr).toBe(0);
    const profiled = await cli(["profile", path("planted.csv"), "--db", db]);
    expect(profiled.code, profiled.stderr).toBe(0);
    expect(await relations(db)).toEqual([
      "synthor_bins",
      "synthor_edges",
      "synthor_grid",
      "synthor_real_counts",
      "synthor_real_fine",
      "synthor_synth_counts",
      "synthor_synth_fine",
    ]);
    expect(await holding(db, [TEXT, String(NUMBER)])).toEqual([]);
    expect(inBytes(db, [TEXT], [NUMBER])).toEqual([]);
  }, 180_000);
});
