import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { promptCommand } from "../src/cli/commands/prompt.ts";
import { synthesize } from "../src/pipeline.ts";
import { ReplyCache } from "../src/planners/cache.ts";
import { LlmPlanner } from "../src/planners/llm.ts";
import { OpenAiChatClient } from "../src/planners/openai-client.ts";
import { COPULA_TEMPLATE, PROPOSAL_TEMPLATE_HEAD, PROPOSAL_TEMPLATE_TAIL } from "../src/planners/prompts.ts";
import { golden, tempDir } from "./helpers.ts";
import { ECOMMERCE_GROUPS, goodScript, startScriptedServer } from "./llm-server.ts";

/**
 * The prompts' exact text. The goldens under test/golden/prompts/ are what `synthor prompt` prints for
 * the e-commerce example; a change to a prompt shows up as a diff to review, and a missing golden fails.
 * Only UPDATE_GOLDEN=1 in the environment writes them. The paper's wording is pinned separately, line by
 * line, against Appendix E.
 */

const ECOMMERCE = "examples/ecommerce/ecommerce.csv";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

async function promptOutput(args: string[]): Promise<string> {
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  try {
    await promptCommand()
      .exitOverride()
      .parseAsync(["node", "prompt", ...args]);
  } finally {
    write.mockRestore();
  }
  return out;
}

/**
 * Compares with the golden file. Only UPDATE_GOLDEN=1 writes it: a missing golden fails like a changed
 * one, so a deleted or misnamed file is never silently recreated from the code's own output.
 */
function expectGolden(name: string, text: string): void {
  const path = golden(join("prompts", name));
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(golden("prompts"), { recursive: true });
    writeFileSync(path, text);
  }
  if (!existsSync(path)) {
    throw new Error(
      `the golden ${path} is missing; review the prompt, then write it with UPDATE_GOLDEN=1 npx vitest run test/prompts.test.ts`,
    );
  }
  expect(text).toBe(readFileSync(path, "utf8"));
}

const groupFlags = ECOMMERCE_GROUPS.flatMap((g) => ["--group", g.join(",")]);

