/* test_dns_cache.c — the answer cache (dns_cache.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"

#define T0 1000u
#define BIG (64u << 20)
#define ENTRY sizeof(struct dns_cache_entry)

/* ---- helpers: responses built byte by byte, so every offset is known ---- */

struct tmsg {
	uint8_t b[16384];
	size_t len;
	uint16_t ttl_off[16];
	size_t nttl;
	struct dns_name name;
	uint16_t type, class;
	uint8_t rcode;
	bool negative;
};

static void u16(struct tmsg *m, uint16_t v)
{
	m->b[m->len++] = (uint8_t)(v >> 8);
	m->b[m->len++] = (uint8_t)v;
}

static void u32(struct tmsg *m, uint32_t v)
{
	u16(m, (uint16_t)(v >> 16));
	u16(m, (uint16_t)v);
}

static void bytes(struct tmsg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static struct dns_name name_of(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

/* Header (ID 0x1111, QR AA RD RA and RCODE), the question NAME TYPE CLASS uncompressed. */
static struct tmsg *tm_start(struct tmsg *m, const char *name, uint16_t type, uint16_t class, uint8_t rcode)
{
	memset(m, 0, sizeof(*m));
	m->name = name_of(name);
	m->type = type;
	m->class = class;
	m->rcode = rcode;
	u16(m, 0x1111);
	u16(m, (uint16_t)(DNS_F_QR | DNS_F_AA | DNS_F_RD | DNS_F_RA | rcode));
	u16(m, 1);
	u16(m, 0);
	u16(m, 0);
	u16(m, 0);
	bytes(m, m->name.b, m->name.len);
	u16(m, type);
	u16(m, class);
	return m;
}

/* An RR owned by the question name (pointer to offset 12) in SEC; its TTL offset is recorded. */
static void tm_rr(struct tmsg *m, enum dns_section sec, uint16_t type, uint32_t ttl, const void *rd,
		  uint16_t rdlen)
{
	size_t cnt = 6 + 2 * (size_t)sec;

	u16(m, 0xc00c);
	u16(m, type);
	u16(m, m->class);
	m->ttl_off[m->nttl++] = (uint16_t)m->len;
	u32(m, ttl);
	u16(m, rdlen);
	bytes(m, rd, rdlen);
	m->b[cnt + 1]++;
}

static void tm_a(struct tmsg *m, uint32_t ttl, uint8_t last)
{
	const uint8_t a[4] = {198, 51, 100, last};

	tm_rr(m, DNS_SEC_ANSWER, DNS_TYPE_A, ttl, a, 4);
}

/* SOA in the authority section (RFC 2308 3), its names uncompressed, MINIMUM 3600 as its last 4 bytes. */
static void tm_soa(struct tmsg *m, uint32_t ttl)
{
	/* MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM */
	static const uint8_t rd[] = "\2ns\7example\3com\0\4host\7example\3com\0"
				    "\0\0\0\1\0\0\x1c\x20\0\0\x0e\x10\0\x12\x75\0\0\0\x0e\x10";

	tm_rr(m, DNS_SEC_AUTHORITY, DNS_TYPE_SOA, ttl, rd, sizeof(rd) - 1);
}

/* A response "NAME A 198.51.100.LAST" with TTL. */
static struct tmsg *tm_simple(struct tmsg *m, const char *name, uint32_t ttl, uint8_t last)
{
	tm_start(m, name, DNS_TYPE_A, DNS_CLASS_IN, 0);
	tm_a(m, ttl, last);
	return m;
}

static int put(struct dns_cache *c, const struct tmsg *m, enum dns_cache_rank rank, uint32_t ttl,
	       uint32_t now)
{
	struct dns_cache_put p = {&m->name, m->type, m->class,	 rank,	  m->rcode, m->negative,
				  m->b,	    m->len,  m->ttl_off, m->nttl, ttl};

	return dns_cache_put(c, &p, now);
}

static struct dns_cache_entry *get_t(struct dns_cache *c, const char *name, uint16_t type, uint16_t class,
				     enum dns_cache_rank rank, uint32_t now, enum dns_cache_state *st)
{
	struct dns_name n = name_of(name);

	return dns_cache_get(c, &n, type, class, rank, now, st);
}

static struct dns_cache_entry *get(struct dns_cache *c, const char *name, uint32_t now,
				   enum dns_cache_state *st)
{
	return get_t(c, name, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, now, st);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* E's answer at NOW to a query with ID 0x2222, RD, and E's own spelling. */
static int answer(const struct dns_cache_entry *e, uint32_t now, bool stale, uint8_t *out, size_t cap)
{
	return dns_cache_answer(e, 0x2222, DNS_F_RD, e->name.b, now, stale, out, cap);
}

static struct dns_cache *cache(size_t budget, uint32_t stale_max)
{
	struct dns_cache *c = dns_cache_new(budget, stale_max);

	assert_non_null(c);
	return c;
}

static bool present(struct dns_cache *c, const char *name, uint32_t now)
{
	enum dns_cache_state st;

	return get(c, name, now, &st) != NULL;
}

/* ---- put and get ---- */

static void test_put_get_fresh(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st = DNS_CACHE_MISS;
	struct dns_cache_entry *e;
	uint8_t out[512], want[512];
	struct dns_name lower = name_of("www.example.com");

	tm_start(&m, "WWW.Example.COM", DNS_TYPE_A, DNS_CLASS_IN, 0);
	tm_a(&m, 300, 1);
	tm_a(&m, 300, 2);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 300, T0), 0);

	e = get(c, "www.example.com", T0, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_FRESH);
	assert_int_equal(e->name.len, lower.len);
	assert_memory_equal(e->name.b, lower.b, lower.len); /* stored lower-cased */
	assert_int_equal(e->type, DNS_TYPE_A);
	assert_int_equal(e->class, DNS_CLASS_IN);
	assert_int_equal(e->rank, DNS_RANK_ANSWER);
	assert_int_equal(e->rcode, 0);
	assert_false(e->negative);
	assert_int_equal(e->stored, T0);
	assert_int_equal(e->ttl, 300);
	assert_int_equal(e->expires, T0 + 300);
	assert_int_equal(e->hits, 1);
	assert_false(e->prefetching);
	assert_int_equal(e->len, m.len);
	assert_memory_equal(e->msg, m.b, m.len);
	assert_int_equal(e->nttl, 2);
	assert_int_equal(e->ttl_off[0], 12 + 17 + 4 + 2 + 4);
	assert_int_equal(e->ttl_off[1], m.ttl_off[1]);
	assert_int_equal(e->cost, ENTRY + 2 * 2 + m.len);

	/* at the time of the put: the stored bytes, flags rebuilt, ID replaced */
	assert_int_equal(answer(e, T0, false, out, sizeof(out)), (int)m.len);
	memcpy(want, m.b, m.len);
	want[0] = 0x22;
	want[1] = 0x22;
	want[2] = 0x81; /* QR RD */
	want[3] = 0x80; /* RA, AA gone */
	memcpy(want + 12, lower.b, lower.len);
	assert_memory_equal(out, want, m.len);
	dns_cache_free(c);
}

static void test_keys_distinct(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;

	tm_start(&m, "example.com", DNS_TYPE_A, DNS_CLASS_IN, 0);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 60, T0), 0);
	tm_start(&m, "example.com", DNS_TYPE_AAAA, DNS_CLASS_IN, 0);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 70, T0), 0);
	tm_start(&m, "example.com", DNS_TYPE_A, DNS_CLASS_CH, 0);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 80, T0), 0);
	assert_int_equal(dns_cache_stats(c)->entries, 3);

	e = get_t(c, "EXAMPLE.com", DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, T0, &st);
	assert_non_null(e);
	assert_int_equal(e->ttl, 60);
	e = get_t(c, "example.com.", DNS_TYPE_AAAA, DNS_CLASS_IN, DNS_RANK_ANSWER, T0, &st);
	assert_non_null(e);
	assert_int_equal(e->ttl, 70);
	e = get_t(c, "example.com", DNS_TYPE_A, DNS_CLASS_CH, DNS_RANK_ANSWER, T0, &st);
	assert_non_null(e);
	assert_int_equal(e->ttl, 80);
	assert_null(get_t(c, "example.com", DNS_TYPE_MX, DNS_CLASS_IN, DNS_RANK_ANSWER, T0, &st));
	assert_int_equal(st, DNS_CACHE_MISS);
	assert_null(get_t(c, "www.example.com", DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, T0, &st));
	assert_null(get_t(c, "example.co", DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, T0, &st));
	dns_cache_free(c);
}

