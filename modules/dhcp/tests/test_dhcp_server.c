/* test_dhcp_server.c — the server and relay decisions: real packets in
 * (built here byte by byte, or by the reply builder for a server's answer),
 * the result out, parsed back with dhcp_parse. A fixed `now`; links come
 * from a table of fakes standing in for the core's iface table.
 *
 * Links:  lan0   ifindex 2  198.51.100.1/24   scope lan (authoritative)
 *         lan1   ifindex 3  203.0.113.1/24    scope lan2 (authoritative no)
 *         guest0 ifindex 4  100.64.4.1/24     dhcp-relay guest → 198.18.0.2, 198.18.0.3
 *         wan0   ifindex 5  100.64.0.1/24     where relays and servers reach us
 * and the remote scope 198.18.30.0/24 behind the relay 198.18.30.1. */
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

#include "core_config.h"
#include "dhcp_packet.h"
#include "dhcp_server.h"
#include "module.h"

#define NOW 1700000000
#define HOUR 3600

/* ------------------------------------------------------------ config */

static const char *const s_dhcp[] = {"dhcp", "dhcp-relay", NULL};
static const char *const s_dns[] = {"dns", NULL};

static int accept_all(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	(void)cfg;
	(void)err;
	*mod_cfg = NULL;
	return 0;
}

static const struct gw_module dhcp_mod = {
	.name = "dhcp", .sections = s_dhcp, .configure = dhcp_configure, .free_config = dhcp_config_free};
static const struct gw_module dns_mod = {.name = "dns", .sections = s_dns, .configure = accept_all};
static const struct gw_module *const mods[] = {&dhcp_mod, &dns_mod};

#define IFACES                                \
	"interface lan { device lan0 }\n"     \
	"interface lan2 { device lan1 }\n"    \
	"interface guest { device guest0 }\n" \
	"interface wan { device wan0 }\n"

static const char *const base_conf =
	IFACES "dhcp lan {\n"
	       "  pool 198.51.100.100 198.51.100.150\n"
	       "  lease-time 1h\n"
	       "  domain home.arpa\n"
	       "  ntp-server 198.51.100.1\n"
	       "  mtu 1500\n"
	       "  route 10.8.0.0/16 198.51.100.2\n"
	       "  option 252 text \"http://wpad.home.arpa/wpad.dat\"\n"
	       "  host printer { mac 00:11:22:33:44:55\n address 198.51.100.10\n name printer }\n"
	       "  host tv { client-id 01:aa:bb:cc:dd:ee:ff\n address 198.51.100.11 }\n"
	       "}\n"
	       "dhcp lan2 {\n"
	       "  pool 203.0.113.100 203.0.113.103\n"
	       "  authoritative no\n"
	       "}\n"
	       "dhcp 198.18.30.0/24 {\n"
	       "  pool 198.18.30.100 198.18.30.200\n"
	       "  router 198.18.30.1\n"
	       "  dns-server 198.18.0.53\n"
	       "}\n"
	       "dhcp-relay guest {\n"
	       "  server 198.18.0.2\n"
	       "  server 198.18.0.3\n"
	       "  remote-id \"gw1\"\n"
	       "}\n"
	       "dns { listen lan 203.0.113.1 }\n";

/* ------------------------------------------------------------ links */

struct fake_link {
	struct dhcp_link l;
	struct gw_iface_addr a[2];
};

static struct fake_link links[4];

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void link_set(int i, int ifindex, const char *dev, const char *addr, uint8_t prefix)
{
	links[i].a[0] = (struct gw_iface_addr){.addr = ip(addr), .prefixlen = prefix};
	links[i].l = (struct dhcp_link){ifindex, dev, links[i].a, 1, 1500};
}

static void links_reset(void)
{
	link_set(0, 2, "lan0", "198.51.100.1", 24);
	link_set(1, 3, "lan1", "203.0.113.1", 24);
	link_set(2, 4, "guest0", "100.64.4.1", 24);
	link_set(3, 5, "wan0", "100.64.0.1", 24);
}

#define LAN (&links[0].l)
#define LAN2 (&links[1].l)
#define GUEST (&links[2].l)
#define WAN (&links[3].l)

static bool fake_link_by_device(void *data, const char *device, struct dhcp_link *out)
{
	(void)data;
	for (size_t i = 0; i < 4; i++)
		if (strcmp(links[i].l.device, device) == 0) {
			*out = links[i].l;
			return true;
		}
	return false;
}

static bool fake_is_local(void *data, struct in_addr a)
{
	(void)data;
	if (a.s_addr == htonl(INADDR_LOOPBACK))
		return true;
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < links[i].l.naddrs; j++)
			if (links[i].a[j].addr.s_addr == a.s_addr)
				return true;
	return false;
}

/* ------------------------------------------------------------ fixture */

struct fx {
	struct gw_config *cfg;
	const struct dhcp_config *dc;
	struct dhcp_lease_table *t;
	struct gw_names *names;
	struct dhcp_server s;
	struct dhcp_result res;
	struct dhcp_msg reply; /* the last reply, parsed */
	time_t now;
};

static struct gw_config *load(const char *text)
{
	struct cf_errors e;
	struct cf_tree *t;
	struct gw_config *cfg;

	cf_errors_init(&e);
	t = cf_parse_string("t.conf", text, strlen(text), &e);
	assert_non_null(t);
	cfg = gw_config_from_tree(t, "t.conf", mods, 2, &e);
	for (size_t i = 0; i < e.nerrors; i++)
		print_error("%s\n", e.errors[i]);
	assert_non_null(cfg);
	cf_errors_free(&e);
	return cfg;
}

static struct fx *fx_new(const char *text)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dhcp_server_env env = {fake_link_by_device, fake_is_local, NULL};

	assert_non_null(f);
	links_reset();
	f->cfg = load(text);
	f->dc = gw_config_module(f->cfg, &dhcp_mod);
	assert_non_null(f->dc);
	f->t = dhcp_lease_table_new(42);
	f->names = gw_names_new();
	assert_non_null(f->t);
	assert_non_null(f->names);
	f->now = NOW;
	assert_int_equal(dhcp_server_init(&f->s, f->dc, f->t, f->names, &env, 7, f->now), 0);
	return f;
}

static int setup(void **state)
{
	*state = fx_new(base_conf);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dhcp_server_free(&f->s);
	dhcp_lease_table_free(f->t);
	gw_names_free(f->names);
	gw_config_free(f->cfg);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ client packets */

struct creq {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t flags;
	struct in_addr ciaddr, yiaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t opts[1400];
	size_t olen;
	size_t pad_to; /* 0: 300 */
};

static const uint8_t MAC1[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC2[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t MAC3[6] = {0x02, 0, 0, 0, 0, 0x03};
static const uint8_t PRINTER[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};

static void opt(struct creq *c, uint8_t code, const void *data, size_t len)
{
	assert_true(c->olen + 2 + len <= sizeof(c->opts));
	c->opts[c->olen++] = code;
	c->opts[c->olen++] = (uint8_t)len;
	memcpy(c->opts + c->olen, data, len);
	c->olen += len;
}

static void opt_addr(struct creq *c, uint8_t code, struct in_addr a)
{
	opt(c, code, &a, 4);
}

static void creq_init(struct creq *c, uint8_t type, const uint8_t mac[6])
{
	memset(c, 0, sizeof(*c));
	c->op = DHCP_BOOTREQUEST;
	c->htype = DHCP_HTYPE_ETHER;
	c->hlen = 6;
	c->xid = 0x11223344;
	if (mac)
		memcpy(c->chaddr, mac, 6);
	opt(c, DHCP_OPT_MSG_TYPE, &type, 1);
}

static size_t creq_bytes(const struct creq *c, uint8_t *out, size_t cap)
{
	size_t n = DHCP_OPTIONS_OFF, min = c->pad_to ? c->pad_to : DHCP_MIN_LEN;

	assert_true(DHCP_OPTIONS_OFF + c->olen + 1 <= cap);
	memset(out, 0, cap);
	out[0] = c->op;
	out[1] = c->htype;
	out[2] = c->hlen;
	out[3] = c->hops;
	out[4] = (uint8_t)(c->xid >> 24);
	out[5] = (uint8_t)(c->xid >> 16);
	out[6] = (uint8_t)(c->xid >> 8);
	out[7] = (uint8_t)c->xid;
	out[10] = (uint8_t)(c->flags >> 8);
	out[11] = (uint8_t)c->flags;
	memcpy(out + 12, &c->ciaddr, 4);
	memcpy(out + 16, &c->yiaddr, 4);
	memcpy(out + 24, &c->giaddr, 4);
	memcpy(out + 28, c->chaddr, 16);
	out[236] = 99, out[237] = 130, out[238] = 83, out[239] = 99;
	memcpy(out + n, c->opts, c->olen);
	n += c->olen;
	out[n++] = DHCP_OPT_END;
	return n < min ? min : n;
}

/* Hand C to the server as arriving on LINK from SRC to DST. */
static enum dhcp_result_kind send_from(struct fx *f, const struct creq *c, const struct dhcp_link *link,
				       const char *src, const char *dst)
{
	uint8_t buf[1500];
	size_t n = creq_bytes(c, buf, sizeof(buf));
	struct dhcp_rx rx = {.ifindex = link->ifindex, .src = ip(src), .sport = 68, .dst = ip(dst)};
	enum dhcp_result_kind k = dhcp_server_handle(&f->s, buf, n, link, &rx, f->now, &f->res);

	assert_int_equal(k, f->res.kind);
	if (k != DHCP_RESULT_NONE)
		assert_int_equal(dhcp_parse(f->res.buf, f->res.len, &f->reply), 0);
	return k;
}

/* A client broadcast on LINK. */
static enum dhcp_result_kind bcast(struct fx *f, const struct creq *c, const struct dhcp_link *link)
{
	return send_from(f, c, link, "0.0.0.0", "255.255.255.255");
}

static void expect_drop(struct fx *f, int reason)
{
	assert_int_equal(f->res.kind, DHCP_RESULT_NONE);
	assert_string_equal(dhcp_srv_drop_name(f->res.drop), dhcp_srv_drop_name(reason));
	assert_int_equal(f->res.drop, reason);
	assert_int_equal(f->res.ndest, 0);
}

static void expect_silence(struct fx *f)
{
	assert_int_equal(f->res.kind, DHCP_RESULT_NONE);
	assert_int_equal(f->res.drop, 0);
}

/* ------------------------------------------------------------ reply checks */

static struct in_addr r_addr(struct fx *f, uint8_t code)
{
	struct in_addr a = {0};

	assert_int_equal(dhcp_opt_addr(&f->reply, code, &a), 0);
	return a;
}

static uint32_t r_u32(struct fx *f, uint8_t code)
{
	uint32_t v = 0;

	assert_int_equal(dhcp_opt_u32(&f->reply, code, &v), 0);
	return v;
}

static void expect_addr(struct in_addr a, const char *want)
{
	char got[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, got, sizeof(got));
	assert_string_equal(got, want);
}

static void expect_opt_addr(struct fx *f, uint8_t code, const char *want)
{
	expect_addr(r_addr(f, code), want);
}

static void expect_reply(struct fx *f, uint8_t type)
{
	assert_int_equal(f->res.kind, DHCP_RESULT_REPLY);
	assert_int_equal(f->res.type, type);
	assert_int_equal(f->reply.op, DHCP_BOOTREPLY);
	assert_int_equal(f->reply.type, type);
	assert_int_equal(f->res.ndest, 1);
	assert_true(f->res.len >= DHCP_MIN_LEN); /* RFC 1542 2.1 */
}

static void expect_dest(const struct dhcp_dest *d, enum dhcp_send_kind kind, int ifindex, const char *src,
			const char *dst, uint16_t port)
{
	assert_int_equal(d->kind, kind);
	assert_int_equal(d->ifindex, ifindex);
	expect_addr(d->src, src);
	expect_addr(d->dst, dst);
	assert_int_equal(d->port, port);
}

static const struct dhcp_lease *lease_at(struct fx *f, const char *a)
{
	return dhcp_lease_by_addr(f->t, ntohl(ip(a).s_addr));
}

static void expect_state(struct fx *f, const char *a, int state)
{
	const struct dhcp_lease *l = lease_at(f, a);

	assert_non_null(l);
	assert_string_equal(dhcp_lease_state_name(l->state), dhcp_lease_state_name(state));
}

static bool has_name(struct fx *f, const char *name, const char *a)
{
	const struct gw_name *e[4];
	size_t n = gw_names_lookup(f->names, name, f->now, e, 4);

	for (size_t i = 0; i < n && i < 4; i++)
		if (e[i]->addr.s_addr == ip(a).s_addr && e[i]->source == GW_NAME_DHCP)
			return true;
	return false;
}

/* ------------------------------------------------------------ exchanges */

static void discover(struct fx *f, const uint8_t mac[6], const struct dhcp_link *link)
{
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, mac);
	bcast(f, &c, link);
	expect_reply(f, DHCP_OFFER);
}

static void request_selecting(struct fx *f, const uint8_t mac[6], struct in_addr addr, const char *sid)
{
	struct creq c;

	creq_init(&c, DHCP_REQUEST, mac);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip(sid));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, addr);
	bcast(f, &c, LAN);
}

