/* igmp_db.c — the per-link querier and membership database, and the proxy
 * merge (see igmp_db.h for the model and the RFC sections).
 *
 * Timers are deadlines in the caller's milliseconds. A source timer of 0
 * in EXCLUDE mode is RFC 3376's "timer is zero" (the source is in the
 * excluded list Y); everywhere else 0 means "not running". Every deadline
 * that is set goes through arm(), which keeps l->next at or below the
 * earliest one, so a pass over the groups is needed only when l->next has
 * come; the pass recomputes it exactly. Input runs the due timers first,
 * so a record never meets a timer that has run out unprocessed.
 *
 * The tables of RFC 3376 6.4 are data: each row says, for every class of
 * source (only in the old state, in both, only in the record; requested
 * or excluded), what becomes of it (kept, deleted, timer to GMI, to the
 * group timer, to 0) and whether it goes into the row's Q(G,S); one merge
 * of the sorted old list with the sorted record applies it. */
#include "igmp_db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct igmp_src {
	uint32_t addr;	   /* host order: the array is sorted by it */
	uint8_t retx_left; /* Q(G,S) retransmissions to go (RFC 3376 6.6.3.2) */
	bool mark;	   /* scratch: in the Q(G,S) the current record asks for */
	uint64_t timer;	   /* deadline; 0: excluded (EXCLUDE mode) */
	uint64_t retx_at;
};

struct igmp_host {
	uint32_t addr;
	uint64_t expires;
};

struct igmp_group {
	struct igmp_group *next; /* hash chain */
	uint32_t addr;
	bool exclude;
	uint8_t gq_left; /* Q(G) retransmissions to go (6.6.3.1) */
	uint64_t timer;	 /* group timer (EXCLUDE mode) */
	uint64_t gq_at;
	uint64_t v1_host, v2_host; /* older version host present timers (7.3.2) */
	uint64_t hosts_unknown;	   /* a reporter we could not track was heard; until */
	uint32_t nsrc;
	struct igmp_src *src;
	uint32_t nhosts, host_cap;
	struct igmp_host hosts[];
};

struct igmp_link {
	struct igmp_link_params p;
	struct igmp_link_ops ops;
	void *ctx;
	struct igmp_group **bucket;
	unsigned bits; /* 1 << bits buckets */
	uint32_t ngroups;
	uint32_t max_groups_hi, max_sources_hi; /* the largest caps ever in force (reconfigure) */
	/* querier (RFC 3376 6.6) */
	bool querier;
	uint32_t us, querier_addr; /* host order */
	unsigned startup_left;
	unsigned rv;	   /* robustness in force: ours, or the querier's QRV */
	uint32_t qi;	   /* query interval in force */
	uint64_t query_at; /* our next general query (querier) */
	uint64_t oqp;	   /* Other Querier Present timer (not querier) */
	uint64_t next;	   /* at or below every deadline */
	struct igmp_link_stats st;
};

/* ---- Helpers ---- */

static uint64_t arm(struct igmp_link *l, uint64_t t)
{
	if (t < l->next)
		l->next = t;
	return t;
}

static uint64_t left(uint64_t t, uint64_t now)
{
	return t > now ? t - now : 0;
}

/* RFC 3376 8.4, 8.5, 8.7, 8.13 with the values in force */
static uint64_t gmi(const struct igmp_link *l)
{
	return (uint64_t)l->rv * l->qi + l->p.query_response_ms;
}

static uint64_t oqpi(const struct igmp_link *l)
{
	return (uint64_t)l->rv * l->qi + l->p.query_response_ms / 2;
}

static uint64_t lmqt(const struct igmp_link *l)
{
	return (uint64_t)l->rv * l->p.last_member_ms;
}

static struct in_addr in4(uint32_t host_order)
{
	struct in_addr a = {htonl(host_order)};
	return a;
}

static int compat(const struct igmp_group *g, uint64_t now)
{
	if (g->v1_host > now)
		return 1;
	if (g->v2_host > now)
		return 2;
	return 3;
}

static unsigned bucket_of(const struct igmp_link *l, uint32_t addr)
{
	return (unsigned)((addr * 2654435761u) >> (32 - l->bits));
}

static struct igmp_group *find(const struct igmp_link *l, uint32_t addr)
{
	for (struct igmp_group *g = l->bucket[bucket_of(l, addr)]; g; g = g->next)
		if (g->addr == addr)
			return g;
	return NULL;
}

