/* dhcp_server.h — the DHCPv4 server (RFC 2131) and relay agent (RFC 1542,
 * RFC 3046), the pure part (DESIGN.md): one datagram, the link it arrived
 * on and the time in; the decision out. No sockets, no clock but `now`, no
 * allocation per packet (the lease table allocates a record when a new one
 * appears; nothing else does).
 *
 * The glue (dhcp.c) around it, for each datagram dhcp_sock delivers:
 *
 *	const struct gw_iface *ifc = gw_iface_by_index(ifaces, rx->ifindex);
 *	struct dhcp_link link = {ifc->ifindex, ifc->name, ifc->addrs, ifc->naddrs, ifc->mtu};
 *	dhcp_server_handle(&srv, buf, len, &link, rx, now, &res);
 *	for (i = 0; i < res.nrecs; i++)
 *		dhcp_journal_append(j, &res.recs[i], i + 1 == res.nrecs && res.wait_sync ? cb : NULL, held);
 *	if (res.wait_sync)        // an ACK that changed a lease: keep a copy of res.buf
 *		...send it from cb once the batch is on disk (group commit)
 *	else
 *		for (i = 0; i < res.ndest; i++) send res.buf, res.len to res.dest[i];
 *	if (res.event.kind) log it;
 *
 * and from its expiry timer dhcp_server_expire(), on reload
 * dhcp_server_reload(), for `lease release` dhcp_server_release_addr().
 * The table's changes all go through here (or the journal's replay before
 * dhcp_server_init), so the names this server publishes in the core names
 * table follow the bound leases exactly.
 *
 * Addresses are struct in_addr in network byte order, as in dhcp_config.h
 * and dhcp_packet.h (the lease table's are host-order uint32_t). */
#ifndef DHCP_SERVER_H
#define DHCP_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Not dhcp_packet.h: it and dhcp_config.h both define struct dhcp_route
 * (option 121's wire form, the config's route statement), so no file can
 * include both as they are; the glue needs the config, not the wire. */
#include "dhcp_config.h"
#include "dhcp_lease.h"
#include "dhcp_sock.h"
#include "iface.h"
#include "names.h"

struct dhcp_msg;
struct dhcp_reply;

/* The largest datagram in or out: what dhcp_sock reads, and what a reply
 * may grow to when the client's option 57 allows. */
#define DHCP_SERVER_BUF DHCP_SOCK_MAX_DGRAM
/* A relayed request may grow by option 82 up to this: an Ethernet MTU's
 * worth of UDP payload (RFC 3046 2.1: over the MTU, forward without 82). */
#define DHCP_SERVER_RELAY_MAX (1500 - 28)
#define DHCP_SERVER_RECS_MAX 2
#define DHCP_SERVER_TYPES 9 /* option 53 values 1..8 (DHCP_DISCOVER .. DHCP_INFORM), index 0 unused */

/* Per-client offer limit (a token bucket per client: a burst, then one
 * offer per interval). A client retransmits DISCOVER at 4, 8, 16 s
 * (RFC 2131 4.1); a lost one is caught by the burst. */
#define DHCP_SERVER_OFFER_BURST 6
#define DHCP_SERVER_OFFER_INTERVAL 2 /* seconds per token */
#define DHCP_SERVER_RL_SLOTS 4096    /* clients tracked at once (direct-mapped) */
/* Outstanding offers per scope to clients the scope has no record of: at
 * most this percentage of the pool (and at least OFFERS_MIN, within the
 * pool), so a flood of random MACs leaves the rest for real clients. */
#define DHCP_SERVER_OFFER_CAP_PCT 50
#define DHCP_SERVER_OFFERS_MIN 8

/* A link as the core's iface table has it: what the handler needs of the
 * arrival link, and of a scope's or relay's link when it is not that one. */
struct dhcp_link {
	int ifindex;
	const char *device;		   /* Linux name: matches dhcp_scope.device, dhcp_relay.device */
	const struct gw_iface_addr *addrs; /* its IPv4 addresses, primary first */
	size_t naddrs;
	uint32_t mtu; /* 0: unknown */
};

/* What the handler asks the glue about links other than the arrival one. */
struct dhcp_server_env {
	/* The link named DEVICE, as now: a local scope reached through a
	 * relay, the link of a relay a server's reply is for. false: absent.
	 * OUT->device and addrs must stay valid during the handler call. */
	bool (*link_by_device)(void *data, const char *device, struct dhcp_link *out);
	/* Whether ADDR is one of this host's addresses (any link). */
	bool (*is_local)(void *data, struct in_addr addr);
	void *data;
};

/* Why nothing (or less) was sent. 1 .. DHCP_DROP_COUNT-1 are dhcp_parse()'s
 * reasons (enum dhcp_drop, same numbers); the server's follow. */
