/* test_dns_scrub.c — classification and scrubbing of upstream answers, and
 * the cache entries they leave: responses are built with dns_writer from a
 * table of records, run through dns_scrub_run with a question and a zone,
 * and the entries are read back with the parser (and put into a real
 * dns_cache where that is the point). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dns_cache.h"
#include "dns_scrub.h"
#include "dns_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building responses ---- */

struct rrspec {
	enum dns_section sec;
	const char *name;
	uint16_t type;
	uint32_t ttl;
	const char *
		data; /* A: address; NS CNAME DNAME: name; SOA: "mname rname serial refresh retry expire min" */
	uint16_t class; /* 0: IN */
};

static struct dns_name N(const char *text) {
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

/* Expanded rdata of SPEC into OUT; returns its length. */
static size_t
rdata_of(const struct rrspec *r, uint8_t *out)
{
	struct dns_name a, b;
	char n1[256], n2[256];
	unsigned v[5];

	switch (r->type) {
	case DNS_TYPE_A:
		assert_int_equal(inet_pton(AF_INET, r->data, out), 1);
		return 4;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_DNAME:
		a = N(r->data);
		memcpy(out, a.b, a.len);
		return a.len;
	case DNS_TYPE_SOA:
		assert_int_equal(sscanf(r->data, "%255s %255s %u %u %u %u %u", n1, n2, &v[0], &v[1], &v[2],
					&v[3], &v[4]),
				 7);
		a = N(n1);
		b = N(n2);
		memcpy(out, a.b, a.len);
		memcpy(out + a.len, b.b, b.len);
		for (int i = 0; i < 5; i++) {
			uint8_t *p = out + a.len + b.len + 4 * i;
			p[0] = (uint8_t)(v[i] >> 24);
			p[1] = (uint8_t)(v[i] >> 16);
			p[2] = (uint8_t)(v[i] >> 8);
			p[3] = (uint8_t)v[i];
		}
		return a.len + b.len + 20u;
	default:
		memcpy(out, r->data, strlen(r->data));
		return strlen(r->data);
	}
}

static uint8_t resp_buf[4096];
static struct dns_msg resp;

/* A response to (QNAME, QTYPE) with FLAGS (QR added) and the records of RRS. */
static const struct dns_msg *response(const char *qname, uint16_t qtype, uint16_t flags,
				      const struct rrspec *rrs, size_t n)
{
	struct dns_writer dw;
	struct dns_name q = N(qname), o;
	uint8_t rd[512];

	dns_writer_init(&dw, resp_buf, sizeof(resp_buf), 0x1234, (uint16_t)(DNS_F_QR | flags));
	dns_put_question(&dw, &q, qtype, DNS_CLASS_IN);
	for (size_t i = 0; i < n; i++) {
		o = N(rrs[i].name);
		size_t len = rdata_of(&rrs[i], rd);
		dns_put_rr(&dw, rrs[i].sec, &o, rrs[i].type, rrs[i].class ? rrs[i].class : DNS_CLASS_IN,
			   rrs[i].ttl, rd, len);
	}
	int len = dns_writer_finish(&dw);
	assert_true(len > 0);
	assert_int_equal(dns_msg_parse(&resp, resp_buf, (size_t)len, NULL), 0);
	return &resp;
}

#define NRR(a) (sizeof(a) / sizeof((a)[0]))

static struct dns_scrub *S;
static struct dns_name qn, zn;

static enum dns_scrub_kind run(const char *qname, uint16_t qtype, const char *zone, bool fwd,
			       const struct dns_msg *m)
{
	struct dns_scrub_query q = {.qname = &qn,
				    .qtype = qtype,
				    .zone = &zn,
				    .forwarder = fwd,
				    .max_ttl = 86400,
				    .negative_ttl = 3600};

	qn = N(qname);
	zn = N(zone);
	return dns_scrub_run(S, &q, m);
}

static enum dns_scrub_kind run_q(const struct dns_scrub_query *q0, const char *qname, const char *zone,
				 const struct dns_msg *m)
{
	struct dns_scrub_query q = *q0;

	qn = N(qname);
	zn = N(zone);
	q.qname = &qn;
	q.zone = &zn;
	return dns_scrub_run(S, &q, m);
}

/* ---- reading entries back ---- */

static struct dns_msg emsg;

static const struct dns_msg *entry_msg(int i)
{
	assert_true(i >= 0 && (unsigned)i < S->nentries);
	assert_int_equal(dns_msg_parse(&emsg, S->entries[i].msg, S->entries[i].len, NULL), 0);
	return &emsg;
}

/* Every RR of M as "SEC NAME TYPE TTL DATA" lines. */
static void dump(const struct dns_msg *m, char *out, size_t cap)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	uint8_t rd[DNS_RDATA_EXPANDED_MAX];
	char name[DNS_NAME_TEXT_MAX], data[512], tbuf[16];
	size_t len = 0;

