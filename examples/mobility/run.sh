#!/usr/bin/env bash
# The mobility example end to end (examples/mobility/README.md):
#   1. baseline: synthesize trips that match trips.csv and, for the activity column only the survey has,
#      time_activity.csv (synth --targets);
#   2. event: the same with 3 times the share of 20-24 trips to zone Z12 (synth --tilt);
#   3. evaluate both against the real trips and the survey, with the flows view, into HTML reports.
#
# Run from anywhere: examples/mobility/run.sh. Settings by environment: OUT (default mobility-out, under
# the current directory), ROWS (24000), SEED (7), ITERATIONS (synth's default when unset).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ex="$root/examples/mobility"
out="${OUT:-mobility-out}"
rows="${ROWS:-24000}"
seed="${SEED:-7}"
synthor() { node "$root/bin/synthor.js" "$@"; }

mkdir -p "$out"
# Each run starts from a fresh database: an old one would hold a finished run of other settings.
rm -f "$out"/baseline.duckdb "$out"/baseline.duckdb.wal "$out"/event.duckdb "$out"/event.duckdb.wal
extra=()
[[ -n "${ITERATIONS:-}" ]] && extra+=(--iterations "$ITERATIONS")
tilt="time_bin = '20-24' and dest = 'Z12' => 3"

echo "== 1/5 baseline synthesis with the time x activity targets" >&2
synthor synth "$ex/trips.csv" --targets "$ex/time_activity.csv" --rows "$rows" --seed "$seed" "${extra[@]}" \
  --db "$out/baseline.duckdb" --out "$out/baseline.csv" --overwrite --json >"$out/baseline.json"

echo "== 2/5 event run: $tilt" >&2
synthor synth "$ex/trips.csv" --targets "$ex/time_activity.csv" --tilt "$tilt" --rows "$rows" --seed "$seed" \
  "${extra[@]}" --db "$out/event.duckdb" --out "$out/event.csv" --overwrite --json >"$out/event.json"

echo "== 3/5 evaluate the baseline: morning flows, activity against the survey" >&2
synthor eval --db "$out/baseline.duckdb" --real "$ex/trips.csv" --target-table "$ex/time_activity.csv" \
  --flows origin,dest --flows-filter "time_bin = '06-09'" --queries "$ex/queries.sql" \
  --report "$out/baseline.html" | tee "$out/baseline-eval.txt"

echo "== 4/5 evaluate the event run: 20-24 flows against the baseline run" >&2
synthor eval --db "$out/event.duckdb" --real "$ex/trips.csv" --target-table "$ex/time_activity.csv" \
  --flows origin,dest --flows-filter "time_bin = '20-24'" --flows-baseline "$out/baseline.csv" \
  --queries "$ex/queries.sql" --report "$out/event.html" | tee "$out/event-eval.txt"

echo "== 5/5 the event run by time bin and destination, against the baseline run" >&2
synthor eval --db "$out/event.duckdb" --real "$ex/trips.csv" --target-table "$ex/time_activity.csv" \
  --flows time_bin,dest --flows-baseline "$out/baseline.csv" --no-detection --no-privacy \
  --report "$out/event-by-time.html" >/dev/null

echo "reports: $out/baseline.html $out/event.html $out/event-by-time.html" >&2
