/* test_core_config.c — gw_config_load and the core sections: the golden
 * files of tests/config (run from the source root), defaults and values,
 * the generic top-level rules, and the dispatch to modules' configure().
 *
 * GOLDEN_UPDATE=1 rewrites every tests/config/X.err file from what the code says
 * now: for adding a golden file, then reading the diff before committing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "core_config.h"
#include "log.h"
#include "module.h"

/* ---- the module table of the golden files: the real future section
 * names, none built yet, plus one test module whose configure drives the
 * shared argument getters and interface references ---- */

static const char *const s_dhcp[] = {"dhcp", "dhcp-relay", NULL};
static const char *const s_dns[] = {"dns", NULL};
static const char *const s_nat[] = {"nat", NULL};
static const char *const s_igmp[] = {"igmp-proxy", NULL};
static const char *const s_values[] = {"test-values", NULL};

static void values_check(struct gw_config *cfg, const struct cf_node *c, const char *label,
			 struct cf_errors *err)
{
	const char *k = c->keyword;
	struct in_addr a;
	uint8_t len, mac[6], hex[16];
	uint64_t u;
	bool b;

	if (c->nargs != 1)
		return;
	if (!strcmp(k, "duration"))
		cf_arg_duration(c, 0, label, err, &u);
	else if (!strcmp(k, "size"))
		cf_arg_size(c, 0, label, err, &u);
	else if (!strcmp(k, "bool"))
		cf_arg_bool(c, 0, label, err, &b);
	else if (!strcmp(k, "uint"))
		cf_arg_uint(c, 0, label, err, 0, UINT64_MAX, &u);
	else if (!strcmp(k, "ipv4"))
		cf_arg_ipv4(c, 0, label, err, &a);
	else if (!strcmp(k, "prefix"))
		cf_arg_prefix(c, 0, label, err, &a, &len);
	else if (!strcmp(k, "mac"))
		cf_arg_mac(c, 0, label, err, mac);
	else if (!strcmp(k, "hex"))
		cf_arg_hex(c, 0, label, err, hex, sizeof(hex));
	else if (!strcmp(k, "iface"))
		gw_config_iface_ref(cfg, &c->args[0], label, err);
}

static int values_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	static const struct cf_keyword section = {"test-values", 0, 1, true, true};
	static const struct cf_keyword kws[] = {
		{"duration", 1, 1, false, true},
		{"size", 1, 1, false, true},
		{"bool", 1, 1, false, true},
		{"uint", 1, 1, false, true},
		{"ipv4", 1, 1, false, true},
		{"prefix", 1, 1, false, true},
		{"mac", 1, 1, false, true},
		{"hex", 1, 1, false, true},
		{"iface", 1, 1, false, true},
		{"string", 0, -1, false, true},
		{"nested", 0, 0, true, true},
		{NULL, 0, 0, false, false},
	};
	size_t count = 0;

	*mod_cfg = NULL;
	for (const struct cf_node *n = cfg->tree->root; n; n = n->next) {
		char label[CF_LABEL_MAX];

		if (strcmp(n->keyword, "test-values") != 0)
			continue;
		count++;
		cf_section_label(n, label, sizeof(label));
		cf_check_node(n, NULL, &section, err);
		cf_check_keywords(n->children, label, kws, err);
		for (const struct cf_node *c = n->children; c; c = c->next)
			values_check(cfg, c, label, err);
	}
	if (count) {
		size_t *p = malloc(sizeof(*p));

		if (!p)
			return -ENOMEM;
		*p = count;
		*mod_cfg = p;
	}
	return 0;
}

static const struct gw_module golden_mods[] = {
	{.name = "dhcp", .sections = s_dhcp},
	{.name = "dns", .sections = s_dns},
	{.name = "nat", .sections = s_nat},
	{.name = "igmp", .sections = s_igmp},
	{.name = "values", .sections = s_values, .configure = values_configure, .free_config = free},
};
static const struct gw_module *const golden_table[] = {&golden_mods[0], &golden_mods[1], &golden_mods[2],
						       &golden_mods[3], &golden_mods[4]};
#define NGOLDEN (sizeof(golden_table) / sizeof(golden_table[0]))

/* ---- golden files ---- */

static const struct golden_suite golden = {"tests/config/", golden_table, NGOLDEN, NULL};

static void test_golden(void **state)
{
	golden_run(&golden, 20);
}

static void test_golden_no_orphans(void **state)
{
	golden_no_orphans("tests/config/");
}

/* ---- from a string: the unit tests' way to a config ---- */

