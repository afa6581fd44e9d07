#!/usr/bin/env bash
# t-systemd-unit: the systemd files are valid and fit the daemon.
#   - systemd-analyze verify: the unit is clean (ExecStart pointed at the
#     binary under test); its offline security exposure stays low;
#   - the sysusers and tmpfiles snippets create the user and the state dir
#     (applied to a scratch root, not to this machine);
#   - homegwd started the way the unit starts it as far as it can be done
#     without systemd: the unit's CapabilityBoundingSet, NoNewPrivileges
#     (setpriv) and UMask, and every syscall it makes (strace) is in the
#     unit's SystemCallFilter.
# Starting the unit under a real systemd (Type=notify, watchdog, reload)
# needs systemd as PID 1; where it is not, that part is reported as not run.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

UNIT_SRC=$HGT_ROOT/systemd/homegwd.service
[[ -f $UNIT_SRC ]] || fatal "systemd/homegwd.service exists"

pid1=$(cat /proc/1/comm)
if [[ $pid1 == systemd ]]; then
	note "PID 1 is systemd, but this test does not install units on the host: starting homegwd.service is NOT tested here"
else
	note "PID 1 is \"$pid1\", not systemd: homegwd.service cannot be started here; starting it is NOT tested"
fi

# ---- systemd-analyze verify ----
unitdir=$HGT_TMP/unit
mkdir -p "$unitdir"
sed "s#/usr/sbin/homegwd#$HOMEGWD#g" "$UNIT_SRC" >"$unitdir/homegwd.service"
# Documentation= names our man pages: verify finds them in the tree (MANPATH)
mkdir -p "$HGT_TMP/man/man5" "$HGT_TMP/man/man8"
cp "$HGT_ROOT"/daemon/man/*.5 "$HGT_TMP/man/man5/"
cp "$HGT_ROOT"/daemon/man/*.8 "$HGT_TMP/man/man8/"
check_rc "systemd-analyze verify homegwd.service: exit 0" 0 \
	env MANPATH="$HGT_TMP/man" systemd-analyze verify "$unitdir/homegwd.service"
check_eq "systemd-analyze verify homegwd.service: no complaints" "" "$OUT$ERR"

# Exposure is 0 (locked down) to 10 (wide open); --threshold is in tenths.
check_rc "systemd-analyze security --offline: exposure at most 4.0" 0 \
	systemd-analyze security --offline=yes --threshold=40 "$unitdir/homegwd.service"
note "$(grep -o 'Overall exposure level.*' <<<"$OUT" || true)"

for key in Type=notify NotifyAccess=main WatchdogSec= ExecReload= NoNewPrivileges=yes ProtectSystem=strict; do
	check_match "homegwd.service sets $key" "(^|$NL)$key" "$(<"$UNIT_SRC")"
done

# ---- sysusers and tmpfiles, applied to a scratch root ----
root=$HGT_TMP/root
mkdir -p "$root/etc"
check_rc "systemd-sysusers homegw.sysusers: exit 0" 0 \
	systemd-sysusers --root="$root" "$HGT_ROOT/systemd/homegw.sysusers"
entry=$(grep '^homegw:' "$root/etc/passwd" || true)
check_match "sysusers: a system user homegw, home /var/lib/homegw, no login" \
	'^homegw:x:[0-9]+:[0-9]+:homegw daemon:/var/lib/homegw:/(usr/)?s?bin/(nologin|false)$' "$entry"
check_match "sysusers: a group homegw" '^homegw:x:[0-9]+:' "$(grep '^homegw:' "$root/etc/group" || true)"
check_rc "systemd-tmpfiles --create homegw.tmpfiles: exit 0" 0 \
	systemd-tmpfiles --root="$root" --create "$HGT_ROOT/systemd/homegw.tmpfiles"
uid=$(cut -d: -f3 <<<"$entry")
check_eq "tmpfiles: /var/lib/homegw is a directory, 0750, owned by homegw" "directory 750 ${uid:-?}" \
	"$(stat -c '%F %a %u' "$root/var/lib/homegw" 2>&1)"

# ---- the daemon under the unit's privileges, traced ----
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT_SRC")
[[ -n $caps ]] || fatal "homegwd.service has a CapabilityBoundingSet="
bounding=-all
for c in $caps; do
	c=${c#CAP_}
	bounding+=,+${c,,}
done
note "bounding set from the unit: $bounding"

USER_=hgt-unit$$
hgt_user "$USER_"
GW=$HGT_PREFIX-gw
PEER=$HGT_PREFIX-peer
hgt_netns "$GW"
hgt_netns "$PEER"
hgt_veth "$GW" veth-lan "$PEER" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24
hgt_config <<EOF
user $USER_
interface lan { device veth-lan }
EOF
chown "$USER_:" "$HGT_STATE"

sanitized=0
if nm "$HOMEGWD" 2>/dev/null | grep -q __asan_init; then sanitized=1; fi

trace=$HGT_TMP/strace.out
hgt_new_log
# LeakSanitizer cannot work under ptrace: leaks are checked by the other tests.
umask_=$(sed -n 's/^UMask=//p' "$UNIT_SRC")
(
	umask "${umask_:-0022}"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		exec ip netns exec "$GW" strace -f -qq -o "$trace" \
		setpriv --bounding-set="$bounding" --inh-caps=-all --no-new-privs -- \
		"$HOMEGWD" -c "$HGT_CONF" >>"$HGT_LOG" 2>&1
) &
tracer=$!
HGT_HELPERS+=("$tracer")
HGT_PID=
for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
	HGT_PID=$(pgrep -P "$tracer" -x homegwd || true)
	[[ -z $HGT_PID ]] || break
	sleep 0.05
done
[[ -n $HGT_PID ]] || fatal "homegwd starts under strace and setpriv" "$(cat "$HGT_LOG")"
note "homegwd pid $HGT_PID under strace (pid $tracer), log $HGT_LOG"
hgt_wait_ready
check_eq "under the unit's bounding set: dropped to $USER_ with the three capabilities" \
	"$(id -u "$USER_") 0000000000003400" \
	"$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p; s/^CapEff:[[:space:]]*//p' "/proc/$HGT_PID/status" | tr '\n' ' ' | sed 's/ $//')"
