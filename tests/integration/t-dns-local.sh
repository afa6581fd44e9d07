#!/usr/bin/env bash
# t-dns-local: the names homegwd answers itself. A DHCP client's hostname
# (udhcpc, option 12) answers as NAME.home.arpa with its PTR while the lease
# is bound and is gone after `lease release`; a dhcp reservation's name, a
# dns `host` statement and a hosts-file line answer too; the local domain is
# authoritative (NXDOMAIN + SOA for unknown names, NODATA for other types,
# never sent upstream); RFC 6303/6761 zones (private reverse, localhost,
# invalid) are answered locally; the default ACL answers the LAN subnet and
# REFUSES others, an explicit `allow` replaces it on reload.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=dns-lib.sh
source "$(dirname "$0")/dns-lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

dns_setup
printf '198.51.100.7 tv tv-alias.example.lan # a comment\n# 198.51.100.8 commented\n' >"$HGT_TMP/hosts"
write_conf() { # EXTRA-DNS-LINES
	hgt_config <<CONF
interface lan { device veth-lan }
interface wan { device veth-wan }
dhcp lan {
	pool 198.51.100.100 198.51.100.199
	lease-time 10m
	host printer { mac 02:00:00:00:00:10; address 198.51.100.10; name printer }
}
dns {
	listen lan
	listen 127.0.0.1
	root-hints $DNS_HINTS
	host nas.home.arpa 198.51.100.5
	hosts-file $HGT_TMP/hosts
	$1
}
CONF
}
write_conf ""
hgt_start "$GW"
hgt_wait_ready

UDHCPC_CONFIGURE=0 udhcpc_run laptop "$LAN" eth0 || fail "udhcpc gets a lease" "$(cat "$(client_dir laptop)/log")"
addr=$(client_get laptop ip)
check_in_pool "udhcpc (hostname laptop) got $addr" "$addr"
IFS=. read -r a b c d <<<"$addr"
rev="$d.$c.$b.$a.in-addr.arpa"

check_answer "the DHCP client's name" laptop.home.arpa A NOERROR "laptop.home.arpa. A $addr"
check_answer "its PTR" "$rev" PTR NOERROR "$rev. PTR laptop.home.arpa."
check_answer "case-insensitive, the client's spelling kept" LaPtoP.Home.ARPA A NOERROR "LaPtoP.Home.ARPA. A $addr"
out=$(dq laptop.home.arpa A)
check_match "local answers are authoritative (aa)" '(^| )aa( |$)' "$(flags "$out")"
check_answer "a reservation's name (dhcp host ... name printer)" printer.home.arpa A NOERROR \
	"printer.home.arpa. A 198.51.100.10"
check_answer "a dns host statement" nas.home.arpa A NOERROR "nas.home.arpa. A 198.51.100.5"
check_answer "its PTR" 5.100.51.198.in-addr.arpa PTR NOERROR "5.100.51.198.in-addr.arpa. PTR nas.home.arpa."
check_answer "a hosts-file name, qualified with the local domain" tv.home.arpa A NOERROR "tv.home.arpa. A 198.51.100.7"
check_answer "a commented hosts-file line is not read" 8.100.51.198.in-addr.arpa PTR NXDOMAIN ""

up0=$(dns_stats | jq '.upstream.queries')
out=$(dq nobody.home.arpa A)
check_eq "an unknown local name: NXDOMAIN" NXDOMAIN "$(rcode "$out")"
check_eq "with the local SOA" SOA "$(authority "$out")"
out=$(dq nas.home.arpa AAAA)
check_eq "a local name, other type: NOERROR" NOERROR "$(rcode "$out")"
check_eq "NODATA (empty answer, SOA)" ":SOA" "$(answers "$out"):$(authority "$out")"
check_answer "RFC 6303: an unknown private reverse name is NXDOMAIN here" 1.0.0.10.in-addr.arpa PTR NXDOMAIN ""
check_answer "RFC 6761: localhost" localhost A NOERROR "localhost. A 127.0.0.1"
check_answer "RFC 6761: invalid" foo.invalid A NXDOMAIN ""
check_eq "none of those went upstream" "$up0" "$(dns_stats | jq '.upstream.queries')"
check_jq "dns stats counts the local answers" "$(dns_stats)" '.local >= 9'

# The lease ends: the name goes.
check_rc "lease release $addr" 0 ctl lease release "$addr"
check_answer "after the release: NXDOMAIN" laptop.home.arpa A NXDOMAIN ""
check_answer "and no PTR" "$rev" PTR NXDOMAIN ""

# ACL: a client from another subnet (100.64.0.2 on the same link, routed back).
ip -n "$LAN" addr add 100.64.0.2/24 dev eth0
ip -n "$GW" route add 100.64.0.0/24 via "$CLIENT"
check_answer "default ACL: the LAN subnet is answered" nas.home.arpa A NOERROR ""
check_answer "default ACL: another subnet is REFUSED" nas.home.arpa A REFUSED "" -b 100.64.0.2
write_conf "allow 100.64.0.0/24"
check_rc "reload with allow 100.64.0.0/24" 0 ctl reload
check_answer "explicit allow: 100.64.0.2 is answered" nas.home.arpa A NOERROR "" -b 100.64.0.2
check_answer "explicit allow replaces the default: the LAN subnet is REFUSED" nas.home.arpa A REFUSED ""
check_jq "dns stats counts REFUSED" "$(dns_stats)" '.answers.refused >= 2'

hgt_stop
hgt_done