/* DISCOVER, OFFER, REQUEST, ACK on lan: the address. */
static struct in_addr bind_lan(struct fx *f, const uint8_t mac[6])
{
	struct in_addr a;

	discover(f, mac, LAN);
	a = f->reply.yiaddr;
	request_selecting(f, mac, a, "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	assert_int_equal(f->reply.yiaddr.s_addr, a.s_addr);
	return a;
}

/* ------------------------------------------------------------ DISCOVER / OFFER */

static void test_discover_offer(void **state)
{
	struct fx *f = *state;
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	assert_int_equal(bcast(f, &c, LAN), DHCP_RESULT_REPLY);
	expect_reply(f, DHCP_OFFER);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	assert_int_equal(f->reply.xid, 0x11223344);
	assert_memory_equal(f->reply.chaddr, MAC1, 6);
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "198.51.100.1");
	assert_int_equal(r_u32(f, DHCP_OPT_LEASE_TIME), 3600);
	assert_int_equal(r_u32(f, DHCP_OPT_RENEWAL_TIME), 1800);
	assert_int_equal(r_u32(f, DHCP_OPT_REBINDING_TIME), 3150);
	expect_opt_addr(f, DHCP_OPT_SUBNET_MASK, "255.255.255.0");
	expect_opt_addr(f, DHCP_OPT_ROUTER, "198.51.100.1"); /* default: our link address */
	expect_opt_addr(f, DHCP_OPT_DNS_SERVER, "198.51.100.1");
	expect_opt_addr(f, DHCP_OPT_BROADCAST, "198.51.100.255");
	/* the offer holds the address, and goes to the journal without a sync */
	assert_int_equal(f->res.nrecs, 1);
	assert_int_equal(f->res.recs[0].state, DHCP_LEASE_OFFERED);
	assert_int_equal(f->res.recs[0].expires_at, NOW + DHCP_LEASE_OFFER_HOLD);
	assert_false(f->res.wait_sync);
	expect_state(f, "198.51.100.100", DHCP_LEASE_OFFERED);
	assert_int_equal(f->s.stats.messages[DHCP_DISCOVER], 1);
	assert_int_equal(f->s.stats.messages[DHCP_OFFER], 1);

	/* a second client gets the next address; the first its offer again */
	discover(f, MAC2, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.101");
	discover(f, MAC1, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
}

static void test_discover_requested(void **state)
{
	struct fx *f = *state;
	struct creq c;

	/* option 50 is honoured when free; outside the subnet it is ignored */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.120"));
	bcast(f, &c, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.120");
	creq_init(&c, DHCP_DISCOVER, MAC2);
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("10.1.1.1"));
	bcast(f, &c, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
}

static void test_full_exchange(void **state)
{
	struct fx *f = *state;
	struct in_addr a = bind_lan(f, MAC1);

	expect_addr(a, "198.51.100.100");
	assert_true(f->res.wait_sync); /* an ACK waits for its record's sync */
	assert_int_equal(f->res.nrecs, 1);
	assert_int_equal(f->res.recs[0].op, DHCP_LEASE_PUT);
	assert_int_equal(f->res.recs[0].state, DHCP_LEASE_BOUND);
	assert_int_equal(f->res.recs[0].expires_at, NOW + HOUR);
	assert_string_equal(f->res.recs[0].scope, "lan");
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);
	assert_int_equal(r_u32(f, DHCP_OPT_LEASE_TIME), 3600);
	assert_int_equal(f->s.stats.messages[DHCP_REQUEST], 1);
	assert_int_equal(f->s.stats.messages[DHCP_ACK], 1);

	/* a retransmitted REQUEST is ACKed again */
	request_selecting(f, MAC1, a, "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	/* a DISCOVER from the bound client re-offers its address and changes nothing */
	discover(f, MAC1, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	assert_int_equal(f->res.nrecs, 0);
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);
}

/* ------------------------------------------------------------ REQUEST, RFC 2131 4.3.2 */

static void test_selecting_other_server(void **state)
{
	struct fx *f = *state;

	discover(f, MAC1, LAN);
	request_selecting(f, MAC1, ip("198.51.100.100"), "198.18.99.9");
	expect_silence(f);
	/* our offer is withdrawn: the record goes */
	assert_int_equal(f->res.nrecs, 1);
	assert_int_equal(f->res.recs[0].op, DHCP_LEASE_DEL);
	assert_null(lease_at(f, "198.51.100.100"));
	assert_int_equal(f->s.stats.other_server, 1);

	/* a bound lease is not taken back that way */
	bind_lan(f, MAC2);
	request_selecting(f, MAC2, ip("198.51.100.100"), "198.18.99.9");
	expect_silence(f);
	assert_int_equal(f->res.nrecs, 0);
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);
}

static void test_selecting_own_id_elsewhere(void **state)
{
	struct fx *f = *state;

	discover(f, MAC1, LAN);
	/* wan0's address is ours, but not the server id of lan */
	request_selecting(f, MAC1, ip("198.51.100.100"), "100.64.0.1");
	expect_drop(f, DHCP_SRV_DROP_OWN_SERVER_ID);
	expect_state(f, "198.51.100.100", DHCP_LEASE_OFFERED);
	assert_int_equal(f->s.stats.drop[DHCP_SRV_DROP_OWN_SERVER_ID], 1);
	assert_int_equal(f->s.stats.dropped, 1);
}

static void test_selecting_stale_offer(void **state)
{
	struct fx *f = *state;
	static const uint8_t cid[] = {0x01, 0x02, 0, 0, 0, 0, 0x01};
	struct creq c;

	/* no offer (or another client's address): NAK, broadcast, with 54, 56, 61 only */
	creq_init(&c, DHCP_REQUEST, MAC1);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.130"));
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_NAK);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 2, "198.51.100.1", "255.255.255.255", 68);
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "198.51.100.1");
	assert_true(dhcp_has(&f->reply, DHCP_OPT_MESSAGE));
	assert_true(dhcp_has(&f->reply, DHCP_OPT_CLIENT_ID));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_LEASE_TIME));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_ROUTER));
	assert_int_equal(f->reply.yiaddr.s_addr, 0);
	assert_false(f->res.wait_sync);
	assert_int_equal(f->res.nrecs, 0);

	/* SELECTING without option 50 is malformed */
	creq_init(&c, DHCP_REQUEST, MAC1);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_BAD_REQUEST);
}

