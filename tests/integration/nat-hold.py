#!/usr/bin/env python3
"""nat-hold.py HOST PORT DIR — one TCP connection held across a change:
connect, send "ping1" and expect it echoed; write DIR/ready; wait until
DIR/go exists; send "ping2" and expect it echoed within 3 s; write
DIR/result "alive" or "dead" (and why). For t-nat: a flow through a forward
must survive a reload that keeps the forward, and die with one that removes
it (its conntrack entry deleted)."""
import os
import socket
import sys
import time


def result(d, text):
    with open(os.path.join(d, "result.tmp"), "w") as f:
        f.write(text + "\n")
    os.rename(os.path.join(d, "result.tmp"), os.path.join(d, "result"))


def echo(s, word):
    s.sendall(word.encode() + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = s.recv(100)
        if not chunk:
            raise ConnectionError("closed")
        got += chunk
    if got.strip() != word.encode():
        raise ValueError("got %r" % got)


def main():
    host, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        s = socket.create_connection((host, port), timeout=5)
        echo(s, "ping1")
    except Exception as e:  # noqa: BLE001 - the result says why
        result(d, "dead (first echo: %s)" % e)
        return
    open(os.path.join(d, "ready"), "w").close()
    for _ in range(1200):
        if os.path.exists(os.path.join(d, "go")):
            break
        time.sleep(0.05)
    s.settimeout(3)
    try:
        echo(s, "ping2")
        result(d, "alive")
    except Exception as e:  # noqa: BLE001
        result(d, "dead (%s)" % e)


if __name__ == "__main__":
    main()
