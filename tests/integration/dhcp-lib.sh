# shellcheck shell=bash disable=SC2016 # jq filters and sh -c scripts in single quotes
# dhcp-lib.sh — helpers for the DHCP integration tests (t-dhcp-*.sh), sourced
# after lib.sh: the DHCP server under test, real clients (dhclient, udhcpc,
# dhcpcd) inside the test's namespaces, and what they were given.
#
# Environment:
#   DHCP_SERVER=homegwd   (default) the server under test is homegwd; every
#                         check is mandatory, and a homegwd that cannot run
#                         DHCP yet FAILS the test.
#   DHCP_SERVER=dnsmasq   dnsmasq stands in for homegwd (and for its relay),
#                         to develop and prove the tests themselves. Checks
#                         only homegwd can answer (homegwctl leases/stats,
#                         released state, its journal) are skipped with a
#                         "# skip" note; lease checks read dnsmasq's lease
#                         file instead, converted to the `leases` JSON shape.
#   DHCP_SERVER=dnsmasq-volatile
#                         dnsmasq whose leases are stored by a dhcp-script
#                         after the reply has left, never synced: a negative
#                         control, t-dhcp-kill9 must FAIL against it.
#
# The clients never touch the host: each runs inside the lan namespace with a
# script of ours (no dhclient-script, no dhcpcd-run-hooks, so no
# /etc/resolv.conf or hostname writes), its lease, pid and config files in
# its own directory under $HGT_TMP, and dhcpcd in a private mount namespace
# whose /run and /var/lib/dhcpcd are the test's.
#
# Every client script writes, at each event, one line "EVENT IP" to
# $dir/events and the options it got to $dir/lease in one normalised form
# (key=value lines: ip mask router dns domain lease mtu ntp routes serverid
# hostname agent; routes as "DST/LEN GW" pairs joined by ", ", sorted; agent
# is option 82 as udhcpc shows it, which no client may ever see), so the
# tests compare the three clients with the same checks.

DHCP_SERVER=${DHCP_SERVER:-homegwd}
case $DHCP_SERVER in
homegwd | dnsmasq | dnsmasq-volatile) ;;
*) fatal "DHCP_SERVER is homegwd, dnsmasq or dnsmasq-volatile" "got: $DHCP_SERVER" ;;
esac
note "DHCP server under test: $DHCP_SERVER"

_tools=(dhclient udhcpc dhcpcd jq ss)
[[ $DHCP_SERVER != dnsmasq* ]] || _tools+=(dnsmasq)
for _tool in "${_tools[@]}"; do
	command -v "$_tool" >/dev/null || fatal "$_tool is installed (scripts/deps.sh)"
done
unset _tool _tools

# The LAN every test uses (CONFIG.md's example scope on the test's veth).
DHCP_GW_ADDR=198.51.100.1
DHCP_POOL_FIRST=198.51.100.100
DHCP_POOL_LAST=198.51.100.199
DHCP_LEASE_TIME=600
# Reservations, one "NAME mac|client-id VALUE ADDRESS" per entry.
DHCP_HOSTS=()

is_dnsmasq() { [[ $DHCP_SERVER == dnsmasq* ]]; }

# homegwd_only DESC: true in homegwd mode; in dnsmasq mode prints that DESC
# is skipped and is false. `if homegwd_only "..."; then checks; fi`.
homegwd_only() {
	if is_dnsmasq; then
		note "skip ($DHCP_SERVER stands in): $1"
		return 1
	fi
	return 0
}

# ---- the namespaces --------------------------------------------------------

# dhcp_lan_setup: namespaces $GW and $LAN joined by veth-lan (gw,
# 198.51.100.1/24) and eth0 (lan, no address, MAC $LAN_MAC).
dhcp_lan_setup() {
	GW=$HGT_PREFIX-gw
	LAN=$HGT_PREFIX-lan
	hgt_netns "$GW"
	hgt_netns "$LAN"
	hgt_veth "$GW" veth-lan "$LAN" eth0
	hgt_addr "$GW" veth-lan "$DHCP_GW_ADDR/24"
	LAN_MAC=02:00:00:00:01:01
	ip -n "$LAN" link set eth0 address "$LAN_MAC"
}

mac_of() { # NS DEV
	ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'
}

