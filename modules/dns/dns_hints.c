/* dns_hints.c — the root servers recursion starts from: a root.hints file
 * (the zone-file subset IANA publishes as named.root, RFC 1035 5.1) or the
 * built-in IANA list.
 *
 * The file is hostile like any other input: bounded in size (the caller's
 * read and DNS_HINTS_FILE_MAX) and line length, every token checked, and
 * the work linear in its lines (the sets it builds are capped at
 * DNS_HINTS_MAX). Two passes over the text: the first checks every line
 * and gathers the root's NS names, the second keeps the A records of those
 * names, so the order of NS and A lines in the file does not matter. */
#include "dns_hints.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKENS 8	    /* owner ttl class type rdata: more is an error anyway */
#define TTL_MAX 2147483647u /* RFC 2181 8: a TTL is 31 bits */

enum rec_kind {
	REC_NONE,
	REC_NS,
	REC_A,
	REC_AAAA
};

/* One line's meaning. */
struct rec {
	enum rec_kind kind;
	struct dns_name owner;
	struct dns_name target; /* NS */
	struct in_addr addr;	/* A */
};

struct token {
	const char *s;
	size_t len;
};

/* Parsing state across the lines of one pass. */
struct hctx {
	const char *path;
	char *err;
	size_t errlen;
	unsigned line;
	struct dns_name owner; /* the last owner named: a line starting with a blank repeats it */
	bool have_owner;
	/* the root's NS names (pass 1), with their hashes to compare quickly */
	struct dns_name ns[DNS_HINTS_MAX];
	uint32_t ns_hash[DNS_HINTS_MAX];
	size_t nns;
};

__attribute__((format(printf, 2, 3))) static int fail(struct hctx *h, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* quoted bytes of the file go to the log: printable ASCII only */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if (h->errlen)
		snprintf(h->err, h->errlen, "%s:%u: %s", h->path, h->line, msg);
	return -EINVAL;
}

/* ------------------------------------------------------------- tokens */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Split LINE into blank-separated tokens up to a ';' comment (RFC 1035
 * 5.1); a backslash takes the next byte into the token ("\;" is not a
 * comment). Returns the count, or -1 past MAX_TOKENS. */
static int tokenize(const char *s, size_t len, struct token *tok)
{
	size_t i = 0;
	int n = 0;

	for (;;) {
		size_t start;

		while (i < len && is_blank(s[i]))
			i++;
		if (i == len || s[i] == ';')
			return n;
		if (n == MAX_TOKENS)
			return -1;
		start = i;
		while (i < len && !is_blank(s[i]) && s[i] != ';')
			i += s[i] == '\\' && i + 1 < len ? 2 : 1;
		tok[n++] = (struct token){s + start, i - start};
	}
}

static bool tok_is(const struct token *t, const char *word)
{
	return t->len == strlen(word) && strncasecmp(t->s, word, t->len) == 0;
}

/* A token as a NUL-terminated string, or NULL when it cannot be one. */
static const char *tok_str(const struct token *t, char *buf, size_t cap)
{
	if (t->len >= cap)
		return NULL;
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	return buf;
}

/* ------------------------------------------------------------- fields */

/* An absolute name (a final unescaped dot), lower-cased. */
static int parse_name(struct hctx *h, const struct token *t, struct dns_name *out)
{
	char buf[DNS_NAME_TEXT_MAX];
	size_t slashes = 0;

	if (!tok_str(t, buf, sizeof(buf)) || dns_name_from_text(out, buf) < 0)
		return fail(h, "\"%.*s\" is not a domain name", (int)(t->len > 80 ? 80 : t->len), t->s);
	/* "a\." ends with an escaped dot: still relative */
	for (size_t i = t->len - 1; i > 0 && t->s[i - 1] == '\\'; i--)
		slashes++;
	if (t->s[t->len - 1] != '.' || slashes % 2)
		return fail(h, "\"%s\" is a relative name (a hints file has no $ORIGIN: end it with a dot)",
			    buf);
	dns_name_lower(out);
	return 0;
}

