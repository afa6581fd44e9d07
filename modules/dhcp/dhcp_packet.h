/* dhcp_packet.h — the DHCPv4 wire format: parse a BOOTP/DHCP message into an
 * option table, build replies, and the byte surgery a relay agent does.
 *
 * Pure: no sockets, no clock, no allocation. Every byte goes through the
 * bounds-checked cursor of wire.h; a message that breaks a rule below is
 * dropped with a reason the caller counts (dhcp_drop_name() names it).
 *
 * Typical server use, with both structs owned by the caller and reused for
 * every packet (they are a few KiB; keep them off small stacks):
 *
 *	struct dhcp_msg req;
 *	struct dhcp_reply rep;
 *	int r = dhcp_parse(pkt, n, &req);
 *	if (r < 0) {
 *		stats.drop[-r]++;              // -r is an enum dhcp_drop
 *		return;
 *	}
 *	dhcp_reply_init(&rep, out, sizeof(out), &req, DHCP_OFFER);
 *	rep.yiaddr = addr;
 *	dhcp_reply_addr(&rep, DHCP_OPT_SERVER_ID, me);
 *	dhcp_reply_u32(&rep, DHCP_OPT_LEASE_TIME, 43200);
 *	if (dhcp_has(&req, DHCP_OPT_AGENT_INFO))
 *		dhcp_reply_echo_agent_info(&rep);
 *	dhcp_reply_addr(&rep, DHCP_OPT_SUBNET_MASK, mask);   // any order
 *	int len = dhcp_reply_finish(&rep);   // bytes in out[], or -EMSGSIZE
 *
 * Addresses (struct in_addr) are in network byte order as everywhere in
 * the socket API; integers (xid, secs, flags, option values) in host order. */
#ifndef DHCP_PACKET_H
#define DHCP_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 2131 2, figure 1: the fixed part of every message, then the magic
 * cookie 99.130.83.99 (RFC 2131 3, RFC 2132 2) and the options. */
#define DHCP_HDR_LEN 236
#define DHCP_OPTIONS_OFF 240 /* header + cookie */
#define DHCP_SNAME_OFF 44
#define DHCP_SNAME_LEN 64
#define DHCP_FILE_OFF 108
#define DHCP_FILE_LEN 128
#define DHCP_CHADDR_LEN 16
#define DHCP_MAGIC_COOKIE 0x63825363u

/* RFC 1542 2.1: the UDP payload of a BOOTP message is at least 300 octets
 * (236 + the 64-octet 'vend' field); some clients discard shorter ones. */
#define DHCP_MIN_LEN 300
/* RFC 2131 2: every client accepts a 576-octet IP datagram, i.e. 548
 * octets of DHCP after the IP (20) and UDP (8) headers. */
#define DHCP_IP_UDP_LEN 28
#define DHCP_MIN_MAX_SIZE 576
#define DHCP_DEFAULT_LIMIT (DHCP_MIN_MAX_SIZE - DHCP_IP_UDP_LEN)

#define DHCP_BOOTREQUEST 1
#define DHCP_BOOTREPLY 2
#define DHCP_HTYPE_ETHER 1	   /* ARP hardware type; chaddr is then 6 octets */
#define DHCP_FLAG_BROADCAST 0x8000 /* RFC 2131 2, figure 2 */

/* Option 53 values (RFC 2132 9.6). */
enum dhcp_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

/* The option codes this module and the server name (RFC 2132 unless noted). */
enum dhcp_opt_code {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS_SERVER = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_MTU = 26,
	DHCP_OPT_BROADCAST = 28,
	DHCP_OPT_NTP_SERVER = 42,
	DHCP_OPT_VENDOR_INFO = 43,
	DHCP_OPT_REQUESTED_ADDR = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_RENEWAL_TIME = 58,
	DHCP_OPT_REBINDING_TIME = 59,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_RAPID_COMMIT = 80,	 /* RFC 4039 */
	DHCP_OPT_CLIENT_FQDN = 81,	 /* RFC 4702 */
	DHCP_OPT_AGENT_INFO = 82,	 /* RFC 3046 */
	DHCP_OPT_SUBNET_SELECTION = 118, /* RFC 3011 */
	DHCP_OPT_CLASSLESS_ROUTES = 121, /* RFC 3442 */
	DHCP_OPT_END = 255,
};

