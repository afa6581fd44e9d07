#!/usr/bin/env bash
# nat.sh — the nat module against issue 5's performance targets, in one run.
#
# Four namespaces of the run's own: LAN, GW (homegwd), WAN as in the nat
# integration tests, and NFT, empty, where the reference `nft -f` runs (so
# that nothing, not even an event listener, is shared with homegwd's). homegwd
# and nft run on CPU 1, the clients and load generators on CPU 0.
#   1. 10,000 forwards: `homegwctl reload` from a config without forwards to
#      one with 10,000 `forward` lines (tcp 20000-29999 → LAN hosts) and
#      back, and homegwd's start with them, against `nft -f` of the same
#      table as `nft list table inet homegw` prints it (and of the element
#      changes alone), several runs alternating; each change must be exactly
#      one nftables transaction (the ruleset's generation id: +1);
#   2. PCP: N MAP requests from the LAN, one in flight at a time: homegwd's
#      CPU time per mapping, the request → answer latency, the kernel map;
#   3. `nat table` over 50,000 conntrack entries (masqueraded UDP flows made
#      by a generator in the LAN) while a probe sends DNS queries and DHCP
#      INFORMs to homegwd at a steady rate: their latency during the dumps
#      against the rest of the time.
# Output: tables and the ratios / verdicts against the issue's targets. See
# tests/bench/README.md.
#
#   sudo tests/bench/nat.sh [--forwards N] [--runs N] [--pcp N] [--flows N] [--dumps N]
#                           [--qps N] [--dhcp-rate N] [--skip-forwards] [--skip-pcp] [--skip-table] [--keep]
#
# Exit status: 0 when every stage run was measured; 1 when homegwd failed to
# start, answer or apply a change, or the harness itself failed. A target not
# met is a finding, not a failure.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<'EOF'
usage: nat.sh [--forwards N] [--runs N] [--pcp N] [--flows N] [--dumps N] [--qps N] [--dhcp-rate N]
              [--skip-forwards] [--skip-pcp] [--skip-table] [--keep]        (as root)
  --forwards N      forward lines of stage 1 (tcp 20000 ...; default 10000, at most 45000)
  --runs N          runs of each stage-1 measurement, alternating homegw and nft (default 5, at most 20)
  --pcp N           PCP MAP requests of stage 2 (default 2000, at most 8000: 50 per client address)
  --flows N         conntrack entries of stage 3 (default 50000, at most 200000)
  --dumps N         `nat table` runs of stage 3 (default 5, at most 20)
  --qps N           DNS queries a second of the stage-3 probe (default 2000)
  --dhcp-rate N     DHCP INFORMs a second of the stage-3 probe (default 200; 0: none)
  --skip-forwards, --skip-pcp, --skip-table   leave a stage out
  --keep            keep the temp dir (configs, logs, listings, probe and load output)
Environment: HOMEGW_BIN (directory with homegwd and homegwctl; default build/).
EOF
}

FORWARDS=10000
RUNS=5
PCP_N=2000
FLOWS=50000
DUMPS=5
QPS=2000
DHCP_RATE=200
SKIP_FWD=0
SKIP_PCP=0
SKIP_TABLE=0
KEEP=0
while (($#)); do
	case $1 in
	--forwards) FORWARDS=${2:?}; shift 2 ;;
	--runs) RUNS=${2:?}; shift 2 ;;
	--pcp) PCP_N=${2:?}; shift 2 ;;
	--flows) FLOWS=${2:?}; shift 2 ;;
	--dumps) DUMPS=${2:?}; shift 2 ;;
	--qps) QPS=${2:?}; shift 2 ;;
	--dhcp-rate) DHCP_RATE=${2:?}; shift 2 ;;
	--skip-forwards) SKIP_FWD=1; shift ;;
	--skip-pcp) SKIP_PCP=1; shift ;;
	--skip-table) SKIP_TABLE=1; shift ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in FORWARDS RUNS PCP_N FLOWS DUMPS QPS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] ||
		{ echo "--${v%_N}: a positive whole number" | tr '[:upper:]_' '[:lower:]-' >&2; exit 2; }
done
[[ $DHCP_RATE =~ ^[0-9]+$ ]] || { echo "--dhcp-rate: a whole number" >&2; exit 2; }
# Bounds: ports (tcp 20000 + N - 1 <= 65535), homegwd's PCP limits (64 a
# client, 8192 in all), the shared machine.
((FORWARDS <= 45000)) || { echo "--forwards: at most 45000 (tcp 20000-64999)" >&2; exit 2; }
((RUNS <= 20)) || { echo "--runs: at most 20" >&2; exit 2; }
((PCP_N <= 8000)) || { echo "--pcp: at most 8000" >&2; exit 2; }
((FLOWS <= 200000)) || { echo "--flows: at most 200000" >&2; exit 2; }
((DUMPS <= 20)) || { echo "--dumps: at most 20" >&2; exit 2; }
((QPS <= 20000 && DHCP_RATE <= 5000)) || { echo "--qps: at most 20000, --dhcp-rate at most 5000" >&2; exit 2; }

if [[ $(id -u) -ne 0 ]]; then
	echo "nat bench: run as root (namespaces): sudo $0" >&2
	exit 1
fi

HGB_KEEP=$KEEP
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
die() {
	printf 'nat bench: %s\n' "$*" >&2
	exit 1
}

