/* test_nat_nft.c — the table inet homegw: batches built and parsed back
 * with libnftnl (pure), then sent to the kernel inside a network namespace
 * of the test's own (unshare(CLONE_NEWNET) at the start of the kernel
 * group; without the privilege those tests are skipped, saying so). In the
 * namespace the table is compared with what nft builds from the header's
 * ruleset, so "exactly that table" is checked by nft itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw.h"
#include "nat_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- fixtures ---- */

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct nat_masq masq_wan0[] = {{.iface = "wan", .device = "wan0"}};

static struct nat_forward fwd_small[] = {
	{.proto = NAT_TCP, .first = 80, .last = 80, .to = {0}, .to_port = 8080},
	{.proto = NAT_TCP, .first = 2000, .last = 2002, .to = {0}, .to_port = 2000},
	{.proto = NAT_UDP, .first = 53, .last = 53, .to = {0}, .to_port = 53},
};

static struct nat_open open_small[] = {
	{.proto = NAT_TCP, .first = 22, .last = 22},
	{.proto = NAT_UDP, .first = 5000, .last = 5001},
};

static struct nat_config small_config(bool hairpin, bool firewall)
{
	fwd_small[0].to = ip("192.168.1.10");
	fwd_small[1].to = ip("192.168.1.11");
	fwd_small[2].to = ip("192.168.1.12");
	struct nat_config nc = {
		.masq = masq_wan0,
		.nmasq = 1,
		.forwards = fwd_small,
		.nforwards = 3,
		.forward_ports = 5,
		.open = open_small,
		.nopen = 2,
		.hairpin = hairpin,
		.firewall = firewall,
		.pcp = true,
		.pcp_lifetime_min = 120,
		.pcp_lifetime_max = 86400,
	};
	return nc;
}

static struct in_addr wan_small[1];
static struct nat_prefix lan_small[4];
static struct nat_pcp_mapping pcp_small[2];

/* LAN prefixes that overlap and touch: the builder merges them */
static struct nat_nft_spec small_spec(const struct nat_config *nc, uint32_t now)
{
	wan_small[0] = ip("203.0.113.5");
	lan_small[0] = (struct nat_prefix){ip("192.168.1.0"), 24};
	lan_small[1] = (struct nat_prefix){ip("10.1.0.0"), 16};
	lan_small[2] = (struct nat_prefix){ip("192.168.1.128"), 25};
	lan_small[3] = (struct nat_prefix){ip("192.168.2.0"), 24};
	memset(pcp_small, 0, sizeof(pcp_small));
	pcp_small[0] = (struct nat_pcp_mapping){.proto = NAT_UDP,
						.client = ip("192.168.1.20"),
						.int_port = 4500,
						.ext_port = 34500,
						.expires = now + 100};
	pcp_small[1] = (struct nat_pcp_mapping){.proto = NAT_TCP,
						.client = ip("192.168.1.21"),
						.int_port = 22,
						.ext_port = 2222,
						.expires = now}; /* expired: left out */
	struct nat_nft_spec s = {.nc = nc,
				 .wan_addrs = wan_small,
				 .nwan = 1,
				 .lan_nets = lan_small,
				 .nlan = 4,
				 .pcp = pcp_small,
				 .npcp = 2,
				 .now = now};
	return s;
}

/* ---- reading a batch back ---- */

struct msgs {
	const struct nlmsghdr **m;
	size_t n;
};

/* Split B into its messages, checking the framing on the way. */
static struct msgs split(const struct nat_nft_batch *b)
{
	struct msgs out = {calloc(b->nmsgs + 1, sizeof(*out.m)), 0};
	int rem = (int)b->len;

	assert_non_null(out.m);
	for (const struct nlmsghdr *nlh = (const void *)b->buf; rem > 0; nlh = mnl_nlmsg_next(nlh, &rem)) {
		assert_true(mnl_nlmsg_ok(nlh, rem));
		assert_true(out.n < b->nmsgs);
		out.m[out.n++] = nlh;
	}
	assert_int_equal(rem, 0);
	assert_int_equal(out.n, b->nmsgs);
	return out;
}

static const char *msg_name(uint16_t t)
{
	switch (t) {
	case NFT_MSG_NEWTABLE:
		return "NEWTABLE";
	case NFT_MSG_DELTABLE:
		return "DELTABLE";
	case NFT_MSG_NEWCHAIN:
		return "NEWCHAIN";
	case NFT_MSG_NEWRULE:
		return "NEWRULE";
	case NFT_MSG_NEWSET:
		return "NEWSET";
	case NFT_MSG_NEWSETELEM:
		return "NEWSETELEM";
	case NFT_MSG_DELSETELEM:
		return "DELSETELEM";
	}
	return "?";
}

static int count_elem(struct nftnl_set_elem *e, void *data)
{
	(*(unsigned *)data)++;
	return 0;
}

/* "NEWSET wan_addrs", "NEWSETELEM lan_nets 5", "NEWRULE dstnat", "BEGIN" */
static void sig(const struct nlmsghdr *nlh, char *out, size_t cap)
{
	uint16_t t = NFNL_MSG_TYPE(nlh->nlmsg_type);

	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
		snprintf(out, cap, "%s", nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ? "BEGIN" : "END");
		return;
	}
	assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type), NFNL_SUBSYS_NFTABLES);
	if (t == NFT_MSG_NEWTABLE || t == NFT_MSG_DELTABLE) {
		struct nftnl_table *x = nftnl_table_alloc();
		assert_int_equal(nftnl_table_nlmsg_parse(nlh, x), 0);
		snprintf(out, cap, "%s %s", msg_name(t), nftnl_table_get_str(x, NFTNL_TABLE_NAME));
		nftnl_table_free(x);
	} else if (t == NFT_MSG_NEWCHAIN) {
		struct nftnl_chain *x = nftnl_chain_alloc();
		assert_int_equal(nftnl_chain_nlmsg_parse(nlh, x), 0);
		snprintf(out, cap, "%s %s", msg_name(t), nftnl_chain_get_str(x, NFTNL_CHAIN_NAME));
		nftnl_chain_free(x);
	} else if (t == NFT_MSG_NEWRULE) {
		struct nftnl_rule *x = nftnl_rule_alloc();
		assert_int_equal(nftnl_rule_nlmsg_parse(nlh, x), 0);
		snprintf(out, cap, "%s %s", msg_name(t), nftnl_rule_get_str(x, NFTNL_RULE_CHAIN));
		nftnl_rule_free(x);
	} else if (t == NFT_MSG_NEWSET) {
		struct nftnl_set *x = nftnl_set_alloc();
		assert_int_equal(nftnl_set_nlmsg_parse(nlh, x), 0);
		snprintf(out, cap, "%s %s", msg_name(t), nftnl_set_get_str(x, NFTNL_SET_NAME));
		nftnl_set_free(x);
	} else if (t == NFT_MSG_NEWSETELEM || t == NFT_MSG_DELSETELEM) {
		struct nftnl_set *x = nftnl_set_alloc();
		unsigned n = 0;
		assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, x), 0);
		nftnl_set_elem_foreach(x, count_elem, &n);
		snprintf(out, cap, "%s %s %u", msg_name(t), nftnl_set_get_str(x, NFTNL_SET_NAME), n);
		nftnl_set_free(x);
	} else {
		fail_msg("unexpected message type %u", t);
	}
}

/* The batch as one signature per line, with the framing checked: BEGIN
 * first, END last, both with res_id NFNL_SUBSYS_NFTABLES and no ACK asked,
 * everything between NLM_F_REQUEST|NLM_F_ACK of family inet, sequence
 * numbers consecutive from seq_first. */
static char *signature(const struct nat_nft_batch *b)
{
	struct msgs ms = split(b);
	size_t cap = 64 * (ms.n + 1), len = 0;
	char *out = calloc(1, cap);

	assert_true(b->ended);
	assert_true(ms.n >= 2);
	assert_int_equal(b->seq_next - b->seq_first, b->nmsgs);
	for (size_t i = 0; i < ms.n; i++) {
		const struct nlmsghdr *nlh = ms.m[i];
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
		bool frame = i == 0 || i == ms.n - 1;
		assert_int_equal(nlh->nlmsg_seq, b->seq_first + i);
		if (frame) {
			assert_int_equal(nlh->nlmsg_type, i == 0 ? NFNL_MSG_BATCH_BEGIN : NFNL_MSG_BATCH_END);
			assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
			assert_int_equal(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
		} else {
			assert_int_equal(nlh->nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK),
					 NLM_F_REQUEST | NLM_F_ACK);
			assert_int_equal(g->nfgen_family, NFPROTO_INET);
		}
		sig(nlh, out + len, cap - len);
		len += strlen(out + len);
		out[len++] = '\n';
	}
	free(ms.m);
	return out;
}

