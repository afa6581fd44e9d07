/* test_dhcp_config.c — the dhcp and dhcp-relay sections: the golden files of
 * modules/dhcp/tests/config (run from the source root), the typed values
 * and defaults, option encodings, reservations and the run-time lookups,
 * the dns section's say in the defaults, the hostile-file bounds, and
 * etc/homegw.conf.
 *
 * GOLDEN_UPDATE=1 rewrites every .err file from what the code says now:
 * for adding a golden file, then reading the diff before committing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_config.h"
#include "dhcp_config.h"
#include "module.h"
#include "golden.h"

#define GOLDEN_DIR "modules/dhcp/tests/config/"

/* ---- module tables ---- */

static const struct gw_module dhcp_mod = {
	.name = "dhcp", .sections = golden_sections_dhcp, .configure = dhcp_configure,
	.free_config = dhcp_config_free};

/* the golden files: dns, nat and igmp planned (not built) as in main.c */
static const struct gw_module planned[] = {
	{.name = "dns", .sections = golden_sections_dns},
	{.name = "nat", .sections = golden_sections_nat},
	{.name = "igmp", .sections = golden_sections_igmp},
};
static const struct gw_module *const golden_table[] = {&dhcp_mod, &planned[0], &planned[1], &planned[2]};
#define NGOLDEN (sizeof(golden_table) / sizeof(golden_table[0]))

/* unit tests: the others accept anything, so a dns section can steer the defaults */
static const struct gw_module *const fake_table[] = {&dhcp_mod, &golden_dns, &golden_nat, &golden_igmp};
#define NFAKE (sizeof(fake_table) / sizeof(fake_table[0]))

/* ---- golden files ---- */

static bool has_dhcp_config(const char *conf, const struct gw_config *cfg)
{
	if (gw_config_module(cfg, &dhcp_mod))
		return true;
	print_error("%s: no dhcp config\n", conf);
	return false;
}

static const struct golden_suite golden = {GOLDEN_DIR, golden_table, NGOLDEN, has_dhcp_config};

static void test_golden(void **state)
{
	golden_run(&golden, 15);
}

static void test_golden_no_orphans(void **state)
{
	golden_no_orphans(GOLDEN_DIR);
}

/* ---- helpers ---- */

static struct gw_config *load_text(const char *text, struct cf_errors *e)
{
	return golden_load_text(fake_table, NFAKE, text, e);
}


/* TEXT must fail with exactly WANT. */
static void expect_fail(const char *text, const char *want)
{
	golden_expect_fail(fake_table, NFAKE, text, want);
}

/* TEXT must load (without warnings); the caller frees with done(). */
struct loaded {
	struct gw_config *cfg;
	const struct dhcp_config *dc;
};

static struct loaded load_ok(const char *text)
{
	struct loaded l;

	l.dc = golden_load_module(fake_table, NFAKE, &dhcp_mod, text, "", &l.cfg);
	return l;
}

static void done(struct loaded *l)
{
	gw_config_free(l->cfg);
}

#define LAN "interface lan { device br-lan }\n"
#define GUEST "interface guest { device br-guest }\n"

/* ---- absent, defaults ---- */

static void test_absent(void **state)
{
	struct loaded l = load_ok("dns { listen lan }\n");

	assert_null(l.dc);
	done(&l);
	l = load_ok("# nothing\n");
	assert_null(l.dc);
	done(&l);
}

static void test_local_defaults(void **state)
{
	struct loaded l = load_ok(LAN "dhcp lan { pool 192.168.1.100 192.168.1.250 }\n");
	const struct dhcp_scope *s;

	assert_non_null(l.dc);
	assert_int_equal(l.dc->nscopes, 1);
	assert_int_equal(l.dc->nrelays, 0);
	assert_string_equal(l.dc->local_domain, "home.arpa");
	s = &l.dc->scopes[0];
	assert_int_equal(s->kind, DHCP_SCOPE_LOCAL);
	assert_string_equal(s->name, "lan");
	assert_string_equal(s->iface, "lan");
	assert_string_equal(s->device, "br-lan");
	assert_int_equal(s->pos.line, 2);
	assert_int_equal(s->npools, 1);
	golden_assert_ip(s->pools[0].first, "192.168.1.100");
	golden_assert_ip(s->pools[0].last, "192.168.1.250");
	assert_int_equal(s->lease_time, 12 * 3600);
	assert_true(s->router_default);
	assert_int_equal(s->nrouters, 0);
	/* no dns section: no resolver of ours to announce */
	assert_int_equal(s->dns_mode, DHCP_DNS_NONE);
	assert_int_equal(s->ndns_servers, 0);
	assert_null(s->domain);
	assert_int_equal(s->nntp_servers, 0);
	assert_int_equal(s->mtu, 0);
	assert_int_equal(s->nroutes, 0);
	assert_int_equal(s->noptions, 0);
	assert_true(s->authoritative);
	assert_int_equal(s->nhosts, 0);
	assert_ptr_equal(dhcp_scope_by_iface(l.dc, "lan"), s);
	assert_null(dhcp_scope_by_iface(l.dc, "guest"));
	assert_null(dhcp_scope_by_addr(l.dc, golden_ip("192.168.1.100")));
	assert_true(gw_config_iface(l.cfg, "lan")->used);
	done(&l);
}