	out[0] = 0;
	dns_rr_iter_init(&it, m);
	while (dns_rr_next(&it, &rr) == 1) {
		int n = dns_rdata_expand(m, &rr, rd, sizeof(rd));
		assert_true(n >= 0);
		dns_name_to_text(&rr.name, name);
		dns_rdata_to_text(rr.type, rd, (size_t)n, data, sizeof(data));
		len += (size_t)snprintf(out + len, cap - len, "%d %s %s %u %s\n", (int)rr.section, name,
					dns_type_str(rr.type, tbuf), rr.ttl, data);
		assert_true(len < cap);
	}
}

static void assert_entry(int i, const char *name, uint16_t type, enum dns_cache_rank rank, uint8_t rcode,
			 bool negative, uint32_t ttl, const char *records)
{
	char text[4096], qname[DNS_NAME_TEXT_MAX];
	const struct dns_msg *m = entry_msg(i);
	const struct dns_scrub_entry *e = &S->entries[i];

	dns_name_to_text(&e->name, qname);
	assert_string_equal(qname, name);
	assert_int_equal(e->type, type);
	assert_int_equal(e->rank, rank);
	assert_int_equal(e->rcode, rcode);
	assert_int_equal(e->negative, negative);
	assert_int_equal(e->ttl, ttl);
	/* the question at offset 12, uncompressed, is the key */
	assert_int_equal(m->qdcount, 1);
	assert_int_equal(m->qname_off, 12);
	assert_true(dns_name_equal(&m->qname, &e->name));
	assert_int_equal(m->qtype, type);
	assert_int_equal(m->qclass, DNS_CLASS_IN);
	assert_int_equal(m->flags & DNS_F_QR, DNS_F_QR);
	assert_int_equal(m->rcode, rcode);
	/* one TTL offset per RR */
	assert_int_equal(e->nttl, (size_t)m->ancount + m->nscount + m->arcount);
	dump(m, text, sizeof(text));
	assert_string_equal(text, records);
}

static int find_entry(const char *name, uint16_t type)
{
	struct dns_name n = N(name);

	for (unsigned i = 0; i < S->nentries; i++)
		if (S->entries[i].type == type && dns_name_equal(&S->entries[i].name, &n))
			return (int)i;
	return -1;
}

/* ---- answers ---- */

static void test_answer_in_zone(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 300, "198.51.100.1", 0},
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 200, "198.51.100.2", 0},
	};
	const struct dns_msg *m = response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs));

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false, m), DNS_SCRUB_ANSWER);
	assert_null(S->why);
	assert_int_equal(S->nchain, 0);
	assert_int_equal(S->nentries, 1);
	assert_int_equal(S->question_entry, 0);
	assert_int_equal(S->final_entry, 0);
	assert_int_equal(S->dropped, 0);
	/* RFC 2181 5.2: the entry lives as long as its shortest TTL */
	assert_entry(0, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 200,
		     "0 www.example.com. A 300 198.51.100.1\n"
		     "0 www.example.com. A 200 198.51.100.2\n");
}

static void test_question_case_insensitive(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "WWW.Example.COM", DNS_TYPE_A, 300, "198.51.100.1", 0},
	};
	const struct dns_msg *m = response("WwW.ExAmPle.CoM", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs));

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "EXAMPLE.com", false, m), DNS_SCRUB_ANSWER);
	assert_int_equal(S->nentries, 1);
}

static void test_ttl_bounds(void **st)
{
	(void)st;
	static const struct rrspec big[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 1000000, "198.51.100.1", 0},
	};
	static const struct rrspec topbit[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 0x80000001u, "198.51.100.1", 0},
	};
	struct dns_scrub_query q = {.qtype = DNS_TYPE_A, .max_ttl = 600, .negative_ttl = 60};
	struct dns_cache *c = dns_cache_new(1 << 20, 3600);
	struct dns_cache_put p;

	/* max-ttl bounds the entry and the stored record alike */
	assert_int_equal(run_q(&q, "www.example.com", "example.com",
			       response("www.example.com", DNS_TYPE_A, DNS_F_AA, big, 1)),
			 DNS_SCRUB_ANSWER);
	assert_entry(0, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 600,
		     "0 www.example.com. A 600 198.51.100.1\n");
	/* RFC 2181 8: the top bit set reads as 0: not cached */
	assert_int_equal(run_q(&q, "www.example.com", "example.com",
			       response("www.example.com", DNS_TYPE_A, DNS_F_AA, topbit, 1)),
			 DNS_SCRUB_ANSWER);
	assert_entry(0, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 0,
		     "0 www.example.com. A 0 198.51.100.1\n");
	dns_scrub_entry_put(&S->entries[0], &p);
	assert_int_equal(dns_cache_put(c, &p, 100), 1);
	assert_int_equal(dns_cache_stats(c)->entries, 0);
	dns_cache_free(c);
}

