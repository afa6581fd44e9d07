/* dhcp_packet.c — the DHCPv4 wire format (see dhcp_packet.h for the rules
 * and the RFC sections they come from). */
#include "dhcp_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "wire.h"

static inline void bit_set(uint32_t *set, uint8_t code)
{
	set[code >> 5] |= 1u << (code & 31);
}

static inline bool bit_get(const uint32_t *set, uint8_t code)
{
	return (set[code >> 5] >> (code & 31)) & 1;
}

/* ---- Walking the options of one field ---- */

struct raw_opt {
	uint8_t code;
	uint8_t len;
	size_t at; /* cursor position of the code octet (of End, or the field's end, at OPT_END) */
	const uint8_t *data;
};

enum {
	OPT_ONE,
	OPT_END,
	OPT_BAD
};

/* The next option of the field under W, Pad skipped (RFC 2132 3.1).
 * OPT_END at End (RFC 2132 3.2) or when the field ends with no End (a
 * quirk many clients have); OPT_BAD when an option runs past the field. */
static int opt_next(struct wire *w, struct raw_opt *o)
{
	for (;;) {
		o->at = wire_pos(w);
		if (wire_left(w) == 0)
			return OPT_END;
		o->code = wire_u8(w);
		if (o->code == DHCP_OPT_PAD)
			continue;
		if (o->code == DHCP_OPT_END)
			return OPT_END;
		o->len = wire_u8(w);
		o->data = wire_take(w, o->len);
		return o->data ? OPT_ONE : OPT_BAD;
	}
}

/* ---- Parsing ---- */

static const char *const drop_names[DHCP_DROP_COUNT] = {
	[DHCP_DROP_TRUNCATED] = "truncated",	       [DHCP_DROP_BAD_OP] = "bad_op",
	[DHCP_DROP_BAD_HWADDR] = "bad_hwaddr",	       [DHCP_DROP_NO_COOKIE] = "no_cookie",
	[DHCP_DROP_OPTION_OVERRUN] = "option_overrun", [DHCP_DROP_BAD_OPTION_LEN] = "bad_option_len",
	[DHCP_DROP_BAD_OVERLOAD] = "bad_overload",     [DHCP_DROP_TOO_BIG] = "too_big",
	[DHCP_DROP_NO_MSG_TYPE] = "no_msg_type",       [DHCP_DROP_BAD_MSG_TYPE] = "bad_msg_type",
	[DHCP_DROP_BAD_AGENT_INFO] = "bad_agent_info",
};

const char *dhcp_drop_name(int reason)
{
	if (reason < 0 && reason > -DHCP_DROP_COUNT)
		reason = -reason;
	if (reason <= 0 || reason >= DHCP_DROP_COUNT)
		return "unknown";
	return drop_names[reason];
}

static const char *const type_names[] = {
	[DHCP_DISCOVER] = "DISCOVER", [DHCP_OFFER] = "OFFER",	[DHCP_REQUEST] = "REQUEST",
	[DHCP_DECLINE] = "DECLINE",   [DHCP_ACK] = "ACK",	[DHCP_NAK] = "NAK",
	[DHCP_RELEASE] = "RELEASE",   [DHCP_INFORM] = "INFORM",
};

const char *dhcp_type_name(int type)
{
	if (type < DHCP_DISCOVER || type > DHCP_INFORM)
		return "unknown";
	return type_names[type];
}

/* Two passes over the same fields: the first sizes each code's
 * concatenated value (RFC 3396) and checks the framing, the second copies
 * the data into place. Two cheap passes beat moving data around when an
 * option's instances are interleaved with others. */
struct scan {
	struct dhcp_msg *m;
	size_t total;
	const uint8_t *overload; /* option 52's value octet, first pass */
	bool copy;
};

static int scan_add(struct scan *s, const struct raw_opt *o)
{
	struct dhcp_msg *m = s->m;
	struct dhcp_optref *ref = &m->opt[o->code];

	if (s->copy) {
		memcpy(m->data + ref->off + ref->len, o->data, o->len);
		ref->len += o->len;
		return 0;
	}
	if (!bit_get(m->present, o->code)) {
		bit_set(m->present, o->code);
		ref->len = 0;
		m->order[m->nopts++] = o->code;
	}
	if (o->len > DHCP_OPT_DATA_MAX - s->total)
		return -DHCP_DROP_TOO_BIG;
	s->total += o->len;
	ref->len += o->len;
	if (o->code == DHCP_OPT_OVERLOAD && o->len > 0)
		s->overload = o->data;
	return 0;
}

static int scan_field(struct scan *s, struct wire w, bool options_field)
{
	struct raw_opt o;
	int r;

	while ((r = opt_next(&w, &o)) == OPT_ONE) {
		/* RFC 2131 4.1 / RFC 2132 9.3: only the options field may say
		 * that 'file' and 'sname' hold options; a 52 in those is noise */
		if (o.code == DHCP_OPT_OVERLOAD && !options_field)
			continue;
		int e = scan_add(s, &o);
		if (e < 0)
			return e;
	}
	return r == OPT_BAD ? -DHCP_DROP_OPTION_OVERRUN : 0;
}

