/* dns_scrub.c — see dns_scrub.h.
 *
 * Every decision reads the message through dns_rr_next() (the parser has
 * checked it once; the iterator checks again) and every entry is written
 * through dns_writer, so an entry holds only what this file chose to copy:
 * records are never copied as raw bytes from the response. */
#include "dns_scrub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct dns_name root_name = {1, 0, {0}};

/* RFC 2181 8: a TTL with the most significant bit set is read as zero;
 * max-ttl bounds the rest. */
static uint32_t ttl_bound(uint32_t ttl, uint32_t max)
{
	if (ttl > INT32_MAX)
		return 0;
	return ttl < max ? ttl : max;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static bool strictly_under(const struct dns_name *name, const struct dns_name *zone)
{
	return name->labels > zone->labels && dns_name_is_under(name, zone);
}

/* ---- work area and entries ---- */

struct dns_scrub *dns_scrub_new(void)
{
	struct dns_scrub *s = calloc(1, sizeof(*s));

	if (s) {
		s->question_entry = -1;
		s->final_entry = -1;
	}
	return s;
}

void dns_scrub_entry_free(struct dns_scrub_entry *e)
{
	free(e->msg);
	free(e->ttl_off);
	e->msg = NULL;
	e->ttl_off = NULL;
	e->len = 0;
	e->nttl = 0;
}

static void scrub_reset(struct dns_scrub *s)
{
	for (unsigned i = 0; i < s->nentries; i++)
		dns_scrub_entry_free(&s->entries[i]);
	s->nentries = 0;
	s->nchain = 0;
	s->nns = 0;
	s->dropped = 0;
	s->question_entry = -1;
	s->final_entry = -1;
	s->why = NULL;
	s->rcode = 0;
	s->child = root_name;
	s->target = root_name;
}

void dns_scrub_free(struct dns_scrub *s)
{
	if (!s)
		return;
	scrub_reset(s);
	free(s);
}

void dns_scrub_entry_put(const struct dns_scrub_entry *e, struct dns_cache_put *p)
{
	*p = (struct dns_cache_put){
		.name = &e->name,
		.type = e->type,
		.class = DNS_CLASS_IN,
		.rank = e->rank,
		.rcode = e->rcode,
		.negative = e->negative,
		.msg = e->msg,
		.len = e->len,
		.ttl_off = e->ttl_off,
		.nttl = e->nttl,
		.ttl = e->ttl,
	};
}

/* ---- building an entry ---- */

struct ebuild {
	struct dns_writer dw;
	struct dns_scrub_entry e;
	uint32_t ttl; /* smallest TTL written */
	unsigned nrr;
};

static void eb_start(struct dns_scrub *s, struct ebuild *eb, const struct dns_name *name, uint16_t type)
{
	/* ID and flags are rewritten per answer by dns_cache_answer */
	dns_writer_init(&eb->dw, s->wbuf, sizeof(s->wbuf), 0, DNS_F_QR | DNS_F_RA);
	dns_put_question(&eb->dw, name, type, DNS_CLASS_IN);
	memset(&eb->e, 0, sizeof(eb->e));
	eb->e.name = *name;
	eb->e.type = type;
	eb->e.rank = DNS_RANK_ANSWER;
	eb->ttl = UINT32_MAX;
	eb->nrr = 0;
}

static void eb_rr(struct ebuild *eb, enum dns_section sec, const struct dns_name *name, uint16_t type,
		  uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	dns_put_rr(&eb->dw, sec, name, type, DNS_CLASS_IN, ttl, rdata, rdlen);
	eb->ttl = min32(eb->ttl, ttl);
	eb->nrr++;
}

/* RR of M copied (its names decompressed, then compressed against this
 * entry's) with TTL. */
static void eb_copy(struct dns_scrub *s, struct ebuild *eb, enum dns_section sec, const struct dns_msg *m,
		    const struct dns_rr *rr, uint32_t ttl)
{
	int n = dns_rdata_expand(m, rr, s->rdata, sizeof(s->rdata));

	if (n < 0) {
		eb->dw.w.err = true; /* never for a parsed message; the entry is then dropped */
		return;
	}
	eb_rr(eb, sec, &rr->name, rr->type, ttl, s->rdata, (size_t)n);
}

static void eb_links(struct ebuild *eb, const struct dns_scrub_link *links, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct dns_scrub_link *l = &links[i];

		if (l->dname)
			eb_rr(eb, DNS_SEC_ANSWER, &l->downer, DNS_TYPE_DNAME, l->ttl, l->dtarget.b,
			      l->dtarget.len);
		eb_rr(eb, DNS_SEC_ANSWER, &l->from, DNS_TYPE_CNAME, l->ttl, l->to.b, l->to.len);
	}
}

