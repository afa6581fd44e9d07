/* fuzz_nat_pcp.c — datagrams into nat_pcp_handle with stub ops. The input
 * is a run of records, each one byte of flags and then either raw bytes (a
 * datagram as it came), a PCP MAP or NAT-PMP request described in a few
 * bytes (so the mapping logic is reached at once: a valid header for the
 * sender, the rest from the input), or a control step (time moves, the WAN
 * address comes and goes, forwards reserve ports, changed() refuses, expiry,
 * drop_reserved, restore, lifetimes).
 *
 * After every step the invariants are checked, and a break aborts:
 * - nothing from the WAN is answered;
 * - a PCP reply is version 2, the request's opcode with R set, a known
 *   result code, 24..1100 bytes and a multiple of 4, the epoch right; a MAP
 *   success is >= 60 bytes with a lifetime in [min, max] (0 for a delete);
 * - a NAT-PMP reply is version 0, opcode + 128, 12 bytes for the address,
 *   16 for a mapping, 8 for anything else, the epoch right;
 * - the table is exactly what the changed() calls (and restores) said it
 *   is: a shadow kept from them matches it entry for entry;
 * - no external port is held twice, none is reserved when granted, no
 *   request client holds more than NAT_PCP_PER_CLIENT, nothing expired
 *   survives a request. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_pcp.h"

#define CHECK(c)                                                                                  \
	do {                                                                                      \
		if (!(c)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

#define T0 5000u
#define NSHADOW 4096

static const uint32_t clients[4] = {0xc0a80114, 0xc0a80115, 0x0a000002,
				    0x6440000a}; /* 192.168.1.20/21, 10.0.0.2, 100.64.0.10 */

static struct {
	struct in_addr ext;
	uint16_t res_lo, res_hi; /* reserved TCP and UDP ports */
	bool fail;
	uint32_t rnd;
	struct nat_pcp_mapping shadow[NSHADOW];
	size_t nshadow;
} S;

static struct in_addr st_external(void *data)
{
	(void)data;
	return S.ext;
}

static bool st_reserved(void *data, uint8_t proto, uint16_t port)
{
	(void)data;
	(void)proto;
	return port >= S.res_lo && port <= S.res_hi;
}

static size_t shadow_find(uint8_t proto, uint16_t ext_port)
{
	for (size_t i = 0; i < S.nshadow; i++)
		if (S.shadow[i].proto == proto && S.shadow[i].ext_port == ext_port)
			return i;
	return SIZE_MAX;
}

static int st_changed(void *data, const struct nat_pcp_mapping *m, enum nat_pcp_change ch, uint32_t now)
{
	size_t i = shadow_find(m->proto, m->ext_port);

	(void)data;
	(void)now;
	CHECK(m->proto == 6 || m->proto == 17);
	CHECK(m->ext_port != 0 && m->int_port != 0);
	if (ch != NAT_PCP_REMOVED) {
		CHECK(!st_reserved(NULL, m->proto, m->ext_port));
		CHECK(m->expires > now);
		if (S.fail)
			return -5;
	}
	switch (ch) {
	case NAT_PCP_ADDED:
		CHECK(i == SIZE_MAX); /* one external port, one mapping */
		CHECK(S.nshadow < NSHADOW);
		S.shadow[S.nshadow++] = *m;
		break;
	case NAT_PCP_RENEWED:
		CHECK(i != SIZE_MAX);
		CHECK(S.shadow[i].client.s_addr == m->client.s_addr && S.shadow[i].int_port == m->int_port);
		S.shadow[i] = *m;
		break;
	case NAT_PCP_REMOVED:
		CHECK(i != SIZE_MAX);
		S.shadow[i] = S.shadow[--S.nshadow];
		break;
	}
	return 0;
}

static uint32_t st_random(void *data)
{
	(void)data;
	return S.rnd;
}

static const struct nat_pcp_ops ops = {st_external, st_reserved, st_changed, st_random};

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void check_table(const struct nat_pcp *p)
{
	size_t cur = 0, n = 0;
	const struct nat_pcp_mapping *m;
	unsigned per[4] = {0};

	CHECK(nat_pcp_count(p) == S.nshadow);
	CHECK(nat_pcp_count(p) <= NAT_PCP_MAX_MAPPINGS);
	while ((m = nat_pcp_next(p, &cur))) {
		size_t i = shadow_find(m->proto, m->ext_port);
		CHECK(i != SIZE_MAX);
		const struct nat_pcp_mapping *s = &S.shadow[i];
		CHECK(s->client.s_addr == m->client.s_addr && s->int_port == m->int_port);
		CHECK(s->expires == m->expires && s->natpmp == m->natpmp);
		CHECK(memcmp(s->nonce, m->nonce, sizeof(m->nonce)) == 0);
		for (int k = 0; k < 4; k++)
			per[k] += m->client.s_addr == htonl(clients[k]);
		n++;
	}
	CHECK(n == S.nshadow);
	for (int k = 0; k < 4; k++)
		CHECK(per[k] <= NAT_PCP_PER_CLIENT);
}

