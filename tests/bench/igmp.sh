#!/usr/bin/env bash
# igmp.sh — the IGMP proxy's join and leave latency: homegwd against
# igmpproxy (Debian's package), in one run.
#
# The topology of tests/integration/t-igmp.sh reduced to one downstream link:
# a sender upstream (203.0.113.1, a datagram to the group every 5 ms), the
# router (GW), one receiver host on the downstream link. Each daemon and mode
# gets a round of its own in fresh namespaces (only one process can hold
# MRT_INIT in a namespace, and the receiver's kernel keeps IGMP state, such as
# an older-version querier seen, that must not leak from one round into the
# next): homegwd with `quickleave no` and `quickleave yes`, igmpproxy without
# and with its `quickleave`. In each round the receiver joins and leaves N
# times:
#   join latency   the receiver's join (IP_ADD_MEMBERSHIP returned) → the first
#                  datagram its socket receives, and → the first one sent
#                  after the join (stale datagrams the router's kernel held
#                  back come first with igmpproxy);
#   leave latency  the receiver's leave (its socket closed: the kernel sends
#                  the leave) → the last datagram of the group seen on the
#                  downstream link (AF_PACKET on the router's device).
# Output: min / median / max per daemon and mode, the ratios homegw/igmpproxy
# and issue 6's targets. See tests/bench/README.md.
#
#   sudo tests/bench/igmp.sh [--reps N] [--hold S] [--interval MS] [--quiet S] [--leave-max S]
#                            [--only homegw|igmpproxy] [--keep]
#
# Exit status: 0 when every round that could be run was measured; 1 when a
# daemon failed to start, a join never got the stream, or the harness itself
# failed. A target not met is a finding, not a failure. A homegwd whose config
# check does not know the igmp-proxy section yet is reported as not measured,
# which is not a failure either.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<'EOF'
usage: igmp.sh [--reps N] [--hold S] [--interval MS] [--quiet S] [--leave-max S]
               [--only homegw|igmpproxy] [--keep]        (as root)
  --reps N          joins and leaves per daemon and mode (default 10, at most 100)
  --hold S          seconds the receiver stays a member after its first datagram (default 1)
  --interval MS     the sender's spacing in ms (default 5; at most 20, t-igmp's)
  --quiet S         seconds without a datagram on the link that end a leave (default 3)
  --leave-max S     a leave whose stream still flows after S seconds is recorded as ">S" (default 60)
  --only DAEMON     measure only homegw or only igmpproxy
  --keep            keep the temp dir (configs, logs, the receiver's and sniffers' records)
Environment: HOMEGW_BIN (directory with homegwd and homegwctl; default build/).
EOF
}

REPS=10
HOLD=1
INTERVAL=5
QUIET=3
LEAVE_MAX=60
ONLY=
KEEP=0
while (($#)); do
	case $1 in
	--reps) REPS=${2:?}; shift 2 ;;
	--hold) HOLD=${2:?}; shift 2 ;;
	--interval) INTERVAL=${2:?}; shift 2 ;;
	--quiet) QUIET=${2:?}; shift 2 ;;
	--leave-max) LEAVE_MAX=${2:?}; shift 2 ;;
	--only) ONLY=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in REPS HOLD INTERVAL QUIET LEAVE_MAX; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "--${v,,}: a positive whole number" | tr _ - >&2; exit 2; }
done
((REPS <= 100)) || { echo "--reps: at most 100" >&2; exit 2; }
((HOLD <= 60 && QUIET <= 30)) || { echo "--hold: at most 60, --quiet at most 30" >&2; exit 2; }
((INTERVAL <= 20)) || { echo "--interval: at most 20 ms (the issue's sender sends every 20 ms or faster)" >&2; exit 2; }
((LEAVE_MAX > QUIET && LEAVE_MAX <= 300)) || { echo "--leave-max: more than --quiet, at most 300" >&2; exit 2; }
case $ONLY in '' | homegw | igmpproxy) ;; *) echo "--only: homegw or igmpproxy" >&2; exit 2 ;; esac

