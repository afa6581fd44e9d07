/* config.c — the config language (CONFIG.md): error list, lexer, parser
 * with includes and error recovery, value parsers and the schema checks
 * every section validator shares.
 *
 * Every byte of a config file is treated as hostile: a file is text (UTF-8,
 * no NUL, no control characters) of bounded size, blocks, includes and
 * arguments have bounded counts, and recursion is bounded by those limits. */
#include "config.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ errors */

void cf_errors_init(struct cf_errors *e) { memset(e, 0, sizeof(*e)); }

static void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

void cf_errors_free(struct cf_errors *e)
{
	free_lines(e->errors, e->nerrors);
	free_lines(e->warnings, e->nwarnings);
	memset(e, 0, sizeof(*e));
}

__attribute__((format(printf, 3, 0))) static char *format_line(const struct cf_pos *pos, const char *section,
							       const char *fmt, va_list ap)
{
	char *msg, *line;
	int rc;

	if (vasprintf(&msg, fmt, ap) < 0)
		return NULL;
	if (pos)
		rc = asprintf(&line, "%s:%d:%d: %s%s%s", pos->file ? pos->file : "?", pos->line, pos->col,
			      section ? section : "", section ? ": " : "", msg);
	else
		rc = asprintf(&line, "%s%s%s", section ? section : "", section ? ": " : "", msg);
	free(msg);
	return rc < 0 ? NULL : line;
}

/* Past the cap one last line says so; everything later is dropped (but an
 * error list that reached the cap is not empty, so the result still fails). */
__attribute__((format(printf, 6, 0))) static void add_line(struct cf_errors *e, char ***lines, size_t *n,
							   const struct cf_pos *pos, const char *section,
							   const char *fmt, va_list ap)
{
	char *line, **grown;

	if (*n > CF_MAX_ERRORS)
		return;
	if (*n == CF_MAX_ERRORS)
		line = strdup(lines == &e->errors ? "too many errors; the rest are not shown"
						  : "too many warnings; the rest are not shown");
	else
		line = format_line(pos, section, fmt, ap);
	grown = line ? realloc(*lines, (*n + 1) * sizeof(**lines)) : NULL;
	if (!grown) {
		free(line);
		e->oom = true;
		return;
	}
	grown[(*n)++] = line;
	*lines = grown;
}

void cf_error(struct cf_errors *e, const struct cf_pos *pos, const char *section, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(e, &e->errors, &e->nerrors, pos, section, fmt, ap);
	va_end(ap);
}

void cf_warning(struct cf_errors *e, const struct cf_pos *pos, const char *section, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(e, &e->warnings, &e->nwarnings, pos, section, fmt, ap);
	va_end(ap);
}

const char *cf_pos_ref(const struct cf_pos *first, const struct cf_pos *from, char *buf, size_t len)
{
	if (from && first->file && from->file && strcmp(first->file, from->file) == 0)
		snprintf(buf, len, "line %d", first->line);
	else
		snprintf(buf, len, "%s:%d", first->file ? first->file : "?", first->line);
	return buf;
}

/* ------------------------------------------------------------------- tree */

static void free_nodes(struct cf_node *n)
{
	while (n) {
		struct cf_node *next = n->next;

		for (size_t i = 0; i < n->nargs; i++)
			free(n->args[i].text);
		free(n->args);
		free(n->keyword);
		free_nodes(n->children); /* depth is bounded by CF_MAX_DEPTH */
		free(n);
		n = next;
	}
}

void cf_tree_free(struct cf_tree *t)
{
	if (!t)
		return;
	free_nodes(t->root);
	free_lines(t->files, t->nfiles);
	free(t);
}

/* ------------------------------------------------------------------ lexer */

enum tok_kind { TOK_EOF, TOK_NL, TOK_SEMI, TOK_LBRACE, TOK_RBRACE, TOK_WORD, TOK_STRING, TOK_ERROR };

struct token {
	enum tok_kind kind;
	struct cf_pos pos;
	char *text; /* WORD and STRING: malloc'ed, owned by whoever took the token */
};

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct parser {
	struct cf_tree *tree;
	struct cf_errors *err;
	bool oom;
	/* the files being read, outermost first: an include of one of them is a loop */
	struct file_id open[CF_MAX_INCLUDE_DEPTH + 1];
	int nopen;
	int include_depth;
	size_t total_bytes;
	size_t files_read;
};

/* One file (or string) being lexed. */
struct source {
	struct parser *ps;
	const char *name; /* owned by the tree */
	const char *dir;  /* includes are relative to it: "" or ending in '/' */
	const char *p, *end, *line_start;
	int line;
	bool quiet; /* skipping the rest of a bad statement: its lexical errors are not news */
	bool has_peek;
	struct token peek;
};

/* A statement list being built: appending is O(1). */
struct list {
	struct cf_node *head;
	struct cf_node **tail;
};

