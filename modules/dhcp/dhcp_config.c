/* dhcp_config.c — the `dhcp` and `dhcp-relay` sections (CONFIG.md) into a
 * struct dhcp_config, with every rule that can be checked without the
 * kernel. What needs the live interface (is a pool inside the interface's
 * current subnet?) is the server's business at run time.
 *
 * A file is hostile: the work is O(n log n) in its statements whatever it
 * holds (duplicates and overlaps are found by sorting, never by comparing
 * every pair), and every count is bounded (dhcp_config.h). */
#include "dhcp_config.h"

#include "core_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define LIST_MAX 63	     /* addresses in router / dns-server / ntp-server: 4 * 63 fit one option piece */
#define REMOTE_PREFIX_MAX 30 /* a longer prefix leaves no address besides network and broadcast */
#define OPT82_MAX 255
#define REF_MAX 512

static uint32_t h32(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static uint32_t mask_of(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

static const char *ntoa(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ------------------------------------------------------------- context */

/* A host while the config is read: the arguments its messages point at. */
struct host_src {
	const struct cf_node *n;
	const struct cf_arg *mac, *client_id, *addr, *name;
};

/* One dhcp section while the config is read. */
struct scope_src {
	const struct cf_node *n;
	char label[CF_LABEL_MAX];
	bool subnet_ok;		/* remote, with a valid subnet: the in-subnet rules apply */
	struct host_src *hosts; /* parallel to the scope's hosts[] */
};

struct ctx {
	struct gw_config *cfg;
	struct cf_errors *err;
	struct dhcp_config *dc;
	bool oom;
	struct scope_src *src; /* parallel to dc->scopes */
	/* per cfg->ifaces: the first dhcp or dhcp-relay section on it */
	const struct cf_node **iface_user;
	size_t host_stmts; /* in all scopes, against DHCP_MAX_HOSTS */
	bool hosts_full;
	/* the dns section, as far as the defaults here need it */
	bool dns_present, dns_listen_given, dns_listen_any;
	const char **listen_names; /* sorted */
	size_t nlisten_names;
};

static void *zalloc(struct ctx *c, size_t n, size_t size) { return cf_zalloc(&c->oom, n, size); }
static char *dup_text(struct ctx *c, const char *s) { return cf_strdup(&c->oom, s); }

/* "line 3" or "dhcp guest, line 3": how a message names a thing elsewhere. */
static const char *ref_to(char *buf, size_t len, const char *other_label, const struct cf_pos *pos,
			  const struct cf_pos *from)
{
	char where[256];

	cf_pos_ref(pos, from, where, sizeof(where));
	if (other_label)
		snprintf(buf, len, "%s, %s", other_label, where);
	else
		snprintf(buf, len, "%s", where);
	return buf;
}

/* ------------------------------------------------- statements of a block */

/* --------------------------------------------------------- address rules */

enum {
	AC_THIS = 1,
	AC_LOOPBACK = 2,
	AC_LINK = 4,
	AC_MULTICAST = 8,
	AC_RESERVED = 16,
};
/* handed to clients (pools, reservations, remote subnets); RFC 3927 2.1: no link-local */
#define AC_CLIENT (AC_THIS | AC_LOOPBACK | AC_LINK | AC_MULTICAST | AC_RESERVED)
/* what clients are told to use (router, dns-server, ntp-server) */
#define AC_SERVER (AC_THIS | AC_LOOPBACK | AC_MULTICAST | AC_RESERVED)
/* where a relay forwards: a server on this box (127.0.0.1) is fine */
#define AC_RELAY (AC_THIS | AC_MULTICAST | AC_RESERVED)

static const struct addr_class {
	uint32_t first, last;
	unsigned flag;
	const char *what, *block;
} addr_classes[] = {
	{0x00000000, 0x00ffffff, AC_THIS, "\"this network\"", "0.0.0.0/8"},
	{0x7f000000, 0x7fffffff, AC_LOOPBACK, "loopback", "127.0.0.0/8"},
	{0xa9fe0000, 0xa9feffff, AC_LINK, "link-local", "169.254.0.0/16"},
	{0xe0000000, 0xefffffff, AC_MULTICAST, "multicast", "224.0.0.0/4"},
	{0xf0000000, 0xffffffff, AC_RESERVED, "reserved", "240.0.0.0/4"},
};

/* The first class of FLAGS that FIRST..LAST reaches into. */
static const struct addr_class *class_in(uint32_t first, uint32_t last, unsigned flags)
{
	for (size_t i = 0; i < sizeof(addr_classes) / sizeof(addr_classes[0]); i++) {
		const struct addr_class *ac = &addr_classes[i];

		if ((flags & ac->flag) && first <= ac->last && last >= ac->first)
			return ac;
	}
	return NULL;
}

/* Argument I of N as an address outside the classes FLAGS excludes. */
static int arg_addr(struct ctx *c, const struct cf_node *n, size_t i, const char *section, unsigned flags,
		    struct in_addr *a)
{
	const struct addr_class *ac;

	if (cf_arg_ipv4(n, i, section, c->err, a) < 0)
		return -1;
	ac = class_in(h32(*a), h32(*a), flags);
	if (!ac)
		return 0;
	cf_error(c->err, &n->args[i].pos, section, "%s: \"%s\" is a %s address (%s)", n->keyword,
		 n->args[i].text, ac->what, ac->block);
	return -1;
}

/* In a remote scope, argument I of N (address A) must be a host of the subnet. */
static int check_in_subnet(struct ctx *c, const struct scope_src *src, const struct dhcp_scope *s,
			   const struct cf_node *n, size_t i, const char *section, struct in_addr a)
{
	uint32_t m = mask_of(s->prefix_len), net = h32(s->subnet), x = h32(a);
	const struct cf_arg *arg = &n->args[i];

	if (!src->subnet_ok)
		return 0;
	if ((x & m) != net)
		cf_error(c->err, &arg->pos, section, "%s: \"%s\" is outside the subnet %s", n->keyword,
			 arg->text, s->name);
	else if (x == net)
		cf_error(c->err, &arg->pos, section, "%s: \"%s\" is the subnet's network address", n->keyword,
			 arg->text);
	else if (x == (net | ~m))
		cf_error(c->err, &arg->pos, section, "%s: \"%s\" is the subnet's broadcast address",
			 n->keyword, arg->text);
	else
		return 0;
	return -1;
}

/* ------------------------------------------------------------- DNS names */

/* Labels of letters, digits and '-' (and '_' when UNDERSCORE: what the
 * names table takes), 1..63 each, not starting or ending with '-'; 253 in
 * all; an optional final dot. */
static bool dns_name_ok(const char *s, bool underscore)
{
	size_t len = strlen(s), label = 0;

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '.';

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-' && !(underscore && ch == '_'))
			return false;
		if ((ch == '-' && label == 0) || ++label > DNS_LABEL_MAX)
			return false;
	}
	return true;
}

static bool dns_label_ok(const char *s)
{
	return !strchr(s, '.') && dns_name_ok(s, false);
}

/* A copy without the final dot, lower-cased when LOWER (names compare so). */
static char *dns_name_copy(struct ctx *c, const char *s, bool lower)
{
	size_t len = strlen(s);
	char *p;

	if (len && s[len - 1] == '.')
		len--;
	p = strndup(s, len);
	if (!p) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; lower && i < len; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	return p;
}

/* ------------------------------------------------------- the dns section */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_in_addr(const void *a, const void *b)
{
	uint32_t x = h32(*(const struct in_addr *)a), y = h32(*(const struct in_addr *)b);

	return (x > y) - (x < y);
}

/* What the dhcp defaults need of the dns section: its local-domain, and
 * where it listens. Its errors are the dns module's to report: a bad
 * local-domain leaves the default here (and the file fails there). */
static void read_dns(struct ctx *c)
{
	const struct cf_node *dns = cf_find(c->cfg->tree->root, "dns"), *ld = NULL;
	const char *domain = DHCP_LOCAL_DOMAIN_DEFAULT;
	struct dhcp_config *dc = c->dc;
	size_t nargs = 0;

	if (dns)
		ld = cf_find(dns->children, "local-domain");
	if (ld && ld->nargs == 1 && dns_name_ok(ld->args[0].text, true))
		domain = ld->args[0].text;
	dc->local_domain = dns_name_copy(c, domain, true);
	if (!dns)
		return;
	c->dns_present = true;
	for (const struct cf_node *n = dns->children; n; n = n->next)
		if (strcmp(n->keyword, "listen") == 0) {
			c->dns_listen_given = true;
			nargs += n->nargs;
		}
	c->listen_names = zalloc(c, nargs, sizeof(*c->listen_names));
	dc->dns_listen = zalloc(c, nargs, sizeof(*dc->dns_listen));
	if (!c->listen_names || !dc->dns_listen)
		return;
	for (const struct cf_node *n = dns->children; n; n = n->next) {
		for (size_t i = 0; strcmp(n->keyword, "listen") == 0 && i < n->nargs; i++) {
			struct in_addr a;

			if (cf_parse_ipv4(n->args[i].text, &a) < 0) {
				c->listen_names[c->nlisten_names++] = n->args[i].text;
				continue;
			}
			c->dns_listen_any |= a.s_addr == INADDR_ANY;
			dc->dns_listen[dc->ndns_listen++] = a;
		}
	}
	qsort(c->listen_names, c->nlisten_names, sizeof(*c->listen_names), cmp_str);
	qsort(dc->dns_listen, dc->ndns_listen, sizeof(*dc->dns_listen), cmp_in_addr);
}

/* Option 6 of a local scope without dns-server. */
static enum dhcp_dns_mode dns_default(const struct ctx *c, const char *iface)
{
	/* No dns section: no resolver of ours runs, so there is none to
	 * announce; clients are told nothing rather than something wrong. */
	if (!c->dns_present)
		return DHCP_DNS_NONE;
	/* CONFIG.md: listen defaults to every interface with a dhcp scope */
	if (!c->dns_listen_given || c->dns_listen_any)
		return DHCP_DNS_IFACE;
	if (bsearch(&iface, c->listen_names, c->nlisten_names, sizeof(*c->listen_names), cmp_str))
		return DHCP_DNS_IFACE;
	/* listen addresses meet the interface's only once it has one */
	return c->dc->ndns_listen ? DHCP_DNS_IFACE_IF_LISTEN : DHCP_DNS_NONE;
}

/* ------------------------------------------------------------ interfaces */

/* An interface has a dhcp scope or a dhcp-relay, not both: the second
 * section names the first. (Two of one kind are the core's duplicates.) */
static void claim_iface(struct ctx *c, const struct gw_iface_cfg *ifc, const struct cf_node *n,
			const char *label)
{
	size_t i = (size_t)(ifc - c->cfg->ifaces);
	const struct cf_node *first = c->iface_user[i];
	char ref[REF_MAX];

	if (!first) {
		c->iface_user[i] = n;
		return;
	}
	cf_error(
		c->err, &n->args[0].pos, label,
		"interface %s already has a %s (%s): an interface has a dhcp scope or a dhcp-relay, not both",
		ifc->name, strcmp(first->keyword, "dhcp") == 0 ? "dhcp scope" : "dhcp-relay",
		cf_pos_ref(&first->pos, &n->args[0].pos, ref, sizeof(ref)));
}

/* ----------------------------------------------------------- dhcp scope */

enum {
	S_POOL,
	S_LEASE_TIME,
	S_ROUTER,
	S_DNS_SERVER,
	S_DOMAIN,
	S_NTP_SERVER,
	S_MTU,
	S_ROUTE,
	S_OPTION,
	S_AUTHORITATIVE,
	S_HOST,
	S_END,
};

static const struct cf_keyword scope_kws[] = {
	[S_POOL] = {"pool", 2, 2, false, true},
	[S_LEASE_TIME] = {"lease-time", 1, 1, false, false},
	[S_ROUTER] = {"router", 1, LIST_MAX, false, false},
	[S_DNS_SERVER] = {"dns-server", 1, LIST_MAX, false, false},
	[S_DOMAIN] = {"domain", 1, 1, false, false},
	[S_NTP_SERVER] = {"ntp-server", 1, LIST_MAX, false, false},
	[S_MTU] = {"mtu", 1, 1, false, false},
	[S_ROUTE] = {"route", 2, 2, false, true},
	[S_OPTION] = {"option", 3, -1, false, true},
	[S_AUTHORITATIVE] = {"authoritative", 1, 1, false, false},
	[S_HOST] = {"host", 1, 1, true, true},
	[S_END] = {NULL, 0, 0, false, false},
};

/* One scope while it is read. */
struct scope_build {
	struct ctx *c;
	struct dhcp_scope *s;
	struct scope_src *src;
	const char *label;
	size_t pool_stmts, route_bytes;
	bool pools_full, routes_full;
	const struct cf_node *router;
	const struct cf_node *opt_seen[256];
};

static void scope_pool(struct scope_build *b, const struct cf_node *n)
{
	struct ctx *c = b->c;
	char fb[INET_ADDRSTRLEN], lb[INET_ADDRSTRLEN];
	const struct addr_class *ac;
	struct in_addr f, l;
	bool ok;

	if (b->pool_stmts++ == DHCP_MAX_POOLS || b->pools_full) {
		if (!b->pools_full)
			cf_error(c->err, &n->pos, b->label, "pool: too many pools in one scope (at most %d)",
				 DHCP_MAX_POOLS);
		b->pools_full = true;
		return;
	}
	ok = cf_arg_ipv4(n, 0, b->label, c->err, &f) == 0;
	ok = cf_arg_ipv4(n, 1, b->label, c->err, &l) == 0 && ok;
	if (!ok)
		return;
	ntoa(f, fb);
	ntoa(l, lb);
	if (h32(f) > h32(l)) {
		cf_error(c->err, &n->args[0].pos, b->label, "pool: the first address %s is after the last %s",
			 fb, lb);
		return;
	}
	ac = class_in(h32(f), h32(l), AC_CLIENT);
	if (ac) {
		cf_error(c->err, &n->args[0].pos, b->label, "pool: %s to %s includes %s addresses (%s)", fb,
			 lb, ac->what, ac->block);
		return;
	}
	/* both ends inside: then only they can be the network or broadcast address */
	ok = check_in_subnet(c, b->src, b->s, n, 0, b->label, f) == 0;
	ok = check_in_subnet(c, b->src, b->s, n, 1, b->label, l) == 0 && ok;
	if (ok)
		b->s->pools[b->s->npools++] = (struct dhcp_pool){.first = f, .last = l, .pos = n->pos};
}

static void scope_lease_time(struct scope_build *b, const struct cf_node *n)
{
	uint64_t v;

	if (cf_arg_duration(n, 0, b->label, b->c->err, &v) < 0)
		return;
	if (v < DHCP_LEASE_TIME_MIN || v > DHCP_LEASE_TIME_MAX) {
		cf_error(b->c->err, &n->args[0].pos, b->label,
			 "lease-time: \"%s\" is out of range (1m to 365d)", n->args[0].text);
		return;
	}
	b->s->lease_time = (uint32_t)v;
}

/* router, dns-server, ntp-server: a list of addresses clients use. */
static void addr_list(struct scope_build *b, const struct cf_node *n, bool in_subnet, struct in_addr **out,
		      size_t *nout)
{
	*out = zalloc(b->c, n->nargs, sizeof(**out));
	for (size_t i = 0; *out && i < n->nargs; i++) {
		struct in_addr a;

		if (arg_addr(b->c, n, i, b->label, AC_SERVER, &a) < 0)
			continue;
		if (in_subnet && check_in_subnet(b->c, b->src, b->s, n, i, b->label, a) < 0)
			continue;
		(*out)[(*nout)++] = a;
	}
}

static void scope_domain(struct scope_build *b, const struct cf_node *n)
{
	const struct cf_arg *a = &n->args[0];

	if (!dns_name_ok(a->text, false)) {
		cf_error(b->c->err, &a->pos, b->label,
			 "domain: \"%s\" is not a domain name (labels of letters, digits and '-', 1 to 63 "
			 "characters each, 253 in all)",
			 a->text);
		return;
	}
	b->s->domain = dns_name_copy(b->c, a->text, false);
}

static void scope_mtu(struct scope_build *b, const struct cf_node *n)
{
	uint64_t v;

	/* RFC 2132 5.1: the minimum legal MTU is 68 */
	if (cf_arg_uint(n, 0, b->label, b->c->err, 68, 65535, &v) == 0)
		b->s->mtu = (uint16_t)v;
}

/* The gateway of a route: 0.0.0.0 is an on-link route, as clients
 * (dhclient's rfc3442 hook, systemd-networkd) read it. */
static int route_gateway(struct scope_build *b, const struct cf_node *n, struct in_addr *gw)
{
	if (cf_arg_ipv4(n, 1, b->label, b->c->err, gw) < 0)
		return -1;
	if (gw->s_addr == INADDR_ANY)
		return 0;
	if (arg_addr(b->c, n, 1, b->label, AC_SERVER, gw) < 0)
		return -1;
	return check_in_subnet(b->c, b->src, b->s, n, 1, b->label, *gw);
}

static void scope_route(struct scope_build *b, const struct cf_node *n)
{
	struct dhcp_cfg_route r = {.pos = n->pos};
	struct dhcp_scope *s = b->s;
	char ref[REF_MAX];
	size_t bytes;
	bool ok;

	if (b->routes_full)
		return;
	ok = cf_arg_prefix(n, 0, b->label, b->c->err, &r.prefix, &r.prefix_len) == 0;
	if (ok && r.prefix_len == 0) {
		cf_error(b->c->err, &n->args[0].pos, b->label,
			 "route: \"%s\" is the default route: it comes from router", n->args[0].text);
		ok = false;
	}
	ok = route_gateway(b, n, &r.gateway) == 0 && ok;
	if (!ok)
		return;
	for (size_t i = 0; i < s->nroutes; i++) {
		if (s->routes[i].prefix.s_addr == r.prefix.s_addr &&
		    s->routes[i].prefix_len == r.prefix_len) {
			cf_error(b->c->err, &n->args[0].pos, b->label,
				 "route: \"%s\" is given more than once (first at %s)", n->args[0].text,
				 cf_pos_ref(&s->routes[i].pos, &n->args[0].pos, ref, sizeof(ref)));
			return;
		}
	}
	/* RFC 3442: a width byte, the significant octets, the router; room is
	 * kept for the default route the server adds from `router` (clients
	 * that take option 121 ignore option 3) */
	bytes = 1 + (r.prefix_len + 7u) / 8 + 4;
	if (b->route_bytes + bytes > DHCP_OPTION_MAX - 5) {
		cf_error(b->c->err, &n->pos, b->label,
			 "route: too many routes (option 121 would be longer than %d bytes)",
			 DHCP_OPTION_MAX);
		b->routes_full = true;
		return;
	}
	b->route_bytes += bytes;
	s->routes[s->nroutes++] = r;
}

/* ---------------------------------------------------------- raw options */

/* Options the server fills in itself, or that have a keyword of their own:
 * one way to set each, so no file has to say which of two wins. */
static const char *const managed_options[256] = {
	[1] = "is the subnet mask: it comes from the subnet",
	[3] = "is the router list: use router",
	[6] = "is the DNS server list: use dns-server",
	[15] = "is the domain name: use domain",
	[26] = "is the interface MTU: use mtu",
	[28] = "is the broadcast address: it comes from the subnet",
	[42] = "is the NTP server list: use ntp-server",
	[50] = "is the requested address: clients send it",
	[51] = "is the lease time: use lease-time",
	[52] = "is option overload: the server uses it to fit long replies",
	[53] = "is the message type: the server sets it",
	[54] = "is the server identifier: the server sets it",
	[55] = "is the parameter request list: clients send it",
	[57] = "is the maximum message size: clients send it",
	[58] = "is the renewal time: it follows from lease-time",
	[59] = "is the rebinding time: it follows from lease-time",
	[61] = "is the client identifier: clients send it (reserve by it with host { client-id })",
	[82] = "is the relay agent information: relays add it (dhcp-relay agent-info)",
	[121] = "is the classless static route list: use route",
};

enum {
	T_TEXT,
	T_IP,
	T_U8,
	T_U16,
	T_U32,
	T_HEX,
	NTYPES
};
static const char *const option_types[NTYPES] = {"text", "ip", "u8", "u16", "u32", "hex"};

static int option_type(struct scope_build *b, const struct cf_node *n)
{
	const struct cf_arg *a = &n->args[1];
	const char *s;

	for (int t = 0; t < NTYPES; t++)
		if (strcmp(a->text, option_types[t]) == 0)
			return t;
	s = cf_suggest(a->text, option_types, NTYPES);
	if (s)
		cf_error(b->c->err, &a->pos, b->label, "option: \"%s\" is not a type (did you mean \"%s\"?)",
			 a->text, s);
	else
		cf_error(b->c->err, &a->pos, b->label,
			 "option: \"%s\" is not a type (text, ip, u8, u16, u32 or hex)", a->text);
	return -1;
}

static int option_one_value(struct scope_build *b, const struct cf_node *n, int type, uint8_t *buf,
			    size_t *len)
{
	const struct cf_arg *a = &n->args[2];
	int rc;

	if (n->nargs > 3) {
		cf_error(b->c->err, &n->args[3].pos, b->label, "option: type %s takes one value, got %zu",
			 option_types[type], n->nargs - 2);
		return -1;
	}
	if (type == T_HEX) {
		rc = cf_arg_hex(n, 2, b->label, b->c->err, buf, DHCP_OPTION_MAX);
		*len = rc > 0 ? (size_t)rc : 0;
		return rc > 0 ? 0 : -1;
	}
	*len = strlen(a->text);
	if (*len == 0)
		cf_error(b->c->err, &a->pos, b->label, "option: the text is empty");
	else if (*len > DHCP_OPTION_MAX)
		cf_error(b->c->err, &a->pos, b->label, "option: the text is %zu bytes long, more than %d",
			 *len, DHCP_OPTION_MAX);
	else
		memcpy(buf, a->text, *len);
	return *len == 0 || *len > DHCP_OPTION_MAX ? -1 : 0;
}

/* A list of numbers or addresses always fits: the parser bounds the arguments. */
_Static_assert((CF_MAX_ARGS - 2) * 4 <= DHCP_OPTION_MAX, "option lists must fit DHCP_OPTION_MAX");

/* The values (arguments 3 on) as the option's bytes, big-endian numbers. */
static int option_encode(struct scope_build *b, const struct cf_node *n, int type, uint8_t *buf, size_t *len)
{
	static const size_t width[NTYPES] = {[T_IP] = 4, [T_U8] = 1, [T_U16] = 2, [T_U32] = 4};
	bool ok = true;

	if (type == T_TEXT || type == T_HEX)
		return option_one_value(b, n, type, buf, len);
	*len = 0;
	for (size_t i = 2; i < n->nargs; i++) {
		size_t w = width[type];
		uint64_t v;

		if (type == T_IP) {
			struct in_addr a = {0};

			if (cf_arg_ipv4(n, i, b->label, b->c->err, &a) < 0)
				ok = false;
			v = h32(a);
		} else if (cf_arg_uint(n, i, b->label, b->c->err, 0, (1ull << (8 * w)) - 1, &v) < 0) {
			ok = false;
		}
		for (size_t j = 0; ok && j < w; j++)
			buf[*len + j] = (uint8_t)(v >> (8 * (w - 1 - j)));
		*len += w;
	}
	return ok ? 0 : -1;
}

static void scope_option(struct scope_build *b, const struct cf_node *n)
{
	struct dhcp_scope *s = b->s;
	uint8_t buf[DHCP_OPTION_MAX];
	const char *managed;
	char ref[REF_MAX];
	uint64_t code;
	bool ok;
	int type;
	size_t len;

	ok = cf_arg_uint(n, 0, b->label, b->c->err, 1, 254, &code) == 0;
	managed = ok ? managed_options[code] : NULL;
	if (managed) {
		cf_error(b->c->err, &n->args[0].pos, b->label, "option: %s %s", n->args[0].text, managed);
		ok = false;
	} else if (ok && b->opt_seen[code]) {
		cf_error(b->c->err, &n->args[0].pos, b->label,
			 "option: %s is given more than once (first at %s)", n->args[0].text,
			 cf_pos_ref(&b->opt_seen[code]->pos, &n->args[0].pos, ref, sizeof(ref)));
		ok = false;
	} else if (ok) {
		b->opt_seen[code] = n;
	}
	type = option_type(b, n);
	if (type < 0 || option_encode(b, n, type, buf, &len) < 0 || !ok)
		return;
	s->options[s->noptions] =
		(struct dhcp_option){.code = (uint8_t)code, .len = (uint16_t)len, .pos = n->pos};
	s->options[s->noptions].data = zalloc(b->c, len, 1);
	if (s->options[s->noptions].data)
		memcpy(s->options[s->noptions++].data, buf, len);
}

/* ------------------------------------------------------------ host blocks */

enum {
	H_MAC,
	H_CLIENT_ID,
	H_ADDRESS,
	H_NAME,
	H_END
};

static const struct cf_keyword host_kws[] = {
	[H_MAC] = {"mac", 1, 1, false, false},		   /* mac or client-id, or both */
	[H_CLIENT_ID] = {"client-id", 1, 1, false, false}, /* option 61's bytes */
	[H_ADDRESS] = {"address", 1, 1, false, false},	   /* required */
	[H_NAME] = {"name", 1, 1, false, false},	   /* optional: NAME.local-domain in DNS */
	[H_END] = {NULL, 0, 0, false, false},
};

struct host_build {
	struct scope_build *b;
	struct dhcp_host *h;
	struct host_src *src;
	char label[2 * CF_LABEL_MAX + 2]; /* "dhcp lan: host printer" */
	bool bad;
};

static int host_mac(struct host_build *hb, const struct cf_node *n)
{
	struct ctx *c = hb->b->c;

	if (cf_arg_mac(n, 0, hb->label, c->err, hb->h->mac) < 0)
		return -1;
	/* chaddr is a station's own address: never a group or all zeros */
	if ((hb->h->mac[0] & 1) || memcmp(hb->h->mac, "\0\0\0\0\0\0", 6) == 0) {
		cf_error(c->err, &n->args[0].pos, hb->label,
			 "mac: \"%s\" is not a client's address (a multicast or all-zero MAC)",
			 n->args[0].text);
		return -1;
	}
	hb->h->has_mac = true;
	hb->src->mac = &n->args[0];
	return 0;
}

static int host_client_id(struct host_build *hb, const struct cf_node *n)
{
	struct ctx *c = hb->b->c;
	uint8_t id[DHCP_MAX_CLIENT_ID];
	int len = cf_arg_hex(n, 0, hb->label, c->err, id, sizeof(id));

	if (len < 0)
		return -1;
	/* RFC 2132 9.14: a type byte and at least one byte of identifier */
	if (len < 2) {
		cf_error(c->err, &n->args[0].pos, hb->label,
			 "client-id: \"%s\" is too short (a type byte, then the identifier: "
			 "01:00:11:22:33:44:55)",
			 n->args[0].text);
		return -1;
	}
	hb->h->client_id = zalloc(c, (size_t)len, 1);
	if (!hb->h->client_id)
		return -1;
	memcpy(hb->h->client_id, id, (size_t)len);
	hb->h->client_id_len = (size_t)len;
	hb->src->client_id = &n->args[0];
	return 0;
}

static int host_address(struct host_build *hb, const struct cf_node *n)
{
	struct scope_build *b = hb->b;
	struct in_addr a;

	if (arg_addr(b->c, n, 0, hb->label, AC_CLIENT, &a) < 0 ||
	    check_in_subnet(b->c, b->src, b->s, n, 0, hb->label, a) < 0)
		return -1;
	hb->h->addr = a;
	hb->src->addr = &n->args[0];
	return 0;
}

static int host_name(struct host_build *hb, const struct cf_node *n)
{
	struct ctx *c = hb->b->c;
	const struct cf_arg *a = &n->args[0];
	size_t full;

	if (!dns_label_ok(a->text)) {
		cf_error(c->err, &a->pos, hb->label,
			 "name: \"%s\" is not a host name (1 to 63 letters, digits and '-', not starting or "
			 "ending with '-')",
			 a->text);
		return -1;
	}
	full = strlen(a->text) + 1 + strlen(c->dc->local_domain ? c->dc->local_domain : "");
	if (full > DNS_NAME_MAX) {
		cf_error(
			c->err, &a->pos, hb->label,
			"name: \"%s\" is too long for the local domain %s (%zu characters in all, at most %d)",
			a->text, c->dc->local_domain, full, DNS_NAME_MAX);
		return -1;
	}
	hb->h->name = dns_name_copy(c, a->text, true);
	hb->src->name = a;
	return hb->h->name ? 0 : -1;
}

static void host_stmt(void *data, size_t k, const struct cf_node *n)
{
	struct host_build *hb = data;
	int rc;

	if (k == H_MAC)
		rc = host_mac(hb, n);
	else if (k == H_CLIENT_ID)
		rc = host_client_id(hb, n);
	else if (k == H_ADDRESS)
		rc = host_address(hb, n);
	else
		rc = host_name(hb, n);
	if (rc < 0)
		hb->bad = true;
}

static void host_free(struct dhcp_host *h)
{
	free(h->label);
	free(h->client_id);
	free(h->name);
	memset(h, 0, sizeof(*h));
}

/* `host LABEL { ... }`: kept only when every statement of its block was
 * read and good, and it has what it needs. */
static void scope_host(struct scope_build *b, const struct cf_node *n)
{
	struct ctx *c = b->c;
	struct dhcp_scope *s = b->s;
	struct host_build hb = {.b = b, .h = &s->hosts[s->nhosts], .src = &b->src->hosts[s->nhosts]};
	char hl[CF_LABEL_MAX];

	if (c->host_stmts++ == DHCP_MAX_HOSTS || c->hosts_full) {
		if (!c->hosts_full)
			cf_error(c->err, &n->pos, b->label, "host: too many hosts (at most %d in all scopes)",
				 DHCP_MAX_HOSTS);
		c->hosts_full = true;
		return;
	}
	snprintf(hb.label, sizeof(hb.label), "%s: %s", b->label, cf_section_label(n, hl, sizeof(hl)));
	if (!*n->args[0].text) {
		cf_error(c->err, &n->args[0].pos, b->label,
			 "host: the label is empty (it names the reservation: host printer { ... })");
		hb.bad = true;
	}
	cf_check_keywords(n->children, hb.label, host_kws, c->err);
	*hb.src = (struct host_src){.n = n};
	hb.h->pos = n->pos;
	if (cf_for_each_good(n->children, host_kws, host_stmt, &hb, NULL))
		hb.bad = true;
	/* a statement there but bad has had its error: "missing" would repeat it */
	if (!cf_find(n->children, "mac") && !cf_find(n->children, "client-id"))
		cf_error(c->err, &n->pos, hb.label,
			 "missing \"mac MAC\" or \"client-id HEX\": how the reservation knows its client");
	if (!cf_find(n->children, "address"))
		cf_error(c->err, &n->pos, hb.label, "missing \"address ADDRESS\": the address it reserves");
	hb.h->label = dup_text(c, n->args[0].text);
	if (hb.bad || !hb.src->addr || (!hb.src->mac && !hb.src->client_id) || c->oom)
		host_free(hb.h);
	else
		s->nhosts++;
}

/* ------------------------------------------------------------ the scope */

static void scope_stmt(void *data, size_t k, const struct cf_node *n)
{
	struct scope_build *b = data;
	struct dhcp_scope *s = b->s;
	bool yes;

	switch (k) {
	case S_POOL:
		scope_pool(b, n);
		break;
	case S_LEASE_TIME:
		scope_lease_time(b, n);
		break;
	case S_ROUTER:
		b->router = n;
		addr_list(b, n, true, &s->routers, &s->nrouters);
		break;
	case S_DNS_SERVER:
		s->dns_mode = DHCP_DNS_LIST;
		addr_list(b, n, false, &s->dns_servers, &s->ndns_servers);
		break;
	case S_DOMAIN:
		scope_domain(b, n);
		break;
	case S_NTP_SERVER:
		addr_list(b, n, false, &s->ntp_servers, &s->nntp_servers);
		break;
	case S_MTU:
		scope_mtu(b, n);
		break;
	case S_ROUTE:
		scope_route(b, n);
		break;
	case S_OPTION:
		scope_option(b, n);
		break;
	case S_AUTHORITATIVE:
		if (cf_arg_bool(n, 0, b->label, b->c->err, &yes) == 0)
			s->authoritative = yes;
		break;
	default:
		scope_host(b, n);
		break;
	}
}

/* `dhcp A.B.C.D/N`: a remote subnet must have room for clients and hold
 * only addresses a client can be given. */
static bool remote_subnet_ok(struct ctx *c, const struct cf_node *n, const struct dhcp_scope *s)
{
	const struct cf_arg *a = &n->args[0];
	uint32_t net = h32(s->subnet);
	const struct addr_class *ac = class_in(net, net | ~mask_of(s->prefix_len), AC_CLIENT);

	if (s->prefix_len > REMOTE_PREFIX_MAX) {
		cf_error(
			c->err, &a->pos, NULL,
			"dhcp: \"%s\" leaves no address for clients (a remote subnet needs a prefix length of "
			"at most %d)",
			a->text, REMOTE_PREFIX_MAX);
		return false;
	}
	if (ac) {
		cf_error(c->err, &a->pos, NULL, "dhcp: \"%s\" includes %s addresses (%s)", a->text, ac->what,
			 ac->block);
		return false;
	}
	return true;
}

/* The section's argument: an interface name (starts with a letter) or a
 * subnet (starts with a digit), never ambiguous. */
static void scope_arg(struct scope_build *b, const struct cf_node *n)
{
	struct ctx *c = b->c;
	struct dhcp_scope *s = b->s;
	const struct cf_arg *a = &n->args[0];
	const struct gw_iface_cfg *ifc;

	s->name = dup_text(c, a->text);
	if (isalpha((unsigned char)a->text[0])) {
		s->kind = DHCP_SCOPE_LOCAL;
		s->iface = dup_text(c, a->text);
		ifc = gw_config_iface_ref(c->cfg, a, b->label, c->err);
		if (ifc) {
			s->device = dup_text(c, ifc->device);
			claim_iface(c, ifc, n, b->label);
		}
	} else if (isdigit((unsigned char)a->text[0])) {
		s->kind = DHCP_SCOPE_REMOTE;
		if (cf_arg_prefix(n, 0, NULL, c->err, &s->subnet, &s->prefix_len) == 0)
			b->src->subnet_ok = remote_subnet_ok(c, n, s);
	} else {
		s->kind = DHCP_SCOPE_LOCAL;
		cf_error(
			c->err, &a->pos, NULL,
			"dhcp: \"%s\" is neither an interface name nor a subnet (a name starts with a letter: "
			"dhcp lan; a subnet with a digit: dhcp 10.30.0.0/24)",
			a->text);
	}
}

/* The arrays of a scope, sized by its statements. */
static void scope_alloc(struct ctx *c, struct dhcp_scope *s, struct scope_src *src, const struct cf_node *n)
{
	size_t pools = cf_count(n->children, "pool", false), hosts = cf_count(n->children, "host", false);

	pools = pools < DHCP_MAX_POOLS ? pools : DHCP_MAX_POOLS;
	hosts = hosts < DHCP_MAX_HOSTS ? hosts : DHCP_MAX_HOSTS;
	s->pools = zalloc(c, pools, sizeof(*s->pools));
	s->routes = zalloc(c, cf_count(n->children, "route", false), sizeof(*s->routes));
	s->options = zalloc(c, cf_count(n->children, "option", false), sizeof(*s->options));
	s->hosts = zalloc(c, hosts, sizeof(*s->hosts));
	src->hosts = zalloc(c, hosts, sizeof(*src->hosts));
}

/* A router handed out as a client's address would be two hosts' address. */
static void router_in_pools(struct scope_build *b)
{
	const struct dhcp_scope *s = b->s;
	char fb[INET_ADDRSTRLEN], lb[INET_ADDRSTRLEN], ref[REF_MAX];

	for (size_t i = 0; b->router && i < b->router->nargs; i++) {
		const struct cf_arg *a = &b->router->args[i];
		struct in_addr r;

		if (cf_parse_ipv4(a->text, &r) < 0)
			continue;
		for (size_t j = 0; j < s->npools; j++) {
			const struct dhcp_pool *p = &s->pools[j];

			if (h32(r) < h32(p->first) || h32(r) > h32(p->last))
				continue;
			cf_error(b->c->err, &a->pos, b->label,
				 "router: \"%s\" is inside the pool %s to %s (%s)", a->text,
				 ntoa(p->first, fb), ntoa(p->last, lb),
				 cf_pos_ref(&p->pos, &a->pos, ref, sizeof(ref)));
			break;
		}
	}
}

/* The rules about the scope as a whole, and the defaults. A scope with
 * errors of its own gets no warning: nobody knows what it would hold. */
static void scope_finish(struct scope_build *b, const struct cf_node *n, size_t errors_before)
{
	struct dhcp_scope *s = b->s;

	if (s->kind == DHCP_SCOPE_REMOTE && !cf_find(n->children, "router") && n->block)
		cf_error(
			b->c->err, &n->pos, b->label,
			"missing \"router ADDRESS\": a remote subnet has no interface address to default to");
	s->router_default = s->kind == DHCP_SCOPE_LOCAL && !b->router;
	/* remote scopes: no default DNS server (CONFIG.md), there is no
	 * interface of ours on that link to point at */
	if (s->dns_mode != DHCP_DNS_LIST)
		s->dns_mode =
			s->kind == DHCP_SCOPE_LOCAL && s->iface ? dns_default(b->c, s->iface) : DHCP_DNS_NONE;
	router_in_pools(b);
	if (n->block && !cf_count(n->children, "pool", false) && !cf_count(n->children, "host", false) &&
	    b->c->err->nerrors == errors_before)
		cf_warning(b->c->err, &n->pos, b->label,
			   "no pool and no host: no client gets an address here");
}

static const struct cf_keyword scope_kw = {"dhcp", 1, 1, true, true};

static void load_scope(struct ctx *c, const struct cf_node *n)
{
	struct dhcp_config *dc = c->dc;
	struct scope_build b = {.c = c, .s = &dc->scopes[dc->nscopes], .src = &c->src[dc->nscopes]};
	size_t errors_before = c->err->nerrors;

	dc->nscopes++;
	b.src->n = n;
	b.label = cf_section_label(n, b.src->label, sizeof(b.src->label));
	b.s->pos = n->pos;
	b.s->lease_time = DHCP_LEASE_TIME_DEFAULT;
	b.s->authoritative = true;
	cf_check_node(n, NULL, &scope_kw, c->err);
	cf_check_keywords(n->children, b.label, scope_kws, c->err);
	scope_alloc(c, b.s, b.src, n);
	if (c->oom)
		return;
	scope_arg(&b, n);
	cf_for_each_good(n->children, scope_kws, scope_stmt, &b, NULL);
	scope_finish(&b, n, errors_before);
}

/* ------------------------------------------------------------ dhcp-relay */

enum {
	R_SERVER,
	R_AGENT_INFO,
	R_CIRCUIT_ID,
	R_REMOTE_ID,
	R_MAX_HOPS,
	R_END
};

static const struct cf_keyword relay_kws[] = {
	[R_SERVER] = {"server", 1, 1, false, true},
	[R_AGENT_INFO] = {"agent-info", 1, 1, false, false},
	[R_CIRCUIT_ID] = {"circuit-id", 1, 1, false, false},
	[R_REMOTE_ID] = {"remote-id", 1, 1, false, false},
	[R_MAX_HOPS] = {"max-hops", 1, 1, false, false},
	[R_END] = {NULL, 0, 0, false, false},
};

struct relay_build {
	struct ctx *c;
	struct dhcp_relay *r;
	char label[CF_LABEL_MAX];
	const struct cf_node *servers[DHCP_MAX_SERVERS];
	const struct cf_node *circuit, *remote;
	bool servers_full;
};

static void relay_server(struct relay_build *rb, const struct cf_node *n)
{
	struct dhcp_relay *r = rb->r;
	char ref[REF_MAX];
	struct in_addr a;

	if (rb->servers_full)
		return;
	if (r->nservers == DHCP_MAX_SERVERS) {
		cf_error(rb->c->err, &n->pos, rb->label, "server: too many servers (at most %d)",
			 DHCP_MAX_SERVERS);
		rb->servers_full = true;
		return;
	}
	if (arg_addr(rb->c, n, 0, rb->label, AC_RELAY, &a) < 0)
		return;
	for (size_t i = 0; i < r->nservers; i++) {
		if (r->servers[i].s_addr == a.s_addr) {
			cf_error(rb->c->err, &n->args[0].pos, rb->label,
				 "server: \"%s\" is given more than once (first at %s)", n->args[0].text,
				 cf_pos_ref(&rb->servers[i]->pos, &n->args[0].pos, ref, sizeof(ref)));
			return;
		}
	}
	rb->servers[r->nservers] = n;
	r->servers[r->nservers++] = a;
}

/* circuit-id, remote-id: sub-options of option 82 (RFC 3046 2.0). */
static void relay_id(struct relay_build *rb, const struct cf_node *n, char **out)
{
	const struct cf_arg *a = &n->args[0];

	if (!*a->text) {
		cf_error(rb->c->err, &a->pos, rb->label, "%s: the text is empty", n->keyword);
		return;
	}
	*out = dup_text(rb->c, a->text);
}

static void relay_stmt(void *data, size_t k, const struct cf_node *n)
{
	struct relay_build *rb = data;
	struct dhcp_relay *r = rb->r;
	uint64_t v;

	switch (k) {
	case R_SERVER:
		relay_server(rb, n);
		break;
	case R_AGENT_INFO:
		cf_arg_bool(n, 0, rb->label, rb->c->err, &r->agent_info);
		break;
	case R_CIRCUIT_ID:
		rb->circuit = n;
		relay_id(rb, n, &r->circuit_id);
		break;
	case R_REMOTE_ID:
		rb->remote = n;
		relay_id(rb, n, &r->remote_id);
		break;
	default:
		/* RFC 1542 4.1.1: 16 hops is the most a request may take */
		if (cf_arg_uint(n, 0, rb->label, rb->c->err, 1, 16, &v) == 0)
			r->max_hops = (uint8_t)v;
		break;
	}
}

/* Option 82 holds both sub-options, each with a code and length byte. */
static void relay_id_room(struct relay_build *rb)
{
	const struct dhcp_relay *r = rb->r;
	size_t total = 0;
	const struct cf_node *at = rb->remote ? rb->remote : rb->circuit;

	if (r->circuit_id)
		total += 2 + strlen(r->circuit_id);
	if (r->remote_id)
		total += 2 + strlen(r->remote_id);
	if (total > OPT82_MAX && at)
		cf_error(
			rb->c->err, &at->args[0].pos, rb->label,
			"%s: too long: circuit-id and remote-id would make option 82 %zu bytes long (at most %d)",
			at->keyword, total, OPT82_MAX);
}

/* Given but never sent: probably not what was meant, yet harmless. */
static void relay_unused_ids(struct relay_build *rb)
{
	const struct cf_node *ids[] = {rb->circuit, rb->remote};

	for (size_t i = 0; !rb->r->agent_info && i < 2; i++)
		if (ids[i])
			cf_warning(rb->c->err, &ids[i]->pos, rb->label, "%s: not sent: agent-info is no",
				   ids[i]->keyword);
}

static const struct cf_keyword relay_kw = {"dhcp-relay", 1, 1, true, true};

static void load_relay(struct ctx *c, const struct cf_node *n)
{
	struct dhcp_config *dc = c->dc;
	struct relay_build rb = {.c = c, .r = &dc->relays[dc->nrelays++]};
	struct dhcp_relay *r = rb.r;
	const struct gw_iface_cfg *ifc = NULL;

	cf_section_label(n, rb.label, sizeof(rb.label));
	cf_check_node(n, NULL, &relay_kw, c->err);
	cf_check_keywords(n->children, rb.label, relay_kws, c->err);
	r->pos = n->pos;
	r->agent_info = true;
	r->max_hops = DHCP_MAX_HOPS_DEFAULT;
	r->servers = zalloc(c, DHCP_MAX_SERVERS, sizeof(*r->servers));
	r->iface = dup_text(c, n->args[0].text);
	if (c->oom)
		return;
	if (!isalpha((unsigned char)n->args[0].text[0]))
		cf_error(c->err, &n->args[0].pos, NULL,
			 "dhcp-relay: \"%s\" is not an interface name (a relay forwards for one of ours: "
			 "dhcp-relay guest)",
			 n->args[0].text);
	else
		ifc = gw_config_iface_ref(c->cfg, &n->args[0], rb.label, c->err);
	if (ifc) {
		r->device = dup_text(c, ifc->device);
		claim_iface(c, ifc, n, rb.label);
	}
	cf_for_each_good(n->children, relay_kws, relay_stmt, &rb, NULL);
	if (!r->circuit_id && !rb.circuit)
		r->circuit_id = dup_text(c, r->device); /* the Linux device name */
	relay_unused_ids(&rb);
	if (n->block && !cf_find(n->children, "server"))
		cf_error(c->err, &n->pos, rb.label,
			 "missing \"server ADDRESS\": the DHCP server the requests are forwarded to");
	relay_id_room(&rb);
}

/* ------------------------------------------------- rules across sections */

/* An address range, for the overlap sweeps. */
struct span {
	uint32_t first, last;
	size_t order; /* file order */
	size_t scope, item;
};

struct clash {
	const struct span *at, *with; /* AT is the later one in the file */
};

static int cmp_span(const void *pa, const void *pb)
{
	const struct span *a = pa, *b = pb;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return (a->order > b->order) - (a->order < b->order);
}

static int cmp_clash(const void *pa, const void *pb)
{
	const struct clash *a = pa, *b = pb;

	if (a->at->order != b->at->order)
		return a->at->order < b->at->order ? -1 : 1;
	return (a->with->order > b->with->order) - (a->with->order < b->with->order);
}

typedef void (*clash_fn)(struct ctx *c, const struct span *at, const struct span *with);

/* Sorted by start, a span overlaps an earlier one iff it starts before
 * the furthest end seen so far: one clash per span at most, reported at
 * the later of the two in the file, in file order. Sorts SPANS. */
static void find_overlaps(struct ctx *c, struct span *spans, size_t n, clash_fn report)
{
	struct clash *clashes = zalloc(c, n, sizeof(*clashes));
	const struct span *reach = NULL;
	size_t nclashes = 0;

	if (!clashes)
		return;
	qsort(spans, n, sizeof(*spans), cmp_span);
	for (size_t i = 0; i < n; i++) {
		const struct span *s = &spans[i];

		if (reach && s->first <= reach->last)
			clashes[nclashes++] =
				s->order > reach->order ? (struct clash){s, reach} : (struct clash){reach, s};
		if (!reach || s->last > reach->last)
			reach = s;
	}
	qsort(clashes, nclashes, sizeof(*clashes), cmp_clash);
	for (size_t i = 0; i < nclashes; i++)
		report(c, clashes[i].at, clashes[i].with);
	free(clashes);
}

/* The span of SORTED (by start, not overlapping) that FIRST..LAST reaches into. */
static const struct span *span_hit(const struct span *sorted, size_t n, uint32_t first, uint32_t last)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid].first <= last)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && sorted[lo - 1].last >= first ? &sorted[lo - 1] : NULL;
}

