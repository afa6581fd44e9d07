/* nat_pcp.c — see nat_pcp.h.
 *
 * The table is a dense array of slots (swap-remove, so iteration is a plain
 * index) with two indexes that keep every request O(1) in the table size: a
 * per-protocol array from external port to slot (65536 × u16 each: the port
 * check in the allocator is one load), and a chained hash on the client
 * address whose chain holds all of that client's mappings (the per-client
 * count and the (client, proto, internal port) lookup walk one chain of at
 * most NAT_PCP_PER_CLIENT entries plus collisions). Expiry is a scan, run by
 * the caller's timer and, when something is due, at the start of a request
 * so a request never sees a mapping the kernel has already timed out.
 *
 * Ownership: a mapping belongs to its client address. A PCP mapping also
 * belongs to its nonce (RFC 6887 11.3: another nonce may not renew or delete
 * it); NAT-PMP has no nonce, so NAT-PMP requests of the same host may renew
 * or delete any of its mappings, and a NAT-PMP mapping may be taken over by
 * the host's PCP client (the nonce is recorded then).
 *
 * Every byte of a request is read through wire.h; a reply is written through
 * it too, and a reply that does not fit OUT is not sent (0). */
#include "nat_pcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define PCP_VERSION 2
#define NATPMP_VERSION 0
#define PCP_HDR_LEN 24 /* RFC 6887 7.1, 7.2 */
#define PCP_MAP_LEN 36 /* RFC 6887 11.1 */
#define PCP_R 0x80     /* the response bit (PCP) / 128 + opcode (NAT-PMP) */
#define PCP_OP_ANNOUNCE 0
#define PCP_OP_MAP 1
#define PCP_OPT_THIRD_PARTY 1	 /* RFC 6887 13.1 */
#define PCP_OPT_PREFER_FAILURE 2 /* RFC 6887 13.2 */
#define PCP_OPT_OPTIONAL 128	 /* RFC 6887 7.3: codes 128-255 are optional to process */
/* RFC 6887 7.4: long lifetime errors are not worth retrying soon, short ones
 * (a resource, the network) are: 30 minutes and 30 seconds. */
#define PCP_LIFE_LONG_ERR 1800
#define PCP_LIFE_SHORT_ERR 30

#define NATPMP_OP_ADDR 0 /* RFC 6886 3.2 */
#define NATPMP_OP_UDP 1	 /* RFC 6886 3.3 */
#define NATPMP_OP_TCP 2
#define NATPMP_ADDR_REQ_LEN 2
#define NATPMP_MAP_REQ_LEN 12
/* RFC 6886 3.5 result codes */
#define NATPMP_SUCCESS 0
#define NATPMP_REFUSED 2
#define NATPMP_NETWORK_FAILURE 3
#define NATPMP_NO_RESOURCES 4
#define NATPMP_UNSUPP_OPCODE 5

#define PORT_DYN_FIRST 1024 /* "another free port" comes from 1024..65535 */
#define NBUCKETS 4096	    /* client hash: power of two */
#define NIL UINT32_MAX

struct slot {
	struct nat_pcp_mapping m;
	uint32_t next; /* the client chain */
};

struct nat_pcp {
	struct nat_pcp_ops ops;
	void *data;
	uint32_t life_min, life_max, epoch_start;
	uint32_t next_expiry; /* a lower bound of the earliest expiry (0: none) */
	struct slot *slots;
	uint32_t n, cap;
	uint32_t bucket[NBUCKETS];
	uint16_t by_ext[2][65536]; /* slot index + 1; 0: the port is free */
	struct nat_pcp_stats st;
};

/* One parsed PCP MAP request (RFC 6887 11.1) and what we make of it. */
struct pcp_map {
	struct in_addr client;
	uint32_t lifetime;
	uint8_t nonce[12];
	uint8_t proto;
	uint16_t int_port, sugg_port;
	uint8_t sugg_ip[16];
	bool third_party, prefer_failure;
	/* out */
	uint16_t ext_port;
	uint8_t ext_ip[16]; /* the assigned external address (IPv4-mapped) */
	uint32_t granted;
};

/* ---- the table ---- */

static int proto_index(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : -1;
}

static uint32_t client_bucket(struct in_addr a)
{
	return (ntohl(a.s_addr) * 2654435761u) >> 20; /* Fibonacci hash: top 12 bits */
}

static uint32_t find(const struct nat_pcp *p, struct in_addr client, uint8_t proto, uint16_t int_port)
{
	for (uint32_t i = p->bucket[client_bucket(client)]; i != NIL; i = p->slots[i].next) {
		const struct nat_pcp_mapping *m = &p->slots[i].m;
		if (m->client.s_addr == client.s_addr && m->proto == proto && m->int_port == int_port)
			return i;
	}
	return NIL;
}

