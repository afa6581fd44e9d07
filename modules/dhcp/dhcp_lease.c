/* dhcp_lease.c — see dhcp_lease.h.
 *
 * Memory: one malloc per lease (the 52-byte header and its variable tail:
 * htype+chaddr, the client-id unless it is just htype+chaddr — the common
 * "01:mac" case is stored once — and the hostname), two chained hash indexes
 * whose bucket arrays stay at load <= 1, and per pool a bitmap of the
 * addresses that have a record. The header's four pointers are the price of
 * O(1) everything: two index chains and the free list (a doubly linked list,
 * so a record leaves it in O(1) when its client takes it back).
 *
 * Allocation never scans leases: the bitmap finds an address that never had a
 * record (64 addresses per word, a hint skips the full words at the start),
 * and the scope's free list, kept in the order addresses were freed, gives the
 * least recently used released/expired record. A DISCOVER flood therefore
 * costs O(1) per packet even with the pool exhausted. */
#include "siphash.h"
#include "dhcp_lease.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define LF_CID_IS_HW 0x80 /* private flag: the client-id is htype+chaddr, stored once */

struct pool {
	uint32_t first, last;
	uint64_t *bits; /* bit set: a record of this scope exists at first + i */
	size_t nwords;
	size_t hint; /* every word before it is full */
};

struct scope {
	char name[DHCP_LEASE_SCOPE_NAME_MAX + 1];
	struct pool *pools; /* sorted, disjoint */
	size_t npools;
	struct dhcp_lease *lru_head, *lru_tail; /* RELEASED/EXPIRED, oldest freed first */
	uint32_t nstate[DHCP_LEASE_STATE_MAX + 1];
};

struct dhcp_lease_table {
	struct dhcp_lease **by_addr, **by_key; /* both mask + 1 buckets */
	size_t mask;
	size_t count;
	uint64_t k0, k1; /* SipHash key */
	uint32_t addr_key;
	struct scope *scopes;
	size_t nscopes;
	bool lru_dirty;	  /* records were applied from outside: free lists need sorting */
	bool sweep_all;	  /* pools changed or a free record may sit outside them */
	int64_t next_due; /* <= every expires_at the sweep acts on */
};

const char *dhcp_lease_state_name(int state)
{
	static const char *const names[] = {"?",       "offered",  "bound", "released",
					    "expired", "declined", "static"};

	return state >= 1 && state <= DHCP_LEASE_STATE_MAX ? names[state] : "?";
}

/* ---- hashing ---- */

#define SIPROUND gw_sipround(&v0, &v1, &v2, &v3)

/* SipHash-2-4: client identifiers are chosen by whoever sends packets, so the
 * index must not have collisions they can compute. */
static uint64_t siphash(const uint8_t *in, size_t len, uint64_t k0, uint64_t k1)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8); /* host order: the hash only has to be consistent */
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Addresses come from the pools (the client picks at most which one, with
 * option 50): a keyed multiplicative hash spreads consecutive ones. */
static size_t addr_bucket(const struct dhcp_lease_table *t, uint32_t addr)
{
	return (size_t)(((uint64_t)(addr ^ t->addr_key) * 0x9E3779B97F4A7C15ull) >> 32) & t->mask;
}

static bool client_valid(const struct dhcp_lease_client *c)
{
	return c && c->hlen <= DHCP_LEASE_CHADDR_MAX && (c->client_id_len > 0 || c->hlen > 0) &&
	       (c->client_id_len == 0 || c->client_id) && (c->hlen == 0 || c->chaddr);
}

size_t dhcp_lease_identity_len(const struct dhcp_lease_client *c)
{
	if (c->client_id_len == 1 + c->hlen && c->hlen > 0 && c->client_id[0] == c->htype &&
	    memcmp(c->client_id + 1, c->chaddr, c->hlen) == 0)
		return 0;
	return c->client_id_len;
}

bool dhcp_lease_same_client(const struct dhcp_lease_client *a, const struct dhcp_lease_client *b)
{
	size_t an = dhcp_lease_identity_len(a), bn = dhcp_lease_identity_len(b);

	if (an || bn)
		return an == bn && memcmp(a->client_id, b->client_id, an) == 0;
	return a->htype == b->htype && a->hlen == b->hlen && memcmp(a->chaddr, b->chaddr, a->hlen) == 0;
}

static size_t key_bucket(const struct dhcp_lease_table *t, uint16_t scope, const struct dhcp_lease_client *c)
{
	uint8_t buf[4 + DHCP_LEASE_CID_MAX + DHCP_LEASE_CHADDR_MAX];
	size_t n = 0;

	buf[n++] = (uint8_t)scope;
	buf[n++] = (uint8_t)(scope >> 8);
	if (dhcp_lease_identity_len(c)) {
		buf[n++] = 1;
		memcpy(buf + n, c->client_id, c->client_id_len);
		n += c->client_id_len;
	} else {
		buf[n++] = 2;
		buf[n++] = c->htype;
		memcpy(buf + n, c->chaddr, c->hlen);
		n += c->hlen;
	}
	return (size_t)siphash(buf, n, t->k0, t->k1) & t->mask;
}

