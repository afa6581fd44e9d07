/* nat_nft.c — see nat_nft.h.
 *
 * The messages are the ones nft 1.0.6 sends for the ruleset of the header
 * (checked with `nft --debug=netlink,mnl -f`): the same expressions, set key
 * types (nft's type numbers, 6 bits per component of a concatenation) and
 * set user data, so that `nft list table inet homegw` prints the table as if
 * nft had made it, and its output loads back with `nft -f`. */
#include "nat_nft.h"

#include "gw.h"
#include "log.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- building ---- */

#define MSG_ROOM 4096 /* any message but an element list fits in this */
#define ELEM_ROOM 128 /* one element of ours, attributes and nests included */

/* nft's datatype numbers (nftables src/datatype.h), stored in the set's key
 * type so that nft prints the elements in their own notation */
enum {
	NFT_TYPE_IPADDR = 7,
	NFT_TYPE_INET_PROTOCOL = 12,
	NFT_TYPE_INET_SERVICE = 13,
	NFT_TYPE_IFNAME = 41
};
#define NFT_TYPE_CONCAT(a, b) ((a) << 6 | (b)) /* nftables: TYPE_BITS 6 per component */
/* nft's byteorder and expression-type numbers in set user data */
enum {
	NFT_BYTEORDER_INVALID = 0,
	NFT_BYTEORDER_HOST = 1,
	NFT_BYTEORDER_BIG = 2
};
enum {
	NFT_EXPR_META = 9,
	NFT_EXPR_CONCAT = 13
};
#define NFT_UDATA_META_KEY 0
#define ANON_SET "__set%d" /* the kernel names it (nf_tables_set_alloc_name) */

static int batch_reserve(struct nat_nft_batch *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 16384;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = cap;
	return 0;
}

/* BEGIN or END: nfgenmsg with res_id NFNL_SUBSYS_NFTABLES, no ACK asked */
static int batch_frame(struct nat_nft_batch *b, bool begin)
{
	struct nlmsghdr *nlh;
	int rc = batch_reserve(b, 64);

	if (rc)
		return rc;
	if (begin)
		nlh = nftnl_batch_begin((char *)b->buf + b->len, b->seq_next++);
	else
		nlh = nftnl_batch_end((char *)b->buf + b->len, b->seq_next++);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->nmsgs++;
	return 0;
}

/* Start a change message with ROOM bytes reserved for it: nothing may grow
 * the buffer (and move NLH) until msg_end. */
static int msg_begin(struct nat_nft_batch *b, uint16_t type, uint16_t flags, size_t room,
		     struct nlmsghdr **out)
{
	int rc;

	if (b->ended)
		return -EINVAL;
	if (b->nmsgs == 0 && (rc = batch_frame(b, true)) < 0)
		return rc;
	if ((rc = batch_reserve(b, room)) < 0)
		return rc;
	*out = nftnl_nlmsg_build_hdr((char *)b->buf + b->len, type, NFPROTO_INET, flags | NLM_F_ACK,
				     b->seq_next++);
	b->nmsgs++;
	return 0;
}

static void msg_end(struct nat_nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

void nat_nft_batch_init(struct nat_nft_batch *b, uint32_t seq)
{
	memset(b, 0, sizeof(*b));
	b->seq_first = b->seq_next = seq;
}

void nat_nft_batch_free(struct nat_nft_batch *b)
{
	free(b->buf);
	nat_nft_batch_init(b, b->seq_next);
}

int nat_nft_batch_end(struct nat_nft_batch *b)
{
	int rc;

	if (b->ended)
		return -EINVAL;
	if (b->nmsgs == 0 && (rc = batch_frame(b, true)) < 0)
		return rc;
	if ((rc = batch_frame(b, false)) < 0)
		return rc;
	b->ended = true;
	return 0;
}

/* -- tables and chains -- */

static int put_table(struct nat_nft_batch *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int rc = -ENOMEM;

	if (!t)
		return -ENOMEM;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT_NFT_TABLE) < 0)
		goto out;
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	rc = msg_begin(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, MSG_ROOM, &nlh);
	if (rc == 0) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		msg_end(b, nlh);
	}
out:
	nftnl_table_free(t);
	return rc;
}

struct chain_def {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
};

/* the standard priorities of nft's names dstnat, srcnat and filter */
static const struct chain_def chain_dstnat = {"dstnat", "nat", NF_INET_PRE_ROUTING, -100};
static const struct chain_def chain_srcnat = {"srcnat", "nat", NF_INET_POST_ROUTING, 100};
static const struct chain_def chain_forward = {"forward", "filter", NF_INET_FORWARD, 0};
static const struct chain_def chain_input = {"input", "filter", NF_INET_LOCAL_IN, 0};

static int put_chain(struct nat_nft_batch *b, const struct chain_def *d)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int rc = -ENOMEM;

	if (!c)
		return -ENOMEM;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NAT_NFT_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type) < 0)
		goto out;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	rc = msg_begin(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, MSG_ROOM, &nlh);
	if (rc == 0) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		msg_end(b, nlh);
	}
out:
	nftnl_chain_free(c);
	return rc;
}

/* -- sets -- */

enum set_udata {
	UD_KEY_BIG,	 /* ipv4_addr */
	UD_KEY_HOST,	 /* ifname */
	UD_CONCAT_KEY,	 /* inet_proto . inet_service */
	UD_CONCAT_MAP,	 /* ... : ipv4_addr . inet_service */
	UD_META_L4PROTO, /* the anonymous { tcp, udp } of meta l4proto */
};

struct set_def {
	const char *name;
	uint32_t flags, key_type, key_len, data_type, data_len;
	enum set_udata ud;
};

#define KEY_PROTO_PORT NFT_TYPE_CONCAT(NFT_TYPE_INET_PROTOCOL, NFT_TYPE_INET_SERVICE)
#define DATA_ADDR_PORT NFT_TYPE_CONCAT(NFT_TYPE_IPADDR, NFT_TYPE_INET_SERVICE)

/* each component of a concatenation takes a whole 32-bit register */
static const struct set_def named_sets[] = {
	{NAT_NFT_SET_WAN, 0, NFT_TYPE_IPADDR, 4, 0, 0, UD_KEY_BIG},
	{NAT_NFT_SET_LAN, NFT_SET_INTERVAL, NFT_TYPE_IPADDR, 4, 0, 0, UD_KEY_BIG},
	{NAT_NFT_SET_MASQ, 0, NFT_TYPE_IFNAME, IFNAMSIZ, 0, 0, UD_KEY_HOST},
	{NAT_NFT_SET_OPEN, 0, KEY_PROTO_PORT, 8, 0, 0, UD_CONCAT_KEY},
	{NAT_NFT_MAP_FWD, NFT_SET_MAP, KEY_PROTO_PORT, 8, DATA_ADDR_PORT, 8, UD_CONCAT_MAP},
	{NAT_NFT_MAP_PCP, NFT_SET_MAP | NFT_SET_TIMEOUT, KEY_PROTO_PORT, 8, DATA_ADDR_PORT, 8, UD_CONCAT_MAP},
};

static const struct set_def anon_l4 = {
	ANON_SET, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, NFT_TYPE_INET_PROTOCOL, 1, 0, 0, UD_META_L4PROTO};

/* nft's "typeof" record of a concatenation declared with `type`: the
 * expression type and no components */
static bool ud_concat(struct nftnl_udata_buf *u, uint8_t type)
{
	struct nftnl_udata *nest = nftnl_udata_nest_start(u, type);
	struct nftnl_udata *data;

	if (!nest || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_EXPR_CONCAT))
		return false;
	data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
	if (!data)
		return false;
	nftnl_udata_nest_end(u, data);
	nftnl_udata_nest_end(u, nest);
	return true;
}

