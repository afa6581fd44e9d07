/* test_dns_resolve.c — the resolution engine against a DNS tree of fake
 * authoritative servers on 127.0.0.2..9 (all on lo), one libuv loop for
 * both. Each fake serves small zones from a table (referrals with glue,
 * answers, CNAMEs, NODATA for empty non-terminals, NXDOMAIN with SOA), built
 * with dns_writer, over UDP and TCP on one port; per-name behaviours make
 * the bad cases (truncation, spoofed answers, poison in the answer) and
 * per-server ones the others (silence, FORMERR to EDNS). Every query a fake
 * gets is logged, so "answered from the cache" is "no new query". The
 * resolver's upstream port is the fakes' port.
 *
 *   127.0.0.2  .                  test. org. delegated to .3 (glue)
 *   127.0.0.3  test. org.         example.test -> .4, other.test -> .6, old.test -> .5,
 *                                 noglue.test -> ns.example.org (no glue), slow.test -> .8 .9,
 *                                 cyc.test -> ns.cyc.test (no glue: a cycle); example.org -> .7
 *   127.0.0.4  example.test       answers; alias -> www.other.test; loop1 -> loop2.other.test
 *   127.0.0.5  old.test           FORMERR to any query with EDNS
 *   127.0.0.6  other.test
 *   127.0.0.7  example.org noglue.test
 *   127.0.0.8  (never answers)
 *   127.0.0.9  slow.test */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dns_cache.h"
#include "dns_config.h"
#include "dns_resolve.h"
#include "dns_wire.h"
#include "gw.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- zones ---- */

struct zrr {
	const char *name;
	uint16_t type;
	const char *data;
};

struct zone {
	const char *apex;
	struct zrr rrs[24];
};

#define SOA(z)                                                                    \
	{                                                                         \
		z, DNS_TYPE_SOA, "ns." z " hostmaster." z " 1 3600 600 86400 300" \
	}
#define ZTTL 3600

static const struct zone z_root = {
	".",
	{
		{".", DNS_TYPE_SOA, "a.root.test hostmaster.root.test 1 3600 600 86400 300"},
		{"test", DNS_TYPE_NS, "ns.nic.test"},
		{"org", DNS_TYPE_NS, "ns.nic.org"},
		{"ns.nic.test", DNS_TYPE_A, "127.0.0.3"},
		{"ns.nic.org", DNS_TYPE_A, "127.0.0.3"},
	}};
static const struct zone z_test = {"test",
				   {
					   SOA("test"),
					   {"test", DNS_TYPE_NS, "ns.nic.test"},
					   {"ns.nic.test", DNS_TYPE_A, "127.0.0.3"},
					   {"example.test", DNS_TYPE_NS, "ns1.example.test"},
					   {"ns1.example.test", DNS_TYPE_A, "127.0.0.4"},
					   {"other.test", DNS_TYPE_NS, "ns.other.test"},
					   {"ns.other.test", DNS_TYPE_A, "127.0.0.6"},
					   {"old.test", DNS_TYPE_NS, "ns.old.test"},
					   {"ns.old.test", DNS_TYPE_A, "127.0.0.5"},
					   {"noglue.test", DNS_TYPE_NS, "ns.example.org"},
					   {"slow.test", DNS_TYPE_NS, "a.slow.test"},
					   {"slow.test", DNS_TYPE_NS, "b.slow.test"},
					   {"a.slow.test", DNS_TYPE_A, "127.0.0.8"},
					   {"b.slow.test", DNS_TYPE_A, "127.0.0.9"},
					   {"cyc.test", DNS_TYPE_NS, "ns.cyc.test"},
				   }};
static const struct zone z_org = {"org",
				  {
					  SOA("org"),
					  {"example.org", DNS_TYPE_NS, "ns.example.org"},
					  {"ns.example.org", DNS_TYPE_A, "127.0.0.7"},
				  }};
static const struct zone z_example = {"example.test",
				      {
					      SOA("example.test"),
					      {"example.test", DNS_TYPE_NS, "ns1.example.test"},
					      {"ns1.example.test", DNS_TYPE_A, "127.0.0.4"},
					      {"www.example.test", DNS_TYPE_A, "198.51.100.1"},
					      {"alias.example.test", DNS_TYPE_CNAME, "www.other.test"},
					      {"loop1.example.test", DNS_TYPE_CNAME, "loop2.other.test"},
					      {"tc.example.test", DNS_TYPE_A, "198.51.100.4"},
					      {"spoof.example.test", DNS_TYPE_A, "198.51.100.5"},
					      {"evil.example.test", DNS_TYPE_A, "198.51.100.6"},
					      {"x.y.z.example.test", DNS_TYPE_A, "198.51.100.8"},
				      }};
static const struct zone z_old = {"old.test",
				  {
					  SOA("old.test"),
					  {"www.old.test", DNS_TYPE_A, "198.51.100.20"},
				  }};
static const struct zone z_other = {"other.test",
				    {
					    SOA("other.test"),
					    {"www.other.test", DNS_TYPE_A, "198.51.100.2"},
					    {"loop2.other.test", DNS_TYPE_CNAME, "loop1.example.test"},
				    }};
