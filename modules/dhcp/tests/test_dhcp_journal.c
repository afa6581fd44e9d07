/* test_dhcp_journal.c — the lease store (dhcp_journal.c), with a real uv loop in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "dhcp_journal.h"
#include "dhcp_lease.h"

#define NET 0xc6336400u /* 198.51.100.0 */
#define A(n) (NET + (n))
#define T0 1700000000
#define MAXREC 4096

/* ---- the fixture ---- */

struct env {
	char dir[64];
	uv_loop_t loop;
	struct dhcp_lease_table *t;
	struct dhcp_journal *j;
	uint16_t scope;
	time_t now;
	unsigned rnd;
	/* every record appended, in order, and how the batches answered */
	struct dhcp_lease_rec *recs;
	size_t nrecs;
	unsigned acked, failed;
	int last_status;
	int *status; /* per record, from its callback (callbacks run in append order) */
	size_t ncb;
	/* the hook's log: one letter per I/O step, 'C' per callback */
	char events[1024];
	size_t nevents;
	int fail_io, fail_err, fail_count; /* fail step fail_io fail_count times with fail_err */
	/* crash copies of the directory, one per compaction step */
	char crash[32][128];
	int crash_synced[32]; /* records acknowledged when the copy was taken */
	int ncrash;
	bool copy_crashes;
	int append_at_io; /* append records from the hook at this step (-1: never) */
	int appended_in_hook;
};

static char *cat_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void put_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			path_in(p, sizeof(p), dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static void copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;
	char p[512], q[512];

	assert_non_null(d);
	assert_int_equal(mkdir(to, 0750), 0);
	while ((de = readdir(d))) {
		size_t len;
		char *buf;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path_in(p, sizeof(p), from, de->d_name);
		path_in(q, sizeof(q), to, de->d_name);
		buf = cat_file(p, &len);
		assert_non_null(buf);
		put_file(q, buf, len);
		free(buf);
	}
	closedir(d);
}

static bool exists(const char *dir, const char *name)
{
	char p[512];

	path_in(p, sizeof(p), dir, name);
	return access(p, F_OK) == 0;
}

static size_t file_size(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	path_in(p, sizeof(p), dir, name);
	assert_int_equal(stat(p, &st), 0);
	return (size_t)st.st_size;
}

/* stderr into a file while fn runs: the log lines, exactly */
struct capture {
	int saved;
	char path[64];
};

static struct capture *capturing; /* restored by teardown when an assertion jumped out */

