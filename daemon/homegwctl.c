/* homegwctl.c — the command-line client of homegwd's control socket
 * (CONTROL.md): one line out, one JSON line back, printed as tables.
 *
 * A plain blocking client (no event loop): it does one exchange and exits.
 * The answer comes from the daemon but carries text from the network (DHCP
 * host names, DNS names), so every string printed to the terminal is
 * stripped of control characters first. */
#include "core_config.h" /* GW_DEFAULT_CONTROL_SOCKET */
#include "ctl_stats.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_VERSION "0.1.0" /* kept in step with GW_VERSION (gw.h, which needs libuv) */
#define MAX_ANSWER (64u << 20) /* a sane bound on one answer line */

enum { EXIT_ANSWER_OK = 0, EXIT_ANSWER_FAIL = 1, EXIT_UNREACHABLE = 2 };

/* ---- text helpers ---- */

/* A copy safe for a terminal: C0, DEL and C1 controls become '?'. The
 * input is valid UTF-8 (jansson checked it), so C1 is the pair C2 80..9F. */
static char *safe_text(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*o++ = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			*o++ = '?';
			p++;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

/* Terminal columns of valid UTF-8: one per code point is close enough. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* 45s, 3m12s, 3h12m, 2d4h: the two largest units, zero tails dropped. */
static char *human_duration(long long s)
{
	long long d, h, m;

	if (s < 0) {
		char *pos = human_duration(-s), *neg = xasprintf("-%s", pos);
		free(pos);
		return neg;
	}
	d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, s %= 60;
	if (d)
		return h ? xasprintf("%lldd%lldh", d, h) : xasprintf("%lldd", d);
	if (h)
		return m ? xasprintf("%lldh%lldm", h, m) : xasprintf("%lldh", h);
	if (m)
		return s ? xasprintf("%lldm%llds", m, s) : xasprintf("%lldm", m);
	return xasprintf("%llds", s);
}

static char *local_time(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64];

	if (t <= 0 || !localtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		return xstrdup("-");
	return xstrdup(buf);
}

/* ---- tables ---- */

struct table {
	size_t ncols, nrows, cap;
	char **head; /* ncols */
	char **cells; /* nrows * ncols, owned */
};

static void table_init(struct table *t, size_t ncols, char **head)
{
	*t = (struct table){.ncols = ncols, .head = head};
}

/* Takes ownership of the NCOLS strings of ROW. */
static void table_add(struct table *t, char **row)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
		if (!t->cells)
			abort();
	}
	memcpy(t->cells + t->nrows * t->ncols, row, t->ncols * sizeof(char *));
	t->nrows++;
}

static void print_row(char *const *row, const size_t *width, size_t ncols, int indent)
{
	printf("%*s", indent, "");
	for (size_t c = 0; c < ncols; c++) {
		if (c + 1 == ncols) {
			printf("%s\n", row[c]); /* no padding after the last column */
			break;
		}
		printf("%s%*s", row[c], (int)(width[c] - text_width(row[c]) + 2), "");
	}
}

static void table_print(struct table *t, int indent)
{
	size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));

	if (!width)
		abort();
	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);
			width[c] = w > width[c] ? w : width[c];
		}
	}
	print_row(t->head, width, t->ncols, indent);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t->cells + r * t->ncols, width, t->ncols, indent);
	free(width);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* ---- values as text ---- */

