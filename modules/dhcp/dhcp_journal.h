/* dhcp_journal.h — the lease store under state-dir (DESIGN.md, Persistence).
 *
 * Two files: `leases.snapshot`, the whole table at some record sequence number
 * S, and `leases.journal`, the records after it, append-only. Each record is
 * a frame:
 *
 *     u32 length of the payload | u32 CRC-32C over the length and the payload | payload
 *
 * and each payload: u8 version (1), u8 type, u64 seq, then the type's fields
 * (see dhcp_journal.c). Records are whole lease images (dhcp_lease.h), so they
 * are idempotent; with their sequence numbers, a journal replayed over a newer
 * snapshot changes nothing. All of it is decoded through wire.h: the files are
 * input from outside like a packet (a torn write, a bad disk, a hand edit).
 *
 * Group commit: dhcp_journal_append() encodes the record into the pending
 * batch; once per loop iteration, after the I/O callbacks (a uv_check handle),
 * the batch goes to disk with one pwrite and one fdatasync in a single
 * thread-pool job (uv_queue_work: DESIGN.md's uv_fs_write + uv_fs_fdatasync
 * cost two pool round trips, each a pair of context switches, per batch),
 * then every callback of the batch runs with the result. Records
 * appended meanwhile wait for the next batch. Nothing after open blocks the
 * loop.
 *
 * Files are created with mode 0640 (less if the umask says so). */
#ifndef DHCP_JOURNAL_H
#define DHCP_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "dhcp_lease.h"

#define DHCP_JOURNAL_VERSION 1
#define DHCP_JOURNAL_PAYLOAD_MAX 1024 /* a PUT with every field at its maximum is ~620 bytes */
#define DHCP_JOURNAL_FRAME_MAX (8 + DHCP_JOURNAL_PAYLOAD_MAX)
#define DHCP_JOURNAL_FILE_MAX (1ull << 30) /* a file larger than this is not read */
/* Compact when the journal holds more than max(MIN, RATIO x the snapshot). */
#define DHCP_JOURNAL_COMPACT_MIN (1u << 20)
#define DHCP_JOURNAL_COMPACT_RATIO 4

#define DHCP_JOURNAL_FILE "leases.journal"
#define DHCP_JOURNAL_NEXT_FILE "leases.journal.next" /* journal being started by a compaction */
#define DHCP_JOURNAL_SNAPSHOT_FILE "leases.snapshot"
#define DHCP_JOURNAL_TMP_FILE "leases.snapshot.tmp"

/* CRC-32C (Castagnoli), reflected, as iSCSI and ext4 use it: crc starts at 0. */
uint32_t dhcp_crc32c(uint32_t crc, const void *buf, size_t len);

/* ---- the format, in memory: replay uses these, and the fuzz target ---- */

/* One frame for rec (its seq included) into buf: its length, -EINVAL (rec
 * invalid), -ENOBUFS (cap too small; DHCP_JOURNAL_FRAME_MAX always fits). */
int dhcp_journal_encode(const struct dhcp_lease_rec *rec, uint8_t *buf, size_t cap);

enum dhcp_journal_end {
	DHCP_JOURNAL_CLEAN,   /* every byte was a valid record */
	DHCP_JOURNAL_TORN,    /* the last record is incomplete: a write cut short */
	DHCP_JOURNAL_CORRUPT, /* a bad record with more after it: not a torn write */
};

struct dhcp_journal_scan {
	size_t good;	/* bytes of valid records from the start */
	size_t records; /* how many */
	uint64_t last_seq;
	enum dhcp_journal_end end;
	const char *why; /* TORN/CORRUPT: what was wrong, for the log */
};

/* A record read back; negative stops the decoding and is returned. */
typedef int (*dhcp_journal_rec_fn)(void *data, const struct dhcp_lease_rec *rec);

/* Decode journal content: fn for each valid record, in order, up to the first
 * bad one. A frame is TORN when it runs past the end, or fails its checksum
 * with nothing but zeros (or nothing) after it; anything else wrong is
 * CORRUPT. Sequence numbers must increase. 0, or fn's error. */
int dhcp_journal_decode(const void *buf, size_t len, dhcp_journal_rec_fn fn, void *data,
			struct dhcp_journal_scan *scan);

/* The table as snapshot content (malloc'd *out of *len bytes), covering the
 * records up to seq. -ENOMEM. */
