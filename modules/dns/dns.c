/* dns.c — the dns module: the config in force, the listeners, the cache,
 * the resolver, the local names, and the control commands (`dns stats`,
 * `dns cache [NAME]`, `dns flush [NAME]`).
 *
 * The cache and the resolver's knowledge of servers outlive reloads; a
 * reload re-declares the listeners (those still wanted are kept, sockets and
 * all), re-reads root hints and the hosts file, and swaps the static names. */
#include "dns.h"

#include "control.h"
#include "core_config.h"
#include "dns_cache.h"
#include "dns_config.h"
#include "dns_hints.h"
#include "dns_net.h"
#include "dns_query.h"
#include "dns_resolve.h"
#include "dns_wire.h"
#include "gw.h"
#include "iface.h"
#include "log.h"
#include "module.h"
#include "names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DNS_STALE_MAX (24 * 3600) /* RFC 8767 5: 1 to 3 days is suggested */
#define HOSTS_FILE_MAX (4u << 20)

struct dns_state {
	struct gw *gw;
	const struct dns_config *cfg;
	struct dns_cache *cache;
	struct dns_resolver *resolver;
	struct dns_net *net;
	struct dns_hints hints;
	int iface_sub;
	struct dns_req *reqs; /* waiting for the resolver */
	size_t nreqs;
	/* counters for `dns stats` */
	uint64_t queries, dropped, local, stale_answers;
	uint64_t rcodes[6]; /* NOERROR..REFUSED */
	uint64_t rcode_other;
	bool stopping;
};

/* A client query waiting for the resolver. */
struct dns_req {
	struct dns_resolve_wait wait;
	struct dns_state *st;
	struct dns_net_peer peer;
	struct dns_query q;
	struct dns_req *next, *prev;
	size_t len;
	uint8_t pkt[]; /* the query as received: q.m points into it */
};

static uint32_t mono_s(const struct dns_state *st) { return (uint32_t)(uv_now(st->gw->loop) / 1000); }

static void count_rcode(struct dns_state *st, uint16_t rcode)
{
	if (rcode < 6)
		st->rcodes[rcode]++;
	else
		st->rcode_other++;
}

/* ---- the ACL ---- */

static bool in_subnet(struct in_addr a, const struct gw_iface_addr *ia)
{
	uint32_t mask = ia->prefixlen ? htonl(~0u << (32 - ia->prefixlen)) : 0;

	return ((a.s_addr ^ ia->addr.s_addr) & mask) == 0;
}

static bool on_iface_subnet(const struct gw_iface *ifc, struct in_addr a)
{
	for (size_t i = 0; ifc && i < ifc->naddrs; i++)
		if (in_subnet(a, &ifc->addrs[i]))
			return true;
	return false;
}

static const struct gw_iface *arrival_iface(const struct dns_state *st, const struct dns_net_peer *p)
{
	const struct gw_iface *ifc;
	size_t cursor = 0;

	if (p->ifindex)
		return gw_iface_by_index(st->gw->ifaces, p->ifindex);
	while ((ifc = gw_iface_next(st->gw->ifaces, &cursor)))
		for (size_t i = 0; i < ifc->naddrs; i++)
			if (ifc->addrs[i].addr.s_addr == p->local.s_addr)
				return ifc;
	return NULL;
}

/* CONFIG.md: the default ACL is the listen subnets and loopback. A query is
 * answered when it comes from a subnet of the interface it arrived on and
 * that interface is one we listen on (or any, for a 0.0.0.0 listener). */
