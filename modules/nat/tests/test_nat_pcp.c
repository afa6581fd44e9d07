/* test_nat_pcp.c — the PCP / NAT-PMP server (nat_pcp.c): every reply is
 * checked byte for byte against one built here from the RFCs' layouts
 * (RFC 6887 7.1/7.2/11.1, RFC 6886 3.2/3.3), and every change of the table
 * against the changed() calls it must make. */
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

#include "nat_pcp.h"

#define T0 1000u /* epoch start */
#define LMIN 120u
#define LMAX 86400u
#define CLIENT "192.168.1.20"
#define CLIENT2 "192.168.1.21"
#define EXT "203.0.113.5"
#define WAN_PEER "198.51.100.7"
#define TCP 6
#define UDP 17

/* ---- the stub ops: an external address, reservations, a log of changes ---- */

struct change {
	struct nat_pcp_mapping m;
	enum nat_pcp_change ch;
	uint32_t now;
};

static struct env {
	struct in_addr ext;
	struct {
		uint8_t proto;
		uint16_t lo, hi;
	} res[8];
	int nres;
	unsigned fail; /* bit (1 << change): changed() refuses it */
	uint32_t rnd;
	struct change log[256];
	int nlog;
	int ncalls; /* every changed() call, logged or not */
} E;

static struct in_addr A(const char *s) {
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct in_addr
st_external(void *data)
{
	assert_ptr_equal(data, &E);
	return E.ext;
}

static bool st_reserved(void *data, uint8_t proto, uint16_t port)
{
	(void)data;
	for (int i = 0; i < E.nres; i++)
		if (E.res[i].proto == proto && port >= E.res[i].lo && port <= E.res[i].hi)
			return true;
	return false;
}

static int st_changed(void *data, const struct nat_pcp_mapping *m, enum nat_pcp_change ch, uint32_t now)
{
	(void)data;
	E.ncalls++;
	if (E.nlog < (int)(sizeof(E.log) / sizeof(E.log[0])))
		E.log[E.nlog++] = (struct change){*m, ch, now};
	return (E.fail & (1u << ch)) ? -EIO : 0;
}

static uint32_t st_random(void *data)
{
	(void)data;
	return E.rnd;
}

static const struct nat_pcp_ops ops = {st_external, st_reserved, st_changed, st_random};

static struct nat_pcp *mk(void)
{
	struct nat_pcp *p;

	memset(&E, 0, sizeof(E));
	E.ext = A(EXT);
	p = nat_pcp_new(&ops, &E, LMIN, LMAX, T0);
	assert_non_null(p);
	return p;
}

static void reserve(uint8_t proto, uint16_t lo, uint16_t hi)
{
	E.res[E.nres].proto = proto;
	E.res[E.nres].lo = lo;
	E.res[E.nres].hi = hi;
	E.nres++;
}

/* ---- building packets ---- */

static void be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void mapped(uint8_t *b, const char *ip)
{
	memset(b, 0, 10);
	b[10] = b[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, ip, b + 12), 1);
}

struct mreq {
	uint32_t life;
	uint8_t nonce; /* all 12 bytes */
	uint8_t proto;
	uint16_t iport, sport;
	const char *sugg;   /* NULL: :: */
	const char *client; /* NULL: CLIENT */
};

/* A PCP MAP request (RFC 6887 7.1 + 11.1): 60 bytes. */
static size_t map_req(uint8_t *b, const struct mreq *r)
{
	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 1;
	be32(b + 4, r->life);
	mapped(b + 8, r->client ? r->client : CLIENT);
	memset(b + 24, r->nonce, 12);
	b[36] = r->proto;
	be16(b + 40, r->iport);
	be16(b + 42, r->sport);
	if (r->sugg)
		mapped(b + 44, r->sugg);
	return 60;
}

static size_t add_opt(uint8_t *b, size_t len, uint8_t code, uint16_t olen, uint8_t fill)
{
	size_t padded = ((size_t)olen + 3) & ~(size_t)3;

	b[len] = code;
	b[len + 1] = 0;
	be16(b + len + 2, olen);
	memset(b + len + 4, fill, padded);
	return len + 4 + padded;
}

/* The MAP success response (RFC 6887 7.2 + 11.1). */
static size_t map_ok(uint8_t *b, uint32_t life, uint32_t ep, const struct mreq *r, uint16_t eport,
		     const char *ext)
{
	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 0x81;
	b[3] = 0;
	be32(b + 4, life);
	be32(b + 8, ep);
	memset(b + 24, r->nonce, 12);
	b[36] = r->proto;
	be16(b + 40, r->iport);
	be16(b + 42, eport);
	mapped(b + 44, ext);
	return 60;
}

/* A PCP error response: the request with the response header over it. */
static size_t pcp_err(uint8_t *b, const uint8_t *req, size_t len, uint8_t rc, uint32_t life, uint32_t ep)
{
	memcpy(b, req, len);
	b[0] = 2;
	b[1] |= 0x80;
	b[2] = 0;
	b[3] = rc;
	be32(b + 4, life);
	be32(b + 8, ep);
	memset(b + 12, 0, 12);
	return len;
}

static size_t handle(struct nat_pcp *p, const uint8_t *req, size_t len, const char *src, uint32_t now,
		     uint8_t *out)
{
	return nat_pcp_handle(p, req, len, A(src), true, now, out, NAT_PCP_MAX_PACKET);
}

/* Send R from CLIENT at NOW and expect success with external port EPORT. */
static void map_expect(struct nat_pcp *p, const struct mreq *r, uint32_t now, uint32_t life, uint16_t eport)
{
	uint8_t req[64], out[NAT_PCP_MAX_PACKET], want[64];
	size_t len = map_req(req, r);

	assert_int_equal(
		nat_pcp_handle(p, req, len, A(r->client ? r->client : CLIENT), true, now, out, sizeof(out)),
		60);
	map_ok(want, life, now - T0, r, eport, EXT);
	assert_memory_equal(out, want, 60);
}

/* Send R and expect the error RC with lifetime LIFE. */
static void map_expect_err(struct nat_pcp *p, const uint8_t *req, size_t len, uint32_t now, uint8_t rc,
			   uint32_t life)
{
	uint8_t out[NAT_PCP_MAX_PACKET], want[NAT_PCP_MAX_PACKET];

	assert_int_equal(handle(p, req, len, CLIENT, now, out), len);
	pcp_err(want, req, len, rc, life, now - T0);
	assert_memory_equal(out, want, len);
}

static void map_err(struct nat_pcp *p, const struct mreq *r, uint32_t now, uint8_t rc, uint32_t life)
{
	uint8_t req[64];

	map_expect_err(p, req, map_req(req, r), now, rc, life);
}

/* NAT-PMP (RFC 6886 3.3) */
static size_t pmp_req(uint8_t *b, uint8_t op, uint16_t iport, uint16_t sport, uint32_t life)
{
	b[0] = 0;
	b[1] = op;
	b[2] = b[3] = 0;
	be16(b + 4, iport);
	be16(b + 6, sport);
	be32(b + 8, life);
	return 12;
}

