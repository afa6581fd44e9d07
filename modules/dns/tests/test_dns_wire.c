/* test_dns_wire.c — DNS names, message parsing (every hostile case the
 * header names), the compressing writer byte for byte, and rdata text. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns_wire.h"

#define LIT(...) ((const uint8_t[]){__VA_ARGS__})
#define BYTES(...) LIT(__VA_ARGS__), sizeof(LIT(__VA_ARGS__))
#define ADD(mb, ...) mb_raw(mb, BYTES(__VA_ARGS__))
#define assert_bytes(got, ...) assert_memory_equal(got, LIT(__VA_ARGS__), sizeof(LIT(__VA_ARGS__)))

static struct dns_msg msg;
static struct dns_writer dw;
static uint8_t out[70000];

/* ---- Building messages by hand ---- */

struct mb {
	uint8_t b[70000];
	size_t n;
};

static struct mb mb;

static void mb_raw(struct mb *m, const uint8_t *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void mb_u16(struct mb *m, uint16_t v)
{
	ADD(m, (uint8_t)(v >> 8), (uint8_t)v);
}

static void mb_u32(struct mb *m, uint32_t v)
{
	mb_u16(m, (uint16_t)(v >> 16));
	mb_u16(m, (uint16_t)v);
}

static void mb_hdr(struct mb *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		   uint16_t ar)
{
	m->n = 0;
	mb_u16(m, id);
	mb_u16(m, flags);
	mb_u16(m, qd);
	mb_u16(m, an);
	mb_u16(m, ns);
	mb_u16(m, ar);
}

static struct dns_name name(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

/* An uncompressed name. */
static void mb_name(struct mb *m, const char *text)
{
	struct dns_name n = name(text);

	mb_raw(m, n.b, n.len);
}

static void mb_ptr(struct mb *m, uint16_t off)
{
	mb_u16(m, (uint16_t)(0xc000 | off));
}

/* type, class IN, TTL, rdlength */
static void mb_rr_fixed(struct mb *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	mb_u16(m, type);
	mb_u16(m, DNS_CLASS_IN);
	mb_u32(m, ttl);
	mb_u16(m, rdlen);
}

static void mb_question(struct mb *m, const char *qname, uint16_t type)
{
	mb_name(m, qname);
	mb_u16(m, type);
	mb_u16(m, DNS_CLASS_IN);
}

/* OPT: root owner, UDP size, TTL as given, no options */
static void mb_opt(struct mb *m, uint16_t udp, uint32_t ttl)
{
	ADD(m, 0);
	mb_u16(m, DNS_TYPE_OPT);
	mb_u16(m, udp);
	mb_u32(m, ttl);
	mb_u16(m, 0);
}

static enum dns_parse_error parse_mb(void)
{
	enum dns_parse_error why = DNS_PARSE_OK;
	int r = dns_msg_parse(&msg, mb.b, mb.n, &why);

	assert_int_equal(r, why == DNS_PARSE_OK ? 0 : -EBADMSG);
	return why;
}

static void assert_name(const struct dns_name *n, const char *text)
{
	char buf[DNS_NAME_TEXT_MAX];

	dns_name_to_text(n, buf);
	assert_string_equal(buf, text);
}

/* ---- Names as text ---- */

static void test_name_from_text(void **state)
{
	struct dns_name n;

	(void)state;
	assert_int_equal(dns_name_from_text(&n, "www.Example.com"), 0);
	assert_int_equal(n.len, 17);
	assert_int_equal(n.labels, 3);
	assert_bytes(n.b, 3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0);
	assert_int_equal(dns_name_from_text(&n, "www.example.com."), 0);
	assert_int_equal(n.len, 17);

	assert_int_equal(dns_name_from_text(&n, "."), 0);
	assert_int_equal(n.len, 1);
	assert_int_equal(n.labels, 0);
	assert_int_equal(n.b[0], 0);
	assert_int_equal(dns_name_from_text(&n, ""), 0);
	assert_int_equal(n.len, 1);

	/* escapes (RFC 1035 5.1) */
	assert_int_equal(dns_name_from_text(&n, "a\\.b.c"), 0);
	assert_int_equal(n.labels, 2);
	assert_bytes(n.b, 3, 'a', '.', 'b', 1, 'c', 0);
	assert_int_equal(dns_name_from_text(&n, "\\065bc\\255\\000"), 0);
	assert_int_equal(n.len, 7);
	assert_bytes(n.b, 5, 'A', 'b', 'c', 255, 0, 0);
	assert_int_equal(dns_name_from_text(&n, "a\\\\b.\\x"), 0);
	assert_bytes(n.b, 3, 'a', '\\', 'b', 1, 'x', 0);

	/* errors */
	assert_int_equal(dns_name_from_text(&n, "a..b"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, ".a"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, ".."), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "a.."), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "a\\"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "\\25"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "\\2a5"), -EINVAL);
	assert_int_equal(dns_name_from_text(&n, "\\256"), -EINVAL);
}

static void test_name_text_limits(void **state)
{
	char l63[64], l62[63], l61[62], l64[65], text[400];
	struct dns_name n;

	(void)state;
	memset(l63, 'a', 63), l63[63] = 0;
	memset(l64, 'a', 64), l64[64] = 0;
	memset(l62, 'b', 62), l62[62] = 0;
	memset(l61, 'b', 61), l61[61] = 0;
	assert_int_equal(dns_name_from_text(&n, l63), 0);
	assert_int_equal(n.len, 65);
	assert_int_equal(dns_name_from_text(&n, l64), -EINVAL);

	/* 3 * 64 + 62 + root = 255: the longest name */
	snprintf(text, sizeof(text), "%s.%s.%s.%s.", l63, l63, l63, l61);
	assert_int_equal(dns_name_from_text(&n, text), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.labels, 4);
	assert_int_equal(n.b[254], 0);
	char back[DNS_NAME_TEXT_MAX];
	dns_name_to_text(&n, back);
	assert_string_equal(back, text);
	/* one more octet is 256 */
	snprintf(text, sizeof(text), "%s.%s.%s.%s", l63, l63, l63, l62);
	assert_int_equal(dns_name_from_text(&n, text), -EINVAL);
	snprintf(text, sizeof(text), "%s.%s.%s.%s.a", l63, l63, l63, l61);
	assert_int_equal(dns_name_from_text(&n, text), -EINVAL);
}