static bool all_digits(const struct token *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] < '0' || t->s[i] > '9')
			return false;
	return t->len > 0;
}

static int parse_ttl(struct hctx *h, const struct token *t)
{
	uint64_t v = 0;

	for (size_t i = 0; i < t->len && v <= TTL_MAX; i++)
		v = v * 10 + (uint64_t)(t->s[i] - '0');
	if (v > TTL_MAX)
		return fail(h, "TTL %.*s is out of range (at most %u)", (int)(t->len > 20 ? 20 : t->len),
			    t->s, TTL_MAX);
	return 0;
}

static bool is_class(const struct token *t)
{
	return tok_is(t, "IN") || tok_is(t, "CH") || tok_is(t, "HS") || tok_is(t, "CS");
}

/* "[TTL] [CLASS]" in either order (RFC 1035 5.1), from token *I on. */
static int parse_ttl_class(struct hctx *h, const struct token *tok, int n, int *i)
{
	bool ttl = false, class = false;

	while (*i < n) {
		const struct token *t = &tok[*i];

		if (all_digits(t)) {
			if (ttl)
				return fail(h, "a second TTL \"%.*s\"", (int)t->len, t->s);
			if (parse_ttl(h, t) < 0)
				return -EINVAL;
			ttl = true;
		} else if (is_class(t)) {
			if (class)
				return fail(h, "a second class \"%.*s\"", (int)t->len, t->s);
			if (!tok_is(t, "IN"))
				return fail(h, "class %.*s: the root servers are class IN", (int)t->len,
					    t->s);
			class = true;
		} else {
			return 0;
		}
		(*i)++;
	}
	return 0;
}

static int parse_rdata(struct hctx *h, const struct token *t, struct rec *r)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;

	switch (r->kind) {
	case REC_NS:
		if (r->owner.len != 1)
			return fail(h, "NS for a name other than the root \".\": a hints file names the "
				       "root's servers only");
		return parse_name(h, t, &r->target);
	case REC_A:
		if (!tok_str(t, buf, sizeof(buf)) || inet_pton(AF_INET, buf, &r->addr) != 1)
			return fail(h, "\"%.*s\" is not an IPv4 address", (int)(t->len > 60 ? 60 : t->len),
				    t->s);
		return 0;
	default: /* AAAA: checked, not kept (the upstream is IPv4) */
		if (!tok_str(t, buf, sizeof(buf)) || inet_pton(AF_INET6, buf, &a6) != 1)
			return fail(h, "\"%.*s\" is not an IPv6 address", (int)(t->len > 60 ? 60 : t->len),
				    t->s);
		return 0;
	}
}

/* "$TTL N" is accepted and ignored (the hints' TTLs do not matter: they
 * are replaced by the root's own answer, RFC 8109 3); other directives
 * change how names are read and are refused. */
static int parse_directive(struct hctx *h, const struct token *tok, int n)
{
	if (!tok_is(&tok[0], "$TTL"))
		return fail(h, "%.*s: only $TTL is understood in a hints file",
			    (int)(tok[0].len > 20 ? 20 : tok[0].len), tok[0].s);
	if (n != 2 || !all_digits(&tok[1]))
		return fail(h, "$TTL: expected one number");
	return parse_ttl(h, &tok[1]);
}

static enum rec_kind type_of(const struct token *t)
{
	if (tok_is(t, "NS"))
		return REC_NS;
	if (tok_is(t, "A"))
		return REC_A;
	if (tok_is(t, "AAAA"))
		return REC_AAAA;
	return REC_NONE;
}