static bool allowed(const struct dns_state *st, const struct dns_net_peer *p)
{
	const struct dns_config *dc = st->cfg;
	const struct gw_iface *ifc;

	if (dc->nallow)
		return dns_config_allowed(dc, p->addr.sin_addr);
	if ((ntohl(p->addr.sin_addr.s_addr) >> 24) == 127)
		return true;
	ifc = arrival_iface(st, p);
	if (!ifc || !on_iface_subnet(ifc, p->addr.sin_addr))
		return false;
	for (size_t i = 0; i < dc->nlisten; i++) {
		const struct dns_listen *l = &dc->listen[i];

		if (l->device ? strcmp(l->device, ifc->name) == 0 : l->addr.s_addr == INADDR_ANY)
			return true;
		if (!l->device)
			for (size_t k = 0; k < ifc->naddrs; k++)
				if (ifc->addrs[k].addr.s_addr == l->addr.s_addr)
					return true;
	}
	return false;
}

/* ---- queries ---- */

static void env_of(const struct dns_state *st, struct dns_query_env *env, bool allow)
{
	*env = (struct dns_query_env){st->cfg, st->cache, st->gw->names, mono_s(st), time(NULL), allow};
}

static void req_unlink(struct dns_req *r)
{
	struct dns_state *st = r->st;

	if (r->prev)
		r->prev->next = r->next;
	else
		st->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	st->nreqs--;
}

static void req_finish(struct dns_req *r, const uint8_t *msg, size_t len)
{
	struct dns_state *st = r->st;

	if (len && !dns_net_peer_gone(&r->peer)) {
		count_rcode(st, r->q.rcode);
		dns_net_reply(st->net, &r->peer, msg, len);
	}
	dns_net_peer_release(&r->peer);
	req_unlink(r);
	free(r);
}

static void on_resolved(struct dns_resolve_wait *w, int rcode, const struct dns_cache_entry *e)
{
	struct dns_req *r = container_of(w, struct dns_req, wait);
	struct dns_state *st = r->st;
	struct dns_query_env env;
	uint8_t out[DNS_NET_UDP_MAX];
	size_t len;

	env_of(st, &env, true);
	if (e) {
		len = dns_query_answer(&env, &r->q, e, false, out, sizeof(out));
	} else {
		/* RFC 8767 4: answer stale data only when refreshing failed */
		enum dns_cache_state cs = DNS_CACHE_MISS;
		struct dns_cache_entry *old = NULL;

		if (st->cfg->serve_stale && !st->stopping)
			old = dns_cache_get(st->cache, &r->q.m.qname, r->q.m.qtype, DNS_CLASS_IN, DNS_RANK_ANSWER,
					    env.now, &cs);
		if (old && cs == DNS_CACHE_STALE) {
			st->stale_answers++;
			len = dns_query_answer(&env, &r->q, old, true, out, sizeof(out));
		} else {
			len = dns_query_error(&env, &r->q, (uint16_t)(rcode ? rcode : DNS_RCODE_SERVFAIL), out,
					      sizeof(out));
		}
	}
	/* TCP answers may be larger than a UDP buffer: the query's limit said
	 * 65535, but OUT holds 4096; a bigger answer over TCP is cut with TC and
	 * the client asks again... only over TCP, so build it in a big buffer */
	if (r->peer.conn && len && (out[2] & (DNS_F_TC >> 8)) && e) {
		uint8_t *big = malloc(DNS_MSG_MAX);

		if (big) {
			size_t blen = dns_query_answer(&env, &r->q, e, false, big, DNS_MSG_MAX);

			req_finish(r, big, blen);
			free(big);
			return;
		}
	}
	req_finish(r, out, len);
}

static size_t resolve_later(struct dns_state *st, const struct dns_net_peer *p, struct dns_query *q,
			    const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	struct dns_req *r = malloc(sizeof(*r) + len);
	struct dns_query_env env;
	int rc;

	env_of(st, &env, true);
	if (!r)
		return dns_query_error(&env, q, DNS_RCODE_SERVFAIL, out, cap);
	memset(r, 0, sizeof(*r));
	r->st = st;
	r->peer = *p;
	r->q = *q;
	r->len = len;
	memcpy(r->pkt, pkt, len);
	r->q.m.buf = r->pkt;
	r->wait.cb = on_resolved;
	r->wait.client = p->addr.sin_addr;
	rc = dns_resolve(st->resolver, &q->m.qname, q->m.qtype, &r->wait);
	if (rc < 0) {
		size_t n;

		free(r);
		n = dns_query_error(&env, q, DNS_RCODE_SERVFAIL, out, cap);
		count_rcode(st, q->rcode);
		return n;
	}
	dns_net_peer_hold(&r->peer);
	r->next = st->reqs;
	if (st->reqs)
		st->reqs->prev = r;
	st->reqs = r;
	st->nreqs++;
	return 0;
}

