#!/usr/bin/env bash
# The .deb installed and purged with dpkg, as root, on this machine: the files, the govjobd user, the modes
# of /etc/govjobd, the unit enabled (deb-systemd-helper), then after --purge every file, the enablement,
# the recorded modes and the state directory gone, and the user kept (as postrm says). Exit 77 (skipped)
# when not root or when a govjobd package is installed already (never replaced by a test).
set -euo pipefail
build=$1
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: installing a .deb needs root"; exit 77; fi
if dpkg-query -W -f='${Status}' govjobd 2>/dev/null | grep -q installed; then
  echo "SKIP: a govjobd package is installed on this machine; the test does not replace it"; exit 77
fi
out=$(mktemp -d)
trap 'dpkg --purge govjobd >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >/dev/null
deb=$(ls "$out"/*.deb)
wants=/etc/systemd/system/multi-user.target.wants/govjobd.service

dpkg -i "$deb" >"$out/install.log" 2>&1 || { cat "$out/install.log"; fail "dpkg -i failed"; }
for f in /usr/bin/govjobd /usr/lib/systemd/system/govjobd.service /usr/lib/sysusers.d/govjobd.conf \
         /etc/govjobd/govjobd.yaml /usr/share/man/man1/govjobd.1.gz /usr/share/doc/govjobd/copyright /usr/share/doc/govjobd/docs/config.md \
         /usr/share/doc/govjobd/changelog.gz; do
  [[ -e $f ]] || fail "missing after install: $f"
done
getent passwd govjobd >/dev/null || fail "no govjobd user after install"
[[ $(stat -c '%a %U:%G' /etc/govjobd) == "750 root:govjobd" ]] || fail "/etc/govjobd is $(stat -c '%a %U:%G' /etc/govjobd)"
[[ $(stat -c '%a %U:%G' /etc/govjobd/govjobd.yaml) == "640 root:govjobd" ]] || fail "govjobd.yaml is $(stat -c '%a %U:%G' /etc/govjobd/govjobd.yaml)"
[[ -L $wants ]] || fail "the unit is not enabled after install ($wants)"
/usr/bin/govjobd check-config -c /etc/govjobd/govjobd.yaml >/dev/null || fail "the installed conffile fails check-config"
man -l /usr/share/man/man1/govjobd.1.gz 2>/dev/null | grep -q 'check-config' || \
  zcat /usr/share/man/man1/govjobd.1.gz | grep -q 'check-config' || fail "the man page does not list check-config"

# what the daemon would have made under systemd (StateDirectory=), and an administrator's secret
install -d -o govjobd -g govjobd /var/lib/govjobd && touch /var/lib/govjobd/state
install -m 0640 -o root -g govjobd /dev/null /etc/govjobd/db-password

dpkg --remove govjobd >"$out/remove.log" 2>&1 || { cat "$out/remove.log"; fail "dpkg --remove failed"; }
[[ ! -e /usr/bin/govjobd ]] || fail "/usr/bin/govjobd left after remove"
[[ -e /etc/govjobd/govjobd.yaml ]] || fail "remove (not purge) took the conffile"
dpkg --purge govjobd >"$out/purge.log" 2>&1 || { cat "$out/purge.log"; fail "dpkg --purge failed"; }
[[ ! -e /etc/govjobd/govjobd.yaml ]] || fail "the conffile is left after purge"
[[ ! -e /var/lib/govjobd ]] || fail "/var/lib/govjobd is left after purge"
[[ ! -e $wants && ! -L $wants ]] || fail "the unit is still enabled after purge"
[[ ! -e /var/lib/systemd/deb-systemd-helper-enabled/govjobd.service.dsh-also ]] || fail "deb-systemd-helper state left"
! dpkg-statoverride --list /etc/govjobd >/dev/null || fail "the statoverride of /etc/govjobd is left"
[[ -e /etc/govjobd/db-password ]] || fail "purge removed the administrator's own file"
getent passwd govjobd >/dev/null || fail "purge removed the govjobd user (postrm keeps it)"
rm -f /etc/govjobd/db-password && rmdir /etc/govjobd
echo "install, remove and purge of $(basename "$deb"): ok"
