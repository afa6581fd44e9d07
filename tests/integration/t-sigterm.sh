#!/usr/bin/env bash
# t-sigterm: SIGTERM and SIGINT stop homegwd cleanly (exit 0, bounded time,
# control socket removed), also while a client holds a connection open.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters, bash -c scripts
source "$(dirname "$0")/lib.sh"

GW=$HGT_PREFIX-gw
PEER=$HGT_PREFIX-peer
hgt_netns "$GW"
hgt_netns "$PEER"
hgt_veth "$GW" veth-lan "$PEER" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24

hgt_config <<'EOF'
interface lan { device veth-lan }
EOF

for sig in TERM INT; do
	hgt_start "$GW"
	hgt_wait_ready
	check_eq "SIG$sig run: the control socket is a socket" socket "$(stat -c %F "$HGT_SOCK" 2>&1)"
	hgt_stop "$sig"
	check_eq "SIG$sig run: the control socket file is removed" "" "$(ls -A "$HGT_SOCK" 2>/dev/null)"
done

# ---- with a client connected and idle ----
hgt_start "$GW"
hgt_wait_ready
# A client that connects, sends nothing and keeps its end open.
hgt_helper bash -c 'sleep 60 | socat -u - "UNIX-CONNECT:$1"' _ "$HGT_SOCK"
# The server end of the connection shows as a connected socket on the control
# path (in the client's namespace on current kernels; look in both).
wait_for "idle client: connected" bash -c \
	'{ ss -xH state connected; ip netns exec "$1" ss -xH state connected; } | grep -qF "$2"' _ "$GW" "$HGT_SOCK"
hgt_stop TERM
check_eq "idle client run: the control socket file is removed" "" "$(ls -A "$HGT_SOCK" 2>/dev/null)"

# ---- a stale socket file from a killed run is replaced ----
hgt_start "$GW"
hgt_wait_ready
kill -KILL "$HGT_PID"
wait "$HGT_PID" 2>/dev/null || true
check_eq "after SIGKILL: the socket file is left behind (the stale case)" socket "$(stat -c %F "$HGT_SOCK" 2>&1)"
hgt_start "$GW"
hgt_wait_ready
hgt_stop TERM

hgt_done
