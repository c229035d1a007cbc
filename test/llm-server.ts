import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A scripted OpenAI-compatible server on 127.0.0.1 (a real socket, for the real `openai` client):
 * POST /v1/chat/completions answers each request with the step the script returns for it; GET /v1/models
 * lists one model. Every request body is kept, so tests can check what was sent.
 */

/** What the server does with one request. */
export type Step =
  /**
   * `after`: the reply is held until this settles (a stop point the test drives, for tests); `delayMs`:
   * sent that long after the request came (a server's latency, for bench/llm.ts; no test waits on it).
   */
  | { reply: string; after?: Promise<unknown>; delayMs?: number; finishReason?: string }
  | { status: number; message?: string; headers?: Record<string, string>; delayMs?: number }
  /** An error status with this exact JSON body (e.g. llama.cpp's or OpenAI's context-size error). */
  | { status: number; body: unknown }
  /** A web page instead of the API: `content-type: text/html` (status 200 unless given). */
  | { html: string; status?: number }
  /** A chat completion whose message content is these bytes, as sent (they need not be valid UTF-8). */
  | { replyBytes: Buffer }
  /** Never answer: the client's timeout fires. */
  | { hang: true }
  /** Send the status line, the headers and the start of a JSON body, then nothing more, ever. */
  | { stall: true };

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  seed?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  response_format?: { type: string; json_schema?: { name: string; schema: JsonSchema; strict?: boolean } };
}

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
}

export interface RecordedRequest {
  index: number;
  kind: RequestKind;
  body: ChatBody;
  raw: string;
  at: number;
}

export type RequestKind = "copula" | "proposals" | "repair";

export interface ScriptedServer {
  /** Base URL for the client, ending in /v1. */
  url: string;
  requests: RecordedRequest[];
  /** Most requests that were open at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** The step for each chat request (index counts chat requests from 0). */
  script: (request: RecordedRequest) => Step;
  /** Answer 400 to any request that carries response_format (a server without structured outputs). */
  rejectResponseFormat?: boolean;
  model?: string;
}

