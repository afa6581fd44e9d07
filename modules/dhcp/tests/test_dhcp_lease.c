/* test_dhcp_lease.c — the lease table (dhcp_lease.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dhcp_lease.h"

#define NET 0xc6336400u /* 198.51.100.0 */
#define A(n) (NET + (n))
#define T0 1700000000

/* ---- helpers ---- */

struct cl {
	uint8_t mac[6];
	uint8_t cid[7];
	struct dhcp_lease_client c;
};

/* client n: MAC 02:00:00:00:nn:nn, with or without the usual client-id 01:MAC */
static struct cl *mk(struct cl *x, unsigned n, bool with_cid)
{
	static const uint8_t base[6] = {0x02, 0, 0, 0, 0, 0};

	memcpy(x->mac, base, 6);
	x->mac[2] = (uint8_t)(n >> 24);
	x->mac[3] = (uint8_t)(n >> 16);
	x->mac[4] = (uint8_t)(n >> 8);
	x->mac[5] = (uint8_t)n;
	x->cid[0] = 1;
	memcpy(x->cid + 1, x->mac, 6);
	x->c.client_id = with_cid ? x->cid : NULL;
	x->c.client_id_len = with_cid ? 7 : 0;
	x->c.htype = 1;
	x->c.hlen = 6;
	x->c.chaddr = x->mac;
	return x;
}

static struct dhcp_lease_table *table(uint32_t first, uint32_t last, uint16_t *scope)
{
	struct dhcp_lease_table *t = dhcp_lease_table_new(0x1234567890abcdefull);
	struct dhcp_lease_pool p = {first, last};
	int id;

	assert_non_null(t);
	id = dhcp_lease_scope(t, "lan", true);
	assert_int_equal(id, 0);
	assert_int_equal(dhcp_lease_scope_set_pools(t, (uint16_t)id, &p, 1), 0);
	*scope = (uint16_t)id;
	return t;
}

static uint32_t alloc_for(struct dhcp_lease_table *t, uint16_t scope, const struct cl *x, uint32_t req,
			  time_t now)
{
	struct dhcp_lease_want w = {scope, &x->c, req, now, NULL, NULL};
	uint32_t a = 0;

	assert_int_equal(dhcp_lease_allocate(t, &w, &a), 0);
	return a;
}

static int alloc_err(struct dhcp_lease_table *t, uint16_t scope, const struct cl *x, time_t now)
{
	struct dhcp_lease_want w = {scope, &x->c, 0, now, NULL, NULL};
	uint32_t a = 0;

	return dhcp_lease_allocate(t, &w, &a);
}

static int offer(struct dhcp_lease_table *t, uint16_t scope, const struct cl *x, uint32_t a, time_t now)
{
	struct dhcp_lease_set s = {scope, a, &x->c, NULL, now, DHCP_LEASE_OFFER_HOLD};
	struct dhcp_lease_rec rec;

	return dhcp_lease_offer(t, &s, &rec);
}

static int bind(struct dhcp_lease_table *t, uint16_t scope, const struct cl *x, uint32_t a, const char *host,
		time_t now, uint32_t secs)
{
	struct dhcp_lease_set s = {scope, a, &x->c, host, now, secs};
	struct dhcp_lease_rec rec;

	return dhcp_lease_bind(t, &s, false, &rec);
}

/* DISCOVER → OFFER → REQUEST → ACK, as the server will do it. */
static uint32_t lease(struct dhcp_lease_table *t, uint16_t scope, const struct cl *x, time_t now,
		      uint32_t secs)
{
	uint32_t a = alloc_for(t, scope, x, 0, now);

	assert_true(offer(t, scope, x, a, now) >= 0);
	assert_int_equal(bind(t, scope, x, a, NULL, now, secs), 1);
	return a;
}

static int state_at(const struct dhcp_lease_table *t, uint32_t a)
{
	const struct dhcp_lease *l = dhcp_lease_by_addr(t, a);

	return l ? l->state : 0;
}

/* ---- tests ---- */

static void test_allocation_order(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a, b, c;

	assert_int_equal(alloc_for(t, s, mk(&a, 1, false), 0, T0), A(10));
	/* allocation alone changes nothing */
	assert_int_equal(alloc_for(t, s, mk(&b, 2, false), 0, T0), A(10));
	assert_int_equal(offer(t, s, &a, A(10), T0), 1);
	assert_int_equal(state_at(t, A(10)), DHCP_LEASE_OFFERED);
	assert_int_equal(alloc_for(t, s, &b, 0, T0), A(11));
	assert_int_equal(offer(t, s, &b, A(11), T0), 1);
	assert_int_equal(alloc_for(t, s, mk(&c, 3, true), 0, T0), A(12));
	/* a client asking again gets what it was offered */
	assert_int_equal(alloc_for(t, s, &a, 0, T0 + 1), A(10));
	assert_int_equal(dhcp_lease_offers(t, s), 2);
	dhcp_lease_table_free(t);
}

