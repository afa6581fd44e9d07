/* test_control.c — the control socket: line framing, splitting and UTF-8
 * checks (pure), then the real thing on a uv loop with plain-socket
 * clients, the loop driven with UV_RUN_NOWAIT until answers arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control.h"
#include "gw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_SPINS 2000000 /* loop turns before a test gives up waiting */

/* ---- line framing ---- */

static char got[16384];

/* Feed DATA in one go (feed stops at each line end), recording every
 * line as [text] (or [#len] when long) and every overflow as <long>. */
static void frame(struct gw_linebuf *lb, const char *data, size_t len)
{
	size_t off = 0, n;
	char *line;
	int r;

	for (;;) {
		while ((r = gw_linebuf_next(lb, &line, &n)) != 0) {
			size_t used = strlen(got);

			if (r == 2) {
				snprintf(got + used, sizeof(got) - used, "<long>");
				continue;
			}
			assert_int_equal(r, 1);
			assert_int_equal(line[n], '\0');
			assert_int_equal(strlen(line), n);
			if (n > 32)
				snprintf(got + used, sizeof(got) - used, "[#%zu]", n);
			else
				snprintf(got + used, sizeof(got) - used, "[%s]", line);
		}
		if (off == len)
			break;
		n = gw_linebuf_feed(lb, data + off, len - off);
		assert_true(n > 0);
		off += n;
	}
}

static void frame_str(struct gw_linebuf *lb, const char *s)
{
	frame(lb, s, strlen(s));
}

static void test_linebuf_split_across_feeds(void **state)
{
	struct gw_linebuf lb;

	gw_linebuf_init(&lb);
	got[0] = '\0';
	frame_str(&lb, "sta");
	assert_string_equal(got, "");
	frame_str(&lb, "tus\nlea");
	assert_string_equal(got, "[status]");
	frame_str(&lb, "s");
	frame_str(&lb, "es\n");
	assert_string_equal(got, "[status][leases]");
}

static void test_linebuf_several_lines_one_feed(void **state)
{
	struct gw_linebuf lb;
	char *line;
	size_t n;

	gw_linebuf_init(&lb);
	/* feed stops after the first complete line and takes nothing more until it is taken */
	assert_int_equal(gw_linebuf_feed(&lb, "a\nbb\n", 5), 2);
	assert_int_equal(gw_linebuf_feed(&lb, "bb\n", 3), 0);
	assert_int_equal(gw_linebuf_next(&lb, &line, &n), 1);
	assert_string_equal(line, "a");
	assert_int_equal(gw_linebuf_next(&lb, &line, &n), 0);
	assert_int_equal(gw_linebuf_feed(&lb, "bb\n", 3), 3);
	assert_int_equal(gw_linebuf_next(&lb, &line, &n), 1);
	assert_string_equal(line, "bb");

	got[0] = '\0';
	frame_str(&lb, "a\nb\n\nc d\n");
	assert_string_equal(got, "[a][b][][c d]");
}

static void test_linebuf_crlf(void **state)
{
	struct gw_linebuf lb;
	char *line;
	size_t n;

	gw_linebuf_init(&lb);
	got[0] = '\0';
	frame_str(&lb, "a\r\nb\r\n");
	frame_str(&lb, "c\r");
	frame_str(&lb, "\n");
	assert_string_equal(got, "[a][b][c]");
	/* a '\r' inside a line is the line's (split rejects it later) */
	frame_str(&lb, "x\ry\n");
	assert_int_equal(gw_linebuf_next(&lb, &line, &n), 0);
	assert_string_equal(got, "[a][b][c][x\ry]");
	frame_str(&lb, "\r\n");
	assert_string_equal(got, "[a][b][c][x\ry][]");
}

static void test_linebuf_too_long(void **state)
{
	struct gw_linebuf lb;
	char *big = malloc(10000);
	char *line;
	size_t n;

	memset(big, 'x', 10000);
	gw_linebuf_init(&lb);
	got[0] = '\0';
	frame(&lb, big, 5000);
	/* reported at its end, not before: answers stay in line order */
	assert_int_equal(gw_linebuf_next(&lb, &line, &n), 0);
	assert_string_equal(got, "");
	frame_str(&lb, "\nok\n");
	assert_string_equal(got, "<long>[ok]");

	/* in pieces, with more lines after it in the same feed */
	got[0] = '\0';
	for (int i = 0; i < 9; i++)
		frame(&lb, big, 1000);
	frame_str(&lb, "xx\nshort\n");
	assert_string_equal(got, "<long>[short]");
	free(big);
}

