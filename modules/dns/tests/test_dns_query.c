/* test_dns_query.c — the resolver's front (dns_query.c): what a client's
 * bytes turn into. Drops, FORMERR, NOTIMP, BADVERS, REFUSED, local answers,
 * cache hits with the client's spelling and EDNS echoed, truncation to the
 * client's UDP size, the resolve verdict with its stale / prefetch hints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "dns_config.h"
#include "dns_query.h"
#include "dns_wire.h"
#include "names.h"

struct env {
	struct dns_config dc;
	struct dns_cache *cache;
	struct gw_names *names;
	struct dns_query_env qe;
	uint8_t out[65535];
	size_t outlen;
	struct dns_query q;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->dc.edns_buffer_size = 1232;
	e->dc.prefetch = e->dc.serve_stale = true;
	assert_int_equal(dns_name_from_text(&e->dc.local_domain, "home.arpa"), 0);
	e->cache = dns_cache_new(1 << 20, 3600);
	e->names = gw_names_new();
	assert_non_null(e->cache);
	assert_non_null(e->names);
	e->qe = (struct dns_query_env){&e->dc, e->cache, e->names, 1000, 1795000000, true};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	dns_cache_free(e->cache);
	gw_names_free(e->names);
	free(e);
	return 0;
}

/* A query for NAME/TYPE with flags, optionally with an OPT of SIZE (version VER). */
static size_t query(uint8_t *buf, size_t cap, const char *name, uint16_t type, uint16_t flags, int edns_size,
		    uint8_t ver)
{
	struct dns_writer dw;
	struct dns_name n;
	int len;

	assert_int_equal(dns_name_from_text(&n, name), 0);
	dns_writer_init(&dw, buf, cap, 0x1234, flags);
	dns_put_question(&dw, &n, type, DNS_CLASS_IN);
	if (edns_size >= 0)
		dns_put_opt(&dw, (uint16_t)edns_size, 0, 0);
	len = dns_writer_finish(&dw);
	assert_true(len > 0);
	if (edns_size >= 0 && ver) /* the OPT's version byte: TTL's second byte */
		buf[len - 11 + 6] = ver;
	return (size_t)len;
}

static enum dns_query_verdict run(struct env *e, const uint8_t *pkt, size_t len, bool tcp)
{
	return dns_query_handle(&e->qe, pkt, len, tcp, &e->q, e->out, sizeof(e->out), &e->outlen);
}

static struct dns_msg reply(struct env *e)
{
	struct dns_msg m;

	assert_true(e->outlen >= DNS_HDR_LEN);
	assert_int_equal(dns_msg_parse(&m, e->out, e->outlen, NULL), 0);
	assert_int_equal(m.id, 0x1234);
	assert_true(m.flags & DNS_F_QR);
	return m;
}

/* Cache an answer: NAME A ADDR with TTL, as the resolver would. */
static void cache_a(struct env *e, const char *name, const char *addr, uint32_t ttl, unsigned nrr)
{
	uint8_t buf[4096];
	struct dns_writer dw;
	struct dns_name n;
	struct in_addr a;
	struct dns_cache_put p;
	int len;

	assert_int_equal(dns_name_from_text(&n, name), 0);
	dns_name_lower(&n);
	assert_int_equal(inet_pton(AF_INET, addr, &a), 1);
	dns_writer_init(&dw, buf, sizeof(buf), 0, DNS_F_QR | DNS_F_RA);
	dns_put_question(&dw, &n, DNS_TYPE_A, DNS_CLASS_IN);
	for (unsigned i = 0; i < nrr; i++)
		dns_put_rr(&dw, DNS_SEC_ANSWER, &n, DNS_TYPE_A, DNS_CLASS_IN, ttl, (const uint8_t *)&a, 4);
	len = dns_writer_finish(&dw);
	assert_true(len > 0);
	p = (struct dns_cache_put){&n, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, 0, false, buf, (size_t)len,
				   dw.ttl_off, dw.nttl, ttl};
	assert_int_equal(dns_cache_put(e->cache, &p, e->qe.now), 0);
}

