/* iface.c — see iface.h.
 *
 * The table is an array of pointers in arrival order: a home router has a
 * handful of devices, so a linear search by index or name costs less than
 * keeping a hash in step, and the pointers stay put while the array grows
 * (subscribers may keep a device pointer between events of that device).
 *
 * Everything that arrives, dump or event, goes through gw_iface_handle_msg,
 * so the start-up dump, live events and a resync share one code path. */
#include "iface.h"

#include "gw.h"
#include "log.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A burst of hostile or buggy link creations must not eat the daemon. */
#define IFACE_MAX_LINKS 4096
/* Largest link-layer address we accept (infiniband is 20). */
#define IFACE_MAX_LLADDR 32
/* The kernel grows dump datagrams up to 32 KiB after a large recvmsg; a
 * buffer that size or more never truncates one. */
#define IFACE_RXBUF_SIZE (64 * 1024)
/* Events queue here while the loop is busy; past it the kernel drops them. */
#define IFACE_SO_RCVBUF (1024 * 1024)
/* Datagrams read per wake-up, so an event storm cannot starve the loop
 * (uv_poll is level-triggered: the rest is read on the next turn). */
#define IFACE_MAX_RECV_PER_WAKE 256
#define IFACE_DUMP_TIMEOUT_MS 5000

struct iface_sub {
	gw_iface_cb cb;
	void *data;
	int id;
	bool dead; /* unsubscribed during a dispatch: swept afterwards */
};

struct gw_iface_table {
	struct gw_iface **ifs;
	size_t nifs, capifs;

	struct iface_sub *subs;
	size_t nsubs, capsubs;
	int last_id;
	unsigned dispatching;
	bool sweep;

	struct gw_iface_stats stats;
	bool warned_links, warned_addrs;

	/* the socket side (unused by the pure part) */
	struct mnl_socket *nl;
	uint32_t seq;
	uint8_t *rxbuf;
	uv_poll_t poll;
	bool started;  /* the poll handle exists */
	bool closing;  /* uv_close is under way */
	bool overrun;  /* events were lost: resync once the socket is drained */
	void (*done)(void *);
	void *done_data;
};

struct gw_iface_table *gw_iface_table_new(void)
{
	return calloc(1, sizeof(struct gw_iface_table));
}

void gw_iface_table_free(struct gw_iface_table *t)
{
	if (!t)
		return;
	if (t->nl)
		mnl_socket_close(t->nl);
	for (size_t i = 0; i < t->nifs; i++)
		free(t->ifs[i]);
	free(t->ifs);
	free(t->subs);
	free(t->rxbuf);
	free(t);
}

/* ---- lookups ---- */

static size_t find_pos(const struct gw_iface_table *t, int ifindex)
{
	for (size_t i = 0; i < t->nifs; i++)
		if (t->ifs[i]->ifindex == ifindex)
			return i;
	return SIZE_MAX;
}

const struct gw_iface *gw_iface_by_index(const struct gw_iface_table *t, int ifindex)
{
	size_t i = find_pos(t, ifindex);
	return i == SIZE_MAX ? NULL : t->ifs[i];
}

const struct gw_iface *gw_iface_by_name(const struct gw_iface_table *t, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < t->nifs; i++)
		if (strncmp(t->ifs[i]->name, name, IF_NAMESIZE) == 0)
			return t->ifs[i];
	return NULL;
}

const struct gw_iface *gw_iface_next(const struct gw_iface_table *t, size_t *cursor)
{
	if (*cursor >= t->nifs)
		return NULL;
	return t->ifs[(*cursor)++];
}

const struct gw_iface_stats *gw_iface_get_stats(const struct gw_iface_table *t) { return &t->stats; }

/* ---- subscribers ---- */