static void frame_n(struct gw_linebuf *lb, size_t n, const char *end)
{
	char *s = malloc(n + strlen(end));

	memset(s, 'x', n);
	memcpy(s + n, end, strlen(end));
	frame(lb, s, n + strlen(end));
	free(s);
}

static void test_linebuf_boundary(void **state)
{
	struct gw_linebuf lb;

	gw_linebuf_init(&lb);
	got[0] = '\0';
	frame_n(&lb, GW_CONTROL_MAX_LINE, "\n");
	frame_n(&lb, GW_CONTROL_MAX_LINE + 1, "\n");
	frame_n(&lb, GW_CONTROL_MAX_LINE, "\r\n");
	frame_n(&lb, GW_CONTROL_MAX_LINE, "\r\r\n");
	frame_n(&lb, GW_CONTROL_MAX_LINE - 1, "\r\n");
	frame_n(&lb, GW_CONTROL_MAX_LINE + 1, "\r\n");
	frame_str(&lb, "end\n");
	assert_string_equal(got, "[#4096]<long>[#4096]<long>[#4095]<long>[end]");
}

/* ---- splitting and UTF-8 ---- */

static int split(char *buf, const char *s, char **argv, int max, const char **why)
{
	strcpy(buf, s);
	return gw_control_split(buf, strlen(buf), argv, max, why);
}

static void test_split_words(void **state)
{
	char buf[256], *argv[8];
	const char *why = NULL;

	assert_int_equal(split(buf, "  leases  ", argv, 8, &why), 1);
	assert_string_equal(argv[0], "leases");
	assert_null(argv[1]);

	assert_int_equal(split(buf, "dns\tflush \t  example.com", argv, 8, &why), 3);
	assert_string_equal(argv[0], "dns");
	assert_string_equal(argv[1], "flush");
	assert_string_equal(argv[2], "example.com");
	assert_null(argv[3]);

	assert_int_equal(split(buf, "dns cache bücher.example", argv, 8, &why), 3);
	assert_string_equal(argv[2], "bücher.example");

	assert_int_equal(split(buf, "", argv, 8, &why), 0);
	assert_int_equal(split(buf, " \t  ", argv, 8, &why), 0);
	assert_null(why);
}

static void test_split_too_many(void **state)
{
	char buf[256], *argv[5];
	const char *why = NULL;

	argv[4] = (char *)"sentinel";
	assert_int_equal(split(buf, "a b c d", argv, 4, &why), 4);
	assert_string_equal(argv[3], "d");
	assert_string_equal(argv[4], "sentinel"); /* a full argv is not written past MAX */
	assert_null(why);
	assert_int_equal(split(buf, "a b c d e", argv, 4, &why), -1);
	assert_string_equal(why, "too many words");
	assert_int_equal(split(buf, "a b c d ", argv, 4, &why), 4);
}

static void test_split_rejects(void **state)
{
	char buf[256], *argv[8];
	const char *why = NULL;

	assert_int_equal(split(buf, "dns \xff", argv, 8, &why), -1);
	assert_string_equal(why, "line is not valid UTF-8");
	why = NULL;
	assert_int_equal(split(buf, "echo \x1b[2J", argv, 8, &why), -1);
	assert_string_equal(why, "line contains control characters");
	why = NULL;
	assert_int_equal(split(buf, "a\rb", argv, 8, &why), -1);
	assert_string_equal(why, "line contains control characters");
	/* a NUL inside the line (the length says so) */
	memcpy(buf, "ab\0cd", 6);
	assert_int_equal(gw_control_split(buf, 5, argv, 8, &why), -1);
	assert_string_equal(why, "line contains control characters");
}

