/**
 * The nested LLM path over the real HTTP client, against the scripted local OpenAI-compatible server
 * (test/llm-server.ts), never the network: the prompt (the paper's p_proposal with households and their
 * members), a good reply sampled into both tables, a broken reply repaired with the validator's
 * problems, and a reply that stays broken skipped with a note. Also the zod schema and the validator's
 * messages on their own.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import type { SynthorError } from "../src/errors.ts";
import { type NestedSynthResult, synthesizeNested } from "../src/nested/pipeline.ts";
import { NestedLlmPlanner, parseNestedReply } from "../src/nested/planners/llm.ts";
import {
  acceptNestedProposals,
  NestedProposal,
  type NestedProposalScope,
  proposalScope,
  validateNestedProposal,
} from "../src/nested/proposals.ts";
import { readNested } from "../src/nested/source.ts";
import { type NestedSummary, summarizeNested } from "../src/nested/summarize.ts";
import { RunFailed } from "../src/outcome.ts";
import { ReplyCache } from "../src/planners/cache.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import { promptView } from "../src/planners/prompts.ts";
import { fixture, tempDir } from "./helpers.ts";
import { askedFor, type RecordedRequest, type Step, startScriptedServer } from "./llm-server.ts";

const households = fixture("nested/households.csv");
const persons = fixture("nested/persons.csv");

let summary: NestedSummary;
let scope: NestedProposalScope;
let db: Db;

beforeAll(async () => {
  db = await Db.open(":memory:", { threads: 1 });
  const source = await readNested(db, {
    kind: "linked",
    households: { kind: "file", path: households },
    members: { kind: "file", path: persons },
    key: "hhID",
  });
  summary = await summarizeNested(db, source);
  scope = proposalScope(summary, { min: 1, max: 4 });
});
afterAll(() => db?.close());

/** A valid household: the fixture's most common values, two members. */
function household(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    reason: "a couple",
    household: { region: "north", HHSize: "2", income: "2", children: "0", weight: [20, 30] },
    members: [
      { age: "4", sex: "1", emp: "1", pweight: [20, 30] },
      { age: "4", sex: "2", emp: "3", pweight: [20, 30] },
    ],
    num: 3,
    ...extra,
  };
}

describe("nested proposals: schema and validation", () => {
  it("accepts a whole household and keeps its members", () => {
    const notes: string[] = [];
    const valid = acceptNestedProposals([household()], scope, 10, notes);
    expect(notes).toEqual([]);
    expect(valid).toHaveLength(1);
    expect(valid[0]?.members).toHaveLength(2);
    expect(valid[0]?.num).toBe(3);
  });

  it("says what is wrong with the shape", () => {
    const r = NestedProposal.safeParse({ household: {}, members: "two", num: 1, size: 2 });
    expect(r.success).toBe(false);
    const messages = r.error?.issues.map((i) => i.message) ?? [];
    expect(messages).toContain(
      'unknown key "size"; a household proposal has "reason", "household", "members" and "num"',
    );
    expect(messages).toContain('"members" must be a list of member objects, not "two"');
  });

  it("names the member, the column and what is allowed", () => {
    const p = NestedProposal.parse(
      household({
        household: { region: "west", HHSize: "2", income: "2", children: "0", weight: [20, 30] },
        members: [
          { age: "99", sex: "1", emp: "1", pweight: [20, 30] },
          { age: "4", sex: "2", emp: "3" },
        ],
      }),
    );
    expect(validateNestedProposal(p, scope)).toEqual([
      'household: column "region" has no category "west"; give one of "north", "south", "east"',
      'member 1: column "age" has no category "99"; give one of "4", "5", "3", "0", "1"',
      'member 2: column "pweight" is missing; give it [10.21, 49.54]',
    ]);
  });

  it("refuses a member count no real household has", () => {
    const p = NestedProposal.parse(household({ members: [] }));
    expect(validateNestedProposal(p, scope)).toEqual([
      'the household has 0 members; real households have 1 to 4: give "members" a list of that many member objects',
    ]);
  });
});

/** The proposal shape the prompt shows, read back from its "**Proposal shape:**" line. */
function shown(body: RecordedRequest["body"]): {
  household: Record<string, unknown>;
  members: Record<string, unknown>[];
} {
  const text = body.messages[0]?.content ?? "";
  const line = text.split("\n").find((l) => l.startsWith("**Proposal shape:**")) ?? "";
  return JSON.parse(line.slice(line.indexOf("e.g. ") + 5));
}