/* The options field, then 'file', then 'sname' (RFC 2131 4.1). */
static int scan_all(struct scan *s, struct wire opts, struct wire file, struct wire sname)
{
	int r = scan_field(s, opts, true);

	if (r < 0)
		return r;
	if (!s->copy && dhcp_has(s->m, DHCP_OPT_OVERLOAD)) {
		/* RFC 2132 9.3: one octet, 1 (file), 2 (sname) or 3 (both) */
		if (s->m->opt[DHCP_OPT_OVERLOAD].len != 1 || s->overload[0] < 1 || s->overload[0] > 3)
			return -DHCP_DROP_BAD_OVERLOAD;
		s->m->overload = s->overload[0];
	}
	if (s->m->overload & DHCP_OVERLOAD_FILE) {
		r = scan_field(s, file, false);
		if (r < 0)
			return r;
	}
	if (s->m->overload & DHCP_OVERLOAD_SNAME)
		r = scan_field(s, sname, false);
	return r;
}

static void layout(struct dhcp_msg *m)
{
	uint16_t off = 0;

	for (size_t i = 0; i < m->nopts; i++) {
		struct dhcp_optref *ref = &m->opt[m->order[i]];

		ref->off = off;
		off += ref->len; /* the first pass bounded the sum by DHCP_OPT_DATA_MAX */
		ref->len = 0;	 /* the second pass counts it up again */
	}
}

/* Options whose length the server relies on. */
static const struct {
	uint8_t code;
	uint8_t min, max;
} fixed_lengths[] = {
	{DHCP_OPT_REQUESTED_ADDR, 4, 4},   /* RFC 2132 9.1 */
	{DHCP_OPT_LEASE_TIME, 4, 4},	   /* RFC 2132 9.2 */
	{DHCP_OPT_MSG_TYPE, 1, 1},	   /* RFC 2132 9.6 */
	{DHCP_OPT_SERVER_ID, 4, 4},	   /* RFC 2132 9.7 */
	{DHCP_OPT_MAX_SIZE, 2, 2},	   /* RFC 2132 9.10 */
	{DHCP_OPT_CLIENT_ID, 2, 0},	   /* RFC 2132 9.14: minimum 2; 0: no maximum */
	{DHCP_OPT_SUBNET_SELECTION, 4, 4}, /* RFC 3011 3 */
};

/* Whether LEN is a length CODE may have; the builder checks the same. */
static bool length_ok(uint8_t code, size_t len)
{
	for (size_t i = 0; i < sizeof(fixed_lengths) / sizeof(fixed_lengths[0]); i++)
		if (fixed_lengths[i].code == code)
			return len >= fixed_lengths[i].min &&
			       (!fixed_lengths[i].max || len <= fixed_lengths[i].max);
	return true;
}

static int check_lengths(const struct dhcp_msg *m)
{
	for (size_t i = 0; i < sizeof(fixed_lengths) / sizeof(fixed_lengths[0]); i++) {
		uint8_t code = fixed_lengths[i].code;

		if (dhcp_has(m, code) && !length_ok(code, m->opt[code].len))
			return -DHCP_DROP_BAD_OPTION_LEN;
	}
	return 0;
}

/* RFC 2131 table 2 and 3: which side sends which message. */
#define CLIENT_TYPES                                                                                  \
	((1u << DHCP_DISCOVER) | (1u << DHCP_REQUEST) | (1u << DHCP_DECLINE) | (1u << DHCP_RELEASE) | \
	 (1u << DHCP_INFORM))
#define SERVER_TYPES ((1u << DHCP_OFFER) | (1u << DHCP_ACK) | (1u << DHCP_NAK))

static int check_type(struct dhcp_msg *m)
{
	if (!dhcp_has(m, DHCP_OPT_MSG_TYPE))
		return -DHCP_DROP_NO_MSG_TYPE;
	m->type = m->data[m->opt[DHCP_OPT_MSG_TYPE].off];
	if (m->type < DHCP_DISCOVER || m->type > DHCP_INFORM)
		return -DHCP_DROP_BAD_MSG_TYPE;
	if (!(((m->op == DHCP_BOOTREQUEST) ? CLIENT_TYPES : SERVER_TYPES) & (1u << m->type)))
		return -DHCP_DROP_BAD_MSG_TYPE;
	return 0;
}

/* RFC 3046 2.0: at least one sub-option, each code/length/value inside
 * the option; RFC 3527 3: link-selection is an address. */
static bool agent_info_ok(const uint8_t *p, size_t len)
{
	struct wire w = wire_reader(p, len);

	if (len < 2)
		return false;
	while (wire_left(&w) > 0) {
		uint8_t sub = wire_u8(&w);
		uint8_t n = wire_u8(&w);

		wire_skip(&w, n);
		if (!wire_ok(&w) || (sub == DHCP_AGENT_LINK_SELECTION && n != 4))
			return false;
	}
	return true;
}

static int check_agent_info(const struct dhcp_msg *m)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, DHCP_OPT_AGENT_INFO, &len);

	return !p || agent_info_ok(p, len) ? 0 : -DHCP_DROP_BAD_AGENT_INFO;
}

