#!/usr/bin/env bash
# t-sdnotify: the sd_notify messages systemd relies on (READY, WATCHDOG,
# RELOADING, STOPPING) on a path and an abstract $NOTIFY_SOCKET, the
# watchdog's WATCHDOG_PID rule, and the "<N>" log prefixes when stderr is
# the journal ($JOURNAL_STREAM) and only then.
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

# A stand-in for systemd's notify socket: one line per assignment received,
# in order ("READY=1", "WATCHDOG=1", ...).
cat >"$HGT_TMP/listen.py" <<'EOF'
import socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        data = s.recv(4096)
        for line in data.decode("utf-8", "replace").split("\n"):
            if line:
                f.write(line + "\n")
EOF

# lines_after FILE N PATTERN: how many lines after line N match PATTERN.
lines_after() { tail -n +"$(($2 + 1))" "$1" | grep -c -x -E "$3" || true; }
# at_least N FILE MARK PATTERN: for wait_for (evaluated at each poll).
at_least() { (($(lines_after "$2" "$3" "$4") >= $1)); }
# grew_past FILE N: FILE has more than N non-empty lines.
grew_past() { (($(grep -c . "$1") > $2)); }
nlines() { wc -l <"$1"; }

# ---- a path socket, with the watchdog ----
msgs=$HGT_TMP/notify.path
hgt_helper python3 "$HGT_TMP/listen.py" "$HGT_TMP/notify.sock" "$msgs"
wait_for "listener on $HGT_TMP/notify.sock" grep -qx LISTENING "$msgs"

NOTIFY_SOCKET=$HGT_TMP/notify.sock WATCHDOG_USEC=200000 hgt_start "$GW"
wait_for "READY=1 is sent" grep -qx 'READY=1' "$msgs"
# READY means serving: the control socket must answer at once.
check_rc "after READY=1: status answers at once" 0 "$HOMEGWCTL" -s "$HGT_SOCK" --json status
check_eq "READY=1 is sent once at start" 1 "$(grep -c -x 'READY=1' "$msgs")"
mark=$(nlines "$msgs")
wait_for "WATCHDOG=1 every WATCHDOG_USEC/2: at least 4 more" at_least 4 "$msgs" "$mark" 'WATCHDOG=1'

mark=$(nlines "$msgs")
kill -HUP "$HGT_PID"
wait_for "SIGHUP: READY=1 again" at_least 1 "$msgs" "$mark" 'READY=1'
seq=$(tail -n +"$((mark + 1))" "$msgs" | grep -x -E 'RELOADING=1|READY=1' | tr '\n' ' ')
check_match "SIGHUP: RELOADING=1 comes first, then READY=1" '^RELOADING=1 READY=1 $' "$seq"

mark=$(nlines "$msgs")
hgt_stop TERM
check_eq "SIGTERM: STOPPING=1 is sent" 1 "$(lines_after "$msgs" "$mark" 'STOPPING=1')"
check_eq "SIGTERM: no READY=1 after it" 0 "$(tail -n +"$((mark + 1))" "$msgs" | sed -n '/^STOPPING=1$/,$p' | grep -c -x 'READY=1' || true)"

# ---- WATCHDOG_PID names another process: no watchdog pings ----
: >"$msgs.2"
hgt_helper python3 "$HGT_TMP/listen.py" "$HGT_TMP/notify2.sock" "$msgs.2"
wait_for "second listener" grep -qx LISTENING "$msgs.2"
NOTIFY_SOCKET=$HGT_TMP/notify2.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 hgt_start "$GW"
wait_for "WATCHDOG_PID=1: READY=1 is sent" grep -qx 'READY=1' "$msgs.2"
# The absence of something needs a window: 5 periods of 100 ms, doubled.
sleep 1
check_eq "WATCHDOG_PID=1 (not us): no WATCHDOG=1 in 1 s" 0 "$(grep -c -x 'WATCHDOG=1' "$msgs.2" || true)"
hgt_stop TERM

# ---- an abstract socket ("@name"): lives in the network namespace ----
msgs_abs=$HGT_TMP/notify.abstract
hgt_helper ip netns exec "$GW" python3 "$HGT_TMP/listen.py" "@$HGT_PREFIX-notify" "$msgs_abs"
wait_for "abstract listener in $GW" grep -qx LISTENING "$msgs_abs"
NOTIFY_SOCKET=@$HGT_PREFIX-notify hgt_start "$GW"
wait_for "abstract socket: READY=1 is sent" grep -qx 'READY=1' "$msgs_abs"
hgt_wait_ready
hgt_stop TERM
check_eq "abstract socket: STOPPING=1 is sent" 1 "$(grep -c -x 'STOPPING=1' "$msgs_abs" || true)"

# ---- no NOTIFY_SOCKET: runs all the same ----
hgt_start "$GW"
hgt_wait_ready
hgt_stop TERM

# ---- JOURNAL_STREAM names stderr: every line starts with "<N>" ----
HGT_JOURNAL=1 hgt_start "$GW"
hgt_wait_ready
before=$(grep -c . "$HGT_LOG")
kill -HUP "$HGT_PID"
wait_for "journal: the reload is logged" grew_past "$HGT_LOG" "$before"
hgt_stop TERM
total=$(grep -c . "$HGT_LOG" || true)
plain=$(grep -v -c -E '^<[0-7]>' "$HGT_LOG" || true)
if ((total > 0 && plain == 0)); then
	pass "journal: all $total log lines start with <N>"
else
	fail "journal: every log line starts with <N>" "$plain of $total lines do not:" "$(grep -v -E '^<[0-7]>' "$HGT_LOG" | head -n 5)"
fi

# ---- JOURNAL_STREAM naming another file: plain lines ----
other=$HGT_TMP/not-stderr
: >"$other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$other") hgt_start "$GW"
hgt_wait_ready
before=$(grep -c . "$HGT_LOG")
kill -HUP "$HGT_PID"
wait_for "not the journal: the reload is logged" grew_past "$HGT_LOG" "$before"
hgt_stop TERM
total=$(grep -c . "$HGT_LOG" || true)
prefixed=$(grep -c -E '^<[0-7]>' "$HGT_LOG" || true)
if ((total > 0 && prefixed == 0)); then
	pass "not the journal: none of the $total log lines starts with <N>"
else
	fail "not the journal: no log line starts with <N>" "$prefixed of $total lines do" "$(head -n 5 "$HGT_LOG")"
fi

hgt_done
