import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { RunFailed } from "../src/outcome.ts";
import { type SynthOptions, type SynthResult, synthesize } from "../src/pipeline.ts";
import { ReplyCache } from "../src/planners/cache.ts";
import { LlmPlanner, type LlmPlannerOptions, scaleNums } from "../src/planners/llm.ts";
import { openLocalModel, toGrammarSchema } from "../src/planners/local-client.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import { promptView } from "../src/planners/prompts.ts";
import {
  extractJson,
  parseCopulaReply,
  parseProposalReply,
  proposalSchema,
} from "../src/planners/replies.ts";
import { profileColumns } from "../src/profile.ts";
import { readSource } from "../src/source.ts";
import { type Summary, summarizeTable } from "../src/summarize.ts";
import { cli, tempDir } from "./helpers.ts";
import {
  copulaReply,
  ECOMMERCE_GROUPS,
  goodProposals,
  goodScript,
  type RecordedRequest,
  type ScriptedServer,
  type Step,
  startScriptedServer,
} from "./llm-server.ts";

const ECOMMERCE = "examples/ecommerce/ecommerce.csv";

let tmp: ReturnType<typeof tempDir>;
let summary: Summary;
beforeAll(async () => {
  tmp = tempDir();
  const db = await Db.open(":memory:", { threads: 2 });
  try {
    const source = await readSource(db, { kind: "file", path: ECOMMERCE });
    summary = await summarizeTable(db, source, await profileColumns(db, source, {}));
  } finally {
    db.close();
  }
});
afterAll(() => tmp.cleanup());

interface Run {
  result: SynthResult;
  iterations: {
    iteration: number;
    rows_added: number;
    notes: string[];
    prompt_tokens: number;
    llm_calls: number;
  }[];
  synthetic: Record<string, unknown>[];
}

let runNo = 0;
/** Runs the loop on the e-commerce example with an LLM planner talking to `server` through the real client. */
async function runWith(
  server: ScriptedServer | { url: string },
  planner: Partial<LlmPlannerOptions> = {},
  options: Partial<SynthOptions> & { rows?: number; iterations?: number } = {},
  client: { timeoutMs?: number; maxRetries?: number } = {},
): Promise<Run> {
  const db = join(tmp.dir, `run-${++runNo}.duckdb`);
  const rows = options.rows ?? 200;
  const iterations = options.iterations ?? 10;
  const chat = new OpenAiChatClient({
    model: "scripted-model",
    baseURL: server.url,
    apiKey: "test",
    timeoutMs: client.timeoutMs ?? 5000,
    maxRetries: client.maxRetries ?? 2,
    retryBaseMs: 10,
  });
  let made: LlmPlanner | undefined;
  try {
    const result = await synthesize({
      source: { kind: "file", path: ECOMMERCE },
      db,
      threads: 2,
      rows,
      iterations,
      seed: 3,
      ...options,
      planner: (_db, s) => {
        made = new LlmPlanner(s, {
          client: chat,
          seed: options.seed ?? 3,
          iterations,
          rowsTarget: rows,
          ...planner,
        });
        return made;
      },
    });
    const read = await Db.open(db, { readOnly: true });
    try {
      const its = await read.all<Run["iterations"][number] & { notes: string }>(
        "select iteration, rows_added, notes::varchar as notes, prompt_tokens, llm_calls from synthor_iterations order by iteration",
      );
      const synthetic = await read.all<Record<string, unknown>>("from synthetic order by all");
      return {
        result,
        iterations: its.map((r) => ({ ...r, notes: JSON.parse(r.notes) as string[] })),
        synthetic,
      };
    } finally {
      read.close();
    }
  } finally {
    made?.close();
  }
}

function expectValidEcommerce(rows: Record<string, unknown>[]): void {
  for (const r of rows) {
    expect(["Male", "Female"]).toContain(r.gender);
    expect(["Developed", "Developing"]).toContain(r.location_tier);
    expect(["Electronics", "Apparel", "Food & Beverages", "Furniture & Appliances"]).toContain(
      r.product_category,
    );
    expect(["Online Payment", "Cash on Delivery"]).toContain(r.payment_method);
    // Within the real columns' ranges (min and max of examples/ecommerce/ecommerce.csv).
    expect(r.user_age as number).toBeGreaterThanOrEqual(18.05);
    expect(r.user_age as number).toBeLessThanOrEqual(82.92);
    expect(r.price as number).toBeGreaterThanOrEqual(0.03);
    expect(r.price as number).toBeLessThanOrEqual(1996.72);
  }
}