/* Option 55 deduplicated, 0 and 255 (meaningless there) left out. */
static void index_prl(struct dhcp_msg *m)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, DHCP_OPT_PARAM_LIST, &len);
	struct wire w = wire_reader(p, p ? len : 0);

	memset(m->prl_set, 0, sizeof(m->prl_set));
	m->nprl = 0;
	while (wire_left(&w) > 0) {
		uint8_t c = wire_u8(&w);

		if (c == DHCP_OPT_PAD || c == DHCP_OPT_END || bit_get(m->prl_set, c))
			continue;
		bit_set(m->prl_set, c);
		m->prl[m->nprl++] = c;
	}
}

static int parse_header(struct wire *w, struct dhcp_msg *m)
{
	m->op = wire_u8(w);
	m->htype = wire_u8(w);
	m->hlen = wire_u8(w);
	m->hops = wire_u8(w);
	m->xid = wire_u32(w);
	m->secs = wire_u16(w);
	m->flags = wire_u16(w);
	wire_copy(w, &m->ciaddr, 4);
	wire_copy(w, &m->yiaddr, 4);
	wire_copy(w, &m->siaddr, 4);
	wire_copy(w, &m->giaddr, 4);
	wire_copy(w, m->chaddr, DHCP_CHADDR_LEN);
	if (!wire_ok(w))
		return -DHCP_DROP_TRUNCATED;
	if (m->op != DHCP_BOOTREQUEST && m->op != DHCP_BOOTREPLY)
		return -DHCP_DROP_BAD_OP;
	/* RFC 2131 2: chaddr is 16 octets; an Ethernet address is 6 and the
	 * server may deliver to it at the link layer (RFC 2131 4.1) */
	if (m->hlen > DHCP_CHADDR_LEN || (m->htype == DHCP_HTYPE_ETHER && m->hlen != 6))
		return -DHCP_DROP_BAD_HWADDR;
	return 0;
}

int dhcp_parse(const void *buf, size_t len, struct dhcp_msg *m)
{
	struct wire w = wire_reader(buf, len);
	int r = parse_header(&w, m);

	if (r < 0)
		return r;
	struct wire sname = wire_sub(&w, DHCP_SNAME_LEN);
	struct wire file = wire_sub(&w, DHCP_FILE_LEN);
	if (!wire_ok(&w))
		return -DHCP_DROP_TRUNCATED;
	if (wire_u32(&w) != DHCP_MAGIC_COOKIE || !wire_ok(&w))
		return -DHCP_DROP_NO_COOKIE;
	struct wire opts = wire_sub(&w, wire_left(&w));

	m->len = len;
	m->type = 0;
	m->overload = 0;
	m->nopts = 0;
	memset(m->present, 0, sizeof(m->present));
	struct scan s = {.m = m, .total = 0, .overload = NULL, .copy = false};
	r = scan_all(&s, opts, file, sname);
	if (r < 0)
		return r;
	layout(m);
	s.copy = true;
	(void)scan_all(&s, opts, file, sname); /* same bytes: cannot fail now */

	if (!dhcp_has(m, DHCP_OPT_MSG_TYPE))
		return -DHCP_DROP_NO_MSG_TYPE;
	r = check_lengths(m);
	if (r == 0)
		r = check_type(m);
	if (r == 0)
		r = check_agent_info(m);
	if (r == 0)
		index_prl(m);
	return r;
}

/* ---- Getters ---- */

const uint8_t *dhcp_opt(const struct dhcp_msg *m, uint8_t code, size_t *len)
{
	if (!dhcp_has(m, code)) {
		*len = 0;
		return NULL;
	}
	*len = m->opt[code].len;
	return m->data + m->opt[code].off;
}

size_t dhcp_opt_codes(const struct dhcp_msg *m, const uint8_t **codes)
{
	*codes = m->order;
	return m->nopts;
}

/* The option's data as a cursor of exactly WANT octets. */
static int opt_fixed(const struct dhcp_msg *m, uint8_t code, size_t want, struct wire *w)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, code, &len);

	if (!p)
		return -ENOENT;
	if (len != want)
		return -EINVAL;
	*w = wire_reader(p, len);
	return 0;
}

int dhcp_opt_u8(const struct dhcp_msg *m, uint8_t code, uint8_t *v)
{
	struct wire w;
	int r = opt_fixed(m, code, 1, &w);

	if (r == 0)
		*v = wire_u8(&w);
	return r;
}

int dhcp_opt_u16(const struct dhcp_msg *m, uint8_t code, uint16_t *v)
{
	struct wire w;
	int r = opt_fixed(m, code, 2, &w);

	if (r == 0)
		*v = wire_u16(&w);
	return r;
}

int dhcp_opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *v)
{
	struct wire w;
	int r = opt_fixed(m, code, 4, &w);

	if (r == 0)
		*v = wire_u32(&w);
	return r;
}

int dhcp_opt_addr(const struct dhcp_msg *m, uint8_t code, struct in_addr *a)
{
	struct wire w;
	int r = opt_fixed(m, code, 4, &w);

	if (r == 0)
		wire_copy(&w, a, 4);
	return r;
}

int dhcp_opt_addrs(const struct dhcp_msg *m, uint8_t code, struct in_addr *out, size_t max)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, code, &len);

	if (!p)
		return -ENOENT;
	if (len == 0 || len % 4)
		return -EINVAL;
	struct wire w = wire_reader(p, len);
	for (size_t i = 0; i < len / 4 && i < max; i++)
		wire_copy(&w, &out[i], 4);
	return (int)(len / 4);
}