static size_t pmp_resp(uint8_t *b, uint8_t op, uint16_t rc, uint32_t ep, uint16_t iport, uint16_t eport,
		       uint32_t life)
{
	b[0] = 0;
	b[1] = (uint8_t)(128 + op);
	be16(b + 2, rc);
	be32(b + 4, ep);
	be16(b + 8, iport);
	be16(b + 10, eport);
	be32(b + 12, life);
	return 16;
}

static void pmp_expect(struct nat_pcp *p, const char *src, uint8_t op, uint16_t iport, uint16_t sport,
		       uint32_t life, uint32_t now, uint16_t rc, uint16_t eport, uint32_t granted)
{
	uint8_t req[12], out[64], want[16];

	pmp_req(req, op, iport, sport, life);
	assert_int_equal(handle(p, req, 12, src, now, out), 16);
	pmp_resp(want, op, rc, now - T0, iport, eport, granted);
	assert_memory_equal(out, want, 16);
}

static void check_change(int k, enum nat_pcp_change ch, uint8_t proto, const char *client, uint16_t iport,
			 uint16_t eport, uint32_t expires)
{
	assert_true(k < E.nlog);
	assert_int_equal(E.log[k].ch, ch);
	assert_int_equal(E.log[k].m.proto, proto);
	assert_int_equal(E.log[k].m.client.s_addr, A(client).s_addr);
	assert_int_equal(E.log[k].m.int_port, iport);
	assert_int_equal(E.log[k].m.ext_port, eport);
	assert_int_equal(E.log[k].m.expires, expires);
}

/* ---- PCP MAP ---- */

static void test_map_udp_internal_port(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	struct mreq r = {.life = 3600, .nonce = 0xa1, .proto = UDP, .iport = 5000};

	map_expect(p, &r, T0 + 7, 3600, 5000);
	assert_int_equal(E.nlog, 1);
	check_change(0, NAT_PCP_ADDED, UDP, CLIENT, 5000, 5000, T0 + 7 + 3600);
	assert_int_equal(E.log[0].now, T0 + 7);
	assert_false(E.log[0].m.natpmp);
	assert_int_equal(E.log[0].m.nonce[0], 0xa1);
	assert_int_equal(E.log[0].m.nonce[11], 0xa1);
	assert_int_equal(nat_pcp_count(p), 1);
	assert_int_equal(nat_pcp_stats(p)->added, 1);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_SUCCESS], 1);
	assert_int_equal(nat_pcp_stats(p)->pcp, 1);
	assert_int_equal(nat_pcp_stats(p)->requests, 1);
	nat_pcp_free(p);
}

static void test_map_tcp_suggested(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 8080, .sport = 18080, .sugg = EXT};

	map_expect(p, &r, T0, 600, 18080);
	check_change(0, NAT_PCP_ADDED, TCP, CLIENT, 8080, 18080, T0 + 600);
	/* a suggested address that is not ours is only a hint without PREFER_FAILURE */
	struct mreq r2 = {
		.life = 600, .nonce = 1, .proto = TCP, .iport = 8081, .sport = 18081, .sugg = "203.0.113.99"};
	map_expect(p, &r2, T0, 600, 18081);
	nat_pcp_free(p);
}

/* suggested, else internal, else a free port from a random start in 1024..65535 */
static void test_port_choice_order(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	struct mreq a = {.life = 600, .nonce = 2, .proto = UDP, .iport = 7000, .client = CLIENT2};
	map_expect(p, &a, T0, 600, 7000);
	/* CLIENT suggests 7000 (held by CLIENT2): it gets its internal port */
	struct mreq b = {.life = 600, .nonce = 3, .proto = UDP, .iport = 7001, .sport = 7000};
	map_expect(p, &b, T0, 600, 7001);
	/* suggested and internal both held: the random pick (1024 + 5) */
	E.rnd = 5;
	struct mreq c = {.life = 600, .nonce = 3, .proto = UDP, .iport = 7000, .sport = 7001};
	map_expect(p, &c, T0, 600, 1029);
	/* the random pick held too: the next free one */
	struct mreq d = {.life = 600, .nonce = 3, .proto = UDP, .iport = 7002, .sport = 7000};
	reserve(UDP, 7002, 7002);
	map_expect(p, &d, T0, 600, 1030);
	/* random start wraps past 65535 to 1024 */
	E.rnd = 64511; /* 1024 + 64511 = 65535 */
	reserve(UDP, 65535, 65535);
	struct mreq e = {.life = 600, .nonce = 3, .proto = UDP, .iport = 7003};
	reserve(UDP, 7003, 7003);
	map_expect(p, &e, T0, 600, 1024);
	/* the same port number is free for the other protocol */
	struct mreq f = {.life = 600, .nonce = 3, .proto = TCP, .iport = 7000};
	map_expect(p, &f, T0, 600, 7000);
	assert_int_equal(nat_pcp_count(p), 6);
	nat_pcp_free(p);
}

static void test_reserved_ports_never_granted(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	reserve(TCP, 80, 80);
	reserve(TCP, 1024, 1100);
	struct mreq r = {.life = 600, .nonce = 4, .proto = TCP, .iport = 80, .sport = 80};
	map_expect(p, &r, T0, 600, 1101); /* suggested and internal reserved, random start 1024 reserved */
	/* UDP 80 is not reserved */
	struct mreq u = {.life = 600, .nonce = 4, .proto = UDP, .iport = 80, .sport = 80};
	map_expect(p, &u, T0, 600, 80);
	nat_pcp_free(p);
}

static void test_no_free_port(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	reserve(UDP, 1, 65535);
	struct mreq r = {.life = 600, .nonce = 4, .proto = UDP, .iport = 5000};
	map_err(p, &r, T0, PCP_NO_RESOURCES, 30);
	assert_int_equal(nat_pcp_count(p), 0);
	assert_int_equal(E.nlog, 0);
	nat_pcp_free(p);
}

static void test_lifetime_clamped(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	struct mreq a = {.life = 10, .nonce = 5, .proto = UDP, .iport = 5000};
	map_expect(p, &a, T0 + 1, LMIN, 5000);
	check_change(0, NAT_PCP_ADDED, UDP, CLIENT, 5000, 5000, T0 + 1 + LMIN);
	struct mreq b = {.life = 0xffffffff, .nonce = 5, .proto = UDP, .iport = 5001};
	map_expect(p, &b, T0 + 1, LMAX, 5001);
	check_change(1, NAT_PCP_ADDED, UDP, CLIENT, 5001, 5001, T0 + 1 + LMAX);
	nat_pcp_set_lifetimes(p, 300, 400);
	struct mreq c = {.life = 1000, .nonce = 5, .proto = UDP, .iport = 5002};
	map_expect(p, &c, T0 + 1, 400, 5002);
	nat_pcp_free(p);
}

