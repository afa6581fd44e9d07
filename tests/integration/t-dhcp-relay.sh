#!/usr/bin/env bash
# t-dhcp-relay: the relay path end to end, client in "lan", relay in "gw",
# server in "srv" (lan eth0 — gw veth-lan 198.51.100.1/24; gw veth-up
# 100.64.1.1/30 — srv veth-dn 100.64.1.2/30, srv routes 198.51.100.0/24 back
# via the relay):
#   1. homegwd relay (`dhcp-relay lan { server 100.64.1.2 }`) to a second
#      homegwd serving the remote scope `dhcp 198.51.100.0/24 { ... router
#      198.51.100.1 }`: dhclient gets a lease with every option; the server's
#      leases have it; the relay counts what it forwarded;
#   2. the same relay to Kea (kea-dhcp4): udhcpc gets a lease; Kea stored the
#      relay agent information (option 82, circuit-id "veth-lan", the device
#      name) with the lease; the client never sees option 82;
#   3. ISC dhcrelay (with -a: option 82) to homegwd's remote scope: dhclient
#      and udhcpc get leases.
# DHCP_SERVER=dnsmasq runs it with dnsmasq standing in for both homegwd roles
# (dnsmasq's relay adds no option 82: those checks are skipped).
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

command -v kea-dhcp4 >/dev/null || fatal "kea-dhcp4 is installed (scripts/deps.sh)"
command -v dhcrelay >/dev/null || fatal "dhcrelay is installed (scripts/deps.sh)"

dhcp_lan_setup
SRV=$HGT_PREFIX-srv
hgt_netns "$SRV"
hgt_veth "$GW" veth-up "$SRV" veth-dn
hgt_addr "$GW" veth-up 100.64.1.1/30
hgt_addr "$SRV" veth-dn 100.64.1.2/30
ip -n "$SRV" route add 198.51.100.0/24 via 100.64.1.1
SERVER=100.64.1.2
# The name in the checks' descriptions: homegwd, or dnsmasq standing in.
SV=${DHCP_SERVER%%-*}
# "veth-lan" as RFC 3046 sub-option 1 (circuit-id), hex.
CIRCUIT_HEX=0108$(printf veth-lan | od -An -tx1 | tr -d ' \n')

clean_link() {
	ip -n "$LAN" route flush dev eth0 2>/dev/null || true
	ip -n "$LAN" addr flush dev eth0
}

# ---- 1. homegwd relay -> homegwd server (remote scope) ----
dhcp_start srv "$SRV" remote
dhcp_start relay "$GW" relay veth-lan "$SERVER"

ip -n "$LAN" link set eth0 address 02:00:00:00:03:01
dhclient_start via-hgw "$LAN" eth0
client_wait "$SV relay -> $SV: dhclient bound" via-hgw BOUND
check_client_options via-hgw "$SERVER"
check_eq "$SV relay -> $SV: no option 82 reached the client" "" "$(client_get via-hgw agent)"
addr1=$(client_get via-hgw ip)
client_stop via-hgw
clean_link

dhcp_use srv
check_lease_bound "$SV relay -> $SV: the server has $addr1 bound to the client's MAC" \
	"$addr1" 02:00:00:00:03:01 via-hgw
if homegwd_only "the remote scope's name in leases, the relay's and the server's counters"; then
	check_jq "server: the lease is in the remote scope 198.51.100.0/24" "$(dhcp_leases)" \
		'.leases[] | select(.address == $a) | .scope == "198.51.100.0/24"' --arg a "$addr1"
	check_rc "server: dhcp stats: exit 0" 0 ctl --json dhcp stats
	check_jq "server: dhcp stats counts the relayed exchange (ACK)" "$OUT" '.messages.ack >= 1'
	dhcp_use relay
	check_jq "relay: serves no leases itself" "$(ctl --json leases)" '.ok == true and .leases == []'
	check_rc "relay: dhcp stats: exit 0" 0 ctl --json dhcp stats
	check_jq "relay: dhcp stats has relay counters, not all zero" "$OUT" \
		'.relay | type == "object" and ([.. | numbers] | add // 0) > 0'