# ip_in_pool ADDRESS [FIRST LAST]: ADDRESS lies in the pool (inclusive).
ip_to_int() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
ip_in_pool() {
	[[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
	local x
	x=$(ip_to_int "$1")
	((x >= $(ip_to_int "${2:-$DHCP_POOL_FIRST}") && x <= $(ip_to_int "${3:-$DHCP_POOL_LAST}")))
}
check_in_pool() { # DESC ADDRESS
	if ip_in_pool "$2"; then pass "$1"; else fail "$1" "got: '$2' (pool $DHCP_POOL_FIRST - $DHCP_POOL_LAST)"; fi
}

# ---- server instances --------------------------------------------------------
#
# A test may run several servers (t-dhcp-relay: a relay and a server). Each
# is an "instance" with its own directory, config, state, socket and log;
# dhcp_use NAME makes one current, so lib.sh's hgt_* and ctl act on it.

declare -A _DI_PID _DI_LOG _DI_NS _DI_CONF _DI_SOCK _DI_STATE _DI_LEASES
DHCP_CUR=

_dhcp_save() {
	[[ -n $DHCP_CUR ]] || return 0
	_DI_PID[$DHCP_CUR]=$HGT_PID
	_DI_LOG[$DHCP_CUR]=$HGT_LOG
	_DI_NS[$DHCP_CUR]=$HGT_NS
}

# dhcp_use NAME: make instance NAME current (created on first use).
dhcp_use() {
	local n=$1
	_dhcp_save
	if [[ -z ${_DI_CONF[$n]:-} ]]; then
		mkdir -p "$HGT_TMP/$n"
		_DI_CONF[$n]=$HGT_TMP/$n/homegw.conf
		_DI_SOCK[$n]=$HGT_TMP/$n/control.sock
		_DI_STATE[$n]=$HGT_TMP/$n/state
		_DI_LEASES[$n]=$HGT_TMP/$n/dnsmasq.leases
		_DI_PID[$n]=
		_DI_LOG[$n]=
		_DI_NS[$n]=
	fi
	DHCP_CUR=$n
	HGT_CONF=${_DI_CONF[$n]}
	# shellcheck disable=SC2034 # lib.sh's
	HGT_SOCK=${_DI_SOCK[$n]}
	# shellcheck disable=SC2034 # lib.sh's
	HGT_STATE=${_DI_STATE[$n]}
	HGT_PID=${_DI_PID[$n]}
	HGT_LOG=${_DI_LOG[$n]}
	HGT_NS=${_DI_NS[$n]}
}

# The homegwd config of each role. The LAN scope is the brief's: every option
# a client is checked for.
_dhcp_scope_body() {
	printf '\tpool %s %s\n' "$DHCP_POOL_FIRST" "$DHCP_POOL_LAST"
	printf '\tlease-time %sm\n' $((DHCP_LEASE_TIME / 60))
	printf '\tdns-server %s\n\tdomain lab.home.arpa\n\tntp-server %s\n' "$DHCP_GW_ADDR" "$DHCP_GW_ADDR"
	printf '\tmtu 1400\n\troute 100.64.8.0/24 198.51.100.2\n'
	local h name kind value addr
	for h in "${DHCP_HOSTS[@]}"; do
		read -r name kind value addr <<<"$h"
		printf '\thost %s { %s %s; address %s }\n' "$name" "$kind" "$value" "$addr"
	done
}

_dhcp_conf_homegwd() { # ROLE ARGS...
	case $1 in
	lan)
		printf 'interface lan { device %s }\ndhcp lan {\n' "$2"
		_dhcp_scope_body
		printf '}\n'
		;;
	remote)
		printf 'dhcp 198.51.100.0/24 {\n'
		_dhcp_scope_body
		printf '\trouter %s\n}\n' "$DHCP_GW_ADDR"
		;;
	relay)
		printf 'interface lan { device %s }\ndhcp-relay lan { server %s }\n' "$2" "$3"
		;;
	esac
}

# dnsmasq-volatile's lease store: with leasefile-ro dnsmasq hands each lease
# change to this script after the reply has left (and reads the leases back
# from it with "init" at start), so the file is written late and never
# synced: the server the durability checks must catch.
_dnsmasq_volatile_script() {
	printf '#!/bin/sh\nf=%s\n' "${_DI_LEASES[$DHCP_CUR]}"
	cat <<'EOF2'
case $1 in
init) cat "$f" 2>/dev/null ;;
add | old)
	{ grep -v " $3 " "$f" 2>/dev/null
	  echo "${DNSMASQ_LEASE_EXPIRES:-0} $2 $3 ${4:-*} ${DNSMASQ_CLIENT_ID:-*}"; } >"$f.tmp"
	mv "$f.tmp" "$f" ;;