static uint32_t client_count(const struct nat_pcp *p, struct in_addr client)
{
	uint32_t c = 0;

	for (uint32_t i = p->bucket[client_bucket(client)]; i != NIL; i = p->slots[i].next)
		c += p->slots[i].m.client.s_addr == client.s_addr;
	return c;
}

static bool ext_taken(const struct nat_pcp *p, uint8_t proto, uint16_t port)
{
	return p->by_ext[proto_index(proto)][port] != 0;
}

static bool reserved(const struct nat_pcp *p, uint8_t proto, uint16_t port)
{
	return p->ops.reserved && p->ops.reserved(p->data, proto, port);
}

static bool port_free(const struct nat_pcp *p, uint8_t proto, uint16_t port)
{
	return port != 0 && !ext_taken(p, proto, port) && !reserved(p, proto, port);
}

static void note_expiry(struct nat_pcp *p, uint32_t expires)
{
	if (p->next_expiry == 0 || expires < p->next_expiry)
		p->next_expiry = expires;
}

static int insert(struct nat_pcp *p, const struct nat_pcp_mapping *m, uint32_t *idx)
{
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 16;
		struct slot *s;

		if (cap > NAT_PCP_MAX_MAPPINGS)
			cap = NAT_PCP_MAX_MAPPINGS;
		if (cap <= p->n)
			return -ENOSPC;
		s = realloc(p->slots, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		p->slots = s;
		p->cap = cap;
	}
	uint32_t i = p->n++;
	uint32_t b = client_bucket(m->client);

	p->slots[i].m = *m;
	p->slots[i].next = p->bucket[b];
	p->bucket[b] = i;
	p->by_ext[proto_index(m->proto)][m->ext_port] = (uint16_t)(i + 1);
	note_expiry(p, m->expires);
	*idx = i;
	return 0;
}

/* The link that points at slot I (a bucket head or a slot's next). */
static uint32_t *link_to(struct nat_pcp *p, uint32_t i)
{
	uint32_t *l = &p->bucket[client_bucket(p->slots[i].m.client)];

	while (*l != i)
		l = &p->slots[*l].next;
	return l;
}

static void remove_at(struct nat_pcp *p, uint32_t i)
{
	uint32_t last = p->n - 1;
	struct nat_pcp_mapping *m = &p->slots[i].m;

	*link_to(p, i) = p->slots[i].next;
	p->by_ext[proto_index(m->proto)][m->ext_port] = 0;
	if (i != last) {
		/* the last slot moves into the hole: repoint its chain link and port */
		*link_to(p, last) = i;
		p->slots[i] = p->slots[last];
		m = &p->slots[i].m;
		p->by_ext[proto_index(m->proto)][m->ext_port] = (uint16_t)(i + 1);
	}
	p->n--;
}

static int notify(struct nat_pcp *p, const struct nat_pcp_mapping *m, enum nat_pcp_change ch, uint32_t now)
{
	return p->ops.changed ? p->ops.changed(p->data, m, ch, now) : 0;
}

/* Remove slot I and tell the kernel mirror. */
static void drop(struct nat_pcp *p, uint32_t i, uint32_t now)
{
	struct nat_pcp_mapping m = p->slots[i].m;

	remove_at(p, i);
	(void)notify(p, &m, NAT_PCP_REMOVED, now);
}

/* ---- helpers shared by both protocols ---- */

static struct in_addr external(const struct nat_pcp *p)
{
	struct in_addr a = {0};

	return p->ops.external ? p->ops.external(p->data) : a;
}

static uint32_t epoch(const struct nat_pcp *p, uint32_t now)
{
	/* RFC 6887 8.5, RFC 6886 3.6: seconds since the mapping state began */
	return now >= p->epoch_start ? now - p->epoch_start : 0;
}

static uint32_t clamp_lifetime(const struct nat_pcp *p, uint32_t l)
{
	if (l > p->life_max)
		l = p->life_max;
	if (l < p->life_min)
		l = p->life_min;
	return l;
}

static uint32_t expiry(uint32_t now, uint32_t lifetime)
{
	return lifetime > UINT32_MAX - now ? UINT32_MAX : now + lifetime;
}

static uint16_t random_port(const struct nat_pcp *p)
{
	static const uint32_t span = 65536 - PORT_DYN_FIRST;
	uint32_t r = p->ops.random ? p->ops.random(p->data) : 0;

	return (uint16_t)(PORT_DYN_FIRST + r % span);
}

/* The external port for a new mapping (nat_pcp.h): the suggested one if
 * free, else (unless the client prefers failure) the internal port if free,
 * else the first free port from a random point of 1024..65535. 0: none. */
