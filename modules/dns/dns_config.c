/* dns_config.c — the `dns` section (CONFIG.md) into a struct dns_config,
 * with every rule that can be checked without the kernel or the files it
 * names (root-hints and hosts-file are read by the module at start and
 * reload: their content is not config).
 *
 * Decisions this file makes for the language:
 *  - `listen` takes interface names (a letter first, as `interface` names
 *    are) and IPv4 addresses (a digit first); 0.0.0.0 is every address.
 *    Without `listen`: every interface with a `dhcp NAME` scope (not the
 *    remote `dhcp SUBNET` ones, not dhcp-relay), plus 127.0.0.1. This is
 *    what dhcp_config.c's option 6 default reads too.
 *  - `host NAME ADDR`: a NAME without a dot is a host of local-domain
 *    ("nas" is nas.home.arpa); with a dot (a final one included) it is
 *    taken as written ("nas.example", "nas." is the single label "nas").
 *  - names (local-domain, forward-zone, host) follow the names table's
 *    rules (names.h): labels of letters, digits, '-' and '_'.
 *  - a forward-zone at or below local-domain is an error: the local
 *    domain is answered here and never sent upstream, so it could not
 *    take effect.
 *
 * A file is hostile: every list is bounded (dns_config.h) and duplicates
 * among the long ones (allow, host) are found by sorting. */
#include "dns_config.h"

#include "core_config.h"
#include "names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION "dns"
#define REF_MAX 256
#define MAX_TTL_MIN 1
#define MAX_TTL_MAX (7 * 86400)
#define NEGATIVE_TTL_MAX 86400 /* RFC 2308 5: "values exceeding one day are problematic" */