HOMEGW_BIN=${HOMEGW_BIN:-build}
[[ $HOMEGW_BIN == /* ]] || HOMEGW_BIN=$HGB_ROOT/$HOMEGW_BIN
HOMEGWD=$HOMEGW_BIN/homegwd
HOMEGWCTL=$HOMEGW_BIN/homegwctl
[[ -x $HOMEGWD && -x $HOMEGWCTL ]] ||
	die "homegwd/homegwctl not built in $HOMEGW_BIN (cmake --build build, or set HOMEGW_BIN)"
for tool in nft conntrack python3 jq taskset chrt ip awk sort diff; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs it)"
done

# ---- the network -----------------------------------------------------------------
#
#   LAN ns                         GW ns (homegwd)                      WAN ns
#   eth0 198.51.100.2/24 --veth-- veth-lan 198.51.100.1/24
#        198.51.100.10.. (PCP      veth-wan 203.0.113.2/24 ----veth---- eth0 203.0.113.1/24
#        clients, stage 2)         forwarding, default via .1           route 198.51.100.0/24 via .2
#   default via .1                                                      (stage 3: drops the generator's UDP)
#
#   NFT ns: nothing but lo; `nft -f` of the reference ruleset runs there.
NS_LAN=$HGB_PREFIX-lan
NS_GW=$HGB_PREFIX-gw
NS_WAN=$HGB_PREFIX-wan
NS_NFT=$HGB_PREFIX-nft
GW_LAN=198.51.100.1
CLIENT=198.51.100.2
GW_WAN=203.0.113.2
PEER=203.0.113.1
PCP_FIRST=198.51.100.10
PCP_PER_CLIENT=50 # homegwd grants at most 64 a client (NAT_PCP_PER_CLIENT)

hgb_netns "$NS_LAN"
hgb_netns "$NS_GW"
hgb_netns "$NS_WAN"
hgb_netns "$NS_NFT"
hgb_veth "$NS_GW" veth-lan "$NS_LAN" eth0
hgb_veth "$NS_GW" veth-wan "$NS_WAN" eth0
ip -n "$NS_GW" addr add "$GW_LAN/24" dev veth-lan
ip -n "$NS_GW" addr add "$GW_WAN/24" dev veth-wan
ip -n "$NS_LAN" addr add "$CLIENT/24" dev eth0
ip -n "$NS_WAN" addr add "$PEER/24" dev eth0
ip -n "$NS_LAN" route add default via "$GW_LAN"
ip -n "$NS_GW" route add default via "$PEER"
ip -n "$NS_WAN" route add 198.51.100.0/24 via "$GW_WAN"
ip netns exec "$NS_GW" sysctl -q -w net.ipv4.ip_forward=1

# homegwd and nft on CPU 1; homegwctl, the python clients and probes on CPU 0.
NCPU=$(nproc)
if ((NCPU >= 2)); then
	CPU_CLI=0
	CPU_SRV=1
	PIN_CLI=(taskset -c "$CPU_CLI")
	PIN_SRV=(taskset -c "$CPU_SRV")
	# the script itself and whatever it starts unpinned (ip, awk, jq ...)
	# stay off homegwd's CPU too
	taskset -p -c "$CPU_CLI" $$ >/dev/null
else
	CPU_CLI=
	CPU_SRV=
	PIN_CLI=()
	PIN_SRV=()
fi

# srv_cpu PID: CPU seconds of PID's threads, from the scheduler's exact
# se.sum_exec_runtime where the kernel has /proc/PID/sched (a reload costs
# tens of ms: 10 ms clock ticks would not do), else utime + stime ticks.
if [[ -r /proc/self/sched ]] && grep -q '^se.sum_exec_runtime' /proc/self/sched; then
	CPU_HOW="se.sum_exec_runtime of its threads (/proc/PID/task/*/sched)"
	srv_cpu() {
		awk '$1 == "se.sum_exec_runtime" { t += $3 } END { printf "%.6f\n", t / 1000 }' \
			/proc/"$1"/task/*/sched 2>/dev/null || true
	}
else
	CPU_HOW="utime + stime (/proc/PID/stat, 1/$HGB_CLK_TCK s ticks)"
	srv_cpu() { calc "$(proc_ticks "$1") / $HGB_CLK_TCK"; }
fi

now_ns() { local t=$EPOCHREALTIME; printf '%s000\n' "${t/./}"; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }'; } # NS NS

# TIMED: a shell body that runs "$@" with stdout+stderr in $0 and prints
# "WALL_US USER_S SYS_S RC": wall time from EPOCHREALTIME around the command
# alone, CPU time from bash's `time` (the child's user and system time). Run
# inside the namespace and pinned, so that neither `ip netns exec` nor
# taskset is in the figure.
# shellcheck disable=SC2016 # expanded by the inner bash
TIMED='TIMEFORMAT="%U %S"; rc=0; t0=$EPOCHREALTIME
{ time "$@" >"$0" 2>&1 || rc=$?; } 2>"$0.time"; t1=$EPOCHREALTIME
read -r tu ts <"$0.time"; printf "%s %s %s %s\n" "$(( ${t1/./} - ${t0/./} ))" "$tu" "$ts" "$rc"'

# gen NS: the nftables generation id of NS (+1 per committed transaction).
gen() { ip netns exec "$1" "${PIN_CLI[@]}" python3 "$HERE/nat-nftgen.py" gen; }

# Busy % of each pinned CPU over one second while none of ours runs: the
# share other people's processes took just before a stage.
other_load() {
	local a0 at0 b0 bt0 a1 at1 b1 bt1
	[[ -n $CPU_CLI ]] || { printf 'one CPU: not pinned'; return; }
	read -r a0 at0 < <(cpu_ticks "$CPU_CLI")
	read -r b0 bt0 < <(cpu_ticks "$CPU_SRV")
	sleep 1
	read -r a1 at1 < <(cpu_ticks "$CPU_CLI")
	read -r b1 bt1 < <(cpu_ticks "$CPU_SRV")
	printf 'CPU %s %s%%, CPU %s %s%% busy with other processes (1 s sample), load average %s' \
		"$CPU_CLI" "$(calc "int(100 * ($a1 - $a0) / ($at1 - $at0 + 0.001))")" \
		"$CPU_SRV" "$(calc "int(100 * ($b1 - $b0) / ($bt1 - $bt0 + 0.001))")" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- homegwd ------------------------------------------------------------------------
#
# One config path that every stage overwrites (a reload re-reads it); the
# variants are written beside it and copied over it.
SRV_DIR=$HGB_TMP/homegw
SRV_CONF=$SRV_DIR/homegw.conf
SRV_SOCK=$SRV_DIR/control.sock
SRV_LOG=$SRV_DIR/homegwd.log
SRV_PID=
mkdir -p "$SRV_DIR/state"
ctl() { "${PIN_CLI[@]}" "$HOMEGWCTL" -s "$SRV_SOCK" "$@"; }

# gw_config FILE FORWARDS [EXTRA-NAT-LINES [EXTRA-SECTIONS]]: the LAN
# (dhcp scope: forwards must point into a LAN subnet), the WAN masqueraded,
# the firewall on (the default), FORWARDS `forward tcp 20000+i
# 198.51.100.(2 + i % 250)` lines. log-level warning: the benchmark measures
# the work, not the log.
gw_config() {
	{
		cat <<EOF
state-dir $SRV_DIR/state
log-level warning
interface lan { device veth-lan }
interface wan { device veth-wan }
dhcp lan { pool 198.51.100.100 198.51.100.250 }
${4:-}
nat {
	masquerade wan
${3:-}
EOF
		awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++)
			printf "\tforward tcp %d 198.51.100.%d\n", 20000 + i, 2 + i % 250 }'
		printf '}\ncontrol { socket %s }\n' "$SRV_SOCK"
	} >"$1"
}

# A stand-in for systemd's notify socket: "READY REALTIME_NS" for each READY=1
# homegwd sends (at start, and after each reload), so that the start is
# timed to the moment homegwd says it serves, not to a polling loop.
NOTIFY_SOCK=$SRV_DIR/notify.sock
NOTIFY_OUT=$SRV_DIR/notify.log
cat >"$HGB_TMP/notify.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "a").close()
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        d = s.recv(4096)
        t = time.time_ns()
        if b"READY=1" in d.split(b"\n"):
            f.write("READY %d\n" % t)
EOF
"${PIN_CLI[@]}" python3 "$HGB_TMP/notify.py" "$NOTIFY_SOCK" "$NOTIFY_OUT" &
hgb_track $!
for ((i = 0; i < 100; i++)); do [[ -S $NOTIFY_SOCK && -e $NOTIFY_OUT ]] && break; sleep 0.05; done
[[ -S $NOTIFY_SOCK ]] || die "the notify listener did not start"

ready_count() { grep -c '^READY' "$NOTIFY_OUT" || true; }

# homegw_start CONF: homegwd in GW with CONF copied to SRV_CONF; waits for
# READY=1. START_MS: from the launch to READY=1; START_CPU_MS: homegwd's CPU
# time by then (all of its start: config, interfaces, modules, the table).
homegw_start() {
	local n0 t0 t1 i
	cp "$1" "$SRV_CONF"
	n0=$(ready_count)
	t0=$(now_ns)
	ip netns exec "$NS_GW" env NOTIFY_SOCKET="$NOTIFY_SOCK" "${PIN_SRV[@]}" "$HOMEGWD" -c "$SRV_CONF" \
		>>"$SRV_LOG" 2>&1 &
	SRV_PID=$!
	hgb_track "$SRV_PID"
	for ((i = 0; i < 3000; i++)); do
		(($(ready_count) > n0)) && break
		if proc_gone "$SRV_PID"; then
			tail -n 15 "$SRV_LOG" | sed 's/^/#   /'
			die "homegwd exited at start (log: $SRV_LOG)"
		fi
		sleep 0.01
	done
	(($(ready_count) > n0)) || die "homegwd sent no READY=1 within 30 s (log: $SRV_LOG)"
	START_CPU_MS=$(calc "1000 * $(srv_cpu "$SRV_PID")")
	t1=$(awk '$1 == "READY" { t = $2 } END { print t }' "$NOTIFY_OUT")
	START_MS=$(ms_between "$t0" "$t1")
	for ((i = 0; i < 100; i++)); do
		ctl --json status >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	die "homegwd sent READY=1 but its control socket does not answer (log: $SRV_LOG)"
}

# OURS_CPU: CPU seconds of our processes on CPU_SRV (homegwd's at each
# stop, nft's), to tell the other processes' share of that CPU.
OURS_CPU=0
homegw_stop() {
	local rc=0
	[[ -n $SRV_PID ]] || return 0
	OURS_CPU=$(calc "$OURS_CPU + $(srv_cpu "$SRV_PID")")
	hgb_stop "$SRV_PID" || rc=$?
	((rc == 0)) || note "homegwd exited with status $rc on SIGTERM (log: $SRV_LOG)"
	SRV_PID=
}

# homegw_reload CONF: CONF copied to SRV_CONF, `homegwctl reload` (the
# answer comes once the nft transaction has committed); RELOAD_MS from the
# command to its answer (homegwctl's own start-up included, as nft's is in
# its figure), RELOAD_CPU_MS homegwd's CPU time meanwhile, RELOAD_GEN the
# generation ids it took.
homegw_reload() {
	local c0 c1 g0 g1 w u s rc
	cp "$1" "$SRV_CONF"
	g0=$(gen "$NS_GW")
	c0=$(srv_cpu "$SRV_PID")
	read -r w u s rc < <("${PIN_CLI[@]}" bash -c "$TIMED" "$SRV_DIR/reload.out" "$HOMEGWCTL" -s "$SRV_SOCK" reload)
	c1=$(srv_cpu "$SRV_PID")
	g1=$(gen "$NS_GW")
	if ((rc != 0)) || ! grep -q 'nat' "$SRV_DIR/reload.out"; then
		sed 's/^/#   /' "$SRV_DIR/reload.out"
		die "homegwctl reload failed or did not change nat (status $rc; log: $SRV_LOG)"
	fi
	RELOAD_MS=$(calc "$w / 1000")
	RELOAD_CPU_MS=$(calc "1000 * ($c1 - $c0)")
	RELOAD_GEN=$((g1 - g0))
}

# map_elems NS MAP: elements of map MAP of table inet homegw in NS.
map_elems() {
	ip netns exec "$1" "${PIN_CLI[@]}" nft -j list map inet homegw "$2" 2>/dev/null |
		jq '[.nftables[] | select(.map) | .map.elem // [] | length] | add // 0'
}

# ---- the reference: nft -f ---------------------------------------------------------------

# nft_timed FILE: `nft -f FILE` in NFT, pinned to homegwd's CPU. NFT_MS wall,
# NFT_CPU_MS nft's user + system time (the kernel's work on the batch runs in
# its sendmsg: it is in the figure, as it is in homegwd's), NFT_GEN the
# generation ids it took.
nft_timed() {
	local g0 g1 w u s rc
	g0=$(gen "$NS_NFT")
	read -r w u s rc < <(ip netns exec "$NS_NFT" "${PIN_SRV[@]}" bash -c "$TIMED" "$HGB_TMP/nft.out" nft -f "$1")
	g1=$(gen "$NS_NFT")
	if ((rc != 0)); then
		sed 's/^/#   /' "$HGB_TMP/nft.out" | head -n 20
		die "nft -f $1 failed (status $rc)"
	fi
	NFT_MS=$(calc "$w / 1000")
	NFT_CPU_MS=$(calc "1000 * ($u + $s)")
	OURS_CPU=$(calc "$OURS_CPU + $u + $s")
	NFT_GEN=$((g1 - g0))
}
nft_reset() { ip netns exec "$NS_NFT" nft delete table inet homegw 2>/dev/null || true; }

declare -A RES
FAILED=0

# add NAME VALUE: one more sample of a stage-1 figure; last NAME: the latest.
add() { RES[$1]+="$2 "; }
last() { local v; read -r -a v <<<"${RES[$1]}"; printf '%s' "${v[-1]}"; }

# stats "V V V ...": "BEST MEDIAN" (the smallest; the median, mean of the
# middle two for an even count).
stats() {
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", v[1], m }'
}

# ---- 1. forwards ----------------------------------------------------------------------

stage_forwards() {
	local d=$HGB_TMP/fwd r n b0 bt0 b1 bt1
	mkdir -p "$d"
	gw_config "$d/c0.conf" 0
	gw_config "$d/cN.conf" "$FORWARDS"
	RES[fwd,load]=$(other_load)
	read -r b0 bt0 < <(cpu_ticks "${CPU_SRV:-0}")
	OURS_CPU=0
	note "stage 1: $FORWARDS forwards; $RUNS runs, alternating homegw and nft; ${RES[fwd,load]}"
	for ((r = 1; r <= RUNS; r++)); do
		# homegwd, started without forwards on a namespace without the table
		homegw_stop
		ip netns exec "$NS_GW" nft delete table inet homegw 2>/dev/null || true
		homegw_start "$d/c0.conf"
		add start0 "$START_MS"
		add start0_cpu "$START_CPU_MS"
		if ((r == 1)); then
			ip netns exec "$NS_GW" nft list table inet homegw >"$d/table-0.nft"
		fi
		homegw_reload "$d/cN.conf"
		add up "$RELOAD_MS"
		add up_cpu "$RELOAD_CPU_MS"
		add up_gen "$RELOAD_GEN"
		n=$(map_elems "$NS_GW" forwards)
		[[ $n == "$FORWARDS" ]] || die "after the reload the forwards map holds $n elements, not $FORWARDS"
		if ((r == 1)); then
			ip netns exec "$NS_GW" nft list table inet homegw >"$d/table-N.nft"
			make_reference "$d"
		fi
		homegw_reload "$d/c0.conf"
		add down "$RELOAD_MS"
		add down_cpu "$RELOAD_CPU_MS"
		add down_gen "$RELOAD_GEN"
		n=$(map_elems "$NS_GW" forwards)
		[[ $n == 0 ]] || die "after the reload back the forwards map holds $n elements, not 0"
		# start with the forwards: at boot (no table) and at a restart (the
		# table of a previous homegwd is there: replaced in the same transaction)
		homegw_stop
		ip netns exec "$NS_GW" nft delete table inet homegw 2>/dev/null || true
		homegw_start "$d/cN.conf"
		add startN "$START_MS"
		add startN_cpu "$START_CPU_MS"
		homegw_stop
		homegw_start "$d/cN.conf"
		add restartN "$START_MS"
		add restartN_cpu "$START_CPU_MS"
		n=$(map_elems "$NS_GW" forwards)
		[[ $n == "$FORWARDS" ]] || die "after the start the forwards map holds $n elements, not $FORWARDS"

		# nft: the whole table, from nothing
		nft_reset
		nft_timed "$d/table-N.nft"
		add nft_table "$NFT_MS"
		add nft_table_cpu "$NFT_CPU_MS"
		add nft_table_gen "$NFT_GEN"
		if ((r == 1)); then
			norm_table "$NS_GW" >"$d/table-homegw.json"
			norm_table "$NS_NFT" >"$d/table-nft.json"
			if cmp -s "$d/table-homegw.json" "$d/table-nft.json"; then
				RES[fwd,same]="the replayed table is homegw's (nft -j listings equal but for handles and order)"
			else
				RES[fwd,same]="WARNING: the replayed table differs from homegw's (table-homegw.json, table-nft.json)"
			fi
		fi
		# nft: the elements alone, onto the table without forwards
		nft_reset
		nft_timed "$d/table-0.nft"
		nft_timed "$d/add.nft"
		add nft_add "$NFT_MS"
		add nft_add_cpu "$NFT_CPU_MS"
		add nft_add_gen "$NFT_GEN"
		nft_timed "$d/del.nft"
		add nft_del "$NFT_MS"
		add nft_del_cpu "$NFT_CPU_MS"
		add nft_del_gen "$NFT_GEN"
		note "run $r (ms): homegw reload up $(last up), down $(last down), start $(last startN);" \
			"nft -f table $(last nft_table), add $(last nft_add), delete $(last nft_del)"
	done
	verify_transactions "$d"
	homegw_stop
	read -r b1 bt1 < <(cpu_ticks "${CPU_SRV:-0}")
	RES[fwd,other]=$(other_share "$b0" "$bt0" "$b1" "$bt1" "$OURS_CPU")
}

# other_share B0 T0 B1 T1 OURS: % of CPU_SRV that others took between two
# cpu_ticks samples, given our processes' CPU seconds there.
other_share() {
	[[ -n $CPU_SRV ]] || { printf -- '-'; return; }
	awk -v b="$(($3 - $1))" -v t="$(($4 - $2))" -v o="$5" -v hz="$HGB_CLK_TCK" \
		'BEGIN { x = t ? 100 * (b / hz - o) / (t / hz) : 0; printf "%.0f", x < 0 ? 0 : x }'
}

# norm_table NS: table inet homegw of NS as JSON, without the handles (the
# order of creation) and with every array sorted (a hash set lists its
# elements in the order of its random hash seed): equal for equal content.
norm_table() {
	ip netns exec "$1" "${PIN_CLI[@]}" nft -j list table inet homegw |
		jq -S -c 'walk(if type == "object" then del(.handle) else . end) |
			walk(if type == "array" then sort else . end)'
}

# make_reference DIR: from homegw's listing with the forwards, the
# element changes alone: add.nft (add element ... { all }) and del.nft
# (delete element ... { all keys }).
make_reference() {
	local d=$1 elems n
	elems=$(awk '/^\tmap forwards \{/ { m = 1 }
		m && /elements = \{/ { e = 1; sub(/.*elements = \{/, "") }
		m && e { buf = buf " " $0; if (/\}/) exit }
		END { sub(/\}.*/, "", buf); print buf }' "$d/table-N.nft")
	printf 'add element inet homegw forwards {%s }\n' "$elems" >"$d/add.nft"
	awk -v RS=, '{ sub(/:.*/, ""); gsub(/^[ \t\n]+|[ \t\n]+$/, ""); if ($0 != "") k[n++] = $0 }
		END { printf "delete element inet homegw forwards { "
		      for (i = 0; i < n; i++) printf "%s%s", k[i], i + 1 < n ? ", " : ""
		      print " }" }' <<<"$elems" >"$d/del.nft"
	n=$(tr ',' '\n' <<<"$elems" | grep -c ' : ' || true)
	[[ $n == "$FORWARDS" ]] || die "the listing of homegw's table has $n forward elements, not $FORWARDS"
}

