#!/usr/bin/env bash
# lab.sh — a home network in three network namespaces, with homegwd as its
# gateway. As root:
#
#   sudo scripts/lab.sh          build, start the lab, print a report, stay up
#                                until Ctrl-C, then tear everything down
#   sudo scripts/lab.sh --once   build, start, print the report, tear down
#
#   hgw-inet  the simulated internet: a WAN host 203.0.113.1/24 (eth0) and
#             the lab's DNS hierarchy (nsd root, TLD and authoritative
#             servers on 198.18.0.0/15, scripts/lab-internet.sh)
#   hgw-gw    the gateway: veth-wan 203.0.113.2/24, veth-lan 198.51.100.1/24,
#             IPv4 forwarding on; homegwd runs here with etc/lab.conf
#   hgw-lan   a LAN client on eth0, configured by DHCP from homegwd (udhcpc)
#
# Nothing leaves the namespaces: every address is from the documentation and
# benchmark ranges (DESIGN.md, "Tests touch only their own network"). The
# namespaces and every process started in them are removed on exit (and
# leftovers of an earlier run at start). Logs stay in /run/homegw-lab/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NS_INET=hgw-inet
NS_GW=hgw-gw
NS_LAN=hgw-lan
RUN=/run/homegw-lab
CONF=${HOMEGW_LAB_CONF:-$ROOT/etc/lab.conf}
BIN=$ROOT/build

once=0
for arg in "$@"; do
	case $arg in
	--once) once=1 ;;
	-h | --help)
		sed -n '2,7s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "lab.sh: unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done
if [[ $(id -u) -ne 0 ]]; then
	echo "lab.sh: run as root (sudo scripts/lab.sh): the lab makes network namespaces" >&2
	exit 1
fi

say() { printf '\n== %s\n' "$*"; }
die() {
	printf 'lab.sh: %s\n' "$*" >&2
	exit 1
}

have_internet=0
if [[ -f $ROOT/scripts/lab-internet.sh ]]; then
	# shellcheck source-path=SCRIPTDIR source=lab-internet.sh
	source "$ROOT/scripts/lab-internet.sh"
	have_internet=1
fi

# A value from etc/lab.conf: the first argument of KEYWORD (comments
# stripped; enough for the lab's own file, which the daemon checks anyway).
conf_value() { # KEYWORD DEFAULT
	local v
	v=$(sed 's/#.*//' "$CONF" | grep -oE "(^|[[:space:]{;])$1[[:space:]]+[^[:space:];}]+" | head -n 1 |
		awk '{print $NF}' || true)
	printf '%s\n' "${v:-$2}"
}

homegwd_pid=

# Running, as opposed to exited (a zombie until waited for, which kill -0
# does not tell apart).
alive() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $st && $st != [ZX] ]]
}

