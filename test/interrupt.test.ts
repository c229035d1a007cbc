/**
 * Ctrl-C and --timeout: a run stops at once in every phase (the query running interrupted, the LLM
 * request in flight cancelled, planning loops left), stays resumable with nothing half-written, and an
 * LLM reply that stalls ends at --timeout. Every stop is driven by the program, never by a clock: an
 * AbortSignal fired when a phase starts (or at the first turn of the event loop after it), a scripted
 * server that holds a request open and tells the test when it arrived, a server that sends headers and
 * stalls under a tiny --timeout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";
import { Interrupted } from "../src/interrupt.ts";
import { type NestedSynthOptions, synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedStatsPlanner } from "../src/nested/planners/stats.ts";
import { type Phase, type SynthOptions, type SynthResult, synthesize } from "../src/pipeline.ts";
import { ChatCallFailed } from "../src/planners/llm.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { linkedSource, tempDir } from "./helpers.ts";
import { goodScript, type RecordedRequest, type Step, startScriptedServer } from "./llm-server.ts";

const ECOMMERCE = "examples/ecommerce/ecommerce.csv";

let tmp: ReturnType<typeof tempDir>;
let reference: string;
beforeAll(async () => {
  tmp = tempDir();
  const out = join(tmp.dir, "reference.csv");
  await synthesize(flat(join(tmp.dir, "reference.duckdb"), out));
  reference = readFileSync(out, "utf8");
}, 120_000);
afterAll(() => tmp.cleanup());

/** The e-commerce run every flat test interrupts, with a trim so the end of the run has work to do. */
function flat(db: string, out: string, extra: Partial<SynthOptions> = {}): SynthOptions {
  return {
    source: { kind: "file", path: ECOMMERCE },
    db,
    threads: 2,
    rows: 60,
    iterations: 3,
    seed: 5,
    trim: 0.1,
    planner: (d, s) => new StatsPlanner(d, s, { seed: 5 }),
    out,
    ...extra,
  };
}

/** Fires `controller` when `phase` starts (of iteration 2 for a phase of the loop): now, or at the next turn. */
function abortAt(controller: AbortController, phase: Phase, when: "now" | "next turn" = "now") {
  const ofIteration = phase === "planning" || phase === "sampling";
  return (e: Parameters<NonNullable<SynthOptions["onProgress"]>>[0]) => {
    if (e.kind !== "phase" || e.phase !== phase || (ofIteration && e.iteration !== 2)) return;
    if (controller.signal.aborted) return;
    if (when === "now") controller.abort();
    else setImmediate(() => controller.abort());
  };
}

async function outcome(run: Promise<SynthResult>): Promise<{ result?: SynthResult; error?: unknown }> {
  return run.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
}

async function status(path: string): Promise<{ runs: string[]; output: boolean }> {
  const db = await Db.open(path, { readOnly: true });
  try {
    const runs = await db.all<{ status: string }>("select status from synthor_runs order by run_id");
    const [out] = await db.all<{ n: number }>(
      "select count(*) as n from information_schema.tables where table_name = 'synthetic'",
    );
    return { runs: runs.map((r) => r.status), output: (out?.n ?? 0) > 0 };
  } finally {
    db.close();
  }
}

let caseNo = 0;
function paths(): { dir: string; db: string; out: string } {
  const dir = join(tmp.dir, `case-${++caseNo}`);
  return { dir, db: join(dir, "run.duckdb"), out: join(dir, "synthetic.csv") };
}

