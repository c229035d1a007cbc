import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { refillConditional, spread, spreadCapped } from "../src/real.ts";
import { privateGrid } from "../src/summarize.ts";
import { tableSpecs } from "../src/summary-build.ts";
import { SummaryFile } from "../src/summary-file.ts";
import { refillFine, refillJoint } from "../src/summary-load.ts";
import { cli, fixture, tempDir } from "./helpers.ts";
import { goodScript, startScriptedServer } from "./llm-server.ts";

// A 300-row table with one planted row: the only "Zanzibar-Planted" city and an income of 987654.32, far
// above the others. Each CLI call costs about a second, so the calls are few and share their files.
const PEOPLE = fixture("summary-people.csv");
const RUN = ["--rows", "300", "--iterations", "10", "--seed", "3", "--quiet"];

let tmp: ReturnType<typeof tempDir>;
const path = (name: string) => join(tmp.dir, name);
let summaryText = "";
beforeAll(async () => {
  tmp = tempDir();
  copyFileSync(PEOPLE, path("people.csv"));
  const r = await cli(["summarize", path("people.csv"), "--out", path("summary.json")]);
  expect(r.code).toBe(0);
  summaryText = readFileSync(path("summary.json"), "utf8");
  // From here on the rows are gone: synth --from-summary must not need them.
  rmSync(path("people.csv"));
}, 60_000);
afterAll(() => tmp?.cleanup());

