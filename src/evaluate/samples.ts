/**
 * A few rows of each table for the report to show side by side. Synthetic rows are shown by default; real
 * rows only when asked for (`--show-real-rows`), since the report is made to leave the data owner.
 */
import type { Db } from "../db/connection.ts";
import { quoteIdent } from "../db/quote.ts";

export interface SampleRows {
  /** The columns shown, in the real table's order. */
  columns: string[];
  /** Values as text (NULL as null). */
  synth: (string | null)[][];
  /** Null unless real rows were asked for. */
  real: (string | null)[][] | null;
}

/** Rows shown of each table. */
export const SAMPLE_ROWS = 5;

/**
 * Picks {@link SAMPLE_ROWS} rows of each table: the rows with the smallest hash of (values, copy number
 * among identical rows, seed), so the same seed picks the same rows whatever order they are read in.
 *
 * @example await sampleRows(db, { real: "r", synth: "s", columns: ["age", "city"], seed: 0, showReal: false })
 * // { columns: ["age", "city"], synth: [["34", "Lyon"], ...], real: null }
 */
export async function sampleRows(
  db: Db,
  options: { real: string; synth: string; columns: string[]; seed: number; showReal: boolean },
): Promise<SampleRows> {
  const pick = async (table: string): Promise<(string | null)[][]> => {
    const select = options.columns.map((c, i) => `${quoteIdent(c)}::varchar as c${i}`).join(", ");
    const row = "synthor_sample_row";
    const rows = await db.all<Record<string, string | null>>(
      `select ${select} from (
         select ${row}.*, hash(${row}, row_number() over (partition by ${row}), ${Math.trunc(options.seed)}::bigint) as synthor_sample_key
         from ${quoteIdent(table)} as ${row}
       ) order by synthor_sample_key limit ${SAMPLE_ROWS}`,
      {},
      "sample rows",
    );
    return rows.map((r) => options.columns.map((_, i) => r[`c${i}`] ?? null));
  };
  return {
    columns: options.columns,
    synth: await pick(options.synth),
    real: options.showReal ? await pick(options.real) : null,
  };
}
