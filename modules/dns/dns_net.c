/* dns_net.c — see dns_net.h. */
#include "dns_net.h"

#include "gw.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct listener {
	struct dns_net *n;
	struct listener *next;
	bool marked, closing;
	struct in_addr addr;
	int ufd;
	uv_poll_t upoll;
	uv_tcp_t tcp;
	int handles; /* open libuv handles, freed at 0 */
};

struct dns_net_conn {
	struct dns_net *n;
	uv_tcp_t tcp;
	uv_timer_t idle;
	struct sockaddr_in peer;
	struct in_addr local;
	int ifindex;
	uint8_t *buf;
	size_t len;
	int refs;	  /* held peers + 1 while open */
	int handles;	  /* 2 while open */
	unsigned pending; /* queries waiting for a later reply */
	bool closed, reading;
	struct dns_net_conn *next, *prev;
};

struct dns_net {
	uv_loop_t *loop;
	uint16_t port;
	dns_net_handle_fn handle;
	void *data;
	struct listener *listeners;
	struct dns_net_conn *conns;
	size_t nconns;
	size_t objects; /* listeners and connections not yet freed (closing ones too) */
	struct dns_net_stats stats;
	bool closing;
	void (*close_cb)(void *data);
	void *close_data;
	/* one batch of UDP I/O */
	uint8_t rbuf[DNS_NET_BATCH][DNS_NET_UDP_MAX];
	uint8_t sbuf[DNS_NET_BATCH][DNS_NET_UDP_MAX];
	uint8_t tbuf[65535]; /* a TCP answer */
};

static void maybe_closed(struct dns_net *n);

/* ---- sockets ---- */

static int open_sock(int type, struct in_addr addr, uint16_t port)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, err;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

	if (fd < 0)
		return -errno;
	sa.sin_addr = addr;
	/* several listeners share the port, one per address */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (type == SOCK_DGRAM && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) ||
	    (addr.s_addr != INADDR_ANY && setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void on_udp(uv_poll_t *h, int status, int events);
static void on_conn(uv_stream_t *s, int status);

static void listener_handle_closed(uv_handle_t *h)
{
	struct listener *l = h->data;

	if (--l->handles == 0) {
		struct dns_net *n = l->n;

		free(l);
		n->objects--;
		maybe_closed(n);
	}
}

static void listener_close(struct listener *l)
{
	if (l->closing)
		return;
	l->closing = true;
	uv_close((uv_handle_t *)&l->upoll, listener_handle_closed);
	uv_close((uv_handle_t *)&l->tcp, listener_handle_closed);
	close(l->ufd); /* after uv_close of the poll handle, as libuv requires */
}

static int listener_open(struct dns_net *n, struct in_addr addr)
{
	struct listener *l = calloc(1, sizeof(*l));
	int tfd, rc;

	if (!l)
		return -ENOMEM;
	n->objects++;
	l->n = n;
	l->addr = addr;
	l->ufd = open_sock(SOCK_DGRAM, addr, n->port);
	if (l->ufd < 0) {
		rc = l->ufd;
		free(l);
		n->objects--;
		return rc;
	}
	tfd = open_sock(SOCK_STREAM, addr, n->port);
	if (tfd < 0) {
		close(l->ufd);
		free(l);
		n->objects--;
		return tfd;
	}
	uv_poll_init(n->loop, &l->upoll, l->ufd);
	uv_tcp_init(n->loop, &l->tcp);
	l->upoll.data = l->tcp.data = l;
	l->handles = 2;
	if ((rc = uv_tcp_open(&l->tcp, tfd)) < 0 || (rc = uv_listen((uv_stream_t *)&l->tcp, 64, on_conn)) < 0 ||
	    (rc = uv_poll_start(&l->upoll, UV_READABLE, on_udp)) < 0) {
		if (uv_fileno((uv_handle_t *)&l->tcp, &(uv_os_fd_t){0}) != 0)
			close(tfd);
		l->next = NULL;
		listener_close(l);
		return rc;
	}
	l->marked = true;
	l->next = n->listeners;
	n->listeners = l;
	return 0;
}

static struct listener *find(struct dns_net *n, struct in_addr addr)
{
	for (struct listener *l = n->listeners; l; l = l->next)
		if (l->addr.s_addr == addr.s_addr)
			return l;
	return NULL;
}

int dns_net_listen_addr(struct dns_net *n, struct in_addr addr)
{
	struct listener *l = find(n, addr);

	if (l) {
		l->marked = true;
		return 0;
	}
	return listener_open(n, addr);
}

void dns_net_mark(struct dns_net *n)
{
	for (struct listener *l = n->listeners; l; l = l->next)
		l->marked = false;
}

static void unlink_if(struct dns_net *n, bool (*drop)(struct listener *l, const void *arg), const void *arg)
{
	struct listener **pp = &n->listeners;

	while (*pp) {
		struct listener *l = *pp;

		if (drop(l, arg)) {
			*pp = l->next;
			listener_close(l);
		} else {
			pp = &l->next;
		}
	}
}

static bool unmarked(struct listener *l, const void *arg)
{
	(void)arg;
	return !l->marked;
}

static bool any(struct listener *l, const void *arg)
{
	(void)l;
	(void)arg;
	return true;
}

void dns_net_sweep(struct dns_net *n) { unlink_if(n, unmarked, NULL); }

size_t dns_net_nlisteners(const struct dns_net *n)
{
	size_t c = 0;

	for (const struct listener *l = n->listeners; l; l = l->next)
		c++;
	return c;
}

/* ---- UDP: a batch in, a batch out ---- */

static void peer_from(struct dns_net_peer *p, const struct msghdr *mh, int fd)
{
	memset(p, 0, sizeof(*p));
	memcpy(&p->addr, mh->msg_name, sizeof(p->addr));
	p->fd = fd;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			p->local = pi.ipi_addr;
			p->ifindex = pi.ipi_ifindex;
		}
}

