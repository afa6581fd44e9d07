/* nat_ct.c — see nat_ct.h.
 *
 * The kernel's bytes are read through one attribute walker (ct_attrs) that
 * refuses any attribute not wholly inside its parent; each known attribute
 * is then checked for its exact type and length with mnl_attr_validate
 * before its value is read. Unknown attributes are skipped (newer kernels
 * add some) but still have to be well-formed.
 *
 * The socket side: one NETLINK_NETFILTER socket per dump, non-blocking,
 * read from a uv_poll callback. A callback handles at most
 * NAT_CT_PER_CALLBACK messages; what is left of a datagram waits in the
 * receive buffer and a uv_idle handle brings us back on the next loop turn
 * (the socket may have nothing more to say, so the poll would not). */
#include "nat_ct.h"

#include "gw.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel fills dump datagrams up to 32 KiB (netlink_recvmsg caps
 * max_recvmsg_len there); twice that never truncates one. */
#define CT_RXBUF_SIZE (64 * 1024)
/* Room for a burst of datagrams and, while deleting, the ACKs of a window
 * of deletes; FORCE passes net.core.rmem_max (we have CAP_NET_ADMIN). */
#define CT_SO_RCVBUF (4 * 1024 * 1024)
/* Deletes per sendto, and deletes sent but not yet answered: the window
 * bounds the kernel work done from one callback and the ACKs queued on our
 * socket (each its own skb of about 1 KiB truesize: 128 fit the default
 * 208 KiB receive buffer should the raise above be refused). */
#define CT_DELETE_BATCH 64
#define CT_DELETE_WINDOW 128
/* One delete message is about 90 bytes; this much room per message. */
#define CT_DELETE_MSG_MAX 256
/* A gateway's table is bounded by nf_conntrack_max; this bounds our copy. */
#define CT_DELETE_MAX_KEYS (4u * 1024 * 1024)

#define IPPROTO_ICMP_ 1

/* ---- the pure part: parsing ---- */

typedef int (*ct_attr_fn)(const struct nlattr *a, void *data);

/* Call FN for each attribute in [P, P+LEN). Every attribute must lie wholly
 * inside; only the padding after the last may be missing. Bytes that do
 * not form an attribute are truncation or garbage: -EBADMSG. */
static int ct_attrs(const void *p, size_t len, ct_attr_fn fn, void *data)
{
	const uint8_t *b = p;

	while (len > 0) {
		const struct nlattr *a = (const struct nlattr *)b;
		size_t alen, step;
		int rc;

		if (len < sizeof(*a))
			return -EBADMSG;
		alen = a->nla_len;
		if (alen < sizeof(*a) || alen > len)
			return -EBADMSG;
		rc = fn(a, data);
		if (rc < 0)
			return rc;
		step = MNL_ALIGN(alen);
		if (step >= len)
			break;
		b += step;
		len -= step;
	}
	return 0;
}

/* The attributes nested in A (already checked to be inside its parent). */
static int ct_nested(const struct nlattr *a, ct_attr_fn fn, void *data)
{
	if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return -EBADMSG;
	return ct_attrs(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), fn, data);
}

/* A second copy of one attribute is not something the kernel sends: which
 * one would be true? Refuse the message. */
static int ct_once(uint32_t *seen, uint16_t type)
{
	if (type < 32) {
		if (*seen & (1u << type))
			return -EBADMSG;
		*seen |= 1u << type;
	}
	return 0;
}

#define CT_HAS_PORTS 0x1
#define CT_HAS_ICMP 0x2

struct ct_tuple {
	uint32_t seen_tuple, seen_ip, seen_proto;
	bool v6;
	struct in_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint16_t icmp_id;
	uint8_t icmp_type, icmp_code;
};

static int ct_u8(const struct nlattr *a, uint8_t *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return -EBADMSG;
	*v = mnl_attr_get_u8(a);
	return 0;
}

/* network order on the wire, host order out */
static int ct_be16(const struct nlattr *a, uint16_t *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
		return -EBADMSG;
	*v = ntohs(mnl_attr_get_u16(a));
	return 0;
}

static int ct_be32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -EBADMSG;
	*v = ntohl(mnl_attr_get_u32(a));
	return 0;
}