int gw_iface_subscribe(struct gw_iface_table *t, gw_iface_cb cb, void *data)
{
	if (!cb)
		return -EINVAL;
	if (t->last_id == INT_MAX)
		return -ENOSPC;
	if (t->nsubs == t->capsubs) {
		size_t cap = t->capsubs ? 2 * t->capsubs : 4;
		struct iface_sub *s = realloc(t->subs, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		t->subs = s;
		t->capsubs = cap;
	}
	t->subs[t->nsubs++] = (struct iface_sub){cb, data, ++t->last_id, false};
	return t->last_id;
}

static void sweep_subs(struct gw_iface_table *t)
{
	size_t j = 0;
	for (size_t i = 0; i < t->nsubs; i++)
		if (!t->subs[i].dead)
			t->subs[j++] = t->subs[i];
	t->nsubs = j;
	t->sweep = false;
}

void gw_iface_unsubscribe(struct gw_iface_table *t, int id)
{
	for (size_t i = 0; i < t->nsubs; i++) {
		if (t->subs[i].id != id || t->subs[i].dead)
			continue;
		/* a dispatch may be walking the array: only mark it */
		t->subs[i].dead = true;
		t->sweep = true;
		break;
	}
	if (t->dispatching == 0 && t->sweep)
		sweep_subs(t);
}

static void dispatch(struct gw_iface_table *t, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *addr)
{
	/* subscribers added by a callback start with the next event */
	size_t n = t->nsubs;

	t->dispatching++;
	for (size_t i = 0; i < n; i++) {
		struct iface_sub s = t->subs[i]; /* a callback may realloc the array */
		if (!s.dead)
			s.cb(s.data, ifc, ev, addr);
	}
	if (--t->dispatching == 0 && t->sweep)
		sweep_subs(t);
}

/* ---- table updates (shared by events and resync) ---- */

static void warn_links_full(struct gw_iface_table *t)
{
	t->stats.dropped++;
	if (!t->warned_links)
		gw_warn("iface: more than %d network devices; ignoring the others", IFACE_MAX_LINKS);
	t->warned_links = true;
}

static int link_insert(struct gw_iface_table *t, const struct gw_iface *proposed)
{
	struct gw_iface *ifc;

	if (t->nifs >= IFACE_MAX_LINKS) {
		warn_links_full(t);
		return 0;
	}
	if (t->nifs == t->capifs) {
		size_t cap = t->capifs ? 2 * t->capifs : 16;
		struct gw_iface **a = realloc(t->ifs, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		t->ifs = a;
		t->capifs = cap;
	}
	ifc = malloc(sizeof(*ifc));
	if (!ifc)
		return -ENOMEM;
	*ifc = *proposed;
	ifc->naddrs = 0; /* addresses come with their own events */
	t->ifs[t->nifs++] = ifc;
	dispatch(t, ifc, GW_IFACE_ADDED, NULL);
	return 0;
}

static bool link_same(const struct gw_iface *a, const struct gw_iface *b)
{
	return strncmp(a->name, b->name, IF_NAMESIZE) == 0 && a->flags == b->flags && a->mtu == b->mtu &&
	       a->mac_len == b->mac_len && memcmp(a->mac, b->mac, a->mac_len) == 0;
}

/* Bring the device PROPOSED->ifindex to PROPOSED's link state (not its
 * addresses): ADDED when new, CHANGED when something differs. */
static int link_apply(struct gw_iface_table *t, const struct gw_iface *proposed)
{
	size_t i = find_pos(t, proposed->ifindex);
	struct gw_iface *ifc;

	if (i == SIZE_MAX)
		return link_insert(t, proposed);
	ifc = t->ifs[i];
	if (link_same(ifc, proposed))
		return 0;
	memcpy(ifc->name, proposed->name, IF_NAMESIZE);
	ifc->flags = proposed->flags;
	ifc->up = proposed->up;
	ifc->running = proposed->running;
	ifc->mtu = proposed->mtu;
	ifc->mac_len = proposed->mac_len;
	memcpy(ifc->mac, proposed->mac, sizeof(ifc->mac));
	dispatch(t, ifc, GW_IFACE_CHANGED, NULL);
	return 0;
}

static void addr_remove_at(struct gw_iface_table *t, struct gw_iface *ifc, size_t j)
{
	struct gw_iface_addr gone = ifc->addrs[j];

	memmove(&ifc->addrs[j], &ifc->addrs[j + 1], (ifc->naddrs - j - 1) * sizeof(ifc->addrs[0]));
	ifc->naddrs--;
	dispatch(t, ifc, GW_IFACE_ADDR_REMOVED, &gone);
}

/* The device leaves the table before REMOVED runs (lookups no longer find
 * it) and is freed after: the callback's pointer is valid while it runs. */
static void link_remove_at(struct gw_iface_table *t, size_t i)
{
	struct gw_iface *ifc = t->ifs[i];

	while (ifc->naddrs > 0)
		addr_remove_at(t, ifc, ifc->naddrs - 1);
	i = find_pos(t, ifc->ifindex); /* callbacks cannot move it, but stay exact */
	memmove(&t->ifs[i], &t->ifs[i + 1], (t->nifs - i - 1) * sizeof(t->ifs[0]));
	t->nifs--;
	dispatch(t, ifc, GW_IFACE_REMOVED, NULL);
	free(ifc);
}

static size_t addr_find(const struct gw_iface *ifc, const struct gw_iface_addr *a)
{
	for (size_t j = 0; j < ifc->naddrs; j++)
		if (ifc->addrs[j].addr.s_addr == a->addr.s_addr && ifc->addrs[j].prefixlen == a->prefixlen)
			return j;
	return SIZE_MAX;
}

/* (address, prefix) is an address's identity, as for the kernel. The
 * kernel repeats NEWADDR for lifetime updates: those change nothing here. */
static void addr_apply(struct gw_iface_table *t, struct gw_iface *ifc, const struct gw_iface_addr *a)
{
	size_t j = addr_find(ifc, a);

	if (j != SIZE_MAX) {
		if (ifc->addrs[j].broadcast.s_addr == a->broadcast.s_addr)
			return;
		/* no ADDR_CHANGED event: a changed broadcast is a new address */
		addr_remove_at(t, ifc, j);
	}
	if (ifc->naddrs >= GW_IFACE_MAX_ADDRS) {
		t->stats.dropped++;
		if (!t->warned_addrs)
			gw_warn("iface: %s has more than %d IPv4 addresses; ignoring the others", ifc->name,
				GW_IFACE_MAX_ADDRS);
		t->warned_addrs = true;
		return;
	}
	ifc->addrs[ifc->naddrs++] = *a;
	dispatch(t, ifc, GW_IFACE_ADDR_ADDED, a);
}

/* ---- the pure part: parsing ---- */

/* mnl_attr_parse stops quietly at bytes that do not form an attribute. A
 * message whose attributes do not end exactly at its end is truncated or
 * carries garbage, so it is refused instead of being half-read. */
struct attr_walk {
	mnl_attr_cb_t cb;
	void *out;
	const char *next; /* where the attribute after the last one parsed starts */
};

static int walk_cb(const struct nlattr *a, void *data)
{
	struct attr_walk *w = data;

	w->next = (const char *)a + MNL_ALIGN(a->nla_len);
	return w->cb(a, w->out);
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, mnl_attr_cb_t cb, void *out)
{
	struct attr_walk w = {cb, out, mnl_nlmsg_get_payload_offset(nlh, hdrlen)};

	if (mnl_attr_parse(nlh, (unsigned)hdrlen, walk_cb, &w) != MNL_CB_OK)
		return -EINVAL;
	if (w.next != (const char *)mnl_nlmsg_get_payload_tail(nlh))
		return -EINVAL;
	return 0;
}

/* A NUL-terminated name of at most IF_NAMESIZE bytes, not empty. */
static bool attr_ifname_ok(const struct nlattr *a)
{
	size_t len = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);

	if (mnl_attr_validate(a, MNL_TYPE_STRING) < 0 || s[0] == '\0')
		return false;
	return memchr(s, '\0', len < IF_NAMESIZE ? len : IF_NAMESIZE) != NULL;
}

struct link_attrs {
	const char *name;
	bool has_mtu, has_mac;
	uint32_t mtu;
	const uint8_t *mac;
	size_t mac_len;
};

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct link_attrs *la = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (!attr_ifname_ok(a))
			return MNL_CB_ERROR;
		la->name = mnl_attr_get_str(a);
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		la->has_mtu = true;
		la->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_validate(a, MNL_TYPE_BINARY) < 0 ||
		    mnl_attr_get_payload_len(a) > IFACE_MAX_LLADDR)
			return MNL_CB_ERROR;
		la->has_mac = true;
		la->mac = mnl_attr_get_payload(a);
		la->mac_len = mnl_attr_get_payload_len(a);
		break;
	default: /* newer kernels add attributes: not ours to judge */
		break;
	}
	return MNL_CB_OK;
}