static struct gw_config *load_text(const char *text, const struct gw_module *const *mods, size_t n,
				   struct cf_errors *e)
{
	struct cf_tree *t;

	cf_errors_init(e);
	t = cf_parse_string("t.conf", text, strlen(text), e);
	assert_non_null(t);
	return gw_config_from_tree(t, "t.conf", mods, n, e);
}


static void test_defaults(void **state)
{
	struct cf_errors e;
	struct gw_config *cfg = load_text("# nothing\n", golden_table, NGOLDEN, &e);

	assert_non_null(cfg);
	assert_int_equal(e.nerrors, 0);
	assert_int_equal(e.nwarnings, 0);
	assert_null(cfg->user);
	assert_string_equal(cfg->state_dir, "/var/lib/homegw");
	assert_string_equal(cfg->state_dir, GW_DEFAULT_STATE_DIR);
	assert_string_equal(cfg->control_socket, "/run/homegw/control.sock");
	assert_null(cfg->control_group);
	assert_int_equal(cfg->log_level, GW_LOG_INFO);
	assert_int_equal(cfg->nifaces, 0);
	assert_string_equal(cfg->path, "t.conf");
	assert_int_equal(cfg->nmodules, NGOLDEN);
	for (size_t i = 0; i < NGOLDEN; i++)
		assert_null(gw_config_module(cfg, golden_table[i]));
	gw_config_free(cfg);
	cf_errors_free(&e);
}

static void test_core_values(void **state)
{
	struct cf_errors e;
	struct gw_config *cfg;

	cf_errors_init(&e);
	cfg = gw_config_load("tests/config/ok-full-core.conf", golden_table, NGOLDEN, &e);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, "tests/config/ok-full-core.conf");
	assert_string_equal(cfg->user, "homegw");
	assert_string_equal(cfg->state_dir, "/var/lib/homegw");
	assert_int_equal(cfg->log_level, GW_LOG_DEBUG);
	assert_int_equal(cfg->nifaces, 3);
	assert_string_equal(cfg->ifaces[0].name, "lan");
	assert_string_equal(cfg->ifaces[0].device, "br-lan");
	assert_int_equal(cfg->ifaces[0].pos.line, 6);
	assert_int_equal(cfg->ifaces[0].pos.col, 1);
	assert_string_equal(cfg->ifaces[1].name, "wan");
	assert_string_equal(cfg->ifaces[1].device, "eth0");
	assert_string_equal(cfg->ifaces[2].device, "br-guest");
	assert_ptr_equal(gw_config_iface(cfg, "wan"), &cfg->ifaces[1]);
	assert_null(gw_config_iface(cfg, "dmz"));
	assert_string_equal(cfg->control_socket, "/run/homegw/control.sock");
	assert_string_equal(cfg->control_group, "homegw");
	/* none used: warnings, not errors */
	assert_int_equal(e.nerrors, 0);
	assert_int_equal(e.nwarnings, 3);
	assert_string_equal(e.warnings[0],
			    "tests/config/ok-full-core.conf:6:1: interface lan: not used by any section");
	gw_config_free(cfg);
	cf_errors_free(&e);
}

static void test_log_levels(void **state)
{
	static const struct {
		const char *word;
		int level;
	} cases[] = {{"error", GW_LOG_ERR},
		     {"warning", GW_LOG_WARNING},
		     {"info", GW_LOG_INFO},
		     {"debug", GW_LOG_DEBUG}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		struct cf_errors e;
		struct gw_config *cfg;

		snprintf(text, sizeof(text), "log-level %s\n", cases[i].word);
		cfg = load_text(text, NULL, 0, &e);
		assert_non_null(cfg);
		assert_int_equal(cfg->log_level, cases[i].level);
		gw_config_free(cfg);
		cf_errors_free(&e);
	}
}

static void test_cannot_open(void **state)
{
	struct cf_errors e;

	cf_errors_init(&e);
	assert_null(gw_config_load("tests/config/no-such-file.conf", golden_table, NGOLDEN, &e));
	golden_expect_lines(&e, "tests/config/no-such-file.conf: cannot open: No such file or directory\n");
	cf_errors_free(&e);

	cf_errors_init(&e);
	assert_null(gw_config_load("tests/config", golden_table, NGOLDEN, &e));
	golden_expect_lines(&e, "tests/config: is a directory\n");
	cf_errors_free(&e);
}

/* A tree with syntax errors never becomes a config, and the core's own
 * errors come after the parser's. */