union pktinfo_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

/* Source address = where the query went (a wildcard or device listener
 * would otherwise pick the route's address, which the client does not know). */
static void set_source(struct msghdr *mh, union pktinfo_cmsg *cm, struct in_addr local)
{
	struct cmsghdr *c;
	struct in_pktinfo pi = {.ipi_spec_dst = local};

	memset(cm, 0, sizeof(*cm));
	mh->msg_control = cm->buf;
	mh->msg_controllen = sizeof(cm->buf);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}

static void send_batch(struct dns_net *n, int fd, struct mmsghdr *out, unsigned count)
{
	unsigned done = 0;

	while (done < count) {
		int r = sendmmsg(fd, out + done, count - done, MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: the socket buffer is full; a UDP answer is not worth a queue */
			n->stats.send_errors++;
			done++;
			continue;
		}
		done += (unsigned)r;
	}
}

static void on_udp(uv_poll_t *h, int status, int events)
{
	struct listener *l = h->data;
	struct dns_net *n = l->n;
	struct mmsghdr in[DNS_NET_BATCH], out[DNS_NET_BATCH];
	struct iovec iin[DNS_NET_BATCH], iout[DNS_NET_BATCH];
	struct sockaddr_in from[DNS_NET_BATCH];
	union pktinfo_cmsg cin[DNS_NET_BATCH], cout[DNS_NET_BATCH];
	unsigned nout = 0;
	int r;

	(void)events;
	if (status < 0)
		return;
	for (unsigned i = 0; i < DNS_NET_BATCH; i++) {
		iin[i] = (struct iovec){n->rbuf[i], DNS_NET_UDP_MAX};
		in[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
						.msg_iov = &iin[i], .msg_iovlen = 1, .msg_control = cin[i].buf,
						.msg_controllen = sizeof(cin[i].buf)};
	}
	r = recvmmsg(l->ufd, in, DNS_NET_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < r; i++) {
		struct dns_net_peer p;
		size_t len;

		n->stats.udp_queries++;
		if (in[i].msg_hdr.msg_flags & MSG_TRUNC || in[i].msg_hdr.msg_namelen != sizeof(from[i])) {
			n->stats.truncated_in++;
			continue;
		}
		peer_from(&p, &in[i].msg_hdr, l->ufd);
		p.wildcard = l->addr.s_addr == INADDR_ANY;
		len = n->handle(n->data, &p, n->rbuf[i], in[i].msg_len, n->sbuf[nout], DNS_NET_UDP_MAX);
		if (!len)
			continue;
		iout[nout] = (struct iovec){n->sbuf[nout], len};
		out[nout].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
						    .msg_iov = &iout[nout], .msg_iovlen = 1};
		/* a listener bound to one address answers from it anyway: no cmsg to parse per reply */
		if (l->addr.s_addr == INADDR_ANY)
			set_source(&out[nout].msg_hdr, &cout[nout], p.local);
		nout++;
	}
	if (nout)
		send_batch(n, l->ufd, out, nout);
}

