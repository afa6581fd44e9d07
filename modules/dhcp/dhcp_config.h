/* dhcp_config.h — the `dhcp` and `dhcp-relay` sections of CONFIG.md as a
 * typed config, and the run-time lookups the server needs in it.
 *
 * dhcp_configure() is the module's configure(): it reads the whole tree
 * (both section keywords, plus the `dns` section's `listen` and
 * `local-domain`, which decide defaults here) and touches nothing live.
 * Addresses are struct in_addr in network byte order, like the rest of the
 * daemon. Positions (struct cf_pos) point into the config's tree: valid
 * while the struct gw_config this config belongs to lives. */
#ifndef DHCP_CONFIG_H
#define DHCP_CONFIG_H

#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;

#define DHCP_LEASE_TIME_DEFAULT (12 * 3600)
#define DHCP_LEASE_TIME_MIN 60
#define DHCP_LEASE_TIME_MAX (365 * 86400)
#define DHCP_LOCAL_DOMAIN_DEFAULT "home.arpa"
#define DHCP_MAX_HOPS_DEFAULT 4

/* RFC 3396 lets one option span several 255-byte pieces; four of them is
 * more than any sane value and bounds what a reply can be asked to carry. */
#define DHCP_OPTION_MAX (255 * 4)

/* Bounds against hostile files (a home needs a fraction of each). */
#define DHCP_MAX_SCOPES 256
#define DHCP_MAX_RELAYS 256
#define DHCP_MAX_POOLS 256   /* per scope */
#define DHCP_MAX_HOSTS 16384 /* in all scopes */
#define DHCP_MAX_SERVERS 16  /* per relay */
#define DHCP_MAX_CLIENT_ID 255

/* first..last inclusive, first <= last. Pools overlap nowhere (not across
 * scopes either). A reservation's address may lie inside a pool: the
 * allocator skips it (dhcp_host_by_addr). */
struct dhcp_pool {
	struct in_addr first;
	struct in_addr last;
	struct cf_pos pos;
};

/* `host LABEL { ... }`: a reservation. At least one of mac / client-id. */
struct dhcp_host {
	char *label; /* the block's name: messages, `leases` */
	bool has_mac;
	uint8_t mac[6];
	uint8_t *client_id; /* option 61's bytes (type byte first), or NULL */
	size_t client_id_len;
	struct in_addr addr;
	char *name; /* a DNS label, lower-case, published under local_domain; NULL: none */
	struct cf_pos pos;
};

/* `route PREFIX GATEWAY`: one entry of option 121 (RFC 3442). */
struct dhcp_cfg_route {
	struct in_addr prefix;
	uint8_t prefix_len;
	struct in_addr gateway; /* 0.0.0.0: on-link */
	struct cf_pos pos;
};

/* `option N TYPE VALUES`, encoded once here: DATA is the option's payload. */
struct dhcp_option {
	uint8_t code;
	uint16_t len; /* 1..DHCP_OPTION_MAX */
	uint8_t *data;
	struct cf_pos pos;
};

enum dhcp_scope_kind {
	DHCP_SCOPE_LOCAL,  /* `dhcp IFACE`: the subnet is the interface's, known at run time */
	DHCP_SCOPE_REMOTE, /* `dhcp A.B.C.D/N`: reached through relays (giaddr, RFC 3527) */
};

/* Where option 6 comes from when `dns-server` is not given. */
enum dhcp_dns_mode {
	DHCP_DNS_NONE,		 /* not sent: no resolver of ours serves this link */
	DHCP_DNS_LIST,		 /* scope->dns_servers */
	DHCP_DNS_IFACE,		 /* the interface's address (our dns listens there) */
	DHCP_DNS_IFACE_IF_LISTEN /* the interface's address if dhcp_dns_listens_on() it */
};

struct dhcp_scope {
	enum dhcp_scope_kind kind;
	char *name;	       /* the section's argument: "lan" or "10.30.0.0/24" */
	char *iface;	       /* local: the interface name */
	char *device;	       /* local: its Linux device (NULL only in a config that failed) */
	struct in_addr subnet; /* remote: network address */
	uint8_t prefix_len;    /* remote */
	struct cf_pos pos;

