/* test_nat_config.c — the nat section: the golden files of
 * modules/nat/tests/config (run from the source root), the typed values
 * and defaults, the LAN devices, the forward lookup, the shape comparison
 * reloads use, the check against the live LAN subnets (with an interface
 * table fed rtnetlink messages built here), the hostile-file bounds, and
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
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_config.h"
#include "golden.h"
#include "iface.h"
#include "module.h"
#include "nat_config.h"

#define GOLDEN_DIR "modules/nat/tests/config/"

/* ---- module tables ---- */

static const struct gw_module nat_mod = {
	.name = "nat", .sections = golden_sections_nat, .configure = nat_configure,
	.free_config = nat_config_free};
/* main.c's order */
static const struct gw_module *const table[] = {&golden_dhcp, &golden_dns, &nat_mod, &golden_igmp};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* ---- golden files ---- */

static bool has_nat_config(const char *conf, const struct gw_config *cfg)
{
	if (gw_config_module(cfg, &nat_mod))
		return true;
	print_error("%s: no nat config\n", conf);
	return false;
}

static const struct golden_suite golden = {GOLDEN_DIR, table, NTABLE, has_nat_config};

static void test_golden(void **state)
{
	golden_run(&golden, 20);
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
	const struct nat_config *nc;
};

/* TEXT must load with exactly the warnings WANT ("" for none). */
static struct loaded load_warn(const char *text, const char *want)
{
	struct loaded l;

