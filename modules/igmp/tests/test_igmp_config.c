/* test_igmp_config.c — the igmp-proxy section: the golden files of
 * modules/igmp/tests/config (run from the source root), the typed values
 * and defaults, the links and their rules, the allow lookup (against a
 * plain scan), the derived timers, the hostile-file bounds, and
 * etc/homegw.conf and etc/lab.conf.
 *
 * The other modules are stand-ins that accept their sections (their
 * configure is not linked here), so an interface only they name is
 * reported unused.
 *
 * GOLDEN_UPDATE=1 rewrites every .err file from what the code says now:
 * for adding a golden file, then reading the diff before committing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_config.h"
#include "golden.h"
#include "igmp_config.h"
#include "module.h"

#define GOLDEN_DIR "modules/igmp/tests/config/"

/* ---- module tables ---- */

static const struct gw_module igmp_mod = {
	.name = "igmp", .sections = golden_sections_igmp, .configure = igmp_configure,
	.free_config = igmp_config_free};
/* main.c's order */
static const struct gw_module *const table[] = {&golden_dhcp, &golden_dns, &golden_nat, &igmp_mod};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* ---- golden files ---- */

static bool has_igmp_config(const char *conf, const struct gw_config *cfg)
{
	if (gw_config_module(cfg, &igmp_mod))
		return true;
	print_error("%s: no igmp config\n", conf);
	return false;
}

static const struct golden_suite golden = {GOLDEN_DIR, table, NTABLE, has_igmp_config};

static void test_golden(void **state)
{
	golden_run(&golden, 25);
}

static void test_golden_no_orphans(void **state)
{
	golden_no_orphans(GOLDEN_DIR);
}

/* ---- helpers ---- */

static struct gw_config *load_text(const char *text, struct cf_errors *e)
{
	return golden_load_text(table, NTABLE, text, e);
}

/* TEXT must fail with exactly WANT. */
static void expect_fail(const char *text, const char *want)
{
	golden_expect_fail(table, NTABLE, text, want);
}

struct loaded {
	struct gw_config *cfg;
	const struct igmp_config *ic;
};

/* TEXT must load with exactly the warnings WANT ("" for none). */
static struct loaded load_warn(const char *text, const char *want)
{
	struct loaded l;

	l.ic = golden_load_module(table, NTABLE, &igmp_mod, text, want, &l.cfg);
	return l;
}

static struct loaded load_ok(const char *text)
{
	return load_warn(text, "");
}

static void done(struct loaded *l)
{
	gw_config_free(l->cfg);
}

static bool allowed(const struct igmp_config *ic, const char *group)
{
	return igmp_config_allowed(ic, golden_ip(group));
}

static void assert_link(const struct igmp_iface *k, const char *iface, const char *device, int line, int col)
{
	assert_string_equal(k->iface, iface);
	assert_string_equal(k->device, device);
	assert_int_equal(k->pos.line, line);
	assert_int_equal(k->pos.col, col);
}

#define WAN "interface wan { device eth0 }\n"
#define LAN "interface lan { device br-lan }\n"
#define GUEST "interface guest { device br-guest }\n"
#define IFACES WAN LAN GUEST

/* ---- absent, defaults ---- */

static void test_absent(void **state)
{
	struct loaded l = load_warn(WAN, "warning: t.conf:1:1: interface wan: not used by any section\n");

	/* no section: the module does not run */
	assert_null(l.ic);
	assert_false(igmp_config_allowed(l.ic, golden_ip("239.1.2.3")));
	done(&l);
}

static void test_defaults(void **state)
{
	struct loaded l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan }\n");
	const struct igmp_config *ic = l.ic;

	assert_non_null(ic);
	assert_link(&ic->upstream, "wan", "eth0", 3, 23);
	assert_int_equal(ic->ndownstream, 1);
	assert_link(&ic->downstream[0], "lan", "br-lan", 3, 39);
	assert_int_equal(ic->version, 3);
	assert_false(ic->quickleave);
	assert_int_equal(ic->nallow, 0);
	assert_int_equal(ic->nallow_ranges, 1);
	assert_int_equal(ic->allow_ranges[0].first, 0xe0000000);
	assert_int_equal(ic->allow_ranges[0].last, 0xefffffff);
	assert_int_equal(ic->query_interval, 125);
	assert_int_equal(ic->last_member_interval, 1);
	assert_int_equal(ic->robustness, 2);
	/* both links are ours: no "not used" warning, and marked */
	assert_true(gw_config_iface(l.cfg, "wan")->used);
	assert_true(gw_config_iface(l.cfg, "lan")->used);
	done(&l);
}

