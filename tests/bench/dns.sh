#!/usr/bin/env bash
# dns.sh — the caching resolver: homegwd against unbound 1.17, in one run.
#
# The lab's simulated internet (scripts/lab-internet.sh: nsd roots, TLDs and
# auth servers on 198.18.0.0/15) runs in a namespace "inet"; both resolvers and
# dnsperf run in a namespace "srv" joined to it by a veth (the WAN). Each
# resolver listens on 127.0.0.1 in srv (homegwd :5301, unbound :5302), is
# started fresh for each stage, pinned to CPU 1, with dnsperf on CPU 0:
#   1. cache hits: the same warmed names, dnsperf at its max rate and at a
#      fixed rate (-Q), server CPU per query from /proc;
#   2. cold cache: ~20 names resolved one after the other with dig, 20 ms
#      added to every upstream round trip; wall time and upstream queries
#      (counted by nftables on the way out of srv, the same for both);
#   3. RSS with a full cache: unique wildcard names until the cache is at 95%
#      of its budget (32M each).
# Output: tables with a column per server and the ratios homegw/unbound
# against issue 4's targets. See tests/bench/README.md.
#
#   sudo tests/bench/dns.sh [--duration S] [--rate QPS] [--outstanding N] [--only homegw|unbound]
#                           [--keep] [--skip-cold] [--skip-fill] [--fill-rate QPS] [--fill-max N]
#
# Exit status: 0 when every server that could be measured was; 1 when a server
# failed to start or answer, or the harness itself failed. A homegwd whose
# config check does not know the dns section yet is reported as not measured,
# which is not a failure.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<'EOF'
usage: dns.sh [--duration S] [--rate QPS] [--outstanding N] [--only homegw|unbound] [--keep]
              [--skip-cold] [--skip-fill] [--fill-rate QPS] [--fill-max N]        (as root)
  --duration S      seconds of each cache-hit load run (dnsperf -l; default 20, at most 120)
  --rate QPS        the fixed-rate cache-hit run's query rate (dnsperf -Q; default 50000)
  --outstanding N   dnsperf's queries in flight in the max-rate run (-q; default 100, dnsperf's own)
  --only SERVER     measure only homegw or only unbound
  --keep            keep the temp dir (configs, logs, dnsperf and dig output, nsd's files)
  --skip-cold       skip the cold-cache run (20 ms WAN delay, upstream queries)
  --skip-fill       skip the full-cache RSS run
  --fill-rate QPS   query rate of the cache fill (unique names: one upstream query each; default 10000)
  --fill-max N      at most this many unique names per server in the fill (default 600000)
Environment: HOMEGW_BIN (directory with homegwd and homegwctl; default build/).
EOF
}

DURATION=20
RATE=50000
OUTSTANDING=100
ONLY=
KEEP=0
SKIP_COLD=0
SKIP_FILL=0
FILL_RATE=10000
FILL_MAX=600000
while (($#)); do
	case $1 in
	--duration) DURATION=${2:?}; shift 2 ;;
	--rate) RATE=${2:?}; shift 2 ;;
	--outstanding) OUTSTANDING=${2:?}; shift 2 ;;
	--only) ONLY=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--skip-cold) SKIP_COLD=1; shift ;;
	--skip-fill) SKIP_FILL=1; shift ;;
	--fill-rate) FILL_RATE=${2:?}; shift 2 ;;
	--fill-max) FILL_MAX=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in DURATION RATE OUTSTANDING FILL_RATE FILL_MAX; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "--${v,,}: a positive whole number" | tr _ - >&2; exit 2; }
done
case $ONLY in '' | homegw | unbound) ;; *) echo "--only: homegw or unbound" >&2; exit 2 ;; esac
if ((DURATION > 120)); then
	echo "--duration: at most 120 s (the machine is shared)" >&2
	exit 2
fi
# The reference first, as in dhcp.sh.
SERVERS=(unbound homegw)
[[ -z $ONLY ]] || SERVERS=("$ONLY")

if [[ $(id -u) -ne 0 ]]; then
	echo "dns bench: run as root (namespaces): sudo $0" >&2
	exit 1
fi

HGB_KEEP=$KEEP
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
die() {
	printf 'dns bench: %s\n' "$*" >&2
	exit 1
}
# shellcheck source=scripts/lab-internet.sh
source "$HGB_ROOT/scripts/lab-internet.sh"

