/* control.c — the control socket (CONTROL.md). See control.h.
 *
 * Two halves. The pure half (line framing, splitting, UTF-8 checks) knows
 * no libuv so the unit tests and the fuzzer drive it directly. The glue
 * half is a listener, one gw_client per connection and gw_request objects
 * that may outlive their connection: a handler owns its request until it
 * answers, even if the peer has long gone. */
#include "control.h"

#include "gw.h"
#include "log.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* ---- the pure part ---- */

enum utf8_verdict { UTF8_OK, UTF8_BAD, UTF8_CONTROL };

/* Control characters would let a line forge log lines or terminal
 * escapes when a command word is echoed back; tab is a word separator. */
static bool is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
}

static enum utf8_verdict utf8_check(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	enum utf8_verdict v = UTF8_OK;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = gw_utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return UTF8_BAD;
		if (is_control(cp))
			v = UTF8_CONTROL; /* keep going: bad encoding is the stronger verdict */
		i += n;
	}
	return v;
}

bool gw_control_utf8_valid(const char *s, size_t len)
{
	return utf8_check(s, len) == UTF8_OK;
}

int gw_control_split(char *line, size_t len, char **argv, int max, const char **why)
{
	size_t i = 0;
	int argc = 0;

	switch (utf8_check(line, len)) {
	case UTF8_BAD:
		*why = "line is not valid UTF-8";
		return -1;
	case UTF8_CONTROL:
		*why = "line contains control characters";
		return -1;
	case UTF8_OK:
		break;
	}
	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (argc >= max) {
			*why = "too many words";
			return -1;
		}
		argv[argc++] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (i < len)
			line[i++] = '\0'; /* the last word ends at LINE[LEN], already '\0' */
	}
	if (argc < max)
		argv[argc] = NULL;
	return argc;
}

bool gw_control_uid_allowed(uid_t peer, uid_t self)
{
	if (peer == (uid_t)-1)
		return false;
	return peer == 0 || peer == self;
}

void gw_linebuf_init(struct gw_linebuf *lb)
{
	memset(lb, 0, sizeof(*lb));
}

/* A line may hold GW_CONTROL_MAX_LINE bytes plus the '\r' of a "\r\n" end:
 * the spare byte of buf takes that '\r' (and later the '\0'). */
static bool linebuf_room(const struct gw_linebuf *lb, char ch)
{
	return lb->len < GW_CONTROL_MAX_LINE || (lb->len == GW_CONTROL_MAX_LINE && ch == '\r');
}

size_t gw_linebuf_feed(struct gw_linebuf *lb, const char *data, size_t len)
{
	if (lb->ready || lb->overflowed)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];

		if (ch == '\n') {
			if (lb->discarding) {
				lb->discarding = false;
				lb->overflowed = true;
			} else {
				lb->ready = true;
			}
			return i + 1;
		}
		if (lb->discarding)
			continue;
		if (linebuf_room(lb, ch)) {
			lb->buf[lb->len++] = ch;
		} else {
			lb->discarding = true;
			lb->len = 0;
		}
	}
	return len;
}

int gw_linebuf_next(struct gw_linebuf *lb, char **line, size_t *len)
{
	size_t n = lb->len;

	if (lb->overflowed) {
		lb->overflowed = false;
		return 2;
	}
	if (!lb->ready)
		return 0;
	if (n > 0 && lb->buf[n - 1] == '\r')
		n--;
	lb->buf[n] = '\0';
	*line = lb->buf;
	*len = n;
	lb->ready = false;
	lb->len = 0; /* the bytes stay until the next feed overwrites them */
	return 1;
}

/* ---- objects ---- */

struct cmd_entry {
	const struct gw_command *cmd;
	void *data;
	int nwords;
};

struct gw_client;

struct gw_control {
	struct gw *gw;
	uv_pipe_t listener; /* initialised at new, so close always has a handle to close */
	bool closing;
	char *path; /* the socket file we bound; removed at close if still ours */
	dev_t dev;
	ino_t ino;

	struct cmd_entry *cmds;
	size_t ncmds, cmds_cap;

	struct gw_client *clients; /* every connection, closing ones too, until their close callback */
	size_t nclients;           /* open, accepted ones: the GW_CONTROL_MAX_CLIENTS budget */
	size_t nhandles;           /* the listener + every client; C is freed when it drops to 0 */
};

