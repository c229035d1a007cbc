import { z } from "zod";
import type { UnusableReason } from "../outcome.ts";
import type { Proposal, ProposalValue } from "../proposals.ts";
import { validateProposal } from "../proposals.ts";
import type { ColumnView, PromptView } from "./prompts.ts";

/**
 * Reading LLM replies: find the JSON (plain, fenced, or inside prose), check its shape with zod, convert
 * the paper's reply format to the proposals the loop validates, and say what was wrong in sentences a
 * repair round can quote. Every check runs against the view the model was shown (prompts.ts), so the
 * messages never name a value the prompt left out.
 */

/** The JSON text of a reply, or why there is none. */
export function extractJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  // Reasoning models may think aloud first.
  const body = text.replace(/<think>[\s\S]*?<\/think>/gi, "").trim();
  if (body === "") return { ok: false, problem: "the reply was empty" };
  const candidates: string[] = [body];
  for (const m of body.matchAll(/```[a-zA-Z]*\s*\n?([\s\S]*?)```/g)) candidates.push((m[1] ?? "").trim());
  const braced = outermost(body);
  if (braced) candidates.push(braced);
  let firstError = "";
  for (const c of candidates) {
    if (c === "") continue;
    for (const attempt of [c, withoutTrailingCommas(c)]) {
      try {
        return { ok: true, value: JSON.parse(attempt) };
      } catch (err) {
        if (!firstError) firstError = (err as Error).message;
      }
    }
  }
  if (!/[{[]/.test(body)) return { ok: false, problem: "the reply holds no JSON object" };
  return { ok: false, problem: `the reply is not valid JSON (${firstError})` };
}

/**
 * Why a reply gave no usable proposals, for the run's account of its empty iterations: bytes that were
 * not UTF-8 (decoded as U+FFFD), a web page, no JSON, JSON in another shape, or proposals all rejected.
 */
export function unusableReply(text: string, parsed: { found: number }): UnusableReason {
  if (text.includes("\uFFFD")) return "invalid-utf8";
  if (/^\s*<(!doctype\s+html|html[\s>])/i.test(text)) return "html";
  if (parsed.found > 0) return "rejected";
  return extractJson(text).ok ? "wrong-format" : "unparseable";
}

/** The text from the first `{` (or `[`) to its matching bracket, strings respected. */
function outermost(text: string): string | null {
  const start = text.search(/[{[]/);
  if (start < 0) return null;
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") stack.push(ch === "{" ? "}" : "]");
    else if (ch === "}" || ch === "]") {
      if (stack.pop() !== ch) return null;
      if (stack.length === 0) return text.slice(start, i + 1);
    }
  }
  return null;
}

/** Drops commas before a closing bracket (the paper's own copula example has one), outside strings. */
function withoutTrailingCommas(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === "\\") {
        out += text[i + 1] ?? "";
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ",") {
      const rest = text.slice(i + 1).match(/^\s*([}\]])/);
      if (rest) continue;
    }
    out += ch;
  }
  return out;
}

/** One proposal as the paper's reply holds it: `{"reason", "proposal": {variable: value}, "num"}`. */
const ReplyProposal = z.object({
  reason: z.string().optional(),
  proposal: z.record(z.string(), z.unknown()),
  num: z.unknown(),
});
export type ReplyProposal = z.infer<typeof ReplyProposal>;

/** The paper's reply: `{"n_proposals": n, "proposal1": {...}, "proposal2": {...}}`. */
const PaperReply = z
  .object({ n_proposals: z.unknown().optional() })
  .catchall(z.unknown())
  .refine((o) => Object.keys(o).some((k) => /^proposal\d+$/i.test(k)), {
    message: 'no "proposal1", "proposal2", ... keys',
  });

/** Lenient alternatives small models produce: a list of proposals, or `{"proposals": [...]}`. */
const ListReply = z.union([
  z.array(z.unknown()),
  z.object({ proposals: z.array(z.unknown()) }).transform((o) => o.proposals),
]);

