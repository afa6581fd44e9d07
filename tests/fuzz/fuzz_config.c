/* fuzz_config.c — libFuzzer: bytes as a config file, through the lexer and
 * parser, the canonical text, the value parsers on every argument, and the
 * core's validation with a module table like the daemon's.
 *
 *   ./fuzz_config -max_total_time=60 CORPUS_DIR ../tests/config
 * (the golden files make a good seed corpus; name a scratch directory first,
 * libFuzzer writes its finds into the first one). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core_config.h"
#include "module.h"

/* Every value parser and getter on every argument, at every depth. */
static void values(struct gw_config *cfg, const struct cf_node *n, struct cf_errors *err)
{
	static const char *const words[] = {"device", "pool", "lease-time", "masquerade", "listen"};

	for (; n; n = n->next) {
		for (size_t i = 0; i < n->nargs; i++) {
			const char *s = n->args[i].text;
			struct in_addr a;
			uint8_t len, mac[6], hex[32];
			uint64_t v;
			bool b;

			cf_parse_duration(s, &v);
			cf_parse_size(s, &v);
			cf_parse_bool(s, &b);
			cf_parse_uint(s, 65535, &v);
			cf_parse_ipv4(s, &a);
			cf_parse_prefix(s, &a, &len);
			cf_parse_mac(s, mac);
			cf_parse_hex(s, hex, sizeof(hex));
			cf_suggest(s, words, sizeof(words) / sizeof(words[0]));
		}
		if (n->nargs > 0) {
			struct in_addr a;
			uint8_t len;

			cf_arg_prefix(n, 0, "fuzz", err, &a, &len);
			gw_config_iface_ref(cfg, &n->args[0], "fuzz", err);
		}
		values(cfg, n->children, err); /* depth bounded by CF_MAX_DEPTH */
	}
}

static int fuzz_configure(struct gw_config *cfg, void **mod_cfg, struct cf_errors *err)
{
	static const struct cf_keyword kws[] = {
		{"device", 1, 1, false, false}, {"pool", 2, 2, false, true}, {"host", 1, 1, true, true},
		{"listen", 1, -1, false, true}, {NULL, 0, 0, false, false},
	};
	const struct cf_node *n = cf_find(cfg->tree->root, "fuzz");

	*mod_cfg = NULL;
	if (!n)
		return 0;
	cf_check_keywords(n->children, "fuzz", kws, err);
	values(cfg, n->children, err);
	*mod_cfg = malloc(1);
	return *mod_cfg ? 0 : -12;
}

static const char *const s_dhcp[] = {"dhcp", "dhcp-relay", NULL};
static const char *const s_dns[] = {"dns", NULL};
static const char *const s_nat[] = {"nat", NULL};
static const char *const s_igmp[] = {"igmp-proxy", NULL};
static const char *const s_fuzz[] = {"fuzz", NULL};
static const struct gw_module mods[] = {
	{.name = "dhcp", .sections = s_dhcp},
	{.name = "dns", .sections = s_dns},
	{.name = "nat", .sections = s_nat},
	{.name = "igmp", .sections = s_igmp},
	{.name = "fuzz", .sections = s_fuzz, .configure = fuzz_configure, .free_config = free},
};
static const struct gw_module *const table[] = {&mods[0], &mods[1], &mods[2], &mods[3], &mods[4]};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_errors err;
	struct cf_tree *tree;
	char *text;

	cf_errors_init(&err);
	tree = cf_parse_string("fuzz.conf", (const char *)data, size, &err);
	if (tree) {
		static const char *const some[] = {"dns", "interface", NULL};

		free(cf_canonical_text(tree->root, NULL));
		text = cf_canonical_text(tree->root, some);
		free(text);
		/* takes the tree */
		gw_config_free(gw_config_from_tree(tree, "fuzz.conf", table, sizeof(table) / sizeof(table[0]),
						   &err));
	}
	/* every line is one line: a newline inside would forge another */
	for (size_t i = 0; i < err.nerrors; i++)
		if (strchr(err.errors[i], '\n'))
			abort();
	cf_errors_free(&err);
	return 0;
}