static int ct_ip_cb(const struct nlattr *a, void *data)
{
	struct ct_tuple *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (ct_once(&t->seen_ip, type) < 0)
		return -EBADMSG;
	switch (type) {
	case CTA_IP_V4_SRC:
	case CTA_IP_V4_DST:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(struct in_addr)) < 0)
			return -EBADMSG;
		memcpy(type == CTA_IP_V4_SRC ? &t->src : &t->dst, mnl_attr_get_payload(a),
		       sizeof(struct in_addr));
		return 0;
	case CTA_IP_V6_SRC:
	case CTA_IP_V6_DST:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(struct in6_addr)) < 0)
			return -EBADMSG;
		t->v6 = true;
		return 0;
	default:
		return 0;
	}
}

static int ct_proto_cb(const struct nlattr *a, void *data)
{
	struct ct_tuple *t = data;
	uint16_t type = mnl_attr_get_type(a);
	uint8_t skip8;
	uint16_t skip16;

	if (ct_once(&t->seen_proto, type) < 0)
		return -EBADMSG;
	switch (type) {
	case CTA_PROTO_NUM:
		return ct_u8(a, &t->proto);
	case CTA_PROTO_SRC_PORT:
		return ct_be16(a, &t->sport);
	case CTA_PROTO_DST_PORT:
		return ct_be16(a, &t->dport);
	case CTA_PROTO_ICMP_ID:
		return ct_be16(a, &t->icmp_id);
	case CTA_PROTO_ICMP_TYPE:
		return ct_u8(a, &t->icmp_type);
	case CTA_PROTO_ICMP_CODE:
		return ct_u8(a, &t->icmp_code);
	case CTA_PROTO_ICMPV6_ID:
		return ct_be16(a, &skip16);
	case CTA_PROTO_ICMPV6_TYPE:
	case CTA_PROTO_ICMPV6_CODE:
		return ct_u8(a, &skip8);
	default:
		return 0;
	}
}

static int ct_tuple_cb(const struct nlattr *a, void *data)
{
	struct ct_tuple *t = data;
	uint16_t type = mnl_attr_get_type(a);
	uint16_t zone;

	if (ct_once(&t->seen_tuple, type) < 0)
		return -EBADMSG;
	switch (type) {
	case CTA_TUPLE_IP:
		return ct_nested(a, ct_ip_cb, t);
	case CTA_TUPLE_PROTO:
		return ct_nested(a, ct_proto_cb, t);
	case CTA_TUPLE_ZONE:
		return ct_be16(a, &zone);
	default:
		return 0;
	}
}

#define BIT(x) (1u << (x))

/* What one tuple must hold: addresses and protocol; both ports or none;
 * ICMP its id, type and code (the kernel always sends all three). */
static int ct_tuple_check(const struct ct_tuple *t, unsigned *has)
{
	uint32_t ports = BIT(CTA_PROTO_SRC_PORT) | BIT(CTA_PROTO_DST_PORT);
	uint32_t icmp = BIT(CTA_PROTO_ICMP_ID) | BIT(CTA_PROTO_ICMP_TYPE) | BIT(CTA_PROTO_ICMP_CODE);

	if (!(t->seen_tuple & BIT(CTA_TUPLE_IP)) || !(t->seen_proto & BIT(CTA_PROTO_NUM)))
		return -EBADMSG;
	if (t->v6)
		return -ENOENT;
	if ((t->seen_ip & (BIT(CTA_IP_V4_SRC) | BIT(CTA_IP_V4_DST))) !=
	    (BIT(CTA_IP_V4_SRC) | BIT(CTA_IP_V4_DST)))
		return -EBADMSG;
	*has = 0;
	if (t->proto == IPPROTO_ICMP_) {
		if ((t->seen_proto & icmp) != icmp)
			return -EBADMSG;
		*has = CT_HAS_ICMP;
	} else if ((t->seen_proto & ports) == ports) {
		*has = CT_HAS_PORTS;
	} else if (t->seen_proto & ports) {
		return -EBADMSG;
	}
	return 0;
}

struct ct_msg {
	uint32_t seen;
	struct ct_tuple orig, reply;
	uint32_t status, timeout, id, mark;
	uint32_t seen_pi, seen_tcp;
	uint8_t tcp_state;
};