HOMEGW_BIN=${HOMEGW_BIN:-build}
[[ $HOMEGW_BIN == /* ]] || HOMEGW_BIN=$HGB_ROOT/$HOMEGW_BIN
HOMEGWD=$HOMEGW_BIN/homegwd
HOMEGWCTL=$HOMEGW_BIN/homegwctl

for tool in dnsperf dig nft taskset ip ss jq awk nsd tc cc; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs it)"
done
if [[ " ${SERVERS[*]} " == *" unbound "* ]]; then
	for tool in unbound unbound-checkconf unbound-control; do
		command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs unbound)"
	done
fi

# ---- the network ---------------------------------------------------------------
#
#   srv ns                                                inet ns
#   dnsperf, dig                                          lab internet (internet_up):
#   homegwd 127.0.0.1:5301   bwan0 203.0.113.2/24 --veth-- binet0 203.0.113.1/24
#   unbound 127.0.0.1:5302   route 198.18.0.0/15 via        nsd roots, TLDs, auth servers
#                            203.0.113.1                    on 198.18.x.x (dummy inet-srv)
#
# The cold-cache run adds 20 ms to every upstream round trip: `tc netem` on
# bwan0 when the kernel has it, else the route to 198.18.0.0/15 goes through a
# userspace link with a 20 ms one-way delay (dns-delay.c: TUN bdly0
# 100.64.0.2/30 in srv, bdly1 100.64.0.1/30 in inet) for that run only.
NS_INET=$HGB_PREFIX-inet
NS_SRV=$HGB_PREFIX-srv
DEV_SRV=bwan0
DEV_INET=binet0
WAN_SRV=203.0.113.2
WAN_INET=203.0.113.1
LAB_NET=198.18.0.0/15
INET_RUN=$HGB_TMP/inet
HINTS=$INET_RUN/root.hints
INET_STARTED=0
DELAY_MS=20
declare -A PORT=([homegw]=5301 [unbound]=5302)
# The resolvers' cache budget: homegwd's cache-size; unbound's msg-cache-size
# plus rrset-cache-size (16m each).
CACHE_BUDGET=$((32 << 20))

# shellcheck disable=SC2317 # called by the EXIT trap
_dns_ret() { return "$1"; }
# lib.sh's cleanup kills whatever is left in our namespaces and removes them;
# the lab internet is stopped first, by its own pid files and config paths.
# shellcheck disable=SC2317 # the EXIT trap
_dns_cleanup() {
	local rc=$?
	set +e
	if ((INET_STARTED)); then
		internet_down "$NS_INET" "$INET_RUN" >/dev/null 2>&1
	fi
	_dns_ret "$rc"
	_hgb_cleanup
}
trap _dns_cleanup EXIT

hgb_netns "$NS_INET"
hgb_netns "$NS_SRV"
hgb_veth "$NS_SRV" "$DEV_SRV" "$NS_INET" "$DEV_INET"
ip -n "$NS_SRV" addr add "$WAN_SRV/24" dev "$DEV_SRV"
ip -n "$NS_INET" addr add "$WAN_INET/24" dev "$DEV_INET"
ip -n "$NS_SRV" route add "$LAB_NET" via "$WAN_INET" dev "$DEV_SRV"
mkdir -p "$INET_RUN"
INET_STARTED=1
internet_up "$NS_INET" "$INET_RUN" >"$HGB_TMP/internet.log" 2>&1 ||
	die "the lab internet did not come up (nsd): $(tail -n 20 "$HGB_TMP/internet.log")"

# dnsperf and dig get CPU 0, the resolver CPU 1; nsd (busy only in the fill)
# shares CPU 0 with dnsperf, so the resolver's CPU stays its own.
NCPU=$(nproc)
if ((NCPU >= 2)); then
	CPU_CLI=0
	CPU_SRV=1
	PIN_CLI=(taskset -c "$CPU_CLI")
	PIN_SRV=(taskset -c "$CPU_SRV")
	for role in "${LAB_INET_ROLES[@]}"; do
		for p in $(lab_inet_pids "$INET_RUN" "$role"); do
			taskset -a -p -c "$CPU_CLI" "$p" >/dev/null 2>&1 || true
		done
	done
else
	CPU_CLI=
	CPU_SRV=
	PIN_CLI=()
	PIN_SRV=()
fi

# Upstream queries: packets leaving srv towards the lab (any interface but
# lo) for port 53; TCP counted by connection (SYN without ACK). The same
# count for both resolvers, retransmissions included.
ip netns exec "$NS_SRV" nft -f - <<EOF
table inet hgbdns {
	counter up_udp { }
	counter up_tcp { }
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "lo" return
		udp dport 53 counter name "up_udp"
		tcp dport 53 tcp flags & (syn | ack) == syn counter name "up_tcp"
	}
}
EOF
# "UDP TCP": upstream query packets and TCP connections so far.
upstream() {
	ip netns exec "$NS_SRV" nft -j list counters table inet hgbdns |
		jq -r '[.nftables[] | select(.counter) | .counter | {(.name): .packets}] | add | "\(.up_udp) \(.up_tcp)"'
}

# srv_cpu PID: CPU seconds the server's threads ran, from the scheduler's
# exact se.sum_exec_runtime (ms) in /proc/PID/task/*/sched where the kernel has
# it (the cold-cache set costs a few ms: 10 ms clock ticks would not do), else
# utime + stime of /proc/PID/stat in clock ticks. Both are per process, all threads.
if [[ -r /proc/self/sched ]] && grep -q '^se.sum_exec_runtime' /proc/self/sched; then
	CPU_HOW="se.sum_exec_runtime of its threads (/proc/PID/task/*/sched)"
	# A thread that ends between the glob and the read is skipped, not fatal.
	srv_cpu() {
		awk '$1 == "se.sum_exec_runtime" { t += $3 } END { printf "%.6f\n", t / 1000 }' \
			/proc/"$1"/task/*/sched 2>/dev/null || true
	}
else
	CPU_HOW="utime + stime (/proc/PID/stat, 1/$HGB_CLK_TCK s ticks)"
	srv_cpu() { calc "$(proc_ticks "$1") / $HGB_CLK_TCK"; }
fi

# ---- queries -----------------------------------------------------------------

Z=homegw-lab.example
# The cache-hit set: the lab's names, A and AAAA, answers of every kind
# (data, CNAME chain, DNAME, wildcard, NODATA, NXDOMAIN, a ~470-byte TXT).
# Not big.$Z (TC over UDP to dnsperf, which does not retry over TCP) nor
# short-ttl.$Z (TTL 1: a cache miss every second). Negative answers have the
# zone's SOA minimum (60 s) as TTL: a run longer than ~55 s sees each of
# them resolved again once (the "upstream queries" row shows it).
HIT_FILE=$HGB_TMP/queries-hit.txt
{
	for n in host mail alias chain www.legacy explicit.wild; do
		printf '%s.%s A\n%s.%s AAAA\n' "$n" "$Z" "$n" "$Z"
	done
	for i in 1 2 3 4 5 6 7 8; do printf 'w%d.wild.%s A\n' "$i" "$Z"; done
	printf 'w1.wild.%s AAAA\nw2.wild.%s TXT\n' "$Z" "$Z"
	printf '%s MX\n%s NS\n%s SOA\n' "$Z" "$Z" "$Z"
	printf 'nodata.%s A\nnodata.%s AAAA\nnodata.%s TXT\n' "$Z" "$Z" "$Z"
	printf 'nx.%s A\nnx.%s AAAA\nnx2.%s A\n' "$Z" "$Z" "$Z"
	printf 'lab._domainkey.%s TXT\n' "$Z"
	printf 'www.other.example A\nwww.other.example AAAA\nhop.other.example A\nnx.other.example A\n'
	printf 'www.homegw-lab.test A\nend.homegw-lab.test A\nns.dns-host.test A\n'
	printf '1.1.18.198.in-addr.arpa PTR\n10.0.18.198.in-addr.arpa PTR\n'
} >"$HIT_FILE"
HIT_NAMES=$(wc -l <"$HIT_FILE")

# The cold-cache set, resolved in this order: later names profit from what
# earlier ones cached (delegations, NS addresses), the same for both servers.
COLD_FILE=$HGB_TMP/queries-cold.txt
cat >"$COLD_FILE" <<EOF
host.$Z A
host.$Z AAAA
mail.$Z A
$Z MX
alias.$Z A
www.other.example A
chain.$Z A
www.legacy.$Z A
explicit.wild.$Z A
c1.wild.$Z A
c2.wild.$Z A
nodata.$Z A
nx.$Z A
lab._domainkey.$Z TXT
big.$Z A
www.homegw-lab.test A
end.homegw-lab.test A
ns.dns-host.test A
hop.other.example A
nx.other.example A
nx.example A
1.1.18.198.in-addr.arpa PTR
EOF
COLD_NAMES=$(wc -l <"$COLD_FILE")

# dq SERVER NAME TYPE [DIG-ARGS...]: dig to SERVER from srv, on dnsperf's CPU.
# +ignore: a truncated answer (big.$Z) is not retried over TCP, so the query
# time is the resolver's, which fetched the whole answer upstream before it.
dq() {
	local srv=$1 name=$2 type=$3
	shift 3
	ip netns exec "$NS_SRV" "${PIN_CLI[@]}" dig @127.0.0.1 -p "${PORT[$srv]}" +tries=1 +time=10 +ignore "$@" \
		"$name" "$type" 2>&1
}
rcode_of() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n 1; }
qtime_of() { sed -n 's/^;; Query time: \([0-9]*\) msec.*/\1/p' <<<"$1" | tail -n 1; }

# ---- the servers ---------------------------------------------------------------

homegw_config() { # DIR
	mkdir -p "$1/state"
	cat >"$1/homegw.conf" <<EOF
state-dir $1/state
log-level warning
dns {
	listen 127.0.0.1
	port ${PORT[homegw]}
	root-hints $HINTS
	cache-size 32M
}
control { socket $1/control.sock }
EOF
}

# homegw_supported DIR: 0 when homegwd's config check accepts the benchmark's
# config; else HOMEGW_WHY says why not, and the status is 2 when the dns
# module is simply not there yet.
homegw_supported() {
	local dir=$1 err
	if [[ ! -x $HOMEGWD || ! -x $HOMEGWCTL ]]; then
		HOMEGW_WHY="homegwd/homegwctl not built in $HOMEGW_BIN (cmake --build build, or set HOMEGW_BIN)"
		return 1
	fi
	homegw_config "$dir"
	if err=$("$HOMEGWD" --check -c "$dir/homegw.conf" 2>&1); then
		return 0
	fi
	if [[ $err == *"dns"*"not supported yet"* ]]; then
		HOMEGW_WHY="dns module not built yet"
		return 2
	fi
	HOMEGW_WHY="homegwd --check rejects the benchmark's config: $err"
	return 1
}

# unbound as a resolver of one thread with the features homegwd has on by
# default in this config, and nothing more: no DNSSEC validation (iterator
# only), QNAME minimisation (relaxed, unbound's default), 16m + 16m of cache.
# "test." is one of unbound's default locally served zones (RFC 6761 6.2:
# NXDOMAIN, never looked up), but the lab's hierarchy has zones under it:
# nodefault lets unbound resolve them as homegwd does. The control socket (a
# local Unix socket, idle during the load) reads the cache figures of the
# fill, which need extended-statistics: on only there (it counts every query
# by type and class, a cost the cache-hit runs should not carry).
unbound_config() { # DIR [EXTENDED-STATS yes|no]
	cat >"$1/unbound.conf" <<EOF
server:
	num-threads: 1
	interface: 127.0.0.1@${PORT[unbound]}
	port: ${PORT[unbound]}
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	access-control: 127.0.0.0/8 allow
	chroot: ""
	username: ""
	directory: "$1"
	pidfile: "$1/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 1
	root-hints: "$HINTS"
	module-config: "iterator"
	msg-cache-size: 16m
	rrset-cache-size: 16m
	qname-minimisation: yes
	local-zone: "test." nodefault
	extended-statistics: ${2:-no}
remote-control:
	control-enable: yes
	control-interface: "$1/unbound-control.sock"
	control-use-cert: no
EOF
	unbound-checkconf "$1/unbound.conf" >"$1/unbound-checkconf.out" 2>&1 ||
		die "unbound-checkconf rejects $1/unbound.conf: $(cat "$1/unbound-checkconf.out")"
}

# server_start SERVER DIR: fresh process (empty cache), pinned; SRV_PID, SRV_LOG.
server_start() {
	local srv=$1 dir=$2
	mkdir -p "$dir"
	SRV_LOG=$dir/$srv.log
	if [[ $srv == homegw ]]; then
		homegw_config "$dir"
		ip netns exec "$NS_SRV" "${PIN_SRV[@]}" "$HOMEGWD" -c "$dir/homegw.conf" >"$SRV_LOG" 2>&1 &
	else
		unbound_config "$dir" "$([[ $dir == *-fill ]] && echo yes || echo no)"
		ip netns exec "$NS_SRV" "${PIN_SRV[@]}" unbound -d -c "$dir/unbound.conf" >"$SRV_LOG" 2>&1 &
	fi
	SRV_PID=$!
	hgb_track "$SRV_PID"
	SRV_DIR=$dir
}

# wait_listening SERVER: until its UDP port is bound on 127.0.0.1 (bounded).
# A query would do, but would put something in the cache of the cold run.
wait_listening() {
	local srv=$1 i
	for ((i = 0; i < 100; i++)); do
		if proc_gone "$SRV_PID"; then
			note "$srv exited at start; last lines of $SRV_LOG:"
			tail -n 15 "$SRV_LOG" | sed 's/^/#   /'
			return 1
		fi
		[[ -n $(ip netns exec "$NS_SRV" ss -Hnlu "sport = :${PORT[$srv]}" 2>/dev/null) ]] && return 0
		sleep 0.1
	done
	note "$srv never bound 127.0.0.1:${PORT[$srv]}; last lines of $SRV_LOG:"
	tail -n 15 "$SRV_LOG" | sed 's/^/#   /'
	return 1
}

server_stop() { # SERVER
	local rc=0
	hgb_stop "$SRV_PID" || rc=$?
	((rc == 0)) || note "$1 exited with status $rc on SIGTERM (log: $SRV_LOG)"
}

# cache_figures SERVER: "ENTRIES BYTES" of the running server's cache.
# homegw: dns stats; unbound: messages + RRsets, and their memory.
cache_figures() {
	if [[ $1 == homegw ]]; then
		"$HOMEGWCTL" -s "$SRV_DIR/control.sock" --json dns stats 2>/dev/null |
			jq -r '"\(.cache.entries) \(.cache.bytes)"' 2>/dev/null || echo "- -"
	else
		unbound-control -c "$SRV_DIR/unbound.conf" stats_noreset 2>/dev/null | awk -F= '
			$1 == "msg.cache.count" || $1 == "rrset.cache.count" { e += $2; ne++ }
			$1 == "mem.cache.message" || $1 == "mem.cache.rrset" { b += $2; nb++ }
			END { printf "%s %s\n", ne ? e : "-", nb ? b : "-" }'
	fi
}

# start_checked SERVER DIR KEY: start SERVER fresh; false (status in RES[KEY,status])
# when it cannot be measured.
start_checked() {
	local srv=$1 dir=$2 key=$3 rc
	mkdir -p "$dir"
	RES[$key,status]=measured
	if [[ $srv == homegw ]]; then
		rc=0
		homegw_supported "$dir" || rc=$?
		if ((rc)); then
			RES[$key,status]="not measured: $HOMEGW_WHY"
			((rc == 2)) || FAILED=1
			return 1
		fi
	fi
	server_start "$srv" "$dir"
	if ! wait_listening "$srv"; then
		RES[$key,status]="not measured: did not start (log: $SRV_LOG)"
		FAILED=1
		hgb_stop "$SRV_PID" || true
		return 1
	fi
}

# ---- 1. cache hits -------------------------------------------------------------------

declare -A RES
DNSPERF_BASE=(dnsperf -s 127.0.0.1 -c 1 -T 1)

# dnsperf_run SERVER OUT ARGS...: dnsperf pinned to CPU 0, its own CPU time
# (user system) in OUT.time. In the background with a wait, so that a signal
# reaches the cleanup at once (it kills what runs in our namespaces).
dnsperf_run() {
	local srv=$1 out=$2
	shift 2
	(
		TIMEFORMAT='%U %S'
		time ip netns exec "$NS_SRV" timeout -k 5 $((DURATION + 60)) "${PIN_CLI[@]}" "${DNSPERF_BASE[@]}" \
			-p "${PORT[$srv]}" "$@" >"$out" 2>&1 || true
	) 2>"$out.time" &
	wait $! || true
}

# hit_run SERVER KIND DNSPERF-ARGS...: one measured load run of the running
# server; figures into RES[SERVER,KIND,...].
hit_run() {
	local srv=$1 kind=$2 key=$1,$2 out b0 b1 k0 k1 ut0 ut1 o0 o1 c0 c1 tc0 tc1 s0 s1 ts0 ts1 u0 t0 u1 t1 t_0 t_1 k v
	shift 2
	out=$SRV_DIR/dnsperf-$kind.out
	note "$srv, $kind: dnsperf -c 1 -T 1 -p ${PORT[$srv]} -d queries-hit.txt $*"
	read -r u0 t0 < <(upstream)
	b0=$(srv_cpu "$SRV_PID")
	k0=$(proc_ticks "$SRV_PID")
	ut0=$(awk '{ print $14 }' "/proc/$SRV_PID/stat")
	read -r c0 tc0 < <(cpu_ticks "${CPU_CLI:-0}")
	read -r s0 ts0 < <(cpu_ticks "${CPU_SRV:-0}")
	o0=$(udp_counter "$NS_SRV" RcvbufErrors)
	t_0=$(date +%s.%N)
	dnsperf_run "$srv" "$out" -d "$HIT_FILE" -l "$DURATION" "$@"
	t_1=$(date +%s.%N)
	if proc_gone "$SRV_PID"; then
		RES[$key,status]="not measured: the server died during the run (log: $SRV_LOG)"
		echo "$srv, $kind: the server died during the run; last lines of $SRV_LOG:"
		tail -n 15 "$SRV_LOG" | sed 's/^/#   /'
		FAILED=1
		return 0
	fi
	b1=$(srv_cpu "$SRV_PID")
	k1=$(proc_ticks "$SRV_PID")
	ut1=$(awk '{ print $14 }' "/proc/$SRV_PID/stat")
	read -r c1 tc1 < <(cpu_ticks "${CPU_CLI:-0}")
	read -r s1 ts1 < <(cpu_ticks "${CPU_SRV:-0}")
	o1=$(udp_counter "$NS_SRV" RcvbufErrors)
	read -r u1 t1 < <(upstream)
	RES[$key,status]=measured
	while read -r k v; do RES[$key,$k]=$v; done < <(awk -f "$HERE/dns-dnsperf.awk" "$out")
	if [[ -z ${RES[$key,completed]:-} || -z ${RES[$key,runtime]:-} ]]; then
		note "dnsperf printed no figures; its output:"
		sed 's/^/#   /' "$out" | head -n 20
		RES[$key,status]="not measured: dnsperf failed"
		FAILED=1
		return 0
	fi
	local srv_s cli_s el
	el=$(calc "$t_1 - $t_0")
	srv_s=$(calc "$b1 - $b0")
	cli_s=$(awk '{ print $1 + $2 }' "$out.time")
	RES[$key,srv_cpu_s]=$srv_s
	RES[$key,srv_cpu_pct]=$(calc "100 * $srv_s / ${RES[$key,runtime]}")
	RES[$key,cli_cpu_pct]=$(calc "100 * $cli_s / $el")
	RES[$key,us_per_q]=$(awk -v s="$srv_s" -v n="${RES[$key,completed]}" \
		'BEGIN { if (n > 0) printf "%.2f", 1e6 * s / n; else print "-" }')
	# The same from utime + stime (clock ticks): what top and most published
	# figures use; ticks that land in softirq work are not charged to the task.
	RES[$key,us_per_q_ticks]=$(awk -v t="$((k1 - k0))" -v hz="$HGB_CLK_TCK" -v n="${RES[$key,completed]}" \
		'BEGIN { if (n > 0) printf "%.2f", 1e6 * t / hz / n; else print "-" }')
	# Of it in user space (utime): the server's own code, without the kernel's
	# per-packet work, which is most of a cache hit's cost on loopback.
	RES[$key,us_per_q_user]=$(awk -v t="$((ut1 - ut0))" -v hz="$HGB_CLK_TCK" -v n="${RES[$key,completed]}" \
		'BEGIN { if (n > 0) printf "%.2f", 1e6 * t / hz / n; else print "-" }')
	RES[$key,capacity]=$(awk -v r="${RES[$key,qps]}" -v p="${RES[$key,srv_cpu_pct]}" \
		'BEGIN { if (p > 0) printf "%.0f", r * 100 / p; else print "-" }')
	RES[$key,upstream]=$((u1 - u0 + t1 - t0))
	RES[$key,overflow]=$((o1 - o0))
	RES[$key,rss]=$(proc_status_kib "$SRV_PID" VmRSS)
	if [[ -n $CPU_CLI ]]; then
		RES[$key,other_cli]=$(awk -v b="$((c1 - c0))" -v t="$((tc1 - tc0))" -v o="$cli_s" -v hz="$HGB_CLK_TCK" \
			'BEGIN { x = t ? 100 * (b / hz - o) / (t / hz) : 0; print x < 0 ? 0 : x }')
		RES[$key,other_srv]=$(awk -v b="$((s1 - s0))" -v t="$((ts1 - ts0))" -v o="$srv_s" -v hz="$HGB_CLK_TCK" \
			'BEGIN { x = t ? 100 * (b / hz - o) / (t / hz) : 0; print x < 0 ? 0 : x }')
	else
		RES[$key,other_cli]=-
		RES[$key,other_srv]=-
	fi
	echo "$srv, $kind: $(fmt %.0f "${RES[$key,qps]}") qps, ${RES[$key,lost]} lost," \
		"${RES[$key,us_per_q]} us of server CPU per query"
}

# warm SERVER: one dig per name of the cache-hit set; its rcodes into
# RES[SERVER,warm] (compared between the servers), SERVFAIL or no answer noted.
warm() {
	local srv=$1 name type out rc list=
	while read -r name type; do
		out=$(dq "$srv" "$name" "$type")
		rc=$(rcode_of "$out")
		list+="${rc:-none} "
		if [[ -z $rc || $rc == SERVFAIL ]]; then
			note "$srv: warm-up $name $type: ${rc:-no answer}"
			WARM_BAD=1
		fi
	done <"$HIT_FILE"
	RES[$srv,warm]=$list
}

hit_measure() { # SERVER
	local srv=$1 dir=$HGB_TMP/$1-hit
	if ! start_checked "$srv" "$dir" "$srv,max"; then
		RES[$srv,fixed,status]=${RES[$srv,max,status]}
		echo "$srv: ${RES[$srv,max,status]#not measured: } — not measured"
		return 0
	fi
	warm "$srv"
	# A short unmeasured pass: the server's buffers and allocator warm too.
	dnsperf_run "$srv" "$dir/dnsperf-warm.out" -d "$HIT_FILE" -l 2 -q "$OUTSTANDING"
	hit_run "$srv" max -q "$OUTSTANDING"
	if proc_gone "$SRV_PID"; then
		RES[$srv,fixed,status]=${RES[$srv,max,status]}
		hgb_stop "$SRV_PID" || true
		return 0
	fi
	hit_run "$srv" fixed -Q "$RATE" -q "$OUTSTANDING"
	server_stop "$srv"
}

# ---- 2. cold cache ------------------------------------------------------------------

DELAY_HOW=
DELAY_PID=
# delay_on: 20 ms more on every upstream round trip (srv -> inet direction).
delay_on() {
	if ip netns exec "$NS_SRV" tc qdisc add dev "$DEV_SRV" root netem delay "${DELAY_MS}ms" 2>/dev/null; then
		DELAY_HOW="tc netem delay ${DELAY_MS}ms on $DEV_SRV (srv end of the WAN veth)"
		return 0
	fi
	# No sch_netem in this kernel: a userspace link with the delay, and the
	# route to the lab through it for this run.
	cc -O2 -o "$HGB_TMP/dns-delay" "$HERE/dns-delay.c" 2>"$HGB_TMP/dns-delay.err" ||
		die "tc netem is not available and dns-delay.c did not build: $(head -c 300 "$HGB_TMP/dns-delay.err")"
	ip -n "$NS_SRV" tuntap add dev bdly0 mode tun
	ip -n "$NS_INET" tuntap add dev bdly1 mode tun
	ip -n "$NS_SRV" addr add 100.64.0.2/30 dev bdly0
	ip -n "$NS_INET" addr add 100.64.0.1/30 dev bdly1
	ip -n "$NS_SRV" link set bdly0 up
	ip -n "$NS_INET" link set bdly1 up
	"${PIN_CLI[@]}" "$HGB_TMP/dns-delay" "/run/netns/$NS_SRV" bdly0 "/run/netns/$NS_INET" bdly1 "$DELAY_MS" \
		>"$HGB_TMP/dns-delay.out" 2>"$HGB_TMP/dns-delay.log" &
	DELAY_PID=$!
	hgb_track "$DELAY_PID"
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q ready "$HGB_TMP/dns-delay.out" 2>/dev/null && break
		proc_gone "$DELAY_PID" && die "dns-delay exited: $(cat "$HGB_TMP/dns-delay.log")"
		sleep 0.1
	done
	grep -q ready "$HGB_TMP/dns-delay.out" || die "dns-delay never attached to its TUN devices"
	ip -n "$NS_SRV" route replace "$LAB_NET" dev bdly0 src 100.64.0.2
	DELAY_HOW="no sch_netem in this kernel: upstream routed through dns-delay (tests/bench/dns-delay.c),"
	DELAY_HOW+=" a userspace link adding ${DELAY_MS}ms srv -> inet"
}

delay_off() {
	if [[ -z $DELAY_PID ]]; then
		ip netns exec "$NS_SRV" tc qdisc del dev "$DEV_SRV" root 2>/dev/null || true
		return 0
	fi
	ip -n "$NS_SRV" route replace "$LAB_NET" via "$WAN_INET" dev "$DEV_SRV"
	hgb_stop "$DELAY_PID" || true
	note "$(cat "$HGB_TMP/dns-delay.log")"
	DELAY_PID=
	ip -n "$NS_SRV" link del bdly0 2>/dev/null || true
	ip -n "$NS_INET" link del bdly1 2>/dev/null || true
}

# The delay seen by a query: the root's SOA from srv, once (a plain RTT
# check that the delay is in place; it goes to nsd directly, not through a
# resolver).
delay_check() {
	local out
	out=$(ip netns exec "$NS_SRV" dig @198.18.0.1 +norecurse +tries=1 +time=2 . SOA 2>&1)
	RTT_CHECK=$(qtime_of "$out")
}

cold_measure() { # SERVER
	local srv=$1 key=$1,cold dir=$HGB_TMP/$1-cold name type out rc u0 t0 u1 t1 ua ta w0 w1 b0 b1 i=0 sum=0
	local tot0 tot1 bad=0
	if ! start_checked "$srv" "$dir" "$key"; then
		echo "$srv: ${RES[$key,status]#not measured: } — not measured"
		return 0
	fi
	note "$srv: cold cache, $COLD_NAMES names one after the other (dig)"
	read -r u0 t0 < <(upstream)
	ua=$u0
	ta=$t0
	b0=$(srv_cpu "$SRV_PID")
	tot0=$(date +%s%N)
	while read -r name type; do
		i=$((i + 1))
		w0=$(date +%s%N)
		out=$(dq "$srv" "$name" "$type")
		w1=$(date +%s%N)
		read -r u1 t1 < <(upstream)
		rc=$(rcode_of "$out")
		[[ -n $rc && $rc != SERVFAIL ]] || bad=1
		RES[$key,$i,rc]=${rc:-none}
		RES[$key,$i,ms]=$(qtime_of "$out")
		RES[$key,$i,wall]=$(((w1 - w0) / 1000000))
		RES[$key,$i,up]=$((u1 - ua + t1 - ta))
		RES[$key,$i,tcp]=$((t1 - ta))
		sum=$((sum + ${RES[$key,$i,ms]:-0}))
		ua=$u1
		ta=$t1
	done <"$COLD_FILE"
	tot1=$(date +%s%N)
	if proc_gone "$SRV_PID"; then
		RES[$key,status]="not measured: the server died during the cold run (log: $SRV_LOG)"
		echo "$srv, cold: the server died; last lines of $SRV_LOG:"
		tail -n 15 "$SRV_LOG" | sed 's/^/#   /'
		FAILED=1
		hgb_stop "$SRV_PID" || true
		return 0
	fi
	b1=$(srv_cpu "$SRV_PID")
	# What a resolver still sends after its last answer (other NS addresses,
	# prefetches) belongs to the set too.
	sleep 1
	read -r u1 t1 < <(upstream)
	RES[$key,up]=$((u1 - u0 + t1 - t0))
	RES[$key,tcp]=$((t1 - t0))
	RES[$key,late]=$((u1 - ua + t1 - ta))
	RES[$key,sum_ms]=$sum
	RES[$key,wall_ms]=$(((tot1 - tot0) / 1000000))
	RES[$key,cpu_ms]=$(calc "1000 * ($b1 - $b0)")
	# Again: all from the cache now, nothing upstream.
	while read -r name type; do
		dq "$srv" "$name" "$type" >/dev/null
	done <"$COLD_FILE"
	read -r ua ta < <(upstream)
	RES[$key,again]=$((ua - u1 + ta - t1))
	((bad)) && note "$srv: some cold-cache names got SERVFAIL or no answer (see the table)"
	server_stop "$srv"
	echo "$srv, cold: ${RES[$key,sum_ms]} ms (dig query times), ${RES[$key,up]} upstream queries" \
		"(${RES[$key,tcp]} over TCP)"
}

# ---- 3. RSS with a full cache ----------------------------------------------------------

fill_measure() { # SERVER
	local srv=$1 key=$1,fill dir=$HGB_TMP/$1-fill names=0 chunk=50000 e b f out u0 t0 u1 t1 sent=0 done_=0 lost=0 k v
	local tm0 tm1
	if ! start_checked "$srv" "$dir" "$key"; then
		echo "$srv: ${RES[$key,status]#not measured: } — not measured"
		return 0
	fi
	RES[$key,rss0]=$(proc_status_kib "$SRV_PID" VmRSS)
	note "$srv: filling the cache with unique rN.wild.$Z A at $FILL_RATE qps (50k a step, until 95% of" \
		"$((CACHE_BUDGET >> 20)) MiB or $FILL_MAX names)"
	read -r u0 t0 < <(upstream)
	tm0=$(date +%s)
	f=$dir/queries-fill.txt
	while ((names < FILL_MAX)); do
		((names + chunk <= FILL_MAX)) || chunk=$((FILL_MAX - names))
		awk -v a=$((names + 1)) -v b=$((names + chunk)) -v z="$Z" \
			'BEGIN { for (i = a; i <= b; i++) printf "r%d.wild.%s A\n", i, z }' >"$f"
		out=$dir/dnsperf-fill-$names.out
		ip netns exec "$NS_SRV" timeout -k 5 $((chunk / FILL_RATE + 60)) "${PIN_CLI[@]}" "${DNSPERF_BASE[@]}" \
			-p "${PORT[$srv]}" -d "$f" -n 1 -Q "$FILL_RATE" -q 2000 >"$out" 2>&1 &
		wait $! || true
		names=$((names + chunk))
		unset -v RS_
		declare -A RS_=()
		while read -r k v; do RS_[$k]=$v; done < <(awk -f "$HERE/dns-dnsperf.awk" "$out")
		sent=$((sent + ${RS_[sent]:-0}))
		done_=$((done_ + ${RS_[completed]:-0}))
		lost=$((lost + ${RS_[lost]:-0}))
		read -r e b < <(cache_figures "$srv")
		note "$srv: $names names sent, cache $e entries, $b bytes, ${RS_[lost]:-?} lost in this step"
		[[ $b =~ ^[0-9]+$ ]] && ((b * 100 >= CACHE_BUDGET * 95)) && break
		proc_gone "$SRV_PID" && break
	done
	tm1=$(date +%s)
	read -r u1 t1 < <(upstream)
	if proc_gone "$SRV_PID"; then
		RES[$key,status]="not measured: the server died during the fill (log: $SRV_LOG)"
		echo "$srv, fill: the server died; last lines of $SRV_LOG:"
		tail -n 15 "$SRV_LOG" | sed 's/^/#   /'
		FAILED=1
		hgb_stop "$SRV_PID" || true
		return 0
	fi
	RES[$key,names]=$names
	RES[$key,completed]=$done_
	RES[$key,lost]=$lost
	RES[$key,entries]=$e
	RES[$key,bytes]=$b
	RES[$key,secs]=$((tm1 - tm0))
	RES[$key,up]=$((u1 - u0 + t1 - t0))
	RES[$key,rss]=$(proc_status_kib "$SRV_PID" VmRSS)
	RES[$key,hwm]=$(proc_status_kib "$SRV_PID" VmHWM)
	server_stop "$srv"
	echo "$srv, fill: RSS $(fmt %.1f "$(calc "${RES[$key,rss]} / 1024")") MiB with $e cache entries" \
		"($b bytes) after $names names"
}

# ---- the run -------------------------------------------------------------------

FAILED=0
WARM_BAD=0
echo "DNS resolver benchmark — $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(uname -r), $NCPU CPUs"
echo "$(dnsperf -h 2>&1 | sed -n 's/^Version /dnsperf /p' | head -n 1), unbound $(unbound -V 2>/dev/null |
	sed -n 's/^Version //p' | head -n 1), nsd $(nsd -v 2>&1 | sed -n 's/^NSD version //p' | head -n 1)"
if [[ -n $CPU_CLI ]]; then
	echo "pinned with taskset: dnsperf, dig and the lab's nsd on CPU $CPU_CLI, the resolver on CPU $CPU_SRV"
else
	echo "one CPU only: dnsperf and the resolver share it (not pinned); figures are not comparable with a 2-CPU run"
fi
echo "resolvers on 127.0.0.1 in their namespace: homegwd :${PORT[homegw]} ($HOMEGWD), unbound :${PORT[unbound]}" \
	"(num-threads 1, iterator only, msg 16m + rrset 16m); cache budget 32 MiB each"
echo "server CPU: $CPU_HOW"
echo "machine load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
echo

echo "== 1. cache hits: $HIT_NAMES queries (queries-hit.txt), warmed; ${DURATION}s per run"
for s in "${SERVERS[@]}"; do hit_measure "$s"; done
echo
if ((!SKIP_COLD)); then
	delay_on
	delay_check
	echo "== 2. cold cache: $DELAY_HOW; dig @lab-root . SOA from srv took ${RTT_CHECK:-?} ms"
	for s in "${SERVERS[@]}"; do cold_measure "$s"; done
	delay_off
	echo
fi
if ((!SKIP_FILL)); then
	echo "== 3. RSS with a full cache"
	for s in "${SERVERS[@]}"; do fill_measure "$s"; done
	echo
fi

# ---- the report ------------------------------------------------------------------

row() { # LABEL CELL...
	local label=$1
	shift
	printf '%-40s' "$label"
	printf ' %22s' "$@"
	printf '\n'
}

hit_cell() { # SERVER KIND WHAT
	local k=$1,$2
	[[ ${RES[$k,status]:-} == measured ]] || { printf -- '-'; return; }
	case $3 in
	qps | capacity) fmt %.0f "${RES[$k,$3]}" ;;
	sent) printf '%s / %s' "${RES[$k,completed]}" "${RES[$k,sent]}" ;;
	lost) printf '%s (%s%%)' "${RES[$k,lost]}" \
		"$(awk -v l="${RES[$k,lost]}" -v s="${RES[$k,sent]}" 'BEGIN { printf "%.2f", s ? 100 * l / s : 0 }')" ;;
	lat) printf '%s / %s' "$(fmt %.3f "${RES[$k,lat_avg]:--}")" "$(fmt %.1f "${RES[$k,lat_max]:--}")" ;;
	us_per_q | us_per_q_ticks | us_per_q_user) printf '%s' "${RES[$k,$3]}" ;;
	srv_cpu_pct | cli_cpu_pct) fmt %.0f "${RES[$k,$3]}" ;;
	servfail) printf '%s' "${RES[$k,servfail]:-0}" ;;
	upstream | overflow) printf '%s' "${RES[$k,$3]}" ;;
	rss) fmt %.1f "$(calc "${RES[$k,rss]:-0} / 1024")" ;;
	other) printf '%s / %s' "$(fmt %.0f "${RES[$k,other_cli]}")" "$(fmt %.0f "${RES[$k,other_srv]}")" ;;
	esac
}

