/* test_dns_config.c — the dns section: the golden files of
 * modules/dns/tests/config (run from the source root), the typed values
 * and defaults, the default listen (interfaces with a dhcp scope), the
 * allow ACL lookup, host names and local-domain, forward-zone order, the
 * hostile-file bounds, and etc/homegw.conf and etc/lab.conf.
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
#include "dns_config.h"
#include "golden.h"
#include "module.h"

#define GOLDEN_DIR "modules/dns/tests/config/"

/* ---- module tables ---- */

static const struct gw_module dns_mod = {
	.name = "dns", .sections = golden_sections_dns, .configure = dns_configure,
	.free_config = dns_config_free};
/* main.c's order: dhcp before dns */
static const struct gw_module *const table[] = {&golden_dhcp, &dns_mod, &golden_nat, &golden_igmp};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* ---- golden files ---- */

static bool has_dns_config(const char *conf, const struct gw_config *cfg)
{
	if (gw_config_module(cfg, &dns_mod))
		return true;
	print_error("%s: no dns config\n", conf);
	return false;
}

static const struct golden_suite golden = {GOLDEN_DIR, table, NTABLE, has_dns_config};

static void test_golden(void **state)
{
	golden_run(&golden, 19);
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
	const struct dns_config *dc;
};

/* TEXT must load with exactly the warnings WANT ("" for none). */
static struct loaded load_warn(const char *text, const char *want)
{
	struct loaded l;

