#!/usr/bin/env bash
# t-igmp: the IGMP proxy with the kernel's multicast routing. A sender
# upstream (two sources), receivers on two downstream links (two hosts on a
# bridge, one host on the other link): a join gets the stream (the join
# latency is printed), the other link gets nothing until it joins; an IGMPv3
# INCLUDE join for one source gets only that source; with two members on a
# link one leaving keeps the stream; the last leave stops forwarding (the
# leave latency is printed) after group-specific queries; with quickleave a
# single member's leave stops it without them; `homegwctl igmp` shows
# groups, members and routes; stopping homegwd leaves no MFC entry; an
# upstream interface that appears after start is used.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
for _tool in python3 jq ip; do command -v "$_tool" >/dev/null || fatal "$_tool is installed"; done

UP=$HGT_PREFIX-up
GW=$HGT_PREFIX-gw
A=$HGT_PREFIX-a
B=$HGT_PREFIX-b
C=$HGT_PREFIX-c
MC="python3 $HGT_ROOT/tests/integration/mcast.py"
for ns in "$UP" "$GW" "$A" "$B" "$C"; do hgt_netns "$ns"; done
for ns in "$GW" "$A" "$B" "$C"; do
	ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
up_link() {
	hgt_veth "$GW" veth-wan "$UP" eth0
	hgt_addr "$GW" veth-wan 203.0.113.2/24
	hgt_addr "$UP" eth0 203.0.113.1/24
	hgt_addr "$UP" eth0 203.0.113.3/24
	ip -n "$UP" route add 224.0.0.0/4 dev eth0
	ip netns exec "$GW" sysctl -q -w net.ipv4.conf.veth-wan.rp_filter=0
}
up_link
ip -n "$GW" link add br-lan type bridge
ip -n "$GW" link set br-lan up
hgt_addr "$GW" br-lan 198.51.100.1/24
for h in A:198.51.100.2 B:198.51.100.3; do
	ns=${h%%:*}
	ns=${!ns}
	ip -n "$GW" link add "p-${h%%:*}" type veth peer name eth0 netns "$ns"
	ip -n "$GW" link set "p-${h%%:*}" master br-lan up
	ip -n "$ns" link set eth0 up
	hgt_addr "$ns" eth0 "${h#*:}/24"
	ip -n "$ns" route add default via 198.51.100.1
done
hgt_veth "$GW" veth-lan2 "$C" eth0
hgt_addr "$GW" veth-lan2 100.64.0.1/24
hgt_addr "$C" eth0 100.64.0.2/24
ip -n "$C" route add default via 100.64.0.1

write_conf() { # EXTRA
	hgt_config <<CONF
interface wan { device veth-wan }
interface lan { device br-lan }
interface lan2 { device veth-lan2 }
igmp-proxy {
	upstream wan
	downstream lan
	downstream lan2
	$1
}
CONF
}
write_conf ""
hgt_start "$GW"
hgt_wait_ready
check_jq "igmp runs" "$(ctl --json status)" '.modules.igmp.running == true'

hgt_helper ip netns exec "$UP" $MC send 239.1.2.3 5000 203.0.113.1
hgt_helper ip netns exec "$UP" $MC send 239.1.2.4 5001 203.0.113.1
hgt_helper ip netns exec "$UP" $MC send 239.1.2.4 5001 203.0.113.3
hgt_helper ip netns exec "$C" $MC sniff eth0 239.1.2.3 "$HGT_TMP/c-sniff-3"
hgt_helper ip netns exec "$GW" $MC sniff br-lan 239.1.2.3 "$HGT_TMP/lan-sniff-3"
hgt_helper ip netns exec "$GW" $MC igmpsniff br-lan "$HGT_TMP/lan-igmp"
mkdir -p "$HGT_TMP/a" "$HGT_TMP/b" "$HGT_TMP/c"
has_lines() { [[ -s $1 ]]; }
latency_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# A joins 239.1.2.3.
hgt_helper ip netns exec "$A" $MC recv 198.51.100.2 239.1.2.3 5000 "$HGT_TMP/a"
wait_for "host A on lan joins 239.1.2.3 and receives the stream" has_lines "$HGT_TMP/a/log"
note "join latency (A's join → its first datagram): $(latency_ms "$(cat "$HGT_TMP/a/joined")" \
	"$(head -n 1 "$HGT_TMP/a/log" | cut -d' ' -f3)") ms"
igmp=$(ctl --json igmp)
check_jq "igmp: lan has group 239.1.2.3 with a member" "$igmp" \
	'any(.links[]; .interface == "lan" and any(.groups[]; .group == "239.1.2.3" and .members >= 1))'
check_jq "igmp: a route 203.0.113.1 → 239.1.2.3 out of lan only" "$igmp" \
	'any(.routes[]; .source == "203.0.113.1" and .group == "239.1.2.3" and .interfaces == ["lan"])'
check_eq "lan2 got nothing of 239.1.2.3 (no member there)" 0 "$(wc -l <"$HGT_TMP/c-sniff-3")"
check_jq "igmp: we are the querier on both links" "$igmp" 'all(.links[]; .querier_is_us == true)'

