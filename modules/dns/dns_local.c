/* dns_local.c — see dns_local.h.
 *
 * Every local zone is answered by one engine: find the zone that encloses
 * QNAME (the deepest of the local domain, localhost., invalid., the RFC 6303
 * reverse zones), write the apex's SOA/NS when asked at the apex, the zone's
 * own records (A from the names table, PTR, localhost's A/AAAA), and when
 * nothing was written, NODATA or NXDOMAIN with the SOA in the authority
 * section (RFC 2308 2.1, 2.2). Zones are recognised label by label from the
 * top (no table of wire names to build or compare), so dns_local_covers() is
 * cheap enough to ask for every query. */
#include "dns_local.h"

#include "names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#define LOCAL_RR_MAX 64 /* records of one RRset; more names for one address are not answered */
#define LABELS_MAX 128	/* a 255-byte name holds at most 127 labels */
#define V4_LABELS 4
#define V6_NIBBLES 32

enum zone_kind {
	ZONE_NONE,	 /* not local */
	ZONE_DOMAIN,	 /* the local domain */
	ZONE_LOCALHOST,	 /* RFC 6761 6.3 */
	ZONE_INVALID,	 /* RFC 6761 6.4 */
	ZONE_REV4,	 /* an RFC 6303 in-addr.arpa zone */
	ZONE_REV6,	 /* an RFC 6303 ip6.arpa zone */
	ZONE_PUBLIC_PTR, /* a full in-addr.arpa name outside those zones, answered from the names table */
};

/* QNAME's labels, top-down: top[0] is the TLD. Each points at its length byte. */
struct labels {
	unsigned n;
	const uint8_t *top[LABELS_MAX];
};

/* What QNAME is, as far as the zones go. */
struct zone {
	enum zone_kind kind;
	unsigned labels; /* the apex's label count */
	/* in-addr.arpa names: the octets read top-down while they are canonical decimal */
	unsigned noctets;
	uint8_t octet[V4_LABELS];
	bool full_v4; /* exactly four octet labels below in-addr.arpa: an address */
};

/* ---- recognising the zones ---- */

/* RFC 6303 4.2-4.5 and RFC 7793 2 (100.64.0.0/10 as 64..127.100): the zones by their octets, top-down. */
struct rev4_zone {
	uint8_t n;
	uint8_t lo[V4_LABELS], hi[V4_LABELS];
};

static const struct rev4_zone rev4_zones[] = {
	{1, {10}, {10}},				 /* RFC 1918 */
	{2, {172, 16}, {172, 31}},			 /* RFC 1918 */
	{2, {192, 168}, {192, 168}},			 /* RFC 1918 */
	{1, {0}, {0}},					 /* "this network" (RFC 1122 3.2.1.3) */
	{1, {127}, {127}},				 /* loopback */
	{2, {169, 254}, {169, 254}},			 /* link-local (RFC 3927) */
	{3, {192, 0, 2}, {192, 0, 2}},			 /* TEST-NET-1 (RFC 5737) */
	{3, {198, 51, 100}, {198, 51, 100}},		 /* TEST-NET-2 */
	{3, {203, 0, 113}, {203, 0, 113}},		 /* TEST-NET-3 */
	{4, {255, 255, 255, 255}, {255, 255, 255, 255}}, /* broadcast */
	{2, {100, 64}, {100, 127}},			 /* shared address space (RFC 7793) */
};

/* RFC 6303 4.3-4.7: the ip6.arpa zones as their nibbles, top-down. */
static const char *const rev6_zones[] = {
	"00000000000000000000000000000000", /* :: */
	"00000000000000000000000000000001", /* ::1 */
	"fd",				    /* ULA fd00::/8 (RFC 4193) */
	"fe8",				    /* link-local fe80::/10 */
	"fe9",
	"fea",
	"feb",
	"20010db8", /* documentation 2001:db8::/32 (RFC 3849) */
};

static void split(const struct dns_name *name, struct labels *ls)
{
	const uint8_t *l[LABELS_MAX];
	unsigned n = 0;
	size_t i = 0;

	/* the name came through dns_name_read(); the bounds are checked all the same */
	while (i < name->len && name->b[i] != 0 && n < LABELS_MAX) {
		if (i + 1 + name->b[i] >= name->len)
			break;
		l[n++] = name->b + i;
		i += 1 + (size_t)name->b[i];
	}
	ls->n = n;
	for (unsigned k = 0; k < n; k++)
		ls->top[k] = l[n - 1 - k];
}

