/* dhcp_journal.c — see dhcp_journal.h.
 *
 * Payloads (all integers big-endian, through wire.h):
 *
 *     u8 version | u8 type | u64 seq | fields
 *     PUT (1)         u32 addr, u8 state, u8 flags, i64 expires_at, u8 n + scope name,
 *                     u8 htype, u8 hlen + chaddr, u8 n + client-id, u8 n + hostname
 *     DEL (2)         u32 addr
 *     SNAP_BEGIN (3)  u32 magic; seq is the snapshot's S (it holds every record <= S)
 *     SNAP_END (4)    u32 number of PUT records in the snapshot
 *
 * A snapshot is SNAP_BEGIN, one PUT per lease, SNAP_END, and nothing else. A
 * journal is PUT and DEL records with increasing seq. */
#include "dhcp_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw.h"
#include "log.h"
#include "wire.h"

enum {
	T_PUT = 1,
	T_DEL = 2,
	T_SNAP_BEGIN = 3,
	T_SNAP_END = 4,
};
#define SNAP_MAGIC 0x484c5331u /* "HLS1" */

/* ---- CRC-32C ---- */

static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t dhcp_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- frames ---- */

static void put_u64(struct wire *w, uint64_t v)
{
	wire_put_u32(w, (uint32_t)(v >> 32));
	wire_put_u32(w, (uint32_t)v);
}

static uint64_t get_u64(struct wire *w)
{
	uint64_t hi = wire_u32(w);

	return hi << 32 | wire_u32(w);
}

static void put_lease(struct wire *w, const struct dhcp_lease_rec *rec)
{
	wire_put_u32(w, rec->addr);
	wire_put_u8(w, rec->state);
	wire_put_u8(w, rec->flags);
	put_u64(w, (uint64_t)rec->expires_at);
	wire_put_u8(w, rec->scope_len);
	wire_put_bytes(w, rec->scope, rec->scope_len);
	wire_put_u8(w, rec->htype);
	wire_put_u8(w, rec->hlen);
	wire_put_bytes(w, rec->chaddr, rec->hlen);
	wire_put_u8(w, rec->cid_len);
	wire_put_bytes(w, rec->client_id, rec->cid_len);
	wire_put_u8(w, rec->host_len);
	wire_put_bytes(w, rec->hostname, rec->host_len);
}

/* One frame; rec is used by PUT and DEL, n by SNAP_END. The length, or -ENOBUFS. */
static int frame(uint8_t type, uint64_t seq, const struct dhcp_lease_rec *rec, uint32_t n, uint8_t *buf,
		 size_t cap)
{
	struct wire w = wire_writer(buf, cap), h;
	size_t plen;
	uint32_t crc;

	wire_skip(&w, 8);
	wire_put_u8(&w, DHCP_JOURNAL_VERSION);
	wire_put_u8(&w, type);
	put_u64(&w, seq);
	if (type == T_PUT)
		put_lease(&w, rec);
	else if (type == T_DEL)
		wire_put_u32(&w, rec->addr);
	else if (type == T_SNAP_BEGIN)
		wire_put_u32(&w, SNAP_MAGIC);
	else
		wire_put_u32(&w, n);
	if (!wire_ok(&w))
		return -ENOBUFS;
	plen = wire_pos(&w) - 8;
	h = wire_writer(buf, 8);
	wire_put_u32(&h, (uint32_t)plen);
	crc = dhcp_crc32c(dhcp_crc32c(0, buf, 4), buf + 8, plen);
	wire_put_u32(&h, crc);
	return (int)wire_pos(&w);
}

int dhcp_journal_encode(const struct dhcp_lease_rec *rec, uint8_t *buf, size_t cap)
{
	if (dhcp_lease_rec_invalid(rec))
		return -EINVAL;
	return frame(rec->op == DHCP_LEASE_PUT ? T_PUT : T_DEL, rec->seq, rec, 0, buf, cap);
}

static const char *get_lease(struct wire *w, struct dhcp_lease_rec *rec)
{
	rec->op = DHCP_LEASE_PUT;
	rec->addr = wire_u32(w);
	rec->state = wire_u8(w);
	rec->flags = wire_u8(w);
	rec->expires_at = (int64_t)get_u64(w);
	rec->scope_len = wire_u8(w);
	if (rec->scope_len > DHCP_LEASE_SCOPE_NAME_MAX)
		return "bad scope name";
	wire_copy(w, rec->scope, rec->scope_len);
	rec->htype = wire_u8(w);
	rec->hlen = wire_u8(w);
	if (rec->hlen > DHCP_LEASE_CHADDR_MAX)
		return "bad hardware address length";
	wire_copy(w, rec->chaddr, rec->hlen);
	rec->cid_len = wire_u8(w);
	wire_copy(w, rec->client_id, rec->cid_len);
	rec->host_len = wire_u8(w);
	if (rec->host_len > DHCP_LEASE_HOSTNAME_MAX)
		return "bad hostname";
	wire_copy(w, rec->hostname, rec->host_len);
	return NULL;
}

/* A payload: NULL and *type (*n for SNAP_END), or what is wrong with it. */
static const char *payload(const uint8_t *p, size_t len, uint8_t *type, uint32_t *n,
			   struct dhcp_lease_rec *rec)
{
	struct wire w = wire_reader(p, len);
	const char *why = NULL;

