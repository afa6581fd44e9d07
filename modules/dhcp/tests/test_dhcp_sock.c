/* test_dhcp_sock.c — the DHCP sockets against the real kernel, in a
 * network namespace of the test's own (unshare(CLONE_NEWNET)) with a veth
 * pair a <-> b: what is sent on a arrives on b. The kernel is the judge of
 * the datagrams we build: it drops an IPv4 or UDP header with a wrong
 * checksum before any socket sees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dhcp_sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the pure part ---- */

static uint16_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_build_checksums(void **st)
{
	uint8_t out[600], payload[301];
	struct in_addr src, dst;
	size_t n;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	inet_pton(AF_INET, "100.64.0.1", &src);
	inet_pton(AF_INET, "100.64.0.77", &dst);
	n = dhcp_build_ipv4_udp(out, sizeof(out), 0x1234, src, 67, dst, 68, payload, sizeof(payload));
	assert_int_equal(n, 20 + 8 + sizeof(payload));
	/* a correct header sums to all ones */
	assert_int_equal(sum16(out, 20, 0), 0xffff);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(out[9], IPPROTO_UDP);
	assert_int_equal((out[2] << 8) | out[3], n);
	assert_memory_equal(out + 12, &src.s_addr, 4);
	assert_memory_equal(out + 16, &dst.s_addr, 4);
	/* UDP: ports, length, and the pseudo-header checksum (odd payload length) */
	assert_int_equal((out[20] << 8) | out[21], 67);
	assert_int_equal((out[22] << 8) | out[23], 68);
	assert_int_equal((out[24] << 8) | out[25], 8 + sizeof(payload));
	uint8_t pseudo[12];
	memcpy(pseudo, &src.s_addr, 4);
	memcpy(pseudo + 4, &dst.s_addr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = 0;
	pseudo[11] = (uint8_t)(8 + sizeof(payload));
	pseudo[10] = (uint8_t)((8 + sizeof(payload)) >> 8);
	uint32_t s = sum16(pseudo, sizeof(pseudo), 0);
	assert_int_equal(sum16(out + 20, 8 + sizeof(payload), s), 0xffff);
	assert_memory_equal(out + 28, payload, sizeof(payload));

	/* does not fit: 0, nothing claimed */
	assert_int_equal(dhcp_build_ipv4_udp(out, 20 + 8 + 10, 1, src, 67, dst, 68, payload, 11), 0);
}

/* ---- against the kernel ---- */

static int ifindex_a, ifindex_b;
static uint8_t mac_b[6];
static char skip_reason[128];

static int get_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc < 0)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static int setup_netns(void **st)
{
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(skip_reason, sizeof(skip_reason), "unshare(CLONE_NEWNET): %s (needs root)",
			 strerror(errno));
		return 0;
	}
	if (system("ip link set lo up && ip link add hgt-a type veth peer name hgt-b && "
		   "ip addr add 100.64.0.1/24 dev hgt-a && ip addr add 100.64.0.2/24 dev hgt-b && "
		   "ip link set hgt-a up && ip link set hgt-b up && "
		   /* both ends are ours: let b accept a source address that is local */
		   "sysctl -qw net.ipv4.conf.hgt-b.accept_local=1 net.ipv4.conf.all.rp_filter=0 "
		   "net.ipv4.conf.hgt-b.rp_filter=0") != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "cannot create the veth pair with ip(8)");
		return 0;
	}
	ifindex_a = (int)if_nametoindex("hgt-a");
	ifindex_b = (int)if_nametoindex("hgt-b");
	if (get_mac("hgt-b", mac_b) < 0)
		snprintf(skip_reason, sizeof(skip_reason), "SIOCGIFHWADDR failed");
	return 0;
}

/* Not a skip: the test command runs as root, and a kernel test that did
 * not run must not read as a pass. */
#define REQUIRE_NETNS()                                                    \
	do {                                                               \
		if (skip_reason[0])                                        \
			fail_msg("cannot test against the kernel: %s", skip_reason); \
	} while (0)

struct got {
	int count;
	uint8_t buf[1500];
	size_t len;
	struct dhcp_rx rx;
};

static void on_recv(void *data, const uint8_t *buf, size_t len, const struct dhcp_rx *rx)
{
	struct got *g = data;
	g->count++;
	memcpy(g->buf, buf, len < sizeof(g->buf) ? len : sizeof(g->buf));
	g->len = len;
	g->rx = *rx;
}

static void run_until(uv_loop_t *loop, const int *count, int want)
{
	for (int i = 0; i < 2000 && *count < want; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		if (*count < want)
			usleep(1000);
	}
}

static int udp_listener(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static ssize_t recv_wait(int fd, void *buf, size_t cap, int *ifindex)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char ctl[64];
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	ssize_t n;

	if (poll(&p, 1, 2000) != 1)
		return -1;
	n = recvmsg(fd, &mh, 0);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); ifindex && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
			*ifindex = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_ifindex;
	return n;
}

