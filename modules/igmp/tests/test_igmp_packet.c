/* test_igmp_packet.c — IGMP messages as a raw socket hands them over (the
 * whole IPv4 packet): what Linux hosts send (DF set, Router Alert), every
 * query version of RFC 3376 7.1, v3 records with aux data and unknown
 * types, every way a length or count can lie, the RFC 1071 checksum, the
 * 8-bit time codes of RFC 3376 4.1.1 / 4.1.7, and the query builder byte
 * for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "igmp_packet.h"

static struct igmp_msg m;

struct pkt {
	uint8_t b[2048];
	size_t n;
};

/* An IPv4 header from 10.0.0.101 to DST with Router Alert (24 bytes, DF,
 * TTL 1, protocol 2, TOS 0xc0: what Linux sends), then IGMP (its checksum
 * filled), total length set. */
static void make(struct pkt *p, const char *dst, const uint8_t *igmp, size_t len)
{
	static const uint8_t hdr[24] = {0x46, 0xc0, 0, 0,   0, 0, 0x40, 0, 1,	 2, 0, 0,
					10,   0,    0, 101, 0, 0, 0,	0, 0x94, 4, 0, 0};
	struct in_addr d;

	assert_int_equal(inet_pton(AF_INET, dst, &d), 1);
	memcpy(p->b, hdr, 24);
	memcpy(p->b + 16, &d, 4);
	memcpy(p->b + 24, igmp, len);
	p->n = 24 + len;
	p->b[2] = (uint8_t)(p->n >> 8);
	p->b[3] = (uint8_t)p->n;
	if (len >= 4) {
		p->b[26] = p->b[27] = 0;
		uint16_t sum = igmp_checksum(p->b + 24, len);
		p->b[26] = (uint8_t)(sum >> 8);
		p->b[27] = (uint8_t)sum;
	}
}

static const char *str(struct in_addr a)
{
	static char buf[2][INET_ADDRSTRLEN];
	static int i;

	i ^= 1;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

static const char *src_at(const uint8_t *srcs, size_t i)
{
	struct in_addr a;

	memcpy(&a, srcs + 4 * i, 4);
	return str(a);
}

/* ------------------------------------------------------------ reports */

static void test_v2_report(void **st)
{
	static const uint8_t igmp[] = {0x16, 0, 0, 0, 239, 1, 2, 3};
	struct pkt p;

	(void)st;
	make(&p, "239.1.2.3", igmp, sizeof(igmp));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.type, IGMP_V2_REPORT);
	assert_string_equal(str(m.group), "239.1.2.3");
	assert_string_equal(str(m.ip_src), "10.0.0.101");
	assert_string_equal(str(m.ip_dst), "239.1.2.3");
	assert_int_equal(m.ttl, 1);
	assert_true(m.router_alert);
	/* bytes past the total length (Ethernet padding) are not the message */
	p.b[p.n] = 0xff;
	p.b[p.n + 1] = 0xff;
	assert_int_equal(igmp_parse(p.b, p.n + 2, &m), IGMP_OK);
	/* RFC 2236 2.5: a longer message counts by its first 8 octets */
	static const uint8_t longer[] = {0x16, 0, 0, 0, 239, 1, 2, 3, 0xaa, 0xbb, 0xcc};
	make(&p, "239.1.2.3", longer, sizeof(longer));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_string_equal(str(m.group), "239.1.2.3");
}

static void test_v1_report_and_leave(void **st)
{
	static const uint8_t v1[] = {0x12, 0, 0, 0, 224, 1, 1, 1};
	static const uint8_t leave[] = {0x17, 0, 0, 0, 239, 9, 9, 9};
	struct pkt p;

	(void)st;
	make(&p, "224.1.1.1", v1, sizeof(v1));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.type, IGMP_V1_REPORT);
	assert_string_equal(str(m.group), "224.1.1.1");
	make(&p, "224.0.0.2", leave, sizeof(leave));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.type, IGMP_V2_LEAVE);
	assert_string_equal(str(m.group), "239.9.9.9");
	assert_string_equal(str(m.ip_dst), "224.0.0.2");
}

/* A Linux host's v3 report: three records, one with aux data, one of a
 * type RFC 3376 does not define (its reader skips it, 4.2.12). */