/* Option 52 values (RFC 2132 9.3). */
#define DHCP_OVERLOAD_FILE 1
#define DHCP_OVERLOAD_SNAME 2

/* Option 82 sub-options. */
#define DHCP_AGENT_CIRCUIT_ID 1	    /* RFC 3046 3.1 */
#define DHCP_AGENT_REMOTE_ID 2	    /* RFC 3046 3.2 */
#define DHCP_AGENT_LINK_SELECTION 5 /* RFC 3527 3: 4 octets, the client's subnet */

/* Why dhcp_parse() refused a message: it returns the negated value. */
enum dhcp_drop {
	DHCP_DROP_TRUNCATED = 1,  /* shorter than the 236-octet fixed header */
	DHCP_DROP_BAD_OP,	  /* op neither BOOTREQUEST nor BOOTREPLY */
	DHCP_DROP_BAD_HWADDR,	  /* hlen > 16 (chaddr is 16 octets), or htype 1 with hlen != 6 */
	DHCP_DROP_NO_COOKIE,	  /* no magic cookie: a BOOTP/vendor message, not DHCP */
	DHCP_DROP_OPTION_OVERRUN, /* an option's code, length or data runs past its field */
	DHCP_DROP_BAD_OPTION_LEN, /* an option the server acts on with a length its RFC forbids */
	DHCP_DROP_BAD_OVERLOAD,	  /* option 52 not 1 octet, or not 1..3 */
	DHCP_DROP_TOO_BIG,	  /* more option data than DHCP_OPT_DATA_MAX */
	DHCP_DROP_NO_MSG_TYPE,	  /* no option 53: plain BOOTP, which we do not serve */
	DHCP_DROP_BAD_MSG_TYPE,	  /* 53 outside 1..8, or a client type in a reply (or reverse) */
	DHCP_DROP_BAD_AGENT_INFO, /* option 82 shorter than 2, sub-options run past it, bad link-selection */
	DHCP_DROP_COUNT,	  /* size of a counter array indexed by the reason; not a reason */
};

/* Option data of one message after RFC 3396 concatenation, summed over all
 * options. 1500-octet frames carry at most ~1450; larger is a drop. */
#define DHCP_OPT_DATA_MAX 2048
#define DHCP_PRL_MAX 254 /* distinct codes 1..254 */
#define DHCP_NAME_MAX 255

/* Where an option's data sits in its message's data[]. */
struct dhcp_optref {
	uint16_t off;
	uint16_t len;
};

/* One parsed message. Self-contained: nothing points back into the packet,
 * so it may outlive the receive buffer. Read options through the getters;
 * the fields below "private" are the table they use. */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[DHCP_CHADDR_LEN]; /* all 16 octets as received; hlen of them are the address */
	uint8_t type;			 /* option 53, an enum dhcp_type */
	uint8_t overload;		 /* option 52 (DHCP_OVERLOAD_* bits), 0 when absent */
	size_t len;			 /* length of the parsed packet */

	/* private */
	uint32_t present[8];	     /* bit per code */
	struct dhcp_optref opt[256]; /* valid for present codes only */
	uint16_t nopts;
	uint8_t order[256]; /* present codes in order of first appearance */
	uint16_t nprl;
	uint8_t prl[DHCP_PRL_MAX]; /* option 55, deduplicated, client's order */
	uint32_t prl_set[8];
	uint8_t data[DHCP_OPT_DATA_MAX];
};