static void test_replace_same_key(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;

	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 300, 1), DNS_RANK_ANSWER, 300, T0), 0);
	tm_simple(&m, "www.example.com", 100, 7);
	tm_a(&m, 100, 8);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 100, T0 + 5), 0);
	assert_int_equal(dns_cache_stats(c)->entries, 1);
	assert_int_equal(dns_cache_stats(c)->bytes, ENTRY + 4 + m.len);
	assert_int_equal(dns_cache_stats(c)->puts, 2);
	e = get(c, "www.example.com", T0 + 5, &st);
	assert_non_null(e);
	assert_int_equal(e->stored, T0 + 5);
	assert_int_equal(e->expires, T0 + 105);
	assert_int_equal(e->nttl, 2);
	assert_memory_equal(e->msg, m.b, m.len);
	dns_cache_free(c);
}

/* ---- answers ---- */

static void test_ttl_countdown(void **state)
{
	struct dns_cache *c = cache(BIG, 3600);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	uint8_t out[512];
	uint16_t o0, o1;

	tm_simple(&m, "www.example.com", 300, 1);
	tm_a(&m, 200, 2);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 300, T0), 0);
	o0 = m.ttl_off[0];
	o1 = m.ttl_off[1];
	e = get(c, "www.example.com", T0 + 40, &st);
	assert_non_null(e);

	assert_int_equal(answer(e, T0 + 40, false, out, sizeof(out)), (int)m.len);
	assert_memory_equal(out + o0, "\x00\x00\x01\x04", 4);	      /* 260 */
	assert_memory_equal(out + o1, "\x00\x00\x00\xa0", 4);	      /* 160 */
	assert_memory_equal(out + o0 + 4, m.b + o0 + 4, o1 - o0 - 4); /* rdlen, rdata, next owner intact */

	answer(e, T0 + 250, false, out, sizeof(out));
	assert_int_equal(be32(out + o0), 50);
	assert_int_equal(be32(out + o1), 0); /* floor 0 */
	answer(e, T0 + 299, false, out, sizeof(out));
	assert_int_equal(be32(out + o0), 1);
	assert_int_equal(be32(out + o1), 0);

	/* stale: every TTL is the RFC 8767 30 s */
	e = get(c, "www.example.com", T0 + 300, &st);
	assert_int_equal(st, DNS_CACHE_STALE);
	answer(e, T0 + 300, true, out, sizeof(out));
	assert_memory_equal(out + o0, "\x00\x00\x00\x1e", 4);
	assert_memory_equal(out + o1, "\x00\x00\x00\x1e", 4);

	/* the stored copy is never counted down */
	assert_int_equal(be32(e->msg + o0), 300);
	assert_int_equal(be32(e->msg + o1), 200);
	dns_cache_free(c);
}

