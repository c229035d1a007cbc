import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { writeOutputFile } from "../src/output.ts";
import { type SynthOptions, type SynthResult, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { tempDir } from "./helpers.ts";

// 600 rows with one column of each kind the output has to restore. The values come from hash(), so the
// table is the same on every run without a fixture file.
const MIXED = `
select
    'order-' || lpad(range::varchar, 5, '0') as order_code,                      -- unique text: identifier
    range + 1 as id,                                                               -- 1 ... 600: a key
    date '2023-01-01' + (hash(range, 1) % 365)::integer as day,
    timestamp '2023-03-01 00:00:00' + to_seconds((hash(range, 2) % (86400 * 30))::bigint) as seen_at,
    hash(range, 3) % 3 = 0 as active,
    (hash(range, 4) % 5)::integer as stars,                                       -- 5 values: categorical
    'EU' as region,                                                                -- constant
    round((hash(range, 5) % 100000) / 100.0, 2)::double as price,                 -- 2 decimals
    case when hash(range, 6) % 10 < 3 then null
         else (hash(range, 7) % 1000)::double / 10 end as score,                  -- 30% NULL
    case when hash(range, 8) % 5 = 0 then null
         else ['x', 'y', 'z'][(hash(range, 9) % 3)::integer + 1] end as grade     -- 20% NULL
from range(600)`;
const COLUMNS = [
  ["order_code", "VARCHAR"],
  ["id", "BIGINT"],
  ["day", "DATE"],
  ["seen_at", "TIMESTAMP"],
  ["active", "BOOLEAN"],
  ["stars", "INTEGER"],
  ["region", "VARCHAR"],
  ["price", "DOUBLE"],
  ["score", "DOUBLE"],
  ["grade", "VARCHAR"],
];
/** The real rows, for comparing with the output: the run's database does not keep them. */
const REAL = `(${MIXED}\n)`;
const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const ITERATIONS = 10;

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);

function options(extra: Partial<SynthOptions> & Pick<SynthOptions, "source">): SynthOptions {
  const seed = extra.seed ?? 1;
  return {
    seed,
    planner: (db, summary) => new StatsPlanner(db, summary, { seed }),
    ...extra,
  };
}