static void subnet_clash(struct ctx *c, const struct span *at, const struct span *with)
{
	const struct cf_node *n = c->src[at->scope].n, *w = c->src[with->scope].n;
	char ref[REF_MAX];

	cf_error(c->err, &n->args[0].pos, c->src[at->scope].label, "the subnet overlaps %s (%s)",
		 c->src[with->scope].label, cf_pos_ref(&w->pos, &n->args[0].pos, ref, sizeof(ref)));
}

static void pool_clash(struct ctx *c, const struct span *at, const struct span *with)
{
	const struct dhcp_pool *p = &c->dc->scopes[at->scope].pools[at->item];
	const struct dhcp_pool *q = &c->dc->scopes[with->scope].pools[with->item];
	char pf[INET_ADDRSTRLEN], pl[INET_ADDRSTRLEN], qf[INET_ADDRSTRLEN], ql[INET_ADDRSTRLEN], ref[REF_MAX];

	ref_to(ref, sizeof(ref), at->scope == with->scope ? NULL : c->src[with->scope].label, &q->pos,
	       &p->pos);
	cf_error(c->err, &p->pos, c->src[at->scope].label, "pool: %s to %s overlaps %s to %s (%s)",
		 ntoa(p->first, pf), ntoa(p->last, pl), ntoa(q->first, qf), ntoa(q->last, ql), ref);
}