del)
	grep -v " $3 " "$f" >"$f.tmp" 2>/dev/null
	mv "$f.tmp" "$f" ;;
esac
exit 0
EOF2
}

# The same for dnsmasq. RFC 3442: a client that gets option 121 ignores
# option 3, so the default route goes inside 121 (as homegwd does).
_dhcp_conf_dnsmasq() { # ROLE ARGS...
	local h name kind value addr
	printf 'port=0\nno-resolv\nno-hosts\nuser=root\ngroup=root\npid-file=\n'
	printf 'log-dhcp\nlog-facility=-\nno-ping\ndhcp-authoritative\n'
	if [[ $DHCP_SERVER == dnsmasq-volatile ]]; then
		_dnsmasq_volatile_script >"$HGT_CONF.script"
		chmod 0755 "$HGT_CONF.script"
		printf 'leasefile-ro\ndhcp-script=%s\n' "$HGT_CONF.script"
	else
		printf 'dhcp-leasefile=%s\n' "${_DI_LEASES[$DHCP_CUR]}"
	fi
	case $1 in
	lan) printf 'interface=%s\nbind-interfaces\n' "$2" ;;
	remote) ;;
	relay)
		printf 'dhcp-relay=%s,%s\n' "$DHCP_GW_ADDR" "$3"
		return 0
		;;
	esac
	printf 'dhcp-range=%s,%s,255.255.255.0,%ss\n' "$DHCP_POOL_FIRST" "$DHCP_POOL_LAST" "$DHCP_LEASE_TIME"
	printf 'dhcp-option=option:router,%s\n' "$DHCP_GW_ADDR"
	printf 'dhcp-option=option:dns-server,%s\n' "$DHCP_GW_ADDR"
	printf 'dhcp-option=option:domain-name,lab.home.arpa\n'
	printf 'dhcp-option=option:ntp-server,%s\n' "$DHCP_GW_ADDR"
	printf 'dhcp-option=option:mtu,1400\n'
	printf 'dhcp-option=option:classless-static-route,100.64.8.0/24,198.51.100.2,0.0.0.0/0,%s\n' "$DHCP_GW_ADDR"
	for h in "${DHCP_HOSTS[@]}"; do
		read -r name kind value addr <<<"$h"
		case $kind in
		mac) printf 'dhcp-host=%s,%s,%s\n' "$value" "$addr" "$name" ;;
		client-id) printf 'dhcp-host=id:%s,%s,%s\n' "$value" "$addr" "$name" ;;
		esac
	done
}

# dhcp_start NAME NS ROLE [ARGS]: start instance NAME in NS and make it
# current. Roles: `lan DEV` (a scope for the interface DEV), `remote` (the
# scope 198.51.100.0/24 for relayed requests), `relay DEV SERVER` (relay
# DEV's clients to SERVER). Fatal when the server does not come up: in
# homegwd mode that includes a homegwd that rejects the dhcp sections or
# does not run its dhcp module.
dhcp_start() {
	local name=$1 ns=$2
	shift 2
	dhcp_use "$name"
	_DI_NS[$name]=$ns
	if is_dnsmasq; then
		_dhcp_conf_dnsmasq "$@" >"$HGT_CONF"
		_dnsmasq_start "$ns"
		return 0
	fi
	hgt_config < <(_dhcp_conf_homegwd "$@")
	check_rc "$name: homegwd --check accepts the $1 config" 0 "$HOMEGWD" --check -c "$HGT_CONF"
	((RC == 0)) || fatal "$name: homegwd takes the $1 config (nothing more to test without it)"
	_homegwd_start "$ns"
}

_homegwd_start() { # NS
	hgt_start "$1"
	hgt_wait_ready
	local st
	st=$(ctl --json status)
	if ! jq -e '.modules.dhcp.running == true' <<<"$st" >/dev/null; then
		fatal "$DHCP_CUR: homegwd's dhcp module is running" "status: $st"
	fi
	pass "$DHCP_CUR: homegwd's dhcp module is running"
	_dhcp_save
}

_dnsmasq_start() { # NS
	local ns=$1 i
	hgt_new_log
	ip netns exec "$ns" dnsmasq -d -C "$HGT_CONF" >>"$HGT_LOG" 2>&1 &
	HGT_PID=$!
	HGT_NS=$ns
	_dhcp_save
	note "$DHCP_SERVER ($DHCP_CUR) started in $ns: pid $HGT_PID, log $HGT_LOG"
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		proc_gone "$HGT_PID" && break
		if ip netns exec "$ns" ss -Hlunp 'sport = :67' 2>/dev/null | grep -q "pid=$HGT_PID,"; then
			pass "$DHCP_CUR: $DHCP_SERVER listens on port 67"
			return 0
		fi
		sleep 0.05
	done
	hgt_log_tail
	fatal "$DHCP_CUR: $DHCP_SERVER listens on port 67"
}