# verify_transactions DIR: each reload again, with a listener on the
# nftables event group in GW: the NFT_MSG_NEWGEN events it saw (one per
# committed transaction) and who made them.
verify_transactions() {
	local d=$1 kind conf out
	# homegwd runs with the forwards now: down first, then up again
	for kind in down up; do
		[[ $kind == up ]] && conf=$d/cN.conf || conf=$d/c0.conf
		out=$d/events-$kind
		rm -f "$out" "$out.ready"
		ip netns exec "$NS_GW" "${PIN_CLI[@]}" python3 "$HERE/nat-nftgen.py" watch "$out" &
		local wp=$!
		hgb_track "$wp"
		for ((i = 0; i < 100; i++)); do [[ -e $out.ready ]] && break; sleep 0.05; done
		[[ -e $out.ready ]] || die "the nftables event listener did not start"
		homegw_reload "$conf"
		hgb_stop "$wp" || true
		[[ -s $out ]] || die "the nftables event listener wrote nothing"
		RES[verify,$kind]=$(awk '$1 == "newgen" { n++; who[$4]++ }
			$1 == "events" { ev = $2; lost = $6 }
			END { s = ""; for (w in who) s = s (s ? ", " : "") who[w] " by " w
			      printf "%d NEWGEN (%s), %d events in all%s", n, s ? s : "-", ev,
			             lost ? ", " lost " reads lost (ENOBUFS): not conclusive" : "" }' "$out")
		RES[verify,$kind,n]=$(awk '$1 == "events" { print $4 }' "$out")
	done
}

# ---- 2. PCP -------------------------------------------------------------------------------

stage_pcp() {
	local d=$HGB_TMP/pcp nclients kind c0 c1 b0 bt0 b1 bt1 line
	mkdir -p "$d"
	nclients=$(((PCP_N + PCP_PER_CLIENT - 1) / PCP_PER_CLIENT))
	for ((i = 0; i < nclients; i++)); do
		ip -n "$NS_LAN" addr add "198.51.100.$((10 + i))/24" dev eth0
	done
	gw_config "$d/pcp.conf" 0 "	pcp yes"
	ip netns exec "$NS_GW" nft delete table inet homegw 2>/dev/null || true
	RES[pcp,load]=$(other_load)
	note "stage 2: $PCP_N PCP MAP requests from $nclients addresses; ${RES[pcp,load]}"
	homegw_start "$d/pcp.conf"
	RES[pcp,clients]=$nclients
	ip netns exec "$NS_LAN" "${PIN_CLI[@]}" python3 "$HERE/nat-pcp-load.py" "$GW_LAN" "$PCP_FIRST" "$nclients" \
		"$PCP_N" "$d/map.out" --warm-only || die "the PCP server does not answer"
	for kind in map delete; do
		local extra=()
		[[ $kind == delete ]] && extra=(--delete)
		c0=$(srv_cpu "$SRV_PID")
		read -r b0 bt0 < <(cpu_ticks "${CPU_SRV:-0}")
		line=$(ip netns exec "$NS_LAN" "${PIN_CLI[@]}" python3 "$HERE/nat-pcp-load.py" "$GW_LAN" "$PCP_FIRST" \
			"$nclients" "$PCP_N" "$d/map.out" --no-warm "${extra[@]}") || die "nat-pcp-load.py failed"
		c1=$(srv_cpu "$SRV_PID")
		read -r b1 bt1 < <(cpu_ticks "${CPU_SRV:-0}")
		proc_gone "$SRV_PID" && die "homegwd died during the PCP load (log: $SRV_LOG)"
		echo "$line" >"$d/$kind.summary"
		# "sent N answered N ... lat_ms median X p90 X p99 X max X": pairs
		# shellcheck disable=SC2086 # split on purpose
		set -- $line
		while (($# >= 2)); do
			case $1 in
			lat_ms) shift ;;
			*) RES[pcp,$kind,$1]=$2; shift 2 ;;
			esac
		done
		RES[pcp,$kind,cpu_us]=$(calc "1e6 * ($c1 - $c0) / $PCP_N")
		RES[pcp,$kind,rate]=$(calc "$PCP_N / ${RES[pcp,$kind,wall_s]}")
		RES[pcp,$kind,elems]=$(map_elems "$NS_GW" pcp)
		RES[pcp,$kind,listed]=$(ctl --json nat | jq '.mappings | length')
		RES[pcp,$kind,other]=$(other_share "$b0" "$bt0" "$b1" "$bt1" "$(calc "$c1 - $c0")")
		note "PCP $kind: $line"
	done
	homegw_stop
	RES[pcp,status]=measured
}

# ---- 3. nat table over many conntrack entries ---------------------------------------------

stage_table() {
	local d=$HGB_TMP/table nsp ndp cnt pass probe c0 c1 t0 t1 b0 bt0 b1 bt1 p0 p1 o0 w u s rc i secs
	mkdir -p "$d"
	gw_config "$d/table.conf" 0 "" "dns {
	listen $GW_LAN
	host probe.home.arpa 198.51.100.9
}"
	ip netns exec "$NS_GW" nft delete table inet homegw 2>/dev/null || true
	# The generator's flows are UDP without an answer: conntrack's timeout for
	# those is 30 s; an hour here, in GW only, so that none expires during the
	# stage. WAN drops them before its UDP stack (no ICMP port unreachable).
	ip netns exec "$NS_GW" sysctl -q -w net.netfilter.nf_conntrack_udp_timeout=3600
	ip netns exec "$NS_WAN" nft -f - <<EOF
table inet hgbsink {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		ip daddr $PEER udp dport 10000-59999 drop
	}
}
EOF
	RES[table,load]=$(other_load)
	note "stage 3: $FLOWS conntrack entries, then $DUMPS × nat table under a DNS ($QPS qps) and DHCP" \
		"($DHCP_RATE/s) probe; ${RES[table,load]}"
	homegw_start "$d/table.conf"
	# FLOWS flows: 10 source ports × FLOWS/10 destination ports (10000 ...),
	# 20000 datagrams a second; passes again for those lost on the way.
	nsp=10
	ndp=$(((FLOWS + nsp - 1) / nsp))
	((ndp <= 50000)) || die "too many flows for the generator's port ranges"
	t0=$(now_ns)
	for pass in 1 2 3; do
		ip netns exec "$NS_LAN" "${PIN_CLI[@]}" python3 "$HERE/nat-ct-fill.py" "$CLIENT" 40000 "$nsp" "$PEER" 10000 \
			"$ndp" 20000 >>"$d/fill.out" || die "nat-ct-fill.py failed"
		cnt=$(ip netns exec "$NS_GW" conntrack -C)
		((cnt >= FLOWS)) && break
		note "after fill pass $pass: $cnt conntrack entries"
	done
	t1=$(now_ns)
	RES[table,ct]=$cnt
	RES[table,fill_s]=$(calc "($t1 - $t0) / 1e9")
	((cnt >= FLOWS * 95 / 100)) || die "only $cnt conntrack entries in GW after 3 passes (wanted $FLOWS)"

	# The probe: chrt -f so that its timestamps are homegwd's delay, not a
	# wait for its CPU (homegwctl parses the big answer on the same CPU).
	probe=$d/probe.out
	local dhcp_args=()
	((DHCP_RATE > 0)) && dhcp_args=(--dhcp "$GW_LAN" "$CLIENT" "$DHCP_RATE")
	: >"$d/windows"
	secs=$((3 + DUMPS * 10 + 5))
	c0=$(srv_cpu "$SRV_PID")
	read -r b0 bt0 < <(cpu_ticks "${CPU_SRV:-0}")
	o0=$(udp_counter "$NS_GW" RcvbufErrors)
	p0=$(now_ns)
	ip netns exec "$NS_LAN" "${PIN_CLI[@]}" chrt -f 10 python3 "$HERE/nat-loop-probe.py" run "$probe" "$secs" \
		--dns "$GW_LAN" probe.home.arpa "$QPS" "${dhcp_args[@]}" >"$d/probe.log" 2>&1 &
	local ppid=$!
	hgb_track "$ppid"
	for ((i = 0; i < 100; i++)); do [[ -e $probe.ready ]] && break; sleep 0.05; done
	[[ -e $probe.ready ]] || die "the probe did not start: $(cat "$d/probe.log")"
	sleep 3 # time without dumps: the reference
	for ((i = 1; i <= DUMPS; i++)); do
		local a0 a1
		a0=$(srv_cpu "$SRV_PID")
		t0=$(now_ns)
		read -r w u s rc < <("${PIN_CLI[@]}" bash -c "$TIMED" "$d/table-$i.json" "$HOMEGWCTL" -s "$SRV_SOCK" \
			--json nat table)
		t1=$(now_ns)
		a1=$(srv_cpu "$SRV_PID")
		((rc == 0)) || { head -c 500 "$d/table-$i.json"; echo; die "homegwctl nat table failed (status $rc)"; }
		printf '%s %s\n' "$t0" "$t1" >>"$d/windows"
		add dump_ms "$(calc "$w / 1000")"
		add dump_cpu "$(calc "1000 * ($a1 - $a0)")"
		add dump_bytes "$(stat -c %s "$d/table-$i.json")"
		sleep 1 # time without dumps between them
	done
	sleep 1
	hgb_stop "$ppid" || true
	p1=$(now_ns)
	c1=$(srv_cpu "$SRV_PID")
	read -r b1 bt1 < <(cpu_ticks "${CPU_SRV:-0}")
	RES[table,overflow]=$(($(udp_counter "$NS_GW" RcvbufErrors) - o0))
	proc_gone "$SRV_PID" && die "homegwd died during the dumps (log: $SRV_LOG)"
	[[ -s $probe ]] || die "the probe wrote nothing: $(cat "$d/probe.log")"
	for ((i = 1; i <= DUMPS; i++)); do
		add dump_flows "$(jq '.flows | length' "$d/table-$i.json")"
		add dump_count "$(jq '.count' "$d/table-$i.json")"
		((KEEP)) || rm -f "$d/table-$i.json"
	done
	python3 "$HERE/nat-loop-probe.py" analyze "$probe" "$d/windows" >"$d/probe.analysis"
	local kind grp rest
	while read -r kind grp rest; do
		# shellcheck disable=SC2086 # "n N lost N median X p99 X max X"
		set -- $rest
		while (($# >= 2)); do RES[table,$kind,$grp,$1]=$2; shift 2; done
	done <"$d/probe.analysis"
	RES[table,cpu_pct]=$(calc "100 * ($c1 - $c0) / (($p1 - $p0) / 1e9)")
	RES[table,other]=$(other_share "$b0" "$bt0" "$b1" "$bt1" "$(calc "$c1 - $c0")")
	RES[table,rss]=$(proc_status_kib "$SRV_PID" VmHWM)
	homegw_stop
	RES[table,status]=measured
}

# ---- the run --------------------------------------------------------------------------------

echo "NAT benchmark — $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(uname -r), $NCPU CPUs"
echo "$(nft --version), $(conntrack --version 2>&1 | head -n 1)," \
	"python $(python3 -c 'import platform; print(platform.python_version())')"
echo "homegwd: $HOMEGWD"
if [[ -n $CPU_CLI ]]; then
	echo "pinned with taskset: homegwd and nft on CPU $CPU_SRV; homegwctl, the load generators and probes" \
		"on CPU $CPU_CLI"
else
	echo "one CPU only: nothing pinned; figures are not comparable with a 2-CPU run"
fi
echo "homegwd CPU: $CPU_HOW; nft CPU: its user + system time (bash time)"
echo

((SKIP_FWD)) || stage_forwards
((SKIP_PCP)) || stage_pcp
((SKIP_TABLE)) || stage_table
echo

# ---- the report -------------------------------------------------------------------------------

row() { # LABEL CELL...
	local label=$1
	shift
	printf '%-52s' "$label"
	printf ' %16s' "$@"
	printf '\n'
}
# all_one NAME: every run's change took one transaction (generation +1).
all_one() {
	local v
	for v in ${RES[$1]}; do [[ $v == 1 ]] || return 1; done
}
# gens NAME: "+1 each", or the generation steps of the runs.
gens() {
	if all_one "$1"; then
		printf '+1 each'
	else
		printf '%s' "$(tr ' ' ',' <<<"${RES[$1]% }")"
	fi
}
# ratio A B: A/B as "0.45x"
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2fx", a / b; else printf "-" }'
}
verdict() { # VALUE OP LIMIT
	awk -v a="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (a == "-" || a == "") { printf "-"; exit }
		ok = (op == "<=") ? a + 0 <= l + 0 : a + 0 < l + 0; printf "%s", ok ? "met" : "NOT met" }'
}
WARN_BUSY=0
busy_warning() { # OTHER-%
	if [[ $1 != - ]] && (($1 > 10)); then
		echo "WARNING: other processes used $1% of homegwd's CPU during this stage: the figures are perturbed"
		WARN_BUSY=1
	fi
}
fwd_row() { # LABEL NAME [GEN-NAME]
	local b m cb cm
	read -r b m < <(stats "${RES[$2]}")
	read -r cb cm < <(stats "${RES[$2_cpu]}")
	row "$1" "$b / $m" "$cb / $cm" "$([[ -n ${3:-} ]] && gens "$3" || printf -- '-')"
}

