/* igmp.c — the igmp module: the RFC 4605 proxy. Downstream links run the
 * router side of IGMP (igmp_db.h) over the multicast routing socket
 * (igmp_mroute.h); the merged membership of all links is expressed on the
 * upstream interface as socket source filters, so the kernel reports it
 * upstream; (S,G) forwarding entries are installed on the kernel's upcall
 * for traffic from the upstream side and updated at once when a link's
 * membership changes; entries whose counters stop moving are removed.
 *
 * Interfaces come and go through the core iface table: a VIF per present
 * device, a querier per downstream device with an address. Stopping drops
 * every VIF and entry (MRT_DONE): a restart starts clean. */
#include "igmp.h"

#include "control.h"
#include "core_config.h"
#include "gw.h"
#include "igmp_config.h"
#include "igmp_db.h"
#include "igmp_mroute.h"
#include "igmp_packet.h"
#include "iface.h"
#include "log.h"
#include "module.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_IDLE_CHECK_MS 20000 /* an entry whose counters did not move over this is removed */
#define MAX_ROUTES 4096

struct down {
	struct igmp_state *st;
	const struct igmp_iface *cfg;
	int ifindex; /* 0: the device is absent */
	int vif;     /* -1: none */
	struct in_addr addr;
	struct igmp_link *link; /* NULL until the device has an address */
	uv_timer_t timer;
	bool timer_open;
};

struct route {
	struct in_addr src, grp;
	uint32_t out;
	uint64_t last_packets;
};

struct group_up {
	struct in_addr grp;
	struct igmp_filter f; /* what the upstream socket says */
};

struct igmp_state {
	struct gw *gw;
	const struct igmp_config *cfg;
	struct igmp_mroute *mr;
	struct igmp_budget budget;
	int up_ifindex, up_vif;
	struct down **downs; /* each freed when its timer has closed */
	size_t ndowns;
	struct route *routes;
	size_t nroutes, caproutes;
	struct group_up *ups;
	size_t nups, capups;
	uv_timer_t idle;
	int iface_sub;
	int handles;
	bool stopping;
	size_t max_msf;
	uint64_t upcalls_ignored, parse_drops, routes_expired;
};

static uint64_t now_ms(const struct igmp_state *st) { return uv_now(st->gw->loop); }

static void unref(struct igmp_state *st)
{
	if (--st->handles == 0 && st->stopping)
		free(st);
}

static void handle_closed(uv_handle_t *h) { unref(h->data); }

static const char *ntoa(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ---- links ---- */

static struct igmp_link *const *all_links(const struct igmp_state *st, struct igmp_link **v, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < st->ndowns; i++)
		if (st->downs[i]->link)
			v[(*n)++] = st->downs[i]->link;
	return (struct igmp_link *const *)v;
}

static struct down *down_of_link(struct igmp_state *st, const struct igmp_link *l)
{
	for (size_t i = 0; i < st->ndowns; i++)
		if (st->downs[i]->link == l)
			return st->downs[i];
	return NULL;
}

/* ---- routes (MFC) ---- */

static uint32_t out_mask(struct igmp_state *st, struct in_addr grp, struct in_addr src)
{
	uint32_t out = 0;
	uint64_t now = now_ms(st);

	for (size_t i = 0; i < st->ndowns; i++) {
		struct down *d = st->downs[i];

		if (d->link && d->vif >= 0 && igmp_link_wants(d->link, grp, src, now))
			out |= 1u << d->vif;
	}
	return out;
}

static void route_remove(struct igmp_state *st, size_t i)
{
	(void)igmp_mroute_del_mfc(st->mr, st->routes[i].src, st->routes[i].grp);
	st->routes[i] = st->routes[--st->nroutes];
}

/* Membership of GRP changed: every entry of the group follows at once,
 * including those with no outgoing link yet (a source seen before anyone
 * joined): the kernel upcalls an (S,G) once and then queues quietly for
 * 10 s, so waiting for the next upcall would delay a join that long. An
 * entry with no outgoing link drops; it goes when its source goes quiet. */
static void routes_update(struct igmp_state *st, struct in_addr grp)
{
	for (size_t i = 0; i < st->nroutes; i++) {
		struct route *r = &st->routes[i];
		uint32_t out;

		if (r->grp.s_addr != grp.s_addr)
			continue;
		out = out_mask(st, grp, r->src);
		if (out != r->out && igmp_mroute_set_mfc(st->mr, r->src, grp, st->up_vif, out) == 0)
			r->out = out;
	}
}