# dhcp_stop [SIGNAL]: stop the current instance (default TERM). homegwd must
# exit 0 on TERM and die by the signal on KILL; its log must be clean.
dhcp_stop() {
	local sig=${1:-TERM} rc=0 i
	if ! is_dnsmasq && [[ $sig != KILL ]]; then
		hgt_stop "$sig"
		_dhcp_save
		return 0
	fi
	kill -s "$sig" "$HGT_PID" 2>/dev/null || true
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		proc_gone "$HGT_PID" && break
		sleep 0.05
	done
	wait "$HGT_PID" 2>/dev/null || rc=$?
	if [[ $sig == KILL ]]; then
		check_eq "$DHCP_CUR: $DHCP_SERVER died by SIGKILL" 137 "$rc"
	fi
	if ! is_dnsmasq; then
		check_sanitizer_clean "$HGT_LOG" "$DHCP_CUR: no sanitizer report in homegwd's log"
	fi
	HGT_PID=
	_dhcp_save
}

# dhcp_restart: start the current instance again, same config and state.
dhcp_restart() {
	if is_dnsmasq; then
		_dnsmasq_start "$HGT_NS"
	else
		_homegwd_start "$HGT_NS"
	fi
}

# dhcp_leases: the current instance's leases as CONTROL.md's JSON. For
# dnsmasq, its lease file in that shape (every entry "bound").
dhcp_leases() {
	if ! is_dnsmasq; then
		ctl --json leases
		return
	fi
	local f=${_DI_LEASES[$DHCP_CUR]}
	[[ -f $f ]] || f=/dev/null
	jq -R -s -c --arg scope "$DHCP_CUR" --argjson now "$(date +%s)" '
		def opt: if . == "*" then null else . end;
		{ok: true, leases: [split("\n")[] | select(length > 0) | split(" ") | select(.[0] != "duid") |
			{address: .[2], mac: .[1], client_id: (.[4] | opt), hostname: (.[3] | opt), scope: $scope,
			 state: "bound", expires_at: (.[0] | tonumber), expires_in: ((.[0] | tonumber) - $now)}]}' "$f"
}

# dhcp_lease_of ADDRESS: that lease's JSON object ("null" when none).
dhcp_lease_of() {
	dhcp_leases | jq -c --arg a "$1" '[.leases[] | select(.address == $a)] | first'
}

# lease_is ADDRESS JQ-CONDITION [JQ-ARGS...]: the lease of ADDRESS satisfies it
# (for wait_for and bash -c).
lease_is() {
	local a=$1 cond=$2
	shift 2
	dhcp_leases | jq -e --arg a "$a" "$@" \
		"[.leases[] | select(.address == \$a)] | length == 1 and (first | $cond)" >/dev/null
}

# lease_absent ADDRESS: the server has no lease of ADDRESS at all.
lease_absent() {
	! dhcp_leases | jq -e --arg a "$1" 'any(.leases[]; .address == $a)' >/dev/null
}

# ---- clients ----------------------------------------------------------------
#
# Each client NAME has a directory $HGT_TMP/client-NAME with its script,
# config, lease file, pid file, log, "events" and "lease" (see the top).

client_dir() { echo "$HGT_TMP/client-$1"; }

