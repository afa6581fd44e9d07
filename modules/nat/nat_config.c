/* nat_config.c — the `nat` section (CONFIG.md) into a struct nat_config,
 * with every rule that can be checked from the file, plus the one that
 * needs the live interfaces when a reload gives them (a forward's target
 * inside a LAN subnet).
 *
 * Decisions this file makes for the language:
 *  - a nat section needs at least one `masquerade`: forwards, hairpin and
 *    PCP all work on the masquerade interfaces' addresses, so a section
 *    without one could do nothing.
 *  - the LAN is every interface with a `dhcp NAME` scope or a `dhcp-relay`
 *    on it (not the remote `dhcp SUBNET` scopes: no interface of ours),
 *    unless it is masqueraded. `pcp yes` without one is an error: PCP
 *    would have nowhere to listen.
 *  - forward targets are unicast IPv4: not 0/8, 127/8, 224/4, 240/4 or
 *    255.255.255.255 (DNAT to those cannot reach a LAN host). Whether the
 *    target is inside a LAN subnet depends on the addresses the LAN has at
 *    the time: checked only when configure() runs on a reload
 *    (cfg->live_ifaces) and some LAN device has an address; at start the
 *    module logs it instead.
 *  - external ranges of one protocol overlap nowhere (among forwards, and
 *    among opens); a port that is forwarded cannot be `open` too: DNAT at
 *    prerouting sends it to the LAN host before the input chain sees it.
 *  - `open` with `firewall no` is a warning, not an error: nothing is
 *    dropped then, so it has no effect, but nothing breaks either.
 *
 * A file is hostile: every list is bounded (nat_config.h) and overlaps are
 * found by sorting, never by comparing every pair. */
#include "nat_config.h"

#include "core_config.h"
#include "iface.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION "nat"
#define REF_MAX 256
#define SPAN_TEXT_MAX 24 /* "udp 65535-65535" */
#define LAN_TEXT_MAX 320 /* the LAN subnets a message lists */

