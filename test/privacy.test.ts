import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { promptCommand } from "../src/cli/commands/prompt.ts";
import { synthesize } from "../src/pipeline.ts";
import { LlmPlanner } from "../src/planners/llm.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import { tempDir } from "./helpers.ts";
import {
  copulaReply,
  goodProposals,
  type RecordedRequest,
  type Step,
  startScriptedServer,
} from "./llm-server.ts";

/**
 * Prompts carry aggregates only: no value, cell or extreme held by fewer than --min-cell real rows may
 * reach one. The table below hides such values among common ones; every request the planner sends (and
 * what `synthor prompt` prints) is searched for them.
 */

const ROWS = 400;
const NAMES = ["Alice", "Bob", "Carol", "Dave"];
const CITIES = ["Paris", "Lyon", "Nice"];

/** The rare values: each held by 1 or 2 rows. */
const RARE = {
  name: "Zebulon Quixote",
  city: "Xanadu",
  id: "CUST-SECRET-7731",
  amountMax: "987654.321",
  amountMin: "-55555.5",
  joinedMin: "1901-02-03",
};

function table(): string {
  const lines = ["id,name,city,amount,joined,tier"];
  for (let i = 0; i < ROWS; i++) {
    let name = NAMES[i % 4] as string;
    let city = CITIES[(i * 7) % 3] as string;
    let amount = (100 + ((i * 37) % 500) + 0.25).toFixed(2);
    const day = new Date(Date.UTC(2023, 0, 1 + ((i * 13) % 300))).toISOString().slice(0, 10);
    let joined = day;
    let tier = i % 3 === 0 ? "gold" : "silver";
    let id = `CUST-${String(10000 + i)}`;
    if (i === 17) name = RARE.name;
    if (i === 40 || i === 41) city = RARE.city;
    if (i === 99) amount = RARE.amountMax;
    if (i === 123) amount = RARE.amountMin;
    if (i === 200) joined = RARE.joinedMin;
    if (i === 250 || i === 251) tier = "";
    if (i === 300) id = RARE.id;
    lines.push([id, name, city, amount, joined, tier].join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** Every rare value, as it could appear in a prompt. */
const FORBIDDEN = [RARE.name, "Zebulon", "Quixote", RARE.city, RARE.id, "CUST-", "987654", "55555", "1901"];

let tmp: ReturnType<typeof tempDir>;
let csv: string;
beforeAll(() => {
  tmp = tempDir();
  csv = join(tmp.dir, "people.csv");
  writeFileSync(csv, table());
});
afterAll(() => tmp.cleanup());

/** Runs `synthor prompt` in-process and returns what it printed. */
async function promptOutput(args: string[]): Promise<string> {
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  try {
    await promptCommand()
      .exitOverride()
      .parseAsync(["node", "prompt", csv, "--no-cache", ...args]);
  } finally {
    write.mockRestore();
  }
  return out;
}

describe("privacy: prompts carry no value rarer than --min-cell", () => {
  it("no request of a run holds a rare value, not even a repair prompt answering a rare value", async () => {
    const script = (r: RecordedRequest): Step => {
      if (r.kind === "copula") {
        return {
          reply: copulaReply([
            ["name", "city"],
            ["amount", "tier"],
          ]),
        };
      }
      if (r.index === 1) {
        // The model names the rare value itself: the repair prompt must not confirm it or suggest its spelling.
        const o = JSON.parse(goodProposals(r.body)) as Record<string, { proposal?: Record<string, unknown> }>;
        for (const v of Object.values(o)) if (v.proposal) v.proposal.name = "zebulon quixote";
        return { reply: JSON.stringify(o) };
      }
      return { reply: goodProposals(r.body) };
    };
    const server = await startScriptedServer({ script });
    const client = new OpenAiChatClient({ model: "m", baseURL: server.url, apiKey: "k", retryBaseMs: 10 });
    let planner: LlmPlanner | undefined;
    try {
      const result = await synthesize({
        source: { kind: "file", path: csv },
        threads: 2,
        rows: 120,
        iterations: 4,
        planner: (_db, summary) => {
          planner = new LlmPlanner(summary, { client, iterations: 4, rowsTarget: 120 });
          return planner;
        },
      });
      expect(result.rows).toBe(120);
      expect(server.requests.some((r) => r.kind === "repair")).toBe(true);
      for (const r of server.requests) {
        for (const word of FORBIDDEN) expect(r.raw, `request ${r.index} (${r.kind})`).not.toContain(word);
      }
      const repair = server.requests.find((r) => r.kind === "repair")?.body.messages[2]?.content ?? "";
      expect(repair).toContain(
        'column "name" has no category "zebulon quixote"; give one of "Alice", "Carol", "Dave", "Bob"',
      );
      // The prompts still say that something was pooled, and carry the common values.
      const first = server.requests[1]?.body.messages[0]?.content ?? "";
      expect(first).toContain("other (1 value with fewer than 5 rows each, not to be proposed)");
      expect(first).toContain('"Paris"');
    } finally {
      planner?.close();
      await server.close();
    }
  });

  it("synthor prompt shows no rare value, and shows them all with --min-cell 1", async () => {
    const text = await promptOutput([]);
    expect(text).toContain("===== p_copula");
    expect(text).toContain("===== p_proposal");
    for (const word of FORBIDDEN) expect(text).not.toContain(word);
    // Nor do the moments betray the outliers: they are those of the values clipped to the range shown.
    const amount = text.match(
      /amount \(numeric\): range \[([\d.]+), ([\d.]+)\] \(p\d\d to p\d\d; rarer extremes are not shown\), mean ([\d.]+), sd ([\d.]+) \(of the values clipped to the range\)/,
    );
    expect(amount).not.toBeNull();
    expect(Number(amount?.[3])).toBeGreaterThan(300);
    expect(Number(amount?.[3])).toBeLessThan(400);
    expect(Number(amount?.[4])).toBeLessThan(200);

    // The check above would catch a leak: with k = 1 the rare values are shown (identifiers never are).
    const open = await promptOutput(["--min-cell", "1"]);
    for (const word of [RARE.name, RARE.city, "987654", RARE.amountMin, RARE.joinedMin]) {
      expect(open).toContain(word);
    }
    expect(open).not.toContain("CUST-");
  });
});