static void test_renewal_keeps_port(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	struct mreq r = {.life = 600, .nonce = 6, .proto = TCP, .iport = 5000, .sport = 15000};
	map_expect(p, &r, T0, 600, 15000);
	/* the renewal suggests another port: it keeps its own */
	r.sport = 16000;
	r.life = 1200;
	map_expect(p, &r, T0 + 300, 1200, 15000);
	assert_int_equal(E.nlog, 2);
	check_change(1, NAT_PCP_RENEWED, TCP, CLIENT, 5000, 15000, T0 + 300 + 1200);
	assert_int_equal(nat_pcp_count(p), 1);
	assert_int_equal(nat_pcp_stats(p)->renewed, 1);
	assert_int_equal(nat_pcp_stats(p)->added, 1);
	/* another nonce is another owner: RFC 6887 11.3 */
	r.nonce = 7;
	map_err(p, &r, T0 + 301, PCP_NOT_AUTHORIZED, 1800);
	assert_int_equal(E.nlog, 2);
	nat_pcp_free(p);
}

static void test_delete(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[64], out[NAT_PCP_MAX_PACKET], want[64];

	struct mreq r = {.life = 600, .nonce = 8, .proto = UDP, .iport = 5000, .sport = 25000};
	map_expect(p, &r, T0, 600, 25000);
	/* wrong nonce may not delete it */
	struct mreq bad = {.life = 0, .nonce = 9, .proto = UDP, .iport = 5000};
	map_err(p, &bad, T0 + 5, PCP_NOT_AUTHORIZED, 1800);
	assert_int_equal(nat_pcp_count(p), 1);
	/* lifetime 0 deletes: SUCCESS, lifetime 0, the deleted mapping's port (RFC 6887 15) */
	struct mreq d = {.life = 0, .nonce = 8, .proto = UDP, .iport = 5000};
	assert_int_equal(handle(p, req, map_req(req, &d), CLIENT, T0 + 10, out), 60);
	map_ok(want, 0, 10, &d, 25000, EXT);
	assert_memory_equal(out, want, 60);
	assert_int_equal(nat_pcp_count(p), 0);
	check_change(1, NAT_PCP_REMOVED, UDP, CLIENT, 5000, 25000, T0 + 600);
	assert_int_equal(E.log[1].now, T0 + 10);
	assert_int_equal(nat_pcp_stats(p)->deleted, 1);
	/* deleting what is not there: SUCCESS, the suggestion echoed */
	struct mreq g = {
		.life = 0, .nonce = 8, .proto = UDP, .iport = 5000, .sport = 123, .sugg = "203.0.113.77"};
	assert_int_equal(handle(p, req, map_req(req, &g), CLIENT, T0 + 11, out), 60);
	map_ok(want, 0, 11, &g, 123, "203.0.113.77");
	assert_memory_equal(out, want, 60);
	assert_int_equal(E.nlog, 2);
	/* a deletion needs no external address */
	map_expect(p, &r, T0 + 12, 600, 25000);
	E.ext.s_addr = 0;
	assert_int_equal(handle(p, req, map_req(req, &d), CLIENT, T0 + 13, out), 60);
	map_ok(want, 0, 13, &d, 25000, "0.0.0.0");
	assert_memory_equal(out, want, 60);
	assert_int_equal(nat_pcp_count(p), 0);
	nat_pcp_free(p);
}

static void test_delete_all(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[64], out[NAT_PCP_MAX_PACKET], want[64];

	struct mreq m1 = {.life = 600, .nonce = 1, .proto = UDP, .iport = 5000};
	struct mreq m2 = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5001};
	struct mreq m3 = {.life = 600, .nonce = 2, .proto = TCP, .iport = 5002}; /* another nonce */
	struct mreq m4 = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5003, .client = CLIENT2};
	map_expect(p, &m1, T0, 600, 5000);
	map_expect(p, &m2, T0, 600, 5001);
	map_expect(p, &m3, T0, 600, 5002);
	map_expect(p, &m4, T0, 600, 5003);
	/* protocol 0, port 0, lifetime 0: all of this client's mappings with this nonce */
	struct mreq all = {.life = 0, .nonce = 1, .proto = 0, .iport = 0};
	assert_int_equal(handle(p, req, map_req(req, &all), CLIENT, T0 + 1, out), 60);
	assert_int_equal(out[3], PCP_SUCCESS);
	assert_int_equal(nat_pcp_count(p), 2);
	assert_int_equal(E.nlog, 6);
	size_t cur = 0;
	const struct nat_pcp_mapping *m;
	int seen = 0;
	while ((m = nat_pcp_next(p, &cur))) {
		assert_true(m->ext_port == 5002 || m->ext_port == 5003);
		seen++;
	}
	assert_int_equal(seen, 2);
	/* TCP, port 0: every TCP mapping of that nonce (none left for nonce 1 at CLIENT) */
	struct mreq tcp = {.life = 0, .nonce = 2, .proto = TCP, .iport = 0};
	assert_int_equal(handle(p, req, map_req(req, &tcp), CLIENT, T0 + 2, out), 60);
	map_ok(want, 0, 2, &tcp, 5002, EXT);
	assert_memory_equal(out, want, 60);
	assert_int_equal(nat_pcp_count(p), 1);
	assert_int_equal(nat_pcp_stats(p)->deleted, 3);
	nat_pcp_free(p);
}

static void test_map_errors(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	struct mreq sctp = {.life = 600, .nonce = 1, .proto = 132, .iport = 5000};
	map_err(p, &sctp, T0 + 3, PCP_UNSUPP_PROTOCOL, 1800);
	sctp.life = 0;
	map_err(p, &sctp, T0 + 3, PCP_UNSUPP_PROTOCOL, 1800);
	struct mreq all = {.life = 600, .nonce = 1, .proto = 0, .iport = 0};
	map_err(p, &all, T0 + 3, PCP_UNSUPP_PROTOCOL, 1800);
	struct mreq allport = {.life = 600, .nonce = 1, .proto = 0, .iport = 80}; /* RFC 6887 11.1 */
	map_err(p, &allport, T0 + 3, PCP_MALFORMED_REQUEST, 1800);
	struct mreq port0 = {.life = 600, .nonce = 1, .proto = TCP, .iport = 0};
	map_err(p, &port0, T0 + 3, PCP_MALFORMED_REQUEST, 1800);
	E.ext.s_addr = 0;
	struct mreq ok = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};
	map_err(p, &ok, T0 + 3, PCP_NETWORK_FAILURE, 30);
	assert_int_equal(nat_pcp_count(p), 0);
	assert_int_equal(E.nlog, 0);
	const struct nat_pcp_stats *s = nat_pcp_stats(p);
	assert_int_equal(s->results[PCP_UNSUPP_PROTOCOL], 3);
	assert_int_equal(s->results[PCP_MALFORMED_REQUEST], 2);
	assert_int_equal(s->results[PCP_NETWORK_FAILURE], 1);
	assert_int_equal(s->results[PCP_SUCCESS], 0);
	nat_pcp_free(p);
}

static void test_address_mismatch(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[64];
	size_t len;

	struct mreq other = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000, .client = CLIENT2};
	len = map_req(req, &other);
	map_expect_err(p, req, len, T0, PCP_ADDRESS_MISMATCH, 1800); /* sent from CLIENT */
	/* an IPv6 (not IPv4-mapped) client field holding the right low bytes */
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};
	len = map_req(req, &r);
	req[8] = 0x20;
	req[9] = 0x01;
	map_expect_err(p, req, len, T0, PCP_ADDRESS_MISMATCH, 1800);
	len = map_req(req, &r);
	req[18] = 0; /* ::a.b.c.d (IPv4-compatible) is not ::ffff:a.b.c.d */
	map_expect_err(p, req, len, T0, PCP_ADDRESS_MISMATCH, 1800);
	assert_int_equal(nat_pcp_count(p), 0);
	nat_pcp_free(p);
}

