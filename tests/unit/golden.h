/* golden.h — the config golden-file runner every section's tests share
 * (BIRD's way: DIR/ok-*.conf must load, DIR/err-*.conf must fail, and
 * NAME.err holds exactly what the run says). Include after <cmocka.h>.
 * GOLDEN_UPDATE=1 in the environment rewrites the .err files. */
#ifndef HOMEGW_TESTS_GOLDEN_H
#define HOMEGW_TESTS_GOLDEN_H

#include "core_config.h"
#include "module.h" /* the stand-in modules */

#include <arpa/inet.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file's whole content, or NULL when it cannot be read. */
static inline char *golden_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* What a run says: errors, then warnings with the prefix --check prints. */
static inline char *golden_render(const struct cf_errors *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	for (size_t i = 0; i < e->nerrors; i++)
		fprintf(m, "%s\n", e->errors[i]);
	for (size_t i = 0; i < e->nwarnings; i++)
		fprintf(m, "warning: %s\n", e->warnings[i]);
	fclose(m);
	return buf;
}

/* E's lines are exactly WANT. */
static inline void golden_expect_lines(const struct cf_errors *e, const char *want)
{
	char *got = golden_render(e);

	if (strcmp(got, want) != 0)
		print_error("expected:\n%s---- got:\n%s----\n", want, got);
	assert_string_equal(got, want);
	free(got);
}

/* A check of a loaded ok- file beyond "it loaded" (may be NULL). */
typedef bool (*golden_extra_fn)(const char *conf, const struct gw_config *cfg);

struct golden_suite {
	const char *dir; /* "tests/config/": with the final slash */
	const struct gw_module *const *modules;
	size_t nmodules;
	golden_extra_fn extra;
};

static inline bool golden_one(const struct golden_suite *g, const char *conf)
{
	char ok_prefix[512], err_prefix[512], errpath[512], *want, *got;
	bool update = getenv("GOLDEN_UPDATE") != NULL, good = true, is_ok;
	struct gw_config *cfg;
	struct cf_errors e;

	snprintf(ok_prefix, sizeof(ok_prefix), "%sok-", g->dir);
	snprintf(err_prefix, sizeof(err_prefix), "%serr-", g->dir);
	is_ok = strncmp(conf, ok_prefix, strlen(ok_prefix)) == 0;
	snprintf(errpath, sizeof(errpath), "%.*s.err", (int)(strlen(conf) - 5), conf);
	cf_errors_init(&e);
	cfg = gw_config_load(conf, g->modules, g->nmodules, &e);
	got = golden_render(&e);
	want = golden_slurp(errpath);
	if (!is_ok && strncmp(conf, err_prefix, strlen(err_prefix)) != 0) {
		print_error("%s: a golden file is named ok-*.conf or err-*.conf\n", conf);
		good = false;
	}
	if (is_ok != (cfg != NULL)) {
		print_error("%s: %s\n", conf, is_ok ? "did not load" : "loaded, but must fail");
		good = false;
	}
	if (is_ok && cfg && g->extra && !g->extra(conf, cfg))
		good = false;
	if (update && (*got || want)) {
		FILE *f = fopen(errpath, "w");

		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	} else if (strcmp(want ? want : "", got) != 0) {
		print_error("%s: expected (%s):\n%s---- got:\n%s----\n", conf, errpath, want ? want : "",
			    got);
		good = false;
	}
	if (!is_ok && !*got) {
		print_error("%s: an err- file must say something\n", conf);
		good = false;
	}
	free(want);
	free(got);
	cf_errors_free(&e);
	gw_config_free(cfg);
	return good;
}

/* Every DIR*.conf (at least MIN_FILES of them) against its .err. */
static inline void golden_run(const struct golden_suite *g, size_t min_files)
{
	char pattern[512];
	glob_t gl;
	size_t bad = 0;

	snprintf(pattern, sizeof(pattern), "%s*.conf", g->dir);
	assert_int_equal(glob(pattern, 0, NULL, &gl), 0);
	assert_true(gl.gl_pathc >= min_files);
	for (size_t i = 0; i < gl.gl_pathc; i++)
		bad += !golden_one(g, gl.gl_pathv[i]);
	globfree(&gl);
	assert_int_equal(bad, 0);
}