ratio() { # KIND FIELD: homegw's figure over unbound's, "0.45x"
	local a=${RES[homegw,$1,$2]:-} b=${RES[unbound,$1,$2]:-}
	awk -v a="$a" -v b="$b" 'BEGIN { if (a != "" && a != "-" && b != "" && b != "-" && b > 0) printf "%.2fx", a / b
		else printf "-" }'
}
# verdict KIND FIELD OP LIMIT: "met" / "NOT met" for homegw/unbound OP LIMIT.
verdict() {
	local a=${RES[homegw,$1,$2]:-} b=${RES[unbound,$1,$2]:-}
	awk -v a="$a" -v b="$b" -v op="$3" -v l="$4" 'BEGIN {
		if (a == "" || b == "" || a == "-" || b == "-" || b <= 0) { printf "-"; exit }
		r = a / b; ok = (op == "<=") ? r <= l : r >= l
		printf "%s", ok ? "met" : "NOT met" }'
}

both_measured() { # KIND
	[[ ${RES[unbound,$1,status]:-} == measured && ${RES[homegw,$1,status]:-} == measured ]]
}
any_measured() { # KIND
	[[ ${RES[unbound,$1,status]:-} == measured || ${RES[homegw,$1,status]:-} == measured ]]
}

WARN_BUSY=0
for kind in max fixed; do
	any_measured "$kind" || continue
	if [[ $kind == max ]]; then
		title="== cache hits at max rate: dnsperf -q $OUTSTANDING (queries in flight), ${DURATION}s"
	else
		title="== cache hits at a fixed rate: dnsperf -Q $RATE -q $OUTSTANDING, ${DURATION}s"
	fi
	echo "$title"
	row "" "${SERVERS[@]}"
	for what in "queries/s answered|qps" "answered / sent|sent" "lost|lost" "latency ms mean / max|lat" \
		"server CPU us per query|us_per_q" "  the same from utime+stime ticks|us_per_q_ticks" \
		"  of it user space (utime)|us_per_q_user" \
		"server CPU % of its core|srv_cpu_pct" \
		"est. capacity qps at 100% of a core|capacity" "dnsperf CPU % of its core|cli_cpu_pct" \
		"SERVFAIL answers|servfail" "upstream queries during the run|upstream" \
		"UDP rcvbuf overflows (server + dnsperf)|overflow" "server RSS MiB at end|rss" \
		"other load % CPU cli / srv|other"; do
		mapfile -t cells < <(for s in "${SERVERS[@]}"; do hit_cell "$s" "$kind" "${what#*|}"; echo; done)
		row "${what%|*}" "${cells[@]}"
	done
	for s in "${SERVERS[@]}"; do
		[[ ${RES[$s,$kind,status]:-} == measured ]] || continue
		echo "$s response codes: ${RES[$s,$kind,rcodes]:--}"
		if awk -v a="${RES[$s,$kind,other_cli]}" -v b="${RES[$s,$kind,other_srv]}" \
			'BEGIN { exit !(a != "-" && (a > 10 || b > 10)) }'; then
			echo "WARNING: $s: other processes used >10% of a pinned CPU during the run: figures are perturbed"
			WARN_BUSY=1
		fi
		if [[ $kind == max ]] && awk -v c="${RES[$s,$kind,cli_cpu_pct]}" -v p="${RES[$s,$kind,srv_cpu_pct]}" \
			'BEGIN { exit !(c >= 90 && p < 90) }'; then
			echo "NOTE: $s: dnsperf was the limit (its CPU $(fmt %.0f "${RES[$s,$kind,cli_cpu_pct]}")%, the" \
				"server's $(fmt %.0f "${RES[$s,$kind,srv_cpu_pct]}")%): the server is faster than this qps"
		fi
		if [[ $kind == fixed ]] && awk -v q="${RES[$s,$kind,qps]}" -v r="$RATE" 'BEGIN { exit !(q < 0.98 * r) }'; then
			echo "NOTE: $s answered $(fmt %.0f "${RES[$s,$kind,qps]}") of the $RATE qps asked: the" \
				"fixed-rate figures are not the same work for both servers (lower --rate)"
		fi
	done
	if both_measured "$kind"; then
		if [[ $kind == max ]]; then
			echo "ratios homegw/unbound: server CPU per query $(ratio max us_per_q)" \
				"($(verdict max us_per_q '<=' 0.5): target <= 0.5x), queries/s $(ratio max qps)" \
				"($(verdict max qps '>=' 1): target >= 1x), est. capacity $(ratio max capacity)," \
				"user-space CPU per query $(ratio max us_per_q_user)"
		else
			echo "ratios homegw/unbound: server CPU per query $(ratio fixed us_per_q)" \
				"($(verdict fixed us_per_q '<=' 0.5): target <= 0.5x), server CPU % $(ratio fixed srv_cpu_pct)," \
				"user-space CPU per query $(ratio fixed us_per_q_user)"
		fi
	fi
	echo
