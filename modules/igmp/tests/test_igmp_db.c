/* test_igmp_db.c — the per-link querier and membership database and the
 * proxy merge, on a fake clock (milliseconds from 0). Every message is built
 * byte by byte as the IPv4 packet a host or router sends and goes through
 * igmp_parse; every query the link asks for is built with igmp_build_query
 * and parsed back. The callbacks write a log of one line per action, so the
 * tests compare exact sequences:
 *
 *   query v3 239.1.2.3 {198.51.100.1} mrt=1000 s=0 qrv=2 qqi=125
 *   changed 239.1.2.3
 *   querier 10.0.0.2 | querier us
 *
 * Defaults unless a test says otherwise: version 3, robustness 2, QI 125 s,
 * QRI 10 s, LMQI 1 s; so GMI = 260 s, OQPI = 255 s, LMQT = 2 s. We are
 * 10.0.0.10; another router 10.0.0.2 (lower) or 10.0.0.20 (higher); hosts
 * 10.0.0.101..; sources a..e = 198.51.100.1..5. */
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

#include "igmp_db.h"
#include "igmp_packet.h"

#define GMI 260000
#define G1 "239.1.2.3"
#define G2 "239.1.2.4"
#define A "198.51.100.1"
#define B "198.51.100.2"
#define C "198.51.100.3"
#define D "198.51.100.4"
#define E "198.51.100.5"
#define US "10.0.0.10"
#define LOW "10.0.0.2"
#define HIGH "10.0.0.20"
#define H1 "10.0.0.101"
#define H2 "10.0.0.102"
#define H3 "10.0.0.103"

/* ------------------------------------------------------------ the log */

#define LOG_MAX 64
static char logs[LOG_MAX][256];
static int nlog;
static bool deny_239_255; /* the allow callback refuses 239.255.0.0/16 */

static void log_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_add(const char *fmt, ...)
{
	va_list ap;

	assert_true(nlog < LOG_MAX);
	va_start(ap, fmt);
	vsnprintf(logs[nlog++], sizeof(logs[0]), fmt, ap);
	va_end(ap);
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static const char *str(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

static void srcs_str(char *out, size_t cap, const struct in_addr *s, size_t n)
{
	size_t k = (size_t)snprintf(out, cap, "{");

	for (size_t i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "", str(s[i]));
	if (k < cap)
		snprintf(out + k, cap - k, "}");
}

/* Every query asked for is built and parsed back: it must say the same. */
static void cb_query(void *ctx, struct igmp_link *l, const struct igmp_query *q)
{
	uint8_t pkt[24 + 12 + 4 * IGMP_V3_MAX_SOURCES];
	struct igmp_msg m;
	char srcs[200];
	size_t n;

	(void)ctx;
	(void)l;
	memset(pkt, 0, 24);
	n = igmp_build_query(pkt + 24, sizeof(pkt) - 24, q->version, q->group, q->srcs, q->nsrc,
			     q->max_resp_ms, q->s_flag, q->qrv, q->qqi_s);
	assert_true(n > 0);
	pkt[0] = 0x46;
	pkt[2] = (uint8_t)((24 + n) >> 8);
	pkt[3] = (uint8_t)(24 + n);
	pkt[8] = 1;
	pkt[9] = 2;
	pkt[20] = 148;
	pkt[21] = 4;
	assert_int_equal(igmp_parse(pkt, 24 + n, &m), IGMP_OK);
	assert_int_equal(m.query_version, q->version);
	assert_int_equal(m.group.s_addr, q->group.s_addr);
	assert_int_equal(m.nsrc, q->nsrc);
	assert_true(m.router_alert);
	srcs_str(srcs, sizeof(srcs), q->srcs, q->nsrc);
	if (q->version == 2)
		log_add("query v2 %s mrt=%u", q->group.s_addr ? str(q->group) : "general", q->max_resp_ms);
	else
		log_add("query v3 %s%s%s mrt=%u s=%d qrv=%u qqi=%u",
			q->group.s_addr ? str(q->group) : "general", q->nsrc ? " " : "", q->nsrc ? srcs : "",
			q->max_resp_ms, q->s_flag, q->qrv, q->qqi_s);
}

static void cb_changed(void *ctx, struct igmp_link *l, struct in_addr group)
{
	(void)ctx;
	(void)l;
	log_add("changed %s", str(group));
}

static void cb_querier(void *ctx, struct igmp_link *l, bool us, struct in_addr addr)
{
	(void)ctx;
	(void)l;
	log_add("querier %s", us ? "us" : str(addr));
}

static bool cb_allow(void *ctx, struct in_addr group)
{
	(void)ctx;
	return !(deny_239_255 && (ntohl(group.s_addr) >> 16) == 0xefff);
}

static const struct igmp_link_ops ops = {cb_query, cb_changed, cb_querier, cb_allow};

/* The log holds exactly the lines given (NULL-terminated), in order; then
 * it is emptied. */
static void expect(const char *first, ...)
{
	va_list ap;
	int i = 0;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *), i++) {
		if (i >= nlog)
			fail_msg("missing log line %d: \"%s\"", i, s);
		assert_string_equal(logs[i], s);
	}
	va_end(ap);
	if (i != nlog)
		fail_msg("unexpected log line %d: \"%s\"", i, logs[i]);
	nlog = 0;
}

static void expect_none(void)
{
	expect(NULL);
}

/* ------------------------------------------------------------ links */

static struct igmp_link_params params(void)
{
	struct igmp_link_params p;

	igmp_link_params_default(&p);
	p.addr = ip(US);
	return p;
}

static struct igmp_link *link_with(const struct igmp_link_params *p, uint64_t now)
{
	struct igmp_link *l = NULL;

	nlog = 0;
	deny_239_255 = false;
	assert_int_equal(igmp_link_new(p, &ops, NULL, now, &l), 0);
	assert_non_null(l);
	return l;
}

static void check(struct igmp_link *l)
{
	const char *e = igmp_link_check(l);

	if (e)
		fail_msg("invariant broken: %s", e);
}

static uint64_t run(struct igmp_link *l, uint64_t now)
{
	uint64_t next = igmp_link_timers(l, now);

	check(l);
	assert_true(next > now);
	return next;
}

/* The loop: every deadline up to T in order, then T. */
static void run_to(struct igmp_link *l, uint64_t t)
{
	uint64_t next = igmp_link_deadline(l);

	while (next < t)
		next = run(l, next);
	run(l, t);
}

/* A link past its first startup query, with the log empty. */
static struct igmp_link *link_default(void)
{
	struct igmp_link_params p = params();
	struct igmp_link *l = link_with(&p, 0);

	run(l, 0);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	return l;
}

/* ------------------------------------------------------------ packets */

/* The IPv4 packet (Router Alert, TTL 1) around IGMP, from SRC to DST,
 * parsed and handed to the link. */
static void deliver(struct igmp_link *l, const char *src, const char *dst, uint8_t *igmp, size_t len,
		    uint64_t now)
{
	uint8_t pkt[2048];
	struct in_addr s = ip(src), d = ip(dst);
	struct igmp_msg m;
	uint16_t sum;

	assert_true(len + 24 <= sizeof(pkt));
	igmp[2] = igmp[3] = 0;
	sum = igmp_checksum(igmp, len);
	igmp[2] = (uint8_t)(sum >> 8);
	igmp[3] = (uint8_t)sum;
	memset(pkt, 0, 24);
	pkt[0] = 0x46;
	pkt[1] = 0xc0;
	pkt[2] = (uint8_t)((24 + len) >> 8);
	pkt[3] = (uint8_t)(24 + len);
	pkt[8] = 1;
	pkt[9] = 2;
	memcpy(pkt + 12, &s, 4);
	memcpy(pkt + 16, &d, 4);
	pkt[20] = 148;
	pkt[21] = 4;
	memcpy(pkt + 24, igmp, len);
	assert_int_equal(igmp_parse(pkt, 24 + len, &m), IGMP_OK);
	igmp_link_input(l, &m, now);
	check(l);
}