size_t dhcp_prl(const struct dhcp_msg *m, const uint8_t **codes)
{
	*codes = m->prl;
	return m->nprl;
}

uint16_t dhcp_max_msg_size(const struct dhcp_msg *m)
{
	uint16_t v;

	if (dhcp_opt_u16(m, DHCP_OPT_MAX_SIZE, &v) < 0 || v < DHCP_MIN_MAX_SIZE)
		return 0;
	return v;
}

const uint8_t *dhcp_client_id(const struct dhcp_msg *m, size_t *len)
{
	return dhcp_opt(m, DHCP_OPT_CLIENT_ID, len);
}

int dhcp_hostname(const struct dhcp_msg *m, char *out, size_t cap)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, DHCP_OPT_HOSTNAME, &len);

	if (!p)
		return -ENOENT;
	while (len > 0 && p[len - 1] == 0)
		len--;
	if (len == 0 || memchr(p, 0, len))
		return -EINVAL;
	if (len >= cap)
		return -ENAMETOOLONG;
	memcpy(out, p, len);
	out[len] = 0;
	return (int)len;
}

/* RFC 4702 2.3: labels, each a length (1..63) and its octets, ending in
 * the root label (fully qualified) or not (a partial name). */
static int fqdn_wire(struct wire *w, struct dhcp_fqdn *f)
{
	size_t n = 0;

	while (wire_left(w) > 0) {
		uint8_t l = wire_u8(w);

		if (l == 0) {
			f->qualified = true;
			return wire_left(w) == 0 ? 0 : -EINVAL;
		}
		if (l > 63) /* also compression pointers, which 2.3 forbids */
			return -EINVAL;
		const uint8_t *label = wire_take(w, l);
		if (!label || memchr(label, '.', l) || memchr(label, 0, l))
			return -EINVAL;
		if (n + (n > 0) + l > DHCP_NAME_MAX)
			return -ENAMETOOLONG;
		if (n > 0)
			f->name[n++] = '.';
		memcpy(f->name + n, label, l);
		n += l;
		f->name[n] = 0;
	}
	return 0;
}