static bool valid(const char *s)
{
	return gw_control_utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
	assert_true(valid(""));
	assert_true(valid("status"));
	assert_true(valid("tab\there"));
	assert_true(valid("\xc2\xa0"));         /* U+00A0, just past C1 */
	assert_true(valid("\xc3\xa9"));         /* é */
	assert_true(valid("\xe2\x82\xac"));     /* € */
	assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF, below the surrogates */
	assert_true(valid("\xee\x80\x80"));     /* U+E000, above them */
	assert_true(valid("\xf0\x9f\x98\x80")); /* U+1F600 */
	assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
	assert_true(valid("\xef\xbf\xbd"));     /* U+FFFD */
}

static void test_utf8_invalid(void **state)
{
	/* overlongs */
	assert_false(valid("\xc0\xaf"));
	assert_false(valid("\xc1\xbf"));
	assert_false(valid("\xe0\x80\xaf"));
	assert_false(valid("\xe0\x9f\xbf"));
	assert_false(valid("\xf0\x80\x80\xaf"));
	assert_false(valid("\xf0\x8f\xbf\xbf"));
	/* surrogates */
	assert_false(valid("\xed\xa0\x80"));
	assert_false(valid("\xed\xbf\xbf"));
	/* past U+10FFFF */
	assert_false(valid("\xf4\x90\x80\x80"));
	assert_false(valid("\xf5\x80\x80\x80"));
	assert_false(valid("\xfe"));
	assert_false(valid("\xff"));
	/* broken sequences */
	assert_false(valid("\x80"));
	assert_false(valid("a\xbf"));
	assert_false(valid("\xe2\x82"));
	assert_false(valid("\xc3"));
	assert_false(valid("\xc3" "a"));
	assert_false(valid("\xf0\x9f\x98"));
	/* controls: C0 but tab, DEL, C1 */
	assert_false(gw_control_utf8_valid("a\0b", 3));
	assert_false(valid("\x01"));
	assert_false(valid("\x1f"));
	assert_false(valid("\n"));
	assert_false(valid("\r"));
	assert_false(valid("\x7f"));
	assert_false(valid("\xc2\x85"));
	assert_false(valid("\xc2\x9f"));
	/* only LEN bytes count */
	assert_true(gw_control_utf8_valid("ab\xff", 2));
}

static void test_uid_allowed(void **state)
{
	assert_true(gw_control_uid_allowed(0, 998));
	assert_true(gw_control_uid_allowed(998, 998));
	assert_false(gw_control_uid_allowed(1000, 998));
	assert_false(gw_control_uid_allowed((uid_t)-1, 998));
	assert_true(gw_control_uid_allowed(0, 0));
	assert_false(gw_control_uid_allowed(1000, 0));
}

/* ---- on a real loop ---- */

struct fixture {
	uv_loop_t loop;
	struct gw gw;
	struct gw_control *ctl;
	char dir[64];
	char path[128];
	struct gw_request *held;
	char events[512];
};

static struct fixture *fx;

static char d_echo[] = "echo", d_nat[] = "nat", d_nat_table[] = "nat table", d_other[] = "other";

static void event(const char *what)
{
	size_t used = strlen(fx->events);

	snprintf(fx->events + used, sizeof(fx->events) - used, "%s;", what);
}

static void cmd_echo(struct gw_request *req, int argc, char **argv, void *data)
{
	json_t *o = json_object(), *a = json_array();

	event(data);
	assert_null(argv[argc]);
	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	json_object_set_new(o, "cmd", json_string(data));
	json_object_set_new(o, "args", a);
	gw_request_ok(req, o);
}

struct later {
	uv_timer_t timer;
	struct gw_request *req;
};

static void later_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)h, struct later, timer));
}

static void later_fire(uv_timer_t *t)
{
	struct later *l = container_of(t, struct later, timer);
	json_t *o = json_object();

	event("later-answered");
	json_object_set_new(o, "later", json_true());
	gw_request_ok(l->req, o);
	uv_close((uv_handle_t *)t, later_closed);
}

static void cmd_later(struct gw_request *req, int argc, char **argv, void *data)
{
	struct later *l = calloc(1, sizeof(*l));

	event("later");
	l->req = req;
	uv_timer_init(gw_request_gw(req)->loop, &l->timer);
	uv_timer_start(&l->timer, later_fire, 0, 0);
}

static void cmd_hold(struct gw_request *req, int argc, char **argv, void *data)
{
	fx->held = req;
}

