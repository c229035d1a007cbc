import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../src/db/files.ts";

/**
 * The e2e project's global setup: builds dist/ once (`npm run build`), so every subprocess runs the CLI
 * as users get it (bin/synthor.js over dist/), from the sources as they are now, without compiling
 * TypeScript in each process.
 */
export default function setup(): void {
  const tsc = join(packageRoot, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
      cwd: packageRoot,
      encoding: "utf8",
      stdio: "pipe",
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() || e.message;
    throw new Error(
      `the e2e tests run the built CLI, and the build failed (npx tsc -p tsconfig.build.json):\n${output}`,
    );
  }
}