struct gw_client {
	uv_pipe_t pipe;
	uv_shutdown_t shutdown;
	struct gw_control *ctl;
	struct gw_client *prev, *next;
	struct gw_request *req; /* being answered: the next line waits */
	uid_t uid;              /* SO_PEERCRED; (uid_t)-1 when unknown */
	pid_t pid;
	bool counted;    /* holds a slot of nclients */
	bool reading;    /* uv_read_start in force */
	bool eof;        /* the peer will send nothing more */
	bool closing;    /* uv_close called */
	bool shutting;   /* uv_shutdown called: closes once the answers are out */
	bool in_process; /* client_process on the stack: answers must not re-enter it */
	size_t in_off, in_len; /* bytes of in[] read but not yet framed */
	char in[4096];
	struct gw_linebuf lb;
};

struct gw_request {
	struct gw_client *client; /* NULL once the connection is gone: the answer is dropped */
	struct gw *gw;
	char *argv[GW_CONTROL_MAX_ARGS + 1];
	char line[]; /* the words argv points at */
};

struct answer_write {
	uv_write_t req;
	uv_buf_t bufs[2];
	char *text;
};

static const char answer_fallback[] = "{\"ok\":false,\"error\":\"internal error: answer not encodable\"}";

static void client_process(struct gw_client *cl);

static void control_maybe_free(struct gw_control *c)
{
	if (!c->closing || c->nhandles > 0)
		return;
	free(c->cmds);
	free(c->path);
	free(c);
}

struct gw_control *gw_control_new(struct gw *gw)
{
	struct gw_control *c;

	if (!gw || !gw->loop)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->gw = gw;
	/* Any local user can connect, ask and hang up before the answer: the
	 * write must fail with EPIPE, not kill the daemon with SIGPIPE (libuv
	 * writes streams with plain write(2)). Every other writer of ours
	 * handles EPIPE too, so ignoring it process-wide is safe. */
	signal(SIGPIPE, SIG_IGN);
	if (uv_pipe_init(gw->loop, &c->listener, 0) < 0) {
		free(c);
		return NULL;
	}
	c->nhandles = 1;
	return c;
}

size_t gw_control_nclients(const struct gw_control *c)
{
	return c->nclients;
}

/* ---- commands ---- */

/* Words of a registered name: single spaces between non-empty words. */
static int name_words(const char *name)
{
	int n = 1;

	if (!name || !*name || name[0] == ' ')
		return -1;
	for (const char *p = name; *p; p++) {
		if (*p == '\t' || (*p == ' ' && (p[1] == ' ' || p[1] == '\0')))
			return -1;
		n += *p == ' ';
	}
	return n <= GW_CONTROL_MAX_ARGS ? n : -1;
}

int gw_control_register(struct gw_control *c, const struct gw_command *cmd, void *data)
{
	int nwords = cmd && cmd->fn ? name_words(cmd->name) : -1;

	if (nwords < 0)
		return -EINVAL;
	for (size_t i = 0; i < c->ncmds; i++)
		if (strcmp(c->cmds[i].cmd->name, cmd->name) == 0)
			return -EEXIST;
	if (c->ncmds == c->cmds_cap) {
		size_t cap = c->cmds_cap ? 2 * c->cmds_cap : 16;
		struct cmd_entry *v = realloc(c->cmds, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->cmds = v;
		c->cmds_cap = cap;
	}
	c->cmds[c->ncmds++] = (struct cmd_entry){.cmd = cmd, .data = data, .nwords = nwords};
	return 0;
}

void gw_control_unregister(struct gw_control *c, void *data)
{
	size_t j = 0;

	for (size_t i = 0; i < c->ncmds; i++)
		if (c->cmds[i].data != data)
			c->cmds[j++] = c->cmds[i];
	c->ncmds = j;
}

/* Do the first words of ARGV spell NAME (of NWORDS words)? */
static bool name_matches(const char *name, int nwords, char *const *argv, int argc)
{
	if (nwords > argc)
		return false;
	for (int i = 0; i < nwords; i++) {
		size_t n = strcspn(name, " ");

		if (strlen(argv[i]) != n || memcmp(argv[i], name, n) != 0)
			return false;
		name += n + (name[n] == ' ');
	}
	return true;
}

/* The longest name wins: "nat table" over "nat". */
static const struct cmd_entry *lookup(const struct gw_control *c, char *const *argv, int argc)
{
	const struct cmd_entry *best = NULL;

	for (size_t i = 0; i < c->ncmds; i++) {
		const struct cmd_entry *e = &c->cmds[i];

		if ((!best || e->nwords > best->nwords) && name_matches(e->cmd->name, e->nwords, argv, argc))
			best = e;
	}
	return best;
}

/* Plain Levenshtein distance, ASCII case folded; SIZE_MAX for long words
 * (a suggestion for a 4 KiB word helps nobody). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			bool differ = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t sub = diag + differ;
			size_t best = sub < up + 1 ? sub : up + 1;

			row[j] = best < row[j - 1] + 1 ? best : row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* What the user meant as the command name: as many words as the longest
 * name sharing its first word, so "dns flsh" is reported whole. */
static int unknown_words(const struct gw_control *c, char *const *argv, int argc)
{
	int n = 1;

	for (size_t i = 0; i < c->ncmds; i++) {
		const struct cmd_entry *e = &c->cmds[i];

		if (e->nwords > n && name_matches(e->cmd->name, 1, argv, argc))
			n = e->nwords < argc ? e->nwords : argc;
	}
	return n;
}

static const char *suggest(const struct gw_control *c, const char *text)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < c->ncmds; i++) {
		size_t d = edit_distance(text, c->cmds[i].cmd->name);

		if (d < best_d) {
			best_d = d;
			best = c->cmds[i].cmd->name;
		}
	}
	return best_d <= 2 && best_d < strlen(text) ? best : NULL;
}

