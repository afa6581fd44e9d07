/* test_nat_ct.c — conntrack over ctnetlink.
 *
 * The parser is driven with messages built here with libmnl: every field
 * of TCP, UDP and ICMP entries, IPv6 skipped, and the malformed ones
 * (truncated at every byte, wrong attribute lengths, garbage in nests).
 * The view of a flow for SNAT, DNAT, both and none.
 *
 * The kernel part runs in a network namespace of its own (unshare at
 * start): entries made with the conntrack CLI are dumped on a real loop
 * and checked field by field, a filtered subset deleted and the rest
 * checked with `conntrack -L`; a dump is cancelled half-way; and 50,000
 * entries (made here with batched IPCTNL_MSG_CT_NEW, the CLI is far too
 * slow) are dumped while the loop's longest turn is measured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nat_ct.h"

static bool netns_ok;
static char netns_why[128];

/* ---- building messages ---- */

struct tup {
	const char *src, *dst;
	uint8_t proto;
	int sport, dport; /* -1: attribute left out */
	int icmp_id, icmp_type, icmp_code;
};

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct nlmsghdr *put_msg(void *buf, uint8_t type, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct tup *t)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, type);
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, ip(t->src).s_addr);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, ip(t->dst).s_addr);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	if (t->sport >= 0)
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons((uint16_t)t->sport));
	if (t->dport >= 0)
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons((uint16_t)t->dport));
	if (t->icmp_id >= 0)
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons((uint16_t)t->icmp_id));
	if (t->icmp_type >= 0)
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, (uint8_t)t->icmp_type);
	if (t->icmp_code >= 0)
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, (uint8_t)t->icmp_code);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
}

static void put_tcp_state(struct nlmsghdr *nlh, uint8_t state)
{
	struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	uint8_t flags[2] = {0x0b, 0x0b};

	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, state);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(flags), flags);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, pi);
}

/* The masqueraded TCP flow of CONTROL.md's example, all attributes in the
 * kernel's order; BOUNDS gets the offset after each top-level attribute. */
static const struct tup tcp_orig = {"192.168.1.20", "198.51.100.7", 6, 51514, 443, -1, -1, -1};
static const struct tup tcp_reply = {"198.51.100.7", "203.0.113.2", 6, 443, 61000, -1, -1, -1};

static struct nlmsghdr *build_tcp(void *buf, size_t *bounds, size_t *nbounds)
{
	struct nlmsghdr *nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	size_t n = 0;

#define MARK_BOUND()                                \
	do {                                        \
		if (bounds)                         \
			bounds[n] = nlh->nlmsg_len; \
		n++;                                \
	} while (0)
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	MARK_BOUND();
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	MARK_BOUND();
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED | IPS_SRC_NAT));
	MARK_BOUND();
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(431990));
	MARK_BOUND();
	put_tcp_state(nlh, TCP_CONNTRACK_ESTABLISHED);
	MARK_BOUND();
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(0x2a));
	MARK_BOUND();
	mnl_attr_put_u32(nlh, CTA_ID, htonl(0xdeadbeef));
	MARK_BOUND();
#undef MARK_BOUND
	if (nbounds)
		*nbounds = n;
	return nlh;
}

static uint32_t buf_[2048];
static uint8_t *const buf = (uint8_t *)buf_;

static int parse(const struct nlmsghdr *nlh, struct nat_flow *f)
{
	return nat_ct_parse(nlh, nlh->nlmsg_len, f);
}

/* ---- parsing ---- */

static void test_parse_tcp(void **state)
{
	struct nlmsghdr *nlh = build_tcp(buf, NULL, NULL);
	struct nat_flow f;

	memset(&f, 0xa5, sizeof(f));
	assert_int_equal(parse(nlh, &f), 0);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.orig_src.s_addr, ip("192.168.1.20").s_addr);
	assert_int_equal(f.orig_dst.s_addr, ip("198.51.100.7").s_addr);
	assert_int_equal(f.reply_src.s_addr, ip("198.51.100.7").s_addr);
	assert_int_equal(f.reply_dst.s_addr, ip("203.0.113.2").s_addr);
	assert_int_equal(f.orig_sport, 51514);
	assert_int_equal(f.orig_dport, 443);
	assert_int_equal(f.reply_sport, 443);
	assert_int_equal(f.reply_dport, 61000);
	assert_int_equal(f.status, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED | IPS_SRC_NAT);
	assert_int_equal(f.timeout, 431990);
	assert_int_equal(f.tcp_state, TCP_CONNTRACK_ESTABLISHED);
	assert_string_equal(nat_ct_tcp_state(f.tcp_state), "ESTABLISHED");
	assert_int_equal(f.mark, 0x2a);
	assert_int_equal(f.id, 0xdeadbeef);
	assert_int_equal(f.icmp_type, 0);
	assert_int_equal(f.icmp_code, 0);
	/* a longer buffer than the message is fine: the message says its length */
	assert_int_equal(nat_ct_parse(nlh, sizeof(buf_), &f), 0);
}

