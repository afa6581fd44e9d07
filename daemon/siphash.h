/* siphash.h — the SipHash round (Aumasson, Bernstein 2012), for the hash
 * tables whose keys strangers choose (DHCP client identifiers, DNS names):
 * with a random key per table they cannot compute collisions. Each user
 * drives its own compression (SipHash-2-4 over bytes in dhcp_lease.c,
 * SipHash-1-3 over lower-cased name words in dns_cache.c). */
#ifndef GW_SIPHASH_H
#define GW_SIPHASH_H

#include <stdint.h>

static inline uint64_t gw_rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline void gw_sipround(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3)
{
	*v0 += *v1;
	*v1 = gw_rotl64(*v1, 13);
	*v1 ^= *v0;
	*v0 = gw_rotl64(*v0, 32);
	*v2 += *v3;
	*v3 = gw_rotl64(*v3, 16);
	*v3 ^= *v2;
	*v0 += *v3;
	*v3 = gw_rotl64(*v3, 21);
	*v3 ^= *v0;
	*v2 += *v1;
	*v1 = gw_rotl64(*v1, 17);
	*v1 ^= *v2;
	*v2 = gw_rotl64(*v2, 32);
}

#endif
