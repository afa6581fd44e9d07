/* names.h — the local names table: name → IPv4, with where it came from
 * and until when. DHCP writes it (client hostnames), the dns module writes
 * its static hosts and reads it all to answer A and PTR queries.
 *
 * Names are stored lower-case, fully qualified, without the final dot
 * ("laptop.home.arpa"); lookups are case-insensitive and accept a final
 * dot. One name may have several addresses and one address several names.
 * (name, address, source) is the identity of an entry. */
#ifndef GW_NAMES_H
#define GW_NAMES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GW_NAME_MAX 253

enum gw_name_source {
	GW_NAME_STATIC, /* dns `host` statements, dhcp `host ... name` */
	GW_NAME_HOSTS,  /* dns `hosts-file` */
	GW_NAME_DHCP,   /* a client's option 12 / 81 while its lease is bound */
};

struct gw_name {
	char name[GW_NAME_MAX + 1];
	struct in_addr addr;
	enum gw_name_source source;
	time_t expires; /* wall-clock seconds; 0: never */
};

enum gw_names_event { GW_NAME_ADDED, GW_NAME_REMOVED };
/* ENTRY is valid during the callback only. */
typedef void (*gw_names_cb)(void *data, const struct gw_name *entry, enum gw_names_event ev);

struct gw_names;

struct gw_names *gw_names_new(void);
void gw_names_free(struct gw_names *n);

/* Check and normalise a DNS name (labels 1..63 of [a-z0-9-_], not starting
 * or ending with '-', total ≤ 253, optional final dot). Writes the
 * normalised form to OUT (GW_NAME_MAX+1). 0 or -EINVAL. */
int gw_names_normalise(const char *name, char out[GW_NAME_MAX + 1]);

/* Add or refresh (name, addr, source): an existing entry gets the new
 * expiry and no event. 0, -EINVAL (bad name) or -ENOMEM. */
int gw_names_add(struct gw_names *n, const char *name, struct in_addr addr,
		 enum gw_name_source source, time_t expires);
/* Remove (name, addr, source). 0 or -ENOENT. */
int gw_names_remove(struct gw_names *n, const char *name, struct in_addr addr,
		    enum gw_name_source source);
/* Remove every entry of SOURCE (a reload of the static hosts). Returns the count. */
size_t gw_names_remove_source(struct gw_names *n, enum gw_name_source source);
/* Remove entries whose expiry is ≤ NOW. Returns the count. */
size_t gw_names_expire(struct gw_names *n, time_t now);
/* The earliest expiry in the table, 0 when none expires. */
time_t gw_names_next_expiry(const struct gw_names *n);

/* Lookups fill OUT with up to MAX matches and return the total count
 * (entries expired at NOW are skipped). */
size_t gw_names_lookup(const struct gw_names *n, const char *name, time_t now,
		       const struct gw_name **out, size_t max);
size_t gw_names_lookup_addr(const struct gw_names *n, struct in_addr addr, time_t now,
			    const struct gw_name **out, size_t max);
/* Whether NAME exists from a source other than EXCEPT (anti-spoofing:
 * DHCP may not claim a static name). */
bool gw_names_exists_other(const struct gw_names *n, const char *name,
			   enum gw_name_source except, time_t now);
size_t gw_names_count(const struct gw_names *n);
/* Iterate: *cursor = 0 first; NULL at the end. */
const struct gw_name *gw_names_next(const struct gw_names *n, size_t *cursor);

int gw_names_subscribe(struct gw_names *n, gw_names_cb cb, void *data); /* id > 0 */
void gw_names_unsubscribe(struct gw_names *n, int id);

#endif