static void test_same_client_returns(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a, b;
	struct dhcp_lease_rec rec;

	mk(&a, 1, true);
	mk(&b, 2, true);
	assert_int_equal(lease(t, s, &a, T0, 3600), A(10));
	/* renewal: same address, bound longer, the record updated in place */
	assert_int_equal(alloc_for(t, s, &a, 0, T0 + 1800), A(10));
	assert_int_equal(bind(t, s, &a, A(10), NULL, T0 + 1800, 3600), 1);
	assert_int_equal(dhcp_lease_by_addr(t, A(10))->expires_at, T0 + 5400);
	/* an offer for a bound client repeats its lease without changing it */
	assert_int_equal(offer(t, s, &a, A(10), T0 + 1900), 0);
	assert_int_equal(state_at(t, A(10)), DHCP_LEASE_BOUND);
	/* released: the record stays, the address waits for its client */
	assert_int_equal(dhcp_lease_release(t, s, A(10), &a.c, T0 + 2000, &rec), 1);
	assert_int_equal(rec.op, DHCP_LEASE_PUT);
	assert_int_equal(rec.state, DHCP_LEASE_RELEASED);
	assert_int_equal(rec.expires_at, T0 + 2000);
	assert_int_equal(state_at(t, A(10)), DHCP_LEASE_RELEASED);
	assert_int_equal(alloc_for(t, s, &b, 0, T0 + 2001), A(11));
	assert_int_equal(alloc_for(t, s, &a, 0, T0 + 2001), A(10));
	/* expired: the same */
	assert_int_equal(lease(t, s, &b, T0 + 2001, 60), A(11));
	assert_int_equal(dhcp_lease_expire(t, T0 + 2061, NULL, NULL), 0);
	assert_int_equal(state_at(t, A(11)), DHCP_LEASE_EXPIRED);
	assert_ptr_equal(dhcp_lease_by_client(t, s, &b.c), dhcp_lease_by_addr(t, A(11)));
	assert_int_equal(alloc_for(t, s, &b, 0, T0 + 9999), A(11));
	/* a re-offer to its old client that runs out leaves the old record, not nothing */
	assert_int_equal(offer(t, s, &b, A(11), T0 + 10000), 1);
	assert_int_equal(dhcp_lease_expire(t, T0 + 10000 + DHCP_LEASE_OFFER_HOLD, NULL, NULL), 0);
	assert_int_equal(state_at(t, A(11)), DHCP_LEASE_EXPIRED);
	assert_int_equal(alloc_for(t, s, &b, 0, T0 + 10100), A(11));
	dhcp_lease_table_free(t);
}

static bool reserve_12(void *data, uint32_t addr)
{
	return addr == *(uint32_t *)data;
}

static void test_requested_address(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a, b, c;
	uint32_t res = A(12), got;
	struct dhcp_lease_want w = {s, &mk(&a, 1, false)->c, A(15), T0, reserve_12, &res};

	mk(&b, 2, false);
	mk(&c, 3, false);
	/* free, in a pool */
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(15));
	assert_int_equal(bind(t, s, &a, A(15), NULL, T0, 3600), 1);
	/* bound to someone else: the first free one instead */
	w.client = &b.c;
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(10));
	/* outside the pools, or reserved: not given */
	w.requested = A(20);
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(10));
	w.requested = A(12);
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(10));
	/* reserved addresses are skipped in the fresh scan too */
	assert_int_equal(lease(t, s, &b, T0, 3600), A(10));
	assert_int_equal(lease(t, s, &c, T0, 3600), A(11));
	w.client = &mk(&c, 4, false)->c;
	w.requested = 0;
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(13));
	/* another client's freed record: free, so the requester may have it */
	assert_int_equal(dhcp_lease_release(t, s, A(15), &a.c, T0 + 10, &(struct dhcp_lease_rec){0}), 1);
	w.requested = A(15);
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(15));
	/* the offer takes it over: a's old record is gone */
	assert_int_equal(offer(t, s, &c, A(15), T0 + 10), 1);
	assert_null(dhcp_lease_by_client(t, s, &a.c));
	dhcp_lease_table_free(t);
}