static void test_ttl_bounded_by_entry(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	uint8_t out[512];

	/* max-ttl bounded the entry to 60 s; the RR says an hour, or has the top bit set */
	tm_simple(&m, "www.example.com", 3600, 1);
	tm_a(&m, 0x80000010u, 2);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 60, T0), 0);
	e = get(c, "www.example.com", T0 + 10, &st);
	assert_non_null(e);
	answer(e, T0 + 10, false, out, sizeof(out));
	assert_int_equal(be32(out + m.ttl_off[0]), 50);
	assert_int_equal(be32(out + m.ttl_off[1]), 0); /* RFC 2181 8 */
	assert_int_equal(dns_cache_ttl_left(e, T0 + 10), 50);
	assert_int_equal(dns_cache_ttl_left(e, T0 + 60), 0);
	assert_int_equal(dns_cache_ttl_left(e, T0 + 1000), 0);
	dns_cache_free(c);
}

static void test_header_and_0x20(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	uint8_t out[512];
	struct dns_name q = name_of("WwW.ExAmple.CoM");
	static const uint8_t spelled[] = "\3WwW\7ExAmple\3CoM";

	tm_simple(&m, "www.example.com", 300, 1);
	m.b[2] = 0xff; /* QR, opcode 15, AA, TC, RD */
	m.b[3] = 0xf0; /* RA, Z, AD, CD */
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 300, T0), 0);

	e = dns_cache_get(c, &q, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, T0, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_FRESH);

	/* the query's RD and CD only; its AA, AD, opcode bits are not echoed */
	assert_int_equal(dns_cache_answer(e, 0xbeef, 0x7fff, q.b, T0, false, out, sizeof(out)), (int)m.len);
	assert_int_equal(be16(out), 0xbeef);
	assert_int_equal(be16(out + 2), DNS_F_QR | DNS_F_RA | DNS_F_RD | DNS_F_CD);
	assert_memory_equal(out + 12, spelled, sizeof(spelled)); /* includes the root label */
	assert_memory_equal(out + 12 + q.len, m.b + 12 + q.len, m.len - 12 - q.len);

	assert_int_equal(dns_cache_answer(e, 0x0102, 0, q.b, T0, false, out, sizeof(out)), (int)m.len);
	assert_int_equal(be16(out), 0x0102);
	assert_int_equal(be16(out + 2), DNS_F_QR | DNS_F_RA);
	/* the entry keeps its lower-case name: the next client gets its own spelling */
	assert_memory_equal(e->name.b, "\3www\7example\3com", q.len);
	dns_cache_free(c);
}

static void test_answer_nospace(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	uint8_t out[512];

	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 300, 1), DNS_RANK_ANSWER, 300, T0), 0);
	e = get(c, "www.example.com", T0, &st);
	assert_non_null(e);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(answer(e, T0, false, out, m.len - 1), -ENOSPC);
	assert_int_equal(out[0], 0xaa); /* nothing written */
	assert_int_equal(answer(e, T0, false, out, m.len), (int)m.len);
	dns_cache_free(c);
}

static void test_negative(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	uint8_t out[512];

	/* NXDOMAIN: SOA in authority, cached for its TTL (RFC 2308 5) */
	tm_start(&m, "nx.example.com", DNS_TYPE_A, DNS_CLASS_IN, DNS_RCODE_NXDOMAIN);
	tm_soa(&m, 900);
	m.negative = true;
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 900, T0), 0);
	e = get(c, "nx.example.com", T0 + 100, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_FRESH);
	assert_true(e->negative);
	assert_int_equal(e->rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(answer(e, T0 + 100, false, out, sizeof(out)), (int)m.len);
	assert_int_equal(be16(out + 2), DNS_F_QR | DNS_F_RD | DNS_F_RA | DNS_RCODE_NXDOMAIN);
	assert_int_equal(be16(out + 8), 1); /* nscount */
	assert_int_equal(be32(out + m.ttl_off[0]), 800);
	assert_memory_equal(out + m.len - 4, "\x00\x00\x0e\x10", 4); /* SOA MINIMUM is no TTL field */

	/* NODATA: NOERROR, negative */
	tm_start(&m, "www.example.com", DNS_TYPE_AAAA, DNS_CLASS_IN, 0);
	tm_soa(&m, 3600);
	m.negative = true;
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 600, T0), 0);
	e = get_t(c, "www.example.com", DNS_TYPE_AAAA, DNS_CLASS_IN, DNS_RANK_ANSWER, T0 + 1, &st);
	assert_non_null(e);
	assert_true(e->negative);
	assert_int_equal(e->rcode, 0);
	answer(e, T0 + 1, false, out, sizeof(out));
	assert_int_equal(be16(out + 2), DNS_F_QR | DNS_F_RD | DNS_F_RA);
	assert_int_equal(be32(out + m.ttl_off[0]), 599); /* bounded by negative-ttl's 600 */
	dns_cache_free(c);
}

/* The resolver's way: a response written by dns_writer (compressed, TTL
 * offsets recorded by it), cached, answered, and read back by the parser. */