static void v12(struct igmp_link *l, uint8_t type, const char *host, const char *group, uint64_t now)
{
	uint8_t b[8] = {type, 0};
	struct in_addr g = ip(group);

	memcpy(b + 4, &g, 4);
	deliver(l, host, type == IGMP_V2_LEAVE ? "224.0.0.2" : group, b, 8, now);
}

static void v1_report(struct igmp_link *l, const char *host, const char *group, uint64_t now)
{
	v12(l, IGMP_V1_REPORT, host, group, now);
}

static void v2_report(struct igmp_link *l, const char *host, const char *group, uint64_t now)
{
	v12(l, IGMP_V2_REPORT, host, group, now);
}

static void v2_leave(struct igmp_link *l, const char *host, const char *group, uint64_t now)
{
	v12(l, IGMP_V2_LEAVE, host, group, now);
}

/* A v3 report of one record: TYPE, GROUP and the sources in SRCS
 * (space-separated, "" for none). */
static void v3(struct igmp_link *l, const char *host, int type, const char *group, const char *srcs,
	       uint64_t now)
{
	uint8_t b[16 + 4 * IGMP_V3_MAX_SOURCES] = {IGMP_V3_REPORT, 0, 0, 0, 0, 0, 0, 1};
	struct in_addr g = ip(group);
	char list[8192], *save = NULL;
	size_t n = 0;

	snprintf(list, sizeof(list), "%s", srcs);
	for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		struct in_addr s = ip(t);

		assert_true(n < IGMP_V3_MAX_SOURCES);
		memcpy(b + 16 + 4 * n++, &s, 4);
	}
	b[8] = (uint8_t)type;
	b[10] = (uint8_t)(n >> 8);
	b[11] = (uint8_t)n;
	memcpy(b + 12, &g, 4);
	deliver(l, host, "224.0.0.22", b, 16 + 4 * n, now);
}

/* A query from another router, built as it would (igmp_build_query; v1
 * by hand). */
static void query(struct igmp_link *l, const char *from, int version, const char *group, const char *srcs,
		  uint32_t max_resp_ms, bool s_flag, uint8_t qrv, uint32_t qqi_s, uint64_t now)
{
	uint8_t b[512] = {0};
	struct in_addr g = ip(group), s[16];
	char list[256], *save = NULL;
	size_t n = 0, len;

	snprintf(list, sizeof(list), "%s", srcs);
	for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save))
		s[n++] = ip(t);
	if (version == 1) {
		b[0] = IGMP_MEMBERSHIP_QUERY;
		len = 8;
	} else {
		len = igmp_build_query(b, sizeof(b), version, g, s, n, max_resp_ms, s_flag, qrv, qqi_s);
		assert_true(len > 0);
	}
	deliver(l, from, g.s_addr ? group : "224.0.0.1", b, len, now);
}

static void general_query_from(struct igmp_link *l, const char *from, uint64_t now)
{
	query(l, from, 3, "0.0.0.0", "", 10000, false, 2, 125, now);
}

/* ------------------------------------------------------------ state */

/* "none", "IN {a:ms ...}" or "EX ms {a:ms b:0}": mode, group timer and
 * source timers left at NOW, sources in address order. */
static const char *state(const struct igmp_link *l, const char *group, uint64_t now)
{
	static char out[1024];
	const struct igmp_group *g = igmp_link_group_find(l, ip(group));
	struct igmp_group_info gi;
	struct igmp_source_info si;
	size_t k;

	if (!g)
		return "none";
	igmp_group_info(g, now, &gi);
	if (gi.exclude)
		k = (size_t)snprintf(out, sizeof(out), "EX %llu {", (unsigned long long)gi.expires_ms);
	else
		k = (size_t)snprintf(out, sizeof(out), "IN {");
	for (size_t i = 0; igmp_group_source(g, i, now, &si); i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s:%llu", i ? " " : "", str(si.addr),
				      (unsigned long long)si.expires_ms);
	snprintf(out + k, sizeof(out) - k, "}");
	return out;
}

static bool wants(const struct igmp_link *l, const char *group, const char *source, uint64_t now)
{
	return igmp_link_wants(l, ip(group), ip(source), now);
}

/* ------------------------------------------------------------ params */

static void test_params(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l = NULL;

	(void)st;
	p.version = 1;
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l), -EINVAL);
	p = params();
	p.robustness = 0;
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l), -EINVAL);
	p = params();
	p.query_response_ms = p.query_interval_ms; /* RFC 3376 8.3: QRI < QI */
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l), -EINVAL);
	p = params();
	p.last_member_ms = 0;
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l), -EINVAL);
	assert_null(l);
	p = params();
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 5000, &l), 0);
	/* the first query is due at once */
	assert_int_equal(igmp_link_deadline(l), 5000);
	igmp_link_free(l);
}

/* ------------------------------------------------------------ querier */

static void test_startup_queries(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l = link_with(&p, 0);
	struct igmp_querier_info qi;

	(void)st;
	igmp_link_querier(l, 0, &qi);
	assert_true(qi.us);
	assert_string_equal(str(qi.addr), US);
	assert_int_equal(qi.startup_left, 2);
	/* RFC 3376 8.6/8.7: Startup Query Count (= RV) queries QI/4 apart */
	assert_int_equal(run(l, 0), 31250);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	assert_int_equal(run(l, 31249), 31250);
	expect_none();
	assert_int_equal(run(l, 31250), 31250 + 125000);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	igmp_link_querier(l, 100000, &qi);
	assert_int_equal(qi.startup_left, 0);
	assert_int_equal(qi.next_query_ms, 56250);
	/* then every QI */
	assert_int_equal(run(l, 156250), 281250);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	assert_int_equal(run(l, 281250), 406250);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	assert_int_equal(igmp_link_stats(l)->queries_sent, 4);
	igmp_link_free(l);
}

static void test_startup_robustness_3(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l;

	(void)st;
	p.robustness = 3;
	p.query_interval_ms = 60000;
	l = link_with(&p, 1000);
	assert_int_equal(run(l, 1000), 16000);
	assert_int_equal(run(l, 16000), 31000);
	assert_int_equal(run(l, 31000), 91000);
	expect("query v3 general mrt=10000 s=0 qrv=3 qqi=60", "query v3 general mrt=10000 s=0 qrv=3 qqi=60",
	       "query v3 general mrt=10000 s=0 qrv=3 qqi=60", NULL);
	igmp_link_free(l);
}

