/* dns_resolve.c — see dns_resolve.h.
 *
 * A task resolves one (qname, qtype). Its life:
 *
 *   step: the answer or a CNAME of the current name in the cache?  -> finish / follow
 *         a forwarder for the name?                                -> its servers
 *         else the closest delegation in the cache, or the hints   -> its servers
 *   next: a server chosen by RTT                                   -> one upstream query
 *         none left, an NS name without address                    -> wait on a sub-task
 *         nothing left                                             -> SERVFAIL
 *   answer (dns_scrub decides what it is):
 *         referral -> the child's servers, next; chain -> follow, step;
 *         answer, NXDOMAIN, NODATA -> the response composed, cached, finish
 *
 * Waiters are never called from inside an API call: a finished task goes on
 * a list that a zero timer drains (so a waiter's callback may call
 * dns_resolve again, and a sub-task's result reaches its parent the same
 * way). A task is keyed by (qname, qtype) in a table while it runs, which is
 * what coalesces identical queries, sub-tasks included; a task only ever
 * waits on one sub-task at a time, and never on one that (transitively)
 * waits on it, so the wait graph has no cycle.
 *
 * Upstream queries: one object (struct upq) per query with its own socket
 * and timer; once the task is done with it, it is detached and its handles
 * closed, and it frees itself when the last close callback runs (nothing a
 * late datagram or callback reaches has been freed).
 *
 * Servers: one record per address:port (RTT, timeouts, EDNS support,
 * lameness per zone), as unbound's infrastructure cache: the selection
 * metric is the retransmission timeout (RFC 6298 from the smoothed RTT),
 * an unknown server counts as UNKNOWN_RTT_MS so it is tried early, and the
 * choice is random among the servers within RTT_BAND_MS of the best. */
#include "dns_resolve.h"

#include "dns_scrub.h"
#include "gw.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define UNKNOWN_RTT_MS 376 /* unbound's UNKNOWN_SERVER_NICENESS */
#define RTT_BAND_MS 400	   /* unbound's RTT_BAND */
#define RTO_MIN_MS 200	   /* a measured server's timeout never goes below this (loop jitter) */
#define HOLDDOWN_AFTER 3   /* timeouts in a row that hold a server down */
#define LAME_SLOTS 4	   /* zones a server is remembered lame for */
#define SERVERS_MAX 4096   /* server records kept (an attacker's zones can name many) */
#define SERVER_BUCKETS 1024
#define TASK_BUCKETS 1024
#define CLIENT_BUCKETS 256
#define CANDS_MAX 32   /* server addresses per zone tried by a task */
#define CAND_TRIES 2   /* attempts per address per zone */
#define BIND_TRIES 16  /* random ports tried before giving up on a socket */
#define QMIN_ONE_LAB 4 /* RFC 9156 2.3 MINIMISE_ONE_LAB */
#define QUERY_MAX (DNS_HDR_LEN + DNS_NAME_MAX + 4 + 11)

/* ---- records ---- */

struct server {
	struct server *next;
	struct in_addr addr;
	uint16_t port;
	bool measured, no_edns;
	uint8_t timeouts_in_row;
	uint32_t srtt, rttvar, rto; /* ms */
	uint64_t holddown_until, last_used;
	uint64_t queries, timeouts;
	struct {
		uint32_t zone_hash;
		uint64_t until;
	} lame[LAME_SLOTS];
};

struct cand {
	struct in_addr addr;
	uint16_t port;
	uint8_t tries;
};

struct nsname {
	struct dns_name name;
	bool tried;
};

struct client_count {
	struct client_count *next;
	uint32_t addr;
	unsigned n;
};

struct task;

struct upq {
	struct dns_resolver *r;
	struct task *t; /* NULL once detached */
	struct upq *next, *prev;
	struct in_addr addr;
	uint16_t port, id;
	bool edns, tcp, detached;
	unsigned handles; /* still to close */
	uint64_t sent;
	uv_udp_t udp;
	uv_tcp_t tcp_h;
	uv_timer_t timer;
	uv_connect_t conn;
	uv_write_t wr;
	uint8_t q[2 + QUERY_MAX]; /* 2-byte length (RFC 1035 4.2.2) then the query */
	size_t qlen;
	uint8_t *tbuf; /* TCP: what arrived so far */
	size_t tlen;
};

struct task {
	struct dns_resolver *r;
	struct task *hnext;	  /* in-flight table */
	struct task *next, *prev; /* every task */
	struct task *dnext;	  /* finished, to deliver */
	struct dns_resolve_wait *waiters;
	struct task *waiting_on;     /* the sub-task this one waits on */
	struct dns_resolve_wait sub; /* this task as a waiter on it */
	bool in_table, done, prefetch;
	struct dns_name qname; /* lower-cased */
	uint16_t qtype;
	unsigned depth;
	uint64_t deadline;
	unsigned budget, used, referrals, ns_lookups;
	/* the rules at creation (a reload does not change a running task) */
	uint16_t edns_size;
	bool qmin_on;
	uint32_t max_ttl, negative_ttl;
	/* where the resolution stands */
	struct dns_name cur; /* the name being resolved (the chain's end) */
	struct dns_scrub_link *links;
	unsigned nlinks;
	struct dns_name zone;
	bool forward;
	struct cand cands[CANDS_MAX];
	unsigned ncands;
	struct nsname nsn[DNS_SCRUB_NS_MAX];
	unsigned nnsn;
	bool qmin;
	unsigned qmin_labels, qmin_steps;
	struct dns_name qsent;
	uint16_t qtype_sent;
	struct upq *q;
	/* the result */
	int rcode;
	struct dns_scrub_entry res;
	uint32_t res_stored;
};

struct dns_resolver {
	uv_loop_t *loop;
	struct dns_cache *cache;
	struct dns_resolver_cfg cfg;
	struct dns_scrub *scrub;
	struct dns_resolver_stats st;
	struct task *tbl[TASK_BUCKETS];
	struct task *tasks;
	unsigned ntasks;
	struct task *done_head, *done_tail;
	struct task *delivering;
	struct client_count *clients[CLIENT_BUCKETS];
	struct server *srv[SERVER_BUCKETS];
	unsigned nservers;
	struct upq *upqs;
	uv_timer_t defer;
	bool closing;
	unsigned closing_handles;
	void (*close_cb)(void *data);
	void *close_data;
	uint64_t rnd_state[2]; /* fallback only */
	uint8_t rnd[256];
	unsigned rnd_pos;
	uint8_t rbuf[DNS_MSG_MAX + 1]; /* UDP datagrams */
	uint8_t abuf[DNS_MSG_MAX];     /* cache answers */
};

static const struct dns_name root = {1, 0, {0}};

static void task_next(struct task *t);
static void task_step(struct task *t);
static void task_fail(struct task *t, const char *why);
static void upq_detach(struct upq *q);

/* ---- small things ---- */

static uint64_t now_ms(const struct dns_resolver *r)
{
	return uv_now(r->loop);
}

static uint32_t now_s(const struct dns_resolver *r)
{
	return (uint32_t)(uv_now(r->loop) / 1000);
}

