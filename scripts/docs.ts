/**
 * `npm run docs`: rewrites the parts of the docs that come from the code, between their markers. Today
 * one: the table of planners in docs/planners.md, from PLANNERS (src/planners/registry.ts).
 * test/planners.registry.test.ts fails while the file and the registry differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/db/files.ts";
import { plannerTable } from "../src/planners/registry.ts";

export const PLANNERS_DOC = join(packageRoot, "docs", "planners.md");
const START = /<!-- planners:[^\n]*-->\n/;
const END = "<!-- /planners -->";

/** The docs page with its table of planners replaced by `table`. */
export function withPlannerTable(page: string, table: string): string {
  const start = START.exec(page);
  const end = page.indexOf(END);
  if (!start || end < start.index) throw new Error(`${PLANNERS_DOC} has lost its markers (${END})`);
  return `${page.slice(0, start.index + start[0].length)}${table}\n${page.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const page = readFileSync(PLANNERS_DOC, "utf8");
  const next = withPlannerTable(page, plannerTable());
  if (next === page) {
    console.log(`${PLANNERS_DOC}: up to date`);
  } else {
    writeFileSync(PLANNERS_DOC, next);
    console.log(`${PLANNERS_DOC}: table of planners rewritten`);
  }
}