if [[ $(id -u) -ne 0 ]]; then
	echo "igmp bench: run as root (namespaces, multicast routing): sudo $0" >&2
	exit 1
fi

HGB_KEEP=$KEEP
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
die() {
	printf 'igmp bench: %s\n' "$*" >&2
	exit 1
}

HOMEGW_BIN=${HOMEGW_BIN:-build}
[[ $HOMEGW_BIN == /* ]] || HOMEGW_BIN=$HGB_ROOT/$HOMEGW_BIN
HOMEGWD=$HOMEGW_BIN/homegwd
HOMEGWCTL=$HOMEGW_BIN/homegwctl
MCAST=$HGB_ROOT/tests/integration/mcast.py
SEND=$HERE/igmp-send.py
RECV=$HERE/igmp-recv.py
for tool in python3 ip awk sort; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs it)"
done
[[ -r $MCAST ]] || die "$MCAST not found (t-igmp's sniffers)"

# The rounds: DAEMON:QUICKLEAVE, homegw first.
ROUNDS=()
if [[ $ONLY != igmpproxy ]]; then
	[[ -x $HOMEGWD && -x $HOMEGWCTL ]] ||
		die "homegwd/homegwctl not built in $HOMEGW_BIN (cmake --build build, or set HOMEGW_BIN)"
	ROUNDS+=(homegw:no homegw:yes)
fi
if [[ $ONLY != homegw ]]; then
	command -v igmpproxy >/dev/null ||
		die "igmpproxy not found (Debian's package igmpproxy; scripts/deps.sh installs it)"
	ROUNDS+=(igmpproxy:no igmpproxy:yes)
fi

# ---- the network ---------------------------------------------------------------
#
#   UP ns                                 GW ns: homegwd | igmpproxy         RCV ns
#   eth0 203.0.113.1/24 ------veth------  veth-wan 203.0.113.2/24
#   route 224.0.0.0/4 dev eth0            veth-lan 198.51.100.1/24 --veth-- eth0 198.51.100.2/24
#   igmp-send.py → 239.1.2.3:5000         mcast.py sniffers on veth-lan     igmp-recv.py (join/leave)
#
# As t-igmp: rp_filter off in GW and RCV (the source is on veth-wan's own
# subnet, so strict rp_filter would pass it too; off keeps the topology the
# test's). Fresh namespaces for every round.
GROUP=239.1.2.3
PORT=5000
SRC=203.0.113.1
RCV_ADDR=198.51.100.2
NS_UP='' NS_GW='' NS_RCV=''

net_up() { # ROUND-NUMBER
	NS_UP=$HGB_PREFIX-r$1-up
	NS_GW=$HGB_PREFIX-r$1-gw
	NS_RCV=$HGB_PREFIX-r$1-rcv
	local ns
	for ns in "$NS_UP" "$NS_GW" "$NS_RCV"; do hgb_netns "$ns"; done
	for ns in "$NS_GW" "$NS_RCV"; do
		ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done
	hgb_veth "$NS_GW" veth-wan "$NS_UP" eth0
	ip -n "$NS_GW" addr add 203.0.113.2/24 dev veth-wan
	ip -n "$NS_UP" addr add "$SRC/24" dev eth0
	ip -n "$NS_UP" route add 224.0.0.0/4 dev eth0
	hgb_veth "$NS_GW" veth-lan "$NS_RCV" eth0
	ip -n "$NS_GW" addr add 198.51.100.1/24 dev veth-lan
	ip -n "$NS_RCV" addr add "$RCV_ADDR/24" dev eth0
	ip -n "$NS_RCV" route add default via 198.51.100.1
	ip netns exec "$NS_GW" sysctl -q -w net.ipv4.conf.veth-wan.rp_filter=0 net.ipv4.conf.veth-lan.rp_filter=0
}

# net_down: stop what runs in the round's namespaces and delete them.
net_down() {
	local ns p keep=()
	# Everything tracked belongs to the round: stopped and reaped first, so
	# that bash reports no killed job.
	for p in "${HGB_PIDS[@]}"; do hgb_stop "$p" >/dev/null 2>&1 || true; done
	for ns in "$NS_UP" "$NS_GW" "$NS_RCV"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	for ns in "${HGB_NETNS[@]}"; do
		[[ $ns == "$NS_UP" || $ns == "$NS_GW" || $ns == "$NS_RCV" ]] || keep+=("$ns")
	done
	HGB_NETNS=("${keep[@]}")
}

# bg NS CMD...: CMD in NS, in the background, tracked; its pid in BG_PID
# (ip netns exec execs CMD: $! is CMD itself).
bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	BG_PID=$!
	hgb_track "$BG_PID"
}

now() { printf '%s' "$EPOCHREALTIME"; }
older() { awk -v a="$1" -v b="$EPOCHREALTIME" -v s="$2" 'BEGIN { exit !(b - a >= s) }'; } # A..now >= S

# vifs_up: the daemon in GW holds MRT_INIT and has a VIF on both devices.
vifs_up() {
	local v
	v=$(ip netns exec "$NS_GW" cat /proc/net/ip_mr_vif 2>/dev/null) || return 1
	[[ $v == *veth-wan* && $v == *veth-lan* ]]
}

# packet_sockets: AF_PACKET sockets open in GW (/proc/net/packet is per
# namespace): the sniffers are listening once there are two.
packet_sockets() { ip netns exec "$NS_GW" awk 'NR > 1' /proc/net/packet | wc -l; }

# daemon_cpu_ms PID: CPU time of all its threads, from the scheduler's exact
# se.sum_exec_runtime (a round costs the daemons a few ms: clock ticks of
# 10 ms would not do), else utime + stime in ticks.
daemon_cpu_ms() {
	if [[ -r /proc/$1/sched ]] && grep -q '^se.sum_exec_runtime' "/proc/$1/sched"; then
		awk '$1 == "se.sum_exec_runtime" { t += $3 } END { printf "%.1f\n", t }' /proc/"$1"/task/*/sched \
			2>/dev/null || echo -
	else
		calc "$(proc_ticks "$1") * 1000 / $HGB_CLK_TCK"
	fi
}

# ---- the daemons -----------------------------------------------------------------

DAEMON_PID=
DAEMON_LOG=
WHY=

homegw_config() { # DIR QUICKLEAVE
	mkdir -p "$1/state"
	cat >"$1/homegw.conf" <<EOF
state-dir $1/state
log-level info
interface wan { device veth-wan }
interface lan { device veth-lan }
igmp-proxy {
	upstream wan
	downstream lan
	quickleave $2
}
control { socket $1/control.sock }
EOF
}

# homegw_start DIR QUICKLEAVE: 0 started and ready; 2 the igmp module is not
# built (WHY says so); 1 any other failure (WHY).
homegw_start() {
	local dir=$1 err i
	homegw_config "$dir" "$2"
	if ! err=$("$HOMEGWD" --check -c "$dir/homegw.conf" 2>&1); then
		if [[ $err == *igmp*"not supported yet"* ]]; then
			WHY="igmp module not built yet"
			return 2
		fi
		WHY="homegwd --check rejects the benchmark's config: $err"
		return 1
	fi
	DAEMON_LOG=$dir/homegwd.log
	bg "$NS_GW" "$HOMEGWD" -c "$dir/homegw.conf" >"$DAEMON_LOG" 2>&1
	DAEMON_PID=$BG_PID
	for ((i = 0; i < 200; i++)); do
		if proc_gone "$DAEMON_PID"; then
			WHY="homegwd exited at start (log: $DAEMON_LOG): $(tail -n 3 "$DAEMON_LOG" | tr '\n' ' ')"
			return 1
		fi
		if "$HOMEGWCTL" -s "$dir/control.sock" --json status 2>/dev/null |
			grep -q '"igmp"' && vifs_up; then
			return 0
		fi
		sleep 0.05
	done
	WHY="homegwd did not add its VIFs within 10 s (log: $DAEMON_LOG)"
	return 1
}

# igmpproxy.conf(5): the upstream with the sender's network as an altnet,
# the downstream link, nothing else (lo disabled: igmpproxy gives every
# interface it is not told about a role of its own).
igmpproxy_config() { # DIR QUICKLEAVE
	{
		[[ $2 == yes ]] && printf 'quickleave\n'
		printf 'phyint veth-wan upstream ratelimit 0 threshold 1\n'
		printf '\taltnet 203.0.113.0/24\n'
		printf 'phyint veth-lan downstream ratelimit 0 threshold 1\n'
		printf 'phyint lo disabled\n'
	} >"$1/igmpproxy.conf"
}

# igmpproxy_start DIR QUICKLEAVE: in the foreground (-d: log to stderr,
# implies -n), -v: its INFO messages (joins, leaves, routes) in the log.
igmpproxy_start() {
	local dir=$1 i
	igmpproxy_config "$dir" "$2"
	DAEMON_LOG=$dir/igmpproxy.log
	bg "$NS_GW" igmpproxy -d -v "$dir/igmpproxy.conf" >"$DAEMON_LOG" 2>&1
	DAEMON_PID=$BG_PID
	for ((i = 0; i < 200; i++)); do
		if proc_gone "$DAEMON_PID"; then
			WHY="igmpproxy exited at start (log: $DAEMON_LOG): $(tail -n 3 "$DAEMON_LOG" | tr '\n' ' ')"
			return 1
		fi
		vifs_up && return 0
		sleep 0.05
	done
	WHY="igmpproxy did not add its VIFs within 10 s (log: $DAEMON_LOG)"
	return 1
}

# ---- one round -------------------------------------------------------------------

declare -A RES
FAILED=0

# size FILE: bytes (0 when missing).
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# rep_figures DIR CENSORED: a rep's figures in ms, from the receiver's record
# in DIR (its join and leave times, its datagrams with their send times) and
# the round's sniffer files as they stand once the link is quiet:
#   JOIN LEAVE JOIN-HOST JOIN-ROUTER LEAVE-HOST LEAVE-ROUTER JOIN-STREAM STALE STALE-AGE
# JOIN: the join → the first datagram received; JOIN-STREAM: → the first
# one sent after the join (STALE datagrams sent before it came first, the
# oldest STALE-AGE ms old: held in the router's kernel, see README.md);
# JOIN-HOST: the join → the receiver's first report on the link (its
# kernel); JOIN-ROUTER: that report → the first datagram of the stream
# received (the daemon, the forwarding, the wait for the next datagram);
# LEAVE: the leave → the last datagram on the link; LEAVE-HOST: the leave →
# the leave message on the link (a v2 leave, or the v3 report after it);
# LEAVE-ROUTER: that message → the last datagram on the link. A figure that
# cannot be had is "-"; a censored leave (CENSORED=1) is ">S000", S =
# --leave-max.
rep_figures() {
	awk -v joined="$(cat "$1/joined")" -v left="$(cat "$1/left")" -v cens="$2" -v rcv="$RCV_ADDR" \
		-v lmax="$LEAVE_MAX" '
		function ms(a, b, clamp) {
			if (a == "" || b == "") return "-"
			x = (b - a) * 1000
			if (clamp && x < 0) x = 0
			return sprintf("%.1f", x)
		}
		FILENAME == ARGV[1] {
			if ($2 != rcv) next
			if (rpt == "" && $1 >= joined && ($4 == "0x22" || $4 == "0x16" || $4 == "0x12")) rpt = $1
			# The v2 leave is sent inside close(): it may be read a
			# moment before the receiver wrote its time.
			if (lvm == "" && $1 >= left - 0.005 && ($4 == "0x22" || $4 == "0x17")) lvm = $1
			next
		}
		FILENAME == ARGV[2] { last = $1; next }
		# the receiver: SRC SEQ SENT RECEIVED
		{
			if (first == "") first = $4
			if ($3 < joined) {
				stale++
				if (joined - $3 > age) age = joined - $3
			} else if (fresh == "") fresh = $4
		}
		END {
			c = ">" lmax "000"
			printf "%s %s %s %s %s %s %s %d %s\n", ms(joined, first, 0), cens ? c : ms(left, last, 1),
				ms(joined, rpt, 1), ms(rpt, fresh, 1), ms(left, lvm, 1), cens ? c : ms(lvm, last, 1),
				ms(joined, fresh, 0), stale, stale ? sprintf("%.0f", age * 1000) : "-"
		}' "$IGMPF" "$SNIFF" "$1/log"
}

# one_rep DIR K: one join and leave; its figures (rep_figures) appended to
# DIR/results.
one_rep() {
	local dir=$1 k=$2 d pid t0 last_size last_change s cens=0 f
	d=$dir/rep-$k
	mkdir -p "$d"
	bg "$NS_RCV" python3 "$RECV" "$RCV_ADDR" "$GROUP" "$PORT" "$d"
	pid=$BG_PID
	t0=$(now)
	until [[ -s $d/log ]] || older "$t0" 15 || proc_gone "$pid"; do sleep 0.01; done
	if [[ ! -s $d/log ]]; then
		note "$ROUND_NAME rep $k: no datagram within 15 s of the join"
		FAILED=1
	fi
	# The receiver stays a member for --hold seconds after its first datagram.
	t0=$(now)
	until older "$t0" "$HOLD"; do sleep 0.02; done
	touch "$d/leave"
	t0=$(now)
	until [[ -s $d/left ]] || older "$t0" 5 || proc_gone "$pid"; do sleep 0.01; done
	hgb_stop "$pid" >/dev/null 2>&1 || true
	[[ -s $d/left ]] || { note "$ROUND_NAME rep $k: the receiver did not leave"; FAILED=1; return 1; }
	# The leave is over when the link has been quiet for --quiet seconds (the
	# sniffer's file stops growing), or after --leave-max seconds at most.
	last_size=$(size "$SNIFF")
	last_change=$(now)
	while ! older "$last_change" "$QUIET"; do
		if older "$t0" "$LEAVE_MAX"; then
			cens=1
			break
		fi
		sleep 0.05
		s=$(size "$SNIFF")
		if ((s != last_size)); then
			last_size=$s
			last_change=$(now)
		fi
	done
	f=$(rep_figures "$d" "$cens")
	printf '%s\n' "$f" >>"$dir/results"
	read -r -a f <<<"$f"
	printf '  rep %2d: join %6s ms, of the stream %6s (report %s, then %s; %s stale up to %s ms old),' \
		"$k" "${f[0]}" "${f[6]}" "${f[2]}" "${f[3]}" "${f[7]}" "${f[8]}"
	printf ' leave %8s ms (message %s, then %s)\n' "${f[1]}" "${f[4]}" "${f[5]}"
}

# stats FILE COLUMN: "MIN MEDIAN MAX N" of COLUMN's figures ("-" skipped),
# "- - - 0" for none. A censored figure (">S", a leave still flowing after
# --leave-max) counts as S, the highest of all, and marks the maximum, and the
# median when it falls among them, with ">".
stats() {
	local cg
	cg=$(awk -v c="$2" '$c ~ /^>/ { n++ } END { print n + 0 }' "$1")
	awk -v c="$2" '$c != "-" { v = $c; sub(/^>/, "", v); print v + 0 }' "$1" | sort -g | awk -v cg="$cg" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			hi = int(NR / 2) + 1
			m = NR % 2 ? v[hi] : (v[hi - 1] + v[hi]) / 2
			printf "%.1f %s%.1f %s%.1f %d\n", v[1], (hi > NR - cg ? ">" : ""), m, (cg ? ">" : ""), v[NR], NR
		}'
}