static void test_opcodes(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[128], out[NAT_PCP_MAX_PACKET], want[128];

	/* PEER (2): 24 + 56 bytes; not offered */
	memset(req, 0x5a, 80);
	req[0] = 2;
	req[1] = 2;
	mapped(req + 8, CLIENT);
	map_expect_err(p, req, 80, T0 + 4, PCP_UNSUPP_OPCODE, 1800);
	req[1] = 5;
	map_expect_err(p, req, 24, T0 + 4, PCP_UNSUPP_OPCODE, 1800);
	req[1] = 127;
	map_expect_err(p, req, 24, T0 + 4, PCP_UNSUPP_OPCODE, 1800);

	/* ANNOUNCE (0) from a client: SUCCESS, lifetime 0, bare header (RFC 6887 14.1) */
	memset(req, 0, 24);
	req[0] = 2;
	req[1] = 0;
	be32(req + 4, 777);
	mapped(req + 8, CLIENT);
	assert_int_equal(handle(p, req, 24, CLIENT, T0 + 4, out), 24);
	memset(want, 0, 24);
	want[0] = 2;
	want[1] = 0x80;
	be32(want + 8, 4);
	assert_memory_equal(out, want, 24);
	/* with an optional option: still 24 bytes, the option not echoed */
	size_t len = add_opt(req, 24, 200, 4, 0x11);
	assert_int_equal(handle(p, req, len, CLIENT, T0 + 4, out), 24);
	assert_memory_equal(out, want, 24);
	/* an ANNOUNCE from someone else's address */
	mapped(req + 8, CLIENT2);
	map_expect_err(p, req, 24, T0 + 4, PCP_ADDRESS_MISMATCH, 1800);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_UNSUPP_OPCODE], 3);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_SUCCESS], 2);
	nat_pcp_free(p);
}

static void test_versions(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[64], out[NAT_PCP_MAX_PACKET], want[24];

	/* RFC 6887 9: UNSUPP_VERSION in a header naming version 2, opcode echoed */
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};
	for (int v = 1; v <= 255; v += 254) {
		map_req(req, &r);
		req[0] = (uint8_t)v;
		assert_int_equal(handle(p, req, 60, CLIENT, T0 + 9, out), 24);
		memset(want, 0, 24);
		want[0] = 2;
		want[1] = 0x81;
		want[3] = PCP_UNSUPP_VERSION;
		be32(want + 4, 1800);
		be32(want + 8, 9);
		assert_memory_equal(out, want, 24);
	}
	/* even a 2-byte one */
	req[0] = 3;
	req[1] = 0;
	assert_int_equal(handle(p, req, 2, CLIENT, T0 + 9, out), 24);
	want[1] = 0x80;
	assert_memory_equal(out, want, 24);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_UNSUPP_VERSION], 3);
	assert_int_equal(nat_pcp_count(p), 0);
	nat_pcp_free(p);
}

static void test_bad_lengths(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[1200], out[NAT_PCP_MAX_PACKET], want[NAT_PCP_MAX_PACKET];
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};

	/* shorter than the header: dropped (RFC 6887 8.3) */
	map_req(req, &r);
	assert_int_equal(handle(p, req, 23, CLIENT, T0, out), 0);
	assert_int_equal(handle(p, req, 1, CLIENT, T0, out), 0);
	assert_int_equal(handle(p, req, 0, CLIENT, T0, out), 0);
	assert_int_equal(nat_pcp_stats(p)->dropped_malformed, 3);
	/* a MAP too short for its opcode data */
	map_expect_err(p, req, 56, T0, PCP_MALFORMED_REQUEST, 1800);
	map_expect_err(p, req, 24, T0, PCP_MALFORMED_REQUEST, 1800);
	/* not a multiple of 4: the reply is the request cut to a multiple of 4 */
	assert_int_equal(handle(p, req, 62, CLIENT, T0, out), 60);
	pcp_err(want, req, 60, PCP_MALFORMED_REQUEST, 1800, 0);
	assert_memory_equal(out, want, 60);
	assert_int_equal(handle(p, req, 25, CLIENT, T0, out), 24);
	/* longer than 1100: MALFORMED_REQUEST, cut to 1100 */
	memset(req + 60, 0x80, sizeof(req) - 60); /* optional options' codes, if it were read */
	assert_int_equal(handle(p, req, 1104, CLIENT, T0, out), 1100);
	pcp_err(want, req, 1100, PCP_MALFORMED_REQUEST, 1800, 0);
	assert_memory_equal(out, want, 1100);
	/* a reply that does not fit OUT is not sent */
	assert_int_equal(nat_pcp_handle(p, req, 60, A(CLIENT), true, T0, out, 59), 0);
	assert_int_equal(nat_pcp_handle(p, req, 62, A(CLIENT), true, T0, out, 40), 0);
	assert_int_equal(nat_pcp_count(p), 1); /* the first one went through; only its reply was lost */
	assert_int_equal(nat_pcp_stats(p)->results[PCP_MALFORMED_REQUEST], 5);
	nat_pcp_free(p);
}

static void test_responses_and_wan_dropped(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[64], out[NAT_PCP_MAX_PACKET];
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};

	map_req(req, &r);
	req[1] = 0x81; /* a response: never answered */
	assert_int_equal(handle(p, req, 60, CLIENT, T0, out), 0);
	uint8_t pmp[2] = {0, 128};
	assert_int_equal(handle(p, pmp, 2, CLIENT, T0, out), 0);
	assert_int_equal(nat_pcp_stats(p)->dropped_response, 2);
	/* from the WAN: dropped, even valid requests, both protocols */
	map_req(req, &r);
	mapped(req + 8, WAN_PEER);
	assert_int_equal(nat_pcp_handle(p, req, 60, A(WAN_PEER), false, T0, out, sizeof(out)), 0);
	pmp[1] = 0;
	assert_int_equal(nat_pcp_handle(p, pmp, 2, A(WAN_PEER), false, T0, out, sizeof(out)), 0);
	const struct nat_pcp_stats *s = nat_pcp_stats(p);
	assert_int_equal(s->dropped_not_lan, 2);
	assert_int_equal(s->requests, 4);
	assert_int_equal(s->pcp, 0);
	assert_int_equal(s->natpmp, 0);
	assert_int_equal(nat_pcp_count(p), 0);
	assert_int_equal(E.nlog, 0);
	nat_pcp_free(p);
}

/* ---- PCP options ---- */

