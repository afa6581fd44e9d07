/* dhcp.c — the dhcp module: the glue between the pure server
 * (dhcp_server.c), its socket (dhcp_sock.c), the lease store
 * (dhcp_journal.c) and the core (iface and names tables, control commands).
 *
 * The one rule this file exists to keep (DESIGN.md, Persistence): an ACK
 * that changed a lease leaves only after its journal record is on disk.
 * Records of one loop iteration share one write + fdatasync (the
 * journal's group commit); the held ACKs go out from its callback. */
#include "dhcp.h"

#include "control.h"
#include "core_config.h"
#include "dhcp_config.h"
#include "dhcp_journal.h"
#include "dhcp_lease.h"
#include "dhcp_server.h"
#include "dhcp_sock.h"
#include "gw.h"
#include "iface.h"
#include "log.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DHCP_PORT 67

struct dhcp_state {
	struct gw *gw;
	const struct dhcp_config *cfg;
	struct dhcp_lease_table *leases;
	struct dhcp_journal *journal;
	struct dhcp_server server;
	bool server_ready;
	struct dhcp_sock sock;
	bool sock_open;
	uv_timer_t expiry;
	time_t next_expiry; /* when the timer fires; 0: not armed */
	int iface_sub;
	uint64_t held;          /* ACKs waiting for their batch */
	uint64_t sync_failures; /* ACKs not sent: their record did not reach the disk */
	uint64_t unknown_link;  /* datagrams from a link the iface table does not know */
	struct dhcp_result res; /* reused for every datagram (a few KiB) */
};

/* An ACK waiting for its journal batch. */
struct dhcp_held {
	struct dhcp_state *st;
	struct dhcp_dest dest;
	size_t len;
	uint8_t buf[];
};

/* A `lease release` answer waiting for its batch. */
struct dhcp_release_wait {
	struct gw_request *req;
	char addr[INET_ADDRSTRLEN];
};

static time_t now_s(void) { return time(NULL); }

/* "00:11:22": bytes as colon-separated hex; CAP ≥ 3 * n */
static void fmt_hex(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t pos = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && pos + 3 < cap; i++)
		pos += (size_t)snprintf(out + pos, cap - pos, "%s%02x", i ? ":" : "", b[i]);
}

/* ---- the environment the pure server asks about ---- */

static bool env_link_by_device(void *data, const char *device, struct dhcp_link *out)
{
	struct dhcp_state *st = data;
	const struct gw_iface *ifc = gw_iface_by_name(st->gw->ifaces, device);

	if (!ifc)
		return false;
	*out = (struct dhcp_link){ifc->ifindex, ifc->name, ifc->addrs, ifc->naddrs, ifc->mtu};
	return true;
}

static bool env_is_local(void *data, struct in_addr addr)
{
	struct dhcp_state *st = data;
	const struct gw_iface *ifc;
	size_t cur = 0;

	while ((ifc = gw_iface_next(st->gw->ifaces, &cur)))
		for (size_t i = 0; i < ifc->naddrs; i++)
			if (ifc->addrs[i].addr.s_addr == addr.s_addr)
				return true;
	return false;
}

/* ---- sending ---- */

static void send_to(struct dhcp_state *st, const struct dhcp_dest *d, const uint8_t *buf, size_t len)
{
	int rc;

	if (d->kind == DHCP_SEND_LINK)
		rc = dhcp_sock_send_link(&st->sock, d->ifindex, d->mac, d->src, DHCP_PORT, d->dst, d->port, buf,
					 len);
	else
		rc = dhcp_sock_send_udp(&st->sock, d->ifindex, d->src, d->dst, d->port, buf, len);
	if (rc < 0)
		gw_debug("dhcp: send to %s:%u: %s", inet_ntoa(d->dst), d->port, strerror(-rc));
}

