/* dns_wire.c — DNS messages, names and the compressing writer (see
 * dns_wire.h for the rules and the RFC sections they come from). */
#include "dns_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

/* ASCII-only case folding (RFC 4343 3): branch-free so the compiler can
 * vectorise the loops over a whole name. Label length bytes (0..63) are
 * below 'A', so a whole wire-form name can be folded byte by byte. */
static inline uint8_t fold(uint8_t c)
{
	return (uint8_t)(c + ((unsigned)(c - 'A') < 26u) * 32u);
}

/* fold() on 8 bytes at once (SWAR): bit 7 of each byte of GE/GT says
 * whether its low 7 bits are >= 'A' / > 'Z'; no carry crosses a byte. */
static inline uint64_t fold8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = x & ~high;
	uint64_t ge = low7 + (0x80 - 'A') * ones, gt = low7 + (0x80 - 'Z' - 1) * ones;

	return x | ((ge & ~gt & ~x & high) >> 2);
}

static inline uint64_t load8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Case-insensitive equality of N bytes: 8 at a time, the tail as an
 * overlapping last word. Names are compared on every cache lookup. */
static bool fold_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t diff = 0;
	size_t i = 0;

	if (n < 8) {
		for (; i < n; i++)
			diff |= (uint64_t)(fold(a[i]) ^ fold(b[i]));
		return diff == 0;
	}
	for (; i + 8 <= n; i += 8)
		diff |= fold8(load8(a + i)) ^ fold8(load8(b + i));
	if (i < n)
		diff |= fold8(load8(a + n - 8)) ^ fold8(load8(b + n - 8));
	return diff == 0;
}

static void name_set_root(struct dns_name *n)
{
	n->len = 1;
	n->labels = 0;
	n->b[0] = 0;
}

/* ---- Reading names ---- */

/* The walk behind every name read. R's base is the whole message (pointer
 * targets are offsets into it), R's end bounds every byte read. With PTRS
 * false the name must be uncompressed (expanded rdata). Returns
 * DNS_PARSE_OK; DNS_PARSE_TRUNCATED when R ends inside the name where it
 * appears (no pointer followed yet); DNS_PARSE_NAME for anything else. */
static enum dns_parse_error name_walk(struct wire *r, struct dns_name *out, bool ptrs)
{
	size_t seq_start = r->pos, after = 0;
	unsigned len = 0, labels = 0;
	bool jumped = false;

	for (;;) {
		/* a run of plain labels is checked, then copied in one go */
		size_t run = r->pos;
		unsigned run_out = len;
		uint8_t c;

		while ((c = wire_u8(r)) - 1u < DNS_LABEL_MAX) {
			/* RFC 1035 2.3.4: 255 octets, the root's included */
			if (len + c + 2 > DNS_NAME_MAX)
				return DNS_PARSE_NAME;
			wire_skip(r, c);
			len += c + 1u;
			labels++;
		}
		if (!wire_ok(r))
			return jumped ? DNS_PARSE_NAME : DNS_PARSE_TRUNCATED;
		memcpy(out->b + run_out, r->base + run, len - run_out);
		if (c == 0)
			break;
		/* RFC 1035 4.1.4: 11 is a pointer; 01 and 10 are other label
		 * types, none of them in use (RFC 6891 5) */
		if ((c & 0xc0) != 0xc0 || !ptrs)
			return DNS_PARSE_NAME;
		uint8_t lo = wire_u8(r);
		if (!wire_ok(r))
			return jumped ? DNS_PARSE_NAME : DNS_PARSE_TRUNCATED;
		size_t target = ((size_t)(c & 0x3f) << 8) | lo;
		/* strictly before the sequence holding the pointer: every
		 * jump goes backwards, so there are no loops; no name lives in
		 * the header */
		if (target >= seq_start || target < DNS_HDR_LEN)
			return DNS_PARSE_NAME;
		if (!jumped)
			after = r->pos;
		jumped = true;
		seq_start = target;
		r->pos = target;
	}
	out->b[len++] = 0;
	out->len = (uint8_t)len;
	out->labels = (uint8_t)labels;
	if (jumped)
		r->pos = after;
	return DNS_PARSE_OK;
}

int dns_name_read(struct wire *r, struct dns_name *out)
{
	if (wire_ok(r) && name_walk(r, out, true) == DNS_PARSE_OK)
		return 0;
	r->err = true;
	name_set_root(out);
	return -EBADMSG;
}

/* ---- Names as text ---- */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* One character of a label from S (an escape or a plain byte): its byte
 * value, or -1 for a broken escape. */
