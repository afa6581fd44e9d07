/* rcvbuf_shim.c — LD_PRELOAD for the load generator (perfdhcp): gives every
 * UDP socket it opens a large receive buffer (HGB_RCVBUF bytes, default
 * 4 MiB, capped by net.core.rmem_max).
 *
 * Why: perfdhcp never sets SO_RCVBUF, so it reads with the 208 KiB default
 * (~200 packets). A server that answers in bursts — homegwd sends the ACKs
 * of one journal sync together — then overflows the *generator's* socket
 * while the generator is busy sending, and those drops were counted against
 * the server. net.core.rmem_default is not per network namespace, and
 * changing it would change the host; a per-socket setsockopt touches only
 * the generator. Both servers are measured with it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	const char *env = getenv("HGB_RCVBUF");
	int fd, size = env ? atoi(env) : 4 << 20;

	if (!real)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	fd = real(domain, type, protocol);
	if (fd >= 0 && (type & 0xf) == SOCK_DGRAM && size > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}