	l.dc = golden_load_module(table, NTABLE, &dns_mod, text, want, &l.cfg);
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

static void assert_name(const struct dns_name *n, const char *text)
{
	char buf[DNS_NAME_TEXT_MAX];

	dns_name_to_text(n, buf);
	assert_string_equal(buf, text);
}

static void assert_server(const struct dns_server *s, const char *addr, uint16_t port)
{
	golden_assert_ip(s->addr, addr);
	assert_int_equal(s->port, port);
}

#define LAN "interface lan { device br-lan }\n"
#define GUEST "interface guest { device br-guest }\n"
#define IOT "interface iot { device br-iot }\n"

/* ---- absent, defaults ---- */

static void test_absent(void **state)
{
	/* the dhcp stand-in does not mark lan used: only dns would have */
	struct loaded l = load_warn(LAN "dhcp lan { pool 10.0.0.1 10.0.0.9 }\n",
				    "warning: t.conf:1:1: interface lan: not used by any section\n");

	/* no section: the resolver does not run */
	assert_null(l.dc);
	done(&l);
	l = load_ok("# nothing\n");
	assert_null(l.dc);
	done(&l);
}

static void test_defaults(void **state)
{
	struct loaded l = load_ok("dns { }\n");
	const struct dns_config *dc = l.dc;

	assert_non_null(dc);
	assert_int_equal(dc->nlisten, 0);
	assert_true(dc->listen_loopback);
	assert_int_equal(dc->port, 53);
	assert_int_equal(dc->nallow, 0);
	assert_int_equal(dc->nallow_ranges, 0);
	assert_null(dc->root_hints);
	assert_int_equal(dc->nforward, 0);
	assert_int_equal(dc->nfzones, 0);
	assert_int_equal(dc->cache_size, 32u << 20);
	assert_name(&dc->local_domain, "home.arpa.");
	assert_int_equal(dc->local_domain.labels, 2);
	assert_string_equal(dc->local_domain_text, "home.arpa");
	assert_int_equal(dc->nhosts, 0);
	assert_null(dc->hosts_file);
	assert_int_equal(dc->edns_buffer_size, 1232);
	assert_true(dc->qname_minimisation);
	assert_true(dc->prefetch);
	assert_true(dc->serve_stale);
	assert_int_equal(dc->max_ttl, 86400);
	assert_int_equal(dc->negative_ttl, 3600);
	/* no explicit ACL: nothing is allowed by the config (the module decides live) */
	assert_false(dns_config_allowed(dc, golden_ip("127.0.0.1")));
	assert_false(dns_config_allowed(dc, golden_ip("0.0.0.0")));
	done(&l);
}

/* CONFIG.md: by default every interface with a dhcp scope, plus 127.0.0.1. */
static void test_default_listen(void **state)
{
	struct loaded l = load_warn(LAN IOT GUEST "dhcp lan { pool 192.168.1.100 192.168.1.250 }\n"
						  "dhcp 10.30.0.0/24 { router 10.30.0.1 }\n"
						  "dhcp iot { }\n"
						  "dhcp dmz { }\n" /* undefined: the dhcp module's error */
						  "dhcp-relay guest { server 10.20.0.2 }\n"
						  "dns { port 53 }\n",
				    /* the dhcp stand-in resolves nothing: guest is nobody's */
				    "warning: t.conf:3:1: interface guest: not used by any section\n");
	const struct dns_config *dc = l.dc;

	assert_int_equal(dc->nlisten, 2);
	assert_true(dc->listen_loopback);
	assert_string_equal(dc->listen[0].iface, "lan");
	assert_string_equal(dc->listen[0].device, "br-lan");
	assert_int_equal(dc->listen[0].addr.s_addr, 0);
	assert_int_equal(dc->listen[0].pos.line, 4); /* the dhcp section's name */
	assert_int_equal(dc->listen[0].pos.col, 6);
	assert_string_equal(dc->listen[1].iface, "iot");
	assert_string_equal(dc->listen[1].device, "br-iot");
	assert_true(gw_config_iface(l.cfg, "lan")->used);
	assert_true(gw_config_iface(l.cfg, "iot")->used);
	assert_false(gw_config_iface(l.cfg, "guest")->used);
	done(&l);

	/* no dhcp scope on an interface: loopback only */
	l = load_ok("dhcp 10.30.0.0/24 { router 10.30.0.1 }\ndns { }\n");
	assert_int_equal(l.dc->nlisten, 0);
	assert_true(l.dc->listen_loopback);
	done(&l);
}

/* An explicit listen replaces the default entirely: not 127.0.0.1 either. */
static void test_listen(void **state)
{
	/* lan is the dhcp stand-in's only: unused by dns now */
	struct loaded l = load_warn(LAN GUEST "dhcp lan { }\n"
					      "dns {\n"
					      "\tlisten guest\n"
					      "\tlisten 127.0.0.1 0.0.0.0 10.1.2.3\n"
					      "}\n",
				    "warning: t.conf:1:1: interface lan: not used by any section\n");
	const struct dns_config *dc = l.dc;

	assert_false(dc->listen_loopback);
	assert_int_equal(dc->nlisten, 4);
	assert_string_equal(dc->listen[0].iface, "guest");
	assert_string_equal(dc->listen[0].device, "br-guest");
	assert_int_equal(dc->listen[0].pos.line, 5);
	assert_int_equal(dc->listen[0].pos.col, 9);
	assert_null(dc->listen[1].iface);
	assert_null(dc->listen[1].device);
	golden_assert_ip(dc->listen[1].addr, "127.0.0.1");
	golden_assert_ip(dc->listen[2].addr, "0.0.0.0");
	golden_assert_ip(dc->listen[3].addr, "10.1.2.3");
	assert_int_equal(dc->listen[3].pos.line, 6);
	assert_int_equal(dc->listen[3].pos.col, 27);
	assert_false(gw_config_iface(l.cfg, "lan")->used);
	assert_true(gw_config_iface(l.cfg, "guest")->used);
	done(&l);
}

/* ---- values ---- */

static void test_values(void **state)
{
	struct loaded l = load_ok("dns {\n"
				  "\tport 5353\n"
				  "\tallow 192.168.0.0/16 10.0.0.0/8\n"
				  "\tallow 127.0.0.1\n"
				  "\troot-hints /usr/share/dns/root.hints\n"
				  "\tforward 9.9.9.9 149.112.112.112:53 127.0.0.1:5300\n"
				  "\tcache-size 64K\n"
				  "\tlocal-domain Home.Example.\n"
				  "\thosts-file \"/etc/hosts\"\n"
				  "\tedns-buffer-size 4096\n"
				  "\tqname-minimisation no\n"
				  "\tprefetch no\n"
				  "\tserve-stale no\n"
				  "\tmax-ttl 2d\n"
				  "\tnegative-ttl 0\n"
				  "\tlisten 127.0.0.1\n"
				  "}\n");
	const struct dns_config *dc = l.dc;

	assert_int_equal(dc->port, 5353);
	assert_int_equal(dc->nallow, 3);
	golden_assert_ip(dc->allow[0].net, "192.168.0.0");
	assert_int_equal(dc->allow[0].len, 16);
	golden_assert_ip(dc->allow[1].net, "10.0.0.0");
	assert_int_equal(dc->allow[1].len, 8);
	golden_assert_ip(dc->allow[2].net, "127.0.0.1");
	assert_int_equal(dc->allow[2].len, 32);
	assert_string_equal(dc->root_hints, "/usr/share/dns/root.hints");
	assert_int_equal(dc->nforward, 3);
	assert_server(&dc->forward[0], "9.9.9.9", 53);
	assert_server(&dc->forward[1], "149.112.112.112", 53);
	assert_server(&dc->forward[2], "127.0.0.1", 5300);
	assert_int_equal(dc->cache_size, 64 * 1024);
	/* lower-cased, without the final dot */
	assert_string_equal(dc->local_domain_text, "home.example");
	assert_name(&dc->local_domain, "home.example.");
	assert_string_equal(dc->hosts_file, "/etc/hosts");
	assert_int_equal(dc->edns_buffer_size, 4096);
	assert_false(dc->qname_minimisation);
	assert_false(dc->prefetch);
	assert_false(dc->serve_stale);
	assert_int_equal(dc->max_ttl, 2 * 86400);
	assert_int_equal(dc->negative_ttl, 0);
	done(&l);
}

/* The ends of every range load; one past them fails with the range named. */
static void test_bounds(void **state)
{
	struct loaded l = load_ok("dns { port 1; edns-buffer-size 512; cache-size 64K; max-ttl 1s; "
				  "negative-ttl 0s }\n");

	assert_int_equal(l.dc->port, 1);
	assert_int_equal(l.dc->edns_buffer_size, 512);
	assert_int_equal(l.dc->cache_size, 65536);
	assert_int_equal(l.dc->max_ttl, 1);
	assert_int_equal(l.dc->negative_ttl, 0);
	done(&l);
	l = load_ok(
		"dns { port 65535; edns-buffer-size 4096; cache-size 4G; max-ttl 7d; negative-ttl 1d }\n");
	assert_int_equal(l.dc->port, 65535);
	assert_int_equal(l.dc->edns_buffer_size, 4096);
	assert_int_equal(l.dc->cache_size, 4ull << 30);
	assert_int_equal(l.dc->max_ttl, 7 * 86400);
	assert_int_equal(l.dc->negative_ttl, 86400);
	done(&l);
	expect_fail("dns { port 0; edns-buffer-size 511; cache-size 65535; max-ttl 0; negative-ttl 86401 }\n",
		    "t.conf:1:12: dns: port: \"0\" is not a number from 1 to 65535\n"
		    "t.conf:1:32: dns: edns-buffer-size: \"511\" is not a number from 512 to 4096\n"
		    "t.conf:1:48: dns: cache-size: \"65535\" is out of range (64K to 4G)\n"
		    "t.conf:1:63: dns: max-ttl: \"0\" is out of range (1s to 7d)\n"
		    "t.conf:1:79: dns: negative-ttl: \"86401\" is out of range (0s to 1d)\n");
	expect_fail("dns { port 65536; edns-buffer-size 4097; cache-size 4294967297; max-ttl 604801 }\n",
		    "t.conf:1:12: dns: port: \"65536\" is not a number from 1 to 65535\n"
		    "t.conf:1:36: dns: edns-buffer-size: \"4097\" is not a number from 512 to 4096\n"
		    "t.conf:1:53: dns: cache-size: \"4294967297\" is out of range (64K to 4G)\n"
		    "t.conf:1:73: dns: max-ttl: \"604801\" is out of range (1s to 7d)\n");
}

/* ---- allow ---- */

static void test_allowed(void **state)
{
	struct loaded l = load_ok("dns {\n"
				  "\tallow 10.1.0.0/16 10.0.0.0/8 11.0.0.0/8\n"
				  "\tallow 192.168.1.7 192.168.1.8/31\n"
				  "\tallow 100.64.0.0/10\n"
				  "}\n");
	const struct dns_config *dc = l.dc;

	assert_int_equal(dc->nallow, 6);
	/* merged: 10.0.0.0 to 11.255.255.255, 192.168.1.7 to .9, 100.64.0.0/10 */
	assert_int_equal(dc->nallow_ranges, 3);
	assert_true(dns_config_allowed(dc, golden_ip("10.0.0.0")));
	assert_true(dns_config_allowed(dc, golden_ip("10.1.2.3")));
	assert_true(dns_config_allowed(dc, golden_ip("11.255.255.255")));
	assert_false(dns_config_allowed(dc, golden_ip("12.0.0.0")));
	assert_false(dns_config_allowed(dc, golden_ip("9.255.255.255")));
	assert_false(dns_config_allowed(dc, golden_ip("192.168.1.6")));
	assert_true(dns_config_allowed(dc, golden_ip("192.168.1.7")));
	assert_true(dns_config_allowed(dc, golden_ip("192.168.1.8")));
	assert_true(dns_config_allowed(dc, golden_ip("192.168.1.9")));
	assert_false(dns_config_allowed(dc, golden_ip("192.168.1.10")));
	assert_true(dns_config_allowed(dc, golden_ip("100.64.0.0")));
	assert_true(dns_config_allowed(dc, golden_ip("100.127.255.255")));
	assert_false(dns_config_allowed(dc, golden_ip("100.128.0.0")));
	assert_false(dns_config_allowed(dc, golden_ip("0.0.0.0")));
	assert_false(dns_config_allowed(dc, golden_ip("255.255.255.255")));
	done(&l);

	l = load_ok("dns { allow 0.0.0.0/0 }\n");
	assert_true(dns_config_allowed(l.dc, golden_ip("0.0.0.0")));
	assert_true(dns_config_allowed(l.dc, golden_ip("255.255.255.255")));
	assert_true(dns_config_allowed(l.dc, golden_ip("203.0.113.9")));
	done(&l);
	l = load_ok("dns { allow 255.255.255.255 }\n");
	assert_true(dns_config_allowed(l.dc, golden_ip("255.255.255.255")));
	assert_false(dns_config_allowed(l.dc, golden_ip("255.255.255.254")));
	done(&l);
	assert_false(dns_config_allowed(NULL, golden_ip("10.0.0.1")));
}

/* ---- forward-zone ---- */

/* Most specific first, file order among equal depths. */
static void test_forward_zones(void **state)
{
	struct loaded l = load_ok("dns {\n"
				  "\tforward-zone example 10.0.0.1\n"
				  "\tforward-zone c.example 10.0.0.2 10.0.0.3:5353\n"
				  "\tforward-zone A.B.C.Example. 10.0.0.4\n"
				  "\tforward-zone d.example 10.0.0.5\n"
				  "\tforward-zone b.c.example 10.0.0.6\n"
				  "\tforward 9.9.9.9\n"
				  "}\n");
	const struct dns_config *dc = l.dc;

	assert_int_equal(dc->nfzones, 5);
	assert_name(&dc->fzones[0].zone, "a.b.c.example.");
	assert_int_equal(dc->fzones[0].pos.line, 4);
	assert_name(&dc->fzones[1].zone, "b.c.example.");
	assert_name(&dc->fzones[2].zone, "c.example.");
	assert_int_equal(dc->fzones[2].nservers, 2);
	assert_server(&dc->fzones[2].servers[0], "10.0.0.2", 53);
	assert_server(&dc->fzones[2].servers[1], "10.0.0.3", 5353);
	assert_name(&dc->fzones[3].zone, "d.example.");
	assert_name(&dc->fzones[4].zone, "example.");
	assert_int_equal(dc->fzones[4].nservers, 1);
	assert_int_equal(dc->nforward, 1);
	done(&l);

	/* beside the local domain is fine, a zone above it too */
	l = load_ok("dns { local-domain lan.example; forward-zone example 10.0.0.1; forward-zone "
		    "lan2.example 10.0.0.2 }\n");
	assert_int_equal(l.dc->nfzones, 2);
	done(&l);
	/* local-domain is read first, wherever it stands */
	expect_fail(
		"dns { forward-zone lan.example 10.0.0.1; local-domain lan.example }\n",
		"t.conf:1:20: dns: forward-zone: \"lan.example\" is the local domain lan.example, which is "
		"answered here (local-domain)\n");
	expect_fail(
		"dns { forward-zone printers.home.arpa 10.0.0.1 }\n",
		"t.conf:1:20: dns: forward-zone: \"printers.home.arpa\" is inside the local domain home.arpa, "
		"which is answered here (local-domain)\n");
}

/* ---- hosts ---- */

static void test_hosts(void **state)
{
	struct loaded l = load_ok("dns {\n"
				  "\thost nas 192.168.1.5\n"
				  "\thost NAS 192.168.1.6\n"
				  "\thost Printer.Lan.Example. 192.168.1.10\n"
				  "\thost single. 192.168.1.11\n"
				  "\thost blocked.ads.example 0.0.0.0\n"
				  "\thost _srv-x 192.168.1.12\n"
				  "\tlocal-domain lan.example\n"
				  "}\n");
	const struct dns_config *dc = l.dc;

	assert_int_equal(dc->nhosts, 6);
	/* no dot: under local-domain, given after the hosts or not */
	assert_string_equal(dc->hosts[0].text, "nas.lan.example");
	assert_name(&dc->hosts[0].name, "nas.lan.example.");
	assert_int_equal(dc->hosts[0].name.labels, 3);
	golden_assert_ip(dc->hosts[0].addr, "192.168.1.5");
	assert_int_equal(dc->hosts[0].pos.line, 2);
	/* the same name, another address: fine */
	assert_string_equal(dc->hosts[1].text, "nas.lan.example");
	golden_assert_ip(dc->hosts[1].addr, "192.168.1.6");
	/* a dot: as written, lower-cased, without the final dot */
	assert_string_equal(dc->hosts[2].text, "printer.lan.example");
	assert_name(&dc->hosts[2].name, "printer.lan.example.");
	assert_string_equal(dc->hosts[3].text, "single");
	assert_name(&dc->hosts[3].name, "single.");
	assert_string_equal(dc->hosts[4].text, "blocked.ads.example");
	golden_assert_ip(dc->hosts[4].addr, "0.0.0.0");
	assert_string_equal(dc->hosts[5].text, "_srv-x.lan.example");
	done(&l);
}

/* A name that fits alone may not fit under the local domain: 253
 * characters in all (RFC 1035 2.3.4's 255 bytes in wire form). */
static void test_host_length(void **state)
{
	char text[1024], want[1024], label[64], domain[200];
	struct loaded l;

	memset(label, 'a', 63);
	label[63] = '\0';
	/* labels of 63, 63 and 61: 189 characters */
	memset(domain, 'b', 189);
	domain[63] = domain[127] = '.';
	domain[189] = '\0';
	snprintf(text, sizeof(text), "dns { local-domain %s; host %s 10.0.0.1 }\n", domain, label);
	l = load_ok(text);
	assert_int_equal(strlen(l.dc->hosts[0].text), 253);
	assert_int_equal(l.dc->hosts[0].name.len, 255);
	assert_int_equal(l.dc->hosts[0].name.labels, 4);
	done(&l);

	strcat(domain, "c"); /* 190 */
	snprintf(text, sizeof(text), "dns { local-domain %s; host %s 10.0.0.1 }\n", domain, label);
	snprintf(
		want, sizeof(want),
		"t.conf:1:%zu: dns: host: \"%s\" is too long for the local domain %s (254 characters in all, "
		"at most 253)\n",
		strlen(domain) + 27, label, domain);
	expect_fail(text, want);

	label[62] = '\0';
	snprintf(text, sizeof(text), "dns { local-domain %s; host %s 10.0.0.1 }\n", domain, label);
	l = load_ok(text);
	assert_int_equal(strlen(l.dc->hosts[0].text), 253);
	done(&l);
}

/* ---- hostile files ---- */

/* Every list stops at its cap with one error. */
static void test_caps(void **state)
{
	size_t cap = 20 * 1024 * 1024, len;
	char *text = malloc(cap);
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);