/* The default allow: all of 224.0.0.0/4 but 224.0.0.0/24. */
static void test_default_allowed(void **state)
{
	struct loaded l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan }\n");
	const struct igmp_config *ic = l.ic;

	assert_false(allowed(ic, "0.0.0.0"));
	assert_false(allowed(ic, "223.255.255.255"));
	assert_false(allowed(ic, "224.0.0.0"));
	assert_false(allowed(ic, "224.0.0.1"));
	assert_false(allowed(ic, "224.0.0.22"));
	assert_false(allowed(ic, "224.0.0.251"));
	assert_false(allowed(ic, "224.0.0.255"));
	assert_true(allowed(ic, "224.0.1.0"));
	assert_true(allowed(ic, "224.0.1.1"));
	assert_true(allowed(ic, "232.1.1.1"));
	assert_true(allowed(ic, "239.255.255.250"));
	assert_true(allowed(ic, "239.255.255.255"));
	assert_false(allowed(ic, "240.0.0.0"));
	assert_false(allowed(ic, "255.255.255.255"));
	assert_false(allowed(ic, "10.0.0.1"));
	assert_false(igmp_config_allowed(NULL, golden_ip("239.1.2.3")));
	done(&l);
}

/* ---- values ---- */

static void test_values(void **state)
{
	struct loaded l = load_ok(IFACES "igmp-proxy {\n"
					 "\tdownstream guest\n" /* before the upstream: still compared */
					 "\tupstream wan\n"
					 "\tdownstream lan\n"
					 "\tversion 2\n"
					 "\tquickleave yes\n"
					 "\tallow 239.0.0.0/8\n"
					 "\tallow 232.0.0.0/8\n"
					 "\tallow 224.0.1.1\n"
					 "\tquery-interval 1m\n"
					 "\tlast-member-interval 2s\n"
					 "\trobustness 3\n"
					 "}\n");
	const struct igmp_config *ic = l.ic;

	assert_link(&ic->upstream, "wan", "eth0", 6, 11);
	assert_int_equal(ic->ndownstream, 2);
	/* file order */
	assert_link(&ic->downstream[0], "guest", "br-guest", 5, 13);
	assert_link(&ic->downstream[1], "lan", "br-lan", 7, 13);
	assert_int_equal(ic->version, 2);
	assert_true(ic->quickleave);
	assert_int_equal(ic->nallow, 3);
	golden_assert_ip(ic->allow[0].net, "239.0.0.0");
	assert_int_equal(ic->allow[0].len, 8);
	assert_int_equal(ic->allow[0].pos.line, 10);
	assert_int_equal(ic->allow[0].pos.col, 8);
	golden_assert_ip(ic->allow[1].net, "232.0.0.0");
	assert_int_equal(ic->allow[1].len, 8);
	golden_assert_ip(ic->allow[2].net, "224.0.1.1");
	assert_int_equal(ic->allow[2].len, 32);
	/* sorted */
	assert_int_equal(ic->nallow_ranges, 3);
	assert_int_equal(ic->allow_ranges[0].first, 0xe0000101);
	assert_int_equal(ic->allow_ranges[0].last, 0xe0000101);
	assert_int_equal(ic->allow_ranges[1].first, 0xe8000000);
	assert_int_equal(ic->allow_ranges[1].last, 0xe8ffffff);
	assert_int_equal(ic->allow_ranges[2].first, 0xef000000);
	assert_int_equal(ic->allow_ranges[2].last, 0xefffffff);
	assert_int_equal(ic->query_interval, 60);
	assert_int_equal(ic->last_member_interval, 2);
	assert_int_equal(ic->robustness, 3);
	assert_true(allowed(ic, "224.0.1.1"));
	assert_false(allowed(ic, "224.0.1.2"));
	assert_false(allowed(ic, "224.0.1.0"));
	assert_true(allowed(ic, "232.5.5.5"));
	assert_false(allowed(ic, "233.0.0.0"));
	assert_false(allowed(ic, "238.255.255.255"));
	assert_true(allowed(ic, "239.0.0.0"));
	done(&l);
}

