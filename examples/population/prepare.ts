/**
 * Turns the populationsim survey seed (seed_households.csv, seed_persons.csv) into the two tables of this
 * example: households.csv and persons.csv, linked by hhID, with the columns the queries use and NULL
 * (an empty field) where the seed writes NA. `--sample N` keeps N households drawn at random (seeded)
 * with all their persons: the small copy under examples/population/sample/ that the tests read.
 *
 *   npx tsx examples/population/prepare.ts --data /work/shared/data/popsim_survey --out examples/population/out
 *   npx tsx examples/population/prepare.ts --sample 300 --seed 1 --out examples/population/sample
 *
 * Columns kept (see README.md for what the codes mean):
 *   households: hhID, SUBREGCluster, HHSize, HHIncome, HHDwelling, HHChildren
 *   persons:    hhID, per_num, PAge, PGender, PEmp, POcc, PComm
 * Left out: the survey weights (HHweight, Pweight: the queries count the sample, unweighted, as the
 * paper does), personID (a row number), and the geography codes other than SUBREGCluster (SUBREG with
 * 61 values, SUBREG_GRP with 44, and the *Dummy copies), which the persons table repeats from its
 * household.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import seedrandom from "seedrandom";
import { Db, doubleList } from "../../src/db/connection.ts";
import { quoteIdent, quoteLiteral } from "../../src/db/quote.ts";
import { SynthorError } from "../../src/errors.ts";

export const HOUSEHOLD_COLUMNS = ["hhID", "SUBREGCluster", "HHSize", "HHIncome", "HHDwelling", "HHChildren"];
export const PERSON_COLUMNS = ["hhID", "per_num", "PAge", "PGender", "PEmp", "POcc", "PComm"];
/** Where the seed lives on the project's machines; --data overrides it. */
export const DEFAULT_DATA = "/work/shared/data/popsim_survey";

export interface PrepareOptions {
  /** Folder with seed_households.csv and seed_persons.csv. */
  data: string;
  /** Folder to write households.csv and persons.csv to (created). */
  out: string;
  /** Keep this many households (and their persons), drawn with `seed`; all when absent. */
  sample?: number;
  seed?: number;
}

/**
 * Writes `out/households.csv` and `out/persons.csv` and returns their row counts.
 *
 * @example await preparePopulation({ data: DEFAULT_DATA, out: "examples/population/out" })
 * // { households: 27980, persons: 59762, files: [...] }
 */
export async function preparePopulation(
  options: PrepareOptions,
): Promise<{ households: number; persons: number; files: { households: string; persons: string } }> {
  const seeds = {
    households: join(options.data, "seed_households.csv"),
    persons: join(options.data, "seed_persons.csv"),
  };
  mkdirSync(options.out, { recursive: true });
  const files = {
    households: join(options.out, "households.csv"),
    persons: join(options.out, "persons.csv"),
  };
  const db = await Db.open(":memory:", { threads: 2 });
  try {
    for (const [table, path] of Object.entries(seeds)) {
      try {
        // The seed writes missing values as NA; the whole file is scanned so PEmp is read as a number.
        await db.connection.run(
          `create table ${quoteIdent(`seed_${table}`)} as select * from read_csv(${quoteLiteral(resolve(path))}, nullstr = 'NA', sample_size = -1)`,
        );
      } catch (err) {
        throw new SynthorError(
          "SOURCE_NOT_FOUND",
          `cannot read the populationsim seed ${path}: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`,
          "pass --data the folder that holds seed_households.csv and seed_persons.csv (see examples/population/README.md)",
          { source: path },
        );
      }
    }
    const ids = (await db.all<{ hhID: number }>("select hhID from seed_households order by hhID")).map(
      (r) => r.hhID,
    );
    const kept = options.sample === undefined ? ids : sampleIds(ids, options.sample, options.seed ?? 0);
    await db.exec("create table keep as select unnest($ids)::bigint as hhID", "households to keep", {
      ids: doubleList(kept),
    });
    const select = (table: string, columns: string[], order: string) =>
      `select ${columns.map(quoteIdent).join(", ")} from ${quoteIdent(`seed_${table}`)} semi join keep using (hhID) order by ${order}`;
    await db.exec(
      `copy (${select("households", HOUSEHOLD_COLUMNS, "hhID")}) to ${quoteLiteral(files.households)} (header)`,
      "write households.csv",
    );
    await db.exec(
      `copy (${select("persons", PERSON_COLUMNS, "hhID, per_num")}) to ${quoteLiteral(files.persons)} (header)`,
      "write persons.csv",
    );
    const [counts] = await db.all<{ households: number; persons: number }>(
      `select (select count(*) from seed_households semi join keep using (hhID)) as households,
              (select count(*) from seed_persons semi join keep using (hhID)) as persons`,
    );
    return { households: counts?.households ?? 0, persons: counts?.persons ?? 0, files };
  } finally {
    db.close();
  }
}

/** `n` of the ids drawn without replacement (seeded), returned in ascending order. */
function sampleIds(ids: number[], n: number, seed: number): number[] {
  const rng = seedrandom(`population-sample:${seed}`);
  const pool = [...ids];
  for (let i = 0; i < Math.min(n, pool.length); i++) {
    const j = i + Math.floor(rng() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, Math.min(n, pool.length)).sort((a, b) => a - b);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string", default: DEFAULT_DATA },
      out: { type: "string", default: "examples/population/out" },
      sample: { type: "string" },
      seed: { type: "string", default: "0" },
    },
  });
  const result = await preparePopulation({
    data: values.data,
    out: values.out,
    ...(values.sample !== undefined ? { sample: Number(values.sample) } : {}),
    seed: Number(values.seed),
  });
  process.stdout.write(
    `${result.households} households and ${result.persons} persons written to ${result.files.households} and ${result.files.persons}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(err instanceof SynthorError ? `${err.describe()}\n` : `${String(err)}\n`);
    process.exit(1);
  });
}