static bool label_is(const uint8_t *l, const char *s)
{
	size_t len = strlen(s);

	return l[0] == len && strncasecmp((const char *)l + 1, s, len) == 0;
}

/* A decimal octet label as in-addr.arpa names are written (RFC 1035 3.5): 0..255, no leading zeros, so
 * that one address has one name ("010" is a different label and never a served address). */
static bool label_octet(const uint8_t *l, uint8_t *v)
{
	unsigned x = 0;

	if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
		return false;
	for (unsigned i = 1; i <= l[0]; i++) {
		if (l[i] < '0' || l[i] > '9')
			return false;
		x = x * 10 + (unsigned)(l[i] - '0');
	}
	if (x > 255)
		return false;
	*v = (uint8_t)x;
	return true;
}

/* QNAME under in-addr.arpa: its octets, and the served zone it is in (0 labels when none). */
static unsigned rev4_zone(const struct labels *ls, struct zone *z)
{
	unsigned below = ls->n - 2;

	z->noctets = 0;
	while (z->noctets < below && z->noctets < V4_LABELS &&
	       label_octet(ls->top[2 + z->noctets], &z->octet[z->noctets]))
		z->noctets++;
	z->full_v4 = below == V4_LABELS && z->noctets == V4_LABELS;
	for (size_t i = 0; i < sizeof(rev4_zones) / sizeof(rev4_zones[0]); i++) {
		const struct rev4_zone *r = &rev4_zones[i];
		unsigned k;

		if (r->n > z->noctets)
			continue;
		for (k = 0; k < r->n; k++)
			if (z->octet[k] < r->lo[k] || z->octet[k] > r->hi[k])
				break;
		if (k == r->n)
			return r->n + 2;
	}
	return 0;
}

static unsigned rev6_zone(const struct labels *ls)
{
	unsigned below = ls->n - 2;

	for (size_t i = 0; i < sizeof(rev6_zones) / sizeof(rev6_zones[0]); i++) {
		const char *nib = rev6_zones[i];
		unsigned len = (unsigned)strlen(nib), k;

		if (len > below)
			continue;
		for (k = 0; k < len; k++) {
			const uint8_t *l = ls->top[2 + k];
			if (l[0] != 1 || tolower(l[1]) != nib[k])
				break;
		}
		if (k == len)
			return len + 2;
	}
	return 0;
}

/* The built-in zone enclosing QNAME (kind and apex labels), ZONE_NONE when none. */
static void builtin_zone(const struct labels *ls, struct zone *z)
{
	if (ls->n == 0)
		return;
	if (label_is(ls->top[0], "localhost")) {
		z->kind = ZONE_LOCALHOST;
		z->labels = 1;
	} else if (label_is(ls->top[0], "invalid")) {
		z->kind = ZONE_INVALID;
		z->labels = 1;
	} else if (ls->n >= 2 && label_is(ls->top[0], "arpa") && label_is(ls->top[1], "in-addr")) {
		z->labels = rev4_zone(ls, z);
		z->kind = z->labels ? ZONE_REV4 : ZONE_NONE;
	} else if (ls->n >= 2 && label_is(ls->top[0], "arpa") && label_is(ls->top[1], "ip6")) {
		z->labels = rev6_zone(ls);
		z->kind = z->labels ? ZONE_REV6 : ZONE_NONE;
	}
}

/* The zone answering QNAME: the deepest of the local domain and the built-in zones (a `local-domain` of
 * "localhost" or below a served reverse zone still leaves RFC 6761's rules to the built-in one). */
static void find_zone(const struct dns_name *local_domain, const struct dns_name *qname, struct zone *z)
{
	struct labels ls;

	memset(z, 0, sizeof(*z));
	split(qname, &ls);
	builtin_zone(&ls, z);
	if (local_domain && local_domain->labels > 0 && local_domain->labels > z->labels &&
	    dns_name_is_under(qname, local_domain)) {
		z->kind = ZONE_DOMAIN;
		z->labels = local_domain->labels;
	}
}

bool dns_local_covers(const struct dns_name *local_domain, const struct dns_name *qname)
{
	struct zone z;

	find_zone(local_domain, qname, &z);
	return z.kind != ZONE_NONE;
}