/* The bounds themselves load; one past them does not. */
static void test_bounds(void **state)
{
	struct loaded l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan; query-interval 11s; "
					  "last-member-interval 25s; robustness 7 }\n");

	assert_int_equal(l.ic->query_interval, 11);
	assert_int_equal(l.ic->last_member_interval, 25);
	assert_int_equal(l.ic->robustness, 7);
	done(&l);
	l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan; query-interval 31744; "
			    "last-member-interval 1s; version 3 }\n");
	assert_int_equal(l.ic->query_interval, IGMP_QUERY_INTERVAL_MAX);
	assert_int_equal(l.ic->last_member_interval, 1);
	done(&l);
	expect_fail(WAN LAN "igmp-proxy { upstream wan; downstream lan; query-interval 10s; "
			    "last-member-interval 26s; robustness 8 }\n",
		    "t.conf:3:59: igmp-proxy: query-interval: \"10s\" is out of range (11s to 31744s)\n"
		    "t.conf:3:85: igmp-proxy: last-member-interval: \"26s\" is out of range (1s to 25s)\n"
		    "t.conf:3:101: igmp-proxy: robustness: \"8\" is not a number from 1 to 7\n");
	expect_fail(WAN LAN "igmp-proxy { upstream wan; downstream lan; query-interval 31745s; "
			    "last-member-interval 0s; robustness 0 }\n",
		    "t.conf:3:59: igmp-proxy: query-interval: \"31745s\" is out of range (11s to 31744s)\n"
		    "t.conf:3:88: igmp-proxy: last-member-interval: \"0s\" is out of range (1s to 25s)\n"
		    "t.conf:3:103: igmp-proxy: robustness: \"0\" is not a number from 1 to 7\n");
	/* a duration far past 64 bits is not one; 9w is one, far out of range */
	expect_fail(WAN LAN
		    "igmp-proxy { upstream wan; downstream lan; query-interval 99999999999999999999999s; "
		    "last-member-interval 9w }\n",
		    "t.conf:3:59: igmp-proxy: query-interval: \"99999999999999999999999s\" is not a duration "
		    "(a number with s, m, h, d or w: 90s, 12h, 1d)\n"
		    "t.conf:3:106: igmp-proxy: last-member-interval: \"9w\" is out of range (1s to 25s)\n");
}

/* RFC 3376 8.1: 1 is allowed, but said. */
static void test_robustness_one(void **state)
{
	struct loaded l =
		load_warn(WAN LAN "igmp-proxy { upstream wan; downstream lan; robustness 1 }\n",
			  "warning: t.conf:3:55: igmp-proxy: robustness: 1 leaves no room for a lost "
			  "packet (RFC 3376 8.1: should not be 1)\n");

	assert_int_equal(l.ic->robustness, 1);
	done(&l);
}

/* RFC 3376 8.4-8.7, 8.14 with the configured values. */
static void test_timers(void **state)
{
	struct loaded l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan }\n");

	assert_int_equal(igmp_config_gmi_ms(l.ic), 260000);	      /* 2 * 125 + 10 */
	assert_int_equal(igmp_config_other_querier_ms(l.ic), 255000); /* 2 * 125 + 5 */
	assert_int_equal(igmp_config_startup_interval_ms(l.ic), 31250);
	assert_int_equal(igmp_config_last_member_time_ms(l.ic), 2000);
	done(&l);
	l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan; query-interval 31744s; robustness 7; "
			    "last-member-interval 25s }\n");
	assert_int_equal(igmp_config_gmi_ms(l.ic), (7ull * 31744 + 10) * 1000);
	assert_int_equal(igmp_config_other_querier_ms(l.ic), 7ull * 31744 * 1000 + 5000);
	assert_int_equal(igmp_config_startup_interval_ms(l.ic), 7936000);
	assert_int_equal(igmp_config_last_member_time_ms(l.ic), 175000);
	done(&l);
}

/* ---- the links ---- */