static struct cf_pos here(const struct source *s, const char *p)
{
	struct cf_pos pos = {s->name, s->line, (int)(p - s->line_start) + 1};
	return pos;
}

__attribute__((format(printf, 3, 4))) static void lex_error(struct source *s, const struct cf_pos *pos,
							    const char *fmt, ...)
{
	va_list ap;

	if (s->quiet)
		return;
	va_start(ap, fmt);
	add_line(s->ps->err, &s->ps->err->errors, &s->ps->err->nerrors, pos, NULL, fmt, ap);
	va_end(ap);
}

static bool ends_word(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}' ||
	       c == '#' || c == '"';
}

static void lex_word(struct source *s, struct token *t)
{
	const char *start = s->p;

	while (s->p < s->end && !ends_word(*s->p))
		s->p++;
	if (s->p < s->end && *s->p == '"') {
		struct cf_pos q = here(s, s->p);

		lex_error(s, &q, "'\"' inside a word: quote the whole argument (\"...\")");
		t->kind = TOK_ERROR;
		return;
	}
	t->text = strndup(start, (size_t)(s->p - start));
	t->kind = TOK_WORD;
	if (!t->text) {
		s->ps->oom = true;
		t->kind = TOK_ERROR;
	}
}

/* Only \" and \\ are escapes; any other backslash was reported and stays as it is. */
static void unescape(char *out, const char *from, const char *to)
{
	while (from < to) {
		if (*from == '\\' && (from[1] == '"' || from[1] == '\\'))
			from++;
		*out++ = *from++;
	}
	*out = '\0';
}

/* A "string": on one line, with \" and \\ as the only escapes. Scanned
 * whole before it is copied, so the lexer goes on after it. A bad escape is
 * reported but the string is still an argument: its statement stays, and
 * no "missing ..." follows from the one typo. */
static void lex_string(struct source *s, struct token *t)
{
	const char *q = s->p + 1;

	while (q < s->end && *q != '"' && *q != '\n') {
		if (*q != '\\') {
			q++;
		} else if (q + 1 < s->end && (q[1] == '"' || q[1] == '\\')) {
			q += 2;
		} else if (q + 1 < s->end && q[1] != '\n') {
			struct cf_pos bp = here(s, q);

			if (q[1] > ' ' && q[1] < 0x7f)
				lex_error(
					s, &bp,
					"unknown escape \"\\%c\" in string (only \\\" and \\\\ are escapes)",
					q[1]);
			else
				lex_error(s, &bp,
					  "unknown escape in string (only \\\" and \\\\ are escapes)");
			q++;
		} else {
			q++;
		}
	}
	if (q == s->end || *q == '\n') {
		lex_error(s, &t->pos, "unterminated string: the closing '\"' is missing on this line");
		s->p = q;
		t->kind = TOK_ERROR;
		return;
	}
	t->text = malloc((size_t)(q - s->p));
	t->kind = TOK_STRING;
	if (t->text) {
		unescape(t->text, s->p + 1, q);
	} else {
		s->ps->oom = true;
		t->kind = TOK_ERROR;
	}
	s->p = q + 1;
}

static void lex(struct source *s, struct token *t)
{
	if (s->has_peek) {
		*t = s->peek;
		s->has_peek = false;
		return;
	}
	t->text = NULL;
	/* CR is blank so CRLF files read as LF ones; a CR elsewhere was refused before */
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r'))
		s->p++;
	if (s->p < s->end && *s->p == '#')
		while (s->p < s->end && *s->p != '\n')
			s->p++;
	t->pos = here(s, s->p);
	if (s->p == s->end) {
		t->kind = TOK_EOF;
		return;
	}
	switch (*s->p) {
	case '\n':
		s->p++;
		s->line++;
		s->line_start = s->p;
		t->kind = TOK_NL;
		return;
	case ';':
		s->p++;
		t->kind = TOK_SEMI;
		return;
	case '{':
		s->p++;
		t->kind = TOK_LBRACE;
		return;
	case '}':
		s->p++;
		t->kind = TOK_RBRACE;
		return;
	case '"':
		lex_string(s, t);
		return;
	default:
		lex_word(s, t);
		return;
	}
}

static void unlex(struct source *s, const struct token *t)
{
	s->peek = *t;
	s->has_peek = true;
}

/* ------------------------------------------------------- text validation */

/* A config file is UTF-8 text: no NUL, no control character but tab,
 * newline and the CR of a CRLF. Reports the first fault (a binary file
 * would otherwise give one error per byte); false when there was one. */
