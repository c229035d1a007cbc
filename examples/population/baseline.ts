/**
 * The independent baseline for nested synthesis: every household column drawn on its own from its real
 * marginal, every person column likewise, so no dependency between columns survives, within a table or
 * across the two. Only the structure is kept: each baseline household gets as many persons as its size
 * says (drawn among the real households with the same size value, so a top-coded "4 or more" gets 4, 5,
 * 6 ... persons as often as in the real data), the persons point to it by a fresh key, and the sequence
 * column numbers them 1, 2, ... A synthesizer should beat this on every query that joins columns.
 *
 *   npx tsx examples/population/baseline.ts --households out/households.csv --persons out/persons.csv \
 *     --key hhID --size HHSize --sequence per_num --seed 0 --out out/baseline
 *
 * Randomness is seedrandom(`population-baseline:<seed>`): the same seed and input give the same tables.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import seedrandom from "seedrandom";
import { Db, doubleList } from "../../src/db/connection.ts";
import { quoteIdent, quoteLiteral } from "../../src/db/quote.ts";
import { type Problem, SynthorError, throwIfProblems } from "../../src/errors.ts";
import { readSource } from "../../src/source.ts";

export interface BaselineOptions {
  /** The real tables: table or view names in the Db. */
  households: string;
  persons: string;
  /** The column of both tables that links a person to its household. */
  key: string;
  /** A household column that counts its persons (HHSize); without it, sizes come from the real counts. */
  size?: string;
  /** A person column numbering the persons of a household 1, 2, ... (per_num). */
  sequence?: string;
  /** Households to make (default: as many as the real table). */
  rows?: number;
  seed?: number;
  /** The tables to create (replaced if they exist). */
  out?: { households: string; persons: string };
}

export interface BaselineResult {
  households: number;
  persons: number;
  tables: { households: string; persons: string };
}

/**
 * Creates the baseline tables (default `baseline_households`, `baseline_persons`) in `db`.
 *
 * @example await independentBaseline(db, { households: "h", persons: "p", key: "hhID", size: "HHSize" })
 * // { households: 27980, persons: 59691, tables: { households: "baseline_households", ... } }
 */
export async function independentBaseline(db: Db, options: BaselineOptions): Promise<BaselineResult> {
  const out = options.out ?? { households: "baseline_households", persons: "baseline_persons" };
  const hColumns = await columnsOf(db, options.households);
  const pColumns = await columnsOf(db, options.persons);
  checkColumns(options, hColumns, pColumns);
  const [counts] = await db.all<{ h: number; p: number }>(
    `select (select count(*) from ${quoteIdent(options.households)}) as h,
            (select count(*) from ${quoteIdent(options.persons)}) as p`,
  );
  const realHouseholds = counts?.h ?? 0;
  const realPersons = counts?.p ?? 0;
  if (realHouseholds === 0 || realPersons === 0) {
    throw new SynthorError(
      "SOURCE_EMPTY",
      `the baseline needs real rows: ${realHouseholds} households, ${realPersons} persons`,
      "point it to the real households and persons tables",
    );
  }
  const rows = options.rows ?? realHouseholds;
  const rng = seedrandom(`population-baseline:${options.seed ?? 0}`);
  const draw = (n: number, of: number) => Array.from({ length: n }, () => Math.floor(rng() * of));

  // Households: one independent draw of a real row's value per column.
  const hDrawn = hColumns.filter((c) => c !== options.key);
  const hIndex = new Map(hDrawn.map((c) => [c, draw(rows, realHouseholds)]));

  // Persons per household, from the real households of the same size value.
  const sizes = await personCounts(db, options);
  const sizeValues = options.size
    ? (
        await db.all<{ v: string | null }>(
          `select ${quoteIdent(options.size)}::varchar as v from ${quoteIdent(options.households)} order by ${quoteIdent(options.size)} nulls last`,
        )
      ).map((r) => r.v)
    : [];
  const sizeIndex = options.size ? (hIndex.get(options.size) as number[]) : [];
  const members = Array.from({ length: rows }, (_, i) => {
    const group = sizes.get(options.size ? String(sizeValues[sizeIndex[i] as number]) : "") ?? [];
    return group[Math.floor(rng() * group.length)] ?? 0;
  });
  const household: number[] = [];
  const sequence: number[] = [];
  members.forEach((n, i) => {
    for (let k = 1; k <= n; k++) {
      household.push(i + 1);
      sequence.push(k);
    }
  });
  const pDrawn = pColumns.filter((c) => c !== options.key && c !== options.sequence);
  const pIndex = new Map(pDrawn.map((c) => [c, draw(household.length, realPersons)]));

  await build(db, {
    source: options.households,
    target: out.households,
    columns: hColumns,
    fixed: { [options.key]: "idx.__row + 1" },
    index: hIndex,
    extra: {},
  });
  await build(db, {
    source: options.persons,
    target: out.persons,
    columns: pColumns,
    fixed: {
      [options.key]: "idx.__household",
      ...(options.sequence ? { [options.sequence]: "idx.__sequence" } : {}),
    },
    index: pIndex,
    extra: { __household: household, __sequence: sequence },
  });
  return { households: rows, persons: household.length, tables: out };
}

