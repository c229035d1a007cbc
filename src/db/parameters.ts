/**
 * Named parameters renamed through DuckDB's own parser, so that several copies of one query can run in
 * one statement (`Db.insertUnion`) with their own values. The text is parsed (nothing runs), each
 * `$name` parameter node becomes `$name_<suffix>`, and DuckDB renders the tree back to SQL: string
 * literals and comments are never touched, unlike a text substitution.
 */

type Json = Record<string, unknown>;

/** What a renamed parameter ends with before the suffix is put in: no query synthor renames holds it. */
const MARKER = "synthor_suffix_marker";

const templates = new Map<string, string>();

/** What renaming asks of the database (Db has it): a query with parameters, for DuckDB's parser. */
interface Parser {
  all<T extends Record<string, unknown>>(
    sql: string,
    params: Record<string, string>,
    label: string,
  ): Promise<T[]>;
}

/**
 * `sql` (one statement) with every named parameter `$p` renamed `$p_<suffix>`.
 *
 * The query is parsed and rendered once (parameters renamed `$p_<marker>`); each suffix then replaces
 * the marker, which the query's own text is checked not to hold, so only renamed parameters carry it.
 *
 * @example await withParameterSuffix(db, "select $a as a, '$a' as text", "0")
 * // => "SELECT $a_0 AS a, '$a' AS text"
 */
export async function withParameterSuffix(db: Parser, sql: string, suffix: string): Promise<string> {
  let template = templates.get(sql);
  if (template === undefined) {
    template = await renamed(db, sql, MARKER);
    templates.set(sql, template);
  }
  return template.replaceAll(MARKER, suffix);
}

async function renamed(db: Parser, sql: string, suffix: string): Promise<string> {
  if (sql.includes(MARKER)) throw new Error(`cannot rename the parameters of ${sql}: it holds ${MARKER}`);
  const [parsed] = await db.all<{ ast: string }>(
    "select json_serialize_sql($sql::varchar) as ast",
    { sql },
    "parse SQL",
  );
  const tree = JSON.parse(parsed?.ast ?? "{}") as Json & { statements?: unknown[]; error_message?: string };
  if (tree.error || tree.statements?.length !== 1) {
    throw new Error(`cannot rename the parameters of ${sql}: ${tree.error_message ?? "not one statement"}`);
  }
  const [rendered] = await db.all<{ sql: string }>(
    "select json_deserialize_sql($ast::json) as sql",
    { ast: JSON.stringify(rename(tree, suffix)) },
    "render SQL",
  );
  if (rendered?.sql === undefined) throw new Error(`DuckDB cannot render ${sql}`);
  return rendered.sql;
}

/**
 * A copy of the tree with parameters renamed. Positions (`query_location`) are left out: they are only
 * for error messages, and values up to 2^64 do not survive JSON.parse.
 */
function rename(node: unknown, suffix: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rename(n, suffix));
  if (node === null || typeof node !== "object") return node;
  const copy: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k !== "query_location") copy[k] = rename(v, suffix);
  }
  if (copy.class === "PARAMETER" && typeof copy.identifier === "string") {
    copy.identifier = `${copy.identifier}_${suffix}`;
  }
  return copy;
}
