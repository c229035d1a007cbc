/**
 * `synthor eval --flows` and `--target-table`: numbers worked out by hand on tiny trip tables, the report
 * sections, and the errors users see. The trips' real table has no activity column; the synthetic one
 * has, and it is compared with the target table instead.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEval } from "./eval-run.ts";
import { tempDir } from "./helpers.ts";

const run = (args: string[]) => runEval(args, { fast: true });

let tmp: { dir: string; cleanup: () => void };
const file = (name: string) => join(tmp.dir, name);

function csv(name: string, lines: string[]): string {
  writeFileSync(file(name), `${lines.join("\n")}\n`);
  return file(name);
}

/** `n` copies of a line. */
const times = (n: number, line: string) => Array.from({ length: n }, () => line);

let real: string;
let synth: string;
let baseline: string;
let target: string;

beforeAll(() => {
  tmp = tempDir();
  // Evening (e) trips: real A->B 2, B->A 2; synthetic A->B 3, B->A 1; baseline A->B 1, B->A 3.
  // Every table also has two morning (m) trips A->B, which --flows-filter "t = 'e'" leaves out.
  real = csv("real.csv", ["t,origin,dest", ...times(2, "m,A,B"), ...times(2, "e,A,B"), ...times(2, "e,B,A")]);
  synth = csv("synth.csv", [
    "t,origin,dest,activity",
    "m,A,B,Work",
    "m,A,B,Work",
    "e,A,B,Home",
    "e,A,B,Home",
    "e,A,B,Food",
    "e,B,A,Home",
  ]);
  baseline = csv("baseline.csv", [
    "t,origin,dest,activity",
    ...times(2, "m,A,B,Work"),
    "e,A,B,Home",
    ...times(3, "e,B,A,Home"),
  ]);
  // Target: m Work 3, m Home 1, e Home 2, e Food 2 (total 8).
  target = csv("target.csv", ["t,activity,n", "m,Work,3", "m,Home,1", "e,Home,2", "e,Food,2"]);
});
afterAll(() => tmp?.cleanup());

describe("synthor eval --flows", () => {
  it("compares OD shares within the filter, against the real table and the baseline", async () => {
    const { stdout, error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--flows",
      "origin,dest",
      "--flows-filter",
      "t = 'e'",
      "--flows-baseline",
      baseline,
      "--target-table",
      target,
      "--json",
    ]);
    expect(error).toBeUndefined();
    const e = JSON.parse(stdout);
    // Within t = 'e': real A->B 2/4, B->A 2/4; synthetic 3/4, 1/4; baseline 1/4, 3/4.
    expect(e.flows.rows).toEqual({ real: 4, synth: 4, baseline: 4 });
    expect(e.flows.fromValues).toEqual(["A", "B"]);
    expect(e.flows.toValues).toEqual(["A", "B"]);
    expect(e.flows.cells).toEqual([
      {
        from: "A",
        to: "B",
        real: { n: 2, share: 0.5 },
        synth: { n: 3, share: 0.75 },
        baseline: { n: 1, share: 0.25 },
      },
      {
        from: "B",
        to: "A",
        real: { n: 2, share: 0.5 },
        synth: { n: 1, share: 0.25 },
        baseline: { n: 3, share: 0.75 },
      },
    ]);
    // TVD = (|0.75 - 0.5| + |0.25 - 0.5|) / 2 = 0.25; against the baseline (0.5 + 0.5) / 2 = 0.5.
    expect(e.flows.tvd).toEqual({ synthReal: 0.25, synthBaseline: 0.5, baselineReal: 0.25 });
    expect(e.metrics.map((m: { key: string }) => m.key)).toEqual(
      expect.arrayContaining(["flows.tvd.synthReal", "targets[].tvd", "targets[].withinTvd"]),
    );
  });

  it("prints the flows and the cells that moved most", async () => {
    const { stdout, error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--target-table",
      target,
      "--flows",
      "origin,dest",
    ]);
    expect(error).toBeUndefined();
    // Without a filter: real A->B 4/6, B->A 2/6; synthetic 5/6, 1/6: TVD 1/6.
    expect(stdout).toContain("flows origin -> dest: 6 real, 6 synthetic rows; TVD synthetic vs real 0.1667");
    expect(stdout).toMatch(
      /origin +dest +real_share +synth_share\n[- ]+\nA +B +0\.6667 +0\.8333\nB +A +0\.3333 +0\.1667/,
    );
  });

  it("leaves the output of a plain evaluation as it was", async () => {
    const plainSynth = csv("plain.csv", ["t,origin,dest", ...times(6, "e,A,B")]);
    const { stdout } = await run(["--real", real, "--synth", plainSynth, "--json"]);
    const e = JSON.parse(stdout);
    expect(Object.keys(e)).not.toContain("flows");
    expect(Object.keys(e)).not.toContain("targets");
    expect(e.metrics.map((m: { key: string }) => m.key)).not.toContain("flows.tvd.synthReal");
  });
});

