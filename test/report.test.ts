/**
 * The HTML report: self-contained, every chart drawn, user text escaped, the same for the same seed; its
 * verdicts against the real floor, per-column bars, diagnostics, sample rows (real ones only when asked
 * for) and the convergence curve or why there is none.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { quoteLiteral } from "../src/db/quote.ts";
import { type Evaluation, evaluateSynthetic } from "../src/evaluate/evaluate.ts";
import { judge, VERDICT_THRESHOLDS, verdictWord } from "../src/evaluate/verdicts.ts";
import { profileColumns } from "../src/profile.ts";
import { coarse } from "../src/report/diagnostics.ts";
import { renderReport } from "../src/report/html.ts";
import { niceCeil } from "../src/report/svg.ts";
import { readSource } from "../src/source.ts";
import { runEval } from "./eval-run.ts";
import { loadPair } from "./fixtures/eval/load.ts";
import { fixture, tempDir } from "./helpers.ts";

let db: Db;
let html: string;
let evaluation: Evaluation;

beforeAll(async () => {
  const loaded = await loadPair();
  db = loaded.db;
  const e = await evaluateSynthetic(db, {
    real: "real",
    synth: "synth",
    holdout: "holdout",
    profiles: loaded.profiles,
    target: "churn",
    queries: [{ name: "mean <age>", sql: "select avg(age) from data" }],
    seed: 1,
    labels: { real: "real.csv", synth: "synth.csv", holdout: "holdout.csv" },
  });
  evaluation = e;
  html = renderReport(e);
});

afterAll(() => db?.close());

/** The SVG charts of a page, as text. */
function charts(page: string): string[] {
  return [...page.matchAll(/<svg class="chart"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

describe("renderReport", () => {
  it("is one self-contained page: no script, no external resource", () => {
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*"(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import/i);
  });

  it("draws a chart for every column, three heatmaps, the privacy panel and the score bars", () => {
    const all = charts(html);
    const labels = all.map((c) => /aria-label="([^"]*)"/.exec(c)?.[1]);
    for (const column of ["age", "income", "city", "plan", "joined", "a&quot;; drop table x; --", "churn"]) {
      expect(labels).toContain(column);
    }
    expect(labels).toEqual(
      expect.arrayContaining([
        "real",
        "synthetic",
        "|synthetic - real|",
        "distance to closest record",
        "column TVD",
      ]),
    );
    for (const chart of all) expect(chart).toContain('class="mark"');
  });

  it("escapes names and values from the user's files", () => {
    expect(html).toContain("mean &lt;age&gt;");
    expect(html).not.toContain("mean <age>");
    expect(html).not.toContain('a"; drop');
  });

  it("shows every section", () => {
    for (const id of [
      "summary",
      "columns",
      "pairs",
      "detection",
      "utility",
      "queries",
      "privacy",
      "diagnostics",
      "samples",
      "convergence",
      "metrics",
    ]) {
      expect(html).toContain(`<h2 id="${id}">`);
    }
  });

  it("is the same for the same seed", async () => {
    const profiles = await profileColumns(
      db,
      await readSource(db, { kind: "table", table: "real" }, "real_again"),
    );
    const again = await evaluateSynthetic(db, {
      real: "real",
      synth: "synth",
      holdout: "holdout",
      profiles: profiles.map((p) => ({ ...p })),
      target: "churn",
      queries: [{ name: "mean <age>", sql: "select avg(age) from data" }],
      seed: 1,
      labels: { real: "real.csv", synth: "synth.csv", holdout: "holdout.csv" },
    });
    expect(renderReport(again)).toBe(html);
  });
});

/** The card whose value is `value`, as rendered. */
function cardOf(page: string, value: string): string | undefined {
  return [...page.matchAll(/<div class="card [^"]*"[^>]*><div class="v">([^<]*)<\/div>/g)].find(
    (m) => m[1] === value,
  )?.[0];
}

describe("verdicts", () => {
  it("turns an excess over the real floor into a word, privacy strictest", () => {
    expect(VERDICT_THRESHOLDS).toEqual({
      rows: { asReal: 0.02, close: 0.05 },
      privacy: { asReal: 0, close: 0.02 },
    });
    expect([0, 0.02, 0.03, 0.05, 0.06].map((x) => verdictWord(x))).toEqual([
      "as real",
      "as real",
      "close",
      "close",
      "off",
    ]);
    expect([0, 0.01, 0.03].map((x) => verdictWord(x, "privacy"))).toEqual(["as real", "close", "off"]);
  });

  it("flags a distinguishable table and styles it apart from a faithful score", () => {
    const f = evaluation.fidelity;
    const d = evaluation.detection;
    if (!d) throw new Error("the fixture's evaluation has detection");
    const model = d.models[0];
    if (!model) throw new Error("no detection model");
    const verdicts = judge({
      fidelity: { ...f, scores: { ...f.scores, quality: 0.995 } },
      floor: {
        source: "holdout",
        rows: { a: 1000, b: 1000 },
        scale: 1,
        fidelity: { ...f, scores: { ...f.scores, quality: 0.99 } },
      },
      detection: { ...d, rows: 1000, models: [{ ...model, accuracy: 0.68, gap: 0.18 }] },
      utility: null,
      privacy: null,
    });
    const quality = verdicts.headline.find((v) => v.key === "fidelity.scores.quality");
    const detection = verdicts.headline.find((v) => v.key === "detection.models[].accuracy");
    expect(quality).toMatchObject({ value: 0.995, floor: 0.99, word: "as real" });
    expect(detection).toMatchObject({ value: 0.68, floor: 0.5, word: "off" });
    expect(detection?.meaning).toContain("distinguishable");
    const page = renderReport({ ...evaluation, verdicts });
    expect(cardOf(page, "0.68")).toContain('class="card verdict-off"');
    expect(cardOf(page, "0.995")).toContain('class="card verdict-as-real"');
    // The same accuracy on 10 rows per side is within the noise of chance.
    const small = judge({
      fidelity: f,
      floor: null,
      detection: { ...d, rows: 10, models: [{ ...model, accuracy: 0.68, gap: 0.18 }] },
      utility: null,
      privacy: null,
    });
    expect(small.headline[0]?.word).toBe("as real");
    expect(small.why).toContain("fewer than 10 rows");
  });

  it("judges the fixture's figures against the holdout", () => {
    const v = evaluation.verdicts;
    expect(v.floor).toEqual({
      source: "holdout",
      rows: { a: 100, b: 50 },
      scale: Math.sqrt(2 / 100 / (1 / 100 + 1 / 50)),
    });
    const words = Object.fromEntries(v.headline.map((x) => [`${x.key} ${x.label}`, x.word]));
    expect(words).toMatchObject({
      "fidelity.scores.columnShapes column shapes": "as real",
      "privacy.exactMatches.share synthetic rows identical to a real row": "off",
    });
    // 3 copies against none among the holdout rows.
    const exact = v.headline.find((x) => x.key === "privacy.exactMatches.share");
    expect(exact).toMatchObject({ value: 0.03, floor: 0, excess: 0.03 });
    expect(cardOf(html, "3%")).toContain("verdict-off");
  });

  it("draws each column's TVD on an axis scaled to the data, the real floor marked, worst first", () => {
    const chart = charts(html).find((c) => c.includes('aria-label="column TVD"')) ?? "";
    const labels = [...chart.matchAll(/text-anchor="end">([^<]*)<title>/g)].map((m) => m[1]);
    const worstFirst = evaluation.verdicts.columns.map((c) => c.column.replaceAll('"', "&quot;"));
    expect(labels).toEqual(worstFirst);
    const excess = evaluation.verdicts.columns.map((c) => c.excess);
    expect(excess).toEqual([...excess].sort((a, b) => b - a));
    expect(worstFirst[0]).toBe("joined");
    expect(chart.match(/class="floor"/g)?.length).toBe(7);
    // The largest TVD is 0.3: the axis ends at 0.5, not at 1.
    const ticks = [...chart.matchAll(/text-anchor="middle">([^<]*)</g)].map((m) => m[1]);
    expect(ticks).toEqual(["0", "0.25", "0.5"]);
    expect([niceCeil(0.315), niceCeil(0.02), niceCeil(0.021), niceCeil(1.3)]).toEqual([0.5, 0.02, 0.05, 2]);
  });
});

describe("diagnostics and sample rows", () => {
  let keyed: Evaluation;
  beforeAll(async () => {
    await db.exec(`create view real_keyed as select row_number() over () as id, * from real`);
    // 100 rows with ids 1..100 mod 90: ids 1 to 10 twice. Rows over 75 get a city no real row has.
    await db.exec(
      `create view synth_keyed as
         select (row_number() over ()) % 90 as id,
                * replace (case when age > 75 then 'Atlantis' else city end as city)
         from synth`,
    );
    const info = await readSource(db, { kind: "table", table: "real_keyed" }, "real_keyed_source");
    const profiles = await profileColumns(db, info);
    expect(profiles.find((p) => p.name === "id")?.kind).toBe("identifier");
    keyed = await evaluateSynthetic(db, {
      real: "real_keyed",
      synth: "synth_keyed",
      profiles,
      detection: false,
      privacy: false,
      showRealRows: true,
      seed: 3,
    });
  });

  it("counts new categories, values outside the real range, repeated keys and NULLs", async () => {
    const [row] = await db.all<{ n: number }>("select count(*) as n from synth where age > 75");
    const atlantis = row?.n ?? 0;
    expect(atlantis).toBeGreaterThan(0);
    const d = keyed.diagnostics;
    expect(d.categories.find((c) => c.column === "city")).toEqual({
      column: "city",
      synthRows: 100,
      novelRows: atlantis,
      novelShare: atlantis / 100,
      novelValues: 1,
      examples: ["Atlantis"],
    });
    expect(d.keys).toEqual([
      {
        column: "id",
        source: "identifier",
        real: { rows: 100, nullKeys: 0, distinctKeys: 100, repeatedKeys: 0, surplusRows: 0 },
        synth: { rows: 100, nullKeys: 0, distinctKeys: 90, repeatedKeys: 10, surplusRows: 10 },
      },
    ]);
    expect(d.nulls.find((n) => n.column === "income")).toEqual({
      column: "income",
      real: { rows: 100, nulls: 11, share: 0.11 },
      synth: { rows: 100, nulls: 6, share: 0.06 },
    });
    const page = renderReport(keyed);
    const section = /<h2 id="diagnostics">[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    expect(section).toContain(`<td class="n flag">${atlantis} (${atlantis}%)</td>`);
    expect(section).toContain("<td>Atlantis</td>");
    expect(section).toContain("detected identifier");
    expect(section).toContain('<td class="n flag">10</td>');
    // The fixture's synthetic ages go below the real minimum 19: 2 rows (real range shown coarsely).
    expect(section).toContain('<td class="n flag">2 (2%)</td>');
    expect(section).toContain("<td>19 … 80</td>");
  });

  it("shows real extremes no finer than the histograms' axes", () => {
    expect([
      coarse("2423.23"),
      coarse("2020-01-07"),
      coarse("2020-01-07 10:00:00"),
      coarse("x"),
      coarse(null),
    ]).toEqual(["2420", "2020-01", "2020-01", "x", "—"]);
  });

  it("shows synthetic rows, and real rows only when asked for", () => {
    const section = (page: string) => /<h2 id="samples">[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    expect(evaluation.samples.real).toBeNull();
    expect(evaluation.samples.synth).toHaveLength(5);
    const plain = section(html);
    expect(plain).toContain("<h3>synthetic (synth.csv)</h3>");
    expect(plain).not.toContain("<h3>real");
    expect(plain).toContain("Real rows are not shown");
    const real = keyed.samples.real ?? [];
    expect(real).toHaveLength(5);
    const shown = section(renderReport(keyed));
    expect(shown).toContain("<h3>real (real_keyed)</h3>");
    for (const r of real) expect(shown).toContain(`<td>${r[0]}</td>`);
    expect(keyed.samples.columns[0]).toBe("age");
  });

  it("draws the convergence curve from a run history, or says why there is none", () => {
    expect(html).toContain(
      "No run history, so no convergence curve: no run database was given; pass the database of synthor synth --db with --db to draw it.",
    );
    const page = renderReport({
      ...evaluation,
      convergence: {
        runId: 2,
        status: "finished",
        planner: "stats",
        points: [
          { iteration: 1, rows: 50, meanTvd: 0.3, marginalTvd: 0.2, groupTvd: 0.4, maxTvd: 0.5 },
          { iteration: 2, rows: 100, meanTvd: 0.1, marginalTvd: 0.05, groupTvd: 0.2, maxTvd: 0.3 },
        ],
      },
      convergenceNote: null,
    });
    expect(page).toContain('aria-label="convergence"');
    expect(page).not.toContain("No run history");
  });
});

describe("synthor eval --report and --json", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const real = fixture("eval/real.csv");
  const synth = fixture("eval/synth.csv");

  it("carries the verdicts, diagnostics and synthetic sample rows in --json, real rows only with --show-real-rows", async () => {
    const { stdout } = await runEval(["--real", real, "--synth", synth, "--json"], { fast: true });
    const e = JSON.parse(stdout);
    expect(e.verdicts.floor.source).toBe("split");
    expect(e.verdicts.columns).toHaveLength(7);
    expect(e.diagnostics.ranges.find((r: { column: string }) => r.column === "age")).toMatchObject({
      real: { min: "19", max: "80" },
      below: 2,
    });
    expect(e.samples.synth).toHaveLength(5);
    expect(e.samples.real).toBeNull();
    const shown = JSON.parse(
      (await runEval(["--real", real, "--synth", synth, "--json", "--show-real-rows"], { fast: true }))
        .stdout,
    );
    expect(shown.samples.real).toHaveLength(5);
  });

  it("prints the verdicts and says why a run database draws no curve", async () => {
    const path = join(tmp.dir, "plain.duckdb");
    const other = await Db.open(path);
    try {
      await other.exec(`create table synthetic as select * from read_csv(${quoteLiteral(synth)})`);
    } finally {
      other.close();
    }
    const report = join(tmp.dir, "plain.html");
    const { stdout, error } = await runEval(["--db", path, "--real", real, "--report", report], {
      fast: true,
    });
    expect(error).toBeUndefined();
    expect(stdout).toContain("verdicts against the real floor (two halves of the real table):");
    expect(stdout).toMatch(/^ {2}(as real|close|off) +column shapes 0\.906 \(real floor /m);
    expect(readFileSync(report, "utf8")).toContain(
      `No run history, so no convergence curve: ${path} has no run history (no synthor_runs and synthor_iterations tables): it was not written by synthor synth --db.`,
    );
  });
});
