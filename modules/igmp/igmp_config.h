/* igmp_config.h — the `igmp-proxy` section of CONFIG.md as a typed config,
 * and the protocol constants and bounds the rest of the module works with.
 *
 * igmp_configure() is the module's configure(): it reads the section and
 * the `interface` sections it names, and touches nothing live. Times are
 * whole seconds unless the name says _ms; addresses are network byte order
 * in struct in_addr, host byte order in the ranges. */
#ifndef IGMP_CONFIG_H
#define IGMP_CONFIG_H

#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;
struct cf_errors;

/* ---- defaults and bounds of the keywords ---- */

#define IGMP_VERSION_DEFAULT 3
/* RFC 3376 8.2: 125 s. At most what a v3 query's QQIC can carry (4.1.7:
 * mantissa 0xf, exponent 7: 31 << 10); more than the query response
 * interval, which 8.3 says it must be. */
#define IGMP_QUERY_INTERVAL_DEFAULT 125
#define IGMP_QUERY_INTERVAL_MIN (IGMP_QUERY_RESPONSE_INTERVAL + 1)
#define IGMP_QUERY_INTERVAL_MAX 31744
/* RFC 3376 8.8: 1 s. Sent as a query's Max Response Time in tenths: an
 * IGMPv2 query has one byte for it (RFC 2236 2.2, 25.5 s at most), and the
 * language has whole seconds only. */
#define IGMP_LAST_MEMBER_INTERVAL_DEFAULT 1
#define IGMP_LAST_MEMBER_INTERVAL_MIN 1
#define IGMP_LAST_MEMBER_INTERVAL_MAX 25
/* RFC 3376 8.1: 2; it MUST NOT be 0 and SHOULD NOT be 1 (1 loads with a
 * warning); 7 is the most a v3 query's QRV field (3 bits) can carry. */
#define IGMP_ROBUSTNESS_DEFAULT 2
#define IGMP_ROBUSTNESS_MIN 1
#define IGMP_ROBUSTNESS_MAX 7

/* ---- fixed protocol values (not configurable) ---- */

/* RFC 3376 8.3: the Max Response Time of general queries, 10 s (100
 * tenths: fits a v2 query's byte too). */
#define IGMP_QUERY_RESPONSE_INTERVAL 10

/* ---- bounds against hostile files and join floods ----
 * A LAN host can send reports for any number of groups and sources; past
 * these the excess is dropped and counted, never allocated. */
#define IGMP_MAX_DOWNSTREAM 31	   /* Linux MAXVIFS is 32 (linux/mroute.h): one VIF is the upstream */
#define IGMP_MAX_ALLOW 1024	   /* allow lines */
#define IGMP_MAX_LINK_GROUPS 1024  /* groups with members on one downstream link */
#define IGMP_MAX_GROUP_SOURCES 256 /* sources in one group's v3 INCLUDE/EXCLUDE list on one link */
#define IGMP_MAX_GROUPS 8192	   /* groups with members, all downstream links together */
#define IGMP_MAX_SOURCES 65536	   /* source records, all links and groups together */

/* 224.0.0.0/4 (RFC 5771), and its Local Network Control Block 224.0.0.0/24,
 * which routers never forward (RFC 5771 4): never proxied, whatever
 * `allow` says. Host byte order. */
#define IGMP_MCAST_FIRST 0xe0000000u
#define IGMP_MCAST_LAST 0xefffffffu
#define IGMP_LOCAL_FIRST 0xe0000000u
#define IGMP_LOCAL_LAST 0xe00000ffu

/* `upstream IFACE`, `downstream IFACE` */
struct igmp_iface {
	const char *iface;  /* the `interface` name (points into the tree) */
	const char *device; /* its Linux device (points into the config) */
	struct cf_pos pos;  /* of the argument */
};

/* `allow PREFIX` (or a single group, /32) */
struct igmp_prefix {
	struct in_addr net; /* masked */
	uint8_t len;
	struct cf_pos pos;
};

struct igmp_config {
	struct igmp_iface upstream;
	struct igmp_iface *downstream; /* file order; names and devices unique, never the upstream's */
	size_t ndownstream;
	int version;		   /* querier version on downstream links: 2 or 3 */
	bool quickleave;	   /* prune at the first leave when one host was the only member */
	struct igmp_prefix *allow; /* as given, file order; empty: the default */
	size_t nallow;
	/* allow as sorted, merged, disjoint ranges; without allow one range,
	 * all of 224.0.0.0/4 (224.0.0.0/24 is excluded by the lookup) */
	struct cf_range *allow_ranges;
	size_t nallow_ranges;
	uint32_t query_interval;       /* s */
	uint32_t last_member_interval; /* s */
	uint8_t robustness;
};

int igmp_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err);
void igmp_config_free(void *cfg);

/* Whether GROUP (network byte order) may be proxied: a multicast address
 * inside an allow range and outside 224.0.0.0/24. false for a NULL config. */
bool igmp_config_allowed(const struct igmp_config *ic, struct in_addr group);

/* ---- the timers RFC 3376 8 derives from the configured values, in ms ---- */

/* 8.4 Group Membership Interval: robustness * QI + QRI */
static inline uint64_t igmp_config_gmi_ms(const struct igmp_config *ic)
{
	return ((uint64_t)ic->robustness * ic->query_interval + IGMP_QUERY_RESPONSE_INTERVAL) * 1000;
}

/* 8.5 Other Querier Present Interval: robustness * QI + QRI / 2 */
static inline uint64_t igmp_config_other_querier_ms(const struct igmp_config *ic)
{
	return (uint64_t)ic->robustness * ic->query_interval * 1000 + IGMP_QUERY_RESPONSE_INTERVAL * 500;
}

/* 8.6 Startup Query Interval: QI / 4 (8.7: robustness startup queries) */
static inline uint64_t igmp_config_startup_interval_ms(const struct igmp_config *ic)
{
	return (uint64_t)ic->query_interval * 250;
}

/* 8.14 Last Member Query Time: LMQI * Last Member Query Count (8.9: robustness) */
static inline uint64_t igmp_config_last_member_time_ms(const struct igmp_config *ic)
{
	return (uint64_t)ic->last_member_interval * ic->robustness * 1000;
}

#endif
