# Sourced by the daemon benchmarks (daemon_bench.sh, fleet_bench.sh): what they share on their throwaway
# cluster (bench_cluster starts it). Expects $GOVJOBD; the phases use $WORK.
source scripts/lib/pg.sh

bench_cluster() {  # [postgres -c settings...]: the cluster, its database "bench" migrated, GOVJOBD_DATABASE_URL and DB
  pg_start "$@"
  DB="postgresql://postgres@127.0.0.1:$PG_PORT/bench"
  pg_psql postgres -c "CREATE DATABASE bench"
  export GOVJOBD_DATABASE_URL=$DB
  "$GOVJOBD" migrate >/dev/null
}

summary() {  # item measure govjobd peer target verdict: a row of scripts/bench's closing table (when it collects one);
  # item: the issue's numbering, which orders the table
  if [[ -n ${BENCH_SUMMARY:-} ]]; then printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_SUMMARY"; fi
}

verdict() {  # awk condition on a and b -> met / missed
  awk -v a="$2" -v b="${3:-0}" "BEGIN { print ($1) ? \"met\" : \"missed\" }"
}

# The phases' database: BENCH_DB, "bench" unless a phase runs another build on a database of its own
clear_jobs() {  # removes every job (transitions refuse TRUNCATE; deleting a job takes its transitions); like the
  # peer harness before each timed phase: VACUUM ANALYZE and CHECKPOINT
  pg_psql "${BENCH_DB:-bench}" -c "DELETE FROM governance_jobs" -c "VACUUM ANALYZE governance_jobs" \
    -c "VACUUM ANALYZE govjobd.governance_job_transitions" -c "CHECKPOINT"
}

completed_rate() {  # -> "done seconds jobs/s" of the jobs COMPLETED in the last hour. Timed as the peer harness
  # times graphile-worker: from the first claim to the last completion, as the database recorded them.
  pg_psql "${BENCH_DB:-bench}" -At -F ' ' -c "
    SELECT count(*), extract(epoch FROM max(completed_at) - min(started_at)),
           count(*) / nullif(extract(epoch FROM max(completed_at) - min(started_at)), 0)
      FROM governance_jobs
     WHERE status = 'COMPLETED' AND started_at >= now() AT TIME ZONE 'UTC' - interval '1 hour'"
}

wal_syncs() {  # the cluster's WAL flushes so far (pg_stat_wal.wal_sync)
  pg_psql bench -At -c "SELECT wal_sync FROM pg_stat_wal"
}

# The file's contract-gate names filled in as the store does with the gate off (sql_files.cpp, for_contracts):
# an empty relation in place of the contracts table, the default column names
GATE_OFF='(SELECT NULL::uuid AS "contract_id", NULL::text AS "status", NULL::text[] AS "affected_capabilities", NULL::timestamp AS "activation_window_start", NULL::timestamp AS "activation_window_end" WHERE false) AS gate_off'
CLAIM_SQL=$(sed -e "s/@contract\.\(window_start\|window_end\)_at@/(CASE WHEN @contract.\1@ > '294276-12-31' THEN 'infinity' ELSE @contract.\1@::timestamp END)/g" \
  -e "s/@contract_table@/$GATE_OFF/g" -e 's/@contract_enabled@/false/g' -e 's/@contract\.id@/"contract_id"/g' \
  -e 's/@claim\.ready@/j.window_opens_at IS NULL/g' \
  -e "s/@claim\.unpark@/SELECT NULL::uuid AS job_id WHERE false/g" \
  -e 's/@contract\.status@/"status"/g' -e 's/@contract\.affected_capabilities@/"affected_capabilities"/g' \
  -e 's/@contract\.window_start@/"activation_window_start"/g' -e 's/@contract\.window_end@/"activation_window_end"/g' \
  daemon/store/queries/job_claim.sql)
# The daemon's claim as a prepared statement, with the daemon's search_path (its own schema first; the file
# names the jobs table bare, the daemon qualifies it) and the settings it claims with (no JIT; how the claim is
# planned, queries/job_claim_plan.sql, here for the whole session), then claim_execute runs it as the daemon would.
claim_prepare() {
  echo "SET search_path = govjobd, public, pg_catalog, pg_temp; SET jit = off;"
  sed -e '/^--/d' -e 's/, true)/, false)/g' daemon/store/queries/job_claim_plan.sql; echo ";"
  echo "PREPARE claim(varchar, int, bigint, bigint, uuid[], uuid, bigint, bigint, jsonb, jsonb, jsonb, bool, jsonb, bool, bool) AS $CLAIM_SQL;"
}
claim_execute() {  # worker limit step_types_json target_globs_json exclusive: the store's bounds, no pools,
  # nothing BLOCKED
  echo "EXECUTE claim('$1', $2, 30000, 8388608, '{}', NULL, 1000, 65536, '$3', '$4', '[]', $5, '[]', false, false)"
}
percentiles_ms() {  # EXPLAIN ANALYZE output -> "p50 p99" of its execution times (ms), the first dropped (a warm-up)
  awk '/Execution Time/ {print $3}' | tail -n +2 | sort -n | awk '{v[NR] = $1}
    END { i = int(0.99 * NR); if (i < 0.99 * NR) i++; printf "%.3f %.3f\n", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2, v[i] }'
}

