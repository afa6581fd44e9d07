/* iface.h — the kernel's network devices and their IPv4 addresses, read
 * from rtnetlink (initial dump + live events) and kept in a table by name
 * and ifindex. Modules subscribe to changes; nobody polls.
 *
 * gw_iface_handle_msg() is the pure part: one netlink message in, table
 * updated and callbacks run. It checks every length and attribute (libmnl
 * validation) and counts what it drops. */
#ifndef GW_IFACE_H
#define GW_IFACE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct nlmsghdr;

#define GW_IFACE_MAX_ADDRS 16

struct gw_iface_addr {
	struct in_addr addr;
	uint8_t prefixlen;
	struct in_addr broadcast; /* 0 when none */
};

struct gw_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned flags; /* IFF_* */
	bool up;        /* IFF_UP */
	bool running;   /* IFF_RUNNING (carrier) */
	uint32_t mtu;
	uint8_t mac[6];
	uint8_t mac_len; /* 0: no link-layer address (ppp, lo has 6 zeros) */
	struct gw_iface_addr addrs[GW_IFACE_MAX_ADDRS];
	size_t naddrs;
};

enum gw_iface_event {
	GW_IFACE_ADDED,     /* a device appeared (or was there at start) */
	GW_IFACE_CHANGED,   /* flags, mtu, name or mac changed */
	GW_IFACE_REMOVED,   /* gone; the struct is valid during the callback only */
	GW_IFACE_ADDR_ADDED,
	GW_IFACE_ADDR_REMOVED,
};

/* ADDR is set for the ADDR_ events (valid during the callback only). */
typedef void (*gw_iface_cb)(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
			    const struct gw_iface_addr *addr);

struct gw_iface_stats {
	uint64_t messages;
	uint64_t dropped; /* malformed or unexpected messages */
	uint64_t resyncs; /* socket overruns answered by a new dump */
};

struct gw_iface_table;

struct gw_iface_table *gw_iface_table_new(void);
/* Free the table (call after gw_iface_stop's close has run, or if never started). */
void gw_iface_table_free(struct gw_iface_table *t);

/* Open rtnetlink (RTMGRP_LINK | RTMGRP_IPV4_IFADDR), dump links then
 * addresses synchronously (so the table is full when this returns), then
 * follow events on LOOP. 0 or negative errno. */
int gw_iface_start(struct gw_iface_table *t, uv_loop_t *loop);
/* Close the socket; DONE (may be NULL) runs once the handle is closed. */
void gw_iface_stop(struct gw_iface_table *t, void (*done)(void *), void *data);

const struct gw_iface *gw_iface_by_name(const struct gw_iface_table *t, const char *name);
const struct gw_iface *gw_iface_by_index(const struct gw_iface_table *t, int ifindex);
/* Iterate: call with *cursor = 0, until NULL. */
const struct gw_iface *gw_iface_next(const struct gw_iface_table *t, size_t *cursor);
const struct gw_iface_stats *gw_iface_get_stats(const struct gw_iface_table *t);

/* Subscribe; returns an id > 0 for gw_iface_unsubscribe, or -ENOMEM.
 * Callbacks may unsubscribe (themselves or others) while running. */
int gw_iface_subscribe(struct gw_iface_table *t, gw_iface_cb cb, void *data);
void gw_iface_unsubscribe(struct gw_iface_table *t, int id);

/* The pure part: apply one rtnetlink message (RTM_NEWLINK, RTM_DELLINK,
 * RTM_NEWADDR, RTM_DELADDR; anything else is ignored). LEN is the bytes
 * available at NLH. Returns 0 when applied or ignored, -EINVAL when
 * malformed (counted in dropped). */
int gw_iface_handle_msg(struct gw_iface_table *t, const struct nlmsghdr *nlh, size_t len);
/* Every message in a buffer of several (one recv), as the socket does. */
int gw_iface_handle_buf(struct gw_iface_table *t, const void *buf, size_t len);

#endif
