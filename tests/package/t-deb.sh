#!/usr/bin/env bash
# t-deb: the Debian package, built from this tree, installed on a fresh
# Debian 12 and run under a real systemd (issue 7). As root:
#
#   sudo tests/package/t-deb.sh
#
#   - cpack -G DEB in a build dir of its own (with dpkg-buildflags, as a
#     Debian build would), the contents, conffiles and scripts checked,
#     lintian (errors fail, the rest is printed);
#   - a Debian 12 root by debootstrap --variant=minbase (+ systemd), its
#     tarball cached; the package's dependencies fetched into it from the
#     host side (the only network use), then
#   - that root booted with systemd-nspawn (--private-network: no network,
#     no devices but lo, so also: homegwd starts without br-lan, br-guest
#     and eth0 of the default config), and inside it: apt-get install
#     ./homegw_*.deb; the unit enabled, active, READY by sd_notify; status
#     answers; the process is the user homegw with CAP_EFF 0x3400; reload,
#     a refused reload of a broken file (the daemon keeps running), stop;
#     systemd-analyze security (the online score); remove, then purge:
#     the package, its conffile, /var/lib/homegw and the enable state gone.
#   - Where nspawn cannot boot the root, the fallback: dpkg -i in a chroot
#     (postinst without systemd), with a "NOT tested" note for every step
#     that needs systemd.
#
# Environment:
#   HOMEGW_PKG_BUILD  build dir of the package (default build-deb/, made afresh)
#   HOMEGW_PKG_CACHE  where the debootstrap tarball is kept (default
#                     build-deb-cache/; remade when older than 30 days)
#   HOMEGW_DEB_MIRROR the Debian mirror (default http://deb.debian.org/debian)
#   HOMEGW_JOBS       build parallelism (default: nproc)
#   HOMEGW_PKG_CHROOT=1  run the chroot fallback instead of booting (to test it)
#   HGT_KEEP=1        keep the container root and the logs
# shellcheck disable=SC2016 source-path=SCRIPTDIR/../integration source=../integration/lib.sh
set -euo pipefail