# The shared part of every client script: normalise and record, then
# configure the link unless the client does it itself (dhcpcd) or the test
# says not to. POSIX sh: it runs under dash.
_client_script_common() { # DIR CONFIGURE(0|1)
	cat <<EOF
dir='$1'
configure=$2
EOF
	cat <<'EOF'
# RFC 3442 option 121 as dhclient hands it over ("24 100 64 8 198 51 100 2 0
# 198 51 100 1") to "DST/LEN GW" pairs.
decode_121() {
	set -- $1
	out=
	while [ $# -ge 5 ]; do
		w=$1; shift
		n=$(( (w + 7) / 8 )); d=; i=0
		while [ $i -lt 4 ]; do
			if [ $i -lt $n ]; then o=$1; shift; else o=0; fi
			d="$d${d:+.}$o"; i=$((i + 1))
		done
		[ $# -ge 4 ] || break
		out="$out${out:+ }$d/$w $1.$2.$3.$4"; shift 4
	done
	echo "$out"
}
# "D1 G1 D2 G2 ..." to "D1 G1, D2 G2" sorted.
pairs() {
	set -- $1
	while [ $# -ge 2 ]; do echo "$1 $2"; shift 2; done | sort | paste -sd, - | sed 's/,/, /g'
}
mask_of() { # prefix length to dotted mask
	m=$(( 0xffffffff ^ ((1 << (32 - $1)) - 1) ))
	echo "$(( (m >> 24) & 255 )).$(( (m >> 16) & 255 )).$(( (m >> 8) & 255 )).$(( m & 255 ))"
}
record() { # EVENT: write the normalised lease (when there is one), then the event
	if [ -n "$ip" ]; then
		{
			echo "ip=$ip"; echo "mask=$mask"; echo "router=$router"; echo "dns=$dns"
			echo "domain=$domain"; echo "lease=$lease"; echo "mtu=$mtu"; echo "ntp=$ntp"
			echo "routes=$(pairs "$routes")"; echo "serverid=$serverid"; echo "hostname=$hostname"
			echo "agent=${agent:-}"
		} >"$dir/lease.tmp"
		mv "$dir/lease.tmp" "$dir/lease"
	fi
	echo "$1 $ip" >>"$dir/events"
}
up() { # configure the address and routes, as the clients' own scripts would
	[ "$configure" = 1 ] || return 0
	ip addr replace "$ip/$mask" dev "$interface"
	if [ -n "$routes" ]; then
		set -- $routes
		while [ $# -ge 2 ]; do
			if [ "$1" = 0.0.0.0/0 ]; then
				ip route replace default via "$2" dev "$interface"
			else
				ip route replace "$1" via "$2" dev "$interface"
			fi
			shift 2
		done
	elif [ -n "$router" ]; then
		ip route replace default via "${router%% *}" dev "$interface"
	fi
}
down() {
	[ "$configure" = 1 ] || return 0
	ip route flush dev "$interface" 2>/dev/null
	ip addr flush dev "$interface" 2>/dev/null
	return 0
}
EOF
}

# dhclient: $reason and new_* variables.
_dhclient_script() { # DIR
	printf '#!/bin/sh\n# dhclient script of the DHCP integration tests: record, configure, no resolv.conf.\n'
	_client_script_common "$1" 1
	cat <<'EOF'
ip=${new_ip_address:-}; mask=${new_subnet_mask:-}; router=${new_routers:-}
dns=${new_domain_name_servers:-}; domain=${new_domain_name:-}; lease=${new_dhcp_lease_time:-}
mtu=${new_interface_mtu:-}; ntp=${new_ntp_servers:-}; serverid=${new_dhcp_server_identifier:-}
hostname=${new_host_name:-}
routes=$(decode_121 "${new_rfc3442_classless_static_routes:-}")
case $reason in
BOUND | RENEW | REBIND | REBOOT)
	if [ -n "${old_ip_address:-}" ] && [ "$old_ip_address" != "$ip" ]; then down; fi
	up
	;;
EXPIRE | FAIL | RELEASE | STOP) down ;;
esac
record "$reason"
exit 0
EOF
}

# udhcpc: $1 is the event; ip subnet router dns domain lease mtu ntpsrv
# staticroutes serverid hostname.
_udhcpc_script() { # DIR CONFIGURE
	printf '#!/bin/sh\n# udhcpc script of the DHCP integration tests: record, configure, no resolv.conf.\n'
	_client_script_common "$1" "$2"
	cat <<'EOF'
ip=${ip:-}; mask=${subnet:-}; router=${router:-}; dns=${dns:-}; domain=${domain:-}
lease=${lease:-}; mtu=${mtu:-}; ntp=${ntpsrv:-}; serverid=${serverid:-}; hostname=${hostname:-}
routes=${staticroutes:-}
# Relay agent information (82) must never reach a client (RFC 3046 2.2).
agent=${opt82:-}
case $1 in
bound | renew) up ;;
deconfig) down ;;
esac
record "$1"
exit 0
EOF
}

# dhcpcd configures the link itself; its script only records.
_dhcpcd_script() { # DIR
	printf '#!/bin/sh\n# dhcpcd script of the DHCP integration tests: record only.\n'
	_client_script_common "$1" 0
	cat <<'EOF'
ip=${new_ip_address:-}; mask=${new_subnet_mask:-}; router=${new_routers:-}
dns=${new_domain_name_servers:-}; domain=${new_domain_name:-}; lease=${new_dhcp_lease_time:-}
mtu=${new_interface_mtu:-}; ntp=${new_ntp_servers:-}; serverid=${new_dhcp_server_identifier:-}
hostname=${new_host_name:-}
routes=${new_classless_static_routes:-}
record "$reason"
exit 0
EOF
}

