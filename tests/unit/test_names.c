/* test_names.c — the local names table (names.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define MAX_EVENTS 64

struct event {
	enum gw_names_event ev;
	char name[GW_NAME_MAX + 1];
	struct in_addr addr;
	enum gw_name_source source;
	time_t expires;
};

struct recorder {
	struct event ev[MAX_EVENTS];
	size_t n;
};

static void record(void *data, const struct gw_name *e, enum gw_names_event ev)
{
	struct recorder *r = data;

	assert_true(r->n < MAX_EVENTS);
	r->ev[r->n].ev = ev;
	strcpy(r->ev[r->n].name, e->name);
	r->ev[r->n].addr = e->addr;
	r->ev[r->n].source = e->source;
	r->ev[r->n].expires = e->expires;
	r->n++;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void assert_event(const struct recorder *r, size_t i, enum gw_names_event ev, const char *name,
			 const char *addr, enum gw_name_source source)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].ev, ev);
	assert_string_equal(r->ev[i].name, name);
	assert_int_equal(r->ev[i].addr.s_addr, ip(addr).s_addr);
	assert_int_equal(r->ev[i].source, source);
}

/* ---- normalisation ---- */

static void assert_norm(const char *in, const char *want)
{
	char out[GW_NAME_MAX + 1];

	assert_int_equal(gw_names_normalise(in, out), 0);
	assert_string_equal(out, want);
}

static void assert_bad(const char *in)
{
	char out[GW_NAME_MAX + 1];

	if (gw_names_normalise(in, out) != -EINVAL)
		fail_msg("accepted \"%s\"", in ? in : "(null)");
}

/* "xxx...x" labels of LEN characters joined by dots up to TOTAL chars */
static void make_name(char *buf, size_t total, size_t label)
{
	size_t i = 0, l = 0;

	while (i < total) {
		/* never end on a dot: the last label is filled up instead */
		if (l == label && i + 1 < total) {
			buf[i++] = '.';
			l = 0;
		} else {
			buf[i] = (char)('a' + i % 26);
			i++;
			l++;
		}
	}
	buf[total] = '\0';
}

static void test_normalise_ok(void **state)
{
	char name[300], want[300];

	assert_norm("Laptop.Home.ARPA.", "laptop.home.arpa");
	assert_norm("laptop.home.arpa", "laptop.home.arpa");
	assert_norm("a", "a");
	assert_norm("A.", "a");
	assert_norm("_dmarc.example", "_dmarc.example");
	assert_norm("my-host.lan", "my-host.lan");
	assert_norm("123.4", "123.4");
	assert_norm("x_y-z9", "x_y-z9");

	/* a 63-character label is the longest */
	memset(name, 'B', 63);
	strcpy(name + 63, ".lan");
	memset(want, 'b', 63);
	strcpy(want + 63, ".lan");
	assert_norm(name, want);

	/* 253 characters is the longest name, with or without its final dot */
	make_name(name, 253, 60);
	assert_int_equal(strlen(name), 253);
	assert_norm(name, name);
	strcpy(want, name);
	strcat(name, ".");
	assert_norm(name, want);
}

static void test_normalise_rejects(void **state)
{
	char name[300];

	assert_bad(NULL);
	assert_bad("");
	assert_bad(".");
	assert_bad("..");
	assert_bad(".lan");
	assert_bad("a..lan");
	assert_bad("a.lan..");
	assert_bad("-a.lan");
	assert_bad("a.-b");
	assert_bad("a-.lan");
	assert_bad("lan-");
	assert_bad("lan-.");
	assert_bad("-");
	assert_bad("a b");
	assert_bad("a*b");
	assert_bad("a/b");
	assert_bad("host\\.lan");
	assert_bad("caf\xc3\xa9.lan");
	assert_bad("tab\t");

	/* a 64-character label */
	memset(name, 'a', 64);
	strcpy(name + 64, ".lan");
	assert_bad(name);
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_bad(name);

	/* 254 characters, with and without a final dot */
	make_name(name, 254, 60);
	assert_bad(name);
	strcat(name, ".");
	assert_bad(name);
	/* far longer than the output buffer */
	make_name(name, 299, 50);
	assert_bad(name);
}

