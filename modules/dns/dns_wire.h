/* dns_wire.h — DNS messages (RFC 1035, RFC 6891) read and written through
 * the bounds-checked cursor of wire.h.
 *
 * Names inside the module are always held uncompressed in wire form
 * (struct dns_name: length-prefixed labels ending with the root label), so
 * comparing, hashing and suffix tests never touch a message again. Every
 * name read from a message goes through dns_name_read(), which is where the
 * hostile cases are stopped: compression pointers that do not point strictly
 * backwards (loops, forward pointers), labels over 63, names over 255,
 * reserved label types (0x40, 0x80).
 *
 * dns_msg_parse() walks the whole message once (every name, every RR's
 * rdlength, the OPT record) before anything else reads it; a message it
 * accepts can then be iterated without further error paths that matter
 * (the iterator still checks, so a caller's bug is not a read overrun). */
#ifndef DNS_WIRE_H
#define DNS_WIRE_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255 /* wire length, root label included (RFC 1035 2.3.4) */
#define DNS_LABEL_MAX 63
#define DNS_NAME_TEXT_MAX 1024 /* presentation form with \DDD escapes, NUL included */
#define DNS_UDP_MIN 512	       /* RFC 1035 4.2.1: what a client without EDNS takes */
#define DNS_MSG_MAX 65535

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_HINFO = 13,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_DNAME = 39,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_DS = 43,
	DNS_TYPE_RRSIG = 46,
	DNS_TYPE_NSEC = 47,
	DNS_TYPE_DNSKEY = 48,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
};

enum dns_class { DNS_CLASS_IN = 1, DNS_CLASS_CH = 3, DNS_CLASS_ANY = 255 };

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended (RFC 6891 6.1.3): upper 8 bits in OPT's TTL */
};

/* header flags word (the 16 bits after the ID) */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_F_RCODE 0x000f
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)

#define DNS_EDNS_DO 0x8000 /* in the OPT TTL's low 16 bits */

enum dns_section { DNS_SEC_ANSWER = 0, DNS_SEC_AUTHORITY = 1, DNS_SEC_ADDITIONAL = 2 };

/* A name in uncompressed wire form: b[0..len) is label, label, ..., 0.
 * The root is len 1, b = {0}. */
struct dns_name {
	uint8_t len;
	uint8_t labels; /* not counting the root */
	uint8_t b[DNS_NAME_MAX];
};

/* ---- names ---- */

/* Read a possibly compressed name at R's position; R must span the whole
 * message (pointers are offsets into it). Every pointer must point before the
 * start of the label sequence that holds it, so a walk always moves backwards
 * and ends. R moves past the name as it appears at that position. 0, or
 * -EBADMSG (and R's error flag set). */
int dns_name_read(struct wire *r, struct dns_name *out);

/* Presentation form <-> wire form. "." and "" are the root; a final dot is
 * optional; "\." and "\DDD" escapes are understood. -EINVAL for empty
 * labels, labels over 63, names over 255. */
int dns_name_from_text(struct dns_name *out, const char *text);
/* Always writes a NUL-terminated string ending with "." (the root is ".");
 * bytes outside [A-Za-z0-9-_] are escaped as \DDD, '.' and '\' as "\." "\\". */
void dns_name_to_text(const struct dns_name *n, char out[DNS_NAME_TEXT_MAX]);

void dns_name_lower(struct dns_name *n);
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b); /* ASCII case-insensitive */
/* NAME is ZONE or below it (case-insensitive, label-wise: "xample.com" is not under "ample.com"). */
bool dns_name_is_under(const struct dns_name *name, const struct dns_name *zone);
/* Drop the first label; false for the root. */
bool dns_name_parent(struct dns_name *n);
/* The last KEEP labels of N (KEEP <= labels): QNAME minimisation, zone cuts. */
void dns_name_suffix(const struct dns_name *n, unsigned keep, struct dns_name *out);
/* Case-insensitive hash (FNV-1a over lower-cased bytes). */
uint32_t dns_name_hash(const struct dns_name *n);
/* Canonical order (RFC 4034 6.1) would be needed for DNSSEC only: not provided. */

/* ---- reading messages ---- */

struct dns_msg {
	const uint8_t *buf;
	size_t len;
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount, ancount, nscount, arcount;
	/* the first question (qdcount >= 1) */
	struct dns_name qname;
	uint16_t qtype, qclass;
	size_t qname_off;    /* where the question's name starts (12) */
	size_t question_end; /* offset just past the question section */
	size_t sec_off[3];   /* offset of the first RR of each section */
	/* EDNS (RFC 6891): at most one OPT, in the additional section, owner root */
	bool edns;
	uint8_t edns_version;
	uint16_t edns_udp;   /* the requestor's payload size as sent (not clamped) */
	uint16_t edns_flags; /* DO is 0x8000 */
	uint16_t rcode;	     /* the 12-bit rcode: header's 4 bits | OPT's extended 8 << 4 */
	size_t opt_off;	     /* offset of the OPT RR (its owner name), 0 when none */
	size_t opt_len;	     /* bytes of the whole OPT RR */
};

enum dns_parse_error {
	DNS_PARSE_OK = 0,
	DNS_PARSE_SHORT,     /* shorter than a header */
	DNS_PARSE_NAME,	     /* a bad name (pointer, label, length) */
	DNS_PARSE_TRUNCATED, /* a count promises more than the message holds */
	DNS_PARSE_RDATA,     /* an rdlength past the end, or a fixed-size type with the wrong size */
	DNS_PARSE_OPT,	     /* a second OPT, OPT outside additional, OPT owner not root, bad option lengths */
	DNS_PARSE_TRAILING,  /* bytes after the last RR (accepted from clients by some servers; counted) */
};