# _client_prepare NAME KIND [CONFIGURE]: the directory and script, with the
# events and lease of an earlier run of NAME cleared (its lease file kept:
# that is what INIT-REBOOT reads).
_client_prepare() {
	local d
	d=$(client_dir "$1")
	mkdir -p "$d"
	case $2 in
	dhclient) _dhclient_script "$d" ;;
	udhcpc) _udhcpc_script "$d" "${3:-1}" ;;
	dhcpcd) _dhcpcd_script "$d" ;;
	esac >"$d/script"
	chmod 0755 "$d/script"
	rm -f "$d/events" "$d/lease"
	: >"$d/events"
	echo "$d"
}

# client_event NAME EVENT-ERE: NAME recorded a matching event.
client_event() {
	grep -Eq "^($2)( |\$)" "$(client_dir "$1")/events"
}

# client_wait DESC NAME EVENT-ERE: bounded wait for such an event.
client_wait() {
	local desc=$1 name=$2 re=$3
	if ! wait_for "$desc" client_event "$name" "$re"; then
		note "events of $name: $(paste -sd' ' "$(client_dir "$name")/events")"
		[[ ! -f $(client_dir "$name")/log ]] || tail -n 15 "$(client_dir "$name")/log" | sed 's/^/#   /'
		return 1
	fi
}

# client_get NAME KEY: a value from NAME's normalised lease.
client_get() {
	local f
	f=$(client_dir "$1")/lease
	[[ -f $f ]] || return 0
	sed -n "s/^$2=//p" "$f"
}

client_events() { paste -sd' ' "$(client_dir "$1")/events"; }

# client_pid NAME: the pid of NAME's running background client.
declare -A _CLIENT_PID
client_pid() { echo "${_CLIENT_PID[$1]:-}"; }

# client_stop NAME [SIGNAL]: signal NAME's background client (default TERM)
# and wait (bounded) for it to exit.
client_stop() {
	local pid=${_CLIENT_PID[$1]:-} i
	[[ -n $pid ]] || return 0
	kill -s "${2:-TERM}" "$pid" 2>/dev/null || true
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		proc_gone "$pid" && break
		sleep 0.05
	done
	proc_gone "$pid" || fail "client $1 (pid $pid) exits on SIG${2:-TERM}"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	_CLIENT_PID[$1]=
}

_client_bg() { # NAME COMMAND...: run in the background, output to its log
	local name=$1 d
	shift
	d=$(client_dir "$name")
	"$@" >>"$d/log" 2>&1 &
	_CLIENT_PID[$name]=$!
	HGT_HELPERS+=($!)
}

# dhclient_start NAME NS DEV [CONF-LINES]: dhclient in the foreground (-d),
# in the background of the test, with its own files; HOSTNAME is sent as
# option 12 when CONF-LINES do not say otherwise. Starting again with the
# same NAME reuses its lease file: dhclient then does INIT-REBOOT.
dhclient_start() {
	local name=$1 ns=$2 dev=$3 extra=${4:-} d
	d=$(_client_prepare "$name" dhclient)
	{
		printf 'option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n'
		printf 'request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,\n'
		printf '\thost-name, ntp-servers, interface-mtu, rfc3442-classless-static-routes;\n'
		printf 'timeout 30;\n'
		[[ $extra == *host-name* ]] || printf 'send host-name "%s";\n' "$name"
		printf '%s\n' "$extra"
	} >"$d/dhclient.conf"
	_client_bg "$name" ip netns exec "$ns" dhclient -4 -d -v -1 -cf "$d/dhclient.conf" -lf "$d/dhclient.leases" \
		-pf "$d/dhclient.pid" -sf "$d/script" "$dev"
}

# dhclient_release NAME NS DEV: `dhclient -r`: stops NAME's dhclient (pid
# file) and sends a DHCPRELEASE for its lease.
dhclient_release() {
	local name=$1 ns=$2 dev=$3 d rc=0
	d=$(client_dir "$name")
	timeout 30 ip netns exec "$ns" dhclient -4 -v -r -cf "$d/dhclient.conf" -lf "$d/dhclient.leases" \
		-pf "$d/dhclient.pid" -sf "$d/script" "$dev" >>"$d/log" 2>&1 || rc=$?
	client_stop "$name"
	return $rc
}