	l.nc = golden_load_module(table, NTABLE, &nat_mod, text, want, &l.cfg);
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

static void assert_forward(const struct nat_forward *f, enum nat_proto proto, uint16_t first, uint16_t last,
			   const char *to, uint16_t to_port)
{
	assert_int_equal(f->proto, proto);
	assert_int_equal(f->first, first);
	assert_int_equal(f->last, last);
	golden_assert_ip(f->to, to);
	assert_int_equal(f->to_port, to_port);
}

static void assert_open(const struct nat_open *o, enum nat_proto proto, uint16_t first, uint16_t last)
{
	assert_int_equal(o->proto, proto);
	assert_int_equal(o->first, first);
	assert_int_equal(o->last, last);
}

#define WAN "interface wan { device eth0 }\n"
#define LAN "interface lan { device br-lan }\n"
#define GUEST "interface guest { device br-guest }\n"

/* ---- absent, defaults ---- */

static void test_absent(void **state)
{
	struct loaded l = load_warn(WAN, "warning: t.conf:1:1: interface wan: not used by any section\n");

	/* no section: the module does not run */
	assert_null(l.nc);
	done(&l);
}

static void test_defaults(void **state)
{
	struct loaded l = load_ok(WAN "nat { masquerade wan }\n");
	const struct nat_config *nc = l.nc;

	assert_non_null(nc);
	assert_int_equal(nc->nmasq, 1);
	assert_string_equal(nc->masq[0].iface, "wan");
	assert_string_equal(nc->masq[0].device, "eth0");
	assert_int_equal(nc->masq[0].pos.line, 2);
	assert_int_equal(nc->masq[0].pos.col, 18);
	assert_int_equal(nc->nforwards, 0);
	assert_int_equal(nc->forward_ports, 0);
	assert_int_equal(nc->nopen, 0);
	assert_true(nc->hairpin);
	assert_true(nc->firewall);
	assert_false(nc->pcp);
	assert_int_equal(nc->pcp_lifetime_min, 120);
	assert_int_equal(nc->pcp_lifetime_max, 86400);
	assert_int_equal(nc->nlan_devices, 0);
	assert_true(gw_config_iface(l.cfg, "wan")->used);
	assert_null(nat_config_forward(nc, NAT_TCP, 80));
	done(&l);
}

/* ---- values ---- */

static void test_values(void **state)
{
	struct loaded l = load_ok(GUEST LAN WAN "interface wan2 { device ppp0 }\n"
						"dhcp lan { }\n"
						"dhcp-relay guest { }\n"
						"nat {\n"
						"\tmasquerade wan2\n"
						"\tmasquerade wan\n"
						"\tforward udp 5000-5010 192.168.1.30\n"
						"\tforward tcp 8080 192.168.1.10:80\n"
						"\tforward tcp 5000-5010 192.168.1.30:6000\n"
						"\tforward udp 51820 192.168.1.20\n"
						"\tforward tcp 65535 10.0.0.1:1\n"
						"\thairpin no\n"
						"\tfirewall no\n"
						"\tpcp yes\n"
						"\tpcp-lifetime 90s 2h\n"
						"}\n");
	const struct nat_config *nc = l.nc;

	assert_int_equal(nc->nmasq, 2);
	/* file order */
	assert_string_equal(nc->masq[0].iface, "wan2");
	assert_string_equal(nc->masq[0].device, "ppp0");
	assert_string_equal(nc->masq[1].iface, "wan");
	assert_string_equal(nc->masq[1].device, "eth0");
	/* sorted by (proto, first): tcp (6) before udp (17) */
	assert_int_equal(nc->nforwards, 5);
	assert_forward(&nc->forwards[0], NAT_TCP, 5000, 5010, "192.168.1.30", 6000);
	assert_int_equal(nc->forwards[0].pos.line, 12);
	assert_int_equal(nc->forwards[0].pos.col, 2);
	assert_forward(&nc->forwards[1], NAT_TCP, 8080, 8080, "192.168.1.10", 80);
	assert_forward(&nc->forwards[2], NAT_TCP, 65535, 65535, "10.0.0.1", 1);
	assert_forward(&nc->forwards[3], NAT_UDP, 5000, 5010, "192.168.1.30", 5000);
	assert_int_equal(nc->forwards[3].pos.line, 10);
	assert_forward(&nc->forwards[4], NAT_UDP, 51820, 51820, "192.168.1.20", 51820);
	assert_int_equal(nc->forward_ports, 11 + 1 + 1 + 11 + 1);
	assert_false(nc->hairpin);
	assert_false(nc->firewall);
	assert_true(nc->pcp);
	assert_int_equal(nc->pcp_lifetime_min, 90);
	assert_int_equal(nc->pcp_lifetime_max, 7200);
	assert_int_equal(nc->nlan_devices, 2);
	assert_string_equal(nc->lan_devices[0], "br-guest");
	assert_string_equal(nc->lan_devices[1], "br-lan");
	done(&l);
}

/* Opens are sorted like the forwards; with the firewall they load quietly,
 * without it every one is pointless: one warning, at the first. */
static void test_open(void **state)
{
	struct loaded l = load_ok(WAN "nat {\n"
				      "\tmasquerade wan\n"
				      "\topen udp 53\n"
				      "\topen tcp 443\n"
				      "\topen tcp 22\n"
				      "\topen udp 60000-60010\n"
				      "\tforward tcp 23 10.0.0.2\n"
				      "\tforward tcp 21 10.0.0.2\n"
				      "\tforward udp 22 10.0.0.2\n"
				      "}\n");
	const struct nat_config *nc = l.nc;

	assert_int_equal(nc->nopen, 4);
	assert_open(&nc->open[0], NAT_TCP, 22, 22);
	assert_int_equal(nc->open[0].pos.line, 6);
	assert_open(&nc->open[1], NAT_TCP, 443, 443);
	assert_open(&nc->open[2], NAT_UDP, 53, 53);
	assert_open(&nc->open[3], NAT_UDP, 60000, 60010);
	done(&l);

	l = load_warn(
		WAN "nat { masquerade wan; firewall no; open tcp 22; open tcp 23 }\n",
		"warning: t.conf:2:36: nat: open: has no effect with firewall no (nothing from the WAN is "
		"dropped)\n");
	assert_int_equal(l.nc->nopen, 2);
	done(&l);
}

/* ---- the LAN ---- */

static void test_lan_devices(void **state)
{
	struct loaded l =
		load_warn(WAN LAN GUEST "interface iot { device br-iot }\n"
					"interface dmz { device br-dmz }\n"
					"interface lan2 { device br-lan }\n"  /* the same device again */
					"interface wan-lan { device eth0 }\n" /* the masqueraded device */
					"dhcp lan { }\n"
					"dhcp lan2 { }\n"
					"dhcp 10.30.0.0/24 { router 10.30.0.1 }\n"
					"dhcp-relay iot { server 10.20.0.2 }\n"
					"dhcp-relay guest { server 10.20.0.2 }\n"
					"dhcp wan-lan { }\n"
					"dhcp nowhere { }\n" /* undefined: the dhcp module's error */
					"nat { masquerade wan }\n",
			  /* without pcp nothing of ours listens on the LAN: the dhcp stand-in
				     * marks nothing either */
			  "warning: t.conf:2:1: interface lan: not used by any section\n"
			  "warning: t.conf:3:1: interface guest: not used by any section\n"
			  "warning: t.conf:4:1: interface iot: not used by any section\n"
			  "warning: t.conf:5:1: interface dmz: not used by any section\n"
			  "warning: t.conf:6:1: interface lan2: not used by any section\n"
			  "warning: t.conf:7:1: interface wan-lan: not used by any section\n");
	const struct nat_config *nc = l.nc;

	assert_int_equal(nc->nlan_devices, 3);
	assert_string_equal(nc->lan_devices[0], "br-guest");
	assert_string_equal(nc->lan_devices[1], "br-iot");
	assert_string_equal(nc->lan_devices[2], "br-lan");
	done(&l);

	/* with pcp: the LAN interfaces are used (PCP listens there) */
	l = load_warn(WAN LAN GUEST "interface dmz { device br-dmz }\n"
				    "dhcp lan { }\n"
				    "dhcp-relay guest { }\n"
				    "nat { masquerade wan; pcp yes }\n",
		      "warning: t.conf:4:1: interface dmz: not used by any section\n");
	assert_int_equal(l.nc->nlan_devices, 2);
	assert_true(gw_config_iface(l.cfg, "lan")->used);
	assert_true(gw_config_iface(l.cfg, "guest")->used);
	assert_false(gw_config_iface(l.cfg, "dmz")->used);
	done(&l);

	/* a masqueraded interface is never LAN, even with a scope */
	expect_fail(
		WAN LAN "dhcp wan { }\ndhcp 10.30.0.0/24 { }\nnat { masquerade wan; pcp yes }\n",
		"t.conf:5:27: nat: pcp: no LAN interface to answer on (an interface with a dhcp scope or a "
		"dhcp-relay, not masqueraded)\n");
}

/* ---- bounds and errors the golden files do not pin ---- */

static void test_bounds(void **state)
{
	struct loaded l = load_ok(WAN "nat { masquerade wan; forward tcp 1-65535 10.0.0.1:1; forward udp "
				      "65535 10.0.0.1:65535; pcp-lifetime 1s 7d }\n");

	assert_forward(&l.nc->forwards[0], NAT_TCP, 1, 65535, "10.0.0.1", 1);
	assert_forward(&l.nc->forwards[1], NAT_UDP, 65535, 65535, "10.0.0.1", 65535);
	assert_int_equal(l.nc->forward_ports, 65536);
	assert_int_equal(l.nc->pcp_lifetime_min, 1);
	assert_int_equal(l.nc->pcp_lifetime_max, 7 * 86400);
	done(&l);
	l = load_ok(WAN "nat { masquerade wan; pcp-lifetime 1h 1h }\n");
	assert_int_equal(l.nc->pcp_lifetime_min, 3600);
	assert_int_equal(l.nc->pcp_lifetime_max, 3600);
	done(&l);
	expect_fail(
		WAN "nat { masquerade wan; forward tcp 2-65535 10.0.0.1:2; forward tcp 1 10.0.0.1:65535; "
		    "forward udp 1-65535 10.0.0.1:2 }\n",
		"t.conf:2:105: nat: forward: \"10.0.0.1:2\": the 65535 ports of 1-65535 would end at port "
		"65536, past 65535\n");
	expect_fail(WAN "nat { masquerade wan; pcp-lifetime 0s 604801 }\n",
		    "t.conf:2:36: nat: pcp-lifetime: \"0s\" is out of range (1s to 7d)\n"
		    "t.conf:2:39: nat: pcp-lifetime: \"604801\" is out of range (1s to 7d)\n");
}

/* The errors come in file order, each at the later statement of a pair,
 * naming the earlier one. */
static void test_overlap_messages(void **state)
{
	expect_fail(WAN "nat {\n"
			"\tmasquerade wan\n"
			"\tforward tcp 100-200 10.0.0.1\n" /* line 4 */
			"\tforward tcp 150 10.0.0.2\n"
			"\tforward tcp 10-20 10.0.0.3\n"
			"\tforward tcp 1-50 10.0.0.4\n"
			"\tforward udp 150 10.0.0.5\n"
			"\tforward tcp 150 10.0.0.6\n"
			"\tforward tcp 201-300 10.0.0.7\n"
			"}\n",
		    "t.conf:5:14: nat: forward: tcp 150 overlaps tcp 100-200 (line 4)\n"
		    "t.conf:7:14: nat: forward: tcp 1-50 overlaps tcp 10-20 (line 6)\n"
		    "t.conf:9:14: nat: forward: tcp 150 is given more than once (first at line 5)\n");
	/* open against forwards: the sorted search finds the one at either end */
	expect_fail(
		WAN
		"nat { masquerade wan; forward tcp 100-200 10.0.0.1; forward tcp 300 10.0.0.1\n"
		"open tcp 50-100; open tcp 200-299; open tcp 201-299; open tcp 1-65535; open tcp 301-400 }\n",
		"t.conf:3:45: nat: open: tcp 201-299 overlaps tcp 200-299 (line 3)\n"
		"t.conf:3:63: nat: open: tcp 1-65535 overlaps tcp 50-100 (line 3)\n"
		"t.conf:3:81: nat: open: tcp 301-400 overlaps tcp 1-65535 (line 3)\n"
		"t.conf:3:10: nat: open: tcp 50-100 is forwarded too (tcp 100-200, line 2): a port goes to the "
		"router or to a forward, not both\n"
		"t.conf:3:27: nat: open: tcp 200-299 is forwarded too (tcp 100-200, line 2): a port goes to "
		"the router or to a forward, not both\n"
		"t.conf:3:63: nat: open: tcp 1-65535 is forwarded too (tcp 300, line 2): a port goes to the "
		"router or to a forward, not both\n");
}

/* ---- nat_config_forward ---- */

static void test_forward_lookup(void **state)
{
	struct loaded l =
		load_ok(WAN "nat { masquerade wan; forward tcp 5000-5010 10.0.0.1; forward tcp 8080 "
			    "10.0.0.2:80; forward udp 5000 10.0.0.3; forward tcp 1 10.0.0.4; forward tcp "
			    "65535 10.0.0.5; forward udp 65535 10.0.0.6 }\n");
	const struct nat_config *nc = l.nc;

	assert_null(nat_config_forward(nc, NAT_TCP, 0));
	golden_assert_ip(nat_config_forward(nc, NAT_TCP, 1)->to, "10.0.0.4");
	assert_null(nat_config_forward(nc, NAT_TCP, 2));
	assert_null(nat_config_forward(nc, NAT_TCP, 4999));
	golden_assert_ip(nat_config_forward(nc, NAT_TCP, 5000)->to, "10.0.0.1");
	golden_assert_ip(nat_config_forward(nc, NAT_TCP, 5005)->to, "10.0.0.1");
	golden_assert_ip(nat_config_forward(nc, NAT_TCP, 5010)->to, "10.0.0.1");
	assert_null(nat_config_forward(nc, NAT_TCP, 5011));
	assert_int_equal(nat_config_forward(nc, NAT_TCP, 8080)->to_port, 80);
	assert_null(nat_config_forward(nc, NAT_TCP, 8081));
	golden_assert_ip(nat_config_forward(nc, NAT_TCP, 65535)->to, "10.0.0.5");
	assert_null(nat_config_forward(nc, NAT_UDP, 1));
	assert_null(nat_config_forward(nc, NAT_UDP, 4999));
	golden_assert_ip(nat_config_forward(nc, NAT_UDP, 5000)->to, "10.0.0.3");
	assert_null(nat_config_forward(nc, NAT_UDP, 5001));
	golden_assert_ip(nat_config_forward(nc, NAT_UDP, 65535)->to, "10.0.0.6");
	assert_null(nat_config_forward(NULL, NAT_TCP, 5000));
	done(&l);
}

/* Many forwards of uneven widths, against a scan of every port. */
static void test_forward_lookup_many(void **state)
{
	size_t cap = 1024 * 1024, len;
	char *text = malloc(cap);
	struct loaded l;
	unsigned port = 1, n = 0;

	assert_non_null(text);
	len = (size_t)sprintf(text, WAN "nat {\nmasquerade wan\n");
	/* tcp: forwards of 1..7 ports with gaps of 0..4; udp: every third port */
	while (port + 7 < 65535) {
		unsigned w = n % 7 + 1;

		len += (size_t)sprintf(text + len, "forward tcp %u-%u 10.0.%u.%u\n", port, port + w - 1,
				       n >> 8 & 255, n & 255);
		port += w + n % 5;
		n++;
	}
	for (port = 3; port <= 65535 && len < cap - 64; port += 3)
		len += (size_t)sprintf(text + len, "forward udp %u 10.1.0.1\n", port);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.nc->nforwards, n + 21845);
	/* the same answers as a walk through the file's forwards */
	for (unsigned p = 0, k = 0, start = 1; p <= 65535; p++) {
		const struct nat_forward *f = nat_config_forward(l.nc, NAT_TCP, (uint16_t)p);
		unsigned w = k % 7 + 1;

		while (k < n && p >= start + w) {
			start += w + k % 5;
			k++;
			w = k % 7 + 1;
		}
		if (k < n && p >= start && p < start + w) {
			assert_non_null(f);
			assert_int_equal(f->first, start);
			assert_int_equal(f->last, start + w - 1);
		} else {
			assert_null(f);
		}
		f = nat_config_forward(l.nc, NAT_UDP, (uint16_t)p);
		assert_int_equal(f != NULL, p > 0 && p % 3 == 0);
	}
	done(&l);
	free(text);
}

