/* igmp_packet.h — IGMPv1/v2/v3 messages (RFC 1112, RFC 2236, RFC 3376) read
 * and written through the bounds-checked cursor of wire.h. Pure.
 *
 * What a raw IGMP socket hands us is the whole IPv4 packet: igmp_parse()
 * checks the IP header (version, IHL, total length, protocol 2, TTL 1 is
 * the sender's business and only counted), finds the IGMP message behind
 * the options, verifies its checksum (RFC 1071) and decodes it. Hostile
 * cases end in an error code, never a read past the packet: lengths that do
 * not add up, v3 group records whose source counts or aux data lengths lie,
 * a v3 query whose source count does not fit. */
#ifndef IGMP_PACKET_H
#define IGMP_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum igmp_type {
	IGMP_MEMBERSHIP_QUERY = 0x11,
	IGMP_V1_REPORT = 0x12,
	IGMP_V2_REPORT = 0x16,
	IGMP_V2_LEAVE = 0x17,
	IGMP_V3_REPORT = 0x22,
};

/* RFC 3376 4.2.12 group record types */
enum igmp_record_type {
	IGMP_MODE_IS_INCLUDE = 1,
	IGMP_MODE_IS_EXCLUDE = 2,
	IGMP_CHANGE_TO_INCLUDE = 3,
	IGMP_CHANGE_TO_EXCLUDE = 4,
	IGMP_ALLOW_NEW_SOURCES = 5,
	IGMP_BLOCK_OLD_SOURCES = 6,
};

#define IGMP_V3_MAX_SOURCES 366 /* what fits a 1500-byte frame; more in one record is refused */

enum igmp_parse_error {
	IGMP_OK = 0,
	IGMP_ERR_IP,	   /* not a sane IPv4 header, or not protocol 2 */
	IGMP_ERR_SHORT,	   /* the IGMP part is shorter than its type needs */
	IGMP_ERR_CHECKSUM, /* RFC 1071 checksum over the IGMP message fails */
	IGMP_ERR_TYPE,	   /* unknown type (counted, ignored: RFC 3376 4.3) */
	IGMP_ERR_LENGTH,   /* counts or lengths that do not add up (lying source counts, aux data) */
	IGMP_ERR_COUNT,
};

/* A v3 group record: SRCS points into the packet (NSRC addresses). */
struct igmp_record {
	uint8_t type;
	struct in_addr group;
	uint16_t nsrc;
	const uint8_t *srcs; /* nsrc * 4 bytes, network order */
};

struct igmp_msg {
	struct in_addr ip_src, ip_dst;
	uint8_t ttl;
	bool router_alert; /* RFC 2113 option present */
	uint8_t type;
	/* queries: the version as RFC 3376 7.1 tells it from the length and the code */
	int query_version;	  /* 1, 2 or 3 */
	uint32_t max_resp_ms;	  /* decoded (v3: RFC 3376 4.1.1 exponential form; v2: tenths; v1: 10 s) */
	struct in_addr group;	  /* queries (0: general), v1/v2 reports and leaves */
	bool s_flag;		  /* v3 query: suppress router-side processing */
	uint8_t qrv;		  /* v3 query: querier's robustness */
	uint32_t qqi_s;		  /* v3 query: querier's query interval, seconds (decoded QQIC) */
	uint16_t nsrc;		  /* v3 query's sources */
	const uint8_t *srcs;	  /* nsrc * 4 bytes */
	/* v3 reports */
	uint16_t nrec;
	const uint8_t *rec_start; /* for igmp_record_next */
	size_t rec_len;
};

/* Parse the IPv4 packet PKT (LEN bytes) holding one IGMP message. */
enum igmp_parse_error igmp_parse(const uint8_t *pkt, size_t len, struct igmp_msg *m);
const char *igmp_parse_error_str(enum igmp_parse_error e);

/* Iterate the group records of a v3 report: *cursor = 0 first; returns 1
 * and the next record, 0 at the end (igmp_parse checked them all). */
int igmp_record_next(const struct igmp_msg *m, size_t *cursor, struct igmp_record *r);

/* RFC 3376 4.1.1 / 4.1.7: the 8-bit "code" form of a time (max resp code in
 * tenths of a second, QQIC in seconds) and back. */
uint8_t igmp_time_encode(uint32_t value);
uint32_t igmp_time_decode(uint8_t code);

/* Build the IGMP part of a query (the IP header with Router Alert is the
 * socket's: IP_OPTIONS, TTL 1, TOS 0xc0): VERSION 2 (8 bytes; group
 * specific when GROUP is set) or 3 (12 + 4 * NSRC bytes) with MAX_RESP_MS,
 * S flag, QRV and QQI. Checksum filled. Returns the length, 0 if it does not
 * fit. */
size_t igmp_build_query(uint8_t *out, size_t cap, int version, struct in_addr group, const struct in_addr *srcs,
			size_t nsrc, uint32_t max_resp_ms, bool s_flag, uint8_t qrv, uint32_t qqi_s);

uint16_t igmp_checksum(const uint8_t *p, size_t len);

#endif