if ((!SKIP_FWD)); then
	echo "== 1. $FORWARDS forwards (tcp 20000-$((20000 + FORWARDS - 1)) → 250 LAN hosts):" \
		"$RUNS runs each, alternating"
	echo "other load before: ${RES[fwd,load]}; on homegwd's and nft's CPU during the stage: ${RES[fwd,other]}%"
	busy_warning "${RES[fwd,other]}"
	row "" "wall ms best/med" "CPU ms best/med" "transactions"
	fwd_row "homegw reload, 0 → $FORWARDS forwards" up up_gen
	fwd_row "nft -f the same table (fresh namespace, no table)" nft_table nft_table_gen
	fwd_row "nft -f add element × $FORWARDS (onto the table)" nft_add nft_add_gen
	fwd_row "homegw reload, $FORWARDS → 0 forwards" down down_gen
	fwd_row "nft -f delete element × $FORWARDS" nft_del nft_del_gen
	fwd_row "homegw start, $FORWARDS forwards, no table (to READY)" startN
	fwd_row "homegw restart, $FORWARDS forwards, table there" restartN
	fwd_row "homegw start, 0 forwards, no table (to READY)" start0
	echo "(homegw: from the command to its answer / to READY=1, homegwctl's or homegwd's exec included;" \
		"CPU: homegwd's. nft: its run, exec included; CPU: nft's user + system)"
	echo "${RES[fwd,same]}"
	echo "single transaction, with a listener on the nftables events in GW:"
	echo "  reload 0 → $FORWARDS: ${RES[verify,up]}"
	echo "  reload $FORWARDS → 0: ${RES[verify,down]}"
	[[ ${RES[verify,up,n]} == 1 && ${RES[verify,down,n]} == 1 ]] || FAILED=1
	for v in up_gen down_gen nft_table_gen nft_add_gen nft_del_gen; do all_one "$v" || FAILED=1; done
	read -r ub um < <(stats "${RES[up]}")
	read -r nb nm < <(stats "${RES[nft_table]}")
	read -r ucb ucm < <(stats "${RES[up_cpu]}")
	read -r ncb ncm < <(stats "${RES[nft_table_cpu]}")
	read -r _ am < <(stats "${RES[nft_add]}")
	read -r _ dm < <(stats "${RES[down]}")
	read -r _ xm < <(stats "${RES[nft_del]}")
	read -r _ sm < <(stats "${RES[startN]}")
	echo "ratios homegw/nft: reload 0 → $FORWARDS against nft -f the table: wall $(ratio "$ub" "$nb") best," \
		"$(ratio "$um" "$nm") median (target <= 1x: $(verdict "$(calc "$um / $nm")" '<=' 1)," \
		"one transaction: $(all_one up_gen && [[ ${RES[verify,up,n]} == 1 ]] && echo met || echo NOT met));" \
		"CPU $(ratio "$ucb" "$ncb") best, $(ratio "$ucm" "$ncm") median"
	echo "  against nft -f add element: wall $(ratio "$um" "$am") median; reload $FORWARDS → 0 against nft -f" \
		"delete element: $(ratio "$dm" "$xm") median; start with $FORWARDS against nft -f the table:" \
		"$(ratio "$sm" "$nm") median"
	echo
