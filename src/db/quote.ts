/**
 * The one place where identifiers and literals are quoted for SQL text.
 *
 * Column names come from users' files, so a column named `a"; drop table x; --` must work: every
 * identifier that reaches SQL text goes through {@link quoteIdent}. Values go through bound parameters
 * wherever DuckDB allows; {@link quoteLiteral} is for the few places it does not (DDL, select lists).
 *
 * @example quoteIdent('a"b') // => '"a""b"'
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A column name as a user writes it in SQL (--where, --tilt, queries): bare when it is a plain word,
 * quoted otherwise. For messages; SQL text built by synthor always uses {@link quoteIdent}.
 *
 * @example asWritten("age") // => 'age'
 * @example asWritten("hours-per-week") // => '"hours-per-week"'
 */
export function asWritten(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}

/** Quotes a string as a SQL string literal: `it's` becomes `'it''s'`. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A qualified name such as `schema.table`, each part quoted. */
export function quoteQualified(...parts: string[]): string {
  return parts.map(quoteIdent).join(".");
}

/** A finite number as SQL text that DuckDB reads back exactly (DOUBLE), or NULL. */
export function numberLiteral(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "NULL";
  return `${String(value)}::DOUBLE`;
}