/* ---- nat_config_same_shape ---- */

#define SHAPE_IFACES WAN LAN "interface wan2 { device ppp0 }\ndhcp lan { }\n"

/* TEXT must load; warnings may only be about unused interfaces and open
 * without the firewall. */
static struct loaded load_any(const char *text)
{
	struct cf_errors e;
	struct loaded l;

	l.cfg = load_text(text, &e);
	if (!l.cfg)
		golden_expect_lines(&e, "");
	for (size_t i = 0; i < e.nwarnings; i++)
		assert_true(strstr(e.warnings[i], ": not used by any section") ||
			    strstr(e.warnings[i], "nat: open: has no effect with firewall no"));
	cf_errors_free(&e);
	l.nc = gw_config_module(l.cfg, &nat_mod);
	assert_non_null(l.nc);
	return l;
}

static bool shape_same(const char *a, const char *b)
{
	struct loaded la = load_any(a), lb = load_any(b);
	bool same = nat_config_same_shape(la.nc, lb.nc);

	/* symmetric */
	assert_int_equal(nat_config_same_shape(lb.nc, la.nc), same);
	done(&la);
	done(&lb);
	return same;
}

static void test_same_shape(void **state)
{
	const char *base = SHAPE_IFACES "nat { masquerade wan; masquerade wan2; forward tcp 80 192.168.1.10; "
					"open tcp 22; open udp 53; pcp yes; pcp-lifetime 2m 1d }\n";
	struct loaded l = load_ok(base);

	assert_true(nat_config_same_shape(l.nc, l.nc));
	assert_false(nat_config_same_shape(l.nc, NULL));
	assert_false(nat_config_same_shape(NULL, l.nc));
	assert_true(nat_config_same_shape(NULL, NULL));
	done(&l);

	/* forwards, lifetimes and the order of masquerade and open do not count */
	assert_true(shape_same(base, SHAPE_IFACES
			       "nat { masquerade wan2; masquerade wan; forward tcp 81-90 "
			       "192.168.1.11; forward udp 1 192.168.1.1; open udp 53; open tcp 22; "
			       "pcp yes; pcp-lifetime 1m 2d }\n"));
	assert_true(shape_same(base,
			       SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; open udp "
					    "53; pcp yes; hairpin yes; firewall yes }\n"));
	/* the rest does */
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; forward tcp 80 192.168.1.10; open tcp "
					     "22; open udp 53; pcp yes }\n"));
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; open udp "
					     "53; pcp yes; hairpin no }\n"));
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; open udp "
					     "53; pcp yes; firewall no }\n"));
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; open udp "
					     "53; pcp no }\n"));
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; open udp "
					     "53-54; pcp yes }\n"));
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; open tcp "
					     "53; pcp yes }\n"));
	assert_false(shape_same(base,
				SHAPE_IFACES "nat { masquerade wan; masquerade wan2; open tcp 22; pcp yes "
					     "}\n"));
	/* the same count, another device */
	assert_false(shape_same(WAN LAN "interface wan2 { device ppp0 }\nnat { masquerade wan }\n",
				WAN LAN "interface wan2 { device ppp0 }\nnat { masquerade wan2 }\n"));
}

