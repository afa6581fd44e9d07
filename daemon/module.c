/* module.c — starting, reloading and stopping the modules of the table
 * main.c composes. The reload protocol of DESIGN.md: the new config is
 * already validated whole when it gets here; each module adopts its part
 * in place (start, reload, or reload(old, NULL) + stop), and the old config
 * is freed only when every module has applied the new one. */
#include "module.h"

#include "config.h"
#include "core_config.h"
#include "gw.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const *module_sections(const struct gw_module *mod)
{
	static const char *none[] = {NULL};
	return mod->sections ? mod->sections : none;
}

int gw_modules_start(struct gw *gw)
{
	for (size_t i = 0; i < gw->nmodules; i++) {
		const struct gw_module *mod = gw->modules[i];
		const void *cfg = gw_config_module(gw->config, mod);
		int rc;

		if (!cfg || !mod->start)
			continue;
		rc = mod->start(gw, cfg, &gw->mod_state[i]);
		if (rc < 0) {
			gw_err("%s: cannot start: %s", mod->name, strerror(-rc));
			return rc;
		}
		gw->mod_running[i] = true;
		gw_info("%s: started", mod->name);
	}
	return 0;
}

void gw_modules_stop(struct gw *gw)
{
	/* reverse order: later modules may rely on earlier ones' effects */
	for (size_t i = gw->nmodules; i-- > 0;) {
		if (!gw->mod_running[i])
			continue;
		gw->modules[i]->stop(gw, gw->mod_state[i]);
		gw->mod_running[i] = false;
		gw->mod_state[i] = NULL;
		gw_info("%s: stopped", gw->modules[i]->name);
	}
}

/* One reload in progress at a time: gw->reload_job. */
struct gw_reload_job {
	struct gw_config *old_cfg;
	gw_reload_done_fn done;
	void *data;
	size_t pending;  /* modules that answered GW_RELOAD_PENDING */
	bool *waiting;   /* per module: still pending */
	int rc;
	char msg[512];
	const char *changed[64];
	size_t nchanged;
};

static void job_note_error(struct gw_reload_job *job, const struct gw_module *mod, int rc, const char *msg)
{
	size_t used = strlen(job->msg);

	if (job->rc == 0)
		job->rc = rc;
	snprintf(job->msg + used, sizeof(job->msg) - used, "%s%s: %s", used ? "; " : "", mod->name,
		 msg && *msg ? msg : strerror(-rc));
}

static void job_finish(struct gw *gw, struct gw_reload_job *job)
{
	gw_config_free(job->old_cfg);
	gw->reload_job = NULL;
	job->done(gw, job->data, job->rc, job->rc ? job->msg : NULL, job->changed, job->nchanged);
	free(job->waiting);
	free(job);
}

static bool text_differs(const struct cf_tree *a, const struct cf_tree *b, const char *const *keywords)
{
	char *ta = cf_canonical_text(a ? a->root : NULL, keywords);
	char *tb = cf_canonical_text(b ? b->root : NULL, keywords);
	bool differs = !ta || !tb || strcmp(ta, tb) != 0;

	free(ta);
	free(tb);
	return differs;
}

/* Apply module I's part of NEW; returns 1 when pending. */
static int reload_one(struct gw *gw, struct gw_reload_job *job, size_t i, const struct gw_config *new_cfg)
{
	const struct gw_module *mod = gw->modules[i];
	const void *old_mc = gw_config_module(job->old_cfg, mod);
	const void *new_mc = gw_config_module(new_cfg, mod);
	int rc = 0;

	if (!gw->mod_running[i]) {
		if (!new_mc || !mod->start)
			return 0;
		rc = mod->start(gw, new_mc, &gw->mod_state[i]);
		if (rc < 0) {
			job_note_error(job, mod, rc, "cannot start");
			return 0;
		}
		gw->mod_running[i] = true;
		gw_info("%s: started", mod->name);
		return 0;
	}
	if (!new_mc) {
		/* section removed: undo what outlives us, then stop */
		if (mod->reload)
			(void)mod->reload(gw, gw->mod_state[i], old_mc, NULL);
		mod->stop(gw, gw->mod_state[i]);
		gw->mod_running[i] = false;
		gw->mod_state[i] = NULL;
		gw_info("%s: stopped (section removed)", mod->name);
		return 0;
	}
	rc = mod->reload ? mod->reload(gw, gw->mod_state[i], old_mc, new_mc) : 0;
	if (rc == GW_RELOAD_PENDING)
		return 1;
	if (rc < 0)
		job_note_error(job, mod, rc, NULL);
	return 0;
}

void gw_modules_reload(struct gw *gw, struct gw_config *new_cfg, gw_reload_done_fn done, void *data)
{
	static const char *const core_keywords[] = {"user", "state-dir", "log-level", "interface", "control",
						    NULL};
	struct gw_reload_job *job = calloc(1, sizeof(*job));
	bool *waiting = calloc(gw->nmodules ? gw->nmodules : 1, sizeof(bool));

	if (!job || !waiting) {
		free(job);
		free(waiting);
		gw_config_free(new_cfg);
		done(gw, data, -ENOMEM, "out of memory", NULL, 0);
		return;
	}
	job->old_cfg = gw->config;
	job->done = done;
	job->data = data;
	job->waiting = waiting;
	gw->reload_job = job;

	if (text_differs(job->old_cfg->tree, new_cfg->tree, core_keywords))
		job->changed[job->nchanged++] = "core";
	for (size_t i = 0; i < gw->nmodules && job->nchanged < 64; i++)
		if (text_differs(job->old_cfg->tree, new_cfg->tree, module_sections(gw->modules[i])))
			job->changed[job->nchanged++] = gw->modules[i]->name;

	/* the new config is in force from here on; modules read it from gw */
	gw->config = new_cfg;
	for (size_t i = 0; i < gw->nmodules; i++) {
		if (reload_one(gw, job, i, new_cfg)) {
			job->waiting[i] = true;
			job->pending++;
		}
	}
	if (job->pending == 0)
		job_finish(gw, job);
}

void gw_module_reload_done(struct gw *gw, const struct gw_module *mod, int rc, const char *msg)
{
	struct gw_reload_job *job = gw->reload_job;

	if (!job)
		return;
	for (size_t i = 0; i < gw->nmodules; i++) {
		if (gw->modules[i] != mod || !job->waiting[i])
			continue;
		job->waiting[i] = false;
		if (rc < 0)
			job_note_error(job, mod, rc, msg);
		if (--job->pending == 0)
			job_finish(gw, job);
		return;
	}
}
