/* ctl_stats.c — the daemon's answers as Prometheus samples (ctl_stats.h).
 *
 * A walk over each answer's JSON, guided by a small table of rules: which
 * numbers are gauges (everything else that is a number is a counter: the
 * answers are mostly counters), which objects are a breakdown whose keys are
 * better a label (messages by type, answers by rcode), and which lists'
 * elements to expand, labelled by which of their fields. A field added to an
 * answer later shows up as a counter without a change here; a list added
 * later shows up as its length. */
#include "ctl_stats.h"

#include <stdlib.h>
#include <string.h>

const struct ctl_stats_source ctl_stats_sources[] = {
	{"status", "status"}, {"dhcp", "dhcp stats"}, {"dns", "dns stats"}, {"nat", "nat"}, {"igmp", "igmp"},
};
const size_t ctl_stats_nsources = sizeof(ctl_stats_sources) / sizeof(ctl_stats_sources[0]);

enum kind {
	K_INHERIT, /* as the enclosing rule says; a number is a counter when none does */
	K_GAUGE,
	K_COUNTER,
	K_LABELLED, /* an object whose keys are values of the label LABELS */
	K_SKIP,
	K_INFO, /* a string: the sample NAME{LABELS="the string"} 1 */
};

struct rule {
	const char *path;   /* "dns.cache.bytes"; "[]" is a list's elements */
	enum kind kind;     /* for "x[]": the default of the elements' numbers */
	const char *name;   /* the metric name after "homegw_", instead of the path's */
	const char *labels; /* K_LABELLED, K_INFO: the label; "x[]": the element fields that
			     * become labels, "field" or "field=label", comma-separated */
};

static const struct rule rules[] = {
	{"status.version", K_INFO, "build_info", "version"},
	{"status.uptime", K_GAUGE, "uptime_seconds", NULL},
	{"status.config.loaded_at", K_GAUGE, "config_loaded_timestamp_seconds", NULL},
	{"status.interfaces[]", K_GAUGE, "interface", "name=interface,device"},
	{"status.interfaces[].ifindex", K_SKIP, NULL, NULL},
	{"status.modules", K_LABELLED, "module", "module"},

	{"dhcp.scopes[]", K_GAUGE, "dhcp_scope", "scope"},
	{"dhcp.messages", K_LABELLED, "dhcp_messages", "type"},
	{"dhcp.drops", K_LABELLED, "dhcp_drops", "reason"},
	{"dhcp.journal.bytes", K_GAUGE, NULL, NULL},
	{"dhcp.journal.acks_held", K_GAUGE, NULL, NULL},

	{"dns.answers", K_LABELLED, "dns_answers", "rcode"},
	{"dns.waiting", K_GAUGE, NULL, NULL},
	{"dns.cache.entries", K_GAUGE, NULL, NULL},
	{"dns.cache.bytes", K_GAUGE, NULL, NULL},
	{"dns.cache.budget", K_GAUGE, "dns_cache_budget_bytes", NULL},
	{"dns.upstream.servers[]", K_COUNTER, "dns_upstream_server", "address"},
	{"dns.upstream.servers[].srtt_ms", K_GAUGE, NULL, NULL},
	{"dns.net.listeners", K_GAUGE, NULL, NULL},

	{"nat.mappings[]", K_GAUGE, "nat_mapping", "proto,internal,external_port,via"},

	{"igmp.links[]", K_GAUGE, "igmp_link", "interface"},
	{"igmp.links[].groups[]", K_GAUGE, "igmp_group", "group"},
	{"igmp.links[].groups[].sources[]", K_GAUGE, "igmp_group_source", "source"},
	{"igmp.routes[]", K_COUNTER, "igmp_route", "source,group"},
};

static const struct rule *rule_of(const char *path)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].path, path) == 0)
			return &rules[i];
	return NULL;
}

struct sample {
	char *name;
	const char *type; /* "counter" or "gauge" */
	char *help;
	char *labels; /* a="x",b="y" or "" */
	char *value;
};

struct walk {
	struct sample *v;
	size_t n, cap;
	const char *command; /* of the answer being walked, for HELP */
	size_t root_len;     /* of the path's first key and its '.' (HELP shows the rest) */
};