/* ---- live: the LAN subnets on a reload ---- */

static _Alignas(8) uint8_t nlbuf[4096];

static void add_link(struct gw_iface_table *t, int index, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nlbuf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP | IFF_RUNNING | IFF_BROADCAST;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	assert_int_equal(gw_iface_handle_buf(t, nlbuf, nlh->nlmsg_len), 0);
}

static void add_addr(struct gw_iface_table *t, int index, const char *addr, uint8_t prefixlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nlbuf);
	struct ifaddrmsg *ifa;
	struct in_addr a = golden_ip(addr);

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), &a);
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), &a);
	assert_int_equal(gw_iface_handle_buf(t, nlbuf, nlh->nlmsg_len), 0);
}

/* br-lan 192.168.1.1/24, br-guest 10.20.0.1/24 and 10.21.0.1/16, eth0
 * (the WAN) 203.0.113.2/24, br-iot without an address. */
static struct gw_iface_table *live_table(void)
{
	struct gw_iface_table *t = gw_iface_table_new();

	assert_non_null(t);
	add_link(t, 2, "br-lan");
	add_addr(t, 2, "192.168.1.1", 24);
	add_link(t, 3, "br-guest");
	add_addr(t, 3, "10.20.0.1", 24);
	add_addr(t, 3, "10.21.0.1", 16);
	add_link(t, 4, "eth0");
	add_addr(t, 4, "203.0.113.2", 24);
	add_link(t, 5, "br-iot");
	return t;
}