static void init_reboot(struct fx *f, const uint8_t mac[6], const char *addr, const struct dhcp_link *link)
{
	struct creq c;

	creq_init(&c, DHCP_REQUEST, mac);
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip(addr));
	bcast(f, &c, link);
}

static void test_init_reboot_authoritative(void **state)
{
	struct fx *f = *state;

	bind_lan(f, MAC1);
	bind_lan(f, MAC2);
	/* right: ACK (and the lease is extended) */
	f->now += 600;
	init_reboot(f, MAC1, "198.51.100.100", LAN);
	expect_reply(f, DHCP_ACK);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	assert_int_equal(f->res.recs[0].expires_at, NOW + 600 + HOUR);
	assert_true(f->res.wait_sync);
	/* wrong network */
	init_reboot(f, MAC1, "10.9.9.9", LAN);
	expect_reply(f, DHCP_NAK);
	/* another client's address */
	init_reboot(f, MAC1, "198.51.100.101", LAN);
	expect_reply(f, DHCP_NAK);
	expect_state(f, "198.51.100.101", DHCP_LEASE_BOUND);
	/* a client we know nothing of: authoritative, so NAK */
	init_reboot(f, MAC3, "198.51.100.140", LAN);
	expect_reply(f, DHCP_NAK);
	assert_null(lease_at(f, "198.51.100.140"));
}

static void test_init_reboot_not_authoritative(void **state)
{
	struct fx *f = *state;
	struct creq c;

	discover(f, MAC1, LAN2);
	expect_addr(f->reply.yiaddr, "203.0.113.100");
	creq_init(&c, DHCP_REQUEST, MAC1);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("203.0.113.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("203.0.113.100"));
	bcast(f, &c, LAN2);
	expect_reply(f, DHCP_ACK);

	init_reboot(f, MAC1, "203.0.113.100", LAN2);
	expect_reply(f, DHCP_ACK);
	/* wrong network: NAK all the same */
	init_reboot(f, MAC2, "198.51.100.100", LAN2);
	expect_reply(f, DHCP_NAK);
	/* unknown client, another's address or a free one: not ours to say */
	init_reboot(f, MAC2, "203.0.113.100", LAN2);
	expect_drop(f, DHCP_SRV_DROP_UNKNOWN_CLIENT);
	init_reboot(f, MAC2, "203.0.113.102", LAN2);
	expect_drop(f, DHCP_SRV_DROP_UNKNOWN_CLIENT);
	/* but a client we know, with a wrong notion: NAK */
	init_reboot(f, MAC1, "203.0.113.102", LAN2);
	expect_reply(f, DHCP_NAK);
}

static void renew(struct fx *f, const uint8_t mac[6], const char *ciaddr, const struct dhcp_link *link,
		  const char *dst)
{
	struct creq c;

	creq_init(&c, DHCP_REQUEST, mac);
	c.ciaddr = ip(ciaddr);
	send_from(f, &c, link, ciaddr, dst);
}

static void test_renewing(void **state)
{
	struct fx *f = *state;

	bind_lan(f, MAC1);
	f->now += 1800;
	renew(f, MAC1, "198.51.100.100", LAN, "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	/* RFC 2131 4.1: unicast to ciaddr; the ACK carries ciaddr (table 3) */
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "198.51.100.1", "198.51.100.100", 68);
	expect_addr(f->reply.ciaddr, "198.51.100.100");
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	assert_int_equal(f->res.recs[0].expires_at, NOW + 1800 + HOUR);
	assert_true(f->res.wait_sync);
	/* unknown: NAK, broadcast (4.1: NAKs are broadcast when giaddr is 0) */
	renew(f, MAC2, "198.51.100.130", LAN, "198.51.100.1");
	expect_reply(f, DHCP_NAK);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 2, "198.51.100.1", "255.255.255.255", 68);
	/* an address of another client */
	renew(f, MAC2, "198.51.100.100", LAN, "198.51.100.1");
	expect_reply(f, DHCP_NAK);
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);
}

static void test_rebinding(void **state)
{
	struct fx *f = *state;

	bind_lan(f, MAC1);
	f->now += 3200;
	renew(f, MAC1, "198.51.100.100", LAN, "255.255.255.255");
	expect_reply(f, DHCP_ACK);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "198.51.100.1", "198.51.100.100", 68);
	/* unknown: silence (another server may hold it) */
	renew(f, MAC2, "198.51.100.130", LAN, "255.255.255.255");
	expect_drop(f, DHCP_SRV_DROP_UNKNOWN_CLIENT);
	/* another client's: NAK */
	renew(f, MAC2, "198.51.100.100", LAN, "255.255.255.255");
	expect_reply(f, DHCP_NAK);
	/* the subnet's broadcast address is a broadcast too */
	renew(f, MAC2, "198.51.100.131", LAN, "198.51.100.255");
	expect_drop(f, DHCP_SRV_DROP_UNKNOWN_CLIENT);
}

/* ------------------------------------------------------------ DECLINE, RELEASE, INFORM */

static void test_decline(void **state)
{
	struct fx *f = *state;
	struct creq c;

	bind_lan(f, MAC1);
	creq_init(&c, DHCP_DECLINE, MAC1);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.100"));
	bcast(f, &c, LAN);
	expect_silence(f);
	assert_int_equal(f->res.event.kind, DHCP_EV_DECLINE);
	expect_addr(f->res.event.addr, "198.51.100.100");
	assert_string_equal(f->res.event.scope, "lan");
	assert_memory_equal(f->res.event.chaddr, MAC1, 6);
	assert_int_equal(f->res.nrecs, 1);
	assert_int_equal(f->res.recs[0].state, DHCP_LEASE_DECLINED);
	assert_int_equal(f->res.recs[0].expires_at, NOW + DHCP_LEASE_PROBATION);
	expect_state(f, "198.51.100.100", DHCP_LEASE_DECLINED);
	/* probation: nobody gets it, not even the one that declined */
	discover(f, MAC2, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.101");
	discover(f, MAC1, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.102");
	/* a DECLINE of an address the client does not hold */
	creq_init(&c, DHCP_DECLINE, MAC3);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.101"));
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_UNKNOWN_LEASE);
	expect_state(f, "198.51.100.101", DHCP_LEASE_OFFERED);
	/* one for another server is not ours */
	creq_init(&c, DHCP_DECLINE, MAC2);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.18.99.9"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.101"));
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_OTHER_SERVER);
	/* without option 50 */
	creq_init(&c, DHCP_DECLINE, MAC2);
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_BAD_REQUEST);
}

static void release(struct fx *f, const uint8_t mac[6], const char *addr)
{
	struct creq c;

	creq_init(&c, DHCP_RELEASE, mac);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	c.ciaddr = ip(addr);
	send_from(f, &c, LAN, addr, "198.51.100.1");
}

static void test_release_rediscover(void **state)
{
	struct fx *f = *state;

	bind_lan(f, MAC1);
	/* not the holder */
	release(f, MAC2, "198.51.100.100");
	expect_drop(f, DHCP_SRV_DROP_UNKNOWN_LEASE);
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);

	release(f, MAC1, "198.51.100.100");
	expect_silence(f);
	assert_int_equal(f->res.nrecs, 1);
	assert_int_equal(f->res.recs[0].state, DHCP_LEASE_RELEASED);
	expect_state(f, "198.51.100.100", DHCP_LEASE_RELEASED);
	assert_int_equal(f->s.stats.messages[DHCP_RELEASE], 2);
	/* others take fresh addresses first; the client gets its own back */
	discover(f, MAC2, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.101");
	discover(f, MAC1, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	/* a RELEASE without ciaddr */
	release(f, MAC1, "0.0.0.0");
	expect_drop(f, DHCP_SRV_DROP_BAD_REQUEST);
}

static void test_inform(void **state)
{
	struct fx *f = *state;
	struct creq c;

	creq_init(&c, DHCP_INFORM, MAC1);
	c.ciaddr = ip("198.51.100.7"); /* configured by hand */
	send_from(f, &c, LAN, "198.51.100.7", "255.255.255.255");
	expect_reply(f, DHCP_ACK);
	/* RFC 2131 4.3.5: no lease time, no yiaddr, to ciaddr; no lease either */
	assert_false(dhcp_has(&f->reply, DHCP_OPT_LEASE_TIME));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_RENEWAL_TIME));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_REBINDING_TIME));
	assert_int_equal(f->reply.yiaddr.s_addr, 0);
	expect_addr(f->reply.ciaddr, "198.51.100.7");
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "198.51.100.1", "198.51.100.7", 68);
	expect_opt_addr(f, DHCP_OPT_ROUTER, "198.51.100.1");
	expect_opt_addr(f, DHCP_OPT_SUBNET_MASK, "255.255.255.0");
	assert_int_equal(f->res.nrecs, 0);
	assert_false(f->res.wait_sync);
	assert_int_equal(dhcp_lease_count(f->t), 0);
	assert_int_equal(f->s.stats.messages[DHCP_INFORM], 1);
}

/* ------------------------------------------------------------ RFC 2131 4.1 addressing */