/* Parse and validate the whole message. Returns 0 or -EBADMSG; *why (may be
 * NULL) says what was wrong. With qdcount == 0 the question fields are zero.
 * A, AAAA rdlength are checked (4, 16) in every section; names inside the
 * rdata of NS, CNAME, PTR, DNAME, MX, SOA, SRV are checked too. Trailing
 * bytes after the last RR are an error (DNS_PARSE_TRAILING). */
int dns_msg_parse(struct dns_msg *m, const uint8_t *buf, size_t len, enum dns_parse_error *why);
const char *dns_parse_error_str(enum dns_parse_error e);

struct dns_rr {
	struct dns_name name;
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata_off; /* offset of the rdata in the message */
	size_t off;	  /* offset of the RR (its owner name) in the message */
	size_t ttl_off;	  /* offset of its TTL field */
	enum dns_section section;
};

struct dns_rr_iter {
	const struct dns_msg *m;
	struct wire r;
	unsigned left[3];
	int sec;
};

void dns_rr_iter_init(struct dns_rr_iter *it, const struct dns_msg *m);
/* 1 and the next RR (in message order, through the three sections), 0 at
 * the end, -EBADMSG on a malformed RR (never for a message dns_msg_parse
 * accepted). The OPT RR is returned like any other (type DNS_TYPE_OPT). */
int dns_rr_next(struct dns_rr_iter *it, struct dns_rr *rr);

/* The rdata of RR with every name in it decompressed (NS, CNAME, PTR, DNAME:
 * one name; MX: 2 bytes + name; SRV: 6 bytes + name; SOA: two names + 20
 * bytes); other types are copied as they are (RFC 3597). Returns the length
 * written (<= cap; the expanded form of a valid RR is at most
 * DNS_RDATA_EXPANDED_MAX) or -EBADMSG / -ENOSPC. */
#define DNS_RDATA_EXPANDED_MAX (DNS_MSG_MAX + 2 * DNS_NAME_MAX)
int dns_rdata_expand(const struct dns_msg *m, const struct dns_rr *rr, uint8_t *out, size_t cap);
/* The first name in RR's rdata (NS, CNAME, PTR, DNAME target; MX exchange;
 * SRV target; SOA mname), decompressed. 0 or -EBADMSG (also for other types). */
int dns_rdata_name(const struct dns_msg *m, const struct dns_rr *rr, struct dns_name *out);
/* SOA's MINIMUM (RFC 2308 5) from a SOA RR. 0 or -EBADMSG. */
int dns_soa_minimum(const struct dns_msg *m, const struct dns_rr *rr, uint32_t *minimum);

/* ---- writing messages ---- */

#define DNS_COMPRESS_MAX 128 /* remembered name positions per message */

struct dns_writer {
	struct wire w;
	uint16_t counts[4]; /* QD AN NS AR as written so far */
	/* name compression: message offsets where a label sequence starts */
	uint16_t cpos[DNS_COMPRESS_MAX];
	unsigned ncpos;
	/* offsets of the TTL fields written (for the cache's countdown); when
	 * more than DNS_WRITER_TTLS are written the later ones are not
	 * recorded and ttl_overflow is set */
#define DNS_WRITER_TTLS 256
	uint16_t ttl_off[DNS_WRITER_TTLS];
	unsigned nttl;
	bool ttl_overflow;
};

/* Start a message in BUF (CAP bytes, at most 65535 are used): the header is
 * written with ID and FLAGS and zero counts; the counts are filled in by
 * dns_writer_finish(). */
void dns_writer_init(struct dns_writer *dw, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
void dns_put_question(struct dns_writer *dw, const struct dns_name *name, uint16_t type, uint16_t class);
/* A name, compressed against the names written before when COMPRESS. */
void dns_put_name(struct dns_writer *dw, const struct dns_name *name, bool compress);
/* An RR into SECTION (sections must be written in order: answer, authority,
 * additional). RDATA is in expanded form (dns_rdata_expand); names in the
 * rdata of NS, CNAME, PTR, MX, SOA are compressed (RFC 3597 4: only the
 * types of RFC 1035), others are copied. The TTL's offset is recorded. */
void dns_put_rr(struct dns_writer *dw, enum dns_section section, const struct dns_name *name, uint16_t type,
		uint16_t class, uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* An OPT RR (RFC 6891) with UDP size, extended rcode (the upper 8 bits of a
 * 12-bit rcode), version 0, FLAGS (DO), no options. Counts in additional. */
void dns_put_opt(struct dns_writer *dw, uint16_t udp_size, uint16_t rcode, uint16_t flags);
/* Fill the counts into the header. Returns the message length, or -ENOSPC
 * when anything did not fit (the buffer then holds nothing usable). */
int dns_writer_finish(struct dns_writer *dw);
/* Set the header's rcode bits (the low 4 bits of RCODE). */
void dns_writer_set_rcode(struct dns_writer *dw, uint16_t rcode);

/* Type mnemonics for logs and `dns cache` ("A", "TYPE65534"). */
const char *dns_type_str(uint16_t type, char buf[16]);
/* rdata in presentation form for `dns cache` (A, AAAA, NS, CNAME, PTR, DNAME,
 * MX, SOA, TXT, SRV; others as RFC 3597 "\# LEN HEX"). RDATA is expanded. */
void dns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t rdlen, char *out, size_t cap);

#endif