static void test_name_to_text(void **state)
{
	struct dns_name n, again;
	char buf[DNS_NAME_TEXT_MAX];

	(void)state;
	n = name(".");
	dns_name_to_text(&n, buf);
	assert_string_equal(buf, ".");
	assert_name(&(struct dns_name){0}, ".");
	n = name("Mail-1_x.Example.COM");
	assert_name(&n, "Mail-1_x.Example.COM.");
	n = name("a\\.b\\\\c.*.sp\\032ace.\\255");
	assert_name(&n, "a\\.b\\\\c.\\042.sp\\032ace.\\255.");

	/* every byte escaped, longest name: 1004 characters, still fits */
	n.len = 0;
	for (int l = 0; l < 4; l++) {
		unsigned k = l < 3 ? 63 : 61;
		n.b[n.len++] = (uint8_t)k;
		memset(n.b + n.len, 0xff, k);
		n.len = (uint8_t)(n.len + k);
	}
	n.b[n.len++] = 0;
	n.labels = 4;
	assert_int_equal(n.len, 255);
	dns_name_to_text(&n, buf);
	assert_int_equal(strlen(buf), 3 * (63 * 4 + 1) + 61 * 4 + 1);
	assert_int_equal(dns_name_from_text(&again, buf), 0);
	assert_int_equal(again.len, 255);
	assert_memory_equal(again.b, n.b, 255);
}

/* ---- Name operations ---- */

static void test_name_ops(void **state)
{
	struct dns_name a = name("WWW.Example.COM"), b = name("www.example.com"), c, zone;

	(void)state;
	assert_true(dns_name_equal(&a, &b));
	assert_int_equal(dns_name_hash(&a), dns_name_hash(&b));
	c = name("www.example.org");
	assert_false(dns_name_equal(&a, &c));
	assert_int_not_equal(dns_name_hash(&a), dns_name_hash(&c));
	c = name("www.example.co");
	assert_false(dns_name_equal(&a, &c));
	/* FNV-1a over the lower-cased wire bytes: the root is one zero byte */
	c = name(".");
	assert_int_equal(dns_name_hash(&c), (2166136261u ^ 0u) * 16777619u);

	c = a;
	dns_name_lower(&c);
	assert_memory_equal(c.b, b.b, b.len);
	/* case folding is ASCII only (RFC 4343 3) */
	c = name("\\196.x");
	a = name("\\228.x");
	assert_false(dns_name_equal(&a, &c));

	a = name("WWW.Example.COM");
	zone = name("example.com");
	assert_true(dns_name_is_under(&a, &zone));
	assert_true(dns_name_is_under(&zone, &zone));
	zone = name("EXAMPLE.com.");
	assert_true(dns_name_is_under(&a, &zone));
	zone = name(".");
	assert_true(dns_name_is_under(&a, &zone));
	zone = name("ample.com");
	c = name("xample.com");
	assert_false(dns_name_is_under(&c, &zone));
	zone = name("www.example.com.evil");
	assert_false(dns_name_is_under(&a, &zone));
	c = name("com");
	zone = name("example.com");
	assert_false(dns_name_is_under(&c, &zone));
	/* same length, different labelling */
	c = name("ab.c");
	zone = name("a.bc");
	assert_false(dns_name_is_under(&c, &zone));
}

/* Every pair of byte values at the start, middle and tail of a name (the
 * comparison runs 8 bytes at a time): equal exactly when they are the
 * same or the same ASCII letter in another case. */
static void test_name_equal_every_byte(void **state)
{
	struct dns_name a = name("xxxxxxxxxxxxxxxxxxxx.y"), b = a, s = name("xxx"), t = s;
	static const unsigned pos[] = {1, 9, 16, 20};

	(void)state;
	for (unsigned c1 = 0; c1 < 256; c1++) {
		for (unsigned c2 = 0; c2 < 256; c2++) {
			bool same = c1 == c2 ||
				    ((c1 | 0x20) == (c2 | 0x20) && (c1 | 0x20) >= 'a' && (c1 | 0x20) <= 'z');

			for (size_t k = 0; k < sizeof(pos) / sizeof(pos[0]); k++) {
				a.b[pos[k]] = (uint8_t)c1;
				b.b[pos[k]] = (uint8_t)c2;
				if (dns_name_equal(&a, &b) != same)
					fail_msg("bytes %u and %u at %u", c1, c2, pos[k]);
				a.b[pos[k]] = b.b[pos[k]] = 'x';
			}
			/* short names take the bytewise path */
			s.b[2] = (uint8_t)c1;
			t.b[2] = (uint8_t)c2;
			assert_int_equal(dns_name_equal(&s, &t), same);
			assert_int_equal(dns_name_hash(&s) == dns_name_hash(&t), same);
		}
	}
}

static void test_name_parent_suffix(void **state)
{
	struct dns_name n = name("a.Example.com"), s;

	(void)state;
	assert_true(dns_name_parent(&n));
	assert_int_equal(n.labels, 2);
	assert_int_equal(n.len, 13);
	assert_name(&n, "Example.com.");
	assert_true(dns_name_parent(&n));
	assert_name(&n, "com.");
	assert_true(dns_name_parent(&n));
	assert_int_equal(n.len, 1);
	assert_int_equal(n.labels, 0);
	assert_false(dns_name_parent(&n));
	assert_int_equal(n.len, 1);

	n = name("a.b.Example.com");
	dns_name_suffix(&n, 0, &s);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.labels, 0);
	dns_name_suffix(&n, 1, &s);
	assert_name(&s, "com.");
	assert_int_equal(s.labels, 1);
	dns_name_suffix(&n, 2, &s);
	assert_name(&s, "Example.com.");
	assert_int_equal(s.len, 13);
	dns_name_suffix(&n, 4, &s);
	assert_true(dns_name_equal(&s, &n));
	assert_int_equal(s.labels, 4);
	/* in place */
	dns_name_suffix(&n, 3, &n);
	assert_name(&n, "b.Example.com.");
	assert_int_equal(n.labels, 3);
}

/* ---- Reading names ---- */

/* A reader over mb positioned at POS. */
static struct wire reader_at(size_t pos)
{
	struct wire r = wire_reader(mb.b, mb.n);

	r.pos = pos;
	return r;
}

static void test_name_read(void **state)
{
	struct dns_name n;
	struct wire r;

	(void)state;
	mb_hdr(&mb, 1, 0, 0, 0, 0, 0);
	mb_name(&mb, "example.com"); /* 12..24 */
	ADD(&mb, 3, 'w', 'w', 'w');  /* 25 */
	mb_ptr(&mb, 12);
	ADD(&mb, 0xaa);

	r = reader_at(12);
	assert_int_equal(dns_name_read(&r, &n), 0);
	assert_name(&n, "example.com.");
	assert_int_equal(wire_pos(&r), 25);
	assert_int_equal(dns_name_read(&r, &n), 0);
	assert_name(&n, "www.example.com.");
	assert_int_equal(n.len, 17);
	assert_int_equal(n.labels, 3);
	/* past the pointer, not past the name it points to */
	assert_int_equal(wire_pos(&r), 31);
	assert_true(wire_ok(&r));

	/* a pointer to a pointer */
	mb_ptr(&mb, 25);
	r = reader_at(32);
	assert_int_equal(dns_name_read(&r, &n), 0);
	assert_name(&n, "www.example.com.");
	assert_int_equal(wire_pos(&r), 34);

	/* the message ends inside a name */
	r = reader_at(12);
	r.end = 20;
	assert_int_equal(dns_name_read(&r, &n), -EBADMSG);
	assert_false(wire_ok(&r));
	/* an errored cursor reads nothing */
	r = reader_at(12);
	r.err = true;
	assert_int_equal(dns_name_read(&r, &n), -EBADMSG);
}

