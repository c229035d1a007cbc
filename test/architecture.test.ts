/**
 * ARCHITECTURE.md's picture, checked against the code: the import graph of src/ has no cycles, nothing
 * outside src/cli imports the CLI, every module and folder of src/ has its place in "Where things live",
 * and every src/ path the document names exists.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../src/db/files.ts";

const SRC = join(packageRoot, "src");

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? modules(p) : f.endsWith(".ts") ? [p] : [];
  });
}

/** Each module's imports of other modules of src/ (`import`/`export ... from "./x.ts"`, types included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of modules(SRC)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gms)].map((m) =>
      normalize(join(dirname(file), m[1] as string)),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The import cycles of a graph, each as the path that closes it (empty: none). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const rel = (p: string) => relative(packageRoot, p);

describe("the architecture", () => {
  const graph = importGraph();

  it("finds cycles where there are some (the check itself)", () => {
    const toy = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(cyclesOf(toy)).toEqual([["a", "b", "c", "a"]]);
    expect(
      cyclesOf(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toEqual([]);
  });

  it("has an import graph without cycles", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(cyclesOf(graph).map((c) => c.map(rel).join(" -> "))).toEqual([]);
  });

  it("keeps the CLI on top: no module outside src/cli imports it", () => {
    const cli = join(SRC, "cli");
    const upward = [...graph].flatMap(([file, targets]) =>
      file.startsWith(cli)
        ? []
        : targets.filter((t) => t.startsWith(cli)).map((t) => `${rel(file)} -> ${rel(t)}`),
    );
    expect(upward).toEqual([]);
  });

  it("gives every module and folder of src/ a place in ARCHITECTURE.md, and names no path that is gone", () => {
    const doc = readFileSync(join(packageRoot, "ARCHITECTURE.md"), "utf8");
    const top = readdirSync(SRC).map((f) => (f.endsWith(".ts") ? `src/${f}` : `src/${f}/`));
    expect(top.filter((p) => !doc.includes(`\`${p}\``))).toEqual([]);
    const named = [...new Set(doc.match(/src\/[\w/.-]+\.ts/g) ?? [])];
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !graph.has(join(packageRoot, p)))).toEqual([]);
  });
});