/* ---- the lease record ---- */

const uint8_t *dhcp_lease_chaddr(const struct dhcp_lease *l)
{
	return l->data + 1;
}

const uint8_t *dhcp_lease_client_id(const struct dhcp_lease *l, size_t *len)
{
	*len = l->cid_len;
	if (!l->cid_len)
		return NULL;
	return l->flags & LF_CID_IS_HW ? l->data : l->data + 1 + l->hlen;
}

const char *dhcp_lease_hostname(const struct dhcp_lease *l)
{
	if (!l->host_len)
		return "";
	return (const char *)l->data + 1 + l->hlen + (l->flags & LF_CID_IS_HW ? 0 : l->cid_len);
}

static struct dhcp_lease_client lease_client(const struct dhcp_lease *l)
{
	struct dhcp_lease_client c;
	size_t n;

	c.client_id = dhcp_lease_client_id(l, &n);
	c.client_id_len = (uint8_t)n;
	c.htype = l->htype;
	c.hlen = l->hlen;
	c.chaddr = dhcp_lease_chaddr(l);
	return c;
}

/* Records a client owns are in the client index; a declined address is no one's. */
static bool state_keyed(int state)
{
	return state != DHCP_LEASE_DECLINED;
}
static bool state_free(int state)
{
	return state == DHCP_LEASE_RELEASED || state == DHCP_LEASE_EXPIRED;
}

static bool key_eq(const struct dhcp_lease *l, uint16_t scope, const struct dhcp_lease_client *c)
{
	struct dhcp_lease_client lc;

	if (l->scope != scope || !state_keyed(l->state))
		return false;
	lc = lease_client(l);
	return dhcp_lease_same_client(&lc, c);
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

const char *dhcp_lease_rec_invalid(const struct dhcp_lease_rec *rec)
{
	if (rec->op == DHCP_LEASE_DEL)
		return rec->addr ? NULL : "bad address";
	if (rec->op != DHCP_LEASE_PUT)
		return "bad operation";
	if (!rec->addr)
		return "bad address";
	if (rec->state < 1 || rec->state > DHCP_LEASE_STATE_MAX)
		return "bad state";
	if (rec->flags & ~DHCP_LEASE_F_ALL)
		return "bad flags";
	if (rec->hlen > DHCP_LEASE_CHADDR_MAX)
		return "bad hardware address length";
	if (state_keyed(rec->state) && !rec->cid_len && !rec->hlen)
		return "no client identity";
	if (rec->host_len > DHCP_LEASE_HOSTNAME_MAX || !printable(rec->hostname, rec->host_len))
		return "bad hostname";
	if (!rec->scope_len || rec->scope_len > DHCP_LEASE_SCOPE_NAME_MAX ||
	    !printable(rec->scope, rec->scope_len))
		return "bad scope name";
	return NULL;
}

static struct dhcp_lease *lease_new(uint16_t scope, const struct dhcp_lease_rec *rec)
{
	bool cid_hw = rec->cid_len == rec->hlen + 1 && rec->client_id[0] == rec->htype &&
		      memcmp(rec->client_id + 1, rec->chaddr, rec->hlen) == 0;
	size_t cid = cid_hw ? 0 : rec->cid_len, host = rec->host_len ? rec->host_len + 1u : 0;
	struct dhcp_lease *l = malloc(offsetof(struct dhcp_lease, data) + 1 + rec->hlen + cid + host);
	uint8_t *p;

	if (!l)
		return NULL;
	memset(l, 0, offsetof(struct dhcp_lease, data));
	l->expires_at = rec->expires_at;
	l->addr = rec->addr;
	l->scope = scope;
	l->state = rec->state;
	l->flags = (uint8_t)(rec->flags | (cid_hw ? LF_CID_IS_HW : 0));
	l->htype = rec->htype;
	l->hlen = rec->hlen;
	l->cid_len = rec->cid_len;
	l->host_len = rec->host_len;
	p = l->data;
	*p++ = rec->htype;
	memcpy(p, rec->chaddr, rec->hlen);
	p += rec->hlen;
	memcpy(p, rec->client_id, cid);
	p += cid;
	if (host) {
		memcpy(p, rec->hostname, rec->host_len);
		p[rec->host_len] = '\0';
	}
	return l;
}

/* Same client, same scope, same hostname: only state, flags and time differ,
 * so a renewal updates the record in place. */
static bool same_identity(const struct dhcp_lease *l, uint16_t scope, const struct dhcp_lease_rec *rec)
{
	size_t n;
	const uint8_t *cid = dhcp_lease_client_id(l, &n);

	return l->scope == scope && l->htype == rec->htype && l->hlen == rec->hlen &&
	       memcmp(dhcp_lease_chaddr(l), rec->chaddr, rec->hlen) == 0 && n == rec->cid_len &&
	       (n == 0 || memcmp(cid, rec->client_id, n) == 0) && l->host_len == rec->host_len &&
	       memcmp(dhcp_lease_hostname(l), rec->hostname, rec->host_len) == 0;
}

void dhcp_lease_rec_of(const struct dhcp_lease_table *t, const struct dhcp_lease *l,
		       struct dhcp_lease_rec *rec)
{
	size_t n;
	const uint8_t *cid = dhcp_lease_client_id(l, &n);
	const char *scope = t->scopes[l->scope].name;

	memset(rec, 0, sizeof(*rec));
	rec->op = DHCP_LEASE_PUT;
	rec->state = l->state;
	rec->flags = l->flags & DHCP_LEASE_F_ALL;
	rec->htype = l->htype;
	rec->hlen = l->hlen;
	memcpy(rec->chaddr, dhcp_lease_chaddr(l), l->hlen);
	rec->cid_len = (uint8_t)n;
	if (n)
		memcpy(rec->client_id, cid, n);
	rec->host_len = l->host_len;
	memcpy(rec->hostname, dhcp_lease_hostname(l), l->host_len);
	rec->scope_len = (uint8_t)strlen(scope);
	memcpy(rec->scope, scope, rec->scope_len);
	rec->addr = l->addr;
	rec->expires_at = l->expires_at;
}

/* ---- the table ---- */

struct dhcp_lease_table *dhcp_lease_table_new(uint64_t seed)
{
	struct dhcp_lease_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->mask = 63;
	t->by_addr = calloc(t->mask + 1, sizeof(*t->by_addr));
	t->by_key = calloc(t->mask + 1, sizeof(*t->by_key));
	if (!t->by_addr || !t->by_key) {
		dhcp_lease_table_free(t);
		return NULL;
	}
	t->k0 = seed;
	t->k1 = gw_rotl64(seed, 29) ^ 0x5bd1e9955bd1e995ull;
	t->addr_key = (uint32_t)(seed >> 17);
	t->next_due = INT64_MAX;
	return t;
}

void dhcp_lease_table_free(struct dhcp_lease_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->by_addr && i <= t->mask; i++)
		for (struct dhcp_lease *l = t->by_addr[i], *next; l; l = next) {
			next = l->addr_next;
			free(l);
		}
	for (size_t i = 0; i < t->nscopes; i++) {
		for (size_t j = 0; j < t->scopes[i].npools; j++)
			free(t->scopes[i].pools[j].bits);
		free(t->scopes[i].pools);
	}
	free(t->scopes);
	free(t->by_addr);
	free(t->by_key);
	free(t);
}

