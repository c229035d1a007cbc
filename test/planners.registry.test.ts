/**
 * The planner registry (src/planners/registry.ts): the one list --planner chooses from, which the docs'
 * table and the recorded config follow.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLANNERS_DOC, withPlannerTable } from "../scripts/docs.ts";
import { PLANNER_NAMES, PLANNERS, plannerTable, preparePlanner } from "../src/planners/registry.ts";
import type { PlannerOptions } from "../src/planners/types.ts";

const defaults: PlannerOptions = {
  concurrency: 1,
  temperature: 0.8,
  minCell: 5,
  cache: false,
  cacheDir: "/nonexistent",
  timeout: 1,
  seed: 0,
};

describe("the planner registry", () => {
  it("is what docs/planners.md lists (npm run docs rewrites the table)", () => {
    const page = readFileSync(PLANNERS_DOC, "utf8");
    expect(page, "docs/planners.md is stale: run npm run docs").toBe(withPlannerTable(page, plannerTable()));
    for (const name of PLANNER_NAMES) expect(page).toContain(`| \`${name}\` |`);
  });

  it("names each planner once, with the default (stats) last and implied by nothing", () => {
    expect(new Set(PLANNER_NAMES).size).toBe(PLANNERS.length);
    expect(PLANNER_NAMES.at(-1)).toBe("stats");
    expect(PLANNERS.at(-1)?.impliedBy).toBeUndefined();
    // Implied by some options: said in words for the docs too, or neither.
    for (const k of PLANNERS) expect(k.implied === undefined).toBe(k.impliedBy === undefined);
  });

  it("prepares the named planner, else the implied one, else stats, and records its config", async () => {
    const said: string[] = [];
    const say = (line: string) => said.push(line);
    const stats = await preparePlanner(defaults, say);
    expect(stats.config).toEqual({ kind: "stats" });
    expect(said[0]).toMatch(/^synthor: no LLM configured; planning with the statistical planner/);
    expect(stats.nested).toBeTypeOf("function");

    // --model implies llm; no request is made before the run (the model is named).
    const llm = await preparePlanner({ ...defaults, model: "m", baseUrl: "http://127.0.0.1:9/v1" }, say);
    expect(llm.config).toEqual({
      kind: "llm",
      model: "m",
      baseUrl: "http://127.0.0.1:9/v1",
      temperature: 0.8,
      minCell: 5,
      scenario: null,
      concurrency: 1,
      maxTokens: null,
    });
    expect(said[1]).toMatch(/^synthor: planning with llm:m \(m at http:\/\/127\.0\.0\.1:9\/v1; /);
    await llm.close?.();

    // Named, it wins over what the options imply.
    const named = await preparePlanner({ ...defaults, model: "m", planner: "stats" }, say);
    expect(named.config).toEqual({ kind: "stats" });
    expect(said[2]).toBe("synthor: planning with the statistical planner (--planner stats)");
  });

  it("refuses a name it does not have, listing those it has", async () => {
    await expect(preparePlanner({ ...defaults, planner: "oracle" }, () => undefined)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: 'there is no planner "oracle"',
      hint: `choose one of: ${PLANNER_NAMES.join(", ")}`,
    });
  });

  it("refuses --planner local without --model-file before loading anything", async () => {
    await expect(preparePlanner({ ...defaults, planner: "local" }, () => undefined)).rejects.toThrow(
      "--planner local needs --model-file",
    );
  });
});
