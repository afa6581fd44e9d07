/* main.c — homegwd: flags, start, signals, sd_notify, stop.
 *
 * The composition root: the only core file that names the modules. */
#include "config.h"
#include "control.h"
#include "core.h"
#include "core_config.h"
#include "dhcp.h"
#include "dns.h"
#include "igmp.h"
#include "nat.h"
#include "gw.h"
#include "iface.h"
#include "log.h"
#include "module.h"
#include "names.h"
#include "privdrop.h"
#include "sdnotify.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The table of modules, in start order. A planned module without a
 * configure() has its sections reported as "not supported yet" until its
 * issue lands. */


static const struct gw_module *const modules[] = {
	&dhcp_module,
	&dns_module,
	&nat_module,
	&igmp_module,
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

struct options {
	const char *config_path;
	bool check;
	bool debug;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: homegwd [-c FILE] [--check] [-d] [--version]\n"
		   "  -c, --config FILE  configuration file (default " GW_DEFAULT_CONFIG ")\n"
		   "  -n, --check        validate the configuration and exit (0: good, 1: errors)\n"
		   "  -d, --debug        log at debug level whatever log-level says\n"
		   "  -V, --version      print the version and exit\n"
		   "  -h, --help         print this help and exit\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'n'},
		{"debug", no_argument, NULL, 'd'},        {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c;

	o->config_path = GW_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:ndVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'n':
			o->check = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'V':
			printf("homegwd " GW_VERSION "\n");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "homegwd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* --check prints the lines bare (CONFIG.md); start-up logs them, so the
 * journal files them at their priority. */
static struct gw_config *load_config(const char *path, bool check)
{
	struct cf_errors err;
	struct gw_config *cfg;

	cf_errors_init(&err);
	cfg = gw_config_load(path, modules, NMODULES, &err);
	for (size_t i = 0; i < err.nerrors; i++) {
		if (check)
			fprintf(stderr, "%s\n", err.errors[i]);
		else
			gw_err("%s", err.errors[i]);
	}
	for (size_t i = 0; i < err.nwarnings; i++) {
		if (check)
			fprintf(stderr, "warning: %s\n", err.warnings[i]);
		else
			gw_warn("%s", err.warnings[i]);
	}
	cf_errors_free(&err);
	return cfg;
}

/* ---- the running daemon ---- */

static void on_close_free_nothing(uv_handle_t *h) { (void)h; }

static void gw_stop(struct gw *gw)
{
	if (gw->stopping)
		return;
	gw->stopping = true;
	gw_info("stopping");
	gw_sd_notify("STOPPING=1");
	gw_modules_stop(gw);
	gw_core_unwatch_tables(gw);
	if (gw->control)
		gw_control_close(gw->control);
	gw->control = NULL;
	if (gw->ifaces)
		gw_iface_stop(gw->ifaces, NULL, NULL);
	uv_close((uv_handle_t *)&gw->sig_hup, on_close_free_nothing);
	uv_close((uv_handle_t *)&gw->sig_term, on_close_free_nothing);
	uv_close((uv_handle_t *)&gw->sig_int, on_close_free_nothing);
	/* closing the handles restored the default actions: a second SIGTERM
	 * or a SIGHUP during the shutdown must not kill us before exit 0 */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	uv_close((uv_handle_t *)&gw->watchdog, on_close_free_nothing);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct gw *gw = s->data;

	if (signum == SIGHUP) {
		gw_core_reload(gw, NULL);
		return;
	}
	gw_info("%s received", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	gw_stop(gw);
}

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	gw_sd_notify("WATCHDOG=1");
}

/* The state directory belongs to the daemon's user: the journal is written
 * after the privilege drop. (The unit's tmpfiles.d entry creates it so; by
 * hand we do it here.) */
static int prepare_state_dir(const char *dir, uid_t uid, gid_t gid, bool chown_it)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (chown_it && chown(dir, uid, gid) < 0)
		return -errno;
	return 0;
}

static int setup_signals(struct gw *gw)
{
	uv_signal_t *sigs[] = {&gw->sig_hup, &gw->sig_term, &gw->sig_int};
	int nums[] = {SIGHUP, SIGTERM, SIGINT};

	for (size_t i = 0; i < 3; i++) {
		sigs[i]->data = gw;
		int rc = uv_signal_start(sigs[i], on_signal, nums[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int setup_watchdog(struct gw *gw)
{
	uint64_t usec = gw_sd_watchdog_usec();

	if (!usec)
		return 0;
	/* ping at half the period, as sd_watchdog_enabled(3) advises */
	uint64_t ms = usec / 2000;
	if (ms == 0)
		ms = 1;
	gw_debug("watchdog: pinging every %llu ms", (unsigned long long)ms);
	return uv_timer_start(&gw->watchdog, on_watchdog, ms, ms);
}

static int gw_start(struct gw *gw)
{
	bool root = geteuid() == 0;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int rc;

	if (gw->config->user) {
		uid_t want;
		gid_t want_gid;

		if (!root && gw_user_lookup(gw->config->user, &want, &want_gid) == 0 && want == uid) {
			/* systemd's User= (homegwd.service) made the switch already */
			gw_debug("started as user %s already: nothing to drop", gw->config->user);
		} else if (!root) {
			gw_warn("not started as root: \"user %s\" ignored, running as uid %u", gw->config->user,
				(unsigned)uid);
		} else if ((rc = gw_user_lookup(gw->config->user, &uid, &gid)) < 0) {
			gw_err("user %s: %s", gw->config->user, rc == -ENOENT ? "no such user" : strerror(-rc));
			return rc;
		}
	} else if (root) {
		gw_warn("running as root: set \"user\" in %s to drop privileges", gw->config_path);
	}

	rc = prepare_state_dir(gw->config->state_dir, uid, gid, root && gw->config->user);
	if (rc < 0) {
		gw_err("state-dir %s: %s", gw->config->state_dir, strerror(-rc));
		return rc;
	}

	gw->names = gw_names_new();
	gw->ifaces = gw_iface_table_new();
	if (!gw->names || !gw->ifaces)
		return -ENOMEM;
	if ((rc = gw_iface_start(gw->ifaces, gw->loop)) < 0) {
		gw_err("rtnetlink: %s", strerror(-rc));
		return rc;
	}
	if ((rc = gw_core_watch_tables(gw)) < 0)
		return rc;

	gw->control = gw_control_new(gw);
	if (!gw->control)
		return -ENOMEM;
	if ((rc = gw_core_register_commands(gw)) < 0)
		return rc;
	rc = gw_control_listen(gw->control, gw->config->control_socket, gw->config->control_group,
			       root && gw->config->user ? uid : (uid_t)-1);
	if (rc < 0) {
		gw_err("control socket %s: %s", gw->config->control_socket, strerror(-rc));
		return rc;
	}

	if ((rc = setup_signals(gw)) < 0 || (rc = setup_watchdog(gw)) < 0)
		return rc;

	if (root && gw->config->user) {
		rc = gw_drop_privileges(uid, gid);
		if (rc < 0) {
			gw_err("cannot drop privileges to %s: %s", gw->config->user, strerror(-rc));
			return rc;
		}
		gw_info("running as %s (uid %u) with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE",
			gw->config->user, (unsigned)uid);
	}

	/* Modules start after the drop, as they start on a reload: what they
	 * need (ports < 1024, raw and packet sockets, netlink) the three
	 * capabilities give, and what they write in state-dir (the lease
	 * journal) belongs to the daemon's user. */
	return gw_modules_start(gw);
}

int main(int argc, char **argv)
{
	struct options opt = {0};
	struct gw gw = {0};
	uv_loop_t loop;
	void *mod_state[NMODULES] = {0};
	bool mod_running[NMODULES] = {0};
	int rc;

	gw_log_init();
	if (parse_options(argc, argv, &opt) < 0)
		return 2;
	if (opt.check) {
		struct gw_config *cfg = load_config(opt.config_path, true);
		gw_config_free(cfg);
		return cfg ? 0 : 1;
	}

	/* absolute, so `status` is unambiguous and reload finds the same file */
	char *abs_path = realpath(opt.config_path, NULL);
	gw.config_path = abs_path ? abs_path : (char *)opt.config_path;
	gw.debug = opt.debug;
	gw.modules = modules;
	gw.nmodules = NMODULES;
	gw.mod_state = mod_state;
	gw.mod_running = mod_running;
	gw.config = load_config(opt.config_path, false);
	if (!gw.config) {
		gw_err("%s: configuration has errors; not starting", opt.config_path);
		free(abs_path);
		return 1;
	}
	gw_core_apply_log_level(&gw);
	gw.started_at = gw.config_loaded_at = time(NULL);

	if (uv_loop_init(&loop) < 0)
		return 1;
	gw.loop = &loop;
	/* the core's own handles exist from here, so gw_stop can always close them */
	uv_signal_init(&loop, &gw.sig_hup);
	uv_signal_init(&loop, &gw.sig_term);
	uv_signal_init(&loop, &gw.sig_int);
	uv_timer_init(&loop, &gw.watchdog);

	rc = gw_start(&gw);
	if (rc < 0) {
		gw_stop(&gw);
		uv_run(&loop, UV_RUN_DEFAULT);
	} else {
		gw_info("homegwd " GW_VERSION " running with %s", gw.config_path);
		gw_sd_notify("READY=1\nSTATUS=running");
		uv_run(&loop, UV_RUN_DEFAULT);
	}

	if (uv_loop_close(&loop) == UV_EBUSY)
		gw_err("internal: handles left open at exit");
	if (gw.ifaces)
		gw_iface_table_free(gw.ifaces);
	if (gw.names)
		gw_names_free(gw.names);
	gw_core_free_commands(&gw);
	gw_config_free(gw.config);
	free(abs_path);
	if (rc == 0)
		gw_info("stopped");
	return rc < 0 ? 1 : 0;
}