/* Fields holding seconds left or elapsed, shown as 11h59m. */
static bool is_duration_key(const char *key)
{
	static const char *const keys[] = {"expires_in", "uptime"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static char *scalar_text(const char *key, const json_t *v)
{
	if (json_is_string(v))
		return safe_text(json_string_value(v));
	if (json_is_integer(v))
		return key && is_duration_key(key) ? human_duration(json_integer_value(v))
						   : xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "yes" : "no");
	return xstrdup("-");
}

static bool all_scalars(const json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach (a, i, v)
		if (!is_scalar(v))
			return false;
	return true;
}

/* Anything as one cell: scalars as such, lists of scalars joined, deeper
 * structure as compact JSON (a later per-command formatter does better). */
static char *value_text(const char *key, const json_t *v)
{
	size_t i;
	char *out, *raw;
	json_t *e;

	if (is_scalar(v))
		return scalar_text(key, v);
	if (json_is_array(v) && json_array_size(v) == 0)
		return xstrdup("-");
	if (json_is_array(v) && all_scalars(v)) {
		out = xstrdup("");
		json_array_foreach (v, i, e) {
			char *s = scalar_text(key, e), *n = xasprintf("%s%s%s", out, i ? ", " : "", s);
			free(s);
			free(out);
			out = n;
		}
		return out;
	}
	raw = json_dumps(v, JSON_COMPACT);
	out = safe_text(raw ? raw : "?");
	free(raw);
	return out;
}

/* ---- generic output ---- */

static bool is_table(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach (v, i, e)
		if (!json_is_object(e))
			return false;
	return true;
}

/* Columns: every key of every row, in the order first seen. */
static void print_object_table(const json_t *rows, int indent)
{
	json_t *cols = json_array(), *row;
	struct table t;
	size_t i, ncols;
	const char *key;
	json_t *v;
	char **head, **cells;

	json_array_foreach (rows, i, row)
		json_object_foreach ((json_t *)row, key, v) {
			size_t j;
			json_t *c;
			bool seen = false;

			json_array_foreach (cols, j, c)
				seen = seen || strcmp(json_string_value(c), key) == 0;
			if (!seen)
				json_array_append_new(cols, json_string(key));
		}
	ncols = json_array_size(cols);
	head = calloc(ncols + 1, sizeof(char *));
	cells = calloc(ncols + 1, sizeof(char *));
	if (!head || !cells)
		abort();
	for (size_t c = 0; c < ncols; c++) {
		head[c] = safe_text(json_string_value(json_array_get(cols, c)));
		for (char *p = head[c]; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	}
	table_init(&t, ncols, head);
	json_array_foreach (rows, i, row) {
		for (size_t c = 0; c < ncols; c++) {
			const char *k = json_string_value(json_array_get(cols, c));
			json_t *cell = json_object_get(row, k);
			cells[c] = cell ? value_text(k, cell) : xstrdup("-");
		}
		table_add(&t, cells);
	}
	table_print(&t, indent);
	table_free(&t);
	for (size_t c = 0; c < ncols; c++)
		free(head[c]);
	free(head);
	free(cells);
	json_decref(cols);
}

static void print_generic_object(const json_t *obj, int indent)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)obj, key, v) {
		char *k = safe_text(key);

		if (indent == 0 && strcmp(key, "ok") == 0) {
			free(k);
			continue;
		}
		if (is_table(v)) {
			printf("%*s%s:\n", indent, "", k);
			print_object_table(v, indent + 2);
		} else if (json_is_object(v) && json_object_size(v) > 0) {
			printf("%*s%s:\n", indent, "", k);
			print_generic_object(v, indent + 2);
		} else {
			char *s = json_is_object(v) ? xstrdup("-") : value_text(key, v);
			printf("%*s%s: %s\n", indent, "", k, s);
			free(s);
		}
		free(k);
	}
}

static void print_generic(const json_t *answer)
{
	print_generic_object(answer, 0);
}

/* ---- per-command output ---- */

static char *member_text(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v ? value_text(key, v) : xstrdup("-");
}

static char *iface_state(const json_t *ifc)
{
	json_t *present = json_object_get(ifc, "present");

	if (json_is_false(present))
		return xstrdup("absent");
	return xstrdup(json_is_true(json_object_get(ifc, "up")) ? "up" : "down");
}