# igmp_counts FILE: what went over the link, from mcast.py igmpsniff's
# "TIME SRC DST TYPE GROUP" lines.
igmp_counts() {
	awk -v rcv="$RCV_ADDR" '
		$2 == rcv && $4 == "0x22" { v3++ }
		$2 == rcv && $4 == "0x16" { v2++ }
		$2 == rcv && $4 == "0x12" { v1++ }
		$2 == rcv && $4 == "0x17" { lv++ }
		$2 != rcv && $4 == "0x11" && $5 == "0.0.0.0" { gq++ }
		$2 != rcv && $4 == "0x11" && $5 != "0.0.0.0" { gsq++ }
		END {
			printf "receiver: v3 reports %d, v2 reports %d, v2 leaves %d", v3, v2, lv
			if (v1) printf ", v1 reports %d", v1
			printf "; router: general queries %d, group-specific queries %d\n", gq, gsq
		}' "$1"
}

run_round() { # NUMBER DAEMON QUICKLEAVE
	local n=$1 daemon=$2 ql=$3 dir rc=0 k
	ROUND_NAME="$daemon quickleave $ql"
	dir=$HGB_TMP/$daemon-quickleave-$ql
	mkdir -p "$dir"
	RES[$daemon,$ql,status]=measured
	net_up "$n"
	SNIFF=$dir/lan-sniff
	IGMPF=$dir/lan-igmp
	: >"$SNIFF"
	: >"$IGMPF"
	bg "$NS_GW" python3 "$MCAST" sniff veth-lan "$GROUP" "$SNIFF"
	bg "$NS_GW" python3 "$MCAST" igmpsniff veth-lan "$IGMPF"
	bg "$NS_UP" python3 "$SEND" "$GROUP" "$PORT" "$SRC" "$INTERVAL"
	# The daemon starts once both sniffers listen: its first queries are
	# part of the record.
	for ((k = 0; k < 100; k++)); do
		(($(packet_sockets) >= 2)) && break
		sleep 0.05
	done
	(($(packet_sockets) >= 2)) || die "the sniffers in $NS_GW did not start"
	if [[ $daemon == homegw ]]; then
		homegw_start "$dir" "$ql" || rc=$?
	else
		igmpproxy_start "$dir" "$ql" || rc=$?
	fi
	if ((rc)); then
		RES[$daemon,$ql,status]="not measured: $WHY"
		((rc == 2)) || FAILED=1
		echo "$ROUND_NAME: $WHY — not measured"
		[[ -z $DAEMON_PID ]] || hgb_stop "$DAEMON_PID" >/dev/null 2>&1 || true
		DAEMON_PID=
		net_down
		return 0
	fi
	# Let the daemon's start-up (its first general queries) pass: the
	# receiver is not a member yet, so they change nothing but the receiver's
	# idea of the querier's version (an IGMPv2 query puts it in v2 mode).
	sleep 2
	if [[ -s $SNIFF ]]; then
		note "$ROUND_NAME: the group reached the downstream link before any join ($(wc -l <"$SNIFF") datagrams)"
	fi
	echo "$ROUND_NAME: $REPS joins and leaves (hold ${HOLD}s, quiet ${QUIET}s)"
	: >"$dir/results"
	for ((k = 1; k <= REPS; k++)); do
		if proc_gone "$DAEMON_PID"; then
			note "$ROUND_NAME: the daemon exited during the round (log: $DAEMON_LOG)"
			RES[$daemon,$ql,status]="not measured: the daemon exited during the round"
			FAILED=1
			break
		fi
		one_rep "$dir" "$k" || break
	done
	RES[$daemon,$ql,join]=$(stats "$dir/results" 1)
	RES[$daemon,$ql,leave]=$(stats "$dir/results" 2)
	RES[$daemon,$ql,jstream]=$(stats "$dir/results" 7)
	RES[$daemon,$ql,stale]=$(awk '{ n += $8; if ($9 != "-" && $9 + 0 > a) a = $9 + 0 }
		END { printf "%d in all, oldest %s ms\n", n, (n ? a : "-") }' "$dir/results")
	RES[$daemon,$ql,jhost]=$(stats "$dir/results" 3)
	RES[$daemon,$ql,jrouter]=$(stats "$dir/results" 4)
	RES[$daemon,$ql,lhost]=$(stats "$dir/results" 5)
	RES[$daemon,$ql,lrouter]=$(stats "$dir/results" 6)
	RES[$daemon,$ql,igmp]=$(igmp_counts "$IGMPF")
	RES[$daemon,$ql,cpu]=$(daemon_cpu_ms "$DAEMON_PID")
	rc=0
	hgb_stop "$DAEMON_PID" || rc=$?
	((rc == 0)) || note "$ROUND_NAME: the daemon exited with status $rc on SIGTERM (log: $DAEMON_LOG)"
	DAEMON_PID=
	net_down
}

# ---- the run ---------------------------------------------------------------------

echo "IGMP proxy benchmark — $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(uname -r), $(nproc) CPUs"
echo "homegwd: $HOMEGWD; igmpproxy: $(dpkg-query -W -f='${Version}' igmpproxy 2>/dev/null || echo '-')"
echo "sender: $SRC → $GROUP:$PORT every ${INTERVAL} ms; receiver $RCV_ADDR joins (any source) and leaves" \
	"$REPS times per daemon and mode; fresh namespaces for each"
echo "machine load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
echo

n=0
for r in "${ROUNDS[@]}"; do
	n=$((n + 1))
	run_round "$n" "${r%%:*}" "${r#*:}"
	echo
done

# ---- the report ------------------------------------------------------------------

cell() { # DAEMON QL WHAT: "min / median / max"
	[[ ${RES[$1,$2,status]:-} == measured ]] || { printf -- '-'; return; }
	local a b c
	read -r a b c _ <<<"${RES[$1,$2,$3]}"
	printf '%s / %s / %s' "$a" "$b" "$c"
}

med() { # DAEMON QL WHAT
	[[ ${RES[$1,$2,status]:-} == measured ]] || { printf -- '-'; return; }
	local a b c
	read -r a b c _ <<<"${RES[$1,$2,$3]}"
	printf '%s' "$b"
}

maxv() { # DAEMON QL WHAT: the max, ">" kept
	[[ ${RES[$1,$2,status]:-} == measured ]] || { printf -- '-'; return; }
	local a b c
	read -r a b c _ <<<"${RES[$1,$2,$3]}"
	printf '%s' "$c"
}

ratio() { # A B: "0.12x" of two figures, "-" when either is missing
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "") { printf "-"; exit }
		pa = substr(a, 1, 1) == ">"; pb = substr(b, 1, 1) == ">"
		sub(/^>/, "", a); sub(/^>/, "", b)
		if (b + 0 <= 0) { printf "-"; exit }
		# a censored denominator (">S") makes the ratio an upper bound
		r = a / b
		printf "%s" (r >= 0.1 ? "%.2f" : "%.2g") "x", ((pb && !pa) ? "<" : (pa && !pb) ? ">" : ""), r }'
}

