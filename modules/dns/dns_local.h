/* dns_local.h — what the resolver answers itself and never sends upstream.
 *
 *  - The local domain (`local-domain`, default home.arpa, RFC 8375): names
 *    of the core names table (DHCP clients, `host` statements, hosts-file)
 *    as A records. The domain is authoritative here: an unknown name is
 *    NXDOMAIN, a known name asked for another type is NODATA, both with the
 *    zone's SOA in the authority section (RFC 2308 3). The apex answers SOA
 *    and NS (localhost.).
 *  - PTR for every address in the names table, whatever its name's domain.
 *  - Locally served zones (RFC 6303 4; RFC 7793 for 100.64.0.0/10; RFC 6761
 *    6.3/6.4): the reverse zones of private, loopback, link-local,
 *    "this network", broadcast and the IPv6 ones (::, ::1, fe80::/10,
 *    fd00::/8 ...), and `localhost.` (A 127.0.0.1, AAAA ::1 for the name
 *    and every name below it) and `invalid.` (NXDOMAIN). A reverse name
 *    without an entry in the names table is NXDOMAIN with the zone's SOA.
 *    (`test.` of RFC 6761 is not served locally: the lab's own hierarchy
 *    uses it as a TLD, and RFC 6761 6.2 only says resolvers SHOULD NOT
 *    recurse for it.)
 *
 * Answers carry AA, TTL DNS_LOCAL_TTL (a DHCP name: no longer than its
 * lease has left), and SOA "ZONE. IN SOA localhost. nobody.invalid. 1 3600
 * 1200 604800 DNS_LOCAL_TTL" like unbound's locally served zones. */
#ifndef DNS_LOCAL_H
#define DNS_LOCAL_H

#include "dns_wire.h"

#include <stdbool.h>
#include <time.h>

struct gw_names;

#define DNS_LOCAL_TTL 60

/* Whether QNAME (any type) is answered locally: in the local domain or a
 * locally served zone. It does not see the names table, so the one case
 * where dns_local_answer() also answers is left out: the PTR name of an
 * address outside those zones that the names table maps (a `host`
 * statement for a public address). Such a name goes upstream when the
 * table has no entry for it; callers that must know ask dns_local_answer(). */
bool dns_local_covers(const struct dns_name *local_domain, const struct dns_name *qname);

/* Answer the query Q (parsed, one question, class IN) when dns_local_covers()
 * says so. Writes the whole response into DW, which the caller initialised
 * with dns_writer_init(Q's id, flags QR|AA|RA|(Q's RD, CD)): the question as
 * the client spelt it, the answer, the authority SOA for negative answers,
 * the rcode. The caller may then add an OPT and calls dns_writer_finish().
 * Returns 1 when answered, 0 when QNAME is not local (DW untouched). NOW is
 * wall-clock seconds (the names table's expiry clock).
 * Also 0 for qdcount 0 or a class other than IN (the caller's to answer).
 * AXFR/IXFR of a local name is REFUSED (RFC 5936 2.2.1). A name with
 * nothing of its own but a name below it (lab.home.arpa over
 * nas.lab.home.arpa, 1.168.192.in-addr.arpa over 192.168.1.10) is NODATA,
 * not NXDOMAIN (RFC 8020 2). */
int dns_local_answer(const struct dns_name *local_domain, const struct gw_names *names, const struct dns_msg *q,
		     time_t now, struct dns_writer *dw);

#endif