static void test_election(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_querier_info qi;

	(void)st;
	/* a higher address does not win */
	general_query_from(l, HIGH, 1000);
	expect_none();
	igmp_link_querier(l, 1000, &qi);
	assert_true(qi.us);
	/* a lower one does: we stop at once, startup included */
	general_query_from(l, LOW, 2000);
	expect("querier " LOW, NULL);
	igmp_link_querier(l, 2000, &qi);
	assert_false(qi.us);
	assert_string_equal(str(qi.addr), LOW);
	assert_int_equal(qi.other_present_ms, 255000); /* RFC 3376 8.5: RV x QI + QRI/2 */
	assert_int_equal(qi.startup_left, 0);
	assert_int_equal(run(l, 31250), 257000);
	expect_none();
	/* its queries keep us quiet */
	general_query_from(l, LOW, 127000);
	assert_int_equal(run(l, 257000), 382000);
	expect_none();
	/* a higher router's query does not refresh the timer */
	general_query_from(l, HIGH, 300000);
	expect_none();
	/* it is gone: we take over with a general query, then every QI */
	assert_int_equal(run(l, 382000), 507000);
	expect("querier us", "query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	igmp_link_querier(l, 382000, &qi);
	assert_true(qi.us);
	assert_int_equal(qi.next_query_ms, 125000);
	assert_int_equal(igmp_link_stats(l)->queries_received, 4);
	igmp_link_free(l);
}

static void test_election_adopts_timers(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_querier_info qi;

	(void)st;
	/* RFC 3376 4.1.6/4.1.7: the querier's QRV and QQI become ours */
	query(l, LOW, 3, "0.0.0.0", "", 10000, false, 3, 60, 1000);
	expect("querier " LOW, NULL);
	igmp_link_querier(l, 1000, &qi);
	assert_int_equal(qi.robustness, 3);
	assert_int_equal(qi.query_interval_ms, 60000);
	assert_int_equal(qi.other_present_ms, 3 * 60000 + 5000);
	/* and with them GMI = 3 x 60 s + 10 s */
	v2_report(l, H1, G1, 2000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 2000), "EX 190000 {}");
	/* QRV 0 and QQIC 0: back to ours */
	query(l, LOW, 3, "0.0.0.0", "", 10000, false, 0, 0, 3000);
	igmp_link_querier(l, 3000, &qi);
	assert_int_equal(qi.robustness, 2);
	assert_int_equal(qi.query_interval_ms, 125000);
	/* a huge QQIC (31744 s) is bounded: a vanished querier silences us for hours, not days */
	query(l, LOW, 3, "0.0.0.0", "", 10000, false, 7, 31744, 4000);
	igmp_link_querier(l, 4000, &qi);
	assert_int_equal(qi.robustness, 7);
	assert_int_equal(qi.query_interval_ms, IGMP_MAX_ADOPTED_QI_MS);
	assert_int_equal(qi.other_present_ms, 7ull * IGMP_MAX_ADOPTED_QI_MS + 5000);
	/* a v2 querier has no QRV/QQIC: ours; and its version is counted for the log */
	query(l, LOW, 2, "0.0.0.0", "", 10000, false, 0, 0, 5000);
	igmp_link_querier(l, 5000, &qi);
	assert_int_equal(qi.robustness, 2);
	assert_int_equal(qi.other_present_ms, 255000);
	assert_int_equal(igmp_link_stats(l)->query_other_version, 1);
	/* back as querier, our own values again (the group, unrefreshed, is gone) */
	run(l, 260000);
	expect("querier us", "query v3 general mrt=10000 s=0 qrv=2 qqi=125", "changed " G1, NULL);
	igmp_link_free(l);
}

static void test_query_ignored(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	/* a snooping switch's 0.0.0.0 query and our own looped back elect no one */
	general_query_from(l, "0.0.0.0", 1000);
	general_query_from(l, US, 1000);
	expect_none();
	assert_int_equal(igmp_link_stats(l)->query_ignored, 2);
	assert_int_equal(run(l, 31250), 156250);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", NULL);
	igmp_link_free(l);
}

/* RFC 3376 6.6.1: as non-querier, the querier's specific queries lower our
 * timers to LMQC x its Max Resp Time, unless S is set. */
static void test_foreign_specific_queries(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	general_query_from(l, LOW, 1000);
	expect("querier " LOW, NULL);
	v2_report(l, H1, G1, 1000);
	v3(l, H2, IGMP_ALLOW_NEW_SOURCES, G2, A " " B, 1000);
	expect("changed " G1, "changed " G2, NULL);
	/* S set: nothing */
	query(l, LOW, 3, G1, "", 1000, true, 2, 125, 2000);
	assert_string_equal(state(l, G1, 2000), "EX 259000 {}");
	/* Max Resp 0 from an odd querier: our LMQI instead, 2 x 1 s */
	query(l, LOW, 3, G1, "", 0, false, 2, 125, 2000);
	assert_string_equal(state(l, G1, 2000), "EX 2000 {}");
	/* a huge Max Resp (3174.4 s): LMQT above the timer, nothing lowered */
	query(l, LOW, 3, G2, A, 3174400, false, 2, 125, 2000);
	assert_string_equal(state(l, G2, 2000), "IN {198.51.100.1:259000 198.51.100.2:259000}");
	/* group-and-source-specific: that source only, 2 x 500 ms */
	query(l, LOW, 3, G2, A, 500, false, 2, 125, 2000);
	assert_string_equal(state(l, G2, 2000), "IN {198.51.100.1:1000 198.51.100.2:259000}");
	expect_none(); /* a non-querier sends nothing */
	/* nobody answers: G1 and A go */
	run(l, 3000);
	expect("changed " G2, NULL);
	assert_string_equal(state(l, G2, 3000), "IN {198.51.100.2:258000}");
	run(l, 4000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 4000), "none");
	/* a v2 querier's group-specific query (no S flag in v2) */
	v2_report(l, H1, G1, 5000);
	query(l, LOW, 2, G1, "", 1000, false, 0, 0, 5000);
	assert_string_equal(state(l, G1, 5000), "EX 2000 {}");
	igmp_link_free(l);
}

/* ------------------------------------------------------------ v2 hosts */