static bool check_text(struct parser *ps, const char *name, const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t i = 0, line_start = 0;
	struct cf_pos pos = {name, 1, 1};

	while (i < len) {
		uint32_t cp;
		size_t n = gw_utf8_decode(u + i, len - i, &cp);

		if (u[i] == '\n') {
			pos.line++;
			line_start = i + 1;
		} else if (n == 0 || u[i] == 0 || u[i] == 0x7f ||
			   (u[i] < ' ' && u[i] != '\t' &&
			    !(u[i] == '\r' && i + 1 < len && u[i + 1] == '\n'))) {
			pos.col = (int)(i - line_start) + 1;
			if (n == 0)
				cf_error(ps->err, &pos, NULL,
					 "invalid UTF-8 (byte 0x%02x): a config file is UTF-8 text", u[i]);
			else if (u[i] == 0)
				cf_error(ps->err, &pos, NULL, "NUL byte: a config file is text");
			else
				cf_error(ps->err, &pos, NULL,
					 "control character 0x%02x: a config file is text", u[i]);
			return false;
		}
		i += n ? n : 1;
	}
	return true;
}

/* ------------------------------------------------------------------ files */

/* Read PATH whole into a malloc'ed buffer. NULL on success, else why not
 * (a static text or strerror's). O_NONBLOCK: opening a FIFO must not hang,
 * and only regular files are read at all. */