static bool root_name(const struct dns_name *n)
{
	return n->labels == 0;
}

static const char *name_text(const struct dns_name *n, char buf[DNS_NAME_TEXT_MAX])
{
	dns_name_to_text(n, buf);
	return buf;
}

/* Random bytes for IDs, ports and server choice: getrandom() in blocks.
 * GRND_NONBLOCK: the loop must not block; only a kernel whose pool is not
 * yet initialised (early boot) says EAGAIN, and then a xorshift seeded from
 * the clock and addresses stands in until it is. */
static void rnd_refill(struct dns_resolver *r)
{
	if (getrandom(r->rnd, sizeof(r->rnd), GRND_NONBLOCK) == (ssize_t)sizeof(r->rnd)) {
		r->rnd_pos = 0;
		return;
	}
	if (!r->rnd_state[0]) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r->rnd_state[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uintptr_t)r;
		r->rnd_state[1] = (uint64_t)ts.tv_sec * 0xC2B2AE3D27D4EB4Full ^ (uintptr_t)&ts;
	}
	for (size_t i = 0; i < sizeof(r->rnd); i += 8) {
		uint64_t s1 = r->rnd_state[0], s0 = r->rnd_state[1];
		r->rnd_state[0] = s0;
		s1 ^= s1 << 23;
		r->rnd_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
		uint64_t v = r->rnd_state[1] + s0;
		memcpy(r->rnd + i, &v, 8);
	}
	r->rnd_pos = 0;
}

static uint32_t rnd32(struct dns_resolver *r)
{
	uint32_t v;

	if (r->rnd_pos + 4 > sizeof(r->rnd))
		rnd_refill(r);
	memcpy(&v, r->rnd + r->rnd_pos, 4);
	r->rnd_pos += 4;
	return v;
}

/* ---- servers ---- */

static unsigned server_bucket(struct in_addr a, uint16_t port)
{
	return ((ntohl(a.s_addr) * 2654435761u) ^ port) % SERVER_BUCKETS;
}

static struct server *server_find(const struct dns_resolver *r, struct in_addr a, uint16_t port)
{
	for (struct server *s = r->srv[server_bucket(a, port)]; s; s = s->next)
		if (s->addr.s_addr == a.s_addr && s->port == port)
			return s;
	return NULL;
}

/* The least recently used record goes when the table is full. */
static void server_evict(struct dns_resolver *r)
{
	struct server **victim = NULL;

	for (unsigned b = 0; b < SERVER_BUCKETS; b++)
		for (struct server **pp = &r->srv[b]; *pp; pp = &(*pp)->next)
			if (!victim || (*pp)->last_used < (*victim)->last_used)
				victim = pp;
	if (victim) {
		struct server *s = *victim;
		*victim = s->next;
		free(s);
		r->nservers--;
	}
}

static struct server *server_get(struct dns_resolver *r, struct in_addr a, uint16_t port)
{
	struct server *s = server_find(r, a, port);
	unsigned b = server_bucket(a, port);

	if (s)
		return s;
	if (r->nservers >= SERVERS_MAX)
		server_evict(r);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->addr = a;
	s->port = port;
	s->rto = DNS_UPSTREAM_TIMEOUT_MS;
	s->next = r->srv[b];
	r->srv[b] = s;
	r->nservers++;
	return s;
}

/* Selection metric: the timeout it would get, or the unknown niceness. */
static uint32_t server_metric(const struct server *s)
{
	if (!s || (!s->measured && !s->timeouts_in_row))
		return UNKNOWN_RTT_MS;
	return s->rto;
}

static uint32_t server_timeout(const struct server *s)
{
	return s ? s->rto : DNS_UPSTREAM_TIMEOUT_MS;
}

/* RFC 6298 2.2, 2.3: SRTT, RTTVAR, RTO = SRTT + 4 RTTVAR. */
static void server_answered(struct server *s, uint32_t rtt)
{
	if (!s->measured) {
		s->srtt = rtt;
		s->rttvar = rtt / 2;
		s->measured = true;
	} else {
		uint32_t d = s->srtt > rtt ? s->srtt - rtt : rtt - s->srtt;
		s->rttvar = (3 * s->rttvar + d) / 4;
		s->srtt = (7 * s->srtt + rtt) / 8;
	}
	s->rto = s->srtt + 4 * s->rttvar;
	if (s->rto < RTO_MIN_MS)
		s->rto = RTO_MIN_MS;
	if (s->rto > DNS_UPSTREAM_TIMEOUT_MAX_MS)
		s->rto = DNS_UPSTREAM_TIMEOUT_MAX_MS;
	s->timeouts_in_row = 0;
	s->holddown_until = 0;
}

/* RFC 6298 5.5: back off; a server that keeps timing out is held down. */
static void server_timed_out(struct dns_resolver *r, struct server *s)
{
	s->timeouts++;
	s->rto = s->rto * 2 > DNS_UPSTREAM_TIMEOUT_MAX_MS ? DNS_UPSTREAM_TIMEOUT_MAX_MS : s->rto * 2;
	if (s->timeouts_in_row < UINT8_MAX)
		s->timeouts_in_row++;
	if (s->timeouts_in_row >= HOLDDOWN_AFTER)
		s->holddown_until = now_ms(r) + DNS_SERVER_HOLDDOWN_S * 1000ull;
}

static bool server_held(const struct dns_resolver *r, const struct server *s)
{
	return s && s->holddown_until > now_ms(r);
}

static void server_set_lame(struct dns_resolver *r, struct server *s, const struct dns_name *zone)
{
	uint32_t h = dns_name_hash(zone);
	unsigned slot = 0;

	for (unsigned i = 0; i < LAME_SLOTS; i++) {
		if (s->lame[i].zone_hash == h) {
			slot = i;
			break;
		}
		if (s->lame[i].until < s->lame[slot].until)
			slot = i;
	}
	s->lame[slot].zone_hash = h;
	s->lame[slot].until = now_ms(r) + DNS_SERVER_HOLDDOWN_S * 1000ull;
}

static bool server_lame(const struct dns_resolver *r, const struct server *s, const struct dns_name *zone)
{
	uint32_t h = dns_name_hash(zone);

	for (unsigned i = 0; s && i < LAME_SLOTS; i++)
		if (s->lame[i].zone_hash == h && s->lame[i].until > now_ms(r))
			return true;
	return false;
}

void dns_resolver_forget_servers(struct dns_resolver *r)
{
	for (unsigned b = 0; b < SERVER_BUCKETS; b++) {
		while (r->srv[b]) {
			struct server *s = r->srv[b];
			r->srv[b] = s->next;
			free(s);
		}
	}
	r->nservers = 0;
}

void dns_resolver_servers(const struct dns_resolver *r,
			  void (*fn)(void *data, struct in_addr addr, uint32_t srtt_ms, uint64_t queries,
				     uint64_t timeouts),
			  void *data)
{
	for (unsigned b = 0; b < SERVER_BUCKETS; b++)
		for (const struct server *s = r->srv[b]; s; s = s->next)
			fn(data, s->addr, s->measured ? s->srtt : 0, s->queries, s->timeouts);
}

