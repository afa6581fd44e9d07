/* config.h — the config language (CONFIG.md): lexer, parser, syntax tree,
 * error list and the value parsers every section validator shares.
 *
 * The tree knows no section: it is keyword + arguments + children, each
 * with the FILE:LINE:COL it came from. Validation of what the words mean is
 * done by the core (core_config.c) and by each module's configure(). */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cf_pos {
	const char *file; /* owned by the tree (struct cf_tree.files); stable while it lives */
	int line;         /* 1-based */
	int col;          /* 1-based, in bytes */
};

struct cf_arg {
	char *text;        /* unescaped */
	bool quoted;       /* was a "string" */
	struct cf_pos pos;
};

struct cf_node {
	char *keyword;
	struct cf_pos pos; /* of the keyword */
	struct cf_arg *args;
	size_t nargs;
	bool block;              /* had { ... } (possibly empty) */
	struct cf_node *children; /* first child statement, or NULL */
	struct cf_node *next;     /* next sibling */
};

/* A parsed file and everything it included. */
struct cf_tree {
	struct cf_node *root; /* first top-level statement (a sibling list), or NULL */
	char **files;         /* every file name a position points at */
	size_t nfiles;
};

/* Errors and warnings, each one line, already formatted
 * "FILE:LINE:COL: SECTION: message". */
struct cf_errors {
	char **errors;
	size_t nerrors;
	char **warnings;
	size_t nwarnings;
	bool oom; /* a line could not be stored (out of memory): treat the result as failed */
};

/* Limits against hostile files. Past CF_MAX_ERRORS errors (or warnings) one
 * last line says so and the rest are counted out, so a binary file cannot
 * make us build megabytes of messages. */
#define CF_MAX_FILE_SIZE (1024 * 1024)        /* one file */
#define CF_MAX_TOTAL_SIZE (16 * 1024 * 1024)  /* a file and everything it includes */
#define CF_MAX_FILES 256                      /* files read for one tree */
#define CF_MAX_INCLUDE_DEPTH 8                /* include inside include inside ... */
#define CF_MAX_DEPTH 16                       /* blocks inside blocks */
#define CF_MAX_ARGS 64                        /* arguments of one statement */
#define CF_MAX_ERRORS 200

void cf_errors_init(struct cf_errors *e);
void cf_errors_free(struct cf_errors *e);
/* section may be NULL (global statements, syntax errors); pos may be NULL
 * (errors about no position, e.g. a file that cannot be opened: then
 * "FILE: message" is written by the caller as the section-less text). */
