/**
 * The LLM planner's benchmarks, against a scripted OpenAI-compatible server on 127.0.0.1 (no network),
 * on examples/ecommerce, through the real `openai` client. Prints one JSON object on the last line:
 *
 * - overhead: a server that answers at once; per iteration, the median time of the planner's plan()
 *   (prompt building, the HTTP round trip on loopback, parsing, validation, conversion) and of the whole
 *   iteration (plus the gap tables, sampling in DuckDB and the discrepancy), over the default run
 *   (2,000 rows in 100 iterations, 5 proposals each). Target: under 50 ms.
 * - concurrency: a server that takes 1 s per reply; 20 iterations with --concurrency 4 (and, for
 *   comparison, 1): wall time of the whole run, copula step included. Target: under 8 s.
 *
 * `npx tsx bench/llm.ts [--quick]`
 *
 * Opt-in, a local model end to end (needs node-llama-cpp and a GGUF file; slow on a CPU):
 * `npx tsx bench/llm.ts --local SmolLM2-135M-Instruct.Q4_1.gguf [--iterations 3] [--rows 60]` prints the
 * fidelity (mean TVD of columns and groups), seconds per iteration and generated tokens per second.
 */
import { synthesize } from "../src/pipeline.ts";
import { LlmPlanner } from "../src/planners/llm.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import type { PlanContext } from "../src/planners/types.ts";
import { goodScript, startScriptedServer } from "../test/llm-server.ts";

const ECOMMERCE = new URL("../examples/ecommerce/ecommerce.csv", import.meta.url).pathname;
const quick = process.argv.includes("--quick");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface Measured {
  seconds: number;
  planMs: number[];
  iterationMs: number[];
  rows: number;
  meanTvd: number;
  maxInFlight: number;
  requests: number;
}

async function measure(options: {
  delayMs: number;
  concurrency: number;
  iterations: number;
  rows: number;
}): Promise<Measured> {
  const server = await startScriptedServer({ script: goodScript(undefined, options.delayMs) });
  const client = new OpenAiChatClient({ model: "scripted-model", baseURL: server.url, apiKey: "bench" });
  const planMs: number[] = [];
  const iterationMs: number[] = [];
  let planner: LlmPlanner | undefined;
  const t0 = performance.now();
  try {
    const result = await synthesize({
      source: { kind: "file", path: ECOMMERCE },
      rows: options.rows,
      iterations: options.iterations,
      planner: (_db, summary) => {
        planner = new LlmPlanner(summary, {
          client,
          concurrency: options.concurrency,
          iterations: options.iterations,
          rowsTarget: options.rows,
        });
        const plan = planner.plan.bind(planner);
        planner.plan = async (ctx: PlanContext) => {
          const t = performance.now();
          const r = await plan(ctx);
          planMs.push(performance.now() - t);
          return r;
        };
        return planner;
      },
      onProgress: (e) => {
        if (e.kind === "iteration") iterationMs.push(e.seconds * 1000);
      },
    });
    return {
      seconds: (performance.now() - t0) / 1000,
      planMs,
      iterationMs,
      rows: result.rows,
      meanTvd: result.discrepancy.meanTvd,
      maxInFlight: server.maxInFlight,
      requests: server.requests.length,
    };
  } finally {
    planner?.close();
    await server.close();
  }
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const localFile = arg("--local");
if (localFile) {
  const { openLocalModel } = await import("../src/planners/local-client.ts");
  const iterations = Number(arg("--iterations") ?? 3);
  const rows = Number(arg("--rows") ?? 60);
  const client = await openLocalModel({ modelFile: localFile });
  const per: { seconds: number; prompt: number; completion: number; calls: number }[] = [];
  let planner: LlmPlanner | undefined;
  let copulaSeconds = 0;
  const t0 = performance.now();
  try {
    const result = await synthesize({
      source: { kind: "file", path: ECOMMERCE },
      rows,
      iterations,
      planner: (_db, summary) => {
        planner = new LlmPlanner(summary, {
          client,
          name: `local:${client.model}`,
          iterations,
          rowsTarget: rows,
        });
        const infer = planner.inferGroups.bind(planner);
        planner.inferGroups = async () => {
          const t = performance.now();
          const groups = await infer();
          copulaSeconds = (performance.now() - t) / 1000;
          return groups;
        };
        const plan = planner.plan.bind(planner);
        planner.plan = async (ctx: PlanContext) => {
          const t = performance.now();
          const r = await plan(ctx);
          const tokens = r.tokens ?? { prompt: 0, completion: 0, calls: 0 };
          per.push({ seconds: (performance.now() - t) / 1000, ...tokens });
          return r;
        };
        return planner;
      },
    });
    const d = result.discrepancy;
    const mean = (xs: { tvd: number }[]) => xs.reduce((a, x) => a + x.tvd, 0) / Math.max(1, xs.length);
    const seconds = per.reduce((a, x) => a + x.seconds, 0);
    console.log(
      JSON.stringify({
        model: client.model,
        iterations: per.length,
        rows: result.rows,
        meanTvd: round(d.meanTvd, 4),
        columnTvd: round(mean(d.marginals), 4),
        groupTvd: round(mean(d.groups), 4),
        groups: d.groups.map((g) => g.columns),
        copulaSeconds: round(copulaSeconds, 1),
        secondsPerIteration: round(seconds / Math.max(1, per.length), 1),
        promptTokensPerIteration: round(per.reduce((a, x) => a + x.prompt, 0) / Math.max(1, per.length), 0),
        // The first iteration's tokens include the copula step's, so its time counts too.
        completionTokensPerSecond: round(
          per.reduce((a, x) => a + x.completion, 0) / Math.max(1e-9, seconds + copulaSeconds),
          1,
        ),
        wallSeconds: round((performance.now() - t0) / 1000, 1),
      }),
    );
  } finally {
    planner?.close();
    await client.close();
  }
  process.exit(0);
}

const overhead = await measure({ delayMs: 0, concurrency: 1, iterations: quick ? 20 : 100, rows: 2000 });
const concurrent = await measure({ delayMs: 1000, concurrency: 4, iterations: 20, rows: 2000 });
const serial = quick
  ? undefined
  : await measure({ delayMs: 1000, concurrency: 1, iterations: 20, rows: 2000 });

const figures = {
  overhead: {
    iterations: overhead.iterationMs.length,
    planMsMedian: round(median(overhead.planMs)),
    planMsP90: round(
      [...overhead.planMs].sort((a, b) => a - b)[Math.floor(overhead.planMs.length * 0.9)] ?? 0,
    ),
    iterationMsMedian: round(median(overhead.iterationMs)),
    targetMs: 50,
  },
  concurrency: {
    iterations: concurrent.iterationMs.length,
    replySeconds: 1,
    concurrency: 4,
    wallSeconds: round(concurrent.seconds, 2),
    maxInFlight: concurrent.maxInFlight,
    requests: concurrent.requests,
    targetSeconds: 8,
    ...(serial ? { wallSecondsConcurrency1: round(serial.seconds, 2) } : {}),
  },
};
console.log(JSON.stringify(figures));