/* "dns" alone when only "dns stats", "dns flush"... exist: name them. */
static void list_completions(const struct gw_control *c, const char *text, char *out, size_t size)
{
	size_t tl = strlen(text), used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->ncmds; i++) {
		const char *name = c->cmds[i].cmd->name;
		int n;

		if (strncmp(name, text, tl) != 0 || name[tl] != ' ')
			continue;
		n = snprintf(out + used, size - used, "%s\"%s\"", used ? ", " : "", name);
		if (n < 0 || (size_t)n >= size - used) {
			out[used] = '\0'; /* the list is a hint: cut it rather than half a name */
			return;
		}
		used += (size_t)n;
	}
}

static void fail_unknown(const struct gw_control *c, struct gw_request *req, int argc)
{
	char text[GW_CONTROL_MAX_LINE + 1], more[256];
	int n = unknown_words(c, req->argv, argc);
	size_t used = 0;
	const char *s;

	/* the words came from one line of <= GW_CONTROL_MAX_LINE bytes: they fit */
	for (int i = 0; i < n && used < sizeof(text); i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", i ? " " : "",
					 req->argv[i]);
	if ((s = suggest(c, text))) {
		gw_request_fail(req, "unknown command \"%s\" (did you mean \"%s\"?)", text, s);
		return;
	}
	list_completions(c, text, more, sizeof(more));
	if (more[0])
		gw_request_fail(req, "unknown command \"%s\" (one of %s)", text, more);
	else
		gw_request_fail(req, "unknown command \"%s\"", text);
}

static void dispatch(struct gw_control *c, struct gw_request *req, int argc, uid_t peer)
{
	const struct cmd_entry *e = lookup(c, req->argv, argc);
	const struct gw_command *cmd;
	int nargs, max;

	if (!e) {
		fail_unknown(c, req, argc);
		return;
	}
	cmd = e->cmd;
	nargs = argc - e->nwords;
	max = cmd->max_args < 0 ? GW_CONTROL_MAX_ARGS : cmd->max_args;
	/* the daemon's uid now, not at start: it drops privileges after listening */
	if (cmd->admin && !gw_control_uid_allowed(peer, geteuid())) {
		gw_info("control: \"%s\" refused to uid %d", cmd->name, (int)peer);
		gw_request_fail(req, "permission denied");
		return;
	}
	if (nargs < cmd->min_args || nargs > max) {
		gw_request_fail(req, "usage: %s", cmd->usage ? cmd->usage : cmd->name);
		return;
	}
	gw_debug("control: %s (uid %d)", cmd->name, (int)peer);
	cmd->fn(req, nargs, req->argv + e->nwords, e->data);
}

/* ---- answers ---- */

static void client_close(struct gw_client *cl);