struct el {
	uint8_t key[16], data[8];
	uint32_t klen, dlen, flags;
	uint64_t timeout;
	bool has_udata;
};

struct els {
	struct el *v;
	size_t n, cap;
};

static int take_elem(struct nftnl_set_elem *e, void *data)
{
	struct els *l = data;
	struct el *x;
	const void *p;
	uint32_t len;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	x = &l->v[l->n++];
	memset(x, 0, sizeof(*x));
	p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	assert_non_null(p);
	assert_true(len <= sizeof(x->key));
	memcpy(x->key, p, len);
	x->klen = len;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
		p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
		assert_true(len <= sizeof(x->data));
		memcpy(x->data, p, len);
		x->dlen = len;
	}
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		x->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
		x->timeout = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
	x->has_udata = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA);
	return 0;
}

/* The elements of SET in the batch's messages of TYPE, in order. */
static struct els elems_of(const struct nat_nft_batch *b, uint16_t type, const char *set)
{
	struct msgs ms = split(b);
	struct els l = {0};

	for (size_t i = 0; i < ms.n; i++) {
		struct nftnl_set *x;
		if (NFNL_SUBSYS_ID(ms.m[i]->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
		    NFNL_MSG_TYPE(ms.m[i]->nlmsg_type) != type)
			continue;
		x = nftnl_set_alloc();
		assert_int_equal(nftnl_set_elems_nlmsg_parse(ms.m[i], x), 0);
		assert_string_equal(nftnl_set_get_str(x, NFTNL_SET_TABLE), "homegw");
		if (strcmp(nftnl_set_get_str(x, NFTNL_SET_NAME), set) == 0)
			nftnl_set_elem_foreach(x, take_elem, &l);
		nftnl_set_free(x);
	}
	free(ms.m);
	return l;
}

static void assert_proto_port(const struct el *e, uint8_t proto, uint16_t port)
{
	const uint8_t want[8] = {proto, 0, 0, 0, (uint8_t)(port >> 8), (uint8_t)port, 0, 0};
	assert_int_equal(e->klen, 8);
	assert_memory_equal(e->key, want, 8);
}

static void assert_addr_port(const struct el *e, const char *addr, uint16_t port)
{
	uint8_t want[8] = {0};
	struct in_addr a = ip(addr);
	memcpy(want, &a.s_addr, 4);
	want[4] = (uint8_t)(port >> 8);
	want[5] = (uint8_t)port;
	assert_int_equal(e->dlen, 8);
	assert_memory_equal(e->data, want, 8);
}

static void assert_addr_key(const struct el *e, const char *addr, uint32_t flags)
{
	struct in_addr a = ip(addr);
	assert_int_equal(e->klen, 4);
	assert_memory_equal(e->key, &a.s_addr, 4);
	assert_int_equal(e->flags, flags);
}

static struct nat_nft_batch built_replace(const struct nat_nft_spec *spec, uint32_t seq)
{
	struct nat_nft_batch b;
	nat_nft_batch_init(&b, seq);
	assert_int_equal(nat_nft_build_replace(&b, spec), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	return b;
}

/* ---- pure: the replace batch ---- */

static const char replace_sig_full[] = "BEGIN\n"
				       "NEWTABLE homegw\n"
				       "DELTABLE homegw\n"
				       "NEWTABLE homegw\n"
				       "NEWSET wan_addrs\n"
				       "NEWSET lan_nets\n"
				       "NEWSET masq_ifs\n"
				       "NEWSET open\n"
				       "NEWSET forwards\n"
				       "NEWSET pcp\n"
				       "NEWCHAIN dstnat\n"
				       "NEWCHAIN srcnat\n"
				       "NEWCHAIN forward\n"
				       "NEWCHAIN input\n"
				       "NEWSET __set%d\n"
				       "NEWSETELEM __set%d 2\n"
				       "NEWRULE dstnat\n"
				       "NEWSET __set%d\n"
				       "NEWSETELEM __set%d 2\n"
				       "NEWRULE dstnat\n"
				       "NEWRULE srcnat\n"
				       "NEWRULE srcnat\n"
				       "NEWRULE forward\n"
				       "NEWRULE forward\n"
				       "NEWRULE forward\n"
				       "NEWRULE forward\n"
				       "NEWRULE input\n"
				       "NEWSET __set%d\n"
				       "NEWSETELEM __set%d 2\n"
				       "NEWRULE input\n"
				       "NEWRULE input\n"
				       "NEWRULE input\n"
				       "NEWSETELEM wan_addrs 1\n"
				       "NEWSETELEM lan_nets 5\n"
				       "NEWSETELEM masq_ifs 1\n"
				       "NEWSETELEM open 3\n"
				       "NEWSETELEM forwards 5\n"
				       "NEWSETELEM pcp 1\n"
				       "END\n";

static void test_replace_framing(void **state)
{
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b = built_replace(&spec, 4000000000u);
	char *s = signature(&b);

	assert_string_equal(s, replace_sig_full);
	assert_int_equal(b.seq_first, 4000000000u);
	assert_int_equal(b.nmsgs, 39);
	/* NEWTABLE/NEWSET/NEWCHAIN/NEWRULE/NEWSETELEM create; DELTABLE not */
	struct msgs ms = split(&b);
	assert_int_equal(ms.m[1]->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
	assert_int_equal(ms.m[2]->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(ms.m[16]->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND);
	free(ms.m);
	free(s);
	nat_nft_batch_free(&b);
}

static void test_replace_without_firewall_hairpin(void **state)
{
	struct nat_config nc = small_config(false, false);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	spec.nwan = 0; /* no WAN address yet: no element message for it */
	struct nat_nft_batch b = built_replace(&spec, 1);
	char *s = signature(&b);

	assert_string_equal(s, "BEGIN\n"
			       "NEWTABLE homegw\n"
			       "DELTABLE homegw\n"
			       "NEWTABLE homegw\n"
			       "NEWSET wan_addrs\n"
			       "NEWSET lan_nets\n"
			       "NEWSET masq_ifs\n"
			       "NEWSET open\n"
			       "NEWSET forwards\n"
			       "NEWSET pcp\n"
			       "NEWCHAIN dstnat\n"
			       "NEWCHAIN srcnat\n"
			       "NEWSET __set%d\n"
			       "NEWSETELEM __set%d 2\n"
			       "NEWRULE dstnat\n"
			       "NEWSET __set%d\n"
			       "NEWSETELEM __set%d 2\n"
			       "NEWRULE dstnat\n"
			       "NEWRULE srcnat\n"
			       "NEWSETELEM lan_nets 5\n"
			       "NEWSETELEM masq_ifs 1\n"
			       "NEWSETELEM open 3\n"
			       "NEWSETELEM forwards 5\n"
			       "NEWSETELEM pcp 1\n"
			       "END\n");
	free(s);
	nat_nft_batch_free(&b);
}

struct chain_want {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
};

static void test_replace_chains(void **state)
{
	static const struct chain_want want[] = {
		{"dstnat", "nat", NF_INET_PRE_ROUTING, -100},
		{"srcnat", "nat", NF_INET_POST_ROUTING, 100},
		{"forward", "filter", NF_INET_FORWARD, 0},
		{"input", "filter", NF_INET_LOCAL_IN, 0},
	};
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b = built_replace(&spec, 1);
	struct msgs ms = split(&b);
	size_t k = 0;

	for (size_t i = 0; i < ms.n; i++) {
		if (ms.m[i]->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN))
			continue;
		struct nftnl_chain *c = nftnl_chain_alloc();
		assert_int_equal(nftnl_chain_nlmsg_parse(ms.m[i], c), 0);
		assert_true(k < 4);
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "homegw");
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), want[k].name);
		assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), want[k].type);
		assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), want[k].hook);
		assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), want[k].prio);
		assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
		nftnl_chain_free(c);
		k++;
	}
	assert_int_equal(k, 4);
	free(ms.m);
	nat_nft_batch_free(&b);
}

struct set_want {
	const char *name;
	uint32_t flags, key_type, key_len, data_type, data_len;
	const char *udata; /* the bytes nft 1.0.6 sends (nft --debug=mnl) */
	size_t udata_len;
};

#define UD(s) s, sizeof(s) - 1
#define UD_CONCAT_MAP                                                                      \
	"\x00\x04\x00\x00\x00\x00\x01\x04\x00\x00\x00\x00"                                 \
	"\x03\x08\x00\x04\x0d\x00\x00\x00\x01\x00\x04\x08\x00\x04\x0d\x00\x00\x00\x01\x00" \
	"\x06\x04\x00\x00\x00\x00"