static void test_exhaustion_never_evicts(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(13), &s);
	struct cl x[4], f, g;

	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(lease(t, s, mk(&x[i], i + 1, true), T0, 3600), A(10 + i));
	assert_int_equal(alloc_for(t, s, mk(&x[3], 4, true), 0, T0), A(13));
	assert_int_equal(offer(t, s, &x[3], A(13), T0), 1);
	/* a DISCOVER flood from random MACs: nothing left, nothing taken */
	for (unsigned i = 0; i < 1000; i++) {
		uint32_t victim = A(10 + i % 4);

		mk(&f, 1000 + i * 7919, i % 2);
		assert_int_equal(alloc_err(t, s, &f, T0 + 1), -ENOSPC);
		assert_int_equal(offer(t, s, &f, victim, T0 + 1), -EADDRINUSE);
		assert_int_equal(bind(t, s, &f, victim, NULL, T0 + 1, 60), -EADDRINUSE);
	}
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(state_at(t, A(10 + i)), DHCP_LEASE_BOUND);
	assert_int_equal(dhcp_lease_offers(t, s), 1);
	/* the offer runs out (even before the sweep): its address is free again */
	mk(&g, 77, false);
	assert_int_equal(alloc_err(t, s, &g, T0 + DHCP_LEASE_OFFER_HOLD - 1), -ENOSPC);
	assert_int_equal(offer(t, s, &g, A(13), T0 + DHCP_LEASE_OFFER_HOLD), 1);
	assert_int_equal(dhcp_lease_offers(t, s), 1);
	assert_null(dhcp_lease_by_client(t, s, &x[3].c));
	/* bound leases past their time are free too: the sweep may be late */
	assert_int_equal(offer(t, s, &x[3], A(10), T0 + 3600), 1);
	assert_null(dhcp_lease_by_client(t, s, &x[0].c));
	dhcp_lease_table_free(t);
}

static void test_lru_reuse(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(12), &s);
	struct cl a, b, c, d, e, f;
	struct dhcp_lease_rec rec;

	assert_int_equal(lease(t, s, mk(&a, 1, false), T0, 3600), A(10));
	assert_int_equal(lease(t, s, mk(&b, 2, false), T0, 3600), A(11));
	assert_int_equal(lease(t, s, mk(&c, 3, false), T0, 300), A(12));
	assert_int_equal(dhcp_lease_release(t, s, A(11), &b.c, T0 + 100, &rec), 1);
	assert_int_equal(dhcp_lease_release(t, s, A(10), &a.c, T0 + 200, &rec), 1);
	/* c's lease ran out at T0+300, after both releases */
	assert_int_equal(dhcp_lease_expire(t, T0 + 400, NULL, NULL), 0);
	assert_int_equal(state_at(t, A(12)), DHCP_LEASE_EXPIRED);
	/* new clients get the address freed longest ago, one after the other */
	assert_int_equal(lease(t, s, mk(&d, 4, false), T0 + 500, 3600), A(11));
	assert_int_equal(lease(t, s, mk(&e, 5, false), T0 + 500, 3600), A(10));
	assert_int_equal(lease(t, s, mk(&f, 6, false), T0 + 500, 3600), A(12));
	assert_int_equal(alloc_err(t, s, &a, T0 + 500), -ENOSPC);
	dhcp_lease_table_free(t);
}

static void test_decline_probation(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(11), &s);
	struct cl a, b, c;
	struct dhcp_lease_rec rec;
	const struct dhcp_lease *l;

	assert_int_equal(lease(t, s, mk(&a, 1, false), T0, 3600), A(10));
	mk(&b, 2, false);
	/* only the client holding the address can decline it */
	assert_int_equal(dhcp_lease_decline(t, s, A(10), &b.c, T0, DHCP_LEASE_PROBATION, &rec), -EPERM);
	assert_int_equal(dhcp_lease_decline(t, s, A(11), &a.c, T0, DHCP_LEASE_PROBATION, &rec), -ENOENT);
	assert_int_equal(dhcp_lease_decline(t, s, A(10), &a.c, T0 + 5, DHCP_LEASE_PROBATION, &rec), 1);
	assert_int_equal(rec.state, DHCP_LEASE_DECLINED);
	assert_int_equal(rec.expires_at, T0 + 5 + DHCP_LEASE_PROBATION);
	l = dhcp_lease_by_addr(t, A(10));
	assert_int_equal(l->state, DHCP_LEASE_DECLINED);
	assert_memory_equal(dhcp_lease_chaddr(l), a.mac, 6); /* who declined, for `leases` */
	/* it belongs to no one: a gets another address, nobody gets this one */
	assert_null(dhcp_lease_by_client(t, s, &a.c));
	assert_int_equal(alloc_for(t, s, &a, A(10), T0 + 6), A(11));
	assert_int_equal(lease(t, s, &a, T0 + 6, 7200), A(11));
	assert_int_equal(dhcp_lease_expire(t, T0 + 100, NULL, NULL), T0 + 5 + DHCP_LEASE_PROBATION);
	assert_int_equal(alloc_err(t, s, mk(&c, 3, false), T0 + 100), -ENOSPC);
	assert_int_equal(offer(t, s, &c, A(10), T0 + 100), -EADDRINUSE);
	/* after probation the sweep lets it go: a fresh address again */
	assert_int_equal(dhcp_lease_expire(t, T0 + 5 + DHCP_LEASE_PROBATION, NULL, NULL), T0 + 6 + 7200);
	assert_null(dhcp_lease_by_addr(t, A(10)));
	assert_int_equal(alloc_for(t, s, &c, 0, T0 + 5 + DHCP_LEASE_PROBATION), A(10));
	dhcp_lease_table_free(t);
}