/* RFC 4702 2.3.1: the deprecated ASCII form, maybe NUL-terminated. */
static int fqdn_ascii(struct wire *w, struct dhcp_fqdn *f)
{
	size_t len = wire_left(w);
	const uint8_t *p = wire_take(w, len);

	while (len > 0 && p[len - 1] == 0)
		len--;
	if (memchr(p, 0, len))
		return -EINVAL;
	if (len > 0 && p[len - 1] == '.') {
		f->qualified = true;
		len--;
	}
	if (len > DHCP_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(f->name, p, len);
	f->name[len] = 0;
	return 0;
}

int dhcp_client_fqdn(const struct dhcp_msg *m, struct dhcp_fqdn *f)
{
	size_t len;
	const uint8_t *p = dhcp_opt(m, DHCP_OPT_CLIENT_FQDN, &len);

	f->name[0] = 0;
	f->qualified = false;
	if (!p)
		return -ENOENT;
	if (len < 3)
		return -EINVAL;
	struct wire w = wire_reader(p, len);
	f->flags = wire_u8(&w) & (DHCP_FQDN_S | DHCP_FQDN_O | DHCP_FQDN_E | DHCP_FQDN_N);
	f->rcode1 = wire_u8(&w);
	f->rcode2 = wire_u8(&w);
	int r = (f->flags & DHCP_FQDN_E) ? fqdn_wire(&w, f) : fqdn_ascii(&w, f);
	if (r < 0) {
		f->name[0] = 0;
		f->qualified = false;
	}
	return r;
}

int dhcp_requested_addr(const struct dhcp_msg *m, struct in_addr *a)
{
	return dhcp_opt_addr(m, DHCP_OPT_REQUESTED_ADDR, a);
}

int dhcp_server_id(const struct dhcp_msg *m, struct in_addr *a)
{
	return dhcp_opt_addr(m, DHCP_OPT_SERVER_ID, a);
}

const uint8_t *dhcp_agent_sub(const struct dhcp_msg *m, uint8_t sub, size_t *len)
{
	size_t optlen;
	const uint8_t *p = dhcp_opt(m, DHCP_OPT_AGENT_INFO, &optlen);
	struct wire w = wire_reader(p, p ? optlen : 0);

	while (wire_left(&w) > 0) {
		uint8_t code = wire_u8(&w);
		uint8_t n = wire_u8(&w);
		const uint8_t *data = wire_take(&w, n);

		if (data && code == sub) {
			*len = n;
			return data;
		}
	}
	*len = 0;
	return NULL;
}

int dhcp_link_selection(const struct dhcp_msg *m, struct in_addr *a)
{
	size_t len;
	const uint8_t *p = dhcp_agent_sub(m, DHCP_AGENT_LINK_SELECTION, &len);

	if (p && len == 4) {
		struct wire w = wire_reader(p, len);
		wire_copy(&w, a, 4);
		return 0;
	}
	return dhcp_opt_addr(m, DHCP_OPT_SUBNET_SELECTION, a) == 0 ? 0 : -ENOENT;
}

/* ---- Building ---- */

static int reply_put(struct dhcp_reply *b, uint8_t code, const void *data, size_t len)
{
	if (len > (size_t)DHCP_REPLY_DATA_MAX - b->used) {
		b->dropped++;
		return -ENOSPC;
	}
	if (!bit_get(b->present, code)) {
		bit_set(b->present, code);
		b->order[b->nopts++] = code;
	}
	b->opt[code].off = b->used;
	b->opt[code].len = (uint16_t)len;
	if (len)
		memcpy(b->data + b->used, data, len);
	b->used += (uint16_t)len;
	return 0;
}

int dhcp_reply_init(struct dhcp_reply *b, void *buf, size_t cap, const struct dhcp_msg *req, uint8_t type)
{
	/* RFC 2131 table 2: a server sends OFFER, ACK and NAK */
	if (!buf || !req || cap < DHCP_DEFAULT_LIMIT ||
	    (type != DHCP_OFFER && type != DHCP_ACK && type != DHCP_NAK))
		return -EINVAL;
	b->buf = buf;
	b->cap = cap;
	b->req = req;
	b->htype = req->htype;
	b->hlen = req->hlen;
	b->flags = req->flags;
	b->xid = req->xid;
	b->ciaddr.s_addr = 0;
	b->yiaddr.s_addr = 0;
	b->siaddr.s_addr = 0;
	b->giaddr = req->giaddr;
	memcpy(b->chaddr, req->chaddr, DHCP_CHADDR_LEN);

	uint16_t mms = dhcp_max_msg_size(req);
	size_t limit = mms ? (size_t)mms - DHCP_IP_UDP_LEN : DHCP_DEFAULT_LIMIT;
	b->limit = limit < cap ? limit : cap;
	b->dropped = 0;
	memset(b->present, 0, sizeof(b->present));
	b->nopts = 0;
	b->used = 0;
	return reply_put(b, DHCP_OPT_MSG_TYPE, &type, 1);
}

int dhcp_reply_opt(struct dhcp_reply *b, uint8_t code, const void *data, size_t len)
{
	/* 53 is init's; a 52 would make the client read 'file' and 'sname',
	 * which this builder leaves zero, as options */
	if (code == DHCP_OPT_PAD || code == DHCP_OPT_END || code == DHCP_OPT_MSG_TYPE ||
	    code == DHCP_OPT_OVERLOAD)
		return -EINVAL;
	if (len > DHCP_REPLY_DATA_MAX || (len && !data) || !length_ok(code, len))
		return -EINVAL;
	if (code == DHCP_OPT_AGENT_INFO && !agent_info_ok(data, len))
		return -EINVAL;
	return reply_put(b, code, data, len);
}

int dhcp_reply_u8(struct dhcp_reply *b, uint8_t code, uint8_t v)
{
	return dhcp_reply_opt(b, code, &v, 1);
}

int dhcp_reply_u16(struct dhcp_reply *b, uint8_t code, uint16_t v)
{
	uint8_t d[2];
	struct wire w = wire_writer(d, sizeof(d));

	wire_put_u16(&w, v);
	return dhcp_reply_opt(b, code, d, sizeof(d));
}

int dhcp_reply_u32(struct dhcp_reply *b, uint8_t code, uint32_t v)
{
	uint8_t d[4];
	struct wire w = wire_writer(d, sizeof(d));

	wire_put_u32(&w, v);
	return dhcp_reply_opt(b, code, d, sizeof(d));
}

int dhcp_reply_addr(struct dhcp_reply *b, uint8_t code, struct in_addr a)
{
	return dhcp_reply_opt(b, code, &a, 4);
}

int dhcp_reply_addrs(struct dhcp_reply *b, uint8_t code, const struct in_addr *a, size_t n)
{
	if (n == 0 || n > DHCP_REPLY_DATA_MAX / 4)
		return -EINVAL;
	/* struct in_addr is exactly its 4 network-order octets */
	return dhcp_reply_opt(b, code, a, n * 4);
}

int dhcp_reply_echo_agent_info(struct dhcp_reply *b)
{
	size_t len;
	const uint8_t *p = dhcp_opt(b->req, DHCP_OPT_AGENT_INFO, &len);

	if (!p)
		return -ENOENT;
	return dhcp_reply_opt(b, DHCP_OPT_AGENT_INFO, p, len);
}

/* What an option of LEN octets takes on the wire, split into instances of
 * at most 255 (RFC 3396). */
static size_t wire_size(size_t len)
{
	return len == 0 ? 2 : len + 2 * ((len + 254) / 255);
}

static void put_option(struct wire *w, uint8_t code, const uint8_t *p, size_t len)
{
	do {
		size_t n = len > 255 ? 255 : len;

		wire_put_u8(w, code);
		wire_put_u8(w, (uint8_t)n);
		wire_put_bytes(w, p, n);
		p += n;
		len -= n;
	} while (len > 0);
}

/* What a reply must carry whatever the space (RFC 2131 table 3: 53 and 54
 * always, 51 in an OFFER or ACK with a lease; RFC 3046 2.2: 82). */
static bool mandatory(uint8_t code)
{
	return code == DHCP_OPT_MSG_TYPE || code == DHCP_OPT_SERVER_ID || code == DHCP_OPT_LEASE_TIME ||
	       code == DHCP_OPT_AGENT_INFO;
}

struct seq {
	uint8_t code[256];
	size_t n;
	uint32_t placed[8];
};

static void seq_push(struct seq *s, const struct dhcp_reply *b, uint8_t code)
{
	if (bit_get(b->present, code) && !bit_get(s->placed, code)) {
		bit_set(s->placed, code);
		s->code[s->n++] = code;
	}
}

/* The emission order of dhcp_reply_finish(). */
static void reply_order(const struct dhcp_reply *b, struct seq *s)
{
	const uint8_t *prl;
	size_t nprl = dhcp_prl(b->req, &prl);

	s->n = 0;
	memset(s->placed, 0, sizeof(s->placed));
	bit_set(s->placed, DHCP_OPT_AGENT_INFO); /* held back for the end */
	seq_push(s, b, DHCP_OPT_MSG_TYPE);
	seq_push(s, b, DHCP_OPT_SERVER_ID);
	for (size_t i = 0; i < nprl; i++)
		seq_push(s, b, prl[i]);
	for (size_t i = 0; i < b->nopts; i++)
		seq_push(s, b, b->order[i]);
	if (bit_get(b->present, DHCP_OPT_AGENT_INFO))
		s->code[s->n++] = DHCP_OPT_AGENT_INFO;
}

/* Keep the mandatory options and, in order, every other one that still
 * fits in ROOM octets. -EMSGSIZE when the mandatory ones alone do not. */
static int reply_fit(struct dhcp_reply *b, struct seq *s, size_t room)
{
	size_t need = 0, k = 0;

	for (size_t i = 0; i < s->n; i++)
		if (mandatory(s->code[i]))
			need += wire_size(b->opt[s->code[i]].len);
	if (need > room)
		return -EMSGSIZE;
	room -= need;
	for (size_t i = 0; i < s->n; i++) {
		uint8_t c = s->code[i];
		size_t size = wire_size(b->opt[c].len);

		if (mandatory(c)) {
			s->code[k++] = c;
		} else if (size <= room) {
			room -= size;
			s->code[k++] = c;
		} else {
			b->dropped++;
		}
	}
	s->n = k;
	return 0;
}

static void put_zeros(struct wire *w, size_t n)
{
	uint8_t *p = wire_put_space(w, n);

	if (p)
		memset(p, 0, n);
}

static void put_header(struct wire *w, const struct dhcp_reply *b)
{
	wire_put_u8(w, DHCP_BOOTREPLY);
	wire_put_u8(w, b->htype);
	wire_put_u8(w, b->hlen);
	wire_put_u8(w, 0); /* hops */
	wire_put_u32(w, b->xid);
	wire_put_u16(w, 0); /* secs */
	wire_put_u16(w, b->flags);
	wire_put_bytes(w, &b->ciaddr, 4);
	wire_put_bytes(w, &b->yiaddr, 4);
	wire_put_bytes(w, &b->siaddr, 4);
	wire_put_bytes(w, &b->giaddr, 4);
	wire_put_bytes(w, b->chaddr, DHCP_CHADDR_LEN);
	put_zeros(w, DHCP_SNAME_LEN + DHCP_FILE_LEN);
	wire_put_u32(w, DHCP_MAGIC_COOKIE);
}

int dhcp_reply_finish(struct dhcp_reply *b)
{
	size_t limit = b->limit < b->cap ? b->limit : b->cap;
	struct seq s;

	if (limit < DHCP_MIN_LEN)
		return -EMSGSIZE;
	reply_order(b, &s);
	int r = reply_fit(b, &s, limit - DHCP_OPTIONS_OFF - 1);
	if (r < 0)
		return r;

	struct wire w = wire_writer(b->buf, limit);
	put_header(&w, b);
	for (size_t i = 0; i < s.n; i++)
		put_option(&w, s.code[i], b->data + b->opt[s.code[i]].off, b->opt[s.code[i]].len);
	wire_put_u8(&w, DHCP_OPT_END);
	if (wire_pos(&w) < DHCP_MIN_LEN)
		put_zeros(&w, DHCP_MIN_LEN - wire_pos(&w));
	return wire_ok(&w) ? (int)wire_pos(&w) : -EMSGSIZE;
}

/* ---- Option encoders ---- */

static uint32_t prefix_mask(uint8_t prefix)
{
	return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

int dhcp_routes_encode(const struct dhcp_route *r, size_t n, uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);

	for (size_t i = 0; i < n; i++) {
		if (r[i].prefix > 32)
			return -EINVAL;
		uint32_t dst = ntohl(r[i].dst.s_addr) & prefix_mask(r[i].prefix);

		wire_put_u8(&w, r[i].prefix);
		for (unsigned k = 0; k < (r[i].prefix + 7u) / 8; k++)
			wire_put_u8(&w, (uint8_t)(dst >> (24 - 8 * k)));
		wire_put_bytes(&w, &r[i].gw, 4);
	}
	return wire_ok(&w) ? (int)wire_pos(&w) : -ENOSPC;
}

int dhcp_routes_decode(const uint8_t *data, size_t len, struct dhcp_route *out, size_t max)
{
	struct wire w = wire_reader(data, len);
	int count = 0;

	while (wire_left(&w) > 0) {
		struct dhcp_route rt;
		uint32_t dst = 0;

		rt.prefix = wire_u8(&w);
		if (rt.prefix > 32)
			return -EINVAL;
		for (unsigned k = 0; k < (rt.prefix + 7u) / 8; k++)
			dst |= (uint32_t)wire_u8(&w) << (24 - 8 * k);
		wire_copy(&w, &rt.gw, 4);
		if (!wire_ok(&w))
			return -EINVAL;
		/* RFC 3442 2: bits past the prefix are zeroed by the receiver */
		rt.dst.s_addr = htonl(dst & prefix_mask(rt.prefix));
		if ((size_t)count < max)
			out[count] = rt;
		count++;
	}
	return count;
}

/* NAME's labels: 1..63 octets each (RFC 1035 2.3.4), at most 253 in all. */
static bool labels_ok(const char *name, size_t len)
{
	size_t label = 0;

	if (len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '.') {
			label++;
			continue;
		}
		if (label == 0 || label > 63)
			return false;
		label = 0;
	}
	return len == 0 || (label > 0 && label <= 63);
}