static void test_option_third_party(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[128];
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};
	size_t len;

	/* THIRD_PARTY: never for another host (issue 5) */
	len = map_req(req, &r);
	len = add_opt(req, len, 1, 16, 0);
	mapped(req + 64, CLIENT2);
	map_expect_err(p, req, len, T0, PCP_NOT_AUTHORIZED, 1800);
	/* not even naming itself, and not for a delete */
	mapped(req + 64, CLIENT);
	map_expect_err(p, req, len, T0, PCP_NOT_AUTHORIZED, 1800);
	be32(req + 4, 0);
	map_expect_err(p, req, len, T0, PCP_NOT_AUTHORIZED, 1800);
	/* wrong length (RFC 6887 13.1: 16 bytes) */
	len = add_opt(req, map_req(req, &r), 1, 4, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	/* twice */
	len = add_opt(req, map_req(req, &r), 1, 16, 0);
	len = add_opt(req, len, 1, 16, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	assert_int_equal(nat_pcp_count(p), 0);
	nat_pcp_free(p);
}

static void test_option_prefer_failure(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[128], out[NAT_PCP_MAX_PACKET], want[128];
	size_t len;

	/* honoured: the suggested port, and the option echoed */
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000, .sport = 15000};
	len = add_opt(req, map_req(req, &r), 2, 0, 0);
	assert_int_equal(handle(p, req, len, CLIENT, T0, out), 64);
	map_ok(want, 600, 0, &r, 15000, EXT);
	add_opt(want, 60, 2, 0, 0);
	assert_memory_equal(out, want, 64);
	/* the port is taken (by another client): CANNOT_PROVIDE_EXTERNAL, not another port */
	struct mreq r2 = {
		.life = 600, .nonce = 2, .proto = TCP, .iport = 5001, .sport = 15000, .client = CLIENT2};
	len = add_opt(req, map_req(req, &r2), 2, 0, 0);
	assert_int_equal(handle(p, req, len, CLIENT2, T0, out), 64);
	pcp_err(want, req, 64, PCP_CANNOT_PROVIDE_EXTERNAL, 30, 0);
	assert_memory_equal(out, want, 64);
	/* reserved by config */
	reserve(TCP, 16000, 16000);
	struct mreq r3 = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5002, .sport = 16000};
	len = add_opt(req, map_req(req, &r3), 2, 0, 0);
	map_expect_err(p, req, len, T0, PCP_CANNOT_PROVIDE_EXTERNAL, 30);
	/* an external address we do not have */
	struct mreq r4 = {
		.life = 600, .nonce = 1, .proto = TCP, .iport = 5003, .sport = 17000, .sugg = "203.0.113.6"};
	len = add_opt(req, map_req(req, &r4), 2, 0, 0);
	map_expect_err(p, req, len, T0, PCP_CANNOT_PROVIDE_EXTERNAL, 30);
	/* ... or the one we have, and no port: granted where we like */
	struct mreq r5 = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5004, .sugg = EXT};
	len = add_opt(req, map_req(req, &r5), 2, 0, 0);
	assert_int_equal(handle(p, req, len, CLIENT, T0, out), 64);
	assert_int_equal(out[3], PCP_SUCCESS);
	assert_int_equal(out[42] << 8 | out[43], 5004);
	/* a renewal asking for another port than the mapping has */
	r.sport = 15001;
	len = add_opt(req, map_req(req, &r), 2, 0, 0);
	map_expect_err(p, req, len, T0, PCP_CANNOT_PROVIDE_EXTERNAL, 30);
	/* nothing suggested at all */
	struct mreq r6 = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5005};
	len = add_opt(req, map_req(req, &r6), 2, 0, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	/* with data (RFC 6887 13.2: length 0) */
	len = add_opt(req, map_req(req, &r3), 2, 4, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	/* twice */
	len = add_opt(req, map_req(req, &r3), 2, 0, 0);
	len = add_opt(req, len, 2, 0, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	/* with ANNOUNCE: not an option of that opcode */
	memset(req, 0, 24);
	req[0] = 2;
	mapped(req + 8, CLIENT);
	len = add_opt(req, 24, 2, 0, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	assert_int_equal(nat_pcp_count(p), 2);
	nat_pcp_free(p);
}

static void test_option_unknown_and_bad(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[128], out[NAT_PCP_MAX_PACKET], want[128];
	struct mreq r = {.life = 600, .nonce = 1, .proto = UDP, .iport = 5000};
	size_t len;

	/* unknown mandatory-to-process (0-127): UNSUPP_OPTION (RFC 6887 7.3) */
	len = add_opt(req, map_req(req, &r), 50, 4, 0x33);
	map_expect_err(p, req, len, T0, PCP_UNSUPP_OPTION, 1800);
	len = add_opt(req, map_req(req, &r), 0, 0, 0);
	map_expect_err(p, req, len, T0, PCP_UNSUPP_OPTION, 1800);
	/* FILTER (3): we cannot filter, and must not pretend to */
	len = add_opt(req, map_req(req, &r), 3, 20, 0);
	map_expect_err(p, req, len, T0, PCP_UNSUPP_OPTION, 1800);
	/* length past the end of the message */
	len = add_opt(req, map_req(req, &r), 200, 4, 0);
	be16(req + 62, 5); /* 8 padded bytes, 4 there */
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	be16(req + 62, 0xffff);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	/* the first error in order wins: malformed, then an unsupported one */
	len = add_opt(req, map_req(req, &r), 2, 4, 0);
	len = add_opt(req, len, 50, 0, 0);
	map_expect_err(p, req, len, T0, PCP_MALFORMED_OPTION, 1800);
	assert_int_equal(nat_pcp_count(p), 0);
	/* optional-to-process (128-255), padded (length 1 → 4 data bytes): ignored, not echoed */
	len = add_opt(req, map_req(req, &r), 200, 1, 0x77);
	len = add_opt(req, len, 255, 0, 0);
	assert_int_equal(len, 72);
	assert_int_equal(handle(p, req, len, CLIENT, T0, out), 60);
	map_ok(want, 600, 0, &r, 5000, EXT);
	assert_memory_equal(out, want, 60);
	assert_int_equal(nat_pcp_count(p), 1);
	nat_pcp_free(p);
}

/* ---- limits and refusals ---- */

static void test_per_client_limit(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	for (uint16_t i = 0; i < NAT_PCP_PER_CLIENT; i++) {
		struct mreq r = {
			.life = 600, .nonce = 1, .proto = (i & 1) ? TCP : UDP, .iport = (uint16_t)(2000 + i)};
		map_expect(p, &r, T0, 600, (uint16_t)(2000 + i));
	}
	struct mreq r = {.life = 600, .nonce = 1, .proto = UDP, .iport = 3000};
	map_err(p, &r, T0, PCP_USER_EX_QUOTA, 30);
	pmp_expect(p, CLIENT, 1, 3000, 0, 600, T0, 4, 0, 0);
	/* a renewal is not a new mapping */
	struct mreq again = {.life = 900, .nonce = 1, .proto = UDP, .iport = 2000};
	map_expect(p, &again, T0 + 1, 900, 2000);
	/* another client is not limited by it */
	struct mreq other = {.life = 600, .nonce = 1, .proto = UDP, .iport = 3000, .client = CLIENT2};
	map_expect(p, &other, T0, 600, 3000);
	/* after a delete there is room again */
	struct mreq del = {.life = 0, .nonce = 1, .proto = TCP, .iport = 2001};
	uint8_t req[64], out[NAT_PCP_MAX_PACKET];
	assert_int_equal(handle(p, req, map_req(req, &del), CLIENT, T0, out), 60);
	map_expect(p, &r, T0, 600, 1024); /* 3000 is CLIENT2's */
	assert_int_equal(nat_pcp_count(p), NAT_PCP_PER_CLIENT + 1);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_USER_EX_QUOTA], 1);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_NO_RESOURCES], 1); /* NAT-PMP's 4 */
	nat_pcp_free(p);
}

