#!/usr/bin/env bash
# cpack builds a .deb whose contents and dependencies dpkg-deb shows as expected.
set -euo pipefail
build=$1
jemalloc=${2:-0}  # 1: the daemon links jemalloc (GOVJOBD_JEMALLOC; not under the sanitizers)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >/dev/null
deb=$(ls "$out"/*.deb)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/govjobd ./lib/systemd/system/govjobd.service ./usr/lib/systemd/system/govjobd.service \
         ./usr/lib/sysusers.d/govjobd.conf ./etc/govjobd/govjobd.yaml ./usr/share/govjobd/migrations/0001_governance_jobs.sql \
         ./usr/lib/govjobd/executors/capability.sh ./usr/share/doc/govjobd/examples/prometheus/alerts.yml \
         ./usr/share/doc/govjobd/examples/prometheus/alerts_test.yml ./usr/share/doc/govjobd/examples/grafana/govjobd.json; do
  case $f in ./lib/systemd/*) continue ;; esac  # merged /usr: the unit lives under /usr/lib
  grep -qxF "$f" <<<"$contents" || { echo "missing from the .deb: $f"; echo "$contents"; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
expected=(libpqxx-6.4 libyaml-cpp0.7 libspdlog1.10 libsystemd0 libboost-filesystem1.74.0 systemd)
[[ $jemalloc == 1 ]] && expected+=(libjemalloc2)
for d in "${expected[@]}"; do
  grep -q "$d" <<<"$depends" || { echo "Depends lacks $d: $depends"; exit 1; }
done
# the config may hold secrets: not readable by every user (postinst gives both to group govjobd)
perms=$(dpkg-deb -c "$deb" | awk '$6 == "./etc/govjobd/" || $6 == "./etc/govjobd/govjobd.yaml" {print $1, $6}')
grep -qx 'drwxr-x--- ./etc/govjobd/' <<<"$perms" || { echo "/etc/govjobd is not 0750: $perms"; exit 1; }
grep -qx -- '-rw-r----- ./etc/govjobd/govjobd.yaml' <<<"$perms" || { echo "govjobd.yaml is not 0640: $perms"; exit 1; }
control=$(mktemp -d); trap 'rm -rf "$out" "$control"' EXIT
dpkg-deb -e "$deb" "$control"
# postinst, run with the tools it calls recorded instead of run: root:govjobd 0750 and 0640 through
# dpkg-statoverride, and a world-readable environment file left by an older README made 0640 root:govjobd
mkdir -p "$control/bin" "$control/etc"
for tool in dpkg-statoverride systemd-sysusers systemctl chown chmod deb-systemd-helper deb-systemd-invoke; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n[ "%s $1" != "dpkg-statoverride --list" ]\n' "$tool" "$control/calls" "$tool" >"$control/bin/$tool"
  chmod +x "$control/bin/$tool"
done
calls=$(PATH="$control/bin:$PATH" sh -c "sed 's|/etc/govjobd/environment|$control/etc/environment|' '$control/postinst' >'$control/postinst.t'
  touch '$control/etc/environment'; /bin/chmod 0644 '$control/etc/environment'; sh '$control/postinst.t' configure; cat '$control/calls'")
for expected in "dpkg-statoverride --update --add root govjobd 0750 /etc/govjobd" \
                "dpkg-statoverride --update --add root govjobd 0640 /etc/govjobd/govjobd.yaml" \
                "chown root:govjobd $control/etc/environment" "chmod 0640 $control/etc/environment"; do
  grep -qxF "$expected" <<<"$calls" || { echo "postinst did not run: $expected"; echo "$calls"; exit 1; }
done
info=$(dpkg-deb -I "$deb")
grep -q conffiles <<<"$info" || { echo "no conffiles"; exit 1; }
echo "$(basename "$deb"): ok; Depends: $depends"