static void test_values(void **state)
{
	struct loaded l = load_ok(LAN "dhcp lan {\n"
				      "\tpool 192.168.1.100 192.168.1.250\n"
				      "\tlease-time 1d\n"
				      "\trouter 192.168.1.1 192.168.1.2\n"
				      "\tdns-server 192.168.1.1 9.9.9.9\n"
				      "\tdomain Home.Example.\n"
				      "\tntp-server 192.168.1.3\n"
				      "\tmtu 1492\n"
				      "\troute 10.8.0.0/16 192.168.1.2\n"
				      "\troute 10.9.1.128/25 0.0.0.0\n"
				      "\tauthoritative no\n"
				      "}\n");
	const struct dhcp_scope *s = &l.dc->scopes[0];

	assert_int_equal(s->lease_time, 86400);
	assert_false(s->router_default);
	assert_int_equal(s->nrouters, 2);
	golden_assert_ip(s->routers[0], "192.168.1.1");
	golden_assert_ip(s->routers[1], "192.168.1.2");
	assert_int_equal(s->dns_mode, DHCP_DNS_LIST);
	assert_int_equal(s->ndns_servers, 2);
	golden_assert_ip(s->dns_servers[1], "9.9.9.9");
	/* as given, without the final dot */
	assert_string_equal(s->domain, "Home.Example");
	assert_int_equal(s->nntp_servers, 1);
	golden_assert_ip(s->ntp_servers[0], "192.168.1.3");
	assert_int_equal(s->mtu, 1492);
	assert_int_equal(s->nroutes, 2);
	golden_assert_ip(s->routes[0].prefix, "10.8.0.0");
	assert_int_equal(s->routes[0].prefix_len, 16);
	golden_assert_ip(s->routes[0].gateway, "192.168.1.2");
	assert_int_equal(s->routes[0].pos.line, 10);
	golden_assert_ip(s->routes[1].prefix, "10.9.1.128");
	assert_int_equal(s->routes[1].prefix_len, 25);
	golden_assert_ip(s->routes[1].gateway, "0.0.0.0");
	assert_false(s->authoritative);
	done(&l);
}

static void test_bounds(void **state)
{
	struct loaded l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.1; lease-time 60; mtu 68 }\n");

	assert_int_equal(l.dc->scopes[0].lease_time, 60);
	assert_int_equal(l.dc->scopes[0].mtu, 68);
	assert_int_equal(dhcp_pool_size(&l.dc->scopes[0].pools[0]), 1);
	done(&l);
	l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.1; lease-time 365d; mtu 65535 }\n");
	assert_int_equal(l.dc->scopes[0].lease_time, 365 * 86400);
	assert_int_equal(l.dc->scopes[0].mtu, 65535);
	done(&l);
	expect_fail(LAN "dhcp lan { pool 10.0.0.1 10.0.0.1; lease-time 59; mtu 67 }\n",
		    "t.conf:2:47: dhcp lan: lease-time: \"59\" is out of range (1m to 365d)\n"
		    "t.conf:2:55: dhcp lan: mtu: \"67\" is not a number from 68 to 65535\n");
	expect_fail(LAN "dhcp lan { pool 10.0.0.1 10.0.0.1; lease-time 366d }\n",
		    "t.conf:2:47: dhcp lan: lease-time: \"366d\" is out of range (1m to 365d)\n");
}

/* ---- the dns section decides option 6's default ---- */

static enum dhcp_dns_mode dns_mode_with(const char *dns)
{
	char text[1024];
	struct loaded l;
	enum dhcp_dns_mode m;

	snprintf(text, sizeof(text),
		 LAN GUEST "dhcp lan { pool 10.0.0.1 10.0.0.9 }\ndhcp-relay guest { server 10.20.0.2 }\n%s\n",
		 dns);
	l = load_ok(text);
	m = l.dc->scopes[0].dns_mode;
	done(&l);
	return m;
}

static void test_dns_defaults(void **state)
{
	struct loaded l;

	/* CONFIG.md: listen defaults to every interface with a dhcp scope */
	assert_int_equal(dns_mode_with("dns { }"), DHCP_DNS_IFACE);
	assert_int_equal(dns_mode_with("dns { port 53 }"), DHCP_DNS_IFACE);
	assert_int_equal(dns_mode_with("dns { listen lan }"), DHCP_DNS_IFACE);
	assert_int_equal(dns_mode_with("dns { listen guest; listen lan 127.0.0.1 }"), DHCP_DNS_IFACE);
	/* an explicit listen replaces the default */
	assert_int_equal(dns_mode_with("dns { listen guest }"), DHCP_DNS_NONE);
	assert_int_equal(dns_mode_with("dns { listen guest 0.0.0.0 }"), DHCP_DNS_IFACE);
	/* addresses: decided at run time, against the interface's address */
	assert_int_equal(dns_mode_with("dns { listen 127.0.0.1 }"), DHCP_DNS_IFACE_IF_LISTEN);
	assert_int_equal(dns_mode_with("dns { listen guest; listen 10.0.0.254 }"), DHCP_DNS_IFACE_IF_LISTEN);

	l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9 }\n"
			"dns { listen 192.168.1.1 127.0.0.1; listen 10.0.0.254 }\n");
	assert_int_equal(l.dc->ndns_listen, 3);
	assert_true(dhcp_dns_listens_on(l.dc, golden_ip("10.0.0.254")));
	assert_true(dhcp_dns_listens_on(l.dc, golden_ip("192.168.1.1")));
	assert_true(dhcp_dns_listens_on(l.dc, golden_ip("127.0.0.1")));
	assert_false(dhcp_dns_listens_on(l.dc, golden_ip("10.0.0.253")));
	assert_false(dhcp_dns_listens_on(l.dc, golden_ip("0.0.0.0")));
	done(&l);
	l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9 }\ndns { listen 0.0.0.0 }\n");
	assert_true(dhcp_dns_listens_on(l.dc, golden_ip("10.1.2.3")));
	done(&l);

	/* a remote scope has no default, dns or not; dns-server always wins */
	l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9; dns-server 9.9.9.9 }\n"
			"dhcp 10.30.0.0/24 { pool 10.30.0.10 10.30.0.20; router 10.30.0.1 }\ndns { }\n");
	assert_int_equal(l.dc->scopes[0].dns_mode, DHCP_DNS_LIST);
	assert_int_equal(l.dc->scopes[1].dns_mode, DHCP_DNS_NONE);
	done(&l);
}

