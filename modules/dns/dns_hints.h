/* dns_hints.h — where recursion starts: the root servers, from a root.hints
 * file (the zone-file subset IANA publishes as named.root) or the built-in
 * IANA list.
 *
 * The file is read at start and reload (its content is not config), so its
 * errors are reported then, with PATH:LINE, and the previous hints (or the
 * built-in list at start) stay in force. Only what recursion needs is kept:
 * the root's NS names and their IPv4 addresses (homegwd's upstream is
 * IPv4); AAAA lines are accepted and skipped. */
#ifndef DNS_HINTS_H
#define DNS_HINTS_H

#include "dns_wire.h"

#include <netinet/in.h>
#include <stddef.h>

#define DNS_HINTS_FILE_MAX (1u << 20)
#define DNS_HINTS_MAX 64 /* servers kept */
#define DNS_HINTS_LINE_MAX 4096 /* bytes of one line (its newline excluded): longer is an error */

struct dns_hint {
	struct dns_name name; /* lower-cased */
	struct in_addr addr;
};

struct dns_hints {
	struct dns_hint *v;
	size_t n;
};

/* Parse TEXT (LEN bytes) in zone-file syntax: lines "OWNER [TTL] [IN] TYPE
 * RDATA" with ';' comments, owner "." for the NS lines, names absolute (a
 * final dot; a relative name is an error: hint files have no $ORIGIN),
 * types NS, A, AAAA (others are an error). Every NS name of the root must
 * have at least one A line, else it is dropped (with a note in ERR only if
 * none remains). Duplicates are merged. On error returns -EINVAL with
 * "PATH:LINE: what" in ERR; OUT is then empty. No servers at all is an
 * error ("no root server with an IPv4 address"). */
int dns_hints_parse(const char *text, size_t len, const char *path, struct dns_hints *out, char *err,
		    size_t errlen);
/* Read PATH (at most DNS_HINTS_FILE_MAX bytes) and parse it. -errno (with ERR
 * "PATH: strerror") when it cannot be read. */
int dns_hints_load(const char *path, struct dns_hints *out, char *err, size_t errlen);
/* The IANA root servers a..m.root-servers.net, IPv4 (as of 2024). */
int dns_hints_builtin(struct dns_hints *out);
void dns_hints_free(struct dns_hints *h);

#endif