static size_t on_query(void *data, const struct dns_net_peer *p, const uint8_t *pkt, size_t len, uint8_t *out,
		       size_t cap)
{
	struct dns_state *st = data;
	struct dns_query_env env;
	struct dns_query q;
	size_t n = 0;

	st->queries++;
	env_of(st, &env, allowed(st, p));
	switch (dns_query_handle(&env, pkt, len, p->conn != NULL, &q, out, cap, &n)) {
	case DNS_QUERY_DROP:
		st->dropped++;
		return 0;
	case DNS_QUERY_REPLY:
		if (q.local)
			st->local++;
		if (q.prefetch)
			dns_resolve_prefetch(st->resolver, &q.m.qname, q.m.qtype);
		count_rcode(st, q.rcode);
		return n;
	case DNS_QUERY_RESOLVE:
		break;
	}
	return resolve_later(st, p, &q, pkt, len, out, cap);
}

/* ---- listeners ---- */

static void listen_one(struct dns_state *st, struct in_addr a, const char *what)
{
	char t[INET_ADDRSTRLEN];
	int rc = dns_net_listen_addr(st->net, a);

	if (rc < 0)
		gw_err("dns: cannot listen on %s%s%s port %u: %s", inet_ntop(AF_INET, &a, t, sizeof(t)),
		       what ? " of " : "", what ? what : "", st->cfg->port, strerror(-rc));
}

/* The listeners the config asks for now: each listened interface's current
 * addresses, each address, 127.0.0.1 by default; 0.0.0.0 alone covers all. */
static void listen_all(struct dns_state *st)
{
	const struct dns_config *dc = st->cfg;

	dns_net_mark(st->net);
	for (size_t i = 0; i < dc->nlisten; i++)
		if (!dc->listen[i].device && dc->listen[i].addr.s_addr == INADDR_ANY) {
			listen_one(st, dc->listen[i].addr, NULL);
			dns_net_sweep(st->net);
			return;
		}
	for (size_t i = 0; i < dc->nlisten; i++) {
		const struct dns_listen *l = &dc->listen[i];
		const struct gw_iface *ifc;

		if (!l->device) {
			listen_one(st, l->addr, NULL);
			continue;
		}
		/* an interface without an address (yet) is followed: on_iface */
		ifc = gw_iface_by_name(st->gw->ifaces, l->device);
		for (size_t k = 0; ifc && k < ifc->naddrs; k++)
			listen_one(st, ifc->addrs[k].addr, l->device);
	}
	if (dc->listen_loopback)
		listen_one(st, (struct in_addr){htonl(INADDR_LOOPBACK)}, NULL);
	dns_net_sweep(st->net);
}

static bool listens_on_device(const struct dns_config *dc, const char *device)
{
	for (size_t i = 0; i < dc->nlisten; i++)
		if (dc->listen[i].device && strcmp(dc->listen[i].device, device) == 0)
			return true;
	return false;
}

static void on_iface(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *detail)
{
	struct dns_state *st = data;

	(void)detail;
	if (st->stopping)
		return;
	if (ev != GW_IFACE_CHANGED && listens_on_device(st->cfg, ifc->name))
		listen_all(st);
	/* a link coming up (the WAN after an outage): what was learnt about
	 * unreachable servers is stale */
	if (ev == GW_IFACE_CHANGED && ifc->up && ifc->running)
		dns_resolver_forget_servers(st->resolver);
}

/* ---- names: host statements and the hosts file ---- */