enum dhcp_srv_drop {
	DHCP_SRV_OK = 0,
	DHCP_SRV_DROP_NO_SCOPE = 12, /* no scope serves the link / giaddr / link-selection */
	DHCP_SRV_DROP_NO_ADDRESS,    /* we have no address on the link to answer from */
	DHCP_SRV_DROP_BAD_CLIENT,    /* no identity (hlen 0, no 61), or a 61 over 255 octets */
	DHCP_SRV_DROP_BAD_REQUEST,   /* REQUEST/DECLINE/RELEASE missing what RFC 2131 4.3 requires */
	DHCP_SRV_DROP_OWN_SERVER_ID, /* names an address of ours that is not this path's server id */
	DHCP_SRV_DROP_OTHER_SERVER,  /* DECLINE/RELEASE for another server */
	DHCP_SRV_DROP_UNKNOWN_CLIENT, /* INIT-REBOOT / REBINDING we know nothing of: silence (RFC 2131 4.3.2) */
	DHCP_SRV_DROP_UNKNOWN_LEASE,	/* DECLINE/RELEASE of an address that is not the client's */
	DHCP_SRV_DROP_RATE_LIMITED,	/* per-client offer limit */
	DHCP_SRV_DROP_OFFER_CAP,	/* the scope's outstanding offers to new clients */
	DHCP_SRV_DROP_POOL_EXHAUSTED,	/* no free address (bound leases are never taken) */
	DHCP_SRV_DROP_BOOTREPLY,	/* a BOOTREPLY not for one of our relays */
	DHCP_SRV_DROP_RELAY_HOPS,	/* RFC 1542 4.1.1: hops over max-hops */
	DHCP_SRV_DROP_RELAY_AGENT_INFO, /* RFC 3046 2.1: option 82 from a client (giaddr 0) */
	DHCP_SRV_DROP_RELAY_BAD_SERVER, /* a reply to our relay from no server of its */
	DHCP_SRV_DROP_RELAY_BAD_REPLY,	/* a reply whose option 82 could not be taken out */
	DHCP_SRV_DROP_REPLY_TOO_BIG,	/* the reply's mandatory options do not fit the client's limit */
	DHCP_SRV_DROP_NO_MEMORY,	/* the lease table could not grow */
	DHCP_SRV_DROP_COUNT,		/* size of a counter array; not a reason */
};

/* "no_scope", ... (and dhcp_parse()'s names): counter names for `dhcp stats`. */
const char *dhcp_srv_drop_name(int reason);

/* How a datagram leaves (RFC 2131 4.1). */
enum dhcp_send_kind {
	DHCP_SEND_UDP,	/* dhcp_sock_send_udp(ifindex, src, dst, port) */
	DHCP_SEND_LINK, /* dhcp_sock_send_link(ifindex, mac, src, 67, dst, 68): no ARP */
};

struct dhcp_dest {
	enum dhcp_send_kind kind;
	int ifindex;	    /* > 0: pinned to this link (a broadcast, a link unicast); 0: routed */
	struct in_addr src; /* 0: the kernel's choice */
	struct in_addr dst; /* 255.255.255.255 for a broadcast */
	uint16_t port;	    /* 67 (relay agent, server) or 68 (client) */
	uint8_t mac[6];	    /* DHCP_SEND_LINK: the client's chaddr */
};

enum dhcp_result_kind {
	DHCP_RESULT_NONE,  /* nothing to send: drop (see drop) or silence by the rules */
	DHCP_RESULT_REPLY, /* our OFFER / ACK / NAK: one dest */
	DHCP_RESULT_RELAY, /* forwarded bytes: to each server, or to the client */
};

enum dhcp_event_kind {
	DHCP_EV_NONE,
	DHCP_EV_DECLINE,      /* RFC 2131 4.3.3: addr is in use by some other host; in probation */
	DHCP_EV_EXHAUSTED,    /* the scope had no address for a client */
	DHCP_EV_NAME_REFUSED, /* the client's name is another's (static, the router's, another client's) */
};

/* Something the glue logs (rate-limited as it sees fit). */
struct dhcp_event {
	enum dhcp_event_kind kind;
	struct in_addr addr; /* DECLINE, NAME_REFUSED: the address */
	const char *scope;   /* the scope's name (valid until the next reload) */
	uint8_t hlen;	     /* the client's chaddr */
	uint8_t chaddr[DHCP_LEASE_CHADDR_MAX];
	char name[64]; /* NAME_REFUSED: the label refused */
};

/* The decision for one datagram. A few KiB: keep one, reuse it. */
struct dhcp_result {
	enum dhcp_result_kind kind;
	int drop;     /* enum dhcp_srv_drop: why NONE (0 when silence was the rule) */
	uint8_t type; /* REPLY: DHCP_OFFER, DHCP_ACK or DHCP_NAK; RELAY: the message's type */
	/* The bytes go out only once recs are on disk: an ACK that changed a
	 * lease (DESIGN.md, Persistence). Everything else goes at once; its
	 * records are journaled all the same. */
	bool wait_sync;
	size_t ndest;
	struct dhcp_dest dest[DHCP_MAX_SERVERS]; /* the same bytes to each */
	size_t len;
	uint8_t buf[DHCP_SERVER_BUF];
	size_t nrecs; /* changes the table has applied, in order: journal them, whatever kind is */
	struct dhcp_lease_rec recs[DHCP_SERVER_RECS_MAX];
	struct dhcp_event event;
};

