# dns-dnsperf.awk — the figures of one dnsperf run (dnsperf 2.x), as "key value" lines.
#
# Keys: sent, completed, lost (queries), qps (dnsperf's "Queries per second"),
# runtime (s), lat_avg and lat_max (ms), rcodes (the "Response codes:" line
# as NOERROR=N,NXDOMAIN=N,...), servfail (SERVFAIL answers, 0 when none).

/^  Queries sent:/ { print "sent", $3 + 0 }
/^  Queries completed:/ { print "completed", $3 + 0 }
/^  Queries lost:/ { print "lost", $3 + 0 }
/^  Queries per second:/ { print "qps", $4 + 0 }
/^  Run time \(s\):/ { print "runtime", $4 + 0 }
# "  Average Latency (s):  0.000123 (min 0.000010, max 0.001000)"
/^  Average Latency \(s\):/ {
	print "lat_avg", $4 * 1000
	m = $0
	sub(/.*max /, "", m)
	sub(/\).*/, "", m)
	print "lat_max", m * 1000
}
# "  Response codes:       NOERROR 80 (80.00%), NXDOMAIN 20 (20.00%)"
/^  Response codes:/ {
	s = $0
	sub(/^  Response codes:[ \t]*/, "", s)
	n = split(s, parts, /, /)
	out = ""
	sf = 0
	for (i = 1; i <= n; i++) {
		split(parts[i], f, " ")
		out = out (out == "" ? "" : ",") f[1] "=" f[2]
		if (f[1] == "SERVFAIL")
			sf = f[2]
	}
	print "rcodes", out
	print "servfail", sf + 0
}
