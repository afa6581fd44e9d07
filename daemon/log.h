/* log.h — the daemon's one logger.
 *
 * Lines go to stderr. When stderr is the journal (JOURNAL_STREAM names our
 * stderr's device:inode) each line starts with the sd-daemon "<N>" priority
 * prefix so journald files it at the right level; otherwise lines are plain
 * with a level word. */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>

/* syslog numbering, so "<N>" is the level itself */
enum gw_log_level {
	GW_LOG_ERR = 3,
	GW_LOG_WARNING = 4,
	GW_LOG_INFO = 6,
	GW_LOG_DEBUG = 7,
};

/* Decide the output style from the environment; level starts at INFO. */
void gw_log_init(void);
void gw_log_set_level(enum gw_log_level level);
enum gw_log_level gw_log_get_level(void);
/* "error" | "warning" | "info" | "debug" → level; -1 when unknown */
int gw_log_level_parse(const char *word);

void gw_log(enum gw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gw_vlog(enum gw_log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define gw_err(...) gw_log(GW_LOG_ERR, __VA_ARGS__)
#define gw_warn(...) gw_log(GW_LOG_WARNING, __VA_ARGS__)
#define gw_info(...) gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)

#endif
