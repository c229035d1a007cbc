#!/usr/bin/env bash
# Installs synthor as a user would and checks it: `npm pack` here, then `npm install <tarball>` in an empty
# folder (the dependencies come from the npm registry, so this is a check to run by hand, not a test),
# then the CLI (--help, a small synth run, the local model's missing-package error) and a plain JavaScript
# `import * as s from "synthor"`. Prints what the tarball holds and the installed `synthor --help` start
# time (median of 10). Usage: bash bench/package-check.sh [work-dir]   (default: a new temporary folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/pack" "$work/app"

echo "== npm pack (prepare builds dist/)"
(cd "$root" && npm pack --pack-destination "$work/pack" --json 2>/dev/null) >"$work/pack.json"
tarball="$work/pack/$(node -e 'console.log(require(process.argv[1])[0].filename)' "$work/pack.json")"
node -e '
const [p] = require(process.argv[1]);
const top = {};
for (const f of p.files) { const k = f.path.split("/")[0]; top[k] = (top[k] ?? 0) + 1; }
console.log(`${p.filename}: ${p.entryCount} files, ${p.size} bytes packed`, top);
const stray = p.files.filter((f) => /^(test|bench|examples|\.ci|src)\/|\.csv$|\.duckdb$/.test(f.path));
if (stray.length) { console.error("files users do not need:", stray.map((f) => f.path)); process.exit(1); }
' "$work/pack.json"

echo "== npm install $tarball in an empty folder"
cd "$work/app"
echo '{ "name": "synthor-package-check", "private": true, "type": "module" }' >package.json
npm install --no-audit --no-fund "$tarball" >/dev/null
test ! -e node_modules/synthor/src || { echo "the package carries src/"; exit 1; }

echo "== npx synthor --help"
npx synthor --help | head -3

echo "== a small synth run"
cp "$root/examples/ecommerce/ecommerce.csv" real.csv
npx synthor synth real.csv --rows 200 --iterations 5 --seed 1 --out synth.csv --quiet
echo "synth.csv: $(($(wc -l <synth.csv) - 1)) rows"

echo "== import * as s from \"synthor\" (plain JavaScript)"
cat >use.mjs <<'EOF'
import * as s from "synthor";
const result = await s.synthesize({
  source: { kind: "file", path: "real.csv" },
  rows: 100,
  iterations: 3,
  seed: 1,
  planner: (db, summary) => new s.StatsPlanner(db, summary, { seed: 1 }),
});
console.log(`${Object.keys(s).length} exports; synthesize: ${result.rows} rows in ${result.iterations} iterations`);
EOF
node use.mjs

echo "== --planner local without node-llama-cpp names the command that installs it"
echo "not a model" >model.gguf
if out="$(npx synthor synth real.csv --planner local --model-file model.gguf --rows 10 2>&1)"; then
  echo "expected an error"; exit 1
fi
echo "$out"
grep -q "install it: npm install node-llama-cpp " <<<"$out"

echo "== startup: node -e 0 and the installed synthor --help, 10 runs each, interleaved (ms)"
node -e '
const { spawnSync } = require("node:child_process");
const runs = { "node -e 0": [], "node_modules/.bin/synthor --help": [] };
for (let i = 0; i < 10; i++) {
  for (const [cmd, ts] of Object.entries(runs)) {
    const [bin, ...args] = cmd.split(" ");
    const t0 = performance.now();
    const r = spawnSync(bin, args, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}`);
    ts.push(performance.now() - t0);
  }
}
for (const [cmd, ts] of Object.entries(runs)) {
  ts.sort((a, b) => a - b);
  console.log(`${cmd}: median ${Math.round((ts[4] + ts[5]) / 2)} ms, min ${Math.round(ts[0])} ms`);
}'
echo "package check passed ($work)"
