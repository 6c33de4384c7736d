#!/usr/bin/env bash
# systemd-analyze verify must print nothing for govjobd.service (it warns with exit 0, so any output fails).
# ExecStart points at the built binary: verify checks that the command exists.
set -euo pipefail
unit_src=$1 binary=$2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
sed "s|/usr/bin/govjobd|$binary|g" "$unit_src" >"$dir/govjobd.service"
out=$(systemd-analyze verify "$dir/govjobd.service" 2>&1) || { echo "$out"; exit 1; }
if [[ -n $out ]]; then echo "systemd-analyze verify printed:"; echo "$out"; exit 1; fi
echo "systemd-analyze verify: clean"
systemd-analyze security --offline=true "$dir/govjobd.service" 2>/dev/null | tail -1 || true
