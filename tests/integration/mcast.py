#!/usr/bin/env python3
"""mcast.py — multicast helpers for t-igmp (one file, three roles):

  mcast.py send GROUP PORT [SOURCE-ADDR]        a datagram every 20 ms (TTL 8), "SEQ TIME"
  mcast.py recv IFADDR GROUP PORT DIR [SOURCE]  join (any source, or SOURCE only: IGMPv3
                                                INCLUDE), log "SRC SEQ TIME" per datagram to
                                                DIR/log; leave when DIR/leave exists
                                                (writing DIR/left with the time), exit
  mcast.py sniff DEV GROUP FILE                 every IPv4 packet to GROUP seen on DEV:
                                                "TIME SRC" lines (AF_PACKET), until killed
  mcast.py igmpsniff DEV FILE                   every IGMP packet on DEV: "TIME SRC DST TYPE GROUP"
Times are time.monotonic() (one clock for all namespaces of the machine)."""
import os
import socket
import struct
import sys
import time


def send(group, port, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    if src:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        s.bind((src, 0))
    seq = 0
    while True:
        s.sendto(("%d %.6f" % (seq, time.monotonic())).encode(), (group, int(port)))
        seq += 1
        time.sleep(0.02)


def recv(ifaddr, group, port, d, source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, int(port)))
    if source:
        # struct ip_mreq_source: imr_multiaddr, imr_interface, imr_sourceaddr (Linux order)
        mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr) + socket.inet_aton(source)
        s.setsockopt(socket.IPPROTO_IP, 39, mreq)  # IP_ADD_SOURCE_MEMBERSHIP
    else:
        mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    with open(os.path.join(d, "joined"), "w") as f:
        f.write("%.6f\n" % time.monotonic())
    s.settimeout(0.05)
    log = open(os.path.join(d, "log"), "a", buffering=1)
    while not os.path.exists(os.path.join(d, "leave")):
        try:
            data, addr = s.recvfrom(2000)
        except socket.timeout:
            continue
        log.write("%s %s %.6f\n" % (addr[0], data.split()[0].decode(), time.monotonic()))
    s.close()  # the kernel sends the leave / TO_IN {}
    with open(os.path.join(d, "left"), "w") as f:
        f.write("%.6f\n" % time.monotonic())


def tap(dev):
    """Every IPv4 packet on DEV, both directions: ETH_P_ALL (a socket for one
    ethertype does not see what the host sends)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
    s.bind((dev, 0))
    while True:
        pkt, addr = s.recvfrom(65535)
        if addr[1] == 0x0800:
            yield pkt


def sniff(dev, group, path):
    g = socket.inet_aton(group)
    out = open(path, "a", buffering=1)
    for pkt in tap(dev):
        if len(pkt) >= 20 and pkt[16:20] == g and pkt[9] == 17:
            out.write("%.6f %s\n" % (time.monotonic(), socket.inet_ntoa(pkt[12:16])))


def igmpsniff(dev, path):
    out = open(path, "a", buffering=1)
    for pkt in tap(dev):
        if len(pkt) < 20 or pkt[9] != 2:
            continue
        ihl = (pkt[0] & 0xF) * 4
        if len(pkt) < ihl + 8:
            continue
        out.write("%.6f %s %s 0x%02x %s\n" % (time.monotonic(), socket.inet_ntoa(pkt[12:16]),
                                               socket.inet_ntoa(pkt[16:20]), pkt[ihl],
                                               socket.inet_ntoa(pkt[ihl + 4:ihl + 8])))


if __name__ == "__main__":
    role, args = sys.argv[1], sys.argv[2:]
    {"send": send, "recv": recv, "sniff": sniff, "igmpsniff": igmpsniff}[role](*args)
