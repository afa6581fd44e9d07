/* wire.h — the one bounds-checked cursor every byte from outside goes through.
 *
 * A reader past the end returns 0 (or copies zeros) and sets the sticky
 * error flag; the caller checks wire_ok() once after a run of reads instead
 * of before each one. Writers behave the same on a full buffer. Multi-byte
 * integers are network byte order unless the name says _le/_host. */
#ifndef GW_WIRE_H
#define GW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire {
	uint8_t *base; /* start of the buffer (const for readers; cast away once here) */
	size_t pos;
	size_t end;
	bool err;
};

static inline struct wire wire_reader(const void *buf, size_t len)
{
	struct wire w = {(uint8_t *)(uintptr_t)buf, 0, len, false};
	return w;
}

static inline struct wire wire_writer(void *buf, size_t cap)
{
	struct wire w = {(uint8_t *)buf, 0, cap, false};
	return w;
}

static inline bool wire_ok(const struct wire *w) { return !w->err; }
static inline size_t wire_left(const struct wire *w) { return w->err ? 0 : w->end - w->pos; }
static inline size_t wire_pos(const struct wire *w) { return w->pos; }

/* Reserve n bytes: a pointer to them, or NULL (and the error flag). */
static inline const uint8_t *wire_take(struct wire *w, size_t n)
{
	if (w->err || n > w->end - w->pos) {
		w->err = true;
		return NULL;
	}
	const uint8_t *p = w->base + w->pos;
	w->pos += n;
	return p;
}

static inline void wire_skip(struct wire *w, size_t n) { (void)wire_take(w, n); }

/* A sub-cursor over the next n bytes; the parent moves past them. */
static inline struct wire wire_sub(struct wire *w, size_t n)
{
	const uint8_t *p = wire_take(w, n);
	struct wire s = {(uint8_t *)(uintptr_t)p, 0, p ? n : 0, p == NULL};
	return s;
}

static inline uint8_t wire_u8(struct wire *w)
{
	const uint8_t *p = wire_take(w, 1);
	return p ? p[0] : 0;
}

static inline uint16_t wire_u16(struct wire *w)
{
	const uint8_t *p = wire_take(w, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t wire_u32(struct wire *w)
{
	const uint8_t *p = wire_take(w, 4);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}

static inline void wire_copy(struct wire *w, void *dst, size_t n)
{
	const uint8_t *p = wire_take(w, n);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

/* Writers: the same cursor over a caller's buffer. */
static inline uint8_t *wire_put_space(struct wire *w, size_t n) { return (uint8_t *)(uintptr_t)wire_take(w, n); }

static inline void wire_put_u8(struct wire *w, uint8_t v)
{
	uint8_t *p = wire_put_space(w, 1);
	if (p)
		p[0] = v;
}

static inline void wire_put_u16(struct wire *w, uint16_t v)
{
	uint8_t *p = wire_put_space(w, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void wire_put_u32(struct wire *w, uint32_t v)
{
	uint8_t *p = wire_put_space(w, 4);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void wire_put_bytes(struct wire *w, const void *src, size_t n)
{
	uint8_t *p = wire_put_space(w, n);
	if (p && n)
		memcpy(p, src, n);
}

#endif
