# shellcheck shell=bash
# lib.sh — helpers for the benchmarks (sourced by tests/bench/*.sh).
#
# Like the integration tests, a benchmark builds network namespaces of its own
# (named hgb-<pid>-<name>) joined by veth links, and sends packets only inside
# them (DESIGN.md, "Tests touch only their own network"). Addresses come only
# from 198.18.0.0/15 and 100.64.0.0/10. Whatever it created (namespaces,
# processes it started) is removed on exit, whatever the reason; the temp dir
# too, unless HGB_KEEP=1 or the run failed.

set -euo pipefail

# shellcheck disable=SC2034 # for the benchmarks
HGB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HGB_PREFIX=hgb-$$
HGB_TMP=$(mktemp -d "/tmp/$HGB_PREFIX.XXXXXX")
chmod 0755 "$HGB_TMP"
HGB_KEEP=${HGB_KEEP:-0}
HGB_OK=0
HGB_NETNS=()
HGB_PIDS=()
# shellcheck disable=SC2034 # for the benchmarks
HGB_CLK_TCK=$(getconf CLK_TCK)

unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM LISTEN_FDS LISTEN_PID

note() { printf '# %s\n' "$*"; }
die() {
	printf 'dhcp bench: %s\n' "$*" >&2
	exit 1
}

# ---- namespaces ------------------------------------------------------------

hgb_netns() { # NAME
	ip netns add "$1"
	HGB_NETNS+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# hgb_veth NS1 DEV1 NS2 DEV2: created inside NS1 so no name ever appears in
# the host's namespace.
hgb_veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# ---- processes -------------------------------------------------------------

# Processes the cleanup stops; one that ended is untracked at once, so its
# pid, reused later by someone else's process, is never signalled.
hgb_track() { HGB_PIDS+=("$1"); }
hgb_untrack() {
	local p keep=()
	for p in "${HGB_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	HGB_PIDS=("${keep[@]}")
}

# A process is gone when it has no /proc entry or is a zombie.
proc_gone() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 0
	[[ -z $st || $st == [ZX] ]]
}

# hgb_stop PID: SIGTERM, a bounded wait, then SIGKILL. Returns the exit status.
hgb_stop() {
	local pid=$1 i rc=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		proc_gone "$pid" && break
		sleep 0.05
	done
	proc_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	hgb_untrack "$pid"
	return $rc
}

# CPU time (user + system, all threads) of PID in clock ticks.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

proc_status_kib() { # PID FIELD (VmRSS, VmHWM)
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# Busy and total ticks of one CPU, from /proc/stat: "BUSY TOTAL".
cpu_ticks() { # CPU-NUMBER
	awk -v c="cpu$1" '$1 == c {
		t = 0; for (i = 2; i <= NF; i++) t += $i
		print t - $5 - $6, t }' /proc/stat
}

# A UDP counter of a namespace (/proc/net/snmp is per namespace).
# shellcheck disable=SC2016 # an awk program
udp_counter() { # NS NAME
	ip netns exec "$1" awk -v n="$2" '
		$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Udp:" && h { print $(col[n]) + 0; exit }' /proc/net/snmp
}

# ---- arithmetic --------------------------------------------------------------

calc() { awk "BEGIN { print $* }"; }
# fmt PRINTF-FORMAT VALUE: "-" stays "-".
fmt() {
	if [[ $2 == - || -z $2 ]]; then printf -- '-'; else awk -v v="$2" -v f="$1" 'BEGIN { printf f, v }'; fi
}

# ---- cleanup -----------------------------------------------------------------

_hgb_cleanup() {
	local rc=$? p ns
	set +e
	trap - EXIT INT TERM
	for p in "${HGB_PIDS[@]}"; do
		proc_gone "$p" || hgb_stop "$p" >/dev/null 2>&1
	done
	for ns in "${HGB_NETNS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if ((HGB_OK && !HGB_KEEP)); then
		rm -rf "$HGB_TMP"
	else
		note "configs, logs and perfdhcp output kept in $HGB_TMP"
	fi
	exit "$rc"
}
trap _hgb_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