static const struct zone z_exorg = {"example.org",
				    {
					    SOA("example.org"),
					    {"ns.example.org", DNS_TYPE_A, "127.0.0.7"},
				    }};
static const struct zone z_noglue = {"noglue.test",
				     {
					     SOA("noglue.test"),
					     {"www.noglue.test", DNS_TYPE_A, "198.51.100.3"},
				     }};
static const struct zone z_slow = {"slow.test",
				   {
					   SOA("slow.test"),
					   {"www.slow.test", DNS_TYPE_A, "198.51.100.9"},
				   }};

/* ---- fakes ---- */

#define NFAKES 8

struct fake {
	const char *addr;
	const struct zone *zones[3];
	bool drop, formerr_edns;
	uv_udp_t udp;
	uv_tcp_t tcp;
};

static struct fake fakes[NFAKES] = {
	{.addr = "127.0.0.2", .zones = {&z_root}, .drop = false, .formerr_edns = false},
	{.addr = "127.0.0.3", .zones = {&z_test, &z_org}, .drop = false, .formerr_edns = false},
	{.addr = "127.0.0.4", .zones = {&z_example}, .drop = false, .formerr_edns = false},
	{.addr = "127.0.0.5", .zones = {&z_old}, .drop = false, .formerr_edns = true},
	{.addr = "127.0.0.6", .zones = {&z_other}, .drop = false, .formerr_edns = false},
	{.addr = "127.0.0.7", .zones = {&z_exorg, &z_noglue}, .drop = false, .formerr_edns = false},
	{.addr = "127.0.0.8", .zones = {&z_slow}, .drop = true, .formerr_edns = false},
	{.addr = "127.0.0.9", .zones = {&z_slow}, .drop = false, .formerr_edns = false},
};

struct qlog {
	int fake;
	char name[DNS_NAME_TEXT_MAX];
	uint16_t type;
	bool rd, edns, tcp;
};

static struct qlog qlog[4096];
static unsigned nqlog;
static bool fake_queried;

static uv_loop_t loop;
static uint16_t port;