static void on_nocache(void *data, int vif, struct in_addr src, struct in_addr grp)
{
	struct igmp_state *st = data;
	uint32_t out;
	struct route *r;

	/* RFC 4605 4.2: only what comes from the upstream side is forwarded */
	if (st->up_vif < 0 || vif != st->up_vif || !igmp_config_allowed(st->cfg, grp)) {
		st->upcalls_ignored++;
		return;
	}
	for (size_t i = 0; i < st->nroutes; i++)
		if (st->routes[i].src.s_addr == src.s_addr && st->routes[i].grp.s_addr == grp.s_addr)
			return; /* already there: an upcall that crossed the install */
	out = out_mask(st, grp, src); /* maybe none yet: see routes_update */
	if (st->nroutes >= MAX_ROUTES) {
		st->upcalls_ignored++;
		return;
	}
	if (st->nroutes == st->caproutes) {
		size_t nc = st->caproutes ? st->caproutes * 2 : 16;
		struct route *v = realloc(st->routes, nc * sizeof(*v));

		if (!v)
			return;
		st->routes = v;
		st->caproutes = nc;
	}
	if (igmp_mroute_set_mfc(st->mr, src, grp, vif, out) < 0)
		return;
	r = &st->routes[st->nroutes++];
	*r = (struct route){src, grp, out, 0};
}

static void on_idle_check(uv_timer_t *t)
{
	struct igmp_state *st = t->data;

	for (size_t i = 0; i < st->nroutes;) {
		struct route *r = &st->routes[i];
		uint64_t p, b, w;

		if (igmp_mroute_counters(st->mr, r->src, r->grp, &p, &b, &w) == 0 && p == r->last_packets) {
			st->routes_expired++; /* the source went quiet: a new packet brings a new upcall */
			route_remove(st, i);
			continue;
		}
		r->last_packets = p;
		i++;
	}
}

/* ---- upstream membership ---- */

static struct group_up *up_find(struct igmp_state *st, struct in_addr grp)
{
	for (size_t i = 0; i < st->nups; i++)
		if (st->ups[i].grp.s_addr == grp.s_addr)
			return &st->ups[i];
	return NULL;
}

static void upstream_update(struct igmp_state *st, struct in_addr grp)
{
	struct igmp_link *v[IGMP_MAX_DOWNSTREAM + 1];
	size_t n;
	struct igmp_filter f;
	struct group_up *u = up_find(st, grp);
	int rc;

	igmp_filter_init(&f);
	all_links(st, v, &n);
	if (igmp_merge(v, n, grp, now_ms(st), &f) < 0) {
		igmp_filter_free(&f);
		return;
	}
	/* a source list longer than the kernel takes: EXCLUDE {} forwards a superset */
	if (f.nsrc > st->max_msf) {
		f.exclude = true;
		f.nsrc = 0;
	}
	if (u && igmp_filter_equal(&u->f, &f)) {
		igmp_filter_free(&f);
		return;
	}
	if (st->up_ifindex > 0) {
		rc = igmp_mroute_upstream(st->mr, st->up_ifindex, grp, f.exclude, f.srcs, f.nsrc);
		if (rc < 0) {
			char g[INET_ADDRSTRLEN];

			gw_warn("igmp: upstream membership of %s: %s", ntoa(grp, g), strerror(-rc));
		}
	}
	if (!f.exclude && f.nsrc == 0) { /* no member left */
		igmp_filter_free(&f);
		if (u) {
			igmp_filter_free(&u->f);
			*u = st->ups[--st->nups];
		}
		return;
	}
	if (!u) {
		if (st->nups == st->capups) {
			size_t nc = st->capups ? st->capups * 2 : 16;
			struct group_up *nv = realloc(st->ups, nc * sizeof(*nv));

			if (!nv) {
				igmp_filter_free(&f);
				return;
			}
			st->ups = nv;
			st->capups = nc;
		}
		u = &st->ups[st->nups++];
		u->grp = grp;
		igmp_filter_init(&u->f);
	}
	igmp_filter_free(&u->f);
	u->f = f;
}

/* Every group again (the upstream interface came back). */
static void upstream_all(struct igmp_state *st)
{
	for (size_t i = 0; i < st->ndowns; i++) {
		const struct igmp_group *g = NULL;

		while (st->downs[i]->link && (g = igmp_link_group_next(st->downs[i]->link, g))) {
			struct igmp_group_info gi;

			igmp_group_info(g, now_ms(st), &gi);
			upstream_update(st, gi.group);
		}
	}
}