/* Parse LEN bytes of UDP payload into M. 0, or -DHCP_DROP_* (M's content
 * is then unspecified). Rules:
 * - RFC 2131 2: the fixed header, op 1 or 2, hlen <= 16; the cookie
 *   (RFC 2131 3) must follow it.
 * - RFC 2132 2: Pad (0) has no length octet and is skipped; End (255)
 *   closes a field and what follows it is ignored. A field whose options
 *   end exactly at its end without End is accepted (many clients omit it);
 *   an option whose length or data runs past the field is a drop.
 * - RFC 2131 4.1, RFC 2132 9.3: with option 52 in the options field, the
 *   'file' field (value 1 or 3) and then the 'sname' field (2 or 3) carry
 *   more options, each read once; a 52 inside those fields is ignored, so
 *   no loop is possible.
 * - RFC 3396: the instances of one code, in the options field, then
 *   'file', then 'sname', are concatenated into one value.
 * - Lengths (RFC 2132 9.x, RFC 3011 3, RFC 3046 2.0): 50, 51, 54, 118 are
 *   4 octets, 53 is 1, 57 is 2, 61 at least 2, 82 at least 2 with
 *   well-formed sub-options (RFC 3527: link-selection is 4). Options the
 *   server only passes on (12, 55, 81, ...) are checked by their getters,
 *   so a client's sloppy hostname does not cost it its lease.
 * - Option 53 is required (a BOOTP-only message is a drop), within 1..8
 *   and matching op (RFC 2131 table 2/3: DISCOVER, REQUEST, DECLINE,
 *   RELEASE, INFORM come from clients; OFFER, ACK, NAK from servers). */
int dhcp_parse(const void *buf, size_t len, struct dhcp_msg *m);

/* "truncated", "bad_op", ...: a counter name for REASON (either sign);
 * "unknown" for anything else. */
const char *dhcp_drop_name(int reason);
/* "DISCOVER", ..., "INFORM"; "unknown" otherwise. */
const char *dhcp_type_name(int type);

/* ---- Getters. None of them fails on a message dhcp_parse() accepted
 * except as documented; -ENOENT means the option is absent. ---- */

static inline bool dhcp_has(const struct dhcp_msg *m, uint8_t code)
{
	return (m->present[code >> 5] >> (code & 31)) & 1;
}

/* The data of CODE (after concatenation) and its length in *LEN; NULL when
 * absent. A present empty option gives a non-NULL pointer and 0. */
const uint8_t *dhcp_opt(const struct dhcp_msg *m, uint8_t code, size_t *len);
/* The codes present, in order of first appearance (no 0 or 255). */
size_t dhcp_opt_codes(const struct dhcp_msg *m, const uint8_t **codes);

/* Fixed-size values: 0, -ENOENT, or -EINVAL when the length is not 1/2/4. */
int dhcp_opt_u8(const struct dhcp_msg *m, uint8_t code, uint8_t *v);
int dhcp_opt_u16(const struct dhcp_msg *m, uint8_t code, uint16_t *v);
int dhcp_opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *v);
int dhcp_opt_addr(const struct dhcp_msg *m, uint8_t code, struct in_addr *a);
/* A list of addresses (3, 6, 42, ...): stores the first MAX in OUT and
 * returns how many there are in all; -ENOENT, or -EINVAL when the length
 * is 0 or not a multiple of 4. */
int dhcp_opt_addrs(const struct dhcp_msg *m, uint8_t code, struct in_addr *out, size_t max);

/* Option 55 (RFC 2132 9.8) as the client ordered it, each code once, 0 and
 * 255 left out: so even a 1000-octet list is at most 254 entries. Returns
 * the count (0 when absent). */
size_t dhcp_prl(const struct dhcp_msg *m, const uint8_t **codes);
static inline bool dhcp_prl_has(const struct dhcp_msg *m, uint8_t code)
{
	return (m->prl_set[code >> 5] >> (code & 31)) & 1;
}

