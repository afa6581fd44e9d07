/* gw.h — struct gw: the one object that holds the daemon's state. There is
 * no other global state (the logger's level and style aside). */
#ifndef GW_GW_H
#define GW_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <uv.h>

#define GW_VERSION "0.1.0"

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct gw_config;
struct gw_control;
struct gw_iface_table;
struct gw_names;
struct gw_module;
struct gw_reload_job;
struct gw_module_binding;

struct gw {
	uv_loop_t *loop;
	char *config_path;
	struct gw_config *config; /* in force */
	time_t started_at;
	time_t config_loaded_at;

	struct gw_iface_table *ifaces;
	struct gw_names *names;
	struct gw_control *control;

	const struct gw_module *const *modules; /* the table of main.c */
	size_t nmodules;
	void **mod_state;  /* per module: its state while running, else NULL */
	bool *mod_running;

	struct gw_reload_job *reload_job; /* a reload being applied (module.c); NULL otherwise */
	bool stopping;
	bool debug; /* -d: debug logging whatever log-level says */

	uv_signal_t sig_hup, sig_term, sig_int;
	uv_timer_t watchdog;
	uv_timer_t names_expiry;
	int iface_sub, names_sub; /* the core's own subscriptions */
	struct gw_module_binding *bindings; /* the modules' commands (core.c) */
};

#endif