/** Runs `fn` on a database file a run left behind, and closes it. */
async function inDb<T>(file: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await Db.open(file, { threads: 2 });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

// The main run (a), the same run on one thread (b) and with another seed (c), concurrently.
let a: SynthResult;
let b: SynthResult;
let c: SynthResult;
const mixed = (extra: Partial<SynthOptions>) =>
  options({ source: { kind: "sql", sql: MIXED }, rows: 300, iterations: ITERATIONS, ...extra });
beforeAll(async () => {
  tmp = tempDir();
  [a, b, c] = await Promise.all([
    synthesize(mixed({ db: path("a.duckdb"), threads: 2, out: path("a.csv") })),
    synthesize(mixed({ db: path("b.duckdb"), threads: 1, out: path("b.parquet") })),
    synthesize(mixed({ db: path("c.duckdb"), threads: 2, seed: 2, out: path("c.csv") })),
  ]);
});
afterAll(() => tmp?.cleanup());

describe("synthesize", () => {
  it("reaches --rows exactly, in the table and the file", async () => {
    expect([a.rows, a.iterations, a.stoppedBecause]).toEqual([300, ITERATIONS, "rows"]);
    expect(readFileSync(path("a.csv"), "utf8").trimEnd().split("\n")).toHaveLength(301);
    const [row] = await inDb(path("a.duckdb"), (db) =>
      db.all<{ n: number }>("select count(*)::integer as n from synthetic"),
    );
    expect(row?.n).toBe(300);
    expect(a.outFile).toBe(path("a.csv"));
    expect(a.outTable).toBe("synthetic");
  });

  it("writes the real columns, in the real order, in the real types", async () => {
    const columns = await inDb(path("a.duckdb"), (db) =>
      db.all<{ column_name: string; column_type: string }>("describe synthetic"),
    );
    expect(columns.map((x) => [x.column_name, x.column_type])).toEqual(COLUMNS);
    expect(readFileSync(path("a.csv"), "utf8").split("\n")[0]).toBe(COLUMNS.map((x) => x[0]).join(","));
  });

  it("regenerates identifiers as fresh unique values: text, and a dense integer key", async () => {
    const [row] = await inDb(path("a.duckdb"), (db) =>
      db.all(`select count(distinct order_code)::integer as codes,
                     count(*) filter (where order_code in (select order_code from ${REAL}))::integer as reused,
                     min(order_code) as first_code, max(order_code) as last_code,
                     count(distinct id)::integer as ids, min(id)::integer as min_id, max(id)::integer as max_id,
                     count(*) filter (where order_code is null or id is null)::integer as nulls
              from synthetic`),
    );
    expect(row).toEqual({
      codes: 300,
      reused: 0,
      first_code: "syn-00000001",
      last_code: "syn-00000300",
      ids: 300,
      min_id: 1,
      max_id: 300,
      nulls: 0,
    });
  });

  it("restores dates, whole-second timestamps, booleans, integer categories and the constant", async () => {
    const [row] = await inDb(path("a.duckdb"), (db) =>
      db.all(`select
          min(day) >= (select min(day) from ${REAL}) and max(day) <= (select max(day) from ${REAL}) as days_in_range,
          min(seen_at) >= (select min(seen_at) from ${REAL})
            and max(seen_at) <= (select max(seen_at) from ${REAL}) as times_in_range,
          bool_and(seen_at = date_trunc('second', seen_at)) as whole_seconds,
          list_sort(list_distinct(list(active))) as active,
          list_sort(list_distinct(list(stars))) as stars,
          list_distinct(list(region)) as region
        from synthetic`),
    );
    expect(row).toEqual({
      days_in_range: true,
      times_in_range: true,
      whole_seconds: true,
      active: [false, true],
      stars: [0, 1, 2, 3, 4],
      region: ["EU"],
    });
  });

  it("keeps a float column's 2 decimal places", async () => {
    const prices = await inDb(path("a.duckdb"), (db) =>
      db.all<{ price: number }>("select price from synthetic"),
    );
    const cents = prices.map((p) => p.price * 100);
    expect(cents.every((x) => Math.abs(x - Math.round(x)) < 1e-6)).toBe(true);
    // Not rounded further: most prices have a non-zero second decimal, as in the real column.
    expect(cents.filter((x) => Math.round(x) % 10 !== 0).length).toBeGreaterThan(200);
    // And the CSV spells them with at most 2 decimals.
    const csv = readFileSync(path("a.csv"), "utf8").trimEnd().split("\n").slice(1);
    expect(csv.map((l) => l.split(",")[7]).filter((p) => !/^\d+(\.\d{1,2})?$/.test(p ?? ""))).toEqual([]);
  });

  it("reproduces the share of NULLs", async () => {
    // A column's TVD bounds the gap of each of its cells, NULL included (TVD is half the sum of all the
    // gaps, and the gaps add up to 0), so the run's own reported TVD is the tolerance; it must be small.
    const tvd = (column: string) => a.discrepancy.marginals.find((m) => m.columns.join() === column)?.tvd;
    const shares = await inDb(path("a.duckdb"), (db) =>
      db.all<{ side: string; score: number; grade: number }>(`
        select 'real' as side, avg((score is null)::int) as score, avg((grade is null)::int) as grade from ${REAL}
        union all
        select 'synthetic', avg((score is null)::int), avg((grade is null)::int) from synthetic
        order by side`),
    );
    const [real, synthetic] = shares;
    for (const column of ["score", "grade"] as const) {
      const bound = tvd(column) ?? 1;
      expect(bound, column).toBeLessThan(0.05);
      expect(Math.abs((synthetic?.[column] ?? 0) - (real?.[column] ?? 0)), column).toBeLessThanOrEqual(
        bound + 1e-9,
      );
    }
    expect(real?.score).toBeCloseTo(0.3, 1);
  });

  it("rounds numbers and datetimes without moving them out of their main bin", async () => {
    // Bins are right-closed, (lo, hi]: rounding 2023-03-01 12:00 down to 2023-03-01 would move a draw
    // from the bin (2023-03-01, 2023-04-10] into the bin below. Bin counts of the output and of the
    // model-space table the discrepancy is measured on must agree.
    const rows = await inDb(path("a.duckdb"), (db) =>
      db.all<{ column: string; model: number[]; output: number[] }>(`
        with edges as (select "column", edges from synthor_edges),
        output as (
          select 'day' as "column", synthor_bin(epoch(day), (select edges from edges where "column" = 'day')) as bin from synthetic
          union all select 'seen_at', synthor_bin(epoch(seen_at), (select edges from edges where "column" = 'seen_at')) from synthetic
          union all select 'price', synthor_bin(price, (select edges from edges where "column" = 'price')) from synthetic
          union all select 'score', synthor_bin(score, (select edges from edges where "column" = 'score')) from synthetic
        ),
        model as (
          select 'day' as "column", synthor_bin(day, (select edges from edges where "column" = 'day')) as bin from synthor_synth_model
          union all select 'seen_at', synthor_bin(seen_at, (select edges from edges where "column" = 'seen_at')) from synthor_synth_model
          union all select 'price', synthor_bin(price, (select edges from edges where "column" = 'price')) from synthor_synth_model
          union all select 'score', synthor_bin(score, (select edges from edges where "column" = 'score')) from synthor_synth_model
        ),
        counted as (
          select 'output' as side, "column", bin, count(*)::integer as n from output group by all
          union all select 'model', "column", bin, count(*)::integer from model group by all
        )
        select "column",
               list(n order by bin nulls last) filter (where side = 'model') as model,
               list(n order by bin nulls last) filter (where side = 'output') as output
        from counted group by "column" order by "column"`),
    );
    expect(rows.map((r) => r.column)).toEqual(["day", "price", "score", "seen_at"]);
    for (const r of rows) expect(r.output, r.column).toEqual(r.model);
  });

  it("records the run, each iteration and each proposal", async () => {
    const history = await inDb(path("a.duckdb"), async (db) => ({
      runs: await db.all(
        `select run_id, status, planner, seed::integer as seed, rows_target::integer as rows_target,
                rows_written::integer as rows_written, iterations, seconds > 0 as timed,
                finished_at >= started_at as ordered, config->>'$.seed' as config_seed,
                config->>'$.iterations' as config_iterations
         from synthor_runs`,
      ),
      iterations: await db.all<{
        run_id: number;
        iteration: number;
        rows_added: number;
        rows_total: number;
        mean_tvd: number;
        seconds: number;
        units: number;
      }>(
        `select run_id, iteration, rows_added::integer as rows_added, rows_total::integer as rows_total,
                mean_tvd, seconds, json_array_length(json_keys(tvd))::integer as units
         from synthor_iterations order by iteration`,
      ),
      proposals: await db.all<{ iteration: number; num: number; n: number; reasons: number; json: boolean }>(
        `select iteration, sum(num)::integer as num, count(*)::integer as n,
                count(*) filter (where reason <> '')::integer as reasons,
                bool_and(json_type(proposal) = 'OBJECT') as json
         from synthor_proposals where run_id = 1 group by iteration order by iteration`,
      ),
    }));
    expect(history.runs).toEqual([
      {
        run_id: 1,
        status: "finished",
        planner: "stats",
        seed: 1,
        rows_target: 300,
        rows_written: 300,
        iterations: ITERATIONS,
        timed: true,
        ordered: true,
        config_seed: "1",
        config_iterations: String(ITERATIONS),
      },
    ]);
    const its = history.iterations;
    expect(its.map((i) => i.iteration)).toEqual(Array.from({ length: ITERATIONS }, (_, i) => i + 1));
    expect(its.every((i) => i.run_id === 1 && i.rows_added > 0 && i.seconds > 0)).toBe(true);
    let total = 0;
    for (const i of its) {
      total += i.rows_added;
      expect(i.rows_total).toBe(total);
    }
    expect(total).toBe(300);
    expect(its.at(-1)?.mean_tvd).toBe(a.discrepancy.meanTvd);
    // TVD per unit: every column and every group.
    expect(its[0]?.units).toBe(a.discrepancy.marginals.length + a.discrepancy.groups.length);
    expect(history.proposals.map((p) => [p.iteration, p.num])).toEqual(
      its.map((i) => [i.iteration, i.rows_added]),
    );
    expect(history.proposals.every((p) => p.reasons === p.n && p.json)).toBe(true);
  });

  it("gives a proposal's JSON every modelled column, as the planner proposed it", async () => {
    const [p] = await inDb(path("a.duckdb"), (db) =>
      db.all<{ keys: string[]; num: number }>(
        "select json_keys(proposal) as keys, num::integer as num from synthor_proposals order by iteration, proposal_no limit 1",
      ),
    );
    expect(p?.keys.sort()).toEqual(["active", "day", "grade", "price", "score", "seen_at", "stars"]);
    expect(p?.num).toBeGreaterThan(0);
  });
});

describe("determinism", () => {
  it("gives byte-identical CSV and Parquet for the same seed, on 1 thread or 2", async () => {
    // a wrote CSV (2 threads) and b Parquet (1 thread); each writes the other format from its table.
    await inDb(path("a.duckdb"), (db) => writeOutputFile(db, "synthetic", path("a.parquet")));
    await inDb(path("b.duckdb"), (db) => writeOutputFile(db, "synthetic", path("b.csv")));
    expect(readFileSync(path("b.csv"), "utf8")).toBe(readFileSync(path("a.csv"), "utf8"));
    expect(readFileSync(path("b.parquet")).equals(readFileSync(path("a.parquet")))).toBe(true);
    expect(b.discrepancy).toEqual(a.discrepancy);
  });

  it("gives another table for another seed", () => {
    const first = readFileSync(path("a.csv"), "utf8").split("\n");
    const other = readFileSync(path("c.csv"), "utf8").split("\n");
    expect(other[0]).toBe(first[0]);
    // Identifiers are numbered the same way; the modelled values are not.
    const modelled = (l: string) => l.split(",").slice(2).join(",");
    const same = other.slice(1).filter((l, i) => modelled(l) === modelled(first[i + 1] ?? ""));
    expect(same.length).toBeLessThan(10);
    expect(c.discrepancy.meanTvd).not.toBe(a.discrepancy.meanTvd);
  });
});

describe("when the run stops", () => {
  const small =
    "select ['a', 'b', 'c'][range % 3 + 1] as c, (range % 7)::varchar as d, range * 1.5 as x from range(157)";

  it("defaults --rows to the real row count and reaches it exactly, in the --out-table asked for", async () => {
    const outTable = 'my "synthetic"';
    const r = await synthesize(
      options({ source: { kind: "sql", sql: small }, iterations: 10, db: path("named.duckdb"), outTable }),
    );
    expect([r.rows, r.iterations, r.stoppedBecause, r.outTable]).toEqual([157, 10, "rows", outTable]);
    const tables = await inDb(path("named.duckdb"), (db) =>
      db.all<{ name: string; n: number }>(
        `select table_name as name, estimated_size::integer as n from duckdb_tables()
         where table_name in ('synthetic', 'my "synthetic"')`,
      ),
    );
    expect(tables).toEqual([{ name: outTable, n: 157 }]);
  });

  it("stops early at --target-tvd, with fewer rows than asked", async () => {
    const seen: number[] = [];
    const r = await synthesize(
      options({
        source: { kind: "file", path: ECOMMERCE },
        rows: 400,
        iterations: 30,
        targetTvd: 0.1,
        onProgress: (e) => {
          if (e.kind === "iteration") seen.push(e.meanTvd);
        },
      }),
    );
    expect(r.stoppedBecause).toBe("target-tvd");
    expect(r.discrepancy.meanTvd).toBeLessThanOrEqual(0.1);
    expect(r.iterations).toBeLessThan(30);
    expect(r.rows).toBeLessThan(400);
    // A stop the user asked for: the job is done (no failure), and the result says the rows are fewer.
    expect(r.rowsAsked).toBe(400);
    expect(r.reason).toBe(
      `stopped at --target-tvd 0.1 with ${r.rows} of the 400 rows asked for: the mean TVD reached the target, so the table is complete at ${r.rows} rows`,
    );
    // It stops at the first iteration that reaches the target, not later.
    expect(seen.slice(0, -1).every((t) => t > 0.1)).toBe(true);
    expect(seen).toHaveLength(r.iterations);
  });

  it("stops after --patience iterations without a lower mean TVD", async () => {
    const seen: number[] = [];
    const r = await synthesize(
      options({
        source: { kind: "sql", sql: small },
        iterations: 30,
        patience: 2,
        onProgress: (e) => {
          if (e.kind === "iteration") seen.push(e.meanTvd);
        },
      }),
    );
    expect(r.stoppedBecause).toBe("patience");
    expect(r.iterations).toBeLessThan(30);
    const best = Math.min(...seen.slice(0, -2));
    expect(seen.slice(-2).every((t) => t >= best)).toBe(true);
    expect(seen.slice(0, -2).indexOf(best)).toBe(seen.length - 3);
  });

  it("stops cleanly when asked, writes nothing, and resumes to the same table", async () => {
    const source = { kind: "sql", sql: small } as const;
    const run = (extra: Partial<SynthOptions>) =>
      synthesize(options({ source, rows: 120, iterations: 12, seed: 9, ...extra }));
    const reference = await run({ db: path("ref.duckdb"), out: path("ref.csv") });
    let calls = 0;
    const stopped = await run({
      db: path("stop.duckdb"),
      out: path("stop.csv"),
      shouldStop: () => ++calls > 4,
    });
    expect([stopped.stoppedBecause, stopped.iterations, stopped.outFile]).toEqual([
      "interrupted",
      4,
      undefined,
    ]);
    expect(existsSync(path("stop.csv"))).toBe(false);
    const state = await inDb(path("stop.duckdb"), async (db) => ({
      tables: await db.all("select table_name from information_schema.tables where table_name = 'synthetic'"),
      runs: await db.all("select status, iterations from synthor_runs"),
    }));
    expect(state).toEqual({ tables: [], runs: [{ status: "interrupted", iterations: 4 }] });
    const resumed = await run({ db: path("stop.duckdb"), out: path("stop.csv"), resume: true });
    expect([resumed.stoppedBecause, resumed.iterations, resumed.rows]).toEqual(["rows", 12, 120]);
    expect(readFileSync(path("stop.csv"), "utf8")).toBe(readFileSync(path("ref.csv"), "utf8"));
    expect(resumed.discrepancy).toEqual(reference.discrepancy);
    const runs = await inDb(path("stop.duckdb"), (db) =>
      db.all("select run_id, status, iterations from synthor_runs"),
    );
    expect(runs).toEqual([{ run_id: 1, status: "finished", iterations: 12 }]);
  });
});

describe("resuming", () => {
  const source = {
    kind: "sql",
    sql: "select ['a', 'b', 'c'][range % 3 + 1] as c, (range % 7)::varchar as d, range * 1.5 as x from range(157)",
  } as const;

  it("continues only the latest run: an unfinished run a later run replaced cannot be resumed", async () => {
    const db = path("abandoned.duckdb");
    const run = (extra: Partial<SynthOptions>) =>
      synthesize(options({ source, iterations: 10, db, ...extra }));
    let calls = 0;
    expect((await run({ shouldStop: () => ++calls > 3 })).stoppedBecause).toBe("interrupted");
    expect((await run({})).stoppedBecause).toBe("rows");
    const err = await run({ resume: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SynthorError);
    expect(err).toMatchObject({
      code: "RUN_STATE",
      message: "there is no unfinished run to resume in this database",
      hint: "start a new run without --resume",
    });
    const runs = await inDb(db, (d) =>
      d.all("select run_id, status, iterations from synthor_runs order by run_id"),
    );
    expect(runs).toEqual([
      { run_id: 1, status: "abandoned", iterations: 3 },
      { run_id: 2, status: "finished", iterations: 10 },
    ]);
  });

  describe("with --patience", () => {
    const run = (extra: Partial<SynthOptions>) =>
      synthesize(options({ source, iterations: 30, patience: 2, ...extra }));
    let full: SynthResult;
    beforeAll(async () => {
      full = await run({ db: path("patience-ref.duckdb"), out: path("patience-ref.csv") });
    });

    it("stops the uninterrupted run by patience (what the next test relies on)", () => {
      expect(full.stoppedBecause).toBe("patience");
      expect(full.iterations).toBeLessThan(29);
    });

    // On --resume the patience count is replayed from the history, so the run stops where it would have.
    it("resumes to the same stop and the same table as the uninterrupted run", async () => {
      let calls = 0;
      const db = path("patience.duckdb");
      await run({ db, shouldStop: () => ++calls > full.iterations - 1 });
      const resumed = await run({ db, out: path("patience.csv"), resume: true });
      expect([resumed.stoppedBecause, resumed.iterations]).toEqual([full.stoppedBecause, full.iterations]);
      expect(readFileSync(path("patience.csv"), "utf8")).toBe(readFileSync(path("patience-ref.csv"), "utf8"));
    });
  });
});

describe("seeds", () => {
  // A negative seed is a seed like any other (the association sample takes its absolute value).
  it("accepts a negative seed", async () => {
    const sql = "select ['a', 'b', 'c'][range % 3 + 1] as c, range * 1.5 as x from range(60)";
    const r = await synthesize(options({ source: { kind: "sql", sql }, iterations: 2, seed: -3 }));
    expect(r.rows).toBe(60);
  });
});

describe("identifiers", () => {
  // An integer key whose type cannot count to --rows is widened to BIGINT, so every key stays unique.
  it("gives an integer key whose type cannot count to --rows unique values all the same", async () => {
    const sql = "select (range + 1)::tinyint as id, ['a', 'b'][range % 2 + 1] as c from range(100)";
    const db = path("tinyint.duckdb");
    const r = await synthesize(options({ source: { kind: "sql", sql }, rows: 200, iterations: 2, db }));
    expect(r.rows).toBe(200);
    const [row] = await inDb(db, (d) => d.all("select count(distinct id)::integer as ids from synthetic"));
    expect(row).toEqual({ ids: 200 });
  });
});

describe("writeOutputFile", () => {
  it("leaves an existing file untouched and no temporary file behind when the write fails", async () => {
    const target = path("keep.csv");
    writeFileSync(target, "keep me\n");
    await inDb(path("a.duckdb"), async (db) => {
      await expect(writeOutputFile(db, "no_such_table", target)).rejects.toThrow(/write output file/);
    });
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith(".keep.csv.") && f.endsWith(".tmp"))).toEqual([]);
  });
});