fi

if ((!SKIP_PCP)) && [[ ${RES[pcp,status]:-} == measured ]]; then
	echo "== 2. PCP: $PCP_N MAP requests (TCP, lifetime 600 s), one in flight, from ${RES[pcp,clients]} LAN" \
		"addresses; then the same with lifetime 0 (delete)"
	echo "other load before: ${RES[pcp,load]}"
	busy_warning "$(awk -v a="${RES[pcp,map,other]}" -v b="${RES[pcp,delete,other]}" \
		'BEGIN { if (a == "-") print "-"; else print (a > b ? a : b) }')"
	row "" "map (add)" "delete"
	pc() { printf '%s' "${RES[pcp,$1,$2]:--}"; }
	row "answered / sent" "$(pc map answered) / $(pc map sent)" "$(pc delete answered) / $(pc delete sent)"
	row "result SUCCESS" "$(pc map success)" "$(pc delete success)"
	row "result codes (code:count)" "$(pc map results)" "$(pc delete results)"
	row "homegwd CPU us per request" "$(fmt %.1f "$(pc map cpu_us)")" "$(fmt %.1f "$(pc delete cpu_us)")"
	row "latency ms median / p90" "$(pc map median) / $(pc map p90)" "$(pc delete median) / $(pc delete p90)"
	row "latency ms p99 / max" "$(pc map p99) / $(pc map max)" "$(pc delete p99) / $(pc delete max)"
	row "requests/s (one in flight, python client)" "$(fmt %.0f "$(pc map rate)")" "$(fmt %.0f "$(pc delete rate)")"
	row "pcp map elements in the kernel after" "$(pc map elems)" "$(pc delete elems)"
	row "mappings listed by homegwctl nat after" "$(pc map listed)" "$(pc delete listed)"
	row "other load % on homegwd's CPU meanwhile" "$(pc map other)" "$(pc delete other)"
	[[ $(pc map elems) == "$PCP_N" && $(pc map success) == "$PCP_N" && $(pc delete elems) == 0 ]] || {
		echo "WARNING: not every mapping reached the kernel map, or not every one was removed"
		FAILED=1
	}
	echo "target: one PCP mapping added in under 1 ms of daemon time: $(fmt %.1f "$(pc map cpu_us)") us" \
		"($(verdict "$(pc map cpu_us)" '<' 1000))"
	echo
