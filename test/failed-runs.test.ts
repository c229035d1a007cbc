/**
 * A run that did not do its job does not exit 0 (issue 12, section 2): replies that are all unusable (a
 * web page, bytes that are not UTF-8, proposals all rejected), a prompt larger than the model's context,
 * a 400 the server means, a spent token budget. Every case runs the real HTTP client against the scripted
 * local server (test/llm-server.ts) and checks the error users see, that nothing was written, and what
 * synthor_runs says.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { failureOf, qualityStopLine, RunFailed } from "../src/outcome.ts";
import { type SynthOptions, type SynthResult, synthesize } from "../src/pipeline.ts";
import { LlmPlanner, type LlmPlannerOptions } from "../src/planners/llm.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import { cli, tempDir } from "./helpers.ts";
import {
  copulaReply,
  ECOMMERCE_GROUPS,
  goodProposals,
  goodScript,
  latin1Reply,
  type RecordedRequest,
  type ScriptedServer,
  type Step,
  startScriptedServer,
} from "./llm-server.ts";

const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const HTML = "<!doctype html><html><head><title>llama.cpp</title></head><body>web UI</body></html>";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** The copula step answered well, every proposal request with `step`. */
function proposalsGet(step: (r: RecordedRequest) => Step): (r: RecordedRequest) => Step {
  return (r) => (r.kind === "copula" ? { reply: copulaReply(ECOMMERCE_GROUPS) } : step(r));
}

/** A good reply with every proposal's gender replaced. */
function withGender(reply: string, gender: string): string {
  const o = JSON.parse(reply) as Record<string, { proposal?: Record<string, unknown> } | number>;
  for (const v of Object.values(o)) if (typeof v === "object" && v.proposal) v.proposal.gender = gender;
  return JSON.stringify(o);
}

const LLAMA_CONTEXT = {
  error: {
    code: 400,
    message: "request (9120 tokens) exceeds the available context size (4096 tokens), try increasing it",
    type: "exceed_context_size_error",
    n_prompt_tokens: 9120,
    n_ctx: 4096,
  },
};
const OPENAI_CONTEXT = {
  error: {
    message:
      "This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 tokens. Please reduce the length of the messages.",
    type: "invalid_request_error",
    param: "messages",
    code: "context_length_exceeded",
  },
};

/** What a run left in its database: every run's status and reason, the output table, the rows grown. */
async function leftIn(file: string) {
  const db = await Db.open(file, { readOnly: true });
  try {
    const runs = await db.all<{ status: string; reason: string | null; rows_written: number }>(
      "select status, reason, rows_written::integer as rows_written from synthor_runs order by run_id",
    );
    const [t] = await db.all<{ output: number }>(
      "select count(*)::integer as output from information_schema.tables where table_name = 'synthetic'",
    );
    return { runs, output: t?.output ?? 0 };
  } finally {
    db.close();
  }
}

let runNo = 0;
/** The loop on the e-commerce example, planning through the real client against `server`. */
async function runWith(
  server: ScriptedServer,
  options: Partial<SynthOptions> = {},
  planner: Partial<LlmPlannerOptions> = {},
  db = join(tmp.dir, `run-${++runNo}.duckdb`),
): Promise<{ db: string; out: string; outcome: SynthResult | unknown }> {
  const out = join(tmp.dir, `out-${runNo}.csv`);
  const chat = new OpenAiChatClient({
    model: "scripted-model",
    baseURL: server.url,
    apiKey: "test",
    timeoutMs: 5000,
    maxRetries: 2,
    retryBaseMs: 10,
  });
  let made: LlmPlanner | undefined;
  try {
    const outcome = await synthesize({
      source: { kind: "file", path: ECOMMERCE },
      db,
      out,
      threads: 2,
      rows: 200,
      iterations: 10,
      seed: 3,
      ...options,
      planner: (_db, s) => {
        made = new LlmPlanner(s, { client: chat, seed: 3, iterations: 10, rowsTarget: 200, ...planner });
        return made;
      },
    }).catch((err: unknown) => err);
    return { db, out, outcome };
  } finally {
    made?.close();
  }
}

