/* core_config.h — the whole configuration in force: the syntax tree, the
 * sections the core validates itself (global, interface, control), and
 * each module's typed config.
 *
 * gw_config_load() is the one path from a file to a config: --check,
 * start-up and reload all run it, and it touches nothing live. */
#ifndef GW_CORE_CONFIG_H
#define GW_CORE_CONFIG_H

#include "config.h"

#include <stdbool.h>
#include <sys/types.h>

struct gw_module;
struct gw_iface_table;

#define GW_DEFAULT_CONFIG "/etc/homegw/homegw.conf"
#define GW_DEFAULT_STATE_DIR "/var/lib/homegw"
#define GW_DEFAULT_CONTROL_SOCKET "/run/homegw/control.sock"

/* `interface NAME { device DEV }` */
struct gw_iface_cfg {
	char *name;
	char *device;
	struct cf_pos pos;
	bool used; /* some section referred to it (else: a warning) */
};

struct gw_config {
	struct cf_tree *tree;
	char *path;

	/* global */
	char *user;  /* NULL: stay the starting user */
	char *state_dir;
	int log_level; /* enum gw_log_level */

	struct gw_iface_cfg *ifaces;
	size_t nifaces;

	/* control */
	char *control_socket;
	char *control_group; /* NULL: the daemon's own group */

	/* The interfaces as the running daemon sees them, during configure()
	 * only, and only on a reload (NULL at start, in --check and in tests):
	 * checks that need the live addresses (nat: a forward's target in a LAN
	 * subnet) can be errors with positions then. */
	const struct gw_iface_table *live_ifaces;

	/* one slot per module of the table given to gw_config_load (same order);
	 * NULL when the module's sections are absent: it does not run */
	const struct gw_module *const *modules;
	size_t nmodules;
	void **module_cfg;
};

/* Parse and validate PATH against the core sections and every module's
 * configure(). Errors and warnings go to ERR. Returns the config when
 * err->nerrors == 0 (and NULL otherwise: nothing of a bad file survives). */
struct gw_config *gw_config_load(const char *path, const struct gw_module *const *modules,
				 size_t nmodules, struct cf_errors *err);
/* The same from a tree already parsed (ERR holds the parse's errors): takes
 * TREE (freed on failure). For the fuzz target and tests; PATH is only kept. */
struct gw_config *gw_config_from_tree(struct cf_tree *tree, const char *path,
				      const struct gw_module *const *modules, size_t nmodules,
				      struct cf_errors *err);
/* The same with the live interface table (a reload). */
struct gw_config *gw_config_load_live(const char *path, const struct gw_module *const *modules, size_t nmodules,
				      const struct gw_iface_table *live, struct cf_errors *err);
void gw_config_free(struct gw_config *cfg);

/* For module validators: resolve a reference to an `interface` by name.
 * Marks it used; on an undefined name adds an error at ARG's position in
 * SECTION ("unknown interface \"x\"" with a suggestion) and returns NULL. */
const struct gw_iface_cfg *gw_config_iface_ref(struct gw_config *cfg, const struct cf_arg *arg,
					       const char *section, struct cf_errors *err);
const struct gw_iface_cfg *gw_config_iface(const struct gw_config *cfg, const char *name);

/* The module's own typed config (NULL when not configured). */
const void *gw_config_module(const struct gw_config *cfg, const struct gw_module *mod);

#endif
