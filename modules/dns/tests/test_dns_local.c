/* test_dns_local.c — local answers (dns_local.c): the local domain from the names table, PTR, the RFC 6303
 * reverse zones, localhost. and invalid. Each query is built with the writer, parsed with dns_msg_parse(),
 * answered, and the response parsed again and rendered as text, so every record, TTL and rcode is checked
 * exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_local.h"
#include "names.h"

#define T0 1700000000
#define ID 0x4a5b
#define SOA_TAIL " 60 SOA localhost. nobody.invalid. 1 3600 1200 604800 60"

static struct gw_names *tbl;
static struct dns_name home, lan;

/* ---- helpers ---- */

struct resp {
	uint8_t qbuf[512];
	int qlen;
	struct dns_msg q;
	uint8_t buf[4096];
	int ret; /* dns_local_answer */
	int len; /* dns_writer_finish */
	struct dns_msg m;
	char text
		[8192]; /* the answer, authority and additional sections, one RR a line, sorted per section */
};

static struct dns_name name_of(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void add(const char *name, const char *addr, enum gw_name_source src, time_t expires)
{
	assert_int_equal(gw_names_add(tbl, name, ip(addr), src, expires), 0);
}

/* A query as a client sends it: ID, RD, one question spelt as NAME. */
static void build_query(struct resp *r, const char *name, uint16_t type, uint16_t class)
{
	struct dns_writer dw;
	struct dns_name n = name_of(name);
	enum dns_parse_error why;

	dns_writer_init(&dw, r->qbuf, sizeof(r->qbuf), ID, DNS_F_RD);
	dns_put_question(&dw, &n, type, class);
	r->qlen = dns_writer_finish(&dw);
	assert_true(r->qlen > DNS_HDR_LEN);
	assert_int_equal(dns_msg_parse(&r->q, r->qbuf, (size_t)r->qlen, &why), 0);
}

struct line {
	int sec;
	char s[2 * DNS_NAME_TEXT_MAX + 64];
};

static int line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	return x->sec != y->sec ? x->sec - y->sec : strcmp(x->s, y->s);
}

/* "AN owner ttl TYPE rdata" lines; within a section sorted, so the names table's order does not matter. */
static void render(struct resp *r)
{
	static const char *const tag[] = {"AN", "NS", "AR"};
	static struct line lines[64];
	static uint8_t rd[DNS_RDATA_EXPANDED_MAX];
	struct dns_rr_iter it;
	struct dns_rr rr;
	size_t n = 0, off = 0;
	int rc;

	dns_rr_iter_init(&it, &r->m);
	while ((rc = dns_rr_next(&it, &rr)) == 1) {
		char owner[DNS_NAME_TEXT_MAX], data[1024], tb[16];
		int len = dns_rdata_expand(&r->m, &rr, rd, sizeof(rd));

		assert_true(len >= 0);
		assert_true(n < 64);
		dns_name_to_text(&rr.name, owner);
		dns_rdata_to_text(rr.type, rd, (size_t)len, data, sizeof(data));
		assert_int_equal(rr.class, DNS_CLASS_IN);
		lines[n].sec = (int)rr.section;
		snprintf(lines[n].s, sizeof(lines[n].s), "%s %s %u %s %s", tag[rr.section], owner, rr.ttl,
			 dns_type_str(rr.type, tb), data);
		n++;
	}
	assert_int_equal(rc, 0);
	qsort(lines, n, sizeof(lines[0]), line_cmp);
	r->text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		off += (size_t)snprintf(r->text + off, sizeof(r->text) - off, "%s%s", i ? "\n" : "",
					lines[i].s);
		assert_true(off < sizeof(r->text));
	}
}

/* Ask LD/now about NAME TYPE; on an answer, check what every response carries: the ID, QR AA RA and the
 * client's RD, one question that is the client's bytes (its case too), and parse and render the rest. */