static struct dns_name N(const char *text) {
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

static size_t
rdata_of(const struct zrr *r, uint8_t *out)
{
	struct dns_name a, b;
	char n1[256], n2[256];
	unsigned v[5];

	switch (r->type) {
	case DNS_TYPE_A:
		assert_int_equal(inet_pton(AF_INET, r->data, out), 1);
		return 4;
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
	default: /* NS, CNAME */
		a = N(r->data);
		memcpy(out, a.b, a.len);
		return a.len;
	}
}

static void put_zrr(struct dns_writer *dw, enum dns_section sec, const struct zrr *r)
{
	struct dns_name o = N(r->name);
	uint8_t rd[600];
	size_t n = rdata_of(r, rd);

	dns_put_rr(dw, sec, &o, r->type, DNS_CLASS_IN, ZTTL, rd, n);
}

static bool owner_is(const struct zrr *r, const struct dns_name *n)
{
	struct dns_name o = N(r->name);

	return dns_name_equal(&o, n);
}

static const struct zone *zone_for(const struct fake *f, const struct dns_name *q)
{
	const struct zone *best = NULL;
	unsigned labels = 0;

	for (int i = 0; i < 3 && f->zones[i]; i++) {
		struct dns_name apex = N(f->zones[i]->apex);
		if (dns_name_is_under(q, &apex) && (!best || apex.labels > labels)) {
			best = f->zones[i];
			labels = apex.labels;
		}
	}
	return best;
}

/* The delegation point in Z above or at Q, or NULL. */
static const struct zrr *cut_for(const struct zone *z, const struct dns_name *q)
{
	struct dns_name apex = N(z->apex);

	for (const struct zrr *r = z->rrs; r->name; r++) {
		struct dns_name o = N(r->name);
		if (r->type == DNS_TYPE_NS && o.labels > apex.labels && dns_name_is_under(q, &o))
			return r;
	}
	return NULL;
}

static void put_referral(struct dns_writer *dw, const struct zone *z, const struct zrr *cut)
{
	struct dns_name c = N(cut->name);

	for (const struct zrr *r = z->rrs; r->name; r++)
		if (r->type == DNS_TYPE_NS && owner_is(r, &c))
			put_zrr(dw, DNS_SEC_AUTHORITY, r);
	for (const struct zrr *r = z->rrs; r->name; r++) {
		if (r->type != DNS_TYPE_NS || !owner_is(r, &c))
			continue;
		struct dns_name ns = N(r->data);
		for (const struct zrr *g = z->rrs; g->name; g++)
			if (g->type == DNS_TYPE_A && owner_is(g, &ns))
				put_zrr(dw, DNS_SEC_ADDITIONAL, g);
	}
}

/* Answer Q from Z as an authoritative server does (RFC 1034 4.3.2). True
 * for a referral (no AA). */
static bool authoritative(struct dns_writer *dw, const struct zone *z, struct dns_name q, uint16_t qtype)
{
	struct dns_name apex = N(z->apex);
	const struct zrr *cut;

	for (int hops = 0; hops < 8; hops++) {
		bool exact = false, below = false, cname = false;
		struct dns_name target;

		if ((cut = cut_for(z, &q))) {
			if (hops == 0) {
				put_referral(dw, z, cut);
				return true;
			}
			break;
		}
		for (const struct zrr *r = z->rrs; r->name; r++) {
			struct dns_name o = N(r->name);
			if (dns_name_equal(&o, &q)) {
				exact = true;
				if (r->type == qtype) {
					put_zrr(dw, DNS_SEC_ANSWER, r);
					cname = false;
				} else if (r->type == DNS_TYPE_CNAME) {
					put_zrr(dw, DNS_SEC_ANSWER, r);
					cname = true;
					target = N(r->data);
				}
			} else if (dns_name_is_under(&o, &q)) {
				below = true;
			}
		}
		if (cname && dns_name_is_under(&target, &apex)) {
			q = target;
			continue;
		}
		if (cname || (exact && dw->counts[1]))
			return false;
		if (!exact && !below)
			dns_writer_set_rcode(dw, DNS_RCODE_NXDOMAIN);
		break;
	}
	put_zrr(dw, DNS_SEC_AUTHORITY, &z->rrs[0]); /* the SOA */
	return false;
}

static int build_reply(const struct fake *f, const struct dns_msg *m, bool tcp, uint16_t id,
		       const char *qover, uint8_t *out, size_t cap)
{
	struct dns_writer dw;
	char qt[DNS_NAME_TEXT_MAX];
	struct dns_name qn = qover ? N(qover) : m->qname;
	const struct zone *z = zone_for(f, &m->qname);

	dns_name_to_text(&m->qname, qt);
	dns_writer_init(&dw, out, cap, id, (uint16_t)(DNS_F_QR | (m->flags & DNS_F_RD)));
	dns_put_question(&dw, &qn, m->qtype, DNS_CLASS_IN);
	if (f->formerr_edns && m->edns) {
		dns_writer_set_rcode(&dw, DNS_RCODE_FORMERR);
		return dns_writer_finish(&dw);
	}
	if (!z) {
		dns_writer_set_rcode(&dw, DNS_RCODE_REFUSED);
		return dns_writer_finish(&dw);
	}
	if (!strcasecmp(qt, "tc.example.test.") && !tcp) {
		dw.w.base[2] |= DNS_F_TC >> 8;
		return dns_writer_finish(&dw);
	}
	if (!authoritative(&dw, z, m->qname, m->qtype))
		dw.w.base[2] |= DNS_F_AA >> 8;
	if (!strcasecmp(qt, "evil.example.test.")) {
		/* poison: another zone's name in the answer, another zone's glue */
		static const struct zrr victim = {"victim.org", DNS_TYPE_A, "203.0.113.66"};
		static const struct zrr glue = {"ns.nic.test", DNS_TYPE_A, "203.0.113.67"};
		put_zrr(&dw, DNS_SEC_ANSWER, &victim);
		put_zrr(&dw, DNS_SEC_ADDITIONAL, &glue);
	}
	if (m->edns)
		dns_put_opt(&dw, 1232, 0, 0);
	return dns_writer_finish(&dw);
}

/* Parse, log, and build the answer(s) for a query at fake F. */
static bool fake_query(int fi, const uint8_t *buf, size_t len, bool tcp, struct dns_msg *m)
{
	struct qlog *l;

	if (dns_msg_parse(m, buf, len, NULL) < 0 || m->qdcount != 1)
		return false;
	fake_queried = true;
	uv_stop(&loop);
	if (nqlog < sizeof(qlog) / sizeof(qlog[0])) {
		l = &qlog[nqlog++];
		l->fake = fi;
		dns_name_to_text(&m->qname, l->name);
		l->type = m->qtype;
		l->rd = (m->flags & DNS_F_RD) != 0;
		l->edns = m->edns;
		l->tcp = tcp;
	}
	return !fakes[fi].drop;
}

static void fake_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char buf[65536];

	(void)h;
	(void)hint;
	*b = uv_buf_init(buf, sizeof(buf));
}

static void fake_send(struct fake *f, const struct sockaddr *to, const uint8_t *p, int n)
{
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);

	assert_true(n > 0);
	assert_int_equal(uv_udp_try_send(&f->udp, &b, 1, to), n);
}

static void fake_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
			  unsigned fl)
{
	struct fake *f = h->data;
	int fi = (int)(f - fakes);
	struct dns_msg m;
	uint8_t out[4096];
	char qt[DNS_NAME_TEXT_MAX];

	(void)fl;
	if (n <= 0 || !from || !fake_query(fi, (const uint8_t *)buf->base, (size_t)n, false, &m))
		return;
	dns_name_to_text(&m.qname, qt);
	if (!strcasecmp(qt, "spoof.example.test.")) {
		/* from the right address and port: a wrong ID, then a wrong question */
		fake_send(f, from, out,
			  build_reply(f, &m, false, (uint16_t)(m.id + 1), NULL, out, sizeof(out)));
		fake_send(f, from, out,
			  build_reply(f, &m, false, m.id, "www.example.test", out, sizeof(out)));
	}
	fake_send(f, from, out, build_reply(f, &m, false, m.id, NULL, out, sizeof(out)));
}

