# shellcheck shell=bash
# lab-internet.sh — the lab's simulated internet: a DNS hierarchy of its own
# (root, TLDs, authoritative zones) served by real nsd inside a network
# namespace, for the resolver to walk from RUNDIR/root.hints. Every server
# address is in 198.18.0.0/15 (DESIGN.md, "Tests touch only their own
# network"): nothing here names or reaches a real internet address.
#
# Source it; it defines functions and variables (prefixes internet_ and
# lab_inet_) and runs nothing. Safe under `set -euo pipefail`; the functions
# check every step themselves (they also work when called as `f || ...`,
# where bash turns set -e off), print errors to stderr prefixed with
# "lab-internet:" and return non-zero.
#
#   internet_up NETNS RUNDIR
#	In the existing namespace NETNS: brings lo up, adds the interface
#	$LAB_INET_IFACE (a dummy; a port-less NOARP bridge when the kernel has
#	no dummy driver) with every server address as a /32 and a route for
#	198.18.0.0/15 through it (so an address nothing serves, like
#	198.18.9.9, swallows packets: a silent timeout), copies the zones
#	from etc/lab/internet/ to RUNDIR/internet/zones and checks each with
#	nsd-checkzone, writes and nsd-checkconf's one nsd.conf per server role,
#	starts one nsd per role, waits (bounded) until every address answers
#	SOA for each of its zones authoritatively, and writes RUNDIR/root.hints.
#	On any failure it undoes what it did and returns 1.
#   internet_down NETNS RUNDIR
#	Stops every nsd started for RUNDIR (found by pid file and by the
#	config path on their command line, so none is missed), removes the
#	interface. Idempotent: fine on a half-built or already-down internet,
#	or after NETNS is gone.
#   internet_describe RUNDIR
#	Prints the servers (role, addresses, zones, running or not) and the
#	test names with what each exercises, for the lab report.
#   internet_server_stop RUNDIR ROLE / internet_server_start NETNS RUNDIR ROLE
#	Stop or (re)start one server role, e.g. root-a or auth-a, to test that
#	a resolver fails over to root-b / auth-b.
#
# Server roles (one nsd process each):
#   root-a  198.18.0.1              .  (a.root-servers.lab.)
#   root-b  198.18.0.2              .  (b.root-servers.lab.)
#   tld     198.18.0.10 198.18.0.11 example. test. 18.198.in-addr.arpa.
#   auth-a  198.18.1.1              homegw-lab.example. homegw-lab.test. dns-host.test.
#   auth-b  198.18.1.2              (same zones as auth-a)
#   other   198.18.2.1              other.example. (NS ns.dns-host.test.: out of zone)
#
# Files under RUNDIR: root.hints, internet/zones/*.zone,
# internet/<role>/{nsd.conf,nsd.pid,nsd.log,...}.
#
# Needs: ip (iproute2), nsd, nsd-checkconf, nsd-checkzone; dig
# (bind9-dnsutils) for the readiness probe, else python3.

LAB_INET_IFACE=${LAB_INET_IFACE:-inet-srv}
# Zone files: etc/lab/internet/ beside this script's scripts/ (absolute, as the
# caller may cd; a missing folder is reported by internet_up, not here).
LAB_INET_ZONESRC=${LAB_INET_ZONESRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/etc/lab/internet}
LAB_INET_PREFIX=198.18.0.0/15
# Readiness probe: tries per (address, zone), LAB_INET_WAIT_STEP seconds apart.
LAB_INET_WAIT_TRIES=${LAB_INET_WAIT_TRIES:-100}
LAB_INET_WAIT_STEP=0.1

LAB_INET_ROLES=(root-a root-b tld auth-a auth-b other)
# -g: this file may be sourced from inside a function.
declare -gA LAB_INET_ADDRS=(
	[root-a]="198.18.0.1"
	[root-b]="198.18.0.2"
	[tld]="198.18.0.10 198.18.0.11"
	[auth-a]="198.18.1.1"
	[auth-b]="198.18.1.2"
	[other]="198.18.2.1"
)
declare -gA LAB_INET_ZONES=(
	[root-a]="."
	[root-b]="."
	[tld]="example. test. 18.198.in-addr.arpa."
	[auth-a]="homegw-lab.example. homegw-lab.test. dns-host.test."
	[auth-b]="homegw-lab.example. homegw-lab.test. dns-host.test."
	[other]="other.example."
)

