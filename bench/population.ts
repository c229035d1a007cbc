/**
 * The population example as a benchmark (`npm run bench -- --only population`): runs
 * examples/population/run.ts (the independent baseline and the real-household resample over seeds 0-4,
 * and Synthor's nested synthesis over seeds 0-2 when `synthor synth` has --child, else the baseline alone,
 * saying so),
 * then writes what it wrote to out/results.md to examples/population/RESULTS.md under a header, and its
 * figures to docs/population-benchmark.json. `--quick`: seed 0 only, nothing written.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { DEFAULT_DATA } from "../examples/population/prepare.ts";
import { CATEGORIES, PAPER_TABLE4, runPopulation, synthHasChild } from "../examples/population/run.ts";

const root = join(import.meta.dirname, "..");
const OUT = join(root, "bench", "out", "population");

interface EvalJson {
  queries: {
    name: string;
    category: string | null;
    real: number | null;
    synth: number | null;
    relError: number | null;
  }[];
  queryCategories: { category: string; results: number; scored: number; meanRelError: number | null }[];
}

export interface PopulationFigures {
  date: string;
  machine: string;
  quick: boolean;
  data: string;
  skipped?: string;
  seeds: number[];
  nested: boolean;
  seconds: number;
  /** Per method: mean relative error per category, mean over its runs (seeds), and each run's. */
  methods: {
    method: string;
    runs: { file: string; categories: Record<string, number | null> }[];
    meanRelError: Record<string, number | null>;
  }[];
  paperTable4: Record<string, number>;
  notes: string[];
  markdown: string;
}

const METHODS: { method: string; pattern: RegExp }[] = [
  { method: "independent baseline", pattern: /^eval_baseline_seed\d+\.json$/ },
  { method: "real households resampled", pattern: /^eval_resample_seed\d+\.json$/ },
  { method: "Synthor (nested)", pattern: /^eval_synthor(_seed\d+)?\.json$/ },
];

export async function runPopulationBenchmark(options: { quick: boolean }): Promise<PopulationFigures> {
  const seeds = options.quick ? [0] : [0, 1, 2, 3, 4];
  const base = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`,
    quick: options.quick,
    data: DEFAULT_DATA,
    seeds,
    paperTable4: PAPER_TABLE4,
  };
  if (!existsSync(DEFAULT_DATA)) {
    return {
      ...base,
      skipped: `${DEFAULT_DATA} not found`,
      nested: false,
      seconds: 0,
      methods: [],
      notes: [],
      markdown: "",
    };
  }
  // A fresh set of eval files: which methods ran is read from the files this run writes.
  if (existsSync(OUT))
    for (const f of readdirSync(OUT)) if (/^eval_.*\.json$/.test(f)) rmSync(join(OUT, f), { force: true });
  const nested = await synthHasChild();
  const t0 = performance.now();
  const markdown = await runPopulation([
    "--out",
    OUT,
    "--seeds",
    seeds.join(","),
    "--synth-seed",
    (options.quick ? [0] : [0, 1, 2]).join(","),
  ]);
  const seconds = (performance.now() - t0) / 1000;
  const files = readdirSync(OUT).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const methods = METHODS.flatMap(({ method, pattern }) => {
    const runs = files
      .filter((f) => pattern.test(f))
      .map((file) => {
        const e = JSON.parse(readFileSync(join(OUT, file), "utf8")) as EvalJson;
        return {
          file,
          categories: Object.fromEntries(
            CATEGORIES.map((c) => [c, e.queryCategories.find((x) => x.category === c)?.meanRelError ?? null]),
          ),
        };
      });
    if (runs.length === 0) return [];
    const meanRelError = Object.fromEntries(
      CATEGORIES.map((c) => {
        const v = runs.map((r) => r.categories[c]).filter((x): x is number => typeof x === "number");
        return [c, v.length ? v.reduce((a, b) => a + b, 0) / v.length : null];
      }),
    );
    return [{ method, runs, meanRelError }];
  });
  const notes = markdown
    .split("\n")
    .filter((l) => l.startsWith("- "))
    .map((l) => l.slice(2));
  const figures: PopulationFigures = { ...base, nested, seconds, methods, notes, markdown };
  if (!options.quick) {
    writeFileSync(join(root, "docs", "population-benchmark.json"), `${JSON.stringify(figures, null, 2)}\n`);
    writeFileSync(
      join(root, "examples", "population", "RESULTS.md"),
      [
        "# Results: examples/population",
        "",
        `Measured on ${base.date} with \`npm run bench -- --only population\` (examples/population/run.ts`,
        `\`--seeds ${seeds.join(",")}\`; ${seconds.toFixed(0)} s on the ${base.machine} machine, shared), on the full`,
        `populationsim survey seed. ${nested ? "Synthor's nested run included." : "Synthor not run: `synthor synth` has no --child option in this build."}`,
        "Written by examples/population/run.ts as out/results.md; copied here. Figures as JSON: docs/population-benchmark.json.",
        "Cells of several seeds: mean over the seeds (min–max).",
        "",
        markdown.trimEnd(),
        "",
      ].join("\n"),
    );
  }
  return figures;
}

/** The section of docs/benchmarks.md: the category table the runner wrote. */
export function populationSection(f: PopulationFigures): string {
  const head = "## Population queries (examples/population, paper Table 4)";
  if (f.skipped) return `${head}\n\nSkipped: ${f.skipped}.`;
  const table = f.markdown.slice(0, f.markdown.indexOf("\n\nPer query"));
  return [
    head,
    "",
    `examples/population/run.ts, seeds ${f.seeds.join(", ")}, ${f.seconds.toFixed(0)} s. ${
      f.nested
        ? "Synthor's nested synthesis (`synth --child`) included."
        : "`synthor synth` has no --child option in this build: the baseline and the resample alone, no Synthor row."
    } Per query: examples/population/RESULTS.md.`,
    "",
    table,
  ].join("\n");
}
