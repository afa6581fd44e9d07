#!/usr/bin/env bash
# t-nat: the table inet homegw in a real kernel. LAN→WAN traffic leaves with
# the gateway's WAN address (TCP and UDP); TCP and UDP forwards and a port
# range forward work from the WAN; hairpin: a LAN host reaches a forward
# through the WAN address; the firewall drops unsolicited WAN→LAN and
# WAN→router traffic but for `open` ports; `nat table` shows a live flow with
# its translation; a reload that removes a forward kills that forward's
# established flow (conntrack entry deleted) and keeps a flow through an
# unchanged forward; a foreign `nft flush ruleset` is repaired; SIGTERM
# leaves the table (traffic goes on); a restart replaces it; removing the
# section removes it.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=nat-lib.sh
source "$(dirname "$0")/nat-lib.sh"

nat_setup
write_conf() { # EXTRA NAT LINES
	hgt_config <<CONF
interface lan { device veth-lan }
interface wan { device veth-wan }
dhcp lan { pool 198.51.100.100 198.51.100.199 }
nat {
	masquerade wan
	forward tcp 8080 $CLIENT:80
	forward udp 5300 $CLIENT
	forward tcp 5000-5002 $CLIENT:6000
	forward tcp 9090 $CLIENT:9090
	open tcp 2222
	$1
}
CONF
}
write_conf "forward tcp 8081 $CLIENT:8081"
hgt_start "$GW"
hgt_wait_ready
check_jq "nat runs" "$(ctl --json status)" '.modules.nat.running == true'
table=$(nft_table)
check_contains "the table inet homegw exists" "table inet homegw" "$table"
check_match "its dstnat chain reads the forward map" 'dnat ip to meta l4proto \. th dport map @forwards' "$table"

serve_peer "$WAN" tcp 8000
serve_peer "$WAN" udp 8001
serve_peer "$LAN" tcp 80
serve_peer "$LAN" udp 5300
serve_peer "$LAN" tcp 6001
serve_echo "$LAN" 9090
serve_echo "$LAN" 8081
serve_peer "$GW" tcp 2222
serve_peer "$GW" tcp 2223
for p in "$WAN tcp 8000" "$WAN udp 8001" "$LAN tcp 80" "$LAN udp 5300" "$LAN tcp 6001" "$LAN tcp 9090" \
	"$LAN tcp 8081" "$GW tcp 2222" "$GW tcp 2223"; do
	# shellcheck disable=SC2086
	wait_listening $p
done

check_match "masquerade: a LAN→WAN TCP connection arrives from $GW_WAN" "^$GW_WAN$" "$(ask "$LAN" tcp "$PEER" 8000)"
check_match "masquerade: UDP too" "^$GW_WAN$" "$(ask "$LAN" udp "$PEER" 8001)"
check_match "TCP forward 8080 → $CLIENT:80: reached from the WAN, the peer's own address kept" "^$PEER$" \
	"$(ask "$WAN" tcp "$GW_WAN" 8080)"
check_match "UDP forward 5300 → $CLIENT:5300" "^$PEER$" "$(ask "$WAN" udp "$GW_WAN" 5300)"
check_match "range forward 5000-5002 → 6000-6002: 5001 reaches 6001" "^$PEER$" "$(ask "$WAN" tcp "$GW_WAN" 5001)"
check_match "hairpin: the LAN host reaches its own forward through $GW_WAN, source-NATed to the router" \
	"^$GW_LAN$" "$(ask "$LAN" tcp "$GW_WAN" 8080)"
check_eq "firewall: WAN → LAN host directly is dropped" "" "$(ask "$WAN" tcp "$CLIENT" 80)"
check_eq "firewall: WAN → the router's port 2223 is dropped" "" "$(ask "$WAN" tcp "$GW_WAN" 2223)"
check_match "firewall: open tcp 2222 reaches the router" "^$PEER$" "$(ask "$WAN" tcp "$GW_WAN" 2222)"
check_match "firewall: the LAN still reaches the router's 2223" "^$CLIENT$" "$(ask "$LAN" tcp "$GW_LAN" 2223)"
check_jq "nat: the firewall counted drops" "$(ctl --json nat)" '.firewall.dropped_forward >= 1 and .firewall.dropped_input >= 1'

