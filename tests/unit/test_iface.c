/* test_iface.c — the interface table (iface.c): the pure netlink message
 * handling, fed with messages built here, and one run against the real
 * kernel inside a network namespace of the test's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "iface.h"
#include "log.h"

#define MAX_EVENTS 64

struct event {
	enum gw_iface_event ev;
	int ifindex;
	char name[IF_NAMESIZE];
	bool up;
	uint32_t mtu;
	struct gw_iface_addr addr;
	size_t naddrs;
	bool in_table; /* the device was findable by index during the callback */
};

struct recorder {
	const struct gw_iface_table *t;
	struct event ev[MAX_EVENTS];
	size_t n, total;
	bool ignore_changed; /* during a flood of CHANGED events */
};

static void record(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		   const struct gw_iface_addr *addr)
{
	struct recorder *r = data;
	struct event *e;

	r->total++;
	if (r->n == MAX_EVENTS || (r->ignore_changed && ev == GW_IFACE_CHANGED))
		return;
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->ev = ev;
	e->ifindex = ifc->ifindex;
	memcpy(e->name, ifc->name, IF_NAMESIZE);
	e->up = ifc->up;
	e->mtu = ifc->mtu;
	e->naddrs = ifc->naddrs;
	if (addr)
		e->addr = *addr;
	/* ADDR_ events always carry the address, the others never */
	assert_int_equal(addr != NULL, ev == GW_IFACE_ADDR_ADDED || ev == GW_IFACE_ADDR_REMOVED);
	if (r->t)
		e->in_table = gw_iface_by_index(r->t, ifc->ifindex) == ifc;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* ---- message builders ---- */

/* netlink messages must be 4-byte aligned, as the kernel's are */
static _Alignas(8) uint8_t buf[16384];

#define UP_RUNNING (IFF_UP | IFF_RUNNING | IFF_BROADCAST)

static const uint8_t mac1[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t mac2[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

static struct nlmsghdr *link_msg(void *at, uint16_t type, int index, unsigned flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	return nlh;
}

/* A complete RTM_NEWLINK as the kernel sends it (the parts we read). */
static struct nlmsghdr *newlink(void *at, int index, const char *name, unsigned flags, uint32_t mtu,
				const uint8_t *mac)
{
	struct nlmsghdr *nlh = link_msg(at, RTM_NEWLINK, index, flags);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, 6); /* an attribute we do not read */
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nlh;
}

static struct nlmsghdr *addr_msg(void *at, uint16_t type, int index, uint8_t family, uint8_t prefixlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_index = (uint32_t)index;
	return nlh;
}

static void put_in(struct nlmsghdr *nlh, uint16_t type, const char *addr)
{
	struct in_addr a = ip(addr);

	mnl_attr_put(nlh, type, sizeof(a), &a);
}

/* An address as the kernel announces one on an ethernet-like device:
 * IFA_ADDRESS == IFA_LOCAL, plus the broadcast and a label. */
static struct nlmsghdr *newaddr(void *at, uint16_t type, int index, const char *addr, uint8_t prefixlen,
				const char *brd)
{
	struct nlmsghdr *nlh = addr_msg(at, type, index, AF_INET, prefixlen);

	put_in(nlh, IFA_ADDRESS, addr);
	put_in(nlh, IFA_LOCAL, addr);
	if (brd)
		put_in(nlh, IFA_BROADCAST, brd);
	mnl_attr_put_strz(nlh, IFA_LABEL, "eth0");
	mnl_attr_put_u32(nlh, IFA_FLAGS, 0x80);
	return nlh;
}

static int feed(struct gw_iface_table *t, const struct nlmsghdr *nlh)
{
	return gw_iface_handle_msg(t, nlh, nlh->nlmsg_len);
}

/* A table with a recorder, and eth0 (ifindex 2) up with one address. */
struct fixture {
	struct gw_iface_table *t;
	struct recorder r;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.t = gw_iface_table_new();
	assert_non_null(f.t);
	f.r.t = f.t;
	assert_true(gw_iface_subscribe(f.t, record, &f.r) > 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gw_iface_table_free(f->t);
	return 0;
}

static void add_eth0(struct fixture *f)
{
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", UP_RUNNING, 1500, mac1)), 0);
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.51.100.1", 24, "198.51.100.255")), 0);
	f->r.n = f->r.total = 0;
}

/* ---- links ---- */

static void test_add_link(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", UP_RUNNING, 1500, mac1)), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_ADDED);
	assert_int_equal(f->r.ev[0].ifindex, 2);
	assert_string_equal(f->r.ev[0].name, "eth0");
	assert_true(f->r.ev[0].in_table);

	ifc = gw_iface_by_name(f->t, "eth0");
	assert_non_null(ifc);
	assert_ptr_equal(ifc, gw_iface_by_index(f->t, 2));
	assert_int_equal(ifc->flags, IFF_UP | IFF_RUNNING | IFF_BROADCAST);
	assert_true(ifc->up);
	assert_true(ifc->running);
	assert_int_equal(ifc->mtu, 1500);
	assert_int_equal(ifc->mac_len, 6);
	assert_memory_equal(ifc->mac, mac1, 6);
	assert_int_equal(ifc->naddrs, 0);
	assert_null(gw_iface_by_index(f->t, 3));
	assert_null(gw_iface_by_name(f->t, "eth1"));

	/* the same state again (the kernel repeats itself): no event */
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", UP_RUNNING, 1500, mac1)), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(gw_iface_get_stats(f->t)->messages, 2);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 0);
}

static void test_link_without_mac(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	/* ppp: no link-layer address at all */
	assert_int_equal(feed(f->t, newlink(buf, 7, "ppp0", IFF_UP | IFF_POINTOPOINT, 1492, NULL)), 0);
	ifc = gw_iface_by_name(f->t, "ppp0");
	assert_non_null(ifc);
	assert_int_equal(ifc->mac_len, 0);
	assert_false(ifc->running);
}

static void test_rename(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	add_eth0(f);
	assert_int_equal(feed(f->t, newlink(buf, 2, "lan0", UP_RUNNING, 1500, mac1)), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_CHANGED);
	assert_string_equal(f->r.ev[0].name, "lan0");
	assert_null(gw_iface_by_name(f->t, "eth0"));
	ifc = gw_iface_by_name(f->t, "lan0");
	assert_non_null(ifc);
	assert_int_equal(ifc->ifindex, 2);
	assert_int_equal(ifc->naddrs, 1); /* a rename keeps the addresses */
}

static void test_flags_up_down(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	add_eth0(f);
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", IFF_BROADCAST, 1500, mac1)), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_CHANGED);
	assert_false(f->r.ev[0].up);
	ifc = gw_iface_by_index(f->t, 2);
	assert_false(ifc->up);
	assert_false(ifc->running);

	/* up without carrier */
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", IFF_UP | IFF_BROADCAST, 1500, mac1)), 0);
	assert_int_equal(f->r.n, 2);
	assert_true(ifc->up);
	assert_false(ifc->running);
	/* carrier */
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", UP_RUNNING, 1500, mac1)), 0);
	assert_int_equal(f->r.n, 3);
	assert_true(ifc->running);
}

static void test_mtu_and_mac_change(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	add_eth0(f);
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", UP_RUNNING, 9000, mac1)), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_CHANGED);
	assert_int_equal(f->r.ev[0].mtu, 9000);
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", UP_RUNNING, 9000, mac2)), 0);
	assert_int_equal(f->r.n, 2);
	assert_int_equal(f->r.ev[1].ev, GW_IFACE_CHANGED);
	ifc = gw_iface_by_index(f->t, 2);
	assert_memory_equal(ifc->mac, mac2, 6);

	/* a message that carries only flags changes only the flags */
	assert_int_equal(feed(f->t, link_msg(buf, RTM_NEWLINK, 2, IFF_UP | IFF_BROADCAST)), 0);
	assert_int_equal(f->r.n, 3);
	assert_string_equal(ifc->name, "eth0");
	assert_int_equal(ifc->mtu, 9000);
	assert_memory_equal(ifc->mac, mac2, 6);
}

static void test_long_lladdr(void **state)
{
	struct fixture *f = *state;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 9, IFF_UP);
	uint8_t ib[20];

	/* infiniband's 20-byte address is valid but does not fit mac[6] */
	memset(ib, 0xab, sizeof(ib));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "ib0");
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(ib), ib);
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(gw_iface_by_index(f->t, 9)->mac_len, 0);
}