/* Finish EB into OUT; its TTL the smallest written (0 without records or
 * when some TTL offsets were not recorded: it could not be counted down).
 * -ENOSPC / -ENOMEM. */
static int eb_finish(struct ebuild *eb, struct dns_scrub_entry *out)
{
	int len;

	dns_writer_set_rcode(&eb->dw, eb->e.rcode); /* the entry says it in its header too */
	len = dns_writer_finish(&eb->dw);
	if (len < 0)
		return -ENOSPC;
	eb->e.ttl = eb->nrr && !eb->dw.ttl_overflow ? eb->ttl : 0;
	eb->e.len = (size_t)len;
	eb->e.nttl = eb->dw.nttl;
	eb->e.msg = malloc((size_t)len);
	eb->e.ttl_off = malloc(eb->dw.nttl ? eb->dw.nttl * sizeof(uint16_t) : 1);
	if (!eb->e.msg || !eb->e.ttl_off) {
		dns_scrub_entry_free(&eb->e);
		return -ENOMEM;
	}
	memcpy(eb->e.msg, eb->dw.w.base, (size_t)len);
	if (eb->dw.nttl)
		memcpy(eb->e.ttl_off, eb->dw.ttl_off, eb->dw.nttl * sizeof(uint16_t));
	*out = eb->e;
	return 0;
}

/* Keep EB as the next entry of S; returns its index or -1 (not built: the
 * response's handling goes on without it). */
static int eb_keep(struct dns_scrub *s, struct ebuild *eb)
{
	if (s->nentries >= DNS_SCRUB_ENTRIES_MAX || eb_finish(eb, &s->entries[s->nentries]) < 0)
		return -1;
	return (int)s->nentries++;
}

/* ---- reading the response ---- */

/* Each RR of M in turn, through the checking iterator. */
#define FOR_EACH_RR(m, rr, it, ok) for (dns_rr_iter_init(&(it), (m)); ((ok) = dns_rr_next(&(it), (rr))) == 1;)

/* Class IN only (the resolver asks for nothing else), never the OPT. */
static bool is_data_rr(const struct dns_rr *rr)
{
	return rr->class == DNS_CLASS_IN && rr->type != DNS_TYPE_OPT;
}

/* Whether RR answers TYPE (RFC 1034 3.7.1: ANY takes every type; the chain
 * types answer only themselves). */
static bool type_matches(uint16_t qtype, uint16_t type)
{
	return qtype == type || (qtype == DNS_TYPE_ANY && type != DNS_TYPE_RRSIG);
}

static bool have_final(const struct dns_msg *m, const struct dns_name *name, uint16_t qtype)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ANSWER)
			break;
		if (is_data_rr(&rr) && type_matches(qtype, rr.type) && dns_name_equal(&rr.name, name))
			return true;
	}
	return false;
}

/* The CNAME target of NAME in the answer section: 1 found, 0 none, -1 two
 * different ones (RFC 2181 10.1: one CNAME per name). */
static int find_cname(const struct dns_msg *m, const struct dns_name *name, struct dns_name *to,
		      uint32_t *ttl)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name t;
	int ok, found = 0;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ANSWER)
			break;
		if (!is_data_rr(&rr) || rr.type != DNS_TYPE_CNAME || !dns_name_equal(&rr.name, name))
			continue;
		if (dns_rdata_name(m, &rr, &t) < 0)
			return -1;
		if (found && !dns_name_equal(&t, to))
			return -1;
		*ttl = found ? min32(*ttl, rr.ttl) : rr.ttl;
		*to = t;
		found = 1;
	}
	return found;
}

/* A DNAME in the answer section, owned by a proper ancestor of NAME inside
 * ZONE (RFC 6672 2.2: it redirects everything below its owner). */
