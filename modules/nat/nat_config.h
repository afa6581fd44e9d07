/* nat_config.h — the `nat` section of CONFIG.md as a typed config.
 *
 * nat_configure() is the module's configure(): it reads the whole tree (the
 * `nat` section, the `interface` sections it names, and the `dhcp` sections,
 * whose scopes tell which interfaces are the LAN) and touches nothing live.
 * Addresses are network byte order, ports host order. */
#ifndef NAT_CONFIG_H
#define NAT_CONFIG_H

#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;
struct cf_errors;

#define NAT_PCP_LIFETIME_MIN_DEFAULT 120     /* 2m */
#define NAT_PCP_LIFETIME_MAX_DEFAULT 86400   /* 1d */
#define NAT_PCP_LIFETIME_FLOOR 1
#define NAT_PCP_LIFETIME_CEIL (7 * 86400)

/* bounds against hostile files; 10,000 forwards is the benchmark's size */
#define NAT_MAX_MASQUERADE 32
#define NAT_MAX_FORWARDS 65536 /* forward lines */
#define NAT_MAX_FORWARD_PORTS 262144 /* ports covered by all forwards together (each is a map element) */
#define NAT_MAX_OPEN 1024

enum nat_proto { NAT_TCP = 6, NAT_UDP = 17 };

/* `masquerade IFACE` */
struct nat_masq {
	const char *iface;  /* the `interface` name (points into the tree) */
	const char *device; /* its Linux device */
	struct cf_pos pos;
};

/* `forward PROTO PORT[-PORT] ADDRESS[:PORT]`: external ports first..last go
 * to ADDRESS, port to_port + (p - first) (to_port = first when not given). */
struct nat_forward {
	enum nat_proto proto;
	uint16_t first, last;
	struct in_addr to;
	uint16_t to_port;
	struct cf_pos pos;
};

/* `open PROTO PORT[-PORT]`: with firewall, reach the router itself from WAN */
struct nat_open {
	enum nat_proto proto;
	uint16_t first, last;
	struct cf_pos pos;
};

struct nat_config {
	struct nat_masq *masq;
	size_t nmasq;
	struct nat_forward *forwards; /* sorted by (proto, first); no two overlap */
	size_t nforwards;
	size_t forward_ports; /* total ports covered (map elements) */
	struct nat_open *open; /* sorted by (proto, first); no two overlap */
	size_t nopen;
	bool hairpin, firewall, pcp;
	uint32_t pcp_lifetime_min, pcp_lifetime_max; /* seconds */
	/* The LAN: every interface that is not a masquerade interface and has a
	 * `dhcp` scope or `dhcp-relay` (PCP requests are taken from these, and
	 * their subnets are where forwards may point; decided live). */
	const char **lan_devices;
	size_t nlan_devices;
};

int nat_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err);
void nat_config_free(void *cfg);

/* The forward covering (PROTO, PORT), or NULL (binary search). */
const struct nat_forward *nat_config_forward(const struct nat_config *nc, enum nat_proto proto, uint16_t port);

/* Whether the two configs would build the same table but for the forwards:
 * a reload then changes map elements only. */
bool nat_config_same_shape(const struct nat_config *a, const struct nat_config *b);

#endif
