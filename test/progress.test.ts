import { afterEach, describe, expect, it, vi } from "vitest";
import { progressReporter } from "../src/cli/progress.ts";
import { cli } from "./helpers.ts";

const ECOMMERCE = "examples/ecommerce/ecommerce.csv";
const SMALL = ["synth", ECOMMERCE, "--rows", "60", "--iterations", "1", "--seed", "2"];

/** A stand-in for stderr that keeps what is written. */
function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (text: string) => chunks.push(text) } };
}

describe("progress before iteration 1", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("on stderr that is not a terminal: one line per stage, in the order they run, then the iterations", async () => {
    const { code, stderr } = await cli(SMALL);
    expect(code).toBe(0);
    const lines = stderr.split("\n");
    const first = lines.findIndex((l) => l.startsWith("iteration 1/1"));
    expect(first).toBeGreaterThan(0);
    const before = lines.slice(0, first);
    expect(before[0]).toMatch(/^synthor: no LLM configured; planning with the statistical planner/);
    expect(before.slice(1, 5)).toEqual([
      "synthor: reading the source ...",
      "synthor: profiling columns ...",
      "synthor: summarizing ...",
      "synthor: finding dependency groups ...",
    ]);
    expect(before[5]).toBe("synthor: run 1, planner stats, 60 rows in up to 1 iterations");
    expect(before[6]).toMatch(/^synthor: dependency groups: \[/);
    expect(before.slice(7)).toEqual(["synthor: measuring ..."]);
    // No spinner, no carriage return: a log stays readable.
    expect(stderr).not.toContain("\r");
  }, 120_000);

  it("nested data: the same lines for its stages, before the run starts", async () => {
    const nested = ["test/fixtures/nested/households.csv", "--child", "test/fixtures/nested/persons.csv"];
    const { code, stderr } = await cli([
      "synth",
      ...nested,
      "--key",
      "hhID",
      "--rows",
      "30",
      "--iterations",
      "1",
    ]);
    expect(code).toBe(0);
    const lines = stderr.split("\n");
    expect(lines.slice(1, 5)).toEqual([
      "synthor: reading the source ...",
      "synthor: summarizing ...",
      "synthor: finding dependency groups ...",
      "synthor: run 1, planner stats, 30 households in up to 1 iterations",
    ]);
  }, 120_000);

  it("with --quiet, nothing at all", async () => {
    const { code, stderr } = await cli([...SMALL, "--quiet"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
  }, 120_000);

  it("on a terminal: a spinner with the stage, wiped for the next stage and by stop()", () => {
    vi.useFakeTimers();
    const { chunks, stream } = fakeStream(true);
    const progress = progressReporter({ stream });
    progress({ kind: "phase", phase: "reading the source" });
    expect(chunks).toEqual(["\r| synthor: reading the source\u001b[K"]);
    vi.advanceTimersByTime(1000);
    // Redrawn every 100 ms, the spinner turning, with the seconds spent.
    expect(chunks).toHaveLength(11);
    expect(chunks.at(-1)).toBe("\r- synthor: reading the source (1s)\u001b[K");
    chunks.length = 0;
    progress({ kind: "phase", phase: "summarizing" });
    expect(chunks).toEqual(["\r\u001b[K", "\r| synthor: summarizing\u001b[K"]);
    chunks.length = 0;
    progress.stop();
    vi.advanceTimersByTime(1000);
    expect(chunks).toEqual(["\r\u001b[K"]);
  });

  it("stages of an iteration and the end are not shown as stages; --quiet shows none but warnings", () => {
    const plain = fakeStream(false);
    const quiet = fakeStream(false);
    const reporters = [
      progressReporter({ stream: plain.stream }),
      progressReporter({ stream: quiet.stream, quiet: true }),
    ];
    const events = [
      { kind: "phase", phase: "reading the source" },
      { kind: "warning", message: "column renamed" },
      { kind: "phase", phase: "planning", iteration: 1 },
      { kind: "phase", phase: "finishing" },
    ] as const;
    for (const e of events) for (const r of reporters) r(e);
    expect(plain.chunks).toEqual(["synthor: reading the source ...\n", "synthor: warning: column renamed\n"]);
    expect(quiet.chunks).toEqual(["synthor: warning: column renamed\n"]);
  });
});
