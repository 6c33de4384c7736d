#!/usr/bin/env bash
# examples/prometheus/alerts.yml is valid (promtool check rules) and its alerts fire as alerts_test.yml says
# (promtool test rules). promtool comes in Debian's prometheus package, which scripts/setup installs.
#   tests/ops/prometheus_rules.sh SOURCE_DIR
set -euo pipefail
dir="${1:?usage: prometheus_rules.sh SOURCE_DIR}/examples/prometheus"
command -v promtool >/dev/null || { echo "promtool is not installed (Debian package prometheus; scripts/setup installs it)"; exit 1; }
promtool check rules "$dir/alerts.yml"
cd "$dir" && promtool test rules alerts_test.yml