static bool find_dname(const struct dns_msg *m, const struct dns_name *name, const struct dns_name *zone,
		       struct dns_scrub_link *l)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ANSWER)
			break;
		if (!is_data_rr(&rr) || rr.type != DNS_TYPE_DNAME || !strictly_under(name, &rr.name) ||
		    !dns_name_is_under(&rr.name, zone))
			continue;
		if (dns_rdata_name(m, &rr, &l->dtarget) < 0)
			return false;
		l->downer = rr.name;
		l->ttl = rr.ttl;
		return true;
	}
	return false;
}

/* RFC 6672 2.2: the CNAME synthesised from a DNAME: NAME's labels above the
 * owner, then the DNAME's target. False when that is over 255 octets
 * (the server should have said YXDOMAIN). */
static bool dname_synth(const struct dns_name *name, struct dns_scrub_link *l)
{
	size_t prefix = (size_t)name->len - l->downer.len;

	if (prefix + l->dtarget.len > DNS_NAME_MAX)
		return false;
	memcpy(l->to.b, name->b, prefix);
	memcpy(l->to.b + prefix, l->dtarget.b, l->dtarget.len);
	l->to.len = (uint8_t)(prefix + l->dtarget.len);
	l->to.labels = (uint8_t)(name->labels - l->downer.labels + l->dtarget.labels);
	return true;
}

static bool chain_revisits(const struct dns_scrub *s, const struct dns_name *n)
{
	for (unsigned i = 0; i < s->nchain; i++)
		if (dns_name_equal(&s->chain[i].from, n))
			return true;
	return false;
}

static enum dns_scrub_kind set_kind(struct dns_scrub *s, enum dns_scrub_kind k, const char *why)
{
	s->kind = k;
	s->why = why;
	return k;
}

/* RFC 1034 4.3.2 step 3.c: follow the aliases from the question's name
 * while they stay in the zone. Leaves s->target at the chain's end. False
 * (with s->why) for a chain that cannot be right. */
static bool walk_chain(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	/* RFC 1034 3.6.2: a query for the alias type itself is not followed */
	if (q->qtype == DNS_TYPE_CNAME || q->qtype == DNS_TYPE_DNAME || q->qtype == DNS_TYPE_ANY)
		return true;
	while (dns_name_is_under(&s->target, q->zone) && !have_final(m, &s->target, q->qtype)) {
		struct dns_scrub_link l = {.from = s->target};
		int c;

		if (find_dname(m, &s->target, q->zone, &l)) {
			l.dname = true;
			if (!dname_synth(&s->target, &l)) {
				s->why = "DNAME synthesis over 255 octets";
				return false;
			}
		} else if ((c = find_cname(m, &s->target, &l.to, &l.ttl)) <= 0) {
			if (c < 0)
				s->why = "two CNAMEs for one name";
			return c == 0;
		}
		if (s->nchain == DNS_SCRUB_CHAIN_MAX) {
			s->why = "chain too long";
			return false;
		}
		if (dns_name_equal(&l.to, q->qname) || chain_revisits(s, &l.to)) {
			s->why = "CNAME loop";
			return false;
		}
		l.ttl = ttl_bound(l.ttl, q->max_ttl);
		s->chain[s->nchain++] = l;
		s->target = l.to;
	}
	return true;
}

/* ---- the entries of each kind ---- */

static void put_final_rrs(struct dns_scrub *s, struct ebuild *eb, const struct dns_scrub_query *q,
			  const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ANSWER)
			break;
		if (is_data_rr(&rr) && type_matches(q->qtype, rr.type) &&
		    dns_name_equal(&rr.name, &s->target))
			eb_copy(s, eb, DNS_SEC_ANSWER, m, &rr, ttl_bound(rr.ttl, q->max_ttl));
	}
}

static bool ns_rdata_is(const struct dns_msg *m, const struct dns_rr *rr, const struct dns_name *name)
{
	struct dns_name t;

	return dns_rdata_name(m, rr, &t) == 0 && dns_name_equal(&t, name);
}

/* Whether M's answer holds an NS record of OWNER naming NAME. */
static bool answer_ns_names(const struct dns_msg *m, const struct dns_name *owner,
			    const struct dns_name *name)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ANSWER)
			break;
		if (is_data_rr(&rr) && rr.type == DNS_TYPE_NS && dns_name_equal(&rr.name, owner) &&
		    ns_rdata_is(m, &rr, name))
			return true;
	}
	return false;
}

