#!/usr/bin/env bash
# t-lab-internet.sh — the lab's simulated internet (scripts/lab-internet.sh):
# its nsd servers come up, the DNS hierarchy can be walked by hand from the
# root with non-recursive queries, every server listens on 198.18.0.0/15 only,
# and internet_down leaves no nsd behind.
#
# Self-contained (needs no homegw binary): two namespaces of its own,
# hgt-<pid>-inet and hgt-<pid>-client, joined by a veth made inside them
# (client 203.0.113.2/24, default route via the internet side 203.0.113.1/24).
# Every query goes from the client namespace to 198.18.x.x inside the
# internet namespace; nothing touches the host's network.
#
# Output: "ok - ..." / "not ok - ..." per check (details indented below),
# then "PASS t-lab-internet (N checks)" or "FAIL t-lab-internet (...)";
# exit status 0 only when every check passed. HGT_KEEP=1 keeps the run dir.
# Needs root, ip, nsd and dig (bind9-dnsutils).
#
# The conditions given to expect are single-quoted on purpose (eval'd there),
# so shellcheck sees neither their expansions nor the variables they read.
# shellcheck disable=SC2016,SC2034
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NAME=$(basename "$0" .sh)
PREFIX=hgt-$$
NS_INET=$PREFIX-inet
NS_CLIENT=$PREFIX-client
RUN=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
CHECKS=0
FAILS=0
DONE=0
MADE_NS=()
UP=0

# shellcheck source=SCRIPTDIR/../../scripts/lab-internet.sh
source "$ROOT/scripts/lab-internet.sh"

pass() {
	CHECKS=$((CHECKS + 1))
	printf 'ok - %s\n' "$1"
}

fail() { # DESC [DETAIL-LINES...]
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	printf 'not ok - %s\n' "$1"
	shift
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/#     /'
	done
}

fatal() {
	fail "$@"
	exit 1
}

cleanup() {
	local rc=$? ns
	trap - EXIT
	set +e
	if ((UP)); then
		internet_down "$NS_INET" "$RUN" >/dev/null 2>&1
	fi
	for ns in "${MADE_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if ((FAILS == 0 && DONE && rc == 0)); then
		if [[ ${HGT_KEEP:-0} == 1 ]]; then
			printf '# kept %s\n' "$RUN"
		else
			rm -rf "$RUN"
		fi
		printf 'PASS %s (%d checks)\n' "$NAME" "$CHECKS"
		exit 0
	fi
	printf '# run dir kept: %s\n' "$RUN"
	if ((!DONE && FAILS == 0)); then
		printf 'FAIL %s (stopped early, exit status %d, after %d checks)\n' "$NAME" "$rc" "$CHECKS"
	else
		printf 'FAIL %s (%d of %d checks failed)\n' "$NAME" "$FAILS" "$CHECKS"
	fi
	exit 1
}
trap cleanup EXIT

[[ $(id -u) -eq 0 ]] || fatal "runs as root (network namespaces)"
for tool in ip nsd dig ss; do
	command -v "$tool" >/dev/null 2>&1 || fatal "$tool is installed (scripts/deps.sh)"
done

# ---- the two namespaces --------------------------------------------------