static void print_status_interfaces(const json_t *ifs)
{
	static char *head[] = {"NAME", "DEVICE", "IFINDEX", "STATE", "ADDRESSES"};
	struct table t;
	size_t i;
	json_t *ifc;

	if (json_array_size(ifs) == 0) {
		printf("interfaces: (none)\n");
		return;
	}
	printf("interfaces:\n");
	table_init(&t, 5, head);
	json_array_foreach (ifs, i, ifc) {
		json_int_t ifindex = json_integer_value(json_object_get(ifc, "ifindex"));
		char *row[5] = {
			member_text(ifc, "name"),
			member_text(ifc, "device"),
			ifindex > 0 ? xasprintf("%lld", (long long)ifindex) : xstrdup("-"),
			iface_state(ifc),
			member_text(ifc, "addresses"),
		};
		table_add(&t, row);
	}
	table_print(&t, 2);
	table_free(&t);
}

static void print_status_modules(const json_t *mods)
{
	static char *head[] = {"NAME", "RUNNING", "SUMMARY"};
	struct table t;
	const char *name;
	json_t *m;

	if (json_object_size(mods) == 0) {
		printf("modules: (none)\n");
		return;
	}
	printf("modules:\n");
	table_init(&t, 3, head);
	json_object_foreach ((json_t *)mods, name, m) {
		char *row[3] = {
			safe_text(name),
			xstrdup(json_is_true(json_object_get(m, "running")) ? "yes" : "no"),
			member_text(m, "summary"),
		};
		table_add(&t, row);
	}
	table_print(&t, 2);
	table_free(&t);
}

static void print_status(const json_t *a)
{
	const json_t *cfg = json_object_get(a, "config");
	char *version = member_text(a, "version");
	char *uptime = human_duration(json_integer_value(json_object_get(a, "uptime")));
	char *path = member_text(cfg, "path");
	char *loaded = local_time(json_integer_value(json_object_get(cfg, "loaded_at")));

	printf("homegwd %s, up %s\n", version, uptime);
	printf("config: %s (loaded %s)\n", path, loaded);
	free(version);
	free(uptime);
	free(path);
	free(loaded);
	print_status_interfaces(json_object_get(a, "interfaces"));
	print_status_modules(json_object_get(a, "modules"));
}

static void print_reload(const json_t *a)
{
	const json_t *changed = json_object_get(a, "changed");
	char *list;

	if (!json_is_array(changed) || json_array_size(changed) == 0) {
		printf("reloaded; nothing changed\n");
		return;
	}
	list = value_text("changed", changed);
	printf("reloaded; changed: %s\n", list);
	free(list);
}

/* One entry per command with its own layout; the rest goes generic. */
static const struct formatter {
	const char *command;
	void (*print)(const json_t *answer);
} formatters[] = {
	{"status", print_status},
	{"reload", print_reload},
};

static void print_answer(const char *command, const json_t *answer)
{
	for (size_t i = 0; i < sizeof(formatters) / sizeof(formatters[0]); i++) {
		if (strcmp(formatters[i].command, command) == 0) {
			formatters[i].print(answer);
			return;
		}
	}
	print_generic(answer);
}

static void print_failure(const json_t *answer)
{
	const json_t *errors = json_object_get(answer, "errors");
	const char *msg = json_string_value(json_object_get(answer, "error"));
	char *s = safe_text(msg ? msg : "the daemon gave no reason");
	size_t i;
	json_t *e;

	fprintf(stderr, "homegwctl: %s\n", s);
	free(s);
	json_array_foreach (errors, i, e) {
		if (!json_is_string(e))
			continue;
		s = safe_text(json_string_value(e));
		fprintf(stderr, "%s\n", s);
		free(s);
	}
}

/* ---- the exchange ---- */