static void on_ack_synced(void *data, int status)
{
	struct dhcp_held *h = data;
	struct dhcp_state *st = h->st;

	st->held--;
	if (status < 0) {
		/* not on disk: no ACK. The client retries; the lease table already
		 * says bound, and the next batch that succeeds carries the state. */
		st->sync_failures++;
		gw_warn("dhcp: lease journal write failed (%s): ACK to %s not sent", strerror(-status),
			inet_ntoa(h->dest.dst));
	} else if (st->sock_open) {
		send_to(st, &h->dest, h->buf, h->len);
	}
	free(h);
}

/* ---- expiry ---- */

static void on_expiry(uv_timer_t *t);

static void journal_rec(void *data, const struct dhcp_lease_rec *rec)
{
	struct dhcp_state *st = data;
	int rc = dhcp_journal_append(st->journal, rec, NULL, NULL);

	if (rc < 0)
		gw_warn("dhcp: cannot journal a lease change: %s", strerror(-rc));
}

static void arm_expiry(struct dhcp_state *st, time_t next)
{
	time_t now = now_s();

	if (next == 0) {
		uv_timer_stop(&st->expiry);
		st->next_expiry = 0;
		return;
	}
	st->next_expiry = next;
	uv_timer_start(&st->expiry, on_expiry, next > now ? (uint64_t)(next - now) * 1000 : 0, 0);
}

static void on_expiry(uv_timer_t *t)
{
	struct dhcp_state *st = container_of(t, struct dhcp_state, expiry);

	arm_expiry(st, dhcp_server_expire(&st->server, now_s(), journal_rec, st));
}

/* A new record may expire before the timer fires: pull it in. */
static void note_expiry(struct dhcp_state *st, const struct dhcp_lease_rec *rec)
{
	if (rec->op != DHCP_LEASE_PUT || rec->expires_at <= 0)
		return;
	if (st->next_expiry == 0 || rec->expires_at < st->next_expiry)
		arm_expiry(st, (time_t)rec->expires_at);
}

/* ---- receiving ---- */

static void log_event(struct dhcp_state *st, const struct dhcp_event *ev)
{
	char mac[3 * DHCP_LEASE_CHADDR_MAX + 1];

	fmt_hex(mac, sizeof(mac), ev->chaddr, ev->hlen < DHCP_LEASE_CHADDR_MAX ? ev->hlen : DHCP_LEASE_CHADDR_MAX);
	switch (ev->kind) {
	case DHCP_EV_DECLINE:
		gw_warn("dhcp %s: %s declined %s: another host uses it; out of the pool for a while", ev->scope,
			mac, inet_ntoa(ev->addr));
		break;
	case DHCP_EV_EXHAUSTED:
		gw_warn("dhcp %s: no free address for %s", ev->scope, mac);
		break;
	case DHCP_EV_NAME_REFUSED:
		gw_info("dhcp %s: %s (%s) asked for the name \"%s\", which is taken: not published", ev->scope,
			mac, inet_ntoa(ev->addr), ev->name);
		break;
	case DHCP_EV_NONE:
		break;
	}
}

static bool is_offer(const struct dhcp_lease_rec *rec)
{
	return rec->op == DHCP_LEASE_PUT && rec->state == DHCP_LEASE_OFFERED;
}