static void test_v2_join_leave(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_group_info gi;

	(void)st;
	assert_false(wants(l, G1, A, 1000));
	v2_report(l, H1, G1, 1000);
	expect("changed " G1, NULL);
	assert_true(wants(l, G1, A, 1000));
	assert_string_equal(state(l, G1, 1000), "EX 260000 {}");
	igmp_group_info(igmp_link_group_find(l, ip(G1)), 1000, &gi);
	assert_int_equal(gi.compat, 2);
	assert_int_equal(gi.v2_host_ms, GMI);
	assert_int_equal(gi.nhosts, 1);
	/* RFC 3376 7.3.2: the leave is TO_IN({}): Q(G), the group timer to LMQT */
	v2_leave(l, H1, G1, 5000);
	expect("query v3 239.1.2.3 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	assert_string_equal(state(l, G1, 5000), "EX 2000 {}");
	assert_true(wants(l, G1, A, 5000));
	/* LMQC - 1 retransmission LMQI later */
	assert_int_equal(igmp_link_deadline(l), 6000);
	assert_int_equal(run(l, 6000), 7000);
	expect("query v3 239.1.2.3 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	/* nobody answered: gone RV x LMQI = 2 s after the leave */
	run(l, 6999);
	expect_none();
	run(l, 7000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 7000), "none");
	assert_false(wants(l, G1, A, 7000));
	assert_int_equal(igmp_link_stats(l)->groups_expired, 1);
	igmp_link_free(l);
}

static void test_v2_leave_answered(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	v2_report(l, H1, G1, 1000);
	v2_report(l, H2, G1, 1000);
	expect("changed " G1, NULL);
	v2_leave(l, H1, G1, 5000);
	expect("query v3 239.1.2.3 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	/* the other host answers: the timer back to GMI, the retransmission
	 * goes with S set so other routers keep theirs (RFC 3376 6.6.3.1) */
	v2_report(l, H2, G1, 5500);
	assert_string_equal(state(l, G1, 5500), "EX 260000 {}");
	run(l, 6000);
	expect("query v3 239.1.2.3 mrt=1000 s=1 qrv=2 qqi=125", NULL);
	run(l, 7000);
	expect_none();
	assert_string_equal(state(l, G1, 200000), "EX 65500 {}");
	igmp_link_free(l);
}

static void test_quickleave(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l;

	(void)st;
	p.quickleave = true;
	l = link_with(&p, 0);
	run(l, 0);
	nlog = 0;
	/* one host: gone at its leave, no query */
	v2_report(l, H1, G1, 1000);
	v2_leave(l, H1, G1, 2000);
	expect("changed " G1, "changed " G1, NULL);
	assert_string_equal(state(l, G1, 2000), "none");
	assert_int_equal(igmp_link_stats(l)->quick_leaves, 1);
	/* a leave from a host we never saw: the usual queries */
	v2_report(l, H1, G1, 3000);
	v2_leave(l, H2, G1, 3000);
	expect("changed " G1, "query v3 239.1.2.3 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	run(l, 5000);
	nlog = 0;
	/* two hosts: the first leave queries, the last one is quick */
	v2_report(l, H1, G2, 10000);
	v2_report(l, H2, G2, 10000);
	expect("changed " G2, NULL);
	v2_leave(l, H1, G2, 11000);
	expect("query v3 239.1.2.4 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	assert_string_equal(state(l, G2, 11000), "EX 2000 {}");
	v2_leave(l, H2, G2, 11500);
	expect("changed " G2, NULL);
	assert_string_equal(state(l, G2, 11500), "none");
	/* nothing more to send for it */
	run(l, 12000);
	expect_none();
	igmp_link_free(l);
}

static void test_quickleave_v3(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l;

	(void)st;
	p.quickleave = true;
	l = link_with(&p, 0);
	run(l, 0);
	nlog = 0;
	/* TO_IN({}) from the one host */
	v3(l, H1, IGMP_CHANGE_TO_EXCLUDE, G1, "", 1000);
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G1, "", 2000);
	expect("changed " G1, "changed " G1, NULL);
	assert_string_equal(state(l, G1, 2000), "none");
	/* BLOCK of one of its sources, then of the last */
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A " " B, 3000);
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G1, A, 4000);
	expect("changed " G1, "changed " G1, NULL);
	assert_string_equal(state(l, G1, 4000), "IN {198.51.100.2:259000}");
	assert_false(wants(l, G1, A, 4000));
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G1, B, 5000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 5000), "none");
	/* its TO_IN(B) from EXCLUDE: INCLUDE(B) at once */
	v3(l, H1, IGMP_CHANGE_TO_EXCLUDE, G1, C, 6000);
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G1, B, 7000);
	expect("changed " G1, "changed " G1, NULL);
	assert_string_equal(state(l, G1, 7000), "IN {198.51.100.2:260000}");
	/* BLOCK in EXCLUDE: excluded at once */
	v3(l, H1, IGMP_CHANGE_TO_EXCLUDE, G2, "", 8000);
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G2, D, 9000);
	expect("changed " G2, "changed " G2, NULL);
	assert_string_equal(state(l, G2, 9000), "EX 259000 {198.51.100.4:0}");
	/* a second host: queries again */
	v3(l, H2, IGMP_MODE_IS_EXCLUDE, G2, D, 9000);
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G2, "", 10000);
	expect("query v3 239.1.2.4 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	igmp_link_free(l);
}

/* ------------------------------------------------------------ v3 tables */

struct table_case {
	int type;
	const char *state;	/* after the record at t = 10 s */
	const char *queries[3]; /* sent, in order */
	bool changed;
};

/* INCLUDE(A) with A = {a:250 s left, d:250 s left}, record B = {a, c}:
 * A*B = {a}, B-A = {c}, A-B = {d}. RFC 3376 6.4.1 / 6.4.2. */
static const struct table_case include_cases[] = {
	{IGMP_MODE_IS_INCLUDE,
	 "IN {198.51.100.1:260000 198.51.100.3:260000 198.51.100.4:250000}",
	 {NULL},
	 true},
	{IGMP_ALLOW_NEW_SOURCES,
	 "IN {198.51.100.1:260000 198.51.100.3:260000 198.51.100.4:250000}",
	 {NULL},
	 true},
	/* EXCLUDE(A*B, B-A); (B-A)=0; Delete(A-B); GT=GMI */
	{IGMP_MODE_IS_EXCLUDE, "EX 260000 {198.51.100.1:250000 198.51.100.3:0}", {NULL}, true},
	/* ... and Send Q(G,A*B) */
	{IGMP_CHANGE_TO_EXCLUDE,
	 "EX 260000 {198.51.100.1:2000 198.51.100.3:0}",
	 {"query v3 239.1.2.3 {198.51.100.1} mrt=1000 s=0 qrv=2 qqi=125"},
	 true},
	/* INCLUDE(A+B); (B)=GMI; Send Q(G,A-B) */
	{IGMP_CHANGE_TO_INCLUDE,
	 "IN {198.51.100.1:260000 198.51.100.3:260000 198.51.100.4:2000}",
	 {"query v3 239.1.2.3 {198.51.100.4} mrt=1000 s=0 qrv=2 qqi=125"},
	 true},
	/* INCLUDE(A); Send Q(G,A*B) */
	{IGMP_BLOCK_OLD_SOURCES,
	 "IN {198.51.100.1:2000 198.51.100.4:250000}",
	 {"query v3 239.1.2.3 {198.51.100.1} mrt=1000 s=0 qrv=2 qqi=125"},
	 false},
};

static void test_include_records(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(include_cases) / sizeof(include_cases[0]); i++) {
		const struct table_case *c = &include_cases[i];
		struct igmp_link *l = link_default();

		v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A " " D, 0);
		expect("changed " G1, NULL);
		assert_string_equal(state(l, G1, 0), "IN {198.51.100.1:260000 198.51.100.4:260000}");
		v3(l, H2, c->type, G1, A " " C, 10000);
		assert_string_equal(state(l, G1, 10000), c->state);
		int k = 0;
		for (; c->queries[k]; k++)
			assert_string_equal(logs[k], c->queries[k]);
		if (c->changed)
			assert_string_equal(logs[k++], "changed " G1);
		assert_int_equal(nlog, k);
		igmp_link_free(l);
	}
}

/* EXCLUDE(X,Y) with X = {a, d} (250 s left), Y = {b, e}, group timer 250 s;
 * record A = {a, b, c}: X*A = {a}, Y*A = {b}, A-X-Y = {c}, X-A = {d},
 * Y-A = {e}. */