# Two held connections from the WAN: through 9090 (kept) and 8081 (removed).
mkdir -p "$HGT_TMP/keep" "$HGT_TMP/gone"
hgt_helper ip netns exec "$WAN" python3 "$HGT_ROOT/tests/integration/nat-hold.py" "$GW_WAN" 9090 "$HGT_TMP/keep"
hgt_helper ip netns exec "$WAN" python3 "$HGT_ROOT/tests/integration/nat-hold.py" "$GW_WAN" 8081 "$HGT_TMP/gone"
wait_for "a held connection through forward 9090 is up" test -e "$HGT_TMP/keep/ready"
wait_for "a held connection through forward 8081 is up" test -e "$HGT_TMP/gone/ready"

flows=$(ctl --json nat table)
check_jq "nat table: the flow through 9090 with its translation" "$flows" \
	'any(.flows[]; .proto == "tcp" and .inside == "198.51.100.2:9090" and (.outside == "203.0.113.2:9090")
	  and (.peer | startswith("203.0.113.1:")) and .state == "ESTABLISHED" and .origin == "forward" and .expires_in > 0)'
check_jq "nat table: every flow has the fields" "$flows" \
	'.flows | length > 0 and all(.[]; has("proto") and has("inside") and has("outside") and has("peer") and has("state") and has("expires_in") and has("origin"))'

write_conf ""
check_rc "reload without forward 8081" 0 ctl reload
check_not_contains "forward 8081 left the map" ". 8081 :" "$(nft_table)"
check_contains "forward 9090 is still in the map" "198.51.100.2 . 9090" "$(nft_table)"
no_8081_flow() { ! ip netns exec "$GW" conntrack -L -p tcp --orig-port-dst 8081 2>/dev/null | grep -q 8081; }
wait_for "the conntrack entry of the removed forward is deleted" no_8081_flow
touch "$HGT_TMP/keep/go" "$HGT_TMP/gone/go"
wait_for "the held connections report" test -e "$HGT_TMP/keep/result" -a -e "$HGT_TMP/gone/result"
check_eq "the flow through the unchanged forward 9090 is alive" alive "$(cat "$HGT_TMP/keep/result")"
check_match "the flow through the removed forward 8081 is dead" '^dead' "$(cat "$HGT_TMP/gone/result")"

# A foreign flush: restored.
ip netns exec "$GW" nft flush ruleset
wait_for "after a foreign 'nft flush ruleset' the table is back" nft_has_table
check_match "and forwards work again" "^$PEER$" "$(ask "$WAN" tcp "$GW_WAN" 8080)"
check_jq "nat counts the repair" "$(ctl --json nat)" '.repairs >= 1'

# SIGTERM leaves the table; traffic goes on.
hgt_stop
check_eq "after SIGTERM the table stays" yes "$(nft_has_table && echo yes || echo no)"
check_match "after SIGTERM: forwards still work (the kernel does the translating)" "^$PEER$" \
	"$(ask "$WAN" tcp "$GW_WAN" 8080)"
hgt_start "$GW"
hgt_wait_ready
check_match "restarted: forwards work" "^$PEER$" "$(ask "$WAN" tcp "$GW_WAN" 8080)"
check_eq "restarted: one table inet homegw, not two" 1 "$(ip netns exec "$GW" nft list tables | grep -c 'inet homegw')"

# The section removed: the table goes.
hgt_config <<CONF
interface lan { device veth-lan }
dhcp lan { pool 198.51.100.100 198.51.100.199 }
CONF
check_rc "reload without the nat section" 0 ctl reload
check_eq "the table is gone" no "$(nft_has_table && echo yes || echo no)"
check_jq "nat no longer runs" "$(ctl --json status)" '.modules.nat.running == false'
hgt_stop
hgt_done