int dhcp_fqdn_encode(uint8_t flags, const char *name, bool qualified, uint8_t *out, size_t cap)
{
	struct wire w = wire_writer(out, cap);
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.') {
		qualified = true;
		len--;
	}
	if (!labels_ok(name, len))
		return -EINVAL;
	wire_put_u8(&w, flags);
	wire_put_u8(&w, 255); /* RFC 4702 2.2 */
	wire_put_u8(&w, 255);
	if (flags & DHCP_FQDN_E) {
		const char *p = name, *end = name + len;

		while (p < end) {
			const char *dot = memchr(p, '.', (size_t)(end - p));
			size_t l = (size_t)((dot ? dot : end) - p);

			wire_put_u8(&w, (uint8_t)l);
			wire_put_bytes(&w, p, l);
			p += l + 1;
		}
		if (qualified)
			wire_put_u8(&w, 0);
	} else {
		wire_put_bytes(&w, name, len);
		if (qualified)
			wire_put_u8(&w, '.');
	}
	return wire_ok(&w) ? (int)wire_pos(&w) : -ENOSPC;
}

/* ---- Relay agent ---- */

int dhcp_relay_request(void *pkt, size_t len, struct in_addr giaddr, unsigned max_hops)
{
	struct wire w = wire_writer(pkt, len);
	unsigned limit = max_hops < 16 ? max_hops : 16;

	if (len < DHCP_HDR_LEN)
		return -EINVAL;
	wire_skip(&w, 3);
	uint8_t *hops = wire_put_space(&w, 1);
	wire_skip(&w, 20); /* xid, secs, flags, ciaddr, yiaddr, siaddr */
	uint8_t *gi = wire_put_space(&w, 4);
	if (!wire_ok(&w))
		return -EINVAL;
	/* RFC 1542 4.1.1: discard when hops exceeds the limit (16 at most) */
	if (*hops > limit)
		return -ELOOP;
	(*hops)++;
	/* RFC 1542 4.1.1: a giaddr set by a relay closer to the client stays */
	if (memcmp(gi, "\0\0\0\0", 4) == 0)
		memcpy(gi, &giaddr, 4);
	return 0;
}