#define ANSWER_TIMEOUT_S 120 /* longer than any reload takes */

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a daemon that accepts but never answers (stopped with SIGSTOP, a
	 * bug) must not hang scripts forever: recv fails with EAGAIN instead */
	struct timeval tv = {.tv_sec = ANSWER_TIMEOUT_S};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line, without its "\n". NULL with errno set: 0 when the daemon
 * closed the connection first, EMSGSIZE past MAX_ANSWER. */
static char *read_line(int fd, size_t *len)
{
	size_t used = 0, cap = 0;
	char *buf = NULL, *nl;

	for (;;) {
		ssize_t n;

		if (cap - used < 4096) {
			cap = cap ? 2 * cap : 65536;
			if (cap > MAX_ANSWER + 65536u) {
				free(buf);
				errno = EMSGSIZE;
				return NULL;
			}
			if (!(buf = realloc(buf, cap)))
				abort();
		}
		n = recv(fd, buf + used, cap - used - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			if (n == 0)
				errno = 0;
			return NULL;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		used += (size_t)n;
		if (nl) {
			*nl = '\0';
			*len = (size_t)(nl - buf);
			return buf;
		}
	}
}

/* The words as one line; NULL if one holds a byte that would end or
 * corrupt the line. */
static char *join_words(int argc, char **argv)
{
	char *line = xstrdup(""), *n;

	for (int i = 0; i < argc; i++) {
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++) {
			if (*p < 0x20 || *p == 0x7f) {
				free(line);
				return NULL;
			}
		}
		n = xasprintf("%s%s%s", line, i ? " " : "", argv[i]);
		free(line);
		line = n;
	}
	return line;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: homegwctl [-s SOCKET] [--json] COMMAND [ARGS...]\n"
		"\n"
		"Ask homegwd over its control socket. Commands: status, leases, lease release ADDRESS,\n"
		"dhcp stats, dns stats, dns cache [NAME], dns flush [NAME], nat, nat table, igmp, reload,\n"
		"stats [--prometheus].\n"
		"\n"
		"  -s, --socket SOCKET  the control socket (default $HOMEGW_SOCKET, else %s)\n"
		"  -j, --json           print the daemon's JSON answer as it is\n"
		"  -h, --help           this text\n"
		"  -V, --version        the version\n"
		"\n"
		"Exit status: 0 done, 1 the daemon refused (reason on stderr), 2 no answer.\n",
		GW_DEFAULT_CONTROL_SOCKET);
}

struct options {
	const char *socket;
	bool json;
};