/* One line: "OWNER [TTL] [CLASS] TYPE RDATA", a directive, or nothing. */
static int parse_line(struct hctx *h, const char *s, size_t len, struct rec *r)
{
	struct token tok[MAX_TOKENS];
	int n = tokenize(s, len, tok), i = 0;

	r->kind = REC_NONE;
	if (n < 0)
		return fail(h, "too many fields (OWNER [TTL] [IN] TYPE DATA)");
	if (n == 0)
		return 0;
	if (!is_blank(s[0]) && tok[0].s[0] == '$')
		return parse_directive(h, tok, n);
	if (!is_blank(s[0])) {
		if (parse_name(h, &tok[0], &h->owner) < 0)
			return -EINVAL;
		h->have_owner = true;
		i = 1;
	} else if (!h->have_owner) {
		return fail(h, "no owner name (the line starts with a blank, and no line before named one)");
	}
	r->owner = h->owner;
	if (parse_ttl_class(h, tok, n, &i) < 0)
		return -EINVAL;
	if (i == n)
		return fail(h, "no type (NS, A or AAAA)");
	r->kind = type_of(&tok[i]);
	if (r->kind == REC_NONE)
		return fail(h, "type \"%.*s\" has no place in a hints file (NS, A or AAAA)",
			    (int)(tok[i].len > 20 ? 20 : tok[i].len), tok[i].s);
	if (++i == n)
		return fail(h, "%s: no data", r->kind == REC_NS ? "NS" : r->kind == REC_A ? "A" : "AAAA");
	if (i + 1 < n)
		return fail(h, "\"%.*s\": unexpected after the data",
			    (int)(tok[i + 1].len > 20 ? 20 : tok[i + 1].len), tok[i + 1].s);
	return parse_rdata(h, &tok[i], r);
}

/* --------------------------------------------------------------- passes */

static bool ns_known(const struct hctx *h, const struct dns_name *name, uint32_t hash)
{
	for (size_t i = 0; i < h->nns; i++)
		if (h->ns_hash[i] == hash && dns_name_equal(&h->ns[i], name))
			return true;
	return false;
}

/* Pass 1: remember the root's NS names (the first DNS_HINTS_MAX distinct). */
static void pass_ns(struct hctx *h, const struct rec *r)
{
	uint32_t hash;

	if (r->kind != REC_NS || h->nns == DNS_HINTS_MAX)
		return;
	hash = dns_name_hash(&r->target);
	if (ns_known(h, &r->target, hash))
		return;
	h->ns[h->nns] = r->target;
	h->ns_hash[h->nns++] = hash;
}

/* Pass 2: an A record of a root server, once per (name, address). */
static void pass_a(struct hctx *h, const struct rec *r, struct dns_hints *out)
{
	if (r->kind != REC_A || out->n == DNS_HINTS_MAX || !ns_known(h, &r->owner, dns_name_hash(&r->owner)))
		return;
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].addr.s_addr == r->addr.s_addr && dns_name_equal(&out->v[i].name, &r->owner))
			return;
	out->v[out->n++] = (struct dns_hint){.name = r->owner, .addr = r->addr};
}

/* Every line of TEXT through parse_line, then pass 1 or 2's keeping. */
static int walk(struct hctx *h, const char *text, size_t len, int pass, struct dns_hints *out)
{
	size_t off = 0;

	h->line = 0;
	h->have_owner = false;
	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off), *nul;
		size_t n = nl ? (size_t)(nl - s) : len - off;
		struct rec r;

		off += n + (nl != NULL);
		h->line++;
		if (n > DNS_HINTS_LINE_MAX)
			return fail(h, "line longer than %u bytes", DNS_HINTS_LINE_MAX);
		nul = memchr(s, '\0', n);
		if (nul)
			return fail(h, "NUL byte (a hints file is text)");
		if (n && s[n - 1] == '\r')
			n--;
		if (parse_line(h, s, n, &r) < 0)
			return -EINVAL;
		if (pass == 1)
			pass_ns(h, &r);
		else
			pass_a(h, &r, out);
	}
	return 0;
}

