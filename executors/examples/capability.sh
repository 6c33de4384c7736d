#!/bin/sh
# Example executor for the capability_enable / capability_disable step types (mapped in
# examples/govjobd.yaml). Keeps each capability's state as a file in $CAPABILITY_STATE_DIR.
#   capability.sh enable|disable TARGET      (the step's JSON arrives on stdin; it is not needed here)
# Prints one JSON line, the step's output: {"capability":..,"previous":..,"state":..}
set -eu
action=${1:?usage: capability.sh enable|disable TARGET}
target=${2:?usage: capability.sh enable|disable TARGET}
dir=${CAPABILITY_STATE_DIR:?CAPABILITY_STATE_DIR is not set}
case $action in
  enable) state=enabled ;;
  disable) state=disabled ;;
  *) echo "unknown action: $action" >&2; exit 2 ;;
esac
case $target in
  ''|.*|*[!A-Za-z0-9_.-]*) echo "invalid capability name: $target" >&2; exit 2 ;;
esac
mkdir -p "$dir"
previous=unknown
[ -f "$dir/$target" ] && previous=$(cat "$dir/$target")
printf '%s\n' "$state" > "$dir/$target.tmp"
mv "$dir/$target.tmp" "$dir/$target"
printf '{"capability":"%s","previous":"%s","state":"%s"}\n' "$target" "$previous" "$state"