size_t dhcp_lease_count(const struct dhcp_lease_table *t)
{
	return t->count;
}

const struct dhcp_lease *dhcp_lease_by_addr(const struct dhcp_lease_table *t, uint32_t addr)
{
	for (struct dhcp_lease *l = t->by_addr[addr_bucket(t, addr)]; l; l = l->addr_next)
		if (l->addr == addr)
			return l;
	return NULL;
}

static struct dhcp_lease *find_addr(struct dhcp_lease_table *t, uint32_t addr)
{
	return (struct dhcp_lease *)(uintptr_t)dhcp_lease_by_addr(t, addr);
}

const struct dhcp_lease *dhcp_lease_by_client(const struct dhcp_lease_table *t, uint16_t scope,
					      const struct dhcp_lease_client *c)
{
	if (scope >= t->nscopes || !client_valid(c))
		return NULL;
	for (struct dhcp_lease *l = t->by_key[key_bucket(t, scope, c)]; l; l = l->key_next)
		if (key_eq(l, scope, c))
			return l;
	return NULL;
}

static struct dhcp_lease *find_client(struct dhcp_lease_table *t, uint16_t scope,
				      const struct dhcp_lease_client *c)
{
	return (struct dhcp_lease *)(uintptr_t)dhcp_lease_by_client(t, scope, c);
}

const struct dhcp_lease *dhcp_lease_first(const struct dhcp_lease_table *t)
{
	for (size_t i = 0; i <= t->mask; i++)
		if (t->by_addr[i])
			return t->by_addr[i];
	return NULL;
}

const struct dhcp_lease *dhcp_lease_next(const struct dhcp_lease_table *t, const struct dhcp_lease *l)
{
	if (l->addr_next)
		return l->addr_next;
	for (size_t i = addr_bucket(t, l->addr) + 1; i <= t->mask; i++)
		if (t->by_addr[i])
			return t->by_addr[i];
	return NULL;
}