/* ---- clients ---- */

static struct client_count **client_slot(struct dns_resolver *r, struct in_addr a)
{
	struct client_count **pp = &r->clients[((ntohl(a.s_addr) * 2654435761u) >> 16) % CLIENT_BUCKETS];

	while (*pp && (*pp)->addr != a.s_addr)
		pp = &(*pp)->next;
	return pp;
}

static unsigned client_waiting(struct dns_resolver *r, struct in_addr a)
{
	struct client_count *c = *client_slot(r, a);

	return c ? c->n : 0;
}

static bool client_add(struct dns_resolver *r, struct in_addr a)
{
	struct client_count **pp = client_slot(r, a);

	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (!*pp)
			return false;
		(*pp)->addr = a.s_addr;
	}
	(*pp)->n++;
	return true;
}

static void client_drop(struct dns_resolver *r, struct in_addr a)
{
	struct client_count **pp = client_slot(r, a), *c = *pp;

	if (c && --c->n == 0) {
		*pp = c->next;
		free(c);
	}
}

/* An internal waiter (a task waiting on a sub-task) has no client address. */
static bool waiter_external(const struct dns_resolve_wait *w)
{
	return w->client.s_addr != 0;
}

/* ---- the task table ---- */

static unsigned task_bucket(const struct dns_name *n, uint16_t type)
{
	return (dns_name_hash(n) ^ type * 31u) % TASK_BUCKETS;
}

static struct task *task_find(const struct dns_resolver *r, const struct dns_name *n, uint16_t type)
{
	for (struct task *t = r->tbl[task_bucket(n, type)]; t; t = t->hnext)
		if (t->qtype == type && dns_name_equal(&t->qname, n))
			return t;
	return NULL;
}

static void task_unhash(struct task *t)
{
	struct task **pp = &t->r->tbl[task_bucket(&t->qname, t->qtype)];

	if (!t->in_table)
		return;
	while (*pp != t)
		pp = &(*pp)->hnext;
	*pp = t->hnext;
	t->in_table = false;
}

static void waiter_attach(struct task *t, struct dns_resolve_wait *w)
{
	w->task = t;
	w->prev = NULL;
	w->next = t->waiters;
	if (t->waiters)
		t->waiters->prev = w;
	t->waiters = w;
}

static void waiter_detach(struct dns_resolve_wait *w)
{
	struct task *t = w->task;

	if (!t)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		t->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	w->task = NULL;
	if (waiter_external(w))
		client_drop(t->r, w->client);
}

static void sub_done(struct dns_resolve_wait *w, int rcode, const struct dns_cache_entry *e);

static struct task *task_new(struct dns_resolver *r, const struct dns_name *qname, uint16_t qtype)
{
	const struct dns_config *dc = r->cfg.dc;
	struct task *t = calloc(1, sizeof(*t));
	unsigned b;

	if (!t)
		return NULL;
	t->r = r;
	t->qname = *qname;
	dns_name_lower(&t->qname);
	t->qtype = qtype;
	t->deadline = now_ms(r) + DNS_TASK_DEADLINE_MS;
	t->budget = DNS_MAX_UPSTREAM;
	t->edns_size = dc ? dc->edns_buffer_size : DNS_EDNS_BUFFER_DEFAULT;
	t->qmin_on = dc ? dc->qname_minimisation : true;
	t->max_ttl = dc ? dc->max_ttl : DNS_MAX_TTL_DEFAULT;
	t->negative_ttl = dc ? dc->negative_ttl : DNS_NEGATIVE_TTL_DEFAULT;
	t->sub.cb = sub_done;
	t->res_stored = now_s(r);
	b = task_bucket(&t->qname, qtype);
	t->hnext = r->tbl[b];
	r->tbl[b] = t;
	t->in_table = true;
	t->next = r->tasks;
	if (r->tasks)
		r->tasks->prev = t;
	r->tasks = t;
	r->ntasks++;
	r->st.tasks++;
	return t;
}

static void task_free(struct task *t)
{
	struct dns_resolver *r = t->r;

	task_unhash(t);
	if (t->q)
		upq_detach(t->q);
	if (t->prev)
		t->prev->next = t->next;
	else
		r->tasks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	r->ntasks--;
	free(t->links);
	dns_scrub_entry_free(&t->res);
	free(t);
}

/* ---- finishing and delivering ---- */

static void on_defer(uv_timer_t *h);

/* T is finished with RCODE (and t->res when it has a response): off the
 * table (a new query for the name starts afresh, from the cache), on to
 * the delivery list. */
static void task_done(struct task *t, int rcode)
{
	struct dns_resolver *r = t->r;

	if (t->done)
		return;
	t->done = true;
	t->rcode = rcode;
	if (t->q)
		upq_detach(t->q);
	task_unhash(t);
	t->dnext = NULL;
	if (r->done_tail)
		r->done_tail->dnext = t;
	else
		r->done_head = t;
	r->done_tail = t;
	uv_timer_start(&r->defer, on_defer, 0, 0);
}

static void task_fail(struct task *t, const char *why)
{
	char n[DNS_NAME_TEXT_MAX], tb[16];

	gw_debug("dns: %s %s: SERVFAIL (%s)", name_text(&t->qname, n), dns_type_str(t->qtype, tb), why);
	t->r->st.servfail++;
	dns_scrub_entry_free(&t->res);
	task_done(t, DNS_RCODE_SERVFAIL);
}

static void deliver(struct task *t)
{
	struct dns_cache_entry e = {0}, *ep = NULL;

	if (t->res.msg) {
		e.name = t->qname;
		e.type = t->qtype;
		e.class = DNS_CLASS_IN;
		e.rank = DNS_RANK_ANSWER;
		e.rcode = t->res.rcode;
		e.negative = t->res.negative;
		e.stored = t->res_stored;
		e.ttl = t->res.ttl;
		e.expires = t->res_stored + t->res.ttl;
		e.msg = t->res.msg;
		e.len = (uint16_t)t->res.len;
		e.ttl_off = t->res.ttl_off;
		e.nttl = (uint16_t)t->res.nttl;
		ep = &e;
	}
	t->r->delivering = t;
	while (t->waiters) {
		struct dns_resolve_wait *w = t->waiters;

		waiter_detach(w);
		w->cb(w, ep ? t->rcode : DNS_RCODE_SERVFAIL, ep);
	}
	t->r->delivering = NULL;
}

static void on_defer(uv_timer_t *h)
{
	struct dns_resolver *r = container_of(h, struct dns_resolver, defer);

	while (r->done_head) {
		struct task *t = r->done_head;

		r->done_head = t->dnext;
		if (!r->done_head)
			r->done_tail = NULL;
		deliver(t);
		task_free(t);
	}
}

/* The response for the client: the task's chain, then FINAL (a message of
 * this module, for the chain's end), cached and kept for the waiters. */