describe("an interrupted run stops in every phase, writes nothing and resumes to the same table", () => {
  const before: { phase: Phase; recorded: boolean; rerun: boolean }[] = [
    { phase: "reading the source", recorded: false, rerun: false },
    { phase: "profiling columns", recorded: false, rerun: false },
    { phase: "summarizing", recorded: false, rerun: true },
    // The run is recorded before the planner's first call (the copula step), so a run that fails or is
    // interrupted there says so: it resumes.
    { phase: "finding dependency groups", recorded: true, rerun: false },
    { phase: "measuring", recorded: true, rerun: true },
  ];
  for (const { phase, recorded, rerun } of before) {
    it(`before the loop: ${phase}`, async () => {
      const { dir, db, out } = paths();
      mkdirSync(dir);
      const controller = new AbortController();
      const { error } = await outcome(
        synthesize(flat(db, out, { signal: controller.signal, onProgress: abortAt(controller, phase) })),
      );
      expect(error).toBeInstanceOf(Interrupted);
      expect((error as Interrupted).message).toBe(`interrupted while ${phase}`);
      // Before the run is recorded there is nothing to resume, and the hint says to run it again.
      expect((error as Interrupted).hint).toBe(
        recorded
          ? "nothing was written; continue with the same command and --resume"
          : "nothing was written; run the same command again",
      );
      expect(readdirSync(dir).filter((f) => !f.startsWith("run.duckdb"))).toEqual([]);
      expect(await status(db)).toEqual({ runs: recorded ? ["interrupted"] : [], output: false });
      if (!rerun) return;
      await synthesize(flat(db, out, { resume: recorded }));
      expect(readFileSync(out, "utf8")).toBe(reference);
    }, 120_000);
  }

  const inLoop: { phase: Phase; when: "now" | "next turn"; iterations: number; while: string }[] = [
    { phase: "planning", when: "now", iterations: 1, while: "planning iteration 2" },
    // The iteration's transaction is under way when the signal fires: it is rolled back.
    { phase: "sampling", when: "next turn", iterations: 1, while: "sampling iteration 2" },
    // Trimming, the output table, the file: one transaction, rolled back; the file never appears.
    { phase: "finishing", when: "next turn", iterations: 3, while: "finishing" },
  ];
  for (const c of inLoop) {
    it(`in the loop: ${c.while} (signal ${c.when === "now" ? "at the phase's start" : "while it works"})`, async () => {
      const { dir, db, out } = paths();
      mkdirSync(dir);
      const controller = new AbortController();
      const { result, error } = await outcome(
        synthesize(
          flat(db, out, { signal: controller.signal, onProgress: abortAt(controller, c.phase, c.when) }),
        ),
      );
      expect(error).toBeUndefined();
      expect(result?.stoppedBecause).toBe("interrupted");
      expect(result?.interruptedWhile).toBe(c.while);
      expect(result?.iterations).toBe(c.iterations);
      expect(result?.outFile).toBeUndefined();
      // Nothing written: no file, no temporary file, no output table; the run waits to be resumed.
      expect(readdirSync(dir).filter((f) => !f.startsWith("run.duckdb"))).toEqual([]);
      expect(await status(db)).toEqual({ runs: ["interrupted"], output: false });
      const resumed = await synthesize(flat(db, out, { resume: true }));
      expect(resumed.stoppedBecause).toBe("rows");
      expect(readFileSync(out, "utf8")).toBe(reference);
      expect(await status(db)).toEqual({ runs: ["finished"], output: true });
    }, 120_000);
  }
});

describe("the database stops a query in flight", () => {
  it("interrupts a running query and refuses the next, then lets clean-up through once unwatched", async () => {
    const db = await Db.open(":memory:", { threads: 2 });
    try {
      const controller = new AbortController();
      const unwatch = db.watch(controller.signal);
      // Would run for hours: only the interruption ends it.
      const long = db.all("select count(*) as n from range(1000000000000) t(i) where hash(i) % 7 = 3");
      setImmediate(() => controller.abort());
      await expect(long).rejects.toBeInstanceOf(Interrupted);
      await expect(db.all("select 1 as x")).rejects.toBeInstanceOf(Interrupted);
      unwatch();
      expect(await db.all("select 1 as x")).toEqual([{ x: 1 }]);
    } finally {
      db.close();
    }
  });
});