describe("synthor eval --target-table", () => {
  it("compares the synthetic activity with the target's shares, joint and within each time bin", async () => {
    const { stdout, error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--target-table",
      target,
      "--json",
    ]);
    expect(error).toBeUndefined();
    const [t] = JSON.parse(stdout).targets;
    expect(t.columns).toEqual(["t", "activity"]);
    expect(t.weight).toBe("n");
    expect(t.total).toEqual({ target: 8, synth: 6 });
    // Synthetic: m Work 2, e Home 3, e Food 1 (of 6). Target shares: m Work 3/8, m Home 1/8, e Home 2/8,
    // e Food 2/8. Joint TVD = (|2/6 - 3/8| + 1/8 + |3/6 - 2/8| + |1/6 - 2/8|) / 2 = 0.25.
    expect(t.tvd).toBeCloseTo(0.25, 12);
    // Within m: target Work 3/4, Home 1/4; synthetic Work 1: TVD 1/4. Within e: target Home 1/2, Food 1/2;
    // synthetic Home 3/4, Food 1/4: TVD 1/4. Weighted by the target's m and e shares (1/2 each): 1/4.
    expect(t.withinTvd).toBeCloseTo(0.25, 12);
    expect(t.conditions.map((c: { condition: string[]; tvd: number }) => [c.condition, c.tvd])).toEqual([
      [["e"], 0.25],
      [["m"], 0.25],
    ]);
  });

  it("takes shares instead of counts, and several target tables", async () => {
    const shares = csv("shares.csv", [
      "t,activity,share",
      "m,Work,0.375",
      "m,Home,0.125",
      "e,Home,0.25",
      "e,Food,0.25",
    ]);
    const { stdout, error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--target-table",
      target,
      "--target-table",
      shares,
      "--json",
    ]);
    expect(error).toBeUndefined();
    const [byCount, byShare] = JSON.parse(stdout).targets;
    expect(byShare.weight).toBe("share");
    expect(byShare.tvd).toBeCloseTo(byCount.tvd, 12);
    expect(byShare.withinTvd).toBeCloseTo(byCount.withinTvd, 12);
  });

  it("prints one line per target table", async () => {
    const { stdout } = await run(["--real", real, "--synth", synth, "--target-table", target]);
    expect(stdout).toContain(
      `target ${target} (t x activity, 8 by n; synthetic 6 rows): TVD 0.25; activity within t: TVD 0.25`,
    );
  });

  it("writes the flows and target sections into the report", async () => {
    const report = file("report.html");
    const args = ["--real", real, "--synth", synth, "--target-table", target, "--report", report];
    await run([
      ...args,
      "--flows",
      "origin,dest",
      "--flows-filter",
      "t <> 'x<y>'",
      "--flows-baseline",
      baseline,
    ]);
    const html = readFileSync(report, "utf8");
    expect(html).toContain('<h2 id="flows">Flows</h2>');
    expect(html).toContain('<h2 id="targets">Target tables</h2>');
    expect(html).not.toMatch(/<script/i);
    // The filter is the user's text: escaped.
    expect(html).toContain("t &lt;&gt; &#39;x&lt;y&gt;&#39;");
    const labels = [...html.matchAll(/<svg class="chart"[^>]*aria-label="([^"]*)"/g)].map((m) => m[1]);
    expect(labels).toEqual(
      expect.arrayContaining([
        "flows: real",
        "flows: synthetic",
        "flows: synthetic − real",
        "flows: baseline",
        "flows: synthetic − baseline",
        "target",
        "synthetic",
        "synthetic − target",
        "t profile",
      ]),
    );
    // Two origins x two destinations in each of five flow heatmaps; 2 x 3 cells in each of three target
    // heatmaps (the target names Food, Home, Work).
    const flowMarks = [...html.matchAll(/<svg class="chart"[^>]*aria-label="flows: [^"]*"[\s\S]*?<\/svg>/g)]
      .map((m) => (m[0].match(/class="mark"/g) ?? []).length)
      .reduce((s, n) => s + n, 0);
    expect(flowMarks).toBe(5 * 4);
    await run([
      ...args,
      "--flows",
      "origin,dest",
      "--flows-filter",
      "t <> 'x<y>'",
      "--flows-baseline",
      baseline,
    ]);
    expect(readFileSync(report, "utf8")).toBe(html);
  });
});

