# shellcheck shell=bash
# lib.sh — helpers for the integration tests (sourced by tests/integration/t-*.sh).
#
# Every test builds its own network namespaces (named hgt-<pid>-<name>) and
# veth links and sends traffic only inside them (DESIGN.md, "Tests touch only
# their own network"). Addresses come only from 198.51.100.0/24,
# 203.0.113.0/24, 198.18.0.0/15 and 100.64.0.0/10.
#
# Environment:
#   HOMEGW_BIN   directory holding homegwd and homegwctl (default: build/;
#                relative paths are taken from the repository root)
#   HGT_KEEP=1   keep the temp dir (configs, logs) even when the test passed
#
# Output: one "ok - ..." or "not ok - ..." line per check, details of a
# failure indented below it, and a last line "PASS name (N checks)" or
# "FAIL name (...)". The exit status is 0 only when every check passed and
# the script reached hgt_done. Anything a test created (namespaces, daemons,
# helper processes, users, groups) is removed on exit, whatever the reason.

set -euo pipefail

HGT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HOMEGW_BIN=${HOMEGW_BIN:-build}
[[ $HOMEGW_BIN == /* ]] || HOMEGW_BIN=$HGT_ROOT/$HOMEGW_BIN
HOMEGWD=$HOMEGW_BIN/homegwd
HOMEGWCTL=$HOMEGW_BIN/homegwctl

# Whatever the caller runs under (a systemd unit, a CI runner) must not leak
# into the daemons the tests start: each test sets these itself.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM LISTEN_FDS LISTEN_PID

HGT_NAME=$(basename "$0" .sh)
HGT_PREFIX=hgt-$$
HGT_TMP=$(mktemp -d "/tmp/$HGT_PREFIX.XXXXXX")
# Searchable by everyone: t-admin's and t-privdrop's users reach the socket
# and the config in here.
chmod 0755 "$HGT_TMP"

HGT_CHECKS=0
HGT_FAILS=0
HGT_DONE=0
HGT_NETNS=()
HGT_HELPERS=()
HGT_USERS=()
HGT_GROUPS=()
HGT_LOGS=()

# The daemon started last.
HGT_PID=
HGT_LOG=
HGT_NS=
HGT_CONF=$HGT_TMP/homegw.conf
HGT_SOCK=$HGT_TMP/control.sock
HGT_STATE=$HGT_TMP/state
HGT_RC=
HGT_STARTS=0

# How long to wait for things that must happen (bounded polls, never a
# fixed sleep for success). Sanitized builds start more slowly.
HGT_TIMEOUT=${HGT_TIMEOUT:-20}

# Sanitizer reports (ASan, LSan, UBSan, ...) in a log fail the test even
# when the process happened to exit 0.
HGT_SANITIZER_RE='(ERROR|WARNING): [A-Za-z]*Sanitizer|SUMMARY: [A-Za-z]*Sanitizer|runtime error:'

for _tool in "$HOMEGWD" "$HOMEGWCTL"; do
	if [[ ! -x $_tool ]]; then
		echo "not ok - $_tool is not built (HOMEGW_BIN=$HOMEGW_BIN)"
		echo "FAIL $HGT_NAME (no binaries)"
		rm -rf "$HGT_TMP"
		exit 1
	fi
done
unset _tool

# ---- output and assertions ---------------------------------------------

note() { printf '# %s\n' "$*"; }

# shellcheck disable=SC2034 # for the tests
NL=$'\n'

# re_quote TEXT: TEXT as an ERE that matches it literally.
# shellcheck disable=SC2001 # a bracket expression, not a fixed string
re_quote() { sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"; }

pass() {
	HGT_CHECKS=$((HGT_CHECKS + 1))
	printf 'ok - %s\n' "$1"
}

# fail DESC [DETAIL-LINES...]
fail() {
	HGT_CHECKS=$((HGT_CHECKS + 1))
	HGT_FAILS=$((HGT_FAILS + 1))
	printf 'not ok - %s\n' "$1"
	shift
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/#     /'
	done
}

# A failure after which the test cannot go on.
fatal() {
	fail "$@"
	exit 1
}

check_eq() { # DESC EXPECTED GOT
	if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "expected: $2" "got:      $3"; fi
}

check_match() { # DESC ERE TEXT
	if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1" "expected to match: $2" "got: $3"; fi
}

check_contains() { # DESC NEEDLE TEXT
	if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1" "expected to contain: $2" "got: $3"; fi
}

check_not_contains() { # DESC NEEDLE TEXT
	if [[ $3 != *"$2"* ]]; then pass "$1"; else fail "$1" "expected not to contain: $2" "got: $3"; fi
}

# check_jq DESC JSON FILTER [JQ-ARGS...]: FILTER must yield true.
check_jq() {
	local desc=$1 json=$2 filter=$3 got
	shift 3
	if got=$(jq -e "$@" "$filter" <<<"$json" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "jq filter: $filter${*:+ (args: $*)}" "yielded: ${got:-<nothing>}" "on: $json"
	fi
}

# check_rc DESC EXPECTED-RC COMMAND...: runs COMMAND with stdout and stderr
# captured into $OUT and $ERR (and its status into $RC) for later checks.
check_rc() {
	local desc=$1 want=$2
	shift 2
	RC=0
	"$@" >"$HGT_TMP/out" 2>"$HGT_TMP/err" || RC=$?
	OUT=$(<"$HGT_TMP/out")
	ERR=$(<"$HGT_TMP/err")
	cat "$HGT_TMP/err" >>"$HGT_TMP/clients.log"
	if [[ $RC == "$want" ]]; then
		pass "$desc"
	else
		fail "$desc" "command: $*" "expected exit status $want, got $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}

# wait_for DESC COMMAND...: poll COMMAND (every 50 ms, up to $HGT_TIMEOUT s)
# until it succeeds; a check either way.
wait_for() {
	local desc=$1 i
	shift
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		if "$@" >/dev/null 2>&1; then
			pass "$desc"
			return 0
		fi
		sleep 0.05
	done
	fail "$desc" "still false after ${HGT_TIMEOUT}s: $*"
	return 1
}

# ---- namespaces and links ----------------------------------------------

# hgt_netns NAME: a fresh namespace with lo up. IPv6 is off: the tests use
# IPv4 ranges only and link-local addresses would appear asynchronously
# (DAD) in the interface lists the tests compare.
hgt_netns() {
	ip netns add "$1"
	HGT_NETNS+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# hgt_veth NS1 DEV1 NS2 DEV2: a veth pair, both ends up. Created inside NS1
# directly so no name ever appears in the host's namespace.
hgt_veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

hgt_addr() { # NS DEV CIDR
	ip -n "$1" addr add "$3" dev "$2"
}

# The IPv4 addresses of DEV in NS as a sorted JSON array of "A/LEN".
ip_addrs_json() {
	ip -n "$1" -j -4 addr show dev "$2" | jq -c '[.[0].addr_info[] | "\(.local)/\(.prefixlen)"] | sort'
}

ip_ifindex() {
	ip -n "$1" -j link show dev "$2" | jq '.[0].ifindex'
}

# ---- users -----------------------------------------------------------------

hgt_group() { # NAME
	if getent group "$1" >/dev/null; then
		note "group $1 already exists: using it"
	else
		groupadd -r "$1"
		HGT_GROUPS+=("$1")
	fi
}

hgt_user() { # NAME [SUPPLEMENTARY-GROUP]
	if getent passwd "$1" >/dev/null; then
		note "user $1 already exists: using it"
		[[ -z ${2:-} ]] || usermod -a -G "$2" "$1"
	else
		useradd -r -M -U -d /nonexistent -s /usr/sbin/nologin ${2:+-G "$2"} "$1"
		HGT_USERS+=("$1")
	fi
}

# as_user USER COMMAND...: run COMMAND as USER with USER's groups.
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# ---- the daemon ------------------------------------------------------------

# hgt_config: the config file from stdin, after the lines every test needs
# (state dir and control socket in the test's temp dir).
hgt_config() {
	mkdir -p "$HGT_STATE"
	{
		printf 'state-dir %s\n' "$HGT_STATE"
		printf 'log-level debug\n'
		cat
	} >"$HGT_CONF"
	if ! grep -q '^control' "$HGT_CONF"; then
		printf 'control { socket %s }\n' "$HGT_SOCK" >>"$HGT_CONF"
	fi
}

# hgt_new_log: a fresh log file for the next daemon, in $HGT_LOG (checked
# for sanitizer reports at the end whatever happens).
hgt_new_log() {
	HGT_STARTS=$((HGT_STARTS + 1))
	HGT_LOG=$HGT_TMP/homegwd.$HGT_STARTS.log
	HGT_LOGS+=("$HGT_LOG")
	: >"$HGT_LOG"
}

# hgt_start NS [HOMEGWD-ARGS...]: start homegwd in NS with $HGT_CONF, its
# stdout and stderr in a log of its own. Variables given on the call
# (NOTIFY_SOCKET=... hgt_start ...) reach the daemon's environment;
# HGT_JOURNAL=1 makes the log its journal stream (JOURNAL_STREAM set to the
# log's device:inode in decimal, as systemd does).
hgt_start() {
	local ns=$1
	shift
	hgt_new_log
	# shellcheck disable=SC2034 # for the tests
	HGT_NS=$ns
	if [[ ${HGT_JOURNAL:-0} == 1 ]]; then
		JOURNAL_STREAM=$(stat -c '%d:%i' "$HGT_LOG")
		export JOURNAL_STREAM
	fi
	# ip netns exec execs the command: $! is homegwd itself.
	ip netns exec "$ns" "$HOMEGWD" -c "$HGT_CONF" "$@" >>"$HGT_LOG" 2>&1 &
	HGT_PID=$!
	note "homegwd started in $ns: pid $HGT_PID, log $HGT_LOG${JOURNAL_STREAM:+, JOURNAL_STREAM=$JOURNAL_STREAM}"
	unset JOURNAL_STREAM
}

# A process is gone when it has no /proc entry or is a zombie (or dead).
# Other states count as alive, "t (tracing stop)" included: LeakSanitizer
# stops the process that way at exit.
proc_gone() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 0
	[[ -z $st || $st == [ZX] ]]
}

hgt_log_tail() {
	[[ -n $HGT_LOG && -s $HGT_LOG ]] || return 0
	echo "# --- last lines of $HGT_LOG:"
	tail -n 30 "$HGT_LOG" | sed 's/^/#   /'
}

# hgt_wait_ready: poll `status` until the daemon answers (bounded). Fatal
# when the daemon exits first or never answers.
hgt_wait_ready() {
	local i
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		if proc_gone "$HGT_PID"; then
			hgt_log_tail
			fatal "homegwd answers status" "homegwd (pid $HGT_PID) exited before answering"
		fi
		if "$HOMEGWCTL" -s "$HGT_SOCK" --json status >/dev/null 2>&1; then
			pass "homegwd answers status on $HGT_SOCK"
			return 0
		fi
		sleep 0.05
	done
	hgt_log_tail
	fatal "homegwd answers status" "no answer on $HGT_SOCK after ${HGT_TIMEOUT}s"
}

# Run a client program and keep its stderr for the sanitizer check.
_hgt_client() {
	local rc=0
	"$@" 2>"$HGT_TMP/client.err" || rc=$?
	cat "$HGT_TMP/client.err" >>"$HGT_TMP/clients.log"
	cat "$HGT_TMP/client.err" >&2
	return $rc
}

ctl() { _hgt_client "$HOMEGWCTL" -s "$HGT_SOCK" "$@"; }
ctl_as() { # USER ARGS...
	local u=$1
	shift
	_hgt_client as_user "$u" "$HOMEGWCTL" -s "$HGT_SOCK" "$@"
}

# raw_lines: send stdin to the control socket on one connection, print the
# answers (one per line).
raw_lines() {
	timeout 20 socat -t 5 - "UNIX-CONNECT:$HGT_SOCK"
}

# The value of a status field (jq path), for comparisons.
status_field() { ctl --json status | jq -c "$1"; }

# check_sanitizer_clean LOG DESC
HGT_LOGS_CHECKED=()
check_sanitizer_clean() {
	local hits
	HGT_LOGS_CHECKED+=("$1")
	if hits=$(grep -E -m 5 "$HGT_SANITIZER_RE" "$1" 2>/dev/null); then
		fail "$2" "sanitizer report in $1:" "$hits"
	else
		pass "$2"
	fi
}

# hgt_stop [SIGNAL]: signal the daemon (default TERM), wait (bounded) for it
# to exit; checks the exit status is 0 and the log has no sanitizer report.
# Leaves the status in $HGT_RC.
hgt_stop() {
	local sig=${1:-TERM} i
	kill -s "$sig" "$HGT_PID" 2>/dev/null || true
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		proc_gone "$HGT_PID" && break
		sleep 0.05
	done
	if ! proc_gone "$HGT_PID"; then
		fail "homegwd exits on SIG$sig" "still running after ${HGT_TIMEOUT}s; killing it"
		kill -KILL "$HGT_PID" 2>/dev/null || true
	fi
	HGT_RC=0
	wait "$HGT_PID" 2>/dev/null || HGT_RC=$?
	if [[ $HGT_RC == 0 ]]; then
		pass "homegwd exits with status 0 on SIG$sig"
	else
		fail "homegwd exits with status 0 on SIG$sig" "exit status $HGT_RC"
		hgt_log_tail
	fi
	check_sanitizer_clean "$HGT_LOG" "no sanitizer report in homegwd's log"
	HGT_PID=
}

# ---- helpers in the background --------------------------------------------

# hgt_helper COMMAND...: run COMMAND in the background; killed at exit.
hgt_helper() {
	"$@" &
	HGT_HELPERS+=($!)
}

# ---- the end ---------------------------------------------------------------

hgt_done() { HGT_DONE=1; }

_hgt_cleanup() {
	local rc=$? p ns u g l
	set +e
	trap - EXIT INT TERM
	if [[ -n $HGT_PID ]] && ! proc_gone "$HGT_PID"; then
		kill -TERM "$HGT_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do proc_gone "$HGT_PID" && break; sleep 0.05; done
		kill -KILL "$HGT_PID" 2>/dev/null
		wait "$HGT_PID" 2>/dev/null
	fi
	for p in "${HGT_HELPERS[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for ns in "${HGT_NETNS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	for u in "${HGT_USERS[@]}"; do userdel "$u" 2>/dev/null; done
	for g in "${HGT_GROUPS[@]}"; do groupdel "$g" 2>/dev/null; done
	# Whatever happened, a sanitizer report anywhere fails the test.
	for l in "${HGT_LOGS[@]}" "$HGT_TMP/clients.log"; do
		[[ " ${HGT_LOGS_CHECKED[*]} " != *" $l "* ]] || continue
		if [[ -f $l ]] && grep -qE "$HGT_SANITIZER_RE" "$l"; then
			fail "no sanitizer report in $(basename "$l")" "$(grep -E -m 5 "$HGT_SANITIZER_RE" "$l")"
		fi
	done
	if ((!HGT_DONE)); then
		HGT_FAILS=$((HGT_FAILS + 1))
		printf 'not ok - %s stopped early (exit status %s)\n' "$HGT_NAME" "$rc"
		hgt_log_tail
	fi
	if ((HGT_FAILS == 0)); then
		if [[ ${HGT_KEEP:-0} == 1 ]]; then note "kept $HGT_TMP"; else rm -rf "$HGT_TMP"; fi
		printf 'PASS %s (%d checks)\n' "$HGT_NAME" "$HGT_CHECKS"
		exit 0
	fi
	note "logs and configs kept in $HGT_TMP"
	printf 'FAIL %s (%d of %d checks failed)\n' "$HGT_NAME" "$HGT_FAILS" "$HGT_CHECKS"
	exit 1
}
trap _hgt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $(id -u) -ne 0 ]]; then
	fatal "running as root" "the integration tests need root (namespaces, users)"
fi
