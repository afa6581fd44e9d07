#!/usr/bin/env bash
# t-dhcp-kill9: an ACK is a promise. Two checks:
#
# 1. Under load: 50 udhcpc clients in parallel, each on a macvlan of its own
#    in the lan namespace, each taking a lease for 4 MACs in turn (200
#    leases); every address a client saw ACKed is logged by its script. Half
#    way the server is SIGKILLed and started again at once; the clients
#    retry until they are done. Then every ACKed (address, MAC) is in the
#    leases, bound to that MAC, and no address was ACKed to two MACs.
# 2. The sync gate: strace attaches to the running server and holds every
#    fsync/fdatasync/sync_file_range/syncfs/msync for 60 s. A new client
#    must NOT get an ACK meanwhile (DESIGN.md, Persistence: the ACK leaves
#    only after its journal record is on disk), and the server must have
#    tried to sync. A server that sends the ACK before its sync returns
#    fails here even though SIGKILL alone (1.) cannot show it: killing a
#    process loses nothing that reached the page cache.
#
# DHCP_SERVER=dnsmasq passes (dnsmasq fsyncs its lease file before it sends
# the ACK); DHCP_SERVER=dnsmasq-volatile (leases stored after the reply,
# unsynced) must fail the gate. The gate sees syncs made by syscalls: the
# daemon runs with UV_USE_IO_URING=0 so a later libuv keeps its threadpool.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"
# shellcheck source=dhcp-lib.sh
source "$(dirname "$0")/dhcp-lib.sh"

command -v strace >/dev/null || fatal "strace is installed (scripts/deps.sh)"
export UV_USE_IO_URING=0

NCLIENTS=50
ROUNDS=4
TOTAL=$((NCLIENTS * ROUNDS))
# 200 leases do not fit the usual 100-address pool.
DHCP_POOL_FIRST=198.51.100.20
DHCP_POOL_LAST=198.51.100.250

dhcp_lan_setup
for ((i = 1; i <= NCLIENTS; i++)); do
	ip -n "$LAN" link add "mv$i" link eth0 type macvlan mode bridge
	ip -n "$LAN" link set "mv$i" up
done
dhcp_start gw "$GW" lan veth-lan

LOAD=$HGT_TMP/load
mkdir -p "$LOAD"
# The clients' script: one line "ADDRESS MAC" per ACK, written by the client
# after it got the ACK (udhcpc passes its environment on: CLIENT_MAC).
cat >"$LOAD/script" <<EOF
#!/bin/sh
[ "\$1" = bound ] || [ "\$1" = renew ] || exit 0
echo "\$ip \$CLIENT_MAC" >>"$LOAD/acks.\$interface"
EOF
# One client: ROUNDS MACs in turn on its macvlan, each until it has a lease
# (bounded tries: the server is away for a while in the middle).
cat >"$LOAD/client" <<'EOF'
#!/bin/bash
set -u
idx=$1 rounds=$2 dir=$3
dev=mv$idx
for ((r = 1; r <= rounds; r++)); do
	mac=$(printf '02:00:00:%02x:%02x:%02x' $((0x10 + r)) $((idx >> 8)) $((idx & 255)))
	ip link set dev "$dev" address "$mac"
	for ((try = 1; ; try++)); do
		CLIENT_MAC=$mac udhcpc -f -q -n -i "$dev" -s "$dir/script" -t 3 -T 1 >>"$dir/log.$dev" 2>&1 && break
		if ((try >= 10)); then
			echo "round $r: no lease after $try tries" >>"$dir/log.$dev"
			exit 1
		fi
	done
done
EOF
chmod 0755 "$LOAD/script" "$LOAD/client"

acks() { cat "$LOAD"/acks.* 2>/dev/null | grep -c . || true; }
at_least_acks() { (($(acks) >= $1)); }

pids=()
for ((i = 1; i <= NCLIENTS; i++)); do
	ip netns exec "$LAN" "$LOAD/client" "$i" "$ROUNDS" "$LOAD" &
	pids+=($!)
	HGT_HELPERS+=($!)
done
note "$NCLIENTS clients started, $ROUNDS MACs each"

wait_for "load: half of the $TOTAL leases ACKed" at_least_acks $((TOTAL / 2))
dhcp_stop KILL
note "SIGKILL with $(acks) ACKs seen by the clients"
dhcp_restart