export interface ParsedProposals {
  /** Proposals that passed validation, converted to the loop's shape. */
  proposals: Proposal[];
  /** What was wrong, one sentence per problem, naming the proposal ("proposal2: ..."). */
  problems: string[];
  /** Proposals found in the reply, valid or not. */
  found: number;
}

/**
 * Reads a proposal reply: extraction, shape, then every proposal against the view the model saw.
 * Valid proposals are kept even when others are wrong.
 */
export function parseProposalReply(text: string, view: PromptView): ParsedProposals {
  const json = extractJson(text);
  if (!json.ok) return { proposals: [], problems: [json.problem], found: 0 };
  const entries: { key: string; value: unknown }[] = [];
  const paper = PaperReply.safeParse(json.value);
  if (paper.success) {
    for (const [key, value] of Object.entries(paper.data)) {
      if (/^proposal\d+$/i.test(key)) entries.push({ key, value });
    }
  } else {
    const list = ListReply.safeParse(json.value);
    if (!list.success) {
      return {
        proposals: [],
        problems: [
          'the reply does not follow the Output Format: give an object with "n_proposals" and "proposal1", "proposal2", ... each holding "reason", "proposal" and "num"',
        ],
        found: 0,
      };
    }
    list.data.forEach((value, i) => {
      entries.push({ key: `proposal${i + 1}`, value });
    });
  }
  if (entries.length === 0) return { proposals: [], problems: ["the reply holds no proposals"], found: 0 };
  const proposals: Proposal[] = [];
  const problems: string[] = [];
  for (const { key, value } of entries) {
    const shape = ReplyProposal.safeParse(value);
    if (!shape.success) {
      problems.push(`${key}: ${shapeProblem(value)}`);
      continue;
    }
    const converted = convertProposal(shape.data, view);
    const issues = [...converted.problems, ...validateProposal(converted.proposal, view.visible)];
    if (issues.length > 0) {
      problems.push(...[...new Set(issues)].map((p) => `${key}: ${p}`));
      continue;
    }
    proposals.push(widenToRealEnds(converted.proposal, view));
  }
  return { proposals, problems, found: entries.length };
}

function shapeProblem(value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return 'must be an object with "reason", "proposal" and "num"';
  }
  const o = value as Record<string, unknown>;
  const missing = ["proposal", "num"].filter((k) => !(k in o));
  if (missing.length > 0) return `is missing ${missing.map((k) => `"${k}"`).join(" and ")}`;
  if (typeof o.proposal !== "object" || o.proposal === null || Array.isArray(o.proposal)) {
    return '"proposal" must be an object with one entry per variable';
  }
  return '"reason" must be text';
}

/**
 * The reply's values in the loop's types: a number where a categorical column's categories are numbers
 * written as text becomes that text, a lone number becomes the range [x, x], numbers written as text and
 * ISO dates (for datetime columns) become numbers, "NULL" becomes null where NULL may be proposed.
 */
export function convertProposal(
  p: ReplyProposal,
  view: PromptView,
): { proposal: Proposal; problems: string[] } {
  const problems: string[] = [];
  const values: Record<string, ProposalValue> = {};
  for (const [name, raw] of Object.entries(p.proposal)) {
    const v = view.byName.get(name);
    // An unknown variable is kept (as null) so the validator names it.
    values[name] = v ? convertValue(v, raw, problems) : null;
  }
  let num = p.num;
  if (typeof num === "string" && /^\s*\d+\s*$/.test(num)) num = Number(num);
  if (typeof num !== "number") {
    problems.push(`num must be a positive whole number of rows, not ${JSON.stringify(num ?? null)}`);
    num = 0;
  }
  return { proposal: { reason: p.reason ?? "", proposal: values, num: num as number }, problems };
}

