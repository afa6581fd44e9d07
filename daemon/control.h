/* control.h — the control socket (CONTROL.md): a Unix stream socket, one
 * command per line, one JSON object per answer, and the command table the
 * core and the modules register into.
 *
 * Answers may be given later than the handler's return (reload waits for
 * the nft commit): a handler owns its struct gw_request until it calls
 * gw_request_reply()/_ok()/_fail() exactly once. Commands of one connection
 * are answered in order: the next line is not read until the answer to the
 * current one is queued. A connection that closes while a request is
 * pending leaves the request valid; its answer is then dropped. */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gw;
struct gw_control;
struct gw_request;

#define GW_CONTROL_MAX_LINE 4096          /* longer lines: ok:false */
#define GW_CONTROL_MAX_OUTPUT (1u << 20)  /* unread earlier answers beyond this: client dropped */
#define GW_CONTROL_MAX_CLIENTS 64
#define GW_CONTROL_MAX_ARGS 32

/* ARGC/ARGV are the arguments after the command's name words ("dns flush
 * example.com" gives argc 1, argv[0] "example.com"; argv[argc] is NULL).
 * They stay valid until the request is answered. */
typedef void (*gw_command_fn)(struct gw_request *req, int argc, char **argv, void *data);

struct gw_command {
	const char *name; /* one or more words: "status", "dns flush", "lease release" */
	bool admin;       /* needs uid 0 or the daemon's uid (SO_PEERCRED) */
	int min_args;     /* arguments after the name's words */
	int max_args;     /* < 0: unbounded (up to GW_CONTROL_MAX_ARGS) */
	const char *usage; /* "dns flush [NAME]" */
	gw_command_fn fn;
};

struct gw_control *gw_control_new(struct gw *gw);
/* Listen on PATH (replacing a stale socket), mode 0660, group GROUP
 * (NULL: unchanged), owned by OWNER (uid, -1: unchanged). */
int gw_control_listen(struct gw_control *c, const char *path, const char *group, uid_t owner);
/* Close the listener and every connection (and remove the socket file);
 * frees C once all are closed. Requests still pending may be answered
 * later: their answers are dropped. */
void gw_control_close(struct gw_control *c);
/* Connections open now (not counting rejected or closing ones). */
size_t gw_control_nclients(const struct gw_control *c);

/* CMD must outlive the registration (a static table). DATA is passed to fn.
 * The longest name that matches the first words of a line wins. */
int gw_control_register(struct gw_control *c, const struct gw_command *cmd, void *data);
/* Remove every command registered with DATA (a module's state at stop). */
void gw_control_unregister(struct gw_control *c, void *data);

/* Answering. obj is stolen (may be NULL for a bare {"ok":true}). */
void gw_request_ok(struct gw_request *req, json_t *obj);
void gw_request_fail(struct gw_request *req, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send OBJ as it is (caller sets "ok"); stolen. */
void gw_request_reply(struct gw_request *req, json_t *obj);
/* An answer already encoded: TEXT is one JSON object (no newline), taken
 * (freed). For answers too big to build as a json_t in one loop turn. */
void gw_request_reply_text(struct gw_request *req, char *text);
struct gw *gw_request_gw(const struct gw_request *req);

/* ---- the pure part, for tests and the fuzzer ---- */

/* Split one line into words (spaces/tabs). Returns argc, or -1 with *why
 * set ("line is not valid UTF-8", "too many words", ...). The words point
 * into LINE, which is modified; LINE[LEN] must be '\0' (as gw_linebuf_next
 * gives it). argv[argc] is set to NULL when argc < MAX. */
int gw_control_split(char *line, size_t len, char **argv, int max, const char **why);
/* Well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF) without
 * control characters (C0 but tab, DEL, C1). */
bool gw_control_utf8_valid(const char *s, size_t len);
/* May a peer of uid PEER ((uid_t)-1: unknown) run admin commands of a
 * daemon running as SELF? Root and the daemon's own uid may. */
bool gw_control_uid_allowed(uid_t peer, uid_t self);

/* Incremental line framing over a stream. Feed bytes with
 * gw_linebuf_feed(); take complete lines with gw_linebuf_next(). A line
 * over GW_CONTROL_MAX_LINE is reported once as *too_long and its bytes up
 * to the newline are discarded. */
struct gw_linebuf {
	char buf[GW_CONTROL_MAX_LINE + 1];
	size_t len;
	bool discarding; /* inside an over-long line */
	bool overflowed; /* an over-long line ended; report it */
	bool ready;      /* buf holds a complete line not yet taken */
};
void gw_linebuf_init(struct gw_linebuf *lb);
/* Consumes as much of DATA as it can; returns the number of bytes used.
 * Stops early when a line is complete (so lines are handled in order), and
 * takes nothing while a line or an overflow report waits for _next(). */
size_t gw_linebuf_feed(struct gw_linebuf *lb, const char *data, size_t len);
/* 1 and *line, *len (NUL-terminated, without "\n" or "\r\n") when a line is
 * ready; 2 when an over-long line was dropped; 0 when more bytes are needed.
 * The line stays valid until the next feed. */
int gw_linebuf_next(struct gw_linebuf *lb, char **line, size_t *len);

#endif
