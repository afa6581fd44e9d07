/* dhcp_server.c — see dhcp_server.h.
 *
 * One datagram takes one path:
 *   BOOTREPLY                    → a server's answer to one of our relays (RFC 1542 4.1.2)
 *   BOOTREQUEST on a relay link  → forwarded to the relay's servers (RFC 1542 4.1.1, RFC 3046)
 *   BOOTREQUEST otherwise        → served: scope, client, message type (RFC 2131 4.3)
 * and leaves its decision in the caller's struct dhcp_result: no allocation,
 * the parsed message and the reply being built live in the server. */
#include "dhcp_server.h"

#include "dhcp_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)DHCP_SRV_DROP_NO_SCOPE == (int)DHCP_DROP_COUNT,
	       "server drop reasons follow dhcp_parse()'s");
_Static_assert(DHCP_SERVER_TYPES == DHCP_INFORM + 1, "a counter per option 53 value");
_Static_assert(DHCP_LEASE_CHADDR_MAX == DHCP_CHADDR_LEN, "chaddr is 16 octets");

#define LABEL_MAX 63
#define BROADCAST_ALL 0xffffffffu

static uint32_t h32(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static struct in_addr n32(uint32_t x)
{
	struct in_addr a = {htonl(x)};

	return a;
}

static uint32_t mask_of(uint8_t len)
{
	return len >= 32 ? ~0u : len ? ~0u << (32 - len) : 0;
}

/* ------------------------------------------------------------ private */

struct dhcp_srv_scope {
	const struct dhcp_scope *cfg;
	uint16_t lid; /* the lease table's id */
	/* local scopes: the link subnet the pools were cut to (valid when clipped) */
	bool clipped;
	uint32_t net;
	uint8_t prefix;
	uint32_t pool_size;	/* addresses in the pools in force */
	uint32_t pools_outside; /* config pools (partly) outside the link's subnet */
};

struct dhcp_srv_dev {
	const char *device;
	int scope; /* index into cfg->scopes, or -1 */
	int relay; /* index into cfg->relays, or -1 */
};

/* ------------------------------------------------------------ drop names */

static const char *const srv_drop_names[DHCP_SRV_DROP_COUNT] = {
	[DHCP_SRV_DROP_NO_SCOPE] = "no_scope",
	[DHCP_SRV_DROP_NO_ADDRESS] = "no_address",
	[DHCP_SRV_DROP_BAD_CLIENT] = "bad_client",
	[DHCP_SRV_DROP_BAD_REQUEST] = "bad_request",
	[DHCP_SRV_DROP_OWN_SERVER_ID] = "own_server_id",
	[DHCP_SRV_DROP_OTHER_SERVER] = "other_server",
	[DHCP_SRV_DROP_UNKNOWN_CLIENT] = "unknown_client",
	[DHCP_SRV_DROP_UNKNOWN_LEASE] = "unknown_lease",
	[DHCP_SRV_DROP_RATE_LIMITED] = "rate_limited",
	[DHCP_SRV_DROP_OFFER_CAP] = "offer_cap",
	[DHCP_SRV_DROP_POOL_EXHAUSTED] = "pool_exhausted",
	[DHCP_SRV_DROP_BOOTREPLY] = "bootreply",
	[DHCP_SRV_DROP_RELAY_HOPS] = "relay_hops",
	[DHCP_SRV_DROP_RELAY_AGENT_INFO] = "relay_agent_info",
	[DHCP_SRV_DROP_RELAY_BAD_SERVER] = "relay_bad_server",
	[DHCP_SRV_DROP_RELAY_BAD_REPLY] = "relay_bad_reply",
	[DHCP_SRV_DROP_REPLY_TOO_BIG] = "reply_too_big",
	[DHCP_SRV_DROP_NO_MEMORY] = "no_memory",
};

const char *dhcp_srv_drop_name(int reason)
{
	if (reason < 0 && reason > -DHCP_SRV_DROP_COUNT)
		reason = -reason;
	if (reason > 0 && reason < DHCP_DROP_COUNT)
		return dhcp_drop_name(reason);
	if (reason >= DHCP_DROP_COUNT && reason < DHCP_SRV_DROP_COUNT)
		return srv_drop_names[reason];
	return "unknown";
}

/* ------------------------------------------------------------ the result */

static void result_reset(struct dhcp_result *res)
{
	res->kind = DHCP_RESULT_NONE;
	res->drop = DHCP_SRV_OK;
	res->type = 0;
	res->wait_sync = false;
	res->ndest = 0;
	res->len = 0;
	res->nrecs = 0;
	res->event.kind = DHCP_EV_NONE;
}

static enum dhcp_result_kind drop(struct dhcp_server *s, struct dhcp_result *res, int reason)
{
	res->kind = DHCP_RESULT_NONE;
	res->drop = reason;
	res->len = 0;
	res->ndest = 0;
	s->stats.drop[reason]++;
	s->stats.dropped++;
	return DHCP_RESULT_NONE;
}

/* ------------------------------------------------------------ links */

static bool addr_in(uint32_t x, uint32_t net, uint8_t prefix)
{
	return (x & mask_of(prefix)) == (net & mask_of(prefix));
}

static bool link_holds(const struct dhcp_link *lk, struct in_addr a)
{
	for (size_t i = 0; i < lk->naddrs; i++)
		if (addr_in(h32(a), h32(lk->addrs[i].addr), lk->addrs[i].prefixlen))
			return true;
	return false;
}

static bool link_has_addr(const struct dhcp_link *lk, struct in_addr a)
{
	for (size_t i = 0; i < lk->naddrs; i++)
		if (lk->addrs[i].addr.s_addr == a.s_addr)
			return true;
	return false;
}

/* Our address on a local scope's link: the one whose subnet holds the
 * scope's first pool (a link may carry several subnets), else the primary. */
static const struct gw_iface_addr *scope_link_addr(const struct dhcp_scope *sc, const struct dhcp_link *lk)
{
	for (size_t i = 0; sc->npools && i < lk->naddrs; i++)
		if (addr_in(h32(sc->pools[0].first), h32(lk->addrs[i].addr), lk->addrs[i].prefixlen))
			return &lk->addrs[i];
	return lk->naddrs ? &lk->addrs[0] : NULL;
}

/* Whether the datagram was sent to an address of ours rather than to a
 * broadcast address (RFC 2131 4.3.2: how RENEWING differs from REBINDING;
 * and the address a relay reaches us by). */
static bool unicast_to_us(const struct dhcp_rx *rx, const struct dhcp_link *lk)
{
	uint32_t d = h32(rx->dst);

	if (d == 0 || d == BROADCAST_ALL || (d >> 28) == 0xe)
		return false;
	for (size_t i = 0; i < lk->naddrs; i++) {
		uint8_t p = lk->addrs[i].prefixlen;

		if (p < 31 && d == (h32(lk->addrs[i].addr) | ~mask_of(p)))
			return false;
	}
	return true;
}

static const struct dhcp_srv_dev *dev_find(const struct dhcp_server *s, const char *device)
{
	size_t lo = 0, hi = s->ndevs;

	if (!device)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(s->devs[mid].device, device);

		if (d == 0)
			return &s->devs[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool env_link(const struct dhcp_server *s, const char *device, struct dhcp_link *out)
{
	return device && s->env.link_by_device && s->env.link_by_device(s->env.data, device, out);
}

static bool env_is_local(const struct dhcp_server *s, struct in_addr a)
{
	return s->env.is_local && s->env.is_local(s->env.data, a);
}

/* ------------------------------------------------------------ pools */

/* The scope's pools in force in the lease table: a local scope's cut to
 * the hosts of its link's subnet (what lies outside is not served, and
 * counted), a remote scope's as configured (the config keeps them inside).
 * A pool is served up to the table's DHCP_LEASE_POOL_MAX addresses (also
 * counted): 16 million addresses, far beyond any home. */
static int scope_set_pools(struct dhcp_server *s, struct dhcp_srv_scope *ss, bool clip, uint32_t net,
			   uint8_t prefix)
{
	struct dhcp_lease_pool pools[DHCP_MAX_POOLS];
	const struct dhcp_scope *sc = ss->cfg;
	uint32_t lo = 1, hi = BROADCAST_ALL - 1, outside = 0;
	uint64_t size = 0;
	size_t n = 0;
	int err;

	if (clip) {
		lo = (net & mask_of(prefix)) + 1;
		hi = (net | ~mask_of(prefix)) - 1;
		if (prefix > 30)
			lo = 1, hi = 0; /* no host addresses to give */
	}
	for (size_t i = 0; i < sc->npools && i < DHCP_MAX_POOLS; i++) {
		uint32_t f = h32(sc->pools[i].first), l = h32(sc->pools[i].last);

		if (f < lo || l > hi)
			outside++;
		f = f > lo ? f : lo;
		l = l < hi ? l : hi;
		if (f > l)
			continue;
		if (l - f >= DHCP_LEASE_POOL_MAX) {
			l = f + (DHCP_LEASE_POOL_MAX - 1);
			outside++;
		}
		pools[n++] = (struct dhcp_lease_pool){f, l};
		size += l - f + 1;
	}
	err = dhcp_lease_scope_set_pools(s->leases, ss->lid, pools, n);
	if (err < 0)
		return err;
	ss->clipped = clip;
	ss->net = net & mask_of(prefix);
	ss->prefix = prefix;
	ss->pool_size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	ss->pools_outside = outside;
	return 0;
}

/* A local scope's link subnet as seen now; the pools follow it when it changed. */
static int scope_sync_link(struct dhcp_server *s, struct dhcp_srv_scope *ss, const struct gw_iface_addr *a)
{
	uint32_t net = h32(a->addr) & mask_of(a->prefixlen);

	if (ss->clipped && ss->net == net && ss->prefix == a->prefixlen)
		return 0;
	return scope_set_pools(s, ss, true, net, a->prefixlen);
}

/* ------------------------------------------------------------ a request */

/* Everything the handling of one request needs, gathered once. */
struct req {
	struct dhcp_server *s;
	const struct dhcp_msg *m;
	const struct dhcp_link *link; /* arrival */
	const struct dhcp_rx *rx;
	time_t now;
	struct dhcp_result *res;

	struct dhcp_srv_scope *ss;
	const struct dhcp_scope *sc;
	struct in_addr server_id; /* option 54 and the source of our replies */
	struct in_addr link_addr; /* local scopes: our address on the scope's link (router, DNS defaults) */
	uint32_t net;		  /* the client's subnet, host order */
	uint8_t prefix;

	struct dhcp_lease_client client;
	const struct dhcp_host *host; /* the client's reservation */

	bool has_fqdn; /* the client sent option 81 (RFC 4702) */
	uint8_t fqdn_flags;
	uint8_t reply_type; /* of the reply being built */
};

static enum dhcp_result_kind req_drop(struct req *r, int reason)
{
	return drop(r->s, r->res, reason);
}

static bool in_subnet(const struct req *r, struct in_addr a)
{
	uint32_t x = h32(a), m = mask_of(r->prefix);

	/* RFC 950: not the network or broadcast address either */
	return (x & m) == r->net && (r->prefix >= 31 || (x != r->net && x != (r->net | ~m)));
}

/* Addresses no dynamic client may get: the reservations, the routers,
 * ours (dhcp_lease_want.reserved). */
static bool addr_reserved(void *data, uint32_t addr)
{
	const struct req *r = data;
	const struct dhcp_scope *sc = r->sc;

	if (addr == h32(r->server_id) || addr == h32(r->link_addr))
		return true;
	for (size_t i = 0; i < sc->nrouters; i++)
		if (addr == h32(sc->routers[i]))
			return true;
	return dhcp_host_by_addr(sc, n32(addr)) != NULL;
}

/* The lease table's notion of one client (dhcp_lease_same_client), across scopes. */
static bool lease_is_client(const struct dhcp_lease *l, const struct dhcp_lease_client *c)
{
	struct dhcp_lease_client lc = {.htype = l->htype, .hlen = l->hlen, .chaddr = dhcp_lease_chaddr(l)};
	size_t n;

	lc.client_id = dhcp_lease_client_id(l, &n);
	lc.client_id_len = (uint8_t)n;
	return dhcp_lease_same_client(&lc, c);
}

/* Whether the client's reserved address is there for it: not held by
 * another client from before the reservation was made. */
static bool host_addr_free(const struct req *r)
{
	const struct dhcp_lease *l = dhcp_lease_by_addr(r->s->leases, h32(r->host->addr));

	return !l || lease_is_client(l, &r->client) || l->state == DHCP_LEASE_RELEASED ||
	       l->state == DHCP_LEASE_EXPIRED || l->expires_at <= r->now;
}

/* Whether ADDR is right for this client on this link: its reservation, or
 * a pool address nobody has reserved, while its reservation is taken. */
static bool addr_valid(const struct req *r, struct in_addr a)
{
	if (!in_subnet(r, a))
		return false;
	if (r->host && r->host->addr.s_addr == a.s_addr)
		return true;
	if (r->host && in_subnet(r, r->host->addr) && host_addr_free(r))
		return false; /* NAK: it moves to its reserved address */
	return dhcp_lease_in_pool(r->s->leases, r->ss->lid, h32(a)) &&
	       !addr_reserved((void *)(uintptr_t)r, h32(a));
}

static const struct dhcp_lease *client_lease(const struct req *r)
{
	return dhcp_lease_by_client(r->s->leases, r->ss->lid, &r->client);
}

/* Room for one more record in the result (0..2 per message). */
static struct dhcp_lease_rec *rec_slot(struct req *r)
{
	return &r->res->recs[r->res->nrecs < DHCP_SERVER_RECS_MAX ? r->res->nrecs : DHCP_SERVER_RECS_MAX - 1];
}

static void rec_keep(struct req *r)
{
	if (r->res->nrecs < DHCP_SERVER_RECS_MAX)
		r->res->nrecs++;
}

/* ------------------------------------------------------------ names */

static bool bound_state(int state)
{
	return state == DHCP_LEASE_BOUND || state == DHCP_LEASE_STATIC;
}

static const char *local_domain(const struct dhcp_server *s)
{
	return s->cfg->local_domain ? s->cfg->local_domain : DHCP_LOCAL_DOMAIN_DEFAULT;
}

static int fqdn_of(const struct dhcp_server *s, const char *label, char out[GW_NAME_MAX + 1])
{
	int n = snprintf(out, GW_NAME_MAX + 1, "%s.%s", label, local_domain(s));

	return n > 0 && n <= GW_NAME_MAX ? 0 : -ENAMETOOLONG;
}

/* A client's name as one DNS label (RFC 1123 2.1): the first label of it,
 * lower-case, every run of other characters one '-', none at either end,
 * at most 63. "John's iPhone" → "john-s-iphone". Returns the length (0:
 * nothing usable). */
static size_t label_sanitise(const char *in, char out[LABEL_MAX + 1])
{
	size_t n = 0;
	bool dash = false;

	for (const char *p = in; *p && *p != '.'; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			dash = true;
			continue;
		}
		if (dash && n) {
			if (n + 2 > LABEL_MAX)
				break;
			out[n++] = '-';
		}
		dash = false;
		if (n + 1 > LABEL_MAX)
			break;
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

static void name_withdraw(struct dhcp_server *s, const char *label, uint32_t addr)
{
	char fqdn[GW_NAME_MAX + 1];

	if (s->names && *label && fqdn_of(s, label, fqdn) == 0)
		gw_names_remove(s->names, fqdn, n32(addr), GW_NAME_DHCP);
}

/* Another client's name: a DHCP entry at another address whose lease is
 * not this client's (RFC 4703's rule: a name belongs to who took it). */
static bool name_taken(const struct dhcp_server *s, const char *fqdn, uint32_t addr,
		       const struct dhcp_lease_client *c, time_t now)
{
	const struct gw_name *e[8];
	size_t n = gw_names_lookup(s->names, fqdn, now, e, 8);

	for (size_t i = 0; i < n && i < 8; i++) {
		const struct dhcp_lease *l;

		if (e[i]->source != GW_NAME_DHCP || h32(e[i]->addr) == addr)
			continue;
		l = dhcp_lease_by_addr(s->leases, h32(e[i]->addr));
		if (!l || !c || !lease_is_client(l, c))
			return true;
	}
	return false;
}

/* Whether LABEL may be published for ADDR: not a name of another source
 * (the router's own, a static host: anti-spoofing), not another client's. */
static bool name_free(const struct dhcp_server *s, const char *label, uint32_t addr,
		      const struct dhcp_lease_client *c, time_t now)
{
	char fqdn[GW_NAME_MAX + 1];

	if (!s->names)
		return true;
	if (fqdn_of(s, label, fqdn) < 0)
		return false;
	return !gw_names_exists_other(s->names, fqdn, GW_NAME_DHCP, now) &&
	       !name_taken(s, fqdn, addr, c, now);
}

/* A reservation's name is published by the glue as a static name. */
static bool reservation_name(const struct dhcp_scope *sc, uint32_t addr, const char *label)
{
	const struct dhcp_host *h = sc ? dhcp_host_by_addr(sc, n32(addr)) : NULL;

	return h && h->name && strcmp(h->name, label) == 0;
}

static bool name_publish(struct dhcp_server *s, const char *label, uint32_t addr, int64_t expires)
{
	char fqdn[GW_NAME_MAX + 1];

	if (!s->names || fqdn_of(s, label, fqdn) < 0)
		return false;
	if (gw_names_add(s->names, fqdn, n32(addr), GW_NAME_DHCP, (time_t)expires) < 0)
		return false;
	s->stats.names_published++;
	return true;
}

/* The names a change may take away: of the lease at the address, and of
 * the client's record in the scope (a PUT replaces both). */
struct held_name {
	bool live;
	uint32_t addr;
	char label[DHCP_LEASE_HOSTNAME_MAX + 1];
};

static void hold_name(struct held_name *h, const struct dhcp_lease *l)
{
	h->live = l && bound_state(l->state) && *dhcp_lease_hostname(l);
	if (!h->live)
		return;
	h->addr = l->addr;
	snprintf(h->label, sizeof(h->label), "%s", dhcp_lease_hostname(l));
}

static void names_before(const struct req *r, uint32_t addr, struct held_name held[2])
{
	const struct dhcp_lease *at = dhcp_lease_by_addr(r->s->leases, addr), *mine = client_lease(r);

	hold_name(&held[0], at);
	hold_name(&held[1], mine != at ? mine : NULL);
}

/* After a change (REC, applied): withdraw what it ended, publish what it bound. */
static void names_after(struct dhcp_server *s, const struct dhcp_scope *sc, const struct held_name held[2],
			const struct dhcp_lease_rec *rec)
{
	bool bound = rec->op == DHCP_LEASE_PUT && bound_state(rec->state);

	for (int i = 0; i < 2; i++) {
		if (!held[i].live)
			continue;
		if (bound && rec->addr == held[i].addr && strcmp(rec->hostname, held[i].label) == 0)
			continue;
		name_withdraw(s, held[i].label, held[i].addr);
	}
	if (bound && rec->hostname[0] && !reservation_name(sc, rec->addr, rec->hostname))
		name_publish(s, rec->hostname, rec->addr, rec->expires_at);
}

enum name_status {
	NAME_NONE,	 /* no name to publish */
	NAME_NOT_WANTED, /* RFC 4702 N=1: the client wants no DNS update */
	NAME_PUBLISH,
	NAME_RESERVED, /* the reservation's name (the glue publishes it) */
	NAME_REFUSED,  /* another's */
};

/* The name for the client at ADDR (RFC 4702: option 81 before 12); when it
 * sends none, the one its lease at ADDR has. */
static enum name_status name_choose(struct req *r, uint32_t addr, char label[LABEL_MAX + 1])
{
	char raw[DHCP_NAME_MAX + 1];
	struct dhcp_fqdn f;
	const struct dhcp_lease *l;

	label[0] = '\0';
	if (r->host && r->host->name && h32(r->host->addr) == addr) {
		snprintf(label, LABEL_MAX + 1, "%s", r->host->name);
		return NAME_RESERVED;
	}
	if (dhcp_client_fqdn(r->m, &f) == 0 && f.name[0])
		label_sanitise(f.name, label);
	if (!label[0] && dhcp_hostname(r->m, raw, sizeof(raw)) > 0)
		label_sanitise(raw, label);
	if (!label[0]) {
		l = dhcp_lease_by_addr(r->s->leases, addr);
		if (l && lease_is_client(l, &r->client) && strlen(dhcp_lease_hostname(l)) <= LABEL_MAX)
			snprintf(label, LABEL_MAX + 1, "%s", dhcp_lease_hostname(l));
	}
	if (!label[0])
		return NAME_NONE;
	/* RFC 4702 3.1: N=1 asks for no DNS update at all */
	if (r->has_fqdn && (r->fqdn_flags & DHCP_FQDN_N))
		return NAME_NOT_WANTED;
	return name_free(r->s, label, addr, &r->client, r->now) ? NAME_PUBLISH : NAME_REFUSED;
}

/* ------------------------------------------------------------ replies */

static int reply_begin(struct req *r, uint8_t type)
{
	struct dhcp_reply *b = r->s->reply;
	int err = dhcp_reply_init(b, r->res->buf, sizeof(r->res->buf), r->m, type);

	if (err < 0)
		return err;
	r->reply_type = type;
	/* the egress link's MTU bounds what a client may ask for (57) */
	if (r->link->mtu >= DHCP_MIN_MAX_SIZE && r->link->mtu - DHCP_IP_UDP_LEN < b->limit)
		b->limit = r->link->mtu - DHCP_IP_UDP_LEN;
	/* add 54 and 82 before optional bulk, so they can never be refused */
	dhcp_reply_addr(b, DHCP_OPT_SERVER_ID, r->server_id);
	/* RFC 3046 2.2: echoed in every reply to a relayed request */
	if (r->m->giaddr.s_addr && dhcp_has(r->m, DHCP_OPT_AGENT_INFO))
		dhcp_reply_echo_agent_info(b);
	return 0;
}

/* RFC 6842: the client identifier goes back as it came (OFFER, ACK, NAK). */
static void reply_client_id(struct req *r)
{
	size_t len;
	const uint8_t *cid = dhcp_client_id(r->m, &len);

	if (cid)
		dhcp_reply_opt(r->s->reply, DHCP_OPT_CLIENT_ID, cid, len);
}

/* Options not every client uses go in when asked for (RFC 2132 9.8), or to
 * a client that sends no list at all. */
static bool wanted(const struct req *r, uint8_t code)
{
	return dhcp_prl_has(r->m, code) || !dhcp_has(r->m, DHCP_OPT_PARAM_LIST);
}

/* Option 121 (RFC 3442 2): the scope's routes, then the default route
 * (RFC 3442 3: a client that takes 121 ignores option 3, so it must be in
 * here too). The config keeps their bytes within one option's room; the
 * routes that would not fit are left out. */
static size_t reply_routes(const struct dhcp_scope *sc, const struct in_addr *dflt, uint8_t *out, size_t cap)
{
	size_t len = 0;

	for (size_t i = 0; i <= sc->nroutes; i++) {
		const struct dhcp_cfg_route *c = i < sc->nroutes ? &sc->routes[i] : NULL;
		struct dhcp_route rt;
		int n;

		if (c)
			rt = (struct dhcp_route){.dst = c->prefix, .prefix = c->prefix_len, .gw = c->gateway};
		else if (dflt)
			rt = (struct dhcp_route){.gw = *dflt};
		else
			break;
		n = dhcp_routes_encode(&rt, 1, out + len, cap - len);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	return len;
}

/* The configuration parameters of an OFFER or ACK (RFC 2131 4.3.1). */
static void reply_params(struct req *r)
{
	const struct dhcp_scope *sc = r->sc;
	struct dhcp_reply *b = r->s->reply;
	const struct in_addr *routers = sc->routers;
	size_t nrouters = sc->nrouters;
	struct in_addr dns = r->link_addr;
	uint8_t routes[DHCP_OPTION_MAX];

	dhcp_reply_addr(b, DHCP_OPT_SUBNET_MASK, n32(mask_of(r->prefix)));
	if (!nrouters && sc->router_default && r->link_addr.s_addr) {
		routers = &r->link_addr;
		nrouters = 1;
	}
	if (nrouters)
		dhcp_reply_addrs(b, DHCP_OPT_ROUTER, routers, nrouters);
	if (sc->dns_mode == DHCP_DNS_LIST && sc->ndns_servers)
		dhcp_reply_addrs(b, DHCP_OPT_DNS_SERVER, sc->dns_servers, sc->ndns_servers);
	else if (dns.s_addr && (sc->dns_mode == DHCP_DNS_IFACE || (sc->dns_mode == DHCP_DNS_IFACE_IF_LISTEN &&
								   dhcp_dns_listens_on(r->s->cfg, dns))))
		dhcp_reply_addr(b, DHCP_OPT_DNS_SERVER, dns);
	if (sc->domain)
		dhcp_reply_opt(b, DHCP_OPT_DOMAIN, sc->domain, strlen(sc->domain));
	if (r->prefix < 31)
		dhcp_reply_addr(b, DHCP_OPT_BROADCAST, n32(r->net | ~mask_of(r->prefix)));
	if (sc->mtu && wanted(r, DHCP_OPT_MTU))
		dhcp_reply_u16(b, DHCP_OPT_MTU, sc->mtu);
	if (sc->nntp_servers && wanted(r, DHCP_OPT_NTP_SERVER))
		dhcp_reply_addrs(b, DHCP_OPT_NTP_SERVER, sc->ntp_servers, sc->nntp_servers);
	if (sc->nroutes && wanted(r, DHCP_OPT_CLASSLESS_ROUTES)) {
		size_t n = reply_routes(sc, nrouters ? &routers[0] : NULL, routes, sizeof(routes));

		dhcp_reply_opt(b, DHCP_OPT_CLASSLESS_ROUTES, routes, n);
	}
	for (size_t i = 0; i < sc->noptions; i++)
		if (wanted(r, sc->options[i].code))
			dhcp_reply_opt(b, sc->options[i].code, sc->options[i].data, sc->options[i].len);
}

/* RFC 2131 4.3.1, table 3: 51 in an OFFER and in the ACK of a REQUEST;
 * RFC 2131 4.4.5: T1 0.5 and T2 0.875 of it. */
static void reply_lease_time(struct req *r, uint32_t secs)
{
	struct dhcp_reply *b = r->s->reply;

	dhcp_reply_u32(b, DHCP_OPT_LEASE_TIME, secs);
	dhcp_reply_u32(b, DHCP_OPT_RENEWAL_TIME, secs / 2);
	dhcp_reply_u32(b, DHCP_OPT_REBINDING_TIME, (uint32_t)((uint64_t)secs * 7 / 8));
}

/* RFC 4702 4: the server's answer to option 81. S: we do the A update (the
 * names table is the DNS); O: we did so against the client's wish; N: we
 * do none. The name is the one we use, fully qualified, in the client's
 * encoding (E). */
static void reply_fqdn(struct req *r, enum name_status st, const char *label)
{
	uint8_t flags = r->fqdn_flags & DHCP_FQDN_E, out[DHCP_NAME_MAX + 8];
	char fqdn[GW_NAME_MAX + 1];
	int n;

	if (!r->has_fqdn || !label[0] || fqdn_of(r->s, label, fqdn) < 0)
		return;
	if (st == NAME_PUBLISH || st == NAME_RESERVED)
		flags |= DHCP_FQDN_S | (r->fqdn_flags & DHCP_FQDN_S ? 0 : DHCP_FQDN_O);
	else
		flags |= DHCP_FQDN_N;
	n = dhcp_fqdn_encode(flags, fqdn, true, out, sizeof(out));
	if (n > 0)
		dhcp_reply_opt(r->s->reply, DHCP_OPT_CLIENT_FQDN, out, (size_t)n);
}

/* What addressing needs of a reply (RFC 2131 4.1). */
struct route_in {
	uint8_t type;
	uint16_t flags;
	struct in_addr giaddr, ciaddr, yiaddr;
	uint8_t htype, hlen;
	const uint8_t *chaddr;
	int ifindex;	    /* the client's link */
	struct in_addr src; /* ours */
};

/* RFC 2131 4.1, in its order:
 *   giaddr set          → the relay agent, port 67;
 *   ciaddr set, not NAK → unicast to ciaddr, port 68;
 *   broadcast bit, NAK  → 255.255.255.255 on the client's link;
 *   otherwise           → yiaddr at chaddr (no ARP: the client has no address yet),
 *                         possible only for Ethernet addresses; else broadcast. */
static void route_reply(struct dhcp_dest *d, const struct route_in *in)
{
	memset(d, 0, sizeof(*d));
	d->kind = DHCP_SEND_UDP;
	d->src = in->src;
	if (in->giaddr.s_addr) {
		d->dst = in->giaddr;
		d->port = 67;
	} else if (in->ciaddr.s_addr && in->type != DHCP_NAK) {
		d->dst = in->ciaddr;
		d->port = 68;
	} else if ((in->flags & DHCP_FLAG_BROADCAST) || in->type == DHCP_NAK || !in->yiaddr.s_addr ||
		   in->htype != DHCP_HTYPE_ETHER || in->hlen != 6) {
		d->dst.s_addr = htonl(BROADCAST_ALL);
		d->port = 68;
		d->ifindex = in->ifindex;
	} else {
		d->kind = DHCP_SEND_LINK;
		d->dst = in->yiaddr;
		d->port = 68;
		d->ifindex = in->ifindex;
		memcpy(d->mac, in->chaddr, 6);
	}
}

static enum dhcp_result_kind reply_send(struct req *r)
{
	struct dhcp_reply *b = r->s->reply;
	struct dhcp_result *res = r->res;
	uint8_t type = r->reply_type;
	struct route_in in = {
		.type = type,
		.giaddr = r->m->giaddr,
		.ciaddr = r->m->ciaddr,
		.yiaddr = b->yiaddr,
		.htype = r->m->htype,
		.hlen = r->m->hlen,
		.chaddr = r->m->chaddr,
		.ifindex = r->link->ifindex,
		.src = r->server_id,
	};
	int len;

	/* RFC 2131 4.3.2: a NAK through a relay has the broadcast bit set, so
	 * the relay broadcasts it to a client whose address is gone */
	if (type == DHCP_NAK && r->m->giaddr.s_addr)
		b->flags |= DHCP_FLAG_BROADCAST;
	in.flags = b->flags;
	len = dhcp_reply_finish(b);
	if (len < 0)
		return req_drop(r, DHCP_SRV_DROP_REPLY_TOO_BIG);
	res->len = (size_t)len;
	res->type = type;
	res->kind = DHCP_RESULT_REPLY;
	res->ndest = 1;
	route_reply(&res->dest[0], &in);
	r->s->stats.messages[type]++;
	return DHCP_RESULT_REPLY;
}

static enum dhcp_result_kind nak(struct req *r, const char *why)
{
	r->res->wait_sync = false;
	if (reply_begin(r, DHCP_NAK) < 0)
		return req_drop(r, DHCP_SRV_DROP_REPLY_TOO_BIG);
	reply_client_id(r);
	/* RFC 2131 table 3: a NAK SHOULD say why, and carries nothing else */
	dhcp_reply_opt(r->s->reply, DHCP_OPT_MESSAGE, why, strlen(why));
	return reply_send(r);
}

/* An OFFER or ACK of ADDR with the scope's parameters. */
static enum dhcp_result_kind offer_or_ack(struct req *r, uint8_t type, struct in_addr addr,
					  enum name_status st, const char *label)
{
	struct dhcp_reply *b = r->s->reply;

	if (reply_begin(r, type) < 0)
		return req_drop(r, DHCP_SRV_DROP_REPLY_TOO_BIG);
	b->yiaddr = addr;
	/* RFC 2131 table 3: an ACK carries the ciaddr of the REQUEST */
	if (type == DHCP_ACK)
		b->ciaddr = r->m->ciaddr;
	reply_lease_time(r, r->sc->lease_time);
	/* what answers the client's own options first: the builder leaves
	 * out the last added of the unrequested ones when space runs short */
	reply_client_id(r);
	reply_fqdn(r, st, label);
	if (st == NAME_RESERVED && dhcp_prl_has(r->m, DHCP_OPT_HOSTNAME))
		dhcp_reply_opt(b, DHCP_OPT_HOSTNAME, label, strlen(label));
	reply_params(r);
	return reply_send(r);
}

/* ------------------------------------------------------------ DISCOVER */

static uint64_t client_hash(const struct dhcp_server *s, const struct dhcp_lease_client *c)
{
	uint64_t h = 0xcbf29ce484222325ull ^ s->seed;
	size_t cn = dhcp_lease_identity_len(c);
	const uint8_t *p = cn ? c->client_id : c->chaddr;
	size_t n = cn ? cn : c->hlen;

	h = (h ^ (cn ? 0x100u : c->htype)) * 0x100000001b3ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* A token bucket per client. Direct-mapped: a client that lands on a slot
 * held by another starts full, so a collision can only let a flooder off,
 * never hold back someone else. */
static bool offer_allowed(struct dhcp_server *s, const struct dhcp_lease_client *c, time_t now)
{
	uint64_t h = client_hash(s, c);
	struct dhcp_srv_rl *rl = &s->rl[h % DHCP_SERVER_RL_SLOTS];
	unsigned interval = s->offer_interval ? s->offer_interval : 1;

	if (rl->tag != h || now < rl->last) {
		rl->tag = h;
		rl->last = now;
		rl->tokens = s->offer_burst;
	} else if (now - rl->last >= interval) {
		uint64_t add = (uint64_t)(now - rl->last) / interval;

		rl->tokens = add >= s->offer_burst - rl->tokens ? s->offer_burst : rl->tokens + (uint32_t)add;
		rl->last += (int64_t)(add * interval);
	}
	if (!rl->tokens)
		return false;
	rl->tokens--;
	return true;
}

/* Offers outstanding in the scope, against its cap. */
static bool offer_cap_reached(const struct req *r)
{
	const struct dhcp_server *s = r->s;
	uint64_t cap = (uint64_t)r->ss->pool_size * s->offer_cap_pct / 100;

	if (cap < s->offers_min)
		cap = s->offers_min;
	/* a cap of the whole pool is none: exhaustion says it better */
	return cap < r->ss->pool_size && dhcp_lease_offers(s->leases, r->ss->lid) >= cap;
}

static void event_client(struct req *r, enum dhcp_event_kind kind, struct in_addr addr)
{
	struct dhcp_event *e = &r->res->event;

	e->kind = kind;
	e->addr = addr;
	e->scope = r->sc->name;
	e->hlen = r->m->hlen;
	memcpy(e->chaddr, r->m->chaddr, sizeof(e->chaddr));
	e->name[0] = '\0';
}

/* Hold ADDR for the client and OFFER it: 1 done (or a reply dropped),
 * 0 the address is someone else's. */
static int try_offer(struct req *r, uint32_t addr, enum dhcp_result_kind *kind)
{
	struct dhcp_lease_rec *rec = rec_slot(r);
	struct held_name held[2];
	char label[LABEL_MAX + 1];
	enum name_status st = name_choose(r, addr, label);
	struct dhcp_lease_set set = {
		.scope = r->ss->lid,
		.addr = addr,
		.client = &r->client,
		.hostname = st == NAME_PUBLISH || st == NAME_RESERVED ? label : NULL,
		.now = r->now,
		.duration = DHCP_LEASE_OFFER_HOLD,
	};
	int rc;

	names_before(r, addr, held);
	rc = dhcp_lease_offer(r->s->leases, &set, rec);
	if (rc == -EADDRINUSE)
		return 0;
	if (rc < 0) {
		*kind = req_drop(r, rc == -ENOMEM ? DHCP_SRV_DROP_NO_MEMORY : DHCP_SRV_DROP_BAD_CLIENT);
		return 1;
	}
	if (rc == 1) {
		rec_keep(r);
		names_after(r->s, r->sc, held, rec);
	}
	*kind = offer_or_ack(r, DHCP_OFFER, n32(addr), st, label);
	return 1;
}

/* RFC 2131 4.3.1. */
static enum dhcp_result_kind on_discover(struct req *r)
{
	struct dhcp_lease_want want = {
		.scope = r->ss->lid,
		.client = &r->client,
		.now = r->now,
		.reserved = addr_reserved,
		.data = r,
	};
	enum dhcp_result_kind kind;
	struct in_addr ra;
	uint32_t addr;
	int rc;

	if (!offer_allowed(r->s, &r->client, r->now))
		return req_drop(r, DHCP_SRV_DROP_RATE_LIMITED);
	/* a reservation's address, when nobody else holds it from before */
	if (r->host && in_subnet(r, r->host->addr) && try_offer(r, h32(r->host->addr), &kind))
		return kind;
	/* clients the scope knows of (and reserved ones) are not held back */
	if (!r->host && !client_lease(r) && offer_cap_reached(r))
		return req_drop(r, DHCP_SRV_DROP_OFFER_CAP);
	if (dhcp_requested_addr(r->m, &ra) == 0 && in_subnet(r, ra))
		want.requested = h32(ra);
	rc = dhcp_lease_allocate(r->s->leases, &want, &addr);
	if (rc == -ENOSPC) {
		event_client(r, DHCP_EV_EXHAUSTED, n32(0));
		return req_drop(r, DHCP_SRV_DROP_POOL_EXHAUSTED);
	}
	if (rc < 0)
		return req_drop(r, rc == -ENOMEM ? DHCP_SRV_DROP_NO_MEMORY : DHCP_SRV_DROP_BAD_CLIENT);
	if (!try_offer(r, addr, &kind))
		return req_drop(r, DHCP_SRV_DROP_POOL_EXHAUSTED);
	return kind;
}

/* ------------------------------------------------------------ REQUEST */

/* Bind ADDR to the client and ACK it; the ACK waits for the journal. */
static enum dhcp_result_kind ack_bind(struct req *r, struct in_addr addr)
{
	struct dhcp_lease_rec *rec = rec_slot(r);
	struct held_name held[2];
	char label[LABEL_MAX + 1];
	enum name_status st = name_choose(r, h32(addr), label);
	bool is_static = r->host && r->host->addr.s_addr == addr.s_addr;
	struct dhcp_lease_set set = {
		.scope = r->ss->lid,
		.addr = h32(addr),
		.client = &r->client,
		.hostname = st == NAME_PUBLISH || st == NAME_RESERVED ? label : NULL,
		.now = r->now,
		.duration = r->sc->lease_time,
	};
	int rc;

	names_before(r, h32(addr), held);
	rc = dhcp_lease_bind(r->s->leases, &set, is_static, rec);
	if (rc == -EADDRINUSE)
		return nak(r, "address not available");
	if (rc < 0)
		return req_drop(r, rc == -ENOMEM ? DHCP_SRV_DROP_NO_MEMORY : DHCP_SRV_DROP_BAD_CLIENT);
	if (rc == 1) {
		rec_keep(r);
		names_after(r->s, r->sc, held, rec);
		r->res->wait_sync = true;
	}
	if (st == NAME_REFUSED) {
		r->s->stats.names_refused++;
		event_client(r, DHCP_EV_NAME_REFUSED, addr);
		snprintf(r->res->event.name, sizeof(r->res->event.name), "%s", label);
	}
	if (offer_or_ack(r, DHCP_ACK, addr, st, label) != DHCP_RESULT_REPLY) {
		r->res->wait_sync = false;
		return DHCP_RESULT_NONE;
	}
	return DHCP_RESULT_REPLY;
}

/* The address is the client's (its record, or its reservation). */
static bool addr_is_clients(const struct req *r, struct in_addr a)
{
	const struct dhcp_lease *l = client_lease(r);

	return (l && l->addr == h32(a)) || (r->host && r->host->addr.s_addr == a.s_addr);
}

/* RFC 2131 4.3.2 SELECTING: the client names the server it chose. */
static enum dhcp_result_kind request_selecting(struct req *r, struct in_addr sid)
{
	const struct dhcp_lease *l;
	struct in_addr ra;

	if (sid.s_addr != r->server_id.s_addr) {
		/* an address of ours that is not this path's server id: a copy
		 * of a request through another path, or a spoof; never ours to act on */
		if (env_is_local(r->s, sid))
			return req_drop(r, DHCP_SRV_DROP_OWN_SERVER_ID);
		/* the client took another server's offer: ours is withdrawn
		 * (a bound lease stays: it ends on its own) */
		r->s->stats.other_server++;
		l = client_lease(r);
		if (l && l->state == DHCP_LEASE_OFFERED &&
		    dhcp_lease_release(r->s->leases, r->ss->lid, l->addr, &r->client, r->now, rec_slot(r)) ==
			    1)
			rec_keep(r);
		return DHCP_RESULT_NONE;
	}
	if (dhcp_requested_addr(r->m, &ra) < 0)
		return req_drop(r, DHCP_SRV_DROP_BAD_REQUEST);
	if (addr_is_clients(r, ra) && addr_valid(r, ra))
		return ack_bind(r, ra);
	return nak(r, "offer no longer valid");
}

/* RFC 2131 4.3.2 INIT-REBOOT: no server id, option 50, ciaddr 0. */
static enum dhcp_result_kind request_init_reboot(struct req *r, struct in_addr ra)
{
	if (!in_subnet(r, ra))
		return nak(r, "wrong network");
	if (addr_is_clients(r, ra) && addr_valid(r, ra))
		return ack_bind(r, ra);
	/* we know the client, or are the authority for the link: its notion
	 * is wrong; otherwise another server may know it: say nothing */
	if (r->sc->authoritative || client_lease(r) || r->host)
		return nak(r, "address not yours");
	return req_drop(r, DHCP_SRV_DROP_UNKNOWN_CLIENT);
}

/* RFC 2131 4.3.2 RENEWING (unicast to us) and REBINDING (broadcast):
 * ciaddr set, neither 54 nor 50. */
static enum dhcp_result_kind request_renew(struct req *r, bool renewing)
{
	struct in_addr ci = r->m->ciaddr;

	if (!in_subnet(r, ci))
		return nak(r, "wrong network");
	if (addr_is_clients(r, ci) && addr_valid(r, ci))
		return ack_bind(r, ci);
	/* a REBINDING client may hold another server's lease: silence,
	 * unless we know better (its record, or the address is another's) */
	if (renewing || client_lease(r) || r->host || dhcp_lease_by_addr(r->s->leases, h32(ci)))
		return nak(r, "address not yours");
	return req_drop(r, DHCP_SRV_DROP_UNKNOWN_CLIENT);
}

static enum dhcp_result_kind on_request(struct req *r)
{
	struct in_addr sid, ra;

	if (dhcp_server_id(r->m, &sid) == 0)
		return request_selecting(r, sid);
	if (!r->m->ciaddr.s_addr) {
		if (dhcp_requested_addr(r->m, &ra) < 0)
			return req_drop(r, DHCP_SRV_DROP_BAD_REQUEST);
		return request_init_reboot(r, ra);
	}
	/* a unicast REQUEST comes straight from the client; relays forward broadcasts */
	return request_renew(r, !r->m->giaddr.s_addr && unicast_to_us(r->rx, r->link));
}

/* ------------------------------------------------------------ DECLINE, RELEASE, INFORM */

/* 54 in a DECLINE or RELEASE: ours, or not for us to act on. */
static int sid_check(struct req *r)
{
	struct in_addr sid;

	if (dhcp_server_id(r->m, &sid) < 0 || sid.s_addr == r->server_id.s_addr)
		return 0;
	return env_is_local(r->s, sid) ? DHCP_SRV_DROP_OWN_SERVER_ID : DHCP_SRV_DROP_OTHER_SERVER;
}

/* RFC 2131 4.3.3: the address is in use by another host. */
static enum dhcp_result_kind on_decline(struct req *r)
{
	struct dhcp_lease_rec *rec = rec_slot(r);
	struct held_name held[2];
	struct in_addr ra;
	int why = sid_check(r), rc;

	if (why)
		return req_drop(r, why);
	if (dhcp_requested_addr(r->m, &ra) < 0)
		return req_drop(r, DHCP_SRV_DROP_BAD_REQUEST);
	names_before(r, h32(ra), held);
	rc = dhcp_lease_decline(r->s->leases, r->ss->lid, h32(ra), &r->client, r->now, DHCP_LEASE_PROBATION,
				rec);
	if (rc < 0)
		return req_drop(r, DHCP_SRV_DROP_UNKNOWN_LEASE);
	if (rc == 1) {
		rec_keep(r);
		names_after(r->s, r->sc, held, rec);
	}
	event_client(r, DHCP_EV_DECLINE, ra);
	return DHCP_RESULT_NONE;
}

/* RFC 2131 4.3.4: the client gives the address in ciaddr back. */
static enum dhcp_result_kind on_release(struct req *r)
{
	struct dhcp_lease_rec *rec = rec_slot(r);
	struct held_name held[2];
	int why = sid_check(r), rc;

	if (why)
		return req_drop(r, why);
	if (!r->m->ciaddr.s_addr)
		return req_drop(r, DHCP_SRV_DROP_BAD_REQUEST);
	names_before(r, h32(r->m->ciaddr), held);
	rc = dhcp_lease_release(r->s->leases, r->ss->lid, h32(r->m->ciaddr), &r->client, r->now, rec);
	if (rc < 0)
		return req_drop(r, DHCP_SRV_DROP_UNKNOWN_LEASE);
	if (rc == 1) {
		rec_keep(r);
		names_after(r->s, r->sc, held, rec);
	}
	return DHCP_RESULT_NONE;
}

/* RFC 2131 4.3.5: parameters only: an ACK without a lease time or yiaddr,
 * to ciaddr (the addressing rules of 4.1 see to that). */
static enum dhcp_result_kind on_inform(struct req *r)
{
	if (reply_begin(r, DHCP_ACK) < 0)
		return req_drop(r, DHCP_SRV_DROP_REPLY_TOO_BIG);
	r->s->reply->ciaddr = r->m->ciaddr;
	reply_client_id(r);
	reply_params(r);
	return reply_send(r);
}

/* ------------------------------------------------------------ scope selection */

static struct dhcp_srv_scope *srv_scope(struct dhcp_server *s, const struct dhcp_scope *sc)
{
	return &s->scopes[sc - s->cfg->scopes];
}

/* A local scope served on link LK (the arrival link, or one a relay
 * reaches us for): our address there, its subnet, its pools. */
static int use_local(struct req *r, struct dhcp_srv_scope *ss, const struct dhcp_link *lk)
{
	const struct gw_iface_addr *a = scope_link_addr(ss->cfg, lk);

	if (!a)
		return DHCP_SRV_DROP_NO_ADDRESS;
	if (scope_sync_link(r->s, ss, a) < 0)
		return DHCP_SRV_DROP_NO_MEMORY;
	r->ss = ss;
	r->sc = ss->cfg;
	r->link_addr = a->addr;
	r->net = h32(a->addr) & mask_of(a->prefixlen);
	r->prefix = a->prefixlen;
	return 0;
}

static void use_remote(struct req *r, const struct dhcp_scope *sc)
{
	r->ss = srv_scope(r->s, sc);
	r->sc = sc;
	r->link_addr.s_addr = 0;
	r->net = h32(sc->subnet) & mask_of(sc->prefix_len);
	r->prefix = sc->prefix_len;
}

/* The local scope whose link's subnet holds A (a relay on one of our links). */
static int local_holding(struct req *r, struct in_addr a)
{
	for (size_t i = 0; i < r->s->cfg->nscopes; i++) {
		const struct dhcp_scope *sc = &r->s->cfg->scopes[i];
		struct dhcp_link lk;

		if (sc->kind != DHCP_SCOPE_LOCAL || !env_link(r->s, sc->device, &lk) || !link_holds(&lk, a))
			continue;
		for (size_t j = 0; j < lk.naddrs; j++) {
			const struct gw_iface_addr *la = &lk.addrs[j];

			if (!addr_in(h32(a), h32(la->addr), la->prefixlen))
				continue;
			struct dhcp_srv_scope *ss = &r->s->scopes[i];
			int err = scope_sync_link(r->s, ss, la);

			if (err < 0)
				return DHCP_SRV_DROP_NO_MEMORY;
			r->ss = ss;
			r->sc = sc;
			r->link_addr = la->addr;
			r->net = h32(la->addr) & mask_of(la->prefixlen);
			r->prefix = la->prefixlen;
			return 0;
		}
	}
	return DHCP_SRV_DROP_NO_SCOPE;
}

/* The address a client reaches us by when no link of ours is its own:
 * where the datagram was sent (a relay's or the client's unicast), else
 * the arrival link's primary address. Not a loopback address: a request
 * to 127.0.0.1 comes from a relay of ours on this host (`server
 * 127.0.0.1`), and its clients reach us by that relay's address, giaddr. */
static int path_server_id(struct req *r)
{
	if ((h32(r->rx->dst) >> 24) == 127) {
		if (!r->m->giaddr.s_addr || !env_is_local(r->s, r->m->giaddr))
			return DHCP_SRV_DROP_NO_ADDRESS;
		r->server_id = r->m->giaddr;
	} else if (unicast_to_us(r->rx, r->link))
		r->server_id = r->rx->dst;
	else if (r->link->naddrs)
		r->server_id = r->link->addrs[0].addr;
	else
		return DHCP_SRV_DROP_NO_ADDRESS;
	return 0;
}

/* Which scope serves the client (RFC 2131 4.3.1, RFC 3527, RFC 3011):
 *   giaddr set → link-selection (82.5 / 118), else giaddr: a remote scope
 *                holding it, or a local scope whose link holds it;
 *   giaddr 0   → a unicast from a client of a remote scope (RENEWING,
 *                RELEASE, INFORM: ciaddr in that scope, off this link),
 *                else the arrival link's own scope. */
static int select_scope(struct req *r, const struct dhcp_srv_dev *dev)
{
	const struct dhcp_msg *m = r->m;
	const struct dhcp_scope *sc;
	struct in_addr sel;
	int err;

	if (m->giaddr.s_addr) {
		if (dhcp_link_selection(m, &sel) < 0)
			sel = m->giaddr;
		sc = dhcp_scope_by_addr(r->s->cfg, sel);
		if (sc)
			use_remote(r, sc);
		else if ((err = local_holding(r, sel)) != 0)
			return err;
		return path_server_id(r);
	}
	if (m->ciaddr.s_addr && !link_holds(r->link, m->ciaddr) &&
	    (sc = dhcp_scope_by_addr(r->s->cfg, m->ciaddr)) != NULL) {
		use_remote(r, sc);
		return path_server_id(r);
	}
	if (!dev || dev->scope < 0)
		return DHCP_SRV_DROP_NO_SCOPE;
	err = use_local(r, &r->s->scopes[dev->scope], r->link);
	if (err)
		return err;
	r->server_id = r->link_addr;
	return 0;
}

/* The client's identity (RFC 2131 4.2: option 61, else htype + chaddr)
 * and its reservation (RFC 4361 6.3: by client-id, then by MAC). */
static int client_of(struct req *r)
{
	const struct dhcp_msg *m = r->m;
	size_t cid_len = 0;
	const uint8_t *cid = dhcp_client_id(m, &cid_len);

	if (cid && cid_len > DHCP_LEASE_CID_MAX)
		return DHCP_SRV_DROP_BAD_CLIENT;
	if (!cid_len && !m->hlen)
		return DHCP_SRV_DROP_BAD_CLIENT;
	r->client = (struct dhcp_lease_client){
		.client_id = cid,
		.client_id_len = (uint8_t)cid_len,
		.htype = m->htype,
		.hlen = m->hlen,
		.chaddr = m->chaddr,
	};
	r->host = dhcp_host_for_client(r->sc, m->htype == DHCP_HTYPE_ETHER && m->hlen == 6 ? m->chaddr : NULL,
				       cid, cid_len);
	return 0;
}

static enum dhcp_result_kind serve(struct dhcp_server *s, const struct dhcp_link *link,
				   const struct dhcp_rx *rx, time_t now, struct dhcp_result *res,
				   const struct dhcp_srv_dev *dev)
{
	struct dhcp_fqdn f;
	struct req r = {.s = s, .m = s->msg, .link = link, .rx = rx, .now = now, .res = res};
	int err;

	s->stats.messages[r.m->type]++;
	err = select_scope(&r, dev);

	if (!err)
		err = client_of(&r);
	if (err)
		return drop(s, res, err);
	if (dhcp_client_fqdn(r.m, &f) == 0) {
		r.has_fqdn = true;
		r.fqdn_flags = f.flags;
	}
	switch (r.m->type) {
	case DHCP_DISCOVER:
		return on_discover(&r);
	case DHCP_REQUEST:
		return on_request(&r);
	case DHCP_DECLINE:
		return on_decline(&r);
	case DHCP_RELEASE:
		return on_release(&r);
	case DHCP_INFORM:
		return on_inform(&r);
	default: /* dhcp_parse() lets no server's type through in a request */
		return drop(s, res, DHCP_DROP_BAD_MSG_TYPE);
	}
}

/* ------------------------------------------------------------ relay */

/* RFC 3046 2.1: option 82 into the copy in RES, unless a relay closer to
 * the client put one there, or it would not fit (then forward without). */
static void relay_agent_info(struct dhcp_server *s, const struct dhcp_relay *rl, const struct dhcp_link *link,
			     struct dhcp_result *res)
{
	const char *circuit = rl->circuit_id ? rl->circuit_id : link->device;
	struct dhcp_agent_opts ai = {
		.circuit_id = circuit,
		.circuit_id_len = circuit ? strlen(circuit) : 0,
		.remote_id = rl->remote_id,
		.remote_id_len = rl->remote_id ? strlen(rl->remote_id) : 0,
	};
	int n;

	if (dhcp_has(s->msg, DHCP_OPT_AGENT_INFO)) {
		s->stats.relay.agent_info_kept++;
		return;
	}
	n = dhcp_relay_add_agent_info(res->buf, res->len, DHCP_SERVER_RELAY_MAX, &ai);
	if (n > 0) {
		res->len = (size_t)n;
		s->stats.relay.agent_info_added++;
	} else if (n == -EMSGSIZE) {
		s->stats.relay.agent_info_too_big++;
	}
}

/* RFC 1542 4.1.1, RFC 3046 2.1: a client's request on a relay link goes to
 * every server of the relay, with giaddr and option 82. */
static enum dhcp_result_kind relay_request(struct dhcp_server *s, const struct dhcp_relay *rl,
					   const uint8_t *pkt, size_t len, const struct dhcp_link *link,
					   struct dhcp_result *res)
{
	const struct dhcp_msg *m = s->msg;

	/* RFC 3046 2.1: 82 with giaddr 0 came from the client itself (or a
	 * relay on an untrusted circuit): drop */
	if (!m->giaddr.s_addr && dhcp_has(m, DHCP_OPT_AGENT_INFO))
		return drop(s, res, DHCP_SRV_DROP_RELAY_AGENT_INFO);
	if (!link->naddrs)
		return drop(s, res, DHCP_SRV_DROP_NO_ADDRESS);
	if (len > sizeof(res->buf))
		return drop(s, res, DHCP_DROP_TOO_BIG);
	memcpy(res->buf, pkt, len);
	if (dhcp_relay_request(res->buf, len, link->addrs[0].addr, rl->max_hops) < 0)
		return drop(s, res, DHCP_SRV_DROP_RELAY_HOPS);
	res->len = len;
	if (rl->agent_info)
		relay_agent_info(s, rl, link, res);
	for (size_t i = 0; i < rl->nservers && i < DHCP_MAX_SERVERS; i++) {
		struct dhcp_dest *d = &res->dest[res->ndest++];

		memset(d, 0, sizeof(*d));
		d->kind = DHCP_SEND_UDP;
		d->dst = rl->servers[i];
		d->port = 67;
	}
	res->kind = DHCP_RESULT_RELAY;
	res->type = m->type;
	s->stats.relay.requests++;
	s->stats.relay.copies += res->ndest;
	return DHCP_RESULT_RELAY;
}

/* The relay whose link address is A, and that link. */
static const struct dhcp_relay *relay_of_giaddr(const struct dhcp_server *s, struct in_addr a,
						struct dhcp_link *lk)
{
	for (size_t i = 0; i < s->cfg->nrelays; i++) {
		const struct dhcp_relay *rl = &s->cfg->relays[i];

		if (env_link(s, rl->device, lk) && link_has_addr(lk, a))
			return rl;
	}
	return NULL;
}

static bool relay_server_ok(const struct dhcp_server *s, const struct dhcp_relay *rl, struct in_addr src)
{
	for (size_t i = 0; i < rl->nservers; i++)
		if (rl->servers[i].s_addr == src.s_addr)
			return true;
	/* a server on this box (127.0.0.1, or this very server) */
	return env_is_local(s, src);
}

/* RFC 1542 4.1.2, RFC 3046 2.1: a server's reply to one of our relays goes
 * to the client on the relay's link, option 82 taken out. */
static enum dhcp_result_kind relay_reply(struct dhcp_server *s, const uint8_t *pkt, size_t len,
					 const struct dhcp_rx *rx, struct dhcp_result *res)
{
	const struct dhcp_msg *m = s->msg;
	const struct dhcp_relay *rl;
	struct dhcp_link lk;
	int n;

	rl = m->giaddr.s_addr ? relay_of_giaddr(s, m->giaddr, &lk) : NULL;
	if (!rl)
		return drop(s, res, DHCP_SRV_DROP_BOOTREPLY);
	/* anyone upstream could otherwise answer for the servers */
	if (!relay_server_ok(s, rl, rx->src))
		return drop(s, res, DHCP_SRV_DROP_RELAY_BAD_SERVER);
	if (len > sizeof(res->buf))
		return drop(s, res, DHCP_DROP_TOO_BIG);
	memcpy(res->buf, pkt, len);
	n = dhcp_relay_strip_agent_info(res->buf, len);
	if (n < 0)
		return drop(s, res, DHCP_SRV_DROP_RELAY_BAD_REPLY);
	struct route_in in = {
		.type = m->type,
		.flags = m->flags,
		.ciaddr = m->ciaddr,
		.yiaddr = m->yiaddr,
		.htype = m->htype,
		.hlen = m->hlen,
		.chaddr = m->chaddr,
		.ifindex = lk.ifindex,
		.src = m->giaddr,
	};
	res->len = (size_t)n;
	res->ndest = 1;
	route_reply(&res->dest[0], &in); /* giaddr left 0: we are the last hop */
	res->kind = DHCP_RESULT_RELAY;
	res->type = m->type;
	s->stats.relay.replies++;
	return DHCP_RESULT_RELAY;
}

/* ------------------------------------------------------------ the handler */

enum dhcp_result_kind dhcp_server_handle(struct dhcp_server *s, const uint8_t *pkt, size_t len,
					 const struct dhcp_link *link, const struct dhcp_rx *rx, time_t now,
					 struct dhcp_result *res)
{
	const struct dhcp_srv_dev *dev;
	int err;

	result_reset(res);
	s->stats.received++;
	if (rx->truncated)
		return drop(s, res, DHCP_DROP_TOO_BIG);
	err = dhcp_parse(pkt, len, s->msg);
	if (err < 0)
		return drop(s, res, -err);
	if (s->msg->op == DHCP_BOOTREPLY)
		return relay_reply(s, pkt, len, rx, res);
	dev = dev_find(s, link->device);
	if (dev && dev->relay >= 0)
		return relay_request(s, &s->cfg->relays[dev->relay], pkt, len, link, res);
	return serve(s, link, rx, now, res, dev);
}

/* ------------------------------------------------------------ expiry, release */

struct expire_ctx {
	struct dhcp_server *s;
	dhcp_server_rec_fn fn;
	void *data;
};

static void on_expired(void *data, const struct dhcp_lease *old, const struct dhcp_lease_rec *rec)
{
	struct expire_ctx *x = data;

	if (bound_state(old->state) && *dhcp_lease_hostname(old))
		name_withdraw(x->s, dhcp_lease_hostname(old), old->addr);
	if (x->fn)
		x->fn(x->data, rec);
}

time_t dhcp_server_expire(struct dhcp_server *s, time_t now, dhcp_server_rec_fn fn, void *data)
{
	struct expire_ctx x = {s, fn, data};

	return dhcp_lease_expire(s->leases, now, on_expired, &x);
}

int dhcp_server_release_addr(struct dhcp_server *s, struct in_addr addr, time_t now,
			     struct dhcp_lease_rec *rec)
{
	const struct dhcp_lease *l = dhcp_lease_by_addr(s->leases, h32(addr));
	struct held_name held[2] = {{0}};
	int rc;

	hold_name(&held[0], l);
	rc = dhcp_lease_release_addr(s->leases, h32(addr), now, rec);
	if (rc == 1)
		names_after(s, NULL, held, rec);
	return rc;
}

/* ------------------------------------------------------------ setup */

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct dhcp_srv_dev *)a)->device, ((const struct dhcp_srv_dev *)b)->device);
}

/* Per scope: its id in the table; and the device index. Nothing live yet. */
static int setup_alloc(struct dhcp_server *s, const struct dhcp_config *cfg, struct dhcp_srv_scope **scopes,
		       struct dhcp_srv_dev **devs, size_t *ndevs)
{
	size_t n = 0;

	*scopes = calloc(cfg->nscopes ? cfg->nscopes : 1, sizeof(**scopes));
	*devs = calloc(cfg->nscopes + cfg->nrelays + 1, sizeof(**devs));
	if (!*scopes || !*devs)
		goto nomem;
	for (size_t i = 0; i < cfg->nscopes; i++) {
		int lid = dhcp_lease_scope(s->leases, cfg->scopes[i].name, true);

		if (lid < 0) {
			free(*scopes);
			free(*devs);
			return lid;
		}
		(*scopes)[i].cfg = &cfg->scopes[i];
		(*scopes)[i].lid = (uint16_t)lid;
		if (cfg->scopes[i].kind == DHCP_SCOPE_LOCAL && cfg->scopes[i].device)
			(*devs)[n++] = (struct dhcp_srv_dev){cfg->scopes[i].device, (int)i, -1};
	}
	for (size_t i = 0; i < cfg->nrelays; i++)
		if (cfg->relays[i].device)
			(*devs)[n++] = (struct dhcp_srv_dev){cfg->relays[i].device, -1, (int)i};
	qsort(*devs, n, sizeof(**devs), cmp_dev);
	*ndevs = n;
	return 0;
nomem:
	free(*scopes);
	free(*devs);
	return -ENOMEM;
}

/* Pools for every scope of CFG: a local one cut to its link when the link
 * is there now (else as configured, until a packet shows the link). */
static int setup_pools(struct dhcp_server *s, const struct dhcp_config *cfg, struct dhcp_srv_scope *scopes)
{
	for (size_t i = 0; i < cfg->nscopes; i++) {
		struct dhcp_srv_scope *ss = &scopes[i];
		const struct gw_iface_addr *a;
		struct dhcp_link lk;
		int err;

		if (ss->cfg->kind == DHCP_SCOPE_LOCAL && env_link(s, ss->cfg->device, &lk) &&
		    (a = scope_link_addr(ss->cfg, &lk)) != NULL)
			err = scope_set_pools(s, ss, true, h32(a->addr), a->prefixlen);
		else
			err = scope_set_pools(s, ss, false, 0, 0);
		if (err < 0)
			return err;
	}
	return 0;
}

/* Scopes the table has but CFG does not: no pools (their leases stay until they end). */
static void orphan_pools(struct dhcp_server *s, const struct dhcp_config *cfg)
{
	for (size_t lid = 0; lid < dhcp_lease_scope_count(s->leases); lid++) {
		const char *name = dhcp_lease_scope_name(s->leases, (uint16_t)lid);
		bool found = false;

		for (size_t i = 0; i < cfg->nscopes && !found; i++)
			found = strcmp(cfg->scopes[i].name, name) == 0;
		if (!found)
			dhcp_lease_scope_set_pools(s->leases, (uint16_t)lid, NULL, 0);
	}
}

static const struct dhcp_scope *scope_of_lid(const struct dhcp_server *s, uint16_t lid)
{
	for (size_t i = 0; i < s->cfg->nscopes; i++)
		if (s->scopes[i].lid == lid)
			return &s->cfg->scopes[i];
	return NULL;
}

/* The names of every bound lease (start, a new local domain). First come,
 * first served where two clients claim one name. */
static void publish_all(struct dhcp_server *s, time_t now)
{
	if (!s->names)
		return;
	for (const struct dhcp_lease *l = dhcp_lease_first(s->leases); l; l = dhcp_lease_next(s->leases, l)) {
		const char *label = dhcp_lease_hostname(l);
		struct dhcp_lease_client c;
		size_t n;

		if (!bound_state(l->state) || l->expires_at <= now || !*label ||
		    reservation_name(scope_of_lid(s, l->scope), l->addr, label))
			continue;
		c = (struct dhcp_lease_client){dhcp_lease_client_id(l, &n), 0, l->htype, l->hlen,
					       dhcp_lease_chaddr(l)};
		c.client_id_len = (uint8_t)n;
		if (name_free(s, label, l->addr, &c, now))
			name_publish(s, label, l->addr, l->expires_at);
		else
			s->stats.names_refused++;
	}
}

int dhcp_server_init(struct dhcp_server *s, const struct dhcp_config *cfg, struct dhcp_lease_table *t,
		     struct gw_names *names, const struct dhcp_server_env *env, uint64_t seed, time_t now)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->leases = t;
	s->names = names;
	if (env)
		s->env = *env;
	s->seed = seed;
	s->offer_burst = DHCP_SERVER_OFFER_BURST;
	s->offer_interval = DHCP_SERVER_OFFER_INTERVAL;
	s->offer_cap_pct = DHCP_SERVER_OFFER_CAP_PCT;
	s->offers_min = DHCP_SERVER_OFFERS_MIN;
	s->msg = malloc(sizeof(*s->msg));
	s->reply = malloc(sizeof(*s->reply));
	if (!s->msg || !s->reply) {
		dhcp_server_free(s);
		return -ENOMEM;
	}
	err = setup_alloc(s, cfg, &s->scopes, &s->devs, &s->ndevs);
	if (err < 0) {
		s->scopes = NULL;
		s->devs = NULL;
		dhcp_server_free(s);
		return err;
	}
	s->cfg = cfg;
	err = setup_pools(s, cfg, s->scopes);
	if (err < 0) {
		dhcp_server_free(s);
		return err;
	}
	orphan_pools(s, cfg);
	publish_all(s, now);
	return 0;
}

void dhcp_server_free(struct dhcp_server *s)
{
	free(s->scopes);
	free(s->devs);
	free(s->msg);
	free(s->reply);
	s->scopes = NULL;
	s->devs = NULL;
	s->msg = NULL;
	s->reply = NULL;
}

int dhcp_server_reload(struct dhcp_server *s, const struct dhcp_config *new_cfg, time_t now)
{
	const struct dhcp_config *old = s->cfg;
	struct dhcp_srv_scope *scopes;
	struct dhcp_srv_dev *devs;
	size_t ndevs;
	bool domain_changed = strcmp(local_domain(s), new_cfg->local_domain ? new_cfg->local_domain :
									      DHCP_LOCAL_DOMAIN_DEFAULT) != 0;
	int err = setup_alloc(s, new_cfg, &scopes, &devs, &ndevs);

	if (err < 0)
		return err;
	err = setup_pools(s, new_cfg, scopes);
	if (err < 0) {
		/* back to the pools of the config in force */
		setup_pools(s, old, s->scopes);
		free(scopes);
		free(devs);
		return err;
	}
	if (domain_changed && s->names)
		gw_names_remove_source(s->names, GW_NAME_DHCP);
	free(s->scopes);
	free(s->devs);
	s->scopes = scopes;
	s->devs = devs;
	s->ndevs = ndevs;
	s->cfg = new_cfg;
	orphan_pools(s, new_cfg);
	if (domain_changed)
		publish_all(s, now);
	return 0;
}

int dhcp_server_scope_id(const struct dhcp_server *s, size_t i)
{
	return i < s->cfg->nscopes ? s->scopes[i].lid : -ENOENT;
}

uint32_t dhcp_server_pools_outside(const struct dhcp_server *s, size_t i)
{
	return i < s->cfg->nscopes ? s->scopes[i].pools_outside : 0;
}