/* nat_configure() of TEXT's config again, as a reload with T would run it:
 * exactly the errors WANT, and the config only when there are none. */
static void configure_live(const char *text, const struct gw_iface_table *t, const char *want)
{
	struct cf_errors e;
	struct loaded l = load_warn(text, "");
	void *nc = NULL;
	int rc;

	l.cfg->live_ifaces = t;
	cf_errors_init(&e);
	rc = nat_configure(l.cfg, &nc, &e);
	assert_int_equal(rc, 0);
	golden_expect_lines(&e, want);
	assert_non_null(nc);
	nat_config_free(nc);
	cf_errors_free(&e);
	l.cfg->live_ifaces = NULL;
	done(&l);
}

#define LIVE_IFACES                                       \
	WAN LAN GUEST "interface iot { device br-iot }\n" \
		      "dhcp lan { }\ndhcp-relay guest { }\ndhcp iot { }\n"

static void test_live_subnets(void **state)
{
	struct gw_iface_table *t = live_table();
	const char *text = LIVE_IFACES "nat {\n"
				       "\tmasquerade wan\n"
				       "\tpcp yes\n"
				       "\tforward tcp 80 192.168.1.10\n"
				       "\tforward tcp 81 10.9.9.9:81\n"
				       "\tforward tcp 82 10.21.200.1\n"
				       "\tforward tcp 83 203.0.113.5\n" /* the WAN's subnet is not the LAN */
				       "\tforward tcp 84 10.20.0.255\n"
				       "\tforward tcp 85 192.168.2.0\n"
				       "}\n";

	configure_live(text, t,
		       "t.conf:12:17: nat: forward: 10.9.9.9 is in no LAN subnet (guest: 10.20.0.1/24 "
		       "10.21.0.1/16, lan: 192.168.1.1/24)\n"
		       "t.conf:14:17: nat: forward: 203.0.113.5 is in no LAN subnet (guest: 10.20.0.1/24 "
		       "10.21.0.1/16, lan: 192.168.1.1/24)\n"
		       "t.conf:16:17: nat: forward: 192.168.2.0 is in no LAN subnet (guest: 10.20.0.1/24 "
		       "10.21.0.1/16, lan: 192.168.1.1/24)\n");
	/* without the live table (start, --check) the same file loads */
	configure_live(text, NULL, "");
	gw_iface_table_free(t);
}