static void test_total_limit(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	struct nat_pcp_mapping m = {.proto = UDP, .int_port = 1, .expires = T0 + 1000};

	for (uint32_t i = 0; i < NAT_PCP_MAX_MAPPINGS; i++) {
		m.client.s_addr = htonl(0x0a000000u + i); /* 10.0.x.y, one each */
		m.ext_port = (uint16_t)(10000 + i);
		assert_int_equal(nat_pcp_restore(p, &m), 0);
	}
	assert_int_equal(nat_pcp_count(p), NAT_PCP_MAX_MAPPINGS);
	m.client.s_addr = htonl(0x0b000001u);
	m.ext_port = 30000;
	assert_int_equal(nat_pcp_restore(p, &m), -ENOSPC);
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};
	map_err(p, &r, T0, PCP_NO_RESOURCES, 30);
	pmp_expect(p, CLIENT, 2, 5000, 0, 600, T0, 4, 0, 0);
	assert_int_equal(E.nlog, 0); /* restore calls nothing */
	/* expire them all: room again */
	assert_int_equal(nat_pcp_expire(p, T0 + 1000), 0);
	assert_int_equal(nat_pcp_count(p), 0);
	assert_int_equal(E.ncalls, NAT_PCP_MAX_MAPPINGS);
	assert_int_equal(E.log[0].ch, NAT_PCP_REMOVED);
	assert_int_equal(nat_pcp_stats(p)->expired, NAT_PCP_MAX_MAPPINGS);
	map_expect(p, &r, T0 + 1000, 600, 5000);
	nat_pcp_free(p);
}

static void test_changed_refused(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	E.fail = 1u << NAT_PCP_ADDED;
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000, .sport = 15000};
	map_err(p, &r, T0, PCP_NO_RESOURCES, 30);
	assert_int_equal(nat_pcp_count(p), 0);
	assert_int_equal(E.nlog, 1); /* the refused ADDED, and no REMOVED for it */
	pmp_expect(p, CLIENT, 2, 5000, 0, 600, T0, 4, 0, 0);
	assert_int_equal(nat_pcp_count(p), 0);
	E.fail = 0;
	/* the port was not kept */
	map_expect(p, &r, T0, 600, 15000);
	/* a refused renewal keeps the old expiry */
	E.fail = 1u << NAT_PCP_RENEWED;
	r.life = 3000;
	map_err(p, &r, T0 + 100, PCP_NO_RESOURCES, 30);
	size_t cur = 0;
	const struct nat_pcp_mapping *m = nat_pcp_next(p, &cur);
	assert_non_null(m);
	assert_int_equal(m->expires, T0 + 600);
	assert_int_equal(m->ext_port, 15000);
	assert_null(nat_pcp_next(p, &cur));
	assert_int_equal(nat_pcp_stats(p)->added, 1);
	assert_int_equal(nat_pcp_stats(p)->renewed, 0);
	nat_pcp_free(p);
}

static void test_one_port_one_client(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	struct mreq a = {.life = 600, .nonce = 1, .proto = TCP, .iport = 22, .sport = 2222};
	map_expect(p, &a, T0, 600, 2222);
	E.rnd = 1198; /* 1024 + 1198 = 2222: the random pick lands on it and moves on */
	struct mreq b = {
		.life = 600, .nonce = 1, .proto = TCP, .iport = 2222, .sport = 2222, .client = CLIENT2};
	map_expect(p, &b, T0, 600, 2223);
	/* NAT-PMP from a third host, same wish */
	pmp_expect(p, "192.168.1.22", 2, 2222, 2222, 600, T0, 0, 2224, 600);
	nat_pcp_free(p);
}

/* ---- epoch, expiry, restore, drop_reserved ---- */

static void test_epoch(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t out[64], want[24];

	assert_int_equal(nat_pcp_announce(p, T0 + 42, out, sizeof(out)), 24);
	memset(want, 0, 24);
	want[0] = 2;
	want[1] = 0x80; /* R, ANNOUNCE */
	be32(want + 8, 42);
	assert_memory_equal(out, want, 24);
	/* before the start: 0, not a wrapped-around huge value */
	assert_int_equal(nat_pcp_announce(p, T0 - 5, out, sizeof(out)), 24);
	be32(want + 8, 0);
	assert_memory_equal(out, want, 24);
	assert_int_equal(nat_pcp_announce(p, T0, out, 23), 0);
	/* RFC 6886 3.2.1 */
	assert_int_equal(nat_pcp_natpmp_notice(p, T0 + 100000, out, sizeof(out)), 12);
	const uint8_t notice[12] = {0, 128, 0, 0, 0x00, 0x01, 0x86, 0xa0, 203, 0, 113, 5};
	assert_memory_equal(out, notice, 12);
	E.ext.s_addr = 0;
	assert_int_equal(nat_pcp_natpmp_notice(p, T0 + 1, out, sizeof(out)), 12);
	const uint8_t nonet[12] = {0, 128, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0};
	assert_memory_equal(out, nonet, 12);
	assert_int_equal(nat_pcp_natpmp_notice(p, T0, out, 11), 0);
	/* a new epoch */
	nat_pcp_set_epoch_start(p, T0 + 50);
	assert_int_equal(nat_pcp_announce(p, T0 + 60, out, sizeof(out)), 24);
	assert_int_equal(out[11], 10);
	/* replies carry it too */
	E.ext = A(EXT);
	uint8_t pmp[2] = {0, 0}, rep[12];
	assert_int_equal(handle(p, pmp, 2, CLIENT, T0 + 50 + 0x01020304, rep), 12);
	assert_int_equal(rep[4], 1);
	assert_int_equal(rep[5], 2);
	assert_int_equal(rep[6], 3);
	assert_int_equal(rep[7], 4);
	nat_pcp_free(p);
}