describe("a run whose replies are all unusable fails after 3 empty iterations, and writes nothing", () => {
  it.each([
    {
      name: "an HTML page with status 200",
      step: (): Step => ({ html: HTML }),
      // A web page is not retried, nor repaired: one request per iteration.
      requests: 1 + 3,
      lines: ["  3 iterations: an HTML page instead of JSON"],
      hint: "the server answered with a web page, not its API: check --base-url (an OpenAI-compatible API, usually ending in /v1); or plan without an LLM: --planner stats",
    },
    {
      name: "bytes that are not UTF-8",
      step: (r: RecordedRequest): Step => ({ replyBytes: latin1Reply(goodProposals(r.body)) }),
      requests: 1 + 3 * 2,
      lines: ["  3 iterations: a reply with bytes that are not UTF-8"],
      hint: "the server sent text that is not UTF-8: check the server and the model (its tokenizer or chat template); or plan without an LLM: --planner stats",
    },
    {
      name: "every proposal rejected",
      step: (r: RecordedRequest): Step => ({ reply: withGender(goodProposals(r.body), "male") }),
      requests: 1 + 3 * 2,
      lines: [
        "  3 iterations: every proposal rejected; most often:",
        '    15 proposals: column "gender" has no category "male" (categories are case-sensitive: did you mean "Male"?); give one of "Female", "Male"',
      ],
      hint: "the model's proposals break the rules above: use a larger instruct model (`synthor prompt` shows what it is asked); or plan without an LLM: --planner stats",
    },
  ])(
    "$name",
    async ({ step, requests, lines, hint }) => {
      const server = await startScriptedServer({ script: proposalsGet(step) });
      try {
        const { db, out, outcome } = await runWith(server);
        expect(outcome).toBeInstanceOf(RunFailed);
        const err = outcome as RunFailed;
        expect(err.message).toBe(
          [
            "run 1 failed: 3 iterations in a row had no usable proposals, so it stopped early with 0 of the 200 rows asked for; nothing was written",
            "  iterations without usable proposals: 3 of 3",
            ...lines.map((l) => `  ${l}`),
          ].join("\n"),
        );
        expect(err.hint).toBe(hint);
        expect(err.failure).toMatchObject({ runId: 1, rows: 0, rowsAsked: 200, iterations: 3 });
        // Stopped early: 3 iterations of the 10, not the whole budget.
        expect(server.requests).toHaveLength(requests);
        expect(existsSync(out)).toBe(false);
        expect(await leftIn(db)).toEqual({
          runs: [
            {
              status: "failed",
              reason:
                "3 iterations in a row had no usable proposals, so it stopped early with 0 of the 200 rows asked for",
              rows_written: 0,
            },
          ],
          output: 0,
        });
      } finally {
        await server.close();
      }
    },
    60_000,
  );

  it("counts each reason, resets the count after an iteration with rows, and takes --max-empty-iterations", async () => {
    // Iteration 1: prose; 2: rows; 3: JSON of another shape; 4: proposals all rejected; 5: no JSON.
    const script = proposalsGet((r) => {
      const asked = server.requests.filter((x) => x.kind === "proposals").length;
      if (asked === 2) return { reply: goodProposals(r.body) };
      if (asked === 3) return { reply: '{"rows": []}' };
      if (asked === 4) return { reply: withGender(goodProposals(r.body), "F") };
      return { reply: "I cannot help with that." };
    });
    const server = await startScriptedServer({ script });
    try {
      const { db, outcome } = await runWith(server, { maxEmptyIterations: 3 }, { repairs: 0 });
      const err = outcome as RunFailed;
      expect(err.message).toBe(
        [
          "run 1 failed: 3 iterations in a row had no usable proposals, so it stopped early with 23 of the 200 rows asked for; nothing was written",
          "  iterations without usable proposals: 4 of 5",
          "    2 iterations: a reply with no valid JSON",
          "    1 iteration: JSON, but not the proposal format",
          "    1 iteration: every proposal rejected; most often:",
          '      5 proposals: column "gender" has no category "F"; give one of "Female", "Male"',
        ].join("\n"),
      );
      expect(err.hint).toBe(
        "the model does not answer in JSON: use a larger instruct model or a server with structured outputs (response_format json_schema); `synthor prompt` shows what it is asked; or plan without an LLM: --planner stats",
      );
      expect((await leftIn(db)).runs[0]?.status).toBe("failed");

      const once = await runWith(server, { maxEmptyIterations: 1 }, { repairs: 0 });
      expect((once.outcome as RunFailed).message.split("\n")[0]).toBe(
        "run 1 failed: 1 iterations in a row had no usable proposals, so it stopped early with 0 of the 200 rows asked for; nothing was written",
      );
    } finally {
      await server.close();
    }
  }, 60_000);

  it("does not count empty iterations towards --patience, which would end the run as if it had converged", async () => {
    const server = await startScriptedServer({ script: proposalsGet(() => ({ html: HTML })) });
    try {
      const { outcome } = await runWith(server, { patience: 1 });
      expect(outcome).toBeInstanceOf(RunFailed);
      expect((outcome as RunFailed).failure.stoppedBecause).toBe("no-proposals");
    } finally {
      await server.close();
    }
  }, 60_000);

  it("does not retry a body that is not JSON: it will not become JSON", async () => {
    const server = await startScriptedServer({ script: () => ({ replyBytes: Buffer.from('"broken') }) });
    try {
      const { outcome } = await runWith(server);
      expect((outcome as SynthorError).message).toMatch(
        /^the model never answered the copula step: copula step: .*JSON.*$/,
      );
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("stops at the copula step when the server answers every request with a web page", async () => {
    const server = await startScriptedServer({ script: () => ({ html: HTML }) });
    try {
      const { db, out, outcome } = await runWith(server);
      expect(outcome).toBeInstanceOf(SynthorError);
      const message =
        "the model never answered the copula step: copula step: the server answered with an HTML page, not a chat completion; is --base-url the server's OpenAI-compatible API (usually ending in /v1)?";
      expect((outcome as SynthorError).message).toBe(message);
      expect(server.requests).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
      expect(await leftIn(db)).toEqual({
        runs: [{ status: "failed", reason: message, rows_written: 0 }],
        output: 0,
      });
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe("a spent --max-tokens budget", () => {
  it("fails the run short of --rows, and --resume continues it with a fresh budget", async () => {
    const server = await startScriptedServer({ script: goodScript() });
    try {
      // The copula step and the first proposal request together take about 6,000 tokens.
      const first = await runWith(server, { iterations: 6 }, { maxTokens: 6000, iterations: 6 });
      expect(first.outcome).toBeInstanceOf(RunFailed);
      const { failure } = first.outcome as RunFailed;
      expect([failure.stoppedBecause, failure.rows < 200]).toEqual(["token-budget", true]);
      expect(existsSync(first.out)).toBe(false);
      expect((await leftIn(first.db)).runs[0]?.status).toBe("failed");

      const resumed = await runWith(
        server,
        { iterations: 6, resume: true },
        { maxTokens: 1_000_000, iterations: 6 },
        first.db,
      );
      expect((resumed.outcome as SynthResult).rows).toBe(200);
      expect(readFileSync(resumed.out, "utf8").trimEnd().split("\n")).toHaveLength(201);
      expect(await leftIn(first.db)).toEqual({
        runs: [{ status: "finished", reason: null, rows_written: 200 }],
        output: 1,
      });
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe("an HTTP 400 is read, not taken for a refused response_format", () => {
  it.each([
    {
      name: "llama.cpp's exceed_context_size_error",
      body: LLAMA_CONTEXT,
      message:
        "the prompt of the proposals for iteration 1 is 9120 tokens, more than the model's context of 4096 tokens (HTTP 400: request (9120 tokens) exceeds the available context size (4096 tokens), try increasing it)",
      needed: 9120 + 2048,
    },
    {
      name: "OpenAI's context_length_exceeded",
      body: OPENAI_CONTEXT,
      message:
        "the prompt of the proposals for iteration 1 is 9120 tokens, more than the model's context of 8192 tokens (HTTP 400: This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 tokens. Please reduce the length of the messages.)",
      needed: 9120 + 2048,
    },
  ])(
    "stops at once on $name, with the prompt's size and the fix",
    async ({ body, message, needed }) => {
      const server = await startScriptedServer({ script: proposalsGet(() => ({ status: 400, body })) });
      try {
        const { db, out, outcome } = await runWith(server);
        expect(outcome).toBeInstanceOf(SynthorError);
        const err = outcome as SynthorError;
        expect([err.code, err.message, err.hint]).toEqual([
          "LLM_CONTEXT_EXCEEDED",
          message,
          `use a model with a larger context, or give the server one of at least ${needed} tokens (the prompt and a reply of up to 2048; llama-server: --ctx-size); or make the prompt smaller: fewer columns (--ignore COLUMN), fewer --groups, a larger --min-cell`,
        ]);
        // Neither retried nor asked again without response_format.
        expect(server.requests.map((r) => r.kind)).toEqual(["copula", "proposals"]);
        expect(existsSync(out)).toBe(false);
        expect(await leftIn(db)).toEqual({
          runs: [{ status: "failed", reason: message, rows_written: 0 }],
          output: 0,
        });
      } finally {
        await server.close();
      }
    },
    60_000,
  );

  it("estimates the prompt's size when the server does not give it", async () => {
    const body = { error: { message: "context window exceeded", code: "context_length_exceeded" } };
    const server = await startScriptedServer({ script: () => ({ status: 400, body }) });
    try {
      const { outcome } = await runWith(server);
      const chars = JSON.parse(server.requests[0]?.raw ?? "{}").messages[0].content.length as number;
      expect((outcome as SynthorError).message).toBe(
        `the prompt of the copula step is about ${Math.ceil(chars / 4)} tokens (estimated from its ${chars} characters), more than the model's context (HTTP 400: context window exceeded)`,
      );
    } finally {
      await server.close();
    }
  }, 60_000);

  it("stops with the server's message on any other 400", async () => {
    const server = await startScriptedServer({
      script: proposalsGet(() => ({ status: 400, message: "temperature must be at most 2" })),
    });
    try {
      const { db, outcome } = await runWith(server);
      const err = outcome as SynthorError;
      expect([err.code, err.message, err.hint]).toEqual([
        "LLM_REQUEST_REFUSED",
        `${server.url} refused the request (proposals for iteration 1): HTTP 400: temperature must be at most 2`,
        "a request the server refuses is not retried: check --model and the server's options (its log says more); or plan without an LLM: --planner stats",
      ]);
      expect(server.requests.map((r) => r.kind)).toEqual(["copula", "proposals"]);
      expect(server.requests[1]?.body.response_format?.type).toBe("json_schema");
      expect((await leftIn(db)).runs[0]?.status).toBe("failed");
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe("synthor synth on the command line", () => {
  it("exits 1 with the counts on stderr and in --json, and writes no --out", async () => {
    const server = await startScriptedServer({ script: proposalsGet(() => ({ html: HTML })) });
    const out = join(tmp.dir, "cli-out.csv");
    const db = join(tmp.dir, "cli.duckdb");
    try {
      const r = await cli([
        "synth",
        ECOMMERCE,
        ...[
          "--planner",
          "llm",
          "--base-url",
          server.url,
          "--no-cache",
          "--rows",
          "200",
          "--iterations",
          "10",
        ],
        ...["--db", db, "--out", out, "--json", "--quiet"],
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        [
          "error: run 1 failed: 3 iterations in a row had no usable proposals, so it stopped early with 0 of the 200 rows asked for; nothing was written",
          "  iterations without usable proposals: 3 of 3",
          "    3 iterations: an HTML page instead of JSON",
          "  hint: the server answered with a web page, not its API: check --base-url (an OpenAI-compatible API, usually ending in /v1); or plan without an LLM: --planner stats",
          "",
        ].join("\n"),
      );
      expect(JSON.parse(r.stdout)).toMatchObject({
        runId: 1,
        status: "failed",
        reason:
          "3 iterations in a row had no usable proposals, so it stopped early with 0 of the 200 rows asked for",
        rows: 0,
        rowsAsked: 200,
        iterations: 3,
        stoppedBecause: "no-proposals",
        unusableIterations: {
          iterations: 3,
          inARow: 3,
          byReason: [{ reason: "html", label: "an HTML page instead of JSON", iterations: 3 }],
          rejections: [],
        },
        error: { code: "RUN_FAILED" },
      });
      expect(existsSync(out)).toBe(false);
      expect((await leftIn(db)).output).toBe(0);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("exits 0 at --target-tvd short of --rows (the job is done), and says the rows are fewer", async () => {
    const out = join(tmp.dir, "cli-tvd.csv");
    const db = join(tmp.dir, "cli-tvd.duckdb");
    const r = await cli([
      "synth",
      ECOMMERCE,
      ...["--rows", "400", "--iterations", "30", "--target-tvd", "0.1", "--db", db, "--out", out],
    ]);
    expect(r.code).toBe(0);
    const rows = readFileSync(out, "utf8").trimEnd().split("\n").length - 1;
    expect(rows).toBeLessThan(400);
    const line = `stopped at --target-tvd 0.1 with ${rows} of the 400 rows asked for: the mean TVD reached the target, so the table is complete at ${rows} rows`;
    expect(r.stderr).toContain(`\n${line}\n`);
    expect(await leftIn(db)).toEqual({
      runs: [{ status: "finished", reason: line, rows_written: rows }],
      output: 1,
    });
  }, 120_000);

  it("exits 1 on a prompt larger than the model's context, naming the fix", async () => {
    const server = await startScriptedServer({ script: () => ({ status: 400, body: LLAMA_CONTEXT }) });
    const out = join(tmp.dir, "cli-ctx.csv");
    try {
      const r = await cli([
        "synth",
        ECOMMERCE,
        ...[
          "--planner",
          "llm",
          "--base-url",
          server.url,
          "--no-cache",
          "--rows",
          "200",
          "--iterations",
          "10",
        ],
        ...["--out", out, "--quiet"],
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        [
          "error: the prompt of the copula step is 9120 tokens, more than the model's context of 4096 tokens (HTTP 400: request (9120 tokens) exceeds the available context size (4096 tokens), try increasing it)",
          "  hint: use a model with a larger context, or give the server one of at least 11168 tokens (the prompt and a reply of up to 2048; llama-server: --ctx-size); or make the prompt smaller: fewer columns (--ignore COLUMN), fewer --groups, a larger --min-cell",
          "",
        ].join("\n"),
      );
      expect(existsSync(out)).toBe(false);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe("which ends are failures", () => {
  const none = { iterations: 0, inARow: 0, byReason: [], rejections: [] };
  const end = { rows: 150, rowsAsked: 200, iterations: 10, unusable: none };

  it("fails a run that ends short of --rows after --where dropped rows it could not regrow", () => {
    expect(failureOf({ ...end, stoppedBecause: "iterations", whereDropped: 60 })).toEqual({
      reason: "150 of the 200 rows asked for: too many synthetic rows failed --where to regrow them all",
      hint: "check the predicate against the columns' kinds (synthor profile): a numeric range can hold values the predicate excludes",
    });
    expect(failureOf({ ...end, rows: 200, stoppedBecause: "iterations", whereDropped: 60 })).toBeUndefined();
  });

  it("takes --target-tvd and --patience as the job done, and says the rows are fewer", () => {
    for (const stoppedBecause of ["target-tvd", "patience", "interrupted"]) {
      expect(failureOf({ ...end, stoppedBecause })).toBeUndefined();
    }
    expect(qualityStopLine({ ...end, stoppedBecause: "patience" }, { patience: 4 })).toBe(
      "stopped by --patience 4 with 150 of the 200 rows asked for: the mean TVD did not improve in 4 iterations, so the table is complete at 150 rows",
    );
    expect(
      qualityStopLine({ ...end, rows: 200, stoppedBecause: "patience" }, { patience: 4 }),
    ).toBeUndefined();
  });
});