static const struct table_case exclude_cases[] = {
	/* EXCLUDE(X+A, Y-A); (A)=GMI */
	{IGMP_MODE_IS_INCLUDE,
	 "EX 250000 {198.51.100.1:260000 198.51.100.2:260000 198.51.100.3:260000 198.51.100.4:250000 "
	 "198.51.100.5:0}",
	 {NULL},
	 true},
	{IGMP_ALLOW_NEW_SOURCES,
	 "EX 250000 {198.51.100.1:260000 198.51.100.2:260000 198.51.100.3:260000 198.51.100.4:250000 "
	 "198.51.100.5:0}",
	 {NULL},
	 true},
	/* EXCLUDE(A-Y, Y*A); (A-X-Y)=GMI; Delete(X-A), (Y-A); GT=GMI */
	{IGMP_MODE_IS_EXCLUDE,
	 "EX 260000 {198.51.100.1:250000 198.51.100.2:0 198.51.100.3:260000}",
	 {NULL},
	 true},
	/* EXCLUDE(A-Y, Y*A); (A-X-Y)=GT; Delete(X-A), (Y-A); Send Q(G,A-Y); GT=GMI */
	{IGMP_CHANGE_TO_EXCLUDE,
	 "EX 260000 {198.51.100.1:2000 198.51.100.2:0 198.51.100.3:2000}",
	 {"query v3 239.1.2.3 {198.51.100.1 198.51.100.3} mrt=1000 s=0 qrv=2 qqi=125"},
	 true},
	/* EXCLUDE(X+A, Y-A); (A)=GMI; Send Q(G,X-A); Send Q(G) */
	{IGMP_CHANGE_TO_INCLUDE,
	 "EX 2000 {198.51.100.1:260000 198.51.100.2:260000 198.51.100.3:260000 198.51.100.4:2000 "
	 "198.51.100.5:0}",
	 {"query v3 239.1.2.3 {198.51.100.4} mrt=1000 s=0 qrv=2 qqi=125",
	  "query v3 239.1.2.3 mrt=1000 s=0 qrv=2 qqi=125"},
	 true},
	/* EXCLUDE(X+(A-X-Y), Y); (A-X-Y)=GT; Send Q(G,A-Y) */
	{IGMP_BLOCK_OLD_SOURCES,
	 "EX 250000 {198.51.100.1:2000 198.51.100.2:0 198.51.100.3:2000 198.51.100.4:250000 198.51.100.5:0}",
	 {"query v3 239.1.2.3 {198.51.100.1 198.51.100.3} mrt=1000 s=0 qrv=2 qqi=125"},
	 false},
};

static void test_exclude_records(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(exclude_cases) / sizeof(exclude_cases[0]); i++) {
		const struct table_case *c = &exclude_cases[i];
		struct igmp_link *l = link_default();

		v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A " " D, 0);
		/* INCLUDE(A) + IS_EX(B): EXCLUDE(A*B, B-A) */
		v3(l, H1, IGMP_MODE_IS_EXCLUDE, G1, A " " B " " D " " E, 0);
		expect("changed " G1, "changed " G1, NULL);
		assert_string_equal(
			state(l, G1, 0),
			"EX 260000 {198.51.100.1:260000 198.51.100.2:0 198.51.100.4:260000 198.51.100.5:0}");
		v3(l, H2, c->type, G1, A " " B " " C, 10000);
		assert_string_equal(state(l, G1, 10000), c->state);
		int k = 0;
		for (; c->queries[k]; k++)
			assert_string_equal(logs[k], c->queries[k]);
		if (c->changed)
			assert_string_equal(logs[k++], "changed " G1);
		assert_int_equal(nlog, k);
		igmp_link_free(l);
	}
}

/* As non-querier the tables apply without their Send Q actions: no
 * query, no timer lowered (RFC 3376 6.6.3: that is the querier's). */
static void test_non_querier_records(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	general_query_from(l, LOW, 0);
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, G1, B, 0);
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A, 0);
	expect("querier " LOW, "changed " G1, NULL);
	/* BLOCK: (A-X-Y) = group timer */
	v3(l, H2, IGMP_BLOCK_OLD_SOURCES, G1, A " " C, 10000);
	assert_string_equal(state(l, G1, 10000),
			    "EX 250000 {198.51.100.1:250000 198.51.100.2:0 198.51.100.3:250000}");
	/* TO_EX: (A-X-Y) = group timer, then the group timer to GMI */
	v3(l, H2, IGMP_CHANGE_TO_EXCLUDE, G1, B " " D, 20000);
	assert_string_equal(state(l, G1, 20000), "EX 260000 {198.51.100.2:0 198.51.100.4:240000}");
	/* TO_IN: no Q(G), the group timer stays */
	v3(l, H2, IGMP_CHANGE_TO_INCLUDE, G1, E, 30000);
	assert_string_equal(state(l, G1, 30000),
			    "EX 250000 {198.51.100.2:0 198.51.100.4:230000 198.51.100.5:260000}");
	/* and a v2 leave: nothing until the querier's Q(G) */
	v2_report(l, H3, G2, 30000);
	v2_leave(l, H3, G2, 31000);
	assert_string_equal(state(l, G2, 31000), "EX 259000 {}");
	/* none of the records changed what G1 forwards (Y stayed {b}) */
	expect("changed " G2, NULL);
	igmp_link_free(l);
}

/* A group with no state yet: which records create it (INCLUDE {} + X). */
static void test_records_on_no_state(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G1, A, 1000);
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G1, "", 1000);
	v3(l, H1, IGMP_MODE_IS_INCLUDE, G1, "", 1000);
	expect_none();
	assert_string_equal(state(l, G1, 1000), "none");
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G1, A, 1000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 1000), "IN {198.51.100.1:260000}");
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, G2, "", 1000);
	expect("changed " G2, NULL);
	assert_string_equal(state(l, G2, 1000), "EX 260000 {}");
	/* unknown record types are skipped (RFC 3376 4.2.12) */
	v3(l, H1, 7, G1, A, 1000);
	expect_none();
	assert_int_equal(igmp_link_stats(l)->drop_record_type, 1);
	igmp_link_free(l);
}

/* ------------------------------------------------------------ timers */

static void test_source_timers(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	/* INCLUDE: a source whose timer runs out goes; with the last, the group */
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A, 1000);
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, B, 2000);
	expect("changed " G1, "changed " G1, NULL);
	run_to(l, 261000);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", "query v3 general mrt=10000 s=0 qrv=2 qqi=125",
	       "changed " G1, NULL);
	assert_string_equal(state(l, G1, 261000), "IN {198.51.100.2:1000}");
	assert_false(wants(l, G1, A, 261000));
	assert_true(wants(l, G1, B, 261000));
	run_to(l, 262000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 262000), "none");

	/* EXCLUDE: a requested source whose timer runs out becomes excluded */
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, G2, "", 300000);
	v3(l, H2, IGMP_ALLOW_NEW_SOURCES, G2, C, 300000);
	/* H1 excludes c; c stays requested on H2's timer (IS_EX keeps X*A) */
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, G2, C, 400000);
	assert_string_equal(state(l, G2, 400000), "EX 260000 {198.51.100.3:160000}");
	assert_true(wants(l, G2, C, 400000));
	nlog = 0;
	run_to(l, 560000);
	assert_true(nlog > 0);
	assert_string_equal(logs[nlog - 1], "changed " G2);
	assert_string_equal(state(l, G2, 560000), "EX 100000 {198.51.100.3:0}");
	assert_false(wants(l, G2, C, 560000));
	assert_true(wants(l, G2, D, 560000));
	igmp_link_free(l);
}

static void test_exclude_to_include_on_expiry(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	/* X = {a} (refreshed), Y = {b}; the group timer runs out first */
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, G1, B, 1000);
	v3(l, H2, IGMP_ALLOW_NEW_SOURCES, G1, A, 1000);
	expect("changed " G1, NULL); /* ALLOW(a) in EXCLUDE: no view change (a was forwarded) */
	v3(l, H2, IGMP_ALLOW_NEW_SOURCES, G1, A, 100000);
	assert_true(wants(l, G1, C, 200000));
	assert_false(wants(l, G1, B, 200000));
	/* RFC 3376 6.5: at the group timer's end, INCLUDE with the sources still running */
	run_to(l, 261000);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", "query v3 general mrt=10000 s=0 qrv=2 qqi=125",
	       "changed " G1, NULL);
	assert_string_equal(state(l, G1, 261000), "IN {198.51.100.1:99000}");
	assert_false(wants(l, G1, C, 261000));
	assert_true(wants(l, G1, A, 261000));
	/* and the last source's end ends the group */
	run_to(l, 360000);
	expect("query v3 general mrt=10000 s=0 qrv=2 qqi=125", "changed " G1, NULL);
	assert_string_equal(state(l, G1, 360000), "none");
	igmp_link_free(l);
}