static void test_from_tree_syntax_errors(void **state)
{
	struct cf_errors e;

	assert_null(load_text("log-level \"info\nlog-level loud\n", NULL, 0, &e));
	golden_expect_lines(&e, "t.conf:1:11: unterminated string: the closing '\"' is missing on this line\n"
			 "t.conf:2:11: log-level: \"loud\" is not one of error, warning, info, debug\n");
	cf_errors_free(&e);
}

static void test_paths_and_limits(void **state)
{
	struct cf_errors e;
	char text[512];
	struct gw_config *cfg;

	/* sun_path is 108 bytes: 107 characters fit, 108 do not */
	snprintf(text, sizeof(text), "control { socket /%0106d }\n", 0);
	cfg = load_text(text, NULL, 0, &e);
	assert_non_null(cfg);
	assert_int_equal(strlen(cfg->control_socket), 107);
	gw_config_free(cfg);
	cf_errors_free(&e);
	snprintf(text, sizeof(text), "control { socket /%0107d }\n", 0);
	assert_null(load_text(text, NULL, 0, &e));
	golden_expect_lines(&e, "t.conf:1:18: control: socket: the path is too long for a Unix socket (108 bytes, "
			 "at most 107)\n");
	cf_errors_free(&e);

	/* 15 characters are a device name, 16 are not */
	cfg = load_text("interface a { device abcdefghijklmno }\n", NULL, 0, &e);
	assert_non_null(cfg);
	assert_string_equal(cfg->ifaces[0].device, "abcdefghijklmno");
	gw_config_free(cfg);
	cf_errors_free(&e);

	/* a name of 32 characters is one, 33 are not */
	cfg = load_text("user abcdefghijklmnopqrstuvwxyz012345\n", NULL, 0, &e);
	assert_non_null(cfg);
	gw_config_free(cfg);
	cf_errors_free(&e);
	assert_null(load_text("user abcdefghijklmnopqrstuvwxyz0123456\n", NULL, 0, &e));
	assert_int_equal(e.nerrors, 1);
	cf_errors_free(&e);
}

/* ---- dispatch to a module with a real configure ---- */

struct fake_cfg {
	const struct gw_iface_cfg *uses;
	char *text;
};

static int fake_calls, fake_frees;
static int fake_rc;

static void fake_free(void *p)
{
	struct fake_cfg *fc = p;

	fake_frees++;
	free(fc->text);
	free(fc);
}

/* `fake { uses IFACE }`; *mod_cfg stays NULL when the section is absent */
static int fake_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	static const struct cf_keyword kws[] = {{"uses", 1, 1, false, false}, {NULL, 0, 0, false, false}};
	const struct cf_node *n = cf_find(cfg->tree->root, "fake");
	struct fake_cfg *fc;

	fake_calls++;
	assert_null(*mod_cfg);
	if (fake_rc)
		return fake_rc;
	if (!n)
		return 0;
	fc = calloc(1, sizeof(*fc));
	assert_non_null(fc);
	*mod_cfg = fc;
	cf_check_keywords(n->children, "fake", kws, err);
	n = cf_find(n->children, "uses");
	if (n && n->nargs == 1)
		fc->uses = gw_config_iface_ref(cfg, &n->args[0], "fake", err);
	fc->text = cf_canonical_text(cfg->tree->root, s_values);
	return 0;
}

static const char *const s_fake[] = {"fake", NULL};
static const struct gw_module fake_mods[] = {
	{.name = "nat", .sections = s_nat},
	{.name = "fake", .sections = s_fake, .configure = fake_configure, .free_config = fake_free},
};
static const struct gw_module *const fake_table[] = {&fake_mods[0], &fake_mods[1]};

static void fake_reset(void) { fake_calls = fake_frees = fake_rc = 0; }

static void test_dispatch(void **state)
{
	struct cf_errors e;
	struct gw_config *cfg;
	const struct fake_cfg *fc;

	/* absent: called once all the same, and nothing runs */
	fake_reset();
	cfg = load_text("log-level info\n", fake_table, 2, &e);
	assert_non_null(cfg);
	assert_int_equal(fake_calls, 1);
	assert_null(gw_config_module(cfg, &fake_mods[1]));
	gw_config_free(cfg);
	assert_int_equal(fake_frees, 0);
	cf_errors_free(&e);

	/* present: its typed config is the module's slot; references mark use */
	fake_reset();
	cfg = load_text("interface lan { device br-lan }\ninterface wan { device eth0 }\nfake { uses lan }\n",
			fake_table, 2, &e);
	assert_non_null(cfg);
	assert_int_equal(fake_calls, 1);
	fc = gw_config_module(cfg, &fake_mods[1]);
	assert_non_null(fc);
	assert_ptr_equal(fc, cfg->module_cfg[1]);
	assert_ptr_equal(fc->uses, gw_config_iface(cfg, "lan"));
	assert_true(cfg->ifaces[0].used);
	assert_false(cfg->ifaces[1].used);
	golden_expect_lines(&e, "warning: t.conf:2:1: interface wan: not used by any section\n");
	gw_config_free(cfg);
	assert_int_equal(fake_frees, 1);
	cf_errors_free(&e);
}