/* ---- writing ---- */

struct answer {
	struct dns_writer *dw;
	const struct dns_msg *q;
	struct dns_name apex;
	bool has_soa; /* a zone of ours: SOA at the apex and in negative answers */
	bool at_apex;
	unsigned an; /* answer records written */
};

static const struct dns_name name_localhost = {11, 1, "\x09localhost"};

static bool wants(const struct answer *a, uint16_t type)
{
	return a->q->qtype == type || a->q->qtype == DNS_TYPE_ANY;
}

/* RFC 2181 5.2: one TTL per RRset, so the caller takes the least of its records. An entry with an expiry
 * (a DHCP lease) disappears then: no cache downstream should keep it longer. */
static uint32_t entry_ttl(const struct gw_name *e, time_t now)
{
	if (e->expires == 0 || e->expires - now >= DNS_LOCAL_TTL)
		return DNS_LOCAL_TTL;
	return e->expires - now < 1 ? 1 : (uint32_t)(e->expires - now);
}

static void put_rr(struct answer *a, enum dns_section sec, const struct dns_name *owner, uint16_t type,
		   uint32_t ttl, const void *rdata, size_t rdlen)
{
	dns_put_rr(a->dw, sec, owner, type, DNS_CLASS_IN, ttl, rdata, rdlen);
	if (sec == DNS_SEC_ANSWER)
		a->an++;
}

/* "ZONE. SOA localhost. nobody.invalid. 1 3600 1200 604800 DNS_LOCAL_TTL", unbound's locally served
 * zones' SOA; its MINIMUM bounds negative caching (RFC 2308 5). */
static void put_soa(struct answer *a, enum dns_section sec)
{
	static const uint8_t rname[] = "\x06nobody\x07invalid";
	uint8_t rd[11 + sizeof(rname) + 20];
	struct wire w = wire_writer(rd, sizeof(rd));

	wire_put_bytes(&w, name_localhost.b, name_localhost.len);
	wire_put_bytes(&w, rname, sizeof(rname)); /* with the NUL: the root label */
	wire_put_u32(&w, 1);
	wire_put_u32(&w, 3600);
	wire_put_u32(&w, 1200);
	wire_put_u32(&w, 604800);
	wire_put_u32(&w, DNS_LOCAL_TTL);
	put_rr(a, sec, &a->apex, DNS_TYPE_SOA, DNS_LOCAL_TTL, rd, wire_pos(&w));
}

static void put_apex(struct answer *a)
{
	if (!a->has_soa || !a->at_apex)
		return;
	if (wants(a, DNS_TYPE_SOA))
		put_soa(a, DNS_SEC_ANSWER);
	if (wants(a, DNS_TYPE_NS))
		put_rr(a, DNS_SEC_ANSWER, &a->apex, DNS_TYPE_NS, DNS_LOCAL_TTL, name_localhost.b,
		       name_localhost.len);
}

static void put_ptr_localhost(struct answer *a)
{
	if (wants(a, DNS_TYPE_PTR))
		put_rr(a, DNS_SEC_ANSWER, &a->q->qname, DNS_TYPE_PTR, DNS_LOCAL_TTL, name_localhost.b,
		       name_localhost.len);
}

static bool is_expired(const struct gw_name *e, time_t now)
{
	return e->expires != 0 && e->expires <= now;
}

/* ---- the local domain ---- */

/* QNAME in the names table's form (lower case, no final dot); false for names that cannot be there. */
static bool table_name(const struct dns_name *qname, char text[DNS_NAME_TEXT_MAX])
{
	size_t len;

	dns_name_to_text(qname, text);
	if (strchr(text, '\\'))
		return false; /* escaped bytes: never a stored name */
	len = strlen(text);
	if (len > 0 && text[len - 1] == '.')
		text[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		text[i] = (char)tolower((unsigned char)text[i]);
	return len > 0 && len <= GW_NAME_MAX;
}

/* Whether a live entry lies below NAME: NAME is then an empty non-terminal, which is NODATA, not NXDOMAIN
 * (RFC 8020 2: NXDOMAIN means nothing exists below, and resolvers that minimise QNAME act on it). */
static bool has_below(const struct gw_names *names, const char *name, time_t now)
{
	size_t len = strlen(name), cursor = 0;
	const struct gw_name *e;

	while ((e = gw_names_next(names, &cursor))) {
		size_t el = strlen(e->name);
		if (el > len && e->name[el - len - 1] == '.' && strcmp(e->name + el - len, name) == 0 &&
		    !is_expired(e, now))
			return true;
	}
	return false;
}

static void put_a_set(struct answer *a, const struct gw_name **e, size_t n, time_t now)
{
	uint32_t ttl = DNS_LOCAL_TTL;
	size_t i, j;

	for (i = 0; i < n; i++)
		if (entry_ttl(e[i], now) < ttl)
			ttl = entry_ttl(e[i], now);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && e[j]->addr.s_addr != e[i]->addr.s_addr; j++)
			;
		if (j == i) /* RFC 2181 5: no duplicate records (one address from two sources) */
			put_rr(a, DNS_SEC_ANSWER, &a->q->qname, DNS_TYPE_A, ttl, &e[i]->addr.s_addr, 4);
	}
}