done
if [[ " ${SERVERS[*]} " == *" unbound "* && " ${SERVERS[*]} " == *" homegw "* && -n ${RES[homegw,warm]:-} &&
	${RES[homegw,warm]} != "${RES[unbound,warm]:-}" ]]; then
	echo "WARNING: the servers' rcodes for the cache-hit names differ (warm-up):"
	paste -d' ' "$HIT_FILE" <(tr ' ' '\n' <<<"${RES[unbound,warm]}") <(tr ' ' '\n' <<<"${RES[homegw,warm]}") |
		awk '$3 != $4 { printf "  %s %s: unbound %s, homegw %s\n", $1, $2, $3, $4 }'
	echo
fi
((WARM_BAD)) && echo "WARNING: some cache-hit names were not answered at warm-up (see the # lines)" && echo

cold_cell() { # SERVER WHAT
	local k=$1,cold
	[[ ${RES[$k,status]:-} == measured ]] || { printf -- '-'; return; }
	case $2 in
	sum) printf '%s' "${RES[$k,sum_ms]}" ;;
	wall) printf '%s' "${RES[$k,wall_ms]}" ;;
	up) printf '%s (%s TCP)' "${RES[$k,up]}" "${RES[$k,tcp]}" ;;
	late) printf '%s' "${RES[$k,late]}" ;;
	again) printf '%s' "${RES[$k,again]}" ;;
	cpu) fmt %.0f "${RES[$k,cpu_ms]}" ;;
	esac
}
if ((!SKIP_COLD)) && any_measured cold; then
	echo "== cold cache: $COLD_NAMES names in order, each server started empty; +${DELAY_MS} ms per upstream round trip"
	row "" "${SERVERS[@]}"
	for what in "time ms, sum of dig query times|sum" "time ms, wall (dig start-up included)|wall" \
		"upstream queries (TCP connections)|up" "  of them after the last answer (1 s)|late" \
		"server CPU ms for the set|cpu" "upstream queries on a second pass|again"; do
		mapfile -t cells < <(for s in "${SERVERS[@]}"; do cold_cell "$s" "${what#*|}"; echo; done)
		row "${what%|*}" "${cells[@]}"
	done
	if both_measured cold; then
		echo "ratios homegw/unbound: time $(ratio cold sum_ms), upstream queries $(ratio cold up)"
	fi
	echo "per name (dig query time ms / upstream queries sent while it resolved; rcode):"
	printf '  %-38s' "name type"
	printf ' %24s' "${SERVERS[@]}"
	printf '\n'
	i=0
	while read -r name type; do
		i=$((i + 1))
		printf '  %-38s' "$name $type"
		for s in "${SERVERS[@]}"; do
			if [[ ${RES[$s,cold,status]:-} == measured ]]; then
				printf ' %24s' "${RES[$s,cold,$i,ms]:--} / ${RES[$s,cold,$i,up]} ${RES[$s,cold,$i,rc]}"
			else
				printf ' %24s' -
			fi
		done
		printf '\n'
	done <"$COLD_FILE"
	echo