static void test_dispatch_errors(void **state)
{
	struct cf_errors e;

	/* the module's errors fail the load, its config is freed, and the
	 * core's errors and the module's are all reported in one run */
	fake_reset();
	assert_null(load_text(
		"interface lan { device br-lan }\nlog-level loud\nfake {\n\tuses lna\n\tusse lan\n}\n"
		"nat { }\n",
		fake_table, 2, &e));
	golden_expect_lines(&e, "t.conf:2:11: log-level: \"loud\" is not one of error, warning, info, debug\n"
			 "t.conf:7:1: nat: not supported yet\n"
			 "t.conf:5:2: fake: unknown keyword \"usse\" (did you mean \"uses\"?)\n"
			 "t.conf:4:7: fake: unknown interface \"lna\" (did you mean \"lan\"?)\n");
	assert_int_equal(fake_calls, 1);
	assert_int_equal(fake_frees, 1);
	cf_errors_free(&e);

	/* no interface like it: say how to define one */
	fake_reset();
	assert_null(load_text("fake { uses dmz }\n", fake_table, 2, &e));
	golden_expect_lines(
		&e,
		"t.conf:1:13: fake: unknown interface \"dmz\" (define it: interface dmz { device DEV })\n");
	cf_errors_free(&e);

	/* a failure without a message still fails, and says so */
	fake_reset();
	fake_rc = -ENOMEM;
	assert_null(load_text("fake { }\n", fake_table, 2, &e));
	golden_expect_lines(&e, "fake: cannot configure: Cannot allocate memory\n");
	cf_errors_free(&e);

	/* a duplicate of a module's section is the core's error */
	fake_reset();
	assert_null(load_text("fake { }\nfake { }\n", fake_table, 2, &e));
	golden_expect_lines(&e, "t.conf:2:1: fake: duplicate section (first at line 1)\n");
	assert_int_equal(fake_calls, 1);
	cf_errors_free(&e);
}

/* Warnings about unused interfaces wait for a config without errors: with
 * a section that failed, nobody knows what it would have used. */
static void test_no_unused_warning_with_errors(void **state)
{
	struct cf_errors e;

	fake_reset();
	assert_null(
		load_text("interface lan { device br-lan }\nnat { masquerade lan }\n", fake_table, 2, &e));
	assert_int_equal(e.nerrors, 1);
	assert_int_equal(e.nwarnings, 0);
	cf_errors_free(&e);
}

/* The module table may name a module without sections (none owned). */
static void test_module_without_sections(void **state)
{
	static const struct gw_module bare = {.name = "bare"};
	static const struct gw_module *const table[] = {&bare};
	struct cf_errors e;

	assert_null(load_text("bare { }\n", table, 1, &e));
	golden_expect_lines(&e, "t.conf:1:1: unknown keyword \"bare\"\n");
	cf_errors_free(&e);
}

/* A hostile file: very many top-level duplicates must be found without
 * quadratic work and reported up to the cap. */
static void test_many_duplicates(void **state)
{
	size_t n = 20000, len = 0;
	char *text = malloc(n * 16 + 1);
	struct cf_errors e;

	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "log-level info\n");
	cf_errors_init(&e);
	{
		struct cf_tree *t = cf_parse_string("t.conf", text, len, &e);

		assert_null(gw_config_from_tree(t, "t.conf", NULL, 0, &e));
	}
	assert_int_equal(e.nerrors, CF_MAX_ERRORS + 1);
	assert_string_equal(e.errors[0], "t.conf:2:1: log-level: given more than once (first at line 1)");
	assert_string_equal(e.errors[CF_MAX_ERRORS], "too many errors; the rest are not shown");
	cf_errors_free(&e);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_no_orphans),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_core_values),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_from_tree_syntax_errors),
		cmocka_unit_test(test_paths_and_limits),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_dispatch_errors),
		cmocka_unit_test(test_no_unused_warning_with_errors),
		cmocka_unit_test(test_module_without_sections),
		cmocka_unit_test(test_many_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