teardown() { # [GRACE]: seconds homegwd may take to stop on its own first
	local ns p i
	if [[ -n $homegwd_pid ]] && alive "$homegwd_pid"; then
		for ((i = 0; i < ${1:-0} * 10; i++)); do
			alive "$homegwd_pid" || break
			sleep 0.1
		done
		alive "$homegwd_pid" && kill -TERM "$homegwd_pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			alive "$homegwd_pid" || break
			sleep 0.1
		done
	fi
	if ((have_internet)) && ip netns pids "$NS_INET" >/dev/null 2>&1; then
		internet_down "$NS_INET" "$RUN" >/dev/null 2>&1 || true
	fi
	for ns in "$NS_LAN" "$NS_GW" "$NS_INET"; do
		ip netns pids "$ns" >/dev/null 2>&1 || continue
		for p in $(ip netns pids "$ns"); do kill -TERM "$p" 2>/dev/null || true; done
		for ((i = 0; i < 30; i++)); do
			[[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
			sleep 0.1
		done
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
}

# shellcheck disable=SC2317 # run by the EXIT trap
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	echo
	echo "lab.sh: tearing down the lab ($NS_INET, $NS_GW, $NS_LAN)"
	# Ctrl-C reached homegwd too (same process group): let it stop by itself.
	if ((rc == 130)); then teardown 3; else teardown; fi
	if [[ -n $homegwd_pid ]]; then
		wait "$homegwd_pid" 2>/dev/null
		echo "lab.sh: homegwd exited with status $?; its log: $RUN/homegwd.log"
	fi
	exit "$rc"
}

# ---- build ------------------------------------------------------------------
"$ROOT/scripts/deps.sh"
say "building homegwd and homegwctl in build/"
cmake -S "$ROOT" -B "$BIN" >/dev/null
cmake --build "$BIN" -j "$(nproc)" --target homegwd homegwctl
[[ -f $CONF ]] || die "$CONF is missing"
"$BIN/homegwd" --check -c "$CONF" || die "$CONF does not pass homegwd --check"

SOCK=$(conf_value socket /run/homegw/control.sock)
STATE=$(conf_value state-dir /var/lib/homegw)
LAB_USER=$(conf_value user "")
if [[ -n $LAB_USER ]] && ! getent passwd "$LAB_USER" >/dev/null; then
	die "etc/lab.conf runs homegwd as \"$LAB_USER\", who does not exist here (create it: systemd-sysusers systemd/homegw.sysusers)"
fi
ctl() { "$BIN/homegwctl" -s "$SOCK" "$@"; }

# ---- network ----------------------------------------------------------------
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
teardown # what an earlier run may have left
rm -rf "$RUN"
mkdir -p "$RUN" "$STATE" "$(dirname "$SOCK")"
[[ -z $LAB_USER ]] || chown "$LAB_USER:" "$STATE"

say "building the network"
for ns in "$NS_INET" "$NS_GW" "$NS_LAN"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n "$NS_GW" link add veth-wan type veth peer name eth0 netns "$NS_INET"
ip -n "$NS_GW" link add veth-lan type veth peer name eth0 netns "$NS_LAN"
ip -n "$NS_INET" addr add 203.0.113.1/24 dev eth0
ip -n "$NS_GW" addr add 203.0.113.2/24 dev veth-wan
ip -n "$NS_GW" addr add 198.51.100.1/24 dev veth-lan
for pair in "$NS_INET eth0" "$NS_GW veth-wan" "$NS_GW veth-lan" "$NS_LAN eth0"; do
	read -r ns dev <<<"$pair"
	ip -n "$ns" link set "$dev" up
done
ip -n "$NS_GW" route add default via 203.0.113.1
ip netns exec "$NS_GW" sysctl -q -w net.ipv4.ip_forward=1
echo "  $NS_INET eth0 203.0.113.1/24  <->  $NS_GW veth-wan 203.0.113.2/24"
echo "  $NS_GW veth-lan 198.51.100.1/24  <->  $NS_LAN eth0 (DHCP)"

if ((have_internet)); then
	say "starting the lab internet's DNS servers in $NS_INET"
	internet_up "$NS_INET" "$RUN" || die "the lab internet did not come up"
fi

# ---- homegwd ----------------------------------------------------------------
say "starting homegwd in $NS_GW with etc/lab.conf"
ip netns exec "$NS_GW" "$BIN/homegwd" -c "$CONF" >"$RUN/homegwd.log" 2>&1 &
homegwd_pid=$!
ready=0
for ((i = 0; i < 200; i++)); do
	alive "$homegwd_pid" || break
	if ctl --json status >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.05
done
if ((!ready)); then
	tail -n 20 "$RUN/homegwd.log" >&2
	die "homegwd did not answer on $SOCK (log: $RUN/homegwd.log)"
fi
echo "  homegwd pid $homegwd_pid, control socket $SOCK, log $RUN/homegwd.log"

# ---- the LAN client asks for an address ------------------------------------
# udhcpc's script applies the lease in hgw-lan (address, routes) and keeps
# what it was given for the report; nothing touches the host's resolv.conf.
cat >"$RUN/udhcpc.sh" <<'EOS'
#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface" ;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
	echo "address=$ip mask=$mask router=$router dns=$dns domain=$domain lease=$lease serverid=$serverid" >"$LAB_LEASE_FILE"
	;;
esac
EOS
chmod +x "$RUN/udhcpc.sh"
say "the LAN client asks for an address (udhcpc in $NS_LAN)"
if LAB_LEASE_FILE=$RUN/client-lease ip netns exec "$NS_LAN" udhcpc -q -n -f -i eth0 -t 5 -T 1 \
	-x hostname:lab-client -s "$RUN/udhcpc.sh" >"$RUN/udhcpc.log" 2>&1; then
	echo "  got $(cat "$RUN/client-lease")"
else
	echo "  no lease (udhcpc log: $RUN/udhcpc.log)"
fi

# ---- report -----------------------------------------------------------------
probe() { # DESC NETNS ADDRESS
	if ip netns exec "$2" ping -c 1 -W 1 -q "$3" >/dev/null 2>&1; then
		printf '  %-52s reachable\n' "$1"
	else
		printf '  %-52s NOT reachable\n' "$1"
	fi
}

# A module's line in the report: its own summary once it runs, else plainly
# what is missing (never a made-up result).
module_line() { # MODULE TITLE WHAT-IT-WILL-SHOW [ISSUE]
	local summary running
	running=$(jq -r --arg m "$1" '.modules[$m].running // false' <<<"$status_json")
	summary=$(jq -r --arg m "$1" '.modules[$m].summary // "not in this build"' <<<"$status_json")
	if [[ $running == true ]]; then
		printf '  %-10s %s\n' "$2" "$summary"
	elif [[ $summary == *"not in this build"* ]]; then
		printf '  %-10s not built yet%s: will show %s\n' "$2" "${4:+ ($4)}" "$3"
	else
		printf '  %-10s not running: %s\n' "$2" "$summary"
	fi
}

status_json=$(ctl --json status)
say "homegwctl status"
ctl status | sed 's/^/  /'

say "reachability inside the lab (ping)"
probe "LAN client -> gateway 198.51.100.1" "$NS_LAN" 198.51.100.1
probe "gateway -> internet host 203.0.113.1" "$NS_GW" 203.0.113.1
if ((have_internet)); then
	probe "gateway -> root DNS server 198.18.0.1" "$NS_GW" 198.18.0.1
fi
probe "LAN client -> internet host 203.0.113.1 (needs NAT)" "$NS_LAN" 203.0.113.1

say "services"
module_line dhcp DHCP "the LAN client's lease" "issue 3"
if [[ $(jq -r '.modules.dhcp.running' <<<"$status_json") == true ]]; then
	ctl leases | sed 's/^/    /'
fi
module_line dns DNS "resolving through the lab's root servers, local names"
if [[ $(jq -r '.modules.dns.running' <<<"$status_json") == true ]]; then
	# The LAN client asks the server its lease named (or the gateway).
	dns_server=$(sed -n 's/.* dns=\([0-9.]*\).*/\1/p' "$RUN/client-lease" 2>/dev/null || true)
	dns_server=${dns_server:-198.51.100.1}
	echo "    the LAN client asks $dns_server (dig):"
	for q in "host.homegw-lab.example A" "chain.homegw-lab.example A" "www.other.example A" \
		"nx.homegw-lab.example A" "lab-client.home.arpa A" "printer.home.arpa A" "gw.home.arpa A"; do
		read -r qn qt <<<"$q"
		out=$(ip netns exec "$NS_LAN" dig @"$dns_server" +time=5 +tries=1 +noall +answer +comments "$qn" "$qt" 2>&1 || true)
		st=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | head -n 1)
		ans=$(awk '!/^;/ && NF >= 5 { printf "%s%s %s", sep, $4, $5; sep = ", " }' <<<"$out")
		printf '      %-32s %-9s %s\n' "$qn $qt" "${st:-no answer}" "$ans"
	done
	ctl --json dns stats | jq -r '"    cache: \(.cache.entries) entries, \(.cache.hits) hits; upstream: \(.upstream.queries) queries, \(.upstream.timeouts) timeouts"'