static void test_addressing(void **state)
{
	struct fx *f = *state;
	struct creq c;

	/* no broadcast bit, Ethernet: link-layer unicast to yiaddr at chaddr */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	bcast(f, &c, LAN);
	expect_dest(&f->res.dest[0], DHCP_SEND_LINK, 2, "198.51.100.1", "198.51.100.100", 68);
	assert_memory_equal(f->res.dest[0].mac, MAC1, 6);
	/* broadcast bit: 255.255.255.255 on the arrival link */
	c.flags = DHCP_FLAG_BROADCAST;
	bcast(f, &c, LAN);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 2, "198.51.100.1", "255.255.255.255", 68);
	assert_int_equal(f->reply.flags, DHCP_FLAG_BROADCAST);
	/* not Ethernet: no link-layer unicast possible, broadcast */
	creq_init(&c, DHCP_DISCOVER, MAC2);
	c.htype = 6; /* IEEE 802 */
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 2, "198.51.100.1", "255.255.255.255", 68);
	/* ciaddr (renewing) and NAK were seen above; giaddr: to the relay, port 67 */
	creq_init(&c, DHCP_DISCOVER, MAC3);
	c.giaddr = ip("198.18.30.1");
	c.hops = 1;
	c.flags = DHCP_FLAG_BROADCAST;
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	expect_reply(f, DHCP_OFFER);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "100.64.0.1", "198.18.30.1", 67);
	expect_addr(f->reply.giaddr, "198.18.30.1");
	/* a NAK through a relay: to the relay, with the broadcast bit (4.3.2) */
	creq_init(&c, DHCP_REQUEST, MAC3);
	c.giaddr = ip("198.18.30.1");
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.18.30.250"));
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	expect_reply(f, DHCP_NAK);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "100.64.0.1", "198.18.30.1", 67);
	assert_int_equal(f->reply.flags & DHCP_FLAG_BROADCAST, DHCP_FLAG_BROADCAST);
	/* a NAK to a client with ciaddr and no giaddr: broadcast, not to ciaddr */
	renew(f, MAC2, "198.51.100.140", LAN, "198.51.100.1");
	expect_reply(f, DHCP_NAK);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 2, "198.51.100.1", "255.255.255.255", 68);
}

/* ------------------------------------------------------------ options */

static void expect_order(struct fx *f, const uint8_t *want, size_t n)
{
	const uint8_t *codes;
	size_t got = dhcp_opt_codes(&f->reply, &codes);

	assert_true(got >= n);
	assert_memory_equal(codes, want, n);
}

static void test_option_order(void **state)
{
	struct fx *f = *state;
	static const uint8_t prl[] = {DHCP_OPT_DNS_SERVER, DHCP_OPT_DOMAIN, DHCP_OPT_ROUTER,
				      DHCP_OPT_SUBNET_MASK};
	static const uint8_t want[] = {DHCP_OPT_MSG_TYPE, DHCP_OPT_SERVER_ID, DHCP_OPT_DNS_SERVER,
				       DHCP_OPT_DOMAIN,	  DHCP_OPT_ROUTER,    DHCP_OPT_SUBNET_MASK};
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	opt(&c, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	bcast(f, &c, LAN);
	expect_order(f, want, sizeof(want));
	/* asked-for options only, for those not everyone uses: 26, 42, 121, 252 */
	assert_false(dhcp_has(&f->reply, DHCP_OPT_MTU));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_NTP_SERVER));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_CLASSLESS_ROUTES));
	assert_false(dhcp_has(&f->reply, 252));
	assert_true(dhcp_has(&f->reply, DHCP_OPT_LEASE_TIME)); /* always */

	/* a client without a list gets them all */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	bcast(f, &c, LAN);
	assert_true(dhcp_has(&f->reply, DHCP_OPT_MTU));
	assert_true(dhcp_has(&f->reply, DHCP_OPT_NTP_SERVER));
	assert_true(dhcp_has(&f->reply, 252));
	expect_opt_addr(f, DHCP_OPT_NTP_SERVER, "198.51.100.1");
	{
		size_t len;
		const uint8_t *p = dhcp_opt(&f->reply, 252, &len);

		assert_int_equal(len, strlen("http://wpad.home.arpa/wpad.dat"));
		assert_memory_equal(p, "http://wpad.home.arpa/wpad.dat", len);
	}
}

static void test_option_121(void **state)
{
	struct fx *f = *state;
	static const uint8_t prl[] = {DHCP_OPT_CLASSLESS_ROUTES, DHCP_OPT_ROUTER};
	/* 10.8.0.0/16 via 198.51.100.2, then the default route via the router */
	static const uint8_t want[] = {16, 10, 8, 198, 51, 100, 2, 0, 198, 51, 100, 1};
	const uint8_t *p;
	size_t len;
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	opt(&c, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	bcast(f, &c, LAN);
	p = dhcp_opt(&f->reply, DHCP_OPT_CLASSLESS_ROUTES, &len);
	assert_non_null(p);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(p, want, sizeof(want));
	/* and option 3 for the clients that do not take 121 */
	expect_opt_addr(f, DHCP_OPT_ROUTER, "198.51.100.1");
}

static void test_option_57(void **state)
{
	struct fx *f = *state;
	char conf[4096], big[1001];
	struct creq c;
	uint16_t mms;

	teardown(state);
	memset(big, 'x', 1000);
	big[1000] = '\0';
	snprintf(conf, sizeof(conf),
		 IFACES "dhcp lan {\n pool 198.51.100.100 198.51.100.150\n option 224 text \"%s\"\n}\n", big);
	f = fx_new(conf);
	*state = f;

	/* without 57: 548 octets at most (RFC 2131 2), and 224 does not fit */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
	assert_true(f->res.len <= 548);
	assert_false(dhcp_has(&f->reply, 224));
	assert_true(dhcp_has(&f->reply, DHCP_OPT_LEASE_TIME));
	/* 57 under 576 is ignored */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	mms = htons(400);
	opt(&c, DHCP_OPT_MAX_SIZE, &mms, 2);
	bcast(f, &c, LAN);
	assert_true(f->res.len <= 548);
	/* 57 of 1400: the whole option fits (split per RFC 3396) */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	mms = htons(1400);
	opt(&c, DHCP_OPT_MAX_SIZE, &mms, 2);
	bcast(f, &c, LAN);
	assert_true(f->res.len > 548 && f->res.len <= 1400 - 28);
	{
		size_t len;

		assert_non_null(dhcp_opt(&f->reply, 224, &len));
		assert_int_equal(len, 1000);
	}
	/* the link's MTU bounds it too */
	links[0].l.mtu = 1000;
	bcast(f, &c, LAN);
	assert_true(f->res.len <= 1000 - 28);
	assert_false(dhcp_has(&f->reply, 224));
}

static void test_option_6_modes(void **state)
{
	struct fx *f = *state;
	struct creq c;

	/* DHCP_DNS_IFACE (dns listens on lan): our link address */
	discover(f, MAC1, LAN);
	expect_opt_addr(f, DHCP_OPT_DNS_SERVER, "198.51.100.1");
	/* DHCP_DNS_IFACE_IF_LISTEN (lan2: listen names 203.0.113.1, its address) */
	discover(f, MAC1, LAN2);
	expect_opt_addr(f, DHCP_OPT_DNS_SERVER, "203.0.113.1");
	/* DHCP_DNS_LIST (the remote scope's dns-server) */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	c.giaddr = ip("198.18.30.1");
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	expect_opt_addr(f, DHCP_OPT_DNS_SERVER, "198.18.0.53");
	expect_opt_addr(f, DHCP_OPT_ROUTER, "198.18.30.1");
	/* IF_LISTEN when the address moved off the listen list: none */
	link_set(1, 3, "lan1", "203.0.113.2", 24);
	discover(f, MAC1, LAN2);
	assert_false(dhcp_has(&f->reply, DHCP_OPT_DNS_SERVER));

	/* DHCP_DNS_NONE: no dns section */
	teardown(state);
	f = fx_new(IFACES "dhcp lan { pool 198.51.100.100 198.51.100.150 }\n");
	*state = f;
	discover(f, MAC1, LAN);
	assert_false(dhcp_has(&f->reply, DHCP_OPT_DNS_SERVER));
	assert_false(dhcp_has(&f->reply, DHCP_OPT_DOMAIN));
}

static void test_option_61_82_echo(void **state)
{
	struct fx *f = *state;
	static const uint8_t cid[] = {0xff, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t ai[] = {DHCP_AGENT_CIRCUIT_ID, 3, 'p', '1', '7',
				     DHCP_AGENT_REMOTE_ID,  2, 'r', 'x'};
	const uint8_t *p, *codes;
	size_t len, n;
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	opt(&c, DHCP_OPT_AGENT_INFO, ai, sizeof(ai));
	c.giaddr = ip("198.18.30.1");
	c.hops = 1;
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	expect_reply(f, DHCP_OFFER);
	p = dhcp_opt(&f->reply, DHCP_OPT_CLIENT_ID, &len);
	assert_non_null(p);
	assert_int_equal(len, sizeof(cid));
	assert_memory_equal(p, cid, len);
	p = dhcp_opt(&f->reply, DHCP_OPT_AGENT_INFO, &len);
	assert_non_null(p);
	assert_int_equal(len, sizeof(ai));
	assert_memory_equal(p, ai, len);
	/* RFC 3046 2.2: the last option */
	n = dhcp_opt_codes(&f->reply, &codes);
	assert_int_equal(codes[n - 1], DHCP_OPT_AGENT_INFO);
	/* the server id is the address the relay reached us by */
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "100.64.0.1");
	expect_opt_addr(f, DHCP_OPT_SUBNET_MASK, "255.255.255.0");
	expect_opt_addr(f, DHCP_OPT_BROADCAST, "198.18.30.255");
	expect_addr(f->reply.yiaddr, "198.18.30.100");
	/* the NAK echoes 61 and 82 too */
	creq_init(&c, DHCP_REQUEST, MAC1);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	opt(&c, DHCP_OPT_AGENT_INFO, ai, sizeof(ai));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.18.30.199"));
	c.giaddr = ip("198.18.30.1");
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	expect_reply(f, DHCP_NAK);
	assert_true(dhcp_has(&f->reply, DHCP_OPT_CLIENT_ID));
	assert_true(dhcp_has(&f->reply, DHCP_OPT_AGENT_INFO));
}

/* ------------------------------------------------------------ scopes */

static void test_relayed_scopes(void **state)
{
	struct fx *f = *state;
	static const uint8_t ls[] = {DHCP_AGENT_LINK_SELECTION, 4, 198, 18, 30, 0};
	struct creq c;

	/* RFC 3527: link-selection picks the scope, giaddr still gets the reply */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	c.giaddr = ip("100.64.9.9");
	opt(&c, DHCP_OPT_AGENT_INFO, ls, sizeof(ls));
	send_from(f, &c, WAN, "100.64.9.9", "100.64.0.1");
	expect_reply(f, DHCP_OFFER);
	expect_addr(f->reply.yiaddr, "198.18.30.100");
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "100.64.0.1", "100.64.9.9", 67);
	/* giaddr inside a local scope's link: that scope, through the relay */
	creq_init(&c, DHCP_DISCOVER, MAC2);
	c.giaddr = ip("198.51.100.254");
	send_from(f, &c, WAN, "198.51.100.254", "100.64.0.1");
	expect_reply(f, DHCP_OFFER);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	expect_opt_addr(f, DHCP_OPT_ROUTER, "198.51.100.1");
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "100.64.0.1");
	/* no scope for the giaddr: dropped */
	creq_init(&c, DHCP_DISCOVER, MAC3);
	c.giaddr = ip("100.64.9.9");
	send_from(f, &c, WAN, "100.64.9.9", "100.64.0.1");
	expect_drop(f, DHCP_SRV_DROP_NO_SCOPE);
	/* a link without a scope (wan0) */
	creq_init(&c, DHCP_DISCOVER, MAC3);
	bcast(f, &c, WAN);
	expect_drop(f, DHCP_SRV_DROP_NO_SCOPE);
	/* a scope's link without an address */
	links[0].l.naddrs = 0;
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_NO_ADDRESS);
}