describe("the statistical planner leaves a long loop", () => {
  it("gives the event loop a turn while it plans, and stops there once the signal fires", async () => {
    // A column of 400 values crossed with another of 300: thousands of cells per proposal, the stretch
    // of TypeScript that used to hold Ctrl-C off for minutes. The signal is fired from a macrotask, so
    // it can only land if the planner yields.
    const { dir, db } = paths();
    mkdirSync(dir);
    const csv = join(dir, "wide.csv");
    const lines = ["city,shop,age"];
    for (let i = 0; i < 6000; i++) lines.push(`c${(i * 7919) % 400},s${(i * 104729) % 300},${18 + (i % 70)}`);
    writeFileSync(csv, `${lines.join("\n")}\n`);
    const controller = new AbortController();
    const { result, error } = await outcome(
      synthesize({
        source: { kind: "file", path: csv },
        db,
        threads: 2,
        rows: 2000,
        iterations: 2,
        profile: { categorical: ["city", "shop"], maxCategories: 1000 },
        planner: (d, s) => new StatsPlanner(d, s),
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind === "phase" && e.phase === "planning") setImmediate(() => controller.abort());
        },
      }),
    );
    expect(error).toBeUndefined();
    expect(result?.stoppedBecause).toBe("interrupted");
    expect(result?.interruptedWhile).toBe("planning iteration 1");
    expect(result?.iterations).toBe(0);
  }, 120_000);
});

describe("nested runs", () => {
  function nested(db: string, dir: string, extra: Partial<NestedSynthOptions> = {}): NestedSynthOptions {
    return {
      source: linkedSource(),
      db,
      threads: 1,
      rows: 50,
      iterations: 4,
      seed: 3,
      planner: (d, s) => new NestedStatsPlanner(d, s, { seed: 3 }),
      out: join(dir, "households.csv"),
      childOut: join(dir, "persons.csv"),
      ...extra,
    };
  }

  it("stop between iterations, and while writing, with neither file written", async () => {
    for (const at of ["planning", "finishing"] as const) {
      const { dir, db } = paths();
      mkdirSync(dir);
      const controller = new AbortController();
      const run = synthesizeNested(
        nested(db, dir, {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.kind !== "iteration") return;
            if (at === "planning" && e.iteration === 1) controller.abort();
            // After the last iteration: the signal lands while the tables and files are written.
            if (at === "finishing" && e.rows >= e.rowsTarget) setImmediate(() => controller.abort());
          },
        }),
      );
      await expect(run).rejects.toThrow(
        at === "planning" ? "interrupted while planning iteration 2" : "interrupted while finishing",
      );
      await expect(run).rejects.toBeInstanceOf(Interrupted);
      expect(readdirSync(dir).filter((f) => !f.startsWith("run.duckdb"))).toEqual([]);
      expect(await status(db)).toEqual({ runs: ["interrupted"], output: false });
    }
  }, 120_000);
});

/** The CLI in a child process, so a test can send it SIGINT. */
function spawnCli(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [join(packageRoot, "bin", "synthor.js"), ...args], {
    cwd: packageRoot,
    env: { ...process.env, TZ: "UTC", OPENAI_API_KEY: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.resume();
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on("exit", (code) => resolve({ code, stderr }));
  });
  return { child, done };
}