static void test_local_domain(void **state)
{
	struct loaded l =
		load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9 }\ndns { local-domain Lan.Example. }\n");

	assert_string_equal(l.dc->local_domain, "lan.example");
	done(&l);
	/* the names table takes '_' */
	l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9 }\ndns { local-domain my_home.arpa }\n");
	assert_string_equal(l.dc->local_domain, "my_home.arpa");
	done(&l);
	/* a bad one is the dns module's error: the default meanwhile */
	l = load_ok(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9 }\ndns { local-domain \"a..b\" }\n");
	assert_string_equal(l.dc->local_domain, "home.arpa");
	done(&l);
}

/* domain (option 15) and host names: LDH labels of 1..63, 253 in all. */
static void test_names(void **state)
{
	char text[1024], l63[64], l64[65], long_name[300];
	struct loaded l;
	struct cf_errors e;

	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l64, 'b', 64);
	l64[64] = '\0';
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	snprintf(long_name, sizeof(long_name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	snprintf(text, sizeof(text),
		 LAN "dhcp lan { domain %s.; host h { mac 02:00:00:00:00:01; address 10.0.0.1; "
		     "name X-1%.60s } }\n",
		 long_name, l63);
	l = load_ok(text);
	assert_int_equal(strlen(l.dc->scopes[0].domain), 253);
	assert_int_equal(strlen(l.dc->scopes[0].hosts[0].name), 63);
	assert_memory_equal(l.dc->scopes[0].hosts[0].name, "x-1aaa", 6);
	done(&l);
	l = load_ok(LAN "dhcp lan { domain 1.example; pool 10.0.0.1 10.0.0.2 }\n");
	assert_string_equal(l.dc->scopes[0].domain, "1.example");
	done(&l);

	static const char *const bad_domains[] = {"a_b.example", "example-", "a..b", ".", "", "a.-b"};
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		snprintf(text, sizeof(text), LAN "dhcp lan { domain \"%s\"; pool 10.0.0.1 10.0.0.2 }\n",
			 bad_domains[i]);
		assert_null(load_text(text, &e));
		assert_int_equal(e.nerrors, 1);
		assert_non_null(strstr(e.errors[0], "is not a domain name"));
		cf_errors_free(&e);
	}
	snprintf(text, sizeof(text), LAN "dhcp lan { domain %s.%s; pool 10.0.0.1 10.0.0.2 }\n", l64,
		 "example");
	assert_null(load_text(text, &e));
	assert_int_equal(e.nerrors, 1);
	cf_errors_free(&e);
	snprintf(text, sizeof(text), LAN "dhcp lan { domain a%s; pool 10.0.0.1 10.0.0.2 }\n", long_name);
	assert_null(load_text(text, &e)); /* 254 */
	assert_int_equal(e.nerrors, 1);
	cf_errors_free(&e);
	expect_fail(
		LAN "dhcp lan { host h { mac 02:00:00:00:00:01; address 10.0.0.1; name a_b } }\n",
		"t.conf:2:67: dhcp lan: host h: name: \"a_b\" is not a host name (1 to 63 letters, digits and "
		"'-', not starting or ending with '-')\n");
	expect_fail(
		LAN "dhcp lan { host h { mac 02:00:00:00:00:01; address 10.0.0.1; name b- } }\n",
		"t.conf:2:67: dhcp lan: host h: name: \"b-\" is not a host name (1 to 63 letters, digits and "
		"'-', not starting or ending with '-')\n");
}

/* NAME.local-domain must fit in 253 characters. */
static void test_name_length(void **state)
{
	char label[64], domain[256], text[1024];

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(domain, sizeof(domain), "%s.%s.%s.b", label, label, label); /* 193 */
	snprintf(text, sizeof(text),
		 LAN "dns { local-domain %s }\ndhcp lan { host h { mac 00:11:22:33:44:55; address 10.0.0.1; "
		     "name %.59s } }\n",
		 domain, label);
	struct loaded l = load_ok(text); /* 59 + 1 + 193 = 253 */

	assert_int_equal(strlen(l.dc->scopes[0].hosts[0].name), 59);
	done(&l);
	snprintf(text, sizeof(text),
		 LAN "dns { local-domain %s }\ndhcp lan { host h { mac 00:11:22:33:44:55; address 10.0.0.1; "
		     "name %.60s } }\n",
		 domain, label);
	struct cf_errors e;

	assert_null(load_text(text, &e));
	assert_int_equal(e.nerrors, 1);
	assert_non_null(strstr(e.errors[0], "dhcp lan: host h: name: \"aaaa"));
	assert_non_null(strstr(e.errors[0], "is too long for the local domain aaaa"));
	assert_non_null(strstr(e.errors[0], "(254 characters in all, at most 253)"));
	cf_errors_free(&e);
}

/* ---- pools ---- */

