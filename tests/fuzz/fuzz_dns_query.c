/* fuzz_dns_query.c — libFuzzer target: arbitrary bytes as a client's query
 * to the resolver's front (dns_query_handle), over UDP and over TCP, against
 * a cache holding a few answers (one big enough to need truncation) and a
 * names table with local names. Whatever comes back must be a message that
 * parses, carries the query's ID, fits the UDP limit, and never be sent for
 * a response (QR set) or a runt. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "dns_config.h"
#include "dns_query.h"
#include "dns_wire.h"
#include "names.h"

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct dns_config dc;
static struct dns_cache *cache;
static struct gw_names *names;
static uint8_t out[DNS_MSG_MAX];

static void put_a(const char *name, unsigned nrr)
{
	uint8_t buf[4096];
	struct dns_writer dw;
	struct dns_name n;
	uint8_t a[4] = {198, 18, 3, 10};
	struct dns_cache_put p;
	int len;

	dns_name_from_text(&n, name);
	dns_writer_init(&dw, buf, sizeof(buf), 0, DNS_F_QR | DNS_F_RA);
	dns_put_question(&dw, &n, DNS_TYPE_A, DNS_CLASS_IN);
	for (unsigned i = 0; i < nrr; i++)
		dns_put_rr(&dw, DNS_SEC_ANSWER, &n, DNS_TYPE_A, DNS_CLASS_IN, 300, a, 4);
	len = dns_writer_finish(&dw);
	CHECK(len > 0);
	p = (struct dns_cache_put){&n, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, 0, false, buf, (size_t)len,
				   dw.ttl_off, dw.nttl, 300};
	CHECK(dns_cache_put(cache, &p, 100) == 0);
}

static void init(void)
{
	struct in_addr a;

	dc.edns_buffer_size = 1232;
	dc.prefetch = dc.serve_stale = true;
	dns_name_from_text(&dc.local_domain, "home.arpa");
	cache = dns_cache_new(1 << 20, 3600);
	names = gw_names_new();
	CHECK(cache && names);
	put_a("a", 1);
	put_a("www.example.com", 2);
	put_a("big.example.com", 120);
	inet_pton(AF_INET, "198.51.100.5", &a);
	gw_names_add(names, "nas.home.arpa", a, GW_NAME_STATIC, 0);
}

static void one(const uint8_t *data, size_t size, bool tcp, bool allowed)
{
	struct dns_query_env env = {&dc, cache, names, 150, 1795000000, allowed};
	struct dns_query q;
	struct dns_msg m;
	size_t len = 0;
	enum dns_query_verdict v = dns_query_handle(&env, data, size, tcp, &q, out, sizeof(out), &len);

	if (size < DNS_HDR_LEN || (data[2] & 0x80)) {
		CHECK(v == DNS_QUERY_DROP);
		return;
	}
	if (v != DNS_QUERY_REPLY) {
		CHECK(len == 0);
		if (v == DNS_QUERY_RESOLVE) { /* the glue would answer it later: an error answer must be sound too */
			len = dns_query_error(&env, &q, DNS_RCODE_SERVFAIL, out, sizeof(out));
			CHECK(dns_msg_parse(&m, out, len, NULL) == 0);
		}
		return;
	}
	CHECK(len >= DNS_HDR_LEN && len <= sizeof(out));
	CHECK(dns_msg_parse(&m, out, len, NULL) == 0);
	CHECK(m.id == (uint16_t)(data[0] << 8 | data[1]));
	CHECK(m.flags & DNS_F_QR);
	CHECK(tcp || len <= (q.m.edns ? 1232u : 512u) || len <= DNS_HDR_LEN + 4 + DNS_NAME_MAX + 11);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cache)
		init();
	one(data, size, false, true);
	one(data, size, true, true);
	one(data, size, false, false);
	return 0;
}