describe("Ctrl-C while the LLM computes a reply", () => {
  it("cancels the request, exits 130, and --resume finishes the run", async () => {
    const { dir, db, out } = paths();
    mkdirSync(dir);
    // Whenever the test says so, the server holds the next request open; the test sends SIGINT when it
    // arrives. --timeout is an hour: only the interruption can end it.
    let hold: ((r: RecordedRequest) => boolean) | undefined;
    let child: ChildProcess | undefined;
    const good = goodScript();
    const server = await startScriptedServer({
      script: (r): Step => {
        if (hold?.(r)) {
          child?.kill("SIGINT");
          return { hang: true };
        }
        return good(r);
      },
    });
    const args = [
      "synth",
      ECOMMERCE,
      "--planner",
      "llm",
      "--base-url",
      server.url,
      "--rows",
      "40",
      "--iterations",
      "2",
      "--no-cache",
      "--timeout",
      "3600",
      "--db",
      db,
      "--out",
      out,
    ];
    try {
      // The copula step: the run is recorded before it (so a failure there is recorded too).
      hold = (r) => r.kind === "copula";
      let cli = spawnCli(args);
      child = cli.child;
      let ended = await cli.done;
      expect(ended.code).toBe(130);
      expect(ended.stderr).toContain("synthor: stopping (Ctrl-C again to exit at once)");
      expect(ended.stderr).toContain(
        "synthor: interrupted while finding dependency groups; nothing was written; continue with the same command and --resume",
      );

      // The first proposal request: the run is recorded, and resumes.
      hold = (r) => r.kind === "proposals";
      cli = spawnCli(args);
      child = cli.child;
      ended = await cli.done;
      expect(ended.code).toBe(130);
      expect(ended.stderr).toContain(
        "synthor: interrupted while planning iteration 1, after iteration 0; nothing was written. Continue with the same command and --resume.",
      );
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => !f.startsWith("run.duckdb"))).toEqual([]);

      hold = undefined;
      cli = spawnCli([...args, "--resume"]);
      ended = await cli.done;
      expect(ended.code).toBe(0);
      expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(41);
    } finally {
      await server.close();
    }
  }, 180_000);
});

describe("--timeout bounds the whole reply", () => {
  it("cancels a reply whose headers came but whose body stalls, once, without sending it again", async () => {
    const server = await startScriptedServer({ script: () => ({ stall: true }) });
    try {
      const client = new OpenAiChatClient({
        model: "scripted-model",
        baseURL: server.url,
        apiKey: "test",
        timeoutMs: 2000,
        maxRetries: 3,
        retryBaseMs: 10,
      });
      const call = client.complete({
        label: "copula step",
        messages: [{ role: "user", content: "hello" }],
        temperature: 0,
        maxTokens: 10,
      });
      await expect(call).rejects.toBeInstanceOf(ChatCallFailed);
      await expect(call).rejects.toThrow(
        "copula step: no complete reply within 2 s (--timeout 2); cancelled, not retried: the server would take as long again (raise --timeout for a slow server)",
      );
      // Not sent again. (At most one: on a machine slow enough, the deadline may pass before the server
      // has read the request at all.)
      expect(server.requests.length).toBeLessThanOrEqual(1);
    } finally {
      await server.close();
    }
  });

  it("ends a CLI run whose server stalls after the headers with an error naming --timeout", async () => {
    const server = await startScriptedServer({ script: () => ({ stall: true }) });
    try {
      const cli = spawnCli([
        "synth",
        ECOMMERCE,
        "--planner",
        "llm",
        "--base-url",
        server.url,
        "--rows",
        "20",
        "--iterations",
        "1",
        "--no-cache",
        "--timeout",
        "2",
      ]);
      const ended = await cli.done;
      expect(ended.code).toBe(1);
      expect(ended.stderr).toContain(
        "error: the model never answered the copula step: copula step: no complete reply within 2 s (--timeout 2); cancelled, not retried: the server would take as long again (raise --timeout for a slow server)",
      );
      expect(server.requests.length).toBeLessThanOrEqual(1);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("ends Ctrl-C during a stalled body too", async () => {
    let child: ChildProcess | undefined;
    const server = await startScriptedServer({
      script: () => {
        child?.kill("SIGINT");
        return { stall: true };
      },
    });
    try {
      const cli = spawnCli([
        "synth",
        ECOMMERCE,
        "--planner",
        "llm",
        "--base-url",
        server.url,
        "--rows",
        "20",
        "--iterations",
        "1",
        "--no-cache",
        "--timeout",
        "3600",
      ]);
      child = cli.child;
      const ended = await cli.done;
      expect(ended.code).toBe(130);
      expect(ended.stderr).toContain("synthor: interrupted while finding dependency groups");
    } finally {
      await server.close();
    }
  }, 120_000);
});
