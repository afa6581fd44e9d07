/* core.c — the core's own work on the loop: reload, status, and keeping
 * an eye on the interface and names tables. See core.h. */
#include "core.h"

#include "config.h"
#include "control.h"
#include "core_config.h"
#include "gw.h"
#include "iface.h"
#include "log.h"
#include "module.h"
#include "names.h"
#include "sdnotify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_core_apply_log_level(struct gw *gw)
{
	gw_log_set_level(gw->debug ? GW_LOG_DEBUG : (enum gw_log_level)gw->config->log_level);
}

/* ---- reload ---- */

static json_t *json_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void reload_done(struct gw *gw, void *data, int rc, const char *msg, const char *const *changed,
			size_t nchanged)
{
	struct gw_request *req = data;

	gw->config_loaded_at = time(NULL);
	gw_core_apply_log_level(gw);
	gw_sd_notify("READY=1");
	if (rc < 0) {
		gw_err("reload: applied with errors: %s", msg);
		if (req)
			gw_request_fail(req, "%s", msg);
		return;
	}
	gw_info("reload: configuration %s applied (%zu part%s changed)", gw->config_path, nchanged,
		nchanged == 1 ? "" : "s");
	if (req) {
		json_t *o = json_object();
		json_object_set_new(o, "changed", json_strings(changed, nchanged));
		gw_request_ok(req, o);
	}
}

static void reload_rejected(struct gw_request *req, const struct cf_errors *err)
{
	for (size_t i = 0; i < err->nerrors; i++)
		gw_err("%s", err->errors[i]);
	gw_err("reload: %s has %zu error%s; keeping the configuration in force", "the config file",
	       err->nerrors, err->nerrors == 1 ? "" : "s");
	if (req) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "error", json_sprintf("config has %zu error%s", err->nerrors,
							    err->nerrors == 1 ? "" : "s"));
		json_object_set_new(o, "errors",
				    json_strings((const char *const *)err->errors, err->nerrors));
		gw_request_reply(req, o);
	}
}

/* What the running process cannot adopt in place; said, not hidden. */
static void warn_restart_only(const struct gw_config *old, const struct gw_config *new)
{
	if ((old->user == NULL) != (new->user == NULL) ||
	    (old->user && new->user && strcmp(old->user, new->user) != 0))
		gw_warn("reload: a change of \"user\" takes effect at the next start");
	if (strcmp(old->control_socket, new->control_socket) != 0 ||
	    (old->control_group == NULL) != (new->control_group == NULL) ||
	    (old->control_group && new->control_group && strcmp(old->control_group, new->control_group)))
		gw_warn("reload: a change of the control socket takes effect at the next start");
}

void gw_core_reload(struct gw *gw, struct gw_request *req)
{
	struct cf_errors err;
	struct gw_config *cfg;

	if (gw->reload_job) {
		if (req)
			gw_request_fail(req, "a reload is already being applied");
		return;
	}
	gw_info("reload: reading %s", gw->config_path);
	gw_sd_notify("RELOADING=1");
	cf_errors_init(&err);
	cfg = gw_config_load_live(gw->config_path, gw->modules, gw->nmodules, gw->ifaces, &err);
	for (size_t i = 0; i < err.nwarnings; i++)
		gw_warn("%s", err.warnings[i]);
	if (!cfg) {
		reload_rejected(req, &err);
		cf_errors_free(&err);
		gw_sd_notify("READY=1");
		return;
	}
	cf_errors_free(&err);
	warn_restart_only(gw->config, cfg);
	gw_modules_reload(gw, cfg, reload_done, req);
}

static void cmd_reload(struct gw_request *req, int argc, char **argv, void *data)
{
	gw_core_reload(data, req);
}

/* ---- status ---- */

static json_t *iface_json(const struct gw *gw, const struct gw_iface_cfg *ic)
{
	const struct gw_iface *ifc = gw_iface_by_name(gw->ifaces, ic->device);
	json_t *o = json_object();
	json_t *addrs = json_array();

	json_object_set_new(o, "name", json_string(ic->name));
	json_object_set_new(o, "device", json_string(ic->device));
	json_object_set_new(o, "ifindex", json_integer(ifc ? ifc->ifindex : 0));
	json_object_set_new(o, "present", json_boolean(ifc != NULL));
	json_object_set_new(o, "up", json_boolean(ifc && ifc->up));
	json_object_set_new(o, "running", json_boolean(ifc && ifc->running));
	for (size_t i = 0; ifc && i < ifc->naddrs; i++) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &ifc->addrs[i].addr, a, sizeof(a));
		json_array_append_new(addrs, json_sprintf("%s/%u", a, ifc->addrs[i].prefixlen));
	}
	json_object_set_new(o, "addresses", addrs);
	return o;
}

