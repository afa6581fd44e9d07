/* nat.c — the nat module: the table inet homegw kept as the config and the
 * interfaces say (nat_nft.h), the PCP/NAT-PMP server (nat_pcp.h) with its
 * mappings mirrored as kernel map elements, the conntrack side (nat_ct.h),
 * and the `nat` and `nat table` commands.
 *
 * Lifecycle (CONFIG.md): start replaces the table in one transaction
 * (mappings found in the kernel's pcp map are kept: they outlive a restart);
 * stop leaves it in place so a restart does not interrupt traffic; a reload
 * changes only the forwards' elements when nothing else changed, else
 * replaces the table — either way one transaction — and then deletes the
 * conntrack entries of forwards removed or changed; removing the section
 * deletes the table. A foreign change to the table (nft flush ruleset) is
 * seen through nftables events and undone by a replace. */
#include "nat.h"

#include "control.h"
#include "core_config.h"
#include "gw.h"
#include "iface.h"
#include "log.h"
#include "module.h"
#include "nat_config.h"
#include "nat_ct.h"
#include "nat_nft.h"
#include "nat_pcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NAT_MAX_LIVE 64 /* addresses / subnets followed on each side */

/* A forward removed or changed by a reload: its flows are deleted. */
struct nat_gone {
	uint8_t proto;
	uint16_t first, last;
};

struct nat_state {
	struct gw *gw;
	const struct nat_config *cfg;
	struct nat_nft *nft;
	struct nat_pcp *pcp;
	uint32_t seq;
	int iface_sub;
	bool stopping, repairing, repair_again;
	/* live: what the sets hold */
	struct in_addr wan[NAT_MAX_LIVE];
	size_t nwan;
	struct nat_prefix lan[NAT_MAX_LIVE];
	size_t nlan;
	/* the PCP socket */
	int pcp_fd;
	uv_poll_t pcp_poll;
	bool pcp_open;
	uv_timer_t pcp_timer;
	/* a reload waiting for the kernel */
	bool reload_pending;
	struct nat_gone *gone;
	size_t ngone;
	/* nat table requests being answered */
	struct table_job *jobs;
	int handles; /* open libuv handles of this state */
	/* counters */
	uint64_t repairs, batches_failed, flows_deleted;
};

static uint32_t mono_s(const struct nat_state *st) { return (uint32_t)(uv_now(st->gw->loop) / 1000); }

/* Each libuv handle and pending kernel job holds the state; the last frees it after stop. */
static void unref(struct nat_state *st)
{
	if (--st->handles == 0 && st->stopping)
		free(st);
}

/* ---- the live sets ---- */

static bool same_addrs(const struct in_addr *a, size_t na, const struct in_addr *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static bool same_nets(const struct nat_prefix *a, size_t na, const struct nat_prefix *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].net.s_addr != b[i].net.s_addr || a[i].len != b[i].len)
			return false;
	return true;
}

/* Read the interfaces' addresses. True when they differ from what the sets hold. */
static bool live_read(struct nat_state *st, struct in_addr *wan, size_t *nwan, struct nat_prefix *lan, size_t *nlan)
{
	const struct nat_config *nc = st->cfg;

	*nwan = *nlan = 0;
	for (size_t i = 0; i < nc->nmasq; i++) {
		const struct gw_iface *ifc = gw_iface_by_name(st->gw->ifaces, nc->masq[i].device);

		for (size_t k = 0; ifc && k < ifc->naddrs && *nwan < NAT_MAX_LIVE; k++)
			wan[(*nwan)++] = ifc->addrs[k].addr;
	}
	for (size_t i = 0; i < nc->nlan_devices; i++) {
		const struct gw_iface *ifc = gw_iface_by_name(st->gw->ifaces, nc->lan_devices[i]);

		for (size_t k = 0; ifc && k < ifc->naddrs && *nlan < NAT_MAX_LIVE; k++) {
			uint8_t len = ifc->addrs[k].prefixlen;
			uint32_t mask = len ? htonl(~0u << (32 - len)) : 0;

			lan[*nlan].net.s_addr = ifc->addrs[k].addr.s_addr & mask;
			lan[(*nlan)++].len = len;
		}
	}
	return !same_addrs(wan, *nwan, st->wan, st->nwan) || !same_nets(lan, *nlan, st->lan, st->nlan);
}

static void live_refresh(struct nat_state *st)
{
	(void)live_read(st, st->wan, &st->nwan, st->lan, &st->nlan);
}

/* ---- PCP mappings in an array for the builder ---- */