# met COND: "met" / "NOT met" / "-"
verdict() { # A OP B: A, B figures (">" possible), OP lt or le
	awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "") { printf "-"; exit }
		ga = sub(/^>/, "", a); gb = sub(/^>/, "", b)
		if (ga && !gb && a + 0 >= b + 0) { printf "NOT met"; exit }
		if (gb && !ga && a + 0 <= b + 0) { printf "met"; exit }
		if (ga || gb) { printf "-"; exit }
		ok = op == "lt" ? a + 0 < b + 0 : a + 0 <= b + 0
		printf "%s", (ok ? "met" : "NOT met") }'
}

# better A B: whether homegw's median A beats igmpproxy's B, with both. Joins
# are timed to the next datagram: a difference under the sender's spacing is
# below what the run can resolve, either way, and the verdict says so.
better() {
	local v
	v=$(verdict "$1" lt "$2")
	if [[ $v == *met ]] && awk -v a="$1" -v b="$2" -v i="$INTERVAL" 'BEGIN { d = a - b; exit !(d < i && -d < i) }'
	then
		v+=", within the run's resolution (${INTERVAL} ms)"
	fi
	printf '%s (%s against %s ms)' "$v" "$1" "$2"
}

row() { printf '%-24s %-24s %-24s %-28s %s\n' "$@"; }

