#!/usr/bin/env bash
# No-op job throughput and pickup latency of the real daemon on a throwaway PostgreSQL 15 with its default
# settings (fsync on). Usage: bench/daemon_bench.sh GOVJOBD_BINARY [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
GOVJOBD=$1
N=${2:-20000}

trap pg_stop EXIT
pg_start -c max_connections=100
DB="postgresql://postgres@127.0.0.1:$PG_PORT/bench"
pg_psql postgres -c "CREATE DATABASE bench"
export GOVJOBD_DATABASE_URL=$DB
"$GOVJOBD" migrate >/dev/null
WORK=$(mktemp -d /tmp/govjobd-bench.XXXXXX)

config() {  # concurrency
  cat >"$WORK/c$1.yaml" <<YAML
worker: {concurrency: $1, poll_interval: 2s}
logging: {level: warn}
health: {system: {enabled: false}}
executors:
  noop: {kind: noop}
YAML
  echo "$WORK/c$1.yaml"
}

steps_json() {  # count
  local s="" i
  for ((i = 0; i < $1; i++)); do s+="${s:+,}{\"step_index\":$i,\"step_type\":\"noop\",\"target\":\"t\"}"; done
  echo "[$s]"
}

throughput() {  # concurrency steps_per_job
  pg_psql bench -c "TRUNCATE governance_jobs CASCADE" 2>/dev/null || pg_psql bench -c "DELETE FROM governance_jobs"
  pg_psql bench -c "INSERT INTO governance_jobs (contract_id, steps, total_steps)
                    SELECT gen_random_uuid(), '$(steps_json "$2")', $2 FROM generate_series(1, $N)"
  local cfg start end
  cfg=$(config "$1")
  start=$(date +%s.%N)
  "$GOVJOBD" run -c "$cfg" --exit-when-idle 2>>"$WORK/daemon.log"
  end=$(date +%s.%N)
  local done
  done=$(pg_psql bench -At -c "SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'")
  printf '  %-44s %8.0f jobs/s  (%s of %s COMPLETED in %.2f s)\n' "concurrency $1, $2-step no-op jobs" \
    "$(echo "$done / ($end - $start)" | bc -l)" "$done" "$N" "$(echo "$end - $start" | bc -l)"
}

echo "== govjobd no-op throughput ($N jobs, PostgreSQL 15 defaults, fsync on)"
throughput 1 1
throughput 10 1
throughput 50 1
throughput 50 3

echo "== pickup latency: idle daemon, 200 single jobs 20 ms apart (created_at to step start)"
pg_psql bench -c "DELETE FROM governance_jobs"
"$GOVJOBD" run -c "$(config 10)" 2>>"$WORK/daemon.log" &
daemon=$!
sleep 1
for i in $(seq 200); do
  echo "INSERT INTO governance_jobs (contract_id, steps, total_steps) VALUES (gen_random_uuid(), '$(steps_json 1)', 1);"
  echo "SELECT pg_sleep(0.02);"
done | pg_psql bench >/dev/null
sleep 1
kill -TERM $daemon; wait $daemon || true
pg_psql bench -P pager=off -c "
SELECT count(*) AS jobs,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2) AS p50_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY ms))::numeric, 2) AS p95_ms,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2) AS p99_ms
  FROM (SELECT extract(epoch FROM ((step_results->0->>'started_at')::timestamp - created_at)) * 1000 AS ms
          FROM governance_jobs WHERE status = 'COMPLETED') l"
rm -rf "$WORK"
