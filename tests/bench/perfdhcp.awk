# perfdhcp.awk — the figures of one perfdhcp -4 run, as "key value" lines.
#
# Input: perfdhcp's output (Kea 2.2). Keys: rate (completed 4-way exchanges
# per second, perfdhcp's "Rate:"), and for each exchange type (do:
# DISCOVER-OFFER, ra: REQUEST-ACK) sent, recv, orphans, min, avg, max (ms).
# With -x t perfdhcp also prints the send and receive time of every completed
# exchange: their differences (ms) go, one a line, to the files named by the
# variables lat_do and lat_ra, for percentiles.

/^Rate: / { print "rate", $2 + 0 }
/^\*\*\*Statistics for: DISCOVER-OFFER/ { sec = "do"; ts = ""; next }
/^\*\*\*Statistics for: REQUEST-ACK/ { sec = "ra"; ts = ""; next }
/^\*\*\*Timestamps for packets: DISCOVER-OFFER/ { ts = "do"; sec = ""; next }
/^\*\*\*Timestamps for packets: REQUEST-ACK/ { ts = "ra"; sec = ""; next }
/^\*\*\*/ { sec = ""; ts = ""; next }

sec != "" && /^sent packets:/ { print sec "_sent", $3 + 0 }
sec != "" && /^received packets:/ { print sec "_recv", $3 + 0 }
sec != "" && /^orphans:/ { print sec "_orphans", $2 + 0 }
# "min delay: inf ms" and "avg delay: n/a" when nothing came back.
sec != "" && /^(min|avg|max) delay: [0-9]/ { print sec "_" $1, $3 + 0 }

# "sent / received: 000012.345678 / 000012.346001" (seconds)
ts != "" && /^sent \/ received:/ {
	d = ($6 - $4) * 1000
	if (d >= 0) {
		f = ts == "do" ? lat_do : lat_ra
		if (f != "") printf "%.3f\n", d > f
	}
}