lab_inet_err() {
	printf 'lab-internet: %s\n' "$*" >&2
}

# Zone name -> file name under etc/lab/internet/ ("." is root.zone).
lab_inet_zonefile() {
	if [[ $1 == . ]]; then
		printf 'root.zone\n'
	else
		printf '%s.zone\n' "${1%.}"
	fi
}

lab_inet_all_zones() {
	local role z
	local -A seen=()
	for role in "${LAB_INET_ROLES[@]}"; do
		for z in ${LAB_INET_ZONES[$role]}; do
			[[ -n ${seen[$z]:-} ]] && continue
			seen[$z]=1
			printf '%s\n' "$z"
		done
	done
}

lab_inet_is_role() {
	[[ -n ${1:-} && -n ${LAB_INET_ADDRS[$1]:-} ]]
}

# RUNDIR goes into nsd.conf between double quotes and is matched against
# command lines: keep it absolute and free of characters that would need quoting.
lab_inet_rundir() {
	local dir=$1
	if [[ -z $dir ]]; then
		lab_inet_err "RUNDIR is empty"
		return 1
	fi
	if [[ $dir == *[[:space:]\"\\]* ]]; then
		lab_inet_err "RUNDIR '$dir' contains whitespace, a quote or a backslash"
		return 1
	fi
	mkdir -p -- "$dir" || return 1
	(cd -- "$dir" && pwd -P)
}

lab_inet_conf() {
	printf '%s/internet/%s/nsd.conf\n' "$1" "$2"
}

# Every pid whose command line is an nsd run with this role's nsd.conf. nsd
# forks a reload/xfrd and server children that keep the parent's argv, so this
# finds them all; it is exact (our config path), never a match on the name
# alone, and needs no namespace (NETNS may already be gone).
lab_inet_pids() {
	local conf d argv=()
	conf=$(lab_inet_conf "$1" "$2")
	for d in /proc/[0-9]*; do
		# mapfile, not tr: no fork per process scanned.
		mapfile -d '' -t argv 2>/dev/null <"$d/cmdline" || continue
		((${#argv[@]} == 3)) || continue
		[[ ${argv[0]} == *nsd && ${argv[1]} == -c && ${argv[2]} == "$conf" ]] || continue
		printf '%s\n' "${d#/proc/}"
	done
}

lab_inet_write_conf() {
	local rundir=$1 role=$2 dir addr z
	dir=$rundir/internet/$role
	mkdir -p -- "$dir" || return 1
	{
		printf '# Generated by scripts/lab-internet.sh for role %s. Run by hand, never as a service.\n' "$role"
		printf 'server:\n'
		for addr in ${LAB_INET_ADDRS[$role]}; do
			printf '\tip-address: %s\n' "$addr"
		done
		printf '\tdo-ip4: yes\n\tdo-ip6: no\n\tport: 53\n'
		# Runs as root in its own namespace, no chroot: nothing to drop to
		# and the paths stay plain.
		printf '\tusername: ""\n\tchroot: ""\n'
		printf '\tzonesdir: "%s/internet/zones"\n' "$rundir"
		printf '\tdatabase: ""\n'
		printf '\tzonelistfile: "%s/zone.list"\n' "$dir"
		printf '\txfrdfile: "%s/xfrd.state"\n' "$dir"
		printf '\txfrdir: "%s"\n' "$dir"
		printf '\tpidfile: "%s/nsd.pid"\n' "$dir"
		printf '\tlogfile: "%s/nsd.log"\n' "$dir"
		printf '\tverbosity: 1\n\tserver-count: 1\n'
		printf '\tidentity: "%s"\n' "$role"
		# Every lab client sits behind one NAT address: the default
		# response rate limit (200 qps per /24) would slip truncated
		# answers into benchmarks and tests.
		printf '\trrl-ratelimit: 0\n\trrl-whitelist-ratelimit: 0\n'
		printf 'remote-control:\n\tcontrol-enable: no\n'
		for z in ${LAB_INET_ZONES[$role]}; do
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$z" "$(lab_inet_zonefile "$z")"
		done
	} >"$dir/nsd.conf" || return 1
	if ! nsd-checkconf "$dir/nsd.conf" >&2; then
		lab_inet_err "nsd-checkconf rejected $dir/nsd.conf"
		return 1
	fi
}

lab_inet_copy_zones() {
	local rundir=$1 z f out
	mkdir -p -- "$rundir/internet/zones" || return 1
	while read -r z; do
		f=$(lab_inet_zonefile "$z")
		if [[ ! -r $LAB_INET_ZONESRC/$f ]]; then
			lab_inet_err "zone file $LAB_INET_ZONESRC/$f is missing"
			return 1
		fi
		cp -- "$LAB_INET_ZONESRC/$f" "$rundir/internet/zones/$f" || return 1
		if ! out=$(nsd-checkzone "$z" "$rundir/internet/zones/$f" 2>&1); then
			lab_inet_err "nsd-checkzone rejected zone $z ($f):"
			printf '%s\n' "$out" >&2
			return 1
		fi
	done < <(lab_inet_all_zones)
}

# A port-less bridge with ARP off behaves like a dummy for our purpose:
# addresses on it are local, and what the /15 route sends to it is dropped.
lab_inet_add_iface() {
	local netns=$1 role addr
	if ip -n "$netns" link show "$LAB_INET_IFACE" >/dev/null 2>&1; then
		lab_inet_err "$LAB_INET_IFACE already exists in $netns (internet_down first)"
		return 1
	fi
	if ! ip -n "$netns" link add "$LAB_INET_IFACE" type dummy 2>/dev/null; then
		ip -n "$netns" link add "$LAB_INET_IFACE" type bridge || return 1
		ip -n "$netns" link set "$LAB_INET_IFACE" arp off || return 1
	fi
	# Local delivery inside the namespace (our readiness probe) goes through lo.
	ip -n "$netns" link set lo up || return 1
	ip -n "$netns" link set "$LAB_INET_IFACE" up || return 1
	for role in "${LAB_INET_ROLES[@]}"; do
		for addr in ${LAB_INET_ADDRS[$role]}; do
			ip -n "$netns" addr add "$addr/32" dev "$LAB_INET_IFACE" || return 1
		done
	done
	ip -n "$netns" route add "$LAB_INET_PREFIX" dev "$LAB_INET_IFACE" || return 1
}

# One authoritative SOA answer for ZONE from ADDR, queried from inside NETNS.
lab_inet_probe() {
	local netns=$1 addr=$2 zone=$3 out
	if command -v dig >/dev/null 2>&1; then
		out=$(ip netns exec "$netns" dig +norecurse +time=1 +tries=1 +noall +comments \
			"@$addr" "$zone" SOA 2>/dev/null) || return 1
		[[ $out == *'status: NOERROR'* && $out == *'flags: qr aa'* ]]
		return
	fi
	ip netns exec "$netns" python3 - "$addr" "$zone" <<'EOF'
import socket, struct, sys
addr, zone = sys.argv[1], sys.argv[2]
qname = b"".join(bytes([len(l)]) + l.encode() for l in zone.rstrip(".").split(".") if l) + b"\0"
q = struct.pack("!HHHHHH", 0x4c61, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
try:
    s.sendto(q, (addr, 53))
    r = s.recv(4096)
except OSError:
    sys.exit(1)
ident, flags, _, an = struct.unpack("!HHHH", r[:8])
ok = ident == 0x4c61 and flags & 0x8000 and flags & 0x0400 and flags & 0xf == 0 and an >= 1
sys.exit(0 if ok else 1)
EOF
}

lab_inet_wait_role() {
	local netns=$1 role=$2 addr z i
	for addr in ${LAB_INET_ADDRS[$role]}; do
		for z in ${LAB_INET_ZONES[$role]}; do
			for ((i = 0; ; i++)); do
				lab_inet_probe "$netns" "$addr" "$z" && break
				if ((i >= LAB_INET_WAIT_TRIES)); then
					lab_inet_err "$role ($addr) does not answer SOA $z authoritatively"
					return 1
				fi
				sleep "$LAB_INET_WAIT_STEP"
			done
		done
	done
}

lab_inet_start_role() {
	local netns=$1 rundir=$2 role=$3 conf log
	conf=$(lab_inet_conf "$rundir" "$role")
	log=$rundir/internet/$role/nsd.log
	if [[ -n $(lab_inet_pids "$rundir" "$role") ]]; then
		lab_inet_err "nsd for $role is already running ($conf)"
		return 1
	fi
	# nsd daemonises itself; its pid file is RUNDIR/internet/ROLE/nsd.pid.
	if ! ip netns exec "$netns" nsd -c "$conf"; then
		lab_inet_err "nsd for $role failed to start; $log says:"
		tail -n 20 -- "$log" >&2 2>/dev/null || true
		return 1
	fi
	if ! lab_inet_wait_role "$netns" "$role"; then
		tail -n 20 -- "$log" >&2 2>/dev/null || true
		return 1
	fi
}

lab_inet_write_hints() {
	local rundir=$1 tmp
	tmp=$rundir/root.hints.tmp
	{
		printf '; Root hints of the lab internet (scripts/lab-internet.sh): not the real root.\n'
		printf '.\t3600000\tNS\ta.root-servers.lab.\n'
		printf 'a.root-servers.lab.\t3600000\tA\t%s\n' "${LAB_INET_ADDRS[root-a]}"
		printf '.\t3600000\tNS\tb.root-servers.lab.\n'
		printf 'b.root-servers.lab.\t3600000\tA\t%s\n' "${LAB_INET_ADDRS[root-b]}"
	} >"$tmp" && mv -f -- "$tmp" "$rundir/root.hints"
}

internet_up() {
	if (($# != 2)); then
		lab_inet_err "usage: internet_up NETNS RUNDIR"
		return 2
	fi
	local netns=$1 rundir role cmd
	rundir=$(lab_inet_rundir "$2") || return 1
	for cmd in ip nsd nsd-checkconf nsd-checkzone; do
		if ! command -v "$cmd" >/dev/null 2>&1; then
			lab_inet_err "$cmd not found (scripts/deps.sh installs it)"
			return 1
		fi
	done
	if ! ip -n "$netns" link show lo >/dev/null 2>&1; then
		lab_inet_err "network namespace '$netns' does not exist"
		return 1
	fi
	for role in "${LAB_INET_ROLES[@]}"; do
		if [[ -n $(lab_inet_pids "$rundir" "$role") ]]; then
			lab_inet_err "an nsd for $rundir is already running (internet_down first)"
			return 1
		fi
	done
	rm -f -- "$rundir/root.hints"
	lab_inet_copy_zones "$rundir" || return 1
	for role in "${LAB_INET_ROLES[@]}"; do
		lab_inet_write_conf "$rundir" "$role" || return 1
	done
	printf '%s\n' "$netns" >"$rundir/internet/netns" || return 1
	if ! lab_inet_add_iface "$netns"; then
		lab_inet_err "cannot set up $LAB_INET_IFACE in $netns"
		internet_down "$netns" "$rundir"
		return 1
	fi
	for role in "${LAB_INET_ROLES[@]}"; do
		if ! lab_inet_start_role "$netns" "$rundir" "$role"; then
			internet_down "$netns" "$rundir"
			return 1
		fi
	done
	lab_inet_write_hints "$rundir" || { internet_down "$netns" "$rundir"; return 1; }
}

# SIGTERM, then up to 5 s for nsd to stop its children, then SIGKILL.
internet_server_stop() {
	if (($# != 2)) || ! lab_inet_is_role "${2:-}"; then
		lab_inet_err "usage: internet_server_stop RUNDIR ROLE (ROLE: ${LAB_INET_ROLES[*]})"
		return 2
	fi
	local rundir=$1 role=$2 pidfile pid i ours pids=()
	# A RUNDIR already removed still names the nsd.conf its servers were
	# started with: look for them all the same.
	if [[ -d $rundir ]]; then
		rundir=$(cd -- "$rundir" && pwd -P) || return 1
	fi
	pidfile=$rundir/internet/$role/nsd.pid
	ours=$(lab_inet_pids "$rundir" "$role")
	if [[ -r $pidfile ]]; then
		read -r pid <"$pidfile" 2>/dev/null || pid=
		# Only a pid that is still our nsd: pids get reused.
		if [[ $pid =~ ^[0-9]+$ && $'\n'$ours$'\n' == *$'\n'$pid$'\n'* ]]; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	fi
	for ((i = 0; i < 50; i++)); do
		mapfile -t pids < <(lab_inet_pids "$rundir" "$role")
		((${#pids[@]} == 0)) && break
		# No pid file (killed half-started, or removed): term them all.
		((i == 10)) && kill -TERM "${pids[@]}" 2>/dev/null
		sleep 0.1
	done
	if ((${#pids[@]} > 0)); then
		lab_inet_err "nsd for $role ignored SIGTERM, killing ${pids[*]}"
		kill -KILL "${pids[@]}" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			[[ -z $(lab_inet_pids "$rundir" "$role") ]] && break
			sleep 0.1
		done
	fi
	rm -f -- "$pidfile"
	if [[ -n $(lab_inet_pids "$rundir" "$role") ]]; then
		lab_inet_err "nsd for $role is still running"
		return 1
	fi
}

internet_server_start() {
	if (($# != 3)) || ! lab_inet_is_role "${3:-}"; then
		lab_inet_err "usage: internet_server_start NETNS RUNDIR ROLE (ROLE: ${LAB_INET_ROLES[*]})"
		return 2
	fi
	local rundir
	rundir=$(cd -- "$2" && pwd -P) || return 1
	if [[ ! -r $(lab_inet_conf "$rundir" "$3") ]]; then
		lab_inet_err "no nsd.conf for $3 under $rundir (internet_up first)"
		return 1
	fi
	lab_inet_start_role "$1" "$rundir" "$3"
}

internet_down() {
	if (($# != 2)); then
		lab_inet_err "usage: internet_down NETNS RUNDIR"
		return 2
	fi
	local netns=$1 rundir=$2 role rc=0
	for role in "${LAB_INET_ROLES[@]}"; do
		internet_server_stop "$rundir" "$role" || rc=1
	done
	# Deleting the interface takes its addresses and the /15 route with it.
	if ip -n "$netns" link show "$LAB_INET_IFACE" >/dev/null 2>&1; then
		ip -n "$netns" link del "$LAB_INET_IFACE" || rc=1
	fi
	return "$rc"
}

internet_describe() {
	if (($# != 1)); then
		lab_inet_err "usage: internet_describe RUNDIR"
		return 2
	fi
	local rundir=$1 role state pid
	[[ -d $rundir ]] && rundir=$(cd -- "$rundir" && pwd -P)
	printf 'Lab internet (nsd in netns %s; root hints %s/root.hints)\n' \
		"$(cat -- "$rundir/internet/netns" 2>/dev/null || echo '?')" "$rundir"
	printf '  %-7s %-24s %-8s %s\n' ROLE ADDRESSES STATE ZONES
	for role in "${LAB_INET_ROLES[@]}"; do
		# No `| head`: under pipefail its SIGPIPE would fail the function.
		pid=$(lab_inet_pids "$rundir" "$role")
		pid=${pid%%$'\n'*}
		state=${pid:+pid $pid}
		printf '  %-7s %-24s %-8s %s\n' "$role" "${LAB_INET_ADDRS[$role]}" "${state:-down}" \
			"${LAB_INET_ZONES[$role]}"
	done
	cat <<'EOF'
  Names (auth-a/auth-b unless said otherwise):
    host.homegw-lab.example.           A 198.18.3.10, AAAA 2001:db8:3::10
    homegw-lab.example.                MX 10 mail.homegw-lab.example. (A + AAAA)
    nodata.homegw-lab.example.         TXT only: A/AAAA are NODATA (SOA in authority)
    nx.homegw-lab.example.             NXDOMAIN (any name not listed)
    alias.homegw-lab.example.          CNAME host (in zone: CNAME + A in one answer)
    chain.homegw-lab.example.          CNAME hop.other.example. (other) CNAME end.homegw-lab.test. A 198.18.3.51
    loop1.homegw-lab.example.          CNAME loop2 CNAME loop1: a loop
    www.legacy.homegw-lab.example.     via DNAME legacy -> homegw-lab.test.: www.homegw-lab.test. A 198.18.3.50
    *.wild.homegw-lab.example.         wildcard A 198.18.3.30 + TXT; explicit.wild has its own A 198.18.3.31
    lab._domainkey.homegw-lab.example. DKIM-looking TXT, two strings, ~470 bytes
    short-ttl.homegw-lab.example.      A 198.18.3.40, TTL 1
    big.homegw-lab.example.            100 A (198.18.4.1-100): TC over UDP/1232, whole over TCP
    www.other.example.                 A 198.18.3.20 behind out-of-zone NS ns.dns-host.test. (no glue)
    lame.example.                      delegated to 198.18.1.1, which answers REFUSED
    unreachable.example.               delegated to 198.18.9.9: packets silently dropped (timeout)
    18.198.in-addr.arpa.               PTR for every server address (tld)
EOF
}
