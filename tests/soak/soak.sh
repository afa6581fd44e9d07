#!/usr/bin/env bash
# soak.sh — homegwd for a long time in the lab's namespaces, under load and
# faults, then the same soak shortened on the sanitized build (issue 7). Not
# part of scripts/test.sh (it runs for the better part of an hour). As root:
#
#   sudo tests/soak/soak.sh                    30 min plain, then 5 min ASan/UBSan
#   sudo tests/soak/soak.sh --minutes 60       a longer plain run
#   sudo tests/soak/soak.sh --san-minutes 0    the plain run only
#   sudo tests/soak/soak.sh --minutes 0        the sanitized run only
#
# Options: --minutes N (plain run, default 30), --san-minutes N (default 5),
# --kill-every S (seconds between SIGKILLs, default 300; the sanitized run
# kills at half its length when that is shorter), --dhcp-rate R (perfdhcp,
# default 50/s), --dns-rate R (dnsperf, default 200 qps), --verbose.
# What runs and what is checked: tests/soak/soak.py's header. Logs stay in
# /run/homegw-soak/{plain,sanitize}/. Exit status 0 only when every check of
# every run passed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
minutes=30
san_minutes=5
kill_every=300
extra=()
while (($#)); do
	case $1 in
	--minutes) minutes=${2:?}; shift 2 ;;
	--san-minutes) san_minutes=${2:?}; shift 2 ;;
	--kill-every) kill_every=${2:?}; shift 2 ;;
	--dhcp-rate | --dns-rate) extra+=("$1" "${2:?}"); shift 2 ;;
	--verbose) extra+=("$1"); shift ;;
	-h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "soak.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done
for v in "$minutes" "$san_minutes" "$kill_every"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "soak.sh: $v: a whole number" >&2; exit 2; }
done
if [[ $(id -u) -ne 0 ]]; then
	echo "soak.sh: run as root (sudo tests/soak/soak.sh): it makes network namespaces" >&2
	exit 1
fi

"$ROOT/scripts/deps.sh"
build() { # DIR CMAKE-ARGS...
	local dir=$1
	shift
	cmake -S "$ROOT" -B "$ROOT/$dir" "$@" >/dev/null
	cmake --build "$ROOT/$dir" -j "$(nproc)" --target homegwd homegwctl
}

rc=0
if ((minutes > 0)); then
	echo "== soak, plain build: $minutes minutes, SIGKILL every ${kill_every}s"
	build build
	python3 "$ROOT/tests/soak/soak.py" run --bin "$ROOT/build" --minutes "$minutes" --kill-every "$kill_every" \
		--run-dir /run/homegw-soak/plain --progress "${extra[@]}" || rc=1
fi
if ((san_minutes > 0)); then
	k=$((san_minutes * 60 / 2))
	((k < kill_every)) || k=$kill_every
	echo "== soak, ASan/UBSan build: $san_minutes minutes, SIGKILL every ${k}s"
	build build-san -DHOMEGW_SANITIZE=ON
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		python3 "$ROOT/tests/soak/soak.py" run --bin "$ROOT/build-san" --minutes "$san_minutes" \
		--kill-every "$k" --run-dir /run/homegw-soak/sanitize --progress "${extra[@]}" || rc=1
fi
exit $rc