static void test_remote_renew_direct(void **state)
{
	struct fx *f = *state;
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	c.giaddr = ip("198.18.30.1");
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	creq_init(&c, DHCP_REQUEST, MAC1);
	c.giaddr = ip("198.18.30.1");
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("100.64.0.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.18.30.100"));
	send_from(f, &c, WAN, "198.18.30.1", "100.64.0.1");
	expect_reply(f, DHCP_ACK);
	/* RENEWING goes straight to the server: giaddr 0, ciaddr in the remote scope */
	renew(f, MAC1, "198.18.30.100", WAN, "100.64.0.1");
	expect_reply(f, DHCP_ACK);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "100.64.0.1", "198.18.30.100", 68);
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "100.64.0.1");
	/* and RELEASE */
	creq_init(&c, DHCP_RELEASE, MAC1);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("100.64.0.1"));
	c.ciaddr = ip("198.18.30.100");
	send_from(f, &c, WAN, "198.18.30.100", "100.64.0.1");
	expect_silence(f);
	expect_state(f, "198.18.30.100", DHCP_LEASE_RELEASED);
}

static void test_pools_outside_link(void **state)
{
	struct fx *f = *state;

	/* lan0 becomes a /25: .100-.126 stay, .127-.150 are not served */
	f->s.offer_cap_pct = 100;
	link_set(0, 2, "lan0", "198.51.100.1", 25);
	for (int i = 0; i < 27; i++) {
		uint8_t mac[6] = {0x02, 1, 0, 0, 0, (uint8_t)i};

		discover(f, mac, LAN);
		assert_true(ntohl(f->reply.yiaddr.s_addr) <= ntohl(ip("198.51.100.126").s_addr));
		expect_opt_addr(f, DHCP_OPT_SUBNET_MASK, "255.255.255.128");
	}
	assert_int_equal(dhcp_server_pools_outside(&f->s, 0), 1);
	{
		uint8_t mac[6] = {0x02, 1, 0, 0, 0, 0xff};
		struct creq c;

		creq_init(&c, DHCP_DISCOVER, mac);
		bcast(f, &c, LAN);
		expect_drop(f, DHCP_SRV_DROP_POOL_EXHAUSTED);
	}
}

/* ------------------------------------------------------------ reservations */

static void test_reservation_mac(void **state)
{
	struct fx *f = *state;
	static const uint8_t cid[] = {0x01, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99};
	struct creq c;

	/* by MAC */
	discover(f, PRINTER, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.10");
	request_selecting(f, PRINTER, ip("198.51.100.10"), "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	assert_int_equal(f->res.recs[0].state, DHCP_LEASE_STATIC);
	expect_state(f, "198.51.100.10", DHCP_LEASE_STATIC);
	assert_string_equal(dhcp_lease_hostname(lease_at(f, "198.51.100.10")), "printer");
	/* its name is the static one the glue publishes, not a DHCP one */
	assert_false(has_name(f, "printer.home.arpa", "198.51.100.10"));

	/* RFC 4361 6.3: the MAC still matches when the client sends a client-id */
	release(f, PRINTER, "198.51.100.10");
	creq_init(&c, DHCP_DISCOVER, PRINTER);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
	expect_addr(f->reply.yiaddr, "198.51.100.10");
	/* the reserved address is nobody else's, even when asked for */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.11"));
	bcast(f, &c, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	init_reboot(f, MAC1, "198.51.100.10", LAN);
	expect_reply(f, DHCP_NAK);
}

static void test_reservation_client_id(void **state)
{
	struct fx *f = *state;
	static const uint8_t cid[] = {0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC2); /* another MAC: the client-id decides */
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
	expect_addr(f->reply.yiaddr, "198.51.100.11");
	/* INIT-REBOOT of the reserved address without any record: ACK, static */
	creq_init(&c, DHCP_REQUEST, MAC3);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.11"));
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_ACK);
	expect_state(f, "198.51.100.11", DHCP_LEASE_STATIC);
}

/* A reservation made while another client held the address (a lease from
 * before, as the journal replays it): a dynamic address meanwhile, and the
 * reserved one once it is free. */
static void test_reservation_taken(void **state)
{
	struct fx *f = *state;
	static const uint8_t cid[] = {0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	struct dhcp_lease_rec rec = {
		.op = DHCP_LEASE_PUT,
		.state = DHCP_LEASE_BOUND,
		.htype = 1,
		.hlen = 6,
		.scope_len = 3,
		.scope = "lan",
		.addr = ntohl(ip("198.51.100.11").s_addr),
		.expires_at = NOW + 600,
	};
	struct creq c;

	memcpy(rec.chaddr, MAC1, 6);
	assert_int_equal(dhcp_lease_apply(f->t, &rec), 0);
	creq_init(&c, DHCP_DISCOVER, MAC2);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	expect_state(f, "198.51.100.11", DHCP_LEASE_BOUND); /* not evicted */
	creq_init(&c, DHCP_REQUEST, MAC2);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.100"));
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_ACK);
	assert_int_equal(f->res.recs[0].state, DHCP_LEASE_BOUND);
	/* while the other holds it, renewals go on */
	creq_init(&c, DHCP_REQUEST, MAC2);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	c.ciaddr = ip("198.51.100.100");
	send_from(f, &c, LAN, "198.51.100.100", "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	/* once it is free: NAK, so the client comes back for its own */
	f->now += 600;
	send_from(f, &c, LAN, "198.51.100.100", "198.51.100.1");
	expect_reply(f, DHCP_NAK);
	creq_init(&c, DHCP_DISCOVER, MAC2);
	opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	bcast(f, &c, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.11");
}

/* ------------------------------------------------------------ exhaustion and caps */

static void lan2_bind(struct fx *f, const uint8_t mac[6])
{
	struct creq c;
	struct in_addr a;

	discover(f, mac, LAN2);
	a = f->reply.yiaddr;
	creq_init(&c, DHCP_REQUEST, mac);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("203.0.113.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, a);
	bcast(f, &c, LAN2);
	expect_reply(f, DHCP_ACK);
}

static void test_pool_exhaustion(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6] = {0x02, 2, 0, 0, 0, 0};
	struct creq c;

	f->s.offers_min = 8; /* the 4-address pool: no cap below its size */
	for (int i = 0; i < 4; i++) {
		mac[5] = (uint8_t)i;
		lan2_bind(f, mac);
	}
	mac[5] = 9;
	creq_init(&c, DHCP_DISCOVER, mac);
	bcast(f, &c, LAN2);
	expect_drop(f, DHCP_SRV_DROP_POOL_EXHAUSTED);
	assert_int_equal(f->res.event.kind, DHCP_EV_EXHAUSTED);
	assert_string_equal(f->res.event.scope, "lan2");
	/* nothing bound was touched */
	for (int i = 0; i < 4; i++) {
		char a[32];

		snprintf(a, sizeof(a), "203.0.113.%d", 100 + i);
		expect_state(f, a, DHCP_LEASE_BOUND);
	}
	/* not even when the bound one is asked for */
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("203.0.113.100"));
	bcast(f, &c, LAN2);
	expect_drop(f, DHCP_SRV_DROP_POOL_EXHAUSTED);
	/* a lease that ran out is taken then (and the expiry frees it first) */
	f->now += HOUR * 12 + 1;
	dhcp_server_expire(&f->s, f->now, NULL, NULL);
	bcast(f, &c, LAN2);
	expect_reply(f, DHCP_OFFER);
}

static void test_offer_rate_limit(void **state)
{
	struct fx *f = *state;
	struct creq c;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	for (int i = 0; i < DHCP_SERVER_OFFER_BURST; i++) {
		bcast(f, &c, LAN);
		expect_reply(f, DHCP_OFFER);
	}
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_RATE_LIMITED);
	/* others are not held back */
	discover(f, MAC2, LAN);
	/* one more per interval */
	f->now += DHCP_SERVER_OFFER_INTERVAL;
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_RATE_LIMITED);
	assert_int_equal(f->s.stats.drop[DHCP_SRV_DROP_RATE_LIMITED], 2);
}

static void test_offer_cap(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6] = {0x02, 3, 0, 0, 0, 0};
	struct creq c;

	/* a bound client first */
	bind_lan(f, MAC1);
	/* the pool has 51 addresses: at most 25 outstanding offers */
	for (int i = 0; i < 24; i++) {
		mac[5] = (uint8_t)i;
		discover(f, mac, LAN);
	}
	mac[5] = 100;
	creq_init(&c, DHCP_DISCOVER, mac);
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER); /* the 25th */
	mac[5] = 101;
	creq_init(&c, DHCP_DISCOVER, mac);
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_OFFER_CAP);
	/* known clients and reservations still get theirs */
	discover(f, MAC1, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
	discover(f, PRINTER, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.10");
	/* bound leases stood through it */
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);
	/* offers end after their hold, and the room is back */
	f->now += DHCP_LEASE_OFFER_HOLD;
	dhcp_server_expire(&f->s, f->now, NULL, NULL);
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_OFFER);
}

