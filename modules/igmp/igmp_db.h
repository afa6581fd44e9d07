/* igmp_db.h — the router side of IGMP on each downstream link (RFC 3376
 * with RFC 2236 compatibility) and the proxy's merge of all links into the
 * one membership the upstream interface expresses (RFC 4605 4.1). Pure:
 * no sockets, no loop, no clock but the milliseconds passed in (NOW is any
 * monotonic count; deadlines are on the same scale).
 *
 * A struct igmp_link holds, for one link:
 * - the querier (RFC 3376 6.6, RFC 2236 3): Startup Query Count general
 *   queries Startup Query Interval (QI/4) apart, then one every QI; the
 *   election (the lowest address is querier; a query from a lower one makes
 *   us a non-querier for the Other Querier Present Interval, taking its QRV
 *   and QQI as ours, RFC 3376 4.1.6/4.1.7), and its group-specific queries
 *   then lower our timers (6.6.1); our own last member queries: Q(G) and
 *   Q(G,S) sent at once and Last Member Query Count - 1 more times every
 *   LMQI, the timers lowered to LMQT, the S flag per 6.6.3;
 * - the membership database (6.2-6.5): per group the filter mode, the group
 *   timer, source records with timers, the tables of 6.4.1 and 6.4.2 for
 *   every record type in both modes; v1/v2 reports and v2 leaves translated
 *   per 7.3.2 with the group's compatibility mode (older host present
 *   timers: in v1 mode leaves are ignored; in v1/v2 mode BLOCK is ignored and
 *   IS_EX/TO_EX source lists are taken as {});
 * - the reporters of each group (bounded) for quickleave: when the one host
 *   tracked leaves (v2 leave, TO_IN, BLOCK), the state it asks for is applied
 *   at once instead of after the last member queries (the group goes, or
 *   the sources it no longer wants). Reporters past max_hosts or from
 *   0.0.0.0 cannot be counted: the group then keeps the queries.
 *
 * A link configured for version 2 is an RFC 2236 router: v2 queries, groups
 * always EXCLUDE {}, and v3 records read the way a v2 router has to read a
 * host that asks for anything: IS_EX/TO_EX or a non-empty IS_IN/ALLOW/TO_IN
 * is a report, TO_IN {} a leave, BLOCK ignored (v3 hosts fall back to v2 at
 * our first query anyway, RFC 3376 7.2.1).
 *
 * The glue (igmp.c) owns the sockets and the timer: it feeds every parsed
 * message to igmp_link_input, calls igmp_link_timers when
 * igmp_link_deadline() comes (and re-arms its timer after every call into
 * the link: input can bring the deadline closer), sends what
 * ops->send_query asks (with igmp_build_query: general queries to
 * 224.0.0.1, group-specific ones to the group, RFC 3376 4.1.12), and on
 * ops->changed recomputes the group's upstream filter with igmp_merge and
 * its MFC entries with igmp_link_wants / igmp_merge, at once (a new member
 * of an active group does not wait for the next upcall). Callbacks run inside
 * igmp_link_input / igmp_link_timers with the link consistent: they may
 * read it (wants, filter, merge, iteration) but not change or free it. */
#ifndef IGMP_DB_H
#define IGMP_DB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "igmp_packet.h"

/* RFC 3376 8 defaults */
#define IGMP_DEFAULT_ROBUSTNESS 2
#define IGMP_DEFAULT_QUERY_INTERVAL_MS 125000u
#define IGMP_DEFAULT_QUERY_RESPONSE_MS 10000u
#define IGMP_DEFAULT_LAST_MEMBER_MS 1000u
/* caps (0 in the params picks these) */
#define IGMP_DEFAULT_MAX_GROUPS 1024u /* per link */
#define IGMP_DEFAULT_MAX_SOURCES 64u  /* per group */
#define IGMP_DEFAULT_MAX_HOSTS 16u    /* reporters tracked per group */
/* A foreign querier's QQI is taken up to this (RFC 3376 4.1.7 allows 31744
 * s): a vanished querier with a huge interval must not keep us silent for
 * days (the Other Querier Present Interval is RV x QI). */
#define IGMP_MAX_ADOPTED_QI_MS 3600000u

#define IGMP_NEVER UINT64_MAX

/* A total group count shared by several links (cap per link and total):
 * the glue owns it; links count their groups in it. */
struct igmp_budget {
	uint32_t max_groups; /* 0: no total cap */
	uint32_t groups;
};