static int text_char(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;

	if (p[0] != '\\') {
		*s += 1;
		return p[0];
	}
	if (p[1] == 0)
		return -1;
	if (!is_digit(p[1])) {
		*s += 2;
		return p[1];
	}
	/* RFC 1035 5.1: \DDD, exactly three decimal digits */
	if (!is_digit(p[2]) || !is_digit(p[3]))
		return -1;
	int v = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	*s += 4;
	return v <= 255 ? v : -1;
}

int dns_name_from_text(struct dns_name *out, const char *text)
{
	const char *s = text;
	unsigned len = 0, labels = 0;

	if (s[0] == 0 || (s[0] == '.' && s[1] == 0)) {
		name_set_root(out);
		return 0;
	}
	while (*s) {
		unsigned at = len++, n = 0;

		while (*s && *s != '.') {
			int c = text_char(&s);

			/* room for this byte and the root label after it */
			if (c < 0 || n == DNS_LABEL_MAX || len + 2 > DNS_NAME_MAX)
				return -EINVAL;
			out->b[len++] = (uint8_t)c;
			n++;
		}
		if (n == 0)
			return -EINVAL; /* "a..b", ".a" */
		out->b[at] = (uint8_t)n;
		labels++;
		if (*s == '.')
			s++;
	}
	out->b[len++] = 0;
	out->len = (uint8_t)len;
	out->labels = (uint8_t)labels;
	return 0;
}

static bool plain_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

/* Label bytes escaped as dns_name_to_text() promises; returns the new end.
 * OUT has room: 4 bytes per input byte at most. */
static char *label_text(char *o, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (plain_char(c)) {
			*o++ = (char)c;
		} else if (c == '.' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else {
			*o++ = '\\';
			*o++ = (char)('0' + c / 100);
			*o++ = (char)('0' + c / 10 % 10);
			*o++ = (char)('0' + c % 10);
		}
	}
	return o;
}

void dns_name_to_text(const struct dns_name *n, char out[DNS_NAME_TEXT_MAX])
{
	char *o = out;
	size_t off = 0, len = n->len; /* <= DNS_NAME_MAX by its type */

	/* 254 bytes of labels at most, 4 characters each: always fits */
	while (off < len && n->b[off] != 0) {
		unsigned l = n->b[off];

		if (l > DNS_LABEL_MAX || off + 1 + l > len)
			break; /* not a name this module made: stop, still terminated */
		o = label_text(o, n->b + off + 1, l);
		*o++ = '.';
		off += 1 + l;
	}
	if (o == out)
		*o++ = '.';
	*o = 0;
}

/* ---- Name operations ---- */

void dns_name_lower(struct dns_name *n)
{
	for (unsigned i = 0; i < n->len; i++)
		n->b[i] = fold(n->b[i]);
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	/* same folded bytes from offset 0 means the same label boundaries */
	return a->len == b->len && fold_equal(a->b, b->b, a->len);
}

/* Offset in N of the suffix made of its last KEEP labels. */
static size_t suffix_off(const struct dns_name *n, unsigned keep)
{
	size_t off = 0;

	for (unsigned skip = n->labels > keep ? n->labels - keep : 0; skip && off < n->len; skip--)
		off += 1u + n->b[off];
	return off < n->len ? off : (size_t)n->len - 1;
}

bool dns_name_is_under(const struct dns_name *name, const struct dns_name *zone)
{
	if (zone->labels > name->labels || zone->len > name->len)
		return false;
	size_t off = suffix_off(name, zone->labels);
	return name->len - off == zone->len && fold_equal(name->b + off, zone->b, zone->len);
}

bool dns_name_parent(struct dns_name *n)
{
	if (n->labels == 0 || n->len <= 1)
		return false;
	unsigned drop = 1u + n->b[0];
	if (drop >= n->len)
		return false;
	memmove(n->b, n->b + drop, n->len - drop);
	n->len = (uint8_t)(n->len - drop);
	n->labels--;
	return true;
}

void dns_name_suffix(const struct dns_name *n, unsigned keep, struct dns_name *out)
{
	size_t off = suffix_off(n, keep);

	out->len = (uint8_t)(n->len - off);
	out->labels = (uint8_t)(keep < n->labels ? keep : n->labels);
	memmove(out->b, n->b + off, out->len);
}

uint32_t dns_name_hash(const struct dns_name *n)
{
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < n->len; i++)
		h = (h ^ fold(n->b[i])) * 16777619u;
	return h;
}

/* ---- Where the names are in rdata ---- */