/* Option 57 (RFC 2132 9.10) when it is at least 576 (the minimum legal
 * value; smaller ones are ignored), else 0. It counts the IP and UDP
 * headers (RFC 2131 2: 576 is "the minimum IP datagram size"). */
uint16_t dhcp_max_msg_size(const struct dhcp_msg *m);

/* Option 61 (RFC 2132 9.14), raw, type octet included; NULL when absent. */
const uint8_t *dhcp_client_id(const struct dhcp_msg *m, size_t *len);

/* Option 12 (RFC 2132 3.14) as text in OUT (CAP bytes, NUL-terminated):
 * trailing NULs some clients add are dropped. Returns the text length,
 * -ENOENT, -EINVAL (empty, or a NUL inside), -ENAMETOOLONG (does not fit
 * CAP). Raw: making it a DNS label is the caller's job. */
int dhcp_hostname(const struct dhcp_msg *m, char *out, size_t cap);

/* Option 81 (RFC 4702 2). Flags: */
#define DHCP_FQDN_S 0x01 /* client asks the server to update its A record */
#define DHCP_FQDN_O 0x02 /* server overrode the client's S (replies only) */
#define DHCP_FQDN_E 0x04 /* name in canonical wire format (RFC 4702 2.3), else ASCII (deprecated, 2.3.1) */
#define DHCP_FQDN_N 0x08 /* no DNS updates at all */
struct dhcp_fqdn {
	uint8_t flags;		/* the four bits above; RFC 4702 2.1: the others MUST be ignored */
	uint8_t rcode1, rcode2; /* RFC 4702 2.2: deprecated, clients send 0 */
	bool qualified;		/* wire: ended in the root label; ASCII: ended in '.' */
	/* labels joined by '.', no final dot; "" when the client sent no
	 * name (it leaves the choice to the server). Raw, not sanitised. */
	char name[DHCP_NAME_MAX + 1];
};
/* 0, -ENOENT, -EINVAL (shorter than 3 octets; a wire label over 63 octets
 * or a compression pointer, forbidden by RFC 4702 2.3; a label that runs
 * past the data or holds '.' or NUL; anything after the root label; a NUL
 * inside an ASCII name), -ENAMETOOLONG (over 255 characters). */
int dhcp_client_fqdn(const struct dhcp_msg *m, struct dhcp_fqdn *f);

/* Options 50 (RFC 2132 9.1) and 54 (9.7): 0 or -ENOENT. */
int dhcp_requested_addr(const struct dhcp_msg *m, struct in_addr *a);
int dhcp_server_id(const struct dhcp_msg *m, struct in_addr *a);

/* Sub-option SUB of option 82 (RFC 3046 2.0: code, length, value; the
 * first instance if repeated). NULL when either is absent. */
const uint8_t *dhcp_agent_sub(const struct dhcp_msg *m, uint8_t sub, size_t *len);
/* The subnet the client is on when it is not giaddr's: option 82's
 * link-selection (RFC 3527 3) first, else option 118 (RFC 3011 3).
 * 0 or -ENOENT. */
int dhcp_link_selection(const struct dhcp_msg *m, struct in_addr *a);

/* ---- Building a reply ---- */

/* Option data one reply may hold before ordering and fitting. */
#define DHCP_REPLY_DATA_MAX 2048

struct dhcp_reply {
	/* The header, from the request (RFC 2131 4.3.1, table 3): op 2, htype,
	 * hlen, xid, flags, giaddr and chaddr copied; hops and secs 0;
	 * ciaddr, yiaddr, siaddr 0 for the caller to set. The caller may
	 * change flags, e.g. the broadcast bit of a NAK sent through a relay
	 * (RFC 2131 4.3.2). */
	uint8_t htype, hlen;
	uint16_t flags;
	uint32_t xid;
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[DHCP_CHADDR_LEN];
	/* The reply's largest length: init sets the client's option 57 minus
	 * the IP and UDP headers, or 548 without one (RFC 2131 2, RFC 2132
	 * 9.10), capped by the buffer. The caller may lower it (an egress
	 * MTU); finish never goes past the buffer. */
	size_t limit;
	/* Options left out: by finish when they did not fit, by
	 * dhcp_reply_opt() when the data area was full. */
	size_t dropped;