static int ct_tcp_cb(const struct nlattr *a, void *data)
{
	struct ct_msg *m = data;
	uint16_t type = mnl_attr_get_type(a);
	uint8_t skip;

	if (ct_once(&m->seen_tcp, type) < 0)
		return -EBADMSG;
	switch (type) {
	case CTA_PROTOINFO_TCP_STATE:
		return ct_u8(a, &m->tcp_state);
	case CTA_PROTOINFO_TCP_WSCALE_ORIGINAL:
	case CTA_PROTOINFO_TCP_WSCALE_REPLY:
		return ct_u8(a, &skip);
	case CTA_PROTOINFO_TCP_FLAGS_ORIGINAL:
	case CTA_PROTOINFO_TCP_FLAGS_REPLY: /* struct nf_ct_tcp_flags: flags, mask */
		return mnl_attr_validate2(a, MNL_TYPE_BINARY, 2) < 0 ? -EBADMSG : 0;
	default:
		return 0;
	}
}

static int ct_protoinfo_cb(const struct nlattr *a, void *data)
{
	struct ct_msg *m = data;
	uint16_t type = mnl_attr_get_type(a);

	if (ct_once(&m->seen_pi, type) < 0)
		return -EBADMSG;
	if (type == CTA_PROTOINFO_TCP)
		return ct_nested(a, ct_tcp_cb, m);
	return 0; /* DCCP, SCTP: not shown */
}

static int ct_top_cb(const struct nlattr *a, void *data)
{
	struct ct_msg *m = data;
	uint16_t type = mnl_attr_get_type(a);

	if (ct_once(&m->seen, type) < 0)
		return -EBADMSG;
	switch (type) {
	case CTA_TUPLE_ORIG:
		return ct_nested(a, ct_tuple_cb, &m->orig);
	case CTA_TUPLE_REPLY:
		return ct_nested(a, ct_tuple_cb, &m->reply);
	case CTA_STATUS:
		return ct_be32(a, &m->status);
	case CTA_TIMEOUT:
		return ct_be32(a, &m->timeout);
	case CTA_ID:
		return ct_be32(a, &m->id);
	case CTA_MARK:
		return ct_be32(a, &m->mark);
	case CTA_PROTOINFO:
		return ct_nested(a, ct_protoinfo_cb, m);
	default:
		return 0;
	}
}

/* The "ports" of one tuple: ICMP's query id stands in for both. */
static void ct_ports(const struct ct_tuple *t, unsigned has, uint16_t *sport, uint16_t *dport)
{
	if (has & CT_HAS_ICMP) {
		*sport = *dport = t->icmp_id;
	} else if (has & CT_HAS_PORTS) {
		*sport = t->sport;
		*dport = t->dport;
	} else {
		*sport = *dport = 0;
	}
}

static void ct_fill(const struct ct_msg *m, unsigned has, struct nat_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = m->orig.proto;
	f->orig_src = m->orig.src;
	f->orig_dst = m->orig.dst;
	f->reply_src = m->reply.src;
	f->reply_dst = m->reply.dst;
	ct_ports(&m->orig, has, &f->orig_sport, &f->orig_dport);
	ct_ports(&m->reply, has, &f->reply_sport, &f->reply_dport);
	if (has & CT_HAS_ICMP) {
		f->icmp_type = m->orig.icmp_type;
		f->icmp_code = m->orig.icmp_code;
	}
	f->status = m->status;
	f->timeout = m->timeout;
	f->tcp_state = f->proto == IPPROTO_TCP ? m->tcp_state : 0;
	f->id = m->id;
	f->mark = m->mark;
}

/* nat_ct_parse, also saying which optional parts the orig tuple had (a
 * delete must name the flow by the same attributes). */
static int ct_parse(const struct nlmsghdr *nlh, size_t len, struct nat_flow *f, unsigned *has)
{
	const struct nfgenmsg *nfg;
	struct ct_msg m;
	unsigned has_orig = 0, has_reply = 0;
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg));
	int rc, rc2;

	if (len < MNL_NLMSG_HDRLEN || nlh->nlmsg_len < MNL_NLMSG_HDRLEN || nlh->nlmsg_len > len)
		return -EBADMSG;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW)
		return -ENOENT;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*nfg))
		return -EBADMSG;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != AF_INET)
		return -ENOENT;
	if (nlh->nlmsg_len < hdr) /* the family header's padding cut */
		return -EBADMSG;
	memset(&m, 0, sizeof(m));
	rc = ct_attrs((const uint8_t *)nlh + hdr, nlh->nlmsg_len - hdr, ct_top_cb, &m);
	if (rc < 0)
		return rc;
	if (!(m.seen & BIT(CTA_TUPLE_ORIG)) || !(m.seen & BIT(CTA_TUPLE_REPLY)))
		return -EBADMSG;
	rc = ct_tuple_check(&m.orig, &has_orig);
	rc2 = ct_tuple_check(&m.reply, &has_reply);
	if (rc == -EBADMSG || rc2 == -EBADMSG)
		return -EBADMSG;
	if (rc < 0 || rc2 < 0)
		return -ENOENT; /* an IPv6 tuple */
	if (m.orig.proto != m.reply.proto || has_orig != has_reply)
		return -EBADMSG;
	ct_fill(&m, has_orig, f);
	*has = has_orig;
	return 0;
}