/* Doubling at load 1 keeps chains short; both indexes share the size. */
static int grow(struct dhcp_lease_table *t)
{
	size_t n = (t->mask + 1) * 2;
	struct dhcp_lease **a = calloc(n, sizeof(*a)), **k = calloc(n, sizeof(*k));

	if (!a || !k) {
		free(a);
		free(k);
		return -ENOMEM;
	}
	struct dhcp_lease **oa = t->by_addr, **ok = t->by_key;
	size_t omask = t->mask;

	t->by_addr = a;
	t->by_key = k;
	t->mask = n - 1;
	for (size_t i = 0; i <= omask; i++)
		for (struct dhcp_lease *l = oa[i], *next; l; l = next) {
			struct dhcp_lease_client c = lease_client(l);
			size_t b = addr_bucket(t, l->addr);

			next = l->addr_next;
			l->addr_next = a[b];
			a[b] = l;
			if (state_keyed(l->state)) {
				b = key_bucket(t, l->scope, &c);
				l->key_next = k[b];
				k[b] = l;
			}
		}
	free(oa);
	free(ok);
	return 0;
}

/* ---- pools ---- */

static const struct pool *pool_of(const struct scope *s, uint32_t addr)
{
	size_t lo = 0, hi = s->npools;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < s->pools[mid].first)
			hi = mid;
		else if (addr > s->pools[mid].last)
			lo = mid + 1;
		else
			return &s->pools[mid];
	}
	return NULL;
}

bool dhcp_lease_in_pool(const struct dhcp_lease_table *t, uint16_t scope, uint32_t addr)
{
	return scope < t->nscopes && pool_of(&t->scopes[scope], addr);
}

static void pool_mark(struct scope *s, uint32_t addr, bool used)
{
	struct pool *p = (struct pool *)(uintptr_t)pool_of(s, addr);
	size_t i;

	if (!p)
		return;
	i = addr - p->first;
	if (used) {
		p->bits[i / 64] |= 1ull << (i % 64);
	} else {
		p->bits[i / 64] &= ~(1ull << (i % 64));
		if (i / 64 < p->hint)
			p->hint = i / 64;
	}
}

/* ---- linking: the indexes, the free lists, the counters ---- */

/* Insert into the free list by expires_at (when it was freed), from the tail:
 * a live change is the newest, so this is O(1) but for a sweep running late. */
static void lru_insert(struct dhcp_lease_table *t, struct scope *s, struct dhcp_lease *l)
{
	struct dhcp_lease *after = s->lru_tail;

	while (!t->lru_dirty && after && after->expires_at > l->expires_at)
		after = after->lru_prev;
	l->lru_prev = after;
	l->lru_next = after ? after->lru_next : s->lru_head;
	if (l->lru_next)
		l->lru_next->lru_prev = l;
	else
		s->lru_tail = l;
	if (after)
		after->lru_next = l;
	else
		s->lru_head = l;
}

static void lru_remove(struct scope *s, struct dhcp_lease *l)
{
	if (l->lru_prev)
		l->lru_prev->lru_next = l->lru_next;
	else
		s->lru_head = l->lru_next;
	if (l->lru_next)
		l->lru_next->lru_prev = l->lru_prev;
	else
		s->lru_tail = l->lru_prev;
	l->lru_prev = l->lru_next = NULL;
}

static void key_link(struct dhcp_lease_table *t, struct dhcp_lease *l)
{
	struct dhcp_lease_client c = lease_client(l);
	size_t b = key_bucket(t, l->scope, &c);

	l->key_next = t->by_key[b];
	t->by_key[b] = l;
}

static void key_unlink(struct dhcp_lease_table *t, struct dhcp_lease *l)
{
	struct dhcp_lease_client c = lease_client(l);
	struct dhcp_lease **pp = &t->by_key[key_bucket(t, l->scope, &c)];

	while (*pp != l)
		pp = &(*pp)->key_next;
	*pp = l->key_next;
	l->key_next = NULL;
}

/* The parts that depend on the state; the address index does not. */
static void state_link(struct dhcp_lease_table *t, struct dhcp_lease *l)
{
	struct scope *s = &t->scopes[l->scope];

	s->nstate[l->state]++;
	if (state_keyed(l->state))
		key_link(t, l);
	if (state_free(l->state)) {
		lru_insert(t, s, l);
		if (!pool_of(s, l->addr))
			t->sweep_all = true;
	} else if (l->expires_at < t->next_due) {
		t->next_due = l->expires_at;
	}
}

static void state_unlink(struct dhcp_lease_table *t, struct dhcp_lease *l)
{
	struct scope *s = &t->scopes[l->scope];

	s->nstate[l->state]--;
	if (state_keyed(l->state))
		key_unlink(t, l);
	if (state_free(l->state))
		lru_remove(s, l);
}

static void lease_link(struct dhcp_lease_table *t, struct dhcp_lease *l)
{
	size_t b = addr_bucket(t, l->addr);

	l->addr_next = t->by_addr[b];
	t->by_addr[b] = l;
	t->count++;
	pool_mark(&t->scopes[l->scope], l->addr, true);
	state_link(t, l);
}

static void lease_drop(struct dhcp_lease_table *t, struct dhcp_lease *l)
{
	struct dhcp_lease **pp = &t->by_addr[addr_bucket(t, l->addr)];

	state_unlink(t, l);
	while (*pp != l)
		pp = &(*pp)->addr_next;
	*pp = l->addr_next;
	t->count--;
	pool_mark(&t->scopes[l->scope], l->addr, false);
	free(l);
}