PKG_SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${HOMEGW_PKG_BUILD:-$PKG_SRC/build-deb}
CACHE=${HOMEGW_PKG_CACHE:-$PKG_SRC/build-deb-cache}
MIRROR=${HOMEGW_DEB_MIRROR:-http://deb.debian.org/debian}
JOBS=${HOMEGW_JOBS:-$(nproc)}
SUITE=bookworm
# What the root needs beyond minbase: systemd as PID 1 (systemd-sysv:
# /sbin/init). No dbus: systemctl as root talks to systemd's private socket.
INCLUDE=systemd,systemd-sysv

if [[ $(id -u) -ne 0 ]]; then
	echo "not ok - t-deb runs as root (debootstrap, chroot, systemd-nspawn)"
	echo "FAIL t-deb (not root)"
	exit 1
fi

# It is removed and made afresh: never the tree itself or a system directory.
case $(realpath -m "$BUILD") in
/ | /usr | /usr/* | /etc | /etc/* | /var | /home | "$PKG_SRC")
	echo "not ok - HOMEGW_PKG_BUILD=$BUILD is a build dir of its own"
	echo "FAIL t-deb (bad HOMEGW_PKG_BUILD)"
	exit 1
	;;
esac

# ---- the package, built before lib.sh is sourced (it wants the binaries) ----
build_log=$(mktemp /tmp/t-deb-build.XXXXXX)
build_pkg() {
	local bf=(env DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get)
	rm -rf "$BUILD"
	# dpkg-buildflags: what a Debian build passes (hardening: fortify,
	# stack protector, relro, bindnow). CMake has no CPPFLAGS: into CFLAGS.
	CFLAGS="$("${bf[@]}" CPPFLAGS) $("${bf[@]}" CFLAGS)" LDFLAGS="$("${bf[@]}" LDFLAGS)" \
		cmake -S "$PKG_SRC" -B "$BUILD" -DCMAKE_INSTALL_PREFIX=/usr -DHOMEGW_TESTS=OFF &&
		cmake --build "$BUILD" -j "$JOBS" && (cd "$BUILD" && cpack -G DEB)
}
t0=$(date +%s)
if ! build_pkg >"$build_log" 2>&1; then
	echo "not ok - the package builds (cmake, cpack -G DEB in $BUILD)"
	tail -n 30 "$build_log" | sed 's/^/#     /'
	echo "FAIL t-deb (no package)"
	exit 1
fi
build_secs=$(($(date +%s) - t0))

HOMEGW_BIN=$BUILD
# shellcheck source=../integration/lib.sh
source "$PKG_SRC/tests/integration/lib.sh"
mv "$build_log" "$HGT_TMP/build.log"
pass "cmake + cpack -G DEB build the package (${build_secs}s, log build.log)"

ROOTFS=$BUILD/deb-root
MACHINE=$HGT_PREFIX-deb
NSPAWN_PID=
LEADER=

stop_container() {
	local i
	if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		[[ -z $LEADER ]] || in_ct systemctl poweroff >/dev/null 2>&1 || true
		for ((i = 0; i < 200; i++)); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			# nspawn: SIGTERM halts the container, a second one ends it at once
			kill -TERM "$NSPAWN_PID" 2>/dev/null || true
			sleep 2
			kill -TERM "$NSPAWN_PID" 2>/dev/null || true
			kill -KILL "$NSPAWN_PID" 2>/dev/null || true
		fi
		wait "$NSPAWN_PID" 2>/dev/null || true
	fi
	NSPAWN_PID=
	LEADER=
	# nspawn cannot remove this itself where /run is not a tmpfs of its own
	rm -rf "/run/systemd/nspawn/propagate/$MACHINE"
}

# Whatever happens, the container is stopped before anything is removed.
_pkg_cleanup() {
	stop_container
	if [[ ${HGT_KEEP:-0} != 1 && $HGT_FAILS == 0 && -d $ROOTFS ]] && ! grep -qF " $ROOTFS" /proc/mounts; then
		rm -rf "$ROOTFS"
	fi
}
# shellcheck disable=SC2154 # _rc: set in the trap itself
trap '_rc=$?; set +e; _pkg_cleanup; (exit $_rc); _hgt_cleanup' EXIT

# ---- the .deb itself ----
mapfile -t debs < <(find "$BUILD" -maxdepth 1 -name 'homegw_*.deb')
((${#debs[@]} == 1)) || fatal "one homegw_*.deb in $BUILD" "found: ${debs[*]:-none}"
DEB=${debs[0]}
version=$(sed -n 's/^project(homegw VERSION \([0-9.]*\).*/\1/p' "$PKG_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
check_eq "file name homegw_<version>_<arch>.deb" "homegw_${version}_$arch.deb" "$(basename "$DEB")"
check_eq "control: Package, Version, Architecture" "homegw $version $arch" \
	"$(dpkg-deb -f "$DEB" Package Version Architecture | sed 's/^[A-Za-z]*: //' | tr '\n' ' ' | sed 's/ $//')"
depends=$(dpkg-deb -f "$DEB" Depends)
for d in systemd procps libc6 libuv1 libmnl0 libnftnl11 libjansson4; do
	check_match "Depends names $d" "(^|, )$d( |,|$)" "$depends"
done
contents=$(dpkg-deb -c "$DEB" | awk '{print $1, $NF}')
for f in -rwxr-xr-x:./usr/sbin/homegwd -rwxr-xr-x:./usr/bin/homegwctl -rw-r--r--:./etc/homegw/homegw.conf \
	-rw-r--r--:./lib/systemd/system/homegwd.service -rw-r--r--:./usr/lib/sysusers.d/homegw.conf \
	-rw-r--r--:./usr/lib/tmpfiles.d/homegw.conf -rw-r--r--:./usr/share/man/man8/homegwd.8.gz \
	-rw-r--r--:./usr/share/man/man8/homegwctl.8.gz -rw-r--r--:./usr/share/man/man5/homegw.conf.5.gz \
	-rw-r--r--:./usr/share/doc/homegw/copyright -rw-r--r--:./usr/share/doc/homegw/changelog.gz; do
	check_match "contains ${f#*:} (${f%%:*})" "(^|$NL)$(re_quote "${f%%:*} ${f#*:}")($NL|$)" "$contents"
done
ctl_dir=$HGT_TMP/control
dpkg-deb -e "$DEB" "$ctl_dir"
check_eq "conffiles: /etc/homegw/homegw.conf" /etc/homegw/homegw.conf "$(cat "$ctl_dir/conffiles")"
for s in postinst prerm postrm; do
	check_eq "maintainer script $s: executable, the one in systemd/deb/" "0755 same" \
		"$(stat -c %a "$ctl_dir/$s" | sed 's/^/0/') $(cmp -s "$ctl_dir/$s" "$PKG_SRC/systemd/deb/$s" && echo same)"
done
unit_pkg=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./lib/systemd/system/homegwd.service)
check_eq "the packaged unit is systemd/homegwd.service (prefix /usr: paths as written)" \
	"" "$(diff <(printf '%s\n' "$unit_pkg") "$PKG_SRC/systemd/homegwd.service")"
printf '%s\n' "$unit_pkg" >"$HGT_TMP/homegwd.service"
note "offline: $(systemd-analyze security --offline=yes --no-pager "$HGT_TMP/homegwd.service" 2>&1 | grep -o 'Overall exposure.*' || true)"
check_eq "changelog's latest version is the package's" "homegw ($version)" \
	"$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/homegw/changelog.gz | gzip -dc | head -n 1 |
		sed 's/^\(homegw ([^)]*)\).*/\1/')"