static void test_delete_link(void **state)
{
	struct fixture *f = *state;

	add_eth0(f);
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "203.0.113.1", 24, NULL)), 0);
	f->r.n = 0;
	assert_int_equal(feed(f->t, link_msg(buf, RTM_DELLINK, 2, 0)), 0);
	/* its addresses go first, then the device */
	assert_int_equal(f->r.n, 3);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_ADDR_REMOVED);
	assert_int_equal(f->r.ev[1].ev, GW_IFACE_ADDR_REMOVED);
	assert_true((f->r.ev[0].addr.addr.s_addr == ip("198.51.100.1").s_addr &&
		     f->r.ev[1].addr.addr.s_addr == ip("203.0.113.1").s_addr) ||
		    (f->r.ev[1].addr.addr.s_addr == ip("198.51.100.1").s_addr &&
		     f->r.ev[0].addr.addr.s_addr == ip("203.0.113.1").s_addr));
	assert_int_equal(f->r.ev[2].ev, GW_IFACE_REMOVED);
	assert_int_equal(f->r.ev[2].ifindex, 2);
	assert_string_equal(f->r.ev[2].name, "eth0");
	assert_int_equal(f->r.ev[2].naddrs, 0);
	assert_false(f->r.ev[2].in_table); /* lookups no longer find it */
	assert_null(gw_iface_by_index(f->t, 2));
	assert_null(gw_iface_by_name(f->t, "eth0"));

	/* a DELLINK for a device we do not know: ignored, counted */
	assert_int_equal(feed(f->t, link_msg(buf, RTM_DELLINK, 2, 0)), 0);
	assert_int_equal(f->r.n, 3);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 1);
}

static void test_bridge_port_message_ignored(void **state)
{
	struct fixture *f = *state;
	struct nlmsghdr *nlh;

	add_eth0(f);
	/* "eth0 left its bridge" (AF_BRIDGE) is not "eth0 is gone" */
	nlh = link_msg(buf, RTM_DELLINK, 2, 0);
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family = AF_BRIDGE;
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(f->r.n, 0);
	assert_non_null(gw_iface_by_index(f->t, 2));
}

