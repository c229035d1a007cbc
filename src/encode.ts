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
  const exprs = columns.map((c) => {
    const q = quoteIdent(c.name);
    if (c.kind === "categorical") return q;
    const name = quoteLiteral(c.name);
    const edges = `(select edges from synthor_edges where "column" = ${name})`;
    const bin = `synthor_bin(${q}, ${edges})`;
    let code: string;
    if (!fine || (fine.only !== undefined && fine.only !== c.name)) code = `${bin}::varchar`;
    else {
      const bounds = (side: "lo" | "hi") =>
        `(select list(${side} order by bin) from synthor_bins where "column" = ${name})[${bin} + 1]`;
      const sub = `synthor_sub_bin(${q}, ${bounds("lo")}, ${bounds("hi")}, ${Math.floor(fine.subBins)})`;
      code = `${bin}::varchar || '.' || ${sub}::varchar`;
    }
    return `${c.special?.length ? specialCode(q, code) : code} as ${q}`;
  });
  return `select ${exprs.join(", ")} from ${from}`;
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