static struct nat_pcp_mapping *pcp_snapshot(const struct nat_state *st, size_t *n)
{
	size_t cursor = 0, i = 0, count = st->pcp ? nat_pcp_count(st->pcp) : 0;
	struct nat_pcp_mapping *v = calloc(count ? count : 1, sizeof(*v));
	const struct nat_pcp_mapping *m;

	*n = 0;
	if (!v)
		return NULL;
	while (st->pcp && i < count && (m = nat_pcp_next(st->pcp, &cursor)))
		v[i++] = *m;
	*n = i;
	return v;
}

static int build_replace(struct nat_state *st, struct nat_nft_batch *b)
{
	size_t npcp;
	struct nat_pcp_mapping *pcp = pcp_snapshot(st, &npcp);
	struct nat_nft_spec spec = {st->cfg, st->wan, st->nwan, st->lan, st->nlan, pcp, npcp, mono_s(st)};
	int rc;

	if (!pcp)
		return -ENOMEM;
	nat_nft_batch_init(b, st->seq);
	rc = nat_nft_build_replace(b, &spec);
	if (rc == 0)
		rc = nat_nft_batch_end(b);
	st->seq = b->seq_next;
	free(pcp);
	return rc;
}

/* ---- sending ---- */

static void log_batch(const char *what, int rc, unsigned failed)
{
	gw_err("nat: %s: the kernel refused the transaction (message %u): %s", what, failed, strerror(-rc));
}

static void on_repaired(void *data, int rc, unsigned failed)
{
	struct nat_state *st = data;

	st->repairing = false;
	if (rc < 0) {
		st->batches_failed++;
		log_batch("restoring the table", rc, failed);
	}
	if (st->repair_again && !st->stopping) {
		st->repair_again = false;
		/* another foreign change came meanwhile */
		struct nat_nft_batch b;

		if (build_replace(st, &b) == 0 && nat_nft_send(st->nft, &b, on_repaired, st) == 0)
			st->repairing = true;
	}
}

static void on_foreign(void *data)
{
	struct nat_state *st = data;
	struct nat_nft_batch b;

	if (st->stopping)
		return;
	if (st->repairing) {
		st->repair_again = true;
		return;
	}
	gw_warn("nat: another program changed the table inet %s (or the whole ruleset): restoring it", NAT_NFT_TABLE);
	st->repairs++;
	live_refresh(st);
	if (build_replace(st, &b) < 0 || nat_nft_send(st->nft, &b, on_repaired, st) < 0) {
		gw_err("nat: cannot restore the table");
		return;
	}
	st->repairing = true;
}

static void on_live_sent(void *data, int rc, unsigned failed)
{
	struct nat_state *st = data;

	if (rc < 0) {
		st->batches_failed++;
		log_batch("following the interfaces' addresses", rc, failed);
	}
}

/* ---- PCP ---- */

static struct in_addr pcp_external(void *data)
{
	struct nat_state *st = data;

	return st->nwan ? st->wan[0] : (struct in_addr){0};
}

static bool pcp_reserved(void *data, uint8_t proto, uint16_t port)
{
	struct nat_state *st = data;
	const struct nat_config *nc = st->cfg;

	if (nat_config_forward(nc, (enum nat_proto)proto, port))
		return true;
	for (size_t i = 0; i < nc->nopen; i++)
		if (nc->open[i].proto == proto && port >= nc->open[i].first && port <= nc->open[i].last)
			return true;
	return port == NAT_PCP_PORT && proto == NAT_UDP;
}

static void on_pcp_sent(void *data, int rc, unsigned failed)
{
	struct nat_state *st = data;

	/* removing an element the kernel has already expired: nothing to do */
	if (rc < 0 && rc != -ENOENT) {
		st->batches_failed++;
		log_batch("a PCP mapping", rc, failed);
	}
}

static int pcp_changed(void *data, const struct nat_pcp_mapping *m, enum nat_pcp_change ch, uint32_t now)
{
	struct nat_state *st = data;
	struct nat_nft_batch b;
	int rc;

	nat_nft_batch_init(&b, st->seq);
	rc = nat_nft_build_pcp(&b, m, ch != NAT_PCP_REMOVED, now);
	if (rc == 0)
		rc = nat_nft_batch_end(&b);
	st->seq = b.seq_next;
	if (rc == 0)
		rc = nat_nft_send(st->nft, &b, on_pcp_sent, st);
	else
		nat_nft_batch_free(&b);
	return rc;
}

static uint32_t pcp_random(void *data)
{
	uint32_t r;

	(void)data;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)random();
	return r;
}