describe("the flows heatmaps of many zones", () => {
  it("keep the 39 busiest values of each axis and pool the rest", async () => {
    // 45 origins and destinations; trips from z<i> to z<(i+1) % 45>, zone z0 busiest (3 trips out).
    const lines = Array.from({ length: 45 }, (_, i) => `z${i},z${(i + 1) % 45}`);
    const many = csv("many.csv", ["origin,dest", ...lines, "z0,z1", "z0,z1"]);
    const report = file("many.html");
    const { stdout, error } = await run([
      "--real",
      many,
      "--synth",
      many,
      "--categorical",
      "origin,dest",
      "--flows",
      "origin,dest",
      "--report",
      report,
    ]);
    expect(error).toBeUndefined();
    // The TVD uses every cell.
    expect(stdout).toContain("flows origin -> dest: 47 real, 47 synthetic rows; TVD synthetic vs real 0");
    const html = readFileSync(report, "utf8");
    const real = /<svg class="chart"[^>]*aria-label="flows: real"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? "";
    expect((real.match(/class="mark"/g) ?? []).length).toBe(40 * 40);
    expect(real).toContain("(6 others)");
    expect(real).toContain("z0 → z1: real 6.38% (3 rows)");
    expect(html).toContain("The heatmaps keep the 39 values of each axis with the most trips");
  });
});

describe("values from the user's files in the new sections", () => {
  it("are escaped in heatmap labels and tooltips", async () => {
    const hostile = csv("hostile.csv", ["t,origin,dest", "e,<b>&x,B", "e,B,<b>&x", "e,B,<b>&x"]);
    const hostileTarget = csv("hostile-target.csv", ["t,origin,n", "e,<b>&x,1", "e,B,2"]);
    const report = file("hostile.html");
    const args = ["--real", hostile, "--synth", hostile, "--flows", "origin,dest", "--report", report];
    const { error } = await run([...args, "--target-table", hostileTarget]);
    expect(error).toBeUndefined();
    const html = readFileSync(report, "utf8");
    expect(html).not.toContain("<b>&x");
    expect(html).toContain("&lt;b&gt;&amp;x → B: real 33.3% (1 rows)");
    expect(html).toContain("e · &lt;b&gt;&amp;x: target 33.3% of e");
  });
});