/* The state the message describes: the known device overlaid with what
 * the message carries (a NEWLINK normally carries everything). */
static void link_proposed(const struct gw_iface *old, const struct ifinfomsg *ifi,
			  const struct link_attrs *la, struct gw_iface *p)
{
	if (old)
		*p = *old;
	else
		memset(p, 0, sizeof(*p));
	p->ifindex = ifi->ifi_index;
	if (la->name)
		strncpy(p->name, la->name, IF_NAMESIZE - 1); /* NUL-terminated within IF_NAMESIZE */
	p->flags = ifi->ifi_flags;
	p->up = ifi->ifi_flags & IFF_UP;
	p->running = ifi->ifi_flags & IFF_RUNNING;
	if (la->has_mtu)
		p->mtu = la->mtu;
	if (la->has_mac) {
		/* longer link-layer addresses (infiniband) do not fit: "none" */
		memset(p->mac, 0, sizeof(p->mac));
		p->mac_len = la->mac_len <= sizeof(p->mac) ? (uint8_t)la->mac_len : 0;
		memcpy(p->mac, la->mac, p->mac_len);
	}
}

static int handle_link(struct gw_iface_table *t, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_attrs la = {0};
	struct gw_iface p;
	size_t i;

	if (mnl_nlmsg_get_payload_len(nlh) < MNL_ALIGN(sizeof(*ifi)))
		return -EINVAL;
	/* AF_BRIDGE messages describe a bridge port's state, not the device:
	 * their DELLINK means "left the bridge", not "gone". */
	if (ifi->ifi_family != AF_UNSPEC)
		return 0;
	if (parse_attrs(nlh, sizeof(*ifi), link_attr_cb, &la) < 0 || ifi->ifi_index <= 0)
		return -EINVAL;
	i = find_pos(t, ifi->ifi_index);
	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (i == SIZE_MAX)
			t->stats.dropped++; /* never seen: nothing to undo */
		else
			link_remove_at(t, i);
		return 0;
	}
	if (i == SIZE_MAX && !la.name)
		return -EINVAL; /* a device we do not know must come with its name */
	link_proposed(i == SIZE_MAX ? NULL : t->ifs[i], ifi, &la, &p);
	return link_apply(t, &p);
}

