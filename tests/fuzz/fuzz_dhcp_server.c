/* fuzz_dhcp_server.c — datagrams into dhcp_server_handle on a fixed config
 * with local scopes (one not authoritative), a remote scope, reservations
 * and a relay; the input is a run of datagrams, each either raw bytes or a
 * client message described in a few bytes (so the state machine is reached
 * at once), on one of four links, with time moving and the expiry running.
 *
 * After every datagram the invariants are checked, and a break aborts:
 * - a reply or relayed datagram parses back with dhcp_parse (a reply as a
 *   BOOTREPLY of the type announced; every record is one the table takes);
 * - the table is whole: every lease is found by its address, and every
 *   lease a client owns by its client in its scope (no lease in two states,
 *   no client with two records in a scope);
 * - no change hands an address bound to one client to another (offers
 *   never take bound leases; neither does anything else);
 * - every DHCP name in the names table belongs to a bound lease with that
 *   name at that address. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_config.h"
#include "dhcp_packet.h"
#include "dhcp_server.h"
#include "module.h"

#define CHECK(c)                                                                                  \
	do {                                                                                      \
		if (!(c)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

static const char conf[] = "interface lan { device lan0 }\n"
			   "interface lan2 { device lan1 }\n"
			   "interface guest { device guest0 }\n"
			   "interface wan { device wan0 }\n"
			   "dhcp lan {\n"
			   "  pool 198.51.100.100 198.51.100.111\n"
			   "  pool 198.51.100.120 198.51.100.123\n"
			   "  lease-time 1m\n"
			   "  route 10.8.0.0/16 198.51.100.2\n"
			   "  option 252 text \"http://wpad.home.arpa/wpad.dat\"\n"
			   "  host printer { mac 02:00:00:00:00:01\n address 198.51.100.10\n name printer }\n"
			   "  host tv { client-id 01:02:00:00:00:00:02\n address 198.51.100.101 }\n"
			   "}\n"
			   "dhcp lan2 {\n"
			   "  pool 203.0.113.100 203.0.113.103\n"
			   "  authoritative no\n"
			   "}\n"
			   "dhcp 198.18.30.0/24 {\n"
			   "  pool 198.18.30.100 198.18.30.109\n"
			   "  router 198.18.30.1\n"
			   "  dns-server 198.18.0.53\n"
			   "}\n"
			   "dhcp-relay guest {\n"
			   "  server 198.18.0.2\n"
			   "  server 127.0.0.1\n"
			   "  remote-id \"gw1\"\n"
			   "}\n"
			   "dns { listen lan 203.0.113.1 }\n";

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

/* ------------------------------------------------------------ links */

struct fake_link {
	struct dhcp_link l;
	struct gw_iface_addr a[2];
};

static struct fake_link links[4];

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static void link_set(int i, int ifindex, const char *dev, const char *addr, uint8_t prefix)
{
	links[i].a[0] = (struct gw_iface_addr){.addr = ip(addr), .prefixlen = prefix};
	links[i].l = (struct dhcp_link){ifindex, dev, links[i].a, 1, 1500};
}

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

/* ------------------------------------------------------------ state */

static struct gw_config *cfg; /* kept for the process (reachable: no leak report) */
static const struct dhcp_config *dc;
static struct dhcp_server srv;
static struct dhcp_result res;
static struct dhcp_msg back;

static int init_once(void)
{
	static bool done;
	struct cf_errors e;
	struct cf_tree *t;

	if (done)
		return 0;
	cf_errors_init(&e);
	t = cf_parse_string("fuzz.conf", conf, strlen(conf), &e);
	cfg = t ? gw_config_from_tree(t, "fuzz.conf", mods, 2, &e) : NULL;
	if (!cfg) {
		for (size_t i = 0; i < e.nerrors; i++)
			fprintf(stderr, "%s\n", e.errors[i]);
		abort();
	}
	cf_errors_free(&e);
	dc = gw_config_module(cfg, &dhcp_mod);
	done = true;
	return 0;
}

/* ------------------------------------------------------------ invariants */

struct held {
	uint32_t addr;
	uint8_t cid_len, htype, hlen;
	uint8_t cid[DHCP_LEASE_CID_MAX];
	uint8_t chaddr[DHCP_LEASE_CHADDR_MAX];
};

#define HELD_MAX 256
static struct held bound[HELD_MAX];
static size_t nbound;