describe("errors of --flows and --target-table", () => {
  it("still rejects a synthetic column the real table lacks when no target table names it", async () => {
    const { error } = await run(["--real", real, "--synth", synth]);
    expect(error?.message).toBe(
      'the synthetic table has a column "activity" that the real table does not have',
    );
  });

  it("asks for the weight column of a target table", async () => {
    const bad = csv("noweight.csv", ["t,activity,count_of", "m,Work,3"]);
    const { error } = await run(["--real", real, "--synth", synth, "--target-table", bad]);
    expect(error?.describe()).toBe(
      `error: the target table ${bad} has no weight column (n or share)\n` +
        "  hint: give it a column n with each cell's count (or share with its share), e.g. time_bin,activity,n",
    );
  });

  it("names a target column the synthetic table lacks", async () => {
    const plain = csv("noactivity.csv", ["t,origin,dest", ...times(3, "e,A,B")]);
    const { error } = await run(["--real", real, "--synth", plain, "--target-table", target]);
    expect(error?.describe()).toBe(
      `error: the synthetic table has no column "activity", which the target table ${target} has\n` +
        "  hint: make the synthetic table with synthor synth --targets TARGET (it adds the column), or compare a target table whose columns it has",
    );
  });

  it("rejects negative, missing and non-numeric weights", async () => {
    for (const [name, value] of [
      ["negative.csv", "-1"],
      ["missing.csv", ""],
      ["text.csv", "many"],
    ]) {
      const bad = csv(name ?? "", ["t,activity,n", "m,Work,3", `e,Home,${value}`]);
      const { error } = await run(["--real", real, "--synth", synth, "--target-table", bad]);
      expect(error?.message).toBe(
        `the weight column n of the target table ${bad} must hold non-negative numbers with a positive sum`,
      );
    }
  });

  it("wants two flow columns, and --flows before its filter", async () => {
    let { error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--target-table",
      target,
      "--flows",
      "origin",
    ]);
    expect(error?.describe()).toBe(
      "error: --flows origin names 1 column, not 2\n  hint: give the origin and the destination column, e.g. --flows origin,dest",
    );
    ({ error } = await run(["--real", real, "--synth", synth, "--flows-filter", "t = 'e'"]));
    expect(error?.describe()).toBe(
      "error: --flows-filter needs --flows\n  hint: name the origin and destination columns, e.g. --flows origin,dest",
    );
  });

  it("names a flow column a side lacks", async () => {
    const { error } = await run([
      "--real",
      real,
      "--synth",
      synth,
      "--target-table",
      target,
      "--flows",
      "origin,activity",
    ]);
    expect(error?.message).toBe('the real table has no column "activity" for --flows');
  });

  it("suggests the column meant by a misspelt --flows column or --flows-filter column", async () => {
    const base = ["--real", real, "--synth", synth, "--target-table", target];
    let { error } = await run([...base, "--flows", "origin,dset"]);
    expect(error?.message).toContain('1. the real table has no column "dset" for --flows');
    expect(error?.hint).toMatch(
      /^\(1\) did you mean dest\? --flows takes the origin and destination columns/,
    );
    ({ error } = await run([...base, "--flows", "origin,dest", "--flows-filter", "orgin = 'a'"]));
    expect(error?.hint).toMatch(/^did you mean origin\? give a SQL condition on the tables' columns/);
  });

  it("reports a filter DuckDB rejects, and one that keeps no row", async () => {
    const base = ["--real", real, "--synth", synth, "--target-table", target, "--flows", "origin,dest"];
    let { error } = await run([...base, "--flows-filter", "nonexistent = 1"]);
    expect(error?.code).toBe("CONFIG_INVALID");
    expect(error?.message).toMatch(/^--flows-filter "nonexistent = 1" does not work on the real table: /);
    ({ error } = await run([...base, "--flows-filter", "t = 'never'"]));
    expect(error?.describe()).toBe(
      "error: --flows-filter keeps no row of the real table\n" +
        "  hint: loosen the condition, or check its values against the table (synthor profile shows them)",
    );
  });
});
