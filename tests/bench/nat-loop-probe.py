#!/usr/bin/env python3
"""nat-loop-probe.py — is homegwd's loop answering while it does something else?

  nat-loop-probe.py run OUT SECONDS --dns SERVER NAME QPS [--dhcp SERVER GIADDR RATE]
  nat-loop-probe.py analyze OUT WINDOWS

run: for SECONDS, send DNS queries (A NAME, recursion desired, a new id
each) to SERVER:53 at QPS a second, evenly spaced, and — with --dhcp —
DHCPINFORMs at RATE a second as a relay agent would pass them on (RFC 2131
3.4 and 4.1: from GIADDR:67, ciaddr and giaddr GIADDR, to SERVER:67; the
server answers the ACK to GIADDR:67). INFORM because it is answered at once
and touches no lease: a DISCOVER is rate-limited per client and holds a
pool address, a REQUEST waits for the lease journal's disk sync, and either
would measure something else than the loop. Each request's answer is
matched by its id (DNS id, DHCP xid) and its latency taken
(time.perf_counter_ns); requests are not retried. One thread, non-blocking
sockets, the next send time kept on a fixed schedule (a late loop sends the
missed ones at once, and the schedule does not drift). SIGTERM ends the
run early (SECONDS is then an upper bound): no more requests are sent and
the answers still due are awaited (2 s at most). Writes OUT, one line per
request: "KIND SEND_REALTIME_NS LATENCY_US LATE_US" (KIND dns or dhcp;
latency -1: no answer within 2 s; LATE_US: how late the probe sent it
against its schedule — the probe's own delay, which would be in the
latencies too). It creates OUT.ready once its sockets are open.

analyze: split OUT's requests by their send time: those sent inside one of
WINDOWS' intervals (lines "START_NS END_NS", CLOCK_REALTIME, as bash's
EPOCHREALTIME gives them) and the others. Prints per KIND and group:
"KIND GROUP n N lost N median MS p99 MS max MS late MS" (GROUP during or
outside; late: the most the probe itself sent late).

Run it with a real-time priority (chrt -f) on a CPU of its own, so that its
timestamps are the server's delay and not the probe's. Used by
tests/bench/nat.sh."""
import gc
import os
import selectors
import signal
import socket
import struct
import sys
import time

TIMEOUT_NS = 2_000_000_000


def dns_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def dhcp_inform(xid, giaddr, mac):
    """DHCPINFORM (RFC 2131 3.4) from a client at GIADDR, relayed by GIADDR itself."""
    p = struct.pack("!BBBBIHH", 1, 1, 6, 1, xid, 0, 0)
    p += socket.inet_aton(giaddr) + b"\0" * 8 + socket.inet_aton(giaddr) + mac + b"\0" * 192
    return p + bytes([99, 130, 83, 99, 53, 1, 8, 255])


