/**
 * `npm run bench`: every benchmark, side by side in one run, medians over repeats. Writes
 * docs/benchmarks.md and docs/benchmarks.json. `--quick` uses fewer repeats and smaller tables (a smoke
 * run, not figures to quote); `--only NAME` runs one benchmark (summarize, synth, scale, ecommerce, adult,
 * llm, from-summary, reference, population, startup, peers); `--peers` adds the SDV comparison (docs/peers.md),
 * which needs `bash bench/peers/setup.sh` first.
 *
 * Three of them are slow and keep their own figures (written on a full run or with `--only NAME`, never
 * with `--quick`), besides their section here. Times on the shared 2-core machine:
 * - from-summary (bench/from-summary.ts; docs/from-summary-benchmark.md and .json): e-commerce and Adult,
 *   summarize, then synth from the microdata and from the summary file, seeds 1-3: about 11 min
 *   (`--quick`: seed 1, 2 min 40 s).
 * - reference (bench/reference.ts; docs/reference-benchmark.json and the generated section of
 *   docs/reference-benchmark.md): --where twice, --targets, --tilt on Adult, about 9-10 min (`--quick`:
 *   the holdout --where run only, 41 s).
 * - population (examples/population/run.ts; examples/population/RESULTS.md and
 *   docs/population-benchmark.json): the independent baseline and the resample over seeds 0-4 (36 s), and
 *   Synthor's nested run of the 27,980 households over seeds 0-2 (1-2 min each). `--quick`: seed 0.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { benchTable } from "./data.ts";

const root = join(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
const only = process.argv[process.argv.indexOf("--only") + 1];
const want = (name: string) => !process.argv.includes("--only") || only === name;

function scenario(name: string, args: Record<string, unknown>): Record<string, number | number[]> {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", join(root, "bench", "scenarios.ts"), name, JSON.stringify(args)],
    {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(out.trim().split("\n").pop() as string);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

const results: Record<string, unknown> = {};
const sections: string[] = [];

if (want("summarize")) {
  const rows = quick ? [100_000, 1_000_000] : [100_000, 1_000_000, 10_000_000];
  const repeats = quick ? 1 : 3;
  const table: Record<string, unknown>[] = [];
  for (const n of rows) {
    const path = await benchTable(n);
    const runs = Array.from({ length: repeats }, () =>
      scenario("summarize", {
        path,
        groups: [
          ["age", "status"],
          ["segment", "score"],
          ["region", "channel"],
        ],
      }),
    );
    const duck = median(runs.map((r) => r.summarizeSeconds as number));
    const ours = median(runs.map((r) => r.synthorSeconds as number));
    const ratio = median(runs.map((r) => (r.synthorSeconds as number) / (r.summarizeSeconds as number)));
    table.push({
      rows: n,
      duckdbSummarizeSeconds: round(duck),
      synthorSeconds: round(ours),
      ratio: round(ratio, 2),
      peakRssMb: round(median(runs.map((r) => r.peakRssMb as number)), 0),
    });
  }
  results.summarize = table;
  sections.push(
    [
      "## Summarize vs DuckDB's SUMMARIZE",
      "",
      "A generated 10-column Parquet table (5 numeric, 5 categorical; `bench/data.ts`). Synthor: read, profile every",
      "column, main bins and frequencies of every column, the sampler's quantile grids, and three 2-column",
      "contingency tables. DuckDB: `SUMMARIZE` of the same file. Both in the same child process, one after the",
      `other; median of ${repeats} run(s); ratio = synthor / SUMMARIZE, the median of the per-run ratios.`,
      "",
      "| rows | SUMMARIZE s | synthor s | ratio | peak RSS MB (whole process) |",
      "| ---: | ---: | ---: | ---: | ---: |",
      ...table.map(
        (r) =>
          `| ${r.rows} | ${r.duckdbSummarizeSeconds} | ${r.synthorSeconds} | ${r.ratio} | ${r.peakRssMb} |`,
      ),
    ].join("\n"),
  );
}

if (want("synth")) {
  const n = quick ? 100_000 : 1_000_000;
  const path = await benchTable(n);
  const r = scenario("synth", { path, rows: n, iterations: 100 });
  const its = r.iterationSeconds as number[];
  const early = median(its.slice(1, 11));
  const late = median(its.slice(-10));
  const figures = {
    realRows: n,
    syntheticRows: r.rows,
    seconds: round(r.seconds as number, 1),
    rowsPerSecond: round((r.rows as number) / (r.seconds as number), 0),
    iterationSecondsEarly: round(early),
    iterationSecondsLate: round(late),
    lateOverEarly: round(late / early, 2),
    meanTvd: round(r.meanTvd as number, 5),
    peakRssMb: round(r.peakRssMb as number, 0),
  };
  results.synth = figures;
  sections.push(
    [
      "## Synthesis speed (statistical planner)",
      "",
      `${figures.syntheticRows} synthetic rows from the ${n}-row generated table, 100 iterations (${n / 100} rows each).`,
      "Iteration cost is the median `seconds` of `synthor_iterations` (planning and sampling) over iterations",
      `2-11 (synthetic table ${n / 100} to ${(n / 100) * 11} rows) and over the last 10 (about ${n} rows).`,
      "",
      "| whole run s | rows/s | iteration s, early | iteration s, late | late / early | mean TVD | peak RSS MB |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      `| ${figures.seconds} | ${figures.rowsPerSecond} | ${figures.iterationSecondsEarly} | ${figures.iterationSecondsLate} | ${figures.lateOverEarly} | ${figures.meanTvd} | ${figures.peakRssMb} |`,
    ].join("\n"),
  );
}

if (want("scale") && !quick) {
  // Memory as the input grows: 1M synthetic rows from the 10M-row table (its whole process under 2 GB).
  const path = await benchTable(10_000_000);
  const r = scenario("synth", { path, rows: 1_000_000, iterations: 100 });
  const figures = {
    realRows: 10_000_000,
    syntheticRows: r.rows,
    seconds: round(r.seconds as number, 1),
    peakRssMb: round(r.peakRssMb as number, 0),
    meanTvd: round(r.meanTvd as number, 5),
  };
  results.scale = figures;
  sections.push(
    [
      "## Memory with a 10M-row real table",
      "",
      "1,000,000 synthetic rows from the 10,000,000-row generated table (100 iterations): the whole run, summaries of",
      "the 10M rows included, and the peak resident set of its process.",
      "",
      "| whole run s | peak RSS MB | mean TVD |",
      "| ---: | ---: | ---: |",
      `| ${figures.seconds} | ${figures.peakRssMb} | ${figures.meanTvd} |`,
    ].join("\n"),
  );
}

if (want("ecommerce")) {
  const seeds = [1, 2, 3];
  const runs = seeds.map((seed) =>
    scenario("ecommerce", { path: join(root, "examples", "ecommerce", "ecommerce.csv"), seed }),
  );
  // The paper's LLMSynthor row (Tables 2 and 3; JSD read as distances, see shared/paper/NOTES.md).
  const paper: Record<string, number> = {
    "W user_age": 1.13,
    "TVD gender": 0.002,
    "TVD location_tier": 0.002,
    "TVD product_category": 0.01,
    "W price": 12.762,
    "TVD payment_method": 0.003,
    "JSD [user_age, gender, product_category]": 0.071,
    "JSD [product_category, price]": 0.134,
    "JSD [location_tier, payment_method]": 0.007,
    "C2ST gap [user_age]": 0.023,
    "C2ST gap [gender]": 0.008,
    "C2ST gap [location_tier]": 0.012,
    "C2ST gap [product_category]": 0.022,
    "C2ST gap [price]": 0.011,
    "C2ST gap [payment_method]": 0.004,
    "C2ST gap [user_age, gender, product_category]": 0.022,
    "C2ST gap [product_category, price]": 0.02,
    "C2ST gap [location_tier, payment_method]": 0.007,
  };
  const rows = Object.keys(paper).map((metric) => {
    const values = runs.map((r) => r[metric] as number);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return {
      metric,
      synthor: round(mean, 4),
      seeds: values.map((v) => round(v, 4)),
      paper: paper[metric] as number,
      better: mean < (paper[metric] as number),
    };
  });
  results.ecommerce = { seeds, seconds: runs.map((r) => round(r.seconds as number, 1)), metrics: rows };
  sections.push(
    [
      "## Fidelity on examples/ecommerce (paper Tables 2 and 3)",
      "",
      "The 2,000-row reference sample of the paper's e-commerce network; 2,000 synthetic rows with the statistical",
      `planner, seeds ${seeds.join(", ")}; mean over seeds beside the paper's LLMSynthor row. W is Wasserstein-1 in the`,
      "column's units, TVD total variation, JSD the Jensen-Shannon distance (natural log, numeric columns in real",
      "deciles), C2ST gap |accuracy - 0.5| of a logistic regression, 5-fold, on the column or subset alone.",
      `Synthesis took ${runs.map((r) => round(r.seconds as number, 1)).join(", ")} s.`,
      "",
      "| metric | synthor (mean) | per seed | paper LLMSynthor | lower than paper |",
      "| --- | ---: | --- | ---: | --- |",
      ...rows.map(
        (r) =>
          `| ${r.metric} | ${r.synthor} | ${r.seeds.join(", ")} | ${r.paper} | ${r.better ? "yes" : "**no**"} |`,
      ),
    ].join("\n"),
  );
}

if (want("adult")) {
  const seeds = quick ? [1] : [1, 2, 3];
  const runs = seeds.map((seed) =>
    scenario("adult", { path: join(root, "..", "shared", "data", "adult", "adult.csv"), seed }),
  );
  const mean = (k: string) => runs.reduce((a, r) => a + (r[k] as number), 0) / runs.length;
  const figures = {
    seeds,
    seconds: runs.map((r) => round(r.seconds as number, 1)),
    synthPairTvd: round(mean("synthPairTvd"), 4),
    baselinePairTvd: round(mean("baselinePairTvd"), 4),
    ratio: round(mean("ratio"), 3),
    synthExactShare: round(mean("synthExactShare"), 5),
    holdoutExactShare: round(mean("holdoutExactShare"), 5),
    synthDcrMedian: round(mean("synthDcrMedian"), 4),
    holdoutDcrMedian: round(mean("holdoutDcrMedian"), 4),
  };
  results.adult = figures;
  sections.push(
    [
      "## Adult: pairwise fidelity and privacy",
      "",
      "`../shared/data/adult` split in two random halves (a fixed hash of the row number). Synthor learns from",
      "one half (train) and synthesizes as many rows; both the synthetic table and the train half itself (the",
      "baseline: a real sample of the same size) are scored against the other half (holdout). Pair TVD: mean over",
      "all 105 column pairs, numeric columns in the holdout's deciles. Privacy: share of rows identical to a",
      "train row, and the median distance to the closest train row (DCR, SDMetrics' normalization), for the",
      `synthetic rows and for the holdout rows. Mean over seeds ${seeds.join(", ")}; synthesis took ${figures.seconds.join(", ")} s.`,
      "",
      "| | synthetic | real baseline | synthetic / baseline |",
      "| --- | ---: | ---: | ---: |",
      `| mean pair TVD | ${figures.synthPairTvd} | ${figures.baselinePairTvd} | ${figures.ratio} (target at most 1.2) |`,
      `| rows identical to a train row | ${figures.synthExactShare} | ${figures.holdoutExactShare} | |`,
      `| median DCR to train (higher is more private) | ${figures.synthDcrMedian} | ${figures.holdoutDcrMedian} | |`,
    ].join("\n"),
  );
}

if (want("llm")) {
  // The LLM planner against a scripted OpenAI-compatible server on 127.0.0.1 (bench/llm.ts).
  const out = execFileSync(process.execPath, ["--import", "tsx", join(root, "bench", "llm.ts")], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const figures = JSON.parse(out.trim().split("\n").pop() as string) as {
    overhead: { planMsMedian: number; planMsP90: number; iterationMsMedian: number };
    concurrency: { iterations: number; wallSeconds: number; wallSecondsConcurrency1?: number };
  };
  results.llm = figures;
  sections.push(
    [
      "## LLM planner overhead (scripted server on loopback)",
      "",
      "examples/ecommerce, 2,000 rows in 100 iterations of 5 proposals, against a local OpenAI-compatible server",
      "that answers at once (planner time: prompt, HTTP round trip, parsing, validation); then 20 iterations",
      "against a server that takes 1 s per reply, with `--concurrency 4` (and 1 for comparison). `bench/llm.ts`.",
      "",
      "| planner ms / iteration, median (p90) | whole iteration ms, median | 20 iterations, 1 s replies, concurrency 4 | same, concurrency 1 |",
      "| ---: | ---: | ---: | ---: |",
      `| ${figures.overhead.planMsMedian} (${figures.overhead.planMsP90}) | ${figures.overhead.iterationMsMedian} | ${figures.concurrency.wallSeconds} s | ${figures.concurrency.wallSecondsConcurrency1 ?? "—"} s |`,
    ].join("\n"),
  );
}

/**
 * Runs a bench script in its own process; its JSON figures end its stdout, on one line or pretty-printed
 * (from the last line that starts with "{").
 */
