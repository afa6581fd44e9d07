/* fuzz_dhcp_journal.c — arbitrary bytes as the content of leases.journal (and of
 * leases.snapshot): no crash, no leak; every record accepted re-encodes to
 * bytes that decode to the same record; the table the records build survives
 * a snapshot round trip and the table's own operations (allocation, expiry). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp_journal.h"
#include "dhcp_lease.h"

struct ctx {
	struct dhcp_lease_table *t;
	size_t n;
};

static int copy_rec(void *data, const struct dhcp_lease_rec *rec)
{
	memcpy(data, rec, sizeof(*rec));
	return 0;
}

static int on_rec(void *data, const struct dhcp_lease_rec *rec)
{
	struct ctx *c = data;
	uint8_t buf[DHCP_JOURNAL_FRAME_MAX];
	struct dhcp_lease_rec back;
	struct dhcp_journal_scan scan;
	int n = dhcp_journal_encode(rec, buf, sizeof(buf));

	if (n <= 0)
		abort(); /* what the decoder accepted must encode */
	if (dhcp_journal_decode(buf, (size_t)n, copy_rec, &back, &scan) != 0 ||
	    scan.end != DHCP_JOURNAL_CLEAN || scan.records != 1 || scan.good != (size_t)n)
		abort();
	if (memcmp(&back, rec, sizeof(back)) != 0)
		abort();
	c->n++;
	(void)dhcp_lease_apply(c->t, rec); /* -ENOSPC past the scope limit is fine */
	return 0;
}

static int apply(void *data, const struct dhcp_lease_rec *rec)
{
	return dhcp_lease_apply(data, rec);
}

static void assert_same(const struct dhcp_lease_table *a, const struct dhcp_lease_table *b)
{
	struct dhcp_lease_rec ra, rb;

	if (dhcp_lease_count(a) != dhcp_lease_count(b))
		abort();
	for (const struct dhcp_lease *l = dhcp_lease_first(a); l; l = dhcp_lease_next(a, l)) {
		const struct dhcp_lease *m = dhcp_lease_by_addr(b, l->addr);

		if (!m)
			abort();
		dhcp_lease_rec_of(a, l, &ra);
		dhcp_lease_rec_of(b, m, &rb);
		if (memcmp(&ra, &rb, sizeof(ra)) != 0)
			abort();
	}
}

/* The table's operations over whatever the bytes built: a pool around each
 * scope's first lease, an allocation, a sweep. */
static void exercise(struct dhcp_lease_table *t)
{
	uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct dhcp_lease_client cl = {NULL, 0, 1, 6, mac};
	const struct dhcp_lease *first = dhcp_lease_first(t);
	struct dhcp_lease_counts counts;
	time_t now = first ? (time_t)(first->expires_at / 2) : 0;

	for (size_t s = 0; s < dhcp_lease_scope_count(t) && s < 8; s++) {
		struct dhcp_lease_pool p = {0x0a000001, 0x0a0000ff};
		struct dhcp_lease_want w = {(uint16_t)s, &cl, 0x0a000005, now, NULL, NULL};
		uint32_t a;

		for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l))
			if (l->scope == s && l->addr < 0xffffff00u) {
				p.first = l->addr;
				p.last = l->addr + 200;
				break;
			}
		if (dhcp_lease_scope_set_pools(t, (uint16_t)s, &p, 1) != 0)
			abort();
		if (dhcp_lease_allocate(t, &w, &a) == 0 && !dhcp_lease_in_pool(t, (uint16_t)s, a))
			abort();
		dhcp_lease_scope_counts(t, (uint16_t)s, now, &counts);
	}
	dhcp_lease_expire(t, now, NULL, NULL);
	dhcp_lease_expire(t, INT64_MAX / 2, NULL, NULL);
}

/* Bytes as a run of [u8 length][payload] with valid frames around them: the
 * fuzzer cannot compute CRC-32C, this way it reaches the payload decoder. */
static uint8_t *framed(const uint8_t *d, size_t n, size_t *len)
{
	uint8_t *out = malloc(n * 9 + 16), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t plen = d[i++];
		uint32_t crc;

		if (plen > n - i)
			plen = n - i;
		p[0] = 0;
		p[1] = 0;
		p[2] = 0;
		p[3] = (uint8_t)plen;
		memcpy(p + 8, d + i, plen);
		crc = dhcp_crc32c(dhcp_crc32c(0, p, 4), p + 8, plen);
		p[4] = (uint8_t)(crc >> 24);
		p[5] = (uint8_t)(crc >> 16);
		p[6] = (uint8_t)(crc >> 8);
		p[7] = (uint8_t)crc;
		p += 8 + plen;
		i += plen;
	}
	*len = (size_t)(p - out);
	return out;
}

static void one(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	uint8_t *f;
	size_t len;

	if (n && d[0] == 'F') {
		f = framed(d + 1, n - 1, &len);
		if (f)
			one(f, len);
		free(f);
		return 0;
	}
	one(d, n);
	return 0;
}

static void one(const uint8_t *d, size_t n)
{
	struct ctx c = {dhcp_lease_table_new(1), 0};
	struct dhcp_journal_scan scan, again;
	struct dhcp_lease_table *u;
	uint8_t *snap;
	size_t len;
	uint64_t seq;
	const char *why;

	if (!c.t)
		return;
	/* as a journal */
	if (dhcp_journal_decode(d, n, on_rec, &c, &scan) != 0)
		abort();
	if (scan.good > n || scan.records != c.n || (scan.end == DHCP_JOURNAL_CLEAN) != (scan.good == n))
		abort();
	/* the good prefix alone is a clean journal of the same records */
	if (dhcp_journal_decode(d, scan.good, NULL, NULL, &again) != 0 || again.end != DHCP_JOURNAL_CLEAN ||
	    again.records != scan.records || again.last_seq != scan.last_seq)
		abort();
	/* the table as a snapshot, and back */
	if (dhcp_journal_encode_snapshot(c.t, scan.last_seq, &snap, &len) == 0) {
		u = dhcp_lease_table_new(2);
		if (!u || dhcp_journal_decode_snapshot(snap, len, apply, u, &seq, &why) != 0 ||
		    seq != scan.last_seq)
			abort();
		assert_same(c.t, u);
		dhcp_lease_table_free(u);
		free(snap);
	}
	exercise(c.t);
	dhcp_lease_table_free(c.t);
	/* as a snapshot: whole or nothing */
	u = dhcp_lease_table_new(3);
	if (u) {
		int err = dhcp_journal_decode_snapshot(d, n, apply, u, &seq, &why);

		if (err == -EINVAL && dhcp_lease_count(u) != 0)
			abort();
		exercise(u);
		dhcp_lease_table_free(u);
	}
}
