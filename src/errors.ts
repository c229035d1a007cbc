/**
 * Typed errors. Every error the user can cause carries a code, the context it happened in (file, column,
 * SQL file, raw LLM text) and a hint that says what to do next. The CLI prints `message` and `hint` and
 * exits non-zero; tests assert on the exact text.
 */
export type ErrorCode =
  | "SOURCE_NOT_FOUND"
  | "SOURCE_UNREADABLE"
  | "SOURCE_EMPTY"
  | "SOURCE_UNSUPPORTED"
  | "SOURCE_OPTIONS"
  | "COLUMN_UNKNOWN"
  | "SCHEMA_INVALID"
  | "INPUT_INVALID"
  | "SQL_FAILED"
  | "SQL_REFUSED"
  | "PROPOSAL_INVALID"
  | "OUTPUT_EXISTS"
  | "OUTPUT_UNWRITABLE"
  | "DB_LOCKED"
  | "DB_UNREADABLE"
  | "RUN_STATE"
  | "RUN_FAILED"
  | "LLM_CONTEXT_EXCEEDED"
  | "LLM_REQUEST_REFUSED"
  | "CONFIG_INVALID"
  /** Stopped on purpose (Ctrl-C): src/interrupt.ts. */
  | "INTERRUPTED";

/** One problem found in the user's input; several are collected and reported together. */
export interface Problem {
  code: ErrorCode;
  message: string;
  hint: string;
  /** What the problem is about: a file, a column, an SQL file. */
  subject?: string;
}

/** The base class: a message for the user, a code for programs, a hint for what to do next. */
export class SynthorError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, hint: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "SynthorError";
    this.code = code;
    this.hint = hint;
    this.details = details;
  }

  /** The text the CLI prints: the message, then the hint on its own line. */
  describe(): string {
    return `error: ${this.message}\n  hint: ${this.hint}`;
  }
}

/** Several problems in one input, reported together so the user can fix them in one go. */
export class InputProblems extends SynthorError {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    const first = problems[0];
    if (!first) throw new Error("InputProblems needs at least one problem");
    const message =
      problems.length === 1
        ? first.message
        : `${problems.length} problems in the input:\n${problems.map((p, i) => `  ${i + 1}. ${p.message}`).join("\n")}`;
    const hint =
      problems.length === 1 ? first.hint : problems.map((p, i) => `(${i + 1}) ${p.hint}`).join("\n        ");
    super(problems.length === 1 ? first.code : "INPUT_INVALID", message, hint, { problems });
    this.name = "InputProblems";
    this.problems = problems;
  }
}

/** A query failed inside one of the project's SQL files: names the file so the bug can be found. */
export class SqlError extends SynthorError {
  constructor(sqlFile: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      "SQL_FAILED",
      `query ${sqlFile} failed: ${reason}`,
      "this is likely a bug in synthor or an input it does not handle; please report this message with the command you ran",
      { sqlFile },
    );
    this.name = "SqlError";
  }
}

/** Throws the collected problems, if any. */
export function throwIfProblems(problems: Problem[]): void {
  if (problems.length > 0) throw new InputProblems(problems);
}

/** The first line of a DuckDB error, without the "query ... failed: " prefix synthor's Db adds. */
export function duckMessage(err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err)).replace(/^query .* failed: /, "");
  return (m.split("\n")[0] ?? "").trim();
}
