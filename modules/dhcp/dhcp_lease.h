/* dhcp_lease.h — the DHCP lease table: leases by address and by client, pools, allocation, expiry.
 *
 * Pure: no I/O, no clock (every operation takes `now`, wall-clock seconds, because
 * expiry must hold across restarts), no knowledge of the config module. Scopes
 * are named by the caller ("lan", "10.30.0.0/24") and get a small id; their pools
 * are plain first..last ranges; reservations and the server's own addresses come
 * from a callback given to allocation.
 *
 * Every change is described by one struct dhcp_lease_rec: the complete image of
 * the record at an address (PUT) or its removal (DEL). The table applies its own
 * changes through dhcp_lease_apply(), the same function the journal replay
 * uses, so a replayed table equals the live one by construction. A record is
 * idempotent: applying it twice, or applying an older run of records that ends
 * in the same images, leaves the same table.
 *
 * Addresses are uint32_t in host byte order (pools are ranges).
 *
 * A struct dhcp_lease pointer is valid until the next call that changes the table. */
#ifndef DHCP_LEASE_H
#define DHCP_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DHCP_LEASE_CID_MAX 255	    /* option 61 is one option: at most 255 bytes */
#define DHCP_LEASE_CHADDR_MAX 16    /* RFC 2131 2: chaddr is 16 octets */
#define DHCP_LEASE_HOSTNAME_MAX 253 /* a DNS name */
#define DHCP_LEASE_SCOPE_NAME_MAX 63
#define DHCP_LEASE_SCOPES_MAX 1024     /* ids are uint16_t; a hostile journal cannot make more */
#define DHCP_LEASE_POOL_MAX (1u << 24) /* addresses in one pool: a 2 MiB bitmap at most */

/* How long an OFFER holds its address. RFC 2131 4.4.1 has the client retransmit
 * within 4..64 s; 60 s covers a client that takes the second offer's round. */
#define DHCP_LEASE_OFFER_HOLD 60
/* How long a DECLINEd address stays out of the pool (RFC 2131 4.3.3: "MUST mark
 * the network address as not available"). An address is declined because some
 * other host answers ARP for it: a device with a hand-set address, usually
 * there to stay, so dnsmasq's 10 min would hand it out again while the culprit
 * is still on. Kea's 24 h lets a spoofed DECLINE train (a client declining every
 * address it gets) drain a 150-address home pool for a day. One hour is long
 * enough to span a sleeping laptop's absence and short enough that a drained
 * pool recovers within the hour after the attack stops. */
#define DHCP_LEASE_PROBATION 3600

enum dhcp_lease_state {
	DHCP_LEASE_OFFERED = 1, /* held for a client until expires_at */
	DHCP_LEASE_BOUND,	/* ACKed until expires_at */
	DHCP_LEASE_RELEASED,	/* free; expires_at is when it was released; kept for the same client */
	DHCP_LEASE_EXPIRED,	/* free; expires_at is when it ran out; kept for the same client */
	DHCP_LEASE_DECLINED,	/* not available until expires_at (probation); belongs to no client */
	DHCP_LEASE_STATIC,	/* bound, for a reserved address (the server says so at bind) */
};
#define DHCP_LEASE_STATE_MAX DHCP_LEASE_STATIC

/* "offered", "bound", ... as CONTROL.md spells them; "?" for anything else */
const char *dhcp_lease_state_name(int state);

/* Who asks. RFC 2131 4.2: the client identifier (option 61) when sent,
 * otherwise htype+chaddr, identifies the client. */
struct dhcp_lease_client {
	const uint8_t *client_id; /* option 61's bytes (type byte first), or NULL */
	uint8_t client_id_len;	  /* 0: no client identifier */
	uint8_t htype;
	uint8_t hlen; /* <= DHCP_LEASE_CHADDR_MAX */
	const uint8_t *chaddr;
};
/* A client-id that is just htype+chaddr (what dhclient, udhcpc and Windows
 * send) names the same client as the bare chaddr: one identity, so a client
 * that starts or stops sending it keeps its address (dnsmasq and Kea match
 * so too). The length of the client-id that identifies C, 0 when its
 * htype+chaddr does. */
size_t dhcp_lease_identity_len(const struct dhcp_lease_client *c);
/* A and B are one client by that rule (the lease table's matching). */
bool dhcp_lease_same_client(const struct dhcp_lease_client *a, const struct dhcp_lease_client *b);

/* The client held this address bound before: an expiring re-offer leaves an
 * EXPIRED record, not nothing. */
#define DHCP_LEASE_F_WAS_BOUND 0x01
#define DHCP_LEASE_F_ALL 0x01

