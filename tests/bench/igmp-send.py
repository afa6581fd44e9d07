#!/usr/bin/env python3
"""igmp-send.py — the multicast source of tests/bench/igmp.sh.

  igmp-send.py GROUP PORT SOURCE-ADDR INTERVAL-MS

Sends a datagram "SEQ TIME" (TTL 8) to GROUP:PORT from SOURCE-ADDR every
INTERVAL-MS milliseconds until killed, on a fixed schedule (each send is due
at start + k * interval, so a late wakeup does not shift the ones after it).
tests/integration/mcast.py sends every 20 ms; the benchmark wants a finer
grain, since the join latency it measures includes the wait for the next
datagram (up to one interval). Times are time.monotonic(), the clock of
mcast.py's receiver and sniffer."""
import socket
import sys
import time


def main():
    group, port, src, interval_ms = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    if not 0.5 <= interval_ms <= 1000:
        sys.exit("igmp-send.py: INTERVAL-MS between 0.5 and 1000")
    step = interval_ms / 1000.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.bind((src, 0))
    seq = 0
    due = time.monotonic()
    while True:
        s.sendto(("%d %.6f" % (seq, time.monotonic())).encode(), (group, port))
        seq += 1
        due += step
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -step:
            # Far behind (the machine was busy): resume the schedule from
            # now rather than sending a burst to catch up.
            due = time.monotonic()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