static bool bound_state(int s)
{
	return s == DHCP_LEASE_BOUND || s == DHCP_LEASE_STATIC;
}

/* The leases bound (and unexpired) before a datagram, and whose they are. */
static void snapshot(struct dhcp_lease_table *t, time_t now)
{
	nbound = 0;
	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l)) {
		struct held *h = &bound[nbound];
		size_t n;
		const uint8_t *cid;

		if (!bound_state(l->state) || l->expires_at <= now || nbound == HELD_MAX)
			continue;
		cid = dhcp_lease_client_id(l, &n);
		h->addr = l->addr;
		h->cid_len = (uint8_t)n;
		if (n)
			memcpy(h->cid, cid, n);
		h->htype = l->htype;
		h->hlen = l->hlen;
		memcpy(h->chaddr, dhcp_lease_chaddr(l), l->hlen);
		nbound++;
	}
}

/* RFC 2131 4.2 as the lease table reads it (dhcp_lease_same_client). */
static bool same_client(const struct held *h, const struct dhcp_lease_rec *r)
{
	struct dhcp_lease_client hc = {h->cid, h->cid_len, h->htype, h->hlen, h->chaddr};
	struct dhcp_lease_client rc = {r->client_id, r->cid_len, r->htype, r->hlen, r->chaddr};

	return dhcp_lease_same_client(&hc, &rc);
}

static void check_recs(void)
{
	CHECK(res.nrecs <= DHCP_SERVER_RECS_MAX);
	for (size_t i = 0; i < res.nrecs; i++) {
		const struct dhcp_lease_rec *r = &res.recs[i];

		CHECK(dhcp_lease_rec_invalid(r) == NULL);
		if (r->op != DHCP_LEASE_PUT || r->state == DHCP_LEASE_RELEASED ||
		    r->state == DHCP_LEASE_EXPIRED || r->state == DHCP_LEASE_DECLINED)
			continue;
		/* offered or bound to a client: never an address bound to another */
		for (size_t j = 0; j < nbound; j++)
			if (bound[j].addr == r->addr)
				CHECK(same_client(&bound[j], r));
	}
}

static void check_table(struct dhcp_lease_table *t)
{
	size_t n = 0;

	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l)) {
		struct dhcp_lease_client c;
		size_t cl;

		n++;
		CHECK(dhcp_lease_by_addr(t, l->addr) == l);
		CHECK(l->state >= 1 && l->state <= DHCP_LEASE_STATE_MAX);
		if (l->state == DHCP_LEASE_DECLINED)
			continue;
		c = (struct dhcp_lease_client){dhcp_lease_client_id(l, &cl), 0, l->htype, l->hlen,
					       dhcp_lease_chaddr(l)};
		c.client_id_len = (uint8_t)cl;
		CHECK(dhcp_lease_by_client(t, l->scope, &c) == l);
	}
	CHECK(n == dhcp_lease_count(t));
}

static void check_names(struct gw_names *names, struct dhcp_lease_table *t)
{
	size_t cur = 0;
	const struct gw_name *e;

	while ((e = gw_names_next(names, &cur)) != NULL) {
		const struct dhcp_lease *l;
		const char *host;
		size_t hl;

		if (e->source != GW_NAME_DHCP)
			continue;
		l = dhcp_lease_by_addr(t, ntohl(e->addr.s_addr));
		CHECK(l && bound_state(l->state));
		host = dhcp_lease_hostname(l);
		hl = strlen(host);
		CHECK(hl && strncmp(e->name, host, hl) == 0 && e->name[hl] == '.');
	}
}

static void check_result(enum dhcp_result_kind k)
{
	CHECK(k == res.kind);
	check_recs();
	if (res.wait_sync)
		CHECK(k == DHCP_RESULT_REPLY && res.type == DHCP_ACK && res.nrecs > 0);
	if (k == DHCP_RESULT_NONE) {
		CHECK(res.ndest == 0);
		CHECK(res.drop >= 0 && res.drop < DHCP_SRV_DROP_COUNT);
		return;
	}
	CHECK(res.drop == 0);
	CHECK(res.len >= DHCP_HDR_LEN && res.len <= sizeof(res.buf));
	CHECK(res.ndest >= 1 && res.ndest <= DHCP_MAX_SERVERS);
	CHECK(dhcp_parse(res.buf, res.len, &back) == 0);
	if (k == DHCP_RESULT_REPLY) {
		CHECK(back.op == DHCP_BOOTREPLY && back.type == res.type && res.ndest == 1);
		CHECK(res.len >= DHCP_MIN_LEN);
		CHECK(dhcp_has(&back, DHCP_OPT_SERVER_ID));
		/* RFC 2131 4.3.5 / table 3: no lease time in a NAK or an INFORM's ACK */
		if (res.type == DHCP_NAK || (res.type == DHCP_ACK && !back.yiaddr.s_addr))
			CHECK(!dhcp_has(&back, DHCP_OPT_LEASE_TIME));
		else
			CHECK(dhcp_has(&back, DHCP_OPT_LEASE_TIME));
	}
	for (size_t i = 0; i < res.ndest; i++)
		CHECK(res.dest[i].port == 67 || res.dest[i].port == 68);
}