export async function startScriptedServer(options: ServerOptions): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      if (req.method === "GET" && req.url?.endsWith("/models")) {
        json(res, 200, {
          object: "list",
          data: [{ id: options.model ?? "scripted-model", object: "model", created: 0, owned_by: "test" }],
        });
        return;
      }
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        json(res, 404, {
          error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" },
        });
        return;
      }
      const body = JSON.parse(raw) as ChatBody;
      if (options.rejectResponseFormat && body.response_format) {
        json(res, 400, {
          error: {
            message: "response_format is not supported by this server",
            type: "invalid_request_error",
          },
        });
        return;
      }
      const recorded: RecordedRequest = {
        index: requests.length,
        kind: requestKind(body),
        body,
        raw,
        at: Date.now(),
      };
      requests.push(recorded);
      const step = options.script(recorded);
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      res.on("close", () => {
        inFlight--;
      });
      if ("hang" in step) return;
      if ("stall" in step) {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"id": "chatcmpl-stalled", "object": "chat.completion", "choices": [');
        return;
      }
      const send = () => {
        if ("html" in step) {
          if (res.destroyed) return;
          res.writeHead(step.status ?? 200, { "content-type": "text/html; charset=utf-8" });
          res.end(step.html);
        } else if ("replyBytes" in step) {
          // The completion as JSON with a marker for the content, then the marker replaced by the raw bytes.
          const marker = "@@CONTENT@@";
          const text = JSON.stringify(completion(recorded.index, body.model, marker, "stop", raw.length, 10));
          const [head, tail] = text.split(marker) as [string, string];
          if (res.destroyed) return;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(Buffer.concat([Buffer.from(head), step.replyBytes, Buffer.from(tail)]));
        } else if ("body" in step) {
          json(res, step.status, step.body);
        } else if ("reply" in step) {
          json(
            res,
            200,
            completion(
              recorded.index,
              body.model,
              step.reply,
              step.finishReason ?? "stop",
              raw.length,
              step.reply.length,
            ),
          );
        } else {
          json(
            res,
            step.status,
            { error: { message: step.message ?? `scripted ${step.status}`, type: "server_error" } },
            step.headers,
          );
        }
      };
      if ("after" in step && step.after) step.after.then(send, send);
      else if ("delayMs" in step && step.delayMs) setTimeout(send, step.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A chat completion, its token counts estimated as characters / 4. */
function completion(
  index: number,
  model: string,
  content: string,
  finishReason: string,
  promptChars: number,
  replyChars: number,
): Record<string, unknown> {
  const promptTokens = Math.ceil(promptChars / 4);
  const completionTokens = Math.ceil(replyChars / 4);
  return {
    id: `chatcmpl-${index}`,
    object: "chat.completion",
    created: 0,
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finishReason }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** Which step of the planner a request is: the copula step, a proposal request, or a repair round. */
export function requestKind(body: ChatBody): RequestKind {
  const first = body.messages[0]?.content ?? "";
  if (body.messages.length > 1) return "repair";
  return first.includes("correlated variable groups") ? "copula" : "proposals";
}

/** "Create no more than 5 proposals totaling 20 samples" of a proposal prompt. */
export function askedFor(body: ChatBody): { proposals: number; samples: number } {
  const text = body.messages[0]?.content ?? "";
  const m = text.match(/Create no more than (\d+) proposals totaling (\d+) samples/);
  return { proposals: Number(m?.[1] ?? 1), samples: Number(m?.[2] ?? 1) };
}

/** The example proposal the prompt shows (every variable with a value it may take). */
export function exampleProposal(body: ChatBody): Record<string, unknown> {
  const text = body.messages[0]?.content ?? "";
  const line = text.split("\n").find((l) => l.startsWith("**Proposal shape:**")) ?? "";
  return JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>;
}

/**
 * A valid reply in the paper's format: as many proposals as asked, their nums adding up to the samples
 * asked; categorical values cycle through the schema's categories (when the request has a schema),
 * numeric ranges are the example's.
 */
export function goodProposals(body: ChatBody, options: { pretty?: boolean } = {}): string {
  const { proposals, samples } = askedFor(body);
  const example = exampleProposal(body);
  const schema = body.response_format?.json_schema?.schema;
  const columns = schema?.properties?.proposal1?.properties?.proposal?.properties ?? {};
  const out: Record<string, unknown> = { n_proposals: proposals };
  for (let i = 0; i < proposals; i++) {
    const proposal: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(example)) {
      const s = columns[name];
      const values = s?.enum ?? s?.anyOf?.find((x) => x.enum)?.enum;
      proposal[name] =
        values && values.length > 0 ? values[(i + body.messages.length) % values.length] : value;
    }
    const num = Math.floor(samples / proposals) + (i < samples % proposals ? 1 : 0);
    out[`proposal${i + 1}`] = { reason: `scripted proposal ${i + 1}`, proposal, num };
  }
  return JSON.stringify(out, null, options.pretty ? 2 : undefined);
}

/** A copula reply with the given groups: {"1": [...], "2": [...]}. */
export function copulaReply(groups: string[][]): string {
  return JSON.stringify(Object.fromEntries(groups.map((g, i) => [String(i + 1), g])));
}

/** The e-commerce example's groups, as a model would give them (the paper's Bayesian network). */
export const ECOMMERCE_GROUPS = [
  ["user_age", "gender", "product_category"],
  ["product_category", "price"],
  ["location_tier", "payment_method"],
];

/** A script that answers everything well: the copula step with `groups`, proposals with goodProposals. */
export function goodScript(groups: string[][] = ECOMMERCE_GROUPS, delayMs = 0): (r: RecordedRequest) => Step {
  return (r) => ({
    reply: r.kind === "copula" ? copulaReply(groups) : goodProposals(r.body),
    ...(delayMs ? { delayMs } : {}),
  });
}

/**
 * A reply as a server that sends Latin-1 would: the text with every "a" as "á", JSON-escaped, in
 * Latin-1 bytes. A lone 0xE1 byte is not UTF-8, so the client decodes each as U+FFFD.
 */
export function latin1Reply(text: string): Buffer {
  return Buffer.from(JSON.stringify(text.replaceAll("a", "á")).slice(1, -1), "latin1");
}
