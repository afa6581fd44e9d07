/* test_module.c — the module lifecycle and reload protocol of module.c,
 * driven with a fake module through real config files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"
#include "core_config.h"
#include "gw.h"
#include "module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the fake module saw, in order. */
static char calls[1024];
static int reload_answer; /* what fake_reload returns */
static struct gw *pending_gw;

/* "name(arg) " or "name " into calls */
static void note(const char *name, const char *arg)
{
	size_t used = strlen(calls);
	if (arg)
		snprintf(calls + used, sizeof(calls) - used, "%s(%s) ", name, arg);
	else
		snprintf(calls + used, sizeof(calls) - used, "%s ", name);
}

struct fake_cfg {
	char value[64];
};

static int fake_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	const struct cf_node *n = cf_find(cfg->tree ? cfg->tree->root : NULL, "fake");
	struct fake_cfg *fc;

	*mod_cfg = NULL;
	if (!n)
		return 0;
	if (n->nargs != 1) {
		cf_error(err, &n->pos, "fake", "needs one argument");
		return -EINVAL;
	}
	fc = calloc(1, sizeof(*fc));
	snprintf(fc->value, sizeof(fc->value), "%s", n->args[0].text);
	*mod_cfg = fc;
	return 0;
}

static int fake_start(struct gw *gw, const void *cfg, void **state)
{
	note("start", ((const struct fake_cfg *)cfg)->value);
	*state = (void *)0x1;
	return 0;
}

static int fake_reload(struct gw *gw, void *state, const void *old_cfg, const void *new_cfg)
{
	char both[160];
	snprintf(both, sizeof(both), "%s->%s", old_cfg ? ((const struct fake_cfg *)old_cfg)->value : "-",
		 new_cfg ? ((const struct fake_cfg *)new_cfg)->value : "NULL");
	note("reload", both);
	if (reload_answer == GW_RELOAD_PENDING)
		pending_gw = gw;
	return new_cfg ? reload_answer : 0;
}

static void fake_stop(struct gw *gw, void *state) { note("stop", NULL); }

static const char *const fake_sections[] = {"fake", NULL};
static const struct gw_module fake = {
	.name = "fake",
	.sections = fake_sections,
	.configure = fake_configure,
	.start = fake_start,
	.reload = fake_reload,
	.stop = fake_stop,
	.free_config = free,
};
static const char *const planned_sections[] = {"planned", NULL};
static const struct gw_module planned = {.name = "planned", .sections = planned_sections};
static const struct gw_module *const table[] = {&fake, &planned};

static char path[64];

static struct gw_config *load(const char *text, struct cf_errors *err)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return gw_config_load(path, table, 2, err);
}

struct done_record {
	int calls;
	int rc;
	char changed[128];
};

static void on_done(struct gw *gw, void *data, int rc, const char *msg, const char *const *changed, size_t n)
{
	struct done_record *d = data;
	d->calls++;
	d->rc = rc;
	d->changed[0] = 0;
	for (size_t i = 0; i < n; i++) {
		strcat(d->changed, changed[i]);
		strcat(d->changed, " ");
	}
}

static void *states[2];
static bool running[2];

static struct gw make_gw(struct gw_config *cfg)
{
	struct gw gw = {0};
	gw.config = cfg;
	gw.modules = table;
	gw.nmodules = 2;
	gw.mod_state = states;
	gw.mod_running = running;
	memset(states, 0, sizeof(states));
	memset(running, 0, sizeof(running));
	return gw;
}

static int setup(void **st)
{
	snprintf(path, sizeof(path), "/tmp/test_module.%d.conf", (int)getpid());
	calls[0] = 0;
	reload_answer = 0;
	pending_gw = NULL;
	return 0;
}

static int teardown(void **st)
{
	unlink(path);
	return 0;
}

static void test_lifecycle(void **st)
{
	struct cf_errors err;
	struct done_record d = {0};
	cf_errors_init(&err);

	struct gw_config *c1 = load("# nothing yet\n", &err);
	assert_non_null(c1);
	struct gw gw = make_gw(c1);
	assert_int_equal(gw_modules_start(&gw), 0);
	assert_string_equal(calls, ""); /* not configured: not started */

	/* section added: start */
	gw_modules_reload(&gw, load("fake one\n", &err), on_done, &d);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.rc, 0);
	assert_string_equal(d.changed, "fake ");
	assert_string_equal(calls, "start(one) ");
	assert_true(running[0]);

	/* changed value: reload in place, no restart */
	calls[0] = 0;
	gw_modules_reload(&gw, load("fake two\n", &err), on_done, &d);
	assert_string_equal(calls, "reload(one->two) ");
	assert_string_equal(d.changed, "fake ");

	/* only a comment changed: reload is still offered, nothing reported changed */
	calls[0] = 0;
	gw_modules_reload(&gw, load("# hello\nfake   two\n", &err), on_done, &d);
	assert_string_equal(d.changed, "");

	/* a core change is reported as "core" */
	gw_modules_reload(&gw, load("fake two\nlog-level debug\n", &err), on_done, &d);
	assert_string_equal(d.changed, "core ");

	/* section removed: reload(old, NULL) then stop */
	calls[0] = 0;
	gw_modules_reload(&gw, load("log-level debug\n", &err), on_done, &d);
	assert_string_equal(calls, "reload(two->NULL) stop ");
	assert_false(running[0]);
	assert_int_equal(d.calls, 5);
	assert_int_equal(err.nerrors, 0);

	gw_modules_stop(&gw);
	gw_config_free(gw.config);
	cf_errors_free(&err);
}

static void test_pending_reload(void **st)
{
	struct cf_errors err;
	struct done_record d = {0};
	cf_errors_init(&err);

	struct gw gw = make_gw(load("fake a\n", &err));
	assert_int_equal(gw_modules_start(&gw), 0);
	reload_answer = GW_RELOAD_PENDING;
	gw_modules_reload(&gw, load("fake b\n", &err), on_done, &d);
	/* not done until the module says so; no second reload meanwhile */
	assert_int_equal(d.calls, 0);
	assert_non_null(gw.reload_job);
	assert_ptr_equal(pending_gw, &gw);
	gw_module_reload_done(&gw, &fake, -EIO, "kernel said no");
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.rc, -EIO);
	assert_null(gw.reload_job);
	/* a late or duplicate completion is harmless */
	gw_module_reload_done(&gw, &fake, 0, NULL);
	assert_int_equal(d.calls, 1);

	gw_modules_stop(&gw);
	assert_string_equal(calls, "start(a) reload(a->b) stop ");
	gw_config_free(gw.config);
	cf_errors_free(&err);
}

static void test_bad_config_and_planned_module(void **st)
{
	struct cf_errors err;
	cf_errors_init(&err);

	/* the module's own errors and the planned module's section both fail the load */
	assert_null(load("fake\nplanned {\n}\n", &err));
	assert_int_equal(err.nerrors, 2);
	char want[128];
	/* the core's own errors come first, then each module's */
	snprintf(want, sizeof(want), "%s:2:1: planned: not supported yet", path);
	assert_string_equal(err.errors[0], want);
	snprintf(want, sizeof(want), "%s:1:1: fake: needs one argument", path);
	assert_string_equal(err.errors[1], want);
	cf_errors_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_and_planned_module, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
