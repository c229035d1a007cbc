import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import type { ColumnProfile } from "./profile.ts";

/**
 * The two views every statistic is computed over, built the same way for the real table and for each
 * synthetic batch:
 * - model space: the modelled columns only; categorical as text, numeric as DOUBLE, datetimes as seconds
 *   since 1970. The synthetic table is grown in this space and turned back into the user's types at the end.
 * - codes: model space with numeric columns replaced by their main-bin number (as text), ready for
 *   synthor_contingency. Bins come from the real data (table synthor_edges).
 * - fine codes (`fine = true`): numeric columns as "bin.sub", the main bin and which of its equal-width
 *   sub-bins (synthor_sub_bin) the value is in; the statistical planner reads the real data's joint
 *   structure inside the main bins from these.
 */
export function modelSelect(columns: ColumnProfile[], from: string): string {
  const exprs = columns.map((c) => `${modelExpr(c)} as ${quoteIdent(c.name)}`);
  return `select ${exprs.join(", ")} from ${from}`;
}

export function codesSelect(
  columns: ColumnProfile[],
  from: string,
  fine?: {
    subBins: number /** Only this numeric column at sub-bin level, the others in main bins. */;
    only?: string;
  },
): string {
  const exprs = columns.map((c) => {
    const q = quoteIdent(c.name);
    if (c.kind === "categorical") return q;
    const name = quoteLiteral(c.name);
    const edges = `(select edges from synthor_edges where "column" = ${name})`;
    const bin = `synthor_bin(${q}, ${edges})`;
    if (!fine || (fine.only !== undefined && fine.only !== c.name)) return `${bin}::varchar as ${q}`;
    const bounds = (side: "lo" | "hi") =>
      `(select list(${side} order by bin) from synthor_bins where "column" = ${name})[${bin} + 1]`;
    const sub = `synthor_sub_bin(${q}, ${bounds("lo")}, ${bounds("hi")}, ${Math.floor(fine.subBins)})`;
    return `${bin}::varchar || '.' || ${sub}::varchar as ${q}`;
  });
  return `select ${exprs.join(", ")} from ${from}`;
}

function modelExpr(c: ColumnProfile): string {
  const q = quoteIdent(c.name);
  switch (c.kind) {
    case "categorical":
      return `${q}::varchar`;
    case "numeric":
      return `${q}::double`;
    case "datetime":
      return `epoch(${q})::double`;
    default:
      throw new Error(`column ${c.name} of kind ${c.kind} is not modelled`);
  }
}
