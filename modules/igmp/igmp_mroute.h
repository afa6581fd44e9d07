/* igmp_mroute.h — the kernel side of the IGMP proxy: the multicast routing
 * socket (MRT_INIT on a raw IGMP socket), one VIF per interface (by
 * ifindex), forwarding cache entries (MFC) with their counters, the
 * kernel's upcalls (IGMPMSG_NOCACHE: a packet of a (S,G) nobody routes
 * yet) and the IGMP packets that arrive on the same socket, and the
 * upstream memberships (RFC 3678 source filters on a UDP socket per block
 * of groups, so the kernel itself sends the reports and answers the
 * upstream router's queries).
 *
 * Only one process in a network namespace may hold MRT_INIT: EADDRINUSE
 * says another one (igmpproxy, smcroute, pimd) does. */
#ifndef IGMP_MROUTE_H
#define IGMP_MROUTE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define IGMP_MAX_VIFS 32 /* MAXVIFS of the kernel */

struct igmp_mroute;

struct igmp_mroute_ops {
	/* an IGMP message arrived (the whole IPv4 packet) on IFINDEX */
	void (*packet)(void *data, const uint8_t *pkt, size_t len, int ifindex);
	/* the kernel has a packet of (SOURCE, GROUP) from VIF and no route for it */
	void (*nocache)(void *data, int vif, struct in_addr source, struct in_addr group);
};

struct igmp_mroute_stats {
	uint64_t packets, upcalls, dropped_short;
};

/* MRT_INIT. -EADDRINUSE: another multicast router holds this namespace's
 * table; -EPERM: no CAP_NET_ADMIN. */
int igmp_mroute_open(uv_loop_t *loop, const struct igmp_mroute_ops *ops, void *data, struct igmp_mroute **out);
/* Add IFINDEX as a VIF (an address on it is needed for VIFF_USE_IFINDEX?
 * no: ifindex alone). Returns the vif number or -errno. Idempotent per ifindex. */
int igmp_mroute_add_vif(struct igmp_mroute *m, int ifindex);
int igmp_mroute_del_vif(struct igmp_mroute *m, int ifindex);
int igmp_mroute_vif_of(const struct igmp_mroute *m, int ifindex); /* -1 when none */
/* Listen on IFINDEX for what routers get: 224.0.0.2 (IGMPv2 leaves, RFC
 * 2236 3) and 224.0.0.22 (IGMPv3 reports, RFC 3376 4.2.14). */
int igmp_mroute_join_local(struct igmp_mroute *m, int ifindex);
/* Install or replace the MFC entry (SOURCE, GROUP) arriving on IN_VIF and
 * leaving on the vifs whose bit is set in OUT (TTL threshold 1). */
int igmp_mroute_set_mfc(struct igmp_mroute *m, struct in_addr source, struct in_addr group, int in_vif,
			uint32_t out_vifs);
int igmp_mroute_del_mfc(struct igmp_mroute *m, struct in_addr source, struct in_addr group);
/* The entry's counters (SIOCGETSGCNT). */
int igmp_mroute_counters(struct igmp_mroute *m, struct in_addr source, struct in_addr group, uint64_t *packets,
			 uint64_t *bytes, uint64_t *wrong_if);
/* Send an IGMP message (built with igmp_build_query) out of IFINDEX from
 * SRC to DST, with TTL 1, TOS 0xc0 and the Router Alert option. */
int igmp_mroute_send(struct igmp_mroute *m, int ifindex, struct in_addr src, struct in_addr dst,
		     const uint8_t *igmp, size_t len);
/* Join or leave GROUP on the upstream IFINDEX with a source filter: MODE
 * include (false) or exclude (true) of SRCS (NSRC); exclude of nothing is a
 * plain join; include of nothing is a leave. */
int igmp_mroute_upstream(struct igmp_mroute *m, int ifindex, struct in_addr group, bool exclude,
			 const struct in_addr *srcs, size_t nsrc);
/* Forget every upstream membership (the upstream interface went away). */
void igmp_mroute_upstream_reset(struct igmp_mroute *m);
const struct igmp_mroute_stats *igmp_mroute_stats(const struct igmp_mroute *m);
/* MRT_DONE (the kernel then drops every VIF and MFC entry), close. */
void igmp_mroute_close(struct igmp_mroute *m, void (*cb)(void *data), void *data);

#endif