struct addr_attrs {
	bool has_local, has_address, has_brd;
	struct in_addr local, address, brd;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	struct addr_attrs *aa = data;
	struct in_addr *dst = NULL;

	switch (mnl_attr_get_type(a)) {
	case IFA_LOCAL:
		aa->has_local = true;
		dst = &aa->local;
		break;
	case IFA_ADDRESS:
		aa->has_address = true;
		dst = &aa->address;
		break;
	case IFA_BROADCAST:
		aa->has_brd = true;
		dst = &aa->brd;
		break;
	case IFA_LABEL:
		return attr_ifname_ok(a) ? MNL_CB_OK : MNL_CB_ERROR;
	default:
		return MNL_CB_OK;
	}
	if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(*dst)) < 0)
		return MNL_CB_ERROR;
	memcpy(dst, mnl_attr_get_payload(a), sizeof(*dst));
	return MNL_CB_OK;
}

static int handle_addr(struct gw_iface_table *t, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_attrs aa = {0};
	struct gw_iface_addr a = {0};
	size_t i, j;

	if (mnl_nlmsg_get_payload_len(nlh) < MNL_ALIGN(sizeof(*ifa)))
		return -EINVAL;
	if (ifa->ifa_family != AF_INET) {
		t->stats.dropped++; /* we asked for IPv4 only: unexpected, not malformed */
		return 0;
	}
	if (parse_attrs(nlh, sizeof(*ifa), addr_attr_cb, &aa) < 0 || ifa->ifa_prefixlen > 32 ||
	    (!aa.has_local && !aa.has_address))
		return -EINVAL;
	/* IFA_ADDRESS is the peer on point-to-point links (ppp): the
	 * device's own address is IFA_LOCAL whenever it is present. */
	a.addr = aa.has_local ? aa.local : aa.address;
	a.prefixlen = ifa->ifa_prefixlen;
	if (aa.has_brd)
		a.broadcast = aa.brd;

	i = ifa->ifa_index <= INT_MAX ? find_pos(t, (int)ifa->ifa_index) : SIZE_MAX;
	if (i == SIZE_MAX) {
		t->stats.dropped++; /* a device we dropped, or a race with its DELLINK */
		return 0;
	}
	if (nlh->nlmsg_type == RTM_NEWADDR) {
		addr_apply(t, t->ifs[i], &a);
		return 0;
	}
	j = addr_find(t->ifs[i], &a);
	if (j == SIZE_MAX)
		t->stats.dropped++;
	else
		addr_remove_at(t, t->ifs[i], j);
	return 0;
}