/* ---- scopes ---- */

int dhcp_lease_scope(struct dhcp_lease_table *t, const char *name, bool create)
{
	size_t len = name ? strlen(name) : 0;
	struct scope *s;

	if (!len || len > DHCP_LEASE_SCOPE_NAME_MAX || !printable(name, len))
		return -EINVAL;
	for (size_t i = 0; i < t->nscopes; i++)
		if (strcmp(t->scopes[i].name, name) == 0)
			return (int)i;
	if (!create)
		return -ENOENT;
	if (t->nscopes >= DHCP_LEASE_SCOPES_MAX)
		return -ENOSPC;
	s = realloc(t->scopes, (t->nscopes + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	t->scopes = s;
	s = &t->scopes[t->nscopes];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, name, len + 1);
	return (int)t->nscopes++;
}

const char *dhcp_lease_scope_name(const struct dhcp_lease_table *t, uint16_t scope)
{
	return scope < t->nscopes ? t->scopes[scope].name : NULL;
}

size_t dhcp_lease_scope_count(const struct dhcp_lease_table *t)
{
	return t->nscopes;
}

static int pool_cmp(const void *a, const void *b)
{
	const struct pool *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static void pools_free(struct pool *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].bits);
	free(p);
}

int dhcp_lease_scope_set_pools(struct dhcp_lease_table *t, uint16_t scope,
			       const struct dhcp_lease_pool *pools, size_t npools)
{
	struct pool *np;
	struct scope *s;

	if (scope >= t->nscopes)
		return -ENOENT;
	np = npools ? calloc(npools, sizeof(*np)) : NULL;
	if (npools && !np)
		return -ENOMEM;
	for (size_t i = 0; i < npools; i++) {
		uint64_t size = (uint64_t)pools[i].last - pools[i].first + 1;

		if (pools[i].first > pools[i].last || pools[i].first == 0) {
			pools_free(np, npools);
			return -EINVAL;
		}
		if (size > DHCP_LEASE_POOL_MAX) {
			pools_free(np, npools);
			return -E2BIG;
		}
		np[i].first = pools[i].first;
		np[i].last = pools[i].last;
	}
	if (npools > 1) /* qsort(NULL, 0) is undefined */
		qsort(np, npools, sizeof(*np), pool_cmp);
	for (size_t i = 0; i < npools; i++) {
		uint64_t size = (uint64_t)np[i].last - np[i].first + 1;

		if (i && np[i].first <= np[i - 1].last) {
			pools_free(np, npools);
			return -EINVAL;
		}
		np[i].nwords = (size_t)((size + 63) / 64);
		np[i].bits = calloc(np[i].nwords, sizeof(uint64_t));
		if (!np[i].bits) {
			pools_free(np, npools);
			return -ENOMEM;
		}
		if (size % 64) /* the bits past the end look used, so the scan needs no bound */
			np[i].bits[np[i].nwords - 1] = ~0ull << (size % 64);
	}
	s = &t->scopes[scope];
	pools_free(s->pools, s->npools);
	s->pools = np;
	s->npools = npools;
	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l))
		if (l->scope == scope)
			pool_mark(s, l->addr, true);
	t->sweep_all = true;
	return 0;
}

uint32_t dhcp_lease_offers(const struct dhcp_lease_table *t, uint16_t scope)
{
	return scope < t->nscopes ? t->scopes[scope].nstate[DHCP_LEASE_OFFERED] : 0;
}

int dhcp_lease_scope_counts(const struct dhcp_lease_table *t, uint16_t scope, time_t now,
			    struct dhcp_lease_counts *c)
{
	const struct scope *s;

	memset(c, 0, sizeof(*c));
	if (scope >= t->nscopes)
		return -ENOENT;
	s = &t->scopes[scope];
	memcpy(c->state, s->nstate, sizeof(c->state));
	for (size_t i = 0; i < s->npools; i++)
		c->pool_size += s->pools[i].last - s->pools[i].first + 1;
	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l))
		if (l->scope == scope && !state_free(l->state) && l->expires_at > now && pool_of(s, l->addr))
			c->used++;
	c->free = c->pool_size - c->used;
	return 0;
}

size_t dhcp_lease_table_bytes(const struct dhcp_lease_table *t)
{
	/* glibc: a chunk is the usable size plus its 8-byte size field */
	size_t n = sizeof(*t) + 2 * (t->mask + 1) * sizeof(struct dhcp_lease *) +
		   t->nscopes * sizeof(struct scope);

	for (size_t i = 0; i < t->nscopes; i++)
		for (size_t j = 0; j < t->scopes[i].npools; j++)
			n += sizeof(struct pool) + t->scopes[i].pools[j].nwords * 8;
	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l))
		n += malloc_usable_size((void *)(uintptr_t)l) + 8;
	return n;
}