static void task_finish(struct task *t, const uint8_t *final, size_t len, uint32_t ttl, bool negative,
			bool store)
{
	struct dns_resolver *r = t->r;
	struct dns_cache_put p;
	struct dns_msg fm;

	if (dns_msg_parse(&fm, final, len, NULL) < 0 ||
	    dns_scrub_compose(r->scrub, &t->qname, t->qtype, t->links, t->nlinks, &fm, ttl, negative,
			      &t->res) < 0) {
		task_fail(t, "cannot compose the answer");
		return;
	}
	t->res.rank = DNS_RANK_ANSWER;
	t->res_stored = now_s(r);
	dns_scrub_entry_put(&t->res, &p);
	if (store) /* TTL 0 or too big: not stored, the waiters get it all the same */
		(void)dns_cache_put(r->cache, &p, t->res_stored);
	task_done(t, t->res.rcode);
}

/* ---- chains ---- */

/* RFC 1034 3.6.2 / RFC 1035 7.1: a chain is bounded, and one that comes back
 * to a name it passed is a loop. False when the task failed. */
static bool task_link(struct task *t, const struct dns_scrub_link *l)
{
	struct dns_scrub_link *nl;

	if (t->nlinks >= DNS_MAX_CNAME) {
		task_fail(t, "CNAME chain too long");
		return false;
	}
	for (unsigned i = 0; i < t->nlinks; i++) {
		if (dns_name_equal(&t->links[i].from, &l->to)) {
			task_fail(t, "CNAME loop");
			return false;
		}
	}
	nl = realloc(t->links, (t->nlinks + 1) * sizeof(*nl));
	if (!nl) {
		task_fail(t, "out of memory");
		return false;
	}
	t->links = nl;
	t->links[t->nlinks++] = *l;
	t->cur = l->to;
	return true;
}

/* A (name, CNAME) cache entry as a link (with its DNAME when it came from
 * one). False when the entry is not one. */
static bool link_from_entry(const struct dns_cache_entry *e, uint32_t now, struct dns_scrub_link *l)
{
	struct dns_msg m;
	struct dns_rr_iter it;
	struct dns_rr rr;
	bool got = false;

	if (dns_msg_parse(&m, e->msg, e->len, NULL) < 0)
		return false;
	memset(l, 0, sizeof(*l));
	l->ttl = dns_cache_ttl_left(e, now);
	dns_rr_iter_init(&it, &m);
	while (dns_rr_next(&it, &rr) == 1 && rr.section == DNS_SEC_ANSWER) {
		if (rr.type == DNS_TYPE_DNAME && dns_rdata_name(&m, &rr, &l->dtarget) == 0) {
			l->dname = true;
			l->downer = rr.name;
		} else if (rr.type == DNS_TYPE_CNAME && dns_name_equal(&rr.name, &e->name) &&
			   dns_rdata_name(&m, &rr, &l->to) == 0) {
			l->from = rr.name;
			got = true;
		}
	}
	return got;
}

/* The final answer for the current name from the cache. */
static void finish_from_cache(struct task *t, const struct dns_cache_entry *e)
{
	struct dns_resolver *r = t->r;
	uint32_t now = now_s(r);
	int n = dns_cache_answer(e, 0, 0, e->name.b, now, false, r->abuf, sizeof(r->abuf));

	if (n < 0) {
		task_fail(t, "cache entry too big");
		return;
	}
	/* with no chain in front, the entry is the answer as it is stored */
	task_finish(t, r->abuf, (size_t)n, dns_cache_ttl_left(e, now), e->negative, t->nlinks > 0);
}

/* Follow what the cache knows about the current name: 1 the task is
 * finished (or failed), 0 it must ask. A prefetch asks for its own answers
 * again whatever the cache holds: that is its point. */
static int from_cache(struct task *t)
{
	struct dns_resolver *r = t->r;
	struct dns_cache_entry *e;
	struct dns_scrub_link l;
	enum dns_cache_state cs;
	uint32_t now = now_s(r);

	while (!t->prefetch) {
		e = dns_cache_get(r->cache, &t->cur, t->qtype, DNS_CLASS_IN, DNS_RANK_ANSWER, now, &cs);
		if (e && cs == DNS_CACHE_FRESH) {
			finish_from_cache(t, e);
			return 1;
		}
		if (t->qtype == DNS_TYPE_CNAME || t->qtype == DNS_TYPE_DNAME || t->qtype == DNS_TYPE_ANY)
			return 0;
		e = dns_cache_get(r->cache, &t->cur, DNS_TYPE_CNAME, DNS_CLASS_IN, DNS_RANK_ANSWER, now, &cs);
		if (!e || cs != DNS_CACHE_FRESH || e->negative || !link_from_entry(e, now, &l))
			return 0;
		if (!task_link(t, &l))
			return 1;
	}
	return 0;
}

/* ---- servers of a zone ---- */

static void cand_add(struct task *t, struct in_addr a, uint16_t port)
{
	for (unsigned i = 0; i < t->ncands; i++)
		if (t->cands[i].addr.s_addr == a.s_addr && t->cands[i].port == port)
			return;
	if (t->ncands < CANDS_MAX && a.s_addr != 0)
		t->cands[t->ncands++] = (struct cand){a, port, 0};
}

static struct cand *cand_of(struct task *t, struct in_addr a, uint16_t port)
{
	for (unsigned i = 0; i < t->ncands; i++)
		if (t->cands[i].addr.s_addr == a.s_addr && t->cands[i].port == port)
			return &t->cands[i];
	return NULL;
}

/* The addresses of NS name N the cache holds: 1 some, 0 none known, -1
 * known to have none. */
static int cached_addrs(struct task *t, const struct dns_name *n)
{
	struct dns_resolver *r = t->r;
	struct in_addr a[DNS_SCRUB_ADDR_MAX];
	enum dns_cache_state cs;
	struct dns_cache_entry *e =
		dns_cache_get(r->cache, n, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_GLUE, now_s(r), &cs);
	struct dns_msg m;
	unsigned k;

	if (!e || cs != DNS_CACHE_FRESH)
		return 0;
	if (e->negative || dns_msg_parse(&m, e->msg, e->len, NULL) < 0)
		return -1;
	k = dns_scrub_read_addrs(&m, a, DNS_SCRUB_ADDR_MAX);
	for (unsigned i = 0; i < k; i++)
		cand_add(t, a[i], r->cfg.upstream_port);
	return k ? 1 : -1;
}

static void zone_reset(struct task *t, const struct dns_name *zone)
{
	t->zone = *zone;
	t->ncands = 0;
	t->nnsn = 0;
	t->ns_lookups = 0;
	/* RFC 9156 2.3: one label more than the zone, first */
	t->qmin = t->qmin_on && !t->forward && zone->labels < t->cur.labels;
	t->qmin_labels = zone->labels + 1u;
}

static void use_delegation(struct task *t, const struct dns_name *zone, const struct dns_scrub_ns *ns,
			   unsigned n)
{
	zone_reset(t, zone);
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < ns[i].naddr; k++)
			cand_add(t, ns[i].addr[k], t->r->cfg.upstream_port);
		if (ns[i].naddr == 0 && cached_addrs(t, &ns[i].name) == 0 && t->nnsn < DNS_SCRUB_NS_MAX)
			t->nsn[t->nnsn++] = (struct nsname){ns[i].name, false};
	}
}

