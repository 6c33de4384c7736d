#!/usr/bin/env bash
# cpack builds a .deb whose contents and dependencies dpkg-deb shows as expected.
set -euo pipefail
build=$1
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >/dev/null
deb=$(ls "$out"/*.deb)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/govjobd ./lib/systemd/system/govjobd.service ./usr/lib/systemd/system/govjobd.service \
         ./usr/lib/sysusers.d/govjobd.conf ./etc/govjobd/govjobd.yaml ./usr/share/govjobd/migrations/0001_governance_jobs.sql \
         ./usr/lib/govjobd/executors/capability.sh; do
  case $f in ./lib/systemd/*) continue ;; esac  # merged /usr: the unit lives under /usr/lib
  grep -qxF "$f" <<<"$contents" || { echo "missing from the .deb: $f"; echo "$contents"; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libpqxx-6.4 libyaml-cpp0.7 libspdlog1.10 libsystemd0 libboost-filesystem1.74.0 systemd; do
  grep -q "$d" <<<"$depends" || { echo "Depends lacks $d: $depends"; exit 1; }
done
info=$(dpkg-deb -I "$deb")
grep -q conffiles <<<"$info" || { echo "no conffiles"; exit 1; }
echo "$(basename "$deb"): ok; Depends: $depends"