/* ---- apply: the one way the table changes ---- */

static struct dhcp_lease_client rec_client(const struct dhcp_lease_rec *rec)
{
	struct dhcp_lease_client c = {rec->client_id, rec->cid_len, rec->htype, rec->hlen, rec->chaddr};

	return c;
}

static int put(struct dhcp_lease_table *t, const struct dhcp_lease_rec *rec)
{
	int scope = dhcp_lease_scope(t, rec->scope, true);
	struct dhcp_lease *old, *other = NULL, *l;
	struct dhcp_lease_client c = rec_client(rec);

	if (scope < 0)
		return scope;
	old = find_addr(t, rec->addr);
	if (state_keyed(rec->state)) {
		other = find_client(t, (uint16_t)scope, &c);
		if (other == old)
			other = NULL;
	}
	if (old && same_identity(old, (uint16_t)scope, rec)) {
		if (other)
			lease_drop(t, other);
		state_unlink(t, old);
		old->state = rec->state;
		old->flags = (uint8_t)((old->flags & ~DHCP_LEASE_F_ALL) | rec->flags);
		old->expires_at = rec->expires_at;
		state_link(t, old);
		return 0;
	}
	/* everything that can fail first: on ENOMEM the table is unchanged */
	if (t->count + 1 > t->mask + 1 && grow(t) < 0)
		return -ENOMEM;
	l = lease_new((uint16_t)scope, rec);
	if (!l)
		return -ENOMEM;
	if (other)
		lease_drop(t, other);
	if (old)
		lease_drop(t, old);
	lease_link(t, l);
	return 0;
}

static int apply(struct dhcp_lease_table *t, const struct dhcp_lease_rec *rec)
{
	struct dhcp_lease *l;

	if (dhcp_lease_rec_invalid(rec))
		return -EINVAL;
	if (rec->op == DHCP_LEASE_PUT)
		return put(t, rec);
	l = find_addr(t, rec->addr);
	if (l)
		lease_drop(t, l);
	return 0;
}

int dhcp_lease_apply(struct dhcp_lease_table *t, const struct dhcp_lease_rec *rec)
{
	/* records come in any order (a snapshot is in hash order): sort the free
	 * lists once, when allocation first needs them */
	t->lru_dirty = true;
	return apply(t, rec);
}

static int lease_cmp_freed(const void *a, const void *b)
{
	const struct dhcp_lease *x = *(const struct dhcp_lease *const *)a,
				*y = *(const struct dhcp_lease *const *)b;

	if (x->expires_at != y->expires_at)
		return x->expires_at < y->expires_at ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int lru_rebuild(struct dhcp_lease_table *t)
{
	size_t n = 0, i = 0;
	struct dhcp_lease **v;

	for (size_t s = 0; s < t->nscopes; s++)
		for (struct dhcp_lease *l = t->scopes[s].lru_head; l; l = l->lru_next)
			n++;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t s = 0; s < t->nscopes; s++) {
		size_t first = i;

		for (struct dhcp_lease *l = t->scopes[s].lru_head; l; l = l->lru_next)
			v[i++] = l;
		qsort(v + first, i - first, sizeof(*v), lease_cmp_freed);
		t->scopes[s].lru_head = t->scopes[s].lru_tail = NULL;
		for (size_t j = first; j < i; j++) {
			v[j]->lru_prev = t->scopes[s].lru_tail;
			v[j]->lru_next = NULL;
			if (t->scopes[s].lru_tail)
				t->scopes[s].lru_tail->lru_next = v[j];
			else
				t->scopes[s].lru_head = v[j];
			t->scopes[s].lru_tail = v[j];
		}
	}
	free(v);
	t->lru_dirty = false;
	return 0;
}

/* ---- allocation ---- */

/* Can client c (scope) have the address this record sits on? */
static bool available(const struct dhcp_lease *l, uint16_t scope, const struct dhcp_lease_client *c,
		      time_t now)
{
	if (!l || key_eq(l, scope, c) || state_free(l->state))
		return true;
	/* bound, offered, declined: only once its time is up (the sweep may be late) */
	return l->expires_at <= now;
}

static bool reserved(const struct dhcp_lease_want *w, uint32_t addr)
{
	return w->reserved && w->reserved(w->data, addr);
}

static bool fresh_in_pool(struct dhcp_lease_table *t, struct pool *p, const struct dhcp_lease_want *w,
			  uint32_t *addr)
{
	for (size_t i = p->hint; i < p->nwords; i++) {
		uint64_t unused = ~p->bits[i];

		if (!unused && i == p->hint) {
			p->hint++;
			continue;
		}
		while (unused) {
			uint32_t a = p->first + (uint32_t)(i * 64 + (size_t)__builtin_ctzll(unused));

			unused &= unused - 1;
			/* the bitmap knows this scope's records; another scope's
			 * (overlapping configs) is found here and left alone */
			if (!reserved(w, a) && !find_addr(t, a)) {
				*addr = a;
				return true;
			}
		}
	}
	return false;
}

