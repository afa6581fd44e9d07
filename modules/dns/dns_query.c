/* dns_query.c — the pure front of the resolver: see dns_query.h. */
#include "dns_query.h"

#include "dns_local.h"

#include <errno.h>
#include <string.h>

#define OPT_LEN 11 /* root owner, type, class, TTL, rdlength 0 */

/* RFC 6891 6.2.5: a requestor's size under 512 is treated as 512; ours
 * bounds it from above (it is what we can promise to fit) */
static uint16_t reply_limit(const struct dns_query_env *env, const struct dns_query *q)
{
	uint16_t ours = env->dc->edns_buffer_size;

	if (q->tcp)
		return DNS_MSG_MAX;
	if (!q->m.edns)
		return DNS_UDP_MIN;
	if (q->m.edns_udp < DNS_UDP_MIN)
		return DNS_UDP_MIN;
	return q->m.edns_udp < ours ? q->m.edns_udp : ours;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Append our OPT (RFC 6891 6.1.2) when the client sent one: our size, the
 * upper bits of RCODE, version 0, DO echoed (RFC 3225 3). */
static size_t add_opt(const struct dns_query_env *env, const struct dns_query *q, uint8_t *out, size_t len,
		      size_t cap, uint16_t rcode)
{
	uint8_t *p = out + len;

	if (!q->m.edns || len + OPT_LEN > cap)
		return len;
	p[0] = 0;
	put16(p + 1, DNS_TYPE_OPT);
	put16(p + 3, env->dc->edns_buffer_size);
	p[5] = (uint8_t)(rcode >> 4);
	p[6] = 0;
	put16(p + 7, q->m.edns_flags & DNS_EDNS_DO);
	put16(p + 9, 0);
	put16(out + 10, (uint16_t)(get16(out + 10) + 1));
	return len + OPT_LEN;
}

/* A reply of header + question only: errors, and answers cut for UDP. */
static size_t bare_reply(const struct dns_query_env *env, struct dns_query *q, uint16_t rcode, bool tc, uint8_t *out,
			 size_t cap)
{
	size_t qlen = q->m.question_end - DNS_HDR_LEN;
	uint16_t flags = DNS_F_QR | DNS_F_RA | (q->m.flags & (DNS_F_OPCODE | DNS_F_RD | DNS_F_CD)) | (rcode & 0xf);

	if (tc)
		flags |= DNS_F_TC;
	if (q->m.qdcount != 1 || DNS_HDR_LEN + qlen > cap)
		qlen = 0;
	memset(out, 0, DNS_HDR_LEN);
	put16(out, q->m.id);
	put16(out + 2, flags);
	if (qlen) {
		put16(out + 4, 1);
		memcpy(out + DNS_HDR_LEN, q->m.buf + DNS_HDR_LEN, qlen);
	}
	q->rcode = rcode;
	return add_opt(env, q, out, DNS_HDR_LEN + qlen, cap, rcode);
}

size_t dns_query_error(const struct dns_query_env *env, struct dns_query *q, uint16_t rcode, uint8_t *out,
		       size_t cap)
{
	return bare_reply(env, q, rcode, false, out, cap);
}

/* LEN bytes of a full answer in OUT: add the OPT, or cut it to fit. */
static size_t fit(const struct dns_query_env *env, struct dns_query *q, uint8_t *out, size_t len, size_t cap)
{
	uint16_t rcode = get16(out + 2) & 0xf;
	size_t limit = q->limit < cap ? q->limit : cap;

	if (len + (q->m.edns ? OPT_LEN : 0) <= limit)
		return add_opt(env, q, out, len, cap, rcode);
	/* RFC 2181 9: TC, and nothing partial that a client could take as whole */
	return bare_reply(env, q, rcode, true, out, cap);
}

size_t dns_query_answer(const struct dns_query_env *env, struct dns_query *q, const struct dns_cache_entry *e,
			bool stale, uint8_t *out, size_t cap)
{
	int n = dns_cache_answer(e, q->m.id, q->m.flags, q->qname_wire, env->now, stale, out, cap);

	if (n < 0)
		return bare_reply(env, q, DNS_RCODE_SERVFAIL, false, out, cap);
	q->rcode = e->rcode;
	return fit(env, q, out, (size_t)n, cap);
}

static bool refused_type(uint16_t t)
{
	/* zone transfers and the meta types (RFC 6895 3.1: 128-255 but ANY) */
	return t == DNS_TYPE_AXFR || t == DNS_TYPE_IXFR || t == DNS_TYPE_OPT || (t >= 128 && t < 255);
}

/* The local answer, or false when the name is not answered here (a reverse
 * name outside the locally served zones without a names-table entry). */
static bool local_answer(const struct dns_query_env *env, struct dns_query *q, uint8_t *out, size_t cap,
			 size_t *outlen)
{
	struct dns_writer dw;
	uint16_t flags = DNS_F_QR | DNS_F_AA | DNS_F_RA | (q->m.flags & (DNS_F_RD | DNS_F_CD));
	int n;

	dns_writer_init(&dw, out, cap, q->m.id, flags);
	if (dns_local_answer(&env->dc->local_domain, env->names, &q->m, env->wall, &dw) != 1)
		return false;
	n = dns_writer_finish(&dw);
	q->local = true;
	if (n < 0) /* bigger than CAP (64 KiB): only a table with thousands of addresses for one name */
		*outlen = bare_reply(env, q, DNS_RCODE_SERVFAIL, false, out, cap);
	else
		*outlen = fit(env, q, out, (size_t)n, cap);
	return true;
}

/* PTR names of the IPv4 reverse tree: a `host` may name a public address,
 * which no locally served zone covers (dns_local.h) */
static bool reverse_name(const struct dns_name *n)
{
	static const uint8_t tail[] = {7, 'i', 'n', '-', 'a', 'd', 'd', 'r', 4, 'a', 'r', 'p', 'a', 0};
	const uint8_t *p;

	if (n->len < sizeof(tail))
		return false;
	p = n->b + n->len - sizeof(tail);
	for (size_t i = 0; i < sizeof(tail); i++)
		if ((p[i] | (p[i] >= 'A' && p[i] <= 'Z' ? 0x20 : 0)) != tail[i])
			return false;
	return true;
}

enum dns_query_verdict dns_query_handle(const struct dns_query_env *env, const uint8_t *pkt, size_t len, bool tcp,
					struct dns_query *q, uint8_t *out, size_t cap, size_t *outlen)
{
	enum dns_cache_state state;
	struct dns_cache_entry *e;

	memset(q, 0, offsetof(struct dns_query, qname_wire));
	q->tcp = tcp;
	*outlen = 0;
	if (len < DNS_HDR_LEN || (pkt[2] & 0x80) || cap < DNS_UDP_MIN)
		return DNS_QUERY_DROP;
	if (dns_msg_parse(&q->m, pkt, len, NULL) < 0) {
		/* answer with the header alone: nothing of the rest is trusted */
		q->m = (struct dns_msg){.buf = pkt, .len = len, .id = get16(pkt), .flags = get16(pkt + 2)};
		q->m.question_end = DNS_HDR_LEN;
		q->limit = DNS_UDP_MIN;
		*outlen = bare_reply(env, q, DNS_RCODE_FORMERR, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	q->limit = reply_limit(env, q);
	if (DNS_OPCODE(q->m.flags) != 0) {
		*outlen = bare_reply(env, q, DNS_RCODE_NOTIMP, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	if (q->m.qdcount != 1) {
		*outlen = bare_reply(env, q, DNS_RCODE_FORMERR, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	if (q->m.edns && q->m.edns_version > 0) {
		*outlen = bare_reply(env, q, DNS_RCODE_BADVERS, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	if (!env->allowed || q->m.qclass != DNS_CLASS_IN) {
		*outlen = bare_reply(env, q, DNS_RCODE_REFUSED, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	if (refused_type(q->m.qtype)) {
		*outlen = bare_reply(env, q, DNS_RCODE_NOTIMP, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	memcpy(q->qname_wire, pkt + DNS_HDR_LEN, q->m.qname.len);
	if ((dns_local_covers(&env->dc->local_domain, &q->m.qname) || reverse_name(&q->m.qname)) &&
	    local_answer(env, q, out, cap, outlen))
		return DNS_QUERY_REPLY;
	e = dns_cache_get(env->cache, &q->m.qname, q->m.qtype, DNS_CLASS_IN, DNS_RANK_ANSWER, env->now, &state);
	if (e && state == DNS_CACHE_FRESH) {
		q->from_cache = true;
		q->prefetch = env->dc->prefetch && dns_cache_want_prefetch(e, env->now);
		*outlen = dns_query_answer(env, q, e, false, out, cap);
		return DNS_QUERY_REPLY;
	}
	q->stale_available = e && state == DNS_CACHE_STALE && env->dc->serve_stale;
	return DNS_QUERY_RESOLVE;
}
