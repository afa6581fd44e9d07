/* test_config.c — the config language: error lines, lexer and parser
 * (positions, escapes, recovery, limits, includes), value parsers and
 * argument getters, schema checks, suggestions, canonical text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* ---- helpers ---- */

static struct cf_tree *parse(const char *text, struct cf_errors *e)
{
	struct cf_tree *t;

	cf_errors_init(e);
	t = cf_parse_string("t.conf", text, strlen(text), e);
	assert_non_null(t);
	return t;
}

/* All errors, one per line, to compare with one string. */
static char *joined(const struct cf_errors *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	for (size_t i = 0; i < e->nerrors; i++)
		fprintf(m, "%s\n", e->errors[i]);
	fclose(m);
	return buf;
}

static void expect_errors(const struct cf_errors *e, const char *want)
{
	char *got = joined(e);

	if (strcmp(got, want) != 0)
		print_error("expected:\n%s---- got:\n%s----\n", want, got);
	assert_string_equal(got, want);
	free(got);
}

/* The errors of parsing TEXT, which must give a tree all the same. */
static void parse_expect(const char *text, const char *want)
{
	struct cf_errors e;
	struct cf_tree *t = parse(text, &e);

	expect_errors(&e, want);
	cf_tree_free(t);
	cf_errors_free(&e);
}