/* Returns the index of COMMAND, or -1 (exit 2), or -2 (done, exit 0). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->socket = getenv("HOMEGW_SOCKET");
	if (!o->socket || !*o->socket)
		o->socket = GW_DEFAULT_CONTROL_SOCKET;
	o->json = false;
	/* "+": options end at COMMAND, so its arguments are never taken for ours */
	while ((c = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			return -2;
		case 'V':
			printf("homegwctl %s\n", CTL_VERSION);
			return -2;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	return optind;
}

/* Send LINE on FD (connected to PATH), get the parsed answer; NULL (after
 * saying why) when there is none. *RAW gets the answer's text. */
static json_t *ask(int fd, const char *path, const char *line, char **raw)
{
	char *out = xasprintf("%s\n", line), *in;
	json_error_t jerr;
	json_t *answer;
	size_t len;

	if (send_all(fd, out, strlen(out)) < 0 || !(in = read_line(fd, &len))) {
		if (errno)
			fprintf(stderr, "homegwctl: no answer from %s: %s\n", path, strerror(errno));
		else
			fprintf(stderr, "homegwctl: %s closed the connection without answering\n", path);
		free(out);
		return NULL;
	}
	free(out);
	answer = json_loadb(in, len, 0, &jerr);
	if (!json_is_object(answer) || !json_is_boolean(json_object_get(answer, "ok"))) {
		fprintf(stderr, "homegwctl: the answer from %s is not a JSON answer%s%s\n", path,
			answer ? "" : ": ", answer ? "" : jerr.text);
		json_decref(answer);
		free(in);
		return NULL;
	}
	*raw = in;
	return answer;
}

static int connect_or_say(const char *path)
{
	int fd = connect_to(path);

	if (fd < 0)
		fprintf(stderr, "homegwctl: cannot connect to %s: %s\n", path, strerror(errno));
	return fd;
}

/* One command on a connection of its own. */
static json_t *exchange(const char *path, const char *line, char **raw)
{
	int fd = connect_or_say(path);
	json_t *answer;

	if (fd < 0)
		return NULL;
	answer = ask(fd, path, line, raw);
	close(fd);
	return answer;
}

/* ---- stats: composed here from the daemon's answers (ctl_stats.h) ---- */

/* `stats [--prometheus]`: status, then the counters command of every module
 * it says runs, on one connection; nothing is printed unless every answer
 * came (a textfile collector must not read half a file). */
static int cmd_stats(const struct options *o, int argc, char **argv)
{
	bool prometheus = false;
	json_t *all, *a;
	char *raw;
	int fd, rc = EXIT_ANSWER_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--prometheus") == 0 && !o->json) {
			prometheus = true;
		} else {
			fprintf(stderr, "homegwctl: stats takes only --prometheus (and not with --json)\n");
			return EXIT_UNREACHABLE;
		}
	}
	if ((fd = connect_or_say(o->socket)) < 0)
		return EXIT_UNREACHABLE;
	all = json_pack("{s:b}", "ok", 1);
	for (size_t s = 0; s < ctl_stats_nsources && rc == EXIT_ANSWER_OK; s++) {
		const struct ctl_stats_source *src = &ctl_stats_sources[s];
		const json_t *mods = json_object_get(json_object_get(all, "status"), "modules");

		if (s > 0 && !json_is_true(json_object_get(json_object_get(mods, src->key), "running")))
			continue;
		if (!(a = ask(fd, o->socket, src->command, &raw))) {
			rc = EXIT_UNREACHABLE;
			break;
		}
		free(raw);
		if (!json_is_true(json_object_get(a, "ok"))) {
			print_failure(a);
			json_decref(a);
			rc = EXIT_ANSWER_FAIL;
			break;
		}
		json_object_set_new(all, src->key, a);
	}
	close(fd);
	if (rc == EXIT_ANSWER_OK) {
		if (o->json) {
			char *text = json_dumps(all, JSON_COMPACT);

			if (!text)
				abort();
			printf("%s\n", text);
			free(text);
		} else if (ctl_stats_write(stdout, all, prometheus) < 0) {
			rc = EXIT_UNREACHABLE;
		}
	}
	json_decref(all);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	json_t *answer;
	char *line, *raw = NULL;
	int first, rc;

	first = parse_options(argc, argv, &o);
	if (first == -2)
		return EXIT_ANSWER_OK;
	if (first < 0)
		return EXIT_UNREACHABLE;
	if (strcmp(argv[first], "stats") == 0) {
		rc = cmd_stats(&o, argc - first, argv + first);
		return fflush(stdout) == 0 ? rc : EXIT_UNREACHABLE;
	}
	line = join_words(argc - first, argv + first);
	if (!line) {
		fprintf(stderr, "homegwctl: the command must not contain control characters\n");
		return EXIT_UNREACHABLE;
	}
	answer = exchange(o.socket, line, &raw);
	if (!answer) {
		free(line);
		return EXIT_UNREACHABLE;
	}
	rc = json_is_true(json_object_get(answer, "ok")) ? EXIT_ANSWER_OK : EXIT_ANSWER_FAIL;
	if (o.json)
		printf("%s\n", raw);
	if (rc == EXIT_ANSWER_FAIL)
		print_failure(answer);
	else if (!o.json)
		print_answer(line, answer);
	json_decref(answer);
	free(raw);
	free(line);
	return fflush(stdout) == 0 ? rc : EXIT_UNREACHABLE;
}