static const char *read_file(const char *path, char **buf, size_t *len, struct file_id *id, bool *opened)
{
	size_t cap = 4096, n = 0;
	const char *why = NULL;
	struct stat st;
	char *b = NULL;
	int fd;

	*opened = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return strerror(errno);
	*opened = true;
	if (fstat(fd, &st) < 0) {
		why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		why = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
		goto out;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	for (;;) {
		ssize_t r;

		if (n == cap || !b) {
			char *g = n == cap ? realloc(b, cap *= 2) : malloc(cap);

			if (!g) {
				why = strerror(ENOMEM);
				goto out;
			}
			b = g;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			why = strerror(errno);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CF_MAX_FILE_SIZE) {
			why = "larger than 1 MiB (the limit for a config file)";
			goto out;
		}
	}
out:
	close(fd);
	if (why) {
		free(b);
		return why;
	}
	*buf = b;
	*len = n;
	return NULL;
}

static const char *add_file_name(struct parser *ps, const char *name)
{
	char **g = realloc(ps->tree->files, (ps->tree->nfiles + 1) * sizeof(*g));
	char *copy = strdup(name);

	if (g)
		ps->tree->files = g;
	if (!g || !copy) {
		free(copy);
		ps->oom = true;
		return NULL;
	}
	g[ps->tree->nfiles++] = copy;
	return copy;
}

/* The directory part of PATH, '/' included ("" when none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash ? (size_t)(slash - path) + 1 : 0);
}

static void parse_list(struct parser *ps, struct source *s, int depth, const struct cf_pos *open,
		       struct list *l);

/* Lex and parse BUF (owned by the caller) as NAME, appending to L. */
static void parse_buffer(struct parser *ps, const char *name, const char *dir, const char *buf, size_t len,
			 int depth, struct list *l)
{
	struct source s = {.ps = ps, .name = name, .dir = dir, .p = buf, .end = buf + len, .line = 1};

	if (!check_text(ps, name, buf, len))
		return;
	/* a UTF-8 byte order mark is not part of the first statement */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		s.p += 3;
	s.line_start = s.p;
	parse_list(ps, &s, depth, NULL, l);
	if (s.has_peek)
		free(s.peek.text);
}

/* Read PATH and parse it into L. AT is the include's argument (NULL for the
 * file the user named): errors about an include point there. */
static void parse_path(struct parser *ps, const char *path, const struct cf_pos *at, int depth,
		       struct list *l)
{
	struct file_id id;
	const char *why, *name;
	char *buf = NULL, *dir;
	size_t len = 0;
	bool opened;

	if (ps->files_read == CF_MAX_FILES) {
		cf_error(ps->err, at, NULL, "too many included files (at most %d)", CF_MAX_FILES);
		return;
	}
	why = read_file(path, &buf, &len, &id, &opened);
	if (why) {
		if (at)
			cf_error(ps->err, at, NULL, "cannot include \"%s\": %s", path, why);
		else
			cf_error(ps->err, NULL, NULL, "%s: %s%s", path, opened ? "" : "cannot open: ", why);
		return;
	}
	ps->files_read++;
	for (int i = 0; i < ps->nopen; i++) {
		if (ps->open[i].dev == id.dev && ps->open[i].ino == id.ino) {
			cf_error(ps->err, at, NULL, "include loop: \"%s\" is already being read", path);
			free(buf);
			return;
		}
	}
	ps->total_bytes += len;
	if (ps->total_bytes > CF_MAX_TOTAL_SIZE) {
		cf_error(ps->err, at, NULL, "cannot include \"%s\": the files together exceed %d MiB", path,
			 CF_MAX_TOTAL_SIZE >> 20);
		free(buf);
		return;
	}
	name = add_file_name(ps, path);
	dir = dir_of(path);
	if (name && dir) {
		ps->open[ps->nopen++] = id;
		parse_buffer(ps, name, dir, buf, len, depth, l);
		ps->nopen--;
	} else {
		ps->oom = true;
	}
	free(dir);
	free(buf);
}

/* ----------------------------------------------------------------- parser */

__attribute__((format(printf, 3, 4))) static void syntax_error(struct parser *ps, const struct cf_pos *pos,
							       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(ps->err, &ps->err->errors, &ps->err->nerrors, pos, NULL, fmt, ap);
	va_end(ap);
}

static void append(struct list *l, struct cf_node *n)
{
	*l->tail = n;
	l->tail = &n->next;
}

/* Past CF_MAX_DEPTH a block is skipped by counting braces: no recursion. */
static void skip_balanced(struct source *s)
{
	bool was = s->quiet;
	int level = 1;
	struct token t;

	s->quiet = true;
	while (level > 0) {
		lex(s, &t);
		free(t.text);
		if (t.kind == TOK_EOF)
			break;
		level += t.kind == TOK_LBRACE ? 1 : t.kind == TOK_RBRACE ? -1 : 0;
	}
	s->quiet = was;
}

/* The inside of a block whose '{' was at OPEN, statements at DEPTH + 1.
 * OUT NULL: parsed for its errors, then thrown away. */
static void parse_block(struct parser *ps, struct source *s, int depth, const struct cf_pos *open,
			struct cf_node **out)
{
	struct list l = {NULL, &l.head};

	if (depth + 1 > CF_MAX_DEPTH) {
		syntax_error(ps, open, "blocks nested too deeply (at most %d levels)", CF_MAX_DEPTH);
		skip_balanced(s);
		return;
	}
	parse_list(ps, s, depth + 1, open, &l);
	if (out)
		*out = l.head;
	else
		free_nodes(l.head);
}

/* After an error: drop the rest of the statement, up to a newline or ';'
 * or before the '}' that closes the block. A block on the way is parsed
 * (its own errors are news) and thrown away, so braces stay balanced. */
static void skip_statement(struct parser *ps, struct source *s, int depth)
{
	struct token t;

	s->quiet = true;
	for (;;) {
		lex(s, &t);
		if (t.kind == TOK_NL || t.kind == TOK_SEMI)
			break;
		if (t.kind == TOK_EOF || t.kind == TOK_RBRACE) {
			unlex(s, &t);
			break;
		}
		if (t.kind == TOK_LBRACE) {
			s->quiet = false;
			parse_block(ps, s, depth, &t.pos, NULL);
			s->quiet = true;
		}
		free(t.text);
	}
	s->quiet = false;
}

static void include(struct parser *ps, struct source *s, const struct cf_node *n, int depth, struct list *l)
{
	char *path;

	if (n->block) {
		syntax_error(ps, &n->pos, "include: takes no block { ... }");
		return;
	}
	if (n->nargs != 1) {
		syntax_error(ps, n->nargs ? &n->args[1].pos : &n->pos,
			     "include: expected 1 argument (the file to include), got %zu", n->nargs);
		return;
	}
	if (ps->include_depth == CF_MAX_INCLUDE_DEPTH) {
		syntax_error(ps, &n->args[0].pos, "includes nested too deeply (at most %d levels)",
			     CF_MAX_INCLUDE_DEPTH);
		return;
	}
	if (n->args[0].text[0] == '/')
		path = strdup(n->args[0].text);
	else if (asprintf(&path, "%s%s", s->dir, n->args[0].text) < 0)
		path = NULL;
	if (!path) {
		ps->oom = true;
		return;
	}
	ps->include_depth++;
	parse_path(ps, path, &n->args[0].pos, depth, l);
	ps->include_depth--;
	free(path);
}

static int add_arg(struct cf_node *n, struct token *t)
{
	struct cf_arg *g = realloc(n->args, (n->nargs + 1) * sizeof(*g));

	if (!g)
		return -1;
	n->args = g;
	g[n->nargs].text = t->text;
	g[n->nargs].quoted = t->kind == TOK_STRING;
	g[n->nargs].pos = t->pos;
	n->nargs++;
	t->text = NULL;
	return 0;
}

/* KW (a word token, taken) starts a statement: its arguments, maybe a block. */
static void parse_statement(struct parser *ps, struct source *s, int depth, struct token *kw, struct list *l)
{
	struct cf_node *n = calloc(1, sizeof(*n));
	struct token t;

	if (!n) {
		free(kw->text);
		ps->oom = true;
		return;
	}
	n->keyword = kw->text;
	n->pos = kw->pos;
	for (;;) {
		lex(s, &t);
		if (t.kind == TOK_WORD || t.kind == TOK_STRING) {
			if (n->nargs == CF_MAX_ARGS) {
				syntax_error(ps, &t.pos, "%s: too many arguments (at most %d)", n->keyword,
					     CF_MAX_ARGS);
				free(t.text);
				goto bad;
			}
			if (add_arg(n, &t) < 0) {
				free(t.text);
				ps->oom = true;
				goto drop;
			}
			continue;
		}
		if (t.kind == TOK_ERROR)
			goto bad;
		if (t.kind == TOK_EOF || t.kind == TOK_RBRACE)
			unlex(s, &t);
		if (t.kind == TOK_LBRACE) {
			n->block = true;
			/* its '}' ends the statement: `a { } b { }` is two */
			parse_block(ps, s, depth, &t.pos, &n->children);
		}
		break;
	}
	if (strcmp(n->keyword, "include") == 0) {
		include(ps, s, n, depth, l);
		free_nodes(n);
		return;
	}
	append(l, n);
	return;
bad:
	skip_statement(ps, s, depth);
drop:
	free_nodes(n);
}

/* Statements up to the end of the source, or up to the '}' matching the
 * '{' at OPEN. Recursion: one level per block (CF_MAX_DEPTH) and per include
 * (CF_MAX_INCLUDE_DEPTH). */
static void parse_list(struct parser *ps, struct source *s, int depth, const struct cf_pos *open,
		       struct list *l)
{
	struct token t;

	while (!ps->oom) {
		lex(s, &t);
		switch (t.kind) {
		case TOK_NL:
		case TOK_SEMI:
			break;
		case TOK_EOF:
			if (open)
				syntax_error(ps, open, "this '{' is never closed: a '}' is missing");
			unlex(s, &t);
			return;
		case TOK_RBRACE:
			if (open)
				return;
			syntax_error(ps, &t.pos, "'}' without a matching '{'");
			break;
		case TOK_LBRACE:
			syntax_error(ps, &t.pos, "'{' must be on the same line as its keyword");
			parse_block(ps, s, depth, &t.pos, NULL);
			break;
		case TOK_STRING:
			syntax_error(ps, &t.pos, "a statement starts with a keyword, not a quoted string");
			free(t.text);
			skip_statement(ps, s, depth);
			break;
		case TOK_ERROR:
			skip_statement(ps, s, depth);
			break;
		case TOK_WORD:
			parse_statement(ps, s, depth, &t, l);
			break;
		}
	}
}

static struct cf_tree *parse_done(struct parser *ps, struct list *l)
{
	ps->tree->root = l->head;
	if (ps->oom) {
		cf_tree_free(ps->tree);
		return NULL;
	}
	return ps->tree;
}

struct cf_tree *cf_parse_file(const char *path, struct cf_errors *err)
{
	struct parser ps = {.err = err};
	struct list l = {NULL, &l.head};

	ps.tree = calloc(1, sizeof(*ps.tree));
	if (!ps.tree)
		return NULL;
	parse_path(&ps, path, NULL, 0, &l);
	return parse_done(&ps, &l);
}

struct cf_tree *cf_parse_string(const char *name, const char *text, size_t len, struct cf_errors *err)
{
	struct parser ps = {.err = err};
	struct list l = {NULL, &l.head};
	const char *copy;

	ps.tree = calloc(1, sizeof(*ps.tree));
	if (!ps.tree)
		return NULL;
	copy = add_file_name(&ps, name);
	if (copy && len > CF_MAX_FILE_SIZE)
		cf_error(err, NULL, NULL, "%s: larger than 1 MiB (the limit for a config file)", name);
	else if (copy)
		parse_buffer(&ps, copy, "", text, len, 0, &l);
	return parse_done(&ps, &l);
}

/* ---------------------------------------------------------- value parsers */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Leading decimal digits of S into *V (at least one, at most MAX): the
 * first character after them, or NULL. */
static const char *parse_digits(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!is_digit(*s))
		return NULL;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > max || x > (max - d) / 10)
			return NULL;
		x = x * 10 + d;
	}
	*v = x;
	return s;
}