struct igmp_link_params {
	int version;		    /* querier version: 2 or 3 */
	unsigned robustness;	    /* RFC 3376 8.1: 1..255 (queries carry QRV 0 above 7) */
	uint32_t query_interval_ms; /* 8.2 */
	uint32_t query_response_ms; /* 8.3: below the query interval */
	uint32_t last_member_ms;    /* 8.8 Last Member Query Interval */
	bool quickleave;
	struct in_addr addr;	    /* ours on the link: the election's */
	uint32_t max_groups;	    /* this link's cap */
	uint32_t max_sources;	    /* per group */
	uint32_t max_hosts;	    /* reporters tracked per group */
	struct igmp_budget *budget; /* NULL: no total cap */
};

/* Fill P with the RFC defaults (version 3, no quickleave, address 0). */
void igmp_link_params_default(struct igmp_link_params *p);

/* A query the link wants sent; the glue builds it with igmp_build_query.
 * SRCS (NSRC <= IGMP_V3_MAX_SOURCES; larger sets come as several queries)
 * is valid during the callback only. */
struct igmp_query {
	int version;	      /* the link's querier version */
	struct in_addr group; /* 0.0.0.0: general query */
	const struct in_addr *srcs;
	size_t nsrc;
	uint32_t max_resp_ms; /* QRI for general queries, LMQI for specific ones */
	bool s_flag;	      /* RFC 3376 4.1.5 */
	uint8_t qrv;	      /* RFC 3376 4.1.6 */
	uint32_t qqi_s;	      /* RFC 3376 4.1.7 */
};

struct igmp_link;

struct igmp_link_ops {
	void (*send_query)(void *ctx, struct igmp_link *l, const struct igmp_query *q);
	/* What igmp_link_wants says for GROUP may have changed (a group came
	 * or went, its mode changed, a source was added to or dropped from
	 * what is forwarded). */
	void (*changed)(void *ctx, struct igmp_link *l, struct in_addr group);
	/* Optional: we became querier (US) or another router at ADDR did. */
	void (*querier_changed)(void *ctx, struct igmp_link *l, bool us, struct in_addr addr);
	/* Optional: may GROUP be proxied (the `allow` ranges)? NULL: all.
	 * 224.0.0.0/24 never is, whatever this says. */
	bool (*allow)(void *ctx, struct in_addr group);
};

struct igmp_link_stats {
	uint64_t queries_sent;
	uint64_t queries_received;    /* from other routers */
	uint64_t query_other_version; /* RFC 3376 7.3.1: a querier of another version is there; log it */
	uint64_t query_ignored;	      /* from 0.0.0.0 (snooping switches) or our own address */
	uint64_t reports_v1, reports_v2, reports_v3, leaves;
	uint64_t records;	   /* v3 group records applied */
	uint64_t drop_bad_group;   /* not a multicast address */
	uint64_t drop_local;	   /* 224.0.0.0/24 */
	uint64_t drop_policy;	   /* outside `allow` */
	uint64_t drop_group_cap;   /* the link's max_groups reached */
	uint64_t drop_total_cap;   /* the budget's total reached */
	uint64_t drop_source_cap;  /* sources past max_sources (not recorded) */
	uint64_t drop_record_type; /* unknown v3 record types (RFC 3376 4.2.12: ignored) */
	uint64_t ignored_compat;   /* BLOCK / leave ignored in an older compatibility mode */
	uint64_t quick_leaves;	   /* quickleave applied */
	uint64_t groups_expired;
};

/* A link: we start as querier; the first general query is due at NOW (the
 * glue runs igmp_link_timers at igmp_link_deadline()). 0, -EINVAL (bad
 * params: version, robustness 0, an interval 0, QRI >= QI), -ENOMEM. */
int igmp_link_new(const struct igmp_link_params *p, const struct igmp_link_ops *ops, void *ctx, uint64_t now,
		  struct igmp_link **out);
/* Frees the link and its groups (returned to the budget); no callbacks. */
void igmp_link_free(struct igmp_link *l);
/* Adopt new parameters in place, keeping the groups (a reload). A lower
 * cap keeps what exists and refuses new ones; a new address lower than the
 * other querier's makes us querier at once. 0 or -EINVAL. */
int igmp_link_reconfigure(struct igmp_link *l, const struct igmp_link_params *p, uint64_t now);

/* One message heard on the link (igmp_parse said IGMP_OK). Timers due by
 * NOW run first, so the tables apply to the state RFC timing implies. */
void igmp_link_input(struct igmp_link *l, const struct igmp_msg *m, uint64_t now);
/* Drop GROUP's state at once (an `allow` range gone at a reload); the
 * changed callback runs. */
void igmp_link_forget(struct igmp_link *l, struct in_addr group);
/* Run everything due by NOW (expiries, queries); the next deadline. */
uint64_t igmp_link_timers(struct igmp_link *l, uint64_t now);
/* When igmp_link_timers must run next (may be early, never late). */
uint64_t igmp_link_deadline(const struct igmp_link *l);