static uint32_t h32(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static uint32_t mask_of(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* ------------------------------------------------------------- context */

struct ctx {
	struct gw_config *cfg;
	struct cf_errors *err;
	struct dns_config *dc;
	bool oom;
	/* the arguments entries came from, parallel to dc's arrays */
	const struct cf_arg **allow_args;
	const struct cf_arg **host_args;
	bool listen_full, allow_full, fzones_full, hosts_full;
};

static void *zalloc(struct ctx *c, size_t n, size_t size) { return cf_zalloc(&c->oom, n, size); }
static char *dup_text(struct ctx *c, const char *s) { return cf_strdup(&c->oom, s); }

static bool under_cap(struct ctx *c, const struct cf_pos *pos, const char *keyword, size_t have, size_t cap,
		      bool *full)
{
	return cf_under_cap(c->err, pos, SECTION, keyword, have, cap, full);
}

/* ------------------------------------------------- statements of a block */

/* ------------------------------------------------------- address rules */

static const struct addr_class {
	uint32_t first, last;
	const char *what, *block;
} this_net = {0x00000000, 0x00ffffff, "\"this network\"", "0.0.0.0/8"},
  multicast = {0xe0000000, 0xefffffff, "multicast", "224.0.0.0/4"},
  reserved = {0xf0000000, 0xffffffff, "reserved", "240.0.0.0/4"};

/* A is none of CLASSES (NULL-terminated), else an error at ARG (dhcp's wording). */
static int addr_not_in(struct ctx *c, const char *keyword, const struct cf_arg *arg, struct in_addr a,
		       const struct addr_class *const *classes)
{
	for (; *classes; classes++) {
		if (h32(a) < (*classes)->first || h32(a) > (*classes)->last)
			continue;
		cf_error(c->err, &arg->pos, SECTION, "%s: \"%s\" is a %s address (%s)", keyword, arg->text,
			 (*classes)->what, (*classes)->block);
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------- names */

/* Why TEXT is not a name by the names table's rules (names.h), or NULL. */
static const char *name_fault(const char *text)
{
	size_t len = strlen(text), label = 0;

	if (len && text[len - 1] == '.')
		len--;
	if (len == 0)
		return "it is empty (the root is not a name here)";
	if (len > GW_NAME_MAX)
		return "it is longer than 253 characters";
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? text[i] : '.';

		if (ch == '.') {
			if (label == 0)
				return "it has an empty label";
			if (text[i - 1] == '-')
				return "a label ends with '-'";
			label = 0;
		} else if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_') {
			return "only letters, digits, '-' and '_' make a label";
		} else if (label == 0 && ch == '-') {
			return "a label starts with '-'";
		} else if (++label > DNS_LABEL_MAX) {
			return "a label is longer than 63 characters";
		}
	}
	return NULL;
}

/* TEXT (already normalised) in wire form, lower-case. */
static int wire_name(struct ctx *c, const char *text, struct dns_name *out)
{
	if (dns_name_from_text(out, text) < 0) {
		c->oom = true; /* a normalised name always converts: a bug, not the file */
		return -1;
	}
	dns_name_lower(out);
	return 0;
}

/* Argument A as a name: normalised into NORM ("home.arpa"), and its wire form. */
static int arg_name(struct ctx *c, const char *keyword, const struct cf_arg *a, char norm[GW_NAME_MAX + 1],
		    struct dns_name *wire)
{
	const char *why = name_fault(a->text);

	if (why || gw_names_normalise(a->text, norm) < 0) {
		cf_error(c->err, &a->pos, SECTION, "%s: \"%s\" is not a domain name: %s", keyword, a->text,
			 why ? why : "it breaks the rules of names");
		return -1;
	}
	return wire_name(c, norm, wire);
}

/* ---------------------------------------------------------------- listen */

static int listen_dup(struct ctx *c, const struct cf_arg *a, struct dns_listen *l)
{
	const struct dns_config *dc = c->dc;
	char ref[REF_MAX];

	for (size_t i = 0; i < dc->nlisten; i++) {
		const struct dns_listen *o = &dc->listen[i];

		if (l->iface ? !o->iface || strcmp(o->iface, l->iface) != 0 :
			       o->iface || o->addr.s_addr != l->addr.s_addr)
			continue;
		cf_error(c->err, &a->pos, SECTION, "listen: \"%s\" is given more than once (first at %s)",
			 a->text, cf_pos_ref(&o->pos, &a->pos, ref, sizeof(ref)));
		return -1;
	}
	return 0;
}

static int listen_arg(struct ctx *c, const struct cf_node *n, size_t i, struct dns_listen *l)
{
	static const struct addr_class *const bad[] = {&multicast, &reserved, NULL};
	const struct cf_arg *a = &n->args[i];
	const struct gw_iface_cfg *ifc;

	*l = (struct dns_listen){.pos = a->pos};
	if (isdigit((unsigned char)a->text[0])) {
		if (cf_arg_ipv4(n, i, SECTION, c->err, &l->addr) < 0)
			return -1;
		/* 0.0.0.0 is the wildcard here, not "this network" */
		return addr_not_in(c, "listen", a, l->addr, bad);
	}
	if (!isalpha((unsigned char)a->text[0])) {
		cf_error(c->err, &a->pos, SECTION,
			 "listen: \"%s\" is neither an interface name nor an IPv4 address (listen lan, "
			 "listen 192.168.1.1)",
			 a->text);
		return -1;
	}
	ifc = gw_config_iface_ref(c->cfg, a, SECTION ": listen", c->err);
	if (!ifc)
		return -1;
	l->iface = a->text;
	l->device = ifc->device;
	return 0;
}

static void do_listen(struct ctx *c, const struct cf_node *n)
{
	struct dns_config *dc = c->dc;

	for (size_t i = 0; i < n->nargs; i++) {
		struct dns_listen l;

		if (!under_cap(c, &n->args[i].pos, "listen", dc->nlisten, DNS_MAX_LISTEN, &c->listen_full))
			return;
		if (listen_arg(c, n, i, &l) == 0 && listen_dup(c, &n->args[i], &l) == 0)
			dc->listen[dc->nlisten++] = l;
	}
}

/* The index of the interface NAME in CFG, or nifaces. */
static size_t iface_index(const struct gw_config *cfg, const char *name)
{
	size_t k = 0;

	while (k < cfg->nifaces && strcmp(cfg->ifaces[k].name, name) != 0)
		k++;
	return k;
}

/* CONFIG.md: by default, every interface with a dhcp scope, plus 127.0.0.1.
 * Unknown interfaces and duplicate sections are the dhcp module's and the
 * core's errors: skipped here. */
static void default_listen(struct ctx *c, const struct cf_node *sec)
{
	struct dns_config *dc = c->dc;

	dc->listen_loopback = true;
	for (const struct cf_node *n = c->cfg->tree->root; n; n = n->next) {
		const char *name = n->nargs ? n->args[0].text : "";
		bool seen = false;
		size_t k;

		if (strcmp(n->keyword, "dhcp") != 0 || !isalpha((unsigned char)name[0]))
			continue;
		for (size_t i = 0; i < dc->nlisten && !seen; i++)
			seen = strcmp(dc->listen[i].iface, name) == 0;
		if (seen || (k = iface_index(c->cfg, name)) == c->cfg->nifaces)
			continue;
		if (dc->nlisten == DNS_MAX_LISTEN) {
			cf_error(
				c->err, &sec->pos, SECTION,
				"listen: by default every interface with a dhcp scope, but there are more than "
				"%d: give listen",
				DNS_MAX_LISTEN);
			return;
		}
		c->cfg->ifaces[k].used = true; /* the resolver listens there */
		dc->listen[dc->nlisten++] = (struct dns_listen){
			.iface = name, .device = c->cfg->ifaces[k].device, .pos = n->args[0].pos};
	}
}

/* ----------------------------------------------------------------- allow */

static void do_allow(struct ctx *c, const struct cf_node *n)
{
	struct dns_config *dc = c->dc;

	for (size_t i = 0; i < n->nargs; i++) {
		const struct cf_arg *a = &n->args[i];
		struct dns_prefix p = {.len = 32};

		if (!under_cap(c, &a->pos, "allow", dc->nallow, DNS_MAX_ALLOW, &c->allow_full))
			return;
		if (strchr(a->text, '/')) {
			if (cf_arg_prefix(n, i, SECTION, c->err, &p.net, &p.len) < 0)
				continue;
		} else if (cf_parse_ipv4(a->text, &p.net) < 0) {
			cf_error(c->err, &a->pos, SECTION,
				 "allow: \"%s\" is not an IPv4 prefix or address (192.168.0.0/16, 10.0.0.5)",
				 a->text);
			continue;
		}
		c->allow_args[dc->nallow] = a;
		dc->allow[dc->nallow++] = p;
	}
}

static int cmp_allow(const void *pa, const void *pb, void *arg)
{
	const struct dns_prefix *v = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	uint32_t a = h32(v[ia].net), b = h32(v[ib].net);

	if (a != b)
		return a < b ? -1 : 1;
	if (v[ia].len != v[ib].len)
		return v[ia].len < v[ib].len ? -1 : 1;
	return (ia > ib) - (ia < ib);
}

/* Duplicates reported at the later one, in file order; then the ranges
 * dns_config_allowed() searches: sorted by start, overlaps merged. */
static void finish_allow(struct ctx *c)
{
	struct dns_config *dc = c->dc;
	size_t *idx = zalloc(c, dc->nallow, sizeof(*idx)), *first = zalloc(c, dc->nallow, sizeof(*first));
	char ref[REF_MAX];

	dc->allow_ranges = zalloc(c, dc->nallow, sizeof(*dc->allow_ranges));
	if (c->oom)
		goto out;
	for (size_t i = 0; i < dc->nallow; i++) {
		idx[i] = i;
		first[i] = SIZE_MAX;
	}
	qsort_r(idx, dc->nallow, sizeof(*idx), cmp_allow, dc->allow);
	for (size_t i = 1, g = 0; i < dc->nallow; i++) {
		if (dc->allow[idx[i]].net.s_addr == dc->allow[idx[g]].net.s_addr &&
		    dc->allow[idx[i]].len == dc->allow[idx[g]].len)
			first[idx[i]] = idx[g];
		else
			g = i;
	}
	for (size_t i = 0; i < dc->nallow; i++) {
		const struct cf_arg *a = c->allow_args[i];

		if (first[i] != SIZE_MAX)
			cf_error(c->err, &a->pos, SECTION,
				 "allow: \"%s\" is given more than once (first at %s)", a->text,
				 cf_pos_ref(&c->allow_args[first[i]]->pos, &a->pos, ref, sizeof(ref)));
		dc->allow_ranges[i].first = h32(dc->allow[i].net);
		dc->allow_ranges[i].last = h32(dc->allow[i].net) | ~mask_of(dc->allow[i].len);
	}
	dc->nallow_ranges = cf_ranges_merge(dc->allow_ranges, dc->nallow);
out:
	free(idx);
	free(first);
}

bool dns_config_allowed(const struct dns_config *dc, struct in_addr addr)
{
	return dc && cf_ranges_contain(dc->allow_ranges, dc->nallow_ranges, h32(addr));
}

/* ---------------------------------------------------------------- paths */

static void do_path(struct ctx *c, const struct cf_node *n, char **out)
{
	const struct cf_arg *a = &n->args[0];

	/* read again at every reload, whatever the daemon's directory is then */
	if (a->text[0] != '/')
		cf_error(c->err, &a->pos, SECTION,
			 "%s: \"%s\" is not an absolute path (it must start with '/')", n->keyword, a->text);
	else if (strlen(a->text) >= PATH_MAX)
		cf_error(c->err, &a->pos, SECTION, "%s: the path is longer than %d bytes", n->keyword,
			 PATH_MAX - 1);
	else
		*out = dup_text(c, a->text);
}

/* --------------------------------------------------------------- servers */

/* "ADDR" or "ADDR:PORT". */
static int arg_server(struct ctx *c, const struct cf_node *n, size_t i, struct dns_server *s)
{
	static const struct addr_class *const bad[] = {&this_net, &multicast, &reserved, NULL};
	const struct cf_arg *a = &n->args[i];
	const char *colon = strrchr(a->text, ':');
	size_t len = colon ? (size_t)(colon - a->text) : strlen(a->text);
	char addr[INET_ADDRSTRLEN];
	uint64_t port = DNS_PORT_DEFAULT;
	bool ok = len < sizeof(addr);

	if (ok) {
		memcpy(addr, a->text, len);
		addr[len] = '\0';
		ok = cf_parse_ipv4(addr, &s->addr) == 0;
	}
	if (!ok) {
		cf_error(c->err, &a->pos, SECTION,
			 "%s: \"%s\" is not a server (ADDRESS or ADDRESS:PORT: 9.9.9.9, 127.0.0.1:5353)",
			 n->keyword, a->text);
		return -1;
	}
	if (colon && (cf_parse_uint(colon + 1, 65535, &port) < 0 || port == 0)) {
		cf_error(c->err, &a->pos, SECTION, "%s: \"%s\": the port is not a number from 1 to 65535",
			 n->keyword, a->text);
		return -1;
	}
	s->port = (uint16_t)port;
	return addr_not_in(c, n->keyword, a, s->addr, bad);
}

/* Arguments FROM.. of N as servers into OUT (room for DNS_MAX_SERVERS: the
 * keyword table bounds the arguments). 9.9.9.9 and 9.9.9.9:53 are one. */
static void servers(struct ctx *c, const struct cf_node *n, size_t from, struct dns_server *out, size_t *nout)
{
	const struct cf_arg *args[DNS_MAX_SERVERS + 1];
	char ref[REF_MAX];

	for (size_t i = from; i < n->nargs && *nout < DNS_MAX_SERVERS; i++) {
		const struct cf_arg *a = &n->args[i];
		struct dns_server s;
		size_t j = 0;

		if (arg_server(c, n, i, &s) < 0)
			continue;
		while (j < *nout && (out[j].addr.s_addr != s.addr.s_addr || out[j].port != s.port))
			j++;
		if (j < *nout) {
			cf_error(c->err, &a->pos, SECTION, "%s: \"%s\" is given more than once (first at %s)",
				 n->keyword, a->text, cf_pos_ref(&args[j]->pos, &a->pos, ref, sizeof(ref)));
			continue;
		}
		args[*nout] = a;
		out[(*nout)++] = s;
	}
}

static void do_forward(struct ctx *c, const struct cf_node *n)
{
	struct dns_config *dc = c->dc;

	dc->forward = zalloc(c, DNS_MAX_SERVERS, sizeof(*dc->forward));
	if (dc->forward)
		servers(c, n, 0, dc->forward, &dc->nforward);
}

/* ------------------------------------------------------------ forward-zone */

static int zone_local(struct ctx *c, const struct cf_arg *a, const struct dns_name *zone)
{
	const struct dns_config *dc = c->dc;

	if (!dns_name_is_under(zone, &dc->local_domain))
		return 0;
	cf_error(c->err, &a->pos, SECTION,
		 "forward-zone: \"%s\" is %s local domain %s, which is answered here (local-domain)", a->text,
		 dns_name_equal(zone, &dc->local_domain) ? "the" : "inside the", dc->local_domain_text);
	return -1;
}

static void do_forward_zone(struct ctx *c, const struct cf_node *n)
{
	struct dns_config *dc = c->dc;
	const struct cf_arg *a = &n->args[0];
	struct dns_forward_zone z = {.pos = n->pos};
	char norm[GW_NAME_MAX + 1], ref[REF_MAX];

	if (!under_cap(c, &n->pos, "forward-zone", dc->nfzones, DNS_MAX_FORWARD_ZONES, &c->fzones_full))
		return;
	if (strcmp(a->text, ".") == 0) {
		cf_error(c->err, &a->pos, SECTION, "forward-zone: \".\" is the root: use forward");
		return;
	}
	if (arg_name(c, "forward-zone", a, norm, &z.zone) < 0 || zone_local(c, a, &z.zone) < 0)
		return;
	for (size_t i = 0; i < dc->nfzones; i++) {
		if (!dns_name_equal(&dc->fzones[i].zone, &z.zone))
			continue;
		cf_error(c->err, &a->pos, SECTION,
			 "forward-zone: \"%s\" is given more than once (first at %s)", a->text,
			 cf_pos_ref(&dc->fzones[i].pos, &a->pos, ref, sizeof(ref)));
		return;
	}
	z.servers = zalloc(c, DNS_MAX_SERVERS, sizeof(*z.servers));
	if (!z.servers)
		return;
	servers(c, n, 1, z.servers, &z.nservers);
	dc->fzones[dc->nfzones++] = z;
}

/* Most specific first (more labels first), file order among equals: the
 * first zone a name is under is then its deepest. Insertion sort: stable,
 * and the count is bounded by DNS_MAX_FORWARD_ZONES. */
static void sort_fzones(struct dns_config *dc)
{
	for (size_t i = 1; i < dc->nfzones; i++) {
		struct dns_forward_zone z = dc->fzones[i];
		size_t j = i;

		for (; j > 0 && dc->fzones[j - 1].zone.labels < z.zone.labels; j--)
			dc->fzones[j] = dc->fzones[j - 1];
		dc->fzones[j] = z;
	}
}

/* -------------------------------------------------------- local-domain */

/* Read before the rest: host names and forward-zone depend on it, wherever
 * in the section it stands. */
static void read_local_domain(struct ctx *c, const struct cf_node *sec)
{
	const struct cf_node *n = cf_find(sec->children, "local-domain");
	struct dns_config *dc = c->dc;
	struct dns_name wire;
	char norm[GW_NAME_MAX + 1];

	snprintf(dc->local_domain_text, sizeof(dc->local_domain_text), "%s", DNS_LOCAL_DOMAIN_DEFAULT);
	if (wire_name(c, dc->local_domain_text, &dc->local_domain) < 0)
		return;
	if (!n || n->nargs != 1 || n->block)
		return;
	if (arg_name(c, "local-domain", &n->args[0], norm, &wire) < 0)
		return;
	snprintf(dc->local_domain_text, sizeof(dc->local_domain_text), "%s", norm);
	dc->local_domain = wire;
}

/* ------------------------------------------------------------------ host */

/* NAME qualified: a name without a dot is under local-domain. */
static int host_name(struct ctx *c, const struct cf_arg *a, struct dns_host *h)
{
	const struct dns_config *dc = c->dc;
	const char *why = name_fault(a->text);
	/* lengths are checked below: the size only quiets -Wformat-truncation */
	char full[2 * DNS_NAME_TEXT_MAX], norm[GW_NAME_MAX + 1];
	size_t len = strlen(a->text) + 1 + strlen(dc->local_domain_text);

	if (why) {
		cf_error(c->err, &a->pos, SECTION, "host: \"%s\" is not a host name: %s", a->text, why);
		return -1;
	}
	if (strchr(a->text, '.')) {
		snprintf(full, sizeof(full), "%s", a->text);
	} else if (len > GW_NAME_MAX) {
		cf_error(
			c->err, &a->pos, SECTION,
			"host: \"%s\" is too long for the local domain %s (%zu characters in all, at most %d)",
			a->text, dc->local_domain_text, len, GW_NAME_MAX);
		return -1;
	} else {
		snprintf(full, sizeof(full), "%s.%s", a->text, dc->local_domain_text);
	}
	if (gw_names_normalise(full, norm) < 0) {
		cf_error(c->err, &a->pos, SECTION, "host: \"%s\" is not a host name", a->text);
		return -1;
	}
	h->text = dup_text(c, norm);
	return h->text ? wire_name(c, norm, &h->name) : -1;
}

static void do_host(struct ctx *c, const struct cf_node *n)
{
	struct dns_config *dc = c->dc;
	struct dns_host h = {.pos = n->pos};
	bool ok;

	if (!under_cap(c, &n->pos, "host", dc->nhosts, DNS_MAX_HOSTS, &c->hosts_full))
		return;
	ok = host_name(c, &n->args[0], &h) == 0;
	/* any address: 0.0.0.0 is how hosts files block a name */
	if (cf_arg_ipv4(n, 1, SECTION, c->err, &h.addr) < 0 || !ok) {
		free(h.text);
		return;
	}
	c->host_args[dc->nhosts] = &n->args[0];
	dc->hosts[dc->nhosts++] = h;
}

static int cmp_host(const void *pa, const void *pb, void *arg)
{
	const struct dns_host *v = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	int d = strcmp(v[ia].text, v[ib].text);

	if (d)
		return d;
	if (v[ia].addr.s_addr != v[ib].addr.s_addr)
		return h32(v[ia].addr) < h32(v[ib].addr) ? -1 : 1;
	return (ia > ib) - (ia < ib);
}

/* (name, address) given twice: reported at the later one, in file order. */
static void check_host_dups(struct ctx *c)
{
	struct dns_config *dc = c->dc;
	size_t *idx = zalloc(c, dc->nhosts, sizeof(*idx)), *first = zalloc(c, dc->nhosts, sizeof(*first));
	char ref[REF_MAX], addr[INET_ADDRSTRLEN];

	if (c->oom)
		goto out;
	for (size_t i = 0; i < dc->nhosts; i++) {
		idx[i] = i;
		first[i] = SIZE_MAX;
	}
	qsort_r(idx, dc->nhosts, sizeof(*idx), cmp_host, dc->hosts);
	for (size_t i = 1, g = 0; i < dc->nhosts; i++) {
		const struct dns_host *a = &dc->hosts[idx[g]], *b = &dc->hosts[idx[i]];

		if (strcmp(a->text, b->text) == 0 && a->addr.s_addr == b->addr.s_addr)
			first[idx[i]] = idx[g];
		else
			g = i;
	}
	for (size_t i = 0; i < dc->nhosts; i++) {
		const struct cf_arg *a = c->host_args[i];

		if (first[i] == SIZE_MAX)
			continue;
		inet_ntop(AF_INET, &dc->hosts[i].addr, addr, sizeof(addr));
		cf_error(c->err, &a->pos, SECTION, "host: %s %s is given more than once (first at %s)",
			 dc->hosts[i].text, addr,
			 cf_pos_ref(&c->host_args[first[i]]->pos, &a->pos, ref, sizeof(ref)));
	}
out:
	free(idx);
	free(first);
}

/* ------------------------------------------------------------ the rest */

enum {
	K_LISTEN,
	K_PORT,
	K_ALLOW,
	K_ROOT_HINTS,
	K_FORWARD,
	K_FORWARD_ZONE,
	K_CACHE_SIZE,
	K_LOCAL_DOMAIN,
	K_HOST,
	K_HOSTS_FILE,
	K_EDNS_BUFFER_SIZE,
	K_QNAME_MINIMISATION,
	K_PREFETCH,
	K_SERVE_STALE,
	K_MAX_TTL,
	K_NEGATIVE_TTL,
	K_END,
};

static const struct cf_keyword dns_kws[] = {
	[K_LISTEN] = {"listen", 1, -1, false, true},
	[K_PORT] = {"port", 1, 1, false, false},
	[K_ALLOW] = {"allow", 1, -1, false, true},
	[K_ROOT_HINTS] = {"root-hints", 1, 1, false, false},
	[K_FORWARD] = {"forward", 1, DNS_MAX_SERVERS, false, false},
	[K_FORWARD_ZONE] = {"forward-zone", 2, DNS_MAX_SERVERS + 1, false, true},
	[K_CACHE_SIZE] = {"cache-size", 1, 1, false, false},
	[K_LOCAL_DOMAIN] = {"local-domain", 1, 1, false, false},
	[K_HOST] = {"host", 2, 2, false, true},
	[K_HOSTS_FILE] = {"hosts-file", 1, 1, false, false},
	[K_EDNS_BUFFER_SIZE] = {"edns-buffer-size", 1, 1, false, false},
	[K_QNAME_MINIMISATION] = {"qname-minimisation", 1, 1, false, false},
	[K_PREFETCH] = {"prefetch", 1, 1, false, false},
	[K_SERVE_STALE] = {"serve-stale", 1, 1, false, false},
	[K_MAX_TTL] = {"max-ttl", 1, 1, false, false},
	[K_NEGATIVE_TTL] = {"negative-ttl", 1, 1, false, false},
	[K_END] = {NULL, 0, 0, false, false},
};

static void do_cache_size(struct ctx *c, const struct cf_node *n)
{
	uint64_t v;

	if (cf_arg_size(n, 0, SECTION, c->err, &v) < 0)
		return;
	if (v < DNS_CACHE_SIZE_MIN || v > DNS_CACHE_SIZE_MAX)
		cf_error(c->err, &n->args[0].pos, SECTION, "cache-size: \"%s\" is out of range (64K to 4G)",
			 n->args[0].text);
	else
		c->dc->cache_size = v;
}

static void do_ttl(struct ctx *c, const struct cf_node *n, uint32_t min, uint32_t max, const char *range,
		   uint32_t *out)
{
	uint64_t v;

	if (cf_arg_duration(n, 0, SECTION, c->err, &v) < 0)
		return;
	if (v < min || v > max)
		cf_error(c->err, &n->args[0].pos, SECTION, "%s: \"%s\" is out of range (%s)", n->keyword,
			 n->args[0].text, range);
	else
		*out = (uint32_t)v;
}

static void do_uint16(struct ctx *c, const struct cf_node *n, uint64_t min, uint64_t max, uint16_t *out)
{
	uint64_t v;

	if (cf_arg_uint(n, 0, SECTION, c->err, min, max, &v) == 0)
		*out = (uint16_t)v;
}

static void stmt(void *data, size_t k, const struct cf_node *n)
{
	struct ctx *c = data;

	struct dns_config *dc = c->dc;

	switch (k) {
	case K_LISTEN:
		do_listen(c, n);
		break;
	case K_PORT:
		do_uint16(c, n, 1, 65535, &dc->port);
		break;
	case K_ALLOW:
		do_allow(c, n);
		break;
	case K_ROOT_HINTS:
		do_path(c, n, &dc->root_hints);
		break;
	case K_FORWARD:
		do_forward(c, n);
		break;
	case K_FORWARD_ZONE:
		do_forward_zone(c, n);
		break;
	case K_CACHE_SIZE:
		do_cache_size(c, n);
		break;
	case K_LOCAL_DOMAIN:
		break; /* read_local_domain() */
	case K_HOST:
		do_host(c, n);
		break;
	case K_HOSTS_FILE:
		do_path(c, n, &dc->hosts_file);
		break;
	case K_EDNS_BUFFER_SIZE:
		do_uint16(c, n, DNS_EDNS_BUFFER_MIN, DNS_EDNS_BUFFER_MAX, &dc->edns_buffer_size);
		break;
	case K_QNAME_MINIMISATION:
		cf_arg_bool(n, 0, SECTION, c->err, &dc->qname_minimisation);
		break;
	case K_PREFETCH:
		cf_arg_bool(n, 0, SECTION, c->err, &dc->prefetch);
		break;
	case K_SERVE_STALE:
		cf_arg_bool(n, 0, SECTION, c->err, &dc->serve_stale);
		break;
	case K_MAX_TTL:
		do_ttl(c, n, MAX_TTL_MIN, MAX_TTL_MAX, "1s to 7d", &dc->max_ttl);
		break;
	default:
		do_ttl(c, n, 0, NEGATIVE_TTL_MAX, "0s to 1d", &dc->negative_ttl);
		break;
	}
}

static void set_defaults(struct dns_config *dc)
{
	dc->port = DNS_PORT_DEFAULT;
	dc->cache_size = DNS_CACHE_SIZE_DEFAULT;
	dc->edns_buffer_size = DNS_EDNS_BUFFER_DEFAULT;
	dc->qname_minimisation = dc->prefetch = dc->serve_stale = true;
	dc->max_ttl = DNS_MAX_TTL_DEFAULT;
	dc->negative_ttl = DNS_NEGATIVE_TTL_DEFAULT;
}

/* The arrays, sized by the statements (at most their caps). */
static void alloc_arrays(struct ctx *c, const struct cf_node *sec)
{
	struct dns_config *dc = c->dc;
	size_t allow = cf_count(sec->children, "allow", true),
	       fz = cf_count(sec->children, "forward-zone", false),
	       hosts = cf_count(sec->children, "host", false);

	allow = allow < DNS_MAX_ALLOW ? allow : DNS_MAX_ALLOW;
	fz = fz < DNS_MAX_FORWARD_ZONES ? fz : DNS_MAX_FORWARD_ZONES;
	hosts = hosts < DNS_MAX_HOSTS ? hosts : DNS_MAX_HOSTS;
	dc->listen = zalloc(c, DNS_MAX_LISTEN, sizeof(*dc->listen));
	dc->allow = zalloc(c, allow, sizeof(*dc->allow));
	c->allow_args = zalloc(c, allow, sizeof(*c->allow_args));
	dc->fzones = zalloc(c, fz, sizeof(*dc->fzones));
	dc->hosts = zalloc(c, hosts, sizeof(*dc->hosts));
	c->host_args = zalloc(c, hosts, sizeof(*c->host_args));
}

static void load_section(struct ctx *c, const struct cf_node *sec)
{
	static const struct cf_keyword dns_kw = {"dns", 0, 0, true, false};

	cf_check_node(sec, NULL, &dns_kw, c->err);
	cf_check_keywords(sec->children, SECTION, dns_kws, c->err);
	alloc_arrays(c, sec);
	if (c->oom)
		return;
	read_local_domain(c, sec);
	cf_for_each_good(sec->children, dns_kws, stmt, c, &c->oom);
	if (c->oom)
		return;
	/* a listen statement, even a bad one, replaces the default (CONFIG.md) */
	if (!cf_find(sec->children, "listen"))
		default_listen(c, sec);
	finish_allow(c);
	if (!c->oom)
		check_host_dups(c);
	sort_fzones(c->dc);
}

int dns_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	/* a second dns section is the core's error: the first one counts */
	const struct cf_node *sec = cf_find(cfg->tree->root, "dns");
	struct ctx c = {.cfg = cfg, .err = err};

	*mod_cfg = NULL;
	if (!sec)
		return 0;
	c.dc = zalloc(&c, 1, sizeof(*c.dc));
	if (!c.dc)
		return -ENOMEM;
	set_defaults(c.dc);
	load_section(&c, sec);
	free(c.allow_args);
	free(c.host_args);
	if (c.oom) {
		dns_config_free(c.dc);
		return -ENOMEM;
	}
	*mod_cfg = c.dc;
	return 0;
}

void dns_config_free(void *p)
{
	struct dns_config *dc = p;

	if (!dc)
		return;
	free(dc->listen);
	free(dc->allow);
	free(dc->allow_ranges);
	free(dc->root_hints);
	free(dc->forward);
	for (size_t i = 0; dc->fzones && i < dc->nfzones; i++)
		free(dc->fzones[i].servers);
	free(dc->fzones);
	for (size_t i = 0; dc->hosts && i < dc->nhosts; i++)
		free(dc->hosts[i].text);
	free(dc->hosts);
	free(dc->hosts_file);
	free(dc);
}