static uint16_t choose_port(const struct nat_pcp *p, uint8_t proto, uint16_t sugg, uint16_t int_port,
			    bool prefer_failure)
{
	static const uint32_t span = 65536 - PORT_DYN_FIRST;

	if (sugg) {
		if (port_free(p, proto, sugg))
			return sugg;
		if (prefer_failure) /* RFC 6887 13.2 */
			return 0;
	}
	if (port_free(p, proto, int_port))
		return int_port;
	uint32_t start = random_port(p) - PORT_DYN_FIRST;
	for (uint32_t k = 0; k < span; k++) {
		uint16_t port = (uint16_t)(PORT_DYN_FIRST + (start + k) % span);
		if (port_free(p, proto, port))
			return port;
	}
	return 0;
}

static void count_result(struct nat_pcp *p, uint8_t pcp_result)
{
	if (pcp_result < sizeof(p->st.results) / sizeof(p->st.results[0]))
		p->st.results[pcp_result]++;
}

/* A request for CLIENT's mapping PROTO INT_PORT, from either protocol.
 * grant() renews the client's existing one or creates one, and returns a
 * PCP result code (NAT-PMP maps it back); *out is the mapping on success. */
struct grant {
	struct in_addr client;
	uint8_t proto;
	uint16_t int_port, sugg_port;
	uint32_t lifetime;    /* already clamped */
	const uint8_t *nonce; /* NULL: NAT-PMP */
	bool prefer_failure;
};

static uint8_t renew(struct nat_pcp *p, uint32_t i, const struct grant *g, uint32_t now,
		     struct nat_pcp_mapping *out)
{
	struct nat_pcp_mapping old = p->slots[i].m;
	struct nat_pcp_mapping *m = &p->slots[i].m;

	/* RFC 6887 13.2: PREFER_FAILURE asks for that port or nothing; the
	 * mapping keeps its port across renewals (nat_pcp.h). */
	if (g->prefer_failure && g->sugg_port && g->sugg_port != m->ext_port)
		return PCP_CANNOT_PROVIDE_EXTERNAL;
	m->expires = expiry(now, g->lifetime);
	m->natpmp = g->nonce == NULL;
	if (g->nonce)
		memcpy(m->nonce, g->nonce, sizeof(m->nonce));
	else
		memset(m->nonce, 0, sizeof(m->nonce));
	if (notify(p, m, NAT_PCP_RENEWED, now) < 0) {
		*m = old;
		return PCP_NO_RESOURCES;
	}
	note_expiry(p, m->expires);
	p->st.renewed++;
	*out = *m;
	return PCP_SUCCESS;
}

static uint8_t create(struct nat_pcp *p, const struct grant *g, uint32_t now, struct nat_pcp_mapping *out)
{
	struct nat_pcp_mapping m = {0};
	uint32_t i;

	if (client_count(p, g->client) >= NAT_PCP_PER_CLIENT)
		return PCP_USER_EX_QUOTA;
	if (p->n >= NAT_PCP_MAX_MAPPINGS)
		return PCP_NO_RESOURCES;
	m.ext_port = choose_port(p, g->proto, g->sugg_port, g->int_port, g->prefer_failure);
	if (m.ext_port == 0)
		return g->prefer_failure ? PCP_CANNOT_PROVIDE_EXTERNAL : PCP_NO_RESOURCES;
	m.proto = g->proto;
	m.client = g->client;
	m.int_port = g->int_port;
	m.expires = expiry(now, g->lifetime);
	m.natpmp = g->nonce == NULL;
	if (g->nonce)
		memcpy(m.nonce, g->nonce, sizeof(m.nonce));
	if (insert(p, &m, &i) < 0)
		return PCP_NO_RESOURCES;
	if (notify(p, &m, NAT_PCP_ADDED, now) < 0) {
		remove_at(p, i); /* refused: the kernel never had it, nothing to remove there */
		return PCP_NO_RESOURCES;
	}
	p->st.added++;
	*out = m;
	return PCP_SUCCESS;
}

static uint8_t grant(struct nat_pcp *p, const struct grant *g, uint32_t now, struct nat_pcp_mapping *out)
{
	uint32_t i = find(p, g->client, g->proto, g->int_port);

	if (i != NIL && g->nonce && !p->slots[i].m.natpmp &&
	    memcmp(p->slots[i].m.nonce, g->nonce, sizeof(p->slots[i].m.nonce)) != 0)
		return PCP_NOT_AUTHORIZED; /* RFC 6887 11.3: another nonce is another owner */
	if (i != NIL && reserved(p, g->proto, p->slots[i].m.ext_port)) {
		/* a forward took its port since: it moves to a new one */
		drop(p, i, now);
		p->st.deleted++;
		i = NIL;
	}
	return i != NIL ? renew(p, i, g, now, out) : create(p, g, now, out);
}

