#!/usr/bin/env bash
# t-stats: `homegwctl stats --prometheus` read by the program it is for —
# Debian's prometheus-node-exporter with its textfile collector — against a
# homegwd running all four modules after a real DHCP client and a DNS query:
#   - the collector takes the file (node_textfile_scrape_error 0) and serves
#     our metrics with their types;
#   - every number of the answers is a sample: the count of numbers,
#     booleans and lists in `homegwctl --json stats` (less the fields that
#     are labels) equals the count of samples;
#   - the values are the daemon's (the DHCP ACKs, the DNS queries, the
#     module states) and follow it (a second DNS query moves the counter);
#   - without the daemon homegwctl prints nothing and exits 2.
# shellcheck disable=SC2016 source-path=SCRIPTDIR source=lib.sh # SC2016: jq filters
source "$(dirname "$0")/lib.sh"

EXPORTER=$(command -v prometheus-node-exporter || true)
[[ -n $EXPORTER ]] || fatal "prometheus-node-exporter is installed (scripts/deps.sh)"
for tool in udhcpc dig python3; do
	command -v "$tool" >/dev/null || fatal "$tool is installed (scripts/deps.sh)"
done

GW=$HGT_PREFIX-gw
LAN=$HGT_PREFIX-lan
INET=$HGT_PREFIX-inet
hgt_netns "$GW"
hgt_netns "$LAN"
hgt_netns "$INET"
hgt_veth "$GW" veth-lan "$LAN" eth0
hgt_veth "$GW" veth-wan "$INET" eth0
hgt_addr "$GW" veth-lan 198.51.100.1/24
hgt_addr "$GW" veth-wan 203.0.113.2/24
hgt_addr "$INET" eth0 203.0.113.1/24

hgt_config <<EOF
interface lan { device veth-lan }
interface wan { device veth-wan }
dhcp lan {
	pool 198.51.100.100 198.51.100.150
}
dns {
	listen lan
	forward 203.0.113.53
	host nas.home.arpa 198.51.100.5
}
nat {
	masquerade wan
	forward tcp 8080 198.51.100.100:80
}
igmp-proxy {
	upstream wan
	downstream lan
}
EOF
hgt_start "$GW"
hgt_wait_ready

# some traffic: a lease for a real client, a query answered locally
cat >"$HGT_TMP/udhcpc.sh" <<'EOS'
#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/${mask:-24}" dev "$interface"
exit 0
EOS
chmod +x "$HGT_TMP/udhcpc.sh"
check_rc "udhcpc gets a lease" 0 ip netns exec "$LAN" udhcpc -q -n -f -i eth0 -t 5 -T 1 -s "$HGT_TMP/udhcpc.sh"
ask_nas() { ip netns exec "$LAN" dig @198.51.100.1 +time=3 +tries=1 +short nas.home.arpa A; }
check_eq "a DNS query answered" 198.51.100.5 "$(ask_nas)"

# ---- the file, as a cron job would write it ----
TEXTDIR=$HGT_TMP/textfile
mkdir -p "$TEXTDIR"
check_rc "homegwctl stats --prometheus exits 0" 0 ctl stats --prometheus
prom=$OUT
printf '%s\n' "$prom" >"$TEXTDIR/homegw.prom"
json=$(ctl --json stats)
check_jq "homegwctl --json stats: status and the four modules' answers" "$json" \
	'.ok and .status.ok and .dhcp.ok and .dns.ok and .nat.ok and .igmp.ok'

# Every number is a sample: numbers and booleans (less each answer's "ok"
# and the fields the rules make labels or leave out), lists (their
# length), and the version (build_info).
want=$(jq '
	([paths(type == "number" or type == "boolean") | select(length > 2 or .[-1] != "ok")
	  | select(.[-1] != "ifindex" and .[-1] != "external_port")] | length) as $n
	| ([paths(type == "array")] | length) as $a
	| $n + $a + 1' <<<"$json")
got=$(grep -vc '^#' <<<"$prom")
check_eq "one sample per number, boolean and list of the answers" "$want" "$got"
check_eq "every sample's metric has one HELP and one TYPE line" \
	"$(grep -v '^#' <<<"$prom" | sed 's/[{ ].*//' | sort -u | wc -l) $(grep -v '^#' <<<"$prom" | sed 's/[{ ].*//' | sort -u | wc -l)" \
	"$(grep -c '^# HELP ' <<<"$prom") $(grep -c '^# TYPE ' <<<"$prom")"
check_eq "no metric name twice with the same labels" "" \
	"$(grep -v '^#' <<<"$prom" | sed 's/ [^ ]*$//' | sort | uniq -d)"

# ---- node-exporter reads it ----
PORT=9100
hgt_helper ip netns exec "$GW" "$EXPORTER" --web.listen-address="127.0.0.1:$PORT" \
	--collector.disable-defaults --collector.textfile --collector.textfile.directory="$TEXTDIR"
scrape() {
	ip netns exec "$GW" python3 -c '
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' "$PORT"
}
wait_for "node-exporter answers on 127.0.0.1:$PORT (in the gateway's namespace)" scrape
metrics=$(scrape)
check_eq "node-exporter: the textfile collector read the file without error" "node_textfile_scrape_error 0" \
	"$(grep '^node_textfile_scrape_error' <<<"$metrics")"
for line in 'homegw_module_running{module="dhcp"} 1' 'homegw_module_running{module="dns"} 1' \
	'homegw_module_running{module="nat"} 1' 'homegw_module_running{module="igmp"} 1' \
	'homegw_nat_forwards 1' 'homegw_interface_up{device="veth-lan",interface="lan"} 1'; do
	check_contains "node-exporter serves $line" "$line" "$metrics"
done
acks=$(jq '.dhcp.messages.ack' <<<"$json")
check_contains "node-exporter serves the DHCP ACKs the daemon counted ($acks)" \
	"homegw_dhcp_messages_total{type=\"ack\"} $acks" "$metrics"
check_contains "node-exporter: homegw_dhcp_messages_total is a counter" \
	"# TYPE homegw_dhcp_messages_total counter" "$metrics"
check_contains "node-exporter: homegw_dhcp_scope_free is a gauge" "# TYPE homegw_dhcp_scope_free gauge" "$metrics"
queries=$(jq '.dns.queries' <<<"$json")
check_contains "node-exporter serves the DNS queries the daemon counted ($queries)" \
	"homegw_dns_queries_total $queries" "$metrics"
check_eq "node-exporter serves as many homegw samples as the file holds" "$got" \
	"$(grep -c '^homegw_' <<<"$metrics")"

# the counters follow the daemon
ask_nas >/dev/null
ctl stats --prometheus >"$TEXTDIR/homegw.prom.tmp"
mv "$TEXTDIR/homegw.prom.tmp" "$TEXTDIR/homegw.prom"
check_contains "after one more query: homegw_dns_queries_total $((queries + 1))" \
	"homegw_dns_queries_total $((queries + 1))" "$(scrape)"

# ---- no daemon: nothing printed, exit 2 ----
hgt_stop TERM
check_rc "homegwd stopped: homegwctl stats --prometheus exits 2" 2 ctl stats --prometheus
check_eq "homegwd stopped: nothing on standard output" "" "$OUT"
check_rc "stats with an unknown argument exits 2" 2 "$HOMEGWCTL" -s "$HGT_SOCK" stats --bogus

hgt_done
