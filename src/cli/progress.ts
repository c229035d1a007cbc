import type { ProgressEvent } from "../pipeline.ts";

/**
 * Progress on stderr: a one-line bar redrawn in place on a terminal (rows, mean TVD, time left), plain
 * lines otherwise (logs, CI), nothing with --quiet.
 */
export function progressReporter(options: { quiet?: boolean; stream?: NodeJS.WriteStream }) {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const started = Date.now();
  let lastPlain = 0;
  return (event: ProgressEvent): void => {
    // Warnings are not progress: --quiet does not hide them.
    if (event.kind === "warning") {
      stream.write(`synthor: warning: ${event.message}\n`);
      return;
    }
    if (options.quiet) return;
    switch (event.kind) {
      case "start": {
        const groups = event.groups.map((g) => `[${g.join(", ")}]`).join(" ");
        stream.write(
          `synthor: run ${event.runId}, planner ${event.planner}, ${event.rowsTarget} rows in up to ${event.iterations} iterations` +
            `${event.resumedAt > 0 ? `, resuming after iteration ${event.resumedAt}` : ""}\n`,
        );
        stream.write(`synthor: dependency groups: ${groups || "none"}\n`);
        break;
      }
      case "iteration": {
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
        if (tty) stream.write("\n");
        break;
    }
  };
}
