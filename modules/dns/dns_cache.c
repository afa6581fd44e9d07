/* dns_cache.c — see dns_cache.h.
 *
 * Memory: one malloc per entry, a single block holding the entry struct, its
 * TTL offsets and the stored message, in that order; its size is the entry's
 * cost against the budget. The struct is 360 bytes on LP64, most of it the
 * embedded 255-byte name (struct dns_name, so the name is compared without a
 * second pointer chase); an A answer for a 20-byte name with two addresses
 * costs about 360 + 4 + 70 = 434 bytes, so the default 32 MiB holds ~75k
 * such answers. Not counted: malloc's own header (8-16 bytes) and the bucket
 * array (one pointer per bucket, load <= 1, so 8-16 bytes per entry).
 *
 * Index: a chained hash table with a power-of-two bucket array that doubles
 * when the entries outnumber the buckets; chains hang off the entries
 * (hnext), so a lookup allocates nothing. The hash is keyed (SipHash-1-3
 * with a per-cache random key) rather than dns_name_hash()'s FNV-1a: cached
 * names are chosen by whoever controls a zone a client can be made to ask
 * for (a wildcard is enough), and FNV multicollisions are cheap to compute
 * offline, which would turn every lookup into a walk of one long chain.
 *
 * Recency: a doubly linked list, head most recently put or hit; eviction
 * takes the tail. Expired entries stay for serve-stale (RFC 8767) and leave
 * through the LRU or when a lookup finds them past the stale window. */
#include "siphash.h"
#include "dns_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BUCKETS_MIN 256
#define CURSOR_END SIZE_MAX /* dns_cache_next past the last entry (never an entry's address) */
#define PREFETCH_TTL_MIN 10

_Static_assert(sizeof(size_t) >= sizeof(uintptr_t), "dns_cache_next keeps an entry's address in its cursor");

struct dns_cache {
	struct dns_cache_entry **buckets;
	size_t mask; /* buckets - 1 */
	struct dns_cache_entry *head, *tail;
	size_t budget;
	uint32_t stale_max;
	uint64_t k0, k1; /* SipHash key */
	struct dns_cache_stats st;
};

/* ---- hashing ---- */

#define SIPROUND gw_sipround(&v0, &v1, &v2, &v3)

/* ASCII lower-case of 8 bytes at once: bit 7 of each byte of UP is set where
 * the byte is 'A'..'Z' (the 7-bit sums cannot carry into the next byte; ~X
 * leaves out bytes >= 0x80), and 0x80 >> 2 is the 0x20 case bit. */
static inline uint64_t lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t h = x & (0x7f * ones);
	uint64_t ge_a = h + (0x80 - 'A') * ones;
	uint64_t gt_z = h + (0x80 - 'Z' - 1) * ones;
	uint64_t up = ge_a & ~gt_z & ~x & (0x80 * ones);

	return x | (up >> 2);
}

/* SipHash-1-3 (as in CPython and Rust's HashMap: flooding resistance at a
 * lower cost than 2-4) of the lower-cased name zero-padded to 8 bytes, then
 * one word of type, class and name length. Case-insensitive, so a 0x20-mixed
 * query finds the lower-cased entry. */
static uint32_t key_hash(const struct dns_cache *c, const struct dns_name *n, uint16_t type, uint16_t class)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ c->k0, v1 = 0x646f72616e646f6dull ^ c->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ c->k0, v3 = 0x7465646279746573ull ^ c->k1;
	uint64_t m, b;
	size_t i;

	/* words in host order: the hash only has to be consistent within this process */
	for (i = 0; i < n->len; i += 8) {
		m = 0;
		memcpy(&m, n->b + i, n->len - i < 8 ? n->len - i : 8);
		m = lower8(m);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	b = ((uint64_t)type << 32) | ((uint64_t)class << 16) | n->len;
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	b = v0 ^ v1 ^ v2 ^ v3;
	return (uint32_t)(b ^ (b >> 32));
}

/* ---- the table and the LRU list ---- */

static struct dns_cache_entry **bucket_of(const struct dns_cache *c, uint32_t hash)
{
	return &c->buckets[hash & c->mask];
}

static struct dns_cache_entry *find(const struct dns_cache *c, uint32_t hash, const struct dns_name *name,
				    uint16_t type, uint16_t class)
{
	struct dns_cache_entry *e;

	for (e = *bucket_of(c, hash); e; e = e->hnext)
		if (e->hash == hash && e->type == type && e->class == class && dns_name_equal(&e->name, name))
			return e;
	return NULL;
}

