#!/usr/bin/env bash
# t-start-status: homegwd starts in a namespace with a LAN and a WAN link;
# `status` reports exactly what the kernel says about them, in JSON and as a
# table; one connection carries many commands; malformed lines get ok:false
# and leave the connection usable; a client that never reads is dropped
# without stalling anyone else.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

GW=$HGT_PREFIX-gw
LAN=$HGT_PREFIX-lan
WAN=$HGT_PREFIX-wan
hgt_netns "$GW"
hgt_netns "$LAN"
hgt_netns "$WAN"
hgt_veth "$GW" veth-lan "$LAN" eth0
hgt_veth "$GW" veth-wan "$WAN" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24
hgt_addr "$GW" veth-lan 100.64.1.1/24
hgt_addr "$GW" veth-wan 203.0.113.2/24
hgt_addr "$LAN" eth0 198.51.100.100/24
hgt_addr "$WAN" eth0 203.0.113.1/24

hgt_config <<'EOF'
interface lan { device veth-lan }
interface wan { device veth-wan }
EOF
before=$(date +%s)
hgt_start "$GW"
hgt_wait_ready

# ---- status --json ----
json=$(ctl --json status)
check_jq "status: ok is true" "$json" '.ok == true'
check_jq "status: version 0.1.0" "$json" '.version == "0.1.0"'
check_jq "status: uptime is a small non-negative number" "$json" '.uptime | type == "number" and . >= 0 and . < 60'
check_jq "status: config.path is the file given with -c" "$json" '.config.path == $p' --arg p "$HGT_CONF"
check_jq "status: config.loaded_at is the start time" "$json" \
	'.config.loaded_at | type == "number" and . >= $t0 and . <= $t0 + 60' --argjson t0 "$before"
check_jq "status: exactly the two configured interfaces" "$json" '[.interfaces[].name] | sort == ["lan","wan"]'
check_jq "status: modules is an object" "$json" '.modules | type == "object"'

for pair in lan:veth-lan wan:veth-wan; do
	name=${pair%%:*}
	dev=${pair#*:}
	ifindex=$(ip_ifindex "$GW" "$dev")
	addrs=$(ip_addrs_json "$GW" "$dev")
	check_jq "status: $name is $dev, ifindex $ifindex (as ip says), present and up" "$json" \
		'.interfaces[] | select(.name == $n) | .device == $d and .ifindex == $i and .present == true and .up == true' \
		--arg n "$name" --arg d "$dev" --argjson i "$ifindex"
	check_jq "status: $name has the addresses ip says: $addrs" "$json" \
		'[.interfaces[] | select(.name == $n) | .addresses[] | select(contains("."))] | sort == $a' \
		--arg n "$name" --argjson a "$addrs"
done

# ---- the table ----
table=$(ctl status)
check_contains "table: shows the version" "0.1.0" "$table"
check_match "table: a row for lan on veth-lan" $'(^|\n)[^\n]*lan[^\n]*veth-lan' "$table"
check_match "table: a row for wan on veth-wan" $'(^|\n)[^\n]*wan[^\n]*veth-wan' "$table"
for a in 198.51.100.1/24 100.64.1.1/24 203.0.113.2/24; do
	check_contains "table: shows $a" "$a" "$table"
done
check_rc "homegwctl --json status exits 0" 0 ctl --json status

# ---- many commands on one connection ----
answers=$(printf 'status\nstatus\nstatus\n' | raw_lines)
check_eq "one connection: three commands, three answers" 3 "$(wc -l <<<"$answers")"
check_jq "one connection: every answer is ok:true" "$answers" 'length == 3 and all(.ok == true)' -s

# ---- malformed lines, then a good one, on one connection ----
answers=$({
	printf '\xff\xfe status\n'
	head -c 5000 /dev/zero | tr '\0' 'a'
	printf '\n'
	printf 'frobnicate\n'
	printf 'status too many args\n'
	printf 'status\n'
} | raw_lines)
check_eq "malformed: five lines, five answers" 5 "$(wc -l <<<"$answers")"
check_jq "malformed: non-UTF-8 line gets ok:false naming UTF-8" "$answers" \
	'.[0].ok == false and (.[0].error | test("utf-?8"; "i"))' -s
check_jq "malformed: 5000-byte line gets ok:false saying it is too long" "$answers" \
	'.[1].ok == false and (.[1].error | test("long|4096|4 ?KiB"; "i"))' -s
check_jq "malformed: unknown command gets ok:false naming it" "$answers" \
	'.[2].ok == false and (.[2].error | test("frobnicate"))' -s
check_jq "malformed: wrong arguments get ok:false" "$answers" '.[3].ok == false and (.[3].error | length > 0)' -s
check_jq "malformed: the same connection still answers status" "$answers" '.[4].ok == true and .[4].version == "0.1.0"' -s

# ---- a client that writes and never reads ----
# CONTROL.md: the output buffer is bounded and such a client is dropped; the
# loop never blocks on it, so others are answered meanwhile.
cat >"$HGT_TMP/noread.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(1.0)
chunk = b"status\n" * 4096
deadline = time.monotonic() + 30
open(sys.argv[2], "w").close()  # "connected and writing"
while time.monotonic() < deadline:
    try:
        s.send(chunk)
    except socket.timeout:
        continue  # the daemon reads no more just now; keep pushing
    except (BrokenPipeError, ConnectionResetError):
        print("dropped")
        sys.exit(0)
print("not dropped after 30s")
EOF
python3 "$HGT_TMP/noread.py" "$HGT_SOCK" "$HGT_TMP/noread.started" >"$HGT_TMP/noread.out" 2>&1 &
noread=$!
HGT_HELPERS+=("$noread")
wait_for "non-reading client: started" test -e "$HGT_TMP/noread.started"
check_rc "non-reading client: another client is answered meanwhile" 0 timeout 10 "$HOMEGWCTL" -s "$HGT_SOCK" status
wait "$noread" || true
check_eq "non-reading client: the daemon drops it" "dropped" "$(cat "$HGT_TMP/noread.out")"
check_rc "after the dropped client: status still answers" 0 ctl --json status

hgt_stop TERM
hgt_done
