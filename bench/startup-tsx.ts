// The CLI run from its sources through tsx, as bin/synthor.js ran it before the build: the comparison
// point of bench/startup.ts.
import { main } from "../src/cli/main.ts";

process.exitCode = await main(process.argv);