static void test_pools(void **state)
{
	struct loaded l = load_ok(LAN "dhcp lan {\n"
				      "\tpool 10.0.0.200 10.0.0.250\n"
				      "\tpool 10.0.0.10 10.0.0.19\n"
				      "\tpool 10.0.0.100 10.0.0.100\n"
				      "}\n");
	const struct dhcp_scope *s = &l.dc->scopes[0];
	const struct dhcp_pool *p;
	size_t i;

	/* in address order, whatever the file's */
	for (i = 0; (p = dhcp_scope_pool(s, i)); i++)
		assert_ptr_equal(p, &s->pools[i]);
	assert_int_equal(i, 3);
	golden_assert_ip(s->pools[0].first, "10.0.0.10");
	assert_int_equal(s->pools[0].pos.line, 4);
	golden_assert_ip(s->pools[1].first, "10.0.0.100");
	golden_assert_ip(s->pools[2].last, "10.0.0.250");
	assert_int_equal(dhcp_pool_size(&s->pools[0]), 10);
	assert_int_equal(dhcp_pool_size(&s->pools[2]), 51);
	assert_ptr_equal(dhcp_pool_of(s, golden_ip("10.0.0.10")), &s->pools[0]);
	assert_ptr_equal(dhcp_pool_of(s, golden_ip("10.0.0.19")), &s->pools[0]);
	assert_null(dhcp_pool_of(s, golden_ip("10.0.0.20")));
	assert_null(dhcp_pool_of(s, golden_ip("10.0.0.9")));
	assert_ptr_equal(dhcp_pool_of(s, golden_ip("10.0.0.100")), &s->pools[1]);
	assert_null(dhcp_pool_of(s, golden_ip("10.0.0.101")));
	assert_ptr_equal(dhcp_pool_of(s, golden_ip("10.0.0.250")), &s->pools[2]);
	assert_null(dhcp_pool_of(s, golden_ip("10.0.0.251")));
	assert_null(dhcp_pool_of(s, golden_ip("9.255.255.255")));
	done(&l);
}

/* A hostile number of pools: the cap is said once. */
static void test_pool_cap(void **state)
{
	size_t n = DHCP_MAX_POOLS + 5, len = 0;
	char *text = malloc(64 + n * 40);
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	len += (size_t)sprintf(text, LAN "dhcp lan {\n");
	for (size_t i = 0; i < DHCP_MAX_POOLS; i++)
		len += (size_t)sprintf(text + len, "pool 10.%zu.%zu.1 10.%zu.%zu.1\n", i >> 8, i & 255,
				       i >> 8, i & 255);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->scopes[0].npools, DHCP_MAX_POOLS);
	done(&l);
	for (size_t i = DHCP_MAX_POOLS; i < n; i++)
		len += (size_t)sprintf(text + len, "pool 10.%zu.%zu.1 10.%zu.%zu.1\n", i >> 8, i & 255,
				       i >> 8, i & 255);
	sprintf(text + len, "}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:259:1: dhcp lan: pool: too many pools in one scope (at most 256)\n");
	cf_errors_free(&e);
	free(text);
}

/* ---- remote scopes ---- */

static void test_remote(void **state)
{
	struct loaded l = load_ok("dhcp 10.30.0.0/24 {\n"
				  "\tpool 10.30.0.50 10.30.0.200\n"
				  "\trouter 10.30.0.1\n"
				  "}\n"
				  "dhcp 10.31.0.0/16 { pool 10.31.0.2 10.31.255.254; router 10.31.0.1 }\n"
				  "dhcp 10.20.0.0/30 { pool 10.20.0.2 10.20.0.2; router 10.20.0.1 }\n");
	const struct dhcp_scope *s = &l.dc->scopes[0];

	assert_int_equal(l.dc->nscopes, 3);
	assert_int_equal(s->kind, DHCP_SCOPE_REMOTE);
	assert_string_equal(s->name, "10.30.0.0/24");
	assert_null(s->iface);
	assert_null(s->device);
	golden_assert_ip(s->subnet, "10.30.0.0");
	assert_int_equal(s->prefix_len, 24);
	assert_false(s->router_default);
	assert_int_equal(s->nrouters, 1);
	assert_int_equal(s->dns_mode, DHCP_DNS_NONE);
	/* giaddr / link-selection → scope */
	assert_ptr_equal(dhcp_scope_by_addr(l.dc, golden_ip("10.30.0.1")), s);
	assert_ptr_equal(dhcp_scope_by_addr(l.dc, golden_ip("10.30.0.255")), s);
	assert_ptr_equal(dhcp_scope_by_addr(l.dc, golden_ip("10.31.200.1")), &l.dc->scopes[1]);
	assert_ptr_equal(dhcp_scope_by_addr(l.dc, golden_ip("10.20.0.3")), &l.dc->scopes[2]);
	assert_null(dhcp_scope_by_addr(l.dc, golden_ip("10.20.0.4")));
	assert_null(dhcp_scope_by_addr(l.dc, golden_ip("10.30.1.0")));
	assert_null(dhcp_scope_by_addr(l.dc, golden_ip("10.29.255.255")));
	assert_null(dhcp_scope_by_addr(l.dc, golden_ip("1.1.1.1")));
	assert_null(dhcp_scope_by_iface(l.dc, "10.30.0.0/24"));
	done(&l);
}

/* ---- options ---- */