/**
 * A bootstrap of the real data, not a synthesizer: `rows` real households drawn with replacement, each
 * with all its persons, under fresh keys (1 to N). Its query errors are what sampling noise alone costs,
 * the floor no synthesizer of that many households can be expected to beat. Same seed, same tables.
 *
 * @example await resampleHouseholds(db, { households: "h", persons: "p", key: "hhID", seed: 0 })
 */
export async function resampleHouseholds(
  db: Db,
  options: Omit<BaselineOptions, "size" | "sequence"> & { sequence?: string },
): Promise<BaselineResult> {
  const out = options.out ?? { households: "resample_households", persons: "resample_persons" };
  const hColumns = await columnsOf(db, options.households);
  const pColumns = await columnsOf(db, options.persons);
  checkColumns(options, hColumns, pColumns);
  const [counts] = await db.all<{ h: number }>(`select count(*) as h from ${quoteIdent(options.households)}`);
  const real = counts?.h ?? 0;
  const rows = options.rows ?? real;
  const rng = seedrandom(`population-resample:${options.seed ?? 0}`);
  const picks = Array.from({ length: rows }, () => Math.floor(rng() * real));
  const idx = quoteIdent("synthor_resample_index");
  const key = quoteIdent(options.key);
  await db.exec(
    `create or replace temp table ${idx} as select unnest(range(${Number(rows)})) as __row, unnest($picks)::bigint as __pick`,
    "resample index",
    { picks: doubleList(picks) },
  );
  const ranked = `(select row_number() over (order by ${key}) - 1 as __i, ${key} as __key, * from ${quoteIdent(options.households)})`;
  const keep = (columns: string[], alias: string) =>
    columns
      .map((c) => (c === options.key ? `idx.__row + 1 as ${key}` : `${alias}.${quoteIdent(c)}`))
      .join(", ");
  await db.dropRelation(out.households);
  await db.exec(
    `create table ${quoteIdent(out.households)} as select ${keep(hColumns, "h")} from ${idx} as idx join ${ranked} as h on h.__i = idx.__pick order by idx.__row`,
    `resample ${out.households}`,
  );
  await db.dropRelation(out.persons);
  const order = options.sequence ? `, p.${quoteIdent(options.sequence)}` : "";
  await db.exec(
    `create table ${quoteIdent(out.persons)} as select ${keep(pColumns, "p")} from ${idx} as idx join ${ranked} as h on h.__i = idx.__pick join ${quoteIdent(options.persons)} as p on p.${key} = h.__key order by idx.__row${order}`,
    `resample ${out.persons}`,
  );
  await db.exec(`drop table ${idx}`, "drop resample index");
  const [n] = await db.all<{ p: number }>(`select count(*) as p from ${quoteIdent(out.persons)}`);
  return { households: rows, persons: n?.p ?? 0, tables: out };
}

/** Real persons per household, grouped by the household's size value ("" without a size column). */
async function personCounts(db: Db, options: BaselineOptions): Promise<Map<string, number[]>> {
  const h = quoteIdent(options.households);
  const p = quoteIdent(options.persons);
  const key = quoteIdent(options.key);
  const size = options.size ? `${h}.${quoteIdent(options.size)}::varchar` : "''";
  const rows = await db.all<{ size: string | null; n: number }>(
    `with per_household as (
        select ${size} as size, count(${p}.${key}) as n
        from ${h} left join ${p} on ${p}.${key}::varchar = ${h}.${key}::varchar
        group by ${h}.${key}, ${size}
     )
     select size, n from per_household order by size, n`,
  );
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const k = String(r.size);
    groups.set(k, [...(groups.get(k) ?? []), r.n]);
  }
  return groups;
}

/**
 * Creates `target` with the columns of `source` in their order and types: a drawn column takes the value
 * of the real row at its drawn rank (rows ranked by that column's value, so the draw does not depend on
 * the file's row order), a fixed column takes an expression over the index table.
 */
