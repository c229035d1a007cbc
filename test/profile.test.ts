import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/connection.ts";
import { InputProblems, SynthorError } from "../src/errors.ts";
import { type ColumnProfile, type ProfileOptions, profileColumns, splitColumnList } from "../src/profile.ts";
import { readSchemaFile } from "../src/schema.ts";
import { readSource } from "../src/source.ts";
import { tempDir, withDb } from "./helpers.ts";

// 50 rows, one column per case of kind detection; `range` is the row number 0..49.
const TABLE = `
select
    range % 2 = 0 as flag,
    (range % 5)::integer as small_int,
    (range % 20)::integer as twenty,
    (range % 21)::integer as twenty_one,
    (range * 3 % 37)::double as whole_double,
    range * 1.5 + 0.25 as price,
    date '2024-01-01' + range::integer as day,
    timestamp '2024-01-01 08:00:00' + to_minutes(range * 7) as seen_at,
    'user-' || range as code,
    ['Paris', 'Rome', 'Oslo'][range % 3 + 1] as city,
    range + 1000 as id,
    range * 1000 as sparse_id,
    'x' as always_x,
    case when range % 2 = 0 then null else (range % 3)::integer end as half_null,
    case when range < 10 then null else 7 end as seven_or_null,
    uuid() as token,
    time '12:00:00' + to_seconds(range) as clock
from range(50)`;

async function profileOf(db: Db, options: ProfileOptions = {}, sql = TABLE): Promise<ColumnProfile[]> {
  const source = await readSource(db, { kind: "sql", sql });
  return profileColumns(db, source, options);
}

async function failure(promise: Promise<unknown>): Promise<SynthorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SynthorError)) throw new Error(`expected a SynthorError, got ${String(err)}`);
  return err;
}