	memset(rec, 0, sizeof(*rec));
	if (wire_u8(&w) != DHCP_JOURNAL_VERSION)
		return "unknown version";
	*type = wire_u8(&w);
	rec->seq = get_u64(&w);
	switch (*type) {
	case T_PUT:
		why = get_lease(&w, rec);
		break;
	case T_DEL:
		rec->op = DHCP_LEASE_DEL;
		rec->addr = wire_u32(&w);
		break;
	case T_SNAP_BEGIN:
		if (wire_u32(&w) != SNAP_MAGIC && wire_ok(&w))
			why = "bad snapshot magic";
		break;
	case T_SNAP_END:
		*n = wire_u32(&w);
		break;
	default:
		return "unknown record type";
	}
	if (why)
		return why;
	if (!wire_ok(&w))
		return "record too short";
	if (wire_left(&w))
		return "trailing bytes in record";
	return *type == T_PUT || *type == T_DEL ? dhcp_lease_rec_invalid(rec) : NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The frame at buf[off..len): NULL and *flen, or what is wrong and whether it
 * can be a torn write (it reaches the end of the data, or only zeros follow:
 * a file extended but not written). */
static const char *frame_at(const uint8_t *buf, size_t len, size_t off, size_t *flen, bool *torn)
{
	size_t left = len - off;
	struct wire w = wire_reader(buf + off, left);
	uint32_t plen, crc;

	*torn = true;
	if (left < 8)
		return "short header";
	plen = wire_u32(&w);
	crc = wire_u32(&w);
	if (plen == 0 || plen > DHCP_JOURNAL_PAYLOAD_MAX) {
		*torn = all_zero(buf + off, left);
		return "bad length";
	}
	if (plen > left - 8)
		return "short record";
	*flen = 8 + (size_t)plen;
	if (dhcp_crc32c(dhcp_crc32c(0, buf + off, 4), buf + off + 8, plen) != crc) {
		*torn = all_zero(buf + off + *flen, left - *flen);
		return "bad checksum";
	}
	*torn = false;
	return NULL;
}

int dhcp_journal_decode(const void *data_, size_t len, dhcp_journal_rec_fn fn, void *data,
			struct dhcp_journal_scan *scan)
{
	const uint8_t *buf = data_;
	struct dhcp_lease_rec rec;
	size_t off = 0, flen = 0;
	uint8_t type = 0;
	uint32_t n;
	bool torn;
	int err;