static void test_v3_report(void **st)
{
	static const uint8_t igmp[] = {0x22, 0, 0, 0, 0, 0, 0, 3,
				       /* TO_EX {} */
				       4, 0, 0, 0, 239, 1, 2, 3,
				       /* ALLOW {198.51.100.1, 198.51.100.2}, 1 word of aux data */
				       5, 1, 0, 2, 232, 1, 1, 1, 198, 51, 100, 1, 198, 51, 100, 2, 0xde, 0xad,
				       0xbe, 0xef,
				       /* type 9 {203.0.113.9} */
				       9, 0, 0, 1, 239, 7, 7, 7, 203, 0, 113, 9};
	struct igmp_record r;
	size_t cur = 0;
	struct pkt p;

	(void)st;
	make(&p, "224.0.0.22", igmp, sizeof(igmp));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.type, IGMP_V3_REPORT);
	assert_int_equal(m.nrec, 3);
	assert_int_equal(m.rec_len, sizeof(igmp) - 8);
	assert_int_equal(igmp_record_next(&m, &cur, &r), 1);
	assert_int_equal(r.type, IGMP_CHANGE_TO_EXCLUDE);
	assert_string_equal(str(r.group), "239.1.2.3");
	assert_int_equal(r.nsrc, 0);
	assert_int_equal(igmp_record_next(&m, &cur, &r), 1);
	assert_int_equal(r.type, IGMP_ALLOW_NEW_SOURCES);
	assert_string_equal(str(r.group), "232.1.1.1");
	assert_int_equal(r.nsrc, 2);
	assert_string_equal(src_at(r.srcs, 0), "198.51.100.1");
	assert_string_equal(src_at(r.srcs, 1), "198.51.100.2");
	assert_int_equal(igmp_record_next(&m, &cur, &r), 1);
	assert_int_equal(r.type, 9);
	assert_string_equal(str(r.group), "239.7.7.7");
	assert_string_equal(src_at(r.srcs, 0), "203.0.113.9");
	assert_int_equal(igmp_record_next(&m, &cur, &r), 0);
	assert_int_equal(igmp_record_next(&m, &cur, &r), 0);
	/* not a report: no records */
	static const uint8_t v2[] = {0x16, 0, 0, 0, 239, 1, 2, 3};
	make(&p, "239.1.2.3", v2, sizeof(v2));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	cur = 0;
	assert_int_equal(igmp_record_next(&m, &cur, &r), 0);
}

static void test_v3_report_lies(void **st)
{
	uint8_t igmp[8 + 8 + 4 * 400] = {0x22, 0, 0, 0, 0,   0,	 0,   1, 1,   0,  0,   2,
					 239,  1, 2, 3, 198, 51, 100, 1, 198, 51, 100, 2};
	struct pkt p;

	(void)st;
	make(&p, "224.0.0.22", igmp, 24);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	/* trailing bytes after the last record are ignored */
	make(&p, "224.0.0.22", igmp, 28);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.rec_len, 16);
	/* a record count that promises more records */
	igmp[7] = 2;
	make(&p, "224.0.0.22", igmp, 24);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
	igmp[7] = 1;
	/* a source count past the end */
	igmp[11] = 3;
	make(&p, "224.0.0.22", igmp, 24);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
	igmp[11] = 2;
	/* aux data past the end */
	igmp[9] = 1;
	make(&p, "224.0.0.22", igmp, 24);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
	igmp[9] = 0;
	/* a cut record header */
	make(&p, "224.0.0.22", igmp, 12);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
	/* 367 sources, all there: more than a frame holds, refused */
	igmp[10] = 367 >> 8;
	igmp[11] = 367 & 0xff;
	make(&p, "224.0.0.22", igmp, 16 + 4 * 367);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_COUNT);
	igmp[10] = IGMP_V3_MAX_SOURCES >> 8;
	igmp[11] = IGMP_V3_MAX_SOURCES & 0xff;
	make(&p, "224.0.0.22", igmp, 16 + 4 * IGMP_V3_MAX_SOURCES);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
}

/* ------------------------------------------------------------ queries */

