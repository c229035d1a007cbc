/**
 * The summary file (`synthor summarize --out`, `synth --from-summary`): its format (zod), written as
 * text one table to a line, and read back checked. Built by src/summary-build.ts, loaded for a run by
 * src/summary-load.ts; docs/summary-format.md describes it field by field.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { SynthorError } from "./errors.ts";
import { writeTextAtomically } from "./output.ts";

/** The format name and version every summary file carries; a reader refuses other names and newer versions. */
export const SUMMARY_FORMAT = "synthor-summary";
export const SUMMARY_VERSION = 1;

/** Cells with fewer real rows are left out of a summary file unless --min-cell says otherwise. */
export const DEFAULT_MIN_CELL = 5;

/** Each column's 3-way tables are kept with this many of its most dependent partners (all pairs of them). */
export const DEFAULT_PARTNERS = 4;

const count = z.number().int().nonnegative();

const SummaryColumn = z
  .object({
    name: z.string(),
    index: count,
    sqlType: z.string(),
    kind: z.enum(["categorical", "numeric", "datetime", "identifier", "constant", "ignored"]),
    reason: z.string(),
    integral: z.boolean(),
    mean: z.number().nullable().optional(),
    sd: z.number().nullable().optional(),
    decimals: z.number().int().optional(),
    rows: count,
    nulls: count,
    nullShare: z.number(),
    distinct: count,
    min: z.string().nullable(),
    max: z.string().nullable(),
    description: z.string().optional(),
    edges: z.array(z.number()).optional(),
    grid: z.array(z.number()).optional(),
    wholeSeconds: z.boolean().optional(),
    special: z.array(z.enum(["-Infinity", "Infinity", "NaN"])).optional(),
    offset: z
      .string()
      .regex(/^-?\d+$/)
      .optional(),
  })
  .strict();

const SummaryTable = z
  .object({
    columns: z.array(z.string()).min(1).max(4),
    fine: z.string().nullable(),
    suppressed: z.object({ cells: count, rows: count }).strict(),
    cells: z.array(z.tuple([z.array(z.string().nullable()), z.number().int().positive()])),
  })
  .strict();

/** A summary file: everything `synth --from-summary` needs, and nothing at the level of a row. */
export const SummaryFile = z
  .object({
    format: z.literal(SUMMARY_FORMAT),
    version: z.literal(SUMMARY_VERSION),
    source: z.string(),
    rows: z.number().int().positive(),
    minCell: count,
    bins: z.number().int().positive(),
    subBins: z.number().int().positive(),
    columns: z.array(SummaryColumn).min(1),
    associations: z.array(
      z
        .object({ a: z.string(), b: z.string(), cramersV: z.number(), mutualInformation: z.number() })
        .strict(),
    ),
    groups: z.array(z.array(z.string()).min(2).max(4)),
    tables: z.array(SummaryTable),
  })
  .strict();

export type SummaryFile = z.infer<typeof SummaryFile>;

export type SummaryTable = z.infer<typeof SummaryTable>;

/**
 * A summary file's text: readable metadata, one line per table cell. `summarize --out` writes it and
 * `summarize --json` prints it.
 */
export function summaryFileText(file: SummaryFile): string {
  const { tables, ...head } = file;
  // Lists of numbers (grids, edges) and of column names on one line each, not one line per item.
  const headText = JSON.stringify({ ...head, tables: "__TABLES__" }, null, 2).replace(
    // Only whitespace with a line break is touched: JSON strings hold none, so no value changes.
    /\[\n\s*((?:-?[\d.e+-]+|"(?:[^"\\\n]|\\.)*")(?:,\n\s*(?:-?[\d.e+-]+|"(?:[^"\\\n]|\\.)*"))*)\n\s*\]/g,
    (_, items: string) => `[${items.replace(/,\n\s*/g, ", ")}]`,
  );
  const tableText = tables
    .map((t) => {
      const { cells, ...meta } = t;
      const lines = cells.map((c) => `        ${JSON.stringify(c)}`).join(",\n");
      const metaText = JSON.stringify(meta).slice(0, -1);
      return `    ${metaText}, "cells": [${cells.length ? `\n${lines}\n    ` : ""}]}`;
    })
    .join(",\n");
  return `${headText.replace('"__TABLES__"', tables.length ? `[\n${tableText}\n  ]` : "[]")}\n`;
}

/**
 * Writes a summary file atomically; an existing file is replaced only with `overwrite` (--overwrite),
 * checked again at the end for a file that appeared meanwhile (see writeTextAtomically).
 */
export function writeSummaryFile(path: string, file: SummaryFile, overwrite = false): void {
  writeTextAtomically(path, summaryFileText(file), { flag: "--out", overwrite });
}

/** Reads and validates a summary file; returns it with the SHA-256 of its bytes (recorded with a run). */
export function readSummaryFile(path: string): { file: SummaryFile; sha256: string } {
  if (!existsSync(path) || statSync(path).isDirectory()) {
    throw new SynthorError(
      "SOURCE_NOT_FOUND",
      `summary file not found: ${path}`,
      "write one with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  const bytes = readFileSync(path);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is not a summary file: ${(err as Error).message}`,
      "write one with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  const head = json as { format?: unknown; version?: unknown } | null;
  if (typeof head !== "object" || head === null || head.format !== SUMMARY_FORMAT) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is not a summary file (its "format" is not "${SUMMARY_FORMAT}")`,
      "write one with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  if (head.version !== SUMMARY_VERSION) {
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is a summary file of version ${JSON.stringify(head.version)}; this synthor reads version ${SUMMARY_VERSION}`,
      "summarize the real table again with this synthor, or use the synthor that wrote it",
      { source: path },
    );
  }
  const parsed = SummaryFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((x) => `${x.path.join(".") || "(top)"}: ${x.message}`)
      .join("; ");
    throw new SynthorError(
      "SOURCE_UNREADABLE",
      `${path} is not a valid summary file: ${issues}`,
      "write it again with: synthor summarize real.csv --out summary.json",
      { source: path },
    );
  }
  return { file: parsed.data, sha256 };
}