/* ---- link callbacks ---- */

static void on_send_query(void *ctx, struct igmp_link *l, const struct igmp_query *q)
{
	struct igmp_state *st = ctx;
	struct down *d = down_of_link(st, l);
	uint8_t buf[12 + 4 * IGMP_V3_MAX_SOURCES];
	struct in_addr dst = q->group;
	size_t len;

	if (!d || !d->ifindex)
		return;
	len = igmp_build_query(buf, sizeof(buf), q->version, q->group, q->srcs, q->nsrc, q->max_resp_ms, q->s_flag,
			       q->qrv, q->qqi_s);
	if (!dst.s_addr)
		dst.s_addr = htonl(0xe0000001); /* RFC 3376 4.1.12: general queries to 224.0.0.1 */
	if (len)
		(void)igmp_mroute_send(st->mr, d->ifindex, d->addr, dst, buf, len);
}

static void on_changed(void *ctx, struct igmp_link *l, struct in_addr grp)
{
	struct igmp_state *st = ctx;

	(void)l;
	upstream_update(st, grp);
	routes_update(st, grp);
}

static void on_querier(void *ctx, struct igmp_link *l, bool us, struct in_addr addr)
{
	struct igmp_state *st = ctx;
	struct down *d = down_of_link(st, l);
	char a[INET_ADDRSTRLEN];

	gw_info("igmp: %s: %s querier (%s)", d ? d->cfg->iface : "?", us ? "we are" : "another router is",
		ntoa(addr, a));
}

static bool on_allow(void *ctx, struct in_addr grp)
{
	struct igmp_state *st = ctx;

	return igmp_config_allowed(st->cfg, grp);
}

static const struct igmp_link_ops link_ops = {on_send_query, on_changed, on_querier, on_allow};

static void on_link_timer(uv_timer_t *t);

static void arm(struct down *d)
{
	uint64_t dl = igmp_link_deadline(d->link), now = now_ms(d->st);

	if (dl == IGMP_NEVER) {
		uv_timer_stop(&d->timer);
		return;
	}
	uv_timer_start(&d->timer, on_link_timer, dl > now ? dl - now : 0, 0);
}

static void on_link_timer(uv_timer_t *t)
{
	struct down *d = t->data;

	if (!d->link)
		return;
	(void)igmp_link_timers(d->link, now_ms(d->st));
	arm(d);
}

static void link_params(const struct igmp_state *st, const struct down *d, struct igmp_link_params *p)
{
	const struct igmp_config *ic = st->cfg;

	igmp_link_params_default(p);
	p->version = ic->version;
	p->robustness = ic->robustness;
	p->query_interval_ms = ic->query_interval * 1000u;
	p->query_response_ms = IGMP_QUERY_RESPONSE_INTERVAL * 1000u;
	p->last_member_ms = ic->last_member_interval * 1000u;
	p->quickleave = ic->quickleave;
	p->addr = d->addr;
	p->max_groups = IGMP_MAX_LINK_GROUPS;
	p->max_sources = IGMP_MAX_GROUP_SOURCES;
	p->budget = (struct igmp_budget *)&st->budget;
}

/* The link's groups leave with it: the upstream and the routes follow. */
static void link_drop(struct igmp_state *st, struct down *d)
{
	struct in_addr *groups;
	size_t n = 0;
	const struct igmp_group *g = NULL;

	if (!d->link)
		return;
	groups = calloc(igmp_link_group_count(d->link) + 1, sizeof(*groups));
	while (groups && (g = igmp_link_group_next(d->link, g))) {
		struct igmp_group_info gi;

		igmp_group_info(g, now_ms(st), &gi);
		groups[n++] = gi.group;
	}
	igmp_link_free(d->link);
	d->link = NULL;
	uv_timer_stop(&d->timer);
	for (size_t i = 0; i < n; i++) {
		upstream_update(st, groups[i]);
		routes_update(st, groups[i]);
	}
	free(groups);
}

/* RFC 2236 / 3376: the router listens to 224.0.0.2 (v2 leaves) and
 * 224.0.0.22 (v3 reports) on its downstream links. */