static void on_written(uv_write_t *w, int status)
{
	struct answer_write *aw = container_of(w, struct answer_write, req);
	struct gw_client *cl = container_of(w->handle, struct gw_client, pipe);

	free(aw->text);
	free(aw);
	if (status < 0 && status != UV_ECANCELED) {
		gw_debug("control: write: %s", uv_strerror(status));
		client_close(cl);
	}
}

/* Queue TEXT (taken: freed once written) as one line. Never waits: a peer
 * that lets more than GW_CONTROL_MAX_OUTPUT of earlier answers pile up is
 * dropped instead (one big answer, `nat table` over 50,000 flows, is fine
 * on its own). */
static void client_send_text(struct gw_client *cl, char *text)
{
	uv_stream_t *s = (uv_stream_t *)&cl->pipe;
	struct answer_write *aw;
	size_t queued;

	if (cl->closing) {
		free(text);
		return;
	}
	aw = text ? malloc(sizeof(*aw)) : NULL;
	if (!aw) {
		free(text);
		client_close(cl); /* an answer lost would desynchronise the stream */
		return;
	}
	aw->text = text;
	aw->bufs[0] = uv_buf_init(text, (unsigned)strlen(text));
	aw->bufs[1] = uv_buf_init((char *)"\n", 1);
	if (uv_write(&aw->req, s, aw->bufs, 2, on_written) < 0) {
		free(text);
		free(aw);
		client_close(cl);
		return;
	}
	queued = uv_stream_get_write_queue_size(s);
	if (queued > GW_CONTROL_MAX_OUTPUT + aw->bufs[0].len + 1) {
		gw_warn("control: dropping a client (uid %d) that does not read its answers "
			"(%zu bytes queued)", (int)cl->uid, queued);
		client_close(cl);
	}
}

/* OBJ as one line (a fallback error when it cannot be encoded). */
static void client_send(struct gw_client *cl, const json_t *obj)
{
	char *text;

	if (cl->closing)
		return;
	text = json_is_object(obj) ? json_dumps(obj, JSON_COMPACT) : NULL;
	if (!text)
		text = strdup(answer_fallback);
	client_send_text(cl, text);
}

static void request_answered(struct gw_request *req)
{
	struct gw_client *cl = req->client;

	if (cl) {
		cl->req = NULL;
		/* a deferred answer: the lines behind it may go now */
		if (!cl->in_process)
			client_process(cl);
	}
	free(req);
}

void gw_request_reply_text(struct gw_request *req, char *text)
{
	if (req->client)
		client_send_text(req->client, text);
	else
		free(text);
	request_answered(req);
}

void gw_request_reply(struct gw_request *req, json_t *obj)
{
	if (req->client)
		client_send(req->client, obj);
	json_decref(obj);
	request_answered(req);
}

void gw_request_ok(struct gw_request *req, json_t *obj)
{
	json_t *o = json_object();

	/* "ok" first, for people reading the raw answers */
	json_object_set_new(o, "ok", json_true());
	if (obj && json_object_update(o, obj) < 0)
		gw_warn("control: an answer is not a JSON object; sent without it");
	json_object_set_new(o, "ok", json_true());
	json_decref(obj);
	gw_request_reply(req, o);
}

void gw_request_fail(struct gw_request *req, const char *fmt, ...)
{
	json_t *o = json_object();
	json_t *msg = NULL;
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) >= 0)
		msg = json_string(text); /* NULL unless valid UTF-8 */
	va_end(ap);
	free(text);
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", msg ? msg : json_string("internal error: unprintable message"));
	gw_request_reply(req, o);
}

struct gw *gw_request_gw(const struct gw_request *req)
{
	return req->gw;
}

/* ---- connections ---- */

static void on_client_closed(uv_handle_t *h)
{
	struct gw_client *cl = container_of(h, struct gw_client, pipe);
	struct gw_control *c = cl->ctl;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	free(cl);
	c->nhandles--;
	control_maybe_free(c);
}

static void client_close(struct gw_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	if (cl->req) {
		cl->req->client = NULL; /* the handler still owns it; its answer goes nowhere */
		cl->req = NULL;
	}
	if (cl->counted) {
		cl->ctl->nclients--;
		cl->counted = false;
	}
	uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
	client_close(container_of(sr, struct gw_client, shutdown));
}

/* The peer sent EOF and every line is answered: close once the answers
 * are written (uv_shutdown waits for the write queue). */