static void test_options(void **state)
{
	struct loaded l = load_ok(LAN "dhcp lan {\n"
				      "\tpool 10.0.0.1 10.0.0.9\n"
				      "\toption 252 text \"http://wpad.home.arpa/wpad.dat\"\n"
				      "\toption 44 ip 192.168.1.1 192.168.1.2\n"
				      "\toption 19 u8 0\n"
				      "\toption 25 u16 68 1492 65535\n"
				      "\toption 2 u32 4294967295 3600\n"
				      "\toption 43 hex 01:04:C0:a8:01:01\n"
				      "\toption 254 u8 255\n"
				      "}\n");
	const struct dhcp_scope *s = &l.dc->scopes[0];
	const struct dhcp_option *o;
	static const uint8_t u16s[] = {0x00, 0x44, 0x05, 0xd4, 0xff, 0xff};
	static const uint8_t u32s[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x0e, 0x10};
	static const uint8_t ips[] = {192, 168, 1, 1, 192, 168, 1, 2};
	static const uint8_t hex[] = {0x01, 0x04, 0xc0, 0xa8, 0x01, 0x01};

	assert_int_equal(s->noptions, 7);
	/* sorted by code */
	for (size_t i = 1; i < s->noptions; i++)
		assert_true(s->options[i - 1].code < s->options[i].code);
	o = dhcp_scope_option(s, 252);
	assert_non_null(o);
	assert_int_equal(o->len, strlen("http://wpad.home.arpa/wpad.dat"));
	assert_memory_equal(o->data, "http://wpad.home.arpa/wpad.dat", o->len);
	assert_int_equal(o->pos.line, 4);
	o = dhcp_scope_option(s, 44);
	assert_int_equal(o->len, 8);
	assert_memory_equal(o->data, ips, 8);
	o = dhcp_scope_option(s, 19);
	assert_int_equal(o->len, 1);
	assert_int_equal(o->data[0], 0);
	o = dhcp_scope_option(s, 25);
	assert_int_equal(o->len, 6);
	assert_memory_equal(o->data, u16s, 6);
	o = dhcp_scope_option(s, 2);
	assert_int_equal(o->len, 8);
	assert_memory_equal(o->data, u32s, 8);
	o = dhcp_scope_option(s, 43);
	assert_int_equal(o->len, 6);
	assert_memory_equal(o->data, hex, 6);
	o = dhcp_scope_option(s, 254);
	assert_int_equal(o->data[0], 255);
	assert_null(dhcp_scope_option(s, 1));
	assert_null(dhcp_scope_option(s, 3));
	assert_null(dhcp_scope_option(s, 253));
	done(&l);
}

/* A value may be 255 * 4 bytes (RFC 3396 pieces), not one more. */
static void test_option_sizes(void **state)
{
	char *text = malloc(8192), *p;
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	p = text + sprintf(text, LAN "dhcp lan { pool 10.0.0.1 10.0.0.9; option 224 text \"");
	memset(p, 'x', DHCP_OPTION_MAX);
	strcpy(p + DHCP_OPTION_MAX, "\"; option 225 hex ");
	p += strlen(p);
	for (int i = 0; i < DHCP_OPTION_MAX; i++)
		p += sprintf(p, "%s%02x", i ? ":" : "", i & 255);
	strcpy(p, " }\n");
	l = load_ok(text);
	assert_int_equal(dhcp_scope_option(&l.dc->scopes[0], 224)->len, DHCP_OPTION_MAX);
	assert_int_equal(dhcp_scope_option(&l.dc->scopes[0], 225)->len, DHCP_OPTION_MAX);
	assert_int_equal(dhcp_scope_option(&l.dc->scopes[0], 225)->data[300], 300 & 255);
	done(&l);

	p = text + sprintf(text, LAN "dhcp lan { pool 10.0.0.1 10.0.0.9; option 224 text \"");
	memset(p, 'x', DHCP_OPTION_MAX + 1);
	strcpy(p + DHCP_OPTION_MAX + 1, "\"; option 225 hex ");
	p += strlen(p);
	for (int i = 0; i <= DHCP_OPTION_MAX; i++)
		p += sprintf(p, "%s%02x", i ? ":" : "", i & 255);
	strcpy(p, " }\n");
	assert_null(load_text(text, &e));
	assert_int_equal(e.nerrors, 2);
	assert_string_equal(e.errors[0],
			    "t.conf:2:52: dhcp lan: option: the text is 1021 bytes long, more than 1020");
	assert_non_null(strstr(e.errors[1], "t.conf:2:1092: dhcp lan: option: \"00:01:02:"));
	assert_non_null(strstr(e.errors[1], ":fc\" is longer than 1020 bytes"));
	cf_errors_free(&e);
	free(text);
}

/* ---- routes ---- */

/* Option 121 holds at most 1020 bytes, 5 of them kept for the default route. */
static void test_route_room(void **state)
{
	char *text = malloc(16384);
	size_t len;
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	/* a /32 takes 1 + 4 + 4 = 9 bytes: 112 make 1008, the 113th 1017 > 1015 */
	len = (size_t)sprintf(text, LAN "dhcp lan {\npool 10.0.0.1 10.0.0.9\n");
	for (int i = 0; i < 112; i++)
		len += (size_t)sprintf(text + len, "route 10.1.0.%d/32 10.0.0.254\n", i);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->scopes[0].nroutes, 112);
	done(&l);
	/* then two /8s of 6 bytes: 1014 fits, 1020 does not */
	len += (size_t)sprintf(text + len, "route 11.0.0.0/8 10.0.0.254\nroute 12.0.0.0/8 10.0.0.254\n");
	len += (size_t)sprintf(text + len, "route 13.0.0.0/8 10.0.0.254\n");
	sprintf(text + len, "}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e,
		     "t.conf:117:1: dhcp lan: route: too many routes (option 121 would be longer than 1020 "
		     "bytes)\n");
	cf_errors_free(&e);
	free(text);
}

/* ---- reservations ---- */