def run(out, seconds, dns, dhcp):
    # no cyclic garbage here: a collection of the growing record list would
    # pause the timing loop for milliseconds
    gc.disable()
    sel = selectors.DefaultSelector()
    streams = []  # [kind, sock, dest, interval_ns, next_ns, make(seq)->(key, bytes), key_of(data)]
    ds = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ds.setblocking(False)
    ds.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    name = dns[1]
    streams.append(["dns", ds, (dns[0], 53), int(1e9 / float(dns[2])),
                    lambda seq: ((seq * 7919) & 0xFFFF, dns_query((seq * 7919) & 0xFFFF, name)),
                    lambda d: struct.unpack("!H", d[:2])[0] if len(d) >= 12 and d[2] & 0x80 else None])
    if dhcp:
        hs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hs.setblocking(False)
        hs.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hs.bind((dhcp[1], 67))
        gi = dhcp[1]
        macs = [b"\x02\x00\x5e\x10\x00" + bytes([k]) + b"\0" * 10 for k in range(16)]
        base = struct.unpack("!I", os.urandom(4))[0]
        streams.append(["dhcp", hs, (dhcp[0], 67), int(1e9 / float(dhcp[2])),
                        lambda seq: (((base + seq) & 0xFFFFFFFF),
                                     dhcp_inform((base + seq) & 0xFFFFFFFF, gi, macs[seq % 16])),
                        lambda d: struct.unpack("!I", d[4:8])[0] if len(d) >= 240 and d[0] == 2 else None])
    for st in streams:
        sel.register(st[1], selectors.EVENT_READ, st)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    open(out + ".ready", "w").close()
    start = time.perf_counter_ns()
    rt0 = time.time_ns() - start  # realtime = perf + rt0 (one offset: the schedule must not jump)
    end = start + int(seconds * 1e9)
    nxt = [start for _ in streams]
    seq = [0 for _ in streams]
    pending = [{} for _ in streams]  # key -> record index
    recs = []  # [kind, send_perf_ns, latency_ns or -1, lateness_ns]
    while True:
        now = time.perf_counter_ns()
        if stop and end > now:
            end = now
        if now >= end + TIMEOUT_NS or (now >= end and not any(pending)):
            break
        for i, st in enumerate(streams):
            while now >= nxt[i] and nxt[i] < end:
                key, pkt = st[4](seq[i])
                seq[i] += 1
                t = time.perf_counter_ns()
                try:
                    st[1].sendto(pkt, st[2])
                except BlockingIOError:
                    pass
                pending[i].pop(key, None)  # a wrapped id: the old one is lost
                pending[i][key] = len(recs)
                recs.append([st[0], t, -1, t - nxt[i]])
                nxt[i] += st[3]
        # expire the unanswered
        for i in range(len(streams)):
            if pending[i]:
                for key in [k for k, r in pending[i].items() if now - recs[r][1] > TIMEOUT_NS]:
                    del pending[i][key]
        wake = min([x for x in nxt if x < end] or [end + TIMEOUT_NS])
        timeout = max(0.0, (wake - time.perf_counter_ns()) / 1e9)
        for skey, _ in sel.select(timeout):
            st = skey.data
            i = streams.index(st)
            while True:
                try:
                    data = st[1].recv(4096)
                except BlockingIOError:
                    break
                t = time.perf_counter_ns()
                key = st[5](data)
                r = pending[i].pop(key, None) if key is not None else None
                if r is not None:
                    recs[r][2] = t - recs[r][1]
    with open(out, "w") as f:
        for kind, t, lat, late in recs:
            f.write("%s %d %d %d\n" % (kind, t + rt0, lat // 1000 if lat >= 0 else -1, late // 1000))
    return 0


def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def analyze(out, windows):
    wins = []
    with open(windows) as f:
        for line in f:
            a = line.split()
            if len(a) >= 2:
                wins.append((int(a[0]), int(a[1])))
    groups = {}
    with open(out) as f:
        for line in f:
            kind, t, lat, late = line.split()
            t, lat, late = int(t), int(lat), int(late)
            g = "during" if any(s <= t <= e for s, e in wins) else "outside"
            groups.setdefault((kind, g), []).append((lat, late))
    for (kind, g) in sorted(groups):
        v = groups[(kind, g)]
        ok = sorted(x[0] / 1000.0 for x in v if x[0] >= 0)
        print("%s %s n %d lost %d median %.3f p99 %.3f max %.3f late %.3f"
              % (kind, g, len(v), len(v) - len(ok), pct(ok, 50), pct(ok, 99), ok[-1] if ok else float("nan"),
                 max(x[1] for x in v) / 1000.0))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "analyze":
        return analyze(a[1], a[2])
    if len(a) >= 3 and a[0] == "run":
        out, seconds, rest = a[1], float(a[2]), a[3:]
        dns = dhcp = None
        while rest:
            if rest[0] == "--dns" and len(rest) >= 4:
                dns, rest = rest[1:4], rest[4:]
            elif rest[0] == "--dhcp" and len(rest) >= 4:
                dhcp, rest = rest[1:4], rest[4:]
            else:
                break
        if dns and not rest:
            return run(out, seconds, dns, dhcp)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