static void test_parse_udp(void **state)
{
	struct tup o = {"192.168.1.20", "198.51.100.53", 17, 5353, 53, -1, -1, -1};
	struct tup r = {"198.51.100.53", "203.0.113.2", 17, 53, 5353, -1, -1, -1};
	struct nlmsghdr *nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	struct nat_flow f;

	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_CONFIRMED | IPS_SRC_NAT));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(29));
	/* a TCP protoinfo on UDP would be the kernel's bug: no state shown */
	put_tcp_state(nlh, TCP_CONNTRACK_ESTABLISHED);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(7));
	assert_int_equal(parse(nlh, &f), 0);
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.orig_sport, 5353);
	assert_int_equal(f.orig_dport, 53);
	assert_int_equal(f.reply_sport, 53);
	assert_int_equal(f.reply_dport, 5353);
	assert_int_equal(f.reply_dst.s_addr, ip("203.0.113.2").s_addr);
	assert_int_equal(f.timeout, 29);
	assert_int_equal(f.tcp_state, 0);
	assert_string_equal(nat_ct_tcp_state(f.tcp_state), "");
	assert_int_equal(f.mark, 0); /* absent */
	assert_int_equal(f.id, 7);
}

static void test_parse_icmp(void **state)
{
	struct tup o = {"192.168.1.20", "198.51.100.7", 1, -1, -1, 77, 8, 0};
	struct tup r = {"198.51.100.7", "203.0.113.2", 1, -1, -1, 1077, 0, 0};
	struct nlmsghdr *nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	struct nat_flow f;

	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_SRC_NAT));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(30));
	assert_int_equal(parse(nlh, &f), 0);
	assert_int_equal(f.proto, 1);
	assert_int_equal(f.orig_sport, 77);
	assert_int_equal(f.orig_dport, 77);
	assert_int_equal(f.reply_sport, 1077);
	assert_int_equal(f.reply_dport, 1077);
	assert_int_equal(f.icmp_type, 8);
	assert_int_equal(f.icmp_code, 0);
	assert_int_equal(f.tcp_state, 0);

	/* ICMP without its type is not what the kernel sends */
	o.icmp_type = -1;
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	assert_int_equal(parse(nlh, &f), -EBADMSG);
}

static void test_parse_no_ports(void **state)
{
	struct tup o = {"192.168.1.20", "198.51.100.7", 47, -1, -1, -1, -1, -1};
	struct tup r = {"198.51.100.7", "203.0.113.2", 47, -1, -1, -1, -1, -1};
	struct nlmsghdr *nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	struct nat_flow f;

	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	assert_int_equal(parse(nlh, &f), 0);
	assert_int_equal(f.proto, 47);
	assert_int_equal(f.orig_sport | f.orig_dport | f.reply_sport | f.reply_dport, 0);

	/* one port without the other */
	o.sport = 1;
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	assert_int_equal(parse(nlh, &f), -EBADMSG);
}

static void test_parse_ipv6_skipped(void **state)
{
	struct nlmsghdr *nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET6);
	struct nlattr *tuple, *nest;
	struct in6_addr a6;
	struct nat_flow f;

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &a6), 1);
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, CTA_IP_V6_SRC, sizeof(a6), &a6);
	mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof(a6), &a6);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 17);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
	assert_int_equal(parse(nlh, &f), -ENOENT);

	/* the same tuple under an AF_INET header: still not IPv4 */
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family = AF_INET;
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_REPLY);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, CTA_IP_V6_SRC, sizeof(a6), &a6);
	mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof(a6), &a6);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 17);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
	assert_int_equal(parse(nlh, &f), -ENOENT);

	/* other messages: not an entry */
	nlh = build_tcp(buf, NULL, NULL);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	assert_int_equal(parse(nlh, &f), -ENOENT);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_CT_NEW;
	assert_int_equal(parse(nlh, &f), -ENOENT);
	nlh->nlmsg_type = NLMSG_DONE;
	assert_int_equal(parse(nlh, &f), -ENOENT);
}

/* Cut the message at every length: only cuts at a top-level attribute
 * boundary after both tuples leave a valid (shorter) entry. */
static void test_parse_truncated(void **state)
{
	static uint32_t cut_[2048];
	uint8_t *cut = (uint8_t *)cut_;
	size_t bounds[16], nb, full;
	struct nlmsghdr *nlh = build_tcp(buf, bounds, &nb);
	struct nat_flow f;

	full = nlh->nlmsg_len;
	assert_int_equal(bounds[nb - 1], full);
	for (size_t n = 0; n < full; n++) {
		bool valid = false;
		int rc;

		/* the caller's buffer shorter than the message says */
		assert_int_equal(nat_ct_parse(nlh, n, &f), -EBADMSG);
		/* the message saying it is shorter */
		memcpy(cut, buf, full);
		((struct nlmsghdr *)cut)->nlmsg_len = (uint32_t)n;
		for (size_t i = 1; i < nb; i++)
			valid |= n == bounds[i];
		rc = nat_ct_parse((struct nlmsghdr *)cut, n, &f);
		if (rc != (valid ? 0 : -EBADMSG))
			fail_msg("cut at %zu of %zu: %d", n, full, rc);
	}
	/* cut after the reply tuple: what is missing reads as 0 */
	memcpy(cut, buf, full);
	((struct nlmsghdr *)cut)->nlmsg_len = (uint32_t)bounds[1];
	assert_int_equal(nat_ct_parse((struct nlmsghdr *)cut, bounds[1], &f), 0);
	assert_int_equal(f.status | f.timeout | f.id | f.mark | f.tcp_state, 0);
	assert_int_equal(f.reply_dport, 61000);
}

