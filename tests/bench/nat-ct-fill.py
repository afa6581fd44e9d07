#!/usr/bin/env python3
"""nat-ct-fill.py SRC FIRST-SPORT NSPORTS DST FIRST-DPORT NDPORTS RATE

One small UDP datagram from SRC:sport to DST:dport for every pair of NSPORTS
source ports (FIRST-SPORT ...) and NDPORTS destination ports (FIRST-DPORT
...), at most RATE datagrams a second (in bursts of 64, paced on
time.monotonic). Through a NAT gateway each pair is a new flow: a
conntrack entry, masqueraded. Run it again to create the entries that a
first pass lost (a datagram dropped before the gateway saw it); the pairs
that already have one are only refreshed. Prints "sent N seconds S".
Used by tests/bench/nat.sh to fill the gateway's conntrack table."""
import errno
import socket
import sys
import time


def main():
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    src, sp0, nsp, dst, dp0, ndp, rate = sys.argv[1:]
    sp0, nsp, dp0, ndp, rate = int(sp0), int(nsp), int(dp0), int(ndp), float(rate)
    socks = []
    for k in range(nsp):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, sp0 + k))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        socks.append(s)
    burst = 64
    t0 = time.monotonic()
    sent = 0
    for d in range(ndp):
        for s in socks:
            for _ in range(1000):
                try:
                    s.sendto(b"x", (dst, dp0 + d))
                    break
                except OSError as e:
                    if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                        raise
                    time.sleep(0.001)  # a full queue: wait, send again
            else:
                print("the queue stays full: giving up", file=sys.stderr)
                return 1
            sent += 1
            if sent % burst == 0:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
    print("sent %d seconds %.2f" % (sent, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
