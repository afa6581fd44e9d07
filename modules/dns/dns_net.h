/* dns_net.h — the resolver's client-side sockets: UDP listeners read and
 * answered in batches (recvmmsg / sendmmsg), TCP listeners with
 * length-prefixed messages (RFC 7766), several queries per connection,
 * answers in any order, an idle timeout and a connection limit.
 *
 * A listener is bound to one address (IP_FREEBIND: it may come later), or
 * to 0.0.0.0 alone. An interface in `listen` is its addresses, followed by
 * the owner through the core iface table: not 0.0.0.0 + SO_BINDTODEVICE,
 * whose TCP listener would keep any other address (127.0.0.1) from the port.
 * Replies leave from the address the query was sent to (IP_PKTINFO). What to answer is the owner's business: dns_net calls
 * HANDLE for each query, which answers at once (returns the length) or
 * later through dns_net_reply() with the dns_net_peer it was given. */
#ifndef DNS_NET_H
#define DNS_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DNS_NET_BATCH 32
#define DNS_NET_UDP_MAX 4096 /* the largest UDP reply: our EDNS size is at most 4096 */
#define DNS_TCP_IDLE_MS 10000
#define DNS_TCP_MAX_CONNS 128
#define DNS_TCP_MAX_PENDING 32 /* queries in flight on one connection before it stops reading */

struct dns_net;
struct dns_net_conn;

/* Where a query came from and how to answer it; copied by value into a
 * pending request. For TCP, CONN is a reference (dns_net_peer_hold). */
struct dns_net_peer {
	struct sockaddr_in addr;
	struct in_addr local; /* the address the query was sent to */
	int ifindex;	      /* arrival interface */
	int fd;		      /* UDP: the listener's socket */
	bool wildcard;	      /* UDP: it listens on 0.0.0.0 (replies name their source) */
	struct dns_net_conn *conn; /* TCP: the connection, else NULL */
};

/* Answer the query in PKT at once into OUT (return its length), or return 0
 * (dropped, or answered later with dns_net_reply: then hold PEER's conn). */
typedef size_t (*dns_net_handle_fn)(void *data, const struct dns_net_peer *peer, const uint8_t *pkt, size_t len,
				     uint8_t *out, size_t cap);

struct dns_net_stats {
	uint64_t udp_queries, tcp_queries, tcp_conns, tcp_refused, tcp_idle_closed, send_errors, truncated_in;
};

int dns_net_new(uv_loop_t *loop, uint16_t port, dns_net_handle_fn handle, void *data, struct dns_net **out);
/* Declaring the wanted listeners: dns_net_mark(), then dns_net_listen_addr()
 * for each address (0.0.0.0: every address; an existing listener is kept,
 * sockets and all), then dns_net_sweep() closes those not declared again. */
void dns_net_mark(struct dns_net *n);
int dns_net_listen_addr(struct dns_net *n, struct in_addr addr);
void dns_net_sweep(struct dns_net *n);
size_t dns_net_nlisteners(const struct dns_net *n);

/* Later answers. A TCP peer's connection must be held from HANDLE until
 * its reply (or release) so that it outlives the wait. */
void dns_net_peer_hold(const struct dns_net_peer *p);
void dns_net_peer_release(const struct dns_net_peer *p);
/* Whether a held TCP peer's connection is gone (the reply would be lost). */
bool dns_net_peer_gone(const struct dns_net_peer *p);
void dns_net_reply(struct dns_net *n, const struct dns_net_peer *p, const uint8_t *msg, size_t len);

const struct dns_net_stats *dns_net_stats(const struct dns_net *n);
void dns_net_close(struct dns_net *n, void (*cb)(void *data), void *data);

#endif