/* A downstream named before the upstream is compared with it all the same. */
static void test_downstream_before_upstream(void **state)
{
	expect_fail(IFACES "interface wan2 { device eth0 }\n"
			   "igmp-proxy {\n"
			   "\tdownstream wan\n"
			   "\tdownstream wan2\n"
			   "\tdownstream lan\n"
			   "\tupstream wan\n"
			   "}\n",
		    "t.conf:6:13: igmp-proxy: downstream: \"wan\" is the upstream (line 9)\n"
		    "t.conf:7:13: igmp-proxy: downstream: \"wan2\" is device eth0, the upstream's (\"wan\", "
		    "line 9)\n");
}

/* An undefined upstream has its error; the downstreams are still read. */
static void test_upstream_unknown(void **state)
{
	expect_fail(
		LAN GUEST
		"igmp-proxy { upstream uplink; downstream lan; downstream guest; downstream lan }\n",
		"t.conf:3:23: igmp-proxy: upstream: unknown interface \"uplink\" (define it: interface uplink { "
		"device DEV })\n"
		"t.conf:3:76: igmp-proxy: downstream: \"lan\" is given more than once (first at line 3)\n");
}

/* An interface without a device has the core's error only. */
static void test_no_device(void **state)
{
	struct cf_errors e;

	assert_null(load_text("interface wan { }\n" LAN "igmp-proxy { upstream wan; downstream lan }\n", &e));
	assert_int_equal(e.nerrors, 1);
	assert_non_null(strstr(e.errors[0], "t.conf:1:1: interface wan: missing \"device DEV\""));
	cf_errors_free(&e);
}

/* The ones named elsewhere only are not ours to mark. */
static void test_used(void **state)
{
	struct loaded l = load_warn(IFACES "igmp-proxy { upstream wan; downstream guest }\n",
				    "warning: t.conf:2:1: interface lan: not used by any section\n");

	assert_true(gw_config_iface(l.cfg, "wan")->used);
	assert_true(gw_config_iface(l.cfg, "guest")->used);
	assert_false(gw_config_iface(l.cfg, "lan")->used);
	done(&l);
}

/* ---- allow ---- */

/* Overlapping and adjacent prefixes merge; one covering 224.0.0.0/24 is
 * fine, the block is left out all the same. */
static void test_allow_merge(void **state)
{
	struct loaded l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan\n"
					  "allow 239.1.0.0/16; allow 239.0.0.0/8; allow 239.2.3.4\n"
					  "allow 232.0.0.0/9; allow 232.128.0.0/9\n"
					  "allow 224.0.0.0/23\n"
					  "allow 224.1.0.0/16; allow 224.2.0.0/16\n"
					  "}\n");
	const struct igmp_config *ic = l.ic;

	assert_int_equal(ic->nallow, 8);
	assert_int_equal(ic->nallow_ranges, 4);
	assert_int_equal(ic->allow_ranges[0].first, 0xe0000000);
	assert_int_equal(ic->allow_ranges[0].last, 0xe00001ff);
	assert_int_equal(ic->allow_ranges[1].first, 0xe0010000);
	assert_int_equal(ic->allow_ranges[1].last, 0xe002ffff);
	assert_int_equal(ic->allow_ranges[2].first, 0xe8000000);
	assert_int_equal(ic->allow_ranges[2].last, 0xe8ffffff);
	assert_int_equal(ic->allow_ranges[3].first, 0xef000000);
	assert_int_equal(ic->allow_ranges[3].last, 0xefffffff);
	assert_false(allowed(ic, "224.0.0.1"));
	assert_false(allowed(ic, "224.0.0.255"));
	assert_true(allowed(ic, "224.0.1.0"));
	assert_true(allowed(ic, "224.0.1.255"));
	assert_false(allowed(ic, "224.0.2.0"));
	assert_false(allowed(ic, "224.0.255.255"));
	assert_true(allowed(ic, "224.1.0.0"));
	assert_true(allowed(ic, "224.2.255.255"));
	assert_false(allowed(ic, "224.3.0.0"));
	assert_true(allowed(ic, "232.127.255.255"));
	assert_true(allowed(ic, "232.128.0.0"));
	assert_false(allowed(ic, "233.0.0.0"));
	assert_true(allowed(ic, "239.2.3.4"));
	done(&l);

	/* all of 224/4 explicitly: the default, and the block still out */
	l = load_ok(WAN LAN "igmp-proxy { upstream wan; downstream lan; allow 224.0.0.0/4 }\n");
	assert_int_equal(l.ic->nallow_ranges, 1);
	assert_false(allowed(l.ic, "224.0.0.22"));
	assert_true(allowed(l.ic, "224.0.1.0"));
	assert_true(allowed(l.ic, "239.255.255.255"));
	assert_false(allowed(l.ic, "240.0.0.0"));
	done(&l);
}