/* Remote subnets, sorted by start (the caller frees): their overlaps reported. */
static struct span *remote_spans(struct ctx *c, size_t *n)
{
	struct span *spans = zalloc(c, c->dc->nscopes, sizeof(*spans));

	*n = 0;
	for (size_t i = 0; spans && i < c->dc->nscopes; i++) {
		const struct dhcp_scope *s = &c->dc->scopes[i];
		uint32_t net = h32(s->subnet);

		if (s->kind == DHCP_SCOPE_REMOTE && c->src[i].subnet_ok)
			spans[(*n)++] = (struct span){net, net | ~mask_of(s->prefix_len), i, i, 0};
	}
	if (spans)
		find_overlaps(c, spans, *n, subnet_clash);
	return spans;
}

static void check_pool_overlaps(struct ctx *c)
{
	size_t n = 0, k = 0;
	struct span *spans;

	for (size_t i = 0; i < c->dc->nscopes; i++)
		n += c->dc->scopes[i].npools;
	spans = zalloc(c, n, sizeof(*spans));
	for (size_t i = 0; spans && i < c->dc->nscopes; i++)
		for (size_t j = 0; j < c->dc->scopes[i].npools; j++, k++)
			spans[k] = (struct span){h32(c->dc->scopes[i].pools[j].first),
						 h32(c->dc->scopes[i].pools[j].last), k, i, j};
	if (spans)
		find_overlaps(c, spans, n, pool_clash);
	free(spans);
}

