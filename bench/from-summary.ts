/**
 * Synthesis from a summary file against synthesis from the microdata, side by side in one run: the
 * measurement docs/summary-format.md reported by hand, made repeatable.
 *
 *   npx tsx bench/from-summary.ts             # seeds 1, 2, 3; writes docs/from-summary-benchmark.md and .json
 *   npx tsx bench/from-summary.ts --quick     # seed 1 only; a smoke run, writes nothing under docs/
 *   npx tsx bench/from-summary.ts --out-dir /tmp/fs --data ecommerce   # one data set; writes nothing
 *
 * For each data set (examples/ecommerce, and Adult from /work/shared/data/adult when it is there):
 * `synthor summarize --out` once (min-cell 5, the default), then per seed `synthor synth` from the
 * microdata and `synthor synth --from-summary` with the same seed and settings (defaults, `--threads 1`),
 * each scored by `synthor eval --no-detection --no-privacy --json` against the real table: mean of
 * fidelity.columns[].tvd, mean of fidelity.pairs[].tvd and fidelity.scores.quality. Every step is a CLI
 * child process under /usr/bin/time (wall and user CPU seconds, peak RSS). Prints one JSON object.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const root = join(import.meta.dirname, "..");
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const outDir = resolve(
  argv.includes("--out-dir")
    ? (argv[argv.indexOf("--out-dir") + 1] as string)
    : join(root, "bench", "out", "from-summary"),
);
/** `--data NAME`: only the data sets whose name contains NAME (a check while developing). */
const only = argv.includes("--data") ? argv[argv.indexOf("--data") + 1] : undefined;
const SEEDS = quick ? [1] : [1, 2, 3];
const TIME = "/usr/bin/time";
const hasTime = existsSync(TIME);

const DATASETS = [
  { name: "examples/ecommerce", path: join(root, "examples", "ecommerce", "ecommerce.csv") },
  { name: "Adult", path: "/work/shared/data/adult/adult.csv" },
];

interface Cost {
  /** Wall seconds. */
  seconds: number;
  /** User CPU seconds (null without /usr/bin/time). */
  cpuSeconds: number | null;
  /** Peak resident set, MB (null without /usr/bin/time). */
  peakRssMb: number | null;
}

