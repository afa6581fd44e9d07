#!/usr/bin/env python3
"""soak.py — homegwd for a long time, under load and under faults (issue 7).

The run (`soak.py run ...`, as root; tests/soak/soak.sh builds and calls it):

  PREFIX-inet   the lab internet: eth0 203.0.113.1/24, nsd root/TLD/auth
                servers on 198.18.0.0/15 (scripts/lab-internet.sh), a TCP and
                UDP echo server on 203.0.113.1:7, a multicast stream to
                239.1.2.3:5000 (50 datagrams/s)
  PREFIX-gw     homegwd under a supervisor loop: veth-wan 203.0.113.2/24,
                br-lan 100.64.0.1/16 (a bridge with one port per LAN host)
  PREFIX-host   100.64.0.10: dnsperf, NAT flows, the forward's echo server on
                :80, a multicast receiver joining and leaving
  PREFIX-perf   100.64.0.11: perfdhcp as a relay (giaddr 100.65.0.1, the
                scope 100.65.0.0/16), a second multicast receiver
  PREFIX-c1..4  real dhclients joining (DORA), leaving (RELEASE or silently)
                and coming back (INIT-REBOOT from their lease files)

Faults: a config reload every 10 s (two files alternating: forwards, a scope
that comes and goes, scope options), the WAN link down for 3 s every minute
(the default route put back after, as a WAN client would), homegwd killed
with SIGKILL every --kill-every seconds and restarted at once by the
supervisor (systemd's Restart= does the same).

Checks (each printed with its figure; the exit status is 1 when one fails):
  - ACKed leases lost: every DHCPACK seen on br-lan (AF_PACKET, before the
    client got it) whose lease has not run out or been released must be in
    `homegwctl leases`, bound to the same MAC, after every restart and at
    the end: 0 lost.
  - DNS answers lost (dnsperf, 10 s rounds, a new file of names each round:
    half names the cache holds, half never asked before): 0 outside the kill
    windows (SIGKILL until READY + 2 s; a round that overlaps one is counted
    apart).
  - NAT flows (new TCP connections and UDP exchanges LAN -> internet, one
    long TCP connection, connections through the forward from the
    internet): none fails outside the WAN-down windows, kill windows included
    (the kernel keeps translating while homegwd is down).
  - multicast: every join outside the fault windows gets the stream.
  - reloads: every one the running daemon was asked for answers ok.
  - no exit but our SIGKILLs (and exit 0 at the final SIGTERM); no sanitizer
    report in any log.
  - RSS and open files flat: per incarnation of homegwd (between kills) the
    last sample against the one at 1/3 of its life, and incarnation
    against incarnation (bounds: flat()'s callers). RSS is printed but not
    judged on an ASan build (its quarantine holds freed memory by design);
    LeakSanitizer checks for leaks there at the final SIGTERM.

Every helper role runs as `soak.py ROLE ARGS` inside a namespace; times in
their logs are time.monotonic() (one clock for every namespace) or, for the
DHCP ledger, time.time() to compare with lease expiry times.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MCAST = os.path.join(ROOT, "tests", "integration", "mcast.py")
PY = sys.executable or "python3"

GROUP, GROUP_PORT = "239.1.2.3", 5000
INET_ADDR, WAN_ADDR = "203.0.113.1", "203.0.113.2"
GW_LAN, HOST_ADDR, PERF_ADDR, GIADDR = "100.64.0.1", "100.64.0.10", "100.64.0.11", "100.65.0.1"

# ---------------------------------------------------------------------------
# helper roles (run inside a namespace)


def role_echo_server(addr, port, ready):
    """TCP and UDP echo on ADDR:PORT, a thread per TCP connection; READY is
    written once both listen."""
    port = int(port)

    def tcp_conn(c):
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))

    def udp():
        while True:
            data, peer = u.recvfrom(4096)
            u.sendto(data, peer)

    threading.Thread(target=udp, daemon=True).start()
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(128)
    open(ready, "w").close()
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()


def _echo_once(s, tag):
    """Send a line on the connected TCP socket S; True when it comes back."""
    word = b"%s %d\n" % (tag, random.getrandbits(32))
    s.sendall(word)
    got = b""
    while not got.endswith(b"\n"):
        chunk = s.recv(100)
        if not chunk:
            raise ConnectionError("closed")
        got += chunk
    return got == word


def _echo_tcp(addr, port, timeout=5.0):
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.settimeout(timeout)
        if not _echo_once(s, b"soak"):
            raise ValueError("echo mismatch")


def _echo_udp(addr, port, timeout=5.0):
    word = b"soak %d" % random.getrandbits(32)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        deadline = time.monotonic() + timeout
        while True:  # UDP: ask again each second, as a DNS stub or NTP client does
            s.sendto(word, (addr, port))
            try:
                data, _ = s.recvfrom(100)
                if data == word:
                    return
            except socket.timeout:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError("no echo")


def role_flows(log_path, kinds):
    """NAT flows: KINDS a comma list of tcp:ADDR:PORT, udp:ADDR:PORT, hold:ADDR:PORT.
    tcp/udp: a new connection / exchange every 0.25 s; hold: one TCP
    connection that echoes every second (reconnects when it breaks).
    Log lines: 'START END KIND ok|fail DETAIL' (monotonic)."""
    log = open(log_path, "a", buffering=1)
    lock = threading.Lock()

    def write(t0, kind, ok, detail=""):
        with lock:
            log.write("%.3f %.3f %s %s %s\n" % (t0, time.monotonic(), kind, "ok" if ok else "fail", detail))

    def short(kind, addr, port):
        fn = _echo_tcp if kind == "tcp" else _echo_udp
        while True:
            t0 = time.monotonic()
            try:
                fn(addr, port)
                write(t0, kind, True)
            except Exception as e:  # noqa: BLE001 - every failure is logged
                write(t0, kind, False, type(e).__name__)
            time.sleep(max(0.0, 0.25 - (time.monotonic() - t0)))

    def hold(addr, port):
        while True:
            t0 = time.monotonic()
            try:
                s = socket.create_connection((addr, port), timeout=5)
            except OSError as e:
                write(t0, "hold-connect", False, type(e).__name__)
                time.sleep(1)
                continue
            write(t0, "hold-connect", True)
            s.settimeout(5)
            try:
                while True:
                    t0 = time.monotonic()
                    write(t0, "hold", _echo_once(s, b"hold"))
                    time.sleep(1)
            except Exception as e:  # noqa: BLE001
                write(t0, "hold", False, type(e).__name__)
                s.close()

    for spec in kinds.split(","):
        kind, addr, port = spec.split(":")
        target = hold if kind == "hold" else short
        args = (addr, int(port)) if kind == "hold" else (kind, addr, int(port))
        threading.Thread(target=target, args=args, daemon=True).start()
    while True:
        time.sleep(3600)


def parse_bootp(frame):
    """(msgtype, chaddr, yiaddr, ciaddr, lease) of an Ethernet/IPv4/UDP/BOOTP
    frame, or None."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17 or len(ip) < ihl + 8 + 240:
        return None
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    if not ({sport, dport} & {67, 68}):
        return None
    b = ip[ihl + 8:]
    if b[236:240] != b"\x63\x82\x53\x63":
        return None
    chaddr = ":".join("%02x" % x for x in b[28:34])
    ciaddr, yiaddr = socket.inet_ntoa(b[12:16]), socket.inet_ntoa(b[16:20])
    msgtype, lease = None, None
    i = 240
    while i < len(b):
        code = b[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 2 > len(b) or i + 2 + b[i + 1] > len(b):
            break
        val = b[i + 2:i + 2 + b[i + 1]]
        if code == 53 and len(val) == 1:
            msgtype = val[0]
        elif code == 51 and len(val) == 4:
            lease = struct.unpack("!I", val)[0]
        i += 2 + b[i + 1]
    return msgtype, chaddr, yiaddr, ciaddr, lease


def role_dhcp_sniff(dev, log_path):
    """Every DHCPACK (5) and DHCPRELEASE (7) on DEV: 'WALLTIME TYPE MAC YIADDR CIADDR LEASE'."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((dev, 0))
    log = open(log_path, "a", buffering=1)
    seen = 0
    while True:
        frame = s.recv(65535)
        p = parse_bootp(frame)
        if not p or p[0] not in (5, 7):
            continue
        seen += 1
        log.write("%.3f %d %s %s %s %s\n" % (time.time(), p[0], p[1], p[2], p[3], p[4] or 0))


ROLES = {"echo-server": role_echo_server, "flows": role_flows, "dhcp-sniff": role_dhcp_sniff}

# ---------------------------------------------------------------------------
# the orchestrator


def sh(*cmd, check=True, capture=False, timeout=60):
    r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE if capture else subprocess.DEVNULL, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d %s" % (" ".join(cmd), r.returncode, (r.stderr or "").strip()[:400]))
    return r


class Soak:
    def __init__(self, a):
        self.a = a
        self.bin = os.path.abspath(a.bin)
        self.homegwd = os.path.join(self.bin, "homegwd")
        self.homegwctl = os.path.join(self.bin, "homegwctl")
        self.run_dir = os.path.abspath(a.run_dir)
        self.prefix = "hgs%d" % (os.getpid() % 100000)
        self.ns = {k: "%s-%s" % (self.prefix, k) for k in ("inet", "gw", "host", "perf", "c1", "c2", "c3", "c4")}
        self.conf = os.path.join(self.run_dir, "homegw.conf")
        self.sock = os.path.join(self.run_dir, "control.sock")
        self.state = os.path.join(self.run_dir, "state")
        self.lock = threading.Lock()
        self.events = []  # (monotonic, kind, detail)
        self.stop = threading.Event()
        self.procs = []  # helper processes, killed at the end
        self.pid = None  # the running homegwd
        self.ready = threading.Event()
        self.incarnation = 0
        self.expected_kill = set()
        self.unexpected = []
        self.samples = []  # (incarnation, age, rss_kib, fds)
        self.lease_checks = []  # (label, checked, lost list)
        self.reloads = {"ok": 0, "fail": 0, "skipped": 0, "fail_detail": []}
        self.dns_rounds = []
        self.dhclient = {"bound": 0, "failed": 0, "released": 0, "dropped": 0, "failed_detail": []}
        self.perfdhcp = []
        self.mcast_joins = []
        self.started = None
        self.final_exit = None
        self.final_stats = None

    # -- bookkeeping --
    def event(self, kind, detail=""):
        with self.lock:
            self.events.append((time.monotonic(), kind, detail))
        if self.a.verbose:
            print("%8.1f %s %s" % (time.monotonic() - (self.started or time.monotonic()), kind, detail), flush=True)

    def windows(self, start_kind, end_kind, grace):
        """[(t0, t1)] from each START event to the next END event (+ GRACE)."""
        out, t0 = [], None
        with self.lock:
            evs = list(self.events)
        for t, k, _ in evs:
            if k == start_kind and t0 is None:
                t0 = t
            elif k == end_kind and t0 is not None:
                out.append((t0, t + grace))
                t0 = None
        if t0 is not None:
            out.append((t0, float("inf")))
        return out

    def kill_windows(self):
        return self.windows("kill", "ready", 2.0)

    def flap_windows(self):
        # the WAN down, and 3 s after it is back (ARP, the first retransmits)
        return self.windows("wan-down", "wan-up", 3.0)

    @staticmethod
    def overlaps(t0, t1, wins):
        return any(t0 < b and t1 > a for a, b in wins)

    def spawn(self, ns, cmd, log=None, **kw):
        out = open(log, "ab") if log else subprocess.DEVNULL
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns]] + cmd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def ctl(self, *args, timeout=30):
        r = subprocess.run([self.homegwctl, "-s", self.sock, "--json"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        try:
            return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None, r.stderr.strip()
        except json.JSONDecodeError:
            return r.returncode, None, r.stdout[:200]

    # -- the network --
    def ip(self, ns, *args):
        sh("ip", "-n", self.ns[ns], *args)

    def setup(self):
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.makedirs(self.state)
        for n in self.ns.values():
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
        self.ip("gw", "link", "add", "veth-wan", "type", "veth", "peer", "name", "eth0", "netns", self.ns["inet"])
        self.ip("inet", "addr", "add", INET_ADDR + "/24", "dev", "eth0")
        self.ip("inet", "link", "set", "eth0", "up")
        self.ip("gw", "addr", "add", WAN_ADDR + "/24", "dev", "veth-wan")
        self.ip("gw", "link", "set", "veth-wan", "up")
        self.ip("gw", "route", "add", "default", "via", INET_ADDR)
        self.ip("gw", "link", "add", "br-lan", "type", "bridge")
        self.ip("gw", "addr", "add", GW_LAN + "/16", "dev", "br-lan")
        self.ip("gw", "link", "set", "br-lan", "up")
        for i, k in enumerate(("host", "perf", "c1", "c2", "c3", "c4")):
            port = "p-" + k
            self.ip("gw", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", self.ns[k])
            self.ip("gw", "link", "set", port, "master", "br-lan", "up")
            self.ip(k, "link", "set", "eth0", "address", "02:50:00:00:00:%02x" % (i + 1))
            self.ip(k, "link", "set", "eth0", "up")
        self.ip("host", "addr", "add", HOST_ADDR + "/16", "dev", "eth0")
        self.ip("host", "route", "add", "default", "via", GW_LAN)
        self.ip("perf", "addr", "add", PERF_ADDR + "/16", "dev", "eth0")
        self.ip("perf", "addr", "add", GIADDR + "/16", "dev", "eth0")
        self.ip("perf", "route", "add", "default", "via", GW_LAN)
        self.ip("gw", "route", "add", "100.65.0.0/16", "via", PERF_ADDR)
        sh("ip", "netns", "exec", self.ns["gw"], "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        r = sh("bash", "-c", 'source "$1/scripts/lab-internet.sh" && internet_up "$2" "$3"', "_", ROOT,
               self.ns["inet"], self.run_dir, check=False, capture=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("the lab internet did not come up: " + r.stderr[-600:])
        me = os.path.abspath(__file__)
        for ns, addr, port in (("inet", INET_ADDR, "7"), ("host", HOST_ADDR, "80")):
            self.spawn(ns, [PY, me, "echo-server", addr, port, os.path.join(self.run_dir, "echo-%s.ready" % ns)],
                       os.path.join(self.run_dir, "echo-%s.log" % ns))
        for ns in ("inet", "host"):
            for _ in range(200):
                if os.path.exists(os.path.join(self.run_dir, "echo-%s.ready" % ns)):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("the echo server in %s did not start (echo-%s.log)" % (ns, ns))
        self.spawn("inet", [PY, MCAST, "send", GROUP, str(GROUP_PORT), INET_ADDR],
                   os.path.join(self.run_dir, "mcast-send.log"))
        self.spawn("gw", [PY, me, "dhcp-sniff", "br-lan", os.path.join(self.run_dir, "dhcp-ledger.log")])

    def teardown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        sh("bash", "-c", 'source "$1/scripts/lab-internet.sh" && internet_down "$2" "$3"', "_", ROOT,
           self.ns["inet"], self.run_dir, check=False, timeout=60)
        for n in self.ns.values():
            r = sh("ip", "netns", "pids", n, check=False, capture=True)
            for pid in (r.stdout or "").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            sh("ip", "netns", "del", n, check=False)

    # -- the config, two variants --
    def write_config(self, variant):
        a = variant == "a"
        text = """# soak.py, variant {v}
state-dir {state}
log-level info
interface lan {{ device br-lan }}
interface wan {{ device veth-wan }}
control {{ socket {sock} }}
dhcp lan {{
	pool 100.64.1.0 100.64.3.255
	lease-time 10m
	domain home.arpa
	{lan_opt}
}}
dhcp 100.65.0.0/16 {{
	pool 100.65.1.0 100.65.31.255
	router {giaddr}
	lease-time 10m
}}
{extra_scope}
dns {{
	listen lan
	listen 127.0.0.1
	root-hints {run}/root.hints
	cache-size 4M
}}
nat {{
	masquerade wan
	forward tcp 8080 {host}:80
	{fwd}
	pcp yes
}}
igmp-proxy {{
	upstream wan
	downstream lan
}}
""".format(v=variant, state=self.state, sock=self.sock, run=self.run_dir, giaddr=GIADDR, host=HOST_ADDR,
           lan_opt="ntp-server " + GW_LAN if a else "mtu 1500",
           extra_scope="dhcp 100.66.0.0/24 {\n\tpool 100.66.0.10 100.66.0.200\n\trouter 100.66.0.1\n}" if a else "",
           fwd="forward tcp 8081 %s:80" % HOST_ADDR if a else "forward udp 9000-9009 %s:9000" % HOST_ADDR)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.conf)

    # -- homegwd under a supervisor --
    def supervisor(self):
        env = dict(os.environ)
        while not self.stop.is_set():
            self.incarnation += 1
            inc = self.incarnation
            log = os.path.join(self.run_dir, "homegwd-%03d.log" % inc)
            with open(log, "wb") as out:
                p = subprocess.Popen(["ip", "netns", "exec", self.ns["gw"], self.homegwd, "-c", self.conf],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            self.event("start", "pid %d incarnation %d" % (p.pid, inc))
            t0 = time.monotonic()
            up = False
            while p.poll() is None and time.monotonic() - t0 < 60:
                rc, ans, _ = self.ctl("status", timeout=5)
                if rc == 0 and ans and ans.get("ok"):
                    up = True
                    break
                time.sleep(0.05)
            if up:
                with self.lock:
                    self.pid, self.start_mono = p.pid, t0
                self.event("ready", "pid %d after %.2f s" % (p.pid, time.monotonic() - t0))
                self.ready.set()
                self.check_leases("after start %d" % inc)
            rc = p.wait()
            self.ready.clear()
            with self.lock:
                self.pid = None
                expected = p.pid in self.expected_kill
            if self.stop.is_set() and rc == 0:
                self.final_exit = rc
                self.event("exit", "pid %d status 0 (SIGTERM)" % p.pid)
                break
            if expected and rc == -signal.SIGKILL:
                self.event("exit", "pid %d killed (ours)" % p.pid)
            else:
                self.unexpected.append("incarnation %d (pid %d) exited with %s; log %s" % (inc, p.pid, rc, log))
                self.event("exit", "UNEXPECTED pid %d status %s" % (p.pid, rc))
                if self.stop.is_set():
                    self.final_exit = rc
                    break
                time.sleep(1)

    def killer(self):
        nxt = time.monotonic() + self.a.kill_every
        while not self.stop.wait(max(0.0, nxt - time.monotonic())):
            nxt += self.a.kill_every
            if time.monotonic() > self.end_planned - 30:
                continue  # the end's lease check and SIGTERM want a running daemon
            if not self.ready.wait(timeout=30):
                continue
            with self.lock:
                pid = self.pid
                if pid is None:
                    continue
                self.expected_kill.add(pid)
            self.event("kill", "SIGKILL pid %d" % pid)
            os.kill(pid, signal.SIGKILL)

    def reloader(self):
        variant = "a"
        while not self.stop.wait(10):
            variant = "b" if variant == "a" else "a"
            self.write_config(variant)
            if not self.ready.is_set():
                self.reloads["skipped"] += 1
                continue
            with self.lock:
                pid = self.pid
            t0 = time.monotonic()
            rc, ans, err = self.ctl("reload")
            ok = rc == 0 and ans and ans.get("ok")
            with self.lock:
                still = self.pid == pid and self.ready.is_set()
            if ok:
                self.reloads["ok"] += 1
                self.event("reload", "variant %s %.0f ms" % (variant, (time.monotonic() - t0) * 1000))
            elif not still or self.overlaps(t0, time.monotonic(), self.kill_windows()):
                self.reloads["skipped"] += 1  # killed while reloading
            else:
                self.reloads["fail"] += 1
                self.reloads["fail_detail"].append("%s: %s %s" % (variant, ans, err))
                self.event("reload-fail", "%s %s" % (ans, err))

    def flapper(self):
        while not self.stop.wait(60):
            self.event("wan-down")
            self.ip("gw", "link", "set", "veth-wan", "down")
            if self.stop.wait(3):
                pass
            self.ip("gw", "link", "set", "veth-wan", "up")
            sh("ip", "-n", self.ns["gw"], "route", "replace", "default", "via", INET_ADDR, check=False)
            self.event("wan-up")

    def sampler(self):
        while not self.stop.wait(5):
            with self.lock:
                pid, inc, t0 = self.pid, self.incarnation, getattr(self, "start_mono", None)
            if pid is None or not self.ready.is_set():
                continue
            try:
                with open("/proc/%d/status" % pid) as f:
                    rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
                fds = len(os.listdir("/proc/%d/fd" % pid))
            except (OSError, AttributeError):
                continue
            self.samples.append((inc, time.monotonic() - t0, rss, fds))

    # -- DHCP --
    def ledger(self, until):
        """address -> (mac, expires_wall) of every ACK before UNTIL (wall time)
        not since released, nor superseded by a later ACK to the same MAC."""
        led, by_mac = {}, {}
        try:
            lines = open(os.path.join(self.run_dir, "dhcp-ledger.log")).read().splitlines()
        except OSError:
            return led
        for line in lines:
            f = line.split()
            if len(f) != 6 or float(f[0]) >= until:
                continue
            t, typ, mac, yi, ci, lease = float(f[0]), int(f[1]), f[2], f[3], f[4], int(f[5])
            if typ == 5 and yi != "0.0.0.0":
                old = by_mac.get(mac)
                if old and old != yi and led.get(old, (None,))[0] == mac:
                    del led[old]
                led[yi] = (mac, t + lease)
                by_mac[mac] = yi
            elif typ == 7 and led.get(ci, (None,))[0] == mac:
                del led[ci]
        return led

    def check_leases(self, label):
        t_ask = time.time()
        rc, ans, err = self.ctl("leases")
        if rc != 0 or not ans:
            self.lease_checks.append((label, 0, ["leases not answered: %s" % err]))
            return
        time.sleep(1.0)  # the sniffer's lines up to t_ask are written by now
        have = {l["address"]: l for l in ans.get("leases", [])}
        lost, checked = [], 0
        for addr, (mac, exp) in sorted(self.ledger(t_ask - 0.2).items()):
            if exp <= t_ask + 5:
                continue
            checked += 1
            l = have.get(addr)
            if not l or l.get("mac") != mac or l.get("state") != "bound":
                lost.append("%s %s (ACKed until %s): %s" % (
                    addr, mac, time.strftime("%H:%M:%S", time.localtime(exp)),
                    "absent" if not l else "%s %s" % (l.get("mac"), l.get("state"))))
        self.lease_checks.append((label, checked, lost))
        self.event("lease-check", "%s: %d ACKed leases checked, %d lost" % (label, checked, len(lost)))

    def perfdhcp_loop(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            out = os.path.join(self.run_dir, "perfdhcp-%03d.out" % n)
            secs = 30
            p = self.spawn("perf", ["perfdhcp", "-4", "-l", GIADDR, "-r", str(self.a.dhcp_rate), "-R", "3000",
                                    "-p", str(secs), GW_LAN], out)
            while p.poll() is None:
                if self.stop.wait(0.5):
                    p.terminate()
            txt = open(out, errors="replace").read()
            m = re.search(r"sent packets: (\d+).*?received packets: (\d+).*?sent packets: (\d+).*?received "
                          r"packets: (\d+)", txt, re.S)
            if m:
                self.perfdhcp.append(tuple(int(x) for x in m.groups()))

    def dhclient_loop(self, k):
        d = os.path.join(self.run_dir, "dhclient-" + k)
        os.makedirs(d, exist_ok=True)
        script = os.path.join(d, "script")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n# soak: configure the address, nothing else (no resolv.conf)\n"
                    "case $reason in\n"
                    "BOUND|RENEW|REBIND|REBOOT) ip addr flush dev $interface; "
                    "ip addr add $new_ip_address/16 dev $interface ;;\n"
                    "EXPIRE|FAIL|RELEASE|STOP) ip addr flush dev $interface ;;\n"
                    "esac\nexit 0\n")
        os.chmod(script, 0o755)
        conf = os.path.join(d, "dhclient.conf")
        with open(conf, "w") as f:
            f.write("timeout 20;\nretry 5;\nrequest subnet-mask, routers, domain-name-servers;\n")
        rnd = random.Random(k)
        lf, pf = os.path.join(d, "leases"), os.path.join(d, "pid")
        base = ["dhclient", "-4", "-1", "-cf", conf, "-sf", script, "-lf", lf, "-pf", pf]
        while not self.stop.is_set():
            t0 = time.monotonic()
            # dhclient's output to a file: the daemon it forks keeps no pipe of ours open
            with open(os.path.join(d, "dhclient.log"), "w") as out:
                r = subprocess.run(["ip", "netns", "exec", self.ns[k]] + base + ["eth0"], stdout=out,
                                   stderr=subprocess.STDOUT, timeout=60)
            t1 = time.monotonic()
            if r.returncode == 0:
                self.dhclient["bound"] += 1
            elif self.overlaps(t0, t1, self.kill_windows()):
                self.dhclient["dropped"] += 1  # asked while homegwd was down: not counted as a failure
            else:
                self.dhclient["failed"] += 1
                tail = open(os.path.join(d, "dhclient.log"), errors="replace").read()[-200:]
                self.dhclient["failed_detail"].append("%s at %.0f s: %s" % (k, t0 - self.started, tail))
            if self.stop.wait(rnd.uniform(5, 25)):
                break
            if rnd.random() < 0.5:  # leave politely
                subprocess.run(["ip", "netns", "exec", self.ns[k]] + base + ["-r", "eth0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
                self.dhclient["released"] += 1
            else:  # vanish, lease kept: the next run is an INIT-REBOOT
                try:
                    os.kill(int(open(pf).read().strip()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
                sh("ip", "-n", self.ns[k], "addr", "flush", "dev", "eth0", check=False)
            if self.stop.wait(rnd.uniform(1, 5)):
                break

    # -- DNS --
    CACHED = ["host.homegw-lab.example A", "host.homegw-lab.example AAAA", "homegw-lab.example MX",
              "mail.homegw-lab.example A", "alias.homegw-lab.example A", "chain.homegw-lab.example A",
              "www.legacy.homegw-lab.example A", "explicit.wild.homegw-lab.example A",
              "nodata.homegw-lab.example A", "nx.homegw-lab.example A", "lab._domainkey.homegw-lab.example TXT",
              "homegw-lab.test SOA", "example NS", "gw.home.arpa A", "10.0.64.100.in-addr.arpa PTR"]

    def dns_loop(self):
        n = 0
        rate = self.a.dns_rate
        while not self.stop.is_set():
            n += 1
            qf = os.path.join(self.run_dir, "dns-queries.txt")
            lines = []
            for i in range(rate * 10):
                if i % 2:
                    lines.append(self.CACHED[i % len(self.CACHED)])
                else:
                    lines.append("r%d-%d.wild.homegw-lab.example %s" % (n, i, "A" if i % 4 else "TXT"))
            with open(qf, "w") as f:
                f.write("\n".join(lines) + "\n")
            t0 = time.monotonic()
            r = subprocess.run(["ip", "netns", "exec", self.ns["host"], "dnsperf", "-s", GW_LAN, "-d", qf,
                                "-n", "1", "-Q", str(rate), "-t", "5", "-q", "200"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
            t1 = time.monotonic()

            def num(pat):
                m = re.search(pat, r.stdout)
                return int(m.group(1)) if m else None
            sent, done, lost = num(r"Queries sent:\s+(\d+)"), num(r"Queries completed:\s+(\d+)"), \
                num(r"Queries lost:\s+(\d+)")
            codes = dict((c, int(v)) for c, v in re.findall(r"([A-Z]+) (\d+) \(", r.stdout.split("Response codes:")[-1]
                                                             .splitlines()[0])) if "Response codes:" in r.stdout else {}
            if sent is None:
                self.dns_rounds.append({"t0": t0, "t1": t1, "sent": 0, "done": 0, "lost": 0, "codes": {},
                                        "error": r.stdout[-300:]})
                time.sleep(1)
                continue
            self.dns_rounds.append({"t0": t0, "t1": t1, "sent": sent, "done": done, "lost": lost or 0,
                                    "codes": codes})

    # -- multicast --
    def mcast_loop(self, ns, addr, offset):
        me = 0
        if self.stop.wait(offset):
            return
        while not self.stop.is_set():
            me += 1
            d = os.path.join(self.run_dir, "mcast-%s-%04d" % (ns, me))
            os.makedirs(d)
            p = self.spawn(ns, [PY, MCAST, "recv", addr, GROUP, str(GROUP_PORT), d])
            t0 = time.monotonic()
            self.stop.wait(20)
            open(os.path.join(d, "leave"), "w").close()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
            t1 = time.monotonic()
            times = []
            try:  # the receiver's own join time, not its process start
                with open(os.path.join(d, "joined")) as f:
                    t0 = float(f.read().strip())
            except (OSError, ValueError):
                pass
            try:
                for line in open(os.path.join(d, "log")):
                    f = line.split()
                    if len(f) == 3:
                        times.append(float(f[2]))
            except OSError:
                pass
            self.mcast_joins.append({"ns": ns, "t0": t0, "t1": t1, "times": times})
            shutil.rmtree(d, ignore_errors=True)
            self.stop.wait(10)

    # -- the run --
    def run(self):
        self.started = time.monotonic()
        self.end_planned = self.started + self.a.minutes * 60
        self.write_config("a")
        r = sh(self.homegwd, "--check", "-c", self.conf, check=False, capture=True)
        if r.returncode != 0:
            raise RuntimeError("the soak's config does not check: " + r.stderr)
        sup = threading.Thread(target=self.supervisor, daemon=True)
        sup.start()
        if not self.ready.wait(60):
            raise RuntimeError("homegwd did not become ready; log: %s/homegwd-001.log" % self.run_dir)
        me = os.path.abspath(__file__)
        self.spawn("host", [PY, me, "flows", os.path.join(self.run_dir, "flows-lan.log"),
                            "tcp:%s:7,udp:%s:7,hold:%s:7" % (INET_ADDR, INET_ADDR, INET_ADDR)])
        self.spawn("inet", [PY, me, "flows", os.path.join(self.run_dir, "flows-forward.log"),
                            "tcp:%s:8080" % WAN_ADDR])
        threads = [self.killer, self.reloader, self.flapper, self.sampler, self.perfdhcp_loop, self.dns_loop]
        threads += [lambda k=k: self.dhclient_loop(k) for k in ("c1", "c2", "c3", "c4")]
        threads += [lambda: self.mcast_loop("host", HOST_ADDR, 0), lambda: self.mcast_loop("perf", PERF_ADDR, 13)]
        ts = [threading.Thread(target=t, daemon=True) for t in threads]
        for t in ts:
            t.start()
        end = self.end_planned
        while time.monotonic() < end:
            time.sleep(min(10, max(0.1, end - time.monotonic())))
            if self.a.progress:
                el = time.monotonic() - self.started
                print("soak: %3.0f/%d min, incarnation %d, %d lease checks, %d dns rounds" % (
                    el / 60, self.a.minutes, self.incarnation, len(self.lease_checks), len(self.dns_rounds)),
                    flush=True)
        # the end: one last lease check against the running daemon, then stop
        self.ready.wait(60)
        self.stop.set()
        for t in ts:
            t.join(timeout=150)
        if self.ready.is_set():
            self.check_leases("at the end")
            rc, self.final_stats, _ = self.ctl("stats")
        with self.lock:
            pid = self.pid
        self.end_mono = time.monotonic()
        if pid:
            os.kill(pid, signal.SIGTERM)
        sup.join(timeout=60)

    # -- the report --
    def report(self):
        res, ok = [], True

        def check(name, good, figure):
            nonlocal ok
            ok &= bool(good)
            res.append(("ok  " if good else "FAIL") + "  %-44s %s" % (name, figure))

        kills = self.kill_windows()
        flaps = self.flap_windows()
        restarts = [d for _, k, d in self.events if k == "ready"][1:]
        ready_s = [float(re.search(r"after ([0-9.]+)", d).group(1)) for d in restarts]
        mins = (self.end_mono - self.started) / 60
        print("\n== soak: %.1f minutes, homegwd %s" % (mins, self.homegwd))
        print("faults: %d SIGKILLs (restart to READY: %s s), %d WAN flaps, %d reloads ok / %d skipped (daemon down)"
              % (len([1 for _, k, _ in self.events if k == "kill"]),
                 ("%.2f-%.2f" % (min(ready_s), max(ready_s))) if ready_s else "-", len(flaps),
                 self.reloads["ok"], self.reloads["skipped"]))

        lost = [x for _, _, l in self.lease_checks for x in l]
        checked = sum(c for _, c, _ in self.lease_checks)
        acks = sum(1 for line in open(os.path.join(self.run_dir, "dhcp-ledger.log")) if " 5 " in line)
        check("DHCP: ACKed leases lost", not lost and len(self.lease_checks) >= 2,
              "%d lost of %d checked in %d checks (after each restart and at the end); %d ACKs seen"
              % (len(lost), checked, len(self.lease_checks), acks))
        for x in lost[:10]:
            res.append("        lost: " + x)
        pd = self.perfdhcp
        if pd:
            res.append("      perfdhcp (relay, %d/s): %d DISCOVER, %d OFFER, %d REQUEST, %d ACK in %d rounds"
                       % (self.a.dhcp_rate, sum(x[0] for x in pd), sum(x[1] for x in pd), sum(x[2] for x in pd),
                          sum(x[3] for x in pd), len(pd)))
        dc = self.dhclient
        check("DHCP: dhclient binds outside kill windows", dc["failed"] == 0 and dc["bound"] > 0,
              "%d bound, %d failed, %d during a kill; %d released, the rest vanished"
              % (dc["bound"], dc["failed"], dc["dropped"], dc["released"]))
        for x in dc["failed_detail"][:5]:
            res.append("        " + x)

        inside = [r for r in self.dns_rounds if self.overlaps(r["t0"], r["t1"] + 5, kills)]
        outside = [r for r in self.dns_rounds if r not in inside]
        lost_out = sum(r["lost"] for r in outside)
        in_flap = sum(r["lost"] for r in outside if self.overlaps(r["t0"], r["t1"], flaps))
        codes = {}
        for r in outside:
            for c, v in r["codes"].items():
                codes[c] = codes.get(c, 0) + v
        errors = [r for r in self.dns_rounds if "error" in r]
        check("DNS: answers lost outside kill windows", lost_out == 0 and not errors and outside,
              "%d of %d queries in %d rounds (%d of them in rounds with a WAN flap); rcodes %s"
              % (lost_out, sum(r["sent"] for r in outside), len(outside), in_flap,
                 " ".join("%s %d" % kv for kv in sorted(codes.items()))))
        calm = [r for r in outside if not self.overlaps(r["t0"], r["t1"], flaps)]
        sf = sum(r["codes"].get("SERVFAIL", 0) for r in calm)
        check("DNS: SERVFAIL outside fault windows", sf == 0 and calm,
              "%d in %d rounds with neither a kill nor a WAN flap (the WAN down: SERVFAIL is the answer)"
              % (sf, len(calm)))
        res.append("      in kill windows: %d of %d queries lost in %d rounds" % (
            sum(r["lost"] for r in inside), sum(r["sent"] for r in inside), len(inside)))

        for name, path in (("NAT: LAN -> internet flows", "flows-lan.log"),
                           ("NAT: internet -> forward flows", "flows-forward.log")):
            tot, bad_out, bad_flap, bad_kill = 0, [], 0, 0
            try:
                lines = open(os.path.join(self.run_dir, path)).read().splitlines()
            except OSError:
                lines = []
            for line in lines:
                f = line.split()
                if len(f) < 4:
                    continue
                t0, t1 = float(f[0]), float(f[1])
                if t0 > self.end_mono - 6:
                    continue
                tot += 1
                if f[3] == "ok":
                    continue
                if self.overlaps(t0, t1, flaps):
                    bad_flap += 1
                else:
                    bad_out.append(line)
                    bad_kill += self.overlaps(t0, t1, kills)
            check(name + " failed", tot > 0 and not bad_out,
                  "%d failed of %d (%d of those while homegwd was down); %d failed across a WAN flap"
                  % (len(bad_out), tot, bad_kill, bad_flap))
            for x in bad_out[:5]:
                res.append("        " + x)

        joined = [j for j in self.mcast_joins if not self.overlaps(j["t0"], j["t0"] + 5, kills + flaps)]
        served = [j for j in joined if any(t - j["t0"] < 5 for t in j["times"])]
        lat = sorted(min(j["times"]) - j["t0"] for j in served)
        check("IGMP: joins outside fault windows served", joined and len(served) == len(joined),
              "%d of %d got the stream within 5 s (join -> first datagram median %.0f ms, max %.0f ms)"
              % (len(served), len(joined), 1000 * lat[len(lat) // 2] if lat else 0, 1000 * lat[-1] if lat else 0))

        check("reloads answered ok", self.reloads["fail"] == 0 and self.reloads["ok"] > 0,
              "%d ok, %d failed" % (self.reloads["ok"], self.reloads["fail"]))
        for x in self.reloads["fail_detail"][:5]:
            res.append("        " + x)
        check("homegwd exits: only our SIGKILLs, 0 at SIGTERM", not self.unexpected and self.final_exit == 0,
              "%d unexpected; final exit %s" % (len(self.unexpected), self.final_exit))
        for x in self.unexpected[:5]:
            res.append("        " + x)

        st = self.final_stats or {}
        if st.get("ok"):
            d, n, j = st["dhcp"]["messages"], st["dns"], st["dhcp"]["journal"]
            check("DHCP journal: no failed batch, no ACK unsent", j["failed_batches"] == 0 and j["acks_not_sent"] == 0,
                  "last incarnation (up %d s): %d ACKs, %d journal syncs, %d failed, %d ACKs not sent"
                  % (st["status"]["uptime"], d["ack"], j["syncs"], j["failed_batches"], j["acks_not_sent"]))
            res.append("      dns (last incarnation): %d queries, %d dropped, cache %d entries / %d evictions, "
                       "upstream %d queries %d timeouts; igmp: %d datagrams forwarded; nat firewall: %d dropped"
                       % (n["queries"], n["dropped"], n["cache"]["entries"], n["cache"]["evictions"],
                          n["upstream"]["queries"], n["upstream"]["timeouts"],
                          sum(r["packets"] for r in st["igmp"]["routes"]),
                          st["nat"]["firewall"].get("dropped_forward", 0) + st["nat"]["firewall"].get("dropped_input", 0)))
        else:
            check("the daemon's counters at the end (homegwctl stats)", False, "not answered")
        rss_ok, rss_fig = self.flat(2, 1.10, 2048, "KiB")
        with open(self.homegwd, "rb") as f:
            sanitized = b"__asan_init" in f.read()
        if sanitized:
            # ASan keeps freed memory in its quarantine (256 MiB by default)
            # before reusing it: RSS grows by design. Leaks are LeakSanitizer's
            # to find, at the final SIGTERM (exit 0 above: none).
            res.append("skip  %-44s %s" % ("RSS flat (not judged: ASan build)", rss_fig))
        else:
            check("RSS flat", rss_ok, rss_fig)
        fd_ok, fd_fig = self.flat(3, 1.0, 4, "fds")
        check("open files flat", fd_ok, fd_fig)

        san = []
        for name in sorted(os.listdir(self.run_dir)):
            if name.startswith("homegwd-") and name.endswith(".log"):
                txt = open(os.path.join(self.run_dir, name), errors="replace").read()
                if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:|AddressSanitizer", txt):
                    san.append(name)
        check("no sanitizer report in homegwd's logs", not san, "%d logs read%s" % (
            self.incarnation, (", reports in " + " ".join(san)) if san else ""))
        print("\n".join(res))
        return ok

    def flat(self, col, factor, slack, unit):
        """Per incarnation: the sample at 1/3 of its life and the last one.
        Flat: the last <= the first * FACTOR + SLACK in each, and the last
        incarnation's last <= the first incarnation's last * FACTOR + SLACK
        (incarnations shorter than 2 min are not compared)."""
        per = {}
        for s in self.samples:
            per.setdefault(s[0], []).append(s)
        rows = []
        for inc in sorted(per):
            ss = per[inc]
            if ss[-1][1] < 120:
                continue
            third = min(ss, key=lambda s: abs(s[1] - ss[-1][1] / 3))
            rows.append((inc, third[col], ss[-1][col], max(s[col] for s in ss)))
        if not rows:
            return False, "no incarnation lived 2 minutes: nothing to compare"
        within = all(last <= first * factor + slack for _, first, last, _ in rows)
        across = rows[-1][2] <= rows[0][2] * factor + slack
        fig = "; ".join("#%d %d->%d" % (inc, a, b) for inc, a, b, _ in rows)
        return within and across, "%s (%s at 1/3 of each life -> at its end)" % (fig, unit)


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ROLES:
        ROLES[sys.argv[1]](*sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build"), help="folder of homegwd and homegwctl")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--kill-every", type=float, default=300, help="seconds between SIGKILLs")
    ap.add_argument("--dhcp-rate", type=int, default=50, help="perfdhcp exchanges/s")
    ap.add_argument("--dns-rate", type=int, default=200, help="dnsperf queries/s")
    ap.add_argument("--run-dir", default="/run/homegw-soak")
    ap.add_argument("--progress", action="store_true", help="a line every 10 s")
    ap.add_argument("--verbose", action="store_true", help="every event as it happens")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("soak.py: run as root (namespaces)", file=sys.stderr)
        return 2
    s = Soak(a)
    try:
        s.setup()
        s.run()
        ok = s.report()
    finally:
        s.stop.set()
        s.teardown()
    print("\nlogs: %s" % s.run_dir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