/* No LAN device has an address (or exists): nothing to check against. */
static void test_live_no_lan_address(void **state)
{
	struct gw_iface_table *t = gw_iface_table_new();
	const char *text = WAN LAN "interface iot { device br-iot }\ndhcp lan { }\ndhcp iot { }\n"
				   "nat { masquerade wan; pcp yes; forward tcp 80 10.9.9.9 }\n";

	assert_non_null(t);
	configure_live(text, t, "");
	add_link(t, 4, "eth0");
	add_addr(t, 4, "10.9.9.1", 24); /* the WAN's: not the LAN */
	add_link(t, 5, "br-iot");
	configure_live(text, t, "");
	add_addr(t, 5, "10.8.0.1", 16);
	configure_live(text, t,
		       "t.conf:6:47: nat: forward: 10.9.9.9 is in no LAN subnet (iot: 10.8.0.1/16)\n");
	gw_iface_table_free(t);
}

/* Many LAN addresses: the message stays one bounded line. */
static void test_live_long_list(void **state)
{
	struct gw_iface_table *t = gw_iface_table_new();
	char *text = malloc(65536), dev[IF_NAMESIZE], addr[INET_ADDRSTRLEN];
	size_t len;
	struct cf_errors e;
	struct loaded l;
	void *nc = NULL;

	assert_non_null(text);
	len = (size_t)sprintf(text, WAN);
	for (int i = 0; i < 40; i++) {
		snprintf(dev, sizeof(dev), "br%d", i);
		add_link(t, 10 + i, dev);
		for (int k = 0; k < 3; k++) {
			snprintf(addr, sizeof(addr), "10.%d.%d.1", i, k);
			add_addr(t, 10 + i, addr, 24);
		}
		len += (size_t)sprintf(text + len, "interface lan%d { device br%d }\ndhcp lan%d { }\n", i, i,
				       i);
	}
	sprintf(text + len,
		"nat { masquerade wan; pcp yes; forward udp 1 10.0.3.1; forward udp 2 10.39.2.9 }\n");
	l = load_ok(text);
	l.cfg->live_ifaces = t;
	cf_errors_init(&e);
	assert_int_equal(nat_configure(l.cfg, &nc, &e), 0);
	nat_config_free(nc);
	/* 10.39.2.9 is in br39's last subnet: found, though the text cannot name it */
	assert_int_equal(e.nerrors, 1);
	assert_non_null(strstr(e.errors[0], "nat: forward: 10.0.3.1 is in no LAN subnet (lan0: 10.0.0.1/24 "
					    "10.0.1.1/24 10.0.2.1/24, lan1: 10.1.0.1/24"));
	assert_string_equal(e.errors[0] + strlen(e.errors[0]) - 5, " ...)");
	assert_true(strlen(e.errors[0]) < 400);
	cf_errors_free(&e);
	l.cfg->live_ifaces = NULL;
	done(&l);
	gw_iface_table_free(t);
	free(text);
}