/* ---- TCP ---- */

static void conn_handle_closed(uv_handle_t *h)
{
	struct dns_net_conn *c = h->data;

	if (--c->handles == 0 && --c->refs == 0) {
		struct dns_net *n = c->n;

		free(c->buf);
		free(c);
		n->objects--;
		maybe_closed(n);
	}
}

static void conn_close(struct dns_net_conn *c)
{
	struct dns_net *n = c->n;

	if (c->closed)
		return;
	c->closed = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	n->nconns--;
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
	uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
	struct dns_net_conn *c = t->data;

	/* RFC 7766 6.2.3: close an idle connection; one with answers still to
	 * come is not idle */
	if (c->pending) {
		uv_timer_again(t);
		return;
	}
	c->n->stats.tcp_idle_closed++;
	conn_close(c);
}

struct tcp_write {
	uv_write_t req;
	uint8_t data[];
};

static void on_written(uv_write_t *req, int status)
{
	struct tcp_write *w = container_of(req, struct tcp_write, req);

	(void)status;
	free(w);
}

static void tcp_send(struct dns_net_conn *c, const uint8_t *msg, size_t len)
{
	struct tcp_write *w;
	uv_buf_t b;

	if (c->closed || len > 65535 || !(w = malloc(sizeof(*w) + 2 + len))) {
		c->n->stats.send_errors++;
		return;
	}
	w->data[0] = (uint8_t)(len >> 8);
	w->data[1] = (uint8_t)len;
	memcpy(w->data + 2, msg, len);
	b = uv_buf_init((char *)w->data, (unsigned)(2 + len));
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
		free(w);
		c->n->stats.send_errors++;
		conn_close(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_net_conn *c = h->data;

	(void)suggested;
	/* room for one whole message and its length: never more is buffered */
	if (!c->buf)
		c->buf = malloc(2 + 65535);
	*buf = c->buf ? uv_buf_init((char *)c->buf + c->len, (unsigned)(2 + 65535 - c->len)) : uv_buf_init(NULL, 0);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void reading(struct dns_net_conn *c, bool on)
{
	if (c->closed || c->reading == on)
		return;
	c->reading = on;
	if (on)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_tcp_read);
	else
		uv_read_stop((uv_stream_t *)&c->tcp);
}

static void tcp_messages(struct dns_net_conn *c)
{
	struct dns_net *n = c->n;

	while (!c->closed && c->len >= 2 && c->pending < DNS_TCP_MAX_PENDING) {
		size_t mlen = (size_t)(c->buf[0] << 8 | c->buf[1]), alen;
		struct dns_net_peer p = {.addr = c->peer, .local = c->local, .ifindex = c->ifindex, .fd = -1,
					 .conn = c};

		if (c->len < 2 + mlen)
			break;
		n->stats.tcp_queries++;
		alen = n->handle(n->data, &p, c->buf + 2, mlen, n->tbuf, sizeof(n->tbuf));
		if (alen)
			tcp_send(c, n->tbuf, alen);
		memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
		c->len -= 2 + mlen;
	}
	reading(c, c->pending < DNS_TCP_MAX_PENDING);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct dns_net_conn *c = s->data;

	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	uv_timer_again(&c->idle);
	tcp_messages(c);
}

static void on_conn(uv_stream_t *s, int status)
{
	struct listener *l = s->data;
	struct dns_net *n = l->n;
	struct dns_net_conn *c;
	struct sockaddr_in local;
	int len;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->n = n;
	n->objects++;
	uv_tcp_init(n->loop, &c->tcp);
	uv_timer_init(n->loop, &c->idle);
	c->tcp.data = c->idle.data = c;
	c->handles = 2;
	c->refs = 1;
	c->next = n->conns;
	if (n->conns)
		n->conns->prev = c;
	n->conns = c;
	n->nconns++;
	if (uv_accept(s, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	n->stats.tcp_conns++;
	if (n->nconns > DNS_TCP_MAX_CONNS) {
		n->stats.tcp_refused++;
		conn_close(c);
		return;
	}
	len = sizeof(c->peer);
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len);
	len = sizeof(local);
	if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&local, &len) == 0)
		c->local = local.sin_addr;
	c->ifindex = 0; /* TCP has no IP_PKTINFO: the ACL goes by the local address (dns.c) */
	uv_timer_start(&c->idle, on_idle, DNS_TCP_IDLE_MS, DNS_TCP_IDLE_MS);
	reading(c, true);
}