/* Fixed bytes before the first name, names, fixed bytes after them. */
struct rd_layout {
	uint8_t pre, names, post;
};

/* The types whose rdata hold names this module looks into (RFC 1035 3.3,
 * RFC 2782, RFC 6672); false for every other type (RFC 3597: opaque). */
static bool rd_layout(uint16_t type, struct rd_layout *l)
{
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		*l = (struct rd_layout){0, 1, 0};
		return true;
	case DNS_TYPE_MX:
		*l = (struct rd_layout){2, 1, 0};
		return true;
	case DNS_TYPE_SRV:
		*l = (struct rd_layout){6, 1, 0};
		return true;
	case DNS_TYPE_SOA:
		*l = (struct rd_layout){0, 2, 20};
		return true;
	default:
		return false;
	}
}

/* RFC 3597 4: only the types of RFC 1035 get their rdata names compressed. */
static bool rd_compressible(uint16_t type)
{
	return type == DNS_TYPE_NS || type == DNS_TYPE_CNAME || type == DNS_TYPE_PTR || type == DNS_TYPE_MX ||
	       type == DNS_TYPE_SOA;
}

/* A reader over the rdata at [OFF, OFF+LEN) of message BUF/MLEN whose
 * pointers may reach back into the whole message. */
static struct wire rdata_reader(const uint8_t *buf, size_t mlen, size_t off, size_t len)
{
	struct wire r = wire_reader(buf, mlen);

	if (off > mlen || len > mlen - off) {
		r.err = true;
		return r;
	}
	r.pos = off;
	r.end = off + len;
	return r;
}

/* Walk rdata laid out as L under R (positioned at its start, ending at its
 * end): the names are read into NAMES (when not NULL). DNS_PARSE_OK when
 * the layout fills the rdata exactly. */
static enum dns_parse_error rd_walk(struct wire *r, const struct rd_layout *l, bool ptrs,
				    struct dns_name *names)
{
	struct dns_name tmp;

	wire_skip(r, l->pre);
	if (!wire_ok(r))
		return DNS_PARSE_RDATA;
	for (unsigned i = 0; i < l->names; i++) {
		enum dns_parse_error e = name_walk(r, names ? &names[i] : &tmp, ptrs);
		if (e != DNS_PARSE_OK)
			return e == DNS_PARSE_NAME ? DNS_PARSE_NAME : DNS_PARSE_RDATA;
	}
	wire_skip(r, l->post);
	return wire_ok(r) && wire_left(r) == 0 ? DNS_PARSE_OK : DNS_PARSE_RDATA;
}

/* ---- Parsing messages ---- */

static const char *const parse_error_names[] = {
	[DNS_PARSE_OK] = "ok",
	[DNS_PARSE_SHORT] = "short",
	[DNS_PARSE_NAME] = "name",
	[DNS_PARSE_TRUNCATED] = "truncated",
	[DNS_PARSE_RDATA] = "rdata",
	[DNS_PARSE_OPT] = "opt",
	[DNS_PARSE_TRAILING] = "trailing",
};

const char *dns_parse_error_str(enum dns_parse_error e)
{
	if ((unsigned)e >= sizeof(parse_error_names) / sizeof(parse_error_names[0]))
		return "unknown";
	return parse_error_names[e];
}

/* An RR's fixed part at R: owner, type, class, TTL, rdlength, and the
 * rdata skipped. */
static enum dns_parse_error rr_read(struct wire *r, struct dns_rr *rr)
{
	rr->off = wire_pos(r);
	enum dns_parse_error e = name_walk(r, &rr->name, true);
	if (e != DNS_PARSE_OK)
		return e;
	rr->type = wire_u16(r);
	rr->class = wire_u16(r);
	rr->ttl_off = wire_pos(r);
	rr->ttl = wire_u32(r);
	rr->rdlen = wire_u16(r);
	if (!wire_ok(r))
		return DNS_PARSE_TRUNCATED;
	rr->rdata_off = wire_pos(r);
	wire_skip(r, rr->rdlen);
	return wire_ok(r) ? DNS_PARSE_OK : DNS_PARSE_RDATA;
}

/* RFC 6891 6.1.2: options are {code, length, data} filling the rdata. */
static bool opt_options_ok(const uint8_t *buf, size_t len, const struct dns_rr *rr)
{
	struct wire r = rdata_reader(buf, len, rr->rdata_off, rr->rdlen);

	while (wire_ok(&r) && wire_left(&r) > 0) {
		wire_skip(&r, 2);
		wire_skip(&r, wire_u16(&r));
	}
	return wire_ok(&r);
}