static void test_replace_sets(void **state)
{
	static const struct set_want want[] = {
		{"wan_addrs", 0, 7, 4, 0, 0, UD("\x00\x04\x02\x00\x00\x00")},
		{"lan_nets", NFT_SET_INTERVAL, 7, 4, 0, 0, UD("\x00\x04\x02\x00\x00\x00")},
		{"masq_ifs", 0, 41, 16, 0, 0, UD("\x00\x04\x01\x00\x00\x00")},
		{"open", 0, 12 << 6 | 13, 8, 0, 0,
		 UD("\x00\x04\x00\x00\x00\x00\x03\x08\x00\x04\x0d\x00\x00\x00\x01\x00")},
		{"forwards", NFT_SET_MAP, 12 << 6 | 13, 8, 7 << 6 | 13, 8, UD(UD_CONCAT_MAP)},
		{"pcp", NFT_SET_MAP | NFT_SET_TIMEOUT, 12 << 6 | 13, 8, 7 << 6 | 13, 8, UD(UD_CONCAT_MAP)},
		{"__set%d", NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, 12, 1, 0, 0,
		 UD("\x00\x04\x01\x00\x00\x00\x03\x0e\x00\x04\x09\x00\x00\x00"
		    "\x01\x06\x00\x04\x10\x00\x00\x00")},
	};
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b = built_replace(&spec, 1);
	struct msgs ms = split(&b);
	size_t k = 0;
	uint32_t ids[16];

	for (size_t i = 0; i < ms.n; i++) {
		if (ms.m[i]->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSET))
			continue;
		struct nftnl_set *s = nftnl_set_alloc();
		const struct set_want *w = &want[k < 6 ? k : 6];
		uint32_t len = 0;
		assert_int_equal(nftnl_set_nlmsg_parse(ms.m[i], s), 0);
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), "homegw");
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), w->name);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), w->flags);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), w->key_type);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), w->key_len);
		assert_int_equal(nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE), w->data_len != 0);
		if (w->data_len) {
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), w->data_type);
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), w->data_len);
		}
		const void *ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
		assert_int_equal(len, w->udata_len);
		assert_memory_equal(ud, w->udata, len);
		if (k >= 6)
			assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE), 2);
		ids[k] = nftnl_set_get_u32(s, NFTNL_SET_ID);
		for (size_t j = 0; j < k; j++)
			assert_int_not_equal(ids[j], ids[k]); /* set ids unique in the batch */
		nftnl_set_free(s);
		k++;
	}
	assert_int_equal(k, 9);
	free(ms.m);
	nat_nft_batch_free(&b);
}

/* The rules' expressions, as `nft --debug=netlink` (1.0.6) shows them for
 * the header's ruleset. */
static const char *const rules_want[] = {
	/* dstnat */
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n"
	"[ payload load 4b @ network header + 16 => reg 1 ]\n[ lookup reg 1 set wan_addrs ]\n"
	"[ meta load l4proto => reg 1 ]\n[ lookup reg 1 set __set%d ]\n[ meta load l4proto => reg 1 ]\n"
	"[ payload load 2b @ transport header + 2 => reg 9 ]\n[ lookup reg 1 set forwards dreg 1 ]\n"
	"[ nat dnat ip addr_min reg 1 proto_min reg 9 ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n"
	"[ payload load 4b @ network header + 16 => reg 1 ]\n[ lookup reg 1 set wan_addrs ]\n"
	"[ meta load l4proto => reg 1 ]\n[ lookup reg 1 set __set%d ]\n[ meta load l4proto => reg 1 ]\n"
	"[ payload load 2b @ transport header + 2 => reg 9 ]\n[ lookup reg 1 set pcp dreg 1 ]\n"
	"[ nat dnat ip addr_min reg 1 proto_min reg 9 ]\n",
	/* srcnat */
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ ct load status => reg 1 ]\n"
	"[ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n[ cmp neq reg 1 0x00000000 ]\n"
	"[ payload load 4b @ network header + 12 => reg 1 ]\n[ lookup reg 1 set lan_nets ]\n"
	"[ meta load oifname => reg 1 ]\n[ lookup reg 1 set masq_ifs 0x1 ]\n[ masq ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load oifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ masq ]\n",
	/* forward */
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ ct load state => reg 1 ]\n"
	"[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]\n[ cmp neq reg 1 0x00000000 ]\n"
	"[ immediate reg 0 accept ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ ct load status => reg 1 ]\n"
	"[ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n[ cmp neq reg 1 0x00000000 ]\n"
	"[ immediate reg 0 accept ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ payload load 4b @ network header + 16 => reg 1 ]\n"
	"[ bitwise reg 1 = ( reg 1 & 0x000000f0 ) ^ 0x00000000 ]\n[ cmp eq reg 1 0x000000e0 ]\n"
	"[ immediate reg 0 accept ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ counter pkts 0 bytes 0 ]\n[ immediate reg 0 drop ]\n",
	/* input */
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ ct load state => reg 1 ]\n"
	"[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]\n[ cmp neq reg 1 0x00000000 ]\n"
	"[ immediate reg 0 accept ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ meta load l4proto => reg 1 ]\n[ lookup reg 1 set __set%d ]\n"
	"[ meta load l4proto => reg 1 ]\n[ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"[ lookup reg 1 set open ]\n[ immediate reg 0 accept ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ payload load 1b @ network header + 9 => reg 1 ]\n"
	"[ cmp eq reg 1 0x00000002 ]\n[ immediate reg 0 accept ]\n",
	"[ meta load nfproto => reg 1 ]\n[ cmp eq reg 1 0x00000002 ]\n[ meta load iifname => reg 1 ]\n"
	"[ lookup reg 1 set masq_ifs ]\n[ counter pkts 0 bytes 0 ]\n[ immediate reg 0 drop ]\n",
};

/* the "[ ... ]" lines of libnftnl's rendering, without the indentation */
static void rule_exprs(const struct nftnl_rule *r, char *out, size_t cap)
{
	char buf[4096];
	size_t len = 0;

	nftnl_rule_snprintf(buf, sizeof(buf), r, NFTNL_OUTPUT_DEFAULT, 0);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *lb = strstr(line, "[ ");
		if (!lb)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s\n", lb);
	}
}

static void test_replace_rules(void **state)
{
	static const char *const chains[] = {"dstnat",	"dstnat",  "srcnat", "srcnat", "forward", "forward",
					     "forward", "forward", "input",  "input",  "input",	  "input"};
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b = built_replace(&spec, 1);
	struct msgs ms = split(&b);
	uint32_t anon_id = 0;
	size_t k = 0;

	for (size_t i = 0; i < ms.n; i++) {
		uint16_t t = NFNL_MSG_TYPE(ms.m[i]->nlmsg_type);
		if (ms.m[i]->nlmsg_type == NFNL_MSG_BATCH_BEGIN || ms.m[i]->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		if (t == NFT_MSG_NEWSET) {
			struct nftnl_set *s = nftnl_set_alloc();
			assert_int_equal(nftnl_set_nlmsg_parse(ms.m[i], s), 0);
			anon_id = nftnl_set_get_u32(s, NFTNL_SET_ID);
			nftnl_set_free(s);
		}
		if (t != NFT_MSG_NEWRULE)
			continue;
		struct nftnl_rule *r = nftnl_rule_alloc();
		char got[4096];
		assert_int_equal(nftnl_rule_nlmsg_parse(ms.m[i], r), 0);
		assert_true(k < 12);
		assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), "homegw");
		assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chains[k]);
		rule_exprs(r, got, sizeof(got));
		assert_string_equal(got, rules_want[k]);
		/* the anonymous set is named by the id of the NEWSET just before */
		struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
		for (struct nftnl_expr *e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) {
			if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup") == 0 &&
			    strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), "__set%d") == 0)
				assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID), anon_id);
		}
		nftnl_expr_iter_destroy(it);
		nftnl_rule_free(r);
		k++;
	}
	assert_int_equal(k, 12);
	free(ms.m);
	nat_nft_batch_free(&b);
}