void dns_net_peer_hold(const struct dns_net_peer *p)
{
	if (p->conn) {
		p->conn->refs++;
		p->conn->pending++;
	}
}

void dns_net_peer_release(const struct dns_net_peer *p)
{
	struct dns_net_conn *c = p->conn;

	if (!c)
		return;
	c->pending--;
	if (--c->refs == 0) {
		struct dns_net *n = c->n;

		free(c->buf);
		free(c);
		n->objects--;
		maybe_closed(n);
		return;
	}
	if (!c->closed)
		tcp_messages(c); /* resume a connection that hit its pending limit */
}

bool dns_net_peer_gone(const struct dns_net_peer *p) { return p->conn && p->conn->closed; }

void dns_net_reply(struct dns_net *n, const struct dns_net_peer *p, const uint8_t *msg, size_t len)
{
	struct msghdr mh;
	struct iovec iov = {(void *)(uintptr_t)msg, len};
	union pktinfo_cmsg cm;
	struct sockaddr_in to = p->addr;

	if (p->conn) {
		tcp_send(p->conn, msg, len);
		return;
	}
	mh = (struct msghdr){.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1};
	if (p->wildcard)
		set_source(&mh, &cm, p->local);
	if (sendmsg(p->fd, &mh, MSG_DONTWAIT) < 0)
		n->stats.send_errors++;
}

/* ---- life ---- */

int dns_net_new(uv_loop_t *loop, uint16_t port, dns_net_handle_fn handle, void *data, struct dns_net **out)
{
	struct dns_net *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->loop = loop;
	n->port = port;
	n->handle = handle;
	n->data = data;
	*out = n;
	return 0;
}

const struct dns_net_stats *dns_net_stats(const struct dns_net *n) { return &n->stats; }

static void maybe_closed(struct dns_net *n)
{
	/* listeners and connections closing (or held by a pending reply) call back here */
	if (!n->closing || n->objects)
		return;
	if (n->close_cb) {
		void (*cb)(void *) = n->close_cb;
		void *d = n->close_data;

		n->close_cb = NULL;
		free(n);
		cb(d);
	}
}

void dns_net_close(struct dns_net *n, void (*cb)(void *data), void *data)
{
	n->closing = true;
	n->close_cb = cb;
	n->close_data = data;
	unlink_if(n, any, NULL);
	while (n->conns)
		conn_close(n->conns);
	maybe_closed(n);
}