	struct dhcp_pool *pools; /* sorted by address, not overlapping */
	size_t npools;
	uint32_t lease_time; /* seconds */
	bool router_default; /* local, no `router`: the interface address at run time */
	struct in_addr *routers;
	size_t nrouters;
	enum dhcp_dns_mode dns_mode;
	struct in_addr *dns_servers; /* DHCP_DNS_LIST */
	size_t ndns_servers;
	char *domain; /* option 15, or NULL */
	struct in_addr *ntp_servers;
	size_t nntp_servers;
	uint16_t mtu;		       /* option 26, 0: not sent */
	struct dhcp_cfg_route *routes; /* option 121, in file order (without the default route) */
	size_t nroutes;
	struct dhcp_option *options; /* sorted by code, each code once */
	size_t noptions;
	bool authoritative;

	struct dhcp_host *hosts; /* file order */
	size_t nhosts;
	/* Indexes into hosts[] for the lookups below (sorted; private to
	 * dhcp_config.c, so a hash could replace them). */
	uint32_t *by_mac, *by_client_id, *by_addr;
	size_t nby_mac, nby_client_id;
};

struct dhcp_relay {
	char *iface;
	char *device;
	struct cf_pos pos;
	struct in_addr *servers; /* every server gets each request */
	size_t nservers;
	bool agent_info;  /* insert option 82 */
	char *circuit_id; /* given, or the Linux device name (default) */
	char *remote_id;  /* NULL: none */
	uint8_t max_hops;
};

struct dhcp_config {
	struct dhcp_scope *scopes; /* file order */
	size_t nscopes;
	struct dhcp_relay *relays; /* file order */
	size_t nrelays;
	/* from the dns section (default home.arpa): client names become NAME.local_domain */
	char *local_domain;
	/* the dns section's `listen` addresses, sorted (DHCP_DNS_IFACE_IF_LISTEN) */
	struct in_addr *dns_listen;
	size_t ndns_listen;
	/* remote scopes sorted by subnet, for dhcp_scope_by_addr (private) */
	uint32_t *by_subnet;
	size_t nby_subnet;
};

/* struct gw_module's configure and free_config. *MOD_CFG stays NULL when
 * neither section is present. 0 (errors, if any, are in ERR) or -ENOMEM. */
int dhcp_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err);
void dhcp_config_free(void *cfg);

/* ---- run-time lookups (all NULL when nothing matches) ---- */

const struct dhcp_scope *dhcp_scope_by_iface(const struct dhcp_config *dc, const char *iface);
/* The remote scope whose subnet holds ADDR (a giaddr or RFC 3527 link-selection). */
const struct dhcp_scope *dhcp_scope_by_addr(const struct dhcp_config *dc, struct in_addr addr);
const struct dhcp_relay *dhcp_relay_by_iface(const struct dhcp_config *dc, const char *iface);

/* Pools, in address order: for (i = 0; (p = dhcp_scope_pool(s, i)); i++). */
const struct dhcp_pool *dhcp_scope_pool(const struct dhcp_scope *s, size_t i);
/* The pool holding ADDR. */
const struct dhcp_pool *dhcp_pool_of(const struct dhcp_scope *s, struct in_addr addr);
uint32_t dhcp_pool_size(const struct dhcp_pool *p); /* 1 .. 2^32-1 addresses */

const struct dhcp_host *dhcp_host_by_mac(const struct dhcp_scope *s, const uint8_t mac[6]);
const struct dhcp_host *dhcp_host_by_client_id(const struct dhcp_scope *s, const uint8_t *id, size_t len);
const struct dhcp_host *dhcp_host_by_addr(const struct dhcp_scope *s, struct in_addr addr);
/* The reservation of a client: by its client-id (option 61, may be NULL)
 * first, else by its MAC (NULL unless htype is Ethernet with hlen 6): RFC
 * 4361 6.3, a reservation by MAC still holds for a client that sends a
 * client-id. */
const struct dhcp_host *dhcp_host_for_client(const struct dhcp_scope *s, const uint8_t *mac,
					     const uint8_t *client_id, size_t client_id_len);

const struct dhcp_option *dhcp_scope_option(const struct dhcp_scope *s, uint8_t code);

/* Whether the dns section's `listen` addresses include ADDR (or the
 * wildcard 0.0.0.0): for DHCP_DNS_IFACE_IF_LISTEN, with the interface's
 * current address. */
bool dhcp_dns_listens_on(const struct dhcp_config *dc, struct in_addr addr);

#endif