/* One message holding at 12 the bytes given, read there. */
static int read_at12(const uint8_t *bytes, size_t n)
{
	struct dns_name name_;

	mb_hdr(&mb, 1, 0, 0, 0, 0, 0);
	mb_raw(&mb, bytes, n);
	struct wire r = reader_at(12);
	int e = dns_name_read(&r, &name_);
	assert_true(e == 0 ? wire_ok(&r) : !wire_ok(&r));
	return e;
}

static void test_name_read_hostile(void **state)
{
	struct dns_name n;
	struct wire r;

	(void)state;
	/* pointer to itself */
	assert_int_equal(read_at12(BYTES(0xc0, 12)), -EBADMSG);
	/* forward pointer */
	assert_int_equal(read_at12(BYTES(0xc0, 14, 1, 'a', 0)), -EBADMSG);
	/* a label then a pointer back to the name's own start: a loop */
	assert_int_equal(read_at12(BYTES(1, 'a', 0xc0, 12)), -EBADMSG);
	/* into the header */
	assert_int_equal(read_at12(BYTES(0xc0, 4)), -EBADMSG);
	assert_int_equal(read_at12(BYTES(0xc0, 0)), -EBADMSG);
	/* label length 64 is the reserved 01 type; 0x80 too */
	assert_int_equal(read_at12(BYTES(0x40, 'a', 0)), -EBADMSG);
	assert_int_equal(read_at12(BYTES(0x80, 'a', 0)), -EBADMSG);
	/* a pointer cut in half */
	assert_int_equal(read_at12(BYTES(1, 'a', 0xc0)), -EBADMSG);

	/* a two-step loop: the name at 16 points to 12, whose name points
	 * back to 16 (not before 12, the sequence it is in) */
	mb_hdr(&mb, 1, 0, 0, 0, 0, 0);
	ADD(&mb, 1, 'a', 0xc0, 16); /* 12 */
	ADD(&mb, 1, 'b', 0xc0, 12); /* 16 */
	r = reader_at(16);
	assert_int_equal(dns_name_read(&r, &n), -EBADMSG);

	/* 63-octet labels: 3 of them and the root at 12 are 193 octets */
	uint8_t l63[64];
	l63[0] = 63;
	memset(l63 + 1, 'x', 63);
	mb_hdr(&mb, 1, 0, 0, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		mb_raw(&mb, l63, 64);
	ADD(&mb, 0);
	size_t at255 = mb.n;
	/* 61 + 1 + 193 = 255 */
	ADD(&mb, 61);
	for (int i = 0; i < 61; i++)
		ADD(&mb, 'y');
	mb_ptr(&mb, 12);
	size_t at256 = mb.n;
	/* 62 + 1 + 193 = 256 */
	ADD(&mb, 62);
	for (int i = 0; i < 62; i++)
		ADD(&mb, 'y');
	mb_ptr(&mb, 12);
	r = reader_at(at255);
	assert_int_equal(dns_name_read(&r, &n), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.labels, 4);
	r = reader_at(at256);
	assert_int_equal(dns_name_read(&r, &n), -EBADMSG);
}

/* ---- Parsing messages ---- */

/* dig www.example.com A +dnssec: one question, an OPT with DO. */
static void typical_query(void)
{
	mb_hdr(&mb, 0x1234, DNS_F_RD | DNS_F_AD, 1, 0, 0, 1);
	mb_question(&mb, "www.example.com", DNS_TYPE_A);
	mb_opt(&mb, 1232, DNS_EDNS_DO);
}

static void test_parse_query(void **state)
{
	(void)state;
	typical_query();
	assert_int_equal(mb.n, 44);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_ptr_equal(msg.buf, mb.b);
	assert_int_equal(msg.len, 44);
	assert_int_equal(msg.id, 0x1234);
	assert_int_equal(msg.flags, DNS_F_RD | DNS_F_AD);
	assert_int_equal(msg.qdcount, 1);
	assert_int_equal(msg.ancount, 0);
	assert_int_equal(msg.nscount, 0);
	assert_int_equal(msg.arcount, 1);
	assert_name(&msg.qname, "www.example.com.");
	assert_int_equal(msg.qtype, DNS_TYPE_A);
	assert_int_equal(msg.qclass, DNS_CLASS_IN);
	assert_int_equal(msg.qname_off, 12);
	assert_int_equal(msg.question_end, 33);
	assert_int_equal(msg.sec_off[0], 33);
	assert_int_equal(msg.sec_off[1], 33);
	assert_int_equal(msg.sec_off[2], 33);
	assert_true(msg.edns);
	assert_int_equal(msg.edns_version, 0);
	assert_int_equal(msg.edns_udp, 1232);
	assert_int_equal(msg.edns_flags, DNS_EDNS_DO);
	assert_int_equal(msg.rcode, 0);
	assert_int_equal(msg.opt_off, 33);
	assert_int_equal(msg.opt_len, 11);

	/* without EDNS */
	mb_hdr(&mb, 7, DNS_F_RD, 1, 0, 0, 0);
	mb_question(&mb, "Example.ORG", DNS_TYPE_AAAA);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_false(msg.edns);
	assert_int_equal(msg.opt_off, 0);
	assert_int_equal(msg.opt_len, 0);
	assert_int_equal(msg.edns_udp, 0);
	assert_name(&msg.qname, "Example.ORG.");
	assert_int_equal(msg.qtype, DNS_TYPE_AAAA);

	/* version and flags as sent */
	mb_hdr(&mb, 7, 0, 1, 0, 0, 1);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_opt(&mb, 512, 0x00018000 | 0x0123);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_int_equal(msg.edns_version, 1);
	assert_int_equal(msg.edns_flags, 0x8123);
	assert_int_equal(msg.edns_udp, 512);
}

static void test_parse_questions(void **state)
{
	(void)state;
	/* no question: the question fields are zero */
	mb_hdr(&mb, 7, 0, 0, 0, 0, 0);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_int_equal(msg.qname.len, 0);
	assert_int_equal(msg.qtype, 0);
	assert_int_equal(msg.qclass, 0);
	assert_int_equal(msg.qname_off, 0);
	assert_int_equal(msg.question_end, 12);
	assert_int_equal(msg.sec_off[0], 12);

	/* two: both read, the first kept */
	mb_hdr(&mb, 7, 0, 2, 0, 0, 0);
	mb_question(&mb, "one.example", DNS_TYPE_MX);
	ADD(&mb, 3, 't', 'w', 'o');
	mb_ptr(&mb, 16);
	mb_u16(&mb, DNS_TYPE_TXT);
	mb_u16(&mb, DNS_CLASS_CH);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_name(&msg.qname, "one.example.");
	assert_int_equal(msg.qtype, DNS_TYPE_MX);
	assert_int_equal(msg.question_end, mb.n);

	/* ... and the second must be good too */
	mb.b[mb.n - 5] = 12 + 50;
	assert_int_equal(parse_mb(), DNS_PARSE_NAME);
	/* the header stays for a FORMERR answer; nothing to iterate */
	assert_int_equal(msg.id, 7);
	struct dns_rr_iter it;
	struct dns_rr rr;
	dns_rr_iter_init(&it, &msg);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
}

static void test_parse_short_and_counts(void **state)
{
	(void)state;
	mb_hdr(&mb, 7, 0, 0, 0, 0, 0);
	mb.n = 11;
	assert_int_equal(parse_mb(), DNS_PARSE_SHORT);
	assert_int_equal(dns_msg_parse(&msg, mb.b, 11, NULL), -EBADMSG);

	/* counts that lie */
	mb_hdr(&mb, 7, 0, 2, 0, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	assert_int_equal(parse_mb(), DNS_PARSE_TRUNCATED);
	mb_hdr(&mb, 7, 0, 1, 1, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	assert_int_equal(parse_mb(), DNS_PARSE_TRUNCATED);
	mb_hdr(&mb, 7, 0, 1, 0, 0, 0xffff);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	assert_int_equal(parse_mb(), DNS_PARSE_TRUNCATED);
	/* ... and the other way: more than the counts say */
	mb_hdr(&mb, 7, 0, 0, 0, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	assert_int_equal(parse_mb(), DNS_PARSE_TRAILING);
	mb_hdr(&mb, 7, 0, 1, 0, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	ADD(&mb, 0);
	assert_int_equal(parse_mb(), DNS_PARSE_TRAILING);

	/* a question cut short */
	mb_hdr(&mb, 7, 0, 1, 0, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	mb.n -= 1;
	assert_int_equal(parse_mb(), DNS_PARSE_TRUNCATED);
	mb.n -= 5;
	assert_int_equal(parse_mb(), DNS_PARSE_TRUNCATED);

	/* an RR cut in its fixed part */
	mb_hdr(&mb, 7, 0x8180, 1, 1, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_A);
	mb_ptr(&mb, 12);
	mb_rr_fixed(&mb, DNS_TYPE_A, 60, 4);
	ADD(&mb, 10, 0, 0, 1);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	mb.n -= 6;
	assert_int_equal(parse_mb(), DNS_PARSE_TRUNCATED);
	/* rdlength past the end */
	mb.n += 6;
	mb.n -= 1;
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	assert_string_equal(dns_parse_error_str(DNS_PARSE_RDATA), "rdata");
	assert_string_equal(dns_parse_error_str(DNS_PARSE_TRUNCATED), "truncated");
	assert_string_equal(dns_parse_error_str(DNS_PARSE_OK), "ok");
	assert_string_equal(dns_parse_error_str((enum dns_parse_error)99), "unknown");
}

/* A response to "a.example" (question at 12..26) with one answer of TYPE
 * and the RDATA given. */
static void one_answer(uint16_t type, const uint8_t *rdata, size_t rdlen, uint16_t rdlen_field)
{
	mb_hdr(&mb, 7, 0x8180, 1, 1, 0, 0);
	mb_question(&mb, "a.example", DNS_TYPE_ANY);
	mb_ptr(&mb, 12);
	mb_rr_fixed(&mb, type, 60, rdlen_field);
	mb_raw(&mb, rdata, rdlen);
}

static void test_parse_rdata_rules(void **state)
{
	(void)state;
	one_answer(DNS_TYPE_A, BYTES(10, 0, 0, 1), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_A, BYTES(10, 0, 0, 1, 0), 5);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	one_answer(DNS_TYPE_A, BYTES(10, 0, 0), 3);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	one_answer(DNS_TYPE_AAAA, BYTES(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 16);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_AAAA, BYTES(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 15);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);

	/* names in rdata: compressed to before them is fine */
	one_answer(DNS_TYPE_CNAME, BYTES(1, 'b', 0xc0, 14), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_NS, BYTES(1, 'b', 0xc0, 14), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_PTR, BYTES(1, 'b', 0xc0, 14), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_DNAME, BYTES(1, 'b', 0xc0, 14), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	/* a bad pointer in rdata */
	one_answer(DNS_TYPE_CNAME, BYTES(1, 'b', 0xc0, 60), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_NAME);
	one_answer(DNS_TYPE_PTR, BYTES(0x80), 1);
	assert_int_equal(parse_mb(), DNS_PARSE_NAME);
	/* the name does not fill the rdata, or runs past it */
	one_answer(DNS_TYPE_CNAME, BYTES(1, 'b', 0, 0), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	one_answer(DNS_TYPE_NS, BYTES(1, 'b', 0), 2); /* the root is outside */
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	/* an unknown type's rdata is opaque */
	one_answer(99, BYTES(0xc0, 0xff, 0x80), 3);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);

	/* MX: 2 octets and a name, nothing else */
	one_answer(DNS_TYPE_MX, BYTES(0, 10, 0xc0, 12), 4);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_MX, BYTES(0, 10), 2);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	one_answer(DNS_TYPE_MX, BYTES(0, 10, 0xc0, 12, 0), 5);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	/* SRV: 6 octets and a name */
	one_answer(DNS_TYPE_SRV, BYTES(0, 1, 0, 2, 0, 3, 0), 7);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_SRV, BYTES(0, 1, 0, 2, 0), 5);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);

	/* SOA: two names and exactly 20 octets */
	uint8_t soa[26] = {0xc0, 12, 0xc0, 14};
	one_answer(DNS_TYPE_SOA, soa, 24, 24);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	one_answer(DNS_TYPE_SOA, soa, 23, 23);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	one_answer(DNS_TYPE_SOA, soa, 25, 25);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
	one_answer(DNS_TYPE_SOA, soa, 2, 2);
	assert_int_equal(parse_mb(), DNS_PARSE_RDATA);
}

static void test_parse_opt(void **state)
{
	(void)state;
	/* twice */
	mb_hdr(&mb, 7, 0, 1, 0, 0, 2);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_opt(&mb, 1232, 0);
	mb_opt(&mb, 1232, 0);
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);
	assert_string_equal(dns_parse_error_str(DNS_PARSE_OPT), "opt");
	/* in the answer, in the authority */
	mb_hdr(&mb, 7, 0, 1, 1, 0, 0);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_opt(&mb, 1232, 0);
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);
	mb_hdr(&mb, 7, 0, 1, 0, 1, 0);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_opt(&mb, 1232, 0);
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);
	/* owned by something else than the root */
	mb_hdr(&mb, 7, 0, 1, 0, 0, 1);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_ptr(&mb, 12);
	mb_u16(&mb, DNS_TYPE_OPT);
	mb_u16(&mb, 1232);
	mb_u32(&mb, 0);
	mb_u16(&mb, 0);
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);

	/* options: {code, length, data} filling the rdata exactly */
	mb_hdr(&mb, 7, 0, 1, 0, 0, 1);
	mb_question(&mb, "a", DNS_TYPE_A);
	ADD(&mb, 0);
	mb_u16(&mb, DNS_TYPE_OPT);
	mb_u16(&mb, 1232);
	mb_u32(&mb, 0);
	size_t rdlen_at = mb.n;
	mb_u16(&mb, 16);
	ADD(&mb, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8); /* cookie, 8 octets */
	ADD(&mb, 0, 12, 0, 0);			       /* padding, empty */
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_int_equal(msg.opt_len, 11 + 16);
	mb.b[rdlen_at + 1] = 15; /* the padding's header cut (3 of 4) */
	mb.n--;
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);
	mb.b[rdlen_at + 1] = 14; /* the padding's code alone */
	mb.n--;
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);
	mb.b[rdlen_at + 1] = 12; /* the first option claims 9 */
	mb.n -= 2;
	mb.b[mb.n - 9] = 9;
	assert_int_equal(parse_mb(), DNS_PARSE_OPT);
	mb.b[mb.n - 9] = 8;
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
}

