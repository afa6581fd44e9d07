/* names.c — see names.h.
 *
 * Entries live in a dense array (iteration, counts) and in two chained
 * hash tables, one by name (A queries) and one by address (PTR queries),
 * both grown with the table: a network with thousands of leases answers
 * every lookup from one short chain.
 *
 * Removals unlink first and announce after, so a callback sees the table
 * as it now is and may add or remove entries itself. */
#include "names.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_MIN_BUCKETS 64
#define NAMES_LABEL_MAX 63

struct name_entry {
	struct gw_name pub;
	struct name_entry *next_name; /* chain of the name bucket */
	struct name_entry *next_addr; /* chain of the address bucket */
	struct name_entry *next_gone; /* list of entries being removed */
	size_t idx;                   /* position in the dense array */
	uint32_t hash;                /* of the name */
};

struct names_sub {
	gw_names_cb cb;
	void *data;
	int id;
	bool dead; /* unsubscribed during a dispatch: swept afterwards */
};

struct gw_names {
	struct name_entry **all; /* dense, unordered */
	size_t count, cap;
	struct name_entry **by_name, **by_addr;
	size_t nbuckets; /* a power of two */

	struct names_sub *subs;
	size_t nsubs, capsubs;
	int last_id;
	unsigned dispatching;
	bool sweep;
};

/* ---- normalisation ---- */

static bool label_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int gw_names_normalise(const char *name, char out[GW_NAME_MAX + 1])
{
	size_t len, label = 0;

	if (!name)
		return -EINVAL;
	len = strnlen(name, GW_NAME_MAX + 2);
	if (len > 0 && name[len - 1] == '.')
		len--; /* the final dot of a fully qualified name */
	if (len == 0 || len > GW_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			/* empty label, or one ending with '-' (RFC 952/1123) */
			if (label == 0 || out[i - 1] == '-')
				return -EINVAL;
			label = 0;
		} else if (!label_char_ok(c) || (label == 0 && c == '-') || ++label > NAMES_LABEL_MAX) {
			return -EINVAL;
		}
		out[i] = c;
	}
	if (label == 0 || out[len - 1] == '-')
		return -EINVAL; /* "a.lan..": the final dot ends an empty label */
	out[len] = '\0';
	return 0;
}

/* ---- hashing ---- */

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static uint32_t hash_addr(struct in_addr a)
{
	uint32_t h = a.s_addr * 2654435761u; /* Fibonacci: leases differ in the low octet */

	return h ^ (h >> 16);
}

static size_t bucket_name(const struct gw_names *n, uint32_t h) { return h & (n->nbuckets - 1); }
static size_t bucket_addr(const struct gw_names *n, struct in_addr a)
{
	return hash_addr(a) & (n->nbuckets - 1);
}

static void link_entry(struct gw_names *n, struct name_entry *e)
{
	size_t b = bucket_name(n, e->hash);

	e->next_name = n->by_name[b];
	n->by_name[b] = e;
	b = bucket_addr(n, e->pub.addr);
	e->next_addr = n->by_addr[b];
	n->by_addr[b] = e;
}

static int rehash(struct gw_names *n, size_t nbuckets)
{
	struct name_entry **bn = calloc(nbuckets, sizeof(*bn));
	struct name_entry **ba = calloc(nbuckets, sizeof(*ba));

	if (!bn || !ba) {
		free(bn);
		free(ba);
		return -ENOMEM;
	}
	free(n->by_name);
	free(n->by_addr);
	n->by_name = bn;
	n->by_addr = ba;
	n->nbuckets = nbuckets;
	for (size_t i = 0; i < n->count; i++)
		link_entry(n, n->all[i]);
	return 0;
}

struct gw_names *gw_names_new(void)
{
	struct gw_names *n = calloc(1, sizeof(*n));

