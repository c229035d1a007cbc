import { existsSync, statSync } from "node:fs";
import { extname } from "node:path";
import { Command, Option } from "commander";
import { Db } from "../../db/connection.ts";
import { quoteLiteral } from "../../db/quote.ts";
import { type Problem, SynthorError, throwIfProblems } from "../../errors.ts";
import { type ChildOptions, type Evaluation, evaluateSynthetic } from "../../evaluate/evaluate.ts";
import { checkFlowsFilter, type FlowResult } from "../../evaluate/flows.ts";
import { type Convergence, readConvergence } from "../../evaluate/history.ts";
import { childTables } from "../../evaluate/links.ts";
import { checkQueries, readQueries } from "../../evaluate/queries.ts";
import { checkOutputPath, writeTextAtomically } from "../../output.ts";
import { type ColumnProfile, profileColumns } from "../../profile.ts";
import { renderReport } from "../../report/html.ts";
import { readSource, type SourceInfo, type SourceSpec } from "../../source.ts";
import { type Cell, formatJson, formatTable, num } from "../format.ts";
import {
  fraction,
  type InputOptions,
  parseGroups,
  positiveInt,
  profileOptionsFrom,
  splitColumns,
  wholeNumber,
  withUsageErrors,
} from "../input.ts";

interface EvalCliOptions extends InputOptions {
  real: string;
  synth?: string;
  holdout?: string;
  target?: string;
  queries?: string;
  realChild?: string;
  synthChild?: string;
  key?: string;
  tableNames?: string;
  report?: string;
  overwrite?: boolean;
  group?: string[];
  seed: number;
  detection: boolean;
  privacy: boolean;
  minCell: number;
  nearCopy: number;
  json?: boolean;
  quiet?: boolean;
  threads?: number;
  flows?: string;
  flowsFilter?: string;
  flowsBaseline?: string;
  targetTable?: string[];
  showRealRows?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The attached --db's catalog name in the evaluation's in-memory database. */
const RUN_CATALOG = "synthor_run";

/** `synthor eval`: how faithful, useful and safe a synthetic table is, in numbers and in a report. */
export function evalCommand(): Command {
  return withUsageErrors(new Command("eval"))
    .description("compare a synthetic table with the real one: fidelity, detection, utility, privacy")
    .requiredOption(
      "--real <source>",
      "the real table: a .csv, .parquet, .json or .ndjson file, or a table of --db",
    )
    .option(
      "--synth <source>",
      "the synthetic table: a file, a table of --db (default with --db: synthetic), or a run database (its table synthetic and its history)",
    )
    .option(
      "--holdout <source>",
      "real rows the synthetic table was NOT made from, for utility and privacy baselines",
    )
    .option(
      "--db <file>",
      "the database of `synthor synth --db`: read tables from it and its convergence curve",
    )
    .option("--target <column>", "categorical column to predict in the train-synthetic-test-real test")
    .option(
      "--queries <file>",
      "SQL file of utility queries, each under a `-- name: ...` header, reading `data`",
    )
    .option(
      "--real-child <source>",
      "the real child table (e.g. persons) whose --key column points to rows of --real (e.g. households)",
    )
    .option("--synth-child <source>", "the synthetic child table, linked to --synth by --key")
    .option("--key <column>", "the column that links a child row to its parent row, on both sides")
    .option(
      "--table-names <parent,child>",
      "the names the queries read the parent and child tables by (default households,persons)",
    )
    .option("--report <file>", "write a self-contained HTML report (works offline)")
    .option("--overwrite", "replace an existing --report file")
    .option(
      "--show-real-rows",
      "put a few real rows beside the synthetic ones in the report and --json (off: the report may leave the data owner)",
    )
    .option(
      "--group <cols>",
      "a dependency group to compare jointly, e.g. age,sex,income (repeatable)",
      collect,
    )
    .option(
      "--flows <from,to>",
      "origin and destination columns: the report shows their real and synthetic flows as heatmaps",
    )
    .option(
      "--flows-filter <condition>",
      "SQL condition: count only the rows it keeps in the flows, e.g. \"time_bin = '20-24'\"",
    )
    .option(
      "--flows-baseline <source>",
      "another synthetic table (e.g. the run before --tilt): the flows view shows what changed",
    )
    .option(
      "--target-table <file>",
      "an aggregate table the synthetic one was made to match (columns and n), compared by shares (repeatable)",
      collect,
    )
    .addOption(
      new Option("--seed <n>", "seed for samples, folds and forests")
        .argParser(wholeNumber("--seed"))
        .default(0),
    )
    .option("--no-detection", "skip the classifier two-sample test")
    .option("--no-privacy", "skip exact-match and distance-to-closest-record checks")
    .addOption(
      new Option("--min-cell <k>", "privacy: a category fewer than k real rows hold is rare (as synth's)")
        .argParser(positiveInt("--min-cell"))
        .default(5),
    )
    .addOption(
      new Option("--near-copy <distance>", "privacy: a row this close to a real row is a near copy")
        .argParser(fraction("--near-copy"))
        .default(0.01),
    )
    .option(
      "--categorical <cols>",
      "treat these columns as categorical (comma-separated; repeatable)",
      collect,
    )
    .option("--numeric <cols>", "treat these columns as numeric (comma-separated; repeatable)", collect)
    .option("--ignore <cols>", "leave these columns out (comma-separated; repeatable)", collect)
    .option("--schema <file>", "JSON schema file with each column's kind")
    .addOption(
      new Option(
        "--max-categories <n>",
        "numbers with at most this many distinct values are categorical",
      ).argParser(positiveInt("--max-categories")),
    )
    .addOption(new Option("--threads <n>", "DuckDB worker threads").argParser(positiveInt("--threads")))
    .option("--json", "print every number as JSON on stdout")
    .option("--quiet", "no progress on stderr")
    .addHelpText(
      "after",
      `
Column kinds come from the real table's profile (see synthor profile); the same overrides apply.
Queries read the table as \`data\` and return one row of numbers; each runs on both tables.
With --real-child, --synth-child and --key, queries read the parent tables as \`households\` (and
\`data\`) and the child tables as \`persons\` (--table-names renames them); a \`-- category: ...\`
line under a query's header groups the relative errors by category.

--target-table is for tables made with synthor synth --targets: a column only the target table has (the
activity of examples/mobility) is compared with its shares. --flows draws two columns as heatmaps.

Examples:
  $ synthor eval --real adult.csv --synth synth.parquet --report report.html
  $ synthor eval --real trips.csv --synth s.csv --target-table time_activity.csv --flows origin,dest
  $ synthor eval --real trips.csv --synth s.csv --flows origin,dest --flows-filter "time_bin = '20-24'" --flows-baseline b.csv
  $ synthor eval --real train.csv --synth synth.csv --holdout test.csv --target income --queries q.sql
  $ synthor synth real.csv --db run.duckdb && synthor eval --db run.duckdb --real real.csv --report r.html
  $ synthor eval --real households.csv --real-child persons.csv --synth synth_hh.csv \\
      --synth-child synth_persons.csv --key hhID --queries examples/population/queries.sql`,
    )
    .action(async (opts: EvalCliOptions) => {
      const say = (text: string) => {
        if (!opts.quiet) process.stderr.write(`synthor: ${text}\n`);
      };
      const queries = opts.queries ? readQueries(opts.queries) : undefined;
      const childFlags = checkChildFlags(opts);
      if (opts.flows === undefined && (opts.flowsFilter !== undefined || opts.flowsBaseline !== undefined)) {
        throw new SynthorError(
          "CONFIG_INVALID",
          `${opts.flowsFilter !== undefined ? "--flows-filter" : "--flows-baseline"} needs --flows`,
          "name the origin and destination columns, e.g. --flows origin,dest",
        );
      }
      if (opts.report) checkReportPath(opts.report, opts.overwrite ?? false);
      // `--synth run.duckdb` names a run database: its table synthetic, and its history (found, not given).
      if (opts.synth !== undefined && opts.db === undefined && /\.(duckdb|ddb|db)$/i.test(opts.synth)) {
        opts.db = opts.synth;
        opts.synth = undefined;
      }
      const synthSource = opts.synth ?? (opts.db ? "synthetic" : undefined);
      if (synthSource === undefined) {
        throw new SynthorError(
          "SOURCE_OPTIONS",
          "no synthetic table given",
          "pass --synth FILE (or --db run.duckdb to read its table synthetic)",
        );
      }
      const db = await Db.open(":memory:", opts.threads ? { threads: opts.threads } : {});
      try {
        let convergence: Convergence | null = null;
        // The SQL of --queries and --flows-filter is checked before anything is read (src/db/sql-guard.ts).
        if (queries) await checkQueries(db, queries);
        if (opts.flowsFilter !== undefined) await checkFlowsFilter(db, opts.flowsFilter);
        if (opts.db) {
          await attachRun(db, opts.db);
          convergence = await readConvergence(db, RUN_CATALOG);
        }
        const convergenceNote =
          opts.db && !convergence
            ? `${opts.db} has no run history (no synthor_runs and synthor_iterations tables): it was not written by synthor synth --db`
            : undefined;
        const real = await readSide(db, "real", opts.real, opts.db);
        const synth = await readSide(db, "synth", synthSource, opts.db);
        const holdout = opts.holdout ? await readSide(db, "holdout", opts.holdout, opts.db) : undefined;
        let child: ChildOptions | undefined;
        let parentIgnore = opts.ignore;
        if (childFlags) {
          const realChild = await readSide(db, "realChild", childFlags.real, opts.db);
          const synthChild = await readSide(db, "synthChild", childFlags.synth, opts.db);
          ({ child, parentIgnore } = await childTables(db, {
            real,
            synth,
            realChild,
            synthChild,
            key: childFlags.key,
            ...(childFlags.names ? { names: childFlags.names } : {}),
            ignore: opts.ignore ?? [],
          }));
        }
        const profileOptions = profileOptionsFrom({
          ...opts,
          ...(parentIgnore ? { ignore: parentIgnore } : {}),
        });
        const profiles = await profileColumns(db, real, profileOptions);
        const baseline = opts.flowsBaseline
          ? await readSide(db, "baseline", opts.flowsBaseline, opts.db)
          : undefined;
        const targets = [];
        for (const [i, file] of (opts.targetTable ?? []).entries()) {
          const info = await readSource(db, { kind: "file", path: file }, `synthor_eval_source_target_${i}`);
          targets.push({ table: info.view, label: info.label });
        }
        const flows = opts.flows === undefined ? undefined : flowColumns(opts.flows, real);
        const evaluation = await evaluateSynthetic(db, {
          real: real.view,
          synth: synth.view,
          holdout: holdout?.view,
          profiles,
          labels: { real: real.label, synth: synth.label, holdout: holdout?.label },
          groups: parseGroups(
            opts.group,
            profiles.map((p) => p.name),
          ),
          target: opts.target,
          ...(queries ? { queries } : {}),
          ...(child ? { child } : {}),
          convergence,
          ...(convergenceNote ? { convergenceNote } : {}),
          showRealRows: opts.showRealRows ?? false,
          seed: opts.seed,
          detection: opts.detection,
          privacy: opts.privacy,
          minCell: opts.minCell,
          nearCopy: opts.nearCopy,
          onStep: (step) => say(`${step} ...`),
          ...(flows
            ? {
                flows: {
                  columns: flows,
                  filter: opts.flowsFilter,
                  baseline: baseline?.view,
                  baselineLabel: baseline?.label,
                },
              }
            : {}),
          ...(targets.length > 0 ? { targets } : {}),
        });
        if (opts.report) {
          writeTextAtomically(opts.report, renderReport(evaluation), {
            flag: "--report",
            overwrite: opts.overwrite ?? false,
          });
          say(`report written to ${opts.report} (${formatBytes(statSync(opts.report).size)})`);
        }
        process.stdout.write(
          opts.json ? `${formatJson(evaluation)}\n` : summary(evaluation, profiles, opts.report),
        );
      } finally {
        db.close();
      }
    });
}

/** `--flows origin,dest` as two column names (names holding commas are matched against the table's). */
function flowColumns(value: string, real: SourceInfo): [string, string] {
  const names = splitColumns(
    [value],
    real.columns.map((c) => c.name),
  );
  const [from, to] = names;
  if (names.length !== 2 || from === undefined || to === undefined) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--flows ${value} names ${names.length} column${names.length === 1 ? "" : "s"}, not 2`,
      "give the origin and the destination column, e.g. --flows origin,dest",
    );
  }
  return [from, to];
}

function checkReportPath(path: string, overwrite: boolean): void {
  if (extname(path).toLowerCase() !== ".html") {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--report ${path} does not end in .html`,
      "name the report file.html",
    );
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--report ${path} is a directory`,
      "give a file name, e.g. --report report.html",
    );
  }
  checkOutputPath(path, overwrite, "--report");
}

async function attachRun(db: Db, path: string): Promise<void> {
  if (!existsSync(path)) {
    throw new SynthorError(
      "SOURCE_NOT_FOUND",
      `database file not found: ${path}`,
      "give --db the file `synthor synth --db FILE` wrote",
      { source: path },
    );
  }
  try {
    await db.connection.run(`attach ${quoteLiteral(path)} as ${RUN_CATALOG} (read_only)`);
  } catch (err) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `cannot open database ${path}: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`,
      "--db takes a DuckDB database file written by synthor synth --db; close other programs that hold it",
      { source: path },
    );
  }
}

const sideWords = {
  real: "real",
  synth: "synthetic",
  holdout: "holdout",
  realChild: "real child",
  synthChild: "synthetic child",
  baseline: "flows baseline",
} as const;
const sideFlags = {
  real: "--real",
  synth: "--synth",
  holdout: "--holdout",
  realChild: "--real-child",
  synthChild: "--synth-child",
  baseline: "--flows-baseline",
} as const;
type Side = keyof typeof sideWords;

/**
 * The child-table flags, checked together: --real-child, --synth-child and --key go as a set, and
 * --table-names (two distinct names) only with them. Undefined when no child table is given.
 */
function checkChildFlags(
  opts: EvalCliOptions,
): { real: string; synth: string; key: string; names: { parent: string; child: string } } | undefined {
  const given = {
    "--real-child": opts.realChild,
    "--synth-child": opts.synthChild,
    "--key": opts.key,
  };
  const present = Object.entries(given).filter(([, v]) => v !== undefined);
  if (present.length === 0) {
    if (opts.tableNames !== undefined) {
      throw new SynthorError(
        "SOURCE_OPTIONS",
        "--table-names names the tables of a two-table evaluation, but no child table is given",
        "add --real-child, --synth-child and --key, or leave out --table-names (queries then read data)",
      );
    }
    return undefined;
  }
  const problems: Problem[] = Object.entries(given)
    .filter(([, v]) => v === undefined)
    .map(([flag]) => ({
      code: "SOURCE_OPTIONS",
      message: `${present.map(([f]) => f).join(" and ")} ${present.length === 1 ? "needs" : "need"} ${flag}`,
      hint:
        flag === "--key"
          ? "name the column that links each child row to its parent row, e.g. --key hhID"
          : `give ${flag} FILE: a two-table evaluation reads the real and the synthetic child tables`,
    }));
  let names = { parent: "households", child: "persons" };
  if (opts.tableNames !== undefined) {
    const parts = opts.tableNames.split(",").map((x) => x.trim());
    if (parts.length !== 2 || parts.some((x) => x === "") || parts[0] === parts[1]) {
      problems.push({
        code: "CONFIG_INVALID",
        message: `--table-names ${opts.tableNames} is not two different names`,
        hint: "write the parent's name, a comma, the child's name: --table-names households,persons",
      });
    } else {
      names = { parent: parts[0] as string, child: parts[1] as string };
    }
  }
  throwIfProblems(problems);
  return {
    real: opts.realChild as string,
    synth: opts.synthChild as string,
    key: opts.key as string,
    names,
  };
}

/**
 * Reads one side as the view `synthor_eval_source_<side>`: a file when the name looks like one (or
 * exists), else a table of --db.
 */
async function readSide(db: Db, side: Side, value: string, dbPath: string | undefined): Promise<SourceInfo> {
  const looksLikeFile =
    existsSync(value) || /\.(csv|tsv|parquet|json|ndjson|jsonl)(\.gz|\.zst)?$/i.test(value);
  let spec: SourceSpec;
  if (looksLikeFile || dbPath === undefined) spec = { kind: "file", path: value };
  else spec = { kind: "table", table: `${RUN_CATALOG}.${value.includes(".") ? value : `main.${value}`}` };
  try {
    const info = await readSource(db, spec, `synthor_eval_source_${side}`);
    return spec.kind === "table" ? { ...info, label: `table ${value} of ${dbPath}` } : info;
  } catch (err) {
    if (err instanceof SynthorError && err.code === "SOURCE_EMPTY") {
      throw new SynthorError(
        "SOURCE_EMPTY",
        `the ${sideWords[side]} table ${value} has no rows`,
        side === "synth"
          ? "evaluation compares rows: make a synthetic table with synthor synth, then run synthor eval again"
          : `evaluation compares rows: point ${sideFlags[side]} to a table with data`,
        { source: value },
      );
    }
    if (err instanceof SynthorError && err.code === "SOURCE_NOT_FOUND" && spec.kind === "table") {
      throw new SynthorError(
        "SOURCE_NOT_FOUND",
        `the ${sideWords[side]} table ${value} is neither a file nor a table of ${dbPath}`,
        `${err.hint.replaceAll(`${RUN_CATALOG}.`, "")}`,
        { source: value },
      );
    }
    throw err;
  }
}

function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function summary(e: Evaluation, _profiles: ColumnProfile[], report: string | undefined): string {
  const out: string[] = [];
  const f = e.fidelity;
  out.push(
    `${e.labels.synth} (${f.rows.synth} rows) against ${e.labels.real} (${f.rows.real} rows)${e.labels.holdout ? `, holdout ${e.labels.holdout}` : ""}`,
    "",
    `quality score ${num(f.scores.quality, 3)} (SDMetrics QualityReport: column shapes ${num(f.scores.columnShapes, 3)}, column pair trends ${num(f.scores.columnPairTrends, 3)}; over all pairs ${num(f.scores.columnPairTrendsAllPairs, 3)})`,
  );
  if (e.detection) {
    const parts = e.detection.models.map(
      (m) => `${m.model.replace("_", " ")} accuracy ${num(m.accuracy, 3)} (gap ${num(m.gap, 3)})`,
    );
    out.push(
      `detection (C2ST, ${e.detection.rows} rows per side, ${e.detection.folds}-fold): ${parts.join("; ")}`,
    );
  }
  const v = e.verdicts;
  if (v.headline.length > 0) {
    out.push(
      "",
      `verdicts against the real floor (${v.floor ? (v.floor.source === "holdout" ? "real vs holdout" : "two halves of the real table") : "no fidelity floor"}):`,
    );
    for (const x of v.headline) {
      out.push(
        `  ${x.word.padEnd(7)} ${x.label} ${num(x.value, 3)} (real floor ${num(x.floor, 3)}): ${x.meaning}`,
      );
    }
  }
  const off = v.columns.filter((c) => c.word !== "as real");
  if (off.length > 0) {
    out.push(
      `columns beyond their real floor: ${off.map((c) => `${c.column} ${c.word} (TVD ${num(c.tvd, 3)}, floor ${num(c.floor, 3)})`).join(", ")}`,
    );
  }
  const d = e.diagnostics;
  const findings = [
    ...d.categories
      .filter((c) => c.novelRows > 0)
      .map((c) => `${c.column}: ${c.novelRows} synthetic rows with a value the real table lacks`),
    ...d.ranges
      .filter((r) => r.below + r.above > 0)
      .map((r) => `${r.column}: ${r.below + r.above} synthetic values outside the real range`),
    ...d.keys.flatMap((k) =>
      k.synth && k.synth.surplusRows > 0
        ? [`${k.column}: ${k.synth.repeatedKeys} synthetic keys repeat`]
        : [],
    ),
  ];
  if (findings.length > 0) out.push(`diagnostics: ${findings.join("; ")}`);
  out.push("", "columns:");
  out.push(columnsTable(f));
  if (f.pairs.length > 0) {
    out.push("", "pairs with the largest TVD:");
    const worst = [...f.pairs].sort((a, b) => b.tvd - a.tvd).slice(0, 10);
    out.push(
      formatTable(
        worst.map((p) => ({
          pair: p.columns.join(" x "),
          tvd: round(p.tvd),
          measure: p.association.measure,
          real: p.association.real === null ? null : round(p.association.real),
          synth: p.association.synth === null ? null : round(p.association.synth),
          score: p.score === null ? null : round(p.score),
          metric: p.metric,
        })),
      ),
    );
  }
  if (f.groups.length > 0) {
    out.push("", "groups:");
    out.push(
      formatTable(
        f.groups.map((g) => ({
          group: g.columns.join(" x "),
          tvd: round(g.tvd),
          js_distance: round(g.jsDistance),
        })),
      ),
    );
  }
  if (e.utility) {
    const u = e.utility;
    out.push(
      "",
      `utility: predict ${u.target} (${u.classes.length} classes), trained on ${u.rows.trainSynth} synthetic / ${u.rows.trainReal} real rows, tested on ${u.rows.test} ${u.testSource === "holdout" ? "holdout" : "real rows split off (the synthetic table may have seen them)"}; majority class ${num(u.majorityAccuracy, 3)}`,
    );
    out.push(
      formatTable(
        u.models.map((m) => ({
          model: m.model,
          synth_accuracy: round(m.synth.accuracy),
          real_accuracy: round(m.real.accuracy),
          synth_f1: round(m.synth.f1Macro),
          real_f1: round(m.real.f1Macro),
          synth_auc: m.synth.auc === null ? null : round(m.synth.auc),
          real_auc: m.real.auc === null ? null : round(m.real.auc),
        })),
      ),
    );
  }
  if (e.links) {
    const l = e.links;
    const side = (x: typeof l.real) =>
      `${x.parents} ${l.names.parent}, ${x.children} ${l.names.child} (${x.childrenPerParent === null ? "-" : num(x.childrenPerParent, 3)} per ${l.names.parent.replace(/s$/, "")}), orphans ${x.orphans}, without ${l.names.child} ${x.childless}`;
    out.push(
      "",
      `${l.names.child} linked by ${l.key}: real ${l.labels.realChild}: ${side(l.real)}; synthetic ${l.labels.synthChild}: ${side(l.synth)}`,
    );
    for (const w of l.warnings) out.push(`warning: ${w}`);
  }
  if (e.childFidelity && e.links) {
    const c = e.childFidelity.scores;
    out.push(
      "",
      `${e.links.names.child} columns (quality score ${num(c.quality, 3)}: column shapes ${num(c.columnShapes, 3)}, column pair trends ${num(c.columnPairTrends, 3)}):`,
      columnsTable(e.childFidelity),
    );
  }
  if (e.queries) {
    const categorized = e.queries.some((q) => q.category !== null);
    out.push("", "queries:");
    out.push(
      formatTable(
        e.queries.map((q) => ({
          query: q.name,
          ...(categorized ? { category: q.category } : {}),
          real: q.real,
          synth: q.synth,
          abs_error: q.absError,
          rel_error: q.relError === null ? null : round(q.relError),
        })),
      ),
    );
  }
  if (e.queryCategories) {
    out.push("", "mean relative error by category:");
    out.push(
      formatTable(
        e.queryCategories.map((c) => ({
          category: c.category,
          queries: c.results,
          scored: c.scored,
          mean_rel_error: c.meanRelError === null ? null : round(c.meanRelError),
        })),
      ),
    );
  }
  if (e.privacy) {
    const p = e.privacy;
    out.push(
      "",
      `privacy: ${p.exactMatches.matches} of ${p.exactMatches.rows} synthetic rows identical to a real row${p.holdoutExactMatches ? ` (holdout: ${p.holdoutExactMatches.matches} of ${p.holdoutExactMatches.rows})` : ""}`,
    );
    if (p.dcr) {
      const d = p.dcr;
      out.push(
        `distance to closest record, median (5th percentile): synthetic ${num(d.synth.p50, 3)} (${num(d.synth.p05, 3)}), ${d.baselineKind === "holdout" ? "holdout" : "real to real"} ${num(d.baseline.p50, 3)} (${num(d.baseline.p05, 3)})`,
        `near copies (within ${num(d.nearCopies.distance, 3)} of a real row): synthetic ${num(100 * d.nearCopies.synth, 3)}%, ${d.baselineKind === "holdout" ? "holdout" : "real to real"} ${num(100 * d.nearCopies.baseline, 3)}%`,
      );
    }
    if (p.rare) {
      const r = p.rare;
      const median = (x: typeof r.synth) => (x ? num(x.p50, 3) : "-");
      const least = (x: typeof r.synth) => (x ? num(x.min, 3) : "-");
      out.push(
        `rows with a rare category (${r.values} categor${r.values === 1 ? "y" : "ies"} fewer than ${r.minCell} real rows hold): synthetic ${r.synthRows}, closest ${least(r.synth)}, median ${median(r.synth)}, ${r.synthNearCopies} near copies; ${p.dcr?.baselineKind === "real" ? "real to real" : "holdout"} ${r.baselineRows}, closest ${least(r.baseline)}, median ${median(r.baseline)}, ${r.baselineNearCopies} near copies`,
      );
    }
    for (const w of p.warnings) out.push(`warning: ${w}`);
  }
  if (e.flows) out.push("", ...flowSummary(e.flows));
  for (const t of e.targets ?? []) {
    out.push(
      "",
      `target ${t.label} (${t.columns.join(" x ")}, ${num(t.total.target, 6)} by ${t.weight}; synthetic ${t.total.synth} rows): TVD ${num(t.tvd, 4)}${t.withinTvd === null ? "" : `; ${t.columns.at(-1)} within ${t.columns.slice(0, -1).join(" x ")}: TVD ${num(t.withinTvd, 4)}`}`,
    );
    const worst = [...t.cells]
      .sort((a, b) => Math.abs(b.target.share - b.synth.share) - Math.abs(a.target.share - a.synth.share))
      .slice(0, 5);
    out.push(
      formatTable(
        worst.map((c) => ({
          cell: c.cell.map((v) => v ?? "NULL").join(" x "),
          target_share: round(c.target.share),
          synth_share: round(c.synth.share),
        })),
      ),
    );
  }
  if (e.convergence)
    out.push("", `run history: ${e.convergence.points.length} iterations of run ${e.convergence.runId}`);
  if (report) out.push("", `report: ${report}`);
  return `${out.join("\n")}\n`;
}

function columnsTable(f: Evaluation["fidelity"]): string {
  const columns: Record<string, Cell>[] = f.columns.map((c) => ({
    column: c.column,
    kind: c.datetime ? "datetime" : c.kind,
    tvd: round(c.tvd),
    js_distance: round(c.jsDistance),
    w1: c.w1 === null ? null : round(c.w1),
    ks: c.ks === null ? null : round(c.ks),
    [c.kind === "numeric" ? "score" : "score"]: c.score === null ? null : round(c.score),
    metric: c.metric,
  }));
  return formatTable(columns);
}

function flowSummary(f: FlowResult): string[] {
  const where = f.filter === null ? "" : ` where ${f.filter}`;
  const lines = [
    `flows ${f.columns.join(" -> ")}${where}: ${f.rows.real} real, ${f.rows.synth} synthetic${f.rows.baseline === null ? "" : `, ${f.rows.baseline} baseline`} rows; TVD synthetic vs real ${num(f.tvd.synthReal, 4)}${f.tvd.synthBaseline === null ? "" : `, synthetic vs baseline ${num(f.tvd.synthBaseline, 4)}, baseline vs real ${num(f.tvd.baselineReal, 4)}`}`,
  ];
  const against = (c: FlowResult["cells"][number]) => (c.baseline ?? c.real).share;
  const moved = [...f.cells]
    .sort((a, b) => Math.abs(b.synth.share - against(b)) - Math.abs(a.synth.share - against(a)))
    .slice(0, 5);
  lines.push(
    formatTable(
      moved.map((c) => ({
        [f.columns[0]]: c.from,
        [f.columns[1]]: c.to,
        real_share: round(c.real.share),
        ...(c.baseline ? { baseline_share: round(c.baseline.share) } : {}),
        synth_share: round(c.synth.share),
      })),
    ),
  );
  return lines;
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}