static bool answer_domain(struct answer *a, const struct gw_names *names, time_t now)
{
	char text[DNS_NAME_TEXT_MAX];
	const struct gw_name *e[LOCAL_RR_MAX];
	bool valid = table_name(&a->q->qname, text);
	size_t n = 0;

	if (valid)
		n = gw_names_lookup(names, text, now, e, LOCAL_RR_MAX);
	if (n > LOCAL_RR_MAX)
		n = LOCAL_RR_MAX;
	put_apex(a);
	if (wants(a, DNS_TYPE_A))
		put_a_set(a, e, n, now);
	return n > 0 || a->at_apex || (valid && has_below(names, text, now));
}

/* ---- localhost. and invalid. ---- */

/* RFC 6761 6.3: the name and every name below it are the loopback addresses. */
static bool answer_localhost(struct answer *a)
{
	static const uint8_t v4[4] = {127, 0, 0, 1};
	static const uint8_t v6[16] = {[15] = 1};

	put_apex(a);
	if (wants(a, DNS_TYPE_A))
		put_rr(a, DNS_SEC_ANSWER, &a->q->qname, DNS_TYPE_A, DNS_LOCAL_TTL, v4, sizeof(v4));
	if (wants(a, DNS_TYPE_AAAA))
		put_rr(a, DNS_SEC_ANSWER, &a->q->qname, DNS_TYPE_AAAA, DNS_LOCAL_TTL, v6, sizeof(v6));
	return true;
}

/* RFC 6761 6.4: nothing below invalid. exists; the apex holds its SOA and NS as unbound's does. */
static bool answer_invalid(struct answer *a)
{
	put_apex(a);
	return a->at_apex;
}

/* ---- reverse names ---- */

static void put_ptr_set(struct answer *a, const struct gw_name **e, size_t n, time_t now)
{
	struct dns_name target;
	uint32_t ttl = DNS_LOCAL_TTL;
	size_t i, j;

	for (i = 0; i < n; i++)
		if (entry_ttl(e[i], now) < ttl)
			ttl = entry_ttl(e[i], now);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(e[j]->name, e[i]->name) != 0; j++)
			;
		if (j < i || dns_name_from_text(&target, e[i]->name) < 0)
			continue; /* RFC 2181 5: one name from two sources is one record */
		put_rr(a, DNS_SEC_ANSWER, &a->q->qname, DNS_TYPE_PTR, ttl, target.b, target.len);
	}
}

static struct in_addr v4_addr(const struct zone *z)
{
	struct in_addr in;
	uint8_t b[4] = {z->octet[0], z->octet[1], z->octet[2], z->octet[3]};

	memcpy(&in.s_addr, b, 4); /* network order: the first octet first */
	return in;
}

/* Whether a live entry's address starts with the NOCTETS octets of Z (an empty non-terminal). */
static bool has_prefix(const struct gw_names *names, const struct zone *z, time_t now)
{
	const struct gw_name *e;
	size_t cursor = 0;

	while ((e = gw_names_next(names, &cursor))) {
		const uint8_t *b = (const uint8_t *)&e->addr.s_addr;
		if (!is_expired(e, now) && memcmp(b, z->octet, z->noctets) == 0)
			return true;
	}
	return false;
}