/* Q(G,S) retransmissions, with S set for a source a report raised between. */
static void test_block_retransmissions(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A " " B " " C, 1000);
	expect("changed " G1, NULL);
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G1, A " " B, 2000);
	expect("query v3 239.1.2.3 {198.51.100.1 198.51.100.2} mrt=1000 s=0 qrv=2 qqi=125", NULL);
	assert_string_equal(state(l, G1, 2000),
			    "IN {198.51.100.1:2000 198.51.100.2:2000 198.51.100.3:259000}");
	/* another host still wants b */
	v3(l, H2, IGMP_MODE_IS_INCLUDE, G1, B, 2500);
	expect_none();
	/* RFC 3376 6.6.3.2: two queries, S clear for a (<= LMQT), S set for b */
	assert_int_equal(igmp_link_deadline(l), 3000);
	run(l, 3000);
	expect("query v3 239.1.2.3 {198.51.100.1} mrt=1000 s=0 qrv=2 qqi=125",
	       "query v3 239.1.2.3 {198.51.100.2} mrt=1000 s=1 qrv=2 qqi=125", NULL);
	run(l, 4000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 4000), "IN {198.51.100.2:258500 198.51.100.3:257000}");
	run(l, 30000);
	expect_none();
	igmp_link_free(l);
}

/* A record carrying more sources than one query holds: several queries. */
static void test_big_source_query(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l;
	char list[8192];
	size_t k = 0;

	(void)st;
	p.max_sources = 400;
	l = link_with(&p, 0);
	run(l, 0);
	nlog = 0;
	for (int i = 0; i < 366; i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s10.1.%d.%d", i ? " " : "", i / 250,
				      i % 250 + 1);
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, list, 1000);
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A, 1000);
	nlog = 0;
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G1, "", 2000);
	/* 367 sources: 366 in one query, 1 in the next */
	assert_int_equal(nlog, 2);
	assert_non_null(strstr(logs[0], "{10.1.0.1 10.1.0.2 10.1.0.3 ")); /* by address */
	assert_string_equal(logs[1], "query v3 239.1.2.3 {198.51.100.1} mrt=1000 s=0 qrv=2 qqi=125");
	igmp_link_free(l);
}

/* ------------------------------------------------------------ compat */

static void test_compat_v2(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_group_info gi;

	(void)st;
	v2_report(l, H1, G1, 1000);
	expect("changed " G1, NULL);
	/* RFC 3376 7.3.2: in v2 mode, TO_EX(S) is TO_EX({}) and BLOCK is ignored */
	v3(l, H2, IGMP_CHANGE_TO_EXCLUDE, G1, A, 2000);
	v3(l, H2, IGMP_BLOCK_OLD_SOURCES, G1, B, 2000);
	v3(l, H2, IGMP_MODE_IS_EXCLUDE, G1, C, 2000);
	expect_none();
	assert_string_equal(state(l, G1, 2000), "EX 260000 {}");
	assert_true(wants(l, G1, A, 2000));
	assert_true(wants(l, G1, B, 2000));
	assert_true(wants(l, G1, C, 2000));
	assert_int_equal(igmp_link_stats(l)->ignored_compat, 1);
	/* the v3 host keeps the group; the v2 host is heard no more */
	v3(l, H2, IGMP_MODE_IS_EXCLUDE, G1, C, 200000);
	igmp_group_info(igmp_link_group_find(l, ip(G1)), 260999, &gi);
	assert_int_equal(gi.compat, 2);
	assert_int_equal(gi.v2_host_ms, 1);
	run(l, 261000);
	nlog = 0;
	igmp_group_info(igmp_link_group_find(l, ip(G1)), 261000, &gi);
	assert_int_equal(gi.compat, 3);
	assert_int_equal(gi.v2_host_ms, 0);
	/* back in v3 mode, the source list counts: TO_EX(c) queries c, and
	 * when nobody asks for it, c is excluded */
	v3(l, H2, IGMP_CHANGE_TO_EXCLUDE, G1, C, 262000);
	expect("query v3 239.1.2.3 {198.51.100.3} mrt=1000 s=0 qrv=2 qqi=125", NULL);
	assert_string_equal(state(l, G1, 262000), "EX 260000 {198.51.100.3:2000}");
	assert_true(wants(l, G1, C, 262000));
	run(l, 263000);
	expect("query v3 239.1.2.3 {198.51.100.3} mrt=1000 s=0 qrv=2 qqi=125", NULL);
	run(l, 264000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 264000), "EX 258000 {198.51.100.3:0}");
	assert_false(wants(l, G1, C, 264000));
	igmp_link_free(l);
}

static void test_compat_v1(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_group_info gi;

	(void)st;
	v1_report(l, H1, G1, 1000);
	v2_report(l, H2, G1, 1000);
	expect("changed " G1, NULL);
	igmp_group_info(igmp_link_group_find(l, ip(G1)), 1000, &gi);
	assert_int_equal(gi.compat, 1);
	assert_int_equal(gi.v1_host_ms, GMI);
	assert_int_equal(gi.nhosts, 2);
	/* v1 hosts never leave: a leave is ignored, no query */
	v2_leave(l, H2, G1, 2000);
	v3(l, H2, IGMP_BLOCK_OLD_SOURCES, G1, A, 2000);
	expect_none();
	assert_string_equal(state(l, G1, 2000), "EX 259000 {}");
	assert_int_equal(igmp_link_stats(l)->ignored_compat, 2);
	igmp_link_free(l);
}

/* A link configured for v2: RFC 2236 queries, v3 records read as v2. */
static void test_v2_querier(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l;

	(void)st;
	p.version = 2;
	l = link_with(&p, 0);
	run(l, 0);
	expect("query v2 general mrt=10000", NULL);
	v3(l, H1, IGMP_MODE_IS_INCLUDE, G1, A, 1000);
	expect("changed " G1, NULL);
	assert_string_equal(state(l, G1, 1000), "EX 260000 {}");
	assert_true(wants(l, G1, B, 1000));
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G1, A, 1500);
	expect_none();
	v3(l, H1, IGMP_CHANGE_TO_INCLUDE, G1, "", 2000);
	expect("query v2 239.1.2.3 mrt=1000", NULL);
	run(l, 3000);
	expect("query v2 239.1.2.3 mrt=1000", NULL);
	run(l, 4000);
	expect("changed " G1, NULL);
	/* a v3 querier on the link is counted for the log */
	general_query_from(l, HIGH, 5000);
	assert_int_equal(igmp_link_stats(l)->query_other_version, 1);
	igmp_link_free(l);
}

/* ------------------------------------------------------------ policy, caps */

static void test_policy(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	deny_239_255 = true;
	v2_report(l, H1, "224.0.0.251", 1000); /* mDNS: link-local, never proxied */
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, "224.0.0.252", "", 1000);
	v2_report(l, H1, "239.255.255.250", 1000); /* SSDP, refused by `allow` */
	v2_report(l, H1, "10.1.2.3", 1000);	   /* not multicast at all */
	v2_leave(l, H1, "224.0.0.251", 1000);
	expect_none();
	assert_int_equal(igmp_link_group_count(l), 0);
	assert_int_equal(igmp_link_stats(l)->drop_local, 3);
	assert_int_equal(igmp_link_stats(l)->drop_policy, 1);
	assert_int_equal(igmp_link_stats(l)->drop_bad_group, 1);
	/* 224.0.1.x is not link-local */
	v2_report(l, H1, "224.0.1.129", 1000);
	expect("changed 224.0.1.129", NULL);
	igmp_link_free(l);
}