static void lru_unlink(struct dns_cache *c, struct dns_cache_entry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		c->head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		c->tail = e->lprev;
}

static void lru_push_head(struct dns_cache *c, struct dns_cache_entry *e)
{
	e->lprev = NULL;
	e->lnext = c->head;
	if (c->head)
		c->head->lprev = e;
	else
		c->tail = e;
	c->head = e;
}

static void entry_insert(struct dns_cache *c, struct dns_cache_entry *e)
{
	struct dns_cache_entry **b = bucket_of(c, e->hash);

	e->hnext = *b;
	*b = e;
	lru_push_head(c, e);
	c->st.entries++;
	c->st.bytes += e->cost;
}

static void entry_drop(struct dns_cache *c, struct dns_cache_entry *e)
{
	struct dns_cache_entry **pp = bucket_of(c, e->hash);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->st.entries--;
	c->st.bytes -= e->cost;
	free(e);
}

/* Double the buckets while the entries outnumber them. A failed allocation
 * only leaves the chains longer: lookups stay correct. */
static void maybe_grow(struct dns_cache *c)
{
	size_t n = c->mask + 1, i;
	struct dns_cache_entry **nb, *e, *next;

	if (c->st.entries <= n || n > SIZE_MAX / 2 / sizeof(*nb))
		return;
	nb = calloc(n * 2, sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < n; i++) {
		for (e = c->buckets[i]; e; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n * 2 - 1)];
			nb[e->hash & (n * 2 - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->mask = n * 2 - 1;
	c->st.buckets = n * 2;
}

static void evict_to(struct dns_cache *c, size_t budget)
{
	while (c->st.bytes > budget && c->tail) {
		entry_drop(c, c->tail);
		c->st.evictions++;
	}
}

/* ---- life cycle ---- */

static void seed(struct dns_cache *c)
{
	uint64_t k[2];
	struct timespec ts;

	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* early boot without entropy: still unknown to a remote sender, if weaker */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)c;
		k[1] = (uint64_t)ts.tv_sec * 0xC2B2AE3D27D4EB4Full ^ (uint64_t)(uintptr_t)&ts;
	}
	c->k0 = k[0];
	c->k1 = k[1];
}

struct dns_cache *dns_cache_new(size_t budget, uint32_t stale_max)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->buckets = calloc(BUCKETS_MIN, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->mask = BUCKETS_MIN - 1;
	c->st.buckets = BUCKETS_MIN;
	c->budget = budget;
	c->st.budget = budget;
	c->stale_max = stale_max;
	seed(c);
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	struct dns_cache_entry *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->lnext;
		free(e);
	}
	free(c->buckets);
	free(c);
}

void dns_cache_set_budget(struct dns_cache *c, size_t budget)
{
	c->budget = budget;
	c->st.budget = budget;
	evict_to(c, budget);
}

void dns_cache_set_stale_max(struct dns_cache *c, uint32_t stale_max)
{
	c->stale_max = stale_max;
}

/* ---- put ---- */

/* The question at offset 12 must be P's key, its name uncompressed: the hit
 * path overwrites those bytes with the client's spelling of the same name,
 * which only keeps every compression pointer valid when the name's bytes
 * are all there. Returns the offset just past the question, or -EINVAL. */
static long check_question(const struct dns_cache_put *p)
{
	struct wire r = wire_reader(p->msg, p->len);
	struct dns_name q = {0};
	uint8_t l;

	wire_skip(&r, 4); /* ID, flags: rewritten per answer */
	if (wire_u16(&r) != 1)
		return -EINVAL; /* qdcount (RFC 1035 4.1.2: one question in practice) */
	wire_skip(&r, 6);
	do {
		l = wire_u8(&r);
		if (l > DNS_LABEL_MAX)
			return -EINVAL; /* a pointer, or a reserved label type (RFC 1035 4.1.4) */
		if (q.len + 1 + l > DNS_NAME_MAX)
			return -EINVAL;
		q.b[q.len] = l;
		wire_copy(&r, q.b + q.len + 1, l);
		q.len = (uint8_t)(q.len + 1 + l);
		q.labels = (uint8_t)(q.labels + (l != 0));
	} while (l != 0 && wire_ok(&r));
	if (wire_u16(&r) != p->type || wire_u16(&r) != p->class || !wire_ok(&r))
		return -EINVAL;
	/* labels too: the stored copy is P's, and flush (dns_name_is_under) counts on it */
	if (q.len != p->name->len || q.labels != p->name->labels || !dns_name_equal(&q, p->name))
		return -EINVAL;
	return (long)wire_pos(&r);
}

