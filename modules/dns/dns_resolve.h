/* dns_resolve.h — resolution of what the cache cannot answer: iterative from
 * the root hints, or through forwarders (`forward`, `forward-zone`), on the
 * module's libuv loop.
 *
 * One task per distinct (qname, qtype) in flight: clients asking the same
 * thing while it runs wait on the same task (coalescing). A task walks
 * down from the closest delegation the cache holds (NS sets and glue are
 * cached with DNS_RANK_GLUE), asks one server at a time chosen by smoothed
 * RTT, follows referrals, CNAME/DNAME chains and out-of-zone NS names (as
 * sub-tasks), and ends with a response that is put into the cache (rank
 * ANSWER) and handed to every waiter.
 *
 * Upstream hardening (issue 4): a fresh UDP socket per upstream query,
 * bound to a random port and connect()ed to the server (the kernel drops
 * datagrams from any other address or port); a random ID; the answer must
 * match ID and question (case-insensitive); records outside the bailiwick
 * of the server asked are never cached; limits per task on referrals,
 * upstream queries, CNAME restarts and NS-name lookups; caps on tasks in
 * total and per client address. */
#ifndef DNS_RESOLVE_H
#define DNS_RESOLVE_H

#include "dns_cache.h"
#include "dns_config.h"
#include "dns_hints.h"
#include "dns_wire.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* limits (unbound's defaults where it has them) */
#define DNS_MAX_REFERRALS 30	 /* per task */
#define DNS_MAX_UPSTREAM 64	 /* upstream queries per client query, sub-tasks included */
#define DNS_MAX_CNAME 11	 /* CNAME/DNAME restarts (unbound: 11) */
#define DNS_MAX_NS_LOOKUPS 6	 /* NS names without glue looked up per delegation (NXNS) */
#define DNS_MAX_DEPTH 5		 /* sub-task nesting */
#define DNS_MAX_TASKS 4096	 /* tasks in flight in total */
#define DNS_MAX_PER_CLIENT 256	 /* client queries waiting per client address */
#define DNS_QMIN_MAX 10		 /* RFC 9156 MAX_MINIMISE_COUNT */
#define DNS_UPSTREAM_TIMEOUT_MS 400 /* first timeout for a server never measured */
#define DNS_UPSTREAM_TIMEOUT_MAX_MS 4000
#define DNS_TASK_DEADLINE_MS 10000 /* a client query gets SERVFAIL after this */
#define DNS_SERVER_HOLDDOWN_S 60   /* a server that timed out repeatedly is skipped this long */

/* The runtime config of the resolver: taken from struct dns_config at start
 * and reload (dns_resolver_configure). */
struct dns_resolver_cfg {
	const struct dns_config *dc; /* forward, fzones, edns size, qname-minimisation, max-ttl, negative-ttl, serve-stale */
	const struct dns_hints *hints;
	uint16_t upstream_port; /* 53; tests may point the whole hierarchy elsewhere */
};

/* How the contract below is kept (dns_resolve.c):
 *  - CFG's pointers (dc, hints) are read when a task takes a step, never
 *    kept across dns_resolver_configure: once configure returns, the old
 *    config may be freed. A running task keeps the EDNS size, the QNAME
 *    minimisation switch and the TTL bounds it started with; where a name
 *    goes next (forward, forward-zone, hints) follows the config in force.
 *  - A waiter whose client address is 0.0.0.0 is the resolver's own (a task
 *    waiting on an NS-name sub-task) and is not counted per client: callers
 *    always fill in the client's address.
 *  - The entry a waiter gets is always the task's own copy (rank ANSWER,
 *    stored = when the task finished), whether or not the cache kept it.
 *  - dns_resolve may also fail with -ENOMEM.
 *  - Cache entries written by the resolver (dns_scrub.h says which): the
 *    composed answer for (qname, qtype); the chain links (name, CNAME); the
 *    delegations (zone, NS) with glue, and (NS name, A), at rank GLUE. */

struct dns_resolver;
struct dns_resolve_wait;

/* What a waiter gets: the final response (question lower-cased) as a cache
 * entry — either the one just put into the cache or a transient one when the
 * answer is not cacheable — or NULL with an rcode (SERVFAIL on failure). The
 * entry is valid during the callback only: answer with dns_cache_answer. */
typedef void (*dns_resolve_cb)(struct dns_resolve_wait *w, int rcode, const struct dns_cache_entry *e);

/* A client query waiting for a task; embedded in the caller's request. */
struct dns_resolve_wait {
	dns_resolve_cb cb;
	struct in_addr client;
	/* internal */
	struct dns_resolve_wait *next, *prev;
	void *task;
};

struct dns_resolver_stats {
	uint64_t tasks, coalesced, upstream_queries, upstream_tcp, timeouts, answers_rejected, servfail, prefetches,
		stale_served;
	uint64_t refused_limit; /* client queries refused by the per-client / total caps */
};

int dns_resolver_new(uv_loop_t *loop, struct dns_cache *cache, const struct dns_resolver_cfg *cfg,
		     struct dns_resolver **out);
/* Adopt a new config (reload): tasks in flight finish under the old rules. */
void dns_resolver_configure(struct dns_resolver *r, const struct dns_resolver_cfg *cfg);
/* Start resolving (QNAME, QTYPE, class IN) for W. 0: W->cb will be called
 * exactly once, later (never from inside this call). -EBUSY: a limit refused
 * it (the caller answers SERVFAIL or serves stale). */
int dns_resolve(struct dns_resolver *r, const struct dns_name *qname, uint16_t qtype, struct dns_resolve_wait *w);
/* Detach W (its client went away); its cb is not called. */
void dns_resolve_cancel(struct dns_resolve_wait *w);
/* Refresh (QNAME, QTYPE) in the background (prefetch); no waiter. */
void dns_resolve_prefetch(struct dns_resolver *r, const struct dns_name *qname, uint16_t qtype);
/* Forget what was learnt about servers (RTT, timeouts, lameness): the WAN came up again. */
void dns_resolver_forget_servers(struct dns_resolver *r);
/* Per-server RTT for `dns stats`: calls FN for each server known. */
void dns_resolver_servers(const struct dns_resolver *r,
			  void (*fn)(void *data, struct in_addr addr, uint32_t srtt_ms, uint64_t queries,
				     uint64_t timeouts),
			  void *data);
const struct dns_resolver_stats *dns_resolver_stats(const struct dns_resolver *r);
/* Cancel every task (waiters get SERVFAIL), close every handle; CB when all
 * are closed (then the resolver is freed). */
void dns_resolver_close(struct dns_resolver *r, void (*cb)(void *data), void *data);

#endif