static void test_replace_elements(void **state)
{
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b = built_replace(&spec, 1);
	struct els l;

	l = elems_of(&b, NFT_MSG_NEWSETELEM, "wan_addrs");
	assert_int_equal(l.n, 1);
	assert_addr_key(&l.v[0], "203.0.113.5", 0);
	free(l.v);

	/* 192.168.1.0/24 + .128/25 (inside) + 192.168.2.0/24 (touching) merge */
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "lan_nets");
	assert_int_equal(l.n, 5);
	assert_addr_key(&l.v[0], "0.0.0.0", NFT_SET_ELEM_INTERVAL_END);
	assert_addr_key(&l.v[1], "10.1.0.0", 0);
	assert_addr_key(&l.v[2], "10.2.0.0", NFT_SET_ELEM_INTERVAL_END);
	assert_addr_key(&l.v[3], "192.168.1.0", 0);
	assert_addr_key(&l.v[4], "192.168.3.0", NFT_SET_ELEM_INTERVAL_END);
	free(l.v);

	l = elems_of(&b, NFT_MSG_NEWSETELEM, "masq_ifs");
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].klen, IFNAMSIZ);
	assert_memory_equal(l.v[0].key, "wan0\0\0\0\0\0\0\0\0\0\0\0\0", IFNAMSIZ);
	free(l.v);

	l = elems_of(&b, NFT_MSG_NEWSETELEM, "open");
	assert_int_equal(l.n, 3);
	assert_proto_port(&l.v[0], 6, 22);
	assert_proto_port(&l.v[1], 17, 5000);
	assert_proto_port(&l.v[2], 17, 5001);
	assert_int_equal(l.v[0].dlen, 0);
	free(l.v);

	/* a range is one element per port, the target port offset alike */
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "forwards");
	assert_int_equal(l.n, 5);
	assert_proto_port(&l.v[0], 6, 80);
	assert_addr_port(&l.v[0], "192.168.1.10", 8080);
	assert_proto_port(&l.v[1], 6, 2000);
	assert_addr_port(&l.v[1], "192.168.1.11", 2000);
	assert_proto_port(&l.v[2], 6, 2001);
	assert_addr_port(&l.v[2], "192.168.1.11", 2001);
	assert_proto_port(&l.v[3], 6, 2002);
	assert_addr_port(&l.v[3], "192.168.1.11", 2002);
	assert_proto_port(&l.v[4], 17, 53);
	assert_addr_port(&l.v[4], "192.168.1.12", 53);
	assert_int_equal(l.v[0].timeout, 0);
	free(l.v);

	/* the expired mapping is left out; the other has 100 s left, in ms */
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "pcp");
	assert_int_equal(l.n, 1);
	assert_proto_port(&l.v[0], 17, 34500);
	assert_addr_port(&l.v[0], "192.168.1.20", 4500);
	assert_int_equal(l.v[0].timeout, 100000);
	free(l.v);

	l = elems_of(&b, NFT_MSG_NEWSETELEM, "__set%d");
	assert_int_equal(l.n, 6); /* three anonymous { tcp, udp } */
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.v[i].klen, 1);
		assert_int_equal(l.v[i].key[0], i % 2 ? 17 : 6);
	}
	free(l.v);
	nat_nft_batch_free(&b);
}

/* a to_port defaulting to first, a forward running to port 65535, a LAN
 * net running to 255.255.255.255 (no end element, nft's open-end mark) and
 * one starting at 0.0.0.0 (no leading end element) */
static void test_replace_edges(void **state)
{
	struct nat_forward f[] = {
		{.proto = NAT_UDP, .first = 65534, .last = 65535, .to = ip("10.0.0.9"), .to_port = 65534}};
	struct nat_config nc = {.masq = masq_wan0, .nmasq = 1, .forwards = f, .nforwards = 1};
	struct nat_prefix lan[] = {{ip("240.0.0.0"), 4}, {ip("0.0.0.0"), 8}};
	struct nat_nft_spec spec = {.nc = &nc, .lan_nets = lan, .nlan = 2};
	struct nat_nft_batch b = built_replace(&spec, 1);
	struct els l = elems_of(&b, NFT_MSG_NEWSETELEM, "lan_nets");

	assert_int_equal(l.n, 3);
	assert_addr_key(&l.v[0], "0.0.0.0", 0);
	assert_addr_key(&l.v[1], "1.0.0.0", NFT_SET_ELEM_INTERVAL_END);
	assert_addr_key(&l.v[2], "240.0.0.0", 0);
	assert_false(l.v[1].has_udata);
	assert_true(l.v[2].has_udata);
	free(l.v);
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "forwards");
	assert_int_equal(l.n, 2);
	assert_proto_port(&l.v[1], 17, 65535);
	assert_addr_port(&l.v[1], "10.0.0.9", 65535);
	free(l.v);
	nat_nft_batch_free(&b);
}

static void test_replace_bad_input(void **state)
{
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b;
	struct nat_forward f[2] = {fwd_small[0], fwd_small[1]};
	struct nat_masq long_dev[] = {{.iface = "wan", .device = "a-device-name-too-long"}};
	struct nat_prefix bad_lan[] = {{ip("10.0.0.0"), 33}};

	nc.forwards = f;
	nc.nforwards = 2;
	/* target range past 65535 */
	f[1].to_port = 65534;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), -EINVAL);
	nat_nft_batch_free(&b);
	/* out of order */
	f[1] = fwd_small[0];
	f[0] = fwd_small[1];
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), -EINVAL);
	nat_nft_batch_free(&b);
	/* bad protocol */
	f[0] = fwd_small[0];
	f[1] = fwd_small[1];
	f[0].proto = 1;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), -EINVAL);
	nat_nft_batch_free(&b);
	nc = small_config(true, true);
	nc.masq = long_dev;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), -EINVAL);
	nat_nft_batch_free(&b);
	nc = small_config(true, true);
	spec.lan_nets = bad_lan;
	spec.nlan = 1;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), -EINVAL);
	nat_nft_batch_free(&b);
	spec.nc = NULL;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), -EINVAL);
	nat_nft_batch_free(&b);
}

static void test_batch_misuse(void **state)
{
	struct nat_config nc = small_config(true, true);
	struct nat_nft_batch b;
	char *s;

	/* nothing in it: BEGIN, END */
	nat_nft_batch_init(&b, 7);
	assert_int_equal(nat_nft_build_forward_diff(&b, &nc, &nc), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s, "BEGIN\nEND\n");
	assert_int_equal(b.seq_next, 9);
	free(s);
	/* ended: no more building, no second END */
	assert_int_equal(nat_nft_batch_end(&b), -EINVAL);
	assert_int_equal(nat_nft_build_delete(&b), -EINVAL);
	nat_nft_batch_free(&b);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);

	nat_nft_batch_init(&b, 100);
	assert_int_equal(nat_nft_build_delete(&b), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s, "BEGIN\nNEWTABLE homegw\nDELTABLE homegw\nEND\n");
	free(s);
	nat_nft_batch_free(&b);
}

/* ---- pure: incremental batches ---- */

static void test_forward_diff(void **state)
{
	struct nat_forward fo[3], fn[4];
	struct nat_config old_nc = small_config(true, true), new_nc;
	struct nat_nft_batch b;
	struct els l;
	char *s;

	/* old: tcp 80 → .10:8080, tcp 2000-2002 → .11, udp 53 → .12 */
	memcpy(fo, old_nc.forwards, sizeof(fo));
	old_nc.forwards = fo;
	new_nc = old_nc;
	/* new: tcp 80 → .10:80 (moved), tcp 2001-2003 → .11 (2000 gone, 2003
	 * new), udp 53 unchanged, udp 60 → .13:6000 (new) */
	fn[0] = fo[0];
	fn[0].to_port = 80;
	fn[1] = fo[1];
	fn[1].first = 2001;
	fn[1].last = 2003;
	fn[1].to_port = 2001;
	fn[2] = fo[2];
	fn[3] = (struct nat_forward){
		.proto = NAT_UDP, .first = 60, .last = 60, .to = ip("192.168.1.13"), .to_port = 6000};
	new_nc.forwards = fn;
	new_nc.nforwards = 4;

	nat_nft_batch_init(&b, 50);
	assert_int_equal(nat_nft_build_forward_diff(&b, &old_nc, &new_nc), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s, "BEGIN\nDELSETELEM forwards 2\nNEWSETELEM forwards 3\nEND\n");
	free(s);
	l = elems_of(&b, NFT_MSG_DELSETELEM, "forwards");
	assert_int_equal(l.n, 2);
	assert_proto_port(&l.v[0], 6, 80);
	assert_int_equal(l.v[0].dlen, 0); /* a delete names the key only */
	assert_proto_port(&l.v[1], 6, 2000);
	free(l.v);
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "forwards");
	assert_int_equal(l.n, 3);
	assert_proto_port(&l.v[0], 6, 80);
	assert_addr_port(&l.v[0], "192.168.1.10", 80);
	assert_proto_port(&l.v[1], 6, 2003);
	assert_addr_port(&l.v[1], "192.168.1.11", 2003);
	assert_proto_port(&l.v[2], 17, 60);
	assert_addr_port(&l.v[2], "192.168.1.13", 6000);
	free(l.v);
	nat_nft_batch_free(&b);

	/* everything removed: deletes only */
	new_nc.nforwards = 0;
	nat_nft_batch_init(&b, 50);
	assert_int_equal(nat_nft_build_forward_diff(&b, &old_nc, &new_nc), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s, "BEGIN\nDELSETELEM forwards 5\nEND\n");
	free(s);
	nat_nft_batch_free(&b);

	/* unsorted input is refused before anything is written */
	fn[0] = fo[2];
	fn[1] = fo[0];
	new_nc.nforwards = 2;
	nat_nft_batch_init(&b, 50);
	assert_int_equal(nat_nft_build_forward_diff(&b, &old_nc, &new_nc), -EINVAL);
	assert_int_equal(b.nmsgs, 0);
	nat_nft_batch_free(&b);
}