	if (n && rehash(n, NAMES_MIN_BUCKETS) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

void gw_names_free(struct gw_names *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->count; i++)
		free(n->all[i]);
	free(n->all);
	free(n->by_name);
	free(n->by_addr);
	free(n->subs);
	free(n);
}

/* ---- subscribers ---- */

int gw_names_subscribe(struct gw_names *n, gw_names_cb cb, void *data)
{
	if (!cb)
		return -EINVAL;
	if (n->last_id == INT_MAX)
		return -ENOSPC;
	if (n->nsubs == n->capsubs) {
		size_t cap = n->capsubs ? 2 * n->capsubs : 4;
		struct names_sub *s = realloc(n->subs, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		n->subs = s;
		n->capsubs = cap;
	}
	n->subs[n->nsubs++] = (struct names_sub){cb, data, ++n->last_id, false};
	return n->last_id;
}

static void sweep_subs(struct gw_names *n)
{
	size_t j = 0;

	for (size_t i = 0; i < n->nsubs; i++)
		if (!n->subs[i].dead)
			n->subs[j++] = n->subs[i];
	n->nsubs = j;
	n->sweep = false;
}

void gw_names_unsubscribe(struct gw_names *n, int id)
{
	for (size_t i = 0; i < n->nsubs; i++) {
		if (n->subs[i].id == id && !n->subs[i].dead) {
			/* a dispatch may be walking the array: only mark it */
			n->subs[i].dead = true;
			n->sweep = true;
			break;
		}
	}
	if (n->dispatching == 0 && n->sweep)
		sweep_subs(n);
}

static void dispatch(struct gw_names *n, const struct gw_name *e, enum gw_names_event ev)
{
	size_t count = n->nsubs; /* subscribers added by a callback start with the next event */

	n->dispatching++;
	for (size_t i = 0; i < count; i++) {
		struct names_sub s = n->subs[i]; /* a callback may realloc the array */
		if (!s.dead)
			s.cb(s.data, e, ev);
	}
	if (--n->dispatching == 0 && n->sweep)
		sweep_subs(n);
}

/* ---- entries ---- */

static struct name_entry *find(const struct gw_names *n, const char *norm, uint32_t h, struct in_addr addr,
			       enum gw_name_source source)
{
	for (struct name_entry *e = n->by_name[bucket_name(n, h)]; e; e = e->next_name)
		if (e->hash == h && e->pub.addr.s_addr == addr.s_addr && e->pub.source == source &&
		    strcmp(e->pub.name, norm) == 0)
			return e;
	return NULL;
}

static int grow(struct gw_names *n)
{
	if (n->count == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 16;
		struct name_entry **a = realloc(n->all, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		n->all = a;
		n->cap = cap;
	}
	/* load factor 1; a failed rehash keeps the old (longer) chains */
	if (n->count >= n->nbuckets)
		(void)rehash(n, 2 * n->nbuckets);
	return 0;
}

int gw_names_add(struct gw_names *n, const char *name, struct in_addr addr, enum gw_name_source source,
		 time_t expires)
{
	char norm[GW_NAME_MAX + 1];
	struct name_entry *e;
	uint32_t h;

	if (gw_names_normalise(name, norm) < 0)
		return -EINVAL;
	h = hash_name(norm);
	e = find(n, norm, h, addr, source);
	if (e) {
		e->pub.expires = expires; /* a renewed lease: nothing to announce */
		return 0;
	}
	if (grow(n) < 0 || !(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	memcpy(e->pub.name, norm, strlen(norm) + 1);
	e->pub.addr = addr;
	e->pub.source = source;
	e->pub.expires = expires;
	e->hash = h;
	e->idx = n->count;
	n->all[n->count++] = e;
	link_entry(n, e);
	dispatch(n, &e->pub, GW_NAME_ADDED);
	return 0;
}

/* Take E out of every index (not freed). */
static void unlink_entry(struct gw_names *n, struct name_entry *e)
{
	struct name_entry **pp;

	for (pp = &n->by_name[bucket_name(n, e->hash)]; *pp != e; pp = &(*pp)->next_name)
		;
	*pp = e->next_name;
	for (pp = &n->by_addr[bucket_addr(n, e->pub.addr)]; *pp != e; pp = &(*pp)->next_addr)
		;
	*pp = e->next_addr;
	n->all[e->idx] = n->all[--n->count];
	n->all[e->idx]->idx = e->idx;
}

/* Announce and free a list of unlinked entries; the count. */
static size_t finish_removal(struct gw_names *n, struct name_entry *gone)
{
	size_t count = 0;

	while (gone) {
		struct name_entry *e = gone;
		gone = e->next_gone;
		dispatch(n, &e->pub, GW_NAME_REMOVED);
		free(e);
		count++;
	}
	return count;
}

int gw_names_remove(struct gw_names *n, const char *name, struct in_addr addr, enum gw_name_source source)
{
	char norm[GW_NAME_MAX + 1];
	struct name_entry *e;

	if (gw_names_normalise(name, norm) < 0)
		return -ENOENT; /* such a name cannot be in the table */
	e = find(n, norm, hash_name(norm), addr, source);
	if (!e)
		return -ENOENT;
	unlink_entry(n, e);
	e->next_gone = NULL;
	finish_removal(n, e);
	return 0;
}

/* Unlink every entry MATCH accepts, then announce them. */
static size_t remove_matching(struct gw_names *n, bool (*match)(const struct gw_name *, const void *),
			      const void *arg)
{
	struct name_entry *gone = NULL;

	for (size_t i = 0; i < n->count;) {
		struct name_entry *e = n->all[i];
		if (!match(&e->pub, arg)) {
			i++;
			continue;
		}
		unlink_entry(n, e); /* the last entry moves to I: look at it next */
		e->next_gone = gone;
		gone = e;
	}
	return finish_removal(n, gone);
}

static bool match_source(const struct gw_name *e, const void *arg)
{
	return e->source == *(const enum gw_name_source *)arg;
}

static bool is_expired(const struct gw_name *e, time_t now) { return e->expires != 0 && e->expires <= now; }

static bool match_expired(const struct gw_name *e, const void *arg)
{
	return is_expired(e, *(const time_t *)arg);
}

size_t gw_names_remove_source(struct gw_names *n, enum gw_name_source source)
{
	return remove_matching(n, match_source, &source);
}

size_t gw_names_expire(struct gw_names *n, time_t now) { return remove_matching(n, match_expired, &now); }

time_t gw_names_next_expiry(const struct gw_names *n)
{
	time_t next = 0;

	for (size_t i = 0; i < n->count; i++) {
		time_t x = n->all[i]->pub.expires;
		if (x != 0 && (next == 0 || x < next))
			next = x;
	}
	return next;
}

/* ---- lookups ---- */

size_t gw_names_lookup(const struct gw_names *n, const char *name, time_t now, const struct gw_name **out,
		       size_t max)
{
	char norm[GW_NAME_MAX + 1];
	size_t total = 0;
	uint32_t h;

	if (gw_names_normalise(name, norm) < 0)
		return 0;
	h = hash_name(norm);
	for (const struct name_entry *e = n->by_name[bucket_name(n, h)]; e; e = e->next_name) {
		if (e->hash != h || strcmp(e->pub.name, norm) != 0 || is_expired(&e->pub, now))
			continue;
		if (total < max)
			out[total] = &e->pub;
		total++;
	}
	return total;
}

size_t gw_names_lookup_addr(const struct gw_names *n, struct in_addr addr, time_t now,
			    const struct gw_name **out, size_t max)
{
	size_t total = 0;

	for (const struct name_entry *e = n->by_addr[bucket_addr(n, addr)]; e; e = e->next_addr) {
		if (e->pub.addr.s_addr != addr.s_addr || is_expired(&e->pub, now))
			continue;
		if (total < max)
			out[total] = &e->pub;
		total++;
	}
	return total;
}

bool gw_names_exists_other(const struct gw_names *n, const char *name, enum gw_name_source except, time_t now)
{
	char norm[GW_NAME_MAX + 1];
	uint32_t h;

	if (gw_names_normalise(name, norm) < 0)
		return false;
	h = hash_name(norm);
	for (const struct name_entry *e = n->by_name[bucket_name(n, h)]; e; e = e->next_name)
		if (e->hash == h && e->pub.source != except && !is_expired(&e->pub, now) &&
		    strcmp(e->pub.name, norm) == 0)
			return true;
	return false;
}

size_t gw_names_count(const struct gw_names *n) { return n->count; }

const struct gw_name *gw_names_next(const struct gw_names *n, size_t *cursor)
{
	if (*cursor >= n->count)
		return NULL;
	return &n->all[(*cursor)++]->pub;
}