static void test_parse_extended_rcode(void **state)
{
	(void)state;
	/* BADVERS: 16 = header 0, extended 1 (RFC 6891 6.1.3) */
	mb_hdr(&mb, 7, 0x8180, 1, 0, 0, 1);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_opt(&mb, 1232, 0x01000000);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_int_equal(msg.rcode, DNS_RCODE_BADVERS);
	mb_hdr(&mb, 7, 0x8183, 1, 0, 0, 1);
	mb_question(&mb, "a", DNS_TYPE_A);
	mb_opt(&mb, 1232, 0xff008000);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_int_equal(msg.rcode, 0xff3);
	assert_int_equal(msg.edns_flags, DNS_EDNS_DO);
	/* no OPT: the header's 4 bits */
	mb_hdr(&mb, 7, 0x8183, 1, 0, 0, 0);
	mb_question(&mb, "a", DNS_TYPE_A);
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	assert_int_equal(msg.rcode, DNS_RCODE_NXDOMAIN);
}

/* ---- A real response ---- */

/* www.example.com A -> CNAME cdn.example.com (compressed against the
 * question), cdn.example.com A 203.0.113.7 (owner pointing into the
 * CNAME's rdata), as unbound would send it. */
/* clang-format off */
static const uint8_t cname_response[] = {
	0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	/* 12: question */
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0, 1, 0, 1,
	/* 33: www.example.com CNAME, TTL 300, rdlength 6 */
	0xc0, 12, 0, 5, 0, 1, 0, 0, 0x01, 0x2c, 0, 6,
	/* 45: cdn + pointer to example.com at 16 */
	3, 'c', 'd', 'n', 0xc0, 16,
	/* 51: cdn.example.com A, TTL 60, 203.0.113.7 */
	0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
	203, 0, 113, 7,
};
/* clang-format on */