/* A message with orig and reply as given by PUT_ORIG, then nothing. */
static struct nlmsghdr *with_orig(void (*put_orig)(struct nlmsghdr *))
{
	struct nlmsghdr *nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);

	put_orig(nlh);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	return nlh;
}

static void orig_short_v4(struct nlmsghdr *nlh)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG),
		      *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put(nlh, CTA_IP_V4_SRC, 3, "\xc0\xa8\x01");
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, 0);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static void orig_long_port(struct nlmsghdr *nlh)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG),
		      *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, 0);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, 0);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 6);
	mnl_attr_put_u32(nlh, CTA_PROTO_SRC_PORT, 80); /* 4 bytes for a u16 */
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, 80);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static void orig_wide_proto(struct nlmsghdr *nlh)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG),
		      *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, 0);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, 0);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u16(nlh, CTA_PROTO_NUM, 6); /* 2 bytes for a u8 */
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static void orig_no_dst(struct nlmsghdr *nlh)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG),
		      *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, 0);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 6);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static void orig_twice_src(struct nlmsghdr *nlh)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG),
		      *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, 0);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, 1);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, 0);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 6);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static void orig_udp(struct nlmsghdr *nlh)
{
	struct tup o = tcp_orig;

	o.proto = 17;
	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
}

static void test_parse_bad_lengths(void **state)
{
	struct nlmsghdr *nlh;
	struct nat_flow f;

	assert_int_equal(parse(with_orig(orig_short_v4), &f), -EBADMSG);
	assert_int_equal(parse(with_orig(orig_long_port), &f), -EBADMSG);
	assert_int_equal(parse(with_orig(orig_wide_proto), &f), -EBADMSG);
	assert_int_equal(parse(with_orig(orig_no_dst), &f), -EBADMSG);
	assert_int_equal(parse(with_orig(orig_twice_src), &f), -EBADMSG);
	assert_int_equal(parse(with_orig(orig_udp), &f), -EBADMSG); /* orig UDP, reply TCP */

	/* top-level u32s of the wrong size */
	nlh = build_tcp(buf, NULL, NULL);
	mnl_attr_put_u16(nlh, CTA_STATUS, 1);
	assert_int_equal(parse(nlh, &f), -EBADMSG); /* and a second status, too */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	mnl_attr_put_u64(nlh, CTA_TIMEOUT, 1);
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	mnl_attr_put(nlh, CTA_ID, 0, NULL);
	assert_int_equal(parse(nlh, &f), -EBADMSG);

	/* the first attribute's length below a header, and beyond the message */
	nlh = build_tcp(buf, NULL, NULL);
	((struct nlattr *)((uint8_t *)nlh + MNL_NLMSG_HDRLEN + 4))->nla_len = 3;
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	nlh = build_tcp(buf, NULL, NULL);
	((struct nlattr *)((uint8_t *)nlh + MNL_NLMSG_HDRLEN + 4))->nla_len = 0xfff0;
	assert_int_equal(parse(nlh, &f), -EBADMSG);

	/* the message header: shorter than itself, no room for nfgenmsg */
	nlh = build_tcp(buf, NULL, NULL);
	nlh->nlmsg_len = 8;
	assert_int_equal(nat_ct_parse(nlh, 8, &f), -EBADMSG);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	assert_int_equal(nat_ct_parse(nlh, MNL_NLMSG_HDRLEN + 2, &f), -EBADMSG);

	/* a TCP state that is two bytes */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	{
		struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);

		mnl_attr_put_u16(nlh, CTA_PROTOINFO_TCP_STATE, 3);
		mnl_attr_nest_end(nlh, tcp);
		mnl_attr_nest_end(nlh, pi);
	}
	assert_int_equal(parse(nlh, &f), -EBADMSG);
}

static void test_parse_nested_garbage(void **state)
{
	struct nlmsghdr *nlh;
	struct nat_flow f;

	/* an orig tuple whose inside is not attributes */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, 6, "\x0c\x00\x01\x00\xff\xff");
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	/* a nest of 2 bytes */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	mnl_attr_put(nlh, CTA_TUPLE_REPLY | NLA_F_NESTED, 2, "\x01\x02");
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	/* an empty nest: no addresses */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	mnl_attr_put(nlh, CTA_TUPLE_REPLY, 0, NULL);
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	/* garbage deep inside protoinfo */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp_reply);
	{
		struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);

		/* the state, then an attribute of 12 bytes in the 4 left */
		mnl_attr_put(nlh, CTA_PROTOINFO_TCP, 12, "\x05\x00\x01\x00\x03\x00\x00\x00\x0c\x00\x02\x00");
		mnl_attr_nest_end(nlh, pi);
	}
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	/* the reply tuple missing */
	nlh = put_msg(buf, IPCTNL_MSG_CT_NEW, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp_orig);
	mnl_attr_put_u32(nlh, CTA_STATUS, 0);
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	/* trailing bytes after the last attribute that are not one */
	nlh = build_tcp(buf, NULL, NULL);
	memcpy((uint8_t *)nlh + nlh->nlmsg_len, "\x02\x00\x00\x00", 4);
	nlh->nlmsg_len += 4;
	assert_int_equal(parse(nlh, &f), -EBADMSG);
	nlh = build_tcp(buf, NULL, NULL);
	nlh->nlmsg_len += 2;
	assert_int_equal(parse(nlh, &f), -EBADMSG);

	/* unknown attributes, nested or not, are skipped when well-formed */
	nlh = build_tcp(buf, NULL, NULL);
	{
		struct nlattr *c = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);

		mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, 12);
		mnl_attr_nest_end(nlh, c);
	}
	mnl_attr_put_u32(nlh, 200, 1);
	mnl_attr_put(nlh, CTA_HELP, 3, "ftp");
	assert_int_equal(parse(nlh, &f), 0);
	assert_int_equal(f.id, 0xdeadbeef);
}