static void use_hints(struct task *t)
{
	const struct dns_hints *h = t->r->cfg.hints;

	zone_reset(t, &root);
	for (size_t i = 0; h && i < h->n; i++)
		cand_add(t, h->v[i].addr, t->r->cfg.upstream_port);
}

/* The closest delegation to the current name the cache holds (RFC 1034
 * 4.3.2 step 2), or the hints for the root. */
static void find_delegation(struct task *t)
{
	struct dns_resolver *r = t->r;
	struct dns_scrub_ns ns[DNS_SCRUB_NS_MAX];
	struct dns_name z = t->cur;
	enum dns_cache_state cs;
	struct dns_msg m;

	/* RFC 4035 3.1.4.1: DS lives in the parent */
	if (t->qtype == DNS_TYPE_DS)
		dns_name_parent(&z);
	while (!root_name(&z)) {
		struct dns_cache_entry *e =
			dns_cache_get(r->cache, &z, DNS_TYPE_NS, DNS_CLASS_IN, DNS_RANK_GLUE, now_s(r), &cs);
		unsigned n;

		if (e && cs == DNS_CACHE_FRESH && !e->negative &&
		    dns_msg_parse(&m, e->msg, e->len, NULL) == 0 &&
		    (n = dns_scrub_read_ns(&m, &z, ns, DNS_SCRUB_NS_MAX)) > 0) {
			use_delegation(t, &z, ns, n);
			return;
		}
		dns_name_parent(&z);
	}
	use_hints(t);
}

/* `forward-zone` (most specific first, as the config keeps them), then
 * `forward`: true when the name goes to forwarders. */
static bool find_forwarders(struct task *t)
{
	const struct dns_config *dc = t->r->cfg.dc;
	const struct dns_server *sv = NULL;
	size_t n = 0;

	if (!dc)
		return false;
	for (size_t i = 0; i < dc->nfzones && !sv; i++) {
		if (dns_name_is_under(&t->cur, &dc->fzones[i].zone)) {
			t->forward = true;
			zone_reset(t, &dc->fzones[i].zone);
			sv = dc->fzones[i].servers;
			n = dc->fzones[i].nservers;
		}
	}
	if (!sv && dc->nforward) {
		t->forward = true;
		zone_reset(t, &root);
		sv = dc->forward;
		n = dc->nforward;
	}
	for (size_t i = 0; i < n; i++)
		cand_add(t, sv[i].addr, sv[i].port);
	return sv != NULL;
}

/* Resolve t->cur from the top: the cache, then forwarders or delegations. */
static void task_step(struct task *t)
{
	if (from_cache(t))
		return;
	t->forward = false;
	if (!find_forwarders(t))
		find_delegation(t);
	task_next(t);
}

/* ---- choosing the next server ---- */

static bool cand_usable(const struct task *t, const struct cand *c, bool lenient)
{
	const struct server *s = server_find(t->r, c->addr, c->port);

	if (c->tries >= CAND_TRIES)
		return false;
	return lenient || (!server_held(t->r, s) && !server_lame(t->r, s, &t->zone));
}

/* unbound's selection: the least tried first; among them, a random one
 * within RTT_BAND_MS of the best metric. Held-down and lame servers only
 * when nothing else is left. */
static struct cand *cand_pick(struct task *t)
{
	struct cand *band[CANDS_MAX];

	for (int lenient = 0; lenient < 2; lenient++) {
		unsigned tries = CAND_TRIES, best = UINT32_MAX, n = 0;

		for (unsigned i = 0; i < t->ncands; i++)
			if (cand_usable(t, &t->cands[i], lenient) && t->cands[i].tries < tries)
				tries = t->cands[i].tries;
		for (unsigned i = 0; i < t->ncands; i++) {
			const struct server *s = server_find(t->r, t->cands[i].addr, t->cands[i].port);
			if (cand_usable(t, &t->cands[i], lenient) && t->cands[i].tries == tries &&
			    server_metric(s) < best)
				best = server_metric(s);
		}
		for (unsigned i = 0; i < t->ncands; i++) {
			const struct server *s = server_find(t->r, t->cands[i].addr, t->cands[i].port);
			if (cand_usable(t, &t->cands[i], lenient) && t->cands[i].tries == tries &&
			    server_metric(s) <= best + RTT_BAND_MS)
				band[n++] = &t->cands[i];
		}
		if (n)
			return band[rnd32(t->r) % n];
	}
	return NULL;
}

static bool task_waits_on(const struct task *from, const struct task *t)
{
	for (const struct task *x = from; x; x = x->waiting_on)
		if (x == t)
			return true;
	return false;
}

/* Wait for S (a task resolving an NS name's address). */
static void wait_on(struct task *t, struct task *s)
{
	t->waiting_on = s;
	t->sub.client.s_addr = 0;
	waiter_attach(s, &t->sub);
}

static void task_start(struct task *t)
{
	t->cur = t->qname;
	task_step(t);
}

/* Look up the address of one more NS name without glue (NXNS: at most
 * DNS_MAX_NS_LOOKUPS per delegation, DNS_MAX_DEPTH deep). True when the
 * task now waits on a sub-task or has new servers. */
static bool lookup_ns(struct task *t)
{
	struct dns_resolver *r = t->r;

	for (unsigned i = 0; i < t->nnsn; i++) {
		struct nsname *ns = &t->nsn[i];
		struct task *s;

		if (ns->tried)
			continue;
		if (t->ns_lookups >= DNS_MAX_NS_LOOKUPS || t->depth >= DNS_MAX_DEPTH)
			return false;
		ns->tried = true;
		t->ns_lookups++;
		if (cached_addrs(t, &ns->name) > 0)
			return true;
		s = task_find(r, &ns->name, DNS_TYPE_A);
		if (s && task_waits_on(s, t))
			continue; /* it waits on us: the address cannot come from there */
		if (!s) {
			if (r->ntasks >= DNS_MAX_TASKS || !(s = task_new(r, &ns->name, DNS_TYPE_A)))
				continue;
			s->depth = t->depth + 1;
			s->deadline = t->deadline;
			s->budget = t->budget - t->used;
			wait_on(t, s);
			task_start(s);
		} else {
			wait_on(t, s);
		}
		return true;
	}
	return false;
}

static void sub_done(struct dns_resolve_wait *w, int rcode, const struct dns_cache_entry *e)
{
	struct task *t = container_of(w, struct task, sub);
	struct dns_resolver *r = t->r;
	const struct task *s = r->delivering;
	struct in_addr a[DNS_SCRUB_ADDR_MAX];
	struct dns_msg m;

	(void)rcode;
	t->waiting_on = NULL;
	if (s)
		t->used = t->used + s->used > t->budget ? t->budget : t->used + s->used;
	if (e && !e->negative && dns_msg_parse(&m, e->msg, e->len, NULL) == 0) {
		unsigned n = dns_scrub_read_addrs(&m, a, DNS_SCRUB_ADDR_MAX);
		for (unsigned i = 0; i < n; i++)
			cand_add(t, a[i], r->cfg.upstream_port);
	}
	task_next(t);
}