/* A local scope's pools and reservations lie on the interface's link; a
 * remote subnet is elsewhere: one address cannot be on both. */
static void check_local_in_remote(struct ctx *c, const struct span *remote, size_t nremote)
{
	char fb[INET_ADDRSTRLEN], lb[INET_ADDRSTRLEN], ref[REF_MAX];

	for (size_t i = 0; nremote && i < c->dc->nscopes; i++) {
		const struct dhcp_scope *s = &c->dc->scopes[i];
		const struct span *hit;

		for (size_t j = 0; s->kind == DHCP_SCOPE_LOCAL && j < s->npools; j++) {
			const struct dhcp_pool *p = &s->pools[j];

			hit = span_hit(remote, nremote, h32(p->first), h32(p->last));
			if (hit)
				cf_error(c->err, &p->pos, c->src[i].label,
					 "pool: %s to %s overlaps the subnet of %s (%s)", ntoa(p->first, fb),
					 ntoa(p->last, lb), c->src[hit->scope].label,
					 cf_pos_ref(&c->src[hit->scope].n->pos, &p->pos, ref, sizeof(ref)));
		}
		for (size_t j = 0; s->kind == DHCP_SCOPE_LOCAL && j < s->nhosts; j++) {
			const struct cf_arg *a = c->src[i].hosts[j].addr;
			char hl[2 * CF_LABEL_MAX + 2], l2[CF_LABEL_MAX];

			hit = span_hit(remote, nremote, h32(s->hosts[j].addr), h32(s->hosts[j].addr));
			if (!hit)
				continue;
			snprintf(hl, sizeof(hl), "%s: %s", c->src[i].label,
				 cf_section_label(c->src[i].hosts[j].n, l2, sizeof(l2)));
			cf_error(c->err, &a->pos, hl, "address: \"%s\" is in the subnet of %s (%s)", a->text,
				 c->src[hit->scope].label,
				 cf_pos_ref(&c->src[hit->scope].n->pos, &a->pos, ref, sizeof(ref)));
		}
	}
}