static void static_names(struct gw *gw, const struct dns_config *dc, bool add)
{
	for (size_t i = 0; i < dc->nhosts; i++) {
		if (add)
			(void)gw_names_add(gw->names, dc->hosts[i].text, dc->hosts[i].addr, GW_NAME_STATIC, 0);
		else
			(void)gw_names_remove(gw->names, dc->hosts[i].text, dc->hosts[i].addr, GW_NAME_STATIC);
	}
}

/* /etc/hosts: "ADDRESS NAME [ALIAS...]" with # comments; IPv4 lines only.
 * A name without a dot is published under the local domain. */
static void hosts_line(struct gw *gw, const struct dns_config *dc, char *line, size_t *added)
{
	char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
	struct in_addr a;

	if (!tok || inet_pton(AF_INET, tok, &a) != 1)
		return;
	while ((tok = strtok_r(NULL, " \t\r", &save))) {
		char full[GW_NAME_MAX + 2];

		if (strchr(tok, '.'))
			snprintf(full, sizeof(full), "%s", tok);
		else if ((size_t)snprintf(full, sizeof(full), "%s.%s", tok, dc->local_domain_text) >= sizeof(full))
			continue;
		if (gw_names_add(gw->names, full, a, GW_NAME_HOSTS, 0) == 0)
			(*added)++;
	}
}

static void load_hosts(struct gw *gw, const struct dns_config *dc)
{
	FILE *f;
	char line[1024];
	size_t added = 0, bytes = 0;

	gw_names_remove_source(gw->names, GW_NAME_HOSTS);
	if (!dc->hosts_file)
		return;
	f = fopen(dc->hosts_file, "re");
	if (!f) {
		gw_err("dns: hosts-file %s: %s", dc->hosts_file, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) && bytes < HOSTS_FILE_MAX) {
		char *hash = strchr(line, '#');

		bytes += strlen(line);
		if (hash)
			*hash = 0;
		line[strcspn(line, "\n")] = 0;
		hosts_line(gw, dc, line, &added);
	}
	fclose(f);
	gw_info("dns: hosts-file %s: %zu name%s", dc->hosts_file, added, added == 1 ? "" : "s");
}

static void load_hints(struct dns_state *st)
{
	struct dns_hints h = {0};
	char err[512];
	int rc;

	if (st->cfg->root_hints) {
		rc = dns_hints_load(st->cfg->root_hints, &h, err, sizeof(err));
		if (rc < 0) {
			gw_err("dns: root-hints: %s (%s)", err,
			       st->hints.n ? "keeping the hints in force" : "using the built-in IANA list");
			if (st->hints.n)
				return;
			rc = dns_hints_builtin(&h);
		}
	} else {
		rc = dns_hints_builtin(&h);
	}
	if (rc < 0)
		return;
	dns_hints_free(&st->hints);
	st->hints = h;
}

static void resolver_cfg(struct dns_state *st, struct dns_resolver_cfg *rc)
{
	*rc = (struct dns_resolver_cfg){st->cfg, &st->hints, 53};
}

/* ---- commands ---- */

static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }

struct servers_ctx {
	json_t *arr;
};

static void one_server(void *data, struct in_addr addr, uint32_t srtt_ms, uint64_t queries, uint64_t timeouts)
{
	struct servers_ctx *c = data;
	char a[INET_ADDRSTRLEN];
	json_t *o = json_object();

	json_object_set_new(o, "address", json_string(inet_ntop(AF_INET, &addr, a, sizeof(a))));
	json_object_set_new(o, "srtt_ms", jint(srtt_ms));
	json_object_set_new(o, "queries", jint(queries));
	json_object_set_new(o, "timeouts", jint(timeouts));
	json_array_append_new(c->arr, o);
}

