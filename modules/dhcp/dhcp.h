/* dhcp.h — the dhcp module as the core sees it: `dhcp` and `dhcp-relay`
 * sections, the `leases`, `lease release` and `dhcp stats` commands. */
#ifndef DHCP_H
#define DHCP_H

#include "module.h"

extern const struct gw_module dhcp_module;

#endif