/* Delete CLIENT's mappings of PROTO (0: all) for INT_PORT (0: all). NONCE
 * (PCP) must match the mappings PCP made; NAT-PMP has none. The last one
 * deleted is copied to *last (its ext_port stays 0 when none was). */
static void delete_mappings(struct nat_pcp *p, struct in_addr client, uint8_t proto, uint16_t int_port,
			    const uint8_t *nonce, uint32_t now, struct nat_pcp_mapping *last)
{
	uint32_t i = p->n;

	while (i--) {
		const struct nat_pcp_mapping *m = &p->slots[i].m;
		if (m->client.s_addr != client.s_addr || (proto && m->proto != proto) ||
		    (int_port && m->int_port != int_port))
			continue;
		if (nonce && !m->natpmp && memcmp(m->nonce, nonce, sizeof(m->nonce)) != 0)
			continue;
		*last = *m;
		drop(p, i, now);
		p->st.deleted++;
	}
}

/* ---- PCP (RFC 6887) ---- */

static uint32_t pcp_error_lifetime(uint8_t result)
{
	switch (result) {
	case PCP_NETWORK_FAILURE:
	case PCP_NO_RESOURCES:
	case PCP_USER_EX_QUOTA:
	case PCP_CANNOT_PROVIDE_EXTERNAL:
	case PCP_EXCESSIVE_REMOTE_PEERS:
		return PCP_LIFE_SHORT_ERR;
	default:
		return PCP_LIFE_LONG_ERR;
	}
}

/* The response header (RFC 6887 7.2) over the first 24 bytes of W. */
static void pcp_put_header(struct wire *w, uint8_t opcode, uint8_t result, uint32_t lifetime, uint32_t ep)
{
	wire_put_u8(w, PCP_VERSION);
	wire_put_u8(w, (uint8_t)(PCP_R | (opcode & 0x7f)));
	wire_put_u8(w, 0);
	wire_put_u8(w, result);
	wire_put_u32(w, lifetime);
	wire_put_u32(w, ep);
	uint8_t *z = wire_put_space(w, 12);
	if (z)
		memset(z, 0, 12);
}

/* An error response (RFC 6887 8.3): the request, up to 1100 bytes and cut
 * to a multiple of 4, copied back with the response header over its own —
 * so a MAP error carries the suggested port and address in the assigned
 * fields (RFC 6887 11.1) and the options as they came. */
static size_t pcp_error(struct nat_pcp *p, const uint8_t *pkt, size_t len, uint8_t result, uint32_t now,
			uint8_t *out, size_t cap)
{
	size_t n = (len > NAT_PCP_MAX_PACKET ? NAT_PCP_MAX_PACKET : len) & ~(size_t)3;
	struct wire w = wire_writer(out, cap);

	if (n < PCP_HDR_LEN || n > cap)
		return 0;
	memmove(out, pkt, n);
	pcp_put_header(&w, pkt[1], result, pcp_error_lifetime(result), epoch(p, now));
	count_result(p, result);
	return n;
}

/* RFC 6887 9: any version but ours (and NAT-PMP's 0) gets UNSUPP_VERSION
 * in a bare header that names the version we speak. */
static size_t pcp_unsupp_version(struct nat_pcp *p, const uint8_t *pkt, uint32_t now, uint8_t *out,
				 size_t cap)
{
	struct wire w = wire_writer(out, cap);

	pcp_put_header(&w, pkt[1], PCP_UNSUPP_VERSION, PCP_LIFE_LONG_ERR, epoch(p, now));
	if (!wire_ok(&w))
		return 0;
	count_result(p, PCP_UNSUPP_VERSION);
	return wire_pos(&w);
}

/* RFC 6887 8.3: the client address field must be the packet's source
 * (IPv4-mapped ::ffff:a.b.c.d), else a NAT sits between us. */
static bool pcp_client_matches(const uint8_t field[16], struct in_addr src)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(field, prefix, 12) == 0 && memcmp(field + 12, &src.s_addr, 4) == 0;
}

static bool ip_unspecified(const uint8_t a[16])
{
	static const uint8_t zero[16];
	static const uint8_t v4zero[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

	return memcmp(a, zero, 16) == 0 || memcmp(a, v4zero, 16) == 0;
}

static void set_mapped(uint8_t out[16], struct in_addr a)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a.s_addr, 4);
}

/* Options (RFC 6887 7.3): code, reserved, length, data padded to 4. Returns
 * a result code; the ones we act on are recorded in *r. */