	/* private */
	uint8_t *buf;
	size_t cap;
	const struct dhcp_msg *req;
	uint32_t present[8];
	struct dhcp_optref opt[256];
	uint16_t nopts;
	uint16_t used;
	uint8_t order[256];
	uint8_t data[DHCP_REPLY_DATA_MAX];
};

/* Start a reply of TYPE (option 53: DHCP_OFFER, DHCP_ACK or DHCP_NAK) to
 * REQ in BUF (CAP >= 548 octets; 1500 lets a client's larger option 57 be
 * honoured). REQ must stay valid until dhcp_reply_finish(). 0, or -EINVAL
 * (CAP too small, another TYPE). */
int dhcp_reply_init(struct dhcp_reply *b, void *buf, size_t cap, const struct dhcp_msg *req, uint8_t type);

/* Add option CODE (1..254) with LEN octets of DATA, copied. Longer than 255
 * is fine: finish splits it into consecutive instances (RFC 3396). A code
 * added again replaces the earlier value (host settings over scope ones),
 * keeping its first place among the unrequested ones.
 * 0, -EINVAL (code 0, 255, 53 (init's) or 52 (the builder never overloads,
 * RFC 2132 9.3); LEN over DHCP_REPLY_DATA_MAX; a length dhcp_parse() would
 * drop: 50, 51, 54, 118 not 4, 57 not 2, 61 under 2, a malformed 82), -ENOSPC
 * (the data area is full; also counted in dropped). The area holds more
 * than any reply can carry, but add 54, 51 and 82 before optional bulk all
 * the same, so they can never be the ones refused. */
int dhcp_reply_opt(struct dhcp_reply *b, uint8_t code, const void *data, size_t len);
int dhcp_reply_u8(struct dhcp_reply *b, uint8_t code, uint8_t v);
int dhcp_reply_u16(struct dhcp_reply *b, uint8_t code, uint16_t v);
int dhcp_reply_u32(struct dhcp_reply *b, uint8_t code, uint32_t v);
int dhcp_reply_addr(struct dhcp_reply *b, uint8_t code, struct in_addr a);
int dhcp_reply_addrs(struct dhcp_reply *b, uint8_t code, const struct in_addr *a, size_t n);
/* Copy the request's option 82 into the reply (RFC 3046 2.2: "SHALL echo
 * the entire contents ... in all replies"). 0, -ENOENT, or as dhcp_reply_opt. */
int dhcp_reply_echo_agent_info(struct dhcp_reply *b);

/* Write the reply: header, cookie, then the options in this order:
 *   53 (message type), 54 (server identifier),
 *   the options the client listed in 55, in its order (RFC 2132 9.8:
 *   "in the order of the client's preference"),
 *   the other options, in the order they were added,
 *   82 last (RFC 3046 2.2: "SHOULD copy the Relay Agent Information
 *   option as the last DHCP option in the response"; never in 'file' or
 *   'sname': this builder never overloads),
 * then End and zeros up to 300 octets (RFC 1542 2.1). What to include is
 * the caller's decision (1, 3, 6, 51, 58, 59 go in unrequested); the
 * builder only orders and fits. Options are placed in that order while
 * they fit in `limit`; one that does not is left out and counted in
 * dropped, so unrequested ones go first. 53, 54, 51 and 82 are never left
 * out. Returns the length written, or -EMSGSIZE when even those do not fit. */
int dhcp_reply_finish(struct dhcp_reply *b);

/* ---- Option encoders ---- */

