/**
 * The report opened in headless Chromium (Debian's `chromium` package) driven by playwright-core: the
 * page loads with no console error, every chart has drawn marks, verdicts are styled apart, the real
 * floors of the column bars are drawn, and a screenshot is taken. Skipped, with the reason in its name,
 * when /usr/bin/chromium or playwright-core is not installed, except under CI=1 (.ci/run sets it):
 * there a missing browser fails the test, so CI cannot pass without it.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../src/db/files.ts";
import { evaluateSynthetic } from "../src/evaluate/evaluate.ts";
import { renderReport } from "../src/report/html.ts";
import { loadPair } from "./fixtures/eval/load.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const missing = [
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} (apt-get install chromium)`,
  existsSync(join(packageRoot, "node_modules", "playwright-core"))
    ? undefined
    : "playwright-core (npm install)",
].filter((x) => x !== undefined);
/** CI=1 (or true): the browser is required, and missing it is a failure, not a skip. */
const required = ["1", "true"].includes(process.env.CI ?? "");

/** The part of playwright-core's API this test uses. */
interface Page {
  on(event: "console", fn: (msg: { type(): string; text(): string }) => void): void;
  on(event: "pageerror", fn: (err: Error) => void): void;
  on(event: "request", fn: (req: { url(): string }) => void): void;
  goto(url: string): Promise<unknown>;
  /** Evaluates a JavaScript expression in the page (text: this project's TypeScript has no DOM types). */
  evaluate<T>(expression: string): Promise<T>;
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
}
interface Playwright {
  chromium: {
    launchPersistentContext(
      dir: string,
      options: { executablePath: string; args: string[]; headless: boolean; offline: boolean },
    ): Promise<{ newPage(): Promise<Page>; close(): Promise<void> }>;
  };
}

describe.skipIf(missing.length > 0 && !required)(
  missing.length > 0 && !required
    ? `report in headless Chromium (skipped: missing ${missing.join(" and ")})`
    : "report in headless Chromium",
  () => {
    it("has Chromium and playwright-core to run with", () => {
      expect(missing, "CI=1 requires the browser test: install what is missing").toEqual([]);
    });

    it("loads without console errors, draws every chart and takes a screenshot", async () => {
      const dir = mkdtempSync(join(tmpdir(), "synthor-browser-"));
      const { db, profiles } = await loadPair();
      try {
        // A target table from the real rows, to draw the target-table heatmaps too.
        await db.exec("create table plan_churn as select plan, churn, count(*) as n from real group by all");
        const e = await evaluateSynthetic(db, {
          real: "real",
          synth: "synth",
          holdout: "holdout",
          profiles,
          target: "churn",
          flows: { columns: ["city", "plan"], baseline: "holdout" },
          targets: [{ table: "plan_churn", label: "plan x churn" }],
        });
        const report = join(dir, "report.html");
        writeFileSync(report, renderReport(e));
        const name = "playwright-core";
        const { chromium } = (await import(name)) as Playwright;
        const context = await chromium.launchPersistentContext(join(dir, "profile"), {
          executablePath: CHROMIUM,
          args: ARGS,
          headless: true,
          offline: true,
        });
        try {
          const page = await context.newPage();
          const errors: string[] = [];
          const requests: string[] = [];
          page.on("console", (msg) => {
            if (msg.type() === "error") errors.push(msg.text());
          });
          page.on("pageerror", (err) => errors.push(err.message));
          page.on("request", (req) => requests.push(req.url()));
          await page.goto(pathToFileURL(report).href);
          // Per chart: its label and how many marks have a box of some size once laid out.
          const drawn = await page.evaluate<{ label: string; marks: number }[]>(`
            [...document.querySelectorAll("svg.chart")].map((svg) => ({
              label: svg.getAttribute("aria-label"),
              marks: [...svg.querySelectorAll(".mark")].filter((m) => {
                const box = m.getBBox();
                return box.width > 0 || box.height > 0;
              }).length,
            }))
          `);
          // The border colour of each verdict's cards, and the drawn real-floor ticks of the column bars.
          const styles = await page.evaluate<Record<string, string[]>>(`
            Object.fromEntries(["as-real", "close", "off"].map((w) => [w,
              [...document.querySelectorAll(".card.verdict-" + w)].map((c) => getComputedStyle(c).borderLeftColor)]))
          `);
          const floors = await page.evaluate<number>(`
            [...document.querySelectorAll('svg[aria-label="column TVD"] line.floor')]
              .filter((l) => l.getBBox().height > 0).length
          `);
          const shot = join(dir, "report.png");
          await page.screenshot({ path: shot, fullPage: true });
          expect(errors).toEqual([]);
          // The page asks for nothing but itself.
          expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
          expect(drawn.length).toBeGreaterThanOrEqual(profiles.length + 4);
          expect(drawn.map((d) => d.label)).toEqual(
            expect.arrayContaining(["flows: synthetic − baseline", "synthetic − target"]),
          );
          for (const chart of drawn) expect(chart.marks, `chart ${chart.label}`).toBeGreaterThan(0);
          expect(drawn.map((d) => d.label)).toContain("column TVD");
          expect(floors).toBe(e.verdicts.columns.length);
          // The fixture has figures judged "as real" and "off": their cards look different.
          expect(styles["as-real"]?.length).toBeGreaterThan(0);
          expect(styles.off?.length).toBeGreaterThan(0);
          expect(new Set(styles["as-real"]).size).toBe(1);
          expect(styles.off).not.toContain(styles["as-real"]?.[0]);
          expect(statSync(shot).size).toBeGreaterThan(10_000);
        } finally {
          await context.close();
        }
      } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
