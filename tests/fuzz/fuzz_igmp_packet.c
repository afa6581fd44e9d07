/* fuzz_igmp_packet.c — bytes through igmp_parse, and what parses into the
 * state machine of two downstream links (sharing a total group budget) on
 * a moving fake clock. The input is a run of operations, each either raw
 * bytes as a whole IPv4 packet, raw bytes as an IGMP message behind a sane
 * IP header (checksum fixed, so the machine sees arbitrary bodies), or a
 * message described in a few bytes (v3 records, v1/v2 reports and leaves,
 * queries with any codes from lower/higher/zero addresses) over a small
 * pool of groups, sources and hosts so the tables meet their own state;
 * or the clock moving (jumping, or stepping through every deadline as the
 * loop does). The first bytes choose the links' parameters.
 *
 * After every operation the invariants are checked, and a break aborts:
 * - igmp_link_check holds (sorted sources, caps, timers that fit the mode,
 *   no deadline missed by igmp_link_deadline, querier state);
 * - group, source and host counts within their caps, the budget equal to
 *   the links' groups and within its total;
 * - igmp_link_timers answers a deadline in the future;
 * - for every pool group and source, igmp_merge lets through exactly what
 *   some link wants (igmp_link_wants);
 * - every query asked for builds with igmp_build_query and parses back to
 *   what was asked, for a proxied group (or a general one). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "igmp_db.h"
#include "igmp_packet.h"

#define CHECK(c)                                                                                  \
	do {                                                                                      \
		if (!(c)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

#define NLINKS 2
#define MAX_GROUPS 6
#define MAX_SOURCES 5
#define MAX_HOSTS 2
#define TOTAL 9

/* 239.255.0.0/16 is outside `allow`; 224.0.0.x never proxied; 10.x not multicast */
static const char *const groups[] = {"239.1.1.1",   "239.1.1.2",  "232.1.1.1", "224.0.1.1",
				     "239.255.0.1", "224.0.0.22", "10.0.0.1",  "239.1.1.3"};
static const char *const sources[] = {"198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.4",
				      "203.0.113.5",  "198.18.0.6",   "100.64.0.7",   "10.9.9.9"};
/* hosts; then routers: lower than us, higher, 0.0.0.0, ourselves */
static const char *const hosts[] = {"10.0.0.101", "10.0.0.102", "10.0.0.103", "0.0.0.0"};
static const char *const routers[] = {"10.0.0.2", "10.0.0.20", "0.0.0.0", "10.0.0.10"};