static void join_router_groups(struct igmp_state *st, int ifindex)
{
	int rc = igmp_mroute_join_local(st->mr, ifindex);

	if (rc < 0)
		gw_warn("igmp: cannot listen for reports on interface %d: %s", ifindex, strerror(-rc));
}

/* Bring a downstream link in step with its device: VIF, address, querier. */
static void down_sync(struct igmp_state *st, struct down *d)
{
	const struct gw_iface *ifc = gw_iface_by_name(st->gw->ifaces, d->cfg->device);
	struct in_addr addr = {0};

	if (!ifc) {
		link_drop(st, d);
		if (d->vif >= 0)
			(void)igmp_mroute_del_vif(st->mr, d->ifindex);
		d->vif = -1;
		d->ifindex = 0;
		return;
	}
	if (d->ifindex != ifc->ifindex) {
		link_drop(st, d);
		if (d->vif >= 0)
			(void)igmp_mroute_del_vif(st->mr, d->ifindex);
		d->ifindex = ifc->ifindex;
		d->vif = igmp_mroute_add_vif(st->mr, ifc->ifindex);
		if (d->vif < 0)
			gw_err("igmp: %s: cannot add a multicast interface: %s", d->cfg->device, strerror(-d->vif));
		join_router_groups(st, ifc->ifindex);
	}
	if (ifc->naddrs)
		addr = ifc->addrs[0].addr;
	if (!addr.s_addr) {
		link_drop(st, d);
		return;
	}
	if (d->link && addr.s_addr == d->addr.s_addr)
		return;
	d->addr = addr;
	if (d->link) {
		struct igmp_link_params p;

		link_params(st, d, &p);
		(void)igmp_link_reconfigure(d->link, &p, now_ms(st));
	} else {
		struct igmp_link_params p;

		link_params(st, d, &p);
		if (igmp_link_new(&p, &link_ops, st, now_ms(st), &d->link) < 0) {
			gw_err("igmp: %s: cannot start the querier", d->cfg->device);
			return;
		}
	}
	arm(d);
}

static void up_sync(struct igmp_state *st)
{
	const struct gw_iface *ifc = gw_iface_by_name(st->gw->ifaces, st->cfg->upstream.device);
	int ifindex = ifc ? ifc->ifindex : 0;

	if (ifindex == st->up_ifindex)
		return;
	/* gone or replaced: its VIF, memberships and routes go */
	for (size_t i = st->nroutes; i-- > 0;)
		route_remove(st, i);
	igmp_mroute_upstream_reset(st->mr);
	for (size_t i = 0; i < st->nups; i++)
		igmp_filter_free(&st->ups[i].f);
	st->nups = 0;
	if (st->up_vif >= 0)
		(void)igmp_mroute_del_vif(st->mr, st->up_ifindex);
	st->up_vif = -1;
	st->up_ifindex = ifindex;
	if (!ifindex)
		return;
	st->up_vif = igmp_mroute_add_vif(st->mr, ifindex);
	if (st->up_vif < 0) {
		gw_err("igmp: upstream %s: cannot add a multicast interface: %s", ifc->name, strerror(-st->up_vif));
		return;
	}
	upstream_all(st);
}

static void on_iface(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *addr)
{
	struct igmp_state *st = data;

	(void)ev;
	(void)addr;
	if (st->stopping)
		return;
	if (strcmp(ifc->name, st->cfg->upstream.device) == 0)
		up_sync(st);
	for (size_t i = 0; i < st->ndowns; i++)
		if (strcmp(ifc->name, st->downs[i]->cfg->device) == 0)
			down_sync(st, st->downs[i]);
}

/* ---- packets ---- */

static void on_packet(void *data, const uint8_t *pkt, size_t len, int ifindex)
{
	struct igmp_state *st = data;
	struct igmp_msg m;

	for (size_t i = 0; i < st->ndowns; i++) {
		struct down *d = st->downs[i];

		if (d->ifindex != ifindex || !d->link)
			continue;
		if (igmp_parse(pkt, len, &m) != IGMP_OK) {
			st->parse_drops++;
			return;
		}
		igmp_link_input(d->link, &m, now_ms(st));
		arm(d);
		return;
	}
	/* upstream: the kernel answers the upstream router from our sockets */
}

static const struct igmp_mroute_ops mroute_ops = {on_packet, on_nocache};

/* ---- rp_filter ---- */