static void cmd_stats(struct gw_request *req, int argc, char **argv, void *data)
{
	struct dns_state *st = data;
	const struct dns_cache_stats *cs = dns_cache_stats(st->cache);
	const struct dns_resolver_stats *rs = dns_resolver_stats(st->resolver);
	const struct dns_net_stats *ns = dns_net_stats(st->net);
	json_t *o = json_object(), *ans = json_object(), *cache = json_object(), *up = json_object(),
	       *net = json_object();
	struct servers_ctx sc = {json_array()};

	(void)argc;
	(void)argv;
	json_object_set_new(o, "queries", jint(st->queries));
	json_object_set_new(ans, "noerror", jint(st->rcodes[DNS_RCODE_NOERROR]));
	json_object_set_new(ans, "formerr", jint(st->rcodes[DNS_RCODE_FORMERR]));
	json_object_set_new(ans, "servfail", jint(st->rcodes[DNS_RCODE_SERVFAIL]));
	json_object_set_new(ans, "nxdomain", jint(st->rcodes[DNS_RCODE_NXDOMAIN]));
	json_object_set_new(ans, "notimp", jint(st->rcodes[DNS_RCODE_NOTIMP]));
	json_object_set_new(ans, "refused", jint(st->rcodes[DNS_RCODE_REFUSED]));
	json_object_set_new(ans, "other", jint(st->rcode_other));
	json_object_set_new(o, "answers", ans);
	json_object_set_new(o, "dropped", jint(st->dropped));
	json_object_set_new(o, "local", jint(st->local));
	json_object_set_new(o, "waiting", jint(st->nreqs));
	json_object_set_new(cache, "hits", jint(cs->hits));
	json_object_set_new(cache, "misses", jint(cs->misses));
	json_object_set_new(cache, "stale_answers", jint(st->stale_answers));
	json_object_set_new(cache, "entries", jint(cs->entries));
	json_object_set_new(cache, "bytes", jint(cs->bytes));
	json_object_set_new(cache, "budget", jint(cs->budget));
	json_object_set_new(cache, "evictions", jint(cs->evictions));
	json_object_set_new(o, "cache", cache);
	json_object_set_new(up, "queries", jint(rs->upstream_queries));
	json_object_set_new(up, "tcp", jint(rs->upstream_tcp));
	json_object_set_new(up, "timeouts", jint(rs->timeouts));
	json_object_set_new(up, "rejected", jint(rs->answers_rejected));
	json_object_set_new(up, "tasks", jint(rs->tasks));
	json_object_set_new(up, "coalesced", jint(rs->coalesced));
	json_object_set_new(up, "prefetches", jint(rs->prefetches));
	json_object_set_new(up, "refused_by_limits", jint(rs->refused_limit));
	dns_resolver_servers(st->resolver, one_server, &sc);
	json_object_set_new(up, "servers", sc.arr);
	json_object_set_new(o, "upstream", up);
	json_object_set_new(net, "udp_queries", jint(ns->udp_queries));
	json_object_set_new(net, "tcp_queries", jint(ns->tcp_queries));
	json_object_set_new(net, "tcp_connections", jint(ns->tcp_conns));
	json_object_set_new(net, "tcp_refused", jint(ns->tcp_refused));
	json_object_set_new(net, "send_errors", jint(ns->send_errors));
	json_object_set_new(net, "listeners", jint(dns_net_nlisteners(st->net)));
	json_object_set_new(o, "net", net);
	gw_request_ok(req, o);
}

static int name_arg(struct gw_request *req, const char *arg, struct dns_name *n)
{
	if (dns_name_from_text(n, arg) < 0) {
		gw_request_fail(req, "\"%s\" is not a DNS name", arg);
		return -1;
	}
	dns_name_lower(n);
	return 0;
}