static int check_put(const struct dns_cache_put *p)
{
	long qend;
	size_t i;

	if (!p->name || !p->msg || (p->nttl && !p->ttl_off))
		return -EINVAL;
	if (p->len < DNS_HDR_LEN || p->len > DNS_MSG_MAX || p->nttl > UINT16_MAX)
		return -EINVAL;
	if (p->rank != DNS_RANK_GLUE && p->rank != DNS_RANK_ANSWER)
		return -EINVAL;
	if (p->rcode > DNS_F_RCODE || p->name->len < 1)
		return -EINVAL;
	qend = check_question(p);
	if (qend < 0)
		return (int)qend;
	for (i = 0; i < p->nttl; i++)
		if (p->ttl_off[i] < (size_t)qend || (size_t)p->ttl_off[i] + 4 > p->len)
			return -EINVAL;
	return 0;
}

static size_t put_cost(const struct dns_cache_put *p)
{
	return sizeof(struct dns_cache_entry) + p->nttl * sizeof(uint16_t) + p->len;
}

static struct dns_cache_entry *entry_new(const struct dns_cache_put *p, uint32_t hash, uint32_t now,
					 size_t cost)
{
	struct dns_cache_entry *e = malloc(cost);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->name = *p->name;
	dns_name_lower(&e->name);
	e->type = p->type;
	e->class = p->class;
	e->rank = (uint8_t)p->rank;
	e->rcode = p->rcode;
	e->negative = p->negative;
	e->stored = now;
	e->ttl = p->ttl;
	e->expires = now + p->ttl < now ? UINT32_MAX : now + p->ttl;
	e->ttl_off = (uint16_t *)(e + 1); /* sizeof(*e) is a multiple of its 8-byte alignment */
	e->nttl = (uint16_t)p->nttl;
	e->msg = (uint8_t *)(e->ttl_off + p->nttl);
	e->len = (uint16_t)p->len;
	e->cost = cost;
	e->hash = hash;
	if (p->nttl)
		memcpy(e->ttl_off, p->ttl_off, p->nttl * sizeof(uint16_t));
	memcpy(e->msg, p->msg, p->len);
	return e;
}

int dns_cache_put(struct dns_cache *c, const struct dns_cache_put *p, uint32_t now)
{
	struct dns_cache_entry *old, *e;
	size_t cost;
	uint32_t hash;
	int r = check_put(p);

	if (r < 0)
		return r;
	if (p->ttl == 0)
		return 1; /* RFC 1035 3.2.1: a TTL of zero is for the transaction in progress only */
	cost = put_cost(p);
	if (cost > c->budget / 8)
		return -E2BIG;
	hash = key_hash(c, p->name, p->type, p->class);
	old = find(c, hash, p->name, p->type, p->class);
	if (old && old->rank > p->rank && now < old->expires)
		return 1; /* RFC 2181 5.4.1: glue or referral data never replaces an authoritative answer */
	e = entry_new(p, hash, now, cost);
	if (!e)
		return -ENOMEM;
	if (old)
		entry_drop(c, old);
	entry_insert(c, e);
	c->st.puts++;
	evict_to(c, c->budget); /* never reaches E: it is at the head and at most an eighth of the budget */
	maybe_grow(c);
	return 0;
}

/* ---- lookups and answers ---- */

static bool past_stale_window(const struct dns_cache *c, const struct dns_cache_entry *e, uint32_t now)
{
	return now >= e->expires && now - e->expires >= c->stale_max;
}

struct dns_cache_entry *dns_cache_get(struct dns_cache *c, const struct dns_name *name, uint16_t type,
				      uint16_t class, enum dns_cache_rank min_rank, uint32_t now,
				      enum dns_cache_state *state)
{
	struct dns_cache_entry *e = find(c, key_hash(c, name, type, class), name, type, class);
	enum dns_cache_state s = DNS_CACHE_MISS;