static uint8_t pcp_options(struct wire *w, uint8_t opcode, struct pcp_map *r)
{
	while (wire_left(w) > 0) {
		uint8_t code = wire_u8(w);
		wire_skip(w, 1);
		uint16_t olen = wire_u16(w);
		if (!wire_ok(w) || !wire_take(w, ((size_t)olen + 3) & ~(size_t)3))
			return PCP_MALFORMED_OPTION; /* runs past the end of the message */
		switch (code) {
		case PCP_OPT_THIRD_PARTY: /* RFC 6887 13.1: MAP/PEER, 16 bytes, once */
			if (opcode != PCP_OP_MAP || olen != 16 || r->third_party)
				return PCP_MALFORMED_OPTION;
			r->third_party = true;
			break;
		case PCP_OPT_PREFER_FAILURE: /* RFC 6887 13.2: MAP, no data, once */
			if (opcode != PCP_OP_MAP || olen != 0 || r->prefer_failure)
				return PCP_MALFORMED_OPTION;
			r->prefer_failure = true;
			break;
		default:
			/* FILTER (3) lands here too: we cannot restrict a mapping to
			 * some peers, and ignoring it would open the port to all of them. */
			if (code < PCP_OPT_OPTIONAL)
				return PCP_UNSUPP_OPTION;
			break; /* optional to process: ignored, not echoed */
		}
	}
	return PCP_SUCCESS;
}

static void pcp_parse_map(struct wire *w, struct pcp_map *r)
{
	wire_copy(w, r->nonce, sizeof(r->nonce));
	r->proto = wire_u8(w);
	wire_skip(w, 3);
	r->int_port = wire_u16(w);
	r->sugg_port = wire_u16(w);
	wire_copy(w, r->sugg_ip, sizeof(r->sugg_ip));
}

/* RFC 6887 15: lifetime 0 deletes (protocol 0 and port 0: all of them); a
 * mapping that is not there is deleted already, so SUCCESS either way. The
 * reply names the deleted mapping's port, or echoes the suggestion. */
static uint8_t pcp_map_delete(struct nat_pcp *p, struct pcp_map *r, uint32_t now)
{
	struct nat_pcp_mapping last = {0};

	if (r->int_port) {
		uint32_t i = find(p, r->client, r->proto, r->int_port);
		if (i != NIL && !p->slots[i].m.natpmp && memcmp(p->slots[i].m.nonce, r->nonce, 12) != 0)
			return PCP_NOT_AUTHORIZED; /* RFC 6887 15: only its owner deletes it */
	}
	delete_mappings(p, r->client, r->proto, r->int_port, r->nonce, now, &last);
	r->granted = 0;
	if (last.ext_port) {
		r->ext_port = last.ext_port;
		set_mapped(r->ext_ip, external(p));
	} else {
		r->ext_port = r->sugg_port;
		memcpy(r->ext_ip, r->sugg_ip, sizeof(r->ext_ip));
	}
	return PCP_SUCCESS;
}

static uint8_t pcp_map(struct nat_pcp *p, struct pcp_map *r, uint32_t now)
{
	if (r->third_party) /* issue 5: only for the sender's own address */
		return PCP_NOT_AUTHORIZED;
	if (r->proto == 0 && r->int_port != 0) /* RFC 6887 11.1 */
		return PCP_MALFORMED_REQUEST;
	if (r->proto != 0 && proto_index(r->proto) < 0)
		return PCP_UNSUPP_PROTOCOL; /* TCP and UDP only */
	if (r->lifetime == 0)
		return pcp_map_delete(p, r, now);
	if (r->proto == 0) /* no "all protocols" mappings */
		return PCP_UNSUPP_PROTOCOL;
	if (r->int_port == 0) /* "all ports" mappings are not offered */
		return PCP_MALFORMED_REQUEST;
	if (r->prefer_failure && r->sugg_port == 0 && ip_unspecified(r->sugg_ip))
		return PCP_MALFORMED_OPTION; /* nothing suggested to prefer */
	struct in_addr ext = external(p);
	if (ext.s_addr == 0)
		return PCP_NETWORK_FAILURE;
	set_mapped(r->ext_ip, ext);
	if (r->prefer_failure && !ip_unspecified(r->sugg_ip) && memcmp(r->sugg_ip, r->ext_ip, 16) != 0)
		return PCP_CANNOT_PROVIDE_EXTERNAL; /* we have one external address */

	struct grant g = {
		r->client, r->proto,	     r->int_port, r->sugg_port, clamp_lifetime(p, r->lifetime),
		r->nonce,  r->prefer_failure};
	struct nat_pcp_mapping m;
	uint8_t rc = grant(p, &g, now, &m);

	if (rc == PCP_SUCCESS) {
		r->ext_port = m.ext_port;
		r->granted = g.lifetime;
	}
	return rc;
}

