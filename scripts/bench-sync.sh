#!/usr/bin/env bash
# Benchmarks a full and a delta sync of the `large` synthetic tenant against the
# emulator running in its own process, so the sync's peak RSS is its own.
#   scripts/bench-sync.sh                 # throttling and latency off
#   THROTTLE=1 scripts/bench-sync.sh      # the emulator's realistic throttling model
# Prints wall time, CPU seconds and peak RSS of each run (GNU time), and the
# emulator's lower bound. Needs PostgreSQL on 127.0.0.1:5432; uses the database
# steward_bench, which it drops first.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/steward-bench}
mkdir -p "$work"
go build -o "$work/server" ./cmd/server
[ -f "$work/large/tenant.json" ] || "$work/server" generate --profile large --seed 1 --out "$work/large" >/dev/null

emu_flags=()
if [ "${THROTTLE:-}" = 1 ]; then
  emu_flags+=(--throttle --latency "${LATENCY:-40ms,50us}")
else
  # The emulator does not throttle: measure the sync's own throughput, not
  # the client-side pacing that keeps it within Graph's real budgets.
  export STEWARD_GRAPH_PACING=10000000,1000,10000
fi
"$work/server" emulate --snapshot "$work/large" --addr 127.0.0.1:19000 --tls-addr 127.0.0.1:19443 \
  --client-id 11111111-2222-3333-4444-555555555555 --client-secret bench-secret "${emu_flags[@]}" > "$work/emulate.log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q "Lower bound" "$work/emulate.log" 2>/dev/null && break; sleep 1; done
grep "Lower bound" "$work/emulate.log"

export DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_bench?sslmode=disable
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS steward_bench" 2>/dev/null || true
export AZURE_TENANT_ID=$(sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' "$work/large/tenant.json" | head -n 1)
export AZURE_CLIENT_ID=11111111-2222-3333-4444-555555555555 AZURE_CLIENT_SECRET=bench-secret
export AZURE_AUTHORITY_HOST=https://127.0.0.1:19443/
export STEWARD_CA_FILE=$(grep -o '/[^ ]*steward-emulator-[0-9]*\.pem' "$work/emulate.log" | head -n 1)
export STEWARD_GRAPH_URL=http://127.0.0.1:19000 STEWARD_BAP_URL=http://127.0.0.1:19000
export STEWARD_FLOW_URL=http://127.0.0.1:19000 STEWARD_POWERAPPS_URL=http://127.0.0.1:19000
export STEWARD_SIGNIN_DAYS=30

run() { # label, then sync flags
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %U s user + %S s system CPU, %M KB peak RSS" \
    "$work/server" sync "$@" > "$work/$label.log" 2> "$work/$label.err" || { tail -n 20 "$work/$label.err"; exit 1; }
  tail -n 1 "$work/$label.err"
  grep -E "^sync run" "$work/$label.log"
  # The emulator's counters so far: 429s it answered and resource units spent.
  curl -fsS http://127.0.0.1:19000/_emulator/stats | grep -oE '"(throttled|resourceUnits)":[0-9]+' | tr '\n' ' '; echo
}
run full-empty-db -mode full       # first sync: every row is an insert
run full -mode full                # a full sync of a known tenant: the usual case
if [ "${THROTTLE:-}" != 1 ]; then
  # The raw baseline: the same requests with net/http + encoding/json + CopyFrom.
  STEWARD_BENCH_URL=http://127.0.0.1:19000 go test -run '^$' -bench RawBaseline -benchtime 1x ./internal/sync \
    | grep -E "^BenchmarkRawBaseline"
fi
curl -fsS -X POST "http://127.0.0.1:19000/_emulator/churn?fraction=0.01&seed=7" > /dev/null
run delta -mode delta              # after 1% churn
