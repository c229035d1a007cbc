/**
 * src/nested/summarize.ts: how the user's column kinds reach the two tables of nested data. A --schema
 * file (as --categorical, --numeric and --ignore) is split by the table that has each column.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { readNested } from "../src/nested/source.ts";
import { summarizeNested } from "../src/nested/summarize.ts";
import { fixture, linkedSource, tempDir } from "./helpers.ts";

const households = fixture("nested/households.csv");
const persons = fixture("nested/persons.csv");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function kinds(schema: unknown) {
  const file = join(tmp.dir, `schema-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(schema));
  const db = await Db.open(":memory:", { threads: 1 });
  try {
    const source = await readNested(db, linkedSource(households, persons));
    const s = await summarizeNested(db, source, { profile: { schemaFile: file } });
    const of = (ps: { name: string; kind: string }[]) => Object.fromEntries(ps.map((p) => [p.name, p.kind]));
    return { households: of(s.householdProfiles), members: of(s.memberProfiles) };
  } finally {
    db.close();
  }
}

describe("a --schema file on nested data", () => {
  it("gives each column its kind in the table that has it", async () => {
    const detected = await kinds({ columns: {} });
    expect(detected.households.income).toBe("categorical");
    expect(detected.members.age).toBe("categorical");
    const set = await kinds({
      columns: { income: { kind: "numeric" }, age: { kind: "numeric" }, emp: { kind: "ignored" } },
    });
    expect(set.households).toEqual({ ...detected.households, income: "numeric" });
    expect(set.members).toEqual({ ...detected.members, age: "numeric", emp: "ignored" });
  });

  it("names a column neither table has, with both tables' columns", async () => {
    await expect(kinds({ columns: { incme: { kind: "numeric" } } })).rejects.toThrow(
      'the schema file names column "incme", which neither table has',
    );
  });
});