static struct in_addr addr(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static bool proxied(struct in_addr g)
{
	uint32_t a = ntohl(g.s_addr);

	return a >> 28 == 0xe && (a & 0xffffff00u) != 0xe0000000u && (a >> 16) != 0xefff;
}

/* ---- the glue's side ---- */

static struct igmp_link *links[NLINKS];
static uint64_t now;

static void cb_query(void *ctx, struct igmp_link *l, const struct igmp_query *q)
{
	uint8_t pkt[24 + 12 + 4 * IGMP_V3_MAX_SOURCES];
	struct igmp_msg m;
	size_t n;

	(void)ctx;
	(void)l;
	CHECK(q->version == 2 || q->version == 3);
	CHECK(q->nsrc <= IGMP_V3_MAX_SOURCES);
	CHECK(q->group.s_addr == 0 || proxied(q->group));
	CHECK(q->version == 3 || q->nsrc == 0);
	memset(pkt, 0, 24);
	n = igmp_build_query(pkt + 24, sizeof(pkt) - 24, q->version, q->group, q->srcs, q->nsrc,
			     q->max_resp_ms, q->s_flag, q->qrv, q->qqi_s);
	CHECK(n > 0);
	pkt[0] = 0x46;
	pkt[2] = (uint8_t)((24 + n) >> 8);
	pkt[3] = (uint8_t)(24 + n);
	pkt[8] = 1;
	pkt[9] = 2;
	pkt[20] = 148;
	pkt[21] = 4;
	CHECK(igmp_parse(pkt, 24 + n, &m) == IGMP_OK);
	CHECK(m.query_version == q->version);
	CHECK(m.group.s_addr == q->group.s_addr);
	CHECK(m.nsrc == q->nsrc);
	CHECK(q->version == 2 || m.s_flag == q->s_flag);
}

static void cb_changed(void *ctx, struct igmp_link *l, struct in_addr group)
{
	struct igmp_filter f;

	(void)ctx;
	(void)l;
	CHECK(proxied(group));
	/* what the glue does at once: the merge, from inside the callback */
	igmp_filter_init(&f);
	CHECK(igmp_merge(links, NLINKS, group, now, &f) == 0);
	igmp_filter_free(&f);
}

static bool cb_allow(void *ctx, struct in_addr group)
{
	(void)ctx;
	return (ntohl(group.s_addr) >> 16) != 0xefff;
}

static const struct igmp_link_ops ops = {cb_query, cb_changed, NULL, cb_allow};

/* ---- packets ---- */

/* An IPv4 header with Router Alert around IGMP (checksum fixed), parsed
 * and, if it parses, handed to link L. */
static void deliver(int l, const char *src, uint8_t *igmp, size_t len, bool fix_sum)
{
	uint8_t pkt[24 + 2048];
	struct igmp_msg m;
	struct in_addr s = addr(src);

	if (len > 2048)
		len = 2048;
	if (fix_sum && len >= 4) {
		igmp[2] = igmp[3] = 0;
		uint16_t sum = igmp_checksum(igmp, len);
		igmp[2] = (uint8_t)(sum >> 8);
		igmp[3] = (uint8_t)sum;
	}
	memset(pkt, 0, 24);
	pkt[0] = 0x46;
	pkt[2] = (uint8_t)((24 + len) >> 8);
	pkt[3] = (uint8_t)(24 + len);
	pkt[8] = 1;
	pkt[9] = 2;
	memcpy(pkt + 12, &s, 4);
	pkt[16] = 224, pkt[19] = 22;
	pkt[20] = 148;
	pkt[21] = 4;
	memcpy(pkt + 24, igmp, len);
	if (igmp_parse(pkt, 24 + len, &m) == IGMP_OK)
		igmp_link_input(links[l], &m, now);
}

static void op_raw_ip(struct input *in, int l)
{
	uint8_t pkt[512];
	size_t len = take(in) * 2u;
	struct igmp_msg m;

	if (len > in->n)
		len = in->n;
	memcpy(pkt, in->p, len);
	in->p += len;
	in->n -= len;
	if (igmp_parse(pkt, len, &m) != IGMP_OK)
		return;
	/* a parse that succeeded describes bytes inside the packet */
	if (m.type == IGMP_MEMBERSHIP_QUERY && m.nsrc)
		CHECK(m.srcs >= pkt && m.srcs + 4 * (size_t)m.nsrc <= pkt + len);
	if (m.type == IGMP_V3_REPORT)
		CHECK(m.rec_start >= pkt && m.rec_start + m.rec_len <= pkt + len);
	igmp_link_input(links[l], &m, now);
}

static void op_raw_igmp(struct input *in, int l)
{
	uint8_t igmp[512];
	size_t len = take(in) * 2u;
	uint8_t who = take(in);

	if (len > in->n)
		len = in->n;
	memcpy(igmp, in->p, len);
	in->p += len;
	in->n -= len;
	deliver(l, who & 1 ? routers[who >> 1 & 3] : hosts[who >> 1 & 3], igmp, len, true);
}

static void op_v3_report(struct input *in, int l)
{
	uint8_t b[8 + 3 * (8 + 4 * 8)] = {IGMP_V3_REPORT};
	uint8_t h = take(in), nrec = take(in) % 4;
	size_t k = 8;

	b[7] = nrec;
	for (unsigned r = 0; r < nrec; r++) {
		uint8_t t = take(in), spec = take(in);
		unsigned nsrc = spec % 9;
		struct in_addr g = addr(groups[t >> 4 & 7]);

		b[k] = (uint8_t)(t % 7 + 1); /* 1..6 and an unknown 7 */
		b[k + 3] = (uint8_t)nsrc;
		memcpy(b + k + 4, &g, 4);
		k += 8;
		for (unsigned i = 0; i < nsrc; i++) {
			struct in_addr s = addr(sources[take(in) & 7]);

			memcpy(b + k, &s, 4);
			k += 4;
		}
	}
	deliver(l, hosts[h & 3], b, k, true);
}

static void op_v12(struct input *in, int l)
{
	static const uint8_t types[] = {IGMP_V1_REPORT, IGMP_V2_REPORT, IGMP_V2_LEAVE, IGMP_V2_LEAVE};
	uint8_t spec = take(in);
	uint8_t b[8] = {types[spec & 3]};
	struct in_addr g = addr(groups[spec >> 2 & 7]);

	memcpy(b + 4, &g, 4);
	deliver(l, hosts[spec >> 5 & 3], b, 8, true);
}

static void op_query(struct input *in, int l)
{
	uint8_t who = take(in), code = take(in), flags = take(in), qqic = take(in);
	uint8_t b[12 + 4 * 8] = {IGMP_MEMBERSHIP_QUERY, code};
	unsigned nsrc = flags >> 4 & 7;
	size_t len = 8; /* v1 (code 0) or v2 */

	if (who & 4) {
		struct in_addr g = addr(groups[who >> 3 & 7]);

		memcpy(b + 4, &g, 4);
	}
	if (who & 0x40) { /* v3, with any S/QRV/QQIC */
		b[8] = flags & 0x0f;
		b[9] = qqic;
		b[11] = (uint8_t)nsrc;
		for (unsigned i = 0; i < nsrc; i++) {
			struct in_addr s = addr(sources[take(in) & 7]);

			memcpy(b + 12 + 4 * i, &s, 4);
		}
		len = 12 + 4 * nsrc;
	}
	deliver(l, routers[who & 3], b, len, true);
}

/* The clock moves: a jump, or each deadline in turn up to the target. */
static void op_time(struct input *in)
{
	uint8_t b = take(in);
	uint64_t delta = (uint64_t)(b & 0x3f) * 100 << (3 * (b >> 6 & 3)); /* 0 .. 33 min */
	uint64_t target = now + delta;

	if (take(in) & 1) {
		for (int i = 0; i < 1000; i++) {
			uint64_t next = IGMP_NEVER;

			for (int l = 0; l < NLINKS; l++)
				if (igmp_link_deadline(links[l]) < next)
					next = igmp_link_deadline(links[l]);
			if (next > target)
				break;
			if (next > now)
				now = next;
			for (int l = 0; l < NLINKS; l++)
				CHECK(igmp_link_timers(links[l], now) > now);
		}
	}
	now = target;
	for (int l = 0; l < NLINKS; l++)
		CHECK(igmp_link_timers(links[l], now) > now);
}

/* A reload: version, quickleave, robustness, intervals, our address. */
static void op_reconfigure(struct input *in, int l, struct igmp_link_params *p)
{
	uint8_t b = take(in);
	struct igmp_link_params np = *p;

	np.version = b & 1 ? 2 : 3;
	np.quickleave = b & 2;
	np.robustness = 1 + (b >> 2 & 3);
	np.query_interval_ms = 1000u * (5 + (b >> 4));
	np.addr = addr(b & 0x80 ? "10.0.0.1" : "10.0.0.10");
	CHECK(igmp_link_reconfigure(links[l], &np, now) == 0);
	CHECK(igmp_link_timers(links[l], now) > now);
}

/* ---- invariants ---- */

static void check_all(const struct igmp_budget *budget)
{
	size_t total = 0;
	struct igmp_filter f;

	for (int l = 0; l < NLINKS; l++) {
		const char *e = igmp_link_check(links[l]);
		const struct igmp_group *g;
		size_t n = 0;

		if (e) {
			fprintf(stderr, "link %d: %s\n", l, e);
			abort();
		}
		for (g = igmp_link_group_next(links[l], NULL); g; g = igmp_link_group_next(links[l], g)) {
			struct igmp_group_info gi;

			igmp_group_info(g, now, &gi);
			CHECK(proxied(gi.group));
			CHECK(gi.nsrc <= MAX_SOURCES);
			CHECK(gi.nhosts <= MAX_HOSTS);
			CHECK(gi.compat >= 1 && gi.compat <= 3);
			/* the view says what wants() says */
			struct igmp_source_info si;
			for (size_t i = 0; igmp_group_source(g, i, now, &si); i++)
				CHECK(si.forwarded == igmp_link_wants(links[l], gi.group, si.addr, now));
			struct in_addr h;
			uint64_t left;
			for (size_t i = 0; igmp_group_host(g, i, now, &h, &left); i++)
				CHECK(h.s_addr != 0 && left > 0);
			CHECK(igmp_link_group_find(links[l], gi.group) == g);
			n++;
		}
		CHECK(n == igmp_link_group_count(links[l]));
		struct igmp_querier_info qi;
		igmp_link_querier(links[l], now, &qi);
		CHECK(qi.us ? qi.next_query_ms > 0 : qi.other_present_ms > 0);
		CHECK(qi.robustness >= 1 && qi.query_interval_ms >= 1000);
		CHECK(n <= MAX_GROUPS);
		total += n;
	}
	CHECK(budget->groups == total);
	CHECK(total <= TOTAL);
	igmp_filter_init(&f);
	for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		struct in_addr g = addr(groups[gi]);

		CHECK(igmp_merge(links, NLINKS, g, now, &f) == 0);
		for (size_t si = 0; si < sizeof(sources) / sizeof(sources[0]); si++) {
			struct in_addr s = addr(sources[si]);
			bool any = false;

			for (int l = 0; l < NLINKS; l++)
				any |= igmp_link_wants(links[l], g, s, now);
			CHECK(igmp_filter_wants(&f, s) == any);
		}
		if (!proxied(g))
			CHECK(!f.exclude && f.nsrc == 0);
	}
	igmp_filter_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct igmp_budget budget = {.max_groups = TOTAL};
	struct igmp_link_params p;
	uint8_t cfg = take(&in), cfg2 = take(&in);

	igmp_link_params_default(&p);
	p.addr = addr("10.0.0.10");
	p.version = cfg & 1 ? 2 : 3;
	p.quickleave = cfg & 2;
	p.robustness = 1 + (cfg >> 2 & 3);
	p.query_interval_ms = 1000u * (5 + (cfg2 & 0x7f));
	p.query_response_ms = 100u * (1 + (cfg2 >> 7) * 30);
	p.last_member_ms = 100u * (1 + (cfg >> 4 & 15));
	p.max_groups = MAX_GROUPS;
	p.max_sources = MAX_SOURCES;
	p.max_hosts = MAX_HOSTS;
	p.budget = &budget;
	now = cfg & 0x80 ? 1ull << 40 : 0;
	for (int l = 0; l < NLINKS; l++) {
		CHECK(igmp_link_new(&p, &ops, NULL, now, &links[l]) == 0);
		CHECK(igmp_link_deadline(links[l]) == now);
		CHECK(igmp_link_timers(links[l], now) > now); /* the first query, as the glue does */
	}

	while (in.n) {
		uint8_t op = take(&in);
		int l = op >> 7;

		switch (op % 8) {
		case 0:
			op_raw_ip(&in, l);
			break;
		case 1:
			op_raw_igmp(&in, l);
			break;
		case 2:
			op_v3_report(&in, l);
			break;
		case 3:
			op_v12(&in, l);
			break;
		case 4:
			op_query(&in, l);
			break;
		case 7:
			op_reconfigure(&in, l, &p);
			break;
		default:
			op_time(&in);
			break;
		}
		check_all(&budget);
	}
	for (int l = 0; l < NLINKS; l++) {
		igmp_link_free(links[l]);
		links[l] = NULL;
	}
	CHECK(budget.groups == 0);
	return 0;
}
