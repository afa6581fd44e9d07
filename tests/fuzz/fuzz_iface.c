/* fuzz_iface.c — libFuzzer target: arbitrary bytes as one recv() of
 * rtnetlink messages into a fresh interface table with a subscriber. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iface.h"
#include "log.h"

struct seen {
	size_t events;
	uint64_t sum; /* touch what the callback is given, so ASan checks it */
};

static void on_event(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *addr)
{
	struct seen *s = data;

	s->events++;
	s->sum += (uint64_t)ifc->ifindex + ifc->mtu + ifc->naddrs + strnlen(ifc->name, IF_NAMESIZE) + ev;
	for (size_t i = 0; i < ifc->naddrs; i++)
		s->sum += ifc->addrs[i].addr.s_addr;
	if (addr)
		s->sum += addr->addr.s_addr + addr->prefixlen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_iface_table *t = gw_iface_table_new();
	struct seen s = {0, 0};
	size_t cursor = 0;

	if (!t)
		return 0;
	gw_log_set_level(GW_LOG_ERR); /* the table's warnings are expected here */
	if (gw_iface_subscribe(t, on_event, &s) > 0) {
		/* libFuzzer's DATA is an exact-size heap copy (ASan sees any read
		 * past SIZE) with malloc's alignment, like a socket buffer's */
		(void)gw_iface_handle_buf(t, data, size);
	}
	while (gw_iface_next(t, &cursor))
		;
	gw_iface_table_free(t);
	return 0;
}
