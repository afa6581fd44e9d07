# shellcheck shell=bash
# dns-lib.sh — the network of the dns tests (sourced after lib.sh):
#
#   $LAN (client, eth0 198.51.100.2/24)
#     └─ veth ─ $GW (homegwd: veth-lan 198.51.100.1/24, veth-wan 203.0.113.2/24,
#                    route 198.18.0.0/15 via the internet)
#                 └─ veth ─ $INET (203.0.113.1/24; the lab's simulated internet:
#                                  nsd roots, TLDs and auth servers on 198.18.x.x)
#
# The resolver walks the lab's own hierarchy from $DNS_HINTS (written by
# internet_up); nothing reaches a real address. Queries go from the client
# with dig.

# shellcheck source=../../scripts/lab-internet.sh
source "$HGT_ROOT/scripts/lab-internet.sh"

INET=$HGT_PREFIX-inet
GW=$HGT_PREFIX-gw
LAN=$HGT_PREFIX-lan
GW_LAN=198.51.100.1
CLIENT=198.51.100.2
DNS_RUN=$HGT_TMP/inet
DNS_HINTS=$DNS_RUN/root.hints

for _tool in dig nsd jq; do
	command -v "$_tool" >/dev/null || fatal "$_tool is installed" "missing: $_tool"
done
unset _tool

dns_setup() {
	hgt_netns "$INET"
	hgt_netns "$GW"
	hgt_netns "$LAN"
	hgt_veth "$GW" veth-wan "$INET" veth-inet
	hgt_addr "$GW" veth-wan 203.0.113.2/24
	hgt_addr "$INET" veth-inet 203.0.113.1/24
	ip -n "$GW" route add 198.18.0.0/15 via 203.0.113.1
	hgt_veth "$GW" veth-lan "$LAN" eth0
	hgt_addr "$GW" veth-lan "$GW_LAN/24"
	hgt_addr "$LAN" eth0 "$CLIENT/24"
	mkdir -p "$DNS_RUN"
	internet_up "$INET" "$DNS_RUN" >"$HGT_TMP/internet.log" 2>&1 ||
		fatal "the lab internet comes up (nsd)" "$(tail -n 20 "$HGT_TMP/internet.log")"
	pass "the lab internet is up (nsd roots, TLDs, auth servers)"
}

# dq [DIG-ARGS...]: dig from the client to homegwd (5 s, one try).
dq() { ip netns exec "$LAN" dig @"$GW_LAN" +time=5 +tries=1 "$@" 2>&1; }
# dq_gw: the same from the gateway itself, to 127.0.0.1.
dq_gw() { ip netns exec "$GW" dig @127.0.0.1 +time=5 +tries=1 "$@" 2>&1; }

# The rcode of a dig output ("NOERROR", "NXDOMAIN", ...; "" when no answer).
rcode() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n 1; }
# The answer section's records as "NAME TYPE DATA", one per line, sorted (TTL dropped).
answers() {
	awk '/^;; ANSWER SECTION:/ { a = 1; next } /^$/ { a = 0 } a && !/^;/ { $2 = ""; $3 = ""; print }' <<<"$1" |
		sed 's/  */ /g' | sort
}
# The TTL of the first answer record.
first_ttl() { awk '/^;; ANSWER SECTION:/ { getline; print $2; exit }' <<<"$1"; }
authority() { awk '/^;; AUTHORITY SECTION:/ { a = 1; next } /^$/ { a = 0 } a && !/^;/ { print $4 }' <<<"$1"; }
flags() { sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$1" | head -n 1; }

# check_answer DESC NAME TYPE RCODE [EXPECTED-ANSWERS (one string, lines)] [DIG-ARGS...]
check_answer() {
	local desc=$1 name=$2 type=$3 want_rc=$4 want=${5-} out got
	shift 5 || shift $#
	out=$(dq "$@" "$name" "$type")
	got=$(rcode "$out")
	if [[ $got != "$want_rc" ]]; then
		fail "$desc" "dig $name $type: rcode $got, expected $want_rc" "$out"
		return 0
	fi
	if [[ -n $want && $(answers "$out") != "$(sort <<<"$want")" ]]; then
		fail "$desc" "dig $name $type: answer differs" "expected:" "$(sort <<<"$want")" "got:" "$(answers "$out")"
		return 0
	fi
	pass "$desc"
}

dns_stats() { ctl --json dns stats; }
