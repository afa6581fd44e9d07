#!/usr/bin/env bash
# t-dhcp-restart: leases survive a restart of the server, after SIGTERM and
# after SIGKILL: `homegwctl leases` shows them again with the same expiry
# (journal replay), and the clients' INIT-REBOOT is ACKed for the same
# address — dhclient restarted on its lease file (REQUEST without server id:
# its script sees REBOOT, not BOUND) and udhcpc -r ADDRESS. DHCP_SERVER=dnsmasq
# runs it against a stand-in (dhcp-lib.sh).
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

dhcp_lan_setup
# A second client with a MAC of its own: a macvlan on the lan veth.
MV_MAC=02:00:00:00:01:02
ip -n "$LAN" link add mv1 link eth0 type macvlan mode bridge
ip -n "$LAN" link set mv1 address "$MV_MAC" up
# udhcpc on mv1 only records: two links configured in one subnet would make
# the namespace's routes depend on which client came last.
export UDHCPC_CONFIGURE=0

dhcp_start gw "$GW" lan veth-lan

dhclient_start boot-dhclient "$LAN" eth0
client_wait "dhclient: bound" boot-dhclient BOUND
A=$(client_get boot-dhclient ip)
check_rc "udhcpc (mv1): gets a lease" 0 udhcpc_run boot-udhcpc "$LAN" mv1
B=$(client_get boot-udhcpc ip)
check_in_pool "dhclient: a pool address ($A)" "$A"
check_in_pool "udhcpc: a pool address ($B)" "$B"
check_lease_bound "before the restarts: $A bound to $LAN_MAC" "$A" "$LAN_MAC" boot-dhclient
check_lease_bound "before the restarts: $B bound to $MV_MAC" "$B" "$MV_MAC" boot-udhcpc

expires_of() { dhcp_lease_of "$1" | jq '.expires_at // 0'; }

for sig in TERM KILL; do
	exp_a=$(expires_of "$A")
	exp_b=$(expires_of "$B")
	# The clients go down with the server (no RELEASE), their links unconfigured.
	client_stop boot-dhclient
	ip -n "$LAN" route flush dev eth0 2>/dev/null || true
	ip -n "$LAN" addr flush dev eth0

	dhcp_stop "$sig"
	if homegwd_only "SIG$sig: the lease store in state-dir"; then
		check_match "SIG$sig: state-dir holds a non-empty lease store" . \
			"$(find "$HGT_STATE" -type f -size +0 2>/dev/null)"
	fi
	dhcp_restart

	leases=$(dhcp_leases)
	for pair in "$A $LAN_MAC $exp_a boot-dhclient" "$B $MV_MAC $exp_b boot-udhcpc"; do
		read -r a mac exp host <<<"$pair"
		check_jq "after SIG$sig and restart: $a still bound to $mac, hostname $host, same expiry" "$leases" \
			'[.leases[] | select(.address == $a)] | length == 1 and (first | .state == "bound" and
			(.mac | ascii_downcase) == $m and .hostname == $h and (.expires_at - $e | fabs) <= 1 and
			.expires_in > 0)' --arg a "$a" --arg m "$mac" --arg h "$host" --argjson e "$exp"
	done

	# INIT-REBOOT: dhclient finds its lease in its lease file.
	dhclient_start boot-dhclient "$LAN" eth0
	client_wait "after SIG$sig: dhclient's INIT-REBOOT is ACKed (REBOOT)" boot-dhclient 'REBOOT|BOUND'
	check_match "after SIG$sig: dhclient rebooted into its lease, no new DISCOVER (REBOOT, not BOUND)" \
		'(^| )REBOOT ' "$(client_events boot-dhclient) "
	check_eq "after SIG$sig: dhclient keeps $A" "$A" "$(client_get boot-dhclient ip)"

	check_rc "after SIG$sig: udhcpc -r $B gets a lease" 0 udhcpc_run boot-udhcpc "$LAN" mv1 -r "$B"
	check_eq "after SIG$sig: udhcpc keeps $B" "$B" "$(client_get boot-udhcpc ip)"

	check_lease_bound "after SIG$sig and the clients' return: $A bound to $LAN_MAC" "$A" "$LAN_MAC" boot-dhclient
	check_lease_bound "after SIG$sig and the clients' return: $B bound to $MV_MAC" "$B" "$MV_MAC" boot-udhcpc
	check_jq "after SIG$sig: no lease was handed out twice" "$(dhcp_leases)" \
		'[.leases[] | select(.state == "bound") | .address] | length == (unique | length)'
done

client_stop boot-dhclient
dhcp_stop TERM
hgt_done
