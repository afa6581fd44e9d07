#!/usr/bin/env bash
# t-dns-recursive: homegwd resolves from the lab's own root (nsd roots, TLDs,
# auth servers in the simulated internet) for a LAN client asking with dig:
# A, AAAA, MX, an in-zone CNAME, a CNAME chain across three zones, DNAME,
# wildcard, NXDOMAIN and NODATA with the SOA, a delegation whose NS has no
# glue, a big answer that needs TCP (TC over UDP), a lame and an unreachable
# delegation (SERVFAIL, not a hang), a CNAME loop; cache hits proven with
# every auth server stopped; a root server down (the other one answers);
# TCP from the client; the cache survives a reload; `dns cache`, `dns flush`.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=dns-lib.sh
source "$(dirname "$0")/dns-lib.sh"

dns_setup
hgt_config <<CONF
interface lan { device veth-lan }
interface wan { device veth-wan }
dns {
	listen lan
	listen 127.0.0.1
	root-hints $DNS_HINTS
}
CONF
hgt_start "$GW"
hgt_wait_ready
check_jq "dns runs" "$(ctl --json status)" '.modules.dns.running == true'

Z=homegw-lab.example
check_answer "A from the lab hierarchy" host.$Z A NOERROR "host.$Z. A 198.18.3.10"
check_answer "AAAA" host.$Z AAAA NOERROR "host.$Z. AAAA 2001:db8:3::10"
check_answer "MX" $Z MX NOERROR "$Z. MX 10 mail.$Z."
check_answer "in-zone CNAME: CNAME + A" alias.$Z A NOERROR "alias.$Z. CNAME host.$Z.
host.$Z. A 198.18.3.10"
check_answer "CNAME chain across three zones (other.example behind an out-of-zone NS, homegw-lab.test)" \
	chain.$Z A NOERROR "chain.$Z. CNAME hop.other.example.
hop.other.example. CNAME end.homegw-lab.test.
end.homegw-lab.test. A 198.18.3.51"
out=$(dq www.legacy.$Z A)
check_eq "DNAME: NOERROR" NOERROR "$(rcode "$out")"
check_contains "DNAME: the final A 198.18.3.50" "www.homegw-lab.test. A 198.18.3.50" "$(answers "$out")"
check_answer "wildcard" anything.wild.$Z A NOERROR "anything.wild.$Z. A 198.18.3.30"
check_answer "explicit name beside a wildcard" explicit.wild.$Z A NOERROR "explicit.wild.$Z. A 198.18.3.31"
out=$(dq nx.$Z A)
check_eq "NXDOMAIN" NXDOMAIN "$(rcode "$out")"
check_eq "NXDOMAIN carries the zone's SOA" "SOA" "$(authority "$out")"
out=$(dq nodata.$Z A)
check_eq "NODATA: NOERROR" NOERROR "$(rcode "$out")"
check_eq "NODATA: empty answer" "" "$(answers "$out")"
check_eq "NODATA: the SOA in authority" "SOA" "$(authority "$out")"
check_answer "delegation without glue (NS ns.dns-host.test.)" www.other.example A NOERROR \
	"www.other.example. A 198.18.3.20"
out=$(dq +ignore +bufsize=1232 big.$Z A)
check_match "a big answer over UDP from homegwd is truncated for the client (TC)" '(^| )tc( |$)' "$(flags "$out")"
out=$(dq +tcp big.$Z A)
check_eq "the same over TCP: all 100 records (homegwd fetched them over TCP upstream)" 100 \
	"$(answers "$out" | grep -c ' A 198\.18\.4\.')"
check_answer "TXT of two strings (~470 bytes)" lab._domainkey.$Z TXT NOERROR ""
check_answer "lame delegation (REFUSED upstream): SERVFAIL" www.lame.example A SERVFAIL ""
check_answer "unreachable delegation (timeouts): SERVFAIL, not a hang" www.unreachable.example A SERVFAIL "" +time=15
check_answer "CNAME loop: SERVFAIL" loop1.$Z A SERVFAIL ""
check_answer "reverse zone of the lab (18.198.in-addr.arpa)" 1.1.18.198.in-addr.arpa PTR NOERROR ""

