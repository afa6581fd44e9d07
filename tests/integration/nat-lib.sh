# shellcheck shell=bash
# nat-lib.sh — the network of the nat tests (sourced after lib.sh):
#
#   $LAN (client 198.51.100.2/24, default via .1)
#     └─ veth ─ $GW (homegwd: veth-lan 198.51.100.1/24, veth-wan 203.0.113.2/24,
#                    forwarding on, default via 203.0.113.1)
#                 └─ veth ─ $WAN (a host "on the internet": 203.0.113.1/24; its
#                                 route to 198.51.100.0/24 goes via the gateway, so a
#                                 direct attempt at the LAN reaches the firewall)
#
# Servers are socat: an "echo the peer" server answers each connection with
# the address:port it saw, so a test reads what translation happened.

LAN=$HGT_PREFIX-lan
GW=$HGT_PREFIX-gw
WAN=$HGT_PREFIX-wan
GW_LAN=198.51.100.1
CLIENT=198.51.100.2
GW_WAN=203.0.113.2
PEER=203.0.113.1

for _tool in socat nft conntrack python3 jq; do
	command -v "$_tool" >/dev/null || fatal "$_tool is installed (scripts/deps.sh)"
done
unset _tool

nat_setup() {
	hgt_netns "$LAN"
	hgt_netns "$GW"
	hgt_netns "$WAN"
	hgt_veth "$GW" veth-lan "$LAN" eth0
	hgt_addr "$GW" veth-lan "$GW_LAN/24"
	hgt_addr "$LAN" eth0 "$CLIENT/24"
	ip -n "$LAN" route add default via "$GW_LAN"
	hgt_veth "$GW" veth-wan "$WAN" eth0
	hgt_addr "$GW" veth-wan "$GW_WAN/24"
	hgt_addr "$WAN" eth0 "$PEER/24"
	ip -n "$GW" route add default via "$PEER"
	ip -n "$WAN" route add 198.51.100.0/24 via "$GW_WAN"
	ip netns exec "$GW" sysctl -q -w net.ipv4.ip_forward=1
}

# serve_peer NS tcp|udp PORT: answer each connection/datagram with "PEERADDR".
serve_peer() {
	local ns=$1 proto=$2 port=$3
	if [[ $proto == tcp ]]; then
		hgt_helper ip netns exec "$ns" socat TCP-LISTEN:"$port",reuseaddr,fork \
			SYSTEM:'echo $SOCAT_PEERADDR'
	else
		hgt_helper ip netns exec "$ns" socat UDP-RECVFROM:"$port",fork \
			SYSTEM:'echo $SOCAT_PEERADDR'
	fi
}
# serve_echo NS PORT: a TCP echo server.
serve_echo() { hgt_helper ip netns exec "$1" socat TCP-LISTEN:"$2",reuseaddr,fork EXEC:cat; }

# ask NS tcp|udp HOST PORT [SOURCE-ADDRESS]: what the server said ("" on no answer, 3 s).
ask() {
	local ns=$1 proto=$2 host=$3 port=$4 src=${5:-}
	if [[ $proto == tcp ]]; then
		ip netns exec "$ns" timeout 5 socat -T3 - "TCP:$host:$port${src:+,bind=$src}" </dev/null 2>/dev/null || true
	else
		echo x | ip netns exec "$ns" timeout 5 socat -T3 - "UDP:$host:$port${src:+,bind=$src}" 2>/dev/null || true
	fi
}

# wait_listening NS tcp|udp PORT: a server is up (bounded).
wait_listening() {
	local i flag=-tln
	[[ $2 == udp ]] && flag=-uln
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$1" ss -H "$flag" "sport = :$3" | grep -q . && return 0
		sleep 0.05
	done
	fail "a $2 server listens on port $3 in $1"
}

nft_table() { ip netns exec "$GW" nft list table inet homegw 2>&1; }
nft_has_table() { ip netns exec "$GW" nft list table inet homegw >/dev/null 2>&1; }
