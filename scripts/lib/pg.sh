# Sourced by scripts/test and scripts/demo: a throwaway PostgreSQL 15 cluster on 127.0.0.1 and a free port,
# in a temporary directory, removed again by pg_stop. As root the server runs as user postgres (PostgreSQL
# refuses root); as any other user it runs as that user.
#
# pg_start [extra postgres -c settings...]  exports PG_TMP, PG_PORT, PG_URL (to database "postgres")
# pg_stop                                     stops the server and removes its directory
# pg_restart                                  restarts it with the same settings

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    (cd "$PG_TMP" && runuser -u postgres -- "$@")
  else
    (cd "$PG_TMP" && "$@")
  fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  [[ -x $PG_BIN/initdb ]] || { echo "PostgreSQL 15 is not installed ($PG_BIN); run scripts/setup" >&2; return 1; }
  PG_TMP=$(mktemp -d /tmp/govjobd-pg.XXXXXX)
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG_TMP"
  PG_PORT=$(pg_free_port)
  PG_OPTS="-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TMP $*"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -A trust -E UTF8 --no-locale -N --no-instructions \
    >"$PG_TMP/initdb.log" 2>&1 || { cat "$PG_TMP/initdb.log" >&2; return 1; }
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 -o "$PG_OPTS" start >/dev/null \
    || { cat "$PG_TMP/server.log" >&2; return 1; }
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  export PG_TMP PG_PORT PG_URL PG_OPTS
  # For outage tests: $PG_TMP/outage SECONDS stops the server, waits, starts it again (0: a restart).
  local as_owner=""
  [[ $(id -u) -eq 0 ]] && as_owner="runuser -u postgres --"
  cat >"$PG_TMP/outage" <<SCRIPT
#!/bin/sh
set -e
cd "$PG_TMP"
$as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast -w stop >/dev/null
sleep "\${1:-0}"  # the point: the database stays down this long
$as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 -o "$PG_OPTS" start >/dev/null
SCRIPT
  chmod 755 "$PG_TMP/outage"
}

pg_restart() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 -m fast -o "$PG_OPTS" restart >/dev/null
}

pg_stop() {
  [[ -n ${PG_TMP:-} && -d $PG_TMP ]] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
  PG_TMP=
}

# psql against the throwaway cluster: pg_psql DBNAME [psql args...]
pg_psql() {
  local db=$1; shift
  psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$PG_PORT/$db" "$@"
}