let tmp: ReturnType<typeof tempDir>;
const schema = (name: string, content: unknown): string => {
  const path = join(tmp.dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
};
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("kind detection", () => {
  it("classifies every column by its type and statistics", async () => {
    const profiles = await withDb((db) => profileOf(db));
    const seen = profiles.map((p) => ({
      name: p.name,
      kind: p.kind,
      reason: p.reason,
      integral: p.integral,
      distinct: p.distinct,
      nullShare: p.nullShare,
    }));
    expect(seen).toEqual([
      { name: "flag", kind: "categorical", reason: "boolean", integral: false, distinct: 2, nullShare: 0 },
      {
        name: "small_int",
        kind: "categorical",
        reason: "5 distinct values (at most 20)",
        integral: true,
        distinct: 5,
        nullShare: 0,
      },
      {
        name: "twenty",
        kind: "categorical",
        reason: "20 distinct values (at most 20)",
        integral: true,
        distinct: 20,
        nullShare: 0,
      },
      { name: "twenty_one", kind: "numeric", reason: "integer", integral: true, distinct: 21, nullShare: 0 },
      { name: "whole_double", kind: "numeric", reason: "number", integral: true, distinct: 37, nullShare: 0 },
      { name: "price", kind: "numeric", reason: "number", integral: false, distinct: 50, nullShare: 0 },
      { name: "day", kind: "datetime", reason: "date", integral: false, distinct: 50, nullShare: 0 },
      { name: "seen_at", kind: "datetime", reason: "timestamp", integral: false, distinct: 50, nullShare: 0 },
      {
        name: "code",
        kind: "identifier",
        reason: "text, 50 distinct in 50 values (nearly unique)",
        integral: false,
        distinct: 50,
        nullShare: 0,
      },
      {
        name: "city",
        kind: "categorical",
        reason: "text, 3 distinct values",
        integral: false,
        distinct: 3,
        nullShare: 0,
      },
      {
        name: "id",
        kind: "identifier",
        reason: "unique integers in a dense range (a key)",
        integral: true,
        distinct: 50,
        nullShare: 0,
      },
      { name: "sparse_id", kind: "numeric", reason: "integer", integral: true, distinct: 50, nullShare: 0 },
      {
        name: "always_x",
        kind: "constant",
        reason: "one value in every row",
        integral: false,
        distinct: 1,
        nullShare: 0,
      },
      {
        name: "half_null",
        kind: "categorical",
        reason: "3 distinct values (at most 20)",
        integral: true,
        distinct: 3,
        nullShare: 0.5,
      },
      {
        name: "seven_or_null",
        kind: "categorical",
        reason: "1 distinct value (at most 20)",
        integral: true,
        distinct: 1,
        nullShare: 0.2,
      },
      {
        name: "token",
        kind: "identifier",
        reason: "UUID as its text, 50 distinct in 50 values (nearly unique)",
        integral: false,
        distinct: 50,
        nullShare: 0,
      },
      // TIME is a number of seconds since midnight, no longer left out silently.
      {
        name: "clock",
        kind: "numeric",
        reason: "time of day, in seconds",
        integral: true,
        distinct: 50,
        nullShare: 0,
      },
    ]);
    const day = profiles.find((p) => p.name === "day");
    expect(day).toMatchObject({ sqlType: "DATE", min: "2024-01-01", max: "2024-02-19", rows: 50, nulls: 0 });
    expect(profiles.find((p) => p.name === "half_null")).toMatchObject({ rows: 50, nulls: 25 });
    expect(profiles.map((p) => p.index)).toEqual(profiles.map((_, i) => i));
  });

  it("--max-categories moves the line between categorical and numeric", async () => {
    const profiles = await withDb((db) => profileOf(db, { maxCategories: 4 }));
    const kind = (name: string) => profiles.find((p) => p.name === name)?.kind;
    expect([kind("small_int"), kind("twenty"), kind("half_null"), kind("flag")]).toEqual([
      "numeric",
      "numeric",
      "categorical",
      "categorical",
    ]);
  });

  it("text that looks like whole numbers is not integral", async () => {
    const [p] = await withDb((db) => profileOf(db, {}, "select (range % 3)::varchar as v from range(9)"));
    expect(p).toMatchObject({ kind: "categorical", integral: false });
  });
});

describe("overrides", () => {
  it("by flags: --categorical, --numeric and --ignore, with the flag as the reason", async () => {
    const profiles = await withDb((db) =>
      profileOf(db, { categorical: ["twenty_one,price"], numeric: ["small_int"], ignore: ["city", "code"] }),
    );
    const of = (name: string) => profiles.find((p) => p.name === name);
    expect(of("twenty_one")).toMatchObject({ kind: "categorical", reason: "set by --categorical" });
    expect(of("price")).toMatchObject({ kind: "categorical", reason: "set by --categorical" });
    expect(of("small_int")).toMatchObject({ kind: "numeric", reason: "set by --numeric", integral: true });
    expect(of("city")).toMatchObject({ kind: "ignored", reason: "set by --ignore" });
    expect(of("code")).toMatchObject({ kind: "ignored", reason: "set by --ignore" });
  });

  it("by schema file: kinds, descriptions and maxCategories; flags win over the file", async () => {
    const path = schema("good.json", {
      maxCategories: 4,
      columns: {
        twenty_one: { kind: "categorical", description: "shift number" },
        price: { kind: "ignored" },
        city: { description: "city of residence" },
      },
    });
    const profiles = await withDb((db) =>
      profileOf(db, { schemaFile: path, numeric: ["price"], describe: { day: "day of signup" } }),
    );
    const of = (name: string) => profiles.find((p) => p.name === name);
    expect(of("twenty_one")).toMatchObject({
      kind: "categorical",
      reason: "set by the schema file",
      description: "shift number",
    });
    expect(of("price")).toMatchObject({ kind: "numeric", reason: "set by --numeric" });
    expect(of("city")).toMatchObject({ kind: "categorical", description: "city of residence" });
    expect(of("day")).toMatchObject({ kind: "datetime", description: "day of signup" });
    // maxCategories 4 from the file: five distinct values are numeric.
    expect(of("small_int")).toMatchObject({ kind: "numeric", reason: "integer" });
    // An explicit maxCategories beats the file's.
    const wide = await withDb((db) => profileOf(db, { schemaFile: path, maxCategories: 20 }));
    expect(wide.find((p) => p.name === "small_int")?.kind).toBe("categorical");
  });

  it("a column whose name holds commas is given whole or inside a list", () => {
    const known = new Set(["a,b", "c", "two words"]);
    expect(splitColumnList("a,b", known)).toEqual(["a,b"]);
    expect(splitColumnList("a,b,c", known)).toEqual(["a,b", "c"]);
    expect(splitColumnList("c, two words ,a,b", known)).toEqual(["c", "two words", "a,b"]);
    expect(splitColumnList("x,,y", known)).toEqual(["x", "y"]);
  });
});

describe("problems are reported together, each with its fix", () => {
  it("two unknown columns in --ignore: one error listing both", async () => {
    const err = await withDb((db) =>
      failure(
        profileOf(
          db,
          { ignore: ["citty,nope"] },
          "select range % 3 as city, null::varchar as empty, range as n from range(30)",
        ),
      ),
    );
    expect(err).toBeInstanceOf(InputProblems);
    expect(err.code).toBe("INPUT_INVALID");
    expect(err.describe()).toBe(
      [
        "error: 2 problems in the input:",
        '  1. --ignore names column "citty", which the --sql query does not have',
        '  2. --ignore names column "nope", which the --sql query does not have',
        "  hint: (1) did you mean city? the columns are: city, empty, n",
        "        (2) the columns are: city, empty, n",
      ].join("\n"),
    );
  });

  it("an all-NULL column is a constant (NULL is a value like any other); --ignore leaves it out", async () => {
    const sql = 'select range % 3 as a, null::integer as "unit price" from range(10)';
    const profiles = await withDb((db) => profileOf(db, {}, sql));
    expect(profiles.map((p) => [p.kind, p.reason, p.min])).toEqual([
      ["categorical", "3 distinct values (at most 20)", "0"],
      ["constant", "NULL in every row", null],
    ]);
    const ignored = await withDb((db) => profileOf(db, { ignore: ["unit price"] }, sql));
    expect(ignored.map((p) => p.kind)).toEqual(["categorical", "ignored"]);
  });

  it("kinds that do not fit the type, and one column in two flags", async () => {
    const path = schema("when.json", { columns: { city: { kind: "datetime" } } });
    const err = await withDb((db) =>
      failure(
        profileOf(db, { schemaFile: path, numeric: ["code"], categorical: ["price"], ignore: ["price"] }),
      ),
    );
    expect(err.describe()).toBe(
      [
        "error: 3 problems in the input:",
        '  1. column "price" is given to both --categorical and --ignore',
        '  2. column "code" is VARCHAR and cannot be treated as numeric (--numeric)',
        '  3. column "city" is VARCHAR and cannot be treated as datetime (the schema file)',
        "  hint: (1) keep it in one of them: --categorical price or --ignore price",
        '        (2) cast it with --sql "select *, try_cast(... as double) ..." or drop it from --numeric',
        '        (3) cast it with --sql "select *, try_cast(... as timestamp) ..." or drop it from the schema file',
      ].join("\n"),
    );
  });

  it("unknown columns in the schema file and --describe", async () => {
    const path = schema("unknown.json", { columns: { Price: { kind: "numeric" } } });
    const err = await withDb((db) =>
      failure(
        profileOf(
          db,
          { schemaFile: path, describe: { wat: "?" } },
          "select range % 4 as price from range(9)",
        ),
      ),
    );
    expect(err.describe()).toBe(
      [
        "error: 2 problems in the input:",
        '  1. the schema file names column "Price", which the --sql query does not have',
        '  2. --describe names column "wat", which the --sql query does not have',
        "  hint: (1) did you mean price? the columns are: price",
        "        (2) the columns are: price",
      ].join("\n"),
    );
  });

  it("no column left to model", async () => {
    const sql = "select range as id, 'x' as k from range(30)";
    const err = await withDb((db) => failure(profileOf(db, {}, sql)));
    expect(err.describe()).toBe(
      "error: no column of the --sql query can be modelled: id is identifier, k is constant\n" +
        "  hint: see why with `synthor profile`; to model a column anyway, override its kind, e.g. --categorical id",
    );
    // `synthor profile` asks for the profile anyway, to show why.
    const profiles = await withDb((db) => profileOf(db, { requireModelled: false }, sql));
    expect(profiles.map((p) => p.kind)).toEqual(["identifier", "constant"]);
  });
});

describe("schema file validation", () => {
  const hint =
    '  hint: the file holds "maxCategories" (optional) and "columns"; each column takes ' +
    '{"kind": "categorical" | "numeric" | "datetime" | "identifier" | "ignored", "description": "..."}';
  const jsonHint =
    '  hint: write it as JSON, e.g. {"columns": {"age": {"kind": "numeric", "description": "age in years"}}}';
  const describeError = (path: string): string => {
    try {
      readSchemaFile(path);
    } catch (e) {
      expect((e as SynthorError).code).toBe("SCHEMA_INVALID");
      return (e as SynthorError).describe();
    }
    throw new Error(`${path} was accepted`);
  };

  it("bad JSON: where it broke, and the usual cause", () => {
    const path = schema("comma.json", '{\n  "columns": {\n    "age": {"kind": "numeric",}\n  }\n}\n');
    expect(describeError(path)).toBe(
      `error: schema file ${path} is not valid JSON: Expected double-quoted property name at line 3, column 31 (a comma after the last entry?)\n${jsonHint}`,
    );
    const empty = schema("empty.json", "");
    expect(describeError(empty)).toBe(
      `error: schema file ${empty} is not valid JSON: the file is empty\n${jsonHint}`,
    );
  });

  it("an unknown kind", () => {
    const path = schema("kind.json", { columns: { age: { kind: "number" } } });
    expect(describeError(path)).toBe(
      `error: schema file ${path} is not valid: columns.age.kind: "number" is not one of "categorical", "numeric", "datetime", "identifier", "ignored"\n${hint}`,
    );
  });

  it("an unknown key", () => {
    const path = schema("key.json", { columns: { age: { kind: "numeric", type: "int" } } });
    expect(describeError(path)).toBe(
      `error: schema file ${path} is not valid: columns.age: unknown key "type"\n${hint}`,
    );
  });

  it("every problem in the file at once", () => {
    const path = schema("many.json", {
      maxCategories: 0,
      colums: {},
      columns: { age: "numeric", city: { description: 3 } },
    });
    expect(describeError(path)).toBe(
      [
        `error: schema file ${path} has 4 problems:`,
        "  1. maxCategories: must be at least 1, got 0",
        '  2. columns.age: expected an object, got "numeric"',
        "  3. columns.city.description: expected text, got 3",
        '  4. the top level: unknown key "colums"',
        hint,
      ].join("\n"),
    );
  });

  it("a missing file", () => {
    const path = join(tmp.dir, "missing.json");
    expect(describeError(path)).toBe(
      `error: schema file not found: ${path}\n  hint: check the --schema path (it is relative to the current directory)`,
    );
  });

  it("is checked before the data is profiled", async () => {
    const path = schema("kind2.json", { columns: { age: { kind: "number" } } });
    const err = await withDb((db) => failure(profileOf(db, { schemaFile: path })));
    expect(err.code).toBe("SCHEMA_INVALID");
  });
});
