/* fuzz_nat_ct.c — libFuzzer target: arbitrary bytes as one recv() of
 * ctnetlink messages (a dump datagram). Every message the walk finds goes
 * through nat_ct_parse, both with the rest of the datagram as its bound
 * and with its own length; what parses is shown through nat_flow_view and
 * nat_ct_tcp_state, and must hold to what the parser promises. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ct.h"

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* A datagram is at most 32 KiB from the kernel; the walk is bounded too. */
#define FUZZ_MAX_INPUT (64 * 1024)
#define MAX_MSGS 4096

static uint32_t buf[FUZZ_MAX_INPUT / 4]; /* netlink messages are 4-aligned */

static volatile uint64_t sink;

static void check_flow(const struct nat_flow *f)
{
	struct in_addr in, out, peer;
	uint16_t inp, outp, peerp;
	bool translated = nat_flow_view(f, &in, &inp, &out, &outp, &peer, &peerp);
	const char *state = nat_ct_tcp_state(f->tcp_state);

	CHECK(translated == ((f->status & (NAT_CT_SRC_NAT | NAT_CT_DST_NAT)) != 0));
	CHECK(state != NULL && strlen(state) < 16);
	if (f->proto != 6)
		CHECK(f->tcp_state == 0);
	if (f->proto == 1)
		CHECK(f->orig_sport == f->orig_dport && f->reply_sport == f->reply_dport);
	else
		CHECK(f->icmp_type == 0 && f->icmp_code == 0);
	if (translated) {
		/* every side of the view is one of the flow's own endpoints */
		CHECK(in.s_addr == f->orig_src.s_addr || in.s_addr == f->reply_src.s_addr);
		CHECK(out.s_addr == f->orig_dst.s_addr || out.s_addr == f->reply_dst.s_addr);
		CHECK(peer.s_addr == f->orig_src.s_addr || peer.s_addr == f->orig_dst.s_addr);
		sink += inp + outp + peerp;
	}
	sink += f->timeout + f->id + f->mark + strlen(state);
}

static void one(const struct nlmsghdr *nlh, size_t rest)
{
	struct nat_flow f, g;
	int rc = nat_ct_parse(nlh, rest, &f);

	CHECK(rc == 0 || rc == -ENOENT || rc == -EBADMSG);
	/* the bound is the message's own length: the same answer */
	CHECK(nat_ct_parse(nlh, nlh->nlmsg_len, &g) == rc);
	if (rc < 0)
		return;
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	CHECK(NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK);
	CHECK(NFNL_MSG_TYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_NEW);
	check_flow(&f);
	/* a bound one byte short of the message never parses */
	CHECK(nat_ct_parse(nlh, nlh->nlmsg_len - 1, &g) == -EBADMSG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int len;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memcpy(buf, data, size);
	len = (int)size;
	for (int i = 0; i < MAX_MSGS && mnl_nlmsg_ok(nlh, len); i++) {
		/* mnl_nlmsg_ok compares the length as an int: above 2 GiB it
		 * turns negative and passes; ours is the size_t check */
		if (nlh->nlmsg_len > (size_t)len)
			break;
		one(nlh, (size_t)len);
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	/* and the raw bytes as one message, whatever the walk made of them */
	if (size >= sizeof(struct nlmsghdr)) {
		struct nat_flow f;
		int rc = nat_ct_parse((const struct nlmsghdr *)buf, size, &f);

		CHECK(rc == 0 || rc == -ENOENT || rc == -EBADMSG);
	}
	return 0;
}