static void test_caps(void **st)
{
	struct igmp_budget budget = {.max_groups = 4};
	struct igmp_link_params p = params();
	struct igmp_link *l1, *l2;
	char g[32];

	(void)st;
	p.max_groups = 3;
	p.max_sources = 2;
	p.budget = &budget;
	l1 = link_with(&p, 0);
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l2), 0);
	/* a flood of joins to random groups: 3 on this link */
	for (int i = 1; i <= 10; i++) {
		snprintf(g, sizeof(g), "239.9.9.%d", i);
		v2_report(l1, H1, g, 1000);
	}
	assert_int_equal(igmp_link_group_count(l1), 3);
	assert_int_equal(igmp_link_stats(l1)->drop_group_cap, 7);
	/* 4 in total: one more on the other link */
	for (int i = 1; i <= 3; i++) {
		snprintf(g, sizeof(g), "239.8.8.%d", i);
		v2_report(l2, H1, g, 1000);
	}
	assert_int_equal(igmp_link_group_count(l2), 1);
	assert_int_equal(igmp_link_stats(l2)->drop_total_cap, 2);
	assert_int_equal(budget.groups, 4);
	/* a group leaving makes room */
	nlog = 0;
	run(l1, 300000);
	assert_int_equal(budget.groups, 1);
	igmp_link_free(l2);
	assert_int_equal(budget.groups, 0);
	/* sources past max_sources are not recorded */
	v3(l1, H1, IGMP_ALLOW_NEW_SOURCES, G1, A " " B " " C, 301000);
	assert_string_equal(state(l1, G1, 301000), "IN {198.51.100.1:260000 198.51.100.2:260000}");
	assert_int_equal(igmp_link_stats(l1)->drop_source_cap, 1);
	/* ... but sources a record deletes make room: TO_EX(c) replaces them */
	v3(l1, H1, IGMP_CHANGE_TO_EXCLUDE, G1, C, 302000);
	assert_string_equal(state(l1, G1, 302000), "EX 260000 {198.51.100.3:0}");
	igmp_link_free(l1);
}

static void test_host_cap_disables_quickleave(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l;
	struct igmp_group_info gi;
	struct in_addr h;
	uint64_t left;

	(void)st;
	p.quickleave = true;
	p.max_hosts = 1;
	l = link_with(&p, 0);
	run(l, 0);
	nlog = 0;
	v2_report(l, H1, G1, 1000);
	v2_report(l, H2, G1, 1000);
	igmp_group_info(igmp_link_group_find(l, ip(G1)), 1000, &gi);
	assert_int_equal(gi.nhosts, 1);
	assert_true(gi.hosts_untracked);
	assert_true(igmp_group_host(igmp_link_group_find(l, ip(G1)), 0, 1000, &h, &left));
	assert_string_equal(str(h), H1);
	assert_int_equal(left, GMI);
	/* H1 looks alone, but someone untracked is there: the usual queries */
	nlog = 0;
	v2_leave(l, H1, G1, 2000);
	expect("query v3 239.1.2.3 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	/* a report from 0.0.0.0 (RFC 3376 4.2.13) cannot be told apart either */
	v2_report(l, H3, G2, 3000);
	v2_report(l, "0.0.0.0", G2, 3000);
	nlog = 0;
	v2_leave(l, H3, G2, 4000);
	expect("changed " G1, "query v3 239.1.2.4 mrt=1000 s=0 qrv=2 qqi=125", NULL);
	igmp_link_free(l);
}

/* ------------------------------------------------------------ forwarding */

/* RFC 3376 6.3 */
static void test_wants(void **st)
{
	struct igmp_link *l = link_default();

	(void)st;
	assert_false(wants(l, G1, A, 1000)); /* no state */
	v3(l, H1, IGMP_MODE_IS_INCLUDE, G1, A, 1000);
	assert_true(wants(l, G1, A, 1000));  /* INCLUDE, timer running */
	assert_false(wants(l, G1, B, 1000)); /* INCLUDE, not listed */
	/* read against NOW even before the timers ran */
	assert_true(wants(l, G1, A, 260999));
	assert_false(wants(l, G1, A, 261000));
	v3(l, H1, IGMP_MODE_IS_EXCLUDE, G2, B, 1000);
	v3(l, H2, IGMP_MODE_IS_INCLUDE, G2, A, 2000);
	assert_true(wants(l, G2, A, 2000));  /* EXCLUDE, timer > 0 */
	assert_false(wants(l, G2, B, 2000)); /* EXCLUDE, timer 0 */
	assert_true(wants(l, G2, C, 2000));  /* EXCLUDE, not listed */
	/* the group timer running out unprocessed: INCLUDE semantics */
	assert_true(wants(l, G2, C, 260999));
	assert_false(wants(l, G2, C, 261000));
	assert_true(wants(l, G2, A, 261000));
	igmp_link_free(l);
}

/* The upstream filter of G1 over two links (RFC 4605 4.1). */
static const char *merged(struct igmp_link *l1, struct igmp_link *l2, uint64_t now)
{
	static char out[256];
	struct igmp_link *links[2] = {l1, l2};
	struct igmp_filter f;
	char srcs[200];

	igmp_filter_init(&f);
	assert_int_equal(igmp_merge(links, 2, ip(G1), now, &f), 0);
	srcs_str(srcs, sizeof(srcs), f.srcs, f.nsrc);
	snprintf(out, sizeof(out), "%s %s", f.exclude ? "EX" : "IN", srcs);
	/* exactly what some link wants */
	const char *probe[] = {A, B, C, D, E, "198.51.100.99"};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(igmp_filter_wants(&f, ip(probe[i])),
				 wants(l1, G1, probe[i], now) || wants(l2, G1, probe[i], now));
	igmp_filter_free(&f);
	return out;
}

static void test_merge(void **st)
{
	struct igmp_link_params p = params();
	struct igmp_link *l1, *l2;

	(void)st;
	l1 = link_with(&p, 0);
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l2), 0);
	/* nothing, nothing */
	assert_string_equal(merged(l1, l2, 0), "IN {}");
	/* INCLUDE, nothing: that list */
	v3(l1, H1, IGMP_MODE_IS_INCLUDE, G1, A " " B, 0);
	assert_string_equal(merged(l1, l2, 0), "IN {198.51.100.1 198.51.100.2}");
	assert_string_equal(merged(l2, l1, 0), "IN {198.51.100.1 198.51.100.2}");
	/* INCLUDE, INCLUDE: the union */
	v3(l2, H2, IGMP_MODE_IS_INCLUDE, G1, B " " C, 0);
	assert_string_equal(merged(l1, l2, 0), "IN {198.51.100.1 198.51.100.2 198.51.100.3}");
	/* EXCLUDE, INCLUDE: the excluded minus the included */
	v3(l1, H1, IGMP_CHANGE_TO_EXCLUDE, G1, C " " D, 0);
	assert_string_equal(state(l1, G1, 0), "EX 260000 {198.51.100.3:0 198.51.100.4:0}");
	assert_string_equal(merged(l1, l2, 0), "EX {198.51.100.4}");
	assert_string_equal(merged(l2, l1, 0), "EX {198.51.100.4}");
	/* EXCLUDE, EXCLUDE: the intersection */
	v3(l2, H2, IGMP_CHANGE_TO_EXCLUDE, G1, D " " E, 0);
	assert_string_equal(merged(l1, l2, 0), "EX {198.51.100.4}");
	v3(l2, H2, IGMP_MODE_IS_EXCLUDE, G1, E, 0);
	assert_string_equal(merged(l1, l2, 0), "EX {}");
	/* EXCLUDE, nothing: that list */
	igmp_link_free(l2);
	assert_int_equal(igmp_link_new(&p, &ops, NULL, 0, &l2), 0);
	assert_string_equal(merged(l1, l2, 0), "EX {198.51.100.3 198.51.100.4}");
	/* EXCLUDE with a requested source, INCLUDE of an excluded one */
	v3(l1, H1, IGMP_ALLOW_NEW_SOURCES, G1, A, 0);
	v3(l2, H2, IGMP_ALLOW_NEW_SOURCES, G1, C, 0);
	assert_string_equal(merged(l1, l2, 0), "EX {198.51.100.4}");
	/* the filter of one link */
	struct igmp_filter f, g;
	igmp_filter_init(&f);
	igmp_filter_init(&g);
	assert_int_equal(igmp_link_filter(l1, ip(G1), 0, &f), 0);
	assert_true(f.exclude);
	assert_int_equal(f.nsrc, 2);
	assert_int_equal(igmp_link_filter(l1, ip(G1), 0, &g), 0);
	assert_true(igmp_filter_equal(&f, &g));
	assert_int_equal(igmp_link_filter(l2, ip(G1), 0, &g), 0);
	assert_false(igmp_filter_equal(&f, &g));
	assert_false(g.exclude);
	assert_int_equal(g.nsrc, 1);
	igmp_filter_free(&f);
	igmp_filter_free(&g);
	igmp_link_free(l1);
	igmp_link_free(l2);
}