/* RFC 3376 7.1: the version from the length and the Max Resp Code. */
static void test_query_versions(void **st)
{
	uint8_t igmp[16] = {0x11, 0, 0, 0, 0, 0, 0, 0, 0x02, 125, 0, 0};
	struct pkt p;

	(void)st;
	make(&p, "224.0.0.1", igmp, 8);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.type, IGMP_MEMBERSHIP_QUERY);
	assert_int_equal(m.query_version, 1);
	assert_int_equal(m.max_resp_ms, 10000); /* RFC 2236 4: 0 means 10 s */
	igmp[1] = 100;
	make(&p, "224.0.0.1", igmp, 8);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.query_version, 2);
	assert_int_equal(m.max_resp_ms, 10000);
	igmp[1] = 255;
	make(&p, "224.0.0.1", igmp, 8);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.max_resp_ms, 25500);
	/* 9 to 11 octets: no version, ignored */
	for (size_t n = 9; n <= 11; n++) {
		make(&p, "224.0.0.1", igmp, n);
		assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
	}
	igmp[1] = 100;
	make(&p, "224.0.0.1", igmp, 12);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.query_version, 3);
	assert_int_equal(m.max_resp_ms, 10000);
	assert_int_equal(m.qrv, 2);
	assert_int_equal(m.qqi_s, 125);
	assert_false(m.s_flag);
	assert_int_equal(m.nsrc, 0);
	assert_int_equal(m.group.s_addr, 0);
}

static void test_v3_query_fields(void **st)
{
	static const uint8_t igmp[] = {0x11, 0x8f, 0,  0,   239, 1,   2,  3,   0xfb, 0x8c, 0,
				       2,    198,  51, 100, 1,	 198, 51, 100, 2,    0xaa, 0xbb};
	struct pkt p;

	(void)st;
	make(&p, "239.1.2.3", igmp, sizeof(igmp));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.query_version, 3);
	/* 0x8f: (0xf | 0x10) << 3 = 248 tenths */
	assert_int_equal(m.max_resp_ms, 24800);
	assert_string_equal(str(m.group), "239.1.2.3");
	assert_true(m.s_flag);
	assert_int_equal(m.qrv, 3); /* the reserved bits of 0xfb are not QRV */
	assert_int_equal(m.qqi_s, (0xc | 0x10) << 3);
	assert_int_equal(m.nsrc, 2);
	assert_string_equal(src_at(m.srcs, 0), "198.51.100.1");
	assert_string_equal(src_at(m.srcs, 1), "198.51.100.2");
}

static void test_v3_query_lies(void **st)
{
	uint8_t igmp[12 + 4 * 400] = {0x11, 100, 0,   0,  239, 1, 2,   3,  2,	125,
				      0,    3,	 198, 51, 100, 1, 198, 51, 100, 2};
	struct pkt p;

	(void)st;
	make(&p, "239.1.2.3", igmp, 20);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
	igmp[10] = 367 >> 8;
	igmp[11] = 367 & 0xff;
	make(&p, "239.1.2.3", igmp, 12 + 4 * 367);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_COUNT);
	make(&p, "239.1.2.3", igmp, 12 + 4 * 366);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_LENGTH);
}

/* ------------------------------------------------------------ drops */

static void test_checksum(void **st)
{
	/* RFC 1071 4.1's example: the sum is ddf2, the checksum its complement */
	static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[] = {0x16, 0, 0, 0, 239, 1, 2, 3, 0x5a};
	static const uint8_t v2[] = {0x16, 0, 0, 0, 239, 1, 2, 3};
	struct pkt p;

	(void)st;
	assert_int_equal(igmp_checksum(rfc, sizeof(rfc)), 0x220d);
	assert_int_equal(igmp_checksum(odd + 8, 1), 0xa5ff);
	/* an odd length: the last byte padded with zero */
	make(&p, "239.1.2.3", odd, sizeof(odd));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	make(&p, "239.1.2.3", v2, sizeof(v2));
	assert_int_equal(igmp_checksum(p.b + 24, 8), 0);
	p.b[27] ^= 1;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_CHECKSUM);
	p.b[27] ^= 1;
	p.b[31] ^= 0x80; /* the group */
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_CHECKSUM);
}