# udhcpc_run NAME NS DEV [UDHCPC-ARGS...]: one udhcpc that quits once it has
# a lease (-q) or after 5 tries (-n); its status. HOSTNAME is sent as option
# 12 unless the args have -x hostname:...
_udhcpc_args() { # NAME NS DEV DIR ARGS...
	local name=$1 ns=$2 dev=$3 d=$4
	shift 4
	local hostopt=(-x "hostname:$name")
	[[ " $* " != *" hostname:"* ]] || hostopt=()
	printf '%s\0' ip netns exec "$ns" udhcpc -f -i "$dev" -s "$d/script" -t 5 -T 1 -A 1 \
		-O ntpsrv -O mtu -O staticroutes -O domain "${hostopt[@]}" "$@"
}
udhcpc_run() {
	local name=$1 ns=$2 dev=$3 d rc=0
	shift 3
	d=$(_client_prepare "$name" udhcpc "${UDHCPC_CONFIGURE:-1}")
	local -a cmd
	mapfile -d '' cmd < <(_udhcpc_args "$name" "$ns" "$dev" "$d" -q -n "$@")
	timeout 60 "${cmd[@]}" >>"$d/log" 2>&1 || rc=$?
	return $rc
}

# udhcpc_start NAME NS DEV [UDHCPC-ARGS...]: udhcpc staying in the
# background (renewing) until client_stop.
udhcpc_start() {
	local name=$1 ns=$2 dev=$3 d
	shift 3
	d=$(_client_prepare "$name" udhcpc 1)
	local -a cmd
	mapfile -d '' cmd < <(_udhcpc_args "$name" "$ns" "$dev" "$d" "$@")
	_client_bg "$name" "${cmd[@]}"
}

# dhcpcd_start NAME NS DEV [CONF-LINES]: dhcpcd in the foreground (-B), IPv4
# only, in a private mount namespace: /run is a tmpfs and /var/lib/dhcpcd
# (its lease and DUID) is $dir/db, so nothing of the host's is read or
# written and its pid file and control socket cannot collide with another
# dhcpcd. NAME is sent as the hostname. No ARP probe and no IPv4LL: the tests
# have no conflicting hosts and need no fallback.
dhcpcd_start() {
	local name=$1 ns=$2 dev=$3 extra=${4:-} d
	d=$(_client_prepare "$name" dhcpcd)
	mkdir -p "$d/db"
	{
		printf 'ipv4only\nnoarp\nnoipv4ll\nnohook resolv.conf\nhostname %s\n' "$name"
		printf 'option domain_name_servers, domain_name, ntp_servers, interface_mtu, classless_static_routes\n'
		printf '%s\n' "$extra"
	} >"$d/dhcpcd.conf"
	_client_bg "$name" ip netns exec "$ns" unshare -m --propagation private sh -c \
		'mount -t tmpfs tmpfs /run && mkdir /run/dhcpcd && mount --bind "$1/db" /var/lib/dhcpcd &&
		 exec dhcpcd -4 -B -d -f "$1/dhcpcd.conf" -c "$1/script" "$2"' _ "$d" "$dev"
}

# ---- checks on what a client got -------------------------------------------

# check_client_basic NAME [SERVER-ID]: address from the pool, mask, router,
# DNS server, server id (default: the gateway's address).
check_client_basic() {
	local n=$1 ip
	ip=$(client_get "$n" ip)
	check_in_pool "$n: address $ip is in the pool" "$ip"
	check_eq "$n: subnet mask (option 1)" 255.255.255.0 "$(client_get "$n" mask)"
	check_eq "$n: router (option 3)" "$DHCP_GW_ADDR" "$(client_get "$n" router)"
	check_eq "$n: DNS server (option 6)" "$DHCP_GW_ADDR" "$(client_get "$n" dns)"
	check_eq "$n: server id (option 54)" "${2:-$DHCP_GW_ADDR}" "$(client_get "$n" serverid)"
}

# check_client_options NAME [SERVER-ID]: the options every client must get
# from the scope (the brief's config), from NAME's normalised lease.
check_client_options() {
	local n=$1
	check_client_basic "$@"
	check_eq "$n: domain (option 15)" lab.home.arpa "$(client_get "$n" domain)"
	check_eq "$n: lease time (option 51)" "$DHCP_LEASE_TIME" "$(client_get "$n" lease)"
	check_eq "$n: MTU (option 26)" 1400 "$(client_get "$n" mtu)"
	check_eq "$n: NTP server (option 42)" "$DHCP_GW_ADDR" "$(client_get "$n" ntp)"
	# RFC 3442: with option 121 the client ignores option 3, so the default
	# route must be inside it.
	check_eq "$n: classless routes (option 121), the default route included" \
		"0.0.0.0/0 $DHCP_GW_ADDR, 100.64.8.0/24 198.51.100.2" "$(client_get "$n" routes)"
}