static void test_writer_roundtrip(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct dns_writer dw;
	struct dns_cache_put p;
	struct dns_name qn = name_of("www.example.com"), target = name_of("web.example.net");
	struct dns_name asked = name_of("WWW.example.COM");
	static const uint8_t a[4] = {198, 51, 100, 7};
	uint8_t buf[512], out[512];
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	struct dns_msg msg;
	struct dns_rr_iter it;
	struct dns_rr rr;
	uint32_t ttls[2];
	int len, n = 0;

	dns_writer_init(&dw, buf, sizeof(buf), 0x1111, DNS_F_QR | DNS_F_AA);
	dns_put_question(&dw, &qn, DNS_TYPE_A, DNS_CLASS_IN);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &qn, DNS_TYPE_CNAME, DNS_CLASS_IN, 600, target.b, target.len);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &target, DNS_TYPE_A, DNS_CLASS_IN, 60, a, 4);
	len = dns_writer_finish(&dw);
	assert_true(len > 0);
	assert_int_equal(dw.nttl, 2);
	p = (struct dns_cache_put){&qn, DNS_TYPE_A,  DNS_CLASS_IN, DNS_RANK_ANSWER, 0, false,
				   buf, (size_t)len, dw.ttl_off,   dw.nttl,	    60};
	assert_int_equal(dns_cache_put(c, &p, T0), 0);

	e = dns_cache_get(c, &asked, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER, T0 + 15, &st);
	assert_non_null(e);
	assert_int_equal(dns_cache_answer(e, 0x4242, DNS_F_RD, asked.b, T0 + 15, false, out, sizeof(out)),
			 len);
	assert_int_equal(dns_msg_parse(&msg, out, (size_t)len, NULL), 0);
	assert_int_equal(msg.id, 0x4242);
	assert_int_equal(msg.flags, DNS_F_QR | DNS_F_RD | DNS_F_RA);
	assert_int_equal(msg.ancount, 2);
	assert_memory_equal(out + 12, asked.b, asked.len);
	dns_rr_iter_init(&it, &msg);
	while (dns_rr_next(&it, &rr) == 1 && n < 2)
		ttls[n++] = rr.ttl;
	assert_int_equal(n, 2);
	assert_int_equal(ttls[0], 45); /* the CNAME's 585 bounded by the entry's 45 s left */
	assert_int_equal(ttls[1], 45);
	dns_cache_free(c);
}

/* ---- lifetime ---- */

static void test_stale_window(void **state)
{
	struct dns_cache *c = cache(BIG, 100);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;
	const struct dns_cache_stats *s = dns_cache_stats(c);

	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 60, 1), DNS_RANK_ANSWER, 60, T0), 0);
	e = get(c, "www.example.com", T0 + 59, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_FRESH);
	e = get(c, "www.example.com", T0 + 60, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_STALE);
	e = get(c, "www.example.com", T0 + 159, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_STALE);
	assert_int_equal(e->hits, 3);
	assert_int_equal(s->hits, 1);
	assert_int_equal(s->stale_hits, 2);
	assert_int_equal(s->entries, 1);

	st = DNS_CACHE_FRESH;
	assert_null(get(c, "www.example.com", T0 + 160, &st));
	assert_int_equal(st, DNS_CACHE_MISS);
	assert_int_equal(s->expired, 1);
	assert_int_equal(s->misses, 1);
	assert_int_equal(s->entries, 0);
	assert_int_equal(s->bytes, 0);

	/* serve-stale off: expired is gone */
	dns_cache_set_stale_max(c, 0);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 60, T0), 0);
	assert_non_null(get(c, "www.example.com", T0 + 59, &st));
	assert_null(get(c, "www.example.com", T0 + 60, &st));
	assert_int_equal(s->expired, 2);
	assert_int_equal(s->entries, 0);
	dns_cache_free(c);
}

static void test_ttl_zero(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;

	tm_simple(&m, "www.example.com", 0, 1);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 0, T0), 1);
	assert_int_equal(dns_cache_stats(c)->entries, 0);
	assert_int_equal(dns_cache_stats(c)->puts, 0);

	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 300, 1), DNS_RANK_ANSWER, 300, T0), 0);
	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 0, 2), DNS_RANK_ANSWER, 0, T0 + 1), 1);
	e = get(c, "www.example.com", T0 + 1, &st);
	assert_non_null(e);
	assert_int_equal(e->ttl, 300);
	assert_int_equal(e->msg[e->len - 1], 1);
	dns_cache_free(c);
}

