/* dns_scrub.h — the pure part of upstream-answer handling: what an answer
 * from a server says, and which cache entries it may leave behind.
 *
 * Given the question asked, the zone of the server asked (its bailiwick) and
 * the parsed response, dns_scrub_run() classifies the response (an answer, a
 * CNAME/DNAME chain to follow elsewhere, a referral, NXDOMAIN, NODATA, a
 * lame or bogus server) and builds the cache entries it implies as wire
 * messages (question at offset 12, as dns_cache wants them). Only records
 * the server is entitled to say anything about get through (RFC 2181 5.4.1,
 * the "bailiwick rule"): owners under the zone asked, class IN, and in the
 * answer section only the chain from the question's name to the data. The
 * rest is dropped and counted. No sockets, no clock: TTLs are durations.
 *
 * What the entries look like (rank ANSWER unless said otherwise):
 *  - (qname, qtype): the response a client gets: the chain (CNAME, or DNAME
 *    + the CNAME synthesised from it, RFC 6672 3) and the data; for NXDOMAIN
 *    and NODATA the chain and the zone's SOA in the authority section, its
 *    TTL the negative TTL (RFC 2308 5).
 *  - (last name of the chain, qtype), when there is a chain: the same
 *    without it (a later chain through that name needs no new query).
 *  - (owner, CNAME) for every link: what the resolver follows from cache.
 *  - a referral: (child zone, NS) with the NS records in the answer section
 *    and the in-bailiwick glue (A) in the additional section, and (NS name,
 *    A) for each NS name with glue; both rank GLUE, never shown to clients.
 *  - an NS answer carries the in-bailiwick A records of its names in the
 *    additional section, so it serves as a delegation too.
 * An entry's TTL is the smallest of its records' TTLs, bounded by max-ttl
 * (RFC 2181 8: a TTL with the top bit set counts as 0); an entry of TTL 0 is
 * for the transaction in progress only (dns_cache_put declines it): a
 * negative answer without SOA (RFC 2308 5), more TTLs than the writer
 * records. */
#ifndef DNS_SCRUB_H
#define DNS_SCRUB_H

#include "dns_cache.h"
#include "dns_wire.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define DNS_SCRUB_CHAIN_MAX 16 /* links followed inside one response */
#define DNS_SCRUB_NS_MAX 16    /* NS names kept from a referral (more is an NXNS amplifier) */
#define DNS_SCRUB_ADDR_MAX 8   /* glue addresses kept per NS name */
#define DNS_SCRUB_ENTRIES_MAX (2 + DNS_SCRUB_CHAIN_MAX + 1 + DNS_SCRUB_NS_MAX)

enum dns_scrub_kind {
	DNS_SCRUB_ANSWER,   /* the data for the question (after a chain inside the zone, maybe) */
	DNS_SCRUB_CNAME,    /* the chain leaves the zone (or stops): resolve `target` next */
	DNS_SCRUB_REFERRAL, /* ask the servers of `child` */
	DNS_SCRUB_NXDOMAIN, /* the chain's last name does not exist */
	DNS_SCRUB_NODATA,   /* it exists, without data of the type */
	DNS_SCRUB_LAME,	    /* not an answer for this zone: an upward referral, nothing useful */
	DNS_SCRUB_ERROR,    /* an rcode other than NOERROR/NXDOMAIN (`rcode` says which) */
	DNS_SCRUB_BOGUS,    /* not a response to the question, a chain loop, a broken DNAME */
};

struct dns_scrub_query {
	const struct dns_name *qname; /* the question sent */
	uint16_t qtype;
	const struct dns_name *zone; /* the bailiwick: the zone of the server asked (root for `forward`) */
	bool forwarder;		     /* a recursive server (RD=1): no AA needed, a referral is lame */
	uint32_t max_ttl, negative_ttl;
};

/* One step of a chain: FROM is an alias of TO. For a DNAME (RFC 6672) the
 * DNAME record (DOWNER DNAME DTARGET) comes first and the CNAME FROM -> TO
 * is synthesised from it. */
struct dns_scrub_link {
	struct dns_name from, to;
	uint32_t ttl; /* bounded by max-ttl */
	bool dname;
	struct dns_name downer, dtarget;
};

