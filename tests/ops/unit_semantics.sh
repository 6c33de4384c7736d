#!/usr/bin/env bash
# The unit's start and reload as systemd runs them, without systemd: its ExecStart= and ExecReload= lines
# with the built binary, a temporary config and a stand-in main process.
# - A bad config at start: `run` exits 78, which RestartPreventExitStatus= stops restarting. No
#   ExecStartPre=: systemd does not apply RestartPreventExitStatus= to it, so its failures restarted in a loop.
# - A reload validates first: with a bad file the first ExecReload= fails with check-config's message and
#   the main process is never signalled; with a good file (the packaged conffile) the main process gets SIGHUP.
set -euo pipefail
unit=$1 binary=$2 conffile=$3
dir=$(mktemp -d)
stand_in=
trap '[[ -n $stand_in ]] && kill "$stand_in" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

grep -q '^ExecStartPre=' "$unit" && fail "ExecStartPre= in the unit: systemd restarts its failures in a loop"
grep -qx 'RestartPreventExitStatus=78' "$unit" || fail "no RestartPreventExitStatus=78"
printf 'worker:\n  concurrency: many\n' >"$dir/bad.yaml"
cp "$conffile" "$dir/good.yaml"

# argv of each line: the binary and config replaced, $MAINPID the stand-in's pid
lines_of() { sed -n "s/^$1=//p" "$unit"; }
run_line() {
  local line=${1//\/usr\/bin\/govjobd/$binary}
  line=${line//\/etc\/govjobd\/govjobd.yaml/$2}
  line=${line//\$MAINPID/$stand_in}
  read -ra argv <<<"$line"
  "${argv[@]}"
}

set +e
start_err=$(run_line "$(lines_of ExecStart)" "$dir/bad.yaml" 2>&1 >/dev/null); status=$?
set -e
[[ $status == 78 ]] || fail "ExecStart with a bad config exited $status, not 78: $start_err"
grep -q 'worker.concurrency' <<<"$start_err" || fail "ExecStart did not name the key: $start_err"

# reload: every ExecReload= line in order, stopping at the first failure, as systemd does
reload() {
  local config=$1 line
  while IFS= read -r line; do run_line "$line" "$config" || return $?; done < <(lines_of ExecReload)
}
sleep 600 & stand_in=$!
set +e
reload_err=$(reload "$dir/bad.yaml" 2>&1); status=$?
set -e
[[ $status == 78 ]] || fail "reload with a bad config exited $status, not 78: $reload_err"
grep -q 'worker.concurrency' <<<"$reload_err" || fail "the failed reload did not name the key: $reload_err"
kill -0 "$stand_in" 2>/dev/null || fail "the main process was signalled although the config is bad"

reload "$dir/good.yaml" >/dev/null || fail "reload with the packaged conffile failed"
set +e
wait "$stand_in"; status=$?
set -e
stand_in=
[[ $status == $((128 + 1)) ]] || fail "the main process did not get SIGHUP on a good reload (status $status)"
echo "unit: bad config at start exits 78 without ExecStartPre; reload validates first: ok"