/* ---- add / refresh / remove ---- */

static void test_add_event_and_refresh(void **state)
{
	struct gw_names *n = gw_names_new();
	struct recorder r = {0};
	const struct gw_name *out[4];

	assert_non_null(n);
	assert_true(gw_names_subscribe(n, record, &r) > 0);

	assert_int_equal(gw_names_add(n, "Laptop.Home.Arpa.", ip("198.51.100.10"), GW_NAME_DHCP, 1000), 0);
	assert_int_equal(r.n, 1);
	assert_event(&r, 0, GW_NAME_ADDED, "laptop.home.arpa", "198.51.100.10", GW_NAME_DHCP);
	assert_int_equal(r.ev[0].expires, 1000);

	/* same (name, addr, source), another spelling: a refresh, no event */
	assert_int_equal(gw_names_add(n, "LAPTOP.home.arpa", ip("198.51.100.10"), GW_NAME_DHCP, 2000), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(gw_names_count(n), 1);
	assert_int_equal(gw_names_lookup(n, "laptop.home.arpa", 1500, out, 4), 1);
	assert_int_equal(out[0]->expires, 2000);

	/* another address, or another source: new entries */
	assert_int_equal(gw_names_add(n, "laptop.home.arpa", ip("198.51.100.11"), GW_NAME_DHCP, 0), 0);
	assert_int_equal(gw_names_add(n, "laptop.home.arpa", ip("198.51.100.10"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(r.n, 3);
	assert_event(&r, 1, GW_NAME_ADDED, "laptop.home.arpa", "198.51.100.11", GW_NAME_DHCP);
	assert_event(&r, 2, GW_NAME_ADDED, "laptop.home.arpa", "198.51.100.10", GW_NAME_STATIC);
	assert_int_equal(gw_names_count(n), 3);

	/* a bad name is refused without an event */
	assert_int_equal(gw_names_add(n, "bad..name", ip("198.51.100.12"), GW_NAME_DHCP, 0), -EINVAL);
	assert_int_equal(r.n, 3);
	assert_int_equal(gw_names_count(n), 3);
	gw_names_free(n);
}

static void test_remove(void **state)
{
	struct gw_names *n = gw_names_new();
	struct recorder r = {0};
	const struct gw_name *out[4];

	assert_int_equal(gw_names_add(n, "nas.lan", ip("198.51.100.20"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "nas.lan", ip("198.51.100.21"), GW_NAME_STATIC, 0), 0);
	assert_true(gw_names_subscribe(n, record, &r) > 0);

	/* the identity is (name, addr, source): a different one is not found */
	assert_int_equal(gw_names_remove(n, "nas.lan", ip("198.51.100.20"), GW_NAME_DHCP), -ENOENT);
	assert_int_equal(gw_names_remove(n, "nas.lan", ip("198.51.100.22"), GW_NAME_STATIC), -ENOENT);
	assert_int_equal(gw_names_remove(n, "other.lan", ip("198.51.100.20"), GW_NAME_STATIC), -ENOENT);
	assert_int_equal(gw_names_remove(n, "bad..lan", ip("198.51.100.20"), GW_NAME_STATIC), -ENOENT);
	assert_int_equal(r.n, 0);

	assert_int_equal(gw_names_remove(n, "NAS.lan.", ip("198.51.100.20"), GW_NAME_STATIC), 0);
	assert_int_equal(r.n, 1);
	assert_event(&r, 0, GW_NAME_REMOVED, "nas.lan", "198.51.100.20", GW_NAME_STATIC);
	assert_int_equal(gw_names_count(n), 1);
	assert_int_equal(gw_names_lookup(n, "nas.lan", 0, out, 4), 1);
	assert_int_equal(out[0]->addr.s_addr, ip("198.51.100.21").s_addr);
	assert_int_equal(gw_names_lookup_addr(n, ip("198.51.100.20"), 0, out, 4), 0);

	assert_int_equal(gw_names_remove(n, "nas.lan", ip("198.51.100.20"), GW_NAME_STATIC), -ENOENT);
	assert_int_equal(r.n, 1);
	gw_names_free(n);
}

static void test_remove_source(void **state)
{
	struct gw_names *n = gw_names_new();
	struct recorder r = {0};
	const struct gw_name *out[4];

	assert_int_equal(gw_names_add(n, "a.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "b.lan", ip("198.51.100.2"), GW_NAME_HOSTS, 0), 0);
	assert_int_equal(gw_names_add(n, "c.lan", ip("198.51.100.3"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "a.lan", ip("198.51.100.1"), GW_NAME_DHCP, 50), 0);
	assert_true(gw_names_subscribe(n, record, &r) > 0);

	assert_int_equal(gw_names_remove_source(n, GW_NAME_STATIC), 2);
	assert_int_equal(r.n, 2);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.ev[i].ev, GW_NAME_REMOVED);
		assert_int_equal(r.ev[i].source, GW_NAME_STATIC);
	}
	assert_true(strcmp(r.ev[0].name, r.ev[1].name) != 0);
	assert_int_equal(gw_names_count(n), 2);
	assert_int_equal(gw_names_lookup(n, "c.lan", 0, out, 4), 0);
	assert_int_equal(gw_names_lookup(n, "a.lan", 0, out, 4), 1);
	assert_int_equal(out[0]->source, GW_NAME_DHCP);
	assert_int_equal(gw_names_remove_source(n, GW_NAME_STATIC), 0);
	assert_int_equal(r.n, 2);
	gw_names_free(n);
}

/* ---- lookups ---- */

static void test_lookup(void **state)
{
	struct gw_names *n = gw_names_new();
	const struct gw_name *out[2];

	assert_int_equal(gw_names_add(n, "tv.home.arpa", ip("198.51.100.30"), GW_NAME_DHCP, 0), 0);
	assert_int_equal(gw_names_add(n, "tv.home.arpa", ip("198.51.100.31"), GW_NAME_DHCP, 0), 0);
	assert_int_equal(gw_names_add(n, "tv.home.arpa", ip("198.51.100.32"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "tv2.home.arpa", ip("198.51.100.30"), GW_NAME_DHCP, 0), 0);

	/* case-insensitive, final dot optional; the total count even past MAX */
	assert_int_equal(gw_names_lookup(n, "TV.Home.Arpa.", 0, out, 2), 3);
	assert_string_equal(out[0]->name, "tv.home.arpa");
	assert_string_equal(out[1]->name, "tv.home.arpa");
	assert_int_equal(gw_names_lookup(n, "tv.home.arpa", 0, NULL, 0), 3);
	assert_int_equal(gw_names_lookup(n, "tv.home", 0, out, 2), 0);
	assert_int_equal(gw_names_lookup(n, "home.arpa", 0, out, 2), 0);
	assert_int_equal(gw_names_lookup(n, "bad..name", 0, out, 2), 0);
	assert_int_equal(gw_names_lookup(n, "", 0, out, 2), 0);

	/* by address, for PTR: one address, two names */
	assert_int_equal(gw_names_lookup_addr(n, ip("198.51.100.30"), 0, out, 2), 2);
	assert_true(strcmp(out[0]->name, out[1]->name) != 0);
	for (size_t i = 0; i < 2; i++)
		assert_true(strcmp(out[i]->name, "tv.home.arpa") == 0 ||
			    strcmp(out[i]->name, "tv2.home.arpa") == 0);
	assert_int_equal(gw_names_lookup_addr(n, ip("198.51.100.32"), 0, out, 2), 1);
	assert_int_equal(out[0]->source, GW_NAME_STATIC);
	assert_int_equal(gw_names_lookup_addr(n, ip("198.51.100.33"), 0, out, 2), 0);
	gw_names_free(n);
}

static void test_expiry(void **state)
{
	struct gw_names *n = gw_names_new();
	struct recorder r = {0};
	const struct gw_name *out[4];

	assert_int_equal(gw_names_next_expiry(n), 0);
	assert_int_equal(gw_names_add(n, "forever.lan", ip("198.51.100.40"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_next_expiry(n), 0);
	assert_int_equal(gw_names_add(n, "soon.lan", ip("198.51.100.41"), GW_NAME_DHCP, 100), 0);
	assert_int_equal(gw_names_add(n, "later.lan", ip("198.51.100.42"), GW_NAME_DHCP, 200), 0);
	assert_int_equal(gw_names_next_expiry(n), 100);
	assert_true(gw_names_subscribe(n, record, &r) > 0);

	/* not yet expired at 99; expired at exactly its expiry */
	assert_int_equal(gw_names_lookup(n, "soon.lan", 99, out, 4), 1);
	assert_int_equal(gw_names_lookup(n, "soon.lan", 100, out, 4), 0);
	assert_int_equal(gw_names_lookup_addr(n, ip("198.51.100.41"), 100, out, 4), 0);
	assert_int_equal(gw_names_lookup_addr(n, ip("198.51.100.41"), 99, out, 4), 1);
	/* an expired entry stays counted until gw_names_expire */
	assert_int_equal(gw_names_count(n), 3);

	assert_int_equal(gw_names_expire(n, 99), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(gw_names_expire(n, 100), 1);
	assert_int_equal(r.n, 1);
	assert_event(&r, 0, GW_NAME_REMOVED, "soon.lan", "198.51.100.41", GW_NAME_DHCP);
	assert_int_equal(gw_names_next_expiry(n), 200);

	/* a refresh moves the expiry */
	assert_int_equal(gw_names_add(n, "later.lan", ip("198.51.100.42"), GW_NAME_DHCP, 500), 0);
	assert_int_equal(gw_names_next_expiry(n), 500);
	assert_int_equal(gw_names_expire(n, 1000000), 1);
	assert_int_equal(gw_names_count(n), 1);
	assert_int_equal(gw_names_next_expiry(n), 0);
	assert_int_equal(gw_names_lookup(n, "forever.lan", 1000000, out, 4), 1);
	gw_names_free(n);
}

static void test_exists_other(void **state)
{
	struct gw_names *n = gw_names_new();

	assert_int_equal(gw_names_add(n, "router.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "phone.lan", ip("198.51.100.50"), GW_NAME_DHCP, 100), 0);
	assert_int_equal(gw_names_add(n, "tmp.lan", ip("198.51.100.51"), GW_NAME_HOSTS, 100), 0);

	/* DHCP may not claim a static name, in any spelling */
	assert_true(gw_names_exists_other(n, "ROUTER.lan.", GW_NAME_DHCP, 0));
	assert_false(gw_names_exists_other(n, "router.lan", GW_NAME_STATIC, 0));
	/* its own entries are no conflict */
	assert_false(gw_names_exists_other(n, "phone.lan", GW_NAME_DHCP, 0));
	assert_true(gw_names_exists_other(n, "phone.lan", GW_NAME_STATIC, 0));
	/* expired entries claim nothing */
	assert_true(gw_names_exists_other(n, "tmp.lan", GW_NAME_DHCP, 99));
	assert_false(gw_names_exists_other(n, "tmp.lan", GW_NAME_DHCP, 100));
	assert_false(gw_names_exists_other(n, "nobody.lan", GW_NAME_DHCP, 0));
	assert_false(gw_names_exists_other(n, "-bad", GW_NAME_DHCP, 0));
	gw_names_free(n);
}

static void test_iterate(void **state)
{
	struct gw_names *n = gw_names_new();
	size_t cursor = 0, seen = 0;
	const struct gw_name *e;

	assert_null(gw_names_next(n, &cursor));
	assert_int_equal(gw_names_add(n, "a.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "b.lan", ip("198.51.100.2"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "c.lan", ip("198.51.100.3"), GW_NAME_DHCP, 0), 0);
	cursor = 0;
	while ((e = gw_names_next(n, &cursor)) != NULL) {
		assert_true(e->name[0] >= 'a' && e->name[0] <= 'c');
		seen |= 1u << (e->name[0] - 'a');
	}
	assert_int_equal(seen, 7);
	assert_null(gw_names_next(n, &cursor));
	gw_names_free(n);
}

/* ---- subscribers ---- */

struct self_unsub {
	struct gw_names *n;
	int id;
	int other; /* another subscriber to drop, 0: none */
	size_t calls;
};

static void unsub_cb(void *data, const struct gw_name *e, enum gw_names_event ev)
{
	struct self_unsub *s = data;

	s->calls++;
	gw_names_unsubscribe(s->n, s->id);
	if (s->other)
		gw_names_unsubscribe(s->n, s->other);
}

static void test_unsubscribe_in_callback(void **state)
{
	struct gw_names *n = gw_names_new();
	struct self_unsub s = {n, 0, 0, 0};
	struct recorder before = {0}, after = {0};

	assert_true(gw_names_subscribe(n, record, &before) > 0);
	s.id = gw_names_subscribe(n, unsub_cb, &s);
	assert_true(s.id > 0);
	assert_true(gw_names_subscribe(n, record, &after) > 0);

	assert_int_equal(gw_names_add(n, "one.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(s.calls, 1);
	/* the others still ran, before and after it in the list */
	assert_int_equal(before.n, 1);
	assert_int_equal(after.n, 1);

	assert_int_equal(gw_names_add(n, "two.lan", ip("198.51.100.2"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(before.n, 2);
	assert_int_equal(after.n, 2);
	gw_names_free(n);
}

static void test_unsubscribe_other_in_callback(void **state)
{
	struct gw_names *n = gw_names_new();
	struct self_unsub s = {n, 0, 0, 0};
	struct recorder later = {0};
	int later_id;

	s.id = gw_names_subscribe(n, unsub_cb, &s);
	later_id = gw_names_subscribe(n, record, &later);
	assert_true(later_id > s.id);
	s.other = later_id;

	/* dropped during this dispatch, before its turn: not called */
	assert_int_equal(gw_names_add(n, "one.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(later.n, 0);
	/* unsubscribing an unknown or already gone id is harmless */
	gw_names_unsubscribe(n, later_id);
	gw_names_unsubscribe(n, 12345);
	assert_int_equal(gw_names_add(n, "two.lan", ip("198.51.100.2"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(later.n, 0);
	gw_names_free(n);
}

struct subscribing {
	struct gw_names *n;
	struct recorder *late;
	int late_id;
};

static void subscribe_cb(void *data, const struct gw_name *e, enum gw_names_event ev)
{
	struct subscribing *s = data;

	if (s->late_id == 0)
		s->late_id = gw_names_subscribe(s->n, record, s->late);
}

static void test_subscribe_in_callback(void **state)
{
	struct gw_names *n = gw_names_new();
	struct recorder late = {0};
	struct subscribing s = {n, &late, 0};

	assert_true(gw_names_subscribe(n, subscribe_cb, &s) > 0);
	assert_int_equal(gw_names_add(n, "one.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_true(s.late_id > 0);
	assert_int_equal(late.n, 0); /* starts with the next event */
	assert_int_equal(gw_names_add(n, "two.lan", ip("198.51.100.2"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(late.n, 1);
	assert_string_equal(late.ev[0].name, "two.lan");
	gw_names_free(n);
}

/* A callback that edits the table while a batch removal announces. */
struct editor {
	struct gw_names *n;
	size_t removed;
};

static void edit_cb(void *data, const struct gw_name *e, enum gw_names_event ev)
{
	struct editor *ed = data;

	if (ev != GW_NAME_REMOVED)
		return;
	ed->removed++;
	/* the entry being announced is no longer in the table */
	assert_int_equal(gw_names_lookup(ed->n, e->name, 0, NULL, 0), 0);
	assert_int_equal(gw_names_add(ed->n, "kept.lan", ip("198.51.100.99"), GW_NAME_HOSTS, 0), 0);
	(void)gw_names_remove(ed->n, "x2.lan", ip("198.51.100.2"), GW_NAME_STATIC);
}

static void test_edit_during_removal(void **state)
{
	struct gw_names *n = gw_names_new();
	struct editor ed = {n, 0};
	const struct gw_name *out[2];

	assert_int_equal(gw_names_add(n, "x1.lan", ip("198.51.100.1"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "x2.lan", ip("198.51.100.2"), GW_NAME_STATIC, 0), 0);
	assert_int_equal(gw_names_add(n, "x3.lan", ip("198.51.100.3"), GW_NAME_STATIC, 0), 0);
	assert_true(gw_names_subscribe(n, edit_cb, &ed) > 0);
	assert_int_equal(gw_names_remove_source(n, GW_NAME_STATIC), 3);
	assert_int_equal(ed.removed, 3);
	assert_int_equal(gw_names_count(n), 1);
	assert_int_equal(gw_names_lookup(n, "kept.lan", 0, out, 2), 1);
	gw_names_free(n);
}

/* ---- many entries ---- */

#define MANY 1000

static struct in_addr many_addr(int i)
{
	struct in_addr a;

	/* 100.64.0.0/10; every fourth name shares its address with the previous */
	a.s_addr = htonl(0x64400000u + (uint32_t)(i - (i % 4 == 3)));
	return a;
}

static void check_many(const struct gw_names *n, const bool *present)
{
	char name[32];
	const struct gw_name *out[4];
	size_t expect = 0, cursor = 0, iterated = 0;
	const struct gw_name *e;

	for (int i = 0; i < MANY; i++) {
		size_t got;
		bool found = false;

		snprintf(name, sizeof(name), "Host-%d.LAN", i);
		got = gw_names_lookup(n, name, 0, out, 4);
		assert_int_equal(got, present[i] ? 1 : 0);
		if (present[i]) {
			expect++;
			assert_int_equal(out[0]->addr.s_addr, many_addr(i).s_addr);
		}
		got = gw_names_lookup_addr(n, many_addr(i), 0, out, 4);
		for (size_t k = 0; k < got && k < 4; k++) {
			snprintf(name, sizeof(name), "host-%d.lan", i);
			if (strcmp(out[k]->name, name) == 0)
				found = true;
		}
		assert_int_equal(found, present[i]);
	}
	assert_int_equal(gw_names_count(n), expect);
	while ((e = gw_names_next(n, &cursor)) != NULL) {
		int i;
		assert_int_equal(sscanf(e->name, "host-%d.lan", &i), 1);
		assert_true(i >= 0 && i < MANY && present[i]);
		iterated++;
	}
	assert_int_equal(iterated, expect);
}

static void test_many(void **state)
{
	struct gw_names *n = gw_names_new();
	static bool present[MANY];
	char name[32];

	memset(present, 0, sizeof(present));
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "host-%d.lan", i);
		assert_int_equal(gw_names_add(n, name, many_addr(i), GW_NAME_DHCP, 0), 0);
		present[i] = true;
	}
	check_many(n, present);

	/* remove every third, then re-add half of those */
	for (int i = 0; i < MANY; i += 3) {
		snprintf(name, sizeof(name), "host-%d.lan", i);
		assert_int_equal(gw_names_remove(n, name, many_addr(i), GW_NAME_DHCP), 0);
		present[i] = false;
	}
	check_many(n, present);
	for (int i = 0; i < MANY; i += 6) {
		snprintf(name, sizeof(name), "HOST-%d.lan.", i);
		assert_int_equal(gw_names_add(n, name, many_addr(i), GW_NAME_DHCP, 0), 0);
		present[i] = true;
	}
	check_many(n, present);

	/* remove all: the table is empty and consistent */
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "host-%d.lan", i);
		int want = present[i] ? 0 : -ENOENT;

		assert_int_equal(gw_names_remove(n, name, many_addr(i), GW_NAME_DHCP), want);
		present[i] = false;
	}
	check_many(n, present);
	assert_int_equal(gw_names_count(n), 0);
	gw_names_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise_ok),
		cmocka_unit_test(test_normalise_rejects),
		cmocka_unit_test(test_add_event_and_refresh),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_source),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_exists_other),
		cmocka_unit_test(test_iterate),
		cmocka_unit_test(test_unsubscribe_in_callback),
		cmocka_unit_test(test_unsubscribe_other_in_callback),
		cmocka_unit_test(test_subscribe_in_callback),
		cmocka_unit_test(test_edit_during_removal),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