static bool ud_meta_l4proto(struct nftnl_udata_buf *u)
{
	struct nftnl_udata *nest = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_KEY_TYPEOF);
	struct nftnl_udata *data;

	if (!nest || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_EXPR_META))
		return false;
	data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
	if (!data || !nftnl_udata_put_u32(u, NFT_UDATA_META_KEY, NFT_META_L4PROTO))
		return false;
	nftnl_udata_nest_end(u, data);
	nftnl_udata_nest_end(u, nest);
	return true;
}

static bool fill_udata(struct nftnl_udata_buf *u, enum set_udata ud)
{
	switch (ud) {
	case UD_KEY_BIG:
		return nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_BIG);
	case UD_KEY_HOST:
		return nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST);
	case UD_CONCAT_KEY:
		return nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_INVALID) &&
		       ud_concat(u, NFTNL_UDATA_SET_KEY_TYPEOF);
	case UD_CONCAT_MAP:
		return nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_INVALID) &&
		       nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, NFT_BYTEORDER_INVALID) &&
		       ud_concat(u, NFTNL_UDATA_SET_KEY_TYPEOF) &&
		       ud_concat(u, NFTNL_UDATA_SET_DATA_TYPEOF) &&
		       nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	case UD_META_L4PROTO:
		return nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST) &&
		       ud_meta_l4proto(u);
	}
	return false;
}

static int set_attrs(struct nftnl_set *s, const struct set_def *d, uint32_t id)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	int rc = -ENOMEM;

	if (!u)
		return -ENOMEM;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, NAT_NFT_TABLE) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, d->name) < 0)
		goto out;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
	if (d->flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, d->data_type);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, d->data_len);
	}
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	if (d->flags & NFT_SET_ANONYMOUS)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, 2);
	if (!fill_udata(u, d->ud))
		goto out;
	if (nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) < 0)
		goto out;
	rc = 0;
out:
	nftnl_udata_buf_free(u);
	return rc;
}

/* NEWSET; *ID gets the NFTA_SET_ID the batch's later messages may use */
static int put_set(struct nat_nft_batch *b, const struct set_def *d, uint32_t *id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int rc;

	if (!s)
		return -ENOMEM;
	*id = ++b->set_ids;
	rc = set_attrs(s, d, *id);
	if (rc == 0)
		rc = msg_begin(b, NFT_MSG_NEWSET, NLM_F_CREATE, MSG_ROOM, &nlh);
	if (rc == 0) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		msg_end(b, nlh);
	}
	nftnl_set_free(s);
	return rc;
}

/* -- elements -- */

struct elem {
	const void *key, *data;
	uint8_t klen, dlen;
	uint32_t flags;
	uint64_t timeout_ms;
	bool open_end; /* an interval start with no end (it runs to the top) */
};

/* Writes elements of one set into as many messages as it takes. */
struct elw {
	struct nat_nft_batch *b;
	uint16_t type; /* NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM */
	const char *set;
	uint32_t set_id; /* an anonymous set of this batch, else 0 */
	struct nlmsghdr *nlh;
	struct nlattr *list;
};

static void elw_init(struct elw *w, struct nat_nft_batch *b, uint16_t type, const char *set, uint32_t set_id)
{
	*w = (struct elw){.b = b, .type = type, .set = set, .set_id = set_id};
}

static int elw_open(struct elw *w)
{
	uint16_t flags = w->type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0;
	int rc = msg_begin(w->b, w->type, flags, NAT_NFT_ELEMS_MAX + ELEM_ROOM + MSG_ROOM, &w->nlh);

	if (rc)
		return rc;
	mnl_attr_put_strz(w->nlh, NFTA_SET_ELEM_LIST_TABLE, NAT_NFT_TABLE);
	mnl_attr_put_strz(w->nlh, NFTA_SET_ELEM_LIST_SET, w->set);
	if (w->set_id)
		mnl_attr_put_u32(w->nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(w->set_id));
	w->list = mnl_attr_nest_start(w->nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	return 0;
}

static void elw_close(struct elw *w)
{
	if (!w->nlh)
		return;
	mnl_attr_nest_end(w->nlh, w->list);
	msg_end(w->b, w->nlh);
	w->nlh = NULL;
}

static void put_value(struct nlmsghdr *nlh, uint16_t type, const void *v, uint8_t len)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(nlh, nest);
}

static int elw_put(struct elw *w, const struct elem *e)
{
	struct nlattr *el;
	int rc;

	if (w->nlh &&
	    (size_t)((char *)mnl_nlmsg_get_payload_tail(w->nlh) - (char *)w->list) > NAT_NFT_ELEMS_MAX)
		elw_close(w);
	if (!w->nlh && (rc = elw_open(w)) < 0)
		return rc;
	el = mnl_attr_nest_start(w->nlh, NFTA_LIST_ELEM);
	if (e->flags)
		mnl_attr_put_u32(w->nlh, NFTA_SET_ELEM_FLAGS, htonl(e->flags));
	if (e->timeout_ms)
		mnl_attr_put_u64(w->nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(e->timeout_ms));
	put_value(w->nlh, NFTA_SET_ELEM_KEY, e->key, e->klen);
	if (e->dlen)
		put_value(w->nlh, NFTA_SET_ELEM_DATA, e->data, e->dlen);
	if (e->open_end) {
		/* nft's mark of a range that runs to the top of the key space */
		uint32_t v = NFTNL_SET_ELEM_F_INTERVAL_OPEN; /* nftnl_udata_put_u32: host order */
		uint8_t ud[6] = {NFTNL_UDATA_SET_ELEM_FLAGS, 4};
		memcpy(ud + 2, &v, 4);
		mnl_attr_put(w->nlh, NFTA_SET_ELEM_USERDATA, sizeof(ud), ud);
	}
	mnl_attr_nest_end(w->nlh, el);
	return 0;
}

/* A set's whole content removed (DELSETELEM without a list flushes it). */
static int put_flush(struct nat_nft_batch *b, const char *set)
{
	struct nlmsghdr *nlh;
	int rc = msg_begin(b, NFT_MSG_DELSETELEM, 0, MSG_ROOM, &nlh);

	if (rc)
		return rc;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NAT_NFT_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	msg_end(b, nlh);
	return 0;
}

/* inet_proto . inet_service: a byte of protocol and a port in network
 * order, each in its own 4-byte register */
static void key_proto_port(uint8_t k[8], uint8_t proto, uint16_t port)
{
	memset(k, 0, 8);
	k[0] = proto;
	k[4] = (uint8_t)(port >> 8);
	k[5] = (uint8_t)port;
}

/* ipv4_addr . inet_service */
static void data_addr_port(uint8_t d[8], struct in_addr a, uint16_t port)
{
	memset(d, 0, 8);
	memcpy(d, &a.s_addr, 4);
	d[4] = (uint8_t)(port >> 8);
	d[5] = (uint8_t)port;
}

static int put_wan_addrs(struct nat_nft_batch *b, const struct nat_nft_spec *spec)
{
	struct elw w;
	int rc = 0;

	elw_init(&w, b, NFT_MSG_NEWSETELEM, NAT_NFT_SET_WAN, 0);
	for (size_t i = 0; i < spec->nwan && rc == 0; i++) {
		struct elem e = {.key = &spec->wan_addrs[i].s_addr, .klen = 4};
		rc = elw_put(&w, &e);
	}
	elw_close(&w);
	return rc;
}

struct range {
	uint32_t first, last; /* host order, inclusive */
};

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* The LAN prefixes as sorted, disjoint, non-adjacent ranges (an interval
 * set refuses overlaps). Returns the count, or -errno. */