int cf_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x;

	s = parse_digits(s, max, &x);
	if (!s || *s)
		return -1;
	*v = x;
	return 0;
}

/* A number and at most one unit letter from UNITS (with MULTS). */
static int parse_scaled(const char *s, const char *units, const uint64_t *mults, uint64_t *out)
{
	uint64_t x, m = 1;
	const char *u;

	s = parse_digits(s, UINT64_MAX, &x);
	if (!s)
		return -1;
	if (*s) {
		u = strchr(units, *s);
		if (!u || s[1])
			return -1;
		m = mults[u - units];
	}
	if (x > UINT64_MAX / m)
		return -1;
	*out = x * m;
	return 0;
}

int cf_parse_duration(const char *s, uint64_t *seconds)
{
	static const uint64_t mults[] = {1, 60, 3600, 86400, 604800};

	return parse_scaled(s, "smhdw", mults, seconds);
}

int cf_parse_size(const char *s, uint64_t *bytes)
{
	static const uint64_t mults[] = {1ull << 10, 1ull << 20, 1ull << 30};

	return parse_scaled(s, "KMG", mults, bytes);
}

int cf_parse_bool(const char *s, bool *b)
{
	if (strcmp(s, "yes") == 0)
		*b = true;
	else if (strcmp(s, "no") == 0)
		*b = false;
	else
		return -1;
	return 0;
}