static void cmd_big(struct gw_request *req, int argc, char **argv, void *data)
{
	size_t n = 256 * 1024;
	char *s = malloc(n + 1);
	json_t *o = json_object();

	memset(s, 'b', n);
	s[n] = '\0';
	json_object_set_new(o, "data", json_string(s));
	free(s);
	gw_request_ok(req, o);
}

static void cmd_plain(struct gw_request *req, int argc, char **argv, void *data)
{
	json_t *o = json_object();

	json_object_set_new(o, "same_gw", json_boolean(gw_request_gw(req) == &fx->gw));
	gw_request_ok(req, o);
}

static void cmd_raw(struct gw_request *req, int argc, char **argv, void *data)
{
	json_t *o = json_object();

	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string("raw"));
	json_object_set_new(o, "errors", json_pack("[ss]", "a:1:1: x", "a:2:1: y"));
	gw_request_reply(req, o);
}

static const struct gw_command commands[] = {
	{.name = "echo", .min_args = 0, .max_args = -1, .usage = "echo [WORD...]", .fn = cmd_echo},
	{.name = "nat", .min_args = 0, .max_args = -1, .usage = "nat", .fn = cmd_echo},
	{.name = "nat table", .min_args = 0, .max_args = 1, .usage = "nat table", .fn = cmd_echo},
	{.name = "status", .max_args = 0, .usage = "status", .fn = cmd_plain},
	{.name = "need", .min_args = 1, .max_args = 2, .usage = "need ARG [ARG]", .fn = cmd_plain},
	{.name = "later", .max_args = 0, .usage = "later", .fn = cmd_later},
	{.name = "hold", .max_args = 0, .usage = "hold", .fn = cmd_hold},
	{.name = "big", .max_args = 0, .usage = "big", .fn = cmd_big},
	{.name = "admin", .admin = true, .max_args = 0, .usage = "admin", .fn = cmd_plain},
	{.name = "raw", .max_args = 0, .usage = "raw", .fn = cmd_raw},
	{.name = "dns stats", .max_args = 0, .usage = "dns stats", .fn = cmd_plain},
	{.name = "dns flush", .max_args = 1, .usage = "dns flush [NAME]", .fn = cmd_plain},
};

static void *command_data(const struct gw_command *c)
{
	if (c->fn != cmd_echo)
		return d_other;
	if (strcmp(c->name, "echo") == 0)
		return d_echo;
	return strcmp(c->name, "nat") == 0 ? d_nat : d_nat_table;
}

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	fx->gw.loop = &fx->loop;
	strcpy(fx->dir, "/tmp/test_control.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/control.sock", fx->dir);
	fx->ctl = gw_control_new(&fx->gw);
	assert_non_null(fx->ctl);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		assert_int_equal(gw_control_register(fx->ctl, &commands[i], command_data(&commands[i])), 0);
	assert_int_equal(gw_control_listen(fx->ctl, fx->path, NULL, (uid_t)-1), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct stat st;

	if (fx->ctl)
		gw_control_close(fx->ctl);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0); /* every handle closed */
	assert_int_equal(lstat(fx->path, &st), -1);    /* the socket file went with it */
	rmdir(fx->dir);
	free(fx);
	fx = NULL;
	return 0;
}

static void spin(void)
{
	uv_run(&fx->loop, UV_RUN_NOWAIT);
}

/* Turn the loop until COND holds. */
#define SPIN_UNTIL(cond)                                                                                     \
	do {                                                                                                 \
		long spins_ = 0;                                                                             \
		while (!(cond)) {                                                                            \
			assert_true(++spins_ < MAX_SPINS);                                                   \
			spin();                                                                              \
		}                                                                                            \
	} while (0)

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
};

static void conn_open(struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	strcpy(sa.sun_path, fx->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	/* a Unix connect completes against the backlog: no loop turn needed */
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static void conn_send(struct conn *c, const char *s, size_t len)
{
	long spins = 0;

	while (len > 0) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			assert_true(++spins < MAX_SPINS);
			spin();
			continue;
		}
		s += n;
		len -= (size_t)n;
	}
}

static void conn_puts(struct conn *c, const char *s)
{
	conn_send(c, s, strlen(s));
}

/* Read what is there; false on EOF. */
static bool conn_fill(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? 2 * c->cap : 65536;
			c->buf = realloc(c->buf, c->cap);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n == 0)
			return false;
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == ECONNRESET);
			return errno == EAGAIN;
		}
		c->len += (size_t)n;
	}
}

