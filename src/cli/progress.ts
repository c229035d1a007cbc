import type { ProgressEvent } from "../pipeline.ts";

/** The stream progress goes to: stderr, or a stand-in in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Progress on stderr, fed the pipeline's events; `stop` ends it (clears a spinner) on every way out. */
export type ProgressReporter = ((event: ProgressEvent) => void) & { stop(): void };

const SPINNER = ["|", "/", "-", "\\"];

/**
 * Progress on stderr: before iteration 1, the stage running (reading the source, profiling columns,
 * summarizing, finding dependency groups, measuring) as a spinner with the seconds spent on a terminal,
 * one line per stage otherwise; then a one-line bar redrawn in place on a terminal (rows, mean TVD, time
 * left), plain lines otherwise (logs, CI). Nothing with --quiet but warnings.
 *
 * @example const progress = progressReporter({ quiet: false }); await synthesize({ ..., onProgress: progress }); progress.stop();
 */
export function progressReporter(options: { quiet?: boolean; stream?: ProgressStream }): ProgressReporter {
  const stream: ProgressStream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const started = Date.now();
  let lastPlain = 0;
  let looping = false;
  const stages = stageProgress(stream);
  const report = (event: ProgressEvent): void => {
    // Warnings are not progress: --quiet does not hide them.
    if (event.kind === "warning") {
      stages.stop();
      stream.write(`synthor: warning: ${event.message}\n`);
      return;
    }
    if (options.quiet) return;
    switch (event.kind) {
      case "phase": {
        // Stages of an iteration and the end show in the bar; the stages before iteration 1 here.
        if (looping || event.iteration !== undefined || event.phase === "finishing") break;
        stages.show(event.phase);
        break;
      }
      case "start": {
        stages.stop();
        const groups = event.groups.map((g) => `[${g.join(", ")}]`).join(" ");
        stream.write(
          `synthor: run ${event.runId}, planner ${event.planner}, ${event.rowsTarget} rows in up to ${event.iterations} iterations` +
            `${event.resumedAt > 0 ? `, resuming after iteration ${event.resumedAt}` : ""}\n`,
        );
        stream.write(`synthor: dependency groups: ${groups || "none"}\n`);
        break;
      }
      case "iteration": {
        looping = true;
        stages.stop();
        const elapsed = (Date.now() - started) / 1000;
        const done = event.rows / Math.max(1, event.rowsTarget);
        const left = done > 0 ? (elapsed / done) * (1 - done) : 0;
        const line = `iteration ${event.iteration}/${event.iterations}  rows ${event.rows}/${event.rowsTarget}  mean TVD ${event.meanTvd.toFixed(4)}  ${left.toFixed(0)}s left`;
        if (tty) {
          const width = 24;
          const filled = Math.round(done * width);
          stream.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${line}\u001b[K`);
        } else if (Date.now() - lastPlain > 1000 || event.rows >= event.rowsTarget || event.iteration === 1) {
          lastPlain = Date.now();
          stream.write(`${line}\n`);
        }
        for (const n of event.notes) stream.write(`${tty ? "\n" : ""}  note: ${n}\n`);
        break;
      }
      case "done":
        stages.stop();
        if (tty && looping) stream.write("\n");
        break;
    }
  };
  return Object.assign(report, { stop: () => stages.stop() });
}

/**
 * The stage a command is in, on `stream`: one line per stage (`synthor: summarizing ...`) when it is not
 * a terminal; on a terminal a spinner on one line with the stage and the seconds it has taken, redrawn
 * every 100 ms until the next stage or `stop`, which wipes the line for what comes next (a message, the
 * bar, an error).
 *
 * @example const stages = stageProgress(process.stderr); stages.show("summarizing"); ...; stages.stop();
 */
export function stageProgress(stream: ProgressStream): { show(stage: string): void; stop(): void } {
  if (stream.isTTY !== true) {
    return { show: (stage) => stream.write(`synthor: ${stage} ...\n`), stop: () => {} };
  }
  let timer: NodeJS.Timeout | undefined;
  let stage = "";
  let since = 0;
  let frame = 0;
  const draw = () => {
    const seconds = Math.floor((Date.now() - since) / 1000);
    stream.write(
      `\r${SPINNER[frame++ % SPINNER.length]} synthor: ${stage}${seconds > 0 ? ` (${seconds}s)` : ""}\u001b[K`,
    );
  };
  const stop = () => {
    if (timer === undefined) return;
    clearInterval(timer);
    timer = undefined;
    stream.write("\r\u001b[K");
  };
  return {
    show(next: string) {
      stop();
      stage = next;
      since = Date.now();
      frame = 0;
      draw();
      timer = setInterval(draw, 100);
      // A spinner never keeps the process alive.
      timer.unref();
    },
    stop,
  };
}