int nat_ct_parse(const struct nlmsghdr *nlh, size_t len, struct nat_flow *f)
{
	unsigned has;

	return ct_parse(nlh, len, f, &has);
}

const char *nat_ct_tcp_state(uint8_t state)
{
	/* the kernel's names (nf_conntrack_proto_tcp.c tcp_conntrack_names);
	 * NONE is what a flow that is not TCP carries, so it shows empty */
	static const char *const names[] = {
		[TCP_CONNTRACK_NONE] = "",
		[TCP_CONNTRACK_SYN_SENT] = "SYN_SENT",
		[TCP_CONNTRACK_SYN_RECV] = "SYN_RECV",
		[TCP_CONNTRACK_ESTABLISHED] = "ESTABLISHED",
		[TCP_CONNTRACK_FIN_WAIT] = "FIN_WAIT",
		[TCP_CONNTRACK_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_CONNTRACK_LAST_ACK] = "LAST_ACK",
		[TCP_CONNTRACK_TIME_WAIT] = "TIME_WAIT",
		[TCP_CONNTRACK_CLOSE] = "CLOSE",
		[TCP_CONNTRACK_SYN_SENT2] = "SYN_SENT2",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "UNKNOWN";
}

static void ct_put(struct in_addr *a, uint16_t *p, struct in_addr av, uint16_t pv)
{
	if (a)
		*a = av;
	if (p)
		*p = pv;
}

bool nat_flow_view(const struct nat_flow *f, struct in_addr *inside, uint16_t *inside_port,
		   struct in_addr *outside, uint16_t *outside_port, struct in_addr *peer, uint16_t *peer_port)
{
	if (f->status & NAT_CT_DST_NAT) {
		/* a forward or PCP mapping (and hairpin, which adds SNAT on
		 * top): the world came in to orig_dst, the LAN host answers
		 * from reply_src */
		ct_put(inside, inside_port, f->reply_src, f->reply_sport);
		ct_put(outside, outside_port, f->orig_dst, f->orig_dport);
		ct_put(peer, peer_port, f->orig_src, f->orig_sport);
		return true;
	}
	if (f->status & NAT_CT_SRC_NAT) {
		/* masquerade: the LAN host went out, answers come back to the
		 * translated address, reply_dst */
		ct_put(inside, inside_port, f->orig_src, f->orig_sport);
		ct_put(outside, outside_port, f->reply_dst, f->reply_dport);
		ct_put(peer, peer_port, f->orig_dst, f->orig_dport);
		return true;
	}
	return false;
}

/* ---- the socket side ---- */

enum ct_phase {
	CT_DUMPING,
	CT_DELETING
};

struct ct_key {
	struct nat_flow f;
	unsigned has;
};

struct nat_ct_dump {
	uv_poll_t poll;
	uv_idle_t idle;
	int open_handles;
	bool closing;	/* finished or cancelled: no callback any more */
	bool polling;	/* the poll handle is started */
	bool dump_done; /* NLMSG_DONE of the dump seen */
	enum ct_phase phase;

	struct mnl_socket *nl;
	uint32_t portid, seq;
	uint8_t *buf;
	size_t len, off; /* bytes in buf, and where the next message starts */
	int err;	 /* set by a message callback that answers MNL_CB_ERROR */
	size_t bad;	 /* entries refused by the parser */

	nat_ct_each_fn each;
	nat_ct_done_fn done;
	nat_ct_match_fn match;
	nat_ct_deleted_fn deleted_fn;
	void *data;

	struct ct_key *keys;
	size_t nkeys, capkeys;
	size_t sent, acked, deleted;
	int del_err; /* first answer to a delete that was neither 0 nor ENOENT */
};

static void ct_on_closed(uv_handle_t *h)
{
	struct nat_ct_dump *d = h->data;

	if (--d->open_handles > 0)
		return;
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d->buf);
	free(d->keys);
	free(d);
}