/* Where a raw packet's fields are, checked like dhcp_parse() checks the
 * framing (but no option semantics: the relay forwards what it does not
 * understand). */
struct raw_layout {
	size_t end;	       /* offset of the options field's End, or the packet's length */
	uint8_t overload;      /* option 52 of the options field */
	struct wire fields[3]; /* options, then 'file' and 'sname' when overloaded */
	size_t nfields;
};

static bool field_ok(struct wire w)
{
	struct raw_opt o;
	int r;

	while ((r = opt_next(&w, &o)) == OPT_ONE)
		;
	return r == OPT_END;
}

/* A cursor over PKT[OFF, OFF+LEN) whose positions are offsets into PKT. */
static struct wire field_at(const uint8_t *pkt, size_t off, size_t len)
{
	struct wire w = wire_reader(pkt, off + len);

	wire_skip(&w, off);
	return w;
}

static int raw_layout(const uint8_t *pkt, size_t len, struct raw_layout *lo)
{
	struct wire w = wire_reader(pkt, len);
	struct raw_opt o;
	size_t ovl_len = 0;
	uint8_t ovl = 0;
	int r;

	wire_skip(&w, DHCP_HDR_LEN);
	if (wire_u32(&w) != DHCP_MAGIC_COOKIE || !wire_ok(&w))
		return -EINVAL;
	lo->fields[0] = w;
	lo->nfields = 1;
	while ((r = opt_next(&w, &o)) == OPT_ONE) {
		if (o.code == DHCP_OPT_OVERLOAD) {
			ovl_len += o.len;
			if (o.len)
				ovl = o.data[0];
		}
	}
	if (r == OPT_BAD || (ovl_len && (ovl_len != 1 || ovl < 1 || ovl > 3)))
		return -EINVAL;
	lo->end = o.at;
	lo->overload = ovl_len ? ovl : 0;
	if (lo->overload & DHCP_OVERLOAD_FILE)
		lo->fields[lo->nfields++] = field_at(pkt, DHCP_FILE_OFF, DHCP_FILE_LEN);
	if (lo->overload & DHCP_OVERLOAD_SNAME)
		lo->fields[lo->nfields++] = field_at(pkt, DHCP_SNAME_OFF, DHCP_SNAME_LEN);
	for (size_t i = 1; i < lo->nfields; i++)
		if (!field_ok(lo->fields[i]))
			return -EINVAL;
	return 0;
}

