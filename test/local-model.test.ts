import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../src/db/files.ts";
import { SynthorError } from "../src/errors.ts";
import { importNodeLlamaCpp, nodeLlamaCppInstall, openLocalModel } from "../src/planners/local-client.ts";

// node-llama-cpp is no dependency of synthor (npm ci leaves it out): whether it is here depends on the
// machine. The error when it is missing is checked with a name nobody installs.
const installed = existsSync(join(packageRoot, "node_modules", "node-llama-cpp", "package.json"));

describe("the local model's package", () => {
  it("when missing, the error names the command that installs it in this checkout", async () => {
    const err = await importNodeLlamaCpp("synthor-test-no-such-package").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthorError);
    expect((err as SynthorError).message).toBe(
      "--planner local needs node-llama-cpp, which is not installed",
    );
    expect((err as SynthorError).hint).toBe(
      `install it: cd ${packageRoot} && npm install --no-save node-llama-cpp (llama.cpp prebuilt for your platform, from npm); or use an OpenAI-compatible server with --planner llm --base-url ...`,
    );
  });

  it("is installed with --no-save in a checkout, plainly beside an installed synthor", () => {
    expect(nodeLlamaCppInstall(packageRoot)).toBe(
      `cd ${packageRoot} && npm install --no-save node-llama-cpp`,
    );
    const installedPackage = mkdtempSync(join(tmpdir(), "synthor-test-"));
    try {
      expect(nodeLlamaCppInstall(installedPackage)).toBe("npm install node-llama-cpp");
    } finally {
      rmSync(installedPackage, { recursive: true, force: true });
    }
  });

  it.runIf(installed)("when installed, loads llama.cpp and reads the model file with it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "synthor-test-"));
    try {
      const file = join(dir, "not-a-model.gguf");
      writeFileSync(file, "not a model");
      await expect(openLocalModel({ modelFile: file })).rejects.toThrow(
        `cannot load the model file ${file}: Invalid GGUF magic`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
