/* dns_query.h — a client's query, from bytes to a decision: the pure front
 * of the resolver (no sockets; the clocks are passed in).
 *
 * Order of the checks (each answer is counted by rcode in the glue):
 *   shorter than a header, or a response (QR)   → dropped (never answered:
 *                                                  reflection loops)
 *   malformed (dns_msg_parse)                    → FORMERR, header only
 *   opcode other than QUERY                      → NOTIMP
 *   not exactly one question                     → FORMERR
 *   EDNS version > 0                             → BADVERS (RFC 6891 6.1.3)
 *   client not allowed                           → REFUSED
 *   class other than IN; AXFR, IXFR, meta types  → REFUSED / NOTIMP
 *   a locally served name (dns_local.h)          → the local answer
 *   a fresh cache entry (rank ANSWER)            → the cached answer
 *   otherwise                                    → resolve (the glue asks
 *                                                  dns_resolve; a stale
 *                                                  entry may answer if that
 *                                                  fails: serve-stale)
 * Replies over UDP fit the client's size (512 without EDNS, else its EDNS
 * size bounded by ours): a bigger answer goes out as header + question (+
 * OPT) with TC set, and the client retries over TCP (RFC 7766). */
#ifndef DNS_QUERY_H
#define DNS_QUERY_H

#include "dns_cache.h"
#include "dns_config.h"
#include "dns_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct gw_names;

struct dns_query_env {
	const struct dns_config *dc;
	struct dns_cache *cache;
	const struct gw_names *names;
	uint32_t now; /* monotonic seconds: the cache's clock */
	time_t wall;  /* the names table's clock */
	bool allowed; /* the ACL's verdict on the client (the glue decides: the default ACL is live) */
};

enum dns_query_verdict { DNS_QUERY_DROP, DNS_QUERY_REPLY, DNS_QUERY_RESOLVE };

struct dns_query {
	struct dns_msg m;
	bool tcp;
	uint16_t limit; /* the reply's size limit */
	/* what happened (for the glue's counters) */
	uint16_t rcode;
	bool from_cache, local, stale_available, prefetch;
	/* last: dns_query_handle clears everything before it, not these 255 bytes */
	uint8_t qname_wire[DNS_NAME_MAX]; /* the client's spelling, for the answer */
};

/* Decide about the query in PKT. REPLY: the answer is in OUT (*OUTLEN
 * bytes). RESOLVE: Q holds the parsed question for dns_resolve (and
 * Q->prefetch / stale_available hints). DROP: nothing to send. */
enum dns_query_verdict dns_query_handle(const struct dns_query_env *env, const uint8_t *pkt, size_t len, bool tcp,
					struct dns_query *q, uint8_t *out, size_t cap, size_t *outlen);

/* The answer to Q from entry E (the resolver's result or a stale entry).
 * Returns the length in OUT. */
size_t dns_query_answer(const struct dns_query_env *env, struct dns_query *q, const struct dns_cache_entry *e,
			bool stale, uint8_t *out, size_t cap);
/* An error answer (SERVFAIL, REFUSED...) to Q with its question. */
size_t dns_query_error(const struct dns_query_env *env, struct dns_query *q, uint16_t rcode, uint8_t *out,
		       size_t cap);

#endif