fi

if ((!SKIP_TABLE)) && [[ ${RES[table,status]:-} == measured ]]; then
	echo "== 3. nat table over ${RES[table,ct]} conntrack entries (masqueraded UDP, made in" \
		"$(fmt %.1f "${RES[table,fill_s]}") s); $DUMPS dumps, 1 s apart, under a DNS $QPS qps" \
		"$( ((DHCP_RATE > 0)) && printf '+ DHCP INFORM %s/s ' "$DHCP_RATE")probe"
	echo "other load before: ${RES[table,load]}; on homegwd's CPU during the probe: ${RES[table,other]}%"
	busy_warning "${RES[table,other]}"
	read -r tb tm < <(stats "${RES[dump_ms]}")
	read -r cb cm < <(stats "${RES[dump_cpu]}")
	tmax=$(tr ' ' '\n' <<<"${RES[dump_ms]}" | awk 'NF && $1 > m { m = $1 } END { printf "%.1f", m }')
	mib=$(awk -v b="${RES[dump_bytes]%% *}" 'BEGIN { printf "%.1f", b / 1048576 }')
	flows=$(tr ' ' '\n' <<<"${RES[dump_flows]}" | awk 'NF' | sort -u | paste -s -d/)
	count=$(tr ' ' '\n' <<<"${RES[dump_count]}" | awk 'NF' | sort -u | paste -s -d/)
	echo "nat table: wall ms best / median / max $tb / $tm / $tmax; homegwd CPU ms best / median $cb / $cm;" \
		"answer $mib MiB, $flows flows listed (count $count); homegwd peak RSS" \
		"$(fmt %.1f "$(calc "${RES[table,rss]} / 1024")") MiB"
	row "" "outside dumps" "during dumps"
	tcell() { printf '%s' "${RES[table,$1,$2,$3]:--}"; }
	for kind in dns dhcp; do
		[[ $kind == dhcp ]] && ((DHCP_RATE == 0)) && continue
		row "$kind requests (lost)" "$(tcell "$kind" outside n) ($(tcell "$kind" outside lost))" \
			"$(tcell "$kind" during n) ($(tcell "$kind" during lost))"
		row "$kind latency ms median / p99" "$(tcell "$kind" outside median) / $(tcell "$kind" outside p99)" \
			"$(tcell "$kind" during median) / $(tcell "$kind" during p99)"
		row "$kind latency ms max" "$(tcell "$kind" outside max)" "$(tcell "$kind" during max)"
		row "  the probe's own send delay ms, max" "$(tcell "$kind" outside late)" "$(tcell "$kind" during late)"
	done
	echo "UDP receive-buffer overflows in GW during the probe (requests homegwd never saw): ${RES[table,overflow]}"
	worst=$(awk -v a="$(tcell dns during max)" -v b="$(tcell dhcp during max)" \
		'BEGIN { m = a + 0; if (b != "-" && b + 0 > m) m = b + 0; printf "%.1f", m }')
	lost=$((${RES[table,dns,during,lost]:-0} + ${RES[table,dhcp,during,lost]:-0}))
	echo "target: no DHCP/DNS answer stalled more than a few ms (taken as <= 5 ms, none lost) during the dumps:" \
		"worst $worst ms, $lost lost ($( ((lost == 0)) && verdict "$worst" '<=' 5 || echo 'NOT met'))"
	echo
fi

((WARN_BUSY)) &&
	echo "The machine was shared during some stages: rerun on an idle machine before quoting those figures."
HGB_OK=1
((FAILED)) && HGB_OK=0
exit "$FAILED"
