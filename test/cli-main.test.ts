import { describe, expect, it } from "vitest";
import { commandIn, createCli } from "../src/cli/main.ts";

describe("the CLI's program", () => {
  it("lists the commands in --help exactly as they are, without loading them", async () => {
    const lazy = await createCli([]);
    const loaded = await createCli("all");
    expect(lazy.commands.map((c) => c.options.length)).toEqual(lazy.commands.map(() => 0));
    expect(loaded.commands.every((c) => c.options.length > 0)).toBe(true);
    expect(lazy.helpInformation()).toBe(loaded.helpInformation());
  });

  it("loads the command the arguments name, and `help NAME`'s", async () => {
    expect(commandIn(["node", "synthor", "--help"])).toBeUndefined();
    expect(commandIn(["node", "synthor", "synth", "real.csv", "--rows", "5"])).toBe("synth");
    expect(commandIn(["node", "synthor", "help", "eval"])).toBe("eval");
    const program = await createCli(["query"]);
    expect(program.commands.filter((c) => c.options.length > 0).map((c) => c.name())).toEqual(["query"]);
  });
});