describe("synthor summarize --out", () => {
  it("writes a versioned summary file that the schema accepts", () => {
    const file = SummaryFile.parse(JSON.parse(summaryText));
    expect(file.format).toBe("synthor-summary");
    expect(file.version).toBe(1);
    expect(file.minCell).toBe(5);
    expect(file.rows).toBe(300);
    expect(file.columns.map((c) => `${c.name}:${c.kind}`)).toEqual([
      "id:identifier",
      "age:numeric",
      "city:categorical",
      "plan:categorical",
      "income:numeric",
      "signup:datetime",
    ]);
    // Every column, every pair of the 5 modelled ones, numeric ones also at sub-bin level.
    const coarse = (cols: string[]) =>
      file.tables.some((t) => t.fine === null && t.columns.join() === cols.join());
    expect(coarse(["city"])).toBe(true);
    expect(coarse(["age", "plan"])).toBe(true);
    expect(file.tables.some((t) => t.fine === "income" && t.columns.join() === "income")).toBe(true);
    expect(file.tables.every((t) => t.cells.every(([, n]) => n >= 5))).toBe(true);
    expect(file.tables.reduce((a, t) => a + t.suppressed.cells, 0)).toBeGreaterThan(0);
  });

  it("leaves out a value only one row holds, in every table and in the profiles", () => {
    expect(summaryText).not.toContain("Zanzibar");
    expect(summaryText).not.toContain("987654");
    const file = SummaryFile.parse(JSON.parse(summaryText));
    const income = file.columns.find((c) => c.name === "income");
    expect(income?.max).toBeNull();
    expect(Math.max(...(income?.grid ?? []))).toBeLessThan(900_000);
  });

  it("gives moments that do not give back the planted income (winsorized at the grid's ends)", () => {
    // Raw moments did: mean + sd * sqrt(n - 1) was the planted 987,654.32 to 0.05%, the other incomes
    // being close to the mean by comparison.
    const file = SummaryFile.parse(JSON.parse(summaryText));
    const income = file.columns.find((c) => c.name === "income");
    const n = (income?.rows ?? 0) - (income?.nulls ?? 0);
    const derived = (income?.mean ?? 0) + (income?.sd ?? 0) * Math.sqrt(n - 1);
    expect(Math.abs(derived - 987654.32) / 987654.32).toBeGreaterThan(0.5);
    expect(income?.mean).toBeLessThan(Math.max(...(income?.grid ?? [])));
    // Columns other than numeric ones carry no moments (nothing reads them).
    expect(file.columns.find((c) => c.name === "id")?.mean).toBeUndefined();
  });

  it("gives the same file, byte for byte, for the same table", async () => {
    const [a, b] = await Promise.all([
      cli(["summarize", PEOPLE, "--json"]),
      cli(["summarize", PEOPLE, "--json"]),
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.replace(PEOPLE, "")).toBe(summaryText.replace(path("people.csv"), ""));
  });

  it("refuses a column min-cell would leave out whole", async () => {
    const sql = "select (range // 2)::varchar || 'x' as code, range % 3 as g from range(60)";
    const r = await cli(["summarize", "--sql", sql, "--categorical", "code", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: column "code" has no value that 5 or more rows hold, so --min-cell 5 leaves all of it out\n' +
        "  hint: leave it out with --ignore code, or give a lower --min-cell\n",
    );
  });

  it("keeps them with --min-cell 0, which turns suppression off", async () => {
    const r = await cli(["summarize", PEOPLE, "--min-cell", "0", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Zanzibar-Planted");
    expect(r.stdout).toContain("987654.32");
  });
});

describe("synthor synth --from-summary", () => {
  it("synthesizes with the real file deleted, the same table for the same seed at any thread count", async () => {
    const [a, b] = await Promise.all([
      cli([
        "synth",
        "--from-summary",
        path("summary.json"),
        ...RUN,
        "--out",
        path("a.csv"),
        "--threads",
        "1",
      ]),
      cli([
        "synth",
        "--from-summary",
        path("summary.json"),
        ...RUN,
        "--out",
        path("b.csv"),
        "--threads",
        "2",
      ]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const csv = readFileSync(path("a.csv"), "utf8");
    expect(csv).toBe(readFileSync(path("b.csv"), "utf8"));
    const lines = csv.trimEnd().split("\n");
    expect(lines[0]).toBe("id,age,city,plan,income,signup");
    expect(lines).toHaveLength(301);
    expect(csv).not.toContain("Zanzibar");
    // Dates come back as dates, ids as fresh keys.
    expect(lines[1]).toMatch(/^\d+,\d+,\w+,\w+,[\d.]+,2023-\d\d-\d\d$/);
  }, 60_000);

  it("records the summary file's path and hash, and refuses to resume with a changed file", async () => {
    const db = path("run.duckdb");
    const first = await cli(["synth", "--from-summary", path("summary.json"), ...RUN, "--db", db]);
    expect(first.code, first.stderr).toBe(0);
    const config = await cli(["query", "--db", db, "select config from synthor_runs", "--format", "csv"]);
    expect(config.stdout).toContain('""kind"":""summary""');
    expect(config.stdout).toContain(path("summary.json"));
    expect(config.stdout).toMatch(/""sha256"":""[0-9a-f]{64}""/);
    // As a run stopped by Ctrl-C leaves it.
    const handle = await Db.open(db);
    try {
      await handle.exec("update synthor_runs set status = 'interrupted'");
    } finally {
      handle.close();
    }
    writeFileSync(path("changed.json"), `${summaryText} `);
    copyFileSync(path("changed.json"), path("summary.json"));
    const resumed = await cli([
      "synth",
      "--from-summary",
      path("summary.json"),
      ...RUN,
      "--db",
      db,
      "--resume",
    ]);
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toContain(
      "error: the options differ from those of the interrupted run: source: was",
    );
    writeFileSync(path("summary.json"), summaryText);
  }, 60_000);

  it("works with column names that would break unquoted SQL", async () => {
    const nasty = 'a"; drop table x; --';
    const sql = `select range % 3 as "${nasty.replaceAll('"', '""')}", (range * 7) % 50 + 0.5 as b from range(200)`;
    const made = await cli(["summarize", "--sql", sql, "--out", path("nasty.json")]);
    expect(made.code, made.stderr).toBe(0);
    const r = await cli([
      "synth",
      "--from-summary",
      path("nasty.json"),
      "--iterations",
      "5",
      "--quiet",
      "--out",
      path("nasty.csv"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(path("nasty.csv"), "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe('"a""; drop table x; --",b');
    expect(lines).toHaveLength(201);
  }, 60_000);

  it("resumes an interrupted run to the same table as an uninterrupted one", async () => {
    const db = path("resume.duckdb");
    const args = ["synth", "--from-summary", path("summary.json"), ...RUN, "--db", db];
    const whole = await cli([...args, "--out", path("whole.csv")]);
    expect(whole.code, whole.stderr).toBe(0);
    // As if stopped after iteration 5.
    const handle = await Db.open(db);
    try {
      await handle.exec(
        `update synthor_runs set status = 'interrupted';
         delete from synthor_iterations where iteration > 5;
         delete from synthor_synth_model where __synthor_iteration > 5`,
      );
    } finally {
      handle.close();
    }
    const resumed = await cli([...args, "--out", path("resumed.csv"), "--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(path("resumed.csv"), "utf8")).toBe(readFileSync(path("whole.csv"), "utf8"));
  }, 60_000);

  it("plans with an LLM from the summary alone, skipping a group the file holds no table for", async () => {
    const server = await startScriptedServer({
      script: goodScript([
        ["age", "plan"],
        ["age", "city", "plan", "income"],
      ]),
    });
    try {
      const db = path("llm.duckdb");
      const r = await cli(
        [
          "synth",
          "--from-summary",
          path("summary.json"),
          "--base-url",
          server.url,
          "--planner",
          "llm",
        ].concat(["--rows", "40", "--iterations", "2", "--no-cache", "--json", "--db", db]),
        { env: { OPENAI_API_KEY: "" } },
      );
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { rows: number }).rows).toBe(40);
      expect(server.requests.map((q) => q.raw).join("\n")).not.toContain("Zanzibar");
      const handle = await Db.open(db);
      try {
        const rows = await handle.all<{ groups: string }>(
          "select groups::varchar as groups from synthor_iterations order by iteration",
        );
        expect(rows.map((x) => x.groups)).toEqual(['[["age","plan"]]', '[["age","plan"]]']);
      } finally {
        handle.close();
      }
    } finally {
      await server.close();
    }
  }, 60_000);

  it("refuses a real table given beside it, with the flags it clashes with", async () => {
    const r = await cli([
      "synth",
      PEOPLE,
      "--from-summary",
      "s.json",
      "--sql",
      "select 1",
      "--bins",
      "4",
      "--quiet",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: --from-summary synthesizes without the real rows, so it does not go with a real table (${PEOPLE}), --sql, --bins\n` +
        "  hint: drop them: the summary file fixes the columns, their kinds and bins (to change those, run synthor summarize again)\n",
    );
  });

  it("refuses conditions, targets and tilts, which reweight real rows", async () => {
    const r = await cli([
      "synth",
      "--from-summary",
      "s.json",
      "--where",
      "age > 30",
      "--targets",
      "t.csv",
      "--tilt",
      "age > 60 => 2",
      "--quiet",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(
      "error: --from-summary synthesizes without the real rows, so it does not go with --where, --targets, --tilt",
    );
  });

  it("says what is wrong with a file that is not a summary", async () => {
    writeFileSync(path("other.json"), '{"columns": []}');
    writeFileSync(path("newer.json"), '{"format": "synthor-summary", "version": 2}');
    writeFileSync(path("reserved.json"), summaryText.replace('"name": "age"', '"name": "__synthor_age"'));
    const [missing, other, newer, reserved] = await Promise.all([
      cli(["synth", "--from-summary", path("missing.json"), "--quiet"]),
      cli(["synth", "--from-summary", path("other.json"), "--quiet"]),
      cli(["synth", "--from-summary", path("newer.json"), "--quiet"]),
      cli(["synth", "--from-summary", path("reserved.json"), "--quiet"]),
    ]);
    expect(reserved.stderr).toBe(
      'error: the summary file names a column "__synthor_age", a name synthor reserves\n' +
        "  hint: write it again with: synthor summarize real.csv --out summary.json (rename the column in --sql)\n",
    );
    expect(missing.stderr).toBe(
      `error: summary file not found: ${path("missing.json")}\n  hint: write one with: synthor summarize real.csv --out summary.json\n`,
    );
    expect(other.stderr).toBe(
      `error: ${path("other.json")} is not a summary file (its "format" is not "synthor-summary")\n  hint: write one with: synthor summarize real.csv --out summary.json\n`,
    );
    expect(newer.stderr).toBe(
      `error: ${path("newer.json")} is a summary file of version 2; this synthor reads version 1\n  hint: summarize the real table again with this synthor, or use the synthor that wrote it\n`,
    );
  });
});

describe("summary file helpers", () => {
  it("privateGrid pulls in ends fewer than k rows hold and thins a grid finer than k rows", () => {
    expect(privateGrid([1, 2, 3, 4, 100], 41, 5)).toEqual([2, 2, 3, 4, 4]);
    // 5 rows hold the minimum 0: it stays.
    expect(privateGrid([0, 0, 3, 4, 100], 9, 2)).toEqual([0, 0, 3, 4, 4]);
    // 11 values, 10 intervals, k = 5: two intervals of 5 rows each.
    expect(privateGrid([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 11, 5)).toEqual([5, 5, 5]);
    expect(privateGrid([1, 2, 3], 3, 1)).toEqual([1, 2, 3]);
  });

  it("spread splits whole rows by weight, the remainder to the largest fractions", () => {
    expect(spread(5, [1, 1, 2])).toEqual([1, 1, 3]);
    expect(spread(3, [0, 0])).toEqual([2, 1]);
    expect(spread(7, [0.5, 0.25, 0.25])).toEqual([3, 2, 2]);
  });

  it("spreadCapped gives no share above the cap, and drops what cannot fit", () => {
    expect(spreadCapped(10, [8, 1, 1], 4)).toEqual([4, 3, 3]);
    expect(spreadCapped(20, [1, 1], 4)).toEqual([4, 4]);
  });

  it("refillConditional gives each context its left-out rows back, on child values not listed", () => {
    const rows = refillConditional(
      [
        { cell: ["a", "x"], n: 10 },
        { cell: ["a", "y"], n: 6 },
      ],
      1,
      [
        [["a"], 20],
        [["b"], 3],
      ],
      [
        [["x"], 50],
        [["y"], 30],
        [["z"], 20],
        [["w"], 10],
      ],
      5,
    );
    // Context a lacks 4 rows: z and w, 2:1. Context b (3 rows, all left out): by the child's frequencies.
    expect(rows.slice(2)).toEqual([
      { cell: ["a", "z"], n: 3 },
      { cell: ["a", "w"], n: 1 },
      { cell: ["b", "x"], n: 1 },
      { cell: ["b", "y"], n: 1 },
      { cell: ["b", "z"], n: 1 },
    ]);
  });

  it("refillJoint completes a pair table's last column where its cells were left out", () => {
    const marginal = (name: string, cells: [string, number][]) => ({
      columns: [name],
      fine: null,
      suppressed: { cells: 0, rows: 0 },
      cells: cells.map(([v, n]) => [[v], n] as [string[], number]),
    });
    const [, , pair] = refillJoint(
      [
        marginal("a", [
          ["p", 12],
          ["q", 8],
        ]),
        marginal("b", [
          ["x", 14],
          ["y", 6],
        ]),
        {
          columns: ["a", "b"],
          fine: null,
          // The real cells: p x 10, p y 2, q x 4, q y 4; only the first has 5 rows or more.
          suppressed: { cells: 3, rows: 10 },
          cells: [[["p", "x"], 10]],
        },
      ],
      5,
    );
    // p lacks 2 rows, q all 8: each y gets at most 4 (fewer than 5 real rows), x in q too.
    expect(pair?.cells).toEqual([
      [["p", "x"], 10],
      [["p", "y"], 2],
      [["q", "x"], 4],
      [["q", "y"], 4],
    ]);
  });

  it("refillFine puts a fine table's left-out rows back into its unlisted sub-bins", () => {
    const tables = refillFine({
      subBins: 4,
      minCell: 5,
      columns: [
        {
          name: "x",
          index: 0,
          sqlType: "DOUBLE",
          kind: "numeric",
          reason: "",
          integral: false,
          rows: 20,
          nulls: 0,
          nullShare: 0,
          distinct: 20,
          min: null,
          max: null,
          edges: [],
          grid: [0, 1, 2, 3, 4],
        },
      ],
      tables: [
        { columns: ["x"], fine: null, suppressed: { cells: 0, rows: 0 }, cells: [[["0"], 20]] },
        {
          columns: ["x"],
          fine: "x",
          suppressed: { cells: 2, rows: 6 },
          cells: [
            [["0.0"], 7],
            [["0.1"], 7],
          ],
        },
      ],
    });
    // 6 rows missing, spread evenly (the grid is uniform) over sub-bins 2 and 3.
    expect(tables[1]?.cells).toEqual([
      [["0.0"], 7],
      [["0.1"], 7],
      [["0.2"], 3],
      [["0.3"], 3],
    ]);
  });

  it("tableSpecs keeps every column, every pair and each column with pairs of its strongest partners", () => {
    const columns = ["a", "b", "c", "d"].map((name) => ({ name, kind: "categorical" as const }));
    const mi = (a: string, b: string, m: number) => ({ a, b, cramersV: m, mutualInformation: m });
    const specs = tableSpecs(
      columns,
      [
        mi("a", "b", 0.3),
        mi("a", "c", 0.2),
        mi("a", "d", 0.001),
        mi("b", "c", 0.1),
        mi("b", "d", 0),
        mi("c", "d", 0),
      ],
      [],
      2,
    );
    const names = specs.map((s) => s.columns.join(""));
    expect(names.filter((n) => n.length === 1)).toEqual(["a", "b", "c", "d"]);
    expect(names.filter((n) => n.length === 2)).toHaveLength(6);
    // a's partners: b, c (d is independent); b's: a, c; c's: a, b. One 3-way table, abc.
    expect(names.filter((n) => n.length === 3)).toEqual(["abc"]);
  });
});