/* Many single groups and prefixes, against a scan of the file's list. */
static void test_allow_lookup_many(void **state)
{
	size_t cap = 128 * 1024, len;
	char *text = malloc(cap);
	uint32_t first[IGMP_MAX_ALLOW], last[IGMP_MAX_ALLOW];
	struct loaded l;

	assert_non_null(text);
	len = (size_t)sprintf(text, WAN LAN "igmp-proxy {\nupstream wan\ndownstream lan\n");
	for (unsigned i = 0; i < IGMP_MAX_ALLOW; i++) {
		/* spread over 224.1/16..239/8, widths /32 to /22, some overlapping */
		unsigned plen = 22 + i % 11;
		uint32_t net = (0xe0010000u + i * 2654435761u % 0x0fff0000u) & (~0u << (32 - plen));

		first[i] = net;
		last[i] = net | ~(~0u << (32 - plen));
		len += (size_t)sprintf(text + len, "allow %u.%u.%u.%u/%u\n", net >> 24, net >> 16 & 255,
				       net >> 8 & 255, net & 255, plen);
	}
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.ic->nallow, IGMP_MAX_ALLOW);
	assert_true(l.ic->nallow_ranges > 500);
	for (size_t i = 1; i < l.ic->nallow_ranges; i++)
		assert_true(l.ic->allow_ranges[i].first > l.ic->allow_ranges[i - 1].last + 1);
	/* every range's edges and both neighbours, and a sweep */
	for (unsigned i = 0; i < IGMP_MAX_ALLOW * 4 + 4096; i++) {
		uint32_t x = i < IGMP_MAX_ALLOW * 4 ?
				     (i & 2 ? last[i / 4] : first[i / 4]) + (i & 1 ? 1 : -1) :
				     0xe0000000u + (i - IGMP_MAX_ALLOW * 4) * 0x10000u + i;
		bool want = false;

		for (unsigned k = 0; k < IGMP_MAX_ALLOW && !want; k++)
			want = x >= first[k] && x <= last[k];
		want = want && x > 0xe00000ffu && x <= 0xefffffffu;
		assert_int_equal(igmp_config_allowed(l.ic, (struct in_addr){htonl(x)}), want);
	}
	done(&l);
	free(text);
}

/* ---- hostile files ---- */

static void test_downstream_cap(void **state)
{
	size_t len = 0;
	char *text = malloc(8192);
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	len += (size_t)sprintf(text + len, WAN);
	for (int i = 0; i <= IGMP_MAX_DOWNSTREAM; i++)
		len += (size_t)sprintf(text + len, "interface l%d { device br%d }\n", i, i);
	len += (size_t)sprintf(text + len, "igmp-proxy {\nupstream wan\n");
	for (int i = 0; i < IGMP_MAX_DOWNSTREAM; i++)
		len += (size_t)sprintf(text + len, "downstream l%d\n", i);
	sprintf(text + len, "}\n");
	/* l31 is nobody's */
	l = load_warn(text, "warning: t.conf:33:1: interface l31: not used by any section\n");
	assert_int_equal(l.ic->ndownstream, IGMP_MAX_DOWNSTREAM);
	assert_string_equal(l.ic->downstream[30].device, "br30");
	done(&l);
	sprintf(text + len, "downstream l31\ndownstream l31\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:67:12: igmp-proxy: downstream: too many (at most 31)\n");
	cf_errors_free(&e);
	free(text);
}

static void test_allow_cap(void **state)
{
	size_t len;
	char *text = malloc(65536);
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	len = (size_t)sprintf(text, WAN LAN "igmp-proxy {\nupstream wan\ndownstream lan\n");
	for (int i = 0; i < IGMP_MAX_ALLOW; i++)
		len += (size_t)sprintf(text + len, "allow 239.%d.%d.0/24\n", i >> 8, i & 255);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.ic->nallow, IGMP_MAX_ALLOW);
	/* 239.0.0.0 - 239.3.255.255 in one */
	assert_int_equal(l.ic->nallow_ranges, 1);
	assert_true(allowed(l.ic, "239.3.255.255"));
	assert_false(allowed(l.ic, "239.4.0.0"));
	done(&l);
	sprintf(text + len, "allow 238.0.0.0/8\nallow 237.0.0.0/8\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:1030:7: igmp-proxy: allow: too many (at most 1024)\n");
	cf_errors_free(&e);
	free(text);
}

