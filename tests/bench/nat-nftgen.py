#!/usr/bin/env python3
"""nat-nftgen.py gen | watch OUT — nftables transactions of this network namespace.

  gen        print the ruleset's generation id (NFT_MSG_GETGEN): every
             committed transaction adds exactly one, so the difference
             around a change counts the transactions it took
  watch OUT  listen to the nftables event group (NFNLGRP_NFTABLES) until
             SIGTERM/SIGINT, then write to OUT one line per NFT_MSG_NEWGEN
             event ("newgen ID PID NAME") and a summary line
             ("events N newgen M lost L"): M is the number of transactions
             committed while it listened, whoever made them. The socket's
             receive buffer is forced to 64 MiB so that the element events
             of a 10,000-element transaction are not lost; if some are
             (ENOBUFS), L says so and the count is not to be trusted.

Plain netlink (AF_NETLINK, NETLINK_NETFILTER): Debian's python has no
nftables binding, and the nft binary's monitor formats every element event
(slow enough to lose events). Used by tests/bench/nat.sh."""
import errno
import os
import signal
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
NFT_MSG_GETGEN = 16
NFTA_GEN_ID = 1
NFTA_GEN_PROC_PID = 2
NFTA_GEN_PROC_NAME = 3
NFNLGRP_NFTABLES = 7
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
SO_RCVBUFFORCE = 33


def attrs(buf):
    """The netlink attributes of BUF as {type: payload}."""
    out = {}
    off = 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            break
        out[atype & 0x3FFF] = buf[off + 4:off + alen]
        off += (alen + 3) & ~3
    return out


def messages(data):
    """(type, payload after nlmsghdr) of each message in DATA."""
    off = 0
    while off + 16 <= len(data):
        mlen, mtype, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
        if mlen < 16 or off + mlen > len(data):
            break
        yield mtype, data[off + 16:off + mlen]
        off += (mlen + 3) & ~3


def newgen(payload):
    """(id, pid, name) of a NEWGEN payload (nfgenmsg, then attributes)."""
    a = attrs(payload[4:])
    gid = struct.unpack("!I", a[NFTA_GEN_ID])[0] if NFTA_GEN_ID in a else -1
    pid = struct.unpack("!I", a[NFTA_GEN_PROC_PID])[0] if NFTA_GEN_PROC_PID in a else 0
    name = a.get(NFTA_GEN_PROC_NAME, b"?").rstrip(b"\0").decode("ascii", "replace") or "?"
    return gid, pid, name


def gen():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    hdr = struct.pack("=IHHII", 16 + 4, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, NLM_F_REQUEST, 1, 0)
    s.send(hdr + struct.pack("=BBH", socket.AF_UNSPEC, 0, 0))
    while True:
        for mtype, payload in messages(s.recv(65536)):
            if mtype == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
                print(newgen(payload)[0])
                return 0
            if mtype == NLMSG_ERROR:
                err = struct.unpack_from("=i", payload)[0]
                if err:
                    print("GETGEN: %s" % os.strerror(-err), file=sys.stderr)
                    return 1


def watch(out):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind((0, 1 << (NFNLGRP_NFTABLES - 1)))
    s.settimeout(0.05)
    events = lost = 0
    gens = []
    with open(out + ".tmp", "w") as f:
        f.write("listening\n")
    os.replace(out + ".tmp", out + ".ready")
    while True:
        try:
            data = s.recv(1 << 20)
        except socket.timeout:
            if stop:
                break
            continue
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                lost += 1
                continue
            raise
        for mtype, payload in messages(data):
            events += 1
            if mtype == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
                gens.append(newgen(payload))
    with open(out, "w") as f:
        for gid, pid, name in gens:
            f.write("newgen %d %d %s\n" % (gid, pid, name))
        f.write("events %d newgen %d lost %d\n" % (events, len(gens), lost))
    return 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "gen":
        return gen()
    if len(sys.argv) == 3 and sys.argv[1] == "watch":
        return watch(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
