#!/usr/bin/env bash
# t-reload: a good change is adopted and reported; a broken file is refused
# whole (by `homegwctl reload` and by SIGHUP) and the daemon keeps running on
# the old config; fixing the file makes reload work again.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

GW=$HGT_PREFIX-gw
PEER=$HGT_PREFIX-peer
hgt_netns "$GW"
hgt_netns "$PEER"
hgt_veth "$GW" veth-lan "$PEER" eth0
hgt_veth "$GW" veth-wan "$PEER" eth1
hgt_addr "$GW" veth-lan 198.51.100.1/24
hgt_addr "$GW" veth-wan 203.0.113.2/24

hgt_config <<'EOF'
interface lan { device veth-lan }
EOF
good_v1=$(<"$HGT_CONF")
hgt_start "$GW"
hgt_wait_ready
check_jq "v1: only lan is configured" "$(ctl --json status)" '[.interfaces[].name] == ["lan"]'
loaded_v1=$(status_field .config.loaded_at)

# loaded_at counts seconds: let one pass so a reload that should not have
# happened (or should have) shows in it.
sleep 1.1

# ---- a good change ----
printf '%s\ninterface wan { device veth-wan }\n' "$good_v1" >"$HGT_CONF"
good_v2=$(<"$HGT_CONF")
check_rc "reload of a good change: exit 0" 0 ctl --json reload
check_jq "reload of a good change: ok:true with a non-empty changed list" "$OUT" \
	'.ok == true and (.changed | type == "array" and length > 0)'
status=$(ctl --json status)
check_jq "after the good reload: lan and wan" "$status" '[.interfaces[].name] | sort == ["lan","wan"]'
check_jq "after the good reload: wan is veth-wan with its address" "$status" \
	'.interfaces[] | select(.name == "wan") | .device == "veth-wan" and .present == true and (.addresses | index("203.0.113.2/24"))'
loaded_v2=$(jq .config.loaded_at <<<"$status")
check_jq "after the good reload: loaded_at moved forward" "$status" '.config.loaded_at > $t' --argjson t "$loaded_v1"

# ---- the same file again: nothing changed ----
check_rc "reload of the same file: exit 0" 0 ctl --json reload
check_jq "reload of the same file: changed is empty" "$OUT" '.ok == true and .changed == []'
# It was loaded all the same: the config in force is from now on this load.
loaded_v2=$(status_field .config.loaded_at)

sleep 1.1

# ---- a broken file: refused whole ----
printf '%s\ninterface dmz { device veth-dmz; colour blue }\nfrobnicate yes\n' "$good_v2" >"$HGT_CONF"
conf_re=$(re_quote "$HGT_CONF")
check_rc "reload of a broken file: homegwctl exits 1" 1 ctl reload
check_contains "reload of a broken file: homegwctl says how many errors" "config has 2 errors" "$ERR"
check_match "reload of a broken file: homegwctl prints the errors with FILE:LINE:COL" \
	"(^|$NL)$conf_re:[0-9]+:[0-9]+: [^$NL]*frobnicate" "$ERR"
check_rc "reload of a broken file (--json): exit 1" 1 ctl --json reload
check_jq "reload of a broken file (--json): ok:false, \"config has 2 errors\", both listed" "$OUT" \
	'.ok == false and .error == "config has 2 errors" and (.errors | length == 2 and all(test("^" + $f + ":[0-9]+:[0-9]+: ")))' \
	--arg f "$conf_re"
status=$(ctl --json status)
check_jq "after the refused reload: still lan and wan, no dmz" "$status" '[.interfaces[].name] | sort == ["lan","wan"]'
check_jq "after the refused reload: loaded_at unchanged" "$status" '.config.loaded_at == $t' --argjson t "$loaded_v2"

# ---- SIGHUP with the broken file ----
count_errors() { grep -c -E "$conf_re:[0-9]+:[0-9]+: .*colour" "$HGT_LOG" || true; }
more_errors_than() { (($(count_errors) > $1)); }
before=$(count_errors)
kill -HUP "$HGT_PID"
wait_for "SIGHUP with a broken file: the errors are logged" more_errors_than "$before"
wait_for "SIGHUP with a broken file: the daemon is still running and answers" ctl --json status
status=$(ctl --json status)
check_jq "after SIGHUP with a broken file: old config still in force" "$status" \
	'([.interfaces[].name] | sort == ["lan","wan"]) and .config.loaded_at == $t' --argjson t "$loaded_v2"

# ---- fixed: reload works again ----
printf '%s\ninterface dmz { device veth-dmz }\n' "$good_v2" >"$HGT_CONF"
check_rc "reload of the fixed file: exit 0" 0 ctl --json reload
check_jq "reload of the fixed file: ok:true" "$OUT" '.ok == true and (.changed | length > 0)'
status=$(ctl --json status)
check_jq "after the fix: dmz configured, absent (no such device)" "$status" \
	'.interfaces[] | select(.name == "dmz") | .device == "veth-dmz" and .present == false'
check_jq "after the fix: loaded_at moved forward" "$status" '.config.loaded_at > $t' --argjson t "$loaded_v2"

# ---- SIGHUP with a good change ----
printf '%s\n' "$good_v1" >"$HGT_CONF"
kill -HUP "$HGT_PID"
wait_for "SIGHUP with a good change: adopted (only lan left)" \
	bash -c '"$1" -s "$2" --json status | jq -e "[.interfaces[].name] == [\"lan\"]"' _ "$HOMEGWCTL" "$HGT_SOCK"

hgt_stop TERM
hgt_done