static uint32_t h32(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static uint32_t mask_of(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

static const char *proto_name(enum nat_proto p)
{
	return p == NAT_TCP ? "tcp" : "udp";
}

/* "tcp 8080" or "tcp 5000-5010" */
static const char *span_text(enum nat_proto p, uint16_t first, uint16_t last, char buf[SPAN_TEXT_MAX])
{
	if (first == last)
		snprintf(buf, SPAN_TEXT_MAX, "%s %u", proto_name(p), first);
	else
		snprintf(buf, SPAN_TEXT_MAX, "%s %u-%u", proto_name(p), first, last);
	return buf;
}

/* ------------------------------------------------------------- context */

/* A LAN device while the config is read: the interface it was named by. */
struct lan_dev {
	const char *device;
	const char *iface;
};

struct ctx {
	struct gw_config *cfg;
	struct cf_errors *err;
	struct nat_config *nc;
	bool oom;
	/* the statements entries came from, parallel to nc's arrays in file order */
	const struct cf_node **fwd_nodes;
	const struct cf_node **open_nodes;
	struct lan_dev *lan; /* sorted by device, unique */
	size_t nlan;
	bool masq_full, fwd_full, ports_full, open_full;
};

static void *zalloc(struct ctx *c, size_t n, size_t size) { return cf_zalloc(&c->oom, n, size); }

static bool under_cap(struct ctx *c, const struct cf_pos *pos, const char *keyword, size_t have, size_t cap,
		      bool *full)
{
	return cf_under_cap(c->err, pos, SECTION, keyword, have, cap, full);
}

/* ------------------------------------------------- statements of a block */

/* ------------------------------------------------------------ masquerade */

static int masq_dup(struct ctx *c, const struct cf_arg *a, const char *device)
{
	const struct nat_config *nc = c->nc;
	char ref[REF_MAX];

	for (size_t i = 0; i < nc->nmasq; i++) {
		const struct nat_masq *m = &nc->masq[i];

		cf_pos_ref(&m->pos, &a->pos, ref, sizeof(ref));
		if (strcmp(m->iface, a->text) == 0) {
			cf_error(c->err, &a->pos, SECTION,
				 "masquerade: \"%s\" is given more than once (first at %s)", a->text, ref);
			return -1;
		}
		if (strcmp(m->device, device) == 0) {
			cf_error(c->err, &a->pos, SECTION,
				 "masquerade: \"%s\" is device %s, masqueraded already as \"%s\" (%s)",
				 a->text, device, m->iface, ref);
			return -1;
		}
	}
	return 0;
}

static void do_masquerade(struct ctx *c, const struct cf_node *n)
{
	struct nat_config *nc = c->nc;
	const struct cf_arg *a = &n->args[0];
	const struct gw_iface_cfg *ifc;

	if (!under_cap(c, &a->pos, "masquerade", nc->nmasq, NAT_MAX_MASQUERADE, &c->masq_full))
		return;
	/* interface names start with a letter: an address here is a misreading
	 * of the keyword, and "define it" would be the wrong advice */
	if (!isalpha((unsigned char)a->text[0])) {
		cf_error(c->err, &a->pos, SECTION,
			 "masquerade: \"%s\" is not an interface name (masquerade wan: the interface whose "
			 "address NAT uses)",
			 a->text);
		return;
	}
	ifc = gw_config_iface_ref(c->cfg, a, SECTION ": masquerade", c->err);
	/* no device: the interface section has its own error */
	if (!ifc || !ifc->device || masq_dup(c, a, ifc->device) < 0)
		return;
	nc->masq[nc->nmasq++] = (struct nat_masq){.iface = a->text, .device = ifc->device, .pos = a->pos};
}

static bool is_masq_device(const struct nat_config *nc, const char *device)
{
	for (size_t i = 0; i < nc->nmasq; i++)
		if (strcmp(nc->masq[i].device, device) == 0)
			return true;
	return false;
}

/* ----------------------------------------------------- protocol and ports */

static int arg_proto(struct ctx *c, const struct cf_node *n, enum nat_proto *p)
{
	const struct cf_arg *a = &n->args[0];

	if (strcmp(a->text, "tcp") == 0) {
		*p = NAT_TCP;
	} else if (strcmp(a->text, "udp") == 0) {
		*p = NAT_UDP;
	} else {
		cf_error(c->err, &a->pos, SECTION, "%s: \"%s\" is not a protocol (tcp or udp)", n->keyword,
			 a->text);
		return -1;
	}
	return 0;
}

/* One port, 1..65535, of at most LEN bytes at S. */
static int parse_port(const char *s, size_t len, uint16_t *port)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (cf_parse_uint(buf, 65535, &v) < 0 || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "PORT" or "FIRST-LAST" (FIRST <= LAST) from argument 1 of N. */
static int arg_ports(struct ctx *c, const struct cf_node *n, uint16_t *first, uint16_t *last)
{
	const struct cf_arg *a = &n->args[1];
	const char *dash = strchr(a->text, '-');
	size_t len = dash ? (size_t)(dash - a->text) : strlen(a->text);

	if (parse_port(a->text, len, first) < 0 ||
	    (dash ? parse_port(dash + 1, strlen(dash + 1), last) : parse_port(a->text, len, last)) < 0) {
		cf_error(c->err, &a->pos, SECTION,
			 "%s: \"%s\" is not a port (1 to 65535) or a range of ports (5000-5010)", n->keyword,
			 a->text);
		return -1;
	}
	if (*first > *last) {
		cf_error(c->err, &a->pos, SECTION, "%s: \"%s\": the first port is above the last", n->keyword,
			 a->text);
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------------- forward */

static const struct addr_class {
	uint32_t first, last;
	const char *what, *block;
} not_unicast[] = {
	{0x00000000, 0x00ffffff, "\"this network\"", "0.0.0.0/8"},
	{0x7f000000, 0x7fffffff, "loopback", "127.0.0.0/8"},
	{0xe0000000, 0xefffffff, "multicast", "224.0.0.0/4"},
	/* before 240/4, which holds it: the better name */
	{0xffffffff, 0xffffffff, "broadcast", "255.255.255.255"},
	{0xf0000000, 0xffffffff, "reserved", "240.0.0.0/4"},
};

/* A forward's target is a host: DNAT to any of these reaches nobody. */
static int target_unicast(struct ctx *c, const struct cf_arg *a, struct in_addr to)
{
	for (size_t i = 0; i < sizeof(not_unicast) / sizeof(not_unicast[0]); i++) {
		const struct addr_class *k = &not_unicast[i];

		if (h32(to) < k->first || h32(to) > k->last)
			continue;
		cf_error(c->err, &a->pos, SECTION, "forward: \"%s\" is a %s address (%s)", a->text, k->what,
			 k->block);
		return -1;
	}
	return 0;
}

/* The ADDRESS of "ADDRESS[:PORT]" (LEN bytes at S) into *TO. */
static int parse_target_addr(const char *s, size_t len, struct in_addr *to)
{
	char addr[INET_ADDRSTRLEN];

	if (len >= sizeof(addr))
		return -1;
	memcpy(addr, s, len);
	addr[len] = '\0';
	return cf_parse_ipv4(addr, to);
}

/* "ADDRESS" or "ADDRESS:PORT" from argument 2 of N; the target port
 * defaults to F->first, and the whole range must fit below 65536. */
static int arg_target(struct ctx *c, const struct cf_node *n, struct nat_forward *f)
{
	const struct cf_arg *a = &n->args[2];
	const char *colon = strchr(a->text, ':');
	size_t len = colon ? (size_t)(colon - a->text) : strlen(a->text);
	uint32_t end;

	if (parse_target_addr(a->text, len, &f->to) < 0) {
		cf_error(c->err, &a->pos, SECTION,
			 "forward: \"%s\" is not a target (ADDRESS or ADDRESS:PORT: 192.168.1.10, "
			 "192.168.1.10:80)",
			 a->text);
		return -1;
	}
	f->to_port = f->first;
	if (colon && parse_port(colon + 1, strlen(colon + 1), &f->to_port) < 0) {
		cf_error(c->err, &a->pos, SECTION,
			 "forward: \"%s\": the port is not a number from 1 to 65535", a->text);
		return -1;
	}
	if (target_unicast(c, a, f->to) < 0)
		return -1;
	end = (uint32_t)f->to_port + (f->last - f->first);
	if (end > 65535) {
		cf_error(c->err, &a->pos, SECTION,
			 "forward: \"%s\": the %u ports of %u-%u would end at port %u, past 65535", a->text,
			 f->last - f->first + 1u, f->first, f->last, end);
		return -1;
	}
	return 0;
}

static void do_forward(struct ctx *c, const struct cf_node *n)
{
	struct nat_config *nc = c->nc;
	struct nat_forward f = {.pos = n->pos};
	size_t ports;
	bool ok;

	if (!under_cap(c, &n->pos, "forward", nc->nforwards, NAT_MAX_FORWARDS, &c->fwd_full))
		return;
	ok = arg_proto(c, n, &f.proto) == 0;
	if (arg_ports(c, n, &f.first, &f.last) < 0 || arg_target(c, n, &f) < 0 || !ok)
		return;
	ports = f.last - f.first + 1u;
	if (nc->forward_ports + ports > NAT_MAX_FORWARD_PORTS || c->ports_full) {
		if (!c->ports_full)
			cf_error(c->err, &n->args[1].pos, SECTION,
				 "forward: too many ports forwarded (at most %d in all)",
				 NAT_MAX_FORWARD_PORTS);
		c->ports_full = true;
		return;
	}
	nc->forward_ports += ports;
	c->fwd_nodes[nc->nforwards] = n;
	nc->forwards[nc->nforwards++] = f;
}

/* ------------------------------------------------------------------ open */

static void do_open(struct ctx *c, const struct cf_node *n)
{
	struct nat_config *nc = c->nc;
	struct nat_open o = {.pos = n->pos};
	bool ok;

	if (!under_cap(c, &n->pos, "open", nc->nopen, NAT_MAX_OPEN, &c->open_full))
		return;
	ok = arg_proto(c, n, &o.proto) == 0;
	if (arg_ports(c, n, &o.first, &o.last) < 0 || !ok)
		return;
	c->open_nodes[nc->nopen] = n;
	nc->open[nc->nopen++] = o;
}

/* ---------------------------------------------------------- pcp-lifetime */

static int lifetime_arg(struct ctx *c, const struct cf_node *n, size_t i, uint32_t *out)
{
	uint64_t v;

	if (cf_arg_duration(n, i, SECTION, c->err, &v) < 0)
		return -1;
	if (v < NAT_PCP_LIFETIME_FLOOR || v > NAT_PCP_LIFETIME_CEIL) {
		cf_error(c->err, &n->args[i].pos, SECTION, "pcp-lifetime: \"%s\" is out of range (1s to 7d)",
			 n->args[i].text);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static void do_pcp_lifetime(struct ctx *c, const struct cf_node *n)
{
	uint32_t min, max;
	int rc = lifetime_arg(c, n, 0, &min);

	if (lifetime_arg(c, n, 1, &max) < 0 || rc < 0)
		return;
	if (min > max) {
		cf_error(c->err, &n->args[1].pos, SECTION,
			 "pcp-lifetime: the longest lifetime \"%s\" is shorter than the shortest \"%s\"",
			 n->args[1].text, n->args[0].text);
		return;
	}
	c->nc->pcp_lifetime_min = min;
	c->nc->pcp_lifetime_max = max;
}

/* ---------------------------------------------------------------- spans */

/* An external range of a forward or an open, for finding overlaps. */
struct span {
	enum nat_proto proto;
	uint16_t first, last;
	size_t idx; /* file order */
};

static int cmp_span(const void *pa, const void *pb)
{
	const struct span *a = pa, *b = pb;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Mark the later (in file order) of spans A and B as overlapping the
 * earlier, unless it already names one. */
static void mark_overlap(size_t *other, const struct span *a, const struct span *b)
{
	const struct span *later = a->idx > b->idx ? a : b, *earlier = later == a ? b : a;

	if (a->proto == b->proto && a->first <= b->last && b->first <= a->last &&
	    other[later->idx] == SIZE_MAX)
		other[later->idx] = earlier->idx;
}

/* OTHER[i]: a span that span i (of N, in file order) overlaps and that
 * comes earlier in the file, or SIZE_MAX. One sweep over the sorted spans,
 * each compared with the one reaching furthest so far and with its
 * predecessor: every group of overlapping spans is reported, each span at
 * most once, in O(n log n) however many there are. */
static size_t *find_overlaps(struct ctx *c, struct span *s, size_t n)
{
	size_t *other = zalloc(c, n, sizeof(*other)), reach = 0;

	if (!other)
		return NULL;
	for (size_t i = 0; i < n; i++)
		other[i] = SIZE_MAX;
	qsort(s, n, sizeof(*s), cmp_span);
	for (size_t i = 1; i < n; i++) {
		if (s[i].proto != s[reach].proto) {
			reach = i;
			continue;
		}
		mark_overlap(other, &s[i], &s[i - 1]);
		mark_overlap(other, &s[i], &s[reach]);
		if (s[i].last > s[reach].last)
			reach = i;
	}
	return other;
}

/* Overlaps among N statements (their range in argument 1), reported at
 * the later one in file order. */
static void report_overlaps(struct ctx *c, const struct cf_node *const *nodes, struct span *s, size_t n)
{
	struct span *by_idx = zalloc(c, n, sizeof(*by_idx));
	size_t *other;
	char ref[REF_MAX], a[SPAN_TEXT_MAX], b[SPAN_TEXT_MAX];

	if (!by_idx)
		return;
	memcpy(by_idx, s, n * sizeof(*s));
	other = find_overlaps(c, s, n);
	for (size_t i = 0; other && i < n; i++) {
		const struct cf_arg *arg = &nodes[i]->args[1];
		const struct span *x = &by_idx[i], *y;

		if (other[i] == SIZE_MAX)
			continue;
		y = &by_idx[other[i]];
		cf_pos_ref(&nodes[other[i]]->pos, &arg->pos, ref, sizeof(ref));
		span_text(x->proto, x->first, x->last, a);
		if (x->first == y->first && x->last == y->last)
			cf_error(c->err, &arg->pos, SECTION, "%s: %s is given more than once (first at %s)",
				 nodes[i]->keyword, a, ref);
		else
			cf_error(c->err, &arg->pos, SECTION, "%s: %s overlaps %s (%s)", nodes[i]->keyword, a,
				 span_text(y->proto, y->first, y->last, b), ref);
	}
	free(other);
	free(by_idx);
}

static void check_overlaps(struct ctx *c)
{
	const struct nat_config *nc = c->nc;
	size_t n = nc->nforwards > nc->nopen ? nc->nforwards : nc->nopen;
	struct span *s = zalloc(c, n, sizeof(*s));

	if (!s)
		return;
	for (size_t i = 0; i < nc->nforwards; i++)
		s[i] = (struct span){nc->forwards[i].proto, nc->forwards[i].first, nc->forwards[i].last, i};
	report_overlaps(c, c->fwd_nodes, s, nc->nforwards);
	for (size_t i = 0; i < nc->nopen; i++)
		s[i] = (struct span){nc->open[i].proto, nc->open[i].first, nc->open[i].last, i};
	report_overlaps(c, c->open_nodes, s, nc->nopen);
	free(s);
}

static int cmp_forward(const void *pa, const void *pb)
{
	const struct nat_forward *a = pa, *b = pb;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return (a->first > b->first) - (a->first < b->first);
}

static int cmp_open(const void *pa, const void *pb)
{
	const struct nat_open *a = pa, *b = pb;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return (a->first > b->first) - (a->first < b->first);
}

/* The forward with the greatest (proto, first) <= (PROTO, PORT), or NULL. */
static const struct nat_forward *forward_at_or_below(const struct nat_config *nc, enum nat_proto proto,
						     uint16_t port)
{
	size_t lo = 0, hi = nc->nforwards;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct nat_forward *f = &nc->forwards[mid];

		if (f->proto < proto || (f->proto == proto && f->first <= port))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && nc->forwards[lo - 1].proto == proto ? &nc->forwards[lo - 1] : NULL;
}

const struct nat_forward *nat_config_forward(const struct nat_config *nc, enum nat_proto proto, uint16_t port)
{
	const struct nat_forward *f = nc ? forward_at_or_below(nc, proto, port) : NULL;

	return f && port <= f->last ? f : NULL;
}

/* An open port goes to the router, a forwarded one to a LAN host: the
 * DNAT at prerouting would win, so `open` could never take effect.
 * Forwards are sorted and (when no error was reported) disjoint: the one
 * starting last at or below the open's end is the only candidate. */
static void check_open_forwarded(struct ctx *c)
{
	const struct nat_config *nc = c->nc;
	char ref[REF_MAX], a[SPAN_TEXT_MAX], b[SPAN_TEXT_MAX];

	for (size_t i = 0; i < nc->nopen; i++) {
		const struct nat_open *o = &nc->open[i];
		const struct nat_forward *f = forward_at_or_below(nc, o->proto, o->last);
		const struct cf_arg *arg = &c->open_nodes[i]->args[1];

		if (!f || f->last < o->first)
			continue;
		cf_error(c->err, &arg->pos, SECTION,
			 "open: %s is forwarded too (%s, %s): a port goes to the router or to a forward, "
			 "not both",
			 span_text(o->proto, o->first, o->last, a), span_text(f->proto, f->first, f->last, b),
			 cf_pos_ref(&f->pos, &arg->pos, ref, sizeof(ref)));
	}
}

/* ------------------------------------------------------------------ LAN */

static int cmp_str(const void *pa, const void *pb)
{
	return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int cmp_lan(const void *pa, const void *pb)
{
	const struct lan_dev *a = pa, *b = pb;

	return strcmp(a->device, b->device);
}

/* The names of every `dhcp NAME` and `dhcp-relay NAME` section, sorted
 * (remote `dhcp SUBNET` scopes start with a digit: no interface of ours).
 * Undefined names and duplicates are the dhcp module's and the core's
 * errors: only looked up here. */
static const char **dhcp_names(struct ctx *c, size_t *n)
{
	const struct cf_node *root = c->cfg->tree->root;
	const char **names = zalloc(c, cf_count(root, "dhcp", false) + cf_count(root, "dhcp-relay", false), sizeof(*names));

	*n = 0;
	if (!names)
		return NULL;
	for (const struct cf_node *s = root; s; s = s->next)
		if ((strcmp(s->keyword, "dhcp") == 0 || strcmp(s->keyword, "dhcp-relay") == 0) && s->nargs &&
		    isalpha((unsigned char)s->args[0].text[0]))
			names[(*n)++] = s->args[0].text;
	qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

/* c->lan, and nc->lan_devices from it: the interfaces with a dhcp scope
 * or relay that are not masqueraded, by device, sorted and unique. */
static void find_lan(struct ctx *c)
{
	struct nat_config *nc = c->nc;
	size_t nnames, n = 0;
	const char **names = dhcp_names(c, &nnames);

	c->lan = zalloc(c, c->cfg->nifaces, sizeof(*c->lan));
	if (!names || !c->lan)
		goto out;
	for (size_t i = 0; i < c->cfg->nifaces; i++) {
		struct gw_iface_cfg *ifc = &c->cfg->ifaces[i];

		if (!ifc->device || is_masq_device(nc, ifc->device) ||
		    !bsearch(&ifc->name, names, nnames, sizeof(*names), cmp_str))
			continue;
		/* PCP listens there */
		if (nc->pcp)
			ifc->used = true;
		c->lan[n++] = (struct lan_dev){ifc->device, ifc->name};
	}
	qsort(c->lan, n, sizeof(*c->lan), cmp_lan);
	nc->lan_devices = zalloc(c, n, sizeof(*nc->lan_devices));
	for (size_t i = 0; nc->lan_devices && i < n; i++) {
		if (c->nlan && strcmp(c->lan[c->nlan - 1].device, c->lan[i].device) == 0)
			continue;
		c->lan[c->nlan] = c->lan[i];
		nc->lan_devices[c->nlan++] = c->lan[i].device;
	}
	nc->nlan_devices = c->nlan;
out:
	free(names);
}

/* --------------------------------------------------- live: LAN subnets */

struct range {
	uint32_t first, last;
};

static int cmp_range(const void *pa, const void *pb)
{
	const struct range *a = pa, *b = pb;

	return (a->first > b->first) - (a->first < b->first);
}

/* The LAN subnets in force (merged, sorted) and their text for messages
 * ("lan: 192.168.1.1/24, guest: 10.20.0.1/24"). */
struct lan_nets {
	struct range *r;
	size_t n;
	char text[LAN_TEXT_MAX];
	bool cut; /* text ends in " ..." */
};

/* PIECE at the end of LN's text while it fits, then " ..." once. */
static void text_add(struct lan_nets *ln, const char *piece)
{
	size_t len = strlen(ln->text), plen = strlen(piece);

	if (ln->cut)
		return;
	if (len + plen + sizeof(" ...") <= sizeof(ln->text)) {
		memcpy(ln->text + len, piece, plen + 1);
		return;
	}
	memcpy(ln->text + len, " ...", sizeof(" ..."));
	ln->cut = true;
}

/* D's addresses as IFC has them now: "lan: 192.168.1.1/24 10.1.0.1/16". */
static void lan_iface_nets(struct lan_nets *ln, const struct lan_dev *d, const struct gw_iface *ifc)
{
	for (size_t k = 0; k < ifc->naddrs && k < GW_IFACE_MAX_ADDRS; k++) {
		const struct gw_iface_addr *ad = &ifc->addrs[k];
		uint8_t len = ad->prefixlen <= 32 ? ad->prefixlen : 32;
		uint32_t net = h32(ad->addr) & mask_of(len);
		char a[INET_ADDRSTRLEN], piece[96];

		inet_ntop(AF_INET, &ad->addr, a, sizeof(a));
		if (k)
			snprintf(piece, sizeof(piece), " %s/%u", a, len);
		else
			snprintf(piece, sizeof(piece), "%s%s: %s/%u", ln->text[0] ? ", " : "", d->iface, a,
				 len);
		text_add(ln, piece);
		ln->r[ln->n++] = (struct range){net, net | ~mask_of(len)};
	}
}

/* 0, or -1 when out of memory. LN->n == 0: no LAN device has an address. */
static int lan_nets_get(struct ctx *c, const struct gw_iface_table *t, struct lan_nets *ln)
{
	size_t merged = 0;

	ln->n = 0;
	ln->text[0] = '\0';
	ln->cut = false;
	ln->r = zalloc(c, c->nlan * GW_IFACE_MAX_ADDRS, sizeof(*ln->r));
	if (!ln->r)
		return -1;
	for (size_t i = 0; i < c->nlan; i++) {
		const struct gw_iface *ifc = gw_iface_by_name(t, c->lan[i].device);

		if (ifc)
			lan_iface_nets(ln, &c->lan[i], ifc);
	}
	qsort(ln->r, ln->n, sizeof(*ln->r), cmp_range);
	for (size_t i = 0; i < ln->n; i++) {
		if (merged && ln->r[i].first <= ln->r[merged - 1].last) {
			if (ln->r[i].last > ln->r[merged - 1].last)
				ln->r[merged - 1].last = ln->r[i].last;
		} else {
			ln->r[merged++] = ln->r[i];
		}
	}
	ln->n = merged;
	return 0;
}

static bool in_nets(const struct lan_nets *ln, uint32_t x)
{
	size_t lo = 0, hi = ln->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ln->r[mid].first <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && x <= ln->r[lo - 1].last;
}

/* On a reload: a forward must point into a subnet the LAN has now. With
 * no LAN address at all (links down, a bridge not up yet) nothing can be
 * said, and a start must not fail on it either: then the module logs. */
static void check_live(struct ctx *c)
{
	const struct nat_config *nc = c->nc;
	struct lan_nets ln;
	char a[INET_ADDRSTRLEN];

	if (!c->cfg->live_ifaces || lan_nets_get(c, c->cfg->live_ifaces, &ln) < 0)
		return;
	for (size_t i = 0; ln.n && i < nc->nforwards; i++) {
		if (in_nets(&ln, h32(nc->forwards[i].to)))
			continue;
		inet_ntop(AF_INET, &nc->forwards[i].to, a, sizeof(a));
		cf_error(c->err, &c->fwd_nodes[i]->args[2].pos, SECTION,
			 "forward: %s is in no LAN subnet (%s)", a, ln.text);
	}
	free(ln.r);
}

/* ------------------------------------------------------------ the rest */

enum {
	K_MASQUERADE,
	K_FORWARD,
	K_HAIRPIN,
	K_FIREWALL,
	K_OPEN,
	K_PCP,
	K_PCP_LIFETIME,
	K_END,
};

static const struct cf_keyword nat_kws[] = {
	[K_MASQUERADE] = {"masquerade", 1, 1, false, true},
	[K_FORWARD] = {"forward", 3, 3, false, true},
	[K_HAIRPIN] = {"hairpin", 1, 1, false, false},
	[K_FIREWALL] = {"firewall", 1, 1, false, false},
	[K_OPEN] = {"open", 2, 2, false, true},
	[K_PCP] = {"pcp", 1, 1, false, false},
	[K_PCP_LIFETIME] = {"pcp-lifetime", 2, 2, false, false},
	[K_END] = {NULL, 0, 0, false, false},
};

static void stmt(void *data, size_t k, const struct cf_node *n)
{
	struct ctx *c = data;

	struct nat_config *nc = c->nc;

	switch (k) {
	case K_MASQUERADE:
		do_masquerade(c, n);
		break;
	case K_FORWARD:
		do_forward(c, n);
		break;
	case K_HAIRPIN:
		cf_arg_bool(n, 0, SECTION, c->err, &nc->hairpin);
		break;
	case K_FIREWALL:
		cf_arg_bool(n, 0, SECTION, c->err, &nc->firewall);
		break;
	case K_OPEN:
		do_open(c, n);
		break;
	case K_PCP:
		cf_arg_bool(n, 0, SECTION, c->err, &nc->pcp);
		break;
	default:
		do_pcp_lifetime(c, n);
		break;
	}
}

static void set_defaults(struct nat_config *nc)
{
	nc->hairpin = nc->firewall = true;
	nc->pcp = false;
	nc->pcp_lifetime_min = NAT_PCP_LIFETIME_MIN_DEFAULT;
	nc->pcp_lifetime_max = NAT_PCP_LIFETIME_MAX_DEFAULT;
}

static void alloc_arrays(struct ctx *c, const struct cf_node *sec)
{
	struct nat_config *nc = c->nc;
	size_t fwd = cf_count(sec->children, "forward", false), open = cf_count(sec->children, "open", false);

	fwd = fwd < NAT_MAX_FORWARDS ? fwd : NAT_MAX_FORWARDS;
	open = open < NAT_MAX_OPEN ? open : NAT_MAX_OPEN;
	nc->masq = zalloc(c, NAT_MAX_MASQUERADE, sizeof(*nc->masq));
	nc->forwards = zalloc(c, fwd, sizeof(*nc->forwards));
	c->fwd_nodes = zalloc(c, fwd, sizeof(*c->fwd_nodes));
	nc->open = zalloc(c, open, sizeof(*nc->open));
	c->open_nodes = zalloc(c, open, sizeof(*c->open_nodes));
}

/* The rules between statements, once all are read. */
static void check_section(struct ctx *c, const struct cf_node *sec)
{
	const struct cf_node *open = cf_find(sec->children, "open"), *pcp = cf_find(sec->children, "pcp");
	struct nat_config *nc = c->nc;

	/* a masquerade statement, even a bad one, answers this; a section
	 * without its block has had its error */
	if (sec->block && !cf_find(sec->children, "masquerade"))
		cf_error(c->err, &sec->pos, SECTION, "masquerade: at least one interface is needed");
	find_lan(c);
	check_overlaps(c);
	if (c->oom)
		return;
	check_live(c);
	qsort(nc->forwards, nc->nforwards, sizeof(*nc->forwards), cmp_forward);
	check_open_forwarded(c);
	qsort(nc->open, nc->nopen, sizeof(*nc->open), cmp_open);
	if (open && !nc->firewall)
		cf_warning(c->err, &open->pos, SECTION,
			   "open: has no effect with firewall no (nothing from the WAN is dropped)");
	if (nc->pcp && c->nlan == 0)
		cf_error(c->err, &pcp->args[0].pos, SECTION,
			 "pcp: no LAN interface to answer on (an interface with a dhcp scope or a "
			 "dhcp-relay, not masqueraded)");
}

static void load_section(struct ctx *c, const struct cf_node *sec)
{
	static const struct cf_keyword nat_kw = {"nat", 0, 0, true, false};

	cf_check_node(sec, NULL, &nat_kw, c->err);
	cf_check_keywords(sec->children, SECTION, nat_kws, c->err);
	alloc_arrays(c, sec);
	if (c->oom)
		return;
	cf_for_each_good(sec->children, nat_kws, stmt, c, &c->oom);
	if (!c->oom)
		check_section(c, sec);
}

int nat_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	/* a second nat section is the core's error: the first one counts */
	const struct cf_node *sec = cf_find(cfg->tree->root, "nat");
	struct ctx c = {.cfg = cfg, .err = err};

	*mod_cfg = NULL;
	if (!sec)
		return 0;
	c.nc = zalloc(&c, 1, sizeof(*c.nc));
	if (!c.nc)
		return -ENOMEM;
	set_defaults(c.nc);
	load_section(&c, sec);
	free(c.fwd_nodes);
	free(c.open_nodes);
	free(c.lan);
	if (c.oom) {
		nat_config_free(c.nc);
		return -ENOMEM;
	}
	*mod_cfg = c.nc;
	return 0;
}

void nat_config_free(void *p)
{
	struct nat_config *nc = p;

	if (!nc)
		return;
	free(nc->masq);
	free(nc->forwards);
	free(nc->open);
	free(nc->lan_devices);
	free(nc);
}

/* ------------------------------------------------------------ compare */

static bool same_masq(const struct nat_config *a, const struct nat_config *b)
{
	if (a->nmasq != b->nmasq)
		return false;
	/* devices are unique in each: equal counts and A within B is equality */
	for (size_t i = 0; i < a->nmasq; i++)
		if (!is_masq_device(b, a->masq[i].device))
			return false;
	return true;
}

static bool same_open(const struct nat_config *a, const struct nat_config *b)
{
	if (a->nopen != b->nopen)
		return false;
	/* both sorted by (proto, first) */
	for (size_t i = 0; i < a->nopen; i++)
		if (a->open[i].proto != b->open[i].proto || a->open[i].first != b->open[i].first ||
		    a->open[i].last != b->open[i].last)
			return false;
	return true;
}

bool nat_config_same_shape(const struct nat_config *a, const struct nat_config *b)
{
	if (!a || !b)
		return a == b;
	return a->hairpin == b->hairpin && a->firewall == b->firewall && a->pcp == b->pcp &&
	       same_masq(a, b) && same_open(a, b);
}
