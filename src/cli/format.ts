/** Output helpers shared by the commands: aligned tables for terminals, CSV and JSON for programs. */

export type Cell = string | number | boolean | null | undefined | Date | unknown[] | Record<string, unknown>;

/** Renders rows as an aligned text table with a header rule; numbers are right-aligned. */
export function formatTable(rows: Record<string, Cell>[], columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return "(no columns)";
  const text = rows.map((r) => cols.map((c) => show(r[c])));
  const numeric = cols.map(
    (c) => rows.length > 0 && rows.every((r) => typeof r[c] === "number" || r[c] == null),
  );
  const widths = cols.map((c, i) => Math.max(width(c), ...text.map((t) => width(t[i] ?? ""))));
  const pad = (s: string, i: number) => {
    const gap = " ".repeat(Math.max(0, (widths[i] ?? 0) - width(s)));
    return numeric[i] ? gap + s : s + gap;
  };
  const lines = [
    cols.map((c, i) => pad(c, i)).join("  "),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...text.map((t) => t.map((s, i) => pad(s, i)).join("  ")),
  ];
  return `${lines.map((l) => l.trimEnd()).join("\n")}\n(${rows.length} row${rows.length === 1 ? "" : "s"})`;
}

/** Renders rows as CSV (RFC 4180 quoting), header first; numbers in full precision, NULL as empty. */
export function formatCsv(rows: Record<string, Cell>[], columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const field = (v: Cell) => {
    const s = v === null || v === undefined ? "" : typeof v === "number" ? String(v) : show(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [cols.map(field).join(","), ...rows.map((r) => cols.map((c) => field(r[c])).join(","))].join("\n");
}

/** JSON with bigints as numbers and dates as ISO strings. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 2);
}

/** A number rounded for people: 4 significant digits below 1, else up to 2 decimals. */
export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "";
  if (Number.isInteger(x)) return String(x);
  // Through Number() so that trailing zeros go: 0.0885, not 0.08850.
  return Math.abs(x) < 1 ? String(Number(x.toPrecision(digits))) : String(Math.round(x * 100) / 100);
}

function show(v: Cell): string {
  if (v === null || v === undefined) return "NULL";
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "number") return num(v, 6);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function width(s: string): number {
  return [...s].length;
}

/** The --where line of a run's summary: what it learned from, and its guarantee on the output. */
export function whereLine(
  what: "rows" | "households",
  w: { real: number; matching: number; violations: number; dropped: number; made: number },
): string {
  const one = what.slice(0, -1);
  const kept =
    w.violations === 0
      ? `every output ${one} satisfies it`
      : `${w.made - w.violations} of ${w.made} output ${what} satisfy it`;
  const dropped =
    w.dropped > 0
      ? ` (${w.dropped} synthetic ${w.dropped === 1 ? one : what} that did not were dropped and regrown)`
      : "";
  return `--where: learned from ${w.matching} of ${w.real} real ${what}; ${kept}${dropped}`;
}

/** How each target table ended (--targets): its TVD, and its worst cells, target against synthetic share. */
export function targetLines(
  targets: {
    target: string;
    columns: string[];
    tvd: number;
    cells: { cell: (string | null)[] | null; targetShare: number; synthShare: number }[];
  }[],
): string[] {
  const lines: string[] = [];
  for (const t of targets) {
    lines.push(
      `target ${t.target} (${t.columns.join(" x ")}): TVD ${num(t.tvd)} over ${t.cells.length - 1} named cells and the rest`,
    );
    const worst = [...t.cells]
      .sort((a, b) => Math.abs(b.targetShare - b.synthShare) - Math.abs(a.targetShare - a.synthShare))
      .slice(0, 5);
    lines.push(
      formatTable(
        worst.map((c) => ({
          cell: c.cell === null ? "(unnamed cells)" : c.cell.map((v) => v ?? "NULL").join(" x "),
          target: num(c.targetShare),
          synthetic: num(c.synthShare),
        })),
      ),
    );
  }
  return lines;
}