if command -v lintian >/dev/null; then
	lint=$(lintian --tag-display-limit 0 -I "$DEB" 2>&1 | grep -v 'running with root privileges' || true)
	while IFS= read -r l; do [[ -z $l ]] || note "lintian: $l"; done <<<"$lint"
	check_eq "lintian: no errors" "" "$(grep '^E:' <<<"$lint" || true)"
else
	note "lintian is not installed: the package is NOT linted"
fi

# ---- a fresh Debian 12 root ----
# The tarball holds the .debs of minbase + systemd; unpacking it is a full
# debootstrap without the downloads. Remade when missing or a month old.
tarball=$CACHE/$SUITE-minbase-${INCLUDE//,/-}.tgz
mkdir -p "$CACHE"
if [[ -z $(find "$tarball" -mtime -30 2>/dev/null) ]]; then
	t0=$(date +%s)
	rm -rf "$CACHE/mk"
	if ! debootstrap --variant=minbase --include="$INCLUDE" --make-tarball="$tarball.new" \
		"$SUITE" "$CACHE/mk" "$MIRROR" >"$HGT_TMP/debootstrap-download.log" 2>&1; then
		fatal "debootstrap --make-tarball ($SUITE from $MIRROR)" "$(tail -n 20 "$HGT_TMP/debootstrap-download.log")"
	fi
	mv "$tarball.new" "$tarball"
	rm -rf "$CACHE/mk"
	note "debootstrap: downloaded $SUITE minbase + $INCLUDE in $(($(date +%s) - t0))s ($(du -h "$tarball" | cut -f1) tarball)"
else
	note "debootstrap: using the cached $tarball ($(date -r "$tarball" +%F))"
fi
rm -rf "$ROOTFS"
t0=$(date +%s)
check_rc "debootstrap --variant=minbase --unpack-tarball: a $SUITE root" 0 \
	debootstrap --variant=minbase --include="$INCLUDE" --unpack-tarball="$tarball" "$SUITE" "$ROOTFS" "$MIRROR"
((RC == 0)) || fatal "a $SUITE root to test in" "$(tail -n 20 "$ROOTFS/debootstrap/debootstrap.log" 2>/dev/null)"
note "debootstrap: root unpacked and configured in $(($(date +%s) - t0))s"
check_eq "the root is Debian 12" 12 "$(sed -n 's/^VERSION_ID="\{0,1\}\([0-9]*\).*/\1/p' "$ROOTFS/etc/os-release")"

# in_chroot COMMAND...: COMMAND chrooted into the root, with a /proc (which
# systemd-tmpfiles needs) mounted in a mount namespace of its own: gone
# with the command, whatever happens.
in_chroot() {
	unshare --mount --propagation private -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$ROOTFS" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root DEBIAN_FRONTEND=noninteractive "$@"
}

# The package's dependencies, fetched from the host side (the container has
# no network): apt-get install in the container finds them in its cache.
cp "$DEB" "$ROOTFS/root/"
DEB_IN=/root/$(basename "$DEB")
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
t0=$(date +%s)
check_rc "in the root: apt-get update" 0 in_chroot apt-get update -q
check_rc "in the root: apt-get install --download-only $DEB_IN (its dependencies from $MIRROR)" 0 \
	in_chroot apt-get install -y -q --download-only "$DEB_IN"
note "apt: lists and dependencies fetched in $(($(date +%s) - t0))s"
rm -f "$ROOTFS/etc/resolv.conf"
((HGT_FAILS == 0)) || fatal "the root is ready for the package"

# ---- the container ----
# in_ct COMMAND...: run COMMAND inside the booted container (all its
# namespaces), with a clean environment.
in_ct() {
	nsenter -t "$LEADER" -a -r -w -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 HOME=/root TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive "$@"
}

# Boot: no machined on this host (PID 1 is not systemd: no system bus), so
# --register=no and --keep-unit (no scope of its own).
boot_container() {
	local i state
	t0=$(date +%s)
	systemd-nspawn --quiet --boot --directory="$ROOTFS" --machine="$MACHINE" --private-network \
		--register=no --keep-unit --console=pipe </dev/null >"$HGT_TMP/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd || true)
		[[ -z $LEADER ]] || break
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [[ -z $LEADER ]]; then
		note "systemd-nspawn exited or started no systemd; its output:"
		sed 's/^/#   /' "$HGT_TMP/nspawn.log" | tail -n 30
		return 1
	fi
	# systemctl as root needs systemd's private socket: there once the
	# manager runs (there is no D-Bus in the root)
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		in_ct test -S /run/systemd/private && break
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.05
	done
	state=$(timeout 120 nsenter -t "$LEADER" -a -- systemctl is-system-running --wait 2>&1 || true)
	note "container booted in $(($(date +%s) - t0))s: systemd is PID 1 (host pid $LEADER), state \"$state\""
	if [[ $state != running ]]; then
		note "failed units: $(in_ct systemctl --failed --plain --no-legend 2>&1 | tr '\n' ';')"
		[[ $state == degraded ]] || return 1
	fi
	return 0
}

# ---- in the booted container ----
booted_tests() {
	local pid st uid exposure
	t0=$(date +%s)
	check_rc "apt-get install $DEB_IN (no network: dependencies from the cache)" 0 \
		in_ct apt-get install -y -q "$DEB_IN"
	note "apt-get install took $(($(date +%s) - t0))s"
	((RC == 0)) || {
		printf '%s\n' "$OUT" "$ERR" | tail -n 20 | sed 's/^/#   /'
		return 0
	}
	check_eq "dpkg: homegw $version installed" "install ok installed $version" \
		"$(in_ct dpkg-query -W -f '${Status} ${Version}' homegw 2>&1)"
	check_eq "dns-root-data came along (Recommends; the example config names its file)" yes \
		"$(in_ct test -f /usr/share/dns/root.hints && echo yes || echo no)"

	# postinst: the user, the state dir, enabled and started
	uid=$(in_ct id -u homegw 2>&1 || true)
	check_match "postinst: systemd-sysusers made the system user homegw" '^[0-9]+$' "$uid"
	check_match "postinst: /var/lib/homegw is homegw's, 0750" "^750 homegw homegw$" \
		"$(in_ct stat -c '%a %U %G' /var/lib/homegw 2>&1)"
	check_eq "postinst: homegwd.service is enabled" enabled "$(in_ct systemctl is-enabled homegwd.service 2>&1)"
	check_eq "postinst: homegwd.service is active (running)" "active running" \
		"$(in_ct systemctl show -P ActiveState homegwd.service) $(in_ct systemctl show -P SubState homegwd.service)"
	# Type=notify goes active only on READY=1; STATUS= came with it (main.c)
	check_eq "Type=notify, READY reached: the daemon's STATUS=running" "notify running" \
		"$(in_ct systemctl show -P Type homegwd.service) $(in_ct systemctl show -P StatusText homegwd.service)"
	note "journal: $(in_ct journalctl -b -u homegwd.service -o cat --no-pager 2>&1 | tr '\n' '|')"

	check_rc "homegwctl status answers (the default socket)" 0 in_ct homegwctl --json status
	local status=$OUT
	check_jq "status: the installed config, /etc/homegw/homegw.conf" "$status" \
		'.ok == true and .config.path == "/etc/homegw/homegw.conf"'
	check_jq "status: started without br-lan, br-guest, eth0 (none is present)" "$status" \
		'[.interfaces[] | select(.present)] == [] and ([.interfaces[].device] | sort) == ["br-guest", "br-lan", "eth0"]'
	note "status: $(jq -c '.modules' <<<"$status" 2>/dev/null || echo "$status")"

	pid=$(in_ct systemctl show -P MainPID homegwd.service)
	st=$(in_ct cat "/proc/$pid/status" 2>&1 || true)
	field() { sed -n "s/^$1:[[:space:]]*//p" <<<"$st" | tr -s '[:space:]' ' ' | sed 's/ $//'; }
	check_eq "MainPID $pid runs as homegw (Uid: real effective saved fs)" "$uid $uid $uid $uid" "$(field Uid)"
	check_eq "CapEff: exactly NET_ADMIN, NET_RAW, NET_BIND_SERVICE" 0000000000003400 "$(field CapEff)"
	check_eq "CapPrm: the same three" 0000000000003400 "$(field CapPrm)"
	check_eq "NoNewPrivs and a seccomp filter" "1 2" "$(field NoNewPrivs) $(field Seccomp)"
	note "CapInh $(field CapInh) CapBnd $(field CapBnd) CapAmb $(field CapAmb)"

	# reload: good, then a broken file (refused by ExecReload's --check; the
	# daemon keeps the old configuration and keeps running)
	check_rc "systemctl reload homegwd: exit 0" 0 in_ct systemctl reload homegwd.service
	# ExecReload's kill -HUP returns at once; the daemon says when it is done
	wait_for "journal: the reload was applied" bash -c \
		'nsenter -t "$1" -a journalctl -u homegwd.service -o cat --no-pager | grep -qF "$2"' \
		_ "$LEADER" "reload: configuration /etc/homegw/homegw.conf applied"
	check_eq "after reload: active, same MainPID" "active $pid" \
		"$(in_ct systemctl show -P ActiveState homegwd.service) $(in_ct systemctl show -P MainPID homegwd.service)"
	cp "$ROOTFS/etc/homegw/homegw.conf" "$HGT_TMP/homegw.conf.orig"
	printf 'no-such-keyword yes\n' >>"$ROOTFS/etc/homegw/homegw.conf"
	check_rc "systemctl reload with a broken config: fails" 1 in_ct systemctl reload homegwd.service
	check_contains "journal: the error with its file:line" "/etc/homegw/homegw.conf:$(wc -l <"$ROOTFS/etc/homegw/homegw.conf"):" \
		"$(in_ct journalctl -u homegwd.service -o cat --no-pager 2>&1)"
	check_eq "after the refused reload: still active, same MainPID" "active $pid" \
		"$(in_ct systemctl show -P ActiveState homegwd.service) $(in_ct systemctl show -P MainPID homegwd.service)"
	check_rc "after the refused reload: status answers" 0 in_ct homegwctl --json status
	cp "$HGT_TMP/homegw.conf.orig" "$ROOTFS/etc/homegw/homegw.conf"

	# the online score, by the systemd that runs the unit
	# the same threshold as t-systemd-unit's offline one (1.9 both, now)
	check_rc "systemd-analyze security homegwd.service (online): exposure at most 2.0" 0 \
		in_ct systemd-analyze security --no-pager --threshold=20 homegwd.service
	while IFS= read -r l; do note "online: $l"; done < <(grep -E '✗|Overall' <<<"$OUT")
	exposure=$(sed -n 's/.*Overall exposure level for homegwd.service: \([0-9.]*\).*/\1/p' <<<"$OUT")
	note "online exposure: ${exposure:-?}"

	check_rc "systemctl stop homegwd: exit 0" 0 in_ct systemctl stop homegwd.service
	check_eq "after stop: inactive, Result=success (exit 0 on SIGTERM)" "inactive success" \
		"$(in_ct systemctl show -P ActiveState homegwd.service) $(in_ct systemctl show -P Result homegwd.service)"
	check_eq "after stop: /run/homegw removed (RuntimeDirectory=)" no \
		"$(in_ct test -e /run/homegw && echo yes || echo no)"
	check_rc "systemctl start homegwd again: exit 0" 0 in_ct systemctl start homegwd.service
	check_rc "started again: status answers" 0 in_ct homegwctl --json status

	# remove: prerm stops it, the conffile and the state stay
	check_rc "apt-get remove homegw: exit 0" 0 in_ct apt-get remove -y -q homegw
	check_eq "after remove: the daemon is stopped (prerm)" inactive \
		"$(in_ct systemctl is-active homegwd.service 2>&1 || true)"
	check_eq "after remove: no homegwd process" "" "$(in_ct pgrep -x homegwd || true)"
	check_eq "after remove: dpkg state config-files, the conffile and /var/lib/homegw kept" \
		"deinstall ok config-files yes yes" \
		"$(in_ct dpkg-query -W -f '${Status}' homegw) $(in_ct test -f /etc/homegw/homegw.conf && echo yes) $(
			in_ct test -d /var/lib/homegw && echo yes)"
	# purge: everything of ours goes
	check_rc "apt-get purge homegw: exit 0" 0 in_ct apt-get purge -y -q homegw
	check_eq "after purge: dpkg does not know homegw" "" "$(in_ct dpkg-query -W -f '${Status}' homegw 2>/dev/null || true)"
	for f in /etc/homegw/homegw.conf /etc/homegw /var/lib/homegw /usr/sbin/homegwd /lib/systemd/system/homegwd.service \
		/etc/systemd/system/multi-user.target.wants/homegwd.service \
		/var/lib/systemd/deb-systemd-helper-enabled/homegwd.service.dsh-also \
		/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/homegwd.service; do
		check_eq "after purge: $f is gone" no "$(in_ct test -e "$f" && echo yes || echo no)"
	done
	check_eq "after purge: systemd knows no homegwd.service" not-found \
		"$(in_ct systemctl show -P LoadState homegwd.service 2>&1)"
}