/* ------------------------------------------------ duplicate reservations */

/* What must be unique: the block's label, MAC and client-id in a scope;
 * the address and the DNS name in the whole config (the names share one
 * local domain; the addresses one address space). */
enum {
	K_LABEL,
	K_MAC,
	K_CLIENT_ID,
	K_ADDR,
	K_NAME,
	NKEYS
};

struct hostref {
	size_t scope, host;
};

struct dup_sort {
	const struct ctx *c;
	const struct hostref *refs;
	int key;
};

static const struct dhcp_host *ref_host(const struct ctx *c, const struct hostref *r)
{
	return &c->dc->scopes[r->scope].hosts[r->host];
}

static bool has_key(const struct dhcp_host *h, int key)
{
	return key == K_LABEL || key == K_ADDR || (key == K_MAC && h->has_mac) ||
	       (key == K_CLIENT_ID && h->client_id) || (key == K_NAME && h->name);
}

static int cmp_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	int d = memcmp(a, b, la < lb ? la : lb);

	return d ? d : (la > lb) - (la < lb);
}

static int cmp_key(const struct dhcp_host *a, const struct dhcp_host *b, int key)
{
	switch (key) {
	case K_LABEL:
		return strcmp(a->label, b->label);
	case K_MAC:
		return memcmp(a->mac, b->mac, sizeof(a->mac));
	case K_CLIENT_ID:
		return cmp_bytes(a->client_id, a->client_id_len, b->client_id, b->client_id_len);
	case K_ADDR:
		return (h32(a->addr) > h32(b->addr)) - (h32(a->addr) < h32(b->addr));
	default:
		return strcmp(a->name, b->name);
	}
}