static void test_real_response(void **state)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name n;
	uint8_t x[64];

	(void)state;
	assert_int_equal(dns_msg_parse(&msg, cname_response, sizeof(cname_response), NULL), 0);
	assert_int_equal(msg.id, 0xbeef);
	assert_int_equal(msg.flags, 0x8180);
	assert_int_equal(msg.ancount, 2);
	assert_int_equal(msg.question_end, 33);
	assert_int_equal(msg.sec_off[0], 33);
	assert_int_equal(msg.sec_off[1], 67);
	assert_int_equal(msg.sec_off[2], 67);
	assert_false(msg.edns);

	dns_rr_iter_init(&it, &msg);
	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_name(&rr.name, "www.example.com.");
	assert_int_equal(rr.type, DNS_TYPE_CNAME);
	assert_int_equal(rr.class, DNS_CLASS_IN);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(rr.rdlen, 6);
	assert_int_equal(rr.off, 33);
	assert_int_equal(rr.ttl_off, 39);
	assert_int_equal(rr.rdata_off, 45);
	assert_int_equal(rr.section, DNS_SEC_ANSWER);
	assert_int_equal(dns_rdata_name(&msg, &rr, &n), 0);
	assert_name(&n, "cdn.example.com.");
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, sizeof(x)), 17);
	assert_bytes(x, 3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0);
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, 16), -ENOSPC);
	uint32_t min;
	assert_int_equal(dns_soa_minimum(&msg, &rr, &min), -EBADMSG);

	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_name(&rr.name, "cdn.example.com.");
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.ttl, 60);
	assert_int_equal(rr.off, 51);
	assert_int_equal(rr.ttl_off, 57);
	assert_int_equal(rr.rdata_off, 63);
	assert_int_equal(rr.rdlen, 4);
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, sizeof(x)), 4);
	assert_bytes(x, 203, 0, 113, 7);
	assert_int_equal(dns_rdata_name(&msg, &rr, &n), -EBADMSG);

	assert_int_equal(dns_rr_next(&it, &rr), 0);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
}

/* example.com MX 10 mx.example.com, SOA ns1.example.com
 * hostmaster.example.com in authority, both compressed. */
static void mx_soa_response(void)
{
	mb_hdr(&mb, 9, 0x8180, 1, 1, 1, 0);
	mb_question(&mb, "example.com", DNS_TYPE_MX); /* 12..24, 25..28 */
	mb_ptr(&mb, 12);			      /* 29 */
	mb_rr_fixed(&mb, DNS_TYPE_MX, 3600, 7);
	ADD(&mb, 0, 10, 2, 'm', 'x'); /* 41 */
	mb_ptr(&mb, 12);
	mb_ptr(&mb, 12); /* 48 */
	mb_rr_fixed(&mb, DNS_TYPE_SOA, 300, 4 + 2 + 11 + 2 + 20);
	ADD(&mb, 3, 'n', 's', '1'); /* 60 */
	mb_ptr(&mb, 12);
	ADD(&mb, 10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r');
	mb_ptr(&mb, 12);
	mb_u32(&mb, 2024010101);
	mb_u32(&mb, 7200);
	mb_u32(&mb, 3600);
	mb_u32(&mb, 1209600);
	mb_u32(&mb, 300);
}

static void test_rdata_expand(void **state)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name n;
	uint8_t x[128];
	uint32_t min;

	(void)state;
	mx_soa_response();
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	dns_rr_iter_init(&it, &msg);
	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_int_equal(rr.type, DNS_TYPE_MX);
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, sizeof(x)), 2 + 16);
	assert_bytes(x, 0, 10, 2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0);
	assert_int_equal(dns_rdata_name(&msg, &rr, &n), 0);
	assert_name(&n, "mx.example.com.");
	char text[128];
	dns_rdata_to_text(rr.type, x, 18, text, sizeof(text));
	assert_string_equal(text, "10 mx.example.com.");

	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_int_equal(rr.type, DNS_TYPE_SOA);
	assert_int_equal(rr.section, DNS_SEC_AUTHORITY);
	int len = dns_rdata_expand(&msg, &rr, x, sizeof(x));
	assert_int_equal(len, 17 + 24 + 20);
	assert_bytes(x, 3, 'n', 's', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 10, 'h',
		     'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3,
		     'c', 'o', 'm', 0, 0x78, 0xa3, 0xf1, 0x75, 0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0x12,
		     0x75, 0, 0, 0, 1, 0x2c);
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, 60), -ENOSPC);
	assert_int_equal(dns_rdata_name(&msg, &rr, &n), 0);
	assert_name(&n, "ns1.example.com.");
	assert_int_equal(dns_soa_minimum(&msg, &rr, &min), 0);
	assert_int_equal(min, 300);
	assert_int_equal(dns_rr_next(&it, &rr), 0);

	/* an RR that does not belong to the message it is given with */
	rr.rdata_off = mb.n - 2;
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, sizeof(x)), -EBADMSG);
	assert_int_equal(dns_soa_minimum(&msg, &rr, &min), -EBADMSG);
	rr.type = 99;
	assert_int_equal(dns_rdata_expand(&msg, &rr, x, sizeof(x)), -EBADMSG);
}