void cf_error(struct cf_errors *e, const struct cf_pos *pos, const char *section,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cf_warning(struct cf_errors *e, const struct cf_pos *pos, const char *section,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse PATH (and its includes). Returns a tree (maybe empty) even when
 * there were syntax errors, so validators can still report theirs; the
 * caller checks err->nerrors. Returns NULL only when out of memory. */
struct cf_tree *cf_parse_file(const char *path, struct cf_errors *err);
/* The same from memory; NAME is the file name used in positions and
 * includes are resolved relative to the current directory. */
struct cf_tree *cf_parse_string(const char *name, const char *text, size_t len,
				struct cf_errors *err);
void cf_tree_free(struct cf_tree *t);

/* ---- value parsers: 0 on success, -1 when the text is not of the kind ---- */
int cf_parse_duration(const char *s, uint64_t *seconds); /* 90s 12h 1d 2w; bare = seconds */
int cf_parse_size(const char *s, uint64_t *bytes);       /* 32M; K M G powers of 1024 */
int cf_parse_bool(const char *s, bool *b);               /* yes | no */
int cf_parse_uint(const char *s, uint64_t max, uint64_t *v); /* decimal, 0..max */
int cf_parse_ipv4(const char *s, struct in_addr *a);    /* dotted quad, exactly 4 parts */
/* A.B.C.D/N, host bits must be 0: -2 (with *a and *len filled in, host bits
 * cleared) when that is the only fault, so the message can name the prefix meant */
int cf_parse_prefix(const char *s, struct in_addr *a, uint8_t *len);
int cf_parse_mac(const char *s, uint8_t mac[6]);         /* 00:11:22:33:44:55 */
/* colon-separated hex bytes (01:ab:cd); returns the count, -1 on error */
int cf_parse_hex(const char *s, uint8_t *out, size_t cap);

/* ---- argument getters: parse N's argument I with the parser above, and on
 * failure add the one standard error for that kind at the argument, e.g.
 *   FILE:L:C: dhcp lan: lease-time: "12x" is not a duration (a number with s, m, h, d or w: 90s, 12h, 1d)
 * Return 0, or -1 after adding the error (also when N has no argument I). ---- */
int cf_arg_duration(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		    uint64_t *seconds);
int cf_arg_size(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		uint64_t *bytes);
int cf_arg_bool(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, bool *b);
int cf_arg_uint(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, uint64_t min,
		uint64_t max, uint64_t *v);
int cf_arg_ipv4(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		struct in_addr *a);
int cf_arg_prefix(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		  struct in_addr *a, uint8_t *len);
int cf_arg_mac(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
	       uint8_t mac[6]);
/* returns the count like cf_parse_hex */
int cf_arg_hex(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, uint8_t *out,
	       size_t cap);

/* ---- schema checks shared by every section validator ---- */

/* One keyword a block accepts. max_args < 0: unbounded. */
struct cf_keyword {
	const char *name;
	int min_args;
	int max_args;
	bool block;      /* must have { ... } (and may not otherwise) */
	bool repeatable; /* may appear more than once */
};

/* Check every child of a block (or the top-level list) against TABLE
 * (terminated by a {NULL} entry): unknown keywords (with "did you mean"),
 * argument counts, blocks where none belong or missing, repeats of
 * non-repeatable keywords. Reports into ERR with SECTION as the context.
 * Returns the number of errors added. */
int cf_check_keywords(const struct cf_node *first, const char *section,
		      const struct cf_keyword *table, struct cf_errors *err);
/* The same checks of one statement against one entry (argument count and
 * block; not repeats). Returns the number of errors added. */
int cf_check_node(const struct cf_node *n, const char *section, const struct cf_keyword *kw,
		  struct cf_errors *err);

/* The SECTION of the messages about N and its children: "nat", "dhcp lan"
 * (keyword and first argument; quoted when the argument is not a plain word). */
const char *cf_section_label(const struct cf_node *n, char *buf, size_t len);
#define CF_LABEL_MAX 128

/* How a message names an earlier position: "line 3" in the same file as
 * FROM, "FILE:3" in another. For "given more than once (first at line 3)". */
const char *cf_pos_ref(const struct cf_pos *first, const struct cf_pos *from, char *buf, size_t len);

/* The closest candidate to WORD (edit distance ≤ 2 and < its length), or NULL. */
const char *cf_suggest(const char *word, const char *const *candidates, size_t n);

/* A canonical text of the top-level statements of TREE whose keyword is in
 * KEYWORDS (NULL-terminated; NULL: all), children included, positions and
 * comments excluded: two configs differ for a module iff these differ.
 * malloc'ed; NULL when out of memory. */
char *cf_canonical_text(const struct cf_node *first, const char *const *keywords);

/* ---- helpers for the modules' configure() ---- */

/* An inclusive range of IPv4 addresses, host byte order (ACLs, group policies). */
struct cf_range {
	uint32_t first, last;
};
/* Sort V by start and merge overlapping and adjacent ranges, in place;
 * returns the new count. */
size_t cf_ranges_merge(struct cf_range *v, size_t n);
/* Whether X (host byte order) lies in V (as cf_ranges_merge left it). */
bool cf_ranges_contain(const struct cf_range *v, size_t n, uint32_t x);

/* calloc / strdup that set *OOM on failure (a validator goes on and reports
 * "out of memory" once, at the end). */
void *cf_zalloc(bool *oom, size_t n, size_t size);
char *cf_strdup(bool *oom, const char *s); /* NULL stays NULL */
/* The statements named KEYWORD among FIRST and its siblings; with ARGS, the
 * number of their arguments instead. */
size_t cf_count(const struct cf_node *first, const char *keyword, bool args);
/* The statements of a block that cf_check_keywords() found good, in file
 * order, with their index in TABLE (at most 64 entries). Unknown keywords,
 * wrong shapes and repeats of a non-repeatable keyword were reported there
 * and are skipped: the first of a repeat is the one that counts. Stops early
 * once *STOP (may be NULL) is true. Returns how many were skipped (counting
 * errors would not do: past CF_MAX_ERRORS the list stops growing). */
typedef void (*cf_stmt_fn)(void *data, size_t k, const struct cf_node *n);
/* Whether N has the argument count and block that KW asks for. */
bool cf_shape_ok(const struct cf_node *n, const struct cf_keyword *kw);
size_t cf_for_each_good(const struct cf_node *first, const struct cf_keyword *table, cf_stmt_fn fn, void *data,
			const bool *stop);
/* True while HAVE < CAP; at the first entry past CAP, the one error
 * "KEYWORD: too many (at most CAP)" at POS in SECTION, and *FULL set. */
bool cf_under_cap(struct cf_errors *err, const struct cf_pos *pos, const char *section, const char *keyword,
		  size_t have, size_t cap, bool *full);

/* First child of FIRST's sibling list named KEYWORD, or NULL. */
const struct cf_node *cf_find(const struct cf_node *first, const char *keyword);

#endif