static bool msg_fits(const struct nlmsghdr *nlh, size_t len)
{
	/* mnl_nlmsg_ok casts nlmsg_len to int: a length ≥ 2^31 would pass it */
	return len >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= len &&
	       mnl_nlmsg_ok(nlh, len > INT_MAX ? INT_MAX : (int)len);
}

static int iface_msg(struct gw_iface_table *t, const struct nlmsghdr *nlh, size_t len)
{
	if (!nlh || !msg_fits(nlh, len))
		return -EINVAL;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_NEWADDR:
	case RTM_DELADDR:
		break;
	default:
		return 0;
	}
	/* attribute walking runs to the aligned end: the kernel pads every
	 * message, so an unpadded one is not the kernel's */
	if (MNL_ALIGN(nlh->nlmsg_len) != nlh->nlmsg_len)
		return -EINVAL;
	if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK)
		return handle_link(t, nlh);
	return handle_addr(t, nlh);
}

int gw_iface_handle_msg(struct gw_iface_table *t, const struct nlmsghdr *nlh, size_t len)
{
	int rc;

	t->stats.messages++;
	rc = iface_msg(t, nlh, len);
	if (rc == -EINVAL)
		t->stats.dropped++;
	return rc;
}

int gw_iface_handle_buf(struct gw_iface_table *t, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc = 0;

	while (len > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t step;
		int r = gw_iface_handle_msg(t, nlh, len);

		if (r < 0 && rc == 0)
			rc = r;
		if (!msg_fits(nlh, len))
			break; /* no telling where the next message starts */
		step = MNL_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return rc;
}

/* ---- the socket ---- */

static int nl_open(struct mnl_socket **out, unsigned groups)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int sz = IFACE_SO_RCVBUF;
	int fd, rc;

	if (!nl)
		return -errno;
	fd = mnl_socket_get_fd(nl);
	/* FORCE passes net.core.rmem_max, which is small by default; it needs
	 * CAP_NET_ADMIN, which we have, else fall back to the capped size. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		mnl_socket_close(nl);
		return rc;
	}
	*out = nl;
	return 0;
}

/* One datagram: its length, 0 when it was not the kernel's (dropped), or
 * a negative errno (-EAGAIN: none; -ENOBUFS: events were lost). */
static ssize_t nl_recv(struct gw_iface_table *t, struct mnl_socket *nl)
{
	struct sockaddr_nl sa;
	struct iovec iov = {t->rxbuf, IFACE_RXBUF_SIZE};
	struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	do
		n = recvmsg(mnl_socket_get_fd(nl), &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -ENOBUFS; /* a cut datagram lost messages too */
	/* any local process may unicast to our port: only the kernel speaks */
	if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0) {
		t->stats.dropped++;
		return 0;
	}
	return n;
}

static int nl_wait(struct mnl_socket *nl, uint64_t deadline_ms)
{
	struct pollfd pfd = {mnl_socket_get_fd(nl), POLLIN, 0};
	uint64_t now = uv_hrtime() / 1000000;
	int rc;

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	rc = poll(&pfd, 1, (int)(deadline_ms - now));
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

/* The messages of one dump datagram: 1 when the dump ended, 0 for more,
 * or the kernel's negative errno. Events interleaved on the main socket
 * go to DST like the dump's own messages: both describe current state. */
static int dump_buf(struct gw_iface_table *dst, const uint8_t *p, size_t len, uint32_t seq)
{
	while (len > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t step;

		if (!msg_fits(nlh, len))
			return -EBADMSG;
		if (nlh->nlmsg_seq == seq && nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			return e->error < 0 ? e->error : -EBADMSG;
		}
		if (nlh->nlmsg_seq == seq && nlh->nlmsg_type == NLMSG_DONE) {
			const int *status = mnl_nlmsg_get_payload(nlh);
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*status) && *status < 0)
				return *status;
			return 1;
		}
		(void)gw_iface_handle_msg(dst, nlh, len);
		step = MNL_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

/* Dump links (TYPE RTM_GETLINK) or IPv4 addresses into DST, reading
 * synchronously: at start-up the table must be full before we return. */
static int nl_dump(struct gw_iface_table *t, struct mnl_socket *nl, uint16_t type,
		   struct gw_iface_table *dst)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg))];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	uint64_t deadline = uv_hrtime() / 1000000 + IFACE_DUMP_TIMEOUT_MS;
	int rc = 0;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++t->seq;
	if (type == RTM_GETLINK) {
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
	} else {
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = AF_INET;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (rc == 0) {
		ssize_t n = nl_recv(t, nl);

		if (n == -EAGAIN)
			rc = nl_wait(nl, deadline);
		else if (n == -ENOBUFS)
			t->overrun = true; /* events lost; the dump itself resumes */
		else if (n < 0)
			rc = (int)n;
		else
			rc = dump_buf(dst, t->rxbuf, (size_t)n, nlh->nlmsg_seq);
	}
	return rc < 0 ? rc : 0;
}