/* ------------------------------------------------------------ expiry */

struct recs_seen {
	size_t n;
	int states[16];
	int ops[16];
};

static void collect_rec(void *data, const struct dhcp_lease_rec *rec)
{
	struct recs_seen *rs = data;

	if (rs->n < 16) {
		rs->states[rs->n] = rec->state;
		rs->ops[rs->n] = rec->op;
	}
	rs->n++;
}

static void test_expiry_rediscover(void **state)
{
	struct fx *f = *state;
	struct recs_seen rs = {0};
	struct creq c;
	time_t next;

	creq_init(&c, DHCP_REQUEST, MAC1);
	bind_lan(f, MAC1);
	f->now += 10;
	discover(f, MAC2, LAN); /* an offer, due first */
	next = dhcp_server_expire(&f->s, f->now, collect_rec, &rs);
	assert_int_equal(next, NOW + 10 + DHCP_LEASE_OFFER_HOLD);
	assert_int_equal(rs.n, 0);
	f->now = NOW + HOUR;
	next = dhcp_server_expire(&f->s, f->now, collect_rec, &rs);
	assert_int_equal(next, 0);
	assert_int_equal(rs.n, 2);
	expect_state(f, "198.51.100.100", DHCP_LEASE_EXPIRED);
	assert_null(lease_at(f, "198.51.100.101"));
	/* others get fresh addresses; the client its old one */
	discover(f, MAC3, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.101");
	discover(f, MAC1, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.100");
}

/* ------------------------------------------------------------ names */

static void test_label_sanitise(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"laptop", "laptop.home.arpa"},
		{"John's iPhone", "john-s-iphone.home.arpa"},
		{"-Foo_Bar--", "foo-bar.home.arpa"},
		{"desk.example.com", "desk.home.arpa"},
		{"UPPER", "upper.home.arpa"},
		{"0123456789012345678901234567890123456789012345678901234567890123456789",
		 "012345678901234567890123456789012345678901234567890123456789012.home.arpa"},
	};
	uint8_t mac[6] = {0x02, 4, 0, 0, 0, 0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct creq c;
		char a[INET_ADDRSTRLEN];

		mac[5] = (uint8_t)i;
		discover(f, mac, LAN);
		inet_ntop(AF_INET, &f->reply.yiaddr, a, sizeof(a));
		creq_init(&c, DHCP_REQUEST, mac);
		opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
		opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, f->reply.yiaddr);
		opt(&c, DHCP_OPT_HOSTNAME, cases[i].in, strlen(cases[i].in));
		bcast(f, &c, LAN);
		expect_reply(f, DHCP_ACK);
		if (!has_name(f, cases[i].want, a))
			print_error("%s: %s not published\n", cases[i].in, cases[i].want);
		assert_true(has_name(f, cases[i].want, a));
	}
	/* nothing usable: nothing published */
	{
		struct creq c;

		mac[5] = 0x40;
		discover(f, mac, LAN);
		creq_init(&c, DHCP_REQUEST, mac);
		opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
		opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, f->reply.yiaddr);
		opt(&c, DHCP_OPT_HOSTNAME, ".--", 3);
		bcast(f, &c, LAN);
		expect_reply(f, DHCP_ACK);
		assert_string_equal(
			dhcp_lease_hostname(dhcp_lease_by_addr(f->t, ntohl(f->reply.yiaddr.s_addr))), "");
	}
}

/* DISCOVER and REQUEST with option 12 NAME (and 81 FQDN with FLAGS if given). */
static void bind_named(struct fx *f, const uint8_t mac[6], const char *name, const char *fqdn, uint8_t flags)
{
	struct creq c;
	uint8_t o81[300];

	discover(f, mac, LAN);
	creq_init(&c, DHCP_REQUEST, mac);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, f->reply.yiaddr);
	if (name)
		opt(&c, DHCP_OPT_HOSTNAME, name, strlen(name));
	if (fqdn) {
		o81[0] = flags;
		o81[1] = o81[2] = 0;
		memcpy(o81 + 3, fqdn, strlen(fqdn));
		opt(&c, DHCP_OPT_CLIENT_FQDN, o81, 3 + strlen(fqdn));
	}
	bcast(f, &c, LAN);
	expect_reply(f, DHCP_ACK);
}