static void test_rank(void **state)
{
	struct dns_cache *c = cache(BIG, 3600);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;

	/* glue learnt from a referral: the resolver sees it, a client does not */
	assert_int_equal(put(c, tm_simple(&m, "ns1.example.com", 300, 1), DNS_RANK_GLUE, 300, T0), 0);
	assert_null(get(c, "ns1.example.com", T0, &st));
	assert_int_equal(st, DNS_CACHE_MISS);
	e = get_t(c, "ns1.example.com", DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, T0, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_FRESH);
	assert_int_equal(e->rank, DNS_RANK_GLUE);

	/* the authoritative answer replaces the glue */
	assert_int_equal(put(c, tm_simple(&m, "ns1.example.com", 300, 2), DNS_RANK_ANSWER, 300, T0 + 1), 0);
	e = get(c, "ns1.example.com", T0 + 1, &st);
	assert_non_null(e);
	assert_int_equal(e->rank, DNS_RANK_ANSWER);
	assert_int_equal(e->msg[e->len - 1], 2);

	/* later glue does not replace the fresh answer */
	assert_int_equal(put(c, tm_simple(&m, "ns1.example.com", 300, 3), DNS_RANK_GLUE, 300, T0 + 2), 1);
	e = get_t(c, "ns1.example.com", DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, T0 + 2, &st);
	assert_non_null(e);
	assert_int_equal(e->rank, DNS_RANK_ANSWER);
	assert_int_equal(e->msg[e->len - 1], 2);
	assert_int_equal(e->stored, T0 + 1);
	assert_int_equal(dns_cache_stats(c)->puts, 2);

	/* equal rank replaces */
	assert_int_equal(put(c, tm_simple(&m, "ns1.example.com", 300, 4), DNS_RANK_ANSWER, 300, T0 + 3), 0);
	e = get(c, "ns1.example.com", T0 + 3, &st);
	assert_int_equal(e->msg[e->len - 1], 4);

	/* once the answer has expired (stale, still kept) glue may replace it */
	assert_int_equal(put(c, tm_simple(&m, "ns1.example.com", 300, 5), DNS_RANK_GLUE, 300, T0 + 303), 0);
	assert_null(get(c, "ns1.example.com", T0 + 303, &st)); /* and a client no longer sees it */
	e = get_t(c, "ns1.example.com", DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, T0 + 303, &st);
	assert_non_null(e);
	assert_int_equal(st, DNS_CACHE_FRESH);
	assert_int_equal(e->rank, DNS_RANK_GLUE);
	assert_int_equal(e->msg[e->len - 1], 5);
	assert_int_equal(dns_cache_stats(c)->entries, 1);
	dns_cache_free(c);
}

static void test_prefetch(void **state)
{
	struct dns_cache *c = cache(BIG, 600);
	struct tmsg m;
	enum dns_cache_state st;
	struct dns_cache_entry *e;

	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 100, 1), DNS_RANK_ANSWER, 100, T0), 0);
	e = get(c, "www.example.com", T0, &st);
	assert_false(dns_cache_want_prefetch(e, T0));
	assert_false(dns_cache_want_prefetch(e, T0 + 89));
	assert_false(e->prefetching);
	assert_true(dns_cache_want_prefetch(e, T0 + 90)); /* 10 s of 100 left */
	assert_true(e->prefetching);
	assert_false(dns_cache_want_prefetch(e, T0 + 91)); /* once */
	assert_false(dns_cache_want_prefetch(e, T0 + 99));

	/* the refreshed entry starts over */
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 100, T0 + 95), 0);
	e = get(c, "www.example.com", T0 + 95, &st);
	assert_false(e->prefetching);
	assert_false(dns_cache_want_prefetch(e, T0 + 184));
	assert_true(dns_cache_want_prefetch(e, T0 + 185));

	/* never for an expired entry */
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 100, T0), 0);
	e = get(c, "www.example.com", T0 + 100, &st);
	assert_int_equal(st, DNS_CACHE_STALE);
	assert_false(dns_cache_want_prefetch(e, T0 + 100));

	/* TTL under 10 s: never; exactly 10 s: in its last second */
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 9, T0), 0);
	e = get(c, "www.example.com", T0, &st);
	for (uint32_t t = 0; t < 9; t++)
		assert_false(dns_cache_want_prefetch(e, T0 + t));
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 10, T0), 0);
	e = get(c, "www.example.com", T0, &st);
	assert_false(dns_cache_want_prefetch(e, T0 + 8));
	assert_true(dns_cache_want_prefetch(e, T0 + 9));
	dns_cache_free(c);
}

/* ---- budget ---- */

static void test_eviction_lru(void **state)
{
	struct tmsg m;
	size_t cost = ENTRY + 2 + tm_simple(&m, "h0.example.com", 300, 0)->len;
	struct dns_cache *c = cache(cost * 8, 0);
	const struct dns_cache_stats *s = dns_cache_stats(c);
	char name[32];
	unsigned i;

	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "h%u.example.com", i);
		assert_int_equal(put(c, tm_simple(&m, name, 300, (uint8_t)i), DNS_RANK_ANSWER, 300, T0), 0);
	}
	assert_int_equal(s->entries, 8);
	assert_int_equal(s->bytes, 8 * cost);
	assert_int_equal(s->evictions, 0);

	assert_true(present(c, "h0.example.com", T0 + 1)); /* h0 is now the most recent */
	assert_int_equal(put(c, tm_simple(&m, "h8.example.com", 300, 8), DNS_RANK_ANSWER, 300, T0 + 2), 0);
	assert_int_equal(s->evictions, 1);
	assert_true(present(c, "h2.example.com", T0 + 3));
	assert_int_equal(put(c, tm_simple(&m, "h9.example.com", 300, 9), DNS_RANK_ANSWER, 300, T0 + 4), 0);
	assert_int_equal(s->evictions, 2);
	assert_int_equal(s->entries, 8);
	assert_int_equal(s->bytes, 8 * cost);

	assert_false(present(c, "h1.example.com", T0 + 5));
	assert_false(present(c, "h3.example.com", T0 + 5));
	assert_true(present(c, "h0.example.com", T0 + 5));
	assert_true(present(c, "h2.example.com", T0 + 5));
	for (i = 4; i < 10; i++) {
		snprintf(name, sizeof(name), "h%u.example.com", i);
		assert_true(present(c, name, T0 + 5));
	}
	dns_cache_free(c);
}

