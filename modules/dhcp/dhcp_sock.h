/* dhcp_sock.h — the DHCP module's sockets: one UDP socket on port 67 for
 * everything that arrives (clients on served links, relayed requests,
 * replies from servers to our relays), read in batches with recvmmsg and
 * the arrival interface from IP_PKTINFO; and the send paths RFC 2131 4.1
 * needs:
 *   - UDP to an address (giaddr:67, ciaddr:68, a relay's server), optionally
 *     pinned to an interface (IP_PKTINFO ipi_ifindex), which is also how the
 *     limited broadcast 255.255.255.255 goes out of the right link;
 *   - a link-layer unicast to chaddr for a client that has no address yet
 *     (yiaddr unicast without ARP): an IPv4/UDP datagram built here, sent on
 *     a send-only AF_PACKET socket.
 *
 * libuv's uv_udp does not expose control messages, so the socket is ours,
 * watched with a uv_poll_t. */
#ifndef DHCP_SOCK_H
#define DHCP_SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DHCP_SOCK_BATCH 32     /* datagrams per recvmmsg */
#define DHCP_SOCK_MAX_DGRAM 1500 /* larger datagrams are truncated and dropped */

/* Where a datagram came from and on which link. */
struct dhcp_rx {
	int ifindex;           /* arrival interface (IP_PKTINFO) */
	struct in_addr src;    /* sender */
	uint16_t sport;
	struct in_addr dst;    /* the destination address of the packet (broadcast or ours) */
	bool truncated;        /* longer than DHCP_SOCK_MAX_DGRAM: drop it */
};

typedef void (*dhcp_sock_recv_fn)(void *data, const uint8_t *buf, size_t len, const struct dhcp_rx *rx);

struct dhcp_sock_stats {
	uint64_t received;
	uint64_t truncated;
	uint64_t sent;
	uint64_t send_errors;
};

struct dhcp_sock {
	int udp_fd;
	int packet_fd; /* send-only AF_PACKET (protocol 0: receives nothing) */
	uv_poll_t poll;
	dhcp_sock_recv_fn on_recv;
	void *data;
	void (*on_closed)(struct dhcp_sock *);
	struct dhcp_sock_stats stats;
	uint16_t ip_id; /* IPv4 identification of the datagrams we build */
	/* receive buffers, reused: no allocation per packet */
	uint8_t bufs[DHCP_SOCK_BATCH][DHCP_SOCK_MAX_DGRAM];
};

/* Open and bind 0.0.0.0:PORT (67; tests use others) and start reading.
 * 0 or negative errno. On error nothing is left open. */
int dhcp_sock_open(struct dhcp_sock *s, uv_loop_t *loop, uint16_t port, dhcp_sock_recv_fn fn, void *data);
/* Stop and close; ON_CLOSED (may be NULL) runs from the loop when done. */
void dhcp_sock_close(struct dhcp_sock *s, void (*on_closed)(struct dhcp_sock *));

/* UDP to DST:DPORT. IFINDEX > 0 pins the egress link (and SRC, if not 0,
 * the source address). 0 or negative errno. */
int dhcp_sock_send_udp(struct dhcp_sock *s, int ifindex, struct in_addr src, struct in_addr dst, uint16_t dport,
		       const void *buf, size_t len);
/* IPv4/UDP from SRC:SPORT to DST:DPORT, in a frame to MAC on IFINDEX. */
int dhcp_sock_send_link(struct dhcp_sock *s, int ifindex, const uint8_t mac[6], struct in_addr src,
			uint16_t sport, struct in_addr dst, uint16_t dport, const void *buf, size_t len);

/* ---- the pure part ---- */

/* Write an IPv4 header (no options, TTL 64, DF clear) and a UDP header with
 * checksums in front of PAYLOAD into OUT (cap bytes). Returns the datagram
 * length, or 0 when it does not fit. */
size_t dhcp_build_ipv4_udp(uint8_t *out, size_t cap, uint16_t ip_id, struct in_addr src, uint16_t sport,
			   struct in_addr dst, uint16_t dport, const void *payload, size_t len);

#endif