/* One lease. Read-only to the caller; the variable-length parts through the accessors. */
struct dhcp_lease {
	struct dhcp_lease *addr_next; /* private: chain of the address index */
	struct dhcp_lease *key_next;  /* private: chain of the client index */
	struct dhcp_lease *lru_prev;  /* private: the scope's free list (RELEASED/EXPIRED) */
	struct dhcp_lease *lru_next;
	int64_t expires_at;
	uint32_t addr;
	uint16_t scope;
	uint8_t state; /* enum dhcp_lease_state */
	uint8_t flags; /* DHCP_LEASE_F_*, plus private bits */
	uint8_t htype;
	uint8_t hlen;
	uint8_t cid_len;
	uint8_t host_len;
	uint8_t data[]; /* private: htype, chaddr, client-id (unless it is htype+chaddr), hostname + NUL */
};

const uint8_t *dhcp_lease_chaddr(const struct dhcp_lease *l);		      /* hlen bytes */
const uint8_t *dhcp_lease_client_id(const struct dhcp_lease *l, size_t *len); /* NULL, *len 0: none */
const char *dhcp_lease_hostname(const struct dhcp_lease *l);		      /* "" when none */

/* A change, as the journal stores it. */
enum dhcp_lease_op {
	DHCP_LEASE_PUT = 1, /* the record at addr becomes exactly this */
	DHCP_LEASE_DEL = 2, /* the record at addr goes (only addr is meaningful) */
};

struct dhcp_lease_rec {
	uint64_t seq; /* the journal's; the table ignores it */
	uint8_t op;   /* enum dhcp_lease_op */
	uint8_t state;
	uint8_t flags; /* DHCP_LEASE_F_* */
	uint8_t htype;
	uint8_t hlen;
	uint8_t cid_len;
	uint8_t host_len;
	uint8_t scope_len;
	uint32_t addr;
	int64_t expires_at;
	uint8_t chaddr[DHCP_LEASE_CHADDR_MAX];
	uint8_t client_id[DHCP_LEASE_CID_MAX];
	char hostname[DHCP_LEASE_HOSTNAME_MAX + 1]; /* NUL-terminated too */
	char scope[DHCP_LEASE_SCOPE_NAME_MAX + 1];  /* the scope's name, NUL-terminated too */
};

struct dhcp_lease_table;

/* NULL when rec can be applied; otherwise why not ("bad state", ...). The
 * journal decoder calls it on every record it reads. */
const char *dhcp_lease_rec_invalid(const struct dhcp_lease_rec *rec);
/* The PUT image of an existing lease (snapshots). */
void dhcp_lease_rec_of(const struct dhcp_lease_table *t, const struct dhcp_lease *l,
		       struct dhcp_lease_rec *rec);

/* seed keys the client index's hash (SipHash), so that clients cannot choose
 * colliding identifiers: pass random bytes. NULL on ENOMEM. */
struct dhcp_lease_table *dhcp_lease_table_new(uint64_t seed);
void dhcp_lease_table_free(struct dhcp_lease_table *t);
size_t dhcp_lease_count(const struct dhcp_lease_table *t);

/* ---- scopes and pools ---- */

struct dhcp_lease_pool {
	uint32_t first, last; /* inclusive, host byte order */
};

/* The id of scope `name`, created (without pools) when missing and create is
 * set. -ENOENT, -EINVAL (empty, too long, not printable), -ENOSPC (too many). */
int dhcp_lease_scope(struct dhcp_lease_table *t, const char *name, bool create);
const char *dhcp_lease_scope_name(const struct dhcp_lease_table *t, uint16_t scope);
size_t dhcp_lease_scope_count(const struct dhcp_lease_table *t);
/* Replace the scope's pools (reload keeps every lease). -EINVAL: first > last or
 * overlapping ranges; -E2BIG: a pool larger than DHCP_LEASE_POOL_MAX; -ENOENT;
 * -ENOMEM. On error the old pools stay. */
int dhcp_lease_scope_set_pools(struct dhcp_lease_table *t, uint16_t scope,
			       const struct dhcp_lease_pool *pools, size_t npools);
bool dhcp_lease_in_pool(const struct dhcp_lease_table *t, uint16_t scope, uint32_t addr);

struct dhcp_lease_counts {
	uint32_t pool_size; /* addresses in the pools */
	uint32_t used;	    /* pool addresses offered, bound, static or declined (unexpired) */
	uint32_t free;	    /* pool_size - used (reserved addresses included: the table does not know them) */
	uint32_t state[DHCP_LEASE_STATE_MAX + 1]; /* records of the scope by state, in or out of the pools */
};
/* O(leases): for `dhcp stats`, not for the packet path. */
int dhcp_lease_scope_counts(const struct dhcp_lease_table *t, uint16_t scope, time_t now,
			    struct dhcp_lease_counts *c);
/* Records in state OFFERED in the scope, O(1): the server caps outstanding offers with it. */
uint32_t dhcp_lease_offers(const struct dhcp_lease_table *t, uint16_t scope);

/* ---- lookups and iteration ---- */

const struct dhcp_lease *dhcp_lease_by_addr(const struct dhcp_lease_table *t, uint32_t addr);
/* The client's record in the scope (any state but DECLINED, which belongs to no one). */
const struct dhcp_lease *dhcp_lease_by_client(const struct dhcp_lease_table *t, uint16_t scope,
					      const struct dhcp_lease_client *c);