/* The whole path: gw_config_load_live() hands the table to configure(). */
static void test_live_load(void **state)
{
	char path[] = "/tmp/test_nat_config.XXXXXX", want[512];
	const char *text = LIVE_IFACES "nat { masquerade wan; pcp yes; forward tcp 80 10.9.9.9 }\n";
	struct gw_iface_table *t = live_table();
	int fd = mkstemp(path);
	struct gw_config *cfg;
	struct cf_errors e;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cf_errors_init(&e);
	cfg = gw_config_load_live(path, table, NTABLE, t, &e);
	assert_null(cfg);
	snprintf(
		want, sizeof(want),
		"%s:8:47: nat: forward: 10.9.9.9 is in no LAN subnet (guest: 10.20.0.1/24 10.21.0.1/16, lan: "
		"192.168.1.1/24)\n",
		path);
	golden_expect_lines(&e, want);
	cf_errors_free(&e);

	/* a start of the same file: no live table, no check */
	cf_errors_init(&e);
	cfg = gw_config_load(path, table, NTABLE, &e);
	golden_expect_lines(&e, "");
	assert_non_null(cfg);
	assert_null(cfg->live_ifaces);
	gw_config_free(cfg);
	cf_errors_free(&e);
	unlink(path);
	gw_iface_table_free(t);
}

/* ---- hostile files ---- */

static void test_masquerade_cap(void **state)
{
	size_t len = 0;
	char *text = malloc(8192);
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	for (int i = 0; i <= NAT_MAX_MASQUERADE; i++)
		len += (size_t)sprintf(text + len, "interface w%d { device ppp%d }\n", i, i);
	len += (size_t)sprintf(text + len, "nat {\n");
	for (int i = 0; i < NAT_MAX_MASQUERADE; i++)
		len += (size_t)sprintf(text + len, "masquerade w%d\n", i);
	sprintf(text + len, "}\n");
	/* w32 is nobody's */
	l = load_warn(text, "warning: t.conf:33:1: interface w32: not used by any section\n");
	assert_int_equal(l.nc->nmasq, NAT_MAX_MASQUERADE);
	assert_string_equal(l.nc->masq[31].device, "ppp31");
	done(&l);
	sprintf(text + len, "masquerade w32\nmasquerade w32\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:67:12: nat: masquerade: too many (at most 32)\n");
	cf_errors_free(&e);
	free(text);
}

static void test_open_cap(void **state)
{
	size_t len;
	char *text = malloc(65536);
	struct cf_errors e;
	struct loaded l;

	assert_non_null(text);
	len = (size_t)sprintf(text, WAN "nat {\nmasquerade wan\n");
	for (int i = 0; i < NAT_MAX_OPEN; i++)
		len += (size_t)sprintf(text + len, "open %s %d\n", i & 1 ? "udp" : "tcp", 1000 + i);
	sprintf(text + len, "}\n");
	l = load_ok(text);
	assert_int_equal(l.nc->nopen, NAT_MAX_OPEN);
	assert_open(&l.nc->open[0], NAT_TCP, 1000, 1000);
	assert_open(&l.nc->open[NAT_MAX_OPEN - 1], NAT_UDP, 2023, 2023);
	done(&l);
	sprintf(text + len, "open tcp 1\nopen tcp 2\n}\n");
	assert_null(load_text(text, &e));
	golden_expect_lines(&e, "t.conf:1028:1: nat: open: too many (at most 1024)\n");
	cf_errors_free(&e);
	free(text);
}

/* Overlapping forwards past the port budget: one error for the budget,
 * one per overlap, and the work stays bounded. */
static void test_forward_ports_cap(void **state)
{
	expect_fail(WAN "nat { masquerade wan\n"
			"forward tcp 1-65535 10.0.0.1\n"
			"forward udp 1-65535 10.0.0.1\n"
			"forward tcp 1-65535 10.0.0.1\n"
			"forward udp 1-65535 10.0.0.1\n"
			"forward udp 1-65535 10.0.0.1\n"
			"forward udp 1 10.0.0.1\n"
			"}\n",
		    "t.conf:7:13: nat: forward: too many ports forwarded (at most 262144 in all)\n"
		    "t.conf:5:13: nat: forward: tcp 1-65535 is given more than once (first at line 3)\n"
		    "t.conf:6:13: nat: forward: udp 1-65535 is given more than once (first at line 4)\n");
}

/* NAT_MAX_FORWARDS single-port forwards load (every tcp port and the
 * first udp ones: they overlap nowhere); one more is one error. The file
 * is bigger than one config file may be: its forwards are included. */