struct fake_conn {
	uv_tcp_t h;
	struct fake *f;
	uint8_t buf[70000];
	size_t len;
};

static void conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct fake_conn *c = h->data;

	(void)hint;
	*b = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void conn_written(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fake_conn *c = s->data;
	struct dns_msg m;

	(void)b;
	if (n < 0) {
		uv_close((uv_handle_t *)s, conn_closed);
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2 && c->len >= 2u + ((c->buf[0] << 8) | c->buf[1])) {
		size_t ql = (size_t)((c->buf[0] << 8) | c->buf[1]);
		struct {
			uv_write_t w;
			uint8_t out[4098];
		} *wr = malloc(sizeof(*wr));
		assert_non_null(wr);
		if (fake_query((int)(c->f - fakes), c->buf + 2, ql, true, &m)) {
			int len = build_reply(c->f, &m, true, m.id, NULL, wr->out + 2, sizeof(wr->out) - 2);
			wr->out[0] = (uint8_t)(len >> 8);
			wr->out[1] = (uint8_t)len;
			uv_buf_t ob = uv_buf_init((char *)wr->out, (unsigned)len + 2);
			assert_int_equal(uv_write(&wr->w, s, &ob, 1, conn_written), 0);
		} else {
			free(wr);
		}
		memmove(c->buf, c->buf + 2 + ql, c->len - 2 - ql);
		c->len -= 2 + ql;
	}
}

static void fake_accept(uv_stream_t *srv, int status)
{
	struct fake_conn *c = calloc(1, sizeof(*c));

	assert_int_equal(status, 0);
	assert_non_null(c);
	c->f = srv->data;
	uv_tcp_init(&loop, &c->h);
	c->h.data = c;
	assert_int_equal(uv_accept(srv, (uv_stream_t *)&c->h), 0);
	assert_int_equal(uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read), 0);
}

static void fakes_start(void)
{
	struct sockaddr_in sa;
	int len = sizeof(sa);

	for (int i = 0; i < NFAKES; i++) {
		struct fake *f = &fakes[i];

		assert_int_equal(uv_ip4_addr(f->addr, port, &sa), 0);
		assert_int_equal(uv_udp_init(&loop, &f->udp), 0);
		f->udp.data = f;
		assert_int_equal(uv_udp_bind(&f->udp, (const struct sockaddr *)&sa, 0), 0);
		if (port == 0) {
			assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&sa, &len), 0);
			port = ntohs(sa.sin_port);
		}
		assert_int_equal(uv_udp_recv_start(&f->udp, fake_alloc, fake_udp_recv), 0);
		assert_int_equal(uv_tcp_init(&loop, &f->tcp), 0);
		f->tcp.data = f;
		assert_int_equal(uv_tcp_bind(&f->tcp, (const struct sockaddr *)&sa, 0), 0);
		assert_int_equal(uv_listen((uv_stream_t *)&f->tcp, 16, fake_accept), 0);
	}
}

/* Queries fake FI got for NAME (NULL: any); TYPE 0: any type. */
static unsigned asked(int fi, const char *name, uint16_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nqlog; i++)
		if ((fi < 0 || qlog[i].fake == fi) && (!name || !strcasecmp(qlog[i].name, name)) &&
		    (!type || qlog[i].type == type))
			n++;
	return n;
}

/* ---- the resolver under test ---- */

static struct dns_cache *cache;
static struct dns_resolver *res;
static struct dns_config dc;
static struct dns_hints hints;
static struct dns_hint root_hint;
static bool closed;

struct result {
	struct dns_resolve_wait w;
	bool done;
	int rcode;
	bool entry;
	char text[4096];
};

static void dump(const uint8_t *msg, size_t len, char *out, size_t cap)
{
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	uint8_t rd[DNS_RDATA_EXPANDED_MAX];
	char name[DNS_NAME_TEXT_MAX], data[512], tb[16];
	size_t n = 0;

	out[0] = 0;
	assert_int_equal(dns_msg_parse(&m, msg, len, NULL), 0);
	dns_rr_iter_init(&it, &m);
	while (dns_rr_next(&it, &rr) == 1) {
		int k = dns_rdata_expand(&m, &rr, rd, sizeof(rd));
		assert_true(k >= 0);
		dns_name_to_text(&rr.name, name);
		dns_rdata_to_text(rr.type, rd, (size_t)k, data, sizeof(data));
		n += (size_t)snprintf(out + n, cap - n, "%d %s %s %u %s\n", (int)rr.section, name,
				      dns_type_str(rr.type, tb), rr.ttl, data);
		assert_true(n < cap);
	}
}

