#!/usr/bin/env bash
# cmake --install into a temporary prefix puts every file where the unit and the docs expect it.
set -euo pipefail
build=$1
prefix=$(mktemp -d); trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
expected=(
  bin/govjobd
  lib/systemd/system/govjobd.service
  lib/sysusers.d/govjobd.conf
  etc/govjobd/govjobd.yaml
  share/govjobd/migrations/0001_governance_jobs.sql
  lib/govjobd/executors/capability.sh
  share/doc/govjobd/README.md
  share/bash-completion/completions/govjobd
)
for f in "${expected[@]}"; do
  [[ -e $prefix/$f ]] || { echo "missing after install: $f"; find "$prefix" -type f; exit 1; }
done
[[ -x $prefix/bin/govjobd && -x $prefix/lib/govjobd/executors/capability.sh ]] || { echo "not executable"; exit 1; }
"$prefix/bin/govjobd" --version
"$prefix/bin/govjobd" check-config -c "$prefix/etc/govjobd/govjobd.yaml"
echo "install layout: ok"