static void test_live_sets(void **state)
{
	struct nat_config nc = small_config(true, true);
	struct in_addr wan[2] = {ip("203.0.113.5"), ip("198.51.100.7")};
	struct nat_prefix lan[1] = {{ip("192.168.7.9"), 24}}; /* not masked: the builder masks */
	struct nat_nft_spec spec = {.nc = &nc, .wan_addrs = wan, .nwan = 2, .lan_nets = lan, .nlan = 1};
	struct nat_nft_batch b;
	struct els l;
	char *s;

	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_live_sets(&b, &spec), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s,
			    "BEGIN\nDELSETELEM wan_addrs 0\nDELSETELEM lan_nets 0\nNEWSETELEM wan_addrs 2\n"
			    "NEWSETELEM lan_nets 3\nEND\n");
	free(s);
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "wan_addrs");
	assert_addr_key(&l.v[0], "203.0.113.5", 0);
	assert_addr_key(&l.v[1], "198.51.100.7", 0);
	free(l.v);
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "lan_nets");
	assert_addr_key(&l.v[1], "192.168.7.0", 0);
	assert_addr_key(&l.v[2], "192.168.8.0", NFT_SET_ELEM_INTERVAL_END);
	free(l.v);
	nat_nft_batch_free(&b);
}

static void test_pcp_build(void **state)
{
	struct nat_pcp_mapping m = {.proto = NAT_TCP,
				    .client = ip("192.168.1.30"),
				    .int_port = 8000,
				    .ext_port = 40000,
				    .expires = 5000};
	struct nat_nft_batch b;
	struct els l;
	char *s;

	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_pcp(&b, &m, true, 4880), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s, "BEGIN\nNEWSETELEM pcp 1\nDELSETELEM pcp 1\nNEWSETELEM pcp 1\nEND\n");
	free(s);
	l = elems_of(&b, NFT_MSG_NEWSETELEM, "pcp");
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_proto_port(&l.v[i], 6, 40000);
		assert_addr_port(&l.v[i], "192.168.1.30", 8000);
		assert_int_equal(l.v[i].timeout, 120000);
	}
	free(l.v);
	l = elems_of(&b, NFT_MSG_DELSETELEM, "pcp");
	assert_int_equal(l.n, 1);
	assert_proto_port(&l.v[0], 6, 40000);
	assert_int_equal(l.v[0].dlen, 0);
	assert_int_equal(l.v[0].timeout, 0);
	free(l.v);
	nat_nft_batch_free(&b);

	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_pcp(&b, &m, false, 4880), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	s = signature(&b);
	assert_string_equal(s, "BEGIN\nDELSETELEM pcp 1\nEND\n");
	free(s);
	nat_nft_batch_free(&b);

	/* expired at NOW, or not TCP/UDP */
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_pcp(&b, &m, true, 5000), -EINVAL);
	m.proto = 1;
	assert_int_equal(nat_nft_build_pcp(&b, &m, false, 4880), -EINVAL);
	nat_nft_batch_free(&b);
}

/* ---- pure: big batches ---- */

static struct nat_config big_config(size_t n, struct nat_forward **out)
{
	struct nat_forward *f = calloc(n, sizeof(*f));
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		f[i].proto = i % 2 ? NAT_UDP : NAT_TCP;
		f[i].first = f[i].last = (uint16_t)(10000 + i / 2);
		f[i].to.s_addr = htonl(0x0a000000u | (uint32_t)(i + 2)); /* 10.0.x.y */
		f[i].to_port = 80;
	}
	/* sorted by (proto, first): all TCP, then all UDP */
	struct nat_forward *s = calloc(n, sizeof(*s));
	size_t k = 0;
	for (size_t i = 0; i < n; i += 2)
		s[k++] = f[i];
	for (size_t i = 1; i < n; i += 2)
		s[k++] = f[i];
	free(f);
	*out = s;
	struct nat_config nc = {.masq = masq_wan0,
				.nmasq = 1,
				.forwards = s,
				.nforwards = n,
				.forward_ports = n,
				.hairpin = true,
				.firewall = true,
				.pcp = true};
	return nc;
}

/* Element messages stay under the 64 KiB of nla_len; all of them counted. */
static size_t check_elem_msgs(const struct nat_nft_batch *b, const char *set, size_t *elems)
{
	struct msgs ms = split(b);
	size_t nmsg = 0;

	*elems = 0;
	for (size_t i = 0; i < ms.n; i++) {
		if (ms.m[i]->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM))
			continue;
		struct nftnl_set *x = nftnl_set_alloc();
		unsigned n = 0;
		assert_int_equal(nftnl_set_elems_nlmsg_parse(ms.m[i], x), 0);
		if (strcmp(nftnl_set_get_str(x, NFTNL_SET_NAME), set) == 0) {
			assert_true(ms.m[i]->nlmsg_len < 65536);
			nftnl_set_elem_foreach(x, count_elem, &n);
			*elems += n;
			nmsg++;
		}
		nftnl_set_free(x);
	}
	free(ms.m);
	return nmsg;
}

static void test_big_replace(void **state)
{
	struct nat_forward *f;
	struct nat_config nc = big_config(10000, &f);
	struct nat_nft_spec spec = {.nc = &nc};
	struct nat_nft_batch b = built_replace(&spec, 1);
	size_t elems, nmsg = check_elem_msgs(&b, "forwards", &elems);
	struct els l = elems_of(&b, NFT_MSG_NEWSETELEM, "forwards");

	assert_int_equal(elems, 10000);
	assert_true(nmsg >= 6 && nmsg <= 8); /* ~36 bytes an element, up to 60 KiB a message */
	assert_proto_port(&l.v[0], 6, 10000);
	assert_addr_port(&l.v[0], "10.0.0.2", 80);
	assert_proto_port(&l.v[9999], 17, 14999);
	assert_addr_port(&l.v[9999], "10.0.39.17", 80);
	free(l.v);
	print_message("10,000 forwards: one batch of %zu bytes, %u messages (%zu of elements)\n", b.len,
		      b.nmsgs, nmsg);
	nat_nft_batch_free(&b);
	free(f);
}

/* every TCP and UDP port forwarded: 131,070 elements, still one batch */
static void test_all_ports_replace(void **state)
{
	struct nat_forward f[] = {
		{.proto = NAT_TCP, .first = 1, .last = 65535, .to = ip("10.9.9.9"), .to_port = 1},
		{.proto = NAT_UDP, .first = 1, .last = 65535, .to = ip("10.9.9.9"), .to_port = 1}};
	struct nat_config nc = {.masq = masq_wan0, .nmasq = 1, .forwards = f, .nforwards = 2};
	struct nat_nft_spec spec = {.nc = &nc};
	struct nat_nft_batch b = built_replace(&spec, 1);
	size_t elems;

	size_t nmsg = check_elem_msgs(&b, "forwards", &elems);
	char *s = signature(&b); /* framing and sequence numbers hold at this size too */

	assert_int_equal(elems, 131070);
	assert_true(nmsg >= 77 && nmsg <= 80);
	print_message("131,070 forward ports: one batch of %zu bytes, %u messages\n", b.len, b.nmsgs);
	free(s);
	nat_nft_batch_free(&b);
}

/* ---- kernel: in a network namespace of our own ---- */

static bool in_netns;

static int kernel_setup(void **state)
{
	if (unshare(CLONE_NEWNET) == 0) {
		in_netns = true;
		return 0;
	}
	print_message("SKIPPED kernel tests: unshare(CLONE_NEWNET): %s (needs root or CAP_SYS_ADMIN); "
		      "nothing was sent to the host's nftables\n",
		      strerror(errno));
	return 0;
}

