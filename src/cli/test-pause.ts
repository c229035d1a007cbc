import { Interrupted } from "../interrupt.ts";
import type { Planner } from "../planners/types.ts";

/**
 * For the CLI's subprocess tests only: a stop point the program drives, so a test can send SIGKILL or
 * SIGINT at a known iteration instead of after a guessed wait.
 *
 * With `SYNTHOR_TEST_PAUSE_AFTER_ITERATION=N` in the environment, `synthor synth` (flat or nested) runs iterations 1..N as
 * usual; when the loop asks for iteration N+1's plan (iteration N committed, the phase "planning iteration
 * N+1"), it writes `PAUSE_MARKER` followed by N and a newline to stderr and then waits, doing nothing,
 * until Ctrl-C fires the run's signal (it then stops as Ctrl-C does there) or the process is killed. Unset,
 * empty or not a positive whole number: the planner is returned as it is. No option, config or API reaches
 * it; only this environment variable does.
 *
 * @example
 * SYNTHOR_TEST_PAUSE_AFTER_ITERATION=3 synthor synth real.csv --db run.duckdb
 * # stderr: ... "synthor-test: paused after iteration 3" -> kill -KILL: run.duckdb holds 3 iterations
 */
export const PAUSE_ENV = "SYNTHOR_TEST_PAUSE_AFTER_ITERATION";
export const PAUSE_MARKER = "synthor-test: paused after iteration ";

export function pausedForTests<P>(planner: Planner<P>, signal: AbortSignal): Planner<P> {
  const value = process.env[PAUSE_ENV];
  const after = value && /^[1-9]\d*$/.test(value) ? Number(value) : undefined;
  if (after === undefined) return planner;
  return {
    name: planner.name,
    inferGroups: (s) => planner.inferGroups(s),
    ...(planner.trackPairs ? { trackPairs: () => planner.trackPairs?.() ?? [] } : {}),
    ...(planner.wantsSubBins ? { wantsSubBins: true } : {}),
    close: () => planner.close?.(),
    async plan(context) {
      if (context.iteration !== after + 1) return planner.plan(context);
      process.stderr.write(`${PAUSE_MARKER}${after}\n`);
      await new Promise<void>((resolve) => {
        // A signal listener does not keep Node running; this handle does, until the signal fires.
        const alive = setInterval(() => undefined, 2 ** 31 - 1);
        const stop = () => {
          clearInterval(alive);
          resolve();
        };
        if (signal.aborted) stop();
        else signal.addEventListener("abort", stop, { once: true });
      });
      throw new Interrupted(`planning iteration ${context.iteration}`);
    },
  };
}