static void test_e2big(void **state)
{
	struct dns_cache *c = cache(64 << 10, 0);
	static struct tmsg m;
	static uint8_t rd[8192];
	size_t fixed, rdlen;
	enum dns_cache_state st;

	/* entry + one TTL offset + header + question + RR header */
	fixed = ENTRY + 2 + 12 + 17 + 4 + 12;
	rdlen = (64 << 10) / 8 - fixed;
	tm_start(&m, "www.example.com", DNS_TYPE_TXT, DNS_CLASS_IN, 0);
	tm_rr(&m, DNS_SEC_ANSWER, DNS_TYPE_TXT, 300, rd, (uint16_t)rdlen);
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 300, T0), 0); /* exactly an eighth */
	assert_int_equal(dns_cache_stats(c)->bytes, (64 << 10) / 8);

	tm_start(&m, "www.example.com", DNS_TYPE_TXT, DNS_CLASS_IN, 0);
	tm_rr(&m, DNS_SEC_ANSWER, DNS_TYPE_TXT, 300, rd, (uint16_t)(rdlen + 1));
	assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 300, T0 + 1), -E2BIG);
	assert_int_equal(dns_cache_stats(c)->entries, 1);
	assert_int_equal(dns_cache_stats(c)->puts, 1);
	assert_int_equal(
		get_t(c, "www.example.com", DNS_TYPE_TXT, DNS_CLASS_IN, DNS_RANK_ANSWER, T0 + 1, &st)->stored,
		T0); /* the old one stays */

	/* budget 0 refuses everything */
	dns_cache_set_budget(c, 0);
	assert_int_equal(dns_cache_stats(c)->entries, 0);
	assert_int_equal(put(c, tm_simple(&m, "www.example.com", 300, 1), DNS_RANK_ANSWER, 300, T0), -E2BIG);
	dns_cache_free(c);
}

static void test_set_budget(void **state)
{
	struct tmsg m;
	size_t cost = ENTRY + 2 + tm_simple(&m, "h0.example.com", 300, 0)->len;
	struct dns_cache *c = cache(BIG, 0);
	const struct dns_cache_stats *s = dns_cache_stats(c);
	char name[32];
	unsigned i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h%u.example.com", i);
		assert_int_equal(put(c, tm_simple(&m, name, 300, (uint8_t)i), DNS_RANK_ANSWER, 300, T0), 0);
	}
	assert_true(present(c, "h0.example.com", T0 + 1));
	assert_int_equal(s->budget, BIG);

	dns_cache_set_budget(c, 3 * cost + cost / 2);
	assert_int_equal(s->budget, 3 * cost + cost / 2);
	assert_int_equal(s->entries, 3);
	assert_int_equal(s->bytes, 3 * cost);
	assert_int_equal(s->evictions, 7);
	assert_true(present(c, "h0.example.com", T0 + 2));
	assert_true(present(c, "h9.example.com", T0 + 2));
	assert_true(present(c, "h8.example.com", T0 + 2));
	assert_false(present(c, "h7.example.com", T0 + 2));
	assert_false(present(c, "h1.example.com", T0 + 2));

	/* growing again evicts nothing; an entry over an eighth is refused */
	assert_int_equal(put(c, tm_simple(&m, "h1.example.com", 300, 1), DNS_RANK_ANSWER, 300, T0), -E2BIG);
	dns_cache_set_budget(c, 8 * cost);
	assert_int_equal(s->entries, 3);
	assert_int_equal(put(c, tm_simple(&m, "h1.example.com", 300, 1), DNS_RANK_ANSWER, 300, T0), 0);
	assert_int_equal(s->entries, 4);
	assert_int_equal(s->evictions, 7);
	dns_cache_free(c);
}

/* ---- bad puts ---- */