static void test_out_of_bailiwick_and_class_dropped(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 300, "198.51.100.1", 0},
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 300, "203.0.113.99", DNS_CLASS_CH},
		{DNS_SEC_ANSWER, "victim.org", DNS_TYPE_A, 300, "203.0.113.66", 0},
		{DNS_SEC_ANSWER, "other.example.com", DNS_TYPE_A, 300, "203.0.113.67", 0},
		{DNS_SEC_AUTHORITY, "org", DNS_TYPE_NS, 300, "ns.evil.net", 0},
		{DNS_SEC_ADDITIONAL, "ns.evil.net", DNS_TYPE_A, 300, "203.0.113.68", 0},
		{DNS_SEC_ADDITIONAL, "www.example.com", DNS_TYPE_A, 300, "203.0.113.69", 0},
	};
	struct dns_cache *c = dns_cache_new(1 << 20, 3600);
	struct dns_cache_put p;
	struct dns_name victim = N("victim.org"), other = N("other.example.com"), ns = N("ns.evil.net");

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_ANSWER);
	assert_int_equal(S->nentries, 1);
	assert_int_equal(S->dropped, 6);
	assert_entry(0, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 300,
		     "0 www.example.com. A 300 198.51.100.1\n");
	for (unsigned i = 0; i < S->nentries; i++) {
		dns_scrub_entry_put(&S->entries[i], &p);
		assert_int_equal(dns_cache_put(c, &p, 100), 0);
	}
	assert_null(dns_cache_get(c, &victim, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, 100, NULL));
	assert_null(dns_cache_get(c, &other, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, 100, NULL));
	assert_null(dns_cache_get(c, &ns, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, 100, NULL));
	assert_int_equal(dns_cache_stats(c)->entries, 1);
	dns_cache_free(c);
}

/* ---- chains ---- */

static void test_cname_inside_zone(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_CNAME, 600, "web.example.com", 0},
		{DNS_SEC_ANSWER, "web.example.com", DNS_TYPE_A, 300, "198.51.100.7", 0},
	};
	char t[DNS_NAME_TEXT_MAX];

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_ANSWER);
	assert_int_equal(S->nchain, 1);
	dns_name_to_text(&S->target, t);
	assert_string_equal(t, "web.example.com.");
	assert_int_equal(S->nentries, 3);
	assert_entry(S->question_entry, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 300,
		     "0 www.example.com. CNAME 600 web.example.com.\n"
		     "0 web.example.com. A 300 198.51.100.7\n");
	assert_entry(S->final_entry, "web.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 300,
		     "0 web.example.com. A 300 198.51.100.7\n");
	assert_entry(find_entry("www.example.com", DNS_TYPE_CNAME), "www.example.com.", DNS_TYPE_CNAME,
		     DNS_RANK_ANSWER, 0, false, 600, "0 www.example.com. CNAME 600 web.example.com.\n");
	assert_int_equal(S->dropped, 0);
}

static void test_cname_leaving_zone(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_CNAME, 600, "www.example.net", 0},
		{DNS_SEC_ANSWER, "www.example.net", DNS_TYPE_A, 300, "203.0.113.66", 0},
	};
	char t[DNS_NAME_TEXT_MAX];

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_CNAME);
	dns_name_to_text(&S->target, t);
	assert_string_equal(t, "www.example.net.");
	assert_int_equal(S->nchain, 1);
	assert_int_equal(S->chain[0].ttl, 600);
	assert_false(S->chain[0].dname);
	/* the other zone's A is not this server's to say */
	assert_int_equal(S->nentries, 1);
	assert_int_equal(S->question_entry, -1);
	assert_int_equal(S->final_entry, -1);
	assert_int_equal(S->dropped, 1);
	assert_entry(0, "www.example.com.", DNS_TYPE_CNAME, DNS_RANK_ANSWER, 0, false, 600,
		     "0 www.example.com. CNAME 600 www.example.net.\n");
}

