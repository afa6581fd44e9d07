/* fuzz_dns_scrub.c — libFuzzer target: arbitrary bytes as an upstream
 * server's response to "www.example.com. A", scrubbed three ways (asked of
 * com.'s servers, of example.com.'s, and of a forwarder), and every entry
 * the scrubber makes put into a dns_cache and answered from it.
 *
 * Invariants checked: every entry parses, is a valid cache entry (put
 * gives 0 or 1, never -EINVAL), holds only records owned inside the zone
 * asked (the bailiwick rule), and answers from the cache; a referral's
 * child is strictly below the zone and above the name; a chain composed
 * onto the final entry is a valid entry too. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "dns_scrub.h"
#include "dns_wire.h"

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct dns_scrub *S;
static struct dns_cache *C;
static struct dns_name qname, zones[3];
static uint8_t out[DNS_MSG_MAX];

static int init(void)
{
	S = dns_scrub_new();
	C = dns_cache_new(64u << 20, 3600);
	CHECK(S && C);
	CHECK(dns_name_from_text(&qname, "www.example.com") == 0);
	CHECK(dns_name_from_text(&zones[0], "com") == 0);
	CHECK(dns_name_from_text(&zones[1], "example.com") == 0);
	CHECK(dns_name_from_text(&zones[2], ".") == 0);
	return 0;
}

/* Every record of entry E is owned inside ZONE; returns its message parsed. */
static void check_entry(const struct dns_scrub_entry *e, const struct dns_name *zone)
{
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_cache_put p;
	struct dns_cache_entry *ce;
	int r;

	CHECK(dns_msg_parse(&m, e->msg, e->len, NULL) == 0);
	CHECK(m.qdcount == 1 && m.qtype == e->type && dns_name_equal(&m.qname, &e->name));
	CHECK(e->nttl == (size_t)m.ancount + m.nscount + m.arcount || e->ttl == 0);
	dns_rr_iter_init(&it, &m);
	while ((r = dns_rr_next(&it, &rr)) == 1) {
		CHECK(rr.class == DNS_CLASS_IN);
		CHECK(dns_name_is_under(&rr.name, zone));
	}
	CHECK(r == 0);
	dns_scrub_entry_put(e, &p);
	r = dns_cache_put(C, &p, 1000);
	CHECK(r == 0 || r == 1);
	ce = dns_cache_get(C, &e->name, e->type, DNS_CLASS_IN, e->rank, 1010, NULL);
	if (r == 0 && ce) {
		CHECK(dns_cache_answer(ce, 1, DNS_F_RD, e->name.b, 1010, false, out, sizeof(out)) ==
		      (int)ce->len);
		CHECK(dns_msg_parse(&m, out, ce->len, NULL) == 0);
	}
}

static void check_run(const struct dns_msg *m, const struct dns_name *zone, bool fwd)
{
	struct dns_scrub_query q = {.qname = &qname,
				    .qtype = DNS_TYPE_A,
				    .zone = zone,
				    .forwarder = fwd,
				    .max_ttl = 86400,
				    .negative_ttl = 3600};
	enum dns_scrub_kind k = dns_scrub_run(S, &q, m);
	struct dns_scrub_entry comp;
	struct dns_scrub_ns ns[DNS_SCRUB_NS_MAX];
	struct dns_msg fm;

	CHECK((unsigned)k <= DNS_SCRUB_BOGUS && S->nentries <= DNS_SCRUB_ENTRIES_MAX);
	CHECK(S->nchain <= DNS_SCRUB_CHAIN_MAX && S->nns <= DNS_SCRUB_NS_MAX);
	if (k == DNS_SCRUB_REFERRAL) {
		CHECK(!fwd && S->child.labels > zone->labels && dns_name_is_under(&S->child, zone));
		CHECK(dns_name_is_under(&qname, &S->child) && S->nns > 0);
	}
	if (k == DNS_SCRUB_CNAME)
		CHECK(S->nchain > 0);
	if (k == DNS_SCRUB_LAME || k == DNS_SCRUB_ERROR || k == DNS_SCRUB_BOGUS)
		CHECK(S->nentries == 0);
	for (unsigned i = 0; i < S->nentries; i++) {
		check_entry(&S->entries[i], zone);
		if (S->entries[i].type == DNS_TYPE_NS) {
			CHECK(dns_msg_parse(&fm, S->entries[i].msg, S->entries[i].len, NULL) == 0);
			CHECK(dns_scrub_read_ns(&fm, &S->entries[i].name, ns, DNS_SCRUB_NS_MAX) <=
			      DNS_SCRUB_NS_MAX);
		}
	}
	if (S->final_entry >= 0) {
		const struct dns_scrub_entry *f = &S->entries[S->final_entry];

		CHECK(dns_msg_parse(&fm, f->msg, f->len, NULL) == 0);
		if (dns_scrub_compose(S, &qname, DNS_TYPE_A, S->chain, S->nchain, &fm, f->ttl,
				      k != DNS_SCRUB_ANSWER, &comp) == 0) {
			check_entry(&comp, zone);
			dns_scrub_entry_free(&comp);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready = -1;
	struct dns_msg m;

	if (ready < 0)
		ready = init();
	if (dns_msg_parse(&m, data, size, NULL) < 0)
		return 0;
	check_run(&m, &zones[0], false);
	check_run(&m, &zones[1], false);
	check_run(&m, &zones[2], true);
	dns_cache_flush(C, NULL);
	return 0;
}
