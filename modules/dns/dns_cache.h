/* dns_cache.h — the resolver's cache: whole answers in wire form, keyed by
 * (name, type, class), within a byte budget, LRU-evicted.
 *
 * Why whole messages: the cache-hit path is the resolver's hot path. An
 * entry holds the response exactly as it will be sent (header, the question
 * at offset 12, the sections with their compression pointers), plus the
 * offsets of its TTL fields. A hit is one hash lookup, one memcpy, the ID,
 * flags and question bytes patched in (the question name has the same length
 * whatever its case, so every compression pointer stays valid) and the TTLs
 * counted down: no resolution state, no re-encoding.
 *
 * Ranks keep resolver-internal data (referrals, glue, NS address records
 * learnt from additional sections) from being answered to clients: a client
 * lookup asks for DNS_RANK_ANSWER, the resolver takes either. A put never
 * lets a lower rank replace a fresh higher one.
 *
 * Time is the caller's: monotonic seconds (uv_now / 1000). Expired entries
 * are kept for serve-stale (RFC 8767) up to STALE_MAX seconds past expiry,
 * then dropped as the LRU reaches them or a lookup finds them. */
#ifndef DNS_CACHE_H
#define DNS_CACHE_H

#include "dns_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_cache_rank {
	DNS_RANK_GLUE = 1,   /* referral NS sets, glue, additional-section data */
	DNS_RANK_ANSWER = 2, /* answers from the authority for the name (or a forwarder) */
};

#define DNS_CACHE_STALE_TTL 30 /* RFC 8767 4: TTL of a stale answer */

struct dns_cache_entry {
	/* read-only for users */
	struct dns_name name; /* lower-cased */
	uint16_t type, class;
	uint8_t rank;
	uint8_t rcode;	   /* NOERROR (data or NODATA) or NXDOMAIN */
	bool negative;	   /* NXDOMAIN or NODATA */
	uint32_t stored;   /* when put */
	uint32_t ttl;	   /* lifetime given at put */
	uint32_t expires;  /* stored + ttl */
	uint64_t hits;
	uint8_t *msg;	   /* the stored response */
	uint16_t len;
	uint16_t *ttl_off; /* offsets of its TTL fields */
	uint16_t nttl;
	bool prefetching; /* a prefetch was started for it (dns_cache_want_prefetch) */
	/* internal */
	size_t cost;
	struct dns_cache_entry *hnext;		/* hash chain */
	struct dns_cache_entry *lprev, *lnext; /* LRU: head most recent */
	uint32_t hash;
};

struct dns_cache_put {
	const struct dns_name *name;
	uint16_t type, class;
	enum dns_cache_rank rank;
	uint8_t rcode;
	bool negative;
	const uint8_t *msg; /* a response: header (ID and flags are rewritten per answer), one question, RRs */
	size_t len;
	const uint16_t *ttl_off; /* each must hold a TTL field inside msg (4 bytes) */
	size_t nttl;
	uint32_t ttl; /* the entry's lifetime, already bounded by max-ttl or negative-ttl */
};

struct dns_cache_stats {
	uint64_t entries, bytes, budget;
	uint64_t hits, stale_hits, misses;
	uint64_t puts, evictions, expired, flushed;
	uint64_t buckets; /* hash buckets: a power of two, doubled to keep entries <= buckets */
};

enum dns_cache_state { DNS_CACHE_MISS, DNS_CACHE_FRESH, DNS_CACHE_STALE };

struct dns_cache;

/* BUDGET: bytes of entries (struct, message, offsets) the cache may hold. */
struct dns_cache *dns_cache_new(size_t budget, uint32_t stale_max);
void dns_cache_free(struct dns_cache *c);
/* A reload: a smaller budget evicts at once (LRU first). */
void dns_cache_set_budget(struct dns_cache *c, size_t budget);
void dns_cache_set_stale_max(struct dns_cache *c, uint32_t stale_max);

/* Store P at NOW. 0: stored (an older entry for the key is replaced);
 * 1: not stored, a fresh entry of higher rank is kept; -EINVAL: P is not a
 * response with one question for P's key, or a TTL offset is outside it;
 * -E2BIG: the entry would take more than an eighth of the budget;
 * -ENOMEM. */
int dns_cache_put(struct dns_cache *c, const struct dns_cache_put *p, uint32_t now);

/* The entry for (NAME, TYPE, CLASS) of rank >= MIN_RANK. *STATE says whether
 * it is fresh or stale (expired, within stale_max); MISS returns NULL. A
 * fresh or stale hit moves it to the LRU head and counts it. An entry past
 * the stale window is freed here. The pointer is valid until the next put,
 * flush, budget change or free. */
struct dns_cache_entry *dns_cache_get(struct dns_cache *c, const struct dns_name *name, uint16_t type,
				      uint16_t class, enum dns_cache_rank min_rank, uint32_t now,
				      enum dns_cache_state *state);

/* The answer to a client from E into OUT: the stored message with ID, the
 * query's RD and CD bits, QR and RA set, AA clear, E's rcode; the question
 * name bytes taken from QNAME_WIRE (the client's spelling, same length as
 * E's name: the caller looked E up by it); every TTL counted down by the
 * time since it was stored, or DNS_CACHE_STALE_TTL when STALE. Returns the
 * length, or -ENOSPC. The caller appends an OPT when the client sent one. */
int dns_cache_answer(const struct dns_cache_entry *e, uint16_t id, uint16_t qflags, const uint8_t *qname_wire,
		     uint32_t now, bool stale, uint8_t *out, size_t cap);

/* Seconds E has left at NOW (0 once expired). */
uint32_t dns_cache_ttl_left(const struct dns_cache_entry *e, uint32_t now);

/* True once per entry lifetime, when a fresh hit comes in the last tenth of
 * E's TTL (and the TTL is at least 10 s): the caller refreshes it before it
 * expires (unbound's prefetch). Sets E->prefetching. */
bool dns_cache_want_prefetch(struct dns_cache_entry *e, uint32_t now);

/* Drop every entry (BELOW NULL) or NAME and every name below it. Returns the count. */
size_t dns_cache_flush(struct dns_cache *c, const struct dns_name *below);

/* Iterate (for `dns cache`): *cursor = 0 first; NULL at the end. Entries
 * must not be added or removed between calls. */
const struct dns_cache_entry *dns_cache_next(const struct dns_cache *c, size_t *cursor);

const struct dns_cache_stats *dns_cache_stats(const struct dns_cache *c);

#endif