echo "== latency ms, min / median / max over the reps"
row "" "join → 1st datagram" "join → 1st of the stream" "leave → last datagram" "joins served, daemon CPU"
for r in "${ROUNDS[@]}"; do
	d=${r%%:*}
	q=${r#*:}
	st=${RES[$d,$q,status]:-}
	if [[ $st != measured ]]; then
		row "$d quickleave $q" "-" "-" "-" "${st#not measured: }"
		continue
	fi
	read -r _ _ _ nj <<<"${RES[$d,$q,join]}"
	row "$d quickleave $q" "$(cell "$d" "$q" join)" "$(cell "$d" "$q" jstream)" "$(cell "$d" "$q" leave)" \
		"$nj of $(wc -l <"$HGB_TMP/$d-quickleave-$q/results"), $(fmt %.1f "${RES[$d,$q,cpu]}") ms in the round"
done
echo "(\"1st of the stream\": the first datagram sent after the join; stale ones, sent before it, come first:)"
for r in "${ROUNDS[@]}"; do
	d=${r%%:*}
	q=${r#*:}
	[[ ${RES[$d,$q,status]:-} == measured ]] || continue
	printf '%-24s stale datagrams at the joins: %s\n' "$d quickleave $q" "${RES[$d,$q,stale]}"
done
echo
echo "== where the time goes, ms min / median / max: the receiver's kernel, then the router (from the link)"
row "" "join → report" "report → 1st of stream" "leave → leave message" "message → last on link"
for r in "${ROUNDS[@]}"; do
	d=${r%%:*}
	q=${r#*:}
	[[ ${RES[$d,$q,status]:-} == measured ]] || continue
	row "$d quickleave $q" "$(cell "$d" "$q" jhost)" "$(cell "$d" "$q" jrouter)" "$(cell "$d" "$q" lhost)" \
		"$(cell "$d" "$q" lrouter)"
done
echo
echo "== IGMP on the downstream link during each round"
for r in "${ROUNDS[@]}"; do
	d=${r%%:*}
	q=${r#*:}
	[[ ${RES[$d,$q,status]:-} == measured ]] || continue
	printf '%-24s %s\n' "$d quickleave $q" "${RES[$d,$q,igmp]}"
done
echo

for q in no yes; do
	[[ ${RES[homegw,$q,status]:-} == measured ]] || continue
	hj=$(med homegw "$q" join)
	hs=$(med homegw "$q" jstream)
	hl=$(med homegw "$q" leave)
	pj=$(med igmpproxy "$q" join)
	ps=$(med igmpproxy "$q" jstream)
	pl=$(med igmpproxy "$q" leave)
	if [[ ${RES[igmpproxy,$q,status]:-} == measured ]]; then
		echo "quickleave $q: ratios homegw/igmpproxy of the medians: join $(ratio "$hj" "$pj"), join to the" \
			"stream $(ratio "$hs" "$ps"), leave $(ratio "$hl" "$pl"); of the maxima: join" \
			"$(ratio "$(maxv homegw "$q" join)" "$(maxv igmpproxy "$q" join)"), join to the stream" \
			"$(ratio "$(maxv homegw "$q" jstream)" "$(maxv igmpproxy "$q" jstream)"), leave" \
			"$(ratio "$(maxv homegw "$q" leave)" "$(maxv igmpproxy "$q" leave)")"
	fi
	echo "quickleave $q: issue 6 targets: every join within 100 ms:" \
		"$(verdict "$(maxv homegw "$q" join)" le 100) (max $(maxv homegw "$q" join) ms, to the stream" \
		"$(maxv homegw "$q" jstream) ms); every leave within 2.5 s: $(verdict "$(maxv homegw "$q" leave)" le 2500)" \
		"(max $(maxv homegw "$q" leave) ms)"
	if [[ ${RES[igmpproxy,$q,status]:-} == measured ]]; then
		echo "quickleave $q: better than igmpproxy (medians): join $(better "$hj" "$pj")," \
			"join to the stream $(better "$hs" "$ps"), leave $(better "$hl" "$pl")"
	fi
done
for r in "${ROUNDS[@]}"; do
	d=${r%%:*}
	q=${r#*:}
	st=${RES[$d,$q,status]:-}
	[[ $st == measured ]] || echo "$d quickleave $q: ${st#not measured: } — not measured"
done
if grep -qs '>' "$HGB_TMP"/*/results; then
	echo "\">S\": the stream was still on the link --leave-max seconds after the leave (its figure counts as S)."
fi

HGB_OK=1
((FAILED)) && HGB_OK=0
exit "$FAILED"