static void ct_close(struct nat_ct_dump *d)
{
	d->closing = true;
	uv_close((uv_handle_t *)&d->poll, ct_on_closed);
	uv_close((uv_handle_t *)&d->idle, ct_on_closed);
}

static void ct_finish(struct nat_ct_dump *d, int rc)
{
	if (d->closing)
		return;
	d->closing = true; /* a cancel from inside DONE is then a no-op */
	if (d->bad)
		gw_warn("nat: conntrack: %zu malformed entries skipped", d->bad);
	if (d->match) {
		if (d->deleted_fn)
			d->deleted_fn(d->data, rc, d->deleted);
	} else if (d->done) {
		d->done(d->data, rc);
	}
	ct_close(d);
}

void nat_ct_dump_cancel(struct nat_ct_dump *d)
{
	if (d && !d->closing)
		ct_close(d);
}

static int ct_keep(struct nat_ct_dump *d, const struct nat_flow *f, unsigned has)
{
	if (d->nkeys == d->capkeys) {
		size_t cap = d->capkeys ? d->capkeys * 2 : 256;
		struct ct_key *k;

		if (cap > CT_DELETE_MAX_KEYS)
			return -E2BIG;
		k = realloc(d->keys, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		d->keys = k;
		d->capkeys = cap;
	}
	d->keys[d->nkeys].f = *f;
	d->keys[d->nkeys].has = has;
	d->nkeys++;
	return 0;
}

static int ct_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nat_ct_dump *d = data;
	struct nat_flow f;
	unsigned has;
	int rc;

	if (d->phase != CT_DUMPING)
		return MNL_CB_OK; /* nothing but ACKs is expected now */
	rc = ct_parse(nlh, nlh->nlmsg_len, &f, &has);
	if (rc == -EBADMSG)
		d->bad++;
	if (rc < 0)
		return MNL_CB_OK;
	if (!d->match) {
		d->each(d->data, &f);
	} else if (d->match(d->data, &f)) {
		rc = ct_keep(d, &f, has);
		if (rc < 0) {
			d->err = rc;
			return MNL_CB_ERROR;
		}
	}
	return d->closing ? MNL_CB_STOP : MNL_CB_OK; /* cancelled from the callback */
}

/* The kernel's errno in an NLMSG_ERROR; anything else is our -EPROTO. */
static int ct_errno(int error)
{
	return error < 0 && error > -4096 ? error : -EPROTO;
}

static int ct_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nat_ct_dump *d = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		d->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (d->phase == CT_DUMPING) { /* the dump request refused (EPERM ...) */
		d->err = ct_errno(e->error);
		return MNL_CB_ERROR;
	}
	if (d->acked == d->sent) { /* an answer to nothing we sent */
		d->err = -EPROTO;
		return MNL_CB_ERROR;
	}
	d->acked++;
	if (e->error == 0)
		d->deleted++;
	else if (e->error != -ENOENT && d->del_err == 0) /* ENOENT: the flow died meanwhile */
		d->del_err = ct_errno(e->error);
	return MNL_CB_OK;
}

static int ct_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nat_ct_dump *d = data;
	int status;

	if (d->phase != CT_DUMPING)
		return MNL_CB_OK;
	/* a dump that failed half-way says so in NLMSG_DONE's int */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(status)) {
		memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
		if (status < 0) {
			d->err = ct_errno(status);
			return MNL_CB_ERROR;
		}
	}
	d->dump_done = true;
	return MNL_CB_STOP;
}

static int ct_overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nat_ct_dump *d = data;

	d->err = -ENOBUFS;
	return MNL_CB_ERROR;
}

/* Control messages are ours to judge: libmnl's default ends the run at the
 * first ACK, and a batch of deletes brings many in one datagram. (Not
 * const: libmnl 1.0.4 takes it without.) */
static mnl_cb_t ct_ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = ct_error_cb,
	[NLMSG_DONE] = ct_done_cb,
	[NLMSG_OVERRUN] = ct_overrun_cb,
};

/* One datagram: its length, 0 when it was not the kernel's (dropped), or
 * a negative errno (-EAGAIN: none yet; -ENOBUFS: messages were lost). */