describe("prompts", () => {
  it("p_copula for the e-commerce example", async () => {
    expectGolden("ecommerce.copula.txt", await promptOutput([ECOMMERCE, "--no-cache", "--which", "copula"]));
  });

  it("p_proposal of the first iteration, with a scenario and a column's meaning", async () => {
    const text = await promptOutput([
      ECOMMERCE,
      "--no-cache",
      "--which",
      "proposal",
      "--rows",
      "2000",
      ...groupFlags,
      "--scenario",
      "There will be a concert from 20-24 at Tokyo Dome",
      "--describe",
      'user_age="age of the buyer in years"',
    ]);
    expectGolden("ecommerce.proposal.txt", text);
    expect(text).toContain("Create no more than 5 proposals totaling 20 samples:");
    expect(text).toContain("**Scenario:** There will be a concert from 20-24 at Tokyo Dome");
    expect(text).toContain("meaning: age of the buyer in years");
  });

  it("keeps Appendix E's wording: every line of both prompts, in order", () => {
    const paperProposal = [
      "## Output Format:",
      "```json",
      "{",
      ' "n_proposals": n,',
      ' "proposal1": {',
      ' "reason": "...",',
      ' "proposal": "...",',
      ' "num": n1',
      " },",
      ' "proposal2": {',
      ' "reason": "...",',
      ' "proposal": "...",',
      ' "num": n2',
      " },",
      ' "...',
      "}",
      "```",
      "",
      "## Information:",
      "",
      "**Joint Guidance:**",
      "**Marginal Guidance:**",
      "**Variables:**",
      "---",
      "## Rules:",
      "Create no more than {n_proposals} proposals totaling {n_samples} samples:",
      "1. Each proposal must follow Joint and Marginal Guidance, do not improvise beyond the provided Guidance.",
      "2. The reason for each proposal should explain the realistic meaning of this proposal and how it follows the provided Guidance by referencing frequencies one by one.",
      "3. 'min', 'max', 'category' must use the actual values mentioned in **Variables**: Categorical variables must be a single valid candidate string (case-sensitive), and numerical variables must be a list of two integer or float numbers (e.g., [3.0, 5.1]).",
      "4. Do not include multiple ranges or categories per variable within a single proposal.",
      "5. Structure of generated data must match the **Output Format**, and all variables must be included.",
      "6. If a variable value has a high frequency, that value should be selected in multiple proposals.",
      '7. Most generated samples should, as much as possible, prioritize satisfying components that are common across the Guidances, and the "num" for each proposal should be determined based on the frequencies specified in the Guidance.',
      "8. Only list generation proposals; do not generate data or add extra text.",
      '9. Do not return an empty JSON. Do not use escaped characters such as \\r\\n, \\t, or \\". Do not include any comments, markdown formatting, or explanatory text.',
      "---",
      "Now return a pure, valid, and non-empty JSON in English that can be directly parsed by json.loads() in Python",
    ];
    expectLinesInOrder(`${PROPOSAL_TEMPLATE_HEAD}${PROPOSAL_TEMPLATE_TAIL}`, paperProposal);
    const paperCopula = [
      "## Information",
      "## Output Format:",
      "{",
      '  "1": ["var1", "var2", ...],',
      '  "2": ["var1", "var2", ...],',
      "  ...",
      "}",
      "### Example Output JSON:",
      "{",
      '  "1": ["Temperature", "Humidity"],',
      '  "2": ["Humidity", "WeatherCondition"],',
      "}",
      "---",
      "Your task is to extract at most {n_joints} correlated variable groups based on the",
      "Variables summaries and present them in JSON format.",
      "1. Ensure each group contains two or more variables.",
      "2. Format the correlated variable groups according to the Output Format.",
      "3. Output must be valid JSON.",
    ];
    expectLinesInOrder(COPULA_TEMPLATE, paperCopula);
  });

  it("prints exactly what a run sends (the first iteration's groups from the cached copula reply)", async () => {
    const cacheDir = join(tmp.dir, "cache");
    const server = await startScriptedServer({ script: goodScript() });
    const client = new OpenAiChatClient({ model: "scripted-model", baseURL: server.url, apiKey: "k" });
    let planner: LlmPlanner | undefined;
    try {
      await synthesize({
        source: { kind: "file", path: ECOMMERCE },
        threads: 2,
        rows: 300,
        iterations: 3,
        seed: 5,
        planner: (_db, summary) => {
          planner = new LlmPlanner(summary, {
            client,
            cache: new ReplyCache(cacheDir, "use"),
            seed: 5,
            iterations: 3,
            rowsTarget: 300,
            scenario: "a sale on furniture",
          });
          return planner;
        },
      });
    } finally {
      planner?.close();
      await server.close();
    }
    const args = [
      ECOMMERCE,
      "--model",
      "scripted-model",
      "--seed",
      "5",
      "--cache-dir",
      cacheDir,
      "--rows",
      "300",
    ];
    const both = await promptOutput([
      ...args,
      "--iterations",
      "3",
      "--scenario",
      "a sale on furniture",
      "--json",
    ]);
    const printed = JSON.parse(both) as { copula: string; proposal: string; groupsFrom: string };
    expect(printed.groupsFrom).toBe("the cached copula reply of scripted-model");
    expect(printed.copula).toBe(server.requests[0]?.body.messages[0]?.content);
    expect(printed.proposal).toBe(server.requests[1]?.body.messages[0]?.content);
  });
});

function expectLinesInOrder(text: string, lines: string[]): void {
  const have = text.split("\n");
  let at = 0;
  for (const line of lines) {
    const found = have.indexOf(line, at);
    expect(found, `line not found in order: ${line}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}