	len = (size_t)sprintf(text, "dns {\n");
	for (int i = 0; i < DNS_MAX_LISTEN; i++)
		len += (size_t)sprintf(text + len, "listen 10.0.%d.%d\n", i / 200, i % 200 + 1);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->nlisten, DNS_MAX_LISTEN);
	done(&l);
	sprintf(text + len, "listen 10.9.0.1 10.9.0.2\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:66:8: dns: listen: too many (at most 64)\n");
	cf_errors_free(&e);

	/* the default, from the dhcp scopes, has the same cap */
	len = 0;
	for (int i = 0; i < DNS_MAX_LISTEN; i++)
		len += (size_t)sprintf(text + len, "interface i%d { device d%d }\ndhcp i%d { }\n", i, i, i);
	sprintf(text + len, "dns { }\n");
	l = load_ok(text);
	assert_int_equal(l.dc->nlisten, DNS_MAX_LISTEN);
	assert_string_equal(l.dc->listen[DNS_MAX_LISTEN - 1].device, "d63");
	done(&l);
	sprintf(text + len, "interface x { device x0 }\ndhcp x { }\ndns { }\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e,
			    "t.conf:131:1: dns: listen: by default every interface with a dhcp scope, but "
			    "there are more than 64: give listen\n");
	cf_errors_free(&e);

	len = (size_t)sprintf(text, "dns {\n");
	for (int i = 0; i < DNS_MAX_ALLOW; i++)
		len += (size_t)sprintf(text + len, "allow 10.%d.%d.0/24\n", i / 200, i % 200);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->nallow, DNS_MAX_ALLOW);
	assert_true(dns_config_allowed(l.dc, golden_ip("10.5.23.77")));
	assert_false(dns_config_allowed(l.dc, golden_ip("10.5.24.77")));
	done(&l);
	sprintf(text + len, "allow 10.9.0.1 10.9.0.2\nallow 10.9.0.3\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:1026:7: dns: allow: too many (at most 1024)\n");
	cf_errors_free(&e);

	len = (size_t)sprintf(text, "dns {\n");
	for (int i = 0; i < DNS_MAX_FORWARD_ZONES; i++)
		len += (size_t)sprintf(text + len, "forward-zone z%d.example 10.0.0.1\n", i);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->nfzones, DNS_MAX_FORWARD_ZONES);
	done(&l);
	sprintf(text + len, "forward-zone x.example 10.0.0.1\nforward-zone y.example 10.0.0.1\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:258:1: dns: forward-zone: too many (at most 256)\n");
	cf_errors_free(&e);

	len = (size_t)sprintf(text, "dns {\n");
	for (int i = 0; i < DNS_MAX_HOSTS; i++)
		len += (size_t)sprintf(text + len, "host h%d 10.1.%d.%d\n", i, i >> 8, i & 255);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.dc->nhosts, DNS_MAX_HOSTS);
	assert_string_equal(l.dc->hosts[DNS_MAX_HOSTS - 1].text, "h16383.home.arpa");
	done(&l);
	sprintf(text + len, "host x 10.2.0.1\nhost y 10.2.0.2\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:16386:1: dns: host: too many (at most 16384)\n");
	cf_errors_free(&e);
	free(text);
}

