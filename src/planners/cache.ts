import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SynthorError } from "../errors.ts";
import { writeTextAtomically } from "../output.ts";

/**
 * Every request and reply on disk, keyed by the sha256 of the model, the messages and the generation
 * parameters (temperature, reply cap, seed, JSON schema). A rerun with the same seed and input sends the
 * same requests, so it is answered from here; `--replay` answers only from here and makes no call at all.
 *
 * One file per request, `<dir>/<first two hex digits>/<key>.json`, holding the request and the reply
 * (text and token counts), or the failure when the server never answered: a replay reproduces that too.
 */

export interface CacheParams {
  temperature: number;
  maxTokens: number;
  seed?: number | undefined;
  schema?: unknown;
}

export interface CachedReply {
  text: string;
  promptTokens: number;
  completionTokens: number;
  structured: boolean;
}

export interface CacheEntry {
  key: string;
  model: string;
  /** What the request was for, e.g. "proposals for iteration 3". */
  label: string;
  params: CacheParams;
  messages: { role: string; content: string }[];
  reply?: CachedReply;
  /** Set when every attempt failed: what happened, as recorded in the run's notes. */
  failure?: string[];
  savedAt: string;
}

/** `use`: read, and write what is new; `replay`: read only, a miss is an error; `off`: neither. */
export type CacheMode = "use" | "replay" | "off";

/** Where replies are kept unless --cache-dir says otherwise: $XDG_CACHE_HOME/synthor/llm or ~/.cache/synthor/llm. */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "synthor", "llm");
}

export class ReplyCache {
  constructor(
    readonly dir: string,
    readonly mode: CacheMode = "use",
  ) {}

  /** The key of a request: sha256 of its canonical JSON. */
  static key(model: string, messages: { role: string; content: string }[], params: CacheParams): string {
    return createHash("sha256").update(canonicalJson({ model, messages, params })).digest("hex");
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The stored entry, or undefined (always undefined with mode `off`). */
  get(key: string): CacheEntry | undefined {
    if (this.mode === "off") return undefined;
    let text: string;
    try {
      text = readFileSync(this.path(key), "utf8");
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as CacheEntry;
    } catch {
      return undefined; // a torn or hand-edited file: treat as a miss
    }
  }

  /** Stores an entry atomically (write a temporary file, then rename). No-op unless mode is `use`. */
  put(entry: CacheEntry): void {
    if (this.mode !== "use") return;
    const file = this.path(entry.key);
    try {
      mkdirSync(join(this.dir, entry.key.slice(0, 2)), { recursive: true });
      // Replacing is right here: an entry's name is the hash of its request, so a concurrent run stores
      // the same request's reply. The shared helper gives the temporary file a unique name and cleanup.
      writeTextAtomically(file, `${JSON.stringify(entry, null, 1)}\n`, {
        flag: "--cache-dir",
        overwrite: true,
      });
    } catch (err) {
      throw new SynthorError(
        "CONFIG_INVALID",
        `cannot write the LLM reply cache in ${this.dir}: ${err instanceof SynthorError && typeof err.details.reason === "string" ? err.details.reason : (err as Error).message}`,
        "give a writable directory with --cache-dir, or turn the cache off with --no-cache",
        { dir: this.dir },
      );
    }
  }

  /** The error for a request a replay does not have. */
  missing(label: string, model: string, key: string): SynthorError {
    return new SynthorError(
      "RUN_STATE",
      `--replay: the cache holds no reply for the ${label} (model ${model}, key ${key.slice(0, 16)}) in ${this.dir}`,
      "a replay needs the same source, options, --seed, --model and --cache-dir as the run it repeats; run without --replay to call the model",
      { key, label, model, dir: this.dir },
    );
  }
}

/** JSON with object keys sorted at every level, so equal requests give equal keys. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