fi

# ---- 2. homegwd relay -> Kea ----
dhcp_use srv
dhcp_stop TERM
kea_start "$SRV" veth-dn
ip -n "$LAN" link set eth0 address 02:00:00:00:03:02
check_rc "$SV relay -> Kea: udhcpc gets a lease" 0 udhcpc_run via-kea "$LAN" eth0
check_client_basic via-kea "$SERVER"
check_eq "$SV relay -> Kea: no option 82 reached the client (the relay strips it)" "" \
	"$(client_get via-kea agent)"
addr2=$(client_get via-kea ip)
kea_lease=$(grep -i "^$(re_quote "$addr2"),02:00:00:00:03:02," "$KEA_DIR/leases4.csv" || true)
check_match "$SV relay -> Kea: Kea's lease file has $addr2 for the client's MAC" . "$kea_lease"
if homegwd_only "option 82 from the relay at Kea (dnsmasq's relay does not add it)"; then
	check_match "$SV relay -> Kea: Kea stored option 82 with circuit-id \"veth-lan\" ($CIRCUIT_HEX)" \
		"relay-agent-info\"[^,]*0x[0-9A-Fa-f]*${CIRCUIT_HEX}" "${kea_lease,,}"
fi
clean_link
kea_stop

# ---- 3. ISC dhcrelay -> homegwd server (remote scope) ----
dhcp_use relay
dhcp_stop TERM
dhcp_use srv
dhcp_restart

DHCRELAY_LOG=$HGT_TMP/dhcrelay.log
ip netns exec "$GW" dhcrelay -4 -d -a -pf "$HGT_TMP/dhcrelay.pid" -i veth-lan -i veth-up "$SERVER" \
	>"$DHCRELAY_LOG" 2>&1 &
dhcrelay_pid=$!
HGT_HELPERS+=("$dhcrelay_pid")
wait_for "dhcrelay listens" grep -q 'Sending on   Socket/fallback' "$DHCRELAY_LOG"

ip -n "$LAN" link set eth0 address 02:00:00:00:03:03
dhclient_start via-dhcrelay "$LAN" eth0
client_wait "dhcrelay -> $SV: dhclient bound" via-dhcrelay BOUND
check_client_options via-dhcrelay "$SERVER"
addr3=$(client_get via-dhcrelay ip)
client_stop via-dhcrelay
clean_link
ip -n "$LAN" link set eth0 address 02:00:00:00:03:04
check_rc "dhcrelay -> $SV: udhcpc gets a lease" 0 udhcpc_run via-dhcrelay2 "$LAN" eth0
check_client_options via-dhcrelay2 "$SERVER"
addr4=$(client_get via-dhcrelay2 ip)
clean_link

check_contains "dhcrelay added option 82 to the requests" "relay agent option" "$(<"$DHCRELAY_LOG")"
check_match "dhcrelay forwarded the server's replies to the clients" 'Forwarded BOOTREPLY for 02:00:00:00:03:03' \
	"$(<"$DHCRELAY_LOG")"
check_lease_bound "dhcrelay -> $SV: the server has $addr3 bound (dhclient)" "$addr3" 02:00:00:00:03:03 via-dhcrelay
check_lease_bound "dhcrelay -> $SV: the server has $addr4 bound (udhcpc)" "$addr4" 02:00:00:00:03:04 via-dhcrelay2
check_lease_bound "the lease of step 1 is still there after the server's restart" "$addr1" 02:00:00:00:03:01 via-hgw
check_eq "three relayed clients of the remote scope, three addresses" 3 \
	"$(printf '%s\n' "$addr1" "$addr3" "$addr4" | sort -u | grep -c .)"

kill "$dhcrelay_pid" 2>/dev/null || true
wait "$dhcrelay_pid" 2>/dev/null || true
dhcp_stop TERM
hgt_done
