/* dns-delay.c — a point-to-point link with a fixed one-way delay, made of two
 * TUN devices in two network namespaces and this process between them: every
 * IP packet read from device A is written to device B DELAY-MS later, every
 * packet read from B is written to A at once. dns.sh uses it for the
 * cold-cache run ("20 ms added on the WAN link") when the kernel has no
 * sch_netem (`tc qdisc ... netem` fails: CONFIG_NET_SCH_NETEM is not set on
 * the lab machine). Delaying one direction adds DELAY-MS to every round trip,
 * as `netem delay` on one end of a veth would.
 *
 *   dns-delay NETNS-PATH-A DEV-A NETNS-PATH-B DEV-B DELAY-MS
 *
 * The devices must exist (ip tuntap add ... mode tun) in their namespaces
 * (/run/netns/NAME). Prints "ready" on stdout once both are attached; on
 * SIGTERM or SIGINT prints its counters on stderr and exits 0. Packets that
 * find the queue full (more than SLOTS in flight) are dropped and counted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 4096
#define PKT_MAX 2048

struct slot {
	uint64_t due_ns;
	ssize_t len;
	unsigned char buf[PKT_MAX];
};

static struct slot ring[SLOTS];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Attach to the TUN device NAME of the namespace at NSPATH. */
static int open_tun(const char *nspath, const char *name)
{
	struct ifreq ifr;
	int nsfd, fd;

	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "dns-delay: namespace %s: %s\n", nspath, strerror(errno));
		exit(1);
	}
	close(nsfd);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "dns-delay: tun %s in %s: %s\n", name, nspath, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	unsigned long long fwd = 0, back = 0, dropped = 0;
	size_t head = 0, count = 0;
	struct sigaction sa;
	uint64_t delay;
	unsigned char scratch[PKT_MAX];
	int fa, fb;

	if (argc != 6) {
		fprintf(stderr, "usage: dns-delay NETNS-PATH-A DEV-A NETNS-PATH-B DEV-B DELAY-MS\n");
		return 2;
	}
	delay = strtoull(argv[5], NULL, 10) * 1000000u;
	fa = open_tun(argv[1], argv[2]);
	fb = open_tun(argv[3], argv[4]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: ppoll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		uint64_t now = now_ns();
		struct pollfd p[2] = { { .fd = fa, .events = POLLIN }, { .fd = fb, .events = POLLIN } };
		struct timespec ts, *tsp = NULL;

		/* Due packets leave in arrival order: the delay is constant. */
		while (count && ring[head].due_ns <= now) {
			if (write(fb, ring[head].buf, (size_t)ring[head].len) < 0)
				dropped++;
			else
				fwd++;
			head = (head + 1) % SLOTS;
			count--;
		}
		if (count) {
			uint64_t wait = ring[head].due_ns - now;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (ppoll(p, 2, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			perror("dns-delay: ppoll");
			return 1;
		}
		now = now_ns();
		while (p[0].revents & POLLIN) {
			struct slot *s = &ring[(head + count) % SLOTS];
			ssize_t n;

			if (count == SLOTS) {
				if (read(fa, scratch, sizeof(scratch)) < 0)
					break;
				dropped++;
				continue;
			}
			n = read(fa, s->buf, sizeof(s->buf));
			if (n <= 0)
				break;
			s->len = n;
			s->due_ns = now + delay;
			count++;
		}
		while (p[1].revents & POLLIN) {
			ssize_t n = read(fb, scratch, sizeof(scratch));

			if (n <= 0)
				break;
			if (write(fa, scratch, (size_t)n) < 0)
				dropped++;
			else
				back++;
		}
	}
	fprintf(stderr, "dns-delay: %llu packets delayed A->B, %llu passed B->A, %llu dropped, %zu in flight at exit\n",
		fwd, back, dropped, count);
	return 0;
}