static void test_cname_qtype_not_followed(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_CNAME, 600, "web.example.com", 0},
		{DNS_SEC_ANSWER, "web.example.com", DNS_TYPE_A, 300, "198.51.100.7", 0},
	};

	/* RFC 1034 3.6.2: a CNAME query gets the CNAME, nothing more */
	assert_int_equal(run("www.example.com", DNS_TYPE_CNAME, "example.com", false,
			     response("www.example.com", DNS_TYPE_CNAME, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_ANSWER);
	assert_int_equal(S->nchain, 0);
	assert_int_equal(S->nentries, 1);
	assert_entry(0, "www.example.com.", DNS_TYPE_CNAME, DNS_RANK_ANSWER, 0, false, 600,
		     "0 www.example.com. CNAME 600 web.example.com.\n");
}

static void test_dname(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "d.example.com", DNS_TYPE_DNAME, 500, "e.example.net", 0},
		/* the server's synthesised CNAME is not trusted: it is made again */
		{DNS_SEC_ANSWER, "x.y.d.example.com", DNS_TYPE_CNAME, 500, "evil.example.org", 0},
		{DNS_SEC_ANSWER, "x.y.e.example.net", DNS_TYPE_A, 300, "203.0.113.66", 0},
	};
	char t[DNS_NAME_TEXT_MAX];

	assert_int_equal(run("x.y.d.example.com", DNS_TYPE_A, "example.com", false,
			     response("x.y.d.example.com", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_CNAME);
	dns_name_to_text(&S->target, t);
	assert_string_equal(t, "x.y.e.example.net.");
	assert_int_equal(S->target.labels, 5);
	assert_int_equal(S->nchain, 1);
	assert_true(S->chain[0].dname);
	assert_entry(0, "x.y.d.example.com.", DNS_TYPE_CNAME, DNS_RANK_ANSWER, 0, false, 500,
		     "0 d.example.com. DNAME 500 e.example.net.\n"
		     "0 x.y.d.example.com. CNAME 500 x.y.e.example.net.\n");
}

static void test_dname_too_long(void **st)
{
	(void)st;
	char longname[300], target[300];
	struct rrspec rrs[1] = {{DNS_SEC_ANSWER, "d.example.com", DNS_TYPE_DNAME, 500, target, 0}};

	/* 4 x 63-octet labels under d.example.com would be 256+ octets under the target */
	snprintf(longname, sizeof(longname), "%.60s.%.60s.%.60s.d.example.com",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
	snprintf(target, sizeof(target), "%.60s.%.10s.example.net",
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", "eeeeeeeeeeeeeee");
	assert_int_equal(run(longname, DNS_TYPE_A, "example.com", false,
			     response(longname, DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "DNAME synthesis over 255 octets");
	assert_int_equal(S->nentries, 0);
}

static void test_cname_loop_and_conflict(void **st)
{
	(void)st;
	static const struct rrspec loop[] = {
		{DNS_SEC_ANSWER, "a.example.com", DNS_TYPE_CNAME, 600, "b.example.com", 0},
		{DNS_SEC_ANSWER, "b.example.com", DNS_TYPE_CNAME, 600, "a.example.com", 0},
	};
	static const struct rrspec two[] = {
		{DNS_SEC_ANSWER, "a.example.com", DNS_TYPE_CNAME, 600, "b.example.com", 0},
		{DNS_SEC_ANSWER, "a.example.com", DNS_TYPE_CNAME, 600, "c.example.com", 0},
	};

	assert_int_equal(run("a.example.com", DNS_TYPE_A, "example.com", false,
			     response("a.example.com", DNS_TYPE_A, DNS_F_AA, loop, NRR(loop))),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "CNAME loop");
	assert_int_equal(S->nentries, 0);
	assert_int_equal(S->nchain, 0);
	assert_int_equal(run("a.example.com", DNS_TYPE_A, "example.com", false,
			     response("a.example.com", DNS_TYPE_A, DNS_F_AA, two, NRR(two))),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "two CNAMEs for one name");
}

static void test_chain_too_long(void **st)
{
	(void)st;
	struct rrspec rrs[DNS_SCRUB_CHAIN_MAX + 1];
	char names[DNS_SCRUB_CHAIN_MAX + 2][32];

	for (int i = 0; i <= DNS_SCRUB_CHAIN_MAX + 1; i++)
		snprintf(names[i], sizeof(names[i]), "c%d.example.com", i);
	for (int i = 0; i <= DNS_SCRUB_CHAIN_MAX; i++)
		rrs[i] = (struct rrspec){DNS_SEC_ANSWER, names[i], DNS_TYPE_CNAME, 60, names[i + 1], 0};
	assert_int_equal(run("c0.example.com", DNS_TYPE_A, "example.com", false,
			     response("c0.example.com", DNS_TYPE_A, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "chain too long");
	/* one link less is a chain to follow from the last name */
	assert_int_equal(run("c0.example.com", DNS_TYPE_A, "example.com", false,
			     response("c0.example.com", DNS_TYPE_A, DNS_F_AA, rrs, DNS_SCRUB_CHAIN_MAX)),
			 DNS_SCRUB_CNAME);
	assert_int_equal(S->nchain, DNS_SCRUB_CHAIN_MAX);
	assert_int_equal(S->nentries, DNS_SCRUB_CHAIN_MAX);
}

/* ---- negative answers ---- */

static void test_nxdomain(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_SOA, 3600,
		 "ns.example.com hostmaster.example.com 1 7200 900 1209600 300", 0},
	};
	static const struct rrspec short_soa[] = {
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_SOA, 60,
		 "ns.example.com hostmaster.example.com 1 7200 900 1209600 300", 0},
	};
	struct dns_scrub_query q = {.qtype = DNS_TYPE_A, .max_ttl = 86400, .negative_ttl = 30};

	/* RFC 2308 5: min(SOA TTL, MINIMUM) */
	assert_int_equal(run("nx.example.com", DNS_TYPE_A, "example.com", false,
			     response("nx.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, rrs, 1)),
			 DNS_SCRUB_NXDOMAIN);
	assert_int_equal(S->nentries, 1);
	assert_entry(
		0, "nx.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, DNS_RCODE_NXDOMAIN, true, 300,
		"1 example.com. SOA 300 ns.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n");
	assert_int_equal(
		run("nx.example.com", DNS_TYPE_A, "example.com", false,
		    response("nx.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, short_soa, 1)),
		DNS_SCRUB_NXDOMAIN);
	assert_int_equal(S->entries[0].ttl, 60);
	/* negative-ttl bounds it */
	assert_int_equal(run_q(&q, "nx.example.com", "example.com",
			       response("nx.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, rrs, 1)),
			 DNS_SCRUB_NXDOMAIN);
	assert_int_equal(S->entries[0].ttl, 30);
}

static void test_negative_without_usable_soa(void **st)
{
	(void)st;
	static const struct rrspec foreign[] = {
		{DNS_SEC_AUTHORITY, "example.net", DNS_TYPE_SOA, 3600,
		 "ns.example.net hostmaster.example.net 1 7200 900 1209600 300", 0},
	};
	struct dns_cache *c = dns_cache_new(1 << 20, 3600);
	struct dns_cache_put p;

	/* RFC 2308 5: without the zone's SOA the answer is not cached */
	assert_int_equal(run("nx.example.com", DNS_TYPE_A, "example.com", false,
			     response("nx.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, NULL, 0)),
			 DNS_SCRUB_NXDOMAIN);
	assert_entry(0, "nx.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, DNS_RCODE_NXDOMAIN, true, 0, "");
	dns_scrub_entry_put(&S->entries[0], &p);
	assert_int_equal(dns_cache_put(c, &p, 100), 1);
	assert_int_equal(
		run("nx.example.com", DNS_TYPE_A, "example.com", false,
		    response("nx.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, foreign, 1)),
		DNS_SCRUB_NXDOMAIN);
	assert_entry(0, "nx.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, DNS_RCODE_NXDOMAIN, true, 0, "");
	assert_int_equal(S->dropped, 1);
	dns_cache_free(c);
}

static void test_nodata(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_SOA, 3600,
		 "ns.example.com hostmaster.example.com 1 7200 900 1209600 600", 0},
	};

	assert_int_equal(run("www.example.com", DNS_TYPE_AAAA, "example.com", false,
			     response("www.example.com", DNS_TYPE_AAAA, DNS_F_AA, rrs, 1)),
			 DNS_SCRUB_NODATA);
	assert_entry(
		0, "www.example.com.", DNS_TYPE_AAAA, DNS_RANK_ANSWER, 0, true, 600,
		"1 example.com. SOA 600 ns.example.com. hostmaster.example.com. 1 7200 900 1209600 600\n");
	/* RFC 2308 2.2 type 3: empty, from the authority: NODATA, not cached */
	assert_int_equal(run("www.example.com", DNS_TYPE_AAAA, "example.com", false,
			     response("www.example.com", DNS_TYPE_AAAA, DNS_F_AA, NULL, 0)),
			 DNS_SCRUB_NODATA);
	assert_int_equal(S->entries[0].ttl, 0);
	/* the same without AA says nothing */
	assert_int_equal(run("www.example.com", DNS_TYPE_AAAA, "example.com", false,
			     response("www.example.com", DNS_TYPE_AAAA, 0, NULL, 0)),
			 DNS_SCRUB_LAME);
	assert_int_equal(S->nentries, 0);
}

static void test_cname_then_nxdomain(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_CNAME, 100, "gone.example.com", 0},
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_SOA, 3600,
		 "ns.example.com hostmaster.example.com 1 7200 900 1209600 600", 0},
	};

	/* RFC 6604 2.1: the rcode is about the chain's last name */
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, rrs, 2)),
			 DNS_SCRUB_NXDOMAIN);
	assert_int_equal(S->nentries, 3);
	assert_entry(
		S->question_entry, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, DNS_RCODE_NXDOMAIN, true,
		100,
		"0 www.example.com. CNAME 100 gone.example.com.\n"
		"1 example.com. SOA 600 ns.example.com. hostmaster.example.com. 1 7200 900 1209600 600\n");
	assert_entry(
		S->final_entry, "gone.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, DNS_RCODE_NXDOMAIN, true,
		600,
		"1 example.com. SOA 600 ns.example.com. hostmaster.example.com. 1 7200 900 1209600 600\n");
}

static void test_nxdomain_with_data_is_bogus(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 300, "198.51.100.1", 0},
	};

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA | DNS_RCODE_NXDOMAIN, rrs, 1)),
			 DNS_SCRUB_BOGUS);
	assert_int_equal(S->nentries, 0);
}

/* ---- referrals ---- */

static void test_referral(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_NS, 172800, "ns1.example.com", 0},
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_NS, 172800, "ns2.example.net", 0},
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_NS, 172800, "ns1.example.com", 0}, /* duplicate */
		{DNS_SEC_AUTHORITY, "other.com", DNS_TYPE_NS, 172800, "ns.evil.net", 0},
		{DNS_SEC_ADDITIONAL, "ns1.example.com", DNS_TYPE_A, 3600, "198.51.100.53", 0},
		{DNS_SEC_ADDITIONAL, "ns1.example.com", DNS_TYPE_A, 7200, "198.51.100.54", 0},
		{DNS_SEC_ADDITIONAL, "ns2.example.net", DNS_TYPE_A, 3600, "203.0.113.5", 0},  /* not com's */
		{DNS_SEC_ADDITIONAL, "www.example.com", DNS_TYPE_A, 3600, "203.0.113.66", 0}, /* not glue */
	};
	struct dns_scrub_ns ns[4];
	char t[DNS_NAME_TEXT_MAX];

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "com", false,
			     response("www.example.com", DNS_TYPE_A, 0, rrs, NRR(rrs))),
			 DNS_SCRUB_REFERRAL);
	dns_name_to_text(&S->child, t);
	assert_string_equal(t, "example.com.");
	assert_int_equal(S->nns, 2);
	dns_name_to_text(&S->ns[0].name, t);
	assert_string_equal(t, "ns1.example.com.");
	assert_int_equal(S->ns[0].naddr, 2);
	assert_int_equal(ntohl(S->ns[0].addr[0].s_addr), 0xc6336435);
	dns_name_to_text(&S->ns[1].name, t);
	assert_string_equal(t, "ns2.example.net.");
	assert_int_equal(S->ns[1].naddr, 0);
	assert_int_equal(S->question_entry, -1);
	assert_int_equal(S->nentries, 2);
	assert_entry(0, "example.com.", DNS_TYPE_NS, DNS_RANK_GLUE, 0, false, 3600,
		     "0 example.com. NS 86400 ns1.example.com.\n"
		     "0 example.com. NS 86400 ns2.example.net.\n"
		     "0 example.com. NS 86400 ns1.example.com.\n"
		     "2 ns1.example.com. A 3600 198.51.100.53\n"
		     "2 ns1.example.com. A 7200 198.51.100.54\n");
	assert_entry(1, "ns1.example.com.", DNS_TYPE_A, DNS_RANK_GLUE, 0, false, 3600,
		     "0 ns1.example.com. A 3600 198.51.100.53\n"
		     "0 ns1.example.com. A 7200 198.51.100.54\n");
	/* the delegation entry reads back as the same NS set */
	assert_int_equal(dns_scrub_read_ns(entry_msg(0), &S->child, ns, 4), 3);
	assert_int_equal(ns[0].naddr, 2);
	assert_int_equal(ns[1].naddr, 0);
	assert_int_equal(S->dropped, 3);
}