struct dns_scrub_ns {
	struct dns_name name;
	struct in_addr addr[DNS_SCRUB_ADDR_MAX];
	unsigned naddr;
};

/* A cache entry to be: dns_scrub_entry_put() fills a struct dns_cache_put. */
struct dns_scrub_entry {
	struct dns_name name;
	uint16_t type;
	enum dns_cache_rank rank;
	uint8_t rcode;
	bool negative;
	uint32_t ttl;
	uint8_t *msg; /* owned (malloc) */
	size_t len;
	uint16_t *ttl_off; /* owned */
	size_t nttl;
};

struct dns_scrub {
	/* ---- results of dns_scrub_run ---- */
	enum dns_scrub_kind kind;
	const char *why;  /* LAME, ERROR, BOGUS: what was wrong (static text, for logs) */
	uint16_t rcode;	  /* the response's (12-bit) rcode */
	unsigned dropped; /* records scrubbed */
	/* the chain followed in this response (also for REFERRAL/LAME: empty) */
	struct dns_scrub_link chain[DNS_SCRUB_CHAIN_MAX];
	unsigned nchain;
	struct dns_name target; /* the chain's last name (the question's name without a chain) */
	/* REFERRAL */
	struct dns_name child;
	struct dns_scrub_ns ns[DNS_SCRUB_NS_MAX];
	unsigned nns;
	/* the entries, and which is which (-1: none) */
	struct dns_scrub_entry entries[DNS_SCRUB_ENTRIES_MAX];
	unsigned nentries;
	int question_entry; /* (qname, qtype): ANSWER, NXDOMAIN, NODATA */
	int final_entry;    /* (target, qtype): the same entry when there is no chain */
	/* ---- scratch ---- */
	uint8_t wbuf[DNS_MSG_MAX];
	uint8_t rdata[DNS_RDATA_EXPANDED_MAX];
};

/* A work area (about 140 KiB, so it is allocated once and reused). */
struct dns_scrub *dns_scrub_new(void);
void dns_scrub_free(struct dns_scrub *s);

/* Classify M, the response to Q (dns_msg_parse accepted it), and build its
 * entries into S (those of the previous run are freed). Returns S->kind.
 * The question must match (name case-insensitively, type, class IN), QR
 * set, opcode QUERY, TC clear, QNAME under the zone; else BOGUS. */
enum dns_scrub_kind dns_scrub_run(struct dns_scrub *s, const struct dns_scrub_query *q,
				  const struct dns_msg *m);

/* The response a client gets for (QNAME, QTYPE) at the end of a chain
 * that crossed zones: LINKS (in order, the first from QNAME) followed by
 * the answer and authority sections of FINAL, a message this module built
 * for the last name (a cache entry's, its TTLs as they are now); FINAL's
 * rcode, NEGATIVE as given; TTL the smallest of FINAL_TTL and the links'.
 * Uses S's scratch only. 0, or -ENOSPC / -EBADMSG (OUT then owns nothing). */
int dns_scrub_compose(struct dns_scrub *s, const struct dns_name *qname, uint16_t qtype,
		      const struct dns_scrub_link *links, unsigned nlinks, const struct dns_msg *final,
		      uint32_t final_ttl, bool negative, struct dns_scrub_entry *out);

void dns_scrub_entry_put(const struct dns_scrub_entry *e, struct dns_cache_put *p);
void dns_scrub_entry_free(struct dns_scrub_entry *e);

/* A delegation from the cache: the NS records of ZONE in M's answer
 * section, each with the A records of its name found in the additional
 * section (a referral or an NS answer as stored above). Returns the count
 * (at most MAX). */
unsigned dns_scrub_read_ns(const struct dns_msg *m, const struct dns_name *zone, struct dns_scrub_ns *ns,
			   unsigned max);
/* The IPv4 addresses of M's answer section (an NS name's A lookup, the
 * chain's data at its end). Returns the count (at most MAX). */
unsigned dns_scrub_read_addrs(const struct dns_msg *m, struct in_addr *out, unsigned max);

const char *dns_scrub_kind_str(enum dns_scrub_kind k);

#endif