static void *xrealloc(void *p, size_t n)
{
	if (!(p = realloc(p, n ? n : 1)))
		abort();
	return p;
}

static char *cat(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = xrealloc(NULL, la + ls + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, sep, ls);
	memcpy(s + la + ls, b, lb + 1);
	return s;
}

/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*; anything else is '_'.
 * The answers' keys are snake_case already; this only guards the format. */
static void name_fix(char *s)
{
	for (char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (p != s && *p >= '0' && *p <= '9')))
			*p = '_';
}

/* LABELS plus name="value", the value escaped as the format wants. */
static char *label_add(const char *labels, const char *name, const char *value)
{
	size_t n = strlen(name), lv = strlen(value), ll = strlen(labels);
	char *s = xrealloc(NULL, ll + 1 + n + 3 + 2 * lv + 1), *p = s, *nm;

	memcpy(p, labels, ll);
	p += ll;
	if (ll)
		*p++ = ',';
	nm = p;
	memcpy(p, name, n);
	p += n;
	*p = '\0';
	name_fix(nm);
	*p++ = '=';
	*p++ = '"';
	for (const char *v = value; *v; v++) {
		if (*v == '\\' || *v == '"') {
			*p++ = '\\';
			*p++ = *v;
		} else if (*v == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else {
			*p++ = *v;
		}
	}
	*p++ = '"';
	*p = '\0';
	return s;
}

static void emit(struct walk *w, const char *name, bool counter, const char *path, const char *labels,
		 char *value)
{
	struct sample *s;
	const char *rest = strlen(path) > w->root_len ? path + w->root_len : "(the answer)";

	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	s = &w->v[w->n++];
	s->name = cat(name, "", counter ? "_total" : "");
	name_fix(s->name);
	s->type = counter ? "counter" : "gauge";
	s->help = xrealloc(NULL, strlen(w->command) + strlen(rest) + 32);
	sprintf(s->help, "homegwd `%s`: %s", w->command, rest);
	s->labels = xrealloc(NULL, strlen(labels) + 1);
	strcpy(s->labels, labels);
	s->value = value;
}

static char *number_text(const json_t *v)
{
	char buf[64];

	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
	else
		snprintf(buf, sizeof(buf), "%d", json_is_true(v) ? 1 : 0);
	return cat(buf, "", "");
}

/* A label value from an element's field: strings and integers. */
static char *field_text(const json_t *v)
{
	if (json_is_string(v))
		return cat(json_string_value(v), "", "");
	if (json_is_integer(v))
		return number_text(v);
	return NULL;
}

static void walk(struct walk *w, const json_t *v, const char *path, const char *name, const char *labels,
		 enum kind inherited);

/* Is KEY one of an element rule's label fields? Sets *LABEL to its label name. */
static bool is_label_field(const char *spec, const char *key, char *label, size_t len)
{
	const char *p = spec;

	while (p && *p) {
		const char *end = strchr(p, ','), *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p), kn;

		eq = memchr(p, '=', n);
		kn = eq ? (size_t)(eq - p) : n;
		if (kn == strlen(key) && strncmp(p, key, kn) == 0) {
			const char *l = eq ? eq + 1 : p;
			size_t ln = eq ? n - kn - 1 : n;

			if (ln >= len)
				ln = len - 1;
			memcpy(label, l, ln);
			label[ln] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void walk_element(struct walk *w, const json_t *el, const char *epath, const struct rule *r,
			 const char *labels)
{
	char *lab = cat(labels, "", ""), *ename = cat("homegw_", "", r->name), label[64];
	const char *key;
	json_t *f;

	/* the labels first, in the rule's order of fields */
	json_object_foreach ((json_t *)el, key, f) {
		char *t;

		if (is_label_field(r->labels, key, label, sizeof(label)) && (t = field_text(f))) {
			char *n = label_add(lab, label, t);

			free(lab);
			free(t);
			lab = n;
		}
	}
	json_object_foreach ((json_t *)el, key, f) {
		if (is_label_field(r->labels, key, label, sizeof(label)))
			continue;
		char *p = cat(epath, ".", key), *n = cat(ename, "_", key);

		walk(w, f, p, n, lab, r->kind);
		free(p);
		free(n);
	}
	free(lab);
	free(ename);
}

static void walk(struct walk *w, const json_t *v, const char *path, const char *name, const char *labels,
		 enum kind inherited)
{
	const struct rule *r = rule_of(path);
	enum kind kind = inherited;
	char *own = NULL;
	const char *key;
	json_t *c;
	size_t i;

	if (r && r->kind == K_SKIP)
		return;
	if (r && r->name)
		name = own = cat("homegw_", "", r->name);
	if (r && (r->kind == K_GAUGE || r->kind == K_COUNTER))
		kind = r->kind;

	if (json_is_number(v)) {
		emit(w, name, kind != K_GAUGE, path, labels, number_text(v));
	} else if (json_is_boolean(v)) {
		emit(w, name, false, path, labels, number_text(v));
	} else if (json_is_string(v)) {
		if (r && r->kind == K_INFO) {
			char *l = label_add(labels, r->labels, json_string_value(v));

			emit(w, name, false, path, l, cat("1", "", ""));
			free(l);
		}
	} else if (json_is_object(v) && r && r->kind == K_LABELLED) {
		char *p = cat(path, ".", "*");

		json_object_foreach ((json_t *)v, key, c) {
			char *l = label_add(labels, r->labels, key);

			walk(w, c, p, name, l, inherited);
			free(l);
		}
		free(p);
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, c) {
			if (!strchr(path, '.') && !strchr(path, '[') && strcmp(key, "ok") == 0)
				continue; /* the answer's own "ok" */
			char *p = cat(path, ".", key), *n = cat(name, "_", key);

			walk(w, c, p, n, labels, kind);
			free(p);
			free(n);
		}
	} else if (json_is_array(v)) {
		char *ep = cat(path, "", "[]"), len[32];
		const struct rule *er = rule_of(ep);

		snprintf(len, sizeof(len), "%zu", json_array_size(v));
		emit(w, name, false, path, labels, cat(len, "", ""));
		if (er && er->kind != K_SKIP && er->name) {
			json_array_foreach (v, i, c) {
				if (json_is_object(c))
					walk_element(w, c, ep, er, labels);
			}
		}
		free(ep);
	}
	free(own);
}

int ctl_stats_write(FILE *f, const json_t *answers, bool full)
{
	struct walk w = {0};
	bool *done;
	int rc = 0;

	for (size_t s = 0; s < ctl_stats_nsources; s++) {
		const struct ctl_stats_source *src = &ctl_stats_sources[s];
		const json_t *a = json_object_get(answers, src->key);
		bool status = strcmp(src->key, "status") == 0;
		char *name = status ? cat("homegw", "", "") : cat("homegw_", "", src->key);

		if (json_is_object(a)) {
			w.command = src->command;
			w.root_len = strlen(src->key) + 1;
			walk(&w, a, src->key, name, "", K_INHERIT);
		}
		free(name);
	}
	/* every sample of a metric together, metrics in the order first seen */
	done = calloc(w.n ? w.n : 1, sizeof(*done));
	if (!done)
		abort();
	for (size_t i = 0; i < w.n; i++) {
		if (done[i])
			continue;
		if (full && (fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", w.v[i].name, w.v[i].help, w.v[i].name,
				     w.v[i].type) < 0))
			rc = -1;
		for (size_t j = i; j < w.n; j++) {
			if (done[j] || strcmp(w.v[j].name, w.v[i].name) != 0)
				continue;
			done[j] = true;
			if (fprintf(f, "%s%s%s%s %s\n", w.v[j].name, *w.v[j].labels ? "{" : "", w.v[j].labels,
				    *w.v[j].labels ? "}" : "", w.v[j].value) < 0)
				rc = -1;
		}
	}
	for (size_t i = 0; i < w.n; i++) {
		free(w.v[i].name);
		free(w.v[i].help);
		free(w.v[i].labels);
		free(w.v[i].value);
	}
	free(w.v);
	free(done);
	return rc;
}