static void test_iterate(void **state)
{
	struct fixture *f = *state;
	size_t cursor = 0;
	const struct gw_iface *ifc;
	int seen = 0;

	assert_null(gw_iface_next(f->t, &cursor));
	assert_int_equal(feed(f->t, newlink(buf, 1, "lo", IFF_UP | IFF_LOOPBACK, 65536, NULL)), 0);
	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", IFF_UP, 1500, mac1)), 0);
	assert_int_equal(feed(f->t, newlink(buf, 3, "eth1", IFF_UP, 1500, mac2)), 0);
	cursor = 0;
	while ((ifc = gw_iface_next(f->t, &cursor)) != NULL)
		seen |= 1 << ifc->ifindex;
	assert_int_equal(seen, 0xe);
}

static void test_many_links_capped(void **state)
{
	struct fixture *f = *state;
	char name[IF_NAMESIZE];
	int i;

	/* a hostile burst of links: kept up to the cap, the rest counted */
	for (i = 1; i <= 4097; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(feed(f->t, newlink(buf, i, name, 0, 1500, NULL)), 0);
	}
	assert_int_equal(f->r.total, 4096);
	assert_non_null(gw_iface_by_index(f->t, 4096));
	assert_null(gw_iface_by_index(f->t, 4097));
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 1);
	/* room again once one goes */
	assert_int_equal(feed(f->t, link_msg(buf, RTM_DELLINK, 1, 0)), 0);
	assert_int_equal(feed(f->t, newlink(buf, 4097, "d4097", 0, 1500, NULL)), 0);
	assert_non_null(gw_iface_by_index(f->t, 4097));
}

/* ---- addresses ---- */

static void test_add_address(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", IFF_UP, 1500, mac1)), 0);
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.51.100.1", 24, "198.51.100.255")), 0);
	assert_int_equal(f->r.n, 2);
	assert_int_equal(f->r.ev[1].ev, GW_IFACE_ADDR_ADDED);
	assert_int_equal(f->r.ev[1].ifindex, 2);
	assert_int_equal(f->r.ev[1].addr.addr.s_addr, ip("198.51.100.1").s_addr);
	assert_int_equal(f->r.ev[1].addr.prefixlen, 24);
	assert_int_equal(f->r.ev[1].addr.broadcast.s_addr, ip("198.51.100.255").s_addr);
	assert_int_equal(f->r.ev[1].naddrs, 1); /* already in the device during the callback */

	ifc = gw_iface_by_index(f->t, 2);
	assert_int_equal(ifc->naddrs, 1);
	assert_int_equal(ifc->addrs[0].addr.s_addr, ip("198.51.100.1").s_addr);
	assert_int_equal(ifc->addrs[0].prefixlen, 24);

	/* without a broadcast */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "203.0.113.9", 32, NULL)), 0);
	assert_int_equal(ifc->naddrs, 2);
	assert_int_equal(ifc->addrs[1].broadcast.s_addr, 0);
}

static void test_duplicate_address(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	add_eth0(f);
	/* a lifetime update repeats the NEWADDR: no event */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.51.100.1", 24, "198.51.100.255")), 0);
	assert_int_equal(f->r.n, 0);
	ifc = gw_iface_by_index(f->t, 2);
	assert_int_equal(ifc->naddrs, 1);

	/* the same address with another prefix is another address */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.51.100.1", 25, NULL)), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_ADDR_ADDED);
	assert_int_equal(f->r.ev[0].addr.prefixlen, 25);
	assert_int_equal(ifc->naddrs, 2);

	/* a changed broadcast: the old address goes, the new one comes */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.51.100.1", 24, "198.51.100.254")), 0);
	assert_int_equal(f->r.n, 3);
	assert_int_equal(f->r.ev[1].ev, GW_IFACE_ADDR_REMOVED);
	assert_int_equal(f->r.ev[1].addr.broadcast.s_addr, ip("198.51.100.255").s_addr);
	assert_int_equal(f->r.ev[2].ev, GW_IFACE_ADDR_ADDED);
	assert_int_equal(f->r.ev[2].addr.broadcast.s_addr, ip("198.51.100.254").s_addr);
	assert_int_equal(ifc->naddrs, 2);
}

static void test_delete_address(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;

	add_eth0(f);
	ifc = gw_iface_by_index(f->t, 2);
	/* not ours (other prefix): ignored, counted, no event */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_DELADDR, 2, "198.51.100.1", 16, NULL)), 0);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(ifc->naddrs, 1);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 1);

	assert_int_equal(feed(f->t, newaddr(buf, RTM_DELADDR, 2, "198.51.100.1", 24, "198.51.100.255")), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_ADDR_REMOVED);
	assert_int_equal(f->r.ev[0].addr.addr.s_addr, ip("198.51.100.1").s_addr);
	assert_int_equal(f->r.ev[0].addr.prefixlen, 24);
	assert_int_equal(f->r.ev[0].naddrs, 0); /* already gone during the callback */
	assert_int_equal(ifc->naddrs, 0);
	assert_non_null(gw_iface_by_index(f->t, 2)); /* the device stays */
}

