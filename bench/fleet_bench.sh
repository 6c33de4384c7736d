#!/usr/bin/env bash
# The fleet (issue 18) on a throwaway PostgreSQL 15 with its default settings (fsync on) and pg_stat_statements:
# the claim with routing and exclusive targets against the plain claim, the claim in a large queue the daemon
# can run 1 % of, many daemons against one, and claim statements per job with idle daemons. Each phase ends
# with `govjobd verify`, and the bench fails on any finding.
# Usage: bench/fleet_bench.sh GOVJOBD_BINARY [JOBS] [QUEUE] [MANY_JOBS] [SPACED_JOBS]
#   JOBS: per end-to-end run of phase 1; QUEUE: PENDING jobs of phase 2; MANY_JOBS: per run of phase 3;
#   SPACED_JOBS: jobs arriving one at a time in phase 4
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
GOVJOBD=$1 N=${2:-20000} QUEUE=${3:-1000000} MANY=${4:-20000} SPACED=${5:-200}
# FLEET_SMOKE=1 (the ctest smoke): each measure once, 10 EXPLAINs instead of 40, phase 3 with exclusive targets
# off only; the same statements and checks, a third of the time
SMOKE=${FLEET_SMOKE:-}
REPEATS=2 EXPLAINS=41 PHASE3_EXCLUSIVE=${FLEET_PHASE3_EXCLUSIVE:-"false true"} ROUNDS3=${FLEET_ROUNDS3:-3}
[[ -n $SMOKE ]] && REPEATS=1 EXPLAINS=11 PHASE3_EXCLUSIVE=false ROUNDS3=1
# FLEET_PHASES="3" (say): only those phases, to measure one of them again. FLEET_STATEMENTS=1: after each
# end-to-end run, its statements per job from pg_stat_statements (calls, rows, execution, buffer hits, plans)
PHASES=" ${FLEET_PHASES:-1 2 3 4} "
want() { [[ $PHASES == *" $1 "* ]]; }

WORK=$(mktemp -d /tmp/govjobd-fleet-bench.XXXXXX)
DAEMONS=()
stop_daemons() {  # the daemons this bench started, each by its pid
  local pid
  for pid in "${DAEMONS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${DAEMONS[@]}"; do wait "$pid" 2>/dev/null || true; done
  DAEMONS=()
}
trap 'stop_daemons; pg_stop; rm -rf "$WORK"' EXIT
bench_cluster -c max_connections=300 -c shared_preload_libraries=pg_stat_statements
pg_psql bench -c "CREATE EXTENSION pg_stat_statements"
NOOP='[{"step_index":0,"step_type":"noop","target":"t","parameters":{}}]'

config() {  # name concurrency exclusive_targets target_globs [worker id]
  cat >"$WORK/$1.yaml" <<YAML
worker: {concurrency: $2, poll_interval: 2s, exclusive_targets: $3, targets: $4${5:+, id: $5}}
logging: {level: warn}
health: {system: {enabled: false}}
executors:
  noop: {kind: noop}
YAML
  echo "$WORK/$1.yaml"
}

insert_jobs() {  # count step_type_sql target_sql [created_at_sql]: one INSERT ... SELECT over g = 1..count, without
  # the NOTIFY trigger (one statement; the daemons are woken by the phase)
  pg_psql bench -c "ALTER TABLE governance_jobs DISABLE TRIGGER govjobd_notify_pending" \
    -c "INSERT INTO governance_jobs (contract_id, steps, total_steps, created_at)
        SELECT gen_random_uuid(), jsonb_build_array(jsonb_build_object('step_index', 0, 'step_type', $2,
                                                    'target', $3, 'parameters', '{}'::jsonb)), 1,
               ${4:-now() AT TIME ZONE 'UTC'}
          FROM generate_series(1, $1) g" \
    -c "ALTER TABLE governance_jobs ENABLE TRIGGER govjobd_notify_pending" -c "ANALYZE governance_jobs"  # as autovacuum would
}

pause_all() { pg_psql bench -c "INSERT INTO govjobd.pauses (reason, paused_by) VALUES ('bench: daemons starting', 'bench')"; }
resume_all() {  # and wakes the daemons (an idle daemon claims on NOTIFY, not on its poll)
  pg_psql bench -c "UPDATE govjobd.pauses SET resumed_at = now() AT TIME ZONE 'UTC', resumed_by = 'bench'
                     WHERE resumed_at IS NULL" -c "NOTIFY govjobd_jobs"
}

