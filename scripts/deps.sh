#!/usr/bin/env bash
# deps.sh — install every build and test dependency of homegw (Debian 12).
#
# Idempotent: when every package is already installed it returns at once,
# so scripts/test.sh and scripts/lab.sh can call it on every run.
#
# The test peers (nsd, later unbound, kea, dnsmasq, igmpproxy) are Debian
# packages whose services would start on install and listen on the host. The
# tests run each one by hand inside a network namespace instead, so for the
# install an /usr/sbin/policy-rc.d that exits 101 ("action forbidden") stops
# invoke-rc.d from starting anything (DESIGN.md, "Tests touch only their own
# network").
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config clang
	libuv1-dev libnftnl-dev libmnl-dev libcmocka-dev libjansson-dev
	# test peers and tools
	iproute2 nftables nsd socat jq procps libcap2-bin
	iputils-ping   # the lab's reachability report
	bind9-dnsutils # dig: probes of the lab's DNS servers
	systemd  # systemd-analyze verify, systemd-sysusers/-tmpfiles --root
	python3  # the sd_notify listener
	strace   # t-systemd-unit: the daemon's syscalls against SystemCallFilter=
	passwd   # useradd/groupadd for the test users
	util-linux # setpriv: run homegwctl as the test user
	groff-base man-db # t-manpages: the pages render without warnings
	kea-dhcp4-server kea-admin # tests/bench/dhcp.sh: the peer (Kea) and perfdhcp
	udhcpc isc-dhcp-client dhcpcd-base # DHCP clients: the lab's LAN client, tests/integration/t-dhcp-*
	isc-dhcp-relay dnsmasq-base # t-dhcp-relay (dhcrelay); dnsmasq: the DHCP tests' stand-in server mode
	unbound dnsperf # tests/bench/dns.sh: the peer (unbound 1.17) and the load generator
	natpmpc # t-nat-pcp: a real NAT-PMP client (libnatpmp's)
	igmpproxy # tests/bench/igmp.sh: the peer
	conntrack # nat tests: check the conntrack table the daemon reads and prunes (never used by homegwd)
	debootstrap systemd-container lintian # tests/package/t-deb.sh: a Debian 12 root, booted by systemd-nspawn; lint the .deb
	prometheus-node-exporter # t-stats: its textfile collector reads `homegwctl stats --prometheus`
)

missing() {
	local p status
	for p in "${packages[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[[ $status == ii* ]] || printf '%s\n' "$p"
	done
}

if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: run as root (sudo scripts/deps.sh)" >&2
	exit 1
fi

mapfile -t todo < <(missing)
if ((${#todo[@]} == 0)); then
	echo "deps.sh: all ${#packages[@]} packages present"
	exit 0
fi
echo "deps.sh: installing: ${todo[*]}"

policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
	# Only remove the policy we wrote: a host (or a container image) may keep
	# its own for good reasons.
	if ((created_policy)); then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# written by homegw scripts/deps.sh for the duration of an install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"

mapfile -t still < <(missing)
if ((${#still[@]} > 0)); then
	echo "deps.sh: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "deps.sh: done"