	if (e && past_stale_window(c, e, now)) {
		entry_drop(c, e);
		c->st.expired++;
		e = NULL;
	}
	if (e && e->rank >= min_rank) {
		s = now < e->expires ? DNS_CACHE_FRESH : DNS_CACHE_STALE;
		if (s == DNS_CACHE_FRESH)
			c->st.hits++;
		else
			c->st.stale_hits++;
		e->hits++;
		if (c->head != e) {
			lru_unlink(c, e);
			lru_push_head(c, e);
		}
	} else {
		e = NULL;
		c->st.misses++;
	}
	if (state)
		*state = s;
	return e;
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A stored TTL counted down by AGE, never below 0 nor past the entry's own
 * remaining lifetime (the entry's TTL is the one max-ttl bounded). RFC 2181
 * 8: a TTL with the top bit set is read as zero. */
static inline uint32_t ttl_now(uint32_t stored, uint32_t age, uint32_t left)
{
	uint32_t v = stored > INT32_MAX || stored < age ? 0 : stored - age;

	return v < left ? v : left;
}

int dns_cache_answer(const struct dns_cache_entry *e, uint16_t id, uint16_t qflags, const uint8_t *qname_wire,
		     uint32_t now, bool stale, uint8_t *out, size_t cap)
{
	/* RFC 1035 4.1.1: RD is copied from the query; RFC 4035 3.2.2: so is CD.
	 * AA: a cached answer is not authoritative (RFC 1034 4.3.1); AD: not
	 * validated here; TC: the caller truncates. Opcode 0: only QUERY is cached. */
	uint16_t flags = DNS_F_QR | DNS_F_RA | (qflags & (DNS_F_RD | DNS_F_CD)) | (e->rcode & DNS_F_RCODE);
	uint32_t age = now > e->stored ? now - e->stored : 0, left = dns_cache_ttl_left(e, now);
	size_t i;

	if (cap < e->len)
		return -ENOSPC;
	memcpy(out, e->msg, e->len);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = (uint8_t)(flags >> 8);
	out[3] = (uint8_t)flags;
	/* the client's spelling back (0x20, draft-vixie-dnsext-dns0x20): same length, pointers stay valid */
	memcpy(out + DNS_HDR_LEN, qname_wire, e->name.len);
	if (stale) {
		for (i = 0; i < e->nttl; i++)
			wr32(out + e->ttl_off[i], DNS_CACHE_STALE_TTL); /* RFC 8767 4 */
	} else {
		for (i = 0; i < e->nttl; i++)
			wr32(out + e->ttl_off[i], ttl_now(rd32(e->msg + e->ttl_off[i]), age, left));
	}
	return e->len;
}

uint32_t dns_cache_ttl_left(const struct dns_cache_entry *e, uint32_t now)
{
	return now < e->expires ? e->expires - now : 0;
}

bool dns_cache_want_prefetch(struct dns_cache_entry *e, uint32_t now)
{
	uint32_t left = dns_cache_ttl_left(e, now);

	if (e->prefetching || e->ttl < PREFETCH_TTL_MIN || left == 0 || (uint64_t)left * 10 > e->ttl)
		return false;
	e->prefetching = true;
	return true;
}

/* ---- administration ---- */

size_t dns_cache_flush(struct dns_cache *c, const struct dns_name *below)
{
	struct dns_cache_entry *e, *next;
	size_t n = 0;

	for (e = c->head; e; e = next) {
		next = e->lnext;
		if (!below || dns_name_is_under(&e->name, below)) {
			entry_drop(c, e);
			n++;
		}
	}
	c->st.flushed += n;
	return n;
}

/* The cursor is the address of the entry returned last: bucket order (hits
 * reorder the LRU list but never a chain) continues from its chain. */
const struct dns_cache_entry *dns_cache_next(const struct dns_cache *c, size_t *cursor)
{
	const struct dns_cache_entry *e = (const struct dns_cache_entry *)(uintptr_t)*cursor;
	size_t b;

	if (*cursor == CURSOR_END)
		return NULL;
	if (e && e->hnext) {
		e = e->hnext;
	} else {
		b = e ? (e->hash & c->mask) + 1 : 0;
		while (b <= c->mask && !c->buckets[b])
			b++;
		e = b <= c->mask ? c->buckets[b] : NULL;
	}
	*cursor = e ? (size_t)(uintptr_t)e : CURSOR_END;
	return e;
}

const struct dns_cache_stats *dns_cache_stats(const struct dns_cache *c)
{
	return &c->st;
}