struct dhcp_relay_stats {
	uint64_t requests;	     /* client requests forwarded */
	uint64_t copies;	     /* datagrams to servers (requests x servers) */
	uint64_t replies;	     /* server replies delivered to clients */
	uint64_t agent_info_added;   /* option 82 inserted */
	uint64_t agent_info_kept;    /* a relay closer to the client had put one in: left as it was */
	uint64_t agent_info_too_big; /* forwarded without 82: it would not fit (RFC 3046 2.1) */
};

struct dhcp_server_stats {
	uint64_t received;
	/* by option 53: DISCOVER, REQUEST, DECLINE, RELEASE, INFORM received
	 * for the server, OFFER, ACK, NAK sent (relayed ones are not here) */
	uint64_t messages[DHCP_SERVER_TYPES];
	uint64_t dropped; /* the sum of drop[] */
	uint64_t drop[DHCP_SRV_DROP_COUNT];
	uint64_t other_server; /* REQUESTs choosing another server (our offer withdrawn) */
	uint64_t names_published;
	uint64_t names_refused;
	struct dhcp_relay_stats relay;
};

/* Per scope of the config in force, and the device index (private). */
struct dhcp_srv_scope;
struct dhcp_srv_dev;

/* One slot of the offer limit (private). */
struct dhcp_srv_rl {
	uint64_t tag;
	int64_t last;
	uint32_t tokens;
};

struct dhcp_server {
	const struct dhcp_config *cfg;
	struct dhcp_lease_table *leases;
	struct gw_names *names; /* NULL: publish nothing */
	struct dhcp_server_env env;
	struct dhcp_server_stats stats;
	/* The policy knobs, set by init to the defaults above. */
	unsigned offer_burst, offer_interval, offer_cap_pct, offers_min;

	/* private */
	struct dhcp_srv_scope *scopes; /* parallel to cfg->scopes */
	struct dhcp_srv_dev *devs;     /* device → local scope / relay, sorted */
	size_t ndevs;
	uint64_t seed;
	struct dhcp_msg *msg;	  /* the datagram being handled */
	struct dhcp_reply *reply; /* and its reply */
	struct dhcp_srv_rl rl[DHCP_SERVER_RL_SLOTS];
};

/* Start serving CFG (not NULL) with table T, whose journal has been
 * replayed into it: every scope of CFG gets its id and pools in T (scopes T
 * knows that CFG lacks keep their leases and lose their pools), and the
 * names of bound leases are published in NAMES (may be NULL). Publish the
 * static names first (dns hosts, reservations' `name`, the router's own):
 * a client's name that is one of them is refused (anti-spoofing). SEED keys
 * the offer limit's hash (random bytes). The server keeps CFG, T, NAMES
 * and ENV's data. 0, -ENOMEM, or the table's error (-ENOSPC: scopes). */
int dhcp_server_init(struct dhcp_server *s, const struct dhcp_config *cfg, struct dhcp_lease_table *t,
		     struct gw_names *names, const struct dhcp_server_env *env, uint64_t seed, time_t now);
/* Free what init allocated (not the table, names or config). */
void dhcp_server_free(struct dhcp_server *s);

/* Adopt NEW_CFG (reload): leases stay; pools are set anew per scope;
 * the names move when the local domain changed. On error (-ENOMEM) the old
 * config stays in force: the caller must keep it. */
int dhcp_server_reload(struct dhcp_server *s, const struct dhcp_config *new_cfg, time_t now);

/* Decide about the LEN bytes of PKT that arrived on LINK (RX: addresses,
 * ifindex; neither NULL). RES is overwritten. Returns RES->kind. */
enum dhcp_result_kind dhcp_server_handle(struct dhcp_server *s, const uint8_t *pkt, size_t len,
					 const struct dhcp_link *link, const struct dhcp_rx *rx, time_t now,
					 struct dhcp_result *res);

/* The expiry timer: leases due at NOW expire (bound → expired, offers and
 * probations end), their names are withdrawn, and FN (may be NULL) gets
 * each record, in order, just before the table applies it: journal it
 * (dhcp_journal_append only queues, so that is safe). Returns the next
 * time something is due (0: nothing). */
typedef void (*dhcp_server_rec_fn)(void *data, const struct dhcp_lease_rec *rec);
time_t dhcp_server_expire(struct dhcp_server *s, time_t now, dhcp_server_rec_fn fn, void *data);

/* `lease release ADDRESS`: as dhcp_lease_release_addr(), with the name
 * withdrawn. 1 and *REC to journal, 0 nothing changed, -ENOENT. */
int dhcp_server_release_addr(struct dhcp_server *s, struct in_addr addr, time_t now,
			     struct dhcp_lease_rec *rec);

/* The lease table's id of the config's scope I (`dhcp stats`:
 * dhcp_lease_scope_counts), and the pools of it (partly) outside its
 * link's subnet, which are not served. -ENOENT for a bad I. */
int dhcp_server_scope_id(const struct dhcp_server *s, size_t i);
uint32_t dhcp_server_pools_outside(const struct dhcp_server *s, size_t i);

#endif