static void test_einval(void **state)
{
	struct dns_cache *c = cache(BIG, 0);
	static struct tmsg m, bad;
	struct dns_name other;
	struct dns_cache_put p;
	size_t qend = 12 + 17 + 4;
	uint16_t off;

	tm_simple(&m, "www.example.com", 300, 1);
#define PUT_P()                                                                                          \
	(p = (struct dns_cache_put){&m.name, m.type, m.class, DNS_RANK_ANSWER, 0, false, bad.b, bad.len, \
				    bad.ttl_off, bad.nttl, 300})
#define EXPECT(rc)                                                \
	do {                                                      \
		PUT_P();                                          \
		assert_int_equal(dns_cache_put(c, &p, T0), (rc)); \
		bad = m;                                          \
	} while (0)

	bad = m;
	EXPECT(0); /* the unmodified message is fine */
	assert_int_equal(dns_cache_flush(c, NULL), 1);

	bad.len = 11;
	EXPECT(-EINVAL); /* shorter than a header */
	bad.b[5] = 0;
	EXPECT(-EINVAL); /* qdcount 0 */
	bad.b[5] = 2;
	EXPECT(-EINVAL); /* qdcount 2 */
	bad.b[4] = 1;
	EXPECT(-EINVAL); /* qdcount 257 */
	bad.b[12] = 0xc0;
	bad.b[13] = 0x0c;
	EXPECT(-EINVAL); /* a compressed question */
	bad.b[12] = 0x43;
	EXPECT(-EINVAL); /* label type 0x40 (RFC 6891 / 2673, gone) */
	bad.b[24] = 5;
	EXPECT(-EINVAL); /* "com" grown into a label that runs past the name */
	bad.len = 12 + 10;
	bad.nttl = 0;
	EXPECT(-EINVAL); /* the name cut short */
	bad.len = qend - 2;
	bad.nttl = 0;
	EXPECT(-EINVAL); /* no class */
	bad.b[qend - 3] = DNS_TYPE_AAAA;
	EXPECT(-EINVAL); /* type differs */
	bad.b[qend - 1] = DNS_CLASS_CH;
	EXPECT(-EINVAL); /* class differs */
	bad.b[13] = 'x';
	EXPECT(-EINVAL); /* name differs: xww.example.com */

	/* the put's name differs from the question */
	other = name_of("example.com");
	p = (struct dns_cache_put){&other,    m.type, m.class, DNS_RANK_ANSWER, 0, false, m.b, m.len,
				   m.ttl_off, 1,      300};
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	other = name_of("www.example.org");
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	other = m.name;
	other.labels = 2; /* same bytes, a wrong label count */
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);

	/* TTL offsets: past the end, inside the question, in the header */
	bad.ttl_off[0] = (uint16_t)(m.len - 3);
	EXPECT(-EINVAL);
	bad.ttl_off[0] = (uint16_t)(qend - 1);
	EXPECT(-EINVAL);
	bad.ttl_off[0] = 4;
	EXPECT(-EINVAL);
	bad.nttl = 2;
	bad.ttl_off[1] = 0xffff;
	EXPECT(-EINVAL);

	/* rank, rcode, missing pointers, length */
	PUT_P();
	p.rank = 0;
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	p.rank = 3;
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	PUT_P();
	p.rcode = 16;
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	PUT_P();
	p.ttl_off = NULL;
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	PUT_P();
	p.len = 65536;
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);
	PUT_P();
	p.msg = NULL;
	assert_int_equal(dns_cache_put(c, &p, T0), -EINVAL);

	assert_int_equal(dns_cache_stats(c)->entries, 0);
	assert_int_equal(dns_cache_stats(c)->puts, 1);

	/* the edges that are allowed: a TTL right after the question, one ending the message, none */
	off = (uint16_t)qend;
	bad.ttl_off[0] = off;
	bad.ttl_off[1] = (uint16_t)(m.len - 4);
	bad.nttl = 2;
	EXPECT(0);
	bad.nttl = 0;
	EXPECT(0);
	assert_int_equal(dns_cache_stats(c)->entries, 1);
#undef EXPECT
#undef PUT_P
	dns_cache_free(c);
}

/* ---- flush and iteration ---- */

static void test_flush(void **state)
{
	static const char *const names[] = {"example.com", "www.example.com", "a.b.example.com",
					    "example.org", "notexample.com",  "com"};
	struct dns_cache *c = cache(BIG, 0);
	const struct dns_cache_stats *s = dns_cache_stats(c);
	struct tmsg m;
	struct dns_name below;
	size_t i;

	for (i = 0; i < 6; i++)
		assert_int_equal(put(c, tm_simple(&m, names[i], 300, (uint8_t)i), DNS_RANK_ANSWER, 300, T0),
				 0);
	tm_start(&m, "www.example.com", DNS_TYPE_AAAA, DNS_CLASS_IN, 0);
	assert_int_equal(put(c, &m, DNS_RANK_GLUE, 300, T0), 0);
	assert_int_equal(s->entries, 7);

	below = name_of("example.com");
	assert_int_equal(dns_cache_flush(c, &below), 4);
	assert_int_equal(s->entries, 3);
	assert_int_equal(s->flushed, 4);
	assert_false(present(c, "example.com", T0));
	assert_false(present(c, "www.example.com", T0));
	assert_false(present(c, "a.b.example.com", T0));
	assert_true(present(c, "example.org", T0));
	assert_true(present(c, "notexample.com", T0));
	assert_true(present(c, "com", T0));

	below = name_of("NotExample.COM"); /* case-insensitive */
	assert_int_equal(dns_cache_flush(c, &below), 1);
	below = name_of("example.net");
	assert_int_equal(dns_cache_flush(c, &below), 0);
	assert_int_equal(dns_cache_flush(c, NULL), 2);
	assert_int_equal(s->entries, 0);
	assert_int_equal(s->bytes, 0);
	assert_int_equal(s->flushed, 7);
	assert_false(present(c, "com", T0));

	/* the root flushes everything */
	assert_int_equal(put(c, tm_simple(&m, "com", 300, 1), DNS_RANK_ANSWER, 300, T0), 0);
	below = name_of(".");
	assert_int_equal(dns_cache_flush(c, &below), 1);
	dns_cache_free(c);
}

static void test_next(void **state)
{
	static const char *const names[] = {"a.example.com", "b.example.com", "c.example.com"};
	struct dns_cache *c = cache(BIG, 0);
	const struct dns_cache_entry *e;
	struct tmsg m;
	size_t cursor = 0, i;
	unsigned seen[3] = {0};

	assert_null(dns_cache_next(c, &cursor));
	assert_null(dns_cache_next(c, &cursor));

	for (i = 0; i < 3; i++)
		assert_int_equal(put(c, tm_simple(&m, names[i], 300, (uint8_t)i), DNS_RANK_ANSWER, 300, T0),
				 0);
	cursor = 0;
	for (i = 0; i < 3; i++) {
		e = dns_cache_next(c, &cursor);
		assert_non_null(e);
		assert_in_range(e->msg[e->len - 1], 0, 2);
		seen[e->msg[e->len - 1]]++;
		assert_true(present(c, names[e->msg[e->len - 1]], T0)); /* hits do not disturb the walk */
	}
	assert_null(dns_cache_next(c, &cursor));
	assert_null(dns_cache_next(c, &cursor));
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
	dns_cache_free(c);
}