int dns_hints_parse(const char *text, size_t len, const char *path, struct dns_hints *out, char *err,
		    size_t errlen)
{
	struct hctx *h = calloc(1, sizeof(*h));
	int rc;

	*out = (struct dns_hints){0};
	if (errlen)
		err[0] = '\0';
	if (!h)
		return -ENOMEM;
	*h = (struct hctx){.path = path, .err = err, .errlen = errlen};
	rc = walk(h, text, len, 1, out);
	if (rc == 0) {
		out->v = calloc(DNS_HINTS_MAX, sizeof(*out->v));
		rc = out->v ? walk(h, text, len, 2, out) : -ENOMEM;
	}
	if (rc == 0 && out->n == 0) {
		if (errlen)
			snprintf(err, errlen, "%s: no root server with an IPv4 address", path);
		rc = -EINVAL;
	}
	free(h);
	if (rc < 0)
		dns_hints_free(out);
	return rc;
}

/* ----------------------------------------------------------------- load */

/* Up to DNS_HINTS_FILE_MAX + 1 bytes of FD (one more tells "too large"
 * even when the file grew after fstat). */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int load_fd(int fd, const char *path, struct dns_hints *out, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int rc;

	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	/* a FIFO or a device could block or never end */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size > DNS_HINTS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MiB (the limit for a hints file)", path);
		return -EFBIG;
	}
	buf = malloc(DNS_HINTS_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	n = read_all(fd, buf, DNS_HINTS_FILE_MAX + 1);
	if (n < 0)
		snprintf(err, errlen, "%s: %s", path, strerror((int)-n));
	else if (n > DNS_HINTS_FILE_MAX)
		snprintf(err, errlen, "%s: larger than 1 MiB (the limit for a hints file)", path);
	rc = n < 0		    ? (int)n :
	     n > DNS_HINTS_FILE_MAX ? -EFBIG :
				      dns_hints_parse(buf, (size_t)n, path, out, err, errlen);
	free(buf);
	return rc;
}

int dns_hints_load(const char *path, struct dns_hints *out, char *err, size_t errlen)
{
	char scratch[1];
	int fd, rc;

	*out = (struct dns_hints){0};
	if (!errlen) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = load_fd(fd, path, out, err, errlen);
	close(fd);
	return rc;
}

/* -------------------------------------------------------------- builtin */

/* IANA's root servers (https://www.iana.org/domains/root/servers), IPv4,
 * as of 2024: b.root-servers.net moved to 170.247.170.2 on 2023-11-27. */
static const struct {
	const char *name, *addr;
} iana_roots[] = {
	{"a.root-servers.net", "198.41.0.4"},	  {"b.root-servers.net", "170.247.170.2"},
	{"c.root-servers.net", "192.33.4.12"},	  {"d.root-servers.net", "199.7.91.13"},
	{"e.root-servers.net", "192.203.230.10"}, {"f.root-servers.net", "192.5.5.241"},
	{"g.root-servers.net", "192.112.36.4"},	  {"h.root-servers.net", "198.97.190.53"},
	{"i.root-servers.net", "192.36.148.17"},  {"j.root-servers.net", "192.58.128.30"},
	{"k.root-servers.net", "193.0.14.129"},	  {"l.root-servers.net", "199.7.83.42"},
	{"m.root-servers.net", "202.12.27.33"},
};
#define NROOTS (sizeof(iana_roots) / sizeof(iana_roots[0]))

int dns_hints_builtin(struct dns_hints *out)
{
	*out = (struct dns_hints){.v = calloc(NROOTS, sizeof(*out->v))};
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < NROOTS; i++) {
		struct dns_hint *h = &out->v[i];

		/* constant text: these cannot fail */
		if (dns_name_from_text(&h->name, iana_roots[i].name) < 0 ||
		    inet_pton(AF_INET, iana_roots[i].addr, &h->addr) != 1) {
			dns_hints_free(out);
			return -EINVAL;
		}
		out->n++;
	}
	return 0;
}

void dns_hints_free(struct dns_hints *h)
{
	if (!h)
		return;
	free(h->v);
	*h = (struct dns_hints){0};
}
