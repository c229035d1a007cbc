import { SynthorError } from "./errors.ts";
import type { Schedule } from "./schedule.ts";

/**
 * How a run ends, for the flat and the nested loop alike: the iterations that had no usable proposals
 * (counted by reason, so a failed run can say why), and the error of a run that did not do its job.
 *
 * The rule (README, "When a run fails"): a run that ends with fewer rows than --rows fails (exit 1, no
 * output table, no --out, status `failed` with the reason in synthor_runs) unless the user asked for the
 * stop: --target-tvd and --patience end a run that did its job, and Ctrl-C interrupts it.
 */

/** Why an iteration had no usable proposals. */
export type UnusableReason =
  | "request-failed"
  | "html"
  | "invalid-utf8"
  | "unparseable"
  | "wrong-format"
  | "rejected"
  | "none";

/** What a planner says about an iteration it has no usable proposals for. */
export interface Unusable {
  reason: UnusableReason;
  /** With `rejected`: why each proposal was rejected, one sentence each (without "proposalN: "). */
  problems?: string[];
}

const LABELS: Record<UnusableReason, string> = {
  "request-failed": "no reply: the request failed",
  html: "an HTML page instead of JSON",
  "invalid-utf8": "a reply with bytes that are not UTF-8",
  unparseable: "a reply with no valid JSON",
  "wrong-format": "JSON, but not the proposal format",
  rejected: "every proposal rejected",
  none: "the planner made no proposals",
};

/** The likely cause and the fix, by the most frequent reason. */
const HINTS: Record<UnusableReason, string> = {
  "request-failed":
    "the requests failed (their errors are in synthor_iterations.notes): check that the server is up (--base-url), its logs, and --timeout; or plan without an LLM: --planner stats",
  html: "the server answered with a web page, not its API: check --base-url (an OpenAI-compatible API, usually ending in /v1); or plan without an LLM: --planner stats",
  "invalid-utf8":
    "the server sent text that is not UTF-8: check the server and the model (its tokenizer or chat template); or plan without an LLM: --planner stats",
  unparseable:
    "the model does not answer in JSON: use a larger instruct model or a server with structured outputs (response_format json_schema); `synthor prompt` shows what it is asked; or plan without an LLM: --planner stats",
  "wrong-format":
    "the model does not answer in the proposal format: use a larger instruct model or a server with structured outputs (response_format json_schema); `synthor prompt` shows what it is asked; or plan without an LLM: --planner stats",
  rejected:
    "the model's proposals break the rules above: use a larger instruct model (`synthor prompt` shows what it is asked); or plan without an LLM: --planner stats",
  none: "this is likely a bug in synthor; please report this message with the command you ran",
};

/** The iterations without usable proposals so far (in --json as `unusableIterations`). */
export interface UnusableTally {
  /** Iterations that added no rows. */
  iterations: number;
  /** Of these, the latest ones in a row. */
  inARow: number;
  byReason: { reason: UnusableReason; label: string; iterations: number }[];
  /** The most frequent reasons proposals were rejected, over the iterations that had every proposal rejected. */
  rejections: { problem: string; proposals: number }[];
}

/** Counts the iterations without usable proposals, by reason. */
export class UnusableCounter {
  private readonly counts = new Map<UnusableReason, number>();
  private readonly problems = new Map<string, number>();
  private total = 0;
  private streak = 0;

  /** One iteration: `rows` added; when none, what the planner said about it. */
  record(rows: number, unusable: Unusable | undefined): void {
    if (rows > 0) {
      this.streak = 0;
      return;
    }
    this.total++;
    this.streak++;
    const reason = unusable?.reason ?? "none";
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    for (const p of unusable?.problems ?? []) this.problems.set(p, (this.problems.get(p) ?? 0) + 1);
  }

  get inARow(): number {
    return this.streak;
  }

  tally(): UnusableTally {
    return {
      iterations: this.total,
      inARow: this.streak,
      byReason: [...this.counts]
        .sort((a, b) => b[1] - a[1])
        .map(([reason, iterations]) => ({ reason, label: LABELS[reason], iterations })),
      rejections: [...this.problems]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, 3)
        .map(([problem, proposals]) => ({ problem, proposals })),
    };
  }
}

/** The reason of a proposal's rejection without the proposal's name: `proposal2: x` -> `x`. */
export function withoutProposalName(problem: string): string {
  return problem.replace(/^proposal\d+: /i, "");
}

/** An iteration whose proposals the loop's own check rejected, all of them: the reasons from its notes. */
export function rejectedByLoop(notes: string[]): Unusable {
  const dropped = /^proposal \d+ dropped: /;
  return {
    reason: "rejected",
    problems: notes.filter((n) => dropped.test(n)).map((n) => n.replace(dropped, "")),
  };
}

