#!/usr/bin/env python3
"""nat-pcp-load.py SERVER FIRST-CLIENT NCLIENTS COUNT OUT [--lifetime S] [--port P] [--delete]
                  [--warm-only | --no-warm]

PCP (RFC 6887) MAP requests back to back, one in flight at a time: each is
sent, its answer awaited (1 s, then sent again, 3 tries), the next sent at
once. COUNT mappings spread over NCLIENTS client addresses FIRST-CLIENT,
FIRST-CLIENT+1, ... (each must be an address of this host: homegwd grants a
client mappings for its own address only, at most 64 each), round robin:
request i is for client i % NCLIENTS, TCP internal port P + i // NCLIENTS
(default P 30000), suggested external port the same, lifetime S (default
600). Every request gets a random nonce; the nonces go to OUT.nonces so that
--delete can send the same requests with lifetime 0 (RFC 6887 15: deleting
needs the mapping's nonce), removing what a previous run made.

Before the first timed request each client sends one NAT-PMP external
address request (RFC 6886 3.2, no mapping), so that the ARP entries both
ways exist and the first request of a client does not pay for them.
--warm-only does only that (and writes nothing), --no-warm skips it: so a
caller can keep the warm-up out of the server's CPU time it measures.

Writes OUT (one line per request: "LATENCY_US RESULT LIFETIME EXTERNAL_PORT",
latency -1 when never answered) and prints a summary line:
  sent N answered N success N noanswer N retries N results CODE:N,...
  wall_s S lat_ms median P50 p90 P90 p99 P99 max MAX
The latency of a request is from the send that got the answer to its
arrival (time.perf_counter_ns); the python side costs some tens of us of it.
Used by tests/bench/nat.sh."""
import gc
import os
import socket
import struct
import sys
import time


def pcp_map(client, port, life, nonce):
    """A PCP MAP request (RFC 6887 7.1 + 11.1) for TCP CLIENT:PORT."""
    mapped = b"\0" * 10 + b"\xff\xff" + socket.inet_aton(client)
    req = struct.pack("!BBHI", 2, 1, 0, life) + mapped
    return req + nonce + struct.pack("!B3xHH", 6, port, port) + b"\0" * 16


def exchange(s, server, req, tries=3):
    """Send REQ, wait for its answer (1 s per try). (latency_ns, data, retries) or (None, None, tries)."""
    for t in range(tries):
        t0 = time.perf_counter_ns()
        s.sendto(req, (server, 5351))
        deadline = t0 + 1_000_000_000
        while True:
            left = (deadline - time.perf_counter_ns()) / 1e9
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, _ = s.recvfrom(2000)
            except socket.timeout:
                break
            t1 = time.perf_counter_ns()
            # a MAP answer echoes the nonce (RFC 6887 11.1): skip stale answers of a retried request
            if len(data) >= 36 and data[1] == 0x81 and data[24:36] == req[24:36]:
                return t1 - t0, data, t
            if len(data) >= 4 and req[0] == 0 and data[1] == 0x80:
                return t1 - t0, data, t
    return None, None, tries


def pct(v, p):
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    # no cyclic garbage here: a collection of the growing record list would
    # pause the timing loop for milliseconds
    gc.disable()
    args = sys.argv[1:]
    life, base, delete = 600, 30000, False
    if "--lifetime" in args:
        i = args.index("--lifetime")
        life = int(args[i + 1])
        del args[i:i + 2]
    if "--port" in args:
        i = args.index("--port")
        base = int(args[i + 1])
        del args[i:i + 2]
    if "--delete" in args:
        args.remove("--delete")
        delete = True
    warm = "--no-warm" not in args
    warm_only = "--warm-only" in args
    args = [a for a in args if a not in ("--no-warm", "--warm-only")]
    if len(args) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    server, first, nclients, count, out = args[0], args[1], int(args[2]), int(args[3]), args[4]
    f0 = struct.unpack("!I", socket.inet_aton(first))[0]
    clients = [socket.inet_ntoa(struct.pack("!I", f0 + k)) for k in range(nclients)]
    socks = []
    for c in clients:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((c, 0))
        socks.append(s)
    if warm_only or warm:
        # ARP both ways, the server's path hot (NAT-PMP opcode 0: no mapping)
        for s in socks:
            if exchange(s, server, b"\0\0")[0] is None:
                print("warm-up: no answer from %s for %s" % (server, s.getsockname()[0]), file=sys.stderr)
                return 1
        if warm_only:
            return 0
    if delete:
        with open(out + ".nonces") as f:
            nonces = [bytes.fromhex(x.strip()) for x in f]
        count = min(count, len(nonces))
        life = 0
    else:
        nonces = [os.urandom(12) for _ in range(count)]
        with open(out + ".nonces", "w") as f:
            f.write("".join(n.hex() + "\n" for n in nonces))
    lat, results = [], {}
    answered = success = retries = 0
    lines = []
    w0 = time.perf_counter_ns()
    for i in range(count):
        k = i % nclients
        port = base + i // nclients
        ns, data, r = exchange(socks[k], server, pcp_map(clients[k], port, life, nonces[i]))
        retries += r
        if ns is None:
            lines.append("-1 - - -\n")
            continue
        answered += 1
        res = data[3]
        lifetime = struct.unpack("!I", data[4:8])[0]
        eport = struct.unpack("!H", data[42:44])[0] if len(data) >= 60 else 0
        results[res] = results.get(res, 0) + 1
        success += res == 0
        lat.append(ns)
        lines.append("%d %d %d %d\n" % (ns // 1000, res, lifetime, eport))
    w1 = time.perf_counter_ns()
    with open(out, "w") as f:
        f.writelines(lines)
    lat.sort()
    ms = [x / 1e6 for x in lat]
    print("sent %d answered %d success %d noanswer %d retries %d results %s wall_s %.3f "
          "lat_ms median %.3f p90 %.3f p99 %.3f max %.3f"
          % (count, answered, success, count - answered, retries,
             ",".join("%d:%d" % kv for kv in sorted(results.items())) or "-", (w1 - w0) / 1e9,
             pct(ms, 50), pct(ms, 90), pct(ms, 99), ms[-1] if ms else float("nan")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