# ---- the fallback: a chroot, no systemd ----
chroot_tests() {
	local uid
	note "NOT tested (no booted systemd): the unit enabled and started by postinst, READY, reload, stop, the online score"
	# what debhelper's postinst would do under a running systemd is skipped
	# (no /run/systemd/system); policy-rc.d forbids starting anything anyway.
	printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
	chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
	check_rc "chroot: apt-get install $DEB_IN (postinst without systemd)" 0 \
		in_chroot apt-get install -y -q "$DEB_IN"
	uid=$(in_chroot id -u homegw 2>&1 || true)
	check_match "chroot postinst: the system user homegw" '^[0-9]+$' "$uid"
	check_eq "chroot postinst: /var/lib/homegw is homegw's, 0750" "750 $uid $(in_chroot id -g homegw 2>&1 || true)" \
		"$(stat -c '%a %u %g' "$ROOTFS/var/lib/homegw" 2>&1)"
	check_eq "chroot postinst: enabled (the wants/ link)" /lib/systemd/system/homegwd.service \
		"$(readlink "$ROOTFS/etc/systemd/system/multi-user.target.wants/homegwd.service" 2>&1)"
	check_rc "chroot: the installed homegwd accepts the installed config (--check)" 0 \
		in_chroot /usr/sbin/homegwd --check -c /etc/homegw/homegw.conf
	check_rc "chroot: apt-get purge homegw" 0 in_chroot apt-get purge -y -q homegw
	check_eq "chroot purge: conffile, /var/lib/homegw, the enable link gone" "no no no" "$(
		for f in /etc/homegw/homegw.conf /var/lib/homegw /etc/systemd/system/multi-user.target.wants/homegwd.service; do
			[[ -e $ROOTFS$f || -L $ROOTFS$f ]] && printf 'yes ' || printf 'no '
		done | sed 's/ $//'
	)"
	rm -f "$ROOTFS/usr/sbin/policy-rc.d"
	note "the process's user and capabilities under the unit's limits are proven without systemd by tests/integration/t-systemd-unit.sh and t-privdrop.sh"
}

if [[ ${HOMEGW_PKG_CHROOT:-0} == 1 ]]; then
	note "HOMEGW_PKG_CHROOT=1: the container is not booted; the chroot fallback runs instead"
	chroot_tests
elif ! command -v systemd-nspawn >/dev/null; then
	note "systemd-nspawn is not installed (systemd-container): falling back to a chroot"
	chroot_tests
elif boot_container; then
	pass "systemd-nspawn boots the root with systemd as PID 1"
	booted_tests
else
	note "systemd-nspawn could not boot the root here (see above): falling back to a chroot"
	stop_container
	chroot_tests
fi

hgt_done
