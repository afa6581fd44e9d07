#!/usr/bin/env bash
# t-dns-forward: `forward` sends every query (RD set) to the listed servers
# with failover (the first one never answers: 198.18.9.9 swallows packets);
# `forward-zone` sends one zone elsewhere (split DNS) and wins over
# `forward`; the forwarders here are the lab's nsd auth servers, which answer
# their own zones. A reload switches from recursion to forwarding with the
# cache kept.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=dns-lib.sh
source "$(dirname "$0")/dns-lib.sh"

dns_setup
write_conf() { # DNS-LINES
	hgt_config <<CONF
interface lan { device veth-lan }
dns {
	listen lan
	root-hints $DNS_HINTS
	$1
}
CONF
}
write_conf "forward 198.18.9.9 198.18.1.1
	forward-zone homegw-lab.test 198.18.1.2"
hgt_start "$GW"
hgt_wait_ready
Z=homegw-lab.example
check_answer "forward: answered (198.18.9.9 never answers, 198.18.1.1 does)" host.$Z A NOERROR \
	"host.$Z. A 198.18.3.10" +time=15
# Which forwarder goes first is the RTT-based choice's (an untried server is
# explored at random): ask new names until the dead one has been tried; each
# is still answered, through the other (a dozen tries: 1 in 4096 to never try it).
bad=0
for i in $(seq 1 12); do
	out=$(dq +time=15 "f$i.wild.$Z" A)
	[[ $(rcode "$out") == NOERROR && $(answers "$out") == "f$i.wild.$Z. A 198.18.3.30" ]] || bad=$((bad + 1))
	[[ $(dns_stats | jq '.upstream.timeouts') == 0 ]] || break
done
check_eq "forward: every name answered while the dead forwarder was tried" 0 "$bad"
check_jq "forward: the dead forwarder timed out (failover)" "$(dns_stats)" \
	'.upstream.timeouts >= 1 and any(.upstream.servers[]; .address == "198.18.9.9" and .timeouts >= 1)'
internet_server_stop "$DNS_RUN" auth-a
check_answer "forward-zone homegw-lab.test goes to auth-b (auth-a, the forwarder, is down)" \
	www.homegw-lab.test A NOERROR "www.homegw-lab.test. A 198.18.3.50"
check_answer "forward: with auth-a down, names outside the forward-zone fail" mail.$Z A SERVFAIL "" +time=20
check_answer "forward: a cached name still answers" host.$Z A NOERROR "host.$Z. A 198.18.3.10"
internet_server_start "$INET" "$DNS_RUN" auth-a >/dev/null 2>&1 || fail "auth-a restarts"

# From forwarding to recursion on reload: the cache stays.
write_conf ""
check_rc "reload: no forward (recursion from the lab root)" 0 ctl reload
check_answer "after the reload: the cached name" host.$Z A NOERROR "host.$Z. A 198.18.3.10"
check_answer "after the reload: recursion (a name behind an out-of-zone NS)" www.other.example A NOERROR \
	"www.other.example. A 198.18.3.20"
hgt_stop
hgt_done
