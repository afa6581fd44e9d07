#!/usr/bin/env bash
# t-admin: the control socket is 0660 with `control { group }` as its group;
# a user of that group may read (status) but not change (reload) anything;
# root may; a user outside the group cannot connect at all.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

GROUP=hgtest
MEMBER=hgt-m$$
STRANGER=hgt-s$$
hgt_group "$GROUP"
hgt_user "$MEMBER" "$GROUP"
hgt_user "$STRANGER"

GW=$HGT_PREFIX-gw
PEER=$HGT_PREFIX-peer
hgt_netns "$GW"
hgt_netns "$PEER"
hgt_veth "$GW" veth-lan "$PEER" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24

hgt_config <<EOF
interface lan { device veth-lan }
control {
	socket $HGT_SOCK
	group $GROUP
}
EOF
hgt_start "$GW"
hgt_wait_ready

check_eq "socket mode 0660, group $GROUP" "660 $GROUP" "$(stat -c '%a %G' "$HGT_SOCK")"

# ---- a member of the group ----
check_rc "member of $GROUP: status exits 0" 0 ctl_as "$MEMBER" --json status
check_jq "member of $GROUP: status is ok:true" "$OUT" '.ok == true and (.interfaces | length == 1)'
check_rc "member of $GROUP: reload exits 1" 1 ctl_as "$MEMBER" reload
check_contains "member of $GROUP: reload says permission denied" "permission denied" "$ERR"
check_rc "member of $GROUP: reload --json exits 1" 1 ctl_as "$MEMBER" --json reload
check_jq "member of $GROUP: reload answer" "$OUT" '. == {"ok":false,"error":"permission denied"}'
# The same on a raw connection: the refusal does not end it.
answers=$(printf 'reload\nstatus\n' | as_user "$MEMBER" timeout 20 socat -t 5 - "UNIX-CONNECT:$HGT_SOCK")
check_jq "member of $GROUP, one connection: reload refused, then status answered" "$answers" \
	'length == 2 and .[0].ok == false and .[0].error == "permission denied" and .[1].ok == true' -s

# ---- root ----
check_rc "root: reload exits 0" 0 ctl --json reload
check_jq "root: reload is ok:true" "$OUT" '.ok == true'

# ---- someone outside the group ----
check_rc "not in $GROUP: homegwctl cannot connect, exits 2" 2 ctl_as "$STRANGER" status
check_contains "not in $GROUP: the error names the socket" "$HGT_SOCK" "$ERR"

# ---- the daemon not running ----
hgt_stop TERM
check_rc "daemon stopped: homegwctl exits 2" 2 ctl status
check_contains "daemon stopped: the error names the socket" "$HGT_SOCK" "$ERR"

hgt_done