#define NEED_NETNS()            \
	do {                    \
		if (!in_netns)  \
			skip(); \
	} while (0)

/* Run a shell command (in our namespace: children inherit it); its stdout
 * in *OUT (malloc'd) if OUT; the exit status. */
__attribute__((format(printf, 2, 3))) static int run(char **out, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *p;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (size_t r; (r = fread(buf + len, 1, cap - len - 1, p)) > 0;) {
		len += r;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = 0;
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *tmpfile_with(const char *text)
{
	char *path = strdup("/tmp/test_nat_nft.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* the header's chains, in nft syntax */
#define REF_CHAINS                                                                                          \
	"  chain dstnat { type nat hook prerouting priority -100; policy accept;\n"                         \
	"    meta nfproto ipv4 ip daddr @wan_addrs meta l4proto { tcp, udp } dnat ip to meta l4proto . th " \
	"dport map @forwards\n"                                                                             \
	"    meta nfproto ipv4 ip daddr @wan_addrs meta l4proto { tcp, udp } dnat ip to meta l4proto . th " \
	"dport map @pcp\n"                                                                                  \
	"  }\n"                                                                                             \
	"  chain srcnat { type nat hook postrouting priority 100; policy accept;\n"                         \
	"    meta nfproto ipv4 ct status dnat ip saddr @lan_nets oifname != @masq_ifs masquerade\n"         \
	"    meta nfproto ipv4 oifname @masq_ifs masquerade\n"                                              \
	"  }\n"                                                                                             \
	"  chain forward { type filter hook forward priority 0; policy accept;\n"                           \
	"    meta nfproto ipv4 iifname @masq_ifs ct state established,related accept\n"                     \
	"    meta nfproto ipv4 iifname @masq_ifs ct status dnat accept\n"                                   \
	"    meta nfproto ipv4 iifname @masq_ifs ip daddr 224.0.0.0/4 accept\n"                             \
	"    meta nfproto ipv4 iifname @masq_ifs counter drop\n"                                            \
	"  }\n"                                                                                             \
	"  chain input { type filter hook input priority 0; policy accept;\n"                               \
	"    meta nfproto ipv4 iifname @masq_ifs ct state established,related accept\n"                     \
	"    meta nfproto ipv4 iifname @masq_ifs meta l4proto { tcp, udp } meta l4proto . th dport @open "  \
	"accept\n"                                                                                          \
	"    meta nfproto ipv4 iifname @masq_ifs ip protocol igmp accept\n"                                 \
	"    meta nfproto ipv4 iifname @masq_ifs counter drop\n"                                            \
	"  }\n"

/* the header's ruleset with the small config's elements, for nft -f */
static const char reference_ruleset[] =
	"table inet homegw {\n"
	"  set wan_addrs { type ipv4_addr; elements = { 203.0.113.5 }; }\n"
	"  set lan_nets { type ipv4_addr; flags interval;\n"
	"    elements = { 10.1.0.0/16, 192.168.1.0-192.168.2.255 }; }\n"
	"  set masq_ifs { type ifname; elements = { \"wan0\" }; }\n"
	"  set open { type inet_proto . inet_service; elements = { tcp . 22, udp . 5000, udp . 5001 }; }\n"
	"  map forwards { type inet_proto . inet_service : ipv4_addr . inet_service;\n"
	"    elements = { tcp . 80 : 192.168.1.10 . 8080, tcp . 2000 : 192.168.1.11 . 2000,\n"
	"                 tcp . 2001 : 192.168.1.11 . 2001, tcp . 2002 : 192.168.1.11 . 2002,\n"
	"                 udp . 53 : 192.168.1.12 . 53 }; }\n"
	"  map pcp { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }\n" REF_CHAINS
	"}\n";

struct loop_ctx {
	uv_loop_t loop;
	uv_timer_t guard;
	int done_rc, rcs[16];
	unsigned done_failed, ndone, nforeign;
	bool timed_out;
};

static void on_done(void *data, int rc, unsigned failed)
{
	struct loop_ctx *c = data;
	c->done_rc = rc;
	c->done_failed = failed;
	if (c->ndone < 16)
		c->rcs[c->ndone] = rc;
	c->ndone++;
	uv_stop(&c->loop); /* back to run_until without waiting in the next poll */
}

static void on_foreign(void *data)
{
	struct loop_ctx *c = data;
	c->nforeign++;
	uv_stop(&c->loop);
}

static void on_guard(uv_timer_t *t)
{
	struct loop_ctx *c = container_of(t, struct loop_ctx, guard);
	c->timed_out = true;
	uv_stop(&c->loop);
}

/* Run the loop until *COUNTER reaches WANT (a 5 s guard: then it fails). */
static void run_until(struct loop_ctx *c, unsigned *counter, unsigned want)
{
	c->timed_out = false;
	uv_timer_start(&c->guard, on_guard, 5000, 0);
	while (*counter < want && !c->timed_out)
		uv_run(&c->loop, UV_RUN_ONCE);
	uv_timer_stop(&c->guard);
	if (c->timed_out)
		print_message("timed out: counter %u want %u\n", *counter, want);
	assert_false(c->timed_out);
}

/* A few idle turns of the loop, for what should NOT happen: the kernel
 * queues answers and events before the send returns, so they are there. */
static void run_idle(struct loop_ctx *c)
{
	for (int i = 0; i < 5; i++)
		uv_run(&c->loop, UV_RUN_NOWAIT);
}

static void closed(void *data)
{
	(*(int *)data)++;
}

static struct nat_nft *open_nft(struct loop_ctx *c)
{
	struct nat_nft *n = NULL;
	memset(c, 0, sizeof(*c));
	assert_int_equal(uv_loop_init(&c->loop), 0);
	uv_timer_init(&c->loop, &c->guard);
	assert_int_equal(nat_nft_open(&c->loop, on_foreign, c, &n), 0);
	/* each test starts without the table, whatever the last one left */
	struct nat_nft_batch b;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_delete(&b), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	assert_int_equal(nat_nft_send_sync(n, &b, NULL), 0);
	return n;
}

static void close_nft(struct loop_ctx *c, struct nat_nft *n)
{
	int nclosed = 0;
	nat_nft_close(n, closed, &nclosed);
	uv_close((uv_handle_t *)&c->guard, NULL);
	while (uv_run(&c->loop, UV_RUN_DEFAULT)) /* a DONE of -ECANCELED stops it once */
		;
	assert_int_equal(nclosed, 1);
	assert_int_equal(uv_loop_close(&c->loop), 0);
}

static int replace_sync(struct nat_nft *n, const struct nat_nft_spec *spec, unsigned *failed)
{
	struct nat_nft_batch b;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, spec), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	return nat_nft_send_sync(n, &b, failed);
}

/* The table, as nft lists it. */
static char *listing(void)
{
	char *out;
	assert_int_equal(run(&out, "nft list table inet homegw"), 0);
	return out;
}

static void check_json_chains(void)
{
	static const struct chain_want want[] = {
		{"dstnat", "nat", 0, -100},
		{"srcnat", "nat", 0, 100},
		{"forward", "filter", 0, 0},
		{"input", "filter", 0, 0},
	};
	static const char *const hooks[] = {"prerouting", "postrouting", "forward", "input"};
	char *out;
	json_error_t jerr;
	size_t i, k = 0;
	json_t *v;

	assert_int_equal(run(&out, "nft -j list table inet homegw"), 0);
	json_t *root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	json_array_foreach(json_object_get(root, "nftables"), i, v)
	{
		json_t *c = json_object_get(v, "chain");
		if (!c)
			continue;
		assert_true(k < 4);
		assert_string_equal(json_string_value(json_object_get(c, "name")), want[k].name);
		assert_string_equal(json_string_value(json_object_get(c, "type")), want[k].type);
		assert_string_equal(json_string_value(json_object_get(c, "hook")), hooks[k]);
		assert_int_equal(json_integer_value(json_object_get(c, "prio")), want[k].prio);
		assert_string_equal(json_string_value(json_object_get(c, "policy")), "accept");
		k++;
	}
	assert_int_equal(k, 4);
	json_decref(root);
	free(out);
}

/* Our table is the one nft makes of the header's ruleset: same listing. */
static void test_kernel_replace_is_the_ruleset(void **state)
{
	NEED_NETNS();
	struct loop_ctx c;
	struct nat_nft *n = open_nft(&c);
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	unsigned failed = 99;
	char *ours, *again, *ref, *path;

	spec.npcp = 0; /* a timeout's "expires" would differ between the two listings */
	assert_int_equal(replace_sync(n, &spec, &failed), 0);
	ours = listing();
	check_json_chains();
	/* replace is idempotent */
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	again = listing();
	assert_string_equal(again, ours);

	assert_int_equal(run(NULL, "nft delete table inet homegw"), 0);
	path = tmpfile_with(reference_ruleset);
	assert_int_equal(run(NULL, "nft -f %s", path), 0);
	ref = listing();
	assert_string_equal(ours, ref);
	/* and what nft lists loads back (users save rulesets that way) */
	unlink(path);
	free(path);
	path = tmpfile_with(ours);
	assert_int_equal(run(NULL, "nft delete table inet homegw && nft -f %s", path), 0);
	unlink(path);
	free(path);

	/* delete, twice: gone, and a missing table is no error */
	struct nat_nft_batch b;
	for (int i = 0; i < 2; i++) {
		nat_nft_batch_init(&b, 1);
		assert_int_equal(nat_nft_build_delete(&b), 0);
		assert_int_equal(nat_nft_batch_end(&b), 0);
		assert_int_equal(nat_nft_send_sync(n, &b, NULL), 0);
		assert_int_not_equal(run(NULL, "nft list table inet homegw 2>/dev/null"), 0);
	}
	free(ours);
	free(again);
	free(ref);
	close_nft(&c, n);
}

static void send_async(struct loop_ctx *c, struct nat_nft *n, struct nat_nft_batch *b)
{
	unsigned before = c->ndone;
	assert_int_equal(nat_nft_batch_end(b), 0);
	assert_int_equal(nat_nft_send(n, b, on_done, c), 0);
	assert_null(b->buf);
	assert_int_equal(c->ndone, before); /* never from within the call */
	run_until(c, &c->ndone, before + 1);
}

static const char forwards_after_diff[] = "table inet homegw {\n"
					  "\tmap forwards {\n"
					  "\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n"
					  "\t\telements = { udp . 53 : 192.168.1.12 . 53,\n"
					  "\t\t\t     tcp . 80 : 192.168.1.10 . 81 }\n"
					  "\t}\n"
					  "}\n";

static void test_kernel_async_and_errors(void **state)
{
	NEED_NETNS();
	struct loop_ctx c;
	struct nat_nft *n = open_nft(&c);
	struct nat_config old_nc = small_config(true, true), new_nc = old_nc;
	struct nat_nft_spec spec = small_spec(&old_nc, 1000);
	struct nat_forward fn[3];
	struct nat_nft_batch b;
	char *out;

	spec.npcp = 0;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), 0);
	send_async(&c, n, &b);
	assert_int_equal(c.done_rc, 0);

	/* a forward diff: tcp 80 moved to port 81, tcp 2000-2002 gone */
	fn[0] = old_nc.forwards[0];
	fn[0].to_port = 81;
	fn[1] = old_nc.forwards[2];
	new_nc.forwards = fn;
	new_nc.nforwards = 2;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_forward_diff(&b, &old_nc, &new_nc), 0);
	send_async(&c, n, &b);
	assert_int_equal(c.done_rc, 0);
	assert_int_equal(run(&out, "nft list map inet homegw forwards"), 0);
	assert_string_equal(out, forwards_after_diff);
	free(out);

	/* the same diff again: its deletes fail (ENOENT on message 1), nothing
	 * of the batch applies: the adds (message 2) are undone too */
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_forward_diff(&b, &old_nc, &new_nc), 0);
	send_async(&c, n, &b);
	assert_int_equal(c.done_rc, -ENOENT);
	assert_int_equal(c.done_failed, 1);
	assert_int_equal(run(&out, "nft list map inet homegw forwards"), 0);
	assert_string_equal(out, forwards_after_diff);
	free(out);

	/* an empty batch is answered too, from the loop */
	nat_nft_batch_init(&b, 1);
	send_async(&c, n, &b);
	assert_int_equal(c.done_rc, 0);

	/* several in flight, answered in order; the second fails at message 3 */
	struct nat_pcp_mapping m = {.proto = NAT_UDP,
				    .client = ip("192.168.1.40"),
				    .int_port = 1,
				    .ext_port = 40001,
				    .expires = 2000};
	unsigned before = c.ndone;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_pcp(&b, &m, true, 1000), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	assert_int_equal(nat_nft_send(n, &b, on_done, &c), 0);
	nat_nft_batch_init(&b, 1);
	m.client = ip("192.168.1.41"); /* another target on the same port: EEXIST */
	assert_int_equal(nat_nft_build_pcp(&b, &m, true, 1000), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	assert_int_equal(nat_nft_send(n, &b, on_done, &c), 0);
	run_until(&c, &c.ndone, before + 2);
	assert_int_equal(c.rcs[before], 0);
	assert_int_equal(c.done_rc, -EEXIST);
	assert_int_equal(c.done_failed, 1);
	assert_int_equal(c.nforeign, 0); /* our own batches are not foreign */

	/* a batch still in flight at close is cancelled */
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_delete(&b), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	assert_int_equal(nat_nft_send(n, &b, on_done, &c), 0);
	before = c.ndone;
	close_nft(&c, n);
	assert_int_equal(c.ndone, before + 1);
	assert_int_equal(c.done_rc, -ECANCELED);
}

