/** Small pieces every section of the report uses: numbers as text and table cells. */

/** A number for tables and cards: `digits` significant digits, integers as they are, "—" for none. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(digits)));
}

/** A right-aligned table cell of a number. */
export function td(x: number | null | undefined, digits = 4): string {
  return `<td class="n">${fmt(x, digits)}</td>`;
}

/** A share as a percentage for labels and tooltips. */
export function pct(x: number, digits = 3): string {
  return `${fmt(100 * x, digits)}%`;
}