/** A good reply in the paper's format: as many proposals as asked, nums adding up to the households asked. */
function goodReply(body: RecordedRequest["body"]): string {
  const { proposals, samples } = askedFor(body);
  const example = shown(body);
  const out: Record<string, unknown> = { n_proposals: proposals };
  for (let i = 0; i < proposals; i++) {
    const members = i % 2 === 0 ? [example.members[0], example.members[0]] : [example.members[0]];
    const num = Math.floor(samples / proposals) + (i < samples % proposals ? 1 : 0);
    out[`proposal${i + 1}`] = { reason: `scripted ${i + 1}`, household: example.household, members, num };
  }
  return JSON.stringify(out);
}

describe("nested LLM planner over HTTP", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  async function run(
    script: (r: RecordedRequest) => Step,
    name: string,
    iterations = 2,
    extra: { cache?: ReplyCache; maxTokens?: number } = {},
  ) {
    const server = await startScriptedServer({ script });
    try {
      const path = join(tmp.dir, `${name}.duckdb`);
      let error: unknown;
      const result = (await synthesizeNested({
        source: {
          kind: "linked",
          households: { kind: "file", path: households },
          members: { kind: "file", path: persons },
          key: "hhID",
        },
        db: path,
        threads: 1,
        iterations,
        rows: 20,
        seed: 1,
        planner: (d, s) =>
          new NestedLlmPlanner(s, {
            db: d,
            client: new OpenAiChatClient({
              model: "scripted-model",
              baseURL: server.url,
              apiKey: "test",
              timeoutMs: 5000,
              maxRetries: 0,
            }),
            temperature: 0,
            ...extra,
          }),
      }).catch((err: unknown) => {
        error = err;
      })) as NestedSynthResult;
      const check = await Db.open(path, { readOnly: true });
      try {
        const notes = await check.all<{ notes: string }>(
          "select notes::varchar as notes from synthor_iterations order by iteration",
        );
        const runs = await check.all<{ status: string; reason: string | null }>(
          "select status, reason from synthor_runs order by run_id",
        );
        const [tables] = await check.all<{ n: number }>(
          "select count(*)::integer as n from information_schema.tables where table_name in ('synthetic', 'synthetic_members')",
        );
        const output =
          tables?.n === 2
            ? JSON.stringify([
                await check.all("select * from synthetic"),
                await check.all("select * from synthetic_members"),
              ])
            : undefined;
        return {
          runs,
          output,
          outputTables: tables?.n,
          result,
          error,
          requests: server.requests,
          notes: notes.map((n) => JSON.parse(n.notes) as string[]),
        };
      } finally {
        check.close();
      }
    } finally {
      await server.close();
    }
  }

  it("sends the nested p_proposal and samples a good reply into both tables", async () => {
    const { result, requests } = await run((r) => ({ reply: goodReply(r.body) }), "good");
    expect(requests.map((r) => r.kind)).toEqual(["proposals", "proposals"]);
    const prompt = requests[0]?.body.messages[0]?.content ?? "";
    expect(prompt).toContain('"household": {...},\n "members": [{...}, {...}],');
    expect(prompt).toContain('Household variables ("household"):\n- region (categorical)');
    expect(prompt).toContain('Member variables (each object of "members"):\n- age (categorical)');
    expect(prompt).toContain("Create no more than 5 proposals totaling 10 samples");
    expect(prompt).toContain('Members:\n- age (TVD 1.000): "4" 30.7% / 0% (+30.7%);');
    expect(result.households).toBe(20);
    expect(result.integrity).toMatchObject({ households: 20, orphans: 0 });
    // Proposals alternate two members and one: 3 and 2 of the 5 per iteration, each num 2.
    expect(result.members).toBe(2 * (3 * 2 * 2 + 2 * 2 * 1));
  }, 30_000);

  it("asks for a repair quoting the problems, and uses the repaired reply", async () => {
    const { result, requests, notes } = await run((r) => {
      if (r.kind === "repair")
        return { reply: goodReply({ ...r.body, messages: [r.body.messages[0] as never] }) };
      const bad = JSON.parse(goodReply(r.body)) as Record<string, { members: Record<string, unknown>[] }>;
      const first = bad.proposal1 as { members: Record<string, unknown>[] };
      first.members = [{ ...first.members[0], age: "99" }];
      return { reply: JSON.stringify(bad) };
    }, "repair");
    expect(requests.map((r) => r.kind)).toEqual(["proposals", "repair", "proposals", "repair"]);
    const repair = requests[1]?.body.messages.at(-1)?.content ?? "";
    expect(repair).toContain('- proposal1: member 1: column "age" has no category "99"; give one of');
    expect(notes[0]?.[0]).toMatch(
      /^proposals for iteration 1: 4 of 5 proposals valid; proposal1: member 1: column "age" has no category "99"/,
    );
    expect(result.households).toBe(20);
  }, 30_000);

  it("skips an iteration whose reply stays broken, with a note, and fails the run that ends short", async () => {
    const { error, notes } = await run(() => ({ reply: "I cannot help with that." }), "broken");
    expect(notes[0]).toContain("iteration 1: no usable proposals; skipped");
    expect(notes[0]?.[0]).toBe(
      "proposals for iteration 1: 0 of 0 proposals valid; the reply holds no JSON object; asking for a repair",
    );
    // Both iterations were empty: no households, so the run failed rather than write empty tables.
    expect(error).toBeInstanceOf(RunFailed);
    expect((error as RunFailed).message).toBe(
      [
        "run 1 failed: 0 of the 20 households asked for after all 2 iterations, 2 of them without usable proposals; nothing was written",
        "  iterations without usable proposals: 2 of 2",
        "    2 iterations: a reply with no valid JSON",
      ].join("\n"),
    );
  }, 30_000);

  it("stops after 3 iterations in a row of web pages, as the flat loop does, and writes neither table", async () => {
    const html = "<!doctype html><html><body>not the API</body></html>";
    const { error, requests, runs, outputTables } = await run(() => ({ html }), "html", 10);
    expect(requests).toHaveLength(3);
    expect((error as RunFailed).message).toBe(
      [
        "run 1 failed: 3 iterations in a row had no usable proposals, so it stopped early with 0 of the 20 households asked for; nothing was written",
        "  iterations without usable proposals: 3 of 3",
        "    3 iterations: an HTML page instead of JSON",
      ].join("\n"),
    );
    expect(runs).toEqual([
      {
        status: "failed",
        reason:
          "3 iterations in a row had no usable proposals, so it stopped early with 0 of the 20 households asked for",
      },
    ]);
    expect(outputTables).toBe(0);
  }, 30_000);

  it("stops at once on a prompt larger than the model's context, and records the run as failed", async () => {
    const body = {
      error: {
        code: 400,
        message: "request (9120 tokens) exceeds the available context size (4096 tokens)",
        type: "exceed_context_size_error",
        n_prompt_tokens: 9120,
        n_ctx: 4096,
      },
    };
    const { error, requests, runs } = await run(() => ({ status: 400, body }), "context", 10);
    expect(requests).toHaveLength(1);
    const message =
      "the prompt of the proposals for iteration 1 is 9120 tokens, more than the model's context of 4096 tokens (HTTP 400: request (9120 tokens) exceeds the available context size (4096 tokens))";
    expect([(error as SynthorError).code, (error as SynthorError).message]).toEqual([
      "LLM_CONTEXT_EXCEEDED",
      message,
    ]);
    expect(runs).toEqual([{ status: "failed", reason: message }]);
  }, 30_000);

  it("replays a run from its reply cache with no requests, to the same tables (--replay)", async () => {
    const dir = join(tmp.dir, "cache");
    const first = await run((r) => ({ reply: goodReply(r.body) }), "cached", 2, {
      cache: new ReplyCache(dir, "use"),
    });
    expect(first.requests).toHaveLength(2);
    const replayed = await run(() => ({ reply: "never asked" }), "replayed", 2, {
      cache: new ReplyCache(dir, "replay"),
    });
    expect(replayed.requests).toEqual([]);
    expect(replayed.error).toBeUndefined();
    expect(replayed.output).toBe(first.output);
    expect(replayed.result.tokens.calls).toBe(0);
  }, 30_000);

  it("stops once the token budget is spent and fails the run that ends short (--max-tokens)", async () => {
    const { error, requests, runs, notes } = await run((r) => ({ reply: goodReply(r.body) }), "budget", 3, {
      maxTokens: 1,
    });
    // The first reply spends the budget: no second request.
    expect(requests).toHaveLength(1);
    expect(notes[1]?.[0]).toMatch(/^token budget reached \(\d+ of 1 tokens\); no more requests$/);
    expect(error).toBeInstanceOf(RunFailed);
    expect(runs[0]?.status).toBe("failed");
    expect(runs[0]?.reason).toMatch(
      /^the --max-tokens budget of 1 tokens was spent \(\d+ used\) with 7 of the 20 households asked for$/,
    );
  }, 30_000);

  it("reads the paper's reply format and converts numbers written for categories", () => {
    const view = promptView(summary.households, 5);
    const members = promptView(summary.members, 5);
    const reply = JSON.stringify({
      n_proposals: 1,
      proposal1: { ...household(), household: { ...(household().household as object), income: 2 } },
    });
    const parsed = parseNestedReply(reply, scope, view, members);
    expect(parsed.problems).toEqual([]);
    expect(parsed.proposals[0]?.household.income).toBe("2");
  });
});
