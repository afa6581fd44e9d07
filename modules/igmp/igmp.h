/* igmp.h — the igmp module as the core sees it: the `igmp-proxy` section and
 * the `igmp` command. */
#ifndef IGMP_H
#define IGMP_H

#include "module.h"

extern const struct gw_module igmp_module;

#endif
