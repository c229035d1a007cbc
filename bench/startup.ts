/**
 * How long the CLI takes to start: `synthor --help`, the built CLI against Node alone and against the
 * sources run through tsx (what bin/synthor.js did before the build), side by side in one run. The runs
 * are interleaved (one of each, then again), so the machine's load falls on all alike; median and
 * minimum over `--runs` (default 10).
 *
 *   npx tsx bench/startup.ts                     # 10 runs of each
 *   npx tsx bench/startup.ts --compare ../main   # adds another checkout's `node bin/synthor.js --help`
 *   npx tsx bench/startup.ts --quick             # 3 runs; a smoke run
 *
 * It builds dist/ first (`npm run build`), so the figures are those of the sources as they are. Prints the
 * table on stderr and one JSON object on stdout; docs/startup.md quotes a run, `npm run bench` adds the
 * section to docs/benchmarks.md.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";

const root = join(import.meta.dirname, "..");

export interface StartupFigures {
  runs: number;
  machine: { cpus: string; memoryGb: number; node: string; date: string; loadAverage: number };
  /** One row per command: its label, the command line as run from the package root, and ms. */
  rows: { label: string; command: string; medianMs: number; minMs: number }[];
  quick: boolean;
}

interface Probe {
  label: string;
  command: string;
  cwd: string;
  argv: string[];
}

/** Times each probe `runs` times, round robin; a probe that exits non-zero stops the benchmark. */
export function measureStartup(options: { runs: number; compare?: string; quick?: boolean }): StartupFigures {
  execFileSync(
    process.execPath,
    [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  const probes: Probe[] = [
    { label: "node alone", command: "node -e 0", cwd: root, argv: ["-e", "0"] },
    {
      label: "synthor --help, built (dist/)",
      command: "node bin/synthor.js --help",
      cwd: root,
      argv: ["bin/synthor.js", "--help"],
    },
    {
      label: "synthor --help, sources through tsx",
      command: "node --import tsx bench/startup-tsx.ts --help",
      cwd: root,
      argv: ["--import", "tsx", "bench/startup-tsx.ts", "--help"],
    },
  ];
  if (options.compare) {
    const dir = resolve(options.compare);
    probes.push({
      label: `synthor --help in ${options.compare}`,
      command: `(cd ${options.compare} && node bin/synthor.js --help)`,
      cwd: dir,
      argv: ["bin/synthor.js", "--help"],
    });
  }
  const times = probes.map(() => [] as number[]);
  for (let i = 0; i < options.runs; i++) {
    probes.forEach((p, j) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, p.argv, { cwd: p.cwd, encoding: "utf8" });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${p.command} exited ${r.status}: ${r.stderr}`);
      times[j]?.push(ms);
    });
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  };
  return {
    runs: options.runs,
    machine: {
      cpus: `${cpus().length} x ${cpus()[0]?.model ?? "unknown"}`,
      memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      date: new Date().toISOString().slice(0, 10),
      // The 1-minute load average at the end: a shared machine's figures move with it.
      loadAverage:
        Math.round(Number(execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).split(" ")[0]) * 10) /
        10,
    },
    rows: probes.map((p, j) => ({
      label: p.label,
      command: p.command,
      medianMs: Math.round(median(times[j] as number[])),
      minMs: Math.round(Math.min(...(times[j] as number[]))),
    })),
    quick: options.quick ?? false,
  };
}

/** The figures as a markdown section. */
export function startupSection(f: StartupFigures, heading = "##"): string {
  return [
    `${heading} Start-up: \`synthor --help\``,
    "",
    `Wall time of one process from spawn to exit, ${f.runs} runs of each command interleaved (\`bench/startup.ts\`),`,
    `on ${f.machine.date}: ${f.machine.cpus}, Node ${f.machine.node}, load average ${f.machine.loadAverage} at the end.`,
    "",
    "| command | median ms | min ms |",
    "| --- | ---: | ---: |",
    ...f.rows.map((r) => `| \`${r.command}\` (${r.label}) | ${r.medianMs} | ${r.minMs} |`),
  ].join("\n");
}

if (import.meta.filename === process.argv[1]) {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const compare = argv.includes("--compare") ? argv[argv.indexOf("--compare") + 1] : undefined;
  const runs = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : quick ? 3 : 10;
  const figures = measureStartup({ runs, quick, ...(compare ? { compare } : {}) });
  process.stderr.write(`${startupSection(figures)}\n`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
