#!/usr/bin/env bash
# t-privdrop: started as root with `user homegw-test`, homegwd runs as that
# user with exactly CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE, and
# still does its work (status, following the kernel, reload).
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

USER_=homegw-test
hgt_user "$USER_"
uid=$(id -u "$USER_")
gid=$(id -g "$USER_")

GW=$HGT_PREFIX-gw
PEER=$HGT_PREFIX-peer
hgt_netns "$GW"
hgt_netns "$PEER"
hgt_veth "$GW" veth-lan "$PEER" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24

hgt_config <<EOF
user $USER_
interface lan { device veth-lan }
interface late { device veth-late }
EOF
chown "$USER_:" "$HGT_STATE"
hgt_start "$GW"
hgt_wait_ready

# /proc/PID/status: "Uid: real effective saved fs", "CapEff: hex".
field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$HGT_PID/status" | tr -s '[:space:]' ' ' | sed 's/ $//'; }
check_eq "Uid: all four are $USER_ ($uid)" "$uid $uid $uid $uid" "$(field Uid)"
check_eq "Gid: all four are its group ($gid)" "$gid $gid $gid $gid" "$(field Gid)"
groups=$(field Groups)
if [[ -z $groups || $groups == "$gid" ]]; then
	pass "Groups: none but its own ($groups)"
else
	fail "Groups: none but its own" "expected: empty or $gid" "got: $groups"
fi
# 0x3400 = bits 10 (NET_BIND_SERVICE), 12 (NET_ADMIN), 13 (NET_RAW)
check_eq "CapEff: exactly NET_ADMIN, NET_RAW, NET_BIND_SERVICE" 0000000000003400 "$(field CapEff)"
check_eq "CapPrm: the same three" 0000000000003400 "$(field CapPrm)"
check_eq "CapInh: none" 0000000000000000 "$(field CapInh)"
check_eq "CapAmb: none" 0000000000000000 "$(field CapAmb)"
note "decoded: $(capsh --decode="$(field CapEff)" 2>/dev/null || true)"

check_rc "after the drop: status answers" 0 ctl --json status
check_jq "after the drop: lan present with its address" "$OUT" \
	'.interfaces[] | select(.name == "lan") | .present == true and (.addresses | index("198.51.100.1/24"))'

# Netlink still works for the unprivileged process.
ip -n "$GW" link add veth-late type veth peer name eth1 netns "$PEER"
ip -n "$GW" addr add 100.64.9.1/24 dev veth-late
ip -n "$GW" link set veth-late up
wait_for "after the drop: a new device is followed" bash -c \
	'"$1" -s "$2" --json status | jq -e ".interfaces[] | select(.name == \"late\") | .present and (.addresses | index(\"100.64.9.1/24\"))"' \
	_ "$HOMEGWCTL" "$HGT_SOCK"

# Reload re-reads the file as the unprivileged user.
printf 'user %s\nstate-dir %s\nlog-level debug\ninterface lan { device veth-lan }\ncontrol { socket %s }\n' \
	"$USER_" "$HGT_STATE" "$HGT_SOCK" >"$HGT_CONF"
check_rc "after the drop: reload (by root) exits 0" 0 ctl --json reload
check_jq "after the drop: reload applied" "$(ctl --json status)" '[.interfaces[].name] == ["lan"]'
check_eq "after the reload: still $USER_ with the three capabilities" "$uid 0000000000003400" \
	"$(field Uid | cut -d' ' -f1) $(field CapEff)"

hgt_stop TERM
hgt_done
