/**
 * What `synthor prompt` shows: the prompts an LLM run would send first (p_copula, and p_proposal of
 * iteration 1 on an empty synthetic table), built the way the run builds them, without calling anyone.
 */
import type { Db } from "../db/connection.ts";
import { computeDiscrepancy, gapTable, subBinGaps } from "../discrepancy.ts";
import { SynthorError } from "../errors.ts";
import { inferGroups } from "../groups.ts";
import { chooseGroups } from "../loop.ts";
import { createSyntheticModel } from "../sample.ts";
import { addGroups, type Summary } from "../summarize.ts";
import { ReplyCache } from "./cache.ts";
import { type ChatClient, LlmPlanner } from "./llm.ts";

export interface PromptPreview {
  copula: string;
  proposal: string;
  /** Rows iteration 1 asks for (--rows over --iterations, as an even schedule's first batch). */
  rows: number;
  /** The groups iteration 1 grounds, and where they came from. */
  groups: string[][];
  groupsFrom: string;
}

/**
 * The first prompts of a run with these options. The groups are `given` (--group), else the copula
 * step's reply when the reply cache (`cacheDir`) holds it for these options, else the statistical groups
 * standing in for it (`groupsFrom` says which).
 */
export async function previewPrompts(
  db: Db,
  summary: Summary,
  o: {
    model: string;
    cacheDir: string;
    cache: boolean;
    temperature: number;
    minCell: number;
    groups: number;
    seed: number;
    proposals?: number | undefined;
    scenario?: string | undefined;
    given: string[][];
    rows: number;
    iterations: number;
  },
): Promise<PromptPreview> {
  const planner = new LlmPlanner(summary, {
    client: noCalls(o.model),
    cache: new ReplyCache(o.cacheDir, o.cache ? "replay" : "off"),
    temperature: o.temperature,
    minCell: o.minCell,
    maxGroups: o.groups,
    seed: o.seed,
    ...(o.proposals ? { proposals: o.proposals } : {}),
    ...(o.scenario ? { scenario: o.scenario } : {}),
  });
  const copula = planner.copulaPromptText();
  let groups = o.given;
  let from = "--group";
  if (groups.length === 0) {
    try {
      groups = await planner.inferGroups();
      from = `the cached copula reply of ${o.model}`;
    } catch (err) {
      if (!(err instanceof SynthorError)) throw err;
      groups = (await inferGroups(db, summary.columns, { seed: o.seed })).candidates
        .slice(0, o.groups)
        .map((c) => c.columns);
      from = "the statistical groups, standing in for the copula step's reply (not in the cache)";
    }
  }
  await createSyntheticModel(db, summary);
  await addGroups(db, summary, groups);
  const rows = Math.ceil(o.rows / o.iterations);
  const discrepancy = await computeDiscrepancy(db, summary);
  const grounded = chooseGroups(summary.groups, discrepancy, o.groups);
  const proposal = planner.proposalPromptFor({
    summary,
    iteration: 1,
    seed: o.seed,
    synthRows: 0,
    rows,
    proposals: o.proposals,
    groups: grounded,
    discrepancy,
    gaps: await gapTable(db, summary),
    subBins: await subBinGaps(db, summary),
  });
  return { copula, proposal, rows, groups: grounded.map((g) => g.columns), groupsFrom: from };
}

/** `synthor prompt` never calls a model: the cache may answer the copula step, nothing else does. */
function noCalls(model: string): ChatClient {
  return {
    model,
    complete: async () => {
      throw new SynthorError("RUN_STATE", "synthor prompt makes no calls", "this is a bug; please report it");
    },
  };
}