/* RFC 6891 6.1.1: one OPT, in the additional section, owned by the root. */
static enum dns_parse_error opt_take(struct dns_msg *m, const struct dns_rr *rr, enum dns_section sec)
{
	if (m->edns || sec != DNS_SEC_ADDITIONAL || rr->name.len != 1 || !opt_options_ok(m->buf, m->len, rr))
		return DNS_PARSE_OPT;
	m->edns = true;
	m->edns_udp = rr->class;
	m->edns_version = (uint8_t)(rr->ttl >> 16);
	m->edns_flags = (uint16_t)rr->ttl;
	/* RFC 6891 6.1.3: the upper 8 bits of the 12-bit rcode */
	m->rcode = (uint16_t)(m->rcode | ((rr->ttl >> 24) << 4));
	m->opt_off = rr->off;
	m->opt_len = rr->rdata_off + rr->rdlen - rr->off;
	return DNS_PARSE_OK;
}

/* The per-type rules for an RR's rdata (see dns_msg_parse()). */
static enum dns_parse_error rr_check(struct dns_msg *m, const struct dns_rr *rr, enum dns_section sec)
{
	struct rd_layout l;

	switch (rr->type) {
	case DNS_TYPE_A:
		return rr->rdlen == 4 ? DNS_PARSE_OK : DNS_PARSE_RDATA;
	case DNS_TYPE_AAAA:
		return rr->rdlen == 16 ? DNS_PARSE_OK : DNS_PARSE_RDATA;
	case DNS_TYPE_OPT:
		return opt_take(m, rr, sec);
	default:
		if (!rd_layout(rr->type, &l))
			return DNS_PARSE_OK;
		struct wire r = rdata_reader(m->buf, m->len, rr->rdata_off, rr->rdlen);
		return rd_walk(&r, &l, true, NULL);
	}
}

static enum dns_parse_error parse_question(struct dns_msg *m, struct wire *r)
{
	struct dns_name tmp;

	for (unsigned i = 0; i < m->qdcount; i++) {
		struct dns_name *n = i == 0 ? &m->qname : &tmp;
		enum dns_parse_error e = name_walk(r, n, true);
		if (e != DNS_PARSE_OK)
			return e;
		uint16_t type = wire_u16(r), class = wire_u16(r);
		if (!wire_ok(r))
			return DNS_PARSE_TRUNCATED;
		if (i == 0) {
			m->qtype = type;
			m->qclass = class;
		}
	}
	m->question_end = wire_pos(r);
	return DNS_PARSE_OK;
}

static enum dns_parse_error parse_sections(struct dns_msg *m, struct wire *r)
{
	const uint16_t counts[3] = {m->ancount, m->nscount, m->arcount};
	struct dns_rr rr;

	for (int s = 0; s < 3; s++) {
		m->sec_off[s] = wire_pos(r);
		for (unsigned i = 0; i < counts[s]; i++) {
			enum dns_parse_error e = rr_read(r, &rr);
			if (e == DNS_PARSE_OK)
				e = rr_check(m, &rr, (enum dns_section)s);
			if (e != DNS_PARSE_OK)
				return e;
		}
	}
	return DNS_PARSE_OK;
}

static enum dns_parse_error parse(struct dns_msg *m, const uint8_t *buf, size_t len)
{
	struct wire r = wire_reader(buf, len);
	enum dns_parse_error e;

	m->buf = buf;
	m->len = len;
	if (len < DNS_HDR_LEN)
		return DNS_PARSE_SHORT;
	/* RFC 1035 4.2.2: no transport carries more; what lies beyond can
	 * only be trailing bytes */
	if (len > DNS_MSG_MAX)
		return DNS_PARSE_TRAILING;
	m->id = wire_u16(&r);
	m->flags = wire_u16(&r);
	m->qdcount = wire_u16(&r);
	m->ancount = wire_u16(&r);
	m->nscount = wire_u16(&r);
	m->arcount = wire_u16(&r);
	m->rcode = m->flags & DNS_F_RCODE;
	if (m->qdcount)
		m->qname_off = DNS_HDR_LEN;
	if ((e = parse_question(m, &r)) != DNS_PARSE_OK || (e = parse_sections(m, &r)) != DNS_PARSE_OK)
		return e;
	return wire_left(&r) == 0 ? DNS_PARSE_OK : DNS_PARSE_TRAILING;
}

