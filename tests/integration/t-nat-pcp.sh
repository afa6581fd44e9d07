#!/usr/bin/env bash
# t-nat-pcp: PCP (RFC 6887) and NAT-PMP (RFC 6886) from a LAN client. A PCP
# MAP opens a port that works from the WAN and is listed by `nat`; renewing
# with the same nonce keeps the port, another nonce is refused; lifetime 0
# deletes; a port a config forward holds is never granted; a short mapping
# is gone from the kernel after its lifetime even with homegwd stopped (a
# kernel timeout); a mapping survives a restart (read back from the kernel);
# NAT-PMP (natpmpc, a real client) gets the external address and a UDP
# mapping; requests from the WAN are not answered; the LAN hears the
# ANNOUNCE at start.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=nat-lib.sh
source "$(dirname "$0")/nat-lib.sh"
command -v natpmpc >/dev/null || fatal "natpmpc is installed (scripts/deps.sh)"

nat_setup
hgt_config <<CONF
interface lan { device veth-lan }
interface wan { device veth-wan }
dhcp lan { pool 198.51.100.100 198.51.100.199 }
nat {
	masquerade wan
	forward tcp 8080 $CLIENT:80
	pcp yes
	pcp-lifetime 2s 1h
	open udp 5351   # the firewall lets WAN requests reach the PCP server: it must refuse them itself
}
CONF
# The LAN client listens for announcements (224.0.0.1:5350) before homegwd starts.
hgt_helper ip netns exec "$LAN" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5350))
while True:
    d, a = s.recvfrom(2000)
    with open(sys.argv[1], "a") as f:
        f.write("%s %d %s\n" % (a[0], len(d), d[:4].hex()))
' "$HGT_TMP/announce.log"
wait_listening "$LAN" udp 5350
hgt_start "$GW"
hgt_wait_ready
pcp() { ip netns exec "$LAN" python3 "$HGT_ROOT/tests/integration/pcp-client.py" "$GW_LAN" "$CLIENT" "$@"; }
field() { sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

wait_for "the LAN heard a PCP ANNOUNCE (version 2, response to opcode 0) at start" \
	grep -q "^$GW_LAN 24 0280" "$HGT_TMP/announce.log"

serve_peer "$LAN" tcp 7000
serve_peer "$LAN" tcp 7001
serve_peer "$LAN" tcp 80
serve_peer "$LAN" udp 7100
wait_listening "$LAN" tcp 7000
wait_listening "$LAN" udp 7100

out=$(pcp tcp 7000 600)
check_eq "PCP MAP tcp 7000: SUCCESS" 0 "$(field result "$out")"
check_eq "PCP MAP: the external address and the internal port kept" "$GW_WAN:7000" "$(field external "$out")"
check_eq "PCP MAP: lifetime 600 granted" 600 "$(field lifetime "$out")"
nonce=$(field nonce "$out")
check_match "the mapping works from the WAN" "^$PEER$" "$(ask "$WAN" tcp "$GW_WAN" 7000)"
check_jq "nat lists it" "$(ctl --json nat)" \
	'any(.mappings[]; .proto == "tcp" and .internal == "198.51.100.2:7000" and .external_port == 7000 and .via == "pcp" and .expires_in > 500)'
check_contains "it is an element of the kernel's pcp map" "tcp . 7000" "$(ip netns exec "$GW" nft list map inet homegw pcp)"
out=$(pcp tcp 7000 900 --nonce "$nonce")
check_eq "renewal with the same nonce: the same port" "0 $GW_WAN:7000" "$(field result "$out") $(field external "$out")"
out=$(pcp tcp 7000 900)
check_eq "another nonce for the same mapping: NOT_AUTHORIZED" 2 "$(field result "$out")"
out=$(pcp tcp 80 600 8080)
check_eq "a mapping suggesting 8080 (a config forward): SUCCESS" 0 "$(field result "$out")"
check_match "... but not on 8080" "^$GW_WAN:[0-9]+$" "$(field external "$out")"
[[ $(field external "$out") != "$GW_WAN:8080" ]] && pass "8080 stays the config forward's" || fail "8080 was granted"
out=$(pcp tcp 7000 0 --nonce "$nonce")
check_eq "lifetime 0 deletes: SUCCESS, lifetime 0" "0 0" "$(field result "$out") $(field lifetime "$out")"
check_eq "deleted: the WAN no longer reaches 7000" "" "$(ask "$WAN" tcp "$GW_WAN" 7000)"

out=$(ip netns exec "$WAN" python3 "$HGT_ROOT/tests/integration/pcp-client.py" "$GW_WAN" "$PEER" tcp 7000 600)
check_eq "a PCP request from the WAN gets no answer" noanswer "$out"
check_jq "... and is counted by the PCP server (the firewall let it through: open udp 5351)" "$(ctl --json nat)" \
	'.pcp_stats.dropped_not_lan >= 1'

# NAT-PMP with a real client.
out=$(ip netns exec "$LAN" natpmpc -g "$GW_LAN" 2>&1)
check_contains "natpmpc: the public address" "Public IP address : $GW_WAN" "$out"
out=$(ip netns exec "$LAN" natpmpc -g "$GW_LAN" -a 7100 7100 udp 600 2>&1)
check_contains "natpmpc: a UDP mapping 7100" "Mapped public port 7100 protocol UDP to local port 7100" "$out"
check_match "the NAT-PMP mapping works from the WAN" "^$PEER$" "$(ask "$WAN" udp "$GW_WAN" 7100)"
check_jq "nat lists it as nat-pmp" "$(ctl --json nat)" 'any(.mappings[]; .via == "nat-pmp" and .external_port == 7100)'

# A mapping survives a restart (the kernel holds it).
out=$(pcp tcp 7001 600)
check_eq "PCP MAP tcp 7001" 0 "$(field result "$out")"
hgt_stop
hgt_start "$GW"
hgt_wait_ready
check_jq "after a restart the mapping is back in nat (read from the kernel)" "$(ctl --json nat)" \
	'any(.mappings[]; .internal == "198.51.100.2:7001" and .external_port == 7001 and .expires_in > 500)'
check_match "and it works" "^$PEER$" "$(ask "$WAN" tcp "$GW_WAN" 7001)"

# A short mapping expires in the kernel by itself, homegwd stopped.
out=$(pcp tcp 7000 3)
check_eq "PCP MAP tcp 7000 for 3 s" "0 3" "$(field result "$out") $(field lifetime "$out")"
hgt_stop
sleep 4 # the mapping's lifetime runs out: a precondition, not a timing check
check_not_contains "with homegwd stopped, the expired mapping is gone from the kernel" "tcp . 7000 " \
	"$(ip netns exec "$GW" nft list map inet homegw pcp)"
check_eq "and the WAN no longer reaches 7000" "" "$(ask "$WAN" tcp "$GW_WAN" 7000)"
hgt_done
