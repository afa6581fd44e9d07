#!/usr/bin/env python3
"""pcp-client.py SERVER CLIENT-ADDR PROTO INTERNAL-PORT LIFETIME [SUGGESTED-PORT] [--nonce HEX]
A PCP (RFC 6887) MAP request from this host; prints the answer as
"result=N lifetime=N epoch=N external=A.B.C.D:PORT" (or "noanswer").
Debian packages no PCP client, so the tests carry this one."""
import os
import socket
import struct
import sys


def main():
    args = sys.argv[1:]
    nonce = os.urandom(12)
    if "--nonce" in args:
        i = args.index("--nonce")
        nonce = bytes.fromhex(args[i + 1])
        del args[i:i + 2]
    server, client, proto, iport, life = args[:5]
    sport = int(args[5]) if len(args) > 5 else 0
    pnum = {"tcp": 6, "udp": 17}[proto]
    mapped = b"\0" * 10 + b"\xff\xff" + socket.inet_aton(client)
    req = struct.pack("!BBHI", 2, 1, 0, int(life)) + mapped
    req += nonce + struct.pack("!B3xHH", pnum, int(iport), sport) + b"\0" * 16
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((client, 0))
    s.settimeout(2)
    for _ in range(3):
        s.sendto(req, (server, 5351))
        try:
            data, _ = s.recvfrom(2000)
            break
        except socket.timeout:
            continue
    else:
        print("noanswer")
        return
    ver, op, _, result, lifetime, epoch = struct.unpack("!BBBBII", data[:12])
    if len(data) >= 60:
        eport = struct.unpack("!H", data[42:44])[0]
        eaddr = socket.inet_ntoa(data[56:60])
    else:
        eport, eaddr = 0, "0.0.0.0"
    print("version=%d op=%d result=%d lifetime=%d epoch=%d external=%s:%d nonce=%s"
          % (ver, op, result, lifetime, epoch, eaddr, eport, nonce.hex()))


if __name__ == "__main__":
    main()