int dns_msg_parse(struct dns_msg *m, const uint8_t *buf, size_t len, enum dns_parse_error *why)
{
	/* all zero but the question name's bytes (only its length counts):
	 * this is on every query's path */
	memset(m, 0, offsetof(struct dns_msg, qname.b));
	memset(&m->qtype, 0, sizeof(*m) - offsetof(struct dns_msg, qtype));
	enum dns_parse_error e = parse(m, buf, len);
	if (why)
		*why = e;
	if (e == DNS_PARSE_OK)
		return 0;
	/* nothing to iterate in a message that was refused; the header
	 * fields stay (an answer to it needs the ID) */
	memset(m->sec_off, 0, sizeof(m->sec_off));
	return -EBADMSG;
}

/* ---- Iterating ---- */

void dns_rr_iter_init(struct dns_rr_iter *it, const struct dns_msg *m)
{
	it->m = m;
	it->r = wire_reader(m->buf, m->len);
	it->sec = 0;
	if (m->sec_off[0] < DNS_HDR_LEN || m->sec_off[0] > m->len) {
		/* not a message dns_msg_parse() accepted */
		memset(it->left, 0, sizeof(it->left));
		return;
	}
	it->r.pos = m->sec_off[0];
	it->left[0] = m->ancount;
	it->left[1] = m->nscount;
	it->left[2] = m->arcount;
}

int dns_rr_next(struct dns_rr_iter *it, struct dns_rr *rr)
{
	while (it->sec < 3 && it->left[it->sec] == 0)
		it->sec++;
	if (it->sec >= 3)
		return 0;
	if (rr_read(&it->r, rr) != DNS_PARSE_OK) {
		memset(it->left, 0, sizeof(it->left));
		it->sec = 3;
		return -EBADMSG;
	}
	rr->section = (enum dns_section)it->sec;
	it->left[it->sec]--;
	return 1;
}

/* ---- Rdata ---- */

static struct wire rr_rdata_reader(const struct dns_msg *m, const struct dns_rr *rr)
{
	return rdata_reader(m->buf, m->len, rr->rdata_off, rr->rdlen);
}

int dns_rdata_expand(const struct dns_msg *m, const struct dns_rr *rr, uint8_t *out, size_t cap)
{
	struct wire r = rr_rdata_reader(m, rr), w = wire_writer(out, cap);
	struct dns_name names[2];
	struct rd_layout l;

	if (!wire_ok(&r))
		return -EBADMSG;
	if (!rd_layout(rr->type, &l)) {
		const uint8_t *p = wire_take(&r, rr->rdlen);
		if (p)
			wire_put_bytes(&w, p, rr->rdlen);
		return wire_ok(&w) ? (int)wire_pos(&w) : -ENOSPC;
	}
	const uint8_t *pre = r.base + r.pos;
	if (rd_walk(&r, &l, true, names) != DNS_PARSE_OK)
		return -EBADMSG;
	wire_put_bytes(&w, pre, l.pre);
	for (unsigned i = 0; i < l.names; i++)
		wire_put_bytes(&w, names[i].b, names[i].len);
	wire_put_bytes(&w, r.base + r.end - l.post, l.post);
	return wire_ok(&w) ? (int)wire_pos(&w) : -ENOSPC;
}

int dns_rdata_name(const struct dns_msg *m, const struct dns_rr *rr, struct dns_name *out)
{
	struct wire r = rr_rdata_reader(m, rr);
	struct rd_layout l;

	if (!rd_layout(rr->type, &l)) {
		name_set_root(out);
		return -EBADMSG;
	}
	wire_skip(&r, l.pre);
	if (!wire_ok(&r) || name_walk(&r, out, true) != DNS_PARSE_OK) {
		name_set_root(out);
		return -EBADMSG;
	}
	return 0;
}

int dns_soa_minimum(const struct dns_msg *m, const struct dns_rr *rr, uint32_t *minimum)
{
	struct wire r = rr_rdata_reader(m, rr);
	struct rd_layout l;

	*minimum = 0;
	if (rr->type != DNS_TYPE_SOA || !rd_layout(rr->type, &l) ||
	    rd_walk(&r, &l, true, NULL) != DNS_PARSE_OK)
		return -EBADMSG;
	/* RFC 1035 3.3.13: MINIMUM is the last of the five 32-bit fields */
	r.pos = r.end - 4;
	*minimum = wire_u32(&r);
	return 0;
}

/* ---- Writing ---- */

void dns_writer_init(struct dns_writer *dw, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
	dw->w = wire_writer(buf, cap < DNS_MSG_MAX ? cap : DNS_MSG_MAX);
	memset(dw->counts, 0, sizeof(dw->counts));
	dw->ncpos = 0;
	dw->nttl = 0;
	dw->ttl_overflow = false;
	wire_put_u16(&dw->w, id);
	wire_put_u16(&dw->w, flags);
	for (int i = 0; i < 4; i++)
		wire_put_u16(&dw->w, 0);
}

