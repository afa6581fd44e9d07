/* igmp_packet.c — IGMPv1/v2/v3 messages (see igmp_packet.h for the rules
 * and the RFC sections they come from). Every byte is read through wire.h;
 * a v3 report's records are all walked once here, so igmp_record_next()
 * iterates over a region already known to hold exactly NREC records. */
#include "igmp_packet.h"

#include <string.h>

#include "wire.h"

#define IP_HDR_MIN 20
#define IGMP_HDR 8	/* type, code, checksum, group (or v3 report: reserved, nrec) */
#define V3_QUERY_HDR 12 /* + S/QRV, QQIC, number of sources */
#define V3_REC_HDR 8	/* type, aux data len, nsrc, group */
#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_RA 148 /* RFC 2113 Router Alert: type 148, length 4 */

uint16_t igmp_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	/* RFC 1071: the ones' complement sum of the 16-bit words, an odd
	 * last byte padded with zero; folded, then complemented. */
	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t igmp_time_decode(uint8_t code)
{
	/* RFC 3376 4.1.1 / 4.1.7: below 128 the value itself; above, a
	 * floating point form 1|exp(3)|mant(4) = (mant | 0x10) << (exp + 3). */
	if (code < 128)
		return code;
	return (uint32_t)((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
}

uint8_t igmp_time_encode(uint32_t value)
{
	/* The largest representable value not above VALUE: a rounded-down
	 * Max Resp Time only makes hosts answer sooner, a rounded-down QQI
	 * only makes others expect our queries sooner. */
	if (value < 128)
		return (uint8_t)value;
	if (value >= igmp_time_decode(0xff))
		return 0xff;
	for (int exp = 7; exp >= 0; exp--) {
		uint32_t mant = value >> (exp + 3);

		if (mant >= 0x10)
			return (uint8_t)(0x80 | exp << 4 | (mant - 0x10));
	}
	return 0x80; /* not reached: value >= 128 has mant >= 0x10 at exp 0 */
}

/* The options of an IPv4 header (RFC 791 3.1): EOL ends them, NOP is one
 * byte, every other option has a length that must stay inside the header.
 * Notes the Router Alert (RFC 2113). */
static bool ip_options(const uint8_t *opt, size_t len, bool *router_alert)
{
	size_t i = 0;

	while (i < len) {
		uint8_t type = opt[i];

		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2 || opt[i + 1] < 2 || opt[i + 1] > len - i)
			return false;
		if (type == IPOPT_RA && opt[i + 1] == 4)
			*router_alert = true;
		i += opt[i + 1];
	}
	return true;
}

/* The IPv4 header: fills the addresses, TTL and Router Alert of M and
 * points *IGMP / *IGMP_LEN at the payload that total length gives. The
 * header checksum is the kernel's business (it drops bad ones before a raw
 * socket sees them). Fragments never reach a raw socket unreassembled, so
 * one here is not a sane packet. */
static enum igmp_parse_error ip_header(const uint8_t *pkt, size_t len, struct igmp_msg *m,
				       const uint8_t **igmp, size_t *igmp_len)
{
	struct wire r = wire_reader(pkt, len);
	uint8_t vihl = wire_u8(&r);
	size_t ihl = (size_t)(vihl & 0x0f) * 4;

	wire_skip(&r, 1); /* TOS */
	size_t total = wire_u16(&r);
	wire_skip(&r, 2); /* id */
	uint16_t frag = wire_u16(&r);
	m->ttl = wire_u8(&r);
	uint8_t proto = wire_u8(&r);
	wire_skip(&r, 2); /* header checksum */
	wire_copy(&r, &m->ip_src, 4);
	wire_copy(&r, &m->ip_dst, 4);
	if (!wire_ok(&r) || vihl >> 4 != 4 || ihl < IP_HDR_MIN || total < ihl || total > len || proto != 2)
		return IGMP_ERR_IP;
	if (frag & 0x3fff) /* MF or a fragment offset */
		return IGMP_ERR_IP;
	if (!ip_options(pkt + IP_HDR_MIN, ihl - IP_HDR_MIN, &m->router_alert))
		return IGMP_ERR_IP;
	*igmp = pkt + ihl;
	*igmp_len = total - ihl; /* bytes past total length (link padding) are not ours */
	return IGMP_OK;
}

/* RFC 3376 7.1: the query version from the length and the code. */
static enum igmp_parse_error parse_query(struct wire *r, size_t len, uint8_t code, struct igmp_msg *m)
{
	if (len == IGMP_HDR) {
		m->query_version = code == 0 ? 1 : 2;
		/* RFC 2236 4: a v1 query's 0 means 10 s; v2 counts tenths */
		m->max_resp_ms = code == 0 ? 10000 : (uint32_t)code * 100;
		return IGMP_OK;
	}
	if (len < V3_QUERY_HDR) /* 9 to 11 octets: RFC 3376 7.1 says ignore */
		return IGMP_ERR_LENGTH;
	m->query_version = 3;
	m->max_resp_ms = igmp_time_decode(code) * 100;
	uint8_t flags = wire_u8(r);
	m->s_flag = flags & 0x08;
	m->qrv = flags & 0x07;
	m->qqi_s = igmp_time_decode(wire_u8(r));
	m->nsrc = wire_u16(r);
	/* RFC 3376 4.1.10: bytes after the sources are additional data, ignored */
	m->srcs = wire_take(r, (size_t)m->nsrc * 4);
	if (!wire_ok(r))
		return IGMP_ERR_LENGTH;
	if (m->nsrc > IGMP_V3_MAX_SOURCES)
		return IGMP_ERR_COUNT;
	return IGMP_OK;
}

/* Walk the NREC group records once: each must fit with its sources and
 * its aux data (RFC 3376 4.2.6: in 32-bit words). Bytes after the last
 * record are ignored, as a query's additional data is. */
static enum igmp_parse_error parse_v3_report(struct wire *r, struct igmp_msg *m)
{
	bool too_many = false;

	wire_skip(r, 2); /* reserved */
	m->nrec = wire_u16(r);
	m->rec_start = r->base + r->pos;
	size_t start = wire_pos(r);
	for (unsigned i = 0; i < m->nrec; i++) {
		wire_skip(r, 1); /* record type: unknown ones are the reader's to skip (4.2.12) */
		uint8_t aux = wire_u8(r);
		uint16_t nsrc = wire_u16(r);
		wire_skip(r, 4);
		wire_skip(r, (size_t)nsrc * 4 + (size_t)aux * 4);
		if (!wire_ok(r))
			return IGMP_ERR_LENGTH;
		too_many |= nsrc > IGMP_V3_MAX_SOURCES;
	}
	m->rec_len = wire_pos(r) - start;
	return too_many ? IGMP_ERR_COUNT : IGMP_OK;
}

enum igmp_parse_error igmp_parse(const uint8_t *pkt, size_t len, struct igmp_msg *m)
{
	const uint8_t *igmp = NULL;
	size_t ilen = 0;
	enum igmp_parse_error e;

	memset(m, 0, sizeof(*m));
	e = ip_header(pkt, len, m, &igmp, &ilen);
	if (e != IGMP_OK)
		return e;
	if (ilen < IGMP_HDR)
		return IGMP_ERR_SHORT;
	/* RFC 3376 4.1.2 / RFC 2236 2.3: the checksum covers the whole message */
	if (igmp_checksum(igmp, ilen) != 0)
		return IGMP_ERR_CHECKSUM;

	struct wire r = wire_reader(igmp, ilen);
	m->type = wire_u8(&r);
	uint8_t code = wire_u8(&r);
	wire_skip(&r, 2);
	switch (m->type) {
	case IGMP_MEMBERSHIP_QUERY:
		wire_copy(&r, &m->group, 4);
		return parse_query(&r, ilen, code, m);
	case IGMP_V1_REPORT:
	case IGMP_V2_REPORT:
	case IGMP_V2_LEAVE:
		/* RFC 2236 2.5: longer messages are accepted, the first 8 octets count */
		wire_copy(&r, &m->group, 4);
		return IGMP_OK;
	case IGMP_V3_REPORT:
		return parse_v3_report(&r, m);
	default:
		return IGMP_ERR_TYPE;
	}
}

const char *igmp_parse_error_str(enum igmp_parse_error e)
{
	switch (e) {
	case IGMP_OK:
		return "ok";
	case IGMP_ERR_IP:
		return "bad IPv4 header";
	case IGMP_ERR_SHORT:
		return "IGMP message too short";
	case IGMP_ERR_CHECKSUM:
		return "bad IGMP checksum";
	case IGMP_ERR_TYPE:
		return "unknown IGMP type";
	case IGMP_ERR_LENGTH:
		return "IGMP lengths do not add up";
	case IGMP_ERR_COUNT:
		return "too many sources";
	}
	return "unknown error";
}

int igmp_record_next(const struct igmp_msg *m, size_t *cursor, struct igmp_record *rec)
{
	if (m->type != IGMP_V3_REPORT || *cursor >= m->rec_len)
		return 0;
	struct wire r = wire_reader(m->rec_start + *cursor, m->rec_len - *cursor);
	rec->type = wire_u8(&r);
	uint8_t aux = wire_u8(&r);
	rec->nsrc = wire_u16(&r);
	wire_copy(&r, &rec->group, 4);
	rec->srcs = wire_take(&r, (size_t)rec->nsrc * 4);
	wire_skip(&r, (size_t)aux * 4);
	if (!wire_ok(&r))
		return 0; /* not after igmp_parse said IGMP_OK */
	*cursor += wire_pos(&r);
	return 1;
}

size_t igmp_build_query(uint8_t *out, size_t cap, int version, struct in_addr group,
			const struct in_addr *srcs, size_t nsrc, uint32_t max_resp_ms, bool s_flag,
			uint8_t qrv, uint32_t qqi_s)
{
	uint32_t tenths = max_resp_ms / 100;
	struct wire w = wire_writer(out, cap);

	if (version == 2) {
		if (nsrc)
			return 0; /* a v2 query cannot name sources */
		/* RFC 2236 2.2: tenths in one octet; 0 would make it a v1 query (RFC 3376 7.1) */
		uint8_t code = tenths > 255 ? 255 : tenths == 0 ? 1 : (uint8_t)tenths;
		wire_put_u8(&w, IGMP_MEMBERSHIP_QUERY);
		wire_put_u8(&w, code);
		wire_put_u16(&w, 0);
		wire_put_bytes(&w, &group, 4);
	} else if (version == 3) {
		if (nsrc > 0xffff)
			return 0;
		wire_put_u8(&w, IGMP_MEMBERSHIP_QUERY);
		wire_put_u8(&w, igmp_time_encode(tenths));
		wire_put_u16(&w, 0);
		wire_put_bytes(&w, &group, 4);
		/* RFC 3376 4.1.6: a robustness above 7 is sent as QRV 0 */
		wire_put_u8(&w, (uint8_t)((s_flag ? 0x08 : 0) | (qrv > 7 ? 0 : qrv)));
		wire_put_u8(&w, igmp_time_encode(qqi_s));
		wire_put_u16(&w, (uint16_t)nsrc);
		for (size_t i = 0; i < nsrc; i++)
			wire_put_bytes(&w, &srcs[i], 4);
	} else {
		return 0;
	}
	if (!wire_ok(&w))
		return 0;
	uint16_t sum = igmp_checksum(out, wire_pos(&w));
	out[2] = (uint8_t)(sum >> 8);
	out[3] = (uint8_t)sum;
	return wire_pos(&w);
}