static void send_query(struct task *t, struct cand *c);

static void task_next(struct task *t)
{
	struct cand *c;

	while (!t->done) {
		if (now_ms(t->r) >= t->deadline) {
			task_fail(t, "deadline");
			return;
		}
		if (t->used >= t->budget) {
			task_fail(t, "too many upstream queries");
			return;
		}
		if ((c = cand_pick(t))) {
			send_query(t, c);
			return;
		}
		if (!lookup_ns(t)) {
			task_fail(t, "no server left");
			return;
		}
		if (t->waiting_on)
			return;
	}
}

/* ---- the query on the wire ---- */

/* RFC 9156 2.3: the next name to ask: one label more than known, the first
 * QMIN_ONE_LAB times, then in bigger steps so DNS_QMIN_MAX bounds the count;
 * QTYPE A for the minimised names (RFC 9156 2.1: NS is badly served). */
static void qmin_advance(struct task *t);

/* A minimised name whose answer (data or NODATA, not NXDOMAIN) is cached
 * fresh: the zone's server said it exists with no cut there, so the next
 * step can be taken without asking again (what unbound does too). */
static bool qmin_known(struct task *t)
{
	enum dns_cache_state cs;
	struct dns_cache_entry *e = dns_cache_get(t->r->cache, &t->qsent, DNS_TYPE_A, DNS_CLASS_IN, DNS_RANK_ANSWER,
						  now_s(t->r), &cs);

	return e && cs == DNS_CACHE_FRESH && e->rcode == DNS_RCODE_NOERROR;
}

static void pick_question(struct task *t)
{
	while (t->qmin && t->qmin_labels < t->cur.labels) {
		dns_name_suffix(&t->cur, t->qmin_labels, &t->qsent);
		t->qtype_sent = DNS_TYPE_A;
		if (!qmin_known(t))
			return;
		qmin_advance(t);
	}
	{
		t->qsent = t->cur;
		t->qtype_sent = t->qtype;
	}
}

static void qmin_advance(struct task *t)
{
	unsigned left = t->cur.labels - t->qmin_labels, add = 1;

	t->qmin_steps++;
	if (t->qmin_steps >= DNS_QMIN_MAX)
		add = left;
	else if (t->qmin_steps >= QMIN_ONE_LAB)
		add = left / (DNS_QMIN_MAX - t->qmin_steps) ? left / (DNS_QMIN_MAX - t->qmin_steps) : 1;
	t->qmin_labels += add;
}

static int build_query(struct task *t, struct upq *q, bool edns)
{
	struct dns_writer dw;
	int n;

	dns_writer_init(&dw, q->q + 2, sizeof(q->q) - 2, q->id, t->forward ? DNS_F_RD : 0);
	dns_put_question(&dw, &t->qsent, t->qtype_sent, DNS_CLASS_IN);
	/* RFC 6891 6.2.5: our payload size; no DO (nothing here validates) */
	if (edns)
		dns_put_opt(&dw, t->edns_size, 0, 0);
	n = dns_writer_finish(&dw);
	if (n < 0)
		return n;
	q->q[0] = (uint8_t)(n >> 8);
	q->q[1] = (uint8_t)n;
	q->qlen = (size_t)n;
	q->edns = edns;
	return 0;
}

/* One more handle of a closing resolver is closed; the last frees it. */
static void resolver_release(struct dns_resolver *r)
{
	if (--r->closing_handles)
		return;
	r->close_cb(r->close_data);
	dns_scrub_free(r->scrub);
	free(r);
}

static void upq_closed(uv_handle_t *h)
{
	struct upq *q = h->data;
	struct dns_resolver *r = q->r;

	if (--q->handles)
		return;
	if (q->prev)
		q->prev->next = q->next;
	else
		r->upqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q->tbuf);
	free(q);
	if (r->closing)
		resolver_release(r);
}

/* The task is done with Q: a late answer or callback finds q->t NULL. */
static void upq_detach(struct upq *q)
{
	if (q->t && q->t->q == q)
		q->t->q = NULL;
	q->t = NULL;
	if (q->detached)
		return;
	q->detached = true;
	uv_close((uv_handle_t *)&q->timer, upq_closed);
	if (q->tcp)
		uv_close((uv_handle_t *)&q->tcp_h, upq_closed);
	else
		uv_close((uv_handle_t *)&q->udp, upq_closed);
}

static struct upq *upq_new(struct task *t, struct in_addr a, uint16_t port, bool tcp)
{
	struct dns_resolver *r = t->r;
	struct upq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->r = r;
	q->t = t;
	q->addr = a;
	q->port = port;
	q->tcp = tcp;
	q->id = (uint16_t)rnd32(r); /* RFC 5452 9.2 */
	q->sent = now_ms(r);
	uv_timer_init(r->loop, &q->timer);
	q->timer.data = q;
	q->handles = 2;
	if (tcp) {
		uv_tcp_init(r->loop, &q->tcp_h);
		q->tcp_h.data = q;
	} else {
		uv_udp_init(r->loop, &q->udp);
		q->udp.data = q;
	}
	q->next = r->upqs;
	if (r->upqs)
		r->upqs->prev = q;
	r->upqs = q;
	t->q = q;
	return q;
}

static void server_addr(struct sockaddr_in *sa, struct in_addr a, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr = a;
	sa->sin_port = htons(port);
}

static void cand_failed(struct task *t, struct in_addr a, uint16_t port, bool final)
{
	struct cand *c = cand_of(t, a, port);

	if (c)
		c->tries = final ? CAND_TRIES : (uint8_t)(c->tries + 1);
}

/* Q's server did not do: count it against the server and go on. */
static void upq_failed(struct upq *q, bool final, const char *why)
{
	struct task *t = q->t;
	char a[INET_ADDRSTRLEN];

	gw_debug("dns: upstream %s:%u: %s", inet_ntop(AF_INET, &q->addr, a, sizeof(a)), q->port, why);
	upq_detach(q);
	cand_failed(t, q->addr, q->port, final);
	task_next(t);
}

static void on_timeout(uv_timer_t *h)
{
	struct upq *q = h->data;
	struct server *s;

	if (!q->t)
		return;
	q->r->st.timeouts++;
	if ((s = server_find(q->r, q->addr, q->port)))
		server_timed_out(q->r, s);
	upq_failed(q, false, "timeout");
}

static void process(struct task *t, const struct dns_msg *m, struct in_addr a, uint16_t port, bool edns);
static void start_query(struct task *t, struct in_addr a, uint16_t port, bool edns, bool tcp);

/* RFC 5452 9.1: the ID, the question (RFC 4343: case-insensitive), QR and
 * opcode must be ours; anything else is someone else's packet, counted and
 * ignored while the query waits on. True when Q took it (and is done). */