# check_client_routes NAME NS DEV: option 121's routes are in NS's table.
check_client_routes() {
	local n=$1 ns=$2 dev=$3
	check_match "$n: route 100.64.8.0/24 via 198.51.100.2 installed in the client's namespace" \
		"^100\.64\.8\.0/24 via 198\.51\.100\.2 dev $dev" "$(ip -n "$ns" -4 route show 100.64.8.0/24)"
	check_match "$n: default route via $DHCP_GW_ADDR installed in the client's namespace" \
		"^default via $(re_quote "$DHCP_GW_ADDR") dev $dev" "$(ip -n "$ns" -4 route show default)"
}

# check_lease_bound DESC ADDRESS MAC [HOSTNAME]: the server has ADDRESS bound
# to MAC (and HOSTNAME), expiring within the lease time.
check_lease_bound() {
	local desc=$1 a=$2 mac=$3 host=${4:-}
	local cond='.state == "bound" and (.mac | ascii_downcase) == ($m | ascii_downcase)
		and .expires_in > 0 and .expires_in <= $t'
	[[ -z $host ]] || cond="$cond and .hostname == \$h"
	check_jq "$desc" "$(dhcp_leases)" "[.leases[] | select(.address == \$a)] | length == 1 and (first | $cond)" \
		--arg a "$a" --arg m "$mac" --arg h "$host" --argjson t "$DHCP_LEASE_TIME"
}

# ---- Kea (t-dhcp-relay) ------------------------------------------------------

# kea_start NS DEV: kea-dhcp4 in NS for relayed requests on DEV, the remote
# scope's pool, memfile leases (persisted, with RFC 3046 relay info kept in
# each lease's user context: store-extended-info) in $HGT_TMP/kea.
KEA_DIR=
KEA_PID=
kea_start() {
	local ns=$1 dev=$2 i
	KEA_DIR=$HGT_TMP/kea
	mkdir -p "$KEA_DIR"
	jq -n --arg dev "$dev" --arg dir "$KEA_DIR" --arg first "$DHCP_POOL_FIRST" --arg last "$DHCP_POOL_LAST" \
		--arg gw "$DHCP_GW_ADDR" --argjson lt "$DHCP_LEASE_TIME" '{Dhcp4: {
		"interfaces-config": {interfaces: [$dev], "dhcp-socket-type": "udp"},
		"lease-database": {type: "memfile", persist: true, name: "\($dir)/leases4.csv", "lfc-interval": 0},
		"store-extended-info": true,
		"valid-lifetime": $lt,
		subnet4: [{id: 1, subnet: "198.51.100.0/24", pools: [{pool: "\($first) - \($last)"}],
			"option-data": [{name: "routers", data: $gw}, {name: "domain-name-servers", data: $gw}]}],
		loggers: [{name: "kea-dhcp4", output_options: [{output: "\($dir)/kea.log"}],
			severity: "DEBUG", debuglevel: 55}]}}' >"$KEA_DIR/kea.json"
	KEA_LOCKFILE_DIR=$KEA_DIR KEA_PIDFILE_DIR=$KEA_DIR \
		ip netns exec "$ns" kea-dhcp4 -c "$KEA_DIR/kea.json" >"$KEA_DIR/stdout" 2>&1 &
	KEA_PID=$!
	HGT_HELPERS+=("$KEA_PID")
	for ((i = 0; i < HGT_TIMEOUT * 20; i++)); do
		proc_gone "$KEA_PID" && break
		if grep -q DHCP4_STARTED "$KEA_DIR/kea.log" 2>/dev/null; then
			pass "kea-dhcp4 started in $ns"
			return 0
		fi
		sleep 0.05
	done
	tail -n 20 "$KEA_DIR/stdout" "$KEA_DIR/kea.log" 2>/dev/null | sed 's/^/#   /'
	fatal "kea-dhcp4 started in $ns"
}

kea_stop() {
	[[ -n $KEA_PID ]] || return 0
	kill -TERM "$KEA_PID" 2>/dev/null || true
	wait "$KEA_PID" 2>/dev/null || true
	KEA_PID=
}