/* ------------------------------------------------------------ inputs */

static const char *const addrs[] = {
	"0.0.0.0",	  "198.51.100.100", "198.51.100.101", "198.51.100.102",	 "198.51.100.111",
	"198.51.100.120", "198.51.100.10",  "198.51.100.1",   "198.51.100.255",	 "203.0.113.100",
	"203.0.113.102",  "203.0.113.1",    "198.18.30.100",  "198.18.30.105",	 "198.18.30.1",
	"100.64.0.1",	  "100.64.4.1",	    "10.9.9.9",	      "198.18.0.2",	 "127.0.0.1",
	"100.64.4.50",	  "198.51.100.254", "198.18.99.9",    "255.255.255.255",
};
#define NADDRS (sizeof(addrs) / sizeof(addrs[0]))

static const char *const hostnames[] = {"laptop", "Router", "printer", "John's iPhone", "a.b.c", "-x-", ""};

static struct in_addr pick(uint8_t b)
{
	return ip(addrs[b % NADDRS]);
}

struct pkt {
	uint8_t b[DHCP_SOCK_MAX_DGRAM];
	size_t len;
};

static void put_opt(struct pkt *p, uint8_t code, const void *d, size_t n)
{
	if (p->len + 2 + n >= sizeof(p->b))
		return;
	p->b[p->len++] = code;
	p->b[p->len++] = (uint8_t)n;
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

/* A client message from 8 bytes of description, then TAIL as raw options. */
static void described(struct pkt *p, const uint8_t *d, const uint8_t *tail, size_t ntail)
{
	uint8_t type = (uint8_t)(d[0] % 9), mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)(d[1] & 0x3f)};
	struct in_addr a;

	memset(p->b, 0, 300);
	p->b[0] = (d[1] & 0x80) ? DHCP_BOOTREPLY : DHCP_BOOTREQUEST;
	p->b[1] = (d[1] & 0x40) ? 6 : DHCP_HTYPE_ETHER;
	p->b[2] = 6;
	p->b[3] = (uint8_t)(d[2] >> 5); /* hops */
	p->b[4] = d[7];
	p->b[10] = (d[2] & 1) ? 0x80 : 0; /* broadcast */
	a = d[3] & 1 ? pick(d[3] >> 1) : (struct in_addr){0};
	memcpy(p->b + 12, &a, 4); /* ciaddr */
	a = d[5] & 0x80 ? pick(d[5]) : (struct in_addr){0};
	memcpy(p->b + 16, &a, 4); /* yiaddr (replies) */
	a = d[5] & 0x40 ? pick(d[5] & 0x3f) : (struct in_addr){0};
	memcpy(p->b + 24, &a, 4); /* giaddr */
	memcpy(p->b + 28, mac, 6);
	p->b[236] = 99, p->b[237] = 130, p->b[238] = 83, p->b[239] = 99;
	p->len = DHCP_OPTIONS_OFF;
	put_opt(p, DHCP_OPT_MSG_TYPE, &type, 1);
	if (d[2] & 2) {
		a = pick(d[4]);
		put_opt(p, DHCP_OPT_SERVER_ID, &a, 4);
	}
	if (d[2] & 4) {
		a = pick(d[4] >> 3);
		put_opt(p, DHCP_OPT_REQUESTED_ADDR, &a, 4);
	}
	if (d[2] & 8) {
		uint8_t cid[7] = {1, 0x02, 0, 0, 0, 0, (uint8_t)(d[1] & 0x3f)};

		put_opt(p, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	}
	if (d[6] & 7) {
		const char *h = hostnames[(d[6] & 7) % (sizeof(hostnames) / sizeof(hostnames[0]))];

		if (d[6] & 8) {
			uint8_t f[64] = {(uint8_t)(d[6] >> 4), 0, 0};

			memcpy(f + 3, h, strlen(h));
			put_opt(p, DHCP_OPT_CLIENT_FQDN, f, 3 + strlen(h));
		} else {
			put_opt(p, DHCP_OPT_HOSTNAME, h, strlen(h));
		}
	}
	if (d[2] & 16) {
		static const uint8_t ai[] = {
			DHCP_AGENT_CIRCUIT_ID, 2, 'p', '1', DHCP_AGENT_LINK_SELECTION, 4, 198, 18, 30, 0};

		put_opt(p, DHCP_OPT_AGENT_INFO, ai, (d[3] & 0x80) ? sizeof(ai) : 4);
	}
	if (ntail > sizeof(p->b) - 1 - p->len)
		ntail = sizeof(p->b) - 1 - p->len;
	memcpy(p->b + p->len, tail, ntail);
	p->len += ntail;
	if (p->len < sizeof(p->b))
		p->b[p->len++] = DHCP_OPT_END;
	if (p->len < 300)
		p->len = 300;
}