static void on_datagram(void *data, const uint8_t *buf, size_t len, const struct dhcp_rx *rx)
{
	struct dhcp_state *st = data;
	struct dhcp_result *res = &st->res;
	const struct gw_iface *ifc;
	struct dhcp_link link;
	struct dhcp_held *h = NULL;

	if (rx->truncated)
		return; /* counted by the socket */
	ifc = gw_iface_by_index(st->gw->ifaces, rx->ifindex);
	if (!ifc) {
		st->unknown_link++;
		return;
	}
	link = (struct dhcp_link){ifc->ifindex, ifc->name, ifc->addrs, ifc->naddrs, ifc->mtu};
	dhcp_server_handle(&st->server, buf, len, &link, rx, now_s(), res);

	if (res->wait_sync && res->kind == DHCP_RESULT_REPLY && res->ndest == 1 && res->nrecs > 0) {
		h = malloc(sizeof(*h) + res->len);
		if (h) {
			h->st = st;
			h->dest = res->dest[0];
			h->len = res->len;
			memcpy(h->buf, res->buf, res->len);
		}
	}
	for (size_t i = 0; i < res->nrecs; i++) {
		bool last = i + 1 == res->nrecs;
		int rc;

		note_expiry(st, &res->recs[i]);
		/* An offer is a 60 s hold that a crash may forget: the client asks
		 * again. Not journaling it halves the writes of an exchange. */
		if (is_offer(&res->recs[i]) && !(last && h))
			continue;
		rc = dhcp_journal_append(st->journal, &res->recs[i], last && h ? on_ack_synced : NULL,
					 last ? h : NULL);
		if (rc < 0) {
			gw_warn("dhcp: cannot journal a lease change: %s", strerror(-rc));
			if (last && h) {
				free(h); /* never an ACK without its record */
				h = NULL;
				st->sync_failures++;
			}
		} else if (last && h) {
			st->held++;
		}
	}
	if (!res->wait_sync)
		for (size_t i = 0; i < res->ndest; i++)
			send_to(st, &res->dest[i], res->buf, res->len);
	if (res->event.kind != DHCP_EV_NONE)
		log_event(st, &res->event);
}

/* ---- reservation names: published always (CONFIG.md) ---- */

static void reservation_names(struct gw *gw, const struct dhcp_config *cfg, bool add)
{
	char fqdn[GW_NAME_MAX + 2];

	for (size_t i = 0; cfg && i < cfg->nscopes; i++) {
		const struct dhcp_scope *sc = &cfg->scopes[i];

		for (size_t k = 0; k < sc->nhosts; k++) {
			const struct dhcp_host *ho = &sc->hosts[k];

			if (!ho->name)
				continue;
			snprintf(fqdn, sizeof(fqdn), "%s.%s", ho->name, cfg->local_domain);
			if (add) {
				if (gw_names_add(gw->names, fqdn, ho->addr, GW_NAME_STATIC, 0) < 0)
					gw_warn("dhcp %s: host %s: cannot publish %s", sc->name, ho->label, fqdn);
			} else {
				(void)gw_names_remove(gw->names, fqdn, ho->addr, GW_NAME_STATIC);
			}
		}
	}
}

/* ---- control commands ---- */

static json_t *lease_json(const struct dhcp_state *st, const struct dhcp_lease *l, time_t now)
{
	json_t *o = json_object();
	struct in_addr a = {.s_addr = htonl(l->addr)};
	char buf[3 * DHCP_LEASE_CID_MAX + 1];
	const uint8_t *cid;
	size_t cid_len;
	int64_t left = l->expires_at - now;

	json_object_set_new(o, "address", json_string(inet_ntoa(a)));
	fmt_hex(buf, sizeof(buf), dhcp_lease_chaddr(l), l->hlen);
	json_object_set_new(o, "mac", json_string(buf));
	cid = dhcp_lease_client_id(l, &cid_len);
	if (cid) {
		fmt_hex(buf, sizeof(buf), cid, cid_len);
		json_object_set_new(o, "client_id", json_string(buf));
	} else {
		json_object_set_new(o, "client_id", json_null());
	}
	json_object_set_new(o, "hostname", json_string(dhcp_lease_hostname(l)));
	json_object_set_new(o, "scope", json_string(dhcp_lease_scope_name(st->leases, l->scope)));
	json_object_set_new(o, "state", json_string(dhcp_lease_state_name(l->state)));
	/* free records keep their time of release/expiry: nothing is left of them */
	bool running = l->state == DHCP_LEASE_OFFERED || l->state == DHCP_LEASE_BOUND ||
		       l->state == DHCP_LEASE_STATIC || l->state == DHCP_LEASE_DECLINED;
	json_object_set_new(o, "expires_in", json_integer(running && left > 0 ? left : 0));
	json_object_set_new(o, "expires_at", json_integer(l->expires_at));
	return o;
}