static void test_forward_count_cap(void **state)
{
	char dir[] = "/tmp/test_nat_config.XXXXXX", main_path[64], part[64], want[256];
	struct gw_config *cfg;
	struct cf_errors e;
	FILE *f = NULL;
	unsigned n = 0;

	assert_non_null(mkdtemp(dir));
	for (int file = 0; file < 3; file++) {
		snprintf(part, sizeof(part), "%s/part%d.conf", dir, file);
		f = fopen(part, "w");
		assert_non_null(f);
		for (unsigned i = 0; i < 22000 && n < NAT_MAX_FORWARDS; i++, n++)
			fprintf(f, "forward %s %u 10.0.0.1\n", n < 65535 ? "tcp" : "udp", n % 65535 + 1);
		fclose(f);
	}
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	f = fopen(main_path, "w");
	assert_non_null(f);
	fprintf(f, WAN "nat {\nmasquerade wan\ninclude \"part0.conf\"\ninclude \"part1.conf\"\n"
		       "include \"part2.conf\"\n}\n");
	fclose(f);
	cf_errors_init(&e);
	cfg = gw_config_load(main_path, table, NTABLE, &e);
	golden_expect_lines(&e, "");
	assert_non_null(cfg);
	assert_int_equal(((const struct nat_config *)gw_config_module(cfg, &nat_mod))->nforwards,
			 NAT_MAX_FORWARDS);
	assert_int_equal(((const struct nat_config *)gw_config_module(cfg, &nat_mod))->forward_ports,
			 NAT_MAX_FORWARDS);
	gw_config_free(cfg);
	cf_errors_free(&e);

	snprintf(part, sizeof(part), "%s/part2.conf", dir);
	f = fopen(part, "a");
	assert_non_null(f);
	fprintf(f, "forward udp 3 10.0.0.1\nforward udp 4 10.0.0.1\n");
	fclose(f);
	cf_errors_init(&e);
	assert_null(gw_config_load(main_path, table, NTABLE, &e));
	snprintf(want, sizeof(want), "%s:21537:1: nat: forward: too many (at most 65536)\n", part);
	golden_expect_lines(&e, want);
	cf_errors_free(&e);
	for (int file = 0; file < 3; file++) {
		snprintf(part, sizeof(part), "%s/part%d.conf", dir, file);
		unlink(part);
	}
	unlink(main_path);
	rmdir(dir);
}

/* Only the first nat section is read; the second is the core's error. */
static void test_two_sections(void **state)
{
	expect_fail(WAN "nat { masquerade wan }\nnat { masquerade wan; pcp maybe }\n",
		    "t.conf:3:1: nat: duplicate section (first at line 2)\n");
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

/* What the example's comments say it does. */
static void test_example_config(void **state)
{
	struct gw_config *cfg = load_file("etc/homegw.conf");
	const struct nat_config *nc = gw_config_module(cfg, &nat_mod);

	if (!cf_find(cfg->tree->root, "nat")) {
		assert_null(nc);
		gw_config_free(cfg);
		return;
	}
	assert_non_null(nc);
	assert_true(nc->nmasq >= 1);
	assert_string_equal(nc->masq[0].iface, "wan");
	assert_true(nc->nforwards >= 1);
	for (size_t i = 0; i < nc->nforwards; i++)
		assert_int_equal(ntohl(nc->forwards[i].to.s_addr) >> 8, 0xc0a801); /* 192.168.1.0/24 */
	/* the LAN: lan's scope and guest's relay, never the WAN */
	for (size_t i = 0; i < nc->nlan_devices; i++)
		assert_string_not_equal(nc->lan_devices[i], nc->masq[0].device);
	if (nc->pcp)
		assert_true(nc->nlan_devices >= 1);
	assert_true(nc->pcp_lifetime_min <= nc->pcp_lifetime_max);
	gw_config_free(cfg);
}

/* The lab's file: a nat section when the lab runs NAT, else none. */
static void test_lab_config(void **state)
{
	struct gw_config *cfg = load_file("etc/lab.conf");
	const struct nat_config *nc = gw_config_module(cfg, &nat_mod);

	if (cf_find(cfg->tree->root, "nat")) {
		assert_non_null(nc);
		assert_true(nc->nmasq >= 1);
		/* PCP needs the LAN: lan's dhcp scope is on veth-lan */
		if (nc->pcp) {
			assert_int_equal(nc->nlan_devices, 1);
			assert_string_equal(nc->lan_devices[0], "veth-lan");
		}
	} else {
		assert_null(nc);
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
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_lan_devices),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_overlap_messages),
		cmocka_unit_test(test_forward_lookup),
		cmocka_unit_test(test_forward_lookup_many),
		cmocka_unit_test(test_same_shape),
		cmocka_unit_test(test_live_subnets),
		cmocka_unit_test(test_live_no_lan_address),
		cmocka_unit_test(test_live_long_list),
		cmocka_unit_test(test_live_load),
		cmocka_unit_test(test_masquerade_cap),
		cmocka_unit_test(test_open_cap),
		cmocka_unit_test(test_forward_ports_cap),
		cmocka_unit_test(test_forward_count_cap),
		cmocka_unit_test(test_two_sections),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_lab_config),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
