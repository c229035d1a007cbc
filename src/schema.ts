/**
 * The schema file (`--schema FILE`): each column's kind and meaning, read by every command that profiles
 * a table, and written by `synthor profile --schema-out FILE` from the kinds it detected, so a user can
 * edit it and pass it back. What {@link schemaOf} writes, {@link readSchemaFile} reads back to the same
 * kinds.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { SynthorError } from "./errors.ts";

/**
 * The kinds a schema file may set. A constant column (one value in every row) is detected, never set:
 * a column without a kind is left to detection.
 */
const kindNames = ["categorical", "numeric", "datetime", "identifier", "ignored"] as const;
type SchemaKind = (typeof kindNames)[number];

/** The schema file users may pass with --schema: kinds and meanings per column. */
export const SchemaFile = z
  .object({
    maxCategories: z.number().int().positive().optional(),
    columns: z
      .record(
        z.string(),
        z
          .object({
            kind: z.enum(kindNames).optional(),
            description: z.string().optional(),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();
export type SchemaFile = z.infer<typeof SchemaFile>;

const schemaExample = '{"columns": {"age": {"kind": "numeric", "description": "age in years"}}}';

/** Reads and validates a schema file, naming every problem in it. */
export function readSchemaFile(path: string): SchemaFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SynthorError(
      "SCHEMA_INVALID",
      code === "ENOENT"
        ? `schema file not found: ${path}`
        : `cannot read schema file ${path}: ${(err as Error).message}`,
      code === "ENOENT"
        ? "check the --schema path (it is relative to the current directory)"
        : `--schema takes a JSON file such as ${schemaExample}`,
      { file: path },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SynthorError(
      "SCHEMA_INVALID",
      `schema file ${path} is not valid JSON: ${jsonErrorAt(text, err as Error)}`,
      `write it as JSON, e.g. ${schemaExample}`,
      { file: path },
    );
  }
  const parsed = SchemaFile.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map(describeIssue);
    throw new SynthorError(
      "SCHEMA_INVALID",
      problems.length === 1
        ? `schema file ${path} is not valid: ${problems[0]}`
        : `schema file ${path} has ${problems.length} problems:\n${problems.map((p, i) => `  ${i + 1}. ${p}`).join("\n")}`,
      `the file holds "maxCategories" (optional) and "columns"; each column takes {"kind": ${kindNames.map((k) => `"${k}"`).join(" | ")}, "description": "..."}`,
      { file: path, problems },
    );
  }
  return parsed.data;
}

/** One zod issue in words that do not depend on zod's wording. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? "the top level" : issue.path.map(String).join(".");
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return `${where}: unknown key${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_value":
      return `${where}: ${JSON.stringify(input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_type":
      return `${where}: expected ${expectedName(issue.expected)}, got ${JSON.stringify(input) ?? "nothing"}`;
    case "too_small":
      return `${where}: must be at least 1, got ${JSON.stringify(input)}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

function expectedName(expected: string): string {
  const names: Record<string, string> = {
    string: "text",
    number: "a number",
    int: "a whole number",
    object: "an object",
    record: "an object",
  };
  return names[expected] ?? `a ${expected}`;
}

/**
 * JSON.parse's reason with the position as line and column, and without the echo of the whole text
 * (its wording varies between Node versions; this keeps what they share).
 */
function jsonErrorAt(text: string, err: Error): string {
  if (text.trim() === "") return "the file is empty";
  let reason = err.message
    .replace(/, ".*" is not valid JSON$/s, "")
    .replace(/ \(line \d+ column \d+\)/, "")
    .replace(/ in JSON at position \d+$/, "");
  const at = /position (\d+)/.exec(err.message);
  if (at) {
    const before = text.slice(0, Number(at[1]));
    reason += ` at line ${before.split("\n").length}, column ${before.length - before.lastIndexOf("\n")}`;
  }
  // The usual cause of this one is a comma after the last entry, which JSON does not allow.
  if (/double-quoted property name/.test(reason)) reason += " (a comma after the last entry?)";
  return reason;
}

/**
 * The schema file of a profile: every column in the table's order with the kind it was given (detected
 * or set), its description if it has one, and the `maxCategories` the kinds were detected with (it
 * decides only the columns a user leaves without a kind). A constant column gets no kind: detection
 * finds it constant again. Passed back with --schema, it gives the same kinds.
 *
 * @example schemaOf(profiles, 20) // => { maxCategories: 20, columns: { age: { kind: "numeric" }, id: { kind: "identifier" } } }
 */
export function schemaOf(
  profiles: { name: string; kind: string; description?: string | undefined }[],
  maxCategories: number,
): SchemaFile {
  const columns: SchemaFile["columns"] = {};
  for (const p of profiles) {
    const entry: SchemaFile["columns"][string] = {};
    if (isSchemaKind(p.kind)) entry.kind = p.kind;
    if (p.description !== undefined) entry.description = p.description;
    columns[p.name] = entry;
  }
  return { maxCategories, columns };
}

function isSchemaKind(kind: string): kind is SchemaKind {
  return (kindNames as readonly string[]).includes(kind);
}

/**
 * A schema file as text: JSON with one column to a line, to read and edit by hand. Checked against the
 * reader's own schema, so what is written is always what --schema accepts.
 */
export function schemaText(schema: SchemaFile): string {
  const checked = SchemaFile.parse(schema);
  const entries = Object.entries(checked.columns).map(([name, entry]) => {
    const fields = Object.entries(entry).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    return `    ${JSON.stringify(name)}: {${fields.length === 0 ? "" : ` ${fields.join(", ")} `}}`;
  });
  const head = checked.maxCategories === undefined ? "" : `  "maxCategories": ${checked.maxCategories},\n`;
  const body = entries.length === 0 ? "{}" : `{\n${entries.join(",\n")}\n  }`;
  return `{\n${head}  "columns": ${body}\n}\n`;
}