/* The records of one entry (its answer section), or one line for a negative entry. */
static void entry_records(const struct dns_cache_entry *e, uint32_t now, json_t *arr)
{
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	char name[DNS_NAME_TEXT_MAX], type[16], *data = malloc(DNS_MSG_MAX);
	uint8_t *rd = malloc(DNS_RDATA_EXPANDED_MAX);
	uint32_t left = dns_cache_ttl_left(e, now);

	if (!data || !rd || dns_msg_parse(&m, e->msg, e->len, NULL) < 0)
		goto out;
	if (e->negative) {
		json_t *o = json_object();

		dns_name_to_text(&e->name, name);
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "type", json_string(dns_type_str(e->type, type)));
		json_object_set_new(o, "ttl", jint(left));
		json_object_set_new(o, "data", json_string(e->rcode == DNS_RCODE_NXDOMAIN ? "NXDOMAIN" : "NODATA"));
		json_array_append_new(arr, o);
		goto out;
	}
	dns_rr_iter_init(&it, &m);
	while (dns_rr_next(&it, &rr) == 1 && rr.section == DNS_SEC_ANSWER) {
		int n = dns_rdata_expand(&m, &rr, rd, DNS_RDATA_EXPANDED_MAX);
		json_t *o;

		if (n < 0)
			continue;
		o = json_object();
		dns_name_to_text(&rr.name, name);
		dns_rdata_to_text(rr.type, rd, (size_t)n, data, DNS_MSG_MAX);
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "type", json_string(dns_type_str(rr.type, type)));
		json_object_set_new(o, "ttl", jint(left < rr.ttl ? left : rr.ttl));
		json_object_set_new(o, "data", json_string(data));
		if (!dns_name_equal(&rr.name, &e->name) || rr.type != e->type) {
			dns_name_to_text(&e->name, name);
			json_object_set_new(o, "query", json_string(name));
		}
		json_array_append_new(arr, o);
	}
out:
	free(data);
	free(rd);
}

static void cmd_cache(struct gw_request *req, int argc, char **argv, void *data)
{
	struct dns_state *st = data;
	struct dns_name below;
	const struct dns_cache_entry *e;
	size_t cursor = 0;
	uint32_t now = mono_s(st);
	json_t *o, *arr;

	if (argc > 0 && name_arg(req, argv[0], &below) < 0)
		return;
	arr = json_array();
	while ((e = dns_cache_next(st->cache, &cursor))) {
		if (e->rank != DNS_RANK_ANSWER || e->expires <= now)
			continue;
		if (argc > 0 && !dns_name_is_under(&e->name, &below))
			continue;
		entry_records(e, now, arr);
	}
	o = json_object();
	json_object_set_new(o, "records", arr);
	gw_request_ok(req, o);
}

static void cmd_flush(struct gw_request *req, int argc, char **argv, void *data)
{
	struct dns_state *st = data;
	struct dns_name below;
	json_t *o;
	size_t n;

	if (argc > 0 && name_arg(req, argv[0], &below) < 0)
		return;
	n = dns_cache_flush(st->cache, argc > 0 ? &below : NULL);
	o = json_object();
	json_object_set_new(o, "flushed", jint(n));
	gw_request_ok(req, o);
}

static const struct gw_command dns_commands[] = {
	{.name = "dns stats", .min_args = 0, .max_args = 0, .usage = "dns stats", .fn = cmd_stats},
	{.name = "dns cache", .min_args = 0, .max_args = 1, .usage = "dns cache [NAME]", .fn = cmd_cache},
	{.name = "dns flush", .admin = true, .min_args = 0, .max_args = 1, .usage = "dns flush [NAME]",
	 .fn = cmd_flush},
};

/* ---- the module ---- */

static void free_state(struct dns_state *st)
{
	if (st->cache)
		dns_cache_free(st->cache);
	dns_hints_free(&st->hints);
	free(st);
}

static void net_closed(void *data) { free_state(data); }

static void resolver_closed(void *data)
{
	struct dns_state *st = data;

	st->resolver = NULL;
	if (st->net)
		dns_net_close(st->net, net_closed, st);
	else
		free_state(st);
}