/* Every lease, in no particular order; the table must not change meanwhile. */
const struct dhcp_lease *dhcp_lease_first(const struct dhcp_lease_table *t);
const struct dhcp_lease *dhcp_lease_next(const struct dhcp_lease_table *t, const struct dhcp_lease *l);

/* ---- allocation ---- */

struct dhcp_lease_want {
	uint16_t scope;
	const struct dhcp_lease_client *client;
	uint32_t requested; /* option 50, or 0 */
	time_t now;
	/* true for addresses no dynamic client may get: reservations, the
	 * server's and the router's own addresses. NULL: none. */
	bool (*reserved)(void *data, uint32_t addr);
	void *data;
};

/* Choose an address for the client (RFC 2131 4.3.1), without changing the table:
 *   1. the client's current or previous address, if in a pool and still its;
 *   2. the requested address, if in a pool and free;
 *   3. the first pool address that never had a record;
 *   4. the record freed (released/expired) longest ago.
 * Never an address bound, statically bound, offered and unexpired, declined in
 * probation, or reserved. 0 and *addr, or -ENOSPC (exhausted), -ENOENT (scope),
 * -EINVAL (a client without identity). */
int dhcp_lease_allocate(struct dhcp_lease_table *t, const struct dhcp_lease_want *w, uint32_t *addr);

/* ---- changes: 1 and *rec filled (journal it), 0 nothing changed, or -errno ---- */

struct dhcp_lease_set {
	uint16_t scope;
	uint32_t addr;
	const struct dhcp_lease_client *client;
	const char *hostname; /* sanitised by the caller; NULL or "": none */
	time_t now;
	uint32_t duration; /* offer hold, lease time */
};

/* Hold addr for the client until now + duration. The client's bound lease on
 * the same address stays bound (0). -EADDRINUSE: the address is another
 * client's (bound, offered, declined): offers never evict. */
int dhcp_lease_offer(struct dhcp_lease_table *t, const struct dhcp_lease_set *s, struct dhcp_lease_rec *rec);
/* Bind addr to the client until now + duration (STATIC when is_static: the
 * server binds a reservation). The client's record at another address in the
 * scope is dropped (one record per client and scope). -EADDRINUSE as above. */
int dhcp_lease_bind(struct dhcp_lease_table *t, const struct dhcp_lease_set *s, bool is_static,
		    struct dhcp_lease_rec *rec);
/* RFC 2131 4.3.4: the client gives its address back; the record stays (RELEASED,
 * expires_at = now) so the address returns to it while free. -ENOENT: no
 * record; -EPERM: not this client's. */
int dhcp_lease_release(struct dhcp_lease_table *t, uint16_t scope, uint32_t addr,
		       const struct dhcp_lease_client *c, time_t now, struct dhcp_lease_rec *rec);
/* `lease release ADDRESS`: an offered/bound/static lease becomes RELEASED, a
 * declined address leaves probation (its record goes). -ENOENT: no record. */
int dhcp_lease_release_addr(struct dhcp_lease_table *t, uint32_t addr, time_t now,
			    struct dhcp_lease_rec *rec);
/* RFC 2131 4.3.3: the client found addr in use. The address is out of the
 * pool until now + probation and belongs to no client any more. -ENOENT, -EPERM. */
int dhcp_lease_decline(struct dhcp_lease_table *t, uint16_t scope, uint32_t addr,
		       const struct dhcp_lease_client *c, time_t now, uint32_t probation,
		       struct dhcp_lease_rec *rec);

/* The expiry sweep: records whose expires_at <= now change: BOUND and STATIC
 * become EXPIRED, OFFERED goes (or becomes EXPIRED when the client had the
 * address bound before), DECLINED goes; RELEASED/EXPIRED records outside
 * their scope's pools go (no allocation can reuse them). fn, if not NULL, sees
 * each change before it is applied (old is the record as it was; fn must not
 * change the table). Returns the earliest expires_at still to come (0: none),
 * for the caller's timer. Cheap when nothing is due. */
typedef void (*dhcp_lease_change_fn)(void *data, const struct dhcp_lease *old,
				     const struct dhcp_lease_rec *rec);
time_t dhcp_lease_expire(struct dhcp_lease_table *t, time_t now, dhcp_lease_change_fn fn, void *data);

/* Apply a record (replay; every change above goes through it). A PUT replaces
 * the record at its address and the client's other record in its scope; its
 * scope is created when missing. -EINVAL (see dhcp_lease_rec_invalid), -ENOSPC
 * (scopes), -ENOMEM. */
int dhcp_lease_apply(struct dhcp_lease_table *t, const struct dhcp_lease_rec *rec);

/* Bytes the table holds, allocator overhead estimated (for the test's print and `dhcp stats`). */
size_t dhcp_lease_table_bytes(const struct dhcp_lease_table *t);

#endif
