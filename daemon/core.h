/* core.h — what the core itself does on the loop: reload the config (from
 * SIGHUP or the `reload` command), answer `status`, and follow the tables
 * (interfaces appearing, names expiring). main.c wires these up. */
#ifndef GW_CORE_H
#define GW_CORE_H

struct gw;
struct gw_request;

/* Register the core's commands (status, reload) and every built module's
 * on gw->control; gw_core_free_commands after the control socket closed. */
int gw_core_register_commands(struct gw *gw);
void gw_core_free_commands(struct gw *gw);
/* Subscribe to the iface and names tables (logging, expiry timer);
 * call after both exist and gw->loop runs. */
int gw_core_watch_tables(struct gw *gw);
void gw_core_unwatch_tables(struct gw *gw);

/* Re-read gw->config_path and adopt it, or keep the old config and report
 * every error. REQ (may be NULL for SIGHUP) gets the answer when done. */
void gw_core_reload(struct gw *gw, struct gw_request *req);

/* The effective log level for a config (the -d flag wins). */
void gw_core_apply_log_level(struct gw *gw);

#endif
