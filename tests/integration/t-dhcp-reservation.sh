#!/usr/bin/env bash
# t-dhcp-reservation: `host` reservations. By MAC: dhclient and udhcpc on
# the reserved MAC get 198.51.100.10, both while sending a client-id
# (RFC 4361 6.3: the MAC match still works then). By client-id (option 61):
# dhclient and udhcpc sending the reserved id get 198.51.100.11 from two
# other MACs. A client matching neither gets a pool address. The leases show
# the reserved addresses with the right client. DHCP_SERVER=dnsmasq runs it
# against a stand-in (dhcp-lib.sh).
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

dhcp_lan_setup
# A client-id that is not hardware-type + MAC: type 0, "scanner" (RFC 2132 9.14).
SCANNER_ID=00:73:63:61:6e:6e:65:72
DHCP_HOSTS=(
	"printer mac $LAN_MAC 198.51.100.10"
	"scanner client-id $SCANNER_ID 198.51.100.11"
)
dhcp_start gw "$GW" lan veth-lan

# A reserved address is "bound" while a client holds it (CONTROL.md also has
# "static": accepted for reservations).
reserved_to() { # DESC ADDRESS MAC [CLIENT-ID]
	check_jq "$1" "$(dhcp_leases)" '[.leases[] | select(.address == $a)] | length == 1 and (first |
		(.state == "bound" or .state == "static") and (.mac | ascii_downcase) == $m and
		($id == "" or (.client_id | ascii_downcase) == $id))' \
		--arg a "$2" --arg m "$3" --arg id "${4:-}"
}

clean_link() {
	ip -n "$LAN" route flush dev eth0 2>/dev/null || true
	ip -n "$LAN" addr flush dev eth0
}

# ---- by MAC ----
dhclient_start printer-dhclient "$LAN" eth0
client_wait "by MAC: dhclient bound" printer-dhclient BOUND
check_eq "by MAC: dhclient gets the reserved 198.51.100.10" 198.51.100.10 "$(client_get printer-dhclient ip)"
check_eq "by MAC: with the scope's options (router)" "$DHCP_GW_ADDR" "$(client_get printer-dhclient router)"
reserved_to "by MAC: leases has 198.51.100.10 for $LAN_MAC" 198.51.100.10 "$LAN_MAC"
client_stop printer-dhclient
clean_link

# udhcpc sends option 61 = 01:MAC by default (-C would turn it off).
check_rc "by MAC, client-id 01:MAC sent: udhcpc gets a lease" 0 udhcpc_run printer-udhcpc "$LAN" eth0
check_eq "by MAC, client-id 01:MAC sent: udhcpc gets 198.51.100.10" 198.51.100.10 "$(client_get printer-udhcpc ip)"
reserved_to "by MAC, client-id sent: leases has 198.51.100.10 for $LAN_MAC" 198.51.100.10 "$LAN_MAC"
clean_link

# ---- by client-id, from two other MACs ----
ip -n "$LAN" link set eth0 address 02:00:00:00:02:01
dhclient_start scanner-dhclient "$LAN" eth0 "send dhcp-client-identifier $SCANNER_ID;"
client_wait "by client-id: dhclient bound" scanner-dhclient BOUND
check_eq "by client-id: dhclient (send dhcp-client-identifier) gets the reserved 198.51.100.11" \
	198.51.100.11 "$(client_get scanner-dhclient ip)"
reserved_to "by client-id: leases has 198.51.100.11 for the id and 02:00:00:00:02:01" \
	198.51.100.11 02:00:00:00:02:01 "$SCANNER_ID"
client_stop scanner-dhclient
clean_link

ip -n "$LAN" link set eth0 address 02:00:00:00:02:02
check_rc "by client-id: udhcpc -x 0x3d:... gets a lease" 0 \
	udhcpc_run scanner-udhcpc "$LAN" eth0 -x "0x3d:${SCANNER_ID//:/}"
check_eq "by client-id, another MAC: udhcpc gets the reserved 198.51.100.11" \
	198.51.100.11 "$(client_get scanner-udhcpc ip)"
reserved_to "by client-id: leases has 198.51.100.11 for the id, now at 02:00:00:00:02:02" \
	198.51.100.11 02:00:00:00:02:02 "$SCANNER_ID"
clean_link

# ---- neither ----
ip -n "$LAN" link set eth0 address 02:00:00:00:02:03
check_rc "no reservation: udhcpc gets a lease" 0 udhcpc_run other "$LAN" eth0
other=$(client_get other ip)
check_in_pool "no reservation: a pool address ($other)" "$other"
check_lease_bound "no reservation: leases has $other bound to 02:00:00:00:02:03" "$other" 02:00:00:00:02:03 other
reserved_to "the MAC reservation is still held by $LAN_MAC" 198.51.100.10 "$LAN_MAC"

if homegwd_only "dhcp stats: reservations are not pool addresses"; then
	check_rc "dhcp stats: exit 0" 0 ctl --json dhcp stats
	check_jq "dhcp stats: the pool counts 1 used (the reservations are outside it)" "$OUT" \
		'.scopes[] | select(.scope == "lan") | .pool_size == 100 and .used == 1'
fi

dhcp_stop TERM
hgt_done