/* Duplicates among many hosts are found by sorting; each is reported at
 * the later one, naming the first, in file order. */
static void test_host_dups_many(void **state)
{
	size_t n = 16000, len = 0;
	char *text = malloc(64 + n * 48);
	struct cf_errors e;

	assert_non_null(text);
	len += (size_t)sprintf(text, "dns {\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "host h%zu 10.1.0.%zu\n", (i % 12000) % 1000,
				       (i % 12000) / 1000);
	sprintf(text + len, "}\n");
	assert_null(load_text(text, &e));
	assert_int_equal(e.nerrors, CF_MAX_ERRORS + 1);
	assert_string_equal(e.errors[0],
			    "t.conf:12002:6: dns: host: h0.home.arpa 10.1.0.0 is given more than "
			    "once (first at line 2)");
	assert_string_equal(e.errors[1],
			    "t.conf:12003:6: dns: host: h1.home.arpa 10.1.0.0 is given more than "
			    "once (first at line 3)");
	cf_errors_free(&e);
	free(text);
}

/* Only the first dns section is read; the second is the core's error. */
static void test_two_sections(void **state)
{
	expect_fail("dns { port 5353 }\ndns { port 0 }\n",
		    "t.conf:2:1: dns: duplicate section (first at line 1)\n");
}

