/* fuzz_dns_msg.c — libFuzzer target: arbitrary bytes as one DNS message
 * (a query from a client or a response from upstream). Names are read at
 * every early offset, hostile or not. A message that parses is iterated
 * (which then may not fail), every RR's rdata expanded, its names taken
 * out and printed, and the whole message written again with a dns_writer
 * (compressed); what was written must parse and hold the same RRs with the
 * same expanded rdata, its TTL offsets pointing at the TTLs. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct dns_msg msg, back;
static struct dns_writer dw;
static uint8_t out[DNS_MSG_MAX];
static uint8_t x[DNS_RDATA_EXPANDED_MAX], y[DNS_RDATA_EXPANDED_MAX];
static char text[DNS_NAME_TEXT_MAX * 2 + 65536 * 4];

static void check_name(const struct dns_name *n)
{
	struct dns_name again, p;
	char t[DNS_NAME_TEXT_MAX];
	unsigned labels = 0;
	size_t off = 0;

	CHECK(n->len >= 1 && n->len <= DNS_NAME_MAX);
	while (n->b[off] != 0) {
		CHECK(n->b[off] <= DNS_LABEL_MAX);
		off += 1u + n->b[off];
		labels++;
		CHECK(off < n->len);
	}
	CHECK(off + 1 == n->len && labels == n->labels);

	/* text and back, byte for byte */
	dns_name_to_text(n, t);
	CHECK(strlen(t) < DNS_NAME_TEXT_MAX);
	CHECK(dns_name_from_text(&again, t) == 0);
	CHECK(again.len == n->len && again.labels == n->labels && memcmp(again.b, n->b, n->len) == 0);

	/* case does not matter */
	again = *n;
	dns_name_lower(&again);
	CHECK(dns_name_equal(&again, n) && dns_name_hash(&again) == dns_name_hash(n));
	CHECK(dns_name_is_under(n, &again));

	/* every ancestor holds it; suffix and parent agree */
	p = *n;
	for (unsigned keep = n->labels; keep > 0; keep--) {
		struct dns_name s;

		dns_name_suffix(n, keep, &s);
		CHECK(dns_name_equal(&s, &p) && s.labels == keep);
		CHECK(dns_name_is_under(n, &s));
		CHECK(dns_name_parent(&p));
	}
	CHECK(p.len == 1 && !dns_name_parent(&p));
}

/* dns_name_read() where nothing says a name is: must end, and anything
 * it gives must be a proper name. */
static void read_names_anywhere(const uint8_t *data, size_t size)
{
	size_t lim = size < 300 ? size : 300;

	for (size_t pos = 0; pos < lim; pos++) {
		struct wire r = wire_reader(data, size);
		struct dns_name n;

		r.pos = pos;
		if (dns_name_read(&r, &n) == 0) {
			CHECK(wire_ok(&r) && wire_pos(&r) > pos && wire_pos(&r) <= size);
			check_name(&n);
		} else {
			CHECK(!wire_ok(&r));
		}
	}
}

/* Everything a parsed RR offers; the expanded rdata in X, its length returned. */
static size_t exercise_rr(const struct dns_msg *m, const struct dns_rr *rr)
{
	struct dns_name n;
	uint32_t min;
	char tb[16];

	CHECK(rr->off < rr->ttl_off && rr->ttl_off + 6 == rr->rdata_off);
	CHECK(rr->rdata_off + rr->rdlen <= m->len);
	check_name(&rr->name);
	CHECK(dns_type_str(rr->type, tb) != NULL);
	int len = dns_rdata_expand(m, rr, x, sizeof(x));
	CHECK(len >= 0 && (size_t)len <= DNS_RDATA_EXPANDED_MAX);
	CHECK(len >= (int)rr->rdlen || rr->type == DNS_TYPE_NS || rr->type == DNS_TYPE_CNAME ||
	      rr->type == DNS_TYPE_PTR || rr->type == DNS_TYPE_DNAME || rr->type == DNS_TYPE_MX ||
	      rr->type == DNS_TYPE_SRV || rr->type == DNS_TYPE_SOA);
	int e = dns_rdata_name(m, rr, &n);
	switch (rr->type) {
	case DNS_TYPE_A:
		CHECK(rr->rdlen == 4 && e == -EBADMSG);
		break;
	case DNS_TYPE_AAAA:
		CHECK(rr->rdlen == 16 && e == -EBADMSG);
		break;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
	case DNS_TYPE_MX:
	case DNS_TYPE_SRV:
	case DNS_TYPE_SOA:
		CHECK(e == 0);
		check_name(&n);
		break;
	default:
		CHECK(e == -EBADMSG);
	}
	CHECK(dns_soa_minimum(m, rr, &min) == (rr->type == DNS_TYPE_SOA ? 0 : -EBADMSG));
	dns_rdata_to_text(rr->type, x, (size_t)len, text, sizeof(text));
	CHECK(strlen(text) < sizeof(text));
	/* a short buffer: cut, terminated, never past it */
	size_t cap = 1 + (rr->rdlen % 40);
	text[cap] = 0x7f;
	dns_rdata_to_text(rr->type, x, (size_t)len, text, cap);
	CHECK(strlen(text) < cap && text[cap] == 0x7f);
	return (size_t)len;
}