static void on_result(struct dns_resolve_wait *w, int rcode, const struct dns_cache_entry *e)
{
	struct result *r = container_of(w, struct result, w);
	uint8_t out[8192];

	assert_false(r->done);
	r->done = true;
	uv_stop(&loop);
	r->rcode = rcode;
	r->entry = e != NULL;
	if (e) {
		/* what the glue does with it */
		int n = dns_cache_answer(e, 0x4242, DNS_F_RD, e->name.b, (uint32_t)(uv_now(&loop) / 1000),
					 false, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(out[3] & 0xf, e->rcode);
		assert_int_equal(rcode, e->rcode);
		dump(out, (size_t)n, r->text, sizeof(r->text));
	}
}

static bool watchdog_fired;
static uv_timer_t watchdog; /* not on the stack: a failed assertion longjmps past the stop */

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	watchdog_fired = true;
}

/* Run the loop until *FLAG (no sleeps: the loop waits for I/O; a watchdog
 * only stops a hung test). Whatever sets a flag also stops the loop, so
 * uv_run returns to look at it. */
static void run_until(const bool *flag)
{
	watchdog_fired = false;
	uv_timer_start(&watchdog, on_watchdog, 30000, 0);
	while (!*flag && !watchdog_fired)
		uv_run(&loop, UV_RUN_DEFAULT);
	uv_timer_stop(&watchdog);
	assert_false(watchdog_fired);
}

static void start(struct result *r, const char *name, uint16_t type)
{
	struct dns_name n = N(name);

	memset(r, 0, sizeof(*r));
	r->w.cb = on_result;
	inet_pton(AF_INET, "10.1.2.3", &r->w.client);
	assert_int_equal(dns_resolve(res, &n, type, &r->w), 0);
	assert_false(r->done); /* never from inside the call */
}

static void resolve(struct result *r, const char *name, uint16_t type)
{
	start(r, name, type);
	run_until(&r->done);
}

static const struct dns_resolver_stats *stats(void)
{
	return dns_resolver_stats(res);
}

static struct dns_cache_entry *cached(const char *name, uint16_t type, enum dns_cache_rank rank)
{
	struct dns_name n = N(name);
	enum dns_cache_state cs;
	struct dns_cache_entry *e =
		dns_cache_get(cache, &n, type, DNS_CLASS_IN, rank, (uint32_t)(uv_now(&loop) / 1000), &cs);

	return e && cs == DNS_CACHE_FRESH ? e : NULL;
}

static void resolver_up(void)
{
	struct dns_resolver_cfg cfg = {&dc, &hints, port};

	nqlog = 0;
	closed = false;
	cache = dns_cache_new(1 << 22, 3600);
	assert_non_null(cache);
	assert_int_equal(dns_resolver_new(&loop, cache, &cfg, &res), 0);
}

static void on_closed(void *data)
{
	*(bool *)data = true;
	uv_stop(&loop);
}

static int setup(void **st)
{
	(void)st;
	memset(&dc, 0, sizeof(dc));
	dc.edns_buffer_size = 1232;
	dc.qname_minimisation = true;
	dc.max_ttl = 86400;
	dc.negative_ttl = 3600;
	resolver_up();
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	dns_resolver_close(res, on_closed, &closed);
	run_until(&closed);
	dns_cache_free(cache);
	return 0;
}

static int group_setup(void **st)
{
	(void)st;
	assert_int_equal(uv_loop_init(&loop), 0);
	if (getenv("DNS_TEST_DEBUG"))
		gw_log_set_level(GW_LOG_DEBUG);
	fakes_start();
	uv_timer_init(&loop, &watchdog);
	root_hint.name = N("a.root.test");
	inet_pton(AF_INET, "127.0.0.2", &root_hint.addr);
	hints.v = &root_hint;
	hints.n = 1;
	return 0;
}

/* What is left open once the fakes' own handles are closing: connections. */
static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, h->type == UV_TCP ? conn_closed : NULL);
}