check_eq "under the unit's umask ${umask_:-none}: the control socket is still 0660" 660 "$(stat -c %a "$HGT_SOCK")"
check_rc "under the unit's bounding set: reload exits 0" 0 ctl --json reload
kill -HUP "$HGT_PID"
wait_for "under the unit's bounding set: answers after SIGHUP" ctl --json status
kill -TERM "$HGT_PID"
rc=0
wait "$tracer" || rc=$?
check_eq "under the unit's bounding set: exit status 0 on SIGTERM" 0 "$rc"
HGT_PID=
check_sanitizer_clean "$HGT_LOG" "no sanitizer report in homegwd's log"

# The syscalls homegwd made after its execve, against @system-service.
expand_set() { # @GROUP: its syscalls, groups expanded
	systemd-analyze syscall-filter "$1" | sed -n 's/^[[:space:]]\{4\}\([@a-z0-9_-]*\)$/\1/p' |
		while read -r s; do
			if [[ $s == @* ]]; then expand_set "$s"; else echo "$s"; fi
		done
}
filter=$(sed -n 's/^SystemCallFilter=//p' "$UNIT_SRC")
allowed=$HGT_TMP/allowed
: >"$allowed"
for g in $filter; do
	if [[ $g == @* ]]; then expand_set "$g" >>"$allowed"; else echo "$g" >>"$allowed"; fi
done
sort -u -o "$allowed" "$allowed"
# The trace holds setpriv (the first pid, until it execs homegwd), then
# homegwd and its threads (libuv's pool).
used=$(awk -v bin="$HOMEGWD" '
	NR == 1 { first = $1 }
	$1 == first && !execd {
		if ($2 ~ /^execve\(/ && index($0, "\"" bin "\"") && $NF == "0") execd = 1
		next
	}
	match($2, /^[a-z0-9_]+\(/) { print substr($2, 1, RLENGTH - 1) }
	' "$trace" | sort -u)
note "homegwd used $(wc -w <<<"$used") distinct syscalls"
if [[ -z $used ]]; then
	fail "strace saw homegwd's syscalls" "nothing found in $trace"
elif ((sanitized)); then
	note "sanitized build: the sanitizer runtime's own syscalls would be counted; the SystemCallFilter check runs on the plain build only (NOT checked here)"
else
	outside=$(comm -23 <(tr ' ' '\n' <<<"$used" | grep .) "$allowed" | tr '\n' ' ')
	check_eq "every syscall homegwd made is in SystemCallFilter=$filter" "" "$outside"
fi

hgt_done