static void test_hosts(void **state)
{
	struct loaded l =
		load_ok(LAN "dhcp lan {\n"
			    "\tpool 10.0.0.100 10.0.0.200\n"
			    "\thost printer {\n"
			    "\t\tmac 00:11:22:33:44:55\n"
			    "\t\tclient-id 01:00:11:22:33:44:55\n"
			    "\t\taddress 10.0.0.10\n"
			    "\t\tname Printer\n"
			    "\t}\n"
			    "\thost nas { mac 00:11:22:33:44:66; address 10.0.0.5; name nas }\n"
			    "\thost \"tv set\" { client-id ff:00:00:00:01:00:01:aa; address 10.0.0.150 }\n"
			    "\thost phone { mac AA:bb:cc:dd:ee:00; address 10.0.0.7 }\n"
			    "}\n");
	const struct dhcp_scope *s = &l.dc->scopes[0];
	static const uint8_t printer_mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
	static const uint8_t nas_mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x66};
	static const uint8_t phone_mac[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x00};
	static const uint8_t other_mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x77};
	static const uint8_t printer_id[] = {0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
	static const uint8_t tv_id[] = {0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0xaa};
	static const uint8_t other_id[] = {0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0xab};
	const struct dhcp_host *printer = &s->hosts[0], *nas = &s->hosts[1], *tv = &s->hosts[2],
			       *phone = &s->hosts[3];

	assert_int_equal(s->nhosts, 4);
	assert_string_equal(printer->label, "printer");
	assert_true(printer->has_mac);
	assert_memory_equal(printer->mac, printer_mac, 6);
	assert_int_equal(printer->client_id_len, 7);
	assert_memory_equal(printer->client_id, printer_id, 7);
	golden_assert_ip(printer->addr, "10.0.0.10");
	assert_string_equal(printer->name, "printer"); /* names compare lower-case */
	assert_int_equal(printer->pos.line, 4);
	assert_string_equal(tv->label, "tv set");
	assert_false(tv->has_mac);
	assert_null(tv->name);
	assert_null(phone->client_id);
	assert_int_equal(phone->client_id_len, 0);

	assert_ptr_equal(dhcp_host_by_mac(s, printer_mac), printer);
	assert_ptr_equal(dhcp_host_by_mac(s, nas_mac), nas);
	assert_ptr_equal(dhcp_host_by_mac(s, phone_mac), phone);
	assert_null(dhcp_host_by_mac(s, other_mac));
	assert_ptr_equal(dhcp_host_by_client_id(s, printer_id, 7), printer);
	assert_ptr_equal(dhcp_host_by_client_id(s, tv_id, 8), tv);
	assert_null(dhcp_host_by_client_id(s, tv_id, 7)); /* a prefix is another id */
	assert_null(dhcp_host_by_client_id(s, other_id, 8));
	assert_null(dhcp_host_by_client_id(s, NULL, 0));
	assert_ptr_equal(dhcp_host_by_addr(s, golden_ip("10.0.0.5")), nas);
	assert_ptr_equal(dhcp_host_by_addr(s, golden_ip("10.0.0.150")), tv);
	assert_ptr_equal(dhcp_host_by_addr(s, golden_ip("10.0.0.7")), phone);
	assert_null(dhcp_host_by_addr(s, golden_ip("10.0.0.6")));

	/* RFC 4361 6.3: by client-id first; a MAC reservation still holds
	 * for a client that sends a client-id of its own */
	assert_ptr_equal(dhcp_host_for_client(s, other_mac, tv_id, 8), tv);
	assert_ptr_equal(dhcp_host_for_client(s, nas_mac, other_id, 8), nas);
	assert_ptr_equal(dhcp_host_for_client(s, nas_mac, NULL, 0), nas);
	assert_ptr_equal(dhcp_host_for_client(s, nas_mac, printer_id, 7), printer);
	assert_ptr_equal(dhcp_host_for_client(s, NULL, tv_id, 8), tv);
	assert_null(dhcp_host_for_client(s, other_mac, other_id, 8));
	assert_null(dhcp_host_for_client(s, NULL, other_id, 8));
	assert_null(dhcp_host_for_client(s, NULL, NULL, 0));
	done(&l);
}

/* Many reservations: lookups stay right at the cap, and past it one error. */
static void test_host_cap(void **state)
{
	size_t len = 0, n = DHCP_MAX_HOSTS;
	char *text = malloc(64 + (n + 2) * 64);
	struct cf_errors e;
	struct loaded l;
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};

	assert_non_null(text);
	len += (size_t)sprintf(text, LAN "dhcp lan {\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len,
				       "host h%zu{mac 02:00:00:00:%02zx:%02zx;address 10.1.%zu.%zu}\n", i,
				       i >> 8, i & 255, i >> 8, i & 255);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->scopes[0].nhosts, n);
	for (size_t i = 0; i < n; i += 997) {
		char a[32];

		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		snprintf(a, sizeof(a), "10.1.%zu.%zu", i >> 8, i & 255);
		assert_ptr_equal(dhcp_host_by_mac(&l.dc->scopes[0], mac), &l.dc->scopes[0].hosts[i]);
		assert_ptr_equal(dhcp_host_by_addr(&l.dc->scopes[0], golden_ip(a)), &l.dc->scopes[0].hosts[i]);
	}
	done(&l);
	/* the cap is for all scopes together */
	sprintf(text + len,
		"}\ninterface g { device g0 }\ndhcp g { host x{mac 02:00:00:01:00:00;address 10.2.0.1} "
		"host y{mac 02:00:00:01:00:01;address 10.2.0.2} }\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:16389:10: dhcp g: host: too many hosts (at most 16384 in all scopes)\n");
	cf_errors_free(&e);
	free(text);
}

/* Duplicates among many hosts are found by sorting; each is reported at
 * the later one, naming the first, in file order. */
static void test_host_dups_many(void **state)
{
	size_t len = 0, n = 4000;
	char *text = malloc(64 + n * 80);
	struct cf_errors e;

	assert_non_null(text);
	len += (size_t)sprintf(text, LAN "dhcp lan {\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len,
				       "host h%zu{mac 02:00:00:00:%02zx:%02zx;address 10.1.%zu.%zu}\n", i,
				       i >> 8, i & 255, (i % 3000) >> 8, (i % 3000) & 255);
	sprintf(text + len, "}\n");
	assert_null(load_text(text, &e));
	assert_int_equal(e.nerrors, CF_MAX_ERRORS + 1);
	assert_string_equal(e.errors[0],
			    "t.conf:3003:42: dhcp lan: host h3000: address: \"10.1.0.0\" is already "
			    "reserved for host h0 (line 3)");
	cf_errors_free(&e);
	free(text);
}