static const struct nat_pcp_ops pcp_ops = {pcp_external, pcp_reserved, pcp_changed, pcp_random};

static void on_pcp_timer(uv_timer_t *t);

static void pcp_arm(struct nat_state *st, uint32_t next)
{
	uint32_t now = mono_s(st);

	uv_timer_stop(&st->pcp_timer);
	if (next)
		uv_timer_start(&st->pcp_timer, on_pcp_timer, (uint64_t)(next > now ? next - now : 0) * 1000, 0);
}

static void on_pcp_timer(uv_timer_t *t)
{
	struct nat_state *st = t->data;

	if (st->pcp)
		pcp_arm(st, nat_pcp_expire(st->pcp, mono_s(st)));
}

static bool is_lan_ifindex(const struct nat_state *st, int ifindex)
{
	const struct gw_iface *ifc = gw_iface_by_index(st->gw->ifaces, ifindex);

	if (!ifc)
		return false;
	for (size_t i = 0; i < st->cfg->nlan_devices; i++)
		if (strcmp(st->cfg->lan_devices[i], ifc->name) == 0)
			return true;
	return false;
}

static void on_pcp_readable(uv_poll_t *h, int status, int events)
{
	struct nat_state *st = h->data;

	(void)events;
	if (status < 0 || !st->pcp)
		return;
	for (int i = 0; i < 16; i++) {
		uint8_t in[NAT_PCP_MAX_PACKET + 4], out[NAT_PCP_MAX_PACKET];
		struct sockaddr_in from;
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = {in, sizeof(in)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		struct in_pktinfo pi = {0};
		ssize_t n = recvmsg(st->pcp_fd, &mh, MSG_DONTWAIT);
		size_t olen;

		if (n < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		olen = nat_pcp_handle(st->pcp, in, (mh.msg_flags & MSG_TRUNC) ? sizeof(in) : (size_t)n,
				      from.sin_addr, is_lan_ifindex(st, pi.ipi_ifindex), mono_s(st), out, sizeof(out));
		if (olen) {
			struct iovec oiov = {out, olen};
			char ocbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
			struct msghdr om = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &oiov,
					    .msg_iovlen = 1, .msg_control = ocbuf, .msg_controllen = sizeof(ocbuf)};
			struct cmsghdr *c = CMSG_FIRSTHDR(&om);
			struct in_pktinfo opi = {.ipi_spec_dst = pi.ipi_addr};

			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(opi));
			memcpy(CMSG_DATA(c), &opi, sizeof(opi));
			(void)sendmsg(st->pcp_fd, &om, MSG_DONTWAIT);
		}
	}
	pcp_arm(st, nat_pcp_expire(st->pcp, mono_s(st)));
}

/* RFC 6887 14.1.3 / RFC 6886 3.2.1: tell the LAN (224.0.0.1:5350) when the
 * mapping state starts and when the external address changes. */
