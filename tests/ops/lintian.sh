#!/usr/bin/env bash
# lintian on the .deb that cpack builds: no error. Warnings are printed (the report lists them), and every
# tag it emits is shown so that a new one is seen. And the changelog's top entry is the package's version.
set -euo pipefail
build=$1 changelog=$2
command -v lintian >/dev/null || { echo "lintian is not installed (scripts/setup installs it)"; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >/dev/null
deb=$(ls "$out"/*.deb)
version=$(dpkg-deb -f "$deb" Version) logged=$(dpkg-parsechangelog -l "$changelog" -S Version)
[[ $version == "$logged" ]] || { echo "the package is version $version, its changelog's top entry $logged"; exit 1; }
# --no-tag-display-limit: every instance; -I: informational tags too, shown but not failing
report=$(lintian --tag-display-limit 0 -I "$deb" 2>&1) || true
echo "$report"
if grep -q '^E: ' <<<"$report"; then
  echo "lintian found errors in $(basename "$deb")"
  exit 1
fi
echo "lintian: no errors ($(grep -c '^W: ' <<<"$report" || true) warnings)"
