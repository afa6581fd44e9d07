#!/usr/bin/env bash
# test.sh — the one test command (README; .ci/run runs it). As root:
#
#   sudo scripts/test.sh           everything: plain build, sanitized build
#                                  (ASan+UBSan), unit and integration tests on
#                                  both, the Debian package installed and run
#                                  in a booted Debian 12 container, fuzz
#                                  targets built with clang and run briefly
#   sudo scripts/test.sh --quick   plain build, unit and integration tests only
#
# Builds go to build/, build-san/, build-fuzz/ and build-deb/ (made from
# scratch each run; build-deb-cache/ keeps the debootstrap tarball), every
# step's output to build-logs/STEP.log. The summary at the end
# lists every step PASS/FAIL/SKIP; the exit status is 0 only when none
# failed. FUZZ_SECONDS (default 20) sets each fuzz target's run time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

quick=0
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	-h | --help)
		sed -n '2,15s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "test.sh: unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done

if [[ $(id -u) -ne 0 ]]; then
	echo "test.sh: run as root (sudo scripts/test.sh): the tests make network namespaces and users" >&2
	exit 1
fi

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
LOGS=$ROOT/build-logs
JOBS=$(nproc)
started=$(date +%s)
rm -rf "$LOGS"
mkdir -p "$LOGS"

# Sanitized binaries stop at the first report; integration tests fail on
# any report in a log, whatever the exit status.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

names=()
results=()
times=()
npass=0
nfail=0
nskip=0

record() { # NAME RESULT SECONDS
	names+=("$1")
	results+=("$2")
	times+=("$3")
	case $2 in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)) ;;
	*) nskip=$((nskip + 1)) ;;
	esac
}

# step NAME COMMAND...: run COMMAND with its output in build-logs/NAME.log;
# one line PASS/FAIL, and the log's end on failure. Returns COMMAND's status.
step() {
	local name=$1 log t0 rc=0
	shift
	log=$LOGS/${name//[\/ ]/_}.log
	t0=$(date +%s)
	printf '%-44s ' "$name"
	"$@" >"$log" 2>&1 </dev/null || rc=$?
	local dt=$(($(date +%s) - t0))
	if ((rc == 0)); then
		printf 'PASS  %4ss\n' "$dt"
		record "$name" PASS "$dt"
	else
		printf 'FAIL  %4ss  (exit %s; %s)\n' "$dt" "$rc" "${log#"$ROOT"/}"
		# Integration tests say what failed in their "not ok" lines; other
		# steps in their last lines.
		if grep -q '^not ok' "$log"; then
			grep -A 12 '^not ok' "$log" | head -n 60 | sed 's/^/    | /'
		else
			tail -n 40 "$log" | sed 's/^/    | /'
		fi
		record "$name" FAIL "$dt"
	fi
	return $rc
}

skip() { # NAME WHY
	printf '%-44s SKIP  (%s)\n' "$1" "$2"
	record "$1" SKIP 0
}

build() { # DIR CMAKE-ARGS...: configure and build DIR from scratch
	local dir=$1
	shift
	rm -rf "$dir"
	cmake -S "$ROOT" -B "$dir" "$@" && cmake --build "$dir" -j "$JOBS"
}

# libFuzzer needs clang; the unit tests come along as a second compiler's -Werror check.
build_fuzz() { CC=clang build build-fuzz -DHOMEGW_FUZZ=ON -DHOMEGW_TESTS=ON; }

# Namespaces of tests that were killed outright (their pid is gone) would
# linger: remove them. Those of a test still running elsewhere stay.
sweep_namespaces() {
	local ns pid p
	for ns in $(ip netns list | awk '{print $1}' | grep -E '^hgt-[0-9]+-' || true); do
		pid=${ns#hgt-}
		pid=${pid%%-*}
		if ! kill -0 "$pid" 2>/dev/null; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
}

unit_tests() { # BUILD-DIR LABEL
	local t tests
	tests=$(ctest --test-dir "$1" -N | sed -n 's/^ *Test *#[0-9]*: *//p')
	if [[ -z $tests ]]; then
		skip "unit/$2" "no unit tests registered"
		return
	fi
	for t in $tests; do
		step "unit/$2 $t" ctest --test-dir "$1" -R "^$t\$" --output-on-failure --timeout 300 || true
	done
}

integration_tests() { # BUILD-DIR LABEL
	local t
	sweep_namespaces
	for t in tests/integration/t-*.sh; do
		step "integration/$2 $(basename "$t" .sh)" env HOMEGW_BIN="$1" timeout 600 bash "$t" || true
	done
	sweep_namespaces
}

fuzz_runs() {
	local f d name seeds corpus targets
	# add_subdirectory(tests) puts them in build-fuzz/tests/.
	mapfile -t targets < <(find build-fuzz -name 'fuzz_*' -type f -perm -u+x | sort)
	if ((${#targets[@]} == 0)); then
		step "fuzz targets built" false
		return
	fi
	for f in "${targets[@]}"; do
		name=$(basename "$f")
		corpus=build-fuzz/corpus/$name
		mkdir -p "$corpus" build-fuzz/artifacts
		# Seeds in the repo are read, never written: new inputs go to the
		# build dir's corpus.
		seeds=()
		for d in "tests/fuzz/corpus/$name" "tests/fuzz/$name"; do
			[[ -d $d ]] && seeds+=("$d")
		done
		step "fuzz $name (${FUZZ_SECONDS}s)" "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$name-" \
			"$corpus" "${seeds[@]}" || true
	done
}

echo "== homegw tests ($([[ $quick == 1 ]] && echo quick || echo full)) in $ROOT"
step "deps" "$ROOT/scripts/deps.sh" || {
	echo "dependencies could not be installed: stopping" >&2
	exit 1
}

if step "build/plain" build build; then
	unit_tests build plain
	integration_tests build plain
	# cpack's .deb (its own build dir), in a debootstrapped root booted by systemd-nspawn
	((quick)) || step "package/deb" timeout 1800 bash tests/package/t-deb.sh || true
else
	skip "tests/plain" "build failed"
fi

if ((!quick)); then
	if step "build/sanitize" build build-san -DHOMEGW_SANITIZE=ON; then
		unit_tests build-san sanitize
		integration_tests build-san sanitize
	else
		skip "tests/sanitize" "build failed"
	fi

	if step "build/fuzz (clang)" build_fuzz; then
		fuzz_runs
	else
		skip "fuzz" "build failed"
	fi
fi

wall=$(($(date +%s) - started))
echo
echo "== summary"
for i in "${!names[@]}"; do
	printf '  %-4s %5ss  %s\n' "${results[$i]}" "${times[$i]}" "${names[$i]}"
done
printf '== %d passed, %d failed, %d skipped in %dm%02ds (logs: %s)\n' \
	"$npass" "$nfail" "$nskip" $((wall / 60)) $((wall % 60)) "${LOGS#"$ROOT"/}/"
if ((nfail > 0 || nskip > 0)); then
	echo "== FAIL"
	exit 1
fi
echo "== PASS"