static size_t count(const struct cf_node *n)
{
	size_t c = 0;

	for (; n; n = n->next)
		c++;
	return c;
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/homegw-test-config.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void write_file(const char *name, const char *text, size_t len)
{
	char *path = tmp_path(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	free(path);
}

static void write_text(const char *name, const char *text) { write_file(name, text, strlen(text)); }

/* ---- error lines ---- */

static void test_error_format(void **state)
{
	struct cf_errors e;
	struct cf_pos pos = {"x.conf", 3, 11};

	cf_errors_init(&e);
	cf_error(&e, &pos, "dhcp lan", "pool: \"%s\" is not an IPv4 address", "192.168.1.300");
	cf_error(&e, &pos, NULL, "log-level: %d", 1);
	cf_error(&e, NULL, NULL, "%s: cannot open: %s", "x.conf", "No such file or directory");
	cf_error(&e, NULL, "dns", "cannot configure");
	cf_warning(&e, &pos, "interface lan", "not used by any section");
	assert_int_equal(e.nerrors, 4);
	assert_string_equal(e.errors[0],
			    "x.conf:3:11: dhcp lan: pool: \"192.168.1.300\" is not an IPv4 address");
	assert_string_equal(e.errors[1], "x.conf:3:11: log-level: 1");
	assert_string_equal(e.errors[2], "x.conf: cannot open: No such file or directory");
	assert_string_equal(e.errors[3], "dns: cannot configure");
	assert_int_equal(e.nwarnings, 1);
	assert_string_equal(e.warnings[0], "x.conf:3:11: interface lan: not used by any section");
	assert_false(e.oom);
	cf_errors_free(&e);
	assert_int_equal(e.nerrors, 0);
	assert_null(e.errors);
}

static void test_error_cap(void **state)
{
	struct cf_errors e;

	cf_errors_init(&e);
	for (int i = 0; i < CF_MAX_ERRORS + 50; i++) {
		cf_error(&e, NULL, NULL, "e%d", i);
		cf_warning(&e, NULL, NULL, "w%d", i);
	}
	assert_int_equal(e.nerrors, CF_MAX_ERRORS + 1);
	assert_string_equal(e.errors[CF_MAX_ERRORS - 1], "e199");
	assert_string_equal(e.errors[CF_MAX_ERRORS], "too many errors; the rest are not shown");
	assert_int_equal(e.nwarnings, CF_MAX_ERRORS + 1);
	assert_string_equal(e.warnings[CF_MAX_ERRORS], "too many warnings; the rest are not shown");
	cf_errors_free(&e);
}

static void test_pos_ref(void **state)
{
	struct cf_pos a = {"a.conf", 3, 5}, b = {"a.conf", 9, 1}, c = {"inc/c.conf", 1, 1};
	char buf[64];

	assert_string_equal(cf_pos_ref(&a, &b, buf, sizeof(buf)), "line 3");
	assert_string_equal(cf_pos_ref(&a, &c, buf, sizeof(buf)), "a.conf:3");
	assert_string_equal(cf_pos_ref(&c, NULL, buf, sizeof(buf)), "inc/c.conf:1");
}

/* ---- the tree ---- */

static void test_positions(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("# comment\n"
				  "log-level debug\n"
				  "  interface lan {\n"
				  "\tdevice  \"br-lan\" # tab is one column\n"
				  "}\n"
				  "a 1; b 2 3;c\n",
				  &e);
	const struct cf_node *n = t->root;

	assert_int_equal(e.nerrors, 0);
	assert_int_equal(count(n), 5);
	assert_string_equal(n->keyword, "log-level");
	assert_string_equal(n->pos.file, "t.conf");
	assert_int_equal(n->pos.line, 2);
	assert_int_equal(n->pos.col, 1);
	assert_int_equal(n->nargs, 1);
	assert_string_equal(n->args[0].text, "debug");
	assert_false(n->args[0].quoted);
	assert_int_equal(n->args[0].pos.line, 2);
	assert_int_equal(n->args[0].pos.col, 11);
	assert_false(n->block);

	n = n->next;
	assert_string_equal(n->keyword, "interface");
	assert_int_equal(n->pos.line, 3);
	assert_int_equal(n->pos.col, 3);
	assert_true(n->block);
	assert_int_equal(count(n->children), 1);
	assert_string_equal(n->children->keyword, "device");
	assert_int_equal(n->children->pos.line, 4);
	assert_int_equal(n->children->pos.col, 2);
	assert_string_equal(n->children->args[0].text, "br-lan");
	assert_true(n->children->args[0].quoted);
	assert_int_equal(n->children->args[0].pos.col, 10); /* the opening quote */

	n = n->next;
	assert_string_equal(n->keyword, "a");
	assert_int_equal(n->pos.line, 6);
	n = n->next;
	assert_string_equal(n->keyword, "b");
	assert_int_equal(n->pos.col, 6);
	assert_int_equal(n->nargs, 2);
	assert_string_equal(n->args[1].text, "3");
	assert_int_equal(n->args[1].pos.col, 10);
	n = n->next;
	assert_string_equal(n->keyword, "c");
	assert_int_equal(n->pos.col, 12);
	assert_int_equal(n->nargs, 0);

	assert_int_equal(t->nfiles, 1);
	assert_string_equal(t->files[0], "t.conf");
	assert_ptr_equal(t->root->pos.file, t->files[0]);
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_terminators_and_nesting(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse(";;\n"
				  "a { b { c x; d } e }\n"
				  "f {}\n"
				  "g { ; }\n"
				  "h{i} h2 { } h3\n"
				  "j {\n\n  k\n\n};\n",
				  &e);
	const struct cf_node *a = t->root, *b;

	assert_int_equal(e.nerrors, 0);
	assert_int_equal(count(t->root), 7); /* a block's '}' ends its statement */
	assert_int_equal(count(a->children), 2);
	b = a->children;
	assert_string_equal(b->keyword, "b");
	assert_int_equal(count(b->children), 2);
	assert_string_equal(b->children->keyword, "c");
	assert_string_equal(b->children->args[0].text, "x");
	assert_string_equal(b->children->next->keyword, "d");
	assert_string_equal(b->next->keyword, "e");
	assert_true(a->next->block); /* f {} is a block, empty */
	assert_null(a->next->children);
	assert_null(a->next->next->children);
	assert_string_equal(cf_find(t->root, "h")->children->keyword, "i");
	assert_string_equal(cf_find(t->root, "j")->children->keyword, "k");
	assert_null(cf_find(t->root, "k"));
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_quoting(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("s \"a \\\"b\\\" \\\\c\" \"\" \"#x\" \"{;}\" w#comment\n"
				  "u \"é ✓\" ünï\n",
				  &e);
	const struct cf_node *n = t->root;

	assert_int_equal(e.nerrors, 0);
	assert_int_equal(n->nargs, 5);
	assert_string_equal(n->args[0].text, "a \"b\" \\c");
	assert_string_equal(n->args[1].text, "");
	assert_true(n->args[1].quoted);
	assert_string_equal(n->args[2].text, "#x");
	assert_string_equal(n->args[3].text, "{;}");
	assert_string_equal(n->args[4].text, "w");
	assert_string_equal(n->next->args[0].text, "é ✓");
	assert_string_equal(n->next->args[1].text, "ünï");
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_crlf_and_bom(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("\xef\xbb\xbf"
				  "a 1\r\nb \"x\"\r\n",
				  &e);

	assert_int_equal(e.nerrors, 0);
	assert_int_equal(count(t->root), 2);
	assert_string_equal(t->root->args[0].text, "1");
	assert_int_equal(t->root->next->pos.line, 2);
	assert_string_equal(t->root->next->args[0].text, "x");
	cf_tree_free(t);
	cf_errors_free(&e);
	/* a CR that is not part of a CRLF is not text */
	parse_expect("a 1\rb 2\n", "t.conf:1:4: control character 0x0d: a config file is text\n");
}

static void test_syntax_errors(void **state)
{
	parse_expect("a \"open\nb ok\n",
		     "t.conf:1:3: unterminated string: the closing '\"' is missing on this line\n");
	parse_expect("a \"x\\n\"\n",
		     "t.conf:1:5: unknown escape \"\\n\" in string (only \\\" and \\\\ are escapes)\n");
	parse_expect("a x\"y\"\n", "t.conf:1:4: '\"' inside a word: quote the whole argument (\"...\")\n");
	parse_expect("\"a\" x\n", "t.conf:1:1: a statement starts with a keyword, not a quoted string\n");
	parse_expect("a { b }\n}\n", "t.conf:2:1: '}' without a matching '{'\n");
	parse_expect("a {\n b {\n", "t.conf:2:4: this '{' is never closed: a '}' is missing\n"
				    "t.conf:1:3: this '{' is never closed: a '}' is missing\n");
	parse_expect("a\n{\n b\n}\n", "t.conf:2:1: '{' must be on the same line as its keyword\n");
	parse_expect("", "");
}

/* After an error the parser goes on at the next statement: every error of
 * the file in one run, and the good statements are all in the tree. */
static void test_recovery(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("a 1\n"
				  "b \"bad\n"
				  "c 2\n"
				  "d { e \"x\\q\" ; f x\"y\" ; g }\n"
				  "}\n"
				  "h 3; i x\"y { j }\n"
				  "l 4\n",
				  &e);
	const struct cf_node *d;

	expect_errors(&e, "t.conf:2:3: unterminated string: the closing '\"' is missing on this line\n"
			  "t.conf:4:9: unknown escape \"\\q\" in string (only \\\" and \\\\ are escapes)\n"
			  "t.conf:4:18: '\"' inside a word: quote the whole argument (\"...\")\n"
			  "t.conf:5:1: '}' without a matching '{'\n"
			  "t.conf:6:9: '\"' inside a word: quote the whole argument (\"...\")\n");
	assert_non_null(cf_find(t->root, "a"));
	assert_null(cf_find(t->root, "b"));
	assert_non_null(cf_find(t->root, "c"));
	d = cf_find(t->root, "d");
	assert_non_null(d);
	/* the bad escape keeps its statement (no "missing" errors after it);
	 * f is dropped, g after it is kept */
	assert_int_equal(count(d->children), 2);
	assert_string_equal(d->children->args[0].text, "x\\q");
	assert_string_equal(d->children->next->keyword, "g");
	assert_non_null(cf_find(t->root, "h"));
	assert_null(cf_find(t->root, "i"));
	assert_non_null(cf_find(t->root, "l"));
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_depth_limit(void **state)
{
	char text[512] = "", *p = text;
	struct cf_errors e;
	struct cf_tree *t;

	for (int i = 0; i < CF_MAX_DEPTH; i++)
		p += sprintf(p, "b%d {", i);
	for (int i = 0; i < CF_MAX_DEPTH; i++)
		p += sprintf(p, "}");
	strcat(text, "\n");
	t = parse(text, &e);
	assert_int_equal(e.nerrors, 0);
	cf_tree_free(t);
	cf_errors_free(&e);

	p = text;
	for (int i = 0; i <= CF_MAX_DEPTH; i++)
		p += sprintf(p, "b {");
	for (int i = 0; i <= CF_MAX_DEPTH; i++)
		p += sprintf(p, "}");
	strcat(text, "\nafter x\n");
	t = parse(text, &e);
	expect_errors(&e, "t.conf:1:51: blocks nested too deeply (at most 16 levels)\n");
	assert_non_null(cf_find(t->root, "after"));
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_hostile_braces(void **state)
{
	/* a file of only '{': bounded recursion, bounded errors */
	size_t n = 100000;
	char *text = malloc(n);
	struct cf_errors e;
	struct cf_tree *t;

	assert_non_null(text);
	memset(text, '{', n);
	cf_errors_init(&e);
	t = cf_parse_string("t.conf", text, n, &e);
	assert_non_null(t);
	assert_true(e.nerrors > 0 && e.nerrors <= CF_MAX_ERRORS + 1);
	cf_tree_free(t);
	cf_errors_free(&e);
	memset(text, '}', n);
	cf_errors_init(&e);
	t = cf_parse_string("t.conf", text, n, &e);
	assert_int_equal(e.nerrors, CF_MAX_ERRORS + 1);
	cf_tree_free(t);
	cf_errors_free(&e);
	free(text);
}

static void test_args_limit(void **state)
{
	char text[1024] = "k", *p = text + 1;
	struct cf_errors e;
	struct cf_tree *t;

	for (int i = 0; i < CF_MAX_ARGS; i++)
		p += sprintf(p, " %d", i % 10);
	strcpy(p, "\n");
	t = parse(text, &e);
	assert_int_equal(e.nerrors, 0);
	assert_int_equal(t->root->nargs, CF_MAX_ARGS);
	cf_tree_free(t);
	cf_errors_free(&e);
	strcpy(p, " x\nnext\n");
	t = parse(text, &e);
	expect_errors(&e, "t.conf:1:131: k: too many arguments (at most 64)\n");
	assert_string_equal(t->root->keyword, "next");
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_not_text(void **state)
{
	struct cf_errors e;
	struct cf_tree *t;

	cf_errors_init(&e);
	t = cf_parse_string("t.conf", "a 1\nb \0\n", 7, &e);
	expect_errors(&e, "t.conf:2:3: NUL byte: a config file is text\n");
	assert_null(t->root); /* nothing of a file that is not text */
	cf_tree_free(t);
	cf_errors_free(&e);
	parse_expect("a \xc0\x80\n", "t.conf:1:3: invalid UTF-8 (byte 0xc0): a config file is UTF-8 text\n");
	parse_expect("a \xed\xa0\x80\n",
		     "t.conf:1:3: invalid UTF-8 (byte 0xed): a config file is UTF-8 text\n");
	parse_expect("a \xf5\x80\x80\x80\n",
		     "t.conf:1:3: invalid UTF-8 (byte 0xf5): a config file is UTF-8 text\n");
	parse_expect("a \xe2\x9c\n", "t.conf:1:3: invalid UTF-8 (byte 0xe2): a config file is UTF-8 text\n");
	parse_expect("ab\x7f\n", "t.conf:1:3: control character 0x7f: a config file is text\n");
	parse_expect("\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\n", "");
}

static void test_size_limit(void **state)
{
	size_t n = CF_MAX_FILE_SIZE;
	char *text = malloc(n + 1), *path;
	struct cf_errors e;
	struct cf_tree *t;

	assert_non_null(text);
	memset(text, '#', n + 1);
	text[0] = '\n';
	write_file("big.conf", text, n);
	path = tmp_path("big.conf");
	cf_errors_init(&e);
	t = cf_parse_file(path, &e);
	assert_int_equal(e.nerrors, 0); /* 1 MiB exactly is allowed */
	cf_tree_free(t);
	cf_errors_free(&e);

	write_file("big.conf", text, n + 1);
	cf_errors_init(&e);
	t = cf_parse_file(path, &e);
	assert_int_equal(e.nerrors, 1);
	assert_non_null(strstr(e.errors[0], "big.conf: larger than 1 MiB (the limit for a config file)"));
	cf_tree_free(t);
	cf_errors_free(&e);

	cf_errors_init(&e);
	t = cf_parse_string("s.conf", text, n + 1, &e);
	expect_errors(&e, "s.conf: larger than 1 MiB (the limit for a config file)\n");
	cf_tree_free(t);
	cf_errors_free(&e);
	free(path);
	free(text);
}

/* ---- files and includes ---- */

static void test_include_relative(void **state)
{
	char *main_path = tmp_path("main.conf"), *sub_b = tmp_path("sub/b.conf"),
	     *sub_c = tmp_path("sub/c.conf");
	char *want, *sub = tmp_path("sub");
	struct cf_errors e;
	struct cf_tree *t;
	const struct cf_node *n;

	assert_int_equal(mkdir(sub, 0755), 0);
	write_text("main.conf", "first 1\nblock {\n\tinclude \"sub/b.conf\"\n\tinner 2\n}\nlast 3\n");
	write_text("sub/b.conf", "from-b x\ninclude c.conf\n");
	write_text("sub/c.conf", "from-c y; bad \"z\n");
	cf_errors_init(&e);
	t = cf_parse_file(main_path, &e);
	assert_non_null(t);
	/* the error names the included file, with its own line and column */
	assert_true(asprintf(&want,
			     "%s:1:15: unterminated string: the closing '\"' is missing on this line\n",
			     sub_c) > 0);
	expect_errors(&e, want);
	free(want);
	n = t->root;
	assert_string_equal(n->keyword, "first");
	n = cf_find(t->root, "block")->children;
	assert_int_equal(count(n), 3);
	assert_string_equal(n->keyword, "from-b");
	assert_string_equal(n->pos.file, sub_b);
	assert_int_equal(n->pos.line, 1);
	assert_string_equal(n->next->keyword, "from-c");
	assert_string_equal(n->next->pos.file, sub_c);
	assert_string_equal(n->next->next->keyword, "inner");
	assert_string_equal(n->next->next->pos.file, main_path);
	assert_int_equal(n->next->next->pos.line, 4);
	assert_string_equal(cf_find(t->root, "last")->pos.file, main_path);
	assert_int_equal(t->nfiles, 3);
	cf_tree_free(t);
	cf_errors_free(&e);
	free(main_path);
	free(sub_b);
	free(sub_c);
	free(sub);
}

static void test_include_absolute_from_string(void **state)
{
	char *abs = tmp_path("abs.conf"), *text;
	struct cf_errors e;
	struct cf_tree *t;

	write_text("abs.conf", "x 1\n");
	assert_true(asprintf(&text, "include \"%s\"\ny 2\n", abs) > 0);
	t = parse(text, &e);
	assert_int_equal(e.nerrors, 0);
	assert_string_equal(t->root->keyword, "x");
	assert_string_equal(t->root->pos.file, abs);
	assert_string_equal(t->root->next->keyword, "y");
	cf_tree_free(t);
	cf_errors_free(&e);
	free(text);
	free(abs);
}

static void test_include_errors(void **state)
{
	char *a = tmp_path("loop-a.conf"), *b = tmp_path("loop-b.conf"), *want, *fifo = tmp_path("fifo");
	struct cf_errors e;
	struct cf_tree *t;

	write_text("loop-a.conf", "a 1\ninclude \"loop-b.conf\"\n");
	write_text("loop-b.conf", "b 2\n   include \"loop-a.conf\"\n");
	cf_errors_init(&e);
	t = cf_parse_file(a, &e);
	assert_true(asprintf(&want, "%s:2:12: include loop: \"%s\" is already being read\n", b, a) > 0);
	expect_errors(&e, want);
	assert_int_equal(count(t->root), 2); /* what was read still is */
	free(want);
	cf_tree_free(t);
	cf_errors_free(&e);

	/* a FIFO is refused without hanging in open() or read() */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	write_text("fifo.conf", "include fifo\n");
	free(a);
	a = tmp_path("fifo.conf");
	cf_errors_init(&e);
	t = cf_parse_file(a, &e);
	assert_true(asprintf(&want, "%s:1:9: cannot include \"%s\": not a regular file\n", a, fifo) > 0);
	expect_errors(&e, want);
	free(want);
	cf_tree_free(t);
	cf_errors_free(&e);
	free(a);
	free(b);
	free(fifo);
}

static void test_include_depth(void **state)
{
	char name[32], text[64], *first, *want, *last;
	struct cf_errors e;
	struct cf_tree *t;

	/* inc0 includes inc1 ... : CF_MAX_INCLUDE_DEPTH levels are fine */
	for (int i = 0; i <= CF_MAX_INCLUDE_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "inc%d.conf", i);
		snprintf(text, sizeof(text), "level%d x\ninclude inc%d.conf\n", i, i + 1);
		write_text(name, text);
	}
	first = tmp_path("inc0.conf");
	snprintf(name, sizeof(name), "inc%d.conf", CF_MAX_INCLUDE_DEPTH);
	last = tmp_path(name);
	cf_errors_init(&e);
	t = cf_parse_file(first, &e);
	assert_true(asprintf(&want, "%s:2:9: includes nested too deeply (at most 8 levels)\n", last) > 0);
	expect_errors(&e, want);
	assert_int_equal(count(t->root), CF_MAX_INCLUDE_DEPTH + 1);
	free(want);
	free(last);
	free(first);
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_cannot_open(void **state)
{
	struct cf_errors e;
	struct cf_tree *t;

	cf_errors_init(&e);
	t = cf_parse_file("/nonexistent/homegw.conf", &e);
	assert_non_null(t);
	assert_null(t->root);
	expect_errors(&e, "/nonexistent/homegw.conf: cannot open: No such file or directory\n");
	cf_tree_free(t);
	cf_errors_free(&e);
}

/* ---- value parsers ---- */

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"0", 0},
		{"90", 90},
		{"90s", 90},
		{"2m", 120},
		{"12h", 43200},
		{"1d", 86400},
		{"2w", 1209600},
		{"007s", 7},
		{"18446744073709551615", UINT64_MAX},
		{"30500568904943w", 30500568904943ull * 604800},
	};
	static const char *const bad[] = {"",
					  "s",
					  "1x",
					  "1hh",
					  "1h30m",
					  "-1",
					  "+1",
					  " 1",
					  "1 ",
					  "1.5h",
					  "1S",
					  "18446744073709551616",
					  "30500568904944w",
					  "213503982334602d"};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		assert_int_equal(cf_parse_duration(good[i].s, &v), 0);
		assert_true(v == good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cf_parse_duration(bad[i], &v) != -1)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(cf_parse_duration(bad[i], &v), -1);
	}
}

static void test_size(void **state)
{
	uint64_t v;

	assert_int_equal(cf_parse_size("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(cf_parse_size("1232", &v), 0);
	assert_true(v == 1232);
	assert_int_equal(cf_parse_size("512K", &v), 0);
	assert_true(v == 512 * 1024);
	assert_int_equal(cf_parse_size("32M", &v), 0);
	assert_true(v == 32ull << 20);
	assert_int_equal(cf_parse_size("2G", &v), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(cf_parse_size("17179869183G", &v), 0);
	assert_true(v == 17179869183ull << 30);
	assert_int_equal(cf_parse_size("17179869184G", &v), -1); /* 2^64 */
	assert_int_equal(cf_parse_size("32m", &v), -1);
	assert_int_equal(cf_parse_size("32MB", &v), -1);
	assert_int_equal(cf_parse_size("M", &v), -1);
	assert_int_equal(cf_parse_size("", &v), -1);
	assert_int_equal(cf_parse_size("1T", &v), -1);
}

static void test_bool_uint(void **state)
{
	bool b = false;
	uint64_t v;

	assert_int_equal(cf_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(cf_parse_bool("no", &b), 0);
	assert_false(b);
	assert_int_equal(cf_parse_bool("Yes", &b), -1);
	assert_int_equal(cf_parse_bool("true", &b), -1);
	assert_int_equal(cf_parse_bool("", &b), -1);
	assert_int_equal(cf_parse_bool("yes ", &b), -1);

	assert_int_equal(cf_parse_uint("0", 0, &v), 0);
	assert_true(v == 0);
	assert_int_equal(cf_parse_uint("65535", 65535, &v), 0);
	assert_true(v == 65535);
	assert_int_equal(cf_parse_uint("65536", 65535, &v), -1);
	assert_int_equal(cf_parse_uint("1", 0, &v), -1);
	assert_int_equal(cf_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cf_parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(cf_parse_uint("99999999999999999999999", UINT64_MAX, &v), -1);
	assert_int_equal(cf_parse_uint("", 10, &v), -1);
	assert_int_equal(cf_parse_uint("-0", 10, &v), -1);
	assert_int_equal(cf_parse_uint("1.0", 10, &v), -1);
	assert_int_equal(cf_parse_uint("0x1", 10, &v), -1);
	assert_int_equal(cf_parse_uint(" 1", 10, &v), -1);
}

static void test_ipv4(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.0.0.0", "1.2.3.256", "01.2.3.4", "1.2.3.04", "1..2.3",
		"1.2.3.4 ", " 1.2.3.4", "1.2.3.4/", "0x1.2.3.4", "1.2.3.-4", "1.2.3.1000", "1.2.3.4a",
		"1.2.3.", ".1.2.3", "1.2.3.4.", "192.168.1.300", "4294967295", "1.2.3.+4", "1,2,3,4",
	};
	struct in_addr a;

	assert_int_equal(cf_parse_ipv4("192.168.1.1", &a), 0);
	assert_int_equal(ntohl(a.s_addr), 0xc0a80101);
	assert_int_equal(cf_parse_ipv4("0.0.0.0", &a), 0);
	assert_int_equal(a.s_addr, 0);
	assert_int_equal(cf_parse_ipv4("255.255.255.255", &a), 0);
	assert_int_equal(a.s_addr, 0xffffffff);
	assert_int_equal(cf_parse_ipv4("10.0.0.0", &a), 0);
	assert_int_equal(ntohl(a.s_addr), 0x0a000000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cf_parse_ipv4(bad[i], &a) != -1)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(cf_parse_ipv4(bad[i], &a), -1);
	}
}

static void test_prefix(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/8/8",
		"10.0.0/8", "/8", "10.0.0.0/-1", "10.0.0.0/ 8", "10.0.0.0/8 ",
	};
	struct in_addr a;
	uint8_t len = 99;

	assert_int_equal(cf_parse_prefix("10.0.0.0/8", &a, &len), 0);
	assert_int_equal(ntohl(a.s_addr), 0x0a000000);
	assert_int_equal(len, 8);
	assert_int_equal(cf_parse_prefix("0.0.0.0/0", &a, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(cf_parse_prefix("192.168.1.7/32", &a, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(cf_parse_prefix("192.168.1.0/24", &a, &len), 0);
	/* host bits: its own code, with the prefix meant */
	assert_int_equal(cf_parse_prefix("192.168.1.1/24", &a, &len), -2);
	assert_int_equal(ntohl(a.s_addr), 0xc0a80100);
	assert_int_equal(len, 24);
	assert_int_equal(cf_parse_prefix("1.0.0.0/0", &a, &len), -2);
	assert_int_equal(a.s_addr, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cf_parse_prefix(bad[i], &a, &len) != -1)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(cf_parse_prefix(bad[i], &a, &len), -1);
	}
}

static void test_mac_hex(void **state)
{
	static const uint8_t want[6] = {0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc};
	uint8_t mac[6], buf[4];

	assert_int_equal(cf_parse_mac("00:11:22:aa:BB:cC", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(cf_parse_mac("00:11:22:33:44", mac), -1);
	assert_int_equal(cf_parse_mac("00:11:22:33:44:55:66", mac), -1);
	assert_int_equal(cf_parse_mac("00-11-22-33-44-55", mac), -1);
	assert_int_equal(cf_parse_mac("0:1:2:3:4:5", mac), -1);
	assert_int_equal(cf_parse_mac("00:11:22:33:44:5g", mac), -1);
	assert_int_equal(cf_parse_mac("", mac), -1);

	assert_int_equal(cf_parse_hex("01", buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 1);
	assert_int_equal(cf_parse_hex("01:ab:CD:ef", buf, sizeof(buf)), 4);
	assert_int_equal(buf[1], 0xab);
	assert_int_equal(buf[2], 0xcd);
	assert_int_equal(buf[3], 0xef);
	assert_int_equal(cf_parse_hex("01:02:03:04:05", buf, sizeof(buf)), -1); /* past the cap */
	assert_int_equal(cf_parse_hex("", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex("1", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex("012", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex("01:", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex(":01", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex("01::02", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex("0x01", buf, sizeof(buf)), -1);
	assert_int_equal(cf_parse_hex("01", buf, 0), -1);
}

/* The getters add the one standard message at the argument. */
static void test_getters(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("k 12h 32M yes 70000 10.0.0.1 10.0.0.1/8 00:11:22:33:44:55 01:02:03\n", &e);
	const struct cf_node *n = t->root;
	struct in_addr a;
	uint8_t len, mac[6], hex[2];
	uint64_t v;
	bool b;

	assert_int_equal(cf_arg_duration(n, 0, "s", &e, &v), 0);
	assert_true(v == 43200);
	assert_int_equal(cf_arg_size(n, 1, "s", &e, &v), 0);
	assert_true(v == 32u << 20);
	assert_int_equal(cf_arg_bool(n, 2, "s", &e, &b), 0);
	assert_true(b);
	assert_int_equal(cf_arg_ipv4(n, 4, "s", &e, &a), 0);
	assert_int_equal(cf_arg_mac(n, 6, "s", &e, mac), 0);
	assert_int_equal(e.nerrors, 0);

	assert_int_equal(cf_arg_uint(n, 3, "s", &e, 1, 65535, &v), -1);
	assert_int_equal(cf_arg_uint(n, 2, NULL, &e, 0, 10, &v), -1);
	assert_int_equal(cf_arg_duration(n, 1, "s", &e, &v), -1);
	assert_int_equal(cf_arg_prefix(n, 5, "s", &e, &a, &len), -1);
	assert_int_equal(cf_arg_prefix(n, 4, "s", &e, &a, &len), -1);
	assert_int_equal(cf_arg_hex(n, 7, "s", &e, hex, sizeof(hex)), -1);
	assert_int_equal(cf_arg_hex(n, 0, "s", &e, hex, sizeof(hex)), -1);
	assert_int_equal(cf_arg_bool(n, 0, "s", &e, &b), -1);
	assert_int_equal(cf_arg_ipv4(n, 8, "s", &e, &a), -1);
	expect_errors(
		&e,
		"t.conf:1:15: s: k: \"70000\" is not a number from 1 to 65535\n"
		"t.conf:1:11: k: \"yes\" is not a number from 0 to 10\n"
		"t.conf:1:7: s: k: \"32M\" is not a duration (a number with s, m, h, d or w: 90s, 12h, 1d)\n"
		"t.conf:1:30: s: k: \"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?)\n"
		"t.conf:1:21: s: k: \"10.0.0.1\" is not an IPv4 prefix (ADDRESS/LENGTH: 10.0.0.0/8)\n"
		"t.conf:1:59: s: k: \"01:02:03\" is longer than 2 bytes\n"
		"t.conf:1:3: s: k: \"12h\" is not hex bytes (two hex digits each, colon-separated: "
		"01:ab:cd)\n"
		"t.conf:1:3: s: k: \"12h\" is not yes or no\n"
		"t.conf:1:1: s: k: missing argument 9\n");
	cf_tree_free(t);
	cf_errors_free(&e);
}

/* ---- schema checks ---- */

static const struct cf_keyword table[] = {
	{"device", 1, 1, false, false},
	{"pool", 2, 2, false, true},
	{"listen", 1, -1, false, true},
	{"quiet", 0, 0, false, false},
	{"range", 1, 3, false, true},
	{"host", 1, 1, true, true},
	{NULL, 0, 0, false, false},
};

static void test_check_keywords(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("s {\n"
				  "devce x\n"
				  "frobnicate\n"
				  "device\n"
				  "device a b\n"
				  "pool 1\n"
				  "listen\n"
				  "quiet 1\n"
				  "range\n"
				  "range 1 2 3 4\n"
				  "host h\n"
				  "pool 1 2 { }\n"
				  "pool 3 4\n"
				  "listen a b c d\n"
				  "quiet\n"
				  "quiet\n"
				  "host h { }\n"
				  "}\n",
				  &e);

	assert_int_equal(cf_check_keywords(t->root->children, "sec x", table, &e), 14);
	expect_errors(&e, "t.conf:2:1: sec x: unknown keyword \"devce\" (did you mean \"device\"?)\n"
			  "t.conf:3:1: sec x: unknown keyword \"frobnicate\"\n"
			  "t.conf:4:1: sec x: device: expected 1 argument, got 0\n"
			  "t.conf:5:10: sec x: device: expected 1 argument, got 2\n"
			  "t.conf:5:1: sec x: device: given more than once (first at line 4)\n"
			  "t.conf:6:1: sec x: pool: expected 2 arguments, got 1\n"
			  "t.conf:7:1: sec x: listen: expected at least 1 argument, got 0\n"
			  "t.conf:8:7: sec x: quiet: expected no arguments, got 1\n"
			  "t.conf:9:1: sec x: range: expected 1 to 3 arguments, got 0\n"
			  "t.conf:10:13: sec x: range: expected 1 to 3 arguments, got 4\n"
			  "t.conf:11:1: sec x: host: needs a block { ... } on the same line\n"
			  "t.conf:12:1: sec x: pool: takes no block { ... }\n"
			  "t.conf:15:1: sec x: quiet: given more than once (first at line 8)\n"
			  "t.conf:16:1: sec x: quiet: given more than once (first at line 8)\n");
	cf_tree_free(t);
	cf_errors_free(&e);

	/* top level, no section: the message has none */
	t = parse("device eth0\n", &e);
	assert_int_equal(cf_check_keywords(t->root, NULL, table, &e), 0);
	assert_int_equal(cf_check_node(t->root, NULL, &table[1], &e), 1);
	expect_errors(&e, "t.conf:1:1: device: expected 2 arguments, got 1\n");
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_section_label(void **state)
{
	struct cf_errors e;
	struct cf_tree *t =
		parse("nat { }\ndhcp lan { }\ndhcp 10.30.0.0/24\ninterface \"a b\"\ninterface \"\"\n", &e);
	const struct cf_node *n = t->root;
	char buf[CF_LABEL_MAX];

	assert_string_equal(cf_section_label(n, buf, sizeof(buf)), "nat");
	assert_string_equal(cf_section_label(n->next, buf, sizeof(buf)), "dhcp lan");
	assert_string_equal(cf_section_label(n->next->next, buf, sizeof(buf)), "dhcp 10.30.0.0/24");
	assert_string_equal(cf_section_label(n->next->next->next, buf, sizeof(buf)), "interface \"a b\"");
	assert_string_equal(cf_section_label(n->next->next->next->next, buf, sizeof(buf)), "interface \"\"");
	assert_string_equal(cf_section_label(n->next, buf, 5), "dhcp");
	cf_tree_free(t);
	cf_errors_free(&e);
}

static void test_suggest(void **state)
{
	static const char *const words[] = {"device", "masquerade", "listen", "log-level", "dns", "nat"};
	static const char *const ties[] = {"abc", "abd"};
	size_t n = sizeof(words) / sizeof(words[0]);
	char longword[100];

	assert_string_equal(cf_suggest("devce", words, n), "device");
	assert_string_equal(cf_suggest("devcie", words, n), "device"); /* transposition: one edit */
	assert_string_equal(cf_suggest("Device", words, n), "device");
	assert_string_equal(cf_suggest("masquarade", words, n), "masquerade");
	assert_string_equal(cf_suggest("loglevel", words, n), "log-level");
	assert_string_equal(cf_suggest("lsiten", words, n), "listen");
	assert_string_equal(cf_suggest("dsn", words, n), "dns");
	assert_null(cf_suggest("frobnicate", words, n));
	assert_null(cf_suggest("xyz", words, n)); /* 3 edits from all */
	assert_null(cf_suggest("x", words, n));   /* not closer than its own length */
	assert_string_equal(cf_suggest("ns", words, n), "dns");
	assert_string_equal(cf_suggest("nas", words, n), "nat");
	assert_string_equal(cf_suggest("ab", ties, 2), "abc"); /* ties: the first candidate */
	assert_null(cf_suggest("anything", words, 0));
	memset(longword, 'a', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	assert_null(cf_suggest(longword, words, n));
}

static char *canon(const char *text, const char *const *keywords)
{
	struct cf_errors e;
	struct cf_tree *t = parse(text, &e);
	char *c;

	assert_int_equal(e.nerrors, 0);
	c = cf_canonical_text(t->root, keywords);
	assert_non_null(c);
	cf_tree_free(t);
	cf_errors_free(&e);
	return c;
}

static void expect_canon_equal(const char *a, const char *b, const char *const *kw, bool equal)
{
	char *ca = canon(a, kw), *cb = canon(b, kw);

	if ((strcmp(ca, cb) == 0) != equal)
		print_error("canonical texts:\n%s----\n%s----\n", ca, cb);
	assert_int_equal(strcmp(ca, cb) == 0, equal);
	free(ca);
	free(cb);
}

static void test_canonical_text(void **state)
{
	static const char *const only_dns[] = {"dns", NULL};
	static const char *const none[] = {NULL};
	const char *base = "dns {\n\tport 53\n\tlisten lan\n}\nnat { masquerade wan }\n";
	char *c = canon(base, NULL);

	assert_string_equal(c, "dns { port \"53\"; listen \"lan\"; }\nnat { masquerade \"wan\"; }\n");
	free(c);
	c = canon("a \"x\\\"y\" \"\" {}\n", NULL);
	assert_string_equal(c, "a \"x\\\"y\" \"\" { }\n");
	free(c);
	c = canon(base, none);
	assert_string_equal(c, "");
	free(c);

	/* layout, comments, quoting and separators do not matter */
	expect_canon_equal(base,
			   "# c\ndns { port \"53\"; listen lan # where\n}\n\n\nnat {masquerade \"wan\";}",
			   NULL, true);
	/* values, arguments, order and blocks do */
	expect_canon_equal(base, "dns {\n\tport 54\n\tlisten lan\n}\nnat { masquerade wan }\n", NULL, false);
	expect_canon_equal(base, "dns {\n\tport 53\n\tlisten lan wan\n}\nnat { masquerade wan }\n", NULL,
			   false);
	expect_canon_equal(base, "dns {\n\tlisten lan\n\tport 53\n}\nnat { masquerade wan }\n", NULL, false);
	expect_canon_equal("a { }\n", "a\n", NULL, false);
	expect_canon_equal("a \"x y\"\n", "a x y\n", NULL, false);
	expect_canon_equal("a b { c }\n", "a { b c }\n", NULL, false);
	/* a module sees only its own sections change */
	expect_canon_equal(base, "dns {\n\tport 53\n\tlisten lan\n}\nnat { masquerade ppp0 }\n", only_dns,
			   true);
	expect_canon_equal(base, "dns {\n\tport 5353\n\tlisten lan\n}\nnat { masquerade wan }\n", only_dns,
			   false);
	expect_canon_equal(base, "nat { masquerade wan }\n", only_dns, false);

	c = cf_canonical_text(NULL, NULL);
	assert_string_equal(c, "");
	free(c);
}

static void test_find(void **state)
{
	struct cf_errors e;
	struct cf_tree *t = parse("a 1\nb 2\na 3\n", &e);

	assert_string_equal(cf_find(t->root, "a")->args[0].text, "1");
	assert_string_equal(cf_find(t->root, "b")->args[0].text, "2");
	assert_null(cf_find(t->root, "c"));
	assert_null(cf_find(NULL, "a"));
	cf_tree_free(t);
	cf_errors_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_pos_ref),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_terminators_and_nesting),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_crlf_and_bom),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_hostile_braces),
		cmocka_unit_test(test_args_limit),
		cmocka_unit_test(test_not_text),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_include_relative),
		cmocka_unit_test(test_include_absolute_from_string),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_bool_uint),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_mac_hex),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_check_keywords),
		cmocka_unit_test(test_section_label),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_canonical_text),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