/* The MAP success response (RFC 6887 11.1, 11.3) with the options we honoured. */
static size_t pcp_map_reply(struct nat_pcp *p, const struct pcp_map *r, uint32_t now, uint8_t *out,
			    size_t cap)
{
	struct wire w = wire_writer(out, cap);

	pcp_put_header(&w, PCP_OP_MAP, PCP_SUCCESS, r->granted, epoch(p, now));
	wire_put_bytes(&w, r->nonce, sizeof(r->nonce));
	wire_put_u8(&w, r->proto);
	wire_put_u8(&w, 0);
	wire_put_u16(&w, 0);
	wire_put_u16(&w, r->int_port);
	wire_put_u16(&w, r->ext_port);
	wire_put_bytes(&w, r->ext_ip, sizeof(r->ext_ip));
	if (r->prefer_failure) {
		wire_put_u8(&w, PCP_OPT_PREFER_FAILURE);
		wire_put_u8(&w, 0);
		wire_put_u16(&w, 0);
	}
	if (!wire_ok(&w))
		return 0;
	count_result(p, PCP_SUCCESS);
	return wire_pos(&w);
}

/* RFC 6887 14.1: an ANNOUNCE request is answered with SUCCESS, lifetime 0. */
static size_t pcp_announce_reply(struct nat_pcp *p, uint32_t now, uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);

	pcp_put_header(&w, PCP_OP_ANNOUNCE, PCP_SUCCESS, 0, epoch(p, now));
	if (!wire_ok(&w))
		return 0;
	count_result(p, PCP_SUCCESS);
	return wire_pos(&w);
}

static size_t pcp_handle(struct nat_pcp *p, const uint8_t *pkt, size_t len, struct in_addr src, uint32_t now,
			 uint8_t *out, size_t cap)
{
	struct pcp_map r = {.client = src};
	uint8_t opcode = pkt[1] & 0x7f;
	size_t need;

	if (pkt[0] != PCP_VERSION)
		return pcp_unsupp_version(p, pkt, now, out, cap);
	if (len < PCP_HDR_LEN) { /* RFC 6887 8.3: too short to answer */
		p->st.dropped_malformed++;
		return 0;
	}
	if (len > NAT_PCP_MAX_PACKET || len % 4) /* RFC 6887 7, 8.3 */
		return pcp_error(p, pkt, len, PCP_MALFORMED_REQUEST, now, out, cap);
	if (opcode == PCP_OP_ANNOUNCE)
		need = PCP_HDR_LEN;
	else if (opcode == PCP_OP_MAP)
		need = PCP_HDR_LEN + PCP_MAP_LEN;
	else /* PEER and the rest */
		return pcp_error(p, pkt, len, PCP_UNSUPP_OPCODE, now, out, cap);
	if (len < need)
		return pcp_error(p, pkt, len, PCP_MALFORMED_REQUEST, now, out, cap);

	struct wire w = wire_reader(pkt, len);
	wire_skip(&w, 4);
	r.lifetime = wire_u32(&w);
	const uint8_t *client = wire_take(&w, 16);
	if (!client || !pcp_client_matches(client, src))
		return pcp_error(p, pkt, len, PCP_ADDRESS_MISMATCH, now, out, cap);
	if (opcode == PCP_OP_MAP)
		pcp_parse_map(&w, &r);
	uint8_t rc = pcp_options(&w, opcode, &r);
	if (rc != PCP_SUCCESS)
		return pcp_error(p, pkt, len, rc, now, out, cap);
	if (opcode == PCP_OP_ANNOUNCE)
		return pcp_announce_reply(p, now, out, cap);
	rc = pcp_map(p, &r, now);
	if (rc != PCP_SUCCESS)
		return pcp_error(p, pkt, len, rc, now, out, cap);
	return pcp_map_reply(p, &r, now, out, cap);
}

/* ---- NAT-PMP (RFC 6886) ---- */

static uint8_t natpmp_to_pcp(uint16_t result)
{
	static const uint8_t map[] = {PCP_SUCCESS,	   PCP_UNSUPP_VERSION, PCP_NOT_AUTHORIZED,
				      PCP_NETWORK_FAILURE, PCP_NO_RESOURCES,   PCP_UNSUPP_OPCODE};

	return result < sizeof(map) ? map[result] : PCP_NO_RESOURCES;
}