static int dns_start(struct gw *gw, const void *cfg, void **state)
{
	struct dns_state *st = calloc(1, sizeof(*st));
	const struct dns_config *dc = cfg;
	struct dns_resolver_cfg rcfg;
	int rc;

	if (!st)
		return -ENOMEM;
	st->gw = gw;
	st->cfg = dc;
	st->cache = dns_cache_new(dc->cache_size, dc->serve_stale ? DNS_STALE_MAX : 0);
	if (!st->cache) {
		free(st);
		return -ENOMEM;
	}
	load_hints(st);
	resolver_cfg(st, &rcfg);
	rc = dns_resolver_new(gw->loop, st->cache, &rcfg, &st->resolver);
	if (rc == 0)
		rc = dns_net_new(gw->loop, dc->port, on_query, st, &st->net);
	if (rc < 0) {
		gw_err("dns: %s", strerror(-rc));
		if (st->resolver)
			dns_resolver_close(st->resolver, resolver_closed, st);
		else
			free_state(st);
		return rc;
	}
	listen_all(st);
	if (!dns_net_nlisteners(st->net) && !dc->nlisten) {
		gw_err("dns: no listener could be opened");
		st->stopping = true;
		dns_resolver_close(st->resolver, resolver_closed, st);
		return -EADDRNOTAVAIL;
	}
	st->iface_sub = gw_iface_subscribe(gw->ifaces, on_iface, st);
	static_names(gw, dc, true);
	load_hosts(gw, dc);
	gw_info("dns: %s, port %u, %zu listener%s, cache %llu KiB", dc->nforward ? "forwarding" : "recursive",
		dc->port, dns_net_nlisteners(st->net), dns_net_nlisteners(st->net) == 1 ? "" : "s",
		(unsigned long long)(dc->cache_size >> 10));
	*state = st;
	return 0;
}

static int dns_reload(struct gw *gw, void *state, const void *old_cfg, const void *new_cfg)
{
	struct dns_state *st = state;
	const struct dns_config *dc = new_cfg;
	struct dns_resolver_cfg rcfg;

	static_names(gw, old_cfg, false);
	if (!dc) {
		gw_names_remove_source(gw->names, GW_NAME_HOSTS);
		return 0;
	}
	if (dc->port != ((const struct dns_config *)old_cfg)->port) {
		/* every listener moves: close them all, then open anew */
		dns_net_mark(st->net);
		dns_net_sweep(st->net);
		gw_warn("dns: the port changed: listeners reopened on %u", dc->port);
	}
	st->cfg = dc;
	dns_cache_set_budget(st->cache, dc->cache_size);
	dns_cache_set_stale_max(st->cache, dc->serve_stale ? DNS_STALE_MAX : 0);
	load_hints(st);
	resolver_cfg(st, &rcfg);
	dns_resolver_configure(st->resolver, &rcfg);
	listen_all(st);
	static_names(gw, dc, true);
	load_hosts(gw, dc);
	return 0;
}

static void dns_stop(struct gw *gw, void *state)
{
	struct dns_state *st = state;

	st->stopping = true;
	gw_iface_unsubscribe(gw->ifaces, st->iface_sub);
	static_names(gw, st->cfg, false);
	/* the resolver first: its waiters answer (SERVFAIL) through the sockets */
	dns_resolver_close(st->resolver, resolver_closed, st);
}

static void dns_summary(void *state, char *buf, size_t len)
{
	struct dns_state *st = state;
	const struct dns_cache_stats *cs = dns_cache_stats(st->cache);

	snprintf(buf, len, "%s, %zu listener%s, %llu cached answer%s", st->cfg->nforward ? "forwarding" : "recursive",
		 dns_net_nlisteners(st->net), dns_net_nlisteners(st->net) == 1 ? "" : "s",
		 (unsigned long long)cs->entries, cs->entries == 1 ? "" : "s");
}

static const char *const dns_sections[] = {"dns", NULL};

const struct gw_module dns_module = {
	.name = "dns",
	.sections = dns_sections,
	.configure = dns_configure,
	.start = dns_start,
	.reload = dns_reload,
	.stop = dns_stop,
	.free_config = dns_config_free,
	.summary = dns_summary,
	.commands = dns_commands,
	.ncommands = sizeof(dns_commands) / sizeof(dns_commands[0]),
};