# C (lan2) joins 239.1.2.4 for source 203.0.113.1 only (IGMPv3 INCLUDE).
hgt_helper ip netns exec "$C" $MC recv 100.64.0.2 239.1.2.4 5001 "$HGT_TMP/c" 203.0.113.1
wait_for "host C on lan2 joins (239.1.2.4, 203.0.113.1) and receives" has_lines "$HGT_TMP/c/log"
wait_for "30 datagrams reach C" bash -c "(( \$(wc -l <'$HGT_TMP/c/log') >= 30 ))"
check_eq "C gets only 203.0.113.1 (not 203.0.113.3, which sends to the same group)" "203.0.113.1" \
	"$(cut -d' ' -f1 "$HGT_TMP/c/log" | sort -u | paste -sd,)"
check_jq "igmp: lan2's 239.1.2.4 is INCLUDE {203.0.113.1}" "$(ctl --json igmp)" \
	'any(.links[]; .interface == "lan2" and any(.groups[]; .group == "239.1.2.4" and .mode == "include"
	  and ([.sources[].source] == ["203.0.113.1"])))'

# B joins too; A leaves: the stream stays for B.
hgt_helper ip netns exec "$B" $MC recv 198.51.100.3 239.1.2.3 5000 "$HGT_TMP/b"
wait_for "host B on lan joins 239.1.2.3 and receives" has_lines "$HGT_TMP/b/log"
touch "$HGT_TMP/a/leave"
wait_for "A left" test -e "$HGT_TMP/a/left"
n0=$(wc -l <"$HGT_TMP/b/log")
more_for_b() { (($(wc -l <"$HGT_TMP/b/log") >= n0 + 150)); }
wait_for "B keeps receiving after A left (150 more datagrams, 3 s)" more_for_b
# B leaves: the last member; forwarding to lan stops after the last member queries.
gsq() { grep ' 198.51.100.1 ' "$HGT_TMP/lan-igmp" | grep -c ' 0x11 239.1.2.3$' || true; }
q0=$(gsq)
touch "$HGT_TMP/b/leave"
wait_for "B left" test -e "$HGT_TMP/b/left"
no_lan_route() { ctl --json igmp | jq -e 'all(.routes[]; .group != "239.1.2.3" or (.interfaces | index("lan") | not))' >/dev/null; }
wait_for "after the last leave, 239.1.2.3 is no longer forwarded to lan" no_lan_route
sleep 1 # let the last datagrams in flight be counted: not a check of time
left=$(cat "$HGT_TMP/b/left")
last=$(tail -n 1 "$HGT_TMP/lan-sniff-3" | cut -d' ' -f1)
note "leave latency (B's leave → last datagram on lan): $(latency_ms "$left" "$last") ms"
# (RFC 3376 6.6.3: each TO_IN {} the host repeats starts Q(G) again, so 2 or more)
nq=$(($(gsq) - q0))
if ((nq >= 2)); then pass "the last leave got group-specific queries from us ($nq, robustness 2)"; else
	fail "the last leave got group-specific queries from us" "got $nq, expected at least 2"
fi
check_jq "lan2 still has its member (C)" "$(ctl --json igmp)" \
	'any(.links[]; .interface == "lan2" and any(.groups[]; .group == "239.1.2.4"))'

# quickleave: one member leaves, forwarding stops without group-specific queries.
write_conf "quickleave yes"
check_rc "reload with quickleave yes" 0 ctl reload
rm -rf "$HGT_TMP/a" && mkdir -p "$HGT_TMP/a"
hgt_helper ip netns exec "$A" $MC recv 198.51.100.2 239.1.2.3 5000 "$HGT_TMP/a"
wait_for "A joins again and receives" has_lines "$HGT_TMP/a/log"
gsq0=$(gsq)
touch "$HGT_TMP/a/leave"
wait_for "A left" test -e "$HGT_TMP/a/left"
wait_for "quickleave: forwarding to lan stops" no_lan_route
check_eq "quickleave: no group-specific query was needed" "$gsq0" "$(gsq)"

# Stopping leaves no forwarding entry behind.
hgt_stop
check_eq "after stop: no multicast routes in the kernel" "" "$(ip -n "$GW" mroute show 2>/dev/null)"

# An upstream interface that appears after start.
for p in $(ip netns pids "$UP"); do kill "$p" 2>/dev/null || true; done # the senders
ip -n "$GW" link del veth-wan
hgt_start "$GW"
hgt_wait_ready
check_jq "upstream absent at start" "$(ctl --json igmp)" '.upstream_present == false'
up_link
upstream_back() { ctl --json igmp | jq -e '.upstream_present == true' >/dev/null; }
wait_for "the upstream interface appears: igmp uses it" upstream_back
hgt_helper ip netns exec "$UP" $MC send 239.1.2.5 5002 203.0.113.1
mkdir -p "$HGT_TMP/a2"
hgt_helper ip netns exec "$A" $MC recv 198.51.100.2 239.1.2.5 5002 "$HGT_TMP/a2"
wait_for "a join after the upstream came gets the stream" has_lines "$HGT_TMP/a2/log"
hgt_stop
hgt_done