/* 100k entries: the table grows many times and every entry is still found
 * exactly once, by lookup and by iteration. */
static void test_rehash_100k(void **state)
{
	enum {
		N = 100000
	};
	struct dns_cache *c = cache(1u << 30, 0);
	const struct dns_cache_stats *s = dns_cache_stats(c);
	const struct dns_cache_entry *it;
	struct dns_cache_entry *e;
	enum dns_cache_state st;
	struct tmsg m;
	char name[40];
	size_t cursor = 0, count = 0;
	uint64_t sum = 0;
	uint32_t i, v;
	uint8_t rd[4];

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%u.Example.com", i);
		tm_start(&m, name, DNS_TYPE_A, DNS_CLASS_IN, 0);
		memcpy(rd, &(uint32_t){i}, 4);
		tm_rr(&m, DNS_SEC_ANSWER, DNS_TYPE_A, 300, rd, 4);
		assert_int_equal(put(c, &m, DNS_RANK_ANSWER, 300, T0), 0);
	}
	assert_int_equal(s->entries, N);
	assert_int_equal(s->evictions, 0);
	assert_int_equal(s->buckets, 131072); /* 256 doubled 9 times: load <= 1 */
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "H%u.EXAMPLE.com", i);
		e = get(c, name, T0 + 1, &st);
		assert_non_null(e);
		memcpy(&v, e->msg + e->len - 4, 4);
		assert_int_equal(v, i);
	}
	assert_int_equal(s->hits, N);
	assert_int_equal(s->misses, 0);
	assert_null(get(c, "h100000.example.com", T0 + 1, &st));

	while ((it = dns_cache_next(c, &cursor)) != NULL) {
		memcpy(&v, it->msg + it->len - 4, 4);
		sum += v;
		count++;
	}
	assert_int_equal(count, N);
	assert_int_equal(sum, (uint64_t)N * (N - 1) / 2);
	dns_cache_free(c);
}

/* ---- stats ---- */

static void test_stats(void **state)
{
	struct tmsg m;
	size_t cost = ENTRY + 2 + tm_simple(&m, "a.example.com", 300, 0)->len;
	struct dns_cache *c = cache(BIG, 50);
	const struct dns_cache_stats *s = dns_cache_stats(c);
	enum dns_cache_state st;
	struct dns_name below = name_of("c.example.com");

	assert_int_equal(s->entries, 0);
	assert_int_equal(s->bytes, 0);
	assert_int_equal(s->budget, BIG);
	assert_int_equal(s->buckets, 256);
	assert_int_equal(s->hits + s->stale_hits + s->misses + s->puts, 0);
	assert_int_equal(s->evictions + s->expired + s->flushed, 0);

	assert_int_equal(put(c, tm_simple(&m, "a.example.com", 100, 1), DNS_RANK_ANSWER, 100, T0), 0);
	assert_int_equal(put(c, tm_simple(&m, "b.example.com", 10, 2), DNS_RANK_ANSWER, 10, T0), 0);
	assert_int_equal(put(c, tm_simple(&m, "c.example.com", 300, 3), DNS_RANK_ANSWER, 300, T0), 0);
	assert_int_equal(put(c, tm_simple(&m, "d.example.com", 300, 4), DNS_RANK_GLUE, 300, T0), 0);
	assert_int_equal(put(c, tm_simple(&m, "d.example.com", 300, 5), DNS_RANK_GLUE, 0, T0), 1);
	assert_int_equal(s->puts, 4);
	assert_int_equal(s->entries, 4);
	assert_int_equal(s->bytes, 4 * cost);

	assert_non_null(get(c, "a.example.com", T0 + 1, &st));	/* hit */
	assert_non_null(get(c, "a.example.com", T0 + 2, &st));	/* hit */
	assert_null(get(c, "x.example.com", T0 + 2, &st));	/* miss */
	assert_null(get(c, "d.example.com", T0 + 2, &st));	/* glue for a client: miss */
	assert_non_null(get(c, "b.example.com", T0 + 20, &st)); /* stale hit */
	assert_null(get(c, "b.example.com", T0 + 60, &st));	/* expired: miss */
	assert_int_equal(s->hits, 2);
	assert_int_equal(s->stale_hits, 1);
	assert_int_equal(s->misses, 3);
	assert_int_equal(s->expired, 1);
	assert_int_equal(s->entries, 3);

	assert_int_equal(dns_cache_flush(c, &below), 1);
	assert_int_equal(s->flushed, 1);
	dns_cache_set_budget(c, cost);
	assert_int_equal(s->evictions, 1);
	assert_int_equal(s->entries, 1);
	assert_int_equal(s->bytes, cost);
	assert_int_equal(s->budget, cost);
	assert_int_equal(s->puts, 4);
	dns_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_fresh),
		cmocka_unit_test(test_keys_distinct),
		cmocka_unit_test(test_replace_same_key),
		cmocka_unit_test(test_ttl_countdown),
		cmocka_unit_test(test_ttl_bounded_by_entry),
		cmocka_unit_test(test_header_and_0x20),
		cmocka_unit_test(test_answer_nospace),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_stale_window),
		cmocka_unit_test(test_ttl_zero),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_e2big),
		cmocka_unit_test(test_set_budget),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_rehash_100k),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