static int ask_at(struct resp *r, const struct dns_name *ld, const char *name, uint16_t type, time_t now)
{
	struct dns_writer dw;
	enum dns_parse_error why;

	memset(r, 0, sizeof(*r));
	build_query(r, name, type, DNS_CLASS_IN);
	dns_writer_init(&dw, r->buf, sizeof(r->buf), r->q.id, DNS_F_QR | DNS_F_AA | DNS_F_RA | DNS_F_RD);
	r->ret = dns_local_answer(ld, tbl, &r->q, now, &dw);
	if (r->ret == 0) {
		/* DW untouched: only the header is there */
		assert_int_equal(wire_pos(&dw.w), DNS_HDR_LEN);
		assert_int_equal(dw.counts[0] + dw.counts[1] + dw.counts[2] + dw.counts[3], 0);
		return 0;
	}
	assert_int_equal(r->ret, 1);
	r->len = dns_writer_finish(&dw);
	assert_true(r->len > DNS_HDR_LEN);
	assert_int_equal(dns_msg_parse(&r->m, r->buf, (size_t)r->len, &why), 0);
	assert_int_equal(r->m.id, ID);
	assert_int_equal(r->m.flags & ~DNS_F_RCODE, DNS_F_QR | DNS_F_AA | DNS_F_RA | DNS_F_RD);
	assert_int_equal(r->m.qdcount, 1);
	assert_int_equal(r->m.question_end, (size_t)r->qlen);
	assert_memory_equal(r->buf + DNS_HDR_LEN, r->qbuf + DNS_HDR_LEN, (size_t)r->qlen - DNS_HDR_LEN);
	assert_false(r->m.edns);
	render(r);
	return 1;
}

static int ask(struct resp *r, const char *name, uint16_t type)
{
	return ask_at(r, &home, name, type, T0);
}

static unsigned rcode(const struct resp *r)
{
	return r->m.flags & DNS_F_RCODE;
}