/* The next answer line (without "\n"; the caller frees it), or NULL when
 * the daemon closed the connection first. */
static char *conn_line(struct conn *c)
{
	long spins = 0;

	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, n);

			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (c->eof) {
			assert_int_equal(c->len, 0); /* no half answer before the close */
			return NULL;
		}
		assert_true(++spins < MAX_SPINS);
		spin();
		c->eof = !conn_fill(c);
	}
}

static void expect_line(struct conn *c, const char *want)
{
	char *line = conn_line(c);

	assert_non_null(line);
	assert_string_equal(line, want);
	free(line);
}

static void expect_eof(struct conn *c)
{
	char *line = conn_line(c);

	assert_null(line);
}

static void test_answer_json(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "echo a b\n");
	/* compact, "ok" first, one line */
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"a\",\"b\"]}");
	conn_puts(&c, "status\n");
	expect_line(&c, "{\"ok\":true,\"same_gw\":true}");
	conn_puts(&c, "raw\n");
	expect_line(&c, "{\"ok\":false,\"error\":\"raw\",\"errors\":[\"a:1:1: x\",\"a:2:1: y\"]}");
	conn_puts(&c, "admin\n"); /* we are the daemon's own uid */
	expect_line(&c, "{\"ok\":true,\"same_gw\":true}");
	conn_close(&c);
}

static void test_many_in_order(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "echo 1\n\n   \necho\t2\r\nnat\nnat table\nnat table x\nnat tablex\necho 3");
	conn_puts(&c, "\n");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"1\"]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"2\"]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"nat\",\"args\":[]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"nat table\",\"args\":[]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"nat table\",\"args\":[\"x\"]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"nat\",\"args\":[\"tablex\"]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"3\"]}");
	assert_string_equal(fx->events, "echo;echo;nat;nat table;nat table;nat;echo;");
	conn_close(&c);
}

static void test_unknown_command(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "stauts\nfrobnicate now\nStatus\ndns\ndns flsh x\n");
	expect_line(&c, "{\"ok\":false,\"error\":\"unknown command \\\"stauts\\\" "
			"(did you mean \\\"status\\\"?)\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"unknown command \\\"frobnicate\\\"\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"unknown command \\\"Status\\\" "
			"(did you mean \\\"status\\\"?)\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"unknown command \\\"dns\\\" (one of \\\"dns stats\\\", "
			"\\\"dns flush\\\")\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"unknown command \\\"dns flsh\\\" "
			"(did you mean \\\"dns flush\\\"?)\"}");
	conn_puts(&c, "echo still here\n");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"still\",\"here\"]}");
	conn_close(&c);
}

static void test_bad_usage(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "need\nneed a b c\nstatus now\nnat table a b\nneed a\n");
	expect_line(&c, "{\"ok\":false,\"error\":\"usage: need ARG [ARG]\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"usage: need ARG [ARG]\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"usage: status\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"usage: nat table\"}");
	expect_line(&c, "{\"ok\":true,\"same_gw\":true}");
	conn_close(&c);
}

static void test_long_line(void **state)
{
	char *line = malloc(8192);
	struct conn c;

	conn_open(&c);
	memset(line, 'x', 5000);
	line[5000] = '\n';
	conn_send(&c, line, 5001);
	conn_puts(&c, "echo ok\n");
	expect_line(&c, "{\"ok\":false,\"error\":\"line too long (max 4096 bytes)\"}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"ok\"]}");

	/* exactly 4096 bytes is a line */
	memcpy(line, "echo ", 5);
	memset(line + 5, 'y', GW_CONTROL_MAX_LINE - 5);
	line[GW_CONTROL_MAX_LINE] = '\n';
	conn_send(&c, line, GW_CONTROL_MAX_LINE + 1);
	free(conn_line(&c));
	assert_string_equal(fx->events, "echo;echo;");
	conn_close(&c);
	free(line);
}

static void test_bad_bytes(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "echo \xff\xfe\necho \x1b[2J\necho \xc0\xaf\necho fine\n");
	expect_line(&c, "{\"ok\":false,\"error\":\"line is not valid UTF-8\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"line contains control characters\"}");
	expect_line(&c, "{\"ok\":false,\"error\":\"line is not valid UTF-8\"}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"fine\"]}");
	conn_close(&c);
}

