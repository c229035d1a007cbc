import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: sql/ and macros/ ship beside src/. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const cache = new Map<string, string>();

/** The text of one query file under sql/, e.g. `sqlFile("gaps")`. */
export function sqlFile(name: string): string {
  return readCached(join(packageRoot, "sql", `${name}.sql`));
}

/** Names of the macro files under macros/, in the order they must be created (dependencies first). */
export function macroNames(): string[] {
  const names = readdirSync(join(packageRoot, "macros"))
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.slice(0, -4));
  return orderByDependencies(names);
}

/** The text of one macro file under macros/. */
export function macroFile(name: string): string {
  return readCached(join(packageRoot, "macros", `${name}.sql`));
}

/** All macros as one script, ready to run in any DuckDB session. */
export function macroScript(): string {
  return macroNames()
    .map((n) => macroFile(n).trim())
    .join("\n\n");
}

function readCached(path: string): string {
  let text = cache.get(path);
  if (text === undefined) {
    text = readFileSync(path, "utf8");
    cache.set(path, text);
  }
  return text;
}

/** A macro that calls another must be created after it; order by the names each file mentions. */
function orderByDependencies(names: string[]): string[] {
  const deps = new Map(
    names.map((n) => [n, names.filter((other) => other !== n && mentions(macroFile(n), other))]),
  );
  const done: string[] = [];
  const visit = (n: string, path: string[]) => {
    if (done.includes(n)) return;
    if (path.includes(n)) throw new Error(`macro dependency cycle: ${[...path, n].join(" -> ")}`);
    for (const d of deps.get(n) ?? []) visit(d, [...path, n]);
    done.push(n);
  };
  for (const n of [...names].sort()) visit(n, []);
  return done;
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`\\b${name}\\s*\\(`).test(text.replace(/--.*$/gm, ""));
}