/* Decimal 0..MAX without leading zeros (inet_aton reads "010" as octal 8:
 * refusing it keeps one meaning for every spelling). End in *END. */
static int strict_number(const char *s, uint64_t max, const char **end, uint64_t *v)
{
	if (s[0] == '0' && is_digit(s[1]))
		return -1;
	*end = parse_digits(s, max, v);
	return *end ? 0 : -1;
}

static int ipv4_prefix_of(const char *s, const char **end, uint32_t *host)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t part;

		if (strict_number(s, 255, &s, &part) < 0)
			return -1;
		a = a << 8 | (uint32_t)part;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	*end = s;
	*host = a;
	return 0;
}

int cf_parse_ipv4(const char *s, struct in_addr *a)
{
	uint32_t h;

	if (ipv4_prefix_of(s, &s, &h) < 0 || *s)
		return -1;
	a->s_addr = htonl(h);
	return 0;
}

int cf_parse_prefix(const char *s, struct in_addr *a, uint8_t *len)
{
	uint32_t h, mask;
	uint64_t n;

	if (ipv4_prefix_of(s, &s, &h) < 0 || *s++ != '/')
		return -1;
	if (strict_number(s, 32, &s, &n) < 0 || *s)
		return -1;
	mask = n ? ~0u << (32 - n) : 0;
	a->s_addr = htonl(h & mask);
	*len = (uint8_t)n;
	return h & ~mask ? -2 : 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* OUT NULL: only count (no cap). */
static int hex_scan(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (;;) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0 || (out && n == cap) || n == INT32_MAX)
			return -1;
		if (out)
			out[n] = (uint8_t)(hi << 4 | lo);
		n++;
		s += 2;
		if (!*s)
			return (int)n;
		if (*s++ != ':')
			return -1;
	}
}

int cf_parse_hex(const char *s, uint8_t *out, size_t cap) { return hex_scan(s, out, cap); }

int cf_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t b[6];

	if (strlen(s) != 17 || cf_parse_hex(s, b, sizeof(b)) != 6)
		return -1;
	memcpy(mac, b, sizeof(b));
	return 0;
}

/* -------------------------------------------------------- argument getters */

/* The argument I of N, or NULL after an error (a missing one). */
static const struct cf_arg *arg_at(const struct cf_node *n, size_t i, const char *section,
				   struct cf_errors *err)
{
	if (i < n->nargs)
		return &n->args[i];
	cf_error(err, &n->pos, section, "%s: missing argument %zu", n->keyword, i + 1);
	return NULL;
}

int cf_arg_duration(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		    uint64_t *seconds)
{
	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	if (cf_parse_duration(a->text, seconds) == 0)
		return 0;
	cf_error(err, &a->pos, section,
		 "%s: \"%s\" is not a duration (a number with s, m, h, d or w: 90s, 12h, 1d)", n->keyword,
		 a->text);
	return -1;
}

int cf_arg_size(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		uint64_t *bytes)
{
	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	if (cf_parse_size(a->text, bytes) == 0)
		return 0;
	cf_error(err, &a->pos, section, "%s: \"%s\" is not a size (a number with K, M or G: 512K, 32M)",
		 n->keyword, a->text);
	return -1;
}

int cf_arg_bool(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, bool *b)
{
	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	if (cf_parse_bool(a->text, b) == 0)
		return 0;
	cf_error(err, &a->pos, section, "%s: \"%s\" is not yes or no", n->keyword, a->text);
	return -1;
}

int cf_arg_uint(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, uint64_t min,
		uint64_t max, uint64_t *v)
{
	uint64_t x;

	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	if (cf_parse_uint(a->text, max, &x) == 0 && x >= min) {
		*v = x;
		return 0;
	}
	cf_error(err, &a->pos, section, "%s: \"%s\" is not a number from %llu to %llu", n->keyword, a->text,
		 (unsigned long long)min, (unsigned long long)max);
	return -1;
}

int cf_arg_ipv4(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		struct in_addr *addr)
{
	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	if (cf_parse_ipv4(a->text, addr) == 0)
		return 0;
	cf_error(err, &a->pos, section, "%s: \"%s\" is not an IPv4 address", n->keyword, a->text);
	return -1;
}

int cf_arg_prefix(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err,
		  struct in_addr *addr, uint8_t *len)
{
	char net[INET_ADDRSTRLEN];
	int rc;

	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	rc = cf_parse_prefix(a->text, addr, len);
	if (rc == 0)
		return 0;
	if (rc == -2) {
		uint32_t h = ntohl(addr->s_addr);

		snprintf(net, sizeof(net), "%u.%u.%u.%u", h >> 24, h >> 16 & 0xff, h >> 8 & 0xff, h & 0xff);
		cf_error(err, &a->pos, section, "%s: \"%s\" has host bits set (did you mean %s/%u?)",
			 n->keyword, a->text, net, *len);
	} else {
		cf_error(err, &a->pos, section,
			 "%s: \"%s\" is not an IPv4 prefix (ADDRESS/LENGTH: 10.0.0.0/8)", n->keyword,
			 a->text);
	}
	return -1;
}