/* ------------------------------------------------------------ view, reload */

static void test_view(void **st)
{
	struct igmp_link *l = link_default();
	const struct igmp_group *g;
	struct igmp_group_info gi;
	struct igmp_source_info si;
	struct igmp_querier_info qi;
	int seen = 0;

	(void)st;
	v2_report(l, H1, G1, 1000);
	v3(l, H2, IGMP_MODE_IS_EXCLUDE, G2, A, 2000);
	v3(l, H3, IGMP_ALLOW_NEW_SOURCES, "239.7.7.7", B, 3000);
	for (g = igmp_link_group_next(l, NULL); g; g = igmp_link_group_next(l, g)) {
		igmp_group_info(g, 10000, &gi);
		seen |= 1 << (ntohl(gi.group.s_addr) & 7);
	}
	assert_int_equal(seen, (1 << 3) | (1 << 4) | (1 << 7));
	assert_int_equal(igmp_link_group_count(l), 3);
	igmp_group_info(igmp_link_group_find(l, ip(G2)), 10000, &gi);
	assert_true(gi.exclude);
	assert_int_equal(gi.compat, 3);
	assert_int_equal(gi.expires_ms, 252000);
	assert_int_equal(gi.nsrc, 1);
	assert_int_equal(gi.nhosts, 1);
	assert_false(gi.hosts_untracked);
	assert_true(igmp_group_source(igmp_link_group_find(l, ip(G2)), 0, 10000, &si));
	assert_string_equal(str(si.addr), A);
	assert_int_equal(si.expires_ms, 0);
	assert_false(si.forwarded);
	assert_false(igmp_group_source(igmp_link_group_find(l, ip(G2)), 1, 10000, &si));
	igmp_group_info(igmp_link_group_find(l, ip("239.7.7.7")), 10000, &gi);
	assert_false(gi.exclude);
	assert_int_equal(gi.expires_ms, 253000); /* INCLUDE: the longest source timer */
	assert_true(igmp_group_source(igmp_link_group_find(l, ip("239.7.7.7")), 0, 10000, &si));
	assert_true(si.forwarded);
	igmp_link_querier(l, 10000, &qi);
	assert_true(qi.us);
	assert_int_equal(qi.next_query_ms, 21250);
	assert_int_equal(qi.robustness, 2);
	assert_int_equal(qi.query_interval_ms, 125000);
	/* forget: the state goes and the glue hears it */
	nlog = 0;
	igmp_link_forget(l, ip(G1));
	expect("changed " G1, NULL);
	assert_int_equal(igmp_link_group_count(l), 2);
	igmp_link_free(l);
}

static void test_reconfigure(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_link_params p = params();
	struct igmp_querier_info qi;

	(void)st;
	v2_report(l, H1, G1, 1000);
	general_query_from(l, LOW, 2000);
	expect("changed " G1, "querier " LOW, NULL);
	/* bad params are refused, the link unchanged */
	p.version = 4;
	assert_int_equal(igmp_link_reconfigure(l, &p, 3000), -EINVAL);
	/* an address below the other querier's: we are querier now */
	p = params();
	p.addr = ip("10.0.0.1");
	p.query_interval_ms = 60000;
	assert_int_equal(igmp_link_reconfigure(l, &p, 3000), 0);
	expect("querier us", "query v3 general mrt=10000 s=0 qrv=2 qqi=60", NULL);
	igmp_link_querier(l, 3000, &qi);
	assert_true(qi.us);
	assert_int_equal(qi.next_query_ms, 60000);
	/* the groups stay */
	assert_string_equal(state(l, G1, 3000), "EX 258000 {}");
	/* the old querier's queries no longer win */
	general_query_from(l, LOW, 4000);
	expect_none();
	igmp_link_free(l);
}

/* Q(G,S) pending when a reload makes the link v2: dropped, not left due */
static void test_reconfigure_to_v2(void **st)
{
	struct igmp_link *l = link_default();
	struct igmp_link_params p = params();

	(void)st;
	v3(l, H1, IGMP_ALLOW_NEW_SOURCES, G1, A, 1000);
	v3(l, H1, IGMP_BLOCK_OLD_SOURCES, G1, A, 2000);
	expect("changed " G1, "query v3 239.1.2.3 {198.51.100.1} mrt=1000 s=0 qrv=2 qqi=125", NULL);
	p.version = 2;
	assert_int_equal(igmp_link_reconfigure(l, &p, 2500), 0);
	check(l);
	assert_int_equal(run(l, 3000), 4000);
	expect_none();
	run(l, 4000);
	expect("changed " G1, NULL);
	igmp_link_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_startup_queries),
		cmocka_unit_test(test_startup_robustness_3),
		cmocka_unit_test(test_election),
		cmocka_unit_test(test_election_adopts_timers),
		cmocka_unit_test(test_query_ignored),
		cmocka_unit_test(test_foreign_specific_queries),
		cmocka_unit_test(test_v2_join_leave),
		cmocka_unit_test(test_v2_leave_answered),
		cmocka_unit_test(test_quickleave),
		cmocka_unit_test(test_quickleave_v3),
		cmocka_unit_test(test_include_records),
		cmocka_unit_test(test_exclude_records),
		cmocka_unit_test(test_non_querier_records),
		cmocka_unit_test(test_records_on_no_state),
		cmocka_unit_test(test_source_timers),
		cmocka_unit_test(test_exclude_to_include_on_expiry),
		cmocka_unit_test(test_block_retransmissions),
		cmocka_unit_test(test_big_source_query),
		cmocka_unit_test(test_compat_v2),
		cmocka_unit_test(test_compat_v1),
		cmocka_unit_test(test_v2_querier),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_host_cap_disables_quickleave),
		cmocka_unit_test(test_wants),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_reconfigure),
		cmocka_unit_test(test_reconfigure_to_v2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
