import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { SynthorError } from "./errors.ts";

/**
 * The run was stopped on purpose (Ctrl-C, or the caller's AbortSignal): not a failure. The CLI prints
 * the message and the hint and exits 130, as a shell does for SIGINT.
 */
export class Interrupted extends SynthorError {
  constructor(
    /** What the run was doing: "summarizing", "planning iteration 3", ... */
    readonly phase: string,
    hint = "nothing was written; run the same command again",
  ) {
    super("INTERRUPTED", `interrupted while ${phase}`, hint, { phase });
    this.name = "Interrupted";
  }
}

/** Throws {@link Interrupted} once the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, phase: string): void {
  if (signal?.aborted) throw new Interrupted(phase);
}

/**
 * For a long stretch of TypeScript (a planner's loop over thousands of cells): call the returned function
 * every item or so. About every `everyMs` it gives the event loop a turn, so a SIGINT handler (or a
 * request's timeout) can run at all, and it throws {@link Interrupted} once the signal has fired. A loop
 * that only awaits resolved promises never lets a signal handler run.
 *
 * @example
 * const checkpoint = pacer(ctx.signal, "planning");
 * for (const cell of cells) { await checkpoint(); ... }
 */
export function pacer(signal: AbortSignal | undefined, phase: string, everyMs = 50): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (signal?.aborted) throw new Interrupted(phase);
    const now = performance.now();
    if (now - last < everyMs) return;
    await yieldToEventLoop();
    last = performance.now();
    if (signal?.aborted) throw new Interrupted(phase);
  };
}
