/* sdnotify.h — the sd_notify protocol spoken directly: one datagram to
 * $NOTIFY_SOCKET ("READY=1", "RELOADING=1", "WATCHDOG=1", "STOPPING=1",
 * "STATUS=..."). No libsystemd. Silent no-op when not under systemd. */
#ifndef GW_SDNOTIFY_H
#define GW_SDNOTIFY_H

#include <stdint.h>

/* 0 sent, 0 when there is no socket to send to, negative errno on failure. */
int gw_sd_notify(const char *state);
int gw_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog period in microseconds from $WATCHDOG_USEC (checking
 * $WATCHDOG_PID), 0 when none. */
uint64_t gw_sd_watchdog_usec(void);

#endif