/* The whole response: rcode, counts, records. */
static void expect(const struct resp *r, unsigned rc, unsigned an, unsigned ns, const char *text)
{
	assert_int_equal(r->ret, 1);
	assert_int_equal(rcode(r), rc);
	assert_int_equal(r->m.ancount, an);
	assert_int_equal(r->m.nscount, ns);
	assert_int_equal(r->m.arcount, 0);
	assert_string_equal(r->text, text);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	(void)state;
	tbl = gw_names_new();
	assert_non_null(tbl);
	home = name_of("home.arpa");
	lan = name_of("lan");
	add("laptop.home.arpa", "192.168.1.10", GW_NAME_STATIC, 0);
	add("multi.home.arpa", "192.168.1.20", GW_NAME_STATIC, 0);
	add("multi.home.arpa", "192.168.1.21", GW_NAME_STATIC, 0);
	add("multi.home.arpa", "192.168.1.20", GW_NAME_HOSTS, 0); /* the same address twice: one record */
	add("phone.home.arpa", "192.168.1.30", GW_NAME_DHCP, T0 + 25);
	add("tablet.home.arpa", "192.168.1.31", GW_NAME_DHCP, T0 + 3600);
	add("mixed.home.arpa", "192.168.1.32", GW_NAME_STATIC, 0);
	add("mixed.home.arpa", "192.168.1.33", GW_NAME_DHCP, T0 + 7);
	add("old.home.arpa", "192.168.1.40", GW_NAME_DHCP, T0);
	add("printer.home.arpa", "192.168.1.50", GW_NAME_STATIC, 0);
	add("print.home.arpa", "192.168.1.50", GW_NAME_DHCP, T0 + 40);
	add("nas.lab.home.arpa", "10.1.2.3", GW_NAME_STATIC, 0);
	add("www.example.net", "198.18.0.5", GW_NAME_STATIC, 0);
	add("pc.lan", "172.20.0.5", GW_NAME_STATIC, 0);
	add("edge.home.arpa", "100.64.0.1", GW_NAME_STATIC, 0);
	add("host.d.home.arpa", "192.168.1.60", GW_NAME_DHCP, T0);
	add("gone.home.arpa", "172.31.5.5", GW_NAME_DHCP, T0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gw_names_free(tbl);
	return 0;
}

/* ---- the local domain ---- */

static void test_a_static(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "laptop.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN laptop.home.arpa. 60 A 192.168.1.10");
	assert_int_equal(r.m.qtype, DNS_TYPE_A);
	assert_int_equal(r.m.qclass, DNS_CLASS_IN);
	/* a final dot changes nothing */
	assert_int_equal(ask(&r, "laptop.home.arpa.", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN laptop.home.arpa. 60 A 192.168.1.10");
}

/* The question and owner names keep the client's spelling (0x20 mixed case, draft-vixie-dnsext-dns0x20). */
static void test_case_kept(void **state)
{
	char text[DNS_NAME_TEXT_MAX];
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "LaPtop.Home.Arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN LaPtop.Home.Arpa. 60 A 192.168.1.10");
	dns_name_to_text(&r.m.qname, text);
	assert_string_equal(text, "LaPtop.Home.Arpa.");
	assert_memory_equal(r.buf + DNS_HDR_LEN,
			    "\x06LaPtop\x04Home\x04"
			    "Arpa\x00",
			    18);

	assert_int_equal(ask(&r, "NOSUCH.HOME.ARPA", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS HOME.ARPA." SOA_TAIL);
	dns_name_to_text(&r.m.qname, text);
	assert_string_equal(text, "NOSUCH.HOME.ARPA.");
}

static void test_a_several(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "multi.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 2, 0,
	       "AN multi.home.arpa. 60 A 192.168.1.20\n"
	       "AN multi.home.arpa. 60 A 192.168.1.21");
}

/* A DHCP name lives no longer than its lease: TTL min(60, expires - now), at least 1; one TTL per RRset
 * (RFC 2181 5.2), the least of its records. */
static void test_a_dhcp_ttl(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "phone.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN phone.home.arpa. 25 A 192.168.1.30");
	assert_int_equal(ask_at(&r, &home, "phone.home.arpa", DNS_TYPE_A, T0 + 24), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN phone.home.arpa. 1 A 192.168.1.30");
	assert_int_equal(ask(&r, "tablet.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN tablet.home.arpa. 60 A 192.168.1.31");
	assert_int_equal(ask_at(&r, &home, "tablet.home.arpa", DNS_TYPE_A, T0 + 3600 - 60), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN tablet.home.arpa. 60 A 192.168.1.31");
	assert_int_equal(ask_at(&r, &home, "tablet.home.arpa", DNS_TYPE_A, T0 + 3600 - 59), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN tablet.home.arpa. 59 A 192.168.1.31");
	assert_int_equal(ask(&r, "mixed.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 2, 0,
	       "AN mixed.home.arpa. 7 A 192.168.1.32\n"
	       "AN mixed.home.arpa. 7 A 192.168.1.33");
}

static void test_a_expired(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask_at(&r, &home, "old.home.arpa", DNS_TYPE_A, T0 - 1), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN old.home.arpa. 1 A 192.168.1.40");
	assert_int_equal(ask(&r, "old.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "40.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	/* one of mixed's two addresses gone: the other stays, with the static TTL */
	assert_int_equal(ask_at(&r, &home, "mixed.home.arpa", DNS_TYPE_A, T0 + 7), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN mixed.home.arpa. 60 A 192.168.1.32");
}

/* RFC 2308 2.2: NODATA is NOERROR, no answer, the SOA in the authority section. */
static void test_nodata(void **state)
{
	static const uint16_t types[] = {DNS_TYPE_AAAA,	 DNS_TYPE_MX,	 DNS_TYPE_TXT,
					 DNS_TYPE_HTTPS, DNS_TYPE_PTR,	 DNS_TYPE_SOA,
					 DNS_TYPE_NS,	 DNS_TYPE_CNAME, 65534};
	struct resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(ask(&r, "laptop.home.arpa", types[i]), 1);
		expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS home.arpa." SOA_TAIL);
		assert_int_equal(r.m.qtype, types[i]);
	}
	assert_int_equal(ask(&r, "Laptop.home.arpa", DNS_TYPE_AAAA), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS home.arpa." SOA_TAIL);
}

static void test_any(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "multi.home.arpa", DNS_TYPE_ANY), 1);
	expect(&r, DNS_RCODE_NOERROR, 2, 0,
	       "AN multi.home.arpa. 60 A 192.168.1.20\n"
	       "AN multi.home.arpa. 60 A 192.168.1.21");
	assert_int_equal(ask(&r, "home.arpa", DNS_TYPE_ANY), 1);
	expect(&r, DNS_RCODE_NOERROR, 2, 0,
	       "AN home.arpa. 60 NS localhost.\n"
	       "AN home.arpa." SOA_TAIL);
}

/* RFC 2308 2.1: NXDOMAIN with the SOA; the local domain never goes upstream. */
static void test_nxdomain(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "nosuch.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "www.google.com.home.arpa", DNS_TYPE_AAAA), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	/* below an existing name */
	assert_int_equal(ask(&r, "x.laptop.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	/* names with escapes are never in the names table */
	assert_int_equal(ask(&r, "lap\\.top.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "lap\\032top.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "laptop\\000.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
}

/* RFC 8020 2: lab.home.arpa has a name below it, so it exists (NODATA), though it has no records. */
static void test_empty_non_terminal(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "lab.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS home.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "nas.lab.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN nas.lab.home.arpa. 60 A 10.1.2.3");
	/* "ab.home.arpa" is a suffix of the text, not of the labels */
	assert_int_equal(ask(&r, "ab.home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
	/* an expired name below does not make a name exist */
	assert_int_equal(ask_at(&r, &home, "d.home.arpa", DNS_TYPE_A, T0 - 1), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS home.arpa." SOA_TAIL);
	assert_int_equal(ask_at(&r, &home, "d.home.arpa", DNS_TYPE_A, T0), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS home.arpa." SOA_TAIL);
}

static void test_apex(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "home.arpa", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN home.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "Home.Arpa", DNS_TYPE_NS), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN Home.Arpa. 60 NS localhost.");
	assert_int_equal(ask(&r, "home.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS home.arpa." SOA_TAIL);
	/* RFC 5936 2.2.1: no transfers */
	assert_int_equal(ask(&r, "home.arpa", DNS_TYPE_AXFR), 1);
	expect(&r, DNS_RCODE_REFUSED, 0, 0, "");
	assert_int_equal(ask(&r, "home.arpa", DNS_TYPE_IXFR), 1);
	expect(&r, DNS_RCODE_REFUSED, 0, 0, "");
}

/* The SOA's bytes, not only its text: MNAME localhost., RNAME nobody.invalid., the five numbers. */
static void test_soa_bytes(void **state)
{
	static const uint8_t soa[] =
		"\x09localhost\x00\x06nobody\x07invalid\x00"
		"\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x04\xb0\x00\x09\x3a\x80\x00\x00\x00\x3c";
	uint8_t rd[512];
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct resp r;
	uint32_t min;

	(void)state;
	assert_int_equal(ask(&r, "nosuch.home.arpa", DNS_TYPE_A), 1);
	dns_rr_iter_init(&it, &r.m);
	assert_int_equal(dns_rr_next(&it, &rr), 1);
	assert_int_equal(rr.section, DNS_SEC_AUTHORITY);
	assert_int_equal(rr.type, DNS_TYPE_SOA);
	assert_int_equal(rr.ttl, DNS_LOCAL_TTL);
	assert_int_equal(dns_rdata_expand(&r.m, &rr, rd, sizeof(rd)), sizeof(soa) - 1);
	assert_memory_equal(rd, soa, sizeof(soa) - 1);
	assert_int_equal(dns_soa_minimum(&r.m, &rr, &min), 0);
	assert_int_equal(min, DNS_LOCAL_TTL);
	assert_int_equal(dns_rr_next(&it, &rr), 0);
}

/* Another local domain: its names answer, home.arpa is then nobody's. */
static void test_other_domain(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask_at(&r, &lan, "pc.lan", DNS_TYPE_A, T0), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN pc.lan. 60 A 172.20.0.5");
	assert_int_equal(ask_at(&r, &lan, "PC.LAN.", DNS_TYPE_AAAA, T0), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS LAN." SOA_TAIL);
	assert_int_equal(ask_at(&r, &lan, "nosuch.lan", DNS_TYPE_A, T0), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS lan." SOA_TAIL);
	assert_int_equal(ask_at(&r, &lan, "lan", DNS_TYPE_SOA, T0), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN lan." SOA_TAIL);
	assert_int_equal(ask_at(&r, &lan, "laptop.home.arpa", DNS_TYPE_A, T0), 0);
	assert_int_equal(ask_at(&r, &lan, "home.arpa", DNS_TYPE_SOA, T0), 0);
	assert_int_equal(ask(&r, "pc.lan", DNS_TYPE_A), 0);
	/* PTR does not depend on the domain */
	assert_int_equal(ask_at(&r, &lan, "10.1.168.192.in-addr.arpa", DNS_TYPE_PTR, T0), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 10.1.168.192.in-addr.arpa. 60 PTR laptop.home.arpa.");
	/* no local domain at all: the built-in zones only */
	assert_int_equal(ask_at(&r, NULL, "laptop.home.arpa", DNS_TYPE_A, T0), 0);
	assert_int_equal(ask_at(&r, NULL, "localhost", DNS_TYPE_A, T0), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN localhost. 60 A 127.0.0.1");
}

static void test_not_local(void **state)
{
	static const char *const names[] = {
		"www.example.com",
		"example.com.",
		"xhome.arpa",
		"home.arpa.example",
		"arpa",
		"in-addr.arpa",
		"ip6.arpa",
		"192.in-addr.arpa",
		"172.in-addr.arpa",
		"15.172.in-addr.arpa",
		"32.172.in-addr.arpa",
		"1.2.3.4.in-addr.arpa",
		"100.in-addr.arpa",
		"63.100.in-addr.arpa",
		"128.100.in-addr.arpa",
		"18.198.in-addr.arpa",
		"5.0.19.198.in-addr.arpa",
		"8.e.f.ip6.arpa.com",
		"c.e.f.ip6.arpa",
		"e.f.ip6.arpa",
		"9.b.d.0.1.0.0.2.ip6.arpa",
		"localhostx",
		"localhost.com",
		"invalid.example",
		"test",
		"foo.test",
		"local",
		".",
	};
	struct resp r;
	struct dns_name n;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = name_of(names[i]);
		assert_false(dns_local_covers(&home, &n));
		assert_int_equal(ask(&r, names[i], DNS_TYPE_A), 0);
		assert_int_equal(ask(&r, names[i], DNS_TYPE_PTR), 0);
	}
	/* another class is the caller's business */
	memset(&r, 0, sizeof(r));
	build_query(&r, "laptop.home.arpa", DNS_TYPE_A, DNS_CLASS_CH);
	struct dns_writer dw;
	dns_writer_init(&dw, r.buf, sizeof(r.buf), ID, DNS_F_QR | DNS_F_AA);
	assert_int_equal(dns_local_answer(&home, tbl, &r.q, T0, &dw), 0);
	assert_int_equal(wire_pos(&dw.w), DNS_HDR_LEN);
}

static void test_covers(void **state)
{
	static const char *const names[] = {
		"home.arpa",
		"laptop.home.arpa",
		"NOSUCH.HOME.ARPA",
		"a.b.c.home.arpa",
		"localhost",
		"foo.localhost",
		"invalid",
		"x.y.invalid",
		"10.in-addr.arpa",
		"1.2.3.10.in-addr.arpa",
		"16.172.in-addr.arpa",
		"31.172.in-addr.arpa",
		"1.0.20.172.in-addr.arpa",
		"168.192.in-addr.arpa",
		"0.in-addr.arpa",
		"127.in-addr.arpa",
		"1.0.0.127.in-addr.arpa",
		"254.169.in-addr.arpa",
		"2.0.192.in-addr.arpa",
		"100.51.198.in-addr.arpa",
		"113.0.203.in-addr.arpa",
		"255.255.255.255.in-addr.arpa",
		"64.100.in-addr.arpa",
		"127.100.in-addr.arpa",
		"1.0.64.100.in-addr.arpa",
		"x.168.192.in-addr.arpa",
		"010.168.192.in-addr.arpa",
		"d.f.ip6.arpa",
		"8.e.f.ip6.arpa",
		"9.e.f.ip6.arpa",
		"a.e.f.ip6.arpa",
		"B.E.F.ip6.arpa",
		"8.b.d.0.1.0.0.2.ip6.arpa",
		"1.8.b.d.0.1.0.0.2.ip6.arpa",
		"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
	};
	static const char *const not_covered[] = {
		/* 198.18.0.0/15, the lab's simulated internet: not in RFC 6303, upstream even with a name */
		"5.0.18.198.in-addr.arpa",
		"9.0.18.198.in-addr.arpa",
		"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
		"2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
		"0.d.f.ip6.arpa.example",
		"f.ip6.arpa",
		"255.255.255.in-addr.arpa",
		"1.0.0.100.in-addr.arpa",
		"1.0.128.100.in-addr.arpa",
	};
	struct dns_name n;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = name_of(names[i]);
		assert_true(dns_local_covers(&home, &n));
	}
	for (size_t i = 0; i < sizeof(not_covered) / sizeof(not_covered[0]); i++) {
		n = name_of(not_covered[i]);
		assert_false(dns_local_covers(&home, &n));
	}
	n = name_of("laptop.home.arpa");
	assert_false(dns_local_covers(&lan, &n));
	assert_false(dns_local_covers(NULL, &n));
	n = name_of("pc.lan");
	assert_true(dns_local_covers(&lan, &n));
}

/* ---- reverse ---- */

static void test_ptr(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "10.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 10.1.168.192.in-addr.arpa. 60 PTR laptop.home.arpa.");
	assert_int_equal(ask(&r, "30.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 30.1.168.192.in-addr.arpa. 25 PTR phone.home.arpa.");
	/* names in the rdata are compressed against the question case-insensitively (as unbound does):
	 * the shared suffix takes the client's spelling, which RFC 4343 allows */
	assert_int_equal(ask(&r, "30.1.168.192.IN-ADDR.ARPA", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 30.1.168.192.IN-ADDR.ARPA. 25 PTR phone.home.ARPA.");
	/* two names for one address, a static and a DHCP one: one RRset, the shorter TTL */
	assert_int_equal(ask(&r, "50.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 2, 0,
	       "AN 50.1.168.192.in-addr.arpa. 40 PTR print.home.arpa.\n"
	       "AN 50.1.168.192.in-addr.arpa. 40 PTR printer.home.arpa.");
	/* one name from two sources: one record */
	assert_int_equal(ask(&r, "20.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 20.1.168.192.in-addr.arpa. 60 PTR multi.home.arpa.");
	assert_int_equal(ask(&r, "20.1.168.192.in-addr.arpa", DNS_TYPE_ANY), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 20.1.168.192.in-addr.arpa. 60 PTR multi.home.arpa.");
	/* 10/8 and 100.64/10 (RFC 7793) */
	assert_int_equal(ask(&r, "3.2.1.10.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 3.2.1.10.in-addr.arpa. 60 PTR nas.lab.home.arpa.");
	assert_int_equal(ask(&r, "1.0.64.100.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 1.0.64.100.in-addr.arpa. 60 PTR edge.home.arpa.");
	/* the PTR's name does not depend on the local domain: pc.lan under home.arpa */
	assert_int_equal(ask(&r, "5.0.20.172.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 5.0.20.172.in-addr.arpa. 60 PTR pc.lan.");
	/* an existing reverse name asked for another type */
	assert_int_equal(ask(&r, "10.1.168.192.in-addr.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
}

/* A private address without a name: NXDOMAIN with the SOA of its RFC 6303 zone. */
static void test_ptr_unknown(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "99.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "4.3.2.1.In-Addr.Arpa.", DNS_TYPE_PTR), 0);
	assert_int_equal(ask(&r, "1.0.16.172.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 16.172.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "9.9.127.100.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 127.100.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "7.6.5.10.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 10.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "1.1.254.169.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 254.169.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "7.100.51.198.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 100.51.198.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "7.113.0.203.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 113.0.203.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "0.0.0.0.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 0.in-addr.arpa." SOA_TAIL);
	/* not an address: leading zeros, a non-digit, over 255, more labels than an address has */
	assert_int_equal(ask(&r, "010.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "256.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "1x.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "x.10.1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
}

/* Apexes answer SOA and NS; between an apex and the addresses a name exists when an entry is below it. */
static void test_reverse_apex(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "168.192.in-addr.arpa", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "168.192.in-addr.arpa", DNS_TYPE_NS), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 168.192.in-addr.arpa. 60 NS localhost.");
	assert_int_equal(ask(&r, "168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "10.in-addr.arpa", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 10.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "255.255.255.255.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 255.255.255.255.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "255.255.255.255.in-addr.arpa", DNS_TYPE_NS), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 255.255.255.255.in-addr.arpa. 60 NS localhost.");
	/* empty non-terminals (RFC 8020 2) */
	assert_int_equal(ask(&r, "1.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "2.1.10.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 10.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "7.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "01.168.192.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 168.192.in-addr.arpa." SOA_TAIL);
	/* only while the entry below lives */
	assert_int_equal(ask_at(&r, &home, "5.31.172.in-addr.arpa", DNS_TYPE_PTR, T0 - 1), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 31.172.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask_at(&r, &home, "5.31.172.in-addr.arpa", DNS_TYPE_PTR, T0), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 31.172.in-addr.arpa." SOA_TAIL);
}

/* A public address a `host` statement maps: answered from the names table, though covers() is false;
 * without an entry it goes upstream. */
static void test_ptr_public(void **state)
{
	struct resp r;
	struct dns_name n;

	(void)state;
	assert_int_equal(ask(&r, "5.0.18.198.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 5.0.18.198.in-addr.arpa. 60 PTR www.example.net.");
	/* no zone of ours there: NODATA without an SOA */
	assert_int_equal(ask(&r, "5.0.18.198.in-addr.arpa", DNS_TYPE_TXT), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 0, "");
	assert_int_equal(ask(&r, "9.0.18.198.in-addr.arpa", DNS_TYPE_PTR), 0);
	n = name_of("9.0.18.198.in-addr.arpa");
	assert_false(dns_local_covers(&home, &n));
	assert_int_equal(ask(&r, "0.18.198.in-addr.arpa", DNS_TYPE_PTR), 0);
	assert_int_equal(ask(&r, "x.5.0.18.198.in-addr.arpa", DNS_TYPE_PTR), 0);
	assert_int_equal(ask(&r, "05.0.18.198.in-addr.arpa", DNS_TYPE_PTR), 0);
}

/* RFC 6761 6.3 (and unbound's defaults): 127.0.0.1 and ::1 are localhost. */
static void test_ptr_loopback(void **state)
{
	static const char v6[] = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa";
	static const char v6any[] =
		"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa";
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "1.0.0.127.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN 1.0.0.127.in-addr.arpa. 60 PTR localhost.");
	assert_int_equal(ask(&r, "1.0.0.127.in-addr.arpa", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS 127.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "2.0.0.127.in-addr.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 127.in-addr.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, v6, DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0,
	       "AN 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. "
	       "60 PTR localhost.");
	assert_int_equal(ask(&r, v6, DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0,
	       "AN 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, v6any, DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1,
	       "NS 0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa." SOA_TAIL);
}

static void test_reverse_v6(void **state)
{
	struct resp r;

	(void)state;
	/* fe80::1 */
	assert_int_equal(ask(&r, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.E.F.ip6.arpa",
			     DNS_TYPE_PTR),
			 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 8.E.F.ip6.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "3.2.1.d.f.ip6.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS d.f.ip6.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "d.f.ip6.arpa", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN d.f.ip6.arpa." SOA_TAIL);
	assert_int_equal(ask(&r, "b.e.f.ip6.arpa", DNS_TYPE_NS), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN b.e.f.ip6.arpa. 60 NS localhost.");
	assert_int_equal(ask(&r, "1.8.b.d.0.1.0.0.2.ip6.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS 8.b.d.0.1.0.0.2.ip6.arpa." SOA_TAIL);
	/* labels that are not one nibble are names below the zone all the same */
	assert_int_equal(ask(&r, "xx.d.f.ip6.arpa", DNS_TYPE_PTR), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS d.f.ip6.arpa." SOA_TAIL);
	/* 2001:db9:: and fc00::/8 are not served */
	assert_int_equal(ask(&r, "1.9.b.d.0.1.0.0.2.ip6.arpa", DNS_TYPE_PTR), 0);
	assert_int_equal(ask(&r, "1.c.f.ip6.arpa", DNS_TYPE_PTR), 0);
}

/* ---- localhost. and invalid. ---- */

static void test_localhost(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "localhost", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN localhost. 60 A 127.0.0.1");
	assert_int_equal(ask(&r, "LocalHost.", DNS_TYPE_AAAA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN LocalHost. 60 AAAA ::1");
	assert_int_equal(ask(&r, "foo.bar.localhost", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN foo.bar.localhost. 60 A 127.0.0.1");
	assert_int_equal(ask(&r, "foo.localhost", DNS_TYPE_ANY), 1);
	expect(&r, DNS_RCODE_NOERROR, 2, 0,
	       "AN foo.localhost. 60 A 127.0.0.1\n"
	       "AN foo.localhost. 60 AAAA ::1");
	assert_int_equal(ask(&r, "localhost", DNS_TYPE_MX), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS localhost." SOA_TAIL);
	assert_int_equal(ask(&r, "foo.localhost", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS localhost." SOA_TAIL);
	assert_int_equal(ask(&r, "localhost", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN localhost." SOA_TAIL);
	assert_int_equal(ask(&r, "localhost", DNS_TYPE_NS), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN localhost. 60 NS localhost.");
}

/* RFC 6761 6.4: nothing under invalid. exists. */
static void test_invalid(void **state)
{
	struct resp r;

	(void)state;
	assert_int_equal(ask(&r, "foo.invalid", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS invalid." SOA_TAIL);
	assert_int_equal(ask(&r, "a.b.invalid.", DNS_TYPE_AAAA), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1, "NS invalid." SOA_TAIL);
	assert_int_equal(ask(&r, "a.b.INVALID.", DNS_TYPE_AAAA), 1);
	expect(&r, DNS_RCODE_NXDOMAIN, 0, 1,
	       "NS INVALID. 60 SOA localhost. nobody.INVALID. 1 3600 1200 604800 60");
	assert_int_equal(ask(&r, "invalid", DNS_TYPE_A), 1);
	expect(&r, DNS_RCODE_NOERROR, 0, 1, "NS invalid." SOA_TAIL);
	assert_int_equal(ask(&r, "invalid", DNS_TYPE_SOA), 1);
	expect(&r, DNS_RCODE_NOERROR, 1, 0, "AN invalid." SOA_TAIL);
}

/* ---- the writer's limits ---- */

/* A buffer too small for the answer: dns_writer_finish() says so, nothing is written past the end. */
static void test_writer_too_small(void **state)
{
	static const size_t caps[] = {0, 8, 12, 20, 33, 40, 60, 64};
	uint8_t buf[128];
	struct dns_writer dw;
	struct resp r;

	(void)state;
	memset(&r, 0, sizeof(r));
	build_query(&r, "multi.home.arpa", DNS_TYPE_A, DNS_CLASS_IN);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		memset(buf, 0xee, sizeof(buf));
		dns_writer_init(&dw, buf, caps[i], ID, DNS_F_QR | DNS_F_AA);
		assert_int_equal(dns_local_answer(&home, tbl, &r.q, T0, &dw), 1);
		assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
		for (size_t j = caps[i]; j < sizeof(buf); j++)
			assert_int_equal(buf[j], 0xee);
	}
	/* the negative answer needs the SOA */
	build_query(&r, "nosuch.home.arpa", DNS_TYPE_A, DNS_CLASS_IN);
	dns_writer_init(&dw, buf, (size_t)r.qlen + 20, ID, DNS_F_QR | DNS_F_AA);
	assert_int_equal(dns_local_answer(&home, tbl, &r.q, T0, &dw), 1);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
	/* just enough room works: header and question 33 bytes, two A records of 16 (owner: a pointer) */
	build_query(&r, "multi.home.arpa", DNS_TYPE_A, DNS_CLASS_IN);
	dns_writer_init(&dw, buf, (size_t)r.qlen + 32, ID, DNS_F_QR | DNS_F_AA);
	assert_int_equal(dns_local_answer(&home, tbl, &r.q, T0, &dw), 1);
	assert_int_equal(dns_writer_finish(&dw), r.qlen + 32);
	dns_writer_init(&dw, buf, (size_t)r.qlen + 31, ID, DNS_F_QR | DNS_F_AA);
	assert_int_equal(dns_local_answer(&home, tbl, &r.q, T0, &dw), 1);
	assert_int_equal(dns_writer_finish(&dw), -ENOSPC);
}

/* The caller adds an OPT after the answer (dns_local.h): the sections stay in order. */
static void test_then_opt(void **state)
{
	struct dns_writer dw;
	struct dns_msg m;
	struct resp r;
	int len;

	(void)state;
	memset(&r, 0, sizeof(r));
	build_query(&r, "nosuch.home.arpa", DNS_TYPE_A, DNS_CLASS_IN);
	dns_writer_init(&dw, r.buf, sizeof(r.buf), ID, DNS_F_QR | DNS_F_AA | DNS_F_RA);
	assert_int_equal(dns_local_answer(&home, tbl, &r.q, T0, &dw), 1);
	dns_put_opt(&dw, 1232, DNS_RCODE_NXDOMAIN, 0);
	len = dns_writer_finish(&dw);
	assert_true(len > 0);
	assert_int_equal(dns_msg_parse(&m, r.buf, (size_t)len, NULL), 0);
	assert_true(m.edns);
	assert_int_equal(m.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(m.nscount, 1);
	assert_int_equal(m.arcount, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_static),
		cmocka_unit_test(test_case_kept),
		cmocka_unit_test(test_a_several),
		cmocka_unit_test(test_a_dhcp_ttl),
		cmocka_unit_test(test_a_expired),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_empty_non_terminal),
		cmocka_unit_test(test_apex),
		cmocka_unit_test(test_soa_bytes),
		cmocka_unit_test(test_other_domain),
		cmocka_unit_test(test_not_local),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_ptr_unknown),
		cmocka_unit_test(test_reverse_apex),
		cmocka_unit_test(test_ptr_public),
		cmocka_unit_test(test_ptr_loopback),
		cmocka_unit_test(test_reverse_v6),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_writer_too_small),
		cmocka_unit_test(test_then_opt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
