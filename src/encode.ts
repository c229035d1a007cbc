import { quoteIdent, quoteLiteral } from "./db/quote.ts";
import { type ColumnProfile, secondsTypes } from "./profile.ts";

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
  // Each column's edges (and bin bounds) come from one row joined to every row, not from a scalar
  // subquery per column: DuckDB counts every subquery of a select list towards its expression depth
  // limit (1000), which a table of some hundreds of numeric columns would pass.
  const edges: string[] = [];
  const bounds: string[] = [];
  const exprs = columns.map((c) => {
    const q = `synthor_rows.${quoteIdent(c.name)}`;
    if (c.kind === "categorical") return `${q} as ${quoteIdent(c.name)}`;
    const name = quoteLiteral(c.name);
    const k = edges.length;
    edges.push(`first(edges) filter (where "column" = ${name}) as e${k}`);
    const bin = `synthor_bin(${q}, synthor_edges_row.e${k})`;
    let code: string;
    if (!fine || (fine.only !== undefined && fine.only !== c.name)) code = `${bin}::varchar`;
    else {
      const b = bounds.length / 2;
      for (const side of ["lo", "hi"]) {
        bounds.push(`list(${side} order by bin) filter (where "column" = ${name}) as ${side}${b}`);
      }
      const at = (side: "lo" | "hi") => `synthor_bins_row.${side}${b}[${bin} + 1]`;
      const sub = `synthor_sub_bin(${q}, ${at("lo")}, ${at("hi")}, ${Math.floor(fine.subBins)})`;
      code = `${bin}::varchar || '.' || ${sub}::varchar`;
    }
    return `${c.special?.length ? specialCode(q, code) : code} as ${quoteIdent(c.name)}`;
  });
  const rows = [`${from} as synthor_rows`];
  if (edges.length) rows.push(`(select ${edges.join(", ")} from synthor_edges) as synthor_edges_row`);
  if (bounds.length) rows.push(`(select ${bounds.join(", ")} from synthor_bins) as synthor_bins_row`);
  return `select ${exprs.join(", ")} from ${rows.join(", ")}`;
}

const hugeintMax = 2n ** 127n - 1n;

/**
 * A numeric column's code where the real column has NaN or infinities: each is a cell of its own, named
 * as proposals name it ("NaN", "Infinity", "-Infinity"), beside the bins; like NULL, in no bin.
 */
function specialCode(q: string, code: string): string {
  return `case when isnan(${q}) then 'NaN' when ${q} = 'infinity'::double then 'Infinity' when ${q} = '-infinity'::double then '-Infinity' else ${code} end`;
}

function modelExpr(c: ColumnProfile): string {
  const q = quoteIdent(c.name);
  switch (c.kind) {
    case "categorical":
      return `${q}::varchar`;
    case "numeric":
      if (secondsTypes.test(c.sqlType)) return `epoch(${q})::double`;
      if (c.offset !== undefined) {
        // value - offset, exact in the column's own type for unsigned ones (never below the minimum) and in
        // HUGEINT for signed ones when the range fits; as DOUBLE only for a HUGEINT range beyond 2^127.
        const off = quoteLiteral(c.offset);
        if (/^U/i.test(c.sqlType)) return `(${q} - ${off}::${c.sqlType})::double`;
        if (BigInt(c.max ?? c.offset) - BigInt(c.offset) <= hugeintMax)
          return `(${q}::hugeint - ${off}::hugeint)::double`;
        return `(${q}::double - ${off}::double)`;
      }
      return `${q}::double`;
    case "datetime":
      return `epoch(${q})::double`;
    default:
      throw new Error(`column ${c.name} of kind ${c.kind} is not modelled`);
  }
}