static struct igmp_src *src_find(const struct igmp_group *g, uint32_t addr)
{
	size_t lo = 0, hi = g->nsrc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->src[mid].addr == addr)
			return &g->src[mid];
		if (g->src[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void notify_changed(struct igmp_link *l, uint32_t group)
{
	if (l->ops.changed)
		l->ops.changed(l->ctx, l, in4(group));
}

/* ---- Groups ---- */

static struct igmp_group *group_new(struct igmp_link *l, uint32_t addr)
{
	struct igmp_budget *b = l->p.budget;

	if (l->ngroups >= l->p.max_groups) {
		l->st.drop_group_cap++;
		return NULL;
	}
	if (b && b->max_groups && b->groups >= b->max_groups) {
		l->st.drop_total_cap++;
		return NULL;
	}
	struct igmp_group *g = calloc(1, sizeof(*g) + l->p.max_hosts * sizeof(struct igmp_host));
	if (!g)
		return NULL;
	g->addr = addr;
	g->host_cap = l->p.max_hosts;
	unsigned i = bucket_of(l, addr);
	g->next = l->bucket[i];
	l->bucket[i] = g;
	l->ngroups++;
	if (b)
		b->groups++;
	return g; /* INCLUDE {}: no state yet */
}

static void group_free(struct igmp_link *l, struct igmp_group *g)
{
	struct igmp_group **pp = &l->bucket[bucket_of(l, g->addr)];

	while (*pp != g)
		pp = &(*pp)->next;
	*pp = g->next;
	l->ngroups--;
	if (l->p.budget && l->p.budget->groups)
		l->p.budget->groups--;
	free(g->src);
	free(g);
}

/* May GROUP be proxied at all? Counted when not. */
static bool admit(struct igmp_link *l, uint32_t group)
{
	if (group >> 28 != 0xe) {
		l->st.drop_bad_group++;
		return false;
	}
	/* RFC 4605 / the issue: the link-local block is never proxied */
	if ((group & 0xffffff00u) == 0xe0000000u) {
		l->st.drop_local++;
		return false;
	}
	if (l->ops.allow && !l->ops.allow(l->ctx, in4(group))) {
		l->st.drop_policy++;
		return false;
	}
	return true;
}

/* ---- Hosts (quickleave) ---- */

static struct igmp_host *host_find(struct igmp_group *g, uint32_t addr)
{
	for (uint32_t i = 0; i < g->nhosts; i++)
		if (g->hosts[i].addr == addr)
			return &g->hosts[i];
	return NULL;
}

/* A report from HOST showing interest: tracked for GMI, like the group
 * state the report keeps alive. A reporter that does not fit, or that
 * hides behind 0.0.0.0 (RFC 3376 4.2.13 allows it), makes the host count
 * unknown for as long: quickleave is then off for the group. */
static void host_seen(struct igmp_link *l, struct igmp_group *g, uint32_t addr, uint64_t now)
{
	uint64_t until = arm(l, now + gmi(l));
	struct igmp_host *h = addr ? host_find(g, addr) : NULL;

	if (h) {
		h->expires = until;
	} else if (addr && g->nhosts < g->host_cap) {
		g->hosts[g->nhosts].addr = addr;
		g->hosts[g->nhosts].expires = until;
		g->nhosts++;
	} else {
		g->hosts_unknown = until;
	}
}

static void host_gone(struct igmp_group *g, uint32_t addr)
{
	struct igmp_host *h = addr ? host_find(g, addr) : NULL;

	if (h)
		*h = g->hosts[--g->nhosts];
}

/* Is HOST the only member we know of? */
static bool sole_host(const struct igmp_link *l, const struct igmp_group *g, uint32_t addr, uint64_t now)
{
	return l->p.quickleave && addr && g->nhosts == 1 && g->hosts[0].addr == addr &&
	       g->hosts_unknown <= now;
}

/* ---- Sending queries ---- */

static void emit(struct igmp_link *l, uint32_t group, const struct in_addr *srcs, size_t n, bool s_flag)
{
	struct igmp_query q = {
		.version = l->p.version,
		.group = in4(group),
		.srcs = srcs,
		.nsrc = n,
		/* RFC 3376 8.3 / 8.8: QRI for general queries, LMQI for specific ones */
		.max_resp_ms = group ? l->p.last_member_ms : l->p.query_response_ms,
		.s_flag = s_flag,
		.qrv = l->rv > 7 ? 0 : (uint8_t)l->rv,
		.qqi_s = l->qi / 1000,
	};

	l->st.queries_sent++;
	l->ops.send_query(l->ctx, l, &q);
}

static void general_query(struct igmp_link *l, uint64_t now)
{
	emit(l, 0, NULL, 0, false);
	/* RFC 3376 8.6/8.7: Startup Query Count queries QI/4 apart, then QI */
	if (l->startup_left)
		l->startup_left--;
	l->query_at = arm(l, now + (l->startup_left ? l->p.query_interval_ms / 4 : l->qi));
}

/* Q(G): RFC 3376 6.6.3.1. FIRST: the table asked for it now (the group
 * timer is lowered to LMQT, LMQC - 1 retransmissions follow); else a
 * retransmission. The S flag tells other routers not to lower their timers
 * when ours is above LMQT (a report came in between). */
static void send_qg(struct igmp_link *l, struct igmp_group *g, uint64_t now, bool first)
{
	uint64_t t = lmqt(l);

	if (first && g->exclude && g->timer > now + t)
		g->timer = arm(l, now + t);
	emit(l, g->addr, NULL, 0, g->exclude && g->timer > now + t);
	if (first)
		g->gq_left = (uint8_t)(l->rv - 1);
	else
		g->gq_left--;
	if (g->gq_left)
		g->gq_at = arm(l, now + l->p.last_member_ms);
}

/* One Q(G,S) pass with S flag S_FLAG over the sources SEL picks, in
 * packets of at most IGMP_V3_MAX_SOURCES. */
static void emit_sources(struct igmp_link *l, struct igmp_group *g, uint64_t now, bool first, bool s_flag)
{
	struct in_addr buf[IGMP_V3_MAX_SOURCES];
	uint64_t t = lmqt(l);
	size_t n = 0;

	for (uint32_t i = 0; i < g->nsrc; i++) {
		struct igmp_src *s = &g->src[i];
		bool sel = first ? s->mark : s->retx_left && s->retx_at <= now;

		if (!sel || (s->timer > now + t) != s_flag)
			continue;
		buf[n++] = in4(s->addr);
		if (n == IGMP_V3_MAX_SOURCES) {
			emit(l, g->addr, buf, n, s_flag);
			n = 0;
		}
	}
	if (n)
		emit(l, g->addr, buf, n, s_flag);
}

static void clear_source_retransmissions(struct igmp_group *g)
{
	for (uint32_t j = 0; j < g->nsrc; j++)
		g->src[j].retx_left = 0;
}

/* Q(G,X): RFC 3376 6.6.3.2. FIRST: the marked sources, their timers
 * lowered to LMQT, sent now and LMQC - 1 more times; else the sources
 * whose retransmission is due. Two queries per pass: S clear for sources
 * at or below LMQT, S set for those above. A v2 querier has no such query. */
static void send_qgs(struct igmp_link *l, struct igmp_group *g, uint64_t now, bool first)
{
	uint64_t t = lmqt(l);

	if (l->p.version < 3) {
		clear_source_retransmissions(g);
		return;
	}
	if (first)
		for (uint32_t i = 0; i < g->nsrc; i++)
			if (g->src[i].mark && g->src[i].timer > now + t)
				g->src[i].timer = arm(l, now + t);
	emit_sources(l, g, now, first, false);
	emit_sources(l, g, now, first, true);
	for (uint32_t i = 0; i < g->nsrc; i++) {
		struct igmp_src *s = &g->src[i];

		if (first ? s->mark : s->retx_left && s->retx_at <= now) {
			s->retx_left = first ? (uint8_t)(l->rv - 1) : (uint8_t)(s->retx_left - 1);
			if (s->retx_left)
				s->retx_at = arm(l, now + l->p.last_member_ms);
		}
	}
}

/* ---- The tables of RFC 3376 6.4 ---- */

enum src_class {
	OLD_X,
	OLD_Y,
	BOTH_X,
	BOTH_Y,
	NEW,
	N_CLASS
};
enum src_op {
	KEEP,
	DEL,
	TO_GMI,
	TO_GT,
	TO_ZERO
};
#define QRY 0x10 /* into the row's Q(G,S) */

struct rule {
	uint8_t op[N_CLASS]; /* src_op | QRY; NEW with DEL: not added */
	int8_t mode;	     /* -1 unchanged, 0 INCLUDE, 1 EXCLUDE */
	bool timer_gmi;	     /* Group Timer = GMI */
	bool send_qg;	     /* Send Q(G) */
};

/* One row per line: what becomes of each class of source, then the
 * filter mode after (-1: unchanged), Group Timer = GMI, Send Q(G). */
#define R(name, ...) static const struct rule name = {__VA_ARGS__}
/* clang-format off */
/*                 OLD_X       OLD_Y  BOTH_X      BOTH_Y  NEW           mode  GT=GMI Q(G) */
R(in_is_in,       {KEEP,       KEEP,  TO_GMI,     KEEP,   TO_GMI},      -1,  false, false);
R(in_is_ex,       {DEL,        KEEP,  KEEP,       KEEP,   TO_ZERO},      1,  true,  false);
R(in_to_ex,       {DEL,        KEEP,  KEEP | QRY, KEEP,   TO_ZERO},      1,  true,  false);
R(in_to_in,       {KEEP | QRY, KEEP,  TO_GMI,     KEEP,   TO_GMI},      -1,  false, false);
R(in_block,       {KEEP,       KEEP,  KEEP | QRY, KEEP,   DEL},         -1,  false, false);
R(ex_is_in,       {KEEP,       KEEP,  TO_GMI,     TO_GMI, TO_GMI},      -1,  false, false);
R(ex_is_ex,       {DEL,        DEL,   KEEP,       KEEP,   TO_GMI},      -1,  true,  false);
R(ex_to_ex,       {DEL,        DEL,   KEEP | QRY, KEEP,   TO_GT | QRY}, -1,  true,  false);
R(ex_to_in,       {KEEP | QRY, KEEP,  TO_GMI,     TO_GMI, TO_GMI},      -1,  false, true);
R(ex_block,       {KEEP,       KEEP,  KEEP | QRY, KEEP,   TO_GT | QRY}, -1,  false, false);
/* quickleave: the one host's report is the whole truth, applied at once */
R(in_to_in_quick, {DEL,        KEEP,  TO_GMI,     KEEP,   TO_GMI},      -1,  false, false);
R(in_block_quick, {KEEP,       KEEP,  DEL,        KEEP,   DEL},         -1,  false, false);
R(ex_to_in_quick, {DEL,        DEL,   TO_GMI,     TO_GMI, TO_GMI},       0,  false, false);
R(ex_block_quick, {KEEP,       KEEP,  TO_ZERO,    KEEP,   TO_ZERO},     -1,  false, false);
/* clang-format on */
#undef R

static const struct rule *pick_rule(bool exclude, int type, bool quick)
{
	switch (type) {
	case IGMP_MODE_IS_INCLUDE:
	case IGMP_ALLOW_NEW_SOURCES:
		return exclude ? &ex_is_in : &in_is_in;
	case IGMP_MODE_IS_EXCLUDE:
		return exclude ? &ex_is_ex : &in_is_ex;
	case IGMP_CHANGE_TO_EXCLUDE:
		return exclude ? &ex_to_ex : &in_to_ex;
	case IGMP_CHANGE_TO_INCLUDE:
		if (quick)
			return exclude ? &ex_to_in_quick : &in_to_in_quick;
		return exclude ? &ex_to_in : &in_to_in;
	default: /* IGMP_BLOCK_OLD_SOURCES */
		if (quick)
			return exclude ? &ex_block_quick : &in_block_quick;
		return exclude ? &ex_block : &in_block;
	}
}

/* What igmp_link_wants reads: INCLUDE, all sources; EXCLUDE, those at 0. */
static bool same_view(const struct igmp_src *a, size_t na, bool ea, const struct igmp_src *b, size_t nb,
		      bool eb)
{
	size_t i = 0, j = 0;

	if (ea != eb)
		return false;
	for (;;) {
		while (ea && i < na && a[i].timer)
			i++;
		while (eb && j < nb && b[j].timer)
			j++;
		if (i == na || j == nb)
			return i == na && j == nb;
		if (a[i++].addr != b[j++].addr)
			return false;
	}
}

static enum src_class classify(const struct igmp_src *s, bool in_record)
{
	if (!s)
		return NEW;
	if (in_record)
		return s->timer ? BOTH_X : BOTH_Y;
	return s->timer ? OLD_X : OLD_Y;
}

/* A walk over the old sources of G and the record's B (both sorted)
 * together: each address once, with its old record (NULL if new) and
 * its class. */
struct walk {
	const struct igmp_group *g;
	const uint32_t *b;
	size_t nb, i, j;
};

static bool walk_next(struct walk *w, const struct igmp_src **s, uint32_t *addr, enum src_class *c)
{
	const struct igmp_group *g = w->g;
	bool both = false;

	*s = NULL;
	if (w->i == g->nsrc && w->j == w->nb)
		return false;
	if (w->j == w->nb || (w->i < g->nsrc && g->src[w->i].addr < w->b[w->j])) {
		*s = &g->src[w->i++];
	} else if (w->i == g->nsrc || w->b[w->j] < g->src[w->i].addr) {
		*addr = w->b[w->j++];
	} else {
		*s = &g->src[w->i++];
		w->j++;
		both = true;
	}
	if (*s)
		*addr = (*s)->addr;
	*c = classify(*s, both);
	return true;
}

/* Apply rule RU with the record's sources B to G. *DIRTY: the forwarding
 * view changed. -ENOMEM leaves G as it was. */
static int apply_rule(struct igmp_link *l, struct igmp_group *g, const struct rule *ru, const uint32_t *b,
		      size_t nb, uint64_t now, bool *dirty)
{
	size_t kept = 0, added = 0, room, k = 0;
	struct walk w = {g, b, nb, 0, 0};
	const struct igmp_src *s;
	enum src_class c;
	uint32_t a;

	/* first the count: sources a row deletes make room for new ones */
	while (walk_next(&w, &s, &a, &c))
		if ((ru->op[c] & 0x0f) != DEL)
			*(c == NEW ? &added : &kept) += 1;
	room = kept < l->p.max_sources ? l->p.max_sources - kept : 0;
	if (added > room) {
		l->st.drop_source_cap += added - room;
		added = room;
	}
	struct igmp_src *out = NULL;
	if (kept + added) {
		out = calloc(kept + added, sizeof(*out));
		if (!out)
			return -ENOMEM;
	}
	w = (struct walk){g, b, nb, 0, 0};
	while (walk_next(&w, &s, &a, &c)) {
		uint8_t op = ru->op[c] & 0x0f;
		struct igmp_src n = {.addr = a};

		if (op == DEL || (c == NEW && added == 0))
			continue; /* deleted, or a new source past the cap */
		if (s)
			n = *s;
		else
			added--;
		if (op == TO_GMI) {
			n.timer = arm(l, now + gmi(l));
		} else if (op == TO_GT) {
			n.timer = g->timer; /* EXCLUDE mode: running, already armed */
		} else if (op == TO_ZERO) {
			n.timer = 0;
			n.retx_left = 0;
		}
		n.mark = (ru->op[c] & QRY) && n.timer > now;
		out[k++] = n;
	}

	bool exclude = ru->mode < 0 ? g->exclude : ru->mode;
	*dirty = !same_view(g->src, g->nsrc, g->exclude, out, k, exclude);
	free(g->src);
	g->src = out;
	g->nsrc = (uint32_t)k;
	g->exclude = exclude;
	if (ru->timer_gmi)
		g->timer = arm(l, now + gmi(l));
	if (!exclude)
		g->timer = 0, g->gq_left = 0;
	return 0;
}

/* After a change to G: drop it when no state is left (INCLUDE {}), and
 * tell the glue when what it forwards changed. */
static void finish(struct igmp_link *l, struct igmp_group *g, bool dirty)
{
	uint32_t addr = g->addr;

	if (!g->exclude && g->nsrc == 0)
		group_free(l, g);
	if (dirty)
		notify_changed(l, addr);
}

/* One record (or a v1/v2 message as its v3 equivalent) on existing G. */
static void apply_record(struct igmp_link *l, struct igmp_group *g, int type, const uint32_t *b, size_t nb,
			 uint32_t host, uint64_t now)
{
	bool leaving = type == IGMP_CHANGE_TO_INCLUDE || type == IGMP_BLOCK_OLD_SOURCES;
	bool quick = leaving && sole_host(l, g, host, now);
	bool was_exclude = g->exclude, dirty = false;
	const struct rule *ru = pick_rule(g->exclude, type, quick);

	if (apply_rule(l, g, ru, b, nb, now, &dirty) < 0) {
		finish(l, g, false);
		return;
	}
	/* RFC 3376 6.6.3: only the querier sends, and lowers timers on it */
	if (l->querier) {
		send_qgs(l, g, now, true);
		if (ru->send_qg)
			send_qg(l, g, now, true);
	}
	for (uint32_t i = 0; i < g->nsrc; i++)
		g->src[i].mark = false;
	if (type == IGMP_CHANGE_TO_INCLUDE && nb == 0)
		host_gone(g, host); /* the host left the group */
	else if (!(type == IGMP_BLOCK_OLD_SOURCES && !was_exclude))
		host_seen(l, g, host, now);
	if (quick)
		l->st.quick_leaves++;
	finish(l, g, dirty);
}

static bool creates_state(int type, size_t nb)
{
	return type == IGMP_MODE_IS_EXCLUDE || type == IGMP_CHANGE_TO_EXCLUDE ||
	       (type != IGMP_BLOCK_OLD_SOURCES && nb > 0);
}

/* A link configured for v2 is an RFC 2236 router: any interest is a
 * report, TO_IN {} a leave, BLOCK nothing it can act on. False: ignore. */
static bool v2_translate(struct igmp_link *l, int *type, size_t *nb)
{
	if (*type == IGMP_BLOCK_OLD_SOURCES) {
		l->st.ignored_compat++;
		return false;
	}
	if (*type == IGMP_MODE_IS_INCLUDE && *nb == 0)
		return false;
	if (!(*type == IGMP_CHANGE_TO_INCLUDE && *nb == 0))
		*type = IGMP_MODE_IS_EXCLUDE;
	*nb = 0;
	return true;
}

/* A v3 group record, after the policy and the compatibility rules. */
static void record(struct igmp_link *l, int type, uint32_t group, const uint32_t *b, size_t nb, uint32_t host,
		   uint64_t now)
{
	struct igmp_group *g;

	if (!admit(l, group))
		return;
	if (l->p.version == 2 && !v2_translate(l, &type, &nb))
		return;
	g = find(l, group);
	if (g && compat(g, now) < 3) {
		/* RFC 3376 7.3.2: older hosts want every source */
		if (type == IGMP_BLOCK_OLD_SOURCES) {
			l->st.ignored_compat++;
			return;
		}
		if (type == IGMP_MODE_IS_EXCLUDE || type == IGMP_CHANGE_TO_EXCLUDE)
			nb = 0;
		/* RFC 2236 5: a v2 router takes no leave while v1 hosts are there */
		if (l->p.version == 2 && compat(g, now) == 1 && type == IGMP_CHANGE_TO_INCLUDE) {
			l->st.ignored_compat++;
			return;
		}
	}
	if (!g) {
		if (!creates_state(type, nb))
			return;
		g = group_new(l, group);
		if (!g)
			return;
	}
	l->st.records++;
	apply_record(l, g, type, b, nb, host, now);
}

/* ---- Messages ---- */

static void v12_report(struct igmp_link *l, uint32_t group, uint32_t host, int version, uint64_t now)
{
	struct igmp_group *g;

	if (!admit(l, group))
		return;
	g = find(l, group);
	if (!g)
		g = group_new(l, group);
	if (!g)
		return;
	/* RFC 3376 7.3.2: Older Host Present Interval = GMI */
	if (version == 1)
		g->v1_host = arm(l, now + gmi(l));
	else
		g->v2_host = arm(l, now + gmi(l));
	apply_record(l, g, IGMP_MODE_IS_EXCLUDE, NULL, 0, host, now);
}

static void v2_leave(struct igmp_link *l, uint32_t group, uint32_t host, uint64_t now)
{
	struct igmp_group *g;

	if (!admit(l, group))
		return;
	g = find(l, group);
	if (!g)
		return;
	if (compat(g, now) == 1) {
		/* RFC 3376 7.3.2, RFC 2236 5: v1 hosts never leave; a query would lose them */
		l->st.ignored_compat++;
		return;
	}
	apply_record(l, g, IGMP_CHANGE_TO_INCLUDE, NULL, 0, host, now);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The record's sources, host order, sorted, without duplicates. */
static size_t record_sources(const struct igmp_record *r, uint32_t *out)
{
	size_t n = r->nsrc > IGMP_V3_MAX_SOURCES ? IGMP_V3_MAX_SOURCES : r->nsrc, k = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t a;

		memcpy(&a, r->srcs + 4 * i, 4);
		out[i] = ntohl(a);
	}
	qsort(out, n, sizeof(*out), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || out[k - 1] != out[i])
			out[k++] = out[i];
	return k;
}

static void v3_report(struct igmp_link *l, const struct igmp_msg *m, uint32_t host, uint64_t now)
{
	uint32_t b[IGMP_V3_MAX_SOURCES];
	struct igmp_record r;
	size_t cursor = 0;

	while (igmp_record_next(m, &cursor, &r)) {
		if (r.type < IGMP_MODE_IS_INCLUDE || r.type > IGMP_BLOCK_OLD_SOURCES) {
			l->st.drop_record_type++; /* RFC 3376 4.2.12 */
			continue;
		}
		size_t nb = record_sources(&r, b);
		record(l, r.type, ntohl(r.group.s_addr), b, nb, host, now);
	}
}

static void clear_retransmissions(struct igmp_link *l)
{
	for (unsigned i = 0; i < 1u << l->bits; i++)
		for (struct igmp_group *g = l->bucket[i]; g; g = g->next) {
			g->gq_left = 0;
			clear_source_retransmissions(g);
		}
}

/* RFC 3376 4.1.6 / 4.1.7: a non-querier takes the querier's robustness and
 * interval, falling back to ours when they are 0 (or a v1/v2 query has
 * none); the interval is bounded (see IGMP_MAX_ADOPTED_QI_MS). */
static void adopt(struct igmp_link *l, const struct igmp_msg *m)
{
	uint64_t qi = (uint64_t)m->qqi_s * 1000;

	l->rv = m->query_version == 3 && m->qrv ? m->qrv : l->p.robustness;
	if (m->query_version != 3 || qi == 0)
		qi = l->p.query_interval_ms;
	l->qi = (uint32_t)(qi > IGMP_MAX_ADOPTED_QI_MS ? IGMP_MAX_ADOPTED_QI_MS : qi);
}

/* RFC 3376 6.6.1 (RFC 2236 3): a non-querier lowers its timers on the
 * querier's group(-and-source)-specific queries unless S is set, to LMQC x
 * the query's Max Resp Time (ours when a foreign querier says 0). */
static void lower_on_query(struct igmp_link *l, const struct igmp_msg *m, uint64_t now)
{
	uint32_t group = ntohl(m->group.s_addr);
	struct igmp_group *g = find(l, group);
	uint64_t t = (uint64_t)l->rv * (m->max_resp_ms ? m->max_resp_ms : l->p.last_member_ms);

	if (!g || m->s_flag || m->query_version == 1)
		return;
	if (m->nsrc == 0) {
		if (g->exclude && g->timer > now + t)
			g->timer = arm(l, now + t);
		return;
	}
	for (size_t i = 0; i < m->nsrc && i < IGMP_V3_MAX_SOURCES; i++) {
		uint32_t a;

		memcpy(&a, m->srcs + 4 * i, 4);
		struct igmp_src *s = src_find(g, ntohl(a));
		if (s && s->timer > now + t)
			s->timer = arm(l, now + t);
	}
}

static void on_query(struct igmp_link *l, const struct igmp_msg *m, uint64_t now)
{
	uint32_t src = ntohl(m->ip_src.s_addr);
	bool new_querier = false;

	/* 0.0.0.0 is a snooping switch's proxy query (RFC 4541 2.1.1): not a
	 * router, no election; our own address is our own query looped back */
	if (src == 0 || src == l->us) {
		l->st.query_ignored++;
		return;
	}
	l->st.queries_received++;
	if (m->query_version != l->p.version)
		l->st.query_other_version++;
	if (src > l->us)
		return; /* we (or a lower router still) win the election */
	/* RFC 3376 6.6.2: the lowest address is the querier */
	if (src < l->querier_addr) {
		l->querier_addr = src;
		new_querier = true;
	}
	if (l->querier) {
		l->querier = false;
		l->startup_left = 0;
		clear_retransmissions(l);
	}
	if (src == l->querier_addr)
		adopt(l, m);
	l->oqp = arm(l, now + oqpi(l));
	if (new_querier && l->ops.querier_changed)
		l->ops.querier_changed(l->ctx, l, false, in4(src));
	if (m->group.s_addr)
		lower_on_query(l, m, now);
}

/* ---- Timers ---- */

static void become_querier(struct igmp_link *l, uint64_t now)
{
	l->querier = true;
	l->querier_addr = l->us;
	l->rv = l->p.robustness;
	l->qi = l->p.query_interval_ms;
	l->oqp = 0;
	if (l->ops.querier_changed)
		l->ops.querier_changed(l->ctx, l, true, l->p.addr);
	/* RFC 3376 6.6.2: the Other Querier Present timer ran out: query */
	general_query(l, now);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The earliest deadline of G (IGMP_NEVER if none). */
static uint64_t group_next(const struct igmp_group *g)
{
	uint64_t t = IGMP_NEVER;

	for (uint32_t i = 0; i < g->nhosts; i++)
		t = min64(t, g->hosts[i].expires);
	if (g->hosts_unknown)
		t = min64(t, g->hosts_unknown);
	if (g->v1_host)
		t = min64(t, g->v1_host);
	if (g->v2_host)
		t = min64(t, g->v2_host);
	if (g->exclude)
		t = min64(t, g->timer);
	if (g->gq_left)
		t = min64(t, g->gq_at);
	for (uint32_t i = 0; i < g->nsrc; i++) {
		if (g->src[i].timer)
			t = min64(t, g->src[i].timer);
		if (g->src[i].retx_left)
			t = min64(t, g->src[i].retx_at);
	}
	return t;
}

static void expire_hosts(struct igmp_group *g, uint64_t now)
{
	for (uint32_t i = 0; i < g->nhosts;)
		if (g->hosts[i].expires <= now)
			g->hosts[i] = g->hosts[--g->nhosts];
		else
			i++;
	if (g->hosts_unknown <= now)
		g->hosts_unknown = 0;
	if (g->v1_host <= now)
		g->v1_host = 0;
	if (g->v2_host <= now)
		g->v2_host = 0;
}

/* RFC 3376 6.3 / 6.5: source timers, then the group timer. True when
 * the forwarding view changed. */
static bool expire_sources(struct igmp_group *g, uint64_t now)
{
	bool dirty = false;
	uint32_t k = 0;

	for (uint32_t i = 0; i < g->nsrc; i++) {
		struct igmp_src s = g->src[i];

		if (s.timer && s.timer <= now) {
			dirty = true;
			if (!g->exclude)
				continue; /* INCLUDE: the source goes */
			s.timer = 0;	  /* EXCLUDE: it stops being forwarded */
			s.retx_left = 0;
		}
		g->src[k++] = s;
	}
	g->nsrc = k;
	if (g->exclude && g->timer <= now) {
		/* 6.5: back to INCLUDE with the sources still running */
		k = 0;
		for (uint32_t i = 0; i < g->nsrc; i++)
			if (g->src[i].timer)
				g->src[k++] = g->src[i];
		g->nsrc = k;
		g->exclude = false;
		g->timer = 0;
		g->gq_left = 0;
		dirty = true;
	}
	return dirty;
}

/* Everything due on G by NOW. */
static void group_due(struct igmp_link *l, struct igmp_group *g, uint64_t now)
{
	uint32_t addr = g->addr;

	expire_hosts(g, now);
	bool dirty = expire_sources(g, now);
	if (!g->exclude && g->nsrc == 0) {
		group_free(l, g);
		l->st.groups_expired++;
		notify_changed(l, addr);
		return;
	}
	if (l->querier) {
		if (g->gq_left && g->gq_at <= now)
			send_qg(l, g, now, false);
		send_qgs(l, g, now, false);
	}
	if (dirty)
		notify_changed(l, addr);
}

static void run_timers(struct igmp_link *l, uint64_t now)
{
	l->next = IGMP_NEVER;
	if (l->querier && l->query_at <= now)
		general_query(l, now);
	else if (!l->querier && l->oqp <= now)
		become_querier(l, now);
	for (unsigned i = 0; i < 1u << l->bits; i++) {
		struct igmp_group *g = l->bucket[i], *next;

		for (; g; g = next) {
			next = g->next;
			if (group_next(g) <= now)
				group_due(l, g, now);
		}
	}
	/* exact again: the querier's deadline and every group's */
	l->next = l->querier ? l->query_at : l->oqp;
	for (unsigned i = 0; i < 1u << l->bits; i++)
		for (struct igmp_group *g = l->bucket[i]; g; g = g->next)
			l->next = min64(l->next, group_next(g));
}

uint64_t igmp_link_timers(struct igmp_link *l, uint64_t now)
{
	if (now >= l->next)
		run_timers(l, now);
	return l->next;
}

uint64_t igmp_link_deadline(const struct igmp_link *l)
{
	return l->next;
}

void igmp_link_input(struct igmp_link *l, const struct igmp_msg *m, uint64_t now)
{
	uint32_t host = ntohl(m->ip_src.s_addr);

	if (now >= l->next)
		run_timers(l, now);
	switch (m->type) {
	case IGMP_MEMBERSHIP_QUERY:
		on_query(l, m, now);
		break;
	case IGMP_V1_REPORT:
		l->st.reports_v1++;
		v12_report(l, ntohl(m->group.s_addr), host, 1, now);
		break;
	case IGMP_V2_REPORT:
		l->st.reports_v2++;
		v12_report(l, ntohl(m->group.s_addr), host, 2, now);
		break;
	case IGMP_V2_LEAVE:
		l->st.leaves++;
		v2_leave(l, ntohl(m->group.s_addr), host, now);
		break;
	case IGMP_V3_REPORT:
		l->st.reports_v3++;
		v3_report(l, m, host, now);
		break;
	default:
		break;
	}
}

/* ---- Life cycle ---- */

void igmp_link_params_default(struct igmp_link_params *p)
{
	memset(p, 0, sizeof(*p));
	p->version = 3;
	p->robustness = IGMP_DEFAULT_ROBUSTNESS;
	p->query_interval_ms = IGMP_DEFAULT_QUERY_INTERVAL_MS;
	p->query_response_ms = IGMP_DEFAULT_QUERY_RESPONSE_MS;
	p->last_member_ms = IGMP_DEFAULT_LAST_MEMBER_MS;
}

/* Check P and fill its zero caps with the defaults into OUT. */
static int params_check(const struct igmp_link_params *p, struct igmp_link_params *out)
{
	if (p->version != 2 && p->version != 3)
		return -EINVAL;
	if (p->robustness < 1 || p->robustness > 255)
		return -EINVAL;
	if (p->query_interval_ms < 1000 || p->query_response_ms < 100 || p->last_member_ms < 100)
		return -EINVAL;
	if (p->query_response_ms >= p->query_interval_ms) /* RFC 3376 8.3 */
		return -EINVAL;
	if (p->max_hosts > 255)
		return -EINVAL;
	*out = *p;
	if (!out->max_groups)
		out->max_groups = IGMP_DEFAULT_MAX_GROUPS;
	if (!out->max_sources)
		out->max_sources = IGMP_DEFAULT_MAX_SOURCES;
	if (!out->max_hosts)
		out->max_hosts = IGMP_DEFAULT_MAX_HOSTS;
	return 0;
}

int igmp_link_new(const struct igmp_link_params *p, const struct igmp_link_ops *ops, void *ctx, uint64_t now,
		  struct igmp_link **out)
{
	struct igmp_link_params params;
	struct igmp_link *l;
	int rc = params_check(p, &params);

	if (rc < 0 || !ops || !ops->send_query)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->p = params;
	l->ops = *ops;
	l->ctx = ctx;
	/* about two groups a bucket at the cap; at most 64K buckets */
	l->bits = 4;
	while (l->bits < 16 && (1u << l->bits) < params.max_groups / 2)
		l->bits++;
	l->bucket = calloc(1u << l->bits, sizeof(*l->bucket));
	if (!l->bucket) {
		free(l);
		return -ENOMEM;
	}
	l->max_groups_hi = params.max_groups;
	l->max_sources_hi = params.max_sources;
	l->us = ntohl(params.addr.s_addr);
	l->querier = true;
	l->querier_addr = l->us;
	l->rv = params.robustness;
	l->qi = params.query_interval_ms;
	l->startup_left = params.robustness; /* RFC 3376 8.7 Startup Query Count */
	l->next = IGMP_NEVER;
	l->query_at = arm(l, now);
	*out = l;
	return 0;
}

void igmp_link_free(struct igmp_link *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < 1u << l->bits; i++)
		while (l->bucket[i])
			group_free(l, l->bucket[i]);
	free(l->bucket);
	free(l);
}

int igmp_link_reconfigure(struct igmp_link *l, const struct igmp_link_params *p, uint64_t now)
{
	struct igmp_link_params params;
	int rc = params_check(p, &params);

	if (rc < 0)
		return rc;
	if (params.budget != l->p.budget) {
		struct igmp_budget *old = l->p.budget;

		if (old)
			old->groups -= l->ngroups < old->groups ? l->ngroups : old->groups;
		if (params.budget)
			params.budget->groups += l->ngroups;
	}
	l->p = params;
	if (params.version < 3) /* a v2 querier cannot send the Q(G,S) still pending */
		for (unsigned i = 0; i < 1u << l->bits; i++)
			for (struct igmp_group *g = l->bucket[i]; g; g = g->next)
				clear_source_retransmissions(g);
	if (params.max_groups > l->max_groups_hi)
		l->max_groups_hi = params.max_groups;
	if (params.max_sources > l->max_sources_hi)
		l->max_sources_hi = params.max_sources;
	l->us = ntohl(params.addr.s_addr);
	if (l->querier) {
		l->querier_addr = l->us;
		l->rv = params.robustness;
		l->qi = params.query_interval_ms;
		if (l->query_at > now + l->qi)
			l->query_at = arm(l, now + l->qi);
	} else if (l->us < l->querier_addr) {
		l->oqp = 0;
		become_querier(l, now); /* we win the election now */
	}
	return 0;
}

/* ---- Forwarding and the merge ---- */

bool igmp_link_wants(const struct igmp_link *l, struct in_addr group, struct in_addr source, uint64_t now)
{
	const struct igmp_group *g = find(l, ntohl(group.s_addr));
	const struct igmp_src *s;

	if (!g)
		return false;
	s = src_find(g, ntohl(source.s_addr));
	/* RFC 3376 6.3; a timer run out but not yet processed counts as run out */
	if (g->exclude && g->timer > now)
		return !s || s->timer > now;
	return s && s->timer > now;
}

void igmp_filter_init(struct igmp_filter *f)
{
	memset(f, 0, sizeof(*f));
}

void igmp_filter_free(struct igmp_filter *f)
{
	free(f->srcs);
	igmp_filter_init(f);
}

static int filter_reserve(struct igmp_filter *f, size_t n)
{
	if (n <= f->cap)
		return 0;
	struct in_addr *p = realloc(f->srcs, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	f->srcs = p;
	f->cap = n;
	return 0;
}

bool igmp_filter_equal(const struct igmp_filter *a, const struct igmp_filter *b)
{
	return a->exclude == b->exclude && a->nsrc == b->nsrc &&
	       (a->nsrc == 0 || memcmp(a->srcs, b->srcs, a->nsrc * sizeof(*a->srcs)) == 0);
}

static uint32_t key(struct in_addr a)
{
	return ntohl(a.s_addr);
}

static bool filter_has(const struct igmp_filter *f, struct in_addr a)
{
	size_t lo = 0, hi = f->nsrc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->srcs[mid].s_addr == a.s_addr)
			return true;
		if (key(f->srcs[mid]) < key(a))
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool igmp_filter_wants(const struct igmp_filter *f, struct in_addr source)
{
	return filter_has(f, source) != f->exclude;
}

int igmp_link_filter(const struct igmp_link *l, struct in_addr group, uint64_t now, struct igmp_filter *out)
{
	const struct igmp_group *g = find(l, ntohl(group.s_addr));

	out->exclude = false;
	out->nsrc = 0;
	if (!g)
		return 0;
	if (filter_reserve(out, g->nsrc) < 0)
		return -ENOMEM;
	out->exclude = g->exclude && g->timer > now;
	for (uint32_t i = 0; i < g->nsrc; i++)
		if ((g->src[i].timer > now) != out->exclude)
			out->srcs[out->nsrc++] = in4(g->src[i].addr);
	return 0;
}

/* A = A op B over sorted lists: KEEP_A / KEEP_B / KEEP_BOTH say which
 * elements survive (only in A, only in B, in both). */
static int set_op(struct igmp_filter *a, const struct igmp_filter *b, bool keep_a, bool keep_b,
		  bool keep_both)
{
	size_t cap = a->nsrc + b->nsrc, i = 0, j = 0, k = 0;
	struct in_addr *out = cap ? malloc(cap * sizeof(*out)) : NULL;

	if (cap && !out)
		return -ENOMEM;
	while (i < a->nsrc || j < b->nsrc) {
		if (j == b->nsrc || (i < a->nsrc && key(a->srcs[i]) < key(b->srcs[j]))) {
			if (keep_a)
				out[k++] = a->srcs[i];
			i++;
		} else if (i == a->nsrc || key(b->srcs[j]) < key(a->srcs[i])) {
			if (keep_b)
				out[k++] = b->srcs[j];
			j++;
		} else {
			if (keep_both)
				out[k++] = a->srcs[i];
			i++;
			j++;
		}
	}
	free(a->srcs);
	a->srcs = out;
	a->nsrc = k;
	a->cap = cap;
	return 0;
}

int igmp_merge(struct igmp_link *const *links, size_t n, struct in_addr group, uint64_t now,
	       struct igmp_filter *out)
{
	struct igmp_filter f, ex, in;
	bool any_exclude = false;
	int rc = 0;

	igmp_filter_init(&f);
	igmp_filter_init(&ex);
	igmp_filter_init(&in);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = igmp_link_filter(links[i], group, now, &f);
		if (rc < 0)
			break;
		if (!f.exclude)
			rc = set_op(&in, &f, true, true, true); /* union of INCLUDE lists */
		else if (any_exclude)
			rc = set_op(&ex, &f, false, false, true); /* intersection of EXCLUDE lists */
		else
			rc = set_op(&ex, &f, false, true, true); /* the first: a copy */
		any_exclude |= f.exclude;
	}
	if (rc == 0 && any_exclude)
		rc = set_op(&ex, &in, true, false, false); /* minus what any link includes */
	igmp_filter_free(&f);
	if (rc < 0) {
		igmp_filter_free(&ex);
		igmp_filter_free(&in);
		return rc;
	}
	igmp_filter_free(out);
	if (any_exclude) {
		*out = ex;
		out->exclude = true;
		igmp_filter_free(&in);
	} else {
		*out = in;
		out->exclude = false;
		igmp_filter_free(&ex);
	}
	return 0;
}

/* ---- The view ---- */

const struct igmp_group *igmp_link_group_next(const struct igmp_link *l, const struct igmp_group *prev)
{
	unsigned i = 0;

	if (prev) {
		if (prev->next)
			return prev->next;
		i = bucket_of(l, prev->addr) + 1;
	}
	for (; i < 1u << l->bits; i++)
		if (l->bucket[i])
			return l->bucket[i];
	return NULL;
}

const struct igmp_group *igmp_link_group_find(const struct igmp_link *l, struct in_addr group)
{
	return find(l, ntohl(group.s_addr));
}

size_t igmp_link_group_count(const struct igmp_link *l)
{
	return l->ngroups;
}

void igmp_group_info(const struct igmp_group *g, uint64_t now, struct igmp_group_info *out)
{
	memset(out, 0, sizeof(*out));
	out->group = in4(g->addr);
	out->exclude = g->exclude;
	out->compat = compat(g, now);
	if (g->exclude)
		out->expires_ms = left(g->timer, now);
	else
		for (uint32_t i = 0; i < g->nsrc; i++)
			if (left(g->src[i].timer, now) > out->expires_ms)
				out->expires_ms = left(g->src[i].timer, now);
	out->v1_host_ms = left(g->v1_host, now);
	out->v2_host_ms = left(g->v2_host, now);
	out->nsrc = g->nsrc;
	out->nhosts = g->nhosts;
	out->hosts_untracked = g->hosts_unknown > now;
	out->queries_pending = g->gq_left;
}

bool igmp_group_source(const struct igmp_group *g, size_t i, uint64_t now, struct igmp_source_info *out)
{
	if (i >= g->nsrc)
		return false;
	out->addr = in4(g->src[i].addr);
	out->expires_ms = left(g->src[i].timer, now);
	/* 6.3: INCLUDE forwards running sources; EXCLUDE all but those at 0 */
	out->forwarded = g->src[i].timer > now;
	return true;
}

bool igmp_group_host(const struct igmp_group *g, size_t i, uint64_t now, struct in_addr *addr,
		     uint64_t *expires_ms)
{
	if (i >= g->nhosts)
		return false;
	*addr = in4(g->hosts[i].addr);
	*expires_ms = left(g->hosts[i].expires, now);
	return true;
}

void igmp_link_querier(const struct igmp_link *l, uint64_t now, struct igmp_querier_info *out)
{
	memset(out, 0, sizeof(*out));
	out->us = l->querier;
	out->addr = in4(l->querier_addr);
	out->next_query_ms = l->querier ? left(l->query_at, now) : 0;
	out->other_present_ms = l->querier ? 0 : left(l->oqp, now);
	out->startup_left = l->startup_left;
	out->robustness = l->rv;
	out->query_interval_ms = l->qi;
}

const struct igmp_link_stats *igmp_link_stats(const struct igmp_link *l)
{
	return &l->st;
}

void igmp_link_forget(struct igmp_link *l, struct in_addr group)
{
	struct igmp_group *g = find(l, ntohl(group.s_addr));

	if (!g)
		return;
	group_free(l, g);
	notify_changed(l, ntohl(group.s_addr));
}

/* ---- Invariants ---- */

static const char *check_group(const struct igmp_link *l, const struct igmp_group *g, unsigned bucket)
{
	if (bucket_of(l, g->addr) != bucket)
		return "group in the wrong bucket";
	if (g->addr >> 28 != 0xe || (g->addr & 0xffffff00u) == 0xe0000000u)
		return "group not a proxied multicast address";
	if (g->nsrc > l->max_sources_hi)
		return "more sources than max_sources";
	if (g->nhosts > g->host_cap)
		return "more hosts than tracked";
	if (!g->exclude && g->nsrc == 0)
		return "INCLUDE {} group kept";
	if (g->exclude ? g->timer == 0 : g->timer != 0)
		return "group timer does not fit the mode";
	if (group_next(g) < l->next)
		return "a deadline before the link's next";
	if (!l->querier && g->gq_left)
		return "Q(G) pending on a non-querier";
	for (uint32_t i = 0; i < g->nsrc; i++) {
		const struct igmp_src *s = &g->src[i];

		if (i && s->addr <= g->src[i - 1].addr)
			return "sources not sorted";
		if (!g->exclude && s->timer == 0)
			return "INCLUDE source without a timer";
		if (s->mark)
			return "source mark left over";
		if (s->retx_left && (!l->querier || s->timer == 0 || l->p.version < 3))
			return "Q(G,S) pending for an excluded source, on a non-querier or a v2 link";
	}
	for (uint32_t i = 0; i < g->nhosts; i++)
		for (uint32_t j = i + 1; j < g->nhosts; j++)
			if (g->hosts[i].addr == g->hosts[j].addr)
				return "host tracked twice";
	return NULL;
}

const char *igmp_link_check(const struct igmp_link *l)
{
	size_t n = 0;

	if (l->querier ? l->querier_addr != l->us || l->query_at < l->next :
			 l->querier_addr >= l->us || l->oqp < l->next)
		return "querier state";
	for (unsigned i = 0; i < 1u << l->bits; i++)
		for (const struct igmp_group *g = l->bucket[i]; g; g = g->next) {
			const char *e = check_group(l, g, i);
			if (e)
				return e;
			n++;
		}
	if (n != l->ngroups)
		return "group count";
	if (n > l->max_groups_hi)
		return "more groups than max_groups";
	if (l->p.budget && l->p.budget->groups < n)
		return "budget below the link's groups";
	return NULL;
}