	memset(scan, 0, sizeof(*scan));
	while (off < len) {
		const char *why = frame_at(buf, len, off, &flen, &torn);

		if (why) {
			scan->end = torn ? DHCP_JOURNAL_TORN : DHCP_JOURNAL_CORRUPT;
			scan->why = why;
			break;
		}
		/* a valid checksum over a bad record is not a torn write */
		why = payload(buf + off + 8, flen - 8, &type, &n, &rec);
		if (!why && type != T_PUT && type != T_DEL)
			why = "snapshot record in a journal";
		if (!why && rec.seq <= scan->last_seq)
			why = "sequence number out of order";
		if (why) {
			scan->end = DHCP_JOURNAL_CORRUPT;
			scan->why = why;
			break;
		}
		if (fn && (err = fn(data, &rec)) < 0)
			return err;
		scan->last_seq = rec.seq;
		scan->records++;
		off += flen;
		scan->good = off;
	}
	return 0;
}

/* ---- snapshots ---- */

static int buf_room(uint8_t **buf, size_t *cap, size_t len, size_t need)
{
	uint8_t *p;
	size_t ncap = *cap;

	if (*cap - len >= need)
		return 0;
	while (ncap - len < need)
		ncap *= 2;
	p = realloc(*buf, ncap);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

int dhcp_journal_encode_snapshot(const struct dhcp_lease_table *t, uint64_t seq, uint8_t **out, size_t *len)
{
	size_t cap = (dhcp_lease_count(t) + 2) * 80 + DHCP_JOURNAL_FRAME_MAX, n = 0;
	uint8_t *buf = malloc(cap);
	struct dhcp_lease_rec rec;
	uint32_t count = 0;

	if (!buf)
		return -ENOMEM;
	n += (size_t)frame(T_SNAP_BEGIN, seq, NULL, 0, buf, cap);
	for (const struct dhcp_lease *l = dhcp_lease_first(t); l; l = dhcp_lease_next(t, l)) {
		if (buf_room(&buf, &cap, n, 2 * DHCP_JOURNAL_FRAME_MAX) < 0) {
			free(buf);
			return -ENOMEM;
		}
		dhcp_lease_rec_of(t, l, &rec);
		n += (size_t)frame(T_PUT, seq, &rec, 0, buf + n, cap - n);
		count++;
	}
	n += (size_t)frame(T_SNAP_END, seq, NULL, count, buf + n, cap - n);
	*out = buf;
	*len = n;
	return 0;
}

/* One pass over snapshot content; fn NULL: validate only. */
static int snap_walk(const uint8_t *buf, size_t len, dhcp_journal_rec_fn fn, void *data, uint64_t *seq,
		     const char **why)
{
	struct dhcp_lease_rec rec;
	size_t off = 0, flen = 0;
	uint32_t count = 0, n = 0;
	uint8_t type = 0;
	bool torn;
	int err;

	while (off < len) {
		*why = frame_at(buf, len, off, &flen, &torn);
		if (!*why)
			*why = payload(buf + off + 8, flen - 8, &type, &n, &rec);
		if (*why)
			return -EINVAL;
		if ((off == 0) != (type == T_SNAP_BEGIN) || type == T_DEL) {
			*why = off == 0 ? "no begin record" : "unexpected record";
			return -EINVAL;
		}
		off += flen;
		if (type == T_SNAP_BEGIN) {
			*seq = rec.seq;
		} else if (type == T_SNAP_END) {
			*why = n != count ? "wrong lease count" :
			       off != len ? "bytes after the end record" :
					    NULL;
			return *why ? -EINVAL : 0;
		} else {
			count++;
			if (fn && (err = fn(data, &rec)) < 0)
				return err;
		}
	}
	*why = len ? "no end record" : "empty file";
	return -EINVAL;
}

int dhcp_journal_decode_snapshot(const void *buf, size_t len, dhcp_journal_rec_fn fn, void *data,
				 uint64_t *seq, const char **why)
{
	/* whole-file first: a snapshot is used entirely or not at all */
	int err = snap_walk(buf, len, NULL, NULL, seq, why);

	return err < 0 ? err : snap_walk(buf, len, fn, data, seq, why);
}

/* ---- the store ---- */

struct jwait {
	dhcp_journal_cb cb;
	void *data;
};

struct batch {
	uint8_t *buf;
	size_t len, cap;
	struct jwait *w;
	size_t nw, capw;
};

enum {
	/* compaction cleanup after a failure, after the dhcp_journal_io steps */
	C_FAIL_CLOSE_OLD = 100,
	C_FAIL_CLOSE_NEXT,
	C_FAIL_UNLINK_NEXT,
	C_FAIL_CLOSE_TMP,
	C_FAIL_UNLINK_TMP,
};

struct dhcp_journal {
	uv_loop_t *loop;
	struct dhcp_lease_table *table;
	char *dir, *path_journal, *path_next, *path_snap, *path_tmp;
	int dirfd, fd;
	uint64_t synced; /* bytes of fd known to be on disk */
	bool dirty;	 /* a failed batch may have left bytes after them */
	uint64_t next_seq;

	struct batch pending, inflight;
	bool busy; /* inflight is being written */
	int bstep;
	size_t bdone;
	int bfault;
	int last_err; /* of the last batch: log a failure once, and the recovery */
	uv_fs_t breq;
	/* write + sync of a batch: one trip to the thread pool (two cost a
	 * context switch each per batch, a quarter of the CPU under load) */
	uv_work_t bwork;
	int wsync_fault; /* the test hook's answer for the sync step */
	int wresult;
	uv_check_t check;
	uv_idle_t idle;

	/* compaction */
	uv_fs_t creq;
	int cstep, cfault, cerr, cerr_step;
	bool compacting, on_next, switch_wait;
	int next_fd, old_fd, tmp_fd;
	uint8_t *snap;
	size_t snap_len, snap_done;
	uint64_t compact_min, compact_retry_at;
	unsigned compact_ratio;

	struct dhcp_journal_stats stats;
	dhcp_journal_fault_fn fault;
	void *fault_data;

	bool closing, finishing;
	int handles;
	int xstep;
	uv_fs_t xreq;
	void (*close_cb)(void *data);
	void *close_data;
};

static const char *const io_names[] = {
	"truncate",
	"write",
	"sync",
	"create " DHCP_JOURNAL_NEXT_FILE,
	"sync the directory",
	"truncate the old journal",
	"close the old journal",
	"create " DHCP_JOURNAL_TMP_FILE,
	"write " DHCP_JOURNAL_TMP_FILE,
	"sync " DHCP_JOURNAL_TMP_FILE,
	"close " DHCP_JOURNAL_TMP_FILE,
	"rename " DHCP_JOURNAL_TMP_FILE,
	"sync the directory",
	"rename " DHCP_JOURNAL_NEXT_FILE,
	"sync the directory",
};

static void journal_free(struct dhcp_journal *j)
{
	free(j->pending.buf);
	free(j->pending.w);
	free(j->inflight.buf);
	free(j->inflight.w);
	free(j->snap);
	free(j->dir);
	free(j->path_journal);
	free(j->path_next);
	free(j->path_snap);
	free(j->path_tmp);
	free(j);
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p;

	if (n > PATH_MAX)
		return NULL;
	p = malloc(n);
	if (p) {
		strcpy(p, dir);
		strcat(p, "/");
		strcat(p, name);
	}
	return p;
}

/* ---- open: replay, and normalise what a crash or a bad disk left ---- */

struct plan {
	bool compact; /* write a snapshot of the replayed table before appending */
	bool next_exists;
	bool skipped;	  /* the journal holds records the snapshot already has */
	char *aside_snap; /* where a corrupt file goes (after the snapshot saved its records) */
	char *aside_journal;
	char *aside_next;
};

struct replay {
	struct dhcp_journal *j;
	uint64_t after; /* records up to this seq are in the snapshot */
	uint64_t applied, skipped, rejected;
};

static int replay_rec(void *data, const struct dhcp_lease_rec *rec)
{
	struct replay *r = data;
	int err;

	if (rec->seq <= r->after) {
		r->skipped++;
		return 0;
	}
	err = dhcp_lease_apply(r->j->table, rec);
	if (err == -ENOMEM)
		return err;
	if (err < 0) /* more scopes than DHCP_LEASE_SCOPES_MAX: a hostile file */
		r->rejected++;
	else
		r->applied++;
	return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((uint64_t)st.st_size > DHCP_JOURNAL_FILE_MAX)
		err = -EFBIG;
	if (err) {
		close(fd);
		return err;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			free(buf);
			close(fd);
			return err;
		}
		if (r == 0)
			break; /* shrank meanwhile: what was there is what we have */
		n += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
}

/* NAME.corrupt-YYYYmmddTHHMMSSZ, with -N when that exists already. */
static char *aside_name(const char *path, time_t now)
{
	char stamp[32], *p;
	struct tm tm;
	size_t n = strlen(path) + 48;

	if (!gmtime_r(&now, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	p = malloc(n);
	if (!p)
		return NULL;
	snprintf(p, n, "%s.corrupt-%s", path, stamp);
	for (int i = 1; access(p, F_OK) == 0 && i < 1000; i++)
		snprintf(p, n, "%s.corrupt-%s-%d", path, stamp, i);
	return p;
}

static int fsync_path_truncate(const char *path, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0 || fdatasync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int replay_snapshot(struct dhcp_journal *j, time_t now, struct plan *p, uint64_t *seq)
{
	struct replay r = {j, 0, 0, 0, 0};
	uint8_t *buf;
	size_t len;
	const char *why = NULL;
	int err = read_file(j->path_snap, &buf, &len);

	*seq = 0;
	if (err == -ENOENT)
		return 0;
	if (err < 0) {
		gw_err("lease journal: %s: %s", j->path_snap, strerror(-err));
		return err;
	}
	err = dhcp_journal_decode_snapshot(buf, len, replay_rec, &r, seq, &why);
	free(buf);
	if (err == -EINVAL) {
		p->aside_snap = aside_name(j->path_snap, now);
		if (!p->aside_snap)
			return -ENOMEM;
		gw_err("lease journal: %s: unusable snapshot (%s); set aside as %s, restoring from the journal alone",
		       j->path_snap, why, p->aside_snap);
		j->stats.corrupt++;
		p->compact = true;
		*seq = 0;
		return 0;
	}
	if (err < 0)
		return err;
	if (r.rejected)
		gw_warn("lease journal: %s: %" PRIu64 " leases over the scope limit ignored", j->path_snap,
			r.rejected);
	j->stats.snapshot_bytes = len;
	j->stats.replayed += r.applied;
	return 0;
}

/* One journal file (leases.journal, then leases.journal.next). */
static int replay_journal(struct dhcp_journal *j, const char *path, bool is_next, time_t now, struct plan *p,
			  uint64_t after, uint64_t *last)
{
	struct replay r = {j, after, 0, 0, 0};
	struct dhcp_journal_scan scan;
	uint8_t *buf;
	size_t len;
	int err = read_file(path, &buf, &len);

	if (err == -ENOENT)
		return 0;
	if (err < 0) {
		gw_err("lease journal: %s: %s", path, strerror(-err));
		return err;
	}
	if (is_next)
		p->next_exists = p->compact = true;
	err = dhcp_journal_decode(buf, len, replay_rec, &r, &scan);
	free(buf);
	if (err < 0)
		return err;
	j->stats.replayed += r.applied;
	if (r.skipped)
		p->skipped = p->compact = true;
	if (r.rejected)
		gw_warn("lease journal: %s: %" PRIu64 " records over the scope limit ignored", path,
			r.rejected);
	if (scan.last_seq > *last)
		*last = scan.last_seq;
	if (scan.end == DHCP_JOURNAL_TORN) {
		/* the write that was cut short was never acknowledged */
		gw_warn("lease journal: %s: dropped a torn record at offset %zu (%s, %zu bytes)", path,
			scan.good, scan.why, len - scan.good);
		j->stats.torn++;
		return is_next ? 0 : fsync_path_truncate(path, scan.good);
	}
	if (scan.end == DHCP_JOURNAL_CORRUPT) {
		char **aside = is_next ? &p->aside_next : &p->aside_journal;

		*aside = aside_name(path, now);
		if (!*aside)
			return -ENOMEM;
		gw_err("lease journal: %s: corrupt record at offset %zu (%s); kept the %zu records before it, "
		       "the file is set aside as %s",
		       path, scan.good, scan.why, scan.records, *aside);
		j->stats.corrupt++;
		p->compact = true;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t r = write(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

static int write_file_synced(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640), err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static int sys(int r)
{
	return r < 0 ? -errno : 0;
}

/* At open, before the loop runs: the same order as the live compaction (see
 * compact_start), plus the corrupt files, which move aside only once the new
 * snapshot holds what they had, so a crash here loses nothing either. */
static int compact_sync(struct dhcp_journal *j, const struct plan *p)
{
	uint8_t *buf;
	size_t len;
	int err;

	if (p->aside_snap && (err = sys(rename(j->path_snap, p->aside_snap))) < 0)
		return err;
	err = dhcp_journal_encode_snapshot(j->table, j->next_seq - 1, &buf, &len);
	if (err < 0)
		return err;
	err = write_file_synced(j->path_tmp, buf, len);
	free(buf);
	if (!err)
		err = sys(rename(j->path_tmp, j->path_snap));
	if (!err)
		err = sys(fsync(j->dirfd));
	if (err < 0) {
		unlink(j->path_tmp);
		return err;
	}
	j->stats.snapshot_bytes = len;
	/* every record of the journals is in the snapshot now */
	if (p->aside_journal && (err = sys(rename(j->path_journal, p->aside_journal))) < 0)
		return err;
	if (p->next_exists) {
		err = p->aside_next ? sys(rename(j->path_next, p->aside_next)) : sys(unlink(j->path_next));
		if (err < 0)
			return err;
	}
	j->fd = open(j->path_journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (j->fd < 0)
		return -errno;
	if (fdatasync(j->fd) < 0 || fsync(j->dirfd) < 0)
		return -errno;
	j->synced = 0;
	return 0;
}

static int replay(struct dhcp_journal *j, time_t now, struct plan *p)
{
	uint64_t snap_seq, last = 0;
	int err;

	if (unlink(j->path_tmp) == 0)
		gw_info("lease journal: %s: removed an unfinished snapshot", j->path_tmp);
	else if (errno != ENOENT)
		gw_warn("lease journal: %s: %s", j->path_tmp, strerror(errno));
	err = replay_snapshot(j, now, p, &snap_seq);
	if (!err)
		err = replay_journal(j, j->path_journal, false, now, p, snap_seq, &last);
	if (!err)
		err = replay_journal(j, j->path_next, true, now, p, snap_seq, &last);
	if (err < 0)
		return err;
	j->next_seq = (last > snap_seq ? last : snap_seq) + 1;
	gw_info("lease journal: %s: restored %zu leases", j->dir, dhcp_lease_count(j->table));
	return 0;
}

static int open_dir(struct dhcp_journal *j)
{
	if (mkdir(j->dir, 0750) < 0 && errno != EEXIST) {
		gw_err("lease journal: cannot create %s: %s", j->dir, strerror(errno));
		return -errno;
	}
	j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		gw_err("lease journal: %s: %s", j->dir, strerror(errno));
		return -errno;
	}
	/* two writers would interleave their records */
	if (flock(j->dirfd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		gw_err("lease journal: %s is in use by another process", j->dir);
		return err;
	}
	return 0;
}

static int open_journal(struct dhcp_journal *j)
{
	struct stat st;

	if (j->fd < 0) {
		j->fd = open(j->path_journal, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
		if (j->fd < 0 || fstat(j->fd, &st) < 0)
			return -errno;
		j->synced = (uint64_t)st.st_size;
		if (!st.st_size && fsync(j->dirfd) < 0) /* it may have just been created */
			return -errno;
	}
	j->stats.bytes = j->synced;
	return 0;
}

static void plan_free(struct plan *p)
{
	free(p->aside_snap);
	free(p->aside_journal);
	free(p->aside_next);
}

int dhcp_journal_open(struct dhcp_journal **jp, uv_loop_t *loop, const char *dir, struct dhcp_lease_table *t,
		      time_t now)
{
	struct dhcp_journal *j = calloc(1, sizeof(*j));
	struct plan p = {0};
	int err;

	*jp = NULL;
	if (!j)
		return -ENOMEM;
	j->loop = loop;
	j->table = t;
	j->dirfd = j->fd = j->next_fd = j->old_fd = j->tmp_fd = -1;
	j->compact_min = DHCP_JOURNAL_COMPACT_MIN;
	j->compact_ratio = DHCP_JOURNAL_COMPACT_RATIO;
	j->dir = strdup(dir);
	j->path_journal = path_join(dir, DHCP_JOURNAL_FILE);
	j->path_next = path_join(dir, DHCP_JOURNAL_NEXT_FILE);
	j->path_snap = path_join(dir, DHCP_JOURNAL_SNAPSHOT_FILE);
	j->path_tmp = path_join(dir, DHCP_JOURNAL_TMP_FILE);
	err = j->dir && j->path_journal && j->path_next && j->path_snap && j->path_tmp ? 0 : -ENAMETOOLONG;
	if (!err)
		err = open_dir(j);
	if (!err)
		err = replay(j, now, &p);
	if (!err && p.compact) {
		err = compact_sync(j, &p);
		if (err < 0)
			gw_err("lease journal: %s: cannot write a new snapshot: %s", j->dir, strerror(-err));
		else
			j->stats.compactions++;
	}
	if (!err)
		err = open_journal(j);
	plan_free(&p);
	if (err < 0) {
		if (j->fd >= 0)
			close(j->fd);
		if (j->dirfd >= 0)
			close(j->dirfd);
		journal_free(j);
		return err;
	}
	uv_check_init(loop, &j->check);
	uv_idle_init(loop, &j->idle);
	*jp = j;
	return 0;
}

/* ---- I/O steps on the thread pool ---- */

static void fail_async(struct dhcp_journal *j, uv_fs_t *req, int *slot, int err, uv_fs_cb cb)
{
	*slot = err;
	uv_fs_req_cleanup(req);
	/* fsync(-1) fails at once on the thread pool, so the error comes back
	 * through the callback like a real one, never re-entrantly */
	if (uv_fs_fsync(j->loop, req, -1, cb) < 0)
		abort();
}

/* The test hook: true when it failed the step (the callback will say so). */
static bool faulted(struct dhcp_journal *j, int io, uv_fs_t *req, int *slot, uv_fs_cb cb)
{
	int err = j->fault ? j->fault(j->fault_data, (enum dhcp_journal_io)io) : 0;

	if (err >= 0)
		return false;
	fail_async(j, req, slot, err, cb);
	return true;
}

static void submitted(struct dhcp_journal *j, int r, uv_fs_t *req, int *slot, uv_fs_cb cb)
{
	if (r < 0)
		fail_async(j, req, slot, r, cb);
}

static ssize_t io_result(uv_fs_t *req, int *slot)
{
	ssize_t r = req->result;

	if (*slot) {
		r = *slot;
		*slot = 0;
	}
	uv_fs_req_cleanup(req);
	return r;
}

/* uv_buf_t lengths are unsigned int: larger writes go in pieces (short writes loop anyway) */
static unsigned chunk(size_t left)
{
	return left > (1u << 30) ? 1u << 30 : (unsigned)left;
}

/* ---- group commit ---- */

static void batch_cb(uv_fs_t *req);
static void maybe_compact(struct dhcp_journal *j);
static void compact_switch(struct dhcp_journal *j);
static void maybe_finish_close(struct dhcp_journal *j);
static void on_check(uv_check_t *h);

static void on_idle(uv_idle_t *h)
{
	(void)h;
}

/* Why a check handle: it runs right after the poll phase, so the records
 * that the I/O callbacks of this iteration appended (the REQUESTs that
 * arrived together) leave in one batch; a prepare handle would hold them
 * until the next iteration's poll returned. The idle handle makes that poll
 * not block when records were appended outside the poll phase (a timer):
 * the check then runs at once rather than at the next event. */
static void arm(struct dhcp_journal *j)
{
	if (!uv_is_active((uv_handle_t *)&j->check))
		uv_check_start(&j->check, on_check);
	if (!j->busy && !uv_is_active((uv_handle_t *)&j->idle))
		uv_idle_start(&j->idle, on_idle);
}

int dhcp_journal_append(struct dhcp_journal *j, const struct dhcp_lease_rec *rec, dhcp_journal_cb cb,
			void *data)
{
	struct batch *b = &j->pending;
	int n;

	if (j->closing)
		return -ECANCELED;
	if (dhcp_lease_rec_invalid(rec))
		return -EINVAL;
	if (!b->cap) {
		b->cap = 16 * DHCP_JOURNAL_FRAME_MAX;
		b->buf = malloc(b->cap);
		if (!b->buf) {
			b->cap = 0;
			return -ENOMEM;
		}
	}
	if (buf_room(&b->buf, &b->cap, b->len, DHCP_JOURNAL_FRAME_MAX) < 0)
		return -ENOMEM;
	if (cb && b->nw == b->capw) {
		size_t nc = b->capw ? b->capw * 2 : 64;
		struct jwait *w = realloc(b->w, nc * sizeof(*w));

		if (!w)
			return -ENOMEM;
		b->w = w;
		b->capw = nc;
	}
	n = frame(rec->op == DHCP_LEASE_PUT ? T_PUT : T_DEL, j->next_seq, rec, 0, b->buf + b->len,
		  b->cap - b->len);
	if (n < 0)
		return n;
	b->len += (size_t)n;
	j->next_seq++;
	if (cb)
		b->w[b->nw++] = (struct jwait){cb, data};
	j->stats.records++;
	arm(j);
	return 0;
}

/* On a pool thread: touches only what stays still while busy (the inflight
 * buffer, fd, synced, bdone, bstep, the w* fields). */
static void batch_work(uv_work_t *w)
{
	struct dhcp_journal *j = container_of(w, struct dhcp_journal, bwork);
	const struct batch *b = &j->inflight;

	while (j->bdone < b->len) {
		ssize_t r = pwrite(j->fd, b->buf + j->bdone, b->len - j->bdone, (off_t)(j->synced + j->bdone));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) { /* no progress on a regular file: do not spin */
			j->wresult = r < 0 ? -errno : -EIO;
			return;
		}
		j->bdone += (size_t)r;
	}
	j->bstep = DHCP_JOURNAL_IO_SYNC;
	if (j->wsync_fault < 0)
		j->wresult = j->wsync_fault;
	else
		j->wresult = fdatasync(j->fd) < 0 ? -errno : 0;
}

static void batch_done(struct dhcp_journal *j, int status);

static void batch_work_done(uv_work_t *w, int status)
{
	struct dhcp_journal *j = container_of(w, struct dhcp_journal, bwork);

	batch_done(j, status < 0 ? status : j->wresult);
}

static void batch_write(struct dhcp_journal *j)
{
	int r;

	j->bstep = DHCP_JOURNAL_IO_WRITE;
	if (faulted(j, DHCP_JOURNAL_IO_WRITE, &j->breq, &j->bfault, batch_cb))
		return;
	j->wsync_fault = j->fault ? j->fault(j->fault_data, DHCP_JOURNAL_IO_SYNC) : 0;
	j->stats.writes++;
	j->stats.syncs++;
	j->wresult = 0;
	r = uv_queue_work(j->loop, &j->bwork, batch_work, batch_work_done);
	if (r < 0) /* cannot happen with a valid loop and callbacks; fail like a write */
		submitted(j, r, &j->breq, &j->bfault, batch_cb);
}

static void batch_start(struct dhcp_journal *j)
{
	struct batch t = j->inflight;

	j->inflight = j->pending;
	j->pending = t; /* empty, keeps its buffers */
	j->busy = true;
	j->bdone = 0;
	if (!j->dirty) {
		batch_write(j);
		return;
	}
	/* a failed batch may have left part of itself: cut it off, or the next
	 * replay would see garbage in the middle of the journal */
	j->bstep = DHCP_JOURNAL_IO_TRUNCATE;
	if (!faulted(j, DHCP_JOURNAL_IO_TRUNCATE, &j->breq, &j->bfault, batch_cb))
		submitted(j, uv_fs_ftruncate(j->loop, &j->breq, j->fd, (int64_t)j->synced, batch_cb),
			  &j->breq, &j->bfault, batch_cb);
}

static void on_check(uv_check_t *h)
{
	struct dhcp_journal *j = container_of(h, struct dhcp_journal, check);

	uv_idle_stop(&j->idle);
	uv_check_stop(&j->check);
	if (j->busy) /* batch_done re-arms */
		return;
	if (!j->pending.len) {
		maybe_finish_close(j);
		return;
	}
	batch_start(j);
}

static void batch_log(struct dhcp_journal *j, int status)
{
	if (status < 0 && status != j->last_err)
		gw_err("lease journal: %s: %s failed: %s", j->on_next ? j->path_next : j->path_journal,
		       io_names[j->bstep], strerror(-status));
	else if (status == 0 && j->last_err)
		gw_info("lease journal: %s: writing again", j->on_next ? j->path_next : j->path_journal);
	j->last_err = status;
}

static void batch_done(struct dhcp_journal *j, int status)
{
	struct batch *b = &j->inflight;

	j->busy = false;
	j->stats.batches++;
	if (status < 0) {
		j->dirty = true;
		j->stats.failed_batches++;
	} else {
		j->synced += b->len;
		j->stats.bytes = j->synced;
	}
	batch_log(j, status);
	/* the callbacks may append (to pending) and may close (closing is checked below) */
	for (size_t i = 0; i < b->nw; i++)
		b->w[i].cb(b->w[i].data, status);
	b->len = 0;
	b->nw = 0;
	if (j->switch_wait) {
		j->switch_wait = false;
		compact_switch(j);
	} else if (status == 0) {
		maybe_compact(j);
	}
	if (j->pending.len)
		arm(j);
	maybe_finish_close(j);
}

static void batch_cb(uv_fs_t *req)
{
	struct dhcp_journal *j = container_of(req, struct dhcp_journal, breq);
	ssize_t r = io_result(req, &j->bfault);

	if (r < 0) {
		batch_done(j, (int)r);
		return;
	}
	switch (j->bstep) {
	case DHCP_JOURNAL_IO_TRUNCATE:
		j->dirty = false;
		batch_write(j);
		break;
	default:
		batch_done(j, 0);
		break;
	}
}

/* ---- compaction ----
 *
 * The journal grows by one record per change; the snapshot is the table.
 * When the journal outgrows max(compact_min, compact_ratio x snapshot):
 *
 *   1. create leases.journal.next, fsync the directory (so its name survives)
 *   2. once no batch is in flight, switch: new batches go to journal.next;
 *      S = the last seq appended, so the old journal holds only records <= S
 *   3. encode the table (it reflects every record <= S: changes are applied
 *      before they are appended), write leases.snapshot.tmp, fsync it, close
 *   4. rename it over leases.snapshot, fsync the directory
 *   5. rename journal.next over leases.journal, fsync the directory
 *
 * Replay reads snapshot, journal, journal.next, applying only records with
 * seq > the snapshot's S. A crash at any point leaves one of:
 *   - before 2: old snapshot + journal (+ an empty or partial journal.next
 *     holding nothing, or records > S): complete and in order;
 *   - 2..3: old snapshot + journal + journal.next; a leftover tmp is removed
 *     unread: the old snapshot plus both journals hold every record;
 *   - after the rename in 4 (whether or not it reached the disk): if it did,
 *     the new snapshot + records > S from either journal; the old journal's
 *     records are all <= S and skipped (and, being whole images, would change
 *     nothing if applied); if it did not, as before;
 *   - after 5: new snapshot + journal (the old one is gone, or, if the rename
 *     did not reach the disk, still there beside journal.next, as above).
 * Open normalises whatever it finds (a synchronous compaction), so the next
 * live compaction starts from snapshot + journal again.
 *
 * A failure leaves one of those states and the store keeps working: before
 * the switch journal.next goes and the old journal stays; after it, appends
 * continue in journal.next and the next attempt (after compact_min more
 * bytes) resumes at 3. */

static void compact_cb(uv_fs_t *req);

static bool cfaulted(struct dhcp_journal *j, int io)
{
	j->cstep = io;
	return faulted(j, io, &j->creq, &j->cfault, compact_cb);
}

static void csubmitted(struct dhcp_journal *j, int r)
{
	submitted(j, r, &j->creq, &j->cfault, compact_cb);
}

static void compact_done(struct dhcp_journal *j)
{
	j->compacting = false;
	free(j->snap);
	j->snap = NULL;
	if (j->cerr) {
		j->stats.compaction_errors++;
		j->compact_retry_at = j->synced + j->compact_min;
		gw_err("lease journal: %s: compaction failed (%s): %s", j->dir, io_names[j->cerr_step],
		       strerror(-j->cerr));
	} else {
		j->stats.compactions++;
		j->stats.snapshot_bytes = j->snap_len;
		gw_debug("lease journal: %s: compacted into a %zu-byte snapshot", j->dir, j->snap_len);
	}
	maybe_finish_close(j);
}

/* After a failure: close and remove what the attempt left, one step at a time. */
static void compact_cleanup(struct dhcp_journal *j)
{
	if (j->old_fd >= 0) {
		j->cstep = C_FAIL_CLOSE_OLD;
		csubmitted(j, uv_fs_close(j->loop, &j->creq, j->old_fd, compact_cb));
	} else if (j->next_fd >= 0) {
		j->cstep = C_FAIL_CLOSE_NEXT;
		csubmitted(j, uv_fs_close(j->loop, &j->creq, j->next_fd, compact_cb));
	} else if (j->tmp_fd >= 0) {
		j->cstep = C_FAIL_CLOSE_TMP;
		csubmitted(j, uv_fs_close(j->loop, &j->creq, j->tmp_fd, compact_cb));
	} else if (j->cerr_step >= DHCP_JOURNAL_IO_TMP_OPEN && j->cerr_step <= DHCP_JOURNAL_IO_SNAP_RENAME) {
		j->cstep = C_FAIL_UNLINK_TMP;
		csubmitted(j, uv_fs_unlink(j->loop, &j->creq, j->path_tmp, compact_cb));
	} else {
		compact_done(j);
	}
}

static void compact_fail(struct dhcp_journal *j, int err)
{
	j->cerr = err;
	j->cerr_step = j->cstep;
	compact_cleanup(j);
}

static void compact_start(struct dhcp_journal *j);
static void compact_snapshot(struct dhcp_journal *j);

static void maybe_compact(struct dhcp_journal *j)
{
	uint64_t limit = j->compact_ratio * j->stats.snapshot_bytes;

	if (limit < j->compact_min)
		limit = j->compact_min;
	if (!j->compacting && !j->closing && j->synced >= limit && j->synced >= j->compact_retry_at)
		compact_start(j);
}

static void compact_start(struct dhcp_journal *j)
{
	j->compacting = true;
	j->cerr = 0;
	if (j->on_next) { /* a failed attempt already switched: resume at 3 */
		compact_snapshot(j);
		return;
	}
	if (!cfaulted(j, DHCP_JOURNAL_IO_NEXT_OPEN))
		csubmitted(j, uv_fs_open(j->loop, &j->creq, j->path_next,
					 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640, compact_cb));
}

/* The hook sees this step but cannot fail it: the fd must go either way. */
static void close_old(struct dhcp_journal *j)
{
	j->cstep = DHCP_JOURNAL_IO_OLD_CLOSE;
	if (j->fault)
		(void)j->fault(j->fault_data, DHCP_JOURNAL_IO_OLD_CLOSE);
	csubmitted(j, uv_fs_close(j->loop, &j->creq, j->old_fd, compact_cb));
}

static void compact_switch(struct dhcp_journal *j)
{
	j->old_fd = j->fd;
	j->fd = j->next_fd;
	j->next_fd = -1;
	j->on_next = true;
	if (j->dirty) {
		/* cut the old journal's failed batch off: tidier for the replay */
		j->dirty = false;
		if (!cfaulted(j, DHCP_JOURNAL_IO_OLD_TRUNCATE))
			csubmitted(j, uv_fs_ftruncate(j->loop, &j->creq, j->old_fd, (int64_t)j->synced,
						      compact_cb));
	} else {
		close_old(j);
	}
	j->synced = 0;
	j->stats.bytes = 0;
}

static void compact_snapshot(struct dhcp_journal *j)
{
	j->cstep = DHCP_JOURNAL_IO_TMP_OPEN;
	free(j->snap);
	j->snap = NULL;
	if (dhcp_journal_encode_snapshot(j->table, j->next_seq - 1, &j->snap, &j->snap_len) < 0) {
		compact_fail(j, -ENOMEM);
		return;
	}
	j->snap_done = 0;
	if (!cfaulted(j, DHCP_JOURNAL_IO_TMP_OPEN))
		csubmitted(j, uv_fs_open(j->loop, &j->creq, j->path_tmp,
					 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640, compact_cb));
}

static void compact_write(struct dhcp_journal *j)
{
	uv_buf_t buf = uv_buf_init((char *)j->snap + j->snap_done, chunk(j->snap_len - j->snap_done));

	if (!cfaulted(j, DHCP_JOURNAL_IO_TMP_WRITE))
		csubmitted(j, uv_fs_write(j->loop, &j->creq, j->tmp_fd, &buf, 1, (int64_t)j->snap_done,
					  compact_cb));
}

static void dir_sync(struct dhcp_journal *j, int io)
{
	if (!cfaulted(j, io))
		csubmitted(j, uv_fs_fsync(j->loop, &j->creq, j->dirfd, compact_cb));
}

/* The next step after step `done` succeeded with result r. */
static void compact_next(struct dhcp_journal *j, int done, ssize_t r)
{
	switch (done) {
	case DHCP_JOURNAL_IO_NEXT_OPEN:
		j->next_fd = (int)r;
		dir_sync(j, DHCP_JOURNAL_IO_DIR_SYNC1);
		break;
	case DHCP_JOURNAL_IO_DIR_SYNC1:
		if (j->busy)
			j->switch_wait = true; /* batch_done switches */
		else
			compact_switch(j);
		break;
	case DHCP_JOURNAL_IO_OLD_TRUNCATE:
		close_old(j);
		break;
	case DHCP_JOURNAL_IO_OLD_CLOSE:
		compact_snapshot(j);
		break;
	case DHCP_JOURNAL_IO_TMP_OPEN:
		j->tmp_fd = (int)r;
		compact_write(j);
		break;
	case DHCP_JOURNAL_IO_TMP_WRITE:
		j->snap_done += (size_t)r;
		if (j->snap_done < j->snap_len) {
			compact_write(j);
		} else if (!cfaulted(j, DHCP_JOURNAL_IO_TMP_SYNC)) {
			csubmitted(j, uv_fs_fsync(j->loop, &j->creq, j->tmp_fd, compact_cb));
		}
		break;
	case DHCP_JOURNAL_IO_TMP_SYNC:
		if (!cfaulted(j, DHCP_JOURNAL_IO_TMP_CLOSE)) {
			csubmitted(j, uv_fs_close(j->loop, &j->creq, j->tmp_fd, compact_cb));
			j->tmp_fd = -1;
		}
		break;
	case DHCP_JOURNAL_IO_TMP_CLOSE:
		if (!cfaulted(j, DHCP_JOURNAL_IO_SNAP_RENAME))
			csubmitted(j, uv_fs_rename(j->loop, &j->creq, j->path_tmp, j->path_snap, compact_cb));
		break;
	case DHCP_JOURNAL_IO_SNAP_RENAME:
		dir_sync(j, DHCP_JOURNAL_IO_DIR_SYNC2);
		break;
	case DHCP_JOURNAL_IO_DIR_SYNC2:
		if (!cfaulted(j, DHCP_JOURNAL_IO_JOURNAL_RENAME))
			csubmitted(j, uv_fs_rename(j->loop, &j->creq, j->path_next, j->path_journal,
						   compact_cb));
		break;
	case DHCP_JOURNAL_IO_JOURNAL_RENAME:
		j->on_next = false; /* the file we append to is leases.journal now */
		dir_sync(j, DHCP_JOURNAL_IO_DIR_SYNC3);
		break;
	default: /* DIR_SYNC3 */
		compact_done(j);
		break;
	}
}

static void compact_cb(uv_fs_t *req)
{
	struct dhcp_journal *j = container_of(req, struct dhcp_journal, creq);
	ssize_t r = io_result(req, &j->cfault);

	switch (j->cstep) {
	case C_FAIL_CLOSE_OLD:
		j->old_fd = -1;
		compact_cleanup(j);
		return;
	case C_FAIL_CLOSE_NEXT:
		j->next_fd = -1;
		j->cstep = C_FAIL_UNLINK_NEXT;
		csubmitted(j, uv_fs_unlink(j->loop, &j->creq, j->path_next, compact_cb));
		return;
	case C_FAIL_CLOSE_TMP:
		j->tmp_fd = -1;
		j->cstep = C_FAIL_UNLINK_TMP;
		csubmitted(j, uv_fs_unlink(j->loop, &j->creq, j->path_tmp, compact_cb));
		return;
	case C_FAIL_UNLINK_NEXT:
	case C_FAIL_UNLINK_TMP:
		compact_done(j);
		return;
	}
	if (j->cstep == DHCP_JOURNAL_IO_OLD_CLOSE) {
		j->old_fd = -1; /* gone whatever close says: nothing was written through it since the sync */
		r = 0;
	}
	if (j->cstep == DHCP_JOURNAL_IO_TMP_WRITE && r == 0)
		r = -EIO; /* no progress: do not spin */
	if (r < 0) {
		compact_fail(j, (int)r);
		return;
	}
	compact_next(j, j->cstep, r);
}

int dhcp_journal_compact(struct dhcp_journal *j)
{
	if (j->compacting || j->closing)
		return -EBUSY;
	compact_start(j);
	return 0;
}

void dhcp_journal_set_compact(struct dhcp_journal *j, uint64_t min_bytes, unsigned ratio)
{
	j->compact_min = min_bytes;
	j->compact_ratio = ratio;
}

const struct dhcp_journal_stats *dhcp_journal_stats(const struct dhcp_journal *j)
{
	return &j->stats;
}

void dhcp_journal_set_fault(struct dhcp_journal *j, dhcp_journal_fault_fn fn, void *data)
{
	j->fault = fn;
	j->fault_data = data;
}

/* ---- close ---- */

static void close_cb(uv_fs_t *req)
{
	struct dhcp_journal *j = container_of(req, struct dhcp_journal, xreq);
	void (*done)(void *) = j->close_cb;
	void *data = j->close_data;

	uv_fs_req_cleanup(req);
	if (j->xstep == 0 && j->dirfd >= 0) {
		j->xstep = 1;
		if (uv_fs_close(j->loop, &j->xreq, j->dirfd, close_cb) == 0)
			return;
	}
	journal_free(j);
	if (done)
		done(data);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct dhcp_journal *j = h->data;

	if (--j->handles)
		return;
	j->xstep = 0;
	if (uv_fs_close(j->loop, &j->xreq, j->fd, close_cb) < 0) {
		j->xstep = 1;
		if (uv_fs_close(j->loop, &j->xreq, j->dirfd, close_cb) < 0)
			abort(); /* a valid fd: cannot fail to queue */
	}
}

static void maybe_finish_close(struct dhcp_journal *j)
{
	if (!j->closing || j->finishing || j->busy || j->compacting || j->pending.len)
		return;
	j->finishing = true;
	j->handles = 2;
	j->check.data = j->idle.data = j;
	uv_close((uv_handle_t *)&j->check, on_handle_closed);
	uv_close((uv_handle_t *)&j->idle, on_handle_closed);
}

void dhcp_journal_close(struct dhcp_journal *j, void (*done)(void *data), void *data)
{
	j->closing = true;
	j->close_cb = done;
	j->close_data = data;
	if (j->pending.len)
		arm(j);
	maybe_finish_close(j);
}