/* The RRs of A and B are the same, rdata compared expanded. */
static void compare(const struct dns_msg *a, const struct dns_msg *b)
{
	struct dns_rr_iter ia, ib;
	struct dns_rr ra, rb;
	unsigned nttl = 0;

	dns_rr_iter_init(&ia, a);
	dns_rr_iter_init(&ib, b);
	for (;;) {
		int ea = dns_rr_next(&ia, &ra), eb = dns_rr_next(&ib, &rb);

		CHECK(ea == eb && ea >= 0);
		if (ea == 0)
			break;
		CHECK(ra.section == rb.section && ra.type == rb.type && ra.class == rb.class &&
		      ra.ttl == rb.ttl);
		CHECK(ra.name.len == rb.name.len && memcmp(ra.name.b, rb.name.b, ra.name.len) == 0);
		int la = dns_rdata_expand(a, &ra, x, sizeof(x)), lb = dns_rdata_expand(b, &rb, y, sizeof(y));
		CHECK(la >= 0 && la == lb && memcmp(x, y, (size_t)la) == 0);
		if (rb.type != DNS_TYPE_OPT) {
			if (nttl < dw.nttl)
				CHECK(dw.ttl_off[nttl] == rb.ttl_off);
			nttl++;
		}
	}
	CHECK(nttl == dw.nttl || (dw.ttl_overflow && dw.nttl == DNS_WRITER_TTLS));
}

static void rewrite(const struct dns_msg *m, uint8_t selector)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int e;

	dns_writer_init(&dw, out, sizeof(out), m->id, m->flags);
	if (m->qdcount)
		dns_put_question(&dw, &m->qname, m->qtype, m->qclass);
	dns_rr_iter_init(&it, m);
	while ((e = dns_rr_next(&it, &rr)) == 1) {
		int len = dns_rdata_expand(m, &rr, x, sizeof(x));
		CHECK(len >= 0);
		dns_put_rr(&dw, rr.section, &rr.name, rr.type, rr.class, rr.ttl, x, (size_t)len);
	}
	CHECK(e == 0);
	dns_writer_set_rcode(&dw, m->rcode);
	int len = dns_writer_finish(&dw);
	CHECK(len == -ENOSPC || (len >= DNS_HDR_LEN && (size_t)len <= sizeof(out)));
	if (len < 0)
		return;
	enum dns_parse_error why;
	CHECK(dns_msg_parse(&back, out, (size_t)len, &why) == 0);
	CHECK(back.id == m->id && back.flags == m->flags && back.rcode == m->rcode);
	CHECK(back.qdcount == (m->qdcount ? 1 : 0) && back.ancount == m->ancount);
	CHECK(back.nscount == m->nscount && back.arcount == m->arcount);
	CHECK(back.edns == m->edns && back.edns_udp == m->edns_udp && back.edns_flags == m->edns_flags);
	if (m->qdcount)
		CHECK(back.qname.len == m->qname.len && memcmp(back.qname.b, m->qname.b, m->qname.len) == 0 &&
		      back.qtype == m->qtype && back.qclass == m->qclass);
	/* the same RRs, the same rdata once expanded, TTL offsets where the TTLs are */
	compare(m, &back);

	/* a second message of the same names, uncompressed, with an OPT */
	dns_writer_init(&dw, out, 512 + selector * 64u, m->id, m->flags);
	if (m->qdcount)
		dns_put_name(&dw, &m->qname, false);
	dns_put_opt(&dw, 1232, (uint16_t)(selector << 4), DNS_EDNS_DO);
	len = dns_writer_finish(&dw);
	CHECK(len == -ENOSPC || len > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dns_parse_error why = DNS_PARSE_OK;
	int r = dns_msg_parse(&msg, data, size, &why);

	CHECK(r == 0 ? why == DNS_PARSE_OK : (r == -EBADMSG && why != DNS_PARSE_OK));
	CHECK(strcmp(dns_parse_error_str(why), "unknown") != 0);
	read_names_anywhere(data, size);
	if (r != 0)
		return 0;

	CHECK(msg.len == size && msg.question_end <= size);
	CHECK(msg.sec_off[0] == msg.question_end && msg.sec_off[0] <= msg.sec_off[1]);
	CHECK(msg.sec_off[1] <= msg.sec_off[2] && msg.sec_off[2] <= size);
	if (msg.qdcount)
		check_name(&msg.qname);
	CHECK(!msg.edns || (msg.opt_off >= msg.sec_off[2] && msg.opt_off + msg.opt_len <= size));
	CHECK((msg.rcode & 0xf) == (msg.flags & DNS_F_RCODE));

	struct dns_rr_iter it;
	struct dns_rr rr;
	unsigned n = 0, opts = 0;
	int e;
	dns_rr_iter_init(&it, &msg);
	while ((e = dns_rr_next(&it, &rr)) == 1) {
		CHECK(rr.off == (n == 0 ? msg.sec_off[0] : rr.off));
		exercise_rr(&msg, &rr);
		if (rr.type == DNS_TYPE_OPT) {
			CHECK(rr.section == DNS_SEC_ADDITIONAL && rr.name.len == 1 && rr.off == msg.opt_off);
			opts++;
		}
		n++;
	}
	CHECK(e == 0 && n == (unsigned)msg.ancount + msg.nscount + msg.arcount);
	CHECK(opts == (msg.edns ? 1u : 0u));
	rewrite(&msg, size ? data[size - 1] : 0);
	return 0;
}
