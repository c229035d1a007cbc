import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Db } from "../src/db/connection.ts";
import { profileColumns } from "../src/profile.ts";
import {
  acceptProposals,
  normalizeProposal,
  Proposal,
  type ProposalValue,
  validateProposal,
} from "../src/proposals.ts";
import { readSource } from "../src/source.ts";
import { type Summary, summarizeTable } from "../src/summarize.ts";

// 200 rows. color: Red 100, Green 60, Blue 40, never NULL; tag: a 100, b 50, NULL 50; price: 0.5 ... 99.5;
// qty: whole numbers 0 ... 49; weight: 0.5 ... 99.5 with 40 NULLs; day: 60 dates from 2024-01-01.
const TABLE = `
select
    case when range < 100 then 'Red' when range < 160 then 'Green' else 'Blue' end as color,
    case range % 4 when 0 then null when 1 then 'b' else 'a' end as tag,
    (range * 7 % 100)::double + 0.5 as price,
    (range % 50)::integer as qty,
    case when range % 5 = 0 then null else range * 0.5 end::double as weight,
    date '2024-01-01' + (range % 60)::integer as day
from range(200)`;
const DAY_MIN = Date.UTC(2024, 0, 1) / 1000;
const DAY_MAX = Date.UTC(2024, 1, 29) / 1000;

let db: Db;
let summary: Summary;
beforeAll(async () => {
  db = await Db.open(":memory:", { threads: 2 });
  const source = await readSource(db, { kind: "sql", sql: TABLE });
  summary = await summarizeTable(db, source, await profileColumns(db, source, {}));
});
afterAll(() => db?.close());

/** A proposal that passes: one value for every column. */
function valid(overrides: Record<string, ProposalValue> = {}, num = 5): Proposal {
  return {
    reason: "fills the deficit of color = Red",
    proposal: {
      color: "Red",
      tag: "a",
      price: [10, 20],
      qty: [8, 16],
      weight: [1, 50],
      day: [DAY_MIN, DAY_MAX],
      ...overrides,
    },
    num,
  };
}

/** The problems validateProposal finds in a proposal that passes the zod shape. */
function problems(p: unknown): string[] {
  return validateProposal(Proposal.parse(p), summary);
}

/** What acceptProposals keeps of raw proposals, and the notes it records. */
function accept(raw: unknown[], maxRows = 1000) {
  const notes: string[] = [];
  const kept = acceptProposals(raw, summary, maxRows, notes);
  return { kept, notes };
}

describe("the summary the proposals are checked against", () => {
  it("has the kinds, categories and ranges the tests assume", () => {
    expect(summary.columns.map((c) => [c.name, c.kind, c.nulls])).toEqual([
      ["color", "categorical", 0],
      ["tag", "categorical", 50],
      ["price", "numeric", 0],
      ["qty", "numeric", 0],
      ["weight", "numeric", 40],
      ["day", "datetime", 0],
    ]);
    const byName = new Map(summary.columns.map((c) => [c.name, c]));
    expect(byName.get("color")?.categories?.map((c) => c.value)).toEqual(["Red", "Green", "Blue"]);
    expect(byName.get("tag")?.categories?.map((c) => c.value)).toEqual(["a", "b", null]);
    expect([byName.get("price")?.summary?.min, byName.get("price")?.summary?.max]).toEqual([0.5, 99.5]);
    expect([byName.get("day")?.summary?.min, byName.get("day")?.summary?.max]).toEqual([DAY_MIN, DAY_MAX]);
  });
});

