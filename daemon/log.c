/* log.c — see log.h. */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static enum gw_log_level log_level = GW_LOG_INFO;
static bool log_journal; /* stderr is a journal stream: "<N>" prefixes */

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it is only
 * ours if stderr is still that stream (not redirected by a wrapper). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(2, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void gw_log_init(void)
{
	log_journal = stderr_is_journal();
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void gw_log_set_level(enum gw_log_level level) { log_level = level; }
enum gw_log_level gw_log_get_level(void) { return log_level; }

int gw_log_level_parse(const char *word)
{
	static const struct {
		const char *word;
		enum gw_log_level level;
	} levels[] = {
		{"error", GW_LOG_ERR},
		{"warning", GW_LOG_WARNING},
		{"info", GW_LOG_INFO},
		{"debug", GW_LOG_DEBUG},
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(word, levels[i].word) == 0)
			return (int)levels[i].level;
	return -1;
}

static const char *level_word(enum gw_log_level level)
{
	switch (level) {
	case GW_LOG_ERR:
		return "error";
	case GW_LOG_WARNING:
		return "warning";
	case GW_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void gw_vlog(enum gw_log_level level, const char *fmt, va_list ap)
{
	char msg[2048];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one line per message: a newline inside would forge a second journal entry */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
	else
		fprintf(stderr, "homegwd: %s: %s\n", level_word(level), msg);
}

void gw_log(enum gw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_vlog(level, fmt, ap);
	va_end(ap);
}