static bool upq_answer(struct upq *q, const uint8_t *buf, size_t len)
{
	struct dns_resolver *r = q->r;
	struct task *t = q->t;
	struct dns_msg m;
	struct server *s;

	if (dns_msg_parse(&m, buf, len, NULL) < 0 || !(m.flags & DNS_F_QR) || DNS_OPCODE(m.flags) != 0 ||
	    m.id != q->id || m.qdcount != 1 || m.qtype != t->qtype_sent || m.qclass != DNS_CLASS_IN ||
	    !dns_name_equal(&m.qname, &t->qsent)) {
		r->st.answers_rejected++;
		return false;
	}
	if ((s = server_find(r, q->addr, q->port))) {
		uint64_t rtt = now_ms(r) - q->sent;
		server_answered(s, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
	}
	struct in_addr a = q->addr;
	uint16_t port = q->port;
	bool edns = q->edns, tcp = q->tcp;
	upq_detach(q);
	/* RFC 1035 4.2.1, RFC 7766 5: a truncated answer is asked again over TCP */
	if ((m.flags & DNS_F_TC) && !tcp) {
		r->st.upstream_tcp++;
		start_query(t, a, port, edns, true);
		return true;
	}
	process(t, &m, a, port, edns);
	return true;
}

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct upq *q = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)q->r->rbuf, sizeof(q->r->rbuf));
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *sa, unsigned flags)
{
	struct upq *q = h->data;

	(void)buf;
	if (!q->t || (n == 0 && !sa))
		return;
	if (n < 0) {
		upq_failed(q, true, uv_strerror((int)n)); /* ICMP unreachable on the connected socket */
		return;
	}
	if (flags & UV_UDP_PARTIAL) {
		q->r->st.answers_rejected++; /* over our buffer: not one of our answers */
		return;
	}
	(void)upq_answer(q, q->r->rbuf, (size_t)n);
}

/* A fresh socket on a random port (RFC 5452 9.2), connect()ed to the server
 * so the kernel drops datagrams from any other address or port. */
static int udp_open(struct upq *q)
{
	struct sockaddr_in sa;
	int rc = UV_EADDRINUSE;

	for (int i = 0; i < BIND_TRIES && rc == UV_EADDRINUSE; i++) {
		server_addr(&sa, (struct in_addr){INADDR_ANY},
			    (uint16_t)(1024 + rnd32(q->r) % (65536 - 1024)));
		rc = uv_udp_bind(&q->udp, (const struct sockaddr *)&sa, 0);
	}
	if (rc < 0)
		return rc;
	server_addr(&sa, q->addr, q->port);
	if ((rc = uv_udp_connect(&q->udp, (const struct sockaddr *)&sa)) < 0)
		return rc;
	if ((rc = uv_udp_recv_start(&q->udp, udp_alloc, udp_recv)) < 0)
		return rc;
	uv_buf_t b = uv_buf_init((char *)q->q + 2, (unsigned)q->qlen);
	rc = uv_udp_try_send(&q->udp, &b, 1, NULL);
	return rc < 0 ? rc : 0;
}

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct upq *q = h->data;

	(void)hint;
	if (!q->tbuf)
		q->tbuf = malloc(2 + DNS_MSG_MAX);
	if (!q->tbuf || q->tlen >= 2 + DNS_MSG_MAX) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)q->tbuf + q->tlen, (unsigned)(2 + DNS_MSG_MAX - q->tlen));
}

/* RFC 7766 8: a 2-byte length before each message; several may arrive. */
static void tcp_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
	struct upq *q = h->data;

	(void)buf;
	if (!q->t)
		return;
	if (n < 0) {
		upq_failed(q, true, n == UV_EOF ? "TCP closed" : uv_strerror((int)n));
		return;
	}
	if (n == 0 && !q->tbuf) {
		upq_failed(q, true, "out of memory");
		return;
	}
	q->tlen += (size_t)n;
	while (q->tlen >= 2) {
		size_t len = ((size_t)q->tbuf[0] << 8) | q->tbuf[1];

		if (q->tlen < 2 + len)
			return;
		if (upq_answer(q, q->tbuf + 2, len))
			return;
		memmove(q->tbuf, q->tbuf + 2 + len, q->tlen - 2 - len);
		q->tlen -= 2 + len;
	}
}

static void tcp_written(uv_write_t *req, int status)
{
	struct upq *q = req->data;

	if (status < 0 && q->t)
		upq_failed(q, true, uv_strerror(status));
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct upq *q = req->data;
	uv_buf_t b;
	int rc;

	if (!q->t)
		return;
	if (status < 0) {
		upq_failed(q, true, uv_strerror(status));
		return;
	}
	b = uv_buf_init((char *)q->q, (unsigned)(q->qlen + 2));
	q->wr.data = q;
	if ((rc = uv_read_start((uv_stream_t *)&q->tcp_h, tcp_alloc, tcp_read)) < 0 ||
	    (rc = uv_write(&q->wr, (uv_stream_t *)&q->tcp_h, &b, 1, tcp_written)) < 0)
		upq_failed(q, true, uv_strerror(rc));
}

static int tcp_open(struct upq *q)
{
	struct sockaddr_in sa;

	server_addr(&sa, q->addr, q->port);
	q->conn.data = q;
	return uv_tcp_connect(&q->conn, &q->tcp_h, (const struct sockaddr *)&sa, tcp_connected);
}

static void start_query(struct task *t, struct in_addr a, uint16_t port, bool edns, bool tcp)
{
	struct dns_resolver *r = t->r;
	struct server *s = server_get(r, a, port);
	uint64_t left = t->deadline > now_ms(r) ? t->deadline - now_ms(r) : 1;
	uint64_t timeout = tcp ? DNS_UPSTREAM_TIMEOUT_MAX_MS : server_timeout(s);
	struct upq *q;
	int rc;

	t->used++;
	r->st.upstream_queries++;
	if (s) {
		s->queries++;
		s->last_used = now_ms(r);
	}
	pick_question(t);
	if (!(q = upq_new(t, a, port, tcp))) {
		task_fail(t, "out of memory");
		return;
	}
	rc = build_query(t, q, edns);
	if (rc == 0)
		rc = tcp ? tcp_open(q) : udp_open(q);
	if (rc < 0) {
		upq_failed(q, true, uv_strerror(rc));
		return;
	}
	uv_timer_start(&q->timer, on_timeout, timeout < left ? timeout : left, 0);
}

static void send_query(struct task *t, struct cand *c)
{
	const struct server *s = server_find(t->r, c->addr, c->port);

	start_query(t, c->addr, c->port, t->edns_size > 0 && !(s && s->no_edns), false);
}

/* ---- what an answer means ---- */

static void put_entries(struct dns_resolver *r, const struct dns_scrub *s)
{
	struct dns_cache_put p;
	uint32_t now = now_s(r);

	for (unsigned i = 0; i < s->nentries; i++) {
		dns_scrub_entry_put(&s->entries[i], &p);
		(void)dns_cache_put(r->cache, &p, now);
	}
}

static void on_referral(struct task *t, const struct dns_scrub *s)
{
	if (++t->referrals > DNS_MAX_REFERRALS) {
		task_fail(t, "too many referrals");
		return;
	}
	put_entries(t->r, s);
	use_delegation(t, &s->child, s->ns, s->nns);
	task_next(t);
}

