#!/usr/bin/env bash
# t-dns-spoof: an off-path attacker in the lab internet (dns-spoofer.py)
# sees homegwd's queries to 198.18.9.9 (the unreachable.example server,
# which never answers) and races forged answers in: a wrong ID, a wrong
# source port, a wrong source address, a wrong question. None is taken: the
# client gets SERVFAIL, never the forged address, and the resolver counts the
# forgeries that reached it (the kernel drops the wrong port and address on
# the connect()ed socket before they do). Then the control: the attacker
# also sends one forgery that matches everything (what an attacker who
# guessed the port and ID would send) and that one is taken — the check
# above could fail.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=dns-lib.sh
source "$(dirname "$0")/dns-lib.sh"
command -v python3 >/dev/null || fatal "python3 is installed"

dns_setup
hgt_config <<CONF
interface lan { device veth-lan }
dns {
	listen lan
	root-hints $DNS_HINTS
	serve-stale no
}
CONF
hgt_start "$GW"
hgt_wait_ready

echo reject >"$HGT_TMP/spoof.mode"
echo 0 >"$HGT_TMP/spoof.count"
hgt_helper ip netns exec "$INET" python3 "$HGT_ROOT/tests/integration/dns-spoofer.py" veth-inet 198.18.9.9 \
	198.18.66.66 "$HGT_TMP/spoof.mode" "$HGT_TMP/spoof.count"

out=$(dq +time=20 www.unreachable.example A)
check_eq "forged answers (wrong ID, port, address, question): the client gets SERVFAIL" SERVFAIL "$(rcode "$out")"
check_not_contains "the forged address never reaches the client" 198.18.66.66 "$out"
seen=$(<"$HGT_TMP/spoof.count")
if ((seen >= 1)); then pass "the attacker saw homegwd's queries to 198.18.9.9 ($seen) and answered them"; else
	fail "the attacker saw homegwd's queries" "count: $seen"
fi
check_jq "the resolver counted the forgeries that reached it (wrong ID, wrong question)" "$(dns_stats)" \
	".upstream.rejected >= 2 * $seen"
check_not_contains "the forged address is not in the cache" 198.18.66.66 "$(ctl --json dns cache)"

# The control: a forgery matching ID, port, address and question is taken.
echo all >"$HGT_TMP/spoof.mode"
check_rc "dns flush" 0 ctl dns flush
out=$(dq +time=20 www2.unreachable.example A)
check_contains "control: a forgery that matches everything is taken (so the checks above can fail)" \
	"198.18.66.66" "$(answers "$out")"
hgt_stop
hgt_done