static uint16_t pcp_to_natpmp(uint8_t rc)
{
	switch (rc) {
	case PCP_SUCCESS:
		return NATPMP_SUCCESS;
	case PCP_NETWORK_FAILURE:
		return NATPMP_NETWORK_FAILURE;
	case PCP_NOT_AUTHORIZED:
		return NATPMP_REFUSED;
	default: /* quota, table full, changed() refused, no free port */
		return NATPMP_NO_RESOURCES;
	}
}

static void natpmp_put_header(struct wire *w, uint8_t op, uint16_t result, uint32_t ep)
{
	wire_put_u8(w, NATPMP_VERSION);
	wire_put_u8(w, (uint8_t)(PCP_R + op));
	wire_put_u16(w, result);
	wire_put_u32(w, ep);
}

static size_t natpmp_done(struct nat_pcp *p, struct wire *w, uint16_t result)
{
	if (!wire_ok(w))
		return 0;
	count_result(p, natpmp_to_pcp(result));
	return wire_pos(w);
}

/* RFC 6886 3.2: the external address (0.0.0.0 and NETWORK_FAILURE without one). */
static size_t natpmp_addr(struct nat_pcp *p, uint32_t now, uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);
	struct in_addr ext = external(p);
	uint16_t result = ext.s_addr ? NATPMP_SUCCESS : NATPMP_NETWORK_FAILURE;

	natpmp_put_header(&w, NATPMP_OP_ADDR, result, epoch(p, now));
	wire_put_bytes(&w, &ext.s_addr, 4);
	return natpmp_done(p, &w, result);
}

/* RFC 6886 3.3, 3.4: UDP/TCP mappings; lifetime 0 deletes (internal port 0:
 * all of the client's mappings of the protocol). A failure or a deletion
 * answers with external port and lifetime 0. */
static size_t natpmp_map(struct nat_pcp *p, uint8_t op, struct wire *rd, struct in_addr src, uint32_t now,
			 uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);
	uint8_t proto = op == NATPMP_OP_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	struct nat_pcp_mapping m = {0};
	uint16_t result = NATPMP_SUCCESS;
	uint32_t granted = 0;

	wire_skip(rd, 2);
	uint16_t int_port = wire_u16(rd);
	uint16_t sugg = wire_u16(rd);
	uint32_t lifetime = wire_u32(rd);

	if (lifetime == 0) {
		delete_mappings(p, src, proto, int_port, NULL, now, &m);
		m.ext_port = 0;
	} else if (int_port == 0) {
		result = NATPMP_REFUSED; /* no "all ports" mappings; NAT-PMP has no MALFORMED */
	} else if (external(p).s_addr == 0) {
		result = NATPMP_NETWORK_FAILURE;
	} else {
		struct grant g = {src, proto, int_port, sugg, clamp_lifetime(p, lifetime), NULL, false};
		result = pcp_to_natpmp(grant(p, &g, now, &m));
		granted = result == NATPMP_SUCCESS ? g.lifetime : 0;
		if (result != NATPMP_SUCCESS)
			m.ext_port = 0;
	}
	natpmp_put_header(&w, op, result, epoch(p, now));
	wire_put_u16(&w, int_port);
	wire_put_u16(&w, m.ext_port);
	wire_put_u32(&w, granted);
	return natpmp_done(p, &w, result);
}

static size_t natpmp_handle(struct nat_pcp *p, const uint8_t *pkt, size_t len, struct in_addr src,
			    uint32_t now, uint8_t *out, size_t cap)
{
	struct wire rd = wire_reader(pkt, len);
	uint8_t op = pkt[1];

	wire_skip(&rd, 2);
	if (op == NATPMP_OP_ADDR) {
		if (len != NATPMP_ADDR_REQ_LEN)
			goto malformed;
		return natpmp_addr(p, now, out, cap);
	}
	if (op == NATPMP_OP_UDP || op == NATPMP_OP_TCP) {
		if (len != NATPMP_MAP_REQ_LEN)
			goto malformed;
		return natpmp_map(p, op, &rd, src, now, out, cap);
	}
	/* RFC 6886 3.5: an unsupported opcode gets the 8-byte generic response */
	struct wire w = wire_writer(out, cap);
	natpmp_put_header(&w, op, NATPMP_UNSUPP_OPCODE, epoch(p, now));
	return natpmp_done(p, &w, NATPMP_UNSUPP_OPCODE);
malformed:
	p->st.dropped_malformed++;
	return 0;
}

/* ---- the interface ---- */

struct nat_pcp *nat_pcp_new(const struct nat_pcp_ops *ops, void *data, uint32_t lifetime_min,
			    uint32_t lifetime_max, uint32_t epoch_start)
{
	struct nat_pcp *p;

	if (!ops)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ops = *ops;
	p->data = data;
	p->epoch_start = epoch_start;
	memset(p->bucket, 0xff, sizeof(p->bucket)); /* NIL */
	nat_pcp_set_lifetimes(p, lifetime_min, lifetime_max);
	return p;
}

