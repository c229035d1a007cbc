/**
 * The real conditional tables the statistical planner draws from: a column's distribution in each context
 * of its parents, read from the real side (rows or a summary file) and kept for the run. Tables are read
 * in batches (RealSide.contingencies): the planner asks for every table an iteration may need before it
 * starts drawing, so an iteration costs one read however many columns it completes.
 */
import type { RealSide } from "../real.ts";
import type { ModelColumn } from "../summarize.ts";

type Code = string | null;

/** The codes tables a conditional is read from: main bins, or numeric columns as "bin.sub". */
export type CodesView = "synthor_real_codes" | "synthor_real_fine_codes";

/** A column's real distribution in one context: its codes and how many real rows hold each there. */
export interface Conditional {
  codes: Code[];
  counts: number[];
}

/** One conditional table: `child` given `parents` (any order), from `view`. */
export interface TableRequest {
  child: string;
  parents: string[];
  view: CodesView;
}

/** The key of a context (the parents' codes in the parents' order) or a cell in the maps of this module. */
export function codeKey(cell: Code[]): string {
  return JSON.stringify(cell);
}

export class ConditionalTables {
  private readonly tables = new Map<string, Map<string, Conditional>>();
  private readonly order: Map<string, number>;

  constructor(
    private readonly real: RealSide,
    private readonly columns: ModelColumn[],
  ) {
    this.order = new Map(columns.map((c, i) => [c.name, i]));
  }

  /** How many tables have been read: each table is read once per run. */
  get size(): number {
    return this.tables.size;
  }

  /**
   * The conditional table of `child` given `parents`: parents' codes (codeKey, in the parents' order) to
   * the child's distribution there. Read now if no earlier {@link ConditionalTables.fetch} read it.
   */
  async table(child: string, parents: string[], view: CodesView): Promise<Map<string, Conditional>> {
    const key = tableKey({ child, parents, view });
    const found = this.tables.get(key);
    if (found) return found;
    await this.fetch([{ child, parents, view }]);
    return this.tables.get(key) as Map<string, Conditional>;
  }

  /** Reads every table asked for that was not read yet, in one batch. */
  async fetch(requests: TableRequest[]): Promise<void> {
    const missing = [...new Map(requests.map((r) => [tableKey(r), r])).entries()].filter(
      ([key]) => !this.tables.has(key),
    );
    if (missing.length === 0) return;
    const asked = missing.map(([, r]) => ({
      columns: this.inTableOrder([...r.parents, r.child]),
      fine: r.view === "synthor_real_fine_codes" ? r.child : null,
      child: r.child,
    }));
    const read = await this.real.contingencies(asked);
    for (const [k, [key, r]] of missing.entries()) {
      this.tables.set(key, this.conditionals(r, asked[k]?.columns ?? [], read[k] ?? []));
    }
  }

  /** Rows of a contingency table grouped by the parents' codes. */
  private conditionals(
    r: TableRequest,
    columns: string[],
    rows: { cell: Code[]; n: number }[],
  ): Map<string, Conditional> {
    const childAt = columns.indexOf(r.child);
    const parentAt = r.parents.map((p) => columns.indexOf(p));
    const fine = r.view === "synthor_real_fine_codes";
    // Parents are matched on their main code: in the fine view a numeric parent's "bin.sub" becomes "bin".
    const main = (code: Code) => (code === null ? null : (code.split(".")[0] ?? null));
    const table = new Map<string, Conditional>();
    for (const row of rows) {
      const pk = codeKey(
        parentAt.map((k) => {
          const code = row.cell[k] ?? null;
          return fine && this.isNumeric(columns[k] as string) ? main(code) : code;
        }),
      );
      const entry = table.get(pk) ?? { codes: [], counts: [] };
      const at = entry.codes.indexOf(row.cell[childAt] ?? null);
      if (at >= 0) entry.counts[at] = (entry.counts[at] ?? 0) + row.n;
      else {
        entry.codes.push(row.cell[childAt] ?? null);
        entry.counts.push(row.n);
      }
      table.set(pk, entry);
    }
    return table;
  }

  private inTableOrder(columns: string[]): string[] {
    return [...columns].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }

  private isNumeric(column: string): boolean {
    return this.columns.find((c) => c.name === column)?.kind !== "categorical";
  }
}

function tableKey(r: TableRequest): string {
  return [r.view, ...r.parents, r.child].join("\u0000");
}