static void cmd_leases(struct gw_request *req, int argc, char **argv, void *data)
{
	struct dhcp_state *st = data;
	json_t *arr = json_array(), *o = json_object();
	time_t now = now_s();

	for (const struct dhcp_lease *l = dhcp_lease_first(st->leases); l; l = dhcp_lease_next(st->leases, l))
		json_array_append_new(arr, lease_json(st, l, now));
	json_object_set_new(o, "leases", arr);
	gw_request_ok(req, o);
}

static void on_release_synced(void *data, int status)
{
	struct dhcp_release_wait *w = data;

	if (status < 0)
		gw_request_fail(w->req, "lease %s released in memory, but the journal write failed: %s", w->addr,
				strerror(-status));
	else
		gw_request_ok(w->req, NULL);
	free(w);
}

static void cmd_lease_release(struct gw_request *req, int argc, char **argv, void *data)
{
	struct dhcp_state *st = data;
	struct dhcp_lease_rec rec;
	struct dhcp_release_wait *w;
	struct in_addr a;
	int rc;

	if (inet_pton(AF_INET, argv[0], &a) != 1) {
		gw_request_fail(req, "\"%s\" is not an IPv4 address", argv[0]);
		return;
	}
	rc = dhcp_server_release_addr(&st->server, a, now_s(), &rec);
	if (rc == -ENOENT) {
		gw_request_fail(req, "no lease for %s", argv[0]);
		return;
	}
	if (rc <= 0) {
		if (rc < 0)
			gw_request_fail(req, "%s", strerror(-rc));
		else
			gw_request_ok(req, NULL);
		return;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		gw_request_fail(req, "out of memory");
		return;
	}
	w->req = req;
	snprintf(w->addr, sizeof(w->addr), "%s", argv[0]);
	/* answered once the release is on disk, like an ACK */
	rc = dhcp_journal_append(st->journal, &rec, on_release_synced, w);
	if (rc < 0) {
		free(w);
		gw_request_fail(req, "cannot journal the release: %s", strerror(-rc));
	}
}

static const char *const msg_names[DHCP_SERVER_TYPES] = {
	NULL, "discover", "offer", "request", "decline", "ack", "nak", "release", "inform",
};