function convertValue(v: ColumnView, raw: unknown, problems: string[]): ProposalValue {
  if (raw === null) return null;
  if (v.kind === "categorical") {
    if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
    if (typeof raw === "string") {
      if (/^null$/i.test(raw) && v.nullVisible && !v.categories.some((c) => c.value === raw)) return null;
      return raw;
    }
    problems.push(`column "${v.name}" is categorical; give one category as a string`);
    return null;
  }
  if (typeof raw === "string" && /^null$/i.test(raw) && v.nullVisible) return null;
  if (typeof raw === "string" && v.column.special?.includes(raw as never)) return raw;
  const pair = Array.isArray(raw) ? raw : [raw, raw];
  if (pair.length !== 2) {
    problems.push(`column "${v.name}" takes one range [lo, hi] of two numbers, not ${pair.length} values`);
    return null;
  }
  const nums = pair.map((x) => toNumber(v, x));
  if (nums.some((x) => x === null)) {
    problems.push(
      `column "${v.name}" is ${v.kind}; give a range [lo, hi] of two ${v.kind === "datetime" ? "ISO dates" : "numbers"}, not ${JSON.stringify(raw)}`,
    );
    return null;
  }
  return [nums[0] as number, nums[1] as number];
}

function toNumber(v: ColumnView, x: unknown): number | null {
  if (typeof x === "number") return Number.isFinite(x) ? x : null;
  if (typeof x !== "string") return null;
  const t = x.trim();
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return Number(t);
  if (v.kind === "datetime") {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
  return null;
}

/**
 * A range that reaches an end shown (which, when rare extremes are hidden, is a quantile, not the real
 * minimum or maximum) is widened to the real end, so the tails the prompt could not name are still drawn.
 */
export function widenToRealEnds(p: Proposal, view: PromptView): Proposal {
  const proposal: Record<string, ProposalValue> = { ...p.proposal };
  for (const v of view.columns) {
    const x = proposal[v.name];
    if (!Array.isArray(x) || v.kind === "categorical") continue;
    let [lo, hi] = x;
    const min = v.column.summary?.min ?? v.column.grid?.[0];
    const max = v.column.summary?.max ?? v.column.grid?.[v.column.grid.length - 1];
    if (!v.loIsReal && min != null && lo <= v.lo) lo = Math.min(lo, min);
    if (!v.hiIsReal && max != null && hi >= v.hi) hi = Math.max(hi, max);
    proposal[v.name] = [lo, hi];
  }
  return { ...p, proposal };
}

export interface ParsedGroups {
  groups: string[][];
  problems: string[];
}

const CopulaReply = z.union([
  z.record(z.string(), z.array(z.unknown())),
  z.array(z.array(z.unknown())),
  z.object({ groups: z.array(z.array(z.unknown())) }).transform((o) => o.groups),
]);

/**
 * Reads a copula reply (`{"1": ["a", "b"], "2": [...]}`): known modelled columns, 2 to 4 distinct ones
 * per group (the count tables take up to 4), at most `maxGroups` groups. Valid groups are kept.
 */
export function parseCopulaReply(text: string, view: PromptView, maxGroups: number): ParsedGroups {
  const json = extractJson(text);
  if (!json.ok) return { groups: [], problems: [json.problem] };
  const parsed = CopulaReply.safeParse(json.value);
  if (!parsed.success) {
    return {
      groups: [],
      problems: ['the reply does not follow the Output Format: give an object like {"1": ["var1", "var2"]}'],
    };
  }
  const raw = Array.isArray(parsed.data)
    ? parsed.data.map((g, i) => [String(i + 1), g] as const)
    : Object.entries(parsed.data);
  const groups: string[][] = [];
  const problems: string[] = [];
  const names = view.columns.map((c) => c.name);
  for (const [key, members] of raw) {
    const bad: string[] = [];
    const cols: string[] = [];
    for (const m of members) {
      if (typeof m !== "string" || !view.byName.has(m)) {
        const near =
          typeof m === "string" ? names.find((n) => n.toLowerCase() === m.toLowerCase()) : undefined;
        bad.push(
          `unknown variable ${JSON.stringify(m)}${near ? ` (names are case-sensitive: did you mean ${JSON.stringify(near)}?)` : ""}`,
        );
      } else if (!cols.includes(m)) cols.push(m);
    }
    if (bad.length > 0) {
      problems.push(`group "${key}": ${bad.join("; ")}; the variables are: ${names.join(", ")}`);
      continue;
    }
    if (cols.length < 2) {
      problems.push(
        `group "${key}" has ${cols.length} distinct variable${cols.length === 1 ? "" : "s"}; each group needs two or more`,
      );
      continue;
    }
    if (cols.length > 4) {
      problems.push(`group "${key}" has ${cols.length} variables; give at most 4 per group`);
      continue;
    }
    const id = [...cols].sort().join("\u0000");
    if (groups.some((g) => [...g].sort().join("\u0000") === id)) continue;
    groups.push(cols);
  }
  if (groups.length > maxGroups) {
    problems.push(`the reply has ${groups.length} groups; give at most ${maxGroups}`);
  }
  if (raw.length === 0) problems.push("the reply holds no groups");
  return { groups: groups.slice(0, maxGroups), problems };
}

/** The repair round's message: the validator's sentences, then what to send back. */
export function repairPrompt(problems: string[], what: "proposals" | "groups"): string {
  const shown = problems.slice(0, 20);
  const more = problems.length - shown.length;
  return [
    "Your reply could not be used:",
    ...shown.map((p) => `- ${p}`),
    ...(more > 0 ? [`- and ${more} more problems of the same kind`] : []),
    "",
    what === "proposals"
      ? "Return the whole JSON again with these problems fixed, in the same Output Format, and nothing else."
      : "Return the groups again as valid JSON in the same Output Format, and nothing else.",
  ].join("\n");
}

/**
 * JSON schema of a proposal reply with `n` proposals, for servers that constrain generation to a schema
 * (OpenAI structured outputs, vLLM, llama.cpp, Ollama): the paper's format, each variable restricted to
 * the categories or the kind of range the prompt shows. With `samples`, `num` is bounded to 1 .. samples
 * (for the local grammar: numeric bounds are not in the subset every server takes).
 */
export function proposalSchema(view: PromptView, n: number, samples?: number): Record<string, unknown> {
  const columnProps: Record<string, unknown> = {};
  for (const v of view.columns) {
    let schema: Record<string, unknown>;
    if (v.kind === "categorical") {
      schema = { type: "string", enum: v.categories.map((c) => c.value) };
    } else {
      schema = {
        type: "array",
        items: { type: v.kind === "datetime" ? "string" : "number" },
        minItems: 2,
        maxItems: 2,
      };
    }
    columnProps[v.name] = v.nullVisible ? { anyOf: [schema, { type: "null" }] } : schema;
  }
  const proposal = {
    type: "object",
    properties: {
      reason: { type: "string" },
      proposal: {
        type: "object",
        properties: columnProps,
        required: view.columns.map((c) => c.name),
        additionalProperties: false,
      },
      num: samples ? { type: "integer", minimum: 1, maximum: samples } : { type: "integer" },
    },
    required: ["reason", "proposal", "num"],
    additionalProperties: false,
  };
  const keys = Array.from({ length: n }, (_, i) => `proposal${i + 1}`);
  return {
    type: "object",
    properties: { n_proposals: { type: "integer" }, ...Object.fromEntries(keys.map((k) => [k, proposal])) },
    required: ["n_proposals", ...keys],
    additionalProperties: false,
  };
}

/** JSON schema of a copula reply with `n` groups of 2 to 4 known variables. */
export function copulaSchema(view: PromptView, n: number): Record<string, unknown> {
  const group = {
    type: "array",
    items: { type: "string", enum: view.columns.map((c) => c.name) },
    minItems: 2,
    maxItems: 4,
  };
  const keys = Array.from({ length: n }, (_, i) => String(i + 1));
  return {
    type: "object",
    properties: Object.fromEntries(keys.map((k) => [k, group])),
    required: keys,
    additionalProperties: false,
  };
}