static void test_ip_header(void **st)
{
	static const uint8_t v2[] = {0x16, 0, 0, 0, 239, 1, 2, 3};
	struct pkt p;

	(void)st;
	make(&p, "239.1.2.3", v2, sizeof(v2));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	/* shorter than an IP header */
	assert_int_equal(igmp_parse(p.b, 19, &m), IGMP_ERR_IP);
	assert_int_equal(igmp_parse(p.b, 0, &m), IGMP_ERR_IP);
	/* version 6 */
	p.b[0] = 0x66;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	/* IHL below 5 */
	p.b[0] = 0x44;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	/* IHL past the packet */
	p.b[0] = 0x4f;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	p.b[0] = 0x46;
	/* total length past what was received, and below the header */
	p.b[3] = (uint8_t)(p.n + 1);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	p.b[3] = 23;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	/* total length leaving fewer than 8 octets of IGMP */
	p.b[3] = 31;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_SHORT);
	p.b[3] = 24;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_SHORT);
	p.b[3] = (uint8_t)p.n;
	/* not protocol 2 */
	p.b[9] = 17;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	p.b[9] = 2;
	/* fragments: MF, then an offset */
	p.b[6] = 0x20;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	p.b[6] = 0x00;
	p.b[7] = 0x01;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	p.b[7] = 0;
	/* DF alone is fine (Linux sets it) */
	p.b[6] = 0x40;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	/* the TTL is read, not judged */
	p.b[8] = 64;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.ttl, 64);
}

static void test_ip_options(void **st)
{
	static const uint8_t v2[] = {0x16, 0, 0, 0, 239, 1, 2, 3};
	struct pkt p;

	(void)st;
	make(&p, "239.1.2.3", v2, sizeof(v2));
	/* NOP, NOP, EOL: no Router Alert */
	p.b[20] = 1, p.b[21] = 1, p.b[22] = 0, p.b[23] = 0;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_false(m.router_alert);
	/* an option of length 0, or longer than the header */
	p.b[20] = 0x44, p.b[21] = 0;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	p.b[21] = 5;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	/* a type byte with no room for its length */
	p.b[20] = 1, p.b[21] = 1, p.b[22] = 1, p.b[23] = 0x44;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_IP);
	/* a Router Alert with the wrong length is not one */
	p.b[20] = 0x94, p.b[21] = 2, p.b[22] = 1, p.b[23] = 0;
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_false(m.router_alert);
	/* without options at all */
	static const uint8_t hdr20[20] = {0x45, 0xc0, 0,  28, 0, 0,   0x40, 0, 1, 2,
					  0,	0,    10, 0,  0, 101, 239,  1, 2, 3};
	uint8_t b[28];
	memcpy(b, hdr20, 20);
	memcpy(b + 20, p.b + 24, 8);
	assert_int_equal(igmp_parse(b, sizeof(b), &m), IGMP_OK);
	assert_false(m.router_alert);
	assert_string_equal(str(m.group), "239.1.2.3");
}

static void test_unknown_type(void **st)
{
	static const uint8_t dvmrp[] = {0x13, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t mtrace[] = {0x1f, 0, 0, 0, 239, 1, 2, 3, 0, 0, 0, 0};
	struct pkt p;

	(void)st;
	make(&p, "224.0.0.4", dvmrp, sizeof(dvmrp));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_TYPE);
	make(&p, "224.0.0.4", mtrace, sizeof(mtrace));
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_ERR_TYPE);
	assert_string_equal(igmp_parse_error_str(IGMP_ERR_TYPE), "unknown IGMP type");
	assert_string_equal(igmp_parse_error_str(IGMP_OK), "ok");
	assert_string_equal(igmp_parse_error_str(IGMP_ERR_IP), "bad IPv4 header");
	assert_string_equal(igmp_parse_error_str(IGMP_ERR_SHORT), "IGMP message too short");
	assert_string_equal(igmp_parse_error_str(IGMP_ERR_CHECKSUM), "bad IGMP checksum");
	assert_string_equal(igmp_parse_error_str(IGMP_ERR_LENGTH), "IGMP lengths do not add up");
	assert_string_equal(igmp_parse_error_str(IGMP_ERR_COUNT), "too many sources");
	assert_string_equal(igmp_parse_error_str((enum igmp_parse_error)99), "unknown error");
}

/* ------------------------------------------------------------ time codes */

