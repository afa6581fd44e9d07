/* dns_config.h — the `dns` section of CONFIG.md as a typed config.
 *
 * dns_configure() is the module's configure(): it reads the whole tree (the
 * `dns` section, plus the `dhcp` sections, whose interfaces are where the
 * resolver listens by default) and touches nothing live: files named by
 * `root-hints` and `hosts-file` are read by the module at start and reload,
 * not here (their content changes without the config changing), but their
 * paths are checked to be absolute. Addresses are network byte order.
 * Positions point into the config's tree. */
#ifndef DNS_CONFIG_H
#define DNS_CONFIG_H

#include "config.h"
#include "dns_wire.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;
struct cf_errors;

#define DNS_PORT_DEFAULT 53
#define DNS_CACHE_SIZE_DEFAULT (32u << 20)
#define DNS_CACHE_SIZE_MIN (64u << 10)
#define DNS_CACHE_SIZE_MAX (4ull << 30)
#define DNS_LOCAL_DOMAIN_DEFAULT "home.arpa"
#define DNS_EDNS_BUFFER_DEFAULT 1232 /* DNS flag day 2020 */
#define DNS_EDNS_BUFFER_MIN 512
#define DNS_EDNS_BUFFER_MAX 4096
#define DNS_MAX_TTL_DEFAULT 86400
#define DNS_NEGATIVE_TTL_DEFAULT 3600

/* bounds against hostile files */
#define DNS_MAX_LISTEN 64
#define DNS_MAX_ALLOW 1024
#define DNS_MAX_SERVERS 16 /* per forward / forward-zone */
#define DNS_MAX_FORWARD_ZONES 256
#define DNS_MAX_HOSTS 16384

/* `listen` argument: an interface (followed live: its addresses) or an address. */
struct dns_listen {
	const char *iface; /* the `interface` name (points into the tree), or NULL */
	const char *device; /* its Linux device, or NULL */
	struct in_addr addr; /* when !iface; 0.0.0.0 is every address */
	struct cf_pos pos;
};

struct dns_prefix {
	struct in_addr net; /* masked */
	uint8_t len;
};

/* A server for forward / forward-zone: ADDR or ADDR:PORT (port 53 by default;
 * another port is for tests and local stub setups). */
struct dns_server {
	struct in_addr addr;
	uint16_t port; /* host order */
};

struct dns_forward_zone {
	struct dns_name zone; /* lower-cased */
	struct dns_server *servers;
	size_t nservers;
	struct cf_pos pos;
};

struct dns_host {
	struct dns_name name; /* lower-cased, fully qualified */
	char *text;	      /* the same, as gw_names_normalise gives it ("nas.home.arpa") */
	struct in_addr addr;
	struct cf_pos pos;
};

struct dns_config {
	struct dns_listen *listen;
	size_t nlisten;
	bool listen_loopback; /* the default: 127.0.0.1 as well */
	uint16_t port;

	struct dns_prefix *allow; /* empty: the default (listen subnets + loopback, decided live) */
	size_t nallow;
	struct cf_range *allow_ranges; /* the same, merged and sorted */
	size_t nallow_ranges;

	char *root_hints; /* absolute path, or NULL: the built-in IANA list */
	struct dns_server *forward;
	size_t nforward;
	struct dns_forward_zone *fzones; /* most specific first (more labels first) */
	size_t nfzones;

	uint64_t cache_size;
	struct dns_name local_domain;
	char local_domain_text[DNS_NAME_TEXT_MAX]; /* "home.arpa" (no final dot) */
	struct dns_host *hosts;
	size_t nhosts;
	char *hosts_file; /* absolute path or NULL */

	uint16_t edns_buffer_size;
	bool qname_minimisation, prefetch, serve_stale;
	uint32_t max_ttl, negative_ttl;
};

int dns_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err);
void dns_config_free(void *cfg);

/* Whether ADDR may query (ACL given explicitly). */
bool dns_config_allowed(const struct dns_config *dc, struct in_addr addr);

#endif
