import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import type { ColumnProfile } from "./profile.ts";

/**
 * The two views every statistic is computed over, built the same way for the real table and for each
 * synthetic batch:
 * - model space: the modelled columns only; categorical as text, numeric as DOUBLE, datetimes as seconds
 *   since 1970. The synthetic table is grown in this space and turned back into the user's types at the end.
 * - codes: model space with numeric columns replaced by their main-bin number (as text), ready for
 *   synthor_contingency. Bins come from the real data (table synthor_edges).
 */
export function modelSelect(columns: ColumnProfile[], from: string): string {
  const exprs = columns.map((c) => `${modelExpr(c)} as ${quoteIdent(c.name)}`);
  return `select ${exprs.join(", ")} from ${from}`;
}

export function codesSelect(columns: ColumnProfile[], from: string): string {
  const exprs = columns.map((c) => {
    const q = quoteIdent(c.name);
    if (c.kind === "categorical") return q;
    const edges = `(select edges from synthor_edges where "column" = ${quoteLiteral(c.name)})`;
    return `synthor_bin(${q}, ${edges})::varchar as ${q}`;
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