fi
module_line nat NAT "masquerade of 198.51.100.0/24 behind 203.0.113.2, port forwards"
if [[ $(jq -r '.modules.nat.running' <<<"$status_json") == true ]]; then
	# A web server on the internet side tells each client the address it saw;
	# one on the LAN client is reached through the forward of etc/lab.conf.
	ip netns exec "$NS_INET" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo $SOCAT_PEERADDR' \
		>/dev/null 2>&1 &
	lab_web_inet=$!
	ip netns exec "$NS_LAN" socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo $SOCAT_PEERADDR' \
		>/dev/null 2>&1 &
	lab_web_lan=$!
	sleep 0.3
	seen=$(ip netns exec "$NS_LAN" timeout 5 socat -T3 - TCP:203.0.113.1:80 </dev/null 2>/dev/null || true)
	printf '    %-52s %s\n' "LAN client -> 203.0.113.1:80, the server saw" "${seen:-no answer}"
	seen=$(ip netns exec "$NS_INET" timeout 5 socat -T3 - TCP:203.0.113.2:8080 </dev/null 2>/dev/null || true)
	printf '    %-52s %s\n' "internet -> 203.0.113.2:8080 (forward), the LAN saw" "${seen:-no answer}"
	# a flow held open for the translation table
	ip netns exec "$NS_LAN" socat -T10 TCP:203.0.113.1:80 EXEC:'sleep 5' >/dev/null 2>&1 &
	sleep 0.3
	echo "    live translations (homegwctl nat table):"
	ctl nat table | sed 's/^/      /'
	kill "$lab_web_inet" "$lab_web_lan" 2>/dev/null || true
