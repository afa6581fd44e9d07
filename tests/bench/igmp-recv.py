#!/usr/bin/env python3
"""igmp-recv.py — the receiver of tests/bench/igmp.sh.

  igmp-recv.py IFADDR GROUP PORT DIR

tests/integration/mcast.py's receiver, keeping each datagram's send time:
joins GROUP on the interface of IFADDR (any source), writes DIR/joined with
the time the join returned, logs "SRC SEQ SENT RECEIVED" per datagram to
DIR/log (SENT from igmp-send.py's payload "SEQ TIME"), leaves (closes the
socket: the kernel sends the leave) once DIR/leave exists, writes DIR/left
with the time the close returned, and exits. The send time tells a datagram
of the stream from one the router's kernel held back before the join (the
unresolved-route queue of Linux multicast routing, flushed when the daemon
adds the route) and delivers seconds late. Times are time.monotonic(), one
clock for all namespaces of the machine."""
import os
import socket
import sys
import time


def main():
    ifaddr, group, port, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(ifaddr))
    with open(os.path.join(d, "joined"), "w") as f:
        f.write("%.6f\n" % time.monotonic())
    s.settimeout(0.01)
    leave = os.path.join(d, "leave")
    with open(os.path.join(d, "log"), "a", buffering=1) as log:
        while not os.path.exists(leave):
            try:
                data, addr = s.recvfrom(2000)
            except socket.timeout:
                continue
            now = time.monotonic()
            f = data.split()
            if len(f) != 2:
                continue
            log.write("%s %s %s %.6f\n" % (addr[0], f[0].decode(errors="replace"), f[1].decode(errors="replace"),
                                            now))
    s.close()
    with open(os.path.join(d, "left"), "w") as f:
        f.write("%.6f\n" % time.monotonic())


if __name__ == "__main__":
    main()