struct seen {
	int n;
	struct dhcp_lease_rec rec[8];
	int old_state[8];
	char old_host[8][32];
};

static void on_change(void *data, const struct dhcp_lease *old, const struct dhcp_lease_rec *rec)
{
	struct seen *s = data;

	assert_true(s->n < 8);
	s->rec[s->n] = *rec;
	s->old_state[s->n] = old->state;
	snprintf(s->old_host[s->n], sizeof(s->old_host[0]), "%s", dhcp_lease_hostname(old));
	s->n++;
}

static void test_expiry_sweep(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a, b, c;
	struct seen seen = {0};

	assert_int_equal(bind(t, s, mk(&a, 1, false), A(10), "laptop", T0, 100), 1);
	assert_int_equal(offer(t, s, mk(&b, 2, false), A(11), T0), 1);
	assert_int_equal(bind(t, s, mk(&c, 3, false), A(12), NULL, T0, 500), 1);
	/* the earliest time something changes */
	assert_int_equal(dhcp_lease_expire(t, T0, on_change, &seen), T0 + DHCP_LEASE_OFFER_HOLD);
	assert_int_equal(seen.n, 0);
	assert_int_equal(dhcp_lease_expire(t, T0 + 99, on_change, &seen), T0 + 100);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.rec[0].op, DHCP_LEASE_DEL); /* the offer */
	assert_int_equal(seen.rec[0].addr, A(11));
	assert_int_equal(seen.old_state[0], DHCP_LEASE_OFFERED);
	assert_int_equal(dhcp_lease_offers(t, s), 0);
	assert_int_equal(dhcp_lease_expire(t, T0 + 100, on_change, &seen), T0 + 500);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.rec[1].op, DHCP_LEASE_PUT);
	assert_int_equal(seen.rec[1].state, DHCP_LEASE_EXPIRED);
	assert_int_equal(seen.rec[1].expires_at, T0 + 100);
	assert_int_equal(seen.old_state[1], DHCP_LEASE_BOUND);
	assert_string_equal(seen.old_host[1], "laptop"); /* the server withdraws the name */
	assert_string_equal(seen.rec[1].hostname, "laptop");
	assert_int_equal(state_at(t, A(10)), DHCP_LEASE_EXPIRED);
	assert_int_equal(dhcp_lease_expire(t, T0 + 1000, on_change, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_int_equal(state_at(t, A(12)), DHCP_LEASE_EXPIRED);
	/* nothing due: nothing seen */
	assert_int_equal(dhcp_lease_expire(t, T0 + 99999, on_change, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_int_equal(dhcp_lease_count(t), 2);
	dhcp_lease_table_free(t);
}

static bool reserve_printer(void *data, uint32_t addr)
{
	return addr == A(10) || addr == A(5);
}

static void test_static(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl p, o;
	struct dhcp_lease_set set = {s, A(10), &mk(&p, 1, false)->c, "printer", T0, 3600};
	struct dhcp_lease_rec rec;
	struct dhcp_lease_want w = {s, &mk(&o, 2, false)->c, A(10), T0, reserve_printer, NULL};
	uint32_t got;

	/* the server binds a reservation: in the pool or out of it */
	assert_int_equal(dhcp_lease_bind(t, &set, true, &rec), 1);
	assert_int_equal(rec.state, DHCP_LEASE_STATIC);
	set.addr = A(5);
	assert_int_equal(dhcp_lease_bind(t, &set, true, &rec), 1);
	/* one record per client and scope: the move dropped the first */
	assert_null(dhcp_lease_by_addr(t, A(10)));
	assert_int_equal(state_at(t, A(5)), DHCP_LEASE_STATIC);
	assert_string_equal(dhcp_lease_hostname(dhcp_lease_by_addr(t, A(5))), "printer");
	/* others never get a reserved address */
	assert_int_equal(dhcp_lease_allocate(t, &w, &got), 0);
	assert_int_equal(got, A(11));
	assert_int_equal(offer(t, s, &o, A(5), T0), -EADDRINUSE);
	/* expiry out of the pools: the record goes (its reservation stays in the config) */
	assert_int_equal(dhcp_lease_expire(t, T0 + 3600, NULL, NULL), 0);
	assert_null(dhcp_lease_by_addr(t, A(5)));
	dhcp_lease_table_free(t);
}

static void test_counts(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct dhcp_lease_counts c;
	struct cl x[5];
	struct dhcp_lease_rec rec;
	struct dhcp_lease_pool pools[2] = {{A(100), A(149)}, {A(10), A(19)}};

	assert_int_equal(dhcp_lease_scope_set_pools(t, s, pools, 2), 0);
	assert_int_equal(lease(t, s, mk(&x[0], 1, false), T0, 3600), A(10));
	assert_int_equal(lease(t, s, mk(&x[1], 2, false), T0, 3600), A(11));
	assert_int_equal(offer(t, s, mk(&x[2], 3, false), A(12), T0), 1);
	assert_int_equal(lease(t, s, mk(&x[3], 4, false), T0, 3600), A(13));
	assert_int_equal(dhcp_lease_release(t, s, A(13), &x[3].c, T0, &rec), 1);
	assert_int_equal(dhcp_lease_decline(t, s, A(11), &x[1].c, T0, 60, &rec), 1);
	assert_int_equal(bind(t, s, mk(&x[4], 5, false), A(200), NULL, T0, 3600), 1); /* outside the pools */
	assert_int_equal(dhcp_lease_scope_counts(t, s, T0, &c), 0);
	assert_int_equal(c.pool_size, 60);
	assert_int_equal(c.used, 3); /* bound .10, declined .11, offered .12 */
	assert_int_equal(c.free, 57);
	assert_int_equal(c.state[DHCP_LEASE_BOUND], 2);
	assert_int_equal(c.state[DHCP_LEASE_OFFERED], 1);
	assert_int_equal(c.state[DHCP_LEASE_RELEASED], 1);
	assert_int_equal(c.state[DHCP_LEASE_DECLINED], 1);
	/* an offer past its time no longer uses its address */
	assert_int_equal(dhcp_lease_scope_counts(t, s, T0 + DHCP_LEASE_OFFER_HOLD, &c), 0);
	assert_int_equal(c.used, 1);
	assert_int_equal(dhcp_lease_scope_counts(t, 7, T0, &c), -ENOENT);
	dhcp_lease_table_free(t);
}

static void test_client_identity(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a, a_cid, b;
	const struct dhcp_lease *l;
	const uint8_t *cid;
	size_t n;
	uint8_t odd_cid[3] = {0, 'x', 'y'};
	struct dhcp_lease_client odd = {odd_cid, 3, 1, 6, a.mac};

	/* the same MAC with and without the client-id 01:MAC: one client, one
	 * address (what clients that start or stop sending 61 expect) */
	assert_int_equal(lease(t, s, mk(&a, 1, false), T0, 3600), A(10));
	assert_null(dhcp_lease_client_id(dhcp_lease_by_addr(t, A(10)), &n));
	assert_int_equal(n, 0);
	assert_int_equal(lease(t, s, mk(&a_cid, 1, true), T0, 3600), A(10));
	assert_int_equal(dhcp_lease_count(t), 1);
	l = dhcp_lease_by_addr(t, A(10));
	cid = dhcp_lease_client_id(l, &n);
	assert_int_equal(n, 7);
	assert_memory_equal(cid, a_cid.cid, 7);
	assert_memory_equal(dhcp_lease_chaddr(l), a.mac, 6);
	assert_string_equal(dhcp_lease_hostname(l), "");
	assert_ptr_equal(dhcp_lease_by_client(t, s, &a.c), l);
	/* a client-id that is not 01:MAC is kept as it is, the MAC beside it */
	odd.chaddr = a.mac;
	assert_int_equal(bind(t, s, &(struct cl){.c = odd}, A(12), "h", T0, 60), 1);
	l = dhcp_lease_by_addr(t, A(12));
	cid = dhcp_lease_client_id(l, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(cid, odd_cid, 3);
	assert_string_equal(dhcp_lease_hostname(l), "h");
	/* a client-id of its own decides, whatever the MAC */
	mk(&b, 9, false);
	b.c.client_id = odd_cid;
	b.c.client_id_len = 3;
	assert_ptr_equal(dhcp_lease_by_client(t, s, &b.c), dhcp_lease_by_addr(t, A(12)));
	/* no identity at all: refused */
	b.c.client_id_len = 0;
	b.c.hlen = 0;
	assert_int_equal(alloc_err(t, s, &b, T0), -EINVAL);
	b.c.hlen = 17;
	assert_int_equal(alloc_err(t, s, &b, T0), -EINVAL);
	dhcp_lease_table_free(t);
}

static void test_hostname_change(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a;

	assert_int_equal(bind(t, s, mk(&a, 1, true), A(10), "old", T0, 60), 1);
	assert_int_equal(bind(t, s, &a, A(10), "a-much-longer-name", T0, 60), 1);
	assert_string_equal(dhcp_lease_hostname(dhcp_lease_by_addr(t, A(10))), "a-much-longer-name");
	assert_ptr_equal(dhcp_lease_by_client(t, s, &a.c), dhcp_lease_by_addr(t, A(10)));
	assert_int_equal(bind(t, s, &a, A(10), NULL, T0, 60), 1);
	assert_string_equal(dhcp_lease_hostname(dhcp_lease_by_addr(t, A(10))), "");
	assert_int_equal(bind(t, s, &a, A(10), "bad name", T0, 60), -EINVAL);
	assert_int_equal(dhcp_lease_count(t), 1);
	dhcp_lease_table_free(t);
}

static void test_release_rules(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct cl a, b;
	struct dhcp_lease_rec rec;

	assert_int_equal(lease(t, s, mk(&a, 1, false), T0, 3600), A(10));
	mk(&b, 2, false);
	assert_int_equal(dhcp_lease_release(t, s, A(10), &b.c, T0, &rec), -EPERM);
	assert_int_equal(dhcp_lease_release(t, s, A(11), &a.c, T0, &rec), -ENOENT);
	assert_int_equal(dhcp_lease_release(t, 3, A(10), &a.c, T0, &rec), -ENOENT);
	assert_int_equal(dhcp_lease_release(t, s, A(10), &a.c, T0, &rec), 1);
	assert_int_equal(dhcp_lease_release(t, s, A(10), &a.c, T0, &rec), 0); /* already */
	/* an offer never bound that is released leaves nothing behind */
	assert_int_equal(offer(t, s, &b, A(11), T0), 1);
	assert_int_equal(dhcp_lease_release(t, s, A(11), &b.c, T0, &rec), 1);
	assert_int_equal(rec.op, DHCP_LEASE_DEL);
	assert_null(dhcp_lease_by_addr(t, A(11)));
	/* the admin's `lease release`: any holder; a declined address leaves probation */
	assert_int_equal(lease(t, s, &b, T0, 3600), A(11));
	assert_int_equal(dhcp_lease_release_addr(t, A(11), T0 + 1, &rec), 1);
	assert_int_equal(state_at(t, A(11)), DHCP_LEASE_RELEASED);
	assert_int_equal(lease(t, s, &b, T0 + 2, 3600), A(11));
	assert_int_equal(dhcp_lease_decline(t, s, A(11), &b.c, T0 + 3, 3600, &rec), 1);
	assert_int_equal(dhcp_lease_release_addr(t, A(11), T0 + 4, &rec), 1);
	assert_null(dhcp_lease_by_addr(t, A(11)));
	assert_int_equal(dhcp_lease_release_addr(t, A(11), T0 + 4, &rec), -ENOENT);
	dhcp_lease_table_free(t);
}

static void test_apply_idempotent(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s), *u = dhcp_lease_table_new(1);
	struct cl a, b;
	struct dhcp_lease_rec recs[6], rec;
	int n = 0;
	struct dhcp_lease_set set = {s, A(10), &mk(&a, 1, true)->c, "a", T0, 3600};

	assert_int_equal(dhcp_lease_offer(t, &set, &recs[n++]), 1);
	assert_int_equal(dhcp_lease_bind(t, &set, false, &recs[n++]), 1);
	set.client = &mk(&b, 2, false)->c;
	set.addr = A(11);
	assert_int_equal(dhcp_lease_bind(t, &set, false, &recs[n++]), 1);
	/* b moves to .12: one PUT, which drops its record at .11 */
	set.addr = A(12);
	assert_int_equal(dhcp_lease_bind(t, &set, false, &recs[n++]), 1);
	assert_null(dhcp_lease_by_addr(t, A(11)));
	assert_int_equal(dhcp_lease_release(t, s, A(10), &a.c, T0 + 5, &recs[n++]), 1);
	assert_int_equal(dhcp_lease_expire(t, T0 + 3600, NULL, NULL), 0);
	/* the same records, twice over, into a fresh table: the same leases */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < n; i++)
			assert_int_equal(dhcp_lease_apply(u, &recs[i]), 0);
	assert_int_equal(dhcp_lease_count(u), 2);
	assert_int_equal(dhcp_lease_by_addr(u, A(10))->state, DHCP_LEASE_RELEASED);
	assert_int_equal(dhcp_lease_by_addr(u, A(12))->state, DHCP_LEASE_BOUND);
	assert_string_equal(dhcp_lease_scope_name(u, 0), "lan");
	/* a DEL of nothing is nothing */
	memset(&rec, 0, sizeof(rec));
	rec.op = DHCP_LEASE_DEL;
	rec.addr = A(99);
	assert_int_equal(dhcp_lease_apply(u, &rec), 0);
	dhcp_lease_table_free(t);
	dhcp_lease_table_free(u);
}

static void test_rec_invalid(void **state)
{
	struct dhcp_lease_rec r;
	struct dhcp_lease_table *t = dhcp_lease_table_new(1);

	memset(&r, 0, sizeof(r));
	r.op = DHCP_LEASE_PUT;
	r.addr = A(1);
	r.state = DHCP_LEASE_BOUND;
	r.hlen = 6;
	r.scope_len = 3;
	memcpy(r.scope, "lan", 3);
	assert_null(dhcp_lease_rec_invalid(&r));
#define BAD(field, value, msg)                                        \
	do {                                                          \
		struct dhcp_lease_rec x = r;                          \
		x.field = value;                                      \
		assert_string_equal(dhcp_lease_rec_invalid(&x), msg); \
		assert_int_equal(dhcp_lease_apply(t, &x), -EINVAL);   \
	} while (0)
	BAD(op, 3, "bad operation");
	BAD(addr, 0, "bad address");
	BAD(state, 0, "bad state");
	BAD(state, 7, "bad state");
	BAD(flags, 0x80, "bad flags");
	BAD(hlen, 17, "bad hardware address length");
	BAD(hlen, 0, "no client identity");
	BAD(host_len, 254, "bad hostname");
	BAD(scope_len, 0, "bad scope name");
	BAD(scope_len, 64, "bad scope name");
	BAD(scope[1], ' ', "bad scope name");
	r.host_len = 2;
	memcpy(r.hostname, "a\n", 2);
	assert_string_equal(dhcp_lease_rec_invalid(&r), "bad hostname");
	/* a declined address needs no client */
	r.host_len = 0;
	r.hlen = 0;
	r.state = DHCP_LEASE_DECLINED;
	assert_null(dhcp_lease_rec_invalid(&r));
	assert_int_equal(dhcp_lease_apply(t, &r), 0);
	assert_int_equal(dhcp_lease_count(t), 1);
	dhcp_lease_table_free(t);
#undef BAD
}

static void test_scopes_and_pools(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(10), A(19), &s);
	struct dhcp_lease_pool bad_order = {A(20), A(10)}, overlap[2] = {{A(10), A(20)}, {A(20), A(30)}};
	struct dhcp_lease_pool huge = {0x0a000000, 0x0affffff + 1}, zero = {0, 5}, small = {A(10), A(11)};
	struct cl a, b, c;
	char name[80];
	int guest;

	assert_int_equal(dhcp_lease_scope(t, "lan", false), 0);
	assert_int_equal(dhcp_lease_scope(t, "guest", false), -ENOENT);
	assert_int_equal(dhcp_lease_scope(t, "", true), -EINVAL);
	assert_int_equal(dhcp_lease_scope(t, "a b", true), -EINVAL);
	memset(name, 'x', 64);
	name[64] = '\0';
	assert_int_equal(dhcp_lease_scope(t, name, true), -EINVAL);
	guest = dhcp_lease_scope(t, "10.30.0.0/24", true);
	assert_int_equal(guest, 1);
	assert_int_equal(dhcp_lease_scope_count(t), 2);
	assert_int_equal(dhcp_lease_scope_set_pools(t, s, &bad_order, 1), -EINVAL);
	assert_int_equal(dhcp_lease_scope_set_pools(t, s, overlap, 2), -EINVAL);
	assert_int_equal(dhcp_lease_scope_set_pools(t, s, &huge, 1), -E2BIG);
	assert_int_equal(dhcp_lease_scope_set_pools(t, s, &zero, 1), -EINVAL);
	assert_int_equal(dhcp_lease_scope_set_pools(t, 9, &small, 1), -ENOENT);
	assert_true(dhcp_lease_in_pool(t, s, A(19))); /* the old pools stay */
	/* the same client in two scopes: two leases */
	assert_int_equal(lease(t, s, mk(&a, 1, false), T0, 3600), A(10));
	assert_int_equal(lease(t, s, mk(&b, 2, false), T0, 3600), A(11));
	assert_int_equal(lease(t, s, mk(&c, 3, false), T0, 3600), A(12));
	assert_int_equal(dhcp_lease_release(t, s, A(12), &c.c, T0, &(struct dhcp_lease_rec){0}), 1);
	assert_int_equal(bind(t, (uint16_t)guest, &a, 0x0a1e0005, NULL, T0, 3600), 1);
	assert_int_equal(dhcp_lease_count(t), 4);
	/* a reload shrinks the pool: leases stay, the freed record outside goes at the sweep */
	assert_int_equal(dhcp_lease_scope_set_pools(t, s, &small, 1), 0);
	assert_int_equal(dhcp_lease_count(t), 4);
	assert_int_equal(alloc_err(t, s, &c, T0), -ENOSPC);
	assert_int_equal(dhcp_lease_expire(t, T0 + 1, NULL, NULL), T0 + 3600);
	assert_null(dhcp_lease_by_addr(t, A(12)));
	assert_int_equal(dhcp_lease_count(t), 3);
	dhcp_lease_table_free(t);
}

static void test_iteration(void **state)
{
	uint16_t s;
	struct dhcp_lease_table *t = table(A(1), A(254), &s);
	struct cl x;
	uint8_t seen[256] = {0};
	size_t n = 0;

	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(lease(t, s, mk(&x, i, i & 1), T0, 3600), A(1 + i));
	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l)) {
		assert_int_equal(seen[l->addr - NET]++, 0);
		n++;
	}
	assert_int_equal(n, 200);
	dhcp_lease_table_free(t);
}