static void test_ppp_local_vs_peer(void **state)
{
	struct fixture *f = *state;
	struct nlmsghdr *nlh;
	const struct gw_iface *ifc;

	assert_int_equal(feed(f->t, newlink(buf, 7, "ppp0", IFF_UP | IFF_POINTOPOINT, 1492, NULL)), 0);
	/* ppp: IFA_ADDRESS is the peer, IFA_LOCAL our own address */
	nlh = addr_msg(buf, RTM_NEWADDR, 7, AF_INET, 32);
	put_in(nlh, IFA_ADDRESS, "100.64.0.1");
	put_in(nlh, IFA_LOCAL, "100.64.0.2");
	assert_int_equal(feed(f->t, nlh), 0);
	ifc = gw_iface_by_index(f->t, 7);
	assert_int_equal(ifc->naddrs, 1);
	assert_int_equal(ifc->addrs[0].addr.s_addr, ip("100.64.0.2").s_addr);
	assert_int_equal(f->r.ev[1].addr.addr.s_addr, ip("100.64.0.2").s_addr);

	/* the same, attributes the other way round */
	nlh = addr_msg(buf, RTM_DELADDR, 7, AF_INET, 32);
	put_in(nlh, IFA_LOCAL, "100.64.0.2");
	put_in(nlh, IFA_ADDRESS, "100.64.0.1");
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(ifc->naddrs, 0);

	/* only IFA_ADDRESS: that is the address */
	nlh = addr_msg(buf, RTM_NEWADDR, 7, AF_INET, 32);
	put_in(nlh, IFA_ADDRESS, "100.64.0.3");
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(ifc->addrs[0].addr.s_addr, ip("100.64.0.3").s_addr);
}

static void test_address_unknown_ifindex(void **state)
{
	struct fixture *f = *state;

	add_eth0(f);
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 5, "198.51.100.7", 24, NULL)), 0);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 1);
	assert_int_equal(feed(f->t, newaddr(buf, RTM_DELADDR, 5, "198.51.100.7", 24, NULL)), 0);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 2);
	/* an index beyond INT_MAX can be no device */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, -2, "198.51.100.7", 24, NULL)), 0);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 3);
	assert_int_equal(f->r.n, 0);
}

static void test_address_table_full(void **state)
{
	struct fixture *f = *state;
	const struct gw_iface *ifc;
	char a[32];

	add_eth0(f);
	for (int i = 2; i <= GW_IFACE_MAX_ADDRS; i++) {
		snprintf(a, sizeof(a), "198.18.0.%d", i);
		assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, a, 32, NULL)), 0);
	}
	ifc = gw_iface_by_index(f->t, 2);
	assert_int_equal(ifc->naddrs, GW_IFACE_MAX_ADDRS);
	assert_int_equal(f->r.n, GW_IFACE_MAX_ADDRS - 1);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 0);

	/* one more: dropped, counted (and warned once) */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.18.1.1", 32, NULL)), 0);
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.18.1.2", 32, NULL)), 0);
	assert_int_equal(ifc->naddrs, GW_IFACE_MAX_ADDRS);
	assert_int_equal(f->r.n, GW_IFACE_MAX_ADDRS - 1);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 2);
	/* a known one is still no event and no drop */
	assert_int_equal(feed(f->t, newaddr(buf, RTM_NEWADDR, 2, "198.18.0.5", 32, NULL)), 0);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 2);
	assert_int_equal(f->r.n, GW_IFACE_MAX_ADDRS - 1);
}

/* ---- malformed messages ---- */

struct bad_case {
	const char *what;
	/* builds into BUF; returns the length to pass */
	size_t (*build)(void);
};

static size_t bad_short_header(void)
{
	newlink(buf, 2, "eth0", 0, 1500, NULL);
	return 10;
}

static size_t bad_len_beyond_buffer(void)
{
	struct nlmsghdr *nlh = newlink(buf, 2, "eth0", 0, 1500, NULL);
	size_t len = nlh->nlmsg_len;

	nlh->nlmsg_len += 8;
	return len;
}

static size_t bad_len_huge(void)
{
	struct nlmsghdr *nlh = newlink(buf, 2, "eth0", 0, 1500, NULL);
	size_t len = nlh->nlmsg_len;

	nlh->nlmsg_len = 0x80000010u; /* negative as an int */
	return len;
}

static size_t bad_len_below_header(void)
{
	struct nlmsghdr *nlh = newlink(buf, 2, "eth0", 0, 1500, NULL);
	size_t len = nlh->nlmsg_len;

	nlh->nlmsg_len = 8;
	return len;
}

static size_t bad_len_unaligned(void)
{
	struct nlmsghdr *nlh = newlink(buf, 2, "eth0", 0, 1500, NULL);

	nlh->nlmsg_len -= 1;
	return nlh->nlmsg_len + 1;
}

static size_t bad_link_payload_short(void)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, 8); /* half an ifinfomsg */
	return nlh->nlmsg_len;
}

static size_t bad_truncated_attr(void)
{
	struct nlmsghdr *nlh = newlink(buf, 2, "eth0", 0, 1500, NULL);

	/* the message ends inside its last attribute (IFLA_OPERSTATE) */
	nlh->nlmsg_len -= 4;
	return nlh->nlmsg_len;
}

static size_t bad_attr_len_short(void)
{
	struct nlmsghdr *nlh = newlink(buf, 2, "eth0", 0, 1500, NULL);
	struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

	/* trailing bytes that are no attribute: nla_len 2 < its own header */
	a->nla_len = 2;
	a->nla_type = IFLA_MTU;
	nlh->nlmsg_len += 4;
	return nlh->nlmsg_len;
}

static size_t bad_ifname_no_nul(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 2, 0);

	mnl_attr_put(nlh, IFLA_IFNAME, 4, "eth0");
	return nlh->nlmsg_len;
}

static size_t bad_ifname_too_long(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 2, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "abcdefghijklmnopqrst"); /* 20 > IF_NAMESIZE-1 */
	return nlh->nlmsg_len;
}

static size_t bad_ifname_16(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 2, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "abcdefghijklmnop"); /* 16 chars: no room for the NUL */
	return nlh->nlmsg_len;
}