/* An NS answer: the in-bailiwick addresses of its names go in the
 * additional section (the entry is then a delegation as well). */
static void put_ns_addresses(struct dns_scrub *s, struct ebuild *eb, const struct dns_scrub_query *q,
			     const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ADDITIONAL || !is_data_rr(&rr) || rr.type != DNS_TYPE_A)
			continue;
		if (dns_name_is_under(&rr.name, q->zone) && answer_ns_names(m, &s->target, &rr.name))
			eb_copy(s, eb, DNS_SEC_ADDITIONAL, m, &rr, ttl_bound(rr.ttl, q->max_ttl));
	}
}

static void build_answer(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	struct ebuild eb;

	eb_start(s, &eb, q->qname, q->qtype);
	eb_links(&eb, s->chain, s->nchain);
	put_final_rrs(s, &eb, q, m);
	if (q->qtype == DNS_TYPE_NS)
		put_ns_addresses(s, &eb, q, m);
	s->question_entry = s->final_entry = eb_keep(s, &eb);
	if (s->nchain == 0)
		return;
	eb_start(s, &eb, &s->target, q->qtype);
	put_final_rrs(s, &eb, q, m);
	s->final_entry = eb_keep(s, &eb);
}

/* The SOA that may close a negative answer for NAME: in the authority
 * section, inside the zone, owned by NAME or an ancestor (RFC 2308 2.1,
 * 2.2: the SOA of the zone NAME is in). */
static bool find_soa(const struct dns_msg *m, const struct dns_name *name, const struct dns_name *zone,
		     struct dns_rr *soa)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_AUTHORITY)
			continue;
		if (is_data_rr(&rr) && rr.type == DNS_TYPE_SOA && dns_name_is_under(&rr.name, zone) &&
		    dns_name_is_under(name, &rr.name)) {
			*soa = rr;
			return true;
		}
	}
	return false;
}

/* RFC 2308 5: the negative TTL is the smaller of the SOA's TTL and its
 * MINIMUM; `negative-ttl` bounds it. */
static uint32_t negative_ttl(const struct dns_scrub_query *q, const struct dns_msg *m,
			     const struct dns_rr *soa)
{
	uint32_t minimum;

	if (dns_soa_minimum(m, soa, &minimum) < 0)
		return 0;
	return min32(min32(ttl_bound(soa->ttl, q->max_ttl), ttl_bound(minimum, q->max_ttl)), q->negative_ttl);
}

static void build_negative(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m,
			   uint8_t rcode)
{
	struct dns_rr soa;
	bool have_soa = find_soa(m, &s->target, q->zone, &soa);
	uint32_t ttl = have_soa ? negative_ttl(q, m, &soa) : 0;
	struct ebuild eb;

	s->kind = rcode == DNS_RCODE_NXDOMAIN ? DNS_SCRUB_NXDOMAIN : DNS_SCRUB_NODATA;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && s->nchain == 0)
			break;
		eb_start(s, &eb, pass == 0 ? q->qname : &s->target, q->qtype);
		eb.e.rcode = rcode;
		eb.e.negative = true;
		if (pass == 0)
			eb_links(&eb, s->chain, s->nchain);
		if (have_soa)
			eb_copy(s, &eb, DNS_SEC_AUTHORITY, m, &soa, ttl);
		else
			eb.ttl = 0; /* RFC 2308 5: no SOA, not cached */
		int i = eb_keep(s, &eb);
		if (pass == 0)
			s->question_entry = s->final_entry = i;
		else
			s->final_entry = i;
	}
}

/* The referral's child zone: the first NS owner in the authority section
 * strictly below the zone asked and at or above the name (RFC 1034 4.3.2
 * step 3.b). False when there is none. */
static bool find_child(const struct dns_msg *m, const struct dns_scrub_query *q, const struct dns_name *name,
		       struct dns_name *child)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_AUTHORITY)
			continue;
		if (is_data_rr(&rr) && rr.type == DNS_TYPE_NS && strictly_under(&rr.name, q->zone) &&
		    dns_name_is_under(name, &rr.name)) {
			*child = rr.name;
			return true;
		}
	}
	return false;
}