/* ---- Writing ---- */

static void test_writer_exact_bytes(void **state)
{
	struct dns_name www = name("www.example.com"), cdn = name("cdn.example.com");

	(void)state;
	dns_writer_init(&dw, out, sizeof(out), 0xbeef, 0x8180);
	dns_put_question(&dw, &www, DNS_TYPE_A, DNS_CLASS_IN);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &www, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, cdn.b, cdn.len);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &cdn, DNS_TYPE_A, DNS_CLASS_IN, 60, LIT(203, 0, 113, 7), 4);
	int len = dns_writer_finish(&dw);
	assert_int_equal(len, sizeof(cname_response));
	assert_memory_equal(out, cname_response, sizeof(cname_response));
	assert_int_equal(dw.nttl, 2);
	assert_int_equal(dw.ttl_off[0], 39);
	assert_int_equal(dw.ttl_off[1], 57);
	assert_false(dw.ttl_overflow);
	assert_int_equal(dw.counts[0], 1);
	assert_int_equal(dw.counts[1], 2);
	/* the question's three label sequences and the CNAME target's first label */
	assert_int_equal(dw.ncpos, 4);
}

static void test_writer_case_and_suffixes(void **state)
{
	struct dns_name q = name("example.com"), mx = name("MX.Example.COM"),
			other = name("mail.example.net");
	uint8_t rd[64];

	(void)state;
	dns_writer_init(&dw, out, sizeof(out), 1, 0x8400);
	dns_put_question(&dw, &q, DNS_TYPE_MX, DNS_CLASS_IN);
	/* owner in another case: still a pointer to 12 */
	struct dns_name upper = name("EXAMPLE.COM");
	rd[0] = 0, rd[1] = 10;
	memcpy(rd + 2, mx.b, mx.len);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &upper, DNS_TYPE_MX, DNS_CLASS_IN, 3600, rd, 2u + mx.len);
	rd[1] = 20;
	memcpy(rd + 2, other.b, other.len);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_MX, DNS_CLASS_IN, 3600, rd, 2u + other.len);
	/* the first MX's target again: a pointer to where it was written */
	dns_put_rr(&dw, DNS_SEC_ADDITIONAL, &mx, DNS_TYPE_A, DNS_CLASS_IN, 60, LIT(10, 0, 0, 25), 4);
	int len = dns_writer_finish(&dw);
	assert_true(len > 0);
	/* clang-format off */
	static const uint8_t want[] = {
		0, 1, 0x84, 0, 0, 1, 0, 2, 0, 0, 0, 1,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 15, 0, 1,
		/* 29 */
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 7,
		0, 10, 2, 'M', 'X', 0xc0, 12,
		/* 48: nothing of example.net was written before */
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 20,
		0, 20, 4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0,
		/* 80: mx.example.com at 43 */
		0xc0, 43, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 25,
	};
	/* clang-format on */
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	/* and back: the parser reads what the writer wrote */
	assert_int_equal(dns_msg_parse(&msg, out, (size_t)len, NULL), 0);
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name n;
	dns_rr_iter_init(&it, &msg);
	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_int_equal(dns_rdata_name(&msg, &rr, &n), 0);
	assert_true(dns_name_equal(&n, &mx));
	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_int_equal(dns_rdata_name(&msg, &rr, &n), 0);
	assert_true(dns_name_equal(&n, &other));
	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_int_equal(rr.section, DNS_SEC_ADDITIONAL);
	assert_true(dns_name_equal(&rr.name, &mx));
	assert_int_equal(rr.ttl_off, dw.ttl_off[2]);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
}

static void test_writer_rdata_kinds(void **state)
{
	struct dns_name q = name("example.com"), t = name("www.example.com");
	uint8_t rd[64], soa[128];

	(void)state;
	dns_writer_init(&dw, out, sizeof(out), 1, 0x8400);
	dns_put_question(&dw, &q, DNS_TYPE_ANY, DNS_CLASS_IN); /* 12..28 */
	/* SRV: copied as it is (RFC 2782: no compression) */
	memcpy(rd, LIT(0, 1, 0, 2, 0x01, 0xbb), 6);
	memcpy(rd + 6, t.b, t.len);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_SRV, DNS_CLASS_IN, 1, rd, 6u + t.len);
	assert_int_equal(dw.w.pos, 29 + 12 + 23);
	assert_memory_equal(out + 41, rd, 23);
	/* DNAME: copied */
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_DNAME, DNS_CLASS_IN, 1, t.b, t.len);
	assert_int_equal(dw.w.pos, 64 + 12 + 17);
	assert_memory_equal(out + 76, t.b, 17);
	/* NS: compressed; a name inside an SRV is never pointed to */
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_NS, DNS_CLASS_IN, 1, t.b, t.len);
	assert_bytes(out + 93 + 10, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12);
	/* SOA: both names compressed, the 20 octets after them as given */
	size_t n = 0;
	memcpy(soa, t.b, t.len), n += t.len;
	memcpy(soa + n, q.b, q.len), n += q.len;
	for (int i = 0; i < 20; i++)
		soa[n++] = (uint8_t)i;
	dns_put_rr(&dw, DNS_SEC_AUTHORITY, &q, DNS_TYPE_SOA, DNS_CLASS_IN, 1, soa, n);
	assert_bytes(out + 111 + 10, 0, 24, 0xc0, 105, 0xc0, 12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
		     14, 15, 16, 17, 18, 19);
	/* an MX whose rdata is not an MX's: copied, not misread */
	dns_put_rr(&dw, DNS_SEC_AUTHORITY, &q, DNS_TYPE_MX, DNS_CLASS_IN, 1, LIT(0, 10, 5, 'a'), 4);
	assert_bytes(out + 147 + 10, 0, 4, 0, 10, 5, 'a');
	int len = dns_writer_finish(&dw);
	assert_int_equal(len, 163);
	assert_int_equal(dw.nttl, 5);
	assert_int_equal(dw.ttl_off[4], 147 + 6);
	/* the malformed MX is written as given; the parser refuses it */
	enum dns_parse_error why;
	assert_int_equal(dns_msg_parse(&msg, out, (size_t)len, &why), -EBADMSG);
	assert_int_equal(why, DNS_PARSE_RDATA);
	assert_int_equal(dns_msg_parse(&msg, out, 147, &why), -EBADMSG);
	assert_int_equal(why, DNS_PARSE_TRUNCATED);
}