start_daemons() {  # count concurrency exclusive_targets target_globs id_prefix [--exit-when-idle]: returns once
  # every one is registered with its first health snapshot (it claims nothing before)
  local i
  for ((i = 1; i <= $1; i++)); do
    "$GOVJOBD" run -c "$(config "$5-$i" "$2" "$3" "$4" "$5-$i")" ${6:-} 2>>"$WORK/daemon.log" &
    DAEMONS+=($!)
  done
  for ((i = 0; i < 600; i++)); do
    (($(pg_psql bench -At -c "SELECT count(*) FROM govjobd.govjobd_workers
                               WHERE worker_id LIKE '$5-%' AND stopped_at IS NULL AND health_at IS NOT NULL") == $1)) && return
    sleep 0.1
  done
  echo "  $1 daemons $5-* not all ready after 60 s; their log:"; tail -20 "$WORK/daemon.log"; exit 1
}

wait_daemons() {  # the daemons started with --exit-when-idle: each must exit 0
  local pid status=0
  for pid in "${DAEMONS[@]}"; do wait "$pid" || status=$?; done
  DAEMONS=()
  ((status == 0)) || { echo "  a daemon exited $status; its log:"; tail -20 "$WORK/daemon.log"; exit 1; }
}

RUNS=0
fleet_rate() {  # jobs count concurrency exclusive_targets target_globs: jobs over 100 targets through count
  # daemons at once (held by a pause until every one is ready) -> RATE
  clear_jobs >/dev/null
  insert_jobs "$1" "'noop'" "'t' || (g % 100)" >/dev/null
  pause_all >/dev/null
  local wal pg own
  wal=$(wal_syncs) pg=$(backend_ticks) own=$(shell_child_ticks)
  [[ -z ${FLEET_STATEMENTS:-} ]] || statements_start
  start_daemons "$2" "$3" "$4" "$5" "run$((++RUNS))" --exit-when-idle
  resume_all >/dev/null
  wait_daemons
  wal=$(($(wal_syncs) - wal)) pg=$(($(backend_ticks) - pg)) own=$(($(shell_child_ticks) - own))
  local done secs
  read -r done secs RATE < <(completed_rate)
  ((done == $1)) || { echo "  only $done of $1 jobs COMPLETED"; exit 1; }
  printf '  %-58s %8.0f jobs/s  (%s jobs in %.2f s)\n' "$2 daemon(s) at concurrency $3, exclusive_targets $4" \
    "$RATE" "$done" "$secs"
  printf '  %-58s per job: %s WAL flushes, CPU %s ms in PostgreSQL backends, %s ms in the daemons\n' "" \
    "$(ratio "$wal" "$1")" "$(per_job_ms "$pg" "$1")" "$(per_job_ms "$own" "$1")"
  [[ -z ${FLEET_STATEMENTS:-} ]] || statements_per_job "$1"
}
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }


phase_start=$SECONDS
took() { echo "  ($1 took $((SECONDS - phase_start)) s)"; phase_start=$SECONDS; }
if want 1; then
echo "== fleet 1. the claim with routing and exclusive targets against the plain claim, jobs over 100 targets"
echo "   (the daemon's claim statement for 10 jobs, EXPLAIN ANALYZE execution time, 40 each, interleaved, each"
echo "   after another daemon's claim of 10 in the same transaction: the targets it holds, as at concurrency 10)"
clear_jobs >/dev/null
insert_jobs "$N" "'noop'" "'t' || (g % 100)" >/dev/null
pg_psql bench -c "VACUUM ANALYZE governance_jobs"
TYPES='["noop"]'
plain=$(claim_execute bench 10 "$TYPES" '["*"]' false)
routed=$(claim_execute bench 10 "$TYPES" '["t*"]' true)
globs=$(claim_execute bench 10 "$TYPES" '["t*"]' false)  # routing alone: which part costs what
{ claim_prepare
  for ((i = 0; i < EXPLAINS; i++)); do
    for v in plain routed globs; do
      echo "BEGIN;"; echo "$(claim_execute other 10 "$TYPES" '["t*"]' true);"
      echo "\\echo @$v"; echo "EXPLAIN ANALYZE ${!v};"; echo "ROLLBACK;"
    done
  done; } | pg_psql bench -At >"$WORK/claims.txt"
tagged() { awk -v t="@$1" '/^@/ { tag = $1 } tag == t' "$WORK/claims.txt"; }
read -r plain_ms _ < <(tagged plain | percentiles_ms)
read -r routed_ms _ < <(tagged routed | percentiles_ms)
read -r globs_ms _ < <(tagged globs | percentiles_ms)
cost=$(ratio "$routed_ms" "$plain_ms")
printf '  claim of 10 of %s PENDING: plain (every target, exclusive off) %s ms, routed (targets [t*], exclusive on) %s ms: %sx\n' \
  "$N" "$plain_ms" "$routed_ms" "$cost"
echo "  (routed with exclusive targets off: $globs_ms ms)"
summary 18 "fleet: claim of 10, routing + exclusive targets vs plain (median)" "$routed_ms / $plain_ms ms = ${cost}x" "" \
  "<= 1.2x" "$(verdict 'a <= 1.2' "$cost")"
echo "   end to end: govjobd run --exit-when-idle at concurrency 10, $N jobs, each way $REPEATS times, interleaved"
[[ -n $SMOKE ]] || fleet_rate "$N" 1 10 false '["*"]' >/dev/null  # warm-up, not shown: a new cluster first creates its WAL segments
plain_rates=() routed_rates=()
for ((i = 0; i < REPEATS; i++)); do
  fleet_rate "$N" 1 10 false '["*"]'; plain_rates+=("$RATE")
  fleet_rate "$N" 1 10 true '["t*"]'; routed_rates+=("$RATE")
done
mean() { echo "($(IFS=+; echo "$*")) / $#" | bc -l; }
plain_rate=$(mean "${plain_rates[@]}")
routed_rate=$(mean "${routed_rates[@]}")
slowdown=$(ratio "$plain_rate" "$routed_rate")
printf '  means: plain %.0f jobs/s, routed + exclusive %.0f jobs/s: plain / routed = %sx\n' "$plain_rate" "$routed_rate" "$slowdown"
summary 18 "fleet: jobs/s at concurrency 10, routing + exclusive vs plain" \
  "$(printf '%.0f / %.0f' "$routed_rate" "$plain_rate") = plain ${slowdown}x" "" "plain <= 1.2x" "$(verdict 'a <= 1.2' "$slowdown")"
verify_clean "phase 1"
took "phase 1"
fi


if want 2; then
echo "== fleet 2. the claim in a queue of $QUEUE PENDING jobs, 1 % of them claimable by the daemon (the others'"
echo "   step type has no executor), EXPLAIN ANALYZE execution time, 100 each, rolled back; exclusive targets on"
clear_jobs >/dev/null
started=$(date +%s.%N)
insert_jobs "$QUEUE" "CASE WHEN g % 100 = 0 THEN 'noop' ELSE 'other' END" "'t' || (g / 100 % 100)" \
  "now() AT TIME ZONE 'UTC' - ($QUEUE - g) * interval '1 ms'" >/dev/null
pg_psql bench -c "VACUUM ANALYZE governance_jobs"
printf '  inserted and analysed in %.0f s\n' "$(echo "$(date +%s.%N) - $started" | bc -l)"
queue_claims() {  # runs limit -> "p50 p99" of the claim of limit jobs
  { claim_prepare
    for ((i = 0; i <= $1; i++)); do
      echo "BEGIN;"; echo "EXPLAIN ANALYZE $(claim_execute bench "$2" "$TYPES" '["*"]' true);"; echo "ROLLBACK;"
    done; } | pg_psql bench -At | percentiles_ms
}
queue_case() {  # label runs
  local p50_1 p99_1 p50_10 p99_10
  read -r p50_1 p99_1 < <(queue_claims "$2" 1)
  read -r p50_10 p99_10 < <(queue_claims "$2" 10)
  printf '  %-40s claim of 1: p50 %8s ms, p99 %8s ms;  claim of 10: p50 %8s ms, p99 %8s ms\n' \
    "$1" "$p50_1" "$p99_1" "$p50_10" "$p99_10"
  summary 18 "fleet: claim of 1 / of 10 in $QUEUE PENDING, 1 % claimable, $1: p50, p99" \
    "$p50_1, $p99_1 / $p50_10, $p99_10 ms" "" "(none in the issue)" "reported"
}
queue_case "claimable spread uniformly" 100
pg_psql bench -c "UPDATE governance_jobs SET created_at = created_at + interval '1 day' WHERE route_step_types = '{noop}'" \
  -c "VACUUM ANALYZE governance_jobs"
queue_case "claimable the newest (p99: max of 5)" 5  # each scans the whole queue: seconds at 1,000,000
echo "  the claim of 10 with the claimable the newest, its scan of the queue:"
{ claim_prepare; echo "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) $(claim_execute bench 10 "$TYPES" '["*"]' true);"; } \
  | pg_psql bench -At | grep -E -A2 'Scan.*governance_jobs j|Execution' | head -8 | sed 's/^/    /'
verify_clean "phase 2"
took "phase 2"
fi


if want 3; then
echo "== fleet 3. many daemons against one: $MANY no-op jobs over 100 targets, 8 daemons at concurrency 4 against"
echo "   1 at concurrency 32 (held by a pause until every daemon is ready, timed from the first claim; CPU includes"
echo "   start-up), $ROUNDS3 round(s) side by side, the ratio of the medians; 1 daemon at concurrency 4 beside them"
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END { print (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'; }
for exclusive in $PHASE3_EXCLUSIVE; do
  ones=() manys=() fours=()
  for ((round = 0; round < ROUNDS3; round++)); do
    fleet_rate "$MANY" 1 32 "$exclusive" '["*"]'; ones+=("$RATE")
    fleet_rate "$MANY" 8 4 "$exclusive" '["*"]'; manys+=("$RATE")
    [[ $exclusive == true ]] || { fleet_rate "$MANY" 1 4 "$exclusive" '["*"]'; fours+=("$RATE"); }
  done
  one=$(median "${ones[@]}") many=$(median "${manys[@]}")
  r=$(ratio "$many" "$one")
  echo "  exclusive_targets $exclusive: medians 8 daemons $(printf '%.0f' "$many"), 1 daemon $(printf '%.0f' "$one") jobs/s: ${r}x"
  if [[ $exclusive == false ]]; then
    printf '  (1 daemon at concurrency 4: median %.0f jobs/s)\n' "$(median "${fours[@]}")"
    summary 18 "fleet: $MANY jobs/s, 8 daemons at concurrency 4 vs 1 at 32 (medians of $ROUNDS3)" \
      "$(printf '%.0f / %.0f' "$many" "$one") = ${r}x" "" ">= 0.7x" "$(verdict 'a >= 0.7' "$r")"
  else
    summary 18 "fleet: the same with exclusive targets on" "$(printf '%.0f / %.0f' "$many" "$one") = ${r}x" "" "" "reported"
  fi
done
verify_clean "phase 3"
took "phase 3"
fi


if want 4; then
echo "== fleet 4. 16 idle daemons (concurrency 4, exclusive targets on), $SPACED single jobs arriving 20 ms apart:"
echo "   claim statements per job (pg_stat_statements) and pickup"
clear_jobs >/dev/null
start_daemons 16 4 true '["*"]' idle
pg_psql bench -At -c "SELECT pg_stat_statements_reset()" >/dev/null
enqueue_spaced "$SPACED" "$NOOP"
for ((i = 0; i < 600; i++)); do
  (($(pg_psql bench -At -c "SELECT count(*) FROM governance_jobs WHERE status = 'COMPLETED'") == SPACED)) && break
  sleep 0.1
done
stats() { pg_psql bench -At -F ' ' -c "SELECT $1 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') $2"; }
read -r claims claimed < <(stats "coalesce(sum(calls), 0), coalesce(sum(rows), 0)" "AND query LIKE '%FOR UPDATE OF j SKIP LOCKED%'")
stop_daemons
per_job=$(ratio "$claims" "$SPACED")
echo "  $claims claim statements for $SPACED jobs: $per_job per job ($claimed rows returned)"
echo "  the statements by calls (calls, total ms, query):"
stats "calls, round(total_exec_time), left(regexp_replace(query, '\s+', ' ', 'g'), 100)" "ORDER BY calls DESC LIMIT 6" | sed 's/^/    /'
read -r _ _ p50 _ p99 < <(pickup_ms | grep '^commit_acknowledged ')
echo "  pickup, commit acknowledgement to step start: p50 $p50 ms, p99 $p99 ms"
summary 18 "fleet: claim statements per job, 16 idle daemons, jobs one at a time" "$per_job (pickup p50 $p50, p99 $p99 ms)" "" \
  "<= 2" "$(verdict 'a <= 2' "$per_job")"
verify_clean "phase 4"
took "phase 4"
fi