mkns() {
	ip netns add "$1"
	MADE_NS+=("$1")
	ip -n "$1" link set lo up
	# IPv4 only, as the lab: no link-local addresses appearing under ss.
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
mkns "$NS_INET"
mkns "$NS_CLIENT"
# Made inside the namespaces: no name ever appears in the host's namespace.
ip -n "$NS_INET" link add up0 type veth peer name wan0 netns "$NS_CLIENT"
ip -n "$NS_INET" addr add 203.0.113.1/24 dev up0
ip -n "$NS_CLIENT" addr add 203.0.113.2/24 dev wan0
ip -n "$NS_INET" link set up0 up
ip -n "$NS_CLIENT" link set wan0 up
ip -n "$NS_CLIENT" route add default via 203.0.113.1

# ---- up ------------------------------------------------------------------

UP=1
if internet_up "$NS_INET" "$RUN" 2>"$RUN/up.err"; then
	pass "internet_up $NS_INET $RUN"
else
	fatal "internet_up $NS_INET $RUN" "$(cat "$RUN/up.err")"
fi

hints=$(<"$RUN/root.hints")
if [[ $hints =~ (^|$'\n')\.[[:space:]]+3600000[[:space:]]+NS[[:space:]]+a\.root-servers\.lab\. &&
	$hints =~ (^|$'\n')a\.root-servers\.lab\.[[:space:]]+3600000[[:space:]]+A[[:space:]]+198\.18\.0\.1($'\n'|$) &&
	$hints =~ (^|$'\n')b\.root-servers\.lab\.[[:space:]]+3600000[[:space:]]+A[[:space:]]+198\.18\.0\.2($'\n'|$) ]]; then
	pass "root.hints names a.root-servers.lab. 198.18.0.1 and b.root-servers.lab. 198.18.0.2"
else
	fail "root.hints names both roots" "got: $hints"
fi

# ---- walking the hierarchy by hand ---------------------------------------

# q SERVER ARGS...: one non-recursive dig from the client namespace; the
# whole answer in $OUT.
q() {
	local server=$1
	shift
	OUT=$(ip netns exec "$NS_CLIENT" dig +norecurse +time=2 +tries=1 +nocookie "@$server" "$@" 2>&1) || true
}

# section NAME: the records of one section of $OUT, whitespace squeezed to
# one space ("owner ttl IN type rdata").
section() {
	awk -v want=";; $1 SECTION:" '
		$0 == want { on = 1; next }
		on && /^$/ { exit }
		on { $1 = $1; print }' <<<"$OUT"
}

flags() { sed -n 's/^;; flags: \([^;]*\);.*/\1/p' <<<"$OUT"; }
status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$OUT"; }
has_flag() { [[ " $(flags) " == *" $1 "* ]]; }

# expect DESC CONDITION...: each CONDITION is a shell test on the answer in
# $OUT; all must hold. Shows the whole answer when one does not.
expect() {
	local what=$1 c
	shift
	for c in "$@"; do
		if ! eval "$c"; then
			fail "$what" "condition failed: $c" "answer was:" "$OUT"
			return 0
		fi
	done
	pass "$what"
}

rec() { # SECTION REGEX: a record of SECTION matches REGEX
	[[ $'\n'$(section "$1")$'\n' =~ $'\n'$2$'\n' ]]
}

for root in 198.18.0.1 198.18.0.2; do
	q $root host.homegw-lab.example. A
	expect "root $root: referral for example. with glue" \
		'[[ $(status) == NOERROR ]]' '! has_flag aa' '[[ -z $(section ANSWER) ]]' \
		'rec AUTHORITY "example\. [0-9]+ IN NS a\.nic\.example\."' \
		'rec AUTHORITY "example\. [0-9]+ IN NS b\.nic\.example\."' \
		'rec ADDITIONAL "a\.nic\.example\. [0-9]+ IN A 198\.18\.0\.10"' \
		'rec ADDITIONAL "b\.nic\.example\. [0-9]+ IN A 198\.18\.0\.11"'
done

q 198.18.0.1 . NS
expect "root: priming answer (. NS) is authoritative, with the root servers' addresses" \
	'[[ $(status) == NOERROR ]]' 'has_flag aa' \
	'rec ANSWER "\. [0-9]+ IN NS a\.root-servers\.lab\."' \
	'rec ADDITIONAL "b\.root-servers\.lab\. [0-9]+ IN A 198\.18\.0\.2"'

for tld in 198.18.0.10 198.18.0.11; do
	q $tld host.homegw-lab.example. A
	expect "TLD $tld: referral to homegw-lab.example. with in-bailiwick glue" \
		'[[ $(status) == NOERROR ]]' '! has_flag aa' '[[ -z $(section ANSWER) ]]' \
		'rec AUTHORITY "homegw-lab\.example\. [0-9]+ IN NS ns1\.homegw-lab\.example\."' \
		'rec AUTHORITY "homegw-lab\.example\. [0-9]+ IN NS ns2\.homegw-lab\.example\."' \
		'rec ADDITIONAL "ns1\.homegw-lab\.example\. [0-9]+ IN A 198\.18\.1\.1"' \
		'rec ADDITIONAL "ns2\.homegw-lab\.example\. [0-9]+ IN A 198\.18\.1\.2"'
done

for auth in 198.18.1.1 198.18.1.2; do
	q $auth host.homegw-lab.example. A
	expect "auth $auth: host.homegw-lab.example. A is authoritative (aa)" \
		'[[ $(status) == NOERROR ]]' 'has_flag aa' \
		'[[ $(section ANSWER) == "host.homegw-lab.example. 3600 IN A 198.18.3.10" ]]'
done

q 198.18.1.1 nx.homegw-lab.example. A
expect "auth: NXDOMAIN with the zone's SOA in authority" \
	'[[ $(status) == NXDOMAIN ]]' 'has_flag aa' '[[ -z $(section ANSWER) ]]' \
	'rec AUTHORITY "homegw-lab\.example\. [0-9]+ IN SOA ns1\.homegw-lab\.example\. .*"'

q 198.18.1.1 nodata.homegw-lab.example. A
expect "auth: NODATA (NOERROR, no answer) with the zone's SOA in authority" \
	'[[ $(status) == NOERROR ]]' 'has_flag aa' '[[ -z $(section ANSWER) ]]' \
	'rec AUTHORITY "homegw-lab\.example\. [0-9]+ IN SOA ns1\.homegw-lab\.example\. .*"'

# +ignore: show the truncated UDP answer instead of retrying over TCP.
q 198.18.1.1 big.homegw-lab.example. A +bufsize=1232 +ignore
expect "auth: big.homegw-lab.example. over UDP (EDNS 1232) is truncated (tc)" \
	'[[ $(status) == NOERROR ]]' 'has_flag tc'
q 198.18.1.1 big.homegw-lab.example. A +tcp
n=$(section ANSWER | grep -c ' IN A 198\.18\.4\.' || true)
expect "auth: big.homegw-lab.example. over TCP comes whole (100 A, no tc)" \
	'[[ $(status) == NOERROR ]]' 'has_flag aa' '! has_flag tc' '[[ $n == 100 ]]'

# ---- the other cases the resolver will meet --------------------------------

q 198.18.0.10 www.other.example. A
expect "TLD: other.example. is delegated to an out-of-zone NS, without glue" \
	'[[ $(status) == NOERROR ]]' '! has_flag aa' \
	'[[ $(section AUTHORITY) =~ ^other\.example\.\ [0-9]+\ IN\ NS\ ns\.dns-host\.test\.$ ]]' \
	'[[ -z $(section ADDITIONAL | grep -v OPT) ]]'
q 198.18.0.10 ns.dns-host.test. A
expect "TLD: dns-host.test. referral (to find the out-of-zone NS)" \
	'rec AUTHORITY "dns-host\.test\. [0-9]+ IN NS ns1\.dns-host\.test\."' \
	'rec ADDITIONAL "ns1\.dns-host\.test\. [0-9]+ IN A 198\.18\.1\.1"'
q 198.18.1.2 ns.dns-host.test. A
expect "auth: ns.dns-host.test. A 198.18.2.1" \
	'has_flag aa' '[[ $(section ANSWER) =~ ^ns\.dns-host\.test\.\ [0-9]+\ IN\ A\ 198\.18\.2\.1$ ]]'
q 198.18.2.1 www.other.example. A
expect "other: www.other.example. A 198.18.3.20" \
	'has_flag aa' '[[ $(section ANSWER) =~ ^www\.other\.example\.\ [0-9]+\ IN\ A\ 198\.18\.3\.20$ ]]'

q 198.18.1.1 chain.homegw-lab.example. A
expect "auth: chain.homegw-lab.example. is only the first CNAME (next hop is another server's)" \
	'has_flag aa' '[[ $(section ANSWER) =~ ^chain\.homegw-lab\.example\.\ [0-9]+\ IN\ CNAME\ hop\.other\.example\.$ ]]'
q 198.18.2.1 hop.other.example. A
expect "other: hop.other.example. CNAME end.homegw-lab.test." \
	'has_flag aa' '[[ $(section ANSWER) =~ ^hop\.other\.example\.\ [0-9]+\ IN\ CNAME\ end\.homegw-lab\.test\.$ ]]'
q 198.18.1.1 end.homegw-lab.test. A
expect "auth: end.homegw-lab.test. A 198.18.3.51" \
	'has_flag aa' 'rec ANSWER "end\.homegw-lab\.test\. [0-9]+ IN A 198\.18\.3\.51"'

q 198.18.1.1 www.legacy.homegw-lab.example. A
expect "auth: DNAME legacy -> homegw-lab.test. (DNAME, synthesised CNAME, target A)" \
	'has_flag aa' \
	'rec ANSWER "legacy\.homegw-lab\.example\. [0-9]+ IN DNAME homegw-lab\.test\."' \
	'rec ANSWER "www\.legacy\.homegw-lab\.example\. [0-9]+ IN CNAME www\.homegw-lab\.test\."' \
	'rec ANSWER "www\.homegw-lab\.test\. [0-9]+ IN A 198\.18\.3\.50"'

q 198.18.1.1 anything.wild.homegw-lab.example. A
expect "auth: wildcard answer for anything.wild.homegw-lab.example." \
	'has_flag aa' 'rec ANSWER "anything\.wild\.homegw-lab\.example\. [0-9]+ IN A 198\.18\.3\.30"'

q 198.18.1.1 homegw-lab.example. MX
expect "auth: MX with the mail host's addresses in additional" \
	'has_flag aa' 'rec ANSWER "homegw-lab\.example\. [0-9]+ IN MX 10 mail\.homegw-lab\.example\."' \
	'rec ADDITIONAL "mail\.homegw-lab\.example\. [0-9]+ IN A 198\.18\.3\.25"'

q 198.18.1.1 host.homegw-lab.example. AAAA
expect "auth: AAAA" 'has_flag aa' 'rec ANSWER "host\.homegw-lab\.example\. [0-9]+ IN AAAA 2001:db8:3::10"'

q 198.18.1.1 lab._domainkey.homegw-lab.example. TXT
expect "auth: DKIM-looking TXT of two strings" \
	'has_flag aa' 'rec ANSWER "lab\._domainkey\.homegw-lab\.example\. [0-9]+ IN TXT \"v=DKIM1; k=rsa; p=[^\"]+\" \"[^\"]+\""'

q 198.18.1.1 lame.example. A
expect "auth: lame.example. (delegated to it, not served) is REFUSED" '[[ $(status) == REFUSED ]]'

q 198.18.0.11 1.0.18.198.in-addr.arpa. PTR
expect "TLD: reverse 198.18.0.1 -> a.root-servers.lab." \
	'has_flag aa' 'rec ANSWER "1\.0\.18\.198\.in-addr\.arpa\. [0-9]+ IN PTR a\.root-servers\.lab\."'

# ---- listening only on the lab's addresses ----------------------------------

in_prefix() { [[ $1 =~ ^198\.1[89]\.[0-9]+\.[0-9]+:53$ ]]; }
for proto in u t; do
	socks=$(ip netns exec "$NS_INET" ss -l${proto}nH | awk '{ print $4 }')
	bad=
	for s in $socks; do
		in_prefix "$s" || bad+="$s "
	done
	n=$(wc -w <<<"$socks")
	if [[ -z $bad && $n == 7 ]]; then
		pass "ss -l${proto}n: 7 sockets, all on 198.18.0.0/15 port 53"
	else
		fail "ss -l${proto}n: 7 sockets, all on 198.18.0.0/15 port 53" "got ($n): ${socks//$'\n'/ }"
	fi
done

# ---- the description --------------------------------------------------------

desc=$(internet_describe "$RUN")
running=$(grep -cE '^  (root-a|root-b|tld|auth-a|auth-b|other) .* pid [0-9]+ ' <<<"$desc" || true)
if [[ $running == 6 ]]; then
	pass "internet_describe lists the six roles running"
else
	fail "internet_describe lists the six roles running" "got:" "$desc"
fi
printf '%s\n' "$desc" | sed 's/^/# /'

# ---- failover of one server ---------------------------------------------------

internet_server_stop "$RUN" root-a
rc_a=0
ip netns exec "$NS_CLIENT" dig +norecurse +time=1 +tries=1 @198.18.0.1 . SOA >/dev/null 2>&1 || rc_a=$?
q 198.18.0.2 . SOA
expect "internet_server_stop root-a: 198.18.0.1 silent, 198.18.0.2 still answers" \
	'[[ $rc_a != 0 ]]' 'has_flag aa'
if internet_server_start "$NS_INET" "$RUN" root-a 2>"$RUN/start.err"; then
	q 198.18.0.1 . SOA
	expect "internet_server_start root-a: 198.18.0.1 answers again" 'has_flag aa'
else
	fail "internet_server_start root-a" "$(cat "$RUN/start.err")"
fi

# ---- down -----------------------------------------------------------------------

nsd_pids=
for role in "${LAB_INET_ROLES[@]}"; do
	nsd_pids+=" $(lab_inet_pids "$RUN" "$role" | tr '\n' ' ')"
done
npids=$(wc -w <<<"$nsd_pids")
if ((npids >= 6)); then
	pass "found the nsd processes before internet_down ($npids)"
else
	fail "found the nsd processes before internet_down" "got: $nsd_pids"
fi

if internet_down "$NS_INET" "$RUN" 2>"$RUN/down.err"; then
	pass "internet_down"
else
	fail "internet_down" "$(cat "$RUN/down.err")"
fi
UP=0

# Gone means no /proc entry or a zombie: the daemonised nsd's parent is
# pid 1, which may reap it a moment later.
proc_gone() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 0
	[[ -z $st || $st == Z ]]
}
alive=
for p in $nsd_pids; do
	proc_gone "$p" || alive+="$p "
done
if [[ -z $alive ]]; then
	pass "no nsd process left"
else
	alive=${alive% }
	fail "no nsd process left" "still there: $alive" "$(ps -o pid,stat,args -p "${alive// /,}" 2>&1)"
fi
left=
for p in $(ip netns pids "$NS_INET"); do
	proc_gone "$p" || left+="$p "
done
if [[ -z $left ]]; then
	pass "no process left in $NS_INET"
else
	fail "no process left in $NS_INET" "pids: $left"
fi
if ip -n "$NS_INET" link show "$LAB_INET_IFACE" >/dev/null 2>&1; then
	fail "$LAB_INET_IFACE removed from $NS_INET"
else
	pass "$LAB_INET_IFACE removed from $NS_INET"
fi
if internet_down "$NS_INET" "$RUN" 2>"$RUN/down2.err"; then
	pass "internet_down again is a no-op"
else
	fail "internet_down again is a no-op" "$(cat "$RUN/down2.err")"
fi

DONE=1