static void test_names_publish_withdraw(void **state)
{
	struct fx *f = *state;
	struct creq c;

	bind_named(f, MAC1, "laptop", NULL, 0);
	assert_true(has_name(f, "laptop.home.arpa", "198.51.100.100"));
	assert_int_equal(f->s.stats.names_published, 1);
	{
		const struct gw_name *e[1];

		assert_int_equal(gw_names_lookup(f->names, "laptop.home.arpa", f->now, e, 1), 1);
		assert_int_equal(e[0]->expires, NOW + HOUR);
	}
	/* not at OFFER: only while bound */
	creq_init(&c, DHCP_DISCOVER, MAC2);
	opt(&c, DHCP_OPT_HOSTNAME, "phone", 5);
	bcast(f, &c, LAN);
	assert_false(has_name(f, "phone.home.arpa", "198.51.100.101"));
	/* a renewal without option 12 keeps the name */
	renew(f, MAC1, "198.51.100.100", LAN, "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	assert_true(has_name(f, "laptop.home.arpa", "198.51.100.100"));
	/* a renewal under another name: the old one goes */
	creq_init(&c, DHCP_REQUEST, MAC1);
	c.ciaddr = ip("198.51.100.100");
	opt(&c, DHCP_OPT_HOSTNAME, "notebook", 8);
	send_from(f, &c, LAN, "198.51.100.100", "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	assert_false(has_name(f, "laptop.home.arpa", "198.51.100.100"));
	assert_true(has_name(f, "notebook.home.arpa", "198.51.100.100"));
	/* RELEASE withdraws it */
	release(f, MAC1, "198.51.100.100");
	assert_false(has_name(f, "notebook.home.arpa", "198.51.100.100"));
	/* DECLINE withdraws it */
	bind_named(f, MAC3, "tablet", NULL, 0);
	assert_true(has_name(f, "tablet.home.arpa", "198.51.100.102"));
	creq_init(&c, DHCP_DECLINE, MAC3);
	opt_addr(&c, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	opt_addr(&c, DHCP_OPT_REQUESTED_ADDR, ip("198.51.100.102"));
	bcast(f, &c, LAN);
	assert_false(has_name(f, "tablet.home.arpa", "198.51.100.102"));
	/* expiry withdraws it */
	bind_named(f, MAC2, "phone", NULL, 0);
	assert_true(has_name(f, "phone.home.arpa", "198.51.100.101"));
	f->now += HOUR;
	dhcp_server_expire(&f->s, f->now, NULL, NULL);
	assert_int_equal(gw_names_count(f->names), 0);
	/* `lease release` withdraws it */
	bind_named(f, MAC2, "phone", NULL, 0);
	assert_true(has_name(f, "phone.home.arpa", "198.51.100.101"));
	{
		struct dhcp_lease_rec rec;

		assert_int_equal(dhcp_server_release_addr(&f->s, ip("198.51.100.101"), f->now, &rec), 1);
		assert_int_equal(rec.state, DHCP_LEASE_RELEASED);
	}
	assert_int_equal(gw_names_count(f->names), 0);
}

static void test_names_anti_spoof(void **state)
{
	struct fx *f = *state;

	/* the router's own name and a static host are not for the taking */
	assert_int_equal(gw_names_add(f->names, "router.home.arpa", ip("198.51.100.1"), GW_NAME_STATIC, 0),
			 0);
	bind_named(f, MAC1, "Router", NULL, 0);
	assert_false(has_name(f, "router.home.arpa", "198.51.100.100"));
	assert_int_equal(f->s.stats.names_refused, 1);
	assert_int_equal(f->res.event.kind, DHCP_EV_NAME_REFUSED);
	assert_string_equal(f->res.event.name, "router");
	assert_string_equal(dhcp_lease_hostname(lease_at(f, "198.51.100.100")), "");
	/* nor another client's */
	bind_named(f, MAC2, "laptop", NULL, 0);
	assert_true(has_name(f, "laptop.home.arpa", "198.51.100.101"));
	bind_named(f, MAC3, "laptop", NULL, 0);
	assert_false(has_name(f, "laptop.home.arpa", "198.51.100.102"));
	assert_true(has_name(f, "laptop.home.arpa", "198.51.100.101"));
	/* once it is free, it can be had */
	release(f, MAC2, "198.51.100.101");
	renew(f, MAC3, "198.51.100.102", LAN, "198.51.100.1"); /* no name: it had none */
	assert_false(has_name(f, "laptop.home.arpa", "198.51.100.102"));
	bind_named(f, MAC3, "laptop", NULL, 0);
	assert_true(has_name(f, "laptop.home.arpa", "198.51.100.102"));
	/* the same client, now sending its client-id 01:MAC and no name, is no
	 * other client: it keeps its name */
	{
		static const uint8_t cid[] = {0x01, 0x02, 0, 0, 0, 0, 0x03};
		struct creq c;

		creq_init(&c, DHCP_REQUEST, MAC3);
		c.ciaddr = ip("198.51.100.102");
		opt(&c, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
		send_from(f, &c, LAN, "198.51.100.102", "198.51.100.1");
		expect_reply(f, DHCP_ACK);
		assert_true(has_name(f, "laptop.home.arpa", "198.51.100.102"));
		assert_int_equal(f->res.event.kind, DHCP_EV_NONE);
	}
}

static void expect_fqdn_reply(struct fx *f, uint8_t flags, const char *name)
{
	size_t len;
	const uint8_t *p = dhcp_opt(&f->reply, DHCP_OPT_CLIENT_FQDN, &len);
	struct dhcp_fqdn q;

	assert_non_null(p);
	assert_int_equal(p[0], flags);
	assert_int_equal(p[1], 255); /* RFC 4702 2.2 */
	assert_int_equal(p[2], 255);
	assert_int_equal(dhcp_client_fqdn(&f->reply, &q), 0);
	assert_string_equal(q.name, name);
}

static void test_names_option_81(void **state)
{
	struct fx *f = *state;
	/* wire format (E): "pc.corp.example" */
	static const char wire[] = "\x02"
				   "pc"
				   "\x04"
				   "corp"
				   "\x07"
				   "example";

	/* 81 wins over 12; S=0 from the client: we update anyway (O) */
	bind_named(f, MAC1, "other",
		   "\x07"
		   "desktop",
		   DHCP_FQDN_E);
	assert_true(has_name(f, "desktop.home.arpa", "198.51.100.100"));
	assert_false(has_name(f, "other.home.arpa", "198.51.100.100"));
	expect_fqdn_reply(f, DHCP_FQDN_E | DHCP_FQDN_S | DHCP_FQDN_O, "desktop.home.arpa");
	/* S=1: S, no O; the first label of a longer name */
	bind_named(f, MAC2, NULL, wire, DHCP_FQDN_E | DHCP_FQDN_S);
	assert_true(has_name(f, "pc.home.arpa", "198.51.100.101"));
	expect_fqdn_reply(f, DHCP_FQDN_E | DHCP_FQDN_S, "pc.home.arpa");
	/* N=1: no update, and the answer says so */
	bind_named(f, MAC3, NULL,
		   "\x05"
		   "quiet",
		   DHCP_FQDN_E | DHCP_FQDN_N);
	assert_false(has_name(f, "quiet.home.arpa", "198.51.100.102"));
	expect_fqdn_reply(f, DHCP_FQDN_E | DHCP_FQDN_N, "quiet.home.arpa");
	/* the ASCII form (deprecated, RFC 4702 2.3.1), refused name: N */
	assert_int_equal(gw_names_add(f->names, "nas.home.arpa", ip("198.51.100.5"), GW_NAME_STATIC, 0), 0);
	{
		uint8_t mac[6] = {0x02, 5, 0, 0, 0, 1};

		bind_named(f, mac, NULL, "nas.", 0);
		expect_fqdn_reply(f, DHCP_FQDN_N, "nas.home.arpa");
	}
}

/* ------------------------------------------------------------ relay */

static void test_relay_request(void **state)
{
	struct fx *f = *state;
	struct creq c;
	const uint8_t *p;
	size_t len;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	assert_int_equal(bcast(f, &c, GUEST), DHCP_RESULT_RELAY);
	assert_int_equal(f->res.type, DHCP_DISCOVER);
	assert_int_equal(f->res.ndest, 2);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "0.0.0.0", "198.18.0.2", 67);
	expect_dest(&f->res.dest[1], DHCP_SEND_UDP, 0, "0.0.0.0", "198.18.0.3", 67);
	assert_int_equal(f->reply.op, DHCP_BOOTREQUEST);
	assert_int_equal(f->reply.hops, 1);
	expect_addr(f->reply.giaddr, "100.64.4.1");
	p = dhcp_agent_sub(&f->reply, DHCP_AGENT_CIRCUIT_ID, &len);
	assert_non_null(p);
	assert_int_equal(len, 6);
	assert_memory_equal(p, "guest0", 6); /* the default: the device name */
	p = dhcp_agent_sub(&f->reply, DHCP_AGENT_REMOTE_ID, &len);
	assert_non_null(p);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "gw1", 3);
	assert_int_equal(f->res.nrecs, 0);
	assert_int_equal(dhcp_lease_count(f->t), 0); /* not served here */
	assert_int_equal(f->s.stats.relay.requests, 1);
	assert_int_equal(f->s.stats.relay.copies, 2);
	assert_int_equal(f->s.stats.relay.agent_info_added, 1);
	assert_int_equal(f->s.stats.messages[DHCP_DISCOVER], 0);

	/* RFC 1542 4.1.1: over max-hops (4) is dropped; at it, forwarded */
	c.hops = 4;
	bcast(f, &c, GUEST);
	assert_int_equal(f->res.kind, DHCP_RESULT_RELAY);
	assert_int_equal(f->reply.hops, 5);
	c.hops = 5;
	bcast(f, &c, GUEST);
	expect_drop(f, DHCP_SRV_DROP_RELAY_HOPS);
}

static void test_relay_agent_info_rules(void **state)
{
	struct fx *f = *state;
	static const uint8_t ai[] = {DHCP_AGENT_CIRCUIT_ID, 2, 'd', '1'};
	struct creq c;
	const uint8_t *p;
	size_t len;

	/* RFC 3046 2.1: a client's own 82 (giaddr 0): drop */
	creq_init(&c, DHCP_DISCOVER, MAC1);
	opt(&c, DHCP_OPT_AGENT_INFO, ai, sizeof(ai));
	bcast(f, &c, GUEST);
	expect_drop(f, DHCP_SRV_DROP_RELAY_AGENT_INFO);
	/* from a relay closer to the client (giaddr set): kept as it is */
	c.giaddr = ip("100.64.4.77");
	c.hops = 1;
	send_from(f, &c, GUEST, "100.64.4.77", "100.64.4.1");
	assert_int_equal(f->res.kind, DHCP_RESULT_RELAY);
	expect_addr(f->reply.giaddr, "100.64.4.77");
	assert_int_equal(f->reply.hops, 2);
	p = dhcp_agent_sub(&f->reply, DHCP_AGENT_CIRCUIT_ID, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "d1", 2);
	assert_null(dhcp_agent_sub(&f->reply, DHCP_AGENT_REMOTE_ID, &len));
	assert_int_equal(f->s.stats.relay.agent_info_kept, 1);
	/* no room: forwarded without (RFC 3046 2.1) */
	creq_init(&c, DHCP_DISCOVER, MAC2);
	{
		uint8_t junk[250];

		memset(junk, 'j', sizeof(junk));
		for (int i = 0; i < 4; i++)
			opt(&c, (uint8_t)(224 + i), junk, sizeof(junk));
		opt(&c, 230, junk, 210);
	}
	c.pad_to = 1; /* 1464 octets, no padding to put 82 in */
	bcast(f, &c, GUEST);
	assert_int_equal(f->res.kind, DHCP_RESULT_RELAY);
	assert_false(dhcp_has(&f->reply, DHCP_OPT_AGENT_INFO));
	assert_int_equal(f->s.stats.relay.agent_info_too_big, 1);
	assert_true(f->res.len <= DHCP_SERVER_RELAY_MAX);
}

/* The server 198.18.0.2's answer to the request REQ our relay forwarded. */
static size_t server_reply(struct fx *f, const struct creq *req, uint8_t type, uint16_t flags, uint8_t *out)
{
	static struct dhcp_msg m;
	static struct dhcp_reply b;
	uint8_t buf[1500];
	size_t n;
	int len;

	bcast(f, req, GUEST);
	assert_int_equal(f->res.kind, DHCP_RESULT_RELAY);
	n = f->res.len;
	memcpy(buf, f->res.buf, n);
	assert_int_equal(dhcp_parse(buf, n, &m), 0);
	assert_int_equal(dhcp_reply_init(&b, out, 1500, &m, type), 0);
	b.flags = flags;
	if (type != DHCP_NAK)
		b.yiaddr = ip("100.64.4.50");
	dhcp_reply_addr(&b, DHCP_OPT_SERVER_ID, ip("198.18.0.2"));
	assert_int_equal(dhcp_reply_echo_agent_info(&b), 0);
	len = dhcp_reply_finish(&b);
	assert_true(len > 0);
	return (size_t)len;
}

static enum dhcp_result_kind from_server(struct fx *f, const uint8_t *buf, size_t n, const char *src)
{
	struct dhcp_rx rx = {.ifindex = 5, .src = ip(src), .sport = 67, .dst = ip("100.64.4.1")};
	enum dhcp_result_kind k = dhcp_server_handle(&f->s, buf, n, WAN, &rx, f->now, &f->res);

	if (k != DHCP_RESULT_NONE)
		assert_int_equal(dhcp_parse(f->res.buf, f->res.len, &f->reply), 0);
	return k;
}

static void test_relay_reply(void **state)
{
	struct fx *f = *state;
	uint8_t buf[1500];
	struct creq c;
	size_t n;

	creq_init(&c, DHCP_DISCOVER, MAC1);
	n = server_reply(f, &c, DHCP_OFFER, 0, buf);
	assert_true(dhcp_pkt_has_agent_info(buf, n));
	assert_int_equal(from_server(f, buf, n, "198.18.0.2"), DHCP_RESULT_RELAY);
	/* to the client on guest0, by chaddr, 82 taken out, the rest as sent */
	assert_int_equal(f->res.ndest, 1);
	expect_dest(&f->res.dest[0], DHCP_SEND_LINK, 4, "100.64.4.1", "100.64.4.50", 68);
	assert_memory_equal(f->res.dest[0].mac, MAC1, 6);
	assert_int_equal(f->reply.type, DHCP_OFFER);
	assert_false(dhcp_has(&f->reply, DHCP_OPT_AGENT_INFO));
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "198.18.0.2");
	assert_int_equal(f->s.stats.relay.replies, 1);
	/* broadcast bit: broadcast on guest0 */
	n = server_reply(f, &c, DHCP_OFFER, DHCP_FLAG_BROADCAST, buf);
	from_server(f, buf, n, "198.18.0.3");
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 4, "100.64.4.1", "255.255.255.255", 68);
	/* a NAK: broadcast */
	n = server_reply(f, &c, DHCP_NAK, 0, buf);
	from_server(f, buf, n, "198.18.0.2");
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 4, "100.64.4.1", "255.255.255.255", 68);
	/* from no server of the relay */
	n = server_reply(f, &c, DHCP_OFFER, 0, buf);
	assert_int_equal(from_server(f, buf, n, "100.64.0.99"), DHCP_RESULT_NONE);
	expect_drop(f, DHCP_SRV_DROP_RELAY_BAD_SERVER);
	/* to a giaddr that is no relay of ours: a BOOTREPLY we have no business with */
	memcpy(buf + 24, "\x64\x40\x09\x09", 4);
	assert_int_equal(from_server(f, buf, n, "198.18.0.2"), DHCP_RESULT_NONE);
	expect_drop(f, DHCP_SRV_DROP_BOOTREPLY);
	/* nor one without giaddr (another server's answer, or our own) */
	memset(buf + 24, 0, 4);
	assert_int_equal(from_server(f, buf, n, "198.18.0.2"), DHCP_RESULT_NONE);
	expect_drop(f, DHCP_SRV_DROP_BOOTREPLY);
}

