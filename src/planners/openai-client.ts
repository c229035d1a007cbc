import OpenAI from "openai";
import { SynthorError } from "../errors.ts";
import { nodeHttpFetch } from "./http-fetch.ts";
import { ChatCallFailed, type ChatClient, type ChatReply, type ChatRequest } from "./llm.ts";

export interface OpenAiClientOptions {
  model: string;
  /** e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama); default: OpenAI, or OPENAI_BASE_URL. */
  baseURL?: string | undefined;
  /** Default: OPENAI_API_KEY; servers that need none get a placeholder. */
  apiKey?: string | undefined;
  /**
   * Per attempt, headers and body together (default 120 s): a reply not complete by then is cancelled
   * and not sent again (the same request would take as long).
   */
  timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and connection errors (default 5). */
  maxRetries?: number;
  /** First backoff; doubles each retry, unless the server says Retry-After (default 1 s). */
  retryBaseMs?: number;
  /** Longest wait between attempts, even if Retry-After asks for more (default 60 s). */
  maxRetryWaitMs?: number;
  /** Send the JSON schema as `response_format` (`auto`: until the server refuses it). Default auto. */
  structured?: "auto" | "always" | "never";
  /** A fetch to use instead of nodeHttpFetch (tests). */
  fetch?: typeof fetch;
}

/**
 * A chat client over any OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM, Ollama,
 * llama.cpp's server, LM Studio, ...), through the `openai` package.
 *
 * Retries are its own (the package's are turned off) so each one lands in the run's notes: 429, 408,
 * 5xx and dropped connections are retried with exponential backoff, honouring Retry-After (and
 * retry-after-ms). A reply not complete within `timeoutMs` (headers and body) is cancelled, which closes
 * the connection, and not retried: the server took that long for this request and would again, and one
 * that does not notice the closed connection would compute both. Structured outputs: the request carries
 * `response_format: {type: "json_schema"}` until a server answers 400 or 422 saying it cannot take it
 * (its error names response_format, the JSON schema or the grammar); from then on it asks for plain JSON.
 * A prompt larger than the model's context (llama.cpp's `exceed_context_size_error`, OpenAI's
 * `context_length_exceeded`) stops the run with the prompt's size and the fix; so does any other 4xx the
 * server gives (its message quoted), a refused key (401, 403) or an unknown model (404). A 200 that is not
 * a chat completion (a web page: --base-url points at the wrong place) fails the request without retries.
 */
export class OpenAiChatClient implements ChatClient {
  readonly model: string;
  readonly baseURL: string;
  private readonly client: OpenAI;
  private readonly options: Required<Omit<OpenAiClientOptions, "baseURL" | "apiKey" | "fetch">>;
  private structuredOk: boolean;

  constructor(options: OpenAiClientOptions) {
    const baseURL = options.baseURL || process.env.OPENAI_BASE_URL || undefined;
    const apiKey = options.apiKey || process.env.OPENAI_API_KEY || (baseURL ? "none" : undefined);
    if (!apiKey) {
      throw new SynthorError(
        "CONFIG_INVALID",
        "no API key for OpenAI: OPENAI_API_KEY is not set",
        "export OPENAI_API_KEY=... (or pass --api-key), or point --base-url at an OpenAI-compatible server such as vLLM or Ollama; or plan without an LLM: --planner stats",
      );
    }
    this.client = new OpenAI({
      apiKey,
      ...(baseURL ? { baseURL } : {}),
      maxRetries: 0,
      // Not Node's global fetch: it ends a request at 300 s whatever --timeout says (http-fetch.ts).
      fetch: options.fetch ?? nodeHttpFetch,
    });
    this.baseURL = this.client.baseURL;
    this.model = options.model;
    this.options = {
      model: options.model,
      timeoutMs: options.timeoutMs ?? 120_000,
      maxRetries: options.maxRetries ?? 5,
      retryBaseMs: options.retryBaseMs ?? 1000,
      maxRetryWaitMs: options.maxRetryWaitMs ?? 60_000,
      structured: options.structured ?? "auto",
    };
    this.structuredOk = this.options.structured !== "never";
  }