/* ---- the example files ---- */

/* No error; every warning is an interface only the stand-ins would use,
 * never lan when LAN_USED (the dns section listens there). */
static struct gw_config *load_file(const char *path, bool lan_used)
{
	struct cf_errors e;
	struct gw_config *cfg;

	cf_errors_init(&e);
	cfg = gw_config_load(path, table, NTABLE, &e);
	if (!cfg || e.nerrors)
		golden_expect_lines(&e, "");
	assert_non_null(cfg);
	for (size_t i = 0; i < e.nwarnings; i++) {
		assert_non_null(strstr(e.warnings[i], ": not used by any section"));
		if (lan_used)
			assert_null(strstr(e.warnings[i], "interface lan:"));
	}
	cf_errors_free(&e);
	return cfg;
}

static void test_example_config(void **state)
{
	struct gw_config *cfg = load_file("etc/homegw.conf", true);
	const struct dns_config *dc = gw_config_module(cfg, &dns_mod);

	assert_non_null(dc);
	/* what the example's comments say it does */
	assert_true(dc->nlisten >= 1);
	assert_string_equal(dc->listen[0].iface, "lan");
	assert_string_equal(dc->listen[0].device, "br-lan");
	assert_int_equal(dc->port, 53);
	assert_true(dns_config_allowed(dc, golden_ip("192.168.1.50")));
	assert_false(dns_config_allowed(dc, golden_ip("203.0.113.1")));
	assert_int_equal(dc->cache_size, 32u << 20);
	assert_string_equal(dc->local_domain_text, "home.arpa");
	assert_int_equal(dc->edns_buffer_size, 1232);
	assert_int_equal(dc->max_ttl, 86400);
	assert_int_equal(dc->negative_ttl, 3600);
	for (size_t i = 0; i < dc->nhosts; i++)
		assert_non_null(strstr(dc->hosts[i].text, ".home.arpa"));
	gw_config_free(cfg);
}

/* The lab's file: a dns section when the lab runs the resolver, else none. */
static void test_lab_config(void **state)
{
	struct cf_errors e;
	struct cf_tree *t;
	struct gw_config *cfg;
	const struct dns_config *dc;
	bool has_dns;

	cf_errors_init(&e);
	t = cf_parse_file("etc/lab.conf", &e);
	assert_non_null(t);
	has_dns = cf_find(t->root, "dns") != NULL;
	cf_tree_free(t);
	cf_errors_free(&e);
	cfg = load_file("etc/lab.conf", has_dns);
	dc = gw_config_module(cfg, &dns_mod);
	if (has_dns) {
		assert_non_null(dc);
		/* the lab never resolves from the real root servers */
		assert_true(dc->root_hints || dc->nforward);
	} else {
		assert_null(dc);
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
		cmocka_unit_test(test_default_listen),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_forward_zones),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_length),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_host_dups_many),
		cmocka_unit_test(test_two_sections),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_lab_config),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