/* The remembered position spelling the longest suffix of N; *OFF is where
 * that suffix starts in N. -1 when none. Each candidate is decompressed
 * from what this writer wrote (bounded all the same): names are short and
 * this runs on the cache-miss path only. */
static int compress_find(const struct dns_writer *dw, const struct dns_name *n, size_t *off)
{
	unsigned best = 0;
	int at = -1;
	struct dns_name s;

	for (unsigned i = 0; i < dw->ncpos; i++) {
		struct wire r = {dw->w.base, dw->cpos[i], dw->w.pos, false};

		if (name_walk(&r, &s, true) != DNS_PARSE_OK || s.labels <= best || s.labels > n->labels)
			continue;
		size_t o = suffix_off(n, s.labels);
		if (n->len - o == s.len && fold_equal(s.b, n->b + o, s.len)) {
			best = s.labels;
			at = (int)i;
			*off = o;
		}
	}
	return at;
}

static void compress_remember(struct dns_writer *dw, size_t pos)
{
	/* RFC 1035 4.1.4: a pointer holds 14 bits of offset */
	if (pos < 0x4000 && dw->ncpos < DNS_COMPRESS_MAX)
		dw->cpos[dw->ncpos++] = (uint16_t)pos;
}

void dns_put_name(struct dns_writer *dw, const struct dns_name *name, bool compress)
{
	static const struct dns_name root = {1, 0, {0}};

	if (name->len == 0)
		name = &root; /* a zeroed struct (no question parsed) */
	size_t end = name->len ? (size_t)name->len - 1 : 0, off = 0;
	int at = -1;

	if (!compress) {
		wire_put_bytes(&dw->w, name->b, name->len);
		return;
	}
	if (name->labels > 0)
		at = compress_find(dw, name, &end);
	/* the labels before the shared suffix go out as they are, each one
	 * a place later names can point to */
	while (off < end) {
		unsigned l = 1u + name->b[off];

		if (off + l > end)
			break;
		compress_remember(dw, wire_pos(&dw->w));
		wire_put_bytes(&dw->w, name->b + off, l);
		off += l;
	}
	if (at >= 0)
		wire_put_u16(&dw->w, (uint16_t)(0xc000 | dw->cpos[at]));
	else
		wire_put_u8(&dw->w, 0);
}

void dns_put_question(struct dns_writer *dw, const struct dns_name *name, uint16_t type, uint16_t class)
{
	/* RFC 1035 4.1: the question comes before every RR */
	if (dw->counts[1] || dw->counts[2] || dw->counts[3])
		dw->w.err = true;
	dns_put_name(dw, name, true);
	wire_put_u16(&dw->w, type);
	wire_put_u16(&dw->w, class);
	dw->counts[0]++;
}

/* Expanded RDATA of a compressible type with its names compressed; false
 * (nothing written) when RDATA does not have the type's layout. */
static bool put_rdata_names(struct dns_writer *dw, const struct rd_layout *l, const uint8_t *rdata,
			    size_t rdlen)
{
	struct wire r = wire_reader(rdata, rdlen);
	struct dns_name names[2];

	if (rd_walk(&r, l, false, names) != DNS_PARSE_OK)
		return false;
	wire_put_bytes(&dw->w, rdata, l->pre);
	for (unsigned i = 0; i < l->names; i++)
		dns_put_name(dw, &names[i], true);
	wire_put_bytes(&dw->w, rdata + rdlen - l->post, l->post);
	return true;
}

static void put_rr_head(struct dns_writer *dw, enum dns_section section, const struct dns_name *name,
			uint16_t type, uint16_t class, uint32_t ttl)
{
	/* sections in order (RFC 1035 4.1); a caller writing out of order
	 * gets an unusable message rather than wrong counts */
	if ((unsigned)section > DNS_SEC_ADDITIONAL)
		dw->w.err = true;
	for (unsigned s = (unsigned)section + 2; s < 4; s++)
		if (dw->counts[s])
			dw->w.err = true;
	dns_put_name(dw, name, true);
	wire_put_u16(&dw->w, type);
	wire_put_u16(&dw->w, class);
	size_t ttl_off = wire_pos(&dw->w);
	wire_put_u32(&dw->w, ttl);
	/* OPT's "TTL" is extended rcode and flags (RFC 6891 6.1.3): never counted down */
	if (type != DNS_TYPE_OPT && wire_ok(&dw->w)) {
		if (dw->nttl < DNS_WRITER_TTLS)
			dw->ttl_off[dw->nttl++] = (uint16_t)ttl_off;
		else
			dw->ttl_overflow = true;
	}
	if ((unsigned)section <= DNS_SEC_ADDITIONAL)
		dw->counts[1 + section]++;
}