static void test_expire(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	assert_int_equal(nat_pcp_expire(p, T0), 0);
	struct mreq a = {.life = 200, .nonce = 1, .proto = TCP, .iport = 5000};
	struct mreq b = {.life = 300, .nonce = 1, .proto = UDP, .iport = 5001};
	struct mreq c = {.life = 500, .nonce = 1, .proto = TCP, .iport = 5002, .client = CLIENT2};
	map_expect(p, &a, T0, 200, 5000);
	map_expect(p, &b, T0, 300, 5001);
	map_expect(p, &c, T0, 500, 5002);
	E.nlog = 0;
	assert_int_equal(nat_pcp_expire(p, T0 + 199), T0 + 200);
	assert_int_equal(E.nlog, 0);
	assert_int_equal(nat_pcp_expire(p, T0 + 300), T0 + 500);
	assert_int_equal(E.nlog, 2);
	assert_int_equal(nat_pcp_count(p), 1);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(E.log[k].ch, NAT_PCP_REMOVED);
		assert_int_equal(E.log[k].now, T0 + 300);
		assert_true(E.log[k].m.int_port == 5000 || E.log[k].m.int_port == 5001);
	}
	assert_int_equal(nat_pcp_stats(p)->expired, 2);
	/* a request after the last expiry finds it gone (and its port free) */
	struct mreq d = {.life = 600, .nonce = 9, .proto = TCP, .iport = 6000, .sport = 5002};
	map_expect(p, &d, T0 + 500, 600, 5002);
	assert_int_equal(E.nlog, 4);
	check_change(2, NAT_PCP_REMOVED, TCP, CLIENT2, 5002, 5002, T0 + 500);
	check_change(3, NAT_PCP_ADDED, TCP, CLIENT, 6000, 5002, T0 + 1100);
	assert_int_equal(nat_pcp_stats(p)->expired, 3);
	assert_int_equal(nat_pcp_expire(p, T0 + 500), T0 + 1100);
	nat_pcp_free(p);
}

static void test_restore(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	struct nat_pcp_mapping m = {
		.proto = TCP, .client = A(CLIENT), .int_port = 5000, .ext_port = 15000, .expires = T0 + 3000};

	memset(m.nonce, 0x42, sizeof(m.nonce));
	assert_int_equal(nat_pcp_restore(p, &m), 0);
	assert_int_equal(E.nlog, 0);
	assert_int_equal(nat_pcp_count(p), 1);
	/* the same port, or the same client key, again */
	struct nat_pcp_mapping dup = m;
	dup.client = A(CLIENT2);
	assert_int_equal(nat_pcp_restore(p, &dup), -EEXIST);
	dup = m;
	dup.ext_port = 15001;
	assert_int_equal(nat_pcp_restore(p, &dup), -EEXIST);
	/* nonsense */
	dup = m;
	dup.proto = 1;
	assert_int_equal(nat_pcp_restore(p, &dup), -EINVAL);
	dup = m;
	dup.int_port = 0;
	assert_int_equal(nat_pcp_restore(p, &dup), -EINVAL);
	dup = m;
	dup.ext_port = 0;
	assert_int_equal(nat_pcp_restore(p, &dup), -EINVAL);
	dup = m;
	dup.client.s_addr = 0;
	assert_int_equal(nat_pcp_restore(p, &dup), -EINVAL);
	/* its owner renews it: the same port */
	struct mreq r = {.life = 600, .nonce = 0x42, .proto = TCP, .iport = 5000};
	map_expect(p, &r, T0 + 10, 600, 15000);
	check_change(0, NAT_PCP_RENEWED, TCP, CLIENT, 5000, 15000, T0 + 610);
	/* another client cannot have its port */
	struct mreq o = {.life = 600, .nonce = 1, .proto = TCP, .iport = 15000, .client = CLIENT2};
	E.rnd = 0;
	map_expect(p, &o, T0 + 10, 600, 1024);
	/* a restored NAT-PMP mapping (no nonce) renewed by PCP */
	struct nat_pcp_mapping n = {.proto = UDP,
				    .client = A(CLIENT2),
				    .int_port = 4000,
				    .ext_port = 14000,
				    .expires = T0 + 3000,
				    .natpmp = true};
	assert_int_equal(nat_pcp_restore(p, &n), 0);
	struct mreq rn = {.life = 600, .nonce = 5, .proto = UDP, .iport = 4000, .client = CLIENT2};
	map_expect(p, &rn, T0 + 10, 600, 14000);
	assert_int_equal(nat_pcp_count(p), 3);
	nat_pcp_free(p);
}

static void test_drop_reserved(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	for (uint16_t i = 0; i < 6; i++) {
		struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = (uint16_t)(5000 + i)};
		map_expect(p, &r, T0, 600, (uint16_t)(5000 + i));
	}
	struct mreq u = {.life = 600, .nonce = 1, .proto = UDP, .iport = 5001};
	map_expect(p, &u, T0, 600, 5001);
	E.nlog = 0;
	assert_int_equal(nat_pcp_drop_reserved(p, T0 + 5), 0);
	reserve(TCP, 5001, 5002);
	reserve(TCP, 5005, 5005);
	assert_int_equal(nat_pcp_drop_reserved(p, T0 + 5), 3);
	assert_int_equal(E.nlog, 3);
	assert_int_equal(nat_pcp_count(p), 4);
	size_t cur = 0;
	const struct nat_pcp_mapping *m;
	while ((m = nat_pcp_next(p, &cur)))
		assert_true(m->proto == UDP || m->ext_port == 5000 || m->ext_port == 5003 ||
			    m->ext_port == 5004);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(E.log[k].ch, NAT_PCP_REMOVED);
		assert_int_equal(E.log[k].now, T0 + 5);
	}
	/* a renewal whose port a forward took since moves to a new port */
	reserve(TCP, 5000, 5000);
	struct mreq r = {.life = 600, .nonce = 1, .proto = TCP, .iport = 5000};
	E.rnd = 100;
	map_expect(p, &r, T0 + 6, 600, 1124);
	check_change(3, NAT_PCP_REMOVED, TCP, CLIENT, 5000, 5000, T0 + 600);
	check_change(4, NAT_PCP_ADDED, TCP, CLIENT, 5000, 1124, T0 + 606);
	nat_pcp_free(p);
}

static void test_iteration(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	size_t cur = 0;
	bool seen[40] = {0};

	assert_null(nat_pcp_next(p, &cur));
	for (uint16_t i = 0; i < 40; i++)
		pmp_expect(p, i < 20 ? CLIENT : CLIENT2, 1, (uint16_t)(6000 + i), 0, 600, T0, 0,
			   (uint16_t)(6000 + i), 600);
	/* delete some in the middle: the rest are still listed once each */
	for (uint16_t i = 0; i < 40; i += 3)
		pmp_expect(p, i < 20 ? CLIENT : CLIENT2, 1, (uint16_t)(6000 + i), 0, 0, T0, 0, 0, 0);
	assert_int_equal(nat_pcp_count(p), 26);
	const struct nat_pcp_mapping *m;
	size_t n = 0;
	cur = 0;
	while ((m = nat_pcp_next(p, &cur))) {
		int i = m->int_port - 6000;
		assert_true(i >= 0 && i < 40 && i % 3 != 0 && !seen[i]);
		seen[i] = true;
		assert_int_equal(m->client.s_addr, A(i < 20 ? CLIENT : CLIENT2).s_addr);
		assert_true(m->natpmp);
		n++;
	}
	assert_int_equal(n, 26);
	nat_pcp_free(p);
}

/* ---- NAT-PMP ---- */

