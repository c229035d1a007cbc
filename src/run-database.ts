/**
 * The way in and out of a synthesis run's database, shared by the flat loop (`synthesize`) and the
 * nested one (`synthesizeNested`): open it, watch Ctrl-C, clear what a killed run left, run the loop; on
 * an error record the run as failed, on an interruption let the loop say what was kept; and on every way
 * out close the file without real rows (the user's own source tables aside).
 */
import { existsSync } from "node:fs";
import { Db } from "./db/connection.ts";
import { closeWithoutRealRows, removeLeftovers } from "./db/real-rows.ts";
import { SynthorError } from "./errors.ts";
import { recordFailure } from "./history.ts";
import { RunFailed } from "./outcome.ts";

/** The options of a run that say where and how its database is opened (SynthOptions, NestedSynthOptions). */
export interface RunDatabaseOptions {
  /** The --db file; in memory without it. */
  db?: string;
  threads?: number;
  keepReal?: boolean;
  signal?: AbortSignal;
}

export interface RunGuard {
  /** Tables that are the user's own source: never dropped. */
  keep: string[];
  /** When the run started (Date.now()), for the seconds of a failed run. */
  started: number;
  /** The run's id once it has one, kept up to date by the loop. */
  state: { runId?: number };
}

/**
 * Runs `loop` on the run's database. An error is recorded as the run's failure and thrown again; once
 * the signal has fired, whatever surfaced (an interrupted query, a cancelled request, a checkpoint) is
 * the interruption, and `interrupted` returns what the committed iterations hold or throws Interrupted.
 */
export async function withRunDatabase<T>(
  options: RunDatabaseOptions,
  guard: RunGuard,
  loop: (db: Db) => Promise<T>,
  interrupted: (db: Db) => Promise<T>,
): Promise<T> {
  const db = await Db.open(options.db ?? ":memory:", {
    ...(options.threads ? { threads: options.threads } : {}),
    keepReal: options.keepReal ?? false,
  });
  const unwatch = options.signal ? db.watch(options.signal) : undefined;
  let result: T;
  try {
    await removeLeftovers(db);
    result = await loop(db);
  } catch (err) {
    unwatch?.();
    try {
      if (!options.signal?.aborted) {
        const { runId } = guard.state;
        if (runId !== undefined && !(err instanceof RunFailed)) {
          const seconds = (Date.now() - guard.started) / 1000;
          await recordFailure(db, runId, err, seconds).catch(() => undefined);
        }
        throw err;
      }
      result = await interrupted(db);
    } catch (thrown) {
      // The run's error is what the user needs to see; the cleanup is tried again by the next command.
      await closeWithoutRealRows(db, { keep: guard.keep }).catch(() => undefined);
      throw thrown;
    }
  }
  unwatch?.();
  await closeWithoutRealRows(db, { keep: guard.keep });
  return result;
}

/** The seed of a run: a whole number (default 0). */
export function checkSeed(seed: number | undefined): number {
  const s = seed ?? 0;
  if (!Number.isSafeInteger(s)) {
    throw new SynthorError("CONFIG_INVALID", `--seed must be a whole number, not ${s}`, "e.g. --seed 7");
  }
  return s;
}

/** --resume needs a --db that exists: it reads the interrupted run from there. */
export function checkResume(resume: boolean, dbPath: string): void {
  if (!resume) return;
  if (dbPath === ":memory:") {
    throw new SynthorError(
      "RUN_STATE",
      "--resume needs --db",
      "resume reads the interrupted run from its database: pass the same --db",
    );
  }
  if (!existsSync(dbPath)) {
    throw new SynthorError(
      "RUN_STATE",
      `there is no database ${dbPath} to resume from`,
      "check the --db path, or start a new run without --resume",
    );
  }
}