static void test_writer_opt_rcode(void **state)
{
	struct dns_name q = name("example.com");

	(void)state;
	dns_writer_init(&dw, out, sizeof(out), 0x4242, DNS_F_QR | DNS_F_RD);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	dns_writer_set_rcode(&dw, DNS_RCODE_BADVERS);
	dns_put_opt(&dw, 1232, DNS_RCODE_BADVERS, DNS_EDNS_DO);
	int len = dns_writer_finish(&dw);
	assert_int_equal(len, 29 + 11);
	assert_bytes(out, 0x42, 0x42, 0x81, 0x00, 0, 1, 0, 0, 0, 0, 0, 1);
	assert_bytes(out + 29, 0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 0);
	assert_int_equal(dw.nttl, 0); /* OPT's TTL is not a TTL */
	assert_int_equal(dns_msg_parse(&msg, out, (size_t)len, NULL), 0);
	assert_int_equal(msg.rcode, DNS_RCODE_BADVERS);
	assert_int_equal(msg.edns_udp, 1232);
	assert_int_equal(msg.edns_flags, DNS_EDNS_DO);
	assert_int_equal(msg.opt_off, 29);

	dns_writer_init(&dw, out, sizeof(out), 1, DNS_F_QR | DNS_F_RCODE);
	dns_writer_set_rcode(&dw, DNS_RCODE_NXDOMAIN);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	dns_put_opt(&dw, 512, 0x123, 0);
	len = dns_writer_finish(&dw);
	assert_int_equal(dns_msg_parse(&msg, out, (size_t)len, NULL), 0);
	assert_int_equal(msg.flags, DNS_F_QR | DNS_RCODE_NXDOMAIN);
	assert_int_equal(msg.rcode, 0x123);
}

static void test_writer_nospace(void **state)
{
	struct dns_name q = name("www.example.com");

	(void)state;
	/* the question does not fit */
	dns_writer_init(&dw, out, 32, 1, 0);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
	/* exactly fits */
	dns_writer_init(&dw, out, 33, 1, 0);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(dns_writer_finish(&dw), 33);
	/* an RR one octet short */
	dns_writer_init(&dw, out, 33 + 15, 1, 0);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, 5, LIT(10, 1, 2, 3), 4);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
	/* not even a header */
	dns_writer_init(&dw, out, 5, 1, 0);
	dns_writer_set_rcode(&dw, 2);
	dns_put_opt(&dw, 512, 0, 0);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
	/* sections out of order: nothing usable either */
	dns_writer_init(&dw, out, sizeof(out), 1, 0);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	dns_put_opt(&dw, 512, 0, 0);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, 5, LIT(10, 1, 2, 3), 4);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
	dns_writer_init(&dw, out, sizeof(out), 1, 0);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, 5, LIT(10, 1, 2, 3), 4);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
}

static void test_writer_limits(void **state)
{
	struct dns_name q = name("example"), late = name("late.example"), far = name("far.test");
	static uint8_t big[20000];

	(void)state;
	/* TTL offsets: 256 kept, then the overflow flag */
	dns_writer_init(&dw, out, sizeof(out), 1, 0);
	dns_put_question(&dw, &q, DNS_TYPE_A, DNS_CLASS_IN);
	for (int i = 0; i < 257; i++)
		dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_A, DNS_CLASS_IN, (uint32_t)i, LIT(10, 0, 0, 1),
			   4);
	assert_int_equal(dns_writer_finish(&dw), 25 + 257 * 16);
	assert_int_equal(dw.nttl, DNS_WRITER_TTLS);
	assert_true(dw.ttl_overflow);
	assert_int_equal(dw.ttl_off[255], 25 + 255 * 16 + 6);
	assert_int_equal(out[dw.ttl_off[255] + 3], 255);

	/* pointers reach 0x3fff at most (RFC 1035 4.1.4) */
	dns_writer_init(&dw, out, sizeof(out), 1, 0);
	dns_put_question(&dw, &q, DNS_TYPE_TXT, DNS_CLASS_IN);
	memset(big, 'x', sizeof(big));
	dns_put_rr(&dw, DNS_SEC_ANSWER, &q, DNS_TYPE_TXT, DNS_CLASS_IN, 1, big, sizeof(big) - 32);
	size_t at = dw.w.pos;
	assert_true(at > 0x4000);
	dns_put_rr(&dw, DNS_SEC_ANSWER, &late, DNS_TYPE_A, DNS_CLASS_IN, 1, LIT(10, 0, 0, 1), 4);
	/* the new label is written, its suffix is a pointer back to 12 */
	assert_bytes(out + at, 4, 'l', 'a', 't', 'e', 0xc0, 12);
	size_t at2 = dw.w.pos;
	dns_put_rr(&dw, DNS_SEC_ANSWER, &late, DNS_TYPE_A, DNS_CLASS_IN, 1, LIT(10, 0, 0, 2), 4);
	/* "late" sits past 0x3fff: nothing can point there */
	assert_bytes(out + at2, 4, 'l', 'a', 't', 'e', 0xc0, 12);
	size_t at3 = dw.w.pos;
	dns_put_rr(&dw, DNS_SEC_ANSWER, &far, DNS_TYPE_A, DNS_CLASS_IN, 1, LIT(10, 0, 0, 3), 4);
	assert_bytes(out + at3, 3, 'f', 'a', 'r', 4, 't', 'e', 's', 't', 0);
	int len = dns_writer_finish(&dw);
	assert_true(len > 0);
	assert_int_equal(dns_msg_parse(&msg, out, (size_t)len, NULL), 0);
	assert_int_equal(msg.ancount, 4);

	/* remembered positions stop at DNS_COMPRESS_MAX */
	dns_writer_init(&dw, out, sizeof(out), 1, 0);
	for (int i = 0; i < 200; i++) {
		char text[32];
		struct dns_name n;
		snprintf(text, sizeof(text), "h%d", i);
		assert_int_equal(dns_name_from_text(&n, text), 0);
		dns_put_rr(&dw, DNS_SEC_ANSWER, &n, DNS_TYPE_A, DNS_CLASS_IN, 1, LIT(10, 0, 0, 3), 4);
	}
	assert_int_equal(dw.ncpos, DNS_COMPRESS_MAX);
	assert_true(dns_writer_finish(&dw) > 0);
}