static ssize_t ct_recv(struct nat_ct_dump *d)
{
	struct sockaddr_nl sa;
	struct iovec iov = {d->buf, CT_RXBUF_SIZE};
	struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	do
		n = recvmsg(mnl_socket_get_fd(d->nl), &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -ENOBUFS; /* a cut datagram lost messages too */
	/* only the kernel speaks on this socket */
	if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
		return 0;
	return n;
}

/* Handle up to *BUDGET whole messages from the buffer through libmnl. */
static int ct_run_piece(struct nat_ct_dump *d, unsigned *budget)
{
	const uint8_t *p = d->buf + d->off;
	size_t rem = d->len - d->off, piece = 0;
	bool broken = false;
	unsigned n = 0;
	int rc;

	while (n < *budget && rem - piece > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(p + piece);
		size_t left = rem - piece, step;

		/* broken framing: nothing after it can be read, the dump's
		 * NLMSG_DONE maybe neither, so the dump fails (after the
		 * messages before it) */
		if (left < MNL_NLMSG_HDRLEN || nlh->nlmsg_len < MNL_NLMSG_HDRLEN || nlh->nlmsg_len > left) {
			broken = true;
			break;
		}
		step = MNL_ALIGN(nlh->nlmsg_len);
		piece += step < left ? step : left;
		n++;
	}
	rc = MNL_CB_OK;
	d->err = 0;
	if (n > 0)
		rc = mnl_cb_run2(p, piece, d->seq, d->portid, ct_data_cb, d, ct_ctl_cbs, NLMSG_MIN_TYPE);
	d->off += piece;
	*budget -= n;
	if (rc == MNL_CB_ERROR) /* libmnl itself: ESRCH, EPROTO (seq), EINTR (dump interrupted) */
		return d->err ? d->err : errno ? -errno : -EPROTO;
	if (rc == MNL_CB_STOP || broken)
		d->off = d->len; /* after NLMSG_DONE the datagram holds nothing of ours */
	return broken && rc != MNL_CB_STOP ? -EBADMSG : 0;
}

static void ct_put_delete(struct nlmsghdr *nlh, const struct ct_key *k, uint32_t seq)
{
	struct nfgenmsg *nfg;
	struct nlattr *tuple, *nest;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, k->f.orig_src.s_addr);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, k->f.orig_dst.s_addr);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, k->f.proto);
	if (k->has & CT_HAS_PORTS) {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(k->f.orig_sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(k->f.orig_dport));
	} else if (k->has & CT_HAS_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(k->f.orig_sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, k->f.icmp_type);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, k->f.icmp_code);
	}
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
	/* the id makes it this flow, not a newer one on the same tuple */
	mnl_attr_put_u32(nlh, CTA_ID, htonl(k->f.id));
}

/* Keep CT_DELETE_WINDOW deletes in flight, CT_DELETE_BATCH per sendto.
 * The kernel runs each message of a datagram in turn and ACKs each. */
static int ct_send_deletes(struct nat_ct_dump *d)
{
	uint8_t buf[CT_DELETE_BATCH * CT_DELETE_MSG_MAX];

	while (d->sent < d->nkeys && d->sent - d->acked < CT_DELETE_WINDOW) {
		size_t room = CT_DELETE_WINDOW - (d->sent - d->acked), used = 0, n = 0;

		while (n < CT_DELETE_BATCH && n < room && d->sent + n < d->nkeys) {
			struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + used);

			ct_put_delete(nlh, &d->keys[d->sent + n], d->seq);
			used += MNL_ALIGN(nlh->nlmsg_len);
			n++;
		}
		if (mnl_socket_sendto(d->nl, buf, used) < 0)
			return -errno;
		d->sent += n;
	}
	return 0;
}

/* The dump's NLMSG_DONE arrived: done, or on to the deletes. */
static int ct_dump_finished(struct nat_ct_dump *d)
{
	if (!d->match || d->nkeys == 0) {
		ct_finish(d, 0);
		return 0;
	}
	d->phase = CT_DELETING;
	d->seq++;
	return ct_send_deletes(d);
}

static void ct_rearm(struct nat_ct_dump *d);
static void ct_on_idle(uv_idle_t *h);
static void ct_on_readable(uv_poll_t *h, int status, int events);