static void test_deferred_answer(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "later\necho after\nlater\n");
	expect_line(&c, "{\"ok\":true,\"later\":true}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"after\"]}");
	expect_line(&c, "{\"ok\":true,\"later\":true}");
	/* the line behind a pending request is not even parsed until it is answered */
	assert_string_equal(fx->events, "later;later-answered;echo;later;later-answered;");
	conn_close(&c);
}

/* Bytes we sent that the daemon has not read yet (still in the socket). */
static int unread_by_daemon(const struct conn *c)
{
	int n = -1;

	assert_int_equal(ioctl(c->fd, SIOCOUTQ, &n), 0);
	return n;
}

static void test_backpressure(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "hold\n");
	SPIN_UNTIL(fx->held != NULL);
	/* while "hold" is pending the daemon does not even read the next line */
	conn_puts(&c, "echo next\n");
	for (int i = 0; i < 1000; i++)
		spin();
	assert_true(unread_by_daemon(&c) > 0);
	gw_request_ok(fx->held, NULL);
	fx->held = NULL;
	expect_line(&c, "{\"ok\":true}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"next\"]}");
	assert_int_equal(unread_by_daemon(&c), 0);
	conn_close(&c);
}

static void test_eof_answers_then_closes(void **state)
{
	struct conn c;

	conn_open(&c);
	/* half-close like `echo status | socat - UNIX-CONNECT:...`; the last line lacks its newline */
	conn_puts(&c, "later\necho a\necho b");
	assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
	expect_line(&c, "{\"ok\":true,\"later\":true}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"a\"]}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"b\"]}");
	expect_eof(&c);
	SPIN_UNTIL(gw_control_nclients(fx->ctl) == 0);
	conn_close(&c);
}

static void test_client_gone_with_pending(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "hold\n");
	SPIN_UNTIL(fx->held != NULL);
	assert_int_equal(gw_control_nclients(fx->ctl), 1);
	conn_close(&c);
	for (int i = 0; i < 100; i++)
		spin();
	/* not reading while a request is pending, the daemon learns of the
	 * hang-up when the answer cannot be written (EPIPE, not SIGPIPE) */
	gw_request_ok(fx->held, json_object());
	fx->held = NULL;
	SPIN_UNTIL(gw_control_nclients(fx->ctl) == 0);

	conn_open(&c);
	conn_puts(&c, "echo again\n");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"again\"]}");
	conn_close(&c);
}

static void test_pending_across_close(void **state)
{
	struct conn c;

	conn_open(&c);
	conn_puts(&c, "hold\n");
	SPIN_UNTIL(fx->held != NULL);
	gw_control_close(fx->ctl);
	fx->ctl = NULL;
	uv_run(&fx->loop, UV_RUN_DEFAULT); /* everything closes, the control object is freed */
	gw_request_fail(fx->held, "too late %d", 1);
	fx->held = NULL;
	expect_eof(&c);
	conn_close(&c);
}

static void test_flood_drops_reader(void **state)
{
	struct conn c, other;
	size_t total = 0;

	conn_open(&c);
	/* 16 answers of 256 KiB: far past GW_CONTROL_MAX_OUTPUT, and we never read */
	for (int i = 0; i < 16; i++)
		conn_puts(&c, "big\n");
	SPIN_UNTIL(gw_control_nclients(fx->ctl) == 0);

	/* the loop is still serving others */
	conn_open(&other);
	conn_puts(&other, "echo alive\n");
	expect_line(&other, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"alive\"]}");
	conn_close(&other);

	/* what the kernel had taken is there, then the end */
	while (conn_fill(&c)) {
		total += c.len;
		c.len = 0;
		spin();
	}
	total += c.len;
	assert_true(total < 16 * 256 * 1024);
	conn_close(&c);
}