static void test_drops(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);

	assert_int_equal(run(e, pkt, 11, false), DNS_QUERY_DROP); /* shorter than a header */
	pkt[2] |= 0x80;						  /* a response: never answered */
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_DROP);
	assert_int_equal(e->outlen, 0);
}

static void test_formerr(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	struct dns_msg m;

	/* a count that lies: two questions promised, one there */
	pkt[5] = 2;
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_int_equal(m.rcode, DNS_RCODE_FORMERR);
	assert_int_equal(m.qdcount, 0); /* nothing of a bad message is echoed */
	assert_int_equal(e->outlen, DNS_HDR_LEN);
	/* no question at all: parses, but a query needs one */
	len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	pkt[5] = 0;
	assert_int_equal(run(e, pkt, DNS_HDR_LEN, false), DNS_QUERY_REPLY);
	assert_int_equal(reply(e).rcode, DNS_RCODE_FORMERR);
	(void)len;
}

static void test_notimp_badvers_refused(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len;
	struct dns_msg m;

	len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_A, DNS_F_RD | (2 << 11), -1, 0); /* opcode STATUS */
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	assert_int_equal(reply(e).rcode, DNS_RCODE_NOTIMP);

	len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_A, DNS_F_RD, 1232, 1); /* EDNS version 1 */
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_int_equal(m.rcode, DNS_RCODE_BADVERS); /* RFC 6891 6.1.3: 16, the upper bits in OPT */
	assert_true(m.edns);
	assert_int_equal(m.edns_version, 0);

	len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_AXFR, 0, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	assert_int_equal(reply(e).rcode, DNS_RCODE_NOTIMP);

	e->qe.allowed = false;
	len = query(pkt, sizeof(pkt), "example.com", DNS_TYPE_A, DNS_F_RD, 1232, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_int_equal(m.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(m.qdcount, 1); /* the question is echoed */
	assert_int_equal(m.qtype, DNS_TYPE_A);
	assert_true(m.edns);
	assert_int_equal(m.edns_udp, 1232);
}

static void test_local(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	struct in_addr a;
	size_t len;
	struct dns_msg m;

	inet_pton(AF_INET, "198.51.100.5", &a);
	assert_int_equal(gw_names_add(e->names, "nas.home.arpa", a, GW_NAME_STATIC, 0), 0);
	len = query(pkt, sizeof(pkt), "NAS.home.arpa", DNS_TYPE_A, DNS_F_RD, 1232, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_true(e->q.local);
	assert_true(m.flags & DNS_F_AA);
	assert_int_equal(m.ancount, 1);
	assert_memory_equal(e->out + DNS_HDR_LEN, pkt + DNS_HDR_LEN, m.qname.len); /* the client's spelling */
	assert_true(m.edns);
	/* an address outside the locally served zones that a host statement names: answered here */
	inet_pton(AF_INET, "198.18.3.9", &a);
	assert_int_equal(gw_names_add(e->names, "web.home.arpa", a, GW_NAME_STATIC, 0), 0);
	len = query(pkt, sizeof(pkt), "9.3.18.198.IN-ADDR.ARPA", DNS_TYPE_PTR, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	assert_int_equal(reply(e).ancount, 1);
	/* one without an entry goes to the resolver */
	len = query(pkt, sizeof(pkt), "8.3.18.198.in-addr.arpa", DNS_TYPE_PTR, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_RESOLVE);
}

static void test_cache_hit(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len;
	struct dns_msg m;

	cache_a(e, "www.example.com", "203.0.113.80", 300, 1);
	e->qe.now += 100;
	len = query(pkt, sizeof(pkt), "WwW.ExAmple.CoM", DNS_TYPE_A, DNS_F_RD | DNS_F_CD, 4096, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_true(e->q.from_cache);
	assert_int_equal(m.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(m.flags & (DNS_F_RD | DNS_F_CD | DNS_F_RA | DNS_F_AA), DNS_F_RD | DNS_F_CD | DNS_F_RA);
	assert_memory_equal(e->out + DNS_HDR_LEN, pkt + DNS_HDR_LEN, m.qname.len);
	assert_int_equal(m.ancount, 1);
	assert_true(m.edns);
	assert_int_equal(m.edns_udp, 1232); /* ours, not the client's 4096 */
	{
		struct dns_rr_iter it;
		struct dns_rr rr;

		dns_rr_iter_init(&it, &m);
		assert_int_equal(dns_rr_next(&it, &rr), 1);
		assert_int_equal(rr.ttl, 200); /* counted down */
	}
	/* without EDNS: no OPT back */
	len = query(pkt, sizeof(pkt), "www.example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_false(m.edns);
	assert_int_equal(m.arcount, 0);
}

static void test_truncation(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len;
	struct dns_msg m;

	cache_a(e, "big.example.com", "203.0.113.81", 300, 100); /* ~1.6 KB */
	/* no EDNS: 512 bytes */
	len = query(pkt, sizeof(pkt), "big.example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_true(m.flags & DNS_F_TC);
	assert_int_equal(m.ancount, 0);
	assert_int_equal(m.qdcount, 1);
	assert_true(e->outlen <= 512);
	/* EDNS 1232: still too big, TC with the OPT */
	len = query(pkt, sizeof(pkt), "big.example.com", DNS_TYPE_A, DNS_F_RD, 1232, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_true(m.flags & DNS_F_TC);
	assert_true(m.edns);
	/* a client's size under 512 counts as 512 (RFC 6891 6.2.5) */
	cache_a(e, "mid.example.com", "203.0.113.82", 300, 20); /* ~350 bytes */
	len = query(pkt, sizeof(pkt), "mid.example.com", DNS_TYPE_A, DNS_F_RD, 100, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	m = reply(e);
	assert_false(m.flags & DNS_F_TC);
	assert_int_equal(m.ancount, 20);
	/* TCP: whole */
	len = query(pkt, sizeof(pkt), "big.example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, true), DNS_QUERY_REPLY);
	m = reply(e);
	assert_false(m.flags & DNS_F_TC);
	assert_int_equal(m.ancount, 100);
}

static void test_resolve_hints(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len;

	len = query(pkt, sizeof(pkt), "new.example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_RESOLVE);
	assert_false(e->q.stale_available);
	assert_int_equal(e->outlen, 0);
	/* expired, within the stale window: resolve, with a stale answer to fall back on */
	cache_a(e, "old.example.com", "203.0.113.83", 60, 1);
	e->qe.now += 61;
	len = query(pkt, sizeof(pkt), "old.example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_RESOLVE);
	assert_true(e->q.stale_available);
	/* a hit in the last tenth of the TTL asks for a prefetch, once */
	cache_a(e, "hot.example.com", "203.0.113.84", 100, 1);
	e->qe.now += 95;
	len = query(pkt, sizeof(pkt), "hot.example.com", DNS_TYPE_A, DNS_F_RD, -1, 0);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	assert_true(e->q.prefetch);
	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_REPLY);
	assert_false(e->q.prefetch);
}

static void test_error_answer(void **state)
{
	struct env *e = *state;
	uint8_t pkt[512];
	size_t len = query(pkt, sizeof(pkt), "new.example.com", DNS_TYPE_AAAA, DNS_F_RD, 1400, 0);
	struct dns_msg m;

	assert_int_equal(run(e, pkt, len, false), DNS_QUERY_RESOLVE);
	e->outlen = dns_query_error(&e->qe, &e->q, DNS_RCODE_SERVFAIL, e->out, sizeof(e->out));
	m = reply(e);
	assert_int_equal(m.rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(m.qtype, DNS_TYPE_AAAA);
	assert_true(m.edns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notimp_badvers_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_hints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_answer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