function child(script: string, args: string[] = [], env: Record<string, string> = {}): unknown {
  const out = execFileSync(process.execPath, ["--import", "tsx", join(root, script), ...args], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  const lines = out.trim().split("\n");
  let start = lines.length - 1;
  while (start > 0 && !lines[start]?.startsWith("{")) start--;
  return JSON.parse(lines.slice(start).join("\n"));
}

if (want("from-summary")) {
  // Writes docs/from-summary-benchmark.md and .json itself unless --quick.
  const { fromSummaryMarkdown } = await import("./from-summary.ts");
  const figures = child("bench/from-summary.ts", quick ? ["--quick"] : []) as Parameters<
    typeof fromSummaryMarkdown
  >[0];
  results.fromSummary = figures;
  sections.push(fromSummaryMarkdown(figures));
}

if (want("reference")) {
  const { ADULT, referenceSection, writeReferenceDocs } = await import("./reference-doc.ts");
  if (!existsSync(ADULT)) {
    sections.push(`## --where, --targets, --tilt on Adult\n\nSkipped: ${ADULT} not found.`);
  } else {
    // --quick: the holdout --where run alone (the 1.2 target), not the other three.
    const figures = child(
      "bench/reference.ts",
      [ADULT, join(root, "bench", "out", "reference")],
      quick ? { BENCH_ONLY: "where" } : {},
    ) as Parameters<typeof referenceSection>[0];
    results.reference = figures;
    if (!quick) writeReferenceDocs(figures);
    sections.push(referenceSection(figures, "##"));
  }
}

if (want("population")) {
  const { runPopulationBenchmark, populationSection } = await import("./population.ts");
  const figures = await runPopulationBenchmark({ quick });
  results.population = figures;
  sections.push(populationSection(figures));
}

if (want("startup")) {
  // `synthor --help` against `node -e 0` and the sources through tsx (bench/startup.ts; docs/startup.md).
  const { startupSection } = await import("./startup.ts");
  const figures = child("bench/startup.ts", quick ? ["--quick"] : []) as Parameters<typeof startupSection>[0];
  results.startup = figures;
  sections.push(startupSection(figures));
}

// The SDV peers take a quarter of an hour (CTGAN on Adult): `npm run bench -- --peers` (or `--only peers`);
// their own figures are in docs/peers.md (`npx tsx bench/peers.ts`).
if ((process.argv.includes("--peers") || only === "peers") && !quick) {
  const { runPeers } = await import("./peers.ts");
  const peers = await runPeers();
  results.peers = peers.json;
  sections.push(peers.markdown);
}

const machine = {
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`,
  memoryGb: round(totalmem() / 2 ** 30, 1),
  node: process.version,
  date: new Date().toISOString().slice(0, 10),
  quick,
};
mkdirSync(join(root, "docs"), { recursive: true });
const md = [
  "# Benchmarks",
  "",
  `Generated by \`npm run bench${quick ? " -- --quick" : ""}\` on ${machine.date}: ${machine.cpus}, ${machine.memoryGb} GiB, Node ${machine.node}.`,
  "The machine is shared: compare figures measured in the same run, not across runs.",
  "Synthor against SDV GaussianCopula and CTGAN: [peers.md](peers.md) (`npx tsx bench/peers.ts`).",
  "The slow ones also keep their own figures: [from-summary-benchmark.md](from-summary-benchmark.md),",
  "[reference-benchmark.md](reference-benchmark.md), [../examples/population/RESULTS.md](../examples/population/RESULTS.md)",
  "(JSON beside each: from-summary-benchmark.json, reference-benchmark.json, population-benchmark.json).",
  "",
  ...sections.flatMap((s) => [s, ""]),
].join("\n");
if (!process.argv.includes("--only")) {
  writeFileSync(join(root, "docs", "benchmarks.md"), md);
  writeFileSync(join(root, "docs", "benchmarks.json"), `${JSON.stringify({ machine, results }, null, 2)}\n`);
}
process.stdout.write(`${md}\n`);