static json_t *stats_scopes(const struct dhcp_state *st, time_t now)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < st->cfg->nscopes; i++) {
		struct dhcp_lease_counts c;
		int id = dhcp_server_scope_id(&st->server, i);
		json_t *o = json_object();

		memset(&c, 0, sizeof(c));
		if (id >= 0)
			(void)dhcp_lease_scope_counts(st->leases, (uint16_t)id, now, &c);
		json_object_set_new(o, "scope", json_string(st->cfg->scopes[i].name));
		json_object_set_new(o, "pool_size", json_integer(c.pool_size));
		json_object_set_new(o, "used", json_integer(c.used));
		json_object_set_new(o, "free", json_integer(c.free));
		json_object_set_new(o, "bound", json_integer(c.state[DHCP_LEASE_BOUND] + c.state[DHCP_LEASE_STATIC]));
		json_object_set_new(o, "offered", json_integer(c.state[DHCP_LEASE_OFFERED]));
		json_object_set_new(o, "declined", json_integer(c.state[DHCP_LEASE_DECLINED]));
		json_object_set_new(o, "pool_addresses_outside_link",
				    json_integer(dhcp_server_pools_outside(&st->server, i)));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void cmd_stats(struct gw_request *req, int argc, char **argv, void *data)
{
	struct dhcp_state *st = data;
	const struct dhcp_server_stats *s = &st->server.stats;
	const struct dhcp_journal_stats *js = dhcp_journal_stats(st->journal);
	json_t *o = json_object(), *msgs = json_object(), *drops = json_object(), *relay = json_object(),
	       *jo = json_object();

	json_object_set_new(o, "scopes", stats_scopes(st, now_s()));
	for (int t = 1; t < DHCP_SERVER_TYPES; t++)
		json_object_set_new(msgs, msg_names[t], json_integer((json_int_t)s->messages[t]));
	json_object_set_new(msgs, "dropped", json_integer((json_int_t)(s->dropped + st->unknown_link)));
	json_object_set_new(o, "messages", msgs);
	for (int r = 1; r < DHCP_SRV_DROP_COUNT; r++)
		if (s->drop[r])
			json_object_set_new(drops, dhcp_srv_drop_name(r), json_integer((json_int_t)s->drop[r]));
	if (st->unknown_link)
		json_object_set_new(drops, "unknown_link", json_integer((json_int_t)st->unknown_link));
	if (st->sock.stats.truncated)
		json_object_set_new(drops, "truncated", json_integer((json_int_t)st->sock.stats.truncated));
	json_object_set_new(o, "drops", drops);
	json_object_set_new(relay, "requests", json_integer((json_int_t)s->relay.requests));
	json_object_set_new(relay, "copies", json_integer((json_int_t)s->relay.copies));
	json_object_set_new(relay, "replies", json_integer((json_int_t)s->relay.replies));
	json_object_set_new(relay, "agent_info_added", json_integer((json_int_t)s->relay.agent_info_added));
	json_object_set_new(relay, "agent_info_kept", json_integer((json_int_t)s->relay.agent_info_kept));
	json_object_set_new(relay, "agent_info_too_big", json_integer((json_int_t)s->relay.agent_info_too_big));
	json_object_set_new(o, "relay", relay);
	json_object_set_new(jo, "records", json_integer((json_int_t)js->records));
	json_object_set_new(jo, "batches", json_integer((json_int_t)js->batches));
	json_object_set_new(jo, "syncs", json_integer((json_int_t)js->syncs));
	json_object_set_new(jo, "failed_batches", json_integer((json_int_t)js->failed_batches));
	json_object_set_new(jo, "bytes", json_integer((json_int_t)js->bytes));
	json_object_set_new(jo, "compactions", json_integer((json_int_t)js->compactions));
	json_object_set_new(jo, "acks_held", json_integer((json_int_t)st->held));
	json_object_set_new(jo, "acks_not_sent", json_integer((json_int_t)st->sync_failures));
	json_object_set_new(o, "journal", jo);
	json_object_set_new(o, "names_published", json_integer((json_int_t)s->names_published));
	json_object_set_new(o, "names_refused", json_integer((json_int_t)s->names_refused));
	gw_request_ok(req, o);
}

static const struct gw_command dhcp_commands[] = {
	{.name = "leases", .min_args = 0, .max_args = 0, .usage = "leases", .fn = cmd_leases},
	{.name = "lease release", .admin = true, .min_args = 1, .max_args = 1, .usage = "lease release ADDRESS",
	 .fn = cmd_lease_release},
	{.name = "dhcp stats", .min_args = 0, .max_args = 0, .usage = "dhcp stats", .fn = cmd_stats},
};

/* ---- the module ---- */

static void free_state(struct dhcp_state *st)
{
	if (st->server_ready)
		dhcp_server_free(&st->server);
	if (st->leases)
		dhcp_lease_table_free(st->leases);
	free(st);
}

static void free_state_cb(void *data) { free_state(data); }

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&seed; /* only keys hash tables */
	return seed;
}