static void check_pcp_reply(const struct nat_pcp *p, const uint8_t *req, size_t len, const uint8_t *out,
			    size_t n, uint32_t now, uint32_t lmin, uint32_t lmax)
{
	CHECK(n >= 24 && n <= NAT_PCP_MAX_PACKET && n % 4 == 0);
	CHECK(out[0] == 2);
	CHECK(out[1] == (req[1] | 0x80));
	CHECK(out[2] == 0);
	CHECK(out[3] <= PCP_EXCESSIVE_REMOTE_PEERS);
	CHECK(be32(out + 8) == now - T0);
	for (int i = 12; i < 24; i++)
		CHECK(out[i] == 0);
	if (req[0] != 2)
		CHECK(out[3] == PCP_UNSUPP_VERSION && n == 24);
	else
		CHECK(len >= 24 && n <= len);
	if (out[3] == PCP_SUCCESS && (req[1] & 0x7f) == 1) {
		uint32_t life = be32(out + 4);
		CHECK(n >= 60);
		CHECK(life == 0 || (life >= lmin && life <= lmax));
		CHECK(out[36] == req[36] && memcmp(out + 24, req + 24, 12) == 0);
		CHECK(out[40] == req[40] && out[41] == req[41]);
	}
	(void)p;
}

static void check_natpmp_reply(const uint8_t *req, size_t len, const uint8_t *out, size_t n, uint32_t now)
{
	CHECK(out[0] == 0 && out[1] == req[1] + 128);
	CHECK(be32(out + 4) == now - T0);
	if (req[1] == 0)
		CHECK(n == 12 && len == 2);
	else if (req[1] == 1 || req[1] == 2)
		CHECK(n == 16 && len == 12);
	else
		CHECK(n == 8 && out[2] == 0 && out[3] == 5);
}

static size_t build_pcp(uint8_t *b, const uint8_t *d, size_t dl, uint32_t src)
{
	/* a MAP header for SRC; the input gives lifetime, nonce, proto, ports,
	 * suggested address and options, in that order (short: zeros) */
	size_t n = 60 + (dl > 36 ? (dl - 36) & ~(size_t)3 : 0);

	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 1;
	b[18] = b[19] = 0xff;
	memcpy(b + 20, &(uint32_t){htonl(src)}, 4);
	if (dl > 0)
		memcpy(b + 4, d, dl < 4 ? dl : 4);
	if (dl > 4)
		memcpy(b + 24, d + 4, dl - 4 < 20 ? dl - 4 : 20);
	b[36] = (b[36] & 1) ? 17 : (b[36] & 2) ? 6 : b[36];
	if (dl > 24)
		memcpy(b + 44, d + 24, dl - 24 < 12 ? dl - 24 : 12);
	if (n > 60)
		memcpy(b + 60, d + 36, n - 60);
	b[42] &= 0x0f; /* suggested ports clash more often */
	b[43] &= 0x0f;
	if (b[47] & 1) { /* sometimes the right suggested address */
		memset(b + 44, 0, 10);
		b[54] = b[55] = 0xff;
		memcpy(b + 56, &S.ext.s_addr, 4);
	}
	return n;
}

static size_t build_natpmp(uint8_t *b, const uint8_t *d, size_t dl)
{
	memset(b, 0, 12);
	memcpy(b + 1, d, dl < 11 ? dl : 11);
	b[1] %= 4;
	b[4] = 0x13; /* internal port 0x13xx or 0 */
	if (dl > 3 && (d[3] & 1))
		b[4] = b[5] = 0;
	b[6] &= 0x0f;
	return b[1] == 0 ? 2 : 12;
}