static void capture_start(struct capture *c)
{
	int fd;

	capturing = c;
	fflush(stderr);
	strcpy(c->path, "/tmp/hgw-log-XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	c->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(struct capture *c)
{
	char *s;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	capturing = NULL;
	s = cat_file(c->path, NULL);
	unlink(c->path);
	return s;
}

static struct dhcp_lease_table *new_table(uint16_t *scope)
{
	struct dhcp_lease_table *t = dhcp_lease_table_new(7);
	struct dhcp_lease_pool p = {A(10), A(250)};
	int s;

	assert_non_null(t);
	s = dhcp_lease_scope(t, "lan", true);
	assert_int_equal(dhcp_lease_scope_set_pools(t, (uint16_t)s, &p, 1), 0);
	if (scope)
		*scope = (uint16_t)s;
	return t;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	strcpy(e->dir, "/tmp/hgw-journal-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(uv_loop_init(&e->loop), 0);
	e->t = new_table(&e->scope);
	e->now = T0;
	e->rnd = 12345;
	e->recs = calloc(MAXREC, sizeof(*e->recs));
	e->status = calloc(MAXREC, sizeof(*e->status));
	e->fail_io = -1;
	e->append_at_io = -1;
	umask(022);
	*state = e;
	return 0;
}

static void on_closed(void *data)
{
	*(bool *)data = true;
}

static void close_journal(struct env *e)
{
	bool closed = false;

	if (!e->j)
		return;
	dhcp_journal_close(e->j, on_closed, &closed);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_true(closed);
	e->j = NULL;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (capturing) {
		char *lost = capture_end(capturing);

		fputs(lost, stderr); /* the failure's message among them */
		free(lost);
	}
	close_journal(e);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	dhcp_lease_table_free(e->t);
	for (int i = 0; i < e->ncrash; i++)
		rm_dir(e->crash[i]);
	rm_dir(e->dir);
	free(e->recs);
	free(e->status);
	free(e);
	return 0;
}

static void event(struct env *e, char c)
{
	if (e->nevents + 1 < sizeof(e->events))
		e->events[e->nevents++] = c;
}

static void on_synced(void *data, int status)
{
	struct env *e = data;

	event(e, 'C');
	e->last_status = status;
	e->status[e->ncb++] = status;
	if (status == 0)
		e->acked++;
	else
		e->failed++;
}

static void append(struct env *e, const struct dhcp_lease_rec *rec)
{
	assert_true(e->nrecs < MAXREC);
	e->recs[e->nrecs++] = *rec;
	assert_int_equal(dhcp_journal_append(e->j, rec, on_synced, e), 0);
}

/* TRUNCATE WRITE SYNC, then the compaction: NEXT_OPEN DIR_SYNC1 OLD_TRUNCATE OLD_CLOSE TMP_OPEN
 * TMP_WRITE TMP_SYNC TMP_CLOSE SNAP_RENAME DIR_SYNC2 JOURNAL_RENAME DIR_SYNC3 */
static const char io_letter[] = "TWSn1tocwsxr2j3";

static void random_op(struct env *e);

static int hook(void *data, enum dhcp_journal_io io)
{
	struct env *e = data;

	event(e, io_letter[io]);
	if (e->copy_crashes && io >= DHCP_JOURNAL_IO_NEXT_OPEN && e->ncrash < 32) {
		/* the disk as a crash right before this step would leave it */
		char name[128];

		snprintf(name, sizeof(name), "%.64s-crash%d", e->dir, e->ncrash);
		strcpy(e->crash[e->ncrash], name);
		copy_dir(e->dir, e->crash[e->ncrash]);
		e->crash_synced[e->ncrash++] = (int)e->acked;
	}
	if ((int)io == e->append_at_io) {
		e->append_at_io = -1;
		for (int i = 0; i < 3; i++)
			random_op(e);
		e->appended_in_hook = 3;
	}
	if ((int)io == e->fail_io && e->fail_count > 0) {
		e->fail_count--;
		return e->fail_err;
	}
	return 0;
}

static void open_journal(struct env *e)
{
	assert_int_equal(dhcp_journal_open(&e->j, &e->loop, e->dir, e->t, e->now), 0);
	dhcp_journal_set_fault(e->j, hook, e);
}

/* ---- building tables: random changes, each journaled ---- */

struct cl {
	uint8_t mac[6];
	uint8_t cid[7];
	struct dhcp_lease_client c;
};

static struct cl *mk(struct cl *x, unsigned n, bool with_cid)
{
	memset(x, 0, sizeof(*x));
	x->mac[0] = 0x02;
	x->mac[4] = (uint8_t)(n >> 8);
	x->mac[5] = (uint8_t)n;
	x->cid[0] = 1;
	memcpy(x->cid + 1, x->mac, 6);
	x->c.client_id = with_cid ? x->cid : NULL;
	x->c.client_id_len = with_cid ? 7 : 0;
	x->c.htype = 1;
	x->c.hlen = 6;
	x->c.chaddr = x->mac;
	return x;
}

static unsigned rnd(struct env *e)
{
	e->rnd ^= e->rnd << 13;
	e->rnd ^= e->rnd >> 17;
	e->rnd ^= e->rnd << 5;
	return e->rnd;
}

static void on_change(void *data, const struct dhcp_lease *old, const struct dhcp_lease_rec *rec)
{
	/* appending before the table applies it is fine: the journal only
	 * snapshots the table from loop callbacks, never in between */
	append(data, rec);
}

/* One change as the server makes them; its record is appended. */
static void random_op(struct env *e)
{
	unsigned r = rnd(e), who = r % 40;
	struct cl c;
	struct dhcp_lease_rec rec;
	char host[32];
	struct dhcp_lease_want w = {e->scope, &mk(&c, who, who % 3 == 0)->c, 0, e->now, NULL, NULL};
	struct dhcp_lease_set s = {e->scope, 0, &c.c, NULL, e->now, 0};
	const struct dhcp_lease *l = dhcp_lease_by_client(e->t, e->scope, &c.c);
	int rc = 0;

	snprintf(host, sizeof(host), "host%u", who);
	switch ((r >> 8) % 8) {
	case 0:
	case 1:
	case 2:
		if (dhcp_lease_allocate(e->t, &w, &s.addr) < 0)
			return;
		s.hostname = (r >> 12) & 1 ? host : NULL;
		s.duration = 60 + (r >> 16) % 600;
		rc = (r >> 11) & 1 ? dhcp_lease_bind(e->t, &s, (r >> 13) % 5 == 0, &rec) :
				     dhcp_lease_offer(e->t, &s, &rec);
		break;
	case 3:
		if (l)
			rc = dhcp_lease_release(e->t, e->scope, l->addr, &c.c, e->now, &rec);
		break;
	case 4:
		if (l && (r >> 12) % 4 == 0 && l->state != DHCP_LEASE_RELEASED &&
		    l->state != DHCP_LEASE_EXPIRED)
			rc = dhcp_lease_decline(e->t, e->scope, l->addr, &c.c, e->now, 300, &rec);
		break;
	default:
		e->now += (r >> 12) % 50;
		dhcp_lease_expire(e->t, e->now, on_change, e);
		return;
	}
	assert_true(rc >= 0);
	if (rc == 1)
		append(e, &rec);
}

static void run(struct env *e)
{
	uv_run(&e->loop, UV_RUN_DEFAULT);
}

/* Exactly one record: client n bound at .100+n. */
static void bind_one(struct env *e, unsigned n, dhcp_journal_cb cb, void *data)
{
	struct cl c;
	struct dhcp_lease_set s = {e->scope, A(100 + n), &mk(&c, 500 + n, true)->c, "one", e->now, 600};
	struct dhcp_lease_rec rec;

	assert_int_equal(dhcp_lease_bind(e->t, &s, false, &rec), 1);
	assert_true(e->nrecs < MAXREC);
	e->recs[e->nrecs++] = rec;
	assert_int_equal(dhcp_journal_append(e->j, &rec, cb ? cb : on_synced, cb ? data : e), 0);
}

/* The table of the records whose batch succeeded: what a restart must restore. */
static struct dhcp_lease_table *table_ok(const struct env *e)
{
	struct dhcp_lease_table *t = new_table(NULL);

	assert_int_equal(e->ncb, e->nrecs);
	for (size_t i = 0; i < e->nrecs; i++)
		if (e->status[i] == 0)
			assert_int_equal(dhcp_lease_apply(t, &e->recs[i]), 0);
	return t;
}

/* a and b hold the same leases, field by field */
static void assert_tables_equal(const struct dhcp_lease_table *a, const struct dhcp_lease_table *b)
{
	struct dhcp_lease_rec ra, rb;

	assert_int_equal(dhcp_lease_count(a), dhcp_lease_count(b));
	for (const struct dhcp_lease *l = dhcp_lease_first(a); l; l = dhcp_lease_next(a, l)) {
		const struct dhcp_lease *m = dhcp_lease_by_addr(b, l->addr);

		assert_non_null(m);
		dhcp_lease_rec_of(a, l, &ra);
		dhcp_lease_rec_of(b, m, &rb);
		assert_memory_equal(&ra, &rb, sizeof(ra));
	}
}

static bool tables_equal(const struct dhcp_lease_table *a, const struct dhcp_lease_table *b)
{
	struct dhcp_lease_rec ra, rb;

	if (dhcp_lease_count(a) != dhcp_lease_count(b))
		return false;
	for (const struct dhcp_lease *l = dhcp_lease_first(a); l; l = dhcp_lease_next(a, l)) {
		const struct dhcp_lease *m = dhcp_lease_by_addr(b, l->addr);

		if (!m)
			return false;
		dhcp_lease_rec_of(a, l, &ra);
		dhcp_lease_rec_of(b, m, &rb);
		if (memcmp(&ra, &rb, sizeof(ra)))
			return false;
	}
	return true;
}

/* The table the first n records make. */
static struct dhcp_lease_table *table_of(const struct env *e, size_t n)
{
	struct dhcp_lease_table *t = new_table(NULL);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(dhcp_lease_apply(t, &e->recs[i]), 0);
	return t;
}

/* What a restart from dir restores (the journal closed again at once). */
static struct dhcp_lease_table *replay_dir(const char *dir, char **log)
{
	struct dhcp_lease_table *t = new_table(NULL);
	struct dhcp_journal *j;
	uv_loop_t loop;
	bool closed = false;
	struct capture cap;

	assert_int_equal(uv_loop_init(&loop), 0);
	int err;

	capture_start(&cap);
	err = dhcp_journal_open(&j, &loop, dir, t, T0);
	if (log)
		*log = capture_end(&cap);
	else
		free(capture_end(&cap));
	assert_int_equal(err, 0);
	dhcp_journal_close(j, on_closed, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(closed);
	assert_int_equal(uv_loop_close(&loop), 0);
	return t;
}

static void assert_replay_equals(const char *dir, const struct dhcp_lease_table *want)
{
	struct dhcp_lease_table *got = replay_dir(dir, NULL);

	assert_tables_equal(got, want);
	dhcp_lease_table_free(got);
}

/* ---- the format ---- */

static void test_crc32c(void **state)
{
	/* the check value of CRC-32C (RFC 3720 B.4 uses the same polynomial) */
	assert_int_equal(dhcp_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(dhcp_crc32c(dhcp_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
	assert_int_equal(dhcp_crc32c(0, "", 0), 0);
}

static void full_rec(struct dhcp_lease_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->seq = 0x0102030405060708ull;
	r->op = DHCP_LEASE_PUT;
	r->state = DHCP_LEASE_BOUND;
	r->flags = DHCP_LEASE_F_WAS_BOUND;
	r->addr = A(77);
	r->expires_at = -5; /* any time survives the trip */
	r->htype = 1;
	r->hlen = DHCP_LEASE_CHADDR_MAX;
	memset(r->chaddr, 0xab, sizeof(r->chaddr));
	r->cid_len = DHCP_LEASE_CID_MAX;
	memset(r->client_id, 0xcd, sizeof(r->client_id));
	r->host_len = DHCP_LEASE_HOSTNAME_MAX;
	memset(r->hostname, 'h', DHCP_LEASE_HOSTNAME_MAX);
	r->scope_len = DHCP_LEASE_SCOPE_NAME_MAX;
	memset(r->scope, 's', DHCP_LEASE_SCOPE_NAME_MAX);
}

static int collect(void *data, const struct dhcp_lease_rec *rec)
{
	struct dhcp_lease_rec *out = data;

	out[0] = *rec;
	return 0;
}

static void test_encode_decode(void **state)
{
	struct dhcp_lease_rec r, back;
	struct dhcp_journal_scan scan;
	uint8_t buf[DHCP_JOURNAL_FRAME_MAX];
	int n;

	full_rec(&r);
	n = dhcp_journal_encode(&r, buf, sizeof(buf));
	assert_true(n > 600 && n <= DHCP_JOURNAL_FRAME_MAX);
	assert_int_equal(dhcp_journal_decode(buf, (size_t)n, collect, &back, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_CLEAN);
	assert_int_equal(scan.records, 1);
	assert_int_equal(scan.good, n);
	assert_int_equal(scan.last_seq, r.seq);
	assert_memory_equal(&r, &back, sizeof(r));
	assert_int_equal(dhcp_journal_encode(&r, buf, (size_t)n - 1), -ENOBUFS);
	r.state = 9;
	assert_int_equal(dhcp_journal_encode(&r, buf, sizeof(buf)), -EINVAL);
	/* a DEL is its address */
	memset(&r, 0, sizeof(r));
	r.op = DHCP_LEASE_DEL;
	r.addr = A(3);
	r.seq = 9;
	n = dhcp_journal_encode(&r, buf, sizeof(buf));
	assert_int_equal(n, 8 + 1 + 1 + 8 + 4);
	assert_int_equal(dhcp_journal_decode(buf, (size_t)n, collect, &back, &scan), 0);
	assert_memory_equal(&r, &back, sizeof(r));
}

static void test_decode_rejects(void **state)
{
	struct dhcp_lease_rec r;
	struct dhcp_journal_scan scan;
	uint8_t buf[2 * DHCP_JOURNAL_FRAME_MAX];
	size_t n;

	full_rec(&r);
	r.seq = 5;
	n = (size_t)dhcp_journal_encode(&r, buf, sizeof(buf));
	/* the same seq twice: out of order */
	memcpy(buf + n, buf, n);
	assert_int_equal(dhcp_journal_decode(buf, 2 * n, NULL, NULL, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_CORRUPT);
	assert_string_equal(scan.why, "sequence number out of order");
	assert_int_equal(scan.good, n);
	assert_int_equal(scan.records, 1);
	/* a valid checksum over a bad field is corruption, even at the end */
	buf[8] = 2; /* the version */
	{
		uint32_t crc = dhcp_crc32c(dhcp_crc32c(0, buf, 4), buf + 8, n - 8);

		buf[4] = (uint8_t)(crc >> 24);
		buf[5] = (uint8_t)(crc >> 16);
		buf[6] = (uint8_t)(crc >> 8);
		buf[7] = (uint8_t)crc;
	}
	assert_int_equal(dhcp_journal_decode(buf, n, NULL, NULL, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_CORRUPT);
	assert_string_equal(scan.why, "unknown version");
	assert_int_equal(scan.good, 0);
	/* a length of 0 followed by data */
	memset(buf, 0, 8);
	buf[8] = 1;
	assert_int_equal(dhcp_journal_decode(buf, 16, NULL, NULL, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_CORRUPT);
	assert_string_equal(scan.why, "bad length");
	/* ... or by nothing but zeros: a file extended and never written */
	memset(buf, 0, 16);
	assert_int_equal(dhcp_journal_decode(buf, 16, NULL, NULL, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_TORN);
}

static void test_snapshot_format(void **state)
{
	struct env e0 = {0}, *e = &e0;
	uint8_t *buf;
	size_t len;
	uint64_t seq = 0;
	const char *why = NULL;
	struct dhcp_lease_table *u;

	e->t = new_table(&e->scope);
	e->now = T0;
	e->rnd = 99;
	e->recs = calloc(MAXREC, sizeof(*e->recs));
	/* random changes, applied without a journal */
	for (int i = 0; i < 300; i++) {
		unsigned r = rnd(e);
		struct cl c;
		struct dhcp_lease_want w = {e->scope, &mk(&c, r % 60, r & 1)->c, 0, e->now, NULL, NULL};
		struct dhcp_lease_set s = {e->scope, 0, &c.c, "x", e->now, 100};
		struct dhcp_lease_rec rec;

		if (dhcp_lease_allocate(e->t, &w, &s.addr) == 0)
			dhcp_lease_bind(e->t, &s, false, &rec);
		e->now += 3;
		dhcp_lease_expire(e->t, e->now, NULL, NULL);
	}
	assert_true(dhcp_lease_count(e->t) > 20);
	assert_int_equal(dhcp_journal_encode_snapshot(e->t, 4242, &buf, &len), 0);
	u = new_table(NULL);
	assert_int_equal(
		dhcp_journal_decode_snapshot(buf, len, (dhcp_journal_rec_fn)dhcp_lease_apply, u, &seq, &why),
		0);
	assert_int_equal(seq, 4242);
	assert_tables_equal(e->t, u);
	dhcp_lease_table_free(u);
	/* whole or nothing: any cut, and any flipped byte, is refused before a lease is applied */
	for (size_t cut = 0; cut < len; cut += 7) {
		u = new_table(NULL);
		assert_int_equal(dhcp_journal_decode_snapshot(buf, cut, (dhcp_journal_rec_fn)dhcp_lease_apply,
							      u, &seq, &why),
				 -EINVAL);
		assert_int_equal(dhcp_lease_count(u), 0);
		dhcp_lease_table_free(u);
	}
	assert_int_equal(dhcp_journal_decode_snapshot(buf, 0, NULL, NULL, &seq, &why), -EINVAL);
	assert_string_equal(why, "empty file");
	buf[len / 2] ^= 0x10;
	assert_int_equal(dhcp_journal_decode_snapshot(buf, len, NULL, NULL, &seq, &why), -EINVAL);
	buf[len / 2] ^= 0x10;
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(dhcp_journal_decode_snapshot(buf, len + 1, NULL, NULL, &seq, &why), -EINVAL);
	assert_string_equal(why, "bytes after the end record");
	free(buf);
	dhcp_lease_table_free(e->t);
	free(e->recs);
}

/* ---- group commit ---- */

static void test_group_commit(void **state)
{
	struct env *e = *state;

	open_journal(e);
	for (int i = 0; i < 100; i++)
		random_op(e);
	assert_true(e->nrecs > 30);
	assert_int_equal(e->nevents, 0); /* nothing written before the loop turns */
	run(e);
	/* one write, one fdatasync, then every callback */
	assert_int_equal(dhcp_journal_stats(e->j)->writes, 1);
	assert_int_equal(dhcp_journal_stats(e->j)->syncs, 1);
	assert_int_equal(dhcp_journal_stats(e->j)->batches, 1);
	assert_int_equal(e->acked, e->nrecs);
	assert_int_equal(strncmp(e->events, "WS", 2), 0);
	assert_int_equal(strspn(e->events + 2, "C"), e->nrecs);
	assert_int_equal(dhcp_journal_stats(e->j)->bytes, file_size(e->dir, DHCP_JOURNAL_FILE));
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
}

struct chain {
	struct env *e;
	int left;
};

/* A callback that appends: its record waits for the next batch. */
static void append_again(void *data, int status)
{
	struct chain *c = data;

	assert_int_equal(status, 0);
	event(c->e, 'C');
	if (c->left-- > 0)
		bind_one(c->e, (unsigned)c->left, append_again, c);
}

static void test_batches_follow_each_other(void **state)
{
	struct env *e = *state;
	struct chain c = {e, 3};

	open_journal(e);
	bind_one(e, 9, append_again, &c);
	run(e);
	/* four batches, each written and synced before the next starts */
	assert_int_equal(dhcp_journal_stats(e->j)->batches, 4);
	assert_int_equal(dhcp_journal_stats(e->j)->writes, 4);
	assert_int_equal(dhcp_journal_stats(e->j)->syncs, 4);
	assert_string_equal(e->events, "WSCWSCWSCWSC");
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
}

static void timer_appends(uv_timer_t *h)
{
	struct env *e = h->data;

	for (int i = 0; i < 20; i++)
		random_op(e);
	uv_close((uv_handle_t *)h, NULL);
}

static void test_appends_from_a_timer(void **state)
{
	struct env *e = *state;
	uv_timer_t timer;

	open_journal(e);
	uv_timer_init(&e->loop, &timer);
	timer.data = e;
	uv_timer_start(&timer, timer_appends, 0, 0);
	run(e);
	assert_true(e->nrecs > 0);
	assert_int_equal(dhcp_journal_stats(e->j)->batches, 1);
	assert_int_equal(e->acked, e->nrecs);
}

static void test_close_flushes(void **state)
{
	struct env *e = *state;
	struct dhcp_lease_rec del = {.op = DHCP_LEASE_DEL, .addr = A(9)};
	bool closed = false;

	open_journal(e);
	for (int i = 0; i < 10; i++)
		random_op(e);
	dhcp_journal_close(e->j, on_closed, &closed);
	assert_int_equal(dhcp_journal_append(e->j, &del, NULL, NULL), -ECANCELED);
	run(e);
	assert_true(closed);
	assert_int_equal(e->acked, e->nrecs);
	e->j = NULL;
	assert_replay_equals(e->dir, e->t);
	del.addr = 0;
	open_journal(e);
	assert_int_equal(dhcp_journal_append(e->j, &del, NULL, NULL), -EINVAL);
}

static void test_replay_equals_table(void **state)
{
	struct env *e = *state;

	open_journal(e);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 50; i++)
			random_op(e);
		run(e);
	}
	assert_int_equal(e->acked, e->nrecs);
	assert_int_equal(e->failed, 0);
	assert_true(dhcp_lease_count(e->t) > 10);
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
	/* appends after a restart continue the sequence: a second restart has both runs */
	dhcp_lease_table_free(e->t);
	e->t = replay_dir(e->dir, NULL);
	open_journal(e);
	for (int i = 0; i < 50; i++)
		random_op(e);
	run(e);
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
	{
		struct stat st;
		char p[512];

		path_in(p, sizeof(p), e->dir, DHCP_JOURNAL_FILE);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
	}
}

/* ---- torn and corrupt files ---- */

static void write_journal(struct env *e, size_t nops, size_t *before_last, size_t *total)
{
	open_journal(e);
	for (size_t i = 0; i < nops; i++) {
		random_op(e);
		run(e);
	}
	assert_true(e->nrecs >= 5);
	close_journal(e);
	/* one more record, alone in its batch: the one to tear */
	*before_last = file_size(e->dir, DHCP_JOURNAL_FILE);
	open_journal(e);
	bind_one(e, 140, NULL, NULL);
	run(e);
	close_journal(e);
	*total = file_size(e->dir, DHCP_JOURNAL_FILE);
}

static void test_torn_tail_every_offset(void **state)
{
	struct env *e = *state;
	size_t start, total, len;
	char path[512], *whole, *log, want[4096];
	struct dhcp_lease_table *before, *all;

	write_journal(e, 30, &start, &total);
	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_FILE);
	whole = cat_file(path, &len);
	assert_int_equal(len, total);
	before = table_of(e, e->nrecs - 1);
	all = table_of(e, e->nrecs);
	assert_tables_equal(all, e->t);
	for (size_t cut = start; cut < total; cut++) {
		struct dhcp_lease_table *got;

		put_file(path, whole, cut);
		got = replay_dir(e->dir, &log);
		assert_tables_equal(got, before);
		if (cut == start) {
			assert_null(strstr(log, "torn"));
		} else {
			snprintf(
				want, sizeof(want),
				"homegwd: warning: lease journal: %s: dropped a torn record at offset %zu (%s, %zu "
				"bytes)\n",
				path, start, cut - start < 8 ? "short header" : "short record", cut - start);
			assert_non_null(strstr(log, want));
		}
		/* cut back to the last good record before anything is appended */
		assert_int_equal(file_size(e->dir, DHCP_JOURNAL_FILE), start);
		free(log);
		dhcp_lease_table_free(got);
	}
	/* a whole record whose checksum fails, at the end: torn too */
	put_file(path, whole, total);
	{
		int fd = open(path, O_WRONLY);

		assert_int_equal(pwrite(fd, "X", 1, (off_t)total - 3), 1);
		close(fd);
	}
	dhcp_lease_table_free(replay_dir(e->dir, &log));
	snprintf(want, sizeof(want),
		 "lease journal: %s: dropped a torn record at offset %zu (bad checksum, %zu bytes)", path,
		 start, total - start);
	assert_non_null(strstr(log, want));
	free(log);
	/* and zeros after the last good record (a file grown but never written) */
	put_file(path, whole, total);
	{
		int fd = open(path, O_WRONLY | O_APPEND);
		char zeros[4096] = {0};

		assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
		close(fd);
	}
	{
		struct dhcp_lease_table *got = replay_dir(e->dir, &log);

		assert_tables_equal(got, all);
		assert_non_null(strstr(log, "(bad length, 4096 bytes)"));
		dhcp_lease_table_free(got);
		free(log);
	}
	/* after a torn tail, appending goes on where the good records end */
	put_file(path, whole, total - 1);
	dhcp_lease_table_free(e->t);
	e->t = replay_dir(e->dir, NULL);
	open_journal(e);
	random_op(e);
	random_op(e);
	random_op(e);
	run(e);
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
	free(whole);
	dhcp_lease_table_free(before);
	dhcp_lease_table_free(all);
}

static int count_aside(const char *dir, const char *prefix, char *name, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			n++;
			snprintf(name, cap, "%s", de->d_name);
		}
	closedir(d);
	return n;
}

static void test_corrupt_middle(void **state)
{
	struct env *e = *state;
	size_t start, total, len, good = 0, nrec = 0;
	char path[512], *whole, *log, want[4096], aside[256], aside_path[600];
	struct dhcp_lease_table *got, *prefix;
	struct dhcp_journal_scan scan;

	write_journal(e, 40, &start, &total);
	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_FILE);
	whole = cat_file(path, &len);
	/* find the record boundary nearest the middle */
	while (good < len / 2) {
		good += 8 + ((size_t)(uint8_t)whole[good + 2] << 8 | (uint8_t)whole[good + 3]);
		nrec++;
	}
	assert_int_equal(dhcp_journal_decode(whole, good, NULL, NULL, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_CLEAN);
	assert_int_equal(scan.records, nrec);
	whole[good + 12] ^= 0x01; /* a bit flip inside the record after it */
	put_file(path, whole, len);
	got = replay_dir(e->dir, &log);
	prefix = table_of(e, nrec);
	assert_tables_equal(got, prefix);
	assert_int_equal(count_aside(e->dir, DHCP_JOURNAL_FILE ".corrupt-", aside, sizeof(aside)), 1);
	path_in(aside_path, sizeof(aside_path), e->dir, aside);
	snprintf(
		want, sizeof(want),
		"homegwd: error: lease journal: %s: corrupt record at offset %zu (bad checksum); kept the %zu "
		"records before it, the file is set aside as %s\n",
		path, good, nrec, aside_path);
	assert_non_null(strstr(log, want));
	assert_string_equal(aside + strlen(DHCP_JOURNAL_FILE ".corrupt-"), "20231114T221320Z");
	/* the bad file is kept as it was; what it held is in a new snapshot, the journal starts empty */
	{
		size_t alen;
		char *kept = cat_file(aside_path, &alen);

		assert_int_equal(alen, len);
		assert_memory_equal(kept, whole, len);
		free(kept);
	}
	assert_int_equal(file_size(e->dir, DHCP_JOURNAL_FILE), 0);
	assert_true(exists(e->dir, DHCP_JOURNAL_SNAPSHOT_FILE));
	free(log);
	dhcp_lease_table_free(got);
	/* a second restart: the same table, nothing more set aside */
	got = replay_dir(e->dir, &log);
	assert_tables_equal(got, prefix);
	assert_null(strstr(log, "corrupt"));
	assert_int_equal(count_aside(e->dir, DHCP_JOURNAL_FILE ".corrupt-", aside, sizeof(aside)), 1);
	free(log);
	dhcp_lease_table_free(got);
	dhcp_lease_table_free(prefix);
	free(whole);
}

static void test_corrupt_snapshot(void **state)
{
	struct env *e = *state;
	char path[512], *snap, *log, aside[256];
	size_t len;
	struct dhcp_lease_table *got;
	size_t at_snapshot;

	open_journal(e);
	for (int i = 0; i < 100; i++)
		random_op(e);
	run(e);
	assert_int_equal(dhcp_journal_compact(e->j), 0);
	assert_int_equal(dhcp_journal_compact(e->j), -EBUSY);
	run(e);
	assert_int_equal(dhcp_journal_stats(e->j)->compactions, 1);
	at_snapshot = e->nrecs;
	for (int i = 0; i < 30; i++)
		random_op(e);
	run(e);
	close_journal(e);
	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_SNAPSHOT_FILE);
	snap = cat_file(path, &len);
	snap[len - 1] ^= 0x40;
	put_file(path, snap, len);
	got = replay_dir(e->dir, &log);
	assert_int_equal(count_aside(e->dir, DHCP_JOURNAL_SNAPSHOT_FILE ".corrupt-", aside, sizeof(aside)),
			 1);
	assert_non_null(strstr(log, ": unusable snapshot (bad checksum); set aside as "));
	assert_non_null(strstr(log, ", restoring from the journal alone\n"));
	/* what the journal held since the snapshot: the records after it, over an empty table */
	{
		struct dhcp_lease_table *want = new_table(NULL);

		for (size_t i = at_snapshot; i < e->nrecs; i++)
			assert_int_equal(dhcp_lease_apply(want, &e->recs[i]), 0);
		assert_tables_equal(got, want);
		dhcp_lease_table_free(want);
	}
	free(log);
	free(snap);
	dhcp_lease_table_free(got);
}

/* ---- compaction and the crash states ---- */

static void test_compaction(void **state)
{
	struct env *e = *state;
	size_t before;

	open_journal(e);
	dhcp_journal_set_compact(e->j, 8192, 2);
	for (int round = 0; round < 60; round++) {
		for (int i = 0; i < 20; i++)
			random_op(e);
		run(e);
	}
	assert_true(dhcp_journal_stats(e->j)->compactions >= 2);
	assert_int_equal(dhcp_journal_stats(e->j)->compaction_errors, 0);
	assert_int_equal(e->acked, e->nrecs);
	assert_false(exists(e->dir, DHCP_JOURNAL_NEXT_FILE));
	assert_false(exists(e->dir, DHCP_JOURNAL_TMP_FILE));
	before = file_size(e->dir, DHCP_JOURNAL_FILE);
	assert_true(before < 8192 + 20 * DHCP_JOURNAL_FRAME_MAX);
	assert_int_equal(dhcp_journal_stats(e->j)->snapshot_bytes,
			 file_size(e->dir, DHCP_JOURNAL_SNAPSHOT_FILE));
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
	{
		struct stat st;
		char p[512];

		path_in(p, sizeof(p), e->dir, DHCP_JOURNAL_SNAPSHOT_FILE);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
	}
}

/* The disk at every step of a compaction, as a crash would leave it, replays
 * to the table of the records acknowledged by then (or more: a batch written
 * but not yet acknowledged may be there, whole or torn). */
static void check_crash_copies(struct env *e, size_t base)
{
	for (int i = 0; i < e->ncrash; i++) {
		struct dhcp_lease_table *got = replay_dir(e->crash[i], NULL);
		bool ok = false;

		for (size_t n = base + (size_t)e->crash_synced[i]; n <= e->nrecs && !ok; n++) {
			struct dhcp_lease_table *want = table_of(e, n);

			ok = tables_equal(got, want);
			dhcp_lease_table_free(want);
		}
		if (!ok)
			fail_msg("crash copy %d (before step %d) does not replay to a prefix", i, i);
		/* and the normalised copy replays the same again */
		{
			struct dhcp_lease_table *again = replay_dir(e->crash[i], NULL);

			assert_tables_equal(again, got);
			assert_false(exists(e->crash[i], DHCP_JOURNAL_NEXT_FILE));
			assert_false(exists(e->crash[i], DHCP_JOURNAL_TMP_FILE));
			dhcp_lease_table_free(again);
		}
		dhcp_lease_table_free(got);
	}
}

static void test_crash_states(void **state)
{
	struct env *e = *state;

	open_journal(e);
	for (int i = 0; i < 200; i++)
		random_op(e);
	run(e);
	assert_int_equal(e->acked, e->nrecs);
	e->copy_crashes = true;
	assert_int_equal(dhcp_journal_compact(e->j), 0);
	run(e);
	e->copy_crashes = false;
	/* every step: create next, dir sync, close old, tmp open/write/sync/close, rename, dir sync,
	 * rename journal, dir sync */
	assert_int_equal(e->ncrash, 11);
	assert_string_equal(e->events + strlen(e->events) - 11, "n1ocwsxr2j3");
	check_crash_copies(e, 0);
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
}

static void test_crash_states_with_appends(void **state)
{
	struct env *e = *state;

	open_journal(e);
	for (int i = 0; i < 200; i++)
		random_op(e);
	run(e);
	/* records arrive while the snapshot is written: they go to journal.next */
	e->append_at_io = DHCP_JOURNAL_IO_TMP_OPEN;
	e->copy_crashes = true;
	assert_int_equal(dhcp_journal_compact(e->j), 0);
	run(e);
	e->copy_crashes = false;
	assert_int_equal(e->appended_in_hook, 3);
	assert_int_equal(e->acked, e->nrecs);
	check_crash_copies(e, 0);
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
}

static void test_leftovers(void **state)
{
	struct env *e = *state;
	char path[512], *log;
	struct dhcp_lease_table *got;

	open_journal(e);
	for (int i = 0; i < 50; i++)
		random_op(e);
	run(e);
	close_journal(e);
	/* an unfinished snapshot: removed unread */
	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_TMP_FILE);
	put_file(path, "garbage", 7);
	got = replay_dir(e->dir, &log);
	assert_tables_equal(got, e->t);
	{
		char want[4096];

		snprintf(want, sizeof(want),
			 "homegwd: info: lease journal: %s: removed an unfinished snapshot\n", path);
		assert_non_null(strstr(log, want));
	}
	assert_false(exists(e->dir, DHCP_JOURNAL_TMP_FILE));
	free(log);
	dhcp_lease_table_free(got);
	/* a newer snapshot beside the old journal and a journal.next: the old
	 * records are all in the snapshot and change nothing */
	{
		uint8_t *snap;
		size_t len;

		assert_int_equal(dhcp_journal_encode_snapshot(e->t, e->nrecs, &snap, &len), 0);
		path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_SNAPSHOT_FILE);
		put_file(path, snap, len);
		path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_NEXT_FILE);
		put_file(path, "", 0);
		free(snap);
	}
	got = replay_dir(e->dir, NULL);
	assert_tables_equal(got, e->t);
	assert_false(exists(e->dir, DHCP_JOURNAL_NEXT_FILE));
	assert_int_equal(file_size(e->dir, DHCP_JOURNAL_FILE), 0);
	dhcp_lease_table_free(got);
}

/* ---- errors ---- */

static void test_write_errors(void **state)
{
	struct env *e = *state;
	struct capture cap;
	char *log, want[4096], path[512];
	struct dhcp_lease_table *ok;

	open_journal(e);
	for (unsigned i = 0; i < 5; i++)
		bind_one(e, i, NULL, NULL);
	run(e);
	/* the disk is full: two batches fail, their callbacks say so, the log says it once */
	e->fail_io = DHCP_JOURNAL_IO_WRITE;
	e->fail_err = -ENOSPC;
	e->fail_count = 2;
	e->nevents = 0;
	capture_start(&cap);
	bind_one(e, 10, NULL, NULL);
	bind_one(e, 11, NULL, NULL);
	run(e);
	bind_one(e, 12, NULL, NULL);
	run(e);
	log = capture_end(&cap);
	e->events[e->nevents] = '\0';
	/* the write fails, nothing is synced; a failed write may have left part of
	 * itself, so the next batch cuts the file back first */
	assert_string_equal(e->events, "WCCTWC");
	assert_int_equal(e->last_status, -ENOSPC);
	assert_int_equal(e->failed, 3);
	assert_int_equal(dhcp_journal_stats(e->j)->failed_batches, 2);
	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_FILE);
	snprintf(want, sizeof(want),
		 "homegwd: error: lease journal: %s: write failed: No space left on device\n", path);
	assert_string_equal(log, want);
	free(log);
	/* the sync fails: the bytes were written, so the next batch cuts them off first */
	e->fail_io = DHCP_JOURNAL_IO_SYNC;
	e->fail_err = -EIO;
	e->fail_count = 1;
	e->nevents = 0;
	capture_start(&cap);
	bind_one(e, 20, NULL, NULL);
	bind_one(e, 21, NULL, NULL);
	run(e);
	assert_int_equal(e->last_status, -EIO);
	bind_one(e, 22, NULL, NULL);
	bind_one(e, 23, NULL, NULL);
	bind_one(e, 24, NULL, NULL);
	run(e);
	log = capture_end(&cap);
	e->events[e->nevents] = '\0';
	assert_string_equal(e->events, "TWSCCTWSCCC");
	assert_int_equal(e->last_status, 0);
	snprintf(want, sizeof(want),
		 "homegwd: error: lease journal: %s: sync failed: Input/output error\n"
		 "homegwd: info: lease journal: %s: writing again\n",
		 path, path);
	assert_string_equal(log, want);
	free(log);
	/* a restart has what was acknowledged, and nothing of what failed */
	close_journal(e);
	ok = table_ok(e);
	assert_int_equal(dhcp_lease_count(ok), 8);
	assert_null(dhcp_lease_by_addr(ok, A(120)));
	assert_replay_equals(e->dir, ok);
	dhcp_lease_table_free(ok);
}

static void test_rlimit_fsize(void **state)
{
	struct env *e = *state;
	struct rlimit old, small;
	struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
	struct capture cap;
	char *log;
	size_t good, size;
	struct dhcp_journal_scan scan;
	char path[512], *buf;

	open_journal(e);
	for (int i = 0; i < 30; i++)
		random_op(e);
	run(e);
	good = e->nrecs;
	size = file_size(e->dir, DHCP_JOURNAL_FILE);
	/* a real kernel error: the file may not grow past 100 more bytes */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = size + 100;
	sigaction(SIGXFSZ, &ign, &prev);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	capture_start(&cap);
	for (int i = 0; i < 40; i++)
		random_op(e);
	run(e);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	sigaction(SIGXFSZ, &prev, NULL);
	assert_int_equal(e->last_status, -EFBIG);
	assert_true(e->failed > 0);
	/* the partial batch is on disk past the good records: the next batch, shorter
	 * than it, removes it first */
	assert_int_equal(file_size(e->dir, DHCP_JOURNAL_FILE), size + 100);
	bind_one(e, 1, NULL, NULL);
	run(e);
	assert_true(file_size(e->dir, DHCP_JOURNAL_FILE) < size + 100);
	log = capture_end(&cap);
	assert_non_null(strstr(log, "write failed: File too large\n"));
	assert_int_equal(e->last_status, 0);
	free(log);
	close_journal(e);
	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_FILE);
	buf = cat_file(path, &size);
	assert_int_equal(dhcp_journal_decode(buf, size, NULL, NULL, &scan), 0);
	assert_int_equal(scan.end, DHCP_JOURNAL_CLEAN);
	assert_int_equal(scan.records, e->nrecs - e->failed);
	assert_true(scan.records > good);
	free(buf);
	{
		struct dhcp_lease_table *ok = table_ok(e);

		assert_replay_equals(e->dir, ok);
		dhcp_lease_table_free(ok);
	}
}

static void test_compaction_errors(void **state)
{
	struct env *e = *state;
	struct capture cap;
	char *log;

	open_journal(e);
	for (int i = 0; i < 100; i++)
		random_op(e);
	run(e);
	/* before the switch: journal.next goes, the journal stays */
	e->fail_io = DHCP_JOURNAL_IO_DIR_SYNC1;
	e->fail_err = -EIO;
	e->fail_count = 1;
	capture_start(&cap);
	assert_int_equal(dhcp_journal_compact(e->j), 0);
	run(e);
	log = capture_end(&cap);
	assert_int_equal(dhcp_journal_stats(e->j)->compaction_errors, 1);
	assert_false(exists(e->dir, DHCP_JOURNAL_NEXT_FILE));
	assert_non_null(strstr(log, ": compaction failed (sync the directory): Input/output error\n"));
	free(log);
	/* after it: the tmp goes, appends go on into journal.next */
	e->fail_io = DHCP_JOURNAL_IO_TMP_SYNC;
	e->fail_count = 1;
	capture_start(&cap);
	assert_int_equal(dhcp_journal_compact(e->j), 0);
	run(e);
	free(capture_end(&cap));
	assert_int_equal(dhcp_journal_stats(e->j)->compaction_errors, 2);
	assert_false(exists(e->dir, DHCP_JOURNAL_TMP_FILE));
	assert_true(exists(e->dir, DHCP_JOURNAL_NEXT_FILE));
	for (int i = 0; i < 30; i++)
		random_op(e);
	run(e);
	assert_int_equal(e->acked, e->nrecs);
	/* a restart in this state has everything */
	{
		char copy[80];

		snprintf(copy, sizeof(copy), "%s-copy", e->dir);
		copy_dir(e->dir, copy);
		assert_replay_equals(copy, e->t);
		rm_dir(copy);
	}
	/* the next attempt resumes at the snapshot */
	assert_int_equal(dhcp_journal_compact(e->j), 0);
	run(e);
	assert_int_equal(dhcp_journal_stats(e->j)->compactions, 1);
	assert_false(exists(e->dir, DHCP_JOURNAL_NEXT_FILE));
	for (int i = 0; i < 10; i++)
		random_op(e);
	run(e);
	close_journal(e);
	assert_replay_equals(e->dir, e->t);
}

static void test_busy(void **state)
{
	struct env *e = *state;
	struct dhcp_journal *j2;
	struct dhcp_lease_table *t2 = new_table(NULL);
	struct capture cap;
	char *log, want[4096];

	open_journal(e);
	capture_start(&cap);
	assert_int_equal(dhcp_journal_open(&j2, &e->loop, e->dir, t2, T0), -EBUSY);
	log = capture_end(&cap);
	snprintf(want, sizeof(want), "homegwd: error: lease journal: %s is in use by another process\n",
		 e->dir);
	assert_string_equal(log, want);
	assert_null(j2);
	free(log);
	dhcp_lease_table_free(t2);
}

static void test_not_a_file(void **state)
{
	struct env *e = *state;
	char path[512];
	struct dhcp_journal *j;
	struct capture cap;
	char *log;

	path_in(path, sizeof(path), e->dir, DHCP_JOURNAL_FILE);
	assert_int_equal(mkdir(path, 0750), 0);
	capture_start(&cap);
	assert_int_equal(dhcp_journal_open(&j, &e->loop, e->dir, e->t, T0), -EINVAL);
	log = capture_end(&cap);
	assert_non_null(strstr(log, "leases.journal: Invalid argument\n"));
	free(log);
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_snapshot_format),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_follow_each_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appends_from_a_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_equals_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_states_with_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rlimit_fsize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