void dns_put_rr(struct dns_writer *dw, enum dns_section section, const struct dns_name *name, uint16_t type,
		uint16_t class, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	struct rd_layout l;

	put_rr_head(dw, section, name, type, class, ttl);
	uint8_t *rdlen_at = wire_put_space(&dw->w, 2);
	size_t start = wire_pos(&dw->w);
	if (!rd_compressible(type) || !rd_layout(type, &l) || !put_rdata_names(dw, &l, rdata, rdlen))
		wire_put_bytes(&dw->w, rdata, rdlen);
	size_t n = wire_pos(&dw->w) - start;
	if (!rdlen_at || n > UINT16_MAX) {
		dw->w.err = true;
		return;
	}
	rdlen_at[0] = (uint8_t)(n >> 8);
	rdlen_at[1] = (uint8_t)n;
}

void dns_put_opt(struct dns_writer *dw, uint16_t udp_size, uint16_t rcode, uint16_t flags)
{
	static const struct dns_name root = {1, 0, {0}};

	/* RFC 6891 6.1.3: extended rcode, version 0, flags */
	uint32_t ttl = ((uint32_t)((rcode >> 4) & 0xff) << 24) | flags;

	put_rr_head(dw, DNS_SEC_ADDITIONAL, &root, DNS_TYPE_OPT, udp_size, ttl);
	wire_put_u16(&dw->w, 0);
}

int dns_writer_finish(struct dns_writer *dw)
{
	if (!wire_ok(&dw->w) || dw->w.pos < DNS_HDR_LEN)
		return -ENOSPC;
	uint8_t *b = dw->w.base;
	for (int i = 0; i < 4; i++) {
		b[4 + 2 * i] = (uint8_t)(dw->counts[i] >> 8);
		b[5 + 2 * i] = (uint8_t)dw->counts[i];
	}
	return (int)dw->w.pos;
}

void dns_writer_set_rcode(struct dns_writer *dw, uint16_t rcode)
{
	if (dw->w.pos < DNS_HDR_LEN)
		return; /* the header did not fit: finish says -ENOSPC */
	dw->w.base[3] = (uint8_t)((dw->w.base[3] & 0xf0) | (rcode & 0x0f));
}

/* ---- Text ---- */

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{DNS_TYPE_A, "A"},
	{DNS_TYPE_NS, "NS"},
	{DNS_TYPE_CNAME, "CNAME"},
	{DNS_TYPE_SOA, "SOA"},
	{DNS_TYPE_PTR, "PTR"},
	{DNS_TYPE_HINFO, "HINFO"},
	{DNS_TYPE_MX, "MX"},
	{DNS_TYPE_TXT, "TXT"},
	{DNS_TYPE_AAAA, "AAAA"},
	{DNS_TYPE_SRV, "SRV"},
	{35, "NAPTR"},
	{DNS_TYPE_DNAME, "DNAME"},
	{DNS_TYPE_OPT, "OPT"},
	{DNS_TYPE_DS, "DS"},
	{44, "SSHFP"},
	{DNS_TYPE_RRSIG, "RRSIG"},
	{DNS_TYPE_NSEC, "NSEC"},
	{DNS_TYPE_DNSKEY, "DNSKEY"},
	{50, "NSEC3"},
	{51, "NSEC3PARAM"},
	{52, "TLSA"},
	{64, "SVCB"},
	{DNS_TYPE_HTTPS, "HTTPS"},
	{DNS_TYPE_IXFR, "IXFR"},
	{DNS_TYPE_AXFR, "AXFR"},
	{DNS_TYPE_ANY, "ANY"},
	{257, "CAA"},
};

const char *dns_type_str(uint16_t type, char buf[16])
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	/* RFC 3597 5: the generic mnemonic */
	snprintf(buf, 16, "TYPE%u", type);
	return buf;
}

/* A bounded string builder: appends never overrun, the text is always
 * terminated, what does not fit is cut. */
struct sbuf {
	char *p;
	size_t cap, len;
};

static void sb_mem(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->len + 1 >= sb->cap)
		return;
	size_t room = sb->cap - 1 - sb->len;
	if (n > room)
		n = room;
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = 0;
}

static void sb_str(struct sbuf *sb, const char *s)
{
	sb_mem(sb, s, strlen(s));
}