async function build(
  db: Db,
  spec: {
    source: string;
    target: string;
    columns: string[];
    fixed: Record<string, string>;
    index: Map<string, number[]>;
    extra: Record<string, number[]>;
  },
): Promise<void> {
  const lists: Record<string, number[]> = { ...spec.extra };
  const drawn = spec.columns.filter((c) => !(c in spec.fixed));
  drawn.forEach((c, i) => {
    lists[`c${i}`] = spec.index.get(c) ?? [];
  });
  const names = Object.keys(lists);
  const length = lists[names[0] ?? ""]?.length ?? 0;
  const params = Object.fromEntries(names.map((n, i) => [`p${i}`, doubleList(lists[n] ?? [])]));
  const idx = quoteIdent("synthor_baseline_index");
  await db.exec(
    `create or replace temp table ${idx} as select unnest(range(${Number(length)})) as __row${names
      .map((n, i) => `, unnest($p${i})::bigint as ${quoteIdent(n)}`)
      .join("")}`,
    "baseline index",
    params,
  );
  const joins = drawn.map((c, i) => {
    const col = quoteIdent(c);
    return `join (select row_number() over (order by ${col} nulls last) - 1 as i, ${col} as v from ${quoteIdent(spec.source)}) as v${i} on v${i}.i = idx.${quoteIdent(`c${i}`)}`;
  });
  const select = spec.columns.map((c) => {
    const fixed = spec.fixed[c];
    return `${fixed ?? `v${drawn.indexOf(c)}.v`} as ${quoteIdent(c)}`;
  });
  await db.dropRelation(spec.target);
  await db.exec(
    `create table ${quoteIdent(spec.target)} as select ${select.join(", ")} from ${idx} as idx ${joins.join(" ")} order by idx.__row`,
    `baseline ${spec.target}`,
  );
  await db.exec(`drop table ${idx}`, "drop baseline index");
}

async function columnsOf(db: Db, table: string): Promise<string[]> {
  return (await db.all<{ column_name: string }>(`describe ${quoteIdent(table)}`)).map((r) => r.column_name);
}

function checkColumns(options: BaselineOptions, households: string[], persons: string[]): void {
  const problems: Problem[] = [];
  const need = (column: string | undefined, columns: string[], table: string, flag: string) => {
    if (column !== undefined && !columns.includes(column)) {
      problems.push({
        code: "COLUMN_UNKNOWN",
        message: `${flag} ${column} is not a column of the ${table} table`,
        hint: `the ${table} table has ${columns.join(", ")}`,
        subject: column,
      });
    }
  };
  need(options.key, households, "households", "--key");
  need(options.key, persons, "persons", "--key");
  need(options.size, households, "households", "--size");
  need(options.sequence, persons, "persons", "--sequence");
  throwIfProblems(problems);
}

/**
 * Reads the two CSV files, makes the baseline and writes `<out>_households.csv` and `<out>_persons.csv`.
 *
 * @example await writeBaseline({ households: "h.csv", persons: "p.csv", key: "hhID", out: "out/baseline" })
 */
export async function writeBaseline(options: {
  /** `independent` (default) or `resample` (a bootstrap of the real households). */
  method?: "independent" | "resample";
  households: string;
  persons: string;
  key: string;
  size?: string;
  sequence?: string;
  seed?: number;
  rows?: number;
  out: string;
}): Promise<BaselineResult & { files: { households: string; persons: string } }> {
  const db = await Db.open(":memory:", { threads: 2 });
  try {
    const h = await readSource(db, { kind: "file", path: options.households }, "real_households");
    const p = await readSource(db, { kind: "file", path: options.persons }, "real_persons");
    const common = {
      households: h.view,
      persons: p.view,
      key: options.key,
      ...(options.sequence ? { sequence: options.sequence } : {}),
      ...(options.rows ? { rows: options.rows } : {}),
      seed: options.seed ?? 0,
    };
    const result =
      options.method === "resample"
        ? await resampleHouseholds(db, common)
        : await independentBaseline(db, { ...common, ...(options.size ? { size: options.size } : {}) });
    const files = { households: `${options.out}_households.csv`, persons: `${options.out}_persons.csv` };
    mkdirSync(join(files.households, ".."), { recursive: true });
    for (const t of ["households", "persons"] as const) {
      await db.exec(
        `copy ${quoteIdent(result.tables[t])} to ${quoteLiteral(resolve(files[t]))} (header)`,
        `write ${files[t]}`,
      );
    }
    return { ...result, files };
  } finally {
    db.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      households: { type: "string", default: "examples/population/out/households.csv" },
      persons: { type: "string", default: "examples/population/out/persons.csv" },
      key: { type: "string", default: "hhID" },
      size: { type: "string", default: "HHSize" },
      sequence: { type: "string", default: "per_num" },
      seed: { type: "string", default: "0" },
      rows: { type: "string" },
      out: { type: "string", default: "examples/population/out/baseline" },
      method: { type: "string", default: "independent" },
    },
  });
  if (values.method !== "independent" && values.method !== "resample") {
    throw new SynthorError(
      "CONFIG_INVALID",
      `--method ${values.method} is not a baseline`,
      "use --method independent (columns drawn on their own) or --method resample (real households drawn with replacement)",
    );
  }
  const r = await writeBaseline({
    method: values.method,
    households: values.households,
    persons: values.persons,
    key: values.key,
    size: values.size,
    sequence: values.sequence,
    seed: Number(values.seed),
    ...(values.rows ? { rows: Number(values.rows) } : {}),
    out: values.out,
  });
  process.stdout.write(
    `${r.households} households and ${r.persons} persons written to ${r.files.households} and ${r.files.persons}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(err instanceof SynthorError ? `${err.describe()}\n` : `${String(err)}\n`);
    process.exit(1);
  });
}
