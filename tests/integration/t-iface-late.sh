#!/usr/bin/env bash
# t-iface-late: an interface whose device does not exist at start is shown
# absent; when the kernel creates it (and as its addresses and link state
# change, and when it goes away) status follows, without a restart.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

GW=$HGT_PREFIX-gw
PEER=$HGT_PREFIX-peer
hgt_netns "$GW"
hgt_netns "$PEER"
hgt_veth "$GW" veth-lan "$PEER" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24

hgt_config <<'EOF'
interface lan { device veth-lan }
interface late { device veth-late }
EOF
hgt_start "$GW"
hgt_wait_ready
pid=$HGT_PID

# late_is JQ-CONDITION: status's "late" entry satisfies it.
late_is() {
	"$HOMEGWCTL" -s "$HGT_SOCK" --json status |
		jq -e ".interfaces[] | select(.name == \"late\") | $1" >/dev/null
}

json=$(ctl --json status)
check_jq "at start: late is listed, present:false" "$json" \
	'.interfaces[] | select(.name == "late") | .device == "veth-late" and .present == false'
check_jq "at start: lan is present" "$json" '.interfaces[] | select(.name == "lan") | .present == true'

# ---- the device appears ----
ip -n "$GW" link add veth-late type veth peer name eth1 netns "$PEER"
ip -n "$GW" addr add 100.64.7.1/24 dev veth-late
ip -n "$GW" link set veth-late up
ip -n "$PEER" link set eth1 up
ifindex=$(ip_ifindex "$GW" veth-late)
wait_for "created: late becomes present with ifindex $ifindex and 100.64.7.1/24" \
	late_is "(.present == true and .ifindex == $ifindex and .up == true and (.addresses | index(\"100.64.7.1/24\")))"

# ---- its addresses change ----
ip -n "$GW" addr add 198.18.7.1/16 dev veth-late
wait_for "second address: shown" late_is '(.addresses | index("198.18.7.1/16"))'
ip -n "$GW" addr del 100.64.7.1/24 dev veth-late
wait_for "first address removed: gone from status" late_is '(.addresses | index("100.64.7.1/24") | not)'
json=$(ctl --json status)
check_jq "addresses: exactly what ip says" "$json" \
	'[.interfaces[] | select(.name == "late") | .addresses[] | select(contains("."))] | sort == $a' \
	--argjson a "$(ip_addrs_json "$GW" veth-late)"

# ---- link state ----
ip -n "$GW" link set veth-late down
wait_for "link set down: up:false" late_is '.up == false'
ip -n "$GW" link set veth-late up
wait_for "link set up: up:true" late_is '.up == true'

# ---- the device goes away ----
ip -n "$GW" link del veth-late
wait_for "deleted: present:false again" late_is '.present == false'
check_jq "deleted: no addresses left" "$(ctl --json status)" \
	'.interfaces[] | select(.name == "late") | (.addresses // []) == []'

# ---- and comes back (a new ifindex) ----
ip -n "$GW" link add veth-late type veth peer name eth1 netns "$PEER"
ip -n "$GW" addr add 203.0.113.9/24 dev veth-late
ip -n "$GW" link set veth-late up
ifindex=$(ip_ifindex "$GW" veth-late)
wait_for "re-created: present again with the new ifindex $ifindex and 203.0.113.9/24" \
	late_is "(.present == true and .ifindex == $ifindex and (.addresses | index(\"203.0.113.9/24\")))"

check_eq "no restart: the same daemon process" "$pid" "$HGT_PID"
hgt_stop TERM
hgt_done