static int dump_all(struct gw_iface_table *t, struct mnl_socket *nl, struct gw_iface_table *dst)
{
	int rc = nl_dump(t, nl, RTM_GETLINK, dst);

	if (rc == 0)
		rc = nl_dump(t, nl, RTM_GETADDR, dst);
	return rc;
}

/* Make T's device SEEN (from a fresh dump) look like it, with events. */
static void reconcile_one(struct gw_iface_table *t, const struct gw_iface *seen)
{
	size_t i;
	struct gw_iface *ifc;

	if (link_apply(t, seen) < 0)
		return;
	i = find_pos(t, seen->ifindex);
	if (i == SIZE_MAX)
		return; /* table full */
	ifc = t->ifs[i];
	for (size_t j = ifc->naddrs; j-- > 0;)
		if (j < ifc->naddrs && addr_find(seen, &ifc->addrs[j]) == SIZE_MAX)
			addr_remove_at(t, ifc, j);
	for (size_t j = 0; j < seen->naddrs; j++)
		addr_apply(t, ifc, &seen->addrs[j]);
}

static void reconcile(struct gw_iface_table *t, const struct gw_iface_table *fresh)
{
	for (size_t i = 0; i < t->nifs;) {
		if (find_pos(fresh, t->ifs[i]->ifindex) == SIZE_MAX)
			link_remove_at(t, i);
		else
			i++;
	}
	for (size_t i = 0; i < fresh->nifs; i++)
		reconcile_one(t, fresh->ifs[i]);
}

/* Events were lost: read the whole state again on a second socket (the
 * main one keeps queueing events meanwhile, newer than the dump) and
 * announce the differences. */
