#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (`npm run build`; `npm ci` and `npm pack` run it through
// the `prepare` script). After editing src/, rebuild before running this file.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "synthor: dist/ is missing (the build of src/); run `npm run build` in the package folder (npm ci runs it too)\n",
  );
  process.exit(1);
}
// `synthor ... | head` closes the pipe early: that is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
const cli = await import(main.href);
process.exitCode = await cli.main(process.argv);