static size_t bad_ifname_empty(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 2, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "");
	return nlh->nlmsg_len;
}

static size_t bad_mtu_size(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 2, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put_u16(nlh, IFLA_MTU, 1500);
	return nlh->nlmsg_len;
}

static size_t bad_lladdr_too_long(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 2, 0);
	uint8_t big[33] = {0};

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(big), big);
	return nlh->nlmsg_len;
}

static size_t bad_ifindex_zero(void)
{
	return newlink(buf, 0, "eth0", 0, 1500, NULL)->nlmsg_len;
}

static size_t bad_new_link_without_name(void)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 3, 0); /* eth0 is 2 */

	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	return nlh->nlmsg_len;
}

static size_t bad_prefixlen(void)
{
	return newaddr(buf, RTM_NEWADDR, 2, "198.51.100.1", 40, NULL)->nlmsg_len;
}

static size_t bad_addr_payload_short(void)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_NEWADDR;
	mnl_nlmsg_put_extra_header(nlh, 4);
	return nlh->nlmsg_len;
}

static size_t bad_local_size(void)
{
	struct nlmsghdr *nlh = addr_msg(buf, RTM_NEWADDR, 2, AF_INET, 24);

	mnl_attr_put(nlh, IFA_LOCAL, 3, "\xc6\x33\x64");
	return nlh->nlmsg_len;
}

static size_t bad_address_v6_size(void)
{
	struct nlmsghdr *nlh = addr_msg(buf, RTM_NEWADDR, 2, AF_INET, 24);
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};

	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a6), a6);
	return nlh->nlmsg_len;
}

static size_t bad_broadcast_size(void)
{
	struct nlmsghdr *nlh = addr_msg(buf, RTM_NEWADDR, 2, AF_INET, 24);

	put_in(nlh, IFA_LOCAL, "198.51.100.1");
	mnl_attr_put_u16(nlh, IFA_BROADCAST, 0xffff);
	return nlh->nlmsg_len;
}

static size_t bad_label_no_nul(void)
{
	struct nlmsghdr *nlh = addr_msg(buf, RTM_NEWADDR, 2, AF_INET, 24);

	put_in(nlh, IFA_LOCAL, "198.51.100.1");
	mnl_attr_put(nlh, IFA_LABEL, 20, "eth0eth0eth0eth0eth0");
	return nlh->nlmsg_len;
}

static size_t bad_no_address(void)
{
	struct nlmsghdr *nlh = addr_msg(buf, RTM_NEWADDR, 2, AF_INET, 24);

	put_in(nlh, IFA_BROADCAST, "198.51.100.255");
	return nlh->nlmsg_len;
}

static void test_malformed(void **state)
{
	static const struct bad_case cases[] = {
		{"short header", bad_short_header},
		{"nlmsg_len beyond the buffer", bad_len_beyond_buffer},
		{"nlmsg_len >= 2^31", bad_len_huge},
		{"nlmsg_len below the header", bad_len_below_header},
		{"nlmsg_len unaligned", bad_len_unaligned},
		{"link payload shorter than ifinfomsg", bad_link_payload_short},
		{"truncated attribute", bad_truncated_attr},
		{"attribute shorter than its header", bad_attr_len_short},
		{"IFLA_IFNAME without NUL", bad_ifname_no_nul},
		{"IFLA_IFNAME too long", bad_ifname_too_long},
		{"IFLA_IFNAME of 16 characters", bad_ifname_16},
		{"IFLA_IFNAME empty", bad_ifname_empty},
		{"IFLA_MTU of 2 bytes", bad_mtu_size},
		{"IFLA_ADDRESS of 33 bytes", bad_lladdr_too_long},
		{"ifindex 0", bad_ifindex_zero},
		{"new link without a name", bad_new_link_without_name},
		{"prefixlen 40", bad_prefixlen},
		{"addr payload shorter than ifaddrmsg", bad_addr_payload_short},
		{"IFA_LOCAL of 3 bytes", bad_local_size},
		{"IFA_ADDRESS of 16 bytes in AF_INET", bad_address_v6_size},
		{"IFA_BROADCAST of 2 bytes", bad_broadcast_size},
		{"IFA_LABEL without NUL", bad_label_no_nul},
		{"address without IFA_LOCAL or IFA_ADDRESS", bad_no_address},
	};
	struct fixture *f = *state;

	add_eth0(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		int rc;

		memset(buf, 0, sizeof(buf));
		len = cases[i].build();
		rc = gw_iface_handle_msg(f->t, (const struct nlmsghdr *)buf, len);
		if (rc != -EINVAL)
			fail_msg("%s: returned %d, not -EINVAL", cases[i].what, rc);
		if (gw_iface_get_stats(f->t)->dropped != i + 1)
			fail_msg("%s: dropped %llu, not %zu", cases[i].what,
				 (unsigned long long)gw_iface_get_stats(f->t)->dropped, i + 1);
		if (f->r.n != 0)
			fail_msg("%s: produced an event", cases[i].what);
	}
	/* eth0 is untouched */
	assert_int_equal(gw_iface_by_index(f->t, 2)->mtu, 1500);
	assert_string_equal(gw_iface_by_index(f->t, 2)->name, "eth0");
	assert_int_equal(gw_iface_by_index(f->t, 2)->naddrs, 1);
	assert_int_equal(gw_iface_get_stats(f->t)->messages, 2 + sizeof(cases) / sizeof(cases[0]));
	assert_int_equal(gw_iface_handle_msg(f->t, NULL, 0), -EINVAL);
}