static void ct_step(struct nat_ct_dump *d)
{
	unsigned budget = NAT_CT_PER_CALLBACK;
	int rc = 0;

	while (budget > 0 && !d->closing && rc == 0) {
		if (d->off >= d->len) {
			ssize_t n = ct_recv(d);

			if (n == -EAGAIN)
				break;
			if (n < 0) {
				rc = (int)n;
				break;
			}
			d->off = 0;
			d->len = (size_t)n;
			budget -= n == 0; /* a dropped datagram costs a turn too */
			continue;
		}
		rc = ct_run_piece(d, &budget);
		if (rc == 0 && !d->closing && d->phase == CT_DUMPING && d->dump_done)
			rc = ct_dump_finished(d);
		else if (rc == 0 && !d->closing && d->phase == CT_DELETING)
			rc = d->acked == d->nkeys ? 1 : ct_send_deletes(d);
	}
	if (rc != 0)
		ct_finish(d, rc < 0 ? rc : d->del_err);
	if (!d->closing)
		ct_rearm(d);
}

/* Messages left in the buffer: the idle handle brings us back next turn
 * (the socket may stay quiet), and the poll waits meanwhile, so one turn
 * runs one callback of ours, not two. Buffer empty: the socket's turn. */
static void ct_rearm(struct nat_ct_dump *d)
{
	int rc;

	if (d->off < d->len) {
		if (d->polling)
			uv_poll_stop(&d->poll);
		d->polling = false;
		uv_idle_start(&d->idle, ct_on_idle);
		return;
	}
	uv_idle_stop(&d->idle);
	if (!d->polling) {
		rc = uv_poll_start(&d->poll, UV_READABLE, ct_on_readable);
		if (rc < 0) {
			ct_finish(d, rc);
			return;
		}
		d->polling = true;
	}
}

static void ct_on_idle(uv_idle_t *h)
{
	ct_step(container_of(h, struct nat_ct_dump, idle));
}

static void ct_on_readable(uv_poll_t *h, int status, int events)
{
	struct nat_ct_dump *d = container_of(h, struct nat_ct_dump, poll);

	/* an error on the socket (ENOBUFS) comes as POLLERR, which libuv
	 * answers by stopping the handle: the read in ct_step reports it,
	 * and ct_rearm starts the handle again if we go on */
	if (status < 0)
		d->polling = false;
	ct_step(d);
}

static int ct_open(struct nat_ct_dump *d)
{
	int sz = CT_SO_RCVBUF, one = 1;
	int fd;

	d->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!d->nl)
		return -errno;
	fd = mnl_socket_get_fd(d->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* errors need not echo our request back: smaller answers */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	d->portid = mnl_socket_get_portid(d->nl);
	return 0;
}

static int ct_request_dump(struct nat_ct_dump *d)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = d->seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET; /* the kernel then dumps IPv4 entries only */
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static void ct_free(struct nat_ct_dump *d)
{
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d->buf);
	free(d);
}

static int ct_start(uv_loop_t *loop, struct nat_ct_dump *d, struct nat_ct_dump **out)
{
	int rc;

	d->buf = malloc(CT_RXBUF_SIZE);
	rc = d->buf ? ct_open(d) : -ENOMEM;
	if (rc == 0)
		rc = ct_request_dump(d);
	if (rc == 0)
		rc = uv_poll_init(loop, &d->poll, mnl_socket_get_fd(d->nl));
	if (rc < 0) {
		ct_free(d);
		return rc;
	}
	(void)uv_idle_init(loop, &d->idle); /* cannot fail */
	d->poll.data = d->idle.data = d;
	d->open_handles = 2;
	rc = uv_poll_start(&d->poll, UV_READABLE, ct_on_readable);
	if (rc < 0) {
		ct_close(d);
		return rc;
	}
	d->polling = true;
	*out = d;
	return 0;
}

int nat_ct_dump_start(uv_loop_t *loop, nat_ct_each_fn each, nat_ct_done_fn done, void *data,
		      struct nat_ct_dump **out)
{
	struct nat_ct_dump *d;

	if (!loop || !each || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->each = each;
	d->done = done;
	d->data = data;
	return ct_start(loop, d, out);
}

int nat_ct_delete_start(uv_loop_t *loop, nat_ct_match_fn match, nat_ct_deleted_fn done, void *data,
			struct nat_ct_dump **out)
{
	struct nat_ct_dump *d;

	if (!loop || !match || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->match = match;
	d->deleted_fn = done;
	d->data = data;
	return ct_start(loop, d, out);
}