fi

fill_cell() { # SERVER WHAT
	local k=$1,fill
	[[ ${RES[$k,status]:-} == measured ]] || { printf -- '-'; return; }
	case $2 in
	names) printf '%s' "${RES[$k,names]}" ;;
	lost) printf '%s' "${RES[$k,lost]}" ;;
	up) printf '%s' "${RES[$k,up]}" ;;
	secs) printf '%s' "${RES[$k,secs]}" ;;
	entries) printf '%s' "${RES[$k,entries]}" ;;
	bytes)
		[[ ${RES[$k,bytes]} =~ ^[0-9]+$ ]] || { printf -- '-'; return; }
		printf '%s (%s%%)' "$(fmt %.1f "$(calc "${RES[$k,bytes]} / 1048576")")" \
			"$(fmt %.0f "$(calc "100 * ${RES[$k,bytes]} / $CACHE_BUDGET")")" ;;
	rss0) fmt %.1f "$(calc "${RES[$k,rss0]} / 1024")" ;;
	rss) printf '%s / %s' "$(fmt %.1f "$(calc "${RES[$k,rss]} / 1024")")" \
		"$(fmt %.1f "$(calc "${RES[$k,hwm]} / 1024")")" ;;
	esac
}
if ((!SKIP_FILL)) && any_measured fill; then
	echo "== RSS with a full cache (budget $((CACHE_BUDGET >> 20)) MiB): unique rN.wild.$Z A at $FILL_RATE qps"
	row "" "${SERVERS[@]}"
	for what in "unique names sent|names" "lost|lost" "upstream queries|up" "seconds|secs" \
		"cache entries (unbound: msg + rrset)|entries" "cache MiB (% of budget)|bytes" "RSS MiB at start|rss0" \
		"RSS MiB full / peak|rss"; do
		mapfile -t cells < <(for s in "${SERVERS[@]}"; do fill_cell "$s" "${what#*|}"; echo; done)
		row "${what%|*}" "${cells[@]}"
	done
	if both_measured fill; then
		echo "ratio homegw/unbound: RSS with a full cache $(ratio fill rss)"
	fi
	echo
fi

for s in "${SERVERS[@]}"; do
	for kind in max cold fill; do
		st=${RES[$s,$kind,status]:-}
		if [[ -n $st && $st != measured ]]; then
			echo "$s: ${st#not measured: } — not measured"
			break
		fi
	done
done
((WARN_BUSY)) && echo "The machine was shared during some runs: rerun on an idle machine before quoting those figures."

HGB_OK=1
((FAILED)) && HGB_OK=0
exit "$FAILED"
