#!/usr/bin/env bash
# Runs a command beside a real systemd-journald of its own, then reads that journal back: the test of the
# daemon's journal fields (tests/e2e/journal_test.cpp).
#   journald_ns.sh [--no-journald] OUT_DIR [MATCH...] -- COMMAND...
# For each MATCH (e.g. GOVJOBD_JOB_ID=<id>), OUT_DIR/<n>.json holds `journalctl MATCH -o json` (n from 0),
# and OUT_DIR/all.json every entry. Exits with the command's exit code, or 77 (skipped) with a "SKIP:" line
# when this machine cannot do it (not root, no systemd-journald, no mount namespaces).
#
# Isolation: the script re-runs itself under unshare in private mount and PID namespaces, with tmpfs over
# /run (so the command's sd_journal_sendv reaches this journald's /run/systemd/journal/socket, never the
# host's) and over /var/log/journal. It is PID 1 of its namespace: when it exits, or is killed, the kernel
# kills the journald it started (unshare --kill-child covers the kill of unshare itself).
# --no-journald: the same namespace with no journald at all (the socket is missing).
set -euo pipefail
journald=/lib/systemd/systemd-journald
if [[ -z ${GOVJOBD_JOURNALD_NS:-} ]]; then
  skip() { echo "SKIP: $*"; exit 77; }
  [[ $(id -u) -eq 0 ]] || skip "a journald of the test's own needs root (mount namespace, tmpfs)"
  [[ -x $journald ]] || skip "$journald is not installed (Debian package systemd)"
  command -v journalctl >/dev/null || skip "journalctl is not installed"
  [[ -e /etc/machine-id ]] || skip "/etc/machine-id is missing (journald names its directory by it)"
  unshare --mount --propagation private true 2>/dev/null || skip "no private mount namespace here (unshare --mount failed)"
  export GOVJOBD_JOURNALD_NS=1
  exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc "$0" "$@"
fi

start=yes
if [[ $1 == --no-journald ]]; then start=no; shift; fi
out=$1; shift
matches=()
while [[ $1 != -- ]]; do matches+=("$1"); shift; done
shift

mount -t tmpfs -o mode=0755 tmpfs /run
[[ -d /var/log/journal ]] && mount -t tmpfs tmpfs /var/log/journal
# an empty machine-id (a fresh container): one for this namespace only
if [[ ! -s /etc/machine-id ]]; then
  tr -d - </proc/sys/kernel/random/uuid >"$out/machine-id"
  mount --bind "$out/machine-id" /etc/machine-id
fi
# volatile, nothing forwarded anywhere, no kernel or audit messages: only what the command sends
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\nRateLimitBurst=0\n' \
  >"$out/journald.conf"
[[ -e /etc/systemd/journald.conf ]] && mount --bind "$out/journald.conf" /etc/systemd/journald.conf

pid=
if [[ $start == yes ]]; then
  "$journald" >"$out/journald.log" 2>&1 &
  pid=$!
  for _ in $(seq 400); do  # up to 20 s for its socket
    [[ -S /run/systemd/journal/socket ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$out/journald.log"; echo "FAIL: systemd-journald exited"; exit 1; }
    sleep 0.05
  done
  [[ -S /run/systemd/journal/socket ]] || { echo "FAIL: no /run/systemd/journal/socket after 20 s"; exit 1; }
fi

rc=0
"$@" || rc=$?

if [[ -n $pid ]]; then
  journalctl --sync  # every datagram the command sent is in the journal files
  kill "$pid"
  wait "$pid" || true
  dir=/run/log/journal/$(cat /etc/machine-id)
  n=0
  for m in "${matches[@]}"; do
    journalctl --directory="$dir" --no-pager -o json "$m" >"$out/$n.json" || true  # no entry: empty
    n=$((n + 1))
  done
  journalctl --directory="$dir" --no-pager -o json >"$out/all.json"
fi
exit "$rc"