/** The lines that say how many iterations had no usable proposals and why (none when all had some). */
export function unusableLines(t: UnusableTally, iterations: number): string[] {
  if (t.iterations === 0) return [];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const lines = [`iterations without usable proposals: ${t.iterations} of ${iterations}`];
  for (const r of t.byReason) {
    lines.push(
      `  ${plural(r.iterations, "iteration")}: ${r.label}${r.reason === "rejected" ? "; most often:" : ""}`,
    );
    if (r.reason === "rejected") {
      for (const x of t.rejections) lines.push(`    ${plural(x.proposals, "proposal")}: ${x.problem}`);
    }
  }
  return lines;
}

/** What a failed run carries, for the CLI's --json and for programs. */
export interface RunFailure {
  runId: number;
  status: "failed";
  /** Why, in one line (also in synthor_runs.reason). */
  reason: string;
  rows: number;
  rowsAsked: number;
  iterations: number;
  stoppedBecause: string;
  unusableIterations: UnusableTally;
}

/** A run that ended without doing its job: nothing was written, and synthor_runs says `failed`. */
export class RunFailed extends SynthorError {
  readonly failure: RunFailure;

  constructor(failure: RunFailure, hint: string) {
    const lines = unusableLines(failure.unusableIterations, failure.iterations);
    super(
      "RUN_FAILED",
      `run ${failure.runId} failed: ${failure.reason}; nothing was written${lines.length ? `\n  ${lines.join("\n  ")}` : ""}`,
      hint,
      { ...failure },
    );
    this.name = "RunFailed";
    this.failure = failure;
  }
}

/**
 * Why a run that ended this way failed, and the fix; undefined when it did its job (all the rows, or a
 * stop the user asked for).
 */
export function failureOf(end: {
  stoppedBecause: string;
  rows: number;
  rowsAsked: number;
  iterations: number;
  unusable: UnusableTally;
  /** The planner's own words when it stopped (the token budget). */
  stopReason?: string;
  /** Rows were dropped for failing --where and could not all be regrown. */
  whereDropped?: number;
  what?: string;
}): { reason: string; hint: string } | undefined {
  const what = end.what ?? "rows";
  const short = `${end.rows} of the ${end.rowsAsked} ${what} asked for`;
  const likely = (): string => {
    const top = end.unusable.byReason[0];
    return top ? HINTS[top.reason] : "run again with more --iterations";
  };
  switch (end.stoppedBecause) {
    case "interrupted":
    case "target-tvd":
    case "patience":
      return undefined;
    case "no-proposals":
      return {
        reason: `${end.unusable.inARow} iterations in a row had no usable proposals, so it stopped early with ${short}`,
        hint: likely(),
      };
    case "token-budget":
      return {
        reason: `${end.stopReason ?? "the token budget (--max-tokens) was spent"} with ${short}`,
        hint: "run again with a larger --max-tokens, or continue with the same command and --resume (each run of the command has its own budget)",
      };
  }
  if (end.rows >= end.rowsAsked) return undefined;
  if ((end.whereDropped ?? 0) > 0 && end.unusable.iterations === 0) {
    return {
      reason: `${short}: too many synthetic rows failed --where to regrow them all`,
      hint: "check the predicate against the columns' kinds (synthor profile): a numeric range can hold values the predicate excludes",
    };
  }
  return {
    reason: `${short} after all ${end.iterations} iterations${end.unusable.iterations > 0 ? `, ${end.unusable.iterations} of them without usable proposals` : ""}`,
    hint: likely(),
  };
}

/** The line that says a run stopped on the user's own rule before --rows (exit 0: the job is done). */
export function qualityStopLine(
  r: { stoppedBecause: string; rows: number; rowsAsked: number },
  options: { targetTvd?: number | undefined; patience?: number | undefined },
  what = "rows",
): string | undefined {
  if (r.rows >= r.rowsAsked) return undefined;
  if (r.stoppedBecause === "target-tvd") {
    return `stopped at --target-tvd ${options.targetTvd} with ${r.rows} of the ${r.rowsAsked} ${what} asked for: the mean TVD reached the target, so the table is complete at ${r.rows} ${what}`;
  }
  if (r.stoppedBecause === "patience") {
    return `stopped by --patience ${options.patience} with ${r.rows} of the ${r.rowsAsked} ${what} asked for: the mean TVD did not improve in ${options.patience} iterations, so the table is complete at ${r.rows} ${what}`;
  }
  return undefined;
}

/**
 * What the summary line says after "stopped:": the loop's reason, and when --schedule grow reached the
 * rows before --iterations, how: the batches grew while the fit held (src/schedule.ts).
 */
export function stopText(
  r: { stoppedBecause: string; iterations: number },
  options: { schedule: Schedule; iterations: number },
): string {
  if (r.stoppedBecause === "rows" && options.schedule === "grow" && r.iterations < options.iterations) {
    return `rows, in ${r.iterations} of up to ${options.iterations} iterations: the batches grew while the fit stayed within a real sample's noise; --schedule even takes ${options.iterations} equal ones`;
  }
  return r.stoppedBecause;
}