static int send_pcp(struct nat_nft *n, const struct nat_pcp_mapping *m, bool add, uint32_t now)
{
	struct nat_nft_batch b;
	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_pcp(&b, m, add, now), 0);
	assert_int_equal(nat_nft_batch_end(&b), 0);
	return nat_nft_send_sync(n, &b, NULL);
}

static void test_kernel_pcp_dump(void **state)
{
	NEED_NETNS();
	struct loop_ctx c;
	struct nat_nft *n = open_nft(&c);
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_pcp_mapping *v = NULL;
	size_t cnt = 99;

	/* no table */
	assert_int_equal(nat_nft_dump_pcp(n, 1000, &v, &cnt), -ENOENT);

	/* the replace carries one live mapping (100 s) */
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	assert_int_equal(nat_nft_dump_pcp(n, 50, &v, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(v[0].proto, 17);
	assert_int_equal(v[0].ext_port, 34500);
	assert_int_equal(v[0].int_port, 4500);
	assert_int_equal(v[0].client.s_addr, ip("192.168.1.20").s_addr);
	assert_false(v[0].natpmp);
	/* 100 s rounded up: 100 unless the kernel's clock ticked past a ms */
	assert_in_range(v[0].expires, 50 + 99, 50 + 100);
	free(v);

	/* a new mapping, then renewed with a longer lifetime */
	struct nat_pcp_mapping m = {.proto = NAT_TCP,
				    .client = ip("192.168.1.21"),
				    .int_port = 22,
				    .ext_port = 2222,
				    .expires = 1030};
	assert_int_equal(send_pcp(n, &m, true, 1000), 0);
	m.expires = 1000 + 3600;
	assert_int_equal(send_pcp(n, &m, true, 1000), 0);
	assert_int_equal(nat_nft_dump_pcp(n, 0, &v, &cnt), 0);
	assert_int_equal(cnt, 2);
	struct nat_pcp_mapping *t = v[0].proto == 6 ? &v[0] : &v[1];
	assert_int_equal(t->ext_port, 2222);
	assert_int_equal(t->int_port, 22);
	assert_in_range(t->expires, 3599, 3600);
	free(v);
	/* the kernel shows the same */
	char *out;
	assert_int_equal(run(&out, "nft list map inet homegw pcp | grep -c 'tcp . 2222 timeout 1h expires'"),
			 0);
	assert_string_equal(out, "1\n");
	free(out);

	/* removed; removing again fails with ENOENT */
	assert_int_equal(send_pcp(n, &m, false, 1000), 0);
	assert_int_equal(send_pcp(n, &m, false, 1000), -ENOENT);
	assert_int_equal(nat_nft_dump_pcp(n, 0, &v, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(v[0].ext_port, 34500);
	free(v);
	close_nft(&c, n);
}

static void test_kernel_live_sets_and_counters(void **state)
{
	NEED_NETNS();
	struct loop_ctx c;
	struct nat_nft *n = open_nft(&c);
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b;
	uint64_t fw = 7, in = 7;
	char *out;

	assert_int_equal(nat_nft_drop_counters(n, &fw, &in), -ENOENT);
	assert_int_equal(fw + in, 0);
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	assert_int_equal(nat_nft_drop_counters(n, &fw, &in), 0);
	assert_int_equal(fw, 0);
	assert_int_equal(in, 0);

	/* refilled twice, overlapping what was there (interval set in one
	 * transaction: flush + add) */
	struct in_addr wan[1] = {ip("198.51.100.9")};
	struct nat_prefix lan[2] = {{ip("192.168.1.0"), 23}, {ip("100.64.0.0"), 10}};
	spec.wan_addrs = wan;
	spec.lan_nets = lan;
	spec.nlan = 2;
	for (int i = 0; i < 2; i++) {
		nat_nft_batch_init(&b, 1);
		assert_int_equal(nat_nft_build_live_sets(&b, &spec), 0);
		assert_int_equal(nat_nft_batch_end(&b), 0);
		assert_int_equal(nat_nft_send_sync(n, &b, NULL), 0);
	}
	assert_int_equal(run(&out, "nft list set inet homegw lan_nets | grep elements"), 0);
	assert_string_equal(out, "\t\telements = { 100.64.0.0/10, 192.168.0.0/23 }\n");
	free(out);
	assert_int_equal(run(&out, "nft list set inet homegw wan_addrs | grep elements"), 0);
	assert_string_equal(out, "\t\telements = { 198.51.100.9 }\n");
	free(out);

	/* one datagram to ourselves over lo, made a masquerade interface: the
	 * input chain's counter drops it (our namespace: nothing leaves it;
	 * masquerade on the way out wants an address of global scope on lo) */
	struct nat_masq lo[] = {{.iface = "lo", .device = "lo"}};
	nc.masq = lo;
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	assert_int_equal(run(NULL, "ip link set lo up && ip addr add 198.18.0.1/32 dev lo"), 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr = ip("198.18.0.1")};
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	close(fd);
	assert_int_equal(nat_nft_drop_counters(n, &fw, &in), 0);
	assert_int_equal(fw, 0);
	assert_int_equal(in, 1);

	/* without the firewall there are no counters */
	nc.firewall = false;
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	assert_int_equal(nat_nft_drop_counters(n, &fw, &in), -ENOENT);
	close_nft(&c, n);
}

static void test_kernel_foreign(void **state)
{
	NEED_NETNS();
	struct loop_ctx c;
	struct nat_nft *n = open_nft(&c);
	struct nat_config nc = small_config(true, true);
	struct nat_nft_spec spec = small_spec(&nc, 1000);
	struct nat_nft_batch b;

	nat_nft_batch_init(&b, 1);
	assert_int_equal(nat_nft_build_replace(&b, &spec), 0);
	send_async(&c, n, &b);
	assert_int_equal(c.done_rc, 0);
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	run_idle(&c);
	assert_int_equal(c.nforeign, 0);

	/* another table: not ours */
	assert_int_equal(run(NULL, "nft add table ip other && nft add chain ip other c"), 0);
	run_idle(&c);
	assert_int_equal(c.nforeign, 0);

	/* flush ruleset: one foreign transaction, one call */
	assert_int_equal(run(NULL, "nft flush ruleset"), 0);
	run_until(&c, &c.nforeign, 1);
	run_idle(&c);
	assert_int_equal(c.nforeign, 1);

	/* restored by us: quiet; an element changed by someone else: noticed */
	assert_int_equal(replace_sync(n, &spec, NULL), 0);
	run_idle(&c);
	assert_int_equal(c.nforeign, 1);
	assert_int_equal(run(NULL, "nft add element inet homegw forwards '{ tcp . 9 : 10.0.0.9 . 9 }'"), 0);
	run_until(&c, &c.nforeign, 2);
	assert_int_equal(run(NULL, "nft delete table inet homegw"), 0);
	run_until(&c, &c.nforeign, 3);
	run_idle(&c);
	assert_int_equal(c.nforeign, 3);
	close_nft(&c, n);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *nft_text_10k(const struct nat_config *nc)
{
	size_t cap = nc->nforwards * 64 + 4096, off = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	off += (size_t)snprintf(
		text + off, cap - off,
		"table inet homegw\ndelete table inet homegw\n"
		"table inet homegw {\n set wan_addrs { type ipv4_addr; }\n"
		" set lan_nets { type ipv4_addr; flags interval; }\n set masq_ifs { type ifname; "
		"elements = { \"wan0\" }; }\n set open { type inet_proto . inet_service; }\n"
		" map forwards { type inet_proto . inet_service : ipv4_addr . inet_service; elements = {");
	for (size_t i = 0; i < nc->nforwards; i++) {
		const struct nat_forward *f = &nc->forwards[i];
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &f->to, a, sizeof(a));
		off += (size_t)snprintf(text + off, cap - off, "%s%s . %u : %s . %u", i ? ", " : " ",
					f->proto == NAT_TCP ? "tcp" : "udp", f->first, a, f->to_port);
	}
	snprintf(text + off, cap - off,
		 " }; }\n map pcp { type inet_proto . inet_service : ipv4_addr . inet_service;"
		 " flags timeout; }\n%s}\n",
		 REF_CHAINS);
	return text;
}

static double min3(const double v[3])
{
	double m = v[0] < v[1] ? v[0] : v[1];
	return m < v[2] ? m : v[2];
}

/* 10,000 forwards in one transaction, timed (printed, not asserted)
 * against nft -f of the same table, three rounds each, alternating (each
 * replaces the other's table); the two tables are listed identically. */
static void test_kernel_10k_forwards(void **state)
{
	NEED_NETNS();
	struct loop_ctx c;
	struct nat_nft *n = open_nft(&c);
	struct nat_forward *f;
	struct nat_config nc = big_config(10000, &f);
	struct nat_nft_spec spec = {.nc = &nc};
	char *text = nft_text_10k(&nc), *path = tmpfile_with(text);
	double ours[3], build[3], theirs[3];
	struct nat_nft_batch b;
	size_t len = 0;

	for (int r = 0; r < 3; r++) {
		double t0 = now_ms(), t1, t2;
		nat_nft_batch_init(&b, 1);
		assert_int_equal(nat_nft_build_replace(&b, &spec), 0);
		assert_int_equal(nat_nft_batch_end(&b), 0);
		len = b.len;
		t1 = now_ms();
		assert_int_equal(nat_nft_send_sync(n, &b, NULL), 0);
		t2 = now_ms();
		build[r] = t1 - t0;
		ours[r] = t2 - t0;
		char *mine = r == 0 ? listing() : NULL;
		t0 = now_ms();
		assert_int_equal(run(NULL, "nft -f %s", path), 0);
		theirs[r] = now_ms() - t0;
		if (mine) {
			char *ref = listing();
			assert_int_equal(strlen(mine), strlen(ref));
			assert_true(strcmp(mine, ref) == 0); /* not printed: 10,000 lines */
			assert_non_null(strstr(mine, "tcp . 10000 : 10.0.0.2 . 80,"));
			assert_non_null(strstr(mine, "udp . 14999 : 10.0.39.17 . 80"));
			free(ref);
			free(mine);
		}
	}
	print_message("10,000 forwards (%zu-byte batch), one transaction, build + kernel: %.1f ms "
		      "(build %.1f; rounds %.1f/%.1f/%.1f); nft -f of the same table: %.1f ms "
		      "(rounds %.1f/%.1f/%.1f)\n",
		      len, min3(ours), min3(build), ours[0], ours[1], ours[2], min3(theirs), theirs[0],
		      theirs[1], theirs[2]);
	unlink(path);
	free(path);
	free(text);
	free(f);
	close_nft(&c, n);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_replace_framing),
		cmocka_unit_test(test_replace_without_firewall_hairpin),
		cmocka_unit_test(test_replace_chains),
		cmocka_unit_test(test_replace_sets),
		cmocka_unit_test(test_replace_rules),
		cmocka_unit_test(test_replace_elements),
		cmocka_unit_test(test_replace_edges),
		cmocka_unit_test(test_replace_bad_input),
		cmocka_unit_test(test_batch_misuse),
		cmocka_unit_test(test_forward_diff),
		cmocka_unit_test(test_live_sets),
		cmocka_unit_test(test_pcp_build),
		cmocka_unit_test(test_big_replace),
		cmocka_unit_test(test_all_ports_replace),
	};
	const struct CMUnitTest kernel[] = {
		cmocka_unit_test(test_kernel_replace_is_the_ruleset),
		cmocka_unit_test(test_kernel_async_and_errors),
		cmocka_unit_test(test_kernel_pcp_dump),
		cmocka_unit_test(test_kernel_live_sets_and_counters),
		cmocka_unit_test(test_kernel_foreign),
		cmocka_unit_test(test_kernel_10k_forwards),
	};
	int failed = cmocka_run_group_tests_name("nat_nft pure", pure, NULL, NULL);

	return failed + cmocka_run_group_tests_name("nat_nft kernel (own network namespace)", kernel,
						    kernel_setup, NULL);
}