/* Every .err has its .conf (a renamed test must not leave a dead file). */
static inline void golden_no_orphans(const char *dir)
{
	char pattern[512];
	glob_t gl;

	snprintf(pattern, sizeof(pattern), "%s*.err", dir);
	assert_int_equal(glob(pattern, 0, NULL, &gl), 0);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		char conf[512];
		FILE *f;

		snprintf(conf, sizeof(conf), "%.*s.conf", (int)(strlen(gl.gl_pathv[i]) - 4), gl.gl_pathv[i]);
		f = fopen(conf, "r");
		if (!f)
			print_error("%s has no %s\n", gl.gl_pathv[i], conf);
		assert_non_null(f);
		fclose(f);
	}
	globfree(&gl);
}

/* ---- helpers the modules' config tests share ---- */

/* A stand-in for the modules a test does not link: it accepts its sections
 * and keeps nothing. */
static inline int golden_accept_all(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	(void)cfg;
	(void)err;
	*mod_cfg = NULL;
	return 0;
}

/* main.c's modules, by the sections each owns, as stand-ins: a module's
 * config test puts its real module in place of its own stand-in and keeps
 * main.c's order (dhcp, dns, nat, igmp). One list for every test. */
static const char *const golden_sections_dhcp[] = {"dhcp", "dhcp-relay", NULL};
static const char *const golden_sections_dns[] = {"dns", NULL};
static const char *const golden_sections_nat[] = {"nat", NULL};
static const char *const golden_sections_igmp[] = {"igmp-proxy", NULL};
static const struct gw_module golden_dhcp = {
	.name = "dhcp", .sections = golden_sections_dhcp, .configure = golden_accept_all};
static const struct gw_module golden_dns = {
	.name = "dns", .sections = golden_sections_dns, .configure = golden_accept_all};
static const struct gw_module golden_nat = {
	.name = "nat", .sections = golden_sections_nat, .configure = golden_accept_all};
static const struct gw_module golden_igmp = {
	.name = "igmp", .sections = golden_sections_igmp, .configure = golden_accept_all};

/* TEXT (named t.conf) loaded with the module table T (N entries). */
static inline struct gw_config *golden_load_text(const struct gw_module *const *t, size_t n, const char *text,
						 struct cf_errors *e)
{
	struct cf_tree *tree;

	cf_errors_init(e);
	tree = cf_parse_string("t.conf", text, strlen(text), e);
	assert_non_null(tree);
	return gw_config_from_tree(tree, "t.conf", t, n, e);
}

/* TEXT must fail with exactly WANT. */
static inline void golden_expect_fail(const struct gw_module *const *t, size_t n, const char *text, const char *want)
{
	struct cf_errors e;

	assert_null(golden_load_text(t, n, text, &e));
	golden_expect_lines(&e, want);
	cf_errors_free(&e);
}

/* TEXT must load with the table T (N entries) and exactly the warnings WANT
 * ("" for none). Returns MOD's config; *CFG is the whole, for gw_config_free(). */
static inline const void *golden_load_module(const struct gw_module *const *t, size_t n,
					     const struct gw_module *mod, const char *text, const char *want,
					     struct gw_config **cfg)
{
	struct cf_errors e;

	*cfg = golden_load_text(t, n, text, &e);
	golden_expect_lines(&e, want);
	assert_non_null(*cfg);
	cf_errors_free(&e);
	return gw_config_module(*cfg, mod);
}

static inline struct in_addr golden_ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static inline void golden_assert_ip(struct in_addr a, const char *s)
{
	char buf[INET_ADDRSTRLEN];

	assert_string_equal(inet_ntop(AF_INET, &a, buf, sizeof(buf)), s);
}

#endif