/* Order of refs (indexes into the file-order array): per scope for the
 * scope's own keys, then the key, then file order. */
static int cmp_dup(const void *pa, const void *pb, void *arg)
{
	const struct dup_sort *ds = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct hostref *a = &ds->refs[ia], *b = &ds->refs[ib];
	int d = 0;

	if (ds->key < K_ADDR && a->scope != b->scope)
		return a->scope < b->scope ? -1 : 1;
	d = cmp_key(ref_host(ds->c, a), ref_host(ds->c, b), ds->key);
	return d ? d : (ia > ib) - (ia < ib);
}

static bool same_key(const struct dup_sort *ds, size_t ia, size_t ib)
{
	const struct hostref *a = &ds->refs[ia], *b = &ds->refs[ib];

	if (ds->key < K_ADDR && a->scope != b->scope)
		return false;
	return cmp_key(ref_host(ds->c, a), ref_host(ds->c, b), ds->key) == 0;
}

/* FIRST[i] = the ref whose KEY host I repeats (the first in the file), or SIZE_MAX. */
static void mark_dups(struct ctx *c, const struct hostref *refs, size_t n, int key, size_t *first,
		      size_t *tmp)
{
	struct dup_sort ds = {c, refs, key};
	size_t m = 0, g = 0;

	for (size_t i = 0; i < n; i++) {
		first[i] = SIZE_MAX;
		if (has_key(ref_host(c, &refs[i]), key))
			tmp[m++] = i;
	}
	qsort_r(tmp, m, sizeof(*tmp), cmp_dup, &ds);
	for (size_t i = 1; i < m; i++) {
		if (same_key(&ds, tmp[g], tmp[i]))
			first[tmp[i]] = tmp[g];
		else
			g = i;
	}
}