static void test_time_codes(void **st)
{
	(void)st;
	assert_int_equal(igmp_time_decode(0), 0);
	assert_int_equal(igmp_time_decode(127), 127);
	assert_int_equal(igmp_time_decode(0x80), 128);
	assert_int_equal(igmp_time_decode(0x81), 136);
	assert_int_equal(igmp_time_decode(0x90), 256);
	assert_int_equal(igmp_time_decode(0xff), 31744);
	assert_int_equal(igmp_time_encode(0), 0);
	assert_int_equal(igmp_time_encode(125), 125);
	assert_int_equal(igmp_time_encode(128), 0x80);
	assert_int_equal(igmp_time_encode(135), 0x80); /* rounded down */
	assert_int_equal(igmp_time_encode(136), 0x81);
	assert_int_equal(igmp_time_encode(31744), 0xff);
	assert_int_equal(igmp_time_encode(UINT32_MAX), 0xff);
	/* every code decodes to a value that encodes back to it */
	for (unsigned c = 0; c < 256; c++)
		assert_int_equal(igmp_time_encode(igmp_time_decode((uint8_t)c)), c);
	/* every value encodes to the largest code not above it */
	for (uint32_t v = 0; v < 40000; v++) {
		uint8_t c = igmp_time_encode(v);

		assert_true(igmp_time_decode(c) <= v);
		if (c < 0xff)
			assert_true(igmp_time_decode((uint8_t)(c + 1)) > v);
	}
}

/* ------------------------------------------------------------ building */

static void test_build_query(void **st)
{
	static const uint8_t v2_general[] = {0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0};
	static const uint8_t v3_general[] = {0x11, 0x64, 0xec, 0x1e, 0, 0, 0, 0, 0x02, 0x7d, 0, 0};
	struct in_addr none = {0}, g, s[2];
	uint8_t out[64];
	struct pkt p;

	(void)st;
	assert_int_equal(igmp_build_query(out, sizeof(out), 2, none, NULL, 0, 10000, false, 2, 125), 8);
	assert_memory_equal(out, v2_general, 8);
	assert_int_equal(igmp_build_query(out, sizeof(out), 3, none, NULL, 0, 10000, false, 2, 125), 12);
	assert_memory_equal(out, v3_general, 12);

	/* group-and-source-specific, S set, parsed back */
	inet_pton(AF_INET, "239.1.2.3", &g);
	inet_pton(AF_INET, "198.51.100.1", &s[0]);
	inet_pton(AF_INET, "203.0.113.7", &s[1]);
	size_t n = igmp_build_query(out, sizeof(out), 3, g, s, 2, 1000, true, 2, 125);
	assert_int_equal(n, 20);
	make(&p, "239.1.2.3", out, n);
	assert_int_equal(igmp_parse(p.b, p.n, &m), IGMP_OK);
	assert_int_equal(m.query_version, 3);
	assert_int_equal(m.max_resp_ms, 1000);
	assert_true(m.s_flag);
	assert_int_equal(m.qrv, 2);
	assert_int_equal(m.qqi_s, 125);
	assert_string_equal(str(m.group), "239.1.2.3");
	assert_int_equal(m.nsrc, 2);
	assert_string_equal(src_at(m.srcs, 1), "203.0.113.7");

	/* RFC 3376 4.1.6: a robustness above 7 goes as QRV 0; big values as codes */
	n = igmp_build_query(out, sizeof(out), 3, g, NULL, 0, 3600000, false, 9, 1000);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[8], 0);
	assert_int_equal(out[9], igmp_time_encode(1000));
	assert_int_equal(igmp_checksum(out, n), 0);
	/* v2: tenths in an octet, never 0 (that would be a v1 query) */
	igmp_build_query(out, sizeof(out), 2, g, NULL, 0, 50, false, 2, 125);
	assert_int_equal(out[1], 1);
	igmp_build_query(out, sizeof(out), 2, g, NULL, 0, 60000, false, 2, 125);
	assert_int_equal(out[1], 255);
	/* what cannot be built */
	assert_int_equal(igmp_build_query(out, sizeof(out), 2, g, s, 2, 1000, false, 2, 125), 0);
	assert_int_equal(igmp_build_query(out, sizeof(out), 1, g, NULL, 0, 1000, false, 2, 125), 0);
	assert_int_equal(igmp_build_query(out, 11, 3, g, NULL, 0, 1000, false, 2, 125), 0);
	assert_int_equal(igmp_build_query(out, 19, 3, g, s, 2, 1000, false, 2, 125), 0);
	assert_int_equal(igmp_build_query(out, 7, 2, g, NULL, 0, 1000, false, 2, 125), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_report),      cmocka_unit_test(test_v1_report_and_leave),
		cmocka_unit_test(test_v3_report),      cmocka_unit_test(test_v3_report_lies),
		cmocka_unit_test(test_query_versions), cmocka_unit_test(test_v3_query_fields),
		cmocka_unit_test(test_v3_query_lies),  cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_ip_header),      cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_unknown_type),   cmocka_unit_test(test_time_codes),
		cmocka_unit_test(test_build_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