fi
module_line igmp Multicast "IGMP proxy from the internet side to the LAN"
if [[ $(jq -r '.modules.igmp.running' <<<"$status_json") == true ]]; then
	# A stream from the internet side; the LAN client joins for a moment.
	mc=$ROOT/tests/integration/mcast.py
	client=$(sed -n 's/^address=\([0-9.]*\).*/\1/p' "$RUN/client-lease" 2>/dev/null || true)
	ip -n "$NS_INET" route replace 224.0.0.0/4 dev eth0
	ip netns exec "$NS_INET" sysctl -q -w net.ipv4.conf.all.rp_filter=0 || true
	ip netns exec "$NS_GW" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-wan.rp_filter=0 || true
	ip netns exec "$NS_INET" python3 "$mc" send 239.1.2.3 5000 203.0.113.1 >/dev/null 2>&1 &
	lab_mc_send=$!
	rm -rf "$RUN/mcast" && mkdir -p "$RUN/mcast"
	if [[ -n $client ]]; then
		ip netns exec "$NS_LAN" python3 "$mc" recv "$client" 239.1.2.3 5000 "$RUN/mcast" >/dev/null 2>&1 &
		lab_mc_recv=$!
		sleep 1.5
		echo "    the LAN client joined 239.1.2.3 for 1.5 s: $(wc -l <"$RUN/mcast/log" 2>/dev/null || echo 0) datagrams from $(cut -d' ' -f1 "$RUN/mcast/log" 2>/dev/null | sort -u | paste -sd, -)"
		ctl --json igmp | jq -r '.links[] | "    link \(.interface): querier \(.querier)" + ([.groups[] | " group \(.group) (\(.mode), \(.members) member)"] | join(","))'
		ctl --json igmp | jq -r '.routes[] | "    route \(.source) -> \(.group): \(.packets) packets, \(.bytes) bytes, out \(.interfaces | join(","))"'
		touch "$RUN/mcast/leave"
		wait "$lab_mc_recv" 2>/dev/null || true
	fi
	kill "$lab_mc_send" 2>/dev/null || true
fi

say "metrics (homegwctl stats --prometheus: every counter, for node-exporter's textfile collector)"
if ctl stats --prometheus >"$RUN/homegw.prom"; then
	echo "  $(grep -vc '^#' "$RUN/homegw.prom") samples in $RUN/homegw.prom, among them:"
	grep -E '^homegw_(dhcp_messages_total\{type="ack"\}|dns_queries_total|dns_cache_hits_total|nat_forwards|igmp_route_packets_total)' \
		"$RUN/homegw.prom" | sed 's/^/    /'
else
	echo "  homegwctl stats --prometheus failed"
fi

if ((have_internet)); then
	say "the lab internet"
	internet_describe "$RUN" | sed 's/^/  /'
fi

if ((once)); then
	say "--once: done"
	exit 0
fi

say "the lab is up; explore it from another terminal:"
cat <<EOF
  sudo ip netns exec $NS_LAN bash          # a shell on the LAN client
  sudo ip netns exec $NS_GW bash           # a shell on the gateway
  sudo ip netns exec $NS_INET bash         # a shell on the internet side
  sudo $BIN/homegwctl -s $SOCK status
  sudo $BIN/homegwctl -s $SOCK stats --prometheus
  sudo $BIN/homegwctl -s $SOCK reload    # after editing etc/lab.conf
  sudo tail -f $RUN/homegwd.log
Ctrl-C here stops homegwd and removes the lab.
EOF
rc=0
wait "$homegwd_pid" || rc=$?
echo "lab.sh: homegwd exited on its own (status $rc); see $RUN/homegwd.log" >&2
tail -n 20 "$RUN/homegwd.log" >&2
homegwd_pid=
exit 1