static const uint32_t steps[8] = {0, 1, 2, 5, 30, 61, 600, 3601};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_server_env env = {fake_link_by_device, fake_is_local, NULL};
	struct dhcp_lease_table *t;
	struct gw_names *names;
	static struct pkt p;
	time_t now = 1700000000;
	size_t off = 0;

	init_once();
	link_set(0, 2, "lan0", "198.51.100.1", 24);
	link_set(1, 3, "lan1", "203.0.113.1", 24);
	link_set(2, 4, "guest0", "100.64.4.1", 24);
	link_set(3, 5, "wan0", "100.64.0.1", 24);
	t = dhcp_lease_table_new(1);
	names = gw_names_new();
	if (!t || !names || dhcp_server_init(&srv, dc, t, names, &env, 3, now) < 0)
		abort();
	gw_names_add(names, "router.home.arpa", ip("198.51.100.1"), GW_NAME_STATIC, 0);
	srv.offers_min = 4;

	/* records: ctl, then either 8 description bytes + n tail bytes, or n raw bytes */
	while (off + 3 <= size) {
		uint8_t ctl = data[off], n = data[off + 1], mode = data[off + 2];
		const struct dhcp_link *link = &links[ctl & 3].l;
		struct dhcp_rx rx = {.ifindex = link->ifindex, .sport = 68};
		enum dhcp_result_kind k;

		off += 3;
		if (n > size - off)
			n = (uint8_t)(size - off);
		if ((mode & 1) && n >= 8) {
			described(&p, data + off, data + off + 8, n - 8u);
		} else {
			size_t len = n;

			/* a long raw datagram: the byte repeated past what is given */
			if (mode & 2)
				len = (size_t)n * 6 < sizeof(p.b) ? (size_t)n * 6 : sizeof(p.b);
			memset(p.b, n ? data[off] : 0, len);
			memcpy(p.b, data + off, n);
			p.len = len;
		}
		off += n;
		switch ((ctl >> 2) & 3) {
		case 0:
			rx.dst = ip("255.255.255.255");
			break;
		case 1:
			rx.dst = link->addrs[0].addr;
			break;
		case 2:
			rx.dst.s_addr = link->addrs[0].addr.s_addr | htonl(0xff);
			break;
		default:
			rx.dst = pick((uint8_t)(ctl ^ n)); /* 127.0.0.1, another link's, ... */
			break;
		}
		rx.src = pick(mode >> 2);
		rx.truncated = (mode & 0xc0) == 0xc0;
		now += steps[(ctl >> 4) & 7];
		if (ctl & 0x80)
			dhcp_server_expire(&srv, now, NULL, NULL);
		if (n == 0 && mode == 0xfe) {
			/* the control socket's `lease release`, and a reload */
			struct dhcp_lease_rec rec;

			dhcp_server_release_addr(&srv, pick(ctl), now, &rec);
			CHECK(dhcp_server_reload(&srv, dc, now) == 0);
			check_table(t);
			check_names(names, t);
			continue;
		}
		snapshot(t, now);
		k = dhcp_server_handle(&srv, p.b, p.len, link, &rx, now, &res);
		check_result(k);
		check_table(t);
		check_names(names, t);
	}
	dhcp_server_free(&srv);
	dhcp_lease_table_free(t);
	gw_names_free(names);
	return 0;
}