static int read_int(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* RFC 4605 leaves it to the router; Linux drops multicast whose source has no
 * route back through the interface when rp_filter is strict (1): say so. */
static void check_rp_filter(const struct igmp_state *st)
{
	char path[128];
	int all = read_int("/proc/sys/net/ipv4/conf/all/rp_filter"), dev;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", st->cfg->upstream.device);
	dev = read_int(path);
	if ((all > dev ? all : dev) == 1)
		gw_warn("igmp: rp_filter is strict (1) on %s: multicast from sources not routed through it is "
			"dropped by the kernel (set net.ipv4.conf.%s.rp_filter=2 or 0)",
			st->cfg->upstream.device, st->cfg->upstream.device);
}

/* ---- command ---- */

static json_t *jaddr(struct in_addr a)
{
	char b[INET_ADDRSTRLEN];

	return json_string(ntoa(a, b));
}

static json_t *group_json(const struct igmp_group *g, uint64_t now)
{
	struct igmp_group_info gi;
	struct igmp_source_info si;
	json_t *o = json_object(), *srcs = json_array(), *hosts = json_array();
	struct in_addr h;
	uint64_t hexp;

	igmp_group_info(g, now, &gi);
	for (size_t i = 0; igmp_group_source(g, i, now, &si); i++) {
		json_t *s = json_object();

		json_object_set_new(s, "source", jaddr(si.addr));
		json_object_set_new(s, "expires_in", json_integer((json_int_t)(si.expires_ms / 1000)));
		json_object_set_new(s, "forwarded", json_boolean(si.forwarded));
		json_array_append_new(srcs, s);
	}
	for (size_t i = 0; igmp_group_host(g, i, now, &h, &hexp); i++)
		json_array_append_new(hosts, jaddr(h));
	json_object_set_new(o, "group", jaddr(gi.group));
	json_object_set_new(o, "mode", json_string(gi.exclude ? "exclude" : "include"));
	json_object_set_new(o, "sources", srcs);
	json_object_set_new(o, "members", json_integer((json_int_t)gi.nhosts));
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "expires_in", json_integer((json_int_t)(gi.expires_ms / 1000)));
	json_object_set_new(o, "compat_version", json_integer(gi.compat));
	return o;
}

static void cmd_igmp(struct gw_request *req, int argc, char **argv, void *data)
{
	struct igmp_state *st = data;
	json_t *o = json_object(), *links = json_array(), *routes = json_array();
	uint64_t now = now_ms(st);

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < st->ndowns; i++) {
		struct down *d = st->downs[i];
		json_t *l = json_object(), *groups = json_array();

		json_object_set_new(l, "interface", json_string(d->cfg->iface));
		if (d->link) {
			struct igmp_querier_info qi;
			const struct igmp_group *g = NULL;

			igmp_link_querier(d->link, now, &qi);
			json_object_set_new(l, "querier", jaddr(qi.addr));
			json_object_set_new(l, "querier_is_us", json_boolean(qi.us));
			json_object_set_new(l, "next_query_in", json_integer((json_int_t)(qi.next_query_ms / 1000)));
			while ((g = igmp_link_group_next(d->link, g)))
				json_array_append_new(groups, group_json(g, now));
		} else {
			json_object_set_new(l, "querier", json_null());
			json_object_set_new(l, "state", json_string(d->ifindex ? "no address" : "absent"));
		}
		json_object_set_new(l, "groups", groups);
		json_array_append_new(links, l);
	}
	for (size_t i = 0; i < st->nroutes; i++) {
		struct route *r = &st->routes[i];
		json_t *x = json_object(), *outs = json_array();
		uint64_t p = 0, b = 0, w = 0;

		(void)igmp_mroute_counters(st->mr, r->src, r->grp, &p, &b, &w);
		for (size_t k = 0; k < st->ndowns; k++)
			if (st->downs[k]->vif >= 0 && (r->out >> st->downs[k]->vif & 1))
				json_array_append_new(outs, json_string(st->downs[k]->cfg->iface));
		json_object_set_new(x, "source", jaddr(r->src));
		json_object_set_new(x, "group", jaddr(r->grp));
		json_object_set_new(x, "packets", json_integer((json_int_t)p));
		json_object_set_new(x, "bytes", json_integer((json_int_t)b));
		json_object_set_new(x, "interfaces", outs);
		json_array_append_new(routes, x);
	}
	json_object_set_new(o, "upstream", json_string(st->cfg->upstream.iface));
	json_object_set_new(o, "upstream_present", json_boolean(st->up_vif >= 0));
	json_object_set_new(o, "links", links);
	json_object_set_new(o, "routes", routes);
	json_object_set_new(o, "upcalls_ignored", json_integer((json_int_t)st->upcalls_ignored));
	json_object_set_new(o, "routes_expired", json_integer((json_int_t)st->routes_expired));
	gw_request_ok(req, o);
}