static void control(struct nat_pcp *p, const uint8_t *d, size_t dl, uint32_t *now, uint32_t *lmin,
		    uint32_t *lmax)
{
	uint8_t op = dl > 0 ? d[0] : 0;
	uint8_t arg = dl > 1 ? d[1] : 0;

	switch (op % 8) {
	case 0:
		*now += (uint32_t)arg * 37;
		break;
	case 1:
		S.ext.s_addr = S.ext.s_addr ? 0 : htonl(0xcb007105); /* 203.0.113.5 */
		nat_pcp_set_epoch_start(p, T0); /* same start: the epoch checks stay simple */
		break;
	case 2:
		S.res_lo = (uint16_t)(0x1300 + arg);
		S.res_hi = (uint16_t)(S.res_lo + (dl > 2 ? d[2] : 0));
		break;
	case 3:
		S.fail = !S.fail;
		break;
	case 4: {
		uint32_t next = nat_pcp_expire(p, *now);
		size_t cur = 0;
		const struct nat_pcp_mapping *m;
		uint32_t min = 0;
		while ((m = nat_pcp_next(p, &cur))) {
			CHECK(m->expires > *now);
			min = (min == 0 || m->expires < min) ? m->expires : min;
		}
		CHECK(next == min);
		break;
	}
	case 5: {
		size_t before = nat_pcp_count(p);
		size_t dropped = nat_pcp_drop_reserved(p, *now);
		CHECK(nat_pcp_count(p) == before - dropped);
		break;
	}
	case 6: {
		/* a kernel element of a host that sends no requests */
		struct nat_pcp_mapping m = {.proto = (arg & 1) ? 6 : 17,
					    .client.s_addr = htonl(0xc0a80200u + (arg >> 4)),
					    .int_port = (uint16_t)(arg | 1),
					    .ext_port = (uint16_t)(0x1300 + arg),
					    .expires = *now + 1 + arg};
		int rc = nat_pcp_restore(p, &m);
		CHECK(rc == 0 || rc == -17 /* EEXIST */ || rc == -28 /* ENOSPC */);
		if (rc == 0) {
			CHECK(S.nshadow < NSHADOW);
			S.shadow[S.nshadow++] = m;
		}
		break;
	}
	default:
		*lmin = 1 + arg;
		*lmax = *lmin + (dl > 2 ? (uint32_t)d[2] * 100 : 0);
		nat_pcp_set_lifetimes(p, *lmin, *lmax);
		break;
	}
	S.rnd = S.rnd * 1103515245u + 12345u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t now = T0, lmin = 120, lmax = 86400;
	struct nat_pcp *p;
	uint8_t pkt[1300], out[NAT_PCP_MAX_PACKET];

	memset(&S, 0, sizeof(S));
	S.ext.s_addr = htonl(0xcb007105);
	p = nat_pcp_new(&ops, NULL, lmin, lmax, T0);
	CHECK(p);
	while (size >= 2) {
		uint8_t flags = data[0];
		size_t dl = data[1];
		if ((flags >> 3 & 3) == 0 && (flags & 0x80))
			dl = dl * 5; /* raw datagrams up to 1275 bytes: past the 1100 limit */
		data += 2;
		size -= 2;
		if (dl > size)
			dl = size;
		bool lan = flags & 1;
		uint32_t src = clients[flags >> 1 & 3];
		size_t len;
		switch (flags >> 3 & 3) {
		case 0:
			memcpy(pkt, data, dl);
			len = dl;
			break;
		case 1:
			len = build_pcp(pkt, data, dl, src);
			break;
		case 2:
			len = build_natpmp(pkt, data, dl);
			break;
		default:
			control(p, data, dl, &now, &lmin, &lmax);
			check_table(p);
			data += dl;
			size -= dl;
			continue;
		}
		data += dl;
		size -= dl;
		if (flags & 0x40)
			now += flags & 0x07;

		struct in_addr a = {htonl(src)};
		size_t n = nat_pcp_handle(p, pkt, len, a, lan, now, out, sizeof(out));
		CHECK(n <= sizeof(out));
		if (!lan)
			CHECK(n == 0);
		if (n > 0 && pkt[0] == 0)
			check_natpmp_reply(pkt, len, out, n, now);
		else if (n > 0)
			check_pcp_reply(p, pkt, len, out, n, now, lmin, lmax);
		if (lan && len >= 2 && !(pkt[1] & 0x80)) {
			size_t cur = 0;
			const struct nat_pcp_mapping *m;
			while ((m = nat_pcp_next(p, &cur)))
				CHECK(m->expires > now);
		}
		check_table(p);
	}
	/* the announcements are well-formed whatever state we are in */
	CHECK(nat_pcp_announce(p, now, out, sizeof(out)) == 24 && out[0] == 2 && out[1] == 0x80);
	CHECK(nat_pcp_natpmp_notice(p, now, out, sizeof(out)) == 12 && out[0] == 0 && out[1] == 128);
	nat_pcp_free(p);
	return 0;
}