describe("validateProposal", () => {
  it("accepts a proposal with a category or a range for every column", () => {
    expect(problems(valid())).toEqual([]);
  });

  it("accepts a point range, a range that reaches past the real ones, and the reason left out", () => {
    expect(problems(valid({ price: [42.5, 42.5], qty: [-100, 3], weight: [90, 1e6] }))).toEqual([]);
    expect(problems({ proposal: valid().proposal, num: 1 })).toEqual([]);
  });

  it("rejects a column the real table does not have, naming the columns", () => {
    expect(problems(valid({ colour: "Red" }))).toEqual([
      'unknown column "colour"; the columns are: color, tag, price, qty, weight, day',
    ]);
  });

  it("rejects a proposal that leaves a column out, saying what it takes (NULL where the column has NULLs)", () => {
    const { tag: _tag, weight: _weight, ...rest } = valid().proposal;
    expect(problems({ ...valid(), proposal: rest })).toEqual([
      'column "tag" is missing; give it "a", "b" or null',
      'column "weight" is missing; give it [0.5, 99.5] or null',
    ]);
  });

  it("rejects a category the real column does not have", () => {
    expect(problems(valid({ color: "Purple" }))).toEqual([
      'column "color" has no category "Purple"; give one of "Red", "Green", "Blue"',
    ]);
  });

  it("matches categories case-sensitively and points at the intended one", () => {
    expect(problems(valid({ color: "red" }))).toEqual([
      'column "color" has no category "red" (categories are case-sensitive: did you mean "Red"?); give one of "Red", "Green", "Blue"',
    ]);
  });

  it("allows NULL only in columns that have NULLs in the real data", () => {
    expect(problems(valid({ tag: null, weight: null }))).toEqual([]);
    expect(problems(valid({ color: null, price: null }))).toEqual([
      'column "color" is never NULL in the real data; give it "Red", "Green", "Blue"',
      'column "price" is never NULL in the real data; give it [0.5, 99.5]',
    ]);
  });

  it("rejects a range for a categorical column and a category for a numeric one", () => {
    expect(problems(valid({ color: [1, 2], price: "cheap" }))).toEqual([
      'column "color" is categorical; give one category: "Red", "Green", "Blue"',
      'column "price" is numeric; give a range [lo, hi] within [0.5, 99.5]',
    ]);
  });

  it("calls a datetime column a date, with its range as dates", () => {
    expect(problems(valid({ day: "2024-01-15" }))).toEqual([
      'column "day" is a date; give a range [lo, hi] within [2024-01-01, 2024-02-29]',
    ]);
  });

  it("rejects a reversed range, giving it the right way round", () => {
    expect(problems(valid({ price: [20, 10] }))).toEqual([
      'column "price": range [20, 10] is reversed; write it as [10, 20]',
    ]);
  });

  it("rejects a range wholly outside the real values, above or below", () => {
    expect(problems(valid({ price: [200, 300], qty: [-5, -1] }))).toEqual([
      'column "price": range [200, 300] lies outside the real values; give a range within [0.5, 99.5]',
      'column "qty": range [-5, -1] lies outside the real values; give a range within [0, 49]',
    ]);
    // Touching the real range at one end is inside it.
    expect(problems(valid({ price: [99.5, 300], qty: [-5, 0] }))).toEqual([]);
  });

  it("rejects a range with a bound that is not a finite number", () => {
    const p = valid();
    p.proposal.price = [Number.NEGATIVE_INFINITY, 20];
    expect(validateProposal(p, summary)).toEqual(['column "price": range bounds must be finite numbers']);
  });

  it.each([0, -3, 2.5])("rejects num %s: not a positive whole number", (num) => {
    expect(problems(valid({}, num))).toEqual([`num must be a positive whole number of rows, not ${num}`]);
  });

  it("reports every problem of a proposal at once", () => {
    expect(problems(valid({ color: "red", price: [20, 10], tag: "c" }, 0))).toEqual([
      'column "color" has no category "red" (categories are case-sensitive: did you mean "Red"?); give one of "Red", "Green", "Blue"',
      'column "tag" has no category "c"; give one of "a", "b"',
      'column "price": range [20, 10] is reversed; write it as [10, 20]',
      "num must be a positive whole number of rows, not 0",
    ]);
  });
});

describe("the proposal shape (zod), as acceptProposals reports it", () => {
  // acceptProposals prefixes each message with the proposal's number and the path zod reports.
  it.each<[string, unknown, string]>([
    [
      "a bare number as a value",
      { ...valid(), proposal: { ...valid().proposal, qty: 3 } },
      'proposal.qty: 3 is not a value: give a category as text ("3"), a range [3, 3], or null',
    ],
    [
      "a boolean as a value",
      { ...valid(), proposal: { ...valid().proposal, tag: true } },
      'proposal.tag: true is not a value: give a category as text ("true"), or null',
    ],
    [
      "a range of three numbers",
      { ...valid(), proposal: { ...valid().proposal, price: [1, 2, 3] } },
      "proposal.price: a range is two numbers [lo, hi], not [1,2,3]",
    ],
    [
      "a range with a bound as text",
      { ...valid(), proposal: { ...valid().proposal, price: [1, "2"] } },
      'proposal.price: a range is two numbers [lo, hi], not [1,"2"]',
    ],
    [
      "an object as a value",
      { ...valid(), proposal: { ...valid().proposal, price: { lo: 1, hi: 2 } } },
      'proposal.price: give a category as text, a range [lo, hi] or null, not {"lo":1,"hi":2}',
    ],
    ["num as text", { ...valid(), num: "3" }, 'num: num must be a positive whole number of rows, not "3"'],
    [
      "num missing",
      { reason: "", proposal: valid().proposal },
      "num: num is missing: give the number of rows to draw, a positive whole number",
    ],
    [
      "proposal as a list",
      { reason: "", proposal: ["Red"], num: 2 },
      'proposal: "proposal" must be an object with a value for every column, not ["Red"]',
    ],
  ])("rejects %s", (_what, raw, message) => {
    const { kept, notes } = accept([raw]);
    expect(kept).toEqual([]);
    expect(notes).toEqual([`proposal 1 dropped: ${message}`]);
  });

  it("rejects keys a proposal does not have and things that are not proposals", () => {
    const { notes } = accept([{ ...valid(), extra: 1, why: "x" }, "garbage"]);
    // The ": " after "dropped" is keepValid's (proposals.ts) formatting of an issue with an empty path.
    expect(notes).toEqual([
      'proposal 1 dropped: unknown keys "extra", "why"; a proposal has "reason", "proposal" and "num"',
      'proposal 2 dropped: a proposal is an object {"reason": ..., "proposal": {...}, "num": ...}, not "garbage"',
    ]);
  });
});

