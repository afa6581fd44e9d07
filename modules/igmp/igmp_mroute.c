/* igmp_mroute.c — see igmp_mroute.h. */
#include "igmp_mroute.h"

#include "gw.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/mroute.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* An upstream membership: which socket holds GROUP (a socket holds at most
 * net.ipv4.igmp_max_memberships groups). */
struct up_group {
	struct in_addr group;
	int sock; /* index into up_fds */
	int ifindex;
};

struct igmp_mroute {
	uv_loop_t *loop;
	const struct igmp_mroute_ops *ops;
	void *data;
	int fd;
	uv_poll_t poll;
	int vif_ifindex[IGMP_MAX_VIFS]; /* 0: free */
	/* upstream */
	int *up_fds;
	size_t *up_count, nup, per_socket;
	struct up_group *groups;
	size_t ngroups, capgroups;
	struct igmp_mroute_stats st;
	void (*close_cb)(void *data);
	void *close_data;
};

static size_t read_sysctl(const char *path, size_t dflt)
{
	FILE *f = fopen(path, "re");
	unsigned long v;

	if (!f)
		return dflt;
	if (fscanf(f, "%lu", &v) != 1 || v == 0)
		v = dflt;
	fclose(f);
	return v;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct igmp_mroute *m = h->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		uint8_t buf[2048];
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		struct in_pktinfo pi = {0};
		ssize_t n = recvmsg(m->fd, &mh, MSG_DONTWAIT);

		if (n < 0)
			break;
		if (n < (ssize_t)sizeof(struct igmpmsg)) {
			m->st.dropped_short++;
			continue;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		/* an upcall overlays the IP header with a zero protocol byte (im_mbz) */
		if (buf[9] == 0) {
			struct igmpmsg im;

			memcpy(&im, buf, sizeof(im));
			m->st.upcalls++;
			if (im.im_msgtype == IGMPMSG_NOCACHE && m->ops->nocache)
				m->ops->nocache(m->data, im.im_vif | (im.im_vif_hi << 8), im.im_src, im.im_dst);
			continue;
		}
		m->st.packets++;
		m->ops->packet(m->data, buf, (size_t)n, pi.ipi_ifindex);
	}
}