static void test_lame(void **st)
{
	(void)st;
	static const struct rrspec up[] = {
		{DNS_SEC_AUTHORITY, "com", DNS_TYPE_NS, 172800, "a.gtld-servers.net", 0},
	};
	static const struct rrspec self[] = {
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_NS, 172800, "ns1.example.com", 0},
	};
	static const struct rrspec side[] = {
		{DNS_SEC_AUTHORITY, "other.example.com", DNS_TYPE_NS, 172800, "ns1.example.com", 0},
	};

	/* upward, to itself, sideways: none leads closer to the name */
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, 0, up, 1)),
			 DNS_SCRUB_LAME);
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, 0, self, 1)),
			 DNS_SCRUB_LAME);
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, 0, side, 1)),
			 DNS_SCRUB_LAME);
	assert_string_equal(S->why, "no answer, no referral down");
	assert_int_equal(S->nentries, 0);
}

static void test_forwarder(void **st)
{
	(void)st;
	static const struct rrspec ans[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_CNAME, 100, "www.example.net", 0},
		{DNS_SEC_ANSWER, "www.example.net", DNS_TYPE_A, 300, "198.51.100.9", 0},
	};
	static const struct rrspec ref[] = {
		{DNS_SEC_AUTHORITY, "example.com", DNS_TYPE_NS, 172800, "ns1.example.com", 0},
	};

	/* the whole tree is a forwarder's (root bailiwick), AA or not */
	assert_int_equal(run("www.example.com", DNS_TYPE_A, ".", true,
			     response("www.example.com", DNS_TYPE_A, DNS_F_RA, ans, NRR(ans))),
			 DNS_SCRUB_ANSWER);
	assert_entry(S->question_entry, "www.example.com.", DNS_TYPE_A, DNS_RANK_ANSWER, 0, false, 100,
		     "0 www.example.com. CNAME 100 www.example.net.\n"
		     "0 www.example.net. A 300 198.51.100.9\n");
	/* a forward-zone's servers speak for their zone only */
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", true,
			     response("www.example.com", DNS_TYPE_A, DNS_F_RA, ans, NRR(ans))),
			 DNS_SCRUB_CNAME);
	/* a forwarder that refers is lame */
	assert_int_equal(run("www.example.com", DNS_TYPE_A, ".", true,
			     response("www.example.com", DNS_TYPE_A, 0, ref, 1)),
			 DNS_SCRUB_LAME);
	assert_string_equal(S->why, "referral from a forwarder");
}