static int dhcp_start(struct gw *gw, const void *cfg, void **state)
{
	struct dhcp_state *st = calloc(1, sizeof(*st));
	struct dhcp_server_env env;
	uint64_t seed = random_seed();
	time_t now = now_s();
	int rc;

	if (!st)
		return -ENOMEM;
	st->gw = gw;
	st->cfg = cfg;
	st->leases = dhcp_lease_table_new(seed);
	if (!st->leases) {
		free(st);
		return -ENOMEM;
	}
	rc = dhcp_journal_open(&st->journal, gw->loop, gw->config->state_dir, st->leases, now);
	if (rc < 0) {
		gw_err("dhcp: lease store in %s: %s", gw->config->state_dir,
		       rc == -EBUSY ? "in use by another process" : strerror(-rc));
		free_state(st);
		return rc;
	}
	env = (struct dhcp_server_env){env_link_by_device, env_is_local, st};
	rc = dhcp_server_init(&st->server, cfg, st->leases, gw->names, &env, seed ^ 0x9e3779b97f4a7c15ull, now);
	if (rc < 0) {
		gw_err("dhcp: %s", strerror(-rc));
		dhcp_journal_close(st->journal, free_state_cb, st);
		return rc;
	}
	st->server_ready = true;
	rc = dhcp_sock_open(&st->sock, gw->loop, DHCP_PORT, on_datagram, st);
	if (rc < 0) {
		gw_err("dhcp: cannot open UDP port %d: %s", DHCP_PORT, strerror(-rc));
		dhcp_journal_close(st->journal, free_state_cb, st);
		return rc;
	}
	st->sock_open = true;
	uv_timer_init(gw->loop, &st->expiry);
	arm_expiry(st, dhcp_server_expire(&st->server, now, journal_rec, st));
	reservation_names(gw, cfg, true);
	gw_info("dhcp: %zu scope%s, %zu relay%s, %zu lease%s from %s", st->cfg->nscopes,
		st->cfg->nscopes == 1 ? "" : "s", st->cfg->nrelays, st->cfg->nrelays == 1 ? "" : "s",
		dhcp_lease_count(st->leases), dhcp_lease_count(st->leases) == 1 ? "" : "s", gw->config->state_dir);
	*state = st;
	return 0;
}

static int dhcp_reload(struct gw *gw, void *state, const void *old_cfg, const void *new_cfg)
{
	struct dhcp_state *st = state;
	int rc;

	if (!new_cfg) {
		reservation_names(gw, old_cfg, false);
		return 0; /* stop() follows; the leases stay on disk for a later start */
	}
	rc = dhcp_server_reload(&st->server, new_cfg, now_s());
	if (rc < 0)
		return rc; /* the old config stays in force in the server */
	reservation_names(gw, old_cfg, false);
	reservation_names(gw, new_cfg, true);
	st->cfg = new_cfg;
	arm_expiry(st, dhcp_server_expire(&st->server, now_s(), journal_rec, st));
	return 0;
}

static void on_sock_closed(struct dhcp_sock *s)
{
	struct dhcp_state *st = container_of(s, struct dhcp_state, sock);

	free_state(st);
}

static void on_journal_closed(void *data)
{
	struct dhcp_state *st = data;

	/* the held ACKs went out from the journal's last callbacks: now the socket */
	st->sock_open = false;
	dhcp_sock_close(&st->sock, on_sock_closed);
}

static void dhcp_stop(struct gw *gw, void *state)
{
	struct dhcp_state *st = state;

	reservation_names(gw, st->cfg, false);
	uv_close((uv_handle_t *)&st->expiry, NULL);
	dhcp_journal_close(st->journal, on_journal_closed, st);
}

static void dhcp_summary(void *state, char *buf, size_t len)
{
	struct dhcp_state *st = state;

	snprintf(buf, len, "%zu scope%s, %zu relay%s, %zu lease record%s", st->cfg->nscopes,
		 st->cfg->nscopes == 1 ? "" : "s", st->cfg->nrelays, st->cfg->nrelays == 1 ? "" : "s",
		 dhcp_lease_count(st->leases), dhcp_lease_count(st->leases) == 1 ? "" : "s");
}

static const char *const dhcp_sections[] = {"dhcp", "dhcp-relay", NULL};

const struct gw_module dhcp_module = {
	.name = "dhcp",
	.sections = dhcp_sections,
	.configure = dhcp_configure,
	.start = dhcp_start,
	.reload = dhcp_reload,
	.stop = dhcp_stop,
	.free_config = dhcp_config_free,
	.summary = dhcp_summary,
	.commands = dhcp_commands,
	.ncommands = sizeof(dhcp_commands) / sizeof(dhcp_commands[0]),
};