static size_t rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
	fclose(f);
	return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* 100k leases: every one found by address and by client; the memory per lease printed. */
static void test_100k(void **state)
{
	enum {
		N = 100000
	};
	struct dhcp_lease_pool p = {0x64400001, 0x6441ffff}; /* 100.64.0.1 .. 100.65.255.255 */
	struct dhcp_lease_table *t;
	struct cl x;
	char host[32];
	size_t heap0, rss0, heap, rss;
	int s;

	malloc_trim(0);
	heap0 = mallinfo2().uordblks + mallinfo2().hblkhd;
	rss0 = rss_bytes();
	t = dhcp_lease_table_new(42);
	s = dhcp_lease_scope(t, "lan", true);
	assert_int_equal(dhcp_lease_scope_set_pools(t, (uint16_t)s, &p, 1), 0);
	for (unsigned i = 0; i < N; i++) {
		struct dhcp_lease_set set = {(uint16_t)s, 0, &mk(&x, i, true)->c, host, T0, 43200};
		struct dhcp_lease_want w = {(uint16_t)s, &x.c, 0, T0, NULL, NULL};
		struct dhcp_lease_rec rec;

		snprintf(host, sizeof(host), "host-%u", i);
		assert_int_equal(dhcp_lease_allocate(t, &w, &set.addr), 0);
		assert_int_equal(set.addr, p.first + i);
		assert_int_equal(dhcp_lease_bind(t, &set, false, &rec), 1);
	}
	heap = mallinfo2().uordblks + mallinfo2().hblkhd - heap0; /* the bucket arrays are mmap()ed */
	rss = rss_bytes() - rss0;
	for (unsigned i = 0; i < N; i++) {
		const struct dhcp_lease *l = dhcp_lease_by_addr(t, p.first + i);

		assert_non_null(l);
		assert_ptr_equal(dhcp_lease_by_client(t, (uint16_t)s, &mk(&x, i, true)->c), l);
		assert_int_equal(l->state, DHCP_LEASE_BOUND);
	}
#ifndef ASAN
	print_message("100k leases: %zu bytes per lease by the allocator (%.1f MiB), table estimate %zu, "
		      "RSS +%.1f MiB, sizeof(struct dhcp_lease) %zu\n",
		      heap / N, heap / 1048576.0, dhcp_lease_table_bytes(t) / N, rss / 1048576.0,
		      sizeof(struct dhcp_lease));
	assert_true(heap / N < 112);
#else
	(void)heap;
	(void)rss; /* ASan's allocator: the figures say nothing */
#endif
	/* a full pool's worth of reuse: all released, then new clients take them oldest first */
	for (unsigned i = 0; i < 1000; i++) {
		struct dhcp_lease_rec rec;

		assert_int_equal(dhcp_lease_release(t, (uint16_t)s, p.first + i, &mk(&x, i, true)->c,
						    T0 + 1000 - i, &rec),
				 1);
	}
	assert_int_equal(alloc_for(t, (uint16_t)s, mk(&x, N + 1, true), 0, T0 + 2000), p.first + N);
	p.last = p.first + N - 1; /* shrink the pool to the leases: the free list decides */
	assert_int_equal(dhcp_lease_scope_set_pools(t, (uint16_t)s, &p, 1), 0);
	assert_int_equal(alloc_for(t, (uint16_t)s, &x, 0, T0 + 2000), p.first + 999);
	dhcp_lease_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocation_order),
		cmocka_unit_test(test_same_client_returns),
		cmocka_unit_test(test_requested_address),
		cmocka_unit_test(test_exhaustion_never_evicts),
		cmocka_unit_test(test_lru_reuse),
		cmocka_unit_test(test_decline_probation),
		cmocka_unit_test(test_expiry_sweep),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_client_identity),
		cmocka_unit_test(test_hostname_change),
		cmocka_unit_test(test_release_rules),
		cmocka_unit_test(test_apply_idempotent),
		cmocka_unit_test(test_rec_invalid),
		cmocka_unit_test(test_scopes_and_pools),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
