#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx: no build step between `npm ci` and use.
import { register } from "tsx/esm/api";

register();
// `synthor ... | head` closes the pipe early: that is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