static void dup_error(struct ctx *c, const struct hostref *r, const struct hostref *f, int key)
{
	const struct host_src *hs = &c->src[r->scope].hosts[r->host], *fs = &c->src[f->scope].hosts[f->host];
	static const char *const keyword[NKEYS] = {"host", "mac", "client-id", "address", "name"};
	static const char *const what[NKEYS] = {"", "reserved for", "reserved for", "reserved for",
						"the name of"};
	const struct cf_arg *a[NKEYS] = {&hs->n->args[0], hs->mac, hs->client_id, hs->addr, hs->name};
	const struct cf_arg *fa[NKEYS] = {&fs->n->args[0], fs->mac, fs->client_id, fs->addr, fs->name};
	char label[2 * CF_LABEL_MAX + 2], hl[CF_LABEL_MAX], fl[CF_LABEL_MAX], ref[REF_MAX], at[REF_MAX];

	if (key == K_LABEL) {
		cf_error(c->err, &a[key]->pos, c->src[r->scope].label,
			 "host: \"%s\" is given more than once (first at %s)", a[key]->text,
			 cf_pos_ref(&fs->n->pos, &a[key]->pos, ref, sizeof(ref)));
		return;
	}
	snprintf(label, sizeof(label), "%s: %s", c->src[r->scope].label,
		 cf_section_label(hs->n, hl, sizeof(hl)));
	ref_to(at, sizeof(at), r->scope == f->scope ? NULL : c->src[f->scope].label, &fa[key]->pos,
	       &a[key]->pos);
	cf_error(c->err, &a[key]->pos, label, "%s: \"%s\" is already %s %s (%s)", keyword[key], a[key]->text,
		 what[key], cf_section_label(fs->n, fl, sizeof(fl)), at);
}

static void check_host_dups(struct ctx *c)
{
	size_t n = 0, k = 0, *first[NKEYS] = {NULL}, *tmp;
	struct hostref *refs;

	for (size_t i = 0; i < c->dc->nscopes; i++)
		n += c->dc->scopes[i].nhosts;
	refs = zalloc(c, n, sizeof(*refs));
	tmp = zalloc(c, n, sizeof(*tmp));
	for (int key = 0; key < NKEYS; key++)
		first[key] = zalloc(c, n, sizeof(*first[key]));
	if (c->oom)
		goto out;
	for (size_t i = 0; i < c->dc->nscopes; i++)
		for (size_t j = 0; j < c->dc->scopes[i].nhosts; j++)
			refs[k++] = (struct hostref){i, j};
	for (int key = 0; key < NKEYS; key++)
		mark_dups(c, refs, n, key, first[key], tmp);
	for (size_t i = 0; i < n; i++)
		for (int key = 0; key < NKEYS; key++)
			if (first[key][i] != SIZE_MAX)
				dup_error(c, &refs[i], &refs[first[key][i]], key);
out:
	for (int key = 0; key < NKEYS; key++)
		free(first[key]);
	free(tmp);
	free(refs);
}

/* ------------------------------------------------ indexes for run time */

static int cmp_pool(const void *pa, const void *pb)
{
	uint32_t a = h32(((const struct dhcp_pool *)pa)->first),
		 b = h32(((const struct dhcp_pool *)pb)->first);

	return (a > b) - (a < b);
}

static int cmp_option(const void *pa, const void *pb)
{
	const struct dhcp_option *a = pa, *b = pb;

	return (a->code > b->code) - (a->code < b->code);
}

struct index_sort {
	const struct dhcp_scope *s;
	int key;
};

static int cmp_index(const void *pa, const void *pb, void *arg)
{
	const struct index_sort *is = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	int d = cmp_key(&is->s->hosts[a], &is->s->hosts[b], is->key);

	return d ? d : (a > b) - (a < b);
}

static uint32_t *host_index(struct ctx *c, const struct dhcp_scope *s, int key, size_t *n)
{
	uint32_t *idx = zalloc(c, s->nhosts, sizeof(*idx));
	struct index_sort is = {s, key};

	*n = 0;
	for (size_t i = 0; idx && i < s->nhosts; i++)
		if (has_key(&s->hosts[i], key))
			idx[(*n)++] = (uint32_t)i;
	if (idx)
		qsort_r(idx, *n, sizeof(*idx), cmp_index, &is);
	return idx;
}

static void build_indexes(struct ctx *c, const struct span *remote, size_t nremote)
{
	struct dhcp_config *dc = c->dc;
	size_t unused;

	for (size_t i = 0; i < dc->nscopes; i++) {
		struct dhcp_scope *s = &dc->scopes[i];

		qsort(s->pools, s->npools, sizeof(*s->pools), cmp_pool);
		qsort(s->options, s->noptions, sizeof(*s->options), cmp_option);
		s->by_mac = host_index(c, s, K_MAC, &s->nby_mac);
		s->by_client_id = host_index(c, s, K_CLIENT_ID, &s->nby_client_id);
		s->by_addr = host_index(c, s, K_ADDR, &unused);
	}
	dc->by_subnet = zalloc(c, nremote, sizeof(*dc->by_subnet));
	for (size_t i = 0; dc->by_subnet && i < nremote; i++)
		dc->by_subnet[dc->nby_subnet++] = (uint32_t)remote[i].scope;
}

/* ------------------------------------------------------------ top level */

struct section {
	const struct cf_node *n;
	size_t order;
	bool dup; /* the core reports it; the first one counts */
};

static int cmp_section(const void *pa, const void *pb)
{
	const struct section *a = pa, *b = pb;
	int d = strcmp(a->n->keyword, b->n->keyword);

	if (!d)
		d = (a->n->nargs > 0) - (b->n->nargs > 0);
	if (!d && a->n->nargs)
		d = strcmp(a->n->args[0].text, b->n->args[0].text);
	return d ? d : (a->order > b->order) - (a->order < b->order);
}

static bool same_section(const struct cf_node *a, const struct cf_node *b)
{
	if (strcmp(a->keyword, b->keyword) != 0 || !a->nargs != !b->nargs)
		return false;
	return !a->nargs || strcmp(a->args[0].text, b->args[0].text) == 0;
}

/* The dhcp and dhcp-relay statements in file order, duplicates marked
 * (sorting: a hostile file may hold very many). */
static struct section *collect(struct ctx *c, size_t *n)
{
	struct section *secs, *sorted;
	size_t k = 0;

	*n = cf_count(c->cfg->tree->root, "dhcp", false) + cf_count(c->cfg->tree->root, "dhcp-relay", false);
	if (!*n)
		return NULL;
	secs = zalloc(c, *n, sizeof(*secs));
	sorted = zalloc(c, *n, sizeof(*sorted));
	if (!secs || !sorted) {
		free(secs);
		free(sorted);
		return NULL;
	}
	for (const struct cf_node *t = c->cfg->tree->root; t; t = t->next) {
		if (strcmp(t->keyword, "dhcp") != 0 && strcmp(t->keyword, "dhcp-relay") != 0)
			continue;
		secs[k] = (struct section){t, k, false};
		sorted[k] = secs[k];
		k++;
	}
	qsort(sorted, *n, sizeof(*sorted), cmp_section);
	for (size_t i = 1; i < *n; i++)
		if (same_section(sorted[i - 1].n, sorted[i].n))
			secs[sorted[i].order].dup = true;
	free(sorted);
	return secs;
}

