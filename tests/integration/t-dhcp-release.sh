#!/usr/bin/env bash
# t-dhcp-release: a client that leaves with a DHCPRELEASE (udhcpc -R on
# SIGTERM, `dhclient -r`) shows as "released" in the leases, and its next
# DISCOVER gets the same address back. `homegwctl lease release ADDRESS`
# frees a lease the same way; unknown or bad addresses are refused.
# DHCP_SERVER=dnsmasq runs it against a stand-in (dhcp-lib.sh): dnsmasq drops
# a released lease instead of keeping it as "released".
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

dhcp_lan_setup
dhcp_start gw "$GW" lan veth-lan

# wait_released DESC ADDRESS: the server has taken the RELEASE of ADDRESS.
wait_released() {
	if is_dnsmasq; then
		wait_for "$1 ($DHCP_SERVER: the lease is dropped)" lease_absent "$2" || true
		return 0
	fi
	wait_for "$1" lease_is "$2" '.state == "released" and (.mac | ascii_downcase) == $m' --arg m "$LAN_MAC"
}

# ---- udhcpc: RELEASE on exit (-R) ----
udhcpc_start rel1 "$LAN" eth0 -R
client_wait "udhcpc: bound" rel1 bound
addr=$(client_get rel1 ip)
check_in_pool "udhcpc: a pool address ($addr)" "$addr"
check_lease_bound "udhcpc: $addr is bound to $LAN_MAC (leases)" "$addr" "$LAN_MAC"
client_stop rel1 TERM
check_match "udhcpc: on SIGTERM with -R it released and deconfigured" 'deconfig $' "$(client_events rel1)"
check_contains "udhcpc: its log says it sent the release" "sending release" "$(<"$(client_dir rel1)/log")"
wait_released "udhcpc's RELEASE: $addr is \"released\" in the leases" "$addr"

check_rc "re-DISCOVER after the RELEASE: udhcpc gets a lease" 0 udhcpc_run rel2 "$LAN" eth0
check_match "re-DISCOVER: it was a DISCOVER (udhcpc broadcast one)" 'broadcasting discover' \
	"$(<"$(client_dir rel2)/log")"
check_eq "re-DISCOVER after the RELEASE: the same address $addr again" "$addr" "$(client_get rel2 ip)"
check_lease_bound "re-DISCOVER: $addr is bound to $LAN_MAC again" "$addr" "$LAN_MAC"
ip -n "$LAN" addr flush dev eth0

# ---- dhclient -r ----
dhclient_start rel3 "$LAN" eth0
client_wait "dhclient: bound" rel3 'BOUND|REBOOT'
check_eq "dhclient: the same client (MAC, client-id 01:MAC) still gets $addr" "$addr" "$(client_get rel3 ip)"
check_rc "dhclient -r: exit 0" 0 dhclient_release rel3 "$LAN" eth0
check_match "dhclient -r: its script saw RELEASE" '(^| )RELEASE ' "$(client_events rel3) "
check_match "dhclient -r: it sent a DHCPRELEASE of $addr" "DHCPRELEASE of $(re_quote "$addr")" \
	"$(<"$(client_dir rel3)/log")"
check_not_contains "dhclient -r: the RELEASE could be sent (dhclient said no send error)" "Failed to send" \
	"$(<"$(client_dir rel3)/log")"
wait_released "dhclient's RELEASE: $addr is \"released\" in the leases" "$addr"

# A fresh dhclient (no lease file: DISCOVER, not INIT-REBOOT).
dhclient_start rel4 "$LAN" eth0
client_wait "dhclient after the RELEASE: bound" rel4 BOUND
check_contains "dhclient after the RELEASE: it sent a DHCPDISCOVER" DHCPDISCOVER "$(<"$(client_dir rel4)/log")"
check_eq "dhclient after the RELEASE: the same address $addr again" "$addr" "$(client_get rel4 ip)"
check_lease_bound "dhclient after the RELEASE: $addr bound to $LAN_MAC" "$addr" "$LAN_MAC" rel4
client_stop rel4
ip -n "$LAN" route flush dev eth0 2>/dev/null || true
ip -n "$LAN" addr flush dev eth0

# ---- homegwctl lease release ----
if homegwd_only "homegwctl lease release"; then
	check_rc "lease release $addr: exit 0" 0 ctl --json lease release "$addr"
	check_jq "lease release $addr: ok:true" "$OUT" '.ok == true'
	wait_released "lease release: $addr is \"released\" in the leases" "$addr"
	check_rc "lease release of an address without a lease: exit 1" 1 ctl --json lease release 198.51.100.250
	check_jq "lease release of an address without a lease: ok:false with an error" "$OUT" \
		'.ok == false and (.error | type == "string" and length > 0)'
	check_rc "lease release of a non-address: exit 1" 1 ctl --json lease release 198.51.100.300
	check_jq "lease release of a non-address: ok:false with an error" "$OUT" \
		'.ok == false and (.error | type == "string" and length > 0)'
	check_rc "lease release without an address: exit 1" 1 ctl --json lease release
	check_rc "re-DISCOVER after lease release: udhcpc gets a lease" 0 udhcpc_run rel5 "$LAN" eth0
	check_eq "re-DISCOVER after lease release: the same address $addr" "$addr" "$(client_get rel5 ip)"
	check_lease_bound "after lease release and re-DISCOVER: $addr bound again" "$addr" "$LAN_MAC"
	check_rc "dhcp stats: exit 0" 0 ctl --json dhcp stats
	check_jq "dhcp stats: the two client RELEASEs were counted" "$OUT" '.messages.release >= 2'
fi

dhcp_stop TERM
hgt_done