verify_clean() {  # phase: govjobd verify over everything the phase left; the bench fails on any finding
  if ! "$GOVJOBD" verify >"$WORK/verify.txt" 2>&1; then
    { echo "  govjobd verify after $1 reported:"; head -20 "$WORK/verify.txt" | sed 's/^/    /'; } >&2; exit 1
  fi
  echo "  govjobd verify after $1: clean"
}

enqueue_spaced() {  # count steps_json: single jobs 20 ms apart, each acknowledged in bench_ack (an UNLOGGED row
  # stamped with clock_timestamp() by the producer's next statement: the issue's "from the commit acknowledgement")
  pg_psql bench -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_ack" \
    -c "CREATE UNLOGGED TABLE bench_ack (job_id uuid PRIMARY KEY, acked_at timestamp NOT NULL)"
  local i
  for ((i = 0; i < $1; i++)); do
    echo "INSERT INTO governance_jobs (contract_id, steps, total_steps) VALUES (gen_random_uuid(), '$2', 1) RETURNING job_id \\gset"
    echo "INSERT INTO bench_ack VALUES (:'job_id', clock_timestamp() AT TIME ZONE 'UTC');"
    echo "SELECT pg_sleep(0.02);"
  done | pg_psql bench >/dev/null
}

pickup_ms() {  # -> "measured_from jobs p50 p95 p99" per measure, to the first step's start: from the commit
  # acknowledgement (enqueue_spaced) and from created_at (the enqueueing transaction's start)
  pg_psql bench -At -F ' ' -c "
SELECT measured_from, count(*),
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2),
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY ms))::numeric, 2),
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2)
  FROM (SELECT 'commit_acknowledged' AS measured_from,
               extract(epoch FROM ((j.step_results->0->>'started_at')::timestamp - a.acked_at)) * 1000 AS ms
          FROM governance_jobs j JOIN bench_ack a USING (job_id) WHERE j.status = 'COMPLETED'
        UNION ALL
        SELECT 'created_at',
               extract(epoch FROM ((j.step_results->0->>'started_at')::timestamp - j.created_at)) * 1000
          FROM governance_jobs j WHERE j.status = 'COMPLETED') l
 GROUP BY measured_from ORDER BY measured_from DESC"
}

# CPU in clock ticks of the processes that ended since the start: the cluster's (its postmaster's reaped children:
# the backends of daemons that exited, autovacuum workers) and this shell's (the daemons it waited for)
backend_ticks() { awk '{print $16 + $17}' "/proc/$(head -1 "$PG_TMP/data/postmaster.pid")/stat"; }
shell_child_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }
per_job_ms() {  # ticks jobs -> ms of CPU per job
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t * 1000 / hz / n }'
}
statements_start() {  # FLEET_STATEMENTS=1: the statements' counts start over; the indexes' are noted (pg_stat_reset
  # would also clear the counts autovacuum's ANALYZE goes by, and so change what is measured)
  pg_psql bench -At -c "DROP TABLE IF EXISTS bench_index_counts" \
    -c "CREATE UNLOGGED TABLE bench_index_counts AS
          SELECT indexrelid, idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes" \
    -c "SELECT pg_stat_statements_reset()" >/dev/null
}
statements_per_job() {  # jobs: FLEET_STATEMENTS=1's table, the statements since statements_start by total time
  echo "      calls/job rows/call exec-ms/job buffer-hits/job plans/call plan-ms/job statement"
  pg_psql bench -At -F ' ' -c "
    SELECT round(calls::numeric / $1, 3) AS calls_per_job, round((rows::numeric / nullif(calls, 0)), 1) AS rows_per_call,
           round((total_exec_time / $1)::numeric, 4) AS ms_per_job, round(shared_blks_hit::numeric / $1, 1) AS hits_per_job,
           round(plans::numeric / nullif(calls, 0), 2) AS plans_per_call, round((total_plan_time / $1)::numeric, 4) AS plan_ms_per_job,
           left(regexp_replace(query, '\s+', ' ', 'g'), 70)
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
     ORDER BY total_exec_time DESC LIMIT 8" | sed 's/^/      /'
  # the indexes' side since statements_start: scans and entries read per job, by index
  echo "      index-scans/job entries-read/job heap-fetches/job index"
  pg_psql bench -At -F ' ' -c "
    SELECT round((i.idx_scan - b.idx_scan)::numeric / $1, 3), round((i.idx_tup_read - b.idx_tup_read)::numeric / $1, 1),
           round((i.idx_tup_fetch - b.idx_tup_fetch)::numeric / $1, 1), i.schemaname || '.' || i.indexrelname
      FROM pg_stat_user_indexes i JOIN bench_index_counts b USING (indexrelid)
     WHERE i.idx_scan > b.idx_scan ORDER BY i.idx_tup_read - b.idx_tup_read DESC LIMIT 8" | sed 's/^/      /'
}