static bool layout_has(const struct raw_layout *lo, uint8_t code)
{
	for (size_t i = 0; i < lo->nfields; i++) {
		struct wire w = lo->fields[i];
		struct raw_opt o;

		while (opt_next(&w, &o) == OPT_ONE)
			if (o.code == code)
				return true;
	}
	return false;
}

bool dhcp_pkt_has_agent_info(const void *pkt, size_t len)
{
	struct raw_layout lo;

	return raw_layout(pkt, len, &lo) == 0 && layout_has(&lo, DHCP_OPT_AGENT_INFO);
}

static void put_sub(struct wire *w, uint8_t code, const void *data, size_t len)
{
	if (!data || len == 0)
		return;
	wire_put_u8(w, code);
	wire_put_u8(w, (uint8_t)len);
	wire_put_bytes(w, data, len);
}

int dhcp_relay_add_agent_info(void *pkt, size_t len, size_t max, const struct dhcp_agent_opts *ai)
{
	uint8_t subs[255];
	struct wire sw = wire_writer(subs, sizeof(subs));
	struct raw_layout lo;

	if ((ai->circuit_id_len > 255 && ai->circuit_id) || (ai->remote_id_len > 255 && ai->remote_id))
		return -EINVAL;
	put_sub(&sw, DHCP_AGENT_CIRCUIT_ID, ai->circuit_id, ai->circuit_id_len);
	put_sub(&sw, DHCP_AGENT_REMOTE_ID, ai->remote_id, ai->remote_id_len);
	put_sub(&sw, DHCP_AGENT_LINK_SELECTION, ai->link_selection, ai->link_selection ? 4 : 0);
	/* RFC 3046 2.0: one option of at least one sub-option, at most 255 */
	if (!wire_ok(&sw) || wire_pos(&sw) == 0)
		return -EINVAL;
	if (raw_layout(pkt, len, &lo) < 0)
		return -EINVAL;
	if (layout_has(&lo, DHCP_OPT_AGENT_INFO))
		return -EEXIST;

	size_t sublen = wire_pos(&sw);
	size_t need = lo.end + 2 + sublen + 1;
	size_t new_len = need > len ? need : len;
	if (new_len > max)
		return -EMSGSIZE;
	struct wire w = wire_writer(pkt, new_len);
	wire_skip(&w, lo.end);
	wire_put_u8(&w, DHCP_OPT_AGENT_INFO);
	wire_put_u8(&w, (uint8_t)sublen);
	wire_put_bytes(&w, subs, sublen);
	wire_put_u8(&w, DHCP_OPT_END);
	return wire_ok(&w) ? (int)new_len : -EINVAL;
}

/* Overwrite the 82s of an overloaded field with Pad: its size is fixed. */
static void pad_out_agent_info(uint8_t *pkt, struct wire w)
{
	struct raw_opt o;

	while (opt_next(&w, &o) == OPT_ONE)
		if (o.code == DHCP_OPT_AGENT_INFO)
			memset(pkt + o.at, DHCP_OPT_PAD, 2 + (size_t)o.len);
}

int dhcp_relay_strip_agent_info(void *pkt, size_t len)
{
	uint8_t *p = pkt;
	struct raw_layout lo;
	struct raw_opt o;

	if (raw_layout(p, len, &lo) < 0)
		return -EINVAL;
	if (!layout_has(&lo, DHCP_OPT_AGENT_INFO))
		return (int)len;
	for (size_t i = 1; i < lo.nfields; i++)
		pad_out_agent_info(p, lo.fields[i]);

	/* Compact the options field: every option but 82 slides down. */
	struct wire r = lo.fields[0];
	size_t out = DHCP_OPTIONS_OFF;
	size_t from = DHCP_OPTIONS_OFF; /* start of the run not yet moved */
	while (opt_next(&r, &o) == OPT_ONE) {
		if (o.code != DHCP_OPT_AGENT_INFO)
			continue;
		memmove(p + out, p + from, o.at - from);
		out += o.at - from;
		from = wire_pos(&r);
	}
	if (from == DHCP_OPTIONS_OFF)
		return (int)len; /* the 82s were all in 'file'/'sname' */
	memmove(p + out, p + from, lo.end - from);
	out += lo.end - from;

	/* a new End (an 82 of 2+ octets went, so there is room), then zeros
	 * to the BOOTP minimum the packet had (RFC 1542 2.1) */
	size_t floor = len < DHCP_MIN_LEN ? len : DHCP_MIN_LEN;
	size_t new_len = out + 1 > floor ? out + 1 : floor;
	struct wire w = wire_writer(p, new_len);
	wire_skip(&w, out);
	wire_put_u8(&w, DHCP_OPT_END);
	put_zeros(&w, new_len - out - 1);
	return wire_ok(&w) ? (int)new_len : -EINVAL;
}
