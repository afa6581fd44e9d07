#!/usr/bin/env bash
# t-dhcp-clients: three real clients — ISC dhclient, busybox udhcpc and dhcpcd
# — each with a MAC of its own on the LAN veth, get a lease from the pool with
# every option of the scope (mask, router, DNS, domain, lease time, MTU,
# classless routes with the default route inside, NTP, server id); dhclient's
# and dhcpcd's routes from option 121 appear in the client namespace; the
# hostname each client sends is in `homegwctl --json leases`; `dhcp stats`
# counts the exchanges. DHCP_SERVER=dnsmasq runs it against a stand-in
# (dhcp-lib.sh).
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

dhcp_lan_setup
dhcp_start gw "$GW" lan veth-lan

declare -A MAC=([laptop]=02:00:00:00:01:11 [phone]=02:00:00:00:01:12 [tablet]=02:00:00:00:01:13)
declare -A ADDR=()

# check_on_link NAME: the client's address is configured on eth0.
check_on_link() {
	check_jq "$1: ${ADDR[$1]}/24 is configured on the client's eth0" \
		"$(ip -n "$LAN" -j -4 addr show dev eth0)" \
		'[.[0].addr_info[] | "\(.local)/\(.prefixlen)"] | index($a)' --arg a "${ADDR[$1]}/24"
}

# The link between clients: the next one starts from nothing.
clean_link() {
	ip -n "$LAN" route flush dev eth0 2>/dev/null || true
	ip -n "$LAN" addr flush dev eth0
}

# ---- ISC dhclient ----
ip -n "$LAN" link set eth0 address "${MAC[laptop]}"
dhclient_start laptop "$LAN" eth0
client_wait "dhclient: bound (DISCOVER, OFFER, REQUEST, ACK)" laptop BOUND
ADDR[laptop]=$(client_get laptop ip)
check_client_options laptop
check_client_routes laptop "$LAN" eth0
check_on_link laptop
check_lease_bound "dhclient: ${ADDR[laptop]} is bound to its MAC with hostname \"laptop\" (leases)" \
	"${ADDR[laptop]}" "${MAC[laptop]}" laptop
client_stop laptop # SIGTERM: dhclient leaves without a RELEASE
clean_link

# ---- busybox udhcpc ----
ip -n "$LAN" link set eth0 address "${MAC[phone]}"
check_rc "udhcpc: gets a lease and quits (-q)" 0 udhcpc_run phone "$LAN" eth0
check_match "udhcpc: its script saw deconfig then bound" '(^| )deconfig( .*)? bound ' "$(client_events phone) "
ADDR[phone]=$(client_get phone ip)
check_client_options phone
check_on_link phone
check_lease_bound "udhcpc: ${ADDR[phone]} is bound to its MAC with hostname \"phone\" (leases)" \
	"${ADDR[phone]}" "${MAC[phone]}" phone
clean_link

# ---- dhcpcd (it configures the link and the routes itself) ----
ip -n "$LAN" link set eth0 address "${MAC[tablet]}"
dhcpcd_start tablet "$LAN" eth0
client_wait "dhcpcd: bound" tablet BOUND
ADDR[tablet]=$(client_get tablet ip)
check_client_options tablet
# dhcpcd installs option 121's routes with a metric of its own.
check_client_routes tablet "$LAN" eth0
check_on_link tablet
check_lease_bound "dhcpcd: ${ADDR[tablet]} is bound to its MAC with hostname \"tablet\" (leases)" \
	"${ADDR[tablet]}" "${MAC[tablet]}" tablet
client_stop tablet
clean_link

# ---- all three at once ----
check_eq "three clients, three different addresses" 3 \
	"$(printf '%s\n' "${ADDR[@]}" | sort -u | grep -c .)"
leases=$(dhcp_leases)
check_jq "leases: all three still bound after the clients left without RELEASE, scope lan" "$leases" \
	'[.leases[] | select(.state == "bound" and (.address | IN($a[])))] | length == 3' \
	--argjson a "$(printf '%s\n' "${ADDR[@]}" | jq -R . | jq -s -c .)"
if homegwd_only "leases: every entry has CONTROL.md's fields, scope \"lan\", expires_at = now + expires_in"; then
	check_jq "leases: CONTROL.md's fields, scope lan, expires_at consistent with expires_in" "$leases" \
		'[.leases[] | select(.address | IN($a[]))] | length == 3 and all(
			has("address") and has("mac") and has("client_id") and has("hostname") and has("scope") and
			has("state") and has("expires_in") and has("expires_at") and .scope == "lan" and
			((.expires_at - .expires_in - now) | fabs) < 5)' \
		--argjson a "$(printf '%s\n' "${ADDR[@]}" | jq -R . | jq -s -c .)"
fi

if homegwd_only "dhcp stats: counters and the lan scope's pool"; then
	check_rc "dhcp stats: exit 0" 0 ctl --json dhcp stats
	check_jq "dhcp stats: lan scope, pool of 100, 3 used, 97 free" "$OUT" \
		'.ok == true and
		(.scopes[] | select(.scope == "lan") | .pool_size == 100 and .used == 3 and .free == 97)'
	check_jq "dhcp stats: at least 3 DISCOVER, OFFER, REQUEST and ACK; no NAK" "$OUT" \
		'.messages | .discover >= 3 and .offer >= 3 and .request >= 3 and .ack >= 3 and .nak == 0'
	check_rc "dhcp stats (table): exit 0" 0 ctl dhcp stats
	check_contains "dhcp stats (table): names the lan scope" lan "$OUT"
	check_rc "leases (table): exit 0" 0 ctl leases
	table=$OUT
	for n in laptop phone tablet; do
		line=$(grep -F -w -e "${ADDR[$n]}" <<<"$table" || true)
		check_match "leases (table): $n's line has its address, MAC and hostname" \
			"^[^$NL]*${MAC[$n]}[^$NL]*\\b$n\\b|^[^$NL]*\\b$n\\b[^$NL]*${MAC[$n]}" "$line"
	done
fi

dhcp_stop TERM
hgt_done