/* A client without an address: the reply goes to yiaddr at chaddr without
 * ARP. The kernel on b accepts it only if every checksum is right. */
static void test_send_link_unicast(void **st)
{
	REQUIRE_NETNS();
	uv_loop_t loop;
	struct dhcp_sock *s = calloc(1, sizeof(*s));
	struct got g = {0};
	struct in_addr src, dst;
	char buf[600];
	int fd, ifindex = 0;

	uv_loop_init(&loop);
	assert_int_equal(dhcp_sock_open(s, &loop, 10067, on_recv, &g), 0);
	fd = udp_listener(10068);
	inet_pton(AF_INET, "100.64.0.1", &src);
	inet_pton(AF_INET, "100.64.0.2", &dst);
	for (int len = 300; len <= 301; len++) { /* even and odd payloads */
		memset(buf, len & 0xff, sizeof(buf));
		assert_int_equal(dhcp_sock_send_link(s, ifindex_a, mac_b, src, 10067, dst, 10068, buf, (size_t)len), 0);
		char in[700];
		ssize_t n = recv_wait(fd, in, sizeof(in), &ifindex);
		assert_int_equal(n, len);
		assert_memory_equal(in, buf, (size_t)len);
		assert_int_equal(ifindex, ifindex_b); /* it crossed the link */
	}
	close(fd);
	dhcp_sock_close(s, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(s);
}

/* A client's broadcast arriving on a link: the socket reports that link. */
static void test_receive_broadcast_with_ifindex(void **st)
{
	REQUIRE_NETNS();
	uv_loop_t loop;
	struct dhcp_sock *s = calloc(1, sizeof(*s));
	struct got g = {0};
	struct in_addr zero = {0}, bcast = {.s_addr = INADDR_BROADCAST};
	static const uint8_t all_ones[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const char msg[] = "a DISCOVER, say";

	uv_loop_init(&loop);
	assert_int_equal(dhcp_sock_open(s, &loop, 10067, on_recv, &g), 0);
	/* as a client does: from 0.0.0.0:68 to 255.255.255.255:67, out of a */
	assert_int_equal(dhcp_sock_send_link(s, ifindex_a, all_ones, zero, 10068, bcast, 10067, msg, sizeof(msg)), 0);
	run_until(&loop, &g.count, 1);
	assert_int_equal(g.count, 1);
	assert_int_equal(g.len, sizeof(msg));
	assert_memory_equal(g.buf, msg, sizeof(msg));
	assert_int_equal(g.rx.ifindex, ifindex_b);
	assert_int_equal(g.rx.dst.s_addr, INADDR_BROADCAST);
	assert_int_equal(g.rx.src.s_addr, 0);
	assert_int_equal(g.rx.sport, 10068);
	assert_false(g.rx.truncated);
	dhcp_sock_close(s, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(s);
}

/* A broadcast reply pinned to a link leaves by that link and no other:
 * watched from the far end with a packet socket on b. */
static void test_send_udp_broadcast_pinned(void **st)
{
	REQUIRE_NETNS();
	uv_loop_t loop;
	struct dhcp_sock *s = calloc(1, sizeof(*s));
	struct got g = {0};
	struct in_addr src, bcast = {.s_addr = INADDR_BROADCAST};
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = 0};
	const char msg[] = "an OFFER, broadcast";
	uint8_t frame[1500];
	int pfd;
	bool seen = false;

	ll.sll_ifindex = ifindex_b;
	pfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IP));
	assert_true(pfd >= 0);
	assert_int_equal(bind(pfd, (struct sockaddr *)&ll, sizeof(ll)), 0);
	uv_loop_init(&loop);
	assert_int_equal(dhcp_sock_open(s, &loop, 10067, on_recv, &g), 0);
	inet_pton(AF_INET, "100.64.0.1", &src);
	assert_int_equal(dhcp_sock_send_udp(s, ifindex_a, src, bcast, 10068, msg, sizeof(msg)), 0);
	for (int i = 0; i < 20 && !seen; i++) {
		ssize_t n = recv_wait(pfd, frame, sizeof(frame), NULL);
		if (n < 28)
			break;
		/* IPv4 to 255.255.255.255, UDP to 10068, our payload */
		if (memcmp(frame + 16, &bcast.s_addr, 4) == 0 && ((frame[22] << 8) | frame[23]) == 10068 &&
		    memcmp(frame + 28, msg, sizeof(msg)) == 0)
			seen = true;
	}
	assert_true(seen);
	assert_int_equal(s->stats.sent, 1);
	close(pfd);
	dhcp_sock_close(s, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_checksums),
		cmocka_unit_test(test_send_link_unicast),
		cmocka_unit_test(test_receive_broadcast_with_ifindex),
		cmocka_unit_test(test_send_udp_broadcast_pinned),
	};
	return cmocka_run_group_tests(tests, setup_netns, NULL);
}
