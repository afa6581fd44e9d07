/* dns.h — the dns module as the core sees it: the `dns` section, the
 * `dns stats`, `dns cache` and `dns flush` commands. */
#ifndef DNS_H
#define DNS_H

#include "module.h"

extern const struct gw_module dns_module;

#endif