static bool under_cap(struct ctx *c, const struct cf_node *n, size_t have, size_t cap, bool *full)
{
	if (have < cap)
		return true;
	if (!*full)
		cf_error(c->err, &n->pos, NULL, "%s: too many sections (at most %zu)", n->keyword, cap);
	*full = true;
	return false;
}

static void load_sections(struct ctx *c, const struct section *secs, size_t n)
{
	struct dhcp_config *dc = c->dc;
	size_t nscopes = 0, nrelays = 0;
	bool scopes_full = false, relays_full = false;

	for (size_t i = 0; i < n; i++) {
		if (secs[i].dup)
			continue;
		if (strcmp(secs[i].n->keyword, "dhcp") == 0)
			nscopes++;
		else
			nrelays++;
	}
	dc->scopes = zalloc(c, nscopes < DHCP_MAX_SCOPES ? nscopes : DHCP_MAX_SCOPES, sizeof(*dc->scopes));
	c->src = zalloc(c, nscopes < DHCP_MAX_SCOPES ? nscopes : DHCP_MAX_SCOPES, sizeof(*c->src));
	dc->relays = zalloc(c, nrelays < DHCP_MAX_RELAYS ? nrelays : DHCP_MAX_RELAYS, sizeof(*dc->relays));
	for (size_t i = 0; i < n && !c->oom; i++) {
		const struct cf_node *s = secs[i].n;

		if (secs[i].dup)
			continue;
		if (s->nargs == 0) /* a name is needed for anything else */
			cf_check_node(s, NULL, strcmp(s->keyword, "dhcp") == 0 ? &scope_kw : &relay_kw,
				      c->err);
		else if (strcmp(s->keyword, "dhcp") == 0 &&
			 under_cap(c, s, dc->nscopes, DHCP_MAX_SCOPES, &scopes_full))
			load_scope(c, s);
		else if (strcmp(s->keyword, "dhcp-relay") == 0 &&
			 under_cap(c, s, dc->nrelays, DHCP_MAX_RELAYS, &relays_full))
			load_relay(c, s);
	}
}

static void ctx_free(struct ctx *c)
{
	for (size_t i = 0; c->src && i < c->dc->nscopes; i++)
		free(c->src[i].hosts);
	free(c->src);
	free(c->iface_user);
	free(c->listen_names);
}

int dhcp_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	struct ctx c = {.cfg = cfg, .err = err};
	struct span *remote = NULL;
	struct section *secs;
	size_t nsecs, nremote = 0;

	*mod_cfg = NULL;
	secs = collect(&c, &nsecs);
	if (!secs)
		return c.oom ? -ENOMEM : 0;
	c.dc = zalloc(&c, 1, sizeof(*c.dc));
	c.iface_user = zalloc(&c, cfg->nifaces, sizeof(*c.iface_user));
	if (!c.oom)
		read_dns(&c);
	if (!c.oom)
		load_sections(&c, secs, nsecs);
	free(secs);
	if (!c.oom)
		remote = remote_spans(&c, &nremote);
	if (!c.oom)
		check_pool_overlaps(&c);
	if (!c.oom)
		check_local_in_remote(&c, remote, nremote);
	if (!c.oom)
		check_host_dups(&c);
	if (!c.oom)
		build_indexes(&c, remote, nremote);
	free(remote);
	ctx_free(&c);
	if (c.oom) {
		dhcp_config_free(c.dc);
		return -ENOMEM;
	}
	*mod_cfg = c.dc;
	return 0;
}

/* ----------------------------------------------------------------- free */

static void scope_free(struct dhcp_scope *s)
{
	free(s->name);
	free(s->iface);
	free(s->device);
	free(s->pools);
	free(s->routers);
	free(s->dns_servers);
	free(s->domain);
	free(s->ntp_servers);
	free(s->routes);
	for (size_t i = 0; s->options && i < s->noptions; i++)
		free(s->options[i].data);
	free(s->options);
	for (size_t i = 0; s->hosts && i < s->nhosts; i++)
		host_free(&s->hosts[i]);
	free(s->hosts);
	free(s->by_mac);
	free(s->by_client_id);
	free(s->by_addr);
}

void dhcp_config_free(void *p)
{
	struct dhcp_config *dc = p;

	if (!dc)
		return;
	for (size_t i = 0; dc->scopes && i < dc->nscopes; i++)
		scope_free(&dc->scopes[i]);
	free(dc->scopes);
	for (size_t i = 0; dc->relays && i < dc->nrelays; i++) {
		free(dc->relays[i].iface);
		free(dc->relays[i].device);
		free(dc->relays[i].servers);
		free(dc->relays[i].circuit_id);
		free(dc->relays[i].remote_id);
	}
	free(dc->relays);
	free(dc->local_domain);
	free(dc->dns_listen);
	free(dc->by_subnet);
	free(dc);
}

/* -------------------------------------------------------------- lookups */

const struct dhcp_scope *dhcp_scope_by_iface(const struct dhcp_config *dc, const char *iface)
{
	for (size_t i = 0; dc && i < dc->nscopes; i++)
		if (dc->scopes[i].iface && strcmp(dc->scopes[i].iface, iface) == 0)
			return &dc->scopes[i];
	return NULL;
}

const struct dhcp_scope *dhcp_scope_by_addr(const struct dhcp_config *dc, struct in_addr addr)
{
	size_t lo = 0, hi = dc ? dc->nby_subnet : 0;
	uint32_t x = h32(addr);

	/* the last subnet starting at or before ADDR; they do not overlap */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h32(dc->scopes[dc->by_subnet[mid]].subnet) <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		const struct dhcp_scope *s = &dc->scopes[dc->by_subnet[lo - 1]];

		if ((x & mask_of(s->prefix_len)) == h32(s->subnet))
			return s;
	}
	return NULL;
}

const struct dhcp_relay *dhcp_relay_by_iface(const struct dhcp_config *dc, const char *iface)
{
	for (size_t i = 0; dc && i < dc->nrelays; i++)
		if (dc->relays[i].iface && strcmp(dc->relays[i].iface, iface) == 0)
			return &dc->relays[i];
	return NULL;
}

const struct dhcp_pool *dhcp_scope_pool(const struct dhcp_scope *s, size_t i)
{
	return i < s->npools ? &s->pools[i] : NULL;
}

const struct dhcp_pool *dhcp_pool_of(const struct dhcp_scope *s, struct in_addr addr)
{
	size_t lo = 0, hi = s->npools;
	uint32_t x = h32(addr);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h32(s->pools[mid].first) <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && h32(s->pools[lo - 1].last) >= x ? &s->pools[lo - 1] : NULL;
}

uint32_t dhcp_pool_size(const struct dhcp_pool *p)
{
	return h32(p->last) - h32(p->first) + 1;
}

/* Binary search of an index: KEY is a host holding the wanted key. */
static const struct dhcp_host *host_search(const struct dhcp_scope *s, const uint32_t *idx, size_t n,
					   const struct dhcp_host *key, int k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = cmp_key(&s->hosts[idx[mid]], key, k);

		if (d == 0)
			return &s->hosts[idx[mid]];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct dhcp_host *dhcp_host_by_mac(const struct dhcp_scope *s, const uint8_t mac[6])
{
	struct dhcp_host key = {.has_mac = true};

	memcpy(key.mac, mac, sizeof(key.mac));
	return host_search(s, s->by_mac, s->nby_mac, &key, K_MAC);
}

const struct dhcp_host *dhcp_host_by_client_id(const struct dhcp_scope *s, const uint8_t *id, size_t len)
{
	struct dhcp_host key = {.client_id = (uint8_t *)id, .client_id_len = len};

	if (!id || !len)
		return NULL;
	return host_search(s, s->by_client_id, s->nby_client_id, &key, K_CLIENT_ID);
}

const struct dhcp_host *dhcp_host_by_addr(const struct dhcp_scope *s, struct in_addr addr)
{
	struct dhcp_host key = {.addr = addr};

	return host_search(s, s->by_addr, s->nhosts, &key, K_ADDR);
}

const struct dhcp_host *dhcp_host_for_client(const struct dhcp_scope *s, const uint8_t *mac,
					     const uint8_t *client_id, size_t client_id_len)
{
	const struct dhcp_host *h = dhcp_host_by_client_id(s, client_id, client_id_len);

	if (!h && mac)
		h = dhcp_host_by_mac(s, mac);
	return h;
}

const struct dhcp_option *dhcp_scope_option(const struct dhcp_scope *s, uint8_t code)
{
	size_t lo = 0, hi = s->noptions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->options[mid].code == code)
			return &s->options[mid];
		if (s->options[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool dhcp_dns_listens_on(const struct dhcp_config *dc, struct in_addr addr)
{
	if (!dc || !dc->ndns_listen)
		return false;
	/* sorted: the wildcard comes first */
	if (dc->dns_listen[0].s_addr == INADDR_ANY)
		return true;
	return bsearch(&addr, dc->dns_listen, dc->ndns_listen, sizeof(addr), cmp_in_addr) != NULL;
}