static json_t *module_json(const struct gw *gw, size_t i)
{
	const struct gw_module *mod = gw->modules[i];
	json_t *o = json_object();
	char summary[256] = "";

	json_object_set_new(o, "running", json_boolean(gw->mod_running[i]));
	if (!mod->configure)
		snprintf(summary, sizeof(summary), "not in this build yet");
	else if (!gw->mod_running[i])
		snprintf(summary, sizeof(summary), "not configured");
	else if (mod->summary)
		mod->summary(gw->mod_state[i], summary, sizeof(summary));
	json_object_set_new(o, "summary", json_string(summary));
	return o;
}

static void cmd_status(struct gw_request *req, int argc, char **argv, void *data)
{
	struct gw *gw = data;
	json_t *o = json_object(), *cfg = json_object(), *ifs = json_array(), *mods = json_object();

	json_object_set_new(o, "version", json_string(GW_VERSION));
	json_object_set_new(o, "uptime", json_integer(time(NULL) - gw->started_at));
	json_object_set_new(cfg, "path", json_string(gw->config_path));
	json_object_set_new(cfg, "loaded_at", json_integer(gw->config_loaded_at));
	json_object_set_new(o, "config", cfg);
	for (size_t i = 0; i < gw->config->nifaces; i++)
		json_array_append_new(ifs, iface_json(gw, &gw->config->ifaces[i]));
	json_object_set_new(o, "interfaces", ifs);
	for (size_t i = 0; i < gw->nmodules; i++)
		json_object_set_new(mods, gw->modules[i]->name, module_json(gw, i));
	json_object_set_new(o, "modules", mods);
	gw_request_ok(req, o);
}

static const struct gw_command core_commands[] = {
	{.name = "status", .admin = false, .min_args = 0, .max_args = 0, .usage = "status", .fn = cmd_status},
	{.name = "reload", .admin = true, .min_args = 0, .max_args = 0, .usage = "reload", .fn = cmd_reload},
};

/* A module's command as registered: the module's own, behind a
 * trampoline that hands it the module's current state, or answers that the
 * module is not running. So `leases` on a router without DHCP says why
 * instead of "unknown command", and modules never (un)register anything. */
struct gw_module_binding {
	struct gw *gw;
	size_t module;
	const struct gw_command *cmd;
	struct gw_command proxy; /* what the control table holds */
};

static void module_command(struct gw_request *req, int argc, char **argv, void *data)
{
	struct gw_module_binding *b = data;
	const struct gw_module *mod = b->gw->modules[b->module];
	char sections[128] = "";

	if (b->gw->mod_running[b->module]) {
		b->cmd->fn(req, argc, argv, b->gw->mod_state[b->module]);
		return;
	}
	for (size_t i = 0; mod->sections && mod->sections[i]; i++) {
		size_t used = strlen(sections);
		snprintf(sections + used, sizeof(sections) - used, "%s\"%s\"", i ? " or " : "", mod->sections[i]);
	}
	gw_request_fail(req, "%s is not running: the configuration has no %s section", mod->name, sections);
}

static size_t count_module_commands(const struct gw *gw)
{
	size_t n = 0;

	for (size_t i = 0; i < gw->nmodules; i++)
		n += gw->modules[i]->configure ? gw->modules[i]->ncommands : 0;
	return n;
}