static void test_ns_answer_is_a_delegation(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "example.com", DNS_TYPE_NS, 3600, "ns1.example.com", 0},
		{DNS_SEC_ANSWER, "example.com", DNS_TYPE_NS, 3600, "ns.example.net", 0},
		{DNS_SEC_ADDITIONAL, "ns1.example.com", DNS_TYPE_A, 3600, "198.51.100.53", 0},
		{DNS_SEC_ADDITIONAL, "ns.example.net", DNS_TYPE_A, 3600, "203.0.113.66", 0},
		{DNS_SEC_ADDITIONAL, "www.example.com", DNS_TYPE_A, 3600, "198.51.100.1", 0},
	};
	struct dns_scrub_ns ns[4];
	struct dns_name zone = N("example.com");

	assert_int_equal(run("example.com", DNS_TYPE_NS, "example.com", false,
			     response("example.com", DNS_TYPE_NS, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_ANSWER);
	assert_entry(0, "example.com.", DNS_TYPE_NS, DNS_RANK_ANSWER, 0, false, 3600,
		     "0 example.com. NS 3600 ns1.example.com.\n"
		     "0 example.com. NS 3600 ns.example.net.\n"
		     "2 ns1.example.com. A 3600 198.51.100.53\n");
	assert_int_equal(dns_scrub_read_ns(entry_msg(0), &zone, ns, 4), 2);
	assert_int_equal(ns[0].naddr, 1);
	assert_int_equal(ns[1].naddr, 0);
}

/* ---- what is not an answer at all ---- */

static void test_not_a_response(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_A, 300, "198.51.100.1", 0},
	};
	struct dns_msg m;

	m = *response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, 1);
	m.flags &= (uint16_t)~DNS_F_QR;
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false, &m), DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "not a response to a query");
	m.flags |= DNS_F_QR | (2 << 11);
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false, &m), DNS_SCRUB_BOGUS);
	assert_int_equal(run("www.example.org", DNS_TYPE_A, "example.org", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, 1)),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "not the question asked");
	assert_int_equal(run("www.example.com", DNS_TYPE_AAAA, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, 1)),
			 DNS_SCRUB_BOGUS);
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA | DNS_F_TC, rrs, 1)),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "truncated");
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.org", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, rrs, 1)),
			 DNS_SCRUB_BOGUS);
	assert_string_equal(S->why, "question outside the zone asked");
	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_RCODE_SERVFAIL, NULL, 0)),
			 DNS_SCRUB_ERROR);
	assert_int_equal(S->rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(S->nentries, 0);
}