static ssize_t lan_ranges(const struct nat_nft_spec *spec, struct range **out)
{
	struct range *r = calloc(spec->nlan ? spec->nlan : 1, sizeof(*r));
	size_t n = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < spec->nlan; i++) {
		uint8_t len = spec->lan_nets[i].len;
		uint32_t mask;
		if (len > 32) {
			free(r);
			return -EINVAL;
		}
		mask = len ? ~0u << (32 - len) : 0;
		r[i].first = ntohl(spec->lan_nets[i].net.s_addr) & mask;
		r[i].last = r[i].first | ~mask;
	}
	qsort(r, spec->nlan, sizeof(*r), range_cmp);
	for (size_t i = 0; i < spec->nlan; i++) {
		if (n && (r[n - 1].last == UINT32_MAX || r[i].first <= r[n - 1].last + 1)) {
			if (r[i].last > r[n - 1].last)
				r[n - 1].last = r[i].last;
			continue;
		}
		r[n++] = r[i];
	}
	*out = r;
	return (ssize_t)n;
}

/* Interval elements as nft writes them: an end element at 0 unless the
 * first range starts there, then each range's start and its end + 1 (the
 * end flagged), a range that runs to 255.255.255.255 having no end. */
static int put_lan_nets(struct nat_nft_batch *b, const struct nat_nft_spec *spec)
{
	struct range *r;
	ssize_t n = lan_ranges(spec, &r);
	struct elw w;
	uint32_t k;
	int rc = 0;

	if (n < 0)
		return (int)n;
	elw_init(&w, b, NFT_MSG_NEWSETELEM, NAT_NFT_SET_LAN, 0);
	if (n > 0 && r[0].first != 0) {
		k = 0;
		struct elem e = {.key = &k, .klen = 4, .flags = NFT_SET_ELEM_INTERVAL_END};
		rc = elw_put(&w, &e);
	}
	for (ssize_t i = 0; i < n && rc == 0; i++) {
		bool top = r[i].last == UINT32_MAX;
		k = htonl(r[i].first);
		struct elem start = {.key = &k, .klen = 4, .open_end = top};
		rc = elw_put(&w, &start);
		if (rc == 0 && !top) {
			k = htonl(r[i].last + 1);
			struct elem end = {.key = &k, .klen = 4, .flags = NFT_SET_ELEM_INTERVAL_END};
			rc = elw_put(&w, &end);
		}
	}
	elw_close(&w);
	free(r);
	return rc;
}

static int put_masq_ifs(struct nat_nft_batch *b, const struct nat_config *nc)
{
	struct elw w;
	int rc = 0;

	elw_init(&w, b, NFT_MSG_NEWSETELEM, NAT_NFT_SET_MASQ, 0);
	for (size_t i = 0; i < nc->nmasq && rc == 0; i++) {
		char name[IFNAMSIZ] = {0}; /* ifname keys are the whole IFNAMSIZ, zero-padded */
		const char *dev = nc->masq[i].device ? nc->masq[i].device : "";
		size_t len = strlen(dev);
		if (len == 0 || len >= IFNAMSIZ) {
			rc = -EINVAL;
			break;
		}
		memcpy(name, dev, len);
		struct elem e = {.key = name, .klen = IFNAMSIZ};
		rc = elw_put(&w, &e);
	}
	elw_close(&w);
	return rc;
}

static bool proto_ok(unsigned proto)
{
	return proto == NAT_TCP || proto == NAT_UDP;
}

static int put_open(struct nat_nft_batch *b, const struct nat_config *nc)
{
	struct elw w;
	int rc = 0;

	elw_init(&w, b, NFT_MSG_NEWSETELEM, NAT_NFT_SET_OPEN, 0);
	for (size_t i = 0; i < nc->nopen && rc == 0; i++) {
		const struct nat_open *o = &nc->open[i];
		if (!proto_ok(o->proto) || o->first > o->last) {
			rc = -EINVAL;
			break;
		}
		for (uint32_t p = o->first; p <= o->last && rc == 0; p++) {
			uint8_t k[8];
			key_proto_port(k, (uint8_t)o->proto, (uint16_t)p);
			struct elem e = {.key = k, .klen = 8};
			rc = elw_put(&w, &e);
		}
	}
	elw_close(&w);
	return rc;
}

/* -- forwards: one element per port, walked in key order -- */

struct fwd_el {
	uint8_t proto;
	uint16_t port;
	struct in_addr to;
	uint16_t to_port;
};

struct fwd_it {
	const struct nat_config *nc;
	size_t i;
	uint32_t port; /* next port of forward i */
};

/* The forwards must be sorted by (proto, first) and disjoint (nat_config
 * makes them so): the diff walks two configs in key order. */
static int fwd_check(const struct nat_config *nc)
{
	uint32_t prev_last = 0;

	for (size_t i = 0; nc && i < nc->nforwards; i++) {
		const struct nat_forward *f = &nc->forwards[i];
		uint32_t first = (uint32_t)f->proto << 16 | f->first;
		if (!proto_ok(f->proto) || f->first > f->last ||
		    (uint32_t)f->to_port + (f->last - f->first) > 0xffff)
			return -EINVAL;
		if (i > 0 && first <= prev_last)
			return -EINVAL;
		prev_last = (uint32_t)f->proto << 16 | f->last;
	}
	return 0;
}

static void fwd_it_init(struct fwd_it *it, const struct nat_config *nc)
{
	*it = (struct fwd_it){.nc = nc};
	if (nc && nc->nforwards)
		it->port = nc->forwards[0].first;
}

/* true and *E, false at the end (the forwards passed fwd_check) */
static bool fwd_next(struct fwd_it *it, struct fwd_el *e)
{
	const struct nat_forward *f;

	if (!it->nc)
		return false;
	while (it->i < it->nc->nforwards && it->port > it->nc->forwards[it->i].last) {
		if (++it->i < it->nc->nforwards)
			it->port = it->nc->forwards[it->i].first;
	}
	if (it->i >= it->nc->nforwards)
		return false;
	f = &it->nc->forwards[it->i];
	*e = (struct fwd_el){(uint8_t)f->proto, (uint16_t)it->port, f->to,
			     (uint16_t)(f->to_port + (it->port - f->first))};
	it->port++;
	return true;
}

static int put_fwd_el(struct elw *w, const struct fwd_el *f)
{
	uint8_t k[8], d[8];

	key_proto_port(k, f->proto, f->port);
	data_addr_port(d, f->to, f->to_port);
	struct elem e = {.key = k, .klen = 8, .data = d, .dlen = w->type == NFT_MSG_NEWSETELEM ? 8 : 0};
	return elw_put(w, &e);
}

static int put_forwards(struct nat_nft_batch *b, const struct nat_config *nc)
{
	struct fwd_it it;
	struct fwd_el f;
	struct elw w;
	int rc = fwd_check(nc);

	if (rc)
		return rc;
	fwd_it_init(&it, nc);
	elw_init(&w, b, NFT_MSG_NEWSETELEM, NAT_NFT_MAP_FWD, 0);
	while (rc == 0 && fwd_next(&it, &f))
		rc = put_fwd_el(&w, &f);
	elw_close(&w);
	return rc;
}

static bool fwd_same_target(const struct fwd_el *a, const struct fwd_el *b)
{
	return a->to.s_addr == b->to.s_addr && a->to_port == b->to_port;
}

static uint32_t fwd_key(const struct fwd_el *e)
{
	return (uint32_t)e->proto << 16 | e->port;
}

/* One pass of the merge of OLD and NEW in key order: with DEL, the
 * elements to delete (gone, or target changed), else those to add. */
