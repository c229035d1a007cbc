/**
 * Pooling rare compositions (src/nested/summarize.ts): a rare list goes to the first class of its chain
 * (the values present, then without the most frequent one, ...) that enough real households take, else
 * "other"; the same mapping on a synthetic table; and what a class tells the member draws (classTargets).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { classOf, classTargets } from "../src/nested/planners/stats.ts";
import { type Composition, keepFrequentCompositions, poolCompositions } from "../src/nested/summarize.ts";

// "1" is the most frequent member value, then "2", "3", "4".
const composition: Composition = { name: "#A", column: "A", order: ["1", "2", "3", "4"] };

let db: Db;

/** Ten real households (so at least 2 make a kept list or class) and their compositions in A. */
const real = [
  '["1","1"]',
  '["1","1"]',
  '["1","1"]', // a frequent list: kept as it is
  '["1","2","3"]',
  '["1","1","2","3"]', // rare lists, the same values present: class has:["1","2","3"]
  '["1","3","3"]', // values {1,3}: alone, so its chain goes on to {3}
  '["3"]', // with the one above: class has:["3"]
  '["4"]', // alone all along its chain: other
  '["1","1"]',
  '["1","1"]',
];

async function pooled(table: string, values: string[]): Promise<string[]> {
  await db.exec(`create or replace table ${table} (id integer, "#A" varchar)`);
  for (const [i, v] of values.entries()) {
    await db.exec(`insert into ${table} values (${i}, $v)`, "fixture", { v });
  }
  await poolCompositions(db, table, [composition]);
  const rows = await db.all<{ a: string }>(`select "#A" as a from ${table} order by id`);
  return rows.map((r) => r.a);
}

beforeAll(async () => {
  db = await Db.open(":memory:", { threads: 1 });
  await db.exec(`create table synthor_nested_real_aug (id integer, "#A" varchar)`);
  for (const [i, v] of real.entries()) {
    await db.exec("insert into synthor_nested_real_aug values ($i, $v)", "fixture", { i, v });
  }
  await keepFrequentCompositions(db, [composition], real.length);
});

afterAll(() => db?.close());

describe("pooling rare compositions", () => {
  it("keeps frequent lists and the classes enough rare households take", async () => {
    const kept = await db.all<{ value: string }>(
      `select value from synthor_nested_compositions where "column" = 'A' order by value`,
    );
    expect(kept.map((r) => r.value)).toEqual(['["1","1"]', 'has:["1","2","3"]', 'has:["3"]']);
  });

  it("pools the real lists into those classes, the rest into other", async () => {
    expect(await pooled("real_copy", real)).toEqual([
      '["1","1"]',
      '["1","1"]',
      '["1","1"]',
      'has:["1","2","3"]',
      'has:["1","2","3"]',
      'has:["3"]',
      'has:["3"]',
      "other",
      '["1","1"]',
      '["1","1"]',
    ]);
  });

  it("maps synthetic lists the same way, lists no real household has included", async () => {
    expect(
      await pooled("synth", [
        '["1","1"]',
        '["1","1","3"]',
        '["2","3"]',
        '["1","2","3","3"]',
        '["4","4"]',
        '["1"]',
      ]),
    ).toEqual(['["1","1"]', 'has:["3"]', 'has:["3"]', 'has:["1","2","3"]', "other", "other"]);
  });
});

describe("classTargets", () => {
  it("asks for one member or more of each value listed, none of the rarer ones left out", () => {
    const t = classTargets(composition, 'has:["3"]');
    expect(t.get("3")).toEqual({ min: 1, max: Number.POSITIVE_INFINITY });
    expect(t.get("4")).toEqual({ min: 0, max: 0 });
    // More frequent than "3": the chain may have given them up, so they are free.
    expect(t.has("1")).toBe(false);
    expect(t.has("2")).toBe(false);
  });

  it("leaves nothing free when the most frequent value is listed", () => {
    const t = classTargets(composition, 'has:["1","3"]');
    expect(t.get("1")?.min).toBe(1);
    expect(t.get("2")).toEqual({ min: 0, max: 0 });
    expect(t.get("4")).toEqual({ min: 0, max: 0 });
  });
});

describe("classOf", () => {
  it("gives the member draws' lists the class poolCompositions gives them", async () => {
    const lists = ['["1","1"]', '["1","1","3"]', '["2","3"]', '["1","2","3","3"]', '["4","4"]', '["1"]'];
    const rows = await db.all<{ value: string }>(
      `select value from synthor_nested_compositions where "column" = 'A'`,
    );
    const kept = new Set(rows.map((r) => r.value));
    const shuffled = lists.map((l) => (JSON.parse(l) as string[]).reverse());
    expect(shuffled.map((codes) => classOf(composition, codes, kept))).toEqual(await pooled("again", lists));
  });
});