/* An answer to a minimised question: no zone cut there (RFC 9156 2.3),
 * one step further; NXDOMAIN: relaxed, the full name instead (the answer
 * is not cached: the server may be one that says so for empty
 * non-terminals). */
static void on_minimised(struct task *t, const struct dns_scrub *s)
{
	if (s->kind == DNS_SCRUB_NXDOMAIN) {
		t->qmin = false;
	} else {
		put_entries(t->r, s);
		qmin_advance(t);
	}
	task_next(t);
}

/* The response for the full question: follow the chain, or finish. */
static void on_final(struct task *t, const struct dns_scrub *s)
{
	put_entries(t->r, s);
	for (unsigned i = 0; i < s->nchain; i++)
		if (!task_link(t, &s->chain[i]))
			return;
	if (s->kind == DNS_SCRUB_CNAME) {
		task_step(t);
		return;
	}
	if (s->final_entry < 0) {
		task_fail(t, "answer not stored");
		return;
	}
	const struct dns_scrub_entry *f = &s->entries[s->final_entry];
	task_finish(t, f->msg, f->len, f->ttl, f->negative, true);
}

static void on_no_answer(struct task *t, const struct dns_scrub *s, struct in_addr a, uint16_t port,
			 bool minimised)
{
	struct server *sv = server_find(t->r, a, port);
	char at[INET_ADDRSTRLEN];

	gw_debug("dns: upstream %s:%u: %s (%s)", inet_ntop(AF_INET, &a, at, sizeof(at)), port,
		 dns_scrub_kind_str(s->kind), s->why ? s->why : "");
	if (sv && (s->kind == DNS_SCRUB_LAME || s->rcode == DNS_RCODE_REFUSED))
		server_set_lame(t->r, sv, &t->zone);
	/* RFC 9156 2.3 (relaxed): an error for a minimised name, the full name instead */
	if (minimised && s->kind != DNS_SCRUB_LAME) {
		t->qmin = false;
		task_next(t);
		return;
	}
	cand_failed(t, a, port, true);
	task_next(t);
}

static void process(struct task *t, const struct dns_msg *m, struct in_addr a, uint16_t port, bool edns)
{
	struct dns_resolver *r = t->r;
	struct dns_scrub *s = r->scrub;
	struct server *sv = server_find(r, a, port);
	bool minimised = t->qtype_sent != t->qtype || !dns_name_equal(&t->qsent, &t->cur);
	struct dns_scrub_query sq = {
		.qname = &t->qsent,
		.qtype = t->qtype_sent,
		.zone = &t->zone,
		.forwarder = t->forward,
		.max_ttl = t->max_ttl,
		.negative_ttl = t->negative_ttl,
	};

	/* RFC 6891 7: FORMERR, NOTIMP (or BADVERS) to a query with OPT: the
	 * server does not do EDNS; ask it again without */
	if (edns && (m->rcode == DNS_RCODE_FORMERR || m->rcode == DNS_RCODE_NOTIMP ||
		     m->rcode == DNS_RCODE_BADVERS)) {
		if (sv)
			sv->no_edns = true;
		start_query(t, a, port, false, false);
		return;
	}
	switch (dns_scrub_run(s, &sq, m)) {
	case DNS_SCRUB_REFERRAL:
		on_referral(t, s);
		break;
	case DNS_SCRUB_ANSWER:
	case DNS_SCRUB_CNAME:
	case DNS_SCRUB_NXDOMAIN:
	case DNS_SCRUB_NODATA:
		if (minimised)
			on_minimised(t, s);
		else
			on_final(t, s);
		break;
	default:
		on_no_answer(t, s, a, port, minimised);
		break;
	}
}

/* ---- the API ---- */

int dns_resolver_new(uv_loop_t *loop, struct dns_cache *cache, const struct dns_resolver_cfg *cfg,
		     struct dns_resolver **out)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->scrub = dns_scrub_new();
	if (!r->scrub) {
		free(r);
		return -ENOMEM;
	}
	r->loop = loop;
	r->cache = cache;
	r->cfg = *cfg;
	r->rnd_pos = sizeof(r->rnd);
	uv_timer_init(loop, &r->defer);
	*out = r;
	return 0;
}

void dns_resolver_configure(struct dns_resolver *r, const struct dns_resolver_cfg *cfg)
{
	r->cfg = *cfg;
}

int dns_resolve(struct dns_resolver *r, const struct dns_name *qname, uint16_t qtype,
		struct dns_resolve_wait *w)
{
	struct dns_name n = *qname;
	struct task *t;

	w->task = NULL;
	if (r->closing)
		return -EBUSY;
	if (waiter_external(w) && client_waiting(r, w->client) >= DNS_MAX_PER_CLIENT) {
		r->st.refused_limit++;
		return -EBUSY;
	}
	dns_name_lower(&n);
	t = task_find(r, &n, qtype);
	if (!t && r->ntasks >= DNS_MAX_TASKS) {
		r->st.refused_limit++;
		return -EBUSY;
	}
	if (waiter_external(w) && !client_add(r, w->client))
		return -ENOMEM;
	if (t) {
		r->st.coalesced++;
		waiter_attach(t, w);
		return 0;
	}
	if (!(t = task_new(r, &n, qtype))) {
		if (waiter_external(w))
			client_drop(r, w->client);
		return -ENOMEM;
	}
	waiter_attach(t, w);
	task_start(t);
	return 0;
}

void dns_resolve_cancel(struct dns_resolve_wait *w)
{
	waiter_detach(w);
}

void dns_resolve_prefetch(struct dns_resolver *r, const struct dns_name *qname, uint16_t qtype)
{
	struct dns_name n = *qname;
	struct task *t;

	dns_name_lower(&n);
	if (r->closing || task_find(r, &n, qtype) || r->ntasks >= DNS_MAX_TASKS)
		return;
	if (!(t = task_new(r, &n, qtype)))
		return;
	t->prefetch = true;
	r->st.prefetches++;
	task_start(t);
}

const struct dns_resolver_stats *dns_resolver_stats(const struct dns_resolver *r)
{
	return &r->st;
}

static void defer_closed(uv_handle_t *h)
{
	resolver_release(container_of((uv_timer_t *)h, struct dns_resolver, defer));
}

void dns_resolver_close(struct dns_resolver *r, void (*cb)(void *data), void *data)
{
	r->closing = true;
	r->close_cb = cb;
	r->close_data = data;
	/* every waiter hears SERVFAIL (a callback cannot start anything now) */
	for (struct task *t = r->tasks; t; t = t->next) {
		while (t->waiters) {
			struct dns_resolve_wait *w = t->waiters;

			waiter_detach(w);
			if (w->cb != sub_done)
				w->cb(w, DNS_RCODE_SERVFAIL, NULL);
		}
	}
	while (r->tasks)
		task_free(r->tasks);
	r->done_head = r->done_tail = NULL;
	dns_resolver_forget_servers(r);
	/* the upstream queries still closing, and the timer */
	r->closing_handles = 1;
	for (struct upq *q = r->upqs; q; q = q->next)
		r->closing_handles++;
	uv_close((uv_handle_t *)&r->defer, defer_closed);
}