/* A host with a statement of the wrong shape is dropped, even once the
 * error list is full (counting errors would not see it): no half-read
 * reservation takes part in the duplicate checks. */
static void test_host_bad_shapes(void **state)
{
	size_t len = 0;
	char *text = malloc(64 * 1024);
	struct cf_errors e;

	assert_non_null(text);
	for (int pass = 0; pass < 2; pass++) {
		len = (size_t)sprintf(text, LAN "dhcp lan {\n");
		for (int i = 0; pass && i < CF_MAX_ERRORS + 10; i++)
			len += (size_t)sprintf(text + len, "frobnicate\n");
		len += (size_t)sprintf(text + len,
				       "host a { mac 02:00:00:00:00:01 x; address 10.0.0.1 }\n"
				       "host b { mac 02:00:00:00:00:02; address 10.0.0.2 10.0.0.3 }\n"
				       "host c { mac 02:00:00:00:00:03; name c; name d; address 10.0.0.4 }\n"
				       "host d { client-id 01:02 03; address 10.0.0.5 }\n"
				       "host e { address 10.0.0.6; mac 02:00:00:00:00:05; frob 1 }\n"
				       "host f { mac 02:00:00:00:00:01; address 10.0.0.1; name c }\n"
				       "host g { mac 02:00:00:00:00:02; address 10.0.0.2 }\n"
				       "}\n");
		assert_null(load_text(text, &e));
		if (!pass)
			golden_expect_lines(
				&e,
				"t.conf:3:32: dhcp lan: host a: mac: expected 1 argument, got 2\n"
				"t.conf:4:50: dhcp lan: host b: address: expected 1 argument, got 2\n"
				"t.conf:5:41: dhcp lan: host c: name: given more than once (first at line 5)\n"
				"t.conf:6:26: dhcp lan: host d: client-id: expected 1 argument, got 2\n"
				"t.conf:7:51: dhcp lan: host e: unknown keyword \"frob\"\n");
		cf_errors_free(&e);
	}
	free(text);
}

/* ---- relays ---- */

static void test_relay(void **state)
{
	struct loaded l = load_ok(LAN GUEST "dhcp-relay guest { server 10.20.0.2 }\n"
					    "dhcp-relay lan {\n"
					    "\tserver 10.20.0.2\n"
					    "\tserver 127.0.0.1\n"
					    "\tagent-info no\n"
					    "\tmax-hops 16\n"
					    "}\n");
	const struct dhcp_relay *r = &l.dc->relays[0];

	assert_int_equal(l.dc->nscopes, 0);
	assert_int_equal(l.dc->nrelays, 2);
	assert_string_equal(r->iface, "guest");
	assert_string_equal(r->device, "br-guest");
	assert_int_equal(r->pos.line, 3);
	assert_int_equal(r->nservers, 1);
	golden_assert_ip(r->servers[0], "10.20.0.2");
	assert_true(r->agent_info);
	assert_string_equal(r->circuit_id, "br-guest"); /* the Linux device name */
	assert_null(r->remote_id);
	assert_int_equal(r->max_hops, 4);
	r = &l.dc->relays[1];
	assert_int_equal(r->nservers, 2);
	golden_assert_ip(r->servers[1], "127.0.0.1");
	assert_false(r->agent_info);
	assert_int_equal(r->max_hops, 16);
	assert_ptr_equal(dhcp_relay_by_iface(l.dc, "lan"), r);
	assert_ptr_equal(dhcp_relay_by_iface(l.dc, "guest"), &l.dc->relays[0]);
	assert_null(dhcp_relay_by_iface(l.dc, "wan"));
	assert_null(dhcp_scope_by_iface(l.dc, "lan"));
	/* a relay alone is a dhcp config: the module runs */
	assert_non_null(l.dc->local_domain);
	done(&l);
}

/* Option 82 holds circuit-id and remote-id, 2 + n bytes each, 255 in all. */
static void test_relay_id_room(void **state)
{
	char text[1024], c[256], r[256];
	struct loaded l;
	struct cf_errors e;

	memset(c, 'c', 200);
	c[200] = '\0';
	memset(r, 'r', 51);
	r[51] = '\0';
	snprintf(text, sizeof(text),
		 GUEST "dhcp-relay guest { server 10.0.0.1; circuit-id %s; remote-id %s }\n", c, r);
	l = load_ok(text);
	assert_string_equal(l.dc->relays[0].circuit_id, c);
	assert_string_equal(l.dc->relays[0].remote_id, r);
	done(&l);
	r[51] = 'r';
	r[52] = '\0';
	snprintf(text, sizeof(text),
		 GUEST "dhcp-relay guest { server 10.0.0.1; circuit-id %s; remote-id %s }\n", c, r);
	assert_null(load_text(text, &e));
	golden_expect_lines(
		&e,
		"t.conf:2:260: dhcp-relay guest: remote-id: too long: circuit-id and remote-id would make "
		"option 82 256 bytes long (at most 255)\n");
	cf_errors_free(&e);
}

/* ---- hostile files ---- */

