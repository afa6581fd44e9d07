/* module.h — the module interface (DESIGN.md) and the core's handling of
 * the module table: start, reload, stop.
 *
 * Deviations from DESIGN.md's sketch, on purpose:
 *  - configure() gets the whole config (tree + core sections), not one
 *    section node: dhcp owns two section keywords (dhcp, dhcp-relay),
 *    igmp's is igmp-proxy, dns's defaults read the dhcp scopes, and every
 *    module must resolve `interface` references. It reads only the tree.
 *  - sections[] lists the top-level keywords a module owns, so the core
 *    can tell "not supported yet" from "unknown keyword".
 *  - reload() may finish later (the nft transaction's ack): it returns
 *    GW_RELOAD_PENDING and calls gw_module_reload_done() when applied.
 *  - a removed section is reload(old, NULL) followed by stop(): the module
 *    then undoes what outlives the process (the nft table); plain stop()
 *    at shutdown leaves such state in place. */
#ifndef GW_MODULE_H
#define GW_MODULE_H

#include <stddef.h>

struct gw;
struct gw_config;
struct cf_errors;
struct gw_command;

#define GW_RELOAD_PENDING 1

struct gw_module {
	const char *name;            /* "dhcp": command prefix, status key */
	const char *const *sections; /* NULL-terminated top-level keywords it owns */

	/* NULL: the module is planned but not built yet ("not supported yet") */
	int (*configure)(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err);
	int (*start)(struct gw *gw, const void *cfg, void **state);
	int (*reload)(struct gw *gw, void *state, const void *old_cfg, const void *new_cfg);
	void (*stop)(struct gw *gw, void *state); /* close handles; free in uv_close callbacks */
	void (*free_config)(void *cfg);
	/* one line for `status` ("2 scopes, 14 leases"); may be NULL */
	void (*summary)(void *state, char *buf, size_t len);
	/* Its control commands. The core registers them once, for the
	 * daemon's life: while the module runs, fn gets its state as DATA;
	 * while it does not (no section), the core answers "not running". */
	const struct gw_command *commands;
	size_t ncommands;
};

/* Start every module configured in gw->config. Returns 0, or the first
 * error (modules started so far keep running; the caller stops all). */
int gw_modules_start(struct gw *gw);
void gw_modules_stop(struct gw *gw);

/* Adopt NEW (already validated) in place of gw->config: per module start,
 * reload or reload(old,NULL)+stop. CHANGED receives the names of the
 * modules (and "core" parts) whose config text changed. DONE is called when
 * every module has applied it (maybe at once, maybe after pending reloads)
 * with 0 or a negative errno and a message; the old config is freed then. */
typedef void (*gw_reload_done_fn)(struct gw *gw, void *data, int rc, const char *msg,
				  const char *const *changed, size_t nchanged);
void gw_modules_reload(struct gw *gw, struct gw_config *new_cfg, gw_reload_done_fn done,
		       void *data);

/* For modules whose reload returned GW_RELOAD_PENDING. */
void gw_module_reload_done(struct gw *gw, const struct gw_module *mod, int rc, const char *msg);

#endif