int dhcp_journal_encode_snapshot(const struct dhcp_lease_table *t, uint64_t seq, uint8_t **out, size_t *len);
/* Validate snapshot content whole (begin record, leases, end record with the
 * count, nothing after); only then fn for each lease. 0 and *seq; -EINVAL
 * and *why; or fn's error. */
int dhcp_journal_decode_snapshot(const void *buf, size_t len, dhcp_journal_rec_fn fn, void *data,
				 uint64_t *seq, const char **why);

/* ---- the store ---- */

struct dhcp_journal;

/* A batch's result: 0 when the record is on disk, else a negative errno. */
typedef void (*dhcp_journal_cb)(void *data, int status);

struct dhcp_journal_stats {
	uint64_t records;	 /* appended */
	uint64_t batches;	 /* completed, good or failed */
	uint64_t writes;	 /* batch writes to the journal */
	uint64_t syncs;		 /* fdatasync calls on the journal */
	uint64_t failed_batches; /* batches whose callbacks got an error */
	uint64_t bytes;		 /* journal bytes on disk */
	uint64_t snapshot_bytes;
	uint64_t compactions;
	uint64_t compaction_errors;
	uint64_t replayed; /* records applied at open (snapshot leases + journal records) */
	uint64_t torn;	   /* torn tails dropped at open */
	uint64_t corrupt;  /* files set aside at open */
};

/* Open the store in dir (created 0750 when missing), replay it into t, and
 * make it ready for appends. Synchronous: call it before the loop runs. A torn
 * tail is truncated away; a corrupt file is kept aside as NAME.corrupt-TIME
 * (now, UTC) after a new snapshot has saved what it held. -EBUSY: another
 * process has the directory (flock); other -errno: the store cannot be read
 * or normalised (logged). On error t may hold part of the store: discard it.
 * What open may change on disk keeps every record that was readable. */
int dhcp_journal_open(struct dhcp_journal **jp, uv_loop_t *loop, const char *dir, struct dhcp_lease_table *t,
		      time_t now);

/* Queue rec for the next batch; cb (may be NULL) runs once it is on disk or
 * failed. Apply the change to the table first, then append it: a compaction
 * snapshots the table as of the last record appended. 0, -EINVAL (rec),
 * -ENOMEM, -ECANCELED (closing). */
int dhcp_journal_append(struct dhcp_journal *j, const struct dhcp_lease_rec *rec, dhcp_journal_cb cb,
			void *data);

/* Compaction thresholds (the defaults above); and start one now: 0, -EBUSY. */
void dhcp_journal_set_compact(struct dhcp_journal *j, uint64_t min_bytes, unsigned ratio);
int dhcp_journal_compact(struct dhcp_journal *j);

const struct dhcp_journal_stats *dhcp_journal_stats(const struct dhcp_journal *j);

/* Flush what is queued, wait for the batch and compaction in flight, close
 * the files and handles, free j, then done(data). */
void dhcp_journal_close(struct dhcp_journal *j, void (*done)(void *data), void *data);

/* ---- test hook ---- */

/* Every I/O step, in the order a compaction takes them. */
enum dhcp_journal_io {
	DHCP_JOURNAL_IO_TRUNCATE, /* a batch cutting a failed batch's bytes off */
	DHCP_JOURNAL_IO_WRITE,
	DHCP_JOURNAL_IO_SYNC,
	DHCP_JOURNAL_IO_NEXT_OPEN, /* compaction: create leases.journal.next */
	DHCP_JOURNAL_IO_DIR_SYNC1,
	DHCP_JOURNAL_IO_OLD_TRUNCATE, /* only when the last batch into the old journal failed */
	DHCP_JOURNAL_IO_OLD_CLOSE,
	DHCP_JOURNAL_IO_TMP_OPEN,
	DHCP_JOURNAL_IO_TMP_WRITE,
	DHCP_JOURNAL_IO_TMP_SYNC,
	DHCP_JOURNAL_IO_TMP_CLOSE,
	DHCP_JOURNAL_IO_SNAP_RENAME,
	DHCP_JOURNAL_IO_DIR_SYNC2,
	DHCP_JOURNAL_IO_JOURNAL_RENAME,
	DHCP_JOURNAL_IO_DIR_SYNC3,
};

/* fn runs on the loop thread before each I/O step; a negative return makes
 * the step fail with that error instead of running (ENOSPC, EIO, ...). */
typedef int (*dhcp_journal_fault_fn)(void *data, enum dhcp_journal_io io);
void dhcp_journal_set_fault(struct dhcp_journal *j, dhcp_journal_fault_fn fn, void *data);

#endif