static void collect_ns(struct dns_scrub *s, const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name t;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_AUTHORITY)
			continue;
		if (!is_data_rr(&rr) || rr.type != DNS_TYPE_NS || !dns_name_equal(&rr.name, &s->child) ||
		    dns_rdata_name(m, &rr, &t) < 0)
			continue;
		bool dup = false;
		for (unsigned i = 0; i < s->nns && !dup; i++)
			dup = dns_name_equal(&s->ns[i].name, &t);
		if (!dup && s->nns < DNS_SCRUB_NS_MAX) {
			s->ns[s->nns].name = t;
			s->ns[s->nns].naddr = 0;
			s->nns++;
		}
	}
}

/* In-bailiwick glue (RFC 1034 4.2.1; the zone asked, not the child: a
 * sibling's glue is the parent's data too). */
static int glue_for(const struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_rr *rr)
{
	if (rr->section != DNS_SEC_ADDITIONAL || !is_data_rr(rr) || rr->type != DNS_TYPE_A ||
	    !dns_name_is_under(&rr->name, q->zone))
		return -1;
	for (unsigned i = 0; i < s->nns; i++)
		if (dns_name_equal(&s->ns[i].name, &rr->name))
			return (int)i;
	return -1;
}

static void collect_glue(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		int i = glue_for(s, q, &rr);
		struct dns_scrub_ns *ns = i >= 0 ? &s->ns[i] : NULL;

		if (ns && ns->naddr < DNS_SCRUB_ADDR_MAX)
			memcpy(&ns->addr[ns->naddr++], m->buf + rr.rdata_off, 4);
	}
}

/* The (child, NS) entry: NS records in the answer, glue in additional. */
static void build_delegation_entry(struct dns_scrub *s, const struct dns_scrub_query *q,
				   const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct ebuild eb;
	int ok;

	eb_start(s, &eb, &s->child, DNS_TYPE_NS);
	eb.e.rank = DNS_RANK_GLUE;
	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section == DNS_SEC_AUTHORITY && is_data_rr(&rr) && rr.type == DNS_TYPE_NS &&
		    dns_name_equal(&rr.name, &s->child))
			eb_copy(s, &eb, DNS_SEC_ANSWER, m, &rr, ttl_bound(rr.ttl, q->max_ttl));
	}
	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (glue_for(s, q, &rr) >= 0)
			eb_copy(s, &eb, DNS_SEC_ADDITIONAL, m, &rr, ttl_bound(rr.ttl, q->max_ttl));
	}
	eb_keep(s, &eb);
}

/* (NS name, A) for each NS name with glue. */
static void build_glue_entries(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	struct ebuild eb;
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	for (unsigned i = 0; i < s->nns; i++) {
		if (s->ns[i].naddr == 0)
			continue;
		eb_start(s, &eb, &s->ns[i].name, DNS_TYPE_A);
		eb.e.rank = DNS_RANK_GLUE;
		FOR_EACH_RR(m, &rr, it, ok)
		{
			if (glue_for(s, q, &rr) == (int)i)
				eb_copy(s, &eb, DNS_SEC_ANSWER, m, &rr, ttl_bound(rr.ttl, q->max_ttl));
		}
		eb_keep(s, &eb);
	}
}

static void build_referral(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	s->kind = DNS_SCRUB_REFERRAL;
	collect_ns(s, m);
	collect_glue(s, q, m);
	build_delegation_entry(s, q, m);
	build_glue_entries(s, q, m);
}

/* (owner, CNAME) for every link of the chain. */
static void build_link_entries(struct dns_scrub *s)
{
	struct ebuild eb;

	for (unsigned i = 0; i < s->nchain; i++) {
		eb_start(s, &eb, &s->chain[i].from, DNS_TYPE_CNAME);
		eb_links(&eb, &s->chain[i], 1);
		eb_keep(s, &eb);
	}
}

/* Records of the response that none of the entries took. Counted once per
 * response for `dns stats`-style logs; exact for the answer section (the
 * chain and the data), approximate for the others (what a referral or a
 * negative answer did not use). */