static void test_tcp_state_names(void **state)
{
	assert_string_equal(nat_ct_tcp_state(TCP_CONNTRACK_SYN_SENT), "SYN_SENT");
	assert_string_equal(nat_ct_tcp_state(TCP_CONNTRACK_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(nat_ct_tcp_state(TCP_CONNTRACK_CLOSE), "CLOSE");
	assert_string_equal(nat_ct_tcp_state(TCP_CONNTRACK_SYN_SENT2), "SYN_SENT2");
	assert_string_equal(nat_ct_tcp_state(0), "");
	assert_string_equal(nat_ct_tcp_state(200), "UNKNOWN");
}

/* ---- the view ---- */

static struct nat_flow flow(const char *os, uint16_t osp, const char *od, uint16_t odp, const char *rs,
			    uint16_t rsp, const char *rd, uint16_t rdp, uint32_t status)
{
	struct nat_flow f = {.proto = 6, .status = status};

	f.orig_src = ip(os);
	f.orig_dst = ip(od);
	f.reply_src = ip(rs);
	f.reply_dst = ip(rd);
	f.orig_sport = osp;
	f.orig_dport = odp;
	f.reply_sport = rsp;
	f.reply_dport = rdp;
	return f;
}

static void check_view(const struct nat_flow *f, const char *in, uint16_t inp, const char *out, uint16_t outp,
		       const char *peer, uint16_t peerp)
{
	struct in_addr a, b, c;
	uint16_t ap, bp, cp;

	assert_true(nat_flow_view(f, &a, &ap, &b, &bp, &c, &cp));
	assert_int_equal(a.s_addr, ip(in).s_addr);
	assert_int_equal(ap, inp);
	assert_int_equal(b.s_addr, ip(out).s_addr);
	assert_int_equal(bp, outp);
	assert_int_equal(c.s_addr, ip(peer).s_addr);
	assert_int_equal(cp, peerp);
}

static void test_view(void **state)
{
	/* masquerade: 192.168.1.20:51514 goes out as 203.0.113.2:61000 */
	struct nat_flow snat = flow("192.168.1.20", 51514, "198.51.100.7", 443, "198.51.100.7", 443,
				    "203.0.113.2", 61000, IPS_SRC_NAT | IPS_CONFIRMED);
	/* a forward: 203.0.113.2:8080 goes to 192.168.1.30:80 */
	struct nat_flow dnat = flow("198.51.100.7", 1234, "203.0.113.2", 8080, "192.168.1.30", 80,
				    "198.51.100.7", 1234, IPS_DST_NAT);
	/* hairpin: a LAN host reaches the forward through the WAN address,
	 * and is source-NATed back through the router */
	struct nat_flow both = flow("192.168.1.20", 40000, "203.0.113.2", 8080, "192.168.1.30", 80,
				    "192.168.1.1", 40000, IPS_DST_NAT | IPS_SRC_NAT);
	struct nat_flow none = flow("198.51.100.2", 40000, "203.0.113.9", 80, "203.0.113.9", 80,
				    "198.51.100.2", 40000, IPS_CONFIRMED | IPS_SEEN_REPLY);
	struct in_addr a;
	uint16_t p;

	check_view(&snat, "192.168.1.20", 51514, "203.0.113.2", 61000, "198.51.100.7", 443);
	check_view(&dnat, "192.168.1.30", 80, "203.0.113.2", 8080, "198.51.100.7", 1234);
	check_view(&both, "192.168.1.30", 80, "203.0.113.2", 8080, "192.168.1.20", 40000);
	assert_false(nat_flow_view(&none, &a, &p, &a, &p, &a, &p));
	/* what the caller does not want it need not ask for */
	assert_true(nat_flow_view(&snat, NULL, NULL, &a, &p, NULL, NULL));
	assert_int_equal(a.s_addr, ip("203.0.113.2").s_addr);
	assert_int_equal(p, 61000);
}

/* ---- the kernel ---- */

#define SKIP_WITHOUT_NETNS()                                                             \
	do {                                                                             \
		if (!netns_ok) {                                                         \
			print_message("SKIPPED: no network namespace: %s\n", netns_why); \
			skip();                                                          \
		}                                                                        \
	} while (0)

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("`%s`: exit %d", cmd, rc);
}

/* The output of CMD, NUL-terminated, in OUT. */
static void sh_out(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define CT "conntrack 2>/dev/null "

struct flows {
	struct nat_flow *v;
	size_t n, cap;
	int rc;
	int dones;
	uv_loop_t *loop;
	struct nat_ct_dump *d;
	size_t cancel_at; /* cancel from inside EACH after this many */
};

static void collect(void *data, const struct nat_flow *f)
{
	struct flows *fl = data;

	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? fl->cap * 2 : 64;
		fl->v = realloc(fl->v, fl->cap * sizeof(*fl->v));
		assert_non_null(fl->v);
	}
	fl->v[fl->n++] = *f;
	if (fl->cancel_at && fl->n == fl->cancel_at)
		nat_ct_dump_cancel(fl->d);
}

static void collected(void *data, int rc)
{
	struct flows *fl = data;

	fl->rc = rc;
	fl->dones++;
}

static void dump_all(struct flows *fl)
{
	uv_loop_t loop;

	memset(fl, 0, sizeof(*fl));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(nat_ct_dump_start(&loop, collect, collected, fl, &fl->d), 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0); /* every handle closed */
	assert_int_equal(fl->dones, 1);
	assert_int_equal(fl->rc, 0);
}

static const struct nat_flow *find(const struct flows *fl, uint8_t proto, uint16_t orig_sport)
{
	for (size_t i = 0; i < fl->n; i++)
		if (fl->v[i].proto == proto && fl->v[i].orig_sport == orig_sport)
			return &fl->v[i];
	fail_msg("no flow proto %u sport %u", proto, orig_sport);
	return NULL;
}

/* The id `conntrack -L` shows for the one flow FILTER selects. */
static uint32_t cli_id(const char *filter)
{
	char cmd[256], out[1024], *p;

	snprintf(cmd, sizeof(cmd), CT "-L %s -o id", filter);
	sh_out(cmd, out, sizeof(out));
	assert_int_equal(count_lines(out), 1);
	p = strrchr(out, '='); /* the last one: ICMP has an id= of its own before */
	assert_non_null(p);
	assert_memory_equal(p - 3, " id=", 4);
	return (uint32_t)strtoul(p + 1, NULL, 10);
}

static void check_tuple(const struct nat_flow *f, const char *os, uint16_t osp, const char *od, uint16_t odp,
			const char *rs, uint16_t rsp, const char *rd, uint16_t rdp)
{
	assert_int_equal(f->orig_src.s_addr, ip(os).s_addr);
	assert_int_equal(f->orig_dst.s_addr, ip(od).s_addr);
	assert_int_equal(f->reply_src.s_addr, ip(rs).s_addr);
	assert_int_equal(f->reply_dst.s_addr, ip(rd).s_addr);
	assert_int_equal(f->orig_sport, osp);
	assert_int_equal(f->orig_dport, odp);
	assert_int_equal(f->reply_sport, rsp);
	assert_int_equal(f->reply_dport, rdp);
}

/* The timeout counts down from when the entry was made: a few seconds of
 * slack for a slow machine, no more. */
static void check_timeout(const struct nat_flow *f, uint32_t set)
{
	if (f->timeout > set || f->timeout + 10 < set)
		fail_msg("timeout %u for %u", f->timeout, set);
}

static void test_kernel_dump(void **state)
{
	struct flows fl;
	const struct nat_flow *f;
	struct in_addr a, b, c;
	uint16_t ap, bp, cp;

	SKIP_WITHOUT_NETNS();
	sh(CT "-F");
	sh(CT "-I -p tcp -s 198.51.100.2 -d 203.0.113.9 --sport 40000 --dport 80 --state ESTABLISHED "
	      "-t 300 -u SEEN_REPLY");
	sh(CT "-I -p udp -s 192.168.1.20 -d 198.51.100.7 --sport 5000 --dport 53 -t 100 "
	      "--src-nat 203.0.113.2:6000");
	sh(CT "-I -p tcp -s 198.51.100.7 -d 203.0.113.2 --sport 1234 --dport 8080 --dst-nat 192.168.1.30:80 "
	      "--state SYN_RECV -t 200 --mark 7");
	sh(CT "-I -p icmp -s 192.168.1.20 -d 198.51.100.7 --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 30 "
	      "--src-nat 203.0.113.2");
	sh(CT "-I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1 --dport 2 -t 50");

	dump_all(&fl);
	assert_int_equal(fl.n, 4); /* not the IPv6 one */

	f = find(&fl, 6, 40000);
	check_tuple(f, "198.51.100.2", 40000, "203.0.113.9", 80, "203.0.113.9", 80, "198.51.100.2", 40000);
	assert_int_equal(f->status & (IPS_SEEN_REPLY | IPS_CONFIRMED | IPS_NAT_MASK),
			 IPS_SEEN_REPLY | IPS_CONFIRMED);
	assert_int_equal(f->tcp_state, TCP_CONNTRACK_ESTABLISHED);
	check_timeout(f, 300);
	assert_int_equal(f->mark, 0);
	assert_int_equal(f->id, cli_id("-p tcp --orig-port-src 40000"));
	assert_false(nat_flow_view(f, &a, &ap, &b, &bp, &c, &cp));

	f = find(&fl, 17, 5000);
	check_tuple(f, "192.168.1.20", 5000, "198.51.100.7", 53, "198.51.100.7", 53, "203.0.113.2", 6000);
	assert_int_equal(f->status & (IPS_SEEN_REPLY | IPS_NAT_MASK), IPS_SRC_NAT);
	assert_int_equal(f->tcp_state, 0);
	check_timeout(f, 100);
	assert_int_equal(f->id, cli_id("-p udp --orig-port-src 5000"));
	assert_true(nat_flow_view(f, &a, &ap, &b, &bp, &c, &cp));
	assert_int_equal(a.s_addr, ip("192.168.1.20").s_addr);
	assert_int_equal(ap, 5000);
	assert_int_equal(b.s_addr, ip("203.0.113.2").s_addr);
	assert_int_equal(bp, 6000);
	assert_int_equal(c.s_addr, ip("198.51.100.7").s_addr);
	assert_int_equal(cp, 53);

	f = find(&fl, 6, 1234);
	check_tuple(f, "198.51.100.7", 1234, "203.0.113.2", 8080, "192.168.1.30", 80, "198.51.100.7", 1234);
	assert_int_equal(f->status & (IPS_SEEN_REPLY | IPS_NAT_MASK), IPS_DST_NAT);
	assert_int_equal(f->tcp_state, TCP_CONNTRACK_SYN_RECV);
	assert_int_equal(f->mark, 7);
	check_timeout(f, 200);
	assert_int_equal(f->id, cli_id("-p tcp --orig-port-src 1234"));
	assert_true(nat_flow_view(f, &a, &ap, &b, &bp, &c, &cp));
	assert_int_equal(a.s_addr, ip("192.168.1.30").s_addr);
	assert_int_equal(ap, 80);
	assert_int_equal(b.s_addr, ip("203.0.113.2").s_addr);
	assert_int_equal(bp, 8080);
	assert_int_equal(c.s_addr, ip("198.51.100.7").s_addr);
	assert_int_equal(cp, 1234);

	f = find(&fl, 1, 77);
	check_tuple(f, "192.168.1.20", 77, "198.51.100.7", 77, "198.51.100.7", 77, "203.0.113.2", 77);
	assert_int_equal(f->icmp_type, 8);
	assert_int_equal(f->icmp_code, 0);
	assert_int_equal(f->status & IPS_NAT_MASK, IPS_SRC_NAT);
	check_timeout(f, 30);
	assert_int_equal(f->id, cli_id("-p icmp"));
	free(fl.v);
}

/* ---- deleting ---- */

struct del {
	size_t deleted;
	int rc;
	int dones;
	size_t matched;
};

static bool match_forward_8080(void *data, const struct nat_flow *f)
{
	struct del *d = data;
	bool m = ((f->status & IPS_DST_NAT) && f->orig_dport == 8080) || f->proto == 1;

	/* the flow dies between the dump and our delete: the kernel says
	 * ENOENT, which is not an error */
	if (m && f->orig_sport == 1111)
		sh(CT "-D -p tcp --orig-port-src 1111 >/dev/null");
	d->matched += m;
	return m;
}

static void deleted(void *data, int rc, size_t n)
{
	struct del *d = data;

	d->rc = rc;
	d->deleted = n;
	d->dones++;
}

static void run_delete(nat_ct_match_fn match, struct del *d)
{
	uv_loop_t loop;
	struct nat_ct_dump *h;

	memset(d, 0, sizeof(*d));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(nat_ct_delete_start(&loop, match, deleted, d, &h), 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(d->dones, 1);
}

static bool match_none(void *data, const struct nat_flow *f)
{
	return false;
}

static void test_kernel_delete(void **state)
{
	char out[4096];
	struct del d;

	SKIP_WITHOUT_NETNS();
	sh(CT "-F");
	/* the forward 203.0.113.2:8080 → 192.168.1.30:80, TCP and UDP */
	sh(CT "-I -p tcp -s 198.51.100.7 -d 203.0.113.2 --sport 1001 --dport 8080 --dst-nat 192.168.1.30:80 "
	      "--state ESTABLISHED -t 200");
	sh(CT "-I -p tcp -s 198.51.100.8 -d 203.0.113.2 --sport 1002 --dport 8080 --dst-nat 192.168.1.30:80 "
	      "--state ESTABLISHED -t 200");
	sh(CT "-I -p udp -s 198.51.100.9 -d 203.0.113.2 --sport 1003 --dport 8080 --dst-nat 192.168.1.30:80 "
	      "-t 200");
	sh(CT "-I -p tcp -s 198.51.100.10 -d 203.0.113.2 --sport 1111 --dport 8080 --dst-nat 192.168.1.30:80 "
	      "--state ESTABLISHED -t 200");
	/* the forward 8081, which stays */
	sh(CT "-I -p tcp -s 198.51.100.7 -d 203.0.113.2 --sport 1004 --dport 8081 --dst-nat 192.168.1.31:81 "
	      "--state ESTABLISHED -t 200");
	/* masquerade, and a flow to 8080 that is not a forward's: both stay */
	sh(CT
	   "-I -p udp -s 192.168.1.20 -d 198.51.100.7 --sport 5000 --dport 53 -t 100 --src-nat 203.0.113.2");
	sh(CT
	   "-I -p tcp -s 198.51.100.2 -d 203.0.113.9 --sport 40000 --dport 8080 --state ESTABLISHED -t 300");
	/* ICMP goes too (the delete names it by id, type and code) */
	sh(CT "-I -p icmp -s 192.168.1.20 -d 198.51.100.7 --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 30 "
	      "--src-nat 203.0.113.2");

	run_delete(match_forward_8080, &d);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.matched, 5);
	assert_int_equal(d.deleted, 4); /* 1111 died meanwhile */

	sh_out(CT "-L", out, sizeof(out));
	assert_int_equal(count_lines(out), 3);
	assert_non_null(strstr(out, "sport=1004 dport=8081"));
	assert_non_null(strstr(out, "sport=5000 dport=53"));
	assert_non_null(strstr(out, "sport=40000 dport=8080"));
	assert_null(strstr(out, "dport=8080 src=192.168.1.30"));
	assert_null(strstr(out, "icmp"));

	run_delete(match_none, &d);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.deleted, 0);
	sh_out(CT "-L", out, sizeof(out));
	assert_int_equal(count_lines(out), 3);
}