static const struct gw_command igmp_commands[] = {
	{.name = "igmp", .min_args = 0, .max_args = 0, .usage = "igmp", .fn = cmd_igmp},
};

/* ---- the module ---- */

static int downs_make(struct igmp_state *st)
{
	st->downs = calloc(st->cfg->ndownstream ? st->cfg->ndownstream : 1, sizeof(*st->downs));
	if (!st->downs)
		return -ENOMEM;
	for (size_t i = 0; i < st->cfg->ndownstream; i++) {
		struct down *d = calloc(1, sizeof(*d));

		if (!d)
			return -ENOMEM; /* those made so far are in st->downs[0..ndowns) */
		d->st = st;
		d->cfg = &st->cfg->downstream[i];
		d->vif = -1;
		uv_timer_init(st->gw->loop, &d->timer);
		d->timer.data = d;
		d->timer_open = true;
		st->handles++;
		st->downs[st->ndowns++] = d;
	}
	return 0;
}

static void down_timer_closed(uv_handle_t *h)
{
	struct down *d = h->data;
	struct igmp_state *st = d->st;

	free(d);
	unref(st);
}

/* The link goes (no callbacks), the timer closes and frees D. */
static void down_close(struct igmp_state *st, struct down *d)
{
	(void)st;
	if (d->link)
		igmp_link_free(d->link);
	d->link = NULL;
	if (d->timer_open) {
		d->timer_open = false;
		uv_close((uv_handle_t *)&d->timer, down_timer_closed);
	}
}

static void mroute_closed(void *data) { unref(data); }

static int igmp_start(struct gw *gw, const void *cfg, void **state)
{
	struct igmp_state *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->gw = gw;
	st->cfg = cfg;
	st->up_vif = -1;
	st->budget.max_groups = IGMP_MAX_GROUPS;
	st->max_msf = 10;
	{
		int msf = read_int("/proc/sys/net/ipv4/igmp_max_msf");

		if (msf > 0)
			st->max_msf = (size_t)msf;
	}
	rc = igmp_mroute_open(gw->loop, &mroute_ops, st, &st->mr);
	if (rc < 0) {
		if (rc == -EADDRINUSE)
			gw_err("igmp: another multicast router (igmpproxy, smcroute, pimd ...) holds this system's "
			       "multicast routing (MRT_INIT): stop it first");
		else
			gw_err("igmp: multicast routing socket: %s", strerror(-rc));
		free(st);
		return rc;
	}
	st->handles = 1; /* the mroute socket */
	uv_timer_init(gw->loop, &st->idle);
	st->idle.data = st;
	st->handles++;
	uv_timer_start(&st->idle, on_idle_check, ROUTE_IDLE_CHECK_MS, ROUTE_IDLE_CHECK_MS);
	if ((rc = downs_make(st)) < 0) {
		st->stopping = true;
		for (size_t i = 0; i < st->ndowns; i++)
			down_close(st, st->downs[i]);
		free(st->downs);
		uv_close((uv_handle_t *)&st->idle, handle_closed);
		igmp_mroute_close(st->mr, mroute_closed, st);
		return rc;
	}
	check_rp_filter(st);
	up_sync(st);
	for (size_t i = 0; i < st->ndowns; i++)
		down_sync(st, st->downs[i]);
	st->iface_sub = gw_iface_subscribe(gw->ifaces, on_iface, st);
	gw_info("igmp: upstream %s%s, %zu downstream link%s, IGMPv%d querier", st->cfg->upstream.iface,
		st->up_vif < 0 ? " (absent for now)" : "", st->ndowns, st->ndowns == 1 ? "" : "s", st->cfg->version);
	*state = st;
	return 0;
}