static void client_finish(struct gw_client *cl)
{
	if (cl->shutting)
		return;
	cl->shutting = true;
	if (uv_shutdown(&cl->shutdown, (uv_stream_t *)&cl->pipe, on_shutdown) < 0)
		client_close(cl);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct gw_client *cl = container_of(h, struct gw_client, pipe);

	/* reading only runs once in[] is consumed; if not, libuv gets no room (UV_ENOBUFS) */
	*buf = uv_buf_init(cl->in_len ? NULL : cl->in, cl->in_len ? 0 : sizeof(cl->in));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct gw_client *cl = container_of(s, struct gw_client, pipe);

	if (nread > 0) {
		cl->in_off = 0;
		cl->in_len = (size_t)nread;
		client_process(cl);
		return;
	}
	if (nread == 0 || nread == UV_ENOBUFS)
		return;
	cl->reading = false; /* libuv stopped reading on EOF and errors */
	if (nread == UV_EOF) {
		cl->eof = true;
		client_process(cl);
		return;
	}
	gw_debug("control: read: %s", uv_strerror((int)nread));
	client_close(cl);
}

static void client_read(struct gw_client *cl, bool on)
{
	int rc = 0;

	if (on == cl->reading)
		return;
	if (on)
		rc = uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
	else
		uv_read_stop((uv_stream_t *)&cl->pipe);
	if (rc < 0) {
		gw_debug("control: read start: %s", uv_strerror(rc));
		client_close(cl);
		return;
	}
	cl->reading = on;
}

static struct gw_request *request_new(struct gw_client *cl, const char *line, size_t len)
{
	struct gw_request *req = malloc(sizeof(*req) + len + 1);

	if (!req)
		return NULL;
	req->client = cl;
	req->gw = cl->ctl->gw;
	req->argv[0] = NULL;
	memcpy(req->line, line, len);
	req->line[len] = '\0';
	cl->req = req;
	return req;
}

static void client_line(struct gw_client *cl, const char *line, size_t len)
{
	struct gw_request *req = request_new(cl, line, len);
	const char *why = NULL;
	int argc;

	if (!req) {
		client_close(cl); /* an unanswered line would desynchronise the stream */
		return;
	}
	argc = gw_control_split(req->line, len, req->argv, GW_CONTROL_MAX_ARGS, &why);
	if (argc == 0) {
		cl->req = NULL; /* empty lines are ignored, not answered */
		free(req);
		return;
	}
	if (argc < 0) {
		gw_request_fail(req, "%s", why);
		return;
	}
	req->argv[argc] = NULL;
	dispatch(cl->ctl, req, argc, cl->uid);
}

static void client_too_long(struct gw_client *cl)
{
	struct gw_request *req = request_new(cl, "", 0);

	if (!req) {
		client_close(cl);
		return;
	}
	gw_request_fail(req, "line too long (max %d bytes)", GW_CONTROL_MAX_LINE);
}

/* Answer the lines already read, in order, until one is pending (then stop
 * reading: that is the backpressure) or the input is used up (then read). */
static void client_process(struct gw_client *cl)
{
	char *line;
	size_t len;
	int r;

	cl->in_process = true;
	while (!cl->closing && !cl->req) {
		r = gw_linebuf_next(&cl->lb, &line, &len);
		if (r == 1)
			client_line(cl, line, len);
		else if (r == 2)
			client_too_long(cl);
		else if (cl->in_off < cl->in_len)
			cl->in_off += gw_linebuf_feed(&cl->lb, cl->in + cl->in_off, cl->in_len - cl->in_off);
		else if (cl->eof && (cl->lb.len > 0 || cl->lb.discarding))
			gw_linebuf_feed(&cl->lb, "\n", 1); /* a last line without its newline still counts */
		else
			break;
	}
	cl->in_process = false;
	if (cl->closing)
		return;
	if (cl->req) {
		client_read(cl, false);
		return;
	}
	cl->in_off = cl->in_len = 0;
	if (cl->eof)
		client_finish(cl);
	else
		client_read(cl, true);
}

static void client_peercred(struct gw_client *cl)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	uv_os_fd_t fd;

	cl->uid = (uid_t)-1;
	cl->pid = 0;
	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && len == sizeof(uc)) {
		cl->uid = uc.uid;
		cl->pid = uc.pid;
	}
}