int cf_arg_mac(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, uint8_t mac[6])
{
	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	if (cf_parse_mac(a->text, mac) == 0)
		return 0;
	cf_error(err, &a->pos, section, "%s: \"%s\" is not a MAC address (six hex bytes: 00:11:22:33:44:55)",
		 n->keyword, a->text);
	return -1;
}

int cf_arg_hex(const struct cf_node *n, size_t i, const char *section, struct cf_errors *err, uint8_t *out,
	       size_t cap)
{
	int rc;

	const struct cf_arg *a = arg_at(n, i, section, err);

	if (!a)
		return -1;
	rc = cf_parse_hex(a->text, out, cap);
	if (rc >= 0)
		return rc;
	if (hex_scan(a->text, NULL, 0) > 0)
		cf_error(err, &a->pos, section, "%s: \"%s\" is longer than %zu bytes", n->keyword, a->text,
			 cap);
	else
		cf_error(err, &a->pos, section,
			 "%s: \"%s\" is not hex bytes (two hex digits each, colon-separated: 01:ab:cd)",
			 n->keyword, a->text);
	return -1;
}

/* ----------------------------------------------------------- schema checks */

static void expected_args(char *buf, size_t len, const struct cf_keyword *kw)
{
	if (kw->max_args < 0)
		snprintf(buf, len, "at least %d argument%s", kw->min_args, kw->min_args == 1 ? "" : "s");
	else if (kw->min_args == kw->max_args && kw->max_args == 0)
		snprintf(buf, len, "no arguments");
	else if (kw->min_args == kw->max_args)
		snprintf(buf, len, "%d argument%s", kw->max_args, kw->max_args == 1 ? "" : "s");
	else
		snprintf(buf, len, "%d to %d arguments", kw->min_args, kw->max_args);
}

int cf_check_node(const struct cf_node *n, const char *section, const struct cf_keyword *kw,
		  struct cf_errors *err)
{
	int added = 0;
	char what[64];

	if (n->nargs < (size_t)kw->min_args || (kw->max_args >= 0 && n->nargs > (size_t)kw->max_args)) {
		bool many = kw->max_args >= 0 && n->nargs > (size_t)kw->max_args;

		expected_args(what, sizeof(what), kw);
		cf_error(err, many ? &n->args[kw->max_args].pos : &n->pos, section,
			 "%s: expected %s, got %zu", n->keyword, what, n->nargs);
		added++;
	}
	if (kw->block && !n->block) {
		cf_error(err, &n->pos, section, "%s: needs a block { ... } on the same line", n->keyword);
		added++;
	} else if (!kw->block && n->block) {
		cf_error(err, &n->pos, section, "%s: takes no block { ... }", n->keyword);
		added++;
	}
	return added;
}

int cf_check_keywords(const struct cf_node *first, const char *section, const struct cf_keyword *table,
		      struct cf_errors *err)
{
	size_t ntable = 0, before = err->nerrors;
	const struct cf_node **seen;
	const char **names;
	char ref[256];

	while (table[ntable].name)
		ntable++;
	/* first occurrence per entry: linear in the statements, whatever their number */
	seen = calloc(ntable + 1, sizeof(*seen));
	names = calloc(ntable + 1, sizeof(*names));
	if (!seen || !names) {
		free(seen);
		free(names);
		err->oom = true;
		return 1;
	}
	for (size_t i = 0; i < ntable; i++)
		names[i] = table[i].name;
	for (const struct cf_node *n = first; n; n = n->next) {
		size_t k = 0;

		while (k < ntable && strcmp(table[k].name, n->keyword) != 0)
			k++;
		if (k == ntable) {
			const char *s = cf_suggest(n->keyword, names, ntable);

			if (s)
				cf_error(err, &n->pos, section,
					 "unknown keyword \"%s\" (did you mean \"%s\"?)", n->keyword, s);
			else
				cf_error(err, &n->pos, section, "unknown keyword \"%s\"", n->keyword);
			continue;
		}
		cf_check_node(n, section, &table[k], err);
		if (seen[k] && !table[k].repeatable)
			cf_error(err, &n->pos, section, "%s: given more than once (first at %s)", n->keyword,
				 cf_pos_ref(&seen[k]->pos, &n->pos, ref, sizeof(ref)));
		if (!seen[k])
			seen[k] = n;
	}
	free(seen);
	free(names);
	return (int)(err->nerrors - before);
}

const char *cf_section_label(const struct cf_node *n, char *buf, size_t len)
{
	const char *a;
	bool plain;

	if (n->nargs == 0) {
		snprintf(buf, len, "%s", n->keyword);
		return buf;
	}
	a = n->args[0].text;
	plain = *a != '\0';
	for (const char *p = a; *p && plain; p++)
		plain = !ends_word(*p) && *p != '\\';
	snprintf(buf, len, plain ? "%s %s" : "%s \"%s\"", n->keyword, a);
	return buf;
}