static void stop_all(struct igmp_state *st)
{
	st->stopping = true;
	gw_iface_unsubscribe(st->gw->ifaces, st->iface_sub);
	for (size_t i = 0; i < st->ndowns; i++)
		down_close(st, st->downs[i]);
	free(st->downs);
	st->downs = NULL;
	st->ndowns = 0;
	for (size_t i = 0; i < st->nups; i++)
		igmp_filter_free(&st->ups[i].f);
	free(st->ups);
	free(st->routes);
	st->ups = NULL;
	st->routes = NULL;
	st->nups = st->nroutes = 0;
	uv_close((uv_handle_t *)&st->idle, handle_closed);
	/* MRT_DONE: the kernel drops every VIF and entry (no stale routes) */
	igmp_mroute_close(st->mr, mroute_closed, st);
}

static void igmp_stop(struct gw *gw, void *state)
{
	(void)gw;
	stop_all(state);
}

/* A reload: links of devices kept keep their groups (their parameters
 * change in place); others come or go; the upstream follows its device. */
static int igmp_reload(struct gw *gw, void *state, const void *old_cfg, const void *new_cfg)
{
	struct igmp_state *st = state;
	const struct igmp_config *nc = new_cfg;
	struct down **old = st->downs;
	size_t nold = st->ndowns;

	(void)gw;
	if (!nc)
		return 0; /* stop() follows */
	st->cfg = nc;
	st->downs = NULL;
	st->ndowns = 0;
	if (downs_make(st) < 0) {
		for (size_t i = 0; i < st->ndowns; i++)
			down_close(st, st->downs[i]);
		free(st->downs);
		st->downs = old;
		st->ndowns = nold;
		st->cfg = old_cfg;
		return -ENOMEM;
	}
	for (size_t i = 0; i < st->ndowns; i++) {
		struct down *d = st->downs[i];

		for (size_t k = 0; k < nold; k++) {
			if (!old[k]->cfg || strcmp(old[k]->cfg->device, d->cfg->device) != 0)
				continue;
			/* take the old link over */
			d->ifindex = old[k]->ifindex;
			d->vif = old[k]->vif;
			d->addr = old[k]->addr;
			d->link = old[k]->link;
			old[k]->link = NULL;
			old[k]->vif = -1;
			old[k]->cfg = NULL;
			if (d->link) {
				struct igmp_link_params p;

				link_params(st, d, &p);
				(void)igmp_link_reconfigure(d->link, &p, now_ms(st));
			}
		}
	}
	for (size_t k = 0; k < nold; k++) {
		if (old[k]->link)
			link_drop(st, old[k]);
		if (old[k]->vif >= 0)
			(void)igmp_mroute_del_vif(st->mr, old[k]->ifindex);
		down_close(st, old[k]);
	}
	free(old);
	up_sync(st);
	for (size_t i = 0; i < st->ndowns; i++)
		down_sync(st, st->downs[i]);
	/* groups outside the new allow ranges leave */
	for (size_t i = 0; i < st->ndowns; i++) {
		struct igmp_link *l = st->downs[i]->link;
		const struct igmp_group *g = NULL;
		struct in_addr *gone;
		size_t n = 0;

		if (!l || !(gone = calloc(igmp_link_group_count(l) + 1, sizeof(*gone))))
			continue;
		while ((g = igmp_link_group_next(l, g))) {
			struct igmp_group_info gi;

			igmp_group_info(g, now_ms(st), &gi);
			if (!igmp_config_allowed(nc, gi.group))
				gone[n++] = gi.group;
		}
		for (size_t k = 0; k < n; k++)
			igmp_link_forget(l, gone[k]);
		free(gone);
	}
	return 0;
}

static void igmp_summary(void *state, char *buf, size_t len)
{
	struct igmp_state *st = state;
	size_t groups = 0;

	for (size_t i = 0; i < st->ndowns; i++)
		if (st->downs[i]->link)
			groups += igmp_link_group_count(st->downs[i]->link);
	snprintf(buf, len, "%zu downstream link%s, %zu group membership%s, %zu forwarding entr%s", st->ndowns,
		 st->ndowns == 1 ? "" : "s", groups, groups == 1 ? "" : "s", st->nroutes, st->nroutes == 1 ? "y" : "ies");
}

static const char *const igmp_sections[] = {"igmp-proxy", NULL};

const struct gw_module igmp_module = {
	.name = "igmp",
	.sections = igmp_sections,
	.configure = igmp_configure,
	.start = igmp_start,
	.reload = igmp_reload,
	.stop = igmp_stop,
	.free_config = igmp_config_free,
	.summary = igmp_summary,
	.commands = igmp_commands,
	.ncommands = sizeof(igmp_commands) / sizeof(igmp_commands[0]),
};