/* A relay of ours forwarding to a server on this host: the request comes
 * in on lo, to 127.0.0.1; the clients know us by the relay's address. */
static void test_relay_to_ourselves(void **state)
{
	struct fx *f = *state;
	struct gw_iface_addr lo_addr = {.addr = ip("127.0.0.1"), .prefixlen = 8};
	struct dhcp_link lo = {1, "lo", &lo_addr, 1, 65536};
	struct dhcp_rx rx = {.ifindex = 1, .src = ip("127.0.0.1"), .sport = 67, .dst = ip("127.0.0.1")};
	uint8_t buf[1500];
	struct creq c;
	size_t n;

	teardown(state);
	f = fx_new(IFACES "dhcp 100.64.4.0/24 {\n pool 100.64.4.100 100.64.4.110\n router 100.64.4.1\n}\n"
			  "dhcp-relay guest { server 127.0.0.1 }\n");
	*state = f;
	creq_init(&c, DHCP_DISCOVER, MAC1);
	bcast(f, &c, GUEST);
	assert_int_equal(f->res.kind, DHCP_RESULT_RELAY);
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "0.0.0.0", "127.0.0.1", 67);
	n = f->res.len;
	memcpy(buf, f->res.buf, n);
	assert_int_equal(dhcp_server_handle(&f->s, buf, n, &lo, &rx, f->now, &f->res), DHCP_RESULT_REPLY);
	assert_int_equal(dhcp_parse(f->res.buf, f->res.len, &f->reply), 0);
	expect_reply(f, DHCP_OFFER);
	expect_opt_addr(f, DHCP_OPT_SERVER_ID, "100.64.4.1");
	expect_dest(&f->res.dest[0], DHCP_SEND_UDP, 0, "100.64.4.1", "100.64.4.1", 67);
	/* ... and that reply, looped back to us, is the relay's to deliver */
	n = f->res.len;
	memcpy(buf, f->res.buf, n);
	rx = (struct dhcp_rx){.ifindex = 1, .src = ip("100.64.4.1"), .sport = 67, .dst = ip("100.64.4.1")};
	assert_int_equal(dhcp_server_handle(&f->s, buf, n, &lo, &rx, f->now, &f->res), DHCP_RESULT_RELAY);
	expect_dest(&f->res.dest[0], DHCP_SEND_LINK, 4, "100.64.4.1", "100.64.4.100", 68);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_packets(void **state)
{
	struct fx *f = *state;
	uint8_t buf[1500];
	struct creq c;
	size_t n;
	struct dhcp_rx rx = {.ifindex = 2, .dst = ip("255.255.255.255")};

	assert_int_equal(dhcp_server_handle(&f->s, buf, 10, LAN, &rx, f->now, &f->res), DHCP_RESULT_NONE);
	expect_drop(f, DHCP_DROP_TRUNCATED);
	creq_init(&c, DHCP_DISCOVER, MAC1);
	n = creq_bytes(&c, buf, sizeof(buf));
	buf[236] = 0; /* no cookie */
	dhcp_server_handle(&f->s, buf, n, LAN, &rx, f->now, &f->res);
	expect_drop(f, DHCP_DROP_NO_COOKIE);
	assert_string_equal(dhcp_srv_drop_name(f->res.drop), "no_cookie");
	/* hlen over 16 */
	n = creq_bytes(&c, buf, sizeof(buf));
	buf[2] = 17;
	dhcp_server_handle(&f->s, buf, n, LAN, &rx, f->now, &f->res);
	expect_drop(f, DHCP_DROP_BAD_HWADDR);
	/* a datagram cut by the socket */
	n = creq_bytes(&c, buf, sizeof(buf));
	rx.truncated = true;
	dhcp_server_handle(&f->s, buf, n, LAN, &rx, f->now, &f->res);
	expect_drop(f, DHCP_DROP_TOO_BIG);
	rx.truncated = false;
	/* no identity at all */
	creq_init(&c, DHCP_DISCOVER, NULL);
	c.htype = 0;
	c.hlen = 0;
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_BAD_CLIENT);
	/* an OFFER sent to port 67 from a client link */
	creq_init(&c, DHCP_OFFER, MAC1);
	c.op = DHCP_BOOTREPLY;
	bcast(f, &c, LAN);
	expect_drop(f, DHCP_SRV_DROP_BOOTREPLY);
	assert_int_equal(f->s.stats.dropped, 6);
	assert_int_equal(f->s.stats.received, 6);
	assert_string_equal(dhcp_srv_drop_name(DHCP_SRV_DROP_OFFER_CAP), "offer_cap");
	assert_string_equal(dhcp_srv_drop_name(DHCP_SRV_DROP_COUNT), "unknown");
}

/* ------------------------------------------------------------ reload, restart */

static void test_reload_keeps_leases(void **state)
{
	struct fx *f = *state;
	struct gw_config *ncfg;
	const struct dhcp_config *ndc;
	struct creq c;

	bind_named(f, MAC1, "laptop", NULL, 0);
	ncfg = load(
		IFACES
		"dhcp lan {\n pool 198.51.100.100 198.51.100.110\n pool 198.51.100.160 198.51.100.170\n}\n"
		"dns { local-domain lan.example }\n");
	ndc = gw_config_module(ncfg, &dhcp_mod);
	assert_int_equal(dhcp_server_reload(&f->s, ndc, f->now), 0);
	gw_config_free(f->cfg);
	f->cfg = ncfg;
	f->dc = ndc;
	expect_state(f, "198.51.100.100", DHCP_LEASE_BOUND);
	/* the new local domain: the name moved */
	assert_false(has_name(f, "laptop.home.arpa", "198.51.100.100"));
	assert_true(has_name(f, "laptop.lan.example", "198.51.100.100"));
	renew(f, MAC1, "198.51.100.100", LAN, "198.51.100.1");
	expect_reply(f, DHCP_ACK);
	/* the new pools: fill the first, then the second */
	for (int i = 0; i < 10; i++) {
		uint8_t mac[6] = {0x02, 6, 0, 0, 0, (uint8_t)i};

		discover(f, mac, LAN);
	}
	discover(f, MAC2, LAN);
	expect_addr(f->reply.yiaddr, "198.51.100.160");
	/* scopes that went away serve nobody */
	creq_init(&c, DHCP_DISCOVER, MAC3);
	bcast(f, &c, LAN2);
	expect_drop(f, DHCP_SRV_DROP_NO_SCOPE);
}

static void test_init_publishes_replayed(void **state)
{
	struct fx *f = *state;
	struct dhcp_server_env env = {fake_link_by_device, fake_is_local, NULL};
	struct gw_names *names = gw_names_new();
	struct dhcp_server s2;

	bind_named(f, MAC1, "laptop", NULL, 0);
	bind_lan(f, PRINTER);
	/* a restart: the same table (as the journal replays it), a new server */
	assert_int_equal(dhcp_server_init(&s2, f->dc, f->t, names, &env, 9, f->now), 0);
	assert_int_equal(gw_names_count(names), 1);
	{
		const struct gw_name *e[1];

		assert_int_equal(gw_names_lookup(names, "laptop.home.arpa", f->now, e, 1), 1);
		expect_addr(e[0]->addr, "198.51.100.100");
	}
	dhcp_server_free(&s2);
	gw_names_free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_discover_offer),
		T(test_discover_requested),
		T(test_full_exchange),
		T(test_selecting_other_server),
		T(test_selecting_own_id_elsewhere),
		T(test_selecting_stale_offer),
		T(test_init_reboot_authoritative),
		T(test_init_reboot_not_authoritative),
		T(test_renewing),
		T(test_rebinding),
		T(test_decline),
		T(test_release_rediscover),
		T(test_inform),
		T(test_addressing),
		T(test_option_order),
		T(test_option_121),
		T(test_option_57),
		T(test_option_6_modes),
		T(test_option_61_82_echo),
		T(test_relayed_scopes),
		T(test_remote_renew_direct),
		T(test_pools_outside_link),
		T(test_reservation_mac),
		T(test_reservation_client_id),
		T(test_reservation_taken),
		T(test_pool_exhaustion),
		T(test_offer_rate_limit),
		T(test_offer_cap),
		T(test_expiry_rediscover),
		T(test_label_sanitise),
		T(test_names_publish_withdraw),
		T(test_names_anti_spoof),
		T(test_names_option_81),
		T(test_relay_request),
		T(test_relay_agent_info_rules),
		T(test_relay_reply),
		T(test_relay_to_ourselves),
		T(test_bad_packets),
		T(test_reload_keeps_leases),
		T(test_init_publishes_replayed),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