/** Replaces every proposal's gender in a good reply. */
function withGender(reply: string, gender: string): string {
  const o = JSON.parse(reply) as Record<string, { proposal?: Record<string, unknown> } | number>;
  for (const v of Object.values(o)) if (typeof v === "object" && v.proposal) v.proposal.gender = gender;
  return JSON.stringify(o);
}

describe("LLM planner over a scripted OpenAI-compatible server", () => {
  it("completes a run through broken JSON, unknown categories, missing fields, an empty reply, 429, 500 and a timeout, recording each", async () => {
    const script = (r: RecordedRequest): Step => {
      const good = () => goodProposals(r.body);
      switch (r.index) {
        case 0:
          return { reply: copulaReply(ECOMMERCE_GROUPS) };
        case 2: // iteration 2: cut-off JSON, then a good repair
          return { reply: good().slice(0, 80) };
        case 4: // iteration 3: unknown categories twice: recorded and skipped
        case 5:
          return { reply: withGender(good(), "male") };
        case 6: {
          // iteration 4: a proposal without num, another without price
          const o = JSON.parse(good()) as Record<string, { num?: number; proposal: Record<string, unknown> }>;
          delete o.proposal1?.num;
          delete o.proposal2?.proposal.price;
          return { reply: JSON.stringify(o) };
        }
        case 8: // iteration 5: an empty reply, then JSON inside prose and a fence
          return { reply: "" };
        case 9:
          return {
            reply: `Here are the proposals:\n\`\`\`json\n${goodProposals(r.body, { pretty: true })}\n\`\`\`\nDone.`,
          };
        case 10: // iteration 6: rate limited
          return { status: 429, message: "slow down", headers: { "retry-after": "1" } };
        case 12: // iteration 7: server error
          return { status: 500, message: "boom" };
        case 14: // iteration 8: no answer at all
          return { hang: true };
        default:
          return { reply: good() };
      }
    };
    const server = await startScriptedServer({ script });
    try {
      // The client's limit is well above what a loaded machine takes for a scripted reply; only the hang meets it.
      const run = await runWith(server, {}, {}, { timeoutMs: 5000 });
      expect(run.result.rows).toBe(200);
      expect(run.result.iterations).toBe(10);
      expect(run.synthetic).toHaveLength(200);
      expectValidEcommerce(run.synthetic);

      const notes = (it: number) => run.iterations.find((x) => x.iteration === it)?.notes.join("\n") ?? "";
      expect(notes(1)).toBe("");
      expect(notes(2)).toMatch(
        /proposals for iteration 2: 0 of 0 proposals valid; the reply is not valid JSON/,
      );
      expect(notes(3)).toContain(
        'proposal1: column "gender" has no category "male" (categories are case-sensitive: did you mean "Male"?); give one of "Female", "Male"',
      );
      expect(notes(3)).toContain("iteration 3: no usable proposals; skipped");
      expect(run.iterations.find((x) => x.iteration === 3)?.rows_added).toBe(0);
      expect(notes(4)).toContain('proposal1: is missing "num"');
      expect(notes(4)).toContain('proposal2: column "price" is missing; give it [7.5084, 1845.14]');
      expect(notes(5)).toContain("the reply was empty");
      expect(notes(6)).toContain("proposals for iteration 6: HTTP 429: slow down; retrying in 1.0 s");
      expect(notes(7)).toContain("proposals for iteration 7: HTTP 500: boom; retrying in 0.0 s");
      // A timeout is not retried: the server would take as long again (and may still be computing it).
      expect(notes(8)).toContain(
        "proposals for iteration 8: no complete reply within 5 s (--timeout 5); cancelled, not retried: the server would take as long again (raise --timeout for a slow server)",
      );

      // Retry-After was honoured.
      const [r10, r11] = [server.requests[10], server.requests[11]];
      expect((r11?.at ?? 0) - (r10?.at ?? 0)).toBeGreaterThanOrEqual(950);
      // Every request the server saw is counted; tokens are recorded per iteration.
      expect(run.iterations.reduce((s, x) => s + x.llm_calls, 0)).toBe(server.requests.length);
      // Iteration 8's only request was cancelled at --timeout (not retried), so no usage came back for it.
      expect(run.iterations.filter((x) => x.prompt_tokens === 0).map((x) => x.iteration)).toEqual([8]);
      expect(run.result.tokens.calls).toBe(server.requests.length);

      // The requests: the paper's temperature, a seed, the JSON schema as structured output, repairs quote the validator.
      const first = server.requests[1]?.body;
      expect(first?.temperature).toBe(0.8);
      expect(typeof first?.seed).toBe("number");
      expect(first?.response_format?.type).toBe("json_schema");
      const repair = server.requests[5]?.body.messages;
      expect(repair?.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
      expect(repair?.[2]?.content).toContain('did you mean "Male"?');
    } finally {
      await server.close();
    }
  });

  it("asks for plain JSON once the server refuses response_format", async () => {
    const server = await startScriptedServer({ script: goodScript(), rejectResponseFormat: true });
    try {
      const run = await runWith(server, {}, { rows: 60, iterations: 3 });
      expect(run.result.rows).toBe(60);
      expect(run.iterations[0]?.notes.join("\n")).toContain(
        "the server refused response_format (HTTP 400: response_format is not supported by this server); asking for plain JSON from now on",
      );
      expect(server.requests.every((r) => r.body.response_format === undefined)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("replays a run from the cache with no calls, and names a request the cache lacks", async () => {
    const cacheDir = join(tmp.dir, "cache");
    const server = await startScriptedServer({ script: goodScript() });
    let first: Run;
    try {
      first = await runWith(
        server,
        { cache: new ReplyCache(cacheDir, "use"), concurrency: 2 },
        { rows: 80, iterations: 4 },
      );
    } finally {
      await server.close();
    }
    const silent = await startScriptedServer({ script: goodScript() });
    try {
      const again = await runWith(
        silent,
        { cache: new ReplyCache(cacheDir, "replay"), concurrency: 2 },
        { rows: 80, iterations: 4 },
      );
      expect(silent.requests).toHaveLength(0);
      expect(again.synthetic).toEqual(first.synthetic);
      expect(again.iterations.map((x) => x.prompt_tokens)).toEqual(
        first.iterations.map((x) => x.prompt_tokens),
      );
      expect(again.result.tokens.calls).toBe(0);

      const miss = runWith(
        silent,
        { cache: new ReplyCache(cacheDir, "replay") },
        { rows: 80, iterations: 4, seed: 4 },
      );
      await expect(miss).rejects.toThrow(
        /^--replay: the cache holds no reply for the copula step \(model scripted-model, key [0-9a-f]{16}\)/,
      );
      expect(silent.requests).toHaveLength(0);
    } finally {
      await silent.close();
    }
  });

  it("stops asking once the token budget is spent, and fails the run short of --rows without writing it", async () => {
    const server = await startScriptedServer({ script: goodScript() });
    try {
      // The copula step and the first proposal request together take about 6,000 tokens.
      const err = await runWith(server, { maxTokens: 6000 }, { rows: 200, iterations: 6 }).catch((e) => e);
      expect(err).toBeInstanceOf(RunFailed);
      const read = await Db.open(join(tmp.dir, `run-${runNo}.duckdb`), { readOnly: true });
      let iterations: { rows_added: number; llm_calls: number; notes: string[] }[];
      let left: { status: string; reason: string; output: number; kept: number } | undefined;
      try {
        iterations = (
          await read.all<{ rows_added: number; llm_calls: number; notes: string }>(
            "select rows_added::integer as rows_added, llm_calls, notes::varchar as notes from synthor_iterations order by iteration",
          )
        ).map((r) => ({ ...r, notes: JSON.parse(r.notes) as string[] }));
        [left] = await read.all<{ status: string; reason: string; output: number; kept: number }>(
          `select status, reason,
                  (select count(*) from information_schema.tables where table_name = 'synthetic')::integer as output,
                  (select count(*) from synthor_synth_model)::integer as kept
           from synthor_runs`,
        );
      } finally {
        read.close();
      }
      const spentAt = iterations.findIndex((x) => x.notes.some((n) => n.startsWith("token budget reached")));
      expect(spentAt).toBeGreaterThan(0);
      // The loop ends with the iteration that found the budget spent, and says why.
      const { failure } = err as RunFailed;
      expect(failure.stoppedBecause).toBe("token-budget");
      expect(iterations).toHaveLength(spentAt + 1);
      expect(iterations.slice(spentAt).every((x) => x.rows_added === 0 && x.llm_calls === 0)).toBe(true);
      expect(server.requests).toHaveLength(1 + spentAt);
      expect(failure.rows).toBeLessThan(200);
      expect(failure.rows).toBe(iterations.reduce((s, x) => s + x.rows_added, 0));
      // Short of --rows, so the run failed: nothing written, the reason recorded, the rows kept for --resume.
      const reason = `the --max-tokens budget of 6000 tokens was spent (${failure.reason.match(/\((\d+) used\)/)?.[1]} used) with ${failure.rows} of the 200 rows asked for`;
      expect((err as RunFailed).message).toBe(`run ${failure.runId} failed: ${reason}; nothing was written`);
      expect((err as RunFailed).hint).toBe(
        "run again with a larger --max-tokens, or continue with the same command and --resume (each run of the command has its own budget)",
      );
      expect(left).toEqual({ status: "failed", reason, output: 0, kept: failure.rows });
    } finally {
      await server.close();
    }
  });

  it("keeps --concurrency requests in flight by planning iterations ahead", async () => {
    // No proposals reply is sent until four proposals requests are open at once: iterations 1-4 must be
    // asked together, right after the copula step. (A planner that waited for each reply would never get
    // the first one, and the test would fail at its timeout.)
    const good = goodScript();
    let asked = 0;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const server = await startScriptedServer({
      script: (r) => {
        if (r.kind !== "proposals") return good(r);
        if (++asked === 4) openGate();
        return { ...good(r), after: gate };
      },
    });
    try {
      const run = await runWith(server, { concurrency: 4 }, { rows: 160, iterations: 8 });
      expect(run.result.rows).toBe(160);
      expect(server.maxInFlight).toBe(4);
      // No request is made past iteration 8.
      const proposals = server.requests.filter((r) => r.kind === "proposals");
      expect(proposals).toHaveLength(8);
    } finally {
      await server.close();
    }
  });

  it("stops the run when the server refuses the key, and when it cannot be reached", async () => {
    const server = await startScriptedServer({ script: () => ({ status: 401, message: "bad key" }) });
    try {
      await expect(runWith(server, {}, { rows: 20, iterations: 1 })).rejects.toThrow(
        `${server.url} refused the API key: HTTP 401: bad key`,
      );
    } finally {
      await server.close();
    }
    await expect(
      runWith({ url: server.url }, {}, { rows: 20, iterations: 1 }, { maxRetries: 1 }),
    ).rejects.toThrow(
      /^the model never answered the copula step: copula step: connection error \(ECONNREFUSED\); gave up after 2 attempts$/,
    );
  });
});

describe("synthor synth with an LLM planner", () => {
  it("plans with the only model a --base-url server lists, and says so", async () => {
    const server = await startScriptedServer({ script: goodScript() });
    try {
      const [llm, stats] = await Promise.all([
        cli(
          [
            "synth",
            ECOMMERCE,
            "--base-url",
            server.url,
            "--planner",
            "llm",
            "--rows",
            "60",
            "--iterations",
            "3",
          ].concat(["--no-cache", "--json", "--scenario", "a sale"]),
          { env: { OPENAI_API_KEY: "" } },
        ),
        cli(["synth", ECOMMERCE, "--rows", "20", "--iterations", "1"]),
      ]);
      expect(llm.stderr).toContain(
        `synthor: planning with llm:scripted-model (scripted-model at ${server.url}; concurrency 1, temperature 0.8, min cell 5); no cache`,
      );
      expect(llm.stderr).toContain("synthor: scenario: a sale");
      expect(llm.code).toBe(0);
      const result = JSON.parse(llm.stdout) as SynthResult;
      expect(result.planner).toBe("llm:scripted-model");
      expect(result.rows).toBe(60);
      expect(result.tokens.calls).toBe(4);
      expect(server.requests[1]?.body.messages[0]?.content).toContain("**Scenario:** a sale");
      expect(stats.code).toBe(0);
      expect(stats.stderr).toContain(
        "synthor: no LLM configured; planning with the statistical planner (--planner stats).",
      );
    } finally {
      await server.close();
    }
  });
});

describe("LLM replies", () => {
  it("finds JSON in plain text, fences, prose and reasoning, and forgives trailing commas", () => {
    expect(extractJson('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(extractJson('Sure!\n```json\n{"a": [1, 2,],}\n```')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(extractJson('<think>{"no": 1}</think> The answer is {"a": "}"} as asked.')).toEqual({
      ok: true,
      value: { a: "}" },
    });
    expect(extractJson("")).toEqual({ ok: false, problem: "the reply was empty" });
    expect(extractJson("I cannot help with that.")).toEqual({
      ok: false,
      problem: "the reply holds no JSON object",
    });
    expect(extractJson('{"a": ').ok).toBe(false);
  });

  it("converts the paper's reply format to the loop's proposals, widening ranges that reach the ends shown", () => {
    const view = promptView(summary, 5);
    const age = view.byName.get("user_age");
    const reply = JSON.stringify({
      n_proposals: 2,
      proposal1: {
        reason: "young women buy apparel",
        proposal: {
          user_age: [age?.lo, 22.77],
          gender: "Female",
          location_tier: "Developing",
          product_category: "Apparel",
          price: ["10", "100"],
          payment_method: "Cash on Delivery",
        },
        num: 7,
      },
      proposal2: {
        reason: "x",
        proposal: {
          user_age: 40,
          gender: "Female",
          location_tier: "Developing",
          product_category: "Apparel",
          price: [10, 100],
          payment_method: "Cash on Delivery",
          colour: "red",
        },
        num: 3,
      },
    });
    const parsed = parseProposalReply(reply, view);
    expect(parsed.found).toBe(2);
    expect(parsed.problems).toEqual([
      'proposal2: unknown column "colour"; the columns are: user_age, gender, location_tier, product_category, price, payment_method',
    ]);
    const min = summary.columns.find((c) => c.name === "user_age")?.grid?.[0];
    expect(parsed.proposals).toEqual([
      {
        reason: "young women buy apparel",
        proposal: {
          user_age: [min, 22.77],
          gender: "Female",
          location_tier: "Developing",
          product_category: "Apparel",
          price: [10, 100],
          payment_method: "Cash on Delivery",
        },
        num: 7,
      },
    ]);
    expect(parseProposalReply('[{"proposal": {}, "num": 1}]', view).problems[0]).toBe(
      'proposal1: column "user_age" is missing; give it [18.3399, 72.82]',
    );
    expect(parseProposalReply('{"foo": 1}', view).problems).toEqual([
      'the reply does not follow the Output Format: give an object with "n_proposals" and "proposal1", "proposal2", ... each holding "reason", "proposal" and "num"',
    ]);
  });

  it("validates copula groups: known variables, 2 to 4 each, at most --groups", () => {
    const view = promptView(summary, 5);
    expect(
      parseCopulaReply('{"1": ["gender", "product_category"], "2": ["Price", "product_category"]}', view, 3),
    ).toEqual({
      groups: [["gender", "product_category"]],
      problems: [
        'group "2": unknown variable "Price" (names are case-sensitive: did you mean "price"?); the variables are: user_age, gender, location_tier, product_category, price, payment_method',
      ],
    });
    expect(
      parseCopulaReply('{"1": ["gender"], "2": ["gender", "price"], "3": ["price", "gender"]}', view, 3),
    ).toEqual({
      groups: [["gender", "price"]],
      problems: ['group "1" has 1 distinct variable; each group needs two or more'],
    });
    expect(
      parseCopulaReply(
        '{"1": ["gender", "price"], "2": ["user_age", "price"], "3": ["user_age", "gender"]}',
        view,
        2,
      ).problems,
    ).toEqual(["the reply has 3 groups; give at most 2"]);
  });

  it("scales the nums to the rows asked for by largest remainder", () => {
    const p = (num: number) => ({ reason: "", proposal: {}, num });
    const notes: string[] = [];
    expect(scaleNums([p(10), p(10), p(10)], 20, 4, notes).map((x) => x.num)).toEqual([7, 7, 6]);
    expect(notes).toEqual([
      "iteration 4: the proposals' nums added up to 30 rows; scaled to the 20 asked for",
    ]);
    expect(scaleNums([p(19), p(1)], 3, 1, []).map((x) => x.num)).toEqual([3]);
    expect(scaleNums([p(5), p(15)], 20, 1, []).map((x) => x.num)).toEqual([5, 15]);
  });
});

describe("local model", () => {
  it("turns the proposal schema into node-llama-cpp's grammar subset", () => {
    const schema = toGrammarSchema(proposalSchema(promptView(summary, 5), 1, 3)) as {
      properties: { proposal1: { properties: Record<string, unknown> } };
    };
    const p = schema.properties.proposal1.properties;
    expect(p.num).toEqual({ enum: [1, 2, 3] });
    expect(p.reason).toEqual({ type: "string", maxLength: 300 });
    expect((p.proposal as { properties: Record<string, unknown> }).properties.gender).toEqual({
      enum: ["Female", "Male"],
    });
  });

  it("says how to install node-llama-cpp, or that the file is no model", async () => {
    const err = await openLocalModel({ modelFile: ECOMMERCE }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthorError);
    expect([
      "--planner local needs node-llama-cpp, which is not installed",
      `cannot load the model file ${ECOMMERCE}`,
    ]).toContain((err as SynthorError).message.split(":")[0]);
    await expect(openLocalModel({ modelFile: "missing.gguf" })).rejects.toThrow(
      "model file not found: missing.gguf",
    );
  });
});