static void sb_u32(struct sbuf *sb, uint32_t v)
{
	char tmp[16];
	int n = snprintf(tmp, sizeof(tmp), "%u", v);

	sb_mem(sb, tmp, (size_t)n);
}

static void sb_name(struct sbuf *sb, const struct dns_name *n)
{
	char text[DNS_NAME_TEXT_MAX];

	dns_name_to_text(n, text);
	sb_str(sb, text);
}

/* RFC 3597 5: \# LEN HEX (no hex at all for empty rdata). */
static void text_generic(struct sbuf *sb, const uint8_t *rdata, size_t rdlen)
{
	static const char hex[] = "0123456789abcdef";

	sb_str(sb, "\\# ");
	sb_u32(sb, (uint32_t)rdlen);
	if (rdlen)
		sb_str(sb, " ");
	for (size_t i = 0; i < rdlen && sb->len + 1 < sb->cap; i++) {
		char h[2] = {hex[rdata[i] >> 4], hex[rdata[i] & 15]};
		sb_mem(sb, h, 2);
	}
}

/* RFC 1035 5.1: <character-string>s quoted, '"' and '\' escaped, bytes
 * outside printable ASCII as \DDD. False when the strings do not fill the
 * rdata exactly. */
static bool text_txt(struct sbuf *sb, const uint8_t *rdata, size_t rdlen)
{
	struct wire r = wire_reader(rdata, rdlen);

	if (rdlen == 0)
		return false; /* RFC 1035 3.3.14: one string at least */
	while (wire_left(&r) > 0)
		wire_skip(&r, wire_u8(&r));
	if (!wire_ok(&r))
		return false;
	r = wire_reader(rdata, rdlen);
	for (size_t n = 0; wire_left(&r) > 0; n++) {
		uint8_t l = wire_u8(&r);
		const uint8_t *s = wire_take(&r, l);

		sb_str(sb, n ? " \"" : "\"");
		for (unsigned i = 0; i < l; i++) {
			char e[5];
			if (s[i] == '"' || s[i] == '\\')
				snprintf(e, sizeof(e), "\\%c", s[i]);
			else if (s[i] < 0x20 || s[i] > 0x7e)
				snprintf(e, sizeof(e), "\\%03u", s[i]);
			else
				snprintf(e, sizeof(e), "%c", s[i]);
			sb_str(sb, e);
		}
		sb_str(sb, "\"");
	}
	return true;
}

/* The types whose rdata are names and numbers. False when RDATA does not
 * have the type's layout (it is then shown generically). */
static bool text_names(struct sbuf *sb, uint16_t type, const uint8_t *rdata, size_t rdlen)
{
	struct wire r = wire_reader(rdata, rdlen);
	struct dns_name names[2];
	struct rd_layout l;

	if (!rd_layout(type, &l) || rd_walk(&r, &l, false, names) != DNS_PARSE_OK)
		return false;
	r = wire_reader(rdata, rdlen);
	if (type == DNS_TYPE_MX) {
		sb_u32(sb, wire_u16(&r));
		sb_str(sb, " ");
	} else if (type == DNS_TYPE_SRV) {
		for (int i = 0; i < 3; i++) {
			sb_u32(sb, wire_u16(&r));
			sb_str(sb, " ");
		}
	}
	sb_name(sb, &names[0]);
	if (type == DNS_TYPE_SOA) {
		sb_str(sb, " ");
		sb_name(sb, &names[1]);
		/* serial refresh retry expire minimum (RFC 1035 3.3.13) */
		r.pos = rdlen - 20;
		for (int i = 0; i < 5; i++) {
			sb_str(sb, " ");
			sb_u32(sb, wire_u32(&r));
		}
	}
	return true;
}

void dns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t rdlen, char *out, size_t cap)
{
	struct sbuf sb = {out, cap, 0};
	char addr[INET6_ADDRSTRLEN];
	bool done = false;

	if (cap == 0)
		return;
	out[0] = 0;
	switch (type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		if (rdlen == (type == DNS_TYPE_A ? 4u : 16u) &&
		    inet_ntop(type == DNS_TYPE_A ? AF_INET : AF_INET6, rdata, addr, sizeof(addr))) {
			sb_str(&sb, addr);
			done = true;
		}
		break;
	case DNS_TYPE_TXT:
		done = text_txt(&sb, rdata, rdlen);
		break;
	default:
		done = text_names(&sb, type, rdata, rdlen);
		break;
	}
	if (!done) {
		sb.len = 0;
		out[0] = 0;
		text_generic(&sb, rdata, rdlen);
	}
}
