/* ctl_stats.h — `homegwctl stats`: every counter and gauge of the daemon's
 * answers in the Prometheus text exposition format (version 0.0.4), so that
 * node-exporter's textfile collector, or anything else that reads that
 * format, can graph a router.
 *
 * The numbers come from the answers homegwctl already asks for (CONTROL.md):
 * `status` and, for each module that runs, its counters command. Pure: JSON
 * in, text out; homegwctl does the asking. */
#ifndef GW_CTL_STATS_H
#define GW_CTL_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Where the numbers come from: the key of an answer in ctl_stats_write()'s
 * object and the command that gives it. "status" first (it says which
 * modules run), then one per module. */
struct ctl_stats_source {
	const char *key;
	const char *command;
};
extern const struct ctl_stats_source ctl_stats_sources[];
extern const size_t ctl_stats_nsources;

/* ANSWERS: {"status": <status answer>, "dhcp": <dhcp stats answer>, ...}
 * (a missing key: that module does not run). Writes one sample line per
 * number ("homegw_dns_cache_hits_total 17194"), grouped by metric, with
 * "# HELP" and "# TYPE" lines before each metric when FULL. Naming:
 * homegw_MODULE_PATH, the path's keys joined by '_' (the status answer's
 * with no module part); counters end in _total; the elements of known lists
 * (scopes, servers, links, groups, routes, ...) carry their identifying
 * fields as labels; every list also gives its length as a gauge; booleans
 * are gauges of 0 or 1; other strings are left out. Returns 0, or -1 when
 * writing failed. */
int ctl_stats_write(FILE *f, const json_t *answers, bool full);

#endif
