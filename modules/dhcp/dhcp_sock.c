/* dhcp_sock.c — see dhcp_sock.h. */
#include "dhcp_sock.h"

#include "gw.h"
#include "log.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the pure part ---- */

/* RFC 1071 one's-complement sum, continued from SUM. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t dhcp_build_ipv4_udp(uint8_t *out, size_t cap, uint16_t ip_id, struct in_addr src, uint16_t sport,
			   struct in_addr dst, uint16_t dport, const void *payload, size_t len)
{
	const size_t total = 20 + 8 + len;
	struct wire w = wire_writer(out, cap);
	uint8_t pseudo[12];
	uint32_t sum;
	uint16_t c;

	if (total > 0xffff || total > cap)
		return 0;
	/* IPv4 header (RFC 791): version 4, IHL 5 */
	wire_put_u8(&w, 0x45);
	wire_put_u8(&w, 0x10); /* TOS: low delay, as DHCP servers commonly set */
	wire_put_u16(&w, (uint16_t)total);
	wire_put_u16(&w, ip_id);
	wire_put_u16(&w, 0); /* flags + fragment offset */
	wire_put_u8(&w, 64);
	wire_put_u8(&w, IPPROTO_UDP);
	wire_put_u16(&w, 0); /* checksum, below */
	wire_put_bytes(&w, &src.s_addr, 4);
	wire_put_bytes(&w, &dst.s_addr, 4);
	c = csum_fold(csum_add(0, out, 20));
	out[10] = (uint8_t)(c >> 8);
	out[11] = (uint8_t)c;

	/* UDP header (RFC 768), checksum over the pseudo-header */
	wire_put_u16(&w, sport);
	wire_put_u16(&w, dport);
	wire_put_u16(&w, (uint16_t)(8 + len));
	wire_put_u16(&w, 0);
	wire_put_bytes(&w, payload, len);
	if (!wire_ok(&w))
		return 0;
	memcpy(pseudo, &src.s_addr, 4);
	memcpy(pseudo + 4, &dst.s_addr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = (uint8_t)((8 + len) >> 8);
	pseudo[11] = (uint8_t)(8 + len);
	sum = csum_add(0, pseudo, sizeof(pseudo));
	sum = csum_add(sum, out + 20, 8 + len);
	c = csum_fold(sum);
	if (c == 0)
		c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
	out[26] = (uint8_t)(c >> 8);
	out[27] = (uint8_t)c;
	return total;
}

/* ---- receiving ---- */

static void parse_pktinfo(struct msghdr *mh, struct dhcp_rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			rx->ifindex = pi.ipi_ifindex;
			rx->dst = pi.ipi_addr;
		}
	}
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct dhcp_sock *s = container_of(p, struct dhcp_sock, poll);
	struct mmsghdr msgs[DHCP_SOCK_BATCH];
	struct iovec iov[DHCP_SOCK_BATCH];
	struct sockaddr_in from[DHCP_SOCK_BATCH];
	/* aligned control buffers for IP_PKTINFO */
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[DHCP_SOCK_BATCH];

	if (status < 0) {
		gw_warn("dhcp: socket error: %s", uv_strerror(status));
		return;
	}
	/* bounded work per wake-up: a flood cannot starve the rest of the loop */
	for (int round = 0; round < 8; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < DHCP_SOCK_BATCH; i++) {
			iov[i].iov_base = s->bufs[i];
			iov[i].iov_len = DHCP_SOCK_MAX_DGRAM;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		int n = recvmmsg(s->udp_fd, msgs, DHCP_SOCK_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				gw_warn("dhcp: recvmmsg: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct dhcp_rx rx = {0};

			rx.src = from[i].sin_addr;
			rx.sport = ntohs(from[i].sin_port);
			rx.truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
			parse_pktinfo(&msgs[i].msg_hdr, &rx);
			s->stats.received++;
			if (rx.truncated)
				s->stats.truncated++;
			s->on_recv(s->data, s->bufs[i], msgs[i].msg_len, &rx);
		}
		if (n < DHCP_SOCK_BATCH)
			return;
	}
}

/* ---- opening and closing ---- */

static int open_udp(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, fd, rc;
	int rcvbuf = 4 << 20; /* bursts of DISCOVERs after a power cut */

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int dhcp_sock_open(struct dhcp_sock *s, uv_loop_t *loop, uint16_t port, dhcp_sock_recv_fn fn, void *data)
{
	int rc;

	s->on_recv = fn;
	s->data = data;
	s->on_closed = NULL;
	memset(&s->stats, 0, sizeof(s->stats));
	s->udp_fd = open_udp(port);
	if (s->udp_fd < 0)
		return s->udp_fd;
	/* protocol 0: a send-only packet socket, it is handed no frames */
	s->packet_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->packet_fd < 0) {
		rc = -errno;
		close(s->udp_fd);
		return rc;
	}
	rc = uv_poll_init(loop, &s->poll, s->udp_fd);
	if (rc == 0)
		rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
	if (rc < 0) {
		close(s->udp_fd);
		close(s->packet_fd);
		return rc;
	}
	return 0;
}

static void on_poll_closed(uv_handle_t *h)
{
	struct dhcp_sock *s = container_of((uv_poll_t *)h, struct dhcp_sock, poll);

	close(s->udp_fd);
	close(s->packet_fd);
	s->udp_fd = s->packet_fd = -1;
	if (s->on_closed)
		s->on_closed(s);
}

void dhcp_sock_close(struct dhcp_sock *s, void (*on_closed)(struct dhcp_sock *))
{
	s->on_closed = on_closed;
	uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

/* ---- sending ---- */

int dhcp_sock_send_udp(struct dhcp_sock *s, int ifindex, struct in_addr src, struct in_addr dst, uint16_t dport,
		       const void *buf, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dport), .sin_addr = dst};
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1};

	if (ifindex > 0) {
		struct in_pktinfo pi = {.ipi_ifindex = ifindex, .ipi_spec_dst = src};
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	if (sendmsg(s->udp_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		s->stats.send_errors++;
		return -errno;
	}
	s->stats.sent++;
	return 0;
}

int dhcp_sock_send_link(struct dhcp_sock *s, int ifindex, const uint8_t mac[6], struct in_addr src,
			uint16_t sport, struct in_addr dst, uint16_t dport, const void *buf, size_t len)
{
	uint8_t frame[20 + 8 + DHCP_SOCK_MAX_DGRAM];
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
	};
	size_t n;

	n = dhcp_build_ipv4_udp(frame, sizeof(frame), s->ip_id++, src, sport, dst, dport, buf, len);
	if (n == 0)
		return -EMSGSIZE;
	memcpy(ll.sll_addr, mac, 6);
	if (sendto(s->packet_fd, frame, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		s->stats.send_errors++;
		return -errno;
	}
	s->stats.sent++;
	return 0;
}