/* ---- a generator: IPCTNL_MSG_CT_NEW in batches ---- */

/* Flow I: 10.0.0.0+I:(1024 + I % 60000) → 198.51.100.7:443, established. */
static void put_new(struct nlmsghdr *nlh, uint32_t i)
{
	struct nfgenmsg *nfg;
	char src[INET_ADDRSTRLEN];
	struct in_addr a = {htonl(0x0a000000 + i)};
	uint16_t sport = (uint16_t)(1024 + i % 60000);
	struct tup o = {src, "198.51.100.7", 6, sport, 443, -1, -1, -1};
	struct tup r = {"198.51.100.7", src, 6, 443, sport, -1, -1, -1};

	inet_ntop(AF_INET, &a, src, sizeof(src));
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = i;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(600));
	/* the kernel marks a flow made this way confirmed before it reads our
	 * status, and refuses a status that would clear that bit (EBUSY) */
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED));
	put_tcp_state(nlh, TCP_CONNTRACK_ESTABLISHED);
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (e->error != 0)
		fail_msg("IPCTNL_MSG_CT_NEW seq %u: %s", e->msg.nlmsg_seq, strerror(-e->error));
	(*(size_t *)data)++;
	return MNL_CB_OK;
}

static void generate(uint32_t n)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {[NLMSG_ERROR] = ack_cb};
	static uint32_t sbuf_[16384], rbuf_[16384];
	uint8_t *sbuf = (uint8_t *)sbuf_, *rbuf = (uint8_t *)rbuf_;
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int sz = 8 * 1024 * 1024, one = 1;
	uint32_t i = 0;

	assert_non_null(nl);
	assert_int_equal(setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)), 0);
	assert_int_equal(setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)),
			 0);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	while (i < n) {
		size_t used = 0, sent = 0, acked = 0;

		/* a message is under 256 bytes: fill the buffer short of that */
		while (i < n && used + 256 <= sizeof(sbuf_)) {
			struct nlmsghdr *nlh = mnl_nlmsg_put_header(sbuf + used);

			put_new(nlh, i++);
			used += MNL_ALIGN(nlh->nlmsg_len);
			sent++;
		}
		assert_int_equal(mnl_socket_sendto(nl, sbuf, used), (ssize_t)used);
		while (acked < sent) {
			ssize_t len = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf_));

			assert_true(len > 0);
			assert_true(mnl_cb_run2(rbuf, (size_t)len, 0, 0, NULL, &acked, ctl, NLMSG_MIN_TYPE) >=
				    0);
		}
	}
	mnl_socket_close(nl);
}

