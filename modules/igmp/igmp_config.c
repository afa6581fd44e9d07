/* igmp_config.c — the `igmp-proxy` section (CONFIG.md) into a struct
 * igmp_config, with every rule that can be checked from the file.
 *
 * Decisions this file makes for the language:
 *  - exactly one `upstream` (RFC 4605 1.1: a proxy has a single upstream
 *    interface) and at least one `downstream`; a downstream is never the
 *    upstream, by name or by device, and no link is named twice: each is
 *    one VIF and one querier.
 *  - query-interval is above the fixed 10 s query response interval
 *    (RFC 3376 8.3: "must be less than the Query Interval"), so at least
 *    11 s, and at most what QQIC can say (31744 s, 4.1.7).
 *  - last-member-interval is whole seconds, 1s to 25s: the v2 Max Response
 *    Time byte (tenths) ends at 25.5 s, and a version 3 querier still
 *    serves v2 hosts.
 *  - robustness 1 loads with a warning (RFC 3376 8.1: SHOULD NOT be one).
 *  - `allow` takes multicast prefixes (inside 224.0.0.0/4) or single
 *    groups; one wholly inside 224.0.0.0/24 is an error (RFC 5771 4: never
 *    forwarded, so it could not take effect); one covering it is fine, the
 *    lookup leaves the block out. Overlapping allows merge; the same prefix
 *    twice is an error.
 *
 * A file is hostile: every list is bounded (igmp_config.h) and duplicate
 * allows are found by sorting, never by comparing every pair. */
#include "igmp_config.h"

#include "core_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION "igmp-proxy"
#define REF_MAX 256

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
	struct igmp_config *ic;
	bool oom;
	const struct cf_arg **allow_args; /* parallel to ic->allow */
	bool down_full, allow_full;
};

static void *zalloc(struct ctx *c, size_t n, size_t size) { return cf_zalloc(&c->oom, n, size); }

static bool under_cap(struct ctx *c, const struct cf_pos *pos, const char *keyword, size_t have, size_t cap,
		      bool *full)
{
	return cf_under_cap(c->err, pos, SECTION, keyword, have, cap, full);
}

/* ------------------------------------------------- statements of a block */

/* -------------------------------------------------- upstream, downstream */

/* The `interface` argument 0 of N names, or NULL after the error. WHAT
 * completes the message when it is no name at all. */
static const struct gw_iface_cfg *link_iface(struct ctx *c, const struct cf_node *n, const char *what)
{
	const struct cf_arg *a = &n->args[0];
	char section[CF_LABEL_MAX];
	const struct gw_iface_cfg *ifc;

	/* interface names start with a letter: an address here is a misreading
	 * of the keyword, and "define it" would be the wrong advice */
	if (!isalpha((unsigned char)a->text[0])) {
		cf_error(c->err, &a->pos, SECTION, "%s: \"%s\" is not an interface name (%s %s)", n->keyword,
			 a->text, n->keyword, what);
		return NULL;
	}
	snprintf(section, sizeof(section), SECTION ": %s", n->keyword);
	ifc = gw_config_iface_ref(c->cfg, a, section, c->err);
	/* no device: the interface section has its own error */
	return ifc && ifc->device ? ifc : NULL;
}

static void do_upstream(struct ctx *c, const struct cf_node *n)
{
	const struct gw_iface_cfg *ifc = link_iface(c, n, "wan: the interface the multicast comes from");

	if (ifc)
		c->ic->upstream = (struct igmp_iface){
			.iface = n->args[0].text, .device = ifc->device, .pos = n->args[0].pos};
}

/* 0 when IFC may be another downstream link: not the upstream, not named
 * twice, not a second name for a device already downstream. */
static int downstream_unique(struct ctx *c, const struct cf_arg *a, const struct gw_iface_cfg *ifc)
{
	const struct igmp_config *ic = c->ic;
	char ref[REF_MAX];

	if (ic->upstream.iface && strcmp(ic->upstream.device, ifc->device) == 0) {
		cf_pos_ref(&ic->upstream.pos, &a->pos, ref, sizeof(ref));
		if (strcmp(ic->upstream.iface, a->text) == 0)
			cf_error(c->err, &a->pos, SECTION, "downstream: \"%s\" is the upstream (%s)", a->text,
				 ref);
		else
			cf_error(c->err, &a->pos, SECTION,
				 "downstream: \"%s\" is device %s, the upstream's (\"%s\", %s)", a->text,
				 ifc->device, ic->upstream.iface, ref);
		return -1;
	}
	for (size_t i = 0; i < ic->ndownstream; i++) {
		const struct igmp_iface *d = &ic->downstream[i];

		cf_pos_ref(&d->pos, &a->pos, ref, sizeof(ref));
		if (strcmp(d->iface, a->text) == 0) {
			cf_error(c->err, &a->pos, SECTION,
				 "downstream: \"%s\" is given more than once (first at %s)", a->text, ref);
			return -1;
		}
		if (strcmp(d->device, ifc->device) == 0) {
			cf_error(c->err, &a->pos, SECTION,
				 "downstream: \"%s\" is device %s, downstream already as \"%s\" (%s)",
				 a->text, ifc->device, d->iface, ref);
			return -1;
		}
	}
	return 0;
}