static int diff_pass(struct nat_nft_batch *b, const struct nat_config *old_nc,
		     const struct nat_config *new_nc, bool del)
{
	struct fwd_it io, in;
	struct fwd_el eo, en;
	struct elw w;
	bool ho, hn;
	int rc = 0;

	fwd_it_init(&io, old_nc);
	fwd_it_init(&in, new_nc);
	elw_init(&w, b, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, NAT_NFT_MAP_FWD, 0);
	ho = fwd_next(&io, &eo);
	hn = fwd_next(&in, &en);
	while (rc == 0 && (ho || hn)) {
		if (ho && (!hn || fwd_key(&eo) < fwd_key(&en))) {
			rc = del ? put_fwd_el(&w, &eo) : 0; /* gone */
			ho = fwd_next(&io, &eo);
		} else if (hn && (!ho || fwd_key(&en) < fwd_key(&eo))) {
			rc = del ? 0 : put_fwd_el(&w, &en); /* new */
			hn = fwd_next(&in, &en);
		} else {
			if (!fwd_same_target(&eo, &en)) /* moved: delete, then add */
				rc = put_fwd_el(&w, del ? &eo : &en);
			ho = fwd_next(&io, &eo);
			hn = fwd_next(&in, &en);
		}
	}
	elw_close(&w);
	return rc;
}

int nat_nft_build_forward_diff(struct nat_nft_batch *b, const struct nat_config *old_nc,
			       const struct nat_config *new_nc)
{
	int rc;

	if ((rc = fwd_check(old_nc)) < 0 || (rc = fwd_check(new_nc)) < 0)
		return rc;
	if ((rc = diff_pass(b, old_nc, new_nc, true)) < 0)
		return rc;
	return diff_pass(b, old_nc, new_nc, false);
}

/* -- pcp -- */

static int put_pcp_el(struct elw *w, const struct nat_pcp_mapping *m, uint32_t now)
{
	uint8_t k[8], d[8];

	key_proto_port(k, m->proto, m->ext_port);
	data_addr_port(d, m->client, m->int_port);
	struct elem e = {.key = k, .klen = 8};
	if (w->type == NFT_MSG_NEWSETELEM) {
		e.data = d;
		e.dlen = 8;
		e.timeout_ms = (uint64_t)(m->expires - now) * 1000;
	}
	return elw_put(w, &e);
}

static bool pcp_live(const struct nat_pcp_mapping *m, uint32_t now)
{
	return (int32_t)(m->expires - now) > 0;
}

static int put_pcp_all(struct nat_nft_batch *b, const struct nat_nft_spec *spec)
{
	struct elw w;
	int rc = 0;

	elw_init(&w, b, NFT_MSG_NEWSETELEM, NAT_NFT_MAP_PCP, 0);
	for (size_t i = 0; i < spec->npcp && rc == 0; i++) {
		if (!proto_ok(spec->pcp[i].proto))
			rc = -EINVAL;
		else if (pcp_live(&spec->pcp[i], spec->now))
			rc = put_pcp_el(&w, &spec->pcp[i], spec->now);
	}
	elw_close(&w);
	return rc;
}

static int put_pcp_one(struct nat_nft_batch *b, uint16_t type, const struct nat_pcp_mapping *m, uint32_t now)
{
	struct elw w;
	int rc;

	elw_init(&w, b, type, NAT_NFT_MAP_PCP, 0);
	rc = put_pcp_el(&w, m, now);
	elw_close(&w);
	return rc;
}

int nat_nft_build_pcp(struct nat_nft_batch *b, const struct nat_pcp_mapping *m, bool add, uint32_t now)
{
	int rc;

	if (!proto_ok(m->proto))
		return -EINVAL;
	if (!add)
		return put_pcp_one(b, NFT_MSG_DELSETELEM, m, now);
	if (!pcp_live(m, now))
		return -EINVAL;
	/* add, delete, add: see the header */
	if ((rc = put_pcp_one(b, NFT_MSG_NEWSETELEM, m, now)) < 0 ||
	    (rc = put_pcp_one(b, NFT_MSG_DELSETELEM, m, now)) < 0)
		return rc;
	return put_pcp_one(b, NFT_MSG_NEWSETELEM, m, now);
}

/* -- rules -- */

/* A rule under construction; an allocation failure is remembered and
 * reported once at the end. */
struct rb {
	struct nftnl_rule *r;
	bool oom;
};

static struct nftnl_expr *ex(struct rb *rb, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		rb->oom = true;
	return e;
}

static void ex_add(struct rb *rb, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(rb->r, e);
}