static void count_dropped(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		bool used = false;

		if (rr.type == DNS_TYPE_OPT)
			continue;
		if (rr.section == DNS_SEC_ANSWER && is_data_rr(&rr)) {
			used = (type_matches(q->qtype, rr.type) && dns_name_equal(&rr.name, &s->target) &&
				s->question_entry >= 0);
			for (unsigned i = 0; i < s->nchain && !used; i++)
				used = dns_name_equal(&rr.name, &s->chain[i].from) ||
				       (s->chain[i].dname && dns_name_equal(&rr.name, &s->chain[i].downer));
		} else if (rr.section == DNS_SEC_AUTHORITY && is_data_rr(&rr)) {
			used = (s->kind == DNS_SCRUB_REFERRAL && rr.type == DNS_TYPE_NS &&
				dns_name_equal(&rr.name, &s->child)) ||
			       ((s->kind == DNS_SCRUB_NXDOMAIN || s->kind == DNS_SCRUB_NODATA) &&
				rr.type == DNS_TYPE_SOA && dns_name_is_under(&rr.name, q->zone) &&
				dns_name_is_under(&s->target, &rr.name));
		} else if (rr.section == DNS_SEC_ADDITIONAL) {
			used = s->kind == DNS_SCRUB_REFERRAL && glue_for(s, q, &rr) >= 0;
		}
		s->dropped += !used;
	}
}

/* ---- classification ---- */

static bool header_ok(struct dns_scrub *s, const struct dns_scrub_query *q, const struct dns_msg *m)
{
	if (!(m->flags & DNS_F_QR) || DNS_OPCODE(m->flags) != 0)
		s->why = "not a response to a query";
	else if (m->qdcount != 1 || m->qtype != q->qtype || m->qclass != DNS_CLASS_IN ||
		 !dns_name_equal(&m->qname, q->qname))
		s->why = "not the question asked";
	else if (m->flags & DNS_F_TC)
		s->why = "truncated";
	else if (!dns_name_is_under(q->qname, q->zone))
		s->why = "question outside the zone asked";
	else if (m->sec_off[0] < DNS_HDR_LEN)
		s->why = "not parsed";
	return s->why == NULL;
}

/* No data for the chain's last name, which is inside the zone. */
static enum dns_scrub_kind classify_no_data(struct dns_scrub *s, const struct dns_scrub_query *q,
					    const struct dns_msg *m)
{
	struct dns_rr soa;

	if (m->rcode == DNS_RCODE_NXDOMAIN) {
		build_negative(s, q, m, DNS_RCODE_NXDOMAIN);
		return s->kind;
	}
	if (find_soa(m, &s->target, q->zone, &soa)) {
		build_negative(s, q, m, DNS_RCODE_NOERROR);
		return s->kind;
	}
	if (s->nchain) /* the last name is delegated further down, maybe: ask again for it */
		return set_kind(s, DNS_SCRUB_CNAME, NULL);
	if (find_child(m, q, &s->target, &s->child)) {
		if (q->forwarder) /* a forwarder that does not recurse */
			return set_kind(s, DNS_SCRUB_LAME, "referral from a forwarder");
		build_referral(s, q, m);
		return s->kind;
	}
	/* RFC 2308 2.2 type 3: NODATA with nothing in the authority section,
	 * believable from the zone's authority only */
	if ((m->flags & DNS_F_AA) || q->forwarder) {
		build_negative(s, q, m, DNS_RCODE_NOERROR);
		return s->kind;
	}
	return set_kind(s, DNS_SCRUB_LAME, "no answer, no referral down");
}

enum dns_scrub_kind dns_scrub_run(struct dns_scrub *s, const struct dns_scrub_query *q,
				  const struct dns_msg *m)
{
	enum dns_scrub_kind k;

	scrub_reset(s);
	s->rcode = m->rcode;
	s->target = *q->qname;
	if (!header_ok(s, q, m))
		return set_kind(s, DNS_SCRUB_BOGUS, s->why);
	if (m->rcode != DNS_RCODE_NOERROR && m->rcode != DNS_RCODE_NXDOMAIN)
		return set_kind(s, DNS_SCRUB_ERROR, "error rcode");
	if (!walk_chain(s, q, m)) {
		s->nchain = 0;
		return set_kind(s, DNS_SCRUB_BOGUS, s->why);
	}
	s->kind = DNS_SCRUB_LAME;
	if (dns_name_is_under(&s->target, q->zone) && have_final(m, &s->target, q->qtype)) {
		if (m->rcode == DNS_RCODE_NXDOMAIN)
			return set_kind(s, DNS_SCRUB_BOGUS, "NXDOMAIN with data");
		set_kind(s, DNS_SCRUB_ANSWER, NULL);
		build_answer(s, q, m);
		k = DNS_SCRUB_ANSWER;
	} else if (s->nchain && !dns_name_is_under(&s->target, q->zone)) {
		k = set_kind(s, DNS_SCRUB_CNAME, NULL); /* the rest is another zone's to say */
	} else {
		k = classify_no_data(s, q, m);
	}
	if (k != DNS_SCRUB_LAME)
		build_link_entries(s);
	count_dropped(s, q, m);
	return k;
}