int dhcp_lease_allocate(struct dhcp_lease_table *t, const struct dhcp_lease_want *w, uint32_t *addr)
{
	struct scope *s;
	const struct dhcp_lease *l;

	if (w->scope >= t->nscopes)
		return -ENOENT;
	if (!client_valid(w->client))
		return -EINVAL;
	s = &t->scopes[w->scope];
	/* 1. RFC 2131 4.3.1: the client's current binding, else its previous one */
	l = find_client(t, w->scope, w->client);
	if (l && pool_of(s, l->addr) && !reserved(w, l->addr)) {
		*addr = l->addr;
		return 0;
	}
	/* 2. the address it asks for (option 50) */
	if (w->requested && pool_of(s, w->requested) && !reserved(w, w->requested) &&
	    available(find_addr(t, w->requested), w->scope, w->client, w->now)) {
		*addr = w->requested;
		return 0;
	}
	/* 3. an address nobody had: keeps freed addresses for their old clients */
	for (size_t i = 0; i < s->npools; i++)
		if (fresh_in_pool(t, &s->pools[i], w, addr))
			return 0;
	/* 4. the address freed longest ago */
	if (t->lru_dirty && lru_rebuild(t) < 0)
		return -ENOMEM;
	for (l = s->lru_head; l; l = l->lru_next)
		if (pool_of(s, l->addr) && !reserved(w, l->addr)) {
			*addr = l->addr;
			return 0;
		}
	return -ENOSPC;
}

/* ---- changes ---- */

static int scope_ok(const struct dhcp_lease_table *t, uint16_t scope)
{
	return scope < t->nscopes;
}

static void rec_fill(const struct dhcp_lease_table *t, struct dhcp_lease_rec *rec, uint16_t scope,
		     uint32_t addr, const struct dhcp_lease_client *c, const char *hostname)
{
	size_t hl = hostname ? strnlen(hostname, DHCP_LEASE_HOSTNAME_MAX + 1) : 0;

	memset(rec, 0, sizeof(*rec));
	rec->op = DHCP_LEASE_PUT;
	rec->addr = addr;
	rec->htype = c->htype;
	rec->hlen = c->hlen;
	memcpy(rec->chaddr, c->chaddr, c->hlen);
	rec->cid_len = c->client_id_len;
	if (c->client_id_len)
		memcpy(rec->client_id, c->client_id, c->client_id_len);
	rec->host_len = (uint8_t)(hl > DHCP_LEASE_HOSTNAME_MAX ? 0 : hl);
	memcpy(rec->hostname, hostname ? hostname : "", rec->host_len);
	rec->scope_len = (uint8_t)strlen(t->scopes[scope].name);
	memcpy(rec->scope, t->scopes[scope].name, rec->scope_len);
}

static int set_check(const struct dhcp_lease_table *t, const struct dhcp_lease_set *s)
{
	size_t hl = s->hostname ? strnlen(s->hostname, DHCP_LEASE_HOSTNAME_MAX + 1) : 0;

	if (!scope_ok(t, s->scope))
		return -ENOENT;
	if (!client_valid(s->client) || !s->addr || hl > DHCP_LEASE_HOSTNAME_MAX ||
	    !printable(s->hostname, hl))
		return -EINVAL;
	return 0;
}

static int change(struct dhcp_lease_table *t, const struct dhcp_lease_rec *rec)
{
	int err = apply(t, rec);

	return err < 0 ? err : 1;
}

int dhcp_lease_offer(struct dhcp_lease_table *t, const struct dhcp_lease_set *s, struct dhcp_lease_rec *rec)
{
	const struct dhcp_lease *old;
	int err = set_check(t, s);

	if (err < 0)
		return err;
	old = find_addr(t, s->addr);
	if (!available(old, s->scope, s->client, s->now))
		return -EADDRINUSE;
	if (old && key_eq(old, s->scope, s->client) &&
	    (old->state == DHCP_LEASE_BOUND || old->state == DHCP_LEASE_STATIC) && old->expires_at > s->now)
		return 0; /* its lease stands; the offer just repeats it */
	rec_fill(t, rec, s->scope, s->addr, s->client, s->hostname);
	rec->state = DHCP_LEASE_OFFERED;
	rec->expires_at = (int64_t)s->now + s->duration;
	if (old && key_eq(old, s->scope, s->client))
		rec->flags = old->flags & DHCP_LEASE_F_WAS_BOUND;
	return change(t, rec);
}

int dhcp_lease_bind(struct dhcp_lease_table *t, const struct dhcp_lease_set *s, bool is_static,
		    struct dhcp_lease_rec *rec)
{
	int err = set_check(t, s);