/* ---- a chain across zones, composed ---- */

static void test_compose(void **st)
{
	(void)st;
	static const struct rrspec first[] = {
		{DNS_SEC_ANSWER, "www.example.com", DNS_TYPE_CNAME, 100, "www.example.net", 0},
	};
	static const struct rrspec second[] = {
		{DNS_SEC_ANSWER, "www.example.net", DNS_TYPE_A, 300, "198.51.100.9", 0},
		{DNS_SEC_ANSWER, "www.example.net", DNS_TYPE_A, 300, "198.51.100.10", 0},
	};
	struct dns_scrub_link links[2];
	struct dns_scrub_entry out, fin;
	struct dns_msg fm;
	struct dns_name q = N("www.example.com");
	struct dns_cache *c = dns_cache_new(1 << 20, 3600);
	struct dns_cache_put p;
	struct in_addr addrs[4];
	char text[1024];

	assert_int_equal(run("www.example.com", DNS_TYPE_A, "example.com", false,
			     response("www.example.com", DNS_TYPE_A, DNS_F_AA, first, 1)),
			 DNS_SCRUB_CNAME);
	links[0] = S->chain[0];
	assert_int_equal(run("www.example.net", DNS_TYPE_A, "example.net", false,
			     response("www.example.net", DNS_TYPE_A, DNS_F_AA, second, 2)),
			 DNS_SCRUB_ANSWER);
	fin = S->entries[S->final_entry];
	assert_int_equal(dns_msg_parse(&fm, fin.msg, fin.len, NULL), 0);
	assert_int_equal(dns_scrub_compose(S, &q, DNS_TYPE_A, links, 1, &fm, 250, false, &out), 0);
	assert_int_equal(out.ttl, 100);
	assert_int_equal(out.rcode, 0);
	assert_int_equal(dns_msg_parse(&emsg, out.msg, out.len, NULL), 0);
	dump(&emsg, text, sizeof(text));
	assert_string_equal(text, "0 www.example.com. CNAME 100 www.example.net.\n"
				  "0 www.example.net. A 300 198.51.100.9\n"
				  "0 www.example.net. A 300 198.51.100.10\n");
	assert_int_equal(dns_scrub_read_addrs(&emsg, addrs, 4), 2);
	assert_int_equal(ntohl(addrs[1].s_addr), 0xc633640a);
	/* it is a cache entry for the question */
	dns_scrub_entry_put(&out, &p);
	assert_int_equal(dns_cache_put(c, &p, 10), 0);
	assert_non_null(dns_cache_get(c, &q, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, 10, NULL));
	dns_scrub_entry_free(&out);
	/* without links it is the final entry again, with the TTL as given */
	assert_int_equal(dns_scrub_compose(S, &fin.name, DNS_TYPE_A, NULL, 0, &fm, 17, false, &out), 0);
	assert_int_equal(out.ttl, 17);
	assert_int_equal(out.len, fin.len);
	dns_scrub_entry_free(&out);
	dns_cache_free(c);
}