static void test_natpmp_address(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[4] = {0, 0, 0, 0}, out[64];

	assert_int_equal(handle(p, req, 2, CLIENT, T0 + 0x0a0b, out), 12);
	const uint8_t want[12] = {0, 128, 0, 0, 0, 0, 0x0a, 0x0b, 203, 0, 113, 5};
	assert_memory_equal(out, want, 12);
	E.ext.s_addr = 0;
	assert_int_equal(handle(p, req, 2, CLIENT, T0, out), 12);
	const uint8_t nonet[12] = {0, 128, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_memory_equal(out, nonet, 12);
	/* wrong length: dropped */
	assert_int_equal(handle(p, req, 3, CLIENT, T0, out), 0);
	assert_int_equal(handle(p, req, 4, CLIENT, T0, out), 0);
	const struct nat_pcp_stats *s = nat_pcp_stats(p);
	assert_int_equal(s->dropped_malformed, 2);
	assert_int_equal(s->natpmp, 4);
	assert_int_equal(s->results[PCP_SUCCESS], 1);
	assert_int_equal(s->results[PCP_NETWORK_FAILURE], 1);
	nat_pcp_free(p);
}

static void test_natpmp_map(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	/* UDP: suggested port free */
	pmp_expect(p, CLIENT, 1, 5000, 25000, 7200, T0 + 3, 0, 25000, 7200);
	check_change(0, NAT_PCP_ADDED, UDP, CLIENT, 5000, 25000, T0 + 3 + 7200);
	assert_true(E.log[0].m.natpmp);
	/* TCP: suggested 0, internal port; lifetime clamped to the minimum */
	pmp_expect(p, CLIENT, 2, 5000, 0, 5, T0 + 3, 0, 5000, LMIN);
	/* renewal: the same external port whatever is suggested */
	pmp_expect(p, CLIENT, 1, 5000, 30000, 3600, T0 + 10, 0, 25000, 3600);
	check_change(2, NAT_PCP_RENEWED, UDP, CLIENT, 5000, 25000, T0 + 3610);
	/* internal port 0 with a lifetime: refused */
	pmp_expect(p, CLIENT, 1, 0, 0, 3600, T0 + 10, 2, 0, 0);
	/* no external address: network failure */
	E.ext.s_addr = 0;
	pmp_expect(p, CLIENT, 1, 5001, 0, 3600, T0 + 10, 3, 0, 0);
	E.ext = A(EXT);
	/* refused by changed() */
	E.fail = 1u << NAT_PCP_ADDED;
	pmp_expect(p, CLIENT, 1, 5001, 0, 3600, T0 + 10, 4, 0, 0);
	E.fail = 0;
	assert_int_equal(nat_pcp_count(p), 2);
	/* reserved suggestion: NAT-PMP has no PREFER_FAILURE, another port is given */
	reserve(TCP, 8000, 8000);
	pmp_expect(p, CLIENT, 2, 8000, 8000, 600, T0 + 10, 0, 1024, 600);
	/* wrong lengths are dropped */
	uint8_t req[16], out[64];
	pmp_req(req, 1, 5002, 0, 600);
	assert_int_equal(handle(p, req, 11, CLIENT, T0, out), 0);
	assert_int_equal(handle(p, req, 13, CLIENT, T0, out), 0);
	assert_int_equal(handle(p, req, 2, CLIENT, T0, out), 0);
	assert_int_equal(nat_pcp_stats(p)->dropped_malformed, 3);
	assert_int_equal(nat_pcp_count(p), 3);
	const struct nat_pcp_stats *s = nat_pcp_stats(p);
	assert_int_equal(s->results[PCP_SUCCESS], 4);
	assert_int_equal(s->results[PCP_NOT_AUTHORIZED], 1);
	assert_int_equal(s->results[PCP_NETWORK_FAILURE], 1);
	assert_int_equal(s->results[PCP_NO_RESOURCES], 1);
	nat_pcp_free(p);
}

static void test_natpmp_delete(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();

	pmp_expect(p, CLIENT, 1, 5000, 0, 600, T0, 0, 5000, 600);
	pmp_expect(p, CLIENT, 1, 5001, 0, 600, T0, 0, 5001, 600);
	pmp_expect(p, CLIENT, 2, 5002, 0, 600, T0, 0, 5002, 600);
	pmp_expect(p, CLIENT2, 1, 5003, 0, 600, T0, 0, 5003, 600);
	/* a PCP mapping of the same host: NAT-PMP has no nonce to tell them apart */
	struct mreq r = {.life = 600, .nonce = 1, .proto = UDP, .iport = 5004};
	map_expect(p, &r, T0, 600, 5004);
	E.nlog = 0;
	/* one: RFC 6886 3.4 — external port and lifetime 0 */
	pmp_expect(p, CLIENT, 1, 5001, 0, 0, T0 + 1, 0, 0, 0);
	assert_int_equal(E.nlog, 1);
	check_change(0, NAT_PCP_REMOVED, UDP, CLIENT, 5001, 5001, T0 + 600);
	/* one that is not there: success all the same */
	pmp_expect(p, CLIENT, 1, 5001, 0, 0, T0 + 1, 0, 0, 0);
	/* all of CLIENT's UDP ones: 5000 and the PCP 5004, not TCP 5002 nor CLIENT2's */
	pmp_expect(p, CLIENT, 1, 0, 0, 0, T0 + 2, 0, 0, 0);
	assert_int_equal(E.nlog, 3);
	assert_int_equal(nat_pcp_count(p), 2);
	size_t cur = 0;
	const struct nat_pcp_mapping *m;
	while ((m = nat_pcp_next(p, &cur)))
		assert_true(m->ext_port == 5002 || m->ext_port == 5003);
	assert_int_equal(nat_pcp_stats(p)->deleted, 3);
	nat_pcp_free(p);
}

static void test_natpmp_unsupported_opcode(void **state)
{
	(void)state;
	struct nat_pcp *p = mk();
	uint8_t req[12] = {0, 3}, out[64];

	/* RFC 6886 3.5: the 8-byte generic response with result 5 */
	assert_int_equal(handle(p, req, 12, CLIENT, T0 + 1, out), 8);
	const uint8_t want[8] = {0, 131, 0, 5, 0, 0, 0, 1};
	assert_memory_equal(out, want, 8);
	req[1] = 127;
	assert_int_equal(handle(p, req, 2, CLIENT, T0 + 1, out), 8);
	assert_int_equal(out[1], 255);
	assert_int_equal(nat_pcp_stats(p)->results[PCP_UNSUPP_OPCODE], 2);
	nat_pcp_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_udp_internal_port),
		cmocka_unit_test(test_map_tcp_suggested),
		cmocka_unit_test(test_port_choice_order),
		cmocka_unit_test(test_reserved_ports_never_granted),
		cmocka_unit_test(test_no_free_port),
		cmocka_unit_test(test_lifetime_clamped),
		cmocka_unit_test(test_renewal_keeps_port),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_delete_all),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_address_mismatch),
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_responses_and_wan_dropped),
		cmocka_unit_test(test_option_third_party),
		cmocka_unit_test(test_option_prefer_failure),
		cmocka_unit_test(test_option_unknown_and_bad),
		cmocka_unit_test(test_per_client_limit),
		cmocka_unit_test(test_total_limit),
		cmocka_unit_test(test_changed_refused),
		cmocka_unit_test(test_one_port_one_client),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_drop_reserved),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_natpmp_address),
		cmocka_unit_test(test_natpmp_map),
		cmocka_unit_test(test_natpmp_delete),
		cmocka_unit_test(test_natpmp_unsupported_opcode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
