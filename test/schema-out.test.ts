import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SynthOptions, synthesize } from "../src/pipeline.ts";
import { StatsPlanner } from "../src/planners/stats.ts";
import { type ProfileOptions, profileColumns } from "../src/profile.ts";
import { readSchemaFile, SchemaFile, schemaOf, schemaText } from "../src/schema.ts";
import { readSource } from "../src/source.ts";
import { cli, tempDir, withDb } from "./helpers.ts";

let tmp: ReturnType<typeof tempDir>;
let real: string;
beforeAll(() => {
  tmp = tempDir();
  // One column of every kind detection gives: an identifier (a dense integer key), a datetime, a
  // numeric, a categorical, a constant; and a column with a name that needs quoting.
  const cities = ["Paris", "Rome", "Oslo", "Lima"];
  const lines = ["id,day,amount,city,country,home town"];
  for (let i = 0; i < 120; i++) {
    const day = new Date(Date.UTC(2024, 0, 1 + ((i * 7) % 90))).toISOString().slice(0, 10);
    lines.push(`${i + 1},${day},${((i * 37) % 101) + 0.5},${cities[i % 4]},FR,${cities[(i * 3) % 4]}`);
  }
  real = join(tmp.dir, "real.csv");
  writeFileSync(real, `${lines.join("\n")}\n`);
});
afterAll(() => tmp.cleanup());

async function profileOf(options: ProfileOptions = {}) {
  return withDb(async (db) =>
    profileColumns(db, await readSource(db, { kind: "file", path: real }), options),
  );
}

function synthOptions(out: string, profile: ProfileOptions = {}): SynthOptions {
  return {
    source: { kind: "file", path: real },
    rows: 80,
    iterations: 3,
    seed: 3,
    threads: 1,
    profile,
    planner: (d, s) => new StatsPlanner(d, s, { seed: 3 }),
    out,
  };
}

describe("profile --schema-out", () => {
  it("writes every detected kind in the --schema format, and reading it back gives the same kinds", async () => {
    const detected = await profileOf();
    const path = join(tmp.dir, "schema.json");
    writeFileSync(path, schemaText(schemaOf(detected, 20)));
    expect(readFileSync(path, "utf8")).toBe(
      [
        "{",
        '  "maxCategories": 20,',
        '  "columns": {',
        '    "id": { "kind": "identifier" },',
        '    "day": { "kind": "datetime" },',
        '    "amount": { "kind": "numeric" },',
        '    "city": { "kind": "categorical" },',
        '    "country": {},',
        '    "home town": { "kind": "categorical" }',
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    // The reader's own validation accepts it unchanged.
    expect(SchemaFile.safeParse(JSON.parse(readFileSync(path, "utf8"))).success).toBe(true);
    expect(readSchemaFile(path)).toEqual(schemaOf(detected, 20));
    const reread = await profileOf({ schemaFile: path });
    expect(reread.map((p) => [p.name, p.kind])).toEqual(detected.map((p) => [p.name, p.kind]));
    expect(detected.find((p) => p.name === "country")?.kind).toBe("constant");
    // Beyond the kinds, the profile is the same but for the reason (set by the schema file).
    const strip = (ps: typeof detected) => ps.map(({ reason: _, ...rest }) => rest);
    expect(strip(reread)).toEqual(strip(detected));
  });

  it("keeps kinds set by flags and descriptions, which read back the same", async () => {
    const options = {
      ignore: ["home town"],
      categorical: ["amount"],
      describe: { city: 'where "they" live' },
    };
    const set = await profileOf(options);
    const path = join(tmp.dir, "schema-set.json");
    writeFileSync(path, schemaText(schemaOf(set, 30)));
    expect(readSchemaFile(path).columns).toMatchObject({
      amount: { kind: "categorical" },
      city: { kind: "categorical", description: 'where "they" live' },
      "home town": { kind: "ignored" },
    });
    const reread = await profileOf({ schemaFile: path });
    expect(reread.map((p) => [p.name, p.kind, p.description])).toEqual(
      set.map((p) => [p.name, p.kind, p.description]),
    );
  });

  it("passed back to synth --schema, gives the same synthetic table as no schema", async () => {
    const detected = await profileOf();
    const schema = join(tmp.dir, "round-trip.json");
    writeFileSync(schema, schemaText(schemaOf(detected, 20)));
    const plain = join(tmp.dir, "plain.csv");
    const withSchema = join(tmp.dir, "with-schema.csv");
    await synthesize(synthOptions(plain));
    await synthesize(synthOptions(withSchema, { schemaFile: schema }));
    const text = readFileSync(plain, "utf8");
    expect(text.split("\n")[0]).toBe("id,day,amount,city,country,home town");
    expect(text.trimEnd().split("\n")).toHaveLength(81);
    expect(readFileSync(withSchema, "utf8")).toBe(text);
  }, 120_000);

  it("through the CLI: writes the file, and refuses to replace it without --overwrite", async () => {
    const path = join(tmp.dir, "cli-schema.json");
    const first = await cli(["profile", real, "--schema-out", path]);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(
      `synthor: wrote the kinds of 6 columns to ${path}; edit them and pass the file back with --schema ${path}\n`,
    );
    const written = readFileSync(path, "utf8");
    expect(JSON.parse(written).columns.id).toEqual({ kind: "identifier" });
    writeFileSync(path, "{}\n");
    const again = await cli(["profile", real, "--schema-out", path, "--json"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toBe(
      `error: ${path} already exists\n  hint: pass --overwrite to replace it, or choose another --schema-out\n`,
    );
    expect(readFileSync(path, "utf8")).toBe("{}\n");
    const replaced = await cli(["profile", real, "--schema-out", path, "--overwrite", "--json"]);
    expect(replaced.code).toBe(0);
    expect(JSON.parse(replaced.stdout).columns).toHaveLength(6);
    expect(readFileSync(path, "utf8")).toBe(written);
    expect(existsSync(join(tmp.dir, "cli-schema.json"))).toBe(true);
  }, 120_000);
});