static void test_all_entries_go_into_the_cache(void **st)
{
	(void)st;
	static const struct rrspec rrs[] = {
		{DNS_SEC_ANSWER, "a.example.com", DNS_TYPE_CNAME, 100, "b.example.com", 0},
		{DNS_SEC_ANSWER, "b.example.com", DNS_TYPE_CNAME, 100, "c.example.com", 0},
		{DNS_SEC_ANSWER, "c.example.com", DNS_TYPE_TXT, 100, "\003abc", 0},
	};
	struct dns_cache *c = dns_cache_new(1 << 20, 3600);
	struct dns_cache_put p;
	struct dns_name b = N("b.example.com");
	struct dns_cache_entry *e;
	uint8_t out[512];

	assert_int_equal(run("a.example.com", DNS_TYPE_TXT, "example.com", false,
			     response("a.example.com", DNS_TYPE_TXT, DNS_F_AA, rrs, NRR(rrs))),
			 DNS_SCRUB_ANSWER);
	assert_int_equal(S->nentries, 4); /* question, final, two links */
	for (unsigned i = 0; i < S->nentries; i++) {
		dns_scrub_entry_put(&S->entries[i], &p);
		assert_int_equal(dns_cache_put(c, &p, 10), 0);
	}
	e = dns_cache_get(c, &b, DNS_TYPE_CNAME, DNS_CLASS_IN, DNS_RANK_ANSWER, 10, NULL);
	assert_non_null(e);
	/* the hit path works on it: TTL counted down */
	assert_true(dns_cache_answer(e, 7, DNS_F_RD, (const uint8_t *)"\001B\007EXAMPLE\003com", 40, false,
				     out, sizeof(out)) > 0);
	assert_int_equal(dns_msg_parse(&emsg, out, e->len, NULL), 0);
	assert_int_equal(out[e->ttl_off[0] + 3], 70);
	dns_cache_free(c);
}

static int setup(void **st)
{
	(void)st;
	S = dns_scrub_new();
	return S ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	dns_scrub_free(S);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_in_zone),
		cmocka_unit_test(test_question_case_insensitive),
		cmocka_unit_test(test_ttl_bounds),
		cmocka_unit_test(test_out_of_bailiwick_and_class_dropped),
		cmocka_unit_test(test_cname_inside_zone),
		cmocka_unit_test(test_cname_leaving_zone),
		cmocka_unit_test(test_cname_qtype_not_followed),
		cmocka_unit_test(test_dname),
		cmocka_unit_test(test_dname_too_long),
		cmocka_unit_test(test_cname_loop_and_conflict),
		cmocka_unit_test(test_chain_too_long),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_negative_without_usable_soa),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_cname_then_nxdomain),
		cmocka_unit_test(test_nxdomain_with_data_is_bogus),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_lame),
		cmocka_unit_test(test_forwarder),
		cmocka_unit_test(test_ns_answer_is_a_delegation),
		cmocka_unit_test(test_not_a_response),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_all_entries_go_into_the_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