static void e_meta(struct rb *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = ex(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	ex_add(rb, e);
}

static void e_cmp(struct rb *rb, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = ex(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	ex_add(rb, e);
}

static void e_payload(struct rb *rb, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = ex(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	ex_add(rb, e);
}

/* lookup of register 1 in SET; with DREG the map's data goes to register 1
 * on (8 bytes of data: registers 1 and 9 in 32-bit numbering) */
static void e_lookup(struct rb *rb, const char *set, uint32_t set_id, bool dreg, bool inv)
{
	struct nftnl_expr *e = ex(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (set_id)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	ex_add(rb, e);
}

static void e_ct(struct rb *rb, uint32_t key)
{
	struct nftnl_expr *e = ex(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	ex_add(rb, e);
}

static void e_bitwise(struct rb *rb, uint32_t mask)
{
	struct nftnl_expr *e = ex(rb, "bitwise");
	uint32_t zero = 0;

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	ex_add(rb, e);
}

static void e_verdict(struct rb *rb, int verdict)
{
	struct nftnl_expr *e = ex(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	ex_add(rb, e);
}

static void e_plain(struct rb *rb, const char *name)
{
	struct nftnl_expr *e = ex(rb, name);

	if (e)
		ex_add(rb, e);
}

/* dnat ip to <register 1: address, register 9: port> */
static void e_dnat(struct rb *rb)
{
	struct nftnl_expr *e = ex(rb, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
	ex_add(rb, e);
}

/* `meta nfproto ipv4` */
static void f_ipv4(struct rb *rb)
{
	uint8_t v = NFPROTO_IPV4;

	e_meta(rb, NFT_META_NFPROTO, NFT_REG_1);
	e_cmp(rb, NFT_CMP_EQ, &v, 1);
}

/* `iifname @masq_ifs` / `oifname [!=] @masq_ifs` */
static void f_if_masq(struct rb *rb, uint32_t key, bool inv)
{
	e_meta(rb, key, NFT_REG_1);
	e_lookup(rb, NAT_NFT_SET_MASQ, 0, false, inv);
}

/* `ct state established,related` / `ct status dnat`: any of the bits */
static void f_ct_bits(struct rb *rb, uint32_t key, uint32_t mask)
{
	uint32_t zero = 0;

	e_ct(rb, key);
	e_bitwise(rb, mask);
	e_cmp(rb, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* `meta l4proto { tcp, udp } meta l4proto . th dport` into registers 1, 9 */
static void f_l4_dport(struct rb *rb, uint32_t anon_id)
{
	e_meta(rb, NFT_META_L4PROTO, NFT_REG_1);
	e_lookup(rb, ANON_SET, anon_id, false, false);
	e_meta(rb, NFT_META_L4PROTO, NFT_REG_1);
	e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
}

enum rule_id {
	R_DNAT_FWD,
	R_DNAT_PCP,
	R_HAIRPIN,
	R_MASQ,
	R_FW_ESTABLISHED,
	R_FW_DNAT,
	R_FW_MCAST,
	R_FW_DROP,
	R_IN_ESTABLISHED,
	R_IN_OPEN,
	R_IN_IGMP,
	R_IN_DROP,
};

static void fill_rule(struct rb *rb, enum rule_id id, uint32_t anon_id)
{
	const uint32_t est_rel = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);

	f_ipv4(rb);
	switch (id) {
	case R_DNAT_FWD:
	case R_DNAT_PCP:
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1); /* ip daddr */
		e_lookup(rb, NAT_NFT_SET_WAN, 0, false, false);
		f_l4_dport(rb, anon_id);
		e_lookup(rb, id == R_DNAT_FWD ? NAT_NFT_MAP_FWD : NAT_NFT_MAP_PCP, 0, true, false);
		e_dnat(rb);
		break;
	case R_HAIRPIN:
		f_ct_bits(rb, NFT_CT_STATUS, IPS_DST_NAT);
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1); /* ip saddr */
		e_lookup(rb, NAT_NFT_SET_LAN, 0, false, false);
		f_if_masq(rb, NFT_META_OIFNAME, true);
		e_plain(rb, "masq");
		break;
	case R_MASQ:
		f_if_masq(rb, NFT_META_OIFNAME, false);
		e_plain(rb, "masq");
		break;
	case R_FW_ESTABLISHED:
	case R_IN_ESTABLISHED:
		f_if_masq(rb, NFT_META_IIFNAME, false);
		f_ct_bits(rb, NFT_CT_STATE, est_rel);
		e_verdict(rb, NF_ACCEPT);
		break;
	case R_FW_DNAT:
		f_if_masq(rb, NFT_META_IIFNAME, false);
		f_ct_bits(rb, NFT_CT_STATUS, IPS_DST_NAT);
		e_verdict(rb, NF_ACCEPT);
		break;
	case R_FW_MCAST: {
		/* multicast the kernel forwards was chosen by the multicast
		 * routing table (an IGMP proxy's entries): not the firewall's */
		uint32_t mask = htonl(0xf0000000), net = htonl(0xe0000000);

		f_if_masq(rb, NFT_META_IIFNAME, false);
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1); /* ip daddr 224.0.0.0/4 */
		e_bitwise(rb, mask);
		e_cmp(rb, NFT_CMP_EQ, &net, sizeof(net));
		e_verdict(rb, NF_ACCEPT);
		break;
	}
	case R_IN_IGMP: {
		/* the upstream router's queries: without them the memberships
		 * the kernel holds upstream time out there */
		uint8_t igmp = IPPROTO_IGMP;

		f_if_masq(rb, NFT_META_IIFNAME, false);
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1); /* ip protocol igmp */
		e_cmp(rb, NFT_CMP_EQ, &igmp, sizeof(igmp));
		e_verdict(rb, NF_ACCEPT);
		break;
	}
	case R_IN_OPEN:
		f_if_masq(rb, NFT_META_IIFNAME, false);
		f_l4_dport(rb, anon_id);
		e_lookup(rb, NAT_NFT_SET_OPEN, 0, false, false);
		e_verdict(rb, NF_ACCEPT);
		break;
	case R_FW_DROP:
	case R_IN_DROP:
		f_if_masq(rb, NFT_META_IIFNAME, false);
		e_plain(rb, "counter");
		e_verdict(rb, NF_DROP);
		break;
	}
}

static bool rule_needs_l4(enum rule_id id)
{
	return id == R_DNAT_FWD || id == R_DNAT_PCP || id == R_IN_OPEN;
}

/* the anonymous { tcp, udp } a rule reads, created just before it */
static int put_anon_l4(struct nat_nft_batch *b, uint32_t *id)
{
	const uint8_t tcp = NAT_TCP, udp = NAT_UDP;
	struct elw w;
	int rc = put_set(b, &anon_l4, id);

	if (rc)
		return rc;
	elw_init(&w, b, NFT_MSG_NEWSETELEM, ANON_SET, *id);
	struct elem e1 = {.key = &tcp, .klen = 1}, e2 = {.key = &udp, .klen = 1};
	if ((rc = elw_put(&w, &e1)) == 0)
		rc = elw_put(&w, &e2);
	elw_close(&w);
	return rc;
}

static int put_rule(struct nat_nft_batch *b, const char *chain, enum rule_id id)
{
	struct rb rb = {.r = nftnl_rule_alloc()};
	struct nlmsghdr *nlh;
	uint32_t anon = 0;
	int rc = -ENOMEM;

	if (!rb.r)
		return -ENOMEM;
	if (rule_needs_l4(id) && (rc = put_anon_l4(b, &anon)) < 0)
		goto out;
	rc = -ENOMEM;
	if (nftnl_rule_set_str(rb.r, NFTNL_RULE_TABLE, NAT_NFT_TABLE) < 0 ||
	    nftnl_rule_set_str(rb.r, NFTNL_RULE_CHAIN, chain) < 0)
		goto out;
	fill_rule(&rb, id, anon);
	if (rb.oom)
		goto out;
	rc = msg_begin(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, MSG_ROOM, &nlh);
	if (rc == 0) {
		nftnl_rule_nlmsg_build_payload(nlh, rb.r);
		msg_end(b, nlh);
	}
out:
	nftnl_rule_free(rb.r);
	return rc;
}

static int put_chains_and_rules(struct nat_nft_batch *b, const struct nat_config *nc)
{
	int rc = 0;

	if ((rc = put_chain(b, &chain_dstnat)) < 0 || (rc = put_chain(b, &chain_srcnat)) < 0)
		return rc;
	if (nc->firewall &&
	    ((rc = put_chain(b, &chain_forward)) < 0 || (rc = put_chain(b, &chain_input)) < 0))
		return rc;
	if ((rc = put_rule(b, chain_dstnat.name, R_DNAT_FWD)) < 0 ||
	    (rc = put_rule(b, chain_dstnat.name, R_DNAT_PCP)) < 0)
		return rc;
	if (nc->hairpin && (rc = put_rule(b, chain_srcnat.name, R_HAIRPIN)) < 0)
		return rc;
	if ((rc = put_rule(b, chain_srcnat.name, R_MASQ)) < 0 || !nc->firewall)
		return rc;
	if ((rc = put_rule(b, chain_forward.name, R_FW_ESTABLISHED)) < 0 ||
	    (rc = put_rule(b, chain_forward.name, R_FW_DNAT)) < 0 ||
	    (rc = put_rule(b, chain_forward.name, R_FW_MCAST)) < 0 ||
	    (rc = put_rule(b, chain_forward.name, R_FW_DROP)) < 0)
		return rc;
	if ((rc = put_rule(b, chain_input.name, R_IN_ESTABLISHED)) < 0 ||
	    (rc = put_rule(b, chain_input.name, R_IN_OPEN)) < 0 ||
	    (rc = put_rule(b, chain_input.name, R_IN_IGMP)) < 0)
		return rc;
	return put_rule(b, chain_input.name, R_IN_DROP);
}

int nat_nft_build_replace(struct nat_nft_batch *b, const struct nat_nft_spec *spec)
{
	const struct nat_config *nc = spec->nc;
	uint32_t id;
	int rc;

	if (!nc)
		return -EINVAL;
	/* create (a no-op when it exists), delete: whatever was there is gone,
	 * and a missing table is no error; then build it anew */
	if ((rc = put_table(b, NFT_MSG_NEWTABLE)) < 0 || (rc = put_table(b, NFT_MSG_DELTABLE)) < 0 ||
	    (rc = put_table(b, NFT_MSG_NEWTABLE)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(named_sets) / sizeof(named_sets[0]); i++)
		if ((rc = put_set(b, &named_sets[i], &id)) < 0)
			return rc;
	if ((rc = put_chains_and_rules(b, nc)) < 0)
		return rc;
	if ((rc = put_wan_addrs(b, spec)) < 0 || (rc = put_lan_nets(b, spec)) < 0 ||
	    (rc = put_masq_ifs(b, nc)) < 0 || (rc = put_open(b, nc)) < 0 || (rc = put_forwards(b, nc)) < 0)
		return rc;
	return put_pcp_all(b, spec);
}

int nat_nft_build_delete(struct nat_nft_batch *b)
{
	int rc = put_table(b, NFT_MSG_NEWTABLE);

	return rc ? rc : put_table(b, NFT_MSG_DELTABLE);
}

int nat_nft_build_live_sets(struct nat_nft_batch *b, const struct nat_nft_spec *spec)
{
	int rc;

	if ((rc = put_flush(b, NAT_NFT_SET_WAN)) < 0 || (rc = put_flush(b, NAT_NFT_SET_LAN)) < 0)
		return rc;
	if ((rc = put_wan_addrs(b, spec)) < 0)
		return rc;
	return put_lan_nets(b, spec);
}

/* ---- the kernel side ---- */

#define RX_BUF 65536	     /* a dump's datagrams are at most 32 KiB (netlink_dump) */
#define ACK_TRUESIZE 1024    /* receive-buffer cost of one ACK (an skb of its own) */
#define EV_RCVBUF (4u << 20) /* foreign events between two reads */
#define SYNC_TIMEOUT_S 5     /* the kernel answers while we send: this is only a safety net */

/* A sent batch waiting for its answers. */
struct nat_nft_req {
	struct nat_nft_req *next;
	uint32_t seq_first;
	unsigned nmsgs;	   /* BEGIN and END included */
	unsigned expected; /* answers: one per change message */
	unsigned got;
	bool final; /* over before all answers (BEGIN refused, commit failed) */
	int rc;
	unsigned failed;
	nat_nft_done_fn done;
	void *data;
};

struct nat_nft {
	uv_loop_t *loop;
	struct mnl_socket *cmd, *sync, *ev;
	uv_poll_t cmd_poll, ev_poll;
	uv_timer_t defer; /* completes batches that need no answer */
	int open_handles;
	uint32_t seq;
	struct nat_nft_req *head, *tail;
	unsigned acks_pending; /* answers still due over all requests in flight */
	int sndbuf, rcvbuf;    /* what we asked for last (0: the default) */
	nat_nft_foreign_fn foreign;
	void *data;
	bool ev_touched; /* the foreign transaction being read touched our table */
	bool closing;
	void (*close_cb)(void *data);
	void *close_data;
	uint8_t *rx; /* RX_BUF */
};

/* -- sockets -- */

static int sock_open(struct mnl_socket **out, int flags)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | flags);
	int one = 1, rc;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* errors without a copy of the (maybe 60 KiB) request */
	if (mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		goto fail;
	*out = nl;
	return 0;
fail:
	rc = -errno;
	mnl_socket_close(nl);
	return rc;
}

/* SO_xxxBUFFORCE (CAP_NET_ADMIN) past net.core.[wr]mem_max, else the plain
 * option (capped by the sysctl). */
static int sock_buf(struct mnl_socket *nl, int force, int plain, int size)
{
	int fd = mnl_socket_get_fd(nl);

	if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) == 0)
		return 0;
	return setsockopt(fd, SOL_SOCKET, plain, &size, sizeof(size)) == 0 ? 0 : -errno;
}

static int sock_getbuf(struct mnl_socket *nl, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	getsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, opt, &v, &len);
	return v;
}

/* Only the kernel talks to us: a datagram from any other sender is dropped. */
static ssize_t nl_recv(struct mnl_socket *nl, void *buf, size_t cap, int flags)
{
	struct sockaddr_nl from;
	struct iovec iov = {buf, cap};
	struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	for (;;) {
		r = recvmsg(mnl_socket_get_fd(nl), &mh, flags);
		if (r < 0)
			return errno == EINTR ? -EINTR : -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (mh.msg_namelen == sizeof(from) && from.nl_pid == 0)
			return r;
		mh.msg_namelen = sizeof(from);
	}
}

/* Drop every nftables event caused by our own sockets (their port ids are
 * in each message's nlmsg_pid), in the kernel: a replace of 10,000
 * forwards would otherwise queue as many events for us to read. */
static int ev_filter(struct nat_nft *n)
{
	uint32_t a = htonl(mnl_socket_get_portid(n->cmd)), b = htonl(mnl_socket_get_portid(n->sync));
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, b, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};

	if (setsockopt(mnl_socket_get_fd(n->ev), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

static int ev_open(struct nat_nft *n)
{
	int grp = NFNLGRP_NFTABLES, rc;

	if ((rc = sock_open(&n->ev, SOCK_NONBLOCK)) < 0)
		return rc;
	if ((rc = ev_filter(n)) < 0)
		return rc;
	if (mnl_socket_setsockopt(n->ev, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		return -errno;
	sock_buf(n->ev, SO_RCVBUFFORCE, SO_RCVBUF, EV_RCVBUF); /* best effort: an overflow is handled */
	return 0;
}

/* -- answers -- */

static struct nat_nft_req *req_find(struct nat_nft *n, uint32_t seq)
{
	for (struct nat_nft_req *r = n->head; r; r = r->next)
		if (seq - r->seq_first < r->nmsgs)
			return r;
	return NULL;
}

/* One NLMSG_ERROR (error 0: an ACK) for message SEQ of R. */
static void req_answer(struct nat_nft_req *r, uint32_t seq, int err)
{
	unsigned idx = seq - r->seq_first;

	if (r->final)
		return;
	if (err > 0)
		err = -EPROTO; /* not what the kernel sends */
	if (err && (r->rc == 0 || idx < r->failed)) {
		r->rc = err;
		r->failed = idx;
	}
	if (idx == 0 || idx == r->nmsgs - 1) {
		/* BEGIN refused, or the commit failed (answered on BEGIN) */
		if (err)
			r->final = true;
		return;
	}
	r->got++;
}

static bool req_over(const struct nat_nft_req *r)
{
	return r->final || r->got >= r->expected;
}

/* Walk the NLMSG_ERROR messages of one datagram (bounds-checked by
 * mnl_nlmsg_ok); FN gets each answer's sequence number and error. */
static void parse_answers(const void *buf, size_t len, void (*fn)(void *ctx, uint32_t seq, int err),
			  void *ctx)
{
	int rem = (int)len;

	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		const struct nlmsgerr *e;
		if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			continue;
		e = mnl_nlmsg_get_payload(nlh);
		fn(ctx, nlh->nlmsg_seq, e->error);
	}
}

static void answer_async(void *ctx, uint32_t seq, int err)
{
	struct nat_nft *n = ctx;
	struct nat_nft_req *r = req_find(n, seq);

	if (r) {
		unsigned before = r->got;
		req_answer(r, seq, err);
		n->acks_pending -= r->got - before;
	}
}

/* Call DONE for the finished batches at the head, in order. */
static void complete(struct nat_nft *n)
{
	while (!n->closing && n->head && req_over(n->head)) {
		struct nat_nft_req *r = n->head;
		n->head = r->next;
		if (!n->head)
			n->tail = NULL;
		n->acks_pending -= r->expected - r->got;
		r->done(r->data, r->rc, r->failed);
		free(r);
	}
}

/* Answers lost (receive buffer overflow): every batch in flight is over,
 * its outcome unknown to us. */
static void fail_all(struct nat_nft *n, int rc)
{
	for (struct nat_nft_req *r = n->head; r; r = r->next) {
		if (!r->final && r->rc == 0) {
			r->rc = rc;
			r->failed = 0;
		}
		r->final = true;
	}
}

static void on_cmd(uv_poll_t *p, int status, int events)
{
	struct nat_nft *n = container_of(p, struct nat_nft, cmd_poll);

	if (status < 0) {
		gw_warn("nat: nftables socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < 256 && !n->closing; i++) {
		ssize_t r = nl_recv(n->cmd, n->rx, RX_BUF, MSG_DONTWAIT);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			break;
		if (r == -ENOBUFS) {
			gw_warn("nat: nftables answers lost (receive buffer overflow)");
			fail_all(n, -ENOBUFS);
		} else if (r < 0) {
			if (r != -EINTR && r != -EMSGSIZE) {
				gw_warn("nat: nftables socket: %s", strerror((int)-r));
				break;
			}
		} else {
			parse_answers(n->rx, (size_t)r, answer_async, n);
		}
		complete(n);
	}
}

static void on_defer(uv_timer_t *t)
{
	complete(container_of(t, struct nat_nft, defer));
}

/* -- events -- */

static void foreign_once(struct nat_nft *n)
{
	n->ev_touched = false;
	if (n->foreign)
		n->foreign(n->data);
}

static const struct nlattr *attr_find(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

static void ev_msg(struct nat_nft *n, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g;
	const struct nlattr *a;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
		return;
	g = mnl_nlmsg_get_payload(nlh);
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN) {
		/* the end of a transaction, with the process that made it */
		a = attr_find(nlh, NFTA_GEN_PROC_PID);
		uint32_t pid = a && mnl_attr_validate(a, MNL_TYPE_U32) == 0 ? ntohl(mnl_attr_get_u32(a)) : 0;
		if (n->ev_touched && pid != (uint32_t)getpid())
			foreign_once(n);
		n->ev_touched = false;
		return;
	}
	/* every object message names its table in attribute 1 (NFTA_TABLE_NAME,
	 * NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, ...) */
	if (g->nfgen_family != NFPROTO_INET || !(a = attr_find(nlh, NFTA_TABLE_NAME)) ||
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return;
	if (strcmp(mnl_attr_get_str(a), NAT_NFT_TABLE) == 0)
		n->ev_touched = true;
}

static void on_ev(uv_poll_t *p, int status, int events)
{
	struct nat_nft *n = container_of(p, struct nat_nft, ev_poll);

	if (status < 0) {
		gw_warn("nat: nftables event socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < 256 && !n->closing; i++) {
		ssize_t r = nl_recv(n->ev, n->rx, RX_BUF, MSG_DONTWAIT);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			break;
		if (r == -ENOBUFS) {
			gw_warn("nat: nftables events lost: taking it as a foreign change");
			foreign_once(n);
			continue;
		}
		if (r < 0) {
			if (r == -EINTR || r == -EMSGSIZE)
				continue;
			gw_warn("nat: nftables event socket: %s", strerror((int)-r));
			break;
		}
		int rem = (int)r;
		for (const struct nlmsghdr *nlh = (void *)n->rx; mnl_nlmsg_ok(nlh, rem) && !n->closing;
		     nlh = mnl_nlmsg_next(nlh, &rem))
			ev_msg(n, nlh);
	}
}

/* -- open / close -- */

static void nft_free(struct nat_nft *n)
{
	if (n->cmd)
		mnl_socket_close(n->cmd);
	if (n->sync)
		mnl_socket_close(n->sync);
	if (n->ev)
		mnl_socket_close(n->ev);
	free(n->rx);
	free(n);
}

int nat_nft_open(uv_loop_t *loop, nat_nft_foreign_fn foreign, void *data, struct nat_nft **out)
{
	struct nat_nft *n = calloc(1, sizeof(*n));
	struct timeval tv = {SYNC_TIMEOUT_S, 0};
	int rc = -ENOMEM;

	if (!n)
		return -ENOMEM;
	n->loop = loop;
	n->foreign = foreign;
	n->data = data;
	n->seq = (uint32_t)time(NULL);
	if (!(n->rx = malloc(RX_BUF)))
		goto fail;
	if ((rc = sock_open(&n->cmd, SOCK_NONBLOCK)) < 0 || (rc = sock_open(&n->sync, 0)) < 0 ||
	    (rc = ev_open(n)) < 0)
		goto fail;
	if (setsockopt(mnl_socket_get_fd(n->sync), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = uv_poll_init(loop, &n->cmd_poll, mnl_socket_get_fd(n->cmd))) < 0)
		goto fail;
	if ((rc = uv_poll_init(loop, &n->ev_poll, mnl_socket_get_fd(n->ev))) < 0) {
		/* a handle once initialised must be closed through the loop */
		n->open_handles = 1;
		nat_nft_close(n, NULL, NULL);
		return rc;
	}
	uv_timer_init(loop, &n->defer);
	n->open_handles = 3;
	uv_poll_start(&n->cmd_poll, UV_READABLE, on_cmd);
	uv_poll_start(&n->ev_poll, UV_READABLE, on_ev);
	*out = n;
	return 0;
fail:
	nft_free(n);
	return rc;
}

static void on_closed(uv_handle_t *h)
{
	struct nat_nft *n = h->data;

	if (--n->open_handles > 0)
		return;
	if (n->close_cb)
		n->close_cb(n->close_data);
	nft_free(n);
}

void nat_nft_close(struct nat_nft *n, void (*cb)(void *data), void *data)
{
	struct nat_nft_req *r;

	if (n->closing)
		return;
	n->closing = true;
	n->close_cb = cb;
	n->close_data = data;
	/* DONE for what is still in flight, then the handles */
	while ((r = n->head)) {
		n->head = r->next;
		r->done(r->data, -ECANCELED, 0);
		free(r);
	}
	n->tail = NULL;
	n->cmd_poll.data = n->ev_poll.data = n->defer.data = n;
	uv_close((uv_handle_t *)&n->cmd_poll, on_closed);
	if (n->open_handles >= 3) {
		uv_close((uv_handle_t *)&n->ev_poll, on_closed);
		uv_close((uv_handle_t *)&n->defer, on_closed);
	}
}

/* -- sending -- */

/* Sequence numbers of our own counter, one per message. */
static void renumber(struct nat_nft *n, struct nat_nft_batch *b)
{
	b->seq_first = n->seq;
	for (size_t off = 0; off < b->len;) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + off);
		nlh->nlmsg_seq = n->seq++;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	b->seq_next = n->seq;
}

/* netlink_sendmsg refuses a datagram larger than the send buffer, and a
 * batch is one datagram; the kernel's answers must fit the receive buffer
 * (they are queued while we send). */
static int fit_buffers(struct mnl_socket *nl, size_t len, unsigned answers)
{
	size_t need_snd = len + 65536, need_rcv = (size_t)answers * ACK_TRUESIZE + 65536;

	if (need_snd > INT_MAX / 2 || need_rcv > INT_MAX / 2)
		return -EMSGSIZE;
	/* the kernel reports twice what was set (bookkeeping overhead) */
	if ((size_t)sock_getbuf(nl, SO_SNDBUF) / 2 < need_snd)
		sock_buf(nl, SO_SNDBUFFORCE, SO_SNDBUF, (int)need_snd);
	if ((size_t)sock_getbuf(nl, SO_SNDBUF) < len + 32)
		return -EMSGSIZE;
	if ((size_t)sock_getbuf(nl, SO_RCVBUF) / 2 < need_rcv)
		sock_buf(nl, SO_RCVBUFFORCE, SO_RCVBUF, (int)need_rcv);
	return 0;
}

static int batch_send(struct mnl_socket *nl, const struct nat_nft_batch *b)
{
	ssize_t r;

	do
		r = send(mnl_socket_get_fd(nl), b->buf, b->len, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == b->len ? 0 : -EIO;
}

int nat_nft_send(struct nat_nft *n, struct nat_nft_batch *b, nat_nft_done_fn done, void *data)
{
	struct nat_nft_req *r = NULL;
	int rc = -EINVAL;

	if (n->closing || !b->ended || b->nmsgs < 2 || !done)
		goto out;
	rc = -ENOMEM;
	if (!(r = calloc(1, sizeof(*r))))
		goto out;
	renumber(n, b);
	*r = (struct nat_nft_req){.seq_first = b->seq_first,
				  .nmsgs = b->nmsgs,
				  .expected = b->nmsgs - 2,
				  .done = done,
				  .data = data};
	if ((rc = fit_buffers(n->cmd, b->len, n->acks_pending + r->expected)) < 0 ||
	    (rc = batch_send(n->cmd, b)) < 0) {
		free(r);
		goto out;
	}
	n->acks_pending += r->expected;
	if (n->tail)
		n->tail->next = r;
	else
		n->head = r;
	n->tail = r;
	if (r->expected == 0)
		uv_timer_start(&n->defer, on_defer, 0, 0);
out:
	nat_nft_batch_free(b);
	return rc;
}

static void answer_sync(void *ctx, uint32_t seq, int err)
{
	struct nat_nft_req *r = ctx;

	if (seq - r->seq_first < r->nmsgs)
		req_answer(r, seq, err);
}

int nat_nft_send_sync(struct nat_nft *n, struct nat_nft_batch *b, unsigned *failed_msg)
{
	struct nat_nft_req r = {0};
	int rc = -EINVAL;

	if (!b->ended || b->nmsgs < 2)
		goto out;
	renumber(n, b);
	r.seq_first = b->seq_first;
	r.nmsgs = b->nmsgs;
	r.expected = b->nmsgs - 2;
	if ((rc = fit_buffers(n->sync, b->len, r.expected)) < 0 || (rc = batch_send(n->sync, b)) < 0)
		goto out;
	while (!req_over(&r)) {
		ssize_t len = nl_recv(n->sync, n->rx, RX_BUF, 0);
		if (len == -EINTR || len == -EMSGSIZE)
			continue;
		if (len < 0) {
			rc = len == -EAGAIN ? -ETIMEDOUT : (int)len;
			goto out;
		}
		parse_answers(n->rx, (size_t)len, answer_sync, &r);
	}
	rc = r.rc;
	if (failed_msg)
		*failed_msg = r.failed;
out:
	nat_nft_batch_free(b);
	return rc;
}

/* -- dumps -- */

/* Send a dump request built by the caller into N->rx's head and run CB on
 * every message of the answer. */
static int dump(struct nat_nft *n, struct nlmsghdr *req, mnl_cb_t cb, void *ctx)
{
	uint32_t seq = req->nlmsg_seq, portid = mnl_socket_get_portid(n->sync);
	ssize_t len;
	int rc;

	if (mnl_socket_sendto(n->sync, req, req->nlmsg_len) < 0)
		return -errno;
	do {
		len = nl_recv(n->sync, n->rx, RX_BUF, 0);
		if (len == -EINTR)
			continue;
		if (len < 0)
			return len == -EAGAIN ? -ETIMEDOUT : (int)len;
		rc = mnl_cb_run(n->rx, (size_t)len, seq, portid, cb, ctx);
		if (rc < 0)
			return -errno;
	} while (rc > 0);
	return 0;
}

struct pcp_dump {
	uint32_t now;
	struct nat_pcp_mapping *v;
	size_t n, cap;
	int err;
};

static int pcp_elem(struct nftnl_set_elem *e, void *ctx)
{
	struct pcp_dump *d = ctx;
	uint32_t klen = 0, dlen = 0;
	const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	const uint8_t *v = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);
	struct nat_pcp_mapping *m;
	uint64_t left;

	/* ours have an 8-byte key and data and a timeout; skip anything else */
	if (!k || !v || klen != 8 || dlen != 8 || !proto_ok(k[0]) ||
	    !nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		if (cap > 2 * 65536) /* every (proto, port) key: more cannot be */
			return 0;
		m = realloc(d->v, cap * sizeof(*m));
		if (!m) {
			d->err = -ENOMEM;
			return -1;
		}
		d->v = m;
		d->cap = cap;
	}
	left = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	m = &d->v[d->n++];
	memset(m, 0, sizeof(*m));
	m->proto = k[0];
	m->ext_port = (uint16_t)(k[4] << 8 | k[5]);
	memcpy(&m->client.s_addr, v, 4);
	m->int_port = (uint16_t)(v[4] << 8 | v[5]);
	/* rounded up: the kernel's element outlives our record, never the reverse */
	left = (left + 999) / 1000;
	m->expires = d->now + (uint32_t)(left > UINT32_MAX / 2 ? UINT32_MAX / 2 : left);
	return 0;
}

static int pcp_dump_cb(const struct nlmsghdr *nlh, void *ctx)
{
	struct pcp_dump *d = ctx;
	struct nftnl_set *s = nftnl_set_alloc();
	int rc = MNL_CB_OK;

	if (!s) {
		d->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	/* a message libnftnl cannot parse is skipped, not trusted */
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0 && nftnl_set_elem_foreach(s, pcp_elem, d) < 0)
		rc = MNL_CB_ERROR;
	nftnl_set_free(s);
	return rc;
}

static struct nlmsghdr *dump_req(struct nat_nft *n, uint16_t type)
{
	char *buf = (char *)n->rx;

	return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_DUMP, n->seq++);
}

int nat_nft_dump_pcp(struct nat_nft *n, uint32_t now, struct nat_pcp_mapping **out, size_t *count)
{
	struct pcp_dump d = {.now = now};
	struct nlmsghdr *req = dump_req(n, NFT_MSG_GETSETELEM);
	int rc;

	mnl_attr_put_strz(req, NFTA_SET_ELEM_LIST_TABLE, NAT_NFT_TABLE);
	mnl_attr_put_strz(req, NFTA_SET_ELEM_LIST_SET, NAT_NFT_MAP_PCP);
	rc = dump(n, req, pcp_dump_cb, &d);
	if (rc < 0 || d.err < 0) {
		free(d.v);
		return d.err < 0 ? d.err : rc;
	}
	*out = d.v;
	*count = d.n;
	return 0;
}

struct ctr_dump {
	uint64_t forward, input;
	bool found;
};

struct ctr_sum {
	uint64_t *sum;
	bool *found;
};

static int ctr_expr(struct nftnl_expr *e, void *ctx)
{
	struct ctr_sum *c = ctx;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name && strcmp(name, "counter") == 0) {
		*c->sum += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		*c->found = true;
	}
	return 0;
}

static int ctr_dump_cb(const struct nlmsghdr *nlh, void *ctx)
{
	struct ctr_dump *d = ctx;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *table, *chain;
	struct ctr_sum c = {NULL, &d->found};

	if (!r)
		return MNL_CB_ERROR;
	/* a rule libnftnl cannot parse is skipped, not trusted */
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 || !(table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE)) ||
	    !(chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)) || strcmp(table, NAT_NFT_TABLE) != 0 ||
	    nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) != NFPROTO_INET)
		goto out;
	if (strcmp(chain, chain_forward.name) == 0)
		c.sum = &d->forward;
	else if (strcmp(chain, chain_input.name) == 0)
		c.sum = &d->input;
	if (c.sum)
		nftnl_expr_foreach(r, ctr_expr, &c);
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int nat_nft_drop_counters(struct nat_nft *n, uint64_t *forward, uint64_t *input)
{
	struct ctr_dump d = {0};
	struct nlmsghdr *req = dump_req(n, NFT_MSG_GETRULE);
	int rc;

	*forward = *input = 0;
	mnl_attr_put_strz(req, NFTA_RULE_TABLE, NAT_NFT_TABLE);
	rc = dump(n, req, ctr_dump_cb, &d);
	if (rc < 0)
		return rc;
	*forward = d.forward;
	*input = d.input;
	return d.found ? 0 : -ENOENT;
}