/* The writer takes what the parser gives: a real response re-written RR
 * by RR from expanded rdata comes out byte for byte the same. */
static void test_round_trip(void **state)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	uint8_t x[DNS_NAME_MAX * 2 + 64];

	(void)state;
	mx_soa_response();
	assert_int_equal(parse_mb(), DNS_PARSE_OK);
	dns_writer_init(&dw, out, sizeof(out), msg.id, msg.flags);
	dns_put_question(&dw, &msg.qname, msg.qtype, msg.qclass);
	dns_rr_iter_init(&it, &msg);
	while (dns_rr_next(&it, &rr) == 1) {
		int n = dns_rdata_expand(&msg, &rr, x, sizeof(x));
		assert_true(n > 0);
		dns_put_rr(&dw, rr.section, &rr.name, rr.type, rr.class, rr.ttl, x, (size_t)n);
	}
	int len = dns_writer_finish(&dw);
	assert_int_equal(len, mb.n);
	assert_memory_equal(out, mb.b, mb.n);
	assert_int_equal(dw.nttl, 2);
	assert_int_equal(dw.ttl_off[0], 29 + 6);
	assert_int_equal(dw.ttl_off[1], 48 + 6);
}

/* ---- Text ---- */

static void to_text(uint16_t type, const uint8_t *rd, size_t n, const char *want)
{
	char buf[512];

	memset(buf, 0x55, sizeof(buf));
	dns_rdata_to_text(type, rd, n, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_rdata_to_text(void **state)
{
	struct dns_name ns = name("ns.example"), t = name("www.Example.com");
	uint8_t rd[128];

	(void)state;
	to_text(DNS_TYPE_A, BYTES(203, 0, 113, 7), "203.0.113.7");
	to_text(DNS_TYPE_A, BYTES(203, 0, 113), "\\# 3 cb0071");
	to_text(DNS_TYPE_AAAA, BYTES(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), "2001:db8::1");
	to_text(DNS_TYPE_NS, ns.b, ns.len, "ns.example.");
	to_text(DNS_TYPE_CNAME, ns.b, ns.len, "ns.example.");
	to_text(DNS_TYPE_PTR, ns.b, ns.len, "ns.example.");
	to_text(DNS_TYPE_DNAME, ns.b, ns.len, "ns.example.");
	to_text(DNS_TYPE_NS, ns.b, ns.len - 1u, "\\# 11 026e73076578616d706c65");
	to_text(DNS_TYPE_CNAME, BYTES(0xc0, 12), "\\# 2 c00c");
	rd[0] = 0, rd[1] = 10;
	memcpy(rd + 2, t.b, t.len);
	to_text(DNS_TYPE_MX, rd, 2u + t.len, "10 www.Example.com.");
	to_text(DNS_TYPE_MX, BYTES(0), "\\# 1 00");
	memcpy(rd, LIT(0, 10, 0, 20, 0x01, 0xbb), 6);
	memcpy(rd + 6, t.b, t.len);
	to_text(DNS_TYPE_SRV, rd, 6u + t.len, "10 20 443 www.Example.com.");
	size_t n = 0;
	memcpy(rd, ns.b, ns.len), n += ns.len;
	memcpy(rd + n, t.b, t.len), n += t.len;
	memcpy(rd + n, BYTES(0x78, 0xa3, 0xf1, 0x75, 0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0x12, 0x75, 0, 0,
			     0, 1, 0x2c));
	n += 20;
	to_text(DNS_TYPE_SOA, rd, n, "ns.example. www.Example.com. 2024010101 7200 3600 1209600 300");
	to_text(DNS_TYPE_TXT, BYTES(5, 'h', 'e', 'l', 'l', 'o', 0, 7, 'a', '"', 'b', '\\', 'c', 7, 0xe9),
		"\"hello\" \"\" \"a\\\"b\\\\c\\007\\233\"");
	to_text(DNS_TYPE_TXT, BYTES(5, 'h', 'e'), "\\# 3 056865");
	to_text(DNS_TYPE_TXT, NULL, 0, "\\# 0");
	to_text(99, BYTES(1, 0xab), "\\# 2 01ab");
	to_text(DNS_TYPE_HTTPS, NULL, 0, "\\# 0");

	/* never past CAP, always terminated */
	char small[9];
	memset(small, 0x55, sizeof(small));
	dns_rdata_to_text(DNS_TYPE_SOA, rd, n, small, 8);
	assert_string_equal(small, "ns.exam");
	assert_int_equal((uint8_t)small[8], 0x55);
	dns_rdata_to_text(99, rd, n, small, 8);
	assert_string_equal(small, "\\# 49 0");
	dns_rdata_to_text(DNS_TYPE_AAAA, BYTES(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
			  small, 4);
	assert_string_equal(small, "200");
	dns_rdata_to_text(DNS_TYPE_A, BYTES(10, 0, 0, 1), small, 1);
	assert_string_equal(small, "");
	small[0] = 'z';
	dns_rdata_to_text(DNS_TYPE_A, BYTES(10, 0, 0, 1), small, 0);
	assert_int_equal(small[0], 'z');
}

static void test_type_str(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(dns_type_str(DNS_TYPE_A, buf), "A");
	assert_string_equal(dns_type_str(DNS_TYPE_AAAA, buf), "AAAA");
	assert_string_equal(dns_type_str(DNS_TYPE_HTTPS, buf), "HTTPS");
	assert_string_equal(dns_type_str(DNS_TYPE_OPT, buf), "OPT");
	assert_string_equal(dns_type_str(65534, buf), "TYPE65534");
	assert_string_equal(dns_type_str(0, buf), "TYPE0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_from_text),
		cmocka_unit_test(test_name_text_limits),
		cmocka_unit_test(test_name_to_text),
		cmocka_unit_test(test_name_ops),
		cmocka_unit_test(test_name_equal_every_byte),
		cmocka_unit_test(test_name_parent_suffix),
		cmocka_unit_test(test_name_read),
		cmocka_unit_test(test_name_read_hostile),
		cmocka_unit_test(test_parse_query),
		cmocka_unit_test(test_parse_questions),
		cmocka_unit_test(test_parse_short_and_counts),
		cmocka_unit_test(test_parse_rdata_rules),
		cmocka_unit_test(test_parse_opt),
		cmocka_unit_test(test_parse_extended_rcode),
		cmocka_unit_test(test_real_response),
		cmocka_unit_test(test_rdata_expand),
		cmocka_unit_test(test_writer_exact_bytes),
		cmocka_unit_test(test_writer_case_and_suffixes),
		cmocka_unit_test(test_writer_rdata_kinds),
		cmocka_unit_test(test_writer_opt_rcode),
		cmocka_unit_test(test_writer_nospace),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rdata_to_text),
		cmocka_unit_test(test_type_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