static void do_downstream(struct ctx *c, const struct cf_node *n)
{
	struct igmp_config *ic = c->ic;
	const struct cf_arg *a = &n->args[0];
	const struct gw_iface_cfg *ifc;

	if (!under_cap(c, &a->pos, "downstream", ic->ndownstream, IGMP_MAX_DOWNSTREAM, &c->down_full))
		return;
	ifc = link_iface(c, n, "lan: a link with receivers");
	if (!ifc || downstream_unique(c, a, ifc) < 0)
		return;
	ic->downstream[ic->ndownstream++] =
		(struct igmp_iface){.iface = a->text, .device = ifc->device, .pos = a->pos};
}

/* --------------------------------------------------------------- values */

static void do_version(struct ctx *c, const struct cf_node *n)
{
	const struct cf_arg *a = &n->args[0];

	if (strcmp(a->text, "2") == 0 || strcmp(a->text, "3") == 0)
		c->ic->version = a->text[0] - '0';
	else
		cf_error(c->err, &a->pos, SECTION, "version: \"%s\" is not 2 or 3", a->text);
}

/* Argument 0 of N as whole seconds in MIN..MAX. */
static int seconds_arg(struct ctx *c, const struct cf_node *n, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (cf_arg_duration(n, 0, SECTION, c->err, &v) < 0)
		return -1;
	if (v < min || v > max) {
		cf_error(c->err, &n->args[0].pos, SECTION, "%s: \"%s\" is out of range (%us to %us)",
			 n->keyword, n->args[0].text, min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static void do_robustness(struct ctx *c, const struct cf_node *n)
{
	uint64_t v;

	if (cf_arg_uint(n, 0, SECTION, c->err, IGMP_ROBUSTNESS_MIN, IGMP_ROBUSTNESS_MAX, &v) < 0)
		return;
	c->ic->robustness = (uint8_t)v;
	if (v == 1)
		cf_warning(c->err, &n->args[0].pos, SECTION,
			   "robustness: 1 leaves no room for a lost packet (RFC 3376 8.1: should not be 1)");
}

/* ---------------------------------------------------------------- allow */

/* "PREFIX" (cf_arg_prefix's rules) or "GROUP" (a /32) into *P. */
static int allow_prefix(struct ctx *c, const struct cf_node *n, struct igmp_prefix *p)
{
	const struct cf_arg *a = &n->args[0];

	if (strchr(a->text, '/'))
		return cf_arg_prefix(n, 0, SECTION, c->err, &p->net, &p->len);
	if (cf_parse_ipv4(a->text, &p->net) == 0) {
		p->len = 32;
		return 0;
	}
	cf_error(c->err, &a->pos, SECTION,
		 "allow: \"%s\" is not a multicast prefix or group (239.0.0.0/8, 239.255.0.1)", a->text);
	return -1;
}

static void do_allow(struct ctx *c, const struct cf_node *n)
{
	struct igmp_config *ic = c->ic;
	const struct cf_arg *a = &n->args[0];
	struct igmp_prefix p = {.pos = a->pos};
	uint32_t first, last;

	if (!under_cap(c, &a->pos, "allow", ic->nallow, IGMP_MAX_ALLOW, &c->allow_full) ||
	    allow_prefix(c, n, &p) < 0)
		return;
	first = h32(p.net);
	last = first | ~mask_of(p.len);
	if (first < IGMP_MCAST_FIRST || last > IGMP_MCAST_LAST) {
		cf_error(c->err, &a->pos, SECTION, "allow: \"%s\" is not inside 224.0.0.0/4 (multicast)",
			 a->text);
		return;
	}
	if (last <= IGMP_LOCAL_LAST) {
		cf_error(c->err, &a->pos, SECTION,
			 "allow: \"%s\" is inside 224.0.0.0/24, which is never proxied (RFC 5771 4: local "
			 "network control, not forwarded)",
			 a->text);
		return;
	}
	c->allow_args[ic->nallow] = a;
	ic->allow[ic->nallow++] = p;
}

/* By (net, len, file order): equal prefixes next to each other, the first
 * given first. */
static int cmp_allow(const void *pa, const void *pb, void *arg)
{
	const struct igmp_prefix *v = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	uint32_t a = h32(v[ia].net), b = h32(v[ib].net);

	if (a != b)
		return a < b ? -1 : 1;
	if (v[ia].len != v[ib].len)
		return v[ia].len < v[ib].len ? -1 : 1;
	return (ia > ib) - (ia < ib);
}

/* The same prefix twice, reported at the later one in file order. */
static void allow_duplicates(struct ctx *c)
{
	const struct igmp_config *ic = c->ic;
	size_t *idx = zalloc(c, ic->nallow, sizeof(*idx)), *first = zalloc(c, ic->nallow, sizeof(*first));
	char ref[REF_MAX];

	if (c->oom)
		goto out;
	for (size_t i = 0; i < ic->nallow; i++) {
		idx[i] = i;
		first[i] = SIZE_MAX;
	}
	qsort_r(idx, ic->nallow, sizeof(*idx), cmp_allow, ic->allow);
	for (size_t i = 1, g = 0; i < ic->nallow; i++) {
		if (ic->allow[idx[i]].net.s_addr == ic->allow[idx[g]].net.s_addr &&
		    ic->allow[idx[i]].len == ic->allow[idx[g]].len)
			first[idx[i]] = idx[g];
		else
			g = i;
	}
	for (size_t i = 0; i < ic->nallow; i++) {
		const struct cf_arg *a = c->allow_args[i];

		if (first[i] != SIZE_MAX)
			cf_error(c->err, &a->pos, SECTION,
				 "allow: \"%s\" is given more than once (first at %s)", a->text,
				 cf_pos_ref(&c->allow_args[first[i]]->pos, &a->pos, ref, sizeof(ref)));
	}
out:
	free(idx);
	free(first);
}

/* The ranges igmp_config_allowed() searches: sorted by start, overlapping
 * and adjacent ones merged; without allow, all of 224.0.0.0/4. */
static void allow_ranges(struct ctx *c)
{
	struct igmp_config *ic = c->ic;
	struct cf_range *r = zalloc(c, ic->nallow ? ic->nallow : 1, sizeof(*r));

	if (!r)
		return;
	ic->allow_ranges = r;
	if (!ic->nallow) {
		r[0] = (struct cf_range){IGMP_MCAST_FIRST, IGMP_MCAST_LAST};
		ic->nallow_ranges = 1;
		return;
	}
	for (size_t i = 0; i < ic->nallow; i++)
		r[i] = (struct cf_range){h32(ic->allow[i].net),
					   h32(ic->allow[i].net) | ~mask_of(ic->allow[i].len)};
	ic->nallow_ranges = cf_ranges_merge(r, ic->nallow);
}

bool igmp_config_allowed(const struct igmp_config *ic, struct in_addr group)
{
	uint32_t x = h32(group);

	if (!ic || x < IGMP_MCAST_FIRST || x > IGMP_MCAST_LAST || x <= IGMP_LOCAL_LAST)
		return false;
	return cf_ranges_contain(ic->allow_ranges, ic->nallow_ranges, x);
}

/* ------------------------------------------------------------ the rest */

enum {
	K_UPSTREAM,
	K_DOWNSTREAM,
	K_VERSION,
	K_QUICKLEAVE,
	K_ALLOW,
	K_QUERY_INTERVAL,
	K_LAST_MEMBER_INTERVAL,
	K_ROBUSTNESS,
	K_END,
};

static const struct cf_keyword igmp_kws[] = {
	[K_UPSTREAM] = {"upstream", 1, 1, false, false},
	[K_DOWNSTREAM] = {"downstream", 1, 1, false, true},
	[K_VERSION] = {"version", 1, 1, false, false},
	[K_QUICKLEAVE] = {"quickleave", 1, 1, false, false},
	[K_ALLOW] = {"allow", 1, 1, false, true},
	[K_QUERY_INTERVAL] = {"query-interval", 1, 1, false, false},
	[K_LAST_MEMBER_INTERVAL] = {"last-member-interval", 1, 1, false, false},
	[K_ROBUSTNESS] = {"robustness", 1, 1, false, false},
	[K_END] = {NULL, 0, 0, false, false},
};

static void stmt(void *data, size_t k, const struct cf_node *n)
{
	struct ctx *c = data;

	struct igmp_config *ic = c->ic;

	switch (k) {
	case K_UPSTREAM: /* read before the others: downstream compares with it */
		break;
	case K_DOWNSTREAM:
		do_downstream(c, n);
		break;
	case K_VERSION:
		do_version(c, n);
		break;
	case K_QUICKLEAVE:
		cf_arg_bool(n, 0, SECTION, c->err, &ic->quickleave);
		break;
	case K_ALLOW:
		do_allow(c, n);
		break;
	case K_QUERY_INTERVAL:
		seconds_arg(c, n, IGMP_QUERY_INTERVAL_MIN, IGMP_QUERY_INTERVAL_MAX, &ic->query_interval);
		break;
	case K_LAST_MEMBER_INTERVAL:
		seconds_arg(c, n, IGMP_LAST_MEMBER_INTERVAL_MIN, IGMP_LAST_MEMBER_INTERVAL_MAX,
			    &ic->last_member_interval);
		break;
	default:
		do_robustness(c, n);
		break;
	}
}

static void set_defaults(struct igmp_config *ic)
{
	ic->version = IGMP_VERSION_DEFAULT;
	ic->quickleave = false;
	ic->query_interval = IGMP_QUERY_INTERVAL_DEFAULT;
	ic->last_member_interval = IGMP_LAST_MEMBER_INTERVAL_DEFAULT;
	ic->robustness = IGMP_ROBUSTNESS_DEFAULT;
}

static void alloc_arrays(struct ctx *c, const struct cf_node *sec)
{
	struct igmp_config *ic = c->ic;
	size_t allow = cf_count(sec->children, "allow", false);

	allow = allow < IGMP_MAX_ALLOW ? allow : IGMP_MAX_ALLOW;
	ic->downstream = zalloc(c, IGMP_MAX_DOWNSTREAM, sizeof(*ic->downstream));
	ic->allow = zalloc(c, allow, sizeof(*ic->allow));
	c->allow_args = zalloc(c, allow, sizeof(*c->allow_args));
}

/* The upstream, first: a downstream before it in the file is compared
 * with it too. A repeat or a bad shape has had cf_check_keywords' error. */
static void read_upstream(struct ctx *c, const struct cf_node *sec)
{
	const struct cf_node *up = cf_find(sec->children, "upstream");

	if (up && cf_shape_ok(up, &igmp_kws[K_UPSTREAM]))
		do_upstream(c, up);
}

/* A statement there, even a bad one, answers "missing": its error is out. */
static void check_required(struct ctx *c, const struct cf_node *sec)
{
	if (!sec->block)
		return; /* the section's own error */
	if (!cf_find(sec->children, "upstream"))
		cf_error(c->err, &sec->pos, SECTION,
			 "missing \"upstream IFACE\": the interface the multicast comes from");
	if (!cf_find(sec->children, "downstream"))
		cf_error(c->err, &sec->pos, SECTION,
			 "missing \"downstream IFACE\": at least one link with receivers");
}

static void load_section(struct ctx *c, const struct cf_node *sec)
{
	static const struct cf_keyword section_kw = {SECTION, 0, 0, true, false};

	cf_check_node(sec, NULL, &section_kw, c->err);
	cf_check_keywords(sec->children, SECTION, igmp_kws, c->err);
	alloc_arrays(c, sec);
	if (c->oom)
		return;
	read_upstream(c, sec);
	cf_for_each_good(sec->children, igmp_kws, stmt, c, &c->oom);
	check_required(c, sec);
	if (!c->oom)
		allow_duplicates(c);
	if (!c->oom)
		allow_ranges(c);
}

int igmp_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	/* a second igmp-proxy section is the core's error: the first one counts */
	const struct cf_node *sec = cf_find(cfg->tree->root, SECTION);
	struct ctx c = {.cfg = cfg, .err = err};

	*mod_cfg = NULL;
	if (!sec)
		return 0;
	c.ic = zalloc(&c, 1, sizeof(*c.ic));
	if (!c.ic)
		return -ENOMEM;
	set_defaults(c.ic);
	load_section(&c, sec);
	free(c.allow_args);
	if (c.oom) {
		igmp_config_free(c.ic);
		return -ENOMEM;
	}
	*mod_cfg = c.ic;
	return 0;
}

void igmp_config_free(void *p)
{
	struct igmp_config *ic = p;

	if (!ic)
		return;
	free(ic->downstream);
	free(ic->allow);
	free(ic->allow_ranges);
	free(ic);
}
