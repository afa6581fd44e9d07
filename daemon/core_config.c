/* core_config.c — from a file to a struct gw_config: parse, the generic
 * rules of top-level statements, the core's own sections (global,
 * interface, control), then every module's configure().
 *
 * The core knows no protocol: a top-level keyword that a module of the
 * table owns goes to that module, whatever it says. */
#include "core_config.h"

#include "log.h"
#include "module.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define GW_NAME_MAX   32   /* user, group and interface names */
#define GW_PATH_MAX   1024 /* state-dir: file names are appended to it */
#define GW_MAX_IFACES 1024 /* bounds the work of a hostile file */
#define GW_DEVICE_MAX (IF_NAMESIZE - 1)

/* The top-level words the core itself understands ("include" is the
 * parser's, listed for the suggestions). */
static const char *const core_words[] = {"user", "state-dir", "log-level", "interface", "control", "include"};
#define NCORE_WORDS (sizeof(core_words) / sizeof(core_words[0]))

enum top_kind { TOP_UNKNOWN, TOP_GLOBAL, TOP_SECTION, TOP_MODULE };

/* One top-level statement, classified. */
struct top {
	const struct cf_node *n;
	size_t order;
	enum top_kind kind;
	size_t module;               /* TOP_MODULE: its index in the table */
	const struct cf_node *first; /* an earlier statement with the same key: this one is a duplicate */
};

struct load {
	struct gw_config *cfg;
	struct cf_errors *err;
	bool oom;
	size_t cap_ifaces;
};

/* ------------------------------------------------------------- helpers */

static void set_string(struct load *ld, char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy) {
		ld->oom = true;
		return;
	}
	free(*field);
	*field = copy;
}

/* User and group names: what useradd and systemd accept, portably. */
static bool valid_account_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > GW_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

/* Interface names start with a letter, so `dns { listen NAME-OR-ADDRESS }`
 * and `dhcp NAME-OR-SUBNET` can never be ambiguous. */