/** Runs the synthor CLI; returns its stdout and what it cost. */
function synthor(args: string[]): { stdout: string; cost: Cost } {
  const cli = [process.execPath, join(root, "bin", "synthor.js"), ...args];
  const timeFile = join(outDir, "time.txt");
  const t0 = performance.now();
  const stdout = execFileSync(
    hasTime ? TIME : (cli[0] as string),
    hasTime ? ["-f", "%U %M", "-o", timeFile, ...cli] : cli.slice(1),
    {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, TZ: "UTC" },
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (!hasTime) return { stdout, cost: { seconds, cpuSeconds: null, peakRssMb: null } };
  const [user, rssKb] = (readFileSync(timeFile, "utf8").trim().split("\n").pop() as string)
    .split(" ")
    .map(Number);
  return {
    stdout,
    cost: { seconds, cpuSeconds: user ?? null, peakRssMb: rssKb === undefined ? null : rssKb / 1024 },
  };
}

interface Score {
  columnsTvd: number;
  pairsTvd: number;
  quality: number;
}

function evaluate(real: string, synth: string): Score {
  const { stdout } = synthor([
    "eval",
    "--real",
    real,
    "--synth",
    synth,
    "--no-detection",
    "--no-privacy",
    "--json",
    "--quiet",
    "--threads",
    "1",
  ]);
  const e = JSON.parse(stdout) as {
    fidelity: { columns: { tvd: number }[]; pairs: { tvd: number }[]; scores: { quality: number } };
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    columnsTvd: mean(e.fidelity.columns.map((c) => c.tvd)),
    pairsTvd: mean(e.fidelity.pairs.map((p) => p.tvd)),
    quality: e.fidelity.scores.quality,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, d = 5) => Math.round(x * 10 ** d) / 10 ** d;

interface SeedRun {
  seed: number;
  microdata: Score & { cost: Cost };
  summary: Score & { cost: Cost };
}

async function dataset(name: string, real: string) {
  const dir = join(outDir, name.replace(/[^A-Za-z0-9]+/g, "_"));
  mkdirSync(dir, { recursive: true });
  const summaryPath = join(dir, "summary.json");
  rmSync(summaryPath, { force: true });
  process.stderr.write(`from-summary: ${name}: summarize\n`);
  const summarize = synthor(["summarize", real, "--out", summaryPath]).cost;
  const bytes = statSync(summaryPath).size;
  const gzipBytes = gzipSync(readFileSync(summaryPath)).length;
  const file = JSON.parse(readFileSync(summaryPath, "utf8")) as {
    rows: number;
    minCell: number;
    tables: { cells: unknown[]; suppressed: { cells: number } }[];
  };
  const runs: SeedRun[] = [];
  for (const seed of SEEDS) {
    const common = ["--seed", String(seed), "--schedule", "even", "--threads", "1", "--quiet", "--overwrite"];
    const base = join(dir, `micro_seed${seed}.csv`);
    const fs = join(dir, `summary_seed${seed}.csv`);
    for (const f of [join(dir, "micro.duckdb"), join(dir, "summary.duckdb")]) {
      rmSync(f, { force: true });
      rmSync(`${f}.wal`, { force: true });
    }
    process.stderr.write(`from-summary: ${name}: seed ${seed}, from the microdata\n`);
    const microCost = synthor([
      "synth",
      real,
      "--db",
      join(dir, "micro.duckdb"),
      "--out",
      base,
      ...common,
    ]).cost;
    process.stderr.write(`from-summary: ${name}: seed ${seed}, from the summary file\n`);
    const summaryCost = synthor([
      "synth",
      "--from-summary",
      summaryPath,
      "--db",
      join(dir, "summary.duckdb"),
      "--out",
      fs,
      ...common,
    ]).cost;
    runs.push({
      seed,
      microdata: { ...evaluate(real, base), cost: microCost },
      summary: { ...evaluate(real, fs), cost: summaryCost },
    });
  }
  const side = (k: "microdata" | "summary") => ({
    columnsTvd: round(mean(runs.map((r) => r[k].columnsTvd))),
    pairsTvd: round(mean(runs.map((r) => r[k].pairsTvd))),
    quality: round(mean(runs.map((r) => r[k].quality))),
    seconds: runs.map((r) => round(r[k].cost.seconds, 1)),
    cpuSeconds: runs.map((r) =>
      r[k].cost.cpuSeconds === null ? null : round(r[k].cost.cpuSeconds as number, 1),
    ),
    peakRssMb: runs.map((r) =>
      r[k].cost.peakRssMb === null ? null : Math.round(r[k].cost.peakRssMb as number),
    ),
  });
  const microdata = side("microdata");
  const summary = side("summary");
  return {
    name,
    path: real,
    rows: file.rows,
    seeds: SEEDS,
    summaryFile: {
      bytes,
      gzipBytes,
      minCell: file.minCell,
      tables: file.tables.length,
      cellsKept: file.tables.reduce((a, t) => a + t.cells.length, 0),
      cellsLeftOut: file.tables.reduce((a, t) => a + t.suppressed.cells, 0),
      summarize: {
        seconds: round(summarize.seconds, 1),
        cpuSeconds: summarize.cpuSeconds === null ? null : round(summarize.cpuSeconds, 1),
        peakRssMb: summarize.peakRssMb === null ? null : Math.round(summarize.peakRssMb),
      },
    },
    microdata,
    summary,
    ratio: {
      columnsTvd: round(summary.columnsTvd / microdata.columnsTvd, 3),
      pairsTvd: round(summary.pairsTvd / microdata.pairsTvd, 3),
      quality: round(summary.quality / microdata.quality, 4),
    },
    perSeed: runs.map((r) => ({
      seed: r.seed,
      microdata: {
        columnsTvd: round(r.microdata.columnsTvd),
        pairsTvd: round(r.microdata.pairsTvd),
        quality: round(r.microdata.quality),
      },
      summary: {
        columnsTvd: round(r.summary.columnsTvd),
        pairsTvd: round(r.summary.pairsTvd),
        quality: round(r.summary.quality),
      },
      ratio: {
        columnsTvd: round(r.summary.columnsTvd / r.microdata.columnsTvd, 3),
        pairsTvd: round(r.summary.pairsTvd / r.microdata.pairsTvd, 3),
      },
    })),
  };
}

export type FromSummaryFigures = Awaited<ReturnType<typeof runFromSummary>>;

export async function runFromSummary() {
  mkdirSync(outDir, { recursive: true });
  const datasets: Awaited<ReturnType<typeof dataset>>[] = [];
  const skipped: string[] = [];
  for (const d of DATASETS) {
    if (only && !d.name.toLowerCase().includes(only.toLowerCase())) continue;
    if (!existsSync(d.path)) {
      skipped.push(`${d.name}: ${d.path} not found, skipped`);
      process.stderr.write(`from-summary: ${d.name}: ${d.path} not found, skipped\n`);
      continue;
    }
    datasets.push(await dataset(d.name, d.path));
  }
  return {
    machine: {
      cpus: `${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      date: new Date().toISOString().slice(0, 10),
    },
    commit: gitCommit(),
    quick,
    seeds: SEEDS,
    datasets,
    skipped,
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

const n = (x: number) => x.toLocaleString("en-US");
/** The measured section: what docs/from-summary-benchmark.md holds and npm run bench prints. */
export function fromSummaryMarkdown(f: FromSummaryFigures, heading = "##"): string {
  const lines = [
    `${heading} Synthesis from a summary file vs from the microdata`,
    "",
    `\`bench/from-summary.ts\`, ${f.machine.date}, commit ${f.commit ?? "unknown"}, ${f.machine.cpus}, shared with other jobs.`,
    "Per data set: `synthor summarize --out` once (min-cell 5, the default), then per seed `synthor synth` from the",
    "microdata and `synthor synth --from-summary` with the same seed and settings (100 iterations, 6 bins, 8 sub-bins,",
    "statistical planner, `--threads 1`), both scored by `synthor eval --no-detection --no-privacy --json` against",
    "the real table: mean `fidelity.columns[].tvd` (numeric columns on the real deciles), mean `fidelity.pairs[].tvd`",
    `(all pairs) and \`fidelity.scores.quality\`. Means over seeds ${f.seeds.join(", ")}; ratio = summary file / microdata`,
    "of the means (target <= 1.1 for the TVDs; for quality, higher is better).",
    "",
    "| data | rows | from | columns TVD | pairs TVD | quality | ratio columns / pairs / quality |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
  ];
  for (const d of f.datasets) {
    lines.push(
      `| ${d.name} | ${n(d.rows)} | microdata | ${d.microdata.columnsTvd} | ${d.microdata.pairsTvd} | ${d.microdata.quality} | |`,
      `| ${d.name} | ${n(d.rows)} | summary file | ${d.summary.columnsTvd} | ${d.summary.pairsTvd} | ${d.summary.quality} | ${d.ratio.columnsTvd} / ${d.ratio.pairsTvd} / ${d.ratio.quality} |`,
    );
  }
  lines.push(
    "",
    "Per seed, ratio summary file / microdata of the column and pair TVDs:",
    "",
    "| data | seed | columns TVD micro / summary | pairs TVD micro / summary | ratio columns | ratio pairs |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const d of f.datasets)
    for (const s of d.perSeed)
      lines.push(
        `| ${d.name} | ${s.seed} | ${s.microdata.columnsTvd} / ${s.summary.columnsTvd} | ${s.microdata.pairsTvd} / ${s.summary.pairsTvd} | ${s.ratio.columnsTvd} | ${s.ratio.pairsTvd} |`,
      );
  lines.push(
    "",
    "Cost, per seed: wall seconds (user CPU seconds, peak RSS MB) from `/usr/bin/time` on each CLI process.",
    "",
    "| data | summary file | gzipped | tables (cells kept / left out) | summarize | synth from microdata | synth from summary |",
    "| --- | ---: | ---: | ---: | --- | --- | --- |",
  );
  const cost = (s: { seconds: number[]; cpuSeconds: (number | null)[]; peakRssMb: (number | null)[] }) =>
    s.seconds.map((w, i) => `${w} s (${s.cpuSeconds[i] ?? "—"} s, ${s.peakRssMb[i] ?? "—"} MB)`).join("; ");
  for (const d of f.datasets) {
    const sf = d.summaryFile;
    lines.push(
      `| ${d.name} | ${n(sf.bytes)} B | ${n(sf.gzipBytes)} B | ${sf.tables} (${n(sf.cellsKept)} / ${n(sf.cellsLeftOut)}) | ${sf.summarize.seconds} s (${sf.summarize.cpuSeconds ?? "—"} s, ${sf.summarize.peakRssMb ?? "—"} MB) | ${cost(d.microdata)} | ${cost(d.summary)} |`,
    );
  }
  if (f.skipped.length > 0) lines.push("", ...f.skipped.map((s) => `- ${s}`));
  if (f.quick) lines.push("", "`--quick`: one seed, a smoke run; not figures to quote.");
  return lines.join("\n");
}

/** Writes docs/from-summary-benchmark.md and .json. */
export function writeFromSummaryDocs(f: FromSummaryFigures): void {
  const docs = join(root, "docs");
  writeFileSync(join(docs, "from-summary-benchmark.json"), `${JSON.stringify(f, null, 2)}\n`);
  writeFileSync(
    join(docs, "from-summary-benchmark.md"),
    [
      "# Synthesis from a summary file: measured",
      "",
      "Generated by `npm run bench -- --only from-summary` (or `npx tsx bench/from-summary.ts`); do not edit by hand.",
      "What the summary file is and what it leaves out: [summary-format.md](summary-format.md). The machine is",
      "shared: compare the two sides of one run, not figures across runs.",
      "",
      fromSummaryMarkdown(f),
      "",
      "## Command",
      "",
      "```sh",
      "npm run bench -- --only from-summary      # or: npx tsx bench/from-summary.ts [--out-dir DIR]",
      "# what it runs per data set and seed:",
      "npx synthor summarize real.csv --out summary.json",
      "npx synthor synth real.csv --out micro.csv --seed 1 --threads 1 --quiet",
      "npx synthor synth --from-summary summary.json --out fs.csv --seed 1 --threads 1 --quiet",
      "npx synthor eval --real real.csv --synth fs.csv --no-detection --no-privacy --json --threads 1",
      "```",
      "",
    ].join("\n"),
  );
}

if (import.meta.filename === resolve(process.argv[1] ?? "")) {
  const figures = await runFromSummary();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  if (!quick && !only) writeFromSummaryDocs(figures);
  process.stderr.write(`from-summary: outputs in ${relative(root, outDir) || outDir}\n`);
}
