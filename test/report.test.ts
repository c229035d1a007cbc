/** The HTML report: self-contained, every chart drawn, user text escaped, the same for the same seed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { evaluateSynthetic } from "../src/evaluate/evaluate.ts";
import { profileColumns } from "../src/profile.ts";
import { renderReport } from "../src/report/html.ts";
import { readSource } from "../src/source.ts";
import { loadPair } from "./fixtures/eval/load.ts";

let db: Db;
let html: string;

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
        "column shape scores",
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