static int iface_resync(struct gw_iface_table *t)
{
	struct gw_iface_table *fresh = gw_iface_table_new();
	struct mnl_socket *nl = NULL;
	int rc = fresh ? nl_open(&nl, 0) : -ENOMEM;

	t->overrun = false;
	t->stats.resyncs++;
	gw_warn("iface: netlink events lost (socket overrun); reading the devices again");
	if (fresh)
		fresh->warned_links = fresh->warned_addrs = true; /* T warns, not the scratch table */
	if (rc == 0)
		rc = dump_all(t, nl, fresh);
	if (nl)
		mnl_socket_close(nl);
	if (rc == 0) {
		reconcile(t, fresh);
	} else {
		gw_err("iface: resync failed: %s", strerror(-rc));
	}
	gw_iface_table_free(fresh);
	return rc;
}

static int iface_drain(struct gw_iface_table *t)
{
	for (int i = 0; i < IFACE_MAX_RECV_PER_WAKE; i++) {
		ssize_t n = nl_recv(t, t->nl);

		if (n == -EAGAIN) {
			/* drained: the dump is now newer than anything queued */
			if (t->overrun)
				(void)iface_resync(t);
			return 0;
		}
		if (n == -ENOBUFS) {
			t->overrun = true;
			continue;
		}
		if (n < 0)
			return (int)n;
		(void)gw_iface_handle_buf(t, t->rxbuf, (size_t)n);
	}
	return 0;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct gw_iface_table *t = container_of(h, struct gw_iface_table, poll);
	int rc = iface_drain(t);

	if (rc < 0) {
		gw_err("iface: netlink receive: %s", strerror(-rc));
		return;
	}
	/* an overrun sets the socket error, which libuv reports as POLLERR
	 * and answers by stopping the handle: reading cleared it, re-arm */
	if (status < 0 && !t->closing) {
		rc = uv_poll_start(&t->poll, UV_READABLE, on_readable);
		if (rc < 0)
			gw_err("iface: netlink poll: %s", uv_strerror(rc));
	}
}

static void on_poll_closed(uv_handle_t *h)
{
	struct gw_iface_table *t = container_of((uv_poll_t *)h, struct gw_iface_table, poll);
	void (*done)(void *) = t->done;

	if (t->nl)
		mnl_socket_close(t->nl);
	t->nl = NULL;
	t->started = t->closing = false;
	t->done = NULL;
	if (done)
		done(t->done_data);
}

int gw_iface_start(struct gw_iface_table *t, uv_loop_t *loop)
{
	int rc;

	if (t->nl)
		return -EALREADY;
	if (!t->rxbuf && !(t->rxbuf = malloc(IFACE_RXBUF_SIZE)))
		return -ENOMEM;
	rc = nl_open(&t->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR);
	if (rc == 0)
		rc = dump_all(t, t->nl, t);
	if (rc == 0 && t->overrun)
		rc = iface_resync(t);
	if (rc == 0)
		rc = uv_poll_init(loop, &t->poll, mnl_socket_get_fd(t->nl));
	if (rc < 0) {
		gw_err("iface: rtnetlink: %s", strerror(-rc));
		if (t->nl)
			mnl_socket_close(t->nl);
		t->nl = NULL;
		return rc;
	}
	t->started = true;
	/* only fails for a second watcher of the same fd, which a fresh
	 * socket cannot have; the handle then still needs gw_iface_stop */
	rc = uv_poll_start(&t->poll, UV_READABLE, on_readable);
	if (rc < 0) {
		gw_err("iface: netlink poll: %s", uv_strerror(rc));
		return rc;
	}
	gw_info("iface: %zu network devices", t->nifs);
	return 0;
}

void gw_iface_stop(struct gw_iface_table *t, void (*done)(void *), void *data)
{
	if (t->closing)
		return;
	if (!t->started) {
		if (t->nl)
			mnl_socket_close(t->nl);
		t->nl = NULL;
		if (done)
			done(data);
		return;
	}
	t->closing = true;
	t->done = done;
	t->done_data = data;
	uv_poll_stop(&t->poll);
	uv_close((uv_handle_t *)&t->poll, on_poll_closed);
}