describe("acceptProposals", () => {
  it("keeps valid proposals in order, numbering the dropped ones as the planner sent them", () => {
    const a = valid({ color: "Green" }, 3);
    const b = valid({ color: "Blue" }, 4);
    const { kept, notes } = accept([a, valid({ color: "Purple" }), b, valid({}, 0)]);
    expect(kept.map((p) => [p.values.color, p.num])).toEqual([
      ["Green", 3],
      ["Blue", 4],
    ]);
    expect(notes).toEqual([
      'proposal 2 dropped: column "color" has no category "Purple"; give one of "Red", "Green", "Blue"',
      "proposal 4 dropped: num must be a positive whole number of rows, not 0",
    ]);
  });

  it("returns the values in the summary's column order, with the reason (empty when left out)", () => {
    const { kept } = accept([{ num: 2, proposal: { ...valid().proposal } }, valid()]);
    expect(kept[0]).toEqual({
      reason: "",
      values: {
        color: "Red",
        tag: "a",
        price: [10, 20],
        qty: [8, 16],
        weight: [1, 50],
        day: [DAY_MIN, DAY_MAX],
      },
      num: 2,
    });
    expect(kept[1]?.reason).toBe("fills the deficit of color = Red");
  });

  it("clips ranges to the real range and leaves categories and NULLs as they are", () => {
    const { kept } = accept([
      valid({ tag: null, price: [-10, 20], qty: [40, 1000], weight: null, day: [0, 2e9] }),
    ]);
    expect(kept[0]?.values).toEqual({
      color: "Red",
      tag: null,
      price: [0.5, 20],
      qty: [40, 49],
      weight: null,
      day: [DAY_MIN, DAY_MAX],
    });
  });

  it("trims nums so a batch never exceeds the rows asked for, and stops there", () => {
    const raw = [valid({}, 5), valid({}, 5), valid({}, 5), valid({}, 5)];
    const { kept, notes } = accept(raw, 12);
    expect(kept.map((p) => p.num)).toEqual([5, 5, 2]);
    expect(notes).toEqual([]);
    expect(accept(raw, 5).kept.map((p) => p.num)).toEqual([5]);
    expect(accept(raw, 100).kept.map((p) => p.num)).toEqual([5, 5, 5, 5]);
  });

  it("does not count dropped proposals towards the rows asked for", () => {
    const { kept } = accept([valid({ color: "Purple" }, 8), valid({}, 6), valid({}, 6)], 10);
    expect(kept.map((p) => p.num)).toEqual([6, 4]);
  });

  it("returns nothing for an empty plan or when no rows are asked for", () => {
    expect(accept([]).kept).toEqual([]);
    expect(accept([valid()], 0).kept).toEqual([]);
  });
});

describe("normalizeProposal", () => {
  it("clips each bound to the real minimum and maximum, and keeps num and reason", () => {
    const p = Proposal.parse(valid({ price: [-1, 1000], qty: [3, 7] }, 9));
    const n = normalizeProposal(p, summary);
    expect(n.values.price).toEqual([0.5, 99.5]);
    expect(n.values.qty).toEqual([3, 7]);
    expect([n.num, n.reason]).toEqual([9, p.reason]);
  });

  it("turns a range that touches the real range at one end into that point", () => {
    const n = normalizeProposal(Proposal.parse(valid({ price: [99.5, 300] })), summary);
    expect(n.values.price).toEqual([99.5, 99.5]);
  });
});