/* Very many sections: duplicates found by sorting, the cap said once. */
static void test_many_sections(void **state)
{
	size_t n = 20000, len = 0;
	char *text = malloc(n * 80 + 64);
	struct cf_errors e;

	assert_non_null(text);
	len += (size_t)sprintf(text, LAN);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "dhcp lan { pool 10.0.0.1 10.0.0.9 }\n");
	assert_null(load_text(text, &e));
	/* the core's duplicate errors fill the list; only the first section is read */
	assert_int_equal(e.nerrors, CF_MAX_ERRORS + 1);
	assert_string_equal(e.errors[0], "t.conf:3:1: dhcp lan: duplicate section (first at line 2)");
	cf_errors_free(&e);

	len = 0;
	for (size_t i = 0; i < n / 2; i++)
		len += (size_t)sprintf(
			text + len,
			"dhcp 10.%zu.%zu.0/24 { pool 10.%zu.%zu.9 10.%zu.%zu.99; router 10.%zu.%zu.1 }\n",
			i >> 8, i & 255, i >> 8, i & 255, i >> 8, i & 255, i >> 8, i & 255);
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:257:1: dhcp: too many sections (at most 256)\n");
	cf_errors_free(&e);
	free(text);
}

/* ---- etc/homegw.conf ---- */

/* The example file must load as it is. */
static struct gw_config *load_example(struct cf_errors *e)
{
	cf_errors_init(e);
	return gw_config_load("etc/homegw.conf", fake_table, NFAKE, e);
}

static void test_example_config(void **state)
{
	struct cf_errors e;
	struct gw_config *cfg;
	const struct dhcp_config *dc;
	const struct dhcp_scope *s;
	const struct dhcp_relay *r;
	const struct dhcp_option *o;
	static const uint8_t printer_mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};

	cfg = load_example(&e);
	/* wan is for nat and igmp-proxy, whose stand-ins here resolve nothing */
	golden_expect_lines(&e, "warning: etc/homegw.conf:40:1: interface wan: not used by any section\n");
	assert_non_null(cfg);
	dc = gw_config_module(cfg, &dhcp_mod);
	assert_non_null(dc);
	assert_int_equal(dc->nscopes, 2);
	assert_int_equal(dc->nrelays, 1);
	assert_string_equal(dc->local_domain, "home.arpa");

	s = dhcp_scope_by_iface(dc, "lan");
	assert_ptr_equal(s, &dc->scopes[0]);
	assert_string_equal(s->device, "br-lan");
	assert_int_equal(s->npools, 1);
	golden_assert_ip(s->pools[0].first, "192.168.1.100");
	golden_assert_ip(s->pools[0].last, "192.168.1.250");
	assert_int_equal(s->lease_time, 12 * 3600);
	assert_false(s->router_default);
	assert_int_equal(s->nrouters, 1);
	golden_assert_ip(s->routers[0], "192.168.1.1");
	assert_int_equal(s->dns_mode, DHCP_DNS_LIST);
	golden_assert_ip(s->dns_servers[0], "192.168.1.1");
	assert_string_equal(s->domain, "home.arpa");
	assert_int_equal(s->nntp_servers, 1);
	golden_assert_ip(s->ntp_servers[0], "192.168.1.1");
	assert_int_equal(s->mtu, 1500);
	assert_int_equal(s->nroutes, 1);
	golden_assert_ip(s->routes[0].prefix, "10.8.0.0");
	assert_int_equal(s->routes[0].prefix_len, 16);
	golden_assert_ip(s->routes[0].gateway, "192.168.1.2");
	o = dhcp_scope_option(s, 252);
	assert_non_null(o);
	assert_int_equal(o->len, 30);
	assert_memory_equal(o->data, "http://wpad.home.arpa/wpad.dat", o->len);
	assert_null(dhcp_scope_option(s, 42));
	assert_true(s->authoritative);
	assert_int_equal(s->nhosts, 2);
	assert_ptr_equal(dhcp_host_by_mac(s, printer_mac), &s->hosts[0]);
	golden_assert_ip(dhcp_host_by_mac(s, printer_mac)->addr, "192.168.1.10");
	assert_string_equal(s->hosts[0].name, "printer");
	assert_int_equal(s->hosts[0].client_id_len, 7);
	assert_string_equal(dhcp_host_by_addr(s, golden_ip("192.168.1.5"))->name, "nas");

	s = dhcp_scope_by_addr(dc, golden_ip("10.30.0.77"));
	assert_ptr_equal(s, &dc->scopes[1]);
	assert_int_equal(s->kind, DHCP_SCOPE_REMOTE);
	golden_assert_ip(s->pools[0].first, "10.30.0.50");
	golden_assert_ip(s->pools[0].last, "10.30.0.200");
	golden_assert_ip(s->routers[0], "10.30.0.1");
	assert_int_equal(s->dns_mode, DHCP_DNS_LIST);
	golden_assert_ip(s->dns_servers[0], "192.168.1.1");
	assert_int_equal(s->lease_time, 86400);

	r = dhcp_relay_by_iface(dc, "guest");
	assert_non_null(r);
	assert_string_equal(r->device, "br-guest");
	assert_int_equal(r->nservers, 1);
	golden_assert_ip(r->servers[0], "10.20.0.2");
	assert_true(r->agent_info);
	assert_string_equal(r->circuit_id, "guest-wifi");
	assert_string_equal(r->remote_id, "gw1");
	assert_int_equal(r->max_hops, 4);
	gw_config_free(cfg);
	cf_errors_free(&e);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_no_orphans),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_local_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_dns_defaults),
		cmocka_unit_test(test_local_domain),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_pool_cap),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_option_sizes),
		cmocka_unit_test(test_route_room),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_cap),
		cmocka_unit_test(test_host_dups_many),
		cmocka_unit_test(test_host_bad_shapes),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_relay_id_room),
		cmocka_unit_test(test_many_sections),
		cmocka_unit_test(test_example_config),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
