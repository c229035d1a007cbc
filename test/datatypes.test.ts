/**
 * Valid data never crashes and no column disappears silently (issue 12, section 3): non-finite floats,
 * integers beyond 2^53, and every DuckDB type are modelled and written back in the input's type, or
 * refused by name with the option that leaves them out. Inputs are small tables built in DuckDB SQL.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { cli, tempDir } from "./helpers.ts";

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

function options(sql: string, extra: Partial<SynthOptions> = {}): SynthOptions {
  return {
    source: { kind: "sql", sql },
    seed: 1,
    rows: 400,
    iterations: 4,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed: 1 }),
    ...extra,
  };
}

/** Synthesizes `sql` into a fresh database file and runs `fn` on it. */
async function synthInto<T>(name: string, sql: string, fn: (db: Db) => Promise<T>, extra = {}): Promise<T> {
  const file = path(`${name}.duckdb`);
  await synthesize(options(sql, { db: file, ...extra }));
  const db = await Db.open(file);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

async function types(db: Db, table: string): Promise<Record<string, string>> {
  const rows = await db.all<{ column_name: string; column_type: string }>(`describe ${table}`);
  return Object.fromEntries(rows.map((r) => [r.column_name, r.column_type]));
}

describe("NaN, Infinity and -Infinity in a DOUBLE column", () => {
  // 10% each of NaN, Infinity and -Infinity, 5% NULL, the rest spread over 0 ... 100.
  const sql = `select case when range % 20 < 2 then 'nan'::double when range % 20 < 4 then 'inf'::double
                            when range % 20 < 6 then '-inf'::double when range % 20 = 6 then null
                            else (hash(range) % 1000) / 10.0 end as x,
                       ['a', 'b'][range % 2 + 1] as g
                from range(400)`;
  it("models them as cells of their own and writes them back as DOUBLE, in their real shares", async () => {
    const result = await synthInto("nan", sql, async (db) => ({
      types: await types(db, "synthetic"),
      shares: await db.all<{ k: string; n: number }>(
        `select case when isnan(x) then 'NaN' when x = 'inf'::double then 'Infinity'
                     when x = '-inf'::double then '-Infinity' when x is null then 'NULL' else 'finite' end as k,
                count(*)::integer as n
         from synthetic group by all order by k`,
      ),
    }));
    expect(result.types.x).toBe("DOUBLE");
    expect(result.shares).toEqual([
      { k: "-Infinity", n: 40 },
      { k: "Infinity", n: 40 },
      { k: "NULL", n: 20 },
      { k: "NaN", n: 40 },
      { k: "finite", n: 260 },
    ]);
  });

  it("keeps FLOAT columns with them too", async () => {
    const float = `select case when range % 10 = 0 then 'nan'::float else (range % 97)::float / 4 end as f,
                          range % 3 as g from range(300)`;
    const t = await synthInto("float", float, (db) => types(db, "synthetic"), { rows: 100 });
    expect(t.f).toBe("FLOAT");
  });
});

describe("integers beyond 2^53", () => {
  // Half the rows hold the largest value of the type exactly (a point mass), the rest spread below it.
  const cases: [string, string][] = [
    ["BIGINT", "9223372036854775807"],
    ["UBIGINT", "18446744073709551615"],
    ["HUGEINT", "170141183460469231731687303715884105727"],
    ["UHUGEINT", "340282366920938463463374607431768211455"],
  ];
  for (const [type, max] of cases) {
    it(`models ${type} near its maximum and writes it back as ${type}, exact`, async () => {
      const sql = `select case when range % 2 = 0 then ${max}::${type}
                               else ${max}::${type} - ((hash(range) % 100000) * 1000)::${type} end as v,
                          ['a', 'b'][range % 2 + 1] as g
                   from range(400)`;
      const out = await synthInto(`big-${type}`, sql, async (db) => ({
        types: await types(db, "synthetic"),
        // The point mass at the maximum comes back exactly: through a plain DOUBLE it would be 2^63 (2^64,
        // ...), out of the type's range, and every value near it would lose its last digits.
        stats: await db.all<{ at_max: number; below: number }>(
          `select count(*) filter (where v = ${max}::${type})::integer as at_max,
                  count(*) filter (where v < ${max}::${type})::integer as below
           from synthetic`,
        ),
      }));
      expect(out.types.v).toBe(type);
      expect(out.stats[0]?.at_max).toBeGreaterThan(150);
      expect(out.stats[0]?.below).toBeGreaterThan(150);
    });
  }

  it("writes a small HUGEINT to Parquet as DECIMAL(38,0), not DOUBLE, with the same values", async () => {
    const sql = "select (range * 7 % 150)::hugeint as h, range % 3 as g from range(200)";
    const out = path("small-huge.parquet");
    await synthesize(options(sql, { db: path("small-huge.duckdb"), out, rows: 100 }));
    const db = await Db.open(path("small-huge.duckdb"));
    try {
      expect((await types(db, `'${out}'`)).h).toBe("DECIMAL(38,0)");
      const [row] = await db.all<{ differ: number }>(
        `select count(*)::integer as differ from (select h::varchar from '${out}' except all select h::varchar from synthetic)`,
      );
      expect(row?.differ).toBe(0);
    } finally {
      db.close();
    }
  });
});

describe("every other type", () => {
  const sql = `select range % 4 as g,
      '\\x00\\x01'::blob || (range % 3)::varchar::blob as bl,
      [range % 3, 1] as li,
      {'a': range % 2, 's': 'it''s'} as st,
      map {'k': range % 5} as mp,
      '12:34:56'::time + to_seconds(range * 37) as t,
      to_days(range % 9) + to_hours(range % 5) as iv,
      ['6f9619ff-8b86-d011-b42d-00c04fc964ff', '00000000-0000-0000-0000-000000000001'][range % 2 + 1]::uuid as u,
      (range % 2)::varchar::bit as bt,
      ['x', 'y'][range % 2 + 1]::enum('x', 'y') as en,
      timestamptz '2024-01-01 00:00:00+00' + to_minutes(range * 17) as tz,
      '12:34:56+02'::timetz + to_minutes(range % 3) as ttz,
      [range % 2, 2]::integer[2] as arr
    from range(200)`;
  it("writes every column back in its type: numbers for TIME and INTERVAL, categories of their text for the rest", async () => {
    const out = await synthInto(
      "types",
      sql,
      async (db) => {
        await db.exec(`create table real as ${sql}`);
        const notReal: Record<string, number> = {};
        for (const c of ["bl", "li", "st", "mp", "u", "bt", "en", "ttz", "arr"]) {
          const [r] = await db.all<{ n: number }>(
            `select count(*)::integer as n from synthetic where "${c}" not in (select "${c}" from real)`,
          );
          notReal[c] = r?.n ?? -1;
        }
        const [ranges] = await db.all<{ t_in: boolean; iv_in: boolean; whole: boolean }>(
          `select bool_and(t between '12:34:56'::time and '14:37:39'::time) as t_in,
                  bool_and(iv between interval 0 days and interval '8 days 4 hours') as iv_in,
                  bool_and(epoch(iv) % 1 = 0 and epoch(t) % 1 = 0) as whole
           from synthetic`,
        );
        return { real: await types(db, "real"), synth: await types(db, "synthetic"), notReal, ranges };
      },
      { rows: 60 },
    );
    expect(out.synth).toEqual(out.real);
    expect(out.notReal).toEqual({ bl: 0, li: 0, st: 0, mp: 0, u: 0, bt: 0, en: 0, ttz: 0, arr: 0 });
    expect(out.ranges).toEqual({ t_in: true, iv_in: true, whole: true });
  });

  it("refuses by name, with --ignore, a column whose text does not cast back (UNION)", async () => {
    const union = "select union_value(n := (range % 3)::integer) as un, range % 2 as g from range(50)";
    const err = await synthesize(options(union, { rows: 10 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthorError);
    expect((err as SynthorError).message).toBe(
      'column "un" (UNION(n INTEGER)) cannot be carried as its text: DuckDB cannot cast text back to this type',
    );
    expect((err as SynthorError).hint).toBe(
      'leave it out with --ignore un, or turn it into a type synthor models with --sql "select * replace (un::varchar as un) from ..."',
    );
    const ok = await synthesize(options(union, { rows: 10, profile: { ignore: ["un"] } }));
    expect(ok.rows).toBe(10);
  });

  it("refuses by name a nearly unique LIST, which cannot be regenerated like a text identifier", async () => {
    const lists = "select [range, range + 1] as li, range % 2 as g from range(50)";
    const err = await synthesize(options(lists, { rows: 10 })).catch((e: unknown) => e);
    expect((err as SynthorError).message).toBe(
      'column "li" (BIGINT[]) has a different value in nearly every row (50 distinct in 50); synthor cannot make fresh values of this type',
    );
    expect((err as SynthorError).hint).toBe(
      "leave it out with --ignore li, or copy real values as categories with --categorical li",
    );
  });
});

describe("the CLI", () => {
  it("says which CSV columns DuckDB renamed, on stderr and in --json", async () => {
    const csv = path("renamed.csv");
    writeFileSync(
      csv,
      `Amount,amount,,x\n${Array.from({ length: 40 }, (_, i) => `${i % 5},${i % 3},${i % 2},${i % 4}`).join("\n")}\n`,
    );
    const r = await cli(["synth", csv, "--rows", "10", "--iterations", "2", "--quiet", "--json"]);
    expect(r.code).toBe(0);
    const warning = `${csv}: 2 columns were renamed by the CSV reader (names must be unique, case aside, and not empty): "amount" is column "amount_1", (empty header) is column "column2"; the output uses the new names`;
    expect(r.stderr).toContain(`synthor: warning: ${warning}\n`);
    expect(JSON.parse(r.stdout).warnings).toEqual([warning]);
  });

  it("names the process that holds a locked --db and the fix, exit 1 (not internal error 70)", async () => {
    const file = path("locked.duckdb");
    const holder = await Db.open(file);
    try {
      const r = await cli(["synth", "examples/ecommerce/ecommerce.csv", "--db", file, "--rows", "10"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: the database ${file} is in use by another process (`);
      expect(r.stderr).toContain(`PID ${process.pid})\n`);
      expect(r.stderr).toContain(
        "hint: DuckDB lets one process write a database file at a time: wait for that process to finish or close it (another synthor run, or a DuckDB session with the file open), or pass another --db\n",
      );
    } finally {
      holder.close();
    }
  });

  // /proc is a directory in which no file can be created, even by root (permissions would not stop root).
  const unwritable = (name: string) => `/proc/${name}`;
  it("finds an --out directory that cannot be written before the loop (synth)", async () => {
    const r = await cli([
      "synth",
      "examples/ecommerce/ecommerce.csv",
      "--rows",
      "10",
      "--out",
      unwritable("s.csv"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("iteration");
    expect(r.stderr).toMatch(
      /error: cannot write \/proc\/s\.csv: no file can be created in \/proc \((ENOENT|EACCES|EPERM)\)\n {2}hint: choose another --out in a directory you can write\n/,
    );
  });

  it("finds it before summarizing (summarize --out) and before evaluating (eval --report)", async () => {
    const s = await cli(["summarize", "examples/ecommerce/ecommerce.csv", "--out", unwritable("s.json")]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/error: cannot write \/proc\/s\.json: no file can be created in \/proc/);
    const real = "examples/ecommerce/ecommerce.csv";
    const e = await cli(["eval", "--real", real, "--synth", real, "--report", path("no/dir/r.html")]);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe(
      `error: cannot write ${path("no/dir/r.html")}: the directory ${path("no/dir")} does not exist\n  hint: create it first, or choose another --report\n`,
    );
    const p = await cli(["eval", "--real", real, "--synth", real, "--report", unwritable("r.html")]);
    expect(p.code).toBe(1);
    expect(p.stderr).not.toContain("synthor: fidelity");
  });
});
