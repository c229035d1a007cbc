import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { SynthorError } from "../src/errors.ts";
import { checkKey } from "../src/evaluate/links.ts";
import { evaluateUtility } from "../src/evaluate/utility.ts";
import { editDistance, missingColumn, nearest, unknownColumnHint } from "../src/names.ts";
import { profileColumns } from "../src/profile.ts";
import { buildReference, parseTilt } from "../src/reference.ts";
import { readSource } from "../src/source.ts";
import { groupProblems } from "../src/summarize.ts";
import { tempDir, withDb } from "./helpers.ts";

const COLUMNS = ["user_age", "gender", "price", "payment_method"];
const TABLE = `
select
    (20 + range % 50)::integer as user_age,
    ['Male', 'Female'][range % 2 + 1] as gender,
    range * 1.5 + 0.25 as price,
    ['Cash', 'Card', 'Online'][range % 3 + 1] as payment_method
from range(60)`;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** The SynthorError a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<SynthorError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SynthorError) return err;
    throw err;
  }
  throw new Error("expected an error");
}

async function source(db: Db) {
  return readSource(db, { kind: "sql", sql: TABLE });
}

describe("the suggestion for a misspelt column name", () => {
  it("finds the name in another case, one or two edits away, and a swap of two letters as one edit", () => {
    expect(nearest("GENDER", COLUMNS)).toBe("gender");
    expect(nearest("user_agee", COLUMNS)).toBe("user_age");
    expect(nearest("pirce", COLUMNS)).toBe("price");
    expect(nearest("paymnt_metod", COLUMNS)).toBe("payment_method");
    expect(editDistance("pirce", "price")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests nothing for a name far from every column, nor for short names off by much", () => {
    expect(nearest("income", COLUMNS)).toBeUndefined();
    // A 2-letter name allows no edit: "ab" is not "price".
    expect(nearest("ab", ["a", "b"])).toBeUndefined();
    expect(nearest("gendr", [])).toBeUndefined();
  });

  it("builds one hint: the suggestion, then the names as typed on a command line", () => {
    expect(unknownColumnHint("gendr", ["gender", "home town"])).toBe(
      'did you mean gender? the columns are: gender, "home town"',
    );
    expect(unknownColumnHint("hometown", ["gender", "home town"])).toBe(
      'did you mean "home town"? the columns are: gender, "home town"',
    );
    expect(unknownColumnHint("zzz", ["gender"], "the compared columns are")).toBe(
      "the compared columns are: gender",
    );
  });

  it("reads the missing column from DuckDB's binder error", () => {
    expect(missingColumn('Binder Error: Referenced column "user_agee" not found in FROM clause!')).toBe(
      "user_agee",
    );
    expect(missingColumn('Binder Error: Referenced column "a ""b""" not found in FROM clause!')).toBe(
      'a "b"',
    );
    expect(missingColumn("Conversion Error: Could not convert string 'x' to INT32")).toBeUndefined();
  });
});

describe("every option that names a column suggests the one meant", () => {
  it("--ignore and --categorical", async () => {
    const err = await withDb(async (db) =>
      failure(profileColumns(db, await source(db), { ignore: ["pirce"], categorical: ["Gender"] })),
    );
    expect(err.describe()).toBe(
      [
        "error: 2 problems in the input:",
        '  1. --categorical names column "Gender", which the --sql query does not have',
        '  2. --ignore names column "pirce", which the --sql query does not have',
        `  hint: (1) did you mean gender? the columns are: ${COLUMNS.join(", ")}`,
        `        (2) did you mean price? the columns are: ${COLUMNS.join(", ")}`,
      ].join("\n"),
    );
  });

  it("an entry of the --schema file", async () => {
    const schema = join(tmp.dir, "typo-schema.json");
    writeFileSync(schema, JSON.stringify({ columns: { user_agge: { kind: "numeric" } } }));
    const err = await withDb(async (db) =>
      failure(profileColumns(db, await source(db), { schemaFile: schema })),
    );
    expect(err.describe()).toBe(
      [
        'error: the schema file names column "user_agge", which the --sql query does not have',
        `  hint: did you mean user_age? the columns are: ${COLUMNS.join(", ")}`,
      ].join("\n"),
    );
  });

  it("--group", async () => {
    const problems = await withDb(async (db) => {
      const info = await source(db);
      return groupProblems([["gender", "paymentmethod"]], await profileColumns(db, info));
    });
    expect(problems.map((p) => [p.message, p.hint])).toEqual([
      [
        'group gender,paymentmethod names column "paymentmethod", which the table does not have',
        `did you mean payment_method? the columns are: ${COLUMNS.join(", ")}`,
      ],
    ]);
  });

  it("--where and --tilt, with the column as written in SQL", async () => {
    const [where, tilt] = await withDb(async (db) => {
      const info = await source(db);
      return [
        await failure(buildReference(db, info, { where: "user_agee > 30" })),
        await failure(buildReference(db, info, { tilts: [parseTilt("gendr = 'Male' => 2")] })),
      ];
    });
    expect(where?.message).toBe(
      '--where is not a valid condition over the real columns: Binder Error: Referenced column "user_agee" not found in FROM clause!',
    );
    expect(where?.hint).toMatch(/^did you mean user_age\? write it as the body of an SQL where clause/);
    expect(tilt?.hint).toMatch(/^did you mean gender\? write it as the body of an SQL where clause/);
  });

  it("eval --target", async () => {
    const err = await withDb(async (db) => {
      const info = await source(db);
      const profiles = await profileColumns(db, info);
      return failure(
        evaluateUtility(db, { real: info.view, synth: info.view, profiles, target: "paymnt_method" }),
      );
    });
    expect(err.describe()).toBe(
      [
        'error: --target names column "paymnt_method", which the real table does not have',
        `  hint: did you mean payment_method? the compared columns are: ${COLUMNS.join(", ")}`,
      ].join("\n"),
    );
  });

  it("--key of a two-table evaluation", async () => {
    const err = await withDb(async (db) => {
      const info = await source(db);
      return failure(checkKey(db, "user_ag", [{ table: info.view, label: "people.csv", flag: "--real" }]));
    });
    expect(err.describe()).toBe(
      [
        "error: the key column user_ag is not in people.csv (--real)",
        `  hint: did you mean user_age? --key names the column that links each child row to its parent row; people.csv has ${COLUMNS.join(", ")}`,
      ].join("\n"),
    );
  });
});