/* RFC 3376 6.3: should traffic from SOURCE to GROUP go out on this link?
 * INCLUDE: SOURCE listed with a running timer. EXCLUDE: unless SOURCE is
 * listed with its timer at 0. No group: no. Timers are read against NOW. */
bool igmp_link_wants(const struct igmp_link *l, struct in_addr group, struct in_addr source, uint64_t now);

/* A source filter (RFC 3376 3.2 / RFC 3678): INCLUDE {} is no membership. */
struct igmp_filter {
	bool exclude;
	size_t nsrc, cap;
	struct in_addr *srcs; /* sorted by address */
};

void igmp_filter_init(struct igmp_filter *f);
void igmp_filter_free(struct igmp_filter *f);
bool igmp_filter_equal(const struct igmp_filter *a, const struct igmp_filter *b);
/* Does F let SOURCE through? */
bool igmp_filter_wants(const struct igmp_filter *f, struct in_addr source);

/* This link's view of GROUP as a filter: INCLUDE (sources with running
 * timers) or EXCLUDE (sources at 0). 0 or -ENOMEM. */
int igmp_link_filter(const struct igmp_link *l, struct in_addr group, uint64_t now, struct igmp_filter *out);
/* RFC 4605 4.1: what the upstream interface must express for GROUP over
 * LINKS (the merge of RFC 3376 3.2): EXCLUDE when any link is EXCLUDE,
 * with the intersection of their excluded lists minus every source an
 * INCLUDE link asks for; otherwise INCLUDE with the union of the included
 * sources. igmp_filter_wants(out, S) is true exactly when some link wants
 * S. The glue falls back to EXCLUDE {} (a superset) when a list is longer
 * than the socket API takes (net.ipv4.igmp_max_msf). 0 or -ENOMEM. */
int igmp_merge(struct igmp_link *const *links, size_t n, struct in_addr group, uint64_t now,
	       struct igmp_filter *out);

/* ---- The view for `homegwctl igmp` ---- */

struct igmp_group;

struct igmp_group_info {
	struct in_addr group;
	bool exclude;
	int compat;			 /* RFC 3376 7.3.2 group compatibility mode: 1, 2 or 3 */
	uint64_t expires_ms;		 /* EXCLUDE: group timer left; INCLUDE: the longest source timer */
	uint64_t v1_host_ms, v2_host_ms; /* older version host present timers left (0: none) */
	size_t nsrc;
	size_t nhosts;		  /* reporters tracked (the members) */
	bool hosts_untracked;	  /* some reporters not tracked (over max_hosts, or 0.0.0.0) */
	unsigned queries_pending; /* Q(G) retransmissions to go */
};

struct igmp_source_info {
	struct in_addr addr;
	uint64_t expires_ms; /* source timer left; 0: excluded (EXCLUDE mode) */
	bool forwarded;	     /* RFC 3376 6.3 */
};

struct igmp_querier_info {
	bool us;
	struct in_addr addr;	    /* the querier: ours, or the other router's */
	uint64_t next_query_ms;	    /* us: time to our next general query */
	uint64_t other_present_ms;  /* not us: time left before we take over */
	unsigned startup_left;	    /* startup queries still to send */
	unsigned robustness;	    /* in force (the querier's QRV when not us) */
	uint32_t query_interval_ms; /* in force (the querier's QQI when not us) */
};

/* Iterate the groups (in no order): PREV NULL first; NULL at the end. The
 * link must not change during an iteration. */
const struct igmp_group *igmp_link_group_next(const struct igmp_link *l, const struct igmp_group *prev);
const struct igmp_group *igmp_link_group_find(const struct igmp_link *l, struct in_addr group);
size_t igmp_link_group_count(const struct igmp_link *l);
void igmp_group_info(const struct igmp_group *g, uint64_t now, struct igmp_group_info *out);
/* The I-th source (sorted by address) / tracked host; false past the end. */
bool igmp_group_source(const struct igmp_group *g, size_t i, uint64_t now, struct igmp_source_info *out);
bool igmp_group_host(const struct igmp_group *g, size_t i, uint64_t now, struct in_addr *addr,
		     uint64_t *expires_ms);

void igmp_link_querier(const struct igmp_link *l, uint64_t now, struct igmp_querier_info *out);
const struct igmp_link_stats *igmp_link_stats(const struct igmp_link *l);

/* The invariants (for tests and the fuzzer): NULL when they hold, else
 * which one broke. */
const char *igmp_link_check(const struct igmp_link *l);

#endif