/* Only the first igmp-proxy section is read; the second is the core's error. */
static void test_two_sections(void **state)
{
	expect_fail(WAN LAN "igmp-proxy { upstream wan; downstream lan }\n"
			    "igmp-proxy { upstream lan; version 4 }\n",
		    "t.conf:4:1: igmp-proxy: duplicate section (first at line 3)\n");
}

/* ---- the example files ---- */

/* No error; every warning is an interface only the stand-ins would use. */
static struct gw_config *load_file(const char *path)
{
	struct cf_errors e;
	struct gw_config *cfg;

	cf_errors_init(&e);
	cfg = gw_config_load(path, table, NTABLE, &e);
	if (!cfg || e.nerrors)
		golden_expect_lines(&e, "");
	assert_non_null(cfg);
	for (size_t i = 0; i < e.nwarnings; i++)
		assert_non_null(strstr(e.warnings[i], ": not used by any section"));
	cf_errors_free(&e);
	return cfg;
}

/* The last address of P (len is 4 or more: multicast). */
static struct in_addr prefix_last(const struct igmp_prefix *p)
{
	return (struct in_addr){p->net.s_addr | htonl(0xffffffffu >> p->len)};
}

static size_t count_allow(const struct cf_node *sec)
{
	size_t n = 0;

	for (const struct cf_node *k = sec->children; k; k = k->next)
		n += strcmp(k->keyword, "allow") == 0;
	return n;
}

/* What the example's comments say it does. */
static void test_example_config(void **state)
{
	struct gw_config *cfg = load_file("etc/homegw.conf");
	const struct cf_node *sec = cf_find(cfg->tree->root, "igmp-proxy");
	const struct igmp_config *ic = gw_config_module(cfg, &igmp_mod);

	assert_non_null(sec);
	assert_non_null(ic);
	assert_string_equal(ic->upstream.iface, "wan");
	assert_true(ic->ndownstream >= 1);
	assert_string_equal(ic->downstream[0].iface, "lan");
	for (size_t i = 0; i < ic->ndownstream; i++)
		assert_string_not_equal(ic->downstream[i].device, ic->upstream.device);
	assert_int_equal(ic->version, 3);
	assert_int_equal(ic->query_interval, 125);
	assert_int_equal(ic->last_member_interval, 1);
	assert_int_equal(ic->robustness, 2);
	/* every allow line was taken and reaches past 224.0.0.0/24, which never is */
	assert_int_equal(ic->nallow, count_allow(sec));
	for (size_t i = 0; i < ic->nallow; i++)
		assert_true(igmp_config_allowed(ic, prefix_last(&ic->allow[i])));
	assert_false(allowed(ic, "224.0.0.251"));
	gw_config_free(cfg);
}

/* The lab's file: an igmp-proxy section when the lab runs the proxy, else none. */
static void test_lab_config(void **state)
{
	struct gw_config *cfg = load_file("etc/lab.conf");
	const struct igmp_config *ic = gw_config_module(cfg, &igmp_mod);

	if (cf_find(cfg->tree->root, "igmp-proxy")) {
		assert_non_null(ic);
		assert_string_equal(ic->upstream.device, "veth-wan");
		assert_true(ic->ndownstream >= 1);
		assert_string_equal(ic->downstream[0].device, "veth-lan");
	} else {
		assert_null(ic);
	}
	gw_config_free(cfg);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_no_orphans),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_allowed),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_robustness_one),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_downstream_before_upstream),
		cmocka_unit_test(test_upstream_unknown),
		cmocka_unit_test(test_no_device),
		cmocka_unit_test(test_used),
		cmocka_unit_test(test_allow_merge),
		cmocka_unit_test(test_allow_lookup_many),
		cmocka_unit_test(test_downstream_cap),
		cmocka_unit_test(test_allow_cap),
		cmocka_unit_test(test_two_sections),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_lab_config),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