static void test_wrong_family_ignored(void **state)
{
	struct fixture *f = *state;
	struct nlmsghdr *nlh;
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	add_eth0(f);
	/* an IPv6 address: not ours to read (we never asked for it), counted */
	nlh = addr_msg(buf, RTM_NEWADDR, 2, AF_INET6, 64);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a6), a6);
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(f->r.n, 0);
	assert_int_equal(gw_iface_by_index(f->t, 2)->naddrs, 1);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 1);
	/* nor an IPv6 removal of an address with the same bytes */
	nlh = addr_msg(buf, RTM_DELADDR, 2, AF_INET6, 24);
	put_in(nlh, IFA_ADDRESS, "198.51.100.1");
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(gw_iface_by_index(f->t, 2)->naddrs, 1);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 2);
}

static void test_other_types_ignored(void **state)
{
	struct fixture *f = *state;
	struct nlmsghdr *nlh;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
	assert_int_equal(feed(f->t, nlh), 0);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	assert_int_equal(feed(f->t, nlh), 0);
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 0);
	assert_int_equal(gw_iface_get_stats(f->t)->messages, 2);
	assert_int_equal(f->r.n, 0);
}

/* ---- several messages in one buffer ---- */

static size_t append(size_t off, struct nlmsghdr *nlh)
{
	assert_ptr_equal(nlh, buf + off);
	return off + MNL_ALIGN(nlh->nlmsg_len);
}

static void test_buffer_of_messages(void **state)
{
	struct fixture *f = *state;
	size_t off = 0;

	off = append(off, newlink(buf + off, 2, "eth0", IFF_UP, 1500, mac1));
	off = append(off, newaddr(buf + off, RTM_NEWADDR, 2, "198.51.100.1", 24, NULL));
	off = append(off, newlink(buf + off, 3, "eth1", IFF_UP, 1500, mac2));
	off = append(off, newaddr(buf + off, RTM_NEWADDR, 3, "203.0.113.1", 24, NULL));
	assert_int_equal(gw_iface_handle_buf(f->t, buf, off), 0);
	assert_int_equal(f->r.n, 4);
	assert_int_equal(f->r.ev[0].ev, GW_IFACE_ADDED);
	assert_int_equal(f->r.ev[1].ev, GW_IFACE_ADDR_ADDED);
	assert_int_equal(f->r.ev[2].ev, GW_IFACE_ADDED);
	assert_int_equal(f->r.ev[2].ifindex, 3);
	assert_int_equal(f->r.ev[3].ev, GW_IFACE_ADDR_ADDED);
	assert_int_equal(f->r.ev[3].ifindex, 3);
	assert_int_equal(gw_iface_get_stats(f->t)->messages, 4);
	assert_int_equal(gw_iface_handle_buf(f->t, buf, 0), 0);
}

static void test_buffer_with_bad_message(void **state)
{
	struct fixture *f = *state;
	struct nlmsghdr *bad;
	size_t off = 0;

	/* a malformed message whose length is intact: the next one still counts */
	off = append(off, newlink(buf + off, 2, "eth0", IFF_UP, 1500, mac1));
	bad = newaddr(buf + off, RTM_NEWADDR, 2, "198.51.100.1", 40, NULL);
	off = append(off, bad);
	off = append(off, newlink(buf + off, 3, "eth1", IFF_UP, 1500, mac2));
	assert_int_equal(gw_iface_handle_buf(f->t, buf, off), -EINVAL);
	assert_int_equal(f->r.n, 2);
	assert_non_null(gw_iface_by_index(f->t, 3));
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 1);

	/* a length past the end: nothing after it can be found */
	off = 0;
	off = append(off, newlink(buf + off, 4, "eth2", IFF_UP, 1500, NULL));
	bad = newlink(buf + off, 5, "eth3", IFF_UP, 1500, NULL);
	off = append(off, bad);
	bad->nlmsg_len += 64;
	assert_int_equal(gw_iface_handle_buf(f->t, buf, off), -EINVAL);
	assert_non_null(gw_iface_by_index(f->t, 4));
	assert_null(gw_iface_by_index(f->t, 5));
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 2);

	/* trailing bytes too few for a header */
	off = append(0, newlink(buf, 6, "eth4", IFF_UP, 1500, NULL));
	assert_int_equal(gw_iface_handle_buf(f->t, buf, off + 8), -EINVAL);
	assert_non_null(gw_iface_by_index(f->t, 6));
	assert_int_equal(gw_iface_get_stats(f->t)->dropped, 3);
}

/* ---- subscribers ---- */

struct unsub {
	struct gw_iface_table *t;
	int id, other;
	size_t calls;
};

static void unsub_cb(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *addr)
{
	struct unsub *u = data;

	u->calls++;
	gw_iface_unsubscribe(u->t, u->id);
	if (u->other)
		gw_iface_unsubscribe(u->t, u->other);
}

static void test_unsubscribe_self_in_callback(void **state)
{
	struct fixture *f = *state;
	struct unsub u = {f->t, 0, 0, 0};
	struct recorder after = {0};

	u.id = gw_iface_subscribe(f->t, unsub_cb, &u);
	assert_true(u.id > 0);
	assert_true(gw_iface_subscribe(f->t, record, &after) > u.id);

	assert_int_equal(feed(f->t, newlink(buf, 2, "eth0", IFF_UP, 1500, mac1)), 0);
	assert_int_equal(u.calls, 1);
	assert_int_equal(f->r.n, 1);  /* subscribed before it */
	assert_int_equal(after.n, 1); /* and after it: both still called */

	assert_int_equal(feed(f->t, newlink(buf, 3, "eth1", IFF_UP, 1500, mac2)), 0);
	assert_int_equal(u.calls, 1);
	assert_int_equal(f->r.n, 2);
	assert_int_equal(after.n, 2);
}

