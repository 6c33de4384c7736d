#!/usr/bin/env bash
# Peak RSS of a daemon running 1,000 process steps at once that print nothing (/bin/sleep 3), beside its idle
# RSS: what each running step costs in memory. Called by daemon_bench.sh; alone:
#   bench/steps_rss.sh GOVJOBD_BINARY DATABASE_URL [STEPS]   (a migrated database; its jobs are deleted)
set -euo pipefail
GOVJOBD=$1
DB=$2
STEPS=${3:-1000}
WORK=$(mktemp -d /tmp/govjobd-rss.XXXXXX)
export GOVJOBD_DATABASE_URL=$DB
psql() { command psql "$DB" -v ON_ERROR_STOP=1 -qAt "$@"; }
psql -c "DELETE FROM governance_jobs" >/dev/null
cat >"$WORK/rss.yaml" <<YAML
worker: {id: rss-bench-$$, concurrency: $STEPS, poll_interval: 200ms, exclusive_targets: false}
logging: {level: warn}
health: {system: {enabled: false}}
executors:
  nap: {kind: process, command: [/bin/sleep, '3']}
YAML
"$GOVJOBD" run -c "$WORK/rss.yaml" 2>"$WORK/daemon.log" &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true; rm -rf "$WORK"' EXIT
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$daemon/status" 2>/dev/null || true; }
until [[ $(psql -c "SELECT count(*) FROM govjobd.govjobd_workers WHERE worker_id = 'rss-bench-$$' AND stopped_at IS NULL" 2>/dev/null) == 1 ]]; do
  kill -0 "$daemon" 2>/dev/null || { echo "govjobd failed:"; tail -5 "$WORK/daemon.log"; exit 1; }
  sleep 0.1
done
rss_idle=$(status VmRSS)
psql -c "INSERT INTO governance_jobs (contract_id, steps, total_steps)
         SELECT gen_random_uuid(), '[{\"step_index\":0,\"step_type\":\"nap\",\"target\":\"t\",\"parameters\":{}}]', 1
           FROM generate_series(1, $STEPS)" >/dev/null
peak=0 most=0
until [[ $(psql -c "SELECT count(*) FROM governance_jobs WHERE status IN ('PENDING', 'RUNNING')") == 0 ]]; do
  kill -0 "$daemon" 2>/dev/null || { echo "govjobd failed:"; tail -5 "$WORK/daemon.log"; exit 1; }
  hwm=$(status VmHWM); running=$(pgrep -c -P "$daemon" -x sleep || true)
  [[ -n $hwm ]] && ((hwm > peak)) && peak=$hwm
  ((running > most)) && most=$running
  sleep 0.1
done
hwm=$(status VmHWM); ((hwm > peak)) && peak=$hwm
kill -TERM "$daemon"; wait "$daemon" || { echo "govjobd failed:"; tail -5 "$WORK/daemon.log"; exit 1; }
done_jobs=$(psql -c "SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'")
echo "  RSS idle $rss_idle KiB; peak RSS $peak KiB with $STEPS process steps printing nothing (at most $most seen running at once; $done_jobs of $STEPS COMPLETED)"
echo "RSS_IDLE_KIB=$rss_idle RSS_PEAK_KIB=$peak"
