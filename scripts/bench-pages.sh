#!/usr/bin/env bash
# Benchmarks the dashboard's page latency on the `large` synthetic tenant:
# 32 concurrent clients on loopback against a real HTTP server (BenchmarkPages
# in internal/web/pages_bench_test.go), 20 requests per client per scenario.
#   scripts/bench-pages.sh                  # load the tenant if needed, then measure
#   CLIENTS=16 REQUESTS=40 scripts/bench-pages.sh
#   BENCH='BenchmarkPages/^accounts' scripts/bench-pages.sh   # some scenarios only
#   RELOAD=1 scripts/bench-pages.sh         # drop the database and load it again
# Needs PostgreSQL on 127.0.0.1:5432. Uses the database steward_pages (or
# STEWARD_BENCH_DATABASE_URL), which it loads once with `server generate
# --profile large --seed 1` and `server import` (the import evaluates the
# tenant: 1-2 minutes) and reuses afterwards. Prints a Markdown table of p50,
# p95, p99 and requests/s per scenario with the issue's targets; exits 1 if one
# is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/steward-pages}
clients=${CLIENTS:-32}
requests=${REQUESTS:-20}
export STEWARD_BENCH_DATABASE_URL=${STEWARD_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/steward_pages?sslmode=disable}
mkdir -p "$work"
go build -o "$work/server" ./cmd/server

# The schema the database was loaded with, by this script: when the
# migrations changed since (edited during development, which `server migrate`
# cannot see), load it again.
stamp="$work/schema-$(md5sum <<<"$STEWARD_BENCH_DATABASE_URL" | cut -c1-8).md5"
schema=$(cat migrations/*.sql | md5sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$schema" ]; then
  echo "the migrations changed since $stamp was written: loading the database again"
  RELOAD=1
fi
if [ "${RELOAD:-}" = 1 ]; then
  db=$(sed -E 's|.*/([^/?]+)(\?.*)?$|\1|' <<<"$STEWARD_BENCH_DATABASE_URL")
  psql "${STEWARD_BENCH_DATABASE_URL/\/$db/\/postgres}" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
fi
# Accounts in the tenant's current evaluation: 125,000 once the large tenant
# is imported and evaluated; nothing (or no database) before.
evaluated() {
  psql "$STEWARD_BENCH_DATABASE_URL" -tAc "SELECT count(*) FROM exposure_current c
    JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id" 2>/dev/null || echo 0
}
if [ "$(evaluated)" -lt 100000 ]; then
  [ -f "$work/large/tenant.json" ] || "$work/server" generate --profile large --seed 1 --out "$work/large" >/dev/null
  echo "importing and evaluating the large tenant into $STEWARD_BENCH_DATABASE_URL (1-2 minutes)"
  DATABASE_URL=$STEWARD_BENCH_DATABASE_URL "$work/server" import "$work/large" > "$work/import.log" 2>&1 \
    || { tail -n 20 "$work/import.log"; exit 1; }
  grep -E "^sync run" "$work/import.log" || true
  echo "$schema" > "$stamp"
fi
# The schema of the code being measured (a no-op when it is current).
DATABASE_URL=$STEWARD_BENCH_DATABASE_URL "$work/server" migrate > /dev/null
# Measure the steady state: statistics and visibility maps as autovacuum
# leaves them a minute after an import, not the moment the COPY ends.
psql "$STEWARD_BENCH_DATABASE_URL" -qc "VACUUM (ANALYZE)"
echo "$(evaluated) accounts evaluated; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

go test -run '^$' -bench "${BENCH:-BenchmarkPages}" -benchtime "$((clients * requests))x" -timeout 30m \
  ./internal/web -args -pages.clients "$clients" | tee "$work/bench.log"
grep -q "^PAGES: every target met" "$work/bench.log"