static void test_unsubscribe_other_in_callback(void **state)
{
	struct fixture *f = *state;
	struct unsub u = {f->t, 0, 0, 0};
	struct recorder later = {0};

	u.id = gw_iface_subscribe(f->t, unsub_cb, &u);
	u.other = gw_iface_subscribe(f->t, record, &later);
	/* DELLINK with an address: three events in one message */
	add_eth0(f);
	assert_int_equal(u.calls, 1);
	assert_int_equal(later.n, 0); /* dropped before its turn came */
	assert_int_equal(f->r.n, 0);
	gw_iface_unsubscribe(f->t, u.other); /* again: harmless */
	gw_iface_unsubscribe(f->t, 999);
	assert_int_equal(feed(f->t, link_msg(buf, RTM_DELLINK, 2, 0)), 0);
	assert_int_equal(f->r.n, 2);
	assert_int_equal(later.n, 0);
	assert_int_equal(u.calls, 1);
	assert_int_equal(gw_iface_subscribe(f->t, NULL, NULL), -EINVAL);
}

/* ---- the real kernel ---- */

struct kernel {
	struct mnl_socket *nl;
	uint32_t seq;
};

/* Send a request and wait for its ack: 0 or the kernel's negative errno. */
static int nl_talk(struct kernel *k, struct nlmsghdr *nlh)
{
	uint8_t rbuf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++k->seq;
	assert_true(mnl_socket_sendto(k->nl, nlh, nlh->nlmsg_len) >= 0);
	n = mnl_socket_recvfrom(k->nl, rbuf, sizeof(rbuf));
	assert_true(n > 0);
	if (mnl_cb_run(rbuf, (size_t)n, k->seq, mnl_socket_get_portid(k->nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

/* RTM_NEWLINK of KIND (with a veth PEER when given). */
static int create_link(struct kernel *k, const char *name, const char *kind, const char *peer)
{
	static _Alignas(8) uint8_t req[1024];
	struct nlmsghdr *nlh = link_msg(req, RTM_NEWLINK, 0, 0);
	struct nlattr *info, *data, *p;

	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (peer) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
		/* the peer's attributes follow an ifinfomsg of its own */
		memset(mnl_nlmsg_get_payload_tail(nlh), 0, MNL_ALIGN(sizeof(struct ifinfomsg)));
		nlh->nlmsg_len += MNL_ALIGN(sizeof(struct ifinfomsg));
		mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
		mnl_attr_nest_end(nlh, p);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return nl_talk(k, nlh);
}

static int set_link(struct kernel *k, int ifindex, unsigned flags, uint32_t mtu)
{
	static _Alignas(8) uint8_t req[256];
	struct nlmsghdr *nlh = link_msg(req, RTM_NEWLINK, ifindex, flags);

	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(k, nlh);
}

static int del_link(struct kernel *k, int ifindex)
{
	static _Alignas(8) uint8_t req[256];

	return nl_talk(k, link_msg(req, RTM_DELLINK, ifindex, 0));
}

static int add_address(struct kernel *k, int ifindex, const char *addr, uint8_t prefixlen, const char *brd)
{
	static _Alignas(8) uint8_t req[256];
	struct nlmsghdr *nlh = addr_msg(req, RTM_NEWADDR, ifindex, AF_INET, prefixlen);

	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	put_in(nlh, IFA_LOCAL, addr);
	put_in(nlh, IFA_ADDRESS, addr);
	put_in(nlh, IFA_BROADCAST, brd);
	return nl_talk(k, nlh);
}

static bool has_event(const struct recorder *r, enum gw_iface_event ev, const char *name, const char *addr)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->ev[i].ev == ev && strcmp(r->ev[i].name, name) == 0 &&
		    (!addr || r->ev[i].addr.addr.s_addr == ip(addr).s_addr))
			return true;
	return false;
}

/* Run LOOP without blocking until the event shows up; false after 2 s. */
static bool wait_event(uv_loop_t *loop, const struct recorder *r, enum gw_iface_event ev, const char *name,
		       const char *addr)
{
	uint64_t deadline = uv_hrtime() + 2000000000ull;
	const struct timespec ms = {0, 1000000};

	while (!has_event(r, ev, name, addr)) {
		if (uv_hrtime() > deadline)
			return false;
		uv_run(loop, UV_RUN_NOWAIT);
		if (!has_event(r, ev, name, addr))
			nanosleep(&ms, NULL);
	}
	return true;
}

static void on_stopped(void *data) { *(int *)data += 1; }

/* Flood the socket with link events while the loop sleeps, so the kernel
 * drops some: the table must notice and catch up by a resync. */
static void overrun_and_resync(struct kernel *k, struct gw_iface_table *t, uv_loop_t *loop,
			       struct recorder *r, int ifindex, const char *link_kind)
{
	uint64_t deadline;
	const struct timespec ms = {0, 1000000};
	int rc;

	for (int i = 0; i < 6000; i++)
		assert_int_equal(set_link(k, ifindex, IFF_UP, i % 2 ? 1400 : 1300), 0);
	/* made while events are being lost: only a resync can tell */
	rc = create_link(k, "hgw9", link_kind, strcmp(link_kind, "veth") == 0 ? "hgw9p" : NULL);
	assert_int_equal(rc, 0);
	r->n = 0;
	r->ignore_changed = true;
	deadline = uv_hrtime() + 2000000000ull;
	while (gw_iface_get_stats(t)->resyncs == 0 || !gw_iface_by_name(t, "hgw9")) {
		if (uv_hrtime() > deadline)
			fail_msg("no resync after the overrun (resyncs %llu)",
				 (unsigned long long)gw_iface_get_stats(t)->resyncs);
		uv_run(loop, UV_RUN_NOWAIT);
		nanosleep(&ms, NULL);
	}
	assert_true(has_event(r, GW_IFACE_ADDED, "hgw9", NULL));
	/* the last MTU set is the one in the table */
	assert_int_equal(gw_iface_by_index(t, ifindex)->mtu, 1400);
	r->ignore_changed = false;
}

static void test_kernel(void **state)
{
	struct kernel k = {0};
	struct gw_iface_table *t;
	struct recorder r = {0};
	uv_loop_t loop;
	const struct gw_iface *lo, *ifc;
	const char *kind = "dummy";
	int ifindex, stopped = 0, rc;

	if (unshare(CLONE_NEWNET) < 0) {
		if (errno == EPERM) {
			print_message("SKIPPED test_kernel: unshare(CLONE_NEWNET): %s (needs root)\n",
				      strerror(errno));
			skip();
		}
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	}
	assert_int_equal(uv_loop_init(&loop), 0);
	t = gw_iface_table_new();
	r.t = t;
	assert_true(gw_iface_subscribe(t, record, &r) > 0);
	assert_int_equal(gw_iface_start(t, &loop), 0);
	assert_int_equal(gw_iface_start(t, &loop), -EALREADY);

	/* the dump filled the table before start returned */
	lo = gw_iface_by_name(t, "lo");
	assert_non_null(lo);
	assert_int_equal(lo->ifindex, 1);
	assert_true(lo->flags & IFF_LOOPBACK);
	assert_true(has_event(&r, GW_IFACE_ADDED, "lo", NULL));

	k.nl = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(k.nl);
	assert_int_equal(mnl_socket_bind(k.nl, 0, MNL_SOCKET_AUTOPID), 0);

	/* dummy needs its module; veth is the fallback where it is missing */
	rc = create_link(&k, "hgw0", kind, NULL);
	if (rc == -EOPNOTSUPP) {
		kind = "veth";
		rc = create_link(&k, "hgw0", kind, "hgw1");
	}
	assert_int_equal(rc, 0);
	if (!wait_event(&loop, &r, GW_IFACE_ADDED, "hgw0", NULL))
		fail_msg("no ADDED event for hgw0 (%s)", kind);
	ifc = gw_iface_by_name(t, "hgw0");
	assert_non_null(ifc);
	ifindex = ifc->ifindex;

	assert_int_equal(add_address(&k, ifindex, "198.51.100.1", 24, "198.51.100.255"), 0);
	if (!wait_event(&loop, &r, GW_IFACE_ADDR_ADDED, "hgw0", "198.51.100.1"))
		fail_msg("no ADDR_ADDED event for 198.51.100.1 on hgw0");
	ifc = gw_iface_by_index(t, ifindex);
	assert_int_equal(ifc->naddrs, 1);
	assert_int_equal(ifc->addrs[0].prefixlen, 24);
	assert_int_equal(ifc->addrs[0].broadcast.s_addr, ip("198.51.100.255").s_addr);

	assert_int_equal(set_link(&k, ifindex, IFF_UP, 0), 0);
	if (!wait_event(&loop, &r, GW_IFACE_CHANGED, "hgw0", NULL))
		fail_msg("no CHANGED event for hgw0 going up");
	assert_true(gw_iface_by_index(t, ifindex)->up);

	overrun_and_resync(&k, t, &loop, &r, ifindex, kind);

	r.n = 0;
	assert_int_equal(del_link(&k, ifindex), 0);
	if (!wait_event(&loop, &r, GW_IFACE_REMOVED, "hgw0", NULL))
		fail_msg("no REMOVED event for hgw0");
	assert_true(has_event(&r, GW_IFACE_ADDR_REMOVED, "hgw0", "198.51.100.1"));
	assert_null(gw_iface_by_name(t, "hgw0"));

	mnl_socket_close(k.nl);
	gw_iface_stop(t, on_stopped, &stopped);
	assert_int_equal(stopped, 0); /* only once the handle is closed */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(stopped, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
	gw_iface_table_free(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add_link),
		T(test_link_without_mac),
		T(test_rename),
		T(test_flags_up_down),
		T(test_mtu_and_mac_change),
		T(test_long_lladdr),
		T(test_delete_link),
		T(test_bridge_port_message_ignored),
		T(test_iterate),
		T(test_many_links_capped),
		T(test_add_address),
		T(test_duplicate_address),
		T(test_delete_address),
		T(test_ppp_local_vs_peer),
		T(test_address_unknown_ifindex),
		T(test_address_table_full),
		T(test_malformed),
		T(test_wrong_family_ignored),
		T(test_other_types_ignored),
		T(test_buffer_of_messages),
		T(test_buffer_with_bad_message),
		T(test_unsubscribe_self_in_callback),
		T(test_unsubscribe_other_in_callback),
		/* last: it moves the process into a network namespace of its own */
		cmocka_unit_test(test_kernel),
	};

	gw_log_set_level(GW_LOG_ERR); /* the warnings the tests provoke are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