static void pcp_announce(struct nat_state *st)
{
	uint8_t pcp[64], pmp[64];
	size_t lp, lm;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(NAT_PCP_CLIENT_PORT)};

	if (!st->pcp_open)
		return;
	to.sin_addr.s_addr = htonl(0xe0000001); /* 224.0.0.1 */
	lp = nat_pcp_announce(st->pcp, mono_s(st), pcp, sizeof(pcp));
	lm = nat_pcp_natpmp_notice(st->pcp, mono_s(st), pmp, sizeof(pmp));
	for (size_t i = 0; i < st->cfg->nlan_devices; i++) {
		const struct gw_iface *ifc = gw_iface_by_name(st->gw->ifaces, st->cfg->lan_devices[i]);
		struct ip_mreqn mr = {0};

		if (!ifc || !ifc->naddrs)
			continue;
		mr.imr_ifindex = ifc->ifindex;
		if (setsockopt(st->pcp_fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0)
			continue;
		if (lp)
			(void)sendto(st->pcp_fd, pcp, lp, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
		if (lm)
			(void)sendto(st->pcp_fd, pmp, lm, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	}
}

static void handle_closed(uv_handle_t *h);

static int pcp_open(struct nat_state *st)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(NAT_PCP_PORT)};
	int one = 1, rc;

	st->pcp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (st->pcp_fd < 0)
		return -errno;
	if (setsockopt(st->pcp_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(st->pcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(st->pcp_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(st->pcp_fd);
		return rc;
	}
	uv_poll_init(st->gw->loop, &st->pcp_poll, st->pcp_fd);
	st->pcp_poll.data = st;
	st->handles++;
	uv_poll_start(&st->pcp_poll, UV_READABLE, on_pcp_readable);
	st->pcp_open = true;
	return 0;
}

static void pcp_close(struct nat_state *st)
{
	if (!st->pcp_open)
		return;
	st->pcp_open = false;
	uv_close((uv_handle_t *)&st->pcp_poll, handle_closed);
	close(st->pcp_fd);
}

/* PCP on or off, lifetimes, after a start or reload. */
static int pcp_apply(struct nat_state *st, bool announce)
{
	const struct nat_config *nc = st->cfg;
	int rc;

	if (!nc->pcp) {
		pcp_close(st);
		return 0;
	}
	if (!st->pcp) {
		st->pcp = nat_pcp_new(&pcp_ops, st, nc->pcp_lifetime_min, nc->pcp_lifetime_max, mono_s(st));
		if (!st->pcp)
			return -ENOMEM;
	}
	nat_pcp_set_lifetimes(st->pcp, nc->pcp_lifetime_min, nc->pcp_lifetime_max);
	if (!st->pcp_open && (rc = pcp_open(st)) < 0) {
		gw_err("nat: pcp: cannot open UDP port %d: %s", NAT_PCP_PORT, strerror(-rc));
		return rc;
	}
	if (announce)
		pcp_announce(st);
	return 0;
}

/* ---- interfaces ---- */

static void on_iface(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *addr)
{
	struct nat_state *st = data;
	struct in_addr wan[NAT_MAX_LIVE];
	struct nat_prefix lan[NAT_MAX_LIVE];
	size_t nwan, nlan;
	struct nat_nft_batch b;
	bool wan_changed;

	(void)ifc;
	(void)addr;
	if (st->stopping || ev == GW_IFACE_CHANGED || !live_read(st, wan, &nwan, lan, &nlan))
		return;
	wan_changed = !same_addrs(wan, nwan, st->wan, st->nwan);
	memcpy(st->wan, wan, nwan * sizeof(*wan));
	st->nwan = nwan;
	memcpy(st->lan, lan, nlan * sizeof(*lan));
	st->nlan = nlan;
	{
		struct nat_nft_spec spec = {st->cfg, st->wan, st->nwan, st->lan, st->nlan, NULL, 0, mono_s(st)};

		nat_nft_batch_init(&b, st->seq);
		if (nat_nft_build_live_sets(&b, &spec) == 0 && nat_nft_batch_end(&b) == 0) {
			st->seq = b.seq_next;
			if (nat_nft_send(st->nft, &b, on_live_sent, st) < 0)
				gw_err("nat: cannot update the address sets");
		} else {
			st->seq = b.seq_next;
			nat_nft_batch_free(&b);
		}
	}
	if (wan_changed) {
		char a[INET_ADDRSTRLEN] = "none";

		if (nwan)
			inet_ntop(AF_INET, &wan[0], a, sizeof(a));
		gw_info("nat: external address now %s", a);
		pcp_announce(st); /* RFC 6887 14.2: clients learn the new external address */
	}
}

/* ---- commands ---- */

static const char *proto_name(uint8_t p) { return p == NAT_TCP ? "tcp" : p == NAT_UDP ? "udp" : p == 1 ? "icmp" : "other"; }

static json_t *jaddr(struct in_addr a, uint16_t port)
{
	char t[INET_ADDRSTRLEN + 8], a4[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, a4, sizeof(a4));
	if (port)
		snprintf(t, sizeof(t), "%s:%u", a4, port);
	else
		snprintf(t, sizeof(t), "%s", a4);
	return json_string(t);
}

static void cmd_nat(struct gw_request *req, int argc, char **argv, void *data)
{
	struct nat_state *st = data;
	const struct nat_config *nc = st->cfg;
	json_t *o = json_object(), *masq = json_array(), *fw = json_array(), *maps = json_array(), *ext = json_array(),
	       *fwl = json_object();
	uint64_t dfwd = 0, din = 0;
	uint32_t now = mono_s(st);

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < nc->nmasq; i++)
		json_array_append_new(masq, json_string(nc->masq[i].iface));
	for (size_t i = 0; i < nc->nforwards; i++) {
		const struct nat_forward *f = &nc->forwards[i];
		json_t *x = json_object();
		char ports[16];

		if (f->first == f->last)
			snprintf(ports, sizeof(ports), "%u", f->first);
		else
			snprintf(ports, sizeof(ports), "%u-%u", f->first, f->last);
		json_object_set_new(x, "proto", json_string(proto_name((uint8_t)f->proto)));
		json_object_set_new(x, "ports", json_string(ports));
		if (f->first == f->last || f->to_port == f->first) {
			json_object_set_new(x, "to", jaddr(f->to, f->to_port));
		} else {
			char to[48], a4[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &f->to, a4, sizeof(a4));
			snprintf(to, sizeof(to), "%s:%u-%u", a4, f->to_port, f->to_port + (f->last - f->first));
			json_object_set_new(x, "to", json_string(to));
		}
		json_array_append_new(fw, x);
	}
	if (st->pcp) {
		size_t cursor = 0;
		const struct nat_pcp_mapping *m;

		while ((m = nat_pcp_next(st->pcp, &cursor))) {
			json_t *x = json_object();

			json_object_set_new(x, "proto", json_string(proto_name(m->proto)));
			json_object_set_new(x, "internal", jaddr(m->client, m->int_port));
			json_object_set_new(x, "external_port", json_integer(m->ext_port));
			json_object_set_new(x, "expires_in", json_integer(m->expires > now ? m->expires - now : 0));
			json_object_set_new(x, "via", json_string(m->natpmp ? "nat-pmp" : "pcp"));
			json_array_append_new(maps, x);
		}
	}
	for (size_t i = 0; i < st->nwan; i++)
		json_array_append_new(ext, jaddr(st->wan[i], 0));
	json_object_set_new(o, "masquerade", masq);
	json_object_set_new(o, "external_addresses", ext);
	json_object_set_new(o, "forwards", fw);
	json_object_set_new(o, "mappings", maps);
	json_object_set_new(o, "hairpin", json_boolean(nc->hairpin));
	json_object_set_new(o, "pcp", json_boolean(nc->pcp));
	json_object_set_new(fwl, "enabled", json_boolean(nc->firewall));
	if (nc->firewall && nat_nft_drop_counters(st->nft, &dfwd, &din) == 0) {
		json_object_set_new(fwl, "dropped_forward", json_integer((json_int_t)dfwd));
		json_object_set_new(fwl, "dropped_input", json_integer((json_int_t)din));
	}
	json_object_set_new(o, "firewall", fwl);
	json_object_set_new(o, "repairs", json_integer((json_int_t)st->repairs));
	json_object_set_new(o, "flows_deleted", json_integer((json_int_t)st->flows_deleted));
	if (st->pcp) {
		const struct nat_pcp_stats *ps = nat_pcp_stats(st->pcp);
		json_t *p = json_object();

		json_object_set_new(p, "requests", json_integer((json_int_t)ps->requests));
		json_object_set_new(p, "dropped_not_lan", json_integer((json_int_t)ps->dropped_not_lan));
		json_object_set_new(p, "dropped_malformed", json_integer((json_int_t)ps->dropped_malformed));
		json_object_set_new(p, "added", json_integer((json_int_t)ps->added));
		json_object_set_new(p, "deleted", json_integer((json_int_t)ps->deleted));
		json_object_set_new(p, "expired", json_integer((json_int_t)ps->expired));
		json_object_set_new(o, "pcp_stats", p);
	}
	gw_request_ok(req, o);
}

/* `nat table`: a conntrack dump from the loop, answered when it ends. The
 * answer is written as text flow by flow while the dump runs (in its
 * chunks): 50,000 json_t objects built and encoded in one loop turn stalled
 * DNS and DHCP answers for ~140 ms. Every string in it is an address, a
 * number or a fixed word: nothing needs escaping. */
struct table_job {
	struct nat_state *st;
	struct gw_request *req;
	struct nat_ct_dump *dump;
	char *buf;
	size_t len, cap;
	size_t total;
	bool oom;
	struct table_job *next;
};

static void job_append(struct table_job *j, const char *text, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t nc = j->cap ? j->cap * 2 : 65536;
		char *b;

		while (nc < j->len + n + 1)
			nc *= 2;
		b = realloc(j->buf, nc);
		if (!b) {
			j->oom = true;
			return;
		}
		j->buf = b;
		j->cap = nc;
	}
	memcpy(j->buf + j->len, text, n);
	j->len += n;
	j->buf[j->len] = 0;
}

static bool in_wan(const struct nat_state *st, struct in_addr a)
{
	for (size_t i = 0; i < st->nwan; i++)
		if (st->wan[i].s_addr == a.s_addr)
			return true;
	return false;
}

static const char *origin(const struct nat_state *st, const struct nat_flow *f)
{
	if (!(f->status & NAT_CT_DST_NAT))
		return "masquerade";
	if ((f->proto == NAT_TCP || f->proto == NAT_UDP) && nat_config_forward(st->cfg, f->proto, f->orig_dport))
		return "forward";
	if (st->pcp) {
		size_t cursor = 0;
		const struct nat_pcp_mapping *m;

		while ((m = nat_pcp_next(st->pcp, &cursor)))
			if (m->proto == f->proto && m->ext_port == f->orig_dport)
				return "pcp";
	}
	return "dnat";
}

static const char *addr_port(struct in_addr a, uint16_t port, char out[INET_ADDRSTRLEN + 8])
{
	char a4[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, a4, sizeof(a4));
	if (port)
		snprintf(out, INET_ADDRSTRLEN + 8, "%s:%u", a4, port);
	else
		snprintf(out, INET_ADDRSTRLEN + 8, "%s", a4);
	return out;
}

static void table_each(void *data, const struct nat_flow *f)
{
	struct table_job *j = data;
	struct in_addr in, out, peer;
	uint16_t inp, outp, peerp;
	char line[384], a[INET_ADDRSTRLEN + 8], b[INET_ADDRSTRLEN + 8], c[INET_ADDRSTRLEN + 8];
	int n;

	if (!nat_flow_view(f, &in, &inp, &out, &outp, &peer, &peerp))
		return;
	/* only what homegwd translates: through an external address */
	if (j->st->nwan && !in_wan(j->st, out))
		return;
	n = snprintf(line, sizeof(line),
		     "%s{\"proto\":\"%s\",\"inside\":\"%s\",\"outside\":\"%s\",\"peer\":\"%s\",\"state\":\"%s\","
		     "\"expires_in\":%u,\"origin\":\"%s\"}",
		     j->total ? "," : "", proto_name(f->proto), addr_port(in, inp, a), addr_port(out, outp, b),
		     addr_port(peer, peerp, c), f->proto == NAT_TCP ? nat_ct_tcp_state(f->tcp_state) : "",
		     f->timeout, origin(j->st, f));
	if (n > 0 && (size_t)n < sizeof(line)) {
		job_append(j, line, (size_t)n);
		j->total++;
	}
}

static void job_unlink(struct table_job *j)
{
	struct table_job **pp = &j->st->jobs;

	while (*pp && *pp != j)
		pp = &(*pp)->next;
	if (*pp)
		*pp = j->next;
}

static void table_done(void *data, int rc)
{
	struct table_job *j = data;
	char tail[64];

	job_unlink(j);
	snprintf(tail, sizeof(tail), "],\"count\":%zu}", j->total);
	job_append(j, tail, strlen(tail));
	if (rc < 0 || j->oom) {
		gw_request_fail(j->req, "conntrack dump failed: %s", strerror(rc < 0 ? -rc : ENOMEM));
		free(j->buf);
	} else {
		gw_request_reply_text(j->req, j->buf);
	}
	free(j);
}

static void cmd_table(struct gw_request *req, int argc, char **argv, void *data)
{
	struct nat_state *st = data;
	struct table_job *j = calloc(1, sizeof(*j));
	static const char head[] = "{\"ok\":true,\"flows\":[";
	int rc;

	(void)argc;
	(void)argv;
	if (!j) {
		gw_request_fail(req, "out of memory");
		return;
	}
	j->st = st;
	j->req = req;
	job_append(j, head, sizeof(head) - 1);
	rc = nat_ct_dump_start(st->gw->loop, table_each, table_done, j, &j->dump);
	if (rc < 0) {
		free(j->buf);
		free(j);
		gw_request_fail(req, "cannot read conntrack: %s", strerror(-rc));
		return;
	}
	j->next = st->jobs;
	st->jobs = j;
}

static const struct gw_command nat_commands[] = {
	{.name = "nat", .min_args = 0, .max_args = 0, .usage = "nat", .fn = cmd_nat},
	{.name = "nat table", .min_args = 0, .max_args = 0, .usage = "nat table", .fn = cmd_table},
};

/* ---- reload: conntrack of forwards that went ---- */

static bool same_forward(const struct nat_forward *a, const struct nat_forward *b)
{
	return a->proto == b->proto && a->first == b->first && a->last == b->last && a->to.s_addr == b->to.s_addr &&
	       a->to_port == b->to_port;
}

/* The forwards of OLD that NEW does not have exactly. */
static void collect_gone(struct nat_state *st, const struct nat_config *old, const struct nat_config *new_nc)
{
	free(st->gone);
	st->gone = calloc(old->nforwards ? old->nforwards : 1, sizeof(*st->gone));
	st->ngone = 0;
	if (!st->gone)
		return;
	for (size_t i = 0; i < old->nforwards; i++) {
		const struct nat_forward *f = &old->forwards[i];
		bool kept = false;

		for (size_t k = 0; new_nc && k < new_nc->nforwards && !kept; k++)
			kept = same_forward(f, &new_nc->forwards[k]);
		if (!kept)
			st->gone[st->ngone++] = (struct nat_gone){(uint8_t)f->proto, f->first, f->last};
	}
}

static bool gone_match(void *data, const struct nat_flow *f)
{
	struct nat_state *st = data;

	if (!(f->status & NAT_CT_DST_NAT) || !in_wan(st, f->orig_dst))
		return false;
	for (size_t i = 0; i < st->ngone; i++)
		if (st->gone[i].proto == f->proto && f->orig_dport >= st->gone[i].first &&
		    f->orig_dport <= st->gone[i].last)
			return true;
	return false;
}

static void gone_deleted(void *data, int rc, size_t deleted)
{
	struct nat_state *st = data;

	st->flows_deleted += deleted;
	if (rc < 0)
		gw_warn("nat: deleting the flows of removed forwards: %s", strerror(-rc));
	else if (deleted)
		gw_info("nat: %zu flow%s of removed or changed forwards deleted", deleted, deleted == 1 ? "" : "s");
	unref(st);
}

static void on_reload_sent(void *data, int rc, unsigned failed)
{
	struct nat_state *st = data;
	char msg[160] = "";
	struct nat_ct_dump *d;

	st->reload_pending = false;
	if (rc < 0) {
		st->batches_failed++;
		log_batch("reload", rc, failed);
		snprintf(msg, sizeof(msg), "nat: the kernel refused the new table: %s", strerror(-rc));
	} else if (st->ngone && nat_ct_delete_start(st->gw->loop, gone_match, gone_deleted, st, &d) == 0) {
		st->handles++;
	}
	gw_module_reload_done(st->gw, &nat_module, rc, rc < 0 ? msg : NULL);
}

/* ---- the module ---- */

static void handle_closed(uv_handle_t *h) { unref(h->data); }

static void nft_closed(void *data) { unref(data); }

static void restore_mappings(struct nat_state *st)
{
	struct nat_pcp_mapping *v = NULL;
	size_t n = 0, kept = 0;
	int rc = nat_nft_dump_pcp(st->nft, mono_s(st), &v, &n);

	if (rc < 0) {
		if (rc != -ENOENT)
			gw_warn("nat: reading the kernel's PCP mappings: %s", strerror(-rc));
		return;
	}
	for (size_t i = 0; i < n && st->pcp; i++)
		if (!pcp_reserved(st, v[i].proto, v[i].ext_port) && nat_pcp_restore(st->pcp, &v[i]) == 0)
			kept++;
	if (n)
		gw_info("nat: %zu PCP mapping%s kept from the kernel", kept, kept == 1 ? "" : "s");
	free(v);
}

static int nat_start(struct gw *gw, const void *cfg, void **state)
{
	struct nat_state *st = calloc(1, sizeof(*st));
	struct nat_nft_batch b;
	unsigned failed = 0;
	int rc;

	if (!st)
		return -ENOMEM;
	st->gw = gw;
	st->cfg = cfg;
	st->seq = (uint32_t)time(NULL);
	uv_timer_init(gw->loop, &st->pcp_timer);
	st->pcp_timer.data = st;
	st->handles = 1; /* the timer */
	rc = nat_nft_open(gw->loop, on_foreign, st, &st->nft);
	if (rc < 0) {
		gw_err("nat: nftables netlink socket: %s", strerror(-rc));
		st->stopping = true;
		uv_close((uv_handle_t *)&st->pcp_timer, handle_closed);
		return rc;
	}
	st->handles++; /* the nft sockets: nft_closed */
	live_refresh(st);
	if (st->cfg->pcp) {
		st->pcp = nat_pcp_new(&pcp_ops, st, st->cfg->pcp_lifetime_min, st->cfg->pcp_lifetime_max, mono_s(st));
		if (st->pcp)
			restore_mappings(st);
	}
	rc = build_replace(st, &b);
	if (rc == 0)
		rc = nat_nft_send_sync(st->nft, &b, &failed);
	if (rc == 0)
		rc = pcp_apply(st, true);
	if (rc < 0) {
		gw_err("nat: cannot install the table inet %s: %s", NAT_NFT_TABLE, strerror(-rc));
		st->stopping = true;
		pcp_close(st);
		if (st->pcp)
			nat_pcp_free(st->pcp);
		st->pcp = NULL;
		uv_close((uv_handle_t *)&st->pcp_timer, handle_closed);
		nat_nft_close(st->nft, nft_closed, st);
		return rc;
	}
	if (st->pcp)
		pcp_arm(st, nat_pcp_expire(st->pcp, mono_s(st)));
	st->iface_sub = gw_iface_subscribe(gw->ifaces, on_iface, st);
	gw_info("nat: table inet %s: %zu masquerade interface%s, %zu forward%s (%zu ports), firewall %s, pcp %s",
		NAT_NFT_TABLE, st->cfg->nmasq, st->cfg->nmasq == 1 ? "" : "s", st->cfg->nforwards,
		st->cfg->nforwards == 1 ? "" : "s", st->cfg->forward_ports, st->cfg->firewall ? "on" : "off",
		st->cfg->pcp ? "on" : "off");
	*state = st;
	return 0;
}

static int nat_reload(struct gw *gw, void *state, const void *old_cfg, const void *new_cfg)
{
	struct nat_state *st = state;
	const struct nat_config *old = old_cfg, *nc = new_cfg;
	struct nat_nft_batch b;
	int rc;

	(void)gw;
	if (!nc) {
		/* the section is gone: the table goes too, then stop() */
		nat_nft_batch_init(&b, st->seq);
		rc = nat_nft_build_delete(&b);
		if (rc == 0)
			rc = nat_nft_batch_end(&b);
		st->seq = b.seq_next;
		if (rc == 0) {
			unsigned failed = 0;

			rc = nat_nft_send_sync(st->nft, &b, &failed);
		} else {
			nat_nft_batch_free(&b);
		}
		if (rc < 0 && rc != -ENOENT)
			gw_err("nat: cannot remove the table inet %s: %s", NAT_NFT_TABLE, strerror(-rc));
		return 0;
	}
	collect_gone(st, old, nc);
	st->cfg = nc;
	live_refresh(st);
	if (st->pcp && nc->pcp)
		nat_pcp_drop_reserved(st->pcp, mono_s(st)); /* a new forward over a mapping wins */
	if (!nc->pcp && st->pcp) {
		nat_pcp_free(st->pcp);
		st->pcp = NULL;
	}
	nat_nft_batch_init(&b, st->seq);
	if (nat_config_same_shape(old, nc)) {
		rc = nat_nft_build_forward_diff(&b, old, nc);
		if (rc == 0)
			rc = nat_nft_batch_end(&b);
		st->seq = b.seq_next;
	} else {
		nat_nft_batch_free(&b);
		rc = build_replace(st, &b);
	}
	if (rc == 0)
		rc = nat_nft_send(st->nft, &b, on_reload_sent, st);
	else
		nat_nft_batch_free(&b);
	if (rc < 0)
		return rc;
	st->reload_pending = true;
	if (pcp_apply(st, false) < 0)
		gw_warn("nat: pcp is not available");
	return GW_RELOAD_PENDING;
}

static void nat_stop(struct gw *gw, void *state)
{
	struct nat_state *st = state;

	st->stopping = true;
	gw_iface_unsubscribe(gw->ifaces, st->iface_sub);
	while (st->jobs) {
		struct table_job *j = st->jobs;

		st->jobs = j->next;
		nat_ct_dump_cancel(j->dump);
		free(j->buf);
		gw_request_fail(j->req, "nat is stopping");
		free(j);
	}
	pcp_close(st);
	if (st->pcp)
		nat_pcp_free(st->pcp);
	st->pcp = NULL;
	free(st->gone);
	st->gone = NULL;
	st->ngone = 0;
	/* the table stays (CONFIG.md): a restart must not interrupt traffic */
	uv_close((uv_handle_t *)&st->pcp_timer, handle_closed);
	nat_nft_close(st->nft, nft_closed, st);
}

static void nat_summary(void *state, char *buf, size_t len)
{
	struct nat_state *st = state;

	snprintf(buf, len, "%zu masquerade, %zu forward%s, %zu PCP mapping%s", st->cfg->nmasq, st->cfg->nforwards,
		 st->cfg->nforwards == 1 ? "" : "s", st->pcp ? nat_pcp_count(st->pcp) : 0,
		 st->pcp && nat_pcp_count(st->pcp) == 1 ? "" : "s");
}

static const char *const nat_sections[] = {"nat", NULL};

const struct gw_module nat_module = {
	.name = "nat",
	.sections = nat_sections,
	.configure = nat_configure,
	.start = nat_start,
	.reload = nat_reload,
	.stop = nat_stop,
	.free_config = nat_config_free,
	.summary = nat_summary,
	.commands = nat_commands,
	.ncommands = sizeof(nat_commands) / sizeof(nat_commands[0]),
};