/* Over the limit: say why in one try (never waiting), then close. */
static void client_reject(struct gw_client *cl)
{
	static const char msg[] = "{\"ok\":false,\"error\":\"too many connections\"}\n";
	uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);

	gw_warn("control: too many connections (max %d); refusing uid %d", GW_CONTROL_MAX_CLIENTS,
		(int)cl->uid);
	(void)uv_try_write((uv_stream_t *)&cl->pipe, &b, 1);
	client_close(cl);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct gw_control *c = container_of((uv_pipe_t *)server, struct gw_control, listener);
	struct gw_client *cl;

	if (status < 0) {
		gw_warn("control: accept: %s", uv_strerror(status));
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl || uv_pipe_init(c->gw->loop, &cl->pipe, 0) < 0) {
		gw_err("control: out of memory for a connection");
		free(cl);
		return;
	}
	cl->ctl = c;
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->nhandles++;
	gw_linebuf_init(&cl->lb);
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) < 0) {
		client_close(cl);
		return;
	}
	client_peercred(cl);
	if (c->nclients >= GW_CONTROL_MAX_CLIENTS) {
		client_reject(cl);
		return;
	}
	cl->counted = true;
	c->nclients++;
	gw_debug("control: connection from uid %d pid %d", (int)cl->uid, (int)cl->pid);
	client_process(cl);
}

/* ---- the listener ---- */

/* A name or a number; NULL: leave the group alone. */
static int resolve_group(const char *group, gid_t *gid)
{
	struct group *gr;
	char *end;
	unsigned long v;

	*gid = (gid_t)-1;
	if (!group)
		return 0;
	gr = getgrnam(group);
	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(group, &end, 10);
	if (group[0] >= '0' && group[0] <= '9' && *end == '\0' && errno == 0 && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	gw_err("control socket: unknown group \"%s\"", group);
	return -EINVAL;
}

static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	return live;
}

/* A socket left by a daemon that died goes; a live one (another homegwd)
 * or anything that is not a socket stays: we must not delete files a
 * config typo points at. */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		gw_err("control socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	if (socket_is_live(sa)) {
		gw_err("control socket %s: another process is listening on it", path);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	gw_debug("control socket %s: removed a stale socket", path);
	return 0;
}

/* Bound, with its access set; not listening yet, so nobody can have
 * connected before the mode and owner are right. */
static int bind_socket(const char *path, const struct sockaddr_un *sa, uid_t owner, gid_t gid)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (chmod(path, 0660) < 0 ||
	    ((owner != (uid_t)-1 || gid != (gid_t)-1) && lchown(path, owner, gid) < 0)) {
		err = -errno;
		unlink(path);
		close(fd);
		return err;
	}
	return fd;
}

int gw_control_listen(struct gw_control *c, const char *path, const char *group, uid_t owner)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	gid_t gid;
	int fd, rc;

	if (c->path || c->closing)
		return -EALREADY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((rc = resolve_group(group, &gid)) < 0 || (rc = remove_stale(path, &sa)) < 0)
		return rc;
	if ((fd = bind_socket(path, &sa, owner, gid)) < 0)
		return fd;
	if (lstat(path, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!(c->path = strdup(path))) {
		rc = -ENOMEM;
		goto fail;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if ((rc = uv_pipe_open(&c->listener, fd)) < 0)
		goto fail;
	fd = -1; /* the handle's now */
	if ((rc = uv_listen((uv_stream_t *)&c->listener, 64, on_connection)) < 0)
		goto fail;
	gw_debug("control socket %s: listening", path);
	return 0;
fail:
	unlink(path);
	if (fd >= 0)
		close(fd);
	free(c->path);
	c->path = NULL;
	return rc;
}

/* Only our socket: another daemon may have replaced it since. */
static void remove_socket(struct gw_control *c)
{
	struct stat st;

	if (!c->path || lstat(c->path, &st) < 0 || st.st_dev != c->dev || st.st_ino != c->ino)
		return;
	if (unlink(c->path) < 0)
		gw_debug("control socket %s: cannot remove: %s", c->path, strerror(errno));
}

static void on_listener_closed(uv_handle_t *h)
{
	struct gw_control *c = container_of((uv_pipe_t *)h, struct gw_control, listener);

	c->nhandles--;
	control_maybe_free(c);
}

void gw_control_close(struct gw_control *c)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	for (struct gw_client *cl = c->clients; cl; cl = cl->next)
		client_close(cl);
	remove_socket(c);
	uv_close((uv_handle_t *)&c->listener, on_listener_closed);
}