static bool match_odd_sport(void *data, const struct nat_flow *f)
{
	return f->orig_sport & 1;
}

static void test_kernel_delete_many(void **state)
{
	char out[64];
	struct del d;

	SKIP_WITHOUT_NETNS();
	sh(CT "-F");
	generate(1000);
	sh_out(CT "-C", out, sizeof(out));
	assert_string_equal(out, "1000\n");
	/* 500 deletes: more than one window of them in flight */
	run_delete(match_odd_sport, &d);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.deleted, 500);
	sh_out(CT "-C", out, sizeof(out));
	assert_string_equal(out, "500\n");
	sh_out(CT "-L -p tcp --orig-port-src 1025", out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_kernel_cancel(void **state)
{
	struct flows fl;
	uv_loop_t loop;

	SKIP_WITHOUT_NETNS();
	sh(CT "-F");
	generate(5000);

	/* from inside EACH, half-way through a datagram */
	memset(&fl, 0, sizeof(fl));
	fl.cancel_at = 10;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(nat_ct_dump_start(&loop, collect, collected, &fl, &fl.d), 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(fl.n, 10);
	assert_int_equal(fl.dones, 0);
	free(fl.v);

	/* before the loop ran at all */
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(nat_ct_dump_start(&loop, collect, collected, &fl, &fl.d), 0);
	nat_ct_dump_cancel(fl.d);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(fl.n, 0);
	assert_int_equal(fl.dones, 0);

	/* and the same table dumps whole */
	dump_all(&fl);
	assert_int_equal(fl.n, 5000);
	free(fl.v);
}

/* ---- 50,000 entries ---- */

#define BENCH_TURNS 65536

struct bench {
	size_t n, wrong;
	int rc, dones;
	uint64_t last_wall, last_cpu;
	uint64_t wall[BENCH_TURNS], cpu[BENCH_TURNS]; /* per loop turn, ns */
	size_t turns;
	uv_check_t check;
};

static void bench_each(void *data, const struct nat_flow *f)
{
	struct bench *b = data;
	uint32_t i = ntohl(f->orig_src.s_addr) - 0x0a000000;

	b->n++;
	if (f->orig_sport != 1024 + i % 60000 || f->orig_dport != 443 ||
	    f->tcp_state != TCP_CONNTRACK_ESTABLISHED || f->reply_dst.s_addr != f->orig_src.s_addr)
		b->wrong++;
}

static void bench_done(void *data, int rc)
{
	struct bench *b = data;

	b->rc = rc;
	b->dones++;
	uv_check_stop(&b->check);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A check handle runs once per loop turn, after the I/O callbacks: the
 * time between two is the longest anything else on the loop (a DHCP or
 * DNS answer) had to wait for the dump. Wall time counts the moments the
 * shared machine gave our CPU to someone else; the thread's CPU time is
 * what the dump itself costs. */
static void bench_turn(uv_check_t *h)
{
	struct bench *b = h->data;
	uint64_t wall = uv_hrtime(), cpu = cpu_ns();

	if (b->last_wall && b->turns < BENCH_TURNS) {
		b->wall[b->turns] = wall - b->last_wall;
		b->cpu[b->turns] = cpu - b->last_cpu;
		b->turns++;
	}
	b->last_wall = wall;
	b->last_cpu = cpu;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median, 99th percentile and largest of V, in ms. */
static void spread(uint64_t *v, size_t n, double out[3])
{
	qsort(v, n, sizeof(*v), cmp_u64);
	out[0] = (double)v[n / 2] / 1e6;
	out[1] = (double)v[n * 99 / 100] / 1e6;
	out[2] = (double)v[n - 1] / 1e6;
}

static void test_kernel_50k(void **state)
{
	const uint32_t n = 50000;
	struct bench *b = calloc(1, sizeof(*b));
	struct nat_ct_dump *h;
	uv_loop_t loop;
	uint64_t t0, t1, t2;
	double wall[3], cpu[3];
	char out[64];

	SKIP_WITHOUT_NETNS();
	assert_non_null(b);
	sh(CT "-F");
	t0 = uv_hrtime();
	generate(n);
	t1 = uv_hrtime();
	sh_out(CT "-C", out, sizeof(out));
	assert_int_equal(strtoul(out, NULL, 10), n);

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(uv_check_init(&loop, &b->check), 0);
	b->check.data = b;
	assert_int_equal(uv_check_start(&b->check, bench_turn), 0);
	t2 = uv_hrtime();
	assert_int_equal(nat_ct_dump_start(&loop, bench_each, bench_done, b, &h), 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	t2 = uv_hrtime() - t2;
	uv_close((uv_handle_t *)&b->check, NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);

	assert_int_equal(b->dones, 1);
	assert_int_equal(b->rc, 0);
	assert_int_equal(b->n, n);
	assert_int_equal(b->wrong, 0);
	assert_true(b->turns > 0);
	spread(b->wall, b->turns, wall);
	spread(b->cpu, b->turns, cpu);
	print_message("nat_ct bench: created %u entries in %.1f ms (%.0f/s, batched IPCTNL_MSG_CT_NEW)\n", n,
		      (double)(t1 - t0) / 1e6, n / ((double)(t1 - t0) / 1e9));
	print_message("nat_ct bench: dumped %zu entries in %.1f ms: %.0f entries/s, %zu loop turns "
		      "(%d messages per callback)\n",
		      b->n, (double)t2 / 1e6, b->n / ((double)t2 / 1e9), b->turns, NAT_CT_PER_CALLBACK);
	print_message("nat_ct bench: loop turn wall ms median %.3f p99 %.3f max %.3f; "
		      "cpu ms median %.3f p99 %.3f max %.3f\n",
		      wall[0], wall[1], wall[2], cpu[0], cpu[1], cpu[2]);
	free(b);
	sh(CT "-F");
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_tcp),	    T(test_parse_udp),
		T(test_parse_icmp),	    T(test_parse_no_ports),
		T(test_parse_ipv6_skipped), T(test_parse_truncated),
		T(test_parse_bad_lengths),  T(test_parse_nested_garbage),
		T(test_tcp_state_names),    T(test_view),
		T(test_kernel_dump),	    T(test_kernel_delete),
		T(test_kernel_delete_many), T(test_kernel_cancel),
		T(test_kernel_50k),
	};

	/* The kernel tests own a network namespace: its conntrack table is
	 * ours alone, and it goes away with the process. */
	if (unshare(CLONE_NEWNET) == 0) {
		netns_ok = true;
	} else if (errno == EPERM) {
		snprintf(netns_why, sizeof(netns_why), "unshare(CLONE_NEWNET): %s (needs root)",
			 strerror(errno));
		fprintf(stderr, "test_nat_ct: kernel tests skipped: %s\n", netns_why);
	} else {
		fprintf(stderr, "test_nat_ct: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