/* ------------------------------------------------------------ suggestions */

#define SUGGEST_MAX 64

/* Optimal string alignment distance: edits plus adjacent transpositions,
 * the typos people make ("masquarade", "devcie"). Both at most SUGGEST_MAX. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][SUGGEST_MAX + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = prev[j - 1] + cost;

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *cf_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t lw = strlen(word), best_d = 3;
	const char *best = NULL;

	if (lw > SUGGEST_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(candidates[i]), d;

		if (lc > SUGGEST_MAX || (lc > lw ? lc - lw : lw - lc) >= best_d)
			continue;
		d = edit_distance(word, lw, candidates[i], lc);
		if (d < best_d && d < lw) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}

/* ------------------------------------------------------- canonical text */

static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Keywords are bare words and every argument is quoted and escaped, so
 * the text is unambiguous: equal texts mean equal trees. */
static void put_node(FILE *f, const struct cf_node *n)
{
	fputs(n->keyword, f);
	for (size_t i = 0; i < n->nargs; i++) {
		fputc(' ', f);
		put_quoted(f, n->args[i].text);
	}
	if (n->block) {
		fputs(" {", f);
		for (const struct cf_node *c = n->children; c; c = c->next) {
			fputc(' ', f);
			put_node(f, c);
			fputc(';', f);
		}
		fputs(" }", f);
	}
}

static bool listed(const char *keyword, const char *const *keywords)
{
	if (!keywords)
		return true;
	for (; *keywords; keywords++)
		if (strcmp(*keywords, keyword) == 0)
			return true;
	return false;
}

char *cf_canonical_text(const struct cf_node *first, const char *const *keywords)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (const struct cf_node *n = first; n; n = n->next) {
		if (!listed(n->keyword, keywords))
			continue;
		put_node(f, n);
		fputc('\n', f);
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

const struct cf_node *cf_find(const struct cf_node *first, const char *keyword)
{
	for (const struct cf_node *n = first; n; n = n->next)
		if (strcmp(n->keyword, keyword) == 0)
			return n;
	return NULL;
}

/* ---- helpers for the modules' configure() ---- */

void *cf_zalloc(bool *oom, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		*oom = true;
	return p;
}

char *cf_strdup(bool *oom, const char *s)
{
	char *p = s ? strdup(s) : NULL;

	if (s && !p)
		*oom = true;
	return p;
}

size_t cf_count(const struct cf_node *first, const char *keyword, bool args)
{
	size_t n = 0;

	for (; first; first = first->next)
		if (strcmp(first->keyword, keyword) == 0)
			n += args ? first->nargs : 1;
	return n;
}

bool cf_shape_ok(const struct cf_node *n, const struct cf_keyword *kw)
{
	if (n->nargs < (size_t)kw->min_args || (kw->max_args >= 0 && n->nargs > (size_t)kw->max_args))
		return false;
	return n->block == kw->block;
}

size_t cf_for_each_good(const struct cf_node *first, const struct cf_keyword *table, cf_stmt_fn fn, void *data,
			const bool *stop)
{
	uint64_t seen = 0;
	size_t skipped = 0;

	for (const struct cf_node *n = first; n && !(stop && *stop); n = n->next) {
		size_t k = 0;

		while (table[k].name && strcmp(table[k].name, n->keyword) != 0)
			k++;
		if (!table[k].name || (!table[k].repeatable && (seen >> k & 1)) || !cf_shape_ok(n, &table[k])) {
			skipped++;
			if (table[k].name)
				seen |= 1ull << k;
			continue;
		}
		seen |= 1ull << k;
		fn(data, k, n);
	}
	return skipped;
}

bool cf_under_cap(struct cf_errors *err, const struct cf_pos *pos, const char *section, const char *keyword,
		  size_t have, size_t cap, bool *full)
{
	if (have < cap && !*full)
		return true;
	if (!*full)
		cf_error(err, pos, section, "%s: too many (at most %zu)", keyword, cap);
	*full = true;
	return false;
}

static int cmp_range(const void *pa, const void *pb)
{
	const struct cf_range *a = pa, *b = pb;

	return (a->first > b->first) - (a->first < b->first);
}

size_t cf_ranges_merge(struct cf_range *v, size_t n)
{
	size_t m = 0;

	qsort(v, n, sizeof(*v), cmp_range);
	for (size_t i = 0; i < n; i++) {
		/* first - 1 cannot wrap here: a range starting at 0 comes first */
		if (m && v[i].first - 1 <= v[m - 1].last) {
			if (v[i].last > v[m - 1].last)
				v[m - 1].last = v[i].last;
		} else {
			v[m++] = v[i];
		}
	}
	return m;
}

bool cf_ranges_contain(const struct cf_range *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;

	/* the last range starting at or before X */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].first <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && x <= v[lo - 1].last;
}
