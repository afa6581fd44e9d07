/* nat_ct.h — conntrack over ctnetlink (libmnl): the live translation table
 * for `homegwctl nat table`, and the deletion of flows whose forward was
 * removed or changed by a reload (so an old flow does not keep a stale
 * translation).
 *
 * A dump of 50,000 entries must not stall the loop: the socket is
 * non-blocking and read from a uv_poll callback, a bounded number of
 * messages per callback, so DHCP and DNS answers interleave with it. Parsing
 * one message is pure (nat_ct_parse: every attribute checked, a fuzz target
 * drives it). */
#ifndef NAT_CT_H
#define NAT_CT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct nlmsghdr;

#define NAT_CT_PER_CALLBACK 256 /* messages handled per loop callback */

/* IPS_* status bits we use (linux/netfilter/nf_conntrack_common.h) */
#define NAT_CT_SRC_NAT 0x10
#define NAT_CT_DST_NAT 0x20

struct nat_flow {
	uint8_t proto; /* 6, 17, 1 ... */
	struct in_addr orig_src, orig_dst, reply_src, reply_dst;
	uint16_t orig_sport, orig_dport, reply_sport, reply_dport; /* host order; 0 without ports */
	/* ICMP (proto 1): the query id stands in for both ports of its tuple
	 * (RFC 5508 3.1: NAT maps the identifier like a port), so the view
	 * below shows the translated id; type and code of the orig tuple. */
	uint8_t icmp_type, icmp_code;
	uint32_t status;  /* IPS_* */
	uint32_t timeout; /* seconds left */
	uint8_t tcp_state; /* TCP_CONNTRACK_* (0 when not TCP) */
	uint32_t id;
	uint32_t mark;
};

/* Parse one IPCTNL_MSG_CT_NEW message (a dump entry). 0, -ENOENT (not IPv4,
 * or not a conntrack entry: skip it), -EBADMSG (malformed). */
int nat_ct_parse(const struct nlmsghdr *nlh, size_t len, struct nat_flow *f);
/* "ESTABLISHED", "TIME_WAIT", ... ("" when not TCP). */
const char *nat_ct_tcp_state(uint8_t state);

/* Inside (LAN host), outside (the address:port the world sees) and peer of
 * a translated flow; false when the flow is not translated (no NAT bit). */
bool nat_flow_view(const struct nat_flow *f, struct in_addr *inside, uint16_t *inside_port,
		   struct in_addr *outside, uint16_t *outside_port, struct in_addr *peer, uint16_t *peer_port);

struct nat_ct_dump;

typedef void (*nat_ct_each_fn)(void *data, const struct nat_flow *f);
typedef void (*nat_ct_done_fn)(void *data, int rc);

/* Dump the IPv4 conntrack table on LOOP: EACH per entry, then DONE once (0
 * or -errno; -ENOBUFS: messages were lost, the caller may retry). Cancel
 * with nat_ct_dump_cancel (DONE is then not called); the dump is freed
 * once its handles are closed, so *OUT is invalid after DONE or cancel.
 * nat_ct_dump_cancel may be called from inside EACH or MATCH. */
int nat_ct_dump_start(uv_loop_t *loop, nat_ct_each_fn each, nat_ct_done_fn done, void *data,
		      struct nat_ct_dump **out);
void nat_ct_dump_cancel(struct nat_ct_dump *d);

/* Delete every flow MATCH accepts: a dump, then one IPCTNL_MSG_CT_DELETE per
 * match (by tuple and id), on the loop; DONE with the count deleted. A flow
 * that died in between (ENOENT) is not an error and is not counted.
 * nat_ct_dump_cancel stops it too. */
typedef bool (*nat_ct_match_fn)(void *data, const struct nat_flow *f);
typedef void (*nat_ct_deleted_fn)(void *data, int rc, size_t deleted);
int nat_ct_delete_start(uv_loop_t *loop, nat_ct_match_fn match, nat_ct_deleted_fn done, void *data,
			struct nat_ct_dump **out);

#endif