  /** The models the server lists (GET /models): vLLM and llama.cpp serve one, which `--model` may then omit. */
  async listModels(): Promise<string[]> {
    try {
      const ids: string[] = [];
      for await (const m of this.client.models.list({ timeout: this.options.timeoutMs })) ids.push(m.id);
      return ids;
    } catch (err) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `cannot list the models of ${this.baseURL}: ${describe(err)}`,
        "check --base-url (it usually ends in /v1) and that the server is running, or name the model with --model",
      );
    }
  }

  async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> {
    const notes: string[] = [];
    let calls = 0;
    for (let attempt = 0; ; attempt++) {
      const structured = !!request.schema && this.structuredOk;
      const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
        model: this.model,
        messages: request.messages,
        temperature: request.temperature,
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(this.isOpenAi()
          ? { max_completion_tokens: request.maxTokens }
          : { max_tokens: request.maxTokens }),
        ...(structured && request.schema
          ? {
              response_format: {
                type: "json_schema",
                json_schema: { name: request.schema.name, schema: request.schema.schema, strict: true },
              },
            }
          : {}),
      };
      // One deadline for the whole attempt: the package's own timeout stops at the headers.
      const attemptSignal = new AbortController();
      const deadline = setTimeout(() => attemptSignal.abort(TIMED_OUT), this.options.timeoutMs);
      const cancel = () => attemptSignal.abort(signal?.reason);
      if (signal?.aborted) cancel();
      else signal?.addEventListener("abort", cancel, { once: true });
      try {
        calls++;
        const res = await this.client.chat.completions.create(body, {
          timeout: this.options.timeoutMs,
          maxRetries: 0,
          signal: attemptSignal.signal,
        });
        if (typeof res !== "object" || res === null || !Array.isArray(res.choices)) {
          const wrong = notACompletion(request.label, res);
          notes.push(wrong.message);
          throw new ChatCallFailed(wrong.message, notes, calls, wrong.kind);
        }
        const choice = res.choices?.[0];
        if (choice?.finish_reason === "length") {
          notes.push(`${request.label}: the reply was cut at the reply limit of ${request.maxTokens} tokens`);
        }
        return {
          text: choice?.message?.content ?? "",
          promptTokens: res.usage?.prompt_tokens ?? 0,
          completionTokens: res.usage?.completion_tokens ?? 0,
          structured,
          notes,
          calls,
        };
      } catch (err) {
        if (signal?.aborted || err instanceof ChatCallFailed) throw err;
        if (attemptSignal.signal.reason === TIMED_OUT || err instanceof OpenAI.APIConnectionTimeoutError) {
          const seconds = this.options.timeoutMs / 1000;
          const said = `${request.label}: no complete reply within ${seconds} s (--timeout ${seconds}); cancelled, not retried: the server would take as long again (raise --timeout for a slow server)`;
          notes.push(said);
          throw new ChatCallFailed(said, notes, calls);
        }
        const status = err instanceof OpenAI.APIError ? err.status : undefined;
        if (status !== undefined && refusal(status)) {
          const tooLong = contextExceeded(err as InstanceType<typeof OpenAI.APIError>, request);
          if (tooLong) throw tooLong;
        }
        if (
          structured &&
          this.options.structured === "auto" &&
          (status === 400 || status === 422) &&
          aboutStructuredOutput(err as InstanceType<typeof OpenAI.APIError>)
        ) {
          this.structuredOk = false;
          notes.push(
            `the server refused response_format (${describe(err)}); asking for plain JSON from now on`,
          );
          attempt--;
          continue;
        }
        if (status === 401 || status === 403) {
          throw new SynthorError(
            "CONFIG_INVALID",
            `${this.baseURL} refused the API key: ${describe(err)}`,
            "set OPENAI_API_KEY (or --api-key) to a key this server accepts",
          );
        }
        if (status === 404) {
          throw new SynthorError(
            "CONFIG_INVALID",
            `${this.baseURL} has no model "${this.model}" (or no /chat/completions): ${describe(err)}`,
            "check --model (and --base-url, which usually ends in /v1); `curl BASE_URL/models` lists what the server has",
          );
        }
        if (status !== undefined && refusal(status)) {
          throw new SynthorError(
            "LLM_REQUEST_REFUSED",
            `${this.baseURL} refused the request (${request.label}): ${describe(err)}`,
            "a request the server refuses is not retried: check --model and the server's options (its log says more); or plan without an LLM: --planner stats",
            { status, error: (err as InstanceType<typeof OpenAI.APIError>).error },
          );
        }
        // A body that is not JSON (a proxy's error page sent as JSON, bytes cut short) will not become JSON.
        const retryable =
          !(err instanceof SyntaxError) &&
          (status === undefined || status === 408 || status === 409 || status === 429 || status >= 500);
        if (!retryable || attempt >= this.options.maxRetries) {
          notes.push(
            `${request.label}: ${describe(err)}${retryable ? `; gave up after ${attempt + 1} attempts` : ""}`,
          );
          throw new ChatCallFailed(`${request.label}: ${describe(err)}`, notes, calls);
        }
        const wait = Math.min(
          this.options.maxRetryWaitMs,
          retryAfterMs(err) ?? this.options.retryBaseMs * 2 ** attempt,
        );
        notes.push(`${request.label}: ${describe(err)}; retrying in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait, signal);
      } finally {
        clearTimeout(deadline);
        signal?.removeEventListener("abort", cancel);
      }
    }
  }

  private isOpenAi(): boolean {
    return /(^|\.)openai\.com$/i.test(safeHost(this.baseURL));
  }
}

/** A 4xx that asking again will not change (not a timeout, a conflict or a rate limit). */
function refusal(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 404, 408, 409, 429].includes(status);
}

/** The server's error says what it could not take is the structured output (response_format, the schema). */
function aboutStructuredOutput(err: InstanceType<typeof OpenAI.APIError>): boolean {
  if (err.param === "response_format") return true;
  const said = [err.message, err.code, err.type].filter((x) => typeof x === "string").join(" ");
  return /response_format|json[_ ]schema|structured output|grammar|guided|xgrammar/i.test(said);
}

/**
 * A prompt longer than the model's context, as llama.cpp (`exceed_context_size_error`, with
 * `n_prompt_tokens` and `n_ctx`), OpenAI (`context_length_exceeded`) or vLLM ("maximum context length")
 * say it: the error that stops the run, with the prompt's size (the server's count, else an estimate).
 */
export function contextExceeded(
  err: InstanceType<typeof OpenAI.APIError>,
  request: ChatRequest,
): SynthorError | undefined {
  const body = (err.error ?? {}) as Record<string, unknown>;
  const message = typeof body.message === "string" ? body.message : (err.message ?? "");
  const known =
    err.type === "exceed_context_size_error" ||
    err.code === "context_length_exceeded" ||
    /context[_ ]length|context size|maximum context|context window/i.test(message);
  if (!known) return undefined;
  const number = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
  const match = (re: RegExp) => {
    const m = message.match(re);
    return m ? Number(m[1]) : undefined;
  };
  const promptTokens =
    number(body.n_prompt_tokens) ??
    match(/request \((\d+) tokens\)/i) ??
    match(/resulted in (\d+) tokens/i) ??
    match(/\((\d+) in the messages/i);
  const context =
    number(body.n_ctx) ?? match(/context size \((\d+) tokens\)/i) ?? match(/context length is (\d+) tokens/i);
  const chars = request.messages.reduce((n, m) => n + m.content.length, 0);
  const size =
    promptTokens !== undefined
      ? `${promptTokens} tokens`
      : `about ${Math.ceil(chars / 4)} tokens (estimated from its ${chars} characters)`;
  const needed = (promptTokens ?? Math.ceil(chars / 4)) + request.maxTokens;
  return new SynthorError(
    "LLM_CONTEXT_EXCEEDED",
    `the prompt of the ${request.label} is ${size}, more than the model's context${context !== undefined ? ` of ${context} tokens` : ""} (${describe(err)})`,
    `use a model with a larger context, or give the server one of at least ${needed} tokens (the prompt and a reply of up to ${request.maxTokens}; llama-server: --ctx-size); or make the prompt smaller: fewer columns (--ignore COLUMN), fewer --groups, a larger --min-cell`,
    { promptTokens: promptTokens ?? null, estimated: promptTokens === undefined, context: context ?? null },
  );
}

/** A 200 whose body is not a chat completion: a web page (the wrong --base-url), or something else. */
function notACompletion(label: string, res: unknown): { message: string; kind: "html" | "request-failed" } {
  const text = typeof res === "string" ? res : JSON.stringify(res ?? null);
  const html = /^\s*<(!doctype|html|head|body)[\s>]/i.test(text);
  const what = html
    ? "the server answered with an HTML page, not a chat completion; is --base-url the server's OpenAI-compatible API (usually ending in /v1)?"
    : `the server's answer is not a chat completion: ${text.replace(/\s+/g, " ").slice(0, 100)}`;
  return { message: `${label}: ${what}`, kind: html ? "html" : "request-failed" };
}

/** The reason an attempt's signal fires when its time is up. */
const TIMED_OUT = Symbol("timed out");

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

/** The wait a 429 or 503 asks for: retry-after-ms, or Retry-After in seconds or as an HTTP date. */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof OpenAI.APIError) || !err.headers) return undefined;
  const ms = Number.parseFloat(err.headers.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const header = err.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number.parseFloat(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** An error as one line: `429 Too Many Requests: ...`, `timed out`, `connection refused`. */
function describe(err: unknown): string {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return "the request timed out";
  if (err instanceof OpenAI.APIConnectionError) {
    // fetch wraps the socket's error: the code (ECONNREFUSED, ENOTFOUND, ...) is a cause or two down.
    let cause: unknown = (err as { cause?: unknown }).cause;
    let code: string | undefined;
    for (let depth = 0; cause && depth < 4 && !code; depth++) {
      code = (cause as { code?: string }).code;
      cause = (cause as { cause?: unknown }).cause;
    }
    return `connection error${code ? ` (${code})` : ""}`;
  }
  if (err instanceof OpenAI.APIError) {
    // The package's message starts with the status ("429 slow down"): say it once.
    const message = (err.message ?? "")
      .replace(/^\d{3}\s*/, "")
      .replace(/\s+/g, " ")
      .slice(0, 200);
    return `HTTP ${err.status ?? "error"}${message ? `: ${message}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