/* ---- composing a chain across zones ---- */

int dns_scrub_compose(struct dns_scrub *s, const struct dns_name *qname, uint16_t qtype,
		      const struct dns_scrub_link *links, unsigned nlinks, const struct dns_msg *final,
		      uint32_t final_ttl, bool negative, struct dns_scrub_entry *out)
{
	struct ebuild eb;
	struct dns_rr_iter it;
	struct dns_rr rr;
	int ok;

	memset(out, 0, sizeof(*out));
	if (final->sec_off[0] < DNS_HDR_LEN)
		return -EBADMSG;
	eb_start(s, &eb, qname, qtype);
	eb.e.rcode = (uint8_t)(final->rcode & DNS_F_RCODE);
	eb.e.negative = negative;
	eb_links(&eb, links, nlinks);
	FOR_EACH_RR(final, &rr, it, ok)
	{
		if (rr.section == DNS_SEC_ADDITIONAL)
			break;
		if (is_data_rr(&rr))
			eb_copy(s, &eb, rr.section, final, &rr, ttl_bound(rr.ttl, UINT32_MAX));
	}
	if (ok < 0)
		return -EBADMSG;
	if (eb_finish(&eb, out) < 0)
		return -ENOSPC;
	/* the entry's lifetime is the final part's as it stands now (a
	 * negative answer without SOA has one too: 0), bounded by the links' */
	out->ttl = eb.dw.ttl_overflow ? 0 : final_ttl;
	for (unsigned i = 0; i < nlinks; i++)
		out->ttl = min32(out->ttl, links[i].ttl);
	return 0;
}

/* ---- reading entries back ---- */

unsigned dns_scrub_read_ns(const struct dns_msg *m, const struct dns_name *zone, struct dns_scrub_ns *ns,
			   unsigned max)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	struct dns_name t;
	unsigned n = 0;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section == DNS_SEC_ANSWER && n < max && is_data_rr(&rr) && rr.type == DNS_TYPE_NS &&
		    dns_name_equal(&rr.name, zone) && dns_rdata_name(m, &rr, &t) == 0) {
			ns[n].name = t;
			ns[n].naddr = 0;
			n++;
		} else if (rr.section == DNS_SEC_ADDITIONAL && is_data_rr(&rr) && rr.type == DNS_TYPE_A &&
			   rr.rdlen == 4) {
			for (unsigned i = 0; i < n; i++) {
				if (dns_name_equal(&ns[i].name, &rr.name) && ns[i].naddr < DNS_SCRUB_ADDR_MAX)
					memcpy(&ns[i].addr[ns[i].naddr++], m->buf + rr.rdata_off, 4);
			}
		}
	}
	return n;
}

unsigned dns_scrub_read_addrs(const struct dns_msg *m, struct in_addr *out, unsigned max)
{
	struct dns_rr_iter it;
	struct dns_rr rr;
	unsigned n = 0;
	int ok;

	FOR_EACH_RR(m, &rr, it, ok)
	{
		if (rr.section != DNS_SEC_ANSWER)
			break;
		if (n < max && is_data_rr(&rr) && rr.type == DNS_TYPE_A && rr.rdlen == 4)
			memcpy(&out[n++], m->buf + rr.rdata_off, 4);
	}
	return n;
}

const char *dns_scrub_kind_str(enum dns_scrub_kind k)
{
	static const char *const names[] = {
		[DNS_SCRUB_ANSWER] = "answer",	   [DNS_SCRUB_CNAME] = "cname",
		[DNS_SCRUB_REFERRAL] = "referral", [DNS_SCRUB_NXDOMAIN] = "nxdomain",
		[DNS_SCRUB_NODATA] = "nodata",	   [DNS_SCRUB_LAME] = "lame",
		[DNS_SCRUB_ERROR] = "error",	   [DNS_SCRUB_BOGUS] = "bogus",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}