check_answer "a TTL-1 name, resolved while its servers are up" short-ttl.$Z A NOERROR "short-ttl.$Z. A 198.18.3.40"
up0=$(dns_stats | jq '.upstream.queries')
# Every auth server down: what was asked is answered from the cache alone.
internet_server_stop "$DNS_RUN" auth-a
internet_server_stop "$DNS_RUN" auth-b
internet_server_stop "$DNS_RUN" other
check_answer "cache hit with the auth servers stopped: A" host.$Z A NOERROR "host.$Z. A 198.18.3.10"
check_answer "cache hit: the CNAME chain" chain.$Z A NOERROR "chain.$Z. CNAME hop.other.example.
hop.other.example. CNAME end.homegw-lab.test.
end.homegw-lab.test. A 198.18.3.51"
check_answer "cache hit: NXDOMAIN (negative caching)" nx.$Z A NXDOMAIN ""
check_answer "cache hit: NODATA" nodata.$Z A NOERROR ""
check_eq "no upstream query for the cache hits" "$up0" "$(dns_stats | jq '.upstream.queries')"
out=$(dq host.$Z A)
ttl=$(first_ttl "$out")
if [[ $ttl =~ ^[0-9]+$ ]] && ((ttl <= 3600)); then pass "a cached answer's TTL counts down ($ttl <= 3600)"; else
	fail "a cached answer's TTL counts down" "$out"
fi
check_jq "dns cache NAME lists the cached A" "$(ctl --json dns cache host.$Z)" \
	'any(.records[]; .name == "host.homegw-lab.example." and .type == "A" and .data == "198.18.3.10")'
check_jq "dns stats: cache hits counted" "$(dns_stats)" '.cache.hits >= 4'
# serve-stale (RFC 8767): once the TTL-1 answer has expired and its servers
# cannot be reached, the stale answer is given with TTL 30.
sleep 2 # the record's own TTL must run out: a precondition, not a timing check
out=$(dq +time=15 short-ttl.$Z A)
check_eq "serve-stale: expired and the servers down, the stale answer" "short-ttl.$Z. A 198.18.3.40" "$(answers "$out")"
check_eq "serve-stale: with TTL 30" 30 "$(first_ttl "$out")"
check_jq "serve-stale: counted" "$(dns_stats)" '.cache.stale_answers >= 1'

# The cache survives a reload.
check_rc "reload" 0 ctl reload
check_answer "after a reload: still a cache hit" host.$Z A NOERROR "host.$Z. A 198.18.3.10"

# dns flush NAME drops it; with the servers down the resolver cannot get it back.
check_rc "dns flush host.$Z" 0 ctl dns flush host.$Z
check_answer "flushed and the servers down: SERVFAIL" host.$Z A SERVFAIL "" +time=15
internet_server_start "$INET" "$DNS_RUN" auth-a >/dev/null 2>&1 || fail "auth-a restarts"
check_answer "auth-a back: resolved again" host.$Z A NOERROR "host.$Z. A 198.18.3.10"

# A root server down: the other root answers (fresh cache).
check_rc "dns flush (everything)" 0 ctl dns flush
internet_server_stop "$DNS_RUN" root-a
check_answer "root-a down, root-b answers" host.$Z A NOERROR "host.$Z. A 198.18.3.10" +time=15
out=$(dq_gw host.$Z A)
check_eq "on 127.0.0.1: NOERROR" NOERROR "$(rcode "$out")"

# The WAN link goes down and up: what was learnt about servers is forgotten.
check_jq "servers are known before the WAN flap" "$(dns_stats)" '(.upstream.servers | length) > 0'
ip -n "$GW" link set veth-wan down
ip -n "$GW" link set veth-wan up
ip -n "$GW" route replace 198.18.0.0/15 via 203.0.113.1
servers_forgotten() { [[ $(dns_stats | jq '.upstream.servers | length') == 0 ]]; }
wait_for "after the WAN came up again, the server list is forgotten" servers_forgotten
check_answer "and resolving works again" host.$Z A NOERROR "host.$Z. A 198.18.3.10"
hgt_stop
hgt_done