int igmp_mroute_open(uv_loop_t *loop, const struct igmp_mroute_ops *ops, void *data, struct igmp_mroute **out)
{
	struct igmp_mroute *m = calloc(1, sizeof(*m));
	int one = 1, rc;
	unsigned char ttl = 1, loop_off = 0;
	int tos = 0xc0;
	/* RFC 2113 Router Alert, as RFC 2236 2 / RFC 3376 4 ask of IGMP */
	unsigned char ra[4] = {IPOPT_RA, 4, 0, 0};

	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->ops = ops;
	m->data = data;
	m->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_IGMP);
	if (m->fd < 0) {
		rc = -errno;
		free(m);
		return rc;
	}
	if (setsockopt(m->fd, IPPROTO_IP, MRT_INIT, &one, sizeof(one)) < 0 ||
	    setsockopt(m->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(m->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(m->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop_off, sizeof(loop_off)) < 0 ||
	    setsockopt(m->fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0 ||
	    setsockopt(m->fd, IPPROTO_IP, IP_OPTIONS, ra, sizeof(ra)) < 0) {
		rc = -errno;
		close(m->fd);
		free(m);
		return rc;
	}
	m->per_socket = read_sysctl("/proc/sys/net/ipv4/igmp_max_memberships", 20);
	uv_poll_init(loop, &m->poll, m->fd);
	m->poll.data = m;
	uv_poll_start(&m->poll, UV_READABLE, on_readable);
	*out = m;
	return 0;
}

int igmp_mroute_vif_of(const struct igmp_mroute *m, int ifindex)
{
	for (int i = 0; i < IGMP_MAX_VIFS; i++)
		if (m->vif_ifindex[i] == ifindex)
			return i;
	return -1;
}

int igmp_mroute_add_vif(struct igmp_mroute *m, int ifindex)
{
	struct vifctl vc;
	int v = igmp_mroute_vif_of(m, ifindex);

	if (v >= 0)
		return v;
	v = igmp_mroute_vif_of(m, 0);
	if (v < 0)
		return -ENOSPC;
	memset(&vc, 0, sizeof(vc));
	vc.vifc_vifi = (vifi_t)v;
	vc.vifc_flags = VIFF_USE_IFINDEX;
	vc.vifc_threshold = 1;
	vc.vifc_lcl_ifindex = ifindex;
	if (setsockopt(m->fd, IPPROTO_IP, MRT_ADD_VIF, &vc, sizeof(vc)) < 0)
		return -errno;
	m->vif_ifindex[v] = ifindex;
	return v;
}

int igmp_mroute_del_vif(struct igmp_mroute *m, int ifindex)
{
	struct vifctl vc;
	int v = igmp_mroute_vif_of(m, ifindex);

	if (v < 0)
		return -ENOENT;
	memset(&vc, 0, sizeof(vc));
	vc.vifc_vifi = (vifi_t)v;
	m->vif_ifindex[v] = 0;
	/* a device that is gone took its VIF with it: ENODEV/EADDRNOTAVAIL are fine */
	if (setsockopt(m->fd, IPPROTO_IP, MRT_DEL_VIF, &vc, sizeof(vc)) < 0 && errno != EADDRNOTAVAIL)
		return -errno;
	return 0;
}

int igmp_mroute_join_local(struct igmp_mroute *m, int ifindex)
{
	static const uint32_t groups[] = {0xe0000002, 0xe0000016};

	for (size_t i = 0; i < 2; i++) {
		struct ip_mreqn mr = {.imr_multiaddr.s_addr = htonl(groups[i]), .imr_ifindex = ifindex};

		if (setsockopt(m->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 && errno != EADDRINUSE)
			return -errno;
	}
	return 0;
}

int igmp_mroute_set_mfc(struct igmp_mroute *m, struct in_addr source, struct in_addr group, int in_vif,
			uint32_t out_vifs)
{
	struct mfcctl mc;

	memset(&mc, 0, sizeof(mc));
	mc.mfcc_origin = source;
	mc.mfcc_mcastgrp = group;
	mc.mfcc_parent = (vifi_t)in_vif;
	for (int i = 0; i < IGMP_MAX_VIFS && i < MAXVIFS; i++)
		mc.mfcc_ttls[i] = (out_vifs >> i & 1) && i != in_vif ? 1 : 0;
	if (setsockopt(m->fd, IPPROTO_IP, MRT_ADD_MFC, &mc, sizeof(mc)) < 0)
		return -errno;
	return 0;
}

int igmp_mroute_del_mfc(struct igmp_mroute *m, struct in_addr source, struct in_addr group)
{
	struct mfcctl mc;

	memset(&mc, 0, sizeof(mc));
	mc.mfcc_origin = source;
	mc.mfcc_mcastgrp = group;
	if (setsockopt(m->fd, IPPROTO_IP, MRT_DEL_MFC, &mc, sizeof(mc)) < 0)
		return -errno;
	return 0;
}

int igmp_mroute_counters(struct igmp_mroute *m, struct in_addr source, struct in_addr group, uint64_t *packets,
			 uint64_t *bytes, uint64_t *wrong_if)
{
	struct sioc_sg_req r;

	memset(&r, 0, sizeof(r));
	r.src = source;
	r.grp = group;
	if (ioctl(m->fd, SIOCGETSGCNT, &r) < 0)
		return -errno;
	*packets = r.pktcnt;
	*bytes = r.bytecnt;
	*wrong_if = r.wrong_if;
	return 0;
}

int igmp_mroute_send(struct igmp_mroute *m, int ifindex, struct in_addr src, struct in_addr dst,
		     const uint8_t *igmp, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
	struct iovec iov = {(void *)(uintptr_t)igmp, len};
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
	struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo pi = {.ipi_ifindex = ifindex, .ipi_spec_dst = src};
	struct ip_mreqn mr = {.imr_ifindex = ifindex};

	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (setsockopt(m->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0)
		return -errno;
	if (sendmsg(m->fd, &mh, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/* ---- upstream memberships ---- */

static struct up_group *up_find(struct igmp_mroute *m, struct in_addr group)
{
	for (size_t i = 0; i < m->ngroups; i++)
		if (m->groups[i].group.s_addr == group.s_addr)
			return &m->groups[i];
	return NULL;
}

/* A socket with room for one more group (a new one when all are full). */
static int up_socket(struct igmp_mroute *m)
{
	int fd, *fds;
	size_t *counts;

	for (size_t i = 0; i < m->nup; i++)
		if (m->up_count[i] < m->per_socket)
			return (int)i;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	fds = realloc(m->up_fds, (m->nup + 1) * sizeof(*fds));
	if (fds)
		m->up_fds = fds;
	counts = realloc(m->up_count, (m->nup + 1) * sizeof(*counts));
	if (counts)
		m->up_count = counts;
	if (!fds || !counts) {
		close(fd);
		return -ENOMEM;
	}
	m->up_fds[m->nup] = fd;
	m->up_count[m->nup] = 0;
	if (m->nup)
		gw_info("igmp: more than %zu upstream groups: socket %zu holds the next ones "
			"(net.ipv4.igmp_max_memberships)", m->per_socket * m->nup, m->nup + 1);
	return (int)m->nup++;
}

static int group_filter(int fd, int ifindex, struct in_addr group, bool exclude, const struct in_addr *srcs,
			size_t nsrc)
{
	struct sockaddr_in g = {.sin_family = AF_INET, .sin_addr = group};
	struct sockaddr_storage *sl = calloc(nsrc ? nsrc : 1, sizeof(*sl));
	int rc;

	if (!sl)
		return -ENOMEM;
	for (size_t i = 0; i < nsrc; i++) {
		struct sockaddr_in *s = (struct sockaddr_in *)&sl[i];

		s->sin_family = AF_INET;
		s->sin_addr = srcs[i];
	}
	/* RFC 3678 5.2.1: the full-state API */
	rc = setsourcefilter(fd, (uint32_t)ifindex, (struct sockaddr *)&g, sizeof(g),
			     exclude ? MCAST_EXCLUDE : MCAST_INCLUDE, (uint32_t)nsrc, sl);
	free(sl);
	return rc < 0 ? -errno : 0;
}

int igmp_mroute_upstream(struct igmp_mroute *m, int ifindex, struct in_addr group, bool exclude,
			 const struct in_addr *srcs, size_t nsrc)
{
	struct up_group *g = up_find(m, group);
	struct ip_mreqn mr = {.imr_multiaddr = group, .imr_ifindex = ifindex};
	int s, rc;

	if (!exclude && nsrc == 0) { /* INCLUDE {}: leave */
		if (!g)
			return 0;
		rc = setsockopt(m->up_fds[g->sock], IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof(mr)) < 0 ? -errno : 0;
		m->up_count[g->sock]--;
		*g = m->groups[--m->ngroups];
		return rc;
	}
	if (!g) {
		if (m->ngroups == m->capgroups) {
			size_t nc = m->capgroups ? m->capgroups * 2 : 16;
			struct up_group *v = realloc(m->groups, nc * sizeof(*v));

			if (!v)
				return -ENOMEM;
			m->groups = v;
			m->capgroups = nc;
		}
		s = up_socket(m);
		if (s < 0)
			return s;
		/* the filter API needs a prior join (ip_mc_msfilter) */
		if (setsockopt(m->up_fds[s], IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
			return -errno;
		m->up_count[s]++;
		g = &m->groups[m->ngroups++];
		*g = (struct up_group){group, s, ifindex};
	}
	if (exclude && nsrc == 0)
		return group_filter(m->up_fds[g->sock], ifindex, group, true, NULL, 0);
	return group_filter(m->up_fds[g->sock], ifindex, group, exclude, srcs, nsrc);
}

void igmp_mroute_upstream_reset(struct igmp_mroute *m)
{
	/* closing the sockets drops their memberships */
	for (size_t i = 0; i < m->nup; i++)
		close(m->up_fds[i]);
	free(m->up_fds);
	free(m->up_count);
	m->up_fds = NULL;
	m->up_count = NULL;
	m->nup = 0;
	m->ngroups = 0;
}

const struct igmp_mroute_stats *igmp_mroute_stats(const struct igmp_mroute *m) { return &m->st; }

static void on_closed(uv_handle_t *h)
{
	struct igmp_mroute *m = h->data;
	void (*cb)(void *) = m->close_cb;
	void *d = m->close_data;

	free(m->groups);
	free(m);
	if (cb)
		cb(d);
}

void igmp_mroute_close(struct igmp_mroute *m, void (*cb)(void *data), void *data)
{
	int one = 1;

	m->close_cb = cb;
	m->close_data = data;
	igmp_mroute_upstream_reset(m);
	/* MRT_DONE drops every VIF and MFC entry: no stale routes after us */
	(void)setsockopt(m->fd, IPPROTO_IP, MRT_DONE, &one, sizeof(one));
	uv_close((uv_handle_t *)&m->poll, on_closed);
	close(m->fd);
}