int gw_core_register_commands(struct gw *gw)
{
	size_t n = count_module_commands(gw), k = 0;

	for (size_t i = 0; i < sizeof(core_commands) / sizeof(core_commands[0]); i++) {
		int rc = gw_control_register(gw->control, &core_commands[i], gw);
		if (rc < 0)
			return rc;
	}
	gw->bindings = calloc(n ? n : 1, sizeof(*gw->bindings));
	if (!gw->bindings)
		return -ENOMEM;
	for (size_t i = 0; i < gw->nmodules; i++) {
		const struct gw_module *mod = gw->modules[i];

		for (size_t c = 0; mod->configure && c < mod->ncommands; c++, k++) {
			struct gw_module_binding *b = &gw->bindings[k];
			int rc;

			*b = (struct gw_module_binding){gw, i, &mod->commands[c], mod->commands[c]};
			b->proxy.fn = module_command;
			rc = gw_control_register(gw->control, &b->proxy, b);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

void gw_core_free_commands(struct gw *gw)
{
	free(gw->bindings);
	gw->bindings = NULL;
}

/* ---- watching the tables ---- */

/* The config name of a device, for log lines users recognise. */
static const char *config_name(const struct gw *gw, const char *device)
{
	for (size_t i = 0; i < gw->config->nifaces; i++)
		if (strcmp(gw->config->ifaces[i].device, device) == 0)
			return gw->config->ifaces[i].name;
	return NULL;
}

static void on_iface(void *data, const struct gw_iface *ifc, enum gw_iface_event ev,
		     const struct gw_iface_addr *addr)
{
	struct gw *gw = data;
	const char *name = config_name(gw, ifc->name);
	char a[INET_ADDRSTRLEN] = "";

	if (!name)
		return; /* not ours: debug noise only */
	if (addr)
		inet_ntop(AF_INET, &addr->addr, a, sizeof(a));
	switch (ev) {
	case GW_IFACE_ADDED:
		gw_info("interface %s: device %s present (ifindex %d)", name, ifc->name, ifc->ifindex);
		break;
	case GW_IFACE_REMOVED:
		gw_info("interface %s: device %s gone", name, ifc->name);
		break;
	case GW_IFACE_CHANGED:
		gw_debug("interface %s: %s is %s%s", name, ifc->name, ifc->up ? "up" : "down",
			 ifc->running ? ", carrier" : "");
		break;
	case GW_IFACE_ADDR_ADDED:
		gw_info("interface %s: address %s/%u added", name, a, addr->prefixlen);
		break;
	case GW_IFACE_ADDR_REMOVED:
		gw_info("interface %s: address %s/%u removed", name, a, addr->prefixlen);
		break;
	}
}

static void on_names_expiry(uv_timer_t *t);

/* One timer for the earliest expiry in the names table: no periodic polling. */
static void names_expiry_arm(struct gw *gw)
{
	time_t next = gw_names_next_expiry(gw->names), now = time(NULL);

	if (next == 0) {
		uv_timer_stop(&gw->names_expiry);
		return;
	}
	uv_timer_start(&gw->names_expiry, on_names_expiry, next > now ? (uint64_t)(next - now) * 1000 : 0, 0);
}

static void on_names_expiry(uv_timer_t *t)
{
	struct gw *gw = container_of(t, struct gw, names_expiry);
	size_t n = gw_names_expire(gw->names, time(NULL));

	if (n)
		gw_debug("names: %zu expired", n);
	names_expiry_arm(gw);
}

static void on_names(void *data, const struct gw_name *entry, enum gw_names_event ev)
{
	struct gw *gw = data;
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &entry->addr, a, sizeof(a));
	gw_debug("names: %s %s %s", ev == GW_NAME_ADDED ? "added" : "removed", entry->name, a);
	if (ev == GW_NAME_ADDED && entry->expires)
		names_expiry_arm(gw);
}

int gw_core_watch_tables(struct gw *gw)
{
	int id;

	uv_timer_init(gw->loop, &gw->names_expiry);
	id = gw_iface_subscribe(gw->ifaces, on_iface, gw);
	if (id < 0)
		return id;
	gw->iface_sub = id;
	id = gw_names_subscribe(gw->names, on_names, gw);
	if (id < 0)
		return id;
	gw->names_sub = id;
	return 0;
}

void gw_core_unwatch_tables(struct gw *gw)
{
	if (gw->iface_sub > 0)
		gw_iface_unsubscribe(gw->ifaces, gw->iface_sub);
	if (gw->names_sub > 0)
		gw_names_unsubscribe(gw->names, gw->names_sub);
	gw->iface_sub = gw->names_sub = 0;
	if (gw->names_expiry.loop && !uv_is_closing((uv_handle_t *)&gw->names_expiry))
		uv_close((uv_handle_t *)&gw->names_expiry, NULL);
}