/* A classless static route (RFC 3442). */
struct dhcp_route {
	struct in_addr dst; /* host bits past the prefix are ignored */
	uint8_t prefix;	    /* 0..32 */
	struct in_addr gw;
};
/* Option 121's data (RFC 3442 2: the prefix length, then only the
 * significant octets of the destination, ceil(prefix/8), then the router;
 * 0.0.0.0/0 is one octet 0 + router). RFC 3442 3: a client that gets 121
 * ignores option 3, so the server must put the default route in here too.
 * Returns the length, -EINVAL (prefix > 32), -ENOSPC. */
int dhcp_routes_encode(const struct dhcp_route *r, size_t n, uint8_t *out, size_t cap);
/* The reverse: the count of routes (the first MAX stored), or -EINVAL. */
int dhcp_routes_decode(const uint8_t *data, size_t len, struct dhcp_route *out, size_t max);

/* Option 81 for a reply (RFC 4702 4): FLAGS, RCODE1 = RCODE2 = 255 (2.2:
 * "A server SHOULD set these to 255"), NAME ("host.home.arpa", at most one
 * final dot) in wire format when FLAGS has E, else ASCII; QUALIFIED ends it
 * with the root label (wire) or a dot (ASCII). Returns the length, -EINVAL
 * (an empty or over-63-octet label), -ENOSPC. */
int dhcp_fqdn_encode(uint8_t flags, const char *name, bool qualified, uint8_t *out, size_t cap);

/* ---- Relay agent (RFC 1542 4.1, RFC 3046) ----
 * These work on the packet's bytes, which the relay forwards as they are. */

/* A request from a client on its way to a server (RFC 1542 4.1.1): refuse
 * it when its hops already exceed MAX_HOPS (and RFC 1542's hard 16), else
 * count this hop and set giaddr to GIADDR unless a relay closer to the
 * client has already set it. 0, -ELOOP, -EINVAL (shorter than the header). */
int dhcp_relay_request(void *pkt, size_t len, struct in_addr giaddr, unsigned max_hops);

/* The sub-options a relay inserts; a NULL or empty field is left out. */
struct dhcp_agent_opts {
	const void *circuit_id;
	size_t circuit_id_len;
	const void *remote_id;
	size_t remote_id_len;
	const struct in_addr *link_selection; /* RFC 3527 */
};
/* Whether any field (options, or 'file'/'sname' when overloaded) of the
 * packet holds option 82; a malformed packet counts as having none. */
bool dhcp_pkt_has_agent_info(const void *pkt, size_t len);
/* Insert option 82 into the request PKT of LEN octets, in a buffer of at
 * least MAX octets. RFC 3046 2.1: "as the last option (but before End ...,
 * if present) in the DHCP options field", never in 'file'/'sname' and
 * with no overload. It takes the place of the options field's End, a new
 * End follows, over the padding after the old one; the packet grows only
 * when that padding is too short. Returns the new length; on any failure
 * PKT is left unchanged and the result is -EEXIST (an 82 is already there:
 * RFC 3046 2.1 has the relay drop the packet when giaddr is 0 on an
 * untrusted circuit, else forward it without a second 82), -EINVAL
 * (malformed packet, no sub-option, or sub-options over 255 octets) or
 * -EMSGSIZE (the result would exceed MAX, the bound the relay may send:
 * its buffer, the MTU; RFC 3046 2.1 then forwards it without the option). */
int dhcp_relay_add_agent_info(void *pkt, size_t len, size_t max, const struct dhcp_agent_opts *ai);
/* Remove every option 82 from the reply PKT (RFC 3046 2.1: the relay
 * "MUST" remove the echoed option before forwarding to the client): the
 * options field is compacted, a new End closes it, and the packet is
 * shortened, but not below 300 octets (RFC 1542 2.1) nor, when it was
 * shorter than that, below its old length: the freed tail becomes zeros.
 * Instances in an overloaded 'file'/'sname' become Pad. Returns the new
 * length (LEN when there was no 82), or -EINVAL (malformed; PKT unchanged). */
int dhcp_relay_strip_agent_info(void *pkt, size_t len);

#endif
