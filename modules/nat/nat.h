/* nat.h — the nat module as the core sees it: the `nat` section, the `nat`
 * and `nat table` commands. */
#ifndef NAT_H
#define NAT_H

#include "module.h"

extern const struct gw_module nat_module;

#endif