void nat_pcp_free(struct nat_pcp *p)
{
	if (!p)
		return;
	free(p->slots);
	free(p);
}

void nat_pcp_set_lifetimes(struct nat_pcp *p, uint32_t min, uint32_t max)
{
	/* a granted mapping lives at least a second; config checks the rest */
	p->life_min = min ? min : 1;
	p->life_max = max >= p->life_min ? max : p->life_min;
}

void nat_pcp_set_epoch_start(struct nat_pcp *p, uint32_t epoch_start)
{
	p->epoch_start = epoch_start;
}

size_t nat_pcp_handle(struct nat_pcp *p, const uint8_t *pkt, size_t len, struct in_addr src, bool from_lan,
		      uint32_t now, uint8_t *out, size_t cap)
{
	p->st.requests++;
	if (!from_lan) { /* answering would tell WAN hosts we speak PCP */
		p->st.dropped_not_lan++;
		return 0;
	}
	if (len < 2) { /* RFC 6887 8.3: not even a version and opcode */
		p->st.dropped_malformed++;
		return 0;
	}
	if (pkt[1] & PCP_R) { /* RFC 6887 8.3, RFC 6886 3.1: never answer a response */
		p->st.dropped_response++;
		return 0;
	}
	if (p->next_expiry && now >= p->next_expiry)
		(void)nat_pcp_expire(p, now);
	if (pkt[0] == NATPMP_VERSION) { /* RFC 6887 Appendix A: one port, both protocols */
		p->st.natpmp++;
		return natpmp_handle(p, pkt, len, src, now, out, cap);
	}
	p->st.pcp++;
	return pcp_handle(p, pkt, len, src, now, out, cap);
}

size_t nat_pcp_announce(const struct nat_pcp *p, uint32_t now, uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);

	/* RFC 6887 14.1.3: an unsolicited ANNOUNCE response, SUCCESS, lifetime 0 */
	pcp_put_header(&w, PCP_OP_ANNOUNCE, PCP_SUCCESS, 0, epoch(p, now));
	return wire_ok(&w) ? wire_pos(&w) : 0;
}

size_t nat_pcp_natpmp_notice(const struct nat_pcp *p, uint32_t now, uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);
	struct in_addr ext = external(p);

	/* RFC 6886 3.2.1: the external address response, sent unasked */
	natpmp_put_header(&w, NATPMP_OP_ADDR, ext.s_addr ? NATPMP_SUCCESS : NATPMP_NETWORK_FAILURE,
			  epoch(p, now));
	wire_put_bytes(&w, &ext.s_addr, 4);
	return wire_ok(&w) ? wire_pos(&w) : 0;
}

uint32_t nat_pcp_expire(struct nat_pcp *p, uint32_t now)
{
	uint32_t i = p->n;

	p->next_expiry = 0;
	while (i--) { /* backwards: remove_at moves the last (already seen) slot into i */
		if (p->slots[i].m.expires <= now) {
			drop(p, i, now);
			p->st.expired++;
		} else {
			note_expiry(p, p->slots[i].m.expires);
		}
	}
	return p->next_expiry;
}

int nat_pcp_restore(struct nat_pcp *p, const struct nat_pcp_mapping *m)
{
	uint32_t i;

	if (proto_index(m->proto) < 0 || m->int_port == 0 || m->ext_port == 0 || m->client.s_addr == 0)
		return -EINVAL;
	if (ext_taken(p, m->proto, m->ext_port) || find(p, m->client, m->proto, m->int_port) != NIL)
		return -EEXIST;
	if (p->n >= NAT_PCP_MAX_MAPPINGS)
		return -ENOSPC;
	return insert(p, m, &i);
}

size_t nat_pcp_drop_reserved(struct nat_pcp *p, uint32_t now)
{
	size_t count = 0;
	uint32_t i = p->n;

	while (i--) {
		if (reserved(p, p->slots[i].m.proto, p->slots[i].m.ext_port)) {
			drop(p, i, now);
			p->st.deleted++;
			count++;
		}
	}
	return count;
}

const struct nat_pcp_mapping *nat_pcp_next(const struct nat_pcp *p, size_t *cursor)
{
	return *cursor < p->n ? &p->slots[(*cursor)++].m : NULL;
}

size_t nat_pcp_count(const struct nat_pcp *p)
{
	return p->n;
}

const struct nat_pcp_stats *nat_pcp_stats(const struct nat_pcp *p)
{
	return &p->st;
}