static int group_teardown(void **st)
{
	(void)st;
	uv_close((uv_handle_t *)&watchdog, NULL);
	for (int i = 0; i < NFAKES; i++) {
		uv_close((uv_handle_t *)&fakes[i].udp, NULL);
		uv_close((uv_handle_t *)&fakes[i].tcp, NULL);
	}
	uv_walk(&loop, close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

/* ---- the walk and the cache ---- */

static void test_walk_then_cache(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "www.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(r.text, "0 www.example.test. A 3600 198.51.100.1\n");
	/* root -> TLD -> auth, one query each (the minimised names are the cuts) */
	assert_int_equal(asked(0, NULL, 0), 1);
	assert_int_equal(asked(0, "test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(1, "example.test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(2, "www.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(nqlog, 3);
	assert_int_equal(stats()->upstream_queries, 3);
	/* EDNS with our buffer size, no RD (iterative) */
	assert_true(qlog[0].edns && !qlog[0].rd);
	/* the referrals are in the cache as delegations, not as answers */
	assert_non_null(cached("example.test", DNS_TYPE_NS, DNS_RANK_GLUE));
	assert_null(cached("example.test", DNS_TYPE_NS, DNS_RANK_ANSWER));
	assert_non_null(cached("ns1.example.test", DNS_TYPE_A, DNS_RANK_GLUE));
	/* the second identical query: from the cache, nothing asked */
	assert_non_null(cached("www.example.test", DNS_TYPE_A, DNS_RANK_ANSWER));
	resolve(&r, "WWW.Example.TEST", DNS_TYPE_A);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(r.text, "0 www.example.test. A 3600 198.51.100.1\n");
	assert_int_equal(nqlog, 3);
	/* another name in the zone: only the zone's server is asked */
	resolve(&r, "spoof.example.test", DNS_TYPE_A);
	assert_int_equal(nqlog, 4);
	assert_int_equal(asked(2, "spoof.example.test.", DNS_TYPE_A), 1);
}

static void test_coalescing_and_cancel(void **st)
{
	struct result a, b, c;

	(void)st;
	start(&a, "www.other.test", DNS_TYPE_A);
	start(&b, "www.other.test", DNS_TYPE_A);
	start(&c, "www.other.test", DNS_TYPE_A);
	dns_resolve_cancel(&c.w);
	run_until(&a.done);
	run_until(&b.done);
	assert_int_equal(a.rcode, 0);
	assert_string_equal(a.text, "0 www.other.test. A 3600 198.51.100.2\n");
	assert_string_equal(b.text, a.text);
	assert_false(c.done);
	assert_int_equal(stats()->tasks, 1);
	assert_int_equal(stats()->coalesced, 2);
	assert_int_equal(asked(4, "www.other.test.", DNS_TYPE_A), 1);
}

static void test_cname_across_zones(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "alias.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	/* the client gets the whole chain */
	assert_string_equal(r.text, "0 alias.example.test. CNAME 3600 www.other.test.\n"
				    "0 www.other.test. A 3600 198.51.100.2\n");
	assert_int_equal(asked(2, "alias.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(4, "www.other.test.", DNS_TYPE_A), 1);
	/* the pieces are cached: the link, the target, the whole answer */
	assert_non_null(cached("alias.example.test", DNS_TYPE_CNAME, DNS_RANK_ANSWER));
	assert_non_null(cached("www.other.test", DNS_TYPE_A, DNS_RANK_ANSWER));
	assert_non_null(cached("alias.example.test", DNS_TYPE_A, DNS_RANK_ANSWER));
}

static void test_negative_caching(void **st)
{
	struct result r;
	struct dns_cache_entry *e;
	unsigned n;

	(void)st;
	resolve(&r, "nx.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_string_equal(r.text,
			    "1 example.test. SOA 300 ns.example.test. hostmaster.example.test. 1 3600 600 "
			    "86400 300\n");
	e = cached("nx.example.test", DNS_TYPE_A, DNS_RANK_ANSWER);
	assert_non_null(e);
	assert_true(e->negative);
	assert_int_equal(e->rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(e->ttl, 300); /* RFC 2308 5: SOA MINIMUM */
	resolve(&r, "www.example.test", DNS_TYPE_AAAA);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	e = cached("www.example.test", DNS_TYPE_AAAA, DNS_RANK_ANSWER);
	assert_non_null(e);
	assert_true(e->negative);
	assert_int_equal(e->rcode, 0);
	n = nqlog;
	resolve(&r, "nx.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	resolve(&r, "www.example.test", DNS_TYPE_AAAA);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(nqlog, n);
}

static void test_referral_without_glue(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "www.noglue.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 www.noglue.test. A 3600 198.51.100.3\n");
	/* the NS name was resolved on the side: org., example.org., its A */
	assert_int_equal(stats()->tasks, 2);
	assert_int_equal(asked(5, "ns.example.org.", DNS_TYPE_A), 1);
	assert_int_equal(asked(5, "www.noglue.test.", DNS_TYPE_A), 1);
	assert_non_null(cached("ns.example.org", DNS_TYPE_A, DNS_RANK_ANSWER));
}

static void test_ns_cycle_fails_cleanly(void **st)
{
	struct result r;

	(void)st;
	/* cyc.test's only NS is ns.cyc.test, without glue: its address can
	 * only come from cyc.test itself */
	resolve(&r, "www.cyc.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, DNS_RCODE_SERVFAIL);
	assert_false(r.entry);
	assert_int_equal(asked(-1, "www.cyc.test.", 0), 0);
	assert_true(stats()->servfail >= 1);
}

static void test_timeout_then_second_server(void **st)
{
	struct result r;

	(void)st;
	/* the choice between the two unknown servers is random: ask until
	 * the silent one was picked first (1 in 2^16 to need more) */
	for (int i = 0; i < 16 && stats()->timeouts == 0; i++) {
		dns_cache_flush(cache, NULL);
		dns_resolver_forget_servers(res);
		resolve(&r, "www.slow.test", DNS_TYPE_A);
		assert_int_equal(r.rcode, 0);
		assert_string_equal(r.text, "0 www.slow.test. A 3600 198.51.100.9\n");
	}
	assert_int_equal(stats()->timeouts, 1);
	assert_true(asked(6, "www.slow.test.", DNS_TYPE_A) >= 1);
	assert_true(asked(7, "www.slow.test.", DNS_TYPE_A) >= 1);
}

static void test_truncated_then_tcp(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "tc.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 tc.example.test. A 3600 198.51.100.4\n");
	assert_int_equal(stats()->upstream_tcp, 1);
	assert_int_equal(asked(2, "tc.example.test.", DNS_TYPE_A), 2);
	assert_false(qlog[nqlog - 2].tcp);
	assert_true(qlog[nqlog - 1].tcp);
}

static void test_formerr_edns_fallback(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "www.old.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 www.old.test. A 3600 198.51.100.20\n");
	assert_int_equal(asked(3, "www.old.test.", DNS_TYPE_A), 2);
	assert_true(qlog[nqlog - 2].edns);
	assert_false(qlog[nqlog - 1].edns);
}

static void test_spoofed_answers_ignored(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "spoof.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 spoof.example.test. A 3600 198.51.100.5\n");
	assert_int_equal(stats()->answers_rejected, 2);
	assert_int_equal(stats()->timeouts, 0);
	assert_int_equal(asked(2, "spoof.example.test.", DNS_TYPE_A), 1);
}

static void test_out_of_bailiwick_not_cached(void **st)
{
	struct result r;
	struct dns_cache_entry *e;
	char text[1024];

	(void)st;
	resolve(&r, "evil.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 evil.example.test. A 3600 198.51.100.6\n");
	assert_null(cached("victim.org", DNS_TYPE_A, DNS_RANK_GLUE));
	/* the TLD server's glue stands */
	e = cached("ns.nic.test", DNS_TYPE_A, DNS_RANK_GLUE);
	assert_non_null(e);
	dump(e->msg, e->len, text, sizeof(text));
	assert_string_equal(text, "0 ns.nic.test. A 3600 127.0.0.3\n");
}

static void test_cname_loop_servfail(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "loop1.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, DNS_RCODE_SERVFAIL);
	assert_false(r.entry);
	/* each link asked once, then followed from the cache into the loop */
	assert_int_equal(asked(2, "loop1.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(4, "loop2.other.test.", DNS_TYPE_A), 1);
	assert_true(stats()->upstream_queries <= DNS_MAX_UPSTREAM);
}

static void test_qmin_through_empty_nonterminals(void **st)
{
	struct result r;

	(void)st;
	resolve(&r, "x.y.z.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 x.y.z.example.test. A 3600 198.51.100.8\n");
	/* RFC 9156: one label at a time, A for the minimised names */
	assert_int_equal(asked(2, "z.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(2, "y.z.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(2, "x.y.z.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(asked(-1, "x.y.z.example.test.", 0), 1);
}

static void test_qmin_off(void **st)
{
	struct result r;

	(void)st;
	dc.qname_minimisation = false;
	resolve(&r, "x.y.z.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	/* the full name everywhere */
	assert_int_equal(asked(-1, "x.y.z.example.test.", DNS_TYPE_A), 3);
	assert_int_equal(nqlog, 3);
}

static void test_forward(void **st)
{
	static struct dns_server fw; /* the config outlives the test body: teardown closes the resolver */
	struct result r;

	(void)st;
	inet_pton(AF_INET, "127.0.0.4", &fw.addr);
	fw.port = port;
	dc.forward = &fw;
	dc.nforward = 1;
	resolve(&r, "www.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 www.example.test. A 3600 198.51.100.1\n");
	/* straight to the forwarder, recursion desired */
	assert_int_equal(nqlog, 1);
	assert_int_equal(qlog[0].fake, 2);
	assert_true(qlog[0].rd);
	assert_string_equal(qlog[0].name, "www.example.test.");
	/* its answers are final, with a forwarder's rank */
	assert_non_null(cached("www.example.test", DNS_TYPE_A, DNS_RANK_ANSWER));
}

static void test_forward_failover(void **st)
{
	static struct dns_server fw[2];
	struct result r;

	(void)st;
	/* the TLD's server is no recursive server: it refers (lame for a
	 * forwarder); the choice is random: ask until it was tried first */
	inet_pton(AF_INET, "127.0.0.3", &fw[0].addr);
	inet_pton(AF_INET, "127.0.0.4", &fw[1].addr);
	fw[0].port = fw[1].port = port;
	dc.forward = fw;
	dc.nforward = 2;
	for (int i = 0; i < 16 && asked(1, NULL, 0) == 0; i++) {
		dns_cache_flush(cache, NULL);
		dns_resolver_forget_servers(res);
		resolve(&r, "www.example.test", DNS_TYPE_A);
		assert_int_equal(r.rcode, 0);
		assert_string_equal(r.text, "0 www.example.test. A 3600 198.51.100.1\n");
	}
	assert_int_equal(asked(1, "www.example.test.", DNS_TYPE_A), 1);
	assert_int_equal(qlog[nqlog - 1].fake, 2);
	assert_true(qlog[nqlog - 2].rd && qlog[nqlog - 1].rd);
	/* its referral was not taken into the cache */
	assert_null(cached("example.test", DNS_TYPE_NS, DNS_RANK_GLUE));
	assert_int_equal(stats()->timeouts, 0);
}

static void test_forward_zone(void **st)
{
	static struct dns_server fw;
	static struct dns_forward_zone fz;
	struct result r;

	(void)st;
	inet_pton(AF_INET, "127.0.0.6", &fw.addr);
	fw.port = port;
	fz.zone = N("other.test");
	fz.servers = &fw;
	fz.nservers = 1;
	dc.fzones = &fz;
	dc.nfzones = 1;
	resolve(&r, "www.other.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_string_equal(r.text, "0 www.other.test. A 3600 198.51.100.2\n");
	assert_int_equal(nqlog, 1);
	assert_int_equal(qlog[0].fake, 4);
	assert_true(qlog[0].rd);
	/* a name outside the zone is resolved from the root */
	resolve(&r, "www.example.test", DNS_TYPE_A);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(asked(0, NULL, 0), 1);
	assert_false(qlog[nqlog - 1].rd);
	/* a chain that leaves the forward zone goes on by recursion */
	dns_cache_flush(cache, NULL);
	nqlog = 0;
	resolve(&r, "alias.example.test", DNS_TYPE_A);
	assert_string_equal(r.text, "0 alias.example.test. CNAME 3600 www.other.test.\n"
				    "0 www.other.test. A 3600 198.51.100.2\n");
	assert_true(qlog[nqlog - 1].rd);
	assert_int_equal(qlog[nqlog - 1].fake, 4);
}

static void test_prefetch(void **st)
{
	struct result r;
	struct dns_name n = N("www.example.test");

	(void)st;
	resolve(&r, "www.example.test", DNS_TYPE_A);
	assert_int_equal(nqlog, 3);
	/* the answer is fresh in the cache, yet a prefetch asks again (the zone's server only) */
	dns_resolve_prefetch(res, &n, DNS_TYPE_A);
	dns_resolve_prefetch(res, &n, DNS_TYPE_A); /* already running: nothing more */
	assert_int_equal(stats()->prefetches, 1);
	while (nqlog < 4) {
		fake_queried = false;
		run_until(&fake_queried);
	}
	assert_int_equal(asked(2, "www.example.test.", DNS_TYPE_A), 2);
	assert_int_equal(asked(0, NULL, 0), 1);
}

struct server_seen {
	unsigned n;
	uint64_t queries;
};

static void one_server(void *data, struct in_addr a, uint32_t srtt, uint64_t queries, uint64_t timeouts)
{
	struct server_seen *s = data;

	(void)a;
	(void)srtt;
	(void)timeouts;
	s->n++;
	s->queries += queries;
}

static void test_limits_and_servers(void **st)
{
	static struct result many[DNS_MAX_PER_CLIENT + 1];
	struct dns_name n = N("www.example.test");
	struct server_seen seen = {0};

	(void)st;
	for (int i = 0; i < DNS_MAX_PER_CLIENT; i++)
		start(&many[i], "www.example.test", DNS_TYPE_A);
	/* the client's cap: one more is refused */
	memset(&many[DNS_MAX_PER_CLIENT], 0, sizeof(many[0]));
	many[DNS_MAX_PER_CLIENT].w.cb = on_result;
	inet_pton(AF_INET, "10.1.2.3", &many[DNS_MAX_PER_CLIENT].w.client);
	assert_int_equal(dns_resolve(res, &n, DNS_TYPE_A, &many[DNS_MAX_PER_CLIENT].w), -EBUSY);
	assert_int_equal(stats()->refused_limit, 1);
	run_until(&many[DNS_MAX_PER_CLIENT - 1].done);
	for (int i = 0; i < DNS_MAX_PER_CLIENT; i++)
		assert_int_equal(many[i].rcode, 0);
	assert_false(many[DNS_MAX_PER_CLIENT].done);
	assert_int_equal(nqlog, 3);
	/* the waiters are gone: the client may ask again */
	start(&many[0], "www.example.test", DNS_TYPE_A);
	run_until(&many[0].done);
	/* every server asked is known, with its query count */
	dns_resolver_servers(res, one_server, &seen);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.queries, 3);
	dns_resolver_forget_servers(res);
	seen = (struct server_seen){0};
	dns_resolver_servers(res, one_server, &seen);
	assert_int_equal(seen.n, 0);
}

static void test_close_with_waiters(void **st)
{
	struct result r;

	(void)st;
	start(&r, "www.example.test", DNS_TYPE_A);
	/* closing answers every waiter with SERVFAIL */
	dns_resolver_close(res, on_closed, &closed);
	assert_true(r.done);
	assert_int_equal(r.rcode, DNS_RCODE_SERVFAIL);
	run_until(&closed);
	dns_cache_free(cache);
	resolver_up();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_then_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalescing_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_across_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_caching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_referral_without_glue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ns_cycle_fails_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_then_second_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_then_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr_edns_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spoofed_answers_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_bailiwick_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_loop_servfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_through_empty_nonterminals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmin_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_waiters, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