static bool valid_iface_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > GW_NAME_MAX || !isalpha((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

static bool has_char_of(const char *s, const char *set)
{
	for (; *s; s++)
		if (strchr(set, *s) || isspace((unsigned char)*s))
			return true;
	return false;
}

/* ------------------------------------------------------------- global */

static void load_user(struct load *ld, const struct cf_arg *a)
{
	if (!valid_account_name(a->text)) {
		cf_error(ld->err, &a->pos, NULL,
			 "user: \"%s\" is not a valid user name (letters, digits, '_', '-' and '.', starting "
			 "with a letter or '_', at most %d)",
			 a->text, GW_NAME_MAX);
		return;
	}
	set_string(ld, &ld->cfg->user, a->text);
}

static void load_state_dir(struct load *ld, const struct cf_arg *a)
{
	size_t len = strlen(a->text);

	if (a->text[0] != '/')
		cf_error(ld->err, &a->pos, NULL,
			 "state-dir: \"%s\" is not an absolute path (it must start with '/')", a->text);
	else if (len > GW_PATH_MAX)
		cf_error(ld->err, &a->pos, NULL, "state-dir: the path is %zu bytes long, more than %d", len,
			 GW_PATH_MAX);
	else
		set_string(ld, &ld->cfg->state_dir, a->text);
}

static void load_log_level(struct load *ld, const struct cf_arg *a)
{
	int level = gw_log_level_parse(a->text);

	if (level < 0)
		cf_error(ld->err, &a->pos, NULL, "log-level: \"%s\" is not one of error, warning, info, debug",
			 a->text);
	else
		ld->cfg->log_level = level;
}

static void load_global(struct load *ld, const struct cf_node *n)
{
	static const struct cf_keyword one_arg = {"", 1, 1, false, false};

	if (cf_check_node(n, NULL, &one_arg, ld->err) > 0)
		return;
	if (strcmp(n->keyword, "user") == 0)
		load_user(ld, &n->args[0]);
	else if (strcmp(n->keyword, "state-dir") == 0)
		load_state_dir(ld, &n->args[0]);
	else
		load_log_level(ld, &n->args[0]);
}

/* ---------------------------------------------------------- interface */

/* Linux's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or space. */
static bool check_device(struct load *ld, const struct cf_node *dev, const char *label)
{
	const struct cf_arg *a = &dev->args[0];
	size_t len = strlen(a->text);

	if (len > GW_DEVICE_MAX) {
		cf_error(ld->err, &a->pos, label,
			 "device: \"%s\" is too long for a Linux device name (%zu characters, at most %d)",
			 a->text, len, GW_DEVICE_MAX);
		return false;
	}
	if (len == 0 || strcmp(a->text, ".") == 0 || strcmp(a->text, "..") == 0 ||
	    has_char_of(a->text, "/:")) {
		cf_error(ld->err, &a->pos, label,
			 "device: \"%s\" is not a valid Linux device name "
			 "(not empty, \".\" or \"..\"; no '/', ':' or spaces)",
			 a->text);
		return false;
	}
	return true;
}

static void add_iface(struct load *ld, const struct cf_node *n, const char *device)
{
	struct gw_config *cfg = ld->cfg;
	struct gw_iface_cfg *ifc;

	if (cfg->nifaces == GW_MAX_IFACES) {
		cf_error(ld->err, &n->pos, NULL, "interface: too many interfaces (at most %d)",
			 GW_MAX_IFACES);
		return;
	}
	if (cfg->nifaces == ld->cap_ifaces) {
		size_t cap = ld->cap_ifaces ? 2 * ld->cap_ifaces : 8;
		struct gw_iface_cfg *g = realloc(cfg->ifaces, cap * sizeof(*g));

		if (!g) {
			ld->oom = true;
			return;
		}
		cfg->ifaces = g;
		ld->cap_ifaces = cap;
	}
	ifc = &cfg->ifaces[cfg->nifaces];
	memset(ifc, 0, sizeof(*ifc));
	ifc->name = strdup(n->args[0].text);
	ifc->device = device ? strdup(device) : NULL;
	ifc->pos = n->pos;
	if (!ifc->name || (device && !ifc->device)) {
		free(ifc->name);
		free(ifc->device);
		ld->oom = true;
		return;
	}
	cfg->nifaces++;
}

static void load_interface(struct load *ld, const struct cf_node *n)
{
	static const struct cf_keyword kw = {"interface", 1, 1, true, true};
	static const struct cf_keyword inside[] = {
		{"device", 1, 1, false, false},
		{NULL, 0, 0, false, false},
	};
	const struct cf_node *dev = cf_find(n->children, "device");
	char label[CF_LABEL_MAX];
	const char *device = NULL;

	cf_check_node(n, NULL, &kw, ld->err);
	cf_section_label(n, label, sizeof(label));
	cf_check_keywords(n->children, label, inside, ld->err);
	if (!dev && n->block)
		cf_error(ld->err, &n->pos, label,
			 "missing \"device DEV\": "
			 "the Linux network device this name stands for (device eth0)");
	else if (dev && dev->nargs == 1 && check_device(ld, dev, label))
		device = dev->args[0].text;
	if (n->nargs < 1)
		return;
	if (!valid_iface_name(n->args[0].text)) {
		cf_error(ld->err, &n->args[0].pos, NULL,
			 "interface: \"%s\" is not a valid name (a letter, then letters, digits, '-', '_' or "
			 "'.'; at most %d)",
			 n->args[0].text, GW_NAME_MAX);
		return;
	}
	/* kept even when its device is bad: references to it are not errors too */
	add_iface(ld, n, device);
}

/* ------------------------------------------------------------ control */

static void load_socket(struct load *ld, const struct cf_arg *a)
{
	size_t len = strlen(a->text), max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (a->text[0] != '/')
		cf_error(ld->err, &a->pos, "control",
			 "socket: \"%s\" is not an absolute path (it must start with '/')", a->text);
	else if (len > max)
		cf_error(ld->err, &a->pos, "control",
			 "socket: the path is too long for a Unix socket (%zu bytes, at most %zu)", len, max);
	else
		set_string(ld, &ld->cfg->control_socket, a->text);
}

static void load_control(struct load *ld, const struct cf_node *n)
{
	static const struct cf_keyword kw = {"control", 0, 0, true, false};
	static const struct cf_keyword inside[] = {
		{"socket", 1, 1, false, false},
		{"group", 1, 1, false, false},
		{NULL, 0, 0, false, false},
	};
	const struct cf_node *sock = cf_find(n->children, "socket");
	const struct cf_node *group = cf_find(n->children, "group");

	cf_check_node(n, NULL, &kw, ld->err);
	cf_check_keywords(n->children, "control", inside, ld->err);
	if (sock && sock->nargs == 1)
		load_socket(ld, &sock->args[0]);
	if (group && group->nargs == 1) {
		const struct cf_arg *a = &group->args[0];

		if (valid_account_name(a->text))
			set_string(ld, &ld->cfg->control_group, a->text);
		else
			cf_error(
				ld->err, &a->pos, "control",
				"group: \"%s\" is not a valid group name (letters, digits, '_', '-' and '.', "
				"starting with a letter or '_', at most %d)",
				a->text, GW_NAME_MAX);
	}
}

/* ---------------------------------------------------------- top level */

static bool module_owns(const struct gw_module *mod, const char *keyword)
{
	for (const char *const *s = mod->sections; s && *s; s++)
		if (strcmp(*s, keyword) == 0)
			return true;
	return false;
}

static void classify(struct top *t, const struct gw_config *cfg)
{
	const char *k = t->n->keyword;

	if (!strcmp(k, "user") || !strcmp(k, "state-dir") || !strcmp(k, "log-level")) {
		t->kind = TOP_GLOBAL;
		return;
	}
	if (!strcmp(k, "interface") || !strcmp(k, "control")) {
		t->kind = TOP_SECTION;
		return;
	}
	for (size_t i = 0; i < cfg->nmodules; i++) {
		if (module_owns(cfg->modules[i], k)) {
			t->kind = TOP_MODULE;
			t->module = i;
			return;
		}
	}
	t->kind = TOP_UNKNOWN;
}

/* What makes two statements the same: a global keyword is given once, a
 * section once per name (its first argument), an unnamed section once. */
static const char *top_name(const struct top *t)
{
	return t->kind != TOP_GLOBAL && t->n->nargs > 0 ? t->n->args[0].text : NULL;
}

static int top_cmp(const void *pa, const void *pb)
{
	const struct top *a = *(const struct top *const *)pa, *b = *(const struct top *const *)pb;
	const char *na = top_name(a), *nb = top_name(b);
	int c = strcmp(a->n->keyword, b->n->keyword);

	if (c == 0 && (!na || !nb))
		c = (na != NULL) - (nb != NULL);
	if (c == 0 && na)
		c = strcmp(na, nb);
	if (c == 0)
		c = (a->order > b->order) - (a->order < b->order);
	return c;
}

/* Sorting finds duplicates in O(n log n) however long a hostile file is;
 * the messages still come in file order. */
static int find_duplicates(struct top *tops, size_t n)
{
	struct top **by_key = malloc((n ? n : 1) * sizeof(*by_key));
	size_t group = 0;

	if (!by_key)
		return -1;
	for (size_t i = 0; i < n; i++)
		by_key[i] = &tops[i];
	qsort(by_key, n, sizeof(*by_key), top_cmp);
	for (size_t i = 1; i < n; i++) {
		struct top *a = by_key[group], *b = by_key[i];
		const char *na = top_name(a), *nb = top_name(b);

		if (b->kind == TOP_UNKNOWN || strcmp(a->n->keyword, b->n->keyword) != 0 || (!na != !nb) ||
		    (na && strcmp(na, nb) != 0))
			group = i;
		else
			b->first = a->n;
	}
	free(by_key);
	return 0;
}

static void unknown_top(struct load *ld, const struct cf_node *n)
{
	const struct gw_config *cfg = ld->cfg;
	size_t max = NCORE_WORDS, count = 0;
	const char **words;
	const char *s;

	for (size_t i = 0; i < cfg->nmodules; i++)
		for (const char *const *w = cfg->modules[i]->sections; w && *w; w++)
			max++;
	words = malloc(max * sizeof(*words));
	if (!words) {
		ld->oom = true;
		return;
	}
	for (size_t i = 0; i < NCORE_WORDS; i++)
		words[count++] = core_words[i];
	for (size_t i = 0; i < cfg->nmodules; i++)
		for (const char *const *w = cfg->modules[i]->sections; w && *w; w++)
			words[count++] = *w;
	s = cf_suggest(n->keyword, words, count);
	if (s)
		cf_error(ld->err, &n->pos, NULL, "unknown keyword \"%s\" (did you mean \"%s\"?)", n->keyword,
			 s);
	else
		cf_error(ld->err, &n->pos, NULL, "unknown keyword \"%s\"", n->keyword);
	free(words);
}

static void load_top(struct load *ld, const struct top *t)
{
	const struct cf_node *n = t->n;
	char label[CF_LABEL_MAX], ref[256];

	cf_section_label(n, label, sizeof(label));
	if (t->kind == TOP_UNKNOWN) {
		unknown_top(ld, n);
	} else if (t->first && t->kind == TOP_GLOBAL) {
		cf_error(ld->err, &n->pos, NULL, "%s: given more than once (first at %s)", n->keyword,
			 cf_pos_ref(&t->first->pos, &n->pos, ref, sizeof(ref)));
	} else if (t->first) {
		cf_error(ld->err, &n->pos, label, "duplicate section (first at %s)",
			 cf_pos_ref(&t->first->pos, &n->pos, ref, sizeof(ref)));
	} else if (t->kind == TOP_GLOBAL) {
		load_global(ld, n);
	} else if (t->kind == TOP_SECTION && strcmp(n->keyword, "interface") == 0) {
		load_interface(ld, n);
	} else if (t->kind == TOP_SECTION) {
		load_control(ld, n);
	} else if (!ld->cfg->modules[t->module]->configure) {
		cf_error(ld->err, &n->pos, label, "not supported yet");
	}
}

static int load_core(struct load *ld)
{
	struct top *tops;
	size_t n = 0, i = 0;

	for (const struct cf_node *c = ld->cfg->tree->root; c; c = c->next)
		n++;
	tops = calloc(n ? n : 1, sizeof(*tops));
	if (!tops)
		return -1;
	for (const struct cf_node *c = ld->cfg->tree->root; c; c = c->next, i++) {
		tops[i].n = c;
		tops[i].order = i;
		classify(&tops[i], ld->cfg);
	}
	if (find_duplicates(tops, n) < 0) {
		free(tops);
		return -1;
	}
	for (i = 0; i < n && !ld->oom; i++)
		load_top(ld, &tops[i]);
	free(tops);
	return 0;
}

/* Every module's configure, once, present or not: it decides (and sets
 * *mod_cfg NULL when it has nothing to run). */
static bool configure_modules(struct load *ld)
{
	struct gw_config *cfg = ld->cfg;
	bool ok = true;

	for (size_t i = 0; i < cfg->nmodules; i++) {
		const struct gw_module *mod = cfg->modules[i];
		size_t before = ld->err->nerrors;
		int rc;

		if (!mod->configure)
			continue;
		rc = mod->configure(cfg, &cfg->module_cfg[i], ld->err);
		if (rc < 0) {
			ok = false;
			/* a failure must never be silent */
			if (ld->err->nerrors == before)
				cf_error(ld->err, NULL, mod->name, "cannot configure: %s", strerror(-rc));
		}
	}
	return ok;
}

static void warn_unused(struct load *ld)
{
	for (size_t i = 0; i < ld->cfg->nifaces; i++) {
		const struct gw_iface_cfg *ifc = &ld->cfg->ifaces[i];
		char label[CF_LABEL_MAX];

		if (ifc->used)
			continue;
		snprintf(label, sizeof(label), "interface %s", ifc->name);
		cf_warning(ld->err, &ifc->pos, label, "not used by any section");
	}
}

static struct gw_config *config_new(struct cf_tree *tree, const char *path,
				    const struct gw_module *const *modules, size_t nmodules)
{
	struct gw_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->tree = tree;
	cfg->path = strdup(path ? path : "");
	cfg->state_dir = strdup(GW_DEFAULT_STATE_DIR);
	cfg->control_socket = strdup(GW_DEFAULT_CONTROL_SOCKET);
	cfg->log_level = GW_LOG_INFO;
	cfg->modules = modules;
	cfg->nmodules = nmodules;
	cfg->module_cfg = calloc(nmodules ? nmodules : 1, sizeof(*cfg->module_cfg));
	if (!cfg->path || !cfg->state_dir || !cfg->control_socket || !cfg->module_cfg) {
		gw_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static struct gw_config *from_tree(struct cf_tree *tree, const char *path, const struct gw_module *const *modules,
				   size_t nmodules, const struct gw_iface_table *live, struct cf_errors *err)
{
	struct load ld = {.err = err};
	bool ok;

	ld.cfg = config_new(tree, path, modules, nmodules);
	if (!ld.cfg) {
		cf_tree_free(tree);
		err->oom = true;
		return NULL;
	}
	ld.cfg->live_ifaces = live;
	if (load_core(&ld) < 0)
		ld.oom = true;
	/* modules run even after errors: one run reports everything */
	ok = configure_modules(&ld) && !ld.oom;
	if (ok && err->nerrors == 0 && !err->oom)
		warn_unused(&ld);
	if (!ok || ld.oom || err->nerrors > 0 || err->oom) {
		if (ld.oom)
			err->oom = true;
		gw_config_free(ld.cfg);
		return NULL;
	}
	ld.cfg->live_ifaces = NULL; /* valid during configure() only */
	return ld.cfg;
}

struct gw_config *gw_config_from_tree(struct cf_tree *tree, const char *path,
				      const struct gw_module *const *modules, size_t nmodules,
				      struct cf_errors *err)
{
	return from_tree(tree, path, modules, nmodules, NULL, err);
}

struct gw_config *gw_config_load_live(const char *path, const struct gw_module *const *modules, size_t nmodules,
				      const struct gw_iface_table *live, struct cf_errors *err)
{
	struct cf_tree *tree = cf_parse_file(path, err);

	if (!tree) {
		err->oom = true;
		return NULL;
	}
	return from_tree(tree, path, modules, nmodules, live, err);
}

struct gw_config *gw_config_load(const char *path, const struct gw_module *const *modules, size_t nmodules,
				 struct cf_errors *err)
{
	return gw_config_load_live(path, modules, nmodules, NULL, err);
}

void gw_config_free(struct gw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->module_cfg && i < cfg->nmodules; i++)
		if (cfg->module_cfg[i] && cfg->modules[i]->free_config)
			cfg->modules[i]->free_config(cfg->module_cfg[i]);
	free(cfg->module_cfg);
	for (size_t i = 0; i < cfg->nifaces; i++) {
		free(cfg->ifaces[i].name);
		free(cfg->ifaces[i].device);
	}
	free(cfg->ifaces);
	free(cfg->user);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->path);
	cf_tree_free(cfg->tree);
	free(cfg);
}

/* ------------------------------------------------------- for modules */

const struct gw_iface_cfg *gw_config_iface(const struct gw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nifaces; i++)
		if (strcmp(cfg->ifaces[i].name, name) == 0)
			return &cfg->ifaces[i];
	return NULL;
}

const struct gw_iface_cfg *gw_config_iface_ref(struct gw_config *cfg, const struct cf_arg *arg,
					       const char *section, struct cf_errors *err)
{
	const char **names;
	const char *s = NULL;

	for (size_t i = 0; i < cfg->nifaces; i++) {
		if (strcmp(cfg->ifaces[i].name, arg->text) == 0) {
			cfg->ifaces[i].used = true;
			return &cfg->ifaces[i];
		}
	}
	names = malloc((cfg->nifaces ? cfg->nifaces : 1) * sizeof(*names));
	if (names) {
		for (size_t i = 0; i < cfg->nifaces; i++)
			names[i] = cfg->ifaces[i].name;
		s = cf_suggest(arg->text, names, cfg->nifaces);
	}
	if (s)
		cf_error(err, &arg->pos, section, "unknown interface \"%s\" (did you mean \"%s\"?)",
			 arg->text, s);
	else
		cf_error(err, &arg->pos, section,
			 "unknown interface \"%s\" (define it: interface %s { device DEV })", arg->text,
			 arg->text);
	free(names);
	return NULL;
}

const void *gw_config_module(const struct gw_config *cfg, const struct gw_module *mod)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; i < cfg->nmodules; i++)
		if (cfg->modules[i] == mod)
			return cfg->module_cfg[i];
	return NULL;
}
