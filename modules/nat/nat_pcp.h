/* nat_pcp.h — the PCP (RFC 6887, version 2) and NAT-PMP (RFC 6886, version
 * 0) server, pure: datagram in → reply out, with the table of dynamic
 * mappings it grants. No sockets, no kernel: the glue gives the external
 * address and the ports that config forwards hold (nat_pcp_ops), and mirrors
 * the table into the kernel (nat_pcp_ops.changed) as map elements with
 * timeouts, so an expired mapping is gone even without homegwd.
 *
 * Policy (issue 5): requests only from LAN interfaces (others: dropped and
 * counted — answering would tell WAN hosts we speak PCP), only for the
 * sender's own address (PCP: the client address field must equal the
 * source, and no THIRD_PARTY option; NAT-PMP has no such field), MAP opcode
 * (PCP) and the UDP/TCP mapping and external-address requests (NAT-PMP);
 * lifetimes clamped to [min, max] of `pcp-lifetime`, lifetime 0 deletes;
 * ports that config forwards use are never granted; a per-client limit
 * (NAT_PCP_PER_CLIENT) against floods. An internal port keeps its external
 * port across renewals; a new mapping gets the suggested external port if
 * free, else the internal port if free, else another free port (1024..65535). */
#ifndef NAT_PCP_H
#define NAT_PCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAT_PCP_PORT 5351	 /* server (both protocols) */
#define NAT_PCP_CLIENT_PORT 5350 /* announcements go to 224.0.0.1:5350 */
#define NAT_PCP_PER_CLIENT 64
#define NAT_PCP_MAX_MAPPINGS 8192
#define NAT_PCP_MAX_PACKET 1100 /* RFC 6887 7: a PCP message is at most 1100 bytes */

/* PCP result codes (RFC 6887 7.4) */
enum {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* A dynamic mapping: PROTO (6/17) EXT_PORT on the external address → CLIENT:INT_PORT. */
struct nat_pcp_mapping {
	uint8_t proto;
	struct in_addr client;
	uint16_t int_port, ext_port;
	uint32_t expires; /* the caller's clock (seconds) */
	uint8_t nonce[12]; /* PCP: the requester's nonce (a renewal must bring the same) */
	bool natpmp;	   /* made by NAT-PMP */
};

enum nat_pcp_change { NAT_PCP_ADDED, NAT_PCP_RENEWED, NAT_PCP_REMOVED };

struct nat_pcp_ops {
	/* The external address now; 0.0.0.0 when the WAN has none. */
	struct in_addr (*external)(void *data);
	/* Whether a config forward (or an `open` port) holds PROTO PORT. */
	bool (*reserved)(void *data, uint8_t proto, uint16_t port);
	/* The table changed: mirror it in the kernel. Returning < 0 refuses an
	 * ADDED/RENEWED (the reply says NO_RESOURCES and the change is undone). */
	int (*changed)(void *data, const struct nat_pcp_mapping *m, enum nat_pcp_change ch, uint32_t now);
	/* A random number (port choice, epoch start is the caller's). */
	uint32_t (*random)(void *data);
};

struct nat_pcp_stats {
	uint64_t requests, pcp, natpmp;
	uint64_t dropped_not_lan, dropped_malformed, dropped_response;
	uint64_t results[14]; /* PCP result codes sent (NAT-PMP's mapped to the nearest PCP meaning) */
	uint64_t added, renewed, deleted, expired;
};

struct nat_pcp;

/* EPOCH_START: the caller's clock value the epoch counts from (start of the
 * mapping state: RFC 6887 8.5, RFC 6886 3.6). */
struct nat_pcp *nat_pcp_new(const struct nat_pcp_ops *ops, void *data, uint32_t lifetime_min, uint32_t lifetime_max,
			    uint32_t epoch_start);
void nat_pcp_free(struct nat_pcp *p);
void nat_pcp_set_lifetimes(struct nat_pcp *p, uint32_t min, uint32_t max);
/* Restart the epoch (RFC 6887 8.5: the mapping state was lost or the
 * external address changed, so clients must refresh their mappings). */
void nat_pcp_set_epoch_start(struct nat_pcp *p, uint32_t epoch_start);

/* Handle one datagram from SRC:SPORT (FROM_LAN: it arrived on a LAN
 * interface) at NOW. The reply is written to OUT; returns its length, or 0
 * (dropped; counted). OUT should hold NAT_PCP_MAX_PACKET bytes (a PCP error
 * reply echoes the request): a reply that does not fit is not sent. Mappings
 * expired at NOW are dropped first (as nat_pcp_expire does). */
size_t nat_pcp_handle(struct nat_pcp *p, const uint8_t *pkt, size_t len, struct in_addr src, bool from_lan,
		      uint32_t now, uint8_t *out, size_t cap);

/* Unsolicited announcements (RFC 6887 14.1.3 ANNOUNCE; RFC 6886 3.2.1 the
 * external address) for 224.0.0.1:5350, at start and on a WAN address change:
 * written to OUT, lengths returned. */
size_t nat_pcp_announce(const struct nat_pcp *p, uint32_t now, uint8_t *out, size_t cap);
size_t nat_pcp_natpmp_notice(const struct nat_pcp *p, uint32_t now, uint8_t *out, size_t cap);

/* Drop mappings expired at NOW (changed() is called with REMOVED); returns
 * the next expiry (0: none). The kernel expires its elements by itself:
 * this keeps the table in step. */
uint32_t nat_pcp_expire(struct nat_pcp *p, uint32_t now);
/* Put back a mapping found in the kernel after a restart or reload (no
 * changed() call). -EEXIST, -ENOSPC, -EINVAL. */
int nat_pcp_restore(struct nat_pcp *p, const struct nat_pcp_mapping *m);
/* Remove every mapping that a config forward now reserves (a reload added a
 * forward over it): changed(REMOVED) for each. Returns the count. */
size_t nat_pcp_drop_reserved(struct nat_pcp *p, uint32_t now);

/* Iterate (for `nat`): *cursor = 0 first; NULL at the end. */
const struct nat_pcp_mapping *nat_pcp_next(const struct nat_pcp *p, size_t *cursor);
size_t nat_pcp_count(const struct nat_pcp *p);
const struct nat_pcp_stats *nat_pcp_stats(const struct nat_pcp *p);

#endif