# Every client finishes (bounded: each try is at most 4 s, 10 tries a round).
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
check_eq "load: every client got all its $ROUNDS leases (retrying across the restart)" 0 "$failed"
check_eq "load: $TOTAL ACKs seen by the clients" "$TOTAL" "$(acks)"

# ackjson: the ACKs seen, as [{"ip":..,"mac":..}].
ackjson() {
	cat "$LOAD"/acks.* | jq -R -s -c '[split("\n")[] | select(length > 0) | split(" ") | {ip: .[0], mac: .[1]}]'
}
ACKS=$(ackjson)
twice=$(jq -c 'group_by(.ip) | map(select(map(.mac) | unique | length > 1) | {ip: .[0].ip, macs: map(.mac)})' \
	<<<"$ACKS")
if [[ $twice == "[]" ]]; then
	pass "load: no address was ACKed to two MACs"
else
	fail "load: no address was ACKed to two MACs" \
		"$(jq length <<<"$twice") addresses were: $(jq -c '.[:10]' <<<"$twice")"
fi

# check_acks_kept DESC: every ACKed (address, MAC) is bound in the leases.
check_acks_kept() {
	local leases missing
	leases=$(dhcp_leases)
	missing=$(jq -c --argjson l "$leases" '[.[] | . as $a | select(any($l.leases[];
		.address == $a.ip and (.mac | ascii_downcase) == $a.mac and .state == "bound") | not)]' <<<"$ACKS")
	if [[ $missing == "[]" ]]; then
		pass "$1"
	else
		fail "$1" \
			"$(jq length <<<"$missing") of $(jq length <<<"$ACKS") ACKs missing or not bound to their MAC:" \
			"$(jq -c '.[:10]' <<<"$missing")" "their leases now: $(jq -c --argjson m "$missing" \
				'[.leases[] | select(.address | IN($m[].ip))] | .[:10]' <<<"$leases")"
	fi
}
check_acks_kept "after SIGKILL under load: every ACKed address is bound to the MAC that got it"

# ---- the sync gate ----
ip -n "$LAN" link add mvg link eth0 type macvlan mode bridge
ip -n "$LAN" link set mvg address 02:00:00:00:0f:01 up
STRACE_LOG=$HGT_TMP/strace.out
syncs=fsync,fdatasync,sync_file_range,syncfs,msync
sync_re="(${syncs//,/|})\\("
strace -f -p "$HGT_PID" -e trace=$syncs -e inject=$syncs:delay_enter=60000000 -o "$STRACE_LOG" \
	2>"$HGT_TMP/strace.err" &
strace_pid=$!
disown "$strace_pid" # its end is of no interest (and not to be reported as "Killed")
HGT_HELPERS+=("$strace_pid")
wait_for "sync gate: strace holds the server's syncs" grep -q attached "$HGT_TMP/strace.err"

rc=0
ip netns exec "$LAN" env CLIENT_MAC=02:00:00:00:0f:01 \
	udhcpc -f -q -n -i mvg -s "$LOAD/script" -t 4 -T 1 >"$LOAD/log.mvg" 2>&1 || rc=$?
gate_acks=$(cat "$LOAD/acks.mvg" 2>/dev/null || true)
if [[ -z $gate_acks && $rc != 0 ]]; then
	pass "sync gate: no ACK while the server could not sync"
else
	fail "sync gate: no ACK while the server could not sync" \
		"the client was ACKed ($gate_acks) while every sync call was held:" \
		"the ACK left before its record was on disk" \
		"syncs the server entered: $(grep -c -E "$sync_re" "$STRACE_LOG" 2>/dev/null || true)"
fi
check_match "sync gate: the server tried to sync the lease (a sync call is held)" \
	"$sync_re" "$(cat "$STRACE_LOG" 2>/dev/null)"
check_match "sync gate: the client did see an OFFER (the server was answering)" 'select for' \
	"$(<"$LOAD/log.mvg")"

# Kill it with the sync still held (the gate client's lease was never
# promised): SIGKILL first, then strace, so the held thread is let go only to
# die — a thread in a ptrace stop is not woken by SIGKILL on every kernel.
kill -KILL "$HGT_PID" 2>/dev/null || true
kill -KILL "$strace_pid" 2>/dev/null || true
wait "$strace_pid" 2>/dev/null || true
dhcp_stop KILL
dhcp_restart
check_acks_kept "after the second SIGKILL: every ACK of the load still bound to its MAC"

dhcp_stop TERM
hgt_done