static void test_max_clients(void **state)
{
	struct conn c[GW_CONTROL_MAX_CLIENTS + 1];

	for (int i = 0; i < GW_CONTROL_MAX_CLIENTS; i++) {
		conn_open(&c[i]);
		SPIN_UNTIL(gw_control_nclients(fx->ctl) == (size_t)i + 1);
	}
	conn_open(&c[GW_CONTROL_MAX_CLIENTS]);
	expect_line(&c[GW_CONTROL_MAX_CLIENTS], "{\"ok\":false,\"error\":\"too many connections\"}");
	expect_eof(&c[GW_CONTROL_MAX_CLIENTS]);
	conn_close(&c[GW_CONTROL_MAX_CLIENTS]);
	assert_int_equal(gw_control_nclients(fx->ctl), GW_CONTROL_MAX_CLIENTS);

	/* the ones in still work, and a slot freed is a slot to take */
	conn_puts(&c[0], "echo first\n");
	expect_line(&c[0], "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"first\"]}");
	conn_close(&c[1]);
	SPIN_UNTIL(gw_control_nclients(fx->ctl) == GW_CONTROL_MAX_CLIENTS - 1);
	conn_open(&c[1]);
	conn_puts(&c[1], "echo new\n");
	expect_line(&c[1], "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"new\"]}");
	for (int i = 0; i < GW_CONTROL_MAX_CLIENTS; i++)
		conn_close(&c[i]);
}

static void test_register_unregister(void **state)
{
	static const struct gw_command bad[] = {
		{.name = "", .fn = cmd_plain},       {.name = " x", .fn = cmd_plain},
		{.name = "x ", .fn = cmd_plain},     {.name = "a  b", .fn = cmd_plain},
		{.name = "a\tb", .fn = cmd_plain},   {.name = NULL, .fn = cmd_plain},
		{.name = "nofn", .fn = NULL},
	};
	struct conn c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_control_register(fx->ctl, &bad[i], NULL), -EINVAL);
	assert_int_equal(gw_control_register(fx->ctl, &commands[0], NULL), -EEXIST);

	gw_control_unregister(fx->ctl, d_nat_table);
	conn_open(&c);
	conn_puts(&c, "nat table\n");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"nat\",\"args\":[\"table\"]}");
	gw_control_unregister(fx->ctl, d_other); /* every command registered with it */
	conn_puts(&c, "status\necho x\n");
	expect_line(&c, "{\"ok\":false,\"error\":\"unknown command \\\"status\\\"\"}");
	expect_line(&c, "{\"ok\":true,\"cmd\":\"echo\",\"args\":[\"x\"]}");
	conn_close(&c);
}

/* ---- listening ---- */

static void test_listen(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct gw_control *c2;
	char path[256], gid[32];
	struct stat st;
	int fd;

	/* mode 0660 */
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);

	c2 = gw_control_new(&fx->gw);
	/* a live socket is another daemon's: left alone */
	assert_int_equal(gw_control_listen(c2, fx->path, NULL, (uid_t)-1), -EADDRINUSE);
	/* not a socket: never deleted */
	snprintf(path, sizeof(path), "%s/file", fx->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(gw_control_listen(c2, path, NULL, (uid_t)-1), -EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	unlink(path);
	/* unknown group */
	snprintf(path, sizeof(path), "%s/g.sock", fx->dir);
	assert_int_equal(gw_control_listen(c2, path, "no-such-group-homegw", (uid_t)-1), -EINVAL);
	assert_int_equal(lstat(path, &st), -1);
	/* too long for sun_path */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(gw_control_listen(c2, path, NULL, (uid_t)-1), -ENAMETOOLONG);

	/* a stale socket (bound, nobody listening) is replaced; group and owner by number */
	snprintf(path, sizeof(path), "%s/stale.sock", fx->dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(gid, sizeof(gid), "%u", (unsigned)getegid());
	assert_int_equal(gw_control_listen(c2, path, gid, geteuid()), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(gw_control_listen(c2, path, NULL, (uid_t)-1), -EALREADY);
	gw_control_close(c2);
	assert_int_equal(lstat(path, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linebuf_split_across_feeds),
		cmocka_unit_test(test_linebuf_several_lines_one_feed),
		cmocka_unit_test(test_linebuf_crlf),
		cmocka_unit_test(test_linebuf_too_long),
		cmocka_unit_test(test_linebuf_boundary),
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_split_too_many),
		cmocka_unit_test(test_split_rejects),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_uid_allowed),
		cmocka_unit_test_setup_teardown(test_answer_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_answers_then_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_with_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_across_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_drops_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