	if (err < 0)
		return err;
	if (!available(find_addr(t, s->addr), s->scope, s->client, s->now))
		return -EADDRINUSE;
	rec_fill(t, rec, s->scope, s->addr, s->client, s->hostname);
	rec->state = is_static ? DHCP_LEASE_STATIC : DHCP_LEASE_BOUND;
	rec->flags = DHCP_LEASE_F_WAS_BOUND;
	rec->expires_at = (int64_t)s->now + s->duration;
	return change(t, rec);
}

/* A held address given back: kept for its client if it ever had it bound. */
static int give_back(struct dhcp_lease_table *t, const struct dhcp_lease *l, time_t now,
		     struct dhcp_lease_rec *rec)
{
	if (state_free(l->state))
		return 0;
	dhcp_lease_rec_of(t, l, rec);
	if (l->state == DHCP_LEASE_DECLINED ||
	    (l->state == DHCP_LEASE_OFFERED && !(l->flags & DHCP_LEASE_F_WAS_BOUND))) {
		rec->op = DHCP_LEASE_DEL;
	} else {
		rec->state = DHCP_LEASE_RELEASED;
		rec->expires_at = now;
	}
	return change(t, rec);
}

int dhcp_lease_release(struct dhcp_lease_table *t, uint16_t scope, uint32_t addr,
		       const struct dhcp_lease_client *c, time_t now, struct dhcp_lease_rec *rec)
{
	const struct dhcp_lease *l;

	if (!scope_ok(t, scope))
		return -ENOENT;
	if (!client_valid(c))
		return -EINVAL;
	l = find_addr(t, addr);
	if (!l)
		return -ENOENT;
	/* RFC 2131 4.3.4: only the client holding it can give it back */
	if (!key_eq(l, scope, c))
		return -EPERM;
	return give_back(t, l, now, rec);
}

int dhcp_lease_release_addr(struct dhcp_lease_table *t, uint32_t addr, time_t now, struct dhcp_lease_rec *rec)
{
	const struct dhcp_lease *l = find_addr(t, addr);

	return l ? give_back(t, l, now, rec) : -ENOENT;
}

int dhcp_lease_decline(struct dhcp_lease_table *t, uint16_t scope, uint32_t addr,
		       const struct dhcp_lease_client *c, time_t now, uint32_t probation,
		       struct dhcp_lease_rec *rec)
{
	const struct dhcp_lease *l;

	if (!scope_ok(t, scope))
		return -ENOENT;
	if (!client_valid(c))
		return -EINVAL;
	l = find_addr(t, addr);
	if (!l)
		return -ENOENT;
	/* only the client the address was given to knows it is in use; a
	 * DECLINE for someone else's or a free address is a spoof */
	if (!key_eq(l, scope, c) || state_free(l->state))
		return -EPERM;
	dhcp_lease_rec_of(t, l, rec);
	rec->state = DHCP_LEASE_DECLINED;
	rec->flags = 0;
	rec->host_len = 0;
	memset(rec->hostname, 0, sizeof(rec->hostname));
	rec->expires_at = (int64_t)now + probation;
	return change(t, rec);
}

/* What the sweep does to l at now: 0 nothing, 1 *rec to apply. */
static int due(const struct dhcp_lease_table *t, const struct dhcp_lease *l, time_t now,
	       struct dhcp_lease_rec *rec)
{
	bool in_pool = pool_of(&t->scopes[l->scope], l->addr) != NULL;

	if (state_free(l->state)) {
		if (in_pool)
			return 0;
		rec->op = DHCP_LEASE_DEL; /* no allocation can reuse it */
		rec->addr = l->addr;
		return 1;
	}
	if (l->expires_at > now)
		return 0;
	dhcp_lease_rec_of(t, l, rec);
	if (l->state == DHCP_LEASE_DECLINED ||
	    (l->state == DHCP_LEASE_OFFERED && !(l->flags & DHCP_LEASE_F_WAS_BOUND)) || !in_pool)
		rec->op = DHCP_LEASE_DEL;
	else
		rec->state = DHCP_LEASE_EXPIRED; /* expires_at stays: when it ran out */
	return 1;
}

time_t dhcp_lease_expire(struct dhcp_lease_table *t, time_t now, dhcp_lease_change_fn fn, void *data)
{
	struct dhcp_lease_rec rec;
	int64_t next = INT64_MAX;

	if (now < t->next_due && !t->sweep_all)
		return t->next_due == INT64_MAX ? 0 : (time_t)t->next_due;
	t->sweep_all = false;
	for (size_t i = 0; i <= t->mask; i++)
		for (struct dhcp_lease *l = t->by_addr[i], *nx; l; l = nx) {
			/* the change keeps l in place or frees it; either way nx stays valid */
			nx = l->addr_next;
			memset(&rec, 0, sizeof(rec));
			if (due(t, l, now, &rec)) {
				if (fn)
					fn(data, l, &rec);
				if (apply(t, &rec) < 0) /* cannot fail: same identity, in place */
					abort();
				continue;
			}
			if (!state_free(l->state) && l->expires_at < next)
				next = l->expires_at;
		}
	t->next_due = next;
	return next == INT64_MAX ? 0 : (time_t)next;
}