/* A name below in-addr.arpa, in a served zone or (ZONE_PUBLIC_PTR) an address the names table maps. */
static bool answer_rev4(struct answer *a, const struct zone *z, const struct gw_names *names, time_t now)
{
	const struct gw_name *e[LOCAL_RR_MAX];
	unsigned below = a->q->qname.labels - 2;
	size_t n = 0;

	put_apex(a);
	if (!z->full_v4)
		/* between the apex and an address: exists when an entry lies below it */
		return a->at_apex || (z->noctets == below && has_prefix(names, z, now));
	n = gw_names_lookup_addr(names, v4_addr(z), now, e, LOCAL_RR_MAX);
	if (n > LOCAL_RR_MAX)
		n = LOCAL_RR_MAX;
	if (n > 0 && wants(a, DNS_TYPE_PTR))
		put_ptr_set(a, e, n, now);
	if (n == 0 && z->octet[0] == 127 && z->octet[1] == 0 && z->octet[2] == 0 && z->octet[3] == 1) {
		put_ptr_localhost(a); /* RFC 6761 6.3's name, unless the names table (hosts-file) says more */
		return true;
	}
	return n > 0 || a->at_apex; /* 255.255.255.255.in-addr.arpa is a zone and an address */
}

static bool answer_rev6(struct answer *a)
{
	put_apex(a);
	/* the ::1 zone is the one name 1.0...0.ip6.arpa itself (the :: zone's first label is "0") */
	if (a->at_apex && a->apex.labels == V6_NIBBLES + 2 && a->q->qname.b[1] == '1')
		put_ptr_localhost(a);
	return a->at_apex;
}

/* ---- the answer ---- */

/* A full in-addr.arpa name outside the served zones: ours only when the names table maps the address (a
 * `host` statement for a public address); the other names there are the Internet's. */
static bool public_ptr(const struct dns_msg *q, const struct gw_names *names, time_t now, struct zone *z)
{
	struct labels ls;
	const struct gw_name *e;

	split(&q->qname, &ls);
	if (ls.n != V4_LABELS + 2 || !label_is(ls.top[0], "arpa") || !label_is(ls.top[1], "in-addr"))
		return false;
	(void)rev4_zone(&ls, z);
	if (!z->full_v4 || gw_names_lookup_addr(names, v4_addr(z), now, &e, 1) == 0)
		return false;
	z->kind = ZONE_PUBLIC_PTR;
	return true;
}

static bool answer_zone(struct answer *a, const struct zone *z, const struct gw_names *names, time_t now)
{
	switch (z->kind) {
	case ZONE_DOMAIN:
		return answer_domain(a, names, now);
	case ZONE_LOCALHOST:
		return answer_localhost(a);
	case ZONE_INVALID:
		return answer_invalid(a);
	case ZONE_REV4:
	case ZONE_PUBLIC_PTR:
		return answer_rev4(a, z, names, now);
	case ZONE_REV6:
		return answer_rev6(a);
	case ZONE_NONE:
		break;
	}
	return false;
}

int dns_local_answer(const struct dns_name *local_domain, const struct gw_names *names,
		     const struct dns_msg *q, time_t now, struct dns_writer *dw)
{
	struct answer a = {.dw = dw, .q = q};
	struct zone z;
	bool exists;

	if (q->qdcount < 1 || q->qclass != DNS_CLASS_IN)
		return 0;
	find_zone(local_domain, &q->qname, &z);
	if (z.kind == ZONE_NONE && !public_ptr(q, names, now, &z))
		return 0;
	a.has_soa = z.kind != ZONE_PUBLIC_PTR;
	a.at_apex = a.has_soa && q->qname.labels == z.labels;
	if (a.has_soa)
		dns_name_suffix(&q->qname, z.labels, &a.apex);
	dns_put_question(dw, &q->qname, q->qtype, q->qclass);
	if (q->qtype == DNS_TYPE_AXFR || q->qtype == DNS_TYPE_IXFR) {
		/* RFC 5936 2.2.1: a server that does not serve a transfer refuses it */
		dns_writer_set_rcode(dw, DNS_RCODE_REFUSED);
		return 1;
	}
	exists = answer_zone(&a, &z, names, now);
	if (a.an > 0)
		return 1;
	/* RFC 2308 2.1, 2.2: NXDOMAIN or NODATA, the zone's SOA in the authority section */
	dns_writer_set_rcode(dw, exists ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN);
	if (a.has_soa)
		put_soa(&a, DNS_SEC_AUTHORITY);
	return 1;
}
