import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PAUSE_ENV, PAUSE_MARKER } from "../src/cli/test-pause.ts";
import { Db } from "../src/db/connection.ts";
import { packageRoot } from "../src/db/files.ts";
import type { NestedSpec } from "../src/nested/source.ts";

/** Opens an in-memory database with the macros loaded, runs `fn`, and always closes it. */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await Db.open(":memory:", { threads: 2 });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "synthor-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Path of a file under test/fixtures. */
export function fixture(name: string): string {
  return join(packageRoot, "test", "fixtures", name);
}

/** Households and their members as two CSV files linked by hhID; by default the nested fixtures. */
export function linkedSource(
  households = fixture("nested/households.csv"),
  persons = fixture("nested/persons.csv"),
): NestedSpec {
  return {
    kind: "linked",
    households: { kind: "file", path: households },
    members: { kind: "file", path: persons },
    key: "hhID",
  };
}

/** Path of a file under test/golden. */
export function golden(name: string): string {
  return join(packageRoot, "test", "golden", name);
}

/** Reads a small CSV (no quoted commas needed) into rows of strings; empty fields are null. */
export function readCsv(path: string): Record<string, string | null>[] {
  const [header, ...lines] = readFileSync(path, "utf8").trimEnd().split("\n");
  const cols = (header ?? "").split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v === "" ? null : v])));
}

const run = promisify(execFile);

/**
 * Runs the real CLI (bin/synthor.js over dist/, which the e2e project's global setup builds) in a
 * subprocess; never throws on a non-zero exit. A test file that calls it belongs to the e2e project.
 */
export async function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(packageRoot, "bin", "synthor.js"), ...args],
      {
        cwd: options.cwd ?? packageRoot,
        env: { ...process.env, TZ: "UTC", ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/**
 * The CLI as a child process we can signal, with its stderr collected as it comes. The run stops at a
 * point the program drives (src/cli/test-pause.ts): once iteration `pauseAfter` is committed it says so
 * on stderr and waits for a signal. `paused` resolves then, with no clock involved (the test's own
 * timeout is the only limit), and rejects if the run ends without pausing.
 */
export function startPaused(
  args: string[],
  pauseAfter: number,
): {
  child: ChildProcess;
  stderr: () => string;
  paused: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const child = spawn(process.execPath, [join(packageRoot, "bin", "synthor.js"), ...args], {
    cwd: packageRoot,
    env: { ...process.env, TZ: "UTC", [PAUSE_ENV]: String(pauseAfter) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const marker = `${PAUSE_MARKER}${pauseAfter}\n`;
  let stderr = "";
  let onPause: () => void = () => undefined;
  const pausing = new Promise<void>((resolve) => {
    onPause = resolve;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes(marker)) onPause();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const endedFirst = exited.then(() => {
    if (!stderr.includes(marker)) throw new Error(`the run ended without pausing:\n${stderr}`);
  });
  return { child, stderr: () => stderr, paused: Promise.race([pausing, endedFirst]), exited };
}
